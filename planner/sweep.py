"""Sensitivity and closure sweeps on Dask.

The origin × counter travel matrix is computed once per engine setting and
cached on disk (``.npz``, keyed by a hash of its inputs).  A closure plan is
then evaluated as a vectorised minimum over its open counters, which gives
the same figures as :func:`planner.assess.assess`.

Sweeps are split into chunks that run on Dask (a local cluster on this
machine's cores by default, or an existing cluster with ``scheduler=``).
Each finished chunk is written to Parquet at once, so an interrupted sweep
resumes without recomputing finished chunks.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from planner.errors import OptionError, ScenarioError, SchedulerError
from planner.io import sha256_file
from planner.stats import access_figures, check_threshold
from planner.travel.base import TravelMatrix

__all__ = [
    "Evaluator",
    "SweepResult",
    "cached_matrix",
    "connect",
    "run_sweep",
]

logger = logging.getLogger(__name__)

Kind = Literal["marginal", "pairs", "grid"]


# --------------------------------------------------------------------------- evaluation
@dataclass
class Evaluator:
    """Evaluates closure plans against one travel matrix, vectorised.

    Parameters
    ----------
    minutes
        ``(points, counters)`` minutes, ``inf`` where unreachable.
    population, pop_65_plus
        Residents per point.
    counter_ids
        Column labels.
    ward_codes
        Ward of each point (for fragile-ward counts).
    """

    minutes: np.ndarray
    population: np.ndarray
    pop_65_plus: np.ndarray
    counter_ids: np.ndarray
    ward_codes: np.ndarray
    _order: np.ndarray = field(init=False, repr=False)
    _sorted: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._order = np.argsort(self.minutes, axis=1, kind="stable")
        self._sorted = np.take_along_axis(self.minutes, self._order, axis=1)
        self._pop = self.population.astype(float)
        self._total = float(self._pop.sum())

    @classmethod
    def from_demand(cls, matrix: TravelMatrix, points: pd.DataFrame) -> Evaluator:
        """An evaluator for a travel matrix whose rows are these demand points."""
        if not np.array_equal(matrix.origin_ids, points["point_id"].to_numpy()):
            raise ScenarioError("the travel matrix rows are not these demand points")
        return cls(
            matrix.minutes,
            points["population"].to_numpy(),
            points["pop_65_plus"].to_numpy(),
            matrix.destination_ids,
            points["ward_code"].to_numpy(),
        )

    def mask(self, open_ids: list[str] | set[str]) -> np.ndarray:
        """Boolean column mask of a set of open counters."""
        unknown = set(open_ids) - set(self.counter_ids)
        if unknown:
            raise ScenarioError(f"counters {sorted(unknown)} are not in the travel matrix")
        return np.isin(self.counter_ids, list(open_ids))

    def times(self, masks: np.ndarray) -> np.ndarray:
        """Minutes to the nearest open counter for each plan (rows of ``masks``) and point."""
        masks = np.atleast_2d(masks)
        open_sorted = masks[:, self._order]  # (plans, points, counters) in each point's order
        first = open_sorted.argmax(axis=2)
        any_open = open_sorted.any(axis=2)
        rows = np.arange(self.minutes.shape[0])
        t = self._sorted[rows[None, :], first]
        return np.where(any_open, t, np.inf)

    def figures(self, masks: np.ndarray, threshold: float) -> pd.DataFrame:
        """London-wide figures per plan (rows of ``masks``): the same as :func:`planner.assess.assess` gives."""
        return self.figures_from_times(self.times(masks), threshold)

    def closure_times(self, plan: np.ndarray, closed: np.ndarray) -> np.ndarray:
        """Minutes per point when the counters ``closed`` (rows of column indices, -1 = none) close in ``plan``.

        Exact and fast: only each point's ``k + 1`` nearest open counters of the plan can matter when at
        most ``k`` close.
        """
        closed = np.atleast_2d(closed)
        k = closed.shape[1] + 1
        open_in_order = plan[self._order]  # points x counters
        first = np.argsort(~open_in_order, axis=1, kind="stable")[:, :k]  # positions of the first k open
        top_ids = np.take_along_axis(self._order, first, axis=1)
        top_t = np.take_along_axis(self._sorted, first, axis=1)
        top_t = np.where(np.take_along_axis(open_in_order, first, axis=1), top_t, np.inf)
        t = np.full((closed.shape[0], top_ids.shape[0]), np.inf)
        for j in reversed(range(k)):  # the nearest candidate that stays open wins
            shut = np.zeros(t.shape, dtype=bool)
            for c in range(closed.shape[1]):
                shut |= top_ids[None, :, j] == closed[:, c : c + 1]
            t = np.where(shut, t, top_t[None, :, j])
        return t

    def figures_from_times(self, t: np.ndarray, threshold: float) -> pd.DataFrame:
        """London-wide figures from per-plan, per-point minutes (:func:`planner.stats.access_figures`)."""
        fig = access_figures(
            np.atleast_2d(t), self._pop, threshold=threshold, pop_65_plus=self.pop_65_plus, median=False
        )
        names = ("beyond", "pct_within", "mean_minutes", "p95_minutes", "beyond_65_plus", "unreachable")
        return pd.DataFrame({k: fig[k] for k in names})

    def ward_losses(self, t: np.ndarray, plan: np.ndarray, threshold: float) -> pd.DataFrame:
        """Per ward: in how many plans (rows of ``t``) residents lose access against ``plan``, and the most lost."""
        base = self.times(plan[None, :])[0] > threshold
        lost = ((t > threshold) & ~base[None, :]) * self._pop
        frame = pd.DataFrame(lost.T)
        frame["ward_code"] = self.ward_codes
        per_ward = frame.groupby("ward_code").sum()
        return pd.DataFrame(
            {"scenarios_losing": (per_ward > 0).sum(axis=1), "max_residents_lost": per_ward.max(axis=1)}
        ).reset_index()


# --------------------------------------------------------------------------- cached matrices
def _matrix_key(ctx: object, scenario: object, stations: object, params: dict | None) -> str:
    from planner.run import RunContext
    from planner.scenario import Scenario

    assert isinstance(ctx, RunContext) and isinstance(scenario, Scenario)
    paths = ctx.paths
    inputs = [paths.wards(scenario.ward_year), paths.centroids, paths.population(scenario.demand_year)]
    if scenario.engine.name == "transit":
        inputs += [paths.bus_stops, paths.rail_graph]
        inputs += [p for p in (paths.root / "transit" / "tube_connections.csv",) if p.is_file()]
    spec = scenario.engine.model_dump(mode="json")
    if params:
        spec["params"] = {**spec["params"], **params}
    xy = np.column_stack([stations.geometry.x, stations.geometry.y]).round(2).tolist()  # type: ignore[attr-defined]
    key = {
        "engine": spec,
        "inputs": [sha256_file(p) for p in inputs],
        "include_city": scenario.include_city,
        "stations": list(stations["station_id"]),
        "xy": xy,
        "format": 1,
    }  # type: ignore[index]
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]


def cached_matrix(
    ctx: object, scenario: object, *, cache_dir: str | os.PathLike[str], params: dict | None = None
) -> TravelMatrix:
    """The scenario's points × stations matrix, from ``cache_dir`` or computed and stored there.

    Parameters
    ----------
    ctx
        A :class:`planner.run.RunContext`.
    scenario
        The scenario (engine and demand settings).
    cache_dir
        Folder of ``matrix-<hash>.npz`` files.
    params
        Engine parameters overriding the scenario's.
    """
    from planner.travel import make_engine

    stations = ctx.stations(scenario, "sweep")  # type: ignore[attr-defined]
    key = _matrix_key(ctx, scenario, stations, params)
    path = Path(cache_dir) / f"matrix-{key}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            return TravelMatrix(z["minutes"], z["origin_ids"].astype(object), z["destination_ids"].astype(object))
    london = ctx.london(scenario)  # type: ignore[attr-defined]
    spec = scenario.engine  # type: ignore[attr-defined]
    if params:
        engine = make_engine(spec.name, data=ctx.paths, params={**spec.params, **params}, osm=spec.osm)  # type: ignore[attr-defined]
        matrix = engine.matrix(london.study_demand.points, stations)
    else:
        matrix = ctx.matrix(scenario, stations)  # type: ignore[attr-defined]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp.npz")
    np.savez_compressed(
        tmp,
        minutes=matrix.minutes,
        origin_ids=matrix.origin_ids.astype(str),
        destination_ids=matrix.destination_ids.astype(str),
    )
    os.replace(tmp, path)
    return matrix


# --------------------------------------------------------------------------- dask
def connect(scheduler: str | None = None, *, workers: int | None = None, timeout: float = 10.0):
    """A Dask client: an existing cluster at ``scheduler``, or a local cluster.

    Raises
    ------
    SchedulerError
        If the scheduler cannot be reached.
    """
    from dask.distributed import Client, LocalCluster

    if scheduler:
        try:
            return Client(scheduler, timeout=f"{timeout}s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise SchedulerError(
                f"could not reach a Dask scheduler at {scheduler!r} ({exc}). Check the address (tcp://HOST:PORT) "
                "and that `dask scheduler` runs there, or leave out --scheduler to use a local cluster."
            ) from exc
    n = workers or os.cpu_count() or 1
    cluster = LocalCluster(
        n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
    )
    return Client(cluster)


def closure_index(evaluator: Evaluator, closures: list[tuple[str, ...]]) -> np.ndarray:
    """Closures as rows of column indices, padded with -1."""
    pos = {c: i for i, c in enumerate(evaluator.counter_ids)}
    width = max((len(c) for c in closures), default=1)
    out = np.full((len(closures), width), -1, dtype=np.int64)
    for row, closed in enumerate(closures):
        out[row, : len(closed)] = [pos[c] for c in closed]
    return out


def _eval_chunk(
    evaluator: Evaluator, plan: np.ndarray, closures: list[tuple[str, ...]], threshold: float, chunk: int
) -> tuple[int, pd.DataFrame, pd.DataFrame]:
    t = evaluator.closure_times(plan, closure_index(evaluator, closures))
    figures = evaluator.figures_from_times(t, threshold)
    figures.insert(0, "closed", [";".join(c) for c in closures])
    figures.insert(1, "n_closed", [len(c) for c in closures])
    wards = evaluator.ward_losses(t, plan, threshold)
    wards.insert(0, "chunk", chunk)
    return chunk, figures, wards


def _grid_chunk(
    data_dir: str, scenario_json: str, plans_json: str, params: dict, cache_dir: str, chunk: int
) -> tuple[int, pd.DataFrame, pd.DataFrame]:
    from planner.optimise import choose_counters
    from planner.run import RunContext, counter_boroughs
    from planner.scenario import Scenario

    scenario = Scenario.model_validate_json(scenario_json)
    plans = json.loads(plans_json)
    ctx = RunContext(Path(data_dir))
    threshold = float(params.pop("threshold", scenario.threshold))
    matrix = cached_matrix(ctx, scenario, cache_dir=cache_dir, params=params or None)
    london = ctx.london(scenario)
    pts = london.study_demand.points
    ev = Evaluator.from_demand(matrix, pts)
    stations = ctx.stations(scenario, "sweep")
    borough = counter_boroughs(stations, london.wards)
    borough.index = stations["station_id"].to_numpy()
    rows = []
    for name, open_ids in plans.items():
        fig = ev.figures(ev.mask(open_ids)[None, :], threshold).iloc[0].to_dict()
        best = choose_counters(
            matrix,
            pts,
            borough,
            threshold=threshold,
            k=len(open_ids),
            boroughs=sorted(london.study_wards["borough_code"].unique()),
        )
        rows.append(
            {
                **{f"param_{k}": v for k, v in params.items()},
                "threshold": threshold,
                "plan": name,
                **fig,
                "optimum_beyond": best.population - best.covered,
                "optimum_open": ";".join(best.open),
            }
        )
    return chunk, pd.DataFrame(rows), pd.DataFrame()


@dataclass
class SweepResult:
    """A finished sweep.

    Attributes
    ----------
    results
        One row per scenario (closure set, or grid point × plan).
    critical
        Counters ranked by residents who lose access when they alone close
        (marginal and pairs sweeps).
    fragile
        Wards ranked by how many closure scenarios leave residents beyond the threshold.
    folder
        Where the chunks and tables are.
    computed, reused
        Chunks computed in this call, and reused from an earlier interrupted call.
    """

    results: pd.DataFrame
    critical: pd.DataFrame
    fragile: pd.DataFrame
    folder: Path
    computed: int
    reused: int
    seconds: float


def _closures(kind: str, open_ids: list[str]) -> list[tuple[str, ...]]:
    if kind == "marginal":
        return [(c,) for c in open_ids]
    if kind == "pairs":
        return [(c,) for c in open_ids] + list(itertools.combinations(open_ids, 2))
    raise ScenarioError(f"unknown sweep kind {kind!r}; choose marginal, pairs or grid")


def _chunks(items: list, size: int) -> Iterator[tuple[int, list]]:
    for start in range(0, len(items), size):
        yield start // size, items[start : start + size]


GRID_PARAMS = ("bus_speed_kmh", "walk_speed_kmh", "bus_wait_min", "rail_wait_min", "threshold")


def run_sweep(
    scenario: str | os.PathLike[str],
    *,
    kind: Kind,
    out: str | os.PathLike[str],
    data: str | os.PathLike[str] | None = None,
    grid: dict[str, list[float]] | None = None,
    plans: list[str | os.PathLike[str]] | None = None,
    threshold: float | None = None,
    scheduler: str | None = None,
    workers: int | None = None,
    client: object | None = None,
    serial: bool = False,
    chunk_size: int = 64,
    cache_dir: str | os.PathLike[str] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SweepResult:
    """Run a sweep and write it under ``out/sweep-<kind>-<hash>/``.

    Parameters
    ----------
    scenario
        The plan (its open counters, engine and demand).
    kind
        ``"marginal"``: each open counter closed alone; ``"pairs"``: every
        single and double closure; ``"grid"``: the parameter grid applied to
        ``plans`` (default: the scenario), reporting coverage and the
        optimiser's choice for the same number of counters.
    out
        Parent folder of the sweep folder.
    data
        Data directory.
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
    progress
        Called as ``progress(done_chunks, total_chunks)``.

    Returns
    -------
    SweepResult
        The tables and where they were written.
    """
    from planner.run import RunContext
    from planner.scenario import load_scenario, resolve_counters

    start = time.perf_counter()
    spec = load_scenario(scenario)
    own = client is None
    if scheduler and client is None and not serial:
        client = connect(scheduler)  # fail fast on a bad address, before any work
    ctx = RunContext(Path(data) if data else None)
    cache = Path(cache_dir) if cache_dir else Path(out) / "cache"
    t = check_threshold(threshold if threshold is not None else spec.threshold)
    stations = ctx.stations(spec, str(scenario))
    counters, _ = resolve_counters(spec, stations, source=str(scenario))
    open_ids = counters["station_id"].tolist()
    if kind == "grid":
        grid = grid or {}
        unknown = sorted(set(grid) - set(GRID_PARAMS))
        if unknown or not grid:
            raise ScenarioError(f"grid parameters {unknown or '(none)'}: choose from {', '.join(GRID_PARAMS)}")
        plan_files = [Path(p) for p in (plans or [scenario])]
        plan_ids = {}
        for p in plan_files:
            s = load_scenario(p)
            plan_ids[s.name] = resolve_counters(s, ctx.stations(s, str(p)), source=str(p))[0]["station_id"].tolist()
        names = sorted(grid)
        points = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(grid[n] for n in names))]
        definition = {"kind": kind, "scenario": spec.model_dump(mode="json"), "plans": plan_ids, "grid": grid}
        tasks = list(enumerate(points))
    else:
        closures = _closures(kind, open_ids)
        definition = {"kind": kind, "scenario": spec.model_dump(mode="json"), "threshold": t, "chunk": chunk_size}
        tasks = list(_chunks(closures, chunk_size))
    digest = hashlib.sha256(json.dumps(definition, sort_keys=True).encode()).hexdigest()[:12]
    folder = Path(out) / f"sweep-{kind}-{digest}"
    chunks_dir = folder / "chunks"
    chunks_dir.mkdir(parents=True, exist_ok=True)
    (folder / "definition.json").write_text(json.dumps(definition, indent=2, sort_keys=True) + "\n")
    done = {int(p.stem.split("-")[1]) for p in chunks_dir.glob("results-*.parquet")}
    todo = [(i, item) for i, item in tasks if i not in done]
    reused = len(tasks) - len(todo)
    if reused:
        logger.info("resuming: %d of %d chunks already finished", reused, len(tasks))

    def store(chunk: int, results: pd.DataFrame, wards: pd.DataFrame) -> None:
        for name, frame in (("wards", wards), ("results", results)):  # results last: it marks the chunk done
            tmp = chunks_dir / f".{name}-{chunk:05d}.parquet"
            frame.to_parquet(tmp, index=False)
            os.replace(tmp, chunks_dir / f"{name}-{chunk:05d}.parquet")

    finished = reused
    if progress:
        progress(finished, len(tasks))
    evaluator = None
    if kind == "grid":
        func: Callable = _grid_chunk
        jobs = [(str(ctx.data), spec.model_dump_json(), json.dumps(plan_ids), dict(p), str(cache), i) for i, p in todo]
    else:
        evaluator = Evaluator.from_demand(
            cached_matrix(ctx, spec, cache_dir=cache), ctx.london(spec).study_demand.points
        )
        plan = evaluator.mask(open_ids)
        func = _eval_chunk
        jobs = [(plan, item, t, i) for i, item in todo]
    if (serial or not jobs) and own and client is not None:
        client.close()  # type: ignore[attr-defined]
    if serial or not jobs:
        lead = () if evaluator is None else (evaluator,)
        for job in jobs:
            store(*func(*lead, *job))
            finished += 1
            if progress:
                progress(finished, len(tasks))
    else:
        from dask.distributed import as_completed

        dask_client = client or connect(workers=workers)
        try:
            # the evaluator goes to every worker once, not with every chunk
            lead = () if evaluator is None else (dask_client.scatter(evaluator, broadcast=True),)
            futures = [dask_client.submit(func, *lead, *job, pure=False) for job in jobs]
            for future in as_completed(futures):
                store(*future.result())
                finished += 1
                if progress:
                    progress(finished, len(tasks))
        finally:
            if own:
                cluster = getattr(dask_client, "cluster", None)
                dask_client.close()
                if cluster is not None:
                    cluster.close()
    if evaluator is None:
        base_beyond = None
    else:
        base_beyond = int(evaluator.figures(evaluator.mask(open_ids)[None, :], t)["beyond"].iloc[0])
    return _collect(folder, kind, base_beyond, ctx, spec, len(todo), reused, time.perf_counter() - start)


def _collect(
    folder: Path,
    kind: str,
    base_beyond: int | None,
    ctx: object,
    spec: object,
    computed: int,
    reused: int,
    seconds: float,
) -> SweepResult:
    chunks = sorted((folder / "chunks").glob("results-*.parquet"))
    results = pd.concat([pd.read_parquet(p) for p in chunks], ignore_index=True)
    critical = fragile = pd.DataFrame()
    if kind != "grid":
        results = results.sort_values(["n_closed", "closed"]).reset_index(drop=True)
        stations = ctx.stations(spec, "sweep").set_index("station_id")  # type: ignore[attr-defined]
        london = ctx.london(spec)  # type: ignore[attr-defined]
        single = results.loc[results["n_closed"] == 1].copy()
        single["station_id"] = single["closed"]
        single["residents_losing_access"] = single["beyond"] - base_beyond
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
    if kind == "grid":
        results = _choice_changes(results, spec).sort_values(["plan", *_param_cols(results)]).reset_index(drop=True)
    results.to_parquet(folder / "results.parquet", index=False)
    return SweepResult(results, critical, fragile, folder, computed, reused, seconds)


def _param_cols(results: pd.DataFrame) -> list[str]:
    return [c for c in results.columns if c.startswith("param_")] + ["threshold"]


def _choice_changes(results: pd.DataFrame, spec: object) -> pd.DataFrame:
    """How many counters of the optimiser's choice differ from its choice at the scenario's own parameters."""
    from planner.travel import TransitParams

    own = {
        **{f.name: f.default for f in TransitParams.__dataclass_fields__.values()},  # type: ignore[attr-defined]
        **spec.engine.params,
        "threshold": spec.threshold,
    }  # type: ignore[attr-defined]
    results = results.copy()
    results["optimum_changes"] = pd.NA
    for _plan, group in results.groupby("plan"):
        at_own = group
        for col in _param_cols(results):
            name = col.removeprefix("param_")
            at_own = at_own.loc[np.isclose(at_own[col].astype(float), float(own.get(name, np.nan)))]
        if at_own.empty:
            continue
        ref = set(str(at_own["optimum_open"].iloc[0]).split(";"))
        results.loc[group.index, "optimum_changes"] = [
            len(ref ^ set(str(o).split(";"))) // 2 for o in group["optimum_open"]
        ]
    return results


def grid_from_options(options: dict[str, str | None]) -> dict[str, list[float]]:
    """Parse ``{"bus_speed_kmh": "12,15,18"}`` into lists of floats.

    Raises
    ------
    OptionError
        For a value that is not a number, a threshold or speed that is not
        finite and positive, or a negative or infinite wait.
    """
    grid = {}
    for name, text in options.items():
        if text:
            option = "--thresholds" if name == "threshold" else "--" + name.rsplit("_", 1)[0].replace("_", "-")
            values = []
            for v in (v.strip() for v in text.split(",")):
                if not v:
                    continue
                if name == "threshold":
                    values.append(check_threshold(v, what=option))
                    continue
                try:
                    x = float(v)
                except ValueError as exc:
                    raise OptionError(
                        f"{option}: {v!r} is not a number; give a comma-separated list, e.g. 12,15,18"
                    ) from exc
                if not np.isfinite(x) or x < 0 or (x == 0 and "speed" in name):
                    need = "greater than 0" if "speed" in name else "0 or more"
                    raise OptionError(f"{option}: {v!r} must be a finite number {need}")
                values.append(x)
            grid[name] = values
    return grid
