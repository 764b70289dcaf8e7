"""Source records, cursors and pages: what an adapter reads from its ledger, before any translation.

A :class:`SourceRecord` is the adapter's parsed, validated view of one ledger entry. It is frozen and checked
at
construction ("parse, then trust"): a record that exists has a well-formed ledger id, a timezone-aware ledger
time,
JSON-only structures, and content the mapping engine can read.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import rfc8785

from vcgate.canonical_schema import InputError, b64url, b64url_decode, canonical_json

RecordKind = Literal["record", "revocation"]

# CAIP-2 ("namespace:reference") with a slightly longer reference so that `plain:<sha256 fingerprint>` fits.
_LEDGER_ID = re.compile(r"^[-a-z0-9]{3,8}:[-_a-zA-Z0-9.]{1,128}$")

#: Media types whose bytes the SDK can turn into the JSON object a mapping reads. Replay must be able to
#: decode a
#: raw record without the adapter's code, so the set is small and fixed.
DECODABLE_MEDIA_TYPES: tuple[str, ...] = ("application/json", "text/csv")


def format_datetime(value: datetime) -> str:
    """Render an aware datetime as an XML Schema ``dateTimeStamp`` in UTC (``Z``), as VC 2.0 §4.9 wants.

    Fractional seconds appear only when non-zero, so the same instant always renders the same way.
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise InputError(f"datetime {value.isoformat()} has no timezone; ledger times must be timezone-aware")
    utc = value.astimezone(UTC)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}".rstrip("0")
    return text + "Z"


def parse_datetime(text: str) -> datetime:
    """Parse an RFC 3339 date-time that carries an offset or ``Z``; raise :class:`InputError` otherwise."""
    if not isinstance(text, str) or not re.match(
        r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", text
    ):
        raise InputError(f"{text!r} is not an RFC 3339 date-time with a timezone")
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(f"{text!r} is not a valid date-time: {exc}") from None
    return value.astimezone(UTC)


class _NotPlainJsonError(Exception):
    """Raised inside :func:`_clone` when a value is not plain JSON (the caller falls back to a JSON round trip)."""


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def _clone(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        out = {}
        for key, item in value.items():
            if type(key) is not str:
                raise _NotPlainJsonError
            out[key] = item if type(item) in _JSON_SCALARS else _clone(item)
        return out
    if kind is list:
        return [item if type(item) in _JSON_SCALARS else _clone(item) for item in value]
    if kind in _JSON_SCALARS:
        return value
    raise _NotPlainJsonError


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value, equal to ``json.loads(json.dumps(value))`` but about three times faster.

    Plain JSON (dicts with string keys, lists, str, int, float, bool, None: immutable leaves are shared, every
    container is new) is copied directly; anything else (tuples, subclasses, non-string keys, cycles) takes the
    JSON round trip, so results and errors stay those of the round trip.
    """
    try:
        return _clone(value)
    except (_NotPlainJsonError, RecursionError):
        return json.loads(json.dumps(value))


def _json_copy_canonical(value: Any, what: str) -> tuple[Any, bytes]:
    # Plain JSON is copied directly (every record's raw value and proof material passes here; a JSON round trip
    # per value was a hot spot of `vcgate sync`); anything else, or a value RFC 8785 refuses, takes the round trip
    # below, which both proves the value is JSON and says what is wrong.
    try:
        copied = _clone(value)
        return copied, canonical_json(copied)
    except (_NotPlainJsonError, RecursionError, rfc8785.CanonicalizationError):
        pass
    try:
        copied = json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InputError(f"{what} must be JSON (objects, arrays, strings, numbers, booleans, null): {exc}") from None
    # Credentials are hashed and signed as RFC 8785 JSON, which (like I-JSON, RFC 7493) has no integers beyond
    # 2^53: ledger values such as uint256 amounts must travel as strings.
    try:
        canonical = canonical_json(copied)
    except rfc8785.CanonicalizationError as exc:
        raise InputError(f"{what} is not I-JSON: {exc}; write large integers as strings") from None
    return copied, canonical


def _json_copy(value: Any, what: str) -> Any:
    return _json_copy_canonical(value, what)[0]


def decode_content(raw: bytes, media_type: str) -> dict[str, Any]:
    """Decode raw record bytes into the JSON object a mapping reads.

    ``application/json``: the bytes must be UTF-8 JSON whose top level is an object. ``text/csv``: a header
    line and
    exactly one data row (RFC 4180); the result maps each column name to its text value, or to null for an
    empty cell.
    """
    base = media_type.split(";", 1)[0].strip().lower()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"raw record is not UTF-8 ({media_type}): {exc}") from None
    if base == "application/json":
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise InputError(f"raw record is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise InputError("a JSON raw record must be an object at the top level")
        return dict(_json_copy(value, "raw record"))
    if base == "text/csv":
        rows = list(csv.reader(io.StringIO(text, newline="")))
        if len(rows) != 2:
            raise InputError(f"a text/csv raw record needs a header line and exactly one row, found {len(rows)} lines")
        header, row = rows
        if len(header) != len(row) or len(set(header)) != len(header):
            raise InputError("a text/csv raw record needs unique column names and as many values as columns")
        # An empty cell is "no value" (null), which mappings treat like a missing field.
        return {name: (cell if cell != "" else None) for name, cell in zip(header, row, strict=True)}
    raise InputError(
        f"cannot decode raw records of media type {media_type!r}; "
        f"the SDK decodes {', '.join(DECODABLE_MEDIA_TYPES)}"
        " (give the adapter's parsed JSON object as the record instead)"
    )


@dataclass(frozen=True, slots=True)
class SourceRecord:
    """One record read from a ledger, with the ledger facts a translation and its evidence need.

    ``raw`` is either the record as a JSON object, or the exact bytes stored on the ledger plus ``media_type``
    (one of :data:`DECODABLE_MEDIA_TYPES`). ``native_signer`` names who signed it on the ledger: a ``kind``
    (``ethereum-address``, ``fabric-msp``, ``ed25519-key``, …) plus the address, MSP id and certificate
    fingerprint,
    or public key, and a ``did`` when one is bound. ``ledger_time`` is the ledger's own time for the record
    (block
    timestamp, log time), never the adapter's clock. A ``revocation`` record names the locator it
    ``supersedes``.
    """

    ledger_id: str
    ledger_kind: str
    locator: str
    raw: Mapping[str, Any] | bytes
    native_signer: Mapping[str, Any]
    ledger_time: datetime
    ledger_height: int
    proof_material: Mapping[str, Any]
    media_type: str = "application/json"
    kind: RecordKind = "record"
    supersedes: str | None = None
    channel: str | None = None
    finality: Mapping[str, Any] | None = None
    # Derived once at construction from the validated, private copies above (never handed out without a copy).
    _content: dict[str, Any] = field(init=False, repr=False, compare=False)
    _digest: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.ledger_id, str) or not _LEDGER_ID.match(self.ledger_id):
            raise InputError(
                f"ledger id {self.ledger_id!r} is not CAIP-2 style 'namespace:reference' "
                "(e.g. eip155:1, fabric:<16 hex>, plain:<key fingerprint>)"
            )
        if not isinstance(self.ledger_kind, str) or not re.match(r"^[a-z][a-z0-9-]{0,31}$", self.ledger_kind):
            raise InputError(f"ledger kind {self.ledger_kind!r} must be a short lower-case name such as 'ethereum'")
        if not isinstance(self.locator, str) or not self.locator:
            raise InputError("a record locator must be a non-empty string unique within its ledger")
        if isinstance(self.raw, bytes | bytearray):
            object.__setattr__(self, "raw", bytes(self.raw))
            content = decode_content(bytes(self.raw), self.media_type)
            digested = bytes(self.raw)
        elif isinstance(self.raw, Mapping):
            if self.media_type != "application/json":
                raise InputError("a record given as a JSON object must have media type application/json")
            copied, digested = _json_copy_canonical(dict(self.raw), "raw record")
            object.__setattr__(self, "raw", copied)
            # A copy of its own: ``raw`` is public, and the cached content and digest must not follow edits to it.
            content = copy_json(copied)
        else:
            raise InputError("raw record must be a JSON object or bytes with a media type")
        object.__setattr__(self, "_content", content)
        # The digest covers the exact ledger bytes, or the RFC 8785 form the I-JSON check above already produced.
        object.__setattr__(self, "_digest", "sha256:" + hashlib.sha256(digested).hexdigest())
        if not isinstance(self.native_signer, Mapping) or not isinstance(self.native_signer.get("kind"), str):
            raise InputError("native signer must be an object with a 'kind' (e.g. ethereum-address, fabric-msp)")
        object.__setattr__(self, "native_signer", _json_copy(dict(self.native_signer), "native signer"))
        if not isinstance(self.proof_material, Mapping):
            raise InputError("proof material must be a JSON object")
        object.__setattr__(self, "proof_material", _json_copy(dict(self.proof_material), "proof material"))
        if self.finality is not None:
            object.__setattr__(self, "finality", _json_copy(dict(self.finality), "finality"))
        if not isinstance(self.ledger_time, datetime) or self.ledger_time.utcoffset() is None:
            raise InputError("ledger time must be a timezone-aware datetime taken from the ledger")
        object.__setattr__(self, "ledger_time", self.ledger_time.astimezone(UTC))
        if isinstance(self.ledger_height, bool) or not isinstance(self.ledger_height, int) or self.ledger_height < 0:
            raise InputError("ledger height must be a non-negative integer")
        if self.kind not in ("record", "revocation"):
            raise InputError(f"record kind must be 'record' or 'revocation', not {self.kind!r}")
        if (self.kind == "revocation") != (self.supersedes is not None):
            raise InputError("a revocation record must name the locator it supersedes, and only a revocation may")
        if self.supersedes is not None and (not isinstance(self.supersedes, str) or not self.supersedes):
            raise InputError("supersedes must be a non-empty locator")

    @property
    def content(self) -> dict[str, Any]:
        """The record as the JSON object a mapping reads (decoded from ``raw`` bytes when needed). A fresh
        copy."""
        copied: dict[str, Any] = copy_json(self._content)
        return copied

    def content_field(self, name: str) -> Any:
        """One top-level field of :attr:`content` (a copy; ``None`` when absent), without copying the whole
        record: for adapters that pick a mapping by a field such as a schema id."""
        return copy_json(self._content.get(name))

    @property
    def raw_bytes(self) -> bytes | None:
        """The exact ledger bytes, when the record was given as bytes."""
        return self.raw if isinstance(self.raw, bytes) else None

    def record_digest(self) -> str:
        """``sha256:<hex>`` of the raw bytes, or of the RFC 8785 canonical JSON when the record is a JSON
        object."""
        return self._digest

    def encoded_raw(self) -> Any:
        """The raw record as evidence carries it: the JSON object itself, or base64url text of the bytes."""
        return b64url(self.raw) if isinstance(self.raw, bytes) else self.content


def raw_from_evidence(value: Any, media_type: str | None) -> Mapping[str, Any] | bytes:
    """Invert :meth:`SourceRecord.encoded_raw`: a JSON object stays one; base64url text becomes bytes."""
    if isinstance(value, str):
        if media_type is None:
            raise InputError("a base64url raw record needs its media type (recordMediaType)")
        return b64url_decode(value)
    if isinstance(value, dict):
        return value
    raise InputError("rawRecord must be a JSON object or base64url text")


@dataclass(frozen=True, slots=True, order=True)
class Cursor:
    """A position in one adapter's record stream; opaque to callers, ordered within that adapter.

    ``position`` is a tuple such as ``(block, log_index)``; the empty tuple is the start of the stream and
    sorts first.
    Resuming from a cursor yields exactly the records after it. Cursors of different adapters are not
    comparable.
    """

    position: tuple[int | str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.position, tuple) or not all(
            isinstance(p, int | str) and not isinstance(p, bool) for p in self.position
        ):
            raise InputError("a cursor position is a tuple of integers and strings")

    @classmethod
    def start(cls) -> Cursor:
        """The cursor before the first record."""
        return cls(())

    def to_json(self) -> dict[str, Any]:
        """JSON form, for storing a sync position."""
        return {"position": list(self.position)}

    @classmethod
    def from_json(cls, value: Any) -> Cursor:
        """Parse :meth:`to_json` output; raise :class:`InputError` on anything else."""
        if not isinstance(value, dict) or set(value) != {"position"} or not isinstance(value["position"], list):
            raise InputError('a cursor is {"position": [...]}')
        return cls(tuple(value["position"]))

    def encode(self) -> str:
        """A compact opaque token (for command lines and URLs)."""
        return "c1." + b64url(json.dumps(list(self.position), separators=(",", ":")).encode("utf-8"))

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """Parse a token made by :meth:`encode`."""
        if not isinstance(token, str) or not token.startswith("c1."):
            raise InputError("not a vcgate cursor token (expected 'c1.' + base64url)")
        try:
            position = json.loads(b64url_decode(token[3:]))
        except ValueError as exc:
            raise InputError(f"corrupt cursor token: {exc}") from None
        if not isinstance(position, list):
            raise InputError("corrupt cursor token: not a list")
        return cls(tuple(position))


@dataclass(frozen=True, slots=True)
class RecordPage:
    """One page of records in ledger order, and the cursor to resume after its last record."""

    records: tuple[SourceRecord, ...]
    next_cursor: Cursor


@dataclass(frozen=True, slots=True)
class RewindPage(RecordPage):
    """An (empty) page reporting a reorg: the block of ``abandoned`` left the canonical chain, and the stream
    continues from ``next_cursor`` (before the requested cursor). Consumers drop what they took from this ledger above
    height ``keep_through`` (records that survived the reorg come again with the same ids)."""

    abandoned: Cursor
    keep_through: int


def paginate(
    entries: Iterable[tuple[Cursor, SourceRecord]], since: Cursor | None, page_size: int
) -> Iterator[RecordPage]:
    """Group ``entries`` (ascending by cursor) into pages, skipping everything at or before ``since``.

    Each page's ``next_cursor`` is the cursor of its last record, so feeding it back as ``since`` continues
    exactly
    after that record: nothing skipped, nothing repeated. Yields nothing when there is nothing new.
    """
    if page_size < 1:
        raise InputError("page size must be at least 1")
    start = since if since is not None else Cursor.start()
    batch: list[SourceRecord] = []
    previous: Cursor | None = None
    for cursor, record in entries:
        if previous is not None and cursor <= previous:
            raise InputError(f"records are not in strictly ascending cursor order at {cursor.position!r}")
        previous = cursor
        if cursor <= start:
            continue
        batch.append(record)
        if len(batch) == page_size:
            yield RecordPage(tuple(batch), cursor)
            batch = []
    if batch and previous is not None:
        yield RecordPage(tuple(batch), previous)
