"""``vcgate adapters serve`` in another process, driven through ``RemoteAdapter``: the remote adapter must be
indistinguishable from the in-process one (pages, cursors, records, translations, evidence checks), sign in partner
mode only what its ledger holds, and fail with typed errors when the service is gone or speaks another version."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests._verdicts import sound_but_unanchored
from vcgate.adapters.remote import (
    PROTOCOL_HEADER,
    PROTOCOL_VERSION,
    IncompatibleProtocolError,
    RemoteAdapter,
    RemoteAuthError,
    RemoteRecordNotFoundError,
    RemoteRequestError,
    RemoteUnavailableError,
    record_to_json,
)
from vcgate.adapters.sdk import (
    Adapter,
    Cursor,
    RecordPage,
    SourceRecord,
    TranslationError,
    load_adapter,
)
from vcgate.canonical_schema import InputError, VcgateError
from vcgate.gateway import DidResolver, Policy, Verifier

from .conftest import VCGATE, Ledger, Service, start_service, vcgate_env

pytestmark = pytest.mark.server

AT = datetime(2025, 1, 1, tzinfo=UTC)


def remote(service: Service, **extra: Any) -> RemoteAdapter:
    """The remote adapter, created through its entry point exactly as the gateway creates it."""
    adapter = load_adapter("remote").create(service.config(**extra))
    assert isinstance(adapter, RemoteAdapter)
    return adapter


def page_shape(pages: list[RecordPage]) -> list[tuple[list[dict[str, Any]], str]]:
    return [([record_to_json(r) for r in p.records], p.next_cursor.encode()) for p in pages]


def anchor(adapter: Adapter) -> dict[str, Any]:
    result = adapter.anchor()  # type: ignore[attr-defined]  # the CSV adapter's extra: its current tree head
    assert isinstance(result, dict)
    return result


def test_describe_is_the_adapters_and_names_the_signing_key(
    signing_service: Service, local_adapter: Adapter, ledger: Ledger
) -> None:
    with remote(signing_service) as adapter:
        assert adapter.describe() == local_adapter.describe()
        signing = adapter.signing()
        assert signing is not None
        assert signing.issuer == ledger.key.controller
        assert signing.suite == "eddsa-rdfc-2022"
        assert signing.verification_method == ledger.key.verification_method


def test_pages_and_cursors_are_identical_to_the_in_process_adapter(
    signing_service: Service, local_adapter: Adapter
) -> None:
    local = list(local_adapter.records())
    with remote(signing_service) as adapter:
        pages = list(adapter.records())
    assert [len(p.records) for p in pages] == [2, 2, 1]
    assert page_shape(pages) == page_shape(local)
    # Records are equal as objects too: bytes, aware times (with microseconds), signer, proof material.
    assert [r for p in pages for r in p.records] == [r for p in local for r in p.records]
    assert pages[0].records[1].ledger_time == datetime(2024, 3, 2, 9, 30, 0, 250000, tzinfo=UTC)


def test_resuming_from_every_page_boundary_matches(signing_service: Service, local_adapter: Adapter) -> None:
    with remote(signing_service) as adapter:
        boundaries = [p.next_cursor for p in local_adapter.records()]
        for cursor in [Cursor.start(), *boundaries]:
            assert page_shape(list(adapter.records(cursor))) == page_shape(list(local_adapter.records(cursor)))
        assert list(adapter.records(boundaries[-1])) == []


def test_limit_joins_whole_adapter_pages(signing_service: Service) -> None:
    with remote(signing_service) as adapter:
        assert [len(p.records) for p in adapter.records(limit=4)] == [4, 1]
        # Pages [1,2] [3,4] [5]: 2 + 2 > 3, so the first answer is one page; the second joins [3,4] and [5].
        assert [len(p.records) for p in adapter.records(limit=3)] == [2, 3]
        assert [len(p.records) for p in adapter.records(limit=1)] == [2, 2, 1]  # at least one whole page
        resumed = list(adapter.records(Cursor((2,)), limit=10))
        assert [r.locator for p in resumed for r in p.records] == ["row/3", "row/4", "row/5"]


def test_fetch_is_identical_and_unknown_locators_raise_the_sdk_error(
    signing_service: Service, local_adapter: Adapter
) -> None:
    with remote(signing_service) as adapter:
        for locator in ("row/1", "row/4", "row/5"):
            assert adapter.fetch(locator) == local_adapter.fetch(locator)
        for bad in ("row/99", "../../../etc/passwd", "..", "é" * 300, "a%2Fb?c#d"):
            with pytest.raises(RemoteRecordNotFoundError) as caught:
                adapter.fetch(bad)
            assert isinstance(caught.value, InputError)  # what in-process adapters raise for unknown locators
            assert caught.value.status == 404
            assert caught.value.code == "REMOTE_RECORD_NOT_FOUND"
        with pytest.raises(RemoteRecordNotFoundError):
            adapter.fetch("")


def test_translations_are_identical(signing_service: Service, local_adapter: Adapter) -> None:
    records = [r for p in local_adapter.records() for r in p.records if r.kind == "record"]
    assert len(records) == 4
    with remote(signing_service) as adapter:
        for record in records:
            here, there = local_adapter.translate(record), adapter.translate(record)
            assert json.dumps(there.to_json(), sort_keys=True) == json.dumps(here.to_json(), sort_keys=True)
            assert dict(there.evidence) == dict(here.evidence)


def test_translation_errors_keep_the_sdk_code(signing_service: Service, local_adapter: Adapter) -> None:
    revocation = local_adapter.fetch("row/4")
    assert revocation.kind == "revocation"
    with pytest.raises(TranslationError) as here:
        local_adapter.translate(revocation)
    with remote(signing_service) as adapter, pytest.raises(TranslationError) as there:
        adapter.translate(revocation)
    assert there.value.code == here.value.code == "MAPPING_REVOCATION_RECORD"


def test_partner_mode_signed_credential_verifies(
    signing_service: Service, local_adapter: Adapter, ledger: Ledger
) -> None:
    record = local_adapter.fetch("row/3")  # no validUntil: still valid now, when the proof is created
    verifier = Verifier(Policy.default(), DidResolver.offline())
    with remote(signing_service) as adapter:
        signed = adapter.issue(record)
    now = datetime.now(UTC)
    assert signed["issuer"] == ledger.key.controller
    assert {k: v for k, v in signed.items() if k != "proof"} == local_adapter.translate(record).to_json()
    result = verifier.check(signed, at=now)
    # Sound, but its evidence reaches no anchor this verifier pins: never verified (issue 11).
    assert sound_but_unanchored(result), [c.to_json() for c in result.checks if c.status != "passed"]
    tampered = json.loads(json.dumps(signed))
    tampered["credentialSubject"]["invoiceNumber"] = "INV-999"
    assert verifier.check(tampered, at=now).status == "invalid"


def test_signing_refuses_a_record_the_ledger_does_not_hold(signing_service: Service, local_adapter: Adapter) -> None:
    genuine = local_adapter.fetch("row/1")
    assert isinstance(genuine.raw, bytes)
    forged = SourceRecord(
        ledger_id=genuine.ledger_id,
        ledger_kind=genuine.ledger_kind,
        locator=genuine.locator,
        raw=genuine.raw.replace(b",1200,", b",9999,"),
        media_type=genuine.media_type,
        native_signer=genuine.native_signer,
        ledger_time=genuine.ledger_time,
        ledger_height=genuine.ledger_height,
        proof_material=genuine.proof_material,
    )
    missing = SourceRecord(
        ledger_id=genuine.ledger_id,
        ledger_kind=genuine.ledger_kind,
        locator="row/77",
        raw=genuine.raw,
        media_type=genuine.media_type,
        native_signer=genuine.native_signer,
        ledger_time=genuine.ledger_time,
        ledger_height=genuine.ledger_height,
        proof_material=genuine.proof_material,
    )
    with remote(signing_service) as adapter:
        # Translation is pure: any record translates. Signing needs the ledger's own record.
        assert adapter.translate(forged).credential["credentialSubject"]["itemsShipped"][0]["itemCount"] == 9999
        for bad in (forged, missing):
            with pytest.raises(RemoteRequestError) as caught:
                adapter.issue(bad)
            assert caught.value.status == 422
            assert caught.value.code == "REMOTE_RECORD_MISMATCH"


def test_remote_evidence_check_matches_the_adapters_checker(signing_service: Service, local_adapter: Adapter) -> None:
    record = local_adapter.fetch("row/3")
    translation = local_adapter.translate(record)
    pinned = anchor(local_adapter)
    local_checker = local_adapter.evidence_checker()
    bad_digest = dict(translation.evidence, recordDigest="sha256:" + "0" * 64)
    cases = [
        (translation.evidence, pinned, "verified"),
        (bad_digest, pinned, "invalid"),
        (translation.evidence, dict(pinned, treeSize=99), "error"),
    ]
    with remote(signing_service) as adapter:
        checker = adapter.evidence_checker()
        for evidence, anchor_, expected in cases:
            here = local_checker.check(translation.credential, evidence, anchor_, at=AT)
            there = checker.check(translation.credential, evidence, anchor_, at=AT)
            assert here.status == there.status == expected
            assert [c.to_json() for c in there.checks[:-1]] == [c.to_json() for c in here.checks]
            assert there.checks[-1].name == "remote.advisory"
            assert there.checks[-1].status == "not_applicable"
        live = checker.recheck_live(translation.credential, translation.evidence, pinned, at=AT)
    assert live.status == "error"
    assert live.problems[0].code == "REMOTE_LIVE_UNSUPPORTED"  # the CSV checker has no live re-check


def test_wrong_or_missing_token_is_refused(signing_service: Service) -> None:
    for token in ("wrong-token", None):
        config = signing_service.config(token=token) if token else {"url": signing_service.url, "retries": 0}
        adapter = load_adapter("remote").create(config)
        with pytest.raises(RemoteAuthError) as caught:
            adapter.describe()
        assert caught.value.status == 401
        assert caught.value.code == "REMOTE_UNAUTHORIZED"
        health = adapter.health()
        assert health.status == "down"
        assert "REMOTE_UNAUTHORIZED" in health.detail


def test_killed_service_gives_typed_errors(csv_site: Path, ledger: Ledger, tmp_path: Path) -> None:
    service = start_service(csv_site, ledger.config, tmp_path)  # no key, no token
    slept: list[float] = []
    try:
        adapter = RemoteAdapter(service.url, retries=2, backoff=0.01, sleep=slept.append)
        record = adapter.fetch("row/1")
        assert adapter.health().status == "ok"
        with pytest.raises(RemoteRequestError) as caught:
            adapter.issue(record)
        assert caught.value.status == 409
        assert caught.value.code == "REMOTE_NOT_SIGNING"
    finally:
        service.stop()
    assert service.process.returncode is not None
    started = time.monotonic()
    with pytest.raises(RemoteUnavailableError) as caught_fetch:
        adapter.fetch("row/1")
    assert slept == [0.01, 0.02]  # two retries with doubling backoff, then the typed error
    assert "3 attempt(s)" in str(caught_fetch.value)
    with pytest.raises(RemoteUnavailableError):
        list(adapter.records())
    with pytest.raises(RemoteUnavailableError):
        adapter.translate(record)
    assert isinstance(caught_fetch.value, VcgateError)
    health = adapter.health()
    assert health.status == "down"
    result = adapter.evidence_checker().check({}, {}, {}, at=AT)
    assert result.status == "error"
    assert result.problems[0].code == "REMOTE_EVIDENCE_UNCHECKED"
    assert time.monotonic() - started < 10


class _FakeService(BaseHTTPRequestHandler):
    """A partner's service speaking another protocol version (answers /v1/describe and /v1/records only)."""

    version = "2.0.0"
    api_version = 2

    def do_GET(self) -> None:
        if self.path.startswith("/v1/describe"):
            body: dict[str, Any] = {
                "protocolVersion": self.version,
                "adapter": {
                    "id": "x",
                    "kind": "csv",
                    "ledgerId": "csv:x",
                    "version": "9",
                    "apiVersion": self.api_version,
                    "mappings": [],
                },
            }
        else:
            body = {"records": [], "nextCursor": None}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header(PROTOCOL_HEADER, self.version)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake_service() -> Iterator[tuple[str, type[_FakeService]]]:
    handler = type("Handler", (_FakeService,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # shutdown() waits for serve_forever's next poll: 0.05 s instead of the default 0.5 s per test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def test_incompatible_major_version_is_refused(fake_service: tuple[str, type[_FakeService]]) -> None:
    url, handler = fake_service
    adapter = RemoteAdapter(url, retries=0)
    with pytest.raises(IncompatibleProtocolError) as caught:
        adapter.describe()
    assert "2.0.0" in str(caught.value)
    assert PROTOCOL_VERSION in str(caught.value)
    with pytest.raises(IncompatibleProtocolError):
        list(adapter.records())
    assert adapter.health().status == "down"
    handler.version = "1.7.3"  # a newer minor version only adds optional things: accepted
    assert adapter.describe().ledger_id == "csv:x"
    handler.api_version = 1  # an adapter written against API 1 (before ADR 0010's one Check type)
    with pytest.raises(IncompatibleProtocolError) as caught_api:
        RemoteAdapter(url, retries=0).describe()
    assert "adapter API 1" in str(caught_api.value)


def test_sync_through_the_remote_adapter_writes_the_same_credentials(
    signing_service: Service, local_adapter: Adapter, csv_site: Path, tmp_path: Path
) -> None:
    config = tmp_path / "remote.json"
    config.write_text(json.dumps(signing_service.config()))
    out = tmp_path / "credentials"
    import subprocess

    done = subprocess.run(
        [*VCGATE, "adapters", "sync", "remote", "--config", str(config), "--out", str(out), "--json"],
        env=vcgate_env(csv_site),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["recordsRead"] == 5
    assert summary["credentialsWritten"] == 4
    assert summary["revocations"] == 1
    expected = {
        local_adapter.translate(r).credential_id: local_adapter.translate(r).to_json()
        for p in local_adapter.records()
        for r in p.records
        if r.kind == "record"
    }
    written = {
        json.loads(f.read_text())["id"]: json.loads(f.read_text())
        for f in out.glob("*.json")
        if f.name not in ("revocations.json", ".vcgate-sync.json")
    }
    assert written == expected
