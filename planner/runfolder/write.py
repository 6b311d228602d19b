"""Writing a run folder: every table, the summary and the manifest that lists and hashes them.

The caller (:func:`planner.run.run_scenario`) writes into a staging folder and renames it into place, so a
run that fails leaves no folder behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from planner.clock import output_time
from planner.context import ResolvedScenario, planner_version
from planner.hubs import HubPlan, write_hubs
from planner.io import sha256_file, write_csv, write_gpkg, write_json
from planner.runfolder.files import (
    ACCESS_GPKG,
    COUNTERS_FILE,
    LONDON_FILE,
    MANIFEST_FILE,
    POINTS_FILE,
    STATIONS_GPKG,
    SUMMARY_FILE,
    boroughs_file,
    equality_file,
    equality_wards_file,
    wards_file,
)
from planner.runfolder.hashes import MANIFEST_BODY, manifest_digest, output_hashes
from planner.runfolder.matrix import write_travel_matrix
from planner.runfolder.model import ScenarioRun
from planner.travel import TravelEngine, TravelMatrix

__all__ = [
    "run_manifest",
    "run_summary",
    "write_run",
]


def run_summary(run: ScenarioRun) -> dict:
    """``summary.json``: the run's headline figures, from any open counter and from a 24/7 counter.

    Parameters
    ----------
    run
        An in-memory run (with its ``access`` results).

    Returns
    -------
    dict
        Counters open and 24/7, boroughs without a 24/7 counter, hubs, figures per threshold, equality.
    """
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


def write_run(
    run: ScenarioRun,
    folder: str | Path,
    resolved: ResolvedScenario,
    *,
    matrix: TravelMatrix | None,
    plan: HubPlan | None = None,
    hub_engine: TravelEngine | None = None,
    extra_inputs: Mapping[str, str] | None = None,
) -> None:
    """Write every table of a run into ``folder``, then ``manifest.json`` with the hash of each.

    Parameters
    ----------
    run
        The in-memory run.
    folder
        The (staging) run folder, which exists.
    resolved
        The scenario it ran, with its data, counter table and input files.
    matrix
        Minutes from every point to every station of the table (the scenario explorer re-scores from it),
        or ``None`` for a table too large for a matrix.
    plan, hub_engine
        The hub plan and the engine that timed residents' trips to its sites, if the run planned hubs.
    extra_inputs
        Further files the outputs read (name to sha256), such as the postcode table of the resident map.
    """
    folder = Path(folder)
    london = resolved.london
    counters = resolved.counters
    write_csv(counters, folder / COUNTERS_FILE)
    stations = resolved.stations.copy()
    stations["open"] = stations["station_id"].isin(set(counters["station_id"]))
    stations["open_24_7"] = stations["station_id"].isin(set(counters.loc[counters["open_24_7"], "station_id"]))
    write_gpkg(stations, folder / STATIONS_GPKG, "stations")
    if matrix is not None:
        write_travel_matrix(matrix, folder)
    points = run.points.copy()
    for t in run.scenario.thresholds:
        points[f"beyond_{t:g}"] = run.access[t].points["beyond"].to_numpy()
    write_csv(points, folder / POINTS_FILE)
    london_rows = []
    for t, res in run.access.items():
        write_csv(res.wards, folder / wards_file(t))
        write_csv(res.boroughs, folder / boroughs_file(t))
        write_gpkg(res.ward_frame(london.study_wards), folder / ACCESS_GPKG, f"wards_{t:g}")
        london_rows.append(res.london.assign(threshold=t))
    write_csv(pd.concat(london_rows, ignore_index=True), folder / LONDON_FILE)
    for label, table in run.equality_tables.items():
        write_csv(table, folder / equality_file(label))
    for label, table in run.equality_wards.items():
        write_csv(table, folder / equality_wards_file(label))
    if plan is not None:
        write_hubs(plan, london.study_wards, london.study_demand, folder / "hubs", engine=hub_engine)
    write_json(run_summary(run), folder / SUMMARY_FILE)
    manifest = run_manifest(run, resolved, extra_inputs)
    manifest["outputs"] = output_hashes(folder)  # every file but the maps: an edit after the run is caught on read
    manifest["outputs"][MANIFEST_BODY] = manifest_digest(manifest)  # and the manifest's own parameters and engine
    write_json(manifest, folder / MANIFEST_FILE)


def run_manifest(run: ScenarioRun, resolved: ResolvedScenario, extra_inputs: Mapping[str, str] | None = None) -> dict:
    """``manifest.json`` without its ``outputs``: the scenario, its engine, its input files' hashes and when.

    Parameters
    ----------
    run
        The in-memory run.
    resolved
        The scenario it ran.
    extra_inputs
        Further files the outputs read (name to sha256).

    Returns
    -------
    dict
        ``planner_version``, ``scenario_file``, ``parameters``, ``engine``, ``inputs`` and ``ran_at``.
    """
    spec = run.scenario
    source = resolved.source
    scenario_file = {"path": source, "sha256": sha256_file(source)} if Path(source).is_file() else None
    return {
        "planner_version": planner_version(),
        "scenario_file": scenario_file,
        "parameters": spec.model_dump(mode="json"),
        "engine": run.access[spec.threshold].engine,
        "inputs": {**resolved.inputs, **(extra_inputs or {})},
        "ran_at": output_time().isoformat(timespec="seconds"),
    }
