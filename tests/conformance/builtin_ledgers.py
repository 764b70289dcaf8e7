"""Running ledgers for the built-in adapters' conformance runs.

Each factory takes a folder, starts what its adapter reads from, writes the adapter's configuration file (with its
``conformance:`` section) into the folder and yields the file's path; the ledger stops when the ``with`` block ends.
The configuration is complete on its own — certificates and keys are files next to it, servers listen on 127.0.0.1
— so the suite can run in another process, as the gateway's adapter registration runs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import yaml

from vcgate.adapters.fabric.testing import TestPeer, build_product_ledger, issue_tls, write_msp_dir

#: The instant Fabric evidence is judged at: inside the test network's certificate validity (2025-01-01 … 2035).
FABRIC_AT = "2025-06-01T00:00:00Z"


def _write(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


@contextmanager
def fabric_ledger(folder: Path) -> Iterator[Path]:
    """The manufacturer's product ledger (tests/fabric_adapter) served by Org1's and Org2's in-process peers over
    mutual TLS, read live: Deliver for the blocks, each peer's signed QSCC answer as the validation-code
    attestation. The anchor is what a policy pins: the genesis block hash and two attesting organisations (no
    unsafe acceptance of the recorded code)."""
    ledger = build_product_ledger()
    network = ledger.network
    with ExitStack() as running:
        peers = [running.enter_context(TestPeer(network, msp, ledger.blocks)) for msp in ("Org1MSP", "Org2MSP")]
        write_msp_dir(network.clients["Org1MSP"], folder / "msp")
        client_tls = issue_tls(network.orgs["Org1MSP"], "user1-tls", server=False)
        (folder / "client-tls.pem").write_bytes(client_tls.certificate_pem)
        (folder / "client-tls.key").write_bytes(client_tls.key_pem)
        for peer in peers:
            (folder / f"{peer.msp_id}-tlsca.pem").write_bytes(peer.tls.ca_pem)
        config = {
            "id": "acme-products",
            "channel": network.channel,
            "genesisBlockHash": ledger.genesis_hash,
            "peers": [
                {"address": peer.address, "tlsRootCert": f"{peer.msp_id}-tlsca.pem", "mspId": peer.msp_id}
                for peer in peers
            ],
            "identity": {"mspId": "Org1MSP", "mspDir": "msp"},
            "tls": {"clientCert": "client-tls.pem", "clientKey": "client-tls.key"},
            "mappings": [{"mapping": "product-registration", "chaincode": "products", "keys": "product~*"}],
            "witness": "did:web:cbp.example",
            "pageSize": 2,
            "timeout": 10,
            "conformance": {
                "anchor": {"genesisBlockHash": ledger.genesis_hash, "minAttestingOrganizations": 2},
                "at": FABRIC_AT,
                "sampleSize": 10,
                "mappings": ["package:vcgate.adapters.fabric/mappings/product-registration.yaml"],
            },
        }
        yield _write(folder / "fabric.yaml", config)


@contextmanager
def ethereum_ledger(folder: Path) -> Iterator[Path]:
    """The Ethereum adapter tests' chain (tests/ethereum_adapter/conftest.py: anvil with the official EAS bytecode,
    on-chain and off-chain licence attestations, one revoked, one under a schema no mapping covers, a contract
    event and an anchored credential), stopped by PID on exit. The anchor pins every block hash up to the final
    head. No opt-outs: every adapter case passes (EVD-005 included: docs/ethereum.md, "What proofMaterial holds")."""
    # Imported here: the Ethereum test helpers pull in web3, which the other runs do not need.
    from ethereum.conftest import start_anvil, stop_anvil
    from ethereum_adapter.conftest import HERE, make_world

    node = start_anvil()
    try:
        world = make_world(node, folder)
        config = {k: v for k, v in world.config().items() if k != "configDir"}
        config["conformance"] = {
            "anchor": world.anchor(),
            # After every block: anvil stamps blocks with the wall clock.
            "at": "2100-01-01T00:00:00Z",
            "sampleSize": 10,
            "mappings": [
                "package:vcgate.adapters.ethereum/mappings/eas-ip-licence.yaml",
                "package:vcgate.adapters.ethereum/mappings/anchored-ip-licence.yaml",
                str(HERE / "mappings" / "trademark.yaml"),
            ],
        }
        yield _write(folder / "ethereum.yaml", config)
    finally:
        stop_anvil(node)


@contextmanager
def remote_ledger(folder: Path) -> Iterator[Path]:
    """The Ethereum ledger above served by `vcgate adapters serve ethereum` (a subprocess on 127.0.0.1, stopped by
    PID), tested as `adapter:remote`: the same cases through the remote adapter protocol, ADP-009–011 reading its
    wire answers (the chain's empty block windows, a rewind from a cursor whose block hash is not on the chain, the
    attestation under a schema no mapping covers)."""
    import os
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with ethereum_ledger(folder) as config_path:
        config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
        conformance = config.pop("conformance")
        served = _write(folder / "served-ethereum.yaml", config)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        script = Path(sys.executable).with_name("vcgate")
        cli = (
            [str(script)] if script.is_file() else [sys.executable, "-c", "from vcgate.gateway.cli import main; main()"]
        )
        log = (folder / "serve.log").open("wb")
        process = subprocess.Popen(
            [*cli, "adapters", "serve", "ethereum", "--config", str(served), "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ),
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise RuntimeError((folder / "serve.log").read_text(encoding="utf-8"))
                try:
                    if httpx.get(url + "/v1/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("the adapter service did not start")
                time.sleep(0.2)
            yield _write(folder / "remote.yaml", {"url": url, "retries": 0, "timeout": 60, "conformance": conformance})
        finally:
            process.terminate()
            process.wait(timeout=30)
            log.close()
