"""The documentation: the tutorial notebook runs on the mirror and its figure is checked by numpy, the site fails on
a broken cross-reference, the README's command table matches the typer app, every public function is documented."""

import importlib
import inspect
import json
import os
import pkgutil
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import planner
from planner.clidoc import cli_commands, cli_markdown
from tests.conftest import REPO

README = REPO / "README.md"


def _readme_commands() -> list[tuple[str, str]]:
    """The first cells of the README's "What it does" table: (command, the rest of the cell)."""
    section = README.read_text().split("## What it does", 1)[1].split("\n## ", 1)[0]
    cells = re.findall(r"^\| `(planner [^`]*)` \|", section, flags=re.M)
    names = sorted((c.name for c in cli_commands()), key=len, reverse=True)
    out = []
    for cell in cells:
        text = cell.replace("\\|", "|")
        name = next((n for n in names if text == f"planner {n}" or text.startswith(f"planner {n} ")), None)
        assert name is not None, f"README's command table names a command planner lacks: {cell}"
        out.append((name, text))
    return out


def test_readme_command_table_matches_the_cli_reference():
    """Every command is in the README's table, and every flag the table shows is one that command takes."""
    commands = {c.name: c for c in cli_commands()}
    rows = _readme_commands()
    assert sorted({name for name, _ in rows}) == sorted(commands)
    for name, text in rows:
        flags = set(re.findall(r"(?<![\w-])(--[a-z][a-z0-9-]*)", text))
        assert flags <= commands[name].flags, (name, sorted(flags - commands[name].flags))


def test_cli_reference_lists_every_option():
    page = cli_markdown()
    for cmd in cli_commands():
        assert f"## planner {cmd.name}\n" in page
        for flags, _help, _default in cmd.options:
            assert f"`{flags[0]}`" in page
    run = next(c for c in cli_commands() if c.name == "run")
    assert {"--out", "--data", "--maps", "--no-maps"} <= run.flags and run.arguments == ("SCENARIOS...",)


def _public_objects():
    names = ["planner"] + [
        m.name for m in pkgutil.walk_packages(planner.__path__, "planner.") if not m.name.split(".")[-1].startswith("_")
    ]
    seen = set()
    for module_name in names:
        module = importlib.import_module(module_name)
        for attr in getattr(module, "__all__", []):
            obj = getattr(module, attr, None)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and id(obj) not in seen:
                seen.add(id(obj))
                yield f"{module_name}.{attr}", obj


def test_every_public_function_and_class_has_a_numpydoc_docstring():
    missing = []
    for name, obj in _public_objects():
        doc = inspect.getdoc(obj) or ""
        if not doc.strip():
            missing.append((name, "no docstring"))
        elif inspect.isfunction(obj):
            params = [
                p
                for p in inspect.signature(obj).parameters.values()
                if p.name not in ("self", "cls") and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            ]
            if params and "Parameters\n----------" not in doc:
                missing.append((name, "no Parameters section"))
    assert missing == []


def test_readme_links_the_site_pages():
    nav = re.findall(r"^  - [^:]+: (\S+)$", (REPO / "mkdocs.yml").read_text(), flags=re.M)
    assert "tutorial.ipynb" in nav and "api.md" in nav and "cli.md" in nav
    text = README.read_text()
    for page in nav:
        assert page.removesuffix(".md").removesuffix(".ipynb") in text, page
    assert "mkdocs build --strict" in text


def _build(config: Path, site: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )


def test_site_build_fails_on_a_broken_cross_reference(tmp_path):
    """The site as CI builds it, with one page added that links to an API name planner lacks: refused."""
    docs = Path(shutil.copytree(REPO / "docs", tmp_path / "docs"))
    (docs / "broken.md").write_text("# Broken\n\nSee [the loader][planner.load_londn].\n")
    config = (REPO / "mkdocs.yml").read_text()
    config = config.replace("docs_dir: docs", f"docs_dir: {docs}")
    config = config.replace("  - docs/hooks.py", f"  - {REPO}/docs/hooks.py")
    config = config.replace("paths: [.]", f"paths: [{REPO}]")
    config = config.replace("  - API reference: api.md", "  - API reference: api.md\n  - Broken: broken.md")
    path = tmp_path / "mkdocs.yml"
    path.write_text(config)
    result = _build(path, tmp_path / "site")
    assert result.returncode != 0
    assert "planner.load_londn" in result.stderr + result.stdout


@pytest.mark.data
def test_tutorial_notebook_runs_and_its_figure_is_numpys(data_dir, tmp_path):
    """The tutorial executes top to bottom on the mirror; its final figure equals numpy on the matrix of a run
    made here (the test's own route: engine matrix, minimum over the final plan's counters, residents > 45)."""
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(REPO / "docs" / "tutorial.ipynb", as_version=4)
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(REPO / "docs")}}
    )
    client.execute()
    last = notebook.cells[-1]
    shown = int(next(o for o in last.outputs if o.output_type == "execute_result")["data"]["text/plain"])
    from planner import load_london, make_engine, select_counters

    london = load_london(data_dir)
    engine = make_engine("transit", data=london.paths)
    final = select_counters(london.stations, "status_final_nov2017=retain,new")
    matrix = engine.matrix(london.study_demand.points, final[["station_id", "geometry"]])
    population = london.study_demand.points["population"].to_numpy()
    assert shown == int(population[~(matrix.minutes.min(axis=1) <= 45)].sum())
    # and the notebook's comparison found the published pair (the README's and the report's figures)
    text = json.dumps([c.get("outputs", []) for c in notebook.cells])
    assert "126,920" in text and "32,970" in text
