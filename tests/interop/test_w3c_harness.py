"""`make interop-w3c` without the W3C suites checked out: a message and success, nothing fetched."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "scripts" / "w3c-suites"


def test_run_all_skips_without_the_suites(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "MIRROR_DIR"}
    env["W3C_SUITES_DIR"] = str(tmp_path / "absent")
    r = subprocess.run(
        ["bash", str(HARNESS / "run_all.sh"), str(tmp_path / "out")],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert "interop-w3c: skipped" in r.stdout
    assert "MIRROR_DIR" in r.stdout
    assert not (tmp_path / "out").exists()  # nothing was started or written


def test_configs_and_commits_cover_the_six_suites() -> None:
    commits = dict(line.split() for line in (HARNESS / "suite-commits.txt").read_text().splitlines() if line.strip())
    run_all = (HARNESS / "run_all.sh").read_text()
    for suite, config in (
        ("vc-data-model-2.0-test-suite", "vc-data-model-2.0"),
        ("vc-di-eddsa-test-suite", "vc-di-eddsa"),
        ("vc-di-ecdsa-test-suite", "vc-di-ecdsa"),
        ("vc-bitstring-status-list-test-suite", "vc-bitstring-status-list"),
        ("vc-api-issuer-test-suite", "vc-api-issuer"),
        ("vc-api-verifier-test-suite", "vc-api-verifier"),
    ):
        assert len(commits[suite]) == 40
        assert f"{suite}:{config}" in run_all
        assert (HARNESS / "configs" / f"{config}.localConfig.cjs").is_file()
