"""Scale-out on a Dask cluster (``distributed``): verification jobs and ingestion over a shared store.

The job driver (``vcgate jobs run --cluster …``) cuts the pending entries into chunks and submits one task per chunk;
each worker process builds its :class:`~vcgate.gateway._jobs.VerificationEnvironment` once (from the picklable
:class:`~vcgate.gateway._jobs.EnvironmentSpec`), verifies the chunk and writes its results to the shared store itself.
Writes are keyed by (entry hash, policy digest, instant) and never overwrite, so a task that Dask retries after a
worker died writes nothing twice. The driver records every task's worker, size, time and failure in ``job_tasks``:
``vcgate jobs status`` shows per-worker throughput and failed chunks from there, whichever process asks.

Ingestion (``vcgate sync --cluster``) runs one task per registered adapter. An adapter's cursor has a single writer:
the task holds a lease on the adapter (a row in ``leases`` with an expiry, taken in one transaction, renewed every
page) for the pass. It reads the ledger page by page and sends each page's records out in chunks — translation,
evidence and signing run on every worker — then commits the page (credentials, revocations, quarantine, cursor) in
one transaction itself; the checks of the stored credentials go out in chunks too.

Without a scheduler address, :class:`DaskExecutor` starts a ``LocalCluster`` (worker processes on this machine, no
extra server). See docs/scale-out.md and docs/adr/0011-dask-scale-out.md.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import hashlib
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vcgate.adapters.sdk import SourceRecord
from vcgate.canonical_schema import VcgateError

from ._jobs import EnvironmentSpec, JobError, VerificationEnvironment
from ._store import AdapterRegistration
from ._sync import AdapterRun, RecordOutcome

if TYPE_CHECKING:
    from ._store import Store
    from .verification._keys import KeyPair

__all__ = [
    "SCHEDULER_ENV",
    "WORKER_DATABASE_ENV",
    "WORKER_WITNESS_KEY_ENV",
    "ClusterError",
    "ClusterWork",
    "DaskExecutor",
    "RecordChunkSpec",
    "SyncSpec",
    "TaskRecord",
    "scheduler_address",
    "sync_on_cluster",
]

log = logging.getLogger("vcgate.cluster")

SCHEDULER_ENV = "VCGATE_DASK_SCHEDULER"


class ClusterError(JobError):
    """The cluster could not run the work (scheduler unreachable or lost, chunks failed on every retry)."""


def scheduler_address(option: str | None) -> str | None:
    """The scheduler to use: the ``--cluster`` option, else ``$VCGATE_DASK_SCHEDULER``, else ``None`` (no cluster).

    ``local`` asks for an embedded ``LocalCluster``.
    """
    value = option or os.environ.get(SCHEDULER_ENV) or None
    if value is not None and value != "local" and "://" not in value:
        raise ClusterError(f"scheduler address {value!r} needs a scheme, e.g. tcp://127.0.0.1:8786 (or 'local')")
    return value


@dataclass(frozen=True)
class TaskRecord:
    """One finished (or failed) chunk: who ran it, how many entries, how long."""

    task_key: str
    worker: str
    entries: int
    seconds: float
    cpu_seconds: float
    error: str = ""

    def to_row(self, job_id: str) -> dict[str, Any]:
        """The ``job_tasks`` row."""
        return {
            "job_id": job_id,
            "task_key": self.task_key,
            "worker": self.worker,
            "entries": self.entries,
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "error": self.error,
            "finished_at": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }


# ---------------------------------------------------------------------------------------------------------------
# What runs on a worker


_ENVIRONMENTS: dict[str, VerificationEnvironment] = {}
_ENV_LOCK = threading.Lock()
_ENVIRONMENTS_KEPT = 4


def _spec_digest(spec: EnvironmentSpec) -> str:
    body = {
        "db": spec.database_url,
        "policy": spec.policy,
        "at": spec.checked_at.isoformat(),
        "resolver": spec.resolver,
        "checkers": spec.checker_factory,
        "cache": spec.use_cache,
    }
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


WORKER_DATABASE_ENV = "VCGATE_WORKER_DATABASE_URL"


def _environment(spec: EnvironmentSpec) -> VerificationEnvironment:
    """This worker process's environment for ``spec`` (built once; later tasks of the job reuse it).

    ``$VCGATE_WORKER_DATABASE_URL`` on a worker replaces the driver's database URL (the same database seen under
    another host name from the workers' network). A worker that cannot open the database fails its task with a
    :class:`ClusterError` that names the database; it never verifies against an empty store.
    """
    key = _spec_digest(spec)
    with _ENV_LOCK:
        env = _ENVIRONMENTS.get(key)
        if env is None:
            url = os.environ.get(WORKER_DATABASE_ENV) or spec.database_url
            if url.startswith("sqlite") and not _sqlite_file_exists(url):
                raise ClusterError(f"worker {_worker_address()} cannot reach the database: {url} does not exist here")
            try:
                env = VerificationEnvironment.from_spec(dataclasses.replace(spec, database_url=url))
            except VcgateError as exc:
                raise ClusterError(f"worker {_worker_address()} cannot reach the database: {exc}") from None
            _ENVIRONMENTS[key] = env
            while len(_ENVIRONMENTS) > _ENVIRONMENTS_KEPT:
                # Each sync pass checks at its own instant (a new spec): a long-lived worker keeps the newest few.
                _ENVIRONMENTS.pop(next(iter(_ENVIRONMENTS))).store.close()
        return env


def _sqlite_file_exists(url: str) -> bool:
    path = url.split("///", 1)[1] if "///" in url else ""
    return bool(path) and path != ":memory:" and Path(path).is_file()


def absolute_sqlite_url(url: str) -> str:
    """A SQLite URL with an absolute path (workers do not share the driver's working directory)."""
    if url.startswith("sqlite") and "///" in url:
        head, path = url.split("///", 1)
        if path and path != ":memory:" and not path.startswith("/"):
            return f"{head}///{Path(path).resolve()}"
    return url


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"pid:{os.getpid()}"


def verify_chunk_task(spec: EnvironmentSpec, chunk: list[dict[str, Any]]) -> dict[str, Any]:
    """A Dask task: verify one chunk of normalised entries and store the verdicts (idempotent writes).

    Returns each entry's key and verdict (the driver counts them and shows progress), the worker's address and the
    time spent.
    The environment is not thread-safe, so a worker with several threads runs one chunk at a time.
    """
    started, cpu = time.perf_counter(), time.process_time()
    env = _environment(spec)
    with _ENV_LOCK:
        # Stored with each step's timing, as the local executors store it (pages show it).
        verdicts = [v.to_json(timings=True) for v in env.verify([env.entry_from_json(e) for e in chunk])]
    # The job's policy digest is the digest of the policy the spec carries (Policy.digest hashes the data).
    env.store.put_results(verdicts, env.policy.digest, spec.checked_at)
    # The results are stored; the driver needs only each entry's key and verdict (progress and counts), so little
    # travels back through the scheduler.
    return {
        "worker": _worker_address(),
        "results": [{"entryKey": v["entryKey"], "verdict": v["verdict"]} for v in verdicts],
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
    }


# ---------------------------------------------------------------------------------------------------------------
# The executor (driver side)


class DaskExecutor:
    """Runs job chunks as Dask tasks, on a running scheduler (``tcp://HOST:8786``) or an embedded ``LocalCluster``.

    Workers write results themselves (:attr:`writes_results`); a chunk whose worker dies is re-run by Dask on
    another worker (``retries``); a chunk that fails on every try is reported by :meth:`drain_task_records` and
    makes :meth:`run` raise :class:`ClusterError` once the other chunks are done — its entries stay pending, and
    ``vcgate jobs run --resume`` verifies them later.
    """

    writes_results = True

    def __init__(
        self,
        address: str | None = None,
        *,
        workers: int | None = None,
        retries: int = 2,
        connect_timeout: float = 10.0,
    ) -> None:
        self.address = None if address in (None, "local") else address
        self.workers = workers
        self.retries = retries
        self.connect_timeout = connect_timeout
        self.dashboard: str | None = None
        self._client: Any = None
        self._cluster: Any = None
        self._spec: EnvironmentSpec | None = None
        self._records: list[TaskRecord] = []
        self._run_id = uuid.uuid4().hex[:8]

    def start(self, spec: EnvironmentSpec) -> None:
        """Connect to the scheduler (or start a ``LocalCluster``) for a job over ``spec``."""
        self._spec = dataclasses.replace(spec, database_url=absolute_sqlite_url(spec.database_url))
        self.start_client()

    @property
    def client(self) -> Any:
        """The connected ``distributed.Client``."""
        if self._client is None:
            raise ClusterError("the Dask client is not started")
        return self._client

    @property
    def run_id(self) -> str:
        """A short id that keeps this run's task keys apart from other runs'."""
        return self._run_id

    def start_client(self) -> None:
        """Connect to the scheduler, or start a ``LocalCluster`` when no address was given."""
        try:
            from distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - the cluster extra is missing
            raise ClusterError('Dask is not installed: pip install "vcgate[cluster]"') from None
        try:
            if self.address is None:
                n = self.workers or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
                self._cluster = LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0"
                )
                self._client = Client(self._cluster)
            else:
                self._client = Client(self.address, timeout=self.connect_timeout)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {self.address}: {exc}") from None
        self.dashboard = getattr(self._client, "dashboard_link", None)

    def run(self, chunks: Sequence[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
        """Submit one task per chunk; yield each chunk's verdicts as it completes (any order)."""
        if self._client is None or self._spec is None:
            raise ClusterError("DaskExecutor.start() was not called")
        from distributed import as_completed

        spec = self._client.scatter(self._spec, broadcast=True)
        keys = [f"vcgate-chunk-{self._run_id}-{i}" for i in range(len(chunks))]
        futures = self._client.map(verify_chunk_task, [spec] * len(chunks), chunks, key=keys, retries=self.retries)
        sizes = {k: len(c) for k, c in zip(keys, chunks, strict=True)}
        failed: list[str] = []
        try:
            for future in as_completed(futures):
                if future.status == "error":
                    exc = future.exception()
                    message = f"{type(exc).__name__}: {exc}"
                    self._records.append(TaskRecord(future.key, "", sizes[future.key], 0.0, 0.0, message))
                    failed.append(message)
                    log.error("chunk %s failed: %s", future.key, message)
                    continue
                out = future.result()
                self._records.append(
                    TaskRecord(future.key, out["worker"], len(out["results"]), out["seconds"], out["cpu"])
                )
                yield out["results"]
        except (OSError, asyncio.CancelledError, concurrent.futures.CancelledError) as exc:
            # The scheduler went away: its connection closed (CommClosedError is an OSError) or it cancelled our
            # futures as the client gave up reconnecting (FutureCancelledError).
            raise ClusterError(
                f"lost the Dask scheduler mid-job ({type(exc).__name__}); finished chunks are stored — "
                "resume with `vcgate jobs run --resume` once a scheduler is up"
            ) from None
        finally:
            for f in futures:
                f.cancel()
        if failed:
            raise ClusterError(
                f"{len(failed)} of {len(chunks)} chunk(s) failed on the cluster (first: {failed[0]}); their entries "
                "stay pending — fix the cause and run `vcgate jobs run --resume`"
            )

    def drain_task_records(self) -> list[TaskRecord]:
        """The task records gathered since the last call (the driver stores them in ``job_tasks``)."""
        out, self._records = self._records, []
        return out

    def close(self) -> None:
        """Disconnect (and stop the ``LocalCluster`` if this executor started one)."""
        try:
            if self._client is not None:
                self._client.close()
            if self._cluster is not None:
                self._cluster.close()
        except (OSError, TimeoutError) as exc:  # pragma: no cover - best effort on a dying cluster
            log.warning("closing the Dask client: %s", exc)
        self._client = self._cluster = None


# ---------------------------------------------------------------------------------------------------------------
# Ingestion on the cluster: one task per adapter (one writer per cursor), its records' work spread over workers

WORKER_WITNESS_KEY_ENV = "VCGATE_WORKER_WITNESS_KEY"


@dataclass(frozen=True)
class SyncSpec:
    """What a worker needs for one adapter's sync pass (picklable). The witness key travels as a path: the key file
    must exist on the workers (or ``$VCGATE_WORKER_WITNESS_KEY`` there names it); a private key is never sent
    through the scheduler. ``chunk_size`` records make one translate-and-sign task; ``check_size`` stored
    credentials one verification task."""

    database_url: str
    adapter: str
    now: datetime
    witness_key_path: str | None = None
    policy: Mapping[str, Any] | None = None
    checker_factory: str | None = None
    retry_quarantined: bool = False
    lease_seconds: float = 900.0
    witness_suite: str = "eddsa-rdfc-2022"
    chunk_size: int = 25
    check_size: int = 64
    lookahead: int = 4


@dataclass(frozen=True)
class RecordChunkSpec:
    """What a worker needs to translate and sign records of one adapter's pass (picklable): the registration to open
    the adapter from, the witness key's path and the suite. ``pass_key`` names the pass (a worker opens the adapter
    once per pass)."""

    pass_key: str
    registration: AdapterRegistration
    witness_key_path: str | None
    witness_suite: str


_RUNS: dict[str, AdapterRun] = {}
_RUNS_LOCK = threading.Lock()
_RUNS_KEPT = 8


def _witness_key(path: str | None) -> KeyPair | None:
    """The witness key on this worker: ``$VCGATE_WORKER_WITNESS_KEY``, else the driver's path. Errors name the path,
    never the key."""
    from .verification._keys import KeyPair

    where = os.environ.get(WORKER_WITNESS_KEY_ENV) or path
    if where is None:
        return None
    if not Path(where).is_file():
        raise ClusterError(
            f"worker {_worker_address()} has no witness key file at {where}: put the key there or set "
            f"${WORKER_WITNESS_KEY_ENV} on the worker"
        )
    return KeyPair.from_file(Path(where))


def _adapter_run(spec: RecordChunkSpec) -> AdapterRun:
    """This worker's opened adapter for the pass (opened on its first chunk; the oldest passes' are closed)."""
    from ._sync import open_run

    with _RUNS_LOCK:
        run = _RUNS.get(spec.pass_key)
        if run is None:
            key = _witness_key(spec.witness_key_path)
            run = open_run(spec.registration, witness_key=key, witness_suite=spec.witness_suite)
            _RUNS[spec.pass_key] = run
            while len(_RUNS) > _RUNS_KEPT:
                old = _RUNS.pop(next(iter(_RUNS)))
                close = getattr(old.adapter, "close", None)
                if callable(close):
                    close()
        return run


def translate_chunk_task(spec: RecordChunkSpec, records: list[SourceRecord]) -> dict[str, Any]:
    """A Dask task: translate and sign a chunk of one adapter's records (no store access; pure per record).

    Returns the records' outcomes in order (credentials, or the failures that quarantine them), the worker's address
    and the time spent. The lease holder stores them with their page.
    """
    from ._sync import record_outcomes

    started, cpu = time.perf_counter(), time.process_time()
    run = _adapter_run(spec)
    with _RUNS_LOCK:  # adapters are not promised to be thread-safe
        outcomes = record_outcomes(run, records)
    return {
        "worker": _worker_address(),
        "outcomes": outcomes,
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
    }


def check_credentials_task(spec: EnvironmentSpec, ids: list[str]) -> dict[str, Any]:
    """A Dask task: verify stored credentials (evidence, proofs, status, issuer) and cache their results in the store,
    as the end of a local sync pass does."""
    started, cpu = time.perf_counter(), time.process_time()
    env = _environment(spec)
    with _ENV_LOCK:
        env.views(ids)
    return {
        "worker": _worker_address(),
        "checked": len(ids),
        "seconds": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
    }


class ClusterWork:
    """The per-record work of one adapter's pass on the cluster (a :class:`~vcgate.gateway._sync.RecordWork`).

    Runs inside the adapter's task (the lease holder), with the client of :func:`distributed.worker_client`: each
    page's records go out in chunks of ``chunk_size`` as :func:`translate_chunk_task` tasks, up to ``lookahead``
    pages ahead; the holder waits for a page's chunks and commits the page with its cursor itself. Chunk tasks
    write nothing, so Dask may re-run one after its worker died. ``renew`` is called for every page (it keeps the
    lease; it raises when the lease was lost). ``per_worker`` counts what each worker did.
    """

    def __init__(
        self,
        client: Any,
        chunk: RecordChunkSpec,
        checks: EnvironmentSpec | None,
        *,
        chunk_size: int,
        check_size: int,
        lookahead: int,
        renew: Callable[[], None],
    ) -> None:
        self.client, self.chunk, self.checks = client, chunk, checks
        self.chunk_size, self.check_size, self.lookahead = max(1, chunk_size), max(1, check_size), lookahead
        self.renew = renew
        self.per_worker: dict[str, dict[str, float]] = {}
        self._n = 0

    def _key(self, kind: str) -> str:
        self._n += 1
        return f"vcgate-{kind}-{self.chunk.pass_key}-{self._n}"

    def _tally(self, out: Mapping[str, Any], **counts: int) -> None:
        seen = self.per_worker.setdefault(out["worker"], {"tasks": 0, "records": 0, "checked": 0, "seconds": 0.0})
        seen["tasks"] += 1
        seen["seconds"] = round(seen["seconds"] + float(out["seconds"]), 3)
        for k, v in counts.items():
            seen[k] += v

    def submit(self, run: AdapterRun, records: Sequence[SourceRecord]) -> Callable[[], Sequence[RecordOutcome]]:
        """Send ``records`` out in chunks; the returned callable gathers their outcomes in order."""
        self.renew()
        if not records:
            return list
        # The spec travels with each task (a few kB), not scattered: scattered data has no recipe, and a worker
        # that dies holding it would cancel the tasks that need it instead of letting Dask run them again.
        futures = [
            self.client.submit(
                translate_chunk_task,
                self.chunk,
                list(records[i : i + self.chunk_size]),
                key=self._key("records"),
                retries=2,
            )
            for i in range(0, len(records), self.chunk_size)
        ]

        def gather() -> list[RecordOutcome]:
            outcomes: list[RecordOutcome] = []
            for out in self.client.gather(futures):
                self._tally(out, records=len(out["outcomes"]))
                outcomes.extend(out["outcomes"])
            return outcomes

        return gather

    def check(self, ids: Sequence[str]) -> None:
        """Verify the stored credentials ``ids`` in chunks on the workers (results cached in the store)."""
        if self.checks is None or not ids:
            return
        futures = [
            self.client.submit(
                check_credentials_task,
                self.checks,
                list(ids[i : i + self.check_size]),
                key=self._key("checks"),
                retries=2,
            )
            for i in range(0, len(ids), self.check_size)
        ]
        for out in self.client.gather(futures):
            self._tally(out, checked=int(out["checked"]))


def _holder() -> str:
    """Who holds an adapter's lease: the adapter task's key. A Dask retry of the task (its worker died mid-pass)
    runs under the same key, so it takes its own lease over at once; the dead attempt can write nothing more."""
    try:
        from distributed import get_worker

        key = get_worker().get_current_task()
        if key:
            return str(key)
    except (ImportError, ValueError):
        pass
    return f"{_worker_address()}/{uuid.uuid4().hex[:8]}"


def sync_adapter_task(spec: SyncSpec) -> dict[str, Any]:
    """A Dask task: one sync pass of one registered adapter, holding the adapter's lease (``adapter:NAME``).

    The task reads the ledger and commits every page with its cursor (the single writer); the records' translation
    and signing and the checks of what was stored run as further tasks on all workers (:class:`ClusterWork`).
    Returns the adapter's counts as :func:`~vcgate.gateway._sync.sync` reports them plus ``worker`` (the lease
    holder's) and ``workers`` (what each worker did), or ``{"leaseHeldBy": …}`` when another holder's unexpired
    lease says a pass is already running (that is not an error: the other pass moves the cursor).
    """
    from distributed import worker_client

    from ._cluster_store import ClusterStore
    from ._store import Store

    url = os.environ.get(WORKER_DATABASE_ENV) or spec.database_url
    if url.startswith("sqlite") and not _sqlite_file_exists(url):
        raise ClusterError(f"worker {_worker_address()} cannot reach the database: {url} does not exist here")
    store = Store.open(url)
    leases = ClusterStore(store.db)
    holder, lease = _holder(), f"adapter:{spec.adapter}"
    try:
        if not leases.acquire_lease(lease, holder, seconds=spec.lease_seconds, now=spec.now):
            held = leases.lease_holders([lease]).get(lease, ("?", "?"))
            return {"leaseHeldBy": held[0], "leaseExpiresAt": held[1]}
        try:

            def renew() -> None:
                if not leases.acquire_lease(lease, holder, seconds=spec.lease_seconds):
                    raise ClusterError(f"sync {spec.adapter}: lost the adapter's lease to another pass; stopping")

            with worker_client() as client:  # secedes: this worker's thread is free for chunks meanwhile
                return _sync_holding_lease(store, spec, client, holder, renew)
        finally:
            leases.release_lease(lease, holder)
    finally:
        store.close()


def _sync_holding_lease(
    store: Store, spec: SyncSpec, client: Any, holder: str, renew: Callable[[], None]
) -> dict[str, Any]:
    from ._jobs import _load_factory
    from ._sync import sync
    from .verification._policy import Policy

    reg = next((r for r in store.adapters() if r.name == spec.adapter), None)
    if reg is None:
        return {"errors": [f"no registered adapter {spec.adapter!r}"]}
    key = _witness_key(spec.witness_key_path)
    policy = Policy.from_mapping(dict(spec.policy), source="sync policy") if spec.policy else None
    checks = (
        EnvironmentSpec(store.url, dict(spec.policy), spec.now, checker_factory=spec.checker_factory)
        if spec.policy
        else None
    )
    work = ClusterWork(
        client,
        RecordChunkSpec(f"{holder}-{uuid.uuid4().hex[:8]}", reg, spec.witness_key_path, spec.witness_suite),
        checks,
        chunk_size=spec.chunk_size,
        check_size=spec.check_size,
        lookahead=spec.lookahead,
        renew=renew,
    )
    checkers = dict(_load_factory(spec.checker_factory)()) if spec.checker_factory else None
    report = sync(
        store,
        now=spec.now,
        witness_key=key,
        policy=policy,
        checkers=checkers,
        retry_quarantined=spec.retry_quarantined,
        only=[spec.adapter],
        witness_suite=spec.witness_suite,
        work=work,
    )
    counts = dict(report.adapters.get(spec.adapter, {"errors": ["not registered"]}))
    counts["worker"] = _worker_address()
    counts["workers"] = work.per_worker
    return counts


def sync_on_cluster(
    store_url: str,
    adapters: Sequence[str],
    *,
    address: str | None,
    now: datetime,
    witness_key_path: str | None = None,
    policy: Mapping[str, Any] | None = None,
    checker_factory: str | None = None,
    retry_quarantined: bool = False,
    workers: int | None = None,
    witness_suite: str = "eddsa-rdfc-2022",
    chunk_size: int = 25,
) -> dict[str, dict[str, Any]]:
    """Run one sync task per adapter on the cluster, each spreading its records' work over the workers; return
    each adapter's counts (a failed task's error is in its ``errors``). ``address`` ``None``/``"local"`` starts a
    ``LocalCluster``."""
    executor = DaskExecutor(address, workers=workers)
    url = absolute_sqlite_url(store_url)
    key_path = str(Path(witness_key_path).resolve()) if witness_key_path else None
    executor.start_client()
    try:
        from distributed import as_completed

        specs = [
            SyncSpec(
                url,
                name,
                now,
                key_path,
                policy,
                checker_factory,
                retry_quarantined,
                witness_suite=witness_suite,
                chunk_size=chunk_size,
            )
            for name in adapters
        ]
        futures = executor.client.map(
            sync_adapter_task, specs, key=[f"vcgate-sync-{executor.run_id}-{n}" for n in adapters], retries=1
        )
        names = dict(zip([f.key for f in futures], adapters, strict=True))
        out: dict[str, dict[str, Any]] = {}
        try:
            for future in as_completed(futures):
                name = names[future.key]
                if future.status == "error":
                    exc = future.exception()
                    out[name] = {"errors": [f"{type(exc).__name__}: {exc}"]}
                else:
                    out[name] = future.result()
        except (OSError, asyncio.CancelledError, concurrent.futures.CancelledError) as exc:
            raise ClusterError(f"lost the Dask scheduler during sync ({type(exc).__name__}); run it again") from None
        return {n: out[n] for n in adapters if n in out}
    finally:
        executor.close()
