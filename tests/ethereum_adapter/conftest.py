"""A chain for the Ethereum adapter's tests: anvil (npm, pinned) with the official EAS bytecode, the shipped
AnchorRegistry and a test TrademarkRegistry, on which a brand owner makes licence attestations (one revoked, one
under a schema no mapping covers), records a trademark and anchors a signed credential; plus an off-chain
attestation file. Helpers to build the adapter's configuration and to sign EAS off-chain attestations."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from eth_abi.packed import encode_packed
from eth_account import Account
from ethereum.conftest import (  # the Ethereum ledger layer's anvil fixture helpers (tests/ethereum/conftest.py)
    DEV_KEYS,
    ZERO_ADDRESS,
    ZERO_BYTES32,
    AnvilNode,
    Deployment,
    deploy_all,
    isolated,
)
from web3 import Web3

from vcgate.adapters.ethereum import (
    IP_LICENCE_SCHEMA,
    EthereumAdapter,
    anchor_registry_artifact,
    credential_digest,
    encode_attestation_data,
    keccak256,
    schema_uid,
)
from vcgate.gateway import KeyPair, sign

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHAIN_ID = 31337
LATER = datetime(2100, 1, 1, tzinfo=UTC)
TERM_START = 1_767_225_600  # 2026-01-01
TERM_END = 1_830_297_600  # 2028-01-01
IPR_CREDENTIAL = "urn:uuid:9a4d2f6c-1b3e-4f7a-8c2d-5e6f7a8b9c33"
OTHER_SCHEMA = "string note"


def licence(number: int, licensee_did: str) -> dict[str, Any]:
    """Values of one IP licence under the adapter's ``ip-licence`` EAS schema."""
    return {
        "licenseId": f"ACME-LIC-2026-{number:03d}",
        "ipRightsCredential": IPR_CREDENTIAL,
        "ipRightsType": "Trademark",
        "recordationNumber": "TMK 23-00457",
        "licenseeDid": licensee_did,
        "licenseeName": "Dongguan Summit Garment Co., Ltd.",
        "gtins": ["00614141123452", f"00614141{number:06d}"],
        "territories": ["US", "CA"],
        "termStart": TERM_START,
        "termEnd": TERM_END,
        "conditions": "Manufacture for export to the licensed territory only.",
    }


def deploy_artifact(w3: Web3, artifact: dict[str, Any], sender: str) -> Any:
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    receipt = w3.eth.wait_for_transaction_receipt(factory.constructor().transact({"from": sender}))
    assert receipt["status"] == 1
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])


def attest(d: Deployment, schema: bytes, values: dict[str, Any], definition: str = IP_LICENCE_SCHEMA) -> bytes:
    """One on-chain attestation by the brand owner; returns its UID."""
    data = encode_attestation_data(definition, values)
    tx = d.eas.functions.attest((schema, (d.manufacturer, 0, True, ZERO_BYTES32, data, 0))).transact(
        {"from": d.brand_owner, "gas": 2_000_000}
    )
    receipt = d.w3.eth.wait_for_transaction_receipt(tx)
    return bytes(d.eas.events.Attested().process_receipt(receipt)[0]["args"]["uid"])


def multi_attest(d: Deployment, schema: bytes, batch: list[dict[str, Any]], *, wait: bool = True) -> Any:
    """Several attestations in one ``multiAttest`` transaction (one receipt with several Attested logs)."""
    requests = [
        (d.manufacturer, 0, True, ZERO_BYTES32, encode_attestation_data(IP_LICENCE_SCHEMA, v), 0) for v in batch
    ]
    tx = d.eas.functions.multiAttest([(schema, requests)]).transact(
        {"from": d.brand_owner, "gas": 500_000 + 1_500_000 * len(batch)}
    )
    if not wait:
        return tx
    receipt = d.w3.eth.wait_for_transaction_receipt(tx)
    return [bytes(e["args"]["uid"]) for e in d.eas.events.Attested().process_receipt(receipt)]


_ATTEST_TYPES = [
    {"name": "version", "type": "uint16"},
    {"name": "schema", "type": "bytes32"},
    {"name": "recipient", "type": "address"},
    {"name": "time", "type": "uint64"},
    {"name": "expirationTime", "type": "uint64"},
    {"name": "revocable", "type": "bool"},
    {"name": "refUID", "type": "bytes32"},
    {"name": "data", "type": "bytes"},
    {"name": "salt", "type": "bytes32"},
]


def signed_offchain(
    values: dict[str, Any], *, eas_address: str, recipient: str, key: str = DEV_KEYS[0], time: int = 1_790_000_000
) -> dict[str, Any]:
    """An EAS SDK off-chain attestation (version 2) of an IP licence, signed with eth-account (EIP-712)."""
    message: dict[str, Any] = {
        "version": 2,
        "schema": "0x" + schema_uid(IP_LICENCE_SCHEMA).hex(),
        "recipient": recipient,
        "time": time,
        "expirationTime": 0,
        "revocable": True,
        "refUID": "0x" + "00" * 32,
        "data": "0x" + encode_attestation_data(IP_LICENCE_SCHEMA, values).hex(),
        "salt": "0x" + "5a" * 32,
    }
    domain = {"name": "EAS Attestation", "version": "1.4.0", "chainId": CHAIN_ID, "verifyingContract": eas_address}
    eip712 = [
        {"name": "name", "type": "string"},
        {"name": "version", "type": "string"},
        {"name": "chainId", "type": "uint256"},
        {"name": "verifyingContract", "type": "address"},
    ]
    full = {
        "types": {"EIP712Domain": eip712, "Attest": _ATTEST_TYPES},
        "primaryType": "Attest",
        "domain": domain,
        "message": message,
    }
    signature = Account.sign_typed_data(key, full_message=full)
    packed_types = ["uint16", "bytes", "address", "address", "uint64", "uint64", "bool", "bytes32", "bytes", "bytes32"]
    packed_values: list[Any] = [
        2, message["schema"].encode(), recipient, ZERO_ADDRESS, time, 0, True, b"\x00" * 32,
        bytes.fromhex(message["data"][2:]), bytes.fromhex(message["salt"][2:]),
    ]  # fmt: skip
    uid = keccak256(encode_packed([*packed_types, "uint32"], [*packed_values, 0]))
    return {
        "sig": {
            "version": 2,
            "domain": domain,
            "primaryType": "Attest",
            "types": {"Attest": _ATTEST_TYPES},
            "message": {**message, "time": str(time)},
            "signature": {"r": hex(signature.r), "s": hex(signature.s), "v": signature.v},
            "uid": "0x" + uid.hex(),
        },
        "signer": Account.from_key(key).address,
    }


def signed_licence_credential(brand: KeyPair, licensee_did: str) -> dict[str, Any]:
    """A full signed licence credential of the kind a brand owner keeps off-chain and anchors."""
    example = json.loads((ROOT / "examples" / "credentials" / "intellectual-property-rights-license.json").read_text())
    for key in ("evidence", "credentialStatus"):
        example.pop(key)
    example["id"] = "urn:uuid:0b7c5e1a-8d2f-4c3b-9a6e-1f2d3c4b5a69"
    example["issuer"] = brand.controller
    example["credentialSubject"]["licensor"]["id"] = brand.controller
    example["credentialSubject"]["licensee"]["id"] = licensee_did
    return sign(example, brand, suite="eddsa-jcs-2022", created=datetime(2026, 1, 2, tzinfo=UTC))


@dataclass
class World:
    """The chain and the parties of the scenario."""

    d: Deployment
    registry: Any
    trademarks: Any
    brand: KeyPair
    maker: KeyPair
    folder: Path
    licence_uids: list[bytes]
    revoked_uid: bytes
    unknown_uid: bytes
    anchored: dict[str, Any]
    offchain: dict[str, Any]
    final_head: int
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def node(self) -> AnvilNode:
        return self.d.node

    def config(self, **changes: Any) -> dict[str, Any]:
        """The adapter configuration for this chain (every source on; 2 confirmations)."""
        config: dict[str, Any] = {
            "id": "acme-licences",
            "chainId": CHAIN_ID,
            "rpcUrl": self.node.url,
            "configDir": str(self.folder),
            "finality": {"confirmations": 2},
            "descendants": 2,
            "pageSize": 2,
            "blockRange": 4,
            "signers": {self.d.brand_owner: self.brand.controller},
            "eas": {
                "address": self.d.eas.address,
                "attesters": [self.d.brand_owner],
                "schemas": [{"profile": "ip-licence"}],
            },
            "offchain": ["offchain"],
            "events": [
                {
                    "address": self.trademarks.address,
                    "abi": str(HERE / "contracts" / "TrademarkRegistry.json"),
                    "event": "TrademarkRecorded",
                    "mapping": str(HERE / "mappings" / "trademark.yaml"),
                }
            ],
            "anchored": {"registry": self.registry.address, "credentials": ["anchored"]},
            "rpc": {"retries": 0, "timeout": 5},
        }
        config.update(changes)
        return config

    def adapter(self, **changes: Any) -> EthereumAdapter:
        return EthereumAdapter.from_config(self.config(**changes))

    def anchor(self, depth: int = 2) -> dict[str, Any]:
        """The pinned anchor: every block hash up to the final head as a checkpoint, with a finality depth."""
        checkpoints = {n: "0x" + bytes(self.d.w3.eth.get_block(n)["hash"]).hex() for n in range(self.final_head + 3)}
        return {"kind": "ethereum", "checkpoints": checkpoints, "finalityDepth": depth}


def make_world(node: AnvilNode, folder: Path) -> World:
    d = deploy_all(node)
    w3 = d.w3
    registry = deploy_artifact(w3, anchor_registry_artifact(), d.brand_owner)
    trademarks = deploy_artifact(
        w3, json.loads((HERE / "contracts" / "TrademarkRegistry.json").read_text()), d.brand_owner
    )
    brand, maker = KeyPair.generate("ed25519"), KeyPair.generate("ed25519")
    schema = d.register_schema(IP_LICENCE_SCHEMA)
    assert schema == schema_uid(IP_LICENCE_SCHEMA)
    other = d.register_schema(OTHER_SCHEMA)

    first = attest(d, schema, licence(1, maker.controller))
    rest = multi_attest(d, schema, [licence(2, maker.controller), licence(3, maker.controller)])
    unknown = attest(d, other, {"note": "not a licence"}, OTHER_SCHEMA)
    w3.eth.wait_for_transaction_receipt(
        trademarks.functions.record("TMK 23-00457", "ACME RIDGELINE", ["00614141123452"]).transact(
            {"from": d.brand_owner}
        )
    )
    credential = signed_licence_credential(brand, maker.controller)
    (folder / "anchored").mkdir()
    (folder / "anchored" / "licence.json").write_text(json.dumps(credential, indent=2))
    w3.eth.wait_for_transaction_receipt(
        registry.functions.anchor(credential_digest(credential), "https://acme.example/licences/017.json").transact(
            {"from": d.brand_owner}
        )
    )
    revoked = rest[1]
    w3.eth.wait_for_transaction_receipt(
        d.eas.functions.revoke((schema, (revoked, 0))).transact({"from": d.brand_owner, "gas": 500_000})
    )
    offchain = signed_offchain(licence(4, maker.controller), eas_address=d.eas.address, recipient=d.manufacturer)
    (folder / "offchain").mkdir()
    (folder / "offchain" / "licence-4.json").write_text(json.dumps(offchain))
    node.rpc("anvil_mine", ["0x4"])
    return World(
        d=d,
        registry=registry,
        trademarks=trademarks,
        brand=brand,
        maker=maker,
        folder=folder,
        licence_uids=[first, *rest],
        revoked_uid=revoked,
        unknown_uid=unknown,
        anchored=credential,
        offchain=offchain,
        final_head=w3.eth.block_number - 2,
    )


@pytest.fixture(scope="module")
def world(anvil_server: AnvilNode, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The scenario, built once per test module on the run's anvil (reverted after the module), for tests that only
    read it."""
    with isolated(anvil_server) as node:
        yield make_world(node, tmp_path_factory.mktemp("ethereum-adapter"))
