"""Following a chain: paging ``eth_getLogs`` up to a finality line, resumable cursors, reorgs, and log evidence built
once per block.

A position in the chain is (block number, block hash, log index): the block hash makes a cursor notice a reorg. On
resume the scanner asks the node for the hash it now has at the cursor's height; when it differs, the cursor's block
left the canonical chain, so the scanner rewinds ``reorg_rewind`` blocks below it and scans again (re-translation is
idempotent: a record that survived gets the same credential id; one that was removed is not yielded again) and
reports the rewind so consumers can drop what they took from the abandoned blocks. Only blocks at or below the
finality line are scanned: ``confirmations`` blocks below the head, or the block the node tags ``finalized``/``safe``.

Evidence for every log of a block shares the block's header and its transaction and receipt tries, so they are
fetched and rebuilt once per block, not once per log (the per-log builder in ``_evidence_builder`` does the latter).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from vcgate.adapters.sdk import Cursor
from vcgate.canonical_schema import InputError

from ._blocks import encode_receipt
from ._encoding import hex_quantity, hex_to_bytes, keccak256, parse_address, to_hex
from ._errors import EthereumError, EvidenceBuildError
from ._evidence import EthereumEvidence, LogProof, Observation
from ._evidence_builder import _block_receipts, _descendants, _header_of, _raw_transactions
from ._rpc import JsonRpcClient
from ._trie import build_index_trie, index_trie_proof

#: Cursor phase of chain records (phase 0 is the adapter's off-chain attestations, which have no block).
CHAIN_PHASE: Final = 1
#: Log index meaning "after every log of the block" (a cursor at the end of a scanned range).
AFTER_BLOCK: Final = 2**31 - 1
_FINALITY_TAGS = ("finalized", "safe")


class ReorgError(EthereumError):
    """The chain reorganised under the scanner in a way it cannot follow (e.g. while a block's evidence was being
    collected). Nothing was emitted from the inconsistent data; syncing again from the last cursor is safe."""


@dataclass(frozen=True, slots=True)
class Finality:
    """When a block counts as final: ``confirmations`` blocks below the head, or the node's ``finalized``/``safe``
    tag (``tag`` wins when set)."""

    confirmations: int = 12
    tag: str | None = None

    @classmethod
    def from_config(cls, value: Any) -> Finality:
        """``{confirmations: N}`` or ``{tag: finalized | safe}`` (or a bare integer / tag name)."""
        if value is None:
            return cls()
        if isinstance(value, int) and not isinstance(value, bool):
            value = {"confirmations": value}
        elif isinstance(value, str):
            value = {"tag": value}
        if not isinstance(value, Mapping) or set(value) - {"confirmations", "tag"}:
            raise InputError("setting 'finality' must be {confirmations: N} or {tag: finalized | safe}")
        tag = value.get("tag")
        if tag is not None and tag not in _FINALITY_TAGS:
            raise InputError(f"finality tag {tag!r} must be one of {', '.join(_FINALITY_TAGS)}")
        confirmations = value.get("confirmations", 0 if tag else 12)
        if isinstance(confirmations, bool) or not isinstance(confirmations, int) or confirmations < 0:
            raise InputError("finality 'confirmations' must be a non-negative integer")
        return cls(confirmations=confirmations, tag=tag)

    def describe(self) -> str:
        """Human form, e.g. ``12 confirmations`` or ``the 'finalized' tag``."""
        return f"the {self.tag!r} tag" if self.tag else f"{self.confirmations} confirmations"


@dataclass(frozen=True, slots=True, order=True)
class ChainPosition:
    """A position in the chain: after log ``log_index`` of block ``block`` (whose hash was ``block_hash``)."""

    block: int
    block_hash: str
    log_index: int

    def to_cursor(self) -> Cursor:
        """The SDK cursor ``(1, block, blockHash, logIndex)``."""
        return Cursor((CHAIN_PHASE, self.block, self.block_hash, self.log_index))

    @classmethod
    def from_cursor(cls, cursor: Cursor | None) -> ChainPosition | None:
        """The chain position of a cursor; ``None`` for the start or an off-chain-phase cursor. Raises
        ``InputError`` for a cursor this adapter did not make."""
        if cursor is None or not cursor.position or cursor.position[0] != CHAIN_PHASE:
            return None
        position = cursor.position
        if (
            len(position) != 4
            or not isinstance(position[1], int)
            or not isinstance(position[2], str)
            or not isinstance(position[3], int)
        ):
            raise InputError(f"cursor {position!r} is not an Ethereum chain cursor (1, block, blockHash, logIndex)")
        return cls(position[1], position[2], position[3])


@dataclass(frozen=True, slots=True)
class ScannedLog:
    """One matching log, with its position and its evidence (a log proof in an ``EthereumEvidence``)."""

    log: Mapping[str, Any]
    position: ChainPosition
    address: str
    topics: tuple[bytes, ...]
    data: bytes
    transaction_hash: str
    evidence: EthereumEvidence
    timestamp: int


@dataclass(frozen=True, slots=True)
class ScanPage:
    """Logs of one scanned block range, in chain order, and the position after them. ``rewound_from`` is set on the
    (empty) page that reports a reorg rewind: consumers drop what they took from blocks above ``next_position``."""

    logs: tuple[ScannedLog, ...]
    next_position: ChainPosition | None
    final_block: int
    head: Observation | None = None
    rewound_from: ChainPosition | None = None


@dataclass
class _BlockProofs:
    number: int
    block_hash: bytes
    header: bytes
    timestamp: int
    transactions: list[bytes]
    receipts: Sequence[Mapping[str, Any]]
    tx_trie: Any
    receipt_trie: Any
    descendants: tuple[bytes, ...]
    _proofs: dict[tuple[str, int], tuple[bytes, ...]] = field(default_factory=dict)

    def proof(self, which: str, index: int) -> tuple[bytes, ...]:
        key = (which, index)
        if key not in self._proofs:
            trie = self.tx_trie if which == "tx" else self.receipt_trie
            self._proofs[key] = tuple(index_trie_proof(trie, index))
        return self._proofs[key]


class LogScanner:
    """Scans the logs of some contracts (and event topics) from ``start_block`` to the finality line.

    ``addresses`` and ``topics`` (topic 0 values) filter ``eth_getLogs``; ``filters`` adds further queries of
    their own (``{"address": [...], "topics": [...]}`` as ``eth_getLogs`` takes them, e.g. EAS logs of chosen
    attesters only), whose logs are merged in. Each request spans at most ``block_range`` blocks (providers cap
    it). ``descendants`` later headers go into each evidence so that it can reach a checkpoint above its block."""

    def __init__(
        self,
        client: JsonRpcClient,
        *,
        addresses: Sequence[str],
        topics: Sequence[bytes],
        start_block: int = 0,
        block_range: int = 2000,
        finality: Finality | None = None,
        reorg_rewind: int = 64,
        descendants: int = 0,
        filters: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        if block_range < 1:
            raise InputError("block range must be at least 1")
        self.client = client
        self.addresses = [parse_address(a) for a in addresses]
        self.topics = list(topics)
        self.filters = [dict(f) for f in filters]
        self.start_block = start_block
        self.block_range = block_range
        self.finality = finality or Finality()
        self.reorg_rewind = reorg_rewind
        self.descendants = descendants
        self._chain_id: int | None = None

    @property
    def chain_id(self) -> int:
        """The node's chain id (asked once)."""
        if self._chain_id is None:
            self._chain_id = self.client.chain_id()
        return self._chain_id

    def final_block(self) -> tuple[int, Observation]:
        """The highest final block number and the head observed."""
        head = self.client.get_block("latest")
        head_number = hex_quantity(head.get("number"), what="head number")
        observation = Observation(head_number, hex_to_bytes(head.get("hash"), what="head hash", length=32), 0)
        if self.finality.tag:
            tagged = self.client.get_block(self.finality.tag)
            final = hex_quantity(tagged.get("number"), what=f"{self.finality.tag} block number")
        else:
            final = head_number - self.finality.confirmations
        # Evidence may need `descendants` headers above its block; they must exist.
        return min(final, head_number - self.descendants), observation

    def _hash_at(self, number: int) -> str | None:
        block = self.client.call("eth_getBlockByNumber", [hex(number), False])
        if not isinstance(block, dict):
            return None
        return str(block.get("hash", "")).lower()

    def scan(self, since: ChainPosition | None, *, until: int | None = None) -> Iterator[ScanPage]:
        """Pages of matching logs after ``since`` (from ``start_block`` when ``None``) up to the finality line (or
        ``until`` when that is lower). A position before the first block (negative height) is the start."""
        final, head = self.final_block()
        if until is not None:
            final = min(final, until)
        if since is not None and since.block < 0:
            since = None
        if since is not None:
            canonical = self._hash_at(since.block)
            if canonical != since.block_hash.lower():
                rewind_to = max(self.start_block - 1, since.block - max(1, self.reorg_rewind))
                position: ChainPosition | None = None
                if rewind_to >= 0:
                    rewind_hash = self._hash_at(rewind_to)
                    if rewind_hash is None:
                        raise ReorgError(f"block {rewind_to} is gone too; the chain reorganised again, sync again")
                    position = ChainPosition(rewind_to, rewind_hash, AFTER_BLOCK)
                yield ScanPage((), position, final, head, rewound_from=since)
                since = position
        start = self.start_block if since is None else since.block + (1 if since.log_index >= AFTER_BLOCK else 0)
        while start <= final:
            end = min(final, start + self.block_range - 1)
            logs = self._logs(start, end)
            if since is not None:
                logs = [entry for entry in logs if (entry[0], entry[1]) > (since.block, since.log_index)]
            scanned = self._with_evidence(logs, head)
            end_hash = self._hash_at(end)
            if end_hash is None:
                raise ReorgError(f"block {end} disappeared while scanning; sync again")
            yield ScanPage(tuple(scanned), ChainPosition(end, end_hash, AFTER_BLOCK), final, head)
            start = end + 1

    def _logs(self, start: int, end: int) -> list[tuple[int, int, Mapping[str, Any]]]:
        queries = list(self.filters)
        if self.addresses:
            queries.insert(
                0, {"address": self.addresses, "topics": [[to_hex(t) for t in self.topics]] if self.topics else []}
            )
        found: dict[tuple[int, int], Mapping[str, Any]] = {}
        for query in queries:
            for log in self.client.get_logs({**query, "fromBlock": hex(start), "toBlock": hex(end)}):
                if not isinstance(log, Mapping) or log.get("removed"):
                    continue  # a log of a block that was reorganised away meanwhile
                try:
                    position = (
                        hex_quantity(log.get("blockNumber"), what="blockNumber"),
                        hex_quantity(log.get("logIndex")),
                    )
                except InputError as exc:
                    raise EvidenceBuildError(f"the node returned a malformed log: {exc}") from None
                found[position] = log
        return [(block, index, found[(block, index)]) for block, index in sorted(found)]

    def _block(self, block_hash: str) -> _BlockProofs:
        try:
            block = self.client.get_block(block_hash)
            header, hash_bytes = _header_of(block, f"block {block_hash}")
            number = hex_quantity(block["number"], what="block number")
            tx_hashes: list[str] = list(block["transactions"])
            receipts = _block_receipts(self.client, block_hash, tx_hashes)
            receipts_root, receipt_trie = build_index_trie([encode_receipt(r) for r in receipts])
            if receipts_root != hex_to_bytes(block["receiptsRoot"], what="receiptsRoot"):
                raise EvidenceBuildError(f"the block's receipts do not rebuild its receiptsRoot (block {number})")
            raws = _raw_transactions(self.client, block_hash, len(tx_hashes))
            for raw, expected in zip(raws, tx_hashes, strict=True):
                if to_hex(keccak256(raw)) != expected.lower():
                    raise EvidenceBuildError(f"raw transaction does not hash to {expected}")
            tx_root, tx_trie = build_index_trie(raws)
            if tx_root != hex_to_bytes(block["transactionsRoot"], what="transactionsRoot"):
                raise EvidenceBuildError(f"the block's transactions do not rebuild its transactionsRoot ({number})")
            return _BlockProofs(
                number=number,
                block_hash=hash_bytes,
                header=header,
                timestamp=hex_quantity(block["timestamp"], what="timestamp"),
                transactions=raws,
                receipts=receipts,
                tx_trie=tx_trie,
                receipt_trie=receipt_trie,
                descendants=_descendants(self.client, number, self.descendants),
            )
        except (InputError, KeyError, TypeError) as exc:
            raise EvidenceBuildError(f"the node returned unusable data for block {block_hash}: {exc}") from None

    def _with_evidence(self, logs: Sequence[tuple[int, int, Mapping[str, Any]]], head: Observation) -> list[ScannedLog]:
        blocks: dict[str, _BlockProofs] = {}
        out = []
        for number, log_index, log in logs:
            block_hash = str(log.get("blockHash", "")).lower()
            proofs = blocks.get(block_hash)
            if proofs is None:
                proofs = blocks[block_hash] = self._block(block_hash)
            if proofs.number != number:
                raise ReorgError(f"block {block_hash} is not at height {number}; the chain reorganised, sync again")
            try:
                tx_index = hex_quantity(log.get("transactionIndex"), what="transactionIndex")
                receipt = proofs.receipts[tx_index]
                tx_hash = str(log.get("transactionHash", "")).lower()
                if str(receipt.get("transactionHash", "")).lower() != tx_hash:
                    raise EvidenceBuildError(f"receipt {tx_index} of block {number} is not for {tx_hash}")
                position = next(
                    i for i, entry in enumerate(receipt["logs"]) if hex_quantity(entry["logIndex"]) == log_index
                )
                claimed = receipt["logs"][position]
                topics = tuple(hex_to_bytes(t, what="topic", length=32) for t in claimed["topics"])
                data = hex_to_bytes(claimed["data"], what="log data")
                address = parse_address(claimed["address"])
                proof = LogProof(
                    transaction_hash=hex_to_bytes(tx_hash, what="transaction hash", length=32),
                    transaction_index=tx_index,
                    log_index=log_index,
                    receipt_log_index=position,
                    transaction=proofs.transactions[tx_index],
                    transaction_proof=proofs.proof("tx", tx_index),
                    receipt=encode_receipt(receipt),
                    receipt_proof=proofs.proof("receipt", tx_index),
                    address=address,
                    topics=topics,
                    data=data,
                    sender=parse_address(receipt["from"]),
                )
            except (InputError, KeyError, IndexError, StopIteration, TypeError) as exc:
                raise EvidenceBuildError(
                    f"cannot build evidence for log {log_index} of block {number}: {exc}"
                ) from None
            evidence = EthereumEvidence(
                chain_id=self.chain_id,
                block_number=number,
                block_hash=proofs.block_hash,
                header=proofs.header,
                descendant_headers=proofs.descendants,
                observed=Observation(head.head_number, head.head_hash, max(0, head.head_number - number)),
                log=proof,
            )
            out.append(
                ScannedLog(
                    log=log,
                    position=ChainPosition(number, to_hex(proofs.block_hash), log_index),
                    address=address,
                    topics=topics,
                    data=data,
                    transaction_hash=tx_hash,
                    evidence=evidence,
                    timestamp=proofs.timestamp,
                )
            )
        return out
