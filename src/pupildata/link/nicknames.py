"""Forename groups: nicknames, short forms and spellings of the same name (``data/forename_groups.txt``).

Each line of the file is a canonical name followed by the names used for it. A forename's *groups* are the
canonical names it belongs to; two forenames that share a group (Tom and Thomas, Mohammed and Muhammad) agree at
the model's "same name, another form" level, which weighs less than an exact match but far more than a
disagreement — and twins, whose forenames share no group, stay apart.
"""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def groups() -> dict[str, tuple[str, ...]]:
    """Canonical name -> every name of its group (the canonical name included)."""
    text = resources.files("pupildata.link").joinpath("data/forename_groups.txt").read_text(encoding="utf-8")
    out: dict[str, tuple[str, ...]] = {}
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            out[words[0]] = tuple(dict.fromkeys(words))
    return out


def pairs() -> list[tuple[str, str]]:
    """(name, canonical) for every name of every group."""
    return sorted({(name, canonical) for canonical, names in groups().items() for name in names})


def same_group(a: str, b: str) -> bool:
    """True when two normalised forenames share a group (or are equal)."""
    return a == b or any(a in names and b in names for names in groups().values())
