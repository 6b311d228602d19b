import math

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.errors import InfeasibleError
from planner.hubs import HubProblem, HubTarget, adjacency_from_wards, hub_outputs, plan_hubs, solve_hubs

METHODS = pytest.mark.parametrize("method", ["enumeration", "mip"])


def path_problem(costs, *, roots=None, must_use=(), borough="B"):
    """Wards A-B-C-D in a row, one borough."""
    wards = ["A", "B", "C", "D"]
    adjacency = {"A": {"B"}, "B": {"A", "C"}, "C": {"B", "D"}, "D": {"C"}}
    frame = pd.DataFrame(costs, index=wards)
    return HubProblem(
        costs=frame,
        borough=pd.Series(borough, index=wards),
        adjacency=adjacency,
        site_borough=pd.Series(borough, index=frame.columns),
        root=roots or {},
        must_use=frozenset(must_use),
    )


@METHODS
def test_hand_solved_contiguity_matters(method):
    # S1 is cheap for A and C, S2 for B and D: without contiguity {A,C}+{B,D} would cost 4.
    # The only contiguous pairs are {A,B} and {C,D}: 1+10 and 10+1 -> 22.
    problem = path_problem({"S1": [1, 10, 1, 10], "S2": [10, 1, 10, 1]})
    plan = solve_hubs(problem, method=method, size=(2, 2), hubs="2")
    assert plan.objective == pytest.approx(22)
    groups = plan.assignment.groupby("hub_id")["ward_code"].apply(lambda s: "".join(sorted(s))).tolist()
    assert sorted(groups) == ["AB", "CD"]
    assert plan.gap == 0


@METHODS
def test_hand_solved_needs_lazy_cuts(method):
    # A path of 8 wards in hubs of exactly 4.  S1 is cheap (1) for A, B, E, F and S2 for C, D, G, H (else 10):
    # {A,B,E,F} + {C,D,G,H} would cost 8 and every ward has a neighbour in its hub, so only the
    # separator cuts added after a solve rule it out.  Contiguous: {A..D} + {E..H} = 22 + 22.
    wards = list("ABCDEFGH")
    adjacency = {w: {wards[k] for k in (i - 1, i + 1) if 0 <= k < 8} for i, w in enumerate(wards)}
    cheap1 = set("ABEF")
    costs = pd.DataFrame(
        {"S1": [1 if w in cheap1 else 10 for w in wards], "S2": [10 if w in cheap1 else 1 for w in wards]},
        index=wards,
    )
    problem = HubProblem(
        costs=costs,
        borough=pd.Series("B", index=wards),
        adjacency=adjacency,
        site_borough=pd.Series("B", index=costs.columns),
    )
    plan = solve_hubs(problem, method=method, size=(4, 4), hubs="2")
    assert plan.objective == pytest.approx(44)
    if method == "mip":
        assert plan.boroughs.loc[0, "cuts"] > 0 and plan.boroughs.loc[0, "rounds"] > 1
    assert plan.boroughs.loc[0, "method"] == method
    groups = plan.assignment.groupby("hub_id")["ward_code"].apply(lambda s: "".join(sorted(s))).tolist()
    assert sorted(groups) == ["ABCD", "EFGH"]


@METHODS
def test_hand_solved_ward_centres(method):
    # 2x2 grid of wards with unit populations; sites are the wards themselves.
    # One hub of 4: centre anywhere costs 0 + 1 + 1 + sqrt(2).
    cells = {"A": (0, 0), "B": (1, 0), "C": (0, 1), "D": (1, 1)}
    wards = list(cells)
    costs = pd.DataFrame({s: [math.dist(cells[i], cells[s]) for i in wards] for s in wards}, index=wards)
    adjacency = {"A": {"B", "C"}, "B": {"A", "D"}, "C": {"A", "D"}, "D": {"B", "C"}}
    problem = HubProblem(
        costs=costs,
        borough=pd.Series("B", index=wards),
        adjacency=adjacency,
        site_borough=pd.Series("B", index=wards),
        root={w: w for w in wards},
    )
    plan = solve_hubs(problem, method=method, size=(4, 5), hubs=None)
    assert plan.objective == pytest.approx(2 + math.sqrt(2))
    assert plan.n_hubs == 1
    assert plan.feasible_range == (1, 1)
    assert any("150 hubs is out of reach" in note for note in plan.notes)


def test_target_parsing():
    assert HubTarget.parse("150") == HubTarget(exact=150, near=None)
    assert HubTarget.parse("140-160") == HubTarget(low=140, high=160, near=None)
    assert HubTarget.parse("free").near is None
    assert HubTarget.parse(None).near == 150


def test_ward_count_that_cannot_split():
    wards = [f"W{i}" for i in range(7)]
    adjacency = {w: {wards[max(i - 1, 0)], wards[min(i + 1, 6)]} - {w} for i, w in enumerate(wards)}
    problem = HubProblem(
        costs=pd.DataFrame(1.0, index=wards, columns=wards),
        borough=pd.Series("E09000099", index=wards),
        adjacency=adjacency,
        site_borough=pd.Series("E09000099", index=wards),
        root={w: w for w in wards},
        borough_names={"E09000099": "Testham"},
    )
    with pytest.raises(
        InfeasibleError,
        match=r"Testham \(E09000099\): 7 wards cannot be split into hubs of 4-5.*"
        r"`size` \(3, 5\)",
    ) as info:
        solve_hubs(problem)
    assert str(info.value).count("\n- ") == 1  # said once: not again for its one connected group of 7 wards


def test_ward_without_neighbour():
    problem = path_problem({"S1": [1, 1, 1, 1]})
    problem.adjacency = {"A": set(), "B": {"C"}, "C": {"B", "D"}, "D": {"C"}}
    problem.ward_names = {"A": "Lonely"}
    with pytest.raises(InfeasibleError, match=r"ward A \(Lonely\) has no neighbour in its borough") as info:
        solve_hubs(problem, size=(2, 4))
    assert str(info.value).count("\n- ") == 1  # that is the one thing to fix: no site messages on top


def test_isolated_ward_is_the_only_message_for_its_borough():
    problem = path_problem({"S1": [1, 1, 1, 1]})
    problem.adjacency = {"A": set(), "B": {"C"}, "C": {"B", "D"}, "D": {"C"}}
    with pytest.raises(InfeasibleError) as info:
        solve_hubs(problem, size=(2, 2))  # 4 wards need 2 hubs and there is 1 site: not said while A is alone
    assert "has no neighbour" in str(info.value) and "candidate site" not in str(info.value)


def test_required_sites_that_cannot_all_serve():
    problem = path_problem({"S1": [1, 1, 1, 1], "S2": [1, 1, 1, 1], "S3": [1, 1, 1, 1]}, must_use={"S1", "S2", "S3"})
    with pytest.raises(InfeasibleError, match=r"3 sites are required \(S1, S2, S3\) but at most 2 hubs fit"):
        solve_hubs(problem, size=(2, 2))


def test_total_out_of_reach():
    problem = path_problem({"S1": [1, 10, 1, 10], "S2": [10, 1, 10, 1]})
    with pytest.raises(InfeasibleError, match=r"exactly 3 hubs is out of reach.*only 2-2 hubs are possible"):
        solve_hubs(problem, size=(2, 2), hubs="3")


def test_both_required_and_forbidden():
    problem = path_problem({"S1": [1, 10, 1, 10], "S2": [10, 1, 10, 1]}, must_use={"S1"})
    problem.must_not_use = frozenset({"S1"})
    with pytest.raises(InfeasibleError, match=r"\['S1'\] are marked both must_use and must_not_use"):
        solve_hubs(problem, size=(2, 2))


def voronoi_wards(seed: int, n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    pts = shapely.MultiPoint(rng.uniform(0, 10_000, size=(n, 2)))
    box = shapely.box(0, 0, 10_000, 10_000)
    cells = [c.intersection(box) for c in shapely.voronoi_polygons(pts, extend_to=box).geoms]
    return gpd.GeoDataFrame(
        {
            "ward_code": [f"W{i:02d}" for i in range(n)],
            "ward_name": "w",
            "borough_code": "B1",
            "borough_name": "B",
        },
        geometry=cells,
        crs=27700,
    )


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n=st.integers(4, 14), sizes=st.sampled_from([(2, 3), (1, 3), (2, 4), (3, 4)]))
def test_property_random_planar_partitions(seed, n, sizes):
    wards = voronoi_wards(seed, n)
    adjacency = adjacency_from_wards(wards)
    rng = np.random.default_rng(seed + 1)
    cent = wards.geometry.centroid
    pop = rng.integers(0, 100, size=n)
    costs = pd.DataFrame(
        {s: [pop[i] * cent.iloc[i].distance(cent.iloc[j]) for i in range(n)] for j, s in enumerate(wards["ward_code"])},
        index=wards["ward_code"],
    )
    problem = HubProblem(
        costs=costs,
        borough=pd.Series("B1", index=wards["ward_code"]),
        adjacency=adjacency,
        site_borough=pd.Series("B1", index=wards["ward_code"]),
        root=dict(zip(wards["ward_code"], wards["ward_code"], strict=True)),
    )
    try:
        plan = solve_hubs(problem, size=sizes, hubs="free")
    except InfeasibleError as exc:
        assert "B1" in str(exc)
        return
    a = plan.assignment
    assert sorted(a["ward_code"]) == sorted(wards["ward_code"])  # every ward exactly once
    graph = nx.Graph([(i, k) for i, ks in adjacency.items() for k in ks])
    graph.add_nodes_from(adjacency)
    for _, hub in a.groupby("hub_id"):
        members = set(hub["ward_code"])
        assert sizes[0] <= len(members) <= sizes[1]
        assert nx.is_connected(graph.subgraph(members))
        assert set(hub["site_id"]) <= members  # the site is a member ward
    assert plan.gap <= 1e-9


@pytest.mark.data
def test_real_london_plan_is_contiguous_and_optimal(london):
    plan = plan_hubs(london.study_wards, london.study_demand)
    assert plan.n_hubs == 149
    assert plan.feasible_range == (141, 149)
    assert any("150 hubs is out of reach because hubs may not cross borough lines" in n for n in plan.notes)
    assert (plan.boroughs["status"] == "optimal").all()
    assert plan.gap <= 1e-9
    hubs, ward_hubs, _polygons = hub_outputs(plan, london.study_wards, london.study_demand)
    assert len(ward_hubs) == 629 and ward_hubs["ward_code"].is_unique
    assert hubs["n_wards"].between(4, 5).all()
    assert (hubs.groupby("hub_id")["borough_code"].nunique() == 1).all()
    # independent check: each hub's wards dissolve to one polygon
    for hub_id, group in ward_hubs.groupby("hub_id"):
        merged = shapely.union_all(shapely.buffer(group.geometry.values, 0.01))
        assert merged.geom_type == "Polygon", hub_id
    assert hubs["population"].sum() == london.study_demand.total


def path_wards(n, borough_of, roots=True):
    wards = [f"W{i:02d}" for i in range(n)]
    adjacency = {w: {wards[k] for k in (i - 1, i + 1) if 0 <= k < n} for i, w in enumerate(wards)}
    costs = pd.DataFrame({s: [abs(i - j) for i in range(n)] for j, s in enumerate(wards)}, index=wards, dtype=float)
    borough = pd.Series([borough_of(i) for i in range(n)], index=wards)
    return HubProblem(
        costs=costs,
        borough=borough,
        adjacency=adjacency,
        site_borough=borough.copy(),
        root={w: w for w in wards} if roots else {},
    )


@METHODS
def test_joining_boroughs_lets_hubs_cross_the_line(method):
    # X has 7 wards (not a sum of 4s and 5s); with Y's 5 the 12 wards make three hubs of 4
    problem = path_wards(12, lambda i: "X" if i < 7 else "Y")
    problem.costs = problem.costs.where(problem.borough.to_numpy()[:, None] == problem.borough.to_numpy()[None, :])
    with pytest.raises(InfeasibleError, match=r"X: 7 wards cannot be split.*`join`"):
        solve_hubs(problem, method=method)
    problem = path_wards(12, lambda i: "X" if i < 7 else "Y")
    plan = solve_hubs(problem, method=method, join=[["X", "Y"]], hubs="free")
    assert plan.n_hubs == 3
    assert set(plan.assignment["borough_code"]) == {"X+Y"}
    groups = sorted(plan.assignment.groupby("hub_id")["ward_code"].apply(lambda s: len(s)).tolist())
    assert groups == [4, 4, 4]
    with pytest.raises(InfeasibleError, match=r"`join` names borough code\(s\) \[.Q.\] that are not boroughs"):
        solve_hubs(problem, method=method, join=[["X", "Q"]])


@METHODS
def test_candidate_buildings_must_use(method):
    # 8 wards in a row, candidate buildings without a home ward; S3 is dear but required
    problem = path_wards(8, lambda i: "B", roots=False)
    problem.costs = pd.DataFrame({"S1": [1.0] * 8, "S2": [1.0] * 8, "S3": [10.0] * 8}, index=problem.costs.index)
    problem.site_borough = pd.Series("B", index=["S1", "S2", "S3"])
    free = solve_hubs(problem, method=method, size=(4, 4), hubs="2")
    assert set(free.assignment["site_id"]) == {"S1", "S2"} and free.objective == 8
    problem.must_use = frozenset({"S3"})
    forced = solve_hubs(problem, method=method, size=(4, 4), hubs="2")
    assert "S3" in set(forced.assignment["site_id"]) and forced.objective == 4 * 10 + 4 * 1
    problem.must_not_use = frozenset({"S1", "S2"})
    with pytest.raises(
        InfeasibleError, match=r"need at least 2 hubs but only 1 candidate site\(s\) are allowed \(S3\)"
    ):
        solve_hubs(problem, method=method, size=(4, 4), hubs="2")


@METHODS
def test_workload_bounds(method):
    problem = path_wards(8, lambda i: "B")
    problem.population = pd.Series([100, 100, 100, 100, 1, 1, 1, 1], index=problem.costs.index)
    plan = solve_hubs(problem, method=method, size=(2, 6), hubs="2", population_bounds=(200, 300))
    groups = sorted(plan.assignment.groupby("hub_id")["ward_code"].apply(lambda s: ",".join(sorted(s))))
    assert groups == ["W00,W01", "W02,W03,W04,W05,W06,W07"]
    with pytest.raises(InfeasibleError, match="workload bounds"):
        solve_hubs(problem, method=method, size=(2, 6), hubs="2", population_bounds=(250, 260))


@METHODS
def test_sites_missing_from_a_borough_or_all_barred_name_the_cause(method):
    """A borough with no candidate site at all is told to add one, not to lift flags it does not have."""
    problem = path_wards(8, lambda i: "A" if i < 4 else "B", roots=False)
    problem.costs = pd.DataFrame({"S1": [1.0] * 4 + [np.nan] * 4}, index=problem.costs.index)
    problem.site_borough = pd.Series("A", index=["S1"])
    with pytest.raises(InfeasibleError) as info:
        solve_hubs(problem, method=method, size=(4, 4))
    assert "B: the candidate sites (`sites`) hold no site in this borough" in str(info.value)
    assert "must_not_use" not in str(info.value)
    problem.costs = pd.DataFrame(
        {"S1": [1.0] * 4 + [np.nan] * 4, "S2": [np.nan] * 4 + [1.0] * 4}, index=problem.costs.index
    )
    problem.site_borough = pd.Series(["A", "B"], index=["S1", "S2"])
    problem.must_not_use = frozenset({"S2"})
    with pytest.raises(InfeasibleError, match=r"B: all 1 of its candidate sites are marked must_not_use \(S2\)"):
        solve_hubs(problem, method=method, size=(4, 4))
    problem.must_not_use = frozenset()
    assert solve_hubs(problem, method=method, size=(4, 4)).n_hubs == 2
