"""Declarative mappings: parsing, validation and the pure evaluation engine.

A mapping document (YAML or JSON, validated by ``mapping.schema.json``) says how to build each part of an
unsigned
canonical credential from one source record. It is compiled once into a tree of value specs; evaluating the
tree
over a record is a pure function of (mapping, record content, ledger facts). Nothing reads a clock, the
network or
the file system, which is what makes replay (ARCHITECTURE.md, "Replay") possible.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Context, Decimal, InvalidOperation
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml
from jsonschema.exceptions import ValidationError, best_match

from vcgate.canonical_schema import InputError, Problem, canonical_json, json_pointer

from ._errors import MappingError, TranslationError
from ._paths import RecordPath
from ._records import SourceRecord, copy_json, format_datetime

IssuanceMode = Literal["partner", "witness"]


class _Missing:
    """Marks a value that is absent (and is left out of the object or array being built)."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()
_NO_DEFAULT = object()


@cache
def mapping_schema() -> dict[str, Any]:
    """The JSON Schema (2020-12) of mapping documents, as shipped in the package."""
    text = resources.files(__package__).joinpath("mapping.schema.json").read_text(encoding="utf-8")
    return json.loads(text)  # type: ignore[no-any-return]  # json.loads returns Any


# ----------------------------------------------------------------------------------------------------
# Parsing text: YAML without surprises


class _StrictYamlLoader(yaml.SafeLoader):
    """Safe YAML that keeps dates as strings and refuses duplicate keys (both would change a mapping
    silently)."""


_StrictYamlLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictYamlLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _json_problems(value: Any, path: tuple[str | int, ...] = ()) -> list[Problem]:
    """Find values YAML can express but JSON cannot (non-string keys, NaN, infinities, binary)."""
    problems: list[Problem] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                problems.append(
                    Problem(
                        "MAPPING_SCHEMA",
                        "invalid mapping",
                        f"key {k!r} is not a string; quote it",
                        json_pointer(*path),
                    )
                )
            else:
                problems.extend(_json_problems(v, (*path, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            problems.extend(_json_problems(v, (*path, i)))
    elif isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53 - 1:
        problems.append(
            Problem(
                "MAPPING_SCHEMA", "invalid mapping", "integer beyond 2^53; write it as a string", json_pointer(*path)
            )
        )
    elif isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        problems.append(
            Problem("MAPPING_SCHEMA", "invalid mapping", "NaN and infinity are not JSON", json_pointer(*path))
        )
    elif not (value is None or isinstance(value, str | int | float | bool)):
        problems.append(
            Problem(
                "MAPPING_SCHEMA",
                "invalid mapping",
                f"{type(value).__name__} is not a JSON value",
                json_pointer(*path),
            )
        )
    return problems


def parse_mapping_text(text: str, *, source: str = "<mapping>") -> dict[str, Any]:
    """Parse mapping text (JSON, or YAML 1.1 safe subset) into a JSON object; raise :class:`MappingError`."""
    stripped = text.lstrip()
    try:
        if stripped.startswith("{"):
            value = json.loads(text, object_pairs_hook=_reject_duplicates)
        else:
            value = yaml.load(text, Loader=_StrictYamlLoader)  # noqa: S506  # a SafeLoader subclass
    except (ValueError, yaml.YAMLError) as exc:
        raise MappingError(source, [Problem("MAPPING_PARSE", "mapping is not valid YAML/JSON", str(exc))]) from None
    if not isinstance(value, dict):
        raise MappingError(
            source, [Problem("MAPPING_PARSE", "mapping is not an object", "the top level must be an object")]
        )
    problems = _json_problems(value)
    if problems:
        raise MappingError(source, problems)
    return value


# ----------------------------------------------------------------------------------------------------
# Evaluation context


@dataclass(frozen=True, slots=True)
class _Scope:
    record: SourceRecord
    current: Any
    pointer: tuple[str | int, ...]  # where ``current`` sits inside the record content

    def at(self, value: Any, *extra: str | int) -> _Scope:
        return _Scope(self.record, value, (*self.pointer, *extra))

    def record_pointer(self, *tail: str | int) -> str:
        return json_pointer(*self.pointer, *tail)


# ----------------------------------------------------------------------------------------------------
# Sources


@dataclass(frozen=True, slots=True)
class _Found:
    value: Any
    at: tuple[str | int, ...]  # where the value sits in the record content (for error messages)

    @property
    def pointer(self) -> str:
        # Built only when a transform reports an error: most values are found and never need it.
        return json_pointer(*self.at)


@dataclass(frozen=True, slots=True)
class _Absent:
    pointer: str
    what: str


@dataclass(frozen=True, slots=True)
class _PathSource:
    path: RecordPath

    def get(self, scope: _Scope, where: str) -> _Found | _Absent:
        found, value, walked = self.path.resolve(scope.current)
        if not found:
            return _Absent(scope.record_pointer(*walked), f"the record has no value at path {self.path.text!r}")
        # The scope reads the record's own content (not a copy): copy objects and arrays on the way out so the
        # credential never shares a container with the record.
        if isinstance(value, dict | list):
            value = copy_json(value)
        return _Found(value, (*scope.pointer, *walked))


@dataclass(frozen=True, slots=True)
class _ConstSource:
    value: Any

    def get(self, scope: _Scope, where: str) -> _Found | _Absent:
        return _Found(copy_json(self.value), ())


@dataclass(frozen=True, slots=True)
class _LedgerSource:
    fact: str

    def get(self, scope: _Scope, where: str) -> _Found | _Absent:
        record = scope.record
        value: Any
        if self.fact == "time":
            value = format_datetime(record.ledger_time)
        elif self.fact == "height":
            value = record.ledger_height
        elif self.fact == "locator":
            value = record.locator
        elif self.fact == "ledgerId":
            value = record.ledger_id
        elif self.fact == "ledgerKind":
            value = record.ledger_kind
        elif self.fact == "channel":
            value = record.channel
        else:  # signer.<key>, validated at compile time
            value = record.native_signer.get(self.fact.split(".", 1)[1])
        if value is None:
            return _Absent("", f"the record has no ledger fact {self.fact!r}")
        if isinstance(value, dict | list):  # a signer entry may be structured; never share it with the record
            value = copy_json(value)
        return _Found(value, ())


_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


@dataclass(frozen=True, slots=True)
class _TemplateSource:
    parts: tuple[str | RecordPath, ...]

    @classmethod
    def compile(cls, text: str) -> _TemplateSource:
        parts: list[str | RecordPath] = []
        pos = 0
        for m in _PLACEHOLDER.finditer(text):
            if m.start() > pos:
                parts.append(text[pos : m.start()])
            token = m.group(0)
            if token in ("{{", "}}"):
                parts.append(token[0])
            elif token in ("{", "}"):
                raise InputError(f"unbalanced {token!r} at character {m.start() + 1}; write {token * 2} for a literal")
            else:
                parts.append(RecordPath.parse(m.group(1).strip()))
            pos = m.end()
        if pos < len(text):
            parts.append(text[pos:])
        return cls(tuple(parts))

    def get(self, scope: _Scope, where: str) -> _Found | _Absent:
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            found, value, walked = part.resolve(scope.current)
            if not found:
                return _Absent(
                    scope.record_pointer(*walked), f"the record has no value at path {part.text!r} used by the template"
                )
            if isinstance(value, bool):
                out.append("true" if value else "false")
            elif isinstance(value, str | int | float):
                out.append(str(value))
            else:
                raise TranslationError(
                    "MAPPING_VALUE_INVALID",
                    f"template placeholder {{{part.text}}} needs a string, number or boolean, "
                    f"found {type(value).__name__}",
                    record_pointer=scope.record_pointer(*walked),
                    mapping_pointer=where,
                )
        return _Found("".join(out), ())


@dataclass(frozen=True, slots=True)
class _FieldsSource:
    fields: tuple[tuple[str, _Spec], ...]

    def get(self, scope: _Scope, where: str) -> _Found | _Absent:
        out: dict[str, Any] = {}
        for name, spec in self.fields:
            value = spec.evaluate(scope)
            if value is not MISSING:
                out[name] = value
        return _Found(out, scope.pointer)


@dataclass(frozen=True, slots=True)
class _ArrayListSource:
    items: tuple[_Spec, ...]

    def get(self, scope: _Scope, where: str) -> _Found | _Absent:
        values = [spec.evaluate(scope) for spec in self.items]
        return _Found([v for v in values if v is not MISSING], scope.pointer)


@dataclass(frozen=True, slots=True)
class _ArrayEachSource:
    path: RecordPath
    each: _Spec

    def get(self, scope: _Scope, where: str) -> _Found | _Absent:
        found, value, walked = self.path.resolve(scope.current)
        full = scope.record_pointer(*walked)
        if not found:
            return _Absent(full, f"the record has no array at path {self.path.text!r}")
        if not isinstance(value, list):
            raise TranslationError(
                "MAPPING_VALUE_INVALID",
                f"path {self.path.text!r} must lead to an array, found {type(value).__name__}",
                record_pointer=full,
                mapping_pointer=where + "/array/path",
            )
        base = scope.at(None, *walked)
        out = []
        for i, element in enumerate(value):
            item = self.each.evaluate(base.at(element, i))
            if item is not MISSING:
                out.append(item)
        return _Found(out, (*scope.pointer, *walked))


@dataclass(frozen=True, slots=True)
class _EarliestSource:
    """The earliest of several date-times (``earliest: [spec, …]``): e.g. a licence's term end bounded by the
    expiry of the attestation that carries it. Absent items are skipped; ties keep the first item's spelling."""

    items: tuple[_Spec, ...]

    def get(self, scope: _Scope, where: str) -> _Found | _Absent:
        best: tuple[datetime, str] | None = None
        for spec in self.items:
            value = spec.evaluate(scope)
            if value is MISSING:
                continue
            instant = _instant(value, spec.pointer)
            if best is None or instant < best[0]:
                best = (instant, value)
        if best is None:
            return _Absent(scope.record_pointer(), "every item of 'earliest' is absent")
        return _Found(best[1], scope.pointer)


def _instant(value: Any, where: str) -> datetime:
    # Items are compared as instants, so each must carry its zone (a date transform gives UTC ``…Z``).
    if isinstance(value, str) and _DATE_TIME_STAMP.match(value):
        return datetime.fromisoformat(value)
    raise TranslationError(
        "MAPPING_VALUE_INVALID",
        f"an item of 'earliest' must be a date-time with a timezone (use a date conversion), found {value!r}",
        mapping_pointer=where,
    )


_Source = (
    _PathSource
    | _ConstSource
    | _LedgerSource
    | _TemplateSource
    | _FieldsSource
    | _ArrayListSource
    | _ArrayEachSource
    | _EarliestSource
)

# ----------------------------------------------------------------------------------------------------
# Conversions


@dataclass(frozen=True, slots=True)
class _Lookup:
    table: Mapping[str, Any]
    default: Any

    def apply(self, value: Any, record_pointer: str, where: str) -> Any:
        if isinstance(value, bool):
            key = "true" if value else "false"
        elif isinstance(value, str | int):
            key = str(value)
        else:
            raise TranslationError(
                "MAPPING_VALUE_INVALID",
                f"lookup needs a string, integer or boolean key, found {type(value).__name__}",
                record_pointer=record_pointer,
                mapping_pointer=where + "/lookup",
            )
        if key in self.table:
            return copy_json(self.table[key])
        if self.default is not _NO_DEFAULT:
            return copy_json(self.default)
        raise TranslationError(
            "MAPPING_LOOKUP_MISSING",
            f"value {key!r} is not in the lookup table and the lookup has no default",
            record_pointer=record_pointer,
            mapping_pointer=where + "/lookup/table",
        )


_PLAIN_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
# Arithmetic here must never round: the default decimal context keeps only 28 digits. Inputs are capped at 200
# characters, so 500 digits of precision is exact for every scale the schema allows (|scale| <= 18).
_EXACT = Context(prec=500)


@dataclass(frozen=True, slots=True)
class _Number:
    kind: Literal["integer", "decimal"]
    scale: int = 0
    places: int | None = None
    output: Literal["number", "string"] = "number"
    group_separator: str = ""
    decimal_separator: str = "."

    def _fail(self, detail: str, record_pointer: str, where: str) -> TranslationError:
        return TranslationError(
            "MAPPING_NUMBER_INVALID", detail, record_pointer=record_pointer, mapping_pointer=where + "/number"
        )

    def apply(self, value: Any, record_pointer: str, where: str) -> Any:
        if isinstance(value, bool):
            raise self._fail("a boolean is not a number", record_pointer, where)
        if isinstance(value, int):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(repr(value))
        elif isinstance(value, str):
            text = value.strip()
            if self.group_separator:
                text = text.replace(self.group_separator, "")
            if self.decimal_separator != ".":
                if "." in text:
                    raise self._fail(
                        f"{value!r} has '.' but the decimal separator is {self.decimal_separator!r}",
                        record_pointer,
                        where,
                    )
                text = text.replace(self.decimal_separator, ".")
            if len(text) > 200 or not _PLAIN_NUMBER.match(text):
                raise self._fail(f"{value!r} is not a plain decimal number", record_pointer, where)
            try:
                number = Decimal(text)
            except InvalidOperation:  # pragma: no cover - the regex admits only valid decimals
                raise self._fail(f"{value!r} is not a number", record_pointer, where) from None
        else:
            raise self._fail(f"a {type(value).__name__} is not a number", record_pointer, where)
        number = number.scaleb(self.scale, context=_EXACT)
        if self.kind == "integer":
            if number != number.to_integral_value():
                raise self._fail(f"{value!r} (scaled by 10^{self.scale}) is not a whole number", record_pointer, where)
            whole = int(number)
            if self.output == "string":
                return str(whole)
            if abs(whole) > 2**53 - 1:  # RFC 8785 / I-JSON numbers end at 2^53
                raise self._fail(f"{value!r} is too large for a JSON number; use output: string", record_pointer, where)
            return whole
        if self.places is not None:
            quantum = Decimal(1).scaleb(-self.places)
            rounded = number.quantize(quantum, context=_EXACT)
            # Never round silently: a faithful translation keeps every digit the record had.
            if rounded != number:
                raise self._fail(f"{value!r} has more than {self.places} decimal places", record_pointer, where)
            number = rounded
        if self.output == "string":
            return format(number, "f")
        if number == number.to_integral_value() and self.places is None:
            return int(number)
        as_float = float(number)
        if Decimal(repr(as_float)) != number:
            raise self._fail(
                f"{value!r} cannot be written exactly as a JSON number; use output: string",
                record_pointer,
                where,
            )
        return as_float


_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _tz(text: str) -> timezone:
    if text == "Z":
        return UTC
    sign = 1 if text[0] == "+" else -1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


@dataclass(frozen=True, slots=True)
class _Date:
    format: Literal["iso", "unix", "unix-ms", "yyyymmdd", "pattern"]
    pattern: str | None = None
    output: Literal["datetime", "date"] = "datetime"
    timezone: str = "Z"

    def _fail(self, detail: str, record_pointer: str, where: str) -> TranslationError:
        return TranslationError(
            "MAPPING_DATE_INVALID", detail, record_pointer=record_pointer, mapping_pointer=where + "/date"
        )

    def _parse(self, value: Any, record_pointer: str, where: str) -> datetime:
        zone = _tz(self.timezone)
        if self.format in ("unix", "unix-ms"):
            if isinstance(value, str) and re.match(r"^-?\d+$", value.strip()):
                value = int(value.strip())
            if isinstance(value, bool) or not isinstance(value, int):
                raise self._fail(f"{value!r} is not an integer {self.format} timestamp", record_pointer, where)
            unit = timedelta(seconds=value) if self.format == "unix" else timedelta(milliseconds=value)
            try:
                return _UNIX_EPOCH + unit
            except OverflowError:
                raise self._fail(f"timestamp {value!r} is out of range", record_pointer, where) from None
        if isinstance(value, int) and not isinstance(value, bool) and self.format == "yyyymmdd":
            value = str(value)
        if not isinstance(value, str):
            raise self._fail(f"a {type(value).__name__} is not a date in format {self.format}", record_pointer, where)
        try:
            if self.format == "iso":
                if not re.match(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$", value):
                    raise ValueError("not ISO 8601")
                parsed = datetime.fromisoformat(value)
            elif self.format == "yyyymmdd":
                if not re.match(r"^\d{8}$", value):
                    raise ValueError("not 8 digits")
                parsed = datetime.strptime(value, "%Y%m%d")  # zone applied below
            else:
                assert self.pattern is not None  # guaranteed at compile time
                parsed = datetime.strptime(value, self.pattern)  # zone applied below
        except ValueError as exc:
            raise self._fail(
                f"{value!r} is not a date in format {self.pattern or self.format}: {exc}",
                record_pointer,
                where,
            ) from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
        return parsed

    def apply(self, value: Any, record_pointer: str, where: str) -> Any:
        parsed = self._parse(value, record_pointer, where)
        if self.output == "date":
            # The calendar date in the value's own zone (or the mapping's zone for values without one).
            return parsed.date().isoformat()
        return format_datetime(parsed)


# ----------------------------------------------------------------------------------------------------
# Value specs


@dataclass(frozen=True, slots=True)
class _Spec:
    pointer: str  # JSON pointer of this spec inside the mapping document
    source: _Source
    lookup: _Lookup | None = None
    number: _Number | None = None
    date: _Date | None = None
    default: Any = _NO_DEFAULT
    optional: bool = False
    absent_if: frozenset[bytes] = frozenset()  # canonical JSON of the values that count as absent

    def evaluate(self, scope: _Scope) -> Any:
        got = self.source.get(scope, self.pointer)
        if self.absent_if and isinstance(got, _Found) and canonical_json(got.value) in self.absent_if:
            got = _Absent(got.pointer, f"the value at {got.pointer or '/'} is one the mapping counts as absent")
        if isinstance(got, _Absent):
            if self.default is not _NO_DEFAULT:
                return copy_json(self.default)
            if self.optional:
                return MISSING
            raise TranslationError(
                "MAPPING_FIELD_MISSING",
                got.what + " (mark the field optional or give a default if it may be absent)",
                record_pointer=got.pointer,
                mapping_pointer=self.pointer,
            )
        value = got.value
        if self.lookup is not None:
            value = self.lookup.apply(value, got.pointer, self.pointer)
        if self.number is not None:
            value = self.number.apply(value, got.pointer, self.pointer)
        if self.date is not None:
            value = self.date.apply(value, got.pointer, self.pointer)
        return value


class _Compiler:
    """Turns the (schema-valid) mapping JSON into value specs, collecting every semantic problem with its
    pointer."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def problem(self, pointer: str, detail: str, code: str = "MAPPING_SCHEMA") -> None:
        self.problems.append(Problem(code, "invalid mapping", detail, pointer))

    def path(self, text: str, pointer: str) -> RecordPath:
        try:
            return RecordPath.parse(text)
        except InputError as exc:
            self.problem(pointer, str(exc), "MAPPING_PATH_SYNTAX")
            return RecordPath("$", ())

    def spec(self, doc: Mapping[str, Any], pointer: str) -> _Spec:
        source: _Source
        if "path" in doc:
            source = _PathSource(self.path(doc["path"], pointer + "/path"))
        elif "const" in doc:
            source = _ConstSource(doc["const"])
        elif "ledger" in doc:
            source = _LedgerSource(doc["ledger"])
        elif "template" in doc:
            try:
                source = _TemplateSource.compile(doc["template"])
            except InputError as exc:
                self.problem(pointer + "/template", f"template {doc['template']!r}: {exc}", "MAPPING_TEMPLATE_SYNTAX")
                source = _ConstSource("")
        elif "fields" in doc:
            source = _FieldsSource(
                tuple(
                    (name, self.spec(sub, pointer + json_pointer("fields", name)))
                    for name, sub in doc["fields"].items()
                )
            )
        elif "earliest" in doc:
            source = _EarliestSource(
                tuple(self.spec(sub, f"{pointer}/earliest/{i}") for i, sub in enumerate(doc["earliest"]))
            )
        else:
            array = doc["array"]
            if isinstance(array, list):
                source = _ArrayListSource(tuple(self.spec(sub, f"{pointer}/array/{i}") for i, sub in enumerate(array)))
            else:
                source = _ArrayEachSource(
                    self.path(array["path"], pointer + "/array/path"),
                    self.spec(array["each"], pointer + "/array/each"),
                )
        lookup = None
        if "lookup" in doc:
            lookup = _Lookup(dict(doc["lookup"]["table"]), doc["lookup"].get("default", _NO_DEFAULT))
        number = None
        if "number" in doc:
            n = doc["number"]
            n = {"type": n} if isinstance(n, str) else n
            if n["type"] == "integer" and "places" in n:
                self.problem(pointer + "/number/places", "places applies to decimal numbers only")
            if n.get("groupSeparator") and n.get("groupSeparator") == n.get("decimalSeparator", "."):
                self.problem(pointer + "/number/groupSeparator", "group and decimal separators must differ")
            number = _Number(
                n["type"],
                n.get("scale", 0),
                n.get("places"),
                n.get("output", "number"),
                n.get("groupSeparator", ""),
                n.get("decimalSeparator", "."),
            )
        date_ = None
        if "date" in doc:
            d = doc["date"]
            d = {"format": d} if isinstance(d, str) else d
            if d["format"] == "pattern" and "pattern" not in d:
                self.problem(
                    pointer + "/date",
                    "format 'pattern' needs a 'pattern' (strptime directives, e.g. %d/%m/%Y)",
                )
            elif d["format"] != "pattern" and "pattern" in d:
                self.problem(pointer + "/date/pattern", "a pattern is only used with format: pattern")
            elif "pattern" in d and not re.search(r"%[Yy]", d["pattern"]):
                self.problem(
                    pointer + "/date/pattern",
                    "the pattern must contain a year directive (%Y or %y)",
                    "MAPPING_DATE_PATTERN",
                )
            elif "pattern" in d and re.search(r"%[^YymdHMSfzjbBdIpaAeGuVwWUc%T]", d["pattern"]):
                self.problem(
                    pointer + "/date/pattern",
                    f"unsupported strptime directive in {d['pattern']!r}",
                    "MAPPING_DATE_PATTERN",
                )
            date_ = _Date(d["format"], d.get("pattern"), d.get("output", "datetime"), d.get("timezone", "Z"))
        if number is not None and date_ is not None:
            self.problem(pointer, "a value is either a number or a date, not both")
        if "default" in doc and doc.get("optional"):
            self.problem(pointer + "/optional", "a field with a default is never absent; drop 'optional'")
        return _Spec(
            pointer,
            source,
            lookup,
            number,
            date_,
            doc.get("default", _NO_DEFAULT),
            bool(doc.get("optional", False)),
            frozenset(canonical_json(v) for v in doc.get("absentIf", ())),
        )


def _schema_problems(document: Mapping[str, Any]) -> list[Problem]:
    validator = jsonschema.Draft202012Validator(mapping_schema())
    problems = []
    for error in validator.iter_errors(document):
        problems.append(_problem_from(error))
    return sorted(problems, key=lambda p: (p.pointer, p.detail))


_SOURCE_KEYS = ("path", "const", "ledger", "template", "array", "fields", "earliest")


_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "object": dict,
    "array": list,
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
}


def _branch_errors(error: ValidationError) -> list[ValidationError]:
    # For "a string or an object" alternatives, report the errors of the branch whose JSON type the value has:
    # {"format": "iso", "x": 1} should hear about 'x', not that it is not one of the short names.
    branches = error.schema.get(error.validator, []) if isinstance(error.schema, dict) else []
    chosen = []
    for sub in error.context or []:
        index = sub.relative_schema_path[0] if sub.relative_schema_path else None
        branch = branches[index] if isinstance(index, int) and index < len(branches) else {}
        wanted = branch.get("type") if isinstance(branch, dict) else None
        if wanted is None and isinstance(branch, dict) and "enum" in branch:
            wanted = "string"
        if isinstance(wanted, str) and isinstance(error.instance, _JSON_TYPES.get(wanted, object)):
            chosen.append(sub)
    return chosen or list(error.context or [])


def _problem_from(error: ValidationError) -> Problem:
    pointer = json_pointer(*error.absolute_path)
    if (
        error.validator == "oneOf"
        and isinstance(error.instance, dict)
        and error.schema is mapping_schema()["$defs"]["spec"]
    ):
        present = [k for k in _SOURCE_KEYS if k in error.instance]
        detail = (
            "a value needs exactly one source: one of "
            + ", ".join(_SOURCE_KEYS)
            + (f" (found {', '.join(present)})" if present else " (found none)")
        )
        return Problem("MAPPING_SCHEMA", "invalid mapping", detail, pointer)
    if error.context:
        deepest = best_match(_branch_errors(error))
        if deepest is not None:
            return Problem("MAPPING_SCHEMA", "invalid mapping", deepest.message, json_pointer(*deepest.absolute_path))
    if error.validator == "additionalProperties":
        return Problem("MAPPING_SCHEMA", "invalid mapping", error.message, pointer)
    return Problem("MAPPING_SCHEMA", "invalid mapping", error.message, pointer)


# ----------------------------------------------------------------------------------------------------
# The mapping


@dataclass(frozen=True, slots=True)
class MappingInfo:
    """What a mapping publishes about itself: id, version, digest, credential types and issuance mode."""

    id: str
    version: str
    digest: str
    types: tuple[str, ...]
    issuance_mode: IssuanceMode

    def to_json(self) -> dict[str, Any]:
        """JSON form for ``describe`` output."""
        return {
            "id": self.id,
            "version": self.version,
            "digest": self.digest,
            "types": list(self.types),
            "issuanceMode": self.issuance_mode,
        }


def mapping_digest(document: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of the RFC 8785 (JCS) canonical form of a parsed mapping document.

    YAML and JSON spellings of the same mapping have the same digest; any change to its meaning changes it.
    """
    return "sha256:" + hashlib.sha256(canonical_json(dict(document))).hexdigest()


@dataclass(frozen=True, slots=True)
class _Compiled:
    issuer: _Spec | None
    valid_from: _Spec
    valid_until: _Spec | None
    status: _Spec | None
    subject: _Spec


@dataclass(frozen=True, slots=True)
class CredentialMapping:
    """A validated, compiled mapping document. Build with :meth:`from_json`, :meth:`from_text` or
    :meth:`from_file`.

    ``document`` is the parsed JSON (what the digest covers); ``source`` says where it came from, for
    messages.
    """

    document: Mapping[str, Any]
    digest: str
    source: str
    _compiled: _Compiled = field(repr=False, compare=False)

    @classmethod
    def from_json(cls, document: Mapping[str, Any], *, source: str = "<mapping>") -> CredentialMapping:
        """Validate ``document`` against the mapping schema and compile it; raise :class:`MappingError`."""
        if not isinstance(document, Mapping):
            raise MappingError(
                source,
                [Problem("MAPPING_PARSE", "mapping is not an object", "the top level must be an object")],
            )
        problems = _json_problems(dict(document))
        if problems:
            raise MappingError(source, problems)
        doc: dict[str, Any] = json.loads(json.dumps(dict(document)))
        problems = _schema_problems(doc)
        if problems:
            raise MappingError(source, problems)
        compiler = _Compiler()
        cred = doc["credential"]
        issuer = cred["issuer"]
        compiled = _Compiled(
            issuer=compiler.spec(issuer["id"], "/credential/issuer/id") if issuer["mode"] == "partner" else None,
            valid_from=compiler.spec(cred["validFrom"], "/credential/validFrom"),
            valid_until=compiler.spec(cred["validUntil"], "/credential/validUntil") if "validUntil" in cred else None,
            status=(
                compiler.spec(cred["credentialStatus"], "/credential/credentialStatus")
                if "credentialStatus" in cred
                else None
            ),
            subject=compiler.spec(cred["credentialSubject"], "/credential/credentialSubject"),
        )
        if compiler.problems:
            raise MappingError(source, compiler.problems)
        return cls(doc, mapping_digest(doc), source, compiled)

    @classmethod
    def from_text(cls, text: str, *, source: str = "<mapping>") -> CredentialMapping:
        """Parse YAML or JSON text and validate it (see :meth:`from_json`)."""
        return cls.from_json(parse_mapping_text(text, source=source), source=source)

    @classmethod
    def from_file(cls, path: str | Path) -> CredentialMapping:
        """Read a ``.yaml``/``.yml``/``.json`` mapping file."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MappingError(str(p), [Problem("MAPPING_PARSE", "cannot read mapping", str(exc))]) from None
        return cls.from_text(text, source=str(p))

    @property
    def id(self) -> str:
        """The mapping's id (a URI)."""
        return str(self.document["id"])

    @property
    def version(self) -> str:
        """The mapping's version string."""
        return str(self.document["version"])

    @property
    def types(self) -> tuple[str, ...]:
        """The credential ``type`` list the mapping produces."""
        return tuple(self.document["credential"]["type"])

    @property
    def issuance_mode(self) -> IssuanceMode:
        """``partner`` (the partner's DID issues) or ``witness`` (the gateway signs as witness)."""
        mode: IssuanceMode = self.document["credential"]["issuer"]["mode"]
        return mode

    @property
    def embed_record(self) -> bool:
        """Whether evidence embeds the raw record (default) or only its digest and URI."""
        return bool(self.document.get("evidence", {}).get("embedRecord", True))

    def info(self) -> MappingInfo:
        """The published summary of this mapping."""
        return MappingInfo(self.id, self.version, self.digest, self.types, self.issuance_mode)

    # -- evaluation (pure)
    # ---------------------------------------------------------------------------------------

    def evaluate(self, record: SourceRecord, *, witness: str | None) -> dict[str, Any]:
        """Build the credential body (issuer, validity, status, subject) from ``record``; no id, no evidence.

        Raises :class:`TranslationError` when the record does not fit the mapping.
        """
        # The record's own content, read without copying it whole: sources copy what they take (``_PathSource``).
        scope = _Scope(record, record._content, ())
        c = self._compiled
        if c.issuer is None:
            if witness is None:
                raise TranslationError(
                    "MAPPING_WITNESS_REQUIRED",
                    "the mapping is in witness mode: pass the witness's DID (the gateway that will sign)",
                    mapping_pointer="/credential/issuer/mode",
                )
            issuer: Any = witness
        else:
            if witness is not None:
                raise TranslationError(
                    "MAPPING_MODE_MISMATCH",
                    "the mapping is in partner mode (the partner's DID issues); do not pass a witness",
                    mapping_pointer="/credential/issuer/mode",
                )
            issuer = c.issuer.evaluate(scope)
        if not isinstance(issuer, str) or not issuer.startswith("did:"):
            raise TranslationError(
                "MAPPING_ISSUER_INVALID",
                f"issuer {issuer!r} is not a DID",
                mapping_pointer="/credential/issuer" + ("/id" if c.issuer is not None else ""),
            )
        body: dict[str, Any] = {"type": list(self.types), "issuer": issuer}
        body["validFrom"] = _validity(c.valid_from.evaluate(scope), "/credential/validFrom")
        if c.valid_until is not None:
            until = c.valid_until.evaluate(scope)
            if until is not MISSING:
                body["validUntil"] = _validity(until, "/credential/validUntil")
        if c.status is not None:
            status = c.status.evaluate(scope)
            if status is not MISSING:
                if not (
                    isinstance(status, dict) or (isinstance(status, list) and all(isinstance(s, dict) for s in status))
                ):
                    raise TranslationError(
                        "MAPPING_VALUE_INVALID",
                        "credentialStatus must be an object or an array of objects",
                        mapping_pointer="/credential/credentialStatus",
                    )
                body["credentialStatus"] = status
        subject = c.subject.evaluate(scope)
        if not isinstance(subject, dict):
            raise TranslationError(
                "MAPPING_VALUE_INVALID",
                "credentialSubject must be an object",
                mapping_pointer="/credential/credentialSubject",
            )
        body["credentialSubject"] = subject
        return body


_DATE_TIME_STAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def _validity(value: Any, pointer: str) -> str:
    # VC 2.0 §4.9: validFrom/validUntil are dateTimeStamp values (a timezone is required).
    if not isinstance(value, str) or not _DATE_TIME_STAMP.match(value):
        raise TranslationError(
            "MAPPING_VALIDITY_INVALID",
            f"{value!r} is not a date-time with a timezone; use a date transform or ledger: time",
            mapping_pointer=pointer,
        )
    return value
