"""The enumeration solve of the hub model, cross-checked against the MIP, hand-solved cases and brute force."""

import itertools
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
from planner.hubs import HubOptions, HubProblem, adjacency_from_wards, hub_problem, plan_hubs, solve_hubs, ward_costs
from planner.hubs.enumeration import connected_sets, partition
from planner.travel import CrowFly


def masks_to_sets(masks, n):
    return {frozenset(i for i in range(n) if (int(m) >> i) & 1) for m in masks}


def adjacency_masks(graph: nx.Graph) -> np.ndarray:
    out = np.zeros(graph.number_of_nodes(), dtype=np.uint64)
    for i, k in graph.edges:
        out[i] |= np.uint64(1 << k)
        out[k] |= np.uint64(1 << i)
    return out


@pytest.mark.parametrize(
    "graph", [nx.path_graph(7), nx.cycle_graph(6), nx.grid_2d_graph(3, 4), nx.star_graph(5), nx.petersen_graph()]
)
@pytest.mark.parametrize("sizes", [(1, 1), (2, 3), (4, 5), (3, 6)])
def test_connected_sets_match_brute_force(graph, sizes):
    graph = nx.convert_node_labels_to_integers(graph)
    n = graph.number_of_nodes()
    found = connected_sets(adjacency_masks(graph), *sizes)
    assert len(found) == len(set(found.tolist()))  # no duplicates
    expected = {
        frozenset(c)
        for k in range(sizes[0], sizes[1] + 1)
        for c in itertools.combinations(range(n), k)
        if nx.is_connected(graph.subgraph(c))
    }
    assert masks_to_sets(found, n) == expected


def test_connected_sets_of_a_path_by_hand():
    # a path of 5: 4 sets of two, 3 of three
    found = masks_to_sets(connected_sets(adjacency_masks(nx.path_graph(5)), 2, 3), 5)
    assert len(found) == 7 and frozenset({0, 1, 2}) in found and frozenset({0, 2}) not in found


def test_partition_by_hand():
    # wards 0-3; columns {0,1}=3, {2,3}=4, {0,1,2,3}=10, {1,2}=1 (cannot be completed), {0}=1, {3}=1
    masks = np.array([0b0011, 0b1100, 0b1111, 0b0110, 0b0001, 0b1000], dtype=np.uint64)
    costs = np.array([3.0, 4.0, 10.0, 1.0, 1.0, 1.0])
    best = partition(masks, costs, 4, np.uint64(0), (1, 3), (1, 4))
    # 1 column: {0..3} = 10; 2 columns: {0,1}+{2,3} = 7; 3 columns: {0}+{1,2}+{3} = 3
    assert best == {1: (10.0, [2]), 2: (7.0, [0, 1]), 3: (3.0, [3, 4, 5])}
    only_two = partition(masks, costs, 4, np.uint64(0), (2, 2), (1, 4))
    assert only_two == {2: (7.0, [0, 1])}


def test_partition_required_site_bit():
    # two wards; column A covers both at site bit 2 (cost 5), B covers both at site bit 3 (cost 1); bit 2 required
    masks = np.array([0b0111, 0b1011], dtype=np.uint64)
    assert partition(masks, np.array([5.0, 1.0]), 2, np.uint64(0), (1, 1), (2, 2)) == {1: (1.0, [1])}
    assert partition(masks, np.array([5.0, 1.0]), 2, np.uint64(0b100), (1, 1), (2, 2)) == {1: (5.0, [0])}


def grid_problem(rows, cols, *, seed, roots=True, extra_sites=0):
    """A rows x cols grid of wards, one borough; random populations; crow-fly-like costs."""
    rng = np.random.default_rng(seed)
    cells = {f"W{r}{c}": (r, c) for r in range(rows) for c in range(cols)}
    wards = list(cells)
    adjacency = {w: {v for v, q in cells.items() if abs(q[0] - p[0]) + abs(q[1] - p[1]) == 1} for w, p in cells.items()}
    pop = pd.Series(rng.integers(1, 100, size=len(wards)), index=wards, dtype=float)
    sites = {w: p for w, p in cells.items()} if roots else {}
    for k in range(extra_sites):
        sites[f"S{k}"] = tuple(rng.uniform(0, max(rows, cols), size=2))
    costs = pd.DataFrame({s: [pop[w] * math.dist(cells[w], q) for w in wards] for s, q in sites.items()}, index=wards)
    return HubProblem(
        costs=costs,
        borough=pd.Series("B", index=wards),
        adjacency=adjacency,
        site_borough=pd.Series("B", index=list(sites)),
        root={w: w for w in wards} if roots else {},
        population=pop,
    )


def test_grid_by_hand():
    # a 2 x 4 grid of unit populations in hubs of exactly 4: the two 2 x 2 squares cost 1 + 1 + sqrt(2) each,
    # against 1 + 1 + 2 for a straight row of four (centre ward inside), so squares win: 2 * (2 + sqrt(2))
    problem = grid_problem(2, 4, seed=0)
    problem.costs = problem.costs.div(problem.population, axis=0)
    problem.population = None
    for method in ("enumeration", "mip"):
        plan = solve_hubs(problem, size=(4, 4), hubs="2", method=method)
        assert plan.objective == pytest.approx(4 + 2 * math.sqrt(2))
        groups = sorted(plan.assignment.groupby("hub_id")["ward_code"].apply(lambda s: ",".join(sorted(s))))
        assert groups == ["W00,W01,W10,W11", "W02,W03,W12,W13"]


def voronoi_problem(seed, n, boroughs=1):
    rng = np.random.default_rng(seed)
    pts = shapely.MultiPoint(rng.uniform(0, 10_000, size=(n, 2)))
    box = shapely.box(0, 0, 10_000, 10_000)
    cells = [c.intersection(box) for c in shapely.voronoi_polygons(pts, extend_to=box).geoms]
    codes = [f"W{i:02d}" for i in range(n)]
    wards = gpd.GeoDataFrame({"ward_code": codes}, geometry=cells, crs=27700)
    adjacency = adjacency_from_wards(wards)
    cent = wards.geometry.centroid
    pop = rng.integers(0, 100, size=n)
    costs = pd.DataFrame(
        {s: [pop[i] * cent.iloc[i].distance(cent.iloc[j]) for i in range(n)] for j, s in enumerate(codes)},
        index=codes,
    )
    borough = pd.Series([f"B{int(cent.iloc[i].x * boroughs // 10_000)}" for i in range(n)], index=codes)
    costs = costs.where(borough.to_numpy()[:, None] == borough.to_numpy()[None, :])
    return HubProblem(
        costs=costs,
        borough=borough,
        adjacency=adjacency,
        site_borough=borough.copy(),
        root=dict(zip(codes, codes, strict=True)),
        population=pd.Series(pop, index=codes, dtype=float),
    )


def solve_both(problem, **options):
    """Objectives by enumeration and by the MIP, or the InfeasibleError message of each."""
    out = []
    for method in ("enumeration", "mip"):
        try:
            plan = solve_hubs(problem, method=method, **options)
            out.append((plan.objective, plan.n_hubs, tuple(plan.boroughs["objective"].round(6))))
        except InfeasibleError as exc:
            out.append(str(exc))
    return out


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(4, 16),
    boroughs=st.integers(1, 2),
    sizes=st.sampled_from([(1, 3), (2, 3), (2, 4), (3, 4), (4, 5)]),
    target=st.sampled_from(["free", None, "2-", "3", "2-4"]),
    with_bounds=st.booleans(),
    must=st.integers(-1, 15),
)
def test_property_enumeration_equals_mip(seed, n, boroughs, sizes, target, with_bounds, must):
    problem = voronoi_problem(seed, n, boroughs)
    if must >= 0:
        problem.must_use = frozenset({f"W{must % n:02d}"})
    bounds = None
    if with_bounds:
        total = float(problem.population.sum())
        bounds = (0.1 * total / max(1, n // sizes[1]), 0.9 * total)
    enum, mip = solve_both(problem, size=sizes, hubs=target, population_bounds=bounds)
    if isinstance(enum, str) or isinstance(mip, str):
        assert enum == mip  # the same explanation, from the same rule checks
        return
    assert enum[0] == pytest.approx(mip[0], rel=1e-9, abs=1e-6)
    assert enum[1] == mip[1]
    assert enum[2] == pytest.approx(mip[2], rel=1e-9, abs=1e-6)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), extra=st.integers(1, 3), must=st.booleans())
def test_property_building_sites(seed, extra, must):
    # candidate buildings (no root ward): a site hosts at most one hub, required sites must host one
    problem = grid_problem(2, 3, seed=seed, roots=False, extra_sites=extra + 1)
    if must:
        problem.must_use = frozenset({"S0"})
    enum, mip = solve_both(problem, size=(2, 4), hubs="free")
    if isinstance(enum, str) or isinstance(mip, str):
        assert enum == mip
        return
    assert enum[0] == pytest.approx(mip[0], rel=1e-9, abs=1e-6)


def test_joined_boroughs_share_hubs_through_plan_hubs():
    # 8 square wards in a row: X has 3, Y has 5.  Alone, X cannot make a hub of 4; joined, hubs cross the line.
    cells = [shapely.box(1000 * i, 0, 1000 * (i + 1), 1000) for i in range(8)]
    wards = gpd.GeoDataFrame(
        {
            "ward_code": [f"W{i}" for i in range(8)],
            "ward_name": [f"ward {i}" for i in range(8)],
            "borough_code": ["X"] * 3 + ["Y"] * 5,
            "borough_name": ["Ex"] * 3 + ["Why"] * 5,
        },
        geometry=cells,
        crs=27700,
    )
    points = gpd.GeoDataFrame(
        {
            "point_id": [f"P{i}" for i in range(8)],
            "ward_code": [f"W{i}" for i in range(8)],
            "population": [100] * 8,
        },
        geometry=[c.centroid for c in cells],
        crs=27700,
    )
    table = pd.DataFrame({"ward_code": wards["ward_code"], "population": 100})
    from planner.demand import Demand

    demand = Demand(points, table, 2019)
    with pytest.raises(InfeasibleError, match="Ex"):
        plan_hubs(wards, demand, size=(4, 4))
    plan = plan_hubs(wards, demand, size=(4, 4), join=[["X", "Y"]], hubs="free")
    groups = sorted(plan.assignment.groupby("hub_id")["ward_code"].apply(lambda s: ",".join(sorted(s))))
    assert groups == ["W0,W1,W2,W3", "W4,W5,W6,W7"]
    # each hub's residents walk 1 + 1 + 2 ward widths (crow-fly x 1.3 at 4.8 km/h) from the best inner centre
    minutes_per_km = 1.3 / 4.8 * 60
    assert plan.objective == pytest.approx(2 * 100 * 4 * minutes_per_km)


def test_adjacency_matches_libpysal_rook():
    from libpysal.weights import Rook

    for seed in range(5):
        problem_wards = voronoi_problem(seed, 30).adjacency
        assert all(problem_wards[w] for w in problem_wards)
    # squares in a grid: rook neighbours share an edge, not a corner
    cells = [shapely.box(x, y, x + 1, y + 1) for y in range(3) for x in range(3)]
    wards = gpd.GeoDataFrame({"ward_code": [f"C{i}" for i in range(9)]}, geometry=cells, crs=27700)
    adjacency = adjacency_from_wards(wards)
    assert adjacency["C4"] == {"C1", "C3", "C5", "C7"} and adjacency["C0"] == {"C1", "C3"}
    w = Rook.from_dataframe(wards, ids=wards["ward_code"].tolist(), use_index=False, silence_warnings=True)
    assert adjacency == {c: set(w.neighbors[c]) for c in wards["ward_code"]}


@pytest.mark.data
def test_adjacency_matches_libpysal_on_london(london):
    from libpysal.weights import Rook

    wards = london.study_wards.reset_index(drop=True)
    w = Rook.from_dataframe(wards, ids=wards["ward_code"].tolist(), use_index=False, silence_warnings=True)
    assert adjacency_from_wards(wards) == {c: set(map(str, w.neighbors[c])) for c in wards["ward_code"]}


@pytest.mark.data
def test_london_plan_identical_to_the_mip(london):
    """The London plan by enumeration is the MIP's plan: same hubs, same objective in every borough."""
    wards, demand = london.study_wards, london.study_demand
    enum = plan_hubs(wards, demand, options=HubOptions(method="enumeration"))
    mip = plan_hubs(wards, demand, options=HubOptions(method="mip"))
    assert (enum.boroughs["method"] == "enumeration").all() and (mip.boroughs["method"] == "mip").all()
    assert enum.n_hubs == mip.n_hubs == 149
    assert enum.feasible_range == mip.feasible_range == (141, 149)
    assert enum.notes == mip.notes
    pd.testing.assert_frame_equal(enum.assignment, mip.assignment)
    np.testing.assert_allclose(enum.boroughs["objective"], mip.boroughs["objective"], rtol=1e-12)
    assert (enum.boroughs["hubs"] == mip.boroughs["hubs"]).all()
    assert (enum.boroughs["feasible_hubs"] == mip.boroughs["feasible_hubs"]).all()
    # the objective by an independent route: person-minutes from each ward's points to its hub's site, in numpy
    pts = demand.points
    sites = wards.set_index("ward_code")  # site ids are ward codes here; centres from the plan's own helper
    from planner.hubs import ward_sites

    centres = ward_sites(demand, wards).set_index("site_id").geometry
    site_of = enum.assignment.set_index("ward_code")["site_id"]
    target = centres.loc[site_of.reindex(pts["ward_code"]).to_numpy()]
    metres = np.hypot(pts.geometry.x.to_numpy() - target.x.to_numpy(), pts.geometry.y.to_numpy() - target.y.to_numpy())
    total = float((metres * 1.3 / (4.8 * 1000 / 60) * pts["population"].to_numpy()).sum())
    assert total == pytest.approx(enum.objective, rel=1e-9)
    assert enum.objective == pytest.approx(176_942_095.71, abs=0.01)
    assert len(sites) == 629


@pytest.mark.data
def test_london_every_feasible_count_matches_the_mip(london):
    """For the boroughs whose ward count allows two hub counts, both counts agree with the MIP."""
    problem = hub_problem(london.study_wards, london.study_demand)
    sizes = problem.borough.value_counts()
    two_counts = [b for b, n in sizes.items() if math.ceil(n / 5) < n // 4][:4]
    assert two_counts
    keep = problem.borough.isin(two_counts)
    small = HubProblem(
        costs=problem.costs.loc[keep, problem.site_borough.isin(two_counts).reindex(problem.costs.columns).to_numpy()],
        borough=problem.borough[keep],
        adjacency=problem.adjacency,
        site_borough=problem.site_borough[problem.site_borough.isin(two_counts)],
        root=problem.root,
        population=problem.population[keep],
    )
    enum, mip = solve_both(small, hubs="free")
    assert enum[0] == pytest.approx(mip[0], rel=1e-12)
    for b in two_counts:
        one = HubProblem(
            costs=small.costs.loc[small.borough == b],
            borough=small.borough[small.borough == b],
            adjacency=small.adjacency,
            site_borough=small.site_borough[small.site_borough == b],
            root=small.root,
        )
        n = int((one.borough == b).sum())
        for h in range(math.ceil(n / 5), n // 4 + 1):
            enum, mip = solve_both(one, hubs=str(h))
            assert enum[0] == pytest.approx(mip[0], rel=1e-12), (b, h)


def test_ward_costs_sum_residents_by_hand():
    from planner.demand import Demand

    points = gpd.GeoDataFrame(
        {"point_id": ["a", "b", "c"], "ward_code": ["W1", "W1", "W2"], "population": [10, 20, 5]},
        geometry=[shapely.Point(0, 0), shapely.Point(0, 1000), shapely.Point(1000, 0)],
        crs=27700,
    )
    sites = gpd.GeoDataFrame({"site_id": ["S"]}, geometry=[shapely.Point(0, 0)], crs=27700)
    engine = CrowFly(speed_kmh=6, circuity=1)  # 10 minutes per km
    costs = ward_costs(Demand(points, pd.DataFrame({"ward_code": ["W1", "W2"]}), 2019), sites, engine)
    assert costs.loc["W1", "S"] == pytest.approx(10 * 0 + 20 * 10) and costs.loc["W2", "S"] == pytest.approx(50)


def test_falls_back_to_the_mip_when_enumeration_is_too_large(monkeypatch):
    import planner.hubs.enumeration as enumeration
    from planner.errors import SolverError

    problem = grid_problem(3, 4, seed=3)
    exact = solve_hubs(problem, size=(3, 4), hubs="free")
    assert (exact.boroughs["method"] == "enumeration").all()
    monkeypatch.setattr(enumeration, "MAX_PAIRS", 5)
    fallback = solve_hubs(problem, size=(3, 4), hubs="free")
    assert (fallback.boroughs["method"] == "mip").all()
    assert any("Solved by the MIP (too large to enumerate): B" in note for note in fallback.notes)
    assert fallback.objective == pytest.approx(exact.objective, rel=1e-9)
    with pytest.raises(SolverError, match="too many connected ward sets"):
        solve_hubs(problem, size=(3, 4), hubs="free", method="enumeration")


def test_boroughs_that_do_not_meet_cannot_be_joined():
    """Hostile pass 7: joining Bromley and Barnet (which never meet) was accepted as "Barnet + Bromley"."""
    cells = [shapely.box(1000 * i, 0, 1000 * (i + 1), 1000) for i in (0, 1, 3, 4)]  # a gap between the pairs
    wards = gpd.GeoDataFrame(
        {
            "ward_code": [f"W{i}" for i in range(4)],
            "ward_name": [f"Ward {i}" for i in range(4)],
            "borough_code": ["X", "X", "Z", "Z"],
            "borough_name": ["Ex", "Ex", "Zed", "Zed"],
        },
        geometry=cells,
        crs=27700,
    )
    points = gpd.GeoDataFrame(
        {"point_id": [f"P{i}" for i in range(4)], "ward_code": [f"W{i}" for i in range(4)], "population": 100},
        geometry=[c.centroid for c in cells],
        crs=27700,
    )
    from planner.demand import Demand

    demand = Demand(points, pd.DataFrame({"ward_code": wards["ward_code"], "population": 100}), 2019)
    with pytest.raises(InfeasibleError, match=r"Ex and Zed share no border, so no hub could cross between them"):
        plan_hubs(wards, demand, size=(2, 2), join=[["X", "Z"]], hubs="free")
