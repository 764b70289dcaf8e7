"""The shipped workflows (package data under ``files/``) and loading a workflow by name or path."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from ._model import Workflow, WorkflowError


@cache
def builtin_workflows() -> dict[str, Workflow]:
    """Every shipped workflow by name (parsed once per process)."""
    out: dict[str, Workflow] = {}
    folder = resources.files(__package__).joinpath("files")
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".yaml"):
            wf = Workflow.from_yaml(item.read_text(encoding="utf-8"), source=f"workflows/{item.name}")
            out[wf.name] = wf
    return out


def builtin_workflow(name: str) -> Workflow:
    """The shipped workflow ``name``; raises :class:`WorkflowError` listing the names there are."""
    found = builtin_workflows().get(name)
    if found is None:
        raise WorkflowError(f"no workflow named {name!r}; shipped: {', '.join(sorted(builtin_workflows()))}")
    return found


def load_workflow(name_or_path: str) -> Workflow:
    """A shipped workflow by name, or a workflow file by path (a name containing '/' or ending in .yaml/.yml)."""
    if "/" in name_or_path or name_or_path.endswith((".yaml", ".yml")) or Path(name_or_path).is_file():
        return Workflow.from_file(name_or_path)
    return builtin_workflow(name_or_path)
