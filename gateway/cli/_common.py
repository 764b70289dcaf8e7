"""What every ``vcgate`` sub-command shares: exit codes, error output, JSON output, instants.

Exit codes (every command): 0 success / verified, 1 invalid (the input is wrong), 2 error (could not decide: a DID
unresolvable, a ledger unreachable), 64 usage (bad arguments or unreadable files, as sysexits' EX_USAGE).
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

EXIT_OK, EXIT_INVALID, EXIT_ERROR, EXIT_USAGE = 0, 1, 2, 64

#: Error output: never emoji codes or auto-highlighting in messages that quote user data (a DID has ":key:").
stderr_console = Console(stderr=True, emoji=False, highlight=False)


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print ``error: message`` on stderr and exit with ``code``."""
    stderr_console.print(f"[red]error:[/red] {escape(message)}")  # messages quote user data: "[x]" is not a style
    raise typer.Exit(code)


def usage_error(message: str) -> NoReturn:
    """Print a usage error and exit 64."""
    fail(message, EXIT_USAGE)


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
