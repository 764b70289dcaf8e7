"""`vcgate demo --workflow NAME`: one commodity scenario (examples/commodities) on a real plain ledger served by
uvicorn and a second ledger kind (a Fabric channel or EAS on anvil), synced through the real adapters, run as a job
under the shipped workflow; the verdicts are compared with tests/workflows/expected.yaml, the table written
independently of the demo (and of the copy it ships)."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from vcgate.gateway._demo import DemoError
from vcgate.gateway._demo_commodities import COMMODITY_DIR, run_commodities
from vcgate.gateway._store import Store

ROOT = Path(__file__).resolve().parents[2]
EXPECTED: dict[str, dict[str, list[str]]] = yaml.safe_load((ROOT / "tests" / "workflows" / "expected.yaml").read_text())
CLI = [sys.executable, "-c", "from vcgate.gateway.cli import main; main()", "demo"]


def _run(*args: str) -> Any:
    import subprocess

    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=240, check=False)


def test_the_shipped_expected_table_agrees_with_the_independent_one() -> None:
    shipped = yaml.safe_load((COMMODITY_DIR / "expected.yaml").read_text())
    assert {w: {e: row[:3] for e, row in t.items()} for w, t in shipped.items()} == EXPECTED
    assert all(len(row) == 4 and row[3] for t in shipped.values() for row in t.values())


@pytest.mark.server
def test_demo_workflow_steel_prints_one_table_with_each_verdict_and_reason(tmp_path: Path) -> None:
    proc = _run("--workflow", "steel", "--workdir", str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "Workflow steel (plain ledger + Fabric)" in out
    assert "Entries verified across three ledgers" not in out  # the IPR run (anvil, Fabric) did not start
    assert "all 6 entries got the expected verdict for the right reason" in out
    rows = [ln for ln in out.splitlines() if ln.startswith("│ STL-")]
    assert [r.split("│")[1].strip() for r in rows] == list(EXPECTED["steel"])
    for row in rows:
        entry, verdict = (c.strip() for c in row.split("│")[1:3])
        assert verdict == EXPECTED["steel"][entry][0]
    assert max(len(ln) for ln in out.splitlines() if ln.startswith(("│", "┃", "┏", "└"))) <= 80


@pytest.mark.server
def test_demo_workflow_steel_json_names_the_workflow_of_every_entry(tmp_path: Path) -> None:
    proc = _run("--workflow", "steel", "--json", "--keep", "--workdir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(proc.stdout)
    assert doc["workflows"] == ["steel"]
    assert doc["report"] is None  # the signed report is the IPR run's
    got = {e["entry"]: e for e in doc["entries"]}
    assert set(got) == set(EXPECTED["steel"])
    for entry, (verdict, reason, clause) in EXPECTED["steel"].items():
        e = got[entry]
        assert (e["workflow"], e["verdict"], e["reasons"][0], e["clause"]) == ("steel", verdict, reason, clause)
        assert e["ok"] is True
    ledgers = doc["commodityLedgers"]["steel"]
    assert ledgers["ledgerId"].startswith("plain:")
    # The broker's CBP 7501 entry summaries live on a Fabric channel (two TLS gRPC test peers), the rest on the
    # plain ledger: each credential's evidence names its ledger.
    assert ledgers["fabric"]["ledgerId"].startswith("fabric:")
    store = Store.open(f"sqlite:///{tmp_path / 'run' / 'commodities' / 'steel' / 'vcgate.sqlite'}")
    try:
        ids = store.credential_ids([("type", "CBP7501EntrySummaryCredential")])
        assert len(ids) == len(EXPECTED["steel"])
        kinds = {c.document["evidence"][0]["ledgerId"] for c in store.credentials(ids).values()}
        assert kinds == {ledgers["fabric"]["ledgerId"]}
        others = store.credential_ids([("type", "MillTestReportCredential")])
        assert {c.document["evidence"][0]["ledgerId"] for c in store.credentials(others).values()} == {
            ledgers["ledgerId"]
        }
    finally:
        store.close()


@pytest.mark.server
def test_a_commodity_verdict_that_differs_from_the_table_is_a_mismatch(tmp_path: Path) -> None:
    folder = tmp_path / "commodities"
    shutil.copytree(COMMODITY_DIR, folder)
    table = yaml.safe_load((folder / "expected.yaml").read_text())
    table["timber"]["TMB-0003"] = ["authorized", "AUTHORIZED", "rule:chain-complete", "wrongly labelled"]
    (folder / "expected.yaml").write_text(yaml.safe_dump(table))
    entries, _ = run_commodities(["timber"], tmp_path / "run", lambda _m: None, folder=folder)
    wrong = [e for e in entries if not e.ok]
    assert [(e.entry, e.verdict, e.reasons[0]) for e in wrong] == [("TMB-0003", "not_authorized", "SPECIES_MISMATCH")]


def test_an_unknown_workflow_is_refused_with_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(DemoError, match="no commodity scenario for workflow 'sugar' \\(have: steel, natural-gas"):
        run_commodities(["sugar"], tmp_path, lambda _m: None)
    proc = _run("--workflow", "sugar", "--workdir", str(tmp_path / "w"))
    assert proc.returncode == 2
    assert "no commodity scenario for workflow 'sugar'" in proc.stderr


#: Where each commodity scenario files the credentials it does not keep on its plain ledger (examples/commodities).
SECOND_LEDGER = {
    "steel": ("fabric", "CBP7501EntrySummaryCredential"),
    "natural-gas": ("ethereum", "NaturalGasProducerEnvironmentalPassportCredential"),
    "timber": ("fabric", "ForestConcessionCredential"),
    "food-safety": ("fabric", "PhytosanitaryCredential"),
}


@pytest.mark.server
def test_every_commodity_workflow_judges_credentials_from_two_ledger_kinds(tmp_path: Path) -> None:
    """Each commodity scenario runs through the real adapters of two ledger kinds (plain ledger + Fabric channel or
    EAS on anvil) and still gets the independent table's verdicts; the kinds are read from the evidence of the
    credentials the verdicts cite, not from the scenario files."""
    from vcgate.gateway._jobs import job_results

    names = list(EXPECTED)
    assert set(SECOND_LEDGER) == set(names)
    entries, ledgers = run_commodities(names, tmp_path / "run", lambda _m: None)
    got = {(e.workflow, e.entry): (e.verdict, e.reasons[0], e.clause) for e in entries}
    assert got == {(w, n): tuple(row) for w, table in EXPECTED.items() for n, row in table.items()}
    for name in names:
        kind, second_type = SECOND_LEDGER[name]
        assert ledgers[name][kind]["records"] > 0
        store = Store.open(f"sqlite:///{tmp_path / 'run' / name / 'vcgate.sqlite'}")
        try:
            (job,) = store.jobs()
            rows = job_results(store, job["id"])["rows"]
            cited = {c for r in rows for ln in r["result"]["lines"] for c in ln["credentials"]}
            docs = store.credentials(cited)
            assert set(docs) == cited, name
            kinds = {c.document["evidence"][0]["ledgerKind"] for c in docs.values()}
            assert kinds == {"plain", kind}, (name, kinds)
            # The authorized entry alone already draws on both ledgers.
            (ok,) = (r["result"] for r in rows if r["result"]["verdict"] == "authorized")
            used = {docs[c].document["evidence"][0]["ledgerKind"] for ln in ok["lines"] for c in ln["credentials"]}
            assert used == {"plain", kind}, (name, used)
            second = store.credentials(store.credential_ids([("type", second_type)]))
            assert second
            assert {c.document["evidence"][0]["ledgerKind"] for c in second.values()} == {kind}
        finally:
            store.close()
