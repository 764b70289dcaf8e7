"""Lazy re-exports for vcgate's packages (PEP 562), so that importing one module never imports them all.

A package's ``__init__`` lists its re-exports as ordinary relative imports inside ``if TYPE_CHECKING:`` — what type
checkers and readers see — and in the ``else:`` branch binds ``__getattr__, __dir__ = lazy_exports(__name__,
__file__)``. At run time the names are read from that block and each is imported from its submodule on first use.
Why: ``vcgate --help`` must not pay for FastAPI, SQLAlchemy or web3, and a base install without an extra (Fabric's
protobufs, web3) must still import every package whose names it uses.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["lazy_exports"]


def _type_checking_imports(init_file: Path) -> dict[str, tuple[str, str]]:
    """``name -> (module, attribute)`` for every ``from X import Y`` inside the file's ``if TYPE_CHECKING:``."""
    tree = ast.parse(init_file.read_text(encoding="utf-8"), filename=str(init_file))
    table: dict[str, tuple[str, str]] = {}
    for node in tree.body:
        if not (isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"):
            continue
        for stmt in node.body:
            if not isinstance(stmt, ast.ImportFrom):
                continue
            for alias in stmt.names:
                if stmt.module is None:  # ``from . import sub``: the attribute is a submodule
                    table[alias.asname or alias.name] = ("." * stmt.level + alias.name, "")
                else:
                    table[alias.asname or alias.name] = ("." * stmt.level + stmt.module, alias.name)
    return table


def lazy_exports(package: str, init_file: str) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``, importing each re-export from its submodule on first access."""
    table: dict[str, tuple[str, str]] = {}

    def exports() -> dict[str, tuple[str, str]]:
        if not table:
            table.update(_type_checking_imports(Path(init_file)))
        return table

    def __getattr__(name: str) -> Any:  # noqa: N807  (the PEP 562 hook)
        entry = exports().get(name)
        if entry is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module_name, attribute = entry
        module = importlib.import_module(module_name, package)
        value = getattr(module, attribute) if attribute else module
        # Cache on the package: the next access is an ordinary attribute lookup.
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:  # noqa: N807
        return sorted(set(vars(sys.modules[package])) | set(exports()))

    return __getattr__, __dir__
