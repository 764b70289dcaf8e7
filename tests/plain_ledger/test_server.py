"""A real `vcgate plain-ledger serve` (uvicorn on 127.0.0.1): appends, proofs, and RFC 9457 problems for bad input."""

from __future__ import annotations

import base64
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from vcgate.adapters.plain_ledger import (
    MAX_ENTRY_SIZE,
    LedgerClientError,
    LogKey,
    PlainLedgerClient,
    PlainLedgerStore,
    SubmitterKey,
    check_consistency,
    check_inclusion,
)

from .conftest import LedgerServer

pytestmark = pytest.mark.server


def signed(key: SubmitterKey, record_id: str, **record: Any) -> dict[str, Any]:
    return key.sign_entry({"kind": "record", "recordId": record_id, "record": record})


def test_append_read_and_prove_over_http(
    shared_ledger: tuple[LedgerServer, LogKey], submitter: SubmitterKey, p256_submitter: SubmitterKey
) -> None:
    server, log_key = shared_ledger
    pinned = log_key.verifier.to_vkey()  # pinned out of band, never taken from the server
    with PlainLedgerClient(server.url) as client:
        assert client.info()["verifierKey"] == pinned
        assert client.info()["ledgerId"] == log_key.ledger_id
        base = int(client.checkpoint().split("\n")[1])
        r0 = client.append(signed(submitter, "inv-1", gtin="09506000134352"))
        r1 = client.append(signed(p256_submitter, "lic-7", territory="US"))
        assert (r0["index"], r1["index"]) == (base, base + 1)
        first_note = client.checkpoint()
        r2 = client.append(submitter.sign_entry({"kind": "revocation", "supersedes": "inv-1"}))
        assert client.get(base).revoked_by == r2["index"] == base + 2
        assert client.get_record("lic-7").index == base + 1
        note = client.checkpoint()
        for index in range(base, base + 3):
            entry = client.get(index)
            result = check_inclusion(entry.leaf, client.inclusion_proof(index), note, pinned)
            assert result.ok, result.to_json()
        assert check_consistency(first_note, note, client.consistency_proof(base + 2, base + 3), pinned).ok
        assert client.checkpoint_at(base + 2) == first_note
        entries, following = client.list_entries(base, 2)
        assert [e.index for e in entries] == [base, base + 1]
        assert following == base + 2
    response = httpx.post(server.url + "/entries", json=signed(submitter, "inv-2"))
    assert response.status_code == 201
    assert response.headers["location"] == f"/entries/{base + 3}"
    checkpoint = httpx.get(server.url + "/checkpoint")
    assert checkpoint.headers["content-type"].startswith("text/plain")
    assert checkpoint.text.split("\n")[:2] == [log_key.origin, str(base + 4)]


def _bad_requests(submitter: SubmitterKey) -> list[tuple[str, dict[str, Any], int, str]]:
    good = signed(submitter, "bad-1")
    other = SubmitterKey.generate("Ed25519")
    unsigned = {k: v for k, v in good.items() if k != "signature"}
    wrong_key = {**good, "signature": signed(other, "bad-1")["signature"]}
    oversized = signed(submitter, "big", blob="x" * MAX_ENTRY_SIZE)
    return [
        ("unsigned", {"json": unsigned}, 422, "PLAIN_LEDGER_ENTRY_UNSIGNED"),
        ("wrong key", {"json": wrong_key}, 422, "PLAIN_LEDGER_SIGNATURE_INVALID"),
        (
            "did:key of another key",
            {"json": {**good, "signer": {**good["signer"], "did": other.did}}},
            422,
            "PLAIN_LEDGER_SIGNER_DID_MISMATCH",
        ),
        ("oversized", {"json": oversized}, 413, "PLAIN_LEDGER_ENTRY_TOO_LARGE"),
        (
            "oversized, no length header",
            {
                "content": iter([b"{" + b" " * (MAX_ENTRY_SIZE + 10) + b"}"]),
                "headers": {"content-type": "application/json"},
            },
            413,
            "PLAIN_LEDGER_ENTRY_TOO_LARGE",
        ),
        (
            "malformed",
            {"content": b'{"kind": ', "headers": {"content-type": "application/json"}},
            400,
            "PLAIN_LEDGER_ENTRY_MALFORMED",
        ),
        (
            "duplicate member",
            {"content": b'{"kind":"record","kind":"record"}', "headers": {"content-type": "application/json"}},
            400,
            "PLAIN_LEDGER_ENTRY_MALFORMED",
        ),
        (
            "not JSON media type",
            {"content": json.dumps(good).encode(), "headers": {"content-type": "text/plain"}},
            415,
            "PLAIN_LEDGER_UNSUPPORTED_MEDIA_TYPE",
        ),
        ("unknown member", {"json": {**good, "note": "x"}}, 422, "PLAIN_LEDGER_ENTRY_INVALID"),
        ("array", {"json": [good]}, 422, "PLAIN_LEDGER_ENTRY_INVALID"),
    ]


def test_bad_input_gets_a_problem_and_nothing_is_stored(
    shared_ledger: tuple[LedgerServer, LogKey], submitter: SubmitterKey
) -> None:
    server, _ = shared_ledger
    httpx.post(server.url + "/entries", json=signed(submitter, "dup")).raise_for_status()
    before = httpx.get(server.url + "/checkpoint").text
    cases = [
        *_bad_requests(submitter),
        ("duplicate record id", {"json": signed(submitter, "dup")}, 409, "PLAIN_LEDGER_DUPLICATE_RECORD_ID"),
        (
            "revoke unknown",
            {"json": submitter.sign_entry({"kind": "revocation", "supersedes": 40})},
            422,
            "PLAIN_LEDGER_SUPERSEDED_NOT_FOUND",
        ),
        (
            "revoke someone else's",
            {"json": SubmitterKey.generate("P-256").sign_entry({"kind": "revocation", "supersedes": "dup"})},
            403,
            "PLAIN_LEDGER_SUPERSEDE_FORBIDDEN",
        ),
    ]
    for name, request, status, code in cases:
        response = httpx.post(server.url + "/entries", timeout=10, **request)
        assert response.status_code == status, (name, response.text)
        assert response.headers["content-type"] == "application/problem+json", name
        body = response.json()
        assert (body["code"], body["status"]) == (code, status), name
        assert body["type"].endswith("#" + code), name
        assert body["title"], name
    assert httpx.get(server.url + "/checkpoint").text == before
    assert httpx.get(server.url + "/health").json()["treeSize"] == int(before.split("\n")[1])


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/entries/100000", 404, "PLAIN_LEDGER_NOT_FOUND"),
        ("/entries/abc", 400, "PLAIN_LEDGER_BAD_PARAMETER"),
        ("/entries?limit=5000", 400, "PLAIN_LEDGER_BAD_PARAMETER"),
        ("/proof/inclusion?index=100000", 400, "PLAIN_LEDGER_BAD_RANGE"),
        ("/proof/inclusion", 400, "PLAIN_LEDGER_BAD_PARAMETER"),
        ("/proof/consistency?first=2&second=1", 400, "PLAIN_LEDGER_BAD_RANGE"),
        ("/checkpoints/100000", 404, "PLAIN_LEDGER_NOT_FOUND"),
        ("/records/none", 404, "PLAIN_LEDGER_NOT_FOUND"),
        ("/no/such/route", 404, "PLAIN_LEDGER_NOT_FOUND"),
    ],
)
def test_bad_reads_get_problems(shared_ledger: tuple[LedgerServer, LogKey], path: str, status: int, code: str) -> None:
    server, _ = shared_ledger
    response = httpx.get(server.url + path)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def test_client_errors_carry_the_problem(shared_ledger: tuple[LedgerServer, LogKey]) -> None:
    server, _ = shared_ledger
    with PlainLedgerClient(server.url) as client, pytest.raises(LedgerClientError) as caught:
        client.get(100000)
    assert caught.value.status == 404
    assert caught.value.problem is not None
    assert caught.value.problem.code == "PLAIN_LEDGER_NOT_FOUND"
    with PlainLedgerClient("http://127.0.0.1:9", timeout=1) as client, pytest.raises(LedgerClientError) as caught:
        client.checkpoint()
    assert caught.value.status is None
    assert "cannot reach" in str(caught.value)


def test_concurrent_appends_are_all_acknowledged_and_durable(
    shared_ledger: tuple[LedgerServer, LogKey], submitter: SubmitterKey
) -> None:
    server, _log_key = shared_ledger
    base = httpx.get(server.url + "/health").json()["treeSize"]
    entries = [signed(submitter, f"c{i}", i=i) for i in range(120)]
    with httpx.Client(base_url=server.url, timeout=30) as http, ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(lambda e: http.post("/entries", json=e), entries))
    assert all(r.status_code == 201 for r in responses)
    receipts = [r.json() for r in responses]
    assert sorted(r["index"] for r in receipts) == list(range(base, base + 120))
    for r in receipts:
        assert r["treeSize"] > r["index"]
    # read the database directly (WAL lets a reader in while the server runs): every receipt is there
    with PlainLedgerStore.open(server.db) as store:
        assert store.audit().size == base + 120
        for r in receipts:
            assert store.get(r["index"]).leaf_hash == base64.b64decode(r["leafHash"])


def test_batch_endpoint_reports_per_entry(shared_ledger: tuple[LedgerServer, LogKey], submitter: SubmitterKey) -> None:
    server, _ = shared_ledger
    base = httpx.get(server.url + "/health").json()["treeSize"]
    good = [signed(submitter, f"b{i}") for i in range(3)]
    bad = {**good[0], "recordId": "tampered"}
    with PlainLedgerClient(server.url) as client:
        results = client.append_batch([good[0], bad, good[1], good[0], good[2]])
    assert [r.get("index") for r in results] == [base, None, base + 1, None, base + 2]
    assert results[1]["problem"]["code"] == "PLAIN_LEDGER_SIGNATURE_INVALID"
    assert results[3]["problem"]["code"] == "PLAIN_LEDGER_DUPLICATE_RECORD_ID"
    response = httpx.post(server.url + "/entries/batch", json=[])
    assert response.status_code == 400
    assert response.json()["code"] == "PLAIN_LEDGER_BAD_PARAMETER"
