"""A frame: named numpy arrays of one length, the working shape of people and records in the generator."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

Array = npt.NDArray[Any]
Frame = dict[str, Array]


def length(frame: Frame) -> int:
    return len(next(iter(frame.values()))) if frame else 0


def take(frame: Frame, index: npt.ArrayLike) -> Frame:
    """The rows at ``index`` (a boolean mask or integer positions)."""
    idx = np.asarray(index)
    return {name: column[idx] for name, column in frame.items()}


def concat(frames: list[Frame]) -> Frame:
    """Rows of several frames with the same columns, one after another."""
    frames = [f for f in frames if length(f)]
    if not frames:
        return {}
    return {name: np.concatenate([f[name] for f in frames]) for name in frames[0]}


def group_rank(keys: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """For each element, how many earlier elements share its key (0 for the first of each key)."""
    order = np.argsort(keys, kind="stable")
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    run_start = np.repeat(starts, np.diff(np.r_[starts, sorted_keys.size]))
    rank = np.empty(keys.size, dtype=np.int64)
    rank[order] = np.arange(keys.size) - run_start
    return rank
