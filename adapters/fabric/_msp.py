"""Identity validation against a channel MSP: certificate chain to the MSP roots, CRLs, NodeOU roles.

Mirrors Fabric's X.509 MSP (``msp/mspimpl.go``): an identity is valid when its certificate is not a CA, chains
through the MSP's intermediate certificates to one of its root certificates, no certificate on the path is
revoked by
a CRL of the MSP signed by its issuer, it carries one of the MSP's organisational-unit identifiers when the
MSP lists
any, and — with NodeOUs enabled — exactly one NodeOU role (client, peer, admin or orderer) whose certifier,
if set,
is on the path. Validity periods are checked at the instant the caller passes (the transaction's recorded
time by
default), never at the local clock.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from vcgate.canonical_schema import Problem

from ._model import FabricMSP, Identity

_MAX_CHAIN = 8
_DER = Encoding.DER


@dataclass(frozen=True, slots=True)
class ValidatedIdentity:
    """An identity whose certificate chains to its MSP: its roles and organisational units."""

    identity: Identity
    msp_id: str
    roles: frozenset[str]
    organizational_units: frozenset[str]
    certificate_der: bytes
    fingerprint: str
    """Hex SHA-256 of the certificate DER."""


@dataclass(frozen=True, slots=True)
class IdentityOutcome:
    """Result of validating one identity: ``valid`` (with ``identity``) or a problem, ``failed`` or
    ``error``."""

    identity: ValidatedIdentity | None
    problem: Problem | None = None
    status: str = "passed"


@dataclass(frozen=True, slots=True)
class _ChainOutcome:
    problem: Problem | None
    status: str
    path_ders: tuple[bytes, ...]
    not_before: datetime | None
    not_after: datetime | None
    roles: frozenset[str]
    ous: frozenset[str]
    der: bytes


@dataclass(frozen=True, slots=True)
class _MSPMaterial:
    roots: tuple[x509.Certificate, ...]
    intermediates: tuple[x509.Certificate, ...]
    crls: tuple[x509.CertificateRevocationList, ...]
    admin_ders: frozenset[bytes]
    problem: Problem | None


class VerificationCache:
    """Caches shared by verifications: parsed certificates and public keys, and certificate-chain outcomes.

    Chain outcomes are keyed by (SHA-256 of the certificate bytes, fingerprint of the MSP config) so that a
    config
    update that changes an MSP never reuses a stale result. The cache holds no time-dependent verdicts:
    validity
    windows are stored and compared with the caller's instant on every use. Not thread-safe; use one per
    worker.
    """

    def __init__(self) -> None:
        self.certificates: dict[bytes, x509.Certificate] = {}
        self.public_keys: dict[bytes, ec.EllipticCurvePublicKey | None] = {}
        self.chains: dict[tuple[bytes, bytes], _ChainOutcome] = {}
        self.msp_material: dict[bytes, _MSPMaterial] = {}
        self.policy_outcomes: dict[tuple[bytes, str, tuple[str, ...]], object] = {}
        """Policy outcomes keyed by (config fingerprint, policy path, signer certificate fingerprints
        in order)."""

    def certificate(self, data: bytes) -> x509.Certificate:
        """Parse a PEM or DER certificate (cached by the SHA-256 of ``data``); raises ``ValueError``."""
        key = hashlib.sha256(data).digest()
        cert = self.certificates.get(key)
        if cert is None:
            if data.lstrip().startswith(b"-----BEGIN"):
                cert = x509.load_pem_x509_certificate(data)
            else:
                cert = x509.load_der_x509_certificate(data)
            self.certificates[key] = cert
        return cert

    def public_key(self, certificate_bytes: bytes) -> ec.EllipticCurvePublicKey | None:
        """The ECDSA public key of a certificate (None when it does not parse or is not an EC key)."""
        key = hashlib.sha256(certificate_bytes).digest()
        if key in self.public_keys:
            return self.public_keys[key]
        try:
            pub = self.certificate(certificate_bytes).public_key()
            result = pub if isinstance(pub, ec.EllipticCurvePublicKey) else None
        except (ValueError, UnsupportedAlgorithm):  # a damaged curve OID parses but names no supported curve
            result = None
        self.public_keys[key] = result
        return result


def _problem(code: str, title: str, detail: str) -> Problem:
    return Problem(code, title, detail)


def _material(msp: FabricMSP, cache: VerificationCache) -> _MSPMaterial:
    found = cache.msp_material.get(msp.fingerprint)
    if found is not None:
        return found
    problem = None
    try:
        roots = tuple(cache.certificate(c) for c in msp.root_certs)
        intermediates = tuple(cache.certificate(c) for c in msp.intermediate_certs)
        crls = tuple(
            x509.load_pem_x509_crl(c) if c.lstrip().startswith(b"-----BEGIN") else x509.load_der_x509_crl(c)
            for c in msp.revocation_list
        )
        admin_ders = frozenset(cache.certificate(c).public_bytes(_DER) for c in msp.admins)
    except ValueError as exc:
        roots, intermediates, crls, admin_ders = (), (), (), frozenset()
        problem = _problem("fabric.bad_msp", "MSP certificates do not parse", f"MSP {msp.msp_id}: {exc}")
    material = _MSPMaterial(roots, intermediates, crls, admin_ders, problem)
    cache.msp_material[msp.fingerprint] = material
    return material


def _ous(cert: x509.Certificate) -> frozenset[str]:
    return frozenset(str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME))


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _revoked(
    cert: x509.Certificate, issuer: x509.Certificate, crls: tuple[x509.CertificateRevocationList, ...]
) -> bool:
    for crl in crls:
        if crl.issuer != issuer.subject:
            continue
        try:
            if not crl.is_signature_valid(issuer.public_key()):  # type: ignore[arg-type]
                continue
        except (TypeError, ValueError):
            continue
        if crl.get_revoked_certificate_by_serial_number(cert.serial_number) is not None:
            return True
    return False


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def _build_chain(msp: FabricMSP, certificate_bytes: bytes, cache: VerificationCache) -> _ChainOutcome:
    def fail(code: str, title: str, detail: str, status: str = "failed") -> _ChainOutcome:
        return _ChainOutcome(_problem(code, title, detail), status, (), None, None, frozenset(), frozenset(), b"")

    if msp.msp_type != "fabric":
        return fail(
            "fabric.unsupported_msp",
            "identity cannot be checked",
            f"MSP {msp.msp_id} is an {msp.msp_type} MSP, which this verifier cannot check",
            "error",
        )
    material = _material(msp, cache)
    if material.problem is not None:
        return _ChainOutcome(material.problem, "error", (), None, None, frozenset(), frozenset(), b"")
    try:
        leaf = cache.certificate(certificate_bytes)
    except ValueError as exc:
        return fail("fabric.bad_certificate", "certificate does not parse", str(exc))
    if _is_ca(leaf):
        return fail(
            "fabric.ca_as_identity",
            "CA certificate used as identity",
            "a CA certificate cannot sign as a member",
        )
    path = [leaf]
    current = leaf
    root_ders = {r.public_bytes(_DER) for r in material.roots}
    candidates = (*material.intermediates, *material.roots)
    while True:
        if len(path) > _MAX_CHAIN:
            return fail("fabric.certificate_chain", "certificate chain too long", f"more than {_MAX_CHAIN} levels")
        issuer = next((c for c in candidates if c.subject == current.issuer and _issued_by(current, c)), None)
        if issuer is None:
            return fail(
                "fabric.certificate_chain",
                "certificate does not chain to the MSP roots",
                f"no certificate of MSP {msp.msp_id} issued {current.subject.rfc4514_string()}",
            )
        if _revoked(current, issuer, material.crls):
            return fail(
                "fabric.certificate_revoked",
                "certificate revoked",
                f"serial {current.serial_number:x} is on a CRL of MSP {msp.msp_id}",
            )
        path.append(issuer)
        if issuer.public_bytes(_DER) in root_ders:
            break
        current = issuer
    ders = tuple(c.public_bytes(_DER) for c in path)
    ous = _ous(leaf)
    if msp.organizational_unit_identifiers and not any(
        o.organizational_unit in ous for o in msp.organizational_unit_identifiers
    ):
        return fail(
            "fabric.identity_ou",
            "identity lacks the MSP's organisational unit",
            f"none of {sorted(ous)} is an OU identifier of MSP {msp.msp_id}",
        )
    roles: set[str] = set()
    if msp.node_ous.enabled:
        for role, ou in (
            ("client", msp.node_ous.client),
            ("peer", msp.node_ous.peer),
            ("admin", msp.node_ous.admin),
            ("orderer", msp.node_ous.orderer),
        ):
            if ou is None or ou.organizational_unit not in ous:
                continue
            if ou.certifier_pem:
                try:
                    certifier = cache.certificate(ou.certifier_pem).public_bytes(_DER)
                except ValueError:
                    continue
                if certifier not in ders[1:]:
                    continue
            roles.add(role)
        if len(roles) != 1:
            return fail(
                "fabric.identity_node_ou",
                "identity has no single NodeOU role",
                f"MSP {msp.msp_id} has NodeOUs enabled; the certificate's OUs {sorted(ous)} give roles {sorted(roles)}",
            )
    if ders[0] in material.admin_ders:
        roles.add("admin")
    not_before = max(c.not_valid_before_utc for c in path)
    not_after = min(c.not_valid_after_utc for c in path)
    return _ChainOutcome(None, "passed", ders, not_before, not_after, frozenset(roles), ous, ders[0])


def validate_identity(
    identity: Identity,
    msps: dict[str, FabricMSP],
    cache: VerificationCache,
    *,
    at: datetime | None,
) -> IdentityOutcome:
    """Validate ``identity`` against the channel's MSPs (pure; results cached in ``cache``).

    ``at`` is the instant validity periods are judged at; None skips the time check (the caller had no time).
    """
    msp = msps.get(identity.msp_id)
    if msp is None:
        return IdentityOutcome(
            None,
            _problem(
                "fabric.unknown_msp",
                "identity's MSP is not in the channel",
                f"MSP {identity.msp_id!r} is not one of {sorted(msps)}",
            ),
            "failed",
        )
    key = (hashlib.sha256(identity.certificate_pem).digest(), msp.fingerprint)
    outcome = cache.chains.get(key)
    if outcome is None:
        outcome = _build_chain(msp, identity.certificate_pem, cache)
        cache.chains[key] = outcome
    if outcome.problem is not None:
        return IdentityOutcome(None, outcome.problem, outcome.status)
    if at is not None and outcome.not_before is not None and outcome.not_after is not None:
        when = at if at.tzinfo else at.replace(tzinfo=UTC)
        if not outcome.not_before <= when <= outcome.not_after:
            return IdentityOutcome(
                None,
                _problem(
                    "fabric.certificate_expired",
                    "certificate not valid at the signing time",
                    f"the chain is valid {outcome.not_before.isoformat()} – {outcome.not_after.isoformat()}, "
                    f"not at {when.isoformat()}",
                ),
                "failed",
            )
    return IdentityOutcome(
        ValidatedIdentity(
            identity=identity,
            msp_id=identity.msp_id,
            roles=outcome.roles,
            organizational_units=outcome.ous,
            certificate_der=outcome.der,
            fingerprint=hashlib.sha256(outcome.der).hexdigest(),
        )
    )


def certificate_der(data: bytes, cache: VerificationCache) -> bytes | None:
    """DER of a PEM/DER certificate, or None if it does not parse."""
    try:
        return cache.certificate(data).public_bytes(_DER)
    except ValueError:
        return None
