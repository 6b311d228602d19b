"""Package names imported on first use (PEP 562), so that ``import planner`` and the command line stay light."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    namespace: dict[str, Any], table: Mapping[str, tuple[str, str]]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` that import each name of ``table`` when it is first used.

    Parameters
    ----------
    namespace
        The package's ``globals()``: an imported name is kept there, so it is imported once.
    table
        Public name -> (module, attribute).

    Returns
    -------
    tuple
        ``(__getattr__, __dir__)`` for the package.
    """
    package = namespace["__name__"]

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
