"""Scale-out on a Dask cluster (``distributed``): verification jobs and ingestion over a shared store.

The job driver (``vcgate jobs run --cluster …``) cuts the pending entries into chunks and submits one task per chunk;
each worker process builds its :class:`~vcgate.gateway._jobs.VerificationEnvironment` once (from the picklable
:class:`~vcgate.gateway._jobs.EnvironmentSpec`), verifies the chunk and writes its results to the shared store itself.
Writes are keyed by (entry hash, policy digest, instant) and never overwrite, so a task that Dask retries after a
worker died writes nothing twice. The driver records every task's worker, size, time and failure in ``job_tasks``:
``vcgate jobs status`` shows per-worker throughput and failed chunks from there, whichever process asks.

Ingestion (``vcgate sync --cluster``) runs one task per registered adapter. An adapter's cursor has a single writer:
the task holds a lease on the adapter (a row in ``leases`` with an expiry, taken in one transaction) for the pass.

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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vcgate.canonical_schema import VcgateError

from ._jobs import EnvironmentSpec, JobError, VerificationEnvironment

__all__ = [
    "SCHEDULER_ENV",
    "WORKER_DATABASE_ENV",
    "ClusterError",
    "DaskExecutor",
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
# Ingestion on the cluster: one task per adapter, one writer per cursor


@dataclass(frozen=True)
class SyncSpec:
    """What a worker needs for one adapter's sync pass (picklable). The witness key travels as a path: the key file
    must exist on the workers (a private key is never sent through the scheduler)."""

    database_url: str
    adapter: str
    now: datetime
    witness_key_path: str | None = None
    policy: Mapping[str, Any] | None = None
    checker_factory: str | None = None
    retry_quarantined: bool = False
    lease_seconds: float = 900.0
    witness_suite: str = "eddsa-rdfc-2022"


def sync_adapter_task(spec: SyncSpec) -> dict[str, Any]:
    """A Dask task: one sync pass of one registered adapter, holding the adapter's lease (``adapter:NAME``).

    Returns the adapter's counts as :func:`~vcgate.gateway._sync.sync` reports them, or ``{"leaseHeldBy": …}`` when
    another holder's unexpired lease says a pass is already running (that is not an error: the other pass moves the
    cursor).
    """
    from ._cluster_store import ClusterStore
    from ._jobs import _load_factory
    from ._store import Store
    from ._sync import sync
    from .verification._keys import KeyPair
    from .verification._policy import Policy

    url = os.environ.get(WORKER_DATABASE_ENV) or spec.database_url
    if url.startswith("sqlite") and not _sqlite_file_exists(url):
        raise ClusterError(f"worker {_worker_address()} cannot reach the database: {url} does not exist here")
    store = Store.open(url)
    leases = ClusterStore(store.db)
    holder = f"{_worker_address()}/{uuid.uuid4().hex[:8]}"
    lease = f"adapter:{spec.adapter}"
    try:
        if not leases.acquire_lease(lease, holder, seconds=spec.lease_seconds, now=spec.now):
            held = leases.lease_holders([lease]).get(lease, ("?", "?"))
            return {"leaseHeldBy": held[0], "leaseExpiresAt": held[1]}
        try:
            key = KeyPair.from_file(Path(spec.witness_key_path)) if spec.witness_key_path else None
            policy = Policy.from_mapping(dict(spec.policy), source="sync policy") if spec.policy else None
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
            )
            counts = dict(report.adapters.get(spec.adapter, {"errors": ["not registered"]}))
            counts["worker"] = _worker_address()
            return counts
        finally:
            leases.release_lease(lease, holder)
    finally:
        store.close()


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
) -> dict[str, dict[str, Any]]:
    """Run one sync task per adapter on the cluster; return each adapter's counts (a failed task's error is in
    its ``errors``). ``address`` ``None``/``"local"`` starts a ``LocalCluster``. ``witness_suite`` is the
    cryptosuite of witness signatures, as for :func:`~vcgate.gateway._sync.sync`."""
    executor = DaskExecutor(address, workers=workers)
    url = absolute_sqlite_url(store_url)
    key_path = str(Path(witness_key_path).resolve()) if witness_key_path else None
    executor.start_client()
    try:
        from distributed import as_completed

        specs = [
            SyncSpec(url, name, now, key_path, policy, checker_factory, retry_quarantined, witness_suite=witness_suite)
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
