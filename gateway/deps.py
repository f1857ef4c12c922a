"""Annotated dependencies: the runtime and the conversation live on `app.state`.

They are coroutines so that FastAPI resolves them on the event loop, not in a thread.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from gateway.conversation import Conversation
from gateway.runtime import Runtime


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_conversation(request: Request) -> Conversation:
    conversation: Conversation = request.app.state.conversation
    return conversation


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ConversationDep = Annotated[Conversation, Depends(get_conversation)]
