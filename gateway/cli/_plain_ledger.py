"""``vcgate plain-ledger``: init | append | import | get | proof | sth | serve — a thin shell over
:mod:`vcgate.adapters.plain_ledger`.

The ledger is reached either directly through its database (``--db PATH|URL``, default ``plain-ledger.sqlite``, or
``$VCGATE_PLAIN_LEDGER_DB``) or through a running server (``--url http://127.0.0.1:8088``). Writing directly needs
the log key file (``--log-key``, default ``<db file>.logkey.json`` next to a SQLite file). Exit codes: 0 success,
1 refused (bad entry, unknown index), 2 error (database or server unavailable), 64 usage.
"""

from __future__ import annotations

import base64
import csv
import io
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from vcgate.adapters.plain_ledger import (
    MAX_ENTRY_SIZE,
    EntryError,
    InclusionProof,
    LedgerClientError,
    LedgerEntry,
    LedgerRequestError,
    LogKey,
    NoteVerifier,
    PlainLedgerClient,
    PlainLedgerStore,
    StoreError,
    SubmitterKey,
    database_url,
    open_checkpoint,
    parse_json_strict,
    serve,
)
from vcgate.canonical_schema import VcgateError

from ._common import EXIT_ERROR, EXIT_INVALID, EXIT_OK, EXIT_USAGE, require_file, unreadable
from ._common import print_json as _print_json

DEFAULT_DB = "plain-ledger.sqlite"

plain_ledger_app = typer.Typer(no_args_is_help=True, help="The plain ledger: a signed, append-only transparency log.")
out = Console(emoji=False, highlight=False, soft_wrap=True)
err = Console(stderr=True, emoji=False, highlight=False)

DbOption = Annotated[
    str,
    typer.Option("--db", envvar="VCGATE_PLAIN_LEDGER_DB", help="SQLite file or SQLAlchemy URL of the ledger."),
]
LogKeyOption = Annotated[
    Path | None,
    typer.Option(
        "--log-key",
        envvar="VCGATE_PLAIN_LEDGER_LOG_KEY",
        help="Log key file (default: <db file>.logkey.json next to a SQLite file).",
    ),
]
UrlOption = Annotated[str | None, typer.Option("--url", help="Use a running ledger server instead of the database.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]


def _fail(code: int, message: str) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _log_key_path(db: str, log_key: Path | None) -> Path:
    if log_key is not None:
        return log_key
    if "://" in db:
        _fail(EXIT_USAGE, "--log-key is required when --db is a URL")
    return Path(db).expanduser().with_name(Path(db).name + ".logkey.json")


def _open_store(db: str, log_key: Path | None, *, writable: bool) -> PlainLedgerStore:
    if not writable and "://" not in db and not Path(db).expanduser().is_file():
        # SQLite would create an empty database file: a read-only command never creates files.
        unreadable(db, "no such ledger database (create one with `vcgate plain-ledger init`)")
    if writable:
        require_file(_log_key_path(db, log_key), "log key file")
    try:
        key = LogKey.load(_log_key_path(db, log_key)) if writable else None
        return PlainLedgerStore.open(db, key)
    except VcgateError as exc:
        _fail(EXIT_ERROR if isinstance(exc, StoreError) else EXIT_USAGE, str(exc))


def _load_submitter(path: Path) -> SubmitterKey:
    require_file(path, "key file")
    try:
        return SubmitterKey.load(path)
    except VcgateError as exc:
        _fail(EXIT_USAGE, str(exc))


@plain_ledger_app.command("init")
def init(
    db: DbOption = DEFAULT_DB,
    log_key: LogKeyOption = None,
    origin: Annotated[str | None, typer.Option(help="Checkpoint origin / note key name (default derived).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a ledger: a new Ed25519 log key file (0600) and the database with its empty signed checkpoint."""
    key_path = _log_key_path(db, log_key)
    try:
        key = LogKey.generate(origin)
        key.save(key_path)
    except VcgateError as exc:
        _fail(EXIT_USAGE, str(exc))
    except OSError as exc:
        _fail(EXIT_USAGE, f"cannot write {key_path}: {exc.strerror}")
    try:
        PlainLedgerStore.create(db, key).close()
    except StoreError as exc:
        key_path.unlink()
        _fail(EXIT_ERROR, str(exc))
    info = {
        "ledgerId": key.ledger_id,
        "origin": key.origin,
        "verifierKey": key.verifier.to_vkey(),
        "database": database_url(db),
        "logKeyFile": str(key_path),
    }
    if as_json:
        _print_json(info)
    else:
        out.print(
            f"created {info['database']}\nledger id     {key.ledger_id}\nverifier key  "
            f"{info['verifierKey']}\nlog key file  {key_path} (secret, 0600)"
        )


class _RowError(VcgateError):
    """An input row cannot become an entry."""


def _sign(document: Any, key: SubmitterKey, where: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise _RowError(f"{where}: an entry is a JSON object")
    document.setdefault("kind", "record")
    return key.sign_entry(document)


def _append(
    signed: list[dict[str, Any]],
    db: str,
    log_key: Path | None,
    url: str | None,
    store: PlainLedgerStore | None = None,
) -> list[dict[str, Any]]:
    """Append signed entries; one receipt or ``{"problem": ...}`` per entry."""
    if url is not None:
        try:
            with PlainLedgerClient(url, timeout=60.0) as client:
                return client.append_batch(signed)
        except LedgerClientError as exc:
            _fail(EXIT_ERROR if exc.status is None or exc.status >= 500 else EXIT_INVALID, str(exc))
    assert store is not None
    results: list[dict[str, Any] | None] = [None] * len(signed)
    valid: list[tuple[int, LedgerEntry]] = []
    for i, doc in enumerate(signed):
        try:
            valid.append((i, LedgerEntry.from_json(doc)))
        except EntryError as exc:
            results[i] = {"problem": exc.problem.to_json()}
    try:
        outcomes = store.append_batch([e for _, e in valid])
    except StoreError as exc:
        _fail(EXIT_ERROR, str(exc))
    for (i, _), outcome in zip(valid, outcomes, strict=True):
        results[i] = (
            {"problem": outcome.problem.to_json()} if isinstance(outcome, LedgerRequestError) else outcome.to_json()
        )
    return [r for r in results if r is not None]


@plain_ledger_app.command("append")
def append(
    file: Annotated[str, typer.Argument(help="Unsigned entry (JSON object; kind defaults to record), - for stdin.")],
    key: Annotated[Path, typer.Option("--key", "-k", help="Submitter key file (Multikey JSON).")],
    db: DbOption = DEFAULT_DB,
    log_key: LogKeyOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Sign an entry with the submitter's key and append it; prints the receipt (index, checkpoint)."""
    submitter = _load_submitter(key)
    try:
        raw = sys.stdin.buffer.read() if file == "-" else Path(file).read_bytes()
    except OSError as exc:
        unreadable(file, exc.strerror)
    try:
        signed = _sign(parse_json_strict(raw), submitter, file)
    except (EntryError, _RowError) as exc:
        _fail(EXIT_INVALID, str(exc))
    store = None if url else _open_store(db, log_key, writable=True)
    try:
        result = _append([signed], db, log_key, url, store)[0]
    finally:
        if store is not None:
            store.close()
    if "problem" in result:
        problem = result["problem"]
        if as_json:
            _print_json(result)
        _fail(EXIT_INVALID, f"{problem['code']}: {problem['title']} ({problem['detail']})")
    if as_json:
        _print_json(result)
    else:
        out.print(f"appended entry {result['index']} (tree size {result['treeSize']}, logged {result['loggedAt']})")


def _rows(path: Path, id_column: str) -> Iterator[dict[str, Any]]:
    """Unsigned entries from CSV (one record per row) or JSON Lines (one entry object per line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        unreadable(path, exc.strerror)
    except UnicodeDecodeError as exc:
        _fail(EXIT_USAGE, f"cannot read {path}: {exc}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or id_column not in reader.fieldnames:
            _fail(EXIT_USAGE, f"{path}: the CSV header has no {id_column!r} column (see --id-column)")
        for row in reader:
            record = {k: v for k, v in row.items() if k != id_column and k is not None}
            yield {"kind": "record", "recordId": row[id_column], "record": record}
    elif suffix in (".jsonl", ".ndjson"):
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                value = parse_json_strict(line, max_size=MAX_ENTRY_SIZE)
            except EntryError as exc:
                _fail(EXIT_USAGE, f"{path}:{number}: {exc}")
            if not isinstance(value, dict):
                _fail(EXIT_USAGE, f"{path}:{number}: each line is a JSON object")
            yield value
    else:
        _fail(EXIT_USAGE, f"{path}: import reads .csv or .jsonl files")


@plain_ledger_app.command("import")
def import_entries(
    file: Annotated[Path, typer.Argument(help="A .csv (one record per row) or .jsonl (one entry per line) file.")],
    key: Annotated[Path, typer.Option("--key", "-k", help="Submitter key file (Multikey JSON).")],
    id_column: Annotated[str, typer.Option(help="CSV column holding the record id.")] = "recordId",
    batch: Annotated[int, typer.Option(min=1, max=1000, help="Entries per commit.")] = 500,
    db: DbOption = DEFAULT_DB,
    log_key: LogKeyOption = None,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Sign and append every row of a CSV or JSON Lines file, in batches (one durable commit per batch)."""
    submitter = _load_submitter(key)
    try:
        signed = [_sign(row, submitter, f"{file} row {n}") for n, row in enumerate(_rows(file, id_column), 1)]
    except _RowError as exc:
        _fail(EXIT_USAGE, str(exc))
    store = None if url else _open_store(db, log_key, writable=True)
    results: list[dict[str, Any]] = []
    try:
        with Progress(
            TextColumn("importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=err,
            disable=as_json,
        ) as progress:
            task = progress.add_task("import", total=len(signed))
            for start in range(0, len(signed), batch):
                chunk = signed[start : start + batch]
                results.extend(_append(chunk, db, log_key, url, store))
                progress.advance(task, len(chunk))
    finally:
        if store is not None:
            store.close()
    refused = [(n, r["problem"]) for n, r in enumerate(results, 1) if "problem" in r]
    appended = [r for r in results if "problem" not in r]
    if as_json:
        _print_json(
            {
                "appended": len(appended),
                "refused": [{"row": n, "problem": p} for n, p in refused],
                "treeSize": max((r["treeSize"] for r in appended), default=None),
            }
        )
    else:
        out.print(f"appended {len(appended)} entries, refused {len(refused)}")
        for n, problem in refused:
            out.print(f"  row {n}: {problem['code']}: {problem['detail']}")
    raise typer.Exit(EXIT_INVALID if refused else EXIT_OK)


@plain_ledger_app.command("get")
def get(
    index: Annotated[int, typer.Argument(min=0, help="Entry index.")],
    db: DbOption = DEFAULT_DB,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show the entry at INDEX (its signed entry, log time and revocation state)."""
    if url is not None:
        try:
            with PlainLedgerClient(url) as client:
                remote = client.get(index)
        except LedgerClientError as exc:
            _fail(EXIT_INVALID if exc.status == 404 else EXIT_ERROR, str(exc))
        value: dict[str, Any] = {
            "index": remote.index,
            "entry": dict(remote.entry),
            "loggedAt": remote.logged_at,
            "kind": remote.kind,
            "recordId": remote.record_id,
            "revokedBy": remote.revoked_by,
        }
    else:
        with _open_store(db, None, writable=False) as store:
            try:
                value = store.get(index).to_json()
            except LedgerRequestError as exc:
                _fail(EXIT_INVALID, str(exc))
    if as_json:
        _print_json(value)
    else:
        revoked = f", revoked by entry {value['revokedBy']}" if value.get("revokedBy") is not None else ""
        out.print(f"entry {value['index']} ({value['kind']}, logged {value['loggedAt']}{revoked})")
        out.print(json.dumps(value["entry"], indent=2, ensure_ascii=False))


@plain_ledger_app.command("proof")
def proof(
    index: Annotated[int, typer.Argument(min=0, help="Entry index.")],
    size: Annotated[int | None, typer.Option(min=1, help="Tree size (default: the latest checkpoint).")] = None,
    db: DbOption = DEFAULT_DB,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the evidence for one entry: leaf bytes, inclusion proof and the signed checkpoint it leads to."""
    try:
        if url is not None:
            with PlainLedgerClient(url) as client:
                note = client.checkpoint() if size is None else client.checkpoint_at(size)
                info = client.info()
                verifier_key = str(info["verifierKey"])
                checkpoint = open_checkpoint(note, NoteVerifier.from_vkey(verifier_key))
                inclusion: InclusionProof = client.inclusion_proof(index, checkpoint.size)
                leaf = client.get(index).leaf
        else:
            with _open_store(db, None, writable=False) as store:
                note = store.latest_checkpoint() if size is None else store.checkpoint(size)
                checkpoint = open_checkpoint(note, store.verifier)
                inclusion = store.inclusion_proof(index, checkpoint.size)
                leaf = store.get(index).leaf
                verifier_key = store.verifier.to_vkey()
    except (LedgerRequestError, LedgerClientError) as exc:
        _fail(EXIT_INVALID, str(exc))
    except VcgateError as exc:
        _fail(EXIT_ERROR, str(exc))
    value = {
        **inclusion.to_json(),
        "leaf": base64.b64encode(leaf).decode("ascii"),
        "checkpoint": note,
        "verifierKey": verifier_key,
    }
    if as_json:
        _print_json(value)
    else:
        out.print(f"entry {index} in tree of size {inclusion.tree_size}; audit path:")
        for h in value["hashes"]:
            out.print(f"  {h}")
        sys.stdout.write(note)


@plain_ledger_app.command("sth")
def sth(
    db: DbOption = DEFAULT_DB,
    url: UrlOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print the latest signed tree head (a C2SP checkpoint note), verified against the log key."""
    try:
        if url is not None:
            with PlainLedgerClient(url) as client:
                note, info = client.checkpoint(), client.info()
            verifier = NoteVerifier.from_vkey(str(info["verifierKey"]))
            ledger_id = str(info["ledgerId"])
        else:
            with _open_store(db, None, writable=False) as store:
                note, verifier, ledger_id = store.latest_checkpoint(), store.verifier, store.ledger_id
        checkpoint = open_checkpoint(note, verifier)
    except VcgateError as exc:
        _fail(EXIT_ERROR, str(exc))
    if as_json:
        _print_json(
            {
                "ledgerId": ledger_id,
                "origin": checkpoint.origin,
                "treeSize": checkpoint.size,
                "rootHash": base64.b64encode(checkpoint.root_hash).decode("ascii"),
                "checkpoint": note,
                "verifierKey": verifier.to_vkey(),
            }
        )
    else:
        sys.stdout.write(note)


@plain_ledger_app.command("serve")
def serve_command(
    db: DbOption = DEFAULT_DB,
    log_key: LogKeyOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on (expose beyond loopback deliberately).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(min=1, max=65535, help="TCP port.")] = 8088,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve the ledger's HTTP API with uvicorn (group-committed durable appends, proofs, checkpoints)."""
    store = _open_store(db, log_key, writable=True)
    try:
        serve(store, host=host, port=port, log_level=log_level)
    finally:
        store.close()
