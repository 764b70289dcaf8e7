"""Decoding of real blocks: config (MSPs, NodeOUs, policies, consenters), endorser transactions, lifecycle,
and
strict errors on truncated or corrupt input (blocks and peer blockfiles)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from vcgate.adapters.fabric import (
    ChannelState,
    EndorserTransaction,
    FabricDecodeError,
    ImplicitMetaPolicy,
    SignaturePolicy,
    VerificationCache,
    check_block,
    check_blocks,
    decode_block,
    iter_blockfile,
    read_block_file,
    read_blockfile,
    read_blocks,
)
from vcgate.adapters.fabric._lifecycle import definitions_from_writes

OWN = "own-network/from-peer"


def test_config_block_decodes_msps_policies_and_orderer(fixtures: Path) -> None:
    block = read_block_file(fixtures / OWN / "mychannel_block_0.block")
    cfg = block.config
    assert cfg is not None
    assert block.channel_id == "mychannel"
    assert cfg.msp_ids == ("OrdererMSP", "Org1MSP")
    org1 = cfg.msps["Org1MSP"]
    assert len(org1.root_certs) == 1
    assert org1.root_certs[0].startswith(b"-----BEGIN CERTIFICATE-----")
    assert org1.node_ous.enabled
    assert org1.node_ous.peer is not None
    assert org1.node_ous.peer.organizational_unit == "peer"
    assert cfg.policies["/Channel/Orderer/BlockValidation"] == ImplicitMetaPolicy("ANY", "Writers")
    assert cfg.policies["/Channel/Application/LifecycleEndorsement"] == ImplicitMetaPolicy("MAJORITY", "Endorsement")
    endorsement = cfg.policies["/Channel/Application/Org1MSP/Endorsement"]
    assert isinstance(endorsement, SignaturePolicy)
    assert [(p.msp_id, p.role) for p in endorsement.principals] == [("Org1MSP", "peer")]
    assert cfg.orderer is not None
    assert cfg.orderer.consensus_type == "etcdraft"
    assert len(cfg.orderer.consenters) == 1
    assert cfg.orderer.consenters[0].server_tls_cert
    assert cfg.application_capabilities == ("V2_5",)
    assert block.metadata.validation_codes == (0,)


def test_smartbft_config_has_consenters_with_identities(fixtures: Path) -> None:
    block = read_block_file(fixtures / "fabric-orderer-testdata/orderer_consensus_smartbft_testdata_mychannel.block")
    assert block.config is not None
    assert block.config.orderer is not None
    consenters = block.config.orderer.consenters
    assert [c.id for c in consenters] == [1, 2, 3, 4]
    assert all(c.msp_id == "OrdererMSP" and c.identity.startswith(b"-----BEGIN") for c in consenters)
    bv = block.config.policies["/Channel/Orderer/BlockValidation"]
    assert isinstance(bv, SignaturePolicy)
    assert bv.rule.n == 3


def test_idemix_msp_is_decoded_by_name(fixtures: Path) -> None:
    block = read_block_file(fixtures / "fabric-orderer-testdata/orderer_common_cluster_testdata_mychannel.block")
    assert block.config is not None
    assert block.config.msps["Org3MSP"].msp_type == "idemix"


def test_endorser_transaction_fields(fixtures: Path) -> None:
    block = read_block_file(fixtures / OWN / "mychannel_block_3.block")
    tx = block.transactions[0]
    assert tx.tx_id == "b33f7d886a9571c5819edeee10ec6c1d0d1d5491874b49a1de83e6f5c081623c"
    assert tx.creator is not None
    assert tx.creator.msp_id == "Org1MSP"
    content = tx.content
    assert isinstance(content, EndorserTransaction)
    assert (content.chaincode_name, content.function) == ("records", "PutRecord")
    assert content.args[0] == b"rec-001"
    action = content.actions[0]
    assert action.event is not None
    assert action.event.event_name == "RecordStored"
    event = json.loads(action.event.payload)
    assert event["id"] == "rec-001"
    assert event["txId"] == tx.tx_id
    ns = {n.namespace: n for n in action.rwsets}
    assert [w.key for w in ns["records"].writes] == ["rec-001"]
    assert ns["_lifecycle"].reads[0].version == (2, 0)
    assert action.response.status == 200
    assert [e.endorser.msp_id for e in action.endorsements] == ["Org1MSP"]
    assert block.metadata.commit_hash is not None
    assert len(block.metadata.commit_hash) == 32


def test_private_data_blocks_carry_only_hashes(fixtures: Path) -> None:
    block = read_block_file(fixtures / "bcverifier-asset-transfer-private-data-2.4.7/bcv_pdc_block_6.block")
    assert isinstance(block.transactions[0].content, EndorserTransaction)
    ns = next(n for n in block.transactions[0].content.actions[0].rwsets if n.namespace == "private")
    assert ns.writes == ()
    coll = {c.collection: c for c in ns.collections}
    write = coll["assetCollection"].hashed_writes[0]
    assert len(write.key_hash) == 32
    assert len(write.value_hash) == 32
    assert len(coll["assetCollection"].pvt_rwset_hash) == 32


def test_lifecycle_definition_with_signature_policy_and_collections(fixtures: Path) -> None:
    block = read_block_file(fixtures / "bcverifier-asset-transfer-private-data-2.4.7/bcv_pdc_block_5.block")
    content = block.transactions[0].content
    assert isinstance(content, EndorserTransaction)
    writes = next(n for n in content.actions[0].rwsets if n.namespace == "_lifecycle").writes
    definition = definitions_from_writes(writes, (5, 0))["private"]
    assert (definition.sequence, definition.version, definition.validation_plugin) == (1, "1.0", "vscc")
    assert definition.endorsement_policy is not None
    policy = definition.endorsement_policy.signature_policy
    assert policy is not None
    assert {p.msp_id for p in policy.principals} == {"Org1MSP", "Org2MSP"}
    names = {c.name: c for c in definition.collections}
    assert set(names) == {"assetCollection", "Org1MSPPrivateCollection", "Org2MSPPrivateCollection"}
    org1 = names["Org1MSPPrivateCollection"].endorsement_policy
    assert org1 is not None
    assert org1.signature_policy is not None
    assert [p.msp_id for p in org1.signature_policy.principals] == ["Org1MSP"]


@pytest.mark.parametrize(
    ("blockfile", "folder", "prefix"),
    [
        ("fabric-ledgerutil-sample_prod.blockfile_000000", "fabric-ledgerutil-sample_prod", "sample_prod"),
        (
            "bcverifier-asset-transfer-private-data-2.4.7-org1.blockfile_000000",
            "bcverifier-asset-transfer-private-data-2.4.7",
            "bcv_pdc",
        ),
    ],
)
def test_peer_blockfile_matches_single_block_files(fixtures: Path, blockfile: str, folder: str, prefix: str) -> None:
    blocks = read_blockfile(fixtures / "raw-blockfiles" / blockfile)
    assert [b.number for b in blocks] == list(range(len(blocks)))
    for b in blocks:
        single = read_block_file(fixtures / folder / f"{prefix}_block_{b.number}.block")
        assert b.header == single.header
        assert b.data == single.data
        assert b.metadata.raw[:3] == single.metadata.raw[:3]
    assert {r.status for r in check_blocks(blocks)} == {"verified"}
    assert read_blocks(fixtures / "raw-blockfiles" / blockfile)[-1].header == blocks[-1].header


def test_truncated_blockfile_names_offset_and_block(fixtures: Path) -> None:
    data = (fixtures / "raw-blockfiles/fabric-ledgerutil-sample_prod.blockfile_000000").read_bytes()
    with pytest.raises(FabricDecodeError) as info:
        list(iter_blockfile(data[:-100], source="blockfile_000000"))
    assert info.value.problem.code == "fabric.truncated"
    assert "block #7" in info.value.problem.detail
    assert "byte offset" in info.value.problem.detail


def test_corrupt_blockfile_record(fixtures: Path) -> None:
    data = bytearray((fixtures / "raw-blockfiles/fabric-ledgerutil-sample_prod.blockfile_000000").read_bytes())
    data[3] = 0xFF  # block 0's data-hash length prefix (after the record length and number) now claims too much
    with pytest.raises(FabricDecodeError) as info:
        list(iter_blockfile(bytes(data)))
    assert info.value.problem.code == "fabric.corrupt_blockfile"
    assert "block #0" in info.value.problem.detail


def test_not_a_block() -> None:
    with pytest.raises(FabricDecodeError) as info:
        decode_block(b"\xff\xff\xff\xff", source="junk.block")
    assert info.value.problem.code == "fabric.corrupt_block"
    assert "junk.block" in info.value.problem.detail
    with pytest.raises(FabricDecodeError) as info:
        decode_block(b"", source="empty.block")
    assert info.value.problem.code == "fabric.truncated"


_OWN = Path(__file__).resolve().parents[1] / "fixtures/fabric" / OWN
_BLOCK = (_OWN / "mychannel_block_3.block").read_bytes()
_ORIGINAL = decode_block(_BLOCK)


def _state_after_block_2() -> ChannelState:
    blocks = [read_block_file(_OWN / f"mychannel_block_{i}.block") for i in range(3)]
    state = ChannelState.from_config_block(blocks[0])
    cache = VerificationCache()
    for b in blocks:
        state = state.advance(b, check_block(b, state, cache))
    assert check_block(_ORIGINAL, state, cache).status == "verified"  # the unmutated block verifies
    return state


_STATE = _state_after_block_2()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=len(_BLOCK) - 1))
def test_every_truncation_of_a_block_is_a_clear_decode_error(cut: int) -> None:
    # header, data and metadata are each one length-delimited field, so any cut leaves an unparsable field or
    # a
    # missing section: a FabricDecodeError with a stable code, never another exception.
    with pytest.raises(FabricDecodeError) as info:
        decode_block(_BLOCK[:cut], source="cut.block")
    assert info.value.problem.code in {"fabric.truncated", "fabric.corrupt_block"}
    assert "cut.block" in info.value.problem.detail


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=len(_BLOCK) - 1), st.integers(min_value=1, max_value=255))
def test_flipped_byte_never_crashes_and_never_verifies(index: int, mask: int) -> None:
    mutated = bytearray(_BLOCK)
    mutated[index] ^= mask
    try:
        block = decode_block(bytes(mutated))
    except FabricDecodeError as exc:
        code = exc.problem.code
        assert code.startswith("fabric.")
        return
    result = check_block(block, _STATE, VerificationCache())
    # Metadata other than the orderer signature (validation filter, commit hash) is covered by nothing: a flip
    # there leaves the block verifiable, which is exactly why the filter byte is reported as "recorded" only.
    assert result.status != "verified" or block.metadata.raw[2:] != _ORIGINAL.metadata.raw[2:]


def test_counting_blocks_walks_the_frames_without_decoding(fixtures: Path, tmp_path: Path) -> None:
    # The adapter's health check counts blocks this way instead of decoding the whole ledger file.
    from vcgate.adapters.fabric._blockfile import count_blocks

    source = fixtures / "raw-blockfiles/fabric-ledgerutil-sample_prod.blockfile_000000"
    assert count_blocks(source) == len(read_blocks(source)) == 8
    cut = tmp_path / "blockfile_000000"
    cut.write_bytes(source.read_bytes()[:-100])
    with pytest.raises(FabricDecodeError) as info:
        count_blocks(cut)
    assert info.value.problem.code == "fabric.truncated"
    assert "block #7" in info.value.problem.detail
    single = fixtures / "fabric-ledgerutil-sample_prod" / "sample_prod_block_0.block"
    assert count_blocks(single) == 1
