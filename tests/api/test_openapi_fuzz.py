"""schemathesis against the live server's published ``/openapi.json``: no 5xx on any generated input, and every
response matches the status codes, media types and schemas the document declares. Bounded (few examples per
operation) to keep the suite fast."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.schemas import BaseSchema

from .conftest import Gateway

pytestmark = pytest.mark.server

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="session")
def api_schema(gateway: Gateway) -> BaseSchema:
    return schemathesis.openapi.from_url(gateway.url + "/openapi.json")


@pytest.fixture(scope="session")
def admin_headers(gateway: Gateway) -> dict[str, str]:
    # An admin token, so generated requests get past authentication into the request handling itself.
    return gateway.auth(gateway.client("did:web:customs.example", ["admin"]))


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_generated_requests_never_fail_the_server(case: schemathesis.Case, admin_headers: dict[str, str]) -> None:
    response = case.call(headers=admin_headers, timeout=30)
    case.validate_response(response, checks=CHECKS)


@schema.parametrize()
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_generated_requests_without_a_token(case: schemathesis.Case) -> None:
    response = case.call(timeout=30)
    case.validate_response(response, checks=CHECKS)
    if case.operation.path not in (
        "/oauth2/token",
        "/did.json",
        "/.well-known/did.json",
        "/health",
        "/status/{list_id}",
        "/openapi.json",
    ):
        assert response.status_code in (401, 404, 405), response.text
