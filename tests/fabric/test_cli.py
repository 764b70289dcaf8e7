"""``vcgate fabric verify-block`` through typer's CliRunner: JSON shape, readable table, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from vcgate.adapters.fabric import TRANSACTION_CHECKS
from vcgate.adapters.fabric.testing import TestNetwork, blockfile, build_chain, graft_header, header_hash_of
from vcgate.gateway.cli import app

runner = CliRunner()
OWN = "own-network/from-peer"


def test_json_lists_blocks_with_checks(fixtures: Path) -> None:
    files = [str(fixtures / OWN / f"mychannel_block_{i}.block") for i in range(4)]
    result = runner.invoke(app, ["fabric", "verify-block", *files, "--json"])
    assert result.exit_code == 0, result.output
    blocks = json.loads(result.stdout)
    assert [b["block"] for b in blocks] == [0, 1, 2, 3]
    last = blocks[-1]
    assert last["checks"] == {"data_hash": "passed", "previous_hash": "passed", "orderer_signature": "passed"}
    (tx,) = last["transactions"]
    assert tx["tx_id"] == "b33f7d886a9571c5819edeee10ec6c1d0d1d5491874b49a1de83e6f5c081623c"
    assert (tx["type"], tx["chaincode"], tx["function"]) == ("ENDORSER_TRANSACTION", "records", "PutRecord")
    assert (tx["creator_msp"], tx["endorser_msps"], tx["event"]) == ("Org1MSP", ["Org1MSP"], "RecordStored")
    assert tx["writes"] == {"records": ["rec-001"]}
    assert tx["validation_code"] == "VALID"
    assert tx["validation_code_attested"] is False
    assert tx["checks"] == {name: "passed" for name in TRANSACTION_CHECKS}
    assert blocks[0]["ledger_id"] == "fabric:" + blocks[0]["block_hash"][:16]


def test_bad_orderer_signature_exits_1(fixtures: Path) -> None:
    result = runner.invoke(
        app,
        [
            "fabric",
            "verify-block",
            str(fixtures / "fabric-ledgerutil-negative/glued_together_block_8_BAD_ORDERER_SIG.block"),
            "--config",
            str(fixtures / "fabric-ledgerutil-sample_prod/sample_prod_block_0.block"),
            "--json",
        ],
    )
    assert result.exit_code == 1
    (block,) = json.loads(result.stdout)
    assert block["checks"]["orderer_signature"] == "failed"
    assert block["problems"][0]["code"] == "fabric.orderer_signature_invalid"


def test_table_output_names_every_check(fixtures: Path) -> None:
    result = runner.invoke(
        app,
        [
            "fabric",
            "verify-block",
            str(fixtures / OWN / "mychannel_block_0.block"),
            str(fixtures / OWN / "mychannel_block_1.block"),
        ],
    )
    assert result.exit_code == 0, result.output
    for text in (
        "block 1",
        "VERIFIED",
        "_lifecycle.ApproveChaincodeDefinitionForMyOrg",
        "orderer_signature=passed",
        "endorse policy",
        "VALID (recorded)",
        "Org1MSP",
    ):
        assert text in result.stdout


def test_truncated_block_is_a_clear_problem_not_a_traceback(fixtures: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.block"
    cut.write_bytes((fixtures / OWN / "mychannel_block_3.block").read_bytes()[:1000])
    result = runner.invoke(app, ["fabric", "verify-block", str(cut)])
    assert result.exit_code == 1
    assert "fabric.corrupt_block" in result.stderr
    assert "cut.block" in result.stderr
    assert ("Traceback" not in result.output and result.exception is None) or isinstance(result.exception, SystemExit)


def test_blockfile_and_undecided_anchor(tmp_path: Path) -> None:
    network = TestNetwork.create()
    path = tmp_path / "blockfile_000000"
    path.write_bytes(blockfile(build_chain(network, transactions=4, per_block=2)))
    ok = runner.invoke(app, ["fabric", "verify-block", str(path), "--json"])
    assert ok.exit_code == 0, ok.output
    assert [b["block"] for b in json.loads(ok.stdout)] == [0, 1, 2, 3]
    # Without the genesis block there is no anchor: undecided (2), not verified.
    single = tmp_path / "b2.block"
    single.write_bytes(build_chain(network, transactions=1, per_block=1)[-1])
    undecided = runner.invoke(app, ["fabric", "verify-block", str(single), "--json"])
    assert undecided.exit_code == 2
    assert json.loads(undecided.stdout)[0]["checks"]["orderer_signature"] == "error"


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["fabric", "verify-block", str(tmp_path / "nope.block")])
    assert result.exit_code == 2  # a missing input file is an error (2), not a usage error (64)


def test_a_forged_channel_under_a_real_genesis_header_is_refused(fixtures: Path, tmp_path: Path) -> None:
    # A forger's channel (its own CAs and orderer) whose genesis block wears the real genesis header, and whose
    # next blocks link to that real header: only the anchor's data hash gives it away.
    real = (fixtures / "bcverifier-asset-transfer-basic-2.4.7" / "bcv_basic_block_0.block").read_bytes()
    forger = TestNetwork.create(channel="mychannel")
    anchor = tmp_path / "genesis.block"
    anchor.write_bytes(graft_header(forger.genesis_block(), real))
    block1 = forger.block(1, header_hash_of(real), [forger.commit_definition_envelope("basic")])
    chain = tmp_path / "blockfile_000000"
    chain.write_bytes(blockfile([block1]))
    result = runner.invoke(app, ["fabric", "verify-block", str(chain), "--config", str(anchor), "--json"])
    assert result.exit_code == 1, result.output
    assert "fabric.anchor_data_mismatch" in result.stderr
    assert result.stdout == ""
    # The same file as the first block of the list (no --config): never an anchor, its data hash check fails.
    listed = runner.invoke(app, ["fabric", "verify-block", str(anchor), str(chain), "--json"])
    assert listed.exit_code == 1
    genesis, after = json.loads(listed.stdout)
    assert genesis["checks"]["data_hash"] == "failed"
    assert after["checks"]["orderer_signature"] == "error"  # no sound anchor: undecided, not verified


def test_the_anchor_links_to_the_next_block(fixtures: Path, network: TestNetwork, tmp_path: Path) -> None:
    # With --config the genesis block, block 1 must link to it by header hash (it used to be left unchecked).
    real = fixtures / OWN
    ok = runner.invoke(
        app,
        [
            "fabric",
            "verify-block",
            str(real / "mychannel_block_1.block"),
            "--config",
            str(real / "mychannel_block_0.block"),
            "--json",
        ],
    )
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)[0]["checks"]["previous_hash"] == "passed"
    genesis = tmp_path / "g.block"
    genesis.write_bytes(network.genesis_block())
    unlinked = tmp_path / "b1.block"
    unlinked.write_bytes(network.block(1, b"\x02" * 32, [network.commit_definition_envelope("records")]))
    bad = runner.invoke(app, ["fabric", "verify-block", str(unlinked), "--config", str(genesis), "--json"])
    assert bad.exit_code == 1
    (block,) = json.loads(bad.stdout)
    assert block["checks"]["previous_hash"] == "failed"
    assert block["problems"][0]["code"] == "fabric.previous_hash_mismatch"


def test_skipping_a_config_block_leaves_the_block_undecided(fixtures: Path) -> None:
    # Real fabric-samples blocks: #1 and #2 are config updates, #3 was ordered under #2 (the orderers sign that).
    # Judged under the genesis config alone it must not count as verified.
    folder = fixtures / "bcverifier-asset-transfer-basic-2.4.7"
    genesis = str(folder / "bcv_basic_block_0.block")
    skipped = runner.invoke(
        app, ["fabric", "verify-block", str(folder / "bcv_basic_block_3.block"), "--config", genesis, "--json"]
    )
    assert skipped.exit_code == 2, skipped.output
    (block,) = json.loads(skipped.stdout)
    assert block["checks"]["orderer_signature"] == "error"
    assert block["problems"][0]["code"] == "fabric.config_not_replayed"
    replayed = runner.invoke(
        app,
        [
            "fabric",
            "verify-block",
            *(str(folder / f"bcv_basic_block_{n}.block") for n in (1, 2, 3)),
            "--config",
            genesis,
        ],
    )
    assert replayed.exit_code == 0, replayed.output
