"""The pages in headless Chromium over the demo's world: entries, products, jobs, parties, adapters (issue 17)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from .conftest import ROOT, Tab

pytestmark = [pytest.mark.server, pytest.mark.slow, pytest.mark.node]

AUTHORIZED = "NW7-2506001-4"
IMPORTER_MISMATCH = "PR4-2506004-9"
JACKET, TROUSERS = "00614141100019", "00614141100026"


def _no_axe_violations(tab: Tab) -> None:
    assert tab.axe() == []


def test_officer_looks_up_a_refused_entry_and_sees_reason_and_evidence(tab: Tab) -> None:
    tab.go("/ui/login")
    tab.shot("login")
    _no_axe_violations(tab)
    tab.login("officer")
    tab.go("/ui/")
    tab.page.keyboard.press("Tab")
    assert tab.page.evaluate("document.activeElement.textContent") == "Skip to content"
    tab.shot("entries")
    _no_axe_violations(tab)
    tab.page.fill("#number", IMPORTER_MISMATCH)
    tab.page.click("text=Show verdict")
    tab.page.wait_for_url(f"**/ui/entries/{IMPORTER_MISMATCH}")
    assert "not authorized" in tab.page.inner_text("h1")
    line = tab.page.locator("details.line.not_authorized").first
    assert not line.evaluate("d => d.open")
    line.locator("summary").click()
    assert line.evaluate("d => d.open")
    text = line.inner_text()
    assert "IMPORTER_MISMATCH" in text
    assert "invoice buyer northwind is not the importer of record pacific-rim" in text
    # The invoice step's credential and its Fabric evidence: ledger, block height, transaction, attesting orgs.
    evidence = line.locator("table.evidence", has_text="fabric").first
    ev = evidence.inner_text()
    assert re.search(r"fabric:[0-9a-f]{16}", ev)
    assert "SummitMSP" in ev
    assert "SummitLogisticsMSP" in ev
    assert "signed validation attestations; checked 20" in ev
    tab.shot("entry-refused")
    tab.shot("entry-refused-top", full_page=False)
    _no_axe_violations(tab)


def test_re_verify_swaps_in_the_pipeline_checks_and_raw_links_to_json(tab: Tab) -> None:
    tab.login("officer")
    tab.go(f"/ui/entries/{AUTHORIZED}")
    line = tab.page.locator("details.line.authorized").first
    line.locator("summary").click()
    cred = line.locator(".cred", has_text="CommercialInvoiceCredential").first
    with tab.page.expect_response("**/ui/credential/verify") as response:
        cred.get_by_role("button", name="Re-verify now").click()
    assert response.value.status == 200
    result = cred.locator(".reverify")
    result.locator("text=Re-verified at").wait_for()
    assert "verified" in result.locator(".badge").first.inner_text()
    assert "evidence verified" in result.inner_text()
    assert tab.page.url.endswith(f"/ui/entries/{AUTHORIZED}")  # swapped in place by htmx, no navigation
    tab.shot("entry-reverified")
    href = cred.get_by_role("link", name="Raw credential (JSON)").get_attribute("href")
    raw = tab.page.request.get(tab.site.url + href)
    assert raw.headers["content-type"] == "application/json"
    assert "CommercialInvoiceCredential" in raw.json()["type"]
    cred.locator("dd a").first.click()
    tab.page.wait_for_url("**/ui/credential?id=*")
    assert "CommercialInvoiceCredential" in tab.page.inner_text("pre.json")
    tab.shot("credential")
    _no_axe_violations(tab)


def test_product_page_shows_the_verified_image_and_refuses_the_tampered_one(tab: Tab) -> None:
    tab.login("officer")
    tab.go(f"/ui/products/{JACKET}")
    assert "Owned by acme" in tab.page.inner_text("main")
    assert "TMK 25-00101" in tab.page.inner_text("main")
    licences = tab.page.locator("table", has_text="Licensee").inner_text()
    assert "Dongguan Summit Garment Co." in licences
    assert "US, CA" in licences
    image = tab.page.locator(".media img").first
    image.wait_for()
    assert image.evaluate("img => img.complete && img.naturalWidth") == 240
    assert "model/gltf+json file" in tab.page.inner_text(".media")
    tab.shot("product-verified")
    _no_axe_violations(tab)

    tab.go(f"/ui/products/{TROUSERS}")
    assert tab.page.locator(".media img").count() == 0
    refused = tab.page.locator(".media .refused").inner_text()
    assert "Refused" in refused
    assert "the stored bytes do not match the registered digest" in refused
    tab.shot("product-tampered")
    # The media route itself refuses the swapped bytes too.
    registration = tab.page.locator("#media-h ~ p a").first.get_attribute("href")
    credential_id = registration.split("id=", 1)[1]
    swapped = tab.page.request.get(f"{tab.site.url}/ui/media?credential={credential_id}&index=0")
    assert swapped.status == 404


def _entries(count: int) -> str:
    rows = [json.loads(line) for line in (ROOT / "examples/ipr_three_ledgers/entries.jsonl").read_text().splitlines()]
    out = []
    for i in range(count):
        row = dict(rows[i % len(rows)])
        row["entryNumber"] = f"UI{i:05d}-{row['entryNumber']}"
        out.append(json.dumps(row))
    return "\n".join(out)


def test_an_analysts_job_progress_moves_and_rows_lead_to_entry_pages(tab: Tab) -> None:
    tab.login("analyst")
    tab.go("/ui/jobs")
    _no_axe_violations(tab)
    total = 1500
    tab.page.fill("#entries", _entries(total))
    tab.page.click("text=Start job")
    tab.page.wait_for_url("**/ui/jobs/*")
    tab.page.locator("#reload").wait_for(state="visible", timeout=180_000)
    seen = [int(x) for x in tab.page.locator("#updates li").evaluate_all("els => els.map(e => e.dataset.done)")]
    assert seen == sorted(seen)
    assert seen[-1] == total
    assert any(0 < n < total for n in seen), seen  # the bar moved through intermediate values
    assert tab.page.locator("#bar").evaluate("b => [b.value, b.max]") == [total, total]
    tab.shot("job-progress")
    tab.page.click("#reload a")
    tab.shot("job-verdicts", full_page=False)
    _no_axe_violations(tab)
    rows = tab.page.locator("table", has_text="Verdict").locator("tbody tr")
    assert rows.count() == 500  # a page of rows
    assert f"Rows 1–500 of {total}" in tab.page.inner_text("main")
    tab.page.get_by_role("link", name="Next page").click()
    tab.page.wait_for_url("**?page=2")
    assert rows.count() == 500
    assert rows.first.locator("td").first.inner_text() == "501"
    tab.page.get_by_role("link", name="Previous page").click()
    tab.page.wait_for_url("**?page=1")
    assert "Signed VerificationReport" in tab.page.inner_text("main")
    tab.page.locator(f"a:text-is('UI00003-{IMPORTER_MISMATCH}')").click()
    tab.page.wait_for_url("**/ui/jobs/*/rows/4")
    assert f"Entry UI00003-{IMPORTER_MISMATCH}" in tab.page.inner_text("h1")
    assert "IMPORTER_MISMATCH" in tab.page.inner_text("main")
    assert "in job job-" in tab.page.inner_text("main")


def test_the_signed_report_downloads_from_the_job_page(tab: Tab) -> None:
    tab.login("analyst")
    tab.go("/ui/jobs")
    tab.page.locator("table a").first.click()
    tab.page.wait_for_url("**/ui/jobs/*")
    href = tab.page.get_by_role("link", name="Signed VerificationReport (JSON)").get_attribute("href")
    report: dict[str, Any] = tab.page.request.get(tab.site.url + href).json()
    assert "VerificationReport" in " ".join(report["type"])
    assert report["proof"]["cryptosuite"] == "eddsa-jcs-2022"


def test_an_officer_cannot_start_a_job(tab: Tab) -> None:
    tab.login("officer")
    tab.go("/ui/jobs")
    assert tab.page.locator("#entries").count() == 0
    assert "analysts start them" in tab.page.inner_text("main")
    tab.shot("jobs-officer")
    # Even a hand-made request with the officer's own session and CSRF token is refused.
    token = tab.page.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = tab.page.request.post(
        tab.site.url + "/ui/jobs", form={"csrf_token": token, "entries": _entries(1), "format": "jsonl"}
    )
    assert refused.status == 403
    assert "may not start jobs" in refused.text()


def test_parties_and_adapters_for_an_admin(tab: Tab) -> None:
    tab.login("admin")
    tab.go("/ui/parties")
    parties = tab.page.inner_text("table")
    assert "acme" in parties
    assert "fabric-msp" in parties or "fabric" in parties
    assert "ethereum" in parties
    tab.shot("parties")
    _no_axe_violations(tab)
    tab.go("/ui/adapters")
    adapters = tab.page.locator("table").first.inner_text()
    for plugin in ("plain-ledger", "ethereum", "fabric"):
        assert plugin in adapters
    assert tab.page.get_by_role("button", name="Sync every adapter now").count() == 1
    assert "No quarantined records." in tab.page.inner_text("main")
    # A record sync set aside shows with its adapter, locator and reason.
    from vcgate.gateway._store import quarantine_table

    with tab.site.app.state.wiring.store.db.transaction() as conn:
        conn.execute(
            quarantine_table.insert().values(
                adapter="fabric", locator="9/0/summit-trade/kv/invoice~BAD", ledger_id="fabric:0", stage="translate",
                code="MAPPING_FAILED", reason="itemCount is not a number", first_seen="2026-01-01T00:00:00Z",
                last_tried="2026-01-02T00:00:00Z", attempts=2,
            )
        )  # fmt: skip
    tab.go("/ui/adapters")
    quarantined = tab.page.locator("table", has_text="Records sync could not store").inner_text()
    assert "invoice~BAD" in quarantined
    assert "MAPPING_FAILED: itemCount is not a number" in quarantined
    tab.shot("adapters")
    _no_axe_violations(tab)


def test_an_admin_registers_a_party_from_the_page(tab: Tab) -> None:
    from vcgate.gateway import KeyPair

    tab.login("admin")
    tab.go("/ui/parties")
    assert tab.page.title() == "Parties · vcgate"  # the form is in the page, once, never in its title
    assert tab.page.locator("#party").count() == 1
    tab.page.fill("#party", "{not json")
    tab.page.click("text=Save party")
    assert "not JSON" in tab.page.locator("[role=alert]").inner_text()
    assert tab.page.input_value("#party") == "{not json"  # the draft is kept for correction
    # The refused form's 400 answer is the one console message the browser logs for it.
    assert [e for e in tab.errors if "status of 400" in e] == tab.errors
    tab.errors.clear()
    document = {
        "id": "ui-broker",
        "did": KeyPair.generate("ed25519").controller,
        "names": ["UI Customs Brokerage"],
        "identifiers": [{"scheme": "filer-code", "value": "UIB"}],
    }
    tab.page.fill("#party", json.dumps(document))
    tab.page.click("text=Save party")
    tab.page.wait_for_url("**/ui/parties")
    row = tab.page.locator("tr", has_text="ui-broker").inner_text()
    assert "UI Customs Brokerage" in row
    assert "filer-code UIB" in row


def test_an_analyst_cannot_register_a_party(tab: Tab) -> None:
    tab.login("analyst")
    tab.go("/ui/parties")
    assert tab.page.locator("#party").count() == 0
    token = tab.page.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = tab.page.request.post(tab.site.url + "/ui/parties", form={"csrf_token": token, "party": "{}"})
    assert refused.status == 403
    assert "may not manage parties" in refused.text()


def test_a_pasted_entry_is_verified_now_without_recording_claims(tab: Tab) -> None:
    rows = [json.loads(line) for line in (ROOT / "examples/ipr_three_ledgers/entries.jsonl").read_text().splitlines()]
    pasted = dict(rows[0], entryNumber="PASTE-0001")
    tab.login("officer")
    tab.page.fill("#entry", json.dumps(pasted))
    tab.page.click("text=Verify now")
    tab.page.wait_for_url("**/ui/entries/check")
    heading = tab.page.inner_text("h1")
    assert "PASTE-0001" in heading
    # The invoice's 1,200 units are already claimed by the demo's entries (800 + 500): 800 more exceed it.
    assert tab.page.locator("h1 .badge").inner_text() == "not authorized"
    assert "QUANTITY_EXCEEDS_INVOICE" in tab.page.inner_text("main")
    assert "verified just now; not stored" in tab.page.inner_text("main")
    # Read-only: nothing was stored under that number.
    assert tab.page.request.get(tab.site.url + "/ui/entries/PASTE-0001").status == 404


def test_an_interrupted_job_is_resumed_by_an_analyst(tab: Tab) -> None:
    from datetime import UTC, datetime

    from vcgate.gateway._jobs import create_job, read_entry_file

    # A job created but never run here: what a gateway restart leaves behind.
    app = tab.site.app
    rows = read_entry_file("entries.jsonl", _entries(40).replace("UI", "RESUME").encode())
    create_job(
        app.state.wiring.store,
        rows,
        app.state.ctx.settings.policy,
        job_id="ui-interrupted",
        checked_at=datetime.now(UTC),
        source="test",
    )
    tab.login("officer")
    tab.go("/ui/jobs/ui-interrupted")
    assert tab.page.locator("#state").inner_text() == "interrupted"
    assert "was interrupted" in tab.page.locator("[role=alert]").inner_text()
    assert tab.page.get_by_role("button", name="Resume the job").count() == 0  # officers read only
    tab.page.get_by_role("button", name="Log out").click()
    tab.page.wait_for_url("**/ui/login")
    tab.login("analyst")
    tab.go("/ui/jobs/ui-interrupted")
    tab.page.get_by_role("button", name="Resume the job").click()
    tab.page.wait_for_url("**/ui/jobs/ui-interrupted")
    tab.page.locator("#reload").wait_for(state="visible", timeout=60_000)
    assert tab.page.locator("#count").inner_text() == "40 of 40"
    assert tab.page.locator("#state").inner_text() == "finished"
