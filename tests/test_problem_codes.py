"""Every problem code that verification, presentations, the canonical schemas and the adapters emit is documented in
docs/ (docs/problem-codes.md, or the layer's own page it links); the presentation codes have table rows."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE = r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+"
#: Every module of these emits codes into verification results and adapter problems. (gateway/api's other modules and
#: the store emit HTTP problem codes, documented with each route in docs/http-api.md, not checked here.)
EMITTERS = ["gateway/verification", "gateway/api/_presentations.py", "canonical_schema", "adapters"]
#: Upper-case string literals there that are not vcgate problem codes.
NOT_CODES = {
    "TYPE_CHECKING",  # canonical_schema/_lazy.py: the typing constant's name
    "ENDORSEMENT_POLICY_FAILURE",  # Fabric's own TxValidationCode, which the test peer (adapters/fabric/testing) sets
    "V2_0",  # a Fabric channel capability name (adapters/fabric/testing)
}


def _modules() -> list[Path]:
    out: list[Path] = []
    for spec in EMITTERS:
        path = ROOT / spec
        out += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return out


def _constant_names() -> set[str]:
    """Upper-case names assigned in the packages (``NAME = ...``): their names appear quoted in ``__all__``."""
    text = "\n".join(p.read_text() for p in _modules())
    return set(re.findall(rf"^\s*({CODE})\s*[:=]", text, re.MULTILINE))


def _emitted() -> dict[str, set[str]]:
    """Code -> the modules that quote it."""
    constants = _constant_names()
    used: dict[str, set[str]] = {}
    for module in _modules():
        for code in re.findall(rf'"({CODE})"', module.read_text()):
            if code not in constants and code not in NOT_CODES:
                used.setdefault(code, set()).add(str(module.relative_to(ROOT)))
    return used


def test_the_scan_finds_codes_in_every_emitting_package() -> None:
    # Guards the scan itself: a regex or path change that found nothing would make the next test pass vacuously.
    modules = {m for found in _emitted().values() for m in found}
    for spec in EMITTERS:
        assert any(m == spec or m.startswith(spec + "/") for m in modules), spec


def test_every_emitted_code_is_documented() -> None:
    docs = "\n".join(p.read_text() for p in (ROOT / "docs").rglob("*.md"))
    documented = set(re.findall(rf"`({CODE})`", docs))
    missing = {code: sorted(where) for code, where in _emitted().items() if code not in documented}
    assert not missing, f"document these codes in docs/ (problem-codes.md or the layer's page): {missing}"


def test_presentation_codes_have_rows_in_problem_codes_md() -> None:
    doc = (ROOT / "docs" / "problem-codes.md").read_text()
    rows = set(re.findall(rf"^\| `({CODE})`", doc, re.MULTILINE))
    emitted = {c for c, where in _emitted().items() if "gateway/api/_presentations.py" in where}
    assert {"PRESENTATION_MALFORMED", "HOLDER_KEY_MISMATCH", "CREDENTIAL_MALFORMED"} <= emitted & rows
