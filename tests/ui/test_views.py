"""What the entry page shows of a credential's ledger evidence, per ledger kind and for hostile shapes."""

from __future__ import annotations

from typing import Any

import pytest

from vcgate.gateway.api.pages._views import credential_facts, evidence_summary

FABRIC = {
    "ledgerKind": "fabric",
    "ledgerId": "fabric:9f3fdb54f4bbbb03",
    "ledgerHeight": 3,
    "proofMaterial": {
        "txId": "ddde2c8b",
        "blockNumber": 3,
        "endorsers": [{"mspId": "SummitMSP"}, {"mspId": "SummitLogisticsMSP"}],
        "validationAttestations": ["a", "b"],
    },
    "nativeSigner": {"kind": "fabric-msp", "mspId": "SummitMSP"},
}
ETHEREUM = {
    "ledgerKind": "ethereum",
    "ledgerId": "eip155:31337",
    "proofMaterial": {
        "ethereum": {"blockNumber": 4, "descendantHeaders": ["h1", "h2"], "log": {"transactionHash": "0x65"}}
    },
    "nativeSigner": {"kind": "ethereum-address", "address": "0xd67b"},
}
PLAIN = {
    "ledgerKind": "plain",
    "proofMaterial": {"entry": {"recordId": "gs1-gtin-1"}, "inclusionProof": {"hashes": []}},
    "nativeSigner": {"did": "did:key:z6Mk"},
}


@pytest.mark.parametrize(
    ("item", "transaction", "orgs", "signer", "proof"),
    [
        (FABRIC, "ddde2c8b", ["SummitMSP", "SummitLogisticsMSP"], "SummitMSP", "block 3 header + 2 signed validation"),
        (ETHEREUM, "0x65", [], "0xd67b", "receipt trie proof in block 4 + 2 descendant headers"),
        (PLAIN, "gs1-gtin-1", [], "did:key:z6Mk", "Merkle inclusion proof to a signed checkpoint"),
        ({"ledgerKind": "fabric", "proofMaterial": "x", "nativeSigner": [1]}, None, [], None, "block None header + 0"),
        ({"proofMaterial": {"endorsers": ["x", {"mspId": 5}], "entry": "bad"}}, None, ["5"], None, ""),
    ],
)
def test_evidence_summary(item: dict[str, Any], transaction: Any, orgs: list[str], signer: Any, proof: str) -> None:
    out = evidence_summary(item)
    assert out["transaction"] == transaction
    assert out["attestingOrganizations"] == orgs
    assert out["signer"] == signer
    assert out["proof"].startswith(proof)


def test_credential_facts_skip_non_object_evidence() -> None:
    doc = {"id": "urn:x", "type": ["VerifiableCredential", "X"], "issuer": {"id": "did:key:z"}, "evidence": [FABRIC, 3]}
    facts = credential_facts(doc)
    assert facts["types"] == ["X"]
    assert facts["issuer"] == "did:key:z"
    assert len(facts["evidence"]) == 1
