"""The archive: every file received, kept unchanged before anything parses it, under the SHA-256 of its bytes.

``home/archive/sha256/ab/cdef…`` holds the file whose hash is ``abcdef…``. A file is copied to a temporary
name in the archive, flushed to disk, then renamed into place and the folder flushed too, so the archive never
holds a half-written file under a real name. Sending the same bytes twice stores them once.

The copy is made inside the kernel (``copy_file_range``); it is then read once, from the page cache, to hash it
and check it as UTF-8 text (a chunk of ASCII needs no decoding), while other threads flush it to disk. Files
received together (``archive_files``: e.g. a folder of census returns) are flushed together, their files at once
and then their folders at once, so that the disk's flushes overlap instead of taking turns (a flush here is a
few milliseconds, and a hundred of them one after the other were most of the time spent archiving); none of
them is returned, so none is parsed, before all are flushed and in place.
"""

from __future__ import annotations

import codecs
import contextlib
import hashlib
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 22
#: Flushes to disk run at once when files are archived together.
FLUSHERS = 16


@dataclass(frozen=True)
class Archived:
    """A file in the archive."""

    sha256: str
    size: int
    path: Path
    utf8_error: int | None  # offset of the first byte that is not UTF-8, or None if it all is
    head: bytes  # the first bytes, for recognising the file

    @property
    def is_utf8(self) -> bool:
        return self.utf8_error is None


def archive_path(root: Path, sha256: str) -> Path:
    return root / "sha256" / sha256[:2] / sha256[2:]


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _copy(reader: BinaryIO, writer: BinaryIO) -> None:
    """Copy a whole file inside the kernel (no bytes through Python), or by chunks where the kernel cannot."""
    size = os.fstat(reader.fileno()).st_size
    copied = 0
    with contextlib.suppress(OSError):  # the file system cannot copy in the kernel: chunks below do it all
        while copied < size and (n := os.copy_file_range(reader.fileno(), writer.fileno(), size - copied)):
            copied += n
    reader.seek(copied)
    writer.seek(copied)
    shutil.copyfileobj(reader, writer, CHUNK)  # what is left: a file that grew, or no copy_file_range


def _fsync(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_back(path: str) -> tuple[str, int, int | None, bytes]:
    """SHA-256, size, first non-UTF-8 byte and first bytes of the archived copy, read once."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8_error: int | None = None
    size = 0
    head = b""
    with open(path, "rb") as reader:
        while chunk := reader.read(CHUNK):
            if not head:
                head = chunk[:65536]
            digest.update(chunk)  # releases the GIL: the copy is flushed to disk meanwhile
            if utf8_error is None and not (chunk.isascii() and not decoder.getstate()[0]):
                utf8_error = _check_utf8(decoder, chunk, size)
            size += len(chunk)
    if utf8_error is None:
        utf8_error = _check_utf8(decoder, b"", size, final=True)
    return digest.hexdigest(), size, utf8_error, head


def archive_file(source: Path, root: Path) -> Archived:
    """Copy ``source`` into the archive (once per content) and return its hash, size and where it is."""
    return archive_files([source], root)[0]


def archive_files(sources: list[Path], root: Path) -> list[Archived]:
    """Copy each of ``sources`` into the archive (once per content); return each one's hash, size and place.

    Each copy is made by the kernel; its bytes are then hashed (and checked as UTF-8) while the copies are flushed
    to disk, so the hash is that of the bytes archived even if the sender's file changes meanwhile. Only once
    every copy is flushed, renamed into place and its folder flushed does this return."""
    staging = root / "incoming"
    staging.mkdir(parents=True, exist_ok=True)
    temporaries: list[str] = []
    archived: list[Archived] = []
    try:
        for source in sources:
            fd, temporary = tempfile.mkstemp(dir=staging, prefix=".receiving-")
            temporaries.append(temporary)
            with source.open("rb") as reader, os.fdopen(fd, "wb") as writer:
                _copy(reader, writer)
        with ThreadPoolExecutor(max_workers=min(FLUSHERS, len(temporaries)) or 1) as pool:
            flushed = [pool.submit(_fsync, temporary) for temporary in temporaries]
            read = [_read_back(temporary) for temporary in temporaries]
            for flush in flushed:
                flush.result()
            folders: set[Path] = set()
            for temporary, (sha, size, utf8_error, head) in zip(temporaries, read, strict=True):
                target = archive_path(root, sha)
                if target.exists():
                    os.unlink(temporary)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.chmod(temporary, 0o400)
                    os.replace(temporary, target)
                    folders.add(target.parent)
                archived.append(Archived(sha, size, target, utf8_error, head))
            for done in [pool.submit(_fsync_dir, folder) for folder in sorted(folders)]:
                done.result()
    except BaseException:
        for temporary in temporaries:
            if os.path.exists(temporary):
                os.unlink(temporary)
        raise
    return archived


def _check_utf8(decoder: codecs.IncrementalDecoder, chunk: bytes, offset: int, *, final: bool = False) -> int | None:
    pending = len(decoder.getstate()[0])
    try:
        decoder.decode(chunk, final)
    except UnicodeDecodeError as exc:
        return max(offset - pending + exc.start, 0)
    return None
