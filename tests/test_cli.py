import json

import pytest
from typer.testing import CliRunner

from planner.cli import app

runner = CliRunner()


def test_help():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("data", "access"):
        assert command in result.output


def test_data_check_without_directory(monkeypatch):
    monkeypatch.delenv("PLANNER_DATA", raising=False)
    result = runner.invoke(app, ["data", "check"])
    assert result.exit_code == 2
    assert "PLANNER_DATA" in result.output


def test_data_check_missing_file(tmp_path):
    (tmp_path / "boundaries").mkdir()
    result = runner.invoke(app, ["data", "check", "--data", str(tmp_path)])
    assert result.exit_code == 2
    assert "London-wards-2014.zip" in result.output


@pytest.mark.data
def test_data_check_counts(data_dir):
    result = runner.invoke(app, ["data", "check", "--data", str(data_dir), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["ward_sets"] == {
        "2014 London_Ward": 654,
        "2014 London_Ward_CityMerged": 630,
        "2018 London_Ward": 657,
        "2018 London_Ward_CityMerged": 633,
    }
    assert summary["boroughs"] == 33
    assert summary["met_wards"] == 629
    assert summary["population"] == 8_961_989
    assert summary["stations"] == 76
    assert summary["stations_by_status"]["status_final_nov2017"]["close"] == 38


def _table():
    from rich.table import Table

    table = Table(title="Residents beyond 45 minutes")
    for col in ("borough", "residents", "beyond 45 min", "% within", "mean min", "p95 min", "hubs range"):
        table.add_column(col)
    table.add_row("Kingston upon Thames", "176,942,096", "290,037", "96.8", "27.5", "42.8", "141-149")
    table.add_row("London (Met area)", "8,952,268", "-", "100.0", "25.9", "unreachable", "4-5")
    return table


def _printed(width: int) -> list[str]:
    import io

    from rich.console import Console

    from planner.cli.common import show

    out = io.StringIO()
    show(_table(), to=Console(file=out, width=width))
    return out.getvalue().splitlines()


@pytest.mark.parametrize("width", [40, 60, 72, 80, 100, 200])
def test_tables_keep_figures_whole_at_any_width(width):
    """Every figure and word is printed whole; the table fits the terminal whenever its words allow."""
    lines = _printed(width)
    text = "\n".join(lines)
    assert "…" not in text
    for figure in ("176,942,096", "290,037", "8,952,268", "unreachable", "141-149", "Kingston", "Thames"):
        assert figure in text
    # the narrowest layout: each column as wide as its longest word or figure, plus rules and padding
    longest = ("Kingston", "176,942,096", "290,037", "within", "mean", "unreachable", "141-149")  # one per column
    narrowest = sum(len(w) for w in longest) + 3 * 7 + 1
    widest = max(len(line) for line in lines)
    assert widest == max(width, narrowest) or (width >= 100 and widest <= width)


def test_sweep_prints_the_worst_closures_of_each_size():
    """Pairs and triples sweeps also show their worst closures, named, with the rise over today's plan."""
    import io
    from types import SimpleNamespace

    import pandas as pd
    from rich.console import Console

    from planner.cli.common import show
    from planner.cli.sweep import worst_closures

    critical = pd.DataFrame(
        {"station_id": ["a", "b", "c"], "name": ["Acton", "Barnet", "Croydon"], "beyond": [130, 120, 110]}
    )
    critical["residents_losing_access"] = critical["beyond"] - 100  # today's plan leaves 100 beyond
    results = pd.DataFrame(
        {
            "n_closed": [1, 1, 1, 2, 2, 2, 3],
            "closed": ["a", "b", "c", "a;b", "a;c", "b;c", "a;b;c"],
            "beyond": [130, 120, 110, 150, 170, 140, 400],
        }
    )
    out = io.StringIO()
    show(worst_closures(SimpleNamespace(critical=critical, results=results), 2), to=Console(file=out, width=120))
    rows = [line for line in out.getvalue().splitlines() if "+" in line]
    assert [r.split("│")[1].strip() for r in rows] == ["Acton + Croydon", "Acton + Barnet", "Acton + Barnet + Croydon"]
    assert [r.split("│")[3].strip() for r in rows] == ["70", "50", "300"]


def test_verbose_flag_may_follow_the_sub_command(monkeypatch):
    """`planner run -v ...` means `planner -v run ...`; a `-v` after `--` is left alone."""
    import planner.cli.common as cli

    seen = []
    monkeypatch.setattr(cli, "app", lambda *, args, prog_name: seen.append(args))
    cli.entry(["hubs", "--data", "d", "-v", "--out", "o", "-vv"])
    cli.entry(["-v", "access"])
    cli.entry(["run", "x.toml", "--", "-v"])
    assert seen == [
        ["-v", "-vv", "hubs", "--data", "d", "--out", "o"],
        ["-v", "access"],
        ["run", "x.toml", "--", "-v"],
    ]


def test_a_bad_source_date_epoch_is_refused_without_a_traceback():
    """Hostile pass 7: `SOURCE_DATE_EPOCH=abc planner --help` printed a traceback from `import planner`."""
    import os
    import subprocess
    import sys

    for value in ("abc", "-5", "1.5"):
        env = {**os.environ, "SOURCE_DATE_EPOCH": value}
        done = subprocess.run([sys.executable, "-m", "planner", "--help"], env=env, capture_output=True, text=True)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and f"SOURCE_DATE_EPOCH is '{value}'" in done.stderr
