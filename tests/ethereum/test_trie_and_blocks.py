"""Unit tests (no server): the Merkle-Patricia proof verifier against the `trie` package, consensus encodings
against py-evm (web3[tester]), and transaction sender recovery against eth-account's signing."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
import rlp
from eth_account import Account
from hypothesis import given, settings
from hypothesis import strategies as st
from trie.hexary import HexaryTrie
from web3 import EthereumTesterProvider, Web3

from vcgate.adapters.ethereum import (
    decode_header,
    decode_receipt,
    decode_transaction,
    keccak256,
    verify_trie_proof,
)
from vcgate.adapters.ethereum._trie import (
    EMPTY_TRIE_ROOT,
    ProofNodes,
    TrieProofError,
    build_index_trie,
    index_trie_proof,
)
from vcgate.canonical_schema import InputError

from .conftest import DEV_KEYS


@pytest.mark.parametrize("size", [1, 2, 3, 16, 17, 127, 128, 129, 300])
def test_index_trie_proofs_verify_for_every_item(size: int) -> None:
    # Sizes around 16 (branch fan-out) and 128 (rlp(128) is the first two-byte key) change the trie's shape.
    values = [keccak256(i.to_bytes(4, "big")) * (1 + i % 5) for i in range(size)]
    root, built = build_index_trie(values)
    reference = HexaryTrie({})
    for i, value in enumerate(values):
        reference[rlp.encode(i)] = value
    assert root == reference.root_hash
    for index in {0, size // 2, size - 1}:
        proof = index_trie_proof(built, index)
        assert verify_trie_proof(root, rlp.encode(index), proof) == values[index]
    # A key beyond the items is proven absent by the same kind of proof.
    absent = reference.get_proof(rlp.encode(size + 1000))
    assert verify_trie_proof(root, rlp.encode(size + 1000), [rlp.encode(n) for n in absent]) is None


def test_empty_trie_root_proves_absence() -> None:
    assert verify_trie_proof(EMPTY_TRIE_ROOT, rlp.encode(0), []) is None


def test_tampered_or_missing_node_does_not_verify() -> None:
    values = [bytes([i]) * 40 for i in range(40)]
    root, built = build_index_trie(values)
    proof = index_trie_proof(built, 7)
    tampered = [*proof[:-1], proof[-1].replace(values[7], bytes([99]) * 40)]
    with pytest.raises(TrieProofError, match="lacks the node"):
        verify_trie_proof(root, rlp.encode(7), tampered)
    with pytest.raises(TrieProofError, match="lacks the node"):
        verify_trie_proof(root, rlp.encode(7), proof[:1])
    # The proof of item 7 does not prove item 8's value.
    assert verify_trie_proof(root, rlp.encode(7), proof) != values[8]


def test_proof_must_be_exactly_the_path() -> None:
    """Every node a proof carries is used by the walk, in order: an unused node would travel in evidence
    unchecked (conformance EVD-005). Embedded nodes may be listed in place (the trie package does) or left out."""
    values = [bytes([i]) * 40 for i in range(40)]
    root, built = build_index_trie(values)
    proof = index_trie_proof(built, 7)
    other = index_trie_proof(built, 30)
    assert verify_trie_proof(root, rlp.encode(7), proof) == values[7]
    # A node appended, a node listed twice, the nodes reversed.
    for forged in ([*proof, other[-1]], [*proof, proof[-1]], proof[::-1]):
        with pytest.raises(TrieProofError, match="not exactly the path"):
            verify_trie_proof(root, rlp.encode(7), forged)
    # Pooled proofs (the storage slots of one account) share nodes; a tampered copy of a shared node is not
    # rescued by the other proof's intact copy.
    tampered_root = proof[0][:-1] + bytes([proof[0][-1] ^ 1])
    pool = ProofNodes([[tampered_root, *proof[1:]], other])
    with pytest.raises(TrieProofError, match="not exactly the path"):
        verify_trie_proof(root, rlp.encode(7), [tampered_root, *proof[1:]], nodes=pool)
    assert verify_trie_proof(root, rlp.encode(30), other, nodes=pool) == values[30]
    # Small values make embedded leaves: both spellings verify, a wrong embedded node does not.
    small = [bytes([i + 1]) for i in range(20)]
    small_root, small_built = build_index_trie(small)
    reference = HexaryTrie({})
    for i, value in enumerate(small):
        reference[rlp.encode(i)] = value
    listed = [rlp.encode(node) for node in reference.get_proof(rlp.encode(3))]
    omitted = index_trie_proof(small_built, 3)
    assert len(listed) == len(omitted) + 1
    assert verify_trie_proof(small_root, rlp.encode(3), listed) == small[3]
    assert verify_trie_proof(small_root, rlp.encode(3), omitted) == small[3]
    with pytest.raises(TrieProofError, match="not exactly the path"):
        verify_trie_proof(small_root, rlp.encode(3), [*listed[:-1], rlp.encode([b"\x20", b"\x09"])])
    with pytest.raises(TrieProofError, match="not exactly the path"):
        verify_trie_proof(EMPTY_TRIE_ROOT, rlp.encode(0), [proof[0]])


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.binary(min_size=32, max_size=32), st.binary(min_size=1, max_size=80), min_size=1))
def test_hashed_key_proofs_agree_with_trie_package(entries: dict[bytes, bytes]) -> None:
    # State and storage tries use 32-byte hashed keys (EIP-1186).
    reference = HexaryTrie({})
    for key, value in entries.items():
        reference[key] = value
    for key, value in list(entries.items())[:5]:
        proof = [rlp.encode(node) for node in reference.get_proof(key)]
        assert verify_trie_proof(reference.root_hash, key, proof) == value


@pytest.fixture(scope="module")
def tester_chain() -> Any:
    """An in-process py-evm chain (web3[tester], Prague rules) with one block of several transaction types."""
    provider = EthereumTesterProvider()
    w3 = Web3(provider)
    accounts = w3.eth.accounts
    w3.provider.ethereum_tester.disable_auto_mine_transactions()  # type: ignore[attr-defined]
    # One transaction per sender: the tester checks each pending transaction's nonce against the last block.
    for i in range(6):
        w3.eth.send_transaction({"from": accounts[i], "to": accounts[9], "value": i + 1, "gas": 21000})
    w3.eth.send_transaction({"from": accounts[6], "to": accounts[8], "value": 7, "gasPrice": 10**10, "gas": 21000})
    w3.provider.ethereum_tester.mine_blocks(1)  # type: ignore[attr-defined]
    return provider.ethereum_tester.backend.chain


def test_py_evm_header_decodes_and_hashes(tester_chain: Any) -> None:
    block = tester_chain.get_canonical_block_by_number(1)
    header_rlp = rlp.encode(block.header)
    assert keccak256(header_rlp) == block.header.hash
    fields = decode_header(header_rlp)
    assert fields.number == 1
    assert fields.timestamp == block.header.timestamp
    assert fields.receipts_root == block.header.receipt_root
    assert fields.transactions_root == block.header.transaction_root
    assert fields.state_root == block.header.state_root
    assert fields.field_count == 21  # Prague header: requestsHash is the 21st field


def test_py_evm_block_tries_rebuild_and_senders_recover(tester_chain: Any) -> None:
    head = tester_chain.get_canonical_head().block_number
    total = 0
    for number in range(1, head + 1):
        block = tester_chain.get_canonical_block_by_number(number)
        raws = [tx.encode() for tx in block.transactions]
        total += len(raws)
        tx_root, _ = build_index_trie(raws)
        assert tx_root == block.header.transaction_root
        for tx, raw in zip(block.transactions, raws, strict=True):
            assert decode_transaction(raw).sender == Web3.to_checksum_address(tx.sender)
        receipts = [r.encode() for r in block.get_receipts(tester_chain.chaindb)]
        receipts_root, _ = build_index_trie(receipts)
        assert receipts_root == block.header.receipt_root
        assert all(decode_receipt(r).status == 1 for r in receipts)
    assert total == 7
    assert len(tester_chain.get_canonical_block_by_number(head).transactions) == 7


@pytest.mark.parametrize(
    "fields",
    [
        {"nonce": 0, "gasPrice": 10**9, "gas": 21000, "to": "0x" + "11" * 20, "value": 5, "chainId": 31337},
        {"nonce": 1, "gasPrice": 10**9, "gas": 21000, "to": "0x" + "11" * 20, "value": 5},  # pre-EIP-155
        {
            "type": 1,
            "nonce": 2,
            "gasPrice": 10**9,
            "gas": 30000,
            "to": "0x" + "22" * 20,
            "value": 0,
            "data": "0x1234",
            "chainId": 31337,
            "accessList": [{"address": "0x" + "33" * 20, "storageKeys": ["0x" + "00" * 32]}],
        },
        {
            "type": 2,
            "nonce": 3,
            "maxFeePerGas": 2 * 10**9,
            "maxPriorityFeePerGas": 10**9,
            "gas": 50000,
            "to": "0x" + "44" * 20,
            "value": 1,
            "data": "0x",
            "chainId": 31337,
        },
        {
            "type": 2,
            "nonce": 4,
            "maxFeePerGas": 2 * 10**9,
            "maxPriorityFeePerGas": 10**9,
            "gas": 500000,
            "value": 0,
            "data": "0x6000",
            "chainId": 31337,
        },  # contract creation: empty `to`
    ],
)
def test_sender_recovery_matches_eth_account(fields: dict[str, Any]) -> None:
    account = Account.from_key(DEV_KEYS[1])
    signed = account.sign_transaction(fields)
    decoded = decode_transaction(bytes(signed.raw_transaction))
    assert decoded.sender == account.address
    assert decoded.tx_type == fields.get("type", 0)
    assert decoded.chain_id == fields.get("chainId")
    assert decoded.to == (Web3.to_checksum_address(fields["to"]) if "to" in fields else None)


def test_tampered_transaction_recovers_another_sender_or_fails() -> None:
    account = Account.from_key(DEV_KEYS[1])
    raw = bytearray(
        Account.sign_transaction(
            {
                "type": 2,
                "nonce": 0,
                "maxFeePerGas": 2,
                "maxPriorityFeePerGas": 1,
                "gas": 21000,
                "to": "0x" + "44" * 20,
                "value": 1,
                "chainId": 1,
            },
            DEV_KEYS[1],
        ).raw_transaction
    )
    raw[12] ^= 0x01  # flip a bit in the signed fields
    # An unrecoverable signature is just as good a failure as another sender.
    with contextlib.suppress(InputError):
        assert decode_transaction(bytes(raw)).sender != account.address


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"", "empty"),
        (b"\x05\xc0", "unknown transaction type"),
        (bytes([0x02]) + rlp.encode([b"\x01"] * 5), "must have 12 fields"),
        (rlp.encode([b""] * 9), "invalid v value"),
    ],
)
def test_malformed_transactions_raise_input_error(raw: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        decode_transaction(raw)


def test_short_header_is_refused() -> None:
    with pytest.raises(InputError, match="at least 15 fields"):
        decode_header(rlp.encode([b"\x00" * 32] * 10))
