"""The yardstick: a bare FastAPI form endpoint answering like a USSD callback, nothing else."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse


def create_app() -> FastAPI:
    app = FastAPI()

    @app.post("/ussd/africastalking", response_class=PlainTextResponse)
    async def hop(request: Request) -> PlainTextResponse:
        form = await request.form()
        return PlainTextResponse(f"CON {len(str(form.get('text', '')))}")

    return app
