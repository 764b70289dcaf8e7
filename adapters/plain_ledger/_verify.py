"""Offline verification of plain-ledger evidence (pure, no I/O, never raises on bad input).

What an adapter or a verifier holds for one record: the leaf bytes, an inclusion proof, a signed checkpoint, and
the log's pinned note verifier key. :func:`check_inclusion` checks the whole chain (entry signature → leaf hash →
inclusion proof → checkpoint → pinned log key); :func:`check_consistency` checks that a newer checkpoint extends an
older one (a log that rewrote or forked its history fails it).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vcgate.canonical_schema import Check, InputError, OverallStatus, Problem, overall_status

from ._checkpoint import Checkpoint, CheckpointOriginError, NoteVerifier, SignedNote, open_checkpoint
from ._entries import SIGNATURE_INVALID, EntryError, LedgerEntry, LogLeaf
from ._merkle import HASH_SIZE, MerkleProofError, leaf_hash, verify_consistency, verify_inclusion

# Stable problem codes (docs/plain-ledger.md, "Problem codes").
LOG_KEY_INVALID = "PLAIN_LEDGER_LOG_KEY_INVALID"
CHECKPOINT_MALFORMED = "PLAIN_LEDGER_CHECKPOINT_MALFORMED"
CHECKPOINT_SIGNATURE_INVALID = "PLAIN_LEDGER_CHECKPOINT_SIGNATURE_INVALID"
CHECKPOINT_ORIGIN_MISMATCH = "PLAIN_LEDGER_CHECKPOINT_ORIGIN_MISMATCH"
PROOF_SIZE_MISMATCH = "PLAIN_LEDGER_PROOF_SIZE_MISMATCH"
INCLUSION_PROOF_INVALID = "PLAIN_LEDGER_INCLUSION_PROOF_INVALID"
CONSISTENCY_PROOF_INVALID = "PLAIN_LEDGER_CONSISTENCY_PROOF_INVALID"
FORK_DETECTED = "PLAIN_LEDGER_FORK_DETECTED"
CHECKPOINT_ROLLBACK = "PLAIN_LEDGER_CHECKPOINT_ROLLBACK"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _hashes_from_json(value: Any) -> tuple[bytes, ...]:
    if not isinstance(value, list):
        raise InputError("'hashes' is a list of base64 SHA-256 hashes")
    out = []
    for item in value:
        try:
            raw = base64.b64decode(str(item).encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError, ValueError):
            raise InputError("every proof hash is standard base64") from None
        if len(raw) != HASH_SIZE or not isinstance(item, str):
            raise InputError(f"every proof hash is {HASH_SIZE} bytes")
        out.append(raw)
    return tuple(out)


def _size(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{name!r} is a non-negative integer")
    return value


@dataclass(frozen=True, slots=True)
class InclusionProof:
    """RFC 9162 inclusion proof: leaf ``index`` in the tree of ``tree_size`` leaves, audit path ``hashes``."""

    index: int
    tree_size: int
    hashes: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        """``{"index", "treeSize", "hashes": [base64...]}``."""
        return {"index": self.index, "treeSize": self.tree_size, "hashes": [_b64(h) for h in self.hashes]}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> InclusionProof:
        """Parse the JSON form; raises :class:`InputError` if malformed."""
        if not isinstance(value, Mapping):
            raise InputError("an inclusion proof is a JSON object")
        return cls(
            _size(value.get("index"), "index"),
            _size(value.get("treeSize"), "treeSize"),
            _hashes_from_json(value.get("hashes")),
        )


@dataclass(frozen=True, slots=True)
class ConsistencyProof:
    """RFC 9162 consistency proof between the trees of ``first`` and ``second`` leaves."""

    first: int
    second: int
    hashes: tuple[bytes, ...]

    def to_json(self) -> dict[str, Any]:
        """``{"first", "second", "hashes": [base64...]}``."""
        return {"first": self.first, "second": self.second, "hashes": [_b64(h) for h in self.hashes]}

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> ConsistencyProof:
        """Parse the JSON form; raises :class:`InputError` if malformed."""
        if not isinstance(value, Mapping):
            raise InputError("a consistency proof is a JSON object")
        return cls(
            _size(value.get("first"), "first"),
            _size(value.get("second"), "second"),
            _hashes_from_json(value.get("hashes")),
        )


@dataclass(frozen=True, slots=True)
class LedgerCheckResult:
    """Every check that ran, plus what was verified (only set when the corresponding checks passed)."""

    checks: tuple[Check, ...]
    entry: LedgerEntry | None = None
    leaf: LogLeaf | None = None
    checkpoint: Checkpoint | None = None
    second_checkpoint: Checkpoint | None = None

    @property
    def status(self) -> OverallStatus:
        """The checks' overall status (:func:`~vcgate.canonical_schema.overall_status`)."""
        return overall_status(self.checks)

    @property
    def ok(self) -> bool:
        """``status == "verified"``."""
        return self.status == "verified"

    @property
    def problems(self) -> tuple[Problem, ...]:
        """The problems of every check that did not pass."""
        return tuple(p for c in self.checks for p in c.problems)

    def check(self, name: str) -> Check:
        """The check named ``name`` (KeyError if it did not run)."""
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_json(self) -> dict[str, Any]:
        """JSON form for reports."""
        return {"status": self.status, "checks": [c.to_json() for c in self.checks]}


def _passed(name: str) -> Check:
    return Check.passed(name)


def _failed(name: str, code: str, title: str, detail: str = "", pointer: str = "") -> Check:
    return Check.failed(name, Problem(code, title, detail, pointer))


def _skipped(name: str) -> Check:
    return Check.not_applicable(name)


def _pin(log_key: NoteVerifier | str) -> NoteVerifier | Check:
    if isinstance(log_key, NoteVerifier):
        return log_key
    try:
        return NoteVerifier.from_vkey(log_key)
    except InputError as exc:
        return Check.errored("log_key", Problem(LOG_KEY_INVALID, "Pinned log key unusable", str(exc)))


def _open_checkpoint(name: str, note: str | bytes, verifier: NoteVerifier) -> Checkpoint | Check:
    try:
        parsed = SignedNote.parse(note)
        Checkpoint.from_text(parsed.text)
    except InputError as exc:
        return _failed(name, CHECKPOINT_MALFORMED, "Malformed checkpoint", str(exc))
    try:
        return open_checkpoint(note, verifier)
    except CheckpointOriginError as exc:
        return _failed(name, CHECKPOINT_ORIGIN_MISMATCH, "Checkpoint is for another log", str(exc))
    except InputError as exc:
        return _failed(name, CHECKPOINT_SIGNATURE_INVALID, "Checkpoint not signed by the pinned log key", str(exc))


def check_entry(unverified_entry: Any) -> LedgerCheckResult:
    """Check one entry on its own: shape, signer key, DID binding (did:key) and signature."""
    try:
        entry = LedgerEntry.from_json(unverified_entry)
    except EntryError as exc:
        return LedgerCheckResult((Check.failed("entry", exc.problem),))
    return LedgerCheckResult((_passed("entry"),), entry=entry)


def check_inclusion(
    leaf: bytes, proof: InclusionProof, checkpoint_note: str | bytes, log_key: NoteVerifier | str
) -> LedgerCheckResult:
    """Check that ``leaf`` is in the log the pinned ``log_key`` speaks for.

    Checks, in order (names are stable): ``leaf_format`` (canonical leaf, well-formed entry), ``entry_signature``
    (the submitter's signature), ``checkpoint_signature`` (the checkpoint is signed by the pinned log key and its
    origin is that key's name), ``inclusion_proof`` (the proof's size is the checkpoint's and the leaf hash with the
    audit path reaches the checkpoint's root).
    """
    checks: list[Check] = []
    parsed_leaf: LogLeaf | None = None
    try:
        parsed_leaf = LogLeaf.from_bytes(leaf)
        checks += [_passed("leaf_format"), _passed("entry_signature")]
    except EntryError as exc:
        if exc.problem.code == SIGNATURE_INVALID:
            checks += [_passed("leaf_format"), Check.failed("entry_signature", exc.problem)]
        else:
            checks += [Check.failed("leaf_format", exc.problem), _skipped("entry_signature")]

    pinned = _pin(log_key)
    checkpoint: Checkpoint | None = None
    if isinstance(pinned, Check):
        checks += [Check.errored("checkpoint_signature", pinned.problems), _skipped("inclusion_proof")]
        return LedgerCheckResult(tuple(checks), leaf=parsed_leaf, entry=parsed_leaf.entry if parsed_leaf else None)
    opened = _open_checkpoint("checkpoint_signature", checkpoint_note, pinned)
    if isinstance(opened, Check):
        checks += [opened, _skipped("inclusion_proof")]
    else:
        checkpoint = opened
        checks.append(_passed("checkpoint_signature"))
        checks.append(_check_inclusion_proof(bytes(leaf), proof, checkpoint))
    ok_leaf = parsed_leaf if all(c.status == "passed" for c in checks[:2]) else None
    return LedgerCheckResult(
        tuple(checks), entry=ok_leaf.entry if ok_leaf else None, leaf=ok_leaf, checkpoint=checkpoint
    )


def _check_inclusion_proof(leaf: bytes, proof: InclusionProof, checkpoint: Checkpoint) -> Check:
    name = "inclusion_proof"
    if proof.tree_size != checkpoint.size:
        return _failed(
            name,
            PROOF_SIZE_MISMATCH,
            "Proof is for another tree size",
            f"the proof is for size {proof.tree_size}, the checkpoint for size {checkpoint.size}",
        )
    try:
        verify_inclusion(proof.index, proof.tree_size, leaf_hash(leaf), proof.hashes, checkpoint.root_hash)
    except MerkleProofError as exc:
        return _failed(name, INCLUSION_PROOF_INVALID, "Inclusion proof does not verify", str(exc))
    return _passed(name)


def check_consistency(
    first_note: str | bytes, second_note: str | bytes, proof: ConsistencyProof, log_key: NoteVerifier | str
) -> LedgerCheckResult:
    """Check that the checkpoint ``second_note`` extends ``first_note`` (both signed by the pinned log key).

    Checks: ``first_checkpoint_signature``, ``second_checkpoint_signature``, ``consistency_proof``. Two checkpoints of
    the same size with different roots fail with ``PLAIN_LEDGER_FORK_DETECTED``; a second checkpoint smaller than
    the first fails with ``PLAIN_LEDGER_CHECKPOINT_ROLLBACK``.
    """
    pinned = _pin(log_key)
    if isinstance(pinned, Check):
        return LedgerCheckResult(
            (
                Check.errored("first_checkpoint_signature", pinned.problems),
                Check.errored("second_checkpoint_signature", pinned.problems),
                _skipped("consistency_proof"),
            )
        )
    first = _open_checkpoint("first_checkpoint_signature", first_note, pinned)
    second = _open_checkpoint("second_checkpoint_signature", second_note, pinned)
    checks = [
        first if isinstance(first, Check) else _passed("first_checkpoint_signature"),
        second if isinstance(second, Check) else _passed("second_checkpoint_signature"),
    ]
    if isinstance(first, Check) or isinstance(second, Check):
        checks.append(_skipped("consistency_proof"))
        return LedgerCheckResult(tuple(checks))
    checks.append(_check_consistency_proof(first, second, proof))
    return LedgerCheckResult(tuple(checks), checkpoint=first, second_checkpoint=second)


def _check_consistency_proof(first: Checkpoint, second: Checkpoint, proof: ConsistencyProof) -> Check:
    name = "consistency_proof"
    if first.size == second.size and first.root_hash != second.root_hash:
        return _failed(
            name, FORK_DETECTED, "The log forked", f"two checkpoints of size {first.size} with different root hashes"
        )
    if second.size < first.size:
        return _failed(
            name,
            CHECKPOINT_ROLLBACK,
            "The log went backwards",
            f"the second checkpoint (size {second.size}) is smaller than the first ({first.size})",
        )
    if (proof.first, proof.second) != (first.size, second.size):
        return _failed(
            name,
            PROOF_SIZE_MISMATCH,
            "Proof is for other tree sizes",
            f"the proof is from {proof.first} to {proof.second}, the checkpoints are {first.size} and {second.size}",
        )
    try:
        verify_consistency(first.size, second.size, first.root_hash, second.root_hash, proof.hashes)
    except MerkleProofError as exc:
        return _failed(name, CONSISTENCY_PROOF_INVALID, "The newer checkpoint does not extend the older", str(exc))
    return _passed(name)
