"""Targets and the ``conformance:`` section: parsed strictly, with errors that name the bad setting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vcgate.conformance_tests import ConformanceConfigError, Settings, parse_target


def test_targets(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("id: x\nconformance: {sampleSize: 2, token: abc}\n", encoding="utf-8")
    adapter = parse_target("adapter:acme", config)
    assert (adapter.kind, adapter.name, adapter.label) == ("adapter", "acme", "adapter:acme")
    assert adapter.adapter_config == {"id": "x", "configDir": str(tmp_path)}  # the section is not the adapter's
    assert adapter.settings.sample_size == 2
    api = parse_target("https://gateway.example/api/", config)
    assert (api.kind, api.name, api.settings.token) == ("vc-api", "https://gateway.example/api", "abc")
    assert parse_target("verifier:vcgate").kind == "verifier"
    for bad, message in (
        ("adapter:", "unknown target"),
        ("gopher://x", "unknown target"),
        ("verifier:other", "unknown target"),
    ):
        with pytest.raises(ConformanceConfigError, match=message):
            parse_target(bad, config)
    with pytest.raises(ConformanceConfigError, match="an adapter target needs --config"):
        parse_target("adapter:acme")


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"sample": 3}, "unknown conformance setting(s) sample"),
        ({"sampleSize": 0}, "conformance.sampleSize must be a positive integer"),
        ({"maxRecords": True}, "conformance.maxRecords must be a positive integer"),
        ({"anchor": [1]}, "conformance.anchor must be a mapping"),
        ({"anchor": {}, "anchorFile": "a.json"}, "give conformance.anchor or conformance.anchorFile, not both"),
        ({"anchorFile": "missing.json"}, "cannot read conformance.anchorFile"),
        ({"at": "2025-01-01"}, "conformance.at:"),
        ({"mappings": "m.yaml"}, "conformance.mappings must be a list"),
        ({"optOut": ["ADP-003"]}, "conformance.optOut must map case ids to reasons"),
        ({"token": ""}, "conformance.token must be a non-empty string"),
        ({"timeout": -1}, "conformance.timeout must be a positive number"),
    ],
)
def test_bad_sections(tmp_path: Path, section: dict[str, object], message: str) -> None:
    with pytest.raises(ConformanceConfigError) as caught:
        Settings.from_section(section, tmp_path)
    assert str(caught.value).startswith(message)


def test_anchor_file_and_mappings(tmp_path: Path) -> None:
    (tmp_path / "anchor.json").write_text(json.dumps({"ledgerId": "csv:x", "treeSize": 1}), encoding="utf-8")
    mapping = Path(__file__).resolve().parents[2] / "examples/third_party_adapter/src/vcgate_example_csv/mappings"
    settings = Settings.from_section(
        {"anchorFile": "anchor.json", "at": "2025-01-01T00:00:00Z", "mappings": [str(mapping / "invoice.yaml")]},
        tmp_path,
    )
    assert settings.anchor == {"ledgerId": "csv:x", "treeSize": 1}
    assert settings.at is not None
    assert settings.at.isoformat() == "2025-01-01T00:00:00+00:00"
    (loaded,) = settings.published_mappings()
    assert loaded.id == "https://example.org/vcgate/mappings/csv-invoice"
    missing = Settings.from_section({"mappings": ["package:no_such_module/m.yaml"]}, tmp_path)
    with pytest.raises(ConformanceConfigError, match=r"cannot read published mapping package:no_such_module/m\.yaml"):
        missing.published_mappings()
