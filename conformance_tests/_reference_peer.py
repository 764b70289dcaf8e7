"""The reference implementation peer: digitalbazaar's JavaScript VC libraries behind ``vc-peer.mjs``.

The peer is optional. ``vcgate conformance setup-peer`` installs it (the script and the pinned npm lock file ship
in this package, ``peer/``) into the user cache (``$VCGATE_CACHE_DIR``, else ``$XDG_CACHE_HOME/vcgate``, else
``~/.cache/vcgate``); vcgate's source checkout also has it in ``tests/node/`` after ``npm ci``. A suite run finds it
through ``--reference-peer PATH``, the target configuration's ``conformance.referencePeer``, the
``VCGATE_REFERENCE_PEER`` environment variable, the source checkout, or the user cache. When none is installed (or
Node.js is missing) the interop case is opted out with :data:`UNAVAILABLE`; a peer that was named explicitly but
cannot run fails the case.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

from vcgate.canonical_schema import VcgateError

#: Seconds one request may take (a Traceability credential costs jsonld.js ~0.5 s per canonicalization).
REQUEST_TIMEOUT = 60.0


class ReferencePeerError(VcgateError):
    """The reference peer is missing, exited, or could not carry out a request."""


#: The opt-out reason when no reference peer is installed (docs/conformance.md).
UNAVAILABLE = "reference peer unavailable (install Node ≥ 20 and run vcgate conformance setup-peer)"

#: Files of the peer shipped as package data (``conformance_tests/peer/``).
PEER_FILES = ("vc-peer.mjs", "offline-loader.mjs", "package.json", "package-lock.json")


def cache_dir() -> Path:
    """vcgate's per-user cache: ``$VCGATE_CACHE_DIR``, ``$XDG_CACHE_HOME/vcgate`` or ``~/.cache/vcgate``."""
    explicit = os.environ.get("VCGATE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vcgate"


def _installed(script: Path) -> bool:
    return script.is_file() and (script.parent / "node_modules" / "@digitalbazaar" / "vc").is_dir()


def default_peer_script() -> Path | None:
    """``vc-peer.mjs`` from the environment, else an installed one (the source checkout's tests/node after
    ``npm ci``, or the user cache after ``vcgate conformance setup-peer``); ``None`` when there is none."""
    env = os.environ.get("VCGATE_REFERENCE_PEER")
    if env:
        return Path(env)
    candidates = (
        Path(__file__).resolve().parents[1] / "tests" / "node" / "vc-peer.mjs",
        cache_dir() / "reference-peer" / "vc-peer.mjs",
    )
    return next((c for c in candidates if _installed(c)), None)


def peer_available(script: Path | None) -> bool:
    """True when ``script`` can be started: Node.js on PATH and the peer's npm packages installed."""
    return script is not None and shutil.which("node") is not None and _installed(script)


def setup_peer(destination: Path | None = None, *, npm: str | None = None) -> Path:
    """Install the reference peer into ``destination`` (default: the user cache) with ``npm ci`` from the shipped
    lock file; return the path of its ``vc-peer.mjs``. Raise :class:`ReferencePeerError` without Node.js/npm."""
    npm = npm or shutil.which("npm")
    if shutil.which("node") is None or npm is None:
        raise ReferencePeerError("the reference peer needs Node.js >= 20 with npm on PATH")
    target = destination or cache_dir() / "reference-peer"
    target.mkdir(parents=True, exist_ok=True)
    shipped = resources.files(__package__).joinpath("peer")
    for name in PEER_FILES:
        (target / name).write_bytes(shipped.joinpath(name).read_bytes())
    proc = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=target,
        capture_output=True,
        text=True,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"},
    )
    if proc.returncode != 0:
        raise ReferencePeerError(f"npm ci in {target} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")
    return target / "vc-peer.mjs"


def _contexts() -> str:
    return str(resources.files("vcgate.canonical_schema").joinpath("contexts"))


class ReferencePeer:
    """A running ``node vc-peer.mjs``; :meth:`call` sends one JSON-lines request and returns its result."""

    def __init__(self, script: Path) -> None:
        node = shutil.which("node")
        if node is None:
            raise ReferencePeerError("the reference peer needs Node.js (>= 20) on PATH")
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
            # NODE_OPTIONS from the caller's shell (--require hooks) would run foreign code inside the peer; the
            # pinned contexts are read from this vcgate's package, wherever the peer script is.
            env={k: v for k, v in os.environ.items() if k != "NODE_OPTIONS"} | {"VCGATE_CONTEXTS_DIR": _contexts()},
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
