"""`vcgate sync` throughput into SQLite: records read, translated, signed as witness (eddsa-jcs-2022) and stored per
second per core, through the command line exactly as an operator runs it.

Two ledgers, each with N records (default 10,000):
- **EAS**: a local anvil with the official EAS bytecode and N ``ip-licence`` attestations (the set-up of
  benchmarks/ethereum_ingest.py), read by the Ethereum adapter under a witness-mode copy of its published mapping;
- **Fabric**: a peer blockfile of N endorsed transactions (2 organisations; adapters.fabric.testing) read offline
  by the Fabric adapter (``blockFiles``) under a witness-mode product mapping.

For each: `vcgate adapters add` registers the adapter, then `vcgate sync --witness-key K --witness-suite
eddsa-jcs-2022 --no-verify --json` is timed as a child process (wall time, and its CPU time from the OS: records per
CPU-second = per core), then once more with the verification pass (`--verify`, the default) on a fresh store. The
child's CPU excludes anvil's. Run from the repository root:

    python benchmarks/sync_ingest.py [--records 10000] [--only eas|fabric]

On demand only. Target (issue 12): >= 1,000 records/s per core in jcs witness mode.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from vcgate.gateway import KeyPair  # noqa: E402

VCGATE = Path(sys.executable).with_name("vcgate")
CLI = [str(VCGATE)] if VCGATE.is_file() else [sys.executable, "-c", "from vcgate.gateway.cli import main; main()"]


def vcgate(*args: str) -> tuple[dict[str, Any] | None, float, float]:
    """Run `vcgate ARGS`; its JSON output (if any), wall seconds and CPU seconds (user + system of the child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run([*CLI, *args], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0, 1):
        raise SystemExit(f"vcgate {' '.join(args)} exited {done.returncode}: {done.stderr[-2000:]}")
    try:
        return json.loads(done.stdout), wall, cpu
    except ValueError:
        return None, wall, cpu


def measure(label: str, work: Path, plugin: str, config: Path, key: KeyPair, records: int) -> None:
    key_file = work / "witness.json"
    if not key_file.exists():
        key.to_file(key_file)
    for verify in (False, True):
        db = work / f"store-{label}-{'verify' if verify else 'store'}.sqlite"
        url = f"sqlite:///{db}"
        added, _, _ = vcgate(
            "adapters", "add", plugin, "--config", str(config), "--db", url, "--witness", key.controller, "--json"
        )
        assert added is not None, "adapters add failed"
        report, wall, cpu = vcgate(
            "sync",
            "--db",
            url,
            "--witness-key",
            str(key_file),
            "--witness-suite",
            "eddsa-jcs-2022",
            "--verify" if verify else "--no-verify",
            "--json",
        )
        assert report is not None
        summary = report["summary"]
        assert summary["stored"] == records, json.dumps(report)[:3000]
        assert summary["quarantined"] == 0, summary
        what = "sync + verification pass" if verify else "sync (read, translate, sign, store)"
        print(
            f"  {label:<7} {what:<38} {records:>6} records: {records / cpu:>7,.0f}/s per core"
            f"  (wall {records / wall:>6,.0f}/s; {cpu:.1f} s CPU, {wall:.1f} s wall)"
        )


def witness_mapping(source: Path, target: Path, mapping_id: str) -> Path:
    doc = yaml.safe_load(source.read_text(encoding="utf-8"))
    doc["id"] = mapping_id
    doc["credential"]["issuer"] = {"mode": "witness"}
    target.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return target


def _rpc(url: str, method: str, params: list[Any] | None = None) -> Any:
    # Long timeout: on a loaded machine anvil takes more than httpx's default 5 s to mine a full block.
    import httpx

    body = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}, timeout=600)
    answer = body.json()
    if "error" in answer:
        raise SystemExit(f"set-up failed: {answer['error']}")
    return answer["result"]


def _attest(node: Any, d: Any, records: int, per_block: int) -> None:
    """N ip-licence attestations in multiAttest batches of 2, ``per_block`` transactions per mined block."""
    import httpx
    from ethereum.conftest import ZERO_BYTES32
    from ethereum_ingest import licence

    from vcgate.adapters.ethereum import IP_LICENCE_SCHEMA, encode_attestation_data

    schema = d.register_schema(IP_LICENCE_SCHEMA)
    maker = KeyPair.generate("ed25519").controller
    _rpc(node.url, "evm_setAutomine", [False])
    nonce = int(_rpc(node.url, "eth_getTransactionCount", [d.brand_owner, "pending"]), 16)
    sent, pending = 0, []
    while sent < records:
        size = min(2, records - sent)
        requests = [
            (
                d.manufacturer,
                0,
                True,
                ZERO_BYTES32,
                encode_attestation_data(IP_LICENCE_SCHEMA, licence(sent + i, maker)),
                0,
            )
            for i in range(size)
        ]
        data = d.eas.functions.multiAttest([(schema, requests)])._encode_transaction_data()
        tx = {
            "from": d.brand_owner,
            "to": d.eas.address,
            "data": data,
            "gas": hex(600_000 + 1_300_000 * size),
            "nonce": hex(nonce),
        }
        nonce += 1
        pending.append({"jsonrpc": "2.0", "id": len(pending), "method": "eth_sendTransaction", "params": [tx]})
        sent += size
        if len(pending) == per_block or sent >= records:
            answers = httpx.post(node.url, json=pending, timeout=600).json()
            assert not [a for a in answers if "error" in a], answers[:1]
            _rpc(node.url, "evm_mine")
            pending = []
    _rpc(node.url, "evm_setAutomine", [True])
    _rpc(node.url, "anvil_mine", ["0x3"])


def eas(work: Path, records: int, key: KeyPair) -> None:
    from ethereum.conftest import deploy_all, start_anvil, stop_anvil

    from vcgate.adapters.ethereum import IP_LICENCE_SCHEMA

    started = time.perf_counter()
    node = start_anvil("--gas-limit", "3000000000")
    try:
        d = deploy_all(node)
        _attest(node, d, records, 100)
        seconds = time.perf_counter() - started
        print(f"EAS set-up: {records:,} attestations on anvil in {d.w3.eth.block_number} blocks ({seconds:.1f} s)")
        mapping = witness_mapping(
            ROOT / "adapters/ethereum/mappings/eas-ip-licence.yaml",
            work / "eas-witness.yaml",
            "https://example.org/bench/eas-ip-licence-witnessed",
        )
        config = work / "eas.yaml"
        schema = {
            "definition": IP_LICENCE_SCHEMA,
            "resolver": "0x" + "00" * 20,
            "revocable": True,
            "mapping": mapping.name,
        }
        config.write_text(
            yaml.safe_dump(
                {
                    "id": "bench-eas",
                    "chainId": 31337,
                    "rpcUrl": node.url,
                    "finality": {"confirmations": 2},
                    "pageSize": 500,
                    "blockRange": 50,
                    "signers": {d.brand_owner: "did:web:acme-brand.example"},
                    "eas": {"address": d.eas.address, "schemas": [schema]},
                }
            ),
            encoding="utf-8",
        )
        measure("EAS", work, "ethereum", config, key, records)
    finally:
        stop_anvil(node)


def fabric(work: Path, records: int, key: KeyPair) -> None:
    from vcgate.adapters.fabric.testing import TestNetwork, blockfile, build_chain
    from vcgate.adapters.fabric.testing._network import header_hash_of

    started = time.perf_counter()
    network = TestNetwork.create()
    blocks = build_chain(network, transactions=records, per_block=100)
    (work / "ledger").mkdir(exist_ok=True)
    (work / "ledger" / "blockfile_000000").write_bytes(blockfile(blocks))
    print(f"Fabric set-up: {records:,} transactions in {len(blocks)} blocks ({time.perf_counter() - started:.1f} s)")
    (work / "record.yaml").write_text(
        yaml.safe_dump(
            {
                "id": "https://example.org/bench/fabric-record",
                "version": "1.0.0",
                "credential": {
                    "type": ["VerifiableCredential", "ProductRegistrationCredential"],
                    "issuer": {"mode": "witness"},
                    "validFrom": {"ledger": "time"},
                    "credentialSubject": {
                        "fields": {
                            "type": {"const": ["Product"]},
                            "gtin": {"const": "00614141000012"},
                            "name": {"path": "id"},
                            "manufacturer": {
                                "fields": {"type": {"const": ["Organization"]}, "name": {"const": "Org1"}}
                            },
                        }
                    },
                },
                "evidence": {"embedRecord": True},
            }
        ),
        encoding="utf-8",
    )
    config = work / "fabric.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "id": "bench-fabric",
                "channel": network.channel,
                "genesisBlockHash": header_hash_of(blocks[0]).hex(),
                "blockFiles": ["ledger/blockfile_000000"],
                "mappings": [{"mapping": "record.yaml", "chaincode": "records", "keys": "rec-*"}],
                "pageSize": 500,
            }
        ),
        encoding="utf-8",
    )
    measure("Fabric", work, "fabric", config, key, records)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--only", choices=["eas", "fabric"])
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (shared machine)")
    key = KeyPair.generate("ed25519")
    with tempfile.TemporaryDirectory(prefix="vcgate-sync-bench-") as tmp:
        work = Path(tmp)
        if args.only in (None, "fabric"):
            (work / "fabric").mkdir()
            fabric(work / "fabric", args.records, key)
        if args.only in (None, "eas"):
            (work / "eas").mkdir()
            eas(work / "eas", args.records, key)
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
