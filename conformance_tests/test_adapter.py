"""Adapter behaviour through the SDK interface: describe, paging, resumable cursors, deterministic and idempotent
translation, errors on bad locators and configurations, health."""

from __future__ import annotations

import json
import re

from vcgate.adapters.sdk import API_VERSION, AdapterInfo, Cursor, Health, SourceRecord
from vcgate.canonical_schema import VcgateError
from vcgate.conformance_tests._adapter_harness import AdapterUnderTest, read_stream
from vcgate.conformance_tests._cases import conformance_case
from vcgate.conformance_tests._findings import Findings

_LEDGER_ID = re.compile(r"^[-a-z0-9]{3,8}:[-_a-zA-Z0-9.]{1,128}$")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")


def _fingerprint(r: SourceRecord) -> str:
    """Everything a record says, as comparable text."""
    return json.dumps(
        {
            "ledgerId": r.ledger_id,
            "kind": r.kind,
            "locator": r.locator,
            "digest": r.record_digest(),
            "signer": r.native_signer,
            "time": r.ledger_time.isoformat(),
            "height": r.ledger_height,
            "proof": r.proof_material,
            "channel": r.channel,
            "finality": r.finality,
            "supersedes": r.supersedes,
        },
        sort_keys=True,
    )


def _expected_kind(aut: AdapterUnderTest) -> str:
    # A remote adapter (the HTTP client, class KIND "remote") speaks for an adapter of another kind: its records and
    # describe() carry the served adapter's kind. Everything else must match its own class KIND.
    if aut.plugin.kind == "remote":
        return str(aut.info.kind)
    return str(aut.plugin.kind)


@conformance_case("ADP-001")
def test_describe(adapter_under_test: AdapterUnderTest) -> None:
    """describe() returns an AdapterInfo: the plugin's kind, a CAIP-2 style ledger id, this API version, and at
    least one mapping with a sha256 digest (ids unique)."""
    findings = Findings()
    info = adapter_under_test.info
    plugin = adapter_under_test.plugin
    if not findings.check(isinstance(info, AdapterInfo), f"describe() returned a {type(info).__name__}"):
        findings.done()
    findings.check(bool(info.id), "describe().id is empty")
    findings.check(
        info.kind == _expected_kind(adapter_under_test),
        f"describe().kind {info.kind!r} is not the class KIND {plugin.kind!r}",
    )
    findings.check(bool(_LEDGER_ID.match(info.ledger_id)), f"ledger id {info.ledger_id!r} is not CAIP-2 style")
    findings.check(info.api_version == API_VERSION, f"api_version {info.api_version}, expected {API_VERSION}")
    findings.check(bool(info.mappings), "describe() publishes no mapping")
    ids = [m.id for m in info.mappings]
    findings.check(len(ids) == len(set(ids)), f"mapping ids repeat: {ids}")
    for m in info.mappings:
        findings.check(bool(_DIGEST.match(m.digest)), f"mapping {m.id} digest {m.digest!r} is not sha256:<hex>")
        findings.check(bool(m.types) and "VerifiableCredential" in m.types, f"mapping {m.id} types {m.types}")
    try:
        json.dumps(info.to_json())
    except (TypeError, ValueError) as exc:
        findings.add(f"describe().to_json() is not JSON: {exc}")
    findings.done()


@conformance_case("ADP-002")
def test_paging(adapter_under_test: AdapterUnderTest) -> None:
    """From the start: page cursors strictly ascending (so an empty page, which an adapter may yield to save its
    progress through a stretch of ledger without records, still moves forward), no locator twice, records of this
    ledger in ledger order (heights never go back), and each revocation supersedes an earlier record."""
    findings = Findings()
    aut = adapter_under_test
    listing = aut.listing
    previous = Cursor.start()
    for i, page in enumerate(listing.pages):
        try:
            findings.check(page.next_cursor > previous, f"page {i} cursor {page.next_cursor} is not after {previous}")
        except TypeError:
            findings.add(f"page {i} cursor {page.next_cursor} is not comparable with {previous}")
        previous = page.next_cursor
    seen: set[str] = set()
    height = -1
    for r in listing.records:
        findings.check(r.locator not in seen, f"locator {r.locator} appears twice")
        findings.check(r.ledger_id == aut.info.ledger_id, f"{r.locator}: ledger id {r.ledger_id}")
        findings.check(r.ledger_kind == _expected_kind(aut), f"{r.locator}: ledger kind {r.ledger_kind}")
        findings.check(r.ledger_height >= height, f"{r.locator}: height {r.ledger_height} after {height}")
        if r.kind == "revocation":
            findings.check(r.supersedes in seen, f"{r.locator} revokes {r.supersedes}, not an earlier record")
        seen.add(r.locator)
        height = max(height, r.ledger_height)
    findings.done()


@conformance_case("ADP-003")
def test_resume_from_every_page_boundary(adapter_under_test: AdapterUnderTest) -> None:
    """records(since=c) for the start cursor and every page's next_cursor (also through encode/decode and
    to_json/from_json) yields exactly the records after c; after the last cursor, nothing."""
    findings = Findings()
    aut = adapter_under_test
    listing = aut.listing
    full = listing.locators
    cap = aut.settings.max_records
    boundaries = [(Cursor.start(), 0)]
    offset = 0
    for page in listing.pages:
        offset += len(page.records)
        boundaries.append((page.next_cursor, offset))
    for cursor, after in boundaries:
        expected = full[after:]
        variants = {
            "cursor": cursor,
            "encoded token": Cursor.decode(cursor.encode()),
            "JSON form": Cursor.from_json(json.loads(json.dumps(cursor.to_json()))),
        }
        for how, since in variants.items():
            try:
                got = read_stream(aut.adapter, since, cap).locators
            except VcgateError as exc:
                findings.add(f"resuming after record {after} ({how}) raised {exc}")
                continue
            if listing.truncated:
                got = got[: len(expected)]
            if got != expected:
                missing = [loc for loc in expected if loc not in got]
                extra = [loc for loc in got if loc not in expected]
                findings.add(
                    f"resuming after record {after} ({how}, {cursor.position}): "
                    f"missing {missing[:5]}, unexpected {extra[:5]}"
                    + (" (order differs)" if not missing and not extra else "")
                )
                break  # one finding per boundary is enough
    findings.done()


@conformance_case("ADP-004")
def test_deterministic_translation(adapter_under_test: AdapterUnderTest) -> None:
    """translate(record) twice, and by a fresh adapter instance, gives the same JSON text; ids are unique."""
    findings = Findings()
    aut = adapter_under_test
    fresh = aut.new_instance()
    ids: set[str] = set()
    for s in aut.sample:
        first = json.dumps(s.translation.to_json())
        again = json.dumps(aut.adapter.translate(s.record).to_json())
        other = json.dumps(fresh.translate(s.record).to_json())
        findings.check(first == again, f"{s.record.locator}: a second translate() differs")
        findings.check(first == other, f"{s.record.locator}: another adapter instance translates differently")
        cid = s.translation.credential_id
        findings.check(cid not in ids, f"{s.record.locator}: credential id {cid} repeats")
        ids.add(cid)
    findings.done()


@conformance_case("ADP-005")
def test_idempotent_reads(adapter_under_test: AdapterUnderTest) -> None:
    """A second read from the start gives the same records; fetch(locator) gives the listed record and the same
    translation."""
    findings = Findings()
    aut = adapter_under_test
    first = [_fingerprint(r) for r in aut.listing.records]
    second = [_fingerprint(r) for r in read_stream(aut.adapter, None, aut.settings.max_records).records]
    findings.check(first == second, "a second read from the start returns different records")
    for s in aut.sample:
        try:
            fetched = aut.adapter.fetch(s.record.locator)
        except VcgateError as exc:
            findings.add(f"fetch({s.record.locator!r}) raised {exc}")
            continue
        findings.check(_fingerprint(fetched) == _fingerprint(s.record), f"fetch({s.record.locator!r}) differs")
        findings.check(
            json.dumps(aut.adapter.translate(fetched).to_json()) == json.dumps(s.translation.to_json()),
            f"{s.record.locator}: the fetched record translates differently",
        )
    findings.done()


@conformance_case("ADP-006")
def test_bad_locators_raise_vcgate_errors(adapter_under_test: AdapterUnderTest) -> None:
    """fetch() of locators that do not exist or are malformed raises a VcgateError (never another exception, never
    a record)."""
    findings = Findings()
    aut = adapter_under_test
    real = aut.listing.records[-1].locator
    bad = [
        real + "-does-not-exist",
        "conformance/does-not-exist",
        "",
        "\x00",
        "../../../etc/passwd",
        "é" * 300,
        "9" * 80,
    ]
    for locator in bad:
        try:
            record = aut.adapter.fetch(locator)
        except VcgateError:
            continue
        except Exception as exc:  # the finding: a crash instead of a VcgateError
            findings.add(f"fetch({locator[:40]!r}) raised {type(exc).__name__}: {str(exc)[:120]}, not a VcgateError")
            continue
        findings.add(f"fetch({locator[:40]!r}) returned record {record.locator!r} instead of raising")
    findings.done()


@conformance_case("ADP-007")
def test_health(adapter_under_test: AdapterUnderTest) -> None:
    """health() returns Health ``ok`` with an integer ledger height at least that of every record read."""
    findings = Findings()
    aut = adapter_under_test
    health = aut.adapter.health()
    if not findings.check(isinstance(health, Health), f"health() returned a {type(health).__name__}"):
        findings.done()
    findings.check(health.status == "ok", f"health() is {health.status}: {health.detail}")
    height = health.ledger_height
    if findings.check(isinstance(height, int) and height >= 0, f"health() ledger height is {height!r}"):
        assert height is not None
        highest = max(r.ledger_height for r in aut.listing.records)
        findings.check(height >= highest, f"health() height {height} is below a record's height {highest}")
    findings.done()


@conformance_case("ADP-008")
def test_bad_configuration(adapter_under_test: AdapterUnderTest) -> None:
    """from_config({}) raises a VcgateError that says what is missing, rather than crashing or succeeding."""
    factory = adapter_under_test.plugin.factory
    findings = Findings()
    try:
        factory.from_config({})
    except VcgateError as exc:
        findings.check(bool(str(exc).strip()), "the VcgateError from from_config({}) has no message")
    except Exception as exc:  # the finding: a crash instead of a VcgateError
        findings.add(f"from_config({{}}) raised {type(exc).__name__}: {exc}, not a VcgateError")
    else:
        findings.add("from_config({}) accepted an empty configuration")
    findings.done()
