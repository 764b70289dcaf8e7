"""Entry rows for a workflow: a JSON object with ``entryNumber``, ``entryDate`` and ``lines``, plus the fields the
workflow's ``entry`` section declares (docs/workflows.md, "Entries"). Malformed rows raise
:class:`~vcgate.gateway._links.EntryError` with a stable code and a pointer, as IPR rows do."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import rfc8785

from vcgate.canonical_schema import Problem

from .._links import MAX_ROW_BYTES, MAX_ROW_DEPTH, EntryError, EntryRow, EntryVerdict
from ..verification._verify import parse_json_strictly
from ._engine import ClaimLedger, WorkflowEntry, WorkflowSession
from ._model import EntryField, Workflow


def _instant(value: Any, pointer: str) -> datetime:
    if not isinstance(value, str) or not value.strip():
        raise EntryError("ENTRY_FIELD_MISSING", "a date is required (YYYY-MM-DD or an RFC 3339 time)", pointer)
    text = value.strip()
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise EntryError("ENTRY_FIELD_INVALID", f"{text!r} is not a date or date-time", pointer) from None
    if len(text) == 10:
        # A date alone means the start of that day in UTC (docs/jobs.md, "Entries").
        return t.replace(tzinfo=UTC)
    if t.tzinfo is None:
        raise EntryError("ENTRY_FIELD_INVALID", f"{text!r} needs a timezone", pointer)
    return t.astimezone(UTC)


def _value(spec: EntryField, value: Any, pointer: str) -> Any:
    if spec.type == "string":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise EntryError("ENTRY_FIELD_INVALID", f"{spec.name} must be a non-empty text", pointer)
        return value.strip()
    if spec.type in ("int", "number"):
        if isinstance(value, bool):
            raise EntryError("ENTRY_FIELD_INVALID", f"{spec.name} must be a number", pointer)
        try:
            d = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            raise EntryError("ENTRY_FIELD_INVALID", f"{spec.name} {value!r} is not a number", pointer) from None
        # A sane domain: finite, non-negative, at most 10^15 (no 1e308 quantities).
        if not d.is_finite() or d > Decimal(10) ** 15:
            raise EntryError("ENTRY_NUMBER_OUT_OF_RANGE", f"{spec.name} must be a number up to 10^15", pointer)
        if d < 0:
            raise EntryError("ENTRY_FIELD_INVALID", f"{spec.name} {value!r} must not be negative", pointer)
        if spec.type == "int":
            if d != d.to_integral_value():
                raise EntryError("ENTRY_FIELD_INVALID", f"{spec.name} must be a whole number", pointer)
            return int(d)
        return int(d) if d == d.to_integral_value() else float(d)
    if spec.type == "timestamp":
        return _instant(value, pointer)
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
        raise EntryError("ENTRY_FIELD_INVALID", f"{spec.name} must be a list of texts or numbers", pointer)
    return list(value)


def _fields(specs: Sequence[EntryField], row: Mapping[str, Any], pointer: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in specs:
        raw = next((row[n] for n in (spec.name, *spec.aliases) if row.get(n) not in (None, "")), None)
        if raw is None:
            if spec.required:
                raise EntryError("ENTRY_FIELD_MISSING", f"{spec.name} is required", f"{pointer}/{spec.name}")
            out[spec.name] = None
            continue
        out[spec.name] = _value(spec, raw, f"{pointer}/{spec.name}")
    return out


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, float):
        return format(Decimal(str(value)).normalize(), "f")
    return value


def read_workflow_entries(workflow: Workflow, text: str) -> list[EntryRow]:
    """Entries for ``workflow`` from JSON Lines (one entry object per line); bad rows are reported, not raised."""
    out: list[EntryRow] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        value, parsed = parse_json_strictly(line, max_bytes=MAX_ROW_BYTES, max_depth=MAX_ROW_DEPTH)
        if parsed.status != "passed" and parsed.problem is not None:
            p = parsed.problem
            code = "ENTRY_TOO_DEEP" if p.code == "INPUT_TOO_DEEP" else "ENTRY_NOT_JSON"
            out.append(EntryRow(n, problem=Problem(code, "Malformed entry", p.detail), raw=line[:500]))
            continue
        try:
            entry: Any = parse_workflow_entry(workflow, value)
            out.append(EntryRow(n, entry=entry, raw=line[:500]))
        except EntryError as exc:
            out.append(EntryRow(n, problem=exc.problem, raw=line[:500]))
    return out


def parse_workflow_entry(workflow: Workflow, row: Any) -> WorkflowEntry:
    """One entry row for ``workflow``; raises :class:`EntryError`."""
    if not isinstance(row, Mapping):
        raise EntryError("ENTRY_NOT_AN_OBJECT", "an entry is a JSON object")
    number = row.get("entryNumber", row.get("entry_number"))
    if not isinstance(number, str) or not number.strip():
        raise EntryError("ENTRY_FIELD_MISSING", "entryNumber is required", "/entryNumber")
    date = _instant(row.get("entryDate", row.get("entry_date")), "/entryDate")
    fields = _fields(workflow.entry_fields, row, "")
    raw_lines = row.get("lines")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise EntryError("ENTRY_FIELD_MISSING", "lines must be a non-empty list", "/lines")
    lines = []
    for i, raw in enumerate(raw_lines):
        if not isinstance(raw, Mapping):
            raise EntryError("ENTRY_FIELD_INVALID", "a line is an object", f"/lines/{i}")
        line = _fields(workflow.line_fields, raw, f"/lines/{i}")
        n = raw.get("line", i + 1)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise EntryError("ENTRY_FIELD_INVALID", "line must be a positive integer", f"/lines/{i}/line")
        line["line"] = n
        lines.append(line)
    if len({ln["line"] for ln in lines}) != len(lines):
        raise EntryError("ENTRY_FIELD_INVALID", "line numbers must be unique", "/lines")
    fields.update({"number": number.strip(), "date": date})
    entry_json = {k: _json(v) for k, v in fields.items() if v is not None and k not in ("number", "date")}
    normal: dict[str, Any] = {
        "workflow": workflow.name,
        "entryNumber": number.strip(),
        "entryDate": _json(date),
        **entry_json,
        "lines": [{k: _json(v) for k, v in ln.items() if v is not None} for ln in lines],
    }
    # The key names the workflow version too: a changed workflow never reuses another version's stored results.
    keyed = dict(normal, digest=workflow.digest)
    key = "sha256:" + hashlib.sha256(rfc8785.dumps(keyed)).hexdigest()
    return WorkflowEntry(key, number.strip(), date, fields, tuple(lines), normal)


def judge_in_order(
    session: WorkflowSession,
    entries: Sequence[WorkflowEntry],
    *,
    checked_at: datetime,
    policy: str = "",
    policy_digest: str = "",
) -> list[EntryVerdict]:
    """Verdicts on ``entries`` (returned in input order), judged in entry-date-then-number order so that each
    reconciliation sees what earlier entries claimed (docs/workflows.md, "Reconciliation")."""
    claims: ClaimLedger = {}
    order = sorted(range(len(entries)), key=lambda i: (entries[i].date, entries[i].number))
    out: dict[int, EntryVerdict] = {}
    for i in order:
        out[i] = session.run_with_claims(
            entries[i], checked_at=checked_at, claims=claims, policy=policy, policy_digest=policy_digest
        )
    return [out[i] for i in range(len(entries))]
