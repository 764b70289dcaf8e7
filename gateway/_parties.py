"""The party registry: trade partners, their identifiers and their ledger identities (ARCHITECTURE.md, "Trust").

A :class:`Party` has a DID, names, identifiers (LEI, GLN, importer-of-record number, manufacturer id, …) and
:class:`Binding` s of ledger identities (an Ethereum account, a Fabric MSP id + certificate, a plain-ledger key).
Each binding is proven by a signed challenge (:func:`binding_challenge`) or by the key being listed in the party's
DID document, and carries a validity period: a binding is closed, never deleted, so a credential signed before a
key rotation is still attributed as of its ledger time.

The *effective issuer* of a credential is the party bound to its evidence's ``nativeSigner`` at the evidence's
ledger time (:meth:`PartyRegistry.party_for_signer`). Registry lookups are pure; proving control
(:func:`check_binding_proof`) may resolve a DID through the injected resolver.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import rfc8785
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from vcgate.canonical_schema import (
    Check,
    InputError,
    Problem,
    VcgateError,
    b64url,
    b64url_decode,
    public_key_from_multibase,
)

from .verification._dids import DidResolutionError, DidResolver
from .verification._keys import verify_signature

ProofMethod = Literal["signed-challenge", "did-document"]

_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_SCHEME = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_HEX = re.compile(r"^(0x)?[0-9a-fA-F]+$")

#: Identifier schemes linking uses (others are stored and indexed as given).
KNOWN_SCHEMES = ("lei", "gln", "importer-of-record", "manufacturer-id", "duns", "eori")

CHALLENGE_HEADER = "vcgate party binding proof v1"


class PartyError(VcgateError):
    """A party document is malformed, or a binding's proof of control does not hold; ``code`` is stable."""

    def __init__(self, message: str, *, code: str = "PARTY_INVALID") -> None:
        super().__init__(message)
        self.code = code


def _ts(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _parse_time(value: Any, what: str) -> datetime:
    if isinstance(value, datetime):
        t = value
    elif isinstance(value, str):
        try:
            t = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise PartyError(f"{what} {value!r} is not an ISO-8601 date-time") from None
    else:
        raise PartyError(f"{what} must be an ISO-8601 date-time with a timezone")
    if t.tzinfo is None:
        raise PartyError(f"{what} {value!r} needs a timezone")
    return t.astimezone(UTC)


def _norm(value: Any) -> str:
    # Hex ledger identities (addresses, fingerprints) compare case-insensitively: EIP-55 checksums and upper-case
    # certificate digests name the same thing.
    text = str(value)
    return text.lower() if _HEX.match(text) else text


@dataclass(frozen=True, slots=True)
class Identifier:
    """A party identifier: ``scheme`` (``lei``, ``gln``, ``importer-of-record``, ``manufacturer-id``, …) + value."""

    scheme: str
    value: str

    def to_json(self) -> dict[str, str]:
        """``{"scheme", "value"}``."""
        return {"scheme": self.scheme, "value": self.value}


@dataclass(frozen=True, slots=True)
class ControlProof:
    """How a party proved control of a ledger identity.

    ``signed-challenge``: ``signature`` (base64url) over :func:`binding_challenge` — by the key
    ``publicKeyMultibase`` names, by an Ethereum account (65-byte EIP-191 ``personal_sign``), or by the Fabric
    certificate given in ``certificate`` (PEM). ``did-document``: the identity is listed in the party's DID document
    (a verification method with that ``publicKeyMultibase`` or ``blockchainAccountId``).
    """

    method: ProofMethod
    nonce: str = ""
    signature: str | None = None
    certificate: str | None = None
    verification_method: str | None = None

    def to_json(self) -> dict[str, str]:
        """JSON form (only the members set)."""
        out: dict[str, str] = {"method": self.method}
        for key, value in (
            ("nonce", self.nonce),
            ("signature", self.signature),
            ("certificate", self.certificate),
            ("verificationMethod", self.verification_method),
        ):
            if value:
                out[key] = value
        return out


@dataclass(frozen=True, slots=True)
class Binding:
    """A ledger identity bound to a party for ``[valid_from, valid_until)``.

    ``kind`` is the ``nativeSigner`` kind the adapter writes (``ethereum-address``, ``fabric-msp``,
    ``plain-ledger-key``, …); ``match`` the members that identify the signer (``address``; ``mspId`` +
    ``certificateSha256``; ``publicKeyMultibase``). A native signer matches when its kind is ``kind`` and every
    ``match`` member is equal (hex compared case-insensitively).
    """

    kind: str
    match: Mapping[str, str]
    valid_from: datetime
    proof: ControlProof
    valid_until: datetime | None = None

    def active_at(self, at: datetime) -> bool:
        """Whether the binding held at ``at``."""
        return self.valid_from <= at and (self.valid_until is None or at < self.valid_until)

    def matches(self, native_signer: Mapping[str, Any]) -> bool:
        """Whether ``native_signer`` (an evidence's ``nativeSigner``) is this identity."""
        kind = native_signer.get("kind", native_signer.get("type"))
        if kind != self.kind:
            return False
        return all(k in native_signer and _norm(native_signer[k]) == _norm(v) for k, v in self.match.items())

    def to_json(self) -> dict[str, Any]:
        """JSON form, as in a party document."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "match": dict(self.match),
            "validFrom": _ts(self.valid_from),
            "proof": self.proof.to_json(),
        }
        if self.valid_until is not None:
            out["validUntil"] = _ts(self.valid_until)
        return out

    @classmethod
    def from_json(cls, value: Any, where: str = "binding") -> Binding:
        """Parse a binding object; raise :class:`PartyError` naming the bad member."""
        if not isinstance(value, Mapping):
            raise PartyError(f"{where} must be an object")
        kind = value.get("kind")
        if not isinstance(kind, str) or not _SCHEME.match(kind):
            raise PartyError(f"{where}.kind must be a ledger identity kind such as ethereum-address")
        match = value.get("match")
        if not isinstance(match, Mapping) or not match or not all(isinstance(v, str) and v for v in match.values()):
            raise PartyError(f"{where}.match must be a non-empty object of strings (e.g. {{address: 0x…}})")
        proof = value.get("proof")
        if not isinstance(proof, Mapping) or proof.get("method") not in ("signed-challenge", "did-document"):
            raise PartyError(f"{where}.proof.method must be signed-challenge or did-document")
        until = value.get("validUntil")
        return cls(
            kind=kind,
            match={str(k): str(v) for k, v in match.items()},
            valid_from=_parse_time(value.get("validFrom"), f"{where}.validFrom"),
            valid_until=_parse_time(until, f"{where}.validUntil") if until is not None else None,
            proof=ControlProof(
                method=proof["method"],
                nonce=str(proof.get("nonce", "")),
                signature=proof.get("signature"),
                certificate=proof.get("certificate"),
                verification_method=proof.get("verificationMethod"),
            ),
        )


@dataclass(frozen=True, slots=True)
class Party:
    """A registered trade partner. Build with :meth:`from_json`."""

    id: str
    did: str
    names: tuple[str, ...] = ()
    identifiers: tuple[Identifier, ...] = ()
    bindings: tuple[Binding, ...] = ()
    also_known_as: tuple[str, ...] = ()

    @property
    def dids(self) -> tuple[str, ...]:
        """The party's DID and any former DIDs."""
        return (self.did, *self.also_known_as)

    def identifier(self, scheme: str) -> str | None:
        """The first identifier of ``scheme``."""
        return next((i.value for i in self.identifiers if i.scheme == scheme), None)

    def to_json(self) -> dict[str, Any]:
        """The party document."""
        out: dict[str, Any] = {"id": self.id, "did": self.did, "names": list(self.names)}
        if self.also_known_as:
            out["alsoKnownAs"] = list(self.also_known_as)
        out["identifiers"] = [i.to_json() for i in self.identifiers]
        out["bindings"] = [b.to_json() for b in self.bindings]
        return out

    @classmethod
    def from_json(cls, value: Any) -> Party:
        """Parse a party document (YAML/JSON object); raise :class:`PartyError` naming the bad member."""
        if not isinstance(value, Mapping):
            raise PartyError("a party document must be an object")
        pid = value.get("id")
        if not isinstance(pid, str) or not _ID.match(pid):
            raise PartyError("party id must be 1-64 of a-z 0-9 . _ - (starting with a letter or digit)")
        did = value.get("did")
        if not isinstance(did, str) or not did.startswith("did:"):
            raise PartyError(f"party {pid}: did must be a DID")
        names = value.get("names", [])
        if isinstance(names, str):
            names = [names]
        if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
            raise PartyError(f"party {pid}: names must be a list of strings")
        idents = []
        for i, item in enumerate(value.get("identifiers") or []):
            if not isinstance(item, Mapping):
                raise PartyError(f"party {pid}: identifiers[{i}] must be {{scheme, value}}")
            scheme, val = item.get("scheme"), item.get("value")
            if not isinstance(scheme, str) or not _SCHEME.match(scheme) or not isinstance(val, str) or not val:
                raise PartyError(f"party {pid}: identifiers[{i}] needs a scheme (e.g. lei) and a non-empty value")
            idents.append(Identifier(scheme, val.strip()))
        bindings = tuple(
            Binding.from_json(b, f"party {pid}: bindings[{i}]") for i, b in enumerate(value.get("bindings") or [])
        )
        aka = value.get("alsoKnownAs") or []
        if not isinstance(aka, list) or not all(isinstance(d, str) and d.startswith("did:") for d in aka):
            raise PartyError(f"party {pid}: alsoKnownAs must be a list of DIDs")
        return cls(pid, did, tuple(names), tuple(idents), bindings, tuple(aka))


def binding_challenge(party_did: str, binding: Binding) -> bytes:
    """The exact bytes a party signs to prove control of ``binding``'s ledger identity (UTF-8 text).

    It names the party, the identity and the start of the binding, plus the proof's nonce, so a signature cannot
    be replayed for another party, identity or period.
    """
    lines = [
        CHALLENGE_HEADER,
        f"party: {party_did}",
        f"kind: {binding.kind}",
        "match: " + rfc8785.dumps(dict(binding.match)).decode("utf-8"),
        f"validFrom: {_ts(binding.valid_from)}",
        f"nonce: {binding.proof.nonce}",
    ]
    return "\n".join(lines).encode("utf-8")


def _fail(code: str, detail: str) -> Check:
    return Check.failed("binding_proof", Problem(code, "Proof of control does not hold", detail), "parties")


def _keccak(data: bytes) -> bytes:
    try:
        from Crypto.Hash import keccak  # pycryptodome, from the `ethereum` extra
    except ImportError:  # pragma: no cover - the ethereum extra is installed in CI
        raise PartyError("checking Ethereum signatures needs the `ethereum` extra (pycryptodome)") from None
    return bytes(keccak.new(digest_bits=256, data=data).digest())


def _ethereum_signer(message: bytes, signature: bytes) -> str | None:
    # EIP-191 personal_sign: keccak256("\x19Ethereum Signed Message:\n" + len + message), 65-byte r‖s‖v.
    import coincurve

    if len(signature) != 65:
        return None
    v = signature[64]
    v = v - 27 if v >= 27 else v
    if v not in (0, 1):
        return None
    digest = _keccak(b"\x19Ethereum Signed Message:\n" + str(len(message)).encode() + message)
    try:
        public = coincurve.PublicKey.from_signature_and_message(signature[:64] + bytes([v]), digest, hasher=None)
    except ValueError:
        return None
    return "0x" + _keccak(public.format(compressed=False)[1:])[-20:].hex()


def _check_certificate_signature(binding: Binding, message: bytes, signature: bytes) -> Check:
    pem = binding.proof.certificate or ""
    try:
        cert = x509.load_pem_x509_certificate(pem.encode("ascii"))
    except ValueError as exc:
        return _fail("BINDING_CERTIFICATE_INVALID", f"certificate is not PEM X.509: {exc}")
    fingerprint = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    # The Fabric adapter's nativeSigner names the certificate as `certificateFingerprint` (the same SHA-256 of the
    # DER): a binding matching on either must be tied to the certificate that signed the challenge.
    for member in ("certificateSha256", "certificateFingerprint"):
        expected = binding.match.get(member)
        if expected is not None and _norm(expected) != fingerprint:
            return _fail("BINDING_CERTIFICATE_MISMATCH", f"the certificate's SHA-256 is not match.{member}")
    key = cert.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return _fail("BINDING_KEY_UNSUPPORTED", "Fabric identities sign with ECDSA keys")
    try:
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))  # Fabric signs DER ECDSA over SHA-256
    except InvalidSignature:
        return _fail("BINDING_SIGNATURE_INVALID", "the certificate's key did not sign the challenge")
    return Check.passed("binding_proof", "parties")


def _listed_in_did_document(party: Party, binding: Binding, resolver: DidResolver) -> Check:
    try:
        doc = resolver.resolve(party.did)
    except DidResolutionError as exc:
        return Check.errored(
            "binding_proof", Problem("BINDING_DID_UNRESOLVABLE", "DID document unavailable", str(exc)), "parties"
        )
    methods = doc.get("verificationMethod") or []
    key = binding.match.get("publicKeyMultibase")
    address = binding.match.get("address")
    wanted = binding.proof.verification_method
    for vm in methods if isinstance(methods, list) else []:
        if not isinstance(vm, Mapping):
            continue
        vm_id = str(vm.get("id", ""))
        if wanted and vm_id != wanted and not (vm_id.startswith("#") and party.did + vm_id == wanted):
            continue
        if key is not None and vm.get("publicKeyMultibase") == key:
            return Check.passed("binding_proof", "parties")
        account = vm.get("blockchainAccountId")
        if address is not None and isinstance(account, str) and _norm(account.rsplit(":", 1)[-1]) == _norm(address):
            return Check.passed("binding_proof", "parties")
    return _fail("BINDING_NOT_IN_DID_DOCUMENT", f"no verification method of {party.did} lists this identity")


def check_binding_proof(party: Party, binding: Binding, resolver: DidResolver | None = None) -> Check:
    """Check that ``party`` controls ``binding``'s ledger identity. Never raises on bad input.

    Problem codes: ``BINDING_SIGNATURE_MISSING``, ``BINDING_SIGNATURE_INVALID``, ``BINDING_KEY_UNSUPPORTED``,
    ``BINDING_CERTIFICATE_INVALID``, ``BINDING_CERTIFICATE_MISMATCH``, ``BINDING_NOT_IN_DID_DOCUMENT``,
    ``BINDING_DID_UNRESOLVABLE`` (error).
    """
    proof = binding.proof
    if proof.method == "did-document":
        return _listed_in_did_document(party, binding, resolver or DidResolver.offline())
    if not proof.signature:
        return _fail("BINDING_SIGNATURE_MISSING", "a signed-challenge proof needs a signature")
    try:
        signature = b64url_decode(proof.signature) if proof.signature.count(".") != 2 else b""
    except (InputError, ValueError, binascii.Error):
        return _fail("BINDING_SIGNATURE_INVALID", "signature is not base64url")
    message = binding_challenge(party.did, binding)
    if proof.signature.count(".") == 2 and "publicKeyMultibase" in binding.match:
        return _check_jws(binding, message, proof.signature)
    if "publicKeyMultibase" in binding.match:
        try:
            public = public_key_from_multibase(binding.match["publicKeyMultibase"])
        except InputError as exc:
            return _fail("BINDING_KEY_UNSUPPORTED", str(exc))
        if verify_signature(public, message, signature):
            return Check.passed("binding_proof", "parties")
        return _fail("BINDING_SIGNATURE_INVALID", "the key did not sign the challenge")
    if "address" in binding.match:
        signer = _ethereum_signer(message, signature)
        if signer is not None and signer == _norm(binding.match["address"]):
            return Check.passed("binding_proof", "parties")
        return _fail("BINDING_SIGNATURE_INVALID", "the account did not sign the challenge (EIP-191 personal_sign)")
    if proof.certificate:
        return _check_certificate_signature(binding, message, signature)
    return _fail("BINDING_KEY_UNSUPPORTED", "match names no key, address or certificate a signature can be checked by")


def _check_jws(binding: Binding, message: bytes, jws: str) -> Check:
    """A compact JWS (RFC 7515 §7.1) whose payload is the challenge, signed by the bound key (EdDSA, ES256, ES256K,
    ES384: the raw signature forms :func:`verify_signature` takes)."""
    header_b64, payload_b64, signature_b64 = jws.split(".")
    try:
        header = json.loads(b64url_decode(header_b64))
        payload = b64url_decode(payload_b64)
        signature = b64url_decode(signature_b64)
        public = public_key_from_multibase(binding.match["publicKeyMultibase"])
    except (InputError, ValueError, binascii.Error) as exc:
        return _fail("BINDING_SIGNATURE_INVALID", f"not a compact JWS over the challenge: {exc}")
    if not isinstance(header, dict) or header.get("alg") not in _JWS_ALGS.get(public.key_type, ()):
        return _fail("BINDING_KEY_UNSUPPORTED", f"JWS alg does not fit a {public.key_type} key")
    if payload != message:
        return _fail("BINDING_SIGNATURE_INVALID", "the JWS payload is not this binding's challenge")
    if verify_signature(public, f"{header_b64}.{payload_b64}".encode("ascii"), signature):
        return Check.passed("binding_proof", "parties")
    return _fail("BINDING_SIGNATURE_INVALID", "the key did not sign the JWS")


_JWS_ALGS: dict[str, tuple[str, ...]] = {
    "Ed25519": ("EdDSA", "Ed25519"),
    "P-256": ("ES256",),
    "P-384": ("ES384",),
    "secp256k1": ("ES256K",),
}


def binding_for_ledger(
    ledger_id: str,
    identity: str,
    *,
    valid_from: datetime,
    nonce: str,
    certificate_pem: str | None = None,
    signature: str | None = None,
) -> Binding:
    """The binding of a ledger identity named the way an operator knows it: on ``eip155:…`` an account address
    (kind ``ethereum-address``), on ``fabric:…`` an MSP id with its certificate (``fabric-msp``, matched on the
    certificate's SHA-256 as the Fabric adapter's ``nativeSigner`` names it), on ``plain:…`` (or any other ledger) a
    ``publicKeyMultibase`` key (``plain-ledger-key``). Raises :class:`PartyError` for an identity that does not fit.
    """
    prefix = ledger_id.split(":", 1)[0]
    if prefix == "eip155":
        if not (_HEX.match(identity) and len(identity.removeprefix("0x")) == 40):
            raise PartyError(f"on {ledger_id} the identity is an account address (0x + 40 hex), not {identity!r}")
        kind, match = "ethereum-address", {"address": identity.lower()}
    elif prefix == "fabric":
        if not certificate_pem:
            raise PartyError("a Fabric identity is an MSP id plus its certificate: give --certificate FILE (PEM)")
        try:
            cert = x509.load_pem_x509_certificate(certificate_pem.encode("ascii"))
        except ValueError as exc:
            raise PartyError(f"the certificate is not PEM X.509: {exc}") from None
        fingerprint = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
        kind, match = "fabric-msp", {"mspId": identity, "certificateFingerprint": fingerprint}
    else:
        try:
            public_key_from_multibase(identity)
        except InputError as exc:
            raise PartyError(f"on {ledger_id} the identity is a publicKeyMultibase key: {exc}") from None
        kind, match = "plain-ledger-key", {"publicKeyMultibase": identity}
    proof = ControlProof("signed-challenge", nonce, signature, certificate_pem if prefix == "fabric" else None)
    return Binding(kind, match, valid_from, proof)


def sign_binding_challenge(party_did: str, binding: Binding, sign: Any) -> Binding:
    """A copy of ``binding`` whose proof carries ``sign(challenge)`` (base64url); ``sign`` is e.g.
    :meth:`KeyPair.sign`."""
    signature = b64url(sign(binding_challenge(party_did, binding)))
    proof = ControlProof("signed-challenge", binding.proof.nonce, signature, binding.proof.certificate)
    return Binding(binding.kind, binding.match, binding.valid_from, proof, binding.valid_until)


@dataclass(frozen=True)
class PartyRegistry:
    """An immutable snapshot of the registered parties with pure lookups. Build with :meth:`of`."""

    parties: tuple[Party, ...] = ()
    _by_id: Mapping[str, Party] = field(default_factory=dict, repr=False)
    _by_did: Mapping[str, Party] = field(default_factory=dict, repr=False)
    _by_identifier: Mapping[tuple[str, str], Party] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, parties: Iterable[Party]) -> PartyRegistry:
        """A registry over ``parties`` (sorted by id)."""
        ordered = tuple(sorted(parties, key=lambda p: p.id))
        by_did: dict[str, Party] = {}
        by_ident: dict[tuple[str, str], Party] = {}
        for p in ordered:
            for d in p.dids:
                by_did.setdefault(d, p)
            for i in p.identifiers:
                by_ident.setdefault((i.scheme, _identifier_key(i.value)), p)
        return cls(ordered, {p.id: p for p in ordered}, by_did, by_ident)

    @property
    def digest(self) -> str:
        """SHA-256 of the registry's JSON form: changes whenever a party, identifier or binding changes."""
        text = json.dumps([p.to_json() for p in self.parties], sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def get(self, party_id: str) -> Party | None:
        """The party with this id."""
        return self._by_id.get(party_id)

    def party_for_did(self, did: str | None) -> Party | None:
        """The party whose DID (or former DID) is ``did``."""
        return self._by_did.get(did.split("#", 1)[0]) if did else None

    def party_for_identifier(self, scheme: str, value: str | None) -> Party | None:
        """The party holding identifier ``scheme``/``value`` (spaces and dashes ignored in the value)."""
        return self._by_identifier.get((scheme, _identifier_key(value))) if value else None

    def party_for_signer(self, native_signer: Mapping[str, Any], at: datetime) -> tuple[Party, Binding] | None:
        """The party (and binding) bound to ``native_signer`` at ``at``; a ``did`` member alone never binds."""
        for p in self.parties:
            for b in p.bindings:
                if b.active_at(at) and b.matches(native_signer):
                    return p, b
        return None


def _identifier_key(value: str | None) -> str:
    # Importer numbers are written "95-4812376 00", "95481237600", …: compare without separators.
    return re.sub(r"[\s\-./]", "", value or "").upper()


def nonce_from_bytes(data: bytes) -> str:
    """A nonce text for a challenge (base64url of random bytes supplied by the caller)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
