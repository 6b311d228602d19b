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
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.assess import assess
from planner.context import ResolvedScenario, RunContext, file_digests
from planner.equality import equality_table, summary_entry, ward_table
from planner.errors import PlannerError, ScenarioError
from planner.io import (
    check_out_beside_data,
    check_out_dir,
    finish_staging,
    locked_folder,
    remove_leftovers,
    replaceable,
    staging_folder,
)
from planner.maps import write_maps
from planner.postcodes import postcode_file, write_postcode_access
from planner.runfolder import MATRIX_MAX_STATIONS, ScenarioRun, write_run
from planner.scenario import Scenario, load_scenario
from planner.stats import access_figures
from planner.travel import NearestResult
from planner.travel.base import require_coverage

__all__ = ["MATRIX_MAX_STATIONS", "run_scenario"]

logger = logging.getLogger(__name__)


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
    _same_scenario_file(Path(out) / spec.name, source)
    step(f"{spec.name}: loading data")
    resolved = ctx.resolve(spec, source=source)
    step(f"{spec.name}: travel times ({spec.engine.name})")
    try:
        nearest_of = _nearest_search(ctx, resolved)
        nearest = nearest_of(resolved.counters["station_id"].tolist())
    except PlannerError as exc:
        raise ScenarioError(f"{source}: engine: {exc}") from exc
    run = _results(ctx, resolved, nearest_of, nearest, hubs=spec.hubs.enabled if hubs is None else hubs, step=step)
    step(f"{spec.name}: writing")
    final = Path(out) / spec.name
    # one writer at a time per output folder; unfinished folders of killed runs are removed first
    with locked_folder(final.parent):
        remove_leftovers(final.parent)
        replaceable(final)
        tmp = staging_folder(final.parent, spec.name)
        try:
            extra = _postcodes(tmp, ctx, resolved, step) if maps else {}
            matrix = ctx.matrix(resolved) if len(resolved.stations) <= MATRIX_MAX_STATIONS else None
            write_run(run, tmp, resolved, matrix=matrix, plan=run.hubs, hub_engine=run.hub_engine, extra_inputs=extra)
            if maps:
                step(f"{spec.name}: maps")
                write_maps(tmp, reference_dir=reference, offline=offline_maps)
            finish_staging(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    run.out_dir = final
    return run


def _same_scenario_file(folder: Path, source: str) -> None:
    """Refuse to replace the run of another scenario file that has the same name (say, a plan downloaded from
    the explorer under the reference's name): rerunning the same file replaces its folder as before."""
    manifest = folder / "manifest.json"
    if not manifest.is_file() or not Path(source).is_file():
        return
    try:
        before = (json.loads(manifest.read_text(encoding="utf-8")).get("scenario_file") or {}).get("path")
    except (ValueError, AttributeError):
        return  # an unreadable manifest is replaced as before
    if before and Path(before).is_file() and Path(before).resolve() != Path(source).resolve():
        raise ScenarioError(
            f"{folder} holds the run of {before}, another scenario file with the same name as {source}; "
            "running it would replace that run: give this scenario another `name`, or another `out` folder"
        )


def _results(
    ctx: RunContext,
    resolved: ResolvedScenario,
    nearest_of: Callable[[list[str]], NearestResult],
    nearest: NearestResult,
    *,
    hubs: bool,
    step: Callable[[str], None],
) -> ScenarioRun:
    """The run's figures in memory: access per threshold, the hub plan, the 24/7 figures, the equality view."""
    spec, london, counters = resolved.scenario, resolved.london, resolved.counters
    demand = london.study_demand
    access = {t: assess(demand, counters, resolved.engine, threshold=t, nearest=nearest) for t in spec.thresholds}
    plan = hub_engine = None
    if hubs:
        step(f"{spec.name}: hub plan")
        plan, hub_engine = ctx.hub_plan(resolved)
    groups = ctx.groups(resolved)
    tables = {f"{t:g}": equality_table(access[t].points, groups, threshold=t) for t in spec.thresholds}
    primary = access[spec.threshold]
    return ScenarioRun(
        scenario=spec,
        counters=pd.DataFrame(counters.drop(columns="geometry")),
        points=primary.points.drop(columns=["beyond", "status"]),
        wards=demand.wards[["ward_code", "ward_name", "borough_code", "borough_name", "population"]],
        boroughs=london.study_wards[["borough_code", "borough_name"]].drop_duplicates().sort_values("borough_code"),
        access=access,
        hubs=plan,
        hub_engine=hub_engine,
        engine=primary.engine,
        beyond_24_7=beyond_24_7(nearest_of, counters, demand.points, spec.thresholds),
        equality=summary_entry(tables, groups),
        equality_tables=tables,
        equality_wards={f"{t:g}": ward_table(access[t].points, groups, threshold=t) for t in spec.thresholds},
    )


def _postcodes(
    folder: Path, ctx: RunContext, resolved: ResolvedScenario, step: Callable[[str], None]
) -> dict[str, str]:
    """The resident map's postcode answers; the file they were read from, with its hash, for the manifest."""
    step(f"{resolved.name}: postcodes")
    root = ctx.paths.root
    wrote = write_postcode_access(
        folder, root, resolved.counters, resolved.engine, wards=resolved.london.wards, candidates=resolved.stations
    )
    source = postcode_file(root)
    return file_digests([source], root) if wrote and source is not None else {}


def _nearest_search(ctx: RunContext, resolved: ResolvedScenario) -> Callable[[list[str]], NearestResult]:
    """How to find each point's nearest counter among some station ids: from the shared matrix, or by search."""
    spec, stations, engine, points = resolved.scenario, resolved.stations, resolved.engine, resolved.points
    if len(stations) <= MATRIX_MAX_STATIONS:
        matrix = ctx.matrix(resolved)
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


def beyond_24_7(
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
