"""schemathesis against the adapter service, generated from the published protocol document: no 5xx on any
generated input, and every answer matches the status codes, media types and schemas the document declares."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from sdk._helpers import INVOICE_RECORD, MemoryAdapter, invoice_mapping

from vcgate.gateway._adapter_server import create_adapter_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _app() -> object:
    adapter = MemoryAdapter(invoice_mapping(), page_size=2)
    for n in range(3):
        adapter.append(dict(INVOICE_RECORD, number=f"INV-{n}"))
    return create_adapter_app(adapter)


schema = schemathesis.openapi.from_asgi("/v1/openapi.json", _app())


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_generated_requests_follow_the_protocol(case: schemathesis.Case) -> None:
    response = case.call()
    case.validate_response(response, checks=CHECKS)
