"""Fabric's hashing and signature rules: block header DER, data hash, ECDSA P-256 with low-S.

Fabric's BCCSP (``bccsp/sw/ecdsa.go``) rejects a signature whose ``s`` is above half the curve order, so a
verifier
that accepts high-S would accept signatures Fabric peers refuse (and vice versa for malleated copies).
"""

from __future__ import annotations

import hashlib
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

# Curve orders of the curves Fabric's MSP accepts (P-256 is what every fabric-ca and cryptogen identity uses).
_ORDERS: Final[dict[str, int]] = {
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "secp384r1": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973", 16
    ),
}
_SHA256 = ec.ECDSA(hashes.SHA256())


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _der_integer(value: int) -> bytes:
    # DER INTEGER of a non-negative number: minimal big-endian two's complement (a leading 0x00 when the top
    # bit
    # is set), as Go's encoding/asn1 writes a *big.Int.
    body = value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big")
    return b"\x02" + _der_length(len(body)) + body


def _der_octets(value: bytes) -> bytes:
    return b"\x04" + _der_length(len(value)) + value


def block_header_der(number: int, previous_hash: bytes, data_hash: bytes) -> bytes:
    """``protoutil.BlockHeaderBytes``: DER of SEQUENCE
    { INTEGER number, OCTET STRING previous_hash, data_hash }."""
    body = _der_integer(number) + _der_octets(previous_hash) + _der_octets(data_hash)
    return b"\x30" + _der_length(len(body)) + body


def block_header_hash(number: int, previous_hash: bytes, data_hash: bytes) -> bytes:
    """The block hash: SHA-256 of the header DER (``protoutil.BlockHeaderHash``). Metadata is not covered."""
    return hashlib.sha256(block_header_der(number, previous_hash, data_hash)).digest()


def block_data_hash(data: tuple[bytes, ...] | list[bytes]) -> bytes:
    """SHA-256 over the concatenated data entries (``protoutil.ComputeBlockDataHash``, Fabric ≥ 2.0 /
    width ∞)."""
    h = hashlib.sha256()
    for entry in data:
        h.update(entry)
    return h.digest()


def compute_tx_id(nonce: bytes, creator: bytes) -> str:
    """``protoutil.ComputeTxID``: hex(SHA-256(nonce ‖ serialized creator identity))."""
    return hashlib.sha256(nonce + creator).hexdigest()


def is_low_s(signature: bytes, curve_name: str) -> bool | None:
    """True when the DER signature's ``s`` is at most half the curve order; None when it is not valid DER."""
    try:
        _, s = decode_dss_signature(signature)
    except ValueError:
        return None
    order = _ORDERS.get(curve_name)
    if order is None:
        return None
    return 0 < s <= order // 2


def to_low_s(signature: bytes, curve_name: str = "secp256r1") -> bytes:
    """Normalise a DER ECDSA signature to low-S (``s = min(s, n − s)``), as Fabric signers must."""
    r, s = decode_dss_signature(signature)
    order = _ORDERS[curve_name]
    if s > order // 2:
        s = order - s
    return encode_dss_signature(r, s)


def ecdsa_verify(public_key: ec.EllipticCurvePublicKey, signature: bytes, message: bytes) -> str | None:
    """Verify a Fabric ECDSA signature (SHA-256 over ``message``). Returns None when valid, else a reason."""
    low = is_low_s(signature, public_key.curve.name)
    if low is None:
        return "the signature is not a DER-encoded ECDSA signature on a supported curve"
    if not low:
        return "the signature has a high S value; Fabric accepts only low-S ECDSA signatures"
    try:
        public_key.verify(signature, message, _SHA256)
    except InvalidSignature:
        return "the ECDSA signature does not verify"
    return None
