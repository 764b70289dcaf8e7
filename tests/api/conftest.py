"""A real uvicorn server on 127.0.0.1 (a free port, in a thread of the test process) serving the gateway's HTTP API
over a SQLite file, plus helpers for clients, tokens and credentials."""

from __future__ import annotations

import copy
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import func, select

from vcgate.gateway import KeyPair, sign
from vcgate.gateway.api import ApiContext, ApiSettings, NewClient, create_app
from vcgate.gateway.api import _tables as tables

ROOT = Path(__file__).resolve().parents[2]
INVOICE = ROOT / "benchmarks" / "data" / "commercial-invoice.unsigned.json"
ALL_SCOPES = (
    "verify:credentials",
    "issue:credentials",
    "read:credentials",
    "update:credentials",
    "verify:presentations",
    "submit:presentations",
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Gateway:
    """A running gateway: its URL, settings and shared context (database, registries)."""

    url: str
    settings: ApiSettings
    ctx: ApiContext
    http: httpx.Client
    _tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def did(self) -> str:
        return self.ctx.identity.did

    def client(self, party: str, scopes: tuple[str, ...] | list[str] = ALL_SCOPES) -> NewClient:
        return self.ctx.clients.add(party, scopes, name="test")

    def token(self, client: NewClient, scope: str | None = None) -> str:
        key = (client.info.client_id, scope or "")
        if key not in self._tokens:
            data = {"grant_type": "client_credentials"}
            if scope:
                data["scope"] = scope
            r = self.http.post("/oauth2/token", data=data, auth=(client.info.client_id, client.secret))
            assert r.status_code == 200, r.text
            self._tokens[key] = r.json()["access_token"]
        return self._tokens[key]

    def auth(self, client: NewClient, scope: str | None = None) -> dict[str, str]:
        return {"Authorization": "Bearer " + self.token(client, scope)}

    def count(self, table: Any) -> int:
        with self.ctx.db.transaction() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())

    def snapshot(self) -> dict[str, Any]:
        """Everything a request could change (except the audit log, which records attempts)."""
        with self.ctx.db.transaction() as conn:
            out: dict[str, Any] = {}
            for table in (
                tables.clients,
                tables.credentials,
                tables.status_lists,
                tables.challenges,
                tables.submissions,
            ):
                rows = conn.execute(select(table)).all()
                out[table.name] = sorted(repr(tuple(r)) for r in rows)
            return out


@contextmanager
def run_gateway(tmp: Path, **overrides: Any) -> Iterator[Gateway]:
    """Start uvicorn with the gateway app on a free port; stop it on exit."""
    port = free_port()
    settings = ApiSettings(
        key=overrides.pop("key", None) or KeyPair.generate("ed25519"),
        public_url=f"http://127.0.0.1:{port}",
        database_url=f"sqlite:///{tmp / 'gateway.sqlite'}",
        resolve_remote_dids=False,
        **overrides,
    )
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    http = httpx.Client(base_url=settings.public_url, timeout=30)
    try:
        yield Gateway(settings.public_url, settings, app.state.ctx, http)
    finally:
        http.close()
        server.should_exit = True
        thread.join(timeout=10)
        app.state.ctx.db.close()


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    # Generous rate limits: the fuzzing test sends hundreds of requests with one token.
    with run_gateway(tmp_path_factory.mktemp("api"), rate_limit_per_second=5000.0, rate_limit_burst=20000) as gw:
        yield gw


@pytest.fixture
def partner_key() -> KeyPair:
    """A trade partner's did:key."""
    return KeyPair.generate("ed25519")


@pytest.fixture
def partner(gateway: Gateway, partner_key: KeyPair) -> NewClient:
    """A client for the partner's DID with the VC-API scopes."""
    return gateway.client(partner_key.controller)


def invoice(issuer: str, credential_id: str | None = None) -> dict[str, Any]:
    """The unsigned Traceability CommercialInvoiceCredential from benchmarks/data, issued by ``issuer``."""
    doc: dict[str, Any] = json.loads(INVOICE.read_text())
    doc["issuer"]["id"] = issuer
    del doc["evidence"]  # made-up LedgerEvidence is never verified (tests/verify/test_one_verifier.py)
    if credential_id is None:
        doc.pop("id", None)
    else:
        doc["id"] = credential_id
    return doc


def signed_invoice(key: KeyPair, credential_id: str, **kw: Any) -> dict[str, Any]:
    """The invoice signed by ``key`` (eddsa-rdfc-2022 unless ``suite``)."""
    return sign(
        invoice(key.controller, credential_id),
        key,
        suite=kw.pop("suite", "eddsa-rdfc-2022"),
        created=datetime(2025, 1, 1, tzinfo=UTC),
    )


def presentation(
    holder: KeyPair,
    credentials: list[Any],
    *,
    challenge: str | None,
    domain: str | None,
    purpose: str = "authentication",
    holder_id: str | None = None,
    signer: KeyPair | None = None,
) -> dict[str, Any]:
    """A VC 2.0 presentation signed by ``signer`` (default the holder) for ``purpose``."""
    vp: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder_id or holder.controller,
        "verifiableCredential": copy.deepcopy(credentials),
    }
    extra = {k: v for k, v in (("challenge", challenge), ("domain", domain)) if v is not None}
    return sign(vp, signer or holder, created=datetime.now(UTC), proof_purpose=purpose, extra=extra)


Issuer = Callable[..., dict[str, Any]]


@pytest.fixture
def issue(gateway: Gateway, partner: NewClient) -> Issuer:
    """Issue an invoice through the API as the partner; returns the signed credential."""

    def _issue(status: str | None = "revocation", **options: Any) -> dict[str, Any]:
        opts: dict[str, Any] = dict(options)
        if status:
            opts["credentialStatus"] = {"type": "BitstringStatusListEntry", "statusPurpose": status}
        r = gateway.http.post(
            "/credentials/issue",
            json={"credential": invoice(gateway.did), "options": opts},
            headers=gateway.auth(partner),
        )
        assert r.status_code == 201, r.text
        vc: dict[str, Any] = r.json()["verifiableCredential"]
        return vc

    return _issue
