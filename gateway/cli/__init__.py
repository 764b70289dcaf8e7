"""The ``vcgate`` command line: a thin shell over the library, one module per command group.

Exit codes (every command): 0 success / verified, 1 invalid (the input is wrong), 2 error (could not decide:
a DID unresolvable, a ledger unreachable, an input file missing or unreadable), 64 usage (bad arguments, as
sysexits' EX_USAGE).
"""

from ._app import app, main

__all__ = ["app", "main"]
