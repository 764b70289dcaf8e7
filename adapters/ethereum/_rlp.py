"""A small, strict RLP codec (Yellow Paper Appendix B) for the evidence checker's hot path.

pyrlp is correct but slow for the thousands of small decodes an evidence check performs; this decoder does only
what evidence needs: nested lists of byte strings, refusing non-canonical encodings (a single byte below 0x80 wrapped
in a string prefix, long-form lengths below 56, lengths with leading zeros) and trailing bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

RlpItem: TypeAlias = "bytes | list[RlpItem]"
RlpInput: TypeAlias = "bytes | Sequence[RlpInput]"


class RlpError(ValueError):
    """The input is not canonical RLP."""


def _length(data: bytes, start: int, size: int) -> int:
    if start + size > len(data):
        raise RlpError("length prefix runs past the end")
    encoded = data[start : start + size]
    if encoded[0] == 0:
        raise RlpError("length with leading zeros")
    length = int.from_bytes(encoded, "big")
    if length < 56:
        raise RlpError("long form used for a short length")
    return length


def _decode_at(data: bytes, position: int) -> tuple[RlpItem, int]:
    prefix = data[position]
    if prefix < 0x80:
        return data[position : position + 1], position + 1
    if prefix < 0xB8:
        size = prefix - 0x80
        end = position + 1 + size
        if end > len(data):
            raise RlpError("string runs past the end")
        if size == 1 and data[position + 1] < 0x80:
            raise RlpError("single byte below 0x80 must not carry a prefix")
        return data[position + 1 : end], end
    if prefix < 0xC0:
        size_of_size = prefix - 0xB7
        size = _length(data, position + 1, size_of_size)
        start = position + 1 + size_of_size
        end = start + size
        if end > len(data):
            raise RlpError("string runs past the end")
        return data[start:end], end
    if prefix < 0xF8:
        start = position + 1
        end = start + prefix - 0xC0
    else:
        size_of_size = prefix - 0xF7
        start = position + 1 + size_of_size
        end = start + _length(data, position + 1, size_of_size)
    if end > len(data):
        raise RlpError("list runs past the end")
    items: list[RlpItem] = []
    append = items.append
    cursor = start
    while cursor < end:
        # Inline fast path for short strings (hashes, small integers): most items of trie nodes and headers.
        head = data[cursor]
        if 0x81 < head < 0xB8:
            following = cursor + 1 + head - 0x80
            append(data[cursor + 1 : following])
            cursor = following
        else:
            item, cursor = _decode_at(data, cursor)
            append(item)
    if cursor != end:
        raise RlpError("list items overrun the list")
    return items, end


def rlp_decode(data: bytes) -> RlpItem:
    """Decode one RLP item that spans all of ``data``. Raises :class:`RlpError`."""
    if not data:
        raise RlpError("empty input")
    try:
        item, end = _decode_at(data, 0)
    except IndexError:
        raise RlpError("truncated input") from None
    if end != len(data):
        raise RlpError("trailing bytes after the item")
    return item


def _prefix(size: int, short: int, long: int) -> bytes:
    if size < 56:
        return bytes([short + size])
    encoded = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([long + len(encoded)]) + encoded


def rlp_encode(item: RlpInput) -> bytes:
    """Encode bytes or nested lists of bytes."""
    if isinstance(item, bytes):
        if len(item) == 1 and item[0] < 0x80:
            return item
        return _prefix(len(item), 0x80, 0xB7) + item
    payload = b"".join(rlp_encode(child) for child in item)
    return _prefix(len(payload), 0xC0, 0xF7) + payload


def rlp_encode_uint(value: int) -> bytes:
    """RLP of an unsigned integer (big-endian, no leading zeros; 0 is the empty string)."""
    return rlp_encode(value.to_bytes((value.bit_length() + 7) // 8, "big") if value else b"")
