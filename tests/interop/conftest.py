"""The Node.js peer (digitalbazaar's reference VC libraries) for the interop tests.

One long-lived ``node tests/node/vc-peer.mjs`` process per test session speaks JSON lines on stdin/stdout (see the
header of that script). A missing ``node`` binary or missing npm packages FAIL the tests with a message naming the
fix; they never skip: CI installs the packages with ``scripts/install-test-deps.sh``.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "node"
PEER_SCRIPT = NODE_DIR / "vc-peer.mjs"
REQUIRED_PACKAGES = (
    "@digitalbazaar/vc",
    "@digitalbazaar/data-integrity",
    "@digitalbazaar/eddsa-rdfc-2022-cryptosuite",
    "@digitalbazaar/ecdsa-rdfc-2019-cryptosuite",
    "@digitalbazaar/ed25519-multikey",
    "@digitalbazaar/ecdsa-multikey",
    "jsonld-signatures",
    "jsonld",
)
#: Seconds one request may take (the slowest, an ECDSA P-384 sign of a large credential, takes ~50 ms).
REQUEST_TIMEOUT = 30.0
INSTALL_HINT = "run `bash scripts/install-test-deps.sh` (npm ci in tests/node) first"


class PeerError(AssertionError):
    """The Node peer answered ``ok: false`` (the request could not be carried out)."""

    def __init__(self, op: str, error: dict[str, Any]) -> None:
        super().__init__(f"vc-peer {op} failed: {error.get('name')}: {error.get('message')}")
        self.op = op
        self.name = str(error.get("name"))
        self.message = str(error.get("message"))


class NodePeer:
    """A running ``vc-peer.mjs``: :meth:`call` sends one request and returns its ``result``."""

    def __init__(self, node: str) -> None:
        self._proc = subprocess.Popen(
            [node, str(PEER_SCRIPT)],
            cwd=NODE_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
            # NODE_OPTIONS from a developer's shell (--require hooks) would run foreign code inside the peer.
            env={k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"},
        )

    def call(self, op: str, **params: Any) -> Any:
        """Send ``{"op": op, **params}``; return ``result`` or raise :class:`PeerError` on ``ok: false``."""
        proc = self._proc
        assert proc.stdin is not None
        assert proc.stdout is not None
        try:
            proc.stdin.write(json.dumps({"op": op, **params}) + "\n")
            proc.stdin.flush()
        except BrokenPipeError:
            pytest.fail(f"the Node peer exited: {self._stderr()}")
        ready, _, _ = select.select([proc.stdout], [], [], REQUEST_TIMEOUT)
        if not ready:
            pytest.fail(f"the Node peer did not answer {op!r} within {REQUEST_TIMEOUT:.0f} s")
        line = proc.stdout.readline()
        if not line:
            pytest.fail(f"the Node peer exited while answering {op!r}: {self._stderr()}")
        response = json.loads(line)
        if not response["ok"]:
            raise PeerError(op, response["error"])
        return response["result"]

    def _stderr(self) -> str:
        proc = self._proc
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "(still running)"
        text = proc.stderr.read() if proc.stderr else ""
        return f"exit code {proc.returncode}; stderr:\n{text.strip()[-4000:]}"

    def close(self) -> None:
        """Close stdin (the peer then exits) and reap the process; kill it only if it hangs."""
        proc = self._proc
        if proc.stdin:
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def _require_installed() -> str:
    node = shutil.which("node")
    if node is None:
        pytest.fail(f"interop tests need Node.js (>= 18) on PATH; install it, then {INSTALL_HINT}")
    missing = [p for p in REQUIRED_PACKAGES if not (NODE_DIR / "node_modules" / p / "package.json").is_file()]
    if missing:
        pytest.fail(f"npm packages missing in tests/node/node_modules: {', '.join(missing)}; {INSTALL_HINT}")
    return node


@pytest.fixture(scope="session")
def node_peer() -> Iterator[NodePeer]:
    """The Node peer, started once per session; startup problems fail with the peer's stderr."""
    peer = NodePeer(_require_installed())
    try:
        peer.call("versions")
    except PeerError as exc:  # pragma: no cover - a broken install
        peer.close()
        pytest.fail(f"the Node peer does not work: {exc}; {INSTALL_HINT}")
    yield peer
    peer.close()


@pytest.fixture(scope="session")
def npm_pins() -> dict[str, str]:
    """The exact versions tests/node/package.json pins."""
    pins: dict[str, str] = json.loads((NODE_DIR / "package.json").read_text(encoding="utf-8"))["dependencies"]
    return pins
