"""Plain ledger throughput: durable appends per second on SQLite, and proofs served per second.

Every append counted here is durable when it is acknowledged: SQLite in WAL mode with ``synchronous=FULL`` fsyncs
the WAL at every commit, and a receipt is returned only after its commit. Throughput comes from group commit (many
appends share one transaction and one fsync), never from relaxing durability. Measured:

1. store appends, one commit per append (the fsync-bound floor) and batched commits of 64 / 256 entries;
2. HTTP ``POST /entries`` from many concurrent clients against a real ``vcgate plain-ledger serve`` (the server
   verifies each entry's signature and group-commits whatever arrived while the previous batch was committing);
3. HTTP ``POST /entries/batch`` (one request, one commit, up to 1,000 entries);
4. inclusion proofs per second, from the store and over HTTP.

Entries are signed before timing starts (signing is the submitter's work, not the log's). The load generator runs
on the same machine as the server, so the HTTP figures are a lower bound. Run from the repository root:

    python benchmarks/plain_ledger.py [--entries 4000] [--processes 2] [--threads 16]

On demand only; never part of the timed test suite. Target: >= 2,000 durable appends/s on SQLite.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from vcgate.adapters.plain_ledger import LedgerEntry, LogKey, PlainLedgerStore, SubmitterKey


def signed_entries(count: int, prefix: str) -> list[dict[str, Any]]:
    key = SubmitterKey.generate("Ed25519")
    return [
        key.sign_entry(
            {
                "kind": "record",
                "recordId": f"{prefix}-{i}",
                "record": {"gtin": f"{9506000134352 + i:014d}", "quantity": i % 97, "lot": f"L{i:06d}"},
            }
        )
        for i in range(count)
    ]


def report(label: str, count: int, seconds: float, unit: str = "appends/s") -> float:
    value = count / seconds
    print(f"{label:<58} {value:>10,.0f} {unit}  ({count} in {seconds:.2f} s)")
    return value


def bench_store(directory: Path, entries: list[dict[str, Any]]) -> None:
    parsed = [LedgerEntry.from_json(e) for e in entries]
    key = LogKey.generate("bench.vcgate.example/store")
    with PlainLedgerStore.create(directory / "store.sqlite", key) as store:
        assert store.durability()["synchronous"] == "FULL"
        single = parsed[:300]
        start = time.perf_counter()
        for entry in single:
            store.append(entry)
        report("store: one commit per append (fsync each)", len(single), time.perf_counter() - start)
        offset = len(single)
        for batch in (64, 256):
            chunk = parsed[offset : offset + len(parsed) // 3]
            offset += len(chunk)
            start = time.perf_counter()
            for i in range(0, len(chunk), batch):
                store.append_batch(chunk[i : i + batch])
            report(f"store: group commit, {batch} entries per commit", len(chunk), time.perf_counter() - start)
        size = store.tree_size()
        indices = [random.randrange(size) for _ in range(3000)]
        start = time.perf_counter()
        for index in indices:
            store.inclusion_proof(index)
        report(f"store: inclusion proofs (tree of {size})", len(indices), time.perf_counter() - start, "proofs/s")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_server(directory: Path) -> tuple[subprocess.Popen[bytes], str]:
    db, key_file = directory / "served.sqlite", directory / "served.logkey.json"
    key = LogKey.generate("bench.vcgate.example/served")
    key.save(key_file)
    PlainLedgerStore.create(db, key).close()
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from vcgate.gateway.cli import main; main()",
            "plain-ledger",
            "serve",
            "--db",
            str(db),
            "--log-key",
            str(key_file),
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the ledger server did not start")


def _client_process(job: tuple[int, str, list[bytes], int]) -> int:
    """One load-generator process: ``threads`` keep-alive connections (http.client is cheap per request, which
    matters when the clients share the machine with the server)."""
    port, kind, payloads, threads = job

    def run(chunk: list[bytes]) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for payload in chunk:
            if kind == "append":
                conn.request("POST", "/entries", body=payload, headers={"content-type": "application/json"})
            else:
                conn.request("GET", payload.decode())
            response = conn.getresponse()
            body = response.read()
            if response.status not in (200, 201):
                raise SystemExit(f"{kind} failed with {response.status}: {body[:200]!r}")
        conn.close()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(run, [payloads[i::threads] for i in range(threads)]))
    return len(payloads)


def load(port: int, kind: str, payloads: list[bytes], processes: int, threads: int) -> float:
    """Send every payload from ``processes`` × ``threads`` concurrent connections; returns the wall time."""
    jobs = [(port, kind, payloads[i::processes], threads) for i in range(processes)]
    with multiprocessing.Pool(processes) as pool:
        start = time.perf_counter()
        assert sum(pool.map(_client_process, jobs)) == len(payloads)
        return time.perf_counter() - start


def bench_http(
    directory: Path, entries: list[dict[str, Any]], batch_entries: list[dict[str, Any]], processes: int, threads: int
) -> None:
    process, url = start_server(directory)
    port = int(url.rsplit(":", 1)[1])
    bodies = [json.dumps(e).encode() for e in entries]
    try:
        load(port, "append", bodies[:200], processes, threads)  # warm-up
        seconds = load(port, "append", bodies[200:], processes, threads)
        report(f"HTTP POST /entries, {processes * threads} concurrent clients", len(bodies) - 200, seconds)
        with httpx.Client(base_url=url, timeout=120) as client:
            start = time.perf_counter()
            for i in range(0, len(batch_entries), 500):
                response = client.post("/entries/batch", json=batch_entries[i : i + 500])
                response.raise_for_status()
                assert all("index" in r for r in response.json()["results"])
            report("HTTP POST /entries/batch, 500 entries per request", len(batch_entries), time.perf_counter() - start)
            size = client.get("/health").json()["treeSize"]
        queries = [f"/proof/inclusion?index={random.randrange(size)}".encode() for _ in range(4000)]
        seconds = load(port, "proof", queries, processes, threads)
        report(
            f"HTTP GET /proof/inclusion, {processes * threads} concurrent (tree of {size})",
            len(queries),
            seconds,
            "proofs/s",
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=4000, help="entries per HTTP run")
    parser.add_argument("--processes", type=int, default=2, help="load-generator processes")
    parser.add_argument("--threads", type=int, default=16, help="connections per load-generator process")
    args = parser.parse_args()
    print("signing entries ...", flush=True)
    store_entries = signed_entries(300 + 2 * 3000, "s")
    http_entries = signed_entries(args.entries + 200, "h")
    batch_entries = signed_entries(args.entries, "b")
    with tempfile.TemporaryDirectory(prefix="vcgate-bench-") as tmp:
        bench_store(Path(tmp), store_entries)
        bench_http(Path(tmp), http_entries, batch_entries, args.processes, args.threads)


if __name__ == "__main__":
    main()
