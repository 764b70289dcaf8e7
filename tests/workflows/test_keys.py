"""Index keys are found field by field: a credential lacking one optional field is still found by the others
(regression: EAS-mapped licences name no single ``intellectualPropertyRightsProduct``; GS1 prefix licences may lack
an alternative value)."""

from __future__ import annotations

from vcgate.gateway._links import CredentialGraph, CredentialView
from vcgate.gateway._parties import PartyRegistry
from vcgate.gateway.workflows import Authorities, WorkflowSession, builtin_workflow

GTIN = "00614141123452"


def _view(cid: str, kind: str, subject: dict[str, object]) -> CredentialView:
    doc = {"id": cid, "type": ["VerifiableCredential", kind], "credentialSubject": subject}
    return CredentialView(cid, ("VerifiableCredential", kind), "did:example:x", None, "verified", doc)


def _session(*views: CredentialView) -> WorkflowSession:
    graph = CredentialGraph.of(views)
    return WorkflowSession(
        builtin_workflow("ipr"),
        graph,
        PartyRegistry([]),
        authorities=Authorities(),
        territory="US",
        timer=lambda: 0,
    )


def test_a_licence_without_a_single_ipr_product_is_found_by_its_licensed_products() -> None:
    eas = _view(
        "urn:licence:eas",
        "IntellectualPropertyRightsLicenseCredential",
        {"licensedProducts": [{"gtin": GTIN}, {"name": "no gtin"}, "junk"]},
    )
    run = _session(eas)
    assert run.ids("gtin", GTIN, "IntellectualPropertyRightsLicenseCredential") == ["urn:licence:eas"]


def test_a_prefix_licence_without_an_alternative_value_is_found_by_its_value() -> None:
    prefix = _view("urn:gs1:prefix", "GS1CompanyPrefixLicenseCredential", {"licenseValue": "0614141"})
    run = _session(prefix)
    assert run.ids("gs1-prefix", "0614141") == ["urn:gs1:prefix"]
    assert run.ids("gs1-prefix", "614141") == []


def test_views_are_typed_and_hostile_shapes_become_null() -> None:
    odd = _view(
        "urn:invoice:odd",
        "CommercialInvoiceCredential",
        {"invoiceNumber": 7, "seller": ["not", "a", "party"], "itemsShipped": "not a list"},
    )
    view = _session(odd).view("urn:invoice:odd")
    assert view is not None
    assert (view["seller"], view["items"]) == (None, [])
    assert view["recorded_at"] is None
