"""`vcgate demo --serve`: the demo's entry pages stay up behind the printed URL, with one printed account per role,
until SIGTERM stops the server (and the command) cleanly."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import free_port

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _read_until(proc: subprocess.Popen[str], marker: str, timeout: float) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if marker in line:
            return lines
    raise AssertionError(f"{marker!r} not printed; got {lines[-15:]}")


def test_demo_serve_prints_the_entry_url_and_serves_it(tmp_path: Path) -> None:
    port = free_port()
    cmd = [sys.executable, "-c", "from vcgate.gateway.cli import main; main()"]
    args = ["demo", "--serve", "--port", str(port), "--workdir", str(tmp_path)]
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.Popen([*cmd, *args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        lines = _read_until(proc, "serving the pages", timeout=240)
        text = "\n".join(lines)
        url = re.search(r"entry pages: (http://127\.0\.0\.1:\d+/ui/entries/\S+)", text)
        assert url, text[-2000:]
        assert url.group(1) == f"http://127.0.0.1:{port}/ui/entries/NW7-2506001-4"
        password = re.search(r"log in as officer with password (\S+)", text)
        assert password, text[-2000:]
        http = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30)
        form = http.get("/ui/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token
        data = {"csrf_token": token.group(1), "username": "officer", "password": password.group(1)}
        assert http.post("/ui/login", data=data).status_code == 303
        page = http.get(url.group(1))
        assert page.status_code == 200
        assert "authorized" in page.text
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
