"""Package names imported on first use (PEP 562), so that ``import planner`` and the command line stay light."""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from importlib import import_module
from pathlib import Path
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(namespace: dict[str, Any]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` that import each name of its ``if TYPE_CHECKING:`` imports
    when it is first used.

    The one list of the names is that import block: type checkers and the API reference read it as it is,
    and this reads it from the package's source.

    Parameters
    ----------
    namespace
        The package's ``globals()``: an imported name is kept there, so it is imported once.

    Returns
    -------
    tuple
        ``(__getattr__, __dir__)`` for the package.
    """
    package = namespace["__name__"]
    table = _checking_imports(Path(namespace["__file__"]))

    def getattr_(name: str) -> object:
        if name in table:
            module, attribute = table[name]
            value = getattr(import_module(module), attribute)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def dir_() -> list[str]:
        return sorted(set(namespace) | set(table))

    return getattr_, dir_


def _checking_imports(path: Path) -> Mapping[str, tuple[str, str]]:
    """Name -> (module, attribute) of the ``from X import Y`` statements under ``if TYPE_CHECKING:``."""
    table = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING":
            for stmt in node.body:
                if isinstance(stmt, ast.ImportFrom) and stmt.module:
                    for alias in stmt.names:
                        table[alias.asname or alias.name] = (stmt.module, alias.name)
    return table
