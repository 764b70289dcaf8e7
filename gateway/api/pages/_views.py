"""What the pages show, read from the gateway store: entry verdicts, credentials with their ledger evidence, the
product picture (GS1, IPR, licences, media) and the content store's media checked against their digests.

Nothing here decides a verdict: verdicts come from the jobs layer (stored results), credential status from the one
verification pipeline (:class:`~vcgate.gateway._jobs.VerificationEnvironment`). This module only selects and shapes.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import base58
from sqlalchemy import select

from ..._jobs import VerificationEnvironment
from ..._links import GS1_KEY, IPR, LICENCE, CredentialView, EntryError, gtin_prefixes, normalize_gtin
from ..._store import Store, credentials_table, documents_table, entries_table, results_table
from ...verification._policy import Policy

PRODUCT_REGISTRATION = "ProductRegistrationCredential"
#: Media types the product page embeds as images (anything else is offered as a download, e.g. 3-D models).
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/svg+xml"})


def latest_results(store: Store, entry_number: str) -> list[dict[str, Any]]:
    """Stored verdicts on entries with this number, newest check first (one per entry key and check)."""
    e, r = entries_table.c, results_table.c
    with store.db.transaction() as conn:
        rows = conn.execute(
            select(r.result, r.checked_at)
            .join(entries_table, e.entry_key == r.entry_key)
            .where(e.entry_number == entry_number)
            .order_by(r.checked_at.desc())
            .limit(20)
        ).all()
    return [json.loads(row.result) for row in rows]


def recent_entry_numbers(store: Store, limit: int = 50) -> list[str]:
    """Entry numbers that have stored verdicts (for the lookup page's list)."""
    e = entries_table.c
    with store.db.transaction() as conn:
        rows = conn.execute(select(e.entry_number).distinct().order_by(e.entry_number).limit(limit)).all()
    return [row[0] for row in rows]


def _member(value: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    # Evidence is hostile input: a member of the wrong shape reads as empty.
    member = value.get(name)
    return member if isinstance(member, Mapping) else {}


def evidence_summary(item: Mapping[str, Any]) -> dict[str, Any]:
    """One ``LedgerEvidence`` in a person's terms: ledger, height, time, transaction, attesting organisations, the
    native signer, and what kind of inclusion proof it carries."""
    pm = _member(item, "proofMaterial")
    eth = _member(pm, "ethereum")
    log = _member(eth, "log")
    signer = _member(item, "nativeSigner")
    kind = str(item.get("ledgerKind", ""))
    orgs = [str(x.get("mspId")) for x in pm.get("endorsers") or [] if isinstance(x, Mapping) and x.get("mspId")]
    proof = {
        "fabric": f"block {pm.get('blockNumber')} header + {len(pm.get('validationAttestations') or [])} signed "
        f"validation attestations",
        "ethereum": f"receipt trie proof in block {eth.get('blockNumber')} + "
        f"{len(eth.get('descendantHeaders') or [])} descendant headers",
        "plain": "Merkle inclusion proof to a signed checkpoint",
    }.get(kind, "")
    return {
        "ledgerId": item.get("ledgerId"),
        "ledgerKind": kind,
        "locator": item.get("locator"),
        "height": item.get("ledgerHeight"),
        "time": item.get("ledgerTime"),
        "transaction": pm.get("txId") or log.get("transactionHash") or _member(pm, "entry").get("recordId"),
        "attestingOrganizations": orgs,
        "signer": signer.get("mspId") or signer.get("address") or signer.get("did"),
        "issuanceMode": item.get("issuanceMode"),
        "proof": proof,
    }


def credential_facts(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Type, issuer, validity and evidence summaries of a credential document."""
    types = [t for t in doc.get("type") or [] if t != "VerifiableCredential"]
    issuer = doc.get("issuer")
    return {
        "id": doc.get("id"),
        "types": types,
        "issuer": issuer.get("id") if isinstance(issuer, Mapping) else issuer,
        "validFrom": doc.get("validFrom"),
        "validUntil": doc.get("validUntil"),
        "status": doc.get("credentialStatus"),
        "evidence": [evidence_summary(e) for e in doc.get("evidence") or [] if isinstance(e, Mapping)],
    }


def environment(store: Store, policy: Policy, at: datetime, *, use_cache: bool = True) -> VerificationEnvironment:
    """The verification environment the pages use (offline DID resolution: pages never reach out)."""
    return VerificationEnvironment(store, policy, checked_at=at, use_cache=use_cache)


# -- media ------------------------------------------------------------------------------------------------------


def multihash_of(data: bytes, digest_multibase: str) -> bool:
    """Whether ``data`` matches a ``digestMultibase`` (VC 2.0 §5.3: a Multibase-encoded Multihash; base64url ``u``
    or base58btc ``z``, SHA-256 ``0x12`` or SHA-384 ``0x20``)."""
    if not digest_multibase:
        return False
    prefix, body = digest_multibase[0], digest_multibase[1:]
    try:
        if prefix == "u":
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        elif prefix == "z":
            raw = base58.b58decode(body)
        else:
            return False
    except ValueError:
        return False
    algorithms = {0x12: hashlib.sha256, 0x20: hashlib.sha384}
    if len(raw) < 2 or raw[0] not in algorithms or raw[1] != len(raw) - 2:
        return False
    return algorithms[raw[0]](data).digest() == raw[2:]


def content(store: Store, url: str) -> bytes | None:
    """The bytes the gateway's content store holds for ``url`` (documents fetched by sync or published to it)."""
    d = documents_table.c
    with store.db.transaction() as conn:
        row = conn.execute(select(d.body).where(d.url == url)).first()
    return bytes(row[0]) if row is not None else None


@dataclass(frozen=True)
class Media:
    """One resource a product registration references: where, what, its digest and whether the stored bytes match."""

    url: str
    media_type: str
    digest: str
    stored: bool
    matches: bool

    @property
    def is_image(self) -> bool:
        """Shown inline (an image) rather than offered as a download."""
        return self.media_type in IMAGE_TYPES


def media_of(store: Store, doc: Mapping[str, Any]) -> list[Media]:
    """The ``relatedResource`` items of a product registration, each checked against the content store."""
    out: list[Media] = []
    for rel in doc.get("relatedResource") or []:
        if not isinstance(rel, Mapping) or not isinstance(rel.get("id"), str):
            continue
        digest = str(rel.get("digestMultibase") or "")
        body = content(store, rel["id"])
        out.append(
            Media(
                url=rel["id"],
                media_type=str(rel.get("mediaType") or ""),
                digest=digest,
                stored=body is not None,
                matches=body is not None and multihash_of(body, digest),
            )
        )
    return out


# -- the product page ---------------------------------------------------------------------------------------------


def _gtins(view: CredentialView) -> set[str]:
    s = view.subject
    values: list[Any] = [s.get("gtin"), s.get("licenseValue")]
    for key in ("intellectualPropertyRightsProduct", "product"):
        if isinstance(s.get(key), Mapping):
            values.append(s[key].get("gtin"))
    values += [p.get("gtin") for p in s.get("licensedProducts") or [] if isinstance(p, Mapping)]
    out: set[str] = set()
    for v in values:
        try:
            out.add(normalize_gtin(v))
        except EntryError:
            continue
    return out


def product_credential_ids(store: Store, gtin: str) -> set[str]:
    """Credentials about ``gtin``: indexed GS1 licences (GTIN or company prefix), IPR credentials and licences, plus
    product registrations (not indexed by GTIN: read by type)."""
    keys = {("gtin", gtin)} | {("gs1-prefix", p) for p in gtin_prefixes(gtin)}
    ids = store.credential_ids(keys)
    c = credentials_table.c
    with store.db.transaction() as conn:
        rows = conn.execute(select(c.id, c.document).where(c.types.like(f'%"{PRODUCT_REGISTRATION}"%'))).all()
    for row in rows:
        subject = json.loads(row.document).get("credentialSubject")
        if isinstance(subject, Mapping):
            try:
                if normalize_gtin(subject.get("gtin")) == gtin:
                    ids.add(row.id)
            except EntryError:
                continue
    return ids


@dataclass(frozen=True)
class ProductPage:
    """Everything the product page shows for one GTIN, every credential with its pipeline view."""

    gtin: str
    gs1: Sequence[CredentialView]
    owners: Sequence[str]
    ipr: Sequence[CredentialView]
    licences: Sequence[CredentialView]
    registrations: Sequence[tuple[CredentialView, Sequence[Media]]]


def product_page(store: Store, env: VerificationEnvironment, gtin: str) -> ProductPage:
    """Verify every credential about ``gtin`` and sort them into the page's sections.

    The brand owner is the subject of a *verified* GS1 licence whose effective issuer the policy names as a root of
    authority for GTIN ownership; media count only from a verified registration issued by that owner.
    """
    views = sorted(env.views(product_credential_ids(store, gtin)).values(), key=lambda v: v.id)
    views = [v for v in views if gtin in _gtins(v) or GS1_KEY not in v.types]
    gs1 = [v for v in views if any(t.startswith("GS1") for t in v.types)]
    owners: list[str] = []
    for v in gs1:
        if v.status == "verified" and env.trust.is_gtin_authority(v.effective_issuer, v.issuer):
            did = v.subject.get("id")
            party = env.parties.party_for_did(did) if isinstance(did, str) else None
            owners.append(party.id if party else str(did))
    registrations = [
        (v, media_of(store, v.document) if v.status == "verified" and v.effective_issuer in owners else [])
        for v in views
        if PRODUCT_REGISTRATION in v.types
    ]
    return ProductPage(
        gtin=gtin,
        gs1=gs1,
        owners=sorted(set(owners)),
        ipr=[v for v in views if IPR in v.types],
        licences=[v for v in views if LICENCE in v.types],
        registrations=registrations,
    )


__all__ = [
    "IMAGE_TYPES",
    "PRODUCT_REGISTRATION",
    "Media",
    "ProductPage",
    "content",
    "credential_facts",
    "environment",
    "evidence_summary",
    "latest_results",
    "media_of",
    "multihash_of",
    "product_credential_ids",
    "product_page",
    "recent_entry_numbers",
]
