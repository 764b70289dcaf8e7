"""`vcgate demo` end to end: three real ledgers (plain ledger over uvicorn, anvil with the official EAS contracts,
Fabric through TLS gRPC peers), a dozen entries, and the verdicts compared with ``expected.yaml`` — a table written
from the scenario's story and the linking rules, independently of the demo code and of the labels file the demo
itself prints.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from vcgate.gateway import DidResolver, Policy, Verifier
from vcgate.gateway import _demo as demo_module
from vcgate.gateway._demo import DemoError, find_anvil, run_demo
from vcgate.gateway._store import Store

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "ipr_three_ledgers"
EXPECTED: dict[str, dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "expected.yaml").read_text())
CLI = [sys.executable, "-c", "from vcgate.gateway.cli import main; main()", "demo"]


def _run_cli(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=240, check=False)
    return proc, time.monotonic() - start


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path, float]:
    """One `vcgate demo --json --keep` run (the JSON it printed, its workdir, its wall time)."""
    workdir = tmp_path_factory.mktemp("demo")
    proc, elapsed = _run_cli("--json", "--keep", "--workdir", str(workdir))
    assert proc.returncode == 0, proc.stderr[-3000:]
    output: dict[str, Any] = json.loads(proc.stdout)
    return output, workdir, elapsed


@pytest.fixture(scope="module")
def by_entry(demo_run: tuple[dict[str, Any], Path, float]) -> dict[str, dict[str, Any]]:
    return {e["entry"]: e for e in demo_run[0]["entries"]}


@pytest.mark.server
@pytest.mark.slow
def test_the_demo_verifies_every_entry_of_the_file_in_order(demo_run: tuple[dict[str, Any], Path, float]) -> None:
    output, _, elapsed = demo_run
    numbers = [json.loads(line)["entryNumber"] for line in (EXAMPLE / "entries.jsonl").read_text().splitlines()]
    # Each entry names the workflow that judged it (docs/workflows.md); the IPR entries come first, in file order.
    assert [e["entry"] for e in output["entries"][: len(numbers)]] == numbers
    assert {e["workflow"] for e in output["entries"][: len(numbers)]} == {"ipr"}
    assert set(numbers) == set(EXPECTED)
    assert elapsed < 90, f"the demo took {elapsed:.1f} s"


@pytest.mark.server
@pytest.mark.slow
@pytest.mark.parametrize("entry", sorted(EXPECTED))
def test_every_entry_gets_the_expected_verdict_for_the_expected_reason(
    entry: str, by_entry: dict[str, dict[str, Any]]
) -> None:
    want = EXPECTED[entry]
    got = by_entry[entry]
    assert {"entry", "scenario", "verdict", "reasons"} <= set(got)
    assert (got["verdict"], got["reasons"], got["clause"]) == (want["verdict"], want["reasons"], want["clause"])
    assert got["ok"] is True
    assert got["scenario"] not in ("", "(no label)")


@pytest.mark.server
@pytest.mark.slow
def test_the_three_ledgers_were_synced_through_their_adapters(demo_run: tuple[dict[str, Any], Path, float]) -> None:
    output, workdir, _ = demo_run
    assert {k: v["ledgerId"].split(":")[0] for k, v in output["ledgers"].items()} == {
        "plain": "plain",
        "ethereum": "eip155",
        "fabric": "fabric",
    }
    sync = output["sync"]
    # 9 GS1 licences + 9 IPR recordations; 6 EAS licences (+ the revocation); 10 products + 11 invoices.
    assert (sync["gs1-us-registry"]["stored"], sync["brand-licences-eas"]["stored"]) == (18, 6)
    assert (sync["manufacturer-fabric"]["stored"], sync["brand-licences-eas"]["revocations"]) == (21, 1)
    assert all(not c["errors"] and c["unsigned"] == 0 for c in sync.values())
    store = Store.open(f"sqlite:///{workdir / 'run' / 'vcgate.sqlite'}")
    try:
        parties = store.parties()
        kinds = {b.kind for p in parties.parties for b in p.bindings}
        assert kinds == {"plain-ledger-key", "ethereum-address", "fabric-msp"}
        assert len(parties.parties) == 8
        assert len(store.revocations()) == 1
        assert {a.plugin for a in store.adapters()} == {"plain-ledger", "ethereum", "fabric"}
    finally:
        store.close()
    policy = yaml.safe_load((workdir / "run" / "policy.yaml").read_text())
    assert sorted(a["kind"] for a in policy["trust"]["anchors"].values()) == ["ethereum", "fabric", "plain"]
    assert policy["trust"]["roots_of_authority"] == {"gtin_ownership": ["gs1-us"], "ipr_ownership": ["cbp-iprr"]}


@pytest.mark.server
@pytest.mark.slow
def test_the_report_is_signed_by_the_gateway_and_shows_the_chain(demo_run: tuple[dict[str, Any], Path, float]) -> None:
    output, workdir, _ = demo_run
    assert output["report"] == {"json": str(workdir / "report.json"), "html": str(workdir / "report.html")}
    report = json.loads((workdir / "report.json").read_text())
    result = Verifier(Policy.default(), DidResolver.offline()).check(report, at=datetime.now(UTC))
    assert result.status == "verified", [c.problem for c in result.checks if c.problem]
    assert report["type"] == ["VerifiableCredential", "VerificationReport"]
    verdicts = {e["entryNumber"]: e["verdict"] for e in report["credentialSubject"]["entries"]}
    assert verdicts == {k: v["verdict"] for k, v in EXPECTED.items()}
    html = (workdir / "report.html").read_text()
    for number, want in EXPECTED.items():
        assert f"data-entry='{number}' data-verdict='{want['verdict']}'" in html
    # The authorized entry's chain names a credential on each ledger.
    authorized = next(e for e in report["credentialSubject"]["entries"] if e["entryNumber"] == "NW7-2506001-4")
    steps = {s["step"]: s for s in authorized["lines"][0]["steps"]}
    assert [steps[s]["evidence"][0].split(":")[0] for s in ("gtin_owner", "ipr", "licence", "invoice")] == [
        "plain",
        "plain",
        "eip155",
        "fabric",
    ]
    assert all(s["status"] == "passed" for s in steps.values())


@pytest.mark.server
@pytest.mark.slow
def test_entries_reach_the_verifier_without_scenario_labels() -> None:
    allowed = {"entryNumber", "importerOfRecord", "entryDate", "invoiceNumber", "lines"}
    text = (EXAMPLE / "entries.jsonl").read_text()
    for line in text.splitlines():
        assert set(json.loads(line)) == allowed
    labels = yaml.safe_load((EXAMPLE / "scenarios.yaml").read_text())
    for label in labels.values():
        assert label["scenario"] not in text


@pytest.mark.server
@pytest.mark.slow
def test_a_verdict_that_differs_from_the_scenario_fails_loudly(tmp_path: Path) -> None:
    scenario = tmp_path / "scenario"
    shutil.copytree(EXAMPLE, scenario)
    labels = yaml.safe_load((scenario / "scenarios.yaml").read_text())
    labels["NW7-2506005-7"] = {"scenario": "wrongly labelled", "verdict": "authorized", "reason": "AUTHORIZED"}
    (scenario / "scenarios.yaml").write_text(yaml.safe_dump(labels))
    proc, _ = _run_cli("--scenario", str(scenario), "--workdir", str(tmp_path / "work"))
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert "MISMATCH: 1 of 12 entries" in proc.stdout
    assert "NW7-2506005-7 (wrongly labelled) got not_authorized LICENCE_MISSING" in proc.stdout
    # Without --keep only the reports remain.
    assert sorted(p.name for p in (tmp_path / "work").iterdir()) == ["report.html", "report.json"]


def _children(name: str) -> set[int]:
    """PIDs of this process's children whose command is ``name`` (from /proc)."""
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)
            comm = stat.read_text().split("(", 1)[1].rsplit(")", 1)[0]
        except (OSError, IndexError):
            continue
        if comm == name and int(fields[1].split()[1]) == os.getpid():
            out.add(int(stat.parent.name))
    return out


def _listening_ports() -> set[int]:
    """TCP ports this process listens on (sockets among its own file descriptors, from /proc/net/tcp*)."""
    inodes = set()
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            if cols[3] == "0A" and cols[9] in inodes:  # 0A = LISTEN
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


@pytest.mark.server
@pytest.mark.slow
def test_an_interrupted_run_stops_anvil_the_peers_and_the_ledger_server(tmp_path: Path) -> None:
    seen: dict[str, Any] = {}
    before = _listening_ports()

    def interrupt(message: str) -> None:
        # Once all three ledgers run: anvil (a child process), the plain-ledger server thread and the Fabric peers.
        if message.startswith("gateway"):
            seen["anvil"] = _children("anvil")
            seen["threads"] = {t.name for t in threading.enumerate()}
            seen["ports"] = _listening_ports() - before
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_demo(workdir=tmp_path, say=interrupt)
    assert len(seen["anvil"]) == 1
    assert "vcgate-demo-plain-ledger" in seen["threads"]
    assert len(seen["ports"]) == 3  # the plain-ledger server and the two Fabric peers
    for pid in seen["anvil"]:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # stopped and reaped
    assert not _children("anvil")
    assert "vcgate-demo-plain-ledger" not in {t.name for t in threading.enumerate()}
    assert not (_listening_ports() & seen["ports"])
    assert not (tmp_path / "run").exists()


def test_missing_anvil_names_the_command_that_installs_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("VCGATE_ANVIL", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(demo_module, "ANVIL_IN_REPO", tmp_path / "no-anvil")
    monkeypatch.setenv("VCGATE_CACHE_DIR", str(tmp_path / "cache"))  # no anvil in the user cache, and no npm
    with pytest.raises(DemoError, match=r"Node\.js >= 20 with npm.*`make demo`"):
        find_anvil()


def _anvils_in(folder: Path) -> set[int]:
    """PIDs of anvil processes whose working directory is ``folder`` (what a demo started there leaves)."""
    out = set()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if (proc / "comm").read_text().strip() == "anvil" and Path(os.readlink(proc / "cwd")) == folder:
                out.add(int(proc.name))
        except OSError:
            continue
    return out


@pytest.mark.server
@pytest.mark.slow
def test_sigterm_during_the_run_exits_130_and_leaves_no_anvil(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*CLI, "--workdir", str(tmp_path / "work")],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        seen.append(line)
        if line.startswith("· Fabric"):  # anvil runs from the Ethereum stage on
            break
    running = _anvils_in(tmp_path)
    proc.send_signal(signal.SIGTERM)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, "".join(seen) + rest
    assert "interrupted: anvil, the Fabric peers and the ledger server were stopped" in rest
    assert len(running) == 1
    assert not _anvils_in(tmp_path)
    assert not (tmp_path / "work" / "run").exists()


# -- every workflow (docs/demo.md, "Workflows"): the commodity scenarios against tests/workflows/expected.yaml ----

COMMODITY_EXPECTED: dict[str, dict[str, list[str]]] = yaml.safe_load(
    (ROOT / "tests" / "workflows" / "expected.yaml").read_text()
)


@pytest.mark.server
@pytest.mark.slow
def test_the_full_run_judges_every_workflow_with_one_table_each(demo_run: tuple[dict[str, Any], Path, float]) -> None:
    output = demo_run[0]
    assert output["workflows"] == ["ipr", *COMMODITY_EXPECTED]
    for workflow, table in COMMODITY_EXPECTED.items():
        got = {e["entry"]: e for e in output["entries"] if e["workflow"] == workflow}
        assert set(got) == set(table), workflow
        for entry, (verdict, reason, clause) in table.items():
            e = got[entry]
            assert (e["verdict"], e["reasons"][0], e["clause"]) == (verdict, reason, clause), (workflow, entry)
            assert e["ok"] is True
    # Each commodity scenario ran on its own plain ledger and a second ledger (a Fabric channel or EAS on anvil),
    # every record synced through the adapters.
    ledgers = output["commodityLedgers"]
    assert set(ledgers) == set(COMMODITY_EXPECTED)
    assert len({v["ledgerId"] for v in ledgers.values()}) == len(ledgers)
    for v in ledgers.values():
        second = [v[k]["records"] for k in ("fabric", "ethereum") if k in v]
        assert len(second) == 1
        assert v["stored"] == v["entries"] + second[0] > second[0] > 0
    assert ledgers["steel"]["fabric"]["records"] == len(COMMODITY_EXPECTED["steel"])  # the broker's 7501s on Fabric
