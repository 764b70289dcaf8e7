"""The JSON wire forms of the remote adapter protocol (``openapi.yaml``, protocol version :data:`PROTOCOL_VERSION`).

Everything an adapter returns crosses HTTP as JSON and must come back as an equal object: a
:class:`~vcgate.adapters.sdk.SourceRecord` (raw bytes as unpadded base64url, RFC 4648 §5; times as RFC 3339 UTC with
``Z``), a :class:`~vcgate.adapters.sdk.Cursor` (its opaque ``c1.`` token), a page, the adapter info, the health and
an evidence result. Parsing is strict ("parse, then trust", STYLE.md 2): unknown members, missing members and wrong
types are refused with a :class:`WireFormatError` that names the JSON pointer of the bad member.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final

import yaml

from vcgate.adapters.sdk import (
    AdapterInfo,
    Check,
    CheckStatus,
    Cursor,
    EvidenceResult,
    Health,
    MappingInfo,
    RecordPage,
    RewindPage,
    SourceRecord,
    format_datetime,
    parse_datetime,
)
from vcgate.canonical_schema import InputError, Problem, b64url, b64url_decode, json_pointer

#: The protocol version this package speaks (the ``info.version`` of ``openapi.yaml``). Semantic versioning: a
#: peer with another major version is refused; minor versions only add optional members and routes.
PROTOCOL_VERSION: Final = "1.1.0"
#: Response header (and ``describe``/``health`` member ``protocolVersion``) carrying the server's protocol version.
PROTOCOL_HEADER: Final = "Vcgate-Adapter-Protocol"
#: RFC 9457 media type of error responses.
PROBLEM_MEDIA_TYPE: Final = "application/problem+json"

_VERSION = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
# RFC 3339 in UTC only; at most microseconds, which is all a Python datetime holds, so parsing never rounds.
_UTC_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$")


class WireFormatError(InputError):
    """A protocol message does not have the shape the protocol document gives it. ``pointer`` locates the member."""

    def __init__(self, pointer: str, detail: str) -> None:
        self.pointer = pointer
        self.detail = detail
        super().__init__(f"{pointer or '/'}: {detail}")


def protocol_document_text() -> str:
    """The protocol's OpenAPI 3.1 document (``openapi.yaml``) as published in this package."""
    return resources.files(__package__).joinpath("openapi.yaml").read_text(encoding="utf-8")


def protocol_document() -> dict[str, Any]:
    """The protocol's OpenAPI 3.1 document, parsed."""
    document = yaml.safe_load(protocol_document_text())
    assert isinstance(document, dict)
    return document


def protocol_major(version: Any) -> int:
    """The major number of a ``MAJOR.MINOR.PATCH`` protocol version; :class:`WireFormatError` for anything else."""
    if not isinstance(version, str) or not _VERSION.match(version):
        raise WireFormatError("/protocolVersion", f"{version!r} is not a MAJOR.MINOR.PATCH protocol version")
    return int(version.split(".", 1)[0])


# -- strict JSON --------------------------------------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate member {key!r}")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads_strictly(data: bytes, *, max_depth: int = 64) -> Any:
    """Parse untrusted JSON: UTF-8, no duplicate members, no NaN/Infinity, nesting at most ``max_depth``."""
    # Nesting is counted on the bytes before parsing: CPython's decoder recurses in C (see verification/_verify.py).
    depth = deepest = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    if deepest > max_depth:
        raise WireFormatError("", f"JSON nested more than {max_depth} levels")
    try:
        return json.loads(data.decode("utf-8"), object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise WireFormatError("", f"not strict UTF-8 JSON: {exc}") from None


def dumps(value: Any) -> bytes:
    """Compact UTF-8 JSON (no NaN), as every protocol message is sent."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


# -- shape helpers ------------------------------------------------------------------------------------------------


def _object(value: Any, pointer: str, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WireFormatError(pointer, "must be a JSON object")
    missing = [k for k in required if k not in value]
    if missing:
        raise WireFormatError(pointer, f"lacks required member(s) {', '.join(missing)}")
    unknown = sorted(set(value) - set(required) - set(optional))
    if unknown:
        raise WireFormatError(json_pointer_join(pointer, unknown[0]), "is not a member the protocol defines")
    return value


def json_pointer_join(base: str, *parts: str | int) -> str:
    """``base`` (a JSON pointer) extended by ``parts``."""
    return base + json_pointer(*parts)


def _text(value: Any, pointer: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value):
        raise WireFormatError(pointer, "must be a non-empty string" if not empty else "must be a string")
    return value


def _integer(value: Any, pointer: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise WireFormatError(pointer, f"must be an integer ≥ {minimum}")
    return value


def _mapping(value: Any, pointer: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WireFormatError(pointer, "must be a JSON object")
    return value


def utc_time_from_json(value: Any, pointer: str) -> Any:
    """Parse an RFC 3339 UTC time (``Z``, at most microseconds) into an aware datetime."""
    if not isinstance(value, str) or not _UTC_TIME.match(value):
        raise WireFormatError(pointer, "must be an RFC 3339 date-time in UTC ending in 'Z' (at most 6 decimals)")
    try:
        return parse_datetime(value)
    except InputError as exc:
        raise WireFormatError(pointer, str(exc)) from None


def _bytes_from_json(value: str, pointer: str) -> bytes:
    try:
        data = b64url_decode(value)
    except InputError as exc:
        raise WireFormatError(pointer, f"must be unpadded base64url: {exc}") from None
    # base64 has several spellings of the same bytes (unused trailing bits); only the canonical one round-trips.
    if b64url(data) != value:
        raise WireFormatError(pointer, "is not the canonical base64url spelling of its bytes")
    return data


# -- records, cursors, pages --------------------------------------------------------------------------------------

_RECORD_REQUIRED = (
    "ledgerId",
    "ledgerKind",
    "locator",
    "raw",
    "mediaType",
    "nativeSigner",
    "ledgerTime",
    "ledgerHeight",
    "proofMaterial",
    "kind",
)
_RECORD_OPTIONAL = ("supersedes", "channel", "finality")


def record_to_json(record: SourceRecord) -> dict[str, Any]:
    """The wire form of a source record: ``raw`` is the JSON object itself, or base64url text of the exact bytes."""
    out: dict[str, Any] = {
        "ledgerId": record.ledger_id,
        "ledgerKind": record.ledger_kind,
        "locator": record.locator,
        "raw": b64url(record.raw) if isinstance(record.raw, bytes) else record.content,
        "mediaType": record.media_type,
        "nativeSigner": dict(record.native_signer),
        "ledgerTime": format_datetime(record.ledger_time),
        "ledgerHeight": record.ledger_height,
        "proofMaterial": dict(record.proof_material),
        "kind": record.kind,
    }
    if record.supersedes is not None:
        out["supersedes"] = record.supersedes
    if record.channel is not None:
        out["channel"] = record.channel
    if record.finality is not None:
        out["finality"] = dict(record.finality)
    return out


def record_from_json(value: Any, pointer: str = "") -> SourceRecord:
    """Parse the wire form of a source record (inverse of :func:`record_to_json`)."""
    body = _object(value, pointer, _RECORD_REQUIRED, _RECORD_OPTIONAL)

    def at(name: str) -> str:
        return json_pointer_join(pointer, name)

    if body["ledgerKind"] == "remote":
        # Reserved: `remote` names this client, never a ledger. Evidence checkers are picked by ledger kind, and a
        # record claiming it would route its evidence to the partner's own (advisory) check.
        raise WireFormatError(at("ledgerKind"), "'remote' is reserved and is not a ledger kind")
    raw_value = body["raw"]
    raw: Mapping[str, Any] | bytes
    if isinstance(raw_value, str):
        raw = _bytes_from_json(raw_value, at("raw"))
    elif isinstance(raw_value, dict):
        raw = raw_value
    else:
        raise WireFormatError(at("raw"), "must be a JSON object or base64url text of the record's bytes")
    kind = body["kind"]
    if kind not in ("record", "revocation"):
        raise WireFormatError(at("kind"), "must be 'record' or 'revocation'")
    supersedes = body.get("supersedes")
    channel = body.get("channel")
    finality = body.get("finality")
    try:
        return SourceRecord(
            ledger_id=_text(body["ledgerId"], at("ledgerId")),
            ledger_kind=_text(body["ledgerKind"], at("ledgerKind")),
            locator=_text(body["locator"], at("locator")),
            raw=raw,
            native_signer=_mapping(body["nativeSigner"], at("nativeSigner")),
            ledger_time=utc_time_from_json(body["ledgerTime"], at("ledgerTime")),
            ledger_height=_integer(body["ledgerHeight"], at("ledgerHeight")),
            proof_material=_mapping(body["proofMaterial"], at("proofMaterial")),
            media_type=_text(body["mediaType"], at("mediaType")),
            kind=kind,
            supersedes=_text(supersedes, at("supersedes")) if supersedes is not None else None,
            channel=_text(channel, at("channel")) if channel is not None else None,
            finality=_mapping(finality, at("finality")) if finality is not None else None,
        )
    except WireFormatError:
        raise
    except InputError as exc:  # the SDK's own record checks (ledger id form, revocation rules, I-JSON, ...)
        raise WireFormatError(pointer, str(exc)) from None


def cursor_from_token(value: Any, pointer: str) -> Cursor:
    """Parse a cursor token (``c1.`` + base64url of the JSON position list)."""
    try:
        return Cursor.decode(_text(value, pointer))
    except WireFormatError:
        raise
    except InputError as exc:
        raise WireFormatError(pointer, str(exc)) from None


def page_to_json(
    records: tuple[SourceRecord, ...],
    next_cursor: Cursor | None,
    *,
    end: bool = False,
    keep_through: int | None = None,
    abandoned: Cursor | None = None,
) -> dict[str, Any]:
    """The wire form of a page. ``end`` says nothing follows it; ``nextCursor`` is null only on an end page that
    moved nowhere. A rewind page (a reorg: ``keep_through`` and ``abandoned``) has no records and a cursor before
    the requested one."""
    out: dict[str, Any] = {
        "records": [record_to_json(r) for r in records],
        "nextCursor": next_cursor.encode() if next_cursor is not None else None,
        "end": end,
    }
    if keep_through is not None:
        out["keepThrough"] = keep_through
        out["abandoned"] = abandoned.encode() if abandoned is not None else None
    return out


@dataclass(frozen=True, slots=True)
class WirePage:
    """A parsed page answer: the page (``None`` when it moved nowhere) and whether the stream ends after it."""

    page: RecordPage | None
    end: bool


def page_from_json(value: Any) -> WirePage:
    """Parse a page answer. A protocol 1.0 service marks the end only by an empty page with a null cursor; that
    still parses, as an end page."""
    body = _object(value, "", ("records", "nextCursor"), ("end", "keepThrough", "abandoned"))
    items = body["records"]
    if not isinstance(items, list):
        raise WireFormatError("/records", "must be an array")
    end = body.get("end", body["nextCursor"] is None)
    if not isinstance(end, bool):
        raise WireFormatError("/end", "must be true or false")
    records = tuple(record_from_json(item, json_pointer("records", i)) for i, item in enumerate(items))
    if body["nextCursor"] is None:
        if records or not end or "keepThrough" in body:
            raise WireFormatError("/nextCursor", "may be null only on an empty end page")
        return WirePage(None, True)
    cursor = cursor_from_token(body["nextCursor"], "/nextCursor")
    if "keepThrough" not in body:
        if "abandoned" in body:
            raise WireFormatError("/abandoned", "belongs to a rewind page (with keepThrough)")
        return WirePage(RecordPage(records, cursor), end)
    if records:
        raise WireFormatError("/records", "must be empty on a rewind page")
    keep = _integer(body["keepThrough"], "/keepThrough", minimum=-1)
    if "abandoned" not in body:
        raise WireFormatError("", "a rewind page names the abandoned position (abandoned)")
    abandoned = cursor_from_token(body["abandoned"], "/abandoned")
    return WirePage(RewindPage((), cursor, abandoned, keep), end)


# -- describe, health ---------------------------------------------------------------------------------------------

_INFO_REQUIRED = ("id", "kind", "ledgerId", "version", "apiVersion", "mappings")
_MAPPING_REQUIRED = ("id", "version", "digest", "types", "issuanceMode")


def info_from_json(value: Any, pointer: str = "/adapter") -> AdapterInfo:
    """Parse :meth:`AdapterInfo.to_json` output."""
    body = _object(value, pointer, _INFO_REQUIRED, ("channel", "description"))
    mappings_value = body["mappings"]
    if not isinstance(mappings_value, list):
        raise WireFormatError(json_pointer_join(pointer, "mappings"), "must be an array")
    mappings = []
    for i, item in enumerate(mappings_value):
        where = json_pointer_join(pointer, "mappings", i)
        m = _object(item, where, _MAPPING_REQUIRED)
        types = m["types"]
        if not isinstance(types, list) or not all(isinstance(t, str) and t for t in types):
            raise WireFormatError(json_pointer_join(where, "types"), "must be an array of type names")
        mode = m["issuanceMode"]
        if mode not in ("partner", "witness"):
            raise WireFormatError(json_pointer_join(where, "issuanceMode"), "must be 'partner' or 'witness'")
        mappings.append(
            MappingInfo(
                id=_text(m["id"], json_pointer_join(where, "id")),
                version=_text(m["version"], json_pointer_join(where, "version")),
                digest=_text(m["digest"], json_pointer_join(where, "digest")),
                types=tuple(types),
                issuance_mode=mode,
            )
        )
    channel = body.get("channel")
    return AdapterInfo(
        id=_text(body["id"], json_pointer_join(pointer, "id")),
        kind=_text(body["kind"], json_pointer_join(pointer, "kind")),
        ledger_id=_text(body["ledgerId"], json_pointer_join(pointer, "ledgerId")),
        version=_text(body["version"], json_pointer_join(pointer, "version"), empty=True),
        mappings=tuple(mappings),
        api_version=_integer(body["apiVersion"], json_pointer_join(pointer, "apiVersion"), minimum=1),
        channel=_text(channel, json_pointer_join(pointer, "channel")) if channel is not None else None,
        description=_text(body.get("description", ""), json_pointer_join(pointer, "description"), empty=True),
    )


def health_from_json(value: Any) -> Health:
    """Parse a health answer (``protocolVersion`` is checked by the caller)."""
    body = _object(value, "", ("status", "protocolVersion"), ("detail", "ledgerHeight"))
    status = body["status"]
    if status not in ("ok", "degraded", "down"):
        raise WireFormatError("/status", "must be 'ok', 'degraded' or 'down'")
    height = body.get("ledgerHeight")
    return Health(
        status,
        _text(body.get("detail", ""), "/detail", empty=True),
        _integer(height, "/ledgerHeight") if height is not None else None,
    )


# -- problems and evidence results --------------------------------------------------------------------------------

_PROBLEM_MEMBERS = ("type", "code", "title", "detail", "pointer")


def problem_from_json(value: Any, pointer: str) -> Problem:
    """Parse a :meth:`Problem.to_json` object; members beyond the standard ones become ``extra``."""
    body = _mapping(value, pointer)
    code = _text(body.get("code"), json_pointer_join(pointer, "code"))
    return Problem(
        code=code,
        title=_text(body.get("title", ""), json_pointer_join(pointer, "title"), empty=True),
        detail=_text(body.get("detail", ""), json_pointer_join(pointer, "detail"), empty=True),
        pointer=_text(body.get("pointer", ""), json_pointer_join(pointer, "pointer"), empty=True),
        extra={k: v for k, v in body.items() if k not in _PROBLEM_MEMBERS},
    )


def evidence_result_from_json(value: Any) -> EvidenceResult:
    """Parse :meth:`EvidenceResult.to_json` output back into the SDK's result (checks, statuses, problems)."""
    body = _object(value, "", ("status", "checks"))
    items = body["checks"]
    if not isinstance(items, list):
        raise WireFormatError("/checks", "must be an array")
    checks = []
    for i, item in enumerate(items):
        where = json_pointer("checks", i)
        # ``stage`` (canonical_schema.Check, ADR 0010) is read when present; adapters normally leave it out.
        c = _object(item, where, ("name", "status"), ("detail", "problems", "stage"))
        try:
            status = CheckStatus(c["status"])
        except ValueError:
            raise WireFormatError(json_pointer_join(where, "status"), f"unknown check status {c['status']!r}") from None
        problems_value = c.get("problems", [])
        if not isinstance(problems_value, list):
            raise WireFormatError(json_pointer_join(where, "problems"), "must be an array")
        checks.append(
            Check(
                _text(c["name"], json_pointer_join(where, "name")),
                status,
                tuple(
                    problem_from_json(p, json_pointer_join(where, "problems", j)) for j, p in enumerate(problems_value)
                ),
                _text(c.get("detail", ""), json_pointer_join(where, "detail"), empty=True),
                _text(c.get("stage", ""), json_pointer_join(where, "stage"), empty=True),
            )
        )
    result = EvidenceResult(tuple(checks))
    if body["status"] != result.status:
        raise WireFormatError("/status", f"says {body['status']!r} but the checks add up to {result.status!r}")
    return result
