"""Plain-ledger adapter throughput: records read, translated and signed per second per core, from a local ledger.

Set-up (not timed): a SQLite plain ledger with ``--records`` GS1 / importer records (the three bundled mappings in
turn), served by a real ``vcgate plain-ledger serve`` on 127.0.0.1. Measured, in one process (= one core):

1. reading: ``PlainLedgerAdapter.records()`` over HTTP — pages of entries, one inclusion proof per entry, and the
   adapter's own check of every entry (signature, audit path, signed checkpoint) before it emits the record;
2. translating: ``adapter.translate(record)`` (the published mapping, evidence first, pure);
3. translating and signing: ``IssuingService.issue(adapter.translate(record))`` in partner mode (schema validation
   plus a Data Integrity proof) with ``eddsa-jcs-2022`` and with ``eddsa-rdfc-2022``;
4. checking the evidence offline (``PlainLedgerEvidenceChecker``) per credential.

Run from the repository root (on demand only; never part of the timed test suite):

    python benchmarks/plain_ledger_adapter.py [--records 3000] [--rdfc-records 300]

Target (issue 3): >= 1,500 credentials translated and signed per second per core with eddsa-jcs-2022.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from plain_ledger.conftest import start_server  # a real uvicorn server, as the tests start it
from plain_ledger_adapter.conftest import SAMPLES

from vcgate.adapters.plain_ledger import (
    LedgerEntry,
    LogKey,
    PlainLedgerAdapter,
    PlainLedgerStore,
    SubmitterKey,
)
from vcgate.adapters.sdk import SourceRecord
from vcgate.gateway import IssuingService, KeyPair

CREATED = datetime(2026, 1, 1, tzinfo=UTC)


class Timer:
    """Wall-clock and CPU time of one phase. The machine is shared, so "per core" is reported from this process's
    CPU time (records per CPU-second), next to the wall-clock rate."""

    def __init__(self) -> None:
        self.wall = time.perf_counter()
        self.cpu = time.process_time()

    def report(self, label: str, count: int) -> float:
        wall = time.perf_counter() - self.wall
        cpu = time.process_time() - self.cpu
        per_core = count / cpu if cpu > 0 else float("inf")
        print(f"{label:<52} {per_core:>8,.0f} /s per core (CPU)  {count / wall:>8,.0f} /s wall  ({count} records)")
        return per_core


def populate(directory: Path, count: int, submitter: SubmitterKey) -> tuple[Path, Path, LogKey]:
    key = LogKey.generate("bench.vcgate.example/adapter")
    db, key_file = directory / "ledger.sqlite", directory / "ledger.sqlite.logkey.json"
    key.save(key_file)
    names = list(SAMPLES)
    with PlainLedgerStore.create(db, key) as store:
        for start in range(0, count, 500):
            batch = []
            for i in range(start, min(count, start + 500)):
                record: dict[str, Any] = dict(SAMPLES[names[i % len(names)]])
                record["benchIndex"] = i  # every record distinct
                entry = submitter.sign_entry({"kind": "record", "recordId": f"bench-{i}", "record": record})
                batch.append(LedgerEntry.from_json(entry))
            store.append_batch(batch)
    return db, key_file, key


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=3000, help="records in the ledger (JCS run)")
    parser.add_argument("--rdfc-records", type=int, default=300, help="records signed with eddsa-rdfc-2022")
    args = parser.parse_args()

    partner = SubmitterKey.generate("Ed25519")
    keypair = KeyPair.from_multikey(partner.to_json())
    with tempfile.TemporaryDirectory(prefix="vcgate-bench-adapter-") as tmp:
        db, key_file, key = populate(Path(tmp), args.records, partner)
        server = start_server(db, key_file)
        try:
            adapter = PlainLedgerAdapter.from_config(
                {"url": server.url, "logVerifierKey": key.verifier.to_vkey(), "pageSize": 500}
            )
            timer = Timer()
            records: list[SourceRecord] = [r for page in adapter.records() for r in page.records]
            timer.report("read over HTTP (adapter side; server is another process)", len(records))
        finally:
            server.stop()

    # The set-up's objects (3,000 records with their proof material) stay alive; keep the collector from rescanning
    # them during every timed phase (they are read-only from here on).
    gc.collect()
    gc.freeze()
    timer = Timer()
    translations = [adapter.translate(r) for r in records]
    timer.report("translate (published mapping, evidence)", len(records))

    jcs = IssuingService.for_key(keypair, "eddsa-jcs-2022")
    timer = Timer()
    signed = [jcs.issue(adapter.translate(r), created=CREATED) for r in records]
    timer.report("translate + sign, eddsa-jcs-2022 (one core)", len(records))

    timer = Timer()
    for t in translations:
        jcs.issue(t, created=CREATED)
    timer.report("sign only (validate + proof), eddsa-jcs-2022", len(records))

    rdfc = IssuingService.for_key(keypair, "eddsa-rdfc-2022")
    subset = records[: args.rdfc_records]
    timer = Timer()
    for r in subset:
        rdfc.issue(adapter.translate(r), created=CREATED)
    timer.report("translate + sign, eddsa-rdfc-2022 (one core)", len(subset))

    checker = adapter.evidence_checker()
    anchor = adapter.anchor()
    now = datetime.now(UTC)  # the records were logged just now; the check instant must not precede them
    timer = Timer()
    for credential in signed:
        result = checker.check(credential, credential["evidence"][0], anchor, at=now)
        if result.status != "verified":
            raise SystemExit(f"evidence did not verify: {result.to_json()}")
    timer.report("evidence checked offline (with fork store)", len(signed))


if __name__ == "__main__":
    main()
