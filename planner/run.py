"""Run closure scenarios end to end: assessment, hub plan, maps, manifest.

Everything is computed before anything is written, and the output folder is
assembled under a temporary name and renamed into place, so a scenario that
fails leaves no output folder behind.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.assess import AccessResult, assess
from planner.context import RunContext, counter_boroughs, planner_version
from planner.errors import PlannerError, ScenarioError
from planner.hubs import HubPlan, write_hubs
from planner.io import sha256_file, write_csv, write_gpkg, write_json
from planner.london import London
from planner.scenario import Scenario, load_scenario, resolve_counters
from planner.travel import TravelEngine

__all__ = [
    "RunContext",
    "ScenarioRun",
    "counter_boroughs",
    "load_run",
    "planner_version",
    "read_manifest",
    "run_scenario",
]

logger = logging.getLogger(__name__)


@dataclass
class ScenarioRun:
    """A scenario's results, in memory or read back from its output folder.

    Attributes
    ----------
    scenario
        The scenario.
    counters
        Open counters, every column of the stations file, plus ``open_24_7``
        and ``borough_code``.
    points
        Per demand point: ``point_id``, ``ward_code``, ``borough_code``,
        ``borough_name``, ``population``, ``pop_65_plus``, ``minutes``,
        ``station_id``, ``reachable``.
    wards
        Ward names and codes with ``population``.
    boroughs
        Met borough codes and names.
    access
        Threshold → :class:`~planner.assess.AccessResult` (in-memory runs only).
    hubs
        The hub plan (in-memory runs only).
    out_dir
        Where it was written.
    """

    scenario: Scenario
    counters: pd.DataFrame
    points: pd.DataFrame
    wards: pd.DataFrame
    boroughs: pd.DataFrame
    access: dict[float, AccessResult] = field(default_factory=dict)
    hubs: HubPlan | None = None
    out_dir: Path | None = None
    hub_table: pd.DataFrame | None = None

    @property
    def name(self) -> str:
        return self.scenario.name


def run_scenario(
    scenario: str | os.PathLike[str] | Scenario,
    *,
    out: str | os.PathLike[str],
    context: RunContext | None = None,
    data: str | os.PathLike[str] | None = None,
    maps: bool = True,
    offline_maps: bool = True,
    reference: str | os.PathLike[str] | None = None,
    hubs: bool | None = None,
    progress: Callable[[str], None] | None = None,
) -> ScenarioRun:
    """Run one scenario end to end and write ``out/<name>/``.

    Parameters
    ----------
    scenario
        Scenario file or object.
    out
        Parent folder of the run folders.
    context
        Shared caches (data, engines, matrices) for several runs.
    data
        Data directory, when no context is given.
    maps
        Write the interactive maps.
    offline_maps
        Embed every script and stylesheet in the maps.
    reference
        A run folder to compare against in the maps (closing and new
        counters, "today" in the resident view).
    hubs
        Override the scenario's ``hubs.enabled``.
    progress
        Called with a description of each step.

    Returns
    -------
    ScenarioRun
        The results.
    """
    step = progress or (lambda _msg: None)
    source = str(scenario) if not isinstance(scenario, Scenario) else f"scenario {scenario.name}"
    spec = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    ctx = context or RunContext(Path(data) if data else None)
    step(f"{spec.name}: loading data")
    london = ctx.london(spec)
    stations = ctx.stations(spec, source)
    counters, _ = resolve_counters(spec, stations, source=source)
    counters["borough_code"] = counter_boroughs(counters, london.wards).to_numpy()
    step(f"{spec.name}: travel times ({spec.engine.name})")
    try:
        matrix = ctx.matrix(spec, stations)
    except PlannerError as exc:
        raise ScenarioError(f"{source}: engine: {exc}") from exc
    nearest = matrix.subset(counters["station_id"].tolist()).nearest()
    engine = ctx.engine(spec)
    demand = london.study_demand
    access = {t: assess(demand, counters, engine, threshold=t, nearest=nearest) for t in spec.thresholds}
    plan = None
    if spec.hubs.enabled if hubs is None else hubs:
        step(f"{spec.name}: hub plan")
        plan, hub_engine = ctx.hub_plan(spec)
    primary = access[spec.threshold]
    run = ScenarioRun(
        scenario=spec,
        counters=pd.DataFrame(counters.drop(columns="geometry")),
        points=primary.points.drop(columns=["beyond", "status"]),
        wards=london.study_demand.wards[["ward_code", "ward_name", "borough_code", "borough_name", "population"]],
        boroughs=london.study_wards[["borough_code", "borough_name"]].drop_duplicates().sort_values("borough_code"),
        access=access,
        hubs=plan,
    )
    step(f"{spec.name}: writing")
    final = Path(out) / spec.name
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{spec.name}-", dir=final.parent))
    try:
        os.chmod(tmp, 0o755)
        _write_run(run, tmp, london, counters, plan, hub_engine if plan else None, ctx, source)
        if maps:
            from planner.maps import write_run_maps

            step(f"{spec.name}: maps")
            write_run_maps(run, tmp, reference=reference, offline=offline_maps)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    run.out_dir = final
    return run


def _summary(run: ScenarioRun) -> dict:
    counters = run.counters
    all_day = counters.loc[counters["open_24_7"]]
    without = sorted(set(run.boroughs["borough_code"]) - set(all_day["borough_code"]))
    names = dict(zip(run.boroughs["borough_code"], run.boroughs["borough_name"], strict=True))
    figures = {}
    for t, res in run.access.items():
        row = res.london.iloc[0]
        figures[f"{t:g}"] = {k: (float(v) if isinstance(v, float | np.floating) else int(v)) for k, v in row.items()}
    return {
        "scenario": run.name,
        "counters_open": len(counters),
        "counters_24_7": len(all_day),
        "boroughs_without_24_7": [names[b] for b in without],
        "hubs": run.hubs.n_hubs if run.hubs else None,
        "london": figures,
    }


def _write_run(
    run: ScenarioRun,
    folder: Path,
    london: London,
    counters: gpd.GeoDataFrame,
    plan: HubPlan | None,
    hub_engine: TravelEngine | None,
    ctx: RunContext,
    source: str,
) -> None:
    write_csv(counters, folder / "counters.csv")
    stations = ctx.stations(run.scenario, source).copy()
    open_ids = set(counters["station_id"])
    stations["open"] = stations["station_id"].isin(open_ids)
    stations["open_24_7"] = stations["station_id"].isin(set(counters.loc[counters["open_24_7"], "station_id"]))
    write_gpkg(stations, folder / "stations.gpkg", "stations")
    points = run.points.copy()
    for t in run.scenario.thresholds:
        points[f"beyond_{t:g}"] = run.access[t].points["beyond"].to_numpy()
    write_csv(points, folder / "access_points.csv")
    gpkg = folder / "access.gpkg"
    london_rows = []
    for t, res in run.access.items():
        write_csv(res.wards, folder / f"access_wards_{t:g}.csv")
        write_csv(res.boroughs, folder / f"access_boroughs_{t:g}.csv")
        write_gpkg(res.ward_frame(london.study_wards), gpkg, f"wards_{t:g}")
        london_rows.append(res.london.assign(threshold=t))
    write_csv(pd.concat(london_rows, ignore_index=True), folder / "access_london.csv")
    if plan is not None:
        write_hubs(plan, london.study_wards, london.study_demand, folder / "hubs", engine=hub_engine)
    write_json(_summary(run), folder / "summary.json")
    write_json(_manifest(run, ctx, source), folder / "manifest.json")


def _manifest(run: ScenarioRun, ctx: RunContext, source: str) -> dict:
    paths = ctx.paths
    spec = run.scenario
    inputs = [paths.wards(spec.ward_year), paths.centroids, paths.population(spec.demand_year)]
    inputs.append(paths.root / spec.counters.stations if spec.counters.stations else paths.stations)
    if spec.engine.name == "transit":
        inputs += [paths.bus_stops, paths.rail_graph]
        inputs += [
            p
            for p in (paths.root / "transit" / "tube_stations.csv", paths.root / "transit" / "tube_connections.csv")
            if p.is_file()
        ]
    files = {}
    for path in inputs:
        try:
            rel = str(Path(path).resolve().relative_to(paths.root.resolve()))
        except ValueError:
            rel = str(path)
        files[rel] = sha256_file(path)
    scenario_file = None
    if Path(source).is_file():
        scenario_file = {"path": source, "sha256": sha256_file(source)}
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else dt.datetime.now(dt.UTC)
    return {
        "planner_version": planner_version(),
        "scenario_file": scenario_file,
        "parameters": spec.model_dump(mode="json"),
        "engine": run.access[spec.threshold].engine,
        "inputs": files,
        "ran_at": when.isoformat(timespec="seconds"),
    }


def read_manifest(folder: str | os.PathLike[str]) -> tuple[Scenario, dict]:
    """The scenario and manifest of a run folder written by :func:`run_scenario`."""
    import json

    manifest = Path(folder) / "manifest.json"
    if not manifest.is_file():
        raise ScenarioError(f"{folder} is not a run folder (no manifest.json); run `planner run SCENARIO` first")
    meta = json.loads(manifest.read_text())
    return Scenario.model_validate(meta["parameters"]), meta


def load_run(folder: str | os.PathLike[str]) -> ScenarioRun:
    """Read a run folder written by :func:`run_scenario` back for comparison.

    Parameters
    ----------
    folder
        ``OUT/<scenario name>``.
    """
    folder = Path(folder)
    spec, _ = read_manifest(folder)
    counters = pd.read_csv(folder / "counters.csv", dtype={"station_id": str})
    points = pd.read_csv(folder / "access_points.csv", dtype={"station_id": str})
    wards = pd.read_csv(folder / f"access_wards_{spec.threshold:g}.csv")
    boroughs = wards[["borough_code", "borough_name"]].drop_duplicates().sort_values("borough_code")
    hubs_csv = folder / "hubs" / "hubs.csv"
    return ScenarioRun(
        spec,
        counters,
        points,
        wards,
        boroughs,
        out_dir=folder,
        hub_table=pd.read_csv(hubs_csv) if hubs_csv.is_file() else None,
    )
