"""Translation, replay and replay checking: the pure functions at the heart of the SDK.

``apply_mapping`` turns a source record into an unsigned credential plus its evidence. ``replay`` rebuilds the
same
credential from the evidence alone (plus the published mapping), and ``check_replay`` diffs a received
credential
against that rebuild. Translation builds from exactly the facts its evidence carries (the same building step as
replay), so a credential built by an honest adapter always replays exactly (ARCHITECTURE.md, "Replay").
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from vcgate.canonical_schema import CANONICAL_CONTEXT, InputError, Problem, canonical_json, json_pointer

from ._errors import TranslationError
from ._evidence import EVIDENCE_TYPE, LedgerEvidence
from ._mapping import CredentialMapping
from ._records import SourceRecord, copy_json
from ._results import Check, CheckStatus, ReplayResult

#: Namespace of credential ids: UUIDv5 of the URL naming the derivation rule.
CREDENTIAL_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://w3id.org/vcgate/credential-id/v1")


def credential_id(ledger_id: str, locator: str, mapping_id: str, mapping_digest: str) -> str:
    """The credential id for a record under a mapping: ``urn:uuid:`` + UUIDv5 of the JCS array of the four
    inputs.

    The same record under the same mapping always gets the same id; a new mapping version (new digest) a new
    one.
    """
    for name, value in (
        ("ledger id", ledger_id),
        ("locator", locator),
        ("mapping id", mapping_id),
        ("mapping digest", mapping_digest),
    ):
        if not isinstance(value, str) or not value:
            raise InputError(f"{name} must be a non-empty string")
    name = canonical_json([ledger_id, locator, mapping_id, mapping_digest]).decode("utf-8")
    return "urn:uuid:" + str(uuid.uuid5(CREDENTIAL_ID_NAMESPACE, name))


@dataclass(frozen=True, slots=True)
class Translation:
    """An unsigned canonical credential and the ``LedgerEvidence`` it carries (also inside ``credential``)."""

    credential: Mapping[str, Any]
    evidence: Mapping[str, Any]

    @property
    def credential_id(self) -> str:
        """The credential's ``id``."""
        return str(self.credential["id"])

    def to_json(self) -> dict[str, Any]:
        """A fresh JSON copy of the unsigned credential."""
        copied: dict[str, Any] = copy_json(self.credential)
        return copied


def _build(
    mapping: CredentialMapping, record: SourceRecord, evidence: LedgerEvidence, witness: str | None
) -> dict[str, Any]:
    body = mapping.evaluate(record, witness=witness)
    credential: dict[str, Any] = {
        "@context": list(CANONICAL_CONTEXT),
        "id": credential_id(evidence.ledger_id, evidence.locator, evidence.mapping_id, evidence.mapping_digest),
    }
    credential.update(body)
    credential["evidence"] = [evidence.to_json()]
    return credential


def apply_mapping(
    mapping: CredentialMapping,
    record: SourceRecord,
    *,
    witness: str | None = None,
    record_uri: str | None = None,
) -> Translation:
    """Translate ``record`` under ``mapping`` into an unsigned credential and its evidence. Pure.

    ``witness`` is the witness's DID for a witness-mode mapping (and must be ``None`` in partner mode).
    ``record_uri`` says where the raw record can be fetched when the mapping does not embed it.
    Raises :class:`TranslationError` when the record does not fit the mapping.
    """
    if record.kind == "revocation":
        raise TranslationError(
            "MAPPING_REVOCATION_RECORD",
            f"record {record.locator} revokes {record.supersedes}; "
            "use revoked_credential_id() instead of translating it",
        )
    evidence = LedgerEvidence.from_record(record, mapping, record_uri=record_uri)
    # Replay builds from ``evidence.to_source_record()``. For evidence just made from ``record`` that rebuild is
    # ``record`` itself: every field a mapping reads (content, ledger time at microsecond precision, height, ids,
    # channel, native signer) round-trips through the evidence unchanged, and kind/supersedes are those of a plain
    # record (revocations were refused above). Re-validating and re-copying ~20 KB of proof material per record
    # only cost time, so the record is used directly; tests/sdk pin the bytes and check translation == replay.
    credential = _build(mapping, record, evidence, witness)
    return Translation(credential, credential["evidence"][0])


def revoked_credential_id(mapping: CredentialMapping, record: SourceRecord) -> str:
    """The id of the credential that a ledger-native ``revocation`` record revokes (under ``mapping``)."""
    if record.kind != "revocation" or record.supersedes is None:
        raise InputError(f"record {record.locator} is not a revocation record")
    return credential_id(record.ledger_id, record.supersedes, mapping.id, mapping.digest)


def replay(
    mapping: CredentialMapping,
    evidence: Mapping[str, Any],
    *,
    record: Mapping[str, Any] | bytes | None = None,
    witness: str | None = None,
) -> dict[str, Any]:
    """Rebuild the whole unsigned credential (everything but ``proof``) from ``evidence`` and ``mapping``.

    ``record`` is the raw record when the evidence carries only its digest. Raises :class:`InputError` for
    malformed
    evidence or a record that does not match its digest, and :class:`TranslationError` when the record does
    not fit.
    """
    parsed = LedgerEvidence.from_json(evidence)
    if parsed.mapping_id != mapping.id or parsed.mapping_digest != mapping.digest:
        raise InputError(
            f"evidence names mapping {parsed.mapping_id} ({parsed.mapping_digest}), not {mapping.id} ({mapping.digest})"
        )
    return _build(mapping, parsed.to_source_record(record), parsed, witness)


def _diff(a: Any, b: Any, path: tuple[str | int, ...], out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append(json_pointer(*path, key))
            else:
                _diff(a[key], b[key], (*path, key), out)
        return
    if isinstance(a, list) and isinstance(b, list):
        for i in range(max(len(a), len(b))):
            if i >= len(a) or i >= len(b):
                out.append(json_pointer(*path, i))
            else:
                _diff(a[i], b[i], (*path, i), out)
        return
    if _same_scalar(a, b):
        return
    out.append(json_pointer(*path))


def _same_scalar(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b  # JSON has one number type: 1 and 1.0 are the same value (RFC 8785 writes both as 1)
    return type(a) is type(b) and a == b


def json_differences(received: Any, expected: Any) -> tuple[str, ...]:
    """JSON pointers (into ``received``) where two JSON values differ; empty when they are equal."""
    out: list[str] = []
    _diff(received, expected, (), out)
    return tuple(out)


def _issuer_id(credential: Mapping[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def check_replay(
    credential: Mapping[str, Any],
    mapping: CredentialMapping,
    *,
    record: Mapping[str, Any] | bytes | None = None,
) -> ReplayResult:
    """Replay ``mapping`` over the credential's evidence and report every difference from the credential.

    Never raises on bad input. Checks: ``replay.evidence`` (one well-formed LedgerEvidence),
    ``replay.mapping``
    (evidence names this mapping and digest), ``replay.issuance_mode``, ``replay.record`` (the raw record is
    available and matches its digest), ``replay.translation`` (the record fits the mapping) and
    ``replay.equal``
    (one ``REPLAY_MISMATCH`` problem per differing JSON pointer; ``proof`` is ignored). In witness mode the
    issuer
    is taken from the credential: whether that witness is trusted is the policy's question, not replay's.
    """
    checks: list[Check] = []
    names = (
        "replay.evidence",
        "replay.mapping",
        "replay.issuance_mode",
        "replay.record",
        "replay.translation",
        "replay.equal",
    )

    def finish(differences: tuple[str, ...] = ()) -> ReplayResult:
        done = {c.name for c in checks}
        rest = [
            Check(n, CheckStatus.NOT_APPLICABLE, detail="an earlier check did not pass") for n in names if n not in done
        ]
        return ReplayResult(tuple(checks) + tuple(rest), differences)

    def fail(
        name: str, code: str, detail: str, pointer: str = "", status: CheckStatus = CheckStatus.FAILED
    ) -> ReplayResult:
        checks.append(Check(name, status, (Problem(code, "replay failed", detail, pointer),)))
        return finish()

    if not isinstance(credential, Mapping):
        return fail("replay.evidence", "REPLAY_EVIDENCE_MISSING", "the credential is not a JSON object")
    items = credential.get("evidence")
    items = [items] if isinstance(items, dict) else items
    ledger_items = (
        [(i, e) for i, e in enumerate(items) if isinstance(e, dict) and EVIDENCE_TYPE in (e.get("type") or [])]
        if isinstance(items, list)
        else []
    )
    if len(ledger_items) != 1:
        return fail(
            "replay.evidence",
            "REPLAY_EVIDENCE_MISSING",
            f"expected exactly one LedgerEvidence in evidence, found {len(ledger_items)}",
            "/evidence",
        )
    index, raw_evidence = ledger_items[0]
    try:
        evidence = LedgerEvidence.from_json(raw_evidence)
    except InputError as exc:
        return fail("replay.evidence", "REPLAY_EVIDENCE_INVALID", str(exc), json_pointer("evidence", index))
    checks.append(Check("replay.evidence", CheckStatus.PASSED))

    if evidence.mapping_id != mapping.id or evidence.mapping_digest != mapping.digest:
        return fail(
            "replay.mapping",
            "REPLAY_MAPPING_MISMATCH",
            f"evidence names mapping {evidence.mapping_id} ({evidence.mapping_digest}); "
            f"replaying {mapping.id} ({mapping.digest})",
            json_pointer("evidence", index, "mappingDigest"),
        )
    checks.append(Check("replay.mapping", CheckStatus.PASSED))

    if evidence.issuance_mode != mapping.issuance_mode:
        return fail(
            "replay.issuance_mode",
            "REPLAY_MODE_MISMATCH",
            f"evidence says {evidence.issuance_mode} mode, the mapping {mapping.issuance_mode} mode",
            json_pointer("evidence", index, "issuanceMode"),
        )
    checks.append(Check("replay.issuance_mode", CheckStatus.PASSED))

    if evidence.raw_record is None and record is None:
        return fail(
            "replay.record",
            "REPLAY_RECORD_UNAVAILABLE",
            "the evidence carries only the record digest and no raw record was supplied",
            json_pointer("evidence", index, "recordDigest"),
            CheckStatus.ERROR,
        )
    try:
        source = evidence.to_source_record(record)
    except InputError as exc:
        return fail("replay.record", "REPLAY_RECORD_INVALID", str(exc), json_pointer("evidence", index))
    checks.append(Check("replay.record", CheckStatus.PASSED))

    witness = _issuer_id(credential) if mapping.issuance_mode == "witness" else None
    try:
        rebuilt = _build(mapping, source, evidence, witness)
    except TranslationError as exc:
        checks.append(Check("replay.translation", CheckStatus.FAILED, (exc.problem,), str(exc)))
        return finish()
    checks.append(Check("replay.translation", CheckStatus.PASSED))

    received = {k: v for k, v in credential.items() if k != "proof"}
    differences = json_differences(received, rebuilt)
    if differences:
        problems = tuple(
            Problem(
                "REPLAY_MISMATCH",
                "credential differs from the mapping's replay",
                f"{p} differs from the replay",
                p,
            )
            for p in differences
        )
        checks.append(Check("replay.equal", CheckStatus.FAILED, problems))
    else:
        checks.append(Check("replay.equal", CheckStatus.PASSED))
    return finish(differences)
