"""Offline Ethereum evidence checks per second on one core (target: >= 2,000/s).

Uses the stored vector tests/fixtures/ethereum/eas-licence-evidence.json (real evidence from anvil with the official
EAS bytecode: a 17-transaction block, log + receipt + transaction proofs, the attestation's 8 storage slots, 3
descendant headers, checkpoint anchor). No node needed. Run from the repository root:

    python benchmarks/ethereum_evidence.py [--seconds 3]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vcgate.adapters.ethereum import (
    CheckpointAnchor,
    EasSchema,
    EthereumEvidence,
    check_eas_attestation,
    check_evidence,
)

VECTOR = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "ethereum" / "eas-licence-evidence.json"
AT = datetime(2100, 1, 1, tzinfo=UTC)


def rate(label: str, work: Callable[[], Any], seconds: float, rounds: int = 5) -> float:
    """Best of ``rounds`` timed rounds (as timeit advises: slower rounds measure the other load on the machine)."""
    for _ in range(50):  # warm-up
        work()
    best = 0.0
    for _ in range(rounds):
        count = 0
        start = time.perf_counter()
        deadline = start + seconds / rounds
        while time.perf_counter() < deadline:
            for _ in range(20):
                work()
            count += 20
        best = max(best, count / (time.perf_counter() - start))
    print(f"{label:<68} {best:>9,.0f} /s  ({1e6 / best:,.0f} µs each)")
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=3.0, help="time per measurement")
    args = parser.parse_args()

    vector = json.loads(VECTOR.read_text())
    checkpoint = vector["checkpoint"]
    anchor = CheckpointAnchor.of(
        checkpoint["chainId"], {checkpoint["blockNumber"]: checkpoint["blockHash"]}, checkpoint["finalityDepth"]
    )
    document = vector["evidence"]
    parsed = EthereumEvidence.from_json(document)
    log_only = EthereumEvidence.from_json({k: v for k, v in document.items() if k not in ("state", "locator")})
    schema = EasSchema(vector["schema"])
    assert check_eas_attestation(document, anchor, at=AT, eas_address=vector["easAddress"]).status == "verified"

    print(f"vector: {vector['name']} ({len(json.dumps(document)):,} bytes of JSON)\n")
    headline = rate(
        "check_evidence, log only (tx + receipt proofs, sender, 3 headers)",
        lambda: check_evidence(log_only, anchor, at=AT),
        args.seconds,
    )
    rate(
        "check_evidence, log + 25 storage slots, parsed evidence",
        lambda: check_evidence(parsed, anchor, at=AT),
        args.seconds,
    )
    rate("check_evidence from JSON (parse + check)", lambda: check_evidence(document, anchor, at=AT), args.seconds)
    rate(
        "check_eas_attestation from JSON (parse + check + EAS + schema)",
        lambda: check_eas_attestation(document, anchor, at=AT, eas_address=vector["easAddress"], schema=schema),
        args.seconds,
    )
    print(f"\ntarget >= 2,000/s per core for a log's evidence: {'met' if headline >= 2000 else 'NOT met'}")


if __name__ == "__main__":
    main()
