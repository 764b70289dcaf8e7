"""vcgate's JCS (fast path through the C JSON encoder) equals the rfc8785 package on any JSON value."""

from __future__ import annotations

from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from vcgate.gateway import jcs

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    scalars, lambda children: st.lists(children) | st.dictionaries(st.text(), children), max_leaves=40
)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_jcs_equals_rfc8785(value: Any) -> None:
    assert jcs(value) == rfc8785.dumps(value)


def test_non_bmp_keys_sort_by_utf16() -> None:
    value = {"\U0001f600": 1, "\uffff": 2, "a": 3}
    assert jcs(value) == rfc8785.dumps(value)
    assert jcs(value).index("\uffff".encode()) > jcs(value).index("\U0001f600".encode())


def test_control_characters_and_escapes() -> None:
    value = {"s": '\x00\x1f\x7f\u2028"\\/é'}
    assert jcs(value) == rfc8785.dumps(value)
