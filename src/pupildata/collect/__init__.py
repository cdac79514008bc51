"""Collection: receiving data returns (school census XML, key stage, height and weight, post-16 learners,
surveys; CSV, XML or Parquet), archiving them unchanged, validating every record set-at-a-time, loading what is
accepted, quarantining what is not, and giving every sender a receipt and a report.

The names below are imported when first used, so that a process that only parses files (a census parse worker)
imports the parser and not the warehouse, the registry and the rules."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pupildata.collect.load import Options
    from pupildata.collect.schemas import SOURCES, Field, Source
    from pupildata.collect.service import Summary, collect, expand

__all__ = ["SOURCES", "Field", "Options", "Source", "Summary", "collect", "expand"]

_HOMES = {
    "Options": "load",
    "SOURCES": "schemas",
    "Field": "schemas",
    "Source": "schemas",
    "Summary": "service",
    "collect": "service",
    "expand": "service",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"pupildata.collect.{_HOMES[name]}"), name)
