"""The ``vcgate`` command line: a thin shell over the library.

Exit codes (every command): 0 success / verified, 1 invalid (the input is wrong), 2 error (could not decide:
a DID unresolvable, a ledger unreachable), 64 usage (bad arguments or unreadable files, as sysexits' EX_USAGE).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
import typer.exceptions
from rich.console import Console
from rich.table import Table

from vcgate.canonical_schema import VcgateError

from .._demo import demo_command
from ..verification._dids import DidResolver
from ..verification._keys import KeyPair
from ..verification._policy import Policy
from ..verification._proofs import SUITES, sign
from ..verification._verify import Verifier

if TYPE_CHECKING:
    from vcgate.adapters.sdk import EvidenceChecker
from ._adapters import adapters_app
from ._api import clients_app, serve
from ._common import EXIT_ERROR, EXIT_INVALID, EXIT_OK, EXIT_USAGE, print_json, usage_error
from ._common import instant_or_now as parse_instant
from ._conformance import conformance_app
from ._evidence import evidence_app
from ._fabric import fabric_app
from ._jobs import register_jobs_commands
from ._mappings import mappings_app
from ._plain_ledger import plain_ledger_app
from ._users import users_app
from ._workflows import workflows_app

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="vcgate: ledger records as W3C verifiable credentials, verified and linked for customs.",
)
keys_app = typer.Typer(no_args_is_help=True, help="Signing keys.")
app.add_typer(keys_app, name="keys")
app.add_typer(adapters_app, name="adapters")
app.add_typer(plain_ledger_app, name="plain-ledger")
app.add_typer(fabric_app, name="fabric")
register_jobs_commands(app)
app.add_typer(clients_app, name="clients")
app.add_typer(conformance_app, name="conformance")
app.add_typer(evidence_app, name="evidence")
app.add_typer(users_app, name="users")
app.add_typer(workflows_app, name="workflows")
app.add_typer(mappings_app, name="mappings")
app.command("serve")(serve)
app.command("demo")(demo_command)

out = Console(emoji=False, highlight=False)
err = Console(stderr=True, emoji=False, highlight=False)


def read_input(path: str) -> bytes:
    """Read a file argument (``-`` for standard input)."""
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        usage_error(f"cannot read {path}: {exc.strerror}")


@keys_app.command("generate")
def keys_generate(
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Key file to create (written 0600).")],
    key_type: Annotated[str, typer.Option("--type", "-t", help="ed25519, p256, p384 or secp256k1.")] = "ed25519",
    controller: Annotated[str | None, typer.Option(help="Controller DID (default: the key's did:key).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the public key as JSON.")] = False,
) -> None:
    """Make a new signing key file (private keys are written with mode 0600)."""
    try:
        pair = KeyPair.generate(key_type, controller)
    except VcgateError as exc:
        usage_error(str(exc))
    try:
        pair.to_file(out_path)
    except FileExistsError:
        usage_error(f"{out_path} exists; refusing to overwrite a key file")
    except OSError as exc:
        usage_error(f"cannot write {out_path}: {exc.strerror}")
    public = pair.to_multikey(include_secret=False)
    if as_json:
        print_json(public)
    else:
        out.print(f"wrote {out_path} ({pair.key_type}), verification method {pair.verification_method}")


@app.command("issue")
def issue(
    file: Annotated[str, typer.Argument(help="Unsigned credential (JSON-LD), or - for stdin.")],
    key: Annotated[Path, typer.Option("--key", "-k", help="Key file from `vcgate keys generate`.")],
    suite: Annotated[str, typer.Option("--suite", "-s", help="Cryptosuite.")] = "eddsa-rdfc-2022",
    created: Annotated[str | None, typer.Option(help="Proof creation time (ISO-8601; default now).")] = None,
) -> None:
    """Sign a credential with a Data Integrity proof and print it."""
    if suite not in SUITES:
        usage_error(f"unknown suite {suite!r}; choose one of {', '.join(SUITES)}")
    try:
        pair = KeyPair.from_file(key)
    except VcgateError as exc:
        usage_error(str(exc))
    try:
        doc = json.loads(read_input(file))
    except ValueError as exc:
        usage_error(f"{file} is not JSON: {exc}")
    if not isinstance(doc, dict):
        usage_error(f"{file} must hold a JSON object")
    try:
        signed = sign(doc, pair, suite=suite, created=parse_instant(created))
    except VcgateError as exc:
        err.print(f"[red]cannot sign:[/red] {exc}")
        raise typer.Exit(EXIT_INVALID) from None
    print_json(signed)


def default_verifier(
    policy: Policy, *, offline: bool = False, checkers: Mapping[str, EvidenceChecker] | None = None
) -> Verifier:
    """The verifier the CLI uses: pinned contexts, did:key/jwk (+ did:web and plugins unless offline), status, and
    the offline evidence checkers of every installed ledger kind (no party registry: a ledger-evidence credential is
    then ``error`` at the native-signer binding; give ``--db`` for the store's parties, mappings and revocations)."""
    from .._evidence_checkers import LazyOfflineCheckers
    from ..verification._ledger import LedgerStages
    from ..verification._trust import TrustPolicy

    ledger = LedgerStages(TrustPolicy.from_policy(policy), checkers={**LazyOfflineCheckers(), **(checkers or {})})
    if offline:
        return Verifier(policy, DidResolver.offline(), ledger=ledger)
    from ..verification._status import HttpStatusListFetcher, StatusListChecker

    checker = StatusListChecker(HttpStatusListFetcher())
    return Verifier(policy, DidResolver.default(), status_checker=checker, ledger=ledger)


def _extra_checkers(factory: str | None) -> dict[str, EvidenceChecker]:
    if not factory:
        return {}
    from .._jobs import JobError, _load_factory

    try:
        return dict(_load_factory(factory)())
    except JobError as exc:
        usage_error(str(exc))


def _store_verifier(
    db: str, policy: Policy, *, checked_at: datetime, offline: bool, checkers: Mapping[str, EvidenceChecker]
) -> Verifier:
    from .._evidence_checkers import LazyOfflineCheckers
    from .._jobs import store_verifier
    from .._store import Store

    try:
        store = Store.open(db)
    except VcgateError as exc:
        usage_error(f"cannot open the store {db}: {exc}")
    resolver = DidResolver.offline() if offline else DidResolver.default()
    every = {**LazyOfflineCheckers(), **checkers}
    return store_verifier(store, policy, checked_at=checked_at, resolver=resolver, checkers=every)


@app.command("verify")
def verify(
    file: Annotated[str, typer.Argument(help="Credential: JSON-LD or a compact vc+jwt; - for stdin.")],
    policy: Annotated[
        Path | None, typer.Option(help="Policy file, or a shipped policy name: default, w3c-interop.")
    ] = None,
    at: Annotated[str | None, typer.Option(help="Verify as of this instant (ISO-8601; default now).")] = None,
    effective_at: Annotated[
        str | None, typer.Option(help="Judge validity windows at this instant (default: --at).")
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(help="Store URL: its parties, mappings, ledger revocations and status lists feed the stages."),
    ] = None,
    checkers: Annotated[
        str | None,
        typer.Option(help="MODULE:FUNCTION returning {ledger kind: EvidenceChecker}, over the built-in ones."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result object as JSON.")] = False,
    offline: Annotated[bool, typer.Option(help="Resolve only did:key/did:jwk and fetch nothing.")] = False,
) -> None:
    """Verify one credential through all seven stages. Exit 0 verified, 1 invalid, 2 error, 64 usage."""
    try:
        pol = Policy.load(policy) if policy else Policy.default()
    except VcgateError as exc:
        usage_error(str(exc))
    instant = parse_instant(at)
    effective = parse_instant(effective_at) if effective_at else instant
    data = read_input(file)
    extra = _extra_checkers(checkers)
    verifier = (
        _store_verifier(db, pol, checked_at=instant, offline=offline, checkers=extra)
        if db
        else default_verifier(pol, offline=offline, checkers=extra)
    )
    result = verifier.check(data, effective_at=effective, checked_at=instant)
    if as_json:
        print_json(result.to_json())
    else:
        colour = {"verified": "green", "invalid": "red", "error": "yellow"}[result.status]
        out.print(f"[bold {colour}]{result.status.upper()}[/] {file}  issuer={result.issuer or '-'}")
        for switch in result.unsafe:
            err.print(f"[yellow]unsafe:[/yellow] {switch} weakened this verification")
        table = Table(show_header=True, header_style="bold")
        for col in ("stage", "check", "status", "problem"):
            table.add_column(col)
        for c in result.checks:
            problem = f"{c.problem.code}: {c.problem.detail}" if c.problem else ""
            table.add_row(c.stage, c.name, c.status, problem)
        out.print(table)
    raise typer.Exit({"verified": EXIT_OK, "invalid": EXIT_INVALID, "error": EXIT_ERROR}[result.status])


def main() -> None:
    """Console-script entry point: usage errors exit 64 (typer's default would be 2, which means "error" here)."""
    try:
        rv = app(standalone_mode=False)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err.print("aborted")
        sys.exit(EXIT_ERROR)
    except VcgateError as exc:
        err.print(f"error: {exc}")
        sys.exit(EXIT_ERROR)
    except typer.exceptions.TyperException as exc:
        # typer's vendored click raises UsageError (and subclasses) for bad arguments; all carry show().
        show = getattr(exc, "show", None)
        if callable(show):
            show()
        else:
            err.print(f"error: {exc}")
        sys.exit(EXIT_USAGE)
    sys.exit(rv if isinstance(rv, int) else 0)
