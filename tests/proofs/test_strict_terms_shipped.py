"""The strict-terms answers shipped precompiled (gateway/verification/strict_terms.txt) are PyLD's.

PyLD expanding the document's skeleton (``rdfc_expand_terms``) is the reference. Every document the build script
covers (bundled examples, their list variants, unsigned and signed with each JCS suite) is compared: the shipped
answer must equal PyLD's tuple exactly. A file for other contexts or another PyLD is ignored, and then PyLD answers.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest

from vcgate.canonical_schema import document_loader
from vcgate.gateway.verification import _canonical, _strict_terms
from vcgate.gateway.verification._canonical import _shape_key, _skeleton, rdfc_expand_terms, undefined_terms

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "gateway" / "verification" / "strict_terms.txt"


def _build_module() -> Any:
    spec = importlib.util.spec_from_file_location("build_strict_terms", ROOT / "scripts" / "build_strict_terms.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("build_strict_terms", module)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def documents() -> list[dict[str, Any]]:
    return list(_build_module().documents())


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> None:
    # a fresh process: no shape cached, nothing shipped loaded yet
    monkeypatch.setattr(_canonical, "_SKELETON_CACHE", OrderedDict())
    monkeypatch.setattr(_strict_terms, "_SHIPPED", {})
    monkeypatch.setattr(_strict_terms, "_LOADED", False)


def _pyld(doc: dict[str, Any]) -> tuple[str, ...]:
    return rdfc_expand_terms(_skeleton(dict(doc)))


def test_every_shipped_answer_is_pyld_s(documents: list[dict[str, Any]], fresh: None) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    current = json.loads(text.partition("\n")[0])["digest"] == _strict_terms.terms_digest()
    loaded = _strict_terms.load_term_shapes(text)
    assert (loaded > 0) == current  # stale after a context/PyLD change: ignored until the script runs again
    answered = 0
    for doc in documents:
        shipped = _strict_terms.shipped_terms(_shape_key(dict(doc)))
        if current:
            assert shipped is not None, "run scripts/build_strict_terms.py"
        if shipped is not None:
            answered += 1
            assert shipped == _pyld(doc)
    assert answered == (len(documents) if current else 0)


def _with_undefined_terms(doc: dict[str, Any]) -> dict[str, Any]:
    # an undefined term at the top (issuer-dependent under credentials/v2) and a dropped `type` value
    subject = doc["credentialSubject"]
    subject = subject[0] if isinstance(subject, list) else subject
    return {**doc, "notATerm": "x", "credentialSubject": {**subject, "type": ["NotAType"], "alsoUndefined": 1}}


def test_dumped_answers_reload_and_answer_without_pyld(
    documents: list[dict[str, Any]], fresh: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    sample = documents[:40] + [_with_undefined_terms(d) for d in documents[:40:8]]
    assert any(_pyld(doc) for doc in sample)  # not only empty answers
    for doc in sample:
        undefined_terms(doc)
    saved = _strict_terms.dump_term_shapes()
    _canonical._SKELETON_CACHE.clear()
    _strict_terms._LOADED = True
    assert _strict_terms.load_term_shapes(saved) >= 10
    before = _strict_terms.hits
    calls: list[Any] = []
    original = _canonical.rdfc_expand_terms
    monkeypatch.setattr(_canonical, "rdfc_expand_terms", lambda *a, **k: calls.append(a) or original(*a, **k))
    for doc in sample:
        assert undefined_terms(doc) == original(_skeleton(dict(doc)))
    assert calls == []  # every one answered by the loaded file (then the shape cache), PyLD never ran
    assert _strict_terms.hits > before


def test_stale_file_is_ignored_and_pyld_answers(documents: list[dict[str, Any]], fresh: None) -> None:
    _strict_terms._LOADED = True  # not the shipped file: only what this test dumps
    doc = _with_undefined_terms(documents[0])
    undefined_terms(doc)
    header, _, body = _strict_terms.dump_term_shapes().partition("\n")
    stale = json.dumps({**json.loads(header), "digest": "0" * 64}) + "\n" + body
    _canonical._SKELETON_CACHE.clear()
    assert _strict_terms.load_term_shapes(stale) == 0
    assert _strict_terms._SHIPPED == {}
    before = _strict_terms.hits
    assert undefined_terms(doc) == _pyld(doc)
    assert _strict_terms.hits == before


def test_wrong_answer_in_a_current_file_is_what_gets_used(documents: list[dict[str, Any]], fresh: None) -> None:
    # the digest, not the content, decides whether a file is used: so the build script must be the only writer
    # and the equality test above is what keeps the shipped content honest. This shows the lookup really serves it.
    doc = documents[0]
    digest = _strict_terms.shape_digest(_shape_key(dict(doc)))
    header = json.dumps({"digest": _strict_terms.terms_digest(), "format": 1})
    _strict_terms._LOADED = True
    assert _strict_terms.load_term_shapes(f'{header}\n{digest}\t["marker"]\n') == 1
    assert undefined_terms(doc) == ("marker",)


def test_other_loaders_never_use_the_shipped_file(documents: list[dict[str, Any]], fresh: None) -> None:
    loader = document_loader()
    before = _strict_terms.hits
    doc = documents[0]
    assert undefined_terms(doc, loader) == _pyld(doc)
    assert _strict_terms.hits == before


def test_first_jcs_verification_answers_from_the_shipped_file(fresh: None) -> None:
    from datetime import UTC, datetime

    from vcgate.gateway import DidResolver, KeyPair, Policy, Verifier, sign

    if json.loads(SHIPPED.read_text().partition("\n")[0])["digest"] != _strict_terms.terms_digest():
        pytest.fail("strict_terms.txt is stale: run scripts/build_strict_terms.py")
    doc = json.loads((ROOT / "benchmarks" / "data" / "commercial-invoice.unsigned.json").read_text())
    del doc["evidence"]  # made-up ledger evidence reaches no anchor (issue 11); the shape without it is shipped too
    key = KeyPair.generate("Ed25519")
    doc["issuer"] = {**doc["issuer"], "id": key.controller} if isinstance(doc["issuer"], dict) else key.controller
    signed = sign(doc, key, suite="eddsa-jcs-2022", created=datetime(2025, 1, 1, tzinfo=UTC))
    _canonical._SKELETON_CACHE.clear()
    before = _strict_terms.hits
    result = Verifier(Policy.default(), DidResolver.offline()).check(signed, at=datetime(2026, 1, 1, tzinfo=UTC))
    assert result.verified, result.to_json()
    assert _strict_terms.hits == before + 1
