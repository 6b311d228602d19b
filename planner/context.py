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
from collections.abc import Mapping, Sequence
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
from planner.scenario import Scenario, load_scenario, resolve_counters
from planner.stations import load_stations
from planner.travel import TravelEngine, TravelMatrix, make_engine
from planner.travel.base import require_coverage

logger = logging.getLogger(__name__)

__all__ = ["ResolvedScenario", "RunContext", "counter_boroughs", "file_digests", "planner_version"]


def planner_version() -> str:
    """The installed package version (``"unknown"`` when running from a bare source tree)."""
    try:
        return version("planner")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
        return "unknown"


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


def file_digests(files: Sequence[str | os.PathLike[str]], root: str | os.PathLike[str]) -> dict[str, str]:
    """The sha256 of each file, named relative to the data directory (or absolute when outside it).

    Parameters
    ----------
    files
        Files a result was computed from.
    root
        The data directory.

    Returns
    -------
    dict
        Name to sha256, in the order given; a file is named as found in the data directory, symlinks or not.
    """
    base = Path(os.path.abspath(root))
    out = {}
    for path in files:
        full = Path(os.path.abspath(path))
        name = full.relative_to(base).as_posix() if full.is_relative_to(base) else str(full)
        out[name] = sha256_file(full)
    return out


@dataclass(frozen=True)
class ResolvedScenario:
    """A scenario with everything it names read and checked once: every later step takes this.

    Made by :meth:`RunContext.resolve`.

    Attributes
    ----------
    scenario
        The scenario as validated.
    source
        Where it came from (its file, or ``"scenario NAME"``), for messages.
    london
        The wards, boroughs and residents of its ward year, demand year and study area.
    stations
        The counter table it reads (its own ``counters.stations``, else the data directory's).
    counters
        The counters it opens, with ``open_24_7`` and ``borough_code``.
    engine
        The travel engine with its parameters (the scenario's, then any overrides).
    params
        Those parameters.
    input_files
        Every data file the figures depend on: wards, centroids, population, counter tables, equality
        tables, then what the engine declares it read
        (:meth:`~planner.travel.TravelEngine.input_files`).
    inputs
        Each of those files' sha256, named relative to the data directory.
    hub_options
        The hub model's options when the scenario plans hubs, else ``None``.
    """

    scenario: Scenario
    source: str
    london: London
    stations: gpd.GeoDataFrame
    counters: gpd.GeoDataFrame
    engine: TravelEngine
    params: Mapping[str, Any]
    input_files: tuple[Path, ...]
    inputs: Mapping[str, str]
    hub_options: HubOptions | None

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def points(self) -> gpd.GeoDataFrame:
        """The study area's demand points (LSOA population-weighted centroids with residents)."""
        return self.london.study_demand.points

    def input_key(self) -> dict[str, Any]:
        """What a result computed for this scenario depends on: file digests, engine, package version.

        Returns
        -------
        dict
            ``files`` (name to sha256), ``engine`` (:meth:`~planner.travel.TravelEngine.describe` of the
            configured engine), ``planner_version`` and the demand settings.
        """
        spec = self.scenario
        return {
            "files": dict(self.inputs),
            "engine": self.engine.describe(),
            "planner_version": planner_version(),
            "ward_year": spec.ward_year,
            "demand_year": spec.demand_year,
            "include_city": spec.include_city,
        }

    def input_digest(self) -> str:
        """A short hash of :meth:`input_key`: the key of caches computed from this scenario's inputs."""
        text = json.dumps(self.input_key(), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:20]


@dataclass
class RunContext:
    """Caches shared by several scenarios of one invocation: data, engines, travel matrices and hub plans.

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
    _resolved: dict[tuple, ResolvedScenario] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.data = resolve_data_dir(self.data)

    @property
    def paths(self) -> DataPaths:
        assert self.data is not None  # set in __post_init__
        return DataPaths(self.data)

    def resolve(
        self,
        scenario: Scenario | str | os.PathLike[str],
        *,
        source: str | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> ResolvedScenario:
        """Read and check everything ``scenario`` names, once per scenario and parameter set.

        Parameters
        ----------
        scenario
            A validated scenario, or its TOML file.
        source
            Where it came from, for messages (default ``"scenario NAME"``).
        params
            Engine parameters overriding the scenario's (a sensitivity sweep's grid point).

        Returns
        -------
        ResolvedScenario
            Its data, counters, engine and input files.

        Raises
        ------
        ScenarioError
            When its counter table is missing, or its selections name counters the table lacks.
        """
        if not isinstance(scenario, Scenario):
            source = source or str(scenario)
            scenario = load_scenario(scenario)
        where = source or f"scenario {scenario.name}"
        merged = {**scenario.engine.params, **(params or {})}
        key = (scenario.model_dump_json(), where, repr(sorted(merged.items())))
        if key not in self._resolved:
            london = self._london_of(scenario)
            stations = self._stations_of(scenario, where)
            counters, _ = resolve_counters(scenario, stations, source=where)
            counters["borough_code"] = counter_boroughs(counters, london.wards).to_numpy()
            engine = self._engine_of(scenario, merged)
            files = self._input_files(scenario, stations_file=self._stations_file(scenario), engine=engine)
            hubs = scenario.hubs
            options = hubs.options() if hubs.enabled else None
            self._resolved[key] = ResolvedScenario(
                scenario=scenario,
                source=where,
                london=london,
                stations=stations,
                counters=counters,
                engine=engine,
                params=merged,
                input_files=files,
                inputs=file_digests(files, self.paths.root),
                hub_options=options,
            )
        return self._resolved[key]

    def london(self, *, ward_year: int = 2014, demand_year: int = 2019, include_city: bool = False) -> London:
        """The wards, counters and residents of the data directory, read once per setting.

        The commands that take options rather than a scenario file (``access``, ``hubs``, ``calibrate``)
        load through this, as :meth:`resolve` does.

        Parameters
        ----------
        ward_year, demand_year, include_city
            As a scenario's fields of the same names.

        Returns
        -------
        London
            See :func:`planner.london.load_london`.
        """
        key = (ward_year, demand_year, include_city)
        if key not in self._london:
            self._london[key] = load_london(
                self.data, ward_year=ward_year, demand_year=demand_year, include_city=include_city
            )
        return self._london[key]

    def _london_of(self, scenario: Scenario) -> London:
        return self.london(
            ward_year=scenario.ward_year, demand_year=scenario.demand_year, include_city=scenario.include_city
        )

    def _stations_file(self, scenario: Scenario) -> Path | None:
        """The scenario's own counter table, if it names one."""
        if scenario.counters.stations is None:
            return None
        path = Path(scenario.counters.stations)
        return path if path.is_absolute() else self.paths.root / path

    def _stations_of(self, scenario: Scenario, where: str) -> gpd.GeoDataFrame:
        path = self._stations_file(scenario)
        if path is None:
            return self._london_of(scenario).stations
        if path.is_dir():
            raise ScenarioError(f"{where}: counters.stations: {path} is a folder; name the stations file itself")
        if not path.is_file():
            raise ScenarioError(f"{where}: counters.stations: file {path} does not exist")
        key = str(path)
        if key not in self._stations:
            self._stations[key] = load_stations(path)
        return self._stations[key]

    def engine(
        self, name: str, *, params: Mapping[str, Any] | None = None, osm: str | os.PathLike[str] | None = None
    ) -> TravelEngine:
        """A travel engine of the registry with its parameters, built once per setting.

        Parameters
        ----------
        name
            An engine name (:data:`planner.travel.registry.ENGINES`).
        params
            Its parameters.
        osm
            The OSM file of the ``network`` engine.

        Returns
        -------
        TravelEngine
            See :func:`planner.travel.make_engine`.
        """
        params = dict(params or {})
        key = repr((name, None if osm is None else str(osm), sorted(params.items())))
        if key not in self._engines:
            self._engines[key] = make_engine(name, data=self.paths, params=params, osm=osm)
        return self._engines[key]

    def _engine_of(self, scenario: Scenario, params: dict[str, Any]) -> TravelEngine:
        return self.engine(scenario.engine.name, params=params, osm=scenario.engine.osm)

    def _input_files(self, scenario: Scenario, *, stations_file: Path | None, engine: TravelEngine) -> tuple[Path, ...]:
        paths = self.paths
        files = [paths.wards(scenario.ward_year), paths.centroids, paths.population(scenario.demand_year)]
        files.append(paths.stations)
        if stations_file is not None:
            files.append(stations_file)
        files += equality_files(paths.root, imd_year=scenario.imd_year)
        files += engine.input_files()
        return tuple(dict.fromkeys(files))

    def groups(self, resolved: ResolvedScenario) -> GroupResidents:
        """Residents of each equality group per demand point of the scenario's study area."""
        spec = resolved.scenario
        key = (spec.ward_year, spec.demand_year, spec.include_city, spec.imd_year)
        if key not in self._groups:
            london = resolved.london
            self._groups[key] = group_residents(
                self.paths.root,
                london.study_demand.points,
                imd_year=spec.imd_year,
                population_codes=london.demand.points["point_id"],
            )
        return self._groups[key]

    def hub_plan(self, resolved: ResolvedScenario) -> tuple[HubPlan, TravelEngine]:
        """The hub plan for the scenario's hub settings (it does not depend on the open counters)."""
        spec = resolved.scenario
        key = repr((spec.hubs, spec.ward_year, spec.demand_year, spec.include_city))
        if key not in self._hubs:
            london = resolved.london
            engine = self.engine(spec.hubs.engine)
            options = resolved.hub_options or spec.hubs.options()
            plan = plan_hubs(london.study_wards, london.study_demand, engine=engine, options=options)
            self._hubs[key] = (plan, engine)
        return self._hubs[key]

    def matrix(self, resolved: ResolvedScenario) -> TravelMatrix:
        """Minutes from every demand point to every station of its table, computed once per engine setting."""
        spec = resolved.scenario
        stations = resolved.stations
        key = (
            repr((spec.engine.name, spec.engine.osm, sorted(resolved.params.items()))),
            spec.ward_year,
            spec.demand_year,
            spec.include_city,
            tuple(stations["station_id"]),
        )
        if key not in self._matrices:
            points = resolved.points
            matrix = resolved.engine.matrix(points, stations)
            require_coverage(
                points["population"].to_numpy(), matrix.minutes, engine=spec.engine.name, source=spec.engine.osm
            )
            self._matrices[key] = matrix
        return self._matrices[key]
