"""Health: ``/healthz`` says the process is serving; ``/api/v1/health`` also runs the dependency checks.

Checks are named callables given to ``create_app`` (the registry database, the warehouse …). A check that
returns False or raises marks the service "degraded" and the answer becomes HTTP 503, so a load balancer
stops sending it work.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from pupildata import __version__
from pupildata.web.auth import needs
from pupildata.web.permissions import PUBLIC

log = logging.getLogger("pupildata.web")

Check = Callable[[], bool]
CheckResult = Literal["ok", "failed"]

router = APIRouter(dependencies=[needs(PUBLIC)])


class Health(BaseModel):
    status: Literal["ok", "degraded"] = Field(description="'ok' when every check passed, else 'degraded'.")
    version: str = Field(description="The version of the service.")
    checks: dict[str, CheckResult] = Field(description="The result of each dependency check, by name.")


def run_checks(checks: Mapping[str, Check]) -> dict[str, CheckResult]:
    results: dict[str, CheckResult] = {}
    for name, check in checks.items():
        try:
            passed = bool(check())
        except Exception:
            log.exception("Health check %r raised an error", name)
            passed = False
        if not passed:
            log.warning("Health check %r failed", name)
        results[name] = "ok" if passed else "failed"
    return results


def _checks(request: Request) -> Mapping[str, Check]:
    checks: Mapping[str, Check] = getattr(request.app.state, "health_checks", {})
    return checks


@router.get(
    "/api/v1/health",
    response_model=Health,
    summary="Service health",
    tags=["health"],
    response_description="Every check passed: the service is working.",
    responses={503: {"model": Health, "description": "One or more checks failed: the service is degraded."}},
)
def health(request: Request) -> JSONResponse:
    """The service version and the result of each dependency check. HTTP 503 when any check fails."""
    results = run_checks(_checks(request))
    degraded = any(result != "ok" for result in results.values())
    body = Health(status="degraded" if degraded else "ok", version=__version__, checks=results)
    return JSONResponse(body.model_dump(), status_code=503 if degraded else 200)


@router.api_route("/healthz", methods=["GET", "HEAD"], include_in_schema=False, response_class=PlainTextResponse)
def healthz() -> str:
    """Liveness: the process is up and serving requests. Dependencies are not checked here."""
    return "ok\n"
