"""The home page, which says what the service does and for whom, and the privacy notice page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from pupildata.web.areas import AREAS, AUDIENCES
from pupildata.web.auth import current_user, needs
from pupildata.web.permissions import PUBLIC
from pupildata.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse, dependencies=[needs(PUBLIC)])


@router.api_route("/", methods=["GET", "HEAD"], name="home")
def home(request: Request) -> HTMLResponse:
    user = current_user(request)
    links = {area.slug: area.link_for(user.can if user else None) for area in AREAS}
    return templates().TemplateResponse(
        request, "home/index.html", {"areas": AREAS, "audiences": AUDIENCES, "links": links}
    )


@router.api_route("/privacy", methods=["GET", "HEAD"], name="privacy")
def privacy(request: Request) -> HTMLResponse:
    return templates().TemplateResponse(request, "home/privacy.html", {})
