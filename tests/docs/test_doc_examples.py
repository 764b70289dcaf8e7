"""Docs match the code: every YAML and JSON example in docs/ parses, every trust anchor shown uses only the members
its adapter's checker reads (and parses with the adapter's own anchor parser where there is one), and every mapping
shown is a valid mapping. Schematic blocks that are not examples are fenced as ``text``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from vcgate.adapters.ethereum._checker import anchor_from_json
from vcgate.adapters.sdk import CredentialMapping

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```(yaml|yml|json)[^\n]*\n(.*?)^```", re.M | re.S)


def examples() -> list[tuple[str, str, str]]:
    out = []
    for path in sorted((ROOT / "docs").rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        for m in FENCE.finditer(text):
            where = f"{path.relative_to(ROOT)}:{text[: m.start()].count(chr(10)) + 1}"
            out.append((where, m.group(1), m.group(2)))
    return out


EXAMPLES = examples()


def load(lang: str, body: str) -> Any:
    return json.loads(body) if lang == "json" else yaml.safe_load(body)


def _read_keys(paths: list[str], pattern: str) -> set[str]:
    keys: set[str] = set()
    for p in paths:
        keys |= set(re.findall(pattern, (ROOT / p).read_text(encoding="utf-8")))
    return keys


#: The anchor members each checker reads, taken from the checkers' source (so the test follows the code).
ANCHOR_KEYS = {
    "fabric": {"kind"} | _read_keys(["adapters/fabric/_evidence_check.py"], r'anchor\.get\("([A-Za-z]+)"'),
    "plain": {"kind"} | _read_keys(["adapters/plain_ledger/_evidence_check.py"], r'anchor\.get\("([A-Za-z]+)"'),
    "ethereum": {"kind"}
    | _read_keys(
        ["adapters/ethereum/_checker.py"],
        r'(?:value\.get\(|_pinned_contracts\(anchor, )"([a-zA-Z]+)"',
    )
    | _read_keys(["adapters/ethereum/_checker.py"], r'"([a-zA-Z]+)" in value'),
}


def anchors(value: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (ledger id, anchor) in a parsed example: under trust.anchors, a top-level anchors key, or an anchors
    file (ledger ids mapped to objects with a kind)."""
    if not isinstance(value, dict):
        return
    trust = value.get("trust")
    sources = [trust.get("anchors")] if isinstance(trust, dict) else []
    sources.append(value.get("anchors"))
    sources.append(value)
    for source in sources:
        if not isinstance(source, dict):
            continue
        for ledger, anchor in source.items():
            if isinstance(ledger, str) and ":" in ledger and isinstance(anchor, dict) and "kind" in anchor:
                yield ledger, anchor


def _placeholders_filled(value: Any) -> Any:
    # Examples elide hashes ("0x…"); give the parser a well-formed value in their place.
    if isinstance(value, str) and ("…" in value or "..." in value):
        return "0x" + "00" * 32
    if isinstance(value, dict):
        return {k: _placeholders_filled(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_placeholders_filled(v) for v in value]
    return value


def test_the_examples_were_found() -> None:
    assert len(EXAMPLES) >= 10
    assert ANCHOR_KEYS["fabric"] >= {"genesisBlockHash", "minAttestingOrganizations"}
    assert ANCHOR_KEYS["plain"] == {"kind", "logVerifierKey"}
    assert ANCHOR_KEYS["ethereum"] >= {"checkpoints", "finalityDepth", "quorum", "reports"}


@pytest.mark.parametrize(("where", "lang", "body"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_parses_and_means_what_the_code_reads(where: str, lang: str, body: str) -> None:
    value = load(lang, body)
    for ledger, anchor in anchors(value):
        kind = anchor["kind"]
        if kind in ANCHOR_KEYS:
            unknown = sorted(set(anchor) - ANCHOR_KEYS[kind])
            assert not unknown, f"{where}: the {kind} checker reads no anchor member {unknown} ({ledger})"
        if kind == "fabric" and "minAttestingOrganizations" in anchor:
            assert isinstance(anchor["minAttestingOrganizations"], int)
        if kind == "ethereum":
            assert anchor_from_json(ledger, _placeholders_filled(anchor)) is not None, where
    if isinstance(value, dict) and {"id", "version", "credential"} <= set(value):
        CredentialMapping.from_json(value)
