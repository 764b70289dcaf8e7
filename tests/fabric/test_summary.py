"""Table-driven: every real block in tests/fixtures/fabric decodes and checks exactly as SUMMARY.txt says.

SUMMARY.txt (written alongside the fixtures) gives per file: block number, timestamp, the transaction type
with its
chaincode, function, creator and endorser MSPs, keys written (the first three per namespace), event and
validation
code, or the config's sequence, MSPs, consensus and application capabilities; and the checks that must fail.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from vcgate.adapters.fabric import BlockResult, check_blocks, read_block_file

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "fabric"
_CHECK_NAMES = {"orderer_sig": "orderer_signature", "data_hash": "data_hash"}


@dataclass(frozen=True)
class Line:
    path: str
    number: int
    size: int
    timestamp: str
    kind: str
    detail: str
    checks_failed: list[str]


def _parse() -> list[Line]:
    out = []
    for raw in (FIXTURES / "SUMMARY.txt").read_text().splitlines():
        if not raw.strip():
            continue
        path, number, size, ts, what, failed = (p.strip() for p in raw.split(" | "))
        m = re.fullmatch(r"(\w+)(?:\[(.*)\]|\((.*)\))?", what)
        assert m, what
        failed_list = [] if failed == "checks_failed=none" else ast.literal_eval(failed.split("=", 1)[1])
        out.append(
            Line(
                path=path,
                number=int(number.lstrip("#")),
                size=int(size.rstrip(" B")),
                timestamp=ts.removeprefix("ts="),
                kind=m.group(1),
                detail=m.group(2) or m.group(3) or "",
                checks_failed=[_CHECK_NAMES[c] for c in failed_list],
            )
        )
    return out


LINES = _parse()


def _context(line: Line) -> tuple[list[str], str | None]:
    """The files verified before this one (in chain order, its own folder) and the anchor (--config),
    if any."""
    folder = line.path.rsplit("/", 1)[0]
    if folder == "fabric-ledgerutil-negative":
        if "glued_together" in line.path:
            return [line.path], "fabric-ledgerutil-sample_prod/sample_prod_block_0.block"
        return [line.path], None
    if folder == "fabric-orderer-testdata":
        return [line.path], None
    same = sorted((x for x in LINES if x.path.rsplit("/", 1)[0] == folder), key=lambda x: x.number)
    return [x.path for x in same if x.number <= line.number], None


_CACHE: dict[tuple[tuple[str, ...], str | None], list[BlockResult]] = {}


def _result(line: Line) -> BlockResult:
    files, anchor = _context(line)
    key = (tuple(files), anchor)
    if key not in _CACHE:
        blocks = [read_block_file(FIXTURES / f) for f in files]
        config = read_block_file(FIXTURES / anchor) if anchor else None
        _CACHE[key] = check_blocks(blocks, config_block=config)
    return _CACHE[key][-1]


def _parse_writes(text: str) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    public: dict[str, list[str]] = {}
    private: dict[str, list[str]] = {}
    for item in ast.literal_eval(text):
        ns, _, rest = item.partition(":")
        if rest.startswith("pvt"):
            private[ns] = ast.literal_eval(rest[3:])
        else:
            public[ns] = ast.literal_eval(rest)
    return public, private


def test_summary_covers_every_block_file() -> None:
    listed = {line.path for line in LINES}
    on_disk = {
        str(p.relative_to(FIXTURES))
        for p in FIXTURES.rglob("*")
        if p.suffix in (".block", ".pb") and "processedtx" not in p.name
    }
    assert listed == on_disk
    assert len(LINES) == 49


@pytest.mark.parametrize("line", LINES, ids=[line.path for line in LINES])
def test_block_matches_summary(line: Line) -> None:
    assert (FIXTURES / line.path).stat().st_size == line.size
    result = _result(line)
    assert result.number == line.number
    assert len(result.transactions) == 1
    tx = result.transactions[0]
    assert tx.type == line.kind
    assert tx.timestamp == line.timestamp
    assert result.failed_checks() == line.checks_failed

    if line.kind == "CONFIG":
        fields = dict(re.findall(r"(\w+)=(\[[^\]]*\]|[^,]+)", line.detail))
        assert result.config is not None
        assert result.config.sequence == int(fields["seq"])
        assert set(result.config.msp_ids) == set(ast.literal_eval(fields["msps"]))
        assert result.config.orderer is not None
        assert result.config.orderer.consensus_type == fields["consensus"]
        assert list(result.config.application_capabilities) == ast.literal_eval(fields["app_caps"])
    elif line.kind == "ENDORSER_TRANSACTION":
        m = re.fullmatch(
            r"(?P<cc>[^.]+)\.(?P<fn>\S+) by (?P<creator>\S+), endorsers=(?P<endorsers>\[[^\]]*\]), "
            r"writes=(?P<writes>\[.*\])(?: event=(?P<event>\S+))?, code=(?P<code>\w+)",
            line.detail,
        )
        assert m, line.detail
        assert tx.chaincode == m["cc"]
        assert tx.function == m["fn"]
        assert tx.creator_msp == m["creator"]
        assert list(tx.endorser_msps) == sorted(ast.literal_eval(m["endorsers"]))
        public, private = _parse_writes(m["writes"])
        # SUMMARY lists at most the first three keys / collections of each namespace.
        assert {ns for ns, _ in tx.writes} == set(public)
        for ns, keys in tx.writes:
            assert list(keys[:3]) == public[ns]
        assert {ns for ns, _ in tx.private_writes} == set(private)
        for ns, colls in tx.private_writes:
            assert list(colls[:3]) == private[ns]
        assert tx.event_name == (m["event"] or "")
        assert tx.validation_code == (None if m["code"] == "None" else m["code"])
        assert tx.validation_code_attested is False  # recorded only: the filter byte is signed by nobody
    else:
        assert line.kind == "ORDERER_TRANSACTION"

    if not line.checks_failed and "fabric-orderer-testdata" not in line.path:
        # Everything replayed from a config anchor: every check decided, nothing left as error.
        assert result.status == "verified", [(c.name, c.problem) for t in result.transactions for c in t.checks]


def test_negative_fixtures_fail_for_the_stated_reason() -> None:
    glued = next(x for x in LINES if "glued_together" in x.path)
    check = _result(glued).check("orderer_signature")
    assert check.status == "failed"
    assert check.problem is not None
    assert check.problem.code == "fabric.orderer_signature_invalid"
    corrupted = next(x for x in LINES if "CORRUPTED_DATAHASH" in x.path)
    check = _result(corrupted).check("data_hash")
    assert check.status == "failed"
    assert check.problem is not None
    assert check.problem.code == "fabric.data_hash_mismatch"


def test_orderer_transaction_without_anchor_is_undecided_not_verified() -> None:
    line = next(x for x in LINES if x.kind == "ORDERER_TRANSACTION")
    result = _result(line)
    assert result.status == "error"
    assert result.check("orderer_signature").status == "error"
    problem = result.check("orderer_signature").problem
    assert problem is not None
    assert problem.code == "fabric.no_channel_config"


@pytest.mark.parametrize(
    ("folder", "prefix", "count"),
    [
        ("bcverifier-asset-transfer-basic-2.4.7", "bcv_basic", 10),
        ("bcverifier-asset-transfer-private-data-2.4.7", "bcv_pdc", 11),
    ],
)
def test_data_hashes_match_blockchain_verifier_expectations(folder: str, prefix: str, count: int) -> None:
    import json

    expected = json.loads((FIXTURES / folder / f"{prefix}.config.json").read_text())["hashes"]
    blocks = [read_block_file(FIXTURES / folder / f"{prefix}_block_{i}.block") for i in range(count)]
    results = check_blocks(blocks)
    assert [r.data_hash for r in results] == expected
    # hash chain: each header links to the previous header's hash, and the ledger id is the genesis hash
    # prefix
    assert all(r.check("previous_hash").status == "passed" for r in results)
    assert {r.ledger_id for r in results} == {"fabric:" + results[0].block_hash[:16]}
    assert results[1].previous_hash == results[0].block_hash
