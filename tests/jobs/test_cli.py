"""`vcgate parties | verify-entry | jobs | links` as a user runs them: real processes, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import yaml

from vcgate.gateway import KeyPair

from ._world import ROOT, World, gtin

FACTORY = "tests.jobs._world:plain_checkers"


def vcgate(*args: str, columns: int | None = None) -> subprocess.CompletedProcess[str]:
    code = "from vcgate.gateway.cli import main; main()"
    width = {"COLUMNS": str(columns)} if columns else {}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **width},
    )


def verify_options(world: World, db: str, folder: Path) -> list[str]:
    """The options of a reproducible verification: the world's policy (written to ``folder``), the store, a fixed
    check time and the plain-ledger evidence checkers."""
    policy = folder / "policy.yaml"
    policy.write_text(yaml.safe_dump(dict(world.policy().raw)))
    return ["--policy", str(policy), "--db", db, "--checked-at", "2025-06-01T00:00:00Z", "--checkers", FACTORY]


def test_parties_add_list_show(world: World, store_path: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{store_path}"
    newco = KeyPair.generate()
    from ._world import Actor

    party = Actor("newco", newco, ("NewCo Ltd.",)).party().to_json()
    party["identifiers"] = [{"scheme": "lei", "value": "5493001KJTIIGC8Y1R12"}]
    path = tmp_path / "newco.yaml"
    path.write_text(yaml.safe_dump(party))
    added = vcgate("parties", "add", str(path), "--db", db, "--offline")
    assert added.returncode == 0, added.stderr
    assert "registered: newco" in added.stdout
    listed = vcgate("parties", "list", "--db", db, "--json")
    assert "newco" in [p["id"] for p in json.loads(listed.stdout)]
    shown = vcgate("parties", "show", "newco", "--db", db, "--json", "--challenge")
    doc = json.loads(shown.stdout)
    assert doc["identifiers"] == [{"scheme": "lei", "value": "5493001KJTIIGC8Y1R12"}]
    assert doc["challenges"][0].startswith("vcgate party binding proof v1\nparty: " + newco.controller)
    # A binding whose proof does not hold is refused (exit 1) and nothing is stored.
    party["id"] = "forger"
    party["bindings"][0]["proof"]["signature"] = party["bindings"][0]["proof"]["signature"][::-1]
    path.write_text(yaml.safe_dump(party))
    refused = vcgate("parties", "add", str(path), "--db", db, "--offline")
    assert refused.returncode == 1
    assert "BINDING_SIGNATURE_INVALID" in refused.stderr
    assert vcgate("parties", "show", "forger", "--db", db).returncode == 1


def test_verify_entry_exit_codes(
    world: World, rows: dict[str, dict[str, Any]], store_path: Path, tmp_path: Path
) -> None:
    db = f"sqlite:///{store_path}"
    common = verify_options(world, db, tmp_path)
    expected = {"authorized": 0, "no_licence": 1, "no_anchor": 2}
    for name, code in expected.items():
        entry = tmp_path / f"{name}.json"
        entry.write_text(json.dumps(rows[name]))
        run = vcgate("verify-entry", str(entry), *common, "--json")
        assert run.returncode == code, (name, run.stderr)
        assert json.loads(run.stdout)["lines"][0]["verdict"] == ["authorized", "not_authorized", "undetermined"][code]
    table = vcgate("verify-entry", str(tmp_path / "no_licence.json"), *common)
    assert "NOT_AUTHORIZED" in table.stdout
    assert "LICENCE_MISSING" in table.stdout
    assert vcgate("verify-entry", str(tmp_path / "missing.json"), *common).returncode == 2  # a missing file


def test_jobs_run_status_report_and_links(
    world: World, rows: dict[str, dict[str, Any]], store_path: Path, tmp_path: Path
) -> None:
    db = f"sqlite:///{store_path}"
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(dict(world.policy().raw)))
    entries = tmp_path / "entries.jsonl"
    entries.write_text("\n".join(json.dumps(r) for r in rows.values()) + "\n{broken\n")
    run = vcgate(
        "jobs", "run", str(entries), "--policy", str(policy), "--db", db, "--checkers", FACTORY,
        "--checked-at", "2025-06-01T00:00:00Z", "--workers", "1",
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert "1 malformed (reported per row)" in run.stdout
    job_id = run.stdout.split("job ", 1)[1].split(":", 1)[0]
    status = json.loads(vcgate("jobs", "status", job_id, "--db", db, "--json").stdout)
    assert (status["done"], status["malformed"], status["state"]) == (15, 1, "finished")
    assert sum(status["verdicts"].values()) == 15
    key = tmp_path / "gateway-key.json"
    KeyPair.generate().to_file(key)
    out_dir = tmp_path / "report"
    report = vcgate("jobs", "report", job_id, "--db", db, "--key", str(key), "--out", str(out_dir))
    assert report.returncode == 0, report.stderr
    signed = json.loads((out_dir / "report.json").read_text())
    assert signed["proof"]["cryptosuite"] == "eddsa-jcs-2022"
    verified = vcgate("verify", str(out_dir / "report.json"), "--offline", "--json")
    assert json.loads(verified.stdout)["status"] == "verified", verified.stdout
    page = (out_dir / "report.html").read_text()
    HTMLParser().feed(page)
    assert page.count("class='entry'") == 16

    links = json.loads(vcgate("links", gtin(12345), "--db", db, "--json").stdout)
    types = sorted(t for c in links["credentials"] for t in c["types"])
    assert types == [
        "GS1IdentificationKeyLicenseCredential",
        "IntellectualPropertyRightsCredential",
        "IntellectualPropertyRightsLicenseCredential",
    ]
    licence = next(c for c in links["credentials"] if "IntellectualPropertyRightsLicenseCredential" in c["types"])
    assert any(i.startswith("recordation-number:") for i in licence["identifiers"])
    by_did = json.loads(vcgate("links", world.actors["summit"].did, "--db", db, "--json").stdout)
    assert len(by_did["credentials"]) >= 10  # every invoice (issuer) and licence (licensee) naming Summit
    assert vcgate("links", "nothing-here", "--db", db).returncode == 1


def test_entry_job_and_links_tables_fit_80_columns(
    world: World, rows: dict[str, dict[str, Any]], store_path: Path, tmp_path: Path
) -> None:
    # The 80-column audit (tests/cli/test_usability.py) for the tables that need a filled store: every line fits and
    # every identifier (entry line, GTIN, job id, credential id, issuer DID) is printed whole.
    from cli.test_usability import assert_fits

    db = f"sqlite:///{store_path}"
    common = verify_options(world, db, tmp_path)
    entry = tmp_path / "no_licence.json"
    entry.write_text(json.dumps(rows["no_licence"]))
    verdict = vcgate("verify-entry", str(entry), *common, columns=80)
    assert verdict.returncode == 1, verdict.stderr
    gtins = [str(line["gtin"]) for line in rows["no_licence"]["lines"]]
    assert_fits(verdict.stdout, gtins)
    entries = tmp_path / "entries.jsonl"
    entries.write_text(json.dumps(rows["authorized"]) + "\n")
    run = vcgate("jobs", "run", str(entries), *common, "--workers", "1")
    assert run.returncode == 0, run.stderr
    job_id = run.stdout.split("job ", 1)[1].split(":", 1)[0]
    assert_fits(vcgate("jobs", "status", "--db", db, columns=80).stdout, [job_id])
    links = json.loads(vcgate("links", gtin(12345), "--db", db, "--json").stdout)["credentials"]
    table = vcgate("links", gtin(12345), "--db", db, columns=80).stdout
    assert_fits(table, [c["id"] for c in links] + [c["issuer"] for c in links if c["issuer"]])
