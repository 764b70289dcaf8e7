"""End to end, with `vcgate` commands only (subprocesses), against anvil holding the official EAS contracts: a brand
owner's licences are written by the official EAS SDK (an independent producer), a stranger posts an attestation under
a schema no mapping covers to the same shared EAS contract, the brand owner serves its Ethereum adapter with its own
key (`vcgate adapters serve ethereum --key`, partner mode), the gateway registers it as a remote adapter and syncs;
then the chain reorganises and the rewind reaches the gateway's store through the remote adapter protocol. The
store's contents are read back and asserted, not just exit codes."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from ethereum.conftest import DEV_KEYS, AnvilNode, deploy_all, isolated
from ethereum_adapter.conftest import CHAIN_ID, HERE, ROOT, licence

from vcgate.adapters.ethereum import IP_LICENCE_SCHEMA
from vcgate.gateway import KeyPair

from .conftest import CLI, vcgate

pytestmark = [pytest.mark.server, pytest.mark.node, pytest.mark.slow]

NODE_MODULES = ROOT / "tests" / "node" / "node_modules"
LICENSEE = "did:web:summit-garment.example"


def sdk(request: dict[str, Any]) -> dict[str, Any]:
    """Attest with the official EAS SDK (tests/ethereum_adapter/eas_sdk_attest.cjs)."""
    done = subprocess.run(
        ["node", str(HERE / "eas_sdk_attest.cjs"), json.dumps(request)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def service(anvil_server: AnvilNode, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """anvil + EAS; the brand's licences 1 (then a snapshot) and 2, and a stranger's attestation under an unknown
    schema; the brand's adapter served with its key on 127.0.0.1."""
    with isolated(anvil_server) as node:  # the run's node; the test's reorg stays inside this snapshot
        yield from _serve(node, tmp_path)


def _serve(node: AnvilNode, tmp_path: Path) -> Iterator[dict[str, Any]]:
    process: subprocess.Popen[bytes] | None = None
    try:
        d = deploy_all(node)
        brand = KeyPair.generate()
        brand.to_file(tmp_path / "brand-key.json")
        schema = "0x" + d.register_schema(IP_LICENCE_SCHEMA).hex()
        base = {"rpcUrl": node.url, "easAddress": d.eas.address, "recipient": d.manufacturer}
        first = sdk(
            {
                **base,
                "schema": IP_LICENCE_SCHEMA,
                "schemaUid": schema,
                "attesterKey": DEV_KEYS[0],
                "onchain": [{"values": licence(1, LICENSEE), "expirationTime": 0}],
            }
        )
        node.rpc("anvil_mine", ["0x1"])
        snapshot = node.rpc("evm_snapshot")
        sdk(
            {
                **base,
                "schema": IP_LICENCE_SCHEMA,
                "schemaUid": schema,
                "attesterKey": DEV_KEYS[0],
                "onchain": [{"values": licence(2, LICENSEE), "expirationTime": 0}],
            }
        )
        unknown = "0x" + d.register_schema("string note,uint64 amount").hex()
        stranger = sdk(
            {
                **base,
                "schema": "string note,uint64 amount",
                "schemaUid": unknown,
                "attesterKey": DEV_KEYS[2],
                "onchain": [{"values": {"note": "ACME-LIC-2026-001 is mine", "amount": 7}, "expirationTime": 0}],
            }
        )
        node.rpc("anvil_mine", ["0x4"])
        config = tmp_path / "eas.yaml"
        config.write_text(
            yaml.safe_dump(
                {
                    "id": "acme-licences",
                    "chainId": CHAIN_ID,
                    "rpcUrl": node.url,
                    "finality": {"confirmations": 2},
                    "signers": {d.brand_owner: brand.controller},
                    "eas": {"address": d.eas.address, "schemas": [{"profile": "ip-licence"}]},
                    "rpc": {"retries": 0, "timeout": 5},
                }
            )
        )
        port = _free_port()
        log = (tmp_path / "serve.log").open("wb")
        process = subprocess.Popen(
            [
                *CLI,
                "adapters",
                "serve",
                "ethereum",
                "--config",
                str(config),
                "--key",
                str(tmp_path / "brand-key.json"),
                "--port",
                str(port),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(url + "/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the adapter service did not start"
            time.sleep(0.2)
        remote = tmp_path / "remote.yaml"
        remote.write_text(yaml.safe_dump({"url": url, "retries": 0, "timeout": 60}))
        yield {
            "node": node,
            "d": d,
            "brand": brand,
            "schema": schema,
            "snapshot": snapshot,
            "remote": remote,
            "first": first["onchain"][0],
            "stranger": stranger["onchain"][0],
            "base": base,
        }
    finally:
        if process is not None and process.poll() is None:
            process.terminate()
            process.wait(timeout=30)


def stored(db: Path) -> dict[str, dict[str, Any]]:
    """licenseId -> the stored credential."""
    rows = sqlite3.connect(db).execute("select document from credentials").fetchall()
    docs = [json.loads(r[0]) for r in rows]
    return {d["credentialSubject"]["licenseId"]: d for d in docs}


def test_sdk_attestations_a_stranger_and_a_reorg_through_the_served_adapter(
    service: dict[str, Any], tmp_path: Path
) -> None:
    db = tmp_path / "gateway.sqlite"
    url = f"sqlite:///{db}"
    added = vcgate(
        "adapters", "add", "remote", "--config", str(service["remote"]), "--as", "acme", "--db", url, "--json"
    )
    assert added.code == 0, added.stderr
    assert added.json()["adapter"]["kind"] == "ethereum"  # the gateway checks Ethereum evidence itself

    first = vcgate("sync", "--db", url, "--no-verify", "--json")
    assert first.code == 1, first.stdout + first.stderr  # something was quarantined: the stranger's attestation
    counts = first.json()["adapters"]["acme"]
    assert (counts["stored"], counts["quarantined"], counts["errors"]) == (2, 1, [])
    (held,) = counts["quarantine"]
    assert held["locator"] == "eas/" + service["stranger"]
    assert held["code"] == "ETHEREUM_UNKNOWN_SCHEMA"
    licences = stored(db)
    assert sorted(licences) == ["ACME-LIC-2026-001", "ACME-LIC-2026-002"]
    brand = service["brand"].controller
    assert {d["issuer"] if isinstance(d["issuer"], str) else d["issuer"]["id"] for d in licences.values()} == {brand}
    assert all("proof" in d for d in licences.values())  # signed by the brand's own service (partner mode)
    assert not any("is mine" in json.dumps(d) for d in licences.values())

    # A reorg: the blocks after the snapshot (licence 2) leave the chain; licence 3 is written on the new branch.
    node = service["node"]
    node.rpc("evm_revert", [service["snapshot"]])
    sdk(
        {
            **service["base"],
            "schema": IP_LICENCE_SCHEMA,
            "schemaUid": service["schema"],
            "attesterKey": DEV_KEYS[0],
            "onchain": [{"values": licence(3, LICENSEE), "expirationTime": 0}],
        }
    )
    node.rpc("anvil_mine", ["0x8"])
    second = vcgate("sync", "--db", url, "--no-verify", "--json")
    assert second.code == 0, second.stdout + second.stderr  # the stranger's attestation left with its block
    counts = second.json()["adapters"]["acme"]
    assert counts["rewound"] >= 1, second.stdout
    assert counts["errors"] == []
    licences = stored(db)
    assert sorted(licences) == ["ACME-LIC-2026-001", "ACME-LIC-2026-003"]
    status = vcgate("adapters", "status", "--db", url, "--json")
    assert status.code == 0
    (row,) = status.json()["adapters"]
    assert row["quarantine"] == []
    assert row["kind"] == "ethereum"
