"""Strict-terms answers precompiled per document shape for the pinned contexts (``strict_terms.txt``).

The strict-terms check of the suites that do not expand (JCS, JOSE) runs PyLD once per document *shape*
(``_canonical.undefined_terms``: keys, nesting, type values and contexts; never literal values). In a fresh
process the first such run processes the document's contexts - ~60 ms for the Traceability context - so the first
eddsa-jcs-2022 verification of an invoice took ~70-100 ms. ``scripts/build_strict_terms.py`` runs PyLD at build
time on the shapes of the bundled example credentials (each list at 1-3 entries, unsigned and signed with each JCS
suite, with and without their evidence) and ships the answers: one line per shape, the SHA-256 of the shape key
and PyLD's undefined terms, in PyLD's order.

The file is used only for the default (pinned-context) loader and only while its digest - of the pinned-context
index (each context file's sha256), PyLD's version and this format - equals the running one; after a context or
PyLD change it is ignored (PyLD answers, only first-use speed suffers) until the script is run again. A shape the
file does not hold goes through PyLD as before. tests/proofs/test_strict_terms_shipped.py checks every shipped
answer against PyLD on the regenerated shapes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from importlib import resources
from threading import Lock
from typing import Any

from pyld.__about__ import __version__ as pyld_version

from . import _canonical

__all__ = ["dump_term_shapes", "load_term_shapes", "shipped_terms", "terms_digest"]

_FORMAT = 1
_FILE = "strict_terms.txt"  # package data (pyproject: *.txt)
_LOCK = Lock()
_SHIPPED: dict[str, tuple[str, ...]] = {}
_LOADED = False
#: how many lookups the shipped file answered (tests and benchmarks read it)
hits = 0


def terms_digest() -> str:
    """What a shipped answer depends on besides the shape: the pinned contexts, PyLD and this format."""
    index = resources.files("vcgate.canonical_schema").joinpath("contexts", "index.json").read_bytes()
    return hashlib.sha256(f"{_FORMAT}|{pyld_version}|".encode() + index).hexdigest()


def _encode(x: Any) -> Any:
    # the shape key (tuples of str and the identity-compared tags of `_canonical`) as JSON
    if x.__class__ is str:
        return x
    if x.__class__ is tuple:
        return [_encode(v) for v in x]
    if isinstance(x, _canonical._Tag):
        return {"tag": x.name}
    raise TypeError(f"unexpected {type(x).__name__} in a shape key")


def shape_digest(shape: Any) -> str:
    """SHA-256 hex of a ``_canonical._shape_key`` (stable across processes)."""
    text = json.dumps(_encode(shape), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def dump_term_shapes() -> str:
    """The strict-terms answers cached so far for the default loader, as text for :func:`load_term_shapes`."""
    with _canonical._SKELETON_LOCK:
        items = [(k[1], v) for k, v in _canonical._SKELETON_CACHE.items() if k[0] == id(None)]
    lines = sorted(f"{shape_digest(shape)}\t{json.dumps(list(terms))}" for shape, terms in items)
    header = json.dumps({"digest": terms_digest(), "format": _FORMAT})
    return "\n".join([header, *lines]) + "\n"


def load_term_shapes(text: str) -> int:
    """Make the answers in :func:`dump_term_shapes` output available; returns how many (0 for another digest)."""
    header, _, body = text.partition("\n")
    if json.loads(header).get("digest") != terms_digest():
        return 0
    loaded: dict[str, tuple[str, ...]] = {}
    for line in body.split("\n"):
        digest, tab, terms = line.partition("\t")
        if tab:
            value = json.loads(terms)
            if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
                raise ValueError(f"bad strict-terms entry {digest}")
            loaded[digest] = tuple(value)
    with _LOCK:
        _SHIPPED.update(loaded)
    return len(loaded)


def _load_packaged() -> None:
    global _LOADED
    with _LOCK:
        if _LOADED:
            return
        _LOADED = True
    packaged = resources.files(__package__).joinpath(_FILE)
    if packaged.is_file():
        # a damaged file costs only speed: PyLD then answers every shape
        with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
            load_term_shapes(packaged.read_text(encoding="utf-8"))


def shipped_terms(shape: Any) -> tuple[str, ...] | None:
    """The shipped answer for this shape key (default loader only), or ``None`` when the file has none."""
    global hits
    if not _LOADED:
        _load_packaged()
    if not _SHIPPED:
        return None
    try:
        found = _SHIPPED.get(shape_digest(shape))
    except TypeError:
        return None
    if found is not None:
        hits += 1
    return found
