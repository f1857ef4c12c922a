"""Annotated dependencies of the JSON API: the signed-in user, their role and their scope
(`ScopeDep`: every answer that lists, counts or shows cases keeps to it; a case outside
it is a 404, as for a number no case has)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer

from gateway.backoffice.access import SECTIONS
from gateway.backoffice.tokens import ApiKeys, Claims, get_api_keys, read_token
from gateway.deps import RuntimeDep
from gateway.runtime import Runtime
from storage.db import utcnow
from storage.users import Scope, still_allowed, user_scope

TOKEN_URL = "/api/v1/auth/token"  # noqa: S105  (a path, not a secret)
_bearer = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


ApiKeysDep = Annotated[ApiKeys, Depends(get_api_keys)]


def unauthorized(detail: str) -> HTTPException:
    return HTTPException(
        status.HTTP_401_UNAUTHORIZED, detail=detail, headers={"WWW-Authenticate": "Bearer"}
    )


def _still_allowed(runtime: Runtime, claims: Claims) -> bool:
    """The user still exists, is active and has the role the token was issued for."""
    with runtime.sessions() as session:
        return still_allowed(session=session, username=claims.username, role=claims.role)


async def get_principal(
    token: Annotated[str | None, Depends(_bearer)], keys: ApiKeysDep, runtime: RuntimeDep
) -> Claims:
    if not token:
        raise unauthorized("sign in: send an Authorization: Bearer token")
    claims = read_token(key=keys.signing, token=token, now=utcnow())
    if claims is None:
        raise unauthorized("the token is invalid or has expired: get a new one")
    if not await runtime.db(_still_allowed, runtime, claims):
        raise unauthorized("this account is no longer allowed in: get a new token")
    return claims


PrincipalDep = Annotated[Claims, Depends(get_principal)]


def _scope(runtime: Runtime, username: str) -> Scope:
    with runtime.sessions() as session:
        return user_scope(session=session, username=username)


async def get_scope(principal: PrincipalDep, runtime: RuntimeDep) -> Scope:
    """The caller's scope (admins and unscoped users: everything)."""
    return await runtime.db(_scope, runtime, principal.username)


ScopeDep = Annotated[Scope, Depends(get_scope)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client is not None else None


def api_allow(section: str) -> Callable[..., Awaitable[Claims]]:
    """A dependency: the caller's claims, when their role may use `section` (else 403)."""
    if section not in SECTIONS:
        raise KeyError(section)

    async def dependency(principal: PrincipalDep) -> Claims:
        if principal.role not in SECTIONS[section]:
            raise HTTPException(status.HTTP_403_FORBIDDEN, detail="your role may not do this")
        return principal

    return dependency
