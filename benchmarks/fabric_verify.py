"""Throughput of the offline Fabric verifier: transactions decoded and fully verified per second per core.

Builds a peer ledger file (``blockfile_000000`` layout) holding 10,000 endorser transactions signed by a
test MSP (2 peer organisations; every transaction carries a client signature and two peer endorsements,
every block an orderer signature), then times reading from bytes + decoding + every check (data hash, hash
chain, orderer signature, creator signature, tx id, certificate chains, endorsement signatures, proposal
hash, endorsement policy) in one process, as CPU time of that process (per core).

    python benchmarks/fabric_verify.py [--transactions 10000] [--per-block 100] [--repeat 3]

On demand only; never part of the timed test suite. Target: ≥ 2,500 tx/s/core.
"""

from __future__ import annotations

import argparse
import time

from vcgate.adapters.fabric import VerificationCache, check_blocks, iter_blockfile
from vcgate.adapters.fabric.testing import TestNetwork, blockfile, build_chain


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=10_000)
    parser.add_argument("--per-block", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    started = time.perf_counter()
    network = TestNetwork.create()
    data = blockfile(build_chain(network, transactions=args.transactions, per_block=args.per_block))
    print(
        f"built blockfile: {args.transactions} tx in blocks of {args.per_block}, {len(data) / 1e6:.1f} MB "
        f"({time.perf_counter() - started:.1f} s)"
    )
    best = 0.0
    for run in range(args.repeat):
        cpu0, wall0 = time.process_time(), time.perf_counter()
        blocks = list(iter_blockfile(data))
        # a fresh cache each run: certificate chains are validated again
        results = check_blocks(blocks, cache=VerificationCache())
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        txs = sum(len(r.transactions) for r in results)
        statuses = {r.status for r in results}
        assert statuses == {"verified"}, statuses
        assert txs == args.transactions + 2  # + genesis config and the _lifecycle commit
        rate = txs / cpu
        best = max(best, rate)
        print(f"run {run + 1}: {txs} tx verified in {wall:.2f} s wall / {cpu:.2f} s CPU = {rate:,.0f} tx/s/core")
    print(f"best: {best:,.0f} tx/s/core (target 2,500)")


if __name__ == "__main__":
    main()
