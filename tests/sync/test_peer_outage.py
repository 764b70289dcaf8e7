"""A Fabric peer outage during `vcgate sync`: credentials whose validation is attested by fewer organisations than
required are held (`EVIDENCE_INCOMPLETE`, exit 1), and the next pass with the peer back rebuilds their evidence and
upgrades them in place (same ids, both organisations' attestations). Two real gRPC test peers over mutual TLS;
Org2's is reached through a TCP relay on a fixed port that the test takes down and brings back."""

from __future__ import annotations

import contextlib
import json
import socket
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fabric_adapter.conftest import ledger, make_config, network_files, peers, write_config  # noqa: F401

from vcgate.adapters.fabric.testing import ProductLedger, TestPeer
from vcgate.gateway import KeyPair

from .conftest import vcgate

pytestmark = [pytest.mark.server, pytest.mark.slow]


class Relay:
    """Forwards TCP connections from 127.0.0.1:``port`` to ``target``; ``stop()`` drops the listener and every
    connection (an outage), ``start()`` listens on the same port again (recovery)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = int(probe.getsockname()[1])
        probe.close()
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept() (close() alone would leave the port listening).
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        for s in self._open:
            with contextlib.suppress(OSError):
                s.close()
        self._open = []


@pytest.fixture
def relay(peers: list[TestPeer]) -> Iterator[Relay]:  # noqa: F811
    host, port = peers[1].address.rsplit(":", 1)
    r = Relay((host, int(port)))
    r.start()
    yield r
    r.stop()


def attesting_orgs(credential: dict[str, Any]) -> set[str]:
    """The organisations whose attestations the credential's evidence carries."""
    from vcgate.adapters.fabric._attest import SignedPeerResponse
    from vcgate.canonical_schema import b64url_decode

    material = credential["evidence"][0]["proofMaterial"]
    return {
        SignedPeerResponse.from_proposal_response(b64url_decode(a)).endorser.msp_id
        for a in material.get("validationAttestations", [])
    }


def evidence_orgs(db: Path) -> dict[str, set[str]]:
    """Credential id -> the organisations whose attestations its evidence carries."""
    rows = sqlite3.connect(db).execute("select id, document from credentials")
    return {cid: attesting_orgs(json.loads(body)) for cid, body in rows}


def outage_config(
    ledger: ProductLedger,  # noqa: F811
    peers: list[TestPeer],  # noqa: F811
    network_files: Path,  # noqa: F811
    relay: Relay,
    name: str,
) -> Path:
    """The adapter's configuration file: Org1's peer directly, Org2's through the relay; both organisations'
    attestations required, no witness (the command gives one)."""
    config: dict[str, Any] = make_config(
        ledger,
        peers,
        network_files,
        addresses=[peers[0].address, f"127.0.0.1:{relay.port}"],
        attest=True,
        minAttestingOrganizations=2,
        pageSize=50,
    )
    config.pop("witness")
    return write_config(config, network_files / f"{name}.yaml")


def test_under_attested_credentials_are_held_then_upgraded_in_place(
    ledger: ProductLedger,  # noqa: F811
    peers: list[TestPeer],  # noqa: F811
    network_files: Path,  # noqa: F811
    relay: Relay,
    tmp_path: Path,
) -> None:
    cfg = outage_config(ledger, peers, network_files, relay, f"outage-{tmp_path.name}")
    witness = KeyPair.generate()
    key_file = tmp_path / "witness.json"
    witness.to_file(key_file)
    db = tmp_path / "gateway.sqlite"
    url = f"sqlite:///{db}"
    added = vcgate("adapters", "add", "fabric", "--config", str(cfg), "--db", url, "--witness", witness.controller)
    assert added.code == 0, added.stderr

    relay.stop()  # Org2's peer goes away
    during = vcgate("sync", "--db", url, "--witness-key", str(key_file), "--no-verify", "--json")
    assert during.code == 1, during.stdout + during.stderr
    counts = during.json()["adapters"]["acme-products"]
    assert counts["stored"] >= 1
    assert counts["incomplete"] == counts["stored"]
    assert counts["inQuarantine"] == counts["stored"]
    held = {q["code"] for q in counts["quarantine"]}
    assert held == {"EVIDENCE_INCOMPLETE"}
    weak = evidence_orgs(db)
    assert set(map(frozenset, weak.values())) == {frozenset({"Org1MSP"})}

    relay.start()  # the peer is back
    after = vcgate("sync", "--db", url, "--witness-key", str(key_file), "--no-verify", "--json")
    assert after.code == 0, after.stdout + after.stderr
    counts = after.json()["adapters"]["acme-products"]
    assert counts["released"] == len(weak)
    assert counts["inQuarantine"] == 0
    strong = evidence_orgs(db)
    assert set(strong) == set(weak)  # upgraded in place: the same credential ids
    assert all(orgs == {"Org1MSP", "Org2MSP"} for orgs in strong.values())


def file_orgs(out: Path) -> dict[str, set[str]]:
    """Credential file -> the organisations whose attestations its evidence carries."""
    return {path.name: attesting_orgs(json.loads(path.read_text(encoding="utf-8"))) for path in out.glob("*-*-*.json")}


def test_adapters_sync_out_rewrites_under_attested_files_once_the_peer_is_back(
    ledger: ProductLedger,  # noqa: F811
    peers: list[TestPeer],  # noqa: F811
    network_files: Path,  # noqa: F811
    relay: Relay,
    tmp_path: Path,
) -> None:
    cfg = outage_config(ledger, peers, network_files, relay, f"outage-out-{tmp_path.name}")
    key = tmp_path / "gateway-key.json"
    KeyPair.generate().to_file(key)
    out = tmp_path / "credentials"
    args = ("adapters", "sync", "fabric", "--config", str(cfg), "--out", str(out), "--key", str(key), "--json")

    relay.stop()
    during = vcgate(*args)
    assert during.code == 1, during.stdout + during.stderr
    summary = during.json()
    weak = file_orgs(out)
    assert weak
    assert set(map(frozenset, weak.values())) == {frozenset({"Org1MSP"})}
    assert len(summary["incomplete"]) == len(weak)

    relay.start()
    after = vcgate(*args)
    assert after.code == 0, after.stdout + after.stderr
    summary = after.json()
    assert summary["upgraded"] == len(weak)
    assert summary["incomplete"] == []
    strong = file_orgs(out)
    assert set(strong) == set(weak)  # the same files, rewritten
    assert all(orgs == {"Org1MSP", "Org2MSP"} for orgs in strong.values())
