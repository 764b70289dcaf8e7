"""The JSON-RPC client: node down, rate limits and retries, JSON-RPC errors (a tiny local HTTP server plays the
misbehaving provider; anvil plays the healthy one)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from vcgate.adapters.ethereum import JsonRpcClient, LedgerUnavailableError, RpcResponseError
from vcgate.canonical_schema import VcgateError

from .conftest import AnvilNode


class _Provider(BaseHTTPRequestHandler):
    """Answers from a script: each entry is (HTTP status, headers, JSON body) for one request."""

    script: ClassVar[list[tuple[int, dict[str, str], Any]]] = []
    seen: ClassVar[list[Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        type(self).seen.append(json.loads(self.rfile.read(length)))
        status, headers, body = type(self).script.pop(0)
        payload = json.dumps(body).encode()
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def provider() -> Iterator[tuple[str, type[_Provider]]]:
    handler = type("Provider", (_Provider,), {"script": [], "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # shutdown() waits for serve_forever's next poll: 0.05 s instead of the default 0.5 s per test.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v3/SECRET-API-KEY", handler
    finally:
        server.shutdown()
        server.server_close()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens here once the socket is closed


def test_node_down_is_ledger_unavailable_after_retries() -> None:
    waits: list[float] = []
    client = JsonRpcClient(f"http://127.0.0.1:{_closed_port()}", retries=2, backoff=0.5, sleep=waits.append)
    with pytest.raises(LedgerUnavailableError, match=r"connection failed .* after 3 attempts") as caught:
        client.chain_id()
    assert isinstance(caught.value, VcgateError)
    assert waits == [0.5, 1.0]  # exponential backoff between the three attempts


@pytest.mark.server
def test_rate_limit_is_retried_honouring_retry_after(provider: tuple[str, type[_Provider]]) -> None:
    url, handler = provider
    handler.script = [
        (429, {"retry-after": "2"}, {"error": "slow down"}),
        (200, {}, {"jsonrpc": "2.0", "id": 2, "error": {"code": -32005, "message": "limit exceeded"}}),
        (200, {}, {"jsonrpc": "2.0", "id": 3, "result": "0x7a69"}),
    ]
    waits: list[float] = []
    client = JsonRpcClient(url, retries=3, backoff=0.1, sleep=waits.append)
    assert client.chain_id() == 31337
    assert waits == [2.0, 0.2]
    assert [r["method"] for r in handler.seen] == ["eth_chainId"] * 3


@pytest.mark.server
def test_persistent_rate_limit_becomes_ledger_unavailable_and_hides_the_key(
    provider: tuple[str, type[_Provider]],
) -> None:
    url, handler = provider
    handler.script = [(429, {}, {})] * 2
    client = JsonRpcClient(url, retries=1, sleep=lambda _: None)
    with pytest.raises(LedgerUnavailableError, match="HTTP 429 after 2 attempts") as caught:
        client.block_number()
    assert "SECRET-API-KEY" not in str(caught.value)


@pytest.mark.server
def test_json_rpc_error_is_not_retried(provider: tuple[str, type[_Provider]]) -> None:
    url, handler = provider
    handler.script = [(200, {}, {"jsonrpc": "2.0", "id": 1, "error": {"code": -32601, "message": "nope"}})]
    client = JsonRpcClient(url, retries=3, sleep=lambda _: pytest.fail("must not retry"))
    with pytest.raises(RpcResponseError, match="JSON-RPC code -32601") as caught:
        client.call("eth_getBlockReceipts", ["latest"])
    assert caught.value.code == -32601


@pytest.mark.server
def test_non_json_answer_is_rpc_response_error(provider: tuple[str, type[_Provider]]) -> None:
    url, handler = provider
    handler.script = [(200, {}, "not an object")]
    with pytest.raises(RpcResponseError, match="not a JSON-RPC object"):
        JsonRpcClient(url).call("eth_chainId")


@pytest.mark.server
def test_batch_against_anvil(anvil: AnvilNode) -> None:
    with JsonRpcClient(anvil.url) as client:
        chain_id, number = client.batch([("eth_chainId", []), ("eth_blockNumber", [])])
        assert int(chain_id, 16) == 31337
        assert int(number, 16) == 0
        with pytest.raises(RpcResponseError):
            client.batch([("eth_chainId", []), ("no_such_method", [])])
