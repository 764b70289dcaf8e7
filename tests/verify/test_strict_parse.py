"""The strict JSON parser's duplicate-key hook and the JWT sniffing on bytes: the same verdicts and messages as the
straightforward versions they replaced."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from vcgate.gateway import DidResolver, KeyPair, Policy, Verifier, sign_vc_jwt
from vcgate.gateway.verification._verify import _DuplicateKeyError, _no_duplicates, parse_json_strictly

AT = datetime(2025, 6, 1, tzinfo=UTC)


def _reference(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKeyError(f"duplicate key {k!r}")
        out[k] = v
    return out


def _outcome(fn: Any, pairs: list[tuple[str, Any]]) -> Any:
    try:
        result = fn(list(pairs))
    except _DuplicateKeyError as exc:
        return ("error", str(exc))
    return ("ok", list(result.items()))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "é", "@context", "id"]), st.integers()), max_size=8))
def test_no_duplicates_matches_reference(pairs: list[tuple[str, int]]) -> None:
    assert _outcome(_no_duplicates, pairs) == _outcome(_reference, pairs)


def test_first_duplicate_is_named() -> None:
    _, check = parse_json_strictly(b'{"x": 1, "b": 1, "a": 2, "b": 3, "a": 4}', max_bytes=10_000, max_depth=10)
    assert check.problem is not None
    assert check.problem.code == "MALFORMED_JSON"
    assert "duplicate key 'b'" in check.problem.detail


def test_nested_duplicate_rejected() -> None:
    raw = json.dumps({"outer": {"k": 1}}).replace('"k": 1', '"k": 1, "k": 2').encode()
    _, check = parse_json_strictly(raw, max_bytes=10_000, max_depth=10)
    assert check.problem is not None
    assert check.problem.code == "MALFORMED_JSON"
    assert "duplicate key 'k'" in check.problem.detail


def _cred(issuer: str) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "validFrom": "2025-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:subject"},
    }


def test_jwt_sniffed_on_bytes_as_on_text() -> None:
    key = KeyPair.generate("ed25519")
    token = sign_vc_jwt(_cred(key.controller), key)
    verifier = Verifier(Policy.default(), DidResolver.offline())
    as_text = verifier.check(token, at=AT)
    as_bytes = verifier.check(b"  " + token.encode() + b"\n", at=AT)
    assert as_text.format == as_bytes.format == "jwt"
    assert as_text.to_json() == as_bytes.to_json()
    # undecodable bytes around the dots still route to the JWT path, as when the input was decoded first
    broken = b"ey\xff\xfe.a\x80b.c"
    assert verifier.check(broken, at=AT).to_json() == verifier.check(broken.decode("utf-8", "replace"), at=AT).to_json()
    # not a JWT (three dots) goes to the JSON parser
    not_jwt = verifier.check(b"ey.a.b.c", at=AT)
    assert not_jwt.checks[0].problem is not None
    assert not_jwt.checks[0].problem.code == "MALFORMED_JSON"
