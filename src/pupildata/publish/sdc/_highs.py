"""HiGHS, quietly: every model gets a time limit (and, for integer programmes, a relative gap)."""

from __future__ import annotations

import os
import sys
import threading
from typing import Any

import highspy

_banner_shown = threading.Lock()
_constructed = False


def _construct() -> Any:
    """A Highs object; the first construction prints a banner on file descriptor 1, which is silenced."""
    global _constructed  # noqa: PLW0603 - the banner is printed once per process
    with _banner_shown:
        if _constructed:
            return highspy.Highs()  # type: ignore[no-untyped-call]
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as devnull:
                os.dup2(devnull.fileno(), 1)
                highs = highspy.Highs()  # type: ignore[no-untyped-call]
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _constructed = True
        return highs


def new_model(time_limit: float, mip_rel_gap: float | None = None, threads: int = 1) -> Any:
    highs = _construct()
    highs.setOptionValue("output_flag", False)
    highs.setOptionValue("log_to_console", False)
    highs.setOptionValue("time_limit", float(max(time_limit, 0.01)))
    highs.setOptionValue("threads", threads)
    if mip_rel_gap is not None:
        highs.setOptionValue("mip_rel_gap", float(mip_rel_gap))
    return highs


def status_name(highs: Any) -> str:
    return str(highs.modelStatusToString(highs.getModelStatus()))


def is_optimal(highs: Any) -> bool:
    return bool(highs.getModelStatus() == highspy.HighsModelStatus.kOptimal)


INF = highspy.kHighsInf
