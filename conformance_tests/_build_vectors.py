"""Build ``vectors/``: ``python -m vcgate.conformance_tests._build_vectors [--reference-peer PATH]``.

Writes every vector file and ``MANIFEST.json``. The vector keys are derived from fixed seeds (they are public test
keys: never trust them for anything), so the Ed25519 vectors come out byte for byte the same on every run; the
ECDSA ones differ (ECDSA signatures are randomised) but verify the same. The vector signed by the reference library
is re-made only when a reference peer is available; otherwise the stored file is kept.
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from vcgate.canonical_schema import CREDENTIALS_V1_URL, TRACEABILITY_V1_URL
from vcgate.gateway import KeyPair, sign

from ._reference_peer import ReferencePeer, default_peer_script

HERE = Path(__file__).resolve().parent
VECTORS = HERE / "vectors"
REPO = HERE.parent
EXAMPLE_INVOICE = REPO / "examples" / "credentials" / "commercial-invoice.json"
W3C = REPO / "tests" / "fixtures" / "w3c-vectors"
CREATED = datetime(2024, 9, 1, 12, 0, 0, tzinfo=UTC)
UNPINNED_CONTEXT = "https://conformance.invalid/contexts/unpinned/v1"

W3C_COPIES = (
    ("PRF-101", "vc-di-eddsa/eddsa-rdfc-2022/signedDataInt.json", "eddsa-rdfc-2022"),
    ("PRF-102", "vc-di-eddsa/eddsa-jcs-2022/signedJCS.json", "eddsa-jcs-2022"),
    ("PRF-103", "vc-di-eddsa/Ed25519Signature2020/signedEdSig.json", "Ed25519Signature2020"),
    ("PRF-104", "vc-di-ecdsa/ecdsa-rdfc-2019-p256/signedECDSAP256.json", "ecdsa-rdfc-2019 (P-256)"),
    ("PRF-105", "vc-di-ecdsa/ecdsa-rdfc-2019-p384/signedECDSAP384.json", "ecdsa-rdfc-2019 (P-384)"),
    ("PRF-106", "vc-di-ecdsa/ecdsa-jcs-2019-p256/signedJCSECDSAP256.json", "ecdsa-jcs-2019 (P-256)"),
    ("PRF-107", "vc-di-ecdsa/ecdsa-jcs-2019-p384/signedJCSECDSAP384.json", "ecdsa-jcs-2019 (P-384)"),
)
W3C_SOURCE = (
    "W3C known-answer vector, exact copy: w3c/vc-di-eddsa TestVectors @abb673eb9df673e24a8eaf939337de74759b5f8d, "
    "w3c/vc-di-ecdsa TestVectors @00781de52c036723bbd88d89b07818a2914a6b9e"
)


def _scalar(label: str, order: int) -> int:
    return int.from_bytes(hashlib.sha512(label.encode()).digest(), "big") % (order - 1) + 1


def vector_keys() -> dict[str, KeyPair]:
    """The fixed test keys the vectors are signed with (did:key controllers)."""
    seed = hashlib.sha256(b"vcgate conformance vector key: ed25519").digest()
    other = hashlib.sha256(b"vcgate conformance vector key: ed25519 (not the issuer)").digest()
    p256_order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
    p384_order = int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973", 16
    )
    return {
        "ed25519": KeyPair.from_private(ed25519.Ed25519PrivateKey.from_private_bytes(seed)),
        "ed25519-other": KeyPair.from_private(ed25519.Ed25519PrivateKey.from_private_bytes(other)),
        "p256": KeyPair.from_private(ec.derive_private_key(_scalar("p256", p256_order), ec.SECP256R1())),
        "p384": KeyPair.from_private(ec.derive_private_key(_scalar("p384", p384_order), ec.SECP384R1())),
    }


def invoice_v2(issuer: str) -> dict[str, Any]:
    """The repository's example commercial invoice, issued by ``issuer`` (also the seller)."""
    doc: dict[str, Any] = json.loads(EXAMPLE_INVOICE.read_text(encoding="utf-8"))
    doc["issuer"]["id"] = issuer
    doc["credentialSubject"]["seller"]["id"] = issuer
    # The example's LedgerEvidence reaches no anchor a verifier target pins: a credential carrying it is never
    # verified (issue 11), so the "verifies" vectors carry none.
    doc.pop("evidence", None)
    return doc


def entry_number_v2(issuer: str) -> dict[str, Any]:
    """A small VC 2.0 Traceability credential (entry number)."""
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2", TRACEABILITY_V1_URL, "https://w3id.org/vcgate/v1"],
        "id": "urn:uuid:0b9f3c4e-7d21-4a6b-9c3e-5f1a2b3c4d5e",
        "type": ["VerifiableCredential", "EntryNumberCredential"],
        "issuer": issuer,
        "validFrom": "2024-09-01T17:20:00Z",
        "credentialSubject": {"type": ["EntryNumber"], "entryNumber": "HB7-1048213-6"},
    }


def entry_number_v1(issuer: str) -> dict[str, Any]:
    """The same entry number as a VC 1.1 credential (``issuanceDate``), as the CBP pilots issued them."""
    return {
        "@context": [CREDENTIALS_V1_URL, TRACEABILITY_V1_URL],
        "id": "urn:uuid:2c4e6a8b-1d3f-4b5c-8e7a-9f0b1c2d3e4f",
        "type": ["VerifiableCredential", "EntryNumberCredential"],
        "issuer": issuer,
        "issuanceDate": "2024-09-01T17:20:00Z",
        "credentialSubject": {"type": ["EntryNumber"], "entryNumber": "HB7-1048213-6"},
    }


def _write(name: str, doc: dict[str, Any], out: Path = VECTORS) -> str:
    path = out / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return name


def build(peer_script: Path | None, out: Path = VECTORS) -> list[dict[str, Any]]:
    """Write the vector files into ``out``; return the manifest's case list."""

    def write(name: str, doc: dict[str, Any]) -> str:
        return _write(name, doc, out)

    keys = vector_keys()
    ed, other = keys["ed25519"], keys["ed25519-other"]
    did = ed.controller
    cases: list[dict[str, Any]] = []

    def signed(doc: dict[str, Any], key: KeyPair = ed, suite: str = "eddsa-rdfc-2022") -> dict[str, Any]:
        return sign(doc, key, suite=suite, created=CREATED, allow_undefined_terms=True)

    def add(case_id: str, title: str, file: str, expect: str, reason: str, source: str, **extra: Any) -> None:
        cases.append(
            {"id": case_id, "title": title, "file": file, "expect": expect, "reason": reason, "source": source} | extra
        )

    # --- data model (VC 2.0 and 1.1) ------------------------------------------------------------------------
    vcgate_made = "made by vcgate's vector builder (conformance_tests/_build_vectors.py)"
    v2 = invoice_v2(did)
    add(
        "DM-101",
        "A VC 2.0 Traceability credential (commercial invoice) verifies",
        write("data-model/DM-101-vc2-invoice.json", signed(v2)),
        "verified",
        "well-formed VC 2.0 credential, eddsa-rdfc-2022, issuer controls the key",
        f"examples/credentials/commercial-invoice.json re-issued by the vector key; {vcgate_made}",
    )
    add(
        "DM-102",
        "A VC 1.1 credential (issuanceDate, credentials/v1 context) verifies",
        write("data-model/DM-102-vc11-entry-number.json", signed(entry_number_v1(did))),
        "verified",
        "VC 1.1 is still accepted: the CBP pilots issued VC 1.1 credentials",
        f"VC 1.1 §4; {vcgate_made}",
    )
    bad = copy.deepcopy(v2)
    bad["issuanceDate"] = "2024-08-15T00:00:00Z"
    add(
        "DM-103",
        "A VC 2.0 credential with the VC 1.1 issuanceDate is rejected",
        write("data-model/DM-103-vc2-with-issuanceDate.json", signed(bad)),
        "invalid",
        "issuanceDate belongs to VC 1.1; the credentials/v2 context does not define it",
        f"VC 2.0 §4.9 (validity period replaces issuanceDate); {vcgate_made}",
        codes=["DATA_MODEL_VERSION_MISMATCH"],
    )
    bad = entry_number_v1(did)
    del bad["issuanceDate"]
    add(
        "DM-104",
        "A VC 1.1 credential without issuanceDate is rejected",
        write("data-model/DM-104-vc11-without-issuanceDate.json", signed(bad)),
        "invalid",
        "issuanceDate is required in VC 1.1",
        f"VC 1.1 §4.6; {vcgate_made}",
        codes=["VALIDITY_START_MISSING"],
    )
    bad = copy.deepcopy(v2)
    bad["type"] = ["CommercialInvoiceCredential"]
    add(
        "DM-105",
        "A credential whose type lacks VerifiableCredential is rejected",
        write("data-model/DM-105-type-without-VerifiableCredential.json", signed(bad)),
        "invalid",
        "type must include VerifiableCredential",
        f"VC 2.0 §4.5; {vcgate_made}",
        codes=["TYPE_INVALID"],
    )
    bad = copy.deepcopy(v2)
    bad["@context"] = [bad["@context"][1], bad["@context"][0], bad["@context"][2]]
    add(
        "DM-106",
        "A credential whose first @context is not the VC context is rejected",
        write("data-model/DM-106-context-order.json", signed(bad)),
        "invalid",
        "the first @context entry must be https://www.w3.org/ns/credentials/v2",
        f"VC 2.0 §4.3; {vcgate_made}",
        codes=["CONTEXT_INVALID"],
    )
    bad = copy.deepcopy(v2)
    del bad["issuer"]
    add(
        "DM-107",
        "A credential without issuer is rejected",
        write("data-model/DM-107-no-issuer.json", signed(bad)),
        "invalid",
        "issuer is required",
        f"VC 2.0 §4.7; {vcgate_made}",
        codes=["ISSUER_INVALID"],
    )
    bad = copy.deepcopy(v2)
    del bad["credentialSubject"]
    add(
        "DM-108",
        "A credential without credentialSubject is rejected",
        write("data-model/DM-108-no-credentialSubject.json", signed(bad)),
        "invalid",
        "credentialSubject is required",
        f"VC 2.0 §4.8; {vcgate_made}",
        codes=["CREDENTIAL_SUBJECT_MISSING"],
    )
    bad = copy.deepcopy(v2)
    bad["validUntil"] = "2024-08-01T00:00:00Z"
    add(
        "DM-109",
        "A credential whose validUntil precedes validFrom is rejected",
        write("data-model/DM-109-validity-reversed.json", signed(bad)),
        "invalid",
        "the validity period ends before it starts",
        f"VC 2.0 §4.9; {vcgate_made}",
        codes=["VALIDITY_PERIOD_INVALID"],
    )
    bad = copy.deepcopy(v2)
    bad["validUntil"] = "2024-12-31T23:59:59Z"
    add(
        "DM-110",
        "An expired credential is rejected",
        write("data-model/DM-110-expired.json", signed(bad)),
        "invalid",
        "validUntil is in the past",
        f"VC 2.0 §4.9; {vcgate_made}",
        codes=["EXPIRED"],
    )
    bad = copy.deepcopy(v2)
    bad["validFrom"] = "2999-01-01T00:00:00Z"
    add(
        "DM-111",
        "A credential that is not yet valid is rejected",
        write("data-model/DM-111-not-yet-valid.json", signed(bad)),
        "invalid",
        "validFrom is in the future",
        f"VC 2.0 §4.9; {vcgate_made}",
        codes=["NOT_YET_VALID"],
    )

    # --- canonical schema -----------------------------------------------------------------------------------
    bad = copy.deepcopy(v2)
    bad["credentialSubject"]["itemsShipped"][0]["itemCount"] = "many"
    add(
        "SCH-101",
        "A commercial invoice that violates its canonical JSON Schema is rejected",
        write("schema/SCH-101-invoice-itemCount-not-a-number.json", signed(bad)),
        "invalid",
        "itemsShipped[0].itemCount must be a number",
        f"canonical_schema/schemas (derived from the Traceability Vocabulary); {vcgate_made}",
        codes=["SCHEMA_VIOLATION"],
    )
    bad = copy.deepcopy(v2)
    bad["validFrom"] = "2024-08-15T08:00:00"
    add(
        "SCH-102",
        "A credential whose validFrom has no time zone is rejected",
        write("schema/SCH-102-validFrom-without-zone.json", signed(bad)),
        "invalid",
        "validFrom must be an XML Schema dateTimeStamp (with a zone)",
        f"VC 2.0 §4.9; {vcgate_made}",
        codes=["DATETIME_INVALID"],
    )

    # --- proofs ---------------------------------------------------------------------------------------------
    for case_id, path, suite in W3C_COPIES:
        target = out / "proofs" / "w3c" / Path(path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(W3C / path, target)
        add(
            case_id,
            f"The W3C {suite} known-answer vector's proof verifies",
            f"proofs/w3c/{target.name}",
            "proof-valid",
            "the proof is valid; the vector's issuer (https://vc.example/issuers/5678) does not control the key, "
            "which a verifier that binds issuer to key may report, but no proof problem may be reported",
            f"{W3C_SOURCE} ({path})",
            httpStatuses=[200, 400],
        )
    suites = (
        ("PRF-111", "eddsa-rdfc-2022", "ed25519"),
        ("PRF-112", "eddsa-jcs-2022", "ed25519"),
        ("PRF-113", "ecdsa-rdfc-2019", "p256"),
        ("PRF-114", "ecdsa-rdfc-2019", "p384"),
        ("PRF-115", "ecdsa-jcs-2019", "p256"),
        ("PRF-116", "ecdsa-jcs-2019", "p384"),
        ("PRF-117", "Ed25519Signature2020", "ed25519"),
    )
    for case_id, suite, key_name in suites:
        key = keys[key_name]
        doc = entry_number_v2(key.controller)
        if suite == "Ed25519Signature2020":
            doc["@context"] = [*doc["@context"], "https://w3id.org/security/suites/ed25519-2020/v1"]
        label = f"{suite} ({key.key_type})"
        add(
            case_id,
            f"A credential signed with {label} verifies",
            write(f"proofs/{case_id}-{suite}-{key_name}.json", signed(doc, key, suite)),
            "verified",
            f"valid {label} proof by a did:key that is the issuer",
            f"VC Data Integrity cryptosuites; {vcgate_made}",
        )
    reference_file = "proofs/PRF-120-signed-by-reference-library.json"
    if peer_script is not None:
        peer = ReferencePeer(peer_script)
        try:
            doc = invoice_v2(ed.controller)
            made = peer.call(
                "sign", credential=doc, key=ed.to_multikey(), suite="eddsa-rdfc-2022", created="2024-09-01T12:00:00Z"
            )
            versions = peer.call("versions")["packages"]
        finally:
            peer.close()
        write(reference_file, made)
        (out / "proofs" / "PRF-120-versions.json").write_text(
            json.dumps(versions, indent=2, sort_keys=True) + "\n", encoding="utf-8"
        )
    elif out != VECTORS:  # no peer: keep the stored reference vector
        for name in (reference_file, "proofs/PRF-120-versions.json"):
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(VECTORS / name, out / name)
    versions = json.loads((out / "proofs" / "PRF-120-versions.json").read_text(encoding="utf-8"))
    # A stored vector signed before issue 11 carries the example's made-up LedgerEvidence (the signature covers it):
    # its proof still checks, so the only finding is the unanchored evidence (an error, never verified).
    unanchored = "evidence" in json.loads((out / reference_file).read_text(encoding="utf-8"))
    add(
        "PRF-120",
        "A credential signed by the reference library (@digitalbazaar/vc, eddsa-rdfc-2022) verifies",
        reference_file,
        "unanchored" if unanchored else "verified",
        "interop: a proof made by the reference implementation"
        + ("; its LedgerEvidence reaches no pinned anchor" if unanchored else ""),
        "signed by @digitalbazaar/vc "
        + versions.get("@digitalbazaar/vc", "?")
        + " with @digitalbazaar/eddsa-rdfc-2022-cryptosuite "
        + versions.get("@digitalbazaar/eddsa-rdfc-2022-cryptosuite", "?")
        + " through tests/node/vc-peer.mjs",
        **({"codes": ["EVIDENCE_UNANCHORED"]} if unanchored else {}),
    )
    base = json.loads((out / "proofs" / "PRF-111-eddsa-rdfc-2022-ed25519.json").read_text(encoding="utf-8"))
    bad = copy.deepcopy(base)
    bad["credentialSubject"]["entryNumber"] = "HB7-1048213-7"
    add(
        "PRF-131",
        "A credential changed after signing is rejected",
        write("proofs/PRF-131-subject-changed.json", bad),
        "invalid",
        "one character of credentialSubject.entryNumber changed after signing",
        f"VC-DI-EDDSA §3.2.2; {vcgate_made}",
        codes=["SIGNATURE_INVALID"],
    )
    bad = copy.deepcopy(base)
    value = bad["proof"]["proofValue"]
    bad["proof"]["proofValue"] = value[:10] + ("2" if value[10] != "2" else "3") + value[11:]
    add(
        "PRF-132",
        "A credential with a corrupted proofValue is rejected",
        write("proofs/PRF-132-proofValue-corrupted.json", bad),
        "invalid",
        "one base58 character of proofValue changed",
        f"VC-DI-EDDSA §3.2.2; {vcgate_made}",
        codes=["SIGNATURE_INVALID", "PROOF_VALUE_MALFORMED"],
    )
    add(
        "PRF-133",
        "A credential signed by a key its issuer does not control is rejected",
        write("proofs/PRF-133-key-not-the-issuers.json", signed(entry_number_v2(did), other)),
        "invalid",
        "the proof's verification method belongs to another did:key than the issuer",
        f"VC 2.0 §4.7 and VC-DI §4.4 (verification method controller); {vcgate_made}",
        codes=["ISSUER_KEY_MISMATCH"],
    )
    bad = copy.deepcopy(base)
    bad["proof"]["cryptosuite"] = "eddsa-unknown-2099"
    add(
        "PRF-134",
        "A proof with an unknown cryptosuite is rejected",
        write("proofs/PRF-134-unknown-cryptosuite.json", bad),
        "invalid",
        "cryptosuite eddsa-unknown-2099 does not exist",
        f"VC-DI §4; {vcgate_made}",
        codes=["UNKNOWN_CRYPTOSUITE", "CRYPTOSUITE_NOT_ACCEPTED"],
    )

    # --- security -------------------------------------------------------------------------------------------
    bad = copy.deepcopy(base)
    bad["@context"] = [*bad["@context"], UNPINNED_CONTEXT]
    add(
        "SEC-101",
        "A credential that needs an unpinned JSON-LD context is refused (and nothing is fetched)",
        write("security/SEC-101-unpinned-context.json", bad),
        "invalid",
        f"{UNPINNED_CONTEXT} is not pinned (and .invalid never resolves): a verifier that tried to fetch it "
        "could only fail with an error, not refuse it as invalid",
        f"VC 2.0 §4.3 and VC-DI §2.4 (contexts from a trusted local set); {vcgate_made}",
        codes=["CONTEXT_NOT_ALLOWED"],
    )
    cases.append(
        {
            "id": "SEC-102",
            "title": "An oversized credential (> 1 MiB) is refused before parsing",
            "generate": {"kind": "oversized", "base": "proofs/PRF-111-eddsa-rdfc-2022-ed25519.json", "bytes": 1100000},
            "expect": "invalid",
            "reason": "a 1.1 MB description field makes the credential larger than the 1 MiB limit",
            "source": f"vcgate policy max_credential_bytes; {vcgate_made}",
            "codes": ["INPUT_TOO_LARGE", "REQUEST_TOO_LARGE"],
            "httpStatuses": [400, 413],
        }
    )
    # Only the VC 1.1 base context, which has no @vocab: the term is really dropped by JSON-LD. (Under the VC 2.0 or
    # Traceability contexts an undefined term expands under issuer-dependent# instead: signed, and accepted with a
    # warning by the default policy since issue 14.)
    bad = {
        "@context": [CREDENTIALS_V1_URL],
        "id": "urn:uuid:0b9f3c4e-7d21-4a6b-9c3e-5f1a2b3c4d5e",
        "type": ["VerifiableCredential"],
        "issuer": did,
        "issuanceDate": "2024-09-01T17:20:00Z",
        "credentialSubject": {"id": "did:example:subject", "undefinedTermForConformance": "not defined by any context"},
    }
    add(
        "SEC-103",
        "A credential with an undefined term is rejected even though its RDFC signature is valid",
        write("security/SEC-103-undefined-term.json", signed(bad)),
        "invalid",
        "undefinedTermForConformance is dropped by JSON-LD (no context defines it, none has an @vocab), so the "
        "signature does not cover it",
        f"VC-DI §2.5 (data loss detection); {vcgate_made}",
        codes=["UNDEFINED_TERM"],
    )
    cases.append(
        {
            "id": "SEC-104",
            "title": "A credential nested deeper than the limit (64) is refused",
            "generate": {"kind": "deep", "base": "proofs/PRF-111-eddsa-rdfc-2022-ed25519.json", "depth": 100},
            "expect": "invalid",
            "reason": "credentialSubject.place nests 100 levels of containedInPlace",
            "source": f"vcgate policy max_json_depth; {vcgate_made}",
            "codes": ["INPUT_TOO_DEEP"],
            "httpStatuses": [400, 413, 422],
        }
    )
    write("keys.json", {k: v.to_multikey() | {"note": "public test key; never trust it"} for k, v in keys.items()})
    return cases


def main() -> None:
    """Command-line entry: rebuild the vectors and the manifest."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reference-peer", type=Path, default=None, help="vc-peer.mjs (default: tests/node)")
    parser.add_argument("--no-reference-peer", action="store_true", help="keep the stored reference vector")
    args = parser.parse_args()
    peer = None if args.no_reference_peer else (args.reference_peer or default_peer_script())
    cases = build(peer)
    _write("MANIFEST.json", manifest_of(cases))
    print(f"wrote {len(cases)} cases to {VECTORS}")


def manifest_of(cases: list[dict[str, Any]]) -> dict[str, Any]:
    """The manifest document for ``cases``."""
    return {
        "version": "1.0.0",
        "description": "vcgate conformance vectors for verifier targets (a VC-API endpoint or vcgate's library). "
        "Each case names the verdict it must get, the problem codes that say why, and its source.",
        "cases": cases,
    }


if __name__ == "__main__":
    main()
