"""Fixtures for the wired routes (/parties, /links, /jobs, /sync, /adapters): the gateway's API in a real uvicorn
server on a free loopback port (a thread of the test process) over a SQLite file, clients and tokens, and the
example adapter packages pip-installed into a private target directory for ``vcgate adapters serve`` processes."""

from __future__ import annotations

import importlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from vcgate.gateway import KeyPair
from vcgate.gateway._store import Store
from vcgate.gateway.api import ApiContext, ApiSettings, NewClient, create_app
from vcgate.gateway.api._wiring import WiringSettings

ROOT = Path(__file__).resolve().parents[2]
CSV_EXAMPLE = ROOT / "examples" / "third_party_adapter"
BROKEN_EXAMPLES = ROOT / "examples" / "broken_adapters"
EXAMPLE_MODULES = ("vcgate_example_csv", "vcgate_broken_adapters")
VCGATE = [sys.executable, "-c", "from vcgate.gateway.cli import main; main()"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Gateway:
    """A running gateway: URL, API context, the jobs store over the same database, an HTTP client."""

    url: str
    ctx: ApiContext
    store: Store
    http: httpx.Client
    _tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    def client(self, party: str, scopes: tuple[str, ...] | list[str]) -> NewClient:
        return self.ctx.clients.add(party, scopes, name="test")

    def auth(self, client: NewClient) -> dict[str, str]:
        key = (client.info.client_id, "")
        if key not in self._tokens:
            r = self.http.post(
                "/oauth2/token",
                data={"grant_type": "client_credentials"},
                auth=(client.info.client_id, client.secret),
            )
            assert r.status_code == 200, r.text
            self._tokens[key] = r.json()["access_token"]
        return {"Authorization": "Bearer " + self._tokens[key]}

    def count(self, table: Any) -> int:
        with self.ctx.db.transaction() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    def snapshot(self, *tables: Any) -> dict[str, list[str]]:
        with self.ctx.db.transaction() as conn:
            return {t.name: sorted(repr(tuple(r)) for r in conn.execute(select(t)).all()) for t in tables}

    def audit(self) -> list[dict[str, Any]]:
        return [e.to_json() for e in self.ctx.audit.entries()]

    def wait_for_job(self, job_id: str, headers: dict[str, str], timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            r = self.http.get(f"/jobs/{job_id}", headers=headers)
            assert r.status_code == 200, r.text
            status: dict[str, Any] = r.json()
            if status["state"] in ("finished", "failed"):
                return status
            assert time.monotonic() < deadline, f"job {job_id} still {status['state']} after {timeout} s"
            time.sleep(0.1)


@contextmanager
def run_gateway(db: Path, wiring: WiringSettings, **overrides: Any) -> Iterator[Gateway]:
    """Start uvicorn with the gateway app on a free port; stop it on exit."""
    port = free_port()
    settings = ApiSettings(
        key=KeyPair.generate("ed25519"),
        public_url=f"http://127.0.0.1:{port}",
        database_url=f"sqlite:///{db}",
        resolve_remote_dids=False,
        rate_limit_per_second=1000.0,
        rate_limit_burst=5000,
        **overrides,
    )
    app = create_app(settings, wiring=wiring)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    http = httpx.Client(base_url=settings.public_url, timeout=120)
    try:
        yield Gateway(settings.public_url, app.state.ctx, app.state.wiring.store, http)
    finally:
        http.close()
        server.should_exit = True
        thread.join(timeout=10)
        app.state.ctx.db.close()


@pytest.fixture(scope="session")
def example_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The example CSV adapter and the broken adapters, pip-installed (one pip run) into a private directory, put on
    this process's sys.path (the gateway checks CSV evidence with the example's own checker) and handed to
    ``vcgate adapters serve`` processes through PYTHONPATH."""
    work = tmp_path_factory.mktemp("examples")
    sources = []
    for example in (CSV_EXAMPLE, BROKEN_EXAMPLES):
        copy = work / example.name
        shutil.copytree(example, copy, ignore=shutil.ignore_patterns("*.egg-info", "build", "__pycache__"))
        sources.append(str(copy))
    site = work / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(site)]
    subprocess.run([*pip, *sources], check=True, capture_output=True, timeout=240)
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    yield site
    sys.path.remove(str(site))
    for name in [m for m in sys.modules if m.split(".")[0] in EXAMPLE_MODULES]:
        del sys.modules[name]


@dataclass
class Service:
    """A running ``vcgate adapters serve`` process (stopped by its PID)."""

    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_service(
    site: Path, name: str, config: Path, log_dir: Path, *, key: Path | None = None, token: str | None = None
) -> Service:
    """``vcgate adapters serve NAME`` in another process on a free loopback port; waits until /v1/health answers."""
    port = free_port()
    log = log_dir / f"serve-{name}-{port}.log"
    args = [*VCGATE, "adapters", "serve", name, "--config", str(config), "--port", str(port)]
    if key is not None:
        args += ["--key", str(key)]
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, PYTHONPATH=path)
    env.pop("VCGATE_ADAPTER_TOKEN", None)
    if token is not None:
        env["VCGATE_ADAPTER_TOKEN"] = token
    with log.open("wb") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    service = Service(f"http://127.0.0.1:{port}", process, log)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"vcgate adapters serve exited {process.returncode}: {log.read_text()}")
        try:
            if httpx.get(service.url + "/v1/health", headers=headers, timeout=1).status_code == 200:
                return service
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    service.stop()
    raise AssertionError(f"vcgate adapters serve did not come up: {log.read_text()}")
