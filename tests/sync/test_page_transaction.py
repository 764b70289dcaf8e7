"""One sync page is one transaction: a process SIGKILLed while committing a page leaves the store exactly as the
previous page left it (no credential, raw record, revocation or cursor of the killed page)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from vcgate.gateway._store import Store

pytestmark = pytest.mark.slow

WRITER = textwrap.dedent(
    """
    import sys, time
    from datetime import datetime, UTC
    from pathlib import Path
    from vcgate.gateway.verification._pipeline import LedgerRevocation
    from vcgate.gateway._store import PageWrite, Store

    url, marker = sys.argv[1], Path(sys.argv[2])
    store = Store.open(url)
    store.register_adapter("ledger-a", "plain-ledger", {})
    t = datetime(2025, 1, 1, tzinfo=UTC)

    def doc(n):
        return {
            "id": f"urn:uuid:00000000-0000-4000-8000-{n:012d}",
            "type": ["VerifiableCredential"],
            "issuer": "did:example:partner",
            "credentialSubject": {"id": f"did:example:subject-{n}"},
            "evidence": [{"ledgerId": "plain:abc", "ledgerHeight": n}],
        }

    store.commit_page(PageWrite(
        "ledger-a", "plain:abc", cursor={"position": [1]}, credentials=[doc(1)],
        revocations=[LedgerRevocation("urn:uuid:revoked-1", "plain:abc", "entry/0", t, 1)],
        raw_records=[("plain:abc", "entry/1", b"{}", "application/json")],
    ))

    def slow_credentials():
        for n in range(2, 6):
            yield doc(n)
            if n == 4:
                marker.write_text("inside the page transaction")
                time.sleep(600)

    store.commit_page(PageWrite(
        "ledger-a", "plain:abc", cursor={"position": [9]}, credentials=slow_credentials(),
        revocations=[LedgerRevocation("urn:uuid:revoked-2", "plain:abc", "entry/8", t, 8)],
        raw_records=[("plain:abc", "entry/2", b"{}", "application/json")],
        keep_through=0,
    ))
    """
)


def test_sigkill_mid_page_leaves_the_previous_page(tmp_path: Path) -> None:
    db = tmp_path / "store.sqlite"
    url = f"sqlite:///{db}"
    marker = tmp_path / "marker"
    script = tmp_path / "writer.py"
    script.write_text(WRITER, encoding="utf-8")
    process = subprocess.Popen([sys.executable, str(script), url, str(marker)])
    try:
        deadline = time.monotonic() + 120
        while not marker.exists():
            assert process.poll() is None, "the writer exited before reaching the second page"
            assert time.monotonic() < deadline, "the writer never reached the second page"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
    store = Store.open(url)
    try:
        assert store.count_credentials() == 1  # page 1's credential; none of page 2's (3 were written before the kill)
        assert store.credential("urn:uuid:00000000-0000-4000-8000-000000000001") is not None
        assert set(store.revocations()) == {"urn:uuid:revoked-1"}
        (reg,) = store.adapters()
        assert reg.cursor == {"position": [1]}
        assert store.raw_record("plain:abc", "entry/1") == {}
        assert store.raw_record("plain:abc", "entry/2") is None
    finally:
        store.close()
