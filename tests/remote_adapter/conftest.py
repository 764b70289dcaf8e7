"""Fixtures for the remote adapter tests: the example CSV-ledger adapter pip-installed into a private target
directory, a CSV ledger whose seller is a partner with a did:key, and ``vcgate adapters serve`` in another process."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from vcgate.adapters.sdk import Adapter, load_adapter, load_adapter_config
from vcgate.gateway import KeyPair

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "third_party_adapter"
TOKEN = "test-token-" + "4f9c2a" * 4

HEADER = "seq,recorded_at,signer,revokes,seller_did,seller_name,buyer_name,invoice_number,invoice_date,gtin,quantity,total_cents,currency,valid_until"  # noqa: E501


def _ledger_rows(seller: str) -> list[str]:
    return [
        f"1,2024-03-01T08:00:00Z,key-1,,{seller},Acme Manufacturing Ltd,Blue Harbor Imports LLC,INV-1,01/03/2024,00614141000012,1200,1850000,840,",  # noqa: E501
        f"2,2024-03-02T09:30:00.25Z,key-1,,{seller},Acme Manufacturing Ltd,Blue Harbor Imports LLC,INV-2,02/03/2024,00614141000029,300,462550,840,20250302",  # noqa: E501
        f'3,2024-03-05T14:12:09Z,key-1,,{seller},Acme Manufacturing Ltd,"Lakeside Trading, Inc.",INV-3,05/03/2024,00614141000012,50,77000,978,',  # noqa: E501
        "4,2024-03-06T10:00:00Z,key-1,2,,,,,,,,,,",
        f"5,2024-03-07T11:00:00Z,key-1,,{seller},Acme Manufacturing Ltd,Blue Harbor Imports LLC,INV-5,07/03/2024,00614141000012,7,10773,840,",  # noqa: E501
    ]


@pytest.fixture(scope="session")
def csv_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example third-party adapter package, pip-installed into its own target directory (not on sys.path)."""
    work = tmp_path_factory.mktemp("csv_adapter")
    source = work / "src"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    target = work / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*pip, "--target", str(target), str(source)],
        check=True,
        capture_output=True,
        timeout=240,
    )
    return target


@dataclass(frozen=True)
class Ledger:
    """A CSV ledger on disk with its adapter configuration and the partner's key."""

    directory: Path
    config: Path
    key_file: Path
    key: KeyPair


@pytest.fixture(scope="session")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    """Five rows (one revoking row 2) written by a partner whose DID is a did:key; page size 2."""
    directory = tmp_path_factory.mktemp("ledger")
    key = KeyPair.generate("ed25519")
    key_file = directory / "partner-key.json"
    key.to_file(key_file)
    (directory / "ledger.csv").write_text("\n".join([HEADER, *_ledger_rows(key.controller)]) + "\n", encoding="utf-8")
    config = directory / "config.yaml"
    config.write_text("id: partner-invoices\nledger: partner-invoices\npath: ledger.csv\npageSize: 2\n")
    return Ledger(directory, config, key_file, key)


@pytest.fixture(scope="module")
def local_adapter(csv_site: Path, ledger: Ledger) -> Iterator[Adapter]:
    """The same adapter in this process, loaded through its entry point (sys.path is restored right after)."""
    sys.path.insert(0, str(csv_site))
    try:
        adapter = load_adapter("csv-ledger").create(load_adapter_config(ledger.config))
    finally:
        sys.path.remove(str(csv_site))
    yield adapter
    for name in [m for m in sys.modules if m.startswith("vcgate_example_csv")]:
        del sys.modules[name]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def vcgate_env(site: Path, **extra: str) -> dict[str, str]:
    """The environment of a vcgate subprocess that sees the CSV adapter package."""
    path = os.pathsep.join(p for p in (str(site), os.environ.get("PYTHONPATH", "")) if p)
    return dict(os.environ, PYTHONPATH=path, COLUMNS="200", **extra)


VCGATE = [sys.executable, "-c", "from vcgate.gateway.cli import main; main()"]


@dataclass
class Service:
    """A running ``vcgate adapters serve`` process."""

    url: str
    token: str | None
    process: subprocess.Popen[bytes]
    log: Path

    def config(self, **extra: Any) -> dict[str, Any]:
        """A remote adapter configuration pointing at this service."""
        out: dict[str, Any] = {"url": self.url, "timeout": 10, "retries": 1, "backoff": 0.05}
        if self.token is not None:
            out["token"] = self.token
        out.update(extra)
        return out

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_service(
    site: Path, config: Path, log_dir: Path, *, key: Path | None = None, token: str | None = None
) -> Service:
    """Start ``vcgate adapters serve csv-ledger`` on a free loopback port and wait until /v1/health answers."""
    port = free_port()
    log = log_dir / f"serve-{port}.log"
    args = [*VCGATE, "adapters", "serve", "csv-ledger", "--config", str(config), "--port", str(port)]
    if key is not None:
        args += ["--key", str(key)]
    env = vcgate_env(site)
    env.pop("VCGATE_ADAPTER_TOKEN", None)
    if token is not None:
        env["VCGATE_ADAPTER_TOKEN"] = token
    with log.open("wb") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
    service = Service(f"http://127.0.0.1:{port}", token, process, log)
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


@pytest.fixture(scope="module")
def signing_service(csv_site: Path, ledger: Ledger, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """The CSV adapter served with the partner's key and a bearer token."""
    service = start_service(csv_site, ledger.config, tmp_path_factory.mktemp("logs"), key=ledger.key_file, token=TOKEN)
    yield service
    service.stop()


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
