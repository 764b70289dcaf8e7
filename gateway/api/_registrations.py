"""Adapter registration: a partner's signed descriptor names a remote adapter endpoint; the gateway runs the adapter
conformance suite against it and activates the adapter only if it passes (vcgate issue 8, "Registration").

The descriptor is a credential (``["VerifiableCredential", "AdapterRegistrationCredential"]``, terms in vcgate's
context) issued by the partner's DID::

    credentialSubject:
      id: <the partner's DID>                # = issuer
      type: AdapterRegistration
      adapterName: acme-invoices             # unique per party
      adapterEndpoint: https://adapter.acme.example      # a service speaking the remote adapter protocol
      conformance: {anchor: …, at: …, sampleSize: …, maxRecords: …, optOut: {…}}   # as docs/conformance.md
      publishedMappings: [<mapping document>, …]          # what replay uses (EVD-003, and jobs)

Passing conformance is a quality gate, not trust: an active adapter only gets synced into the store; every credential
it yields is verified in full by jobs. Registrations, their reports and their history live in
``api_adapter_registrations``; every change goes through an audited request.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import Column, DateTime, Integer, String, Table, Text, UniqueConstraint, insert, select, update

from vcgate.adapters.sdk import CredentialMapping, MappingError
from vcgate.canonical_schema import VcgateError

from .._db import Database, metadata

log = logging.getLogger("vcgate.api.adapters")

DESCRIPTOR_TYPE = "AdapterRegistrationCredential"
SUBJECT_TYPE = "AdapterRegistration"
#: Conformance settings a partner may give; the gateway sets ``mappings`` (from ``publishedMappings``) and the
#: reference peer itself, and never takes credentials or paths from a partner.
PARTNER_CONFORMANCE_KEYS = frozenset({"anchor", "at", "sampleSize", "maxRecords", "optOut"})
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MAX_MAPPINGS = 16

State = Literal["active", "rejected", "deactivated"]

#: Remote adapters registered through ``POST /adapters`` (migration ``api_0002``). ``config`` is the remote adapter
#: configuration the gateway syncs with (it holds the service's bearer token, if any).
registrations_table = Table(
    "api_adapter_registrations",
    metadata,
    Column("registration_id", String(64), primary_key=True),
    Column("party", String(512), nullable=False, index=True),
    Column("name", String(64), nullable=False),
    Column("url", String(2048), nullable=False),
    Column("config", Text, nullable=False),
    Column("descriptor", Text, nullable=False),
    Column("adapter_info", Text, nullable=True),
    Column("state", String(16), nullable=False),
    Column("failed_cases", Text, nullable=False),
    Column("reason", Text, nullable=True),
    Column("report_json", Text, nullable=True),
    Column("report_html", Text, nullable=True),
    Column("attempts", Integer, nullable=False),
    Column("client_id", String(64), nullable=False),
    Column("registered_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("activated_at", DateTime(timezone=True), nullable=True),
    Column("deactivated_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("party", "name"),
)


class DescriptorError(VcgateError):
    """A registration descriptor is malformed; ``code`` is the problem code, ``pointer`` the JSON pointer."""

    def __init__(self, detail: str, pointer: str = "", code: str = "DESCRIPTOR_MALFORMED") -> None:
        super().__init__(detail)
        self.code = code
        self.pointer = pointer


def _types(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


@dataclass(frozen=True)
class AdapterDescriptor:
    """A parsed registration descriptor (the credential itself is verified separately, by the gateway's verifier).
    Build with :meth:`from_credential`."""

    party: str
    name: str
    endpoint: str
    conformance: Mapping[str, Any]
    mappings: tuple[CredentialMapping, ...]
    document: Mapping[str, Any]

    @classmethod
    def from_credential(cls, unverified: Any) -> AdapterDescriptor:
        """Parse the descriptor's shape; raise :class:`DescriptorError` naming the bad member."""
        if not isinstance(unverified, Mapping):
            raise DescriptorError("the descriptor must be a credential (a JSON object)")
        if DESCRIPTOR_TYPE not in _types(unverified.get("type")):
            raise DescriptorError(f"the descriptor's type must include {DESCRIPTOR_TYPE}", "/type")
        issuer = unverified.get("issuer")
        issuer = issuer.get("id") if isinstance(issuer, Mapping) else issuer
        if not isinstance(issuer, str) or not issuer.startswith("did:"):
            raise DescriptorError("the descriptor's issuer must be the partner's DID", "/issuer")
        subject = unverified.get("credentialSubject")
        if not isinstance(subject, Mapping):
            raise DescriptorError("credentialSubject must be one object", "/credentialSubject")
        if SUBJECT_TYPE not in _types(subject.get("type")):
            raise DescriptorError(f"credentialSubject.type must be {SUBJECT_TYPE}", "/credentialSubject/type")
        if subject.get("id") != issuer:
            raise DescriptorError(
                "credentialSubject.id must be the issuer (the partner's DID)", "/credentialSubject/id"
            )
        name = subject.get("adapterName")
        if not isinstance(name, str) or not _NAME.match(name):
            raise DescriptorError(
                "adapterName must be 1-64 of a-z 0-9 . _ - (starting with a letter or digit)",
                "/credentialSubject/adapterName",
            )
        endpoint = subject.get("adapterEndpoint")
        parts = urlsplit(endpoint) if isinstance(endpoint, str) else None
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.query
            or parts.fragment
            or parts.username
            or len(str(endpoint)) > 2048
        ):
            raise DescriptorError(
                "adapterEndpoint must be an http(s) base URL without credentials, query or fragment",
                "/credentialSubject/adapterEndpoint",
            )
        conformance = subject.get("conformance", {})
        if not isinstance(conformance, Mapping):
            raise DescriptorError("conformance must be an object", "/credentialSubject/conformance")
        unknown = sorted(set(conformance) - PARTNER_CONFORMANCE_KEYS)
        if unknown:
            raise DescriptorError(
                f"conformance settings {', '.join(unknown)} are not accepted from a partner; allowed: "
                f"{', '.join(sorted(PARTNER_CONFORMANCE_KEYS))}",
                f"/credentialSubject/conformance/{unknown[0]}",
            )
        raw_mappings = subject.get("publishedMappings")
        if not isinstance(raw_mappings, list) or not 0 < len(raw_mappings) <= MAX_MAPPINGS:
            raise DescriptorError(
                f"publishedMappings must list 1 to {MAX_MAPPINGS} mapping documents",
                "/credentialSubject/publishedMappings",
            )
        mappings = []
        for i, doc in enumerate(raw_mappings):
            pointer = f"/credentialSubject/publishedMappings/{i}"
            if not isinstance(doc, Mapping):
                raise DescriptorError("a published mapping is a mapping document (an object)", pointer)
            try:
                mappings.append(CredentialMapping.from_json(doc, source=f"descriptor{pointer}"))
            except MappingError as exc:
                raise DescriptorError(f"published mapping {i} is invalid: {exc}", pointer) from None
        return cls(str(issuer), name, str(endpoint).rstrip("/"), dict(conformance), tuple(mappings), unverified)

    @property
    def registration_id(self) -> str:
        """Stable per (party, adapter name): re-registering the same adapter updates the same registration."""
        return registration_id(self.party, self.name)


def registration_id(party: str, name: str) -> str:
    """``adp-`` + the first 20 hex digits of SHA-256 over the party DID and the adapter name."""
    return "adp-" + hashlib.sha256(f"{party}\n{name}".encode()).hexdigest()[:20]


def is_loopback_host(host: str) -> bool:
    """Whether ``host`` (a URL's hostname) names this machine's loopback interface."""
    if host.lower() in ("localhost", "localhost.") or host.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


@dataclass(frozen=True)
class ConformanceOutcome:
    """The result of running the adapter conformance suite against a registration's endpoint."""

    passed: bool
    exit_code: int | None
    failed_cases: tuple[str, ...]
    reason: str
    report_json: dict[str, Any] | None
    report_html: str | None


def reference_peer_available(peer: Path | None) -> bool:
    """Whether the conformance case PRF-003 can run here (a peer script with its packages, and Node.js)."""
    from vcgate.conformance_tests._reference_peer import default_peer_script

    script = peer or default_peer_script()
    return script is not None and script.is_file() and shutil.which("node") is not None


def run_adapter_conformance(
    descriptor: AdapterDescriptor,
    remote_config: Mapping[str, Any],
    *,
    timeout: float,
    reference_peer: Path | None,
) -> ConformanceOutcome:
    """Run the adapter cases against the endpoint through the remote adapter, in a fresh interpreter bounded by
    ``timeout`` seconds. The configuration (with the service token) lives in a private temporary directory."""
    from vcgate.conformance_tests import REPORT_FILES, run_conformance

    section: dict[str, Any] = dict(descriptor.conformance)
    opt_out = dict(section.get("optOut") or {})
    peer_ok = reference_peer_available(reference_peer)
    if not peer_ok and "PRF-003" not in opt_out:
        # Opt-outs are strict: only when the case cannot pass here (the gateway has no reference peer).
        opt_out["PRF-003"] = "the gateway has no reference-library peer (Node.js) to run this interop case"
    if opt_out:
        section["optOut"] = opt_out
    with tempfile.TemporaryDirectory(prefix="vcgate-registration-") as scratch:
        work = Path(scratch)
        names = []
        for i, mapping in enumerate(descriptor.mappings):
            path = work / f"mapping-{i}.json"
            path.write_text(json.dumps(dict(mapping.document), ensure_ascii=False), encoding="utf-8")
            names.append(path.name)
        section["mappings"] = names
        if peer_ok and reference_peer is not None:
            section["referencePeer"] = str(reference_peer)
        config = {**dict(remote_config), "conformance": section}
        config_path = work / "config.yaml"
        config_path.touch(mode=0o600)
        config_path.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
        reports = work / "report"
        try:
            run = run_conformance(
                "adapter:remote",
                config=config_path,
                report_dir=reports,
                isolation="subprocess",
                quiet=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired:
            return ConformanceOutcome(
                False, None, (), f"the conformance run did not finish within {timeout:.0f} s", None, None
            )
        html_path = reports / REPORT_FILES["html"]
        html = html_path.read_text(encoding="utf-8") if html_path.is_file() else None
    if run.report is None:
        return ConformanceOutcome(
            False,
            run.exit_code,
            (),
            f"the conformance suite could not run (exit {run.exit_code}): check the endpoint and the conformance "
            "settings",
            None,
            None,
        )
    failed = tuple(run.report.failed_ids)
    if run.passed:
        reason = "every adapter case passed" + (f" ({len(opt_out)} opted out)" if opt_out else "")
    else:
        reason = "failed: " + ", ".join(failed) if failed else f"the run did not pass (exit {run.exit_code})"
    return ConformanceOutcome(run.passed, run.exit_code, failed, reason, run.report.to_json(), html)


def _ts(at: datetime | None) -> str | None:
    if at is None:
        return None
    aware = at if at.tzinfo else at.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Registration:
    """One registered adapter (without its report bodies)."""

    registration_id: str
    party: str
    name: str
    url: str
    state: State
    failed_cases: tuple[str, ...]
    reason: str | None
    attempts: int
    registered_at: datetime
    updated_at: datetime
    activated_at: datetime | None
    deactivated_at: datetime | None
    adapter_info: Mapping[str, Any] | None
    descriptor: Mapping[str, Any]
    config: Mapping[str, Any]

    @property
    def active(self) -> bool:
        """Passed conformance and not deactivated since."""
        return self.state == "active"

    def to_json(self) -> dict[str, Any]:
        """The public form (never the service token)."""
        return {
            "id": self.registration_id,
            "party": self.party,
            "name": self.name,
            "url": self.url,
            "state": self.state,
            "active": self.active,
            "conformance": {
                "passed": self.state in ("active", "deactivated"),  # only an active one is ever deactivated
                "failedCases": list(self.failed_cases),
                "reason": self.reason,
            },
            "attempts": self.attempts,
            "registeredAt": _ts(self.registered_at),
            "updatedAt": _ts(self.updated_at),
            "activatedAt": _ts(self.activated_at),
            "deactivatedAt": _ts(self.deactivated_at),
            "adapter": dict(self.adapter_info) if self.adapter_info else None,
            "descriptorId": self.descriptor.get("id"),
            "links": {
                "self": f"/adapters/{self.registration_id}",
                "report": f"/adapters/{self.registration_id}/report",
            },
        }


def _row(row: Any) -> Registration:
    def aware(at: datetime | None) -> datetime | None:
        return None if at is None else (at if at.tzinfo else at.replace(tzinfo=UTC))

    return Registration(
        registration_id=row.registration_id,
        party=row.party,
        name=row.name,
        url=row.url,
        state=row.state,
        failed_cases=tuple(json.loads(row.failed_cases)),
        reason=row.reason,
        attempts=row.attempts,
        registered_at=aware(row.registered_at) or datetime.min.replace(tzinfo=UTC),
        updated_at=aware(row.updated_at) or datetime.min.replace(tzinfo=UTC),
        activated_at=aware(row.activated_at),
        deactivated_at=aware(row.deactivated_at),
        adapter_info=json.loads(row.adapter_info) if row.adapter_info else None,
        descriptor=json.loads(row.descriptor),
        config=json.loads(row.config),
    )


class AdapterRegistrations:
    """The ``api_adapter_registrations`` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def get(self, registration_id: str) -> Registration | None:
        """The registration, or None."""
        if len(registration_id) > 64:
            return None
        with self.db.transaction() as conn:
            row = conn.execute(
                select(registrations_table).where(registrations_table.c.registration_id == registration_id)
            ).first()
        return _row(row) if row else None

    def list(self, party: str | None = None) -> list[Registration]:
        """Every registration (of ``party`` when given), by party and name."""
        t = registrations_table
        query = select(t).order_by(t.c.party, t.c.name)
        if party is not None:
            query = query.where(t.c.party == party)
        with self.db.transaction() as conn:
            rows = conn.execute(query).all()
        return [_row(r) for r in rows]

    def report(self, registration_id: str) -> tuple[dict[str, Any] | None, str | None]:
        """The stored conformance report of the last attempt: (JSON, HTML)."""
        t = registrations_table
        with self.db.transaction() as conn:
            row = conn.execute(
                select(t.c.report_json, t.c.report_html).where(t.c.registration_id == registration_id)
            ).first()
        if row is None:
            return None, None
        return (json.loads(row.report_json) if row.report_json else None), row.report_html

    def record(
        self,
        descriptor: AdapterDescriptor,
        config: Mapping[str, Any],
        outcome: ConformanceOutcome,
        *,
        adapter_info: Mapping[str, Any] | None,
        client_id: str,
        at: datetime,
    ) -> tuple[Registration, bool]:
        """Store an attempt: a new registration or the next attempt of an existing one. Returns it and whether it
        was new."""
        t = registrations_table
        rid = descriptor.registration_id
        values = {
            "url": descriptor.endpoint,
            "config": json.dumps(dict(config), sort_keys=True),
            "descriptor": json.dumps(dict(descriptor.document), sort_keys=True, ensure_ascii=False),
            "adapter_info": json.dumps(dict(adapter_info)) if adapter_info else None,
            "state": "active" if outcome.passed else "rejected",
            "failed_cases": json.dumps(list(outcome.failed_cases)),
            "reason": outcome.reason,
            "report_json": json.dumps(outcome.report_json) if outcome.report_json is not None else None,
            "report_html": outcome.report_html,
            "client_id": client_id,
            "updated_at": at,
            "activated_at": at if outcome.passed else None,
            "deactivated_at": None,
        }
        with self.db.transaction() as conn:
            old = conn.execute(select(t.c.attempts).where(t.c.registration_id == rid)).first()
            if old is None:
                conn.execute(
                    insert(t).values(
                        registration_id=rid,
                        party=descriptor.party,
                        name=descriptor.name,
                        attempts=1,
                        registered_at=at,
                        **values,
                    )
                )
            else:
                conn.execute(update(t).where(t.c.registration_id == rid).values(attempts=old.attempts + 1, **values))
        found = self.get(rid)
        assert found is not None
        return found, old is None

    def deactivate(self, registration_id: str, *, at: datetime) -> bool:
        """Deactivate an active registration; False when it is not active."""
        t = registrations_table
        with self.db.transaction() as conn:
            changed = conn.execute(
                update(t)
                .where(t.c.registration_id == registration_id, t.c.state == "active")
                .values(state="deactivated", deactivated_at=at, updated_at=at)
            ).rowcount
        return bool(changed)


__all__ = [
    "DESCRIPTOR_TYPE",
    "SUBJECT_TYPE",
    "AdapterDescriptor",
    "AdapterRegistrations",
    "ConformanceOutcome",
    "DescriptorError",
    "Registration",
    "is_loopback_host",
    "reference_peer_available",
    "registration_id",
    "registrations_table",
    "run_adapter_conformance",
]
