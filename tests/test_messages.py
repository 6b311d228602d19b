"""Library messages in library words, the command line's in its own: a sample checked both ways, and a scan that
keeps CLI flags out of every message the library raises or logs."""

import ast
import re

import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.config import resolve_data_dir
from planner.datasets import fetch
from planner.errors import DataDirError, EngineError, InfeasibleError, OptionError
from planner.hubs import solve_hubs
from planner.travel import make_engine
from tests.conftest import REPO
from tests.test_hubs import path_wards

runner = CliRunner()
FLAG = re.compile(r"(?<![\w`-])--[a-z][a-z0-9-]+")


def _cli(args: list[str]) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code != 0
    return " ".join(result.output.split())


def test_no_data_directory(monkeypatch):
    monkeypatch.delenv("PLANNER_DATA", raising=False)
    with pytest.raises(DataDirError) as info:
        resolve_data_dir(None)
    assert "pass `data` or set PLANNER_DATA" in str(info.value) and "--data" not in str(info.value)
    assert "pass `data` (--data) or set PLANNER_DATA" in _cli(["data", "check"])


def test_fetch_retries(tmp_path):
    with pytest.raises(OptionError) as info:
        fetch(tmp_path, retries=0, sources=[])
    assert str(info.value).startswith("`retries` must be at least 1") and "--" not in str(info.value)
    shown = _cli(["data", "fetch", "--dest", str(tmp_path / "d"), "--retries", "0"])
    assert "`retries` (--retries) must be at least 1" in shown


def test_network_engine_without_osm():
    with pytest.raises(EngineError) as info:
        make_engine("network")
    assert "(`osm`, or engine.osm in a scenario)" in str(info.value) and "--osm" not in str(info.value)


def test_hub_rules_name_the_options_and_the_scenario_field():
    problem = path_wards(7, lambda i: "X")
    with pytest.raises(InfeasibleError) as info:
        solve_hubs(problem)
    text = str(info.value)
    assert "`size` (3, 5)" in text and "hubs.wards_per_hub in a scenario" in text and "`join`" in text
    assert not FLAG.search(text)


@pytest.mark.data
def test_hub_rules_from_the_command_line(data_dir, tmp_path):
    shown = _cli(["hubs", "--data", str(data_dir), "--hubs", "10", "--out", str(tmp_path / "h")])
    assert "(`hubs` (--hubs))" in shown and "`size` (--wards-per-hub)" in shown and "`join` (--join-boroughs)" in shown


def _library_messages() -> list[tuple[str, int, str]]:
    """Every string a library ``raise`` or log/warning call builds, outside the CLI modules."""
    found = []
    for path in sorted((REPO / "planner").rglob("*.py")):
        if path.parent.name == "cli" or path.name == "clidoc.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                if name not in ("warn", "warning", "info", "error"):
                    continue
            elif not isinstance(node, ast.Raise):
                continue
            text = "".join(s.value for s in ast.walk(node) if isinstance(s, ast.Constant) and isinstance(s.value, str))
            found.append((str(path.relative_to(REPO)), node.lineno, text))
    return found


def test_library_messages_name_no_cli_flag():
    """A flag may appear only inside a quoted command line (`planner data fetch --dest DIR`): advice to run it."""
    messages = _library_messages()
    assert len(messages) > 300
    bad = [(f, line, m.group(0)) for f, line, text in messages for m in FLAG.finditer(re.sub(r"`[^`]*`", "", text))]
    assert bad == []


def test_cli_adds_the_flag_only_to_named_arguments():
    from planner.cli.common import with_flags

    text = "No data directory: pass `data` or set PLANNER_DATA (data/README.md)"
    assert with_flags(text) == "No data directory: pass `data` (--data) or set PLANNER_DATA (data/README.md)"
    assert with_flags("max_disproportion is 0.5", {"max_disproportion": "--max-disproportion"}) == (
        "max_disproportion (--max-disproportion) is 0.5"
    )
    assert with_flags("the data directory", {}) == "the data directory"


def test_an_option_given_twice_is_refused(capsys):
    """The second hostile pass: `access --threshold 60 --threshold 45` silently gave the 45-minute table."""
    from planner.cli.common import entry

    with pytest.raises(SystemExit) as info:
        entry(["access", "--threshold", "60", "--threshold=45"])
    assert info.value.code == 2
    assert "--threshold given 2 times; it takes one value" in " ".join(capsys.readouterr().err.split())
    with pytest.raises(SystemExit) as info:
        entry(["data", "check", "--year", "2019", "--year", "2020"])
    assert info.value.code == 2


def test_a_grid_name_or_value_given_twice_is_refused():
    from planner.cli.calibrate import parse_grid

    with pytest.raises(Exception, match="bus_wait_min given twice"):
        parse_grid(["bus_wait_min=9", "bus_wait_min=12"])
    with pytest.raises(Exception, match="repeats a value"):
        parse_grid(["bus_wait_min=9,9"])
    assert parse_grid(["bus_wait_min=9,12", "bus_speed_kmh=24"]) == {
        "bus_wait_min": [9.0, 12.0],
        "bus_speed_kmh": [24.0],
    }


def test_degrees_tagged_as_metres_are_refused():
    """The second hostile pass: counters in degrees tagged EPSG:27700 made every resident unreachable, silently."""
    import geopandas as gpd
    import shapely

    from planner.config import require_bng
    from planner.errors import CRSError

    frame = gpd.GeoDataFrame(geometry=[shapely.Point(-0.12, 51.5), shapely.Point(-0.1, 51.52)], crs=27700)
    with pytest.raises(CRSError, match=r"tagged EPSG:27700 but its coordinates .* look like longitude and latitude"):
        require_bng(frame, "counters")
    require_bng(frame.set_crs(4326, allow_override=True).to_crs(27700), "counters")
    require_bng(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=27700), "toy wards")  # a toy grid is fine
