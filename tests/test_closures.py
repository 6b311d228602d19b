"""Closure scenarios scored from each point's nearest open counters (planner.closures)."""

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.sweep import Evaluator, closure_index

INF = np.inf


def toy():
    """Three counters a, b, c and four points, solved by hand below."""
    minutes = np.array(
        [
            [10.0, 30.0, 50.0],  # p1: 100 residents (10 aged 65+), ward w1
            [40.0, 20.0, 60.0],  # p2: 200 (20), w1
            [INF, INF, 44.0],  # p3: 50 (5), w2
            [5.0, 70.0, INF],  # p4: 150 (0), w2
        ]
    )
    return Evaluator(
        minutes,
        np.array([100, 200, 50, 150]),
        np.array([10, 20, 5, 0]),
        np.array(["a", "b", "c"], dtype=object),
        np.array(["w1", "w1", "w2", "w2"], dtype=object),
    )


def test_closures_by_hand():
    ev = toy()
    plan = np.ones(3, dtype=bool)
    closures = [("a",), ("b",), ("c",), ("a", "b")]
    figures, wards = ev.nearest_open(plan, closed=2).figures(closure_index(ev, closures), 45)
    # close a: p1 -> b (30), p4 -> b (70, beyond); times 20(200) 30(100) 44(50) 70(150), 95% of 500 is 475
    # close b: p2 -> a (40); close c: p3 reaches nothing; close a and b: p1 -> c 50, p2 -> c 60, p4 nothing
    assert figures["beyond"].tolist() == [150, 0, 50, 450]
    assert figures["beyond_65_plus"].tolist() == [0, 0, 5, 30]
    assert figures["unreachable"].tolist() == [0, 0, 50, 150]
    assert figures["p95_minutes"].tolist() == [70.0, 44.0, INF, INF]
    assert figures["mean_minutes"].tolist() == pytest.approx(
        [19700 / 500, 11950 / 500, 5750 / 450, (5000 + 12000 + 2200) / 350], rel=1e-15
    )
    assert figures["pct_within"].tolist() == pytest.approx([70.0, 100.0, 90.0, 10.0])
    # w1 loses residents only when a and b both close (300); w2 when a (150), c (50), a and b (150)
    assert wards.set_index("ward_code").to_dict("index") == {
        "w1": {"scenarios_losing": 1, "max_residents_lost": 300.0},
        "w2": {"scenarios_losing": 3, "max_residents_lost": 150.0},
    }


def test_closing_every_counter_leaves_everyone_unreachable():
    ev = toy()
    figures, _ = ev.nearest_open(np.ones(3, dtype=bool), closed=3).figures(closure_index(ev, [("a", "b", "c")]), 45)
    row = figures.iloc[0]
    assert (row["beyond"], row["unreachable"], row["p95_minutes"]) == (500, 500, INF)
    assert np.isnan(row["mean_minutes"])


def test_closures_wider_than_the_model_are_refused():
    ev = toy()
    with pytest.raises(ValueError, match="closures of 2 counters need k > 2"):
        ev.nearest_open(np.ones(3, dtype=bool), closed=1).figures(closure_index(ev, [("a", "b")]), 45)


def full(ev, plan, closures, threshold):
    masks = np.repeat(plan[None, :], len(closures), axis=0)
    for row, closed in enumerate(closures):
        masks[row, np.isin(ev.counter_ids, closed)] = False
    t = ev.times(masks)
    return ev.figures_from_times(t, threshold), ev.ward_losses(t, plan, threshold)


def assert_same(fast, reference):
    """Counts, shares and the percentile exactly; the mean up to the order of a float sum."""
    for col in ("beyond", "beyond_65_plus", "unreachable", "pct_within", "p95_minutes"):
        assert np.array_equal(fast[col].to_numpy(), reference[col].to_numpy()), col
    np.testing.assert_allclose(fast["mean_minutes"], reference["mean_minutes"], rtol=1e-12, atol=0)


# the percentile from the list of every point that can pass it, short lists, or both
@pytest.mark.parametrize("windows", [(), (0.0,), (0.01, 0.02, 0.04), (1.0,)])
@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), data=st.data())
def test_equals_full_recomputation(windows, seed, data):
    import planner.closures

    planner.closures.WINDOWS, saved = windows, planner.closures.WINDOWS
    try:
        check_against_full(seed, data)
    finally:
        planner.closures.WINDOWS = saved


def check_against_full(seed, data):
    rng = np.random.default_rng(seed)
    points, counters = data.draw(st.integers(1, 40)), data.draw(st.integers(1, 9))
    minutes = rng.choice([5.0, 10.0, 30.0, 45.0, 60.0], size=(points, counters))  # many ties
    minutes += rng.integers(0, 2, minutes.shape) * rng.uniform(0, 50, minutes.shape)
    minutes[rng.random(minutes.shape) < 0.15] = INF
    ev = Evaluator(
        minutes,
        rng.integers(0, 2000, points),
        rng.integers(0, 300, points),
        np.array([f"c{i}" for i in range(counters)], dtype=object),
        np.array([f"w{i % 4}" for i in range(points)], dtype=object),
    )
    plan = np.array(data.draw(st.lists(st.booleans(), min_size=counters, max_size=counters)))
    open_ids = list(ev.counter_ids[plan])
    if not open_ids:
        return
    closures = [c for size in (1, 2, 3) for c in itertools.combinations(open_ids, size)]
    threshold = data.draw(st.sampled_from([30.0, 45.0, 59.9]))
    fast, wards = ev.nearest_open(plan, closed=3).figures(closure_index(ev, closures), threshold)
    reference, ref_wards = full(ev, plan, closures, threshold)
    assert_same(fast, reference)
    pd.testing.assert_frame_equal(wards, ref_wards, check_dtype=False)


@pytest.mark.data
def test_baseline_triples_equal_full_recomputation(context):
    """A sample of the 64,897 single, double and triple closures of the 73-counter baseline."""
    from planner.scenario import load_scenario
    from tests.conftest import REPO

    ctx = context
    spec = load_scenario(REPO / "scenarios" / "baseline-2017.toml")
    resolved = ctx.resolve(spec)
    london = resolved.london
    ev = Evaluator.from_demand(ctx.matrix(resolved), london.study_demand.points)
    ids = resolved.counters["station_id"].tolist()
    plan = ev.mask(ids)
    closures = [c for size in (1, 2, 3) for c in itertools.combinations(ids, size)]
    assert len(closures) == 73 + 73 * 72 // 2 + 73 * 72 * 71 // 6
    model = ev.nearest_open(plan, closed=3)
    fast, _ = model.figures(closure_index(ev, closures), 45)
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(len(closures), size=400, replace=False))
    reference = pd.concat(
        [full(ev, plan, [closures[i] for i in part], 45)[0] for part in np.array_split(sample, 4)], ignore_index=True
    )
    assert_same(fast.iloc[sample].reset_index(drop=True), reference)
    # the worst triple, checked by its own full recomputation
    worst = int(fast["beyond"].idxmax())
    assert_same(fast.iloc[[worst]].reset_index(drop=True), full(ev, plan, [closures[worst]], 45)[0])
