"""The one source of population-weighted figures, checked by hand."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.errors import OptionError, PlannerError
from planner.stats import access_figures, beyond, check_threshold, weighted_quantile


def test_weighted_quantile_by_hand():
    # weights 1, 2, 3, 4 of 10: the cumulative shares are 0.1, 0.3, 0.6, 1.0
    values, weights = np.array([40.0, 10.0, 30.0, 20.0]), np.array([4, 1, 3, 2])
    assert weighted_quantile(values, weights, 0.5) == 30  # first value with >= 50 % at or below it
    assert weighted_quantile(values, weights, 0.3) == 20  # exactly 30 % at or below 20
    assert weighted_quantile(values, weights, 0.31) == 30
    assert weighted_quantile(values, weights, 0.95) == 40
    assert weighted_quantile(values, weights, 0.1) == 10
    assert weighted_quantile(np.array([10, np.nan]), np.array([1, 9]), 0.5) == math.inf  # NaN sorts as inf
    assert math.isnan(weighted_quantile(np.array([1.0, 2.0]), np.array([0, 0]), 0.5))


def test_weighted_quantile_rows():
    values = np.array([[40.0, 10.0, 30.0, 20.0], [1.0, 2.0, 3.0, np.inf]])
    out = weighted_quantile(values, np.array([4, 1, 3, 2]), np.array([0.5, 0.95]))  # quantiles x rows
    # second row: cumulative 40 %, 50 %, 80 %, 100 % -> median 2 (exactly 50 %), p95 inf
    assert out.tolist() == [[30.0, 2.0], [40.0, math.inf]]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 120), st.integers(0, 50)),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from([0.05, 0.5, 0.95]),
)
def test_weighted_quantile_equals_repeating_each_value(pairs, q):
    """An integer weight w counts like the value repeated w times (the unweighted inverted CDF)."""
    values = np.array([v for v, _ in pairs], dtype=float)
    weights = np.array([w for _, w in pairs], dtype=float)
    if weights.sum() == 0:
        return
    repeated = np.repeat(values, weights.astype(int))
    expected = np.sort(repeated)[math.ceil(q * len(repeated)) - 1]
    assert weighted_quantile(values, weights, q) == expected


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 40),
    st.integers(1, 6),
    st.integers(0, 10_000),
    st.lists(st.sampled_from([0.0, 0.05, 0.1, 0.25, 0.3, 0.5, 0.6, 0.95, 1.0]), min_size=1, max_size=4),
)
def test_rows_equal_numpy_quantile(n, plans, seed, qs):
    """The vectorised rows give exactly numpy.quantile(..., weights=..., method="inverted_cdf") per row,
    with ties, zero weights, unreachable (inf) points and shares that land exactly on a quantile."""
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 8, size=(plans, n)).astype(float)
    values[rng.random(values.shape) < 0.1] = np.inf
    weights = rng.integers(0, 4, size=n).astype(float)
    if weights.sum() == 0:
        weights[0] = 1
    got = weighted_quantile(values, weights, np.array(qs))
    for row in range(plans):
        expected = np.quantile(values[row], np.array(qs), weights=weights, method="inverted_cdf")
        assert got[:, row].tolist() == expected.tolist()


def test_access_figures_by_hand():
    minutes = np.array([10.0, 45.0, 50.0, np.inf])
    pop = np.array([100, 200, 300, 400])
    old = np.array([10, 20, 30, 40])
    fig = access_figures(minutes, pop, threshold=45, pop_65_plus=old)
    assert fig == {
        "population": 1000,
        "beyond": 700,  # 50 minutes and unreachable; exactly 45 is within
        "pct_within": pytest.approx(30.0),
        "mean_minutes": pytest.approx((10 * 100 + 45 * 200 + 50 * 300) / 600),
        "median_minutes": 50.0,  # cumulative 10 %, 30 %, 60 %
        "p95_minutes": math.inf,
        "beyond_65_plus": 70,
        "unreachable": 400,
    }
    # the engine's mark wins over a finite time (e.g. an off-network point)
    marked = access_figures(minutes, pop, threshold=45, pop_65_plus=old, reachable=[True, False, True, True])
    assert (marked["beyond"], marked["unreachable"]) == (900, 600)
    assert marked["mean_minutes"] == pytest.approx((10 * 100 + 50 * 300) / 400)
    assert marked["median_minutes"] == math.inf
    assert beyond(minutes, 45, [True, False, True, True]).tolist() == [False, True, True, True]


def test_access_figures_per_plan_rows_equal_one_by_one():
    rng = np.random.default_rng(3)
    t = rng.uniform(0, 90, size=(5, 40))
    t[rng.random(t.shape) < 0.05] = np.inf
    pop = rng.integers(0, 2000, 40)
    old = pop // 7
    rows = access_figures(t, pop, threshold=45, pop_65_plus=old)
    for i in range(5):
        one = access_figures(t[i], pop, threshold=45, pop_65_plus=old)
        for key, value in one.items():
            assert rows[key][i] == pytest.approx(value), key


@pytest.mark.parametrize("bad", [0, -5, "-5", float("nan"), "nan", float("inf"), "inf", "-inf", "abc", None])
def test_bad_thresholds_refused(bad):
    with pytest.raises(OptionError, match="threshold") as info:
        check_threshold(bad)
    assert isinstance(info.value, PlannerError) and isinstance(info.value, ValueError)
    with pytest.raises(OptionError):
        access_figures(np.array([1.0]), np.array([1]), threshold=bad)  # type: ignore[arg-type]


def test_assess_compare_and_sweep_agree():
    """The assessment, the comparison of runs and the sweep evaluator give the same London figures."""
    import geopandas as gpd

    from planner.assess import assess
    from planner.compare import run_figures
    from planner.demand import Demand
    from planner.sweep import Evaluator
    from planner.travel import CrowFly

    rng = np.random.default_rng(11)
    n = 30
    xy = rng.uniform(0, 20000, size=(n, 2))
    pts = gpd.GeoDataFrame(
        {
            "point_id": [f"P{i:02d}" for i in range(n)],
            "ward_code": [f"W{i % 3}" for i in range(n)],
            "ward_name": [f"W{i % 3}" for i in range(n)],
            "borough_code": "B",
            "borough_name": "B",
            "population": rng.integers(0, 3000, n),
            "pop_65_plus": rng.integers(0, 300, n),
            "in_met": True,
        },
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]),
        crs="EPSG:27700",
    )
    wards = pd.DataFrame({"ward_code": ["W0", "W1", "W2"], "ward_name": ["W0", "W1", "W2"], "borough_code": "B"})
    wards["borough_name"] = "B"
    counters = gpd.GeoDataFrame(
        {"station_id": ["a", "b", "c"]}, geometry=gpd.points_from_xy([0, 10000, 20000], [0, 10000, 0]), crs=27700
    )
    engine = CrowFly()
    result = assess(Demand(pts, wards, 2019), counters, engine, threshold=45)
    london = result.london.iloc[0]
    points = result.points
    compared = run_figures(points, (45.0, 60.0))
    matrix = engine.matrix(pts, counters)
    ev = Evaluator.from_demand(matrix, pts)
    swept = ev.figures(ev.mask(["a", "b", "c"])[None, :], 45).iloc[0]
    for key in ("beyond", "pct_within", "mean_minutes", "p95_minutes", "beyond_65_plus", "unreachable"):
        assert swept[key] == pytest.approx(london[key]), key
    for key in ("mean_minutes", "p95_minutes"):
        assert compared[key] == pytest.approx(london[key]), key
    assert compared["beyond_45"] == london["beyond"]
    assert compared["pct_within_45"] == pytest.approx(london["pct_within"])
    # and by an independent route: numpy on the per-point minutes
    t, pop = points["minutes"].to_numpy(), points["population"].to_numpy()
    assert london["beyond"] == pop[t > 45].sum()
    assert london["mean_minutes"] == pytest.approx((t * pop).sum() / pop.sum())


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.floats(0, 200, allow_nan=False), st.just(math.inf)), st.integers(0, 5000), st.booleans()
        ),
        min_size=1,
        max_size=25,
    ),
    st.floats(1, 120),
)
def test_access_figures_invariants(rows, threshold):
    minutes = np.array([m for m, _, _ in rows])
    pop = np.array([p for _, p, _ in rows])
    reachable = np.array([r for _, _, r in rows])
    fig = access_figures(minutes, pop, threshold=threshold, pop_65_plus=pop // 3, reachable=reachable)
    within = pop[reachable & (minutes <= threshold)].sum()
    assert fig["population"] == pop.sum()
    assert fig["beyond"] + within == pop.sum()
    assert fig["unreachable"] == pop[~reachable | ~np.isfinite(minutes)].sum() <= fig["beyond"]
    assert fig["beyond_65_plus"] <= fig["beyond"]
    if pop.sum():
        assert 0 <= fig["pct_within"] <= 100
        assert fig["median_minutes"] <= fig["p95_minutes"]
    # a longer threshold never leaves more residents beyond
    assert access_figures(minutes, pop, threshold=threshold + 10, reachable=reachable)["beyond"] <= fig["beyond"]
