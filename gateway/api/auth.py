"""`POST /api/v1/auth/token`: a username and password for a bearer token.

Failed sign-ins are audited and throttled (`gateway.signin`): a throttled attempt gets 429.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from gateway.api.deps import ApiKeysDep, client_ip, unauthorized
from gateway.backoffice.tokens import issue_token
from gateway.deps import RuntimeDep
from gateway.signin import sign_in, throttled_text
from storage.db import utcnow
from storage.users import hash_ip

router = APIRouter(tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105  (the OAuth2 token type, not a secret)


@router.post("/auth/token")
async def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    runtime: RuntimeDep,
    keys: ApiKeysDep,
) -> Token:
    """Exchange a username and password for a bearer token valid for eight hours."""
    now = utcnow()
    ip_hash = hash_ip(key=keys.address, ip=client_ip(request))
    outcome = await sign_in(
        runtime,
        username=form.username,
        password=form.password,
        ip_hash=ip_hash,
        now=now,
        via="api",
    )
    if outcome.throttled:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            detail=throttled_text(outcome.retry_after),
            headers={"Retry-After": str(outcome.retry_after)},
        )
    if outcome.role is None:
        raise unauthorized("wrong username or password")
    return Token(
        access_token=issue_token(
            key=keys.signing, username=form.username, role=outcome.role, now=now
        )
    )
