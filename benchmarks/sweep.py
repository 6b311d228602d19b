"""Closure sweeps: scenarios per minute on Dask with 1 and 2 workers, against recomputing from scratch.

Run: python -m benchmarks.sweep [--rounds 3] [--chunk 16000] [--sample 2000]

Takes the 73 counters of the 2017 baseline and scores every single, double
and triple closure (64,897 scenarios, ``--rounds`` times over) from the cached
London LSOA x counter travel matrix, on a local Dask cluster with one and then
two workers, each scenario from each LSOA's nearest open counters
(:class:`planner.closures.NearestOpen`).  A sample is recomputed in full (the
minimum over every open counter of the matrix, for every point), and a few
from scratch (the public-transport engine and the full assessment), to check
that the figures are identical and to give the speed ratio.
"""

from __future__ import annotations

import argparse
import itertools
import resource
import tempfile
import time

import numpy as np
import pandas as pd

from benchmarks._common import data_dir, peak_memory_mb, quiet
from planner.assess import assess
from planner.context import RunContext
from planner.scenario import load_scenario
from planner.sweep import Evaluator, cached_matrix, close_client, closure_index, connect
from planner.sweep.chunks import eval_chunk

BASELINE = "scenarios/baseline-2017.toml"
TARGET_PER_MINUTE = 1_000_000
MEMORY_MB = 2048


def closures(ids: list[str]) -> list[tuple[str, ...]]:
    """Every single, double and triple closure."""
    return [c for size in (1, 2, 3) for c in itertools.combinations(ids, size)]


def _worker_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def on_dask(model, index: np.ndarray, labels: list[str], workers: int, chunk: int, rounds: int):
    """Seconds to score ``rounds`` passes over the closures, the figures of one pass, and the workers' peak MB."""
    client = connect(workers=workers)

    def submit(i: int, shared):
        part = slice(i, i + chunk)
        return client.submit(eval_chunk, shared, index[part], labels[part], 45.0, i // chunk, pure=False)

    try:
        shared = client.scatter(model, broadcast=True)
        client.submit(eval_chunk, shared, index[:10], labels[:10], 45.0, -1).result()  # warm the workers
        starts = range(0, len(index), chunk)
        start = time.perf_counter()
        futures = [submit(i, shared) for _ in range(rounds) for i in starts]
        parts = [f.result() for f in futures]
        seconds = time.perf_counter() - start
        peak = max(client.run(_worker_peak_mb).values())
    finally:
        close_client(client)
    one = sorted(parts[: len(starts)], key=lambda r: r[0])
    return seconds, pd.concat([p[1] for p in one], ignore_index=True), peak


def same_figures(fast: pd.DataFrame, full: pd.DataFrame) -> bool:
    """Counts and the percentile equal exactly; the mean to 1e-12 (a float sum taken in another order)."""
    exact = all(np.array_equal(fast[c].to_numpy(), full[c].to_numpy()) for c in ("beyond", "beyond_65_plus"))
    exact &= all(np.array_equal(fast[c].to_numpy(), full[c].to_numpy()) for c in ("unreachable", "p95_minutes"))
    exact &= np.array_equal(fast["pct_within"].to_numpy(), full["pct_within"].to_numpy())
    return bool(exact and np.allclose(fast["mean_minutes"], full["mean_minutes"], rtol=1e-12, atol=0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the 64,897 closures per timing")
    parser.add_argument("--chunk", type=int, default=16_000)
    parser.add_argument("--sample", type=int, default=2_000, help="scenarios recomputed in full from the matrix")
    parser.add_argument("--scratch", type=int, default=12, help="scenarios recomputed from scratch")
    args = parser.parse_args()
    quiet()
    ctx = RunContext(data_dir())
    spec = load_scenario(BASELINE)
    resolved = ctx.resolve(spec)
    london = resolved.london
    pts = london.study_demand.points
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        matrix = cached_matrix(ctx, resolved, cache_dir=cache)
        build = time.perf_counter() - start
    counters = resolved.counters
    ids = counters["station_id"].tolist()
    evaluator = Evaluator.from_demand(matrix, pts)
    plan = evaluator.mask(ids)
    work = closures(ids)
    index = closure_index(evaluator, work)
    labels = [";".join(c) for c in work]
    start = time.perf_counter()
    model = evaluator.nearest_open(plan, closed=3)
    prepare = time.perf_counter() - start
    print(
        f"London matrix: {matrix.minutes.shape[0]:,} LSOAs x {matrix.minutes.shape[1]} counters, built in "
        f"{build:.2f} s; {len(work):,} single, double and triple closures of the {len(ids)}-counter baseline, "
        f"{args.rounds} pass(es) per timing; nearest-open model in {prepare * 1000:.0f} ms"
    )
    rates = {}
    results = None
    worker_peak = 0.0
    for workers in (1, 2):
        seconds, frame, peak = on_dask(model, index, labels, workers, args.chunk, args.rounds)
        worker_peak = max(worker_peak, peak)
        rates[workers] = len(work) * args.rounds / seconds * 60
        print(f"  Dask, {workers} worker(s): {seconds:.2f} s, {rates[workers]:,.0f} scenarios per minute")
        if results is not None:
            pd.testing.assert_frame_equal(results, frame)
        results = frame
    assert results is not None
    print(
        f"  2 workers vs 1: {rates[2] / rates[1]:.2f}x; target >= {TARGET_PER_MINUTE:,} per minute on one worker: "
        f"{'met' if rates[1] >= TARGET_PER_MINUTE else 'NOT met'} ({rates[1]:,.0f})"
    )

    rng = np.random.default_rng(1)
    sample = np.sort(rng.choice(len(work), size=min(args.sample, len(work)), replace=False))
    masks = np.repeat(plan[None, :], len(sample), axis=0)
    for row, i in enumerate(sample):
        masks[row, np.isin(evaluator.counter_ids, work[i])] = False
    start = time.perf_counter()
    full = pd.concat(
        [evaluator.figures(masks[i : i + 100], 45.0) for i in range(0, len(masks), 100)], ignore_index=True
    )
    per_full = (time.perf_counter() - start) / len(sample)
    fast = results.iloc[sample].drop(columns=["closed", "n_closed"]).reset_index(drop=True)
    identical = same_figures(fast, full)
    print(
        f"  full recomputation from the matrix (every point, every open counter): {per_full * 1e6:.0f} us per "
        f"scenario; identical figures on {len(sample):,} sampled scenarios: {identical}"
    )

    engine = resolved.engine
    scratch = sample[: args.scratch]
    start = time.perf_counter()
    rows = []
    for i in scratch:
        kept = counters.loc[~counters["station_id"].isin(work[i])]
        rows.append(assess(london.study_demand, kept, engine, threshold=45).london.iloc[0])
    per_scratch = (time.perf_counter() - start) / len(scratch)
    scratch_frame = pd.DataFrame(rows)[list(full.columns)].reset_index(drop=True)
    fast_scratch = results.iloc[scratch].reset_index(drop=True)
    from_scratch = bool(
        (scratch_frame["beyond"].to_numpy() == fast_scratch["beyond"].to_numpy()).all()
        and np.allclose(scratch_frame["mean_minutes"], fast_scratch["mean_minutes"], rtol=1e-12, atol=0)
        and np.allclose(scratch_frame["p95_minutes"], fast_scratch["p95_minutes"], rtol=1e-12, atol=0)
    )
    print(
        f"  from scratch (transit engine + full assessment): {per_scratch * 1000:.0f} ms per scenario; the sweep "
        f"on 1 worker is {per_scratch * rates[1] / 60:,.0f}x faster; same figures on {len(scratch)}: {from_scratch}"
    )
    if not (identical and from_scratch):
        raise SystemExit("figures differ")

    peak = max(peak_memory_mb(), worker_peak)
    print(
        f"peak memory: {peak_memory_mb():,.0f} MB (this process), {worker_peak:,.0f} MB (largest worker); "
        f"target <= 2 GB: {'met' if peak <= MEMORY_MB else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
