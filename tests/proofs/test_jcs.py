"""vcgate's JCS (fast path through the C JSON encoder) equals the rfc8785 package on any JSON value."""

from __future__ import annotations

from typing import Any

import pytest
import rfc8785
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from vcgate.canonical_schema._jcs import _ENCODER, _plain_json, canonical_json
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


# --- the orjson fast path equals the C encoder path it replaced (and rfc8785), for every plain value ----------------

_any_text = st.text(alphabet=st.characters(blacklist_categories=()))  # surrogates and controls included


class _Int(int):
    pass


plain_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | _any_text
    | st.builds(_Int, st.integers(min_value=-5, max_value=5))
)
plain_values = st.recursive(
    plain_scalars,
    lambda children: st.lists(children) | st.dictionaries(st.text(max_size=6), children),
    max_leaves=40,
)


def _c_encoder_path(value: Any) -> Any:
    try:
        return _ENCODER.encode(value).encode("utf-8")
    except Exception as exc:
        return type(exc)


@settings(max_examples=400, deadline=None)
@given(plain_values)
def test_orjson_path_equals_the_c_encoder_path(value: Any) -> None:
    assume(_plain_json(value))  # (int subclasses are plain; str subclasses are not, they go to rfc8785)
    try:
        got: Any = canonical_json(value)
    except Exception as exc:
        got = type(exc)
    assert got == _c_encoder_path(value)
    if isinstance(got, bytes):
        assert got == rfc8785.dumps(value)


def test_lone_surrogates_keep_their_old_outcome() -> None:
    # orjson refuses them; the C encoder path then decides, as before the orjson path existed
    value = {"s": "\ud800"}
    with pytest.raises(UnicodeEncodeError):
        canonical_json(value)
