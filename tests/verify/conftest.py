"""Fixtures for the verification pipeline tests: one issuer key and a realistic Traceability credential."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from vcgate.gateway import DidResolver, KeyPair, Policy, Verifier, sign

ROOT = Path(__file__).resolve().parents[2]
INVOICE = ROOT / "benchmarks" / "data" / "commercial-invoice.unsigned.json"
AT = datetime(2026, 1, 1, tzinfo=UTC)
CREATED = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
def issuer_key() -> KeyPair:
    return KeyPair.generate("ed25519")


@pytest.fixture
def unsigned(issuer_key: KeyPair) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(INVOICE.read_text())
    doc["issuer"]["id"] = issuer_key.controller
    # The file's LedgerEvidence is made up: it reaches no anchor, so a credential carrying it is never verified
    # (tests/verify/test_one_verifier.py). These tests are about the other stages.
    del doc["evidence"]
    return doc


@pytest.fixture
def signer(issuer_key: KeyPair) -> Callable[..., dict[str, Any]]:
    def _sign(doc: dict[str, Any], suite: str = "eddsa-rdfc-2022", **kw: Any) -> dict[str, Any]:
        return sign(
            copy.deepcopy(doc),
            kw.pop("key", issuer_key),
            suite=suite,
            created=kw.pop("created", CREATED),
            **kw,
        )

    return _sign


@pytest.fixture(scope="session")
def verifier() -> Verifier:
    return Verifier(Policy.default(), DidResolver.offline())
