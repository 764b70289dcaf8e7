"""`vcgate plain-ledger init | append | import | get | proof | sth` against a SQLite ledger and a running server."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vcgate.adapters.plain_ledger import InclusionProof, LogKey, PlainLedgerStore, SubmitterKey, check_inclusion
from vcgate.gateway.cli import app

from .conftest import LedgerServer

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout


@pytest.fixture
def ledger(tmp_path: Path) -> tuple[Path, Path, Path]:
    db = tmp_path / "ledger.sqlite"
    code, out = run("plain-ledger", "init", "--db", str(db), "--origin", "cli.example/log", "--json")
    assert code == 0, out
    info = json.loads(out)
    key_file = Path(info["logKeyFile"])
    assert key_file == tmp_path / "ledger.sqlite.logkey.json"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert info["ledgerId"] == LogKey.load(key_file).ledger_id
    assert info["verifierKey"].startswith("cli.example/log+")
    submitter = SubmitterKey.generate("P-256")
    submitter.save(tmp_path / "me.json")
    return db, key_file, tmp_path / "me.json"


def test_init_refuses_to_overwrite(ledger: tuple[Path, Path, Path]) -> None:
    db, _, _ = ledger
    code, _ = run("plain-ledger", "init", "--db", str(db))
    assert code == 64  # the key file exists: usage error, nothing touched
    assert PlainLedgerStore.open(db).tree_size() == 0


def test_append_get_proof_sth(ledger: tuple[Path, Path, Path], tmp_path: Path) -> None:
    db, key_file, me = ledger
    (tmp_path / "e.json").write_text(json.dumps({"recordId": "inv-9", "record": {"qty": 3}}))
    code, out = run("plain-ledger", "append", str(tmp_path / "e.json"), "--key", str(me), "--db", str(db), "--json")
    assert code == 0, out
    receipt = json.loads(out)
    assert (receipt["index"], receipt["treeSize"]) == (0, 1)

    code, out = run("plain-ledger", "get", "0", "--db", str(db), "--json")
    assert code == 0
    assert json.loads(out)["entry"]["recordId"] == "inv-9"

    code, out = run("plain-ledger", "proof", "0", "--db", str(db), "--json")
    assert code == 0
    evidence = json.loads(out)
    result = check_inclusion(
        base64.b64decode(evidence["leaf"]),
        InclusionProof.from_json(evidence),
        evidence["checkpoint"],
        LogKey.load(key_file).verifier,
    )
    assert result.ok, result.to_json()

    code, out = run("plain-ledger", "sth", "--db", str(db), "--json")
    assert code == 0
    head = json.loads(out)
    assert (head["origin"], head["treeSize"]) == ("cli.example/log", 1)
    code, out = run("plain-ledger", "sth", "--db", str(db))
    assert code == 0
    assert out == head["checkpoint"]

    # appending the same record id again is refused (exit 1), and a missing entry is exit 1 too
    code, _ = run("plain-ledger", "append", str(tmp_path / "e.json"), "--key", str(me), "--db", str(db))
    assert code == 1
    code, _ = run("plain-ledger", "get", "5", "--db", str(db))
    assert code == 1


def test_import_csv_and_jsonl(ledger: tuple[Path, Path, Path], tmp_path: Path) -> None:
    db, _, me = ledger
    csv_file = tmp_path / "records.csv"
    csv_file.write_text("recordId,gtin,qty\nr1,09506000134352,5\nr2,09506000134369,7\nr1,dup,1\n")
    code, out = run("plain-ledger", "import", str(csv_file), "--key", str(me), "--db", str(db), "--json")
    assert code == 1  # one row refused
    report = json.loads(out)
    assert report["appended"] == 2
    assert report["treeSize"] == 2
    assert [(r["row"], r["problem"]["code"]) for r in report["refused"]] == [(3, "PLAIN_LEDGER_DUPLICATE_RECORD_ID")]

    jsonl = tmp_path / "records.jsonl"
    jsonl.write_text(
        "\n".join(
            [
                json.dumps({"recordId": "j1", "record": {"a": 1}}),
                json.dumps({"kind": "revocation", "supersedes": "r1", "reason": "superseded"}),
                "",
                json.dumps({"recordId": "j2", "record": {"a": 2}, "issuedAt": "2025-01-01T00:00:00Z"}),
            ]
        )
        + "\n"
    )
    code, out = run("plain-ledger", "import", str(jsonl), "--key", str(me), "--db", str(db), "--json", "--batch", "2")
    assert code == 0, out
    assert json.loads(out) == {"appended": 3, "refused": [], "treeSize": 5}
    with PlainLedgerStore.open(db) as store:
        assert store.get_record("r1").revoked_by == 3
        assert store.get(1).record_id == "r2"
        store.audit()


@pytest.mark.parametrize(
    ("args", "content", "code"),
    [
        (["import", "{file}"], "recordId\n", 0),
        (["import", "{file}", "--id-column", "nope"], "recordId,x\na,1\n", 64),
        (["append", "{file}"], "[1, 2]", 1),
        (["append", "{file}"], "{not json", 1),
    ],
)
def test_usage_and_input_errors(
    ledger: tuple[Path, Path, Path], tmp_path: Path, args: list[str], content: str, code: int
) -> None:
    db, _, me = ledger
    file = tmp_path / ("in.csv" if args[0] == "import" else "in.json")
    file.write_text(content)
    argv = ["plain-ledger", *[a.replace("{file}", str(file)) for a in args], "--key", str(me), "--db", str(db)]
    assert run(*argv)[0] == code


def test_wrong_log_key_or_missing_database(ledger: tuple[Path, Path, Path], tmp_path: Path) -> None:
    db, _, me = ledger
    other = tmp_path / "other.logkey.json"
    LogKey.generate("cli.example/log").save(other)
    (tmp_path / "e.json").write_text(json.dumps({"recordId": "x", "record": {}}))
    code, _ = run(
        "plain-ledger", "append", str(tmp_path / "e.json"), "--key", str(me), "--db", str(db), "--log-key", str(other)
    )
    assert code == 2  # the store refuses a key that is not the ledger's
    code, _ = run("plain-ledger", "sth", "--db", str(tmp_path / "missing.sqlite"))
    assert code == 2


@pytest.mark.server
def test_cli_against_a_running_server(shared_ledger: tuple[LedgerServer, LogKey], tmp_path: Path) -> None:
    server, log_key = shared_ledger
    me = SubmitterKey.generate("Ed25519")
    me.save(tmp_path / "me.json")
    (tmp_path / "e.json").write_text(json.dumps({"recordId": "via-url", "record": {}}))
    code, out = run(
        "plain-ledger",
        "append",
        str(tmp_path / "e.json"),
        "--key",
        str(tmp_path / "me.json"),
        "--url",
        server.url,
        "--json",
    )
    assert code == 0, out
    index = json.loads(out)["index"]
    code, out = run("plain-ledger", "proof", str(index), "--url", server.url, "--json")
    assert code == 0
    evidence = json.loads(out)
    assert check_inclusion(
        base64.b64decode(evidence["leaf"]), InclusionProof.from_json(evidence), evidence["checkpoint"], log_key.verifier
    ).ok
    code, out = run("plain-ledger", "sth", "--url", server.url, "--json")
    assert code == 0
    assert json.loads(out)["ledgerId"] == log_key.ledger_id
