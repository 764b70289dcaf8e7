"""``EthereumAdapter``: the SDK adapter (API version 2) for Ethereum and other EVM chains.

Sources, all in one ordered record stream:

(a) EAS on-chain attestations, schema UID -> published mapping (``Attested``; ``Revoked`` becomes a ledger-native
    revocation record);
(b) EAS off-chain attestations (EIP-712) read from files or URLs;
(c) any contract's events through a mapping (address + event ABI);
(d) anchored credentials: ``AnchorRegistry.Anchored`` digests matched to credentials read from files or URLs.

Cursors: off-chain attestations first, ``(0, uid)``, then the chain, ``(1, block, blockHash, logIndex)``; the chain
is followed by :class:`LogScanner` (paging, finality line, reorg rewinds). A log that cannot become a credential
(unknown schema, malformed log, ABI mismatch, anchored credential not available) is still yielded, as a record whose
``translate`` raises a ``TranslationError`` naming it, so consumers report it in order and carry on.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Final

import httpx
from eth_abi.abi import decode as abi_decode
from eth_abi.abi import encode as abi_encode

from vcgate.adapters.sdk import (
    API_VERSION,
    AdapterInfo,
    CredentialMapping,
    Cursor,
    Health,
    RecordPage,
    RewindPage,
    SourceRecord,
    Translation,
    TranslationError,
    apply_mapping,
    paginate,
    revoked_credential_id,
)
from vcgate.canonical_schema import InputError, VcgateError

from ._anchored import AnchoredCredential, load_anchored_credentials
from ._checker import (
    ANCHORED_EVENT,
    KIND_ANCHORED,
    KIND_EAS,
    KIND_EAS_OFFCHAIN,
    KIND_EAS_REVOCATION,
    KIND_EVENT,
    LEDGER_KIND,
    EthereumEvidenceChecker,
    eas_raw_record,
    event_raw_record,
    offchain_as_attestation,
    signer_json,
    validity_beyond_expiration,
)
from ._eas import (
    _ATTESTATION_TUPLE,
    _GET_ATTESTATION,
    ATTESTED_EVENT,
    EAS_ATTESTATIONS_SLOT,
    REVOKED_EVENT,
    Attestation,
    EasReader,
    EasSchema,
    OffchainAttestation,
    _struct_base,
    check_offchain_attestation,
)
from ._encoding import caip2_chain, hex_quantity, hex_to_bytes, parse_address, to_hex
from ._errors import EthereumError, EvidenceBuildError, LedgerUnavailableError
from ._events import EventAbi, address_topic, canonical_event_entry, decode_event
from ._evidence_builder import build_state_evidence
from ._rpc import JsonRpcClient
from ._sync import AFTER_BLOCK, CHAIN_PHASE, ChainPosition, Finality, LogScanner, ScannedLog, ScanPage

VERSION: Final = "1.0.0"
OFFCHAIN_PHASE: Final = 0

#: vcgate's EAS schema for IP licences, mapped by ``mappings/eas-ip-licence.yaml`` (profile ``ip-licence``).
IP_LICENCE_SCHEMA: Final = (
    "string licenseId,string ipRightsCredential,string ipRightsType,string recordationNumber,string licenseeDid,"
    "string licenseeName,string[] gtins,string[] territories,uint64 termStart,uint64 termEnd,string conditions"
)
#: vcgate's EAS schema for natural-gas producer environmental passports, mapped by
#: ``mappings/eas-gas-passport.yaml`` (profile ``gas-passport``).
GAS_PASSPORT_SCHEMA: Final = (
    "string passportNumber,string producerDid,string producerName,string methaneIntensity,uint64 validFrom,"
    "uint64 validUntil"
)
_PROFILES: Final = {
    "ip-licence": (IP_LICENCE_SCHEMA, "eas-ip-licence.yaml"),
    "gas-passport": (GAS_PASSPORT_SCHEMA, "eas-gas-passport.yaml"),
}
_ANCHORED_MAPPING: Final = "anchored-ip-licence.yaml"
_CALL_BATCH = 200


def builtin_mapping(name: str) -> CredentialMapping:
    """A mapping published with the adapter (``mappings/<name>``)."""
    text = resources.files(__package__).joinpath(f"mappings/{name}").read_text(encoding="utf-8")
    return CredentialMapping.from_text(text, source=f"vcgate.adapters.ethereum/mappings/{name}")


@dataclass(frozen=True, slots=True)
class _SchemaSource:
    schema: EasSchema
    mapping: CredentialMapping


@dataclass(frozen=True, slots=True)
class _EventSource:
    address: str
    event: EventAbi
    abi_entry: Mapping[str, Any]
    mapping: CredentialMapping


def _setting(config: Mapping[str, Any], key: str, kind: type, default: Any = None) -> Any:
    value = config.get(key, default)
    if value is None:
        return None
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise InputError(f"setting {key!r} must be an integer")
    if kind is not int and not isinstance(value, kind):
        raise InputError(f"setting {key!r} must be a {kind.__name__}")
    return value


def _mapping(base: Path, value: Any, default: str | None, where: str) -> CredentialMapping:
    if value is None:
        if default is None:
            raise InputError(f"{where} needs a 'mapping' (a mapping file)")
        return builtin_mapping(default)
    if isinstance(value, str) and value.startswith("builtin:"):
        return builtin_mapping(value.removeprefix("builtin:"))
    if isinstance(value, Mapping):
        return CredentialMapping.from_json(value, source=where)
    return CredentialMapping.from_file(base / str(value))


def _event_abi(base: Path, item: Mapping[str, Any], where: str) -> tuple[EventAbi, Mapping[str, Any]]:
    abi = item.get("abi")
    if isinstance(abi, str):
        try:
            abi = json.loads((base / abi).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{where}: cannot read ABI {abi}: {exc}") from None
    if isinstance(abi, Mapping) and "abi" in abi:  # a compiler artifact
        abi = abi["abi"]
    if isinstance(abi, Mapping):
        abi = [abi]
    if not isinstance(abi, list):
        raise InputError(f"{where}: 'abi' must be an ABI (file, list or one event entry)")
    name = item.get("event")
    entries = [e for e in abi if isinstance(e, Mapping) and e.get("type") == "event"]
    if name is not None:
        entries = [e for e in entries if e.get("name") == name]
    if len(entries) != 1:
        raise InputError(f"{where}: name exactly one event ('event: Name'); found {len(entries)} candidates")
    return EventAbi.from_abi(entries[0]), dict(entries[0])


class EthereumAdapter:
    """Ethereum / EVM chains: EAS attestations (on- and off-chain), contract events and anchored credentials."""

    API_VERSION: ClassVar[int] = API_VERSION
    KIND: ClassVar[str] = LEDGER_KIND

    def __init__(
        self,
        *,
        adapter_id: str,
        chain_id: int,
        rpc_url: str | None,
        client: JsonRpcClient | None = None,
        eas_address: str | None = None,
        eas_attesters: Sequence[str] = (),
        attestations_slot: int = EAS_ATTESTATIONS_SLOT,
        schemas: Sequence[_SchemaSource] = (),
        events: Sequence[_EventSource] = (),
        anchor_registry: str | None = None,
        anchored_mapping: CredentialMapping | None = None,
        anchored_locations: Sequence[str] = (),
        offchain_locations: Sequence[str] = (),
        signers: Mapping[str, str] | None = None,
        witness: str | None = None,
        start_block: int = 0,
        block_range: int = 2000,
        page_size: int = 100,
        finality: Finality | None = None,
        reorg_rewind: int = 64,
        descendants: int = 0,
        base: Path = Path("."),
        rpc_options: Mapping[str, Any] | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.adapter_id = adapter_id
        #: The ingest instant: an attestation whose expirationTime is not after it is reported, never translated.
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.chain_id = chain_id
        self.ledger_id = caip2_chain(chain_id)
        self._rpc_url = rpc_url
        self._client = client
        self._rpc_options = dict(rpc_options or {})
        self.eas_address = parse_address(eas_address) if eas_address else None
        self.eas_attesters = [parse_address(a) for a in eas_attesters]
        self.attestations_slot = attestations_slot
        self._schemas = {s.schema.uid: s for s in schemas}
        self._events = {(e.address, e.event.topic): e for e in events}
        self.anchor_registry = parse_address(anchor_registry) if anchor_registry else None
        self._anchored_mapping = anchored_mapping
        self._anchored_locations = list(anchored_locations)
        self._offchain_locations = list(offchain_locations)
        self._signers = {parse_address(k): v for k, v in (signers or {}).items()}
        self.witness = witness
        self.start_block = start_block
        self.block_range = block_range
        self.page_size = page_size
        self.finality = finality or Finality()
        self.reorg_rewind = reorg_rewind
        self.descendants = descendants
        self._base = base
        self._chain_checked = False
        self._anchored: dict[bytes, AnchoredCredential] | None = None

    # -- configuration ------------------------------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: Mapping[str, Any], *, clock: Callable[[], datetime] | None = None) -> EthereumAdapter:
        """Build from a configuration mapping (YAML/JSON; see docs/ethereum.md, "The adapter"). Does no I/O beyond
        reading mapping and ABI files. Raises ``InputError`` naming the bad setting. ``clock`` gives the ingest
        instant (default: the machine clock)."""
        base = Path(str(config.get("configDir", ".")))
        adapter_id = _setting(config, "id", str)
        chain_id = _setting(config, "chainId", int)
        if not adapter_id or chain_id is None or chain_id < 1:
            raise InputError("settings 'id' (a name) and 'chainId' (the chain's EIP-155 id) are required")
        eas = config.get("eas") or {}
        schemas = []
        for i, item in enumerate(eas.get("schemas") or []):
            where = f"eas.schemas[{i}]"
            profile = item.get("profile")
            if profile is not None and profile not in _PROFILES:
                raise InputError(f"{where}: unknown profile {profile!r} (known: {', '.join(_PROFILES)})")
            definition = item.get("definition") or (_PROFILES[profile][0] if profile else None)
            if not isinstance(definition, str):
                raise InputError(f"{where} needs a 'definition' (the EAS schema string) or a 'profile'")
            schema = EasSchema(
                definition, parse_address(item.get("resolver", "0x" + "00" * 20)), bool(item.get("revocable", True))
            )
            mapping = _mapping(base, item.get("mapping"), _PROFILES[profile][1] if profile else None, where)
            schemas.append(_SchemaSource(schema, mapping))
        if schemas and not eas.get("address") and not config.get("offchain"):
            raise InputError("setting 'eas.address' (the EAS contract) is required with 'eas.schemas'")
        events = []
        for i, item in enumerate(config.get("events") or []):
            where = f"events[{i}]"
            event, entry = _event_abi(base, item, where)
            events.append(
                _EventSource(
                    parse_address(item.get("address"), what=f"{where}.address"),
                    event,
                    entry,
                    _mapping(base, item.get("mapping"), None, where),
                )
            )
        anchored = config.get("anchored") or {}
        finality = Finality.from_config(config.get("finality"))
        rpc_url = _setting(config, "rpcUrl", str)
        chain_sources = bool(eas.get("address") or events or anchored.get("registry"))
        if chain_sources and not rpc_url:
            raise InputError("setting 'rpcUrl' (the node's JSON-RPC URL) is required to read the chain")
        page_size = _setting(config, "pageSize", int, 100)
        block_range = _setting(config, "blockRange", int, 2000)
        if page_size < 1 or block_range < 1:
            raise InputError("settings 'pageSize' and 'blockRange' must be positive")
        return cls(
            adapter_id=adapter_id,
            chain_id=chain_id,
            rpc_url=rpc_url,
            eas_address=eas.get("address"),
            eas_attesters=list(eas.get("attesters") or []),
            attestations_slot=int(eas.get("attestationsSlot", EAS_ATTESTATIONS_SLOT)),
            schemas=schemas,
            events=events,
            anchor_registry=anchored.get("registry"),
            anchored_mapping=_mapping(base, anchored.get("mapping"), _ANCHORED_MAPPING, "anchored")
            if anchored.get("registry")
            else None,
            anchored_locations=[str(x) for x in anchored.get("credentials") or []],
            offchain_locations=[str(x) for x in config.get("offchain") or []],
            signers=dict(config.get("signers") or {}),
            witness=_setting(config, "witness", str),
            start_block=_setting(config, "startBlock", int, 0),
            block_range=block_range,
            page_size=page_size,
            finality=finality,
            reorg_rewind=_setting(config, "reorgRewind", int, 64),
            descendants=_setting(config, "descendants", int, 0),
            base=base,
            rpc_options=dict(config.get("rpc") or {}),
            clock=clock,
        )

    # -- plumbing ----------------------------------------------------------------------------------------------

    @property
    def client(self) -> JsonRpcClient:
        """The JSON-RPC client (made on first use)."""
        if self._client is None:
            if not self._rpc_url:
                raise InputError(f"adapter {self.adapter_id} has no 'rpcUrl'")
            options = {k: self._rpc_options[k] for k in ("timeout", "retries", "backoff") if k in self._rpc_options}
            self._client = JsonRpcClient(self._rpc_url, **options)
        return self._client

    def _check_chain(self) -> None:
        if self._chain_checked:
            return
        actual = self.client.chain_id()
        if actual != self.chain_id:
            raise EthereumError(
                f"the node at {self.client.endpoint} serves chain {actual}, but adapter {self.adapter_id} is "
                f"configured for chainId {self.chain_id}; fix 'rpcUrl' or 'chainId'"
            )
        self._chain_checked = True

    def _scanner(self) -> LogScanner:
        addresses: list[str] = []
        topics: list[bytes] = []
        filters: list[dict[str, Any]] = []
        if self.eas_address and self._schemas:
            eas_topics = [to_hex(ATTESTED_EVENT.topic), to_hex(REVOKED_EVENT.topic)]
            if self.eas_attesters:
                # Attested and Revoked index the attester as topic 2: the node returns only the chosen attesters'.
                attesters = [to_hex(address_topic(a)) for a in self.eas_attesters]
                filters.append({"address": [self.eas_address], "topics": [eas_topics, None, attesters]})
            else:
                addresses.append(self.eas_address)
                topics += [ATTESTED_EVENT.topic, REVOKED_EVENT.topic]
        for address, topic in self._events:
            addresses.append(address)
            topics.append(topic)
        if self.anchor_registry:
            addresses.append(self.anchor_registry)
            topics.append(ANCHORED_EVENT.topic)
        scanner = LogScanner(
            self.client,
            addresses=sorted(set(addresses)),
            topics=sorted(set(topics)),
            start_block=self.start_block,
            block_range=self.block_range,
            finality=self.finality,
            reorg_rewind=self.reorg_rewind,
            descendants=self.descendants,
            filters=filters,
        )
        scanner._chain_id = self.chain_id  # checked by _check_chain
        return scanner

    def _expired(self, expiration_time: int) -> str | None:
        """Why an attestation is expired at ingest (``None``: it has no expiry, or it is still in force)."""
        now = self.clock()
        if expiration_time == 0 or expiration_time > now.timestamp():
            return None
        return (
            f"the attestation expired at {datetime.fromtimestamp(expiration_time, UTC).isoformat()} (ingested at "
            f"{now.astimezone(UTC).isoformat()}); a credential from it would claim a validity its attester ended"
        )

    def _did(self, address: str) -> str | None:
        return self._signers.get(address)

    def _problem_record(self, locator: str, code: str, detail: str, item: ScannedLog | None = None) -> SourceRecord:
        """A record that cannot be translated: ``translate`` raises ``TranslationError(code)`` naming it."""
        raw: dict[str, Any] = {"source": "problem", "code": code, "detail": f"record {locator}: {detail}"}
        height, when = 0, datetime.fromtimestamp(0, UTC)
        signer = {"kind": "ethereum-address"}
        if item is not None:
            raw["log"] = {
                "address": item.address,
                "topics": [to_hex(t) for t in item.topics],
                "data": to_hex(item.data),
                "transactionHash": item.transaction_hash,
                "blockNumber": item.position.block,
                "logIndex": item.position.log_index,
            }
            height, when = item.position.block, datetime.fromtimestamp(item.timestamp, UTC)
            if item.evidence.log is not None:
                signer = signer_json(self.chain_id, item.evidence.log.sender)
        return SourceRecord(
            ledger_id=self.ledger_id,
            ledger_kind=self.KIND,
            locator=locator,
            raw=raw,
            native_signer=signer,
            ledger_time=when,
            ledger_height=height,
            proof_material={"kind": "problem"},
        )

    def _finality_json(self, page: ScanPage, block: int) -> dict[str, Any]:
        out: dict[str, Any] = {"finalBlock": page.final_block}
        if self.finality.tag:
            out["mode"] = "tag"
            out["tag"] = self.finality.tag
        else:
            out["mode"] = "confirmations"
            out["required"] = self.finality.confirmations
        # The head the adapter saw is an observation, not a proof (only an anchor or descendant headers prove depth),
        # so it lives here, outside proofMaterial, whose every value the offline checker binds.
        if page.head is not None:
            out["headNumber"] = page.head.head_number
            out["headHash"] = to_hex(page.head.head_hash)
            out["observedConfirmations"] = max(0, page.head.head_number - block)
        return out

    # -- records from the chain --------------------------------------------------------------------------------

    def _attestations(self, uids: Sequence[tuple[bytes, int]]) -> dict[bytes, Attestation]:
        """``getAttestation`` for many UIDs (each at its block), in JSON-RPC batches."""
        reader = EasReader(self.client, str(self.eas_address), attestations_slot=self.attestations_slot)
        out: dict[bytes, Attestation] = {}
        for start in range(0, len(uids), _CALL_BATCH):
            chunk = uids[start : start + _CALL_BATCH]
            calls = [
                (
                    "eth_call",
                    [
                        {"to": reader.eas_address, "data": to_hex(_GET_ATTESTATION + abi_encode(["bytes32"], [uid]))},
                        hex(block),
                    ],
                )
                for uid, block in chunk
            ]
            for (uid, _), result in zip(chunk, self.client.batch(calls), strict=True):
                try:
                    (value,) = abi_decode([_ATTESTATION_TUPLE], hex_to_bytes(result, what="eth_call result"))
                except Exception as exc:  # eth-abi decoding errors, converted at the boundary
                    raise EvidenceBuildError(
                        f"getAttestation({to_hex(uid)}) returned undecodable data: {exc}"
                    ) from None
                if bytes(value[0]) != uid:
                    raise EvidenceBuildError(f"EAS {reader.eas_address} has no attestation {to_hex(uid)}")
                out[uid] = Attestation(
                    uid=bytes(value[0]),
                    schema=bytes(value[1]),
                    time=value[2],
                    expiration_time=value[3],
                    revocation_time=value[4],
                    ref_uid=bytes(value[5]),
                    recipient=parse_address(value[6]),
                    attester=parse_address(value[7]),
                    revocable=bool(value[8]),
                    data=bytes(value[9]),
                )
        return out

    def _chain_records(self, page: ScanPage) -> list[tuple[ChainPosition, SourceRecord]]:
        attested: list[tuple[ScannedLog, dict[str, Any]]] = []
        pending: dict[int, tuple[ChainPosition, SourceRecord] | None] = {}
        decoded: list[tuple[ScannedLog, str, dict[str, Any]]] = []
        for item in page.logs:
            topic = item.topics[0] if item.topics else b""
            locator = (
                f"tx/{item.transaction_hash}/log/{item.evidence.log.receipt_log_index if item.evidence.log else 0}"
            )
            try:
                if item.address == self.eas_address and topic == ATTESTED_EVENT.topic:
                    args = decode_event(ATTESTED_EVENT, item.topics, item.data)
                    attested.append((item, args))
                    decoded.append((item, "attested", args))
                elif item.address == self.eas_address and topic == REVOKED_EVENT.topic:
                    decoded.append((item, "revoked", decode_event(REVOKED_EVENT, item.topics, item.data)))
                elif item.address == self.anchor_registry and topic == ANCHORED_EVENT.topic:
                    decoded.append((item, "anchored", decode_event(ANCHORED_EVENT, item.topics, item.data)))
                elif (item.address, topic) in self._events:
                    source = self._events[(item.address, topic)]
                    try:
                        args = decode_event(source.event, item.topics, item.data)
                    except InputError as exc:
                        pending[id(item)] = (
                            item.position,
                            self._problem_record(
                                locator,
                                "ETHEREUM_ABI_MISMATCH",
                                f"the log does not decode as {source.event.signature}: {exc}",
                                item,
                            ),
                        )
                        continue
                    decoded.append((item, "event", args))
            except InputError as exc:
                pending[id(item)] = (
                    item.position,
                    self._problem_record(locator, "ETHEREUM_LOG_MALFORMED", f"malformed log: {exc}", item),
                )
        known = [
            (bytes(args["uid"]), item.position.block)
            for item, args in attested
            if bytes(args["schemaUID"]) in self._schemas
        ]
        attestations = self._attestations(known) if known else {}

        for item, what, args in decoded:
            pending[id(item)] = (item.position, self._record_for(page, item, what, args, attestations))
        out = []
        for item in page.logs:
            entry = pending.get(id(item))
            if entry is not None:
                out.append(entry)
        return out

    def _record_for(
        self,
        page: ScanPage,
        item: ScannedLog,
        what: str,
        args: Mapping[str, Any],
        attestations: Mapping[bytes, Attestation],
    ) -> SourceRecord:
        assert item.evidence.log is not None
        when = datetime.fromtimestamp(item.timestamp, UTC)
        locator = f"tx/{item.transaction_hash}/log/{item.evidence.log.receipt_log_index}"
        common: dict[str, Any] = {
            "ledger_id": self.ledger_id,
            "ledger_kind": self.KIND,
            "ledger_time": when,
            "ledger_height": item.position.block,
            "finality": self._finality_json(page, item.position.block),
        }
        if what == "attested":
            uid = bytes(args["uid"])
            locator = f"eas/{to_hex(uid)}"
            source = self._schemas.get(bytes(args["schemaUID"]))
            if source is None:
                return self._problem_record(
                    locator,
                    "ETHEREUM_UNKNOWN_SCHEMA",
                    f"attestation under schema {to_hex(bytes(args['schemaUID']))}, which no configured mapping covers",
                    item,
                )
            attestation = attestations[uid]
            expired = self._expired(attestation.expiration_time)
            if expired:
                return self._problem_record(locator, "ETHEREUM_ATTESTATION_EXPIRED", expired, item)
            try:
                raw = eas_raw_record(self.chain_id, attestation, source.schema)
            except InputError as exc:
                return self._problem_record(locator, "ETHEREUM_DATA_UNDECODABLE", str(exc), item)
            return SourceRecord(
                locator=locator,
                raw=raw,
                native_signer=signer_json(self.chain_id, attestation.attester, self._did(attestation.attester)),
                proof_material={
                    "kind": KIND_EAS,
                    "easAddress": self.eas_address,
                    "ethereum": item.evidence.without_unproven().to_json(),
                },
                **common,
            )
        if what == "revoked":
            uid = bytes(args["uid"])
            attester = parse_address(str(args["attester"]))
            state = build_state_evidence(
                self.client,
                str(self.eas_address),
                [_struct_base(uid, self.attestations_slot), _struct_base(uid, self.attestations_slot) + 2],
                block=item.position.block,
                descendants=self.descendants,
            )
            if to_hex(state.block_hash) != item.position.block_hash:
                raise EvidenceBuildError("the chain reorganised while collecting a revocation proof; sync again")
            times = state.state.storage[1].value if state.state is not None else 0
            return SourceRecord(
                locator=f"eas-revocation/{to_hex(uid)}",
                raw={
                    "source": "eas-revocation",
                    "uid": to_hex(uid),
                    "schema": to_hex(bytes(args["schemaUID"])),
                    "attester": attester,
                    "revocationTime": (times >> 128) & ((1 << 64) - 1),
                },
                native_signer=signer_json(self.chain_id, attester, self._did(attester)),
                proof_material={
                    "kind": KIND_EAS_REVOCATION,
                    "easAddress": self.eas_address,
                    "uid": to_hex(uid),
                    "attestationsSlot": self.attestations_slot,
                    "ethereum": state.without_unproven().to_json(),
                },
                kind="revocation",
                supersedes=f"eas/{to_hex(uid)}",
                **common,
            )
        if what == "anchored":
            digest = bytes(args["digest"])
            credential = self._anchored_credentials().get(digest)
            if credential is None:
                return self._problem_record(
                    locator,
                    "ETHEREUM_ANCHORED_CREDENTIAL_UNAVAILABLE",
                    f"digest {digest.hex()} is anchored, but none of the configured credentials hashes to it",
                    item,
                )
            anchorer = parse_address(str(args["anchorer"]))
            uri = str(args["uri"])
            proof: dict[str, Any] = {
                "kind": KIND_ANCHORED,
                "registry": self.anchor_registry,
                "ethereum": item.evidence.without_unproven().to_json(),
            }
            if uri.startswith(("http://", "https://")):
                proof["uri"] = uri
            return SourceRecord(
                locator=locator,
                raw=dict(credential.credential),
                native_signer=signer_json(self.chain_id, anchorer, self._did(anchorer)),
                proof_material=proof,
                **common,
            )
        source_event = self._events[(item.address, item.topics[0])]
        sender = item.evidence.log.sender
        return SourceRecord(
            locator=locator,
            raw=event_raw_record(self.chain_id, source_event.event, item.address, args),
            native_signer=signer_json(self.chain_id, sender, self._did(sender)),
            proof_material={
                "kind": KIND_EVENT,
                "event": canonical_event_entry(source_event.abi_entry),
                "ethereum": item.evidence.without_unproven().to_json(),
            },
            **common,
        )

    def _anchored_credentials(self) -> dict[bytes, AnchoredCredential]:
        if self._anchored is None:
            loaded = load_anchored_credentials(self._anchored_locations, base=self._base)
            self._anchored = {c.digest: c for c in loaded}
        return self._anchored

    # -- off-chain attestations ------------------------------------------------------------------------------

    def _offchain_documents(self) -> list[tuple[str, Any]]:
        documents: list[tuple[str, Any]] = []
        for location in self._offchain_locations:
            if location.startswith(("http://", "https://")):
                try:
                    response = httpx.get(location, timeout=10.0, trust_env=False)
                    response.raise_for_status()
                    value = response.json()
                except (httpx.HTTPError, ValueError) as exc:
                    raise LedgerUnavailableError(location, f"fetching off-chain attestations failed ({exc})") from None
                items = value if isinstance(value, list) else [value]
                documents += [(location, v) for v in items]
                continue
            path = self._base / location
            files = sorted(path.glob("*.json")) if path.is_dir() else [path]
            for file in files:
                try:
                    value = json.loads(file.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise InputError(f"cannot read off-chain attestation {file}: {exc}") from None
                items = value if isinstance(value, list) else [value]
                documents += [(str(file), v) for v in items]
        return documents

    def _offchain_entries(self) -> list[tuple[Cursor, SourceRecord]]:
        entries: dict[str, SourceRecord] = {}
        for where, document in self._offchain_documents():
            try:
                attestation = OffchainAttestation.from_json(document)
            except InputError as exc:
                key = f"malformed/{where}"
                entries[key] = self._problem_record(
                    f"eas-offchain/{where}", "ETHEREUM_OFFCHAIN_MALFORMED", f"{where}: {exc}"
                )
                continue
            uid = to_hex(attestation.uid)
            locator = f"eas-offchain/{uid}"
            # The attester is whoever the EIP-712 signature recovers; `at` = the attestation's own time, because
            # only its signature and UID are judged here (the evidence checker judges time against its `at`).
            result = check_offchain_attestation(
                attestation, at=datetime.fromtimestamp(attestation.time, UTC), chain_id=self.chain_id
            )
            if result.status != "verified" or result.attester is None:
                codes = ", ".join(p.code for p in result.problems)
                entries[uid] = self._problem_record(
                    locator, "ETHEREUM_OFFCHAIN_INVALID", f"the off-chain attestation does not verify ({codes})"
                )
                continue
            source = self._schemas.get(hex_to_bytes(attestation.schema, what="schema", length=32))
            if source is None:
                entries[uid] = self._problem_record(
                    locator, "ETHEREUM_UNKNOWN_SCHEMA", f"schema {attestation.schema} has no configured mapping"
                )
                continue
            if self.eas_attesters and result.attester not in self.eas_attesters:
                entries[uid] = self._problem_record(
                    locator,
                    "ETHEREUM_ATTESTER_NOT_CONFIGURED",
                    f"signed by {result.attester}, which is not one of the configured eas.attesters",
                )
                continue
            expired = self._expired(attestation.expiration_time)
            if expired:
                entries[uid] = self._problem_record(locator, "ETHEREUM_ATTESTATION_EXPIRED", expired)
                continue
            try:
                raw = eas_raw_record(
                    self.chain_id, offchain_as_attestation(attestation, result.attester), source.schema, offchain=True
                )
            except InputError as exc:
                entries[uid] = self._problem_record(locator, "ETHEREUM_DATA_UNDECODABLE", str(exc))
                continue
            entries[uid] = SourceRecord(
                ledger_id=self.ledger_id,
                ledger_kind=self.KIND,
                locator=locator,
                raw=raw,
                native_signer=signer_json(self.chain_id, result.attester, self._did(result.attester)),
                ledger_time=datetime.fromtimestamp(attestation.time, UTC),
                ledger_height=0,
                proof_material={"kind": KIND_EAS_OFFCHAIN, "attestation": dict(attestation.raw)},
            )
        return [(Cursor((OFFCHAIN_PHASE, key)), entries[key]) for key in sorted(entries)]

    # -- the adapter interface ---------------------------------------------------------------------------------

    def describe(self) -> AdapterInfo:
        """Id, kind ``ethereum``, ledger ``eip155:<chainId>``, version and every published mapping in use."""
        mappings = {m.id + m.digest: m for m in self._all_mappings()}
        sources = []
        if self.eas_address:
            sources.append(f"EAS {self.eas_address} ({len(self._schemas)} schemas)")
        if self._offchain_locations:
            sources.append(f"off-chain attestations from {len(self._offchain_locations)} locations")
        if self._events:
            sources.append(f"{len(self._events)} contract events")
        if self.anchor_registry:
            sources.append(f"AnchorRegistry {self.anchor_registry}")
        return AdapterInfo(
            id=self.adapter_id,
            kind=self.KIND,
            ledger_id=self.ledger_id,
            version=VERSION,
            mappings=tuple(m.info() for m in mappings.values()),
            description="; ".join(sources) + f"; finality {self.finality.describe()}",
        )

    def published_mappings(self) -> tuple[CredentialMapping, ...]:
        """Every mapping this instance translates with (the gateway stores them so replay can rebuild credentials)."""
        return tuple({(m.id, m.digest): m for m in self._all_mappings()}.values())

    def _all_mappings(self) -> list[CredentialMapping]:
        out = [s.mapping for s in self._schemas.values()] + [e.mapping for e in self._events.values()]
        if self._anchored_mapping is not None:
            out.append(self._anchored_mapping)
        return out

    def records(self, since: Cursor | None = None) -> Iterator[RecordPage]:
        """Off-chain attestations (by UID), then chain records up to the finality line, ``pageSize`` at a time; a
        :class:`RewindPage` reports a reorg. Raises ``LedgerUnavailableError`` / ``RpcResponseError`` when the node
        fails (after retries) and ``EvidenceBuildError`` / ``ReorgError`` when its data is inconsistent."""
        position = since.position if since is not None else ()
        if position and position[0] not in (OFFCHAIN_PHASE, CHAIN_PHASE):
            raise InputError(f"cursor {position!r} was not made by the Ethereum adapter")
        if self._offchain_locations and (not position or position[0] == OFFCHAIN_PHASE):
            yield from paginate(self._offchain_entries(), since if position else None, self.page_size)
        if not (self.eas_address and self._schemas) and not self._events and not self.anchor_registry:
            return
        self._check_chain()
        chain_since = ChainPosition.from_cursor(since)
        for page in self._scanner().scan(chain_since):
            if page.rewound_from is not None:
                target = page.next_position or ChainPosition(self.start_block - 1, "", AFTER_BLOCK)
                # Keep height 0 at least: the genesis block cannot reorganise, and off-chain attestations sit at
                # height 0; dropping them on a rewind near the start block would lose them for good.
                keep = max(target.block, 0)
                yield RewindPage((), target.to_cursor(), page.rewound_from.to_cursor(), keep)
                continue
            entries = self._chain_records(page)
            for start in range(0, len(entries), self.page_size):
                chunk = entries[start : start + self.page_size]
                last = start + self.page_size >= len(entries)
                cursor = page.next_position if last and page.next_position else chunk[-1][0]
                yield RecordPage(tuple(r for _, r in chunk), cursor.to_cursor())
            if not entries and page.next_position is not None:
                yield RecordPage((), page.next_position.to_cursor())

    def fetch(self, locator: str) -> SourceRecord:
        """The record at ``locator`` (``eas/<uid>``, ``eas-revocation/<uid>``, ``eas-offchain/<uid>``,
        ``tx/<hash>/log/<n>``: every locator :meth:`records` yields); raises ``InputError`` when there is none."""
        if locator.startswith("eas-offchain/"):
            for _, record in self._offchain_entries():
                if record.locator == locator:
                    return record
            raise InputError(f"no off-chain attestation {locator} in the configured locations")
        self._check_chain()
        if locator.startswith("eas/"):
            uid = hex_to_bytes(locator.removeprefix("eas/"), what="uid", length=32)
            if not self.eas_address:
                raise InputError("this adapter reads no EAS contract")
            number = self._attested_block(uid)
        elif locator.startswith("eas-revocation/"):
            uid = hex_to_bytes(locator.removeprefix("eas-revocation/"), what="uid", length=32)
            if not self.eas_address:
                raise InputError("this adapter reads no EAS contract")
            number = self._revoked_block(uid)
        elif locator.startswith("tx/"):
            tx_hash = locator.split("/")[1]
            number = hex_quantity(self.client.get_transaction_receipt(tx_hash)["blockNumber"], what="blockNumber")
        else:
            raise InputError(
                f"locator {locator!r} is not one of eas/<uid>, eas-revocation/<uid>, eas-offchain/<uid>, "
                "tx/<hash>/log/<n>"
            )
        # The record's finality reports the chain's finality line, as records() does, not the one-block window
        # scanned here (conformance ADP-005: fetch(locator) gives the listed record).
        final_line, _ = self._scanner().final_block()
        scanner = self._scanner()
        scanner.start_block = number
        scanner.finality = Finality(confirmations=0)
        for page in scanner.scan(None, until=number):
            for _, record in self._chain_records(replace(page, final_block=final_line)):
                if record.locator == locator:
                    return record
        raise InputError(f"no record {locator} on {self.ledger_id}")

    def _attested_block(self, uid: bytes) -> int:
        """The block of attestation ``uid``'s ``Attested`` event. EAS stores the block time, not the number, so
        search the blocks with that timestamp for the event (filtered on its indexed attester and schema)."""
        reader = EasReader(self.client, str(self.eas_address), attestations_slot=self.attestations_slot)
        attestation = reader.get_attestation(uid)
        head = self.client.block_number()
        first = self._first_block_at(attestation.time, head)
        last = self._first_block_at(attestation.time + 1, head) - 1
        for event in reader.attested(
            from_block=first, to_block=max(first, last), schema_uid=attestation.schema, attester=attestation.attester
        ):
            if bytes(event.args["uid"]) == uid:
                return event.block_number
        raise InputError(f"no Attested event for {to_hex(uid)} between blocks {first} and {last}")

    def _revoked_block(self, uid: bytes) -> int:
        """The block of attestation ``uid``'s ``Revoked`` event: the one stamped with its ``revocationTime`` (found
        as :meth:`_attested_block` finds attestations; EAS lets only the attester revoke, so it is the revoker)."""
        reader = EasReader(self.client, str(self.eas_address), attestations_slot=self.attestations_slot)
        attestation = reader.get_attestation(uid)
        if not attestation.revoked:
            raise InputError(f"attestation {to_hex(uid)} is not revoked on {self.ledger_id}")
        head = self.client.block_number()
        first = self._first_block_at(attestation.revocation_time, head)
        last = self._first_block_at(attestation.revocation_time + 1, head) - 1
        for event in reader.revoked(
            from_block=first, to_block=max(first, last), schema_uid=attestation.schema, attester=attestation.attester
        ):
            if bytes(event.args["uid"]) == uid:
                return event.block_number
        raise InputError(f"no Revoked event for {to_hex(uid)} between blocks {first} and {last}")

    def _first_block_at(self, timestamp: int, head: int) -> int:
        """The first block whose timestamp is ``timestamp`` or later (``head + 1`` when there is none)."""
        low, high = 0, head + 1
        while low < high:
            middle = (low + high) // 2
            if hex_quantity(self.client.get_block(middle)["timestamp"], what="timestamp") < timestamp:
                low = middle + 1
            else:
                high = middle
        return low

    def translate(self, record: SourceRecord) -> Translation:
        """Apply the record's published mapping (pure). Raises ``TranslationError`` naming the record for
        unknown schemas, malformed logs and ABI mismatches, and for revocation records."""
        if record.proof_material.get("kind") == "problem":
            content = record.content
            raise TranslationError(str(content["code"]), str(content["detail"]))
        mapping = self.mapping_for(record)
        uri = record.proof_material.get("uri")
        translation = apply_mapping(
            mapping,
            record,
            witness=self.witness if mapping.issuance_mode == "witness" else None,
            record_uri=uri if isinstance(uri, str) else None,
        )
        if record.proof_material.get("kind") in (KIND_EAS, KIND_EAS_OFFCHAIN):
            problem = validity_beyond_expiration(translation.credential, record.content_field("expirationTime"))
            if problem:
                # A credential must not outlive its attestation. The built-in mapping bounds validUntil (`earliest`);
                # replay rebuilds credentials from the mapping alone, so for a custom mapping that does not, the
                # adapter refuses rather than shortens.
                raise TranslationError("ETHEREUM_VALIDITY_BEYOND_EXPIRATION", f"record {record.locator}: {problem}")
        return translation

    def mapping_for(self, record: SourceRecord) -> CredentialMapping:
        """The published mapping that applies to ``record``."""
        kind = record.proof_material.get("kind")
        if kind in (KIND_EAS, KIND_EAS_OFFCHAIN, KIND_EAS_REVOCATION):
            source = self._schemas.get(hex_to_bytes(record.content_field("schema"), what="schema", length=32))
            if source is None:
                raise TranslationError("ETHEREUM_UNKNOWN_SCHEMA", f"record {record.locator}: no mapping for its schema")
            return source.mapping
        if kind == KIND_ANCHORED and self._anchored_mapping is not None:
            return self._anchored_mapping
        if kind == KIND_EVENT:
            contract, event = record.content_field("contract"), record.content_field("event")
            for event_source in self._events.values():
                if event_source.address == contract and event_source.event.signature == event:
                    return event_source.mapping
        raise TranslationError("ETHEREUM_NO_MAPPING", f"record {record.locator}: no configured mapping applies")

    def revoked_credential_id(self, record: SourceRecord) -> str:
        """The id of the credential a ledger-native revocation record (an EAS ``Revoked``) revokes."""
        return revoked_credential_id(self.mapping_for(record), record)

    def evidence_checker(self) -> EthereumEvidenceChecker:
        """The offline checker for this adapter's evidence."""
        return EthereumEvidenceChecker()

    @classmethod
    def offline_evidence_checker(cls) -> EthereumEvidenceChecker:
        """The same checker without a configuration (it needs none: everything comes from the evidence and the
        anchor), for ``vcgate evidence check``."""
        return EthereumEvidenceChecker()

    def close(self) -> None:
        """Close the node connection (``vcgate adapters sync`` calls this when done)."""
        if self._client is not None:
            self._client.close()

    def health(self) -> Health:
        """``ok`` with the head height when the node answers for the configured chain; ``down`` otherwise."""
        if not self._rpc_url and self._client is None:
            return Health("ok", "off-chain attestations only (no node configured)")
        try:
            chain = self.client.chain_id()
            head = self.client.block_number()
        except (VcgateError, EthereumError) as exc:
            return Health("down", str(exc))
        if chain != self.chain_id:
            return Health("degraded", f"node serves chain {chain}, configured {self.chain_id}", head)
        return Health("ok", f"{self.ledger_id} head {head}", head)
