"""``/jobs`` and ``/sync``: verification jobs over HTTP (docs/jobs.md; docs/http-api.md, "Jobs").

``POST /jobs`` creates a job from entries (a JSON array of entry objects, or CSV text) exactly as ``vcgate jobs
run`` does — the same job id for the same input, policy and instant, so posting again resumes the same job — and runs
it in the background; ``GET /jobs/{id}`` follows it, ``GET /jobs/{id}/results`` gives every row's verdict and
``GET /jobs/{id}/report`` the signed ``VerificationReport`` (JSON) or its HTML page. ``POST /sync`` (or ``"sync":
true`` on a job) first pulls every active registered adapter into the store.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from vcgate.canonical_schema import VcgateError

from .._cluster import DaskExecutor, scheduler_address
from .._jobs import (
    Executor,
    InlineExecutor,
    LocalProcessExecutor,
    create_job,
    default_job_id,
    job_results,
    job_status,
    read_entry_file,
    run_job,
    sync,
)
from .._reports import build_report, render_html, sign_report
from .._store import Store
from ..verification._policy import Policy
from ._auth import Principal
from ._problems import ApiError
from ._wiring import (
    JSON_OBJECT,
    Wiring,
    WiringContext,
    WiringSettings,
    camel,
    html_response,
    require_any,
    wants_html,
)

log = logging.getLogger("vcgate.api.jobs")

#: Most entry rows one request may carry (the request size limit applies as well).
MAX_ROWS = 100_000


class JobRequest(BaseModel):
    """``POST /jobs``: entries as JSON objects (``entries``) or CSV text (``csv``, one row per entry line)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entries: list[Any] | None = Field(default=None, max_length=MAX_ROWS)
    csv: str | None = None
    checkedAt: str | None = Field(default=None, max_length=64)  # noqa: N815 - API member name
    policy: dict[str, Any] | None = None
    jobId: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]{1,64}$")  # noqa: N815
    sync: bool = False
    #: A shipped workflow's name (``GET``-able with ``vcgate workflows list``; default ``ipr``; docs/workflows.md).
    workflow: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9-]{0,63}$")


def _instant(value: str) -> datetime:
    try:
        at = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "JOB_INPUT_INVALID", "Invalid checkedAt", f"{value!r} is not ISO-8601") from None
    if at.tzinfo is None:
        raise ApiError(400, "JOB_INPUT_INVALID", "Invalid checkedAt", f"{value!r} needs a timezone")
    return at.astimezone(UTC)


class JobRunner:
    """Runs jobs in background threads, one per job, at most once at a time per job in this process.

    Jobs are resumable and idempotent (docs/jobs.md): a job interrupted by a restart is resumed by posting the same
    input again (same job id), and a job posted twice while running runs once.
    """

    def __init__(self, store: Store, api: Any, settings: WiringSettings) -> None:
        self.store = store
        self.api = api
        self.settings = settings
        self._lock = threading.Lock()
        self._running: set[str] = set()
        self._errors: dict[str, str] = {}

    def running(self, job_id: str) -> bool:
        """Whether this process is running the job now."""
        with self._lock:
            return job_id in self._running

    def error(self, job_id: str) -> str | None:
        """Why the last run of the job in this process failed, if it did."""
        with self._lock:
            return self._errors.get(job_id)

    def start(self, job_id: str, *, sync_first: bool, on_done: Callable[[], None] | None = None) -> bool:
        """Run the job in a background thread unless it is already running here; returns whether it started."""
        with self._lock:
            if job_id in self._running:
                return False
            self._running.add(job_id)
            self._errors.pop(job_id, None)
        thread = threading.Thread(
            target=self._run, args=(job_id, sync_first, on_done), name=f"vcgate-job-{job_id}", daemon=True
        )
        thread.start()
        return True

    def sync_now(self) -> dict[str, Any]:
        """Pull every registered adapter into the store once (``vcgate sync``)."""
        return sync(self.store, now=self.api.now()).to_json()

    def _run(self, job_id: str, sync_first: bool, on_done: Callable[[], None] | None) -> None:
        try:
            if sync_first:
                self.sync_now()
            workers = self.settings.job_workers
            executor: Executor
            address = scheduler_address(None)  # $VCGATE_DASK_SCHEDULER sends API jobs to the cluster
            if address is not None:
                executor = DaskExecutor(address)
            else:
                executor = LocalProcessExecutor(workers) if workers > 1 else InlineExecutor()
            resolver: Literal["offline", "default"] = "default" if self.api.settings.resolve_remote_dids else "offline"
            run_job(
                self.store,
                job_id,
                executor=executor,
                resolver=resolver,
                checker_factory=self.settings.checker_factory,
            )
        except Exception as exc:
            # Never lose a failure silently: it is logged and reported by GET /jobs/{id}.
            log.exception("job %s failed", job_id)
            with self._lock:
                self._errors[job_id] = (
                    str(exc) if isinstance(exc, VcgateError) else f"internal error ({type(exc).__name__})"
                )
        finally:
            with self._lock:
                self._running.discard(job_id)
            if on_done is not None:
                on_done()


def index_submission(request: Request, submission_id: str, items: list[tuple[str, Any]]) -> int:
    """Index the credentials of a verified presentation submission in the jobs store (source
    ``presentation:<submission id>``), so jobs and ``/links`` find them; returns how many were new or changed.

    Only JSON-LD credentials that carry their own ``id`` are indexed: the store keys credentials by the id they
    sign, and a ``vc+jwt`` is verified by jobs as a JSON-LD document it is not. Those stay in the API's own table.
    """
    ctx: WiringContext = request.app.state.wiring
    documents = [doc for cid, doc in items if isinstance(doc, dict) and doc.get("id") == cid]
    try:
        return ctx.store.put_credentials(documents, source=f"presentation:{submission_id}")
    except VcgateError:
        # The submission itself is committed; a failed index write must be loud, and re-submitting repairs it.
        log.exception("could not index the credentials of submission %s in the jobs store", submission_id)
        return 0


def _status(ctx: WiringContext, job_id: str) -> dict[str, Any]:
    job = ctx.store.job(job_id) if len(job_id) <= 64 else None
    if job is None:
        raise ApiError(404, "JOB_NOT_FOUND", "No such job", f"no job {job_id!r}")
    summary = job_status(ctx.store, job_id).to_json()
    summary.pop("verifiedNow", None)
    running = ctx.jobs.running(job_id)
    error = ctx.jobs.error(job_id)
    summary.update(
        {
            "state": "failed" if error else ("running" if running or job["state"] != "finished" else "finished"),
            "createdAt": job["created_at"],
            "finishedAt": job["finished_at"],
            "checkedAt": job["checked_at"],
            "policy": {"name": job["policy_name"], "digest": job["policy_digest"]},
            "links": {
                "self": f"/jobs/{job_id}",
                "results": f"/jobs/{job_id}/results",
                "report": f"/jobs/{job_id}/report",
            },
        }
    )
    if error:
        summary["error"] = error
    return summary


def jobs_router() -> APIRouter:
    """The ``/jobs`` and ``/sync`` routes."""
    from ._app import _json, _problem_responses, _ProtectedRoute

    router = APIRouter(route_class=_ProtectedRoute, tags=["jobs"])

    @router.post(
        "/jobs",
        summary="Submit entries for verification (a job); it runs in the background",
        response_model=None,
        status_code=202,
        responses={
            200: {"description": "The job exists and is finished: its status", **JSON_OBJECT},
            202: {"description": "Accepted: the job's status (`jobId`, `state`, `links`)", **JSON_OBJECT},
            **_problem_responses(400, 401, 403, 413, 422, 429),
        },
    )
    def submit_job(
        request: Request,
        body: JobRequest,
        ctx: Wiring,
        principal: Annotated[Principal, Depends(require_any("run:jobs"))],
    ) -> Response:
        """Create (or resume) a job from entry objects or CSV; 202 with its id and where to follow it."""
        if (body.entries is None) == (body.csv is None):
            raise ApiError(400, "JOB_INPUT_REQUIRED", "Entries required", "give exactly one of entries or csv")
        if body.csv is not None:
            name, data = "entries.csv", body.csv.encode("utf-8")
        else:
            lines = [json.dumps(e, sort_keys=True, ensure_ascii=False) for e in body.entries or []]
            name, data = "entries.jsonl", ("\n".join(lines) + "\n").encode("utf-8")
        try:
            policy = (
                Policy.from_mapping(body.policy, source="request policy")
                if body.policy is not None
                else ctx.api.settings.policy
            )
        except VcgateError as exc:
            raise ApiError(400, "POLICY_INVALID", "Invalid policy", str(exc)) from None
        workflow = None
        if body.workflow is not None:
            from ..workflows import builtin_workflow
            from ..workflows._decide import policy_with_workflow

            try:
                workflow = builtin_workflow(body.workflow)
                policy = policy_with_workflow(policy, workflow)
            except VcgateError as exc:
                raise ApiError(400, "WORKFLOW_UNKNOWN", "Unknown workflow", str(exc)) from None
        fixed = _instant(body.checkedAt) if body.checkedAt else None
        try:
            rows = read_entry_file(name, data, workflow)
        except VcgateError as exc:
            raise ApiError(400, "JOB_INPUT_INVALID", "Unreadable entries", str(exc)) from None
        if not rows:
            raise ApiError(400, "JOB_EMPTY", "No entries", "the input holds no entry rows")
        if len(rows) > MAX_ROWS:
            raise ApiError(400, "JOB_TOO_LARGE", "Too many rows", f"at most {MAX_ROWS} rows per job")
        job_id = body.jobId or default_job_id(data, policy, fixed)
        request.state.audit_target = job_id
        try:
            created = create_job(
                ctx.store,
                rows,
                policy,
                job_id=job_id,
                checked_at=fixed or ctx.api.now(),
                source=f"api:{principal.client_id}:{name}",
            )
        except VcgateError as exc:
            raise ApiError(400, "JOB_INPUT_INVALID", "Job refused", str(exc)) from None
        job = ctx.store.job(job_id)
        finished = not created and job is not None and job["state"] == "finished" and not body.sync
        if not finished:
            ctx.jobs.start(job_id, sync_first=body.sync)
        request.state.audit_detail = "created" if created else ("finished" if finished else "resumed")
        status = _status(ctx, job_id)
        status["created"] = created
        return _json(status, status=200 if finished else 202, headers={"Location": f"/jobs/{job_id}"})

    @router.get(
        "/jobs",
        summary="List jobs (newest first)",
        response_model=None,
        responses={200: {"description": "`{jobs: […]}`", **JSON_OBJECT}, **_problem_responses(401, 403, 429)},
    )
    def list_jobs(ctx: Wiring, _p: Annotated[Principal, Depends(require_any("read:jobs"))]) -> Response:
        """Every job: id, state, rows, policy, times."""
        return _json({"jobs": [camel(j) for j in ctx.store.jobs()]})

    @router.get(
        "/jobs/{job_id}",
        summary="A job's progress and verdict counts",
        response_model=None,
        responses={200: {"description": "The job's status", **JSON_OBJECT}, **_problem_responses(401, 403, 404, 429)},
    )
    def get_job(job_id: str, ctx: Wiring, _p: Annotated[Principal, Depends(require_any("read:jobs"))]) -> Response:
        """``state`` (``running`` / ``finished`` / ``failed``), rows, entries, done, verdict counts."""
        return _json(_status(ctx, job_id))

    @router.get(
        "/jobs/{job_id}/results",
        summary="Every row of a job with its verdict (or its row problem)",
        response_model=None,
        responses={
            200: {"description": "`{jobId, state, checkedAt, policy, rows: […]}`", **JSON_OBJECT},
            **_problem_responses(401, 403, 404, 429),
        },
    )
    def get_results(job_id: str, ctx: Wiring, _p: Annotated[Principal, Depends(require_any("read:jobs"))]) -> Response:
        """Rows in input order; each has its entry verdict (lines, reasons, steps, credentials, evidence)."""
        status = _status(ctx, job_id)
        results = job_results(ctx.store, job_id)
        return _json(
            {
                "jobId": job_id,
                "state": status["state"],
                "checkedAt": status["checkedAt"],
                "policy": status["policy"],
                "rows": results["rows"],
            }
        )

    @router.get(
        "/jobs/{job_id}/report",
        summary="The job's signed VerificationReport (JSON) or its HTML page",
        response_model=None,
        responses={
            200: {
                "description": "The VerificationReport credential signed by the gateway, or the HTML report",
                "content": {
                    "application/json": {"schema": {"type": "object"}},
                    "text/html": {"schema": {"type": "string"}},
                },
            },
            **_problem_responses(400, 401, 403, 404, 409, 429),
        },
    )
    def get_report(
        request: Request,
        job_id: str,
        ctx: Wiring,
        _p: Annotated[Principal, Depends(require_any("read:jobs"))],
        format: Annotated[str | None, Query(description="html or json (default: by Accept)")] = None,
    ) -> Response:
        """Signed with the gateway's key (``eddsa-jcs-2022``); 409 while the job is still running."""
        html = wants_html(request, format)
        status = _status(ctx, job_id)
        if status["state"] != "finished":
            raise ApiError(409, "JOB_NOT_FINISHED", "Job not finished", f"job {job_id} is {status['state']}")
        results = job_results(ctx.store, job_id)
        now = ctx.api.now()
        key = ctx.api.identity.key
        report = sign_report(
            build_report(results["job"], results["rows"], issuer=key.controller, issued_at=now), key, created=now
        )
        return html_response(render_html(report)) if html else _json(report)

    @router.post(
        "/sync",
        summary="Pull every active registered adapter into the store now",
        response_model=None,
        responses={
            200: {
                "description": "`{adapters: {name: {stored, unchanged, revocations, unsigned, errors}}}`",
                **JSON_OBJECT,
            },
            **_problem_responses(401, 403, 429),
        },
    )
    def sync_adapters(ctx: Wiring, _p: Annotated[Principal, Depends(require_any("run:jobs"))]) -> Response:
        """One ``vcgate sync`` pass; every credential pulled is verified in full when a job uses it."""
        return _json(ctx.jobs.sync_now())

    return router


__all__ = ["JobRequest", "JobRunner", "index_submission", "jobs_router"]
