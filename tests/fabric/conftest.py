"""Shared fixtures for the Fabric ledger tests: the copied real blocks and a small signed test network."""

from __future__ import annotations

from pathlib import Path

import pytest

from vcgate.adapters.fabric.testing import TestNetwork

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fabric"


@pytest.fixture(scope="session")
def fixtures() -> Path:
    """The real Fabric blocks (copied from the shared fixtures; see tests/fixtures/fabric/README.md)."""
    return FIXTURES


@pytest.fixture(scope="session")
def network() -> TestNetwork:
    """A two-organisation test network (CAs, peers, clients, orderer) shared by the tests of a session."""
    return TestNetwork.create()
