"""`vcgate users add | list`: accounts from the command line (exit 0, 64 for bad input; hashes never printed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vcgate.gateway._db import Database
from vcgate.gateway.api.pages import People

CLI = [sys.executable, "-c", "from vcgate.gateway.cli import main; main()"]


def _vcgate(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, text=True, timeout=120, check=False)


def test_users_add_then_list_and_log_in(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'gw.sqlite'}"
    added = _vcgate("users", "add", "olivia", "--role", "officer", "--password-stdin", "--database", db, "--json",
                    stdin="a long enough password\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert json.loads(added.stdout) == {"username": "olivia", "role": "officer"}
    listed = _vcgate("users", "list", "--database", db, "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [(r["username"], r["role"], r["lockedUntil"]) for r in rows] == [("olivia", "officer", None)]
    assert "argon2" not in listed.stdout
    from datetime import UTC, datetime

    _token, op = People(Database.open(db)).login("olivia", "a long enough password", now=datetime.now(UTC))
    assert op.role == "officer"


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["olivia", "--role", "chief"], "a long enough password", "role 'chief'"),
        (["olivia", "--role", "analyst"], "short", "at least 12 characters"),
        (["Bad Name", "--role", "admin"], "a long enough password", "user name"),
    ],
)
def test_users_add_refuses_bad_input_with_exit_64(tmp_path: Path, args: list[str], password: str, message: str) -> None:
    db = f"sqlite:///{tmp_path / 'gw.sqlite'}"
    result = _vcgate("users", "add", *args, "--password-stdin", "--database", db, stdin=password + "\n")
    assert result.returncode == 64
    assert message in result.stderr


def test_users_add_refuses_a_taken_name(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'gw.sqlite'}"
    first = _vcgate("users", "add", "ana", "--role", "analyst", "--password-stdin", "--database", db,
                    stdin="a long enough password\n")  # fmt: skip
    assert first.returncode == 0
    again = _vcgate("users", "add", "ana", "--role", "admin", "--password-stdin", "--database", db,
                    stdin="another long password\n")  # fmt: skip
    assert again.returncode == 64
    assert "user 'ana' exists" in again.stderr
