"""The ``vcgate`` command line: a thin shell over the library."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help="vcgate: ledger records as verifiable credentials")


def main() -> None:
    """Console-script entry point."""
    app()
