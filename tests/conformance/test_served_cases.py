"""The served-adapter cases (ADP-009 empty pages and the end, ADP-010 rewinds, ADP-011 refused records) against
real services on 127.0.0.1: the CSV example adapter with an empty block window, a branch name in its cursors and a
row its mapping cannot translate passes every adapter case through ``adapter:remote``; the same adapter behind a
service that breaks one rule of the protocol fails exactly the case for that rule."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import uvicorn
import yaml

from vcgate.adapters.sdk import Cursor, RecordPage, RewindPage, SourceRecord
from vcgate.conformance_tests import ConformanceRun
from vcgate.gateway._adapter_server import create_adapter_app

from .conftest import CSV_CONFIG, CSV_EXAMPLE, assert_passes_every_adapter_case, run

pytestmark = [pytest.mark.server, pytest.mark.usefixtures("example_site")]

BRANCH = "main"
Rewrite = Callable[[str, dict[str, Any], int], tuple[dict[str, Any], int]]


def eventful_adapter() -> Any:
    """The CSV example adapter, with the stream events a real chain has: after row 3 an empty block window (an
    empty page that moves the cursor), after row 2 a row whose invoice number is missing (the mapping refuses it),
    and cursors ``(seq, branch[, n])`` naming the branch, so a cursor of another branch is answered by a rewind."""
    from vcgate_example_csv._adapter import CsvLedgerAdapter, _canonical_row

    class EventfulCsvAdapter(CsvLedgerAdapter):
        def _events(self) -> list[tuple[Cursor, SourceRecord | None]]:
            header, rows = self._read()
            out: list[tuple[Cursor, SourceRecord | None]] = []
            for cursor, record in self._entries():
                seq = int(cursor.position[0])
                out.append((Cursor((seq, BRANCH)), record))
                if seq == 2:
                    row = list(rows[1])
                    row[header.index("invoice_number")] = ""
                    unmapped = replace(record, locator="row/2-unmapped", raw=_canonical_row(header, row))
                    out.append((Cursor((2, BRANCH, 1)), unmapped))
                if seq == 3:
                    out.append((Cursor((3, BRANCH, 1)), None))  # an empty block window
            return out

        def records(self, since: Cursor | None = None) -> Iterator[RecordPage]:
            if since is not None and len(since.position) > 1 and since.position[1] != BRANCH:
                seq = int(since.position[0])
                target = Cursor((seq - 1, BRANCH)) if seq > 1 else Cursor.start()
                yield RewindPage((), target, since, seq - 1)  # row n is at height n
                since = target
            pending: list[SourceRecord] = []
            last = since or Cursor.start()
            for cursor, record in self._events():
                if since is not None and not cursor > since:
                    continue
                if record is None:
                    if pending:
                        yield RecordPage(tuple(pending), last)
                        pending = []
                    yield RecordPage((), cursor)
                    continue
                pending.append(record)
                last = cursor
                if len(pending) == self._page_size:
                    yield RecordPage(tuple(pending), cursor)
                    pending = []
            if pending:
                yield RecordPage(tuple(pending), last)

        def fetch(self, locator: str) -> SourceRecord:
            for _, record in self._events():
                if record is not None and record.locator == locator:
                    return record
            return super().fetch(locator)

    config = yaml.safe_load(CSV_CONFIG.read_text(encoding="utf-8"))
    config.pop("conformance")
    return EventfulCsvAdapter.from_config({**config, "configDir": str(CSV_EXAMPLE / "sample")})


class Misbehaving:
    """ASGI wrapper that rewrites the JSON answers of one route: a service that breaks one protocol rule."""

    def __init__(self, app: Any, route: str, rewrite: Rewrite) -> None:
        self.app, self.route, self.rewrite = app, route, rewrite

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != self.route:
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    query = scope.get("query_string", b"").decode()
                    body, status = self.rewrite(query, json.loads(b"".join(chunks)), start["status"])
                    data = json.dumps(body).encode()
                    headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                    headers.append((b"content-length", str(len(data)).encode()))
                    await send({**start, "status": status, "headers": headers})
                    await send({"type": "http.response.body", "body": data})

        await self.app(scope, receive, capture)


def _null_cursor_on_empty_pages(query: str, body: dict[str, Any], status: int) -> tuple[dict[str, Any], int]:
    # The protocol 1.0 habit under a 1.1 banner: an empty page loses its cursor and its `end`.
    if status == 200 and body.get("records") == [] and "keepThrough" not in body and body.get("end") is False:
        return {"records": [], "nextCursor": None}, status
    return body, status


def _rewind_as_end(query: str, body: dict[str, Any], status: int) -> tuple[dict[str, Any], int]:
    # A rewind answered as "nothing more": the abandoned branch stays, the new one never arrives.
    if status == 200 and "keepThrough" in body:
        return {"records": [], "nextCursor": None, "end": True}, status
    return body, status


def _refusal_as_server_error(query: str, body: dict[str, Any], status: int) -> tuple[dict[str, Any], int]:
    # A record the adapter cannot translate crashes the service instead of coming back as a translation problem.
    if status == 422 and body.get("code") == "REMOTE_TRANSLATION_FAILED":
        return {"type": "about:blank", "title": "Internal Server Error", "status": 500, "code": "INTERNAL"}, 500
    return body, status


@pytest.fixture
def serve() -> Iterator[Callable[[Rewrite | None, str], str]]:
    """Start the eventful adapter's service (optionally misbehaving on one route); stop every service at the end."""
    started: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(rewrite: Rewrite | None = None, route: str = "") -> str:
        app: Any = create_adapter_app(eventful_adapter())
        if rewrite is not None:
            app = Misbehaving(app, route, rewrite)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        started.append((server, thread))
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline, "the adapter service did not start"
            time.sleep(0.05)
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in started:
        server.should_exit = True
        thread.join(timeout=30)


def _run_remote(url: str, tmp_path: Path, **conformance: Any) -> ConformanceRun:
    config = yaml.safe_load(CSV_CONFIG.read_text(encoding="utf-8"))["conformance"]
    # Two rows fill the sample before the unmapped row: the in-depth cases judge translatable rows, ADP-011 all.
    config.update({"sampleSize": 2, **conformance})
    path = tmp_path / "remote.yaml"
    path.write_text(yaml.safe_dump({"url": url, "retries": 0, "conformance": config}), encoding="utf-8")
    return run("adapter:remote", path)


def _failed(result: ConformanceRun) -> dict[str, str]:
    assert result.report is not None, f"the suite did not run to the end (exit {result.exit_code})"
    return {c.id: c.reason for c in result.report.cases if c.outcome != "passed"}


def test_a_served_adapter_with_empty_pages_rewinds_and_refused_rows_passes(
    serve: Callable[..., str], tmp_path: Path
) -> None:
    url = serve()
    assert_passes_every_adapter_case(_run_remote(url, tmp_path))


def test_the_suite_serves_an_in_process_adapter_and_compares(example_site: Path) -> None:
    # The CSV example in process: the suite serves it itself for the served cases (and they pass).
    assert_passes_every_adapter_case(run("adapter:csv-ledger", CSV_CONFIG))


def test_a_null_cursor_on_an_empty_page_fails_adp_009(serve: Callable[..., str], tmp_path: Path) -> None:
    failed = _failed(_run_remote(serve(_null_cursor_on_empty_pages, "/v1/records"), tmp_path))
    assert set(failed) == {"ADP-009"}
    assert "`end` is absent" in failed["ADP-009"]
    assert "nextCursor is null on a page that is not the end" in failed["ADP-009"]


def test_a_rewind_answered_as_the_end_fails_adp_010(serve: Callable[..., str], tmp_path: Path) -> None:
    failed = _failed(_run_remote(serve(_rewind_as_end, "/v1/records"), tmp_path))
    assert set(failed) == {"ADP-010"}
    assert failed["ADP-010"].startswith(
        "the cursor (4, 'mbin') of a branch the ledger does not hold was answered with the end of the stream"
    )


def test_a_refusal_answered_as_a_server_error_fails_adp_011(serve: Callable[..., str], tmp_path: Path) -> None:
    failed = _failed(_run_remote(serve(_refusal_as_server_error, "/v1/translate"), tmp_path))
    assert set(failed) == {"ADP-011"}
    assert failed["ADP-011"].startswith("row/2-unmapped: translate answered RemoteProtocolError")


def test_a_configured_stale_cursor_is_used(serve: Callable[..., str], tmp_path: Path) -> None:
    # A tester who kept a cursor from before a reorg names it; the rewind from there is checked.
    stale = Cursor((3, "old-branch")).encode()
    assert_passes_every_adapter_case(_run_remote(serve(), tmp_path, staleCursor=stale))
    failed = _failed(_run_remote(serve(_rewind_as_end, "/v1/records"), tmp_path, staleCursor=stale))
    assert set(failed) == {"ADP-010"}
    assert "(3, 'old-branch')" in failed["ADP-010"]
