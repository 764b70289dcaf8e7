"""``vcgate adapters …``: list and describe the installed ledger adapters (a thin shell over the adapter SDK).

Exit codes: 0 success; 1 an adapter plugin is broken (cannot be imported, lacks a member, wrong API version)
or
rejected its configuration; 2 the adapter could not describe itself (its ledger unreachable, say); 64 usage
(an
unknown adapter name, an unreadable configuration file).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from vcgate.adapters.sdk import (
    ADAPTER_METHODS,
    AdapterConfigError,
    AdapterLoadError,
    AdapterNotFoundError,
    AdapterPlugin,
    load_adapter,
    load_adapter_config,
    scan_adapters,
)
from vcgate.canonical_schema import VcgateError

EXIT_OK, EXIT_INVALID, EXIT_ERROR, EXIT_USAGE = 0, 1, 2, 64

adapters_app = typer.Typer(
    no_args_is_help=True, help="Ledger adapters installed through the vcgate.adapters entry points."
)

_out = Console(emoji=False, highlight=False, soft_wrap=True)
_err = Console(stderr=True, emoji=False, highlight=False, soft_wrap=True)


def _print_json(value: Any) -> None:
    # Plain print, not rich: --json output must be byte-exact JSON for machines.
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


@adapters_app.command("list")
def list_adapters(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List every installed adapter; broken plugins are reported with the package and entry point to blame."""
    scan = scan_adapters()
    if as_json:
        _print_json(
            {
                "adapters": [p.to_json() for p in scan.plugins],
                "errors": [
                    {
                        "name": e.name,
                        "entryPoint": e.value,
                        "distribution": e.distribution,
                        "reason": e.reason,
                    }
                    for e in scan.errors
                ],
            }
        )
    else:
        table = Table(title="vcgate adapters", show_lines=False)
        for column in ("name", "kind", "api", "package", "entry point"):
            table.add_column(column, overflow="fold")
        for p in scan.plugins:
            table.add_row(
                p.name,
                p.kind,
                str(p.api_version),
                f"{p.distribution} {p.distribution_version}",
                p.entry_point,
            )
        _out.print(table)
        if not scan.plugins:
            _out.print("no adapters installed (they register through the 'vcgate.adapters' entry points)")
        for e in scan.errors:
            _err.print(f"[red]broken adapter:[/red] {e}")
    raise typer.Exit(EXIT_INVALID if scan.errors else EXIT_OK)


def _plugin_json(plugin: AdapterPlugin) -> dict[str, Any]:
    out = plugin.to_json()
    out["interface"] = list(ADAPTER_METHODS)
    return out


@adapters_app.command("describe")
def describe_adapter(
    name: Annotated[str, typer.Argument(help="The adapter's entry-point name (see `vcgate adapters list`).")],
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="Adapter configuration (YAML/JSON); describes a configured instance."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Describe one adapter: its package and interface, and with --config its ledger id and mappings."""
    try:
        plugin = load_adapter(name)
    except AdapterNotFoundError as exc:
        _err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    except AdapterLoadError as exc:
        _err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(EXIT_INVALID) from None
    result: dict[str, Any] = {"plugin": _plugin_json(plugin)}
    if config is not None:
        try:
            settings = load_adapter_config(config)
        except AdapterConfigError as exc:
            _err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(EXIT_USAGE) from None
        try:
            adapter = plugin.create(settings)
        except (AdapterConfigError, AdapterLoadError) as exc:
            _err.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(EXIT_INVALID) from None
        try:
            result["instance"] = adapter.describe().to_json()
        except VcgateError as exc:
            _err.print(f"[red]error:[/red] adapter {name!r} could not describe itself: {exc}")
            raise typer.Exit(EXIT_ERROR) from None
    if as_json:
        _print_json(result)
        raise typer.Exit(EXIT_OK)
    _out.print(f"[bold]{plugin.name}[/bold] — {plugin.summary}")
    _out.print(f"  kind:         {plugin.kind}")
    _out.print(f"  api version:  {plugin.api_version}")
    _out.print(f"  package:      {plugin.distribution} {plugin.distribution_version}")
    _out.print(f"  entry point:  {plugin.name} = {plugin.entry_point}")
    instance = result.get("instance")
    if instance is None:
        _out.print("  (pass --config FILE to describe a configured instance: ledger id and mappings)")
        raise typer.Exit(EXIT_OK)
    _out.print(f"  instance id:  {instance['id']}")
    _out.print(f"  ledger id:    {instance['ledgerId']}")
    _out.print(f"  version:      {instance['version']}")
    table = Table(title="mappings")
    for column in ("id", "version", "types", "mode", "digest"):
        table.add_column(column, overflow="fold")
    for m in instance["mappings"]:
        table.add_row(m["id"], m["version"], ", ".join(m["types"][1:]), m["issuanceMode"], m["digest"])
    _out.print(table)
    raise typer.Exit(EXIT_OK)
