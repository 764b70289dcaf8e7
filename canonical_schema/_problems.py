"""RFC 9457-style problem objects shared by every layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROBLEM_TYPE_BASE = "https://w3id.org/vcgate/problems#"


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem found in an input: a stable ``code``, a short ``title``, a ``detail`` and a JSON ``pointer``.

    Codes are documented in ``docs/problem-codes.md``; they never change meaning once published.
    """

    code: str
    title: str
    detail: str = ""
    pointer: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Render as an RFC 9457 problem details object (``type`` is the code under vcgate's namespace)."""
        out: dict[str, Any] = {
            "type": PROBLEM_TYPE_BASE + self.code,
            "code": self.code,
            "title": self.title,
            "detail": self.detail,
        }
        if self.pointer:
            out["pointer"] = self.pointer
        out.update(self.extra)
        return out


def json_pointer(*parts: str | int) -> str:
    """Build an RFC 6901 JSON pointer from path segments."""
    if not parts:
        return ""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
