"""Public-key encodings used inside credentials and DID documents: Multikey (multibase + multicodec) and JWK.

Pure functions over bytes: no I/O, no signing. Signing keys live in ``vcgate.gateway``; ledger adapters use these
codecs to read the public keys that ledger records and DID documents carry.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import base58
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ._errors import InputError

KeyType = Literal["Ed25519", "P-256", "P-384", "secp256k1"]

# multicodec varint prefixes (https://github.com/multiformats/multicodec/blob/master/table.csv)
_PUB_PREFIX: dict[KeyType, bytes] = {
    "Ed25519": b"\xed\x01",
    "P-256": b"\x80\x24",
    "P-384": b"\x81\x24",
    "secp256k1": b"\xe7\x01",
}
_PRIV_PREFIX: dict[KeyType, bytes] = {
    "Ed25519": b"\x80\x26",
    "P-256": b"\x86\x26",
    "P-384": b"\x87\x26",
    "secp256k1": b"\x81\x26",
}
_CURVES: dict[KeyType, ec.EllipticCurve] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "secp256k1": ec.SECP256K1(),
}
_JWK_CRV: dict[KeyType, str] = {
    "Ed25519": "Ed25519",
    "P-256": "P-256",
    "P-384": "P-384",
    "secp256k1": "secp256k1",
}

PublicKey = ed25519.Ed25519PublicKey | ec.EllipticCurvePublicKey


@dataclass(frozen=True, slots=True)
class DecodedPublicKey:
    """A public key with its type and its raw encoding (32 bytes for Ed25519, compressed SEC1 point for EC)."""

    key_type: KeyType
    raw: bytes

    def to_cryptography(self) -> PublicKey:
        """The key as a ``cryptography`` public key object."""
        if self.key_type == "Ed25519":
            return ed25519.Ed25519PublicKey.from_public_bytes(self.raw)
        return ec.EllipticCurvePublicKey.from_encoded_point(_CURVES[self.key_type], self.raw)

    def to_multibase(self) -> str:
        """``z`` + base58btc(multicodec prefix ‖ raw key): the ``publicKeyMultibase`` of a Multikey."""
        return "z" + base58.b58encode(_PUB_PREFIX[self.key_type] + self.raw).decode("ascii")

    def to_jwk(self) -> dict[str, str]:
        """The public JWK (RFC 7517 / RFC 8037)."""
        if self.key_type == "Ed25519":
            return {"kty": "OKP", "crv": "Ed25519", "x": b64url(self.raw)}
        pub = self.to_cryptography()
        assert isinstance(pub, ec.EllipticCurvePublicKey)
        nums = pub.public_numbers()
        size = (pub.curve.key_size + 7) // 8
        return {
            "kty": "EC",
            "crv": _JWK_CRV[self.key_type],
            "x": b64url(nums.x.to_bytes(size, "big")),
            "y": b64url(nums.y.to_bytes(size, "big")),
        }


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url decoding without padding; raises :class:`InputError` on bad input."""
    if not isinstance(text, str) or "=" in text or any(c in text for c in "+/ \n"):
        raise InputError("not unpadded base64url text")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as exc:
        raise InputError(f"not base64url: {exc}") from None


def multibase_decode(value: str) -> bytes:
    """Decode a base58btc (``z``) or base64url (``u``) multibase string."""
    if not isinstance(value, str) or len(value) < 2:
        raise InputError("multibase value must be a non-empty string")
    if value[0] == "z":
        try:
            return base58.b58decode(value[1:])
        except ValueError as exc:
            raise InputError(f"invalid base58btc multibase value: {exc}") from None
    if value[0] == "u":
        return b64url_decode(value[1:])
    raise InputError(f"unsupported multibase prefix {value[0]!r} (expected 'z' or 'u')")


def public_key_from_raw(key_type: KeyType, raw: bytes) -> DecodedPublicKey:
    """Validate and normalise a raw public key (EC points are compressed)."""
    if key_type == "Ed25519":
        if len(raw) != 32:
            raise InputError("an Ed25519 public key is 32 bytes")
        return DecodedPublicKey(key_type, raw)
    try:
        pub = ec.EllipticCurvePublicKey.from_encoded_point(_CURVES[key_type], raw)
    except (ValueError, KeyError) as exc:
        raise InputError(f"invalid {key_type} public key: {exc}") from None
    return DecodedPublicKey(key_type, pub.public_bytes(Encoding.X962, PublicFormat.CompressedPoint))


@lru_cache(maxsize=4096)
def public_key_from_multibase(value: str) -> DecodedPublicKey:
    """Decode a Multikey ``publicKeyMultibase`` (Ed25519, P-256, P-384 or secp256k1).

    Cached: the result is immutable and the same keys recur in every credential an issuer signs.
    """
    data = multibase_decode(value)
    for key_type, prefix in _PUB_PREFIX.items():
        if data.startswith(prefix):
            return public_key_from_raw(key_type, data[len(prefix) :])
    raise InputError("publicKeyMultibase has an unknown multicodec prefix")


def secret_key_from_multibase(value: str) -> tuple[KeyType, bytes]:
    """Decode a Multikey ``secretKeyMultibase`` into (key type, raw secret bytes)."""
    data = multibase_decode(value)
    for key_type, prefix in _PRIV_PREFIX.items():
        if data.startswith(prefix):
            return key_type, data[len(prefix) :]
    raise InputError("secretKeyMultibase has an unknown multicodec prefix")


def secret_key_to_multibase(key_type: KeyType, raw: bytes) -> str:
    """Encode raw secret key bytes as a Multikey ``secretKeyMultibase``."""
    return "z" + base58.b58encode(_PRIV_PREFIX[key_type] + raw).decode("ascii")


def public_key_from_jwk(jwk: dict[str, Any]) -> DecodedPublicKey:
    """Decode a public JWK (OKP Ed25519 or EC P-256 / P-384 / secp256k1)."""
    if not isinstance(jwk, dict):
        raise InputError("a JWK must be a JSON object")
    kty, crv = jwk.get("kty"), jwk.get("crv")
    if kty == "OKP" and crv == "Ed25519":
        return public_key_from_raw("Ed25519", b64url_decode(str(jwk.get("x", ""))))
    if kty == "EC" and crv in ("P-256", "P-384", "secp256k1"):
        key_type: KeyType = crv
        size = (_CURVES[key_type].key_size + 7) // 8
        x, y = b64url_decode(str(jwk.get("x", ""))), b64url_decode(str(jwk.get("y", "")))
        if len(x) != size or len(y) != size:
            raise InputError(f"JWK coordinates for {crv} must be {size} bytes each")
        return public_key_from_raw(key_type, b"\x04" + x + y)
    raise InputError(f"unsupported JWK (kty={kty!r}, crv={crv!r})")


def public_key_from_cryptography(key: PublicKey) -> DecodedPublicKey:
    """Wrap a ``cryptography`` public key."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        return DecodedPublicKey("Ed25519", key.public_bytes(Encoding.Raw, PublicFormat.Raw))
    names: dict[str, KeyType] = {"secp256r1": "P-256", "secp384r1": "P-384", "secp256k1": "secp256k1"}
    key_type = names.get(key.curve.name)
    if key_type is None:
        raise InputError(f"unsupported curve {key.curve.name}")
    return DecodedPublicKey(key_type, key.public_bytes(Encoding.X962, PublicFormat.CompressedPoint))
