"""``LedgerEvidence``: the JSON object a translated credential carries in ``evidence``.

Its terms are defined in vcgate's own context (``canonical_schema/contexts/vcgate-v1.jsonld``). The evidence
holds
every ledger fact a replay needs, so that anyone with the published mapping can rebuild the credential from
it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vcgate.canonical_schema import InputError

from ._mapping import CredentialMapping, IssuanceMode
from ._records import SourceRecord, copy_json, format_datetime, parse_datetime, raw_from_evidence

EVIDENCE_TYPE = "LedgerEvidence"

_REQUIRED = (
    "type",
    "ledgerId",
    "ledgerKind",
    "locator",
    "recordDigest",
    "proofMaterial",
    "nativeSigner",
    "ledgerTime",
    "ledgerHeight",
    "mappingId",
    "mappingDigest",
    "issuanceMode",
)
_OPTIONAL = ("channel", "rawRecord", "recordMediaType", "recordUri", "finality")


@dataclass(frozen=True, slots=True)
class LedgerEvidence:
    """A parsed ``LedgerEvidence`` object. Build with :meth:`from_record` or :meth:`from_json`."""

    ledger_id: str
    ledger_kind: str
    locator: str
    record_digest: str
    proof_material: Mapping[str, Any]
    native_signer: Mapping[str, Any]
    ledger_time: str
    ledger_height: int
    mapping_id: str
    mapping_digest: str
    issuance_mode: IssuanceMode
    channel: str | None = None
    raw_record: Any = None
    record_media_type: str | None = None
    record_uri: str | None = None
    finality: Mapping[str, Any] | None = None

    @classmethod
    def from_record(
        cls, record: SourceRecord, mapping: CredentialMapping, *, record_uri: str | None = None
    ) -> LedgerEvidence:
        """The evidence for translating ``record`` under ``mapping``."""
        return cls(
            ledger_id=record.ledger_id,
            ledger_kind=record.ledger_kind,
            locator=record.locator,
            record_digest=record.record_digest(),
            proof_material=dict(record.proof_material),
            native_signer=dict(record.native_signer),
            ledger_time=format_datetime(record.ledger_time),
            ledger_height=record.ledger_height,
            mapping_id=mapping.id,
            mapping_digest=mapping.digest,
            issuance_mode=mapping.issuance_mode,
            channel=record.channel,
            raw_record=record.encoded_raw() if mapping.embed_record else None,
            record_media_type=record.media_type if record.raw_bytes is not None else None,
            record_uri=record_uri,
            finality=dict(record.finality) if record.finality is not None else None,
        )

    @classmethod
    def from_json(cls, value: Any) -> LedgerEvidence:
        """Parse and check the shape of an evidence object; raise :class:`InputError` naming the bad field."""
        if not isinstance(value, Mapping):
            raise InputError("evidence must be an object")
        missing = [k for k in _REQUIRED if k not in value]
        if missing:
            raise InputError(f"LedgerEvidence lacks {', '.join(missing)}")
        unknown = sorted(set(value) - set(_REQUIRED) - set(_OPTIONAL) - {"id"})
        if unknown:
            raise InputError(f"LedgerEvidence has unknown fields {', '.join(unknown)}")
        if value["type"] != [EVIDENCE_TYPE] and value["type"] != EVIDENCE_TYPE:
            raise InputError(f"evidence type must be [{EVIDENCE_TYPE!r}]")

        def text(key: str, required: bool = True) -> str | None:
            v = value.get(key)
            if v is None and not required:
                return None
            if not isinstance(v, str) or not v:
                raise InputError(f"LedgerEvidence /{key} must be a non-empty string")
            return v

        def obj(key: str, required: bool = True) -> dict[str, Any] | None:
            v = value.get(key)
            if v is None and not required:
                return None
            if not isinstance(v, dict):
                raise InputError(f"LedgerEvidence /{key} must be an object")
            return dict(v)

        height = value["ledgerHeight"]
        if isinstance(height, bool) or not isinstance(height, int) or height < 0:
            raise InputError("LedgerEvidence /ledgerHeight must be a non-negative integer")
        mode = value["issuanceMode"]
        if mode not in ("partner", "witness"):
            raise InputError("LedgerEvidence /issuanceMode must be 'partner' or 'witness'")
        ledger_time = text("ledgerTime")
        assert ledger_time is not None
        parse_datetime(ledger_time)
        if "rawRecord" in value and not isinstance(value["rawRecord"], dict | str):
            raise InputError("LedgerEvidence /rawRecord must be an object or base64url text")
        return cls(
            ledger_id=str(text("ledgerId")),
            ledger_kind=str(text("ledgerKind")),
            locator=str(text("locator")),
            record_digest=str(text("recordDigest")),
            proof_material=obj("proofMaterial") or {},
            native_signer=obj("nativeSigner") or {},
            ledger_time=ledger_time,
            ledger_height=height,
            mapping_id=str(text("mappingId")),
            mapping_digest=str(text("mappingDigest")),
            issuance_mode=mode,
            channel=text("channel", required=False),
            raw_record=json.loads(json.dumps(value["rawRecord"])) if "rawRecord" in value else None,
            record_media_type=text("recordMediaType", required=False),
            record_uri=text("recordUri", required=False),
            finality=obj("finality", required=False),
        )

    def to_json(self) -> dict[str, Any]:
        """The JSON object, in a stable key order."""
        out: dict[str, Any] = {
            "type": [EVIDENCE_TYPE],
            "ledgerId": self.ledger_id,
            "ledgerKind": self.ledger_kind,
        }
        if self.channel is not None:
            out["channel"] = self.channel
        out["locator"] = self.locator
        if self.raw_record is not None:
            out["rawRecord"] = copy_json(self.raw_record)
        if self.record_media_type is not None:
            out["recordMediaType"] = self.record_media_type
        out["recordDigest"] = self.record_digest
        if self.record_uri is not None:
            out["recordUri"] = self.record_uri
        out["proofMaterial"] = copy_json(self.proof_material)
        out["nativeSigner"] = copy_json(self.native_signer)
        out["ledgerTime"] = self.ledger_time
        out["ledgerHeight"] = self.ledger_height
        if self.finality is not None:
            out["finality"] = copy_json(self.finality)
        out["mappingId"] = self.mapping_id
        out["mappingDigest"] = self.mapping_digest
        out["issuanceMode"] = self.issuance_mode
        return out

    def to_source_record(self, record: Mapping[str, Any] | bytes | None = None) -> SourceRecord:
        """Rebuild the source record the evidence describes, for replay.

        The raw record is taken from ``rawRecord``, or from ``record`` (fetched through ``recordUri`` or the
        adapter's ``fetch``) when the evidence carries only the digest. Raises :class:`InputError` when
        neither is
        available or the record does not match ``recordDigest``.
        """
        if self.raw_record is not None:
            raw = raw_from_evidence(self.raw_record, self.record_media_type)
        elif record is not None:
            raw = record
        else:
            raise InputError("the evidence carries only the record digest; fetch the raw record and pass it")
        media_type = self.record_media_type or "application/json"
        rebuilt = SourceRecord(
            ledger_id=self.ledger_id,
            ledger_kind=self.ledger_kind,
            locator=self.locator,
            raw=raw,
            native_signer=self.native_signer,
            ledger_time=parse_datetime(self.ledger_time),
            ledger_height=self.ledger_height,
            proof_material=self.proof_material,
            media_type=media_type,
            channel=self.channel,
            finality=self.finality,
        )
        digest = rebuilt.record_digest()
        if digest != self.record_digest:
            raise InputError(f"the raw record's digest {digest} does not match recordDigest {self.record_digest}")
        return rebuilt
