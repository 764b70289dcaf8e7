"""Offline import of Fabric blocks: single serialized blocks and a peer's ``blockfile_NNNNNN`` ledger files.

A peer's block storage (``common/ledger/blkstorage/block_serialization.go``) appends each block as
``varint(len) ‖ record``, where the record is not a ``common.Block`` protobuf but Fabric's own layout of
varints and length-prefixed byte strings::

    varint(number) ‖ bytes(data_hash) ‖ bytes(previous_hash)
    varint(#envelopes) ‖ bytes(envelope)…
    varint(#metadata) ‖ bytes(metadata)…

(``bytes(x)`` = ``varint(len(x)) ‖ x``). The file has no other framing, so a torn write shows up as a length
prefix
running past the end of the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from fabric_protos.common import common_pb2

from vcgate.canonical_schema import Problem

from ._decode import decode_block
from ._errors import FabricDecodeError
from ._model import Block

# A serialized block larger than this is refused before decoding (Fabric's default AbsoluteMaxBytes is 10 MB;
# peers
# also carry metadata). The limit keeps a corrupt length prefix from making us allocate gigabytes.
MAX_BLOCK_BYTES = 256 * 1024 * 1024


def _read_varint(data: bytes, offset: int) -> tuple[int, int]:
    """Protobuf base-128 varint at ``offset``; returns (value, next offset)."""
    value = 0
    shift = 0
    pos = offset
    while True:
        if pos >= len(data):
            raise FabricDecodeError(
                Problem(
                    "fabric.truncated",
                    "blockfile truncated",
                    f"the length prefix at byte offset {offset} runs past the end of the file ({len(data)} bytes)",
                )
            )
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7
        if shift > 63:
            raise FabricDecodeError(
                Problem(
                    "fabric.corrupt_blockfile",
                    "blockfile corrupt",
                    f"the length prefix at byte offset {offset} is not a valid varint",
                )
            )


def _record_to_block(record: bytes, where: str) -> bytes:
    """Re-frame one blockfile record as a serialized ``common.Block`` (the bytes inside are kept exactly)."""

    def corrupt(detail: str) -> FabricDecodeError:
        return FabricDecodeError(Problem("fabric.corrupt_blockfile", "blockfile record corrupt", f"{where}: {detail}"))

    pos = 0

    def varint() -> int:
        nonlocal pos
        try:
            value, pos = _read_varint(record, pos)
        except FabricDecodeError:
            raise corrupt(f"a varint at record offset {pos} runs past the record's end") from None
        return value

    def raw() -> bytes:
        nonlocal pos
        n = varint()
        if pos + n > len(record):
            raise corrupt(f"a {n}-byte field at record offset {pos} runs past the record's end")
        out = record[pos : pos + n]
        pos += n
        return out

    number = varint()
    data_hash = raw()
    previous_hash = raw()
    count = varint()
    if count > len(record):
        raise corrupt(f"declares {count} envelopes")
    envelopes = [raw() for _ in range(count)]
    md_count = varint()
    if md_count > len(record):
        raise corrupt(f"declares {md_count} metadata entries")
    metadata = [raw() for _ in range(md_count)]
    if pos != len(record):
        raise corrupt(f"{len(record) - pos} unexpected bytes after the metadata")
    return bytes(
        common_pb2.Block(
            header=common_pb2.BlockHeader(number=number, previous_hash=previous_hash, data_hash=data_hash),
            data=common_pb2.BlockData(data=envelopes),
            metadata=common_pb2.BlockMetadata(metadata=metadata),
        ).SerializeToString()
    )


def iter_blockfile(data: bytes, *, source: str = "blockfile") -> Iterator[Block]:
    """Decode every block in the bytes of a peer's ``blockfile_NNNNNN``, in file order.

    Raises :class:`FabricDecodeError` (``fabric.truncated`` / ``fabric.corrupt_blockfile`` /
    ``fabric.corrupt_block``)
    naming the byte offset and the position of the block in the file where reading stopped.
    """
    offset = 0
    position = 0
    while offset < len(data):
        length, start = _read_varint(data, offset)
        if length == 0 or length > MAX_BLOCK_BYTES:
            raise FabricDecodeError(
                Problem(
                    "fabric.corrupt_blockfile",
                    "blockfile corrupt",
                    f"{source}: block #{position} in the file at byte offset {offset} declares {length} bytes",
                )
            )
        end = start + length
        if end > len(data):
            raise FabricDecodeError(
                Problem(
                    "fabric.truncated",
                    "blockfile truncated",
                    f"{source}: block #{position} in the file at byte offset {offset} declares {length} "
                    f"bytes but "
                    f"only {len(data) - start} remain",
                )
            )
        where = f"{source}: block #{position} in the file at byte offset {offset}"
        yield decode_block(_record_to_block(data[start:end], where), source=where)
        offset = end
        position += 1


def read_blockfile(path: str | Path) -> list[Block]:
    """Read and decode all blocks of a peer ledger file (``blockfile_NNNNNN``)."""
    p = Path(path)
    return list(iter_blockfile(p.read_bytes(), source=p.name))


def read_block_file(path: str | Path) -> Block:
    """Read one serialized ``common.Block`` from a file (as fetched with ``peer channel fetch`` or
    Deliver)."""
    p = Path(path)
    return decode_block(p.read_bytes(), source=p.name)


def count_blocks(path: str | Path) -> int:
    """How many blocks :func:`read_blocks` would read from ``path``, by walking a blockfile's length prefixes
    without decoding the blocks (a health check need not parse the ledger). Raises ``FabricDecodeError`` on a
    frame that runs past the end of the file."""
    p = Path(path)
    if "blockfile_" not in p.name:
        p.stat()  # OSError when it is missing, as read_blocks would raise
        return 1
    data = p.read_bytes()
    offset = count = 0
    while offset < len(data):
        length, start = _read_varint(data, offset)
        if length == 0 or start + length > len(data):
            raise FabricDecodeError(
                Problem("fabric.truncated", "blockfile truncated", f"{p.name}: block #{count} at byte offset {offset}")
            )
        offset = start + length
        count += 1
    return count


def read_blocks(path: str | Path) -> list[Block]:
    """Read a file that holds either one serialized block or a peer's varint-framed blockfile.

    A file named ``blockfile_*`` (or ``*.blockfile_*``) is read as a ledger file; anything else as one block.
    """
    p = Path(path)
    if "blockfile_" in p.name:
        return read_blockfile(p)
    return [read_block_file(p)]
