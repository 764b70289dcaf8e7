"""``vcgate users add | list``: the people who log in to the web pages (officers, analysts, admins).

Exit codes: 0 success; 2 error (the database could not be opened or written); 64 usage (a bad name or role, a short
password, a taken name).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.console import Console

from vcgate.canonical_schema import InputError, VcgateError

from ._api import DatabaseOption
from ._common import fail, fitted_table, print_json, usage_error

users_app = typer.Typer(no_args_is_help=True, help="People who log in to the web pages (officer, analyst, admin).")

_out = Console(emoji=False, highlight=False, soft_wrap=True)


def _people(database: str | None) -> Any:
    # Imported here so `vcgate --help` does not load argon2 and SQLAlchemy.
    from .._db import Database
    from ..api.pages import People

    try:
        return People(Database.open(database))
    except VcgateError as exc:
        fail(str(exc))


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="Login name (lower-case letters, digits, '.', '_', '-').")],
    role: Annotated[str, typer.Option("--role", help="officer (reads), analyst (runs jobs) or admin.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
    ] = False,
    database: DatabaseOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print {username, role}.")] = False,
) -> None:
    """Create an account. The password (at least 12 characters) is asked for twice, or read with --password-stdin;
    it is stored only as an argon2id hash."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    people = _people(database)
    try:
        people.add(username, password, role, now=datetime.now(UTC))
    except InputError as exc:
        usage_error(str(exc))
    except VcgateError as exc:
        fail(str(exc))
    if as_json:
        print_json({"username": username, "role": role})
    else:
        _out.print(f"added {username} ({role})")


@users_app.command("list")
def users_list(
    database: DatabaseOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the accounts as JSON.")] = False,
) -> None:
    """List accounts (never their password hashes)."""
    try:
        rows = _people(database).list()
    except VcgateError as exc:
        fail(str(exc))
    if as_json:
        print_json(
            [
                {
                    "username": r["username"],
                    "role": r["role"],
                    "createdAt": str(r["created_at"]),
                    "lockedUntil": str(r["locked_until"]) if r["locked_until"] else None,
                }
                for r in rows
            ]
        )
        return
    lines = [(str(r["username"]), str(r["role"]), str(r["created_at"]), str(r["locked_until"] or "")) for r in rows]
    _out.print(fitted_table(("user", "role", "created", "locked until"), lines))


__all__ = ["users_app"]
