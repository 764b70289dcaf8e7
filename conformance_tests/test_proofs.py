"""Proofs over translations: every cryptosuite signs them, an RDFC proof covers every value, and the reference
library agrees.

The translation is re-issued under a key the suite generates (``issuer`` becomes that key's did:key): these cases
are about whether the adapter's content can be signed and verified faithfully, not about who signs it (the issuing
service signs in production; evidence and binding cases cover the issuer).
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from vcgate.adapters.sdk import parse_datetime
from vcgate.canonical_schema import json_pointer
from vcgate.conformance_tests._adapter_harness import AdapterUnderTest, Sampled
from vcgate.conformance_tests._cases import conformance_case
from vcgate.conformance_tests._findings import Findings
from vcgate.conformance_tests._reference_peer import ReferencePeer
from vcgate.conformance_tests._tamper import changed_scalar, leaves, set_path
from vcgate.gateway import DidResolver, KeyPair, ProofError, sign, verify_proof

#: (suite, key type) pairs vcgate issues with (ARCHITECTURE.md, "The canonical credential").
ISSUING_SUITES = (
    ("eddsa-rdfc-2022", "ed25519"),
    ("eddsa-jcs-2022", "ed25519"),
    ("ecdsa-rdfc-2019", "p256"),
    ("ecdsa-jcs-2019", "p256"),
)
#: PRF-002 mutates every value of this many sampled credentials (each mutation costs one RDFC verification).
COVERAGE_SAMPLE = 2


def reissued(credential: dict[str, Any], key: KeyPair) -> dict[str, Any]:
    """The credential with its issuer (string or object id) replaced by ``key``'s controller."""
    out = copy.deepcopy(credential)
    if isinstance(out.get("issuer"), dict):
        out["issuer"]["id"] = key.controller
    else:
        out["issuer"] = key.controller
    return out


def instant(s: Sampled) -> datetime:
    """When to sign and verify: the credential's validFrom (inside its validity period), else the ledger time."""
    valid_from = s.credential.get("validFrom")
    return parse_datetime(valid_from) if isinstance(valid_from, str) else s.record.ledger_time


def proof_problems(document: dict[str, Any], at: datetime) -> list[str]:
    """``code: detail`` of every proof check that did not pass (empty when the proof verifies)."""
    result = verify_proof(document, DidResolver.offline(), at=at)
    return [
        f"{c.problem.code}: {c.problem.detail}" if c.problem else f"{c.name}: {c.status}"
        for c in result.checks
        if c.status not in ("passed", "not_applicable")
    ]


@conformance_case("PRF-001")
def test_every_suite_signs_and_verifies(adapter_under_test: AdapterUnderTest) -> None:
    """Each sampled translation, signed under each issuing suite, verifies."""
    findings = Findings()
    keys = {kind: KeyPair.generate(kind) for kind in {k for _, k in ISSUING_SUITES}}
    for s in adapter_under_test.sample:
        at = instant(s)
        for suite, kind in ISSUING_SUITES:
            doc = reissued(s.credential, keys[kind])
            try:
                # Undefined terms are SEC-002's finding; here only the proof's behaviour is under test.
                signed = sign(doc, keys[kind], suite=suite, created=at, allow_undefined_terms=True)
            except ProofError as exc:
                findings.add(f"{s.record.locator} {suite}: cannot sign: {exc}")
                continue
            problems = proof_problems(signed, at)
            findings.check(not problems, f"{s.record.locator} {suite}: {'; '.join(problems)}")
    findings.done()


@conformance_case("PRF-002")
def test_rdfc_proof_covers_every_value(adapter_under_test: AdapterUnderTest) -> None:
    """Changing any value of credentialSubject or evidence after signing (eddsa-rdfc-2022) breaks the proof: no
    value is silently outside the signed RDF dataset."""
    findings = Findings()
    key = KeyPair.generate("ed25519")
    for s in adapter_under_test.sample[:COVERAGE_SAMPLE]:
        at = instant(s)
        try:
            signed = sign(reissued(s.credential, key), key, created=at, allow_undefined_terms=True)
        except ProofError as exc:
            findings.add(f"{s.record.locator}: cannot sign: {exc}")
            continue
        for top in ("credentialSubject", "evidence"):
            for path, value in leaves(signed.get(top), (top,)):
                changed = set_path(signed, path, changed_scalar(value))
                findings.check(
                    bool(proof_problems(changed, at)),
                    f"{s.record.locator}: changing {json_pointer(*path)} does not break the proof "
                    "(the value is not covered by the signature: define its term in a context)",
                )
    findings.done()


@conformance_case("PRF-003")
def test_reference_library_interop(adapter_under_test: AdapterUnderTest, reference_peer: ReferencePeer) -> None:
    """The reference library verifies a translation vcgate signed (eddsa-rdfc-2022), and vcgate verifies the same
    translation signed by the reference library."""
    findings = Findings()
    s = adapter_under_test.sample[0]
    at = instant(s)
    key = KeyPair.generate("ed25519")
    doc = reissued(s.credential, key)
    ours = sign(doc, key, created=at, allow_undefined_terms=True)
    verdict = reference_peer.call("verify", credential=ours, now=_iso(at), checkStatus=False)
    findings.check(
        verdict.get("verified") is True,
        f"{s.record.locator}: the reference library rejects vcgate's proof: {verdict.get('errors')}",
    )
    theirs = reference_peer.call(
        "sign", credential=doc, key=key.to_multikey(), suite="eddsa-rdfc-2022", created=_iso(at)
    )
    problems = proof_problems(theirs, at)
    findings.check(not problems, f"{s.record.locator}: vcgate rejects the reference library's proof: {problems}")
    findings.done()


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")
