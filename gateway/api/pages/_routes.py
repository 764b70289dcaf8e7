"""The pages' routes under ``/ui``: login, entries, credentials, products, jobs, parties and adapters.

Server-rendered Jinja2; htmx (vendored in ``static/``) swaps the re-verify result in place, and without JavaScript
every form still works as a plain POST. Job progress streams as server-sent events.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from importlib import resources
from typing import Annotated, Any
from urllib.parse import quote

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.responses import Response, StreamingResponse

from vcgate.canonical_schema import VcgateError

from ..._jobs import create_job, default_job_id, job_results, job_status, read_entry_file, run_entries
from ..._links import EntryError, normalize_gtin, parse_entry
from ..._reports import build_report, sign_report
from ..._store import Store
from .._problems import ApiError
from ._people import LoginError, Operator, People
from ._session import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    PageError,
    check_csrf,
    context,
    current_operator,
    form,
    is_htmx,
    login_csrf,
    now,
    people,
    redirect,
    require,
    safe_next,
    set_session_cookie,
)
from ._views import credential_facts, environment, latest_results, product_page, recent_entry_numbers

_HERE = resources.files(__package__)
templates = Jinja2Templates(directory=str(_HERE.joinpath("templates")))
templates.env.filters["tojson_pretty"] = lambda v: json.dumps(v, indent=2, ensure_ascii=False, sort_keys=True)

#: The pages load scripts, styles and images from the gateway only; nothing inline, nothing from elsewhere.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
Op = Annotated[Operator, Depends(current_operator)]
#: Verdict rows per page of a job.
ROWS_PER_PAGE = 500


def _page(request: Request, name: str, op: Operator | None, code: int = 200, **values: Any) -> Response:
    response = templates.TemplateResponse(request, name, context(request, op, **values), status_code=code)
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-store"
    return response


def _store(request: Request) -> Store:
    store: Store = request.app.state.wiring.store
    return store


def _policy(request: Request) -> Any:
    return request.app.state.ctx.settings.policy


# -- login ------------------------------------------------------------------------------------------------------


def _login_routes(router: APIRouter) -> None:
    @router.get("/login")
    async def login_form(request: Request, next: str | None = None) -> Response:
        token = login_csrf(request)
        response = _page(request, "login.html", None, next=safe_next(next), login_csrf=token)
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/ui/login")
        return response

    @router.post("/login")
    async def login(request: Request) -> Response:
        fields = await form(request)
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        target = safe_next(fields.get("next"))
        if not cookie or fields.get("csrf_token") != cookie:
            raise PageError(403, "Request refused", "the login form has expired; reload the page")
        username, password = fields.get("username", "").strip(), fields.get("password", "")
        request.state.audit_target = username[:64]
        try:
            token, _op = await anyio.to_thread.run_sync(
                lambda: people(request).login(username, password, now=now(request))
            )
        except LoginError as exc:
            request.state.audit_detail = "locked" if exc.locked else "refused"
            return _page(request, "login.html", None, 401, next=target, login_csrf=cookie, error=str(exc))
        request.state.audit_client_id = f"user:{username}"
        response = redirect(target)
        set_session_cookie(request, response, token)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/ui/login")
        return response

    @router.post("/logout")
    async def logout(request: Request, op: Op) -> Response:
        check_csrf(request, op, await form(request))
        token = request.cookies.get(SESSION_COOKIE, "")
        await anyio.to_thread.run_sync(people(request).logout, token)
        response = redirect("/ui/login")
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response


# -- entries and credentials ------------------------------------------------------------------------------------


def _entry_context(request: Request, result: dict[str, Any]) -> dict[str, Any]:
    store = _store(request)
    ids = [c["id"] for c in result.get("credentials") or []]
    stored = store.credentials(ids)
    facts = {cid: credential_facts(sc.document) for cid, sc in stored.items()}
    summaries = {c["id"]: c for c in result.get("credentials") or []}
    return {"result": result, "facts": facts, "summaries": summaries}


def _entry_routes(router: APIRouter) -> None:
    @router.get("/")
    def home(request: Request, op: Op) -> Response:
        numbers = recent_entry_numbers(_store(request))
        return _page(request, "home.html", op, numbers=numbers)

    @router.get("/entries")
    def find_entry(request: Request, op: Op, number: str = "") -> Response:
        number = number.strip()
        if not number:
            return redirect("/ui/")
        return redirect(f"/ui/entries/{quote(number, safe='')}")

    @router.get("/entries/{number}")
    def entry(request: Request, op: Op, number: str) -> Response:
        results = latest_results(_store(request), number)
        if not results:
            raise PageError(404, "No such entry", f"no verdict is stored for entry {number}; paste the entry instead")
        return _page(request, "entry.html", op, number=number, fresh=False, **_entry_context(request, results[0]))

    @router.post("/entries/check")
    async def check_pasted(request: Request, op: Op) -> Response:
        fields = await form(request)
        check_csrf(request, op, fields)
        try:
            parsed = parse_entry(json.loads(fields.get("entry", "")))
        except (ValueError, EntryError) as exc:
            raise PageError(400, "Unreadable entry", f"the pasted entry is not a valid entry: {exc}") from None
        at = now(request)

        def verify() -> dict[str, Any]:
            # Read-only: the pasted entry's invoice quantities are not recorded as claims.
            verdicts = run_entries([parsed], _store(request), _policy(request), checked_at=at, record_claims=False)
            return verdicts[0].to_json()

        result = await anyio.to_thread.run_sync(verify)
        number = str(result.get("entryNumber", ""))
        return _page(request, "entry.html", op, number=number, fresh=True, **_entry_context(request, result))

    @router.get("/credential")
    def credential(request: Request, op: Op, id: str) -> Response:
        stored = _store(request).credential(id)
        if stored is None:
            raise PageError(404, "No such credential", f"the store holds no credential {id}")
        facts = credential_facts(stored.document)
        return _page(request, "credential.html", op, facts=facts, document=stored.document, source=stored.source)

    @router.get("/credential/raw")
    def credential_raw(request: Request, op: Op, id: str) -> Response:
        stored = _store(request).credential(id)
        if stored is None:
            raise PageError(404, "No such credential", f"the store holds no credential {id}")
        body = json.dumps(stored.document, indent=2, ensure_ascii=False)
        return Response(body, media_type="application/json", headers={"X-Content-Type-Options": "nosniff"})

    @router.post("/credential/verify")
    async def reverify(request: Request, op: Op) -> Response:
        fields = await form(request)
        check_csrf(request, op, fields)
        cid = fields.get("id", "")
        store, at = _store(request), now(request)

        def run() -> Any:
            stored = store.credential(cid)
            if stored is None:
                return None
            env = environment(store, _policy(request), at, use_cache=False)
            return env.pipeline.check(stored.document, checked_at=at, digest=stored.digest)

        result = await anyio.to_thread.run_sync(run)
        if result is None:
            raise PageError(404, "No such credential", f"the store holds no credential {cid}")
        name = "_reverify.html" if is_htmx(request) else "reverify.html"
        return _page(request, name, op, cid=cid, result=result, at=at)


# -- products ---------------------------------------------------------------------------------------------------


def _product_routes(router: APIRouter) -> None:
    @router.get("/products")
    def find_product(request: Request, op: Op, gtin: str = "") -> Response:
        try:
            return redirect(f"/ui/products/{normalize_gtin(gtin)}")
        except EntryError as exc:
            raise PageError(400, "Not a GTIN", str(exc)) from None

    @router.get("/products/{gtin}")
    def product(request: Request, op: Op, gtin: str) -> Response:
        try:
            key = normalize_gtin(gtin)
        except EntryError as exc:
            raise PageError(400, "Not a GTIN", str(exc)) from None
        store = _store(request)
        # Judged now (not rounded for the cache: a credential issued seconds ago must not look not-yet-valid).
        page = product_page(store, environment(store, _policy(request), now(request)), key)
        return _page(request, "product.html", op, page=page)

    @router.get("/media")
    def media(request: Request, op: Op, credential: str, index: int = 0) -> Response:
        from ._views import content, media_of

        store = _store(request)
        stored = store.credential(credential)
        items = media_of(store, stored.document) if stored is not None else []
        if not 0 <= index < len(items) or not items[index].matches:
            raise PageError(404, "No verified media", "no stored bytes match the digest the registration names")
        item = items[index]
        body = content(store, item.url) or b""
        headers = {
            "X-Content-Type-Options": "nosniff",
            # An SVG opened directly must not run scripts.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; sandbox",
        }
        if not item.is_image:
            headers["Content-Disposition"] = "attachment"
        return Response(body, media_type=item.media_type or "application/octet-stream", headers=headers)


# -- jobs -------------------------------------------------------------------------------------------------------


def _job_status(request: Request, job_id: str) -> dict[str, Any]:
    store = _store(request)
    job = store.job(job_id) if len(job_id) <= 64 else None
    if job is None:
        raise PageError(404, "No such job", f"no job {job_id}")
    status = job_status(store, job_id).to_json()
    runner = request.app.state.wiring.jobs
    error = runner.error(job_id)
    # A job neither finished nor running here was interrupted (e.g. a restart): posting its input again resumes it.
    state = "running" if runner.running(job_id) else ("finished" if job["state"] == "finished" else "interrupted")
    status["state"] = "failed" if error else state
    status["error"] = error
    status["checkedAt"] = job["checked_at"]
    status["createdAt"] = job["created_at"]
    return status


def _job_routes(router: APIRouter) -> None:
    @router.get("/jobs")
    def jobs(request: Request, op: Op) -> Response:
        require(op, "read:jobs", "read jobs")
        return _page(request, "jobs.html", op, jobs=_store(request).jobs())

    @router.post("/jobs")
    async def start_job(request: Request, op: Op) -> Response:
        fields = await form(request)
        check_csrf(request, op, fields)
        require(op, "run:jobs", "start jobs")
        text = fields.get("entries", "")
        name = "entries.csv" if fields.get("format") == "csv" else "entries.jsonl"
        data = text.encode("utf-8")
        policy, at = _policy(request), now(request)
        try:
            rows = read_entry_file(name, data)
        except VcgateError as exc:
            raise PageError(400, "Unreadable entries", str(exc)) from None
        if not rows:
            raise PageError(400, "No entries", "paste at least one entry (one JSON object per line, or CSV)")
        job_id = default_job_id(data, policy, at)
        request.state.audit_target = job_id
        store = _store(request)
        await anyio.to_thread.run_sync(
            lambda: create_job(store, rows, policy, job_id=job_id, checked_at=at, source=f"ui:{op.username}")
        )
        request.app.state.wiring.jobs.start(job_id, sync_first=False)
        return redirect(f"/ui/jobs/{job_id}")

    @router.get("/jobs/{job_id}")
    def job(request: Request, op: Op, job_id: str, page: int = 1) -> Response:
        require(op, "read:jobs", "read jobs")
        status = _job_status(request, job_id)
        rows = job_results(_store(request), job_id)["rows"] if status["state"] == "finished" else []
        pages = max(1, -(-len(rows) // ROWS_PER_PAGE))
        page = min(max(page, 1), pages)
        shown = rows[(page - 1) * ROWS_PER_PAGE : page * ROWS_PER_PAGE]
        return _page(
            request,
            "job.html",
            op,
            job_id=job_id,
            status=status,
            rows=shown,
            page=page,
            pages=pages,
            per_page=ROWS_PER_PAGE,
            total=len(rows),
        )

    @router.get("/jobs/{job_id}/events")
    async def job_events(request: Request, op: Op, job_id: str) -> Response:
        require(op, "read:jobs", "read jobs")
        _job_status(request, job_id)
        return StreamingResponse(
            _progress_events(request, job_id),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )


def _job_detail_routes(router: APIRouter) -> None:
    @router.post("/jobs/{job_id}/resume")
    async def resume_job(request: Request, op: Op, job_id: str) -> Response:
        check_csrf(request, op, await form(request))
        require(op, "run:jobs", "resume jobs")
        if _job_status(request, job_id)["state"] == "interrupted":
            request.state.audit_target = job_id
            # Jobs are resumable: only entries without a stored verdict are verified again.
            request.app.state.wiring.jobs.start(job_id, sync_first=False)
        return redirect(f"/ui/jobs/{job_id}")

    @router.get("/jobs/{job_id}/rows/{row_no}")
    def job_row(request: Request, op: Op, job_id: str, row_no: int) -> Response:
        require(op, "read:jobs", "read jobs")
        _job_status(request, job_id)
        row = next((r for r in job_results(_store(request), job_id)["rows"] if r["row"] == row_no), None)
        if row is None or not row.get("result"):
            raise PageError(404, "No verdict", f"job {job_id} has no verdict for row {row_no}")
        result = row["result"]
        number = str(result.get("entryNumber", ""))
        return _page(
            request, "entry.html", op, number=number, fresh=False, job_id=job_id, **_entry_context(request, result)
        )

    @router.get("/jobs/{job_id}/report")
    def job_report(request: Request, op: Op, job_id: str) -> Response:
        require(op, "read:jobs", "read jobs")
        if _job_status(request, job_id)["state"] != "finished":
            raise PageError(409, "Job not finished", "the signed report exists once every row is verified")
        results = job_results(_store(request), job_id)
        at, key = now(request), request.app.state.ctx.identity.key
        report = sign_report(build_report(results["job"], results["rows"], issuer=key.controller, issued_at=at), key,
                             created=at)  # fmt: skip
        body = json.dumps(report, indent=2, ensure_ascii=False)
        disposition = f'attachment; filename="verification-report-{job_id}.json"'
        return Response(body, media_type="application/json", headers={"Content-Disposition": disposition})


async def _progress_events(request: Request, job_id: str) -> AsyncIterator[str]:
    """``progress`` events (``{done, entries, state, verdicts}``) whenever the count changes, until finished."""
    last: tuple[int, str] | None = None
    while not await request.is_disconnected():
        status = await anyio.to_thread.run_sync(_job_status, request, job_id)
        current = (int(status["done"]), str(status["state"]))
        if current != last:
            last = current
            payload = {k: status[k] for k in ("done", "entries", "state", "verdicts", "error")}
            yield f"event: progress\ndata: {json.dumps(payload)}\n\n"
        if status["state"] != "running":
            yield "event: end\ndata: {}\n\n"
            return
        await asyncio.sleep(0.2)


# -- parties and adapters ---------------------------------------------------------------------------------------


def _registry_routes(router: APIRouter) -> None:
    @router.get("/parties")
    def parties(request: Request, op: Op) -> Response:
        registry = _store(request).parties()
        return _page(request, "parties.html", op, parties=registry.parties)

    @router.post("/parties")
    async def add_party(request: Request, op: Op) -> Response:
        fields = await form(request)
        check_csrf(request, op, fields)
        require(op, "admin", "manage parties")
        text = fields.get("party", "")
        try:
            await _register_party(request, op, json.loads(text))
        except (ValueError, ApiError) as exc:
            message = f"{exc.code}: {exc.detail or exc.title}" if isinstance(exc, ApiError) else f"not JSON: {exc}"
            registry = _store(request).parties()
            code = exc.status if isinstance(exc, ApiError) else 400
            return _page(request, "parties.html", op, code, parties=registry.parties, error=message, draft=text)
        return redirect("/ui/parties")

    @router.get("/adapters")
    def adapters(request: Request, op: Op) -> Response:
        store = _store(request)
        return _page(
            request,
            "adapters.html",
            op,
            adapters=store.adapters(),
            observations=store.observations(),
            quarantine=store.quarantined(),
        )

    @router.post("/sync")
    async def sync_now(request: Request, op: Op) -> Response:
        fields = await form(request)
        check_csrf(request, op, fields)
        require(op, "admin", "sync adapters")
        summary = await anyio.to_thread.run_sync(request.app.state.wiring.jobs.sync_now)
        store = _store(request)
        return _page(
            request,
            "adapters.html",
            op,
            adapters=store.adapters(),
            observations=store.observations(),
            quarantine=store.quarantined(),
            sync=summary.get("adapters", {}),
        )

    @router.post("/adapters/remove")
    async def remove_adapter(request: Request, op: Op) -> Response:
        fields = await form(request)
        check_csrf(request, op, fields)
        require(op, "admin", "remove adapters")
        name = fields.get("name", "")
        request.state.audit_target = name[:128]
        await anyio.to_thread.run_sync(_store(request).remove_adapter, name)
        return redirect("/ui/adapters")


async def _register_party(request: Request, op: Operator, document: Any) -> None:
    """``POST /parties``'s own checks and write (every binding's proof of control), as this admin."""
    from .._auth import Principal
    from .._parties_routes import _add_party

    principal = Principal(client_id=f"user:{op.username}", party="", scopes=op.scopes, token_id="")
    await _add_party(request, request.app.state.wiring, principal, document)


# -- installation -----------------------------------------------------------------------------------------------


def _error_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)
    if exc.location:
        # htmx follows redirects inside its request; tell it to navigate instead (e.g. to the login page).
        return Response(headers={"HX-Redirect": exc.location}) if is_htmx(request) else redirect(exc.location)
    op = getattr(request.state, "operator", None)
    return _page(request, "error.html", op, exc.status, title=exc.title, message=exc.message)


def install_pages(app: FastAPI) -> None:
    """Mount the pages (``/ui``), their static files (``/ui/static``) and the account store on ``app``."""
    app.state.people = People(app.state.ctx.db)
    router = APIRouter(prefix="/ui", include_in_schema=False)
    for add in (_login_routes, _entry_routes, _product_routes, _job_routes, _job_detail_routes, _registry_routes):
        add(router)
    app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=str(_HERE.joinpath("static"))), name="ui-static")
    app.add_exception_handler(PageError, _error_page)

    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        return redirect("/ui/")


__all__ = ["CSP", "install_pages", "templates"]
