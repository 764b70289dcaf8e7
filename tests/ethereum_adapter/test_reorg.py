"""Reorgs on anvil (evm_snapshot / evm_revert, then a different, longer branch): the adapter notices that its
cursor's block left the chain, rewinds, re-translates, and an attestation the reorg removed disappears from the
output while the survivors keep their credential ids."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ethereum.conftest import AnvilNode, Deployment, deploy_all, isolated

from vcgate.adapters.ethereum import IP_LICENCE_SCHEMA, EthereumAdapter, RewindPage
from vcgate.adapters.sdk import Cursor

from .conftest import CHAIN_ID, attest, licence

pytestmark = pytest.mark.server


@pytest.fixture
def chain(anvil_server: AnvilNode) -> Iterator[tuple[AnvilNode, Deployment]]:
    # The run's node: the tests' reorgs revert to snapshots they take inside this one, which undoes them all.
    with isolated(anvil_server) as node:
        yield node, deploy_all(node)


def follow(adapter: EthereumAdapter, since: Cursor | None, output: dict[str, int]) -> tuple[Cursor | None, int]:
    """A consumer honouring the adapter's contract: drop what came from above a rewind, keep the rest by id."""
    rewinds = 0
    cursor = since
    for page in adapter.records(since):
        if isinstance(page, RewindPage):
            rewinds += 1
            for credential, height in list(output.items()):
                if height > page.keep_through:
                    del output[credential]
        for record in page.records:
            output[adapter.translate(record).credential_id] = record.ledger_height
        cursor = page.next_cursor
    return cursor, rewinds


def config(node: AnvilNode, d: Deployment, tmp_path: Path) -> dict[str, Any]:
    return {
        "id": "reorg",
        "chainId": CHAIN_ID,
        "rpcUrl": node.url,
        "configDir": str(tmp_path),
        "finality": {"confirmations": 0},  # follow the head: the case where reorgs reach emitted records
        "reorgRewind": 8,
        "signers": {d.brand_owner: "did:web:acme-apparel.example.com"},
        "eas": {"address": d.eas.address, "schemas": [{"profile": "ip-licence"}]},
    }


def test_attestation_removed_by_a_reorg_disappears(chain: tuple[AnvilNode, Deployment], tmp_path: Path) -> None:
    node, d = chain
    maker = "did:web:summit-garment.example.com"
    schema = d.register_schema(IP_LICENCE_SCHEMA)
    kept_uid = attest(d, schema, licence(1, maker))
    node.rpc("anvil_mine", ["0x2"])
    snapshot = node.rpc("evm_snapshot")
    doomed_uid = attest(d, schema, licence(2, maker))

    adapter = EthereumAdapter.from_config(config(node, d, tmp_path))
    output: dict[str, int] = {}
    cursor, rewinds = follow(adapter, None, output)
    ids = {r.locator: adapter.translate(r).credential_id for p in adapter.records() for r in p.records}
    kept, doomed = ids[f"eas/0x{kept_uid.hex()}"], ids[f"eas/0x{doomed_uid.hex()}"]
    assert set(output) == {kept, doomed}
    assert rewinds == 0

    # The reorg: the doomed attestation's block is replaced by a longer branch with another attestation.
    node.rpc("evm_revert", [snapshot])
    other_uid = attest(d, schema, licence(3, maker))
    node.rpc("anvil_mine", ["0x3"])

    cursor, rewinds = follow(adapter, cursor, output)
    other = adapter.translate(adapter.fetch(f"eas/0x{other_uid.hex()}")).credential_id
    assert rewinds == 1
    assert doomed not in output
    assert set(output) == {kept, other}  # the survivor keeps its id: re-translation is idempotent

    # A fresh full sync of the new chain agrees, and the cursor now matches the chain (no further rewind).
    fresh: dict[str, int] = {}
    follow(EthereumAdapter.from_config(config(node, d, tmp_path)), None, fresh)
    assert fresh == output
    assert follow(adapter, cursor, output)[1] == 0


def test_resume_after_reorg_below_the_rewind_window_restarts_from_the_beginning(
    chain: tuple[AnvilNode, Deployment], tmp_path: Path
) -> None:
    node, d = chain
    schema = d.register_schema(IP_LICENCE_SCHEMA)
    snapshot = node.rpc("evm_snapshot")
    attest(d, schema, licence(1, "did:web:summit-garment.example.com"))
    adapter = EthereumAdapter.from_config({**config(node, d, tmp_path), "reorgRewind": 1000})
    output: dict[str, int] = {}
    cursor, _ = follow(adapter, None, output)
    assert len(output) == 1
    node.rpc("evm_revert", [snapshot])
    node.rpc("anvil_mine", ["0x2"])
    pages = list(adapter.records(cursor))
    assert isinstance(pages[0], RewindPage)
    assert pages[0].keep_through == 0  # the genesis block (and off-chain attestations at height 0) stay
    follow(adapter, cursor, output)
    assert output == {}


def test_generic_sync_command_drops_credentials_a_reorg_removed(
    chain: tuple[AnvilNode, Deployment], tmp_path: Path
) -> None:
    # `vcgate adapters sync` honours RewindPage through its `keep_through` field: files from above it are removed.
    import json
    import subprocess
    import sys

    import yaml

    node, d = chain
    maker = "did:web:summit-garment.example.com"
    schema = d.register_schema(IP_LICENCE_SCHEMA)
    attest(d, schema, licence(1, maker))
    node.rpc("anvil_mine", ["0x2"])
    snapshot = node.rpc("evm_snapshot")
    attest(d, schema, licence(2, maker))
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(yaml.safe_dump(config(node, d, tmp_path)))
    out = tmp_path / "out"

    def sync() -> dict[str, Any]:
        code = "from vcgate.gateway.cli import main; main()"
        args = ["adapters", "sync", "ethereum", "--config", str(cfg), "--out", str(out), "--json"]
        proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0, proc.stderr
        return dict(json.loads(proc.stdout))

    first = sync()
    assert first["credentialsWritten"] == 2
    node.rpc("evm_revert", [snapshot])
    attest(d, schema, licence(3, maker))
    node.rpc("anvil_mine", ["0x3"])
    second = sync()
    assert second["rewound"] >= 1  # the doomed one, and survivors inside the rewind window (rewritten after)
    files = sorted(p.name for p in out.glob("*.json") if not p.name.startswith((".", "revocations")))
    numbers = sorted(json.loads((out / f).read_text())["credentialSubject"]["licenseId"] for f in files)
    assert numbers == ["ACME-LIC-2026-001", "ACME-LIC-2026-003"]


def test_store_sync_drops_credentials_a_reorg_removed(chain: tuple[AnvilNode, Deployment], tmp_path: Path) -> None:
    # `vcgate sync` (the gateway store) honours RewindPage too: the doomed licence leaves the store and its index.
    from datetime import UTC, datetime

    from vcgate.gateway import KeyPair
    from vcgate.gateway._jobs import sync
    from vcgate.gateway._store import Store

    node, d = chain
    maker = "did:web:summit-garment.example.com"
    schema = d.register_schema(IP_LICENCE_SCHEMA)
    attest(d, schema, licence(1, maker))
    node.rpc("anvil_mine", ["0x2"])
    snapshot = node.rpc("evm_snapshot")
    attest(d, schema, licence(2, maker))
    store = Store.open(f"sqlite:///{tmp_path / 'store.sqlite'}")
    try:
        store.register_adapter("eth", "ethereum", config(node, d, tmp_path))
        partner = KeyPair.generate("ed25519", controller="did:web:acme-apparel.example.com")

        def signer(doc: dict[str, Any], created: datetime) -> dict[str, Any]:
            from vcgate.gateway import sign

            return sign(doc, partner, suite="eddsa-jcs-2022", created=created)

        signers = {"did:web:acme-apparel.example.com": signer}
        first = sync(store, now=datetime.now(UTC), partner_signers=signers).to_json()
        assert store.search("ACME-LIC-2026-002"), first
        node.rpc("evm_revert", [snapshot])
        attest(d, schema, licence(3, maker))
        node.rpc("anvil_mine", ["0x3"])
        second = sync(store, now=datetime.now(UTC), partner_signers=signers).to_json()
        assert store.search("ACME-LIC-2026-002") == [], second
        assert store.search("ACME-LIC-2026-001")
        assert store.search("ACME-LIC-2026-003")
    finally:
        store.close()
