"""``vcgate mappings list | show | publish``: the published mappings in the gateway store (replay rebuilds credentials
with them; ARCHITECTURE.md, "Replay").

A mapping is stored under (id, digest): publishing a new version adds it next to the old one, so credentials
translated under either still replay. ``vcgate adapters add`` and every ``vcgate sync`` pass publish the mappings a
local adapter uses; ``publish`` is for a partner's mapping file (a remote adapter's, or a fix before
``vcgate sync --retry-quarantined``). Exit codes: 0 done, 1 an invalid mapping or an unknown id, 64 usage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.console import Console

from vcgate.adapters.sdk import CredentialMapping, MappingError
from vcgate.canonical_schema import VcgateError

from ._common import EXIT_INVALID, fail, fitted_table, print_json, require_file

mappings_app = typer.Typer(no_args_is_help=True, help="Published mappings in the gateway store (for replay).")
_out = Console(emoji=False, highlight=False, soft_wrap=True)

DbOption = Annotated[
    str | None, typer.Option("--db", envvar="VCGATE_DATABASE_URL", help="Store database URL (default: SQLite file).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Machine output (JSON).")]


def _mappings(db: str | None) -> dict[tuple[str, str], CredentialMapping]:
    from .._store import Store

    try:
        store = Store.open(db)
    except VcgateError as exc:
        fail(str(exc))
    try:
        return store.mappings()
    finally:
        store.close()


def _summary(m: CredentialMapping) -> dict[str, Any]:
    return m.info().to_json()


@mappings_app.command("list")
def mappings_list(db: DbOption = None, as_json: JsonOption = False) -> None:
    """List the stored mappings: id, version, digest, credential types, issuance mode."""
    found = sorted(_mappings(db).values(), key=lambda m: (m.id, m.version, m.digest))
    if as_json:
        print_json([_summary(m) for m in found])
        return
    rows = [(m.id, m.version, ", ".join(m.types), m.issuance_mode, m.digest) for m in found]
    _out.print(fitted_table(("id", "version", "types", "mode", "digest"), rows))
    if not found:
        _out.print("no mappings stored (`vcgate adapters add` or `vcgate mappings publish FILE`)")


@mappings_app.command("show")
def mappings_show(
    mapping_id: Annotated[str, typer.Argument(help="Mapping id (its URL).")],
    digest: Annotated[str | None, typer.Option("--digest", help="Which version, by digest (default: all).")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Print a stored mapping's document (YAML; JSON with --json). Exit 1 when no such mapping is stored."""
    found = [m for (mid, d), m in _mappings(db).items() if mid == mapping_id and (digest is None or d == digest)]
    if not found:
        fail(f"no stored mapping {mapping_id}" + (f" with digest {digest}" if digest else ""), EXIT_INVALID)
    found.sort(key=lambda m: (m.version, m.digest))
    if as_json:
        print_json([{**_summary(m), "document": dict(m.document)} for m in found])
        return
    for m in found:
        _out.print(f"# {m.id} {m.version} {m.digest}")
        typer.echo(yaml.safe_dump(json.loads(json.dumps(dict(m.document))), sort_keys=False, allow_unicode=True))


@mappings_app.command("publish")
def mappings_publish(
    file: Annotated[Path, typer.Argument(help="Mapping file (YAML or JSON).")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Validate a mapping file and store it under its id and digest (idempotent). Exit 1 if it is invalid."""
    from .._store import Store

    require_file(file)
    try:
        mapping = CredentialMapping.from_file(file)
    except MappingError as exc:
        fail(str(exc), EXIT_INVALID)
    try:
        store = Store.open(db)
        added = store.put_mapping(mapping)
        store.close()
    except VcgateError as exc:
        fail(str(exc))
    if as_json:
        print_json({**_summary(mapping), "added": added})
    else:
        _out.print(f"{'published' if added else 'already stored'}: {mapping.id} {mapping.version} {mapping.digest}")
