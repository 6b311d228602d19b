"""Closure sweeps: scenarios per second on Dask with 1 and 2 workers, against recomputing from scratch.

Run: python -m benchmarks.sweep [--scenarios 120000]

Takes the 73 counters of the 2017 baseline and evaluates closure scenarios
(all singles, pairs and triples, then random sets of four) from the cached
London LSOA x counter travel matrix, on a local Dask cluster with one and then
two workers.  A sample is recomputed from scratch (the public-transport engine
and the full assessment) to give the speed ratio and to check that the figures
are identical.
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time

import numpy as np
import pandas as pd

from benchmarks._common import data_dir, peak_memory_mb, quiet
from planner.assess import assess
from planner.run import RunContext
from planner.scenario import load_scenario, resolve_counters
from planner.sweep import Evaluator, _eval_chunk, cached_matrix, connect

BASELINE = "scenarios/baseline-2017.toml"


def closures(ids: list[str], n: int, seed: int = 0) -> list[tuple[str, ...]]:
    out = [(c,) for c in ids] + list(itertools.combinations(ids, 2)) + list(itertools.combinations(ids, 3))
    rng = np.random.default_rng(seed)
    while len(out) < n:
        out.append(tuple(sorted(rng.choice(ids, size=4, replace=False).tolist())))
    return out[:n]


def on_dask(evaluator: Evaluator, plan: np.ndarray, work: list, workers: int, chunk: int) -> tuple[float, pd.DataFrame]:
    client = connect(workers=workers)
    try:
        shared = client.scatter(evaluator, broadcast=True)
        client.submit(_eval_chunk, shared, plan, work[:10], 45.0, -1).result()  # warm the workers
        start = time.perf_counter()
        futures = [
            client.submit(_eval_chunk, shared, plan, work[i : i + chunk], 45.0, i // chunk, pure=False)
            for i in range(0, len(work), chunk)
        ]
        parts = sorted((f.result() for f in futures), key=lambda r: r[0])
        seconds = time.perf_counter() - start
    finally:
        cluster = client.cluster
        client.close()
        cluster.close()
    return seconds, pd.concat([p[1] for p in parts], ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--scenarios", type=int, default=120_000)
    parser.add_argument("--chunk", type=int, default=2_000)
    parser.add_argument("--sample", type=int, default=12, help="scenarios recomputed from scratch")
    args = parser.parse_args()
    quiet()
    ctx = RunContext(data_dir())
    spec = load_scenario(BASELINE)
    london = ctx.london(spec)
    pts = london.study_demand.points
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        matrix = cached_matrix(ctx, spec, cache_dir=cache)
        build = time.perf_counter() - start
    counters, _ = resolve_counters(spec, london.stations)
    ids = counters["station_id"].tolist()
    evaluator = Evaluator.from_demand(matrix, pts)
    plan = evaluator.mask(ids)
    work = closures(ids, args.scenarios)
    print(
        f"London matrix: {matrix.minutes.shape[0]:,} LSOAs x {matrix.minutes.shape[1]} counters, "
        f"built in {build:.2f} s; {len(work):,} closure scenarios of the {len(ids)}-counter baseline"
    )
    rates = {}
    results = None
    for workers in (1, 2):
        seconds, frame = on_dask(evaluator, plan, work, workers, args.chunk)
        rates[workers] = len(work) / seconds
        print(
            f"  Dask, {workers} worker(s): {seconds:.2f} s, {rates[workers]:,.0f} scenarios/s "
            f"({rates[workers] * 60:,.0f} per minute)"
        )
        if results is not None:
            pd.testing.assert_frame_equal(results, frame)
        results = frame
    print(
        f"  2 workers vs 1: {rates[2] / rates[1]:.2f}x; target >= 100,000 per minute: "
        f"{'met' if rates[2] * 60 >= 100_000 else 'NOT met'}"
    )

    engine = ctx.engine(spec)
    rng = np.random.default_rng(1)
    sample = rng.choice(len(work), size=args.sample, replace=False)
    start = time.perf_counter()
    identical = True
    for i in sample:
        kept = counters.loc[~counters["station_id"].isin(work[i])]
        full = assess(london.study_demand, kept, engine, threshold=45).london.iloc[0]
        fast = results.iloc[i]
        identical &= int(full["beyond"]) == int(fast["beyond"]) and np.isclose(
            full["mean_minutes"], fast["mean_minutes"], rtol=1e-12
        )
        identical &= np.isclose(full["p95_minutes"], fast["p95_minutes"], rtol=1e-12)
    scratch = (time.perf_counter() - start) / len(sample)
    print(
        f"  from scratch (transit engine + full assessment): {scratch * 1000:.0f} ms per scenario; "
        f"cached sweep on 2 workers is {scratch * rates[2]:,.0f}x faster"
    )
    print(f"  identical figures on {len(sample)} sampled scenarios: {bool(identical)}")
    if not identical:
        raise SystemExit("figures differ")

    print(f"peak memory of this process: {peak_memory_mb():,.0f} MB")


if __name__ == "__main__":
    main()
