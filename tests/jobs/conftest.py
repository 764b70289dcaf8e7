"""Fixtures for the jobs tests: one real credential world per session, a fresh copy of its store per test."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from vcgate.gateway._store import Store

from ._world import World, build_world


@pytest.fixture(scope="session")
def world_and_rows(tmp_path_factory: pytest.TempPathFactory) -> tuple[World, dict[str, dict[str, Any]], Path]:
    tmp = tmp_path_factory.mktemp("world")
    world, rows = build_world(tmp)
    template = tmp / "store-template.sqlite"
    store = Store.open(f"sqlite:///{template}")
    world.fill(store)
    store.close()
    return world, rows, template


@pytest.fixture
def world(world_and_rows: tuple[World, dict[str, dict[str, Any]], Path]) -> World:
    return world_and_rows[0]


@pytest.fixture
def rows(world_and_rows: tuple[World, dict[str, dict[str, Any]], Path]) -> dict[str, dict[str, Any]]:
    return world_and_rows[1]


@pytest.fixture
def store_path(world_and_rows: tuple[World, dict[str, dict[str, Any]], Path], tmp_path: Path) -> Path:
    path = tmp_path / "store.sqlite"
    shutil.copy(world_and_rows[2], path)
    return path


@pytest.fixture
def store(store_path: Path) -> Any:
    s = Store.open(f"sqlite:///{store_path}")
    yield s
    s.close()
