"""Whose returns an account deals with: its scope, a list of senders' codes and ``la:NNN`` for every school of a
local authority. One rule for both directions: the portal shows an account the returns of the senders in its
scope, and a file sent in the portal is loaded only when it is a return from one of them.

A school's sender code is its LA and establishment number, seven digits (8572000: local authority 857); other
senders (a health area, a body) have codes of their own and are matched only by name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pupildata.collect.readers import Rejected

#: A local authority's schools: ``la:857`` covers every census sender whose number starts 857.
LA_SCOPE = re.compile(r"la:(\d{3})")
#: The file-level rule of a file sent for a sender outside the account's scope.
SENDER_RULE = "FILE-SND-02"


def in_scope(scope: Iterable[str], sender: str | None) -> bool:
    """Whether ``sender`` is one of ``scope``'s senders (never when the sender is not known)."""
    if not sender:
        return False
    for entry in scope:
        la = LA_SCOPE.fullmatch(entry)
        if entry == sender or (la and len(sender) == 7 and sender.isdigit() and sender.startswith(la[1])):
            return True
    return False


def describe(scope: Iterable[str]) -> str:
    """A scope as a sentence says it: ``8572000 and the schools of local authority 857``."""
    names = [f"the schools of local authority {la[1]}" if (la := LA_SCOPE.fullmatch(e)) else e for e in scope]
    if len(names) < 2:
        return names[0] if names else "no sender"
    return ", ".join(names[:-1]) + " and " + names[-1]


class SenderRefused(Rejected):
    """A file that is a return from a sender outside the scope it was sent under: refused as a whole."""

    def __init__(self, sender: str | None, scope: Iterable[str]) -> None:
        from_whom = f"a return from {sender}" if sender else "a return that names no sender"
        message = f"This file is {from_whom}; your account sends returns for {describe(scope)} only."
        super().__init__(SENDER_RULE, message)
        self.sender = sender


__all__ = ["LA_SCOPE", "SENDER_RULE", "SenderRefused", "describe", "in_scope"]
