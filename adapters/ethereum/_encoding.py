"""Small byte-level helpers shared by the Ethereum modules: hex in and out, Keccak-256, addresses, CAIP
identifiers.

Pure functions, no I/O.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from Crypto.Hash import keccak as _keccak
from eth_utils.address import to_checksum_address

from vcgate.canonical_schema import InputError

_ADDRESS_RE = re.compile(r"^0x[0-9a-fA-F]{40}$")


def _public_keccak256(data: bytes) -> bytes:
    return _keccak.new(digest_bits=256, data=data).digest()


def _make_fast_keccak256() -> Callable[[bytes], bytes] | None:
    """Keccak-256 straight on pycryptodome's C state, reset per call (one state per thread).

    An evidence check hashes ~100 small nodes; the public ``keccak.new(...).digest()`` spends most of its ~5 µs
    in Python-level object set-up. This uses pycryptodome's internal ``_raw_keccak_lib`` and is verified against
    the public API at import; if that internal layout ever changes, the public API is used instead.
    """
    try:
        # Internal names pycryptodome does not type or export; guarded by the self-test below.
        from Crypto.Hash.keccak import _raw_keccak_lib as lib  # type: ignore[attr-defined]
        from Crypto.Util._raw_api import (  # type: ignore[attr-defined]
            VoidPointer,
            c_size_t,
            c_ubyte,
            c_uint8_ptr,
            create_string_buffer,
            get_raw_buffer,
        )
    except ImportError:  # pragma: no cover - depends on the installed pycryptodome
        return None
    local = threading.local()

    def state() -> Any:
        current = getattr(local, "state", None)
        if current is None:
            pointer = VoidPointer()
            if lib.keccak_init(pointer.address_of(), c_size_t(64), c_ubyte(24)):
                raise RuntimeError("keccak_init failed")
            current = local.state = (pointer, create_string_buffer(32))  # type: ignore[call-arg]
        return current

    def fast(data: bytes) -> bytes:
        pointer, buffer = state()
        handle = pointer.get()
        lib.keccak_reset(handle)
        lib.keccak_absorb(handle, c_uint8_ptr(data), c_size_t(len(data)))
        lib.keccak_digest(handle, buffer, c_size_t(32), c_ubyte(0x01))
        return bytes(get_raw_buffer(buffer))

    try:
        probes = (b"", b"abc", bytes(range(256)) * 3)
        if all(fast(probe) == _public_keccak256(probe) for probe in probes):
            return fast
    except Exception:  # pragma: no cover - any surprise in the internal API: use the public one
        return None
    return None  # pragma: no cover


keccak256: Callable[[bytes], bytes] = _make_fast_keccak256() or _public_keccak256
"""Keccak-256 (the pre-standard SHA-3 Ethereum uses for block hashes, trie keys, addresses)."""


def hex_to_bytes(value: Any, *, what: str = "value", length: int | None = None) -> bytes:
    """Parse a ``0x``-prefixed, even-length hex string; ``length`` pins the byte length. Raises
    ``InputError``."""
    raw = None
    if isinstance(value, str) and value[:2] == "0x" and len(value) % 2 == 0:
        try:
            raw = bytes.fromhex(value[2:])
        except ValueError:
            raw = None
        # bytes.fromhex skips whitespace: insist that every character was a digit.
        if raw is not None and 2 * len(raw) != len(value) - 2:
            raw = None
    if raw is None:
        raise InputError(f"{what} must be a 0x-prefixed hex string with an even number of digits, got {value!r:.80}")
    if length is not None and len(raw) != length:
        raise InputError(f"{what} must be {length} bytes, got {len(raw)}")
    return raw


def hex_quantity(value: Any, *, what: str = "quantity") -> int:
    """Parse a JSON-RPC quantity (``0x``-prefixed hex integer, no leading zeros required) or a plain int."""
    if isinstance(value, bool):
        raise InputError(f"{what} must be an integer, got a boolean")
    if isinstance(value, int):
        if value < 0:
            raise InputError(f"{what} must not be negative")
        return value
    if isinstance(value, str) and value.startswith("0x") and len(value) > 2:
        try:
            return int(value, 16)
        except ValueError:
            pass
    raise InputError(f"{what} must be a hex quantity like '0x1a', got {value!r:.80}")


def to_hex(data: bytes) -> str:
    """``0x``-prefixed lowercase hex."""
    return "0x" + data.hex()


def int_to_min_bytes(value: int) -> bytes:
    """Big-endian with no leading zeros, the RLP encoding of an integer (0 is the empty string)."""
    return value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b""


@lru_cache(maxsize=8192)
def _checksummed(value: str | bytes) -> str:
    # EIP-55 costs a Keccak-256 and a walk over the hex per call; evidence checks meet the same few addresses (the
    # parties, the contracts) again and again, so memoising it is a large share of a check's time.
    return str(to_checksum_address(value))


def parse_address(value: Any, *, what: str = "address") -> str:
    """Validate a 20-byte hex address and return its EIP-55 checksummed form (any input case is accepted)."""
    if not isinstance(value, str) or not _ADDRESS_RE.match(value):
        raise InputError(f"{what} must be a 0x-prefixed 20-byte hex address, got {value!r:.80}")
    return _checksummed(value)


def address_from_bytes(raw: bytes) -> str:
    """EIP-55 checksummed address from 20 raw bytes."""
    if len(raw) != 20:
        raise InputError(f"an address is 20 bytes, got {len(raw)}")
    return _checksummed(bytes(raw))


def caip2_chain(chain_id: int) -> str:
    """The CAIP-2 chain id ``eip155:<chainId>`` vcgate uses as the ledger id of an EVM chain."""
    return f"eip155:{chain_id}"


def caip10_account(chain_id: int, address: str) -> str:
    """The CAIP-10 account id ``eip155:<chainId>:<address>`` (checksummed address)."""
    return f"eip155:{chain_id}:{parse_address(address)}"


def parse_caip2_chain(ledger: Any) -> int:
    """Parse ``eip155:<chainId>`` into the chain id. Raises ``InputError``."""
    if not isinstance(ledger, str) or not re.fullmatch(r"eip155:[1-9][0-9]{0,19}", ledger):
        raise InputError(f"ledger must be a CAIP-2 EVM chain id like 'eip155:1', got {ledger!r:.80}")
    return int(ledger.split(":", 1)[1])
