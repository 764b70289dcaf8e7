"""``POST /credentials/verify`` throughput and p50/p99 latency under concurrent load (vcgate issue 8 benchmark).

The credential is the Traceability CommercialInvoiceCredential of ``benchmarks/data`` signed with
``eddsa-rdfc-2022`` by a did:key issuer (no status entry, so nothing is fetched). The server is ``vcgate serve`` on
127.0.0.1 with 1 and then 2 uvicorn workers over a fresh SQLite database; every request carries a bearer token, so
the figures include token checking and the client lookup.

Load generator: ``wrk`` (C, one thread) when installed (``apt-get install wrk``), else an asyncio httpx client
(Python; it costs far more CPU per request). Either shares the machine's cores with the server: on a 2-core machine
the 2-worker figure is bounded by the load generator's share. For comparison the script first measures the
library's own single-core rate (``Verifier.check`` on the same bytes, pinned to one core).

Run: ``python benchmarks/api_verify.py [--seconds 10] [--connections 8] [--workers 1 2] [--json]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from vcgate.gateway import DidResolver, KeyPair, Policy, Verifier, sign
from vcgate.gateway._db import Database
from vcgate.gateway.api import ClientRegistry

DATA = Path(__file__).resolve().parent / "data" / "commercial-invoice.unsigned.json"

WRK_SCRIPT = """
local f = assert(io.open(os.getenv("VCGATE_BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("VCGATE_BENCH_TOKEN")
done = function(summary, latency, requests)
  io.write(string.format(
    'VCGATE_JSON {"requests": %d, "duration_us": %d, "non2xx": %d, "errors": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _credential() -> tuple[bytes, Verifier]:
    key = KeyPair.generate("ed25519")
    doc = json.loads(DATA.read_text())
    doc["issuer"]["id"] = key.controller
    doc.pop("evidence", None)  # made-up LedgerEvidence is never verified (issue 11)
    signed = sign(doc, key, suite="eddsa-rdfc-2022", created=datetime(2025, 1, 1, tzinfo=UTC))
    return json.dumps(signed).encode(), Verifier(Policy.default(), DidResolver.offline())


def library_rate(raw: bytes, verifier: Verifier, seconds: float) -> tuple[float, float]:
    """Single-core ``Verifier.check`` rate (this process pinned to one core) and its CPU milliseconds per call."""
    at = datetime.now(UTC)
    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if affinity:
        os.sched_setaffinity(0, {min(affinity)})
    try:
        assert verifier.check(raw, at=at).verified
        n, start, cpu = 0, time.perf_counter(), time.process_time()
        while (elapsed := time.perf_counter() - start) < seconds:
            verifier.check(raw, at=at)
            n += 1
        return n / elapsed, (time.process_time() - cpu) / n * 1000
    finally:
        if affinity:
            os.sched_setaffinity(0, affinity)


def _tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its descendants (Linux /proc; 0.0 elsewhere)."""
    total, stack, tick = 0.0, [pid], os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    while stack:
        p = stack.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                stack.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, IndexError, ValueError):
            continue
    return total


class Server:
    """``vcgate serve`` in a subprocess (stopped by its PID)."""

    def __init__(self, workers: int, tmp: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        key_file = tmp / f"key-{workers}.json"
        KeyPair.generate("ed25519").to_file(key_file)
        self.db_url = f"sqlite:///{tmp / f'bench-{workers}.sqlite'}"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from vcgate.gateway.cli import main; main()",
                "serve",
                "--key",
                str(key_file),
                "--port",
                str(self.port),
                "--database",
                self.db_url,
                "--workers",
                str(workers),
                "--rate-limit",
                "1000000",
                "--rate-burst",
                "1000000",
                "--log-level",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(self.url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("vcgate serve did not start")
            time.sleep(0.2)

    def token(self) -> str:
        db = Database.open(self.db_url, migrate=False)
        client = ClientRegistry(db).add("did:web:bench.example", ["verify:credentials"])
        db.close()
        r = httpx.post(
            self.url + "/oauth2/token",
            data={"grant_type": "client_credentials"},
            auth=(client.info.client_id, client.secret),
        )
        r.raise_for_status()
        return str(r.json()["access_token"])

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def run_wrk(url: str, body_file: Path, token: str, seconds: float, connections: int, tmp: Path) -> dict[str, Any]:
    script = tmp / "verify.lua"
    script.write_text(WRK_SCRIPT)
    env = {**os.environ, "VCGATE_BENCH_BODY": str(body_file), "VCGATE_BENCH_TOKEN": token}
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{max(1, int(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            url + "/credentials/verify",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("VCGATE_JSON "))
    raw = json.loads(line.removeprefix("VCGATE_JSON "))
    return {
        "requests_per_second": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        "p50_ms": round(raw["p50_us"] / 1000, 2),
        "p90_ms": round(raw["p90_us"] / 1000, 2),
        "p99_ms": round(raw["p99_us"] / 1000, 2),
        "max_ms": round(raw["max_us"] / 1000, 2),
        "requests": raw["requests"],
        "non_2xx": raw["non2xx"],
        "socket_errors": raw["errors"],
    }


async def _httpx_load(url: str, body: bytes, token: str, seconds: float, connections: int) -> dict[str, Any]:
    latencies: list[float] = []
    bad = 0
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        stop = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal bad
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                r = await client.post("/credentials/verify", content=body, headers=headers)
                latencies.append(time.perf_counter() - t0)
                bad += r.status_code != 200

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(connections)))
        elapsed = time.perf_counter() - start
    q = statistics.quantiles(latencies, n=100)
    return {
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(q[49] * 1000, 2),
        "p90_ms": round(q[89] * 1000, 2),
        "p99_ms": round(q[98] * 1000, 2),
        "max_ms": round(max(latencies) * 1000, 2),
        "requests": len(latencies),
        "non_2xx": bad,
        "socket_errors": 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--library-seconds", type=float, default=4.0)
    parser.add_argument("--load-generator", choices=["auto", "wrk", "httpx"], default="auto")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    generator = args.load_generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "httpx"

    raw, verifier = _credential()
    lib, lib_cpu_ms = library_rate(raw, verifier, args.library_seconds)
    body = json.dumps({"verifiableCredential": json.loads(raw)}).encode()
    results: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared by server and load generator)",
        "python": platform.python_version(),
        "suite": "eddsa-rdfc-2022",
        "load_generator": "wrk 1 thread" if generator == "wrk" else "httpx.AsyncClient (asyncio, same machine)",
        "connections": args.connections,
        "seconds": args.seconds,
        "library_single_core_per_second": round(lib, 1),
        "library_cpu_ms_per_verify": round(lib_cpu_ms, 3),
        "runs": {},
    }
    with tempfile.TemporaryDirectory(prefix="vcgate-bench-") as tmpdir:
        tmp = Path(tmpdir)
        body_file = tmp / "body.json"
        body_file.write_bytes(body)
        for workers in args.workers:
            server = Server(workers, tmp)
            try:
                token = server.token()
                # Warm every worker (processed contexts, compiled schemas) before measuring.
                for _ in range(20 * workers):
                    r = httpx.post(
                        server.url + "/credentials/verify",
                        content=body,
                        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
                        timeout=30,
                    )
                    assert r.status_code == 200, r.text
                cpu_before = _tree_cpu_seconds(server.proc.pid)
                if generator == "wrk":
                    run = run_wrk(server.url, body_file, token, args.seconds, args.connections, tmp)
                else:
                    run = asyncio.run(_httpx_load(server.url, body, token, args.seconds, args.connections))
                server_cpu = _tree_cpu_seconds(server.proc.pid) - cpu_before
            finally:
                server.stop()
            run["per_worker_vs_library"] = round(run["requests_per_second"] / workers / lib, 2)
            if server_cpu > 0:
                # Robust on a shared machine: CPU spent per request by the server against the library's CPU per
                # verification (1.0 = no HTTP overhead at all).
                run["server_cpu_ms_per_request"] = round(server_cpu / run["requests"] * 1000, 3)
                run["cpu_efficiency_vs_library"] = round(lib_cpu_ms / run["server_cpu_ms_per_request"], 2)
            results["runs"][f"{workers}_worker{'s' if workers > 1 else ''}"] = run
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for k, v in results.items():
            if k != "runs":
                print(f"{k:32} {v}")
        for name, run in results["runs"].items():
            print(f"{name:32} {run}")


if __name__ == "__main__":
    main()
