"""The mistakes in real returns: each applied at its configured rate and each recorded in the truth.

Decisions are drawn for whole record sets at once with numpy; only the few records given a typing slip are
changed one at a time. A corruption is applied only where it can be: a day and month swap only when the day is
12 or less, a stale postcode only after a move, half a hyphenated surname only for a hyphenated one.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from pupildata.synth.config import NoiseRates
from pupildata.synth.names import NameBook
from pupildata.synth.vectors import days_in_month, to_strings, ymd

FLAGS = tuple(f.name for f in fields(NoiseRates))
Bools = npt.NDArray[np.bool_]
Ints = npt.NDArray[np.int64]


@dataclass(frozen=True)
class TrueRecord:
    """What a set of records should say, before any mistakes."""

    fore: npt.NDArray[np.int32]
    sur: npt.NDArray[np.int32]
    sur2: npt.NDArray[np.int32]
    dob: Ints
    upn: npt.NDArray[np.uint8] | None  # (n, 13) UPN or (n, 10) ULN byte matrix
    group: Ints  # records that may share a UPN by mistake (the same school)
    postcode: Ints
    previous_postcode: Ints  # -1 where the person has not moved


@dataclass(frozen=True)
class Shown:
    """What the records say."""

    forename: pa.StringArray
    surname: pa.StringArray
    year: Ints
    month: Ints
    day: Ints
    upn: pa.StringArray | None
    postcode: Ints
    flags: dict[str, Bools]


def _draw(rng: np.random.Generator, n: int, rate: float, eligible: Bools | None = None) -> Bools:
    hit = rng.random(n) < rate
    return hit if eligible is None else hit & eligible


def corrupt(true: TrueRecord, rates: NoiseRates, book: NameBook, rng: np.random.Generator) -> Shown:
    """Apply every corruption at its rate; the flags say which records got which."""
    n = true.fore.size
    flags: dict[str, Bools] = {}
    fore = true.fore.copy()
    nick = book.alternative(book.nicknames, fore, rng)
    flags["forename_nickname"] = _draw(rng, n, rates.forename_nickname, nick >= 0)
    fore[flags["forename_nickname"]] = nick[flags["forename_nickname"]]
    variant = book.alternative(book.variants, fore, rng)
    flags["forename_variant"] = _draw(rng, n, rates.forename_variant, (variant >= 0) & ~flags["forename_nickname"])
    fore[flags["forename_variant"]] = variant[flags["forename_variant"]]
    sur = true.sur.copy()
    sur_variant = book.alternative(book.variants, sur, rng)
    flags["surname_variant"] = _draw(rng, n, rates.surname_variant, sur_variant >= 0)
    sur[flags["surname_variant"]] = sur_variant[flags["surname_variant"]]
    table = book.table
    forename = table.take(pa.array(fore))
    first_part = table.take(pa.array(sur))
    second_part = table.take(pa.array(np.maximum(true.sur2, 0)))
    hyphenated = true.sur2 >= 0
    flags["surname_hyphen_part"] = _draw(rng, n, rates.surname_hyphen_part, hyphenated)
    full = pc.binary_join_element_wise(first_part, second_part, "-")
    surname = pc.if_else(pa.array(hyphenated & ~flags["surname_hyphen_part"]), full, first_part)
    randoms = rng.integers(0, 2**31, n)
    flags["forename_typo"] = _draw(rng, n, rates.forename_typo)
    forename = _typos(forename, flags["forename_typo"], randoms)
    flags["surname_typo"] = _draw(rng, n, rates.surname_typo)
    surname = _typos(surname, flags["surname_typo"], randoms >> 3)
    flags["names_swapped"] = _draw(rng, n, rates.names_swapped)
    swap = pa.array(flags["names_swapped"])
    forename, surname = pc.if_else(swap, surname, forename), pc.if_else(swap, forename, surname)
    flags["odd_case"] = _draw(rng, n, rates.odd_case)
    forename, surname = (
        _odd_case(forename, flags["odd_case"], randoms),
        _odd_case(surname, flags["odd_case"], randoms >> 5),
    )
    year, month, day = ymd(true.dob)
    flags["dob_swapped"] = _draw(rng, n, rates.dob_swapped, (day <= 12) & (day != month))
    month, day = np.where(flags["dob_swapped"], day, month), np.where(flags["dob_swapped"], month, day)
    flags["dob_typo"] = _draw(rng, n, rates.dob_typo)
    by_year = flags["dob_typo"] & (randoms % 4 == 0)
    by_day = flags["dob_typo"] & ~by_year
    year = year + np.where(by_year, np.where(randoms % 8 == 0, 1, -1), 0)
    step = np.where(day >= days_in_month(year, month), -1, 1)
    day = day + np.where(by_day, step, 0)
    upn, upn_flags = _upns(true, rates, rng, randoms)
    flags.update(upn_flags)
    moved = (true.previous_postcode >= 0) & (true.previous_postcode != true.postcode)
    flags["postcode_stale"] = _draw(rng, n, rates.postcode_stale, moved)
    postcode = np.where(flags["postcode_stale"], true.previous_postcode, true.postcode)
    flags["postcode_typo"] = _draw(rng, n, rates.postcode_typo)
    last_letter = postcode % 20
    postcode = np.where(
        flags["postcode_typo"], postcode - last_letter + (last_letter + 1 + randoms % 19) % 20, postcode
    )
    return Shown(
        forename, surname, year, month, day, upn, postcode, {k: flags.get(k, np.zeros(n, bool)) for k in FLAGS}
    )


def _upns(
    true: TrueRecord, rates: NoiseRates, rng: np.random.Generator, randoms: Ints
) -> tuple[pa.StringArray | None, dict[str, Bools]]:
    if true.upn is None:
        return None, {}
    n = true.fore.size
    matrix = true.upn.copy()
    flags: dict[str, Bools] = {}
    flags["upn_missing"] = _draw(rng, n, rates.upn_missing)
    flags["upn_wrong"] = _draw(rng, n, rates.upn_wrong) & ~flags["upn_missing"]
    same_group_next = np.r_[true.group[1:] == true.group[:-1], False]
    flags["upn_shared"] = _draw(rng, n, rates.upn_shared, same_group_next) & ~flags["upn_missing"] & ~flags["upn_wrong"]
    shared = np.flatnonzero(flags["upn_shared"])
    matrix[shared] = true.upn[shared + 1]
    wrong = np.flatnonzero(flags["upn_wrong"])
    # A UPN's check letter comes first; a ULN's check digit last. Any one mistyped digit breaks the check.
    width = matrix.shape[1]
    position = 1 + randoms[wrong] % 11 if width == 13 else randoms[wrong] % (width - 1)
    digit = matrix[wrong, position].astype(np.int64) - 48
    matrix[wrong, position] = (48 + (digit + 1 + (randoms[wrong] >> 4) % 9) % 10).astype(np.uint8)
    strings = to_strings(matrix)
    return pc.if_else(pa.array(flags["upn_missing"]), pa.scalar("", pa.string()), strings), flags


def typo(text: str, random: int) -> str:
    """One typing slip: a letter dropped, doubled, swapped with the next, or mistyped."""
    if len(text) < 3:
        return text + "e"
    pos = random % (len(text) - 1)
    op = (random >> 8) % 4
    letter = "aeioulnrst"[(random >> 12) % 10]
    if op == 0:
        out = text[:pos] + text[pos + 1 :]
    elif op == 1:
        out = text[: pos + 1] + text[pos:]
    elif op == 2:
        out = text[:pos] + text[pos + 1] + text[pos] + text[pos + 2 :]
    else:
        out = text[:pos] + (letter.upper() if text[pos].isupper() else letter) + text[pos + 1 :]
    return out if out != text else text[:pos] + text[pos + 1 :]


def _typos(values: pa.StringArray, mask: Bools, randoms: Ints) -> pa.StringArray:
    where = np.flatnonzero(mask)
    if where.size == 0:
        return values
    chosen = values.take(pa.array(where)).to_pylist()
    changed = [typo(text, int(r)) for text, r in zip(chosen, randoms[where].tolist(), strict=True)]
    return pc.replace_with_mask(values, pa.array(mask), pa.array(changed, type=pa.string()))


def _odd_case(values: pa.StringArray, mask: Bools, randoms: Ints) -> pa.StringArray:
    if not mask.any():
        return values
    mode = randoms % 3
    out = pc.if_else(pa.array(mask & (mode == 0)), pc.utf8_upper(values), values)
    out = pc.if_else(pa.array(mask & (mode == 1)), pc.utf8_lower(values), out)
    return pc.if_else(pa.array(mask & (mode == 2)), pc.utf8_swapcase(values), out)
