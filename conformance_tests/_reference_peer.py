"""The reference implementation peer: digitalbazaar's JavaScript VC libraries behind ``vc-peer.mjs``.

vcgate's repository ships the peer in ``tests/node/`` (``npm ci`` there installs pinned versions). A suite run
finds it through ``--reference-peer PATH``, the target configuration's ``conformance.referencePeer``, the
``VCGATE_REFERENCE_PEER`` environment variable, or next to the vcgate sources. Without one, the interop case fails
with a message saying how to provide it (or to opt out of it explicitly).
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import subprocess
from pathlib import Path
from typing import Any

from vcgate.canonical_schema import VcgateError

#: Seconds one request may take (a Traceability credential costs jsonld.js ~0.5 s per canonicalization).
REQUEST_TIMEOUT = 60.0


class ReferencePeerError(VcgateError):
    """The reference peer is missing, exited, or could not carry out a request."""


def default_peer_script() -> Path | None:
    """``vc-peer.mjs`` from the environment or next to the vcgate sources, when installed with its packages."""
    env = os.environ.get("VCGATE_REFERENCE_PEER")
    if env:
        return Path(env)
    candidate = Path(__file__).resolve().parents[1] / "tests" / "node" / "vc-peer.mjs"
    return candidate if candidate.is_file() else None


class ReferencePeer:
    """A running ``node vc-peer.mjs``; :meth:`call` sends one JSON-lines request and returns its result."""

    def __init__(self, script: Path) -> None:
        node = shutil.which("node")
        if node is None:
            raise ReferencePeerError("the reference peer needs Node.js (>= 18) on PATH")
        if not script.is_file():
            raise ReferencePeerError(f"reference peer script {script} does not exist")
        if not (script.parent / "node_modules" / "@digitalbazaar" / "vc").is_dir():
            raise ReferencePeerError(f"the npm packages of {script} are not installed; run `npm ci` in {script.parent}")
        self.script = script
        self._proc = subprocess.Popen(
            [node, str(script)],
            cwd=script.parent,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            bufsize=1,
            # NODE_OPTIONS from the caller's shell (--require hooks) would run foreign code inside the peer.
            env={k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"},
        )
        atexit.register(self.close)

    def call(self, op: str, **params: Any) -> Any:
        """Send ``{"op": op, **params}``; return ``result``, or raise :class:`ReferencePeerError`."""
        proc = self._proc
        assert proc.stdin is not None
        assert proc.stdout is not None
        try:
            proc.stdin.write(json.dumps({"op": op, **params}) + "\n")
            proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            raise ReferencePeerError(f"the reference peer exited: {self._stderr()}") from None
        ready, _, _ = select.select([proc.stdout], [], [], REQUEST_TIMEOUT)
        if not ready:
            raise ReferencePeerError(f"the reference peer did not answer {op!r} within {REQUEST_TIMEOUT:.0f} s")
        line = proc.stdout.readline()
        if not line:
            raise ReferencePeerError(f"the reference peer exited while answering {op!r}: {self._stderr()}")
        response = json.loads(line)
        if not response.get("ok"):
            error = response.get("error") or {}
            raise ReferencePeerError(f"reference peer {op} failed: {error.get('name')}: {error.get('message')}")
        return response["result"]

    def _stderr(self) -> str:
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            return "(still running)"
        text = self._proc.stderr.read() if self._proc.stderr else ""
        return f"exit code {self._proc.returncode}; stderr: {text.strip()[-2000:]}"

    def close(self) -> None:
        """Close stdin (the peer then exits) and reap it; kill it only if it hangs."""
        proc = self._proc
        if proc.poll() is None:
            if proc.stdin:
                proc.stdin.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream and not stream.closed:
                stream.close()


_PEERS: dict[Path, ReferencePeer] = {}


def shared_peer(script: Path) -> ReferencePeer:
    """One peer per script for the whole process (several in-process suite runs share it; closed at exit)."""
    key = script.resolve()
    peer = _PEERS.get(key)
    if peer is None or peer._proc.poll() is not None:
        peer = ReferencePeer(key)
        _PEERS[key] = peer
    return peer
