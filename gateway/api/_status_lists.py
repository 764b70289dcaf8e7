"""The gateway's own Bitstring Status Lists: entries handed out at issuance, updated through
``POST /credentials/status``, re-signed on every change and published at ``GET /status/{list_id}``.

Rows are updated with compare-and-swap (``next_index`` for allocation, ``version`` for the bits), so several uvicorn
workers (or gateway nodes on one PostgreSQL) never lose an update.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import insert, select, update

from vcgate.canonical_schema import VcgateError

from .._db import Database
from ..verification._proofs import sign
from ..verification._status import MIN_BITSTRING_BITS, StatusList, StatusListFetcher, StatusListFetchError
from . import _tables as t
from ._settings import GatewayIdentity

#: Proofs on list credentials are dated this much in the past: a verifier that read its clock a moment before the
#: list was re-signed (another request, another worker) must not see a proof "created in the future".
CLOCK_SKEW = timedelta(seconds=5)
PURPOSES = ("revocation", "suspension")
_MAX_RETRIES = 50


class StatusListConflictError(VcgateError):
    """Concurrent updates kept winning; the caller may retry."""


class StatusLists:
    """The gateway's status lists in the database."""

    def __init__(self, db: Database, identity: GatewayIdentity, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.identity = identity
        self.clock = clock

    def _signed(self, status_list: StatusList, purpose: str, valid_from: datetime) -> str:
        unsigned = status_list.to_credential(self.identity.did, purpose, valid_from)
        created = self.clock() - CLOCK_SKEW
        return json.dumps(sign(unsigned, self.identity.key, created=created), separators=(",", ":"))

    def allocate(self, purpose: str) -> tuple[str, int]:
        """A fresh entry ``(list_id, index)`` for ``purpose``, creating a list when none has room."""
        if purpose not in PURPOSES:
            raise ValueError(f"statusPurpose must be one of {PURPOSES}")
        for _ in range(_MAX_RETRIES):
            with self.db.transaction() as conn:
                row = conn.execute(
                    select(t.status_lists.c.list_id, t.status_lists.c.next_index)
                    .where(t.status_lists.c.purpose == purpose, t.status_lists.c.next_index < t.status_lists.c.length)
                    .order_by(t.status_lists.c.list_id)
                    .limit(1)
                ).first()
                if row is None:
                    list_id = secrets.token_hex(8)
                    now = self.clock()
                    fresh = StatusList.create(self.identity.status_list_url(list_id), length=MIN_BITSTRING_BITS)
                    conn.execute(
                        insert(t.status_lists).values(
                            list_id=list_id,
                            purpose=purpose,
                            encoded_list=fresh.encode(),
                            next_index=1,
                            length=MIN_BITSTRING_BITS,
                            version=1,
                            credential=self._signed(fresh, purpose, now - CLOCK_SKEW),
                            updated_at=now,
                        )
                    )
                    return list_id, 0
                res = conn.execute(
                    update(t.status_lists)
                    .where(t.status_lists.c.list_id == row.list_id, t.status_lists.c.next_index == row.next_index)
                    .values(next_index=row.next_index + 1)
                )
                if res.rowcount == 1:
                    return str(row.list_id), int(row.next_index)
        raise StatusListConflictError("could not allocate a status list entry; retry")

    def get(self, list_id: str, index: int) -> int:
        """The current value of one entry."""
        with self.db.transaction() as conn:
            row = conn.execute(select(t.status_lists.c.encoded_list).where(t.status_lists.c.list_id == list_id)).first()
        if row is None:
            raise KeyError(list_id)
        return StatusList.from_encoded("", row.encoded_list).get(index)

    def set(self, list_id: str, index: int, value: int) -> None:
        """Set one entry and re-sign the list credential (compare-and-swap on the row's version)."""
        for _ in range(_MAX_RETRIES):
            with self.db.transaction() as conn:
                row = conn.execute(select(t.status_lists).where(t.status_lists.c.list_id == list_id)).first()
                if row is None:
                    raise KeyError(list_id)
                status_list = StatusList.from_encoded(self.identity.status_list_url(list_id), row.encoded_list)
                status_list.set(index, value)
                valid_from = json.loads(row.credential).get("validFrom")
                start = datetime.fromisoformat(valid_from.replace("Z", "+00:00")) if valid_from else self.clock()
                res = conn.execute(
                    update(t.status_lists)
                    .where(t.status_lists.c.list_id == list_id, t.status_lists.c.version == row.version)
                    .values(
                        encoded_list=status_list.encode(),
                        version=row.version + 1,
                        credential=self._signed(status_list, row.purpose, start),
                        updated_at=self.clock(),
                    )
                )
                if res.rowcount == 1:
                    return
        raise StatusListConflictError(f"could not update status list {list_id}; retry")

    def credential(self, list_id: str) -> bytes | None:
        """The signed list credential (JSON bytes), or None."""
        with self.db.transaction() as conn:
            row = conn.execute(select(t.status_lists.c.credential).where(t.status_lists.c.list_id == list_id)).first()
        return row.credential.encode("utf-8") if row else None


class GatewayStatusListFetcher:
    """A :class:`~vcgate.gateway.StatusListFetcher` that reads the gateway's own lists from the database and
    passes every other URL to ``fallback`` (none: refused)."""

    def __init__(self, lists: StatusLists, fallback: StatusListFetcher | None = None) -> None:
        self.lists = lists
        self.fallback = fallback
        self._prefix = lists.identity.public_url + "/status/"

    def fetch(self, url: str) -> bytes:
        """The list credential's bytes."""
        if url.startswith(self._prefix):
            body = self.lists.credential(url[len(self._prefix) :])
            if body is None:
                raise StatusListFetchError(url, "the gateway has no such status list")
            return body
        if self.fallback is None:
            raise StatusListFetchError(url, "fetching other parties' status lists is disabled")
        return self.fallback.fetch(url)


__all__ = ["CLOCK_SKEW", "PURPOSES", "GatewayStatusListFetcher", "StatusListConflictError", "StatusLists"]
