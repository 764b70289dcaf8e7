"""The entry-point loader: the interface is checked at load, and a broken plugin's error names its package and
entry point. Plugins here are real installed distributions (a ``*.dist-info`` folder on ``sys.path``)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from vcgate.adapters.sdk import (
    AdapterConfigError,
    AdapterLoadError,
    AdapterNotFoundError,
    load_adapter,
    load_adapter_config,
    load_adapters,
    scan_adapters,
)
from vcgate.gateway.cli._adapters import adapters_app

GOOD_CLASS = '''
from vcgate.adapters.sdk import API_VERSION

class Adapter:
    """A complete adapter for loader tests."""

    API_VERSION = API_VERSION
    KIND = "test"

    def __init__(self, config):
        self.config = config

    @classmethod
    def from_config(cls, config):
        if "fail" in config:
            raise ValueError("setting 'fail' is not allowed")
        if "wrong" in config:
            return object()
        return cls(config)

    def describe(self): ...
    def records(self, since=None): ...
    def fetch(self, locator): ...
    def translate(self, record): ...
    def evidence_checker(self): ...
    def health(self): ...
'''


def install(site: Path, dist: str, module: str, entry_points: dict[str, str], source: str) -> None:
    """Lay out an installed distribution: its module and its dist-info with METADATA and entry_points.txt."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-0.3.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3.1\n")
    lines = "".join(f"{name} = {target}\n" for name, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[vcgate.adapters]\n{lines}")


BROKEN = [
    # (case, module source, reason words)
    (
        "missing-methods",
        GOOD_CLASS.replace("    def fetch(self, locator): ...\n", "").replace("    def health(self): ...\n", ""),
        "lacks fetch, health",
    ),
    (
        "newer-api",
        GOOD_CLASS.replace("API_VERSION = API_VERSION", "API_VERSION = 3"),
        "declares adapter API_VERSION 3, but this vcgate implements API 2",
    ),
    (
        # A plugin written against API 1 is refused, and the message says what changed in API 2.
        "api-v1",
        GOOD_CLASS.replace("API_VERSION = API_VERSION", "API_VERSION = 1"),
        "declares adapter API_VERSION 1, but this vcgate implements API 2 (changed since: API 2: checkers return "
        "vcgate.canonical_schema.Check",
    ),
    ("no-api", GOOD_CLASS.replace("    API_VERSION = API_VERSION\n", ""), "has no API_VERSION"),
    ("no-kind", GOOD_CLASS.replace('    KIND = "test"\n', ""), "has no KIND"),
    ("import-error", "import vcgate_module_that_does_not_exist\n", "importing it failed with ModuleNotFoundError"),
    ("raises-on-import", "raise RuntimeError('boom at import')\n", "RuntimeError: boom at import"),
    ("not-a-class", "def Adapter(config):\n    return None\n", "points at a function, not an adapter class"),
    ("attribute-missing", "X = 1\n", "importing it failed with AttributeError"),
]


@pytest.mark.parametrize(("case", "source", "reason"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_plugin_error_names_package_and_entry_point(
    case: str, source: str, reason: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = "vcgate_loader_" + case.replace("-", "_")
    dist = f"acme-{case}-adapter"
    install(tmp_path, dist, module, {f"acme-{case}": f"{module}:Adapter"}, source)
    monkeypatch.syspath_prepend(str(tmp_path))

    with pytest.raises(AdapterLoadError) as info:
        load_adapter(f"acme-{case}")
    error = info.value
    assert error.name == f"acme-{case}"
    assert error.value == f"{module}:Adapter"
    assert error.distribution == f"{dist} 0.3.1"
    assert reason in error.reason
    message = str(error)
    assert f"'acme-{case} = {module}:Adapter'" in message
    assert f"package {dist} 0.3.1" in message

    scan = scan_adapters()
    assert [e.name for e in scan.errors if e.name == f"acme-{case}"] == [f"acme-{case}"]
    assert f"acme-{case}" not in [p.name for p in scan.plugins]
    with pytest.raises(AdapterLoadError):
        load_adapters()


def test_good_plugin_loads_and_creates(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(
        tmp_path, "acme-good-adapter", "vcgate_loader_good", {"acme-good": "vcgate_loader_good:Adapter"}, GOOD_CLASS
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    plugin = load_adapter("acme-good")
    assert (plugin.kind, plugin.api_version, plugin.distribution, plugin.distribution_version) == (
        "test",
        2,
        "acme-good-adapter",
        "0.3.1",
    )
    assert plugin.summary == "A complete adapter for loader tests."
    adapter = plugin.create({"x": 1})
    assert adapter.config == {"x": 1}  # type: ignore[attr-defined]
    with pytest.raises(AdapterConfigError, match=r"adapter 'acme-good' \(package acme-good-adapter\) rejected"):
        plugin.create({"fail": True})
    with pytest.raises(AdapterLoadError, match="from_config\\(\\) returned an object without"):
        plugin.create({"wrong": True})


def test_duplicate_names_are_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(tmp_path, "acme-one", "vcgate_loader_one", {"acme-dup": "vcgate_loader_one:Adapter"}, GOOD_CLASS)
    install(tmp_path, "acme-two", "vcgate_loader_two", {"acme-dup": "vcgate_loader_two:Adapter"}, GOOD_CLASS)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(AdapterLoadError, match="several packages register the adapter name 'acme-dup'") as info:
        load_adapter("acme-dup")
    assert "acme-one" in str(info.value)
    assert "acme-two" in str(info.value)


def test_unknown_adapter() -> None:
    with pytest.raises(AdapterNotFoundError, match="no adapter named 'no-such-adapter' is installed"):
        load_adapter("no-such-adapter")


def test_config_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("id: x\npageSize: 3\n")
    config = load_adapter_config(tmp_path / "a.yaml")
    assert config == {"id": "x", "pageSize": 3, "configDir": str(tmp_path.resolve())}
    (tmp_path / "b.json").write_text('{"id": "y"}')
    assert load_adapter_config(tmp_path / "b.json")["id"] == "y"
    (tmp_path / "c.yaml").write_text("- a list\n")
    with pytest.raises(AdapterConfigError, match="must be a YAML/JSON object"):
        load_adapter_config(tmp_path / "c.yaml")
    with pytest.raises(AdapterConfigError, match="cannot read"):
        load_adapter_config(tmp_path / "missing.yaml")


def test_cli_list_and_describe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(tmp_path, "acme-good-adapter", "vcgate_cli_good", {"acme-cli-good": "vcgate_cli_good:Adapter"}, GOOD_CLASS)
    install(
        tmp_path,
        "acme-old-adapter",
        "vcgate_cli_old",
        {"acme-cli-old": "vcgate_cli_old:Adapter"},
        GOOD_CLASS.replace("API_VERSION = API_VERSION", "API_VERSION = 0"),
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    runner = CliRunner()

    listed = runner.invoke(adapters_app, ["list", "--json"])
    assert listed.exit_code == 1  # a broken plugin makes the listing fail, after listing the good ones
    data = json.loads(listed.stdout)
    good = [a for a in data["adapters"] if a["name"] == "acme-cli-good"]
    assert good == [
        {
            "name": "acme-cli-good",
            "kind": "test",
            "apiVersion": 2,
            "distribution": "acme-good-adapter",
            "distributionVersion": "0.3.1",
            "entryPoint": "vcgate_cli_good:Adapter",
            "summary": "A complete adapter for loader tests.",
        }
    ]
    (old,) = [e for e in data["errors"] if e["name"] == "acme-cli-old"]
    assert old["distribution"] == "acme-old-adapter 0.3.1"
    assert "API_VERSION 0" in old["reason"]

    table = runner.invoke(adapters_app, ["list"])
    assert table.exit_code == 1
    assert "acme-cli-good" in table.stdout
    assert "broken adapter" in table.stderr
    assert "acme-old-adapter" in table.stderr

    described = runner.invoke(adapters_app, ["describe", "acme-cli-good", "--json"])
    assert described.exit_code == 0
    assert json.loads(described.stdout)["plugin"]["interface"][0] == "from_config"
    broken = runner.invoke(adapters_app, ["describe", "acme-cli-old"])
    assert broken.exit_code == 1
    assert "acme-cli-old = vcgate_cli_old:Adapter" in broken.stderr
    unknown = runner.invoke(adapters_app, ["describe", "nope"])
    assert unknown.exit_code == 64
    missing_config = runner.invoke(adapters_app, ["describe", "acme-cli-good", "--config", str(tmp_path / "no.yaml")])
    assert missing_config.exit_code == 2  # a missing input file is an error, not a usage error
    (tmp_path / "fail.yaml").write_text("fail: true\n")
    rejected = runner.invoke(adapters_app, ["describe", "acme-cli-good", "--config", str(tmp_path / "fail.yaml")])
    assert rejected.exit_code == 1
    assert "rejected its configuration" in rejected.stderr
