"""The ``vcgate`` command line: a thin shell over the library.

Exit codes (every command): 0 success / verified, 1 invalid (the input is wrong), 2 error (could not decide:
a DID unresolvable, a ledger unreachable, an input file missing or unreadable), 64 usage (bad arguments, as
sysexits' EX_USAGE).
"""

from __future__ import annotations

import importlib
import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
import typer.core
import typer.exceptions
import typer.main
from rich.console import Console
from rich.markup import escape

from ._common import (
    EXIT_ERROR,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    fitted_table,
    print_json,
    require_policy,
    unreadable,
    usage_error,
)
from ._common import instant_or_now as parse_instant

if TYPE_CHECKING:
    import typer._click as click

    from vcgate.adapters.sdk import EvidenceChecker

    from ..verification._policy import Policy
    from ..verification._verify import Verifier


@dataclass(frozen=True)
class _Lazy:
    """A command (group) whose module is imported only when it runs: ``vcgate --help`` and ``vcgate verify`` must
    not import FastAPI, SQLAlchemy, web3 or Fabric's protobufs (issue 13). ``help`` is what ``vcgate --help`` lists;
    tests/cli/test_startup.py checks it equals the command's own first help line."""

    module: str
    attribute: str
    help: str

    def load(self, name: str) -> click.Command:
        target = getattr(importlib.import_module(self.module, __package__), self.attribute)
        if isinstance(target, typer.Typer):
            return _plain_help(typer.main.get_group(target))
        holder = typer.Typer(add_completion=False)  # a lone function becomes a command of a one-command app
        holder.command(name)(target)
        return _plain_help(typer.main.get_command(holder))


def _plain_help(command: click.Command) -> click.Command:
    """Click's plain help for ``command`` and its sub-commands: it wraps at any width where typer's rich panels
    truncate option names and defaults at 80 columns (and it is cheaper to import)."""
    if hasattr(command, "rich_markup_mode"):
        command.rich_markup_mode = None
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)
    return command


# Command groups and commands defined in other modules, in the order `vcgate --help` lists them.
_LAZY: dict[str, _Lazy] = {
    "adapters": _Lazy(
        "._adapters", "adapters_app", "Ledger adapters installed through the vcgate.adapters entry points."
    ),
    "plain-ledger": _Lazy(
        "._plain_ledger", "plain_ledger_app", "The plain ledger: a signed, append-only transparency log."
    ),
    "fabric": _Lazy("._fabric", "fabric_app", "Hyperledger Fabric blocks: decode and verify offline."),
    "parties": _Lazy("._jobs", "parties_app", "The party registry: trade partners and their ledger identities."),
    "jobs": _Lazy("._jobs", "jobs_app", "Cross-chain verification jobs over many entries."),
    "sync": _Lazy(
        "._jobs", "sync_command", "Pull new records from every registered adapter, verify and store them (idempotent)."
    ),
    "verify-entry": _Lazy("._jobs", "verify_entry_command", "Verify one entry."),
    "links": _Lazy(
        "._jobs",
        "links_command",
        "Query the credential graph: credentials carrying ID, and credentials linked to them by shared identifiers.",
    ),
    "clients": _Lazy("._api", "clients_app", "OAuth2 clients of the HTTP API (each belongs to a party DID)."),
    "conformance": _Lazy("._conformance", "conformance_app", "The conformance suite (adapters and VC-API endpoints)."),
    "evidence": _Lazy("._evidence", "evidence_app", "Ledger evidence carried by credentials."),
    "users": _Lazy("._users", "users_app", "People who log in to the web pages (officer, analyst, admin)."),
    "workflows": _Lazy(
        "._workflows", "workflows_app", "Verification workflows (IPR, steel, natural gas, timber, food)."
    ),
    "mappings": _Lazy("._mappings", "mappings_app", "Published mappings in the gateway store (for replay)."),
    "serve": _Lazy("._api", "serve", "Serve the HTTP API (VC-API, presentation exchange, OAuth2 tokens) with uvicorn."),
    "demo": _Lazy(
        "vcgate.gateway._demo",
        "demo_command",
        "Run the IPR scenario across three real ledgers (plain ledger, Ethereum/EAS on anvil, Fabric) and verify a "
        "dozen entries.",
    ),
}


class _LazyGroup(typer.core.TyperGroup):
    """The root group: lists the :data:`_LAZY` commands from their help text, imports one only to run it."""

    _listing = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        own = super().list_commands(ctx)
        return own + [name for name in _LAZY if name not in own]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        lazy = _LAZY.get(cmd_name)
        if command is not None or lazy is None:
            return command
        if self._listing:  # `vcgate --help`: a stand-in carrying the help line is enough
            return typer.core.TyperCommand(cmd_name, help=lazy.help)
        command = lazy.load(cmd_name)
        self.add_command(command, cmd_name)
        return command

    def format_help(self, ctx: click.Context, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


app = typer.Typer(
    cls=_LazyGroup,
    rich_markup_mode=None,  # plain help: see _plain_help
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="vcgate: ledger records as W3C verifiable credentials, verified and linked for customs.",
)
keys_app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, help="Signing keys.")
app.add_typer(keys_app, name="keys")

out = Console(emoji=False, highlight=False)
err = Console(stderr=True, emoji=False, highlight=False)


def read_input(path: str) -> bytes:
    """Read a file argument (``-`` for standard input)."""
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        unreadable(path, exc.strerror)


@keys_app.command("generate")
def keys_generate(
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Key file to create (written 0600).")],
    key_type: Annotated[str, typer.Option("--type", "-t", help="ed25519, p256, p384 or secp256k1.")] = "ed25519",
    controller: Annotated[str | None, typer.Option(help="Controller DID (default: the key's did:key).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the public key as JSON.")] = False,
) -> None:
    """Make a new signing key file (private keys are written with mode 0600)."""
    from vcgate.canonical_schema import VcgateError

    from ..verification._keys import KeyPair

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
    issuer_from_key: Annotated[
        bool, typer.Option("--issuer-from-key", help="Set the credential's issuer to the key's controller DID.")
    ] = False,
) -> None:
    """Sign a credential with a Data Integrity proof and print it. The issuer must be the key's controller (a
    credential signed for another party's DID fails ISSUER_KEY_MISMATCH): otherwise exit 64, or pass
    --issuer-from-key to set it."""
    from vcgate.canonical_schema import VcgateError

    from ..verification._keys import KeyPair
    from ..verification._proofs import SUITES, sign

    if suite not in SUITES:
        usage_error(f"unknown suite {suite!r}; choose one of {', '.join(SUITES)}")
    if not key.is_file():
        unreadable(key, "no such key file")
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
    doc = _with_issuer(doc, pair.controller, rewrite=issuer_from_key)
    try:
        signed = sign(doc, pair, suite=suite, created=parse_instant(created))
    except VcgateError as exc:
        err.print(f"[red]cannot sign:[/red] {exc}")
        raise typer.Exit(EXIT_INVALID) from None
    print_json(signed)


def _with_issuer(doc: dict[str, Any], controller: str, *, rewrite: bool) -> dict[str, Any]:
    """``doc`` with its issuer checked against (or, with ``rewrite``, set to) the signing key's controller."""
    issuer = doc.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if issuer_id == controller:
        return doc
    if rewrite:
        return {**doc, "issuer": {**issuer, "id": controller} if isinstance(issuer, dict) else controller}
    usage_error(
        f"the credential's issuer {issuer_id!r} is not the key's controller {controller!r}: verification would fail "
        "(ISSUER_KEY_MISMATCH). Sign with that issuer's key, or pass --issuer-from-key to make the key's DID the issuer"
    )


def default_verifier(
    policy: Policy, *, offline: bool = False, checkers: Mapping[str, EvidenceChecker] | None = None
) -> Verifier:
    """The verifier the CLI uses: pinned contexts, did:key/jwk (+ did:web and plugins unless offline), status, and
    the offline evidence checkers of every installed ledger kind (no party registry: a ledger-evidence credential is
    then ``error`` at the native-signer binding; give ``--db`` for the store's parties, mappings and revocations)."""
    from .._evidence_checkers import LazyOfflineCheckers
    from ..verification._dids import DidResolver
    from ..verification._ledger import LedgerStages
    from ..verification._trust import TrustPolicy
    from ..verification._verify import Verifier

    # Unmerged unless extra checkers are given: LazyOfflineCheckers loads no adapter for evidence-free credentials.
    every = {**LazyOfflineCheckers(), **checkers} if checkers else LazyOfflineCheckers()
    ledger = LedgerStages(TrustPolicy.from_policy(policy), checkers=every)
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
    from vcgate.canonical_schema import VcgateError

    from .._jobs import store_verifier
    from .._store import Store
    from ..verification._dids import DidResolver

    try:
        store = Store.open(db)
    except VcgateError as exc:
        usage_error(f"cannot open the store {db}: {exc}")
    resolver = DidResolver.offline() if offline else DidResolver.default()
    # The store's checkers as a job sees them (built-in offline ones, then the registered adapters'), --checkers on
    # top: one result object for one credential whichever way it is verified.
    return store_verifier(store, policy, checked_at=checked_at, resolver=resolver, checkers=checkers)


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
    require_policy(policy)
    from vcgate.canonical_schema import VcgateError

    from ..verification._policy import Policy

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
            err.print(f"[yellow]unsafe:[/yellow] {escape(switch)} weakened this verification")
        rows = [
            [c.stage, c.name, c.status, escape(f"{c.problem.code}: {c.problem.detail}") if c.problem else ""]
            for c in result.checks
        ]
        out.print(fitted_table(("stage", "check", "status", "problem"), rows, ids=3))
    raise typer.Exit({"verified": EXIT_OK, "invalid": EXIT_INVALID, "error": EXIT_ERROR}[result.status])


#: Top-level modules of the optional extras (pyproject.toml): a base install names the extra to install.
_EXTRA_OF_MODULE = {
    **dict.fromkeys(("web3", "eth_abi", "eth_utils", "eth_account", "eth_keys", "rlp", "trie", "Crypto"), "ethereum"),
    **dict.fromkeys(("fabric_protos", "grpc", "google"), "fabric"),
    "psycopg2": "postgres",
}


def main() -> None:
    """Console-script entry point: usage errors exit 64 (typer's default would be 2, which means "error" here)."""
    from vcgate.canonical_schema import VcgateError

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
    except ModuleNotFoundError as exc:
        extra = _EXTRA_OF_MODULE.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        err.print(
            f"error: this command needs the optional {extra!r} dependencies (module {exc.name!r} is missing): "
            f'pip install "vcgate[{extra}]"',
            markup=False,  # "[fabric]" is not a style
        )
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
