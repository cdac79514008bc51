"""The archive: every file received, kept unchanged before anything parses it, under the SHA-256 of its bytes.

``home/archive/sha256/ab/cdef…`` holds the file whose hash is ``abcdef…``. A file is copied to a temporary
name in the archive, flushed to disk, then renamed into place and the folder flushed too, so the archive never
holds a half-written file under a real name. Sending the same bytes twice stores them once.

While copying, the bytes are also checked as UTF-8 text (unless they are binary, such as Parquet), so that the
file is read only once before it is loaded.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 22


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


def archive_file(source: Path, root: Path) -> Archived:
    """Copy ``source`` into the archive (once per content) and return its hash, size and where it is."""
    staging = root / "incoming"
    staging.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8_error: int | None = None
    size = 0
    head = b""
    fd, temporary = tempfile.mkstemp(dir=staging, prefix=".receiving-")
    try:
        with source.open("rb") as reader, os.fdopen(fd, "wb") as writer:
            while chunk := reader.read(CHUNK):
                if not head:
                    head = chunk[:65536]
                digest.update(chunk)
                writer.write(chunk)
                if utf8_error is None:
                    utf8_error = _check_utf8(decoder, chunk, size)
                size += len(chunk)
            if utf8_error is None:
                utf8_error = _check_utf8(decoder, b"", size, final=True)
            writer.flush()
            os.fsync(writer.fileno())
        sha = digest.hexdigest()
        target = archive_path(root, sha)
        if target.exists():
            os.unlink(temporary)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(temporary, 0o400)
            os.replace(temporary, target)
            _fsync_dir(target.parent)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return Archived(sha, size, target, utf8_error, head)


def _check_utf8(decoder: codecs.IncrementalDecoder, chunk: bytes, offset: int, *, final: bool = False) -> int | None:
    pending = len(decoder.getstate()[0])
    try:
        decoder.decode(chunk, final)
    except UnicodeDecodeError as exc:
        return max(offset - pending + exc.start, 0)
    return None
