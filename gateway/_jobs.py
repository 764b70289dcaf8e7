"""Verification jobs (ARCHITECTURE.md, "Runtime"): verify thousands of entries, resumably, across cores.

A job is created once from an input (entry rows, JSON Lines or CSV): its rows, the normalised entries and their
invoice claims are written in one transaction, with the policy and the check instant fixed. Running it verifies the
entries that have no stored result yet, in chunks, through an :class:`Executor` (a local process pool now, a
distributed engine later); each chunk's results are committed in one transaction keyed by the entry hash, so a job
killed at any point resumes where it stopped, with no entry lost or counted twice, and re-running a finished job
changes nothing. Inside a worker a :class:`VerificationEnvironment` loads the credential graph for a chunk from the
store, runs the per-credential pipeline (cached by credential digest, policy digest, instant and store
generation) and decides each entry with the pure linking code.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import importlib
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from vcgate.adapters.sdk import (
    EvidenceChecker,
    apply_mapping,
    load_adapter,
)
from vcgate.canonical_schema import Check, VcgateError

from ._links import (
    REFUSING_CODES,
    ClaimBook,
    CredentialGraph,
    CredentialView,
    Entry,
    EntryError,
    EntryRow,
    EntryVerdict,
    entry_from_credential,
    follow_keys,
    lookup_keys,
    read_entries_csv,
    read_entries_jsonl,
)
from ._store import Store, StoreStatusListFetcher
from .verification._dids import DidResolver
from .verification._keys import KeyPair
from .verification._ledger import LedgerStages
from .verification._pipeline import CredentialPipeline, PipelineResult
from .verification._policy import Policy
from .verification._proofs import sign
from .verification._status import StatusListChecker
from .verification._trust import TrustPolicy
from .verification._verify import Verifier
from .verification._view import ParsedCredential

log = logging.getLogger("vcgate.jobs")


class JobError(VcgateError):
    """A job cannot be created or run (unknown job, unreadable input, …)."""


def _ts(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------------------------------
# The verification environment (what a worker holds)


@dataclass(frozen=True)
class EnvironmentSpec:
    """Everything a worker needs to rebuild the verification environment (picklable).

    ``checker_factory`` (``"module:callable"``, returning ``{ledger kind: EvidenceChecker}``) adds evidence checkers
    to those of the registered adapters, for ledgers whose adapter is not installed as a plugin; ``resolver`` is
    ``offline`` (did:key and did:jwk only) or ``default`` (plus did:web and DID plugins).
    """

    database_url: str
    policy: Mapping[str, Any]
    checked_at: datetime
    resolver: Literal["offline", "default"] = "offline"
    checker_factory: str | None = None
    use_cache: bool = True


def _load_factory(path: str) -> Callable[[], Mapping[str, EvidenceChecker]]:
    module, _, attr = path.partition(":")
    try:
        fn = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise JobError(f"cannot load checker factory {path!r}: {exc}") from None
    return fn  # type: ignore[no-any-return]  # a callable by contract; checked when called


def adapter_checkers(store: Store) -> dict[str, EvidenceChecker]:
    """The evidence checkers by ledger kind: the gateway's own for every installed built-in kind (whoever runs the
    adapter, a remote service's checks are never used), then those of the registered local adapters (built from
    their configuration). A broken adapter is skipped (its evidence then reports ``ADAPTER_MISSING``)."""
    from ._sync import builtin_checkers

    out = builtin_checkers()
    for reg in store.adapters():
        kind: str | None = None
        try:
            plugin = load_adapter(reg.plugin)
            kind = plugin.kind
            if kind == "remote":
                continue
            out[kind] = plugin.create(reg.config).evidence_checker()
        except VcgateError as exc:
            if kind in out:
                # E.g. a witness-mode adapter, whose witness DID `vcgate sync --witness-key` supplies: the gateway's
                # own offline checker of its ledger kind checks its evidence all the same.
                log.info("adapter %s not built (%s); its %s evidence is checked offline", reg.name, exc, kind)
            else:
                log.warning("adapter %s unavailable: %s", reg.name, exc)
    return out


def store_ledger_stages(
    store: Store, trust: TrustPolicy, *, checkers: Mapping[str, EvidenceChecker] | None = None
) -> LedgerStages:
    """Stages 3–7 over a snapshot of ``store``: its parties, published mappings, ledger revocations and
    observations, raw records, and the evidence checkers of the registered adapters (``checkers`` added on top)."""
    all_checkers = adapter_checkers(store)
    all_checkers.update(checkers or {})
    return LedgerStages(
        trust,
        store.parties(),
        all_checkers,
        store.mappings(),
        store.revocations().get,
        store.observations(),
        store.raw_record,
    )


class StoreLedgerStages:
    """Stages 3–7 over ``store``, re-read whenever the store's generation changes (a long-running API process sees
    new parties, mappings, revocations and ledger reads without a restart)."""

    def __init__(
        self, store: Store, trust: TrustPolicy, *, checkers: Mapping[str, EvidenceChecker] | None = None
    ) -> None:
        self.store = store
        self.trust = trust
        self.checkers = dict(checkers or {})
        self._lock = threading.Lock()
        self._cached: tuple[int, LedgerStages] | None = None

    def current(self) -> LedgerStages:
        """The stages over the store as it is now."""
        generation = self.store.generation()
        with self._lock:
            if self._cached is not None and self._cached[0] == generation:
                return self._cached[1]
        stages = store_ledger_stages(self.store, self.trust, checkers=self.checkers)
        with self._lock:
            self._cached = (generation, stages)
        return stages

    def run(
        self, credential: ParsedCredential, issuer: str | None, *, checked_at: datetime
    ) -> tuple[str | None, list[Check]]:
        """Stages 3–7 on ``credential`` over the current snapshot (see :meth:`LedgerStages.run`)."""
        return self.current().run(credential, issuer, checked_at=checked_at)


def store_verifier(
    store: Store,
    policy: Policy,
    *,
    checked_at: datetime,
    resolver: DidResolver | None = None,
    checkers: Mapping[str, EvidenceChecker] | None = None,
    ledger: LedgerStages | None = None,
) -> Verifier:
    """The one verifier with ``store`` as its provider: status lists the store keeps (fresh as of ``checked_at`` by
    the policy's bound) and the ledger stages of :func:`store_ledger_stages`. What jobs, ``vcgate verify --db`` and
    the API's verify endpoint run."""
    trust = TrustPolicy.from_policy(policy)
    fetcher = StoreStatusListFetcher(
        store.documents(), checked_at=checked_at, max_age_seconds=trust.status_freshness.total_seconds()
    )
    return Verifier(
        policy,
        resolver or DidResolver.offline(),
        status_checker=StatusListChecker(fetcher),
        ledger=ledger if ledger is not None else store_ledger_stages(store, trust, checkers=checkers),
    )


class VerificationEnvironment:
    """A store snapshot plus the pipeline: verifies entries (:meth:`verify`) with memoised credential results."""

    def __init__(
        self,
        store: Store,
        policy: Policy,
        *,
        checked_at: datetime,
        resolver: DidResolver | None = None,
        checkers: Mapping[str, EvidenceChecker] | None = None,
        use_cache: bool = True,
    ) -> None:
        self.store = store
        self.policy = policy
        self.trust = TrustPolicy.from_policy(policy)
        self.checked_at = checked_at
        self.use_cache = use_cache
        self.generation = store.generation()
        stages = store_ledger_stages(store, self.trust, checkers=checkers)
        self.verifier = store_verifier(store, policy, checked_at=checked_at, resolver=resolver, ledger=stages)
        self.parties = store.parties() if stages.parties is None else stages.parties
        self.pipeline = CredentialPipeline(
            self.verifier,
            self.trust,
            self.parties,
            checkers=stages.checkers,
            mappings=stages.mappings,
            revocations=stages.revocations,
            observations=stages.observations,
            raw_records=stages.raw_records,
        )
        self._views: dict[tuple[str, str], CredentialView] = {}
        from .workflows._decide import workflow_of

        #: The workflow that judges entries (docs/workflows.md): the one the policy names, else the shipped ``ipr``.
        self.workflow = workflow_of(policy)
        # Invoice claims are fixed when a job is created; a worker loads each invoice's claims once.
        self._claims: dict[str, list[dict[str, Any]]] = {}
        self._books: dict[str, ClaimBook] = {}
        self.stats = {"pipeline_runs": 0, "cache_hits": 0, "memo_hits": 0}

    @classmethod
    def from_spec(cls, spec: EnvironmentSpec) -> VerificationEnvironment:
        """Build in a worker process from a picklable :class:`EnvironmentSpec`."""
        store = Store.open(spec.database_url)
        checkers = dict(_load_factory(spec.checker_factory)()) if spec.checker_factory else {}
        resolver = DidResolver.default() if spec.resolver == "default" else DidResolver.offline()
        policy = Policy.from_mapping(dict(spec.policy), source="job policy")
        return cls(
            store, policy, checked_at=spec.checked_at, resolver=resolver, checkers=checkers, use_cache=spec.use_cache
        )

    def views(self, ids: Iterable[str]) -> dict[str, CredentialView]:
        """Pipeline views of the stored credentials ``ids`` (memoised, then cached in the store, then computed)."""
        stored = self.store.credentials(ids)
        out: dict[str, CredentialView] = {}
        missing: dict[str, tuple[str, Any]] = {}
        for cid, sc in stored.items():
            memo = self._views.get((cid, sc.digest)) if self.use_cache else None
            if memo is not None:
                out[cid] = memo
                self.stats["memo_hits"] += 1
            else:
                key = Store.cache_key(sc.digest, self.policy.digest, self.checked_at, self.generation)
                missing[key] = (cid, sc)
        cached = self.store.cached_results(missing) if (missing and self.use_cache) else {}
        new: dict[str, tuple[str, Mapping[str, Any]]] = {}
        for key, (cid, sc) in missing.items():
            if key in cached:
                result = PipelineResult.from_json(cached[key])
                self.stats["cache_hits"] += 1
            else:
                result = self.pipeline.check(sc.document, checked_at=self.checked_at, digest=sc.digest)
                self.stats["pipeline_runs"] += 1
                new[key] = (cid, result.to_json())
            view = result.view(sc.document)
            self._views[(cid, sc.digest)] = view
            out[cid] = view
        if new and self.use_cache:
            self.store.cache_results(new)
        return out

    def graph_for(self, entries: Sequence[Entry]) -> CredentialGraph:
        """The credential graph the verdicts on ``entries`` need (two rounds of index lookups)."""
        keys: set[tuple[str, str]] = set()
        direct: set[str] = set()
        for e in entries:
            keys |= lookup_keys(e)
            direct.update(x for x in (e.invoice_id, e.credential_id) if x)
        ids = self.store.credential_ids(keys) | direct
        views = self.views(ids)
        more = follow_keys(views.values())
        if more:
            extra = self.store.credential_ids(more) - set(views)
            views.update(self.views(extra))
        return CredentialGraph.of(views.values())

    def verify(self, entries: Sequence[Entry]) -> list[EntryVerdict]:
        """Verdicts on ``entries`` (in order), each judged at its entry date and at the environment's instant.

        With ``use_cache`` off every entry loads and verifies its own credentials (a cold run: no result is reused,
        not even between entries of one chunk).
        """
        if self.workflow.name != "ipr":
            return self._verify_in_order(entries)
        if not self.use_cache and len(entries) > 1:
            return [v for e in entries for v in self.verify([e])]
        graph = self.graph_for(entries)
        invoices = {e.invoice_number for e in entries if e.invoice_number}
        missing = invoices - set(self._claims)
        if missing:
            for inv in missing:
                self._claims[inv] = []
            for c in self.store.claims(missing):
                self._claims[c["invoice_number"]].append(c)
            self._books = {}
        from .workflows._decide import decide_entry, session

        # One workflow session per graph: typed views and the workflow's index are built once for the chunk.
        run = session(self.workflow, graph, self.parties, self.trust)
        return [
            decide_entry(
                e,
                graph,
                self.parties,
                self.trust,
                checked_at=self.checked_at,
                prior_claims=self._book(e.invoice_number).prior(e) if e.invoice_number else {},
                run=run,
            )
            for e in entries
        ]

    def _verify_in_order(self, entries: Sequence[Any]) -> list[EntryVerdict]:
        # A workflow other than IPR loads the credentials of the types it names and judges the entries in one
        # ordered pass (entry date, then number): its reconciliations see what earlier entries of the job claimed.
        from .workflows._decide import session
        from .workflows._entries import judge_in_order

        types = {c.type for c in self.workflow.credentials.values()}
        views = self.views(self.store.credential_ids({("type", t) for t in types}))
        run = session(self.workflow, CredentialGraph.of(views.values()), self.parties, self.trust)
        return judge_in_order(
            run, entries, checked_at=self.checked_at, policy=self.trust.policy_name, policy_digest=self.policy.digest
        )

    def entry_from_json(self, value: Mapping[str, Any]) -> Any:
        """A stored entry (``Entry.to_json`` or a workflow entry's normalised row) back as an entry."""
        if "workflow" in value:
            from .workflows._entries import parse_workflow_entry

            return parse_workflow_entry(self.workflow, value)
        return Entry.from_json(value)

    def _book(self, invoice: str) -> ClaimBook:
        book = self._books.get(invoice)
        if book is None:
            book = self._books[invoice] = ClaimBook(self._claims.get(invoice, ()))
        return book


# ---------------------------------------------------------------------------------------------------------------
# Executors


class Executor(Protocol):
    """Runs chunk verification somewhere: a local process pool now, a distributed engine later.

    ``start`` receives the environment spec every worker builds once; ``run`` yields each chunk's results as it
    completes (any order); ``close`` releases the workers.
    """

    def start(self, spec: EnvironmentSpec) -> None:
        """Prepare workers for ``spec``."""
        ...

    def run(self, chunks: Sequence[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
        """Verify each chunk of normalised entries (JSON); yield each chunk's verdicts (JSON) as it finishes."""
        ...

    def close(self) -> None:
        """Stop the workers."""
        ...


_WORKER_ENV: VerificationEnvironment | None = None


def _init_worker(spec: EnvironmentSpec) -> None:
    global _WORKER_ENV
    _WORKER_ENV = VerificationEnvironment.from_spec(spec)


def _verify_chunk(chunk: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if _WORKER_ENV is None:  # pragma: no cover - the initializer always ran
        raise JobError("worker has no verification environment")
    entries = [_WORKER_ENV.entry_from_json(e) for e in chunk]
    # Stored with each step's timing (pages show it); the verdict itself is deterministic.
    return [v.to_json(timings=True) for v in _WORKER_ENV.verify(entries)]


class InlineExecutor:
    """Verifies chunks in this process, one after the other (small jobs, ``verify-entry``, tests)."""

    def __init__(self, environment: VerificationEnvironment | None = None) -> None:
        self._env = environment

    def start(self, spec: EnvironmentSpec) -> None:
        """Build the environment unless one was given."""
        if self._env is None:
            self._env = VerificationEnvironment.from_spec(spec)

    def run(self, chunks: Sequence[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
        """Verify chunks in order."""
        env = self._env
        if env is None:
            raise JobError("InlineExecutor.start() was not called")
        for chunk in chunks:
            yield [v.to_json(timings=True) for v in env.verify([env.entry_from_json(e) for e in chunk])]

    def close(self) -> None:
        """Nothing to release."""


class LocalProcessExecutor:
    """A local :class:`concurrent.futures.ProcessPoolExecutor`; each worker builds its environment once."""

    def __init__(self, workers: int | None = None) -> None:
        if workers is None:
            workers = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        self.workers = workers
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None

    def start(self, spec: EnvironmentSpec) -> None:
        """Start the pool."""
        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=self.workers, initializer=_init_worker, initargs=(spec,)
        )

    def run(self, chunks: Sequence[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
        """Submit every chunk; yield results as chunks complete."""
        if self._pool is None:
            raise JobError("LocalProcessExecutor.start() was not called")
        futures = [self._pool.submit(_verify_chunk, c) for c in chunks]
        try:
            for f in concurrent.futures.as_completed(futures):
                yield f.result()
        finally:
            for f in futures:
                f.cancel()

    def close(self) -> None:
        """Shut the pool down."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


# ---------------------------------------------------------------------------------------------------------------
# Jobs


@dataclass(frozen=True)
class JobSummary:
    """Where a job stands: rows, distinct entries, malformed rows, results stored, verdict counts."""

    job_id: str
    state: str
    rows: int
    entries: int
    malformed: int
    done: int
    verdicts: Mapping[str, int] = field(default_factory=dict)
    verified_now: int = 0
    cluster: Mapping[str, str] | None = None
    workers: Sequence[Mapping[str, Any]] = ()
    failed_tasks: Sequence[Mapping[str, str]] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``vcgate jobs status --json``."""
        return {
            "jobId": self.job_id,
            "state": self.state,
            "rows": self.rows,
            "entries": self.entries,
            "malformed": self.malformed,
            "done": self.done,
            "verdicts": dict(self.verdicts),
            "verifiedNow": self.verified_now,
            "cluster": dict(self.cluster) if self.cluster else None,
            "workers": [dict(w) for w in self.workers],
            "failedTasks": [dict(f) for f in self.failed_tasks],
        }


def read_entry_file(name: str, data: bytes, workflow: Any = None) -> list[EntryRow]:
    """Parse an entries file by its name: ``.csv`` as CSV, anything else as JSON Lines. With a ``workflow`` other
    than ``ipr``, rows are that workflow's entries (JSON Lines; docs/workflows.md, "Entries")."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise JobError(f"{name} is not UTF-8: {exc}") from None
    if workflow is not None and workflow.name != "ipr":
        if name.lower().endswith(".csv"):
            raise JobError(f"{name}: workflow {workflow.name} reads JSON Lines entries, not CSV")
        from .workflows._entries import read_workflow_entries

        rows = read_workflow_entries(workflow, text)
    else:
        rows = list(read_entries_csv(text) if name.lower().endswith(".csv") else read_entries_jsonl(text))
    for r in rows:
        if r.problem is not None and r.problem.code in REFUSING_CODES:
            where = f" at {r.problem.pointer}" if r.problem.pointer else ""
            raise JobError(f"{name} row {r.row}: {r.problem.code}{where}: {r.problem.detail}")
    return rows


def job_policy(policy: Policy) -> Policy:
    """``policy`` naming the workflow its jobs run: a policy that names none gets the shipped default (``ipr``) by
    name, version and digest, so the job id and the stored results' key change when that workflow file does."""
    if "workflow" in policy.raw:
        return policy
    from .workflows import builtin_workflow
    from .workflows._decide import DEFAULT_WORKFLOW, policy_with_workflow

    return policy_with_workflow(policy, builtin_workflow(DEFAULT_WORKFLOW))


def default_job_id(data: bytes, policy: Policy, checked_at: datetime | None) -> str:
    """A job id derived from the input bytes, the policy digest and (when fixed) the check instant: running the same
    command again resumes the same job."""
    h = hashlib.sha256(data)
    h.update(job_policy(policy).digest.encode())
    if checked_at is not None:
        h.update(_ts(checked_at).encode())
    return "job-" + h.hexdigest()[:16]


def create_job(
    store: Store,
    rows: Sequence[EntryRow],
    policy: Policy,
    *,
    job_id: str,
    checked_at: datetime,
    source: str,
) -> bool:
    """Create the job (rows, normalised entries, invoice claims) unless it exists; returns whether it was created.
    The job's policy names its workflow (:func:`job_policy`): its results are keyed by that policy's digest."""
    policy = job_policy(policy)
    job_rows = []
    entries: dict[str, dict[str, Any]] = {}
    claims: list[dict[str, Any]] = []
    for r in rows:
        if r.entry is not None:
            key = r.entry.key
            job_rows.append({"row_no": r.row, "entry_key": key, "problem": None, "raw": r.raw})
            if key not in entries:
                entries[key] = {
                    "entry_key": key,
                    "entry_number": r.entry.entry_number,
                    "entry": json.dumps(r.entry.to_json()),
                }
                claims.extend(r.entry.claims())
        else:
            problem = r.problem.to_json() if r.problem else None
            job_rows.append({"row_no": r.row, "entry_key": None, "problem": json.dumps(problem), "raw": r.raw})
    return store.create_job(
        job_id,
        source=source,
        policy_name=policy.name,
        policy_digest=policy.digest,
        policy=dict(policy.raw),
        checked_at=checked_at,
        rows=job_rows,
        entries=list(entries.values()),
        claims=claims,
    )


def job_status(store: Store, job_id: str) -> JobSummary:
    """The job's progress and verdict counts."""
    job = store.job(job_id)
    if job is None:
        raise JobError(f"no job {job_id!r}; `vcgate jobs status` lists the jobs")
    rows = store.job_rows(job_id)
    keys = {r["entry_key"] for r in rows if r["entry_key"]}
    checked_at = datetime.fromisoformat(job["checked_at"].replace("Z", "+00:00"))
    # the verdict column, not the stored results: parsing every result cost ~0.5 ms per entry at the end of a job
    results = store.result_verdicts(keys, job["policy_digest"], checked_at)
    verdicts: dict[str, int] = {}
    for verdict in results.values():
        verdicts[verdict] = verdicts.get(verdict, 0) + 1
    from ._cluster_store import ClusterStore

    tasks = ClusterStore(store.db)
    return JobSummary(
        job_id=job_id,
        state=job["state"],
        rows=len(rows),
        entries=len(keys),
        malformed=sum(1 for r in rows if r["problem"]),
        done=len(results),
        verdicts=verdicts,
        cluster=tasks.cluster(job_id),
        workers=tasks.throughput(job_id),
        failed_tasks=tasks.failures(job_id),
    )


def run_job(
    store: Store,
    job_id: str,
    *,
    executor: Executor | None = None,
    chunk_size: int = 64,
    resolver: Literal["offline", "default"] = "offline",
    checker_factory: str | None = None,
    use_cache: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> JobSummary:
    """Verify every entry of the job that has no stored result; commit results chunk by chunk. Resumable."""
    job = store.job(job_id)
    if job is None:
        raise JobError(f"no job {job_id!r}")
    checked_at = datetime.fromisoformat(job["checked_at"].replace("Z", "+00:00"))
    rows = store.job_rows(job_id)
    ordered = list(dict.fromkeys(r["entry_key"] for r in rows if r["entry_key"]))
    done = store.done_keys(ordered, job["policy_digest"], checked_at)
    pending = [k for k in ordered if k not in done]
    total = len(ordered)
    if progress:
        progress(len(done), total)
    verified_now = 0
    if pending:
        entries = store.entries(pending)
        chunks = [[entries[k] for k in pending[i : i + chunk_size]] for i in range(0, len(pending), chunk_size)]
        if (job["policy"].get("workflow") or {}).get("name", "ipr") != "ipr":
            # Reconciliation across the job's entries needs one ordered pass over all of them (docs/workflows.md,
            # "Jobs"); only the results not stored yet are written.
            everything = store.entries(ordered)
            chunks = [[everything[k] for k in ordered]]
        spec = EnvironmentSpec(
            store.url,
            job["policy"],
            checked_at,
            resolver=resolver,
            checker_factory=checker_factory,
            use_cache=use_cache,
        )
        ex = executor or (LocalProcessExecutor() if len(chunks) > 1 else InlineExecutor())
        ex.start(spec)
        _note_cluster(store, job_id, ex)
        try:
            count = len(done)
            for chunk_results in ex.run(chunks):
                results = [r for r in chunk_results if r.get("entryKey") not in done]
                # One transaction per chunk: a kill loses at most the chunks in flight, which the next run redoes.
                # A distributed executor's workers store their results themselves (the same idempotent write).
                if not getattr(ex, "writes_results", False):
                    store.put_results(results, job["policy_digest"], checked_at)
                _record_tasks(store, job_id, ex)
                verified_now += len(results)
                count += len(results)
                if progress:
                    progress(count, total)
        finally:
            _record_tasks(store, job_id, ex)
            ex.close()
    store.finish_job(job_id)
    summary = job_status(store, job_id)
    return dataclasses.replace(summary, verified_now=verified_now)


def _note_cluster(store: Store, job_id: str, executor: Executor) -> None:
    """Remember the cluster a job runs on (scheduler and dashboard), for ``jobs status`` and the API."""
    address = getattr(executor, "address", None)
    dashboard = getattr(executor, "dashboard", None)
    if address is not None or dashboard is not None:
        from ._cluster_store import ClusterStore

        ClusterStore(store.db).set_cluster(job_id, str(address or "local"), str(dashboard or ""))


def _record_tasks(store: Store, job_id: str, executor: Executor) -> None:
    """Store the task records a distributed executor gathered (per-worker throughput, failed chunks)."""
    drain = getattr(executor, "drain_task_records", None)
    if drain is None:
        return
    records = drain()
    if records:
        from ._cluster_store import ClusterStore

        ClusterStore(store.db).put_tasks([r.to_row(job_id) for r in records])


def job_results(store: Store, job_id: str) -> dict[str, Any]:
    """The job's rows with their verdicts (or row problems), in input order, plus the job record."""
    job = store.job(job_id)
    if job is None:
        raise JobError(f"no job {job_id!r}")
    checked_at = datetime.fromisoformat(job["checked_at"].replace("Z", "+00:00"))
    rows = store.job_rows(job_id)
    results = store.results({r["entry_key"] for r in rows if r["entry_key"]}, job["policy_digest"], checked_at)
    out_rows = []
    seen: set[str] = set()
    for r in rows:
        item: dict[str, Any] = {"row": r["row_no"]}
        if r["problem"]:
            item["problem"] = r["problem"]
            item["raw"] = r["raw"]
        else:
            key = r["entry_key"]
            item["entryKey"] = key
            if key in seen:
                item["duplicate"] = True
            seen.add(key)
            item["result"] = results.get(key)
        out_rows.append(item)
    return {"job": job, "rows": out_rows}


def run_entries(
    entries: Iterable[Entry | Mapping[str, Any]],
    store: Store,
    policy: Policy,
    *,
    checked_at: datetime,
    checkers: Mapping[str, EvidenceChecker] | None = None,
    resolver: DidResolver | None = None,
    record_claims: bool = True,
) -> list[EntryVerdict]:
    """Verify entries from code (the demo's API), in this process: rows are parsed, their invoice claims recorded
    (so quantities reconcile across entries), and verdicts returned in input order.

    ``checkers`` add evidence checkers to those of the registered adapters. For large batches with stored,
    resumable results use :func:`create_job` and :func:`run_job`. Raises :class:`EntryError` for a malformed row.
    """
    parsed = [e if isinstance(e, Entry) else _parse_any(e) for e in entries]
    if record_claims:
        store.put_claims([c for e in parsed for c in e.claims()])
    env = VerificationEnvironment(store, policy, checked_at=checked_at, resolver=resolver, checkers=checkers)
    return env.verify(parsed)


def _parse_any(value: Mapping[str, Any]) -> Entry:
    from ._links import parse_entry

    return parse_entry(value)


def entry_for_credential(store: Store, credential_id_or_doc: str | Mapping[str, Any]) -> Entry:
    """The entry an entry credential (stored id, or the document) declares, with line GTINs from its invoice."""
    if isinstance(credential_id_or_doc, str):
        stored = store.credential(credential_id_or_doc)
        if stored is None:
            raise JobError(f"no stored credential {credential_id_or_doc!r}")
        doc: Mapping[str, Any] = stored.document
    else:
        doc = credential_id_or_doc
    from ._links import related_invoice

    invoice_id, _ = related_invoice(doc)
    invoice = store.credential(invoice_id) if invoice_id else None
    try:
        return entry_from_credential(doc, invoice.document if invoice else None)
    except EntryError as exc:
        raise JobError(f"cannot read the entry credential: {exc}") from None


def apply_and_sign(record: Any, mapping: Any, key: KeyPair, *, witness: str | None = None) -> dict[str, Any]:
    """Translate ``record`` under ``mapping`` and sign it with ``key`` (created = ledger time): the issuing step of
    a partner (partner mode) or of the gateway (witness mode) in one call, for demos and tests."""
    translation = apply_mapping(mapping, record, witness=witness)
    return sign(translation.to_json(), key, suite="eddsa-rdfc-2022", created=record.ledger_time)


# Sync lives in its own module; these names stay importable from here.
from ._sync import SyncReport as SyncReport  # noqa: E402  (re-exported; _sync imports this module lazily)
from ._sync import sync as sync  # noqa: E402
