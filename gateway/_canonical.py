"""Canonicalization for Data Integrity: RDFC-1.0 (via PyLD) and RFC 8785 JCS, with the strict-terms check.

Strictness (VC Data Integrity §4.2 "data loss"; the most cited false positive in VC libraries): a property that no
context defines is either dropped by JSON-LD expansion (so it is not signed) or, under credentials/v2 and
traceability/v1, expanded under the ``issuer-dependent#`` vocabulary. vcgate rejects both unless an allow-list names
the term. Both are detected during the same expansion that produces the RDF dataset, so the check costs nothing extra
for the RDFC suites.
"""

from __future__ import annotations

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

from vcgate.canonical_schema import ContextNotAllowedError, Problem, VcgateError, canonical_json, document_loader

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
            return super()._process_context(
                active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
            )
        if isinstance(local_ctx, str):
            local_key: Any = local_ctx
        elif isinstance(local_ctx, list) and all(isinstance(x, str) for x in local_ctx):
            local_key = tuple(local_ctx)
        else:
            try:
                local_key = json.dumps(local_ctx, sort_keys=True, default=dict)
            except (TypeError, ValueError):
                return super()._process_context(
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
        result = super()._process_context(
            active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
        )
        with _MEMO_LOCK:
            _CONTEXT_MEMO[key] = result
            while len(_CONTEXT_MEMO) > _CONTEXT_MEMO_SIZE:
                _CONTEXT_MEMO.popitem(last=False)
        return result


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


def _undefined_in_dataset(dataset: Mapping[str, list[dict[str, Any]]]) -> list[str]:
    found: list[str] = []
    for triples in dataset.values():
        for t in triples:
            pred = t["predicate"]["value"]
            if pred.startswith(ISSUER_DEPENDENT):
                found.append(pred[len(ISSUER_DEPENDENT) :])
            obj = t["object"]
            if obj["type"] == "IRI" and obj["value"].startswith(ISSUER_DEPENDENT):
                found.append(obj["value"][len(ISSUER_DEPENDENT) :])
            dt = obj.get("datatype")
            if isinstance(dt, str) and dt.startswith(ISSUER_DEPENDENT):
                found.append(dt[len(ISSUER_DEPENDENT) :])
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


def rdfc(
    document: Mapping[str, Any],
    loader: Callable[..., Any] | None = None,
    *,
    hash_algorithm: Literal["sha256", "sha384"] = "sha256",
) -> RdfcResult:
    """RDFC-1.0 canonical N-Quads of ``document`` plus every undefined term met during expansion.

    ``hash_algorithm`` is RDFC-1.0's internal hash (SHA-256 by default; ecdsa-rdfc-2019 with P-384 uses SHA-384).
    Raises :class:`CanonicalizationError` (code ``CONTEXT_NOT_ALLOWED`` for an unpinned context).
    """
    dropped: list[str] = []

    def on_dropped(prop: str | None) -> None:
        dropped.append(str(prop))

    processor = _ContextCachingProcessor(on_property_dropped=on_dropped)
    options = _options(loader)
    try:
        rdf_opts = dict(options)
        del rdf_opts["format"]
        dataset = processor.to_rdf(dict(document), rdf_opts)
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
_SKELETON_CACHE: OrderedDict[bytes, tuple[str, ...]] = OrderedDict()
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
    if key in ("type", "@type"):
        return value
    return _PLACEHOLDER


def undefined_terms(document: Mapping[str, Any], loader: Callable[..., Any] | None = None) -> tuple[str, ...]:
    """Terms of ``document`` that no context defines (dropped, or expanded under ``issuer-dependent#``).

    Cached by the document's shape (keys, nesting, type values, contexts), so verifying many credentials of one
    type expands each shape once.
    """
    skeleton = _skeleton(dict(document))
    try:
        key = hashlib.sha256(json.dumps(skeleton, sort_keys=True, separators=(",", ":")).encode()).digest()
    except (TypeError, ValueError) as exc:
        raise CanonicalizationError(f"not JSON: {exc}", code="JSONLD_INVALID") from None
    with _SKELETON_LOCK:
        hit = _SKELETON_CACHE.get(key)
        if hit is not None:
            _SKELETON_CACHE.move_to_end(key)
            return hit
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
        dropped.append(str(prop))

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


def strict_term_problems(terms: Iterable[str], allowed: Iterable[str] = (), pointer: str = "") -> list[Problem]:
    """Problems for undefined terms not admitted by ``allowed``."""
    allow = set(allowed)
    bad = sorted({t for t in terms if t not in allow})
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


def dumps_compact(value: Any) -> str:
    """Compact JSON text (for messages and digests that need not be canonical)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
