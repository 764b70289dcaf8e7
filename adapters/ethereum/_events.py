"""Contract events, generically: an event's ABI entry plus a log's topics and data give its named fields.

Solidity ABI spec, "Events": topic 0 is keccak256 of the canonical signature ``Name(type1,type2,...)``
(anonymous events have none); each ``indexed`` input takes one further topic (dynamic types — strings, bytes,
arrays, tuples — only as the Keccak-256 of their encoding, which cannot be decoded back); the other inputs are
ABI-encoded in ``data``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from eth_abi.grammar import parse as parse_abi_type
from eth_abi.registry import registry as abi_registry

from vcgate.canonical_schema import InputError

from ._encoding import address_from_bytes, hex_quantity, hex_to_bytes, keccak256, parse_address, to_hex
from ._rpc import JsonRpcClient


def is_abi_type(kind: str) -> bool:
    """Whether ``kind`` is a valid Solidity ABI type eth-abi can encode (``uint7``, ``bytes33``, ``strang`` are
    not)."""
    try:
        parse_abi_type(kind).validate()
    except Exception:  # eth-abi's grammar raises several parse/validation errors; all mean "no"
        return False
    return bool(abi_registry.has_encoder(kind))


def canonical_type(entry: Mapping[str, Any]) -> str:
    """The canonical ABI type of an input (tuples spelled out as ``(t1,t2)`` with their array suffix)."""
    kind = entry.get("type")
    if not isinstance(kind, str):
        raise InputError("ABI input lacks a 'type'")
    if kind.startswith("tuple"):
        components = entry.get("components")
        if not isinstance(components, list):
            raise InputError("ABI tuple input lacks 'components'")
        return "(" + ",".join(canonical_type(c) for c in components) + ")" + kind[len("tuple") :]
    return kind


def _canonical_component(entry: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"type": entry.get("type")}
    if isinstance(entry.get("components"), list):
        out["components"] = [_canonical_component(c) for c in entry["components"]]
    return out


def canonical_event_entry(entry: Mapping[str, Any]) -> dict[str, Any]:
    """An event ABI entry reduced to what decoding a log into a raw record depends on: ``type``, ``name``,
    ``anonymous`` and, per input, its effective ``name`` (``argN`` when unnamed), ``type``, ``indexed`` and tuple
    ``components`` (types only: the decoded record carries tuples as arrays, so component names do not show).
    Everything else (``internalType``, component names, unknown members) is dropped: evidence carries this form, so
    every value of it is bound by decoding the proven log (ABI spec, "Events" and "JSON")."""
    inputs = entry.get("inputs", [])
    return {
        "type": entry.get("type"),
        "name": entry.get("name"),
        "anonymous": bool(entry.get("anonymous")),
        "inputs": [
            {
                "name": (item.get("name") if isinstance(item, Mapping) else None) or f"arg{position}",
                **_canonical_component(item if isinstance(item, Mapping) else {}),
                "indexed": bool(item.get("indexed")) if isinstance(item, Mapping) else False,
            }
            for position, item in enumerate(inputs if isinstance(inputs, list) else [])
        ],
    }


@dataclass(frozen=True, slots=True)
class EventAbi:
    """A parsed event ABI entry."""

    name: str
    inputs: tuple[tuple[str, str, bool], ...]  # (name, canonical type, indexed)
    anonymous: bool

    @classmethod
    def from_abi(cls, entry: Mapping[str, Any]) -> EventAbi:
        """Parse one ``{"type": "event", ...}`` ABI entry. Raises ``InputError``."""
        if entry.get("type") != "event" or not isinstance(entry.get("name"), str):
            raise InputError("not an event ABI entry")
        inputs = []
        for position, item in enumerate(entry.get("inputs", [])):
            name = item.get("name") or f"arg{position}"
            kind = canonical_type(item)
            if not is_abi_type(kind):
                raise InputError(f"event {entry['name']}: {kind!r} is not an ABI type")
            inputs.append((name, kind, bool(item.get("indexed"))))
        return cls(name=entry["name"], inputs=tuple(inputs), anonymous=bool(entry.get("anonymous")))

    @classmethod
    def find(cls, abi: Sequence[Mapping[str, Any]], name: str) -> EventAbi:
        """The event called ``name`` in a contract ABI."""
        for entry in abi:
            if entry.get("type") == "event" and entry.get("name") == name:
                return cls.from_abi(entry)
        raise InputError(f"the ABI has no event {name!r}")

    @property
    def signature(self) -> str:
        """``Name(type1,type2,...)``."""
        return f"{self.name}({','.join(kind for _, kind, _ in self.inputs)})"

    @property
    def topic(self) -> bytes:
        """Topic 0: keccak256 of the signature."""
        return keccak256(self.signature.encode())


def _is_dynamic(kind: str) -> bool:
    return kind in ("string", "bytes") or kind.endswith("]") or kind.startswith("(")


def decode_event(event: EventAbi, topics: Sequence[bytes], data: bytes) -> dict[str, Any]:
    """Decode a log into the event's named fields (Python values as eth-abi returns them; indexed dynamic
    fields stay as their 32-byte topic hash). Raises ``InputError`` when the log is not this event or does not
    decode."""
    topic_list = list(topics)
    if not event.anonymous:
        if not topic_list or topic_list[0] != event.topic:
            raise InputError(f"log is not a {event.signature} event")
        topic_list = topic_list[1:]
    indexed = [(name, kind) for name, kind, is_indexed in event.inputs if is_indexed]
    plain = [(name, kind) for name, kind, is_indexed in event.inputs if not is_indexed]
    if len(topic_list) != len(indexed):
        raise InputError(f"log has {len(topic_list)} indexed topics, {event.signature} has {len(indexed)}")
    out: dict[str, Any] = {}
    try:
        for (name, kind), topic in zip(indexed, topic_list, strict=True):
            out[name] = topic if _is_dynamic(kind) else abi_decode([kind], topic)[0]
        values = abi_decode([kind for _, kind in plain], data) if plain else ()
    except (DecodingError, ValueError, OverflowError) as exc:
        raise InputError(f"log data does not decode as {event.signature}: {exc}") from None
    for (name, _), value in zip(plain, values, strict=True):
        out[name] = value
    # eth-abi returns addresses in lower case; hand them out EIP-55 checksummed like everything else here.
    return {name: parse_address(out[name]) if kind == "address" else out[name] for name, kind, _ in event.inputs}


def jsonable(value: Any) -> Any:
    """Decoded ABI values as JSON: bytes as 0x-hex, addresses checksummed (eth-abi returns them as strings),
    tuples and lists as arrays; ints stay ints."""
    if isinstance(value, bytes):
        return to_hex(value)
    if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
        try:
            return parse_address(value)
        except InputError:
            return value
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class DecodedEvent:
    """One decoded event with where it was found."""

    name: str
    args: Mapping[str, Any]
    address: str
    block_number: int
    block_hash: bytes
    transaction_hash: bytes
    log_index: int


def fetch_events(
    client: JsonRpcClient,
    address: str,
    event: EventAbi,
    *,
    from_block: int | str,
    to_block: int | str,
    topics: Sequence[bytes | Sequence[bytes] | None] = (),
) -> list[DecodedEvent]:
    """``eth_getLogs`` for one event of one contract, decoded. ``topics`` filters the indexed inputs in order
    (``None`` = any; a list = any of). Logs the node returns that do not decode raise ``InputError``."""
    topic_filter: list[Any] = [] if event.anonymous else [to_hex(event.topic)]
    for item in topics:
        if item is None:
            topic_filter.append(None)
        elif isinstance(item, bytes):
            topic_filter.append(to_hex(item))
        else:
            topic_filter.append([to_hex(t) for t in item])
    logs = client.get_logs(
        {
            "address": parse_address(address),
            "fromBlock": hex(from_block) if isinstance(from_block, int) else from_block,
            "toBlock": hex(to_block) if isinstance(to_block, int) else to_block,
            "topics": topic_filter,
        }
    )
    out = []
    for log in logs:
        if log.get("removed"):
            continue  # a log from a block that was reorganised away
        topics_raw = [hex_to_bytes(t, what="topic", length=32) for t in log["topics"]]
        out.append(
            DecodedEvent(
                name=event.name,
                args=decode_event(event, topics_raw, hex_to_bytes(log["data"], what="log data")),
                address=parse_address(log["address"]),
                block_number=hex_quantity(log["blockNumber"], what="blockNumber"),
                block_hash=hex_to_bytes(log["blockHash"], what="blockHash", length=32),
                transaction_hash=hex_to_bytes(log["transactionHash"], what="transactionHash", length=32),
                log_index=hex_quantity(log["logIndex"], what="logIndex"),
            )
        )
    return out


def address_topic(address: str) -> bytes:
    """An address as an indexed topic (left-padded to 32 bytes)."""
    return b"\x00" * 12 + bytes.fromhex(parse_address(address)[2:])


def topic_address(topic: bytes) -> str:
    """The address in an indexed address topic."""
    return address_from_bytes(topic[12:])
