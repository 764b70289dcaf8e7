"""``vcgate sync``: pull records from every registered adapter into the store, page by page (ARCHITECTURE.md,
"Runtime"; docs/adapters.md, "Syncing into a gateway store").

One page is one transaction (:meth:`Store.commit_page`): its credentials, ledger revocations, raw records,
quarantine changes and the cursor after it commit together, so a pass killed at any point leaves the store as the
previous page left it. A record that cannot become a stored credential — its translation or mapping fails, its
evidence cannot be built, it needs a signature nobody can give — is **quarantined** with its reason and the cursor
moves on: one bad record never wedges the stream. ``retry_quarantined`` tries those records again (after a mapping
is fixed or a witness key given). A ledger that fails mid-pass (unreachable, inconsistent) stops that adapter's pass
at the last committed page.

:func:`sync_page` is a function of (adapter run, store, page) so that a distributed executor can run pages as
tasks; :func:`sync` drives it over every registered adapter.
"""

from __future__ import annotations

import json
import logging
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from vcgate.adapters.sdk import (
    AdapterInfo,
    Cursor,
    EvidenceChecker,
    MappingError,
    RecordPage,
    SourceRecord,
    TranslationError,
    credential_id,
    load_adapter,
)
from vcgate.canonical_schema import InputError, VcgateError

from ._store import AdapterRegistration, PageWrite, QuarantinedRecord, Store
from .verification._dids import DidResolver
from .verification._keys import KeyPair
from .verification._pipeline import LedgerRevocation
from .verification._policy import Policy
from .verification._proofs import sign
from .verification._verify import issuer_id

__all__ = [
    "AdapterRun",
    "InProcessWork",
    "RecordOutcome",
    "RecordWork",
    "SyncError",
    "SyncReport",
    "builtin_checkers",
    "credential_records",
    "open_run",
    "record_outcomes",
    "register",
    "require_checker",
    "status",
    "sync",
    "sync_page",
]

log = logging.getLogger("vcgate.sync")

#: Quarantine stage of a record stored with weaker evidence than its adapter builds when the ledger is healthy.
UPGRADE = "upgrade"

PartnerSigner = Callable[[dict[str, Any], datetime], dict[str, Any]]


class SyncError(VcgateError):
    """An adapter cannot be registered or synced (no evidence checker for its ledger kind, an unknown party, …)."""


def builtin_checkers() -> dict[str, EvidenceChecker]:
    """The gateway's own offline evidence checker for every installed ledger kind that has one, by ledger kind
    (:func:`vcgate.gateway._evidence_checkers.offline_evidence_checkers`). The remote adapter is never one: a
    partner's service cannot vouch for its own evidence."""
    from ._evidence_checkers import offline_evidence_checkers

    return offline_evidence_checkers()


def require_checker(kind: str, extra: Iterable[str] = ()) -> None:
    """Refuse (:class:`SyncError`) a remote adapter whose ledger kind the gateway cannot check itself: the kind must
    be one of an installed local adapter (built-in or a third party's) or among ``extra`` (the kinds a
    ``--checkers`` factory adds)."""
    from vcgate.adapters.sdk import scan_adapters

    kinds = {p.kind for p in scan_adapters().plugins if p.kind != "remote"} | set(extra)
    if kind not in kinds:
        raise SyncError(
            f"the adapter's ledger kind {kind!r} has no evidence checker in this gateway (it checks "
            f"{', '.join(sorted(kinds)) or 'none'}); its credentials could never be verified, so it is not registered. "
            "Install the adapter package of that kind on the gateway, or run the adapter locally"
        )


def _ts(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _record_failures() -> tuple[type[BaseException], ...]:
    """Exceptions that condemn one record (quarantine it), as opposed to the ledger or service (stop the pass)."""
    from vcgate.adapters.ethereum._errors import EvidenceBuildError

    from ._issuing import IssuingError

    return (TranslationError, MappingError, InputError, EvidenceBuildError, IssuingError)


@dataclass(frozen=True)
class SyncReport:
    """What one pass of :func:`sync` did per adapter, and the records in quarantine after it."""

    adapters: Mapping[str, Mapping[str, Any]]

    @property
    def failed(self) -> bool:
        """Whether anything was quarantined, still is, or an adapter's pass failed (``vcgate sync`` exits 1)."""
        return any(c.get("errors") or c.get("quarantined") or c.get("inQuarantine") for c in self.adapters.values())

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        out: dict[str, Any] = {"adapters": {k: dict(v) for k, v in self.adapters.items()}}
        out["summary"] = {
            key: sum(int(c.get(key, 0)) for c in self.adapters.values())
            for key in ("stored", "unchanged", "revocations", "quarantined", "released", "inQuarantine", "rewound")
        }
        out["summary"]["errors"] = sum(len(c.get("errors", ())) for c in self.adapters.values())
        out["summary"]["ok"] = not self.failed
        return out


@dataclass
class AdapterRun:
    """One adapter during one pass: the instance, its info, who signs, and the counts so far."""

    name: str
    adapter: Any
    info: AdapterInfo
    witness_key: KeyPair | None = None
    partner_signers: Mapping[str, PartnerSigner] = field(default_factory=dict)
    witness_suite: str = "eddsa-rdfc-2022"
    counts: dict[str, Any] = field(default_factory=dict)
    stored_ids: list[str] = field(default_factory=list)
    height: int = 0

    def __post_init__(self) -> None:
        for key in (
            "stored",
            "unchanged",
            "revocations",
            "unsigned",
            "quarantined",
            "incomplete",
            "released",
            "rewound",
        ):
            self.counts.setdefault(key, 0)
        self.counts.setdefault("errors", [])
        self.counts.setdefault("quarantine", [])
        signing = getattr(self.adapter, "signing", None)
        # A partner's issuing service (a remote adapter served with --key) signs its own partner-mode
        # translations; the gateway still verifies each in full like any other credential.
        self._partner_issue = getattr(self.adapter, "issue", None) if callable(signing) and signing() else None

    def shortfall(self, record: SourceRecord) -> str | None:
        """Why the record's evidence is weaker than the adapter builds it when its ledger is healthy (an optional
        adapter hook, ``evidence_shortfall``; a peer outage in Fabric), or ``None``."""
        hook = getattr(self.adapter, "evidence_shortfall", None)
        return str(hook(record)) if callable(hook) and hook(record) is not None else None

    def revoked_ids(self, record: SourceRecord) -> list[str]:
        """The credential ids a ledger revocation record revokes (one per mapping the adapter publishes)."""
        hook = getattr(self.adapter, "revoked_credential_id", None)
        if callable(hook):
            return [str(hook(record))]
        assert record.supersedes is not None
        return [credential_id(record.ledger_id, record.supersedes, m.id, m.digest) for m in self.info.mappings]

    def credential(self, record: SourceRecord) -> tuple[dict[str, Any], tuple[str, str, bytes, str] | None]:
        """The signed credential for ``record`` and the raw record to keep (digest-only evidence); raises a
        record failure (see :func:`_record_failures`) when it cannot be made."""
        translation = self.adapter.translate(record)
        doc = translation.to_json()
        raw: tuple[str, str, bytes, str] | None = None
        if "rawRecord" not in translation.evidence:
            if isinstance(record.raw, bytes):
                raw = (record.ledger_id, record.locator, record.raw, record.media_type)
            elif isinstance(record.raw, Mapping):
                raw = (record.ledger_id, record.locator, json.dumps(dict(record.raw)).encode(), record.media_type)
        mode = translation.evidence.get("issuanceMode")
        if "proof" not in doc and mode == "partner" and self._partner_issue is not None:
            doc = self._partner_issue(record)
        if "proof" not in doc:
            partner = self.partner_signers.get(str(issuer_id(doc))) if mode == "partner" else None
            if mode == "witness" and self.witness_key is not None:
                doc = sign(doc, self.witness_key, suite=self.witness_suite, created=record.ledger_time)
            elif partner is not None:
                doc = partner(doc, record.ledger_time)
            else:
                who = "no --witness-key was given" if mode == "witness" else "its partner's issuing service did not"
                raise _UnsignedError(f"{mode}-mode translation {doc.get('id')} is unsigned: {who} sign it")
        return doc, raw


class _UnsignedError(VcgateError):
    """A translation nobody here can sign (quarantined with code ``UNSIGNED``)."""


def _record_json(record: SourceRecord) -> dict[str, Any] | None:
    from vcgate.adapters.remote import record_to_json

    try:
        return record_to_json(record)
    except (VcgateError, TypeError, ValueError):
        return None


@dataclass(frozen=True)
class RecordOutcome:
    """What the per-record work (translation, evidence, signature) made of one credential record. Plain data, so it
    travels back from a cluster worker (:mod:`vcgate.gateway._cluster`): a signed credential with the raw record to
    keep and any evidence shortfall, or the failure that quarantines the record."""

    locator: str
    doc: dict[str, Any] | None = None
    raw: tuple[str, str, bytes, str] | None = None
    shortfall: str | None = None
    code: str = ""
    reason: str = ""
    unsigned: bool = False


def credential_records(records: Iterable[SourceRecord]) -> list[SourceRecord]:
    """The records of a page that become credentials (a ledger revocation only names what it revokes)."""
    return [r for r in records if not (r.kind == "revocation" and r.supersedes is not None)]


def record_outcomes(run: AdapterRun, records: Sequence[SourceRecord]) -> list[RecordOutcome]:
    """Translate and sign ``records`` (pure: no store). A record failure becomes a quarantine outcome; anything
    else (a bug, a lost ledger) raises."""
    failures: tuple[type[BaseException], ...] = (*_record_failures(), _UnsignedError)
    out: list[RecordOutcome] = []
    for record in records:
        try:
            doc, raw = run.credential(record)
        except failures as exc:
            code = getattr(exc, "code", None)
            if not isinstance(code, str):
                code = "UNSIGNED" if isinstance(exc, _UnsignedError) else type(exc).__name__
            out.append(
                RecordOutcome(record.locator, code=code, reason=str(exc), unsigned=isinstance(exc, _UnsignedError))
            )
            continue
        out.append(RecordOutcome(record.locator, doc, raw, run.shortfall(record)))
    return out


class RecordWork(Protocol):
    """Where the per-record work of a pass runs: in this process (:class:`InProcessWork`), or spread over a
    cluster's workers (:class:`vcgate.gateway._cluster.ClusterWork`) while this process stays the only writer of
    the adapter's cursor."""

    #: Pages whose records may be in work while an earlier page waits for its commit.
    lookahead: int

    def submit(self, run: AdapterRun, records: Sequence[SourceRecord]) -> Callable[[], Sequence[RecordOutcome]]:
        """Start the work on ``records``; the returned callable waits for their outcomes, in record order."""
        ...

    def check(self, ids: Sequence[str]) -> None:
        """Verify the stored credentials ``ids`` under the pass's policy (warms the result cache)."""
        ...


class InProcessWork:
    """The per-record work and the checks of stored credentials, in this process (``vcgate sync`` without
    ``--cluster``)."""

    lookahead = 0

    def __init__(
        self,
        store: Store,
        policy: Policy | None,
        *,
        now: datetime,
        resolver: DidResolver | None = None,
        checkers: Mapping[str, EvidenceChecker] | None = None,
    ) -> None:
        self.store, self.policy, self.now, self.resolver, self.checkers = store, policy, now, resolver, checkers

    def submit(self, run: AdapterRun, records: Sequence[SourceRecord]) -> Callable[[], Sequence[RecordOutcome]]:
        """Work on ``records`` when the outcomes are asked for."""
        return lambda: record_outcomes(run, records)

    def check(self, ids: Sequence[str]) -> None:
        """Verify ``ids`` in this process."""
        if self.policy is None:
            return
        from ._jobs import VerificationEnvironment

        env = VerificationEnvironment(
            self.store, self.policy, checked_at=self.now, resolver=self.resolver, checkers=self.checkers
        )
        env.views(ids)


def _quarantine_entry(
    run: AdapterRun, record: SourceRecord, outcome: RecordOutcome, now: datetime
) -> QuarantinedRecord:
    stage = "sign" if outcome.unsigned else "translate"
    at = _ts(now)
    return QuarantinedRecord(
        run.name, record.locator, record.ledger_id, stage, outcome.code, outcome.reason, _record_json(record), at, at
    )


def sync_page(
    store: Store,
    run: AdapterRun,
    page: RecordPage,
    *,
    now: datetime,
    cursor: bool = True,
    retrying: Iterable[str] = (),
    outcomes: Sequence[RecordOutcome] | None = None,
) -> None:
    """Store one page in one transaction (with its cursor unless ``cursor`` is false).

    ``outcomes`` are the page's :func:`credential_records` translated and signed (by :func:`record_outcomes`, here
    or on cluster workers); computed here when not given. Records that fail are quarantined (``retrying`` names
    locators already in quarantine: those that now succeed leave it). Counts go to ``run.counts``.
    """
    wanted = credential_records(page.records)
    done = list(outcomes) if outcomes is not None else record_outcomes(run, wanted)
    if [o.locator for o in done] != [r.locator for r in wanted]:
        raise SyncError(f"sync {run.name}: the record outcomes do not match the page's records")
    by_record = iter(done)
    retried = set(retrying)
    docs: list[dict[str, Any]] = []
    raws: list[tuple[str, str, bytes, str]] = []
    revocations: list[LedgerRevocation] = []
    quarantined: list[QuarantinedRecord] = []
    released: list[str] = []
    for record in page.records:
        run.height = max(run.height, record.ledger_height)
        if record.kind == "revocation" and record.supersedes is not None:
            revocations.extend(
                LedgerRevocation(cid, record.ledger_id, record.locator, record.ledger_time, record.ledger_height)
                for cid in run.revoked_ids(record)
            )
            continue
        outcome = next(by_record)
        if outcome.doc is None:
            log.warning("sync %s: quarantining %s: %s", run.name, record.locator, outcome.reason)
            quarantined.append(_quarantine_entry(run, record, outcome, now))
            run.counts["unsigned"] += outcome.unsigned
            continue
        docs.append(outcome.doc)
        if outcome.raw is not None:
            raws.append(outcome.raw)
        if outcome.shortfall is not None:
            # Stored (it is what the ledger showed) but held for an upgrade: every pass builds its evidence again
            # and replaces it in place once complete.
            quarantined.append(
                QuarantinedRecord(
                    run.name,
                    record.locator,
                    record.ledger_id,
                    UPGRADE,
                    "EVIDENCE_INCOMPLETE",
                    outcome.shortfall,
                    None,
                    _ts(now),
                    _ts(now),
                )
            )
            run.counts["incomplete"] += 1
        elif record.locator in retried:
            released.append(record.locator)
    _commit_page(store, run, page, cursor, docs, raws, revocations, quarantined, released, retried)


def _commit_page(
    store: Store,
    run: AdapterRun,
    page: RecordPage,
    cursor: bool,
    docs: list[dict[str, Any]],
    raws: list[tuple[str, str, bytes, str]],
    revocations: list[LedgerRevocation],
    quarantined: list[QuarantinedRecord],
    released: list[str],
    retried: set[str],
) -> None:
    keep_through = getattr(page, "keep_through", None)
    write = PageWrite(
        run.name,
        run.info.ledger_id,
        cursor=page.next_cursor.to_json() if cursor else None,
        credentials=docs,
        revocations=revocations,
        raw_records=raws,
        quarantined=quarantined,
        released=released,
        keep_through=keep_through if isinstance(keep_through, int) else None,
    )
    commit = store.commit_page(write)
    run.counts["stored"] += commit.stored
    run.counts["unchanged"] += len(docs) - commit.stored
    run.counts["revocations"] += commit.revocations
    run.counts["rewound"] += commit.rewound
    # Newly quarantined only: a retried record that is held again is counted by inQuarantine at the end of the pass
    # (if a rewind drops it meanwhile, nothing is held and the pass did not fail).
    run.counts["quarantined"] += sum(1 for q in quarantined if q.locator not in retried)
    run.counts["released"] += len(released)
    run.counts["quarantine"].extend(q.to_json() for q in quarantined)
    run.stored_ids.extend(str(d["id"]) for d in docs)


def open_run(
    reg: AdapterRegistration,
    *,
    witness_key: KeyPair | None = None,
    partner_signers: Mapping[str, PartnerSigner] | None = None,
    witness_suite: str = "eddsa-rdfc-2022",
) -> AdapterRun:
    """Load and describe a registered adapter; the witness key's DID is offered as its ``witness`` (as
    ``vcgate adapters sync --key`` does) unless the configuration names one. Raises ``VcgateError``."""
    plugin = load_adapter(reg.plugin)
    config = dict(reg.config)
    if witness_key is not None and plugin.kind != "remote":
        config.setdefault("witness", witness_key.controller)
    adapter = plugin.create(config)
    return AdapterRun(reg.name, adapter, adapter.describe(), witness_key, dict(partner_signers or {}), witness_suite)


def _retry(store: Store, run: AdapterRun, work: RecordWork, now: datetime, *, upgrades_only: bool = False) -> None:
    """Translate quarantined records of ``run`` again (the stored record, else a fresh fetch); records held for an
    evidence upgrade are always fetched afresh (their evidence is rebuilt). ``upgrades_only``: only those."""
    from vcgate.adapters.remote import record_from_json

    records: list[SourceRecord] = []
    for q in store.quarantined(run.name):
        if upgrades_only and q.stage != UPGRADE:
            continue
        try:
            records.append(record_from_json(q.record) if q.record is not None else run.adapter.fetch(q.locator))
        except VcgateError as exc:
            run.counts["errors"].append(f"cannot retry {q.locator}: {exc}")
    if records:
        page = RecordPage(tuple(records), Cursor.start())
        outcomes = work.submit(run, credential_records(page.records))()
        sync_page(store, run, page, now=now, cursor=False, retrying=[r.locator for r in records], outcomes=outcomes)


def _pull(store: Store, run: AdapterRun, work: RecordWork, reg: AdapterRegistration, now: datetime) -> None:
    """Read every page after the registration's cursor; a ledger failure ends the pass (recorded as an error).

    Pages commit in ledger order, each with its cursor, in this process; while one page waits for its records'
    work, up to ``work.lookahead`` later pages are already fetched and in work. A ledger failure commits the pages
    fetched before it, then ends the pass.
    """
    try:
        health = run.adapter.health()
    except VcgateError as exc:
        store.observe(run.info.ledger_id, at=now, error=str(exc))
        run.counts["errors"].append(str(exc))
        return
    if health.status == "down":
        store.observe(run.info.ledger_id, at=now, error=health.detail or "ledger down")
        run.counts["errors"].append(health.detail or "ledger down")
        return
    run.height = health.ledger_height or 0
    since = Cursor.from_json(reg.cursor) if reg.cursor else None
    ledger_errors: list[VcgateError] = []
    pending: deque[tuple[RecordPage, Callable[[], Sequence[RecordOutcome]]]] = deque()
    try:
        for page in _ledger_pages(run, since, ledger_errors):
            pending.append((page, work.submit(run, credential_records(page.records))))
            while len(pending) > work.lookahead:
                first, outcomes = pending.popleft()
                sync_page(store, run, first, now=now, outcomes=outcomes())
        while pending:
            first, outcomes = pending.popleft()
            sync_page(store, run, first, now=now, outcomes=outcomes())
    except VcgateError as exc:
        ledger_errors.append(exc)
    if ledger_errors:
        store.observe(run.info.ledger_id, at=now, error=str(ledger_errors[0]))
        run.counts["errors"].append(str(ledger_errors[0]))
        return
    store.observe(run.info.ledger_id, at=now, height=run.height)


def _ledger_pages(run: AdapterRun, since: Cursor | None, errors: list[VcgateError]) -> Iterator[RecordPage]:
    """The adapter's pages after ``since``; a ledger failure ends them and lands in ``errors``."""
    try:
        yield from run.adapter.records(since)
    except VcgateError as exc:
        errors.append(exc)


def sync(
    store: Store,
    *,
    now: datetime,
    witness_key: KeyPair | None = None,
    policy: Policy | None = None,
    checkers: Mapping[str, EvidenceChecker] | None = None,
    resolver: DidResolver | None = None,
    partner_signers: Mapping[str, PartnerSigner] | None = None,
    retry_quarantined: bool = False,
    only: Iterable[str] | None = None,
    witness_suite: str = "eddsa-rdfc-2022",
    work: RecordWork | None = None,
) -> SyncReport:
    """Pull new records from every registered adapter (or those named in ``only``), translate, sign witness-mode
    translations with ``witness_key``, store and index them page by page, record revocations and ledger reads, then
    verify what was stored (warming the result cache under ``policy``). Idempotent.

    Partner-mode translations arrive signed by the partner (an issuing service). ``partner_signers`` maps a
    partner's issuer DID to its issuing service when it runs in this process (``signer(credential, created)``; the
    demo's partners). With ``retry_quarantined`` the quarantined records are tried again first. ``witness_suite``
    is the cryptosuite of witness signatures. ``work`` says where the per-record work and the checks run (default:
    this process; :class:`vcgate.gateway._cluster.ClusterWork` spreads them over a Dask cluster).
    """
    if work is None:
        work = InProcessWork(store, policy, now=now, resolver=resolver, checkers=checkers)
    report: dict[str, dict[str, Any]] = {}
    stored_ids: list[str] = []
    wanted = set(only) if only is not None else None
    for reg in store.adapters():
        if wanted is not None and reg.name not in wanted:
            continue
        try:
            run = open_run(reg, witness_key=witness_key, partner_signers=partner_signers, witness_suite=witness_suite)
        except VcgateError as exc:
            report[reg.name] = {"errors": [str(exc)], "inQuarantine": len(store.quarantined(reg.name))}
            continue
        report[reg.name] = run.counts
        for m in getattr(run.adapter, "published_mappings", lambda: ())():
            store.put_mapping(m)
        # Records stored with weaker evidence (a peer outage) are rebuilt every pass and upgraded in place.
        _retry(store, run, work, now, upgrades_only=not retry_quarantined)
        _pull(store, run, work, reg, now)
        run.counts["inQuarantine"] = len(store.quarantined(reg.name))
        stored_ids.extend(run.stored_ids)
        store.set_last_sync(reg.name, {"at": _ts(now), **{k: v for k, v in run.counts.items() if k != "quarantine"}})
        close = getattr(run.adapter, "close", None)
        if callable(close):
            close()
    if policy is not None and stored_ids:
        work.check(stored_ids)
    return SyncReport(report)


def register(
    store: Store,
    name: str,
    plugin_name: str,
    config: Mapping[str, Any],
    *,
    party: str | None = None,
    witness: str | None = None,
) -> dict[str, Any]:
    """Register adapter ``plugin_name`` with ``config`` as ``name`` for ``vcgate sync`` (``vcgate adapters add``).

    The adapter describes itself (a remote one over HTTP); a remote adapter of a ledger kind the gateway cannot check
    is refused, and so is a ``party`` (id or DID) that is not registered. The mappings the adapter publishes are
    stored with their digests, so replay can rebuild its credentials. ``witness`` (the gateway's DID) is offered
    to a witness-mode adapter for describing it; it is not stored (``vcgate sync --witness-key`` offers it each
    pass). Returns what was registered (JSON).
    """
    if party is not None:
        registry = store.parties()
        found = registry.get(party) or next((p for p in registry.parties if p.did == party), None)
        if found is None:
            raise SyncError(f"no registered party {party!r}; register it first (`vcgate parties add`)")
        party = found.id
    plugin = load_adapter(plugin_name)
    settings = dict(config)
    if witness is not None and plugin.kind != "remote":
        settings.setdefault("witness", witness)
    adapter = plugin.create(settings)
    try:
        info = adapter.describe()
        if plugin.kind == "remote":
            require_checker(info.kind)
        published = tuple(getattr(adapter, "published_mappings", lambda: ())())
    finally:
        close = getattr(adapter, "close", None)
        if callable(close):
            close()
    for m in published:
        store.put_mapping(m)
    store.register_adapter(name, plugin_name, config, party=party, kind=info.kind, ledger_id=info.ledger_id)
    return {
        "name": name,
        "plugin": plugin_name,
        "party": party,
        "adapter": info.to_json(),
        "publishedMappings": [{"id": m.id, "digest": m.digest} for m in published],
    }


def status(store: Store) -> list[dict[str, Any]]:
    """Every registration with its cursor, last pass, ledger observation and quarantined records (JSON)."""
    observations = store.observations()
    out = []
    for reg in store.adapters():
        seen = observations.get(reg.ledger_id or "")
        out.append(
            {
                "name": reg.name,
                "plugin": reg.plugin,
                "kind": reg.kind,
                "ledgerId": reg.ledger_id,
                "party": reg.party,
                "cursor": Cursor.from_json(reg.cursor).encode() if reg.cursor else None,
                "lastSync": reg.last_sync,
                "ledger": (
                    {
                        "height": seen.height,
                        "lastOkAt": _ts(seen.last_ok_at) if seen.last_ok_at else None,
                        "lastError": seen.last_error or None,
                    }
                    if seen is not None
                    else None
                ),
                "quarantine": [q.to_json() for q in store.quarantined(reg.name)],
            }
        )
    return out
