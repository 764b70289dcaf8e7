"""Start-up and base install: commands import only what they need, and a missing extra never crashes a command.

A base install (no `ethereum` / `fabric` extra) is simulated by a meta-path hook in a fresh interpreter that makes
those extras' modules unimportable, exactly as when they are not installed (ModuleNotFoundError). The real thing,
a wheel in a fresh virtual environment, is tests/install/test_wheel.py (slow).
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from vcgate.gateway.cli import _app

ROOT = Path(__file__).resolve().parents[2]
CREDENTIAL = ROOT / "examples" / "credentials" / "cbp-3461-entry.json"

#: Top-level modules of the optional extras (pyproject.toml [project.optional-dependencies]).
EXTRA_MODULES = {
    "ethereum": ("web3", "eth_abi", "eth_utils", "eth_account", "rlp", "trie", "Crypto"),
    "fabric": ("fabric_protos", "grpc", "google.protobuf"),
}
HEAVY = ("sqlalchemy", "fastapi", "uvicorn", "alembic", "web3", "fabric_protos", "grpc")

_PRELUDE = """
import atexit, importlib.abc, json, sys
BLOCKED = {blocked!r}
class _Missing(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if any(name == b or name.startswith(b + ".") for b in BLOCKED):
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None
sys.meta_path.insert(0, _Missing())
atexit.register(lambda: print("\\nMODULES " + json.dumps(sorted(sys.modules)), file=sys.stderr))
sys.argv[0] = "vcgate"
from vcgate.gateway.cli import main
main()
"""


def vcgate(*args: str, blocked: tuple[str, ...] = ()) -> tuple[int, str, str, set[str]]:
    """Run the CLI in a fresh interpreter; return (exit code, stdout, stderr without the module list, modules)."""
    proc = subprocess.run(
        [sys.executable, "-c", _PRELUDE.format(blocked=list(blocked)), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    stderr, _, modules = proc.stderr.rpartition("\nMODULES ")
    return proc.returncode, proc.stdout, stderr, set(json.loads(modules))


def _top(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_help_imports_no_library_behind_a_command() -> None:
    code, out, err, modules = vcgate("--help")
    assert code == 0, err
    for command in ("verify", "plain-ledger", "conformance"):
        assert command in out
    assert _top(modules).isdisjoint(HEAVY), _top(modules) & set(HEAVY)
    # Not even the verifier: `--help` lists commands from their help lines only.
    assert "vcgate.gateway.verification._verify" not in modules
    assert "pyld" not in _top(modules)


def test_verify_imports_the_verifier_but_no_server_store_or_ledger_library() -> None:
    code, out, err, modules = vcgate("verify", "--offline", "--json", str(CREDENTIAL))
    assert code in (0, 1), err  # the example's verdict is not the point; that it ran to a verdict is
    assert json.loads(out)["status"] in ("verified", "invalid")
    assert "vcgate.gateway.verification._verify" in modules
    assert _top(modules).isdisjoint(HEAVY), _top(modules) & set(HEAVY)


def test_lazy_help_lines_match_the_commands_own_help() -> None:
    for name, lazy in _app._LAZY.items():
        command = lazy.load(name)
        real = " ".join((command.help or "").split())
        assert real.startswith(lazy.help.rstrip(".")), f"update _LAZY[{name!r}].help to {real[:100]!r}"


PACKAGES = ["vcgate.canonical_schema", "vcgate.adapters", "vcgate.adapters.sdk", "vcgate.adapters.plain_ledger",
            "vcgate.adapters.remote", "vcgate.adapters.ethereum", "vcgate.adapters.fabric", "vcgate.gateway",
            "vcgate.gateway.api", "vcgate.conformance_tests"]  # fmt: skip


@pytest.mark.parametrize("package", PACKAGES)
def test_every_lazy_export_resolves(package: str) -> None:
    module = importlib.import_module(package)
    assert module.__all__
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{package}.{name}"
    assert set(module.__all__) <= set(dir(module))
    with pytest.raises(AttributeError, match="no attribute 'NoSuchName'"):
        _ = module.NoSuchName


def test_base_install_lists_adapters_needing_an_extra_as_unavailable() -> None:
    blocked = EXTRA_MODULES["ethereum"] + EXTRA_MODULES["fabric"]
    code, out, err, _ = vcgate("adapters", "list", "--json", blocked=blocked)
    assert code == 0, err
    listing = json.loads(out)
    assert {a["name"] for a in listing["adapters"]} >= {"plain-ledger", "remote"}
    unavailable = {u["name"]: u for u in listing["unavailable"]}
    assert unavailable["fabric"]["install"] == 'pip install "vcgate[fabric]"'
    assert unavailable["ethereum"]["install"] == 'pip install "vcgate[ethereum]"'
    assert listing["errors"] == []
    code, out, err, _ = vcgate("adapters", "list", blocked=blocked)
    assert code == 0, err
    assert 'fabric is unavailable; to enable it: pip install "vcgate[fabric]"\n' in out


def test_base_install_commands_name_the_missing_extra() -> None:
    blocked = EXTRA_MODULES["ethereum"] + EXTRA_MODULES["fabric"]
    code, out, err, _ = vcgate("fabric", "verify-block", "x.block", blocked=blocked)
    assert code == 2
    assert 'pip install "vcgate[fabric]"' in " ".join(err.split())
    # verify resolves DIDs through the plugins: did:ethr is simply not available, nothing crashes.
    code, out, err, _ = vcgate("verify", "--json", str(CREDENTIAL), blocked=blocked)
    assert code in (0, 1, 2), err
    assert "Traceback" not in err
    assert json.loads(out)["status"] in ("verified", "invalid", "error")


def test_ethereum_only_install_runs_help_and_ethereum_commands() -> None:
    code, out, err, modules = vcgate("--help", blocked=EXTRA_MODULES["fabric"])
    assert code == 0, err
    code, out, err, modules = vcgate("adapters", "describe", "ethereum", "--json", blocked=EXTRA_MODULES["fabric"])
    assert code == 0, err
    assert json.loads(out)["plugin"]["entryPoint"] == "vcgate.adapters.ethereum:EthereumAdapter"
    assert "fabric_protos" not in _top(modules)


def test_entry_points_declare_their_extras() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    adapters = project["entry-points"]["vcgate.adapters"]
    assert adapters["fabric"].endswith("[fabric]")
    assert adapters["ethereum"].endswith("[ethereum]")
    assert project["entry-points"]["vcgate.did_methods"]["ethr"].endswith("[ethereum]")
