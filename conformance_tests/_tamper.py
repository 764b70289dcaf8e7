"""Tampering with evidence: pure functions that change one thing in a ``LedgerEvidence`` object.

Each returns ``(label, tampered evidence)`` pairs; an evidence checker must not call any of them ``verified``.
"""

from __future__ import annotations

import copy
import hashlib
import string
from collections.abc import Iterator, Mapping
from typing import Any

import rfc8785

from vcgate.canonical_schema import b64url, b64url_decode, json_pointer

_HEX = "0123456789abcdef"


def leaves(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every scalar (string, number, boolean) in a JSON value with its path; nulls are skipped."""
    if isinstance(value, dict):
        for key in value:
            yield from leaves(value[key], (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from leaves(item, (*path, i))
    elif value is not None:
        yield path, value


def changed_scalar(value: Any) -> Any:
    """A different value of the same kind: one character of a string changed (staying in its alphabet, so hex
    stays hex and base58 stays base58), an integer plus one, a boolean flipped."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 1.0
    if isinstance(value, str):
        if not value:
            return "x"
        i = len(value) // 2
        c = value[i]
        if c.lower() in _HEX:
            repl = _HEX[(_HEX.index(c.lower()) + 1) % 16]
            repl = repl.upper() if c.isupper() else repl
        elif c in string.ascii_letters:
            repl = "b" if c != "b" else "c"
        else:
            repl = "1" if c != "1" else "2"
        return value[:i] + repl + value[i + 1 :]
    raise TypeError(f"not a JSON scalar: {value!r}")


def set_path(value: Any, path: tuple[str | int, ...], new: Any) -> Any:
    """A deep copy of ``value`` with the item at ``path`` replaced."""
    out = copy.deepcopy(value)
    cursor = out
    for key in path[:-1]:
        cursor = cursor[key]
    cursor[path[-1]] = new
    return out


def tampered_records(evidence: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The raw record changed: bytes flipped (with and without a matching ``recordDigest``), or, for evidence
    that carries only the digest, the digest changed."""
    ev = dict(copy.deepcopy(evidence))
    raw = ev.get("rawRecord")
    out: list[tuple[str, dict[str, Any]]] = []
    if isinstance(raw, str):
        data = bytearray(b64url_decode(raw))
        if not data:
            data = bytearray(b" ")
        data[-1] ^= 0x01
        forged = dict(ev, rawRecord=b64url(bytes(data)))
        out.append(("last record byte flipped, recordDigest left as is", forged))
        digest = "sha256:" + hashlib.sha256(bytes(data)).hexdigest()
        out.append(("last record byte flipped, recordDigest recomputed to match", dict(forged, recordDigest=digest)))
    elif isinstance(raw, dict):
        found = list(leaves(raw))
        if found:
            path, scalar = found[0]
            changed = set_path(raw, path, changed_scalar(scalar))
            label = f"record value {json_pointer(*path)} changed"
            out.append((f"{label}, recordDigest left as is", dict(ev, rawRecord=changed)))
            digest = "sha256:" + hashlib.sha256(rfc8785.dumps(changed)).hexdigest()
            out.append((f"{label}, recordDigest recomputed to match", dict(ev, rawRecord=changed, recordDigest=digest)))
    else:
        digest = str(ev.get("recordDigest", "")) or "sha256:"
        # Change the last hex digit, so the digest stays well-formed and only its value is wrong.
        forged_digest = digest[:-1] + changed_scalar(digest[-1])
        out.append(
            ("recordDigest changed (the evidence carries only the digest)", dict(ev, recordDigest=forged_digest))
        )
    return out


def tampered_proof_material(evidence: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """One tampered copy per scalar of ``proofMaterial``."""
    material = evidence.get("proofMaterial")
    out = []
    for path, scalar in leaves(material):
        changed = set_path(material, path, changed_scalar(scalar))
        ev = dict(copy.deepcopy(evidence), proofMaterial=changed)
        out.append((f"proofMaterial{json_pointer(*path)} changed", ev))
    return out


def tampered_heights(evidence: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """``ledgerHeight`` one higher and (when above zero) one lower."""
    height = evidence.get("ledgerHeight")
    if not isinstance(height, int) or isinstance(height, bool):
        return []
    out = [("ledgerHeight + 1", dict(copy.deepcopy(evidence), ledgerHeight=height + 1))]
    if height > 0:
        out.append(("ledgerHeight - 1", dict(copy.deepcopy(evidence), ledgerHeight=height - 1)))
    return out


def with_evidence(credential: Mapping[str, Any], evidence: Mapping[str, Any]) -> dict[str, Any]:
    """The credential with its ``LedgerEvidence`` item replaced by ``evidence`` (as a tamperer would)."""
    out = dict(copy.deepcopy(credential))
    items = out.get("evidence")
    items = [items] if isinstance(items, dict) else list(items or [])
    out["evidence"] = [
        dict(evidence) if isinstance(e, dict) and "LedgerEvidence" in (e.get("type") or []) else e for e in items
    ]
    return out
