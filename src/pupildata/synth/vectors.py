"""Identifiers, postcodes and dates for whole arrays at once, with numpy.

These are the kernel's identifier rules (``pupildata.kernel.identifiers``) applied to millions of values in one
step; the tests check that each agrees with its one-value-at-a-time twin. Text is built as fixed-width byte
matrices and handed to Arrow as strings without a Python loop.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from pupildata.kernel.identifiers import UPN_LETTERS

IntArray = npt.NDArray[np.int64]
ByteMatrix = npt.NDArray[np.uint8]

_LETTERS = np.frombuffer(UPN_LETTERS.encode("ascii"), dtype=np.uint8)
_CHAR_VALUE = np.full(256, -1, dtype=np.int64)
_CHAR_VALUE[48:58] = np.arange(10)
_CHAR_VALUE[_LETTERS] = np.arange(len(UPN_LETTERS))
_UPN_WEIGHTS = np.arange(2, 13, dtype=np.int64)
_ULN_WEIGHTS = np.arange(10, 1, -1, dtype=np.int64)
# The letters a postcode's inward part may end with: no C, I, K, M, O or V.
INWARD_LETTERS = np.frombuffer(b"ABDEFGHJLNPQRSTUWXYZ", dtype=np.uint8)


def digits(values: npt.ArrayLike, width: int) -> ByteMatrix:
    """Each value as ``width`` ASCII digits with leading zeros, one row per value."""
    remaining = np.asarray(values, dtype=np.int64).copy()
    out = np.empty((remaining.size, width), dtype=np.uint8)
    for column in range(width - 1, -1, -1):
        out[:, column] = remaining % 10 + 48
        remaining //= 10
    return out


def to_strings(matrix: ByteMatrix) -> pa.StringArray:
    """Rows of a byte matrix as an Arrow string array (each row one value, all the same width)."""
    rows, width = matrix.shape
    offsets = np.arange(0, rows * width + 1, width, dtype=np.int32)
    data = np.ascontiguousarray(matrix).tobytes()
    return pa.StringArray.from_buffers(rows, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data))


def upn_check_letters(bodies: ByteMatrix) -> ByteMatrix:
    """The check letter (as an ASCII code) for each row of 12 UPN characters after the letter."""
    values = _CHAR_VALUE[bodies]
    if bodies.shape[1] != 12 or (values < 0).any() or (values[:, :11] > 9).any():
        raise ValueError("a UPN body is 11 digits then a digit or a UPN letter")
    total = values[:, :11] @ _UPN_WEIGHTS + 13 * values[:, 11]
    letters: ByteMatrix = np.asarray(_LETTERS[total % 23], dtype=np.uint8)
    return letters


def upn_bodies(la: npt.ArrayLike, estab: npt.ArrayLike, year: npt.ArrayLike, serial: npt.ArrayLike) -> ByteMatrix:
    """The 12 characters after the check letter of permanent UPNs."""
    return np.hstack([digits(la, 3), digits(estab, 4), digits(np.asarray(year) % 100, 2), digits(serial, 3)])


def make_upns(la: npt.ArrayLike, estab: npt.ArrayLike, year: npt.ArrayLike, serial: npt.ArrayLike) -> ByteMatrix:
    """Permanent UPNs as a 13-column byte matrix (see ``identifiers.make_upn``)."""
    body = upn_bodies(la, estab, year, serial)
    return np.hstack([upn_check_letters(body)[:, None], body])


def make_temporary_upns(
    la: npt.ArrayLike, estab: npt.ArrayLike, year: npt.ArrayLike, serial: npt.ArrayLike, letter: npt.ArrayLike
) -> ByteMatrix:
    """Temporary UPNs: a two-digit serial then a letter (``letter`` indexes the 23 UPN letters)."""
    last = _LETTERS[np.asarray(letter, dtype=np.int64) % len(UPN_LETTERS)]
    body = np.hstack(
        [digits(la, 3), digits(estab, 4), digits(np.asarray(year) % 100, 2), digits(serial, 2), last[:, None]]
    )
    return np.hstack([upn_check_letters(body)[:, None], body])


def uln_check_digits(first_nine: npt.ArrayLike) -> IntArray:
    """The ULN check digit of each nine-digit number, or -1 where none can make it valid."""
    matrix = digits(first_nine, 9).astype(np.int64) - 48
    remainder = (matrix @ _ULN_WEIGHTS) % 11
    return np.where(remainder == 0, -1, 10 - remainder)


def make_ulns(serials: npt.ArrayLike) -> tuple[ByteMatrix, IntArray]:
    """ULNs for nine-digit serials, moving each serial up by one until it can carry a check digit.

    Returns the 10-column byte matrix and the serials actually used. Serials should be at least 7 apart so
    that moving up never makes two the same.
    """
    used = np.asarray(serials, dtype=np.int64).copy()
    check = uln_check_digits(used)
    while (bad := check < 0).any():
        used[bad] += 1
        check[bad] = uln_check_digits(used[bad])
    return np.hstack([digits(used, 9), (check + 48).astype(np.uint8)[:, None]]), used


def inward_codes(unit: npt.ArrayLike) -> ByteMatrix:
    """Inward postcodes (sector digit and two letters) for unit numbers 0..3999."""
    code = np.asarray(unit, dtype=np.int64)
    sector, rest = code // 400, code % 400
    return np.stack(
        [(sector % 10 + 48).astype(np.uint8), INWARD_LETTERS[rest // 20], INWARD_LETTERS[rest % 20]], axis=1
    )


def ymd(days: npt.ArrayLike) -> tuple[IntArray, IntArray, IntArray]:
    """Year, month and day of days since 1970-01-01."""
    dates = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    months = dates.astype("datetime64[M]")
    year = months.astype("datetime64[Y]").astype(np.int64) + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (dates - months).astype(np.int64) + 1
    return year, month, day


def days_from_ymd(year: npt.ArrayLike, month: npt.ArrayLike, day: npt.ArrayLike) -> IntArray:
    """Days since 1970-01-01 of year, month and day arrays (which must form real dates)."""
    y = np.asarray(year, dtype=np.int64) - 1970
    m = np.asarray(month, dtype=np.int64) - 1
    start = (y * 12 + m).astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)
    return start + np.asarray(day, dtype=np.int64) - 1


def days_in_month(year: npt.ArrayLike, month: npt.ArrayLike) -> IntArray:
    y = np.asarray(year, dtype=np.int64)
    m = np.asarray(month, dtype=np.int64)
    return days_from_ymd(y + m // 12, m % 12 + 1, 1) - days_from_ymd(y, m, 1)


def format_dates(year: npt.ArrayLike, month: npt.ArrayLike, day: npt.ArrayLike, style: str) -> pa.StringArray:
    """Dates as text: ``iso`` 2008-09-01, ``dmy`` 01/09/2008, ``compact`` 20080901."""
    y, m, d = digits(year, 4), digits(month, 2), digits(day, 2)
    n = y.shape[0]
    if style == "iso":
        dash = np.full((n, 1), ord("-"), dtype=np.uint8)
        return to_strings(np.hstack([y, dash, m, dash, d]))
    if style == "dmy":
        slash = np.full((n, 1), ord("/"), dtype=np.uint8)
        return to_strings(np.hstack([d, slash, m, slash, y]))
    if style == "compact":
        return to_strings(np.hstack([y, m, d]))
    raise ValueError(f"no date style {style!r}")
