"""The adapter under test as a served endpoint (the remote adapter protocol over HTTP on 127.0.0.1).

A ``remote`` target already is one: the cases talk to its ``url``. Any other adapter is served by the suite itself,
exactly as ``vcgate adapters serve`` serves it, so the cases see what a gateway sees through the protocol: empty
pages, rewind pages and refused records as wire answers, not as Python objects.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

import httpx

from vcgate.adapters.remote import RemoteAdapter
from vcgate.adapters.sdk import Adapter, Cursor

from ._targets import ConformanceConfigError

#: Answers read at most when following a served stream (a service that never says ``end`` cannot loop forever).
MAX_ANSWERS: Final = 10_000
_START_TIMEOUT: Final = 30.0


@dataclass(frozen=True, slots=True)
class WireAnswer:
    """One ``GET /v1/records`` answer: the ``since`` it was asked for, the HTTP status and the JSON body."""

    since: str | None
    status: int
    body: Any

    @property
    def is_page(self) -> bool:
        """Whether the answer is a JSON object with a ``records`` array (a page, well-formed or not)."""
        return self.status == 200 and isinstance(self.body, dict) and isinstance(self.body.get("records"), list)

    @property
    def records(self) -> list[Any]:
        """The page's records (empty for anything but a page)."""
        return list(self.body["records"]) if self.is_page else []

    @property
    def next_cursor(self) -> str | None:
        """The page's ``nextCursor`` token (``None`` when null or absent)."""
        value = self.body.get("nextCursor") if self.is_page else None
        return value if isinstance(value, str) else None

    @property
    def is_rewind(self) -> bool:
        """Whether the page reports a rewind (it carries ``keepThrough``)."""
        return self.is_page and "keepThrough" in self.body

    @property
    def ends(self) -> bool:
        """Whether a client stops after this answer: ``end: true``, or (protocol 1.0) a null ``nextCursor``."""
        if not self.is_page:
            return True
        end = self.body.get("end")
        return end is True or (end is None and self.body.get("nextCursor") is None)


class ServedAdapter:
    """An endpoint speaking the remote adapter protocol: its base URL, a raw HTTP client and a protocol client."""

    def __init__(self, url: str, token: str | None = None, *, server: Any = None, thread: Any = None) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self._server = server
        self._thread = thread
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=60.0, follow_redirects=False)

    @classmethod
    def for_remote_target(cls, config: Mapping[str, Any]) -> ServedAdapter:
        """The endpoint a ``remote`` target's configuration names (``url``, ``token``)."""
        url = config.get("url")
        if not isinstance(url, str) or not url:
            raise ConformanceConfigError("a remote adapter target needs 'url' in its configuration")
        token = config.get("token")
        return cls(url, token if isinstance(token, str) and token else None)

    @classmethod
    def serve(cls, adapter: Adapter) -> ServedAdapter:
        """Serve ``adapter`` with vcgate's adapter service (uvicorn on 127.0.0.1, a free port, a daemon thread)."""
        import uvicorn

        from vcgate.gateway._adapter_server import create_adapter_app

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        config = uvicorn.Config(create_adapter_app(adapter), host="127.0.0.1", port=port, log_level="error")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="conformance-adapter-service", daemon=True)
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise ConformanceConfigError(f"the suite could not serve the adapter on 127.0.0.1:{port}")
            time.sleep(0.02)
        return cls(f"http://127.0.0.1:{port}", server=server, thread=thread)

    def client(self) -> RemoteAdapter:
        """A protocol client for the endpoint (no retries: the suite judges the first answer)."""
        return RemoteAdapter(self.url, token=self.token, retries=0, timeout=60.0)

    def page(self, since: Cursor | str | None) -> WireAnswer:
        """``GET /v1/records?since=…`` as sent, answered as received (no parsing beyond JSON)."""
        token = since.encode() if isinstance(since, Cursor) else since
        response = self.http.get("/v1/records", params={"since": token} if token is not None else {})
        try:
            body = response.json()
        except ValueError:
            body = response.text
        return WireAnswer(token, response.status_code, body)

    def follow(self, since: Cursor | str | None, max_records: int) -> Iterator[WireAnswer]:
        """Answers from ``since`` on, feeding each ``nextCursor`` back, until a client would stop (or
        ``max_records`` records or :data:`MAX_ANSWERS` answers were read)."""
        token = since.encode() if isinstance(since, Cursor) else since
        count = 0
        for _ in range(MAX_ANSWERS):
            answer = self.page(token)
            yield answer
            count += len(answer.records)
            if answer.ends or answer.next_cursor is None or count >= max_records:
                return
            token = answer.next_cursor

    def close(self) -> None:
        """Close the HTTP client and stop the service the suite started (a remote target's service is left)."""
        self.http.close()
        if self._server is not None:
            self._server.should_exit = True
            self._thread.join(timeout=30)
