"""Dependencies routes ask for by type: ``ContextDep`` is the app's one ``Context`` (settings, registry, audit).

The context is made on first use and kept for the life of the app. Routes must not use ``ctx.warehouse``, which
opens the warehouse for writing: the portal runs beside command-line jobs that write it, and reads it only
through ``pupildata.web.warehouse.read_only``.
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Request

from pupildata.kernel.context import Context

_lock = threading.Lock()

#: Who the audit trail names for someone using the portal without signing in.
ANONYMOUS = "portal:anonymous"


def get_context(request: Request) -> Context:
    state = request.app.state
    with _lock:
        ctx = getattr(state, "context", None)
        if ctx is None:
            ctx = Context(state.settings)
            state.context = ctx
    assert isinstance(ctx, Context)
    return ctx


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


ContextDep = Annotated[Context, Depends(get_context)]

__all__ = ["ANONYMOUS", "ContextDep", "client_address", "get_context"]
