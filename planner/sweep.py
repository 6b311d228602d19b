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

import contextlib
import hashlib
import itertools
import json
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from planner.closures import NearestOpen
from planner.context import RunContext, counter_boroughs
from planner.errors import OptionError, ScenarioError, SchedulerError
from planner.optimise import choose_counters
from planner.scenario import Scenario, load_scenario, resolve_counters
from planner.stats import access_figures, check_threshold
from planner.travel import TransitParams
from planner.travel.base import TravelMatrix, require_coverage

__all__ = [
    "Evaluator",
    "SweepResult",
    "cached_matrix",
    "connect",
    "run_sweep",
]

logger = logging.getLogger(__name__)

Kind = Literal["marginal", "pairs", "triples", "grid"]
KINDS = ("marginal", "pairs", "triples", "grid")
_CLOSED = {"marginal": 1, "pairs": 2, "triples": 3}


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
        """An evaluator for a travel matrix whose rows are these demand points.

        Points the engine flagged (e.g. ``off-network``) are unreachable, as in :func:`planner.assess.assess`.
        """
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

    def nearest_open(self, plan: np.ndarray, *, closed: int) -> NearestOpen:
        """Each point's nearest open counters of ``plan``, to score closures of up to ``closed`` counters."""
        return NearestOpen.build(
            self.minutes,
            plan,
            k=closed + 1,
            population=self.population,
            pop_65_plus=self.pop_65_plus,
            ward_codes=self.ward_codes,
        )

    def closure_times(self, plan: np.ndarray, closed: np.ndarray) -> np.ndarray:
        """Minutes per point when the counters ``closed`` (rows of column indices, -1 = none) close in ``plan``.

        The reference for :class:`~planner.closures.NearestOpen`: only each point's ``k + 1`` nearest
        open counters of the plan can matter when at most ``k`` close.
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
def _matrix_key(ctx: RunContext, scenario: Scenario, stations: Any, params: dict | None) -> str:
    xy = np.column_stack([stations.geometry.x, stations.geometry.y]).round(2).tolist()
    key = {
        "inputs": ctx.input_key(scenario, params),
        "stations": list(stations["station_id"]),
        "xy": xy,
        "format": 3,  # 3: street graphs measured in planar EPSG:27700 whichever reader built them
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:20]


def cached_matrix(
    ctx: RunContext, scenario: Scenario, *, cache_dir: str | os.PathLike[str], params: dict | None = None
) -> TravelMatrix:
    """The scenario's points × stations matrix, from ``cache_dir`` or computed and stored there.

    The file name is a hash of every data file the matrix is read from, the engine and its
    parameters, the counters and the package version (:meth:`planner.context.RunContext.input_key`).
    Origins the engine flagged (``off-network``) keep their flag and are unreachable.

    Parameters
    ----------
    ctx
        Shared data and engines.
    scenario
        The scenario (engine and demand settings).
    cache_dir
        Folder of ``matrix-<hash>.npz`` files.
    params
        Engine parameters overriding the scenario's.
    """
    stations = ctx.stations(scenario, "sweep")
    key = _matrix_key(ctx, scenario, stations, params)
    path = Path(cache_dir) / f"matrix-{key}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            matrix = TravelMatrix(
                z["minutes"],
                z["origin_ids"].astype(object),
                z["destination_ids"].astype(object),
                z["origin_flags"].astype(object),
            )
    else:
        if params:
            london = ctx.london(scenario)
            matrix = ctx.engine(scenario, params).matrix(london.study_demand.points, stations)
        else:
            matrix = ctx.matrix(scenario, stations)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(
            tmp,
            minutes=matrix.minutes,
            origin_ids=matrix.origin_ids.astype(str),
            destination_ids=matrix.destination_ids.astype(str),
            origin_flags=matrix.origin_flags.astype(str),
        )
        os.replace(tmp, path)
    require_coverage(
        ctx.london(scenario).study_demand.points["population"].to_numpy(),
        matrix.minutes,
        engine=scenario.engine.name,
    )
    return matrix


# --------------------------------------------------------------------------- dask
def connect(scheduler: str | None = None, *, workers: int | None = None, timeout: float = 10.0):
    """A Dask client: an existing cluster at ``scheduler``, or a local cluster.

    The local cluster logs only errors, and closing it does not print the connection errors that
    Dask logs while its workers shut down.

    Parameters
    ----------
    scheduler
        A Dask scheduler address (``tcp://HOST:PORT``), or None for a local cluster.
    workers
        Workers of the local cluster (default: Dask's).
    timeout
        Seconds to wait for the scheduler.

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
                "and that `dask scheduler` runs there, or leave out `scheduler` to use a local cluster."
            ) from exc
    n = workers or os.cpu_count() or 1
    with _quiet_dask():
        # a free port for the dashboard: no "port 8787 is already in use" warning on a shared machine
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
        )
        return Client(cluster)


@contextlib.contextmanager
def _quiet_dask() -> Iterator[None]:
    """Dask's own loggers at ERROR: no start-up chatter, no ``CommClosedError`` while workers shut down."""
    manager = logging.Logger.manager
    names = ["distributed", *(n for n in list(manager.loggerDict) if n.startswith("distributed."))]
    saved = {name: logging.getLogger(name).level for name in names}
    for name in names:
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        yield
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)


def close_client(client: Any) -> None:
    """Close a client and the local cluster it started, quietly."""
    cluster = getattr(client, "cluster", None)
    with _quiet_dask(), contextlib.suppress(Exception):
        client.close()
        if cluster is not None:
            cluster.close()


def closure_index(evaluator: Evaluator, closures: list[tuple[str, ...]]) -> np.ndarray:
    """Closures as rows of column indices, padded with -1."""
    pos = {c: i for i, c in enumerate(evaluator.counter_ids)}
    width = max((len(c) for c in closures), default=1)
    out = np.full((len(closures), width), -1, dtype=np.int64)
    for row, closed in enumerate(closures):
        out[row, : len(closed)] = [pos[c] for c in closed]
    return out


def _eval_chunk(
    nearest: NearestOpen, closed: np.ndarray, labels: list[str], threshold: float, chunk: int
) -> tuple[int, pd.DataFrame, pd.DataFrame]:
    figures, wards = nearest.figures(closed, threshold)
    assert wards is not None
    figures.insert(0, "closed", labels)
    figures.insert(1, "n_closed", (closed >= 0).sum(axis=1))
    wards.insert(0, "chunk", chunk)
    return chunk, figures, wards


def _grid_chunk(
    data_dir: str, scenario_json: str, plans_json: str, params: dict, cache_dir: str, chunk: int
) -> tuple[int, pd.DataFrame, pd.DataFrame]:
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


def _closures(kind: str, open_ids: list[str]) -> list[tuple[str, ...]]:
    if kind not in _CLOSED:
        raise ScenarioError(f"unknown sweep kind {kind!r}; choose {', '.join(KINDS)}")
    return [c for size in range(1, _CLOSED[kind] + 1) for c in itertools.combinations(open_ids, size)]


def _chunks(items: list, size: int) -> Iterator[tuple[int, list]]:
    for start in range(0, len(items), size):
        yield start // size, items[start : start + size]


GRID_PARAMS = ("bus_speed_kmh", "walk_speed_kmh", "bus_wait_min", "rail_wait_min", "threshold")


@dataclass
class _Plan:
    """A planned sweep: its folder, its chunks and what each still-to-run chunk is called with."""

    kind: str
    spec: Scenario
    ctx: RunContext
    folder: Path
    n_tasks: int
    scenarios: int
    func: Callable[..., tuple[int, pd.DataFrame, pd.DataFrame]]
    shared: Any  # sent to every worker once (the closure model), or None
    jobs: list[tuple]
    base_beyond: int | None = None

    @property
    def reused(self) -> int:
        return self.n_tasks - len(self.jobs)


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
    stations = ctx.stations(spec, str(scenario))
    open_ids = resolve_counters(spec, stations, source=str(scenario))[0]["station_id"].tolist()
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
            plan_ids[s.name] = resolve_counters(s, ctx.stations(s, str(p)), source=str(p))[0]["station_id"].tolist()
            plan_inputs[s.name] = ctx.input_key(s)
        names = sorted(grid)
        points = [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(grid[n] for n in names))]
        definition |= {"plans": plan_ids, "grid": grid, "inputs": ctx.input_key(spec), "plan_inputs": plan_inputs}
        tasks: list[tuple[int, Any]] = list(enumerate(points))
        scenarios = len(points) * len(plan_ids)
    else:
        closures = _closures(kind, open_ids)
        definition |= {"threshold": t, "chunk": chunk_size, "inputs": ctx.input_key(spec)}
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
        return _Plan(kind, spec, ctx, folder, len(tasks), scenarios, _grid_chunk, None, jobs)
    evaluator = Evaluator.from_demand(cached_matrix(ctx, spec, cache_dir=cache), ctx.london(spec).study_demand.points)
    plan = evaluator.mask(open_ids)
    nearest = evaluator.nearest_open(plan, closed=_CLOSED[kind])
    jobs = [(closure_index(evaluator, item), [";".join(c) for c in item], t, i) for i, item in todo]
    base_beyond = int(evaluator.figures(plan[None, :], t)["beyond"].iloc[0])
    return _Plan(kind, spec, ctx, folder, len(tasks), scenarios, _eval_chunk, nearest, jobs, base_beyond)


def _store(folder: Path, chunk: int, results: pd.DataFrame, wards: pd.DataFrame) -> None:
    chunks_dir = folder / "chunks"
    for name, frame in (("wards", wards), ("results", results)):  # results last: it marks the chunk done
        tmp = chunks_dir / f".{name}-{chunk:05d}.parquet"
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, chunks_dir / f"{name}-{chunk:05d}.parquet")


def _execute(
    plan: _Plan,
    *,
    client: Any,
    own: bool,
    workers: int | None,
    serial: bool,
    progress: Callable[[int, int], None] | None,
    on_cluster: Callable[[Any], None] | None = None,
) -> None:
    """Run the chunks still to do, in this process or on Dask, storing each as it finishes."""
    done = [plan.reused]

    def finish(chunk: int, results: pd.DataFrame, wards: pd.DataFrame) -> None:
        _store(plan.folder, chunk, results, wards)
        done[0] += 1
        if progress:
            progress(done[0], plan.n_tasks)

    if progress:
        progress(done[0], plan.n_tasks)
    if serial or not plan.jobs:
        if own and client is not None:
            close_client(client)
        lead = () if plan.shared is None else (plan.shared,)
        for job in plan.jobs:
            finish(*plan.func(*lead, *job))
        return
    _execute_on_dask(plan, finish, client=client, own=own, workers=workers, on_cluster=on_cluster)


def _execute_on_dask(
    plan: _Plan,
    finish: Callable[..., None],
    *,
    client: Any,
    own: bool,
    workers: int | None,
    on_cluster: Callable[[Any], None] | None,
) -> None:
    from dask.distributed import as_completed

    dask_client = client or connect(workers=workers)
    if on_cluster:
        on_cluster(dask_client)
    try:
        with contextlib.ExitStack() as stack:
            if own:  # our own local cluster: only errors from it
                stack.enter_context(_quiet_dask())
            # the closure model goes to every worker once, not with every chunk
            lead = () if plan.shared is None else (dask_client.scatter(plan.shared, broadcast=True),)
            futures = [dask_client.submit(plan.func, *lead, *job, pure=False) for job in plan.jobs]
            for future in as_completed(futures):
                finish(*future.result())
    finally:
        if own:
            close_client(dask_client)


def _top(results: pd.DataFrame, top: int | None) -> pd.DataFrame:
    if top is None:
        return results
    ranked = results.sort_values(["n_closed", "beyond", "closed"], ascending=[True, False, True])
    return ranked.groupby("n_closed", sort=True).head(top).reset_index(drop=True)


def _collect(plan: _Plan, *, top: int | None, seconds: float) -> SweepResult:
    """Read the chunks back into the results, critical-counter and fragile-ward tables."""
    folder, spec, ctx = plan.folder, plan.spec, plan.ctx
    chunks = sorted((folder / "chunks").glob("results-*.parquet"))
    results = pd.concat([pd.read_parquet(p) for p in chunks], ignore_index=True)
    critical = fragile = pd.DataFrame()
    if plan.kind == "grid":
        results = _choice_changes(results, spec).sort_values(["plan", *_param_cols(results)]).reset_index(drop=True)
    else:
        assert plan.base_beyond is not None
        results = results.sort_values(["n_closed", "closed"]).reset_index(drop=True)
        stations = ctx.stations(spec, "sweep").set_index("station_id")
        london = ctx.london(spec)
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
    if top is not None and top < 1:
        raise ScenarioError(f"`top` must be at least 1 (got {top})")
    if kind == "grid" and grid:  # a parameter the scenario's engine lacks: refused before data and workers start
        from planner.travel import check_engine_params

        engine = load_scenario(scenario).engine.name if not isinstance(scenario, Scenario) else scenario.engine.name
        check_engine_params(engine, {k: v[0] for k, v in grid.items() if k != "threshold" and v})
    own = client is None
    if scheduler and client is None and not serial:
        client = connect(scheduler)  # fail fast on a bad address, before any work
    ctx = RunContext(Path(data) if data else None)
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
    _execute(plan, client=client, own=own, workers=workers, serial=serial, progress=progress, on_cluster=on_cluster)
    return _collect(plan, top=top, seconds=time.perf_counter() - start)


def _param_cols(results: pd.DataFrame) -> list[str]:
    return [c for c in results.columns if c.startswith("param_")] + ["threshold"]


def _choice_changes(results: pd.DataFrame, spec: Scenario) -> pd.DataFrame:
    """How many counters of the optimiser's choice differ from its choice at the scenario's own parameters."""
    defaults = {f.name: f.default for f in TransitParams.__dataclass_fields__.values()}
    own = {**defaults, **spec.engine.params, "threshold": spec.threshold}
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
