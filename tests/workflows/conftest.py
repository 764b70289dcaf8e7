"""Fixtures for the workflow tests: the jobs tests' credential world (real plain ledger, signed credentials)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.jobs._world import CHECKED_AT, World, build_world, plain_checkers
from vcgate.gateway._jobs import VerificationEnvironment
from vcgate.gateway._store import Store


@pytest.fixture(scope="session")
def ipr_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[World, dict[str, dict[str, Any]], Any]]:
    """The jobs world, its scenario rows and a verification environment over a filled store."""
    tmp: Path = tmp_path_factory.mktemp("ipr-world")
    world, rows = build_world(tmp)
    store = Store.open(f"sqlite:///{tmp / 'store.sqlite'}")
    world.fill(store)
    env = VerificationEnvironment(store, world.policy(), checked_at=CHECKED_AT, checkers=plain_checkers())
    yield world, rows, env
    store.close()
