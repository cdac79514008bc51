"""The app factory: ``create_app(settings)`` builds the portal and its JSON API.

Each area of the service brings its own router (``pupildata.web.routers.<area>``) and templates folder
(``templates/<area>/``); adding an area means adding its router to ``ROUTERS``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from fastapi import APIRouter, FastAPI

from pupildata import __version__
from pupildata.policy import load_policy
from pupildata.settings import Settings
from pupildata.web import assets, errors
from pupildata.web.accounts import check_two_factor_roles
from pupildata.web.routers import (
    account,
    accounts,
    accounts_api,
    api,
    audit,
    collect,
    collect_api,
    corrections,
    credentials,
    health,
    home,
    link,
    publish,
    send,
    two_factor,
)
from pupildata.web.security import SecurityHeadersMiddleware
from pupildata.web.templating import SERVICE_NAME

ROUTERS: tuple[APIRouter, ...] = (
    home.router,
    account.router,
    two_factor.router,
    credentials.router,
    accounts.router,
    collect.router,
    send.router,
    corrections.router,
    link.router,
    audit.router,
    publish.router,
    api.router,
    collect_api.router,
    send.api,
    corrections.api,
    link.api,
    audit.api,
    accounts_api.api,
    publish.api,
    health.router,
)

API_DESCRIPTION = (
    "The JSON API of the pupil data service. Every page of the portal that shows data has a twin here. "
    "Responses are never cached. A program sends an API token as 'Authorization: Bearer TOKEN'; a statistician "
    "makes and revokes their own tokens in the portal (Your account, API tokens), and an operator can make one "
    "for any account with 'pupildata user token NAME --label LABEL'."
)


def create_app(settings: Settings, checks: Mapping[str, Callable[[], bool]] | None = None) -> FastAPI:
    """Build the portal. ``checks`` are named dependency checks reported by ``/api/v1/health``."""
    check_two_factor_roles(load_policy(settings.policy_path).sign_in.two_factor_roles)
    app = FastAPI(
        title=f"{SERVICE_NAME} API",
        version=__version__,
        description=API_DESCRIPTION,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
        license_info={"name": "AGPL-3.0-or-later", "identifier": "AGPL-3.0-or-later"},
    )
    app.state.settings = settings
    app.state.health_checks = dict(checks or {})
    app.state.assets_built = assets.mount(app)
    for router in ROUTERS:
        app.include_router(router)
    errors.install(app)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


__all__ = ["ROUTERS", "create_app"]
