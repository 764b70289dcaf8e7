"""The packaged JSON Schemas (``schemas/``, from ``scripts/derive_schemas.py``) and compiled validators."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

import jsonschema_rs
from jsonschema import Draft202012Validator

from ._errors import VcgateError
from ._schema_formats import format_checker, is_date, is_url, parse_date_time


@dataclass(frozen=True, slots=True)
class _PackagedSchema:
    name: str
    kind: Literal["credential", "data"]
    document: Mapping[str, Any]


@cache
def _index() -> Mapping[str, Mapping[str, Any]]:
    # the index alone: a process verifying one credential type parses (and hash-checks) only that type's schema
    root = resources.files(__package__).joinpath("schemas")
    index = json.loads(root.joinpath("index.json").read_text(encoding="utf-8"))
    return {entry["name"]: entry for entry in index["schemas"]}


@cache
def _packaged_one(name: str) -> _PackagedSchema:
    entry = _index()[name]
    raw = resources.files(__package__).joinpath("schemas", entry["file"]).read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    if digest != entry["sha256"]:
        raise VcgateError(
            f"packaged schema {entry['name']} ({entry['file']}) has sha256 {digest}, expected "
            f"{entry['sha256']}: the installed package is corrupt or was edited by hand; "
            "reinstall vcgate or re-run scripts/derive_schemas.py"
        )
    return _PackagedSchema(entry["name"], entry["kind"], json.loads(raw))


@cache
def known_credential_types() -> tuple[str, ...]:
    """The credential types that have a canonical JSON Schema, in the order of ``schemas/index.json``."""
    return tuple(name for name, entry in _index().items() if entry["kind"] == "credential")


def schema_for(type_name: str) -> dict[str, Any] | None:
    """A copy of the canonical JSON Schema (2020-12, self-contained) for a credential or data type, or
    ``None``.

    Credential types are listed by :func:`known_credential_types`; data schemas are ``LedgerEvidence`` and
    ``CBPImporterOfRecord``.
    """
    if type_name not in _index():
        return None
    return copy.deepcopy(dict(_packaged_one(type_name).document))


@cache
def compiled_validator(type_name: str) -> Draft202012Validator:
    """The cached compiled validator for one packaged schema (KeyError for an unknown name)."""
    return Draft202012Validator(_packaged_one(type_name).document, format_checker=format_checker())


def _rs_date_time(value: str) -> bool:
    return parse_date_time(value) is not None


@cache
def fast_validator(type_name: str) -> Any:
    """A compiled ``jsonschema-rs`` validator for one packaged schema, asserting the same three formats.

    Used as a fast yes/no pre-check (≈ 10 µs instead of ≈ 1.5 ms per credential); only when it says "invalid" does
    :func:`validate` run the ``jsonschema`` validator that produces the detailed problems. A test checks both agree
    on every valid and invalid case of the schema tests.
    """
    return jsonschema_rs.validator_for(
        dict(_packaged_one(type_name).document),
        formats={"date-time": _rs_date_time, "date": is_date, "uri": is_url},
        validate_formats=True,
        ignore_unknown_formats=True,
        offline=True,
    )
