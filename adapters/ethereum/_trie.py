"""Merkle-Patricia trie proofs: a pure verifier, and a builder for the block-level tries (transactions,
receipts).

The verifier follows the Yellow Paper, Appendix D ("Modified Merkle Patricia Tree"): a node is the RLP of a
17-item branch or a 2-item leaf/extension whose first item is the hex-prefix encoded path (Appendix C); a
child is referenced by the Keccak-256 of its RLP, or embedded as-is when that RLP is shorter than 32 bytes.
The root is always referenced by hash.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import rlp

from ._encoding import keccak256
from ._rlp import RlpError, RlpItem, rlp_decode, rlp_encode

# keccak256(rlp(b"")): the root of an empty trie (Yellow Paper §4.3, e.g. the transactionsRoot of an empty
# block).
EMPTY_TRIE_ROOT = bytes.fromhex("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421")

# A proof longer than this cannot come from a trie keyed by 32-byte hashes (64 nibbles, each step consumes >=
# 1).
MAX_PROOF_NODES = 80


class TrieProofError(ValueError):
    """A proof is malformed or does not connect to the root (internal; callers turn it into a failed
    check)."""


def _decode_hex_prefix(encoded: bytes) -> tuple[str, bool]:
    """Hex-prefix decoding (Yellow Paper Appendix C): returns (path as hex digits, is_leaf).

    Paths are handled as strings of hex digits (one character per nibble): ``bytes.hex()`` does the nibble
    split in C, which keeps the hot loop of proof checking cheap.
    """
    if not encoded:
        raise TrieProofError("empty hex-prefix path")
    digits = encoded.hex()
    flag = int(digits[0], 16)
    if flag > 3:
        raise TrieProofError(f"bad hex-prefix flag {flag}")
    # flag bit 1 (value 1): odd length, the first nibble is in the low half of the first byte.
    if flag & 1:
        return digits[1:], bool(flag & 2)
    if digits[1] != "0":
        raise TrieProofError("bad hex-prefix padding")
    return digits[2:], bool(flag & 2)


class ProofNodes:
    """Proof nodes indexed by their Keccak-256, decoded at most once. Several proofs under one root (the storage
    slots of one account) share their upper nodes; pooling them saves most of the hashing and decoding."""

    def __init__(self, proofs: Iterable[Sequence[bytes]]) -> None:
        distinct: set[bytes] = set()
        for proof in proofs:
            if len(proof) > MAX_PROOF_NODES:
                raise TrieProofError(f"proof has {len(proof)} nodes, more than {MAX_PROOF_NODES}")
            distinct.update(proof)
        self._raw = {keccak256(node): node for node in distinct}
        self._hashes = {node: digest for digest, node in self._raw.items()}
        self._decoded: dict[bytes, RlpItem] = {}

    def hash_of(self, node: bytes) -> bytes | None:
        """The Keccak-256 of a pooled node (``None`` if it is not in the pool)."""
        return self._hashes.get(node)

    def get(self, reference: bytes) -> RlpItem:
        """The decoded node whose hash is ``reference``. Raises :class:`TrieProofError` if absent or not RLP."""
        node = self._decoded.get(reference)
        if node is None:
            encoded = self._raw.get(reference)
            if encoded is None:
                raise TrieProofError(f"proof lacks the node with hash {reference.hex()}")
            try:
                node = rlp_decode(encoded)
            except RlpError as exc:
                raise TrieProofError(f"node is not valid RLP: {exc}") from None
            self._decoded[reference] = node
        return node


def verify_trie_proof(
    root: bytes, key: bytes, proof: Sequence[bytes], *, nodes: ProofNodes | None = None
) -> bytes | None:
    """Walk ``proof`` (RLP-encoded nodes) from ``root`` along ``key``.

    Returns the value stored under ``key``, or ``None`` when the proof shows the key is absent. Raises
    :class:`TrieProofError` when a needed node is missing from the proof or a node is malformed: such a proof
    proves nothing. ``nodes`` may pool the nodes of several proofs under the same root (it must include
    ``proof``'s).

    The proof must be exactly the nodes of the walk, root first, as ``eth_getProof`` (EIP-1186) and
    :func:`index_trie_proof` produce them; embedded nodes (RLP shorter than 32 bytes, which travel inside their
    parent) may be listed in their place or left out. A node the walk does not use would be carried in evidence
    without being checked (and with pooled proofs, a node could otherwise be served by another proof's copy).
    """
    if root == EMPTY_TRIE_ROOT:
        # An empty trie: nothing to walk; the only node it has is its root, rlp(b"") (Yellow Paper §4.3).
        if any(node != b"\x80" for node in proof) or len(proof) > 1:
            raise TrieProofError("proof nodes are not exactly the path to the key (the trie is empty)")
        return None
    store = nodes if nodes is not None else ProofNodes((proof,))
    visited: list[RlpItem] = []
    value = _walk(root, key, store, visited)
    if not _is_exact_path(proof, visited, store):
        raise TrieProofError("proof nodes are not exactly the path to the key (extra, missing or reordered nodes)")
    return value


def _is_exact_path(proof: Sequence[bytes], visited: Sequence[RlpItem], store: ProofNodes) -> bool:
    """Whether ``proof`` lists the walk's nodes in order: each hash-referenced node (``bytes``: its hash), and each
    embedded node (a decoded list) either as its RLP or not at all."""
    at = 0
    for step in visited:
        if isinstance(step, bytes):
            if at >= len(proof) or store.hash_of(proof[at]) != step:
                return False
            at += 1
        elif at < len(proof) and proof[at] == rlp_encode(step):
            at += 1
    return at == len(proof)


def _walk(root: bytes, key: bytes, store: ProofNodes, visited: list[RlpItem]) -> bytes | None:
    """The value under ``key`` (``None``: proven absent), appending each node's hash (fetched by reference) or the
    decoded node itself (embedded) to ``visited``."""
    path = key.hex()
    position = 0
    reference: RlpItem = root
    for _ in range(MAX_PROOF_NODES + 1):
        if isinstance(reference, bytes):
            if reference == b"":
                return None
            if len(reference) != 32:
                raise TrieProofError("child reference is neither a 32-byte hash nor an embedded node")
            node = store.get(reference)
            visited.append(reference)
        else:
            node = reference  # embedded node: already decoded as part of its parent
            visited.append(node)
        if not isinstance(node, list):
            raise TrieProofError("trie node is not an RLP list")
        if len(node) == 17:
            if position == len(path):
                value = node[16]
                if not isinstance(value, bytes):
                    raise TrieProofError("branch value is not a byte string")
                return value or None
            reference = node[int(path[position], 16)]
            position += 1
        elif len(node) == 2:
            encoded_path = node[0]
            if not isinstance(encoded_path, bytes):
                raise TrieProofError("leaf/extension path is not a byte string")
            segment, is_leaf = _decode_hex_prefix(encoded_path)
            if not path.startswith(segment, position):
                return None  # the key diverges here: proven absent
            position += len(segment)
            if is_leaf:
                if position != len(path):
                    return None
                value = node[1]
                if not isinstance(value, bytes):
                    raise TrieProofError("leaf value is not a byte string")
                return value
            reference = node[1]
        else:
            raise TrieProofError(f"trie node has {len(node)} items, expected 2 or 17")
    raise TrieProofError("proof does not terminate")


def build_index_trie(values: Sequence[bytes]) -> tuple[bytes, Any]:
    """Build the trie Ethereum uses for a block's transactions and receipts: key ``rlp(index)``, value the
    item's consensus encoding (EIP-2718: typed items are ``type || payload``). Returns (root, trie)."""
    from trie.hexary import HexaryTrie  # only the evidence builder needs the trie package

    built = HexaryTrie({})
    for index, value in enumerate(values):
        built[rlp.encode(index)] = value
    return bytes(built.root_hash), built


def index_trie_proof(built: Any, index: int) -> list[bytes]:
    """The proof (RLP-encoded nodes from the root down) for item ``index`` of a trie from
    :func:`build_index_trie`.

    Embedded nodes (RLP shorter than 32 bytes) are left out: they travel inside their parent.
    """
    nodes = built.get_proof(rlp.encode(index))
    encoded = [rlp.encode(node) for node in nodes]
    return [node for position, node in enumerate(encoded) if position == 0 or len(node) >= 32]
