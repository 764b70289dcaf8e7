"""``FabricAdapter``: the SDK adapter for Hyperledger Fabric channels (live peers or a peer's ledger files).

Reading. Blocks come from the peers' Deliver service (with validation codes; the next peer takes over, from the
block where the last one stopped, when a peer fails) or from block files. Every block is verified with the offline
verifier while the channel state is replayed from the genesis block — whose hash the configuration pins — so the
adapter knows, for each transaction, the config block in force (MSP roots, policies) and the ``_lifecycle``
definition behind its chaincode's endorsement policy.

Records. A write of a VALID, verified transaction whose namespace and key match a mapping rule becomes a record
(the exact value bytes, ``application/json``); a chaincode event matching a rule likewise. A delete, and a write
that supersedes an earlier record's key, become ``revocation`` records naming the earlier locator. Transactions the
peers marked invalid (an unmet endorsement policy, a duplicate tx id, an MVCC conflict …) or that fail the
adapter's own checks are never translated; they are listed in :attr:`FabricAdapter.skipped`.

Cursors are ``(block, tx index, record number within the transaction)``. The scan always replays from the genesis
block (the state a record's evidence needs is built from the whole chain) but fetches signed attestations and builds
records only after the cursor.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Literal

from vcgate.adapters.sdk import (
    API_VERSION,
    AdapterConfigError,
    AdapterInfo,
    CredentialMapping,
    Cursor,
    EvidenceChecker,
    Health,
    RecordPage,
    SourceRecord,
    Translation,
    TranslationError,
    apply_mapping,
    paginate,
    revoked_credential_id,
)
from vcgate.canonical_schema import InputError, VcgateError, b64url_decode

from ._attest import SignedPeerResponse, check_validation_attestation
from ._blockfile import count_blocks, read_blocks
from ._client import FabricPeerError, PeerClient, RetryPolicy, SigningIdentity, TLSConfig, with_retry
from ._decode import decode_block
from ._errors import FabricDecodeError
from ._evidence import (
    NOT_RECORDED,
    DefinitionRef,
    EndorserRef,
    FabricProof,
    SourceKind,
    event_locator,
    write_locator,
)
from ._evidence_check import FabricEvidenceChecker
from ._lifecycle import LIFECYCLE_NAMESPACE
from ._model import Block, EndorserTransaction, Transaction
from ._msp import VerificationCache, certificate_der
from ._verify import BlockResult, ChannelState, TransactionResult, check_block

_log = logging.getLogger("vcgate.adapters.fabric")
_VERSION = "1.0.0"
#: Transactions whose peer attestations one adapter instance keeps for reuse (each entry is about one signed
#: envelope per peer, a few kB).
_ATTESTATIONS_KEPT = 4096


@dataclass(frozen=True, slots=True)
class MappingRule:
    """Which ledger entries a mapping translates: writes of ``chaincode`` whose key matches ``keys`` (a glob), or
    events of ``chaincode`` named ``event``."""

    mapping: CredentialMapping
    chaincode: str
    kind: SourceKind
    pattern: str

    def matches(self, kind: SourceKind, namespace: str, name: str) -> bool:
        """Whether an entry of ``kind`` in ``namespace`` called ``name`` (key or event name) is this rule's."""
        return kind == self.kind and namespace == self.chaincode and fnmatch.fnmatchcase(name, self.pattern)


def builtin_mapping(name: str) -> CredentialMapping:
    """A mapping published with the adapter (``adapters/fabric/mappings/<name>.yaml``)."""
    folder = resources.files(__package__).joinpath("mappings")
    file = folder.joinpath(f"{name}.yaml")
    if not file.is_file():
        names = sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))
        raise AdapterConfigError(f"no built-in Fabric mapping {name!r} (built-in: {', '.join(names)})")
    return CredentialMapping.from_text(
        file.read_text(encoding="utf-8"), source=f"vcgate.adapters.fabric/mappings/{name}"
    )


@dataclass(frozen=True, slots=True)
class SkippedTransaction:
    """A transaction with entries a rule matched that was not translated, and why."""

    block: int
    tx_index: int
    tx_id: str
    reason: str

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {"block": self.block, "txIndex": self.tx_index, "txId": self.tx_id, "reason": self.reason}


@dataclass
class _ScanState:
    channel: ChannelState | None = None
    config_blocks: list[bytes] = field(default_factory=list)
    config_in_force: tuple[int, str] = (0, "")
    definitions: dict[tuple[int, int], bytes] = field(default_factory=dict)
    last_write: dict[tuple[str, str], str] = field(default_factory=dict)
    seen_tx_ids: set[str] = field(default_factory=set)


class FabricAdapter:
    """Hyperledger Fabric channel adapter: blocks over Deliver (or from ledger files), endorsement-verified evidence.

    Build with :meth:`from_config`; see docs/fabric.md ("Adapter") for every setting.
    """

    API_VERSION: ClassVar[int] = API_VERSION
    KIND: ClassVar[str] = "fabric"

    def __init__(
        self,
        *,
        adapter_id: str,
        channel: str,
        rules: Sequence[MappingRule],
        clients: Sequence[PeerClient] = (),
        block_files: Sequence[Path] = (),
        genesis_block_hash: str | None = None,
        witness: str | None = None,
        page_size: int = 100,
        attest: bool = True,
        min_attesting_organizations: int = 2,
        embed_config_blocks: bool = True,
        embed_block_max_bytes: int = 65536,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if bool(clients) == bool(block_files):
            raise AdapterConfigError("configure either 'peers' (a live channel) or 'blockFiles' (ledger files)")
        self.adapter_id = adapter_id
        self.channel = channel
        self.rules = tuple(rules)
        self.clients = tuple(clients)
        self.block_files = tuple(block_files)
        self.genesis_block_hash = genesis_block_hash.lower() if genesis_block_hash else None
        self.witness = witness
        self.page_size = page_size
        self.attest = attest and bool(clients)
        self.min_attesting_organizations = min_attesting_organizations
        self.embed_config_blocks = embed_config_blocks
        self.embed_block_max_bytes = embed_block_max_bytes
        self.retry = retry or RetryPolicy()
        self._sleep = sleep
        self._cache = VerificationCache()
        self._attested: OrderedDict[str, tuple[bytes, ...]] = OrderedDict()
        self.skipped: list[SkippedTransaction] = []
        """Transactions with matching entries that were not translated (invalid, or failing verification)."""

    # -- configuration ---------------------------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> FabricAdapter:
        """Build from settings (paths relative to ``configDir``): ``id``, ``channel``, ``genesisBlockHash``,
        ``peers`` [{address, tlsRootCert, mspId?, serverNameOverride?}] with ``identity`` {mspId, mspDir} and
        ``tls`` {clientCert, clientKey} — or ``blockFiles`` [paths] —, ``mappings`` [{mapping, chaincode,
        keys | event}], ``witness``, ``pageSize``, ``attest``, ``minAttestingOrganizations``, ``embedConfigBlocks``,
        ``embedBlockMaxBytes``,
        ``retry`` {attempts, initialDelay, maxDelay}, ``timeout``."""
        base = Path(str(config.get("configDir", ".")))

        def text(key: str, *, required: bool = True) -> str | None:
            value = config.get(key)
            if value is None and not required:
                return None
            if not isinstance(value, str) or not value:
                raise AdapterConfigError(f"Fabric adapter setting {key!r} must be a non-empty string")
            return value

        channel = text("channel")
        assert channel is not None
        genesis = text("genesisBlockHash", required=False)
        if genesis is not None and (len(genesis) != 64 or any(c not in "0123456789abcdefABCDEF" for c in genesis)):
            raise AdapterConfigError(
                "setting 'genesisBlockHash' must be the 64 hex characters of the genesis block hash"
            )
        rules = _rules(config.get("mappings"), base)
        retry_cfg = config.get("retry") or {}
        if not isinstance(retry_cfg, Mapping):
            raise AdapterConfigError("setting 'retry' must be an object {attempts, initialDelay, maxDelay}")
        retry = RetryPolicy(
            attempts=int(retry_cfg.get("attempts", 3)),
            initial_delay=float(retry_cfg.get("initialDelay", 0.2)),
            max_delay=float(retry_cfg.get("maxDelay", 5.0)),
        )
        clients: list[PeerClient] = []
        files: list[Path] = []
        if config.get("peers") is not None:
            clients = _clients(config, base, channel)
        if config.get("blockFiles") is not None:
            raw_files = config["blockFiles"]
            if not isinstance(raw_files, list) or not all(isinstance(f, str) for f in raw_files) or not raw_files:
                raise AdapterConfigError("setting 'blockFiles' must be a non-empty list of paths")
            files = [base / f for f in raw_files]
        page_size = config.get("pageSize", 100)
        if isinstance(page_size, bool) or not isinstance(page_size, int) or page_size < 1:
            raise AdapterConfigError("setting 'pageSize' must be a positive integer")
        min_orgs = config.get("minAttestingOrganizations", 2)
        if isinstance(min_orgs, bool) or not isinstance(min_orgs, int) or min_orgs < 1:
            raise AdapterConfigError("setting 'minAttestingOrganizations' must be an integer ≥ 1")
        embed_max = config.get("embedBlockMaxBytes", 65536)
        if isinstance(embed_max, bool) or not isinstance(embed_max, int) or embed_max < 0:
            raise AdapterConfigError("setting 'embedBlockMaxBytes' must be a non-negative integer (0: never)")
        return cls(
            adapter_id=text("id", required=False) or f"fabric-{channel}",
            channel=channel,
            rules=rules,
            clients=clients,
            block_files=files,
            genesis_block_hash=genesis,
            witness=text("witness", required=False),
            page_size=page_size,
            attest=bool(config.get("attest", True)),
            min_attesting_organizations=min_orgs,
            embed_config_blocks=bool(config.get("embedConfigBlocks", True)),
            embed_block_max_bytes=embed_max,
            retry=retry,
        )

    # -- the SDK interface -----------------------------------------------------------------------------------

    def published_mappings(self) -> tuple[CredentialMapping, ...]:
        """Every mapping this instance translates with (the gateway stores them so replay can rebuild credentials)."""
        return tuple({(r.mapping.id, r.mapping.digest): r.mapping for r in self.rules}.values())

    def describe(self) -> AdapterInfo:
        """Id, kind, ledger id (``fabric:`` + 16 hex of the genesis hash), channel and mappings."""
        return AdapterInfo(
            id=self.adapter_id,
            kind=self.KIND,
            ledger_id=self._ledger_id(),
            version=_VERSION,
            mappings=tuple(dict.fromkeys(r.mapping.info() for r in self.rules)),
            channel=self.channel,
            description="Hyperledger Fabric chaincode writes and events with endorsement-verified evidence",
        )

    def records(self, since: Cursor | None = None) -> Iterator[RecordPage]:
        """Pages of records after ``since`` in ledger order. Raises :class:`FabricPeerError` (a
        ``VcgateError``) when no peer can be reached after retries with backoff."""
        self.skipped = []
        return paginate(self._entries(since or Cursor.start()), since, self.page_size)

    def fetch(self, locator: str) -> SourceRecord:
        """The record at ``locator`` (replays the chain up to its block)."""
        for _, record in self._entries(Cursor.start()):
            if record.locator == locator:
                return record
        raise InputError(f"no Fabric record at {locator} in channel {self.channel}")

    def translate(self, record: SourceRecord) -> Translation:
        """The unsigned credential for ``record`` under its rule's mapping (witness mode: the configured witness)."""
        rule = self._rule_for(record)
        return apply_mapping(
            rule.mapping, record, witness=self.witness if rule.mapping.issuance_mode == "witness" else None
        )

    def revoked_credential_id(self, record: SourceRecord) -> str:
        """The id of the credential a ``revocation`` record revokes."""
        return revoked_credential_id(self._rule_for(record).mapping, record)

    def evidence_checker(self) -> EvidenceChecker:
        """The offline checker of this adapter's evidence."""
        return FabricEvidenceChecker(self._cache)

    def evidence_shortfall(self, record: SourceRecord) -> str | None:
        """Why ``record``'s evidence is weaker than this adapter builds it with its peers answering (``None``: it is
        not): with ``attest`` on, signed validation attestations from fewer than ``minAttestingOrganizations``
        organisations (a peer outage). ``vcgate sync`` holds such a record for an upgrade on a later pass."""
        if not self.attest:
            return None
        orgs: set[str] = set()
        for item in record.proof_material.get("validationAttestations") or []:
            try:
                orgs.add(SignedPeerResponse.from_proposal_response(b64url_decode(str(item))).endorser.msp_id)
            except (VcgateError, ValueError):
                continue
        need = self.min_attesting_organizations
        if len(orgs) >= need:
            return None
        return (
            f"validation attested by {len(orgs)} organisation(s) ({', '.join(sorted(orgs)) or 'none'}), {need} needed"
        )

    @classmethod
    def offline_evidence_checker(cls) -> EvidenceChecker:
        """The same checker without a configuration (everything comes from the evidence and the anchor), for the
        gateway's own evidence checks whoever runs the adapter."""
        return FabricEvidenceChecker()

    def health(self) -> Health:
        """``ok`` when every peer answers QSCC GetChainInfo, ``degraded`` when some do, ``down`` when none."""
        if not self.clients:
            try:
                height = sum(count_blocks(p) for p in self.block_files)
            except (OSError, VcgateError) as exc:
                return Health("down", f"cannot read the block files: {exc}")
            return Health("ok", f"{len(self.block_files)} block file(s)", height)
        heights, errors = [], []
        for client in self.clients:
            try:
                heights.append(client.chain_info().height)
            except FabricPeerError as exc:
                errors.append(str(exc))
        if not heights:
            return Health("down", "; ".join(errors))
        status: Literal["ok", "degraded"] = "degraded" if errors else "ok"
        return Health(status, "; ".join(errors) or f"{len(heights)} peer(s) answering", max(heights))

    def close(self) -> None:
        """Close the peer connections."""
        for client in self.clients:
            client.close()

    # -- internals -------------------------------------------------------------------------------------------

    def _ledger_id(self) -> str:
        if self.genesis_block_hash is None:
            genesis = next(self._blocks(0), None)
            if genesis is None:
                raise FabricPeerError(f"channel {self.channel} has no genesis block")
            self.genesis_block_hash = genesis.header.hash().hex()
            _log.warning(
                "no genesisBlockHash configured: trusting the genesis block %s of channel %s on first use",
                self.genesis_block_hash,
                self.channel,
            )
        return "fabric:" + self.genesis_block_hash[:16]

    def _rule_for(self, record: SourceRecord) -> MappingRule:
        source = record.proof_material.get("source") or {}
        kind = source.get("kind")
        if kind not in ("write", "event"):
            raise TranslationError("MAPPING_VALUE_INVALID", f"record {record.locator} names no Fabric source")
        namespace = source.get("namespace") if kind == "write" else source.get("chaincode")
        name = source.get("key") if kind == "write" else source.get("eventName")
        for rule in self.rules:
            if rule.matches(kind, str(namespace), str(name)):
                return rule
        raise TranslationError("MAPPING_VALUE_INVALID", f"no mapping rule of this adapter covers {record.locator}")

    def _blocks(self, start: int) -> Iterator[Block]:
        """Decoded blocks from ``start``: from the block files (decoded once, as read) or delivered by the peers."""
        if not self.clients:
            for path in self.block_files:
                try:
                    blocks = read_blocks(path)
                except OSError as exc:
                    raise InputError(f"cannot read block file {path}: {exc.strerror}") from None
                yield from (block for block in blocks if block.number >= start)
            return
        for raw in self._peer_blocks(start):
            try:
                yield decode_block(raw, source=f"channel {self.channel}")
            except FabricDecodeError as exc:
                raise FabricPeerError(f"channel {self.channel}: a delivered block does not decode: {exc}") from None

    def _peer_blocks(self, start: int) -> Iterator[bytes]:
        """Blocks from ``start`` to the newest, failing over between peers and retrying with backoff."""
        next_number = start
        failures: list[str] = []
        for client in self.clients:
            delays = self.retry.delays()
            while True:
                try:
                    for raw in client.deliver(next_number):
                        yield raw
                        next_number += 1
                    return
                except FabricPeerError as exc:
                    failures.append(str(exc))
                    delay = next(delays, None) if exc.transient else None
                    if delay is None:
                        break
                    _log.warning("%s; retrying in %.2fs", exc, delay)
                    self._sleep(delay)
        raise FabricPeerError(
            f"no peer of channel {self.channel} delivered blocks from #{next_number}: {'; '.join(failures[-3:])}",
            transient=True,
        )

    def _attestations(self, tx: Transaction, state: ChannelState) -> tuple[bytes, ...]:
        if not self.attest:
            return ()
        # Peers sign every answer afresh (a new proposal nonce, randomized ECDSA), so asking again gives other
        # bytes for the same fact. Reusing a complete set keeps a second read and fetch() of this instance
        # identical to the first (conformance ADP-005) and saves a round trip per peer; an incomplete set is asked
        # for again, since a peer that was down may answer now.
        kept = self._attested.get(tx.tx_id)
        if kept is not None:
            self._attested.move_to_end(tx.tx_id)
            return kept
        out = []
        for client in self.clients:

            def ask(c: PeerClient = client) -> bytes:
                return c.signed_transaction_by_id(tx.tx_id)

            try:
                data = with_retry(
                    ask,
                    self.retry,
                    what=f"attestation of {tx.tx_id} by {client.address}",
                    sleep=self._sleep,
                )
            except FabricPeerError as exc:
                _log.warning("no attestation from %s: %s", client.address, exc)
                continue
            # Keep only answers that check out: a bad one would make the evidence worse, not better.
            try:
                response = SignedPeerResponse.from_proposal_response(data)
            except (FabricDecodeError, InputError):
                continue
            outcome = check_validation_attestation(tx, [response], state.config, self._cache)
            if outcome.validation_code is not None:
                out.append(data)
        if len(out) == len(self.clients):
            self._attested[tx.tx_id] = tuple(out)
            if len(self._attested) > _ATTESTATIONS_KEPT:
                self._attested.popitem(last=False)
        return tuple(out)

    def _entries(self, since: Cursor) -> Iterator[tuple[Cursor, SourceRecord]]:
        scan = _ScanState()
        for block in self._blocks(0):
            if block.number == 0:
                self._anchor(block)
                scan.channel = ChannelState.from_config_block(block)
                scan.config_blocks.append(block.raw)
                scan.config_in_force = (0, block.header.hash().hex())
                continue
            state = scan.channel
            if state is None:
                raise InputError(f"channel {self.channel}: block #{block.number} arrived before the genesis block")
            result = check_block(block, state, self._cache)
            if block.config is not None and result.block_status == "verified":
                scan.config_blocks.append(block.raw)
                scan.config_in_force = (block.number, block.header.hash().hex())
            for tx, tx_result in zip(block.transactions, result.transactions, strict=True):
                yield from self._tx_entries(block, tx, tx_result, state, scan, since)
            result = self._without_unattested_lifecycle(block, result, state)
            scan.channel = state.advance(block, result)
            for tx, tx_result in zip(block.transactions, result.transactions, strict=True):
                if (
                    _counts(tx_result)
                    and isinstance(tx.content, EndorserTransaction)
                    and any(ns.namespace == LIFECYCLE_NAMESPACE for a in tx.content.actions for ns in a.rwsets)
                ):
                    scan.definitions[(block.number, tx.index)] = tx.envelope_bytes

    def _anchor(self, genesis: Block) -> None:
        actual = genesis.header.hash().hex()
        if self.genesis_block_hash is None:
            _log.warning(
                "no genesisBlockHash configured: trusting the genesis block %s of channel %s on first use",
                actual,
                self.channel,
            )
            self.genesis_block_hash = actual
        if actual != self.genesis_block_hash:
            raise FabricPeerError(
                f"channel {self.channel}: the genesis block hashes to {actual}, but the configuration pins "
                f"{self.genesis_block_hash}; this is another channel (or the pin is wrong)"
            )

    def _tx_entries(
        self,
        block: Block,
        tx: Transaction,
        tx_result: TransactionResult,
        state: ChannelState,
        scan: _ScanState,
        since: Cursor,
    ) -> Iterator[tuple[Cursor, SourceRecord]]:
        content = tx.content
        if not isinstance(content, EndorserTransaction):
            return
        entries: list[tuple[SourceKind, str, str, bytes | None]] = []  # kind, namespace, name, value (None: delete)
        for action in content.actions:
            for ns in action.rwsets:
                for w in ns.writes:
                    if any(r.matches("write", ns.namespace, w.key) for r in self.rules):
                        entries.append(("write", ns.namespace, w.key, None if w.is_delete else w.value))
            event = action.event
            if event is not None and any(r.matches("event", event.chaincode_id, event.event_name) for r in self.rules):
                entries.append(("event", event.chaincode_id, event.event_name, event.payload))
        if not entries:
            return
        first_occurrence = tx.tx_id not in scan.seen_tx_ids
        scan.seen_tx_ids.add(tx.tx_id)
        attestations: tuple[bytes, ...] | None = None
        reason = _not_counted(tx_result, first_occurrence)
        if reason is None and tx_result.validation_code is None:
            # Orderer-side blocks (an orderer's ledger or Deliver, a stripped TRANSACTIONS_FILTER) record no code:
            # an MVCC loser looks exactly like the winner. Only peers' signed answers can establish validity.
            attestations = self._attestations(tx, state)
            reason = self._unrecorded_reason(tx, attestations, state)
        if reason is not None:
            if Cursor((block.number, tx.index, 0)) > since:
                self.skipped.append(SkippedTransaction(block.number, tx.index, tx.tx_id, reason))
                _log.info("not translating transaction %s (block %d): %s", tx.tx_id, block.number, reason)
            return
        # The evidence states the code as recorded; with none recorded, validity rests on the attestations.
        validation_code = tx_result.validation_code or NOT_RECORDED
        position = 0
        proofs: dict[tuple[SourceKind, str, str], FabricProof] = {}

        def proof_for(kind: SourceKind, namespace: str, name: str) -> FabricProof:
            nonlocal attestations
            if attestations is None:
                attestations = self._attestations(tx, state)
            key = (kind, namespace, name)
            if key not in proofs:
                proofs[key] = self._proof(block, tx, kind, namespace, name, state, scan, attestations, validation_code)
            return proofs[key]

        for kind, namespace, name, value in entries:
            locator = (
                write_locator(block.number, tx.index, namespace, name)
                if kind == "write"
                else event_locator(block.number, tx.index, chaincode=namespace, event_name=name)
            )
            earlier = scan.last_write.get((namespace, name)) if kind == "write" else None
            if kind == "write":
                if value is None:
                    scan.last_write.pop((namespace, name), None)
                else:
                    scan.last_write[(namespace, name)] = locator
            if earlier is not None:
                cursor = Cursor((block.number, tx.index, position))
                position += 1
                if cursor > since:
                    yield (
                        cursor,
                        self._revocation(
                            block,
                            tx,
                            locator if value is None else locator + "#supersedes",
                            earlier,
                            namespace,
                            name,
                            "delete" if value is None else "supersede",
                            proof_for("write", namespace, name),
                        ),
                    )
            if value is None:
                continue
            cursor = Cursor((block.number, tx.index, position))
            position += 1
            if cursor <= since:
                continue
            try:
                record = self._record(tx, locator, value, proof_for(kind, namespace, name))
            except InputError as exc:
                self.skipped.append(SkippedTransaction(block.number, tx.index, tx.tx_id, f"{locator}: {exc}"))
                _log.warning("not translating %s: %s", locator, exc)
                continue
            yield cursor, record

    def _without_unattested_lifecycle(self, block: Block, result: BlockResult, state: ChannelState) -> BlockResult:
        """``result`` with ``_lifecycle`` transactions that record no code and lack k-org attestation marked
        NOT_RECORDED, so the replay never takes a chaincode definition (an endorsement policy) from them."""
        changed = False
        out = []
        for tx, tx_result in zip(block.transactions, result.transactions, strict=True):
            content = tx.content
            if (
                tx_result.validation_code is None
                and tx_result.status == "verified"
                and isinstance(content, EndorserTransaction)
                and any(ns.namespace == LIFECYCLE_NAMESPACE and ns.writes for a in content.actions for ns in a.rwsets)
                and self._unrecorded_reason(tx, self._attestations(tx, state), state) is not None
            ):
                tx_result = dataclasses.replace(tx_result, validation_code=NOT_RECORDED)
                changed = True
            out.append(tx_result)
        return dataclasses.replace(result, transactions=tuple(out)) if changed else result

    def _unrecorded_reason(self, tx: Transaction, attestations: tuple[bytes, ...], state: ChannelState) -> str | None:
        """Why a transaction with no recorded validation code does not count (``None``: peers attest VALID)."""
        responses = [SignedPeerResponse.from_proposal_response(a) for a in attestations]
        need = self.min_attesting_organizations
        outcome = check_validation_attestation(tx, responses, state.config, self._cache, min_orgs=need)
        if outcome.validation_code not in (None, "VALID"):
            return f"validation code {outcome.validation_code} (attested by {', '.join(outcome.organizations)})"
        if outcome.attested:
            return None
        return (
            f"no validation code recorded (orderer-side block) and VALID not attested by peers of {need} "
            f"organisation(s) (attested by: {', '.join(outcome.organizations) or 'none'})"
        )

    def _proof(
        self,
        block: Block,
        tx: Transaction,
        kind: SourceKind,
        namespace: str,
        name: str,
        state: ChannelState,
        scan: _ScanState,
        attestations: tuple[bytes, ...],
        validation_code: str,
    ) -> FabricProof:
        content = tx.content
        assert isinstance(content, EndorserTransaction)
        endorsers = []
        for action in content.actions:
            for e in action.endorsements:
                der = certificate_der(e.endorser.certificate_pem, self._cache) or b""
                endorsers.append(EndorserRef(e.endorser.msp_id, hashlib.sha256(der).hexdigest()))
        definition = state.chaincodes.get(namespace)
        definition_ref = None
        if definition is not None and definition.committed_at in scan.definitions:
            definition_ref = DefinitionRef(scan.definitions[definition.committed_at])
        return FabricProof(
            channel=self.channel,
            block_number=block.number,
            block_header_hash=block.header.hash().hex(),
            data_hash=block.header.data_hash.hex(),
            tx_index=tx.index,
            tx_id=tx.tx_id,
            envelope=tx.envelope_bytes,
            source_kind=kind,
            namespace=namespace,
            name=name,
            endorsers=tuple(endorsers),
            validation_code=validation_code,
            attestations=attestations,
            config_block_number=scan.config_in_force[0],
            config_block_hash=scan.config_in_force[1],
            config_blocks=tuple(scan.config_blocks) if self.embed_config_blocks else (),
            chaincode_definition=definition_ref,
            block=block.raw if 0 < len(block.raw) <= self.embed_block_max_bytes else None,
        )

    def _signer(self, tx: Transaction) -> dict[str, Any]:
        creator = tx.creator
        assert creator is not None
        der = certificate_der(creator.certificate_pem, self._cache) or b""
        return {
            "kind": "fabric-msp",
            "mspId": creator.msp_id,
            "certificateFingerprint": hashlib.sha256(der).hexdigest(),
        }

    def _ledger_time(self, tx: Transaction) -> datetime:
        header = tx.channel_header
        if header is None or header.timestamp is None:
            raise InputError(f"transaction {tx.tx_id} has no timestamp")
        return header.timestamp.astimezone(UTC)

    def _record(self, tx: Transaction, locator: str, value: bytes, proof: FabricProof) -> SourceRecord:
        return SourceRecord(
            ledger_id=self._ledger_id(),
            ledger_kind=self.KIND,
            locator=locator,
            raw=value,
            media_type="application/json",
            native_signer=self._signer(tx),
            ledger_time=self._ledger_time(tx),
            ledger_height=proof.block_number,
            proof_material=proof.to_json(),
            channel=self.channel,
        )

    def _revocation(
        self,
        block: Block,
        tx: Transaction,
        locator: str,
        earlier: str,
        namespace: str,
        key: str,
        operation: str,
        proof: FabricProof,
    ) -> SourceRecord:
        return SourceRecord(
            ledger_id=self._ledger_id(),
            ledger_kind=self.KIND,
            locator=locator,
            raw={"operation": operation, "namespace": namespace, "key": key, "txId": tx.tx_id, "revokes": earlier},
            native_signer=self._signer(tx),
            ledger_time=self._ledger_time(tx),
            ledger_height=block.number,
            proof_material=proof.to_json(),
            kind="revocation",
            supersedes=earlier,
            channel=self.channel,
        )


def _not_counted(result: TransactionResult, first_occurrence: bool) -> str | None:
    """Why a transaction's writes do not count, from what the block shows (``None``: they may count)."""
    if result.validation_code not in (None, "VALID"):
        return f"validation code {result.validation_code}"
    if not first_occurrence:
        return "duplicate transaction id"
    if result.status != "verified":
        return "failed checks: " + ", ".join(
            f"{c.name} ({c.problem.code if c.problem else c.status})"
            for c in result.checks
            if c.status in ("failed", "error")
        )
    return None


def _counts(result: TransactionResult) -> bool:
    """A transaction's writes count when peers recorded it VALID and it passes the adapter's own checks."""
    return result.validation_code in (None, "VALID") and result.status == "verified"


def _rules(value: Any, base: Path) -> list[MappingRule]:
    if not isinstance(value, list) or not value:
        raise AdapterConfigError(
            "setting 'mappings' must list rules {mapping, chaincode, keys: <glob>} or {mapping, chaincode, event}"
        )
    rules = []
    for i, item in enumerate(value):
        if (
            not isinstance(item, Mapping)
            or not isinstance(item.get("mapping"), str)
            or not isinstance(item.get("chaincode"), str)
        ):
            raise AdapterConfigError(f"mappings[{i}] needs 'mapping' (built-in name or file) and 'chaincode'")
        if ("keys" in item) == ("event" in item):
            raise AdapterConfigError(f"mappings[{i}] needs exactly one of 'keys' (a glob) or 'event' (an event name)")
        ref = str(item["mapping"])
        if ref.endswith((".yaml", ".yml", ".json")):
            mapping = CredentialMapping.from_file(base / ref)
        else:
            mapping = builtin_mapping(ref)
        kind: SourceKind = "write" if "keys" in item else "event"
        rules.append(MappingRule(mapping, str(item["chaincode"]), kind, str(item.get("keys", item.get("event")))))
    return rules


def _clients(config: Mapping[str, Any], base: Path, channel: str) -> list[PeerClient]:
    peers = config["peers"]
    if not isinstance(peers, list) or not peers:
        raise AdapterConfigError("setting 'peers' must be a non-empty list of {address, tlsRootCert}")
    ident = config.get("identity")
    if (
        not isinstance(ident, Mapping)
        or not isinstance(ident.get("mspId"), str)
        or not isinstance(ident.get("mspDir"), str)
    ):
        raise AdapterConfigError("setting 'identity' must be {mspId, mspDir} (a Fabric MSP folder)")
    identity = SigningIdentity.from_msp_dir(base / ident["mspDir"], ident["mspId"])
    tls_cfg = config.get("tls") or {}
    if not isinstance(tls_cfg, Mapping):
        raise AdapterConfigError("setting 'tls' must be {clientCert, clientKey}")
    timeout = config.get("timeout", 10.0)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise AdapterConfigError("setting 'timeout' must be a positive number of seconds")
    clients = []
    for i, peer in enumerate(peers):
        if not isinstance(peer, Mapping) or not isinstance(peer.get("address"), str):
            raise AdapterConfigError(f"peers[{i}] needs 'address' (host:port)")
        tls = None
        if peer.get("tlsRootCert") is not None:
            tls = TLSConfig.from_files(
                base / str(peer["tlsRootCert"]),
                client_certificate=base / str(tls_cfg["clientCert"]) if tls_cfg.get("clientCert") else None,
                client_key=base / str(tls_cfg["clientKey"]) if tls_cfg.get("clientKey") else None,
                server_name_override=peer.get("serverNameOverride"),
            )
        clients.append(
            PeerClient(
                str(peer["address"]), channel, identity, tls, msp_id=str(peer.get("mspId", "")), timeout=float(timeout)
            )
        )
    return clients
