"""The package's shape, kept: no import cycle, no module over 600 lines, no function over 60.

The numbers are those of the README's Development section.  A function is measured from its ``def`` to its
last line, without its docstring; C901 (ruff) keeps each one's branching in check.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx

PACKAGE = Path(__file__).resolve().parents[1] / "planner"
MODULE_LINES = 600
FUNCTION_LINES = 60


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def _imports(tree: ast.Module, name: str, is_package: bool) -> set[str]:
    """The planner modules a module imports at its top level (``if TYPE_CHECKING:`` blocks left out)."""
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative
                parent = name.split(".") if is_package else name.split(".")[:-1]
                base = ".".join(parent[: len(parent) - node.level + 1] + ([base] if base else []))
            if base.startswith("planner"):
                found.add(base)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("planner")}
    return found


def test_no_import_cycle():
    modules = _modules()
    graph = nx.DiGraph()
    for name, path in modules.items():
        graph.add_node(name)
        for dep in _imports(ast.parse(path.read_text()), name, path.name == "__init__.py"):
            target = dep
            while target not in modules and "." in target:
                target = target.rsplit(".", 1)[0]
            if target != name and not name.startswith(target + "."):  # a package's modules may use the package
                graph.add_edge(name, target)
    cycles = list(nx.simple_cycles(graph))
    assert cycles == []


def test_no_function_local_import_of_planner_outside_the_command_line():
    """The CLI imports the library inside its commands so that ``planner --help`` starts fast
    (``python -m benchmarks.startup``); nothing else hides an import of planner in a function."""
    local = []
    for name, path in _modules().items():
        if name.startswith("planner.cli"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.ImportFrom) and (inner.module or "").startswith("planner"):
                        local.append(f"{name}.{node.name}: from {inner.module} import ...")
    assert local == []


def test_no_module_over_600_lines():
    long = {name: n for name, path in _modules().items() if (n := len(path.read_text().splitlines())) > MODULE_LINES}
    assert long == {}


def _length(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    lines = node.end_lineno - node.lineno + 1  # type: ignore[operator]
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        lines -= first.end_lineno - first.lineno + 1  # type: ignore[operator]
    return lines


def test_no_function_over_60_lines():
    long = {}
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _length(node) > FUNCTION_LINES:
                long[f"{name}.{node.name}"] = _length(node)
    assert long == {}


def test_every_public_name_of_the_packages_resolves():
    """`planner` and `planner.travel` import their names on first use, from their `if TYPE_CHECKING:` block
    (which type checkers and the API reference read): every name of `__all__` must come from there or be
    imported eagerly."""
    import planner
    import planner.travel

    for package in (planner, planner.travel):
        for name in package.__all__:
            assert getattr(package, name) is not None, f"{package.__name__}.{name}"
