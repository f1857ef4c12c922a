"""The signed-in viewer's scope (`storage.users.Scope`) as a dependency of console pages.

Every page that lists, counts or shows cases takes `ScopeDep` and passes it down to the
storage query (`storage.casequery.scope_clause`); a case page out of scope is a 404, the
same answer as for a number no case has, so a scoped coordinator learns nothing of cases
outside their scope.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from gateway.admin.web import Viewer, current_viewer
from gateway.deps import RuntimeDep
from gateway.runtime import Runtime
from storage.users import Scope, user_scope


def _load(runtime: Runtime, username: str) -> Scope:
    with runtime.sessions() as session:
        return user_scope(session=session, username=username)


async def viewer_scope(
    runtime: RuntimeDep, viewer: Annotated[Viewer, Depends(current_viewer)]
) -> Scope:
    """The viewer's scope, read once per request."""
    return await runtime.db(_load, runtime, viewer.username)


ScopeDep = Annotated[Scope, Depends(viewer_scope)]
