"""The fast reading of a census file: the same table as the streaming parser, without Python per pupil.

A census file is almost always plain: elements with text, no attributes, entities, comments, CDATA or processing
instructions, UTF-8, the header under the root and the pupils one level below a container (``<Pupils>``). Such
a file is checked by libxml2 (the same hardened parser, building no tree: well-formed, valid characters in its
encoding) and its tags are found with numpy: every ``<`` opens a tag and the first ``>`` after it closes it, and
the text after an opening tag is exactly the element's own text (lxml's ``.text``: what comes before its first
child), because nothing but tags can interrupt it. Depths are a running sum over the tags; the rest works on the
elements' start tags only (closing tags are half of them): parents and which pupil each element belongs to are
running maxima and sums, the element each pupil's row takes for every field is one scatter (the last of each:
a maximum), and all the texts are taken by one Arrow ``take`` from the file's bytes seen, without a copy, as a
string array of alternate pieces (each tag, then the text after it), then cut into a column each. The file's
bytes are not copied (but to mend line ends), and the arrays as long as the file are kept by each thread from
one file to the next: fresh memory costs a page fault per 4 KB, which can cost as much as the search itself.

Anything else — another encoding, an entity or character reference, an attribute or namespace, a comment, a
pupil or header somewhere unusual — returns None, and the file is read by the streaming parser instead, which
gives exactly what it always gave; so does any file libxml2 finds fault with, so that a refusal (its code and
sentence) is always the streaming parser's. ``tests/collect/test_census_fast.py`` holds the two to the same
tables.
"""

from __future__ import annotations

import functools
import re
import threading
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


#: What each thread keeps from one file to the next: its parser, its work arrays.
_work = threading.local()


def _checker() -> etree.XMLParser:
    """This thread's libxml2 check: a parser reused, one document at a time (its error log is cleared at each
    document), as making one costs about as much as checking 5,000 bytes."""
    checker: etree.XMLParser | None = getattr(_work, "checker", None)
    if checker is None:
        checker = _work.checker = etree.XMLParser(**HARDENED, target=_Check())
    return checker


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
    known = tuple(
        dict.fromkeys([*roots, *records, "Header", "Address", *header_fields, *(t for f in fields for t in f)])
    )
    if len(known) > _NAMES:
        return None  # more names than this reading numbers
    skip = _body_start(data)
    tags = _tokens(data, skip, known) if skip is not None else None
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


def _body_start(data: bytes) -> int | None:
    """Where the file's body begins, after its XML declaration, if it can be plain: UTF-8 (declared or not). An
    offset rather than a copy: copying a file's bytes costs more than finding its tags (fresh pages)."""
    if len(data) > MAX_BYTES:
        return None
    start = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    if data.startswith(b"<?xml", start):
        declaration = _DECLARATION.match(data, start)
        if declaration is None:
            return None
        encoding = _ENCODING.search(declaration.group(0))
        if encoding is not None and encoding.group(1).lower() not in (b"utf-8", b"utf8"):
            return None
        start = declaration.end()
    return start


#: Files up to this size are searched in work arrays kept by each thread (two bytes per byte of the file), not in
#: new ones: fresh memory can cost a page fault per 4 KB (when the allocator has given the last file's back).
_KEPT = 16 << 20


def _scratch(size: int) -> tuple[np.ndarray, np.ndarray]:
    """A boolean array and a byte array of ``size`` elements, to be overwritten."""
    if size > _KEPT:
        return np.empty(size, dtype=bool), np.empty(size, dtype=np.uint8)
    kept: np.ndarray | None = getattr(_work, "arrays", None)
    if kept is None or kept.shape[1] < size:
        kept = _work.arrays = np.empty((2, max(size, 1 << 20)), dtype=np.uint8)
    return kept[0, :size].view(bool), kept[1, :size]


def _tokens(data: bytes, skip: int, known: tuple[str, ...]) -> _Tags | None:
    """The tags of the body (``data`` from ``skip``), found with numpy: every ``<`` opens a tag (nothing else in a
    plain body has one) and the first ``>`` after it closes it (a plain tag has no attribute, where one could
    appear)."""
    if data.find(b"&", skip) >= 0 or data.find(b"\x00", skip) >= 0:
        return None
    if data.find(b"\r", skip) >= 0:  # line ends as XML reads them (before anything else): CR LF and a lone CR are LF
        data, skip = data[skip:].replace(b"\r\n", b"\n").replace(b"\r", b"\n"), 0
    text = np.frombuffer(data, dtype=np.uint8, offset=skip)
    bounds = _brackets(text)
    if bounds is None:
        return None
    lt, ends = bounds[::2], bounds[1::2]
    first = text[lt + 1]
    if ((first == ord("!")) | (first == ord("?"))).any():
        return None  # comments, CDATA, a document type; instructions
    closing = first == ord("/")
    empty = text[ends - 1] == ord("/")
    if (closing & empty).any() or closing[0]:
        return None
    start = np.flatnonzero(~closing)  # the tags an element starts at (an empty element is all of it)
    # the body as alternate pieces, zero-copy: each tag, then the text after it, so that the text after tag k is
    # piece 2k + 1; and last an empty piece, the text of every empty element
    tags = len(lt)
    pieces = np.empty(2 * tags + 2, dtype=np.int32)  # a file is far smaller than 2 GB (MAX_BYTES)
    pieces[:-2] = bounds
    pieces[1:-2:2] += 1
    pieces[-2:] = len(text)
    texts = pa.StringArray.from_buffers(2 * tags + 1, pa.py_buffer(pieces), pa.py_buffer(text))
    codes = _codes(texts, 2 * start, known)
    # no white space in any start tag: then (the file being well-formed, which libxml2 checks) no attribute, and
    # each tag is '/'? name '/'? — a closing tag's '/' first, an empty element's last; and no ':' (a namespace
    # prefix, which would need a declaration, an attribute). A start tag of a known name is exactly <name> or
    # <name/>, so only the others are searched; a closing tag is its start tag's name and may end in white space.
    other = start[codes == 0]
    if _spaced(text, lt[other], ends[other]):
        return None
    step = (~closing).astype(np.int8) - closing - empty  # +1 opening, -1 closing, 0 an empty element
    depth = np.cumsum(step, dtype=np.int32)[start] - step[start]  # each element's ancestors
    is_empty = empty[start]
    text_at = np.where(is_empty, 2 * tags, 2 * start + 1)
    return _Tags(texts, codes, known, text_at, depth, is_empty)


def _brackets(text: np.ndarray) -> np.ndarray | None:
    """Where each tag begins (its ``<``) and ends (its ``>``), alternately, or None when there are not two tags or
    something other than white space comes before the first."""
    mark, byte = _scratch(len(text))
    np.bitwise_or(text, 2, out=byte)  # '<' and '>' are the two bytes that are '>' with bit 1 set: one search
    np.equal(byte, ord(">"), out=mark)
    marks = np.flatnonzero(mark)
    opens = text[marks] == ord("<")
    if len(marks) % 2 == 0 and opens[::2].all() and not opens[1::2].any():
        bounds = marks  # as in nearly every file: no '>' in any text, so '<' and '>' alternate
    else:
        lt, gt = marks[opens], marks[~opens]
        after = np.searchsorted(gt, lt)  # each tag's '>'
        if not len(lt) or after[-1] >= len(gt):
            return None
        bounds = np.empty(2 * len(lt), dtype=marks.dtype)
        bounds[::2] = lt
        bounds[1::2] = gt[after]
    if len(bounds) < 4 or text[: bounds[0]].tobytes().strip():
        return None
    return bounds


def _spaced(text: np.ndarray, lt: np.ndarray, ends: np.ndarray) -> bool:
    """Whether any of the tags from ``lt`` to ``ends`` has white space or a ':' in it (their bytes gathered: they
    are few). (Every other character below a space is refused by libxml2 anyway.)"""
    length = ends - lt
    total = int(length.sum())
    at = np.repeat(lt - (np.cumsum(length) - length), length) + np.arange(total)
    chars = text[at]
    return bool(((chars <= ord(" ")) | (chars == ord(":"))).any())


#: At most this many names are told apart (each one's number is a byte).
_NAMES = 254


@functools.lru_cache(maxsize=8)
def _known_tags(known: tuple[str, ...]) -> tuple[pa.Array, np.ndarray]:
    """The start tags of the known names (each ``<name>``, then each ``<name/>``), and the number of each one's
    name, after a 0 (for none of them): the same for every file, so made once."""
    tags = pa.array([f"<{name}>" for name in known] + [f"<{name}/>" for name in known], type=pa.string())
    numbers = np.array([0, *range(1, len(known) + 1), *range(1, len(known) + 1)], dtype=np.uint8)
    return tags, numbers


def _codes(texts: pa.StringArray, at: np.ndarray, known: tuple[str, ...]) -> np.ndarray:
    """For the start tags that are the pieces ``at``, the place of each one's name in ``known`` plus one (0:
    another name), Arrow looking them up as strings (a hash each, exact)."""
    tags, numbers = _known_tags(known)
    found = pyarrow.compute.index_in(texts.take(pa.array(at)), value_set=tags)
    codes: np.ndarray = numbers[pyarrow.compute.fill_null(found, -1).to_numpy() + 1]
    return codes


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

    def roles(self, *groups: Sequence[str]) -> list[np.ndarray]:
        """For each group of names, whether each element has one of them: one look-up over the elements for all
        the groups (each a bit), then a test of a bit per group."""
        table = np.zeros(len(self.known) + 1, dtype=np.uint8)
        for bit, names in enumerate(groups):
            table[[self.known[name] for name in names]] |= 1 << bit
        role = table[self.codes]
        return [np.bitwise_and(role, 1 << bit).astype(bool) for bit in range(len(groups))]

    def parent_at(self, level: int) -> np.ndarray:
        """For each element, the index of the element opened last at ``level`` before it (-1: none yet)."""
        if level not in self._parents:
            opened = self.opening & (self.depth == level)
            last = np.where(opened, np.arange(len(self.depth)), -1)
            self._parents[level] = np.maximum.accumulate(last)
        return self._parents[level]

    def read(
        self,
        roots: Sequence[str],
        records: Sequence[str],
        header_fields: Sequence[str],
        fields: Sequence[Sequence[str]],
    ) -> tuple[dict[str, str], list[pa.Array]] | None:
        depth = self.depth
        if not self.opening[0] or self.codes[0] not in {self.known[name] for name in roots}:
            return None
        is_record, is_header, is_header_field, is_postcode = self.roles(records, ["Header"], header_fields, fields[-1])
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
        count = int(record_starts.sum())
        number = np.cumsum(record_starts) - 1  # for each element, the pupil last started
        second = self.parent_at(2)
        child = (depth == 3) & (second >= 0)
        child[child] = record_starts[second[child]]  # a pupil's own element
        own = np.flatnonzero(child)  # the pupils' own elements, in document order
        at, valid = self._fields(own, fields[:-1], number, count)
        addresses = own[self.codes[own] == self.known["Address"]]
        postcode_at, postcode_valid = self._postcode(own[is_postcode[own]], addresses, number, count, is_postcode)
        header_at = np.flatnonzero(under_header & is_header_field)
        sizes = [len(header_at)] + [count] * len(fields)
        at = np.concatenate([header_at, at, postcode_at])
        valid = np.concatenate([np.ones(len(header_at), dtype=bool), valid, postcode_valid])
        header_texts, *columns = self._cut(at, valid, sizes)
        names = {code: name for name, code in self.known.items()}
        # the last of each, as streamed
        header = dict(zip((names[c] for c in self.codes[header_at]), header_texts.to_pylist(), strict=True))
        return header, columns

    def _fields(
        self, own: np.ndarray, fields: Sequence[Sequence[str]], number: np.ndarray, count: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """The element each pupil's row takes for each field (``own``: the pupils' own elements), field after
        field: the last of the pupil's elements named for the field, as the streaming parser keeps (a name in
        several fields is the last one's, as there); and whether the pupil has one (NULL where not)."""
        field_of = np.full(len(self.known) + 1, -1, dtype=np.int64)
        for index, tags in enumerate(fields):
            field_of[[self.known[tag] for tag in tags]] = index
        field = field_of[self.codes[own]]
        named = field >= 0
        at = own[named]
        where = np.full(len(fields) * count, -1, dtype=np.int64)
        np.maximum.at(where, field[named] * count + number[at], at)  # the last of each cell: ``own`` is in order
        valid = where >= 0
        return np.maximum(where, 0), valid

    def _cut(self, at: np.ndarray, valid: np.ndarray, sizes: Sequence[int]) -> list[pa.Array]:
        """The texts of the elements ``at`` (an empty element's is the empty string; NULL where not ``valid``), cut
        from the file's pieces by one ``take`` (a call costs more than its rows here), in arrays of ``sizes``
        rows, each with buffers of its own (pickled alone, to the process that loads it)."""
        taken = self.texts.take(pa.array(self.text_at[at], mask=~valid))
        _, offsets_buffer, data = taken.buffers()
        offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[taken.offset : taken.offset + len(taken) + 1]
        data = data if data is not None else pa.py_buffer(b"")
        arrays: list[pa.Array] = []
        row = 0
        for size in sizes:
            bounds = offsets[row : row + size + 1]
            begin = int(bounds[0])
            ok = valid[row : row + size]
            nulls = size - int(np.count_nonzero(ok))
            bitmap = pa.py_buffer(np.packbits(ok, bitorder="little")) if nulls else None
            text = data.slice(begin, int(bounds[-1]) - begin)
            arrays.append(pa.StringArray.from_buffers(size, pa.py_buffer(bounds - begin), text, bitmap, nulls))
            row += size
        return arrays

    @staticmethod
    def _spread(at: np.ndarray, owners: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
        """The elements at ``at`` in their owners' rows, and which rows have one."""
        where = np.zeros(count, dtype=np.int64)
        valid = np.zeros(count, dtype=bool)
        where[owners] = at
        valid[owners] = True
        return where, valid

    def _postcode(
        self, own: np.ndarray, addresses: np.ndarray, number: np.ndarray, count: int, is_postcode: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``Address/PostCode`` (the first in the last address that has one), else the pupil's first own
        ``PostCode`` (``own``: the pupils' own postcode elements; ``addresses``: their own address elements)."""
        third = self.parent_at(3)
        in_address = (self.depth == 4) & (third >= 0) & is_postcode
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
