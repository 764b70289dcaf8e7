"""`Verifier.check` tells valid, tampered, expired, wrong-purpose, unpinned-context and undefined-term credentials
apart, each with its stable problem code, and never raises on bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from vcgate.gateway import KeyPair, Policy, ProofError, VerificationResult, Verifier, sign

from .conftest import AT, CREATED

SUITES = ["eddsa-rdfc-2022", "eddsa-jcs-2022"]


def codes(result: VerificationResult) -> list[str]:
    return [p.code for p in result.problems]


@pytest.mark.parametrize("suite", SUITES)
def test_valid_credential_verifies(
    suite: str, unsigned: dict[str, Any], signer: Callable[..., Any], verifier: Verifier
) -> None:
    result = verifier.check(json.dumps(signer(unsigned, suite)), at=AT)
    assert result.status == "verified", result.to_json()
    assert result.verified
    names = {c.name for c in result.checks}
    assert {"parse", "data_model", "strict_terms", "signature", "issuer_key_binding", "valid_from"} <= names
    assert result.to_json()["verified"] is True


@pytest.mark.parametrize("suite", SUITES)
def test_tampered_subject_is_invalid(
    suite: str, unsigned: dict[str, Any], signer: Callable[..., Any], verifier: Verifier
) -> None:
    signed = signer(unsigned, suite)
    signed["credentialSubject"]["invoiceNumber"] += "9"
    result = verifier.check(signed, at=AT)
    assert result.status == "invalid"
    assert codes(result) == ["SIGNATURE_INVALID"]


def test_expired_credential_is_invalid(
    unsigned: dict[str, Any], signer: Callable[..., Any], verifier: Verifier
) -> None:
    unsigned["validUntil"] = "2025-06-01T00:00:00Z"
    signed = signer(unsigned)
    assert verifier.check(signed, at=datetime(2025, 5, 1, tzinfo=UTC)).status == "verified"
    result = verifier.check(signed, at=AT)
    assert result.status == "invalid"
    assert codes(result) == ["EXPIRED"]


def test_not_yet_valid(unsigned: dict[str, Any], signer: Callable[..., Any], verifier: Verifier) -> None:
    unsigned["validFrom"] = "2027-01-01T00:00:00Z"
    result = verifier.check(signer(unsigned), at=AT)
    assert codes(result) == ["NOT_YET_VALID"]


def test_wrong_proof_purpose(unsigned: dict[str, Any], signer: Callable[..., Any], verifier: Verifier) -> None:
    result = verifier.check(signer(unsigned, proof_purpose="authentication"), at=AT)
    assert result.status == "invalid"
    assert codes(result) == ["PROOF_PURPOSE_MISMATCH"]


def test_unpinned_context_is_refused(unsigned: dict[str, Any], issuer_key: KeyPair, verifier: Verifier) -> None:
    signed = sign(unsigned, issuer_key, suite="eddsa-rdfc-2022", created=CREATED)
    signed["@context"].append("https://evil.example/context/v1")
    result = verifier.check(signed, at=AT)
    assert result.status == "invalid"
    assert "CONTEXT_NOT_ALLOWED" in codes(result)
    assert any(p.pointer == "/@context" for p in result.problems)


def test_unpinned_context_is_refused_for_jcs(
    unsigned: dict[str, Any], signer: Callable[..., Any], verifier: Verifier
) -> None:
    unsigned["@context"].append("https://evil.example/context/v1")
    with pytest.raises(ProofError, match=r"CONTEXT|pinned"):
        signer(unsigned, "eddsa-jcs-2022")


@pytest.mark.parametrize("suite", SUITES)
def test_undefined_term_is_rejected(
    suite: str, unsigned: dict[str, Any], issuer_key: KeyPair, verifier: Verifier
) -> None:
    unsigned["credentialSubject"]["secretDiscount"] = "90%"
    signed = sign(unsigned, issuer_key, suite=suite, created=CREATED, allow_undefined_terms=True)
    # Under traceability/v1's @vocab the term is issuer-dependent: signed, so the default policy only warns (the
    # type's canonical schema still refuses the extra member); strict_vocabulary refuses the term itself.
    result = verifier.check(signed, at=AT)
    assert result.status == "invalid"
    assert "UNDEFINED_TERM" not in codes(result)
    assert [w.code for w in result.warnings] == ["ISSUER_DEPENDENT_TERM"]
    assert "secretDiscount" in result.warnings[0].detail
    strict = Verifier(
        Policy.from_mapping({**verifier.policy.raw, "strict_vocabulary": True}),
        verifier.resolver,
        status_checker=verifier.status_checker,
    )
    result = strict.check(signed, at=AT)
    assert result.status == "invalid"
    assert "UNDEFINED_TERM" in codes(result)
    assert "signature" in {c.name for c in result.checks if c.status == "passed"}


def test_signing_refuses_undefined_terms(unsigned: dict[str, Any], signer: Callable[..., Any]) -> None:
    unsigned["credentialSubject"]["secretDiscount"] = "90%"
    with pytest.raises(ProofError, match="secretDiscount"):
        signer(unsigned)


def test_issuer_must_control_key(unsigned: dict[str, Any], verifier: Verifier) -> None:
    other = KeyPair.generate("ed25519")
    signed = sign(unsigned, other, suite="eddsa-rdfc-2022", created=CREATED)
    result = verifier.check(signed, at=AT)
    assert codes(result) == ["ISSUER_KEY_MISMATCH"]


def test_proof_created_in_future(unsigned: dict[str, Any], signer: Callable[..., Any], verifier: Verifier) -> None:
    signed = signer(unsigned, created=datetime(2030, 1, 1, tzinfo=UTC))
    assert codes(verifier.check(signed, at=AT)) == ["PROOF_CREATED_IN_FUTURE"]


def test_p256_and_p384_ecdsa(unsigned: dict[str, Any], verifier: Verifier) -> None:
    for kt in ("p256", "p384"):
        key = KeyPair.generate(kt)
        unsigned["issuer"]["id"] = key.controller
        for suite in ("ecdsa-rdfc-2019", "ecdsa-jcs-2019"):
            signed = sign(unsigned, key, suite=suite, created=CREATED)
            assert verifier.check(signed, at=AT).verified, (kt, suite)


def test_suite_key_mismatch_refused(unsigned: dict[str, Any]) -> None:
    with pytest.raises(ProofError, match="Ed25519"):
        sign(unsigned, KeyPair.generate("p256"), suite="eddsa-rdfc-2022", created=CREATED)


def test_unknown_cryptosuite(unsigned: dict[str, Any], signer: Callable[..., Any], verifier: Verifier) -> None:
    signed = signer(unsigned)
    signed["proof"]["cryptosuite"] = "eddsa-foo-2099"
    result = verifier.check(signed, at=AT)
    assert codes(result) == ["UNKNOWN_CRYPTOSUITE"]


def test_unresolvable_did_is_error_not_invalid(
    unsigned: dict[str, Any], signer: Callable[..., Any], verifier: Verifier
) -> None:
    # did:example has no resolver here: we cannot decide, which is `error`, not `invalid`.
    signed = signer(unsigned)
    signed["proof"]["verificationMethod"] = "did:example:123#key-1"
    result = verifier.check(signed, at=AT)
    assert result.status == "error"
    assert codes(result) == ["DID_UNRESOLVABLE"]


def test_missing_verification_method_is_invalid(
    unsigned: dict[str, Any], signer: Callable[..., Any], verifier: Verifier
) -> None:
    signed = signer(unsigned)
    signed["proof"]["verificationMethod"] = signed["proof"]["verificationMethod"].split("#")[0] + "#other"
    result = verifier.check(signed, at=AT)
    assert result.status == "invalid"
    assert codes(result) == ["VERIFICATION_METHOD_INVALID"]


BAD_INPUTS: list[tuple[str, bytes, str]] = [
    ("malformed", b'{"@context": [', "MALFORMED_JSON"),
    ("duplicate-key", b'{"a": 1, "a": 2}', "MALFORMED_JSON"),
    ("nan", b'{"a": NaN}', "MALFORMED_JSON"),
    ("not-object", b"[1, 2, 3]", "CREDENTIAL_NOT_OBJECT"),
    ("too-large", b'{"a": "' + b"x" * (1 << 20) + b'"}', "INPUT_TOO_LARGE"),
    ("too-deep", b"[" * 100 + b"]" * 100, "INPUT_TOO_DEEP"),
    ("very-deep", b"[" * 100000 + b"]" * 100000, "INPUT_TOO_DEEP"),
    ("not-utf8", b'{"a": "\xff"}', "MALFORMED_JSON"),
]


@pytest.mark.parametrize(("name", "data", "code"), BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_gives_problem_not_traceback(name: str, data: bytes, code: str, verifier: Verifier) -> None:
    result = verifier.check(data, at=AT)
    assert result.status == "invalid"
    assert code in codes(result)


def test_missing_proof(unsigned: dict[str, Any], verifier: Verifier) -> None:
    result = verifier.check(unsigned, at=AT)
    assert result.status == "invalid"
    assert "PROOF_MISSING" in codes(result)


def test_naive_datetime_rejected(verifier: Verifier) -> None:
    with pytest.raises(ValueError, match="timezone"):
        verifier.check(b"{}", at=datetime(2026, 1, 1))


def test_regression_deep_nesting_segfault_with_raised_recursion_limit() -> None:
    # py-evm raises the recursion limit on import; CPython's C json decoder then overflowed the C stack on hostile
    # nesting (a segfault, found by this suite). The depth is now checked on the bytes before parsing.
    import subprocess
    import sys

    code = (
        "import sys; sys.setrecursionlimit(10**7)\n"
        "from datetime import UTC, datetime\n"
        "from vcgate.gateway import DidResolver, Policy, Verifier\n"
        "r = Verifier(Policy.default(), DidResolver.offline()).check(b'[' * 500000 + b']' * 500000,"
        " at=datetime(2026, 1, 1, tzinfo=UTC))\n"
        "print(r.problems[0].code)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == b"INPUT_TOO_DEEP"
