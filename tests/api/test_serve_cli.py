"""``vcgate serve`` in its own process with two uvicorn workers: the database is migrated once, both workers serve
the same gateway DID, and a revocation made through one worker is seen by the other."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from vcgate.gateway import KeyPair
from vcgate.gateway._db import Database
from vcgate.gateway.api import ClientRegistry

from .conftest import free_port, invoice

pytestmark = pytest.mark.server


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, int, ClientRegistry]]:
    key_file = tmp_path / "gateway-key.json"
    KeyPair.generate("ed25519").to_file(key_file)
    db_url = f"sqlite:///{tmp_path / 'serve.sqlite'}"
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from vcgate.gateway.cli import main; main()",
            "serve",
            "--key",
            str(key_file),
            "--port",
            str(port),
            "--database",
            db_url,
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                _out, err = proc.communicate(timeout=5) if proc.poll() is not None else (b"", b"")
                raise RuntimeError(f"vcgate serve did not start: {err.decode()[-2000:]}")
            time.sleep(0.1)
        db = Database.open(db_url, migrate=False)
        yield url, proc.pid, ClientRegistry(db)
        db.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def test_serve_two_workers_share_state(served: tuple[str, int, ClientRegistry]) -> None:
    url, pid, registry = served
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():  # Linux: uvicorn's supervisor has (at least) its two worker processes
        assert len(children.read_text().split()) >= 2
    did = "did:web:127.0.0.1%3A" + url.rsplit(":", 1)[1]
    client = registry.add("did:web:partner.example", ["issue:credentials", "update:credentials", "verify:credentials"])
    with httpx.Client(base_url=url, timeout=30) as http:
        assert http.get("/did.json").json()["id"] == did
        token = http.post(
            "/oauth2/token", data={"grant_type": "client_credentials"}, auth=(client.info.client_id, client.secret)
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        r = http.post(
            "/credentials/issue",
            json={"credential": invoice(did), "options": {"credentialStatus": {"statusPurpose": "revocation"}}},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        vc = r.json()["verifiableCredential"]
        r = http.post(
            "/credentials/status",
            json={"credentialId": vc["id"], "credentialStatus": [{"type": "BitstringStatusListEntry", "status": "1"}]},
            headers=headers,
        )
        assert r.status_code == 200, r.text
        # Whichever worker answers, the revocation is visible (the lists live in the shared database).
        codes = set()
        for _ in range(8):
            r = http.post("/credentials/verify", json={"verifiableCredential": vc}, headers=headers)
            codes.add((r.status_code, tuple(p["code"] for p in r.json()["problemDetails"])))
        assert codes == {(400, ("STATUS_REVOKED",))}


def test_serve_without_a_key_is_a_usage_error(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "VCGATE_API_KEY_FILE"}
    r = subprocess.run(
        [sys.executable, "-c", "from vcgate.gateway.cli import main; main()", "serve", "--port", "1"],
        capture_output=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert r.returncode == 64
    assert b"--key" in r.stderr
