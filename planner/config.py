"""Settings shared across planner: CRS, data directory, policing area."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd

from planner.datasets import load_manifest
from planner.errors import CRSError, DataDirError, PlannerError

__all__ = [
    "BNG",
    "CITY_OF_LONDON_CODE",
    "DATA_ENV",
    "DataPaths",
    "require_bng",
    "resolve_data_dir",
]

#: British National Grid: every distance in planner is measured in this CRS.
BNG = "EPSG:27700"
#: GSS code of the City of London, policed by the City of London Police.
CITY_OF_LONDON_CODE = "E09000001"
#: Environment variable naming the data directory.
DATA_ENV = "PLANNER_DATA"


def resolve_data_dir(data: str | os.PathLike[str] | None = None) -> Path:
    """Return the data directory named by ``data`` or ``$PLANNER_DATA``.

    Parameters
    ----------
    data
        Directory given explicitly (for example by ``--data``); wins over the
        environment variable.

    Raises
    ------
    DataDirError
        If neither is set or the directory does not exist.
    """
    raw = data if data is not None else os.environ.get(DATA_ENV)
    if raw is None or str(raw) == "":
        raise DataDirError(
            "No data directory: pass `data` or set PLANNER_DATA to a folder laid out "
            "like data/README.md describes (boundaries/, population/, stations/, transit/)."
        )
    path = Path(raw).expanduser()
    if not path.is_dir():
        raise DataDirError(
            f"Data directory {path} does not exist; check `data` or PLANNER_DATA, or make one with "
            "`planner data fetch --dest DIR` (files without a public download come from a mirror: "
            "`planner data fetch --dest DIR --base-url URL`; see data/README.md)."
        )
    return path


@dataclass(frozen=True)
class DataPaths:
    """Locations of the files inside a data directory.

    Parameters
    ----------
    root
        The data directory.
    """

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))  # a str root works too

    def wards(self, year: int = 2014) -> Path:
        """Zipped ward shapefile of the 2014 or 2018 set."""
        return self._need(f"boundaries/London-wards-{year}.zip")

    @property
    def boroughs(self) -> Path:
        return self._need("boundaries/boroughs.gpkg")

    @property
    def centroids(self) -> Path:
        return self._need("population/lsoa11_population_weighted_centroids.csv")

    def population(self, year: int = 2019) -> Path:
        return self._need(f"population/lsoa11_mid{year}_population.csv")

    @property
    def stations(self) -> Path:
        return self._need("stations/front_counters_2017.csv")

    @property
    def bus_stops(self) -> Path:
        return self._need("transit/bus_stops.csv")

    @property
    def rail_graph(self) -> Path:
        return self._need("transit/rail_network.graphml")

    @property
    def bus_sequences(self) -> Path:
        """TfL bus route stop sequences (route-following public transport)."""
        return self._need("transit/bus_sequences_2016.csv")

    @property
    def rail_timetable(self) -> Path:
        """The National Rail timetable: the one ATOC CIF zip in ``transit/national_rail/``."""
        folder = self.root / "transit" / "national_rail"
        found = sorted(folder.glob("*.zip")) if folder.is_dir() else []
        if len(found) > 1:
            raise DataDirError(
                f"{folder} holds {len(found)} timetable zips ({', '.join(p.name for p in found)}); keep one "
                "(the full weekly CIF file from the Rail Delivery Group replaces the sample)"
            )
        if not found:
            return self._need("transit/national_rail/atoc_cif_ttisf585_2020_sample.zip")
        return found[0]

    @property
    def tramlink(self) -> tuple[Path, Path]:
        """Croydon Tramlink stops and links."""
        return self._need("transit/tramlink/tram_stops.csv"), self._need("transit/tramlink/tram_links.csv")

    @property
    def hospitals_2014(self) -> Path:
        """The NHS Choices hospital export of February 2014 (all of England)."""
        return self._need("calibration/nhs_choices_hospital_2014.csv")

    @property
    def hospitals(self) -> Path:
        """NHS hospital sites, the destinations of the DfT calibration."""
        return self._need("calibration/nhs_hospitals_2016.csv")

    def jts04(self, year: int = 2016) -> Path:
        """DfT journey time statistics by local authority (table JTS04)."""
        return self._need(f"calibration/jts04_la_{year}.csv")

    @property
    def crime(self) -> Path:
        return self._need("crime/MPS Ward Level Crime (most recent 24 months).csv")

    def osm(self, name: str) -> Path:
        """An OpenStreetMap extract, looked up in ``osm/`` inside or beside the root."""
        for base in (self.root / "osm", self.root.parent / "osm"):
            if (base / name).is_file():
                return base / name
        raise DataDirError(
            f"OSM extract {name!r} not found in {self.root / 'osm'} or {self.root.parent / 'osm'}; "
            "give its path (`osm`, or engine.osm in a scenario); extracts come from download.geofabrik.de "
            "or an export on openstreetmap.org."
        )

    def _need(self, rel: str) -> Path:
        path = self.root / rel
        if not path.is_file():
            raise DataDirError(f"Missing {rel} in data directory {self.root}; {where_to_get(rel, self.root)}")
        return path


def where_to_get(rel: str, root: Path) -> str:
    """How to obtain the data file ``rel``: the ``planner data fetch`` command, or where else to find it."""
    try:
        source = next((s for s in load_manifest() if s.dest == rel), None)
    except PlannerError:
        source = None
    if source is None:
        return "see data/README.md for the layout and where each file comes from."
    fetch = f"planner data fetch --dest {root} --name {source.name}"
    if source.url:
        return f"download it with `{fetch}`."
    return (
        f"it has no public download that `planner data fetch` can use: get it from {source.page}, "
        f"or from a mirror of the reference data with `{fetch} --base-url URL` (see data/README.md)."
    )


def require_bng(frame: gpd.GeoDataFrame | gpd.GeoSeries, what: str) -> None:
    """Refuse a frame whose CRS is missing or not British National Grid.

    Parameters
    ----------
    frame
        The frame to check.
    what
        How to name the frame in the error message.

    Raises
    ------
    CRSError
        If the CRS is missing or is not EPSG:27700.
    """
    if frame.crs is None:
        raise CRSError(f"{what} has no CRS; set it (e.g. .set_crs(...)) before passing it to planner.")
    if frame.crs.to_epsg() != 27700:
        raise CRSError(
            f"{what} is in {frame.crs.to_string()}, not British National Grid; project it with .to_crs('{BNG}') first."
        )
    if len(frame) and not frame.is_empty.all():
        west, south, east, north = frame.total_bounds
        # London's longitudes and latitudes: 50 m from the grid's origin, where no London data lies
        if west >= -1.5 and east <= 1.5 and south >= 50 and north <= 53:
            raise CRSError(
                f"{what} is tagged EPSG:27700 but its coordinates ({west:g}, {south:g} to {east:g}, {north:g}) look "
                "like longitude and latitude: set the CRS they are in (e.g. .set_crs(4326, allow_override=True)) "
                f"and project with .to_crs('{BNG}')"
            )
