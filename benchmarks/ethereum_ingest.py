"""Ethereum adapter ingest throughput: records read with evidence, translated and signed per second, and offline
evidence checks per second, from a local anvil holding N EAS licence attestations (default 10,000).

Set-up: anvil from tests/node (scripts/install-test-deps.sh), the official EAS bytecode, the adapter's ``ip-licence``
schema; attestations are sent in ``multiAttest`` batches with automine off and mined many transactions per block, so
the set-up takes seconds. Figures are single-process (one core for the Python side; anvil runs in its own process
during the read phase only). Run from the repository root:

    python benchmarks/ethereum_ingest.py [--attestations 10000] [--batch 5] [--rdfc 500] [--checks 2000]

Targets (issue 5): >= 1,000 records/s/core translated and signed with eddsa-jcs-2022; >= 2,000 evidence checks/s/core.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from ethereum.conftest import ZERO_BYTES32, deploy_all, start_anvil, stop_anvil  # noqa: E402  (test tooling)

from vcgate.adapters.ethereum import IP_LICENCE_SCHEMA, EthereumAdapter, encode_attestation_data  # noqa: E402
from vcgate.gateway import IssuingService, KeyPair  # noqa: E402

AT = datetime(2100, 1, 1, tzinfo=UTC)
SIGNED_AT = datetime(2026, 3, 1, tzinfo=UTC)


def licence(number: int, licensee: str) -> dict[str, Any]:
    return {
        "licenseId": f"ACME-LIC-{number:06d}",
        "ipRightsCredential": "urn:uuid:9a4d2f6c-1b3e-4f7a-8c2d-5e6f7a8b9c33",
        "ipRightsType": "Trademark",
        "recordationNumber": "TMK 23-00457",
        "licenseeDid": licensee,
        "licenseeName": "Dongguan Summit Garment Co., Ltd.",
        "gtins": ["00614141123452", f"00614141{number % 1_000_000:06d}"],
        "territories": ["US", "CA"],
        "termStart": 1_767_225_600,
        "termEnd": 1_830_297_600,
        "conditions": "Manufacture for export to the licensed territory only.",
    }


def rpc_batch(url: str, calls: list[tuple[str, list[Any]]]) -> list[Any]:
    body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
    answers = httpx.post(url, json=body, timeout=300).json()
    errors = [a["error"] for a in answers if "error" in a]
    if errors:
        raise SystemExit(f"set-up failed: {errors[0]}")
    return [a["result"] for a in sorted(answers, key=lambda a: a["id"])]


def setup(total: int, batch: int, per_block: int) -> tuple[Any, Any, KeyPair, float]:
    started = time.perf_counter()
    node = start_anvil("--gas-limit", "3000000000")
    d = deploy_all(node)
    schema = d.register_schema(IP_LICENCE_SCHEMA)
    maker = KeyPair.generate("ed25519").controller
    node.rpc("evm_setAutomine", [False])
    nonce = int(node.rpc("eth_getTransactionCount", [d.brand_owner, "pending"]), 16)
    sent = 0
    pending: list[tuple[str, list[Any]]] = []
    while sent < total:
        size = min(batch, total - sent)
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
            "nonce": hex(nonce),  # explicit: a JSON-RPC batch may be handled concurrently
        }
        nonce += 1
        pending.append(("eth_sendTransaction", [tx]))
        sent += size
        if len(pending) == per_block or sent >= total:
            rpc_batch(node.url, pending)
            node.rpc("evm_mine")
            pending = []
    node.rpc("evm_setAutomine", [True])
    node.rpc("anvil_mine", ["0x3"])
    return node, d, KeyPair.generate("ed25519"), time.perf_counter() - started


class Timer:
    """Wall time and this process's CPU time: on a loaded shared machine the CPU figure is the per-core rate."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.process_time() - self.cpu


def rate(label: str, count: int, wall: float, cpu: float) -> float:
    """Print and return the per-CPU-second rate (records per second on one core)."""
    per_core = count / cpu if cpu else float("inf")
    print(f"  {label:<56} {count:>6}: {per_core:>8,.0f}/s per core  (wall {count / wall:>7,.0f}/s)")
    return per_core


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attestations", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=2, help="attestations per multiAttest transaction")
    parser.add_argument("--per-block", type=int, default=200, help="transactions per block")
    parser.add_argument("--rdfc", type=int, default=500, help="records to sign with eddsa-rdfc-2022")
    parser.add_argument("--checks", type=int, default=2_000, help="credentials whose evidence is checked")
    args = parser.parse_args()

    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs (shared machine)")
    node, d, brand, seconds = setup(args.attestations, args.batch, args.per_block)
    try:
        print(f"set-up: {args.attestations:,} attestations, {d.w3.eth.block_number} blocks, {seconds:.1f} s")
        config = {
            "id": "bench",
            "chainId": 31337,
            "rpcUrl": node.url,
            "finality": {"confirmations": 2},
            "pageSize": 500,
            "blockRange": 50,
            "signers": {d.brand_owner: brand.controller},
            "eas": {"address": d.eas.address, "schemas": [{"profile": "ip-licence"}]},
        }
        adapter = EthereumAdapter.from_config(config)

        print("results (per core = per CPU-second of this process; wall rates suffer from the machine's load):")
        with Timer() as t:
            records = [r for page in adapter.records() for r in page.records]
        assert len(records) == args.attestations, len(records)
        rate("read from anvil + build evidence (anvil's CPU not counted)", len(records), t.wall, t.cpu)

        with Timer() as translate:
            translations = [adapter.translate(r) for r in records]
        rate("translate (published mapping, evidence)", len(translations), translate.wall, translate.cpu)

        jcs = IssuingService.for_key(brand, "eddsa-jcs-2022")
        with Timer() as sign_jcs:
            signed = [jcs.issue(t, created=SIGNED_AT) for t in translations]
        rate("sign eddsa-jcs-2022 (schema validation + proof)", len(signed), sign_jcs.wall, sign_jcs.cpu)
        headline = rate(
            "translate + sign, eddsa-jcs-2022",
            len(signed),
            translate.wall + sign_jcs.wall,
            translate.cpu + sign_jcs.cpu,
        )

        rdfc = IssuingService.for_key(brand, "eddsa-rdfc-2022")
        subset = translations[: args.rdfc]
        with Timer() as sign_rdfc:
            for item in subset:
                rdfc.issue(item, created=SIGNED_AT)
        share = len(subset) / len(translations)
        rate(
            "translate + sign, eddsa-rdfc-2022",
            len(subset),
            sign_rdfc.wall + translate.wall * share,
            sign_rdfc.cpu + translate.cpu * share,
        )

        blocks = {r.ledger_height for r in records}
        checkpoints = {n: "0x" + bytes(d.w3.eth.get_block(n)["hash"]).hex() for n in sorted(blocks)}
        anchor = {"kind": "ethereum", "checkpoints": checkpoints, "finalityDepth": 0}
        checker = adapter.evidence_checker()
        sample = signed[: args.checks]
        with Timer() as checking:
            statuses = [checker.check(c, c["evidence"][0], anchor, at=AT).status for c in sample]
        checks = rate("offline evidence checks (SDK checker, JSON in)", len(sample), checking.wall, checking.cpu)
        assert set(statuses) == {"verified"}, set(statuses)
        size = len(str(signed[0]))
        print(f"  one signed credential: ~{size / 1024:.0f} KB of JSON (evidence included)")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        print(
            f"targets: jcs ingest >= 1,000/s/core: {'met' if headline >= 1000 else 'NOT met'}; "
            f"evidence checks >= 2,000/s/core: {'met' if checks >= 2000 else 'NOT met'}"
        )
    finally:
        stop_anvil(node)


if __name__ == "__main__":
    main()
