"""The case catalogue: stable, unique ids; every case implemented for the target kinds it claims; the docs list
every case; the vectors are data with sources and rebuild reproducibly."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from vcgate.conformance_tests import GROUPS, TargetKind, catalogue, pytest_arguments
from vcgate.conformance_tests._build_vectors import build, manifest_of
from vcgate.conformance_tests._cases import CASE_ID
from vcgate.conformance_tests._vectors import manifest, vector_cases
from vcgate.conformance_tests.plugin import STATE_KEY

from .conftest import CSV_CONFIG, ROOT

VECTORS = ROOT / "conformance_tests" / "vectors"
DOCS = ROOT / "docs" / "conformance.md"


def test_ids_are_stable_and_grouped() -> None:
    cases = catalogue()
    assert len(cases) == 74
    for case_id, info in cases.items():
        assert CASE_ID.match(case_id)
        assert info.id == case_id
        assert info.group == GROUPS[case_id.split("-")[0]]
        assert info.title
        assert info.targets
    # The adapter part and the verifier part never share a number range within a group.
    adapter_ids = [i for i, c in cases.items() if c.applies_to("adapter")]
    assert all(int(i.split("-")[1]) < 100 for i in adapter_ids)
    assert all(int(i.split("-")[1]) >= 100 for i in cases if cases[i].applies_to("verifier"))


def selected_cases(target: str, *extra: str) -> set[str]:
    """Case ids the plugin selects for a target, from a real (in-process) collection run."""

    class Sink:
        config: pytest.Config | None = None

        def pytest_configure(self, config: pytest.Config) -> None:
            self.config = config

    sink = Sink()
    args = pytest_arguments(target, None, extra=("--collect-only", *extra))
    assert pytest.main(["-p", "no:terminal", *args], plugins=[sink]) == 0
    assert sink.config is not None
    return {info.id for info in sink.config.stash[STATE_KEY].cases_by_nodeid.values()}


@pytest.mark.usefixtures("example_site")
def test_every_case_is_implemented_for_its_kinds() -> None:
    """Collecting for each target kind selects exactly the catalogue's cases for that kind (and the plugin refuses
    a test without a case id or with an id twice, so each is implemented once)."""
    cases = catalogue()
    runs: tuple[tuple[str, TargetKind, tuple[str, ...]], ...] = (
        ("adapter:csv-ledger", "adapter", ("--target-config", str(CSV_CONFIG))),
        ("verifier:vcgate", "verifier", ()),
        ("http://127.0.0.1:9", "vc-api", ()),
    )
    for target, kind, extra in runs:
        expected = {i for i, c in cases.items() if c.applies_to(kind)}
        assert selected_cases(target, *extra) == expected, kind
    assert len([c for c in cases.values() if c.applies_to("adapter")]) == 31
    assert len([c for c in cases.values() if c.applies_to("vc-api")]) == 43


def test_docs_list_every_case_with_its_title() -> None:
    text = DOCS.read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `([A-Z]+-\d{3})` \| ([^|]+?) \|", text, flags=re.M))
    assert set(rows) == set(catalogue())
    for case_id, info in catalogue().items():
        assert rows[case_id] == info.title, case_id


def test_vector_manifest_names_sources_and_reasons() -> None:
    data = manifest()
    assert data["version"] == "1.0.0"
    for v in vector_cases():
        assert v.info.source
        assert v.reason
        assert v.expect in ("verified", "invalid", "proof-valid", "unanchored")
        if v.expect in ("invalid", "unanchored"):
            assert v.codes, v.id
        if v.file is not None:
            assert (VECTORS / v.file).is_file(), v.file
        else:
            assert v.generate is not None
        assert v.document_bytes()


def test_w3c_vectors_are_exact_copies() -> None:
    for v in vector_cases():
        if v.id in {f"PRF-10{i}" for i in range(1, 8)}:
            assert v.file is not None
            copies = list((ROOT / "tests" / "fixtures" / "w3c-vectors").rglob(Path(v.file).name))
            assert len(copies) == 1
            assert copies[0].read_bytes() == (VECTORS / v.file).read_bytes()


def test_vectors_rebuild_byte_for_byte(tmp_path: Path) -> None:
    """Rebuilding reproduces every deterministic (Ed25519) vector and the manifest; ECDSA ones only verify."""
    cases = build(None, tmp_path)
    rebuilt = manifest_of(cases)
    assert rebuilt == json.loads((VECTORS / "MANIFEST.json").read_text(encoding="utf-8"))
    for entry in cases:
        file = entry.get("file")
        if file is None or "ecdsa" in file:
            continue
        assert (tmp_path / file).read_bytes() == (VECTORS / file).read_bytes(), file


@pytest.mark.parametrize("bad", ["ADP-01", "XYZ-001", "adp-001", "ADP-0001"])
def test_case_id_pattern_rejects(bad: str) -> None:
    assert not CASE_ID.match(bad)
