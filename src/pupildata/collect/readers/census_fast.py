"""The fast reading of a census file: the same table as the streaming parser, without Python per pupil.

A census file is almost always plain: elements with text, no attributes, entities, comments, CDATA or processing
instructions, UTF-8, the header under the root and the pupils one level below a container (``<Pupils>``). Such
a file is checked by libxml2 (the same hardened parser, building no tree: well-formed, valid characters in its
encoding) and its tags are found with numpy: every ``<`` opens a tag and the first ``>`` after it closes it, and
the text after an opening tag is exactly the element's own text (lxml's ``.text``: what comes before its first
child), because nothing but tags can interrupt it. Depths are a running sum over the tags; the rest works on the
elements' start tags only (closing tags are half of them): parents and which pupil each element belongs to are
running maxima and sums, each field is one selection, and its texts are taken by Arrow (``take``) from the
file's bytes seen, without a copy, as a string array of alternate pieces: each tag, then the text after it.

Anything else — another encoding, an entity or character reference, an attribute or namespace, a comment, a
pupil or header somewhere unusual — returns None, and the file is read by the streaming parser instead, which
gives exactly what it always gave; so does any file libxml2 finds fault with, so that a refusal (its code and
sentence) is always the streaming parser's. ``tests/collect/test_census_fast.py`` holds the two to the same
tables.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
import numpy.ma
import pyarrow as pa
import pyarrow.compute
from lxml import etree

# numpy.ma and pyarrow.compute are imported by Arrow at its first array from a mask and its first `take`: here
# instead, so that the fork server imports them once, not each parse worker at its first file (50 to 100 ms)
_ = (numpy.ma, pyarrow.compute)

if TYPE_CHECKING:
    from collections.abc import Sequence

#: Larger files are left to the streaming parser (one string of the whole file is held here).
MAX_BYTES = 256 << 20
_DECLARATION = re.compile(rb"<\?xml[^>]*?\?>")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


class _Check:
    """libxml2 with no tree: only whether the bytes are well-formed XML in their encoding."""

    def close(self) -> None:
        return None


#: How every census file is parsed, by this reading and the streaming parser alike: no entity resolved, nothing
#: fetched, libxml2's limits on text size and depth kept, no DTD loaded (a document type refuses the file).
HARDENED = {
    "resolve_entities": False,
    "no_network": True,
    "huge_tree": False,
    "load_dtd": False,
    "remove_comments": True,
    "remove_pis": True,
}


def _checker() -> etree.XMLParser:
    return etree.XMLParser(**HARDENED, target=_Check())


def read_plain(
    data: bytes,
    *,
    roots: Sequence[str],
    records: Sequence[str],
    header_fields: Sequence[str],
    fields: Sequence[Sequence[str]],
) -> tuple[dict[str, str], list[pa.Array]] | None:
    """The header and the record columns of a plain census file (``fields``: each column's element names, the
    postcode last and read from ``Address/PostCode`` or ``PostCode``), or None when the file is not plain."""
    known = list(
        dict.fromkeys([*roots, *records, "Header", "Address", *header_fields, *(t for f in fields for t in f)])
    )
    if len(known) > _NAMES or any(len(name) > _LONGEST or not name.isascii() for name in known):
        return None  # names this reading cannot tell apart exactly
    body = _plain_body(data)
    tags = _tokens(body, known) if body is not None else None
    if tags is None:
        return None
    checker = _checker()
    try:  # well-formed, with valid characters in its encoding: else the streaming parser says why not
        etree.fromstring(data, checker)
    except etree.XMLSyntaxError:
        return None
    if any(entry.level >= etree.ErrorLevels.ERROR for entry in checker.error_log):
        return None  # an error libxml2 carries on after (the streaming parser refuses the file for it)
    return tags.read(roots, records, header_fields, fields)


def _plain_body(data: bytes) -> bytes | None:
    """The file after its XML declaration, if it can be plain: UTF-8 (declared or not)."""
    if len(data) > MAX_BYTES:
        return None
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if body.startswith(b"<?xml"):
        declaration = _DECLARATION.match(body)
        if declaration is None:
            return None
        encoding = _ENCODING.search(declaration.group(0))
        if encoding is not None and encoding.group(1).lower() not in (b"utf-8", b"utf8"):
            return None
        body = body[declaration.end() :]
    return body


def _tokens(body: bytes, known: Sequence[str]) -> _Tags | None:  # noqa: PLR0911 - each way a body is not plain
    """The tags of a body, found with numpy: every ``<`` opens a tag (nothing else in a plain body has one) and
    the first ``>`` after it closes it (a plain tag has no attribute, where one could appear)."""
    if b"&" in body or b"\x00" in body:
        return None
    if b"\r" in body:  # line ends as XML reads them (before anything else): CR LF and a lone CR are LF
        body = body.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    raw = np.frombuffer(body + bytes(8), dtype=np.uint8)  # 8 bytes more: a name's last 8 bytes can be read
    size = len(body)
    text = raw[:size]
    lt = np.flatnonzero(text == ord("<"))
    gt = np.flatnonzero(text == ord(">"))
    if len(lt) < 2 or not len(gt) or raw[: lt[0]].tobytes().strip():
        return None
    if len(gt) == len(lt) and (gt > lt).all() and (lt[1:] > gt[:-1]).all():
        ends = gt  # as in nearly every file: no '>' in any text, so each '<' is followed by its own '>'
    else:
        after = np.searchsorted(gt, lt)  # each tag's '>'
        if after[-1] >= len(gt):
            return None
        ends = gt[after]
    starts = lt + 1
    first = raw[starts]
    if ((first == ord("!")) | (first == ord("?"))).any():  # comments, CDATA, a document type; instructions
        return None
    # no white space in any tag: then (the file being well-formed, which libxml2 checks) no attribute either, and
    # each tag is '/'? name '/'? — a closing tag's '/' first, an empty element's last; and no ':' (a namespace
    # prefix, which would need a declaration, an attribute). A run of white space never spans a '<' or a '>', so
    # the first character of each run tells whether the run is in a tag. (Every other character below a space is
    # refused by libxml2 anyway.)
    space = (text <= ord(" ")) | (text == ord(":"))
    runs = np.flatnonzero(space[1:] & ~space[:-1]) + 1
    if space[0]:
        runs = np.concatenate([[0], runs])
    if len(runs):
        tag = np.searchsorted(lt, runs) - 1  # the last tag begun before each run
        begun = tag >= 0
        if (runs[begun] < ends[tag[begun]]).any():
            return None
    closing = first == ord("/")
    empty = raw[ends - 1] == ord("/")
    if (closing & empty).any() or closing[0]:
        return None
    start = np.flatnonzero(~closing)  # the tags an element starts at (an empty element is all of it)
    name_start = starts[start]
    name_end = ends[start] - empty[start]
    if (name_end <= name_start).any() or (ends[closing] <= starts[closing] + 1).any():
        return None
    text_end = np.empty_like(lt)
    text_end[:-1] = lt[1:]
    text_end[-1] = size
    # the body as alternate pieces, zero-copy: each tag, then the text after it (an empty element's none: its
    # tag's piece runs on to the next tag), so that the text after tag k is piece 2k + 1
    pieces = np.empty(2 * len(lt) + 1, dtype=np.int32)  # a file is far smaller than 2 GB (MAX_BYTES)
    pieces[0:-1:2] = lt
    pieces[1::2] = np.where(empty, text_end, ends + 1)
    pieces[-1] = size
    texts = pa.StringArray.from_buffers(2 * len(lt), pa.py_buffer(pieces), pa.py_buffer(raw))
    codes = _codes(raw, name_start, name_end, known)
    step = (~closing).astype(np.int8) - closing - empty  # +1 opening, -1 closing, 0 an empty element
    depth = np.cumsum(step, dtype=np.int32)[start] - step[start]  # each element's ancestors
    return _Tags(texts, codes, known, 2 * start + 1, depth, empty[start])


#: Names are told apart by their length and first and last 8 bytes: exact for names of up to 16 bytes.
_LONGEST = 16
#: At most this many names are told apart (each one's number is a byte).
_NAMES = 254
_LOW = np.array([(1 << (8 * n)) - 1 if n < 8 else (1 << 64) - 1 for n in range(9)], dtype=np.uint64)


def _words(raw: np.ndarray, start: np.ndarray, end: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each name's length, first 8 bytes and last 8 bytes (as little-endian numbers, zero-padded)."""
    windows = np.ndarray((len(raw) - 7,), dtype="<u8", buffer=raw.data, strides=(1,))
    length = (end - start).astype(np.int64)
    head = windows[start] & _LOW[np.minimum(length, 8)]
    tail = np.where(length > 8, windows[np.maximum(end - 8, 0)], np.uint64(0))
    return length, head, tail


def _codes(raw: np.ndarray, start: np.ndarray, end: np.ndarray, known: Sequence[str]) -> np.ndarray:
    """For each tag, the place of its name in ``known`` plus one (0: another name): a hash of the length and the
    first and last 8 bytes finds the candidate, and those three (exact for names of up to 16 bytes) confirm it."""
    length, head, tail = _words(raw, start, end)
    encoded = np.frombuffer(b"".join(n.encode("ascii") + bytes(8) for n in known), dtype=np.uint8)
    begins = np.cumsum([0] + [len(n) + 8 for n in known[:-1]])
    k_length, k_head, k_tail = _words(encoded, begins, begins + np.array([len(n) for n in known]))
    k_hash = _hash(k_length, k_head, k_tail)
    order = np.argsort(k_hash)
    hashes = _hash(length, head, tail)
    at = np.minimum(np.searchsorted(k_hash[order], hashes), len(known) - 1)
    candidate = order[at]
    same = (k_length[candidate] == length) & (k_head[candidate] == head) & (k_tail[candidate] == tail)
    return np.where(same, candidate + 1, 0).astype(np.uint8)  # few names: a stable sort of them is a radix sort


def _hash(length: np.ndarray, head: np.ndarray, tail: np.ndarray) -> np.ndarray:
    return head ^ (tail * np.uint64(0x9E3779B97F4A7C15)) ^ (length.astype(np.uint64) << np.uint64(56))


class _Tags:
    """The elements of a plain file, in document order (each where its start tag is): its name, depth, whether it
    is empty, and where its text is among the file's pieces."""

    def __init__(  # noqa: PLR0917 - the elements' columns
        self,
        texts: pa.StringArray,
        codes: np.ndarray,
        known: Sequence[str],
        text_at: np.ndarray,
        depth: np.ndarray,
        empty: np.ndarray,
    ) -> None:
        self.texts = texts
        self.codes = codes
        self.known = {name: code for code, name in enumerate(known, start=1)}
        self.text_at = text_at
        self.depth = depth
        self.empty = empty
        self.opening = ~empty
        self._parents: dict[int, np.ndarray] = {}

    def named(self, *names: str) -> np.ndarray:
        table = np.zeros(len(self.known) + 1, dtype=bool)
        table[[self.known[name] for name in names]] = True
        found: np.ndarray = table[self.codes]
        return found

    def parent_at(self, level: int) -> np.ndarray:
        """For each element, the index of the element opened last at ``level`` before it (-1: none yet)."""
        if level not in self._parents:
            opened = self.opening & (self.depth == level)
            last = np.where(opened, np.arange(len(self.depth)), -1)
            self._parents[level] = np.maximum.accumulate(last)
        return self._parents[level]

    def text_of(self, at: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
        """The text of the elements ``at`` (an empty element's is the empty string), as one Arrow string array
        (NULL where ``valid`` is False): cut from the file's pieces."""
        mask = None if valid is None else ~valid
        return self.texts.take(pa.array(self.text_at[at], mask=mask))

    def read(
        self,
        roots: Sequence[str],
        records: Sequence[str],
        header_fields: Sequence[str],
        fields: Sequence[Sequence[str]],
    ) -> tuple[dict[str, str], list[pa.Array]] | None:
        depth = self.depth
        if not self.opening[0] or not self.named(*roots)[0]:
            return None
        is_record = self.named(*records)
        is_header = self.named("Header")
        # pupils exactly two levels down, headers one: no pupil or header inside another, so the streaming
        # parser's order (the end of each) is document order and it has read every element before clearing any
        if (is_record & (depth != 2)).any() or (is_header & (depth != 1)).any():
            return None
        first = self.parent_at(1)
        under_header = np.zeros(len(depth), dtype=bool)
        header_opened = is_header & self.opening & (depth == 1)
        inside = (first >= 0) & (depth >= 2)  # a descendant of an element under the root
        under_header[inside] = header_opened[first[inside]]
        record_starts = is_record
        if (record_starts & under_header).any() or not record_starts.any():
            return None
        header = self._header(header_fields, under_header)
        count = int(record_starts.sum())
        number = np.cumsum(record_starts) - 1  # for each element, the pupil last started
        second = self.parent_at(2)
        child = (depth == 3) & (second >= 0)
        child[child] = record_starts[second[child]]  # a pupil's own element
        own = np.flatnonzero(child)  # the pupils' own elements, grouped by name (each group in document order)
        order = np.argsort(self.codes[own], kind="stable")
        groups = np.searchsorted(self.codes[own][order], np.arange(len(self.known) + 2))

        def named_own(tags: Sequence[str]) -> np.ndarray:
            codes = [self.known[tag] for tag in tags]
            parts = [own[order[groups[c] : groups[c + 1]]] for c in codes]
            return parts[0] if len(parts) == 1 else np.sort(np.concatenate(parts))

        columns = [self._column(named_own(tags), number, count) for tags in fields[:-1]]
        columns.append(self._postcode(named_own(fields[-1]), named_own(["Address"]), number, count, fields[-1]))
        return header, columns

    def _header(self, header_fields: Sequence[str], under_header: np.ndarray) -> dict[str, str]:
        at = np.flatnonzero(under_header & self.named(*header_fields))
        names = {code: name for name, code in self.known.items()}
        texts = self.text_of(at).to_pylist()
        return dict(zip((names[c] for c in self.codes[at]), texts, strict=True))  # the last of each, as streamed

    def _column(self, at: np.ndarray, number: np.ndarray, count: int) -> pa.Array:
        """The texts of the elements at ``at`` in their pupils' rows: the last of each pupil's, as the streaming
        parser keeps (NULL for a pupil with none)."""
        owners = number[at]
        if len(at):
            keep = np.ones(len(at), dtype=bool)
            keep[:-1] = owners[1:] != owners[:-1]
            at, owners = at[keep], owners[keep]
        return self._spread(at, owners, count)

    def _spread(self, at: np.ndarray, owners: np.ndarray, count: int) -> pa.Array:
        """The texts of the elements at ``at`` in their owners' rows, NULL in the other rows."""
        where = np.zeros(count, dtype=np.int64)
        valid = np.zeros(count, dtype=bool)
        where[owners] = at
        valid[owners] = True
        return self.text_of(where, valid)

    def _postcode(
        self, own: np.ndarray, addresses: np.ndarray, number: np.ndarray, count: int, tags: Sequence[str]
    ) -> pa.Array:
        """``Address/PostCode`` (the first in the last address that has one), else the pupil's first own
        ``PostCode`` (``own``: the pupils' own postcode elements; ``addresses``: their own address elements)."""
        third = self.parent_at(3)
        in_address = (self.depth == 4) & (third >= 0) & self.named(*tags)
        is_address = np.zeros(len(self.depth), dtype=bool)
        is_address[addresses] = True
        in_address[in_address] = is_address[third[in_address]] & self.opening[third[in_address]]
        at = np.flatnonzero(in_address)
        if len(at):  # the first postcode of each address, then the last address of each pupil
            parents = third[at]
            keep = np.ones(len(at), dtype=bool)
            keep[1:] = parents[1:] != parents[:-1]
            at = at[keep]
            owners = number[at]
            keep = np.ones(len(at), dtype=bool)
            keep[:-1] = owners[1:] != owners[:-1]
            at = at[keep]
        if len(own):
            owners = number[own]
            keep = np.ones(len(own), dtype=bool)
            keep[1:] = owners[1:] != owners[:-1]
            own = own[keep]
        has_address = np.zeros(count, dtype=bool)
        has_address[number[at]] = True
        own = own[~has_address[number[own]]]
        chosen = np.sort(np.concatenate([at, own]))
        return self._spread(chosen, number[chosen], count)
