"""RFC 9162 Merkle tree: reference vectors byte for byte, exhaustive proofs up to 200 leaves, bit-flip properties."""

from __future__ import annotations

import json
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcgate.adapters.plain_ledger import (
    EMPTY_ROOT,
    Frontier,
    MerkleProofError,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    lookup_from,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from vcgate.adapters.plain_ledger._merkle import NodeLookup

from .conftest import VECTORS

VEC = json.loads((VECTORS / "rfc6962-vectors.json").read_text())
LEAVES = [bytes.fromhex(x) for x in VEC["leaves_hex"]]
MAX_SIZE = 200


def reference_root(leaves: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 MTH, written directly from the definition (independent of the frontier code)."""
    if not leaves:
        return EMPTY_ROOT
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return node_hash(reference_root(leaves[:k]), reference_root(leaves[k:]))


@cache
def big_tree() -> tuple[list[bytes], NodeLookup, tuple[bytes, ...]]:
    leaves = [i.to_bytes(4, "big") for i in range(MAX_SIZE)]
    _frontier, created = Frontier.empty().extend(leaf_hash(x) for x in leaves)
    lookup = lookup_from(dict(created))
    roots = tuple(root_hash(n, lookup) for n in range(MAX_SIZE + 1))
    return leaves, lookup, roots


def vector_lookup() -> NodeLookup:
    _, created = Frontier.empty().extend(leaf_hash(x) for x in LEAVES)
    return lookup_from(dict(created))


@pytest.mark.parametrize("size", range(9))
def test_tree_heads_match_the_reference_vectors(size: int) -> None:
    frontier, _ = Frontier.empty().extend(leaf_hash(x) for x in LEAVES[:size])
    assert frontier.root().hex() == VEC["roots_hex_by_size"][size]
    assert root_hash(size, vector_lookup()).hex() == VEC["roots_hex_by_size"][size]
    assert reference_root(LEAVES[:size]).hex() == VEC["roots_hex_by_size"][size]


@pytest.mark.parametrize("case", VEC["inclusion"], ids=lambda c: f"leaf{c['leaf_index']}-size{c['tree_size']}")
def test_inclusion_paths_match_the_reference_vectors(case: dict) -> None:
    path = inclusion_proof(case["leaf_index"], case["tree_size"], vector_lookup())
    assert [p.hex() for p in path] == case["path"]
    assert leaf_hash(LEAVES[case["leaf_index"]]).hex() == case["leaf_hash"]
    verify_inclusion(
        case["leaf_index"],
        case["tree_size"],
        bytes.fromhex(case["leaf_hash"]),
        [bytes.fromhex(p) for p in case["path"]],
        bytes.fromhex(case["root"]),
    )


@pytest.mark.parametrize("case", VEC["consistency"], ids=lambda c: f"{c['old_size']}-{c['new_size']}")
def test_consistency_proofs_match_the_reference_vectors(case: dict) -> None:
    proof = consistency_proof(case["old_size"], case["new_size"], vector_lookup())
    assert [p.hex() for p in proof] == case["proof"]
    verify_consistency(
        case["old_size"],
        case["new_size"],
        bytes.fromhex(case["old_root"]),
        bytes.fromhex(case["new_root"]),
        [bytes.fromhex(p) for p in case["proof"]],
    )


def test_vectors_cover_every_inclusion_and_consistency_pair_up_to_8() -> None:
    assert {(c["leaf_index"], c["tree_size"]) for c in VEC["inclusion"]} == {
        (i, n) for n in range(1, 9) for i in range(n)
    }
    assert {(c["old_size"], c["new_size"]) for c in VEC["consistency"]} == {
        (m, n) for n in range(1, 9) for m in range(1, n + 1)
    }


def test_rfc6962_section_2_1_3_examples() -> None:
    """RFC 6962 §2.1.3 (RFC 9162 §2.1.5): the 7-leaf example tree's audit paths and consistency proofs."""
    a, b, c, d, e, f, j = (leaf_hash(x) for x in [*LEAVES[:6], LEAVES[6]])
    g, h, i = node_hash(a, b), node_hash(c, d), node_hash(e, f)
    k, l = node_hash(g, h), node_hash(i, j)  # noqa: E741 - the RFC's names
    lookup = vector_lookup()
    assert inclusion_proof(0, 7, lookup) == [b, h, l]
    assert inclusion_proof(3, 7, lookup) == [c, g, l]
    assert inclusion_proof(4, 7, lookup) == [f, j, k]
    assert inclusion_proof(6, 7, lookup) == [i, k]
    assert consistency_proof(3, 7, lookup) == [c, d, g, l]
    assert consistency_proof(4, 7, lookup) == [l]
    assert consistency_proof(6, 7, lookup) == [i, j, k]
    assert root_hash(7, lookup) == node_hash(k, l)


def test_every_proof_verifies_for_all_sizes_up_to_200() -> None:
    """Exhaustive: every (index, size) inclusion proof and every (first, second) consistency proof, sizes ≤ 200."""
    leaves, lookup, roots = big_tree()
    assert roots[MAX_SIZE] == reference_root(leaves)
    for n in range(1, MAX_SIZE + 1):
        for i in range(n):
            verify_inclusion(i, n, leaf_hash(leaves[i]), inclusion_proof(i, n, lookup), roots[n])
        for m in range(0, n + 1):
            verify_consistency(m, n, roots[m], roots[n], consistency_proof(m, n, lookup))


def test_root_hash_from_nodes_matches_the_definition_at_sampled_sizes() -> None:
    leaves, _, roots = big_tree()
    for n in (0, 1, 2, 3, 31, 32, 33, 127, 128, 129, 199, 200):
        assert roots[n] == reference_root(leaves[:n])


def _flip(data: bytes, bit: int) -> bytes:
    raw = bytearray(data)
    raw[bit // 8] ^= 1 << (bit % 8)
    return bytes(raw)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_single_bit_flip_breaks_an_inclusion_proof(data: st.DataObject) -> None:
    leaves, lookup, roots = big_tree()
    n = data.draw(st.integers(1, MAX_SIZE), "size")
    i = data.draw(st.integers(0, n - 1), "index")
    proof = inclusion_proof(i, n, lookup)
    leaf, root = leaf_hash(leaves[i]), roots[n]
    targets = ["leaf", "root"] + (["path"] if proof else [])
    target = data.draw(st.sampled_from(targets), "target")
    bit = data.draw(st.integers(0, 255), "bit")
    if target == "leaf":
        leaf = _flip(leaf, bit)
    elif target == "root":
        root = _flip(root, bit)
    else:
        k = data.draw(st.integers(0, len(proof) - 1), "element")
        proof[k] = _flip(proof[k], bit)
    with pytest.raises(MerkleProofError):
        verify_inclusion(i, n, leaf, proof, root)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_single_bit_flip_breaks_a_consistency_proof(data: st.DataObject) -> None:
    _, lookup, roots = big_tree()
    n = data.draw(st.integers(2, MAX_SIZE), "second")
    m = data.draw(st.integers(1, n - 1), "first")
    proof = consistency_proof(m, n, lookup)
    first, second = roots[m], roots[n]
    target = data.draw(st.sampled_from(["first", "second", "proof"]), "target")
    bit = data.draw(st.integers(0, 255), "bit")
    if target == "first":
        first = _flip(first, bit)
    elif target == "second":
        second = _flip(second, bit)
    else:
        k = data.draw(st.integers(0, len(proof) - 1), "element")
        proof[k] = _flip(proof[k], bit)
    with pytest.raises(MerkleProofError):
        verify_consistency(m, n, first, second, proof)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_proof_for_other_indices_or_sizes_fails(data: st.DataObject) -> None:
    leaves, lookup, roots = big_tree()
    n = data.draw(st.integers(2, MAX_SIZE), "size")
    i = data.draw(st.integers(0, n - 1), "index")
    j = data.draw(st.integers(0, n - 1).filter(lambda x: x != i), "other index")
    with pytest.raises(MerkleProofError):
        verify_inclusion(j, n, leaf_hash(leaves[i]), inclusion_proof(i, n, lookup), roots[n])


@pytest.mark.parametrize(
    ("index", "size", "path_len", "message"),
    [(5, 5, 3, "outside"), (0, 0, 0, "outside"), (0, 8, 2, "shorter"), (0, 8, 4, "longer")],
)
def test_malformed_inclusion_requests_are_refused(index: int, size: int, path_len: int, message: str) -> None:
    with pytest.raises(MerkleProofError, match=message):
        verify_inclusion(index, size, leaf_hash(b"x"), [b"\x00" * 32] * path_len, b"\x00" * 32)


def test_consistency_edge_cases() -> None:
    _, lookup, roots = big_tree()
    verify_consistency(0, 5, EMPTY_ROOT, roots[5], [])  # everything extends the empty tree
    verify_consistency(7, 7, roots[7], roots[7], [])
    with pytest.raises(MerkleProofError, match="forked"):
        verify_consistency(7, 7, roots[7], roots[6], [])
    with pytest.raises(MerkleProofError, match="cannot extend"):
        verify_consistency(8, 7, roots[8], roots[7], [])
    with pytest.raises(MerkleProofError, match="empty"):
        verify_consistency(3, 8, roots[3], roots[8], [])
    with pytest.raises(MerkleProofError, match="32-byte"):
        verify_consistency(3, 8, roots[3], roots[8], [b"short"])
    with pytest.raises(MerkleProofError):
        consistency_proof(9, 8, lookup)
