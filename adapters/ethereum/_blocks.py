"""Consensus encodings of Ethereum block headers, transactions and receipts, and transaction sender recovery.

Pure functions over bytes and JSON-RPC dicts. Encodings follow the Yellow Paper (§4.3 header, §4.4.1 receipt)
and the forks that extended them: EIP-1559 (London: ``baseFeePerGas``), EIP-4895 (Shanghai:
``withdrawalsRoot``), EIP-4844/EIP-4788 (Cancun: ``blobGasUsed``, ``excessBlobGas``,
``parentBeaconBlockRoot``), EIP-7685 (Prague:
``requestsHash``); typed transactions and receipts per EIP-2718.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import coincurve

from vcgate.canonical_schema import InputError

from ._encoding import address_from_bytes, hex_quantity, hex_to_bytes, int_to_min_bytes, keccak256
from ._rlp import RlpError, RlpInput, RlpItem, rlp_decode, rlp_encode

# Header fields in consensus order with their JSON-RPC names. ``H`` = 32-byte hash, ``A`` = 20-byte address,
# ``Q`` = integer quantity, ``B`` = bytes, ``N`` = the 8-byte PoW nonce. Fields from ``baseFeePerGas`` on
# exist only after their fork; a header ends at the first absent one (a later field cannot appear without the
# earlier ones).
_HEADER_FIELDS: tuple[tuple[str, str], ...] = (
    ("parentHash", "H"),
    ("sha3Uncles", "H"),
    ("miner", "A"),
    ("stateRoot", "H"),
    ("transactionsRoot", "H"),
    ("receiptsRoot", "H"),
    ("logsBloom", "B"),
    ("difficulty", "Q"),
    ("number", "Q"),
    ("gasLimit", "Q"),
    ("gasUsed", "Q"),
    ("timestamp", "Q"),
    ("extraData", "B"),
    ("mixHash", "H"),
    ("nonce", "N"),
    ("baseFeePerGas", "Q"),  # London, EIP-1559
    ("withdrawalsRoot", "H"),  # Shanghai, EIP-4895
    ("blobGasUsed", "Q"),  # Cancun, EIP-4844
    ("excessBlobGas", "Q"),  # Cancun, EIP-4844
    ("parentBeaconBlockRoot", "H"),  # Cancun, EIP-4788
    ("requestsHash", "H"),  # Prague, EIP-7685
)
_PRE_LONDON_FIELDS = 15


def encode_header(block: Mapping[str, Any]) -> bytes:
    """RLP-encode a block header from a JSON-RPC ``eth_getBlockBy*`` result. keccak256 of it is the block
    hash."""
    items: list[bytes] = []
    for position, (name, kind) in enumerate(_HEADER_FIELDS):
        if name not in block or block[name] is None:
            if position < _PRE_LONDON_FIELDS:
                raise InputError(f"block is missing header field {name!r}")
            break
        value = block[name]
        if kind == "Q":
            items.append(int_to_min_bytes(hex_quantity(value, what=name)))
        elif kind == "H":
            items.append(hex_to_bytes(value, what=name, length=32))
        elif kind == "A":
            items.append(hex_to_bytes(value, what=name, length=20))
        elif kind == "N":
            items.append(hex_to_bytes(value, what=name, length=8))
        else:
            items.append(hex_to_bytes(value, what=name))
    return rlp_encode(items)


@dataclass(frozen=True, slots=True)
class HeaderFields:
    """The header fields the evidence checker needs, decoded from header RLP."""

    parent_hash: bytes
    state_root: bytes
    transactions_root: bytes
    receipts_root: bytes
    number: int
    timestamp: int
    field_count: int


def decode_header(header_rlp: bytes) -> HeaderFields:
    """Decode the fields vcgate uses from a header's RLP. Accepts any fork's header (15 or more fields): later
    forks only append fields, so the positions used here never move. Raises ``InputError``."""
    try:
        items = rlp_decode(header_rlp)
    except RlpError as exc:
        raise InputError(f"block header is not valid RLP: {exc}") from None
    if not isinstance(items, list) or len(items) < _PRE_LONDON_FIELDS or len(items) > 64:
        raise InputError("block header must be an RLP list of at least 15 fields")
    return _header_fields(items)


def _byte_strings(items: Sequence[RlpItem]) -> list[bytes] | None:
    """``items`` as a list of byte strings, or None if any item is a list."""
    out = [item for item in items if isinstance(item, bytes)]
    return out if len(out) == len(items) else None


def _header_fields(decoded: list[RlpItem]) -> HeaderFields:
    fields = _byte_strings(decoded)
    if fields is None:
        raise InputError("block header fields must be byte strings")
    items = fields
    hashes = (items[0], items[3], items[4], items[5])
    if any(len(h) != 32 for h in hashes):
        raise InputError("block header hash fields must be 32 bytes")
    return HeaderFields(
        parent_hash=items[0],
        state_root=items[3],
        transactions_root=items[4],
        receipts_root=items[5],
        number=int.from_bytes(items[8], "big"),
        timestamp=int.from_bytes(items[11], "big"),
        field_count=len(items),
    )


def encode_receipt(receipt: Mapping[str, Any]) -> bytes:
    """Consensus encoding of a receipt from a JSON-RPC receipt (Yellow Paper §4.4.1; EIP-2718 typed receipts
    are
    ``type || rlp(payload)``; EIP-658 ``status`` after Byzantium, the intermediate ``root`` before)."""
    if receipt.get("status") is not None:
        first = int_to_min_bytes(hex_quantity(receipt["status"], what="status"))
    elif receipt.get("root") is not None:
        first = hex_to_bytes(receipt["root"], what="root", length=32)
    else:
        raise InputError("receipt has neither 'status' nor 'root'")
    logs: list[RlpInput] = [
        [
            hex_to_bytes(log["address"], what="log address", length=20),
            [hex_to_bytes(topic, what="log topic", length=32) for topic in log["topics"]],
            hex_to_bytes(log["data"], what="log data"),
        ]
        for log in receipt["logs"]
    ]
    payload = rlp_encode(
        [
            first,
            int_to_min_bytes(hex_quantity(receipt["cumulativeGasUsed"], what="cumulativeGasUsed")),
            hex_to_bytes(receipt["logsBloom"], what="logsBloom", length=256),
            logs,
        ]
    )
    tx_type = hex_quantity(receipt.get("type", "0x0"), what="type")
    return bytes(payload) if tx_type == 0 else bytes([tx_type]) + bytes(payload)


@dataclass(frozen=True, slots=True)
class ReceiptLog:
    """One log entry as the receipt records it."""

    address: bytes
    topics: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True, slots=True)
class DecodedReceipt:
    """The fields of a consensus-encoded receipt."""

    tx_type: int
    status: int | None  # None before Byzantium (EIP-658), where the receipt carries a state root instead
    cumulative_gas_used: int
    logs: tuple[ReceiptLog, ...]


def decode_receipt(encoded: bytes) -> DecodedReceipt:
    """Decode a consensus-encoded receipt. Raises ``InputError``."""
    if not encoded:
        raise InputError("receipt is empty")
    tx_type = 0
    payload = encoded
    if encoded[0] < 0x7F:  # EIP-2718: a first byte below 0x7f is a type; an RLP list starts at 0xc0
        tx_type, payload = encoded[0], encoded[1:]
    try:
        items = rlp_decode(payload)
    except RlpError as exc:
        raise InputError(f"receipt is not valid RLP: {exc}") from None
    if not isinstance(items, list) or len(items) != 4 or not isinstance(items[3], list):
        raise InputError("receipt must be an RLP list [status, cumulativeGasUsed, logsBloom, logs]")
    first, gas, _bloom, raw_logs = items
    if not isinstance(first, bytes) or not isinstance(gas, bytes):
        raise InputError("receipt status and gas must be byte strings")
    logs: list[ReceiptLog] = []
    for raw in raw_logs:
        if (
            not isinstance(raw, list)
            or len(raw) != 3
            or not isinstance(raw[0], bytes)
            or len(raw[0]) != 20
            or not isinstance(raw[1], list)
            or not isinstance(raw[2], bytes)
            or not all(isinstance(t, bytes) and len(t) == 32 for t in raw[1])
        ):
            raise InputError("receipt log must be [address(20), [topic(32)...], data]")
        topics = tuple(t for t in raw[1] if isinstance(t, bytes))
        logs.append(ReceiptLog(address=raw[0], topics=topics, data=raw[2]))
    status = None if len(first) == 32 else int.from_bytes(first, "big")
    return DecodedReceipt(
        tx_type=tx_type,
        status=status,
        cumulative_gas_used=int.from_bytes(gas, "big"),
        logs=tuple(logs),
    )


@dataclass(frozen=True, slots=True)
class DecodedTransaction:
    """A signed transaction's type, chain id (``None`` for pre-EIP-155 legacy), recovered sender and
    recipient."""

    tx_type: int
    chain_id: int | None
    sender: str
    to: str | None


_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

# Per EIP-2718 type: the number of fields before (yParity, r, s) and the position of ``to``. Fields are listed
# in EIP-2930 (type 1), EIP-1559 (2), EIP-4844 (3) and EIP-7702 (4).
_TYPED_LAYOUT: dict[int, tuple[int, int]] = {1: (8, 4), 2: (9, 5), 3: (11, 5), 4: (10, 5)}


def _recover(message_hash: bytes, r: int, s: int, y_parity: int) -> str:
    if not (0 < r < _SECP256K1_N and 0 < s < _SECP256K1_N) or y_parity not in (0, 1):
        raise InputError("transaction signature values are out of range")
    signature = r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([y_parity])
    try:
        public = coincurve.PublicKey.from_signature_and_message(signature, message_hash, hasher=None)
    except ValueError as exc:
        raise InputError(f"transaction signature does not recover a public key: {exc}") from None
    return address_from_bytes(keccak256(public.format(compressed=False)[1:])[12:])


def decode_transaction(raw: bytes) -> DecodedTransaction:
    """Decode a signed transaction (EIP-2718 envelope or legacy RLP) and recover its sender from the
    signature.

    The signing hash is keccak256 of ``type || rlp(fields without the signature)`` for typed transactions and
    of the EIP-155 list ``[..., chainId, 0, 0]`` (or the six plain fields before EIP-155) for legacy ones.
    Raises
    ``InputError``.
    """
    if not raw:
        raise InputError("transaction is empty")
    try:
        if raw[0] >= 0xC0:
            decoded = rlp_decode(raw)
            items = _byte_strings(decoded) if isinstance(decoded, list) else None
            if items is None or len(items) != 9:
                raise InputError("legacy transaction must be an RLP list of 9 byte strings")
            v = int.from_bytes(items[6], "big")
            r, s = int.from_bytes(items[7], "big"), int.from_bytes(items[8], "big")
            if v in (27, 28):
                chain_id = None
                y_parity = v - 27
                signing = rlp_encode(items[:6])
            elif v >= 35:
                chain_id = (v - 35) // 2
                y_parity = (v - 35) % 2
                signing = rlp_encode([*items[:6], int_to_min_bytes(chain_id), b"", b""])
            else:
                raise InputError(f"legacy transaction has an invalid v value {v}")
            to_field = items[3]
            tx_type = 0
        elif raw[0] in _TYPED_LAYOUT:
            tx_type = raw[0]
            typed = rlp_decode(raw[1:])
            unsigned_count, to_position = _TYPED_LAYOUT[tx_type]
            if not isinstance(typed, list) or len(typed) != unsigned_count + 3:
                raise InputError(f"type-{tx_type} transaction must have {unsigned_count + 3} fields")
            chain_field, typed_to = typed[0], typed[to_position]
            signature_fields = _byte_strings(typed[-3:])
            if not isinstance(chain_field, bytes) or not isinstance(typed_to, bytes):
                raise InputError("transaction chainId and to must be byte strings")
            to_field = typed_to
            if signature_fields is None:
                raise InputError("transaction signature fields must be byte strings")
            chain_id = int.from_bytes(chain_field, "big")
            y_parity = int.from_bytes(signature_fields[0], "big")
            r, s = int.from_bytes(signature_fields[1], "big"), int.from_bytes(signature_fields[2], "big")
            signing = bytes([tx_type]) + rlp_encode(typed[:unsigned_count])
        else:
            raise InputError(f"unknown transaction type 0x{raw[0]:02x}")
    except RlpError as exc:
        raise InputError(f"transaction is not valid RLP: {exc}") from None
    if to_field and len(to_field) != 20:
        raise InputError("transaction recipient must be empty or 20 bytes")
    sender = _recover(keccak256(signing), r, s, y_parity)
    return DecodedTransaction(
        tx_type=tx_type,
        chain_id=chain_id,
        sender=sender,
        to=address_from_bytes(to_field) if to_field else None,
    )
