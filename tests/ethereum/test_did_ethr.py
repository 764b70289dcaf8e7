"""did:ethr resolution against the official ERC-1056 EthereumDIDRegistry on anvil."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from importlib.metadata import entry_points

import coincurve
import pytest

from vcgate.adapters.ethereum import (
    DidResolutionError,
    EthrDidResolver,
    EthrNetwork,
    JsonRpcClient,
    LedgerUnavailableError,
)
from vcgate.canonical_schema import public_key_from_raw

from .conftest import DEV_KEYS, ZERO_ADDRESS, Deployment

pytestmark = pytest.mark.server

HOUR = 3600


def b32(text: str) -> bytes:
    return text.encode().ljust(32, b"\x00")


def resolver_for(d: Deployment, name: str = "development") -> EthrDidResolver:
    network = EthrNetwork(name=name, chain_id=31337, registry=d.did_registry.address, client=JsonRpcClient(d.node.url))
    return EthrDidResolver([network])


def test_unregistered_identity_resolves_to_its_own_controller(deployment: Deployment) -> None:
    identity = deployment.w3.eth.accounts[5]
    did = f"did:ethr:development:{identity.lower()}"
    document = resolver_for(deployment).resolve(did)
    assert document == {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/suites/secp256k1recovery-2020/v2"],
        "id": did,
        "verificationMethod": [
            {
                "id": f"{did}#controller",
                "type": "EcdsaSecp256k1RecoveryMethod2020",
                "controller": did,
                "blockchainAccountId": f"eip155:31337:{identity}",
            }
        ],
        "authentication": [f"{did}#controller"],
        "assertionMethod": [f"{did}#controller"],
    }


def test_owner_delegates_and_attributes_are_reflected(deployment: Deployment) -> None:
    d = deployment
    registry = d.did_registry.functions
    identity, new_owner, signer, verifier = d.w3.eth.accounts[4:8]
    did = f"did:ethr:0x7a69:{identity}"  # networks may also be named by hex chain id
    resolver = resolver_for(d)

    def send(call: object, sender: str) -> None:
        d.w3.eth.wait_for_transaction_receipt(call.transact({"from": sender}))  # type: ignore[attr-defined]

    send(registry.addDelegate(identity, b32("veriKey"), verifier, HOUR), identity)
    # Two changes in one block: the second points back at the same block; the walk must still find the first.
    d.node.rpc("evm_setAutomine", [False])
    registry.addDelegate(identity, b32("sigAuth"), signer, HOUR).transact({"from": identity, "gas": 200_000})
    secp_key = coincurve.PrivateKey(bytes.fromhex(DEV_KEYS[2][2:])).public_key.format(compressed=True)
    registry.setAttribute(identity, b32("did/pub/Secp256k1/veriKey/hex"), secp_key, HOUR).transact(
        {"from": identity, "gas": 200_000, "nonce": d.w3.eth.get_transaction_count(identity) + 1}
    )
    d.node.rpc("evm_mine")
    d.node.rpc("evm_setAutomine", [True])
    ed_key = bytes(range(32))
    send(registry.setAttribute(identity, b32("did/pub/Ed25519/veriKey/base64"), ed_key, HOUR), identity)
    send(registry.setAttribute(identity, b32("did/svc/HubService"), b"https://hubs.example.com", HOUR), identity)

    resolution = resolver.resolve_with_metadata(did)
    document = resolution.document
    methods = {vm["id"].split("#")[1]: vm for vm in document["verificationMethod"]}
    assert sorted(methods) == ["controller", "delegate-1", "delegate-2", "delegate-3", "delegate-4"]
    assert methods["controller"]["blockchainAccountId"] == f"eip155:31337:{identity}"
    assert methods["delegate-1"] == {
        "id": f"{did}#delegate-1",
        "type": "EcdsaSecp256k1RecoveryMethod2020",
        "controller": did,
        "blockchainAccountId": f"eip155:31337:{verifier}",
    }
    assert methods["delegate-2"]["blockchainAccountId"] == f"eip155:31337:{signer}"
    assert methods["delegate-3"]["type"] == "EcdsaSecp256k1VerificationKey2019"
    assert methods["delegate-3"]["publicKeyJwk"] == public_key_from_raw("secp256k1", secp_key).to_jwk()
    assert methods["delegate-4"]["type"] == "Ed25519VerificationKey2020"
    assert methods["delegate-4"]["publicKeyMultibase"] == public_key_from_raw("Ed25519", ed_key).to_multibase()
    assert document["authentication"] == [f"{did}#controller", f"{did}#delegate-2"]
    assert document["assertionMethod"] == [f"{did}#controller", *(f"{did}#delegate-{i}" for i in (1, 2, 3, 4))]
    assert document["service"] == [
        {"id": f"{did}#service-1", "type": "HubService", "serviceEndpoint": "https://hubs.example.com"}
    ]
    assert int(resolution.metadata["versionId"]) == d.w3.eth.block_number

    # New owner; the new owner revokes the first delegate. Ids of the others do not move.
    send(registry.changeOwner(identity, new_owner), identity)
    send(registry.revokeDelegate(identity, b32("veriKey"), verifier), new_owner)
    document = resolver.resolve(did)
    methods = {vm["id"].split("#")[1]: vm for vm in document["verificationMethod"]}
    assert methods["controller"]["blockchainAccountId"] == f"eip155:31337:{new_owner}"
    assert sorted(methods) == ["controller", "delegate-2", "delegate-3", "delegate-4"]
    assert f"{did}#delegate-1" not in document["assertionMethod"]

    # Judged after every validTo, only the controller remains (time is a parameter, not the local clock).
    later = resolver.resolve_with_metadata(did, at=datetime(2100, 1, 1, tzinfo=UTC)).document
    assert [vm["id"] for vm in later["verificationMethod"]] == [f"{did}#controller"]
    assert "service" not in later

    # Resolving at an earlier block shows the document as it was then (before the owner change).
    owner_block = d.w3.eth.block_number - 1
    earlier = resolver.resolve_with_metadata(did, block=owner_block - 1).document
    assert earlier["verificationMethod"][0]["blockchainAccountId"] == f"eip155:31337:{identity}"

    # Deactivation: owner 0x0.
    send(registry.changeOwner(identity, ZERO_ADDRESS), new_owner)
    deactivated = resolver.resolve_with_metadata(did)
    assert deactivated.metadata["deactivated"] is True
    assert set(deactivated.document) == {"@context", "id"}


def test_public_key_did_has_a_controller_key(deployment: Deployment) -> None:
    public = coincurve.PrivateKey(bytes.fromhex(DEV_KEYS[3][2:])).public_key.format(compressed=True)
    did = f"did:ethr:development:0x{public.hex()}"
    document = resolver_for(deployment).resolve(did)
    assert document["verificationMethod"][0]["blockchainAccountId"] == f"eip155:31337:{deployment.w3.eth.accounts[3]}"
    assert document["verificationMethod"][1]["id"] == f"{did}#controllerKey"
    assert document["verificationMethod"][1]["publicKeyJwk"] == public_key_from_raw("secp256k1", public).to_jwk()
    assert document["authentication"] == [f"{did}#controller", f"{did}#controllerKey"]


@pytest.mark.parametrize(
    ("did", "code"),
    [
        ("did:ethr:development:0x1234", "invalidDid"),
        ("did:web:example.com", "invalidDid"),
        ("did:ethr:sepolia:0x" + "11" * 20, "unknownNetwork"),
        ("did:ethr:0x" + "11" * 20, "unknownNetwork"),  # mainnet by default, not configured here
    ],
)
def test_bad_dids_raise_resolution_errors(deployment: Deployment, did: str, code: str) -> None:
    with pytest.raises(DidResolutionError) as caught:
        resolver_for(deployment).resolve(did)
    assert caught.value.code == code


def test_node_down_is_ledger_unavailable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = JsonRpcClient(f"http://127.0.0.1:{port}", retries=0)
    resolver = EthrDidResolver([EthrNetwork("mainnet", 1, "0xdca7ef03e98e0dc2b855be647c39abe984fcf21b", client)])
    with pytest.raises(LedgerUnavailableError):
        resolver.resolve("did:ethr:0x" + "11" * 20)


def test_registered_as_did_method_entry_point() -> None:
    (entry,) = [e for e in entry_points(group="vcgate.did_methods") if e.name == "ethr"]
    resolver_class = entry.load()
    assert resolver_class is EthrDidResolver
    assert resolver_class.method == "ethr"
    configured = EthrDidResolver.from_config(
        {"networks": [{"name": "mainnet", "chainId": 1, "rpcUrl": "http://127.0.0.1:1", "registry": ZERO_ADDRESS}]}
    )
    assert "mainnet" in repr(configured)
