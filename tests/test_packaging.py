"""Every sub-package is listed in pyproject's explicit package list (ADR 0002), and the layout rules hold."""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOP = {"canonical_schema", "adapters", "gateway", "conformance_tests"}


def test_every_subpackage_is_listed() -> None:
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for top in TOP:
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT)
            if "node_modules" in rel.parts:
                continue
            found.add("vcgate." + ".".join(rel.parts))
    assert found - listed == set(), "add these to [tool.setuptools] packages in pyproject.toml"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_dependencies_point_one_way() -> None:
    # canonical_schema <- adapters <- gateway (ARCHITECTURE.md, "Layout")
    for path in (ROOT / "adapters").rglob("*.py"):
        bad = {m for m in _imports(path) if m.startswith("vcgate.gateway")}
        assert not bad, f"{path} imports {bad}: adapters never import the gateway"
    for path in (ROOT / "canonical_schema").rglob("*.py"):
        bad = {m for m in _imports(path) if m.startswith(("vcgate.gateway", "vcgate.adapters"))}
        assert not bad, f"{path} imports {bad}"


def test_no_bare_top_level_imports() -> None:
    for top in TOP:
        for path in (ROOT / top).rglob("*.py"):
            bad = {m for m in _imports(path) if m.split(".")[0] in TOP}
            assert not bad, f"{path} imports {bad}; import as vcgate.<package>"


def test_every_data_folder_is_listed() -> None:
    # setuptools warns ("absent from the packages configuration") and may one day skip data in unlisted folders.
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for top in TOP:
        for folder in (ROOT / top).rglob("*"):
            rel = folder.relative_to(ROOT)
            if not folder.is_dir() or {"node_modules", "__pycache__", "upstream"} & set(rel.parts):
                continue
            if any(p.is_file() for p in folder.iterdir()) and all(part.isidentifier() for part in rel.parts):
                found.add("vcgate." + ".".join(rel.parts))
    assert found - listed == set(), "add these data folders to [tool.setuptools] packages in pyproject.toml"


def _requirements() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [*project["dependencies"], *(r for extra in project["optional-dependencies"].values() for r in extra)]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def test_every_dependency_has_an_upper_bound() -> None:
    unbounded = [r for r in _requirements() if not re.search(r"<|==", r.split(";")[0])]
    assert unbounded == [], "bound each dependency's major version in pyproject.toml (`x>=1.2,<2`)"


def test_every_dependency_is_pinned_in_constraints() -> None:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[_name(name)] = version
    missing = sorted({_name(r) for r in _requirements()} - set(pins))
    assert missing == [], "regenerate constraints.txt: scripts/lock.sh (README, 'Pinned dependencies')"
