#!/usr/bin/env python3
"""Derive vcgate's canonical JSON Schemas from the W3C CCG Traceability Vocabulary's.

Reads the pinned upstream copy in ``canonical_schema/upstream/traceability/`` and writes one self-contained
JSON Schema
(Draft 2020-12, every ``$ref`` inlined) per canonical type into ``canonical_schema/schemas/``, plus
``index.json``.

    python scripts/derive_schemas.py           # (re)write the schemas
    python scripts/derive_schemas.py --check   # exit 1 if the committed schemas differ from a fresh
    derivation

The derivation rules (ARCHITECTURE.md, "The canonical credential"; docs/canonical-schemas.md lists them too):

R1  Header. Each schema gets ``$schema`` (2020-12), an ``$id`` under https://w3id.org/vcgate/schemas/v1/ and a
    ``$comment`` naming the upstream file and its SHA-256. Upstream ``example`` strings are dropped: they
    carry the
    upstream two-entry ``@context`` and some do not validate against their own schema.
R2  ``$ref`` is resolved by inlining the referenced upstream file (``.yml`` names map to the ``.json`` copy).
R3  ``@context``: upstream fixes it to two URLs (GS1's schemas even name GS1's unpinned licence context).
Canonical:
    first entry credentials/v2 (or credentials/v1 for a VC 1.1 document); traceability/v1 present; the rest
    optionally vcgate's context and the pinned proof-suite contexts. Order beyond the first entry is free (VC
    2.0 §4.3 fixes only the first; real issuers put proof-suite contexts before traceability/v1); no
    duplicates.
R4  ``type``: upstream fixes the exact array; canonical requires an array containing ``VerifiableCredential``
and
    the credential type (VC 2.0 §4.5 allows more types, and a credential may carry two vcgate types).
R5  ``issuer``: a URL or the upstream issuer object (VC 2.0 §4.7); if upstream allows only a string, an object
with
    an ``id`` URL.
R6  Validity: ``validFrom``, ``validUntil``, and the VC 1.1 ``issuanceDate``/``expirationDate`` are allowed
(all
    ``date-time``); where upstream requires ``validFrom``, a credential needs ``validFrom`` or
    ``issuanceDate``.
R7  ``evidence``, ``credentialStatus``, ``proof`` and ``relatedResource`` are allowed on every credential: an
object
    or a non-empty array of objects, each with a ``type`` (``relatedResource``: ``id`` and a digest, VC 2.0
    §5.3).
    Evidence whose type includes ``LedgerEvidence`` must match vcgate's LedgerEvidence schema; other evidence
    keeps
    the upstream evidence schema where there is one (IntellectualPropertyRightsCredential). The upstream
    ``proof``
    snippet (Ed25519Signature2018 only) is replaced by the generic rule.
R8  IntellectualPropertyRightsLicenseCredential: vcgate's licence terms are added to the subject (licensor,
    licenseId, licenseTerritory, licensedProducts, licenseTerm{termStart, termEnd, conditions},
    recordationNumber);
    ``licensee`` and ``extendsCredential`` stay required as upstream says.
R9  IntellectualPropertyRightsCredential: the subject may carry the CBP ``recordationNumber``.
R10 Our own schemas (LedgerEvidence, VerificationReport) are defined in this script, not derived.

Run it after changing the upstream copy or these rules; ``tests/canonical_schema`` checks the committed output
is
byte-for-byte what this script produces.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM = ROOT / "canonical_schema" / "upstream" / "traceability"
OUT = ROOT / "canonical_schema" / "schemas"

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
ID_BASE = "https://w3id.org/vcgate/schemas/v1/"
UPSTREAM_SOURCE = "w3c-ccg/traceability-vocab@961fb742f18ad088ee753f9138c82f12e6d2d919"

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
CREDENTIALS_V1 = "https://www.w3.org/2018/credentials/v1"
TRACEABILITY_V1 = "https://w3id.org/traceability/v1"
VCGATE_V1 = "https://w3id.org/vcgate/v1"
# Proof-suite contexts a VC 1.1 document needs next to credentials/v1 (all pinned in
# canonical_schema/contexts).
LEGACY_SUITE_CONTEXTS = (
    "https://w3id.org/security/suites/ed25519-2020/v1",
    "https://w3id.org/security/data-integrity/v2",
    "https://w3id.org/vc/status-list/2021/v1",
)

#: Canonical credential types, in the order of the IPR chain, then steel, then product registration (what a
#: manufacturer's product ledger publishes: the Fabric adapter's product-registration mapping).
CREDENTIAL_TYPES = (
    "GS1CompanyPrefixLicenseCredential",
    "GS1IdentificationKeyLicenseCredential",
    "IntellectualPropertyRightsCredential",
    "IntellectualPropertyRightsLicenseCredential",
    "CommercialInvoiceCredential",
    "CBP3461EntryCredential",
    "EntryNumberCredential",
    "MillTestReportCredential",
    "ProductRegistrationCredential",
)
#: Data (non-credential) schemas derived from upstream ``common/`` files.
DATA_SCHEMAS = {"CBPImporterOfRecord": "common/CBPImporterOfRecord.json"}

# Keywords whose value is a schema, a list of schemas, or a map of name -> schema (JSON Schema 2020-12
# core/applicator).
_SCHEMA_VALUED = ("items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")
_DROPPED_KEYWORDS = ("example",)

Json = dict[str, Any]


# --- R1/R2: loading upstream files with $refs inlined
# ------------------------------------------------------------


def _upstream_file(relpath: str) -> Path:
    path = (UPSTREAM / relpath).resolve()
    if UPSTREAM.resolve() not in path.parents:
        raise SystemExit(f"$ref {relpath!r} leaves the upstream copy")
    return path


def _sha256(relpath: str) -> str:
    return hashlib.sha256(_upstream_file(relpath).read_bytes()).hexdigest()


def load_resolved(relpath: str, _stack: tuple[str, ...] = ()) -> Json:
    """Load an upstream schema with every ``$ref`` replaced by the referenced schema (recursively)."""
    if relpath in _stack:
        raise SystemExit(f"$ref cycle: {' -> '.join((*_stack, relpath))}; inline by hand or use $defs")
    doc = json.loads(_upstream_file(relpath).read_text(encoding="utf-8"))
    base = Path(relpath).parent
    return _resolve(doc, base, (*_stack, relpath))


def _resolve(schema: Any, base: Path, stack: tuple[str, ...]) -> Any:
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        ref = schema["$ref"]
        if "#" in ref:
            raise SystemExit(f"unsupported $ref {ref!r} in {stack[-1]}")
        target = (base / ref).as_posix().removesuffix(".yml") + ".json"
        resolved = load_resolved(_normalise(target), stack)
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        resolved.update(_resolve(siblings, base, stack))
        return resolved
    out: Json = {}
    for key, value in schema.items():
        if key in _DROPPED_KEYWORDS:
            continue
        if key in _SCHEMA_VALUED:
            out[key] = _resolve(value, base, stack)
        elif key in _SCHEMA_LISTS:
            out[key] = [_resolve(v, base, stack) for v in value]
        elif key in _SCHEMA_MAPS:
            out[key] = {k: _resolve(v, base, stack) for k, v in value.items()}
        else:
            out[key] = value
    return out


def _normalise(path: str) -> str:
    parts: list[str] = []
    for part in path.split("/"):
        if part == "..":
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    return "/".join(parts)


# --- shared building blocks
# ----------------------------------------------------------------------------------------

_STRING_OR_STRINGS: Json = {
    "anyOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 1},
    ]
}
_DATE_TIME: Json = {"type": "string", "format": "date-time"}
_URI: Json = {"type": "string", "format": "uri"}


def _has_type(name: str) -> Json:
    """Matches a ``type`` value that is ``name`` or an array containing it."""
    return {"anyOf": [{"const": name}, {"type": "array", "contains": {"const": name}}]}


def _one_or_many(item: Json) -> Json:
    """An object matching ``item`` or a non-empty array of them; if/then/else keeps error pointers precise."""
    return {
        "type": ["object", "array"],
        "if": {"type": "array"},
        "then": {"minItems": 1, "items": item},
        "else": item,
    }


def context_schema() -> Json:
    """R3: the canonical ``@context`` rule."""
    return {
        "type": "array",
        "minItems": 2,
        "uniqueItems": True,
        "prefixItems": [{"enum": [CREDENTIALS_V2, CREDENTIALS_V1]}],
        "items": {"enum": [TRACEABILITY_V1, VCGATE_V1, *LEGACY_SUITE_CONTEXTS]},
        "contains": {"const": TRACEABILITY_V1},
    }


def credential_type_schema(type_name: str) -> Json:
    """R4: an array of type names containing VerifiableCredential and ``type_name``."""
    return {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "uniqueItems": True,
        "allOf": [{"contains": {"const": "VerifiableCredential"}}, {"contains": {"const": type_name}}],
    }


def issuer_schema(upstream: Json | None) -> Json:
    """R5: a URL, or the upstream issuer object (an object with an ``id`` where upstream wants a string)."""
    if upstream is not None and upstream.get("type") == "object":
        obj = copy.deepcopy(upstream)
    else:
        obj = {
            "type": "object",
            "properties": {"id": _URI, "type": _STRING_OR_STRINGS, "name": {"type": "string"}},
            "required": ["id"],
        }
    out: Json = {}
    for key in ("title", "description"):
        if upstream is not None and key in upstream:
            out[key] = upstream[key]
    out.update({"type": ["string", "object"], "if": {"type": "string"}, "then": {"format": "uri"}, "else": obj})
    return out


def ledger_evidence_schema() -> Json:
    """R10: vcgate's ``LedgerEvidence`` (terms from https://w3id.org/vcgate/v1)."""
    return {
        "title": "Ledger evidence",
        "description": (
            "Where a credential's claims were read on a ledger, and what anyone needs to re-check that "
            "offline: the ledger id and locator, the raw record (or its digest and where to fetch it), "
            "ledger-native proof material, the native signer, the ledger time and height observed, and the "
            "mapping that produced the credential."
        ),
        "type": "object",
        "properties": {
            "id": _URI,
            "type": {"allOf": [_STRING_OR_STRINGS, _has_type("LedgerEvidence")]},
            "ledgerId": {
                "description": "CAIP-2 style ledger id: eip155:<chainId>, fabric:<16 hex of the genesis "
                "block hash>, plain:<log key fingerprint>, or another namespace:reference.",
                "type": "string",
                "pattern": "^[-a-z0-9]{3,8}:[-_a-zA-Z0-9.=]{1,128}$",
                "allOf": [
                    {
                        "if": {"pattern": "^eip155:"},
                        "then": {"pattern": "^eip155:[1-9][0-9]*$"},
                    },
                    {
                        "if": {"pattern": "^fabric:"},
                        "then": {"pattern": "^fabric:[0-9a-f]{16}$"},
                    },
                ],
            },
            "ledgerKind": {"type": "string", "minLength": 1},
            "channel": {"type": "string", "minLength": 1},
            "locator": {"type": "string", "minLength": 1},
            "rawRecord": {"description": "The record as the ledger holds it (a JSON literal)."},
            "recordMediaType": {"description": "Media type of a base64url rawRecord.", "type": "string"},
            "recordDigest": {
                "description": "sha256:<hex> of the raw bytes, or of the RFC 8785 form of a JSON raw record.",
                "type": "string",
                "pattern": "^sha256:[0-9a-f]{64}$",
            },
            "recordUri": _URI,
            "proofMaterial": {"description": "Ledger-native proof material (a JSON literal)."},
            "nativeSigner": {"description": "The ledger-native signer (a JSON literal)."},
            "ledgerTime": _DATE_TIME,
            "ledgerHeight": {"type": "integer", "minimum": 0},
            "finality": {"description": "Finality observed (a JSON literal)."},
            "mappingId": {"type": "string", "minLength": 1},
            "mappingDigest": {"type": "string", "minLength": 1},
            "issuanceMode": {"enum": ["partner", "witness"]},
        },
        # ARCHITECTURE.md, "Anatomy of a translated credential": where the record is, the record (or its
        # digest), who signed it natively, the ledger time and height observed, and the mapping. Proof
        # material is ledger-specific and judged by the evidence stage; vcgate.adapters.sdk always emits it.
        "required": [
            "type",
            "ledgerId",
            "ledgerKind",
            "locator",
            "nativeSigner",
            "ledgerTime",
            "ledgerHeight",
            "mappingId",
            "mappingDigest",
            "issuanceMode",
        ],
        "if": {"required": ["rawRecord"]},
        "else": {"required": ["recordDigest"]},
        "additionalProperties": False,
    }


def evidence_schema(fallback: Json | None) -> Json:
    """R7: evidence items: LedgerEvidence ones match its schema, others ``fallback`` (or any typed object)."""
    item: Json = {
        "type": "object",
        "properties": {"type": _STRING_OR_STRINGS},
        "required": ["type"],
        "if": {"required": ["type"], "properties": {"type": _has_type("LedgerEvidence")}},
        "then": ledger_evidence_schema(),
    }
    if fallback is not None:
        item["else"] = fallback
    return _one_or_many(item)


def status_schema() -> Json:
    """R7: ``credentialStatus`` entries (VC 2.0 §4.10): objects with a ``type`` and an optional ``id`` URL."""
    return _one_or_many(
        {"type": "object", "properties": {"id": _URI, "type": _STRING_OR_STRINGS}, "required": ["type"]}
    )


def proof_schema() -> Json:
    """R7: embedded proofs (VC Data Integrity §2.1) are the proof stage's business; here, typed objects."""
    return _one_or_many({"type": "object", "properties": {"type": _STRING_OR_STRINGS}, "required": ["type"]})


def related_resource_schema() -> Json:
    """R7: ``relatedResource`` (VC 2.0 §5.3): an ``id`` and at least one digest."""
    return _one_or_many(
        {
            "type": "object",
            "properties": {
                "id": _URI,
                "digestSRI": {"type": "string", "pattern": "^sha(256|384|512)-[A-Za-z0-9+/]+={0,2}$"},
                "digestMultibase": {"type": "string", "pattern": "^[a-zA-Z0-9]"},
                "mediaType": {"type": "string"},
            },
            "required": ["id"],
            "anyOf": [{"required": ["digestSRI"]}, {"required": ["digestMultibase"]}],
        }
    )


def _header(name: str, source: str | None) -> Json:
    head: Json = {"$schema": SCHEMA_DIALECT, "$id": f"{ID_BASE}{name}.json"}
    if source is not None:
        head["$comment"] = (
            f"Derived by scripts/derive_schemas.py from {UPSTREAM_SOURCE} docs/openapi/components/schemas/"
            f"{source.removesuffix('.json')}.yml (JSON copy sha256 {_sha256(source)}); rules in "
            "docs/canonical-schemas.md. Do not edit by hand."
        )
    else:
        head["$comment"] = (
            "Defined by vcgate in scripts/derive_schemas.py; docs/canonical-schemas.md. Do not edit by hand."
        )
    return head


# --- R8/R9: per-type additions
# -------------------------------------------------------------------------------------


def _licence_terms(licensee: Json, product: Json) -> dict[str, Json]:
    party = copy.deepcopy(licensee)
    party["title"] = "IPR Licensor Organization"
    party["description"] = "Organization granting the licence (defaults to the issuer)."
    return {
        "licensor": party,
        "licenseId": {
            "description": "The licensor's identifier for this licence.",
            "type": "string",
            "minLength": 1,
        },
        "licenseTerritory": {
            "description": "Countries where the licence applies (ISO 3166-1 alpha-2).",
            "type": "array",
            "items": {"type": "string", "pattern": "^[A-Z]{2}$"},
            "minItems": 1,
            "uniqueItems": True,
        },
        "licensedProducts": {
            "description": "Products the licence covers; linking matches their GTINs.",
            "type": "array",
            "items": copy.deepcopy(product),
            "minItems": 1,
        },
        "licenseTerm": {
            "description": "The licence period and conditions (the credential's validity bounds the claim).",
            "type": "object",
            "properties": {"termStart": _DATE_TIME, "termEnd": _DATE_TIME, "conditions": {"type": "string"}},
            "required": ["termStart"],
            "additionalProperties": False,
        },
        "recordationNumber": _recordation_number(),
    }


def _recordation_number() -> Json:
    return {
        "description": "U.S. CBP recordation number of the right (19 CFR Part 133), e.g. 'TMK 21-00123'.",
        "type": "string",
        "minLength": 1,
    }


def _add_ipr_licence_terms(schema: Json) -> None:
    subject = schema["properties"]["credentialSubject"]
    props = subject["properties"]
    props.update(_licence_terms(props["licensee"], load_resolved("common/Product.json")))
    required = subject.setdefault("required", [])
    for name in ("licensee", "extendsCredential"):
        if name not in required:
            required.append(name)


def _add_recordation_number(schema: Json) -> None:
    schema["properties"]["credentialSubject"]["properties"]["recordationNumber"] = _recordation_number()


_EXTRAS: dict[str, Callable[[Json], None]] = {
    "IntellectualPropertyRightsLicenseCredential": _add_ipr_licence_terms,
    "IntellectualPropertyRightsCredential": _add_recordation_number,
}


# --- credential schemas
# --------------------------------------------------------------------------------------------


def derive_credential(type_name: str) -> Json:
    """Apply R1-R9 to one upstream credential schema."""
    source = f"credentials/{type_name}.json"
    upstream = load_resolved(source)
    linked = upstream.get("$linkedData", {})
    if linked.get("term") != type_name:
        raise SystemExit(f"{source} describes {linked.get('term')!r}, not {type_name!r}")
    props_in: Json = upstream["properties"]

    props: Json = {}
    for key, value in props_in.items():
        if key == "@context":
            props[key] = context_schema()
        elif key == "type":
            props[key] = credential_type_schema(type_name)
        elif key == "issuer":
            props[key] = issuer_schema(value)
        elif key == "evidence":
            props[key] = evidence_schema(_typed(value))
        elif key in ("proof", "credentialStatus", "validFrom", "validUntil"):
            continue  # replaced below, in a fixed order
        else:
            props[key] = value
    props.setdefault("issuer", issuer_schema(None))
    props.setdefault("evidence", evidence_schema(None))
    props["validFrom"] = _DATE_TIME
    props["validUntil"] = _DATE_TIME
    props["issuanceDate"] = _DATE_TIME
    props["expirationDate"] = _DATE_TIME
    props["credentialStatus"] = status_schema()
    props["relatedResource"] = related_resource_schema()
    props["proof"] = proof_schema()

    required = [r for r in upstream.get("required", []) if r != "validFrom"]
    schema: Json = _header(type_name, source)
    for key in ("$linkedData", "title", "description", "tags"):
        if key in upstream:
            schema[key] = upstream[key]
    schema["type"] = "object"
    schema["properties"] = props
    schema["required"] = required
    if "validFrom" in upstream.get("required", []):
        # R6: VC 2.0 validFrom or VC 1.1 issuanceDate.
        schema["if"] = {"required": ["issuanceDate"]}
        schema["else"] = {"required": ["validFrom"]}
    schema["additionalProperties"] = upstream.get("additionalProperties", True)
    extra = _EXTRAS.get(type_name)
    if extra is not None:
        extra(schema)
    return schema


def _typed(upstream_evidence: Json) -> Json:
    out = copy.deepcopy(upstream_evidence)
    out.setdefault("properties", {})["type"] = _STRING_OR_STRINGS
    return out


def derive_data_schema(name: str, source: str) -> Json:
    """A data (node) schema: the upstream file with ``$ref``s inlined and a header."""
    upstream = load_resolved(source)
    return {**_header(name, source), **upstream}


def verification_report_schema() -> Json:
    """R10: the signed result of a verification job (ARCHITECTURE.md, "Linking and verdicts")."""
    verdict = {"enum": ["authorized", "not_authorized", "undetermined"]}
    line = {
        "type": "object",
        "properties": {
            "line": {"type": "integer", "minimum": 1},
            "gtin": {"type": "string", "pattern": "^[0-9]{8,14}$"},
            "quantity": {"type": "number", "minimum": 0},
            "verdict": verdict,
            "reasons": {"type": "array", "items": {"type": "string", "minLength": 1}},
            "credentials": {"type": "array", "items": {"type": "string", "minLength": 1}},
        },
        "required": ["line", "verdict", "reasons"],
    }
    entry = {
        "type": "object",
        "properties": {
            "entryNumber": {"type": "string", "minLength": 1},
            "verdict": verdict,
            "lines": {"type": "array", "items": line},
        },
        "required": ["entryNumber", "verdict", "lines"],
    }
    subject = {
        "type": "object",
        "properties": {
            "id": _URI,
            "type": {
                "type": "array",
                "items": {"type": "string"},
                "contains": {"const": "VerificationJobResult"},
            },
            "jobId": {"type": "string", "minLength": 1},
            "policyId": {"type": "string", "minLength": 1},
            "policyDigest": {"type": "string", "minLength": 1},
            "effectiveAt": _DATE_TIME,
            "checkedAt": _DATE_TIME,
            "entries": {"type": "array", "items": entry},
            "ledgerHeights": {
                "description": "Ledger id -> height observed.",
                "type": "object",
                "additionalProperties": {"type": "integer", "minimum": 0},
            },
        },
        "required": ["type", "jobId", "policyDigest", "effectiveAt", "checkedAt", "entries"],
        "additionalProperties": False,
    }
    return {
        **_header("VerificationReport", None),
        "title": "vcgate Verification Report",
        "description": "A verification job's verdicts, issued by the customs node as a credential.",
        "type": "object",
        "properties": {
            "@context": context_schema(),
            "type": credential_type_schema("VerificationReport"),
            "id": _URI,
            "issuer": issuer_schema(None),
            "validFrom": _DATE_TIME,
            "validUntil": _DATE_TIME,
            "credentialSubject": subject,
            "evidence": evidence_schema(None),
            "credentialStatus": status_schema(),
            "relatedResource": related_resource_schema(),
            "proof": proof_schema(),
        },
        "required": ["@context", "type", "issuer", "validFrom", "credentialSubject"],
        "additionalProperties": False,
    }


def lacey_act_declaration_schema() -> Json:
    """R10: vcgate's ``LaceyActDeclarationCredential`` (USDA APHIS PPQ Form 505 fields; no published type exists, its
    terms are in https://w3id.org/vcgate/v1; issue 15, the ``timber`` workflow)."""
    text: Json = {"type": "string", "minLength": 1}
    party: Json = {
        "type": "object",
        "properties": {"type": {"type": "array", "items": {"type": "string"}}, "id": _URI, "name": text},
        "required": ["id"],
    }
    subject: Json = {
        "type": "object",
        "properties": {
            "type": {"type": "array", "items": {"type": "string"}, "contains": {"const": "LaceyActDeclaration"}},
            "id": _URI,
            "declarationNumber": text,
            "importer": party,
            "entryNumber": text,
            "htsNumber": {"type": "string", "pattern": "^[0-9]{4}(\\.[0-9]{2})?(\\.[0-9]{2,4})?$"},
            "genus": text,
            "species": text,
            "countryOfHarvest": {"type": "string", "pattern": "^[A-Z]{2}$"},
            "quantityOfPlantMaterial": {
                "type": "object",
                "properties": {
                    "type": {"type": "array", "items": {"type": "string"}},
                    "value": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$"},
                    "unitCode": text,
                },
                "required": ["value", "unitCode"],
            },
            "percentRecycled": {"type": "string", "pattern": "^(100|[0-9]{1,2})(\\.[0-9]+)?$"},
            "concessionId": text,
            "citesPermitNumber": text,
        },
        "required": [
            "type",
            "declarationNumber",
            "importer",
            "htsNumber",
            "genus",
            "species",
            "countryOfHarvest",
            "quantityOfPlantMaterial",
            "percentRecycled",
        ],
        "additionalProperties": False,
    }
    return {
        **_header("LaceyActDeclarationCredential", None),
        "title": "Lacey Act Declaration Credential",
        "description": "A Lacey Act plant and plant product declaration (PPQ 505): HTS number, genus, species, country "
        "of harvest, quantity and recycled share, with the harvest concession and CITES permit it relies on.",
        "type": "object",
        "properties": {
            "@context": context_schema(),
            "type": credential_type_schema("LaceyActDeclarationCredential"),
            "id": _URI,
            "issuer": issuer_schema(None),
            "validFrom": _DATE_TIME,
            "validUntil": _DATE_TIME,
            "credentialSubject": subject,
            "evidence": evidence_schema(None),
            "credentialStatus": status_schema(),
            "relatedResource": related_resource_schema(),
            "proof": proof_schema(),
        },
        "required": ["@context", "type", "issuer", "validFrom", "credentialSubject"],
        "additionalProperties": False,
    }


def derive_all() -> dict[str, bytes]:
    """Every output file name -> its exact bytes."""
    schemas: dict[str, tuple[str, Json, str | None]] = {}
    for type_name in CREDENTIAL_TYPES:
        schemas[type_name] = ("credential", derive_credential(type_name), f"credentials/{type_name}.json")
    schemas["LaceyActDeclarationCredential"] = ("credential", lacey_act_declaration_schema(), None)
    schemas["VerificationReport"] = ("credential", verification_report_schema(), None)
    for name, source in DATA_SCHEMAS.items():
        schemas[name] = ("data", derive_data_schema(name, source), source)
    ledger = {**_header("LedgerEvidence", None), **ledger_evidence_schema()}
    schemas["LedgerEvidence"] = ("data", ledger, None)

    files = {f"{name}.json": _dump(schema) for name, (_, schema, _) in schemas.items()}
    index = {
        "version": 1,
        "upstream": UPSTREAM_SOURCE,
        "schemas": [
            {
                "name": name,
                "kind": kind,
                "file": f"{name}.json",
                "sha256": hashlib.sha256(files[f"{name}.json"]).hexdigest(),
                "upstream": source,
            }
            for name, (kind, _, source) in schemas.items()
        ],
    }
    files["index.json"] = _dump(index)
    return files


def _dump(doc: Json) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the derived schemas."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="compare with the committed files; write nothing")
    args = parser.parse_args(argv)
    files = derive_all()
    if args.check:
        stale = sorted(
            name for name, data in files.items() if not (OUT / name).is_file() or (OUT / name).read_bytes() != data
        )
        extra = sorted(p.name for p in OUT.glob("*.json") if p.name not in files)
        if stale or extra:
            print(f"schemas out of date: {stale + extra}; run python scripts/derive_schemas.py", file=sys.stderr)
            return 1
        print(f"{len(files)} schema files up to date")
        return 0
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (OUT / name).write_bytes(data)
    for path in OUT.glob("*.json"):
        if path.name not in files:
            path.unlink()
    print(f"wrote {len(files)} files to {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
