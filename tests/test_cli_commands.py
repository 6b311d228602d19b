"""The CLI commands as a user runs them, on the real data."""

import pandas as pd
import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.scenario import load_scenario
from tests.conftest import REPO

runner = CliRunner()
FINAL = str(REPO / "scenarios" / "mopac-final-2017.toml")
pytestmark = pytest.mark.data


pytestmark = pytest.mark.usefixtures("cli_context")


def invoke(*args):
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    # the console may be narrow: compare text with table borders and line wrapping removed
    return " ".join(result.output.replace("│", " ").split())


def test_access_london_wide(data_dir, tmp_path):
    out = invoke("access", "--data", data_dir, "--open", "status_final_nov2017=retain,new", "--out", tmp_path)
    assert "London" in out and "126,920" in out
    wards = pd.read_csv(tmp_path / "access_wards.csv")
    assert len(wards) == 629
    assert (tmp_path / "access.gpkg").is_file()


def test_access_street_network_for_a_borough(data_dir, osm_dir, tmp_path):
    out = invoke(
        "access",
        "--data",
        data_dir,
        "--engine",
        "network",
        "--osm",
        osm_dir / "camden.osm.pbf",
        "--borough",
        "Camden",
        "--out",
        tmp_path,
    )
    assert "Camden" in out and "(network)" in out
    points = pd.read_csv(tmp_path / "access_points.csv")
    assert points["reachable"].all() and (points["borough_name"] == "Camden").all()


def test_access_bad_selection(data_dir, tmp_path):
    result = runner.invoke(app, ["access", "--data", str(data_dir), "--open", "status_final_nov2017=maybe"])
    assert result.exit_code == 2
    assert "values present" in " ".join(result.output.split())


def test_hubs_command(data_dir, tmp_path):
    out = invoke("hubs", "--data", data_dir, "--out", tmp_path)
    assert "149 hubs" in out and "150 hubs is out of reach" in out
    assert len(pd.read_csv(tmp_path / "hubs.csv")) == 149
    result = runner.invoke(app, ["hubs", "--data", str(data_dir), "--hubs", "155", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "141-149" in " ".join(result.output.split())


def test_run_and_compare(data_dir, tmp_path):
    base = str(REPO / "scenarios" / "baseline-2017.toml")
    # maps from the command line: test_synthetic.py (both plans) and test_scenarios.py's byte-identical runs
    out = invoke("run", base, FINAL, "--data", data_dir, "--out", tmp_path, "--no-maps")
    assert "mopac-final-2017: 34 counters" in out
    out = invoke("compare", tmp_path / "baseline-2017", tmp_path / "mopac-final-2017", "--out", tmp_path)
    assert "residents beyond 45 min" in out
    assert (tmp_path / "compare" / "compare.md").read_text().startswith("# Scenario comparison")


def test_optimise_writes_a_proposal(data_dir, tmp_path):
    # the proposal's own run: test_scenarios.py::test_optimiser_proposal_runs
    out = invoke("optimise", FINAL, "--data", data_dir, "--out", tmp_path / "opt")
    assert "Optimum with the same 34 counters: 99.73%" in out
    proposal = next((tmp_path / "opt").glob("*.toml"))
    assert len(load_scenario(proposal).counters.open.ids) == 34


def test_sessions_command(data_dir, tmp_path):
    out = invoke("sessions", FINAL, "--data", data_dir, "--out", tmp_path / "sessions")
    assert "session site(s)" in out


def test_sweep_refuses_an_unreachable_scheduler(data_dir, tmp_path, monkeypatch):
    # the sweep itself, on a local Dask cluster from the command line: test_sweep.py (the CLI's output)
    import functools

    import planner.sweep.run

    monkeypatch.setattr(planner.sweep.run, "connect", functools.partial(planner.sweep.connect, timeout=1.0))
    result = runner.invoke(
        app, ["sweep", FINAL, "--data", str(data_dir), "--scheduler", "tcp://127.0.0.1:9", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2 and "could not reach a Dask scheduler" in " ".join(result.output.split())
