"""Canonicalization for Data Integrity: RDFC-1.0 (via PyLD) and RFC 8785 JCS, with the strict-terms check.

Strictness (VC Data Integrity §4.2 "data loss"; the most cited false positive in VC libraries): a property that no
context defines is either dropped by JSON-LD expansion (so it is not signed) or, under credentials/v2 and
traceability/v1, expanded under the ``issuer-dependent#`` vocabulary. vcgate rejects both unless an allow-list names
the term. Both are detected during the same expansion that produces the RDF dataset, so the check costs nothing extra
for the RDFC suites.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from threading import Lock
from typing import Any, Literal

import rfc8785
from frozendict import frozendict
from pyld import jsonld
from pyld.canon import URDNA2015

from vcgate.canonical_schema import (
    ContextNotAllowedError,
    Problem,
    VcgateError,
    canonical_json,
    document_loader,
    pinned_contexts,
)

ISSUER_DEPENDENT = "https://www.w3.org/ns/credentials/issuer-dependent#"

_LOADER = document_loader()


class CanonicalizationError(VcgateError):
    """The document could not be canonicalized (invalid JSON-LD, an unpinned context, a non-JSON value)."""

    def __init__(self, message: str, *, code: str = "CANONICALIZATION_FAILED", url: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.url = url


@dataclass(frozen=True, slots=True)
class RdfcResult:
    """Canonical N-Quads of a document and the undefined terms found while expanding it."""

    nquads: str
    undefined_terms: tuple[str, ...]


class _ContextCachingProcessor(jsonld.JsonLdProcessor):  # type: ignore[misc]  # pyld is untyped
    """PyLD's processor with a memo of processed contexts that survives type-scoped contexts.

    PyLD caches a processed context per (active context, local context) but gives every non-propagating
    (type-scoped) context a fresh clone with a new id, so under the Traceability Vocabulary - hundreds of
    type-scoped contexts - nothing below the first typed node ever hits its cache: ~35 ms per credential. Active
    contexts are immutable once processed and carry a unique ``_uuid``, so (uuid, local context, flags) determines
    the result; memoising on it gives ~1.7 ms. tests/proofs/test_canonical_cache.py cross-checks the output against
    plain PyLD byte for byte.
    """

    def _expand_iri(
        self,
        active_ctx: Any,
        value: Any,
        base: Any = None,
        vocab: bool = False,
        local_ctx: Any = None,
        defined: Any = None,
    ) -> Any:
        # During expansion (no local context being defined) the result depends only on the immutable active
        # context, the value and the flags; memoise it per active context id. Context processing (local_ctx given)
        # has side effects and always goes through PyLD.
        # PyLD reports a dropped property by its expansion (None for a null-mapped or keyword-like key), right
        # after expanding it: remember the key, so the strict-terms check can name it.
        self.last_key = value
        if local_ctx is not None or not isinstance(value, str):
            return super()._expand_iri(active_ctx, value, base, vocab, local_ctx, defined)
        uid = active_ctx.get("_uuid") if isinstance(active_ctx, (dict, frozendict)) else None
        if uid is None:
            return super()._expand_iri(active_ctx, value, base, vocab, local_ctx, defined)
        key = (uid, value, base, vocab)
        try:
            return _IRI_MEMO[key]
        except KeyError:
            pass
        result = super()._expand_iri(active_ctx, value, base, vocab, local_ctx, defined)
        if len(_IRI_MEMO) >= _IRI_MEMO_SIZE:
            _IRI_MEMO.clear()  # bounded: hostile documents full of distinct IRIs cannot grow it without limit
        _IRI_MEMO[key] = result
        return result

    def _process_context(
        self,
        active_ctx: Any,
        local_ctx: Any,
        options: Any,
        override_protected: bool = False,
        propagate: bool = True,
        validate_scoped: bool = True,
        cycles: Any = None,
    ) -> Any:
        uid = active_ctx.get("_uuid") if isinstance(active_ctx, (dict, frozendict)) else None
        if uid is None or cycles:
            return self._process_context_safely(
                active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
            )
        if isinstance(local_ctx, str):
            local_key: Any = local_ctx
        elif isinstance(local_ctx, list) and all(isinstance(x, str) for x in local_ctx):
            local_key = tuple(local_ctx)
        elif (pinned_key := _pinned_local_key(local_ctx)) is not None:
            local_key = pinned_key
        else:
            try:
                local_key = json.dumps(local_ctx, sort_keys=True, default=dict)
            except (TypeError, ValueError):
                return self._process_context_safely(
                    active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
                )
        key = (
            id(options.get("documentLoader")),
            options.get("base"),
            uid,
            local_key,
            override_protected,
            propagate,
            validate_scoped,
        )
        with _MEMO_LOCK:
            hit = _CONTEXT_MEMO.get(key)
            if hit is not None:
                _CONTEXT_MEMO.move_to_end(key)
                return hit
        result = self._process_context_safely(
            active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
        )
        with _MEMO_LOCK:
            _CONTEXT_MEMO[key] = result
            while len(_CONTEXT_MEMO) > _CONTEXT_MEMO_SIZE:
                _CONTEXT_MEMO.popitem(last=False)
        return result

    def _process_context_safely(self, active_ctx: Any, local_ctx: Any, options: Any, *flags: Any) -> Any:
        try:
            return super()._process_context(active_ctx, local_ctx, options, *flags)
        except KeyError as exc:
            if exc.args != ("@vocab",):
                raise
        # PyLD deletes '@vocab' on `"@vocab": null` without checking that the context has one (a KeyError that
        # used to surface as a 500). Resetting an absent vocabulary is a no-op (JSON-LD 1.1 context processing,
        # @vocab step), so run again with a throw-away vocabulary set just before each reset, for it to remove.
        entries = local_ctx if isinstance(local_ctx, list) else [local_ctx]
        patched: list[Any] = []
        for entry in entries:
            if isinstance(entry, dict) and "@vocab" in entry and entry["@vocab"] is None:
                patched.append({"@vocab": "urn:vcgate:vocab-reset:"})
            patched.append(entry)
        return super()._process_context(active_ctx, patched, options, *flags)


def _pinned_dict_ids() -> frozenset[int]:
    global _PINNED_DOCUMENTS
    # hold the documents here too, so none of these ids can be reused by another object while this set exists
    _PINNED_DOCUMENTS = tuple(p.document for p in pinned_contexts().values())
    found: set[int] = set()
    stack: list[Any] = list(_PINNED_DOCUMENTS)
    while stack:
        cur = stack.pop()
        if isinstance(cur, dict):
            found.add(id(cur))
            stack.extend(cur.values())
        elif isinstance(cur, list):
            stack.extend(cur)
    return frozenset(found)


def _pinned_local_key(local_ctx: Any) -> str | None:
    # Type-scoped contexts are objects inside the pinned context documents, which are loaded once per process
    # (`pinned_contexts` is cached, its files hash-checked) and shared read-only by the loader, PyLD's resolver and
    # this memo. Their memo key (the sorted JSON text) is therefore computed once per object rather than on every
    # use (~14 dumps of large scoped contexts per credential, ~6% of an RDFC verification). Any other dict -
    # e.g. an embedded context from the document, or one from a custom loader - is not in the id set and is dumped
    # each time as before; the identity check guards against a reused id.
    global _PINNED_IDS
    if _PINNED_IDS is None:
        _PINNED_IDS = _pinned_dict_ids()
    ident = id(local_ctx)
    if ident not in _PINNED_IDS:
        return None
    hit = _PINNED_KEYS.get(ident)
    if hit is not None and hit[0] is local_ctx:
        return hit[1]
    key = json.dumps(local_ctx, sort_keys=True, default=dict)
    _PINNED_KEYS[ident] = (local_ctx, key)
    return key


_PINNED_DOCUMENTS: tuple[Any, ...] = ()
_PINNED_IDS: frozenset[int] | None = None
_PINNED_KEYS: dict[int, tuple[Any, str]] = {}
_IRI_MEMO: dict[Any, Any] = {}
_IRI_MEMO_SIZE = 100_000
_CONTEXT_MEMO: OrderedDict[Any, Any] = OrderedDict()
_CONTEXT_MEMO_SIZE = 20_000
_MEMO_LOCK = Lock()


def _context_refusal(exc: BaseException) -> ContextNotAllowedError | None:
    seen: set[int] = set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        seen.add(id(cur))
        if isinstance(cur, ContextNotAllowedError):
            return cur
        details = getattr(cur, "details", None)
        if isinstance(details, dict):
            inner = details.get("cause")
            if isinstance(inner, ContextNotAllowedError):
                return inner
        cur = cur.__cause__ or cur.__context__
    return None


def _convert(exc: Exception) -> CanonicalizationError:
    refused = _context_refusal(exc)
    if refused is not None:
        return CanonicalizationError(str(refused), code="CONTEXT_NOT_ALLOWED", url=refused.url)
    return CanonicalizationError(f"not valid JSON-LD: {exc}", code="JSONLD_INVALID")


# PyLD resolves a relative IRI against this placeholder base when the document has none: a `type` value no
# context maps (with no @vocab in scope) ends up under it, i.e. it is an undefined term.
_RELATIVE_BASE = jsonld.DEFAULT_BASE_IRI
_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def undefined_type_value(predicate: str, obj: Mapping[str, Any]) -> str | None:
    """The name of an undefined ``type`` value if this triple's object is one (see ``_RELATIVE_BASE``)."""
    if predicate == _RDF_TYPE and obj["type"] == "IRI" and obj["value"].startswith(_RELATIVE_BASE):
        return str(obj["value"][len(_RELATIVE_BASE) :])
    return None


def _undefined_in_dataset(dataset: Mapping[str, list[dict[str, Any]]]) -> list[str]:
    found: list[str] = []
    for triples in dataset.values():
        for t in triples:
            # Issuer-dependent terms are reported as full IRIs (see `is_issuer_dependent`), dropped ones by name.
            pred = t["predicate"]["value"]
            if pred.startswith(ISSUER_DEPENDENT):
                found.append(pred)
            obj = t["object"]
            if obj["type"] == "IRI" and obj["value"].startswith(ISSUER_DEPENDENT):
                found.append(obj["value"])
            elif pred == _RDF_TYPE and obj["type"] == "IRI" and obj["value"].startswith(_RELATIVE_BASE):
                found.append(obj["value"][len(_RELATIVE_BASE) :])
            dt = obj.get("datatype")
            if isinstance(dt, str) and dt.startswith(ISSUER_DEPENDENT):
                found.append(dt)
    return found


def _options(loader: Callable[..., Any] | None) -> dict[str, Any]:
    return {
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": loader or _LOADER,
        # one shared resolver per loader, so resolved remote contexts are reused across calls
        "contextResolver": _resolver_for(loader or _LOADER),
        "base": "",
        "produceGeneralizedRdf": False,
        # Language value objects may carry @direction (VC 2.0 §11.1); JSON-LD 1.1 toRdf keeps it only with an
        # rdfDirection mode, and digitalbazaar's cryptosuites canonize with i18n-datatype, so the same is signed.
        "rdfDirection": "i18n-datatype",
    }


_RESOLVERS: dict[int, Any] = {}


def _resolver_for(loader: Callable[..., Any]) -> Any:
    from pyld.context_resolver import ContextResolver

    resolver = _RESOLVERS.get(id(loader))
    if resolver is None or resolver.document_loader is not loader:
        resolver = ContextResolver({}, loader)
        _RESOLVERS[id(loader)] = resolver
    return resolver


class _Rdfc10(URDNA2015):  # type: ignore[misc]  # pyld ships no type hints, so URDNA2015 is Any
    """RDFC-1.0 (URDNA2015) without a deep copy per blank-node component: a component is a flat ``{type, value}``
    dict, so a shallow copy is the same and ~10% of canonicalization time is saved."""

    def modify_first_degree_component(self, id_: str, component: dict[str, Any], key: str) -> dict[str, Any]:
        if component["type"] != "blank node":
            return component
        return {**component, "value": "_:a" if component["value"] == id_ else "_:z"}


class _Rdfc10Sha384(_Rdfc10):
    # RDFC-1.0 §4.4 lets the hash algorithm be chosen; VC-DI-ECDSA §3 ("canon-and-hash") requires SHA-384 for P-384
    # keys. It changes the blank node labels, so the N-Quads differ from the SHA-256 ones whenever the document has
    # more than one blank node.
    def create_hash(self) -> Any:
        return hashlib.sha384()


_IMMUTABLE_SCALARS = frozenset((str, int, float, bool, type(None)))


def _copy_json_value(value: Any, memo: dict[int, Any]) -> Any:
    # What copy.deepcopy returns for a JSON tree, without its per-object dispatch: immutable scalars are shared (as
    # deepcopy shares them), plain dicts and lists are copied once each (recorded in ``memo``, so a list referenced
    # twice is copied once, as deepcopy does); any other type goes through deepcopy itself.
    cls = value.__class__
    if cls in _IMMUTABLE_SCALARS:
        return value
    if cls is dict or cls is list:
        done = memo.get(id(value))
        if done is not None:
            return done
        copied: Any
        if cls is dict:
            copied = memo[id(value)] = {}
            for k, v in value.items():
                if k.__class__ is not str:
                    k = copy.deepcopy(k, memo)  # as deepcopy does for keys; str keys are shared
                copied[k] = v if v.__class__ in _IMMUTABLE_SCALARS else _copy_json_value(v, memo)
        else:
            copied = memo[id(value)] = []
            for v in value:
                copied.append(v if v.__class__ in _IMMUTABLE_SCALARS else _copy_json_value(v, memo))
        return copied
    return copy.deepcopy(value, memo)


class _JsonTreeInput(dict):  # type: ignore[type-arg]  # a plain JSON object handed to PyLD
    """The input PyLD copies before expanding it (``JsonLdProcessor.expand`` deep-copies its input).

    ``copy.deepcopy`` walks a JSON tree through its memo and per-type dispatch; for dicts, lists and immutable
    scalars a direct recursive copy yields an equal, independent tree ≈ 3x faster (~6% of an RDFC verification).
    PyLD still gets its own copy, so whether it mutates its input does not matter.
    """

    def __deepcopy__(self, memo: dict[int, Any]) -> dict[str, Any]:
        copied: dict[str, Any] = {}
        memo[id(self)] = copied
        for k, v in self.items():
            if k.__class__ is not str:
                k = copy.deepcopy(k, memo)  # as deepcopy does for keys; str keys are shared
            copied[k] = v if v.__class__ in _IMMUTABLE_SCALARS else _copy_json_value(v, memo)
        return copied


def rdfc(
    document: Mapping[str, Any],
    loader: Callable[..., Any] | None = None,
    *,
    hash_algorithm: Literal["sha256", "sha384"] = "sha256",
    fast: bool = True,
) -> RdfcResult:
    """RDFC-1.0 canonical N-Quads of ``document`` plus every undefined term met during expansion.

    ``hash_algorithm`` is RDFC-1.0's internal hash (SHA-256 by default; ecdsa-rdfc-2019 with P-384 uses SHA-384).
    ``fast`` lets the compiled, natively canonicalized path (``_rdfc_fast``) answer when it can show its answer is
    PyLD's; ``fast=False`` always uses PyLD (the reference). The undefined terms are the same multiset either way.
    Raises :class:`CanonicalizationError` (code ``CONTEXT_NOT_ALLOWED`` for an unpinned context).
    """
    if fast:
        from ._rdfc_fast import fast_rdfc  # late: _rdfc_fast builds on this module

        answer = fast_rdfc(document, loader, hash_algorithm)
        if answer is not None:
            return answer
    dropped: list[str] = []

    def on_dropped(prop: str | None) -> None:
        dropped.append(str(prop) if prop is not None else str(getattr(processor, "last_key", None)))

    processor = _ContextCachingProcessor(on_property_dropped=on_dropped)
    options = _options(loader)
    try:
        rdf_opts = dict(options)
        del rdf_opts["format"]
        dataset = processor.to_rdf(_JsonTreeInput(document), rdf_opts)
        canonicalizer = _Rdfc10Sha384() if hash_algorithm == "sha384" else _Rdfc10()
        nquads = canonicalizer.main(dataset, options)
    except RecursionError:
        raise CanonicalizationError("document nested too deeply", code="INPUT_TOO_DEEP") from None
    except (jsonld.JsonLdError, ContextNotAllowedError, ValueError, TypeError) as exc:
        raise _convert(exc) from None
    return RdfcResult(str(nquads), tuple(dropped) + tuple(_undefined_in_dataset(dataset)))


def jcs(value: Any) -> bytes:
    """RFC 8785 JSON Canonicalization Scheme bytes (``vcgate.canonical_schema.canonical_json``)."""
    try:
        return canonical_json(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError, RecursionError) as exc:
        raise CanonicalizationError(f"cannot JCS-canonicalize: {exc}", code="JCS_FAILED") from None


# --- strict terms for suites that do not expand (JCS, JOSE) -------------------------------------------------------

_PLACEHOLDER = "urn:vcgate:value"
_SKELETON_CACHE: OrderedDict[Any, tuple[str, ...]] = OrderedDict()
_SKELETON_CACHE_SIZE = 4096
_SKELETON_LOCK = Lock()


def _skeleton(value: Any, key: str | None = None) -> Any:
    # Whether a term is defined depends on the contexts, the keys, the nesting and the type values (type-scoped
    # contexts) - not on literal values. Replacing literals by one absolute IRI keeps every one of those and lets
    # documents of the same shape share one cached answer.
    if isinstance(value, dict):
        return {k: (v if k == "@context" else _skeleton(v, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_skeleton(v, key) for v in value]
    if key in _KEPT_SCALARS:
        return value
    return _PLACEHOLDER


# Scalars that decide how a document expands (types pick type-scoped contexts; a language tag or base direction
# must stay well-formed), so the skeleton keeps them.
_KEPT_SCALARS = frozenset(("type", "@type", "@language", "@direction"))


class _Tag:
    """A node-kind marker inside shape keys; compared by identity, so no JSON value can equal it."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}>"


_OBJECT, _ARRAY, _LITERAL, _OTHER, _CONTEXT = (_Tag(n) for n in ("object", "array", "literal", "other", "context"))
_CONTEXT_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def _shape_key(value: Any) -> Any:
    # A hashable key equal for two documents exactly when their skeletons (see `_skeleton`) are equal, with key order
    # kept: built in one walk, with no skeleton copy, JSON text or digest (≈ 3x cheaper than dumping the skeleton).
    # Node kinds are tagged with identity-compared sentinels so an array can never equal an object or a literal;
    # non-string keys and non-string values under `type` are tagged with their type and text, since 1 == True == 1.0.
    if isinstance(value, dict):
        parts: list[Any] = [_OBJECT]
        for k, v in value.items():
            parts.append(k if k.__class__ is str else (_OTHER, repr(k.__class__), repr(k)))
            if k == "@context":
                parts.append((_CONTEXT, _CONTEXT_ENCODER.encode(v)))
            elif isinstance(v, dict):
                parts.append(_shape_key(v))
            elif isinstance(v, list):
                parts.append(_array_shape_key(v, k))
            elif k in _KEPT_SCALARS:
                parts.append(_scalar_shape_key(v, k))
            else:
                parts.append(_LITERAL)
        return tuple(parts)
    if isinstance(value, list):
        return _array_shape_key(value, None)
    return _scalar_shape_key(value, None)


def _array_shape_key(value: list[Any], key: Any) -> Any:
    parts: list[Any] = [_ARRAY]
    for v in value:
        if isinstance(v, dict):
            parts.append(_shape_key(v))
        elif isinstance(v, list):
            parts.append(_array_shape_key(v, key))
        else:
            parts.append(_scalar_shape_key(v, key))
    return tuple(parts)


def _scalar_shape_key(value: Any, key: Any) -> Any:
    if key in _KEPT_SCALARS:
        return value if value.__class__ is str else (_OTHER, repr(value.__class__), _CONTEXT_ENCODER.encode(value))
    return _LITERAL


def undefined_terms(document: Mapping[str, Any], loader: Callable[..., Any] | None = None) -> tuple[str, ...]:
    """Terms of ``document`` that no context defines (dropped, or expanded under ``issuer-dependent#``).

    Cached by the document's shape (keys, nesting, type values, contexts), so verifying many credentials of one
    type expands each shape once; for the default loader the shapes of the bundled examples come precompiled
    (``_strict_terms``, ``strict_terms.txt``), so a fresh process does not process their contexts.
    """
    try:
        key = (id(loader), _shape_key(dict(document)))
        hash(key)
    except (TypeError, ValueError) as exc:
        raise CanonicalizationError(f"not JSON: {exc}", code="JSONLD_INVALID") from None
    with _SKELETON_LOCK:
        hit = _SKELETON_CACHE.get(key)
        if hit is not None:
            _SKELETON_CACHE.move_to_end(key)
            return hit
    if loader is None:
        from ._strict_terms import shipped_terms  # late: it builds on this module

        # the answers precompiled for the pinned contexts at build time (scripts/build_strict_terms.py)
        shipped = shipped_terms(key[1])
        if shipped is not None:
            with _SKELETON_LOCK:
                _SKELETON_CACHE[key] = shipped
            return shipped
    skeleton = _skeleton(dict(document))
    try:
        # the same JSON check as before the shape key existed: a skeleton json.dumps rejects is not JSON
        json.dumps(skeleton, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise CanonicalizationError(f"not JSON: {exc}", code="JSONLD_INVALID") from None
    result = rdfc_expand_terms(skeleton, loader)
    with _SKELETON_LOCK:
        _SKELETON_CACHE[key] = result
        while len(_SKELETON_CACHE) > _SKELETON_CACHE_SIZE:
            _SKELETON_CACHE.popitem(last=False)
    return result


def rdfc_expand_terms(document: Mapping[str, Any], loader: Callable[..., Any] | None = None) -> tuple[str, ...]:
    """Expand ``document`` and list its undefined terms (no canonicalization)."""
    dropped: list[str] = []

    def on_dropped(prop: str | None) -> None:
        dropped.append(str(prop) if prop is not None else str(getattr(processor, "last_key", None)))

    processor = _ContextCachingProcessor(on_property_dropped=on_dropped)
    rdf_opts = _options(loader)
    del rdf_opts["format"]
    try:
        dataset = processor.to_rdf(dict(document), rdf_opts)
    except RecursionError:
        raise CanonicalizationError("document nested too deeply", code="INPUT_TOO_DEEP") from None
    except (jsonld.JsonLdError, ContextNotAllowedError, ValueError, TypeError) as exc:
        raise _convert(exc) from None
    return tuple(dropped) + tuple(_undefined_in_dataset(dataset))


def is_issuer_dependent(term: str) -> bool:
    """Whether an undefined term (as :func:`undefined_terms` reports it) expanded under ``issuer-dependent#``.

    Such a term is signed (it is in the RDF dataset) but has no published meaning; a term JSON-LD drops is not
    signed at all. :func:`undefined_terms` reports the former as full IRIs, the latter by name.
    """
    return term.startswith(ISSUER_DEPENDENT)


def term_name(term: str) -> str:
    """The term as written in the document (an issuer-dependent IRI without its vocabulary)."""
    return term[len(ISSUER_DEPENDENT) :] if term.startswith(ISSUER_DEPENDENT) else term


def strict_term_problems(
    terms: Iterable[str], allowed: Iterable[str] = (), pointer: str = "", *, strict_vocabulary: bool = True
) -> list[Problem]:
    """Problems for undefined terms not admitted by ``allowed`` (names). Without ``strict_vocabulary`` the
    issuer-dependent ones are left to :func:`issuer_dependent_warnings`."""
    allow = set(allowed)
    bad = sorted(
        {term_name(t) for t in terms if term_name(t) not in allow and (strict_vocabulary or not is_issuer_dependent(t))}
    )
    return [
        Problem(
            "UNDEFINED_TERM",
            "Undefined term",
            f"the term {t!r} is not defined by any of the document's contexts; it would be dropped or "
            "issuer-dependent, so it is not reliably signed",
            pointer,
        )
        for t in bad
    ]


def issuer_dependent_warnings(terms: Iterable[str], allowed: Iterable[str] = (), pointer: str = "") -> list[Problem]:
    """Warnings (``ISSUER_DEPENDENT_TERM``) for issuer-dependent terms not admitted by ``allowed``: accepted under
    a policy without ``strict_vocabulary``, but their meaning is whatever the issuer says it is."""
    allow = set(allowed)
    names = sorted({term_name(t) for t in terms if is_issuer_dependent(t) and term_name(t) not in allow})
    return [
        Problem(
            "ISSUER_DEPENDENT_TERM",
            "Issuer-dependent term",
            f"the term {t!r} is defined by no published vocabulary; it is signed under {ISSUER_DEPENDENT}{t}, so "
            "its meaning is whatever the issuer says it is",
            pointer,
        )
        for t in names
    ]


def dumps_compact(value: Any) -> str:
    """Compact JSON text (for messages and digests that need not be canonical)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
