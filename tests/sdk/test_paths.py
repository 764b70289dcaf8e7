"""Record paths: parsing (valid and invalid spellings) and resolution, table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from vcgate.adapters.sdk import RecordPath
from vcgate.canonical_schema import InputError

VALID = [
    ("a", ("a",)),
    ("a.b.c", ("a", "b", "c")),
    ("items[0].gtin", ("items", 0, "gtin")),
    ("items[-1]", ("items", -1)),
    ('["odd.key"].x', ("odd.key", "x")),
    ('a["with \\"quote\\""]', ("a", 'with "quote"')),
    ("[2][0]", (2, 0)),
    ("$", ()),
    ("ns:field.@id", ("ns:field", "@id")),
]


@pytest.mark.parametrize(("text", "segments"), VALID)
def test_parse_valid(text: str, segments: tuple[Any, ...]) -> None:
    assert RecordPath.parse(text).segments == segments


INVALID = [
    ("", "non-empty"),
    ("a..b", "character 3"),
    (".a", "character 1"),
    ("a.", "character 3"),
    ("a[x]", "bad bracket at character 2"),
    ("a[0]b", "expected '.' or '[' at character 5"),
    ("a b", "expected '.' or '[' at character 2"),
    ('a["unterminated]', "bad bracket"),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_parse_invalid(text: str, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace(".", r"\.")):
        RecordPath.parse(text)


DOC = {"a": {"b": [10, {"c": "x"}, None]}, "n": None, "odd.key": 1}

RESOLVE = [
    ("a.b[0]", True, 10, ("a", "b", 0)),
    ("a.b[1].c", True, "x", ("a", "b", 1, "c")),
    ("a.b[-2].c", True, "x", ("a", "b", 1, "c")),
    ("a.b[2]", False, None, ("a", "b", 2)),  # JSON null counts as absent
    ("a.b[3]", False, None, ("a", "b", 3)),
    ("a.z", False, None, ("a", "z")),
    ("a.b.c", False, None, ("a", "b", "c")),  # a name step into an array
    ("n", False, None, ("n",)),
    ('["odd.key"]', True, 1, ("odd.key",)),
    ("$", True, DOC, ()),
]


@pytest.mark.parametrize(("text", "found", "value", "walked"), RESOLVE)
def test_resolve(text: str, found: bool, value: Any, walked: tuple[Any, ...]) -> None:
    assert RecordPath.parse(text).resolve(DOC) == (found, value, walked)
