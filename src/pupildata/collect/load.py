"""Loading one file: archive it, recognise it, then in ONE warehouse transaction stage it, run its rules, and
write the accepted records, the quarantined ones, the issues and the receipt — or nothing at all.

A crash or a kill at any moment leaves the warehouse as it was before the file: DuckDB's write-ahead log
replays only committed transactions. The archive copy is made (and flushed) before parsing, so the file is never
lost either. An identical file already loaded is recognised by its SHA-256 and not loaded again. A return for
the same collection from the same sender supersedes the earlier one, which stays in the tables (history) but
drops out of the ``_current`` views.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa

from pupildata.collect.archive import Archived, archive_file
from pupildata.collect.census_checks import check_batch
from pupildata.collect.checks import CHECKED, Plan, check, drop_checked, plan
from pupildata.collect.corrections import correctable, mark_duplicates_in_return, resolve
from pupildata.collect.direct import CSV_CHECKED, NotClean, check_rest, facts_clean, read_csv_checked, write_clean
from pupildata.collect.readers import Rejected, Staged, drop_stage
from pupildata.collect.readers.census_xml import Parsed, census_batch, census_files, parse_census, stage_census
from pupildata.collect.readers.csv_reader import drop_rejects, read_csv, restage, rows_set_aside, transcode
from pupildata.collect.readers.parquet import read_parquet
from pupildata.collect.readers.sniff import detect_format, utf16_bom
from pupildata.collect.receipts import LOADED, Receipt, insert_receipt, insert_receipts, next_receipt_id
from pupildata.collect.schemas import CENSUS, Source
from pupildata.collect.scope import SenderRefused, in_scope
from pupildata.collect.warehouse import ISSUE, QUARANTINE, RECEIPT, RULE
from pupildata.kernel.engine import DuckDBEngine, EngineError

#: Set to a file path, a load writes it once its transaction has begun (tests use it to kill a load midway).
LOADING_MARKER_ENV = "PUPILDATA_COLLECT_LOADING_MARKER"
#: The files of a batch being written together, and their receipts (an Arrow table, registered for a statement).
BATCH_FILES = "collect_batch_files"
#: A census batch's records' texts as sent (an Arrow table, registered while the batch is written).
BATCH_TEXTS = "collect_batch_texts"


@dataclass(frozen=True)
class Options:
    source: Source | None = None
    collection: str | None = None
    encoding: str | None = None
    run_id: int | None = None
    #: the receipt whose quarantined records this file corrects (see ``corrections``)
    corrects: int | None = None
    #: the senders a file may be a return from (an account's scope, see ``scope``): a file from any other is
    #: refused as a whole (``FILE-SND-02``) before anything of it is written. None: any sender (the command line).
    senders: tuple[str, ...] | None = None

    def refuses(self, sender: str | None) -> bool:
        """Whether a file from ``sender`` is refused for coming from outside ``senders``."""
        return self.senders is not None and not in_scope(self.senders, sender)


def receive(
    engine: DuckDBEngine, path: Path, archive_root: Path, options: Options, parsed: Parsed | None = None
) -> Receipt:
    """Archive, recognise and load one file; every outcome, refusals included, has a receipt."""
    archived = archive_file(path, archive_root)
    return receive_archived(engine, path, archived, archive_root, options, parsed=parsed)


def receive_archived(
    engine: DuckDBEngine, path: Path, archived: Archived, archive_root: Path, options: Options, *, parsed: Parsed | None
) -> Receipt:
    """Recognise and load one file already archived (``parsed``: its census, if parsed from the archived copy)."""
    base = _base(path, archived, options)
    try:
        identical = _identical(engine, base, options)
        if identical is not None:
            return identical
        return _load(engine, archived, archive_root, base, options=options, parsed=parsed)
    except Rejected as exc:
        return _refused(engine, base, exc)


def receive_census_batch(
    engine: DuckDBEngine, entries: list[tuple[Path, Archived, Parsed]], options: Options, *, threads: int | None = 1
) -> list[Receipt]:
    """Load several census XML files, already archived and parsed: checked together (one statement for the whole
    batch, reading the parsed Arrow tables themselves: no stage table), then written.

    The usual batch — every file readable, new, of a collection that can be told, from a sender no other file of
    the batch is from — is written in ONE transaction, a few statements for all its files (``_write_batch``): a
    crash leaves the warehouse as it was before the batch, so before each of its files, and every file is
    either wholly in the warehouse or not at all. Any other batch, or one whose write fails, is written one file
    per transaction, in order, exactly as ``receive_archived`` would. The checked records are a temporary table,
    which no crash can leave behind. ``threads``: the DuckDB threads of the checking statement (None: the
    warehouse's own number)."""
    files = {n: parsed for n, (_, _, parsed) in enumerate(entries)}
    table, staged = census_batch(files, with_header=False)  # the header's values: once per file (census_files)
    prepared = None
    facts = {}
    texts = None
    if table is not None:  # checked as it is read from the parsed files (not copied into a stage table first)
        # the checking statement of a census batch on one thread while parse workers run, as a second thread
        # only costs CPU (a third more) that they need; on every thread once they are done
        with engine.threads(threads):
            prepared, headers, texts = check_batch(engine, CENSUS.name, table, census_files(files))
        facts = _facts_of_batch(engine, CENSUS, headers, given_collection=options.collection)
        engine.register(BATCH_TEXTS, texts)
    batch = _Batch(entries, staged, facts, prepared, BATCH_TEXTS if texts is not None else None)
    try:
        receipts = None
        if _plain_batch(engine, batch, options):
            try:
                receipts = _write_batch(engine, batch, options)
            except Exception:  # rolled back: then each file gets a transaction of its own, and its own outcome
                receipts = None
        if receipts is None:
            receipts = [_census_file(engine, batch, number, options) for number in range(len(entries))]
    finally:
        if texts is not None:
            engine.unregister(BATCH_TEXTS)
    drop_checked(engine)
    drop_stage(engine)
    return receipts


@dataclass
class _Batch:
    """Census files staged and checked together: each file's stage and facts by its number in the batch."""

    entries: list[tuple[Path, Archived, Parsed]]
    staged: dict[int, Staged]
    facts: dict[int, dict[str, Any]]
    prepared: Plan | None
    #: the relation of the records' texts as sent, when ``collect_checked`` does not hold them
    texts: str | None = None


def _census_file(engine: DuckDBEngine, batch: _Batch, number: int, options: Options) -> Receipt:
    """Write one file of a checked batch in a transaction of its own (or record why it was not loaded)."""
    path, archived, parsed = batch.entries[number]
    staged, facts, prepared = batch.staged, batch.facts, batch.prepared
    base = _base(path, archived, options)
    try:
        identical = _identical(engine, base, options)  # also an earlier file of this batch, committed by now
        if identical is not None:
            return identical
        with engine.transaction():
            _signal_loading()
            if parsed.rejected:
                raise Rejected(*parsed.rejected)
            if staged[number].records == 0:
                raise Rejected("FILE-EMPTY-01", "The file holds no records, only its header.")
            assert prepared is not None
            receipt = _receipt(engine, CENSUS, staged[number], facts[number], base, options=options)
            return _write(engine, CENSUS, prepared, receipt, number, texts=batch.texts)
    except Rejected as exc:
        return _refused(engine, base, exc)


def _plain_batch(engine: DuckDBEngine, batch: _Batch, options: Options) -> bool:
    """Whether every file of the batch will simply be loaded: readable, with records, of a collection that can be
    told, not identical to a file already loaded or to another of the batch, and no two from the same sender for
    the same collection (so that none supersedes another of the batch), and none refused for its sender."""
    entries, staged, facts = batch.entries, batch.staged, batch.facts
    numbers = range(len(entries))
    if batch.prepared is None or any(n not in staged or not staged[n].records or n not in facts for n in numbers):
        return False
    if any(options.refuses(facts[n]["sender"]) for n in numbers):
        return False
    if not options.collection and any(not facts[n]["collection"] for n in numbers):
        return False
    hashes = [archived.sha256 for _, archived, _ in entries]
    returns = {(options.collection or facts[n]["collection"], facts[n]["sender"]) for n in numbers}
    if len(set(hashes)) < len(hashes) or len(returns) < len(hashes):
        return False
    loaded = engine.scalar(
        f"SELECT count(*) FROM {RECEIPT} WHERE list_contains($hashes, sha256) AND status IN {LOADED}",
        {"hashes": hashes},
    )
    return not loaded


def _write_batch(engine: DuckDBEngine, batch: _Batch, options: Options) -> list[Receipt]:
    """Write every file of a plain batch in one transaction: each statement writes all the files' rows, each
    file's under its own receipt; the receipts are returned only once it has committed."""
    src = CENSUS
    entries, staged, facts, prepared = batch.entries, batch.staged, batch.facts, batch.prepared
    assert prepared is not None
    with engine.transaction():
        _signal_loading()
        first = next_receipt_id(engine)
        receipts = [
            _status(
                _receipt(engine, src, staged[n], facts[n], _base(path, archived, options), options=options,
                         receipt_id=first + n)
            )
            for n, (path, archived, _) in enumerate(entries)
        ]  # fmt: skip
        _write_files(engine, src, prepared, dict(enumerate(receipts)), texts=batch.texts)
    return receipts


def _base(path: Path, archived: Archived, options: Options) -> Receipt:
    return Receipt(0, archived.sha256, path.name, archived.size, datetime.now(UTC), "rejected", run_id=options.run_id)


def _identical(engine: DuckDBEngine, base: Receipt, options: Options) -> Receipt | None:
    """The receipt of a file identical to one already loaded (recorded), or None; ``SenderRefused`` when that one
    is a return from a sender outside ``options.senders`` (a copy of another's return is no return of one's own,
    and its receipt would tell of another's)."""
    earlier = engine.fetchone(
        f"SELECT receipt_id, source, collection, sender, sender_name FROM {RECEIPT} WHERE sha256 = $sha "
        f"AND status IN {LOADED} ORDER BY receipt_id LIMIT 1",
        {"sha": base.sha256},
    )
    if earlier is None:
        return None
    if options.refuses(earlier[3]):
        raise SenderRefused(earlier[3], options.senders or ())
    return _record(
        engine,
        base.but(
            status="duplicate",
            duplicate_of=earlier[0],
            source=earlier[1],
            collection=earlier[2],
            sender=earlier[3],
            sender_name=earlier[4],
            message=f"This file is identical to receipt {earlier[0]}; it was not loaded again.",
        ),
    )


def _refused(engine: DuckDBEngine, base: Receipt, exc: Rejected) -> Receipt:
    """The receipt of a refused file, recorded: the rule and the reason, and the sender when it was refused for
    it (so that the receipt is that sender's, not the account's that sent it)."""
    sender = exc.sender if isinstance(exc, SenderRefused) else None
    return _record(engine, base.but(status="rejected", rule_code=exc.code, message=exc.message, sender=sender))


def _record(engine: DuckDBEngine, receipt: Receipt) -> Receipt:
    with engine.transaction():
        final = receipt.but(receipt_id=next_receipt_id(engine))
        insert_receipt(engine, final)
    return final


@dataclass
class _Reading:
    """A file being read: its stage, how to stage it in a table after all (CSV rows set aside), and a transcoded
    copy to remove once it has been read."""

    staged: Staged
    restage: Callable[[], Staged] | None = None
    transcoded: Path | None = None
    #: the file read again as text (a CSV file typed and checked as it was read)
    texts: Callable[[], Staged] | None = None


def _read(
    engine: DuckDBEngine,
    archived: Archived,
    root: Path,
    options: Options,
    parsed: Parsed | None,
    *,
    checked: bool = False,
) -> _Reading:
    """Read a file for its load; ``checked``: a CSV file typed and checked as it is read (the clean load)."""
    fmt = detect_format(archived.head, archived.size)
    path = archived.path
    if fmt == "xml":
        if options.source not in (None, CENSUS):
            raise Rejected("FILE-TYPE-01", "The file is XML, but only school census returns are sent as XML.")
        return _Reading(stage_census(engine, parsed if parsed is not None else parse_census(path)))
    if fmt == "parquet":
        return _Reading(read_parquet(engine, path, options.source))
    encoding = options.encoding or ("utf-16" if utf16_bom(archived.head) else None)
    transcoded = None
    if encoding and encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
        path = transcoded = transcode(path, encoding, root / "incoming")
    elif not archived.is_utf8:
        raise Rejected(
            "FILE-ENC-01",
            f"The file is not UTF-8 text (the byte at position {archived.utf8_error} is not valid UTF-8); save it as "
            "UTF-8 (in Excel: Save As, 'CSV UTF-8') and send it again, or, on the command line, give its encoding, "
            "e.g. --encoding windows-1252.",
        )
    try:
        if checked and (typed := read_csv_checked(engine, path, options.source)) is not None:
            return _Reading(typed, None, transcoded, partial(read_csv, engine, path, typed.source))
        staged = read_csv(engine, path, options.source)
    except BaseException:
        if transcoded is not None:
            os.unlink(transcoded)
        raise
    return _Reading(staged, partial(restage, engine, staged), transcoded)


def _check_read(engine: DuckDBEngine, reading: _Reading) -> Plan:
    """Type and check a file's records: from the query its reader gives (a Parquet file read by the checking
    statement itself; a CSV file's text table), else from the stage table — as for a CSV file whose reading set
    rows aside, staged so that those rows become records too."""
    if reading.staged.format == "csv" and reading.restage is not None and rows_set_aside(engine):
        reading.staged = reading.restage()
    staged = reading.staged
    src = staged.source
    if staged.relation is None:
        return check(engine, src)
    try:
        return check(engine, src, staged.relation, staged.params, by_record=staged.by_record)
    except EngineError as exc:
        if staged.format == "parquet":
            raise Rejected("PQ-01", f"The Parquet file cannot be read: {exc.message[:200]}.") from None
        raise


def _signal_loading() -> None:
    """For the tests that kill a load: a line in the marker file as each loading transaction begins."""
    marker = os.environ.get(LOADING_MARKER_ENV)
    if marker:
        with Path(marker).open("a", encoding="utf-8") as lines:
            lines.write("loading\n")


def _load(
    engine: DuckDBEngine, archived: Archived, root: Path, base: Receipt, *, options: Options, parsed: Parsed | None
) -> Receipt:
    if options.corrects is None and detect_format(archived.head, archived.size) in ("csv", "parquet"):
        with suppress(NotClean):  # rolled back (a CSV row set aside): the file is loaded record by record
            return _load_clean(engine, archived, root, base, options=options)
    return _load_checked(engine, archived, root, base, options=options, parsed=parsed)


def _load_clean(engine: DuckDBEngine, archived: Archived, root: Path, base: Receipt, *, options: Options) -> Receipt:
    """Load a CSV or Parquet file in one pass over its records (see ``direct``): the records failing no rule
    written by the statement that checks them, the others checked again and written by their outcome; raise
    ``NotClean`` — having rolled back — when a key repeats or a CSV row was set aside."""
    with engine.transaction():
        _signal_loading()
        reading = _read(engine, archived, root, options, None, checked=True)
        try:
            staged = reading.staged
            if (staged.relation is None and staged.checked is None) or (
                staged.format == "csv" and rows_set_aside(engine)
            ):
                raise NotClean
            src = staged.source
            try:
                facts = facts_clean(engine, src, staged, given_collection=options.collection)
                if facts["records"] == 0:
                    raise NotClean
                receipt = _receipt(engine, src, staged, facts, base, options=options)
                written = write_clean(engine, src, staged, receipt)
                receipt = check_rest(engine, src, staged, receipt, written, texts=reading.texts)
            except EngineError:
                if staged.format == "parquet":
                    raise NotClean from None  # refused with its reason by the record-by-record load
                raise
            receipt = _write(engine, src, plan(src.name), receipt, 0)
            drop_checked(engine)
            drop_rejects(engine)
            engine.execute(f"DROP TABLE IF EXISTS temp.{CSV_CHECKED}")
        finally:
            if reading.transcoded is not None:
                os.unlink(reading.transcoded)
    return receipt


def _load_checked(
    engine: DuckDBEngine, archived: Archived, root: Path, base: Receipt, *, options: Options, parsed: Parsed | None
) -> Receipt:
    """Load a file record by record: every record checked into ``collect_checked``, then written by its outcome."""
    with engine.transaction():
        _signal_loading()
        reading = _read(engine, archived, root, options, parsed)
        try:
            prepared = _check_read(engine, reading)
        finally:
            if reading.transcoded is not None:
                os.unlink(reading.transcoded)
        src = reading.staged.source
        original = correctable(engine, options.corrects) if options.corrects is not None else None
        if original is not None:
            mark_duplicates_in_return(engine, src, prepared, original)
        facts = _facts(engine, src, given_collection=options.collection)
        if facts["records"] == 0:
            raise Rejected("FILE-EMPTY-01", "The file holds no records, only its header.")
        receipt = _receipt(engine, src, reading.staged, facts, base, options=options)
        if original is not None:
            receipt = receipt.but(
                corrects=original.receipt_id, sender=original.sender, sender_name=original.sender_name
            )
        receipt = _write(engine, src, prepared, receipt, 0)
        drop_checked(engine)
        drop_stage(engine)
        drop_rejects(engine)
    return receipt


def _receipt(
    engine: DuckDBEngine,
    src: Source,
    staged: Staged,
    facts: dict[str, Any],
    base: Receipt,
    *,
    options: Options,
    receipt_id: int | None = None,
) -> Receipt:
    """The receipt of a file about to be written, or a refusal when its collection cannot be told."""
    collection = options.collection or facts["collection"]
    if not collection:
        raise Rejected("FILE-COL-01", "The collection this file belongs to cannot be told from it; give --collection.")
    sender = facts["sender"] if src.sender_field else src.default_sender or None
    if options.refuses(sender):  # before anything of the file is written
        raise SenderRefused(sender, options.senders or ())
    return base.but(
        receipt_id=receipt_id if receipt_id is not None else next_receipt_id(engine),
        source=src.name,
        format=staged.format,
        collection=str(collection),
        sender=str(sender or "unknown"),
        sender_name=staged.header.get("school_name") or facts["provider"],
        notes=" ".join(staged.notes) or None,
        records=facts["records"],
        accepted=facts["accepted"],
        quarantined=facts["quarantined"],
        queried=facts["queried"],
    )


def _facts(engine: DuckDBEngine, src: Source, *, given_collection: str | None) -> dict[str, Any]:
    """In one statement: the file's collection, sender and provider, and how many records fail which kind of rule."""
    collection = (
        "NULL" if given_collection else f"(SELECT {src.collection_sql} FROM {CHECKED} WHERE reader_error IS NULL)"
    )
    sender = (
        f"(SELECT left(string_agg(DISTINCT {src.sender_field}, ',' ORDER BY {src.sender_field}), 200) FROM {CHECKED})"
        if src.sender_field
        else "NULL"
    )
    provider = (
        f"(SELECT left(string_agg(DISTINCT provider_name, ', '), 200) FROM {CHECKED})"
        if "provider_name" in src.names
        else "NULL"
    )
    row = engine.fetchone(
        f"SELECT {collection}, {sender}, {provider}, count(*), count(*) FILTER (WHERE errors = 0), "
        f"count(*) FILTER (WHERE errors <> 0), count(*) FILTER (WHERE errors = 0 AND queries <> 0) FROM {CHECKED}"
    )
    assert row is not None
    names = ("collection", "sender", "provider", "records", "accepted", "quarantined", "queried")
    facts = dict(zip(names, row, strict=True))
    facts["provider"] = str(facts["provider"]) if facts["provider"] else None
    return facts


def _facts_of_batch(
    engine: DuckDBEngine, src: Source, headers: pa.Table, *, given_collection: str | None
) -> dict[int, dict[str, Any]]:
    """``_facts`` of every file of a batch checked by ``census_checks.check_batch``, in one statement: the
    collection and the sender from each file's typed header fields (``headers``, one row per file; the same for
    every record of the file, so the same aggregates as over its records), the counts from its records (a file
    without records has none). Census XML: its reader never sets ``reader_error``."""
    collection = "NULL" if given_collection else src.collection_sql
    sender = f"left(string_agg(DISTINCT {src.sender_field}, ',' ORDER BY {src.sender_field}), 200)"
    engine.register(BATCH_FILES, headers)
    try:
        rows = engine.fetchall(
            f"WITH counts AS (SELECT batch_file, count(*) AS records, count(*) FILTER (WHERE errors = 0) AS accepted, "
            f"count(*) FILTER (WHERE errors <> 0) AS quarantined, "
            f"count(*) FILTER (WHERE errors = 0 AND queries <> 0) AS queried FROM {CHECKED} GROUP BY batch_file), "
            f"named AS (SELECT batch_file, {collection} AS collection, {sender} AS sender FROM {BATCH_FILES} "
            f"GROUP BY batch_file) "
            f"SELECT batch_file, n.collection, n.sender, NULL, c.records, c.accepted, c.quarantined, c.queried "
            f"FROM counts c JOIN named n USING (batch_file)"
        )
    finally:
        engine.unregister(BATCH_FILES)
    names = ("collection", "sender", "provider", "records", "accepted", "quarantined", "queried")
    return {int(row[0]): dict(zip(names, row[1:], strict=True)) for row in rows}


def _status(receipt: Receipt) -> Receipt:
    """The receipt with the status its counts give."""
    status = "accepted" if receipt.quarantined == 0 else "quarantined" if receipt.accepted == 0 else "partly accepted"
    return receipt.but(status=status)


def _write(
    engine: DuckDBEngine, src: Source, prepared: Plan, receipt: Receipt, batch_file: int, *, texts: str | None = None
) -> Receipt:
    """Write a file's records (those of ``batch_file`` in the checked records), quarantine, issues and receipt."""
    final = _status(receipt)
    _write_files(engine, src, prepared, {batch_file: final}, texts=texts)
    return final


def _write_files(
    engine: DuckDBEngine, src: Source, prepared: Plan, receipts: dict[int, Receipt], *, texts: str | None = None
) -> None:
    """Write the records of files checked together — each file's (by its ``batch_file``) under its own receipt:
    accepted records, quarantine and issues, each in one statement for all the files — then the supersession of
    the returns they replace (a correction replaces none: it resolves the quarantine of the receipt it corrects)
    and the receipts. Runs in the caller's transaction. ``texts``: where the records' texts as sent are, by
    ``batch_file`` and ``record_index``, when ``collect_checked`` does not hold them (a census batch)."""
    fields = ", ".join(src.names)
    codes = prepared.code_params()
    files = pa.table(
        {
            "batch_file": pa.array(list(receipts), type=pa.int32()),
            "rid": pa.array([r.receipt_id for r in receipts.values()], type=pa.int64()),
            "collection": pa.array([r.collection for r in receipts.values()], type=pa.string()),
            "sender": pa.array([r.sender for r in receipts.values()], type=pa.string()),
            "supersedes": pa.array([r.corrects is None for r in receipts.values()], type=pa.bool_()),
        }
    )
    of_files = f"FROM {CHECKED} c JOIN {BATCH_FILES} f ON f.batch_file = c.batch_file"
    engine.register(BATCH_FILES, files)
    try:
        if any(r.accepted for r in receipts.values()):
            # each row carries its record number, so the rows need not be written in order: both cores can write
            engine.execute("SET preserve_insertion_order = false")
            try:
                engine.execute(
                    f"INSERT INTO {src.table} (receipt_id, record_index, {fields}, queries) "
                    f"SELECT f.rid, c.record_index, "
                    f"{', '.join('c.' + n for n in src.names)}, {prepared.query_list_sql('c.queries')} "
                    f"{of_files} WHERE c.errors = 0",
                    {"query_codes": codes["query_codes"]},
                )
            finally:
                engine.execute("RESET preserve_insertion_order")
        # the codes of each distinct pair of masks, listed once (not once per record: a tenth of the time when
        # every record fails the same rules); a record the reader could not split has its reader's code instead
        masks = (
            f"WITH m AS (SELECT errors, queries, {prepared.error_list_sql('errors', 'NULL')} AS error_codes, "
            f"{prepared.query_list_sql('queries')} AS query_codes "
            f"FROM (SELECT DISTINCT errors, queries FROM {CHECKED} WHERE errors <> 0 OR queries <> 0)) "
        )
        of_masks = "JOIN m ON m.errors = c.errors AND m.queries = c.queries"
        # the texts as sent: in collect_checked, or joined from where they are (``texts``) for these records only
        sent, of_texts = (
            ("w", f"JOIN {texts} w ON w.batch_file = c.batch_file AND w.record_index = c.record_index")
            if texts
            else ("c", "")
        )
        errors = "CASE WHEN c.reader_error IS NOT NULL THEN [c.reader_error] ELSE m.error_codes END"
        if any(r.quarantined for r in receipts.values()):
            raw = ", ".join(f"'{name}', {sent}.r_{name}" for name in src.names)
            engine.execute(
                f"INSERT INTO {QUARANTINE} (receipt_id, record_index, source, errors, record, raw_line) "
                f"{masks}SELECT f.rid, c.record_index, $source, {errors}, "
                f"CASE WHEN c.reader_error IS NULL THEN json_object({raw}) END, c.raw_line "
                f"{of_files} {of_masks} {of_texts} WHERE c.errors <> 0",
                {"source": src.name, **codes},
            )
        if any(r.quarantined or r.queried for r in receipts.values()):
            value = "CASE r.field " + " ".join(f"WHEN '{n}' THEN c.r_{n}" for n in src.names) + " ELSE c.raw_line END"
            failed = f"list_concat({errors}, coalesce(m.query_codes, []))"
            with_texts = f", {sent}.* EXCLUDE (batch_file, record_index)" if texts else ""
            engine.execute(
                f"INSERT INTO {ISSUE} (receipt_id, record_index, rule_code, severity, field, value) "
                f"{masks}SELECT f.rid, c.record_index, c.code, r.severity, r.field, {value} "
                f"FROM (SELECT c.*{with_texts}, unnest({failed}) AS code FROM {CHECKED} c {of_masks} {of_texts} "
                f"WHERE c.errors <> 0 OR c.queries <> 0) c "
                f"JOIN {BATCH_FILES} f ON f.batch_file = c.batch_file JOIN {RULE} r ON r.code = c.code",
                codes,
            )
        engine.execute(
            f"UPDATE {RECEIPT} SET superseded_by = f.rid FROM {BATCH_FILES} f WHERE f.supersedes "
            f"AND {RECEIPT}.source = $source AND {RECEIPT}.collection = f.collection AND {RECEIPT}.sender = f.sender "
            f"AND {RECEIPT}.superseded_by IS NULL AND {RECEIPT}.status IN {LOADED}",
            {"source": src.name},
        )
    finally:
        engine.unregister(BATCH_FILES)
    for receipt in receipts.values():
        if receipt.corrects is not None:
            resolve(engine, receipt.corrects, receipt.receipt_id)
    insert_receipts(engine, list(receipts.values()))
