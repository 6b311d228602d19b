"""Hub inputs refused or read correctly: targets, site flags, unreachable residents (issue 11, items 5, 6, 8)."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from planner.cli import app
from planner.demand import Demand
from planner.errors import DataError, InfeasibleError, OptionError, PlannerError
from planner.hubs import HubOptions, HubProblem, HubTarget, plan_hubs, site_flags, solve_hubs
from planner.travel import CrowFly

runner = CliRunner()


def path_problem(n):
    """n wards in a row, each a ward-centre site; a ward's cost to a site is its distance in wards."""
    wards = [f"W{i:02d}" for i in range(n)]
    adjacency = {w: {wards[k] for k in (i - 1, i + 1) if 0 <= k < n} for i, w in enumerate(wards)}
    costs = pd.DataFrame({s: [abs(i - j) for i in range(n)] for j, s in enumerate(wards)}, index=wards, dtype=float)
    return HubProblem(
        costs=costs,
        borough=pd.Series("B", index=wards),
        adjacency=adjacency,
        site_borough=pd.Series("B", index=wards),
        root={w: w for w in wards},
    )


# --- item 5: one-sided hub ranges ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["enumeration", "mip"])
def test_open_ended_range_finds_the_optimum(method):
    # 12 wards in a row, hubs of 2-3 wards: 4-6 hubs.  Six pairs cost 6 x 1; four triples cost 4 x 2 = 8.
    problem = path_problem(12)
    closed = solve_hubs(problem, size=(2, 3), hubs="4-6", method=method)
    assert (closed.n_hubs, closed.objective) == (6, 6)
    open_ended = solve_hubs(problem, size=(2, 3), hubs="4-", method=method)
    assert (open_ended.n_hubs, open_ended.objective) == (6, 6)
    at_most = solve_hubs(problem, size=(2, 3), hubs=HubTarget(high=5, near=None), method=method)
    assert (at_most.n_hubs, at_most.objective) == (5, 7)  # two triples (2 each) and three pairs (1 each)
    at_least_top = solve_hubs(problem, size=(2, 3), hubs="6-", method=method)
    assert (at_least_top.n_hubs, at_least_top.objective) == (6, 6)


@pytest.mark.parametrize("method", ["enumeration", "mip"])
def test_near_target_takes_the_closest_feasible_count(method):
    # the same 12 wards: 4 hubs (four triples) cost 8, 5 hubs cost 7, 6 hubs (six pairs) cost 6
    problem = path_problem(12)
    expected = {"near:5": (5, 7), "near:1": (4, 8), "near:100": (6, 6), "near: 4": (4, 8), None: (6, 6)}
    if method == "mip":  # the MIP solves each count it tries; two targets keep it quick
        expected = {k: expected[k] for k in ("near:5", "near:100")}
    for text, (hubs, cost) in expected.items():
        plan = solve_hubs(problem, size=(2, 3), hubs=text, method=method)
        assert (plan.n_hubs, plan.objective, plan.feasible_range) == (hubs, cost, (4, 6)), text
    if method == "mip":
        return
    # the default target is near:150, out of reach here, which the plan says
    assert any("150 hubs is out of reach" in n for n in solve_hubs(problem, size=(2, 3), method=method).notes)
    # "at most" is written 1-HIGH: the cheapest plan with at most 5 hubs is the 5-hub one
    at_most = solve_hubs(problem, size=(2, 3), hubs="1-5", method=method)
    assert (at_most.n_hubs, at_most.objective) == (5, 7)
    with pytest.raises(InfeasibleError, match="out of reach"):
        solve_hubs(problem, size=(2, 3), hubs="7-", method=method)


def test_target_forms():
    assert HubTarget.parse("4-") == HubTarget(low=4, high=None, near=None)
    assert HubTarget.parse(" 140 - 160 ") == HubTarget(low=140, high=160, near=None)
    assert HubTarget.parse(150) == HubTarget(exact=150, near=None)
    assert HubTarget.parse("near:120") == HubTarget(near=120)
    assert HubTarget.parse("FREE").free


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("abc", "'abc' is not a hub count: write N, LOW-HIGH, LOW- (at least LOW), near:N or free"),
        ("-5", "for at most 5 hubs write 1-5"),
        ("0", "0 is not a positive hub count"),
        ("160-140", "the low end 160 is above the high end 140"),
        ("near:x", "is not a hub count"),
        ("1.5", "is not a hub count"),
        # one-sided ranges are written LOW- and 1-HIGH; comparison signs are refused with the form to use
        (">=140", "For at least 140 hubs write 140-."),
        ("<=150", "for at most 150 hubs write 1-150"),
        ("< 150", "for at most 150 hubs write 1-150"),
    ],
)
def test_bad_targets_are_refused(text, fragment):
    with pytest.raises(OptionError) as info:
        HubTarget.parse(text)
    assert fragment in str(info.value)
    assert isinstance(info.value, PlannerError) and isinstance(info.value, ValueError)


@pytest.mark.parametrize(("arg", "fragment"), [("--hubs=abc", "'abc' is not a hub count"), ("--hubs=-5", "1-5")])
def test_cli_refuses_bad_targets_before_any_work(arg, fragment, tmp_path):
    # no data directory is needed: the target is checked first
    result = runner.invoke(app, ["hubs", arg, "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert fragment in text and "Traceback" not in text
    assert not (tmp_path / "o").exists()


def test_scenario_refuses_a_bad_target(tmp_path):
    from planner.errors import ScenarioError
    from planner.scenario import load_scenario

    path = tmp_path / "s.toml"
    path.write_text('name = "s"\n[counters]\nids = ["A"]\n[hubs]\nhubs = "abc"\n')
    with pytest.raises(ScenarioError, match="not a hub count"):
        load_scenario(path)


# --- item 8: site flags ------------------------------------------------------------------------------------------


def test_site_flags_read_words_and_numbers():
    frame = pd.DataFrame(
        {
            "site_id": list("ABCDEFGH"),
            "must_use": ["true", "False", " YES ", "no", "1", "0", "", None],
        }
    )
    assert site_flags(frame, "must_use") == {"A", "C", "E"}
    assert site_flags(pd.DataFrame({"site_id": ["A", "B"], "must_use": [True, False]}), "must_use") == {"A"}
    assert site_flags(pd.DataFrame({"site_id": ["A", "B"], "must_use": [1, 0]}), "must_use") == {"A"}
    assert site_flags(frame, "must_not_use") == set()


def test_site_flags_refuse_anything_else_with_file_and_line():
    frame = pd.DataFrame({"site_id": ["A", "B", "C"], "must_not_use": ["no", "maybe", "2"]})
    frame.attrs["source"] = "sites.csv"
    with pytest.raises(DataError) as info:
        site_flags(frame, "must_not_use")
    message = str(info.value)
    assert message.startswith("sites.csv: must_not_use must be true/false, yes/no or 1/0")
    assert "line 3 (site B): 'maybe'" in message and "line 4 (site C): '2'" in message


def row_of_wards(n=8):
    cells = [shapely.box(1000 * i, 0, 1000 * (i + 1), 1000) for i in range(n)]
    wards = gpd.GeoDataFrame(
        {
            "ward_code": [f"W{i}" for i in range(n)],
            "ward_name": [f"ward {i}" for i in range(n)],
            "borough_code": "B",
            "borough_name": "Bee",
        },
        geometry=cells,
        crs=27700,
    )
    points = gpd.GeoDataFrame(
        {"point_id": [f"P{i}" for i in range(n)], "ward_code": [f"W{i}" for i in range(n)], "population": 100},
        geometry=[c.centroid for c in cells],
        crs=27700,
    )
    return wards, Demand(points, pd.DataFrame({"ward_code": wards["ward_code"], "population": 100}), 2019)


def test_false_as_text_is_not_a_required_site():
    # two candidate buildings; "false" must not force the far one into use (astype(bool) read it as True)
    wards, demand = row_of_wards(8)
    sites = gpd.GeoDataFrame(
        {"site_id": ["near", "far", "mid"], "must_use": ["false", "false", "true"]},
        geometry=[shapely.Point(1500, 500), shapely.Point(7500, 500), shapely.Point(4500, 500)],
        crs=27700,
    )
    plan = plan_hubs(wards, demand, sites=sites, size=(4, 4), hubs="2")
    assert set(plan.assignment["site_id"]) == {"near", "mid"}
    sites["must_use"] = ["false", "perhaps", "true"]
    with pytest.raises(DataError, match="row 2 \\(site far\\): 'perhaps'"):
        plan_hubs(wards, demand, sites=sites, size=(4, 4), hubs="2")


def test_candidate_sites_restrict_the_choice():
    # one hub of the 4 wards of a row (centres at 500, 1500, 2500, 3500 m); three candidate buildings
    wards, demand = row_of_wards(4)
    sites = gpd.GeoDataFrame(
        {"site_id": ["mid", "east", "far-east"]},
        geometry=[shapely.Point(2100, 500), shapely.Point(3500, 500), shapely.Point(3900, 500)],
        crs=27700,
    )
    minutes_per_km = 1.3 / 4.8 * 60  # crow-fly walking: circuity 1.3 at 4.8 km/h
    # residents' km to each site: mid 1.6 + 0.6 + 0.4 + 1.4 = 4.0, east 3 + 2 + 1 + 0 = 6.0, far-east 7.6
    for allowed, chosen, km in (
        (["mid", "east", "far-east"], "mid", 4.0),
        (["east", "far-east"], "east", 6.0),
        (["far-east"], "far-east", 7.6),
    ):
        plan = plan_hubs(wards, demand, sites=sites.loc[sites["site_id"].isin(allowed)], size=(4, 4), hubs="1")
        assert set(plan.assignment["site_id"]) == {chosen}, allowed
        assert plan.objective == pytest.approx(100 * km * minutes_per_km), allowed
    # without sites, the ward centres are the candidates: W1 or W2 (1 + 0 + 1 + 2 = 4 widths of 1 km)
    default = plan_hubs(wards, demand, size=(4, 4), hubs="1")
    assert set(default.assignment["site_id"]) <= {"W1", "W2"}
    assert default.objective == pytest.approx(100 * 4.0 * minutes_per_km)
    outside = gpd.GeoDataFrame({"site_id": ["moon"]}, geometry=[shapely.Point(2000, 9000)], crs=27700)
    with pytest.raises(InfeasibleError, match=r"candidate site\(s\) \['moon'\] lie outside every study-area ward"):
        plan_hubs(wards, demand, sites=outside, size=(4, 4), hubs="1")


def test_cli_refuses_unclear_site_flags(tmp_path):
    sites = tmp_path / "sites.csv"
    sites.write_text("id,easting,northing,must_use\nS1,530000,180000,yes\nS2,531000,180000,sometimes\n")
    result = runner.invoke(app, ["hubs", "--sites", str(sites), "--data", str(tmp_path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "must_use must be true/false" in text and "line 3 (site S2): 'sometimes'" in text
    assert "Traceback" not in text


# --- item 6: unreachable residents -------------------------------------------------------------------------------


class Blocked(CrowFly):
    """Crow-fly, except that the given (origin, destination) coordinate pairs are unreachable."""

    def __init__(self, blocked):
        super().__init__()
        self.blocked = blocked

    def _matrix(self, origins, destinations):
        minutes, flags = super()._matrix(origins, destinations)
        for o, d in self.blocked:
            hit_o = (origins == np.asarray(o)).all(axis=1)
            hit_d = (destinations == np.asarray(d)).all(axis=1)
            minutes[np.ix_(hit_o, hit_d)] = np.inf
        return minutes, flags


def test_unreachable_resident_is_never_free():
    # 4 wards in a row, one hub of 4 at a ward centre.  Sites W1 and W2 are best (1 + 0 + 1 + 2 widths).
    # If W3's residents cannot reach W1, the old model summed their NaN as 0 and chose W1 at 1 + 0 + 1 + "0".
    wards, demand = row_of_wards(4)
    sites_xy = {f"W{i}": (1000 * i + 500.0, 500.0) for i in range(4)}
    engine = Blocked([(sites_xy["W3"], sites_xy["W1"])])
    plan = plan_hubs(wards, demand, engine=engine, size=(4, 4), hubs="1")
    assert set(plan.assignment["site_id"]) == {"W2"}
    minutes_per_km = 1.3 / 4.8 * 60
    assert plan.objective == pytest.approx(100 * (2 + 1 + 0 + 1) * minutes_per_km)
    assert any("ruled out because some of the ward's residents cannot reach the site" in n for n in plan.notes)


def test_ward_that_reaches_no_site_is_explained():
    wards, demand = row_of_wards(4)
    sites_xy = [(1000 * i + 500.0, 500.0) for i in range(4)]
    engine = Blocked([(sites_xy[3], s) for s in sites_xy])
    with pytest.raises(InfeasibleError, match=r"no allowed candidate site can serve ward\(s\) W3 \(ward 3\)"):
        plan_hubs(wards, demand, engine=engine, size=(4, 4), hubs="1")


def test_off_network_residents_are_unreachable():
    class OffNetwork(CrowFly):
        def _matrix(self, origins, destinations):
            minutes, flags = super()._matrix(origins, destinations)
            flags = np.where(origins[:, 0] > 3000, "off-network", "")
            return minutes, flags.astype(object)

    wards, demand = row_of_wards(4)
    with pytest.raises(InfeasibleError, match=r"ward\(s\) W3 \(ward 3\)"):
        plan_hubs(wards, demand, engine=OffNetwork(), size=(4, 4), hubs="1")


def test_options_validate():
    with pytest.raises(OptionError, match="workload bounds"):
        HubOptions(population_bounds=(5.0, 1.0))
    with pytest.raises(OptionError, match="gap"):
        HubOptions(gap=float("nan"))
    with pytest.raises(OptionError, match="method"):
        HubOptions(method="guess")  # type: ignore[arg-type]


def test_the_keyword_overrides_are_the_fields_of_hub_options():
    """HubOptionFields (typing of `**overrides`) and HubOptions list the same fields, so neither drifts."""
    import dataclasses
    import typing

    from planner.hubs.model import HubOptionFields, HubOptions

    assert set(typing.get_type_hints(HubOptionFields, include_extras=False)) == {
        f.name for f in dataclasses.fields(HubOptions)
    }
