"""A return sent in the portal: received, collected exactly as the command line collects it, and answered at once.

The form's file is streamed to a folder of its own under the data home's ``incoming/`` (owner-only), counting
bytes: past the limit (setting ``portal_max_upload_mb``) reading stops and the partial file is removed. Only the
base name of the name the browser gives is kept (``safe_name``). The file is then collected by ``collect`` — the
one way files are loaded — on this one file, parsed in this process (no parse workers inside the web server),
under a lock that lets one upload of this process load at a time, and with the account's senders as the only
senders it may be a return from (``Options.senders``: any other file is refused whole, before anything of it is
written). The warehouse is opened for writing for that load only and closed after it; if a command-line load
holds it, nothing is kept and the sender is asked to send the file again later. The folder is removed afterwards
either way: the archive holds the copy. Corrections sent in the portal (``correcting``) are received and
collected the same way (``collect_upload``), with the receipt they correct.
"""

from __future__ import annotations

import copy
import logging
import os
import shutil
import tempfile
import threading
import unicodedata
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import duckdb
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from pupildata.collect.receipts import Receipt
from pupildata.errors import UsageError
from pupildata.kernel.audit import Event
from pupildata.kernel.context import Context
from pupildata.web.accounts import User
from pupildata.web.warehouse import WarehouseUnavailable

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

    from pupildata.collect.load import Options

log = logging.getLogger("pupildata.web")

#: The form's field holding the file.
FIELD = "file"
#: The longest file name kept, in bytes of UTF-8 (a file system allows 255).
MAX_NAME = 200
#: What a form adds around its file (boundaries, headers), allowed above the limit before a declared length is
#: refused unread.
FORM_OVERHEAD = 64 << 10
MB = 1 << 20
#: The longest header line of a part of the form.
MAX_HEADER = 8 << 10
SENT = "return sent"
NO_FILE = "Select a file to send."
EMPTY = "The selected file is empty: choose the file that holds your return."
UNREADABLE = "The form could not be read: choose the file again and send it."
BUSY = "Your file was not received: returns are being loaded just now. Send it again in a few minutes."

_one_load = threading.Lock()


class UploadRefused(Exception):
    """The upload is refused, or was not collected: ``message`` is one sentence, ``status_code`` the answer (and
    ``headers`` its headers, such as a busy warehouse's ``Retry-After``)."""

    def __init__(self, status_code: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.headers = headers


def too_large(limit_mb: int) -> str:
    return f"The selected file is larger than {limit_mb} MB, the largest file the portal accepts."


@dataclass(frozen=True)
class Upload:
    """A file received: in a folder of its own, under the (safe) name it was sent with."""

    path: Path
    size: int

    @property
    def name(self) -> str:
        return self.path.name


def _kept_character(ch: str) -> str:
    kind = unicodedata.category(ch)
    return "" if kind[0] == "C" or kind in ("Zl", "Zp") else " " if kind == "Zs" else ch


def safe_name(sent: str) -> str:
    """The base name of a sent file's name: no folder (either slash), no control, invisible or line-breaking
    character (any other space is a plain one), at most ``MAX_NAME`` bytes; "" when nothing usable is left."""
    base = sent.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(_kept_character(ch) for ch in base).strip()
    kept = kept.encode("utf-8")[:MAX_NAME].decode("utf-8", "ignore").strip()
    return "" if kept in (".", "..") else kept


class _FilePart:
    """The multipart parser's callbacks: the first part of the ``file`` field with a file name is written to
    ``folder``, counting bytes; every other part is read past."""

    def __init__(self, folder: Path, limit: int) -> None:
        self.folder, self.limit = folder, limit
        self.path: Path | None = None
        self.size = 0
        self._handle: IO[bytes] | None = None
        self._headers: dict[str, str] = {}
        self._field = self._value = b""

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self._headers.clear,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._begin,
            "on_part_data": self._data,
            "on_part_end": self.close,
        }

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]
        self._bounded()

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]
        self._bounded()

    def _bounded(self) -> None:
        """A part's header is a line or two: one longer than ``MAX_HEADER`` is no form a browser sends."""
        if len(self._field) + len(self._value) > MAX_HEADER:
            raise UploadRefused(400, UNREADABLE)

    def _header_end(self) -> None:
        self._headers[self._field.decode("latin-1").lower()] = self._value.decode("latin-1")
        self._field = self._value = b""

    def _begin(self) -> None:
        _, options = parse_options_header(self._headers.get("content-disposition"))
        sent = options.get(b"filename")
        if self.path is not None or options.get(b"name") != FIELD.encode() or not sent:
            return  # not the file (a browser sends an empty name when none was chosen)
        name = safe_name(sent.decode("utf-8", "replace")) or "return"
        self.path = self.folder / name
        self._handle = os.fdopen(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._handle is None:
            return
        self.size += end - start
        if self.size > self.limit:
            raise UploadRefused(413, too_large(self.limit // MB))
        self._handle.write(data[start:end])

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _private_folder(incoming: Path) -> Path:
    """A new folder of its own under ``incoming`` (both owner-only)."""
    incoming.mkdir(mode=0o700, parents=True, exist_ok=True)
    incoming.chmod(0o700)
    return Path(tempfile.mkdtemp(dir=incoming, prefix="upload-"))


async def receive_upload(request: Request, incoming: Path, limit_mb: int) -> Upload:
    """The form's file, streamed to a folder of its own under ``incoming``; ``UploadRefused`` (with nothing
    kept) when there is none, it is empty, or it is larger than ``limit_mb``."""
    limit = limit_mb * MB
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + FORM_OVERHEAD:
        raise UploadRefused(413, too_large(limit_mb))  # refused unread
    kind, options = parse_options_header(request.headers.get("content-type"))
    if kind != b"multipart/form-data" or not options.get(b"boundary"):
        raise UploadRefused(400, NO_FILE)
    folder = _private_folder(incoming)
    part = _FilePart(folder, limit)
    try:
        parser = MultipartParser(options[b"boundary"], part.callbacks())
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        part.close()
        if part.path is None:
            raise UploadRefused(400, NO_FILE)
        if part.size == 0:
            raise UploadRefused(400, EMPTY)
    except FormParserError:
        part.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise UploadRefused(400, UNREADABLE) from None
    except BaseException:
        part.close()
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return Upload(part.path, part.size)


def discard(upload: Upload) -> None:
    shutil.rmtree(upload.path.parent, ignore_errors=True)


@contextmanager
def _writing(ctx: Context) -> Iterator[Context]:
    """A context sharing the portal's registry, audit trail and keys, with the warehouse opened for writing for
    the length of the block (then closed, so that command-line jobs are not kept from it); a warehouse another
    process is writing is ``WarehouseUnavailable``."""
    for shared in ("keys", "registry", "audit", "runs"):  # made now, so that the copy shares them
        getattr(ctx, shared)
    loading = copy.copy(ctx)
    loading.__dict__.pop("warehouse", None)
    try:
        engine = loading.warehouse
    except (UsageError, duckdb.Error) as exc:
        log.warning("The warehouse could not be opened to load a return sent in the portal: %s", exc)
        raise WarehouseUnavailable(BUSY) from None
    try:
        yield loading
    finally:
        engine.close()


def collect_upload(ctx: Context, upload: Upload, options: Options) -> Receipt:
    """Collect the one file received with ``options`` (whose ``senders`` an account's scope), one load at a time,
    parsed in this process; the file's folder is removed afterwards, whatever happened. (The loader is imported
    on the first upload: the portal starts without it.)"""
    from pupildata.collect.service import collect

    try:
        with _one_load, _writing(ctx) as loading:
            summary = collect(loading, [upload.path], options, workers=0)
    finally:
        discard(upload)
    (receipt,) = summary.receipts
    return receipt


def send(ctx: Context, user: User, upload: Upload) -> Receipt:
    """Collect the file for ``user``: a return from one of its senders, or refused."""
    from pupildata.collect.load import Options

    return collect_upload(ctx, upload, Options(senders=user.scope))


def audit_upload(  # noqa: PLR0917 - the event's parts
    ctx: Context, user: User, upload: Upload, receipt: Receipt, client: str, action: str, corrects: int | None = None
) -> None:
    """The event of a file collected in the portal: who sent it from where, the file, and its receipt; about the
    receipt it corrects, if it was sent as corrections (with how many records joined the return and did not)."""
    about = {
        "from": client, "file": upload.name, "size": upload.size, "sha256": receipt.sha256,
        "receipt": receipt.receipt_id, "outcome": receipt.status,
    }  # fmt: skip
    if corrects is not None:
        about |= {"corrects": corrects, "accepted": receipt.accepted, "quarantined": receipt.quarantined}
    target = corrects if corrects is not None else receipt.receipt_id
    ctx.audit.append(Event(user.actor, action, "receipt", str(target), "data return", about))


def audit_sent(ctx: Context, user: User, upload: Upload, receipt: Receipt, client: str) -> None:
    audit_upload(ctx, user, upload, receipt, client, SENT)


def outcome(receipt: Receipt) -> str:
    """What became of a return, in one sentence for the banner of its receipt."""
    n = f"{receipt.records:,}"
    if receipt.corrects is not None and receipt.status in ("accepted", "partly accepted", "quarantined"):
        return corrected(receipt)
    if receipt.status == "accepted":
        return f"Your return was received and all {n} of its records were accepted."
    if receipt.status == "partly accepted":
        return (
            f"Your return was received: {receipt.accepted:,} of its {n} records were accepted, and "
            f"{receipt.quarantined:,} have errors to correct, listed below."
        )
    if receipt.status == "quarantined":
        return f"Your return was received, but none of its {n} records was accepted: each has errors, listed below."
    if receipt.status == "duplicate":
        return f"This file was received before, as receipt {receipt.duplicate_of}: it was not loaded again."
    return f"Your file was received but refused: {receipt.message}"


def corrected(receipt: Receipt) -> str:
    """What became of a correction, in one sentence: how many records joined the return, how many did not."""
    joined = f"{receipt.accepted:,} {'record was' if receipt.accepted == 1 else 'records were'}"
    still = f"{receipt.quarantined:,} {'is' if receipt.quarantined == 1 else 'are'}"
    return (
        f"Your corrections to receipt {receipt.corrects} were received: {joined} corrected and joined the return, "
        f"and {still} still quarantined{', listed below' if receipt.quarantined else ''}."
    )


__all__ = [
    "BUSY", "EMPTY", "NO_FILE", "SENT", "Upload", "UploadRefused", "audit_sent", "audit_upload", "collect_upload",
    "corrected", "discard", "outcome", "receive_upload", "safe_name", "send", "too_large",
]  # fmt: skip
