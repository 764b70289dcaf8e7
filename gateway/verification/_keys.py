"""Signing keys: generation, key files, and raw signing for the Data Integrity suites.

Key file format (JSON, written 0600), the Multikey export form digitalbazaar's libraries use::

    {"type": "Multikey", "id": "did:key:z…#z…", "controller": "did:key:z…",
     "keyType": "Ed25519", "publicKeyMultibase": "z…", "secretKeyMultibase": "z…"}
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from nacl.exceptions import BadSignatureError
from nacl.signing import VerifyKey

from vcgate.canonical_schema import (
    DecodedPublicKey,
    InputError,
    KeyType,
    VcgateError,
    public_key_from_cryptography,
    public_key_from_multibase,
    secret_key_from_multibase,
    secret_key_to_multibase,
)

_CURVES: dict[str, ec.EllipticCurve] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "secp256k1": ec.SECP256K1(),
}
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "P-256": hashes.SHA256,
    "P-384": hashes.SHA384,
    "secp256k1": hashes.SHA256,
}
_KEY_TYPES: dict[str, KeyType] = {
    "ed25519": "Ed25519",
    "p256": "P-256",
    "p-256": "P-256",
    "p384": "P-384",
    "p-384": "P-384",
    "secp256k1": "secp256k1",
}

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey


class KeyFileError(VcgateError):
    """A key file could not be read or is malformed."""


@dataclass(frozen=True)
class KeyPair:
    """A signing key with its public key and the verification method that names it."""

    private: PrivateKey
    public: DecodedPublicKey
    verification_method: str
    controller: str

    @property
    def key_type(self) -> KeyType:
        """Ed25519, P-256, P-384 or secp256k1."""
        return self.public.key_type

    @classmethod
    def generate(cls, key_type: str = "ed25519", controller: str | None = None) -> KeyPair:
        """A fresh key; without ``controller`` it is named by its ``did:key``."""
        kt = parse_key_type(key_type)
        private: PrivateKey = (
            ed25519.Ed25519PrivateKey.generate() if kt == "Ed25519" else ec.generate_private_key(_CURVES[kt])
        )
        return cls.from_private(private, controller)

    @classmethod
    def from_private(cls, private: PrivateKey, controller: str | None = None, vm_id: str | None = None) -> KeyPair:
        """Wrap a ``cryptography`` private key."""
        public = public_key_from_cryptography(private.public_key())
        multibase = public.to_multibase()
        if controller is None:
            controller = "did:key:" + multibase
            vm_id = vm_id or f"{controller}#{multibase}"
        return cls(private, public, vm_id or f"{controller}#{multibase}", controller)

    @classmethod
    def from_multikey(cls, data: dict[str, Any]) -> KeyPair:
        """From a Multikey JSON object with ``secretKeyMultibase`` (``privateKeyMultibase`` is accepted too)."""
        secret = data.get("secretKeyMultibase") or data.get("privateKeyMultibase")
        if not isinstance(secret, str):
            raise KeyFileError("key has no secretKeyMultibase: it is not a private key")
        try:
            kt, raw = secret_key_from_multibase(secret)
            if kt == "Ed25519" and len(raw) == 64:
                # digitalbazaar's ed25519-multikey exports seed ‖ public key (64 bytes) unless asked to
                # canonicalize; CID 1.0 §2.2.2 Multikey says 32. Accept the legacy form when its second half
                # is the seed's public key, so key files made by the reference library import.
                seed = ed25519.Ed25519PrivateKey.from_private_bytes(raw[:32])
                if seed.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) != raw[32:]:
                    raise ValueError("a 64-byte Ed25519 secret key must be seed ‖ public key")
                raw = raw[:32]
            private: PrivateKey = (
                ed25519.Ed25519PrivateKey.from_private_bytes(raw)
                if kt == "Ed25519"
                else ec.derive_private_key(int.from_bytes(raw, "big"), _CURVES[kt])
            )
        except (InputError, ValueError) as exc:
            raise KeyFileError(f"invalid secret key: {exc}") from None
        pair = cls.from_private(private, data.get("controller"), data.get("id"))
        if "publicKeyMultibase" in data:
            try:
                declared = public_key_from_multibase(str(data["publicKeyMultibase"]))
            except InputError as exc:
                raise KeyFileError(f"invalid publicKeyMultibase: {exc}") from None
            if declared != pair.public:
                raise KeyFileError("publicKeyMultibase does not match the secret key")
        return pair

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> KeyPair:
        """Read a key file written by :meth:`to_file` (or ``vcgate keys generate``)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise KeyFileError(f"cannot read key file {path}: {exc.strerror}") from None
        except json.JSONDecodeError as exc:
            raise KeyFileError(f"key file {path} is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise KeyFileError(f"key file {path} must hold a JSON object")
        return cls.from_multikey(data)

    def secret_bytes(self) -> bytes:
        """The raw secret key (Ed25519 seed, or the EC private scalar)."""
        if isinstance(self.private, ed25519.Ed25519PrivateKey):
            return self.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        size = (self.private.curve.key_size + 7) // 8
        return self.private.private_numbers().private_value.to_bytes(size, "big")

    def to_multikey(self, *, include_secret: bool = True) -> dict[str, str]:
        """The Multikey JSON form (with the secret unless ``include_secret`` is false)."""
        out = {
            "type": "Multikey",
            "id": self.verification_method,
            "controller": self.controller,
            "keyType": self.key_type,
            "publicKeyMultibase": self.public.to_multibase(),
        }
        if include_secret:
            out["secretKeyMultibase"] = secret_key_to_multibase(self.key_type, self.secret_bytes())
        return out

    def to_file(self, path: str | os.PathLike[str]) -> None:
        """Write the key file with mode 0600 (created so, never world-readable even briefly)."""
        data = (json.dumps(self.to_multikey(), indent=2) + "\n").encode("utf-8")
        fd = os.open(os.fspath(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)

    def sign(self, data: bytes) -> bytes:
        """Sign: Ed25519 over ``data``; ECDSA over hash(``data``) as raw r‖s (low-S)."""
        if isinstance(self.private, ed25519.Ed25519PrivateKey):
            return self.private.sign(data)
        kt = self.key_type
        der = self.private.sign(data, ec.ECDSA(_HASHES[kt]()))
        r, s = decode_dss_signature(der)
        order = _ORDERS[kt]
        if s > order // 2:
            s = order - s
        size = (self.private.curve.key_size + 7) // 8
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")


_ORDERS = {
    "P-256": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "P-384": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973", 16
    ),
    "secp256k1": 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141,
}


def parse_key_type(name: str) -> KeyType:
    """Accept ``ed25519``, ``p256``/``P-256``, ``p384``/``P-384`` or ``secp256k1``."""
    kt = _KEY_TYPES.get(name.lower())
    if kt is None:
        raise InputError(f"unknown key type {name!r}: use ed25519, p256, p384 or secp256k1")
    return kt


def verify_signature(public: DecodedPublicKey, data: bytes, signature: bytes) -> bool:
    """Verify an Ed25519 signature or a raw r‖s ECDSA signature over hash(``data``)."""
    if public.key_type == "Ed25519":
        # libsodium (PyNaCl) verifies Ed25519 about twice as fast as OpenSSL through `cryptography` here.
        if len(signature) != 64:
            return False
        try:
            VerifyKey(public.raw).verify(data, signature)
        except (BadSignatureError, ValueError, TypeError):
            return False
        return True
    key = public.to_cryptography()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    try:
        size = (key.curve.key_size + 7) // 8
        if len(signature) != 2 * size:
            return False
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        key.verify(encode_dss_signature(r, s), data, ec.ECDSA(_HASHES[public.key_type]()))
        return True
    except (InvalidSignature, ValueError):
        return False


def public_key_pem(public: DecodedPublicKey) -> str:
    """PEM (SubjectPublicKeyInfo) of a public key, for tools that want it."""
    return public.to_cryptography().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")
