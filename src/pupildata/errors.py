"""The errors a user can meet: each is one clear sentence, and carries the exit code of the command contract.

Exit codes: 0 everything fine, 1 a data problem was found and reported, 2 a usage error (bad option, settings,
policy or home). Anything else escaping to the top level is a bug and shows a traceback.
"""

from __future__ import annotations


class PupilDataError(Exception):
    """Base class: an error whose message is written for the person who ran the command."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class UsageError(PupilDataError):
    """The command, its options, the settings, the policy or the data home cannot be used as given."""

    exit_code = 2


class DataError(PupilDataError):
    """The data given is invalid; what is wrong has been reported."""

    exit_code = 1
