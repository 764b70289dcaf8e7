"""``validate()``: the shape of a credential, before any JSON-LD or cryptography.

Two layers, both pure:

1. Base rules of the VC data model that need no JSON-LD processing (VC 2.0 §4, VC 1.1 §4): ``@context`` first
   entry, ``type``, ``id``, ``issuer``, ``credentialSubject``, date formats and the validity period. They
   apply to
   every credential, whatever its type.
2. The canonical JSON Schema of every vcgate credential type named in ``type`` (``schemas/``, derived from the
   Traceability Vocabulary by ``scripts/derive_schemas.py``). Credentials of other types get the base rules
   only;
   whether an unknown type is acceptable is the trust policy's decision, not a shape problem.

A schema problem at or below a field a base rule already reported is suppressed, so one mistake yields one
problem.
Problem codes are documented in docs/canonical-schemas.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Any

from jsonschema import ValidationError
from jsonschema.exceptions import best_match

from ._contexts import CREDENTIALS_V1_URL, CREDENTIALS_V2_URL
from ._problems import Problem, json_pointer
from ._related import related_resource_issues
from ._schema_formats import is_url, parse_date_time
from ._schemas import compiled_validator, fast_validator, known_credential_types

#: Every problem code ``validate()`` can return, with its title. Codes never change meaning once published.
VALIDATION_PROBLEM_CODES: Mapping[str, str] = MappingProxyType(
    {
        "CREDENTIAL_NOT_OBJECT": "Credential is not a JSON object",
        "CONTEXT_INVALID": "@context is missing or does not start with the VC context",
        "TYPE_INVALID": "type is missing or does not include VerifiableCredential",
        "ID_INVALID": "id is not a URL",
        "ISSUER_INVALID": "issuer is missing, or not a URL or an object with an id URL",
        "CREDENTIAL_SUBJECT_MISSING": "credentialSubject is missing",
        "CREDENTIAL_SUBJECT_INVALID": "credentialSubject is not an object or a non-empty array of objects",
        "DATETIME_INVALID": "Date is not an XML Schema dateTime with a timezone",
        "VALIDITY_START_MISSING": "VC 1.1 credential without issuanceDate",
        "VALIDITY_PERIOD_INVALID": "Validity period ends before it starts",
        "DATA_MODEL_VERSION_MISMATCH": "VC 1.1 property in a VC 2.0 credential",
        "SCHEMA_VIOLATION": "Credential does not match the canonical JSON Schema of its type",
        "TYPED_OBJECT_INVALID": "credentialStatus, credentialSchema, evidence, termsOfUse or refreshService value "
        "is not an object with a type",
        "RELATED_RESOURCE_INVALID": "relatedResource is not a list of objects with a unique id URL and a digest",
        "RELATED_RESOURCE_DIGEST_MISMATCH": "relatedResource digest differs from the known resource's digest",
    }
)

_DATE_FIELDS = ("validFrom", "validUntil", "issuanceDate", "expirationDate")
# VC 1.1 §4.6/§4.7 names; the credentials/v2 context does not define them (VC 2.0 §4.8 replaced them).
_V1_ONLY_FIELDS = ("issuanceDate", "expirationDate")
_MAX_DETAIL = 240


def _problem(code: str, pointer: str, detail: str, **extra: Any) -> Problem:
    return Problem(code, VALIDATION_PROBLEM_CODES[code], detail, pointer, dict(extra))


def validate(credential: Any) -> list[Problem]:
    """Check a parsed JSON credential against the base VC data-model rules and its types' canonical schemas.

    Returns every problem found (an empty list means the shape is valid); never raises on bad input. No
    JSON-LD
    processing happens here: undefined terms are the strict-terms check's business.
    """
    if not isinstance(credential, Mapping):
        return [_problem("CREDENTIAL_NOT_OBJECT", "", f"expected a JSON object, got {type(credential).__name__}")]
    problems = _base_rules(credential)
    covered = [p.pointer for p in problems]
    seen: set[tuple[str, str, str]] = set()
    for type_name in _schema_types(credential.get("type")):
        for problem in _schema_problems(type_name, credential):
            key = (problem.code, problem.pointer, problem.detail)
            if key in seen or any(_within(problem.pointer, c) for c in covered):
                continue
            seen.add(key)
            problems.append(problem)
    return problems


def _within(pointer: str, ancestor: str) -> bool:
    return pointer == ancestor or pointer.startswith(ancestor + "/")


def _schema_types(types: Any) -> list[str]:
    names = [types] if isinstance(types, str) else types if isinstance(types, list) else []
    known = known_credential_types()
    out: list[str] = []
    for name in names:
        if isinstance(name, str) and name in known and name not in out:
            out.append(name)
    return out


# --- base rules
# ----------------------------------------------------------------------------------------------------


def _base_rules(vc: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    version = _check_context(vc, problems)
    _check_type(vc, problems)
    _check_id(vc, problems)
    _check_issuer(vc, problems)
    _check_subject(vc, problems)
    _check_typed_objects(vc, problems)
    if "relatedResource" in vc:
        problems.extend(_problem(c, ptr, d) for c, ptr, d in related_resource_issues(vc["relatedResource"]))
    _check_dates(vc, version, problems)
    return problems


def _check_context(vc: Mapping[str, Any], problems: list[Problem]) -> int | None:
    # VC 2.0 §4.3: @context is an ordered set whose first item is https://www.w3.org/ns/credentials/v2;
    # VC 1.1 §4.1: the first item is https://www.w3.org/2018/credentials/v1.
    if "@context" not in vc:
        problems.append(_problem("CONTEXT_INVALID", "/@context", "@context is missing"))
        return None
    context = vc["@context"]
    if not isinstance(context, list) or not context:
        problems.append(_problem("CONTEXT_INVALID", "/@context", "@context must be a non-empty array"))
        return None
    first = context[0]
    if first == CREDENTIALS_V2_URL:
        return 2
    if first == CREDENTIALS_V1_URL:
        return 1
    problems.append(
        _problem(
            "CONTEXT_INVALID",
            "/@context/0",
            f"the first @context entry must be {CREDENTIALS_V2_URL} (or {CREDENTIALS_V1_URL} for VC 1.1), "
            f"got {_short(first)}",
        )
    )
    return None


def _check_type(vc: Mapping[str, Any], problems: list[Problem]) -> None:
    # VC 2.0 §4.5: type is one or more terms, and a credential's includes VerifiableCredential.
    if "type" not in vc:
        problems.append(_problem("TYPE_INVALID", "/type", "type is missing"))
        return
    types = vc["type"]
    names = [types] if isinstance(types, str) else types
    if not isinstance(names, list) or not names or not all(isinstance(t, str) and t for t in names):
        problems.append(_problem("TYPE_INVALID", "/type", "type must be a string or a non-empty array of strings"))
    elif "VerifiableCredential" not in names:
        problems.append(_problem("TYPE_INVALID", "/type", "type must include VerifiableCredential"))


def _check_id(vc: Mapping[str, Any], problems: list[Problem]) -> None:
    # VC 2.0 §4.4: id, when present, is a single URL.
    if "id" in vc and not (isinstance(vc["id"], str) and is_url(vc["id"])):
        problems.append(_problem("ID_INVALID", "/id", f"id must be an absolute URL, got {_short(vc['id'])}"))


def _check_issuer(vc: Mapping[str, Any], problems: list[Problem]) -> None:
    # VC 2.0 §4.7: issuer is a URL or an object whose id is a URL.
    if "issuer" not in vc:
        problems.append(_problem("ISSUER_INVALID", "/issuer", "issuer is missing"))
        return
    issuer = vc["issuer"]
    if isinstance(issuer, str):
        if not is_url(issuer):
            problems.append(_problem("ISSUER_INVALID", "/issuer", f"issuer is not a URL: {_short(issuer)}"))
    elif isinstance(issuer, Mapping):
        issuer_id = issuer.get("id")
        if not (isinstance(issuer_id, str) and is_url(issuer_id)):
            problems.append(_problem("ISSUER_INVALID", "/issuer/id", "an issuer object needs an id that is a URL"))
    else:
        problems.append(_problem("ISSUER_INVALID", "/issuer", "issuer must be a URL or an object with an id"))


def _check_subject(vc: Mapping[str, Any], problems: list[Problem]) -> None:
    # VC 2.0 §4.9: credentialSubject is one or more objects.
    if "credentialSubject" not in vc:
        problems.append(_problem("CREDENTIAL_SUBJECT_MISSING", "/credentialSubject", "credentialSubject is missing"))
        return
    subject = vc["credentialSubject"]
    ok = isinstance(subject, Mapping) or (
        isinstance(subject, list) and bool(subject) and all(isinstance(s, Mapping) for s in subject)
    )
    # VC 2.0 §4.8: each subject object is the subject of one or more claims, so `{}` says nothing.
    if ok and any(not s for s in (subject if isinstance(subject, list) else [subject])):
        problems.append(
            _problem(
                "CREDENTIAL_SUBJECT_INVALID",
                "/credentialSubject",
                "each credentialSubject object must hold at least one claim (an empty object is not a subject)",
            )
        )
    elif not ok:
        problems.append(
            _problem(
                "CREDENTIAL_SUBJECT_INVALID",
                "/credentialSubject",
                "credentialSubject must be an object or a non-empty array of objects",
            )
        )


# VC 2.0 §4.10 (status), §4.11 (credentialSchema), §5.4 (refreshService), §5.5 (termsOfUse), §5.6 (evidence):
# every value is an object that MUST specify its type; an id, where present, follows §4.4 (a URL).
_TYPED_OBJECTS = ("credentialStatus", "credentialSchema", "evidence", "termsOfUse", "refreshService")


def _check_typed_objects(vc: Mapping[str, Any], problems: list[Problem]) -> None:
    for name in _TYPED_OBJECTS:
        if name not in vc:
            continue
        value = vc[name]
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            ptr = json_pointer(name, index) if isinstance(value, list) else json_pointer(name)
            detail = _typed_object_problem(name, item)
            if detail:
                problems.append(_problem("TYPED_OBJECT_INVALID", ptr, detail))


def _typed_object_problem(name: str, item: Any) -> str:
    if not isinstance(item, Mapping):
        return f"each {name} value must be an object, got {_short(item)}"
    types = item.get("type")
    names = [types] if isinstance(types, str) else types if isinstance(types, list) else None
    if not names or not all(isinstance(t, str) and t for t in names):
        return f"each {name} object must specify its type (a string or an array of strings)"
    if "id" in item and not (isinstance(item["id"], str) and is_url(item["id"])):
        return f"the id of a {name} object must be a URL, got {_short(item['id'])}"
    if name == "credentialSchema" and "id" not in item:
        return "each credentialSchema object needs an id (the URL of the schema)"
    return ""


def _check_dates(vc: Mapping[str, Any], version: int | None, problems: list[Problem]) -> None:
    parsed = {}
    for field in _DATE_FIELDS:
        if field not in vc:
            continue
        value = vc[field]
        when = parse_date_time(value) if isinstance(value, str) else None
        if when is None:
            problems.append(
                _problem(
                    "DATETIME_INVALID",
                    json_pointer(field),
                    f"{field} must be an XML Schema dateTime with a timezone (e.g. 2024-05-01T00:00:00Z), "
                    f"got {_short(value)}",
                )
            )
        else:
            parsed[field] = when
    if version == 2:
        for field in _V1_ONLY_FIELDS:
            if field in vc:
                problems.append(
                    _problem(
                        "DATA_MODEL_VERSION_MISMATCH",
                        json_pointer(field),
                        f"{field} is a VC 1.1 property; a credentials/v2 document uses "
                        f"{'validFrom' if field == 'issuanceDate' else 'validUntil'}",
                    )
                )
    elif version == 1 and "issuanceDate" not in vc:
        # VC 1.1 §4.6: a credential MUST have an issuanceDate.
        problems.append(
            _problem("VALIDITY_START_MISSING", "/issuanceDate", "a VC 1.1 credential must have issuanceDate")
        )
    for start, end in (("validFrom", "validUntil"), ("issuanceDate", "expirationDate")):
        if start in parsed and end in parsed and parsed[end] < parsed[start]:
            problems.append(_problem("VALIDITY_PERIOD_INVALID", json_pointer(end), f"{end} is earlier than {start}"))


# --- JSON Schema
# -------------------------------------------------------------------------------------------------


def _schema_problems(type_name: str, vc: Mapping[str, Any]) -> list[Problem]:
    if fast_validator(type_name).is_valid(vc):
        return []
    validator = compiled_validator(type_name)
    problems: list[Problem] = []
    for error in validator.iter_errors(vc):
        problems.extend(_from_error(type_name, error))
    problems.sort(key=lambda p: (p.pointer, p.extra.get("keyword", ""), p.detail))
    return problems


def _from_error(type_name: str, error: ValidationError) -> Iterable[Problem]:
    path = list(error.absolute_path)
    keyword = str(error.validator)
    extra = {"schema": type_name, "keyword": keyword}
    instance = error.instance
    if keyword == "required" and isinstance(instance, Mapping):
        # One problem per missing property, pointing at where it should be.
        names = error.validator_value if isinstance(error.validator_value, list) else []
        for name in names:
            if name not in instance:
                yield _problem(
                    "SCHEMA_VIOLATION",
                    json_pointer(*path, name),
                    f"{name!r} is required by the {type_name} schema",
                    **extra,
                )
        return
    if keyword == "additionalProperties" and isinstance(instance, Mapping) and error.validator_value is False:
        schema = error.schema if isinstance(error.schema, Mapping) else {}
        allowed = set(schema.get("properties", {}))
        for name in instance:
            if name not in allowed:
                yield _problem(
                    "SCHEMA_VIOLATION",
                    json_pointer(*path, name),
                    f"{name!r} is not allowed here by the {type_name} schema",
                    **extra,
                )
        return
    message = error.message
    if error.context:
        # anyOf/oneOf: explain with the most relevant alternative.
        message = best_match(error.context).message
    yield _problem("SCHEMA_VIOLATION", json_pointer(*path), _truncate(message), **extra)


def _truncate(text: str) -> str:
    return text if len(text) <= _MAX_DETAIL else text[: _MAX_DETAIL - 1] + "…"


def _short(value: Any) -> str:
    return _truncate(repr(value))
