"""The adapter service app in process (Starlette's test client over the real ASGI app, an in-memory adapter):
guards, strict parsing, problem details, and every route and answer against the published protocol document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import referencing
import referencing.jsonschema
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from sdk._helpers import INVOICE_RECORD, MemoryAdapter, invoice_mapping
from typer.testing import CliRunner

from vcgate.adapters.remote import PROTOCOL_HEADER, PROTOCOL_VERSION, protocol_document, record_to_json
from vcgate.adapters.sdk import Cursor
from vcgate.canonical_schema import VcgateError
from vcgate.gateway import KeyPair
from vcgate.gateway._adapter_server import AdapterServerSettings, create_adapter_app, protocol_routes
from vcgate.gateway.cli import app as cli_app

TOKEN = "in-process-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DOC_URI = "urn:vcgate:remote-adapter-protocol"


def memory_adapter() -> MemoryAdapter:
    adapter = MemoryAdapter(invoice_mapping(), page_size=2)
    for n in range(5):
        adapter.append(dict(INVOICE_RECORD, number=f"INV-{n}"))
    return adapter


@pytest.fixture
def client() -> Iterator[TestClient]:
    app = create_adapter_app(memory_adapter(), settings=AdapterServerSettings(token=TOKEN, max_body_bytes=4096))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def schema_validator(name: str) -> Draft202012Validator:
    """A validator for ``#/components/schemas/NAME`` of the protocol document (OAS 3.1 schemas are 2020-12)."""
    resource = referencing.Resource.from_contents(
        protocol_document(), default_specification=referencing.jsonschema.DRAFT202012
    )
    registry: referencing.Registry[Any] = referencing.Registry().with_resource(DOC_URI, resource)
    return Draft202012Validator({"$ref": f"{DOC_URI}#/components/schemas/{name}"}, registry=registry)


def assert_matches(body: Any, schema: str) -> None:
    errors = [e.message for e in schema_validator(schema).iter_errors(body)]
    assert not errors, errors


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers[PROTOCOL_HEADER] == PROTOCOL_VERSION
    body = response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"].endswith("#" + code)
    assert_matches(body, "Problem")
    return dict(body)


def test_protocol_document_is_valid_openapi_3_1() -> None:
    document = protocol_document()
    validate_openapi(document)  # raises on any violation of the OAS 3.1 schema
    assert document["openapi"] == "3.1.0"
    assert document["info"]["version"] == PROTOCOL_VERSION


def test_every_served_route_is_in_the_document_and_back() -> None:
    app = create_adapter_app(memory_adapter())
    served = protocol_routes(app)
    documented = {
        (method.upper(), path)
        for path, item in protocol_document()["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert served == documented
    assert ("GET", "/v1/records/{locator}") in served


def test_answers_match_their_documented_schemas(client: TestClient) -> None:
    describe = client.get("/v1/describe", headers=AUTH)
    assert describe.status_code == 200
    assert describe.json()["protocolVersion"] == PROTOCOL_VERSION
    assert "signing" not in describe.json()
    assert_matches(describe.json(), "Describe")
    health = client.get("/v1/health", headers=AUTH)
    assert health.json() == {"protocolVersion": PROTOCOL_VERSION, "status": "ok", "ledgerHeight": 5}
    assert_matches(health.json(), "Health")
    page = client.get("/v1/records", params={"limit": "4"}, headers=AUTH)
    assert [r["locator"] for r in page.json()["records"]] == ["entry/1", "entry/2", "entry/3", "entry/4"]
    assert page.json()["nextCursor"] == Cursor((4,)).encode()
    assert page.json()["end"] is False
    assert_matches(page.json(), "Page")
    end = client.get("/v1/records", params={"since": Cursor((5,)).encode()}, headers=AUTH)
    assert end.json() == {"records": [], "nextCursor": None, "end": True}
    assert_matches(end.json(), "Page")
    record = client.get("/v1/records/entry%2F2", headers=AUTH)
    assert record.json()["locator"] == "entry/2"
    assert_matches(record.json(), "SourceRecord")
    translated = client.post("/v1/translate", json=record.json(), headers=AUTH)
    assert translated.status_code == 200
    assert_matches(translated.json(), "Translation")
    check = client.post(
        "/v1/evidence/check",
        json={
            "credential": translated.json()["credential"],
            "evidence": translated.json()["evidence"],
            "anchor": {"digests": [translated.json()["evidence"]["recordDigest"]]},
            "at": "2025-01-01T00:00:00Z",
        },
        headers=AUTH,
    )
    assert check.json()["status"] == "verified"
    assert_matches(check.json(), "EvidenceResult")
    document = client.get("/v1/openapi.json", headers=AUTH)
    assert document.json() == protocol_document()


def test_signing_service_describes_its_key() -> None:
    from vcgate.gateway import IssuingService

    key = KeyPair.generate("ed25519")
    app = create_adapter_app(memory_adapter(), issuer=IssuingService.for_key(key))
    with TestClient(app) as c:
        body = c.get("/v1/describe").json()
    assert body["signing"] == {
        "issuer": key.controller,
        "suite": "eddsa-rdfc-2022",
        "verificationMethod": key.verification_method,
    }
    assert_matches(body, "Describe")


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": TOKEN}, {"Authorization": f"Basic {TOKEN}"}],
)
def test_every_route_needs_the_token(client: TestClient, headers: dict[str, str]) -> None:
    for method, path in [("GET", "/v1/describe"), ("GET", "/v1/records"), ("POST", "/v1/translate")]:
        response = client.request(method, path, headers=headers)
        assert_problem(response, 401, "REMOTE_UNAUTHORIZED")
        assert response.headers["www-authenticate"].startswith("Bearer")


def test_oversized_bodies_are_refused_declared_or_streamed(client: TestClient) -> None:
    big = b'{"x":"' + b"a" * 5000 + b'"}'
    response = client.post("/v1/translate", content=big, headers={**AUTH, "Content-Type": "application/json"})
    assert_problem(response, 413, "REMOTE_REQUEST_TOO_LARGE")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the guard must count while reading
        for _ in range(10):
            yield b" " * 1000

    streamed = client.post("/v1/translate", content=chunks(), headers={**AUTH, "Content-Type": "application/json"})
    assert_problem(streamed, 413, "REMOTE_REQUEST_TOO_LARGE")


@pytest.mark.parametrize(
    ("body", "code", "pointer"),
    [
        (b'{"a":1,"a":2}', "REMOTE_REQUEST_INVALID", None),
        (b'{"ledgerHeight":NaN}', "REMOTE_REQUEST_INVALID", None),
        (b"[" * 100 + b"]" * 100, "REMOTE_REQUEST_INVALID", None),
        (b"\xff\xfe", "REMOTE_REQUEST_INVALID", None),
        (b"[]", "REMOTE_REQUEST_INVALID", ""),
    ],
)
def test_malformed_json_is_refused(client: TestClient, body: bytes, code: str, pointer: str | None) -> None:
    response = client.post("/v1/translate", content=body, headers={**AUTH, "Content-Type": "application/json"})
    problem = assert_problem(response, 400, code)
    if pointer is not None:
        assert problem.get("pointer", "") == pointer


def good_record(client: TestClient) -> dict[str, Any]:
    return dict(client.get("/v1/records/entry%2F1", headers=AUTH).json())


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"extra": 1}, "/extra"),
        ({"ledgerTime": "2024-05-17T12:30:45+00:00"}, "/ledgerTime"),
        ({"ledgerTime": "2024-05-17T12:30:45.1234567Z"}, "/ledgerTime"),
        ({"ledgerHeight": True}, "/ledgerHeight"),
        ({"ledgerHeight": -1}, "/ledgerHeight"),
        ({"raw": 5}, "/raw"),
        ({"raw": "QR"}, "/raw"),  # 'QQ' is the canonical base64url of b'A'
        ({"kind": "delete"}, "/kind"),
        ({"nativeSigner": []}, "/nativeSigner"),
    ],
)
def test_records_are_parsed_strictly(client: TestClient, change: dict[str, Any], pointer: str) -> None:
    record = dict(good_record(client), **change)
    if "raw" in change and isinstance(change["raw"], str):
        record["mediaType"] = "text/csv"
    response = client.post("/v1/translate", json=record, headers=AUTH)
    problem = assert_problem(response, 400, "REMOTE_REQUEST_INVALID")
    assert problem["pointer"] == pointer


def test_missing_member_and_media_type(client: TestClient) -> None:
    record = good_record(client)
    del record["locator"]
    assert (
        "locator"
        in assert_problem(client.post("/v1/translate", json=record, headers=AUTH), 400, "REMOTE_REQUEST_INVALID")[
            "detail"
        ]
    )
    plain = client.post(
        "/v1/translate", content=json.dumps(good_record(client)), headers={**AUTH, "Content-Type": "text/plain"}
    )
    assert_problem(plain, 415, "REMOTE_UNSUPPORTED_MEDIA_TYPE")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"since": "nonsense"}, "REMOTE_CURSOR_INVALID"),
        ({"since": "c1.!!"}, "REMOTE_CURSOR_INVALID"),
        ({"since": Cursor(("block", "x")).encode()}, "REMOTE_CURSOR_INVALID"),  # another adapter's position
        ({"limit": "0"}, "REMOTE_REQUEST_INVALID"),
        ({"limit": "10001"}, "REMOTE_REQUEST_INVALID"),
        ({"limit": "-3"}, "REMOTE_REQUEST_INVALID"),
        ({"page": "2"}, "REMOTE_REQUEST_INVALID"),
    ],
)
def test_bad_query_parameters(client: TestClient, params: dict[str, str], code: str) -> None:
    assert_problem(client.get("/v1/records", params=params, headers=AUTH), 400, code)


def test_repeated_query_parameter_and_bad_sign_flag(client: TestClient) -> None:
    assert_problem(client.get("/v1/records?limit=2&limit=3", headers=AUTH), 400, "REMOTE_REQUEST_INVALID")
    response = client.post("/v1/translate?sign=yes", json=good_record(client), headers=AUTH)
    assert_problem(response, 400, "REMOTE_REQUEST_INVALID")
    assert_problem(
        client.post("/v1/translate?sign=true", json=good_record(client), headers=AUTH), 409, "REMOTE_NOT_SIGNING"
    )


def test_unknown_routes_methods_and_records(client: TestClient) -> None:
    assert_problem(client.get("/v2/describe", headers=AUTH), 404, "REMOTE_NOT_FOUND")
    assert_problem(client.delete("/v1/describe", headers=AUTH), 405, "REMOTE_METHOD_NOT_ALLOWED")
    assert_problem(client.get("/v1/records/entry%2F99", headers=AUTH), 404, "REMOTE_RECORD_NOT_FOUND")


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        ({"extra": 1}, "/extra"),
        ({"at": "2025-01-01T00:00:00+01:00"}, "/at"),
        ({"anchor": []}, "/anchor"),
        ({"mode": "psychic"}, "/mode"),
    ],
)
def test_evidence_check_requests_are_parsed_strictly(client: TestClient, change: dict[str, Any], pointer: str) -> None:
    body = {"credential": {}, "evidence": {}, "anchor": {}, "at": "2025-01-01T00:00:00Z", **change}
    problem = assert_problem(client.post("/v1/evidence/check", json=body, headers=AUTH), 400, "REMOTE_REQUEST_INVALID")
    assert problem["pointer"] == pointer


class _BrokenAdapter(MemoryAdapter):
    def fetch(self, locator: str) -> Any:
        if locator == "bug":
            raise RuntimeError("secret internal state /etc/shadow")
        raise VcgateError("ledger node unreachable")

    def evidence_checker(self) -> Any:
        class Raising:
            def check(self, *args: Any, **kwargs: Any) -> Any:
                raise VcgateError("checker blew up")

        return Raising()


def test_adapter_failures_become_problems_without_leaking_internals() -> None:
    app = create_adapter_app(_BrokenAdapter(invoice_mapping()))
    with TestClient(app, raise_server_exceptions=False) as c:
        bug = assert_problem(c.get("/v1/records/bug"), 500, "REMOTE_INTERNAL_ERROR")
        assert "shadow" not in json.dumps(bug)
        down = assert_problem(c.get("/v1/records/entry%2F1"), 503, "REMOTE_LEDGER_UNAVAILABLE")
        assert "unreachable" in down["detail"]
        result = c.post(
            "/v1/evidence/check", json={"credential": {}, "evidence": {}, "anchor": {}, "at": "2025-01-01T00:00:00Z"}
        )
        assert result.status_code == 200
        assert result.json()["status"] == "error"
        assert result.json()["checks"][0]["problems"][0]["code"] == "REMOTE_CHECKER_FAILED"


def test_translation_failure_carries_the_sdk_problem(client: TestClient) -> None:
    record = good_record(client)
    record["raw"] = {k: v for k, v in record["raw"].items() if k != "number"}  # the mapping's invoiceNumber path
    problem = assert_problem(client.post("/v1/translate", json=record, headers=AUTH), 422, "REMOTE_TRANSLATION_FAILED")
    inner = problem["translationProblem"]
    assert inner["code"].startswith("MAPPING_")
    assert inner["pointer"] == "/number"


def test_same_record_round_trips_through_the_service(client: TestClient) -> None:
    adapter = memory_adapter()
    for _, record in adapter.entries:
        served = client.get("/v1/records/" + record.locator.replace("/", "%2F"), headers=AUTH).json()
        assert served == record_to_json(record)


# -- the CLI ------------------------------------------------------------------------------------------------------

runner = CliRunner()


def test_serve_refuses_a_public_address_without_a_token(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VCGATE_ADAPTER_TOKEN", raising=False)
    config = tmp_path / "c.yaml"
    config.write_text("url: http://127.0.0.1:1\n")
    result = runner.invoke(cli_app, ["adapters", "serve", "fabric", "--config", str(config), "--host", "0.0.0.0"])
    assert result.exit_code == 64
    assert "without a bearer token" in result.output


def test_serve_usage_errors(tmp_path: Any) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("url: http://127.0.0.1:1\n")
    unknown = runner.invoke(cli_app, ["adapters", "serve", "no-such-adapter", "--config", str(config)])
    assert unknown.exit_code == 64
    assert "no adapter named 'no-such-adapter'" in unknown.output
    itself = runner.invoke(cli_app, ["adapters", "serve", "remote", "--config", str(config)])
    assert itself.exit_code == 64
    assert "client" in itself.output
    empty = tmp_path / "token"
    empty.write_text("\n")
    no_token = runner.invoke(
        cli_app, ["adapters", "serve", "fabric", "--config", str(config), "--token-file", str(empty)]
    )
    assert no_token.exit_code == 64
    assert "is empty" in no_token.output
