"""The credential graph's one query, shared by ``vcgate links`` and ``GET /links/{identifier}`` (docs/jobs.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._links import EntryError, normalize_gtin

if TYPE_CHECKING:
    from ._store import Store

__all__ = ["query_links"]


def query_links(store: Store, identifier: str) -> dict[str, Any]:
    """``{query, credentials: [{id, types, issuer, matchedBy, identifiers, extends, source}]}``: the credentials that
    carry ``identifier`` (a GTIN in any length is normalised to GTIN-14; a credential id matches itself), each with
    the identifiers it is indexed by, so a client can follow the graph one hop at a time."""
    value = identifier
    if identifier.isdigit():
        try:
            value = normalize_gtin(identifier)
        except EntryError:
            value = identifier
    hits = store.search(value)
    direct = store.credential(identifier)
    ids = sorted({h[2] for h in hits} | ({identifier} if direct else set()))
    stored = store.credentials(ids)
    nodes: list[dict[str, Any]] = []
    for cid in ids:
        sc = stored.get(cid)
        if sc is None:
            continue
        subject = sc.document.get("credentialSubject")
        extends = subject.get("extendsCredential") if isinstance(subject, dict) else None
        nodes.append(
            {
                "id": cid,
                "types": [t for t in sc.types if t != "VerifiableCredential"],
                "issuer": sc.issuer,
                "matchedBy": [f"{s}:{v}" for s, v, c in hits if c == cid] or ["id"],
                "identifiers": [f"{s}:{v}" for s, v in store.index_of(cid)],
                "extends": extends,
                "source": sc.source,
            }
        )
    return {"query": identifier, "credentials": nodes}
