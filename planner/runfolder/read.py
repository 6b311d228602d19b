"""Reading run folders back, strictly: one reader for compare, the report, the maps and the explorer.

:func:`read_run_outputs` reads every table the report and the maps draw, checks them
(:mod:`planner.runfolder.checks`) and the hashes of the manifest, and refuses a folder that is
incomplete, edited or written by another version of planner, naming the file; :func:`load_run` gives the
same folder as a :class:`~planner.runfolder.ScenarioRun` for comparison; :func:`read_sweep` reads a
sweep folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from planner.errors import DataError, ScenarioError
from planner.runfolder.checks import check_points, check_summary, check_tables
from planner.runfolder.files import (
    ACCESS_GPKG,
    COUNTERS_FILE,
    HUBS_DIR,
    MANIFEST_FILE,
    POINTS_FILE,
    STATIONS_GPKG,
    SUMMARY_FILE,
    boroughs_file,
    equality_wards_file,
    wards_file,
)
from planner.runfolder.hashes import check_outputs
from planner.runfolder.matrix import read_travel_matrix
from planner.runfolder.model import ScenarioRun
from planner.runfolder.sets import RunIdentity, check_run_set
from planner.scenario import Scenario
from planner.travel import TravelMatrix

__all__ = [
    "RunOutputs",
    "SweepOutputs",
    "check_run_outputs",
    "check_sweeps",
    "load_run",
    "read_manifest",
    "read_run_outputs",
    "read_sweep",
    "sweep_differences",
]


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
    """Read a run folder written by :func:`~planner.run.run_scenario` back for comparison.

    The same strict reading as :func:`read_run_outputs`, given as a :class:`ScenarioRun`.

    Parameters
    ----------
    folder
        ``OUT/<scenario name>``.

    Returns
    -------
    ScenarioRun
        Its scenario, counters, points, wards and boroughs, engine and equality figures.
    """
    run = read_run_outputs(folder)
    wards = run.wards[run.labels[0]]
    boroughs = wards[["borough_code", "borough_name"]].drop_duplicates().sort_values("borough_code")
    hubs_csv = run.folder / HUBS_DIR / "hubs.csv"
    return ScenarioRun(
        run.scenario,
        run.counters,
        run.points,
        wards,
        boroughs,
        out_dir=run.folder,
        hub_table=pd.read_csv(hubs_csv) if hubs_csv.is_file() else None,
        engine=run.engine,
        equality=run.equality,
    )


@dataclass
class RunOutputs:
    """One run folder as read back: what compare, the report, the maps and the explorer draw on.

    Attributes
    ----------
    folder
        The run folder.
    scenario
        The scenario, from ``manifest.json``.
    manifest
        ``manifest.json``.
    summary
        ``summary.json``.
    counters
        ``counters.csv``: the open counters.
    points
        ``access_points.csv``: minutes and residents per demand point.
    wards
        Threshold label (``"45"``) → ``access_wards_<T>.csv``.
    boroughs
        Threshold label → ``access_boroughs_<T>.csv``.
    ward_layer
        The primary threshold's ward layer of ``access.gpkg``.
    stations
        ``stations.gpkg`` with ``open`` and ``open_24_7``.
    hubs, hub_sites, ward_hubs
        The hub plan's polygons, sites and each ward's hub (``hubs/hubs.gpkg``), when the run has one.
    matrix
        ``travel_matrix.csv``, when read with ``matrix=True``.
    group_wards
        ``equality_wards_<T>.csv`` of the primary threshold: each resident group's residents beyond, by
        ward (``None`` for a run without the equality tables).
    """

    folder: Path
    scenario: Scenario
    manifest: dict
    summary: dict
    counters: pd.DataFrame
    points: pd.DataFrame
    wards: dict[str, pd.DataFrame]
    boroughs: dict[str, pd.DataFrame]
    ward_layer: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    hubs: gpd.GeoDataFrame | None = None
    hub_sites: gpd.GeoDataFrame | None = None
    ward_hubs: pd.DataFrame | None = None
    group_wards: pd.DataFrame | None = None
    matrix: TravelMatrix | None = None

    @property
    def threshold(self) -> float:
        """The primary threshold, in minutes."""
        return self.scenario.threshold

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def labels(self) -> list[str]:
        """Threshold labels, the primary first (``["45", "60"]``)."""
        return [f"{t:g}" for t in self.scenario.thresholds]

    @property
    def engine(self) -> dict:
        return self.manifest["engine"]

    @property
    def equality(self) -> dict:
        """``summary.json``'s ``equality`` entry (empty for a run made before the equality view)."""
        return self.summary.get("equality") or {}


def _rerun_with(meta: dict | None) -> str:
    source = (meta or {}).get("scenario_file") or {}
    return f"re-run it with `planner run {source.get('path', 'SCENARIO.toml')} --out ...`"


def _read_json(path: Path, meta: dict | None = None) -> dict:
    if not path.is_file():
        raise DataError(f"{path.parent}: the run folder has no {path.name}; it is incomplete: {_rerun_with(meta)}")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc}); {_rerun_with(meta)}") from exc
    if not isinstance(doc, dict):
        raise DataError(f"{path}: expected a JSON object; {_rerun_with(meta)}")
    return doc


def _need(folder: Path, name: str, meta: dict) -> Path:
    path = folder / name
    if not path.is_file():
        raise DataError(f"{folder}: the run folder has no {name}; it is incomplete: {_rerun_with(meta)}")
    return path


def read_run_outputs(folder: str | os.PathLike[str], *, matrix: bool = False) -> RunOutputs:
    """Read and check one run folder: the one strict reader of compare, the report, the maps and the explorer.

    Parameters
    ----------
    folder
        ``OUT/<scenario>`` written by ``planner run``.
    matrix
        Also read and check ``travel_matrix.csv`` (the scenario explorer's input).

    Returns
    -------
    RunOutputs
        Its tables and layers, checked against each other and against the manifest's hashes.

    Raises
    ------
    DataError
        The folder is missing, incomplete, changed after the run, or was written by an older planner;
        the message names the folder and the file.
    """
    if not isinstance(folder, str | os.PathLike):
        raise DataError(f"`folder` must be a run folder's path (got {folder!r})")
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such run folder; write one with `planner run SCENARIO.toml --out ...`")
    meta, scenario = _manifest_of(folder)
    labels = [f"{t:g}" for t in scenario.thresholds]
    summary = _summary_of(folder, meta, labels)
    tables = _tables_of(folder, meta, labels)
    counters, points, wards, boroughs, layer, stations = tables
    points = check_points(points, path=folder / POINTS_FILE, summary=summary, labels=labels)
    check_tables(folder, summary=summary, counters=counters, points=points, boroughs=boroughs, engine=meta["engine"])
    run = RunOutputs(folder, scenario, meta, summary, counters, points, wards, boroughs, layer, stations)
    hub_file = folder / HUBS_DIR / "hubs.gpkg"
    if hub_file.is_file():
        run.hubs = pyogrio.read_dataframe(hub_file, layer="hubs")
        run.hub_sites = pyogrio.read_dataframe(hub_file, layer="hub_sites")
        run.ward_hubs = pyogrio.read_dataframe(hub_file, layer="ward_hubs", read_geometry=False)
    group_file = folder / equality_wards_file(labels[0])
    if group_file.is_file():
        run.group_wards = pd.read_csv(group_file, dtype={"ward_code": str, "group": str})
    if matrix:
        open_ids = stations.loc[stations["open"].astype(bool), "station_id"].astype(str).tolist()
        ids = stations["station_id"].astype(str).tolist()
        run.matrix = read_travel_matrix(folder, points=points, station_ids=ids, open_ids=open_ids)
    check_outputs(folder, meta)  # after the checks above, which name what is wrong in a file they read
    return run


def _manifest_of(folder: Path) -> tuple[dict, Scenario]:
    if not (folder / MANIFEST_FILE).is_file():
        raise DataError(
            f"{folder} is not a run folder (no {MANIFEST_FILE}); write one with `planner run SCENARIO.toml --out ...`"
        )
    meta = _read_json(folder / MANIFEST_FILE)
    missing = [k for k in ("parameters", "engine", "inputs", "planner_version") if k not in meta]
    if missing:
        raise DataError(
            f"{folder / MANIFEST_FILE}: no {missing}: not a run manifest of this planner; {_rerun_with(meta)}"
        )
    try:
        return meta, Scenario.model_validate(meta["parameters"])
    except ValueError as exc:
        raise DataError(
            f"{folder / MANIFEST_FILE}: written by another version of planner "
            f"({meta.get('planner_version')}): its scenario does not validate ({exc}); {_rerun_with(meta)}"
        ) from exc


def _summary_of(folder: Path, meta: dict, labels: list[str]) -> dict:
    summary = _read_json(folder / SUMMARY_FILE, meta)
    if "london_24_7" not in summary:
        raise DataError(
            f"{folder / SUMMARY_FILE}: written by an older planner (version {meta.get('planner_version')}) "
            f"without the residents beyond each threshold from a 24/7 counter ('london_24_7'); {_rerun_with(meta)}"
        )
    for key in ("london", "london_24_7"):
        lost = [t for t in labels if t not in summary[key]]
        if lost:
            raise DataError(
                f"{folder / SUMMARY_FILE}: '{key}' has no figures for threshold(s) {lost} of the manifest; "
                f"{_rerun_with(meta)}"
            )
    check_summary(summary, path=folder / SUMMARY_FILE, labels=labels)
    return summary


#: Columns each table must have (an older planner's folder lacks some).
_NEEDED = {
    POINTS_FILE: {"minutes", "population", "reachable", "ward_code"},
    COUNTERS_FILE: {"station_id", "name", "open_24_7"},
    STATIONS_GPKG: {"station_id", "open", "open_24_7"},
    ACCESS_GPKG: {"ward_code", "borough_code", "mean_minutes"},
}


def _tables_of(folder: Path, meta: dict, labels: list[str]) -> tuple:
    """The counters, points, ward and borough tables, ward layer and stations, each with its columns."""
    names = (
        COUNTERS_FILE,
        POINTS_FILE,
        ACCESS_GPKG,
        STATIONS_GPKG,
        *map(wards_file, labels),
        *map(boroughs_file, labels),
    )
    paths = {name: _need(folder, name, meta) for name in names}
    try:
        counters = pd.read_csv(paths[COUNTERS_FILE], dtype={"station_id": str})
        points = pd.read_csv(paths[POINTS_FILE], dtype={"station_id": str, "ward_code": str})
        wards = {t: pd.read_csv(paths[wards_file(t)], dtype={"ward_code": str}) for t in labels}
        boroughs = {t: pd.read_csv(paths[boroughs_file(t)]) for t in labels}
        layer = pyogrio.read_dataframe(paths[ACCESS_GPKG], layer=f"wards_{labels[0]}")
        stations = pyogrio.read_dataframe(paths[STATIONS_GPKG], layer="stations")
    except (OSError, ValueError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise DataError(f"{folder}: a run file cannot be read ({exc}); {_rerun_with(meta)}") from exc
    for name, frame in (
        (POINTS_FILE, points),
        (COUNTERS_FILE, counters),
        (STATIONS_GPKG, stations),
        (ACCESS_GPKG, layer),
    ):
        _columns(paths[name], frame, _NEEDED[name], meta)
    for t in labels:
        _columns(paths[boroughs_file(t)], boroughs[t], {"borough_name", "beyond", "population"}, meta)
        _columns(paths[wards_file(t)], wards[t], {"ward_code", "ward_name", "mean_minutes"}, meta)
    return counters, points, wards, boroughs, layer, stations


def _columns(path: Path, frame: pd.DataFrame, needed: set[str], meta: dict) -> None:
    lost = sorted(needed - set(frame.columns))
    if lost:
        raise DataError(f"{path}: no column(s) {lost}: written by another version of planner; {_rerun_with(meta)}")


def check_run_outputs(runs: list[RunOutputs], *, allow_mixed: bool = False) -> list[str]:
    """Refuse runs a report cannot set side by side (other thresholds, or a mixed set), else list differences.

    Parameters
    ----------
    runs
        Read run folders, the reference first.
    allow_mixed
        Set runs of different inputs, demand years or engines side by side, with the differences stated.

    Returns
    -------
    list of str
        What differs between the runs (empty for a clean set).
    """
    if not runs:
        raise DataError("no run folders given: pass one or more folders written by `planner run`")
    first = runs[0]
    for run in runs[1:]:
        if run.scenario.thresholds != first.scenario.thresholds:
            raise DataError(
                f"runs have different thresholds: {first.folder / 'manifest.json'} has "
                f"{first.labels} minutes, {run.folder / 'manifest.json'} has {run.labels}; "
                "a report compares runs at the same thresholds: re-run them with the same `thresholds`"
            )
    return check_run_set([RunIdentity.from_manifest(r.folder, r.manifest) for r in runs], allow_mixed=allow_mixed)


@dataclass
class SweepOutputs:
    """A sweep folder: its kind, and its critical counters or its parameter grid."""

    folder: Path
    kind: str
    critical: pd.DataFrame | None = None
    grid: pd.DataFrame | None = None
    plan: str = ""
    threshold: float | None = None
    definition: dict | None = None


def check_sweeps(sweeps: Sequence[SweepOutputs], runs: Sequence[RunOutputs]) -> None:
    """Refuse a marginal sweep of a plan that is none of the report's runs.

    A marginal sweep shows what closing each counter of one plan costs: that plan must be one of the report's.

    Parameters
    ----------
    sweeps
        Read sweep folders.
    runs
        The report's runs.
    """
    for sweep in sweeps:
        for run in runs:
            differs = sweep_differences(sweep.definition, run, grid=sweep.kind == "grid")
            if differs and (sweep.kind == "grid" or sweep.plan == run.scenario.name):
                raise DataError(
                    f"{sweep.folder}: the sweep was made with {'; '.join(differs)}, so its figures are not those "
                    f"of {run.folder}; sweep the run's own scenario file again"
                )
    plans = {r.scenario.name: set(r.counters["station_id"].astype(str)) for r in runs}
    for sweep in sweeps:
        if sweep.kind != "marginal" or sweep.critical is None or "station_id" not in sweep.critical.columns:
            continue
        ids = set(sweep.critical["station_id"].astype(str))
        if not any(ids == opened for opened in plans.values()):
            raise DataError(
                f"{sweep.folder}: a marginal sweep of {sweep.plan or 'a plan'} ({len(ids)} counters), whose counters "
                f"are those of none of the report's runs ({', '.join(plans)}); sweep one of them"
            )


def sweep_differences(definition: dict | None, run: RunOutputs, *, grid: bool = False) -> list[str]:
    """How a sweep was made differently from a run it is drawn with: its engine, parameters or input files.

    Parameters
    ----------
    definition
        The sweep's ``definition.json``.
    run
        The run.
    grid
        A grid sweep varies engine parameters, so only the engine and the input files must match.

    Returns
    -------
    list of str
        What differs (empty when the sweep describes the run's own figures).
    """
    inputs = (definition or {}).get("inputs") or {}
    swept = {k: v for k, v in (inputs.get("engine") or {}).items() if k not in ("calibration", "data_notes")}
    ran = {k: v for k, v in run.engine.items() if k not in ("calibration", "data_notes")}
    out = []
    if swept.get("engine") != ran.get("engine"):
        out.append(f"the {swept.get('engine', 'unknown')} engine, not the run's {ran.get('engine')}")
    elif not grid and swept != ran:
        keys = sorted(k for k in set(swept) | set(ran) if swept.get(k) != ran.get(k))
        out.append(
            "other engine parameters (" + ", ".join(f"{k}: {swept.get(k)} vs {ran.get(k)}" for k in keys[:4]) + ")"
        )
    files, run_files = inputs.get("files") or {}, run.manifest.get("inputs") or {}
    other = sorted(k for k in set(files) & set(run_files) if files[k] != run_files[k])
    if other:
        out.append(f"other data files ({', '.join(other[:3])})")
    return out


def read_sweep(folder: str | os.PathLike[str]) -> SweepOutputs:
    """Read a sweep folder written by ``planner sweep`` (marginal, pairs or grid).

    Parameters
    ----------
    folder
        The sweep's output folder.

    Raises
    ------
    DataError
        The folder or one of its files is missing; the message names them.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such sweep folder; write one with `planner sweep SCENARIO --kind ...`")
    definition = _read_json(folder / "definition.json")
    kind = definition.get("kind")
    plan = str((definition.get("scenario") or {}).get("name", ""))
    threshold = definition.get("threshold")
    hint = "run `planner sweep` again to finish it"
    if kind == "grid":
        path = folder / "results.parquet"
        if not path.is_file():
            raise DataError(f"{folder}: the sweep folder has no results.parquet; {hint}")
        grid = pd.read_parquet(path)
        if "param_bus_speed_kmh" not in grid.columns:
            raise DataError(
                f"{path}: the grid does not vary the bus speed "
                "(sweep it with `planner sweep SCENARIO --kind grid --bus-speed 12,15,18`)"
            )
        return SweepOutputs(folder, kind, grid=grid, plan=plan, definition=definition)
    if kind in ("marginal", "pairs"):
        path = folder / "critical_counters.csv"
        if not path.is_file():
            raise DataError(f"{folder}: the sweep folder has no critical_counters.csv; {hint}")
        critical = pd.read_csv(path, dtype={"station_id": str})
        return SweepOutputs(folder, kind, critical=critical, plan=plan, threshold=threshold, definition=definition)
    raise DataError(f"{folder / 'definition.json'}: unknown sweep kind {kind!r}")
