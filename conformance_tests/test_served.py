"""Adapter behaviour through a served adapter (the remote adapter protocol over HTTP): empty pages and the end of
the stream, rewind pages, and records the adapter refuses to translate arrive as a gateway needs them.

A ``remote`` target is read at its own ``url``; any other adapter is served by the suite (``_served.py``) and its
served answers are also compared with what the adapter does in process.
"""

from __future__ import annotations

import json
from typing import Any

from vcgate.adapters.sdk import Cursor, RewindPage, TranslationError
from vcgate.canonical_schema import VcgateError
from vcgate.conformance_tests._adapter_harness import AdapterUnderTest
from vcgate.conformance_tests._cases import conformance_case
from vcgate.conformance_tests._findings import Findings
from vcgate.conformance_tests._served import WireAnswer

_HEX = "0123456789abcdef"


def _decode(token: Any) -> Cursor | None:
    try:
        return Cursor.decode(token)
    except VcgateError:
        return None


def _after(a: Cursor, b: Cursor) -> bool:
    try:
        return a > b
    except TypeError:  # positions of different shapes: not after
        return False


def _where(i: int, answer: WireAnswer) -> str:
    return f"answer {i} (since {answer.since or 'the start'})"


def _check_rewind(findings: Findings, where: str, answer: WireAnswer) -> Cursor | None:
    """A rewind page: no records, an integer keepThrough, an abandoned cursor, a nextCursor before the requested
    one, and not the end. Returns its cursor when well-formed."""
    body = answer.body
    keep = body.get("keepThrough")
    ok = findings.check(not answer.records, f"{where}: a rewind page carries {len(answer.records)} records")
    ok &= findings.check(
        isinstance(keep, int) and not isinstance(keep, bool) and keep >= -1,
        f"{where}: keepThrough {keep!r} is not a height (an integer ≥ -1)",
    )
    ok &= findings.check(_decode(body.get("abandoned")) is not None, f"{where}: abandoned {body.get('abandoned')!r}")
    ok &= findings.check(body.get("end") is False, f"{where}: a rewind page says end {body.get('end')!r}")
    cursor = _decode(body.get("nextCursor"))
    requested = _decode(answer.since)
    if not findings.check(cursor is not None, f"{where}: a rewind page has no cursor to continue from"):
        return None
    assert cursor is not None
    if requested is not None:
        ok &= findings.check(
            _after(requested, cursor), f"{where}: rewind to {cursor.position}, not before {requested.position}"
        )
    return cursor if ok else None


@conformance_case("ADP-009")
def test_served_pages_carry_cursors_and_end_explicitly(adapter_under_test: AdapterUnderTest) -> None:
    """Through the served adapter, from the start: every page states ``end``; ``nextCursor`` is null only on an
    empty end page; any other page — an empty one included — carries a cursor after the requested one (a rewind
    page: before it, well-formed); resuming after the last cursor answers an empty end page. An adapter served by
    the suite delivers every empty page it yields in process, with its cursor."""
    findings = Findings()
    aut = adapter_under_test
    served = aut.served
    answers = list(served.follow(None, aut.settings.max_records))
    last: str | None = None
    for i, answer in enumerate(answers):
        where = _where(i, answer)
        if not findings.check(answer.is_page, f"{where}: HTTP {answer.status}, not a page: {str(answer.body)[:160]}"):
            break
        body = answer.body
        findings.check(
            isinstance(body.get("end"), bool),
            f"{where}: `end` is {repr(body['end']) if 'end' in body else 'absent'}; every page must state it "
            "(protocol 1.1), or a client takes an empty page for the end of the stream",
        )
        if answer.is_rewind:
            last = answer.next_cursor if _check_rewind(findings, where, answer) else last
            continue
        cursor = _decode(body.get("nextCursor"))
        if cursor is None:
            findings.check(
                body.get("nextCursor") is None, f"{where}: nextCursor {body.get('nextCursor')!r} is no cursor token"
            )
            findings.check(
                not answer.records and body.get("end") is True,
                f"{where}: nextCursor is null on a page that "
                + ("has records" if answer.records else "is not the end (an empty page must carry its cursor)"),
            )
            continue
        requested = _decode(answer.since)
        if requested is not None:
            kind = "an empty page's" if not answer.records else "the page's"
            findings.check(
                _after(cursor, requested),
                f"{where}: {kind} cursor {cursor.position} is not after the requested {requested.position}",
            )
        last = answer.next_cursor
    complete = bool(answers) and answers[-1].ends and sum(len(a.records) for a in answers) < aut.settings.max_records
    if complete and last is not None:
        probe = served.page(last)
        findings.check(
            probe.is_page and not probe.records and probe.body.get("end") is True,
            f"resuming after the last cursor answered HTTP {probe.status} {str(probe.body)[:160]}, "
            "not an empty end page",
        )
    if aut.in_process and complete and not aut.listing.truncated:
        served_cursors = {a.next_cursor for a in answers}
        for page in aut.listing.pages:
            if not page.records and page.next_cursor.encode() not in served_cursors:
                findings.add(f"the empty page with cursor {page.next_cursor.position} did not arrive when served")
    findings.done()


def _stale_variant(cursor: Cursor) -> Cursor | None:
    """``cursor`` with every string part (a block hash, a branch name) changed; ``None`` if it has none."""
    parts: list[int | str] = []
    changed = False
    for part in cursor.position:
        if isinstance(part, str) and part:
            other = "".join(_HEX[(_HEX.index(c) + 1) % 16] if c in _HEX else c for c in part)
            parts.append(other if other != part else part + "-stale")
            changed = True
        else:
            parts.append(part)
    return Cursor(tuple(parts)) if changed else None


def _probe_cursor(aut: AdapterUnderTest) -> Cursor | None:
    if aut.settings.stale_cursor is not None:
        return Cursor.decode(aut.settings.stale_cursor)
    return _stale_variant(aut.listing.pages[-1].next_cursor)


@conformance_case("ADP-010")
def test_served_rewind(adapter_under_test: AdapterUnderTest) -> None:
    """Through the served adapter, a cursor of a branch the ledger does not hold (``conformance.staleCursor``, else
    the last cursor with its string parts — block hashes — changed) is answered by a well-formed rewind page (no
    records, ``keepThrough``, ``abandoned``, a ``nextCursor`` before it, not the end) or refused as an invalid
    cursor; following the rewind brings again every listed record above ``keepThrough``. An adapter served by the
    suite rewinds through the service exactly as in process. (Cursors made only of numbers name no branch: such a
    ledger cannot rewind, and only the rewinds met from the start are checked.)"""
    findings = Findings()
    aut = adapter_under_test
    served = aut.served
    for i, answer in enumerate(served.follow(None, aut.settings.max_records)):
        if answer.is_rewind:
            _check_rewind(findings, _where(i, answer), answer)
    probe = _probe_cursor(aut)
    if probe is None:
        findings.done()
        return
    answer = served.page(probe)
    where = f"the cursor {probe.position} of a branch the ledger does not hold"
    if answer.status == 400 and isinstance(answer.body, dict) and answer.body.get("code") == "REMOTE_CURSOR_INVALID":
        findings.done()  # refused as a cursor of another stream: the gateway reports it instead of guessing
        return
    if not answer.is_rewind:
        what = (
            "the end of the stream"
            if answer.ends
            else "a page of records"
            if answer.is_page
            else f"HTTP {answer.status} {str(answer.body)[:120]}"
        )
        findings.add(
            f"{where} was answered with {what}, not a rewind page: a gateway resuming there after a reorg would keep "
            "the abandoned branch's credentials and never read the new branch"
        )
        findings.done()
    cursor = _check_rewind(findings, where, answer)
    if cursor is not None:
        _check_rewound_stream(findings, aut, answer, cursor)
    if aut.in_process:
        first = next(iter(aut.new_instance().records(probe)), None)
        findings.check(
            isinstance(first, RewindPage)
            and first.next_cursor.encode() == answer.next_cursor
            and first.keep_through == answer.body.get("keepThrough"),
            f"{where}: in process the adapter answers {first!r}, through the service {answer.body}",
        )
    findings.done()


def _check_rewound_stream(findings: Findings, aut: AdapterUnderTest, rewind: WireAnswer, cursor: Cursor) -> None:
    """Following the rewind from its cursor brings again every listed record above ``keepThrough``."""
    if aut.listing.truncated:
        return
    keep = rewind.body["keepThrough"]
    again: set[str] = set()
    for answer in aut.served.follow(cursor, aut.settings.max_records):
        again.update(str(r.get("locator")) for r in answer.records if isinstance(r, dict))
    missing = [r.locator for r in aut.listing.records if r.ledger_height > keep and r.locator not in again]
    findings.check(not missing, f"after the rewind to height {keep} these records did not come again: {missing[:5]}")


@conformance_case("ADP-011")
def test_served_refusals_are_translation_problems(adapter_under_test: AdapterUnderTest) -> None:
    """Through the served adapter, every listed record (revocations aside) is either translated or refused with
    ``422 REMOTE_TRANSLATION_FAILED`` and its ``translationProblem`` — what lets a gateway quarantine that record
    with its reason and go on — never another error. An adapter served by the suite translates (or refuses, with
    the same problem code) exactly as in process."""
    findings = Findings()
    aut = adapter_under_test
    with aut.served.client() as client:
        for record in aut.listing.records:
            if record.kind == "revocation":
                continue
            served: tuple[str, str]
            try:
                served = ("translated", json.dumps(client.translate(record).to_json(), sort_keys=True))
            except TranslationError as exc:
                served = ("refused", exc.problem.code)
            except VcgateError as exc:
                findings.add(
                    f"{record.locator}: translate answered {type(exc).__name__}: {str(exc)[:160]} — a record the "
                    "adapter cannot translate must be refused with 422 REMOTE_TRANSLATION_FAILED"
                    " and a translationProblem"
                )
                continue
            if aut.in_process:
                local: tuple[str, str]
                try:
                    local = ("translated", json.dumps(aut.adapter.translate(record).to_json(), sort_keys=True))
                except TranslationError as exc:
                    local = ("refused", exc.problem.code)
                except VcgateError as exc:
                    local = ("failed", type(exc).__name__)
                findings.check(
                    served == local,
                    f"{record.locator}: in process {local[0]} ({local[1][:60]}), through the service {served[0]} "
                    f"({served[1][:60]})",
                )
    findings.done()
