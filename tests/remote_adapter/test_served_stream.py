"""Stream events through a served adapter (real HTTP on 127.0.0.1): an empty block window, a reorg's rewind and a
record that cannot be translated arrive through the remote adapter exactly as in process, and `sync` over the remote
adapter stores, quarantines and rewinds as it does for a local adapter. A remote adapter of a ledger kind the gateway
cannot check is refused at registration."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sdk._helpers import INVOICE_RECORD, MemoryAdapter, invoice_mapping, make_record

from vcgate.adapters.remote import RemoteAdapter
from vcgate.adapters.sdk import Cursor, RecordPage, RewindPage, SourceRecord, Translation, apply_mapping
from vcgate.gateway import KeyPair
from vcgate.gateway._adapter_server import create_adapter_app
from vcgate.gateway._store import Store
from vcgate.gateway._sync import SyncError, register, sync

pytestmark = pytest.mark.server

WITNESS = KeyPair.generate()
NOW = datetime(2025, 1, 1, tzinfo=UTC)


class ScriptedLedger(MemoryAdapter):
    """Blocks 1, 2 (records), 3 (empty: the adapter reports it as an empty page), 4 and 5 (records; 5 lacks the
    invoice number the mapping requires). ``reorg()`` replaces blocks 4 and 5 by a new block 4: the next read past
    block 3 starts with a rewind page."""

    def __init__(self) -> None:
        super().__init__(invoice_mapping(issuer={"mode": "witness"}), page_size=2)
        self.blocks: dict[int, SourceRecord | None] = {}
        for n in (1, 2, 4):
            self.blocks[n] = self._record(n, dict(INVOICE_RECORD, number=f"INV-{n}"))
        self.blocks[3] = None
        broken = dict(INVOICE_RECORD)
        del broken["number"]
        self.blocks[5] = self._record(5, broken)
        self.rewind_pending = False

    @staticmethod
    def _record(n: int, raw: dict[str, Any]) -> SourceRecord:
        return make_record(raw, locator=f"entry/{n}", ledger_height=n)

    def reorg(self) -> None:
        del self.blocks[5]
        self.blocks[4] = self._record(4, dict(INVOICE_RECORD, number="INV-4-new-branch"))
        self.rewind_pending = True

    def records(self, since: Cursor | None = None) -> Iterator[RecordPage]:
        start = int(since.position[0]) if since is not None and since.position else 0
        if self.rewind_pending and start > 3:
            self.rewind_pending = False
            yield RewindPage((), Cursor((3,)), Cursor((start,)), 3)
            start = 3
        pending: list[SourceRecord] = []
        for n in sorted(b for b in self.blocks if b > start):
            record = self.blocks[n]
            if record is None:
                if pending:
                    yield RecordPage(tuple(pending), Cursor((n - 1,)))
                    pending = []
                yield RecordPage((), Cursor((n,)))  # an empty block window still moves the cursor
                continue
            pending.append(record)
            if len(pending) == self.page_size:
                yield RecordPage(tuple(pending), Cursor((n,)))
                pending = []
        if pending:
            yield RecordPage(tuple(pending), Cursor((max(self.blocks),)))

    def fetch(self, locator: str) -> SourceRecord:
        for record in self.blocks.values():
            if record is not None and record.locator == locator:
                return record
        raise KeyError(locator)

    def translate(self, record: SourceRecord) -> Translation:
        return apply_mapping(self.mapping, record, witness=WITNESS.controller)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served() -> Iterator[tuple[ScriptedLedger, str]]:
    """The scripted ledger served over the remote adapter protocol by uvicorn on 127.0.0.1."""
    ledger = ScriptedLedger()
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_adapter_app(ledger), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the adapter service did not start"
        time.sleep(0.05)
    try:
        yield ledger, f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _shape(pages: list[RecordPage]) -> list[tuple[Any, ...]]:
    return [
        (type(p).__name__, [r.locator for r in p.records], p.next_cursor, getattr(p, "keep_through", None))
        for p in pages
    ]


def test_empty_windows_and_rewinds_arrive_through_the_served_adapter(served: tuple[ScriptedLedger, str]) -> None:
    ledger, url = served
    local = ScriptedLedger()
    with RemoteAdapter(url, retries=0) as remote:
        first_local, first_remote = list(local.records()), list(remote.records())
        assert _shape(first_remote) == _shape(first_local)
        assert _shape(first_remote) == [
            ("RecordPage", ["entry/1", "entry/2"], Cursor((2,)), None),
            ("RecordPage", [], Cursor((3,)), None),  # the empty window carries its cursor
            ("RecordPage", ["entry/4", "entry/5"], Cursor((5,)), None),
        ]
        local.reorg()
        ledger.reorg()
        after_local = list(local.records(Cursor((5,))))
        after_remote = list(remote.records(Cursor((5,))))
        assert _shape(after_remote) == _shape(after_local)
        assert _shape(after_remote) == [
            ("RewindPage", [], Cursor((3,)), 3),
            ("RecordPage", ["entry/4"], Cursor((4,)), None),
        ]
        assert isinstance(after_remote[0], RewindPage)
        assert after_remote[0].abandoned == Cursor((5,))
        assert after_remote[1].records[0].content_field("number") == "INV-4-new-branch"
        assert list(remote.records(Cursor((4,)))) == []  # the end is explicit, nothing more follows


def test_sync_over_the_remote_adapter_quarantines_and_follows_the_reorg(
    served: tuple[ScriptedLedger, str], tmp_path: Path
) -> None:
    ledger, url = served
    store = Store.open(f"sqlite:///{tmp_path / 'store.sqlite'}")
    try:
        store.register_adapter("scripted", "remote", {"url": url, "retries": 0})
        report = sync(store, now=NOW, witness_key=WITNESS)
        counts = report.adapters["scripted"]
        assert (counts["stored"], counts["quarantined"], counts["errors"]) == (3, 1, [])
        assert report.failed
        assert [q.locator for q in store.quarantined("scripted")] == ["entry/5"]
        numbers = {d.document["credentialSubject"]["invoiceNumber"] for d in _all(store)}
        assert numbers == {"INV-1", "INV-2", "INV-4"}
        assert store.adapters()[0].cursor == Cursor((5,)).to_json()

        ledger.reorg()
        report = sync(store, now=NOW, witness_key=WITNESS)
        counts = report.adapters["scripted"]
        assert (counts["rewound"], counts["stored"], counts["errors"]) == (1, 1, [])
        assert not report.failed  # the quarantined record left the chain with its block
        assert store.quarantined("scripted") == []
        numbers = {d.document["credentialSubject"]["invoiceNumber"] for d in _all(store)}
        assert numbers == {"INV-1", "INV-2", "INV-4-new-branch"}
        assert store.adapters()[0].cursor == Cursor((4,)).to_json()
    finally:
        store.close()


def test_a_remote_adapter_of_a_kind_the_gateway_cannot_check_is_refused(
    served: tuple[ScriptedLedger, str], tmp_path: Path
) -> None:
    _, url = served
    store = Store.open(f"sqlite:///{tmp_path / 'store.sqlite'}")
    try:
        with pytest.raises(SyncError) as refused:
            register(store, "scripted", "remote", {"url": url, "retries": 0})
        assert "'memory'" in str(refused.value)
        assert "no evidence checker" in str(refused.value)
        assert store.adapters() == []
    finally:
        store.close()


def _all(store: Store) -> list[Any]:
    import sqlite3

    path = store.url.split("///", 1)[1]
    ids = [r[0] for r in sqlite3.connect(path).execute("select id from credentials")]
    return list(store.credentials(ids).values())
