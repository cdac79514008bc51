"""The API index at ``/api/v1/`` (the JSON twin of the home page) and a readable API reference page.

The reference is rendered on the server from the OpenAPI document, in the GOV.UK style, so it needs no
third-party scripts and works under the same strict Content Security Policy as every other page.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from pupildata import __version__
from pupildata.web.areas import AREAS
from pupildata.web.auth import needs
from pupildata.web.permissions import PUBLIC
from pupildata.web.templating import SERVICE_NAME, templates

router = APIRouter(prefix="/api/v1", dependencies=[needs(PUBLIC)])

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


class GuideOut(BaseModel):
    name: str
    href: str


class AreaOut(BaseModel):
    slug: str
    name: str
    summary: str
    used_by: str
    available: bool = Field(description="Whether the area has pages and endpoints yet.")
    href: str | None = Field(description="The area's first page, once it has pages.")
    guides: list[GuideOut] = Field(description="The area's pages open to anyone, such as what a sender needs.")


class ApiIndex(BaseModel):
    service: str
    version: str
    areas: list[AreaOut]
    links: dict[str, str] = Field(description="Where to find the API's own description and health.")


@router.get(
    "/",
    response_model=ApiIndex,
    summary="What the service offers",
    response_description="The areas of the service and links to the API description.",
    tags=["service"],
)
def index() -> ApiIndex:
    """The areas of the service, as listed on the home page, and links to the API description."""
    return ApiIndex(
        service=SERVICE_NAME,
        version=__version__,
        areas=[
            AreaOut(**(vars(area) | {"guides": [GuideOut(**vars(g)) for g in area.guides]}), available=area.available)
            for area in AREAS
        ],
        links={"openapi": "/api/v1/openapi.json", "docs": "/api/v1/docs", "health": "/api/v1/health"},
    )


def operations(openapi: dict[str, Any]) -> list[dict[str, Any]]:
    """The operations of an OpenAPI document in path order, flattened for the reference page."""
    found: list[dict[str, Any]] = []
    for path, item in openapi.get("paths", {}).items():
        for method in HTTP_METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            responses = operation.get("responses", {})
            found.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary") or path,
                    "description": operation.get("description", ""),
                    "responses": [(code, spec.get("description", "")) for code, spec in sorted(responses.items())],
                }
            )
    return found


@router.get("/docs", include_in_schema=False, response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    openapi = request.app.openapi()
    return templates().TemplateResponse(
        request,
        "api/docs.html",
        {"operations": operations(openapi), "api_title": openapi["info"]["title"], "api_version": __version__},
    )
