"""Published statistics: the list of releases, a page per release with a chart and its files, and JSON twins."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from pupildata.publish import portal
from pupildata.web.auth import needs
from pupildata.web.permissions import PUBLIC
from pupildata.web.templating import templates

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse, dependencies=[needs(PUBLIC)])
api = APIRouter(prefix="/api/v1/releases", tags=["statistics"], dependencies=[needs(PUBLIC)])


def _outputs(request: Request) -> Any:
    return request.app.state.settings.outputs_dir


def _found(request: Request, name: str, period: str) -> dict[str, Any]:
    found = portal.release(_outputs(request), name, period)
    if found is None:
        raise HTTPException(404)
    return found


@router.get("/releases", name="releases")
def list_releases(request: Request) -> HTMLResponse:
    return templates().TemplateResponse(
        request, "publish/releases.html", {"releases": portal.releases(_outputs(request))}
    )


@router.get("/releases/{name}/{period}", name="release")
def show_release(request: Request, name: str, period: str) -> HTMLResponse:
    found = _found(request, name, period)
    first = found["tables"][0]["name"] if found["tables"] else ""
    label, bars = portal.chart_data(_outputs(request), name, period, first)
    title = f"{label.capitalize()} (%), {found['tables'][0]['title'] if found['tables'] else ''}: England and regions"
    chart = portal.bar_chart(bars) if bars else None
    return templates().TemplateResponse(
        request, "publish/release.html", {"release": found, "chart": chart, "chart_title": title, "bars": bars}
    )


@router.get("/releases/{name}/{period}/files/{file}", name="release_file")
def download(request: Request, name: str, period: str, file: str) -> FileResponse:
    path = portal.file_path(_outputs(request), name, period, file)
    if path is None:
        raise HTTPException(404)
    return FileResponse(path, media_type="text/csv", filename=file)


@api.get("", summary="Every published release")
def api_releases(request: Request) -> list[dict[str, Any]]:
    return portal.releases(_outputs(request))


@api.get("/{name}/{period}", summary="One release: its tables, files and the disclosure control applied")
def api_release(request: Request, name: str, period: str) -> dict[str, Any]:
    return _found(request, name, period)
