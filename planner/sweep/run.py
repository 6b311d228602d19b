"""Sensitivity and closure sweeps on Dask.

The origin × counter travel matrix is computed once per engine setting and
cached on disk (``.npz``, keyed by a hash of every input it depends on).  A
closure plan is then scored from each point's nearest open counters
(:class:`planner.closures.NearestOpen`), which gives the same figures as
:func:`planner.assess.assess`.

A sweep is planned (its scenarios, split into chunks, and the folder named by
a hash of its definition and inputs), executed (chunks on Dask: a local
cluster on this machine's cores by default, or an existing cluster with
``scheduler=``; each finished chunk is written to Parquet at once, so an
interrupted sweep resumes without recomputing finished chunks), and collected
into tables.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from planner.context import RunContext
from planner.errors import ScenarioError
from planner.scenario import Scenario, load_scenario
from planner.stats import check_threshold
from planner.sweep.cache import cached_matrix
from planner.sweep.chunks import ACTIVE, _chunks, _closures, _grid_chunk, eval_chunk
from planner.sweep.cluster import _execute, _Plan, close_client, connect
from planner.sweep.evaluator import Evaluator, closure_index
from planner.sweep.options import _CLOSED, GRID_PARAMS, KINDS, Kind, _choice_changes, _param_cols
from planner.travel import check_engine_params

__all__ = ["SweepResult", "run_sweep"]

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- evaluation


# --------------------------------------------------------------------------- cached matrices


# --------------------------------------------------------------------------- dask


@dataclass
class SweepResult:
    """A finished sweep.

    Attributes
    ----------
    results
        One row per scenario (closure set, or grid point × plan); with ``top``, the worst ``top``
        closures of each size.
    critical
        Counters ranked by residents who lose access when they alone close
        (closure sweeps).
    fragile
        Wards ranked by how many closure scenarios leave residents beyond the threshold.
    folder
        Where the chunks and tables are.
    computed, reused
        Chunks computed in this call, and reused from an earlier interrupted call.
    scenarios
        How many scenarios the sweep scored.
    """

    results: pd.DataFrame
    critical: pd.DataFrame
    fragile: pd.DataFrame
    folder: Path
    computed: int
    reused: int
    seconds: float
    scenarios: int = 0


def _plan_sweep(
    scenario: str | os.PathLike[str],
    *,
    kind: str,
    out: Path,
    ctx: RunContext,
    grid: dict[str, list[float]] | None,
    plans: list[str | os.PathLike[str]] | None,
    threshold: float | None,
    chunk_size: int,
    cache: Path,
) -> _Plan:
    """Load the plan, list its scenarios in chunks and find which chunks are already done."""
    if kind not in KINDS:
        raise ScenarioError(f"unknown sweep kind {kind!r}; choose {', '.join(KINDS)}")
    spec = load_scenario(scenario)
    t = check_threshold(threshold if threshold is not None else spec.threshold)
    resolved = ctx.resolve(spec, source=str(scenario))
    open_ids = resolved.counters["station_id"].tolist()
    definition: dict[str, Any] = {"kind": kind, "scenario": spec.model_dump(mode="json")}
    if kind == "grid":
        grid = grid or {}
        unknown = sorted(set(grid) - set(GRID_PARAMS))
        if unknown or not grid:
            raise ScenarioError(f"grid parameters {unknown or '(none)'}: choose from {', '.join(GRID_PARAMS)}")
        plan_ids = {}
        plan_inputs = {}
        for p in [Path(x) for x in (plans or [scenario])]:
            s = load_scenario(p)
            other = ctx.resolve(s, source=str(p))
            plan_ids[s.name] = other.counters["station_id"].tolist()
            plan_inputs[s.name] = other.input_key()
        names = sorted(grid)
        points = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(grid[n] for n in names))]
        definition |= {"plans": plan_ids, "grid": grid, "inputs": resolved.input_key(), "plan_inputs": plan_inputs}
        tasks: list[tuple[int, Any]] = list(enumerate(points))
        scenarios = len(points) * len(plan_ids)
    else:
        closures = _closures(kind, open_ids)
        definition |= {"threshold": t, "chunk": chunk_size, "inputs": resolved.input_key()}
        tasks = list(_chunks(closures, chunk_size))
        scenarios = len(closures)
    digest = hashlib.sha256(json.dumps(definition, sort_keys=True, default=str).encode()).hexdigest()[:12]
    folder = out / f"sweep-{kind}-{digest}"
    chunks_dir = folder / "chunks"
    chunks_dir.mkdir(parents=True, exist_ok=True)
    (folder / "definition.json").write_text(json.dumps(definition, indent=2, sort_keys=True, default=str) + "\n")
    done = {int(p.stem.split("-")[1]) for p in chunks_dir.glob("results-*.parquet")}
    todo = [(i, item) for i, item in tasks if i not in done]
    if len(todo) < len(tasks):
        logger.info("resuming: %d of %d chunks already finished", len(tasks) - len(todo), len(tasks))
    if kind == "grid":
        jobs = [(str(ctx.data), spec.model_dump_json(), json.dumps(plan_ids), dict(p), str(cache), i) for i, p in todo]
        return _Plan(kind, resolved, folder, len(tasks), scenarios, _grid_chunk, None, jobs)
    evaluator = Evaluator.from_demand(cached_matrix(ctx, resolved, cache_dir=cache), resolved.points)
    plan = evaluator.mask(open_ids)
    nearest = evaluator.nearest_open(plan, closed=_CLOSED[kind])
    jobs = [(closure_index(evaluator, item), [";".join(c) for c in item], t, i) for i, item in todo]
    base_beyond = int(evaluator.figures(plan[None, :], t)["beyond"].iloc[0])
    return _Plan(kind, resolved, folder, len(tasks), scenarios, eval_chunk, nearest, jobs, base_beyond)


def _top(results: pd.DataFrame, top: int | None) -> pd.DataFrame:
    if top is None:
        return results
    ranked = results.sort_values(["n_closed", "beyond", "closed"], ascending=[True, False, True])
    return ranked.groupby("n_closed", sort=True).head(top).reset_index(drop=True)


def _collect(plan: _Plan, *, top: int | None, seconds: float) -> SweepResult:
    """Read the chunks back into the results, critical-counter and fragile-ward tables."""
    folder, resolved = plan.folder, plan.resolved
    spec = resolved.scenario
    chunks = sorted((folder / "chunks").glob("results-*.parquet"))
    results = pd.concat([pd.read_parquet(p) for p in chunks], ignore_index=True)
    critical = fragile = pd.DataFrame()
    if plan.kind == "grid":
        results = _choice_changes(results, spec).sort_values(["plan", *_param_cols(results)]).reset_index(drop=True)
    else:
        assert plan.base_beyond is not None
        results = results.sort_values(["n_closed", "closed"]).reset_index(drop=True)
        stations = resolved.stations.set_index("station_id")
        london = resolved.london
        single = results.loc[results["n_closed"] == 1].copy()
        single["station_id"] = single["closed"]
        single["residents_losing_access"] = single["beyond"] - plan.base_beyond
        single["name"] = single["station_id"].map(stations["name"])
        critical = single.sort_values(["residents_losing_access", "station_id"], ascending=[False, True])[
            ["station_id", "name", "residents_losing_access", "beyond", "mean_minutes", "p95_minutes"]
        ].reset_index(drop=True)
        wards = pd.concat([pd.read_parquet(p) for p in sorted((folder / "chunks").glob("wards-*.parquet"))])
        wards = wards.groupby("ward_code").agg(
            scenarios_losing=("scenarios_losing", "sum"), max_residents_lost=("max_residents_lost", "max")
        )
        names = london.study_wards.set_index("ward_code")[["ward_name", "borough_name"]]
        fragile = names.join(wards, how="inner").query("scenarios_losing > 0")
        fragile = fragile.sort_values(["scenarios_losing", "max_residents_lost"], ascending=False).reset_index()
        critical.to_csv(folder / "critical_counters.csv", index=False)
        fragile.to_csv(folder / "fragile_wards.csv", index=False)
        results = _top(results, top)
    results.to_parquet(folder / "results.parquet", index=False)
    return SweepResult(results, critical, fragile, folder, len(plan.jobs), plan.reused, seconds, plan.scenarios)


def _check_arguments(
    scenario: str | os.PathLike[str] | Scenario,
    *,
    kind: str,
    grid: dict[str, list[float]] | None,
    top: int | None,
    chunk_size: int,
) -> None:
    """Refuse a bad ``top``, or a grid parameter the scenario's engine lacks, before data and workers start."""
    if top is not None and top < 1:
        raise ScenarioError(f"`top` must be at least 1 (got {top})")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ScenarioError(f"`chunk_size` must be a whole number of scenarios, at least 1 (got {chunk_size!r})")
    if kind == "grid" and grid:
        engine = load_scenario(scenario).engine.name if not isinstance(scenario, Scenario) else scenario.engine.name
        check_engine_params(engine, {k: v[0] for k, v in grid.items() if k != "threshold" and v})


def run_sweep(
    scenario: str | os.PathLike[str],
    *,
    kind: Kind,
    out: str | os.PathLike[str],
    data: str | os.PathLike[str] | None = None,
    context: RunContext | None = None,
    grid: dict[str, list[float]] | None = None,
    plans: list[str | os.PathLike[str]] | None = None,
    threshold: float | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    client: Any | None = None,
    serial: bool = False,
    chunk_size: int = 4000,
    cache_dir: str | os.PathLike[str] | None = None,
    top: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    on_cluster: Callable[[Any], None] | None = None,
) -> SweepResult:
    """Run a sweep and write it under ``out/sweep-<kind>-<hash>/``.

    Parameters
    ----------
    scenario
        The plan (its open counters, engine and demand).
    kind
        ``"marginal"``: each open counter closed alone; ``"pairs"``: every
        single and double closure; ``"triples"``: every single, double and
        triple closure; ``"grid"``: the parameter grid applied to ``plans``
        (default: the scenario), reporting coverage and the optimiser's
        choice for the same number of counters.
    out
        Parent folder of the sweep folder.
    data
        Data directory, when no ``context`` is given.
    context
        Shared caches (data, engines, matrices) of the invocation; chunks run in this process use them.
    grid
        For ``"grid"``: values per parameter, from :data:`GRID_PARAMS`.
    plans
        For ``"grid"``: scenario files whose open counters to evaluate.
    threshold
        Minutes (default: the scenario's first threshold).
    scheduler
        ``tcp://HOST:PORT`` of an existing Dask scheduler.
    workers
        Local cluster size (default: this machine's cores).
    client
        An existing ``dask.distributed.Client`` to use.
    serial
        Run the chunks in this process, without Dask.
    chunk_size
        Scenarios per chunk (grid: one grid point per chunk).
    cache_dir
        Travel-matrix cache (default ``out/cache``).
    top
        Closure sweeps: keep only the ``top`` closures of each size that leave the most residents
        beyond the threshold in ``results`` (the critical counters and fragile wards use all of them).
    progress
        Called as ``progress(done_chunks, total_chunks)``.
    on_cluster
        Called with the Dask client once it is connected (e.g. to show its dashboard address).

    Returns
    -------
    SweepResult
        The tables and where they were written.
    """
    start = time.perf_counter()
    _check_arguments(scenario, kind=kind, grid=grid, top=top, chunk_size=chunk_size)
    own = client is None
    if scheduler and client is None and not serial:
        client = connect(scheduler)  # fail fast on a bad address, before any work
    ctx = context or RunContext(Path(data) if data else None)
    cache = Path(cache_dir) if cache_dir else Path(out) / "cache"
    try:
        plan = _plan_sweep(
            scenario,
            kind=kind,
            out=Path(out),
            ctx=ctx,
            grid=grid,
            plans=plans,
            threshold=threshold,
            chunk_size=chunk_size,
            cache=cache,
        )
    except BaseException:
        if own and client is not None:
            close_client(client)
        raise
    ACTIVE[str(ctx.data)] = ctx
    try:
        _execute(plan, client=client, own=own, workers=workers, serial=serial, progress=progress, on_cluster=on_cluster)
    finally:
        ACTIVE.pop(str(ctx.data), None)
    return _collect(plan, top=top, seconds=time.perf_counter() - start)
