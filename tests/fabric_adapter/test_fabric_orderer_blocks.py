"""Orderer-side blocks carry no validation code: nothing in them may count as VALID without the peers' word.

An orderer's ledger, an orderer's Deliver and a block whose TRANSACTIONS_FILTER was stripped record no code, so an
MVCC_READ_CONFLICT loser looks exactly like the winner. Before issue 11 the adapter counted such transactions as
VALID (signing the loser and revoking the winner's credential) and the evidence said ``validationCode: "VALID"``.
Here: real orderer-side blocks of the own-network fixture, and in-process peers whose Deliver serves blocks as an
orderer does while their QSCC answers (signed) from the peers' ledgers.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vcgate.adapters.fabric import FabricAdapter, FabricEvidenceChecker, decode_block
from vcgate.adapters.fabric.testing import ProductLedger, TestPeer, header_hash_of, product_value
from vcgate.adapters.sdk import load_adapter
from vcgate.canonical_schema import b64url

from .conftest import AT, FIXTURES, HERE, make_config

pytestmark = pytest.mark.server

GTIN = "00614141000012"
WINNER = product_value(GTIN, "Cordless Drill X200 (rev. B)", version=2)
LOSER = product_value(GTIN, "Cordless Drill X200 (counterfeit)", version=2)
MVCC_READ_CONFLICT = 11


@pytest.fixture(scope="module")
def mvcc_blocks(ledger: ProductLedger) -> list[bytes]:
    """The product channel's genesis and chaincode commit, then product v1 (#2) and, in #3, two updates that both
    read v1: the first commits, the second is the MVCC_READ_CONFLICT loser (as a committing peer records it)."""
    net = ledger.network
    client, both = net.clients["Org1MSP"], list(net.peers.values())

    def put(value: bytes, read: tuple[int, int] | None) -> bytes:
        key = f"product~{GTIN}"
        return net.endorser_envelope(
            client=client,
            endorsers=both,
            chaincode="products",
            function="RegisterProduct",
            args=[key.encode(), value],
            writes={key: value},
            reads={key: read} if read else None,
        )

    blocks = list(ledger.blocks[:2])
    blocks.append(net.block(2, header_hash_of(blocks[-1]), [put(product_value(GTIN, "Cordless Drill X200"), None)]))
    winner, loser = put(WINNER, (2, 0)), put(LOSER, (2, 0))
    blocks.append(net.block(3, header_hash_of(blocks[-1]), [winner, loser], validation_codes=[0, MVCC_READ_CONFLICT]))
    return blocks


@pytest.fixture(scope="module")
def orderer_side_peers(ledger: ProductLedger, mvcc_blocks: list[bytes]) -> Iterator[list[TestPeer]]:
    started = [TestPeer(ledger.network, m, mvcc_blocks, deliver_codes=False).start() for m in ("Org1MSP", "Org2MSP")]
    yield started
    for peer in started:
        peer.stop()


def _sync(config: dict[str, Any]) -> tuple[FabricAdapter, list[Any]]:
    adapter = load_adapter("fabric").create(config)
    assert isinstance(adapter, FabricAdapter)
    records = [r for page in adapter.records() for r in page.records]
    return adapter, records


def test_orderer_deliver_blocks_count_only_with_attested_codes(
    ledger: ProductLedger, orderer_side_peers: list[TestPeer], network_files: Path
) -> None:
    config = make_config(ledger, orderer_side_peers, network_files)
    adapter, records = _sync(config)
    try:
        raw = {r.locator: r.raw for r in records if r.kind != "revocation"}
        # The loser is neither signed nor allowed to revoke the winner; the peers' signed answers decide.
        assert LOSER not in raw.values()
        assert raw["3/0/products/kv/product~00614141000012"] == WINNER
        (revocation,) = [r for r in records if r.kind == "revocation"]
        assert revocation.locator == "3/0/products/kv/product~00614141000012#supersedes"
        (skipped,) = adapter.skipped
        assert (skipped.block, skipped.tx_index) == (3, 1)
        assert "MVCC_READ_CONFLICT" in skipped.reason
        # Nothing was recorded: the evidence says so instead of claiming VALID, and checks through the attestations.
        winner = next(r for r in records if r.locator == "3/0/products/kv/product~00614141000012")
        assert winner.proof_material["validationCode"] == "NOT_RECORDED"
        assert len(winner.proof_material["validationAttestations"]) == 2
        credential = adapter.translate(winner).to_json()
        anchor = {"genesisBlockHash": ledger.genesis_hash, "minAttestingOrganizations": 2}
        result = FabricEvidenceChecker().check(credential, credential["evidence"][0], anchor, at=AT)
        assert result.status == "verified", result.to_json()
    finally:
        adapter.close()  # type: ignore[attr-defined]


def test_without_enough_attesting_organisations_nothing_counts(
    ledger: ProductLedger, orderer_side_peers: list[TestPeer], network_files: Path
) -> None:
    for extra in ({"attest": False}, {"minAttestingOrganizations": 3}):
        adapter, records = _sync(make_config(ledger, orderer_side_peers, network_files, **extra))
        adapter.close()  # type: ignore[attr-defined]
        assert records == []
        assert [(s.block, s.tx_index) for s in adapter.skipped] == [(2, 0), (3, 0), (3, 1)]
        # Not even the _lifecycle commit of block 1 counted: without its definition no policy can be met.
        assert all("fabric.chaincode_definition_unknown" in s.reason for s in adapter.skipped)


# -- the real own-network fixture: the same channel read from the orderer and from the peer ------------------------


def _fixture_adapter(side: str, files: list[Path] | None = None) -> FabricAdapter:
    folder = FIXTURES / "own-network" / side
    count = len(list(folder.glob("mychannel_block_*.block")))
    genesis = decode_block((folder / "mychannel_block_0.block").read_bytes())
    files = files or [folder / f"mychannel_block_{n}.block" for n in range(count)]
    adapter = load_adapter("fabric").create(
        {
            "configDir": str(HERE),
            "channel": "mychannel",
            "genesisBlockHash": genesis.header.hash().hex(),
            "blockFiles": [str(f) for f in files],
            "mappings": [{"mapping": "mappings/ledger-record.yaml", "chaincode": "records", "keys": "rec-*"}],
            "witness": "did:web:cbp.example",
        }
    )
    assert isinstance(adapter, FabricAdapter)
    return adapter


def test_real_orderer_blockfiles_yield_no_credentials() -> None:
    from_orderer = _fixture_adapter("from-orderer")
    assert [r for page in from_orderer.records() for r in page.records] == []
    (skipped,) = from_orderer.skipped
    assert skipped.block == 3
    assert skipped.tx_id == "b33f7d886a9571c5819edeee10ec6c1d0d1d5491874b49a1de83e6f5c081623c"
    # The chaincode definition (block 2, no code recorded either) was not replayed, so no policy can be met.
    assert "fabric.chaincode_definition_unknown" in skipped.reason
    # The peer's blocks 0-2 (codes recorded) and the orderer's copy of block 3 (none): the record's own code is
    # what is missing now.
    peer, orderer = FIXTURES / "own-network" / "from-peer", FIXTURES / "own-network" / "from-orderer"
    mixed = _fixture_adapter(
        "from-peer", [*(peer / f"mychannel_block_{n}.block" for n in range(3)), orderer / "mychannel_block_3.block"]
    )
    assert [r for page in mixed.records() for r in page.records] == []
    (skipped,) = mixed.skipped
    assert skipped.block == 3
    assert "no validation code recorded" in skipped.reason
    # The peer's copy of the same channel records VALID and yields the record.
    from_peer = _fixture_adapter("from-peer")
    assert [r.locator for page in from_peer.records() for r in page.records] == [
        "3/0/records/kv/rec-001",
        "4/0/records/kv/rec-002",
        "5/0/records/kv/rec-003",
    ]


def test_a_stripped_filter_is_not_a_recorded_valid_even_when_unsafe() -> None:
    # The peer's evidence for rec-001, with its block swapped for the orderer's copy of block 3 (same header, same
    # orderer signature, no TRANSACTIONS_FILTER): even the unsafe switch must not read "no code" as VALID.
    adapter = _fixture_adapter("from-peer")
    record = next(iter(adapter.records())).records[0]
    credential = adapter.translate(record).to_json()
    anchor = {"genesisBlockHash": adapter.genesis_block_hash, "unsafeAcceptRecordedValidationCode": True}
    checker = FabricEvidenceChecker()
    assert checker.check(credential, credential["evidence"][0], anchor, at=AT).status == "verified"
    forged = copy.deepcopy(credential)
    orderer_block = (FIXTURES / "own-network" / "from-orderer" / "mychannel_block_3.block").read_bytes()
    assert decode_block(orderer_block).metadata.validation_codes in (None, ())
    forged["evidence"][0]["proofMaterial"]["block"] = b64url(orderer_block)
    result = checker.check(forged, forged["evidence"][0], anchor, at=AT)
    assert result.status == "invalid"
    assert result.check("fabric.block").status.value == "passed"  # the orderer's copy is a sound block
    assert result.check("fabric.validation_code").problems[0].code == "fabric.validation_code_unrecorded"
