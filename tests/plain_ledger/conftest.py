"""Fixtures for the plain-ledger tests: keys, stores (SQLite and a real PostgreSQL), and a real uvicorn server.

PostgreSQL is the session server of tests/conftest.py (``postgres_server``, ``postgres_url``), shared by the suite.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from vcgate.adapters.plain_ledger import LogKey, PlainLedgerStore, SubmitterKey

VECTORS = Path(__file__).parent / "vectors"


def free_port() -> int:
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def log_key() -> LogKey:
    return LogKey.generate("test.vcgate.example/log")


@pytest.fixture
def submitter() -> SubmitterKey:
    return SubmitterKey.generate("Ed25519")


@pytest.fixture
def p256_submitter() -> SubmitterKey:
    return SubmitterKey.generate("P-256")


# -- PostgreSQL: the session server and fresh databases are tests/conftest.py's postgres_server / postgres_url --------


# -- stores on both backends ------------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.server)])
def ledger_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a ledger lives: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite")
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(ledger_target: str, log_key: LogKey) -> Iterator[PlainLedgerStore]:
    s = PlainLedgerStore.create(ledger_target, log_key)
    try:
        yield s
    finally:
        s.close()


# -- a real uvicorn server --------------------------------------------------------------------------------------


@dataclass
class LedgerServer:
    """A ``vcgate plain-ledger serve`` process."""

    url: str
    process: subprocess.Popen[bytes]
    db: Path
    log_key_file: Path
    port: int

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=20)


CLI = [sys.executable, "-c", "from vcgate.gateway.cli import main; main()"]


def start_server(db: Path, log_key_file: Path, port: int | None = None) -> LedgerServer:
    """Start ``vcgate plain-ledger serve`` on 127.0.0.1 and wait until ``/health`` answers."""
    port = port or free_port()
    log = db.with_name(f"server-{port}.log")
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [
                *CLI,
                "plain-ledger",
                "serve",
                "--db",
                str(db),
                "--log-key",
                str(log_key_file),
                "--port",
                str(port),
                "--log-level",
                "warning",
            ],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the ledger server exited with {process.returncode}: {log.read_text()}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return LedgerServer(url, process, db, log_key_file, port)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    raise RuntimeError(f"the ledger server did not answer /health within 60 s: {log.read_text()}")


def make_ledger_files(directory: Path) -> tuple[Path, Path, LogKey]:
    """An initialised SQLite ledger in ``directory`` (database file, log key file, log key)."""
    db, key_file = directory / "ledger.sqlite", directory / "ledger.sqlite.logkey.json"
    key = LogKey.generate("test.vcgate.example/served")
    key.save(key_file)
    PlainLedgerStore.create(db, key).close()
    return db, key_file, key


@pytest.fixture
def ledger_files(tmp_path: Path) -> tuple[Path, Path, LogKey]:
    """An initialised SQLite ledger (database file, log key file, log key)."""
    return make_ledger_files(tmp_path)


@pytest.fixture(scope="module")
def shared_ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LedgerServer, LogKey]]:
    """One server for a whole test module (tests use fresh record ids and read indices from receipts)."""
    db, key_file, key = make_ledger_files(tmp_path_factory.mktemp("shared-ledger"))
    srv = start_server(db, key_file)
    try:
        yield srv, key
    finally:
        srv.stop()


@pytest.fixture
def server(ledger_files: tuple[Path, Path, LogKey]) -> Iterator[LedgerServer]:
    db, key_file, _ = ledger_files
    srv = start_server(db, key_file)
    try:
        yield srv
    finally:
        srv.stop()
