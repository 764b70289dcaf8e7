"""Source records are validated at construction; cursors order, serialise and resume exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcgate.adapters.sdk import (
    Adapter,
    Check,
    CheckStatus,
    Cursor,
    EvidenceChecker,
    RecordPage,
    apply_mapping,
    overall_status,
    paginate,
)
from vcgate.canonical_schema import InputError

from ._helpers import INVOICE_RECORD, MemoryAdapter, invoice_mapping, make_record

BAD_RECORDS: list[tuple[str, dict[str, Any], str]] = [
    ("ledger id without namespace", {"ledger_id": "ledger1"}, "CAIP-2"),
    ("ledger id upper-case namespace", {"ledger_id": "EIP155:1"}, "CAIP-2"),
    ("ledger kind", {"ledger_kind": "Ethereum Mainnet"}, "ledger kind"),
    ("empty locator", {"locator": ""}, "locator"),
    ("naive time", {"ledger_time": datetime(2024, 1, 1)}, "timezone-aware"),
    ("negative height", {"ledger_height": -1}, "non-negative"),
    ("bool height", {"ledger_height": True}, "non-negative"),
    ("signer without kind", {"native_signer": {"address": "0xabc"}}, "'kind'"),
    ("revocation without target", {"kind": "revocation"}, "supersedes"),
    ("record that supersedes", {"supersedes": "entry/0"}, "supersedes"),
    ("unknown kind", {"kind": "update", "supersedes": "x"}, "record kind"),
    ("non-JSON raw", {"raw": {"when": datetime(2024, 1, 1, tzinfo=UTC)}}, "must be JSON"),
    ("NaN in proof", {"proof_material": {"x": float("nan")}}, "must be JSON"),
    ("dict with other media type", {"media_type": "text/csv"}, "application/json"),
    ("bytes of unknown type", {"raw": b"\x00\x01", "media_type": "application/cbor"}, "cannot decode"),
    ("JSON bytes not an object", {"raw": b"[1, 2]"}, "object at the top level"),
    ("bytes not UTF-8", {"raw": b"\xff", "media_type": "text/csv"}, "UTF-8"),
    ("CSV with two rows", {"raw": b"a,b\n1,2\n3,4", "media_type": "text/csv"}, "exactly one row"),
    ("CSV width mismatch", {"raw": b"a,b\n1", "media_type": "text/csv"}, "as many values"),
]


@pytest.mark.parametrize(("changes", "message"), [b[1:] for b in BAD_RECORDS], ids=[b[0] for b in BAD_RECORDS])
def test_bad_records_are_refused(changes: dict[str, Any], message: str) -> None:
    raw = changes.pop("raw", {"a": 1})
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        make_record(raw, **changes)


def test_ledger_time_is_normalised_to_utc() -> None:
    record = make_record({}, ledger_time=datetime(2024, 1, 1, 9, 0, tzinfo=timezone(timedelta(hours=9))))
    assert record.ledger_time == datetime(2024, 1, 1, 0, 0, tzinfo=UTC)
    assert record.ledger_time.tzinfo is UTC


def test_record_is_detached_from_caller_objects() -> None:
    raw = {"a": [1]}
    record = make_record(raw)
    raw["a"].append(2)
    record.content["a"].append(3)
    assert record.content == {"a": [1]}


def test_csv_empty_cells_are_null() -> None:
    record = make_record(b"a,b,c\nx,,z", media_type="text/csv")
    assert record.content == {"a": "x", "b": None, "c": "z"}


def test_cursor_order_and_start() -> None:
    assert Cursor.start() < Cursor((0,)) < Cursor((0, 5)) < Cursor((1,)) < Cursor((1, 0))
    with pytest.raises(InputError):
        Cursor((True,))
    with pytest.raises(InputError):
        Cursor.from_json({"position": [1], "extra": 2})
    with pytest.raises(InputError):
        Cursor.decode("c2.AAAA")


@given(st.lists(st.one_of(st.integers(-(2**63), 2**63), st.text(max_size=8)), max_size=4))
def test_cursor_round_trips(position: list[int | str]) -> None:
    cursor = Cursor(tuple(position))
    assert Cursor.decode(cursor.encode()) == cursor
    assert Cursor.from_json(cursor.to_json()) == cursor


def test_paginate_refuses_disorder() -> None:
    a, b = make_record({}, locator="a"), make_record({}, locator="b")
    with pytest.raises(InputError, match="ascending"):
        list(paginate([(Cursor((2,)), a), (Cursor((1,)), b)], None, 10))


def test_paginate_pages() -> None:
    entries = [(Cursor((i,)), make_record({}, locator=f"e{i}")) for i in range(1, 6)]
    pages = list(paginate(entries, None, 2))
    assert [[r.locator for r in p.records] for p in pages] == [["e1", "e2"], ["e3", "e4"], ["e5"]]
    assert [p.next_cursor for p in pages] == [Cursor((2,)), Cursor((4,)), Cursor((5,))]
    assert list(paginate(entries, Cursor((5,)), 2)) == []
    assert list(paginate(entries, Cursor((3,)), 5)) == [RecordPage(tuple(r for _, r in entries[3:]), Cursor((5,)))]


# A consumer reading one page at a time, persisting only the encoded cursor between reads, while the ledger grows.
actions = st.lists(st.one_of(st.tuples(st.just("append"), st.integers(1, 4)), st.just(("read", 0))), max_size=30)


@settings(max_examples=200, deadline=None)
@given(page_size=st.integers(1, 5), steps=actions)
def test_cursor_resumption_property(page_size: int, steps: list[tuple[str, int]]) -> None:
    adapter = MemoryAdapter(invoice_mapping(), page_size=page_size)
    appended: list[str] = []
    consumed: list[str] = []
    saved: str | None = None  # only the opaque token survives between reads
    for action, count in [*steps, ("drain", 0)]:
        if action == "append":
            for _ in range(count):
                appended.append(adapter.append(dict(INVOICE_RECORD)).locator)
            continue
        while True:
            since = Cursor.decode(saved) if saved is not None else None
            page = next(iter(adapter.records(since)), None)
            if page is None:
                break
            assert 1 <= len(page.records) <= page_size
            consumed.extend(r.locator for r in page.records)
            saved = page.next_cursor.encode()
            if action == "read":
                break
    assert consumed == appended  # nothing skipped, nothing repeated, in ledger order


def test_memory_adapter_satisfies_the_protocols() -> None:
    adapter = MemoryAdapter.from_config({"mapping": invoice_mapping().document})
    assert isinstance(adapter, Adapter)
    assert isinstance(adapter.evidence_checker(), EvidenceChecker)
    record = adapter.append(dict(INVOICE_RECORD))
    assert adapter.fetch(record.locator) == record
    t = adapter.translate(record)
    assert t.credential == apply_mapping(invoice_mapping(), make_record(INVOICE_RECORD, ledger_height=1)).credential
    ok = adapter.evidence_checker().check(
        t.credential, t.evidence, {"digests": [record.record_digest()]}, at=datetime(2025, 1, 1, tzinfo=UTC)
    )
    assert ok.status == "verified"
    none = adapter.evidence_checker().check(
        t.credential, t.evidence, {"digests": []}, at=datetime(2025, 1, 1, tzinfo=UTC)
    )
    assert none.status == "error"
    assert none.problems[0].code == "MEMORY_NO_ANCHOR"
    assert adapter.describe().to_json()["mappings"][0]["digest"] == invoice_mapping().digest
    assert adapter.health().to_json() == {"status": "ok", "ledgerHeight": 1}


STATUSES = [
    ((), "error"),
    ((CheckStatus.NOT_APPLICABLE,), "error"),
    ((CheckStatus.PASSED, CheckStatus.NOT_APPLICABLE), "verified"),
    ((CheckStatus.PASSED, CheckStatus.ERROR), "error"),
    ((CheckStatus.PASSED, CheckStatus.ERROR, CheckStatus.FAILED), "invalid"),
    ((CheckStatus.FAILED,), "invalid"),
]


@pytest.mark.parametrize(("statuses", "overall"), STATUSES)
def test_overall_status(statuses: tuple[CheckStatus, ...], overall: str) -> None:
    assert overall_status(tuple(Check(f"c{i}", s) for i, s in enumerate(statuses))) == overall


def test_integers_beyond_2_53_are_refused() -> None:
    # RFC 8785 / I-JSON cannot carry them exactly; ledger adapters must write uint256 values as strings.
    with pytest.raises(InputError, match="I-JSON"):
        make_record({"amount": 2**64})
    assert make_record({"amount": str(2**64)}).content == {"amount": "18446744073709551616"}
