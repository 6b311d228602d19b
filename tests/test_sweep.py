import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.assess import assess
from planner.errors import SchedulerError
from planner.scenario import load_scenario, resolve_counters
from planner.sweep import Evaluator, cached_matrix, closure_index, connect, run_sweep
from tests.conftest import REPO

FINAL = REPO / "scenarios" / "mopac-final-2017.toml"


def small_evaluator(seed=0, points=30, counters=8):
    rng = np.random.default_rng(seed)
    minutes = rng.uniform(1, 90, size=(points, counters))
    minutes[rng.random(minutes.shape) < 0.1] = np.inf
    return Evaluator(
        minutes,
        rng.integers(0, 500, points),
        rng.integers(0, 50, points),
        np.array([f"c{i}" for i in range(counters)], dtype=object),
        np.array([f"w{i % 5}" for i in range(points)], dtype=object),
    )


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 1000), data=st.data())
def test_fast_closures_equal_the_general_minimum(seed, data):
    ev = small_evaluator(seed)
    plan = np.array(data.draw(st.lists(st.booleans(), min_size=8, max_size=8)))
    open_ids = list(ev.counter_ids[plan])
    closures = (
        data.draw(
            st.lists(
                st.lists(st.sampled_from(open_ids), min_size=1, max_size=3, unique=True).map(tuple),
                min_size=1,
                max_size=10,
            )
        )
        if open_ids
        else [()]
    )
    if not open_ids:
        return
    fast = ev.closure_times(plan, closure_index(ev, closures))
    masks = np.repeat(plan[None, :], len(closures), axis=0)
    for row, closed in enumerate(closures):
        masks[row, np.isin(ev.counter_ids, closed)] = False
    assert np.array_equal(fast, ev.times(masks))


def test_evaluator_by_hand():
    minutes = np.array([[10.0, 50.0], [60.0, 20.0], [np.inf, 40.0]])
    ev = Evaluator(
        minutes,
        np.array([100, 10, 1]),
        np.array([5, 1, 0]),
        np.array(["a", "b"], dtype=object),
        np.array(["w", "w", "v"], dtype=object),
    )
    f = ev.figures(np.array([[True, True], [True, False]]), 45)
    assert f["beyond"].tolist() == [0, 11]  # closing b leaves the 10 and the unreachable 1 beyond
    assert f["unreachable"].tolist() == [0, 1]
    assert f["beyond_65_plus"].tolist() == [0, 1]
    assert f.loc[0, "mean_minutes"] == pytest.approx((100 * 10 + 10 * 20 + 40) / 111)


@pytest.mark.data
def test_cached_matrix_equals_full_assessment(context, tmp_path):
    ctx = context
    for name in ("baseline-2017", "mopac-draft-2017", "mopac-final-2017"):
        spec = load_scenario(REPO / "scenarios" / f"{name}.toml")
        resolved = ctx.resolve(spec)
        matrix = cached_matrix(ctx, resolved, cache_dir=tmp_path)
        again = cached_matrix(ctx, resolved, cache_dir=tmp_path)  # from disk
        assert np.array_equal(matrix.minutes, again.minutes)
        london = resolved.london
        pts = london.study_demand.points
        ev = Evaluator.from_demand(again, pts)
        counters, _ = resolve_counters(spec, london.stations)
        fast = ev.figures(ev.mask(counters["station_id"])[None, :], 45).iloc[0]
        full = assess(london.study_demand, counters, resolved.engine, threshold=45).london.iloc[0]
        for col in ("beyond", "beyond_65_plus", "unreachable"):
            assert fast[col] == full[col], (name, col)
        for col in ("pct_within", "mean_minutes", "p95_minutes"):
            assert fast[col] == pytest.approx(full[col], rel=1e-12), (name, col)
    assert len(list(tmp_path.glob("matrix-*.npz"))) == 1  # one engine setting, one cached matrix


@pytest.mark.data
def test_local_cluster_equals_serial(data_dir, context, tmp_path):
    serial = run_sweep(FINAL, kind="pairs", out=tmp_path / "serial", context=context, serial=True, chunk_size=100)
    client = connect(workers=2)
    try:
        parallel = run_sweep(FINAL, kind="pairs", out=tmp_path / "dask", context=context, client=client, chunk_size=100)
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    assert len(serial.results) == 34 + 34 * 33 // 2
    pd.testing.assert_frame_equal(serial.results, parallel.results)
    pd.testing.assert_frame_equal(serial.critical, parallel.critical)
    pd.testing.assert_frame_equal(serial.fragile, parallel.fragile)
    top = serial.critical.iloc[0]
    assert top["station_id"] == "bromley" and top["residents_losing_access"] > 100_000


class Interrupted(Exception):
    pass


@pytest.mark.data
def test_resume_after_interruption(data_dir, context, tmp_path):
    def stop_after_two(done, total):
        if done == 2:
            raise Interrupted

    with pytest.raises(Interrupted):
        run_sweep(
            FINAL, kind="marginal", out=tmp_path, context=context, serial=True, chunk_size=5, progress=stop_after_two
        )
    resumed = run_sweep(FINAL, kind="marginal", out=tmp_path, context=context, serial=True, chunk_size=5)
    assert (resumed.reused, resumed.computed) == (2, 5)  # 34 counters in chunks of 5: 7 chunks
    fresh = run_sweep(FINAL, kind="marginal", out=tmp_path / "fresh", context=context, serial=True, chunk_size=5)
    pd.testing.assert_frame_equal(resumed.results, fresh.results)


def test_bad_scheduler_address():
    with pytest.raises(SchedulerError, match=r"could not reach a Dask scheduler at 'tcp://127\.0\.0\.1:9'"):
        connect("tcp://127.0.0.1:9", timeout=2)


@pytest.mark.data
def test_grid_sweep_bus_speed(data_dir, context, tmp_path):
    result = run_sweep(
        FINAL, kind="grid", out=tmp_path, context=context, grid={"bus_speed_kmh": [24.0, 30.0, 36.0]}, serial=True
    )
    beyond = result.results.set_index("param_bus_speed_kmh")["beyond"]
    assert beyond[24.0] > beyond[30.0] > beyond[36.0]
    assert beyond[30.0] == 126_920  # the default bus speed: the same figure as `planner access`
    assert beyond[24.0] == 214_835  # README; recomputed in numpy in test_figures.py
    assert result.results.set_index("param_bus_speed_kmh")["optimum_changes"][30.0] == 0
    assert list(itertools.chain(result.results["plan"].unique())) == ["mopac-final-2017"]


@pytest.mark.data
def test_triples_with_top_and_the_plans_figures(data_dir, context, tmp_path):
    result = run_sweep(FINAL, kind="triples", out=tmp_path, context=context, serial=True, top=3)
    assert result.scenarios == 34 + 34 * 33 // 2 + 34 * 33 * 32 // 6
    assert result.results.groupby("n_closed").size().tolist() == [3, 3, 3]
    # the three counters whose closure loses most residents (README), from the singles
    top = result.critical.head(3)
    assert top["station_id"].tolist() == ["bromley", "kentish-town", "hayes"]
    assert top["residents_losing_access"].tolist() == [169_681, 109_475, 103_511]
    # the worst triple, recomputed in full: the general minimum over the open counters
    ctx = context
    spec = load_scenario(FINAL)
    resolved = ctx.resolve(spec)
    london = resolved.london
    ev = Evaluator.from_demand(ctx.matrix(resolved), london.study_demand.points)
    open_ids = resolved.counters["station_id"].tolist()
    worst = result.results.loc[result.results["n_closed"] == 3].iloc[0]
    kept = ev.mask(sorted(set(open_ids) - set(worst["closed"].split(";"))))
    full = ev.figures(kept[None, :], 45).iloc[0]
    assert int(full["beyond"]) == worst["beyond"] and full["p95_minutes"] == worst["p95_minutes"]
    base = int(ev.figures(ev.mask(open_ids)[None, :], 45)["beyond"].iloc[0])
    assert base == 126_920 and (result.critical["beyond"] - base).equals(result.critical["residents_losing_access"])


def _data_copy(data_dir, target, extra=None):
    """The data directory as symlinks, with ``extra`` ({relative path: text}) files added."""
    target.mkdir()
    for entry in data_dir.iterdir():
        if entry.name == "transit":
            (target / "transit").mkdir()
            for f in entry.iterdir():
                (target / "transit" / f.name).symlink_to(f)
        else:
            (target / entry.name).symlink_to(entry)
    for rel, text in (extra or {}).items():
        (target / rel).unlink(missing_ok=True)  # a link to the mirror: replace it, never write through it
        (target / rel).write_text(text)
    return target


@pytest.mark.data
def test_sweep_chunks_and_matrix_cache_are_keyed_by_every_input(data_dir, tmp_path):
    """Issue 11.3: a rerun with other data into the same --out must not reuse the first run's chunks.

    The other data: the bus sequences without their last route-stop (a file the engine declares it reads)."""
    plain = _data_copy(data_dir, tmp_path / "plain")
    sequences = (Path(data_dir) / "transit" / "bus_sequences_2016.csv").read_text(encoding="utf-8-sig")
    shorter = "".join(sequences.splitlines(keepends=True)[:-2])
    other = _data_copy(data_dir, tmp_path / "other", {"transit/bus_sequences_2016.csv": shorter})
    out = tmp_path / "out"
    first = run_sweep(FINAL, kind="marginal", out=out, data=plain, serial=True, chunk_size=100)
    second = run_sweep(FINAL, kind="marginal", out=out, data=other, serial=True, chunk_size=100)
    assert first.folder != second.folder
    assert (second.computed, second.reused) == (1, 0)
    assert len(list((out / "cache").glob("matrix-*.npz"))) == 2
    again = run_sweep(FINAL, kind="marginal", out=out, data=plain, serial=True, chunk_size=100)
    assert again.folder == first.folder and (again.computed, again.reused) == (0, 1)
    # every transit file the engine reads, the engine's parameters and the package version are in the key
    from planner.context import RunContext

    ctx = RunContext(other)
    spec = load_scenario(FINAL)
    key = ctx.resolve(spec).input_key()
    assert {"transit/bus_sequences_2016.csv", "transit/tube_connections.csv"} <= set(key["files"])
    assert key["engine"]["bus_speed_kmh"] == 30.0 and key["planner_version"]
    assert ctx.resolve(spec).input_digest() != ctx.resolve(spec, params={"bus_speed_kmh": 12.0}).input_digest()


@pytest.mark.data
def test_sweep_cli_shows_only_the_dashboard_progress_and_results(data_dir, tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    args = ["sweep", str(FINAL), "--data", str(data_dir), "--workers", "1", "--out", str(tmp_path)]
    run = subprocess.run(
        [sys.executable, "-m", "planner", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert "Dask dashboard:" in run.stdout + run.stderr
    assert "Most critical counters" in run.stdout and "Croydon" in run.stdout
    for noise in ("INFO", "Traceback", "CommClosedError"):
        assert noise not in run.stderr, run.stderr
