"""``vcgate conformance run``: the conformance suite against an adapter, a VC-API endpoint or vcgate's verifier.

A thin shell over :func:`vcgate.conformance_tests.run_conformance`. Exit codes: 0 every case passed (or was
explicitly opted out); 1 a case failed; 2 the suite could not run to the end (interrupted, internal error) or an input
file is missing or unreadable; 64 usage (an unknown target or adapter, an invalid configuration).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from vcgate.adapters.sdk import load_adapter
from vcgate.canonical_schema import VcgateError
from vcgate.conformance_tests import REPORT_FILES, parse_target, run_conformance

from ._common import EXIT_ERROR, EXIT_INVALID, EXIT_OK, EXIT_USAGE, require_file

_PYTEST_USAGE = 4

conformance_app = typer.Typer(no_args_is_help=True, help="The conformance suite (adapters and VC-API endpoints).")
_out = Console(emoji=False, highlight=False, soft_wrap=True)
_err = Console(stderr=True, emoji=False, highlight=False, soft_wrap=True)


@conformance_app.command("run")
def run(
    target: Annotated[
        str, typer.Option("--target", "-t", help="adapter:NAME, a VC-API base URL (http(s)://…), or verifier:vcgate.")
    ],
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="Target configuration (an adapter's config file with a conformance: section)."
        ),
    ] = None,
    report: Annotated[
        Path | None, typer.Option("--report", "-r", help="Write conformance.json, -junit.xml and .html here.")
    ] = None,
    token: Annotated[str | None, typer.Option(help="Bearer token for a VC-API target.")] = None,
    client_id: Annotated[str | None, typer.Option(help="OAuth2 client id (POST /oauth2/token).")] = None,
    client_secret: Annotated[
        str | None, typer.Option(help="OAuth2 client secret.", envvar="VCGATE_CONFORMANCE_CLIENT_SECRET")
    ] = None,
    reference_peer: Annotated[
        Path | None, typer.Option(help="vc-peer.mjs of the reference library (default: vcgate's tests/node).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report instead of pytest's output.")] = False,
    subprocess: Annotated[bool, typer.Option("--subprocess", help="Run pytest in a fresh interpreter.")] = False,
) -> None:
    """Run the suite against one target; non-zero exit when any case fails."""
    require_file(config, "target configuration")
    require_file(reference_peer, "--reference-peer")
    try:
        parsed = parse_target(target, config)
        if parsed.kind == "adapter":
            load_adapter(parsed.name)
    except VcgateError as exc:
        _err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_USAGE) from None
    result = run_conformance(
        target,
        config=config,
        report_dir=report,
        token=token,
        client_id=client_id,
        client_secret=client_secret,
        reference_peer=reference_peer,
        isolation="subprocess" if subprocess else "inprocess",
        quiet=as_json,
    )
    if result.report is None:
        code = EXIT_USAGE if result.exit_code == _PYTEST_USAGE else EXIT_ERROR
        _err.print(f"[red]error:[/red] the suite did not run (pytest exit code {result.exit_code})")
        raise typer.Exit(code)
    if as_json:
        typer.echo(json.dumps(result.report.to_json(), indent=2, ensure_ascii=False))
    elif report is not None:
        for kind, name in REPORT_FILES.items():
            _out.print(f"{kind:5} report: {report / name}")
    if result.report.passed and result.exit_code == 0:
        raise typer.Exit(EXIT_OK)
    raise typer.Exit(EXIT_INVALID if result.report.failed_ids else EXIT_ERROR)


@conformance_app.command("setup-peer")
def setup_peer_command(
    destination: Annotated[
        Path | None,
        typer.Option("--dir", help="Install here (default: the user cache, ~/.cache/vcgate/reference-peer)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help='Print {"referencePeer": PATH} as JSON.')] = False,
) -> None:
    """Install the optional reference peer (digitalbazaar's VC libraries, pinned) with npm for case PRF-003.
    Needs Node.js >= 20 with npm. Exit 0 installed, 2 npm or Node.js missing or failing."""
    from vcgate.conformance_tests._reference_peer import ReferencePeerError, setup_peer

    try:
        script = setup_peer(destination)
    except ReferencePeerError as exc:
        _err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(EXIT_ERROR) from None
    if as_json:
        typer.echo(json.dumps({"referencePeer": str(script)}))
    else:
        _out.print(f"reference peer installed: {script}", markup=False)
