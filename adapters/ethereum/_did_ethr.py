"""did:ethr resolution through the ERC-1056 ``EthereumDIDRegistry``.

Follows the did:ethr method specification (decentralized-identity/ethr-did-resolver,
``doc/did-method-spec.md``): the registry's ``changed(identity)`` names the block of the identity's latest
change; the ``DIDOwnerChanged``, ``DIDDelegateChanged`` and ``DIDAttributeChanged`` events in that block
carry ``previousChange``, the block of the change before — walking those back-pointers yields the history,
which is then replayed oldest first. Entries are valid while ``validTo`` is after the resolution time; an
owner of 0x0 deactivates the DID. Verification method ids (``#delegate-N``, ``#service-N``) are numbered as
the reference resolver numbers them so that ids agree.

The resolution time is ledger time (the timestamp of the block resolved at), never the local clock.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import base58
import coincurve
from eth_abi.abi import encode as abi_encode

from vcgate.canonical_schema import InputError, public_key_from_raw

from ._encoding import address_from_bytes, hex_quantity, keccak256, parse_address, to_hex
from ._errors import DidResolutionError, RpcResponseError
from ._events import EventAbi, address_topic, decode_event
from ._rpc import JsonRpcClient

NULL_ADDRESS = "0x0000000000000000000000000000000000000000"

_OWNER_CHANGED = EventAbi(
    name="DIDOwnerChanged",
    inputs=(("identity", "address", True), ("owner", "address", False), ("previousChange", "uint256", False)),
    anonymous=False,
)
_DELEGATE_CHANGED = EventAbi(
    name="DIDDelegateChanged",
    inputs=(
        ("identity", "address", True),
        ("delegateType", "bytes32", False),
        ("delegate", "address", False),
        ("validTo", "uint256", False),
        ("previousChange", "uint256", False),
    ),
    anonymous=False,
)
_ATTRIBUTE_CHANGED = EventAbi(
    name="DIDAttributeChanged",
    inputs=(
        ("identity", "address", True),
        ("name", "bytes32", False),
        ("value", "bytes", False),
        ("validTo", "uint256", False),
        ("previousChange", "uint256", False),
    ),
    anonymous=False,
)
_EVENTS = {e.topic: e for e in (_OWNER_CHANGED, _DELEGATE_CHANGED, _ATTRIBUTE_CHANGED)}
_CHANGED = keccak256(b"changed(address)")[:4]

_DID_RE = re.compile(r"^did:ethr:(?:([a-zA-Z0-9_.-]+):)?(0x[0-9a-fA-F]{40}|0x[0-9a-fA-F]{66})$")
_ATTRIBUTE_RE = re.compile(r"^did/(pub|svc)/(\w+)(?:/(\w+))?(?:/(\w+))?$")
# Bound on the history walk: each step must go strictly backwards, this only stops a pathological registry.
MAX_HISTORY_BLOCKS = 10_000

_CONTEXTS = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/secp256k1recovery-2020/v2"]


@dataclass(frozen=True, slots=True)
class EthrNetwork:
    """One network a did:ethr resolver serves: ``name`` as it appears in DIDs (``mainnet``, ``sepolia``, …;
    DIDs may also name it by hex chain id), its chain id, its ERC-1056 registry and a client for its node."""

    name: str
    chain_id: int
    registry: str
    client: JsonRpcClient


@dataclass(frozen=True, slots=True)
class DidResolution:
    """A resolved DID document and its metadata (``versionId`` = block of the latest change,
    ``deactivated``)."""

    document: dict[str, Any]
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Change:
    name: str
    args: Mapping[str, Any]
    block_number: int


def _bytes32_text(raw: bytes) -> str:
    return raw.rstrip(b"\x00").decode("utf-8", errors="replace")


class EthrDidResolver:
    """Resolves ``did:ethr`` DIDs to DID documents (W3C DID Core) from ERC-1056 registries.

    Registered under the ``vcgate.did_methods`` entry-point group as ``ethr``. Without networks it resolves
    nothing; configure with :meth:`from_config` or pass :class:`EthrNetwork` objects.
    """

    method = "ethr"

    def __init__(self, networks: Sequence[EthrNetwork] = ()) -> None:
        self._networks: dict[str, EthrNetwork] = {}
        for network in networks:
            self._networks[network.name] = network
            self._networks[hex(network.chain_id)] = network

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EthrDidResolver:
        """Build from ``{"networks": [{"name": "mainnet", "chainId": 1, "rpcUrl": "...", "registry":
        "0x..."}]}``. Raises ``InputError`` for a bad configuration."""
        items = config.get("networks")
        if not isinstance(items, list):
            raise InputError("did:ethr configuration needs a 'networks' list")
        networks = []
        for item in items:
            if not isinstance(item, Mapping) or not isinstance(item.get("rpcUrl"), str):
                raise InputError("each did:ethr network needs 'name', 'chainId', 'rpcUrl' and 'registry'")
            chain_id = item.get("chainId")
            if not isinstance(chain_id, int) or isinstance(chain_id, bool) or chain_id <= 0:
                raise InputError("did:ethr network 'chainId' must be a positive integer")
            networks.append(
                EthrNetwork(
                    name=str(item.get("name", hex(chain_id))),
                    chain_id=chain_id,
                    registry=parse_address(item.get("registry"), what="registry"),
                    client=JsonRpcClient(item["rpcUrl"]),
                )
            )
        return cls(networks)

    def resolve(self, did: str) -> dict[str, Any]:
        """Resolve ``did`` to its current DID document. Raises :class:`DidResolutionError` (invalid DID,
        unknown network, undecodable registry data) or ``LedgerUnavailableError`` (node unreachable)."""
        return self.resolve_with_metadata(did).document

    def resolve_with_metadata(self, did: str, *, block: int | None = None, at: datetime | None = None) -> DidResolution:
        """Resolve as of ``block`` (default: the head), judging ``validTo`` at ``at`` (default: that block's
        timestamp)."""
        match = _DID_RE.match(did) if isinstance(did, str) else None
        if match is None:
            raise DidResolutionError(str(did), "invalidDid", "not a did:ethr DID (did:ethr:[network:]0x<address>)")
        network_name = match.group(1) or "mainnet"
        network = self._networks.get(network_name) or self._networks.get(network_name.lower())
        if network is None:
            raise DidResolutionError(did, "unknownNetwork", f"no did:ethr network {network_name!r} is configured")
        identifier = match.group(2)
        controller_key: bytes | None = None
        if len(identifier) == 68:
            controller_key = bytes.fromhex(identifier[2:])
            try:
                public = coincurve.PublicKey(controller_key)
            except ValueError:
                raise DidResolutionError(did, "invalidDid", "the identifier is not a secp256k1 public key") from None
            address = address_from_bytes(keccak256(public.format(compressed=False)[1:])[12:])
        else:
            address = parse_address(identifier)
        try:
            return self._resolve(did, network, address, controller_key, block, at)
        except InputError as exc:
            raise DidResolutionError(
                did, "notFound", f"the registry returned data vcgate cannot decode: {exc}"
            ) from None
        except RpcResponseError as exc:
            raise DidResolutionError(did, "notFound", str(exc)) from None

    def _resolve(
        self,
        did: str,
        network: EthrNetwork,
        address: str,
        controller_key: bytes | None,
        block: int | None,
        at: datetime | None,
    ) -> DidResolution:
        client = network.client
        tag: int | str = block if block is not None else "latest"
        head = client.get_block(tag)
        head_number = hex_quantity(head.get("number"), what="block number")
        now = int(at.timestamp()) if at is not None else hex_quantity(head.get("timestamp"), what="timestamp")
        history = self._history(network, address, head_number)
        return _document(did, network.chain_id, address, controller_key, history, now)

    def _history(self, network: EthrNetwork, address: str, head_number: int) -> list[_Change]:
        client = network.client
        raw = client.eth_call(network.registry, _CHANGED + abi_encode(["address"], [address]), head_number)
        if len(raw) != 32:
            raise InputError("changed(address) did not return one word")
        previous = int.from_bytes(raw, "big")
        history: list[_Change] = []
        steps = 0
        while previous:
            steps += 1
            if steps > MAX_HISTORY_BLOCKS:
                raise InputError(f"identity history is longer than {MAX_HISTORY_BLOCKS} blocks")
            block_number = previous
            logs = client.get_logs(
                {
                    "address": network.registry,
                    "fromBlock": hex(block_number),
                    "toBlock": hex(block_number),
                    "topics": [[to_hex(t) for t in _EVENTS], to_hex(address_topic(address))],
                }
            )
            if not logs:
                raise InputError(
                    f"changed() points at block {block_number} but the node returned no registry events "
                    "there (a pruned node? use an archive node)"
                )
            changes = []
            for log in sorted(logs, key=lambda item: hex_quantity(item["logIndex"], what="logIndex")):
                topics = [bytes.fromhex(t[2:]) for t in log["topics"]]
                event = _EVENTS.get(topics[0]) if topics else None
                if event is None:
                    continue
                args = decode_event(event, topics, bytes.fromhex(log["data"][2:]))
                changes.append(_Change(event.name, args, block_number))
            # The first change in a block points at the previous block with changes; later ones in the same
            # block point at this block (the registry had already recorded it).
            earlier = [c.args["previousChange"] for c in changes if c.args["previousChange"] < block_number]
            previous = min(earlier) if earlier else 0
            history[0:0] = changes
        return history

    def __repr__(self) -> str:
        return f"EthrDidResolver(networks={sorted({n.name for n in self._networks.values()})})"


def _attribute_method(did: str, number: int, algorithm: str, encoding: str | None, value: bytes) -> dict[str, Any]:
    """A verification method from a ``did/pub/<algorithm>/<purpose>/<encoding>`` attribute: known algorithms
    get their canonical type and key encoding (as the reference resolver emits them), others honour the
    encoding hint."""
    method: dict[str, Any] = {"id": f"{did}#delegate-{number}", "controller": did}
    try:
        if algorithm == "Secp256k1":
            method["type"] = "EcdsaSecp256k1VerificationKey2019"
            method["publicKeyJwk"] = public_key_from_raw("secp256k1", value).to_jwk()
            return method
        if algorithm == "Ed25519":
            method["type"] = "Ed25519VerificationKey2020"
            method["publicKeyMultibase"] = public_key_from_raw("Ed25519", value).to_multibase()
            return method
    except InputError:
        pass  # not a valid key of that type: fall back to the raw encoding below
    if algorithm == "X25519" and len(value) == 32:
        method["type"] = "X25519KeyAgreementKey2020"
        method["publicKeyMultibase"] = "z" + base58.b58encode(b"\xec\x01" + value).decode("ascii")
        return method
    method["type"] = {
        "RSA": "RsaVerificationKey2018",
        "Secp256k1": "EcdsaSecp256k1VerificationKey2019",
        "Ed25519": "Ed25519VerificationKey2020",
    }.get(algorithm, algorithm)
    if encoding in (None, "hex"):
        method["publicKeyHex"] = value.hex()
    elif encoding == "base64":
        method["publicKeyBase64"] = base64.b64encode(value).decode("ascii")
    elif encoding == "base58":
        method["publicKeyBase58"] = base58.b58encode(value).decode("ascii")
    elif encoding == "pem":
        method["publicKeyPem"] = value.decode("utf-8", errors="replace")
    else:
        method["value"] = value.hex()
    return method


def _document(
    did: str, chain_id: int, address: str, controller_key: bytes | None, history: Sequence[_Change], now: int
) -> DidResolution:
    controller = address
    deactivated = False
    version_id = 0
    delegate_count = 0
    service_count = 0
    methods: dict[str, dict[str, Any]] = {}
    authentication: dict[str, str] = {}
    assertion: dict[str, str] = {}
    key_agreement: dict[str, str] = {}
    services: dict[str, dict[str, Any]] = {}

    for change in history:
        version_id = max(version_id, change.block_number)
        args = change.args
        if change.name == "DIDOwnerChanged":
            controller = parse_address(str(args["owner"]))
            if controller == NULL_ADDRESS:
                deactivated = True
                break
            continue
        if change.name == "DIDDelegateChanged":
            delegate_type = _bytes32_text(bytes(args["delegateType"]))
            key = f"delegate-{delegate_type}-{parse_address(str(args['delegate']))}"
        else:
            key = f"attribute-{_bytes32_text(bytes(args['name']))}-{bytes(args['value']).hex()}"
        # Strictly after: the registry's own validDelegate() uses `> block.timestamp`, and a revocation writes
        # validTo = block.timestamp, so at the ledger time of the revoking block the entry is already gone.
        valid = int(args["validTo"]) > now
        if change.name == "DIDDelegateChanged":
            # Every delegate change advances the counter, valid or not, so ids are stable across revocations.
            delegate_count += 1
            if not valid:
                for table in (methods, authentication, assertion, key_agreement):
                    table.pop(key, None)
                continue
            if delegate_type not in ("veriKey", "sigAuth"):
                continue
            vm_id = f"{did}#delegate-{delegate_count}"
            methods[key] = {
                "id": vm_id,
                "type": "EcdsaSecp256k1RecoveryMethod2020",
                "controller": did,
                "blockchainAccountId": f"eip155:{chain_id}:{parse_address(str(args['delegate']))}",
            }
            assertion[key] = vm_id
            if delegate_type == "sigAuth":
                authentication[key] = vm_id
            continue
        name = _bytes32_text(bytes(args["name"]))
        match = _ATTRIBUTE_RE.match(name)
        if match is None:
            continue  # not a DID attribute: the registry is used for other data too
        section, algorithm, purpose, encoding = match.groups()
        if section == "pub":
            delegate_count += 1
            if not valid:
                for table in (methods, authentication, assertion, key_agreement):
                    table.pop(key, None)
                continue
            method = _attribute_method(did, delegate_count, algorithm, encoding, bytes(args["value"]))
            methods[key] = method
            if purpose == "sigAuth":
                authentication[key] = method["id"]
                assertion[key] = method["id"]
            elif purpose == "enc":
                key_agreement[key] = method["id"]
            else:
                assertion[key] = method["id"]
        else:
            service_count += 1
            if not valid:
                services.pop(key, None)
                continue
            try:
                text = bytes(args["value"]).decode("utf-8")
            except UnicodeDecodeError:
                continue  # not a service endpoint: skip, as the reference resolver does
            endpoint: Any = text
            if text[:1] in ("{", "["):
                try:
                    endpoint = json.loads(text)
                except ValueError:
                    endpoint = text
            services[key] = {
                "id": f"{did}#service-{service_count}",
                "type": algorithm,
                "serviceEndpoint": endpoint,
            }

    metadata: dict[str, Any] = {}
    if version_id:
        metadata["versionId"] = str(version_id)
    if deactivated:
        metadata["deactivated"] = True
        return DidResolution(document={"@context": list(_CONTEXTS), "id": did}, metadata=metadata)

    controller_vm: dict[str, Any] = {
        "id": f"{did}#controller",
        "type": "EcdsaSecp256k1RecoveryMethod2020",
        "controller": did,
        "blockchainAccountId": f"eip155:{chain_id}:{controller}",
    }
    verification_methods: list[dict[str, Any]] = [controller_vm]
    auth_refs: list[str] = [controller_vm["id"]]
    assertion_refs: list[str] = [controller_vm["id"]]
    if controller_key is not None and controller == address:
        key_vm: dict[str, Any] = {
            "id": f"{did}#controllerKey",
            "type": "EcdsaSecp256k1VerificationKey2019",
            "controller": did,
            "publicKeyJwk": public_key_from_raw("secp256k1", controller_key).to_jwk(),
        }
        verification_methods.append(key_vm)
        auth_refs.append(key_vm["id"])
        assertion_refs.append(key_vm["id"])
    document: dict[str, Any] = {
        "@context": list(_CONTEXTS),
        "id": did,
        "verificationMethod": verification_methods + list(methods.values()),
        "authentication": auth_refs + list(authentication.values()),
        "assertionMethod": assertion_refs + list(assertion.values()),
    }
    if key_agreement:
        document["keyAgreement"] = list(key_agreement.values())
    if services:
        document["service"] = list(services.values())
    if any("publicKeyJwk" in m for m in document["verificationMethod"]):
        document["@context"].append(
            {"publicKeyJwk": {"@id": "https://w3id.org/security#publicKeyJwk", "@type": "@json"}}
        )
    return DidResolution(document=document, metadata=metadata)
