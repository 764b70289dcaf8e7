"""The Fabric part of ``LedgerEvidence``: record locators and the ``proofMaterial`` object.

``proofMaterial`` holds everything the offline checker needs besides the trust anchor (docs/fabric.md,
"Evidence"): the transaction envelope (whose endorsements cover the write set and event), where it sits (channel,
block number and header hash, tx index and id), who endorsed it, the validation code with the signed peer responses
that attest it, the config blocks from the genesis block to the one in force (they hold the MSP roots and
policies), the ``_lifecycle`` transaction that defined the chaincode's endorsement policy, and — when small enough —
the whole block, which lets the checker recompute the data hash and the orderer signature.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, unquote

from vcgate.canonical_schema import InputError, b64url, b64url_decode

SourceKind = Literal["write", "event"]

#: ``validationCode`` of a transaction whose block recorded no code (orderer-side blocks: an orderer's ledger or
#: Deliver, a stripped TRANSACTIONS_FILTER); only the peers' signed attestations can then show it VALID.
NOT_RECORDED = "NOT_RECORDED"

_LOCATOR = re.compile(r"^(\d+)/(\d+)/([^/]+)/(kv|event)/([^/#]+)(#supersedes)?$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _quote(text: str) -> str:
    # Keys may hold any UTF-8 (composite keys even hold U+0000): percent-encode everything but a safe set.
    return quote(text, safe="~-._")


def write_locator(block: int, tx_index: int, namespace: str, key: str) -> str:
    """The locator of a chaincode write: ``<block>/<tx index>/<namespace>/kv/<percent-encoded key>``."""
    return f"{block}/{tx_index}/{_quote(namespace)}/kv/{_quote(key)}"


def event_locator(block: int, tx_index: int, chaincode: str, event_name: str) -> str:
    """The locator of a chaincode event: ``<block>/<tx index>/<chaincode>/event/<percent-encoded name>``."""
    return f"{block}/{tx_index}/{_quote(chaincode)}/event/{_quote(event_name)}"


@dataclass(frozen=True, slots=True)
class Locator:
    """A parsed record locator."""

    block: int
    tx_index: int
    namespace: str
    kind: SourceKind
    name: str
    supersedes: bool = False

    @classmethod
    def parse(cls, text: str) -> Locator:
        """Parse a locator made by :func:`write_locator` / :func:`event_locator`; raise :class:`InputError`."""
        m = _LOCATOR.match(text) if isinstance(text, str) else None
        if m is None:
            raise InputError(f"{text!r} is not a Fabric record locator (<block>/<tx>/<namespace>/kv|event/<name>)")
        kind: SourceKind = "write" if m.group(4) == "kv" else "event"
        return cls(int(m.group(1)), int(m.group(2)), unquote(m.group(3)), kind, unquote(m.group(5)), bool(m.group(6)))


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"proofMaterial {where} must be a non-negative integer")
    return value


def _hex64(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _HEX64.match(value):
        raise InputError(f"proofMaterial {where} must be 64 lower-case hex characters (a SHA-256)")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise InputError(f"proofMaterial {where} must be a non-empty string")
    return value


def _bytes(value: Any, where: str) -> bytes:
    if not isinstance(value, str):
        raise InputError(f"proofMaterial {where} must be base64url text")
    try:
        return b64url_decode(value)
    except InputError as exc:
        raise InputError(f"proofMaterial {where} is not base64url: {exc}") from None


@dataclass(frozen=True, slots=True)
class EndorserRef:
    """An endorser named in evidence: MSP id and SHA-256 fingerprint of its certificate (DER)."""

    msp_id: str
    certificate_fingerprint: str

    def to_json(self) -> dict[str, str]:
        """JSON form."""
        return {"mspId": self.msp_id, "certificateFingerprint": self.certificate_fingerprint}


@dataclass(frozen=True, slots=True)
class DefinitionRef:
    """The ``_lifecycle`` CommitChaincodeDefinition transaction behind a chaincode's endorsement policy.

    Only its envelope: the endorsements in it are what the checker verifies. Its block number and index are not
    carried because nothing in the evidence could bind them (its block does not travel), and proof material the
    checker does not bind is a claim nobody checks (conformance case EVD-005).
    """

    envelope: bytes

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"envelope": b64url(self.envelope)}


@dataclass(frozen=True, slots=True)
class FabricProof:
    """A parsed Fabric ``proofMaterial``. Byte fields hold the exact ledger bytes (base64url in JSON)."""

    channel: str
    block_number: int
    block_header_hash: str
    data_hash: str
    tx_index: int
    tx_id: str
    envelope: bytes
    source_kind: SourceKind
    namespace: str
    name: str
    endorsers: tuple[EndorserRef, ...]
    validation_code: str
    attestations: tuple[bytes, ...]
    config_block_number: int
    config_block_hash: str
    config_blocks: tuple[bytes, ...]
    chaincode_definition: DefinitionRef | None
    block: bytes | None

    def to_json(self) -> dict[str, Any]:
        """The ``proofMaterial`` JSON object (stable key order)."""
        out: dict[str, Any] = {
            "channel": self.channel,
            "blockNumber": self.block_number,
            "blockHeaderHash": self.block_header_hash,
            "dataHash": self.data_hash,
            "txIndex": self.tx_index,
            "txId": self.tx_id,
            "source": (
                {"kind": "write", "namespace": self.namespace, "key": self.name}
                if self.source_kind == "write"
                else {"kind": "event", "chaincode": self.namespace, "eventName": self.name}
            ),
            "envelope": b64url(self.envelope),
            "endorsers": [e.to_json() for e in self.endorsers],
            "validationCode": self.validation_code,
            "validationAttestations": [b64url(a) for a in self.attestations],
            "configBlockNumber": self.config_block_number,
            "configBlockHash": self.config_block_hash,
        }
        if self.config_blocks:
            out["configBlocks"] = [b64url(b) for b in self.config_blocks]
        if self.chaincode_definition is not None:
            out["chaincodeDefinition"] = self.chaincode_definition.to_json()
        if self.block is not None:
            out["block"] = b64url(self.block)
        return out

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> FabricProof:
        """Parse and check the shape of a ``proofMaterial`` object; raise :class:`InputError` naming the field."""
        if not isinstance(value, Mapping):
            raise InputError("proofMaterial must be an object")
        known = {
            "channel", "blockNumber", "blockHeaderHash", "dataHash", "txIndex", "txId", "source", "envelope",
            "endorsers", "validationCode", "validationAttestations", "configBlockNumber", "configBlockHash",
            "configBlocks", "chaincodeDefinition", "block",
        }  # fmt: skip
        unknown = sorted(set(value) - known)
        if unknown:
            raise InputError(f"proofMaterial has unknown fields {', '.join(unknown)}")
        source = value.get("source")
        if not isinstance(source, Mapping) or source.get("kind") not in ("write", "event"):
            raise InputError('proofMaterial /source must be {"kind": "write"|"event", ...}')
        kind: SourceKind = source["kind"]
        if kind == "write":
            namespace, name = _text(source.get("namespace"), "/source/namespace"), source.get("key")
            if not isinstance(name, str):
                raise InputError("proofMaterial /source/key must be a string")
        else:
            namespace = _text(source.get("chaincode"), "/source/chaincode")
            name = _text(source.get("eventName"), "/source/eventName")
        endorsers = value.get("endorsers")
        if not isinstance(endorsers, list):
            raise InputError("proofMaterial /endorsers must be a list")
        refs = []
        for i, e in enumerate(endorsers):
            if not isinstance(e, Mapping):
                raise InputError(f"proofMaterial /endorsers/{i} must be an object")
            refs.append(
                EndorserRef(
                    _text(e.get("mspId"), f"/endorsers/{i}/mspId"),
                    _hex64(e.get("certificateFingerprint"), f"/endorsers/{i}/certificateFingerprint"),
                )
            )
        attestations = value.get("validationAttestations", [])
        if not isinstance(attestations, list):
            raise InputError("proofMaterial /validationAttestations must be a list")
        config_blocks = value.get("configBlocks", [])
        if not isinstance(config_blocks, list):
            raise InputError("proofMaterial /configBlocks must be a list")
        definition = None
        if "chaincodeDefinition" in value:
            d = value["chaincodeDefinition"]
            if not isinstance(d, Mapping):
                raise InputError("proofMaterial /chaincodeDefinition must be an object")
            if set(d) != {"envelope"}:
                raise InputError('proofMaterial /chaincodeDefinition must be {"envelope": <base64url>} exactly')
            definition = DefinitionRef(_bytes(d.get("envelope"), "/chaincodeDefinition/envelope"))
        return cls(
            channel=_text(value.get("channel"), "/channel"),
            block_number=_int(value.get("blockNumber"), "/blockNumber"),
            block_header_hash=_hex64(value.get("blockHeaderHash"), "/blockHeaderHash"),
            data_hash=_hex64(value.get("dataHash"), "/dataHash"),
            tx_index=_int(value.get("txIndex"), "/txIndex"),
            tx_id=_text(value.get("txId"), "/txId"),
            envelope=_bytes(value.get("envelope"), "/envelope"),
            source_kind=kind,
            namespace=namespace,
            name=name,
            endorsers=tuple(refs),
            validation_code=_text(value.get("validationCode"), "/validationCode"),
            attestations=tuple(_bytes(a, f"/validationAttestations/{i}") for i, a in enumerate(attestations)),
            config_block_number=_int(value.get("configBlockNumber"), "/configBlockNumber"),
            config_block_hash=_hex64(value.get("configBlockHash"), "/configBlockHash"),
            config_blocks=tuple(_bytes(b, f"/configBlocks/{i}") for i, b in enumerate(config_blocks)),
            chaincode_definition=definition,
            block=_bytes(value["block"], "/block") if "block" in value else None,
        )

    @property
    def locator(self) -> str:
        """The record locator this proof material describes."""
        if self.source_kind == "write":
            return write_locator(self.block_number, self.tx_index, self.namespace, self.name)
        return event_locator(self.block_number, self.tx_index, self.namespace, self.name)
