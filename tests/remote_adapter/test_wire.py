"""The protocol's JSON forms: byte-exact round trips of records, cursors, pages, info and evidence results, and
strict refusal of everything else (with the JSON pointer of the bad member)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sdk._helpers import INVOICE_RECORD, MemoryAdapter, invoice_mapping, make_record

from vcgate.adapters.remote import (
    WireFormatError,
    WirePage,
    cursor_from_token,
    evidence_result_from_json,
    health_from_json,
    info_from_json,
    loads_strictly,
    page_from_json,
    page_to_json,
    problem_from_json,
    protocol_major,
    record_from_json,
    record_to_json,
)
from vcgate.adapters.sdk import (
    Check,
    CheckStatus,
    Cursor,
    EvidenceResult,
    Health,
    RecordPage,
    RewindPage,
    SourceRecord,
)
from vcgate.canonical_schema import Problem

CSV = b"number,total\nINV-1,12.50"


def round_trip(record: Any) -> Any:
    text = json.dumps(record_to_json(record))  # through real JSON text, as on the wire
    back = record_from_json(json.loads(text))
    assert back == record
    assert record_to_json(back) == json.loads(text)
    return back


@pytest.mark.parametrize(
    "overrides",
    [
        {},
        {"raw": CSV, "media_type": "text/csv"},
        {"raw": b'{"b": 1,  "a": 2}'},  # JSON bytes keep their exact spelling (the digest is over the bytes)
        {"kind": "revocation", "supersedes": "entry/0"},
        {"channel": "trade", "finality": {"depth": 12, "checkpoint": "0xabc"}},
        {"ledger_time": datetime(2024, 1, 2, 3, 4, 5, 600, tzinfo=UTC)},
        {"ledger_time": datetime(2024, 1, 2, 8, 4, 5, tzinfo=UTC) + timedelta(hours=-5)},
        {"ledger_height": 2**62},
    ],
)
def test_records_round_trip_exactly(overrides: dict[str, Any]) -> None:
    raw = overrides.pop("raw", dict(INVOICE_RECORD))
    record = make_record(raw, **overrides)
    back = round_trip(record)
    assert back.record_digest() == record.record_digest()
    assert back.raw_bytes == record.raw_bytes


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=60, deadline=None)
@given(
    raw=st.dictionaries(st.text(max_size=10), json_values, max_size=6),
    when=st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2999, 12, 31), timezones=st.just(UTC)),
    height=st.integers(0, 2**63),
    signer=st.dictionaries(st.text(min_size=1, max_size=8).filter(lambda k: k != "kind"), json_values, max_size=3),
)
def test_any_record_round_trips(raw: dict[str, Any], when: datetime, height: int, signer: dict[str, Any]) -> None:
    record = make_record(raw, ledger_time=when, ledger_height=height, native_signer={"kind": "k", **signer})
    round_trip(record)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 2**64) | st.text(max_size=12), max_size=5))
def test_cursor_tokens_round_trip(position: list[int | str]) -> None:
    cursor = Cursor(tuple(position))
    assert cursor_from_token(cursor.encode(), "/since") == cursor


def test_pages_round_trip_and_only_end_ends_the_stream() -> None:
    adapter = MemoryAdapter(invoice_mapping(), page_size=2)
    for n in range(3):
        adapter.append(dict(INVOICE_RECORD, number=f"INV-{n}"))
    for page in adapter.records():
        parsed = page_from_json(json.loads(json.dumps(page_to_json(page.records, page.next_cursor))))
        assert parsed == WirePage(page, end=False)
    assert page_from_json(page_to_json((), None, end=True)) == WirePage(None, end=True)
    # An empty page that moves the cursor (an empty block window) is a page, not the end.
    moved = page_from_json({"records": [], "nextCursor": Cursor((1,)).encode(), "end": False})
    assert moved == WirePage(RecordPage((), Cursor((1,))), end=False)
    # Protocol 1.0 services end the stream with an empty page and a null cursor, without `end`.
    assert page_from_json({"records": [], "nextCursor": None}) == WirePage(None, end=True)
    with pytest.raises(WireFormatError) as null_not_end:
        page_from_json({"records": [], "nextCursor": None, "end": False})
    assert null_not_end.value.pointer == "/nextCursor"
    with pytest.raises(WireFormatError) as bad_record:
        page_from_json({"records": [{"locator": "x"}], "nextCursor": "c1.WzFd"})
    assert bad_record.value.pointer == "/records/0"


def test_rewind_pages_round_trip_and_carry_their_cursor() -> None:
    wire = page_to_json((), Cursor((1, 5)), keep_through=4, abandoned=Cursor((1, 7)))
    assert wire["keepThrough"] == 4
    parsed = page_from_json(json.loads(json.dumps(wire)))
    assert parsed == WirePage(RewindPage((), Cursor((1, 5)), Cursor((1, 7)), 4), end=False)
    assert isinstance(parsed.page, RewindPage)
    with pytest.raises(WireFormatError) as with_records:
        page_from_json({**wire, "records": [record_to_json(_sample_record())]})
    assert with_records.value.pointer == "/records"
    with pytest.raises(WireFormatError) as no_abandoned:
        page_from_json({k: v for k, v in wire.items() if k != "abandoned"})
    assert "abandoned" in no_abandoned.value.detail


def _sample_record() -> SourceRecord:
    adapter = MemoryAdapter(invoice_mapping())
    adapter.append(dict(INVOICE_RECORD))
    return next(iter(adapter.records())).records[0]


def test_info_and_health_round_trip() -> None:
    adapter = MemoryAdapter(invoice_mapping())
    info = adapter.describe()
    assert info_from_json(json.loads(json.dumps(info.to_json()))) == info
    health = Health("degraded", "lagging", 17)
    assert health_from_json({"protocolVersion": "1.0.0", **health.to_json()}) == health
    with pytest.raises(WireFormatError) as caught:
        health_from_json({"protocolVersion": "1.0.0", "status": "fine"})
    assert caught.value.pointer == "/status"
    broken = info.to_json()
    broken["mappings"][0]["issuanceMode"] = "self"
    with pytest.raises(WireFormatError) as bad_mode:
        info_from_json(broken)
    assert bad_mode.value.pointer == "/adapter/mappings/0/issuanceMode"


def test_evidence_results_round_trip_with_problems() -> None:
    result = EvidenceResult(
        (
            Check("x.shape", CheckStatus.PASSED),
            Check(
                "x.anchor",
                CheckStatus.FAILED,
                (Problem("X_ROOT", "root differs", "detail", "/evidence/0", {"expected": "ab"}),),
                "why",
            ),
            Check("x.time", CheckStatus.NOT_APPLICABLE),
            Check.passed("x.staged", "evidence"),  # the one Check type may carry a stage (ADR 0010)
        )
    )
    back = evidence_result_from_json(json.loads(json.dumps(result.to_json())))
    assert back == result
    assert back.status == "invalid"
    lying = dict(result.to_json(), status="verified")
    with pytest.raises(WireFormatError) as caught:
        evidence_result_from_json(lying)
    assert caught.value.pointer == "/status"
    problem = problem_from_json(Problem("A_B", "t", "d", "/p", {"k": [1]}).to_json(), "")
    assert problem == Problem("A_B", "t", "d", "/p", {"k": [1]})


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a":1,"a":1}', "duplicate member"),
        (b"[NaN]", "NaN is not JSON"),
        (b"[Infinity]", "Infinity is not JSON"),
        (b"[" * 65 + b"]" * 65, "nested more than 64"),
        (b'"\xc3\x28"', "not strict UTF-8 JSON"),
    ],
)
def test_strict_json(data: bytes, message: str) -> None:
    with pytest.raises(WireFormatError, match=message):
        loads_strictly(data)
    assert loads_strictly(b'{"s":"[[[[{{{{"}') == {"s": "[[[[{{{{"}  # brackets in strings are not nesting


@pytest.mark.parametrize(("text", "major"), [("1.0.0", 1), ("2.10.3", 2), ("0.9.1", 0)])
def test_protocol_major(text: str, major: int) -> None:
    assert protocol_major(text) == major


@pytest.mark.parametrize("text", ["1", "1.0", "v1.0.0", "01.0.0", "1.0.0-beta", None, 1])
def test_protocol_major_refuses_other_spellings(text: Any) -> None:
    with pytest.raises(WireFormatError):
        protocol_major(text)


def test_sdk_record_rules_apply_at_the_boundary() -> None:
    wire = record_to_json(make_record(dict(INVOICE_RECORD)))
    for change, needle in [
        ({"ledgerId": "no-colon"}, "CAIP-2"),
        ({"kind": "revocation"}, "revocation record must name"),
        ({"raw": {"n": 2**60}}, "I-JSON"),
        ({"mediaType": "text/csv"}, "media type application/json"),
        ({"ledgerKind": "remote"}, "'remote' is reserved"),
    ]:
        with pytest.raises(WireFormatError, match=needle):
            record_from_json({**wire, **change})
