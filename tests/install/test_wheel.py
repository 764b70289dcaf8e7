"""The wheel, as a user gets it (issue 13): built with ``python -m build``, installed into a fresh virtual
environment from the pinned constraints, first without extras, then with ``[ethereum]``, then with ``[fabric]``.
No source checkout is on the path (the venv runs from a scratch directory with its own HOME and cache): the
conformance suite's data, the demo's scenario and the npm lock files all come from the wheel.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CREDENTIAL = ROOT / "examples" / "credentials" / "cbp-3461-entry.json"

pytestmark = [pytest.mark.slow, pytest.mark.server, pytest.mark.node]


class Installed:
    """A fresh venv with the wheel installed; :meth:`run` runs its ``vcgate`` outside the source tree."""

    def __init__(self, home: Path, wheel: Path) -> None:
        self.home = home
        self.wheel = wheel
        self.venv = home / "venv"
        venv.create(self.venv, with_pip=True, clear=True)
        self.work = home / "work"
        self.work.mkdir()

    def pip_install(self, extras: str = "") -> None:
        target = f"{self.wheel}[{extras}]" if extras else str(self.wheel)
        proc = subprocess.run(
            [self.venv / "bin" / "python", "-m", "pip", "install", "-q", "-c", ROOT / "constraints.txt", target],
            capture_output=True,
            text=True,
            timeout=900,
            env=self.env(),
        )
        assert proc.returncode == 0, proc.stderr[-3000:]

    def env(self) -> dict[str, str]:
        keep = ("PATH", "LANG", "LC_ALL", "TMPDIR", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS")
        env = {k: v for k, v in os.environ.items() if k in keep}
        return env | {"HOME": str(self.home), "XDG_CACHE_HOME": str(self.home / "cache"), "COLUMNS": "80"}

    def run(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.venv / "bin" / "vcgate", *args],
            cwd=self.work,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env(),
        )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    dist = tmp_path_factory.mktemp("dist")
    build = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", dist, ROOT],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    # Every data folder is a listed package: setuptools has nothing to warn about.
    assert "absent from the `packages` configuration" not in build.stdout + build.stderr
    (wheel,) = dist.glob("vcgate-*.whl")
    home = tmp_path_factory.mktemp("home")
    installation = Installed(home, wheel)
    installation.pip_install()
    return installation


def test_base_install(installed: Installed) -> None:
    assert installed.run("--help").returncode == 0
    listing = installed.run("adapters", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    unavailable = {u["name"]: u["install"] for u in json.loads(listing.stdout)["unavailable"]}
    assert unavailable == {"ethereum": 'pip install "vcgate[ethereum]"', "fabric": 'pip install "vcgate[fabric]"'}
    fabric = installed.run("fabric", "verify-block", "x.block")
    assert fabric.returncode == 2
    assert 'pip install "vcgate[fabric]"' in " ".join(fabric.stderr.split())
    verify = installed.run("verify", "--json", str(CREDENTIAL))
    assert verify.returncode == 1, verify.stderr  # the example is unsigned: a verdict, not a crash
    assert json.loads(verify.stdout)["status"] == "invalid"
    conformance = installed.run("conformance", "run", "--target", "verifier:vcgate", "--json")
    report = json.loads(conformance.stdout)
    assert [c["id"] for c in report["cases"] if c["outcome"] != "passed"] == []
    assert len(report["cases"]) == 36
    assert conformance.returncode == 0


def test_with_the_ethereum_extra(installed: Installed) -> None:
    installed.pip_install("ethereum")
    assert installed.run("--help").returncode == 0
    describe = installed.run("adapters", "describe", "ethereum", "--json")
    assert describe.returncode == 0, describe.stderr
    assert json.loads(describe.stdout)["plugin"]["kind"] == "ethereum"
    listing = json.loads(installed.run("adapters", "list", "--json").stdout)
    assert [u["name"] for u in listing["unavailable"]] == ["fabric"]


def test_demo_with_both_ledger_extras(installed: Installed) -> None:
    installed.pip_install("ethereum,fabric")
    demo = installed.run("demo", "--json", timeout=1200)
    assert demo.returncode == 0, demo.stderr[-3000:]
    entries = json.loads(demo.stdout)["entries"]
    # Every workflow runs from the wheel: IPR's twelve scenario entries and each commodity workflow's entries
    # (their scenarios ship in the wheel too), each with its expected verdict.
    by_workflow: dict[str, int] = {}
    for e in entries:
        by_workflow[e["workflow"]] = by_workflow.get(e["workflow"], 0) + 1
    assert by_workflow.pop("ipr") == 12
    assert set(by_workflow) == {"steel", "natural-gas", "timber", "food-safety"}
    assert all(n >= 5 for n in by_workflow.values()), by_workflow
    assert all(e["ok"] for e in entries), [e for e in entries if not e["ok"]]
    # anvil came from npm into the user cache, from the lock file shipped in the wheel.
    assert list((installed.home / "cache" / "vcgate" / "demo").glob("node_modules/@foundry-rs/anvil-*/bin/anvil"))
