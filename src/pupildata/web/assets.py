"""Static files: our own under ``/static``, GOV.UK Frontend's compiled files under ``/static/govuk``.

The compiled GOV.UK stylesheet refers to its fonts and images by absolute paths (``/assets/fonts/…``,
``/assets/images/…``) and the page template uses ``/assets`` for its icons, so the GOV.UK assets folder is
also served at ``/assets``. The GOV.UK files are copied from npm by ``scripts/build_assets.py``; when they are
missing the portal still starts and its pages still render, without styles.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

log = logging.getLogger("pupildata.web")

STATIC_DIR = Path(__file__).parent / "static"
REQUIRED = ("govuk-frontend.min.css", "govuk-frontend.min.js", "assets/fonts", "assets/images")
BUILD_HINT = "run `npm ci` and then `python scripts/build_assets.py` from the project folder"


class _StaticFiles(StaticFiles):
    """Static files whose folder may not exist yet: then every file is simply not found (404)."""

    async def check_config(self) -> None:
        if self.directory is not None and not Path(self.directory).is_dir():
            return
        await super().check_config()


def missing_assets(govuk_dir: Path | None = None) -> list[str]:
    """The GOV.UK Frontend files that are not in place; empty when the assets are built."""
    govuk_dir = govuk_dir or STATIC_DIR / "govuk"
    return [name for name in REQUIRED if not (govuk_dir / name).exists()]


def mount(app: FastAPI, static_dir: Path | None = None) -> bool:
    """Serve the static folders; return whether the GOV.UK assets are built, warning clearly if not."""
    static_dir = static_dir or STATIC_DIR
    govuk_dir = static_dir / "govuk"
    app.mount("/static", _StaticFiles(directory=static_dir, check_dir=False), name="static")
    app.mount("/assets", _StaticFiles(directory=govuk_dir / "assets", check_dir=False), name="govuk-assets")
    missing = missing_assets(govuk_dir)
    if missing:
        log.warning(
            "The GOV.UK Frontend assets are not built (missing in %s: %s): pages will show without styles. To build "
            "them, %s.",
            govuk_dir,
            ", ".join(missing),
            BUILD_HINT,
        )
    return not missing


__all__ = ["BUILD_HINT", "STATIC_DIR", "missing_assets", "mount"]
