"""Pure linking pieces: GTINs, entry rows, entry credentials, the identifier index, claim ordering, verdicts."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from vcgate.gateway import KeyPair, sign
from vcgate.gateway._jobs import entry_for_credential, run_entries
from vcgate.gateway._links import (
    Entry,
    EntryError,
    combine,
    credential_identifiers,
    digest_multibase,
    entry_from_credential,
    normalize_gtin,
    parse_entry,
    prior_claims,
    read_entries_jsonl,
)
from vcgate.gateway._store import Store

from ._world import CHECKED_AT, CREATED, World, example, plain_checkers


@pytest.mark.parametrize(
    ("value", "expected"),
    [("00614141123452", "00614141123452"), ("614141123452", "00614141123452"), ("96385074", "00000096385074")],
)
def test_gtin_normalisation(value: str, expected: str) -> None:
    assert normalize_gtin(value) == expected


@pytest.mark.parametrize("value", ["00614141123453", "12345", "abc", None, True])
def test_bad_gtins_are_refused(value: Any) -> None:
    with pytest.raises(EntryError) as exc:
        normalize_gtin(value)
    assert exc.value.problem.code == "ENTRY_GTIN_INVALID"


@pytest.mark.parametrize(
    ("row", "code", "pointer"),
    [
        ({}, "ENTRY_FIELD_MISSING", "/entryNumber"),
        (
            {"entryNumber": "E", "importerOfRecord": "1", "entryDate": "x", "invoiceNumber": "I"},
            "ENTRY_FIELD_INVALID",
            "/entryDate",
        ),
        (
            {"entryNumber": "E", "importerOfRecord": "1", "entryDate": "2024-01-01", "invoiceNumber": "I", "lines": []},
            "ENTRY_FIELD_MISSING",
            "/lines",
        ),
        (
            {
                "entryNumber": "E",
                "importerOfRecord": "1",
                "entryDate": "2024-01-01",
                "invoiceNumber": "I",
                "lines": [{"gtin": "00614141123452", "quantity": 1.5}],
            },
            "ENTRY_FIELD_INVALID",
            "/lines/0/quantity",
        ),
        ("not an object", "ENTRY_NOT_AN_OBJECT", ""),
    ],
)
def test_malformed_entry_rows(row: Any, code: str, pointer: str) -> None:
    with pytest.raises(EntryError) as exc:
        parse_entry(row)
    assert (exc.value.problem.code, exc.value.problem.pointer) == (code, pointer)


def test_entry_key_is_a_hash_of_the_normalised_entry() -> None:
    a = parse_entry(
        {
            "entryNumber": "E-1",
            "importerOfRecord": "95-481237600",
            "entryDate": "2024-09-02",
            "invoiceNumber": "I",
            "lines": [{"gtin": "614141123452", "quantity": "10", "value": "10.50"}],
        }
    )
    b = parse_entry(
        {
            "entry_number": "E-1",
            "importer_of_record": "95-481237600",
            "entry_date": "2024-09-02T00:00:00Z",
            "invoice_number": "I",
            "lines": [{"gtin": "00614141123452", "quantity": 10, "value": "10.5"}],
        }
    )
    assert a == b
    assert a.key == b.key
    assert Entry.from_json(a.to_json()) == a
    c = parse_entry({**json.loads(json.dumps(a.to_json())), "lines": [{"gtin": "00614141123452", "quantity": 11}]})
    assert c.key != a.key


def test_jsonl_reader_reports_rows() -> None:
    rows = list(read_entries_jsonl('\n{"entryNumber": "E"}\n[1\n'))
    assert [(r.row, r.problem.code if r.problem else None) for r in rows] == [
        (2, "ENTRY_FIELD_MISSING"),
        (3, "ENTRY_NOT_JSON"),
    ]


def test_prior_claims_follow_entry_date_then_number() -> None:
    def claim(number: str, date: str, qty: int) -> dict[str, Any]:
        return {
            "entry_number": number,
            "entry_date": date,
            "invoice_number": "I",
            "gtin": "g",
            "quantity": qty,
            "line": 1,
        }

    claims = [
        claim("B", "2024-09-02T00:00:00Z", 5),
        claim("A", "2024-09-02T00:00:00Z", 7),
        claim("C", "2024-09-01T00:00:00Z", 11),
    ]
    entry = Entry("B", datetime(2024, 9, 2, tzinfo=UTC), ())
    # By claiming importer (these rows record none).
    assert prior_claims(entry, claims) == {("I", "g"): {None: 18}}
    first = Entry("C", datetime(2024, 9, 1, tzinfo=UTC), ())
    assert prior_claims(first, claims) == {}


def test_combine_verdicts() -> None:
    assert combine(["authorized", "undetermined"]) == "undetermined"
    assert combine(["undetermined", "not_authorized", "authorized"]) == "not_authorized"
    assert combine(["authorized"]) == "authorized"
    assert combine([]) == "undetermined"


def test_example_credentials_are_indexed_by_their_identifiers() -> None:
    keys = credential_identifiers(example("intellectual-property-rights-license.json"))
    assert {
        ("gtin", "00614141123452"),
        ("gtin", "00614141123469"),
        ("licence-id", "ACME-MFG-LIC-2024-017"),
        ("recordation-number", "TMK 23-00457"),
        ("extends", "urn:uuid:9a4d2f6c-1b3e-4f7a-8c2d-5e6f7a8b9c33"),
        ("did", "did:web:acme-apparel.example.com"),
    } <= keys
    assert ("entry-number", "HB7-1048213-6") in credential_identifiers(example("cbp-3461-entry.json"))
    assert ("importer-of-record", "95-481237600") in credential_identifiers(example("cbp-3461-entry.json"))
    assert ("invoice-number", "DSG-INV-2024-0815") in credential_identifiers(example("commercial-invoice.json"))
    assert ("heat-number", "H24-118305") in credential_identifiers(example("mill-test-report.json"))


def test_entry_credential_takes_line_gtins_from_its_invoice() -> None:
    entry_doc, invoice = example("cbp-3461-entry.json"), example("commercial-invoice.json")
    assert digest_multibase(invoice) == entry_doc["relatedResource"][0]["digestMultibase"]
    entry = entry_from_credential(entry_doc, invoice)
    assert [(ln.gtin, ln.quantity) for ln in entry.lines] == [("00614141123452", 1200), ("00614141123469", 800)]
    assert (entry.importer_number, entry.invoice_number) == ("95-481237600", "DSG-INV-2024-0815")
    assert entry.credential_id == entry_doc["id"]
    with pytest.raises(EntryError) as exc:
        entry_from_credential(entry_doc, None)
    assert exc.value.problem.code == "ENTRY_GTIN_UNKNOWN"


def test_an_entry_credential_is_verified_and_linked(world: World, store: Store) -> None:
    """A signed CBP 3461 entry credential referencing the authorized invoice (by id and digest)."""
    invoice = next(c for c in world.credentials.values() if c["credentialSubject"].get("invoiceNumber") == "INV-AUTH")
    broker = KeyPair.generate()
    doc = copy.deepcopy(example("cbp-3461-entry.json"))
    doc["issuer"]["id"] = broker.controller
    doc["credentialSubject"]["importer"]["id"] = world.actors["northwind"].did
    doc["credentialSubject"]["lineItems"] = doc["credentialSubject"]["lineItems"][:1]
    doc["credentialSubject"]["lineItems"][0]["itemCount"] = 200
    doc["relatedResource"] = [{"id": invoice["id"], "digestMultibase": digest_multibase(invoice)}]
    signed = sign(doc, broker, created=CREATED)
    store.put_credential(signed)
    entry = entry_for_credential(store, signed["id"])
    (verdict,) = run_entries([entry], store, world.policy(), checked_at=CHECKED_AT, checkers=plain_checkers())
    line = verdict.lines[0]
    assert verdict.verdict == "authorized", line.reasons
    assert line.steps[0].name == "entry"
    assert line.steps[0].credentials == (signed["id"],)
    # Someone edits the invoice reference: the digest no longer matches.
    doc["relatedResource"][0]["digestMultibase"] = digest_multibase({"other": 1})
    doc["id"] = "urn:uuid:1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c67"
    resigned = sign(doc, broker, created=CREATED)
    store.put_credential(resigned)
    (bad,) = run_entries(
        [entry_for_credential(store, resigned["id"])],
        store,
        world.policy(),
        checked_at=CHECKED_AT,
        checkers=plain_checkers(),
    )
    assert [r.code for r in bad.lines[0].reasons] == ["INVOICE_DIGEST_MISMATCH"]
