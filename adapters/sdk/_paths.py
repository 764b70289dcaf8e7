"""Record paths: a small JSONPath-like syntax for reading one value out of a source record.

Grammar: ``$`` (the current value itself) or ``name`` followed by any of ``.name``, ``[index]`` (negative
counts
from the end) and ``["quoted name"]`` (for names with dots, brackets or spaces). Names are any characters
except
``. [ ] "`` and white space. No wildcards or filters: arrays are mapped with the ``array`` transform.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from vcgate.canonical_schema import InputError

_NAME = re.compile(r'[^.\[\]"\s]+')
_INDEX = re.compile(r"\[(-?\d+)\]")
_QUOTED = re.compile(r'\["((?:[^"\\]|\\.)*)"\]')

Segment = str | int


@dataclass(frozen=True, slots=True)
class RecordPath:
    """A parsed record path. Build with :meth:`parse`."""

    text: str
    segments: tuple[Segment, ...]

    @classmethod
    def parse(cls, text: str) -> RecordPath:
        """Parse ``text``; raise :class:`InputError` saying at which character the syntax breaks."""
        if not isinstance(text, str) or not text:
            raise InputError("a path must be a non-empty string")
        if text == "$":
            return cls(text, ())
        segments: list[Segment] = []
        pos = 0
        first = True
        while pos < len(text):
            if text[pos] == "[":
                m = _INDEX.match(text, pos)
                if m:
                    segments.append(int(m.group(1)))
                    pos = m.end()
                    first = False
                    continue
                q = _QUOTED.match(text, pos)
                if q:
                    segments.append(re.sub(r"\\(.)", r"\1", q.group(1)))
                    pos = q.end()
                    first = False
                    continue
                raise InputError(f'path {text!r}: bad bracket at character {pos + 1} (use [3] or ["name"])')
            if not first:
                if text[pos] != ".":
                    raise InputError(f"path {text!r}: expected '.' or '[' at character {pos + 1}")
                pos += 1
            m = _NAME.match(text, pos)
            if not m:
                raise InputError(f"path {text!r}: expected a field name at character {pos + 1}")
            segments.append(m.group(0))
            pos = m.end()
            first = False
        return cls(text, tuple(segments))

    def resolve(self, value: Any) -> tuple[bool, Any, tuple[Segment, ...]]:
        """Follow the path from ``value``: ``(found, result, segments walked)``.

        The segments are those actually walked (negative indexes resolved), or up to and including the first
        missing one; they name the place to report when the value is absent or wrong.

        A JSON ``null`` counts as absent, like a missing field: ledgers often write null for "not given".
        """
        current = value
        walked: list[Segment] = []
        for seg in self.segments:
            if isinstance(seg, int):
                if not isinstance(current, list) or not -len(current) <= seg < len(current):
                    return False, None, (*walked, seg)
                idx = seg if seg >= 0 else len(current) + seg
                current = current[idx]
                walked.append(idx)
            else:
                if not isinstance(current, dict) or seg not in current:
                    return False, None, (*walked, seg)
                current = current[seg]
                walked.append(seg)
        if current is None:
            return False, None, tuple(walked)
        return True, current, tuple(walked)
