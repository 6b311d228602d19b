"""Run closure scenarios end to end: assessment, hub plan, maps, manifest.

Everything is computed before anything is written, and the output folder is
assembled under a temporary name and renamed into place, so a scenario that
fails leaves no output folder behind.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.assess import AccessResult, assess
from planner.clock import output_time
from planner.context import RunContext, counter_boroughs, planner_version
from planner.equality import equality_table, summary_entry, ward_table
from planner.errors import PlannerError, ScenarioError
from planner.hubs import HubPlan, write_hubs
from planner.io import (
    check_out_beside_data,
    check_out_dir,
    finish_staging,
    locked_folder,
    remove_leftovers,
    replaceable,
    sha256_file,
    staging_folder,
    write_csv,
    write_gpkg,
    write_json,
)
from planner.london import London
from planner.runfolder import (
    MANIFEST_BODY,
    check_outputs,
    check_points,
    check_summary,
    check_tables,
    manifest_digest,
    output_hashes,
    write_travel_matrix,
)
from planner.scenario import Scenario, load_scenario, resolve_counters
from planner.stats import access_figures
from planner.travel import NearestResult, TravelEngine
from planner.travel.base import require_coverage

__all__ = [
    "RunContext",
    "ScenarioRun",
    "counter_boroughs",
    "engine_label",
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
    beyond_24_7
        Threshold (``"45"``) → residents and residents aged 65+ beyond it
        from the nearest *24/7* counter (in-memory runs only; also in
        ``summary.json``).
    out_dir
        Where it was written.
    equality
        ``summary.json``'s ``equality`` entry: per threshold label, each resident group's residents,
        residents beyond and disproportion ratio in London, with the groups omitted and the sources.
    equality_tables
        Threshold label -> :func:`planner.equality.equality_table` (London and boroughs; in-memory runs).
    equality_wards
        Threshold label -> :func:`planner.equality.ward_table` (each group's residents beyond, by ward).
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
    engine: dict = field(default_factory=dict)
    beyond_24_7: dict[str, dict] = field(default_factory=dict)
    equality: dict = field(default_factory=dict)
    equality_tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    equality_wards: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def engine_label(self) -> str:
        """The engine that produced the minutes and its parameter set, in one line."""
        return engine_label(self.engine, self.scenario.engine.params)


def engine_label(description: dict, overrides: dict | None = None) -> str:
    """``"transit (default parameters)"`` or ``"transit (bus_speed_kmh=12)"``.

    Parameters
    ----------
    description
        An engine's :meth:`~planner.travel.TravelEngine.describe` output.
    overrides
        The parameters the scenario set (the rest are the engine's defaults).
    """
    name = description.get("engine", "unknown engine")
    if not overrides:
        return f"{name} (default parameters)"
    return (
        f"{name} ("
        + ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(overrides.items()))
        + ")"
    )


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
    check_out_dir(out)
    source = str(scenario) if not isinstance(scenario, Scenario) else f"scenario {scenario.name}"
    spec = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    ctx = context or RunContext(Path(data) if data else None)
    check_out_beside_data(out, ctx.paths.root)
    replaceable(Path(out) / spec.name)  # before any work: a folder planner did not write is never replaced
    step(f"{spec.name}: loading data")
    london = ctx.london(spec)
    stations = ctx.stations(spec, source)
    counters, _ = resolve_counters(spec, stations, source=source)
    counters["borough_code"] = counter_boroughs(counters, london.wards).to_numpy()
    step(f"{spec.name}: travel times ({spec.engine.name})")
    engine = ctx.engine(spec)
    demand = london.study_demand
    try:
        nearest_of = _nearest_search(ctx, spec, stations, engine, demand.points)
        nearest = nearest_of(counters["station_id"].tolist())
    except PlannerError as exc:
        raise ScenarioError(f"{source}: engine: {exc}") from exc
    access = {t: assess(demand, counters, engine, threshold=t, nearest=nearest) for t in spec.thresholds}
    plan = None
    if spec.hubs.enabled if hubs is None else hubs:
        step(f"{spec.name}: hub plan")
        plan, hub_engine = ctx.hub_plan(spec)
    groups = ctx.groups(spec)
    tables = {f"{t:g}": equality_table(access[t].points, groups, threshold=t) for t in spec.thresholds}
    primary = access[spec.threshold]
    run = ScenarioRun(
        scenario=spec,
        counters=pd.DataFrame(counters.drop(columns="geometry")),
        points=primary.points.drop(columns=["beyond", "status"]),
        wards=london.study_demand.wards[["ward_code", "ward_name", "borough_code", "borough_name", "population"]],
        boroughs=london.study_wards[["borough_code", "borough_name"]].drop_duplicates().sort_values("borough_code"),
        access=access,
        hubs=plan,
        engine=primary.engine,
        beyond_24_7=_beyond_24_7(nearest_of, counters, demand.points, spec.thresholds),
        equality=summary_entry(tables, groups),
        equality_tables=tables,
        equality_wards={f"{t:g}": ward_table(access[t].points, groups, threshold=t) for t in spec.thresholds},
    )
    step(f"{spec.name}: writing")
    final = Path(out) / spec.name
    # one writer at a time per output folder; unfinished folders of killed runs are removed first
    with locked_folder(final.parent):
        remove_leftovers(final.parent)
        replaceable(final)
        tmp = staging_folder(final.parent, spec.name)
        try:
            extra_inputs: list[Path] = []
            if maps:  # the resident map's postcode answers; the file they read goes into the manifest
                from planner.postcodes import postcode_file, write_postcode_access

                step(f"{spec.name}: postcodes")
                if write_postcode_access(
                    tmp, ctx.paths.root, counters, engine, wards=london.wards, candidates=stations
                ):
                    extra_inputs.append(postcode_file(ctx.paths.root))  # type: ignore[arg-type]
            _write_run(run, tmp, london, counters, plan, hub_engine if plan else None, ctx, source, extra_inputs)
            if maps:
                from planner.maps import write_maps

                step(f"{spec.name}: maps")
                write_maps(tmp, reference_dir=reference, offline=offline_maps)
            finish_staging(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    run.out_dir = final
    return run


#: A stations file with more rows than this is not turned into a points x stations matrix: each run searches
#: from its own open counters instead (``planner access``'s multi-source search), which costs the same whatever
#: the file's size.
MATRIX_MAX_STATIONS = 300


def _nearest_search(
    ctx: RunContext, spec: Scenario, stations: gpd.GeoDataFrame, engine: TravelEngine, points: gpd.GeoDataFrame
) -> Callable[[list[str]], NearestResult]:
    """How to find each point's nearest counter among some station ids: from the shared matrix, or by search."""
    if len(stations) <= MATRIX_MAX_STATIONS:
        matrix = ctx.matrix(spec, stations)
        return lambda ids: matrix.subset(ids).nearest()
    logger.info(
        "%d stations in the file (more than %d): searching from each run's open counters, without a matrix",
        len(stations),
        MATRIX_MAX_STATIONS,
    )
    by_id = stations.set_index("station_id")

    def search(ids: list[str]) -> NearestResult:
        chosen = by_id.loc[ids].reset_index()[["station_id", "geometry"]]
        result = engine.nearest(points, gpd.GeoDataFrame(chosen, geometry="geometry", crs=stations.crs))
        require_coverage(
            points["population"].to_numpy(),
            result.table["minutes"].to_numpy(float),
            engine=spec.engine.name,
            source=spec.engine.osm,
        )
        return result

    return search


def _beyond_24_7(
    nearest_of: Callable[[list[str]], NearestResult],
    counters: gpd.GeoDataFrame,
    points: pd.DataFrame,
    thresholds: list[float],
) -> dict[str, dict]:
    """Residents (and aged 65+) beyond each threshold from the nearest 24/7 counter.

    A resident exactly at the threshold is within it; with no 24/7 counter open, everyone is beyond.
    """
    ids = counters.loc[counters["open_24_7"].astype(bool), "station_id"].tolist()
    pop = points["population"].to_numpy(np.int64)
    old = points["pop_65_plus"].to_numpy(np.int64)
    if ids:
        table = nearest_of(ids).table
        if not np.array_equal(table["point_id"].to_numpy(), points["point_id"].to_numpy()):
            raise PlannerError("24/7 nearest-counter result does not match the demand points")
        minutes = table["minutes"].to_numpy(float)
        ok = table["reachable"].to_numpy(bool)
    else:
        minutes = np.full(len(points), np.nan)
        ok = np.zeros(len(points), dtype=bool)
    out = {}
    for t in thresholds:
        fig = access_figures(minutes, pop, threshold=t, pop_65_plus=old, reachable=ok, median=False)
        out[f"{t:g}"] = {
            "beyond": int(fig["beyond"]),
            "beyond_65_plus": int(fig["beyond_65_plus"]),
            "pct_within": float(fig["pct_within"]),
        }
    return out


def _summary(run: ScenarioRun) -> dict:
    counters = run.counters
    all_day = counters.loc[counters["open_24_7"]]
    without = sorted(set(run.boroughs["borough_code"]) - set(all_day["borough_code"]))
    names = dict(zip(run.boroughs["borough_code"], run.boroughs["borough_name"], strict=True))
    figures = {}
    for t, res in run.access.items():
        row = res.london.iloc[0]
        figures[f"{t:g}"] = {k: (float(v) if isinstance(v, float | np.floating) else int(v)) for k, v in row.items()}
    engine = {k: v for k, v in run.engine.items() if k not in ("calibration", "data_notes")}
    return {
        "scenario": run.name,
        "engine": {"name": engine.pop("engine", None), "label": run.engine_label, "parameters": engine},
        "counters_open": len(counters),
        "counters_24_7": len(all_day),
        "boroughs_without_24_7": [names[b] for b in without],
        "hubs": run.hubs.n_hubs if run.hubs else None,
        "london": figures,
        # from the nearest 24/7 counter (the figures under "london" are from any open counter)
        "london_24_7": run.beyond_24_7,
        "equality": run.equality,
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
    extra_inputs: Sequence[Path] = (),
) -> None:
    write_csv(counters, folder / "counters.csv")
    stations = ctx.stations(run.scenario, source).copy()
    open_ids = set(counters["station_id"])
    stations["open"] = stations["station_id"].isin(open_ids)
    stations["open_24_7"] = stations["station_id"].isin(set(counters.loc[counters["open_24_7"], "station_id"]))
    write_gpkg(stations, folder / "stations.gpkg", "stations")
    if len(stations) <= MATRIX_MAX_STATIONS:  # the scenario explorer re-scores plans from it
        write_travel_matrix(ctx.matrix(run.scenario, stations), folder)
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
    for label, table in run.equality_tables.items():
        write_csv(table, folder / f"equality_{label}.csv")
    for label, table in run.equality_wards.items():
        write_csv(table, folder / f"equality_wards_{label}.csv")
    if plan is not None:
        write_hubs(plan, london.study_wards, london.study_demand, folder / "hubs", engine=hub_engine)
    write_json(_summary(run), folder / "summary.json")
    manifest = _manifest(run, ctx, source, extra_inputs)
    manifest["outputs"] = output_hashes(folder)  # every file but the maps: an edit after the run is caught on read
    manifest["outputs"][MANIFEST_BODY] = manifest_digest(manifest)  # and the manifest's own parameters and engine
    write_json(manifest, folder / "manifest.json")


def _manifest(run: ScenarioRun, ctx: RunContext, source: str, extra_inputs: Sequence[Path] = ()) -> dict:
    paths = ctx.paths
    spec = run.scenario
    inputs = [*ctx.input_files(spec), *extra_inputs]
    files = {}
    for path in inputs:
        try:
            rel = str(Path(os.path.abspath(path)).relative_to(os.path.abspath(paths.root)))
        except ValueError:
            rel = str(path)
        files[rel] = sha256_file(path)
    scenario_file = None
    if Path(source).is_file():
        scenario_file = {"path": source, "sha256": sha256_file(source)}
    when = output_time()
    return {
        "planner_version": planner_version(),
        "scenario_file": scenario_file,
        "parameters": spec.model_dump(mode="json"),
        "engine": run.access[spec.threshold].engine,
        "inputs": files,
        "ran_at": when.isoformat(timespec="seconds"),
    }


def read_manifest(folder: str | os.PathLike[str]) -> tuple[Scenario, dict]:
    """The scenario and manifest of a run folder written by :func:`run_scenario`.

    Parameters
    ----------
    folder
        A run folder.
    """

    manifest = Path(folder) / "manifest.json"
    if not manifest.is_file():
        raise ScenarioError(f"{folder} is not a run folder (no manifest.json); run `planner run SCENARIO` first")
    try:
        meta = json.loads(manifest.read_text(encoding="utf-8"))
        return Scenario.model_validate(meta["parameters"]), meta
    except (ValueError, KeyError, TypeError) as exc:  # JSONDecodeError and pydantic's ValidationError are ValueErrors
        raise ScenarioError(
            f"{manifest}: not a run manifest this planner can read ({type(exc).__name__}: {exc}); "
            "run the scenario again"
        ) from exc


def load_run(folder: str | os.PathLike[str]) -> ScenarioRun:
    """Read a run folder written by :func:`run_scenario` back for comparison.

    Parameters
    ----------
    folder
        ``OUT/<scenario name>``.
    """
    folder = Path(folder)
    spec, meta = read_manifest(folder)
    labels = [f"{t:g}" for t in spec.thresholds]
    try:
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        counters = pd.read_csv(folder / "counters.csv", dtype={"station_id": str})
        points = pd.read_csv(folder / "access_points.csv", dtype={"station_id": str})
        wards = pd.read_csv(folder / f"access_wards_{labels[0]}.csv")
    except (OSError, ValueError) as exc:
        raise ScenarioError(
            f"{folder}: a run file is missing or cannot be read ({exc}); run the scenario again"
        ) from exc
    if not isinstance(summary, dict):
        raise ScenarioError(f"{folder / 'summary.json'}: not a table of figures; run the scenario again")
    check_summary(summary, path=folder / "summary.json", labels=labels)
    points = check_points(points, path=folder / "access_points.csv", summary=summary, labels=labels)
    check_tables(folder, summary=summary, counters=counters, points=points, engine=meta.get("engine") or {})
    check_outputs(folder, meta)
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
        engine=meta.get("engine") or {},
        equality=summary.get("equality") or {},
    )
