"""Verifier test vectors as versioned data: ``vectors/MANIFEST.json`` names each case, its file (or how it is
generated at run time), the verdict it must get, the problem codes that say why, and the case's source.

Files are built by ``python -m vcgate.conformance_tests._build_vectors`` and then never edited by hand; the
W3C known-answer vectors are exact copies.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any, Literal

from ._cases import VERIFIERS, CaseInfo

if TYPE_CHECKING:
    from ._vc_api import VerifyOutcome

#: ``verified``: the verifier accepts it. ``invalid``: it must be rejected (an invalid verdict, or a 4xx answer).
#: ``proof-valid``: its proof must verify; the verdict may still be invalid for a reason other than the proof
#: (the W3C vectors' issuer does not control their key, which a verifier that binds issuer to key reports).
#: ``unanchored``: its proof verifies but its ledger evidence reaches no pinned anchor: never verified (undecided, or
#: invalid where a party registry refuses the unproven ledger signer); a VC-API endpoint answers 503 or 400.
Expectation = Literal["verified", "invalid", "proof-valid", "unanchored"]

#: Problem codes that say the proof itself failed (vcgate's codes; see docs/conformance.md).
PROOF_FAILURE_CODES = frozenset(
    {
        "PROOF_MISSING",
        "UNKNOWN_CRYPTOSUITE",
        "PROOF_PURPOSE_MISMATCH",
        "PROOF_VALUE_MALFORMED",
        "PROOF_CREATED_INVALID",
        "PROOF_CREATED_IN_FUTURE",
        "PROOF_EXPIRED",
        "PROOF_CONTEXT_MISMATCH",
        "VERIFICATION_METHOD_MISSING",
        "VERIFICATION_METHOD_NOT_AUTHORIZED",
        "VERIFICATION_METHOD_INVALID",
        "DID_UNRESOLVABLE",
        "KEY_TYPE_MISMATCH",
        "SIGNATURE_INVALID",
        "CANONICALIZATION_FAILED",
    }
)


@dataclass(frozen=True, slots=True)
class VectorCase:
    """One vector: the case it defines, what it must yield, and where its bytes come from."""

    info: CaseInfo
    expect: Expectation
    reason: str
    codes: tuple[str, ...] = ()
    http_statuses: tuple[int, ...] = ()
    file: str | None = None
    generate: dict[str, Any] | None = None

    @property
    def id(self) -> str:
        """The case id."""
        return self.info.id

    def document_bytes(self) -> bytes:
        """The bytes a verifier receives (a file's exact bytes, or a document generated as the manifest says)."""
        if self.file is not None:
            return _vector_file(self.file)
        assert self.generate is not None
        return _generated(self.generate)

    def expected_http_statuses(self) -> tuple[int, ...]:
        """HTTP statuses a VC-API verify endpoint may answer: 200 for accepted, 400 (or as listed) for invalid."""
        if self.http_statuses:
            return self.http_statuses
        return {"verified": (200,), "unanchored": (400, 503)}.get(self.expect, (400,))


def _vector_file(name: str) -> bytes:
    return resources.files(__package__).joinpath("vectors", *name.split("/")).read_bytes()


def _generated(spec: dict[str, Any]) -> bytes:
    # Large or deep inputs are generated, not stored: the manifest records exactly how.
    base = json.loads(_vector_file(str(spec["base"])))
    kind = spec["kind"]
    if kind == "oversized":
        base["credentialSubject"]["description"] = "x" * int(spec["bytes"])
        return json.dumps(base).encode("utf-8")
    if kind == "deep":
        nested: dict[str, Any] = {"type": ["Place"]}
        for _ in range(int(spec["depth"])):
            nested = {"type": ["Place"], "containedInPlace": nested}
        base["credentialSubject"]["place"] = nested
        return json.dumps(base).encode("utf-8")
    raise ValueError(f"unknown generated vector kind {kind!r}")


@cache
def manifest() -> dict[str, Any]:
    """The parsed ``vectors/MANIFEST.json``."""
    data: dict[str, Any] = json.loads(_vector_file("MANIFEST.json"))
    return data


@cache
def vector_cases() -> tuple[VectorCase, ...]:
    """Every vector case in manifest order."""
    out = []
    for entry in manifest()["cases"]:
        info = CaseInfo(entry["id"], entry["title"], VERIFIERS, entry["source"])
        out.append(
            VectorCase(
                info=info,
                expect=entry["expect"],
                reason=entry["reason"],
                codes=tuple(entry.get("codes", ())),
                http_statuses=tuple(entry.get("httpStatuses", ())),
                file=entry.get("file"),
                generate=entry.get("generate"),
            )
        )
    return tuple(out)


def judge(vector: VectorCase, outcome: VerifyOutcome) -> str | None:
    """Why ``outcome`` does not meet the vector's expectation, or ``None`` when it does. Pure.

    Expected problem codes are vcgate's: an endpoint that reports no codes at all is judged on its verdict and HTTP
    status only; one that reports codes must report one of the expected ones.
    """
    said = f"{outcome.verdict} ({outcome.detail})"
    if outcome.http_status is not None and outcome.http_status not in vector.expected_http_statuses():
        return f"HTTP {outcome.http_status}, expected {list(vector.expected_http_statuses())}: {said}"
    if vector.expect == "verified":
        return None if outcome.verdict == "verified" else f"must verify ({vector.reason}), got {said}"
    if vector.expect == "proof-valid":
        if outcome.verdict == "error" or outcome.codes & PROOF_FAILURE_CODES or outcome.proof_verified is False:
            return f"the proof must verify ({vector.reason}); got {said}"
        if outcome.verdict == "invalid" and not outcome.codes:
            return f"the vector was rejected without saying why (no problem codes): {said}"
        return None
    if vector.expect == "unanchored":
        if outcome.verdict == "verified" or outcome.proof_verified is False or outcome.codes & PROOF_FAILURE_CODES:
            return f"the proof must verify and the credential must not ({vector.reason}), got {said}"
        if vector.codes and outcome.codes and not set(vector.codes) & outcome.codes:
            return f"not verified, but not for the stated reason: expected one of {list(vector.codes)}, got {said}"
        return None
    if outcome.verdict != "invalid":
        return f"must be rejected as invalid ({vector.reason}), got {said}"
    if vector.codes and outcome.codes and not set(vector.codes) & outcome.codes:
        return f"rejected, but not for the stated reason: expected one of {list(vector.codes)}, got {said}"
    return None
