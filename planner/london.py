"""One call that loads everything planner needs from a data directory."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import cached_property

import geopandas as gpd

from planner.boundaries import load_boroughs, load_wards, met_wards
from planner.config import DataPaths, resolve_data_dir
from planner.demand import Demand, load_demand
from planner.errors import DataError, OptionError
from planner.stations import load_stations

__all__ = ["London", "data_summary", "load_london"]

logger = logging.getLogger(__name__)


@dataclass
class London:
    """The loaded London datasets.

    Attributes
    ----------
    paths
        Where the files were read from.
    wards
        Every ward of the chosen set, City included (see ``in_met``).
    stations
        Every row of the station file.
    demand
        Demand points and ward populations, City included.
    include_city
        Whether Met analyses keep the City of London.
    """

    paths: DataPaths
    ward_year: int
    wards: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    demand: Demand
    include_city: bool = False

    @cached_property
    def boroughs(self) -> gpd.GeoDataFrame:
        """Borough polygons (generalised, clipped to the coast)."""
        return load_boroughs(self.paths.boroughs, expected=self.study_wards["borough_code"].unique())

    @cached_property
    def study_wards(self) -> gpd.GeoDataFrame:
        """Wards in the study area: the Met's, unless the City is included."""
        return met_wards(self.wards, include_city=self.include_city)

    @cached_property
    def study_demand(self) -> Demand:
        """Demand in the study area."""
        return self.demand if self.include_city else self.demand.met()


def load_london(
    data: str | os.PathLike[str] | None = None,
    *,
    ward_year: int = 2014,
    demand_year: int = 2019,
    include_city: bool = False,
) -> London:
    """Load wards, stations and demand from a data directory.

    Parameters
    ----------
    data
        Data directory; defaults to ``$PLANNER_DATA``.
    ward_year
        Ward set: 2014 or 2018.
    demand_year
        Population year: 2019 or 2020.
    include_city
        Keep the City of London in Met analyses (off by default: the City of
        London Police polices it).

    Returns
    -------
    London
        The loaded data.
    """
    if not isinstance(include_city, bool):  # "no" would be true: the City's residents would join silently
        raise OptionError(f"`include_city` must be True or False, not {include_city!r}")
    paths = DataPaths(resolve_data_dir(data))
    wards = _ward_set(paths, ward_year)
    stations = load_stations(paths.stations)
    demand = load_demand(paths, wards=wards, year=demand_year)
    return London(paths, ward_year, wards, stations, demand, include_city)


def _ward_set(paths: DataPaths, year: int, layer: str | None = None) -> gpd.GeoDataFrame:
    """The wards of ``year``'s file, refused when its columns are another year's (a file copied over)."""
    wards = load_wards(paths.wards(year), layer=layer)
    edition = wards.attrs.get("edition")
    if edition and edition != str(year):
        raise DataError(
            f"{paths.wards(year)} has the columns of the London Datastore's {edition} ward file, not of its "
            f"{year} file: the file is misnamed or was copied over; put each year's download in its place "
            "(`planner data fetch`)"
        )
    return wards


def data_summary(data: str | os.PathLike[str] | None = None, *, demand_year: int = 2019) -> dict:
    """Validate a data directory and summarise it.

    Parameters
    ----------
    data
        Data directory; defaults to ``$PLANNER_DATA``.
    demand_year
        Population year to total.

    Returns
    -------
    dict
        ``ward_sets`` (features per set and layer), ``boroughs``,
        ``met_wards``, ``stations_by_status``, ``stations``, ``population``,
        ``population_year``, ``wards_without_centroid``.

    Raises
    ------
    PlannerError
        On the first problem found.
    """
    paths = DataPaths(resolve_data_dir(data))
    ward_sets = {}
    loaded = {}
    for year in (2014, 2018):
        for layer in ("London_Ward", "London_Ward_CityMerged"):
            loaded[(year, layer)] = _ward_set(paths, year, layer)
            ward_sets[f"{year} {layer}"] = len(loaded[(year, layer)])
    wards = loaded[(2014, "London_Ward")]
    stations = load_stations(paths.stations)
    demand = load_demand(paths, wards=wards, year=demand_year)
    status_cols = [c for c in stations.columns if c.startswith("status_")]
    by_status = {c: stations[c].replace("", "(blank)").value_counts().sort_index().to_dict() for c in status_cols}
    return {
        "data_dir": str(paths.root),
        "ward_sets": ward_sets,
        "boroughs": int(wards["borough_code"].nunique()),
        "borough_polygons": len(load_boroughs(paths.boroughs, expected=wards["borough_code"].unique())),
        "met_wards": int(wards["in_met"].sum()),
        "stations": len(stations),
        "stations_rejected": len(stations.attrs["rejected"]),
        "stations_by_status": by_status,
        "population": demand.total,
        "population_met": demand.met().total,
        "population_year": demand_year,
        "wards_without_centroid": len(demand.wards.attrs["empty_wards"]),
    }
