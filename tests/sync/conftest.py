"""Fixtures for `vcgate sync` tests: a real plain ledger served on 127.0.0.1, GS1's entry-signing key, a witness key
file, a store URL and a helper that runs the `vcgate` command line in a subprocess (as an operator does)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from plain_ledger_adapter.conftest import Ledger, serve_ledger

from vcgate.adapters.plain_ledger import SubmitterKey
from vcgate.gateway import KeyPair

_SCRIPT = Path(sys.executable).with_name("vcgate")
#: The installed `vcgate` console script (the same entry point through Python when it is not on disk).
CLI = [str(_SCRIPT)] if _SCRIPT.is_file() else [sys.executable, "-c", "from vcgate.gateway.cli import main; main()"]


@dataclass(frozen=True)
class Run:
    """A finished `vcgate` process."""

    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def vcgate(*args: str, cwd: Path | None = None, timeout: float = 240) -> Run:
    """Run `vcgate ARGS` in a fresh process."""
    env = dict(os.environ)
    env.pop("VCGATE_DATABASE_URL", None)
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, env=env, check=False)
    return Run(done.returncode, done.stdout, done.stderr)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A fresh plain ledger served for one test."""
    served = serve_ledger(tmp_path / "ledger")
    try:
        yield served
    finally:
        served.client.close()
        served.server.stop()


@pytest.fixture(scope="module")
def gs1() -> SubmitterKey:
    """GS1 US's entry-signing key."""
    return SubmitterKey.generate("Ed25519")


@pytest.fixture
def witness(tmp_path: Path) -> tuple[KeyPair, Path]:
    """The gateway's witness key and its key file."""
    pair = KeyPair.generate()
    path = tmp_path / "witness.json"
    pair.to_file(path)
    return pair, path
