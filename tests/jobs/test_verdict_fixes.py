"""Issue 11's verdict fixes: claims only by the invoice's buyer, verify-entry's claim rule, numbers outside their
domain and hostile nesting give clear errors (never a traceback)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from vcgate.gateway._jobs import JobError, read_entry_file, run_entries
from vcgate.gateway._links import EntryError, parse_entry
from vcgate.gateway._store import Store

from ._world import CHECKED_AT, World, plain_checkers
from .test_cli import FACTORY, vcgate

DEEP = ("[" * 10_000 + "]" * 10_000).encode()


def _qty_row(rows: dict[str, dict[str, Any]], number: str, *, qty: int, date: str, importer: str) -> dict[str, Any]:
    row = copy.deepcopy(rows["quantity_first"])  # INV-QTY lists 100 units; its buyer is Northwind
    row.update(entryNumber=number, entryDate=date, importerOfRecord=importer)
    row["lines"][0]["quantity"] = qty
    return row


def test_a_line_whose_importer_is_not_the_buyer_consumes_nothing(
    world: World, rows: dict[str, dict[str, Any]], store: Store
) -> None:
    foreign = _qty_row(rows, "FX1-0000001-1", qty=60, date="2024-09-01", importer="12-345678900")
    honest = _qty_row(rows, "FX1-0000002-2", qty=60, date="2024-09-03", importer="95-481237600")
    again = _qty_row(rows, "FX1-0000003-3", qty=60, date="2024-09-04", importer="95-481237600")
    first, second, third = run_entries(
        [foreign, honest, again], store, world.policy(), checked_at=CHECKED_AT, checkers=plain_checkers()
    )
    assert first.verdict == "not_authorized"
    assert first.lines[0].reasons[0].code == "IMPORTER_MISMATCH"
    # The foreign importer's 60 units do not count: the honest entry is the first real claim on the invoice.
    assert second.verdict == "authorized", second.to_json()
    quantity = next(s for s in second.lines[0].steps if s.name == "quantity")
    assert quantity.detail == "60 of 100"
    # The buyer's own earlier claims still count.
    assert third.verdict == "not_authorized"
    assert third.lines[0].reasons[0].code == "QUANTITY_EXCEEDS_INVOICE"


def _common(world: World, store_path: Path, tmp_path: Path) -> list[str]:
    policy = tmp_path / "policy.yaml"
    policy.write_text(yaml.safe_dump(dict(world.policy().raw)))
    db = f"sqlite:///{store_path}"
    return ["--policy", str(policy), "--db", db, "--checked-at", "2025-06-01T00:00:00Z", "--checkers", FACTORY]


def test_verify_entry_registers_its_claims(
    world: World, rows: dict[str, dict[str, Any]], store_path: Path, tmp_path: Path
) -> None:
    common = _common(world, store_path, tmp_path)
    early, late = tmp_path / "early.json", tmp_path / "late.json"
    early.write_text(json.dumps(_qty_row(rows, "VE1-0000001-1", qty=60, date="2024-09-01", importer="95-481237600")))
    late.write_text(json.dumps(_qty_row(rows, "VE1-0000002-2", qty=60, date="2024-09-03", importer="95-481237600")))
    # --no-record-claims checks without registering: the later entry still sees the whole invoice.
    dry = vcgate("verify-entry", str(early), *common, "--no-record-claims", "--json")
    assert dry.returncode == 0, dry.stderr
    assert vcgate("verify-entry", str(late), *common, "--no-record-claims").returncode == 0
    first = vcgate("verify-entry", str(early), *common, "--json")
    assert first.returncode == 0, first.stderr
    second = vcgate("verify-entry", str(late), *common, "--json")
    assert second.returncode == 1, second.stdout
    assert json.loads(second.stdout)["lines"][0]["reasons"] == ["QUANTITY_EXCEEDS_INVOICE"]
    # Running the earlier entry again replaces its own claim: still authorized.
    assert vcgate("verify-entry", str(early), *common).returncode == 0


@pytest.mark.parametrize(
    ("quantity", "code"),
    [
        (1e308, "ENTRY_NUMBER_OUT_OF_RANGE"),
        ("1e308", "ENTRY_NUMBER_OUT_OF_RANGE"),
        (float("nan"), "ENTRY_NUMBER_OUT_OF_RANGE"),
        (float("inf"), "ENTRY_NUMBER_OUT_OF_RANGE"),
        (-5, "ENTRY_FIELD_INVALID"),
        (0, "ENTRY_FIELD_INVALID"),
        (2.5, "ENTRY_FIELD_INVALID"),
        ("2.5", "ENTRY_FIELD_INVALID"),
        (2**31, "ENTRY_NUMBER_OUT_OF_RANGE"),
        ("many", "ENTRY_FIELD_INVALID"),
        ([1], "ENTRY_FIELD_INVALID"),
        (True, "ENTRY_FIELD_INVALID"),
    ],
)
def test_quantities_outside_the_domain_are_refused(rows: dict[str, dict[str, Any]], quantity: Any, code: str) -> None:
    row = copy.deepcopy(rows["authorized"])
    row["lines"][0]["quantity"] = quantity
    with pytest.raises(EntryError) as caught:
        parse_entry(row)
    assert caught.value.problem.code == code
    assert caught.value.problem.pointer == "/lines/0/quantity"


def test_out_of_range_numbers_and_hostile_nesting_refuse_a_job_file(rows: dict[str, dict[str, Any]]) -> None:
    huge = copy.deepcopy(rows["authorized"])
    huge["lines"][0]["quantity"] = 1e308
    data = (json.dumps(rows["authorized"]) + "\n" + json.dumps(huge) + "\n").encode()
    with pytest.raises(JobError, match=r"row 2: ENTRY_NUMBER_OUT_OF_RANGE at /lines/0/quantity"):
        read_entry_file("entries.jsonl", data)
    with pytest.raises(JobError, match=r"row 1: ENTRY_TOO_DEEP"):
        read_entry_file("entries.jsonl", DEEP + b"\n")
    csv = "entry_number,importer_of_record,entry_date,invoice_number,line,gtin,quantity\n"
    csv += f"E1,95-481237600,2024-09-02,INV-AUTH,1,{rows['authorized']['lines'][0]['gtin']},1e308\n"
    with pytest.raises(JobError, match="ENTRY_NUMBER_OUT_OF_RANGE"):
        read_entry_file("entries.csv", csv.encode())
    # A clerical slip stays a per-row problem: the job runs the other rows.
    slip = read_entry_file("entries.jsonl", data.split(b"\n")[0] + b"\n{broken\n")
    assert [r.problem.code if r.problem else None for r in slip] == [None, "ENTRY_NOT_JSON"]


def test_cli_gives_clear_errors_not_tracebacks(
    world: World, rows: dict[str, dict[str, Any]], store_path: Path, tmp_path: Path
) -> None:
    common = _common(world, store_path, tmp_path)
    huge = copy.deepcopy(rows["authorized"])
    huge["lines"][0]["quantity"] = 1e308
    entries = tmp_path / "huge.jsonl"
    entries.write_text(json.dumps(huge) + "\n")
    run = vcgate("jobs", "run", str(entries), *common, "--workers", "1", "--no-progress")
    assert run.returncode == 1, run.stderr
    assert "ENTRY_NUMBER_OUT_OF_RANGE" in run.stderr
    assert "Traceback" not in run.stderr

    single = tmp_path / "huge.json"
    single.write_text(json.dumps(huge))
    one = vcgate("verify-entry", str(single), *common)
    assert (one.returncode, "Traceback" in one.stderr) == (1, False), one.stderr
    assert "ENTRY_NUMBER_OUT_OF_RANGE" in one.stderr

    deep = tmp_path / "deep.json"
    deep.write_bytes(DEEP)
    deep_lines = tmp_path / "deep.jsonl"
    deep_lines.write_bytes(DEEP + b"\n")
    for args, code in (
        (("evidence", "check", str(deep)), "INPUT_TOO_DEEP"),
        (("jobs", "run", str(deep_lines), *common, "--workers", "1", "--no-progress"), "ENTRY_TOO_DEEP"),
        (("verify-entry", str(deep), *common), "INPUT_TOO_DEEP"),
    ):
        refused = vcgate(*args)
        assert refused.returncode == 1, (args[0], refused.stderr)
        assert code in refused.stderr
        assert "Traceback" not in refused.stderr
