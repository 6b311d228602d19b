"""Shared caches for one invocation: data, engines and travel matrices, and what they were read from.

:class:`RunContext` is the one place that loads a scenario's data and engine, so the commands that
run several scenarios (``run``, ``compare``, ``optimise``, ``proposals``, ``sweep``) share them, and
the one place that lists every file a result depends on, so caches keyed on those files are never
reused across different inputs.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import warnings
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from planner.config import DataPaths, resolve_data_dir
from planner.equality import GroupResidents, equality_files, group_residents
from planner.errors import PlannerWarning, ScenarioError
from planner.hubs import HubOptions, HubPlan, plan_hubs
from planner.io import sha256_file
from planner.london import London, load_london
from planner.scenario import Scenario
from planner.stations import load_stations
from planner.travel import TravelEngine, TravelMatrix, make_engine
from planner.travel.base import require_coverage

logger = logging.getLogger(__name__)

__all__ = ["RunContext", "counter_boroughs", "planner_version"]


def planner_version() -> str:
    """The installed package version (``"unknown"`` when running from a bare source tree)."""
    try:
        return version("planner")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "unknown"


def _engine_key(spec: object) -> str:
    return repr(spec)


def counter_boroughs(counters: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> pd.Series:
    """Borough code of each counter: from its ``borough`` name column, else the ward it lies in.

    A name no ward's borough has, or a name that contradicts the ward the counter lies in, is said in a
    warning naming the counters (each borough's 24/7 counter depends on it).

    Parameters
    ----------
    counters
        Counters with point geometry (EPSG:27700) and, optionally, a ``borough`` name column.
    wards
        Ward polygons with ``borough_code`` and ``borough_name``.
    """
    names = dict(zip(wards["borough_name"], wards["borough_code"], strict=False))
    joined = gpd.sjoin_nearest(counters[["station_id", "geometry"]], wards[["borough_code", "geometry"]], how="left")
    located = joined[~joined.index.duplicated()]["borough_code"].reindex(counters.index)
    if "borough" not in counters.columns:
        return located
    codes = counters["borough"].map(names)
    named = counters["borough"].notna() & (counters["borough"].astype(str).str.strip() != "")
    unknown = codes.isna() & named
    if unknown.any():
        _say(
            f"counter(s) {_listed(counters, unknown)}: no borough of the ward file has that name, so the borough "
            "is taken from where the counter lies; check the spelling (e.g. 'Kingston upon Thames')"
        )
    against = codes.notna() & located.notna() & (codes != located)
    accuracy = pd.to_numeric(counters["coord_accuracy_m"], errors="coerce") if "coord_accuracy_m" in counters else None
    for i in counters.index[against]:  # within its stated accuracy (or 200 m) of the named borough: a border case
        stated = accuracy[i] if accuracy is not None and pd.notna(accuracy[i]) else 0.0
        named_area = wards.loc[wards["borough_code"] == codes[i]]
        if len(named_area) and counters.geometry[i].distance(named_area.union_all()) <= max(200.0, float(stated)):
            against[i] = False
    if against.any():
        lies = {c: n for n, c in names.items()}
        where = ", ".join(
            f"{counters.at[i, 'station_id']} (borough {counters.at[i, 'borough']!r}, lies in {lies.get(located[i])})"
            for i in counters.index[against][:5]
        )
        _say(
            f"{int(against.sum())} counter(s) lie outside the borough their borough column names: {where}; the "
            "column is used (it decides each borough's 24/7 counter): correct it, or the coordinates"
        )
    return codes.fillna(located)


def _listed(frame: pd.DataFrame, mask: pd.Series) -> str:
    rows = frame.loc[mask]
    shown = ", ".join(f"{r.station_id} ({r.borough!r})" for r in rows.head(5).itertuples())
    return shown + (f" and {len(rows) - 5} more" if len(rows) > 5 else "")


def _say(message: str) -> None:
    warnings.warn(message, PlannerWarning, stacklevel=3)
    logger.warning(message)


@dataclass
class RunContext:
    """Caches shared by several scenarios of one invocation: data, engines and travel matrices.

    Parameters
    ----------
    data
        Data directory (default ``$PLANNER_DATA``).
    """

    data: Path | None = None
    _london: dict[tuple, London] = field(default_factory=dict)
    _engines: dict[str, TravelEngine] = field(default_factory=dict)
    _matrices: dict[tuple, TravelMatrix] = field(default_factory=dict)
    _stations: dict[str, gpd.GeoDataFrame] = field(default_factory=dict)
    _hubs: dict[str, tuple[HubPlan, TravelEngine]] = field(default_factory=dict)
    _groups: dict[tuple, GroupResidents] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data = resolve_data_dir(self.data)

    @property
    def paths(self) -> DataPaths:
        assert self.data is not None  # set in __post_init__
        return DataPaths(self.data)

    def london(self, scenario: Scenario) -> London:
        key = (scenario.ward_year, scenario.demand_year, scenario.include_city)
        if key not in self._london:
            self._london[key] = load_london(
                self.data,
                ward_year=scenario.ward_year,
                demand_year=scenario.demand_year,
                include_city=scenario.include_city,
            )
        return self._london[key]

    def groups(self, scenario: Scenario) -> GroupResidents:
        """Residents of each equality group per demand point of the scenario's study area."""
        key = (scenario.ward_year, scenario.demand_year, scenario.include_city, scenario.imd_year)
        if key not in self._groups:
            london = self.london(scenario)
            self._groups[key] = group_residents(
                self.paths.root,
                london.study_demand.points,
                imd_year=scenario.imd_year,
                population_codes=london.demand.points["point_id"],
            )
        return self._groups[key]

    def stations_file(self, scenario: Scenario) -> Path:
        """The counter table the scenario reads (its own, else the data directory's)."""
        if scenario.counters.stations is None:
            return self.paths.stations
        path = Path(scenario.counters.stations)
        return path if path.is_absolute() else self.paths.root / path

    def stations(self, scenario: Scenario, where: str) -> gpd.GeoDataFrame:
        if scenario.counters.stations is None:
            return self.london(scenario).stations
        path = self.stations_file(scenario)
        if path.is_dir():
            raise ScenarioError(f"{where}: counters.stations: {path} is a folder; name the stations file itself")
        if not path.is_file():
            raise ScenarioError(f"{where}: counters.stations: file {path} does not exist")
        key = str(path)
        if key not in self._stations:
            self._stations[key] = load_stations(path)
        return self._stations[key]

    def engine(self, scenario: Scenario, params: dict[str, Any] | None = None) -> TravelEngine:
        """The scenario's travel engine, with ``params`` overriding its parameters."""
        spec = scenario.engine
        merged = {**spec.params, **(params or {})}
        key = _engine_key(spec) + repr(sorted(merged.items()))
        if key not in self._engines:
            self._engines[key] = make_engine(spec.name, data=self.paths, params=merged, osm=spec.osm)
        return self._engines[key]

    def hub_plan(self, scenario: Scenario) -> tuple[HubPlan, TravelEngine]:
        """The hub plan for the scenario's hub settings (it does not depend on the open counters)."""
        key = repr((scenario.hubs, scenario.ward_year, scenario.demand_year, scenario.include_city))
        if key not in self._hubs:
            london = self.london(scenario)
            spec = scenario.hubs
            engine = make_engine(spec.engine, data=self.paths)
            options = HubOptions(size=spec.wards_per_hub, hubs=spec.hubs, solver=spec.solver)
            plan = plan_hubs(london.study_wards, london.study_demand, engine=engine, options=options)
            self._hubs[key] = (plan, engine)
        return self._hubs[key]

    def matrix(self, scenario: Scenario, stations: gpd.GeoDataFrame) -> TravelMatrix:
        """Minutes from every demand point to every station of the file, computed once per engine setting."""
        london = self.london(scenario)
        key = (
            _engine_key(scenario.engine),
            scenario.ward_year,
            scenario.demand_year,
            scenario.include_city,
            tuple(stations["station_id"]),
        )
        if key not in self._matrices:
            points = london.study_demand.points
            matrix = self.engine(scenario).matrix(points, stations)
            require_coverage(
                points["population"].to_numpy(), matrix.minutes, engine=scenario.engine.name, source=scenario.engine.osm
            )
            self._matrices[key] = matrix
        return self._matrices[key]

    def input_files(self, scenario: Scenario, params: dict[str, Any] | None = None) -> list[Path]:
        """Every data file the scenario's demand, counters and travel times are read from.

        Wards, centroids and population; the data directory's counter table and the scenario's own; then
        the files the engine itself declares (:meth:`~planner.travel.TravelEngine.input_files`: the transit
        files it read, the OSM extract). Manifests and cache keys both use this one list.
        """
        paths = self.paths
        files = [paths.wards(scenario.ward_year), paths.centroids, paths.population(scenario.demand_year)]
        files.append(paths.stations)
        if scenario.counters.stations is not None:
            files.append(self.stations_file(scenario))
        files += equality_files(self.paths.root, imd_year=scenario.imd_year)
        files += self.engine(scenario, params).input_files()
        return list(dict.fromkeys(files))

    def input_key(self, scenario: Scenario, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """What a result computed for ``scenario`` depends on: file digests, engine, package version.

        Parameters
        ----------
        scenario
            The scenario.
        params
            Engine parameters overriding the scenario's.

        Returns
        -------
        dict
            ``files`` (path relative to the data directory, or absolute, to sha256), ``engine``
            (:meth:`~planner.travel.TravelEngine.describe` of the configured engine),
            ``planner_version`` and the demand settings.
        """
        root = Path(os.path.abspath(self.paths.root))
        files = {}
        for path in self.input_files(scenario, params):
            full = Path(os.path.abspath(path))  # named as found in the data directory, symlinks or not
            name = full.relative_to(root).as_posix() if full.is_relative_to(root) else str(full)
            files[name] = sha256_file(full)
        return {
            "files": files,
            "engine": self.engine(scenario, params).describe(),
            "planner_version": planner_version(),
            "ward_year": scenario.ward_year,
            "demand_year": scenario.demand_year,
            "include_city": scenario.include_city,
        }

    def input_digest(self, scenario: Scenario, params: dict[str, Any] | None = None) -> str:
        """A short hash of :meth:`input_key`."""
        text = json.dumps(self.input_key(scenario, params), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:20]
