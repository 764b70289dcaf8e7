"""RFC 9162 (Certificate Transparency v2) Merkle trees: leaf and node hashes, inclusion proofs and their
check."""

from __future__ import annotations

import hashlib


def leaf_hash(data: bytes) -> bytes:
    """RFC 9162 §2.1.1: the hash of a leaf is SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def _root(leaves: list[bytes]) -> bytes:
    if len(leaves) == 1:
        return leaves[0]
    k = _largest_power_of_two_below(len(leaves))
    return _node(_root(leaves[:k]), _root(leaves[k:]))


def merkle_root(entries: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1 Merkle Tree Hash of the entries (SHA-256 of the empty string for no entries)."""
    if not entries:
        return hashlib.sha256(b"").digest()
    return _root([leaf_hash(e) for e in entries])


def _path(index: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = _largest_power_of_two_below(len(leaves))
    if index < k:
        return [*_path(index, leaves[:k]), _root(leaves[k:])]
    return [*_path(index - k, leaves[k:]), _root(leaves[:k])]


def inclusion_proof(index: int, entries: list[bytes]) -> list[bytes]:
    """RFC 9162 §2.1.3.1: the audit path for entry ``index`` in a tree of ``entries``."""
    if not 0 <= index < len(entries):
        raise ValueError(f"leaf index {index} outside a tree of size {len(entries)}")
    return _path(index, [leaf_hash(e) for e in entries])


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: list[bytes]) -> bytes | None:
    """RFC 9162 §2.1.3.2: the root an inclusion proof leads to, or ``None`` when the proof has the wrong
    shape."""
    if not 0 <= index < size:
        return None
    fn, sn = index, size - 1
    r = leaf_hash(leaf)
    for p in proof:
        if sn == 0:
            return None
        if fn % 2 == 1 or fn == sn:
            r = _node(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = _node(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None
