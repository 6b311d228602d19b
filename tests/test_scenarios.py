import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.compare import compare_runs
from planner.errors import InfeasibleError, ScenarioError
from planner.optimise import choose_counters, plan_sessions
from planner.run import run_scenario
from planner.runfolder import load_run
from planner.scenario import load_scenario, resolve_counters, scenario_to_toml
from planner.travel.base import TravelMatrix
from tests.conftest import REPO

SCENARIOS = REPO / "scenarios"
GOOD = """
name = "t"
[counters]
open = { column = "status_final_nov2017", values = ["retain", "new"] }
"""


def write(tmp_path, text, name="s.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


# What each shipped file's notes must say: the report prints a scenario's notes on its page, and a note that
# mentions 24/7 as a caveat on the first page (planner/_report/report.html.j2).
SHIPPED_NOTES = {
    "baseline-2017": ("Reconstructed list of 73", "Addington excluded", "24/7 known for 11 of an official 33"),
    "mopac-draft-2017": ("Barking Learning Centre and Pinner", "counted as open"),
    "mopac-final-2017": ("Ruislip, Barking Learning Centre, Pinner", "treated as closing"),
}


@pytest.mark.parametrize("name", sorted(SHIPPED_NOTES))
def test_shipped_scenarios_load_round_trip_and_state_their_uncertainties(name, tmp_path):
    path = SCENARIOS / f"{name}.toml"
    s = load_scenario(path)
    assert s.name == name == path.stem
    assert s.thresholds == [45, 60] and s.threshold == 45
    assert s.engine.name == "transit" and s.hubs.wards_per_hub == (4, 5) and s.hubs.hubs is None
    # written back by scenario_to_toml (as the optimiser writes proposals), the file reads back equal
    again = write(tmp_path, scenario_to_toml(s, header=f"copy of {name}"), f"{name}.toml")
    assert load_scenario(again) == s
    # the uncertainties reach the report through the notes field, not only through comments
    for phrase in SHIPPED_NOTES[name]:
        assert phrase in s.notes, (name, phrase)
    assert ("24/7" in s.notes) == (name == "baseline-2017")  # only the baseline's 24/7 count is an undercount
    assert s.description


@pytest.mark.data
def test_shipped_scenario_comments_agree_with_the_counter_table(data_dir):
    """The uncertainties the scenario comments state are what the counter table holds."""
    from planner.stations import load_stations

    stations = load_stations(data_dir / "stations" / "front_counters_2017.csv")
    spec = {n: load_scenario(SCENARIOS / f"{n}.toml") for n in SHIPPED_NOTES}
    # baseline: 73 counters without Addington ("uncertain"); only the 11 sourced as 24/7 are marked 24/7
    base, base_24 = resolve_counters(spec["baseline-2017"], stations)
    assert len(base) == 73 and "addington" not in set(base["station_id"])
    assert stations.set_index("station_id").loc["addington", "in_73_baseline"] == "uncertain"
    assert len(base_24) == 11
    # draft: Barking Learning Centre and Pinner have draft status "unknown" and are counted as open
    draft, _ = resolve_counters(spec["mopac-draft-2017"], stations)
    unknown = stations.loc[stations["status_draft_jul2017"] == "unknown", "station_id"]
    assert sorted(unknown) == ["barking-learning-centre", "pinner"]
    assert set(unknown) <= set(draft["station_id"])
    # final: 32 kept as 24/7 counters, 38 close, the three under consideration close, two new counters open
    final, final_24 = resolve_counters(spec["mopac-final-2017"], stations)
    status = stations.set_index("station_id")["status_final_nov2017"]
    assert len(final_24) == 32 and (status == "close").sum() == 38
    assert sorted(status.index[status == "under_consideration"]) == ["barking-learning-centre", "pinner", "ruislip"]
    assert not set(status.index[status == "under_consideration"]) & set(final["station_id"])
    assert {"church-street", "royalty-studios"} <= set(final["station_id"]) - set(final_24)


def test_defaults(tmp_path):
    s = load_scenario(write(tmp_path, GOOD))
    assert s.demand_year == 2019 and s.hubs.wards_per_hub == (4, 5) and s.threshold == 45


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("thresholds = [45, 0]\n", r"thresholds\.1: Input should be greater than 0"),
        (
            '[engine]\nname = "teleport"\n',
            r"engine\.name: Input should be 'transit', 'transit-simple', 'network' or 'crowfly'",
        ),
        ("[counters.extra]\nx = 1\n", r"counters\.extra: Extra inputs are not permitted"),
    ],
)
def test_bad_fields_name_file_and_field(tmp_path, snippet, message):
    path = write(
        tmp_path, GOOD.replace('name = "t"', 'name = "t"\n' + snippet) if "counters." not in snippet else GOOD + snippet
    )
    with pytest.raises(ScenarioError, match=message) as info:
        load_scenario(path)
    assert str(path) in str(info.value)


def test_duplicate_ids(tmp_path):
    text = 'name = "t"\n[counters]\nopen = { ids = ["acton", "acton"] }\n'
    with pytest.raises(ScenarioError, match=r"duplicate station ids in ids: \['acton'\]"):
        load_scenario(write(tmp_path, text))


def test_required_and_forbidden(tmp_path):
    text = GOOD + 'required = ["acton"]\nforbidden = ["acton"]\n'
    with pytest.raises(ScenarioError, match=r"\['acton'\] are both required and forbidden"):
        load_scenario(write(tmp_path, text))


def test_not_toml(tmp_path):
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(write(tmp_path, "name = \n"))


def test_hand_solved_optimiser():
    # P1 (100) is covered by A; P2 (50) by B; P3 (10) by B and C.  A and B are in borough X, C in Y.
    minutes = np.array([[10, 99, 99], [99, 10, 99], [99, 10, 10]], dtype=float)
    matrix = TravelMatrix(minutes, np.array(["P1", "P2", "P3"], dtype=object), np.array(["A", "B", "C"], dtype=object))
    points = pd.DataFrame({"population": [100, 50, 10], "ward_name": "w", "borough_name": "b"})
    borough = pd.Series({"A": "X", "B": "X", "C": "Y"})
    # (b) k = 2 with every borough keeping a counter: {A, C} covers 110 (beats {B, C}: 60)
    best = choose_counters(matrix, points, borough, threshold=45, k=2)
    assert best.open == ["A", "C"] and best.covered == 110 and best.report.status == "optimal"
    # without the borough rule {A, B} covers 160
    assert choose_counters(matrix, points, borough, threshold=45, k=2, boroughs=[]).open == ["A", "B"]
    # (a) everyone covered needs A and B, plus C for borough Y
    assert choose_counters(matrix, points, borough, threshold=45, target_pct=100).open == ["A", "B", "C"]
    # forbidding A makes 100% impossible, and the message names the residents
    with pytest.raises(InfeasibleError, match="100 residents in 1 ward"):
        choose_counters(matrix, points, borough, threshold=45, target_pct=100, forbidden=["A"])
    with pytest.raises(InfeasibleError, match="use k >= 2"):
        choose_counters(matrix, points, borough, threshold=45, k=1)
    with pytest.raises(InfeasibleError, match="both required and forbidden"):
        choose_counters(matrix, points, borough, threshold=45, k=2, required=["A"], forbidden=["A"])


def test_hand_solved_sessions():
    minutes = np.array([[10, 99], [99, 10], [30, 30]], dtype=float)
    matrix = TravelMatrix(minutes, np.array(["P1", "P2", "P3"], dtype=object), np.array(["S1", "S2"], dtype=object))
    plan = plan_sessions(matrix, pd.Series({"P1": 5, "P2": 7, "P3": 1}), pd.Series({"S1": "One", "S2": "Two"}))
    assert plan.sessions_needed == 2
    assert plan.sites.to_dict("list") == {
        "site_id": ["S2", "S1"],
        "name": ["Two", "One"],
        "residents": [8, 5],
        "points": [2, 1],
    }


@pytest.fixture(scope="module")
def runs(context, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    return [
        run_scenario(SCENARIOS / f"{n}.toml", out=out, context=context, maps=False)
        for n in ("baseline-2017", "mopac-draft-2017", "mopac-final-2017")
    ]


@pytest.mark.data
def test_three_scenarios_run_on_the_mirror(runs):
    base, _draft, final = runs
    assert len(base.counters) == 73 and len(final.counters) == 34
    assert int(final.counters["open_24_7"].sum()) == 32
    assert final.hubs.n_hubs == 149
    for run in runs:
        files = {p.name for p in run.out_dir.iterdir()}
        assert {"manifest.json", "summary.json", "access_points.csv", "access.gpkg", "counters.csv", "hubs"} <= files
    b, f = base.access[45].london.iloc[0], final.access[45].london.iloc[0]
    assert f["beyond"] > b["beyond"] and f["mean_minutes"] > b["mean_minutes"]
    # residents beyond 45 minutes; recomputed in numpy from the full matrix in test_figures.py
    beyond = [int(run.access[45].london.iloc[0]["beyond"]) for run in runs]
    assert beyond == [32_970, 174_428, 126_920]


@pytest.mark.data
def test_comparison_matches_per_scenario_results(runs):
    comparison = compare_runs(runs)
    for run, row in zip(runs, comparison.london.itertuples(), strict=True):
        for t in (45, 60):
            lon = run.access[t].london.iloc[0]
            assert getattr(row, f"beyond_{t}") == lon["beyond"]
            assert getattr(row, f"pct_within_{t}") == pytest.approx(lon["pct_within"])
        assert row.mean_minutes == pytest.approx(run.access[45].london.iloc[0]["mean_minutes"])
        assert row.p95_minutes == pytest.approx(run.access[45].london.iloc[0]["p95_minutes"])
        assert row.beyond_65_plus_45 == run.access[45].london.iloc[0]["beyond_65_plus"]
    # boroughs add up to London
    sums = comparison.boroughs.groupby("scenario")["beyond_45"].sum()
    assert sums.to_dict() == dict(zip(comparison.london["scenario"], comparison.london["beyond_45"], strict=True))
    # reading the runs back from disk gives the same table
    again = compare_runs([load_run(r.out_dir) for r in runs])
    pd.testing.assert_frame_equal(comparison.london, again.london)
    final = comparison.london.iloc[2]
    assert final.counters_closed == 41  # 38 closures + 3 under consideration, against the 73
    assert final.boroughs_without_24_7 == 0
    assert comparison.london.iloc[1].boroughs_without_24_7_names == "Barking and Dagenham; Bexley"


@pytest.mark.data
def test_bad_input_writes_no_output_folder(context, tmp_path):
    out = tmp_path / "out"
    cases = {
        "unknown-id": '[counters]\nopen = { ids = ["acton", "atlantis"] }\n',
        "unknown-value": '[counters]\nopen = { column = "status_final_nov2017", values = ["maybe"] }\n',
        "infeasible": GOOD.split("\n", 2)[2] + "[hubs]\nhubs = 155\n",
    }
    messages = {
        "unknown-id": r"unknown station id\(s\) \['atlantis'\]",
        "unknown-value": r"values present",
        "infeasible": "155 hubs is out of reach",
    }
    for name, body in cases.items():
        path = write(tmp_path, f'name = "{name}"\n' + body, f"{name}.toml")
        with pytest.raises((ScenarioError, InfeasibleError), match=messages[name]):
            run_scenario(path, out=out, context=context, maps=False)
        assert not (out / name).exists()
        assert not [p for p in out.glob(f".{name}-*")] if out.exists() else True


@pytest.mark.data
def test_optimiser_proposal_runs(context, tmp_path):
    from planner.proposals import propose

    result = propose(SCENARIOS / "mopac-final-2017.toml", out=tmp_path, context=context, mode="max-coverage")
    assert result.same_count.covered >= result.current["covered"]
    assert result.choice.report.status == "optimal"
    proposal = load_scenario(result.scenario_file)
    run = run_scenario(result.scenario_file, out=tmp_path / "runs", context=context, maps=False, hubs=False)
    assert len(run.counters) == len(result.choice.open) == 34
    assert (
        run.access[45].london.iloc[0]["population"] - run.access[45].london.iloc[0]["beyond"] == result.choice.covered
    )
    assert int(run.counters["open_24_7"].sum()) == 32
    assert proposal.counters.open.ids == result.choice.open


@pytest.mark.data
def test_resolve_counters_real(context):
    spec = load_scenario(SCENARIOS / "mopac-draft-2017.toml")
    counters, all_day = resolve_counters(spec, context.resolve(spec).stations)
    assert len(counters) == 33 and len(all_day) == 30
    assert {"barking-learning-centre", "pinner", "church-street"} <= set(counters["station_id"])


@pytest.mark.data
def test_runs_are_byte_identical(data_dir, context, tmp_path, monkeypatch):
    """A run from scratch in another process, with another hash seed, and one in this process from the caches
    the other tests filled write byte-identical folders.

    Every file of the run (tables, GeoPackages, hubs, maps, postcode table, manifest) is compared; the manifest's
    time is pinned by SOURCE_DATE_EPOCH.  The shipped scenario, so the default (transit) engine.
    """
    from planner.run import run_scenario

    scenario = SCENARIOS / "mopac-final-2017.toml"
    assert load_scenario(scenario).engine.name == "transit"
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONHASHSEED": "1", "SOURCE_DATE_EPOCH": "1509494400"}
    env["PLANNER_DATA"] = str(data_dir)
    seed = subprocess.run([sys.executable, "-c", "print(hash('planner'))"], env=env, capture_output=True, text=True)
    assert int(seed.stdout) != hash("planner"), "this process and the other would share a hash seed"
    args = [sys.executable, "-m", "planner", "run", str(scenario), "--out", str(tmp_path / "out1")]
    other = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        monkeypatch.setenv("SOURCE_DATE_EPOCH", "1509494400")
        run_scenario(scenario, out=tmp_path / "out2", context=context)
        output = other.communicate(timeout=300)
    finally:
        if other.poll() is None:
            other.kill()
    assert other.returncode == 0, output

    def tree(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    first, second = tree(tmp_path / "out1"), tree(tmp_path / "out2")
    assert sorted(first) == sorted(second)
    expected = {"manifest.json", "summary.json", "access_points.csv", "access.gpkg", "counters.csv", "stations.gpkg"}
    expected |= {"hubs/hubs.gpkg", "hubs/hubs.csv", "maps/access.html", "maps/hubs.html", "maps/residents.html"}
    expected |= {"postcodes.parquet"}  # the mirror has Code-Point Open
    assert {f"mopac-final-2017/{name}" for name in expected} <= set(first)
    differ = [name for name in first if first[name] != second[name]]
    assert not differ, f"files differ between the two runs: {differ}"
    assert b'"ran_at": "2017-11-01T00:00:00+00:00"' in first["mopac-final-2017/manifest.json"]


@settings(max_examples=60, deadline=None)
@given(
    notes=st.text(st.characters(exclude_categories=("Cs",))),
    description=st.text(st.characters(exclude_categories=("Cs",))),
    header=st.text(st.characters(exclude_categories=("Cs",))),
    ids=st.lists(st.text(min_size=1), min_size=1, max_size=3, unique=True),
    cost=st.floats(min_value=0, max_value=1e7, allow_nan=False),
)
def test_scenario_to_toml_round_trips_any_text(tmp_path_factory, notes, description, header, ids, cost):
    """Whatever the text (quotes, backslashes, newlines, control characters, '#'), load(to_toml(s)) == s."""
    from planner.scenario import Scenario

    spec = Scenario.model_validate(
        {
            "name": "any-text",
            "notes": notes,
            "description": description,
            "counters": {"open": {"ids": ids}, "required": ids[:1]},
            "engine": {"name": "crowfly", "params": {"speed_kmh": 4.8}},
            "hubs": {"hubs": "near:140"},
            "costs": {"annual_cost_per_counter": cost, "by_station": {ids[0]: 1.5}},
        }
    )
    text = scenario_to_toml(spec, header=header)
    path = tmp_path_factory.mktemp("toml") / "any.toml"
    path.write_bytes(text.encode())
    assert load_scenario(path) == spec
    lines, n = text.splitlines(), len(header.splitlines())
    assert all(line.startswith("#") for line in lines[:n]) and not lines[n].startswith("#")  # the header, as comments


@pytest.mark.data
def test_equality_figures_recomputed_from_the_raw_files_with_pandas(runs, data_dir):
    """Each group's residents beyond 45 minutes under the final plan, from access_points.csv and the raw
    equality files with pandas alone (not planner.equality), against summary.json."""
    import json

    final = runs[-1]
    points = pd.read_csv(final.out_dir / "access_points.csv").set_index("point_id")
    eq = Path(data_dir) / "equality"
    imd = pd.read_csv(eq / "imd2015_lsoa11_england.csv").set_index("lsoa11_code")["IMD_decile"]
    dis = pd.read_csv(eq / "census2011_ks301ew_lsoa11_illness_disability_ew.csv").set_index("lsoa_code")
    car = pd.read_csv(eq / "census2011_ks404ew_lsoa11_no_car_england.csv").set_index("lsoa_code")
    eth = pd.read_csv(eq / "census2011_ethnic_group_lsoa11_ew.csv").set_index("LSOA").reindex(points.index)
    pop = points["population"]
    beyond = points["beyond_45"].astype(bool)
    groups = {
        "all": pop,
        "age_65_plus": points["pop_65_plus"],
        "imd_10": pop * (imd.reindex(points.index) <= 1),
        "imd_20": pop * (imd.reindex(points.index) <= 2),
        "disability": pop * dis["illness_disability"].reindex(points.index),
        "no_car": pop * car["proportion_no_cars"].reindex(points.index),
        "black": pop * eth[["BlkAfrican", "BlkCaribbean", "OtherBlk"]].sum(axis=1) / eth["Persons"],
        "asian": pop
        * eth[["Indian", "Pakistani", "Bangladeshi", "Chinese", "OtherAsian"]].sum(axis=1)
        / eth["Persons"],
        "mixed": pop * eth["Mixed"] / eth["Persons"],
        "other_ethnic": pop * eth[["Arab", "Other"]].sum(axis=1) / eth["Persons"],
    }
    summary = json.loads((final.out_dir / "summary.json").read_text())["equality"]["thresholds"]["45"]
    share_all = groups["all"][beyond].sum() / groups["all"].sum()
    for key, residents in groups.items():
        assert summary[key]["residents"] == round(residents.sum()), key
        assert summary[key]["beyond"] == round(residents[beyond].sum()), key
        ratio = (residents[beyond].sum() / residents.sum()) / share_all
        assert summary[key]["ratio"] == pytest.approx(ratio, rel=1e-9), key
    assert summary["all"]["beyond"] == 126_920
