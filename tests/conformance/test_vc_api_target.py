"""The VC-API cases and the vectors against the gateway's HTTP API: a real uvicorn server on 127.0.0.1, reached
with a client id and secret through POST /oauth2/token (and, once, with a bearer token given directly)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from vcgate.conformance_tests import Settings, catalogue
from vcgate.conformance_tests._vc_api import VcApiClient, VcApiError
from vcgate.gateway import KeyPair
from vcgate.gateway.api import ApiSettings, NewClient, create_app

from .conftest import run

pytestmark = pytest.mark.server
SCOPES = ("verify:credentials", "issue:credentials", "read:credentials", "update:credentials")


@dataclass
class Server:
    url: str
    client: NewClient


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The gateway's API in a uvicorn thread on a free loopback port; stopped at the end of the module."""
    port = _free_port()
    settings = ApiSettings(
        key=KeyPair.generate("ed25519"),
        public_url=f"http://127.0.0.1:{port}",
        database_url=f"sqlite:///{tmp_path_factory.mktemp('gateway') / 'gateway.sqlite'}",
        resolve_remote_dids=False,
        unsafe_allow_http_localhost=True,
        rate_limit_per_second=1000.0,
        rate_limit_burst=5000,
    )
    app = create_app(settings)
    uv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert thread.is_alive(), "uvicorn exited before it started"
        assert time.monotonic() < deadline, "uvicorn did not start within 20 s"
        time.sleep(0.02)
    client = app.state.ctx.clients.add(KeyPair.generate("ed25519").controller, SCOPES, name="conformance")
    try:
        yield Server(settings.public_url, client)
    finally:
        uv.should_exit = True
        thread.join(timeout=10)
        app.state.ctx.db.close()


def test_client_credentials_grant_gives_a_working_token(server: Server) -> None:
    settings = Settings(client_id=server.client.info.client_id, client_secret=server.client.secret)
    client = VcApiClient(server.url, settings)
    try:
        token = client.token()
        assert token is not None
        assert token.count(".") == 2
        assert client.issuer() == client.request("GET", "/did.json").json()["id"]
        assert client.request("POST", "/credentials/verify", body={}).status_code == 422
        wrong = VcApiClient(server.url, Settings(client_id=server.client.info.client_id, client_secret="wrong"))
        with pytest.raises(VcApiError, match="POST /oauth2/token answered 401"):
            wrong.token()
        wrong.close()
    finally:
        client.close()


def test_gateway_api_passes_every_vc_api_case(server: Server, tmp_path: Path) -> None:
    """The whole suite for a VC-API target, authenticated with a bearer token given directly (--token)."""
    response = httpx.post(
        server.url + "/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(server.client.info.client_id, server.client.secret),
    )
    assert response.status_code == 200, response.text
    result = run(server.url, token=response.json()["access_token"], report_dir=tmp_path)
    assert result.report is not None
    failed = {c.id: c.reason for c in result.report.cases if c.outcome != "passed"}
    assert failed == {}
    assert result.exit_code == 0
    assert {c.id for c in result.report.cases} == {i for i, c in catalogue().items() if c.applies_to("vc-api")}


def test_without_credentials_every_protected_case_fails(server: Server) -> None:
    """No token: the endpoint refuses (401), so every case that needs access fails. Two pass: the forged-token case
    (it expects the refusal) and the oversized input (refused with 413 before authentication)."""
    result = run(server.url)
    assert result.report is not None
    assert result.exit_code == 1
    passed = {c.id for c in result.report.cases if c.outcome == "passed"}
    assert passed == {"API-007", "SEC-102"}
