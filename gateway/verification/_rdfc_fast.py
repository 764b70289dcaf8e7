"""RDFC-1.0 fast path: JSON-LD → RDF compiled once per document shape, canonicalization in native code.

PyLD (through ``_canonical.rdfc``) stays the reference; this module answers only when it can show that its answer is
PyLD's, and returns ``None`` otherwise so the caller falls back.

**Compiled expansion.** A document's *shape* is its keys (in order), nesting, ``@context`` values, ``type``/``@type``
values, the values of the other ``@`` keywords (``@language``, ``@direction``, ``@index`` ...) and every other
non-string, non-integer scalar; the string and integer values are *slots*. The first document of a shape is
compiled: PyLD expands a skeleton in which slot *i* holds a unique placeholder (``urn:vcgate-slot:<nonce>:i`` or a
unique integer), and every output term is classified - a constant, a literal whose value is exactly placeholder *i*,
or an IRI that is exactly placeholder *i* and came from PyLD's ``_expand_iri`` (the call and its active context are
recorded). A shape is refused (always PyLD) when a placeholder turns up anywhere else: inside a longer string, as a
predicate, graph name, datatype or language, as an ``rdf:type`` object (a type could select a type-scoped context),
in a literal typed ``xsd:double`` (PyLD re-formats those) or ``rdf:JSON``, or as both a literal and an IRI. The
compiled template is then checked once more with a second, different set of placeholders: PyLD's canonical N-Quads
of that skeleton must equal the fast path's byte for byte, or the shape is refused.

**Per document.** Literal slots take the value verbatim (PyLD copies a string into a literal unchanged and writes an
integer as ``str(int)``). IRI slots are expanded again with the recorded ``_expand_iri`` calls (PyLD's own function,
the recorded active contexts), and must give one absolute, non-blank IRI that N-Quads can carry. Strings holding
characters PyLD and RDFC-1.0 escape differently (C0 controls other than tab/LF/CR, DEL) or lone surrogates are
refused. Two slots with equal values can merge JSON-LD nodes or values; the substituted dataset is then checked for
duplicate quads and the document refused if there are any (PyLD would have merged them).

**Canonicalization** is pyoxigraph's ``Dataset.canonicalize`` with ``RDFC_1_0`` / ``RDFC_1_0_SHA_384`` (not its
``UNSTABLE`` algorithm, whose labels are not ``c14nN``), and the serialized quads are sorted as RDFC-1.0 §4.5
requires (pyoxigraph serializes in hash-set order). tests/proofs/test_rdfc_fast.py compares both paths on every W3C
vector, the benchmark corpora and hypothesis-generated documents.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from threading import Lock
from typing import Any, Literal

import pyoxigraph as ox
from pyld import jsonld
from pyld.__about__ import __version__ as pyld_version
from pyld.nquads import escape as _pyld_escape

from ._canonical import (
    ISSUER_DEPENDENT,
    RdfcResult,
    _ContextCachingProcessor,
    _options,
    undefined_type_value,
)

__all__ = ["FastPathStats", "dump_shapes", "fast_rdfc", "fast_stats", "load_shapes"]

_NONCE = secrets.token_hex(6)
_PREFIX = f"urn:vcgate-slot:{_NONCE}:"
_INT_A = 7_319_000_000_000_000_000  # far below 1e21, so PyLD still writes these as xsd:integer
_INT_B = 8_437_000_000_000_000_000
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_XSD_DOUBLE = "http://www.w3.org/2001/XMLSchema#double"
_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
_RDF_JSON = "http://www.w3.org/1999/02/22-rdf-syntax-ns#JSON"
_RDF_LANGSTRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
# characters PyLD's N-Quads escaping leaves raw but RDFC-1.0 (and pyoxigraph) escape, and lone surrogates
_UNSAFE_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# PyLD's absolute-IRI test, plus the characters an N-Quads IRIREF cannot hold
_ABSOLUTE_IRI = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*|_):[^\s]*$")
_NEEDS_ESCAPE = re.compile(r'[\\\t\n\r"]')  # what PyLD's N-Quads escape() rewrites
_BAD_IRI = re.compile(r'[\x00-\x20<>"{}|^`\\\ud800-\udfff]')
_ALGORITHMS = {"sha256": ox.CanonicalizationAlgorithm.RDFC_1_0, "sha384": ox.CanonicalizationAlgorithm.RDFC_1_0_SHA_384}


class _RefusedError(Exception):
    """This shape or document cannot be shown equal to PyLD's result; use PyLD."""


class _Tag:
    """A node-kind marker inside shape keys; compared by identity, so no JSON value can equal it."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __reduce__(self) -> str:
        return self.name  # pickled as a reference to the module-level singleton of that name


_OBJECT, _ARRAY, _STR, _INT, _VALUE = (_Tag(n) for n in ("_OBJECT", "_ARRAY", "_STR", "_INT", "_VALUE"))
_INT_LIMIT = 10**21


def _by_value(value: Any) -> Any:
    # a hashable, type-exact rendering of a value kept in the shape (1, 1.0 and True must differ). A plain str is
    # itself and a list of str a tuple of them: every other rendering is a tuple starting with a _Tag, so no two
    # different values render equal.
    cls = value.__class__
    if cls is str:
        return value
    if cls is list:
        for v in value:
            if v.__class__ is not str:
                return (_ARRAY, *(_by_value(v) for v in value))
        return tuple(value)
    if value is None or cls is bool:
        return (_VALUE, cls.__name__, value)
    if cls is int or cls is float:
        return (_VALUE, cls.__name__, repr(value))
    if cls is dict:
        if any(k.__class__ is not str for k in value):
            raise _RefusedError
        return (_OBJECT, *((k, _by_value(v)) for k, v in value.items()))
    raise _RefusedError


def _walk(value: Any, values: list[Any]) -> Any:
    """The shape key of ``value``; its string and integer slot values are appended to ``values`` in walk order."""
    cls = value.__class__
    if cls is dict:
        parts: list[Any] = [_OBJECT]
        append = parts.append
        for k, v in value.items():
            if k.__class__ is not str:
                raise _RefusedError
            append(k)
            if (k[:1] == "@" and k != "@id" and k != "@value") or k == "type":
                append(_by_value(v))
            elif v.__class__ is str:
                values.append(v)
                append(_STR)
            else:
                append(_walk(v, values))
        return tuple(parts)
    if cls is str:
        values.append(value)
        return _STR
    if cls is list:
        return (_ARRAY, *(_walk(v, values) for v in value))
    if cls is int and -_INT_LIMIT < value < _INT_LIMIT:
        values.append(value)
        return _INT
    return _by_value(value)


def _skeleton(
    value: Any, key: str | None, strings: Callable[[int], Any], ints: Callable[[int], Any], n: list[int]
) -> Any:
    # the document with slot i replaced by strings(i) / ints(i), walked in exactly `_walk`'s order
    cls = value.__class__
    if cls is str or (cls is int and -_INT_LIMIT < value < _INT_LIMIT):
        i = n[0]
        n[0] += 1
        return strings(i) if cls is str else ints(i)
    if cls is dict:
        out: dict[str, Any] = {}
        for k, v in value.items():
            if (k[:1] == "@" and k != "@id" and k != "@value") or k == "type":
                out[k] = v
            else:
                out[k] = _skeleton(v, k, strings, ints, n)
        return out
    if cls is list:
        return [_skeleton(v, key, strings, ints, n) for v in value]
    return value


class _RecordingProcessor(_ContextCachingProcessor):
    """Records every ``_expand_iri`` call PyLD makes on a placeholder during expansion."""

    def __init__(self, watch: dict[str, list[tuple[Any, Any, bool]]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._watch = watch

    def _expand_iri(
        self,
        active_ctx: Any,
        value: Any,
        base: Any = None,
        vocab: bool = False,
        local_ctx: Any = None,
        defined: Any = None,
    ) -> Any:
        calls = self._watch.get(value) if value.__class__ is str else None
        if calls is not None:
            calls.append((active_ctx, base, vocab))
        return super()._expand_iri(active_ctx, value, base, vocab, local_ctx, defined)


_LITERAL_SLOT, _IRI_SLOT = 1, 2


@dataclass(frozen=True, slots=True)
class _IriRule:
    """PyLD's ``_expand_iri(ctx, value, base, vocab)`` (no local context) for one active context, where it does not
    depend on the base IRI - read off pyld.jsonld.JsonLdProcessor._expand_iri, step by step:

    a keyword or keyword-like value (both start with "@") is not decided here; with ``vocab`` a term gives its
    IRI (a null term is not decided); a value with a colon after its first character: prefix "_" (a blank node) is
    not decided, a suffix starting "//" is the value itself, a prefix term gives its IRI plus the suffix, an
    absolute IRI is itself; then with ``vocab`` and a context ``@vocab``, that plus the value. Everything else
    (relative IRIs, resolved against the base) is not decided: the caller asks PyLD, or falls back to it.
    """

    vocab: bool
    vocab_iri: str | None  # the context's @vocab (only used when vocab)
    prefixes: Mapping[str, str]  # prefix terms (mapping with _prefix true) -> their IRI
    terms: Mapping[str, str | None]  # every term -> its IRI, when vocab (else empty)

    @classmethod
    def of(cls, active_ctx: Any, vocab: bool) -> _IriRule:
        mappings = active_ctx["mappings"]
        prefixes = {k: m["@id"] for k, m in mappings.items() if m and m.get("_prefix")}
        terms = {k: (m["@id"] if m else None) for k, m in mappings.items()} if vocab else {}
        vocab_iri = active_ctx.get("@vocab") if vocab else None
        return cls(vocab, vocab_iri if isinstance(vocab_iri, str) else None, _intern(prefixes), _intern(terms))

    def expand(self, value: str) -> str | None:
        if value[:1] == "@":
            return None
        if self.vocab and value in self.terms:
            return self.terms[value]
        colon = value.find(":")
        if colon > 0:
            prefix = value[:colon]
            if prefix == "_":
                return None
            if value.startswith("//", colon + 1):
                return value
            iri = self.prefixes.get(prefix)
            if iri is not None:
                return iri + value[colon + 1 :]
            if _ABSOLUTE_IRI.match(value):
                return value
        if self.vocab and self.vocab_iri is not None:
            return self.vocab_iri + value
        return None


_INTERNED: dict[Any, Any] = {}


def _intern(mapping: dict[str, Any]) -> Mapping[str, Any]:
    # one copy of each distinct term map (a Traceability context has hundreds of terms, shared by many slots)
    return _INTERNED.setdefault(frozenset(mapping.items()), mapping)  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class _Template:
    """One shape compiled: the dataset as a %-format with a slot per value, and how to render each slot."""

    text: str  # N-Quads with "%s" where a slot's text goes ("%" in constants doubled)
    order: tuple[int, ...]  # the slot (index into the rendered values) of each "%s", in order
    quad_count: int
    str_literals: tuple[int, ...]  # slots holding a string written verbatim (escaped) into a literal
    int_literals: tuple[int, ...]  # slots holding an integer written as str(int) into a literal
    # IRI slots: (slot, the rules of PyLD's recorded expansions, the expansions themselves - None when the template
    # was loaded from a file rather than compiled in this process)
    iris: tuple[tuple[int, tuple[_IriRule, ...], tuple[tuple[Any, Any, bool], ...] | None], ...]
    # rdf:JSON literal j (slot len(values) + j): the path of its value, and whether it is `_plain_json`
    json_paths: tuple[tuple[tuple[Any, ...], bool], ...]
    constant_terms: tuple[str, ...]  # undefined terms that do not depend on values


def _term_text(term: Mapping[str, Any]) -> str:
    # PyLD's own N-Quads form of one term (pyld.nquads.serialize_nquad)
    if term["type"] == "IRI":
        return f"<{term['value']}>"
    if term["type"] == "blank node":
        return str(term["value"])
    text = f'"{_pyld_escape(term["value"])}"'
    datatype = term.get("datatype")
    if datatype == _RDF_LANGSTRING:
        return text + (f"@{term['language']}" if term.get("language") else "")
    if datatype and datatype != _XSD_STRING:
        return f"{text}^^<{datatype}>"
    return text


def _expand(document: Any, loader: Any, watch: dict[str, list[tuple[Any, Any, bool]]]) -> tuple[Any, list[str]]:
    dropped: list[str] = []
    processor = _RecordingProcessor(watch, on_property_dropped=lambda p: dropped.append(str(p)))
    options = _options(loader)
    del options["format"]
    return processor.to_rdf(document, options), dropped


def _compile(document: Any, slot_count: int, loader: Any) -> _Template:
    slot_types: list[type] = []
    _skeleton(document, None, lambda i: slot_types.append(str), lambda i: slot_types.append(int), [0])
    strings = {f"{_PREFIX}{i}": i for i in range(slot_count)}
    ints = {str(_INT_A + i): i for i in range(slot_count)}
    watch: dict[str, list[tuple[Any, Any, bool]]] = {s: [] for s in strings}
    skeleton = _skeleton(document, None, lambda i: f"{_PREFIX}{i}", lambda i: _INT_A + i, [0])
    dataset, dropped = _expand(skeleton, loader, watch)
    kinds = [0] * slot_count
    pieces: list[Any] = []
    constant_terms = list(dropped)
    quads = 0

    def slot(term: Mapping[str, Any], role: str, predicate: str) -> Any:
        value = term["value"]
        if term["type"] == "IRI":
            i = strings.get(value)
            if i is None or (role == "o" and predicate == _RDF_TYPE) or not watch[value]:
                raise _RefusedError
            kind = _IRI_SLOT
        else:
            if _NONCE in term.get("datatype", "") or _NONCE in term.get("language", ""):
                raise _RefusedError
            if term.get("datatype") == _RDF_JSON:
                return json_slot(term["value"])
            if term.get("datatype") == _XSD_DOUBLE:
                raise _RefusedError
            i = strings.get(value)
            if i is None:
                i = ints.get(value)
                if i is None or term.get("datatype") == _XSD_STRING:
                    raise _RefusedError
            elif watch[value]:
                raise _RefusedError  # expanded as an IRI somewhere, yet a literal here
            kind = _LITERAL_SLOT
        if kinds[i] not in (0, kind):
            raise _RefusedError
        kinds[i] = kind
        return i

    def slot_pieces(term: Mapping[str, Any], role: str, predicate: str) -> list[Any]:
        # the term's text with its value left open: <slot>, or "slot" and the literal's (constant) suffix
        i = slot(term, role, predicate)
        if term["type"] == "IRI":
            return ["<", i, ">"]
        suffix = _term_text({**term, "value": ""})[1:]  # the closing quote and the suffix
        return ['"', i, suffix]

    json_paths: list[tuple[tuple[Any, ...], bool]] = []

    def json_slot(text: str) -> int:
        # an rdf:JSON literal: PyLD writes the JSON value's canonical form (c14n), so find the value in the skeleton
        # and render it the same way for each document
        path = _find_json(skeleton, text, ())
        if path is None:
            raise _RefusedError
        node = skeleton
        for step in path:
            node = node[step]
        json_paths.append((path, _plain_json(node)))
        return slot_count + len(json_paths) - 1

    for graph, triples in dataset.items():
        if graph != "@default":
            raise _RefusedError  # named graphs: rare in credentials, left to PyLD
        for t in triples:
            predicate = t["predicate"]["value"]
            if _NONCE in predicate:
                raise _RefusedError
            if predicate.startswith(ISSUER_DEPENDENT):
                constant_terms.append(predicate)
            for role in ("s", "o"):
                term = t["subject" if role == "s" else "object"]
                dt = term.get("datatype")
                if isinstance(dt, str) and dt.startswith(ISSUER_DEPENDENT):
                    constant_terms.append(dt)
                text = _term_text(term)
                if _NONCE in text or (term["type"] == "literal" and term["value"] in ints):
                    pieces.extend(slot_pieces(term, role, predicate))
                else:
                    # (an integer placeholder PyLD re-formatted, e.g. as a double, would sit here as a constant;
                    # the second-opinion check in `_compile_checked` refuses such a shape)
                    pieces.append(text)
                    if term["type"] == "IRI" and term["value"].startswith(ISSUER_DEPENDENT):
                        constant_terms.append(term["value"])
                    elif role == "o" and (undefined := undefined_type_value(predicate, term)) is not None:
                        constant_terms.append(undefined)
                if role == "s":
                    pieces.append(" <" + predicate + "> ")
            pieces.append(" .\n")
            quads += 1
    fmt: list[str] = []
    order: list[int] = []
    for p in pieces:
        if p.__class__ is str:
            fmt.append(p.replace("%", "%%"))
        else:
            fmt.append("%s")
            order.append(p)
    return _Template(
        "".join(fmt),
        tuple(order),
        quads,
        tuple(i for i in range(slot_count) if kinds[i] == _LITERAL_SLOT and slot_types[i] is str),
        tuple(i for i in range(slot_count) if kinds[i] == _LITERAL_SLOT and slot_types[i] is int),
        tuple(
            (i, tuple(_IriRule.of(c, v) for c, b, v in watch[f"{_PREFIX}{i}"]), tuple(watch[f"{_PREFIX}{i}"]))
            for i in range(slot_count)
            if kinds[i] == _IRI_SLOT
        ),
        tuple(json_paths),
        tuple(constant_terms),
    )


def _find_json(node: Any, text: str, path: tuple[Any, ...]) -> tuple[Any, ...] | None:
    # the path of the (placeholder-holding, hence unique) value whose canonical JSON is `text`
    if node.__class__ is dict:
        items: Any = node.items()
    elif node.__class__ is list:
        items = enumerate(node)
    else:
        return path if node.__class__ is str and _NONCE in node and _json_text(node) == text else None
    if _json_text(node) == text:
        return path
    for k, v in items:
        found = _find_json(v, text, (*path, k))
        if found is not None:
            return found
    return None


def _plain_json(value: Any) -> bool:
    # Objects, arrays, strings, booleans and null, with no key outside the BMP. For such a value RFC 8785 (what
    # PyLD's c14n writes) is exactly json.dumps with sorted keys, compact separators and ensure_ascii=False: the
    # same string escapes (c14n's encoder is CPython's, lowercase \u00xx), and sorting by UTF-16 code units equals
    # sorting by code points when no key has a surrogate pair. Numbers (ES6 formatting) are left to c14n.
    # tests/proofs/test_rdfc_fast.py checks the equality with hypothesis. The shape fixes all of this (numbers are
    # slots of a known type or constants, keys are part of the shape), so it is decided once per template.
    cls = value.__class__
    if cls is dict:
        return all(max(k, default="\0") < "\U00010000" and _plain_json(v) for k, v in value.items())
    if cls is list:
        return all(_plain_json(v) for v in value)
    return cls is str or cls is bool or value is None


_JSON_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _json_text(value: Any) -> str | None:
    try:
        return str(jsonld.canonicalize(value).decode("utf-8"))  # c14n's RFC 8785, what PyLD writes rdf:JSON with
    except (TypeError, ValueError, UnicodeError, RecursionError):
        return None


def _merge_constants(pieces: list[Any]) -> list[Any]:
    out: list[Any] = []
    for p in pieces:
        if p.__class__ is str and out and out[-1].__class__ is str:
            out[-1] += p
        else:
            out.append(p)
    return out


_EXPANDER = _ContextCachingProcessor()


def _render(
    template: _Template, document: Any, values: list[Any], algorithm: str
) -> tuple[str, tuple[str, ...]] | None:
    rendered = list(values)
    strings = [values[i] for i in template.str_literals]
    joined = "".join(strings)
    if _UNSAFE_TEXT.search(joined):
        return None
    if _NEEDS_ESCAPE.search(joined):
        for i in template.str_literals:
            rendered[i] = _pyld_escape(values[i])
    for i in template.int_literals:
        rendered[i] = str(int(values[i]))
    terms = list(template.constant_terms)
    for i, rules, expansions in template.iris:
        value = values[i]
        iri: Any = rules[0].expand(value)
        for rule in rules[1:]:
            if rule.expand(value) != iri:
                iri = None
        if iri is None:
            if expansions is None:
                return None  # a loaded template has no PyLD context to decide with
            for ctx, base, vocab in expansions:
                got = _EXPANDER._expand_iri(ctx, value, base, vocab)
                if iri is not None and got != iri:
                    return None
                iri = got
        if iri.__class__ is not str or iri.startswith("_:") or not _ABSOLUTE_IRI.match(iri) or _BAD_IRI.search(iri):
            return None
        if iri.startswith(ISSUER_DEPENDENT):
            terms.append(iri)  # issuer-dependent terms are reported as full IRIs (_canonical)
        rendered[i] = iri
    for path, plain in template.json_paths:
        node = document
        for step in path:
            node = node[step]
        literal = _JSON_ENCODER.encode(node) if plain else _json_text(node)
        if literal is None or _UNSAFE_TEXT.search(literal):
            return None
        rendered.append(_pyld_escape(literal))
    text = template.text % tuple(map(rendered.__getitem__, template.order))
    try:
        # lenient: skip oxigraph's IRI grammar checks; every IRI here is PyLD's own output that passed
        # _ABSOLUTE_IRI and _BAD_IRI (nothing an N-Quads IRIREF cannot hold), and is kept verbatim either way
        dataset = ox.Dataset(ox.parse(text.encode("utf-8"), format=ox.RdfFormat.N_QUADS, lenient=True))
    except (SyntaxError, ValueError, UnicodeError):
        return None
    if len(dataset) != template.quad_count:
        return None  # equal values merged quads; PyLD's node map may differ, so let PyLD answer
    dataset.canonicalize(_ALGORITHMS[algorithm])
    # Split on "\n" only: str.splitlines would also split at U+2028, U+0085 ..., which literals hold raw. Sorting
    # the lines without their "\n" gives PyLD's order (no line holds a raw character below "\n").
    # str(Dataset) is pyoxigraph's N-Quads serialization as text (the same term formatting as ox.serialize, without
    # the bytes round trip: ~7 instead of ~18 µs for an invoice); tests/proofs/test_rdfc_fast.py compares with PyLD
    lines = str(dataset).split("\n")
    lines.pop()  # after the last "\n"
    lines.sort()
    lines.append("")
    return "\n".join(lines), tuple(terms)


_TEMPLATES: dict[Any, Any] = {}  # shape key -> _Template, or None for a refused shape
_MISSING = object()
_SEEN: set[Any] = set()  # shape keys met once, not compiled yet
_TEMPLATES_SIZE = 4096
_LOCK = Lock()


@dataclass(slots=True)
class FastPathStats:
    """Counters of the fast path (for benchmarks and tests): documents answered, fallbacks, shapes compiled."""

    answered: int = 0
    fell_back: int = 0
    compiled: int = 0
    refused_shapes: int = 0


_STATS = FastPathStats()


def fast_stats() -> FastPathStats:
    """The process-wide fast-path counters (not locked: approximate under threads)."""
    return _STATS


def fast_rdfc(
    document: Mapping[str, Any],
    loader: Callable[..., Any] | None,
    hash_algorithm: Literal["sha256", "sha384"],
) -> RdfcResult | None:
    """``rdfc(document)`` by the compiled path, or ``None`` when it cannot be shown equal to PyLD's answer."""
    values: list[Any] = []
    try:
        key = (0 if loader is None else id(loader), _walk(document, values))
        template = _TEMPLATES.get(key, _MISSING)  # (hashes the key: a non-JSON value raises TypeError here)
    except (_RefusedError, TypeError, RecursionError):
        _STATS.fell_back += 1
        return None
    if template is _MISSING and key[0] == 0:
        if not _PACKAGED_LOADED:
            _load_packaged_shapes()
        template = _saved_template(key[1])
        if template is not _MISSING:
            with _LOCK:
                _TEMPLATES[key] = template
    if template is _MISSING and key not in _SEEN:
        # A shape is compiled the second time it is seen, not the first: compiling costs two PyLD expansions and a
        # PyLD canonicalization, so a stream of one-off (e.g. hostile) shapes must not cost more than PyLD alone.
        with _LOCK:
            if len(_SEEN) >= _TEMPLATES_SIZE:
                _SEEN.clear()
            _SEEN.add(key)
        _STATS.fell_back += 1
        return None
    if template is _MISSING:
        template = _compile_checked(document, len(values), loader, hash_algorithm)
        with _LOCK:
            if len(_TEMPLATES) >= _TEMPLATES_SIZE:
                _TEMPLATES.clear()  # bounded; hostile streams of new shapes cannot grow it without limit
            _TEMPLATES[key] = template
    if template is None:
        _STATS.fell_back += 1
        return None
    got = _render(template, document, values, hash_algorithm)
    if got is None:
        _STATS.fell_back += 1
        return None
    _STATS.answered += 1
    return RdfcResult(got[0], got[1])


def _compile_checked(document: Any, slot_count: int, loader: Any, hash_algorithm: str) -> _Template | None:
    from ._canonical import rdfc  # the reference

    try:
        template = _compile(document, slot_count, loader)
        # second opinion with different placeholders: the template must predict PyLD's output for them exactly
        other = _skeleton(document, None, lambda i: f"{_PREFIX}b{i}", lambda i: _INT_B + i, [0])
        values: list[Any] = []
        _walk(other, values)
        expected = rdfc(other, loader, hash_algorithm=hash_algorithm, fast=False)  # type: ignore[arg-type]
        got = _render(template, other, values, hash_algorithm)
    except _RefusedError:
        got = None
        template = None
    except Exception:  # any PyLD error on the skeleton: leave the shape to PyLD, which reports it
        got = None
        template = None
    if (
        template is None
        or got is None
        or got[0] != expected.nquads
        or sorted(got[1]) != sorted(expected.undefined_terms)
    ):
        _STATS.refused_shapes += 1
        return None
    _STATS.compiled += 1
    return template


# --- compiled shapes saved to / loaded from JSON (the precompiled set shipped with the package) ------------------

_SHAPES_FORMAT = 4
_SHAPES_FILE = "rdfc_shapes.txt"  # package data (pyproject: *.txt)
_TAGS = {t.name: t for t in (_OBJECT, _ARRAY, _STR, _INT, _VALUE)}


def _shapes_digest() -> str:
    # what a compiled shape depends on besides the document: the pinned contexts (their index lists each file's
    # sha256), PyLD, pyoxigraph and this module's format. A file with another digest is ignored.
    index = resources.files("vcgate.canonical_schema").joinpath("contexts", "index.json").read_bytes()
    versions = f"{_SHAPES_FORMAT}|{pyld_version}|{ox.__version__}|".encode()
    return hashlib.sha256(versions + index).hexdigest()


def _encode(x: Any, sets: dict[int, tuple[int, Mapping[str, Any]]]) -> Any:
    if isinstance(x, _Tag):
        return {"tag": x.name}
    if x.__class__ is tuple:
        return [_encode(v, sets) for v in x]
    if isinstance(x, _IriRule):
        maps = [sets.setdefault(id(m), (len(sets), m))[0] for m in (x.prefixes, x.terms)]  # interned: by identity
        return {"rule": [x.vocab, x.vocab_iri, *maps]}
    if isinstance(x, _Template):
        iris = tuple((i, rules, None) for i, rules, _ in x.iris)  # PyLD contexts stay in this process
        fields = (x.text, x.order, x.quad_count, x.str_literals, x.int_literals, iris, x.json_paths, x.constant_terms)
        return {"template": _encode(fields, sets)}
    if x is None or x.__class__ in (str, int, bool):
        return x
    raise TypeError(f"cannot save {type(x).__name__} in a compiled shape")


def _decode(x: Any, sets: list[Mapping[str, Any]]) -> Any:
    if x.__class__ is list:
        return tuple(_decode(v, sets) for v in x)
    if x.__class__ is dict:
        ((kind, v),) = x.items()
        if kind == "tag":
            return _TAGS[v]
        if kind == "rule":
            return _IriRule(bool(v[0]), v[1], sets[v[2]], sets[v[3]])
        if kind == "template":
            return _Template(*_decode(v, sets))
        raise ValueError(f"unknown entry {kind!r} in a compiled-shapes file")
    return x


def _key_digest(shape: Any) -> str:
    text = json.dumps(_encode(shape, {}), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def dump_shapes() -> str:
    """The shapes compiled so far for the default (pinned-context) loader, as text for :func:`load_shapes`.

    A JSON header line (digest, shared term maps), then one line per shape: the digest of its key, a tab, the
    template as JSON. Loading indexes the lines; a template is parsed only when a document of its shape turns up.
    """
    sets: dict[int, tuple[int, Mapping[str, Any]]] = {}
    with _LOCK:
        entries = sorted(
            (_key_digest(key[1]), json.dumps(_encode(t, sets), ensure_ascii=False, separators=(",", ":")))
            for key, t in _TEMPLATES.items()
            if key[0] == 0
        )
    maps = [m for _, m in sorted(sets.values(), key=lambda e: e[0])]
    header = json.dumps({"digest": _shapes_digest(), "maps": maps}, ensure_ascii=False, separators=(",", ":"))
    return "\n".join([header, *(f"{digest}\t{template}" for digest, template in entries)]) + "\n"


def load_shapes(text: str) -> int:
    """Make the shapes in :func:`dump_shapes` output available; returns how many (0 for another digest).

    A loaded shape carries no PyLD context: documents whose IRI values its rules cannot decide fall back to PyLD.
    """
    header, _, body = text.partition("\n")
    data = json.loads(header)
    if data.get("digest") != _shapes_digest():
        return 0
    maps = [_intern(m) for m in data["maps"]]
    count = 0
    with _LOCK:
        for line in body.split("\n"):
            digest, tab, template = line.partition("\t")
            if tab:
                _SAVED[digest] = (template, maps)
                count += 1
    return count


def _saved_template(shape: Any) -> Any:
    # a loaded (not yet decoded) template for this shape, or _MISSING
    if not _SAVED:
        return _MISSING
    hit = _SAVED.get(_key_digest(shape))
    if hit is None:
        return _MISSING
    return _decode(json.loads(hit[0]), hit[1])


def _load_packaged_shapes() -> None:
    # once per process, before the first compile: the shapes precompiled at build time (scripts/build_rdfc_shapes.py)
    global _PACKAGED_LOADED
    _PACKAGED_LOADED = True
    packaged = resources.files(__package__).joinpath(_SHAPES_FILE)
    if packaged.is_file():
        # a damaged file costs only speed: every shape is then compiled as if it were absent
        with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
            load_shapes(packaged.read_text(encoding="utf-8"))


_SAVED: dict[str, tuple[str, list[Mapping[str, Any]]]] = {}
_PACKAGED_LOADED = False
