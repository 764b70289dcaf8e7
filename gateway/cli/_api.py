"""``vcgate serve`` and ``vcgate clients add | list | revoke``: the HTTP API and its OAuth2 clients.

Exit codes: 0 success; 1 the request was refused (no such client to revoke); 2 error (the database could not be
opened or written; a key, policy or issuers file missing or unreadable); 64 usage (bad arguments, a key file that
does not parse).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from vcgate.canonical_schema import VcgateError

from ._common import EXIT_INVALID, fitted_table, require_database, require_file, require_policy
from ._common import fail as _fail
from ._common import print_json as _print_json
from ._common import usage_error as _usage

clients_app = typer.Typer(no_args_is_help=True, help="OAuth2 clients of the HTTP API (each belongs to a party DID).")

_out = Console(emoji=False, highlight=False, soft_wrap=True)
_err = Console(stderr=True, emoji=False, highlight=False, soft_wrap=True)

DatabaseOption = Annotated[
    str | None,
    typer.Option("--database", help="Database URL (default: $VCGATE_DATABASE_URL, else sqlite:///vcgate.sqlite)."),
]


def _registry(database: str | None) -> Any:
    # Imported here so `vcgate --help` does not load FastAPI.
    from .._db import Database
    from ..api import ClientRegistry

    try:
        return ClientRegistry(Database.open(database))
    except VcgateError as exc:
        _fail(str(exc))


@clients_app.command("add")
def clients_add(
    party: Annotated[str, typer.Option("--party", help="The party DID the client acts for.")],
    scope: Annotated[
        list[str], typer.Option("--scope", help="A scope (repeat, or space/comma separated), e.g. verify:credentials.")
    ],
    name: Annotated[str, typer.Option("--name", help="A label for the client.")] = "",
    database: DatabaseOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {clientId, clientSecret, party, scopes}.")] = False,
) -> None:
    """Register a client; its secret is printed once and stored only as a hash."""
    from ..api import check_party_did, parse_scopes

    try:
        check_party_did(party)
        scopes = parse_scopes(scope)
    except VcgateError as exc:
        _usage(str(exc))
    if not scopes:
        _usage("give at least one --scope")
    registry = _registry(database)
    try:
        new = registry.add(party, scopes, name=name)
    except VcgateError as exc:
        _fail(str(exc))
    if as_json:
        _print_json({**new.info.to_json(), "clientSecret": new.secret})
        return
    _out.print(f"client id:     {new.info.client_id}")
    _out.print(f"client secret: {new.secret}")
    _out.print(f"party:         {party}")
    _out.print(f"scopes:        {' '.join(sorted(scopes))}")
    _err.print("[yellow]the secret is shown only now; it is stored hashed[/yellow]")


@clients_app.command("list")
def clients_list(
    database: DatabaseOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the clients as JSON.")] = False,
) -> None:
    """List clients (never their secrets)."""
    require_database(database)
    registry = _registry(database)
    try:
        clients = registry.list()
    except VcgateError as exc:
        _fail(str(exc))
    if as_json:
        _print_json([c.to_json() for c in clients])
        return
    rows = []
    for c in clients:
        j = c.to_json()
        rows.append([j["clientId"], j["party"], " ".join(j["scopes"]), j["name"], j["createdAt"], j["revokedAt"] or ""])
    # Client ids and party DIDs are identifiers: never wrapped or cut (the other columns fold).
    _out.print(fitted_table(("client id", "party", "scopes", "name", "created", "revoked"), rows, ids=2))


@clients_app.command("revoke")
def clients_revoke(
    client_id: Annotated[str, typer.Argument(help="The client id to revoke.")],
    database: DatabaseOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {clientId, revoked}.")] = False,
) -> None:
    """Revoke a client: its tokens stop working at once. Exit 1 if there is no such active client."""
    registry = _registry(database)
    try:
        revoked = registry.revoke(client_id)
    except VcgateError as exc:
        _fail(str(exc))
    if as_json:
        _print_json({"clientId": client_id, "revoked": revoked})
    elif revoked:
        _out.print(f"revoked {client_id}")
    if not revoked:
        _fail(f"no active client {client_id!r}", EXIT_INVALID)


def serve(
    key: Annotated[
        Path | None,
        typer.Option("--key", "-k", help="The gateway's Ed25519 key file (default: $VCGATE_API_KEY_FILE)."),
    ] = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    public_url: Annotated[
        str | None,
        typer.Option(help="External base URL; names the gateway's did:web (default http://HOST:PORT)."),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="uvicorn worker processes.")] = 1,
    database: DatabaseOption = None,
    policy: Annotated[
        Path | None, typer.Option(help="Verification policy file, or a shipped policy name (default, w3c-interop).")
    ] = None,
    rate_limit: Annotated[float, typer.Option(help="Requests per second per client (and per address).")] = 50.0,
    rate_burst: Annotated[int, typer.Option(help="Burst size of the rate limit.")] = 200,
    unsafe_allow_http_localhost: Annotated[
        bool,
        typer.Option(help="UNSAFE: fetch did:web documents and status lists over plain http from localhost."),
    ] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
    issuers: Annotated[
        Path | None,
        typer.Option(
            help="Issuers file: issuer instances served at /issuers/NAME/credentials/issue (docs/http-api.md)."
        ),
    ] = None,
) -> None:
    """Serve the HTTP API (VC-API, presentation exchange, OAuth2 tokens) with uvicorn."""
    require_file(key, "key file")
    require_file(issuers, "issuers file")
    require_policy(policy)
    import uvicorn

    from .._db import Database
    from ..api import ApiSettings

    key_file = str(key) if key else os.environ.get("VCGATE_API_KEY_FILE")
    if not key_file:
        _usage("give --key (or set VCGATE_API_KEY_FILE): the gateway's Ed25519 key file")
    env = {
        "VCGATE_API_KEY_FILE": str(Path(key_file).resolve()),
        "VCGATE_API_PUBLIC_URL": public_url or f"http://{host}:{port}",
        "VCGATE_API_RATE_LIMIT": str(rate_limit),
        "VCGATE_API_RATE_BURST": str(rate_burst),
        "VCGATE_API_UNSAFE_HTTP_LOCALHOST": "1" if unsafe_allow_http_localhost else "0",
        # The database is migrated once here, before workers start (concurrent migrations would race).
        "VCGATE_API_MIGRATE": "0",
    }
    if database:
        env["VCGATE_DATABASE_URL"] = database
    if issuers:
        env["VCGATE_API_ISSUERS"] = str(issuers.resolve())
    if policy:
        env["VCGATE_API_POLICY"] = str(policy.resolve()) if policy.exists() else str(policy)
    os.environ.update(env)
    try:
        settings = ApiSettings.from_env()
        settings.identity  # noqa: B018 - validates the key type and public URL before workers start
        instances = settings.issuer_instances()  # and the issuers file
        Database.open(settings.database_url, migrate=True).close()
    except VcgateError as exc:
        _usage(str(exc))
    _err.print(f"vcgate API on http://{host}:{port} as {settings.identity.did} ({workers} worker(s))")
    for inst in instances:
        _err.print(f"  issuer {inst.name}: {inst.did} ({', '.join(inst.suites) if inst.format == 'ldp' else 'vc+jwt'})")
    uvicorn.run(
        "vcgate.gateway.api._server:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
    )


__all__ = ["clients_app", "serve"]
