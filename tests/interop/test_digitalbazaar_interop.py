"""Interop with the reference implementation: digitalbazaar's ``@digitalbazaar/vc`` and Data Integrity cryptosuites.

Both directions for ``eddsa-rdfc-2022`` (Ed25519) and ``ecdsa-rdfc-2019`` (P-256, and P-384 with SHA-384): what
vcgate signs verifies in the Node library, what the Node library signs verifies in vcgate's full pipeline
(``Verifier.check(...).status == "verified"``), a one-character change in a subject value fails on both sides, and the
canonical N-Quads (RDFC-1.0) are byte-identical.

The credentials are the repository's examples (``examples/credentials/``: Traceability Vocabulary + vcgate context)
and one edge-case credential of ours (``credentials/``: doubles, JSON literals with 0.1 and 1e21), re-issued under
each test key: every mention of the issuer DID becomes the key's did:key (the reference library requires the issuer
to control the key). ``credentialStatus`` stays in the signed bytes, but neither side checks the status list (not part
of this test): vcgate runs its default policy with ``unsafe_skip_status: true``, the peer gets ``checkStatus: false``.

Cost: jsonld.js needs ~0.2-0.5 s per canonicalization of a Traceability credential (it deep-copies the active
context, ~120 kB of type-scoped terms, at every typed node), so the Node side is called sparingly: the full matrix
for the two credential types the brief names plus the edge case, byte-identical Ed25519 proofs for every example
(which establishes both directions for them at the cost of one Node call), and the small W3C AlumniCredential for the
tests about keys and verdicts. Results of the peer are memoised per session.
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from vcgate.gateway import (
    CanonicalizationError,
    DidResolver,
    KeyPair,
    Policy,
    ProofError,
    Verifier,
    issuer_id,
    rdfc,
    sign,
)

from .conftest import NodePeer, PeerError

pytestmark = pytest.mark.node

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "credentials"
OWN = Path(__file__).resolve().parent / "credentials"
W3C_VECTORS = ROOT / "tests" / "fixtures" / "w3c-vectors"
#: The W3C vectors' AlumniCredential: small contexts, so the reference library handles it in milliseconds.
ALUMNI = W3C_VECTORS / "vc-di-ecdsa" / "unsigned.json"

#: The credential types the interop brief names (IPR licence, commercial invoice) and our edge case.
NAMED = ("intellectual-property-rights-license", "commercial-invoice")
EDGE = "invoice-numbers-and-json-literals"

CREDENTIAL_FILES = {p.stem: p for p in sorted(EXAMPLES.glob("*.json")) + sorted(OWN.glob("*.json"))}
#: (cryptosuite, key type, test id).
SUITES = (
    ("eddsa-rdfc-2022", "Ed25519", "eddsa-rdfc-2022"),
    ("ecdsa-rdfc-2019", "P-256", "ecdsa-rdfc-2019-P256"),
    ("ecdsa-rdfc-2019", "P-384", "ecdsa-rdfc-2019-P384"),
)
SUITE_PARAMS = [pytest.param(s, k, id=i) for s, k, i in SUITES]
DIRECTION_CASES = [pytest.param(c, s, k, id=f"{c}-{i}") for c in (*NAMED, EDGE) for s, k, i in SUITES]
#: Each suite is tampered once with a vcgate signature and once with a reference one.
TAMPER_CASES = [
    pytest.param(c, s, k, signer, id=f"{c}-{i}-signed-by-{signer}")
    for c, signer in zip(NAMED, ("vcgate", "reference"), strict=True)
    for s, k, i in SUITES
]
ALL_CREDENTIALS = [pytest.param(stem, id=stem) for stem in CREDENTIAL_FILES]


def load(stem: str) -> dict[str, Any]:
    """A credential (``examples/credentials/<stem>.json`` or ``tests/interop/credentials/<stem>.json``)."""
    path = CREDENTIAL_FILES.get(stem)
    assert path is not None, f"credential {stem!r} not found in {EXAMPLES} or {OWN}"
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def load_alumni() -> dict[str, Any]:
    """The W3C vectors' unsigned AlumniCredential."""
    doc: dict[str, Any] = json.loads(ALUMNI.read_text(encoding="utf-8"))
    return doc


def _replace_strings(value: Any, old: str, new: str) -> Any:
    if isinstance(value, dict):
        return {k: _replace_strings(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_strings(v, old, new) for v in value]
    return new if value == old else value


def reissue(doc: dict[str, Any], did: str) -> dict[str, Any]:
    """The unsigned credential re-issued by ``did``: every mention of the old issuer DID (issuer, licensor, seller…)
    becomes ``did``; ``proof`` is dropped."""
    old = issuer_id(doc)
    assert old is not None, "every interop credential names an issuer"
    out: dict[str, Any] = _replace_strings({k: v for k, v in doc.items() if k != "proof"}, old, did)
    assert issuer_id(out) == did
    return out


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def instants(doc: dict[str, Any]) -> tuple[datetime, datetime]:
    """(proof created, verification instant): an hour and a day after the credential becomes valid."""
    start = _parse(doc.get("validFrom") or doc.get("issuanceDate") or "2025-01-01T00:00:00Z")
    return start + timedelta(hours=1), start + timedelta(days=1)


def iso(t: datetime) -> str:
    """The XML Schema dateTime form both libraries write (UTC, seconds, ``Z``)."""
    return t.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _policy() -> Policy:
    raw = dict(Policy.default().raw)
    raw.update(name="vcgate-default-interop", unsafe_skip_status=True)
    return Policy.from_mapping(raw)


POLICY = _policy()


class _NoLedgerStages:
    """Stages 3-7 (ledger evidence, native signer, replay, ledger revocation, trust) are outside this comparison:
    the reference library has no notion of them, and the examples' LedgerEvidence names made-up ledgers that no
    policy anchors. The evidence stays in the signed bytes (its JSON literals are part of what is compared)."""

    def run(self, doc: Any, issuer: str | None, *, checked_at: datetime) -> tuple[str | None, list[Any]]:
        return None, []


NO_LEDGER = _NoLedgerStages()


def problem_codes(doc: dict[str, Any], at: datetime) -> tuple[str, list[str]]:
    """vcgate's verdict on ``doc`` at ``at`` (full pipeline, offline, default policy minus status): (status, codes)."""
    result = Verifier(POLICY, DidResolver.offline(), ledger=NO_LEDGER).check(doc, at=at)
    return result.status, [p.code for p in result.problems]


class Peer:
    """The Node peer's operations, memoised for the session (a Traceability credential costs jsonld.js ~0.3 s)."""

    def __init__(self, node: NodePeer) -> None:
        self.node = node
        self._verdicts: dict[tuple[str, str], dict[str, Any]] = {}
        self._signed: dict[tuple[str, str, str, str], tuple[dict[str, Any], str]] = {}

    def generate(self, key_type: str) -> dict[str, Any]:
        """A fresh key made by the reference library (its Multikey export, secret included)."""
        key: dict[str, Any] = self.node.call("generate", keyType=key_type)
        return key

    def sign(self, doc: dict[str, Any], key: dict[str, Any], suite: str, created: datetime) -> dict[str, Any]:
        """``@digitalbazaar/vc`` issue() with a DataIntegrityProof of ``suite``."""
        signed: dict[str, Any] = self.node.call("sign", credential=doc, key=key, suite=suite, created=iso(created))
        return signed

    def verify(self, doc: dict[str, Any], at: datetime) -> dict[str, Any]:
        """``@digitalbazaar/vc`` verifyCredential() at ``at``: ``{"verified": bool, "errors": [...]}``."""
        memo = (json.dumps(doc, sort_keys=True), iso(at))
        if memo not in self._verdicts:
            self._verdicts[memo] = self.node.call("verify", credential=doc, now=iso(at), checkStatus=False)
        return copy.deepcopy(self._verdicts[memo])

    def canonize(self, doc: dict[str, Any], hash_algorithm: str = "SHA-256") -> str:
        """jsonld.js ``canonize`` (RDFC-1.0, safe mode) with RDFC-1.0's hash algorithm."""
        nquads: str = self.node.call("canonize", document=doc, hashAlgorithm=hash_algorithm)
        return nquads

    def signed_by(self, signer: str, stem: str, suite: str, key_type: str) -> tuple[dict[str, Any], str]:
        """(credential ``stem`` re-issued and signed by ``signer``, the signing key's DID), made once per session.

        ``vcgate`` signs with a key vcgate generated; ``reference`` with one the reference library generated.
        """
        memo = (signer, stem, suite, key_type)
        if memo not in self._signed:
            created, _ = instants(load(stem))
            if signer == "vcgate":
                key = KeyPair.generate(key_type)
                doc = sign(reissue(load(stem), key.controller), key, suite=suite, created=created)
                self._signed[memo] = (doc, key.controller)
            else:
                node_key = self.generate(key_type)
                doc = self.sign(reissue(load(stem), node_key["controller"]), node_key, suite, created)
                self._signed[memo] = (doc, node_key["controller"])
        doc, did = self._signed[memo]
        return copy.deepcopy(doc), did


@pytest.fixture(scope="session")
def peer(node_peer: NodePeer) -> Peer:
    """The memoising wrapper around the session's Node peer."""
    return Peer(node_peer)


def _leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], str]]:
    out: list[tuple[tuple[Any, ...], str]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in ("type", "id", "@context"):
                out += _leaf_paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _leaf_paths(v, (*path, i))
    elif isinstance(value, str):
        out.append((path, value))
    return out


def one_character_changed(doc: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """A copy of ``doc`` with the last character of the first plain string value in ``credentialSubject``
    changed (never an id, type or date), and a description of the change."""
    paths = [(p, v) for p, v in _leaf_paths(doc["credentialSubject"]) if v and not v[:4].isdigit()]
    assert paths, "the credential subject has a string value to change"
    path, value = paths[0]
    changed = value[:-1] + ("x" if value[-1] != "x" else "y")
    out = copy.deepcopy(doc)
    target: Any = out["credentialSubject"]
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = changed
    return out, f"credentialSubject/{'/'.join(map(str, path))}: {value!r} -> {changed!r}"


# --- the peer itself -----------------------------------------------------------------------------------------------


def test_peer_runs_the_pinned_reference_libraries(node_peer: NodePeer, npm_pins: dict[str, str]) -> None:
    versions = node_peer.call("versions")["packages"]
    checked = [name for name in versions if name in npm_pins]
    assert {"@digitalbazaar/vc", "@digitalbazaar/data-integrity", "jsonld"} <= set(checked)
    for name in checked:
        assert versions[name] == npm_pins[name], f"{name}: installed {versions[name]}, pinned {npm_pins[name]}"


def test_examples_are_covered() -> None:
    assert {*NAMED, EDGE} <= set(CREDENTIAL_FILES)
    examples = {p.stem for p in EXAMPLES.glob("*.json")}
    assert len(examples) >= 2
    assert examples <= set(CREDENTIAL_FILES)


def test_peer_loader_is_offline_and_pinned(peer: Peer) -> None:
    doc = {"@context": ["https://www.w3.org/ns/credentials/v2", "https://example.org/unpinned/v1"], "type": "X"}
    with pytest.raises(PeerError, match=r"refuses https://example\.org/unpinned/v1"):
        peer.canonize(doc)
    with pytest.raises(CanonicalizationError) as exc:
        rdfc(doc)
    assert exc.value.code == "CONTEXT_NOT_ALLOWED"


# --- canonical N-Quads -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("stem", ALL_CREDENTIALS)
def test_canonical_nquads_match_jsonld_js(peer: Peer, stem: str) -> None:
    doc = load(stem)  # untouched: credentialStatus, evidence with JSON literals, +08:00 offsets, doubles
    expected = peer.canonize(doc)
    assert f"<{doc['id']}> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type>" in expected  # not an empty graph
    assert rdfc(doc).nquads == expected


@pytest.mark.parametrize("stem", [*NAMED, EDGE])
def test_canonical_nquads_with_sha384_match_jsonld_js(peer: Peer, stem: str) -> None:
    # VC-DI-ECDSA §3 ("canon-and-hash"): for P-384 keys RDFC-1.0 itself hashes with SHA-384, which relabels the
    # blank nodes. vcgate used SHA-256 here until this test; the W3C P-384 vector has too few blank nodes to show it.
    signed, _ = peer.signed_by("vcgate", stem, "ecdsa-rdfc-2019", "P-384")
    sha384 = rdfc(signed, hash_algorithm="sha384").nquads
    assert sha384 != rdfc(signed).nquads  # the choice matters for this document
    assert sha384 == peer.canonize(signed, "SHA-384")


def _w3c_documents() -> list[Any]:
    paths = sorted(W3C_VECTORS.glob("*/unsigned.json")) + sorted(W3C_VECTORS.glob("*/*/signed*.json"))
    return [pytest.param(p, id=str(p.relative_to(W3C_VECTORS))) for p in paths]


@pytest.mark.parametrize("path", _w3c_documents())
def test_canonical_nquads_of_w3c_vectors_match(peer: Peer, path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert rdfc(doc).nquads == peer.canonize(doc)


# --- both directions ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stem", "suite", "key_type"), DIRECTION_CASES)
def test_vcgate_signed_verifies_in_reference_library(peer: Peer, stem: str, suite: str, key_type: str) -> None:
    signed, did = peer.signed_by("vcgate", stem, suite, key_type)
    assert signed["proof"]["cryptosuite"] == suite
    assert signed["proof"]["verificationMethod"].startswith(did + "#")
    _, at = instants(signed)
    assert peer.verify(signed, at) == {"verified": True, "errors": []}


@pytest.mark.parametrize(("stem", "suite", "key_type"), DIRECTION_CASES)
def test_reference_signed_verifies_in_vcgate(peer: Peer, stem: str, suite: str, key_type: str) -> None:
    signed, did = peer.signed_by("reference", stem, suite, key_type)
    assert signed["proof"]["cryptosuite"] == suite
    assert signed["proof"]["verificationMethod"].startswith(did + "#")
    _, at = instants(signed)
    result = Verifier(POLICY, DidResolver.offline(), ledger=NO_LEDGER).check(signed, at=at)
    assert result.status == "verified", [p.to_json() for p in result.problems]
    assert result.issuer == did
    assert {c.name for c in result.checks if c.status == "passed"} >= {
        "signature",
        "issuer_key_binding",
        "strict_terms",
        "data_model",
    }


@pytest.mark.parametrize("stem", ALL_CREDENTIALS)
def test_ed25519_proofs_are_byte_identical(peer: Peer, stem: str) -> None:
    # Ed25519 is deterministic: the same key, document and `created` must give the very same proof. That pins
    # canonicalization, the proof options, hash order (proofHash ‖ docHash) and encoding at once, and - since the
    # bytes are equal - shows both directions for every example credential with a single call to the peer.
    key = KeyPair.generate("ed25519")
    created, at = instants(load(stem))
    unsigned = reissue(load(stem), key.controller)
    ours = sign(unsigned, key, suite="eddsa-rdfc-2022", created=created)
    theirs = peer.sign(unsigned, key.to_multikey(), "eddsa-rdfc-2022", created)
    assert theirs["proof"] == ours["proof"]
    assert theirs == ours
    assert problem_codes(theirs, at) == ("verified", [])


# --- tampering fails on both sides -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("stem", "suite", "key_type", "signer"), TAMPER_CASES)
def test_one_character_change_fails_on_both_sides(
    peer: Peer, stem: str, suite: str, key_type: str, signer: str
) -> None:
    signed, _ = peer.signed_by(signer, stem, suite, key_type)
    _, at = instants(signed)
    # The untouched credential verifies on both sides, so the failures below are the change's doing.
    assert peer.verify(signed, at) == {"verified": True, "errors": []}
    assert problem_codes(signed, at) == ("verified", [])

    tampered, change = one_character_changed(signed)
    assert peer.verify(tampered, at) == {"verified": False, "errors": ["Error: Invalid signature."]}, change
    assert problem_codes(tampered, at) == ("invalid", ["SIGNATURE_INVALID"]), change


def test_one_character_change_helper_changes_exactly_one_character() -> None:
    doc = load(NAMED[0])
    changed, description = one_character_changed(doc)
    before, after = json.dumps(doc, sort_keys=True), json.dumps(changed, sort_keys=True)
    assert len(before) == len(after)
    assert sum(a != b for a, b in zip(before, after, strict=True)) == 1, description
    assert description.startswith("credentialSubject/")


# --- keys ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("suite", "key_type"), SUITE_PARAMS)
def test_key_files_import_across_implementations(peer: Peer, suite: str, key_type: str) -> None:
    created, at = instants(load_alumni())

    # A vcgate key file (what `vcgate keys generate` writes) drives the reference library's signer...
    ours = KeyPair.generate(key_type)
    signed = peer.sign(reissue(load_alumni(), ours.controller), ours.to_multikey(), suite, created)
    assert signed["proof"]["verificationMethod"] == ours.verification_method
    assert problem_codes(signed, at) == ("verified", [])

    # ...and a key the reference library exports (Ed25519: its legacy 64-byte seed ‖ public form) signs in vcgate.
    exported = peer.generate(key_type)
    theirs = KeyPair.from_multikey(exported)
    assert theirs.to_multikey(include_secret=False)["publicKeyMultibase"] == exported["publicKeyMultibase"]
    assert theirs.verification_method == exported["id"]
    signed = sign(reissue(load_alumni(), theirs.controller), theirs, suite=suite, created=created)
    assert peer.verify(signed, at) == {"verified": True, "errors": []}


# --- the same verdicts on the same faults ---------------------------------------------------------------------------


@pytest.mark.parametrize("signer", ["vcgate", "reference"])
@pytest.mark.parametrize(("suite", "key_type"), SUITE_PARAMS)
def test_issuer_must_control_the_key_on_both_sides(peer: Peer, suite: str, key_type: str, signer: str) -> None:
    doc = reissue(load_alumni(), "did:web:someone-else.example.com")
    created, at = instants(doc)
    if signer == "vcgate":
        signed = sign(doc, KeyPair.generate(key_type), suite=suite, created=created)
    else:
        signed = peer.sign(doc, peer.generate(key_type), suite, created)
    expected = "Error: Credential issuer must match the verification method controller."
    assert peer.verify(signed, at) == {"verified": False, "errors": [expected]}
    assert problem_codes(signed, at) == ("invalid", ["ISSUER_KEY_MISMATCH"])


@pytest.mark.parametrize(("suite", "key_type"), SUITE_PARAMS)
def test_expired_credential_fails_on_both_sides(peer: Peer, suite: str, key_type: str) -> None:
    key = peer.generate(key_type)
    doc = reissue(load_alumni(), key["controller"])
    doc["validUntil"] = "2024-01-01T00:00:00Z"
    created, at = instants(doc)
    signed = peer.sign(doc, key, suite, created)
    after = _parse(doc["validUntil"]) + timedelta(days=1)  # beyond the library's 300 s clock-skew allowance
    assert peer.verify(signed, at) == {"verified": True, "errors": []}
    result = peer.verify(signed, after)
    assert result["verified"] is False
    assert len(result["errors"]) == 1, result
    assert 'is after "validUntil"' in result["errors"][0]
    assert problem_codes(signed, after) == ("invalid", ["EXPIRED"])


def test_undefined_terms_vcgate_is_stricter(peer: Peer) -> None:
    # A documented divergence. traceability/v1 maps undefined terms to the issuer-dependent vocabulary (@vocab), so
    # the reference library signs and verifies them; vcgate refuses to sign them, warns about them
    # (ISSUER_DEPENDENT_TERM; UNDEFINED_TERM under strict_vocabulary) and the canonical schema of the type refuses
    # the extra member (additionalProperties), because another issuer may mean something else by the same word.
    doc = load("commercial-invoice")
    doc["credentialSubject"]["paymentTermsNote"] = "net 30"
    key = peer.generate("Ed25519")
    created, at = instants(doc)
    signed = peer.sign(reissue(doc, key["controller"]), key, "eddsa-rdfc-2022", created)
    assert peer.verify(signed, at) == {"verified": True, "errors": []}
    assert problem_codes(signed, at) == ("invalid", ["SCHEMA_VIOLATION"])
    strict = Verifier(
        Policy.from_mapping({**POLICY.raw, "strict_vocabulary": True}), DidResolver.offline(), ledger=NO_LEDGER
    )
    assert [p.code for p in strict.check(signed, at=at).problems] == ["SCHEMA_VIOLATION", "UNDEFINED_TERM"]
    ours = KeyPair.generate("ed25519")
    with pytest.raises(ProofError, match="undefined terms paymentTermsNote"):
        sign(reissue(doc, ours.controller), ours, suite="eddsa-rdfc-2022", created=created)
