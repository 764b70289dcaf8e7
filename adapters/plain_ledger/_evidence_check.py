"""Plain-ledger ``LedgerEvidence``: its ``proofMaterial`` format and the offline evidence checker.

What a translated credential's evidence carries (docs/plain-ledger.md, "The adapter")::

    rawRecord      the entry's ``record`` object, exactly as signed
    recordDigest   sha256 of its RFC 8785 bytes
    nativeSigner   {"kind": "plain-ledger-key", "did": <entry signer DID>, "publicKeyMultibase": <its key>}
    ledgerTime     the leaf's ``loggedAt`` (covered by the log's signed tree head)
    ledgerHeight   index + 1: the first tree size that contains the entry
    locator        "entries/<index>"
    proofMaterial  {"entry": <the signed entry without "record">, "loggedAt": ...,
                    "inclusionProof": {"index", "treeSize", "hashes"}, "checkpoint": "<signed C2SP note>",
                    "consistencyProof"?: {"first", "second", "hashes", "firstCheckpoint": "<signed note>"}}

The checker rebuilds the Merkle leaf (RFC 8785 of ``{"entry": entry + record, "loggedAt"}``) from these parts, so
changing the record, the signature, the log time, the audit path or the tree head each breaks a named check.

The anchor (what the trust policy pins for a ``plain:`` ledger id)::

    {"kind": "plain", "logVerifierKey": "<name>+<hex key id>+<base64 key>"}

Checks, in order (``plain.*``, each ``passed | failed | error | not_applicable``):

1. ``plain.evidence`` — the evidence and its proof material are well formed and describe a plain-ledger record.
2. ``plain.anchor`` — the anchor pins a usable log key whose fingerprint is the evidence's ledger id (no key, or a
   key for another ledger id, is ``error``: evidence that reaches no anchor is never verified).
3. ``plain.record_digest`` — ``recordDigest`` is the digest of ``rawRecord``.
4. ``plain.leaf_format``, ``plain.entry_signature``, ``plain.checkpoint_signature``, ``plain.inclusion_proof`` —
   :func:`check_inclusion` over the rebuilt leaf, the audit path and the checkpoint, against the pinned key.
5. ``plain.record_facts`` — locator, ledger height, ledger time and native signer are the verified entry's.
6. ``plain.time`` — the entry was logged no later than ``at``.
7. ``plain.consistency`` — the carried consistency proof (if any) verifies, and, with a :class:`CheckpointStore`,
   the checkpoint agrees with every checkpoint and leaf seen before for the same log key: two signed tree heads of one
   size with different roots, or two different leaves at one index, mean the log forked or rewrote its history
   (``PLAIN_LEDGER_FORK_DETECTED``). Without a store and without a carried proof it is ``not_applicable``.

Pure apart from the injected store: no network, no clock.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Final, Protocol, runtime_checkable

from vcgate.adapters.sdk import Check, CheckStatus, EvidenceResult, LedgerEvidence, parse_datetime
from vcgate.canonical_schema import InputError, Problem

from ._checkpoint import NoteVerifier, open_checkpoint
from ._entries import EntryError, canonical_bytes
from ._keys import ledger_id_for
from ._merkle import leaf_hash
from ._verify import (
    FORK_DETECTED,
    ConsistencyProof,
    InclusionProof,
    check_consistency,
    check_inclusion,
)

#: The ledger kind of plain-ledger records and evidence (``ledgerKind``; also the adapter's ``KIND``).
LEDGER_KIND: Final = "plain"
#: The ``nativeSigner.kind`` of a plain-ledger entry signer (what party bindings match on).
SIGNER_KIND: Final = "plain-ledger-key"

#: Every check the evidence checker reports, in order.
EVIDENCE_CHECKS: Final = (
    "plain.evidence",
    "plain.anchor",
    "plain.record_digest",
    "plain.leaf_format",
    "plain.entry_signature",
    "plain.checkpoint_signature",
    "plain.inclusion_proof",
    "plain.record_facts",
    "plain.time",
    "plain.consistency",
)

# Stable problem codes (docs/plain-ledger.md, "Problem codes"); the Merkle/note/entry codes come from _verify.
EVIDENCE_MALFORMED: Final = "PLAIN_LEDGER_EVIDENCE_MALFORMED"
NO_ANCHOR: Final = "PLAIN_LEDGER_NO_ANCHOR"
ANCHOR_MISMATCH: Final = "PLAIN_LEDGER_ANCHOR_MISMATCH"
RECORD_DIGEST_MISMATCH: Final = "PLAIN_LEDGER_RECORD_DIGEST_MISMATCH"
EVIDENCE_MISMATCH: Final = "PLAIN_LEDGER_EVIDENCE_MISMATCH"
RECORD_AFTER_CHECK_TIME: Final = "PLAIN_LEDGER_RECORD_AFTER_CHECK_TIME"

_TITLE = "plain-ledger evidence"


def locator_for(index: int) -> str:
    """The locator of the entry at ``index``: ``entries/<index>`` (the HTTP API's path)."""
    return f"entries/{index}"


def index_from_locator(locator: str) -> int:
    """Invert :func:`locator_for`; raise :class:`InputError` for anything else."""
    prefix, _, number = locator.partition("/")
    if prefix != "entries" or not number.isdigit() or (number != "0" and number.startswith("0")):
        raise InputError(f"a plain-ledger locator is 'entries/<index>', not {locator!r}")
    return int(number)


def native_signer_for(entry: Mapping[str, Any]) -> dict[str, str]:
    """The ``nativeSigner`` of a signed entry: its DID and Multikey."""
    signer = entry["signer"]
    return {"kind": SIGNER_KIND, "did": str(signer["did"]), "publicKeyMultibase": str(signer["publicKeyMultibase"])}


def leaf_from_parts(raw_record: Any, proof_material: Mapping[str, Any]) -> bytes:
    """Rebuild the Merkle leaf bytes from evidence parts; raise :class:`InputError` when they are malformed."""
    entry = proof_material.get("entry")
    logged_at = proof_material.get("loggedAt")
    if not isinstance(entry, Mapping) or not isinstance(logged_at, str):
        raise InputError("proofMaterial needs 'entry' (an object) and 'loggedAt' (text)")
    if "record" in entry:
        raise InputError("proofMaterial /entry must not repeat the record (it is the evidence's rawRecord)")
    rebuilt = dict(entry)
    if entry.get("kind") == "record":
        if not isinstance(raw_record, Mapping):
            raise InputError("a record's rawRecord must be the record's JSON object")
        rebuilt["record"] = dict(raw_record)
    try:
        return canonical_bytes({"entry": rebuilt, "loggedAt": logged_at})
    except EntryError as exc:
        raise InputError(str(exc)) from None


# -- checkpoints seen before ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SeenCheckpoint:
    """A verified checkpoint: tree size, root hash and the signed note it came in."""

    size: int
    root_hash: bytes
    note: str


@runtime_checkable
class CheckpointStore(Protocol):
    """What the evidence checker remembers per log (keyed by the pinned verifier key): the checkpoints and leaf hashes
    it verified. Implementations must keep the *first* value seen for a size or index (a later, different one is the
    evidence of a fork, not a replacement)."""

    def checkpoint(self, log: str, size: int) -> SeenCheckpoint | None:
        """The checkpoint of ``size`` seen before, if any."""
        ...

    def leaf(self, log: str, index: int) -> bytes | None:
        """The leaf hash at ``index`` seen before, if any."""
        ...

    def remember(self, log: str, checkpoint: SeenCheckpoint, leaves: Mapping[int, bytes]) -> None:
        """Record a verified checkpoint and leaf hashes (first value wins)."""
        ...


class MemoryCheckpointStore:
    """An in-memory, thread-safe :class:`CheckpointStore` (``to_json`` / ``from_json`` persist it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._checkpoints: dict[str, dict[int, SeenCheckpoint]] = {}
        self._leaves: dict[str, dict[int, bytes]] = {}

    def checkpoint(self, log: str, size: int) -> SeenCheckpoint | None:
        """The checkpoint of ``size`` seen before, if any."""
        with self._lock:
            return self._checkpoints.get(log, {}).get(size)

    def leaf(self, log: str, index: int) -> bytes | None:
        """The leaf hash at ``index`` seen before, if any."""
        with self._lock:
            return self._leaves.get(log, {}).get(index)

    def remember(self, log: str, checkpoint: SeenCheckpoint, leaves: Mapping[int, bytes]) -> None:
        """Record a verified checkpoint and leaf hashes (first value wins)."""
        with self._lock:
            self._checkpoints.setdefault(log, {}).setdefault(checkpoint.size, checkpoint)
            known = self._leaves.setdefault(log, {})
            for index, value in leaves.items():
                known.setdefault(index, value)

    def sizes(self, log: str) -> tuple[int, ...]:
        """The checkpoint sizes seen for ``log``, ascending."""
        with self._lock:
            return tuple(sorted(self._checkpoints.get(log, {})))

    def to_json(self) -> dict[str, Any]:
        """``{log: {"checkpoints": [note, ...], "leaves": {index: hex}}}``."""
        with self._lock:
            return {
                log: {
                    "checkpoints": [c.note for _, c in sorted(self._checkpoints.get(log, {}).items())],
                    "leaves": {str(i): h.hex() for i, h in sorted(self._leaves.get(log, {}).items())},
                }
                for log in sorted(set(self._checkpoints) | set(self._leaves))
            }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> MemoryCheckpointStore:
        """Re-open :meth:`to_json` output; every note is verified again against its log key."""
        store = cls()
        for log, data in value.items():
            verifier = NoteVerifier.from_vkey(log)
            for note in data.get("checkpoints", []):
                cp = open_checkpoint(note, verifier)
                store.remember(log, SeenCheckpoint(cp.size, cp.root_hash, note), {})
            store.remember_leaves(log, {int(i): bytes.fromhex(h) for i, h in data.get("leaves", {}).items()})
        return store

    def remember_leaves(self, log: str, leaves: Mapping[int, bytes]) -> None:
        """Record leaf hashes only (first value wins)."""
        with self._lock:
            known = self._leaves.setdefault(log, {})
            for index, value in leaves.items():
                known.setdefault(index, value)


# -- the checker ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Parsed:
    evidence: LedgerEvidence
    index: int
    leaf: bytes
    inclusion: InclusionProof
    checkpoint_note: str
    consistency: ConsistencyProof | None
    first_note: str | None


def _problem(code: str, detail: str, pointer: str = "") -> Problem:
    return Problem(code, _TITLE, detail, pointer)


def _renamed(name: str, check: Check) -> Check:
    # The ledger layer's checks are the same type; the evidence checker files them under its ``plain.*`` names.
    return replace(check, name=name)


def _parse(evidence: Mapping[str, Any]) -> _Parsed:
    parsed = LedgerEvidence.from_json(evidence)
    if parsed.ledger_kind != LEDGER_KIND:
        raise InputError(f"ledger kind {parsed.ledger_kind!r} is not {LEDGER_KIND!r}")
    if not parsed.ledger_id.startswith("plain:"):
        raise InputError(f"ledger id {parsed.ledger_id!r} is not a plain: ledger id")
    material = parsed.proof_material
    unknown = set(material) - {"entry", "loggedAt", "inclusionProof", "checkpoint", "consistencyProof"}
    if unknown:
        raise InputError(f"proofMaterial has unknown members {', '.join(sorted(unknown))}")
    entry = material.get("entry")
    if not isinstance(entry, Mapping) or entry.get("kind") != "record":
        raise InputError("proofMaterial /entry must be a signed record entry (kind 'record')")
    if parsed.raw_record is None:
        raise InputError("plain-ledger evidence must embed the record (rawRecord)")
    leaf = leaf_from_parts(parsed.raw_record, material)
    inclusion_json = material.get("inclusionProof")
    if not isinstance(inclusion_json, Mapping):
        raise InputError("proofMaterial /inclusionProof must be an object")
    inclusion = InclusionProof.from_json(inclusion_json)
    note = material.get("checkpoint")
    if not isinstance(note, str) or not note:
        raise InputError("proofMaterial /checkpoint must be the signed checkpoint note")
    consistency: ConsistencyProof | None = None
    first_note: str | None = None
    if "consistencyProof" in material:
        value = material["consistencyProof"]
        if not isinstance(value, Mapping) or not isinstance(value.get("firstCheckpoint"), str):
            raise InputError("proofMaterial /consistencyProof needs first, second, hashes and firstCheckpoint")
        consistency = ConsistencyProof.from_json({k: v for k, v in value.items() if k != "firstCheckpoint"})
        first_note = str(value["firstCheckpoint"])
    return _Parsed(parsed, inclusion.index, leaf, inclusion, note, consistency, first_note)


class PlainLedgerEvidenceChecker:
    """The offline checker of plain-ledger evidence (see the module docstring for the anchor and the checks).

    ``store`` (optional) remembers the checkpoints and leaves this checker verified, so that a log that shows two
    histories under one key is caught across credentials. The store is the checker's only state.
    """

    def __init__(self, store: CheckpointStore | None = None) -> None:
        self.store = store

    def check(
        self,
        credential: Mapping[str, Any],
        evidence: Mapping[str, Any],
        anchor: Mapping[str, Any],
        *,
        at: datetime,
    ) -> EvidenceResult:
        """Check ``evidence`` against the log key ``anchor`` pins; never raises on bad input."""
        checks: list[Check] = []

        def finish() -> EvidenceResult:
            done = {c.name for c in checks}
            rest = [
                Check(n, CheckStatus.NOT_APPLICABLE, detail="an earlier check did not pass")
                for n in EVIDENCE_CHECKS
                if n not in done
            ]
            return EvidenceResult(tuple(checks) + tuple(rest))

        def stop(name: str, status: CheckStatus, code: str, detail: str, pointer: str = "") -> EvidenceResult:
            checks.append(Check(name, status, (_problem(code, detail, pointer),)))
            return finish()

        # 1. shape
        try:
            parsed = _parse(evidence)
        except (InputError, KeyError, TypeError, ValueError) as exc:
            return stop("plain.evidence", CheckStatus.FAILED, EVIDENCE_MALFORMED, str(exc))
        checks.append(Check("plain.evidence", CheckStatus.PASSED))
        ev = parsed.evidence

        # 2. anchor: the pinned log key, and the ledger id it defines (ARCHITECTURE.md: plain:<fingerprint>)
        vkey = anchor.get("logVerifierKey") if isinstance(anchor, Mapping) else None
        if not isinstance(vkey, str) or not vkey:
            return stop(
                "plain.anchor",
                CheckStatus.ERROR,
                NO_ANCHOR,
                f"the anchor for {ev.ledger_id} pins no logVerifierKey "
                "(evidence that reaches no anchor is never verified)",
            )
        try:
            verifier = NoteVerifier.from_vkey(vkey)
        except InputError as exc:
            return stop("plain.anchor", CheckStatus.ERROR, NO_ANCHOR, f"the pinned logVerifierKey is unusable: {exc}")
        pinned_ledger = ledger_id_for(verifier.public_key)
        if pinned_ledger != ev.ledger_id:
            return stop(
                "plain.anchor",
                CheckStatus.ERROR,
                ANCHOR_MISMATCH,
                f"the pinned log key is ledger {pinned_ledger}, the evidence names {ev.ledger_id}",
                "/ledgerId",
            )
        checks.append(Check("plain.anchor", CheckStatus.PASSED))

        # 3. the record digest is the record's
        digest = "sha256:" + hashlib.sha256(canonical_bytes(ev.raw_record)).hexdigest()
        if digest != ev.record_digest:
            checks.append(
                Check(
                    "plain.record_digest",
                    CheckStatus.FAILED,
                    (_problem(RECORD_DIGEST_MISMATCH, "recordDigest is not the digest of rawRecord", "/recordDigest"),),
                )
            )
        else:
            checks.append(Check("plain.record_digest", CheckStatus.PASSED))

        # 4. entry signature, checkpoint signature by the pinned key, inclusion of the leaf under the checkpoint
        result = check_inclusion(parsed.leaf, parsed.inclusion, parsed.checkpoint_note, verifier)
        for name in ("leaf_format", "entry_signature", "checkpoint_signature", "inclusion_proof"):
            checks.append(_renamed("plain." + name, result.check(name)))
        if result.status != "verified" or result.entry is None or result.checkpoint is None:
            return finish()
        entry_json = result.entry.to_json()
        checkpoint = result.checkpoint

        # 5. the evidence's ledger facts are the verified entry's
        logged_at = parse_datetime(str(ev.proof_material["loggedAt"]))
        expected: list[tuple[str, Any, Any]] = [
            ("/locator", ev.locator, locator_for(parsed.index)),
            ("/ledgerHeight", ev.ledger_height, parsed.index + 1),
            ("/nativeSigner", dict(ev.native_signer), native_signer_for(entry_json)),
        ]
        wrong = [p for p, got, want in expected if got != want]
        if parse_datetime(ev.ledger_time) != logged_at:
            wrong.append("/ledgerTime")
        if wrong:
            checks.append(
                Check(
                    "plain.record_facts",
                    CheckStatus.FAILED,
                    tuple(_problem(EVIDENCE_MISMATCH, f"{p} is not the logged entry's", p) for p in wrong),
                )
            )
        else:
            checks.append(Check("plain.record_facts", CheckStatus.PASSED))

        # 6. a record cannot be judged at an instant before it was logged
        if logged_at > at:
            checks.append(
                Check(
                    "plain.time",
                    CheckStatus.FAILED,
                    (_problem(RECORD_AFTER_CHECK_TIME, f"logged at {ev.ledger_time}, after {at.isoformat()}"),),
                )
            )
        else:
            checks.append(Check("plain.time", CheckStatus.PASSED))

        # 7. consistency with the carried proof and with everything seen before under this key
        checks.append(self._consistency(vkey, verifier, parsed, checkpoint.size, checkpoint.root_hash))
        return finish()

    def _consistency(self, vkey: str, verifier: NoteVerifier, parsed: _Parsed, size: int, root: bytes) -> Check:
        name = "plain.consistency"
        seen: list[SeenCheckpoint] = [SeenCheckpoint(size, root, parsed.checkpoint_note)]
        notes: list[str] = []
        if parsed.consistency is not None and parsed.first_note is not None:
            result = check_consistency(parsed.first_note, parsed.checkpoint_note, parsed.consistency, verifier)
            bad = [c for c in result.checks if c.status != "passed"]
            if bad:
                return replace(bad[0], name=name)
            assert result.checkpoint is not None
            seen.append(SeenCheckpoint(result.checkpoint.size, result.checkpoint.root_hash, parsed.first_note))
            notes.append(f"consistency proof {parsed.consistency.first}→{parsed.consistency.second} verified")
        if self.store is None:
            if not notes:
                return Check(name, CheckStatus.NOT_APPLICABLE, detail="no checkpoint store and no consistency proof")
            return Check(name, CheckStatus.PASSED, detail="; ".join(notes))

        forks: list[Problem] = []
        for cp in seen:
            before = self.store.checkpoint(vkey, cp.size)
            if before is not None and before.root_hash != cp.root_hash:
                forks.append(
                    _problem(
                        FORK_DETECTED,
                        f"two checkpoints signed by the log key for size {cp.size} have different root hashes: "
                        f"the log forked or rewrote its history (first seen: {before.note!r})",
                        "/proofMaterial/checkpoint",
                    )
                )
        this_leaf = leaf_hash(parsed.leaf)
        before_leaf = self.store.leaf(vkey, parsed.index)
        if before_leaf is not None and before_leaf != this_leaf:
            forks.append(
                _problem(
                    FORK_DETECTED,
                    f"the log showed another entry at index {parsed.index} before: it forked or rewrote its history",
                    "/proofMaterial/inclusionProof",
                )
            )
        if forks:
            return Check(name, CheckStatus.FAILED, tuple(forks))
        for cp in seen:
            self.store.remember(vkey, cp, {parsed.index: this_leaf} if cp.size == size else {})
        notes.append("agrees with every checkpoint and leaf seen before under this log key")
        return Check(name, CheckStatus.PASSED, detail="; ".join(notes))
