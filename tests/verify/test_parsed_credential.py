"""The typed, frozen credential view the verification stages read (issue 11 item 4): parsed once, never raising."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vcgate.canonical_schema import CREDENTIALS_V1_URL, CREDENTIALS_V2_URL
from vcgate.gateway.verification import ParsedCredential
from vcgate.gateway.verification._ledger import ledger_items
from vcgate.gateway.verification._verify import check_validity

AT = datetime(2026, 6, 1, tzinfo=UTC)


def _credential(**members: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": [CREDENTIALS_V2_URL],
        "id": "urn:uuid:1",
        "type": ["VerifiableCredential", "CommercialInvoiceCredential"],
        "issuer": {"id": "did:example:seller", "name": "Seller"},
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2027-01-01T00:00:00+01:00",
        "credentialStatus": {"type": "BitstringStatusListEntry", "statusListIndex": "7"},
        "evidence": [
            {"type": ["Evidence"], "note": "a photo"},
            "not an object",
            {"type": "LedgerEvidence", "ledgerKind": "ethereum", "ledgerId": "eip155:1"},
        ],
        "proof": [{"type": "DataIntegrityProof"}, {"type": "DataIntegrityProof"}],
    }
    doc.update(members)
    return doc


def test_parse_reads_every_member_the_stages_need() -> None:
    doc = _credential()
    view = ParsedCredential.parse(doc)
    assert view.raw is doc  # signature stages and adapters see the exact document
    assert view.id == "urn:uuid:1"
    assert view.types == ("VerifiableCredential", "CommercialInvoiceCredential")
    assert view.issuer == "did:example:seller"
    assert view.valid_from == datetime(2026, 1, 1, tzinfo=UTC)
    assert view.valid_until == datetime(2026, 12, 31, 23, tzinfo=UTC)
    assert (view.valid_from_key, view.valid_until_key) == ("validFrom", "validUntil")
    assert view.status_entries == (doc["credentialStatus"],)
    assert [(e.index, e.ledger) for e in view.evidence] == [(0, False), (2, True)]
    (ledger,) = view.ledger_evidence
    assert (ledger.ledger_kind, ledger.ledger_id, ledger.pointer) == ("ethereum", "eip155:1", "/evidence/2")
    assert ledger_items(doc) == [(2, doc["evidence"][2])]
    assert len(view.proofs) == 2
    assert view.proof_is_set
    assert view.problems == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        view.issuer = "did:example:other"  # type: ignore[misc]


def test_vc11_window_and_string_issuer() -> None:
    view = ParsedCredential.parse(
        _credential(
            **{"@context": [CREDENTIALS_V1_URL], "issuer": "did:example:x", "issuanceDate": "2025-01-01T00:00:00Z"}
        )
        | {"validFrom": None}
    )
    assert view.v1
    assert view.issuer == "did:example:x"
    assert view.valid_from_key == "issuanceDate"
    assert view.valid_from == datetime(2025, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["2026-13-01T00:00:00Z", "2026-01-01T00:00:00", 20260101, "yesterday"])
def test_malformed_dates_are_datetime_invalid(bad: Any) -> None:
    view = ParsedCredential.parse(_credential(validUntil=bad))
    assert view.valid_until is None
    assert [(p.code, p.pointer) for p in view.problems] == [("DATETIME_INVALID", "/validUntil")]
    valid_until = check_validity(view, AT)[1]
    assert (valid_until.name, valid_until.status, valid_until.problem) == ("valid_until", "failed", view.problems[0])


@pytest.mark.parametrize(
    ("bad", "pointers", "types"),
    [
        (7, ["/type"], ()),
        ({"VerifiableCredential": True}, ["/type"], ()),
        (["VerifiableCredential", 3, None], ["/type/1", "/type/2"], ("VerifiableCredential",)),
    ],
)
def test_malformed_types_are_type_invalid(bad: Any, pointers: list[str], types: tuple[str, ...]) -> None:
    view = ParsedCredential.parse(_credential(type=bad))
    assert view.types == types
    assert [(p.code, p.pointer) for p in view.problems] == [("TYPE_INVALID", ptr) for ptr in pointers]


def test_window_checks_from_the_view() -> None:
    view = ParsedCredential.parse(_credential(validFrom="2026-07-01T00:00:00Z"))
    valid_from, valid_until = check_validity(view, AT)
    assert valid_from.status == "failed"
    assert valid_from.problem is not None
    assert valid_from.problem.code == "NOT_YET_VALID"
    assert valid_until.status == "passed"
    assert [c.status for c in check_validity(ParsedCredential.parse({"id": 1}), AT)] == ["not_applicable"] * 2


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
_members = st.sampled_from(
    ["@context", "id", "type", "issuer", "validFrom", "validUntil", "credentialStatus", "evidence", "proof"]
)


@given(st.dictionaries(_members, _json, max_size=9))
def test_hostile_members_never_raise(doc: dict[str, Any]) -> None:
    view = ParsedCredential.parse(doc)
    assert all(isinstance(t, str) for t in view.types)
    assert all(isinstance(e.value, dict) for e in view.evidence)
    assert all(p.code in ("DATETIME_INVALID", "TYPE_INVALID") for p in view.problems)
    assert len(check_validity(view, AT)) == 2
