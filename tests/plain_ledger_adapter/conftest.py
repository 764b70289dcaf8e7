"""Fixtures for the plain-ledger adapter tests: real uvicorn ledger servers, a GS1 submitter, sample registry records,
and a verifier that can check the status lists the GS1 records name.

The server helpers are the plain-ledger service tests' own (``tests/plain_ledger/conftest.py``).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from plain_ledger.conftest import LedgerServer, start_server

from vcgate.adapters.plain_ledger import LogKey, PlainLedgerAdapter, PlainLedgerClient, PlainLedgerStore, SubmitterKey
from vcgate.gateway import (
    DidResolver,
    KeyPair,
    Policy,
    StaticStatusListFetcher,
    StatusList,
    StatusListChecker,
    Verifier,
    sign,
)

STATUS_LIST_URL = "https://gs1us.example.org/credentials/status/7"
CREATED = datetime(2025, 1, 1, tzinfo=UTC)

PREFIX_LICENSE: dict[str, Any] = {
    "recordType": "gs1-company-prefix-license",
    "companyPrefix": "0614141",
    "alternativeCompanyPrefix": "614141",
    "licensee": {
        "did": "did:web:acme-apparel.example.com",
        "gln": "0614141000005",
        "name": "Acme Outdoor Apparel, Inc.",
    },
    "extendsCredential": "https://id.gs1.org/vc/license/gs1_prefix/061",
    "licensedFrom": "2019-03-01",
}

KEY_LICENSE: dict[str, Any] = {
    "recordType": "gs1-identification-key-license",
    "keyType": "GTIN",
    "key": "00614141123452",
    "alternativeKey": "0614141123452",
    "licensee": {
        "did": "did:web:acme-apparel.example.com",
        "gln": "0614141000005",
        "name": "Acme Outdoor Apparel, Inc.",
    },
    "licensedFrom": "2021-06-14",
    "licensedUntil": "2031-06-13",
    "status": {"list": STATUS_LIST_URL, "index": 88213},
}

ENTRY_FILING: dict[str, Any] = {
    "recordType": "cbp-3461-entry",
    "entryNumber": "HB7-1048213-6",
    "entryTypeCode": "01",
    "filedAt": "2024-09-01T17:20:00Z",
    "portOfEntry": "2704",
    "portOfUnlading": "2704",
    "transportMode": "Ocean",
    "arrivalDate": "2024-09-02",
    "bondType": "Continuous Bond",
    "entryValue": 61600,
    "importer": {
        "did": "did:web:northwind-imports.example.com",
        "name": "Northwind Retail Imports LLC",
        "address": {
            "street": "4500 E Pacific Coast Hwy",
            "city": "Long Beach",
            "region": "CA",
            "postalCode": "90804",
            "country": "US",
        },
    },
    "importerOfRecord": {"number": "95-481237600", "type": "IRS"},
    "lines": [
        {
            "hts": "6201406000",
            "description": "Men's anoraks of man-made fibers",
            "quantity": 1200,
            "countryOfOrigin": "CN",
        },
        {
            "hts": "6203434010",
            "description": "Men's trousers of synthetic fibers",
            "quantity": 800,
            "countryOfOrigin": "CN",
        },
    ],
}

SAMPLES = {"prefix": PREFIX_LICENSE, "key": KEY_LICENSE, "entry": ENTRY_FILING}


def sample(name: str, **changes: Any) -> dict[str, Any]:
    """A fresh copy of a sample record with top-level ``changes``."""
    record = copy.deepcopy(SAMPLES[name])
    record.update(changes)
    return record


def new_ledger(directory: Path, key: LogKey) -> tuple[Path, Path]:
    """An initialised SQLite ledger under ``key`` in ``directory`` (database, log key file)."""
    directory.mkdir(parents=True, exist_ok=True)
    db, key_file = directory / "ledger.sqlite", directory / "ledger.sqlite.logkey.json"
    key.save(key_file)
    PlainLedgerStore.create(db, key).close()
    return db, key_file


@dataclass
class Ledger:
    """A served ledger: its server, log key and a client."""

    server: LedgerServer
    key: LogKey
    client: PlainLedgerClient

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def vkey(self) -> str:
        return self.key.verifier.to_vkey()

    def append(self, submitter: SubmitterKey, record: dict[str, Any], record_id: str | None = None) -> int:
        """Append a signed record entry; its index."""
        entry = {"kind": "record", "recordId": record_id or uuid.uuid4().hex, "record": record}
        return int(self.client.append(submitter.sign_entry(entry))["index"])

    def revoke(self, submitter: SubmitterKey, target: int | str, reason: str = "licence withdrawn") -> int:
        """Append a signed revocation of ``target``; its index."""
        entry = {"kind": "revocation", "supersedes": target, "reason": reason}
        return int(self.client.append(submitter.sign_entry(entry))["index"])

    def adapter(self, **config: Any) -> PlainLedgerAdapter:
        """An adapter over this ledger, built from configuration like the loader does."""
        return PlainLedgerAdapter.from_config({"url": self.url, "logVerifierKey": self.vkey, **config})


def serve_ledger(directory: Path, key: LogKey | None = None, port: int | None = None) -> Ledger:
    """Create (or reuse) a ledger in ``directory`` and serve it."""
    key = key or LogKey.generate("test.vcgate.example/adapter")
    if not (directory / "ledger.sqlite").exists():
        new_ledger(directory, key)
    db, key_file = directory / "ledger.sqlite", directory / "ledger.sqlite.logkey.json"
    server = start_server(db, key_file, port)
    return Ledger(server, key, PlainLedgerClient(server.url))


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ledger]:
    """One served ledger per test module (tests append fresh records and use the indices they get back)."""
    served = serve_ledger(tmp_path_factory.mktemp("ledger"))
    try:
        yield served
    finally:
        served.client.close()
        served.server.stop()


@pytest.fixture(scope="module")
def gs1() -> SubmitterKey:
    """GS1 US's entry-signing key (a did:key, so the same key also signs credentials in partner mode)."""
    return SubmitterKey.generate("Ed25519")


@pytest.fixture(scope="module")
def gs1_keypair(gs1: SubmitterKey) -> KeyPair:
    """GS1's key as the gateway's key type (partner mode signs with the DID that signed the ledger entry)."""
    return KeyPair.from_multikey(gs1.to_json())


@pytest.fixture(scope="module")
def gateway_key() -> KeyPair:
    """CBP's gateway key (witness mode)."""
    return KeyPair.generate("ed25519")


def verifier_for(list_issuer: KeyPair, *, same_issuer: bool = True) -> Verifier:
    """The default-policy verifier, with GS1's status list (issued by ``list_issuer``, nothing revoked) served."""
    listed = sign(
        StatusList.create(STATUS_LIST_URL).to_credential(list_issuer.controller, "revocation", CREATED),
        list_issuer,
        created=CREATED,
    )
    checker = StatusListChecker(StaticStatusListFetcher({STATUS_LIST_URL: listed}), require_same_issuer=same_issuer)
    return Verifier(Policy.default(), DidResolver.offline(), status_checker=checker)
