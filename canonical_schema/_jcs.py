"""RFC 8785 JSON Canonicalization Scheme, with a fast path.

Documents without floats, integers beyond ±2^53 or object keys outside the Basic Multilingual Plane serialize
identically under Python's C JSON encoder (sorted keys, compact separators, no ASCII escaping) and under RFC 8785;
those take the fast path (≈ 10× faster). Everything else goes through the ``rfc8785`` package, whose exceptions pass
through unchanged. ``tests/proofs/test_jcs.py`` checks the two agree with hypothesis.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

_SAFE_INT = 2**53


def _plain_json(value: Any) -> bool:
    # JCS prints numbers the ECMAScript way (floats differ from Python's repr) and sorts keys by UTF-16 code units
    # (Python sorts by code points; they differ only above the BMP).
    stack = [value]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            for k, v in cur.items():
                if not isinstance(k, str) or (not k.isascii() and any(ord(c) > 0xFFFF for c in k)):
                    return False
                stack.append(v)
        elif isinstance(cur, list):
            stack.extend(cur)
        elif cur.__class__ is str or cur is None or cur.__class__ is bool:
            continue
        elif isinstance(cur, int):
            if not -_SAFE_INT < cur < _SAFE_INT:
                return False
        else:
            return False
    return True


def canonical_json(value: Any) -> bytes:
    """The RFC 8785 canonical form of ``value`` (raises ``rfc8785``'s errors for values JCS cannot encode)."""
    if _plain_json(value):
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return rfc8785.dumps(value)
