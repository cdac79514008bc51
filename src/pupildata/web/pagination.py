"""Page numbers from the address, and the options of the GOV.UK pagination component for long lists."""

from __future__ import annotations

from typing import Any

from fastapi import HTTPException

#: Pages either side of the current one that get their own link; further ones collapse into an ellipsis.
AROUND = 1


def page_number(text: str) -> int:
    """The page asked for; anything but a whole number from 1 is a page that does not exist."""
    if not text.isdigit() or int(text) < 1:
        raise HTTPException(404, f"There is no page '{text}': pages are numbered from 1.")
    return int(text)


def pagination(base: str, page: int, pages: int) -> dict[str, Any] | None:
    """``govukPagination`` options for page ``page`` of ``pages`` at ``base?page=N`` (``base`` may have a query
    of its own); None for a single page."""
    if pages <= 1:
        return None

    def href(number: int) -> str:
        return f"{base}{'&' if '?' in base else '?'}page={number}"

    items: list[dict[str, Any]] = []
    for number in range(1, pages + 1):
        if number in (1, pages) or abs(number - page) <= AROUND:
            items.append({"number": number, "href": href(number), "current": number == page})
        elif items and not items[-1].get("ellipsis"):
            items.append({"ellipsis": True})
    options: dict[str, Any] = {"items": items, "landmarkLabel": "Pages of the report"}
    if page > 1:
        options["previous"] = {"href": href(page - 1)}
    if page < pages:
        options["next"] = {"href": href(page + 1)}
    return options


__all__ = ["page_number", "pagination"]
