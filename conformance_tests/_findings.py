"""Findings: a case collects everything wrong it finds, then fails once with all of it as the reason."""

from __future__ import annotations

from typing import NoReturn

import pytest

#: At most this many findings are listed in a reason (the count of the rest is given).
MAX_LISTED = 12


class Findings:
    """Problems found by one case. ``check(condition, message)`` records a problem; ``done()`` fails if any."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, message: str) -> None:
        """Record one problem."""
        self.items.append(message)

    def check(self, condition: bool, message: str) -> bool:
        """Record ``message`` unless ``condition`` holds; return ``condition``."""
        if not condition:
            self.items.append(message)
        return condition

    def done(self) -> None:
        """Fail the case with every finding as its reason, if there are any."""
        if self.items:
            listed = self.items[:MAX_LISTED]
            more = len(self.items) - len(listed)
            fail("; ".join(listed) + (f"; … and {more} more" if more else ""))


def fail(reason: str) -> NoReturn:
    """Fail the current case with ``reason`` (no traceback: the reason is the report)."""
    pytest.fail(reason, pytrace=False)
