"""A real Ethereum node for the Ethereum adapter's tests: anvil (from the npm registry, pinned in tests/node),
with the official EAS, SchemaRegistry and ERC-1056 EthereumDIDRegistry bytecode deployed from their npm
artifacts.

`scripts/install-test-deps.sh` installs both; the fixtures fail loudly when they are missing.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from web3 import HTTPProvider, Web3

ROOT = Path(__file__).resolve().parents[2]
ANVIL = ROOT / "tests" / "node" / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
ARTIFACTS = ROOT / "tests" / "node" / "artifacts"

# anvil's default dev accounts (mnemonic "test test ... junk"); well-known test keys, funded on every fresh
# node.
DEV_KEYS = (
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
)
LICENCE_SCHEMA = (
    "string licenseId,bytes32 ipRightsUid,address licensee,string[] gtins,string territory,uint64 validFrom,"
    "uint64 validUntil"
)
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
ZERO_BYTES32 = b"\x00" * 32


def load_artifact(name: str) -> dict[str, Any]:
    """ABI + creation bytecode of an official contract artifact; fails loudly when the install step was
    skipped."""
    path = ARTIFACTS / f"{name}.json"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run scripts/install-test-deps.sh (it fetches the EAS and ERC-1056 artifacts)")
    artifact: dict[str, Any] = json.loads(path.read_text())
    return artifact


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class AnvilNode:
    """A running anvil: its URL and process."""

    url: str
    process: subprocess.Popen[bytes]

    def rpc(self, method: str, params: list[Any] | None = None) -> Any:
        """Raw JSON-RPC call (test tooling: evm_snapshot, evm_mine, ...)."""
        body = httpx.post(self.url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []}).json()
        if "error" in body:
            raise AssertionError(f"{method} failed: {body['error']}")
        return body["result"]


def start_anvil(*extra: str) -> AnvilNode:
    """Start the anvil binary directly (not through npx, whose wrapper would own the PID) on a free local
    port."""
    if not ANVIL.is_file():
        pytest.fail(f"{ANVIL} is missing: run scripts/install-test-deps.sh (npm ci in tests/node installs anvil)")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [str(ANVIL), "--host", "127.0.0.1", "--port", str(port), *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = process.stderr.read().decode() if process.stderr else ""
            pytest.fail(f"anvil exited with {process.returncode}: {stderr}")
        try:
            body = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=1)
            if body.json().get("result"):
                return AnvilNode(url=url, process=process)
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    stop_anvil(AnvilNode(url=url, process=process))
    pytest.fail("anvil did not answer eth_chainId within 15 s")


def stop_anvil(node: AnvilNode) -> None:
    """Stop the node by its PID."""
    node.process.terminate()
    try:
        node.process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        node.process.kill()
        node.process.wait(timeout=5)
    if node.process.stderr:
        node.process.stderr.close()


@contextmanager
def isolated(node: AnvilNode) -> Iterator[AnvilNode]:
    """The node for one user: an evm_snapshot on entry, reverted to on exit, so the chain is again as the user found
    it (blocks, state, nonces, block time) for the next user of the shared node (tests/conftest.py)."""
    snapshot = node.rpc("evm_snapshot")
    try:
        yield node
    finally:
        if node.rpc("evm_revert", [snapshot]) is not True:
            raise AssertionError(f"anvil could not revert to snapshot {snapshot}")


@pytest.fixture
def anvil(anvil_server: AnvilNode) -> Iterator[AnvilNode]:
    """The run's anvil node (tests/conftest.py) for one test: what the test does to it is reverted afterwards."""
    with isolated(anvil_server) as node:
        yield node


def deploy(w3: Web3, name: str, *args: Any) -> Any:
    """Deploy an official artifact from the first dev account and return the web3 contract object."""
    artifact = load_artifact(name)
    factory = w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    tx = factory.constructor(*args).transact({"from": w3.eth.accounts[0]})
    receipt = w3.eth.wait_for_transaction_receipt(tx)
    assert receipt["status"] == 1, f"deploying {name} reverted"
    return w3.eth.contract(address=receipt["contractAddress"], abi=artifact["abi"])


@dataclass
class Deployment:
    """The contracts on a fresh anvil and the accounts playing the parties."""

    node: AnvilNode
    w3: Web3
    schema_registry: Any
    eas: Any
    did_registry: Any
    brand_owner: str
    manufacturer: str
    other: str

    def register_schema(self, schema: str, revocable: bool = True) -> bytes:
        """Register an EAS schema from the brand owner's account and return its UID."""
        tx = self.schema_registry.functions.register(schema, ZERO_ADDRESS, revocable).transact(
            {"from": self.brand_owner}
        )
        receipt = self.w3.eth.wait_for_transaction_receipt(tx)
        event = self.schema_registry.events.Registered().process_receipt(receipt)[0]
        uid: bytes = bytes(event["args"]["uid"])
        return uid


def deploy_all(node: AnvilNode) -> Deployment:
    """SchemaRegistry, EAS(registry) and EthereumDIDRegistry deployed from the official artifacts."""
    w3 = Web3(HTTPProvider(node.url))
    registry = deploy(w3, "SchemaRegistry")
    eas = deploy(w3, "EAS", registry.address)
    did_registry = deploy(w3, "EthereumDIDRegistry")
    accounts = w3.eth.accounts
    return Deployment(
        node=node,
        w3=w3,
        schema_registry=registry,
        eas=eas,
        did_registry=did_registry,
        brand_owner=accounts[0],
        manufacturer=accounts[1],
        other=accounts[2],
    )


@pytest.fixture
def deployment(anvil: AnvilNode) -> Deployment:
    """The contracts deployed for one test, which may change the chain (reverted afterwards)."""
    return deploy_all(anvil)


@pytest.fixture(scope="module")
def shared_deployment(anvil_server: AnvilNode) -> Iterator[Deployment]:
    """The contracts deployed once per test module, for tests that only read (reverted after the module)."""
    with isolated(anvil_server) as node:
        yield deploy_all(node)
