"""A file collected with the senders it may be from (``Options.senders``, as the portal collects a sender's file):
a return from any other sender is refused whole with ``FILE-SND-02`` — archived and receipted, nothing of it in
the warehouse — and ``la:NNN`` covers that authority's schools."""

from __future__ import annotations

from pathlib import Path

import pytest

from pupildata.collect import Options, collect
from pupildata.collect.archive import archive_path
from pupildata.collect.catalogue import all_rules
from pupildata.collect.queries import find_receipt
from pupildata.collect.receipts import Receipt
from pupildata.collect.scope import SENDER_RULE, describe, in_scope
from pupildata.kernel.context import Context

FIXTURES = Path(__file__).parent / "fixtures"
SCHOOL_A, SCHOOL_B, NCMP = "census_8742001.xml", "census_8744001.xml", "ncmp_PCT874.csv"
TABLES = {"census": "collect_census", "ncmp": "collect_ncmp"}


def _one(ctx: Context, name: str, senders: tuple[str, ...] | None) -> Receipt:
    (receipt,) = collect(ctx, [FIXTURES / name], Options(senders=senders), workers=0).receipts
    return receipt


def _rows_of(ctx: Context, receipt: Receipt, source: str) -> int:
    """Everything of ``receipt`` in the warehouse: its records, quarantined records and issues."""
    return sum(
        int(ctx.warehouse.scalar(f"SELECT count(*) FROM {table} WHERE receipt_id = $id", {"id": receipt.receipt_id}))
        for table in (TABLES[source], "collect_quarantine", "collect_issue")
    )


def _assert_refused(ctx: Context, receipt: Receipt, sender: str, source: str) -> None:
    assert receipt.status == "rejected"
    assert receipt.rule_code == SENDER_RULE
    assert receipt.sender == sender  # the receipt is the sender's, not the account's
    assert _rows_of(ctx, receipt, source) == 0
    assert archive_path(ctx.settings.archive_dir, receipt.sha256).is_file()  # nothing lost
    found = find_receipt(ctx.registry, receipt.receipt_id)
    assert found is not None
    assert found[0].rule_code == SENDER_RULE


def test_a_census_return_from_another_school_is_refused_whole(context: Context) -> None:
    refused = _one(context, SCHOOL_B, ("8742001",))
    _assert_refused(context, refused, "8744001", "census")
    assert refused.message == "This file is a return from 8744001; your account sends returns for 8742001 only."
    own = _one(context, SCHOOL_A, ("8742001",))
    assert (own.status, own.sender, own.records, own.accepted) == ("partly accepted", "8742001", 8, 3)
    assert _rows_of(context, own, "census") > 0
    assert context.warehouse.scalar("SELECT count(*) FROM collect_census WHERE laestab = '8744001'") == 0


def test_an_authority_sends_its_schools_returns_only(context: Context) -> None:
    assert _one(context, SCHOOL_A, ("la:874",)).status == "partly accepted"
    refused = _one(context, SCHOOL_B, ("la:857", "8572000"))
    _assert_refused(context, refused, "8744001", "census")
    assert refused.message == (
        "This file is a return from 8744001; your account sends returns for the schools of local authority 857 "
        "and 8572000 only."
    )


def test_a_batch_of_census_files_loads_the_own_and_refuses_the_other(context: Context) -> None:
    """Two census files collected together (checked as one batch): each gets its own outcome."""
    summary = collect(context, [FIXTURES / SCHOOL_A, FIXTURES / SCHOOL_B], Options(senders=("8744001",)), workers=0)
    by_file = {r.file_name: r for r in summary.receipts}
    _assert_refused(context, by_file[SCHOOL_A], "8742001", "census")
    assert by_file[SCHOOL_B].status == "accepted"
    assert context.warehouse.scalar("SELECT count(*) FROM collect_census") == by_file[SCHOOL_B].records


@pytest.mark.parametrize(("senders", "loaded"), [(("PCT874",), True), (("la:874",), False), (("8742001",), False)])
def test_a_csv_return_is_checked_against_the_senders_too(
    context: Context, senders: tuple[str, ...], loaded: bool
) -> None:
    """A health area's code is matched only by name: ``la:874`` covers schools (seven digits), not PCT874."""
    receipt = _one(context, NCMP, senders)
    if loaded:
        assert receipt.status in ("accepted", "partly accepted")
        assert receipt.sender == "PCT874"
        assert _rows_of(context, receipt, "ncmp") > 0
    else:
        _assert_refused(context, receipt, "PCT874", "ncmp")


def test_a_copy_of_another_senders_return_is_refused_not_called_a_duplicate(context: Context) -> None:
    assert _one(context, SCHOOL_B, None).status == "accepted"  # the command line: any sender
    copy = _one(context, SCHOOL_B, ("8742001",))
    _assert_refused(context, copy, "8744001", "census")
    assert copy.duplicate_of is None
    again = _one(context, SCHOOL_B, ("la:874",))  # its own: recognised as already received
    assert (again.status, again.sender) == ("duplicate", "8744001")


def test_the_rule_is_in_the_catalogue() -> None:
    rules = {rule["code"]: rule for rule in all_rules()}
    assert rules[SENDER_RULE]["severity"] == "file"


@pytest.mark.parametrize(
    ("scope", "sender", "inside"),
    [(("la:874",), "8744001", True), (("la:874",), "874400", False), (("la:874",), "PCT874", False),
     (("8742001",), "8742001", True), (("8742001",), "8742001,8744001", False), (("8742001",), None, False),
     ((), "8742001", False)],
)  # fmt: skip
def test_what_a_scope_covers(scope: tuple[str, ...], sender: str | None, inside: bool) -> None:
    assert in_scope(scope, sender) is inside


def test_a_scope_is_described_as_a_sentence_says_it() -> None:
    assert describe(["8572000"]) == "8572000"
    assert describe(["8572000", "la:857", "X1"]) == "8572000, the schools of local authority 857 and X1"
