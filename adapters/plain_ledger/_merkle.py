"""RFC 9162 Merkle tree hashing, proof generation and proof verification (pure, no I/O).

The tree is the one of RFC 9162 §2.1 (identical to RFC 6962 §2.1): SHA-256, leaf hash ``H(0x00 ‖ leaf)``, interior
node hash ``H(0x01 ‖ left ‖ right)``, the empty tree hashes to ``H("")``, and a tree of ``n`` leaves splits at the
largest power of two strictly smaller than ``n``.

Storage is addressed by *complete subtrees*: node ``(level, index)`` is the hash of the perfect subtree over leaves
``[index·2^level, (index+1)·2^level)``. Every range the proof algorithms need decomposes into at most ``log2(n)`` of
those, so a store that keeps complete subtrees serves any proof with O(log n) reads: :func:`inclusion_proof_nodes`
and :func:`consistency_proof_nodes` say which nodes to read, :func:`inclusion_proof` and :func:`consistency_proof`
assemble the proof from a lookup.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from vcgate.canonical_schema import VcgateError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

NodeId = tuple[int, int]
"""A complete subtree: ``(level, index)`` covers leaves ``[index << level, (index + 1) << level)``."""

NodeLookup = Callable[[int, int], bytes]


class MerkleProofError(VcgateError):
    """A Merkle proof did not verify, or a proof was requested for sizes/indices the tree does not have."""


def leaf_hash(leaf: bytes) -> bytes:
    """RFC 9162 §2.1.1: ``MTH({d0}) = SHA-256(0x00 ‖ d0)``."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """RFC 9162 §2.1.1: ``SHA-256(0x01 ‖ MTH(left) ‖ MTH(right))``."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly smaller than ``n`` (``n >= 2``), RFC 9162 §2.1.1 ``k``."""
    return 1 << ((n - 1).bit_length() - 1)


def range_nodes(start: int, end: int) -> list[NodeId]:
    """The complete subtrees whose hashes fold (right to left) into ``MTH(D[start:end])``.

    Only valid for the ranges the RFC 9162 recursion produces: ``start`` is a multiple of the largest power of two
    not exceeding ``end - start`` (true for every range below, since each split point is a sum of decreasing powers
    of two).
    """
    nodes: list[NodeId] = []
    while start < end:
        level = (end - start).bit_length() - 1
        nodes.append((level, start >> level))
        start += 1 << level
    return nodes


def fold_range(hashes: Sequence[bytes]) -> bytes:
    """Fold complete-subtree hashes (left to right, decreasing size) into the hash of their union.

    ``MTH(D[a:b]) = H(0x01 ‖ MTH(D[a:a+k]) ‖ MTH(D[a+k:b]))`` with the left part always the largest complete
    subtree, so the fold runs from the right.
    """
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


def _range_hash(start: int, end: int, lookup: NodeLookup) -> bytes:
    return fold_range([lookup(level, index) for level, index in range_nodes(start, end)])


def root_nodes(size: int) -> list[NodeId]:
    """The complete subtrees whose fold is the root of the tree of ``size`` leaves."""
    return range_nodes(0, size)


def root_hash(size: int, lookup: NodeLookup) -> bytes:
    """The RFC 9162 tree head of the first ``size`` leaves, from complete-subtree hashes."""
    return _range_hash(0, size, lookup)


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.3.1 ``PATH(m, D[n])`` as the list of ranges whose hashes form the path, leaf side first."""
    if not 0 <= index < size:
        raise MerkleProofError(f"leaf index {index} is outside a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    start, end, m = 0, size, index
    while end - start > 1:
        k = _split(end - start)
        if m < k:
            ranges.append((start + k, end))  # PATH(m, D[0:k]) : MTH(D[k:n])
            end = start + k
        else:
            ranges.append((start, start + k))  # PATH(m - k, D[k:n]) : MTH(D[0:k])
            start, m = start + k, m - k
    ranges.reverse()  # the recursion appends on the way back up: deepest sibling first
    return ranges


def _consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """RFC 9162 §2.1.4.1 ``PROOF(m, D[n])`` as ranges, deepest first."""
    if not 0 <= first <= second:
        raise MerkleProofError(f"no consistency proof from size {first} to size {second}")
    if first == 0 or first == second:
        return []
    ranges: list[tuple[int, int]] = []
    start, end, m, complete = 0, second, first, True
    while True:
        n = end - start
        if m == n:
            # SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}
            if not complete:
                ranges.append((start, end))
            break
        k = _split(n)
        if m <= k:
            ranges.append((start + k, end))  # SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            end = start + k
        else:
            ranges.append((start, start + k))  # SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            start, m, complete = start + k, m - k, False
    ranges.reverse()
    return ranges


def inclusion_proof_nodes(index: int, size: int) -> set[NodeId]:
    """Every complete subtree :func:`inclusion_proof` will read for leaf ``index`` in a tree of ``size``."""
    return {node for a, b in _inclusion_ranges(index, size) for node in range_nodes(a, b)}


def consistency_proof_nodes(first: int, second: int) -> set[NodeId]:
    """Every complete subtree :func:`consistency_proof` will read between sizes ``first`` and ``second``."""
    return {node for a, b in _consistency_ranges(first, second) for node in range_nodes(a, b)}


def inclusion_proof(index: int, size: int, lookup: NodeLookup) -> list[bytes]:
    """The RFC 9162 §2.1.3.1 inclusion path for leaf ``index`` in the tree of ``size`` leaves."""
    return [_range_hash(a, b, lookup) for a, b in _inclusion_ranges(index, size)]


def consistency_proof(first: int, second: int, lookup: NodeLookup) -> list[bytes]:
    """The RFC 9162 §2.1.4.1 consistency proof between the trees of ``first`` and ``second`` leaves."""
    return [_range_hash(a, b, lookup) for a, b in _consistency_ranges(first, second)]


def lookup_from(nodes: Mapping[NodeId, bytes]) -> NodeLookup:
    """A :data:`NodeLookup` over a mapping, raising :class:`MerkleProofError` for a missing node."""

    def lookup(level: int, index: int) -> bytes:
        try:
            return nodes[(level, index)]
        except KeyError:
            raise MerkleProofError(f"Merkle node (level {level}, index {index}) is not stored") from None

    return lookup


def _check_hash(value: bytes, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise MerkleProofError(f"{what} must be a {HASH_SIZE}-byte SHA-256 hash")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2: the root an inclusion path implies; raises :class:`MerkleProofError` if malformed."""
    if not 0 <= index < size:
        raise MerkleProofError(f"leaf index {index} is outside a tree of size {size}")
    _check_hash(leaf, "the leaf hash")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        _check_hash(p, "every inclusion path element")
        if sn == 0:
            raise MerkleProofError("the inclusion path is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MerkleProofError("the inclusion path is shorter than the tree is deep")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf`` (a leaf hash) sits at ``index`` in the tree of ``size`` leaves with head ``root``."""
    _check_hash(root, "the root hash")
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise MerkleProofError(f"the inclusion proof for leaf {index} does not lead to the tree head of size {size}")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> None:
    """RFC 9162 §2.1.4.2: check that the tree of ``second`` leaves extends the tree of ``first`` leaves."""
    _check_hash(first_root, "the first root hash")
    _check_hash(second_root, "the second root hash")
    for p in proof:
        _check_hash(p, "every consistency proof element")
    if not 0 <= first <= second:
        raise MerkleProofError(f"a tree of size {second} cannot extend a tree of size {first}")
    if first == second:
        if proof:
            raise MerkleProofError("a consistency proof between equal sizes must be empty")
        if first_root != second_root:
            raise MerkleProofError(f"two different tree heads for the same size {first}: the log forked")
        return
    if first == 0:
        # Every tree extends the empty tree; the RFC defines no proof for it, so only the empty proof is accepted.
        if proof or first_root != EMPTY_ROOT:
            raise MerkleProofError("a consistency proof from the empty tree must be empty")
        return
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)  # step 1: first is an exact power of two
    if not path:
        raise MerkleProofError("the consistency proof is empty")
    fn, sn = first - 1, second - 1
    while fn & 1:  # step 3
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise MerkleProofError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise MerkleProofError("the consistency proof is too short")
    if fr != first_root:
        raise MerkleProofError(f"the consistency proof does not match the tree head of size {first}")
    if sr != second_root:
        raise MerkleProofError(f"the consistency proof does not match the tree head of size {second}")


@dataclass(frozen=True, slots=True)
class FrontierNode:
    """One complete subtree on the right edge of a tree: ``level``, first leaf ``start``, its ``hash``."""

    level: int
    start: int
    hash: bytes

    @property
    def node_id(self) -> NodeId:
        """``(level, index)`` of this subtree."""
        return (self.level, self.start >> self.level)


@dataclass(frozen=True, slots=True)
class Frontier:
    """The compact state of a tree: the complete subtrees of its binary decomposition, largest first.

    Appending leaves only needs this (RFC 9162 trees grow on the right), and it yields every new complete subtree
    so a store can persist them.
    """

    size: int
    nodes: tuple[FrontierNode, ...]

    @classmethod
    def empty(cls) -> Frontier:
        """The frontier of the empty tree."""
        return cls(0, ())

    @classmethod
    def load(cls, size: int, lookup: NodeLookup) -> Frontier:
        """Rebuild the frontier of a tree of ``size`` leaves from its stored complete subtrees."""
        nodes = []
        for level, index in root_nodes(size):
            nodes.append(FrontierNode(level, index << level, lookup(level, index)))
        return cls(size, tuple(nodes))

    def root(self) -> bytes:
        """The tree head."""
        return fold_range([n.hash for n in self.nodes])

    def extend(self, leaf_hashes: Iterable[bytes]) -> tuple[Frontier, list[tuple[NodeId, bytes]]]:
        """Append leaf hashes; returns the new frontier and every complete subtree created (leaves included)."""
        stack = list(self.nodes)
        size = self.size
        created: list[tuple[NodeId, bytes]] = []
        for lh in leaf_hashes:
            node = FrontierNode(0, size, lh)
            created.append((node.node_id, lh))
            size += 1
            while stack and stack[-1].level == node.level:
                left = stack.pop()
                node = FrontierNode(node.level + 1, left.start, node_hash(left.hash, node.hash))
                created.append((node.node_id, node.hash))
            stack.append(node)
        return Frontier(size, tuple(stack)), created
