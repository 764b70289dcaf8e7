"""A real credential world for the jobs tests: parties with did:key keys, a real plain ledger, signed credentials.

Source (stated per STYLE.md 9): the credentials are the repository's example IPR chain
(``examples/credentials/*.json``, copied by reading them at test time from this checkout), re-issued here with
generated did:key parties and one GTIN per scenario. Licences, IPR credentials and invoices are records on a real
plain ledger (``vcgate.adapters.plain_ledger``: entries signed by the submitting party, an RFC 9162 Merkle log, signed
checkpoints), translated by published mappings (``vcgate.adapters.sdk.apply_mapping``) and signed by their issuer;
their evidence is checked by :class:`PlainLedgerEvidenceChecker`, a small checker over the plain ledger's own offline
verifier (``check_inclusion``). GS1 licences are plain credentials with Bitstring status entries (status lists kept
in the store, as ``vcgate sync`` would fetch them).

No fakes: every proof, inclusion proof, checkpoint and status list is real and verified.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from vcgate.adapters.plain_ledger import (
    InclusionProof,
    LedgerEntry,
    LogKey,
    PlainLedgerStore,
    SubmitterKey,
    check_inclusion,
)
from vcgate.adapters.sdk import (
    Check,
    CheckStatus,
    CredentialMapping,
    EvidenceChecker,
    EvidenceResult,
    LedgerEvidence,
    SourceRecord,
    apply_mapping,
)
from vcgate.canonical_schema import InputError, Problem
from vcgate.gateway import KeyPair, Policy, StatusList, sign
from vcgate.gateway._parties import Binding, ControlProof, Identifier, Party, sign_binding_challenge
from vcgate.gateway._store import Store
from vcgate.gateway.verification._pipeline import LedgerRevocation

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "credentials"
CHECKED_AT = datetime(2025, 6, 1, tzinfo=UTC)
ENTRY_DATE = "2024-09-02"
CREATED = datetime(2024, 1, 1, tzinfo=UTC)


def gtin(item: int) -> str:
    """A GTIN-14 under GS1's example company prefix 0614141 with a correct check digit."""
    body = f"00614141{item:05d}"
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


def example(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((EXAMPLES / name).read_text())
    return data


# ---------------------------------------------------------------------------------------------------------------
# The plain-ledger evidence checker (over the plain ledger's offline verifier)


class PlainLedgerEvidenceChecker:
    """Checks plain-ledger evidence against the pinned log key: ``proofMaterial`` carries the leaf (base64), its
    RFC 9162 inclusion proof and the signed checkpoint; the leaf's entry must be the evidence's record, signer and
    ledger time."""

    def check(
        self, credential: Mapping[str, Any], evidence: Mapping[str, Any], anchor: Mapping[str, Any], *, at: datetime
    ) -> EvidenceResult:
        checks: list[Check] = []

        def stop(name: str, status: CheckStatus, code: str, detail: str) -> EvidenceResult:
            checks.append(Check(name, status, (Problem(code, "plain-ledger evidence", detail),)))
            return EvidenceResult(tuple(checks))

        try:
            parsed = LedgerEvidence.from_json(evidence)
            pm = parsed.proof_material
            leaf = base64.b64decode(pm["leaf"])
            proof = InclusionProof.from_json(pm["inclusionProof"])
            note = str(pm["checkpoint"])
        except (InputError, KeyError, TypeError, ValueError) as exc:
            return stop("plain.shape", CheckStatus.FAILED, "PLAIN_EVIDENCE_MALFORMED", str(exc))
        checks.append(Check("plain.shape", CheckStatus.PASSED))
        if anchor.get("kind") != "plain" or not isinstance(anchor.get("logKey"), str):
            return stop("plain.anchor", CheckStatus.ERROR, "PLAIN_NO_ANCHOR", "the anchor names no log key")
        result = check_inclusion(leaf, proof, note, anchor["logKey"])
        for c in result.checks:
            status = CheckStatus(c.status)
            checks.append(Check(f"plain.{c.name}", status, (c.problem,) if c.problem else ()))
        if not result.ok or result.leaf is None:
            return EvidenceResult(tuple(checks))
        entry = result.leaf.entry.to_json()
        record = entry.get("record")
        try:
            raw = parsed.to_source_record(None if parsed.raw_record is not None else record)
        except InputError as exc:
            return stop("plain.record", CheckStatus.FAILED, "PLAIN_RECORD_MISMATCH", str(exc))
        if raw.record_digest() != parsed.record_digest or record != json.loads(json.dumps(raw.raw)):
            return stop("plain.record", CheckStatus.FAILED, "PLAIN_RECORD_MISMATCH", "the leaf holds another record")
        if parsed.native_signer.get("publicKeyMultibase") != entry["signer"]["publicKeyMultibase"]:
            return stop(
                "plain.signer", CheckStatus.FAILED, "PLAIN_SIGNER_MISMATCH", "the leaf was signed by another key"
            )
        logged = datetime.fromisoformat(result.leaf.logged_at.replace("Z", "+00:00"))
        if datetime.fromisoformat(parsed.ledger_time.replace("Z", "+00:00")) != logged or (
            parsed.ledger_height != proof.index
        ):
            return stop("plain.position", CheckStatus.FAILED, "PLAIN_POSITION_MISMATCH", "ledger time/height differ")
        checks.append(Check("plain.record", CheckStatus.PASSED))
        return EvidenceResult(tuple(checks))


def plain_checkers() -> dict[str, EvidenceChecker]:
    """Checker factory for ``--checkers tests.jobs._world:plain_checkers``."""
    return {"plain": PlainLedgerEvidenceChecker()}


# ---------------------------------------------------------------------------------------------------------------
# Mappings: plain-ledger records (issuer, validity, subject) -> credentials


def passthrough_mapping(credential_type: str) -> CredentialMapping:
    return CredentialMapping.from_json(
        {
            "id": f"urn:vcgate:test:mapping:plain-{credential_type}",
            "version": "1",
            "credential": {
                "type": ["VerifiableCredential", credential_type],
                "issuer": {"mode": "partner", "id": {"path": "issuer"}},
                "validFrom": {"path": "validFrom", "date": "iso"},
                "validUntil": {"path": "validUntil", "date": "iso", "optional": True},
                "credentialSubject": {"path": "subject"},
            },
        }
    )


MAPPED_TYPES = (
    "IntellectualPropertyRightsCredential",
    "IntellectualPropertyRightsLicenseCredential",
    "CommercialInvoiceCredential",
)


# ---------------------------------------------------------------------------------------------------------------
# The world


@dataclass
class Actor:
    id: str
    key: KeyPair
    names: tuple[str, ...]
    identifiers: tuple[Identifier, ...] = ()

    @property
    def did(self) -> str:
        return self.key.controller

    def party(self, since: datetime = datetime(2015, 1, 1, tzinfo=UTC)) -> Party:
        match = {"publicKeyMultibase": self.key.public.to_multibase()}
        binding = Binding("plain-ledger-key", match, since, ControlProof("signed-challenge", nonce=f"n-{self.id}"))
        binding = sign_binding_challenge(self.did, binding, self.key.sign)
        return Party(self.id, self.did, self.names, self.identifiers, (binding,))


@dataclass
class World:
    """Parties, a plain ledger, stored credentials, the policy; ``entries`` holds one entry per scenario."""

    tmp: Path
    actors: dict[str, Actor] = field(default_factory=dict)
    ledger: PlainLedgerStore | None = None
    log_key: LogKey | None = None
    clock_now: datetime = datetime(2023, 1, 1, tzinfo=UTC)
    mappings: dict[str, CredentialMapping] = field(default_factory=dict)
    credentials: dict[str, dict[str, Any]] = field(default_factory=dict)
    status_lists: dict[str, StatusList] = field(default_factory=dict)
    revocations: list[LedgerRevocation] = field(default_factory=list)

    # -- ledger records --------------------------------------------------------------------------------------

    def _clock(self) -> datetime:
        return self.clock_now

    def record(self, actor: str, record: dict[str, Any], *, at: datetime, record_id: str) -> SourceRecord:
        """Append ``record`` to the plain ledger signed by ``actor`` at ledger time ``at``."""
        assert self.ledger is not None
        assert self.log_key is not None
        self.clock_now = at
        submitter = SubmitterKey.from_json(self.actors[actor].key.to_multikey())
        entry = LedgerEntry.from_json(
            submitter.sign_entry({"kind": "record", "recordId": record_id, "record": record, "issuedAt": _ts(at)})
        )
        receipt = self.ledger.append(entry)
        return self._source(receipt.index, submitter)

    def _source(self, index: int, submitter: SubmitterKey) -> SourceRecord:
        assert self.ledger is not None
        assert self.log_key is not None
        stored = self.ledger.get(index)
        size = self.ledger.tree_size()
        proof = self.ledger.inclusion_proof(index, size)
        record = json.loads(stored.leaf)["entry"]["record"]
        return SourceRecord(
            ledger_id=self.log_key.ledger_id,
            ledger_kind="plain",
            locator=f"entry/{index}",
            raw=record,
            native_signer={
                "kind": "plain-ledger-key",
                "publicKeyMultibase": submitter.public_key.to_multibase(),
                "did": submitter.did,
            },
            ledger_time=datetime.fromisoformat(stored.logged_at.replace("Z", "+00:00")),
            ledger_height=index,
            proof_material={
                "leaf": base64.b64encode(stored.leaf).decode(),
                "inclusionProof": proof.to_json(),
                "checkpoint": self.ledger.checkpoint(size),
            },
        )

    def revoke(self, actor: str, credential: dict[str, Any], *, at: datetime) -> None:
        """A plain-ledger revocation entry by ``actor`` of the record behind ``credential``."""
        assert self.ledger is not None
        assert self.log_key is not None
        self.clock_now = at
        ev = credential["evidence"][0]
        submitter = SubmitterKey.from_json(self.actors[actor].key.to_multikey())
        entry = LedgerEntry.from_json(
            submitter.sign_entry(
                {"kind": "revocation", "supersedes": int(ev["locator"].split("/")[1]), "reason": "licence terminated"}
            )
        )
        receipt = self.ledger.append(entry)
        self.revocations.append(
            LedgerRevocation(credential["id"], ev["ledgerId"], f"entry/{receipt.index}", at, receipt.index)
        )

    def issue_on_ledger(
        self,
        actor: str,
        credential_type: str,
        subject: dict[str, Any],
        *,
        at: datetime,
        valid_from: str,
        valid_until: str | None = None,
        tamper: bool = False,
        forge: bool = False,
        issuer: str | None = None,
    ) -> dict[str, Any]:
        """Record the credential's data on the plain ledger as ``actor``, translate it and sign it as ``actor``."""
        raw: dict[str, Any] = {"issuer": issuer or self.actors[actor].did, "validFrom": valid_from, "subject": subject}
        if valid_until:
            raw["validUntil"] = valid_until
        rid = f"{credential_type}-{len(self.credentials)}"
        source = self.record(actor, raw, at=at, record_id=rid)
        mapping = self.mappings[credential_type]
        doc = apply_mapping(mapping, source).to_json()
        if tamper:
            # Stored bytes mutated after translation, then signed: the proof holds, the evidence does not.
            rr = doc["evidence"][0]["rawRecord"]
            rr["subject"]["licensee"]["id"] = self.actors["shady"].did
            doc["credentialSubject"]["licensee"]["id"] = self.actors["shady"].did
        signed = sign(doc, self.actors[actor].key, suite="eddsa-rdfc-2022", created=at)
        if forge:
            # Altered after signing (a forged licensee): the signature no longer verifies.
            signed["credentialSubject"]["licensee"]["id"] = self.actors["shady"].did
        self.credentials[signed["id"]] = signed
        return signed

    def issue_plain(
        self, actor: str, doc: dict[str, Any], *, status: tuple[str, int] | None = None, revoked: bool = False
    ) -> dict[str, Any]:
        """A credential without ledger evidence (GS1 licences), optionally with a Bitstring status entry."""
        doc = copy.deepcopy(doc)
        doc.pop("credentialStatus", None)
        doc["issuer"] = self.actors[actor].did
        if status is not None:
            url, index = status
            sl = self.status_lists.setdefault(url, StatusList.create(url))
            doc["credentialStatus"] = sl.entry(index, "revocation")
            if revoked:
                sl.set(index)
        signed = sign(doc, self.actors[actor].key, suite="eddsa-rdfc-2022", created=CREATED)
        self.credentials[signed["id"]] = signed
        return signed

    # -- the store -------------------------------------------------------------------------------------------

    def status_list_documents(self) -> dict[str, dict[str, Any]]:
        gs1 = self.actors["gs1"]
        return {
            url: sign(
                sl.to_credential(gs1.did, "revocation", datetime(2024, 1, 1, tzinfo=UTC)),
                gs1.key,
                suite="eddsa-rdfc-2022",
                created=CREATED,
            )
            for url, sl in self.status_lists.items()
        }

    def policy(self, **overrides: Any) -> Policy:
        assert self.log_key is not None
        raw: dict[str, Any] = json.loads(json.dumps(dict(Policy.default().raw)))
        raw["name"] = "test-cbp"
        raw["trust"] = {
            "anchors": {
                self.log_key.ledger_id: {"kind": "plain", "logKey": self.log_key.verifier.to_vkey()},
                "corda:0123456789abcdef": {"kind": "corda", "notaryKey": "00" * 32},
            },
            "roots_of_authority": {"gtin_ownership": ["gs1"], "ipr_ownership": ["cbp"]},
            "issuer_permissions": {
                "GS1IdentificationKeyLicenseCredential": ["gs1"],
                "GS1CompanyPrefixLicenseCredential": ["gs1"],
            },
            "required_evidence": {"IntellectualPropertyRightsLicenseCredential": ["plain", "fabric", "corda"]},
            "witness_mode": {"accept": False, "witnesses": []},
            "freshness": {"status": 7 * 86400, "revocation": 7 * 86400, "revocation_per_ledger": {}},
            "territory": "US",
        }
        for k, v in overrides.items():
            raw["trust"][k] = v
        return Policy.from_mapping(raw)

    def fill(self, store: Store, *, observed_at: datetime = CHECKED_AT - timedelta(hours=1)) -> None:
        """Put parties, mappings, credentials, status lists, revocations and ledger reads into ``store``."""
        assert self.log_key is not None
        for a in self.actors.values():
            store.put_party(a.party())
        for m in self.mappings.values():
            store.put_mapping(m)
        store.put_credentials(self.credentials.values(), source="test-world")
        for url, doc in self.status_list_documents().items():
            store.put_document(url, json.dumps(doc).encode(), fetched_at=observed_at)
        for r in self.revocations:
            store.put_revocation(r)
        assert self.ledger is not None
        store.observe(self.log_key.ledger_id, at=observed_at, height=self.ledger.tree_size())
        store.observe("corda:0123456789abcdef", at=observed_at, height=10)


def _ts(t: datetime) -> str:
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------------------------------
# Scenario credentials


SCENARIOS = (
    "authorized",
    "no_licence",
    "revoked_licence",
    "expired_licence",
    "licensee_not_manufacturer",
    "importer_mismatch",
    "quantity_first",
    "quantity_beyond_invoice",
    "self_declared_owner",
    "forged_signature",
    "tampered_evidence",
    "unknown_gtin",
    "revoked_gs1_licence",
    "no_anchor",
    "missing_adapter",
)


def build_world(tmp: Path) -> tuple[World, dict[str, dict[str, Any]]]:
    """The world and one entry row per scenario (keyed by scenario; rows carry no scenario label)."""
    w = World(tmp)
    for pid, names, idents in (
        ("gs1", ("GS1 US",), ()),
        ("cbp", ("CBP IPR recordation",), ()),
        ("acme", ("Acme Outdoor Apparel, Inc.",), (Identifier("gln", "0614141000005"),)),
        ("summit", ("Dongguan Summit Garment Co., Ltd.",), (Identifier("manufacturer-id", "CNDONSUM88DON"),)),
        ("shady", ("Shady Knockoffs Ltd.",), (Identifier("manufacturer-id", "CNSHAKNO12SHE"),)),
        ("northwind", ("Northwind Retail Imports LLC",), (Identifier("importer-of-record", "95-481237600"),)),
        ("otherimp", ("Other Imports Corp.",), (Identifier("importer-of-record", "12-345678900"),)),
    ):
        w.actors[pid] = Actor(pid, KeyPair.generate("ed25519"), names, idents)
    w.log_key = LogKey.generate()
    w.ledger = PlainLedgerStore.create(tmp / "plain-ledger.sqlite", w.log_key, clock=w._clock)
    for t in MAPPED_TYPES:
        w.mappings[t] = passthrough_mapping(t)
    a = w.actors

    gs1_key = example("gs1-identification-key-license.json")
    ipr = example("intellectual-property-rights.json")
    licence = example("intellectual-property-rights-license.json")
    invoice = example("commercial-invoice.json")

    def gs1_licence(g: str, *, revoked: bool = False, item: int = 0) -> None:
        doc = copy.deepcopy(gs1_key)
        doc["id"] = f"urn:uuid:00000000-0000-4000-8000-{item:012d}"
        doc["credentialSubject"]["id"] = a["acme"].did
        doc["credentialSubject"]["licenseValue"] = g
        doc["credentialSubject"]["alternativeLicenseValue"] = g[1:]
        w.issue_plain("gs1", doc, status=("https://gs1us.example.org/status/7", item), revoked=revoked)

    def ipr_record(g: str, *, issuer: str = "cbp", owner: str = "acme") -> dict[str, Any]:
        subject = copy.deepcopy(ipr["credentialSubject"])
        subject["intellectualPropertyRightsOwner"]["id"] = a[owner].did
        subject["intellectualPropertyRightsProduct"]["gtin"] = g
        subject["recordationNumber"] = f"TMK 23-{g[-6:]}"
        return w.issue_on_ledger(
            issuer,
            "IntellectualPropertyRightsCredential",
            subject,
            at=datetime(2023, 1, 10, tzinfo=UTC),
            valid_from="2023-01-10T00:00:00Z",
        )

    def licence_record(
        g: str,
        ipr_doc: dict[str, Any],
        *,
        licensor: str = "acme",
        licensee: str = "summit",
        start: str = "2024-01-01T00:00:00Z",
        end: str = "2026-12-31T23:59:59Z",
        at: datetime = datetime(2023, 12, 20, tzinfo=UTC),
        **kw: Any,
    ) -> dict[str, Any]:
        subject = copy.deepcopy(licence["credentialSubject"])
        subject["licensee"]["id"] = a[licensee].did
        subject["licensor"]["id"] = a[licensor].did
        subject["intellectualPropertyRightsProduct"]["gtin"] = g
        subject["licensedProducts"] = [{"type": ["Product"], "gtin": g, "name": "Acme product"}]
        subject["extendsCredential"] = ipr_doc["id"]
        subject["recordationNumber"] = ipr_doc["credentialSubject"]["recordationNumber"]
        subject["licenseId"] = f"ACME-LIC-{g}"
        subject["licenseTerm"]["termStart"] = start
        subject["licenseTerm"]["termEnd"] = end
        return w.issue_on_ledger(
            licensor,
            "IntellectualPropertyRightsLicenseCredential",
            subject,
            at=at,
            valid_from=start,
            valid_until=end,
            **kw,
        )

    def invoice_record(number: str, g: str, count: int, *, buyer: str = "northwind") -> dict[str, Any]:
        subject = copy.deepcopy(invoice["credentialSubject"])
        subject["invoiceNumber"] = number
        subject["seller"]["id"] = a["summit"].did
        subject["buyer"]["id"] = a[buyer].did
        item = copy.deepcopy(subject["itemsShipped"][0])
        item["product"]["gtin"] = g
        item["itemCount"] = count
        subject["itemsShipped"] = [item]
        return w.issue_on_ledger(
            "summit",
            "CommercialInvoiceCredential",
            subject,
            at=datetime(2024, 8, 15, tzinfo=UTC),
            valid_from="2024-08-15T00:00:00Z",
        )

    rows: dict[str, dict[str, Any]] = {}

    def row(name: str, g: str, invoice_no: str, *, qty: int = 100, mid: str = "CNDONSUM88DON", **kw: Any) -> None:
        rows[name] = {
            "entryNumber": kw.get("entry", f"HB7-{len(rows) + 1000:07d}-{len(rows) % 10}"),
            "importerOfRecord": kw.get("importer", "95-481237600"),
            "entryDate": kw.get("date", ENTRY_DATE),
            "invoiceNumber": invoice_no,
            "lines": [{"line": 1, "gtin": g, "manufacturerId": mid, "quantity": qty, "value": "5150.00"}],
        }

    def chain(item: int, **licence_kw: Any) -> str:
        g = gtin(item)
        gs1_licence(g, item=item)
        doc = ipr_record(g)
        if licence_kw.pop("no_licence", False):
            return g
        licence_record(g, doc, **licence_kw)
        return g

    g = chain(12345)
    invoice_record("INV-AUTH", g, 1200)
    row("authorized", g, "INV-AUTH")
    row("licensee_not_manufacturer", g, "INV-AUTH", mid="CNSHAKNO12SHE")
    invoice_record("INV-OTHERIMP", g, 1200)
    row("importer_mismatch", g, "INV-OTHERIMP", importer="12-345678900")
    invoice_record("INV-QTY", g, 100)
    row("quantity_first", g, "INV-QTY", qty=60, date="2024-09-01")
    row("quantity_beyond_invoice", g, "INV-QTY", qty=60, date="2024-09-03")

    g = chain(20001, no_licence=True)
    invoice_record("INV-NOLIC", g, 500)
    row("no_licence", g, "INV-NOLIC")

    g = gtin(20002)
    gs1_licence(g, item=20002)
    lic = licence_record(g, ipr_record(g))
    w.revoke("acme", lic, at=datetime(2025, 2, 1, tzinfo=UTC))
    invoice_record("INV-REV", g, 500)
    row("revoked_licence", g, "INV-REV")

    g = chain(20003, start="2023-01-01T00:00:00Z", end="2024-01-01T00:00:00Z", at=datetime(2022, 12, 1, tzinfo=UTC))
    invoice_record("INV-EXP", g, 500)
    row("expired_licence", g, "INV-EXP")

    # Self-declared owner: GS1 says Acme owns the GTIN, but the only IPR credential is Shady's own claim, and
    # Shady licenses itself.
    g = gtin(20004)
    gs1_licence(g, item=20004)
    shady_ipr = ipr_record(g, issuer="shady", owner="shady")
    licence_record(g, shady_ipr, licensor="shady", licensee="summit")
    invoice_record("INV-SELF", g, 500)
    row("self_declared_owner", g, "INV-SELF")

    # Forged and tampered licences name Shady as licensee, and Shady's goods are declared: only the proof or the
    # evidence gives them away.
    g = chain(20005, forge=True)
    invoice_record("INV-FORGED", g, 500)
    row("forged_signature", g, "INV-FORGED", mid="CNSHAKNO12SHE")

    g = chain(20006, tamper=True)
    invoice_record("INV-TAMPER", g, 500)
    row("tampered_evidence", g, "INV-TAMPER", mid="CNSHAKNO12SHE")

    g = gtin(29999)  # a valid GTIN that no GS1 licence covers
    invoice_record("INV-UNKNOWN", g, 500)
    row("unknown_gtin", g, "INV-UNKNOWN")

    g = gtin(20007)
    gs1_licence(g, item=20007, revoked=True)
    licence_record(g, ipr_record(g))
    invoice_record("INV-GS1REV", g, 500)
    row("revoked_gs1_licence", g, "INV-GS1REV")

    # No anchor: the licence's evidence is on a second plain ledger the policy does not pin.
    g = chain(20008, no_licence=True)
    other_key = LogKey.generate()
    other = PlainLedgerStore.create(tmp / "other-ledger.sqlite", other_key, clock=w._clock)
    main_ledger, main_key = w.ledger, w.log_key
    w.ledger, w.log_key = other, other_key
    licence_record(g, ipr_record(g))
    w.ledger, w.log_key = main_ledger, main_key
    invoice_record("INV-NOANCHOR", g, 500)
    row("no_anchor", g, "INV-NOANCHOR")

    # Missing adapter: a licence whose evidence is from a ledger the policy anchors, but no adapter of its kind
    # (evidence checker) is installed (the gateway checks every built-in kind itself, so the kind is a foreign one).
    g = chain(20009, no_licence=True)
    ipr_doc = next(
        c for c in w.credentials.values() if c["credentialSubject"].get("recordationNumber") == f"TMK 23-{g[-6:]}"
    )
    subject = copy.deepcopy(licence["credentialSubject"])
    subject["licensee"]["id"] = a["summit"].did
    subject["licensor"]["id"] = a["acme"].did
    subject["intellectualPropertyRightsProduct"]["gtin"] = g
    subject["licensedProducts"] = [{"type": ["Product"], "gtin": g}]
    subject["extendsCredential"] = ipr_doc["id"]
    subject["recordationNumber"] = ipr_doc["credentialSubject"]["recordationNumber"]
    fabric_source = SourceRecord(
        ledger_id="corda:0123456789abcdef",
        ledger_kind="corda",
        locator="tx:" + "ab" * 32,
        raw={"issuer": a["acme"].did, "validFrom": "2024-01-01T00:00:00Z", "subject": subject},
        native_signer={"kind": "plain-ledger-key", "publicKeyMultibase": a["acme"].key.public.to_multibase()},
        ledger_time=datetime(2023, 12, 1, tzinfo=UTC),
        ledger_height=9,
        proof_material={"blockNumber": 9, "txIndex": 0},
        channel="ipr-licensing",
    )
    doc = apply_mapping(w.mappings["IntellectualPropertyRightsLicenseCredential"], fabric_source).to_json()
    signed = sign(doc, a["acme"].key, suite="eddsa-rdfc-2022", created=CREATED)
    w.credentials[signed["id"]] = signed
    invoice_record("INV-NOADAPTER", g, 500)
    row("missing_adapter", g, "INV-NOADAPTER")
    return w, rows
