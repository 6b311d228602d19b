"""The shared checks behind the refusals: categorical values, CSV reading, parameter bounds, bus routes, run sets.

Each is checked on small inputs worked out by hand; ``tests/test_refusals.py`` runs them through the CLI.
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.categories import canonical, match_values, tidy_column
from planner.errors import DataError, EngineError, PlannerWarning
from planner.io import read_csv
from planner.runfolder import RunIdentity, check_points, check_run_set, check_summary
from planner.travel.bounds import BOUNDS, check_bounds
from planner.travel.transit_data import drop_moved_stops
from planner.travel.transit_params import TransitParams
from planner.travel.transit_simple import SimpleTransitParams


# --------------------------------------------------------------------------- categorical values
@pytest.mark.parametrize("text", ["retain", "Retain", " retain ", "RETAIN", "re tain"[:2] + "tain", "retain\t"])
def test_spellings_of_one_value_share_a_form(text):
    assert canonical(text) == "retain"


@given(st.text(max_size=20))
def test_canonical_is_idempotent(text):
    assert canonical(canonical(text)) == canonical(text)


def test_a_file_is_tidied_with_the_odd_lines_named():
    column = pd.Series(["retain", "close", "retain ", "Close", "new"])
    with pytest.warns(PlannerWarning, match=r"2 value\(s\) .*line 4 'retain ', line 5 'Close'"):
        tidy = tidy_column(column, column="status", source="f.csv")
    assert tidy.tolist() == ["retain", "close", "retain", "close", "new"]


def test_a_clean_column_gives_no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert tidy_column(pd.Series(["retain", ""]), column="s", source="f").tolist() == ["retain", ""]


def test_requested_values_match_by_form_and_misses_get_a_hint():
    present = ["retain", "close", "under_consideration"]
    assert match_values(["Retain", " close"], present, where="--open", column="s") == ["retain", "close"]
    with pytest.raises(DataError, match=r"\['retian'\] never occur .* 'retian': did you mean 'retain'\?"):
        match_values(["retian"], present, where="--open", column="s")
    with pytest.raises(DataError, match=r"\['zzz'\] never occur in column 's'; values present: \[") as info:
        match_values(["zzz"], present, where="--open", column="s")
    assert "did you mean" not in str(info.value)


# --------------------------------------------------------------------------- CSV reading
def test_utf8_with_or_without_a_byte_order_mark_reads_quietly(tmp_path):
    for i, bom in enumerate((b"", b"\xef\xbb\xbf")):
        path = tmp_path / f"u{i}.csv"
        path.write_bytes(bom + "id,name\n1,Bärnsdale\n".encode())
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert read_csv(path)["name"].tolist() == ["Bärnsdale"]


def test_latin_1_is_read_as_windows_1252_with_the_line_named(tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes("id,name\n1,Ok\n2,Bärnsdale – €\n".encode("cp1252"))
    with pytest.warns(PlannerWarning, match=r"is not UTF-8 \(line 3 holds byte 0xe4\)"):
        table = read_csv(path)
    assert table["name"].tolist() == ["Ok", "Bärnsdale – €"]


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_other_separators_are_found_in_the_header(tmp_path, sep):
    path = tmp_path / "s.csv"
    path.write_text(sep.join(["id", "easting", "northing"]) + "\n" + sep.join(["a", "530000,5", "180000"]) + "\n")
    with pytest.warns(PlannerWarning, match="separates its columns with"):
        table = read_csv(path, dtype=str)
    assert table.columns.tolist() == ["id", "easting", "northing"] and table["easting"].iat[0] == "530000,5"


def test_ragged_rows_are_refused_with_the_file(tmp_path):
    path = tmp_path / "r.csv"
    path.write_text("a,b\n1,2\n3,4,5,6\n")
    with pytest.raises(DataError, match=r"r\.csv: cannot be read as a table"):
        read_csv(path)


# --------------------------------------------------------------------------- parameter bounds
@pytest.mark.parametrize("cls", [TransitParams, SimpleTransitParams])
def test_every_default_lies_inside_its_bounds(cls):
    """The defaults (and so every fitted value) are plausible; every numeric parameter has bounds."""
    for f in dataclasses.fields(cls):
        if f.type in ("bool", bool):
            continue
        assert f.name in BOUNDS, f"{cls.__name__}.{f.name} has no plausible range in planner.travel.bounds"
        low, high, why = BOUNDS[f.name]
        assert low <= f.default <= high and why


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_bus_speed_inside_bounds_is_accepted_and_outside_refused(speed):
    low, high, _ = BOUNDS["bus_speed_kmh"]
    if low <= speed <= high:
        check_bounds("transit", {"bus_speed_kmh": speed})
    else:
        with pytest.raises(EngineError, match="outside its plausible range 5 to 80"):
            check_bounds("transit", {"bus_speed_kmh": speed})


def test_bounds_hold_in_the_engine_too():
    with pytest.raises(EngineError, match="bus_speed_kmh = 1e-09"):
        TransitParams(bus_speed_kmh=1e-9)
    assert TransitParams(bus_speed_kmh=80).bus_speed_kmh == 80


# --------------------------------------------------------------------------- bus stops off their route
def _route(xs, ys, route="1"):
    n = len(xs)
    return pd.DataFrame(
        {"route": route, "run": 1, "seq": range(1, n + 1), "stop": [f"s{i}" for i in range(n)], "x": xs, "y": ys}
    )


def test_a_stop_moved_off_its_route_is_dropped_and_named():
    # stops 400 m apart along y = 0; the third is moved 40 km north
    frame = _route([0, 400, 800, 1200, 1600], [0, 0, 40_000, 0, 0])
    kept, note = drop_moved_stops(frame)
    assert kept["stop"].tolist() == ["s0", "s1", "s3", "s4"]
    assert "1 route-stop(s)" in note and "route 1 run 1 stop s2 (line 4)" in note


def test_a_moved_end_stop_is_dropped_but_not_its_neighbour():
    kept, note = drop_moved_stops(_route([0, 400, 800], [-40_000, 0, 0]))
    assert kept["stop"].tolist() == ["s1", "s2"] and "stop s0" in note


def test_long_straight_express_hops_stay():
    """TfL's X68 has a 13.6 km hop without a detour: a long hop alone is no error."""
    frame = _route([0, 13_600, 14_000, 27_000], [0, 0, 0, 0])
    kept, note = drop_moved_stops(frame)
    assert len(kept) == 4 and note == ""


# --------------------------------------------------------------------------- run folders
SUMMARY = {
    "london": {"45": {"beyond": 300, "beyond_65_plus": 0, "population": 600, "pct_within": 50.0, "mean_minutes": 40.0}},
    "london_24_7": {"45": {"beyond": 600, "beyond_65_plus": 0, "pct_within": 0.0}},
}


def _points_table():
    return pd.DataFrame(
        {
            "point_id": ["a", "b", "c"],
            "population": [100, 200, 300],
            "pop_65_plus": [0, 0, 0],
            "minutes": [10.0, 50.0, 30.0],
            "reachable": ["True", "True", "False"],
            "beyond_45": ["False", "True", "True"],  # b (200) and c (300, unreachable) are beyond: but see below
        }
    )


def test_points_that_add_up_pass(tmp_path):
    """C reachable in 30 minutes: only B (200) is beyond; the mean is (10 x 100 + 50 x 200 + 30 x 300) / 600."""
    points = _points_table()
    points.loc[2, ["beyond_45", "reachable"]] = ["False", "True"]
    summary = {**SUMMARY, "london": {"45": {**SUMMARY["london"]["45"], "beyond": 200, "mean_minutes": 20000 / 600}}}
    out = check_points(points, path=tmp_path / "access_points.csv", summary=summary, labels=["45"])
    assert out["reachable"].tolist() == [True, True, True] and out["minutes"].dtype == float


def test_minutes_changed_after_the_run_are_refused(tmp_path):
    """Halving every minute (flags untouched) no longer gives the summary's residents beyond."""
    points = _points_table()
    points.loc[2, ["beyond_45", "reachable"]] = ["False", "True"]
    points["minutes"] = points["minutes"] / 2
    summary = {**SUMMARY, "london": {"45": {**SUMMARY["london"]["45"], "beyond": 200, "mean_minutes": 20000 / 600}}}
    with pytest.raises(DataError, match=r"its minutes put 0 residents beyond 45 minutes but .* says 200"):
        check_points(points, path=tmp_path / "access_points.csv", summary=summary, labels=["45"])


def test_points_that_do_not_add_up_are_refused(tmp_path):
    """beyond_45 marks 200 + 300 = 500 residents; the summary says 300."""
    with pytest.raises(DataError, match=r"500 residents are marked beyond_45 but .* says 300"):
        check_points(_points_table(), path=tmp_path / "access_points.csv", summary=SUMMARY, labels=["45"])
    short = _points_table().iloc[:2]
    with pytest.raises(DataError, match=r"its 2 demand points hold 300 residents but .* says 600"):
        check_points(short, path=tmp_path / "access_points.csv", summary=SUMMARY, labels=["45"])


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("beyond", -5, "a negative count"),
        ("beyond", 700, "more than the 600 residents"),
        ("pct_within", 101.0, "not a percentage"),
        ("mean_minutes", float("nan"), "not a finite number"),
        ("population", "many", "not a finite number"),
    ],
)
def test_impossible_summary_figures_are_refused(tmp_path, key, value, why):
    summary = {**SUMMARY, "london": {"45": {**SUMMARY["london"]["45"], key: value}}}
    with pytest.raises(DataError, match=f"london.45.{key} is .*{why}"):
        check_summary(summary, path=tmp_path / "summary.json", labels=["45"])


def _identity(name, *, year=2019, engine=None, inputs=None):
    meta = {
        "parameters": {"name": name, "demand_year": year, "ward_year": 2014},
        "engine": engine or {"engine": "crowfly", "speed_kmh": 4.8},
        "inputs": inputs or {"population/p.csv": "aaa"},
    }
    return RunIdentity.from_manifest(f"out/{name}", meta)


def test_matching_runs_pass_and_each_difference_is_named():
    assert check_run_set([_identity("a"), _identity("b")]) == []
    mixed = [
        _identity("a"),
        _identity("b", year=2020, engine={"engine": "crowfly", "speed_kmh": 6.0}, inputs={"population/p.csv": "bbb"}),
    ]
    with pytest.raises(DataError, match="cannot be compared as plans") as info:
        check_run_set(mixed)
    text = str(info.value)
    assert "different copies of population/p.csv" in text and "mid-2019 against mid-2020" in text
    assert "crowfly (speed_kmh=4.8) against crowfly (speed_kmh=6.0)" in text
    assert len(check_run_set(mixed, allow_mixed=True)) == 3
    with pytest.raises(DataError, match=r"\['a'\] given more than once"):
        check_run_set([_identity("a"), _identity("a")], allow_mixed=True)


def test_a_file_only_one_run_read_is_said_once():
    """Another engine's data files differ by engine, not by copy: the engine line says it, and nothing else. With
    the same engine, a data file only one manifest lists means a lost entry: said (the hostile pass)."""
    a = _identity("a", engine={"engine": "transit"}, inputs={"population/p.csv": "aaa", "transit/bus.csv": "ccc"})
    differences = check_run_set([a, _identity("b")], allow_mixed=True)
    assert len(differences) == 1 and "differ in engine: transit against crowfly" in differences[0]
    a = _identity("a", inputs={"population/p.csv": "aaa", "transit/bus.csv": "ccc"})
    differences = check_run_set([a, _identity("b")], allow_mixed=True)
    assert differences == ["a (out/a) and b (out/b) list different input files (only one lists transit/bus.csv)"]
    a = _identity("a", inputs={"population/p.csv": "aaa", "stations/mine.csv": "ddd"})  # a scenario's own counters
    assert check_run_set([a, _identity("b")]) == []


def test_nan_in_points_is_refused_where_a_count_belongs(tmp_path):
    points = _points_table()
    points["population"] = points["population"].astype(float)
    points.loc[1, "population"] = np.nan
    with pytest.raises(DataError, match="line 3, population is empty"):
        check_points(points, path=tmp_path / "access_points.csv", summary=SUMMARY, labels=["45"])
