"""HttpStatusListFetcher against a real HTTP server on 127.0.0.1 (plain http through the unsafe localhost
switch)."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from vcgate.gateway import (
    DidResolver,
    HttpStatusListFetcher,
    KeyPair,
    Policy,
    StatusList,
    StatusListChecker,
    StatusListFetchError,
    Verifier,
    sign,
    sign_vc_jwt,
)

from .conftest import AT, ISSUED, credential

pytestmark = pytest.mark.server


@dataclass
class Server:
    port: int = 0
    routes: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def publish(self, path: str, doc: Any, status: int = 200) -> None:
        self.routes[path] = (status, doc if isinstance(doc, bytes) else json.dumps(doc).encode())


@pytest.fixture
def server() -> Iterator[Server]:
    state = Server()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits[self.path] += 1
            status, body = state.routes.get(self.path, (404, b"{}"))
            self.send_response(status)
            self.send_header("Content-Type", "application/vc+ld+json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _fetcher(clock: Clock | None = None, **kw: Any) -> HttpStatusListFetcher:
    return HttpStatusListFetcher(
        httpx.Client(timeout=5.0), unsafe_allow_http_localhost=True, clock=clock or time.time, **kw
    )


def test_revocation_served_over_http(server: Server) -> None:
    key = KeyPair.generate()
    url = server.url("/status/1")
    sl = StatusList.create(url)

    def publish() -> None:
        server.publish("/status/1", sign(sl.to_credential(key.controller, "revocation", ISSUED), key, created=ISSUED))

    publish()
    vc = sign(credential(key.controller, sl.entry(31337, "revocation")), key, created=ISSUED)
    clock = Clock()
    fetcher = _fetcher(clock)
    verifier = Verifier(Policy.default(), DidResolver.offline(), status_checker=StatusListChecker(fetcher))
    assert verifier.check(vc, at=AT).status == "verified"

    sl.set(31337)
    publish()
    # Within the list's ttl (default 300 s) the cached copy is used: still verified, no new request.
    clock.now += 299
    assert verifier.check(vc, at=AT).status == "verified"
    assert server.hits["/status/1"] == 1
    clock.now += 2
    result = verifier.check(vc, at=AT)
    assert [p.code for p in result.problems] == ["STATUS_REVOKED"]
    assert server.hits["/status/1"] == 2


def test_ttl_from_the_list_is_honoured(server: Server) -> None:
    key = KeyPair.generate()
    sl = StatusList.create(server.url("/status/ttl"))
    server.publish(
        "/status/ttl",
        sign(sl.to_credential(key.controller, "revocation", ISSUED, ttl_ms=10_000), key, created=ISSUED),
    )
    clock = Clock()
    fetcher = _fetcher(clock)
    fetcher.fetch(sl.url)
    clock.now += 9.5
    fetcher.fetch(sl.url)
    assert (server.hits["/status/ttl"], fetcher.requests) == (1, 1)
    clock.now += 1
    fetcher.fetch(sl.url)
    assert (server.hits["/status/ttl"], fetcher.requests) == (2, 2)


def test_ttl_of_a_vc_jwt_list_is_honoured(server: Server) -> None:
    key = KeyPair.generate()
    sl = StatusList.create(server.url("/status/jwt"))
    server.publish(
        "/status/jwt", sign_vc_jwt(sl.to_credential(key.controller, "revocation", ISSUED, ttl_ms=5_000), key).encode()
    )
    clock = Clock()
    fetcher = _fetcher(clock)
    fetcher.fetch(sl.url)
    clock.now += 4
    fetcher.fetch(sl.url)
    assert server.hits["/status/jwt"] == 1
    clock.now += 2
    fetcher.fetch(sl.url)
    assert server.hits["/status/jwt"] == 2


def test_valid_until_bounds_the_cache(server: Server) -> None:
    key = KeyPair.generate()
    clock = Clock()
    until = datetime.fromtimestamp(clock.now, UTC).replace(microsecond=0) + timedelta(seconds=30)
    sl = StatusList.create(server.url("/status/until"))
    server.publish(
        "/status/until",
        sign(sl.to_credential(key.controller, "revocation", ISSUED, valid_until=until), key, created=ISSUED),
    )
    fetcher = _fetcher(clock)
    fetcher.fetch(sl.url)
    clock.now += 25
    fetcher.fetch(sl.url)
    assert server.hits["/status/until"] == 1
    clock.now += 10  # past validUntil, well inside the default 300 s
    fetcher.fetch(sl.url)
    assert server.hits["/status/until"] == 2


def test_plain_http_refused_without_unsafe_switch(server: Server) -> None:
    server.publish("/status/1", {"any": "thing"})
    with pytest.raises(StatusListFetchError, match="plain http is refused"):
        HttpStatusListFetcher(httpx.Client(timeout=5.0)).fetch(server.url("/status/1"))
    assert server.hits["/status/1"] == 0


@pytest.mark.parametrize("url", ["http://example.com/status/1", "ftp://example.com/status/1", "/status/1"])
def test_only_https_urls_are_fetched(url: str) -> None:
    with pytest.raises(StatusListFetchError, match="only https"):
        HttpStatusListFetcher(httpx.Client(timeout=5.0), unsafe_allow_http_localhost=True).fetch(url)


def test_http_error_and_size_limit(server: Server) -> None:
    server.publish("/gone", {"error": "gone"}, status=410)
    server.publish("/huge", b"x" * 20_000)
    fetcher = _fetcher(max_bytes=10_000)
    with pytest.raises(StatusListFetchError, match="HTTP 410"):
        fetcher.fetch(server.url("/gone"))
    with pytest.raises(StatusListFetchError, match="larger than 10000 bytes"):
        fetcher.fetch(server.url("/huge"))


def test_unreachable_server_is_status_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    key = KeyPair.generate()
    sl = StatusList.create(f"http://127.0.0.1:{port}/status/1")
    vc = sign(credential(key.controller, sl.entry(1, "revocation")), key, created=ISSUED)
    verifier = Verifier(Policy.default(), DidResolver.offline(), status_checker=StatusListChecker(_fetcher()))
    result = verifier.check(vc, at=AT)
    assert result.status == "error"
    assert [p.code for p in result.problems] == ["STATUS_UNREACHABLE"]
    assert "ConnectError" in result.problems[0].detail
