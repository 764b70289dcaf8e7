"""Shared pieces for status list tests: an issuer key, credentials with status entries, a verifier."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from vcgate.gateway import (
    DidResolver,
    KeyPair,
    Policy,
    StaticStatusListFetcher,
    StatusList,
    StatusListChecker,
    StatusListFetcher,
    Verifier,
    sign,
)

ISSUED = datetime(2025, 1, 1, tzinfo=UTC)
AT = datetime(2025, 6, 1, tzinfo=UTC)
LIST_URL = "https://status.example/lists/1"


def credential(issuer: str, status: dict[str, Any] | list[dict[str, Any]]) -> dict[str, Any]:
    """An unsigned VC 2.0 credential with ``credentialStatus``."""
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", "https://www.w3.org/ns/credentials/examples/v2"],
        "id": "urn:uuid:0f3a1b7c-2d4e-4f60-8a9b-1c2d3e4f5a6b",
        "type": ["VerifiableCredential", "ExampleLicenceCredential"],
        "issuer": issuer,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:licensee", "licence": "L-123"},
        "credentialStatus": status,
    }


@dataclass
class StatusWorld:
    """An issuer with a published list, a static fetcher serving it, and a verifier using it."""

    key: KeyPair
    status_list: StatusList
    fetcher: StaticStatusListFetcher
    lists: dict[str, dict[str, Any]] = field(default_factory=dict)

    def publish(self, status_list: StatusList | None = None, purpose: str = "revocation", **kw: Any) -> None:
        """Sign the list credential and serve it."""
        sl = status_list or self.status_list
        signed = sign(sl.to_credential(self.key.controller, purpose, ISSUED, **kw), self.key, created=ISSUED)
        self.lists[sl.url] = signed
        self.fetcher.publish(sl.url, signed)

    def issue(self, index: int, purpose: str = "revocation") -> dict[str, Any]:
        """A signed credential pointing at ``index`` of the list."""
        return sign(credential(self.key.controller, self.status_list.entry(index, purpose)), self.key, created=ISSUED)

    def verifier(self, fetcher: StatusListFetcher | None = None) -> Verifier:
        """A fresh verifier (fresh checker caches) over the static fetcher."""
        return Verifier(
            Policy.default(), DidResolver.offline(), status_checker=StatusListChecker(fetcher or self.fetcher)
        )


@pytest.fixture
def world() -> StatusWorld:
    key = KeyPair.generate("ed25519")
    w = StatusWorld(key, StatusList.create(LIST_URL), StaticStatusListFetcher())
    w.publish()
    return w
