"""StatusListChecker through the Verifier, with lists served by the in-memory fetcher."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from vcgate.canonical_schema import b64url
from vcgate.gateway import (
    DidResolver,
    KeyPair,
    Policy,
    StaticStatusListFetcher,
    StatusList,
    StatusListChecker,
    VerificationResult,
    Verifier,
    sign,
    sign_vc_jwt,
)

from .conftest import AT, ISSUED, LIST_URL, StatusWorld, credential


def codes(result: VerificationResult) -> list[str]:
    return [p.code for p in result.problems]


def status_checks(result: VerificationResult) -> list[tuple[str, str]]:
    # Stage 6 also holds the ledger revocation checks (not_applicable here: these credentials carry no evidence).
    return [(c.name, c.status) for c in result.checks if c.stage == "status" and not c.name.startswith("ledger_")]


def test_clear_entry_verifies(world: StatusWorld) -> None:
    result = world.verifier().check(world.issue(94567), at=AT)
    assert result.status == "verified", result.to_json()
    assert status_checks(result) == [("status_list_credential", "passed"), ("status", "passed")]


def test_set_entry_is_revoked(world: StatusWorld) -> None:
    vc = world.issue(94567)
    world.status_list.set(94567)
    world.publish()
    result = world.verifier().check(vc, at=AT)
    assert result.status == "invalid"
    assert codes(result) == ["STATUS_REVOKED"]
    problem = result.problems[0]
    assert problem.pointer == "/credentialStatus"
    # clearing (e.g. a suspension lifted) makes it verify again
    world.status_list.clear(94567)
    world.publish()
    assert world.verifier().check(vc, at=AT).status == "verified"


def test_other_entries_unaffected(world: StatusWorld) -> None:
    world.status_list.set(94567)
    world.publish()
    assert world.verifier().check(world.issue(94566), at=AT).status == "verified"


def test_suspension(world: StatusWorld) -> None:
    suspended = StatusList.create("https://status.example/lists/suspension")
    suspended.set(12)
    world.publish(suspended, purpose="suspension")
    vc = sign(credential(world.key.controller, suspended.entry(12, "suspension")), world.key, created=ISSUED)
    result = world.verifier().check(vc, at=AT)
    assert codes(result) == ["STATUS_SUSPENDED"]


def test_several_entries_each_checked(world: StatusWorld) -> None:
    suspension = StatusList.create("https://status.example/lists/suspension")
    world.publish(suspension, purpose="suspension")
    world.status_list.set(3)
    world.publish()
    vc = sign(
        credential(
            world.key.controller,
            [world.status_list.entry(3, "revocation"), suspension.entry(3, "suspension")],
        ),
        world.key,
        created=ISSUED,
    )
    result = world.verifier().check(vc, at=AT)
    assert codes(result) == ["STATUS_REVOKED"]
    assert result.problems[0].pointer == "/credentialStatus/0"
    assert status_checks(result).count(("status", "passed")) == 1


def test_tampered_encoded_list_fails_the_list_signature(world: StatusWorld) -> None:
    vc = world.issue(10)
    forged = copy.deepcopy(world.lists[LIST_URL])
    revoked = StatusList.create(LIST_URL)
    revoked.set(10)
    forged["credentialSubject"]["encodedList"] = revoked.encode()
    world.fetcher.publish(LIST_URL, forged)
    result = world.verifier().check(vc, at=AT)
    assert result.status == "invalid"
    assert codes(result) == ["STATUS_LIST_INVALID"]
    assert "SIGNATURE_INVALID" in result.problems[0].detail


def test_list_from_another_issuer_fails(world: StatusWorld) -> None:
    vc = world.issue(10)
    mallory = KeyPair.generate()
    forged = sign(
        StatusList.create(LIST_URL).to_credential(mallory.controller, "revocation", ISSUED),
        mallory,
        created=ISSUED,
    )
    world.fetcher.publish(LIST_URL, forged)
    result = world.verifier().check(vc, at=AT)
    assert codes(result) == ["STATUS_ISSUER_MISMATCH"]


def test_another_issuer_allowed_when_configured(world: StatusWorld) -> None:
    vc = world.issue(10)
    registry = KeyPair.generate()
    listed = sign(
        StatusList.create(LIST_URL).to_credential(registry.controller, "revocation", ISSUED),
        registry,
        created=ISSUED,
    )
    fetcher = StaticStatusListFetcher({LIST_URL: listed})
    verifier = Verifier(
        Policy.default(),
        DidResolver.offline(),
        status_checker=StatusListChecker(fetcher, require_same_issuer=False),
    )
    assert verifier.check(vc, at=AT).status == "verified"


def test_unreachable_list_is_error_not_invalid(world: StatusWorld) -> None:
    vc = world.issue(10)
    result = world.verifier(StaticStatusListFetcher()).check(vc, at=AT)
    assert result.status == "error"
    assert codes(result) == ["STATUS_UNREACHABLE"]


def test_purpose_mismatch(world: StatusWorld) -> None:
    vc = world.issue(10, purpose="suspension")  # entry says suspension, list is a revocation list
    result = world.verifier().check(vc, at=AT)
    assert codes(result) == ["STATUS_PURPOSE_MISMATCH"]


def test_index_out_of_range(world: StatusWorld) -> None:
    entry = world.status_list.entry(10, "revocation")
    entry["statusListIndex"] = "131072"
    vc = sign(credential(world.key.controller, entry), world.key, created=ISSUED)
    result = world.verifier().check(vc, at=AT)
    assert codes(result) == ["STATUS_INDEX_OUT_OF_RANGE"]
    assert result.problems[0].pointer == "/credentialStatus/statusListIndex"


def _signed_list_with(world: StatusWorld, encoded: str) -> dict[str, Any]:
    cred = world.status_list.to_credential(world.key.controller, "revocation", ISSUED)
    cred["credentialSubject"]["encodedList"] = encoded
    return sign(cred, world.key, created=ISSUED)


@pytest.mark.parametrize(
    ("encoded", "code"),
    [
        ("u" + b64url(b"not gzip at all"), "STATUS_LIST_DECODING_FAILED"),
        ("u!!!!", "STATUS_LIST_DECODING_FAILED"),
        ("u" + b64url(__import__("gzip").compress(bytes(100), mtime=0)), "STATUS_LIST_TOO_SHORT"),
    ],
    ids=["not-gzip", "not-base64url", "too-short"],
)
def test_signed_but_undecodable_list(world: StatusWorld, encoded: str, code: str) -> None:
    vc = world.issue(10)
    world.fetcher.publish(LIST_URL, _signed_list_with(world, encoded))
    result = world.verifier().check(vc, at=AT)
    assert result.status == "invalid"
    assert codes(result) == [code]


def test_expired_list_is_stale_error(world: StatusWorld) -> None:
    vc = world.issue(10)
    world.publish(valid_until=datetime(2025, 3, 1, tzinfo=UTC))
    result = world.verifier().check(vc, at=AT)
    assert result.status == "error"
    assert codes(result) == ["STATUS_LIST_STALE"]


def test_list_published_under_another_url(world: StatusWorld) -> None:
    vc = world.issue(10)
    other = StatusList.create("https://status.example/lists/other")
    signed_other = sign(other.to_credential(world.key.controller, "revocation", ISSUED), world.key, created=ISSUED)
    world.fetcher.publish(LIST_URL, signed_other)
    assert codes(world.verifier().check(vc, at=AT)) == ["STATUS_LIST_ID_MISMATCH"]


def test_not_a_status_list_credential(world: StatusWorld) -> None:
    vc = world.issue(10)
    cred = world.status_list.to_credential(world.key.controller, "revocation", ISSUED)
    cred["type"] = ["VerifiableCredential"]
    world.fetcher.publish(LIST_URL, sign(cred, world.key, created=ISSUED))
    assert codes(world.verifier().check(vc, at=AT)) == ["STATUS_LIST_MALFORMED"]


@pytest.mark.parametrize(
    ("change", "code", "status"),
    [
        ({"statusListIndex": "-1"}, "STATUS_ENTRY_MALFORMED", "invalid"),
        ({"statusListIndex": "ten"}, "STATUS_ENTRY_MALFORMED", "invalid"),
        ({"statusListCredential": "not a url"}, "STATUS_ENTRY_MALFORMED", "invalid"),
        ({"statusSize": 2}, "STATUS_ENTRY_MALFORMED", "invalid"),  # statusSize 2 needs statusMessage
        ({"type": "RevocationList2020Status"}, "STATUS_TYPE_UNSUPPORTED", "error"),
    ],
)
def test_malformed_entries(world: StatusWorld, change: dict[str, Any], code: str, status: str) -> None:
    entry = {**world.status_list.entry(10, "revocation"), **change}
    result = world.verifier().check(sign(credential(world.key.controller, entry), world.key, created=ISSUED), at=AT)
    assert result.status == status
    assert codes(result) == [code]


def test_status_size_two_message_purpose(world: StatusWorld) -> None:
    messages = {0: "pending_review", 1: "accepted", 2: "rejected", 3: "undefined"}
    sl = StatusList.create("https://status.example/lists/messages", status_size=2, status_messages=messages)
    sl.set(7, 2)
    world.publish(sl, purpose="message")
    vc = sign(credential(world.key.controller, sl.entry(7, "message")), world.key, created=ISSUED)
    # A message status informs; it does not revoke.
    assert world.verifier().check(vc, at=AT).status == "verified"


def test_status_size_two_revocation_reads_both_bits(world: StatusWorld) -> None:
    messages = {0: "valid", 1: "revoked: key compromise", 2: "revoked: superseded", 3: "revoked: other"}
    sl = StatusList.create("https://status.example/lists/reasons", status_size=2, status_messages=messages)
    sl.set(7, 1)  # only the low bit of entry 7
    world.publish(sl)
    vc = sign(credential(world.key.controller, sl.entry(7, "revocation")), world.key, created=ISSUED)
    result = world.verifier().check(vc, at=AT)
    assert codes(result) == ["STATUS_REVOKED"]
    assert "key compromise" in result.problems[0].detail
    assert (
        world.verifier()
        .check(
            sign(credential(world.key.controller, sl.entry(6, "revocation")), world.key, created=ISSUED),
            at=AT,
        )
        .verified
    )


def test_status_unchecked_when_policy_says_so(world: StatusWorld) -> None:
    vc = world.issue(10)
    world.status_list.set(10)
    world.publish()
    policy = Policy.from_mapping({**Policy.default().raw, "name": "no-status", "unsafe_skip_status": True})
    verifier = Verifier(policy, DidResolver.offline(), status_checker=StatusListChecker(world.fetcher))
    result = verifier.check(vc, at=AT)
    assert result.status == "verified"
    assert status_checks(result) == [("status", "not_applicable")]
    assert result.unsafe == ("unsafe_skip_status",)


def test_vc_jwt_status_list_and_credential(world: StatusWorld) -> None:
    # Both the credential and its list may be secured as vc+jwt; the list is verified the same way.
    jwt_list_url = "https://status.example/lists/jwt"
    sl = StatusList.create(jwt_list_url)
    sl.set(5)
    world.fetcher.publish(
        jwt_list_url, sign_vc_jwt(sl.to_credential(world.key.controller, "revocation", ISSUED), world.key)
    )
    revoked = sign_vc_jwt(credential(world.key.controller, sl.entry(5, "revocation")), world.key)
    fine = sign_vc_jwt(credential(world.key.controller, sl.entry(6, "revocation")), world.key)
    assert codes(world.verifier().check(revoked, at=AT)) == ["STATUS_REVOKED"]
    assert world.verifier().check(fine, at=AT).status == "verified"


def test_self_referencing_list_is_a_cycle(world: StatusWorld) -> None:
    # A list credential that carries a status entry pointing at itself must not recurse forever.
    cred = world.status_list.to_credential(world.key.controller, "revocation", ISSUED)
    cred["credentialStatus"] = world.status_list.entry(0, "revocation")
    world.fetcher.publish(LIST_URL, sign(cred, world.key, created=ISSUED))
    result = world.verifier().check(world.issue(10), at=AT)
    assert codes(result) == ["STATUS_LIST_INVALID"]
    assert "STATUS_LIST_CYCLE" in result.problems[0].detail


def test_status_list_2021_round_trip() -> None:
    key = KeyPair.generate("ed25519")
    url = "https://status.example/2021/1"
    sl = StatusList.create(url, list_format="2021")
    fetcher = StaticStatusListFetcher()

    def publish() -> None:
        fetcher.publish(url, sign(sl.to_credential(key.controller, "revocation", ISSUED), key, created=ISSUED))

    # A VC 1.1 credential as the CBP pilots issued them (issuanceDate, StatusList2021Entry).
    vc = sign(
        {
            "@context": [
                "https://www.w3.org/2018/credentials/v1",
                "https://w3id.org/vc/status-list/2021/v1",
                "https://w3id.org/security/data-integrity/v2",
            ],
            "id": "urn:uuid:6a2c4e3b-1f0d-4e5a-9b8c-7d6e5f4a3b2c",
            "type": ["VerifiableCredential"],
            "issuer": key.controller,
            "issuanceDate": "2025-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:example:subject"},
            "credentialStatus": sl.entry(42, "revocation"),
        },
        key,
        created=ISSUED,
    )
    publish()
    verifier = Verifier(Policy.default(), DidResolver.offline(), status_checker=StatusListChecker(fetcher))
    result = verifier.check(vc, at=AT)
    assert result.status == "verified", result.to_json()
    assert ("status", "passed") in status_checks(result)
    sl.set(42)
    publish()
    verifier = Verifier(Policy.default(), DidResolver.offline(), status_checker=StatusListChecker(fetcher))
    assert codes(verifier.check(vc, at=AT)) == ["STATUS_REVOKED"]


def test_status_list_2021_rejects_multibase_prefix() -> None:
    # StatusList2021 encodedList is plain base64url; a 'u'-prefixed (Bitstring) value is not one.
    key = KeyPair.generate()
    url = "https://status.example/2021/2"
    sl = StatusList.create(url, list_format="2021")
    cred = sl.to_credential(key.controller, "revocation", ISSUED)
    cred["credentialSubject"]["encodedList"] = StatusList.create(url).encode()
    fetcher = StaticStatusListFetcher({url: sign(cred, key, created=ISSUED)})
    vc = sign(
        {
            "@context": [
                "https://www.w3.org/2018/credentials/v1",
                "https://w3id.org/vc/status-list/2021/v1",
                "https://w3id.org/security/data-integrity/v2",
            ],
            "type": ["VerifiableCredential"],
            "issuer": key.controller,
            "issuanceDate": "2025-01-01T00:00:00Z",
            "credentialSubject": {"id": "did:example:subject"},
            "credentialStatus": sl.entry(1, "revocation"),
        },
        key,
        created=ISSUED,
    )
    verifier = Verifier(Policy.default(), DidResolver.offline(), status_checker=StatusListChecker(fetcher))
    assert codes(verifier.check(vc, at=AT)) == ["STATUS_LIST_DECODING_FAILED"]
