"""Linking and verdicts (ARCHITECTURE.md, "Linking and verdicts"): pure functions over verified credential views.

For each line of an import entry the chain is walked: importer of record → GTIN → brand owner (GS1 licence from a
root of authority) → IPR credential (from a root of authority) → licence (licensor = IPR owner, licensee =
manufacturer, product and territory covered, valid at the entry date by ledger time, not revoked) → the invoice the
entry references (issued by the seller = licensee, buyer = importer, the GTIN listed, quantities reconciled across
entries). Each step records its status, the reason code, the policy clause or linking rule that decided it, the
credential and evidence ids behind it and the ledger heights seen.

Verdicts: ``not_authorized`` when a step failed, else ``undetermined`` when a step could not be decided (missing
adapter, no anchor, stale ledger: an *error* reason), else ``authorized``. Nothing here does I/O: the caller builds
the :class:`CredentialGraph` (verified :class:`CredentialView` s) and passes parties, trust policy and instants.
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import rfc8785

from vcgate.canonical_schema import InputError, OverallStatus, Problem

from ._parties import PartyRegistry
from .verification._trust import (
    CLAUSE_GTIN_ROOTS,
    CLAUSE_IPR_ROOTS,
    CLAUSE_TERRITORY,
    TrustPolicy,
)
from .verification._verify import parse_json_strictly

Verdict = Literal["authorized", "not_authorized", "undetermined"]
StepStatus = Literal["passed", "failed", "error", "skipped"]
ReasonKind = Literal["pass", "fail", "error"]

GS1_KEY = "GS1IdentificationKeyLicenseCredential"
GS1_PREFIX = "GS1CompanyPrefixLicenseCredential"
IPR = "IntellectualPropertyRightsCredential"
LICENCE = "IntellectualPropertyRightsLicenseCredential"
INVOICE = "CommercialInvoiceCredential"
ENTRY_TYPES = ("CBP3461EntryCredential", "EntryNumberCredential")

#: Linking rules cited by verdicts when no policy clause decided (docs/trust-policy.md, "Rules").
RULE_CHAIN = "rule:chain-complete"
RULE_CREDENTIAL = "rule:credential-verified"
RULE_IMPORTER = "rule:importer.registered"
RULE_MANUFACTURER = "rule:manufacturer.registered"
RULE_IPR_OWNER = "rule:ipr.owner-is-brand-owner"
RULE_LICENSOR = "rule:licence.licensor-is-ipr-owner"
RULE_LICENCE_ISSUER = "rule:licence.issued-by-ipr-owner"
RULE_LICENCE_IPR = "rule:licence.extends-ipr"
RULE_LICENSEE = "rule:licence.licensee-is-manufacturer"
RULE_LICENCE_VALID = "rule:licence.valid-at-entry-date"
RULE_VALID = "rule:credential.valid-at-entry-date"
RULE_INVOICE = "rule:invoice.referenced"
RULE_INVOICE_ISSUER = "rule:invoice.issued-by-seller"
RULE_SELLER = "rule:invoice.seller-is-licensee"
RULE_BUYER = "rule:invoice.buyer-is-importer"
RULE_INVOICE_GTIN = "rule:invoice.lists-gtin"
RULE_QUANTITY = "rule:invoice.quantity-not-exceeded"
RULE_ENTRY = "rule:entry.credential-verified"

#: Reason codes whose kind is ``error`` (the line becomes ``undetermined``), documented in docs/jobs.md.
ERROR_CODES = frozenset(
    {
        "ADAPTER_MISSING",
        "EVIDENCE_UNANCHORED",
        "EVIDENCE_UNDECIDED",
        "LEDGER_UNREACHABLE",
        "LEDGER_STALE",
        "STATUS_UNDECIDED",
        "CREDENTIAL_UNDECIDED",
        "MAPPING_UNAVAILABLE",
    }
)


# ---------------------------------------------------------------------------------------------------------------
# Entries


class EntryError(InputError):
    """An entry row is malformed; ``problem`` carries a stable code and a pointer into the row."""

    def __init__(self, code: str, detail: str, pointer: str = "") -> None:
        super().__init__(detail)
        self.problem = Problem(code, "Malformed entry", detail, pointer)


def normalize_gtin(value: Any) -> str:
    """A GTIN-8/12/13/14 as 14 digits, with its GS1 check digit verified; raises :class:`EntryError`."""
    text = str(value).strip() if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    if not re.fullmatch(r"\d{8}|\d{12,14}", text):
        raise EntryError("ENTRY_GTIN_INVALID", f"GTIN {value!r} is not 8, 12, 13 or 14 digits")
    digits = text.zfill(14)
    # GS1 General Specifications §7.9.1: weights 3,1,3,… from the right, excluding the check digit.
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits[:-1])))
    if (10 - total % 10) % 10 != int(digits[-1]):
        raise EntryError("ENTRY_GTIN_INVALID", f"GTIN {text} has a wrong check digit")
    return digits


def gtin_prefixes(gtin14: str) -> tuple[str, ...]:
    """GS1 company prefixes a GTIN-14 can belong to (6 to 12 digits of its GTIN-13 form, both spellings)."""
    body = gtin14[1:]
    out = {body[:n] for n in range(6, 13)}
    out |= {body.lstrip("0")[:n] for n in range(6, 13) if body.lstrip("0")}
    return tuple(sorted(out))


def _parse_instant(value: Any, pointer: str) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise EntryError("ENTRY_FIELD_MISSING", "entry date is required (YYYY-MM-DD or an RFC 3339 time)", pointer)
    text = value.strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            # A date alone means the start of that day in UTC (docs/jobs.md, "Entries").
            return datetime.fromisoformat(text).replace(tzinfo=UTC)
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise EntryError("ENTRY_FIELD_INVALID", f"entry date {text!r} is not a date or date-time", pointer) from None
    if t.tzinfo is None:
        raise EntryError("ENTRY_FIELD_INVALID", f"entry date {text!r} needs a timezone", pointer)
    return t.astimezone(UTC)


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class EntryLine:
    """One entry line: GTIN (14 digits), quantity, and optionally the manufacturer id and declared value."""

    line: int
    gtin: str
    quantity: int
    manufacturer_id: str | None = None
    value: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Normalised JSON form."""
        out: dict[str, Any] = {"line": self.line, "gtin": self.gtin, "quantity": self.quantity}
        if self.manufacturer_id is not None:
            out["manufacturerId"] = self.manufacturer_id
        if self.value is not None:
            out["value"] = self.value
        return out


@dataclass(frozen=True, slots=True)
class Entry:
    """A normalised import entry. Build with :func:`parse_entry` or :func:`entry_from_credential`."""

    entry_number: str
    entry_date: datetime
    lines: tuple[EntryLine, ...]
    importer_number: str | None = None
    importer_did: str | None = None
    invoice_number: str | None = None
    invoice_id: str | None = None
    invoice_digest: str | None = None
    credential_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Normalised JSON form (what :attr:`key` hashes)."""
        out: dict[str, Any] = {"entryNumber": self.entry_number, "entryDate": _ts(self.entry_date)}
        for key, value in (
            ("importerOfRecord", self.importer_number),
            ("importerDid", self.importer_did),
            ("invoiceNumber", self.invoice_number),
            ("invoiceId", self.invoice_id),
            ("invoiceDigest", self.invoice_digest),
            ("credentialId", self.credential_id),
        ):
            if value is not None:
                out[key] = value
        out["lines"] = [ln.to_json() for ln in self.lines]
        return out

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> Entry:
        """Rebuild an entry from :meth:`to_json` output (already normalised; use :func:`parse_entry` for rows)."""
        date = _parse_instant(value["entryDate"], "/entryDate")
        return cls(
            entry_number=value["entryNumber"],
            entry_date=date,
            lines=tuple(
                EntryLine(ln["line"], ln["gtin"], ln["quantity"], ln.get("manufacturerId"), ln.get("value"))
                for ln in value["lines"]
            ),
            importer_number=value.get("importerOfRecord"),
            importer_did=value.get("importerDid"),
            invoice_number=value.get("invoiceNumber"),
            invoice_id=value.get("invoiceId"),
            invoice_digest=value.get("invoiceDigest"),
            credential_id=value.get("credentialId"),
        )

    def claims(self) -> list[dict[str, Any]]:
        """The invoice claims this entry makes (one per line), as the store records them."""
        if self.invoice_number is None:
            return []
        return [
            {
                "entry_number": self.entry_number,
                "line": ln.line,
                "entry_key": self.key,
                "entry_date": _ts(self.entry_date),
                "invoice_number": self.invoice_number,
                "gtin": ln.gtin,
                "quantity": ln.quantity,
                # Who claims: a claim counts against an invoice only when this importer is its buyer (docs/jobs.md).
                "importer": self.importer_number or self.importer_did,
            }
            for ln in self.lines
        ]

    @property
    def key(self) -> str:
        """``sha256:`` hex of the RFC 8785 form of the normalised entry: results are stored under it."""
        return "sha256:" + hashlib.sha256(rfc8785.dumps(self.to_json())).hexdigest()


def _text(row: Mapping[str, Any], names: Sequence[str], pointer: str, *, required: bool) -> str | None:
    for name in names:
        value = row.get(name)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value.strip():
            return value.strip()
    if required:
        raise EntryError("ENTRY_FIELD_MISSING", f"{names[0]} is required", pointer + "/" + names[0])
    return None


#: The largest quantity or line number an entry may carry: what the store's integer columns hold (2³¹ − 1). Larger
#: numbers (``1e308``), infinities and NaN are input errors, never overflows further down.
MAX_QUANTITY = 2**31 - 1


def _quantity(value: Any, pointer: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise EntryError("ENTRY_FIELD_INVALID", "quantity must be a whole number", pointer)
    try:
        q = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise EntryError("ENTRY_FIELD_INVALID", f"quantity {_short(value)} is not a number", pointer) from None
    # Beyond the domain (NaN, infinities, 1e308) is hostile or garbled input; a negative or a fraction is a slip.
    code = "ENTRY_NUMBER_OUT_OF_RANGE" if not q.is_finite() or q > MAX_QUANTITY else "ENTRY_FIELD_INVALID"
    if code == "ENTRY_NUMBER_OUT_OF_RANGE" or q != q.to_integral_value() or q <= 0:
        raise EntryError(code, f"quantity {_short(value)} must be a whole number from 1 to {MAX_QUANTITY}", pointer)
    return int(q)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _value(value: Any, pointer: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        v = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise EntryError("ENTRY_FIELD_INVALID", f"value {_short(value)} is not a decimal amount", pointer) from None
    if not v.is_finite() or v.adjusted() > 30:
        raise EntryError("ENTRY_NUMBER_OUT_OF_RANGE", f"value {_short(value)} must be an amount below 1e31", pointer)
    if v < 0:
        raise EntryError("ENTRY_FIELD_INVALID", f"value {_short(value)} must be a non-negative amount", pointer)
    return format(v.normalize(), "f")


def parse_entry(row: Any) -> Entry:
    """Parse one entry object (a JSON row): ``entryNumber``, ``importerOfRecord``, ``entryDate``,
    ``invoiceNumber`` and ``lines`` [{``gtin``, ``quantity``, ``manufacturerId``?, ``value``?}]. Raises
    :class:`EntryError`."""
    if not isinstance(row, Mapping):
        raise EntryError("ENTRY_NOT_AN_OBJECT", "an entry is a JSON object")
    number = _text(row, ("entryNumber", "entry_number"), "", required=True)
    importer = _text(row, ("importerOfRecord", "importer_of_record", "importer"), "", required=True)
    date = _parse_instant(row.get("entryDate", row.get("entry_date")), "/entryDate")
    invoice = _text(row, ("invoiceNumber", "invoice_number"), "", required=True)
    raw_lines = row.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise EntryError("ENTRY_FIELD_MISSING", "lines must be a non-empty list", "/lines")
    lines = []
    for i, raw in enumerate(raw_lines):
        ptr = f"/lines/{i}"
        if not isinstance(raw, Mapping):
            raise EntryError("ENTRY_FIELD_INVALID", "a line is an object", ptr)
        try:
            gtin = normalize_gtin(raw.get("gtin"))
        except EntryError as exc:
            raise EntryError(exc.problem.code, exc.problem.detail, ptr + "/gtin") from None
        number_field = raw.get("line", i + 1)
        if isinstance(number_field, bool) or not isinstance(number_field, int) or not 0 < number_field <= MAX_QUANTITY:
            big = isinstance(number_field, int) and number_field > MAX_QUANTITY
            code = "ENTRY_NUMBER_OUT_OF_RANGE" if big else "ENTRY_FIELD_INVALID"
            raise EntryError(code, f"line must be an integer from 1 to {MAX_QUANTITY}", ptr + "/line")
        lines.append(
            EntryLine(
                line=number_field,
                gtin=gtin,
                quantity=_quantity(raw.get("quantity"), ptr + "/quantity"),
                manufacturer_id=_text(raw, ("manufacturerId", "manufacturer_id"), ptr, required=False),
                value=_value(raw.get("value"), ptr + "/value"),
            )
        )
    if len({ln.line for ln in lines}) != len(lines):
        raise EntryError("ENTRY_FIELD_INVALID", "line numbers must be unique", "/lines")
    assert number is not None
    assert importer is not None
    return Entry(number, date, tuple(lines), importer_number=importer, invoice_number=invoice)


#: Columns of the CSV entry format (one row per entry line; rows of one entry share the entry columns).
CSV_COLUMNS = (
    "entry_number",
    "importer_of_record",
    "entry_date",
    "invoice_number",
    "line",
    "gtin",
    "manufacturer_id",
    "quantity",
    "value",
)


@dataclass(frozen=True, slots=True)
class EntryRow:
    """One input row (1-based ``row`` number in the file) parsed into an entry, or the problem that stopped it."""

    row: int
    entry: Entry | None = None
    problem: Problem | None = None
    raw: str = ""


#: Limits on one JSON entry row: CPython's JSON decoder recurses, so nesting is refused before parsing.
MAX_ROW_BYTES = 16 * 1024 * 1024
MAX_ROW_DEPTH = 64

#: Row problems that refuse the whole input (hostile or garbled, not a clerical slip): ``jobs run`` exits 1 and
#: ``POST /jobs`` answers 400 instead of running a job over them.
REFUSING_CODES = frozenset({"ENTRY_NUMBER_OUT_OF_RANGE", "ENTRY_TOO_DEEP"})


def read_entries_jsonl(text: str) -> Iterator[EntryRow]:
    """Entries from JSON Lines: one entry object per line; blank lines are skipped; bad rows are reported."""
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        value, parsed = parse_json_strictly(line, max_bytes=MAX_ROW_BYTES, max_depth=MAX_ROW_DEPTH)
        if parsed.status != "passed" and parsed.problem is not None:
            p = parsed.problem
            code = "ENTRY_TOO_DEEP" if p.code == "INPUT_TOO_DEEP" else "ENTRY_NOT_JSON"
            yield EntryRow(n, problem=Problem(code, "Malformed entry", p.detail), raw=line[:500])
            continue
        try:
            yield EntryRow(n, entry=parse_entry(value), raw=line[:500])
        except EntryError as exc:
            yield EntryRow(n, problem=exc.problem, raw=line[:500])


def read_entries_csv(text: str) -> Iterator[EntryRow]:
    """Entries from CSV (header :data:`CSV_COLUMNS`): consecutive rows with one entry number form one entry.

    A malformed row is reported with its row number and drops only its own entry; the file goes on.
    """
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in ("entry_number", "entry_date", "gtin", "quantity") if c not in (reader.fieldnames or [])]
    if missing:
        yield EntryRow(
            1,
            problem=Problem("ENTRY_CSV_HEADER", "Malformed entry file", f"the header lacks {', '.join(missing)}"),
        )
        return
    group: list[tuple[int, dict[str, str]]] = []

    def flush() -> Iterator[EntryRow]:
        if not group:
            return
        first_row, first = group[0]
        obj = {
            "entryNumber": first.get("entry_number"),
            "importerOfRecord": first.get("importer_of_record"),
            "entryDate": first.get("entry_date"),
            "invoiceNumber": first.get("invoice_number"),
            "lines": [
                {
                    "line": int(r["line"]) if (r.get("line") or "").isdigit() else i + 1,
                    "gtin": r.get("gtin"),
                    "manufacturerId": r.get("manufacturer_id"),
                    "quantity": r.get("quantity"),
                    "value": r.get("value"),
                }
                for i, (_, r) in enumerate(group)
            ],
        }
        raw = json.dumps(obj)[:500]
        for n, r in group[1:]:
            for col in ("importer_of_record", "entry_date", "invoice_number"):
                if (r.get(col) or "") != (first.get(col) or ""):
                    yield EntryRow(
                        n,
                        problem=Problem(
                            "ENTRY_FIELD_INVALID",
                            "Malformed entry",
                            f"{col} differs from row {first_row} of the same entry",
                            f"/{col}",
                        ),
                        raw=raw,
                    )
                    return
        try:
            yield EntryRow(first_row, entry=parse_entry(obj), raw=raw)
        except EntryError as exc:
            pointer = exc.problem.pointer
            row = first_row
            m = re.match(r"^/lines/(\d+)", pointer)
            if m:
                row = group[int(m.group(1))][0]
            yield EntryRow(row, problem=exc.problem, raw=raw)

    for n, r in enumerate(reader, start=2):  # row 1 is the header
        if None in r:  # more cells than columns
            yield from flush()
            group = []
            yield EntryRow(n, problem=Problem("ENTRY_CSV_ROW", "Malformed entry", "the row has too many cells"))
            continue
        if group and (r.get("entry_number") or "") != (group[0][1].get("entry_number") or ""):
            yield from flush()
            group = []
        group.append((n, r))
    yield from flush()


def _subject(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    s = doc.get("credentialSubject")
    if isinstance(s, list):
        s = s[0] if s else {}
    return s if isinstance(s, Mapping) else {}


def _id_of(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def _types(doc: Mapping[str, Any]) -> tuple[str, ...]:
    t = doc.get("type")
    if isinstance(t, str):
        return (t,)
    return tuple(x for x in t if isinstance(x, str)) if isinstance(t, list) else ()


def related_invoice(doc: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The (id, digestMultibase) of the invoice an entry credential references through ``relatedResource``."""
    rel = doc.get("relatedResource")
    items = rel if isinstance(rel, list) else [rel] if isinstance(rel, Mapping) else []
    for item in items:
        if isinstance(item, Mapping) and isinstance(item.get("id"), str):
            digest = item.get("digestMultibase")
            return str(item["id"]), str(digest) if isinstance(digest, str) else None
    return None, None


def entry_from_credential(doc: Mapping[str, Any], invoice: Mapping[str, Any] | None = None) -> Entry:
    """An entry from a ``CBP3461EntryCredential`` (or an ``EntryNumberCredential`` plus its invoice).

    Line GTINs come from the line's ``product.gtin`` when present, else from the referenced invoice's
    ``itemsShipped`` at the same position (the entry form carries HTS codes, the invoice the GTINs; docs/jobs.md).
    Raises :class:`EntryError` when a line's GTIN cannot be determined.
    """
    subject = _subject(doc)
    number = subject.get("entryNumber")
    if not isinstance(number, str) or not number:
        raise EntryError("ENTRY_FIELD_MISSING", "the entry credential has no entryNumber", "/credentialSubject")
    ior = subject.get("importerOfRecord")
    importer_number = str(ior["number"]) if isinstance(ior, Mapping) and ior.get("number") else None
    importer_did = _id_of(subject.get("importer"))
    invoice_id, invoice_digest = related_invoice(doc)
    date_raw = subject.get("arrivalDate") or doc.get("validFrom")
    date = _parse_instant(date_raw, "/credentialSubject/arrivalDate")
    items = _subject(invoice).get("itemsShipped") if invoice is not None else None
    items = items if isinstance(items, list) else []
    raw_lines = subject.get("lineItems")
    if not isinstance(raw_lines, list) or not raw_lines:
        # An EntryNumberCredential carries no lines: the entry declares the invoice's lines.
        raw_lines = [{"itemCount": it.get("itemCount")} for it in items if isinstance(it, Mapping)]
    lines = []
    for i, raw in enumerate(raw_lines):
        ptr = f"/credentialSubject/lineItems/{i}"
        gtin_raw = None
        if isinstance(raw, Mapping) and isinstance(raw.get("product"), Mapping):
            gtin_raw = raw["product"].get("gtin")
        if gtin_raw is None and i < len(items) and isinstance(items[i], Mapping):
            product = items[i].get("product")
            gtin_raw = product.get("gtin") if isinstance(product, Mapping) else None
        if gtin_raw is None:
            raise EntryError("ENTRY_GTIN_UNKNOWN", "the line names no GTIN and no invoice line gives one", ptr)
        qty = raw.get("itemCount") if isinstance(raw, Mapping) else None
        lines.append(EntryLine(i + 1, normalize_gtin(gtin_raw), _quantity(qty, ptr + "/itemCount")))
    if not lines:
        raise EntryError("ENTRY_FIELD_MISSING", "the entry has no lines", "/credentialSubject/lineItems")
    invoice_number = _subject(invoice).get("invoiceNumber") if invoice is not None else None
    return Entry(
        entry_number=number,
        entry_date=date,
        lines=tuple(lines),
        importer_number=importer_number,
        importer_did=importer_did,
        invoice_number=str(invoice_number) if isinstance(invoice_number, str) else None,
        invoice_id=invoice_id,
        invoice_digest=invoice_digest,
        credential_id=str(doc["id"]) if isinstance(doc.get("id"), str) else None,
    )


def digest_multibase(doc: Mapping[str, Any]) -> str:
    """``u`` + base64url(0x12 0x20 ‖ SHA-256(RFC 8785 JSON of ``doc``)): the ``relatedResource`` digest form."""
    import base64

    digest = hashlib.sha256(rfc8785.dumps(dict(doc))).digest()
    return "u" + base64.urlsafe_b64encode(b"\x12\x20" + digest).rstrip(b"=").decode("ascii")


# ---------------------------------------------------------------------------------------------------------------
# Credential index


def credential_identifiers(doc: Mapping[str, Any]) -> set[tuple[str, str]]:
    """Every (scheme, value) a credential can be found by: GTIN, GS1 prefix, recordation number, licence id,
    DIDs, importer number, entry number, invoice number, heat number, extended credential."""
    out: set[tuple[str, str]] = set()
    types = _types(doc)
    subject = _subject(doc)

    def add(scheme: str, value: Any) -> None:
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            out.add((scheme, str(value).strip()))

    def gtin(value: Any) -> None:
        with contextlib.suppress(EntryError):
            add("gtin", normalize_gtin(value))

    iss = doc.get("issuer")
    add("did", _id_of(iss))
    for key in ("id", "intellectualPropertyRightsOwner", "licensee", "licensor", "seller", "buyer", "importer"):
        v = _id_of(subject.get(key))
        if v and v.startswith("did:"):
            add("did", v)
    if GS1_KEY in types:
        gtin(subject.get("licenseValue"))
        add("gln", subject.get("partyGLN"))
    if GS1_PREFIX in types:
        add("gs1-prefix", subject.get("licenseValue"))
        add("gs1-prefix", subject.get("alternativeLicenseValue"))
        add("gln", subject.get("partyGLN"))
    if IPR in types or LICENCE in types:
        product = subject.get("intellectualPropertyRightsProduct")
        if isinstance(product, Mapping):
            gtin(product.get("gtin"))
        add("recordation-number", subject.get("recordationNumber"))
    if LICENCE in types:
        for p in subject.get("licensedProducts") or []:
            if isinstance(p, Mapping):
                gtin(p.get("gtin"))
        add("licence-id", subject.get("licenseId"))
        add("extends", subject.get("extendsCredential"))
    if INVOICE in types:
        add("invoice-number", subject.get("invoiceNumber"))
    if any(t in types for t in ENTRY_TYPES):
        add("entry-number", subject.get("entryNumber"))
        ior = subject.get("importerOfRecord")
        if isinstance(ior, Mapping):
            add("importer-of-record", ior.get("number"))
        rel, _ = related_invoice(doc)
        add("related", rel)
    if "MillTestReportCredential" in types:
        for insp in subject.get("inspections") or []:
            if isinstance(insp, Mapping):
                add("heat-number", insp.get("heatNumber"))
    return out


# ---------------------------------------------------------------------------------------------------------------
# Credential views and the graph


@dataclass(frozen=True, slots=True)
class EvidenceRef:
    """One ledger evidence item of a credential, as seen by the pipeline."""

    ledger_id: str
    locator: str
    ledger_height: int
    ledger_time: datetime
    ledger_kind: str = ""

    @property
    def id(self) -> str:
        """``<ledger id>/<locator>``: how verdicts name evidence."""
        return f"{self.ledger_id}/{self.locator}"

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "id": self.id,
            "ledgerId": self.ledger_id,
            "ledgerKind": self.ledger_kind,
            "locator": self.locator,
            "ledgerHeight": self.ledger_height,
            "ledgerTime": _ts(self.ledger_time),
        }


@dataclass(frozen=True)
class CredentialView:
    """What linking needs of one credential after the per-credential pipeline.

    ``status`` is the pipeline's overall status; for a credential that is not verified, ``failure`` is the link
    reason code (``PROOF_INVALID``, ``EVIDENCE_INVALID``, ``CREDENTIAL_REVOKED``, ``EVIDENCE_UNANCHORED``, …) and
    ``problems`` the pipeline's problem codes. ``effective_issuer`` is the party bound to the native signer (or to
    the issuer DID when the credential carries no ledger evidence), ``None`` when none is registered.
    """

    id: str
    types: tuple[str, ...]
    issuer: str | None
    effective_issuer: str | None
    status: OverallStatus
    document: Mapping[str, Any] = field(repr=False)
    evidence: tuple[EvidenceRef, ...] = ()
    failure: str | None = None
    failure_detail: str = ""
    problems: tuple[str, ...] = ()
    revoked: bool = False
    evidence_status: str = "none"

    @property
    def subject(self) -> Mapping[str, Any]:
        """The (first) credential subject."""
        return _subject(self.document)

    @property
    def ledger_time(self) -> datetime | None:
        """The earliest ledger time of its evidence (when it was recorded), ``None`` without evidence."""
        return min((e.ledger_time for e in self.evidence), default=None)

    def valid_window(self) -> tuple[datetime | None, datetime | None]:
        """``validFrom`` / ``validUntil`` (VC 2.0 §4.9) as datetimes (``None`` when absent or unparsable)."""
        return _dt(self.document.get("validFrom")), _dt(self.document.get("validUntil"))

    def to_json(self) -> dict[str, Any]:
        """Summary for reports (not the credential)."""
        out: dict[str, Any] = {
            "id": self.id,
            "types": [t for t in self.types if t != "VerifiableCredential"],
            "issuer": self.issuer,
            "effectiveIssuer": self.effective_issuer,
            "status": self.status,
            "evidenceStatus": self.evidence_status,
            "evidence": [e.to_json() for e in self.evidence],
        }
        if self.failure:
            out["failure"] = self.failure
            out["failureDetail"] = self.failure_detail
        if self.problems:
            out["problems"] = list(self.problems)
        return out


def _dt(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t.astimezone(UTC) if t.tzinfo else None


@dataclass(frozen=True)
class CredentialGraph:
    """Credential views indexed by the identifiers they carry. Build with :meth:`of`."""

    views: Mapping[str, CredentialView]
    index: Mapping[tuple[str, str], tuple[str, ...]]

    @classmethod
    def of(cls, views: Iterable[CredentialView]) -> CredentialGraph:
        """Index ``views`` by :func:`credential_identifiers`."""
        by_id = {v.id: v for v in views}
        index: dict[tuple[str, str], list[str]] = {}
        for v in by_id.values():
            for key in credential_identifiers(v.document):
                index.setdefault(key, []).append(v.id)
        return cls(by_id, {k: tuple(sorted(ids)) for k, ids in index.items()})

    def find(self, scheme: str, value: str | None) -> list[CredentialView]:
        """Views carrying identifier ``scheme``/``value``, in id order."""
        if value is None:
            return []
        return [self.views[i] for i in self.index.get((scheme, value), ())]

    def get(self, credential_id: str | None) -> CredentialView | None:
        """The view with this credential id."""
        return self.views.get(credential_id) if credential_id else None


def lookup_keys(entry: Entry) -> set[tuple[str, str]]:
    """The identifiers whose credentials a verdict on ``entry`` may need (the first round of a graph load)."""
    keys: set[tuple[str, str]] = set()
    for ln in entry.lines:
        keys.add(("gtin", ln.gtin))
        keys.update(("gs1-prefix", p) for p in gtin_prefixes(ln.gtin))
    if entry.invoice_number:
        keys.add(("invoice-number", entry.invoice_number))
    return keys


def follow_keys(views: Iterable[CredentialView]) -> set[tuple[str, str]]:
    """Identifiers referenced by loaded views that the verdict may also need (IPR credentials of licences)."""
    keys: set[tuple[str, str]] = set()
    for v in views:
        if LICENCE in v.types:
            r = v.subject.get("recordationNumber")
            if isinstance(r, str):
                keys.add(("recordation-number", r))
    return keys


# ---------------------------------------------------------------------------------------------------------------
# Verdicts


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a line's chain: status, reason code, the clause/rule that decided it, and what backs it."""

    name: str
    status: StepStatus
    code: str
    clause: str
    detail: str = ""
    credentials: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    ledger_heights: Mapping[str, int] = field(default_factory=dict)
    #: The workflow rule that failed (empty when the step passed or a credential-level failure decided).
    rule: str = ""
    #: How long the step took (µs); measured, reported, never part of a verdict.
    duration_us: int = field(default=0, compare=False)

    def to_json(self) -> dict[str, Any]:
        """JSON form."""
        out = {
            "step": self.name,
            "status": self.status,
            "code": self.code,
            "clause": self.clause,
            "detail": self.detail,
            "credentials": list(self.credentials),
            "evidence": list(self.evidence),
            "ledgerHeights": dict(self.ledger_heights),
            "durationUs": self.duration_us,
        }
        if self.rule:
            out["rule"] = self.rule
        return out


@dataclass(frozen=True, slots=True)
class Reason:
    """A reason behind a verdict: code, kind (``pass``/``fail``/``error``), the step and the deciding clause."""

    code: str
    kind: ReasonKind
    step: str
    clause: str
    detail: str = ""

    def to_json(self) -> dict[str, str]:
        """JSON form."""
        return {"code": self.code, "kind": self.kind, "step": self.step, "clause": self.clause, "detail": self.detail}


@dataclass(frozen=True)
class LineVerdict:
    """The verdict on one entry line with its reasons and the chain of steps behind it."""

    line: int
    gtin: str
    quantity: int | float
    verdict: Verdict
    reasons: tuple[Reason, ...]
    steps: tuple[Step, ...]

    @property
    def clause(self) -> str:
        """The clause or rule that decided the verdict."""
        return self.reasons[0].clause if self.reasons else RULE_CHAIN

    @property
    def credentials(self) -> tuple[str, ...]:
        """Every credential id behind the steps, in step order, without repeats."""
        return tuple(dict.fromkeys(c for s in self.steps for c in s.credentials))

    @property
    def evidence(self) -> tuple[str, ...]:
        """Every evidence id behind the steps, in step order, without repeats."""
        return tuple(dict.fromkeys(e for s in self.steps for e in s.evidence))

    @property
    def ledger_heights(self) -> dict[str, int]:
        """Highest ledger height seen per ledger id over all steps."""
        out: dict[str, int] = {}
        for s in self.steps:
            for k, h in s.ledger_heights.items():
                out[k] = max(out.get(k, h), h)
        return out

    def to_json(self) -> dict[str, Any]:
        """JSON form (a ``VerificationReport`` line plus the chain)."""
        return {
            "line": self.line,
            "gtin": self.gtin,
            "quantity": self.quantity,
            "verdict": self.verdict,
            "reasons": [r.code for r in self.reasons],
            "clause": self.clause,
            "credentials": list(self.credentials),
            "evidence": list(self.evidence),
            "ledgerHeights": self.ledger_heights,
            "reasonDetails": [r.to_json() for r in self.reasons],
            "steps": [s.to_json() for s in self.steps],
        }


@dataclass(frozen=True)
class EntryVerdict:
    """The verdict on one entry: its lines, the credentials seen, the policy and instants it was judged under."""

    entry_key: str
    entry_number: str
    verdict: Verdict
    lines: tuple[LineVerdict, ...]
    policy: str
    policy_digest: str
    effective_at: datetime
    checked_at: datetime
    credentials: tuple[CredentialView, ...] = ()
    #: The workflow that decided (name, version, ``sha256:`` digest of its document; docs/workflows.md).
    workflow: str | None = None
    workflow_version: str | None = None
    workflow_digest: str | None = None

    @property
    def reasons(self) -> tuple[str, ...]:
        """Distinct reason codes over the lines, in line order."""
        return tuple(dict.fromkeys(r.code for ln in self.lines for r in ln.reasons))

    @property
    def ledger_heights(self) -> dict[str, int]:
        """Highest ledger height seen per ledger id over all lines."""
        out: dict[str, int] = {}
        for ln in self.lines:
            for k, h in ln.ledger_heights.items():
                out[k] = max(out.get(k, h), h)
        return out

    def to_json(self) -> dict[str, Any]:
        """JSON form: what jobs store and reports render."""
        return {
            "entryKey": self.entry_key,
            "entryNumber": self.entry_number,
            "verdict": self.verdict,
            "reasons": list(self.reasons),
            "policy": self.policy,
            "policyDigest": self.policy_digest,
            "effectiveAt": _ts(self.effective_at),
            "checkedAt": _ts(self.checked_at),
            "ledgerHeights": self.ledger_heights,
            **(
                {"workflow": {"name": self.workflow, "version": self.workflow_version, "digest": self.workflow_digest}}
                if self.workflow
                else {}
            ),
            "lines": [ln.to_json() for ln in self.lines],
            "credentials": [c.to_json() for c in self.credentials],
        }


#: Units other entries claimed from each (invoice number, GTIN), by claiming importer (its importer-of-record number,
#: or DID; ``None`` for claims recorded without one).
PriorClaims = Mapping[tuple[str, str], Mapping[str | None, int]]


def prior_claims(entry: Entry, claims: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], dict[str | None, int]]:
    """Units claimed from each (invoice number, GTIN) by *other* entries ordered before ``entry``, by importer.

    Entries are ordered by entry date, then entry number; claims are rows as :meth:`Entry.claims` makes them.
    :func:`decide_entry` counts only the claims whose importer is the invoice's buyer.
    """
    return ClaimBook(claims).prior(entry)


class ClaimBook:
    """Invoice claims indexed for :meth:`prior` in logarithmic time (a job may put thousands on one invoice)."""

    def __init__(self, claims: Iterable[Mapping[str, Any]]) -> None:
        by_key: dict[tuple[str, str, str | None], list[tuple[str, str, int]]] = {}
        for c in claims:
            importer = c.get("importer")
            by_key.setdefault((c["invoice_number"], c["gtin"], importer), []).append(
                (str(c["entry_date"]), str(c["entry_number"]), int(c["quantity"]))
            )
        self._order: dict[tuple[str, str, str | None], list[tuple[str, str]]] = {}
        self._sums: dict[tuple[str, str, str | None], list[int]] = {}
        for key, rows in by_key.items():
            rows.sort()
            total, sums = 0, [0]
            for _date, _number, qty in rows:
                total += qty
                sums.append(total)
            self._order[key] = [(d, n) for d, n, _ in rows]
            self._sums[key] = sums

    def prior(self, entry: Entry) -> dict[tuple[str, str], dict[str | None, int]]:
        """Units claimed from each (invoice, GTIN) by other entries before ``entry``, by claiming importer."""
        mine = (_ts(entry.entry_date), entry.entry_number)
        out: dict[tuple[str, str], dict[str | None, int]] = {}
        for key, order in self._order.items():
            if entry.invoice_number is not None and key[0] != entry.invoice_number:
                continue
            i = bisect.bisect_left(order, mine)
            # Claims of the same entry number sort at its own position; they are never "before" it.
            value = self._sums[key][i]
            if value:
                out.setdefault((key[0], key[1]), {})[key[2]] = value
        return out


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    """``not_authorized`` if any, else ``undetermined`` if any, else ``authorized`` (an empty list is
    ``undetermined``)."""
    vs = list(verdicts)
    if not vs:
        return "undetermined"
    if "not_authorized" in vs:
        return "not_authorized"
    if "undetermined" in vs:
        return "undetermined"
    return "authorized"


# A semantic check of one candidate: (code, clause, detail) when it fails.
Failure = tuple[str, str, str]
Predicate = Callable[[CredentialView], Failure | None]


def _refs(views: Iterable[CredentialView]) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, int]]:
    ids: list[str] = []
    ev: list[str] = []
    heights: dict[str, int] = {}
    for v in views:
        ids.append(v.id)
        for e in v.evidence:
            ev.append(e.id)
            heights[e.ledger_id] = max(heights.get(e.ledger_id, e.ledger_height), e.ledger_height)
    return tuple(dict.fromkeys(ids)), tuple(dict.fromkeys(ev)), heights


def _order(v: CredentialView) -> tuple[str, str]:
    # Prefer the most recently recorded credential, then the id: deterministic whatever the store order.
    t = v.ledger_time
    return ("" if t is None else _ts(t)), v.id


def _choose(
    name: str,
    candidates: Sequence[CredentialView],
    predicates: Sequence[Predicate],
    *,
    missing: Failure,
) -> tuple[Step, CredentialView | None]:
    """Pick the candidate that satisfies every predicate and is verified.

    When none does: a candidate whose content would satisfy but that is ``error`` makes the step ``error`` (it
    might be the good one); else one whose content would satisfy but that is ``invalid`` decides with its
    credential failure (forged proof, tampered evidence, revoked); else the verified candidate closest to passing
    decides with its first semantic failure.
    """
    ordered = sorted(candidates, key=_order, reverse=True)
    if not ordered:
        code, clause, detail = missing
        return Step(name, "failed", code, clause, detail), None
    failures = {v.id: [f for p in predicates if (f := p(v)) is not None] for v in ordered}
    for v in ordered:
        if v.status == "verified" and not failures[v.id]:
            ids, ev, hs = _refs([v])
            return Step(name, "passed", "OK", RULE_CREDENTIAL, "", ids, ev, hs), v
    for wanted in ("error", "invalid"):
        for v in ordered:
            if v.status == wanted and not failures[v.id]:
                ids, ev, hs = _refs([v])
                code = v.failure or ("CREDENTIAL_UNDECIDED" if wanted == "error" else "CREDENTIAL_INVALID")
                status: StepStatus = "error" if code in ERROR_CODES else "failed"
                clause = _failure_clause(v)
                return Step(name, status, code, clause, v.failure_detail, ids, ev, hs), v
    best = min(
        (v for v in ordered if v.status == "verified"),
        key=lambda v: len(failures[v.id]),
        default=None,
    )
    if best is None:
        best = min(ordered, key=lambda v: len(failures[v.id]))
        if best.status != "verified" and best.failure:
            ids, ev, hs = _refs([best])
            st: StepStatus = "error" if best.failure in ERROR_CODES else "failed"
            return Step(name, st, best.failure, _failure_clause(best), best.failure_detail, ids, ev, hs), best
    code, clause, detail = failures[best.id][0]
    ids, ev, hs = _refs([best])
    return Step(name, "failed", code, clause, detail, ids, ev, hs), None


def _failure_clause(v: CredentialView) -> str:
    # The clause behind a credential-level failure: the trust clause for anchor/permission problems, else the rule
    # that every credential in the chain must verify.
    if v.failure in ("EVIDENCE_UNANCHORED",):
        return "trust.anchors"
    if v.failure in ("LEDGER_STALE", "LEDGER_UNREACHABLE"):
        return "trust.freshness.revocation"
    if v.failure in ("STATUS_UNDECIDED",):
        return "trust.freshness.status"
    if v.failure in ("ISSUER_NOT_PERMITTED",):
        return "trust.issuer_permissions"
    if v.failure in ("EVIDENCE_KIND_NOT_ACCEPTED",):
        return "trust.required_evidence"
    if v.failure in ("WITNESS_NOT_ACCEPTED",):
        return "trust.witness_mode"
    return RULE_CREDENTIAL


@dataclass(frozen=True)
class _Parties:
    registry: PartyRegistry

    def of_did(self, did: str | None) -> str | None:
        # A registered party's id; an unregistered DID stands for itself (compared by equality only).
        if not did:
            return None
        p = self.registry.party_for_did(did)
        return p.id if p else did.split("#", 1)[0]

    def claimant_is(self, importer: str | None, buyer: str | None) -> bool:
        """Whether a claim by ``importer`` (importer-of-record number or DID) counts against ``buyer``'s invoice.

        A claim recorded without an importer counts (the conservative reading of claims stored before jobs_0002).
        """
        if importer is None:
            return True
        party = (
            self.of_did(importer) if importer.startswith("did:") else self.of_identifier("importer-of-record", importer)
        )
        return party is not None and party == buyer

    def of_identifier(self, scheme: str, value: str | None) -> str | None:
        p = self.registry.party_for_identifier(scheme, value)
        return p.id if p else None


def _valid_at(view: CredentialView, at: datetime, what: str, rule: str) -> Failure | None:
    start, end = view.valid_window()
    recorded = view.ledger_time
    if recorded is not None and recorded > at:
        # Judged by ledger time: a record written after the entry date cannot have authorized it (no backdating).
        return (
            f"{what}_NOT_YET_VALID",
            rule,
            f"recorded on the ledger at {_ts(recorded)}, after the entry date {_ts(at)}",
        )
    if start is not None and at < start:
        return f"{what}_NOT_YET_VALID", rule, f"valid from {_ts(start)}, after the entry date {_ts(at)}"
    if end is not None and at >= end:
        return f"{what}_EXPIRED", rule, f"valid until {_ts(end)}, before the entry date {_ts(at)}"
    return None


def _licence_term(view: CredentialView, at: datetime) -> Failure | None:
    term = view.subject.get("licenseTerm")
    if not isinstance(term, Mapping):
        return None
    start, end = _dt(term.get("termStart")), _dt(term.get("termEnd"))
    if start is not None and at < start:
        return "LICENCE_NOT_YET_VALID", RULE_LICENCE_VALID, f"licence term starts {_ts(start)}"
    if end is not None and at >= end:
        return "LICENCE_EXPIRED", RULE_LICENCE_VALID, f"licence term ended {_ts(end)}"
    return None


def _gtins_of_licence(view: CredentialView) -> set[str]:
    out: set[str] = set()
    s = view.subject
    products = list(s.get("licensedProducts") or [])
    if isinstance(s.get("intellectualPropertyRightsProduct"), Mapping):
        products.append(s["intellectualPropertyRightsProduct"])
    for p in products:
        if isinstance(p, Mapping):
            try:
                out.add(normalize_gtin(p.get("gtin")))
            except EntryError:
                continue
    return out


def _invoice_count(view: CredentialView, gtin: str) -> int:
    total = 0
    for item in view.subject.get("itemsShipped") or []:
        if not isinstance(item, Mapping) or not isinstance(item.get("product"), Mapping):
            continue
        try:
            if normalize_gtin(item["product"].get("gtin")) != gtin:
                continue
        except EntryError:
            continue
        count = item.get("itemCount")
        if isinstance(count, int) and not isinstance(count, bool):
            total += count
    return total


def decide_entry(
    entry: Entry,
    graph: CredentialGraph,
    parties: PartyRegistry,
    trust: TrustPolicy,
    *,
    checked_at: datetime,
    prior_claims: PriorClaims | None = None,
) -> EntryVerdict:
    """The verdict on ``entry``. Pure: everything it needs is an argument.

    ``prior_claims`` maps (invoice number, GTIN) to the units other entries claimed from that invoice before this
    one (ordered by entry date, then entry number; docs/jobs.md), by claiming importer: an invoice never covers more
    units than it lists, and only claims by its buyer count (an entry whose importer is not the buyer is refused at
    the invoice step and consumes nothing).
    """
    at = entry.entry_date
    ps = _Parties(parties)
    claims = {key: dict(by_importer) for key, by_importer in (prior_claims or {}).items()}

    # Entry-level steps shared by every line.
    shared: list[Step] = []
    if entry.credential_id is not None:
        ev = graph.get(entry.credential_id)
        if ev is None:
            shared.append(Step("entry", "error", "CREDENTIAL_UNDECIDED", RULE_ENTRY, "entry credential not loaded"))
        else:
            step, _ = _choose("entry", [ev], [], missing=("ENTRY_MISSING", RULE_ENTRY, ""))
            shared.append(step)
    importer = ps.of_identifier("importer-of-record", entry.importer_number) if entry.importer_number else None
    if entry.importer_number is not None and importer is None:
        shared.append(
            Step(
                "importer",
                "failed",
                "IMPORTER_UNKNOWN",
                RULE_IMPORTER,
                f"no registered party has importer-of-record number {entry.importer_number}",
            )
        )
    elif entry.importer_did is not None and importer is not None and ps.of_did(entry.importer_did) != importer:
        shared.append(
            Step(
                "importer",
                "failed",
                "IMPORTER_MISMATCH",
                RULE_IMPORTER,
                f"importer {entry.importer_did} is not the holder of importer number {entry.importer_number}",
            )
        )
    else:
        if importer is None:
            importer = ps.of_did(entry.importer_did)
        shared.append(Step("importer", "passed", "OK", RULE_IMPORTER, f"party {importer}"))

    invoice_candidates: list[CredentialView] = []
    if entry.invoice_id is not None and graph.get(entry.invoice_id) is not None:
        invoice_candidates = [graph.views[entry.invoice_id]]
    elif entry.invoice_number is not None:
        invoice_candidates = [v for v in graph.find("invoice-number", entry.invoice_number) if INVOICE in v.types]

    lines = [
        _decide_line(ln, entry, graph, ps, trust, at, importer, invoice_candidates, shared, claims)
        for ln in entry.lines
    ]
    used_ids = {c for ln in lines for c in ln.credentials}
    used = {c: graph.views[c] for c in used_ids if c in graph.views}
    return EntryVerdict(
        entry_key=entry.key,
        entry_number=entry.entry_number,
        verdict=combine(ln.verdict for ln in lines),
        lines=tuple(lines),
        policy=trust.policy_name,
        policy_digest=trust.policy_digest,
        effective_at=at,
        checked_at=checked_at,
        credentials=tuple(used[k] for k in sorted(used)),
    )


def _decide_line(
    line: EntryLine,
    entry: Entry,
    graph: CredentialGraph,
    ps: _Parties,
    trust: TrustPolicy,
    at: datetime,
    importer: str | None,
    invoice_candidates: list[CredentialView],
    shared: list[Step],
    claims: dict[tuple[str, str], dict[str | None, int]],
) -> LineVerdict:
    steps = list(shared)
    gtin = line.gtin

    # 1. GTIN -> brand owner, from a GS1 licence issued by a root of authority for GTIN ownership.
    gs1 = [v for v in graph.find("gtin", gtin) if GS1_KEY in v.types]
    gs1 += [v for p in gtin_prefixes(gtin) for v in graph.find("gs1-prefix", p) if GS1_PREFIX in v.types]

    def gs1_root(v: CredentialView) -> Failure | None:
        if trust.is_gtin_authority(v.effective_issuer, v.issuer):
            return None
        return (
            "GTIN_OWNER_NOT_AUTHORITATIVE",
            CLAUSE_GTIN_ROOTS,
            f"{v.effective_issuer or v.issuer} is not a root of authority for GTIN ownership",
        )

    step, gs1_view = _choose(
        "gtin_owner",
        gs1,
        [gs1_root, lambda v: _valid_at(v, at, "GTIN_LICENCE", RULE_VALID)],
        missing=("GTIN_UNKNOWN", CLAUSE_GTIN_ROOTS, f"no GS1 licence covers GTIN {gtin}"),
    )
    brand_owner = ps.of_did(_id_of(gs1_view.subject.get("id"))) if gs1_view and step.status == "passed" else None
    steps.append(step)

    # 2. IPR credential for the product from a root of authority for IPR ownership.
    iprs = {v.id: v for v in graph.find("gtin", gtin) if IPR in v.types}

    def ipr_root(v: CredentialView) -> Failure | None:
        if trust.is_ipr_authority(v.effective_issuer, v.issuer):
            return None
        return (
            "IPR_OWNER_NOT_AUTHORITATIVE",
            CLAUSE_IPR_ROOTS,
            f"ownership is self-declared by {v.effective_issuer or v.issuer}, not backed by a root of authority",
        )

    def ipr_owner_is_brand_owner(v: CredentialView) -> Failure | None:
        owner = ps.of_did(_id_of(v.subject.get("intellectualPropertyRightsOwner")))
        if brand_owner is None or owner == brand_owner:
            return None
        return "IPR_OWNER_NOT_BRAND_OWNER", RULE_IPR_OWNER, f"IPR owner {owner} is not the brand owner {brand_owner}"

    step, ipr_view = _choose(
        "ipr",
        list(iprs.values()),
        [ipr_root, ipr_owner_is_brand_owner, lambda v: _valid_at(v, at, "IPR", RULE_VALID)],
        missing=("IPR_UNKNOWN", CLAUSE_IPR_ROOTS, f"no IPR credential covers GTIN {gtin}"),
    )
    ipr_ok = ipr_view is not None and step.status == "passed"
    ipr_owner = (
        ps.of_did(_id_of(ipr_view.subject.get("intellectualPropertyRightsOwner"))) if ipr_ok and ipr_view else None
    )
    recordation = ipr_view.subject.get("recordationNumber") if ipr_ok and ipr_view else None
    ipr_ids = (
        {v.id for v in graph.find("recordation-number", recordation) if IPR in v.types}
        if isinstance(recordation, str)
        else set()
    )
    if ipr_view is not None and ipr_ok:
        ipr_ids.add(ipr_view.id)
    steps.append(step)

    # Manufacturer: the line's manufacturer id, else the invoice's seller (the entry form may not name it).
    manufacturer: str | None = None
    if line.manufacturer_id is not None:
        manufacturer = ps.of_identifier("manufacturer-id", line.manufacturer_id)
        if manufacturer is None:
            steps.append(
                Step(
                    "manufacturer",
                    "failed",
                    "MANUFACTURER_UNKNOWN",
                    RULE_MANUFACTURER,
                    f"no registered party has manufacturer id {line.manufacturer_id}",
                )
            )
    else:
        sellers = {ps.of_did(_id_of(v.subject.get("seller"))) for v in invoice_candidates if v.status == "verified"}
        manufacturer = next(iter(sellers)) if len(sellers) == 1 else None

    # 3. The licence: licensor = IPR owner (and issued by it), for this IPR, product, territory, licensee =
    # manufacturer, valid at the entry date by ledger time, not revoked.
    licences = [v for v in graph.find("gtin", gtin) if LICENCE in v.types and gtin in _gtins_of_licence(v)]

    def licensor(v: CredentialView) -> Failure | None:
        who = ps.of_did(_id_of(v.subject.get("licensor")))
        if ipr_owner is None or who == ipr_owner:
            return None
        return "LICENSOR_NOT_IPR_OWNER", RULE_LICENSOR, f"licensor {who} is not the IPR owner {ipr_owner}"

    def licence_issuer(v: CredentialView) -> Failure | None:
        if ipr_owner is None or v.effective_issuer == ipr_owner:
            return None
        return (
            "LICENCE_NOT_ISSUED_BY_OWNER",
            RULE_LICENCE_ISSUER,
            f"issued by {v.effective_issuer or v.issuer}, not by the IPR owner {ipr_owner}",
        )

    def licence_ipr(v: CredentialView) -> Failure | None:
        if not ipr_ok:
            return None
        ext = v.subject.get("extendsCredential")
        if (isinstance(ext, str) and ext in ipr_ids) or v.subject.get("recordationNumber") == recordation:
            return None
        return "LICENCE_NOT_FOR_IPR", RULE_LICENCE_IPR, f"the licence does not extend the IPR {recordation}"

    def territory(v: CredentialView) -> Failure | None:
        terr = v.subject.get("licenseTerritory")
        if terr is None or (isinstance(terr, list) and trust.territory in terr) or terr == trust.territory:
            return None
        return "TERRITORY_NOT_LICENSED", CLAUSE_TERRITORY, f"the licence does not cover {trust.territory}"

    def licensee(v: CredentialView) -> Failure | None:
        who = ps.of_did(_id_of(v.subject.get("licensee")))
        if manufacturer is None or who == manufacturer:
            return None
        return "LICENSEE_NOT_MANUFACTURER", RULE_LICENSEE, f"licensee {who} is not the manufacturer {manufacturer}"

    step, licence_view = _choose(
        "licence",
        licences,
        [
            licensor,
            licence_issuer,
            licence_ipr,
            territory,
            licensee,
            lambda v: _valid_at(v, at, "LICENCE", RULE_LICENCE_VALID),
            lambda v: _licence_term(v, at),
        ],
        missing=("LICENCE_MISSING", RULE_LICENSEE, f"no licence covers GTIN {gtin}"),
    )
    if step.code == "CREDENTIAL_REVOKED":
        step = replace(step, code="LICENCE_REVOKED")
    licence_ok = licence_view is not None and step.status == "passed"
    licensee_party = ps.of_did(_id_of(licence_view.subject.get("licensee"))) if licence_ok and licence_view else None
    steps.append(step)

    # 4. The invoice: issued by the seller (effective issuer), seller = licensee, buyer = importer, lists the GTIN.
    def invoice_issuer(v: CredentialView) -> Failure | None:
        seller = ps.of_did(_id_of(v.subject.get("seller")))
        if v.effective_issuer == seller:
            return None
        return "INVOICE_NOT_ISSUED_BY_SELLER", RULE_INVOICE_ISSUER, f"issued by {v.effective_issuer}, seller {seller}"

    def seller_is_licensee(v: CredentialView) -> Failure | None:
        seller = ps.of_did(_id_of(v.subject.get("seller")))
        if licensee_party is None or seller == licensee_party:
            return None
        return "INVOICE_SELLER_NOT_LICENSEE", RULE_SELLER, f"seller {seller} is not the licensee {licensee_party}"

    def buyer_is_importer(v: CredentialView) -> Failure | None:
        buyer = ps.of_did(_id_of(v.subject.get("buyer")))
        if importer is None or buyer == importer:
            return None
        return "IMPORTER_MISMATCH", RULE_BUYER, f"invoice buyer {buyer} is not the importer of record {importer}"

    def lists_gtin(v: CredentialView) -> Failure | None:
        if _invoice_count(v, gtin) > 0:
            return None
        return "GTIN_NOT_ON_INVOICE", RULE_INVOICE_GTIN, f"the invoice does not list GTIN {gtin}"

    def digest_matches(v: CredentialView) -> Failure | None:
        if entry.invoice_digest is None or digest_multibase(v.document) == entry.invoice_digest:
            return None
        return "INVOICE_DIGEST_MISMATCH", RULE_INVOICE, "the invoice differs from the one the entry references"

    step, invoice_view = _choose(
        "invoice",
        invoice_candidates,
        [digest_matches, invoice_issuer, seller_is_licensee, buyer_is_importer, lists_gtin],
        missing=("INVOICE_MISSING", RULE_INVOICE, f"no invoice {entry.invoice_number or entry.invoice_id} found"),
    )
    steps.append(step)

    # 5. Quantities: across entries an invoice never covers more units than it lists.
    if invoice_view is not None and step.status == "passed":
        number = str(invoice_view.subject.get("invoiceNumber", invoice_view.id))
        listed = _invoice_count(invoice_view, gtin)
        buyer = ps.of_did(_id_of(invoice_view.subject.get("buyer")))
        by_importer = claims.setdefault((number, gtin), {})
        before = sum(q for who, q in by_importer.items() if ps.claimant_is(who, buyer))
        mine = entry.importer_number or entry.importer_did
        by_importer[mine] = by_importer.get(mine, 0) + line.quantity
        ids, ev, hs = _refs([invoice_view])
        if before + line.quantity > listed:
            steps.append(
                Step(
                    "quantity",
                    "failed",
                    "QUANTITY_EXCEEDS_INVOICE",
                    RULE_QUANTITY,
                    f"{before} units already claimed + {line.quantity} on this line > {listed} invoiced",
                    ids,
                    ev,
                    hs,
                )
            )
        else:
            steps.append(
                Step("quantity", "passed", "OK", RULE_QUANTITY, f"{before + line.quantity} of {listed}", ids, ev, hs)
            )
    else:
        steps.append(Step("quantity", "skipped", "SKIPPED", RULE_QUANTITY, "no usable invoice"))

    failed = [s for s in steps if s.status == "failed"]
    errored = [s for s in steps if s.status == "error"]
    if failed:
        verdict: Verdict = "not_authorized"
        reasons = tuple(Reason(s.code, "fail", s.name, s.clause, s.detail) for s in failed)
        reasons += tuple(Reason(s.code, "error", s.name, s.clause, s.detail) for s in errored)
    elif errored:
        verdict = "undetermined"
        reasons = tuple(Reason(s.code, "error", s.name, s.clause, s.detail) for s in errored)
    else:
        verdict = "authorized"
        reasons = (Reason("AUTHORIZED", "pass", "chain", RULE_CHAIN, "every step of the chain holds"),)
    return LineVerdict(line.line, gtin, line.quantity, verdict, reasons, tuple(steps))
