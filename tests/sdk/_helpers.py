"""Helpers for the adapter SDK tests: a record factory, a reference mapping and an in-memory adapter."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from vcgate.adapters.sdk import (
    API_VERSION,
    AdapterInfo,
    Check,
    CheckStatus,
    CredentialMapping,
    Cursor,
    EvidenceResult,
    Health,
    LedgerEvidence,
    RecordPage,
    SourceRecord,
    Translation,
    apply_mapping,
    paginate,
)
from vcgate.canonical_schema import InputError, Problem

LEDGER_TIME = datetime(2024, 5, 17, 12, 30, 45, tzinfo=UTC)


def make_record(raw: Mapping[str, Any] | bytes, **overrides: Any) -> SourceRecord:
    """A source record on ledger ``test:ledger-1`` with fixed ledger facts."""
    fields: dict[str, Any] = {
        "ledger_id": "test:ledger-1",
        "ledger_kind": "memory",
        "locator": "entry/1",
        "raw": raw,
        "native_signer": {
            "kind": "ed25519-key",
            "publicKeyMultibase": "z6MkTest",
            "did": "did:example:signer",
        },
        "ledger_time": LEDGER_TIME,
        "ledger_height": 42,
        "proof_material": {"entryHash": "ab" * 32},
    }
    fields.update(overrides)
    return SourceRecord(**fields)


#: A mapping exercising every transform kind; tests copy and modify it.
INVOICE_MAPPING: dict[str, Any] = {
    "id": "https://example.org/mappings/test-invoice",
    "version": "1.0.0",
    "credential": {
        "type": ["VerifiableCredential", "CommercialInvoiceCredential"],
        "issuer": {"mode": "partner", "id": {"const": "did:web:seller.example"}},
        "validFrom": {"ledger": "time"},
        "validUntil": {"path": "expires", "date": "unix", "optional": True},
        "credentialStatus": {
            "fields": {
                "id": {"template": "https://status.example/list/1#{statusIndex}"},
                "type": {"const": "BitstringStatusListEntry"},
                "statusPurpose": {"const": "revocation"},
                "statusListIndex": {"path": "statusIndex", "number": {"type": "integer", "output": "string"}},
                "statusListCredential": {"const": "https://status.example/list/1"},
            }
        },
        "credentialSubject": {
            "fields": {
                "type": {"const": ["Invoice"]},
                "invoiceNumber": {"path": "number"},
                "invoiceDate": {"path": "date", "date": {"format": "yyyymmdd", "output": "date"}},
                "seller": {
                    "fields": {
                        "type": {"const": ["Organization"]},
                        "name": {"path": "seller.name"},
                        "globalLocationNumber": {"path": "seller.gln", "optional": True},
                    }
                },
                "itemsShipped": {
                    "array": {
                        "path": "lines",
                        "each": {
                            "fields": {
                                "type": {"const": ["TradeLineItem"]},
                                "itemCount": {"path": "qty", "number": "integer"},
                                "product": {"fields": {"type": {"const": ["Product"]}, "gtin": {"path": "gtin"}}},
                            }
                        },
                    }
                },
                "totalPaymentDue": {
                    "fields": {
                        "type": {"const": ["PriceSpecification"]},
                        "price": {
                            "path": "cents",
                            "number": {"type": "decimal", "scale": -2, "output": "string"},
                        },
                        "priceCurrency": {
                            "path": "currency",
                            "lookup": {"table": {"840": "USD", "978": "EUR"}},
                        },
                    }
                },
                "comments": {"template": "Invoice {number} of {seller.name}"},
            }
        },
    },
}

INVOICE_RECORD: dict[str, Any] = {
    "number": "INV-7",
    "date": "20240516",
    "expires": 1767225600,
    "statusIndex": 94567,
    "seller": {"name": "Acme Manufacturing"},
    "lines": [{"qty": "12", "gtin": "00614141000012"}, {"qty": 3, "gtin": "00614141000029"}],
    "cents": "1234567",
    "currency": 840,
}


def invoice_mapping(**changes: Any) -> CredentialMapping:
    """The reference mapping, with top-level credential entries replaced by ``changes``."""
    doc = json.loads(json.dumps(INVOICE_MAPPING))
    doc["credential"].update(changes)
    return CredentialMapping.from_json(doc)


class MemoryAdapter:
    """A minimal adapter over an in-memory list of records; its 'ledger proof' is the record digest list."""

    API_VERSION: ClassVar[int] = API_VERSION
    KIND: ClassVar[str] = "memory"

    def __init__(self, mapping: CredentialMapping, page_size: int = 3) -> None:
        self.mapping = mapping
        self.page_size = page_size
        self.entries: list[tuple[Cursor, SourceRecord]] = []

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MemoryAdapter:
        return cls(CredentialMapping.from_json(config["mapping"]), int(config.get("pageSize", 3)))

    def append(self, raw: Mapping[str, Any]) -> SourceRecord:
        n = len(self.entries) + 1
        record = make_record(raw, locator=f"entry/{n}", ledger_height=n)
        self.entries.append((Cursor((n,)), record))
        return record

    def describe(self) -> AdapterInfo:
        return AdapterInfo("memory-1", self.KIND, "test:ledger-1", "0", (self.mapping.info(),))

    def records(self, since: Cursor | None = None) -> Iterator[RecordPage]:
        return paginate(list(self.entries), since, self.page_size)

    def fetch(self, locator: str) -> SourceRecord:
        for _, record in self.entries:
            if record.locator == locator:
                return record
        raise InputError(f"no record {locator}")

    def translate(self, record: SourceRecord) -> Translation:
        return apply_mapping(self.mapping, record)

    def evidence_checker(self) -> DigestListChecker:
        return DigestListChecker()

    def health(self) -> Health:
        return Health("ok", ledger_height=len(self.entries))


class DigestListChecker:
    """Evidence is anchored when its record digest is in the anchor's pinned digest list."""

    def check(
        self,
        credential: Mapping[str, Any],
        evidence: Mapping[str, Any],
        anchor: Mapping[str, Any],
        *,
        at: datetime,
    ) -> EvidenceResult:
        parsed = LedgerEvidence.from_json(evidence)
        if parsed.record_digest in anchor.get("digests", []):
            return EvidenceResult((Check("memory.anchor", CheckStatus.PASSED),))
        return EvidenceResult(
            (Check("memory.anchor", CheckStatus.ERROR, (Problem("MEMORY_NO_ANCHOR", "not anchored"),)),)
        )


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
