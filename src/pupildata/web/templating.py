"""The one Jinja environment of the portal: our templates plus the GOV.UK Frontend macros.

Templates are found by name. Our own live in ``pupildata/web/templates`` with one folder per area
(``home/``, ``errors/``, ``api/`` …) and ``layout.html`` at the top; the GOV.UK Frontend macros and page
template are reached through the ``govuk_frontend_jinja/`` prefix, as that package documents.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import markupsafe
from starlette.requests import Request
from starlette.templating import Jinja2Templates

from pupildata import __version__
from pupildata.collect.collections import title_of
from pupildata.kernel import local_time
from pupildata.web.areas import AREAS

SERVICE_NAME = "Pupil data service"
#: Pages show times as the schools, authorities and staff they serve read them: in the service's time zone, the
#: United Kingdom's (GMT in winter, BST in summer). The audit trail's pages keep UTC, labelled, as its records do.
TIME_ZONE = ZoneInfo(local_time.TIME_ZONE)
LICENCE_URL = "https://www.gnu.org/licenses/agpl-3.0.html"


@cache
def environment() -> jinja2.Environment:
    """Build the environment once. ``ChainableUndefined`` lets the GOV.UK macros read absent options."""
    loader = jinja2.ChoiceLoader(
        [
            jinja2.PackageLoader("pupildata.web", "templates"),
            jinja2.PrefixLoader({"govuk_frontend_jinja": jinja2.PackageLoader("govuk_frontend_jinja")}),
        ]
    )
    env = jinja2.Environment(
        loader=loader,
        undefined=jinja2.ChainableUndefined,
        autoescape=jinja2.select_autoescape(("html", "xml"), default_for_string=True),
    )
    env.globals.update(serviceName=SERVICE_NAME, licence_url=LICENCE_URL, version=__version__)
    env.filters["guide_links"] = guide_links
    env.filters["collection_title"] = title_of
    env.filters["day"] = day
    env.filters["clock"] = clock
    env.globals["when"] = when
    return env


def local(moment: datetime) -> datetime:
    """``moment`` in the service's time zone (a time with no zone is taken as UTC, as the stores keep it)."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(TIME_ZONE)


def day(moment: datetime) -> str:
    """'7 Dec 2026', in the service's time zone."""
    return f"{local(moment):%-d %b %Y}"


def clock(moment: datetime) -> str:
    """'1:24pm', '9am', 'midday' or 'midnight', in the service's time zone (the GOV.UK style)."""
    shown = local(moment)
    if shown.minute == 0 and shown.hour in (0, 12):
        return "midnight" if shown.hour == 0 else "midday"
    minutes = f":{shown.minute:02d}" if shown.minute else ""
    return f"{shown.hour % 12 or 12}{minutes}{'am' if shown.hour < 12 else 'pm'}"


def when(moment: datetime | None, *, long: bool = False) -> str:
    """'7 Dec 2026, 1:24pm' (``long``: '7 December 2026 at 1:24pm') in the service's time zone; 'Never' for none."""
    if moment is None:
        return "Never"
    if long:
        return f"{local(moment):%-d %B %Y} at {clock(moment)}"
    return f"{day(moment)}, {clock(moment)}"


def guide_links(text: object) -> markupsafe.Markup:
    """``text`` escaped, with each path of a guide open to anyone (the data formats, the validation rules) that it
    names made a link to that page: a refusal that points a sender to a guide can be followed from the page."""
    shown = markupsafe.escape("" if text is None else str(text))
    for guide in (g for area in AREAS for g in area.guides):
        link = markupsafe.Markup('<a class="govuk-link" href="{0}">{0}</a>').format(guide.href)
        shown = link.join(shown.split(guide.href))  # each piece stays escaped; the link is fixed text
    return shown


def _page_context(request: Request) -> dict[str, Any]:
    """What every page needs from the request: the CSP nonce of its one inline script, and the assets state."""
    state = request.scope.get("state", {})
    return {
        "cspNonce": state.get("csp_nonce", ""),
        "assets_built": bool(getattr(request.app.state, "assets_built", False)),
        "current_path": request.url.path,
        "user": state.get("user"),
    }


@cache
def templates() -> Jinja2Templates:
    """The renderer routers use: ``templates().TemplateResponse(request, "home/index.html", {...})``."""
    return Jinja2Templates(env=environment(), context_processors=[_page_context])


__all__ = ["LICENCE_URL", "SERVICE_NAME", "environment", "templates"]
