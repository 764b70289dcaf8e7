"""``vcgate demo --serve``: keep the demo's gateway store up behind ``vcgate serve``'s app, with one account per
role, so a person can open the entry pages the demo just verified."""

from __future__ import annotations

import secrets
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI

from ...verification._keys import KeyPair
from ...verification._policy import Policy
from .._app import create_app
from .._settings import ApiSettings
from .._wiring import WiringSettings
from ._people import People

DEFAULT_PORT = 8765


@dataclass(frozen=True)
class DemoSite:
    """The app over the demo's store, its URL and the generated accounts (name → (role, password))."""

    app: FastAPI
    url: str
    accounts: dict[str, tuple[str, str]]


def demo_site(run_dir: Path, port: int) -> DemoSite:
    """Build the app over ``run_dir`` (``vcgate demo --keep``'s store, key and policy) and add an officer, an analyst
    and an admin with fresh random passwords."""
    url = f"http://127.0.0.1:{port}"
    settings = ApiSettings(
        key=KeyPair.from_file(run_dir / "gateway-key.json"),
        public_url=url,
        database_url=f"sqlite:///{run_dir / 'vcgate.sqlite'}",
        policy=Policy.from_file(run_dir / "policy.yaml"),
        resolve_remote_dids=False,
    )
    app = create_app(settings, wiring=WiringSettings())
    people: People = app.state.people
    accounts: dict[str, tuple[str, str]] = {}
    for role in ("officer", "analyst", "admin"):
        password = secrets.token_urlsafe(12)
        people.add(role, password, role, now=datetime.now(UTC))
        accounts[role] = (role, password)
    return DemoSite(app, url, accounts)


def serve_forever(site: DemoSite, port: int, say: Callable[[str], None]) -> bool:
    """Serve on 127.0.0.1 until Ctrl-C or SIGTERM; returns whether the server ran (False: it could not start, e.g.
    the port is taken). uvicorn runs in a thread so this function, not uvicorn, owns the signals: the command then
    ends normally (exit 0) instead of re-raising the signal."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(site.app, host="127.0.0.1", port=port, log_level="warning"))
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda _s, _f: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    thread = threading.Thread(target=server.run, name="vcgate-demo-pages", daemon=True)
    thread.start()
    try:
        while not server.started and thread.is_alive():
            time.sleep(0.05)
        if not server.started:
            return False
        say(f"serving the pages at {site.url}/ui/ — Ctrl-C stops the server")
        while thread.is_alive() and not stop.wait(0.5):
            pass
        return True
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        for sig, handler in previous.items():
            signal.signal(sig, handler)


__all__ = ["DEFAULT_PORT", "DemoSite", "demo_site", "serve_forever"]
