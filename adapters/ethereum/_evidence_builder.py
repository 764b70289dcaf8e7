"""Collecting Ethereum evidence from a node (the I/O side of ``_evidence``).

Everything the node returns is checked before it goes into evidence: the header must hash to the block hash,
the rebuilt transaction and receipt tries must reproduce the header's roots. A node that lies or answers
inconsistently produces an :class:`EvidenceBuildError`, never evidence that would later fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from vcgate.canonical_schema import InputError

from ._blocks import decode_header, encode_header, encode_receipt
from ._encoding import hex_quantity, hex_to_bytes, keccak256, parse_address, to_hex
from ._errors import EthereumError, EvidenceBuildError, RpcResponseError
from ._evidence import (
    EndpointReport,
    EthereumEvidence,
    LogProof,
    Observation,
    QuorumAnchor,
    StateProof,
    StorageSlotProof,
    _check_state,
)
from ._rpc import JsonRpcClient
from ._trie import build_index_trie, index_trie_proof

_METHOD_NOT_FOUND = -32601


class HeaderSource(Protocol):
    """What :func:`observe_header_quorum` needs from an endpoint (``JsonRpcClient`` provides it)."""

    endpoint: str

    def chain_id(self) -> int: ...

    def block_number(self) -> int: ...

    def get_block(self, block: int | str | bytes, *, full_transactions: bool = False) -> dict[str, Any]: ...


def _header_of(block: dict[str, Any], where: str) -> tuple[bytes, bytes]:
    try:
        header = encode_header(block)
        block_hash = hex_to_bytes(block.get("hash"), what="block hash", length=32)
    except InputError as exc:
        raise EvidenceBuildError(f"{where}: the node returned an unusable block: {exc}") from None
    if keccak256(header) != block_hash:
        raise EvidenceBuildError(
            f"{where}: the header fields the node returned do not hash to block {to_hex(block_hash)} "
            "(unknown header fields for this chain's fork, or an inconsistent node)"
        )
    return header, block_hash


def _descendants(client: JsonRpcClient, number: int, count: int) -> tuple[bytes, ...]:
    if count <= 0:
        return ()
    blocks = client.batch([("eth_getBlockByNumber", [hex(number + i), False]) for i in range(1, count + 1)])
    headers = []
    for offset, block in enumerate(blocks, start=1):
        if not isinstance(block, dict):
            raise EvidenceBuildError(f"block {number + offset} does not exist yet; ask for fewer descendants")
        headers.append(_header_of(block, f"block {number + offset}")[0])
    return tuple(headers)


def _observation(client: JsonRpcClient, number: int) -> Observation:
    head = client.get_block("latest")
    head_number = hex_quantity(head.get("number"), what="head number")
    return Observation(
        head_number=head_number,
        head_hash=hex_to_bytes(head.get("hash"), what="head hash", length=32),
        confirmations=max(0, head_number - number),
    )


def _block_receipts(client: JsonRpcClient, block_hash: str, tx_hashes: Sequence[str]) -> list[dict[str, Any]]:
    try:
        receipts = client.call("eth_getBlockReceipts", [block_hash])
    except RpcResponseError as exc:
        if exc.code != _METHOD_NOT_FOUND:
            raise
        receipts = client.batch([("eth_getTransactionReceipt", [h]) for h in tx_hashes])
    if not isinstance(receipts, list) or len(receipts) != len(tx_hashes):
        raise EvidenceBuildError(f"the node returned {len(receipts or [])} receipts for {len(tx_hashes)} transactions")
    return receipts


def _raw_transactions(client: JsonRpcClient, block_hash: str, count: int) -> list[bytes]:
    try:
        raws = client.batch([("eth_getRawTransactionByBlockHashAndIndex", [block_hash, hex(i)]) for i in range(count)])
    except RpcResponseError as exc:
        if exc.code != _METHOD_NOT_FOUND:
            raise
        block = client.get_block(block_hash)
        raws = client.batch([("eth_getRawTransactionByHash", [h]) for h in block["transactions"]])
    return [hex_to_bytes(raw, what="raw transaction") for raw in raws]


def build_log_evidence(
    client: JsonRpcClient, transaction_hash: str, log_index: int, *, descendants: int = 0
) -> EthereumEvidence:
    """Collect evidence for the log with block-wide index ``log_index`` (as ``eth_getLogs`` reports it)
    emitted by transaction ``transaction_hash``: header, raw transaction and receipt with their trie proofs,
    the headers of
    ``descendants`` later blocks (to reach a checkpoint), and the head observed now.

    Raises ``LedgerUnavailableError``/``RpcResponseError`` (node) or ``EvidenceBuildError`` (data).
    """
    try:
        return _build_log_evidence(client, transaction_hash, log_index, descendants)
    except InputError as exc:
        raise EvidenceBuildError(f"the node returned unusable data for {transaction_hash}: {exc}") from None


def _build_log_evidence(
    client: JsonRpcClient, transaction_hash: str, log_index: int, descendants: int
) -> EthereumEvidence:
    receipt = client.get_transaction_receipt(transaction_hash)
    block_hash_hex = receipt["blockHash"]
    block = client.get_block(block_hash_hex)
    header, block_hash = _header_of(block, f"block {block_hash_hex}")
    number = hex_quantity(block["number"], what="block number")
    tx_hashes: list[str] = list(block["transactions"])
    tx_index = hex_quantity(receipt["transactionIndex"], what="transactionIndex")
    if tx_index >= len(tx_hashes) or tx_hashes[tx_index].lower() != transaction_hash.lower():
        raise EvidenceBuildError(f"the block does not list {transaction_hash} at index {tx_index}")

    position = next(
        (i for i, log in enumerate(receipt["logs"]) if hex_quantity(log["logIndex"], what="logIndex") == log_index),
        None,
    )
    if position is None:
        raise EvidenceBuildError(f"transaction {transaction_hash} emitted no log with index {log_index}")
    claimed = receipt["logs"][position]

    receipts = _block_receipts(client, block_hash_hex, tx_hashes)
    receipts_root, receipts_trie = build_index_trie([encode_receipt(r) for r in receipts])
    if receipts_root != hex_to_bytes(block["receiptsRoot"], what="receiptsRoot"):
        raise EvidenceBuildError(f"the block's receipts do not rebuild its receiptsRoot (block {number})")

    raws = _raw_transactions(client, block_hash_hex, len(tx_hashes))
    for raw, expected in zip(raws, tx_hashes, strict=True):
        if to_hex(keccak256(raw)) != expected.lower():
            raise EvidenceBuildError(f"raw transaction does not hash to {expected}")
    tx_root, tx_trie = build_index_trie(raws)
    if tx_root != hex_to_bytes(block["transactionsRoot"], what="transactionsRoot"):
        raise EvidenceBuildError(f"the block's transactions do not rebuild its transactionsRoot (block {number})")

    log = LogProof(
        transaction_hash=hex_to_bytes(transaction_hash, what="transaction hash", length=32),
        transaction_index=tx_index,
        log_index=log_index,
        receipt_log_index=position,
        transaction=raws[tx_index],
        transaction_proof=tuple(index_trie_proof(tx_trie, tx_index)),
        receipt=encode_receipt(receipts[tx_index]),
        receipt_proof=tuple(index_trie_proof(receipts_trie, tx_index)),
        address=parse_address(claimed["address"]),
        topics=tuple(hex_to_bytes(t, what="topic", length=32) for t in claimed["topics"]),
        data=hex_to_bytes(claimed["data"], what="log data"),
        sender=parse_address(receipt["from"]),
    )
    return EthereumEvidence(
        chain_id=client.chain_id(),
        block_number=number,
        block_hash=block_hash,
        header=header,
        descendant_headers=_descendants(client, number, descendants),
        observed=_observation(client, number),
        log=log,
    )


def build_state_evidence(
    client: JsonRpcClient,
    address: str,
    slots: Sequence[int],
    *,
    block: int | str = "latest",
    descendants: int = 0,
) -> EthereumEvidence:
    """Collect EIP-1186 evidence of ``address``'s account and the given storage ``slots`` at ``block``.

    The block is fixed first (its number), then ``eth_getProof`` is asked at that number, and the proof's
    account is checked against the header's stateRoot so that a reorg in between is caught here rather than
    shipped."""
    try:
        return _build_state_evidence(client, address, slots, block, descendants)
    except InputError as exc:
        raise EvidenceBuildError(f"the node returned unusable state data for {address}: {exc}") from None


def _build_state_evidence(
    client: JsonRpcClient, address: str, slots: Sequence[int], block: int | str, descendants: int
) -> EthereumEvidence:
    checksummed = parse_address(address)
    block_data = client.get_block(block)
    header, block_hash = _header_of(block_data, f"block {block}")
    number = hex_quantity(block_data["number"], what="block number")
    proof = client.get_proof(checksummed, slots, number)
    storage = []
    returned = proof.get("storageProof") or []
    if len(returned) != len(slots):
        raise EvidenceBuildError(f"eth_getProof returned {len(returned)} storage proofs for {len(slots)} slots")
    for slot, item in zip(slots, returned, strict=True):
        value = item.get("value")
        # web3-style clients and some nodes return the value as a quantity; keep the integer.
        storage.append(
            StorageSlotProof(
                slot=slot,
                value=hex_quantity(value, what="storage value") if value not in ("0x", "0x0", 0) else 0,
                proof=tuple(hex_to_bytes(node, what="storage proof node") for node in item["proof"]),
            )
        )
    state = StateProof(
        address=checksummed,
        nonce=hex_quantity(proof["nonce"], what="nonce"),
        balance=hex_quantity(proof["balance"], what="balance"),
        storage_hash=hex_to_bytes(proof["storageHash"], what="storageHash", length=32),
        code_hash=hex_to_bytes(proof["codeHash"], what="codeHash", length=32),
        account_proof=tuple(hex_to_bytes(node, what="account proof node") for node in proof["accountProof"]),
        storage=tuple(storage),
    )
    # The node may have answered eth_getProof for a different block than the one whose header we took (a reorg
    # between the calls): verify now and refuse to ship evidence that cannot pass.
    checks, _ = _check_state(state, decode_header(header))
    failed = [c for c in checks if c.status == "failed"]
    if failed and failed[0].problem is not None:
        raise EvidenceBuildError(f"eth_getProof does not match block {number}: {failed[0].problem.detail}")
    return EthereumEvidence(
        chain_id=client.chain_id(),
        block_number=number,
        block_hash=block_hash,
        header=header,
        descendant_headers=_descendants(client, number, descendants),
        observed=_observation(client, number),
        state=state,
    )


def observe_header_quorum(
    clients: Sequence[HeaderSource], block_number: int, *, chain_id: int, quorum: int, finality_depth: int
) -> QuorumAnchor:
    """Ask each endpoint for its chain id, head and the hash it has at ``block_number``; an endpoint that
    cannot be reached is recorded with its error (it simply does not vote). The result is an anchor for
    :func:`check_evidence`: the I/O happens here, the judgement there."""
    reports = []
    for client in clients:
        try:
            reported_chain = client.chain_id()
            head = client.block_number()
            block = client.get_block(block_number)
            reports.append(
                EndpointReport(
                    endpoint=client.endpoint,
                    chain_id=reported_chain,
                    block_number=hex_quantity(block.get("number"), what="block number"),
                    block_hash=hex_to_bytes(block.get("hash"), what="block hash", length=32),
                    head_number=head,
                )
            )
        except (EthereumError, InputError) as exc:
            reports.append(
                EndpointReport(
                    endpoint=client.endpoint,
                    chain_id=0,
                    block_number=block_number,
                    block_hash=None,
                    head_number=0,
                    error=str(exc),
                )
            )
    return QuorumAnchor(chain_id=chain_id, reports=tuple(reports), quorum=quorum, finality_depth=finality_depth)
