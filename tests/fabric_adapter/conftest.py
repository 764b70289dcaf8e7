"""Fixtures for the Fabric adapter tests: a product ledger served by two in-process peers over mutual TLS.

The peers are real gRPC servers on 127.0.0.1 speaking Fabric's Deliver, Gateway and Endorser protocols; the adapter
is configured from files (MSP folder, TLS certificates) exactly as for a real network.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from vcgate.adapters.fabric import FabricAdapter
from vcgate.adapters.fabric.testing import (
    ProductLedger,
    TestPeer,
    build_product_ledger,
    issue_tls,
    write_msp_dir,
)
from vcgate.adapters.sdk import load_adapter
from vcgate.gateway import KeyPair

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fabric"
HERE = Path(__file__).resolve().parent
#: The instant tests judge by (the test network's certificates are valid 2025-01-01 … 2035).
AT = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.fixture(scope="session")
def ledger() -> ProductLedger:
    """The manufacturer's product ledger (two orgs, MAJORITY; one policy failure, one duplicate tx id)."""
    return build_product_ledger()


@pytest.fixture(scope="session")
def peers(ledger: ProductLedger) -> Iterator[list[TestPeer]]:
    """Org1's and Org2's peers, serving the ledger over mutual TLS."""
    started = [TestPeer(ledger.network, m, ledger.blocks).start() for m in ("Org1MSP", "Org2MSP")]
    yield started
    for peer in started:
        peer.stop()


@pytest.fixture(scope="session")
def witness_key() -> KeyPair:
    """The gateway's signing key (witness mode)."""
    return KeyPair.generate()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def network_files(ledger: ProductLedger, peers: list[TestPeer], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with the client's MSP folder, its TLS certificate and key, and each peer's TLS root."""
    root = tmp_path_factory.mktemp("fabric-network")
    net = ledger.network
    write_msp_dir(net.clients["Org1MSP"], root / "msp")
    client_tls = issue_tls(net.orgs["Org1MSP"], "user1-tls", server=False)
    (root / "client-tls.pem").write_bytes(client_tls.certificate_pem)
    (root / "client-tls.key").write_bytes(client_tls.key_pem)
    for peer in peers:
        (root / f"{peer.msp_id}-tlsca.pem").write_bytes(peer.tls.ca_pem)
    return root


def make_config(
    ledger: ProductLedger,
    peers: list[TestPeer],
    files: Path,
    *,
    addresses: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An adapter configuration as `vcgate adapters sync fabric --config` reads it (paths relative to ``files``)."""
    config: dict[str, Any] = {
        "configDir": str(files),
        "id": "acme-products",
        "channel": ledger.network.channel,
        "genesisBlockHash": ledger.genesis_hash,
        "peers": [
            {"address": address, "tlsRootCert": f"{peer.msp_id}-tlsca.pem", "mspId": peer.msp_id}
            for peer, address in zip(peers, addresses or [p.address for p in peers], strict=True)
        ],
        "identity": {"mspId": "Org1MSP", "mspDir": "msp"},
        "tls": {"clientCert": "client-tls.pem", "clientKey": "client-tls.key"},
        "mappings": [{"mapping": "product-registration", "chaincode": "products", "keys": "product~*"}],
        "witness": "did:web:cbp.example",
        "pageSize": 2,
        "retry": {"attempts": 2, "initialDelay": 0.01, "maxDelay": 0.02},
        "timeout": 5,
    }
    config.update(extra)
    return config


def write_config(config: dict[str, Any], path: Path) -> Path:
    """Write a configuration as YAML (without configDir: the loader adds the file's folder)."""
    path.write_text(yaml.safe_dump({k: v for k, v in config.items() if k != "configDir"}), encoding="utf-8")
    return path


@pytest.fixture
def adapter(ledger: ProductLedger, peers: list[TestPeer], network_files: Path) -> Iterator[FabricAdapter]:
    """A Fabric adapter on the two test peers, loaded through its entry point like any plugin."""
    made = load_adapter("fabric").create(make_config(ledger, peers, network_files))
    assert isinstance(made, FabricAdapter)
    yield made
    made.close()
