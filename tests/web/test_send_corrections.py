"""A school sends its corrections in the portal (``/receipts/{id}/corrections`` and its JSON twin): the quarantine
CSV it downloaded, with the values corrected, collected at once as a correction of its receipt — the command
line's ``--corrects`` — its own receipts only, nothing kept when refused or when the warehouse is busy, and an
event in the audit trail."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pupildata.collect import service
from pupildata.collect.queries import find_receipt
from pupildata.kernel.context import Context
from pupildata.kernel.identifiers import upn_check_letter
from pupildata.settings import Settings
from pupildata.web import correcting, sending
from pupildata.web.accounts import API, Accounts
from tests.web.collect_home import FIXTURES, all_receipts, kept_uploads, page_text, sign_in, warehouse_held

OWN, OTHER = "census_8742001.xml", "census_8744001.xml"
#: Patel's UPN has a wrong check letter; Green's ethnicity is no code. Smith and Smyth share a UPN, and White's
#: year does not fit their date of birth: left as they were.
PATEL_UPN = upn_check_letter("874200103003") + "874200103003"


#: the conftest's ``settings`` and ``client``: a 1 MB upload limit, and a school signed in
SETTINGS = {"portal_max_upload_mb": 1}
SIGNED_IN = ("school", "sender", ["8742001"])


def _sent(client: TestClient, name: str = OWN) -> int:
    """Send a census return in the portal; the number of its receipt."""
    response = client.post(
        "/returns/send", files={"file": (name, (FIXTURES / name).read_bytes())}, follow_redirects=False
    )
    assert response.status_code == 303
    return int(response.headers["location"].split("/")[2].split("?")[0])


def _quarantined(client: TestClient, receipt_id: int) -> list[dict[str, str]]:
    response = client.get(f"/receipts/{receipt_id}/quarantine.csv")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.text)))


def _csv(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def _fixed(client: TestClient, receipt_id: int) -> bytes:
    """The receipt's quarantined records, downloaded, with Patel's UPN and Green's ethnicity corrected."""
    rows = _quarantined(client, receipt_id)
    by_name = {row["Surname"]: row for row in rows}
    by_name["Patel"]["UPN"] = PATEL_UPN
    by_name["Green"]["Ethnicity"] = "WBRI"
    return _csv(rows)


def _correct(client: TestClient, receipt_id: int | str, body: bytes, **kwargs: Any) -> Any:
    files = {"file": ("fixed.csv", body, "text/csv")}
    return client.post(f"/receipts/{receipt_id}/corrections", files=files, follow_redirects=False, **kwargs)


def test_a_school_corrects_its_quarantined_records_and_lands_on_the_new_receipt(
    client: TestClient, settings: Settings
) -> None:
    original = _sent(client)
    page = client.get(f"/receipts/{original}")
    assert f'href="/receipts/{original}/corrections"' in page.text  # "Send corrections"
    form = client.get(f"/receipts/{original}/corrections")
    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.text
    assert 'type="file"' in form.text
    assert "the same columns" in page_text(form)
    response = _correct(client, original, _fixed(client, original))
    assert response.status_code == 303
    newest = all_receipts(settings)[0]
    assert response.headers["location"] == f"/receipts/{newest.receipt_id}?sent=1"
    assert (newest.corrects, newest.sender, newest.records, newest.accepted, newest.quarantined) == (
        original, "8742001", 5, 2, 3,
    )  # fmt: skip
    banner = page_text(client.get(response.headers["location"]))
    assert "Corrections received" in banner
    assert "2 records were corrected and joined the return, and 3 are still quarantined" in banner
    with Context(settings) as ctx:
        joined = ctx.warehouse.fetchall(
            "SELECT lower(surname) FROM collect_census WHERE receipt_id = ? ORDER BY 1", [newest.receipt_id]
        )
        still = ctx.warehouse.fetchall(
            "SELECT record_index, errors FROM collect_quarantine WHERE receipt_id = ? ORDER BY 1", [newest.receipt_id]
        )
        resolved = ctx.warehouse.scalar(
            "SELECT count(*) FROM collect_quarantine WHERE receipt_id = ? AND resolved_by = ?",
            [original, newest.receipt_id],
        )
        assert ctx.warehouse.scalar("SELECT count(*) FROM collect_census_current") == 3 + 2
    assert joined == [("green",), ("patel",)]
    assert [codes for _, codes in still] == [["CEN-UPN-06"], ["CEN-UPN-06"], ["CEN-NCY-08"]]
    assert resolved == 5
    before = page_text(client.get(f"/receipts/{original}"))
    assert f'href="/receipts/{original}/corrections"' not in before  # no longer offered: it says what is left
    assert f"already corrected by receipt {newest.receipt_id}" in before
    assert f'href="/receipts/{newest.receipt_id}/corrections"' in client.get(f"/receipts/{newest.receipt_id}").text
    assert not list(settings.incoming_dir.iterdir())
    with Context(settings) as ctx:
        (event,) = [e for e in ctx.audit.events(object_id=str(original)) if e.action == correcting.CORRECTED]
    detail = json.loads(event.detail)
    assert event.actor == "portal:school"
    assert (detail["receipt"], detail["corrects"], detail["outcome"]) == (
        newest.receipt_id,
        original,
        "partly accepted",
    )
    assert (detail["accepted"], detail["quarantined"], detail["file"]) == (2, 3, "fixed.csv")


def test_what_cannot_be_a_correction_is_one_sentence_on_the_form(client: TestClient, settings: Settings) -> None:
    original = _sent(client)
    without_upn = [{k: v for k, v in row.items() if k != "UPN"} for row in _quarantined(client, original)]
    wrong = _correct(client, original, _csv(without_upn))
    assert wrong.status_code == 400
    assert "govuk-error-summary" in wrong.text
    assert "This was sent as a school census (xml) return, but the column UPN is missing." in page_text(wrong)
    fixed = _fixed(client, original)  # the wrong file did not correct the receipt: it can still be downloaded
    assert _correct(client, original, fixed).status_code == 303
    count = len(all_receipts(settings))
    again = _correct(client, original, fixed)
    assert again.status_code == 400
    assert f"were already corrected by receipt {all_receipts(settings)[0].receipt_id}" in page_text(again)
    assert len(all_receipts(settings)) == count  # nothing kept
    assert kept_uploads(settings) == []
    form = page_text(client.get(f"/receipts/{original}/corrections"))
    assert "already corrected by receipt" in form
    assert 'type="file"' not in form


def test_records_of_another_school_are_refused_on_the_form(client: TestClient, settings: Settings) -> None:
    """The file corrects the school's own receipt, but its records say they are another school's: refused whole."""
    original = _sent(client)
    rows = _quarantined(client, original)
    for row in rows:
        row["LAESTAB"] = "8744001"
    response = _correct(client, original, _csv(rows))
    assert response.status_code == 400
    assert "This file is a return from 8744001; your account sends returns for 8742001 only." in page_text(response)
    with Context(settings) as ctx:
        assert ctx.warehouse.scalar("SELECT count(*) FROM collect_quarantine WHERE resolved_by IS NOT NULL") == 0
    assert f'href="/receipts/{original}/corrections"' in client.get(f"/receipts/{original}").text  # still to do


def test_another_schools_receipt_is_not_found(client: TestClient, settings: Settings) -> None:
    with Context(settings) as ctx:
        (other,) = service.collect(ctx, [FIXTURES / OTHER], service.Options(), workers=0).receipts
    assert other.quarantined or other.status == "accepted"
    assert client.get(f"/receipts/{other.receipt_id}/corrections").status_code == 404
    response = _correct(client, other.receipt_id, b"UPN\nA1\n")
    assert response.status_code == 404
    assert client.get("/receipts/x/corrections").status_code == 404
    assert len(all_receipts(settings)) == 1
    assert kept_uploads(settings) == []


def test_only_a_sender_may_send_corrections(client: TestClient, settings: Settings) -> None:
    original = _sent(client)
    fixed = _fixed(client, original)
    sign_in(client, settings, "stats", "statistician")
    page = client.get(f"/receipts/{original}")
    assert page.status_code == 200
    assert f'href="/receipts/{original}/corrections"' not in page.text
    assert f"--corrects {original}" in page.text  # the command line's way, for the department
    assert client.get(f"/receipts/{original}/corrections").status_code == 403
    assert _correct(client, original, fixed).status_code == 403
    assert len(all_receipts(settings)) == 1
    assert kept_uploads(settings) == []


def test_corrections_from_another_site_are_refused(client: TestClient, settings: Settings) -> None:
    original = _sent(client)
    response = _correct(client, original, _fixed(client, original), headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert len(all_receipts(settings)) == 1
    assert kept_uploads(settings) == []


def test_a_busy_warehouse_keeps_nothing_and_asks_to_send_again(client: TestClient, settings: Settings) -> None:
    original = _sent(client)
    fixed = _fixed(client, original)
    with warehouse_held(settings):
        response = _correct(client, original, fixed)
        assert response.status_code == 503
        assert response.headers["retry-after"]
        assert sending.BUSY in page_text(response)
        assert "Traceback" not in response.text
    assert len(all_receipts(settings)) == 1
    assert kept_uploads(settings) == []
    with Context(settings) as ctx:
        assert not [e for e in ctx.audit.events(object_id=str(original)) if e.action == correcting.CORRECTED]
    assert _correct(client, original, fixed).status_code == 303  # once the load is over, the same file is taken


def test_corrections_are_collected_as_the_command_line_collects_them(
    client: TestClient, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``collect`` runs under the one-load lock, in the server's process, on the one file, as a correction of the
    receipt and with the account's senders as the only ones its records may be from."""
    original = _sent(client)
    seen: list[tuple[bool, Any, Any, Any]] = []
    real = service.collect

    def watched(ctx: Context, paths: list[Path], options: Any, **kwargs: Any) -> Any:
        seen.append((sending._one_load.locked(), kwargs.get("workers"), options.corrects, options.senders))
        return real(ctx, paths, options, **kwargs)

    monkeypatch.setattr(service, "collect", watched)
    assert _correct(client, original, _fixed(client, original)).status_code == 303
    assert seen == [(True, 0, original, ("8742001",))]


def test_the_json_twin_answers_with_the_new_receipt(client: TestClient, settings: Settings) -> None:
    original = _sent(client)
    fixed = _fixed(client, original)
    with Context(settings) as ctx:
        accounts = Accounts(ctx.registry, ctx.keys)
        token = accounts.start(accounts.get("school"), API)
    client.cookies.clear()
    headers = {"Authorization": f"Bearer {token}"}
    url = f"/api/v1/receipts/{original}/corrections"
    sent = client.post(url, files={"file": ("fixed.csv", fixed)}, headers=headers)
    assert sent.status_code == 201
    body = sent.json()
    assert (body["status"], body["accepted"], body["quarantined"]) == ("partly accepted", 2, 3)
    with Context(settings) as ctx:
        found = find_receipt(ctx.registry, body["receipt_id"])
    assert found is not None
    assert found[0].corrects == original
    again = client.post(url, files={"file": ("fixed.csv", fixed)}, headers=headers)
    assert again.status_code == 400
    assert "already corrected" in again.json()["detail"]
    assert (
        client.post("/api/v1/receipts/999/corrections", files={"file": ("f.csv", fixed)}, headers=headers).status_code
        == 404
    )
