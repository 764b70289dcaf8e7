"""The plain-ledger HTTP service: a FastAPI app over a :class:`PlainLedgerStore`, served by uvicorn.

Errors are RFC 9457 problem details (``application/problem+json``) with vcgate's stable codes. Appends go through
a group committer: concurrent ``POST /entries`` requests queue up while the previous batch commits, and the next
batch commits them all with one fsync. A request is answered only after its batch committed.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from vcgate.canonical_schema import Problem

from ._entries import (
    ENTRY_MALFORMED,
    ENTRY_TOO_LARGE,
    MAX_ENTRY_SIZE,
    EntryError,
    LedgerEntry,
    parse_json_strict,
)
from ._store import MAX_BATCH, AppendOutcome, LedgerRequestError, PlainLedgerStore, StoreError

PROBLEM_JSON = "application/problem+json"
MAX_BATCH_BODY = 8 * 1024 * 1024
"""Largest ``POST /entries/batch`` body (bytes)."""

BAD_PARAMETER = "PLAIN_LEDGER_BAD_PARAMETER"
UNSUPPORTED_MEDIA_TYPE = "PLAIN_LEDGER_UNSUPPORTED_MEDIA_TYPE"
UNAVAILABLE = "PLAIN_LEDGER_UNAVAILABLE"
HTTP_ERROR = "PLAIN_LEDGER_HTTP_ERROR"

_ENTRY_STATUS = {ENTRY_MALFORMED: 400, ENTRY_TOO_LARGE: 413}


def problem_response(problem: Problem, status: int, headers: dict[str, str] | None = None) -> JSONResponse:
    """An RFC 9457 response: the problem's JSON plus ``status``."""
    return JSONResponse(
        {**problem.to_json(), "status": status}, status_code=status, media_type=PROBLEM_JSON, headers=headers
    )


class _Refused(Exception):  # noqa: N818 - internal control flow, converted to a problem response at once
    def __init__(self, problem: Problem, status: int) -> None:
        super().__init__(problem.title)
        self.problem = problem
        self.status = status


def _entry_refused(exc: EntryError) -> _Refused:
    return _Refused(exc.problem, _ENTRY_STATUS.get(exc.problem.code, 422))


async def _read_json_body(request: Request, limit: int) -> Any:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise _Refused(
            Problem(UNSUPPORTED_MEDIA_TYPE, "Unsupported media type", "send the entry as application/json"), 415
        )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _Refused(Problem(ENTRY_TOO_LARGE, "Request too large", f"the limit is {limit} bytes"), 413)
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise _Refused(Problem(ENTRY_TOO_LARGE, "Request too large", f"the limit is {limit} bytes"), 413)
    try:
        return parse_json_strict(bytes(body), max_size=limit)
    except EntryError as exc:
        raise _entry_refused(exc) from None


class GroupCommitter:
    """Queues appends and commits them in batches of up to ``max_batch`` entries, one transaction each."""

    def __init__(self, store: PlainLedgerStore, max_batch: int = 256) -> None:
        self._store = store
        self._max_batch = min(max_batch, MAX_BATCH)
        self._queue: asyncio.Queue[tuple[LedgerEntry, asyncio.Future[AppendOutcome]]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the writer task on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Stop the writer task (pending requests fail with 503)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def submit(self, entry: LedgerEntry) -> AppendOutcome:
        """Queue ``entry``; resolves once its batch committed (or was refused)."""
        future: asyncio.Future[AppendOutcome] = asyncio.get_running_loop().create_future()
        await self._queue.put((entry, future))
        return await future

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                outcomes = await run_in_threadpool(self._store.append_batch, [e for e, _ in batch])
            except Exception as exc:  # every waiter must hear about a failed commit, whatever it was
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)


def create_app(store: PlainLedgerStore, *, max_batch: int = 256) -> FastAPI:
    """The HTTP app over ``store`` (opened with its log key to accept appends)."""
    committer = GroupCommitter(store, max_batch)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        committer.start()
        try:
            yield
        finally:
            await committer.stop()

    app = FastAPI(title="vcgate plain ledger", lifespan=lifespan, docs_url=None, redoc_url=None)

    @app.exception_handler(_Refused)
    async def _refused(_request: Request, exc: _Refused) -> Response:
        return problem_response(exc.problem, exc.status)

    @app.exception_handler(LedgerRequestError)
    async def _request_error(_request: Request, exc: LedgerRequestError) -> Response:
        return problem_response(exc.problem, exc.status)

    @app.exception_handler(StoreError)
    async def _store_error(_request: Request, exc: StoreError) -> Response:
        return problem_response(Problem(UNAVAILABLE, "Ledger unavailable", str(exc)), 503)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        details = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors())
        return problem_response(Problem(BAD_PARAMETER, "Bad parameter", details), 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        code = "PLAIN_LEDGER_NOT_FOUND" if exc.status_code == 404 else HTTP_ERROR
        return problem_response(Problem(code, str(exc.detail)), exc.status_code)

    @app.post("/entries", status_code=201)
    async def append_entry(request: Request) -> Response:
        document = await _read_json_body(request, MAX_ENTRY_SIZE)
        try:
            entry = LedgerEntry.from_json(document)
        except EntryError as exc:
            raise _entry_refused(exc) from None
        outcome = await committer.submit(entry)
        if isinstance(outcome, LedgerRequestError):
            raise outcome
        return JSONResponse(outcome.to_json(), status_code=201, headers={"Location": f"/entries/{outcome.index}"})

    @app.post("/entries/batch")
    async def append_entries(request: Request) -> Response:
        document = await _read_json_body(request, MAX_BATCH_BODY)
        if not isinstance(document, list) or not 1 <= len(document) <= MAX_BATCH:
            raise _Refused(Problem(BAD_PARAMETER, "Bad batch", f"a JSON array of 1 to {MAX_BATCH} entries"), 400)
        results: list[dict[str, Any] | None] = [None] * len(document)
        valid: list[tuple[int, LedgerEntry]] = []
        for position, item in enumerate(document):
            try:
                valid.append((position, LedgerEntry.from_json(item)))
            except EntryError as exc:
                status = _ENTRY_STATUS.get(exc.problem.code, 422)
                results[position] = {"problem": {**exc.problem.to_json(), "status": status}}
        if valid:
            outcomes = await run_in_threadpool(store.append_batch, [e for _, e in valid])
            for (position, _), outcome in zip(valid, outcomes, strict=True):
                if isinstance(outcome, LedgerRequestError):
                    results[position] = {"problem": {**outcome.problem.to_json(), "status": outcome.status}}
                else:
                    results[position] = outcome.to_json()
        return JSONResponse({"results": results})

    @app.get("/entries/{index}")
    def get_entry(index: int) -> dict[str, Any]:
        return store.get(index).to_json()

    @app.get("/entries")
    def list_entries(start: int = Query(0, ge=0), limit: int = Query(100, ge=1, le=1000)) -> dict[str, Any]:
        entries = store.list_entries(start, limit)
        following = entries[-1].index + 1 if len(entries) == limit else None
        return {"entries": [e.to_json() for e in entries], "next": following}

    @app.get("/records/{record_id}")
    def get_record(record_id: str) -> dict[str, Any]:
        return store.get_record(record_id).to_json()

    @app.get("/checkpoint")
    def checkpoint() -> Response:
        return PlainTextResponse(store.latest_checkpoint(), media_type="text/plain; charset=utf-8")

    @app.get("/checkpoints/{size}")
    def checkpoint_at(size: int) -> Response:
        return PlainTextResponse(store.checkpoint(size), media_type="text/plain; charset=utf-8")

    @app.get("/proof/inclusion")
    def proof_inclusion(index: int = Query(..., ge=0), size: int | None = Query(None, ge=1)) -> dict[str, Any]:
        return store.inclusion_proof(index, size).to_json()

    @app.get("/proof/consistency")
    def proof_consistency(first: int = Query(..., ge=0), second: int | None = Query(None, ge=0)) -> dict[str, Any]:
        return store.consistency_proof(first, second).to_json()

    @app.get("/info")
    def info() -> dict[str, Any]:
        return {
            "ledgerId": store.ledger_id,
            "origin": store.origin,
            "verifierKey": store.verifier.to_vkey(),
            "maxEntryBytes": MAX_ENTRY_SIZE,
        }

    @app.get("/health")
    def health() -> dict[str, Any]:
        return {"status": "ok", "treeSize": store.tree_size(), "ledgerId": store.ledger_id}

    return app


def serve(store: PlainLedgerStore, *, host: str = "127.0.0.1", port: int = 8088, log_level: str = "info") -> None:
    """Serve the ledger with uvicorn until interrupted (127.0.0.1 by default: expose it deliberately)."""
    config = uvicorn.Config(create_app(store), host=host, port=port, log_level=log_level, access_log=False)
    uvicorn.Server(config).run()
