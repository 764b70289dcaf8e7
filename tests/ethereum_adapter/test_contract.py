"""The shipped AnchorRegistry: its committed ABI and bytecode are what the pinned npm solc makes of the committed
source with the committed settings (evmVersion set explicitly), byte for byte."""

from __future__ import annotations

import hashlib
import json

import pytest

from vcgate.adapters.ethereum import ANCHORED_EVENT, anchor_registry_artifact, anchor_registry_source

from .compile_contracts import CONTRACTS, compile_contract

pytestmark = pytest.mark.node


@pytest.mark.parametrize("name", sorted(CONTRACTS))
def test_recompiling_reproduces_the_committed_bytecode(name: str) -> None:
    source = CONTRACTS[name]
    committed = json.loads(source.with_suffix(".json").read_text())
    assert committed["sourceSha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    settings = committed["compiler"]["settings"]
    assert settings["evmVersion"] == "cancun"  # pinned, never solc's moving default
    rebuilt = compile_contract(source, name, settings)
    assert rebuilt["solcVersion"] == committed["compiler"]["version"]
    assert rebuilt["bytecode"] == committed["bytecode"]
    assert rebuilt["deployedBytecode"] == committed["deployedBytecode"]
    assert rebuilt["abi"] == committed["abi"]


def test_packaged_artifact_matches_the_event_the_adapter_reads() -> None:
    artifact = anchor_registry_artifact()
    assert "event Anchored(address indexed anchorer, bytes32 indexed digest, string uri);" in anchor_registry_source()
    events = [e for e in artifact["abi"] if e["type"] == "event"]
    assert [(e["name"], [(i["type"], i["indexed"]) for i in e["inputs"]]) for e in events] == [
        ("Anchored", [("address", True), ("bytes32", True), ("string", False)])
    ]
    assert ANCHORED_EVENT.signature == "Anchored(address,bytes32,string)"
