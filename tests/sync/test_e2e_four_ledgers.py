"""One end-to-end run over all four set-ups, driven only by `vcgate` commands (subprocesses), into one store:

- a plain ledger (GS1's registry log) whose third key licence lacks the field GS1's first mapping requires, and a
  revocation;
- anvil with the official EAS contracts, written by the official EAS SDK, read by a local Ethereum adapter
  (witness mode): two licences and a stranger's attestation under a schema no mapping covers;
- the brand owner's own Ethereum adapter served over the remote adapter protocol (partner mode, its key);
- two Fabric test peers (two organisations, attestation by both required), Org2's behind a relay.

The first pass runs during an outage of Org2's peer; then the chain reorganises (the stranger's attestation and
licence 2 leave it, licence 3 arrives), the peer comes back and GS1 fixes its mapping; the second pass with
`--retry-quarantined` repairs everything. The store's contents are read back per adapter (credentials, ledger
revocations, quarantine) and `vcgate jobs run` over an entries file gives each line its verdict.

Builds on the fixtures of test_e2e_eas_remote.py (anvil, SDK, served adapter), test_peer_outage.py (peers, relay)
and test_quarantine.py (GS1's mappings)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from ethereum.conftest import DEV_KEYS
from ethereum_adapter.conftest import CHAIN_ID, licence
from fabric_adapter.conftest import ledger, make_config, network_files, peers, write_config  # noqa: F401
from plain_ledger_adapter.conftest import Ledger, sample, serve_ledger

from vcgate.adapters.ethereum import IP_LICENCE_SCHEMA
from vcgate.adapters.fabric.testing import ProductLedger, TestPeer
from vcgate.adapters.plain_ledger import SubmitterKey
from vcgate.gateway import KeyPair

from .conftest import vcgate
from .test_e2e_eas_remote import LICENSEE, ROOT, sdk, service  # noqa: F401
from .test_peer_outage import Relay, relay  # noqa: F401
from .test_quarantine import config_file, write_mapping

pytestmark = [pytest.mark.server, pytest.mark.node, pytest.mark.slow]


@pytest.fixture
def plain(tmp_path: Path) -> Iterator[Ledger]:
    """GS1's registry: a plain ledger served on 127.0.0.1."""
    served = serve_ledger(tmp_path / "plain-ledger")
    try:
        yield served
    finally:
        served.client.close()
        served.server.stop()


def _local_eas_config(tmp_path: Path, service: dict[str, Any], witness: str) -> Path:  # noqa: F811
    """The gateway's own Ethereum adapter on the same chain: the ip-licence mapping in witness mode."""
    doc = yaml.safe_load((ROOT / "adapters/ethereum/mappings/eas-ip-licence.yaml").read_text(encoding="utf-8"))
    doc["id"] = "https://example.org/cbp/eas-ip-licence-witnessed"
    doc["credential"]["issuer"] = {"mode": "witness"}
    (tmp_path / "eas-witness.yaml").write_text(yaml.safe_dump(doc), encoding="utf-8")
    path = tmp_path / "eas-local.yaml"
    schema = {"definition": IP_LICENCE_SCHEMA, "resolver": "0x" + "00" * 20, "revocable": True}
    path.write_text(
        yaml.safe_dump(
            {
                "id": "cbp-eas",
                "chainId": CHAIN_ID,
                "rpcUrl": service["node"].url,
                "finality": {"confirmations": 2},
                "witness": witness,
                "signers": {service["d"].brand_owner: service["brand"].controller},  # the licensor's DID
                "eas": {"address": service["d"].eas.address, "schemas": [{**schema, "mapping": "eas-witness.yaml"}]},
                "rpc": {"retries": 0, "timeout": 5},
            }
        ),
        encoding="utf-8",
    )
    return path


def _per_adapter(db: Path, ledger_ids: dict[str, str]) -> dict[str, tuple[int, int, int]]:
    """Adapter -> (credentials, ledger revocations, quarantined records) in the store."""
    with sqlite3.connect(db) as conn:
        credentials = dict(conn.execute("select source, count(*) from credentials group by source").fetchall())
        revoked = dict(conn.execute("select ledger_id, count(*) from ledger_revocations group by ledger_id").fetchall())
        held = dict(conn.execute("select adapter, count(*) from sync_quarantine group by adapter").fetchall())
    return {
        name: (credentials.get(name, 0), revoked.get(ledger_id, 0), held.get(name, 0))
        for name, ledger_id in ledger_ids.items()
    }


def _licences(db: Path, source: str) -> list[str]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select document from credentials where source = ?", (source,)).fetchall()
    return sorted(json.loads(r[0])["credentialSubject"]["licenseId"] for r in rows)


def test_four_ledgers_outage_reorg_and_mapping_fix_then_verdicts(
    service: dict[str, Any],  # noqa: F811
    plain: Ledger,
    gs1: SubmitterKey,
    ledger: ProductLedger,  # noqa: F811
    peers: list[TestPeer],  # noqa: F811
    network_files: Path,  # noqa: F811
    relay: Relay,  # noqa: F811
    witness: tuple[KeyPair, Path],
    tmp_path: Path,
) -> None:
    pair, key_file = witness
    db = tmp_path / "gateway.sqlite"
    url = f"sqlite:///{db}"

    # GS1's registry: two key licences, one without keyType (mapping 1.0.0 requires it), then a revocation.
    write_mapping(tmp_path / "key-licence.yaml", key_type_default=False)
    kept = plain.append(gs1, sample("key", key="00614141000012"))
    unmapped = sample("key", key="00614141000029")
    del unmapped["keyType"]
    plain.append(gs1, unmapped)
    withdrawn = plain.append(gs1, sample("key", key="00614141000036"))
    plain.revoke(gs1, withdrawn)
    gs1_config = config_file(tmp_path, plain)

    fabric = make_config(
        ledger,
        peers,
        network_files,
        addresses=[peers[0].address, f"127.0.0.1:{relay.port}"],
        attest=True,
        minAttestingOrganizations=2,
        pageSize=50,
    )
    fabric.pop("witness")
    fabric_config = write_config(fabric, network_files / f"e2e-{tmp_path.name}.yaml")

    adds = [
        ("plain-ledger", "--config", str(gs1_config), "--witness", pair.controller),
        ("fabric", "--config", str(fabric_config), "--witness", pair.controller),
        ("ethereum", "--config", str(_local_eas_config(tmp_path, service, pair.controller))),
        ("remote", "--config", str(service["remote"]), "--as", "acme"),
    ]
    ledger_ids = {}
    for add in adds:
        added = vcgate("adapters", "add", *add, "--db", url, "--json")
        assert added.code == 0, added.stdout + added.stderr
        ledger_ids[added.json()["name"]] = added.json()["adapter"]["ledgerId"]
    assert set(ledger_ids) == {"gs1-registry", "acme-products", "cbp-eas", "acme"}
    assert ledger_ids["cbp-eas"] == ledger_ids["acme"] == f"eip155:{CHAIN_ID}"

    # Pass 1, during an outage of Org2's peer.
    relay.stop()
    first = vcgate("sync", "--db", url, "--witness-key", str(key_file), "--no-verify", "--json")
    assert first.code == 1, first.stdout + first.stderr
    counts = first.json()["adapters"]
    assert all(c["errors"] == [] for c in counts.values()), counts
    products = counts["acme-products"]["stored"]
    assert products >= 1
    assert counts["acme-products"]["incomplete"] == products  # attested by Org1 only: held for an upgrade
    deleted = counts["acme-products"]["revocations"]  # the product ledger's deletes revoke earlier products
    assert deleted >= 1
    stranger = "eas/" + service["stranger"]
    for name in ("cbp-eas", "acme"):
        assert (counts[name]["stored"], counts[name]["quarantined"]) == (2, 1), counts[name]["quarantine"]
        assert [(q["locator"], q["code"]) for q in counts[name]["quarantine"]] == [
            (stranger, "ETHEREUM_UNKNOWN_SCHEMA")
        ]
    held = counts["gs1-registry"]["quarantine"]
    assert [(q["stage"], "keyType" in q["reason"]) for q in held] == [("translate", True)]
    assert _per_adapter(db, ledger_ids) == {
        "gs1-registry": (2, 1, 1),
        "acme-products": (products, deleted, products),
        "cbp-eas": (2, 0, 1),
        "acme": (2, 0, 1),
    }
    assert _licences(db, "cbp-eas") == _licences(db, "acme") == ["ACME-LIC-2026-001", "ACME-LIC-2026-002"]

    # The chain reorganises: licence 2 and the stranger's attestation leave it; licence 3 arrives.
    node = service["node"]
    node.rpc("evm_revert", [service["snapshot"]])
    sdk(
        {
            **service["base"],
            "schema": IP_LICENCE_SCHEMA,
            "schemaUid": service["schema"],
            "attesterKey": DEV_KEYS[0],
            "onchain": [{"values": licence(3, LICENSEE), "expirationTime": 0}],
        }
    )
    node.rpc("anvil_mine", ["0x8"])
    relay.start()  # Org2's peer is back
    write_mapping(tmp_path / "key-licence.yaml", key_type_default=True)  # GS1 fixes its mapping and re-registers
    again = vcgate(
        "adapters", "add", "plain-ledger", "--config", str(gs1_config), "--db", url, "--witness", pair.controller
    )
    assert again.code == 0, again.stderr

    second = vcgate("sync", "--db", url, "--witness-key", str(key_file), "--no-verify", "--retry-quarantined", "--json")
    assert second.code == 0, second.stdout + second.stderr
    counts = second.json()["adapters"]
    assert all(c["errors"] == [] for c in counts.values()), counts
    assert counts["acme-products"]["released"] == products
    assert counts["gs1-registry"]["released"] == 1
    assert counts["cbp-eas"]["rewound"] >= 1
    assert counts["acme"]["rewound"] >= 1
    assert _per_adapter(db, ledger_ids) == {
        "gs1-registry": (3, 1, 0),
        "acme-products": (products, deleted, 0),
        "cbp-eas": (2, 0, 0),
        "acme": (2, 0, 0),
    }
    assert _licences(db, "cbp-eas") == _licences(db, "acme") == ["ACME-LIC-2026-001", "ACME-LIC-2026-003"]
    status = vcgate("adapters", "status", "--db", url, "--json")
    assert status.code == 0, status.stdout
    assert {row["name"]: row["quarantine"] for row in status.json()["adapters"]} == {n: [] for n in ledger_ids}
    assert kept < withdrawn
    verdicts = _jobs_run(tmp_path, url, gs1, ledger_ids, anchors={
        "gs1-registry": {"kind": "plain", "logVerifierKey": plain.vkey},
        "acme-products": {"kind": "fabric", "genesisBlockHash": ledger.genesis_hash, "minAttestingOrganizations": 2},
    }, witness=pair.controller)  # fmt: skip
    # Each line's verdict and its reasons, in the linking rules' order, follow from what the store holds: GS1's
    # licences make GS1 (a root of authority) vouch for GTINs 000012 and 000029 (stored only after the mapping
    # fix), the ledger revocation of 000036's licence is seen, and no IPR, manufacturer or invoice credential exists.
    missing = ["IPR_UNKNOWN", "MANUFACTURER_UNKNOWN", "LICENCE_MISSING", "INVOICE_MISSING"]
    assert verdicts == {
        "E2E-2600012-1": ("not_authorized", [*missing, "STATUS_UNDECIDED"]),
        "E2E-2600029-1": ("not_authorized", [*missing, "STATUS_UNDECIDED"]),
        "E2E-2600036-1": ("not_authorized", ["CREDENTIAL_REVOKED", *missing]),
    }


def _jobs_run(
    tmp_path: Path,
    url: str,
    gs1: SubmitterKey,
    ledger_ids: dict[str, str],
    *,
    anchors: dict[str, dict[str, Any]],
    witness: str,
) -> dict[str, tuple[str, list[str]]]:
    """Register GS1 (bound to its ledger key through its did:key document) and the importer, write a policy pinning
    the anchors, run `vcgate jobs run` on one entry per GTIN; entry number -> (verdict, the line's reason codes)."""
    key = gs1.did.removeprefix("did:key:")
    parties = {
        "gs1-us": {
            "id": "gs1-us",
            "did": gs1.did,
            "names": ["GS1 US"],
            "bindings": [
                {
                    "kind": "plain-ledger-key",
                    "match": {"publicKeyMultibase": key},
                    "validFrom": "2020-01-01T00:00:00Z",
                    "proof": {"method": "did-document"},
                }
            ],
        },
        "northwind": {
            "id": "northwind",
            "did": "did:web:northwind-retail.example",
            "names": ["Northwind Retail Imports"],
            "identifiers": [{"scheme": "importer-of-record", "value": "95-481237600"}],
        },
    }
    for name, party in parties.items():
        path = tmp_path / f"{name}.yaml"
        path.write_text(yaml.safe_dump(party), encoding="utf-8")
        added = vcgate("parties", "add", str(path), "--db", url)
        assert added.code == 0, added.stdout + added.stderr
    policy = yaml.safe_load((ROOT / "gateway/policies/default.yaml").read_text(encoding="utf-8"))
    policy["trust"]["anchors"] = {ledger_ids[name]: anchor for name, anchor in anchors.items()}
    policy["trust"]["witness_mode"] = {"accept": True, "witnesses": [witness]}
    policy["trust"]["roots_of_authority"]["gtin_ownership"] = ["gs1-us"]
    (tmp_path / "policy.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")
    entries = [
        {
            "entryNumber": f"E2E-2600{gtin[-3:]}-1",
            "importerOfRecord": "95-481237600",
            "entryDate": "2026-12-01",
            "invoiceNumber": "INV-2026-0001",
            "lines": [{"line": 1, "gtin": gtin, "manufacturerId": "VNACMMAN1HAN", "quantity": 10, "value": "100.00"}],
        }
        for gtin in ("00614141000012", "00614141000029", "00614141000036")
    ]
    (tmp_path / "entries.jsonl").write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    run = vcgate("jobs", "run", str(tmp_path / "entries.jsonl"), "--policy", str(tmp_path / "policy.yaml"), "--db", url)
    assert run.code == 0, run.stdout + run.stderr
    assert "unavailable" not in run.stderr  # every ledger kind here has the gateway's own checker
    db = Path(url.removeprefix("sqlite:///"))
    with sqlite3.connect(db) as conn:
        rows = conn.execute("select verdict, result from entry_results").fetchall()
    out = {}
    for verdict, body in rows:
        result = json.loads(body)
        (line,) = result["lines"]
        out[result["entryNumber"]] = (verdict, [r["code"] for r in line["reasonDetails"]])
    return out
