"""Entries, the credential index and graph, and verdict records (ARCHITECTURE.md, "Linking and verdicts").

What a verdict is judged over and what it says: entry rows parsed into :class:`Entry` (JSON Lines, CSV, or an entry
credential), every identifier a credential can be found by (:func:`credential_identifiers`), the verified
:class:`CredentialView` s of a :class:`CredentialGraph`, the claim book that reconciles quantities across entries,
and the :class:`Step` / :class:`LineVerdict` / :class:`EntryVerdict` records reports render. The decisions themselves
are workflows (``gateway/workflows/``: ``ipr.yaml`` walks GTIN → GS1 → IPR → licence → invoice → importer; the engine
runs it). Verdicts: ``not_authorized`` when a step failed, else ``undetermined`` when a step could not be decided,
else ``authorized`` (:func:`combine`). Nothing here does I/O.
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import rfc8785

from vcgate.canonical_schema import InputError, OverallStatus, Problem, canonical_json

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

#: The rule a passing choice and an authorized line cite (docs/workflows.md; the rest are in the workflow files).
RULE_CHAIN = "rule:chain-complete"
RULE_CREDENTIAL = "rule:credential-verified"

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
        # canonical_json is RFC 8785 (rfc8785.dumps byte for byte, tests/proofs/test_jcs.py) with a C fast path for
        # plain JSON; the key is computed several times per verified entry
        return "sha256:" + hashlib.sha256(canonical_json(self.to_json())).hexdigest()


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
    """Every (scheme, value) a credential can be found by: its types, GTIN, GS1 prefix, recordation number, licence
    id, DIDs, importer number, entry number, invoice number, heat number, extended credential."""
    out: set[tuple[str, str]] = set()
    types = _types(doc)
    subject = _subject(doc)

    def add(scheme: str, value: Any) -> None:
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            out.add((scheme, str(value).strip()))

    def gtin(value: Any) -> None:
        with contextlib.suppress(EntryError):
            add("gtin", normalize_gtin(value))

    # Every credential is also found by its types: workflows load the credential types they name (docs/workflows.md).
    for t in types:
        if t != "VerifiableCredential":
            add("type", t)
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

    def to_json(self, *, timings: bool = False) -> dict[str, Any]:
        """JSON form; ``timings`` adds ``durationUs`` (measured, so two runs differ; verdict JSON is deterministic
        without it)."""
        out: dict[str, Any] = {
            "step": self.name,
            "status": self.status,
            "code": self.code,
            "clause": self.clause,
            "detail": self.detail,
            "credentials": list(self.credentials),
            "evidence": list(self.evidence),
            "ledgerHeights": dict(self.ledger_heights),
        }
        if self.rule:
            out["rule"] = self.rule
        if timings:
            out["durationUs"] = self.duration_us
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

    def to_json(self, *, timings: bool = False) -> dict[str, Any]:
        """JSON form (a ``VerificationReport`` line plus the chain); ``timings`` adds each step's ``durationUs``."""
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
            "steps": [s.to_json(timings=timings) for s in self.steps],
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

    def to_json(self, *, timings: bool = False) -> dict[str, Any]:
        """JSON form: what jobs store and reports render; ``timings`` adds each step's ``durationUs``."""
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
            "lines": [ln.to_json(timings=timings) for ln in self.lines],
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
