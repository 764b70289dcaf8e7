"""An httpx client for the plain-ledger HTTP API (timeouts, problem details turned into clear errors)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from vcgate.canonical_schema import InputError, Problem, VcgateError

from ._verify import ConsistencyProof, InclusionProof


class LedgerClientError(VcgateError):
    """The ledger answered with an error (``status`` and, when it sent one, its ``problem``) or was unreachable."""

    def __init__(self, message: str, *, status: int | None = None, problem: Problem | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.problem = problem


@dataclass(frozen=True, slots=True)
class RemoteEntry:
    """An entry as the ledger serves it: index, exact leaf bytes, and its revocation state."""

    index: int
    leaf: bytes
    leaf_hash: bytes
    record_id: str | None
    kind: str
    supersedes: int | None
    revoked_by: int | None
    logged_at: str
    entry: Mapping[str, Any]

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> RemoteEntry:
        """Parse the server's JSON; raises :class:`InputError` if it is malformed."""
        try:
            return cls(
                index=int(value["index"]),
                leaf=base64.b64decode(value["leaf"], validate=True),
                leaf_hash=base64.b64decode(value["leafHash"], validate=True),
                record_id=value.get("recordId"),
                kind=str(value["kind"]),
                supersedes=value.get("supersedes"),
                revoked_by=value.get("revokedBy"),
                logged_at=str(value["loggedAt"]),
                entry=dict(value["entry"]),
            )
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise InputError(f"malformed entry from the ledger: {exc}") from None


class PlainLedgerClient:
    """Talks to ``vcgate plain-ledger serve``. Every call has a timeout; errors are :class:`LedgerClientError`."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, transport: httpx.BaseTransport | None = None) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> PlainLedgerClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise LedgerClientError(f"cannot reach the ledger at {self._http.base_url}: {exc}") from None
        if response.status_code >= 400:
            problem = None
            if response.headers.get("content-type", "").startswith("application/problem+json"):
                try:
                    body = response.json()
                    problem = Problem(
                        str(body.get("code", "")),
                        str(body.get("title", "")),
                        str(body.get("detail", "")),
                        str(body.get("pointer", "")),
                    )
                except ValueError:
                    problem = None
            what = f"{problem.code}: {problem.title} ({problem.detail})" if problem else response.text[:200]
            raise LedgerClientError(
                f"the ledger refused {method} {path} with {response.status_code}: {what}",
                status=response.status_code,
                problem=problem,
            )
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        try:
            return response.json()
        except ValueError:
            raise LedgerClientError(f"the ledger answered {method} {path} with non-JSON") from None

    def info(self) -> dict[str, Any]:
        """``{"ledgerId", "origin", "verifierKey", "maxEntryBytes"}``."""
        result: dict[str, Any] = self._json("GET", "/info")
        return result

    def append(self, signed_entry: Mapping[str, Any]) -> dict[str, Any]:
        """Submit one signed entry; returns the receipt (index, leafHash, loggedAt, treeSize, checkpoint)."""
        result: dict[str, Any] = self._json("POST", "/entries", json=dict(signed_entry))
        return result

    def append_batch(self, signed_entries: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        """Submit up to 1000 entries in one request; one receipt or ``{"problem": ...}`` per entry."""
        body = self._json("POST", "/entries/batch", json=[dict(e) for e in signed_entries])
        results: list[dict[str, Any]] = body["results"]
        return results

    def get(self, index: int) -> RemoteEntry:
        """The entry at ``index``."""
        return RemoteEntry.from_json(self._json("GET", f"/entries/{index}"))

    def get_record(self, record_id: str) -> RemoteEntry:
        """The record entry with this record id."""
        return RemoteEntry.from_json(self._json("GET", f"/records/{record_id}"))

    def list_entries(self, start: int = 0, limit: int = 100) -> tuple[list[RemoteEntry], int | None]:
        """A page of entries and the start of the next page (``None`` at the end)."""
        body = self._json("GET", "/entries", params={"start": start, "limit": limit})
        return [RemoteEntry.from_json(e) for e in body["entries"]], body.get("next")

    def checkpoint(self) -> str:
        """The latest signed checkpoint note (verify it with the pinned log key before trusting it)."""
        return self._request("GET", "/checkpoint").text

    def checkpoint_at(self, size: int) -> str:
        """The signed checkpoint the log published at ``size``."""
        return self._request("GET", f"/checkpoints/{size}").text

    def inclusion_proof(self, index: int, size: int | None = None) -> InclusionProof:
        """Inclusion proof of entry ``index`` in the tree of ``size`` entries (default: latest)."""
        params: dict[str, int] = {"index": index}
        if size is not None:
            params["size"] = size
        try:
            return InclusionProof.from_json(self._json("GET", "/proof/inclusion", params=params))
        except InputError as exc:
            raise LedgerClientError(f"malformed inclusion proof from the ledger: {exc}") from None

    def consistency_proof(self, first: int, second: int | None = None) -> ConsistencyProof:
        """Consistency proof between two tree sizes (``second`` defaults to the latest)."""
        params: dict[str, int] = {"first": first}
        if second is not None:
            params["second"] = second
        try:
            return ConsistencyProof.from_json(self._json("GET", "/proof/consistency", params=params))
        except InputError as exc:
            raise LedgerClientError(f"malformed consistency proof from the ledger: {exc}") from None
