"""Text for whole columns at once: XML escaping, CSV quoting, rows joined in Arrow, bytes written with a hash."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

CRLF = "\r\n"


def xml_escape(values: pa.Array) -> pa.Array:
    """Text safe inside an XML element (ampersands first, then angle brackets)."""
    out = pc.replace_substring(values, "&", "&amp;")
    out = pc.replace_substring(out, "<", "&lt;")
    return pc.replace_substring(out, ">", "&gt;")


def xml_element(name: str, values: pa.Array, indent: str, escape: bool = True) -> pa.Array:
    """``<name>value</name>`` per value, or ``<name/>`` where the value is empty."""
    text = xml_escape(values) if escape else values
    full = pc.binary_join_element_wise(f"{indent}<{name}>", text, f"</{name}>", "")
    return pc.if_else(pc.equal(pc.utf8_length(values), 0), pa.scalar(f"{indent}<{name}/>"), full)


def csv_field(values: pa.Array) -> pa.Array:
    """RFC 4180: quote a field that holds a comma, a quote or a line break, doubling its quotes."""
    needs = pc.match_substring_regex(values, '[",\r\n]')
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(values, '"', '""'), '"', "")
    return pc.if_else(needs, quoted, values)


def csv_text(columns: dict[str, pa.Array]) -> bytes:
    """A CSV file: a header and one CRLF-terminated row per record, every field quoted only when needed."""
    header = ",".join(columns) + CRLF
    if not columns or len(next(iter(columns.values()))) == 0:
        return header.encode("utf-8")
    fields = [csv_field(col.cast(pa.string())) for col in columns.values()]
    rows = pc.binary_join_element_wise(*fields, ",")
    rows = pc.binary_join_element_wise(rows, CRLF, "")
    return header.encode("utf-8") + concatenated(rows)


def concatenated(rows: pa.Array) -> bytes:
    """All the values of a string array, one after another."""
    rows = pa.concat_arrays([rows]) if isinstance(rows, pa.ChunkedArray) else rows
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=len(rows) + 1, offset=rows.offset * 4)
    data = rows.buffers()[2]
    return data.to_pybytes()[offsets[0] : offsets[-1]] if data is not None else b""


def byte_offsets(rows: pa.Array) -> npt.NDArray[np.int64]:
    """Where each value starts in ``concatenated(rows)``, with the total length last."""
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int32, count=len(rows) + 1, offset=rows.offset * 4)
    return offsets.astype(np.int64) - int(offsets[0])


def write_file(path: Path, parts: list[bytes]) -> tuple[str, int]:
    """Write the parts to ``path``; its sha256 and size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    with path.open("wb") as handle:
        for part in parts:
            digest.update(part)
            handle.write(part)
            size += len(part)
    return digest.hexdigest(), size


def tenths(values: npt.NDArray[np.int64]) -> pa.Array:
    """Integers in tenths as decimal text: 1123 gives '112.3'."""
    whole = pa.array(values // 10).cast(pa.string())
    return pc.binary_join_element_wise(whole, pa.array(values % 10).cast(pa.string()), ".")


def strip_leading_zero(values: pa.Array) -> pa.Array:
    return pc.replace_substring_regex(values, "^0", "")
