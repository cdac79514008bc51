"""A sender sends its return in the portal (``/returns/send`` and ``POST /api/v1/returns``): collected at once by
the command line's service, its own returns only, a size limit, nothing kept when refused or when the warehouse
is busy, and an event in the audit trail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from pupildata.collect import service
from pupildata.collect.queries import find_receipt
from pupildata.collect.scope import SENDER_RULE
from pupildata.kernel.context import Context
from pupildata.settings import Settings
from pupildata.web import sending
from pupildata.web.accounts import API, Accounts
from tests.web.collect_home import FIXTURES, all_receipts, page_text, sign_in, warehouse_held

OWN, OTHER = "census_8742001.xml", "census_8744001.xml"
REFUSAL = "This file is a return from 8744001; your account sends returns for 8742001 only."


#: the conftest's ``settings`` and ``client``: a 1 MB upload limit, and a school signed in
SETTINGS = {"portal_max_upload_mb": 1}
SIGNED_IN = ("school", "sender", ["8742001"])


def _send(client: TestClient, name: str, content: bytes | None = None, **kwargs: Any) -> Any:
    body = (FIXTURES / name.replace("\\", "/").rsplit("/", 1)[-1]).read_bytes() if content is None else content
    files = {"file": (name, body, "application/xml")}
    return client.post("/returns/send", files=files, follow_redirects=False, **kwargs)


def _census_rows(settings: Settings) -> int:
    with Context(settings) as ctx:
        if not settings.warehouse.is_file() or not ctx.warehouse.table_exists("collect_census"):
            return 0
        return int(ctx.warehouse.scalar("SELECT count(*) FROM collect_census"))


def _kept(settings: Settings) -> list[Path]:
    """Every file left in the home's incoming folder or its archive."""
    return [p for folder in (settings.incoming_dir, settings.archive_dir) if folder.exists()
            for p in folder.rglob("*") if p.is_file()]  # fmt: skip


def test_a_sender_sends_its_own_census_return_and_lands_on_its_receipt(client: TestClient, settings: Settings) -> None:
    returns = client.get("/returns")
    assert 'href="/returns/send"' in returns.text  # a button on "Your returns"
    form = client.get("/returns/send")
    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.text
    assert 'type="file"' in form.text
    assert "up to 1 MB" in form.text
    response = _send(client, "C:\\Users\\office\\..\\" + OWN)
    assert response.status_code == 303
    (receipt,) = all_receipts(settings)
    assert response.headers["location"] == f"/receipts/{receipt.receipt_id}?sent=1"
    assert (receipt.file_name, receipt.sender, receipt.status) == (OWN, "8742001", "partly accepted")
    assert (receipt.records, receipt.accepted, receipt.quarantined) == (8, 3, 5)
    page = page_text(client.get(response.headers["location"]))
    assert "3 of its 8 records were accepted, and 5 have errors to correct" in page
    assert _census_rows(settings) == 3
    assert not list(settings.incoming_dir.iterdir())  # the archive holds the copy
    assert (settings.incoming_dir.stat().st_mode & 0o777) == 0o700
    with Context(settings) as ctx:
        (event,) = [e for e in ctx.audit.events(object_id=str(receipt.receipt_id)) if e.action == sending.SENT]
    detail = json.loads(event.detail)
    assert event.actor == "portal:school"
    assert (detail["file"], detail["size"], detail["sha256"]) == (OWN, (FIXTURES / OWN).stat().st_size, receipt.sha256)
    assert (detail["receipt"], detail["outcome"]) == (receipt.receipt_id, "partly accepted")


def test_another_schools_return_is_refused_on_the_send_page(client: TestClient, settings: Settings) -> None:
    response = _send(client, OTHER)
    assert response.status_code == 400
    assert REFUSAL in page_text(response)
    assert "govuk-error-summary" in response.text
    (receipt,) = all_receipts(settings)
    assert (receipt.status, receipt.rule_code, receipt.sender) == ("rejected", SENDER_RULE, "8744001")
    assert _census_rows(settings) == 0
    assert client.get(f"/receipts/{receipt.receipt_id}").status_code == 404  # not this account's to see
    assert f"/receipts/{receipt.receipt_id}" not in client.get("/returns").text
    with Context(settings) as ctx:
        events = [e for e in ctx.audit.events(object_id=str(receipt.receipt_id)) if e.action == sending.SENT]
    assert json.loads(events[0].detail)["outcome"] == "rejected"


def test_the_same_file_twice_is_recognised_and_not_loaded_again(client: TestClient, settings: Settings) -> None:
    first = _send(client, OWN)
    again = _send(client, "Zoë's copy.xml", (FIXTURES / OWN).read_bytes())  # the same bytes, named otherwise
    assert first.status_code == again.status_code == 303
    newest, loaded = all_receipts(settings)
    assert first.headers["location"] == f"/receipts/{loaded.receipt_id}?sent=1"
    assert (newest.status, newest.duplicate_of, newest.file_name) == ("duplicate", loaded.receipt_id, "Zoë's copy.xml")
    assert again.headers["location"] == f"/receipts/{newest.receipt_id}?sent=1"
    assert "received before" in page_text(client.get(again.headers["location"]))
    assert _census_rows(settings) == 3


@pytest.mark.parametrize("size", [(1 << 20) + 1, 3 << 20])  # streamed past the limit; declared far above it
def test_a_file_over_the_limit_is_refused_and_nothing_kept(client: TestClient, settings: Settings, size: int) -> None:
    response = _send(client, "big.csv", b"x" * size)
    assert response.status_code == 413
    assert "The selected file is larger than 1 MB, the largest file the portal accepts." in page_text(response)
    assert _kept(settings) == []
    assert all_receipts(settings) == []


@pytest.mark.parametrize(
    ("files", "message"),
    [({"file": ("empty.xml", b"", "text/xml")}, sending.EMPTY),
     ({"file": ("", b"", "text/xml")}, sending.NO_FILE), (None, sending.NO_FILE)],
)  # fmt: skip
def test_an_empty_or_missing_file_is_one_sentence(
    client: TestClient, settings: Settings, files: dict[str, Any] | None, message: str
) -> None:
    response = client.post("/returns/send", files=files, data={"other": "x"}, follow_redirects=False)
    assert response.status_code == 400
    assert message in page_text(response)
    assert "govuk-error-summary" in response.text
    assert _kept(settings) == []


def test_only_a_sender_may_send(client: TestClient, settings: Settings) -> None:
    sign_in(client, settings, "stats", "statistician")
    assert client.get("/returns/send").status_code == 403
    assert _send(client, OWN).status_code == 403
    assert 'href="/returns/send"' not in client.get("/returns").text
    assert _kept(settings) == []


def test_a_form_from_another_site_is_refused(client: TestClient, settings: Settings) -> None:
    response = _send(client, OWN, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert _kept(settings) == []


def test_a_busy_warehouse_keeps_nothing_and_asks_to_send_again(client: TestClient, settings: Settings) -> None:
    with Context(settings) as ctx:
        ctx.warehouse  # noqa: B018 - made, so that another process can hold it
    with warehouse_held(settings):
        response = _send(client, OWN)
        assert response.status_code == 503
        assert response.headers["retry-after"]
        assert sending.BUSY in page_text(response)
        assert "Traceback" not in response.text
    assert _kept(settings) == []
    assert all_receipts(settings) == []
    assert _send(client, OWN).status_code == 303  # and once the load is over, the same file is received


def test_the_json_twin_answers_with_the_receipt(client: TestClient, settings: Settings) -> None:
    with Context(settings) as ctx:
        accounts = Accounts(ctx.registry, ctx.keys)
        token = accounts.start(accounts.get("school"), API)
    client.cookies.clear()
    headers = {"Authorization": f"Bearer {token}"}
    sent = client.post("/api/v1/returns", files={"file": (OWN, (FIXTURES / OWN).read_bytes())}, headers=headers)
    assert sent.status_code == 201
    body = sent.json()
    assert (body["file_name"], body["status"], body["accepted"], body["quarantined"]) == (OWN, "partly accepted", 3, 5)
    with Context(settings) as ctx:
        assert find_receipt(ctx.registry, body["receipt_id"]) is not None
    refused = client.post("/api/v1/returns", files={"file": (OTHER, (FIXTURES / OTHER).read_bytes())}, headers=headers)
    assert (refused.status_code, refused.json()["detail"]) == (400, REFUSAL)
    empty = client.post("/api/v1/returns", files={"file": ("x.csv", b"")}, headers=headers)
    assert (empty.status_code, empty.json()["detail"]) == (400, sending.EMPTY)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("census.xml", "census.xml"), ("../../etc/passwd", "passwd"), ("C:\\fakepath\\return.csv", "return.csv"),
     ("bad\x00name\x1b[31m.csv", "badname[31m.csv"), ("..", ""), (" \u1680\u2028 ", ""), ("a/", ""),
     ("é" * 150, "é" * 100)],
)  # fmt: skip
def test_only_a_safe_base_name_is_kept(sent: str, kept: str) -> None:
    assert sending.safe_name(sent) == kept


@given(st.text(max_size=400))
def test_a_kept_name_is_never_a_path_nor_holds_a_control_character(sent: str) -> None:
    kept = sending.safe_name(sent)
    assert "/" not in kept
    assert "\\" not in kept
    assert kept not in (".", "..")
    assert kept.isprintable()
    assert len(kept.encode("utf-8")) <= sending.MAX_NAME
    assert kept == kept.strip()


def test_a_form_that_cannot_be_read_is_one_sentence(client: TestClient, settings: Settings) -> None:
    headers = {"Content-Type": "multipart/form-data; boundary=xyz"}
    response = client.post("/returns/send", content=b"--abc\r\nnot the boundary\r\n", headers=headers)
    assert response.status_code == 400
    assert sending.UNREADABLE in page_text(response)
    endless = b"--xyz\r\nContent-Disposition: form-data; name=file; filename=" + b"a" * (sending.MAX_HEADER + 1)
    response = client.post("/returns/send", content=endless + b"\r\n\r\nabc\r\n--xyz--\r\n", headers=headers)
    assert response.status_code == 400
    assert sending.UNREADABLE in page_text(response)
    assert _kept(settings) == []


def test_one_upload_loads_at_a_time_parsed_in_the_servers_own_process(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``collect`` runs under the process's lock, with no parse workers, on the one file sent, with the account's
    senders as the only ones it may be from."""
    seen: list[tuple[bool, Any, Any, list[str]]] = []
    real = service.collect

    def watched(ctx: Context, paths: list[Path], options: Any, **kwargs: Any) -> Any:
        seen.append((sending._one_load.locked(), kwargs.get("workers"), options.senders, [p.name for p in paths]))
        return real(ctx, paths, options, **kwargs)

    monkeypatch.setattr(service, "collect", watched)
    assert _send(client, OWN).status_code == 303
    assert seen == [(True, 0, ("8742001",), [OWN])]
    assert not sending._one_load.locked()


def test_a_file_refused_before_its_sender_is_known_is_shown_on_the_send_page(
    client: TestClient, settings: Settings
) -> None:
    """Its receipt names no sender, so it is not the account's to see: the reason is on the send page."""
    response = _send(client, "notes.csv", b"abc\n1\n")
    assert response.status_code == 400
    assert "The columns (abc) are not those of any return this service takes" in page_text(response)
    (receipt,) = all_receipts(settings)
    assert (receipt.status, receipt.sender) == ("rejected", None)
    assert not list(settings.incoming_dir.iterdir())
