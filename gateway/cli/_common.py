"""What every ``vcgate`` sub-command shares: exit codes, error output, JSON output, instants.

Exit codes (every command): 0 success / verified, 1 invalid (the input is wrong), 2 error (could not decide: a DID
unresolvable, a ledger unreachable, an input file missing or unreadable), 64 usage (bad arguments, as sysexits'
EX_USAGE).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from rich.table import Table

EXIT_OK, EXIT_INVALID, EXIT_ERROR, EXIT_USAGE = 0, 1, 2, 64

#: Error output: never emoji codes or auto-highlighting in messages that quote user data (a DID has ":key:").
stderr_console = Console(stderr=True, emoji=False, highlight=False)


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    stderr_console.print(f"[red]error:[/red] {escape(message)}")  # messages quote user data: "[x]" is not a style
    raise typer.Exit(code)


def unreadable(path: object, reason: object) -> NoReturn:
    """An input file is missing or unreadable: ``error: cannot read PATH: REASON``, exit 2 (not a usage error)."""
    fail(f"cannot read {path}: {reason}", EXIT_ERROR)


def require_file(path: str | Path | None, what: str = "") -> None:
    """An input file named on the command line must exist and be readable: otherwise ``error: cannot read [WHAT ]PATH:
    REASON`` and exit 2 (an error, not a usage error: the README's exit codes). ``None`` (option not given) passes."""
    if path is None:
        return
    try:
        with Path(path).open("rb"):
            pass
    except OSError as exc:
        unreadable(f"{what} {path}" if what else path, (exc.strerror or str(exc)).lower())


def require_policy(policy: str | Path | None) -> None:
    """``--policy`` names a policy file (exit 2 unless readable, as :func:`require_file`) or a shipped policy: a bare
    name such as ``default`` with no file of that name, which the policy loader resolves."""
    if policy is not None and (Path(policy).exists() or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", str(policy))):
        require_file(policy, "policy")


def require_database(url: str | None) -> None:
    """Read-only commands never create files: exit 2 when the (SQLite) database ``url`` does not exist yet."""
    from .._db import database_url

    resolved = database_url(url)
    if resolved.startswith("sqlite") and "///" in resolved:
        path = resolved.split("///", 1)[1]
        if path and path != ":memory:" and not Path(path).is_file():
            unreadable(path, "no such gateway database (commands that write, e.g. `vcgate sync`, create it)")


def usage_error(message: str) -> NoReturn:
    """Print a usage error and exit 64."""
    fail(message, EXIT_USAGE)


def fitted_table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], *, ids: int = 1, width: int | None = None, **options: Any
) -> Table:
    """A table that fits the terminal (80 columns included): the first ``ids`` columns hold identifiers and are
    never wrapped or truncated; the other columns fold when the terminal is too narrow. When the identifiers
    leave too little room for the rest, each row stacks: its identifiers one per line on the left, the other
    columns as ``name: value`` lines on the right."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    materialised = [list(row) for row in rows]
    widths = [  # of a cell's longest line: an identifier column may list several, one per line
        max([len(header), *(Text.from_markup(line).cell_len for r in materialised for line in r[index].split("\n"))])
        for index, header in enumerate(headers[:ids])
    ]
    total = width or Console().width
    room = total - sum(widths) - 3 * len(headers) - 1
    flexible = len(headers) - ids
    table = Table(header_style="bold", **options)
    if flexible > 1 and room < _MIN_FOLDED_WIDTH * flexible:
        details = [
            [f"[bold]{escape(h)}:[/] {v}" for h, v in zip(headers[ids:], row[ids:], strict=True) if v]
            for row in materialised
        ]
        if total - max(widths) - 7 < _MIN_DETAILS_WIDTH:
            # Identifiers too wide to leave a useful column beside them: one column, the identifiers (each on its
            # own line, whole up to the terminal's width) and below them the other columns, indented.
            table.add_column(" · ".join(headers), overflow="fold")
            for row, lines in zip(materialised, details, strict=True):
                table.add_row("\n".join([*row[:ids], *(f"  {line}" for line in lines)]))
            return table
        table.add_column(" · ".join(headers[:ids]), no_wrap=True, min_width=max(widths))
        table.add_column("details", overflow="fold")
        for row, lines in zip(materialised, details, strict=True):
            table.add_row("\n".join(row[:ids]), "\n".join(lines))
        return table
    for index, header in enumerate(headers):
        if index < ids:
            table.add_column(header, no_wrap=True, min_width=widths[index])
        else:
            table.add_column(header, overflow="fold")
    for row in materialised:
        table.add_row(*row)
    return table


#: Narrowest useful width of a folded column; below it fitted_table stacks each row.
_MIN_FOLDED_WIDTH = 10
#: Narrowest useful details column beside stacked identifiers; below it each row is one cell, details under the ids.
_MIN_DETAILS_WIDTH = 24


def print_json(value: Any) -> None:
    """Machine output: indented JSON on stdout (values JSON cannot hold are printed as strings)."""
    sys.stdout.write(json.dumps(value, indent=2, ensure_ascii=False, default=str) + "\n")


def parse_instant(value: str | None, option: str = "--at") -> datetime | None:
    """An ISO-8601 instant with timezone (``Z`` allowed) from ``option``, in UTC; ``None`` when not given."""
    if value is None:
        return None
    try:
        instant = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        usage_error(f"{option} {value!r} is not an ISO-8601 date-time")
    if instant.tzinfo is None:
        usage_error(f"{option} {value!r} needs a timezone (e.g. 2026-01-01T00:00:00Z)")
    return instant.astimezone(UTC)


def instant_or_now(value: str | None, option: str = "--at") -> datetime:
    """:func:`parse_instant`, defaulting to now (UTC)."""
    return parse_instant(value, option) or datetime.now(UTC)
