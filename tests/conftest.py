"""Shared test helpers and the session-wide servers every test directory shares.

The suite runs in two tiers (``make test``): ``pytest -m "not server"`` (offline, no server processes) first, then
``pytest -m server``. Servers that several directories need are session fixtures here, so one run starts one of
each: PostgreSQL (``postgres_server``; ``postgres_url`` gives each test a fresh database on it) and anvil
(``anvil_server``; tests/ethereum/conftest.py's fixtures give each test or module its own evm_snapshot of it).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    """tests/fixtures."""
    return FIXTURES


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# -- PostgreSQL (Debian's packages; scripts/install-test-deps.sh installs them) ----------------------------------------
# The session fixture runs ``initdb`` into a temporary directory and starts the server with ``pg_ctl`` on a free port
# on 127.0.0.1, as the ``postgres`` user when the tests run as root (PostgreSQL refuses to run as root). If PostgreSQL
# is missing the fixture fails loudly: these tests are part of the suite, never skipped.


def _postgres_bin() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not candidates:
        pytest.fail(
            "PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb). Run scripts/install-test-deps.sh "
            "(apt-get install postgresql); the PostgreSQL tests are required, not optional.",
            pytrace=False,
        )
    return Path(candidates[-1]).parent


def _as_postgres(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root; the Debian package creates the 'postgres' system user.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One throwaway PostgreSQL server per run; yields its base URL (``postgresql+psycopg2://postgres@127.0.0.1:P``)."""
    bindir = _postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="vcgate-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, log = root / "data", root / "server.log"
    port = _free_port()
    subprocess.run(
        _as_postgres(
            [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on"
    started = subprocess.run(
        _as_postgres(
            [str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "60", "start"]
        ),
        capture_output=True,
        timeout=90,
    )
    if started.returncode != 0:
        detail = log.read_text() if log.exists() else started.stderr.decode()
        shutil.rmtree(root, ignore_errors=True)
        pytest.fail(f"PostgreSQL did not start: {detail}", pytrace=False)
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str) -> str:
    """A fresh, empty database on the session's PostgreSQL server."""
    from sqlalchemy import create_engine, text

    name = "test_" + uuid.uuid4().hex[:12]
    engine = create_engine(postgres_server + "/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"{postgres_server}/{name}"


# -- anvil (npm, pinned in tests/node; tests/ethereum/conftest.py holds the helpers) ----------------------------------
# One node per run. Its users never see each other's blocks: each takes an evm_snapshot first and reverts to it when
# done (tests/ethereum/conftest.py: ``isolated``), so every user starts from the same chain (the genesis, the dev
# accounts funded) and contracts it deploys land at the same addresses as on a fresh node.


@pytest.fixture(scope="session")
def anvil_server() -> Iterator[Any]:
    """The run's anvil node (an ``ethereum.conftest.AnvilNode``), stopped by PID at the end of the session."""
    # Imported here: the helpers pull in web3, which the tests without a chain do not need.
    from ethereum.conftest import start_anvil, stop_anvil

    node = start_anvil()
    try:
        yield node
    finally:
        stop_anvil(node)


#: Fixtures that start a server process, wherever a test uses them (directly or through another fixture): such a
#: test belongs to the server tier even when its module forgot the mark.
SERVER_FIXTURES = frozenset({"postgres_server", "anvil_server"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``server`` every test that needs a :data:`SERVER_FIXTURES` fixture (the tiers of ``make test``)."""
    for item in items:
        if SERVER_FIXTURES & set(getattr(item, "fixturenames", ())) and item.get_closest_marker("server") is None:
            item.add_marker(pytest.mark.server)
