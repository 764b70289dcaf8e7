"""Issue 11: ``vcgate verify`` on a credential whose ledger evidence a reorg removed is never ``verified``; nor is one
whose attestation was revoked on chain (EAS ``revoke``).

On anvil with the official EAS contracts: a licence that stays, a licence revoked with EAS ``revoke`` and, after an
``evm_snapshot``, a doomed licence; ``vcgate sync`` (the store-level sync) signs all three into a store. Then
``evm_revert`` and a different, longer branch (another licence, more blocks); the store syncs again. The doomed
licence's credential, as a holder kept it, goes to the real ``vcgate verify --db`` with a policy pinning the new
chain's blocks (as an operator pins the chain it follows).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from eth_account import Account
from eth_account.messages import encode_defunct
from ethereum.conftest import DEV_KEYS, AnvilNode, deploy_all, isolated
from ethereum_adapter.conftest import CHAIN_ID, attest, licence

from vcgate.adapters.ethereum import IP_LICENCE_SCHEMA, builtin_mapping
from vcgate.canonical_schema import b64url
from vcgate.gateway import KeyPair, Policy, sign
from vcgate.gateway._jobs import sync
from vcgate.gateway._parties import Binding, ControlProof, Party, binding_challenge, check_binding_proof
from vcgate.gateway._store import Store

pytestmark = [pytest.mark.server, pytest.mark.slow]

VCGATE = [sys.executable, "-c", "from vcgate.gateway.cli import main; main()"]
LEDGER = f"eip155:{CHAIN_ID}"
MAKER = "did:web:summit-garment.example.com"


@dataclass
class Reorged:
    db: str
    folder: Path
    node: AnvilNode
    eas: str
    fork: int  # the first block of the abandoned branch
    kept: dict[str, Any]
    revoked: dict[str, Any]
    doomed: dict[str, Any]

    def policy(self, up_to: int | None = None) -> Path:
        """The brand's party trusted; the chain's blocks 0..``up_to`` (default: the head) pinned as checkpoints."""
        head = int(self.node.rpc("eth_blockNumber"), 16) if up_to is None else up_to
        checkpoints = [
            {"number": n, "hash": self.node.rpc("eth_getBlockByNumber", [hex(n), False])["hash"]}
            for n in range(head + 1)
        ]
        raw: dict[str, Any] = json.loads(json.dumps(dict(Policy.default().raw)))
        raw["name"] = f"pinned-to-{head}"
        raw["trust"] = {
            **raw.get("trust", {}),
            "anchors": {
                LEDGER: {"kind": "ethereum", "checkpoints": checkpoints, "finalityDepth": 2, "easContracts": [self.eas]}
            },
        }
        path = self.folder / f"policy-{head}.yaml"
        path.write_text(yaml.safe_dump(raw, sort_keys=False))
        return path

    def verify(self, credential: dict[str, Any], policy: Path) -> tuple[int, dict[str, Any]]:
        path = self.folder / f"{credential['credentialSubject']['licenseId']}.json"
        path.write_text(json.dumps(credential))
        args = ["verify", str(path), "--json", "--offline", "--db", self.db, "--policy", str(policy)]
        run = subprocess.run([*VCGATE, *args], capture_output=True, text=True, timeout=240, check=False)
        assert run.stdout, run.stderr
        return run.returncode, json.loads(run.stdout)


def _brand_party(address: str) -> tuple[Party, KeyPair]:
    """The brand owner as a party: its DID key, and its EAS account bound by an EIP-191 signed challenge."""
    key = KeyPair.generate()
    party = Party("acme", key.controller, ("ACME Apparel",), (), ())
    binding = Binding(
        "ethereum-address",
        {"address": address},
        datetime(2024, 1, 1, tzinfo=UTC),
        ControlProof("signed-challenge", "n-1"),
    )
    signature = Account.sign_message(
        encode_defunct(primitive=binding_challenge(party.did, binding)), private_key=DEV_KEYS[0]
    ).signature
    bound = Binding(
        binding.kind,
        binding.match,
        binding.valid_from,
        ControlProof("signed-challenge", "n-1", b64url(bytes(signature))),
    )
    assert check_binding_proof(party, bound).status == "passed"
    return Party(party.id, party.did, party.names, party.identifiers, (bound,)), key


def _licence_doc(store: Store, number: int) -> dict[str, Any] | None:
    found = store.search(f"ACME-LIC-2026-{number:03d}")
    ids = {cid for _s, _v, cid in found}
    assert len(ids) <= 1, found
    return dict(store.credentials(ids)[ids.pop()].document) if ids else None


@pytest.fixture
def reorged(anvil_server: AnvilNode, tmp_path: Path) -> Iterator[Reorged]:
    with isolated(anvil_server) as anvil:
        d = deploy_all(anvil)
        party, key = _brand_party(d.brand_owner)
        schema = d.register_schema(IP_LICENCE_SCHEMA)
        attest(d, schema, licence(1, MAKER))
        revoked_uid = attest(d, schema, licence(2, MAKER))
        d.w3.eth.wait_for_transaction_receipt(
            d.eas.functions.revoke((schema, (revoked_uid, 0))).transact({"from": d.brand_owner, "gas": 500_000})
        )
        anvil.rpc("anvil_mine", ["0x2"])
        snapshot = anvil.rpc("evm_snapshot")
        fork = d.w3.eth.block_number + 1
        attest(d, schema, licence(3, MAKER))
        anvil.rpc("anvil_mine", ["0x4"])

        db = f"sqlite:///{tmp_path / 'store.sqlite'}"
        store = Store.open(db)
        try:
            store.put_party(party)
            store.put_mapping(builtin_mapping("eas-ip-licence.yaml"))
            store.register_adapter(
                "eas",
                "ethereum",
                {
                    "id": "eas",
                    "chainId": CHAIN_ID,
                    "rpcUrl": anvil.url,
                    "finality": {"confirmations": 2},
                    "descendants": 2,
                    "reorgRewind": 32,
                    "signers": {d.brand_owner: party.did},
                    "eas": {"address": d.eas.address, "schemas": [{"profile": "ip-licence"}]},
                },
            )

            def partner(doc: dict[str, Any], created: datetime) -> dict[str, Any]:
                return sign(doc, key, suite="eddsa-jcs-2022", created=created)

            first = sync(store, now=datetime.now(UTC), partner_signers={party.did: partner}).to_json()
            kept, revoked, doomed = (_licence_doc(store, n) for n in (1, 2, 3))
            assert kept is not None, first
            assert revoked is not None, first
            assert doomed is not None, first
            # The reorg: the doomed licence's blocks are replaced by a longer branch carrying another licence.
            anvil.rpc("evm_revert", [snapshot])
            attest(d, schema, licence(4, MAKER))
            anvil.rpc("anvil_mine", ["0x6"])
            second = sync(store, now=datetime.now(UTC), partner_signers={party.did: partner}).to_json()
            assert _licence_doc(store, 3) is None, second  # the store dropped it; a holder may still present its copy
            assert _licence_doc(store, 4) is not None, second
        finally:
            store.close()
        yield Reorged(db, tmp_path, anvil, d.eas.address, fork, kept, revoked, doomed)


def _failing(result: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [
        (c["stage"], c["status"], p["code"])
        for c in result["checks"]
        if c["status"] in ("failed", "error")
        for p in c["problems"]
    ]


def test_reorged_evidence_is_never_verified(reorged: Reorged) -> None:
    pinned = reorged.policy()
    # The control: the licence below the fork verifies with the same store and policy.
    code, kept = reorged.verify(reorged.kept, pinned)
    assert (code, kept["status"], _failing(kept)) == (0, "verified", [])
    # The doomed licence: a checkpoint of the chain shows another block at its height.
    doomed_block = int(reorged.doomed["evidence"][0]["ledgerHeight"])
    assert doomed_block >= reorged.fork
    code, out = reorged.verify(reorged.doomed, pinned)
    assert (code, out["status"]) == (1, "invalid")
    assert ("evidence", "failed", "ethereum.block_not_canonical") in _failing(out), out["checks"]
    assert out["verified"] is False
    # Pinned only below the fork, nothing anchors the abandoned branch: an error, still never verified.
    code, out = reorged.verify(reorged.doomed, reorged.policy(up_to=reorged.fork - 1))
    assert (code, out["status"]) == (2, "error")
    assert [f for f in _failing(out) if f[0] == "evidence"] == [("evidence", "error", "ethereum.no_anchor")], out


def test_an_eas_revoked_licence_is_never_verified(reorged: Reorged) -> None:
    code, out = reorged.verify(reorged.revoked, reorged.policy())
    assert (code, out["status"]) == (1, "invalid")
    assert _failing(out) == [("status", "failed", "LEDGER_REVOKED")], out["checks"]
