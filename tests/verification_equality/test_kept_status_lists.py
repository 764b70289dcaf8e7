"""The API reads the status lists ``vcgate sync`` kept in the store as ``vcgate verify --db`` and jobs do
(``LiveStoreStatusListFetcher``): fresh ones served, stale or missing ones refused with the store's reason, or handed
to the remote fetcher when the API has one."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from vcgate.gateway._store import LiveStoreStatusListFetcher, Store
from vcgate.gateway.verification._status import StatusListFetchError

URL = "https://issuer.example/status/1"
FETCHED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = 86_400


class Remote:
    """A stand-in for the HTTP fetcher: records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def fetch(self, url: str) -> bytes:
        self.asked.append(url)
        return b"remote:" + url.encode()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(f"sqlite:///{tmp_path / 'store.sqlite'}")
    s.put_document(URL, b'{"kept": true}', fetched_at=FETCHED)
    yield s
    s.close()


def test_a_fresh_kept_list_is_served_and_read_at_each_fetch(store: Store) -> None:
    now = [FETCHED + timedelta(hours=1)]
    fetcher = LiveStoreStatusListFetcher(store, clock=lambda: now[0], max_age_seconds=DAY)
    assert fetcher.fetch(URL) == b'{"kept": true}'
    # A sync while the API runs: the next fetch sees the new list, judged at the new instant.
    store.put_document(URL, b'{"kept": 2}', fetched_at=FETCHED + timedelta(days=2))
    now[0] = FETCHED + timedelta(days=2, hours=1)
    assert fetcher.fetch(URL) == b'{"kept": 2}'
    assert store.document("https://nowhere.example/x") is None


def test_a_stale_or_missing_list_is_refused_without_a_remote_fetcher(store: Store) -> None:
    fetcher = LiveStoreStatusListFetcher(store, clock=lambda: FETCHED + timedelta(seconds=DAY + 1), max_age_seconds=DAY)
    with pytest.raises(StatusListFetchError) as stale:
        fetcher.fetch(URL)
    assert stale.value.reason == "fetched at 2026-03-01T12:00:00Z, older than trust.freshness.status"
    with pytest.raises(StatusListFetchError) as missing:
        fetcher.fetch("https://other.example/status/9")
    assert missing.value.reason == "not fetched by vcgate sync"


def test_what_the_store_cannot_serve_goes_to_the_remote_fetcher(store: Store) -> None:
    remote = Remote()
    fresh = LiveStoreStatusListFetcher(store, clock=lambda: FETCHED, max_age_seconds=DAY, fallback=remote)
    assert fresh.fetch(URL) == b'{"kept": true}'
    assert fresh.fetch("https://other.example/status/9") == b"remote:https://other.example/status/9"
    stale = LiveStoreStatusListFetcher(
        store, clock=lambda: FETCHED + timedelta(days=3), max_age_seconds=DAY, fallback=remote
    )
    assert stale.fetch(URL) == b"remote:" + URL.encode()
    assert remote.asked == ["https://other.example/status/9", URL]
