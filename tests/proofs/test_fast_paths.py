"""Each verification fast path (ADR 0004, "Later additions") gives what the code it replaced gives, on generated input.

- ``_b58decode`` (proofValue) equals ``base58.b58decode``, errors included;
- the one-pass ``_plain_json`` equals the general walk it delegates to (the JCS fast-path verdict);
- ``_shape_key`` (strict-terms cache key) never merges documents whose skeletons differ, and does merge documents
  that differ only in literal values;
- the JSON-tree copy handed to PyLD equals ``copy.deepcopy``, shares no container with its input and keeps aliasing;
- the memo key of a pinned type-scoped context equals the ``json.dumps`` key it replaces, and only pinned objects
  (by identity, not by equal content) get one.
"""

from __future__ import annotations

import copy
import json
from collections import OrderedDict
from enum import IntEnum
from typing import Any

import base58
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vcgate.canonical_schema import pinned_contexts
from vcgate.canonical_schema._jcs import _plain_json, _plain_json_general
from vcgate.gateway.verification._canonical import (
    _JsonTreeInput,
    _pinned_local_key,
    _shape_key,
    _skeleton,
)
from vcgate.gateway.verification._proofs import _b58decode

# --- base58btc ------------------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80))
def test_b58decode_round_trips_like_base58(raw: bytes) -> None:
    text = base58.b58encode(raw).decode("ascii")
    assert _b58decode(text) == base58.b58decode(text) == raw


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_b58decode_matches_base58_on_any_text(text: str) -> None:
    try:
        expected: bytes | None = base58.b58decode(text)
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(ValueError, match="invalid base58 character"):
            _b58decode(text)
    else:
        assert _b58decode(text) == expected


@pytest.mark.parametrize("text", ["", "1", "111", "11z", "z ", "z\t\n", "0", "Ol", "zé"])
def test_b58decode_edge_cases(text: str) -> None:
    try:
        expected: bytes | None = base58.b58decode(text)
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(ValueError, match="invalid base58 character"):
            _b58decode(text)
    else:
        assert _b58decode(text) == expected


# --- the JCS plain-JSON verdict -------------------------------------------------------------------------------


class _Small(IntEnum):
    ONE = 1


class _Str(str):
    pass


scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**60), max_value=2**60)
    | st.floats(allow_nan=False)
    | st.text()
    | st.sampled_from([_Small.ONE, _Str("s"), b"bytes", 2**53, -(2**53), 2**53 - 1])
)
keys = st.text() | st.sampled_from(["\U0001f600", "é", _Str("k")])
values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(keys, children, max_size=4)
        | st.dictionaries(keys, children, max_size=3).map(OrderedDict)
        | st.tuples(children)
    ),
    max_leaves=30,
)


@settings(max_examples=500, deadline=None)
@given(values)
def test_one_pass_plain_json_equals_general_walk(value: Any) -> None:
    assert _plain_json(value) == _plain_json_general(value)


def test_plain_json_rejects_non_string_keys_and_astral_keys() -> None:
    assert _plain_json({1: "a"}) is _plain_json_general({1: "a"}) is False
    assert _plain_json({"a": {"\U0001f600": 1}}) is False
    assert _plain_json({"a": [1.5]}) is False
    assert _plain_json({"a": [2**53]}) is False
    assert _plain_json({"é": ["x", None, True, 3]}) is True


# --- the strict-terms shape key -------------------------------------------------------------------------------

json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["type", "@type", "a", "b", "@context"]), children, max_size=3)
    ),
    max_leaves=20,
)


def _other_literals(value: Any, key: str | None = None) -> Any:
    # the same document with every literal the skeleton hides replaced by a different literal
    if isinstance(value, dict):
        return {k: (v if k == "@context" else _other_literals(v, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_other_literals(v, key) for v in value]
    if key in ("type", "@type"):
        return value
    return 12345 if isinstance(value, str) else "changed"


@settings(max_examples=500, deadline=None)
@given(json_values, json_values)
def test_equal_shape_keys_mean_equal_skeletons(a: Any, b: Any) -> None:
    if _shape_key(a) == _shape_key(b):
        # order-preserving JSON text: stricter than the sorted text the cache used to be keyed on
        assert json.dumps(_skeleton(a)) == json.dumps(_skeleton(b))


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_documents_differing_only_in_literals_share_a_shape_key(value: Any) -> None:
    assert _shape_key(value) == _shape_key(_other_literals(value))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ({"type": 1}, {"type": True}),
        ({"type": 1}, {"type": 1.0}),
        ({"type": "1"}, {"type": 1}),
        ({"type": ["A"]}, {"type": "A"}),
        ({"a": []}, {"a": {}}),
        ({"a": ["x"]}, {"a": "x"}),
        ({1: "x"}, {True: "x"}),
        ({"@context": {"@version": 1}}, {"@context": {"@version": True}}),
        ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
    ],
)
def test_shape_key_keeps_apart_what_the_skeleton_keeps_apart(a: Any, b: Any) -> None:
    assert _shape_key(a) != _shape_key(b)


# --- the JSON-tree copy handed to PyLD ------------------------------------------------------------------------


def _containers(value: Any) -> list[Any]:
    out: list[Any] = []
    stack = [value]
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            out.append(cur)
            stack.extend(cur.values())
        elif isinstance(cur, list):
            out.append(cur)
            stack.extend(cur)
    return out


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=4), values, max_size=4))
def test_json_tree_copy_equals_deepcopy_and_is_independent(document: dict[str, Any]) -> None:
    fast = copy.deepcopy(_JsonTreeInput(document))
    assert type(fast) is dict
    assert fast == copy.deepcopy(document)
    originals = {id(c) for c in _containers(document)}
    assert not any(id(c) in originals for c in _containers(fast))


def test_json_tree_copy_keeps_aliasing_like_deepcopy() -> None:
    shared: list[Any] = [{"x": 1}]
    document = {"a": shared, "b": shared, "c": [shared]}
    fast = copy.deepcopy(_JsonTreeInput(document))
    slow = copy.deepcopy(document)
    assert fast == slow
    assert fast["a"] is fast["b"] is fast["c"][0]
    assert slow["a"] is slow["b"] is slow["c"][0]
    assert fast["a"] is not shared


# --- the memo key of pinned type-scoped contexts --------------------------------------------------------------


def _pinned_dicts() -> list[dict[str, Any]]:
    return [c for p in pinned_contexts().values() for c in _containers(p.document) if isinstance(c, dict)]


def test_pinned_local_key_equals_the_json_key() -> None:
    pinned = _pinned_dicts()
    assert len(pinned) > 100
    for obj in pinned[::7]:
        key = json.dumps(obj, sort_keys=True, default=dict)
        assert _pinned_local_key(obj) == key
        assert _pinned_local_key(obj) == key  # second call, from the memo


def test_equal_but_unpinned_context_gets_no_pinned_key() -> None:
    obj = next(c for c in _pinned_dicts() if len(c) > 2)
    clone = copy.deepcopy(obj)
    assert clone == obj
    assert _pinned_local_key(clone) is None
    assert _pinned_local_key({"@vocab": "https://example.org/"}) is None
