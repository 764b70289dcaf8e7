"""The RDFC fast path (compiled expansion + pyoxigraph RDFC-1.0) gives PyLD's canonical N-Quads byte for byte.

PyLD (``rdfc(..., fast=False)``) is the reference. Compared on every W3C vector and example (document and proof
configuration), on the benchmark corpora of distinct credentials, and on hypothesis-generated documents built to hit
the fast path's edges: escapes and control characters, compact/relative/blank/equal IRIs, integers at the
xsd:integer/xsd:double boundary, rdf:JSON values, language maps, merges of equal node ids. Either both paths raise
the same error, or the N-Quads, their hash and the undefined terms (as a multiset) are equal.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyld import jsonld

from vcgate.canonical_schema import document_loader
from vcgate.gateway.verification._canonical import CanonicalizationError, rdfc
from vcgate.gateway.verification._rdfc_fast import _JSON_ENCODER, _plain_json, fast_stats

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted(
    [
        *ROOT.joinpath("examples", "credentials").glob("*.json"),
        ROOT / "benchmarks" / "data" / "commercial-invoice.unsigned.json",
    ]
    + [p for p in ROOT.joinpath("tests", "fixtures", "w3c-vectors").rglob("*.json") if "KeyPair" not in p.name]
)
DOCS = [p for p in DOCS if isinstance(doc := json.loads(p.read_text()), dict) and "@context" in doc]  # no manifests


def _bench_module() -> Any:
    spec = importlib.util.spec_from_file_location("verify_corpus", ROOT / "benchmarks" / "verify_corpus.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("verify_corpus", module)
    spec.loader.exec_module(module)
    return module


def _outcome(doc: Any, *, fast: bool, algorithm: Literal["sha256", "sha384"] = "sha256") -> Any:
    try:
        result = rdfc(doc, hash_algorithm=algorithm, fast=fast)
    except CanonicalizationError as exc:
        return ("error", exc.code)
    return (result.nquads, hashlib.sha256(result.nquads.encode()).hexdigest(), sorted(result.undefined_terms))


def assert_same(doc: Any, algorithm: Literal["sha256", "sha384"] = "sha256") -> None:
    reference = _outcome(doc, fast=False, algorithm=algorithm)
    assert _outcome(doc, fast=True, algorithm=algorithm) == reference
    assert _outcome(doc, fast=True, algorithm=algorithm) == reference  # and from the compiled template


def _parts(doc: dict[str, Any]) -> list[dict[str, Any]]:
    # the two documents a Data Integrity proof canonicalizes: the unsecured document and the proof configuration
    parts = [{k: v for k, v in doc.items() if k != "proof"}]
    proofs = doc.get("proof")
    for proof in proofs if isinstance(proofs, list) else [proofs] if isinstance(proofs, dict) else []:
        config = {k: v for k, v in proof.items() if k != "proofValue"}
        config.setdefault("@context", doc.get("@context"))
        parts.append(config)
    return parts


def test_there_are_documents_to_compare() -> None:
    assert len(DOCS) >= 10


@pytest.mark.parametrize("path", DOCS, ids=[str(p.relative_to(ROOT)) for p in DOCS])
@pytest.mark.parametrize("algorithm", ["sha256", "sha384"])
def test_vectors_and_examples(path: Path, algorithm: Literal["sha256", "sha384"]) -> None:
    doc = json.loads(path.read_text())
    for part in _parts(doc):
        assert_same(part, algorithm)


def test_vectors_match_plain_pyld_and_use_the_fast_path() -> None:
    # ground truth independent of vcgate's memo: pyld.jsonld.normalize; and the fast path must really answer
    doc = json.loads((ROOT / "tests/fixtures/w3c-vectors/vc-di-eddsa/unsigned.json").read_text())
    options = {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": document_loader()}
    expected = jsonld.normalize(doc, options)
    assert rdfc(doc).nquads == expected  # a shape is compiled when seen the second time
    before = fast_stats().answered
    assert rdfc(doc).nquads == expected
    assert fast_stats().answered == before + 1


@pytest.mark.parametrize("suite", ["eddsa-rdfc-2022", "ecdsa-rdfc-2019"])
@pytest.mark.parametrize("kind", ["invoice", "plain"])
def test_benchmark_corpora(kind: str, suite: str) -> None:
    corpus = _bench_module().make_corpus(kind, suite, 12, seed=7)
    assert len({json.dumps(c, sort_keys=True) for c in corpus}) == 12  # distinct credentials
    for credential in corpus:
        for part in _parts(credential):
            assert_same(part)
    before = fast_stats().answered
    for credential in corpus:
        for part in _parts(credential):
            assert_same(part)
    assert fast_stats().answered - before == 12 * 2 * 2  # every document and proof config, twice each


# --- generated documents ----------------------------------------------------------------------------------------

# Each document draws either "ordinary" values (which the fast path should answer: quotes, backslashes, tab/LF/CR,
# non-ASCII, U+2028, astral characters, absolute and compact IRIs, equal ids) or "any" values (control characters,
# relative/blank/invalid IRIs, floats, booleans, integers at 1e21: mostly fallbacks, which must match too).
_ORDINARY_TEXT = st.text(alphabet=st.sampled_from(list('aZ09 -_:/#"\\\t\n\ré€\u2028\u0085😀')), max_size=12)
_ANY_TEXT = st.text(
    alphabet=st.one_of(st.sampled_from(list("\b\x0c\x01\x7f\x00")), st.characters(codec="utf-8")), max_size=12
)
_ORDINARY_IRIS = st.one_of(
    st.builds("urn:example:{}".format, st.integers(0, 10**9)),
    st.builds("did:web:{}.example".format, st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)),
    st.sampled_from(
        [
            "did:web:a.example",
            "did:web:b.example",
            "urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427",
            "https://example.com/x?y=1#z",
            "https://example.com/é",
            "schema:Thing",  # a compact IRI under traceability/v1 (schema is a prefix there)
            "xsd:string",
        ]
    ),
)
_ANY_IRIS = st.one_of(
    _ORDINARY_IRIS,
    st.sampled_from(
        [
            "relative/path",
            "_:b0",
            "did:example:has space",
            "http://example.com/<bad>",
            "VerifiableCredential",  # a term, for @vocab-typed positions
            "@type",
        ]
    ),
)
_ORDINARY_INTS = st.one_of(st.integers(-(10**6), 10**6), st.sampled_from([10**21 - 1, -(10**21) + 1, 2**53 + 1, 0]))
_ANY_INTS = st.one_of(
    _ORDINARY_INTS,
    st.sampled_from([10**21, -(10**21), 10**30]),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
_MODES = st.sampled_from([(_ORDINARY_TEXT, _ORDINARY_IRIS, _ORDINARY_INTS), (_ANY_TEXT, _ANY_IRIS, _ANY_INTS)])
_TEXT = st.one_of(_ORDINARY_TEXT, _ANY_TEXT)
_JSON_VALUES = st.recursive(
    st.one_of(_TEXT, st.integers(-(10**6), 10**6), st.booleans(), st.none()),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(_TEXT, inner, max_size=3)),
    max_leaves=6,
)


@st.composite
def _invoices(draw: st.DrawFn) -> dict[str, Any]:
    _TEXT, _IRIS, _INTS = draw(_MODES)  # noqa: N806 - one mode per document

    def line() -> dict[str, Any]:
        return {
            "type": ["TradeLineItem"],
            "product": {
                "type": ["Product"],
                "description": draw(_TEXT),
                "weight": {"type": ["QuantitativeValue"], "unitCode": draw(_TEXT), "value": draw(_TEXT)},
            },
            "itemCount": draw(_INTS),
        }

    doc: dict[str, Any] = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://w3id.org/traceability/v1",
            "https://w3id.org/vcgate/v1",
        ],
        "id": draw(_IRIS),
        "type": ["VerifiableCredential", "CommercialInvoiceCredential"],
        "validFrom": draw(_TEXT),
        "issuer": {"type": ["Organization"], "id": draw(_IRIS), "name": draw(_TEXT)},
        "credentialSubject": {
            "type": ["Invoice"],
            "invoiceNumber": draw(_TEXT),
            "buyer": {"type": ["Organization"], "id": draw(_IRIS), "name": draw(_TEXT)},
            "itemsShipped": [line() for _ in range(draw(st.integers(0, 3)))],
            "totalPaymentDue": {"type": ["PriceSpecification"], "price": draw(_INTS), "priceCurrency": draw(_TEXT)},
        },
    }
    if draw(st.booleans()):
        doc["evidence"] = [
            {
                "type": ["LedgerEvidence"],
                "ledgerId": draw(_TEXT),
                "proofMaterial": draw(_JSON_VALUES),
                "ledgerHeight": draw(_INTS),
            }
        ]
    return doc


@st.composite
def _plain_credentials(draw: st.DrawFn) -> dict[str, Any]:
    _TEXT, _IRIS, _INTS = draw(_MODES)  # noqa: N806 - one mode per document
    name: Any = draw(_TEXT)
    if draw(st.booleans()):
        name = {"@value": draw(_TEXT), "@language": draw(st.sampled_from(["en", "en-US", "fr-CA"]))}
    doc: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": draw(_IRIS),
        "type": ["VerifiableCredential"],
        "name": name,
        "issuer": draw(_IRIS),
        "validFrom": draw(_TEXT),
        "credentialSubject": {"id": draw(_IRIS), "name": draw(_TEXT)},
    }
    if draw(st.booleans()):
        doc["credentialSubject"]["undefinedTerm"] = draw(st.one_of(_TEXT, _INTS))  # issuer-dependent
    if draw(st.booleans()):
        doc["credentialSubject"]["sameAs"] = {"id": doc["issuer"], "name": draw(_TEXT)}  # an equal node id
    if draw(st.booleans()):
        doc["credentialSchema"] = {"id": draw(_IRIS), "type": draw(st.sampled_from(["JsonSchema", "Other"]))}
    return doc


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_invoices())
def test_generated_invoices(doc: dict[str, Any]) -> None:
    assert_same(doc)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_plain_credentials(), st.sampled_from(["sha256", "sha384"]))
def test_generated_plain_credentials(doc: dict[str, Any], algorithm: Literal["sha256", "sha384"]) -> None:
    assert_same(doc, algorithm)


def test_generated_documents_mostly_take_the_fast_path() -> None:
    # the property tests above would pass trivially if the fast path always fell back; show it answers for
    # ordinary variation of one shape (a different document each time)
    before = None
    for i in range(21):
        doc = {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": f"urn:uuid:00000000-0000-4000-8000-{i:012d}",
            "type": ["VerifiableCredential"],
            "issuer": f"did:web:issuer{i}.example",
            "validFrom": f"2025-01-{i + 1:02d}T00:00:00Z",
            "credentialSubject": {"id": f"did:example:{i}", "name": f'name "{i}"\n\\'},
        }
        assert_same(doc)
        if before is None:  # the first document: its shape is met (PyLD), then compiled
            before = fast_stats().answered
    assert before is not None
    assert fast_stats().answered - before == 40


def test_equal_node_ids_fall_back_and_still_match() -> None:
    doc = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiableCredential"],
        "issuer": "did:web:same.example",
        "credentialSubject": {"id": "did:web:same.example", "name": "x", "description": "x"},
    }
    assert_same(doc)
    doc["credentialSubject"]["description"] = doc["credentialSubject"]["name"] = "y"
    assert_same(doc)


@settings(max_examples=300, deadline=None)
@given(_JSON_VALUES)
def test_plain_json_encoding_equals_pyld_c14n(value: Any) -> None:
    if _plain_json(value):
        assert _JSON_ENCODER.encode(value) == jsonld.canonicalize(value).decode("utf-8")  # c14n, what PyLD uses


# --- compiled shapes saved and loaded; the context-free IRI rule ------------------------------------------------


def _invoice() -> dict[str, Any]:
    return json.loads((ROOT / "benchmarks" / "data" / "commercial-invoice.unsigned.json").read_text())


def test_saved_shapes_reload_and_give_pyld_output(monkeypatch: pytest.MonkeyPatch) -> None:
    from vcgate.gateway.verification import _rdfc_fast

    doc = _invoice()
    rdfc(doc)
    rdfc(doc)  # met, then compiled (or already loaded from the shipped shapes)
    saved = _rdfc_fast.dump_shapes()
    monkeypatch.setattr(_rdfc_fast, "_TEMPLATES", {})
    monkeypatch.setattr(_rdfc_fast, "_SAVED", {})
    monkeypatch.setattr(_rdfc_fast, "_SEEN", set())
    monkeypatch.setattr(_rdfc_fast, "_PACKAGED_LOADED", True)
    assert _rdfc_fast.load_shapes(saved) >= 1
    compiled, answered = fast_stats().compiled, fast_stats().answered
    other = json.loads(json.dumps(doc).replace("Maxi Acero", "Otro Nombre").replace("did:web:", "did:web:x"))
    assert_same(other)
    assert fast_stats().compiled == compiled  # answered from the loaded shape, nothing compiled
    assert fast_stats().answered == answered + 2


def test_a_shape_met_once_is_not_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    # compiling costs more than PyLD alone, so one-off shapes (e.g. a hostile stream) never pay for it
    from vcgate.gateway.verification import _rdfc_fast

    monkeypatch.setattr(_rdfc_fast, "_SEEN", set())
    compiled, fell_back = fast_stats().compiled, fast_stats().fell_back
    doc = {"@context": ["https://www.w3.org/ns/credentials/v2"], "type": ["VerifiableCredential"], "name": "x"}
    for i in range(5):
        assert_same({**doc, f"term{i}": "v"})  # five shapes, each met in assert_same's first call only...
    assert fast_stats().compiled == compiled + 5  # ...and compiled at its second
    before = fast_stats().compiled
    assert rdfc({**doc, "only": "once"}).nquads == rdfc({**doc, "only": "once"}, fast=False).nquads
    assert fast_stats().compiled == before
    assert fast_stats().fell_back > fell_back


def test_shapes_saved_under_other_contexts_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    from vcgate.gateway.verification import _rdfc_fast

    rdfc(_invoice())
    header, _, body = _rdfc_fast.dump_shapes().partition("\n")
    stale = json.dumps({**json.loads(header), "digest": "0" * 64}) + "\n" + body
    monkeypatch.setattr(_rdfc_fast, "_SAVED", {})
    assert _rdfc_fast.load_shapes(stale) == 0
    assert _rdfc_fast._SAVED == {}


def test_shipped_shapes_load_when_current(monkeypatch: pytest.MonkeyPatch) -> None:
    # the shipped file is used only while its digest matches (stale after a context/PyLD/pyoxigraph change: then
    # it is ignored, costing only first-use speed, until scripts/build_rdfc_shapes.py is run again)
    from vcgate.gateway.verification import _rdfc_fast

    shipped = (ROOT / "gateway" / "verification" / "rdfc_shapes.txt").read_text(encoding="utf-8")
    monkeypatch.setattr(_rdfc_fast, "_SAVED", {})
    current = json.loads(shipped.partition("\n")[0])["digest"] == _rdfc_fast._shapes_digest()
    assert (_rdfc_fast.load_shapes(shipped) > 0) == current


_IRI_VALUES = st.one_of(
    _ORDINARY_IRIS,
    _ANY_IRIS,
    st.sampled_from(["assertionMethod", "authentication", "name", "schema:", "schema://x", "a:", ":x", "@id"]),
    _ANY_TEXT,
)


@settings(max_examples=300, deadline=None)
@given(_IRI_VALUES, st.booleans())
def test_iri_rule_agrees_with_pyld_expand_iri(value: str, vocab: bool) -> None:
    # for the active contexts a credential and its proof configuration meet, wherever the rule decides
    from vcgate.gateway.verification import _rdfc_fast

    contexts = _recorded_contexts()
    for ctx in contexts:
        rule = _rdfc_fast._IriRule.of(ctx, vocab)
        decided = rule.expand(value)
        if decided is not None:
            assert decided == _rdfc_fast._EXPANDER._expand_iri(ctx, value, "", vocab)


_CONTEXTS: list[Any] = []


def _recorded_contexts() -> list[Any]:
    from vcgate.gateway.verification import _rdfc_fast

    if not _CONTEXTS:
        doc = {**_invoice(), "proof": None}
        del doc["proof"]
        watch: dict[str, list[Any]] = {"urn:probe": []}
        doc["credentialSubject"]["buyer"]["id"] = "urn:probe"
        _rdfc_fast._expand(doc, None, watch)
        config = {"@context": doc["@context"], "type": "DataIntegrityProof", "proofPurpose": "urn:probe"}
        _rdfc_fast._expand(config, None, watch)
        _CONTEXTS.extend(c for c, _, _ in watch["urn:probe"])
    assert len(_CONTEXTS) >= 2
    return _CONTEXTS


def test_iri_rule_decides_the_usual_values() -> None:
    from vcgate.gateway.verification import _rdfc_fast

    rules = [_rdfc_fast._IriRule.of(ctx, vocab) for ctx in _recorded_contexts() for vocab in (False, True)]
    assert all(r.expand("did:web:a.example") == "did:web:a.example" for r in rules)
    assert any(r.expand("assertionMethod") == "https://w3id.org/security#assertionMethod" for r in rules)
    assert all(r.expand("relative/path") is None for r in rules if not r.vocab)
