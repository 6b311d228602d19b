"""Public-transport inputs: bus stops, bus route sequences and the rail graph.

Both public-transport engines (:mod:`planner.travel.transit` and
:mod:`planner.travel.transit_simple`) read their data through
:func:`load_transit`.  Every repair or fallback is counted, logged and kept in
:attr:`TransitData.notes`, so a run's manifest can record it.
"""

from __future__ import annotations

import csv
import functools
import logging
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from planner.boundaries import load_boroughs
from planner.config import BNG, DataPaths
from planner.errors import DataDirError, DataError, PlannerWarning
from planner.travel.cif import read_cif
from planner.travel.patterns import ServicePatterns
from planner.travel.tram import read_tramlink

__all__ = [
    "BusRoutes",
    "TransitData",
    "bus_patterns",
    "bus_route_kind",
    "load_bus_routes",
    "load_transit",
    "station_key",
]

logger = logging.getLogger(__name__)

#: Columns of TfL's ``bus-sequences.csv`` that planner reads.
BUS_SEQUENCE_COLUMNS = (
    "Route",
    "Run",
    "Sequence",
    "Stop_Code_LBSL",
    "Location_Easting",
    "Location_Northing",
    "Virtual_Bus_Stop",
)

_SCHOOL = re.compile(r"^6\d\d$")
_NIGHT = re.compile(r"^N\d+$")


def bus_route_kind(route: str) -> str:
    """Classify a TfL route name.

    Parameters
    ----------
    route
        Route name as published (``"1"``, ``"N29"``, ``"UL7"``, ``"607"`` ...).

    Returns
    -------
    str
        ``"rail-replacement"`` (``UL*``), ``"night"`` (``N`` and digits),
        ``"school"`` (``6xx``) or ``"day"``.
    """
    route = route.strip().upper()
    if route.startswith("UL"):
        return "rail-replacement"
    if _NIGHT.match(route):
        return "night"
    if _SCHOOL.match(route):
        return "school"
    return "day"


@dataclass(frozen=True)
class BusRoutes:
    """Bus route stop sequences, cleaned.

    Attributes
    ----------
    stops
        One row per route-stop, ordered by ``route``, ``run``, ``seq``:
        ``route``, ``run``, ``seq``, ``stop`` (the LBSL stop code), ``x``,
        ``y`` (EPSG:27700), ``virtual`` (a timing point where the bus does
        not stop) and ``kind`` (see :func:`bus_route_kind`).
    notes
        What was dropped or repaired while reading, in plain words.
    """

    stops: pd.DataFrame
    notes: tuple[str, ...] = ()


def load_bus_routes(path: str | Path) -> BusRoutes:
    """Read TfL's bus route sequences (``bus-sequences.csv``).

    Parameters
    ----------
    path
        The CSV file (UTF-8, with or without a byte-order mark).

    Returns
    -------
    BusRoutes
        Route-stops in order.  The trailing DOS end-of-file line is dropped;
        rows with no usable coordinates (blank, non-numeric or 0) are dropped,
        and runs left with fewer than two stops are skipped, each counted in a
        :class:`~planner.errors.PlannerWarning` and in :attr:`BusRoutes.notes`.

    Raises
    ------
    DataError
        If the file has no header with the expected columns, or no usable route.
    """
    path = Path(path)
    notes: list[str] = []
    frame = _bus_rows(path)
    bad_key = frame[["run", "seq"]].isna().any(axis=1) | (frame["route"] == "")
    if bad_key.any():
        first = int(np.flatnonzero(bad_key.to_numpy())[0]) + 2
        raise DataError(
            f"{path}: {int(bad_key.sum())} row(s) have no route, run or sequence number (first at line {first}); "
            "fix or remove them."
        )
    twice = frame.duplicated(["route", "run", "seq", "stop"])
    if twice.any():  # the same stop at the same place of a run: a copy of rows (the hostile pass: every row twice)
        _say(
            path,
            notes,
            f"{int(twice.sum())} row(s) repeat an earlier row's route, run, sequence and stop (the "
            f"first at line {int(frame.index[twice][0]) + 2}) and were dropped: each ride would otherwise go there "
            "and back",
        )
        frame = frame.loc[~twice]
    bad_xy = ~(frame["x"] > 0) | ~(frame["y"] > 0)
    if bad_xy.any():
        _say(
            path,
            notes,
            f"{int(bad_xy.sum())} route-stop(s) without coordinates (blank, text or 0) dropped, the "
            f"first at line {int(frame.index[bad_xy][0]) + 2}; the rides on either side are joined",
        )
    frame = frame.loc[~bad_xy]
    frame = frame.sort_values(["route", "run", "seq"], kind="stable")
    frame, moved = drop_moved_stops(frame)
    if moved:
        _say(path, notes, moved)
    frame = frame.reset_index(drop=True)
    size = frame.groupby(["route", "run"])["seq"].transform("size")
    short = size < 2
    if short.any():
        runs = frame.loc[short, ["route", "run"]].drop_duplicates()
        names = ", ".join(f"{r} (run {int(n)})" for r, n in runs.head(5).itertuples(index=False))
        more = f" and {len(runs) - 5} more" if len(runs) > 5 else ""
        note = f"{len(runs)} route run(s) with fewer than two located stops skipped: {names}{more}"
        logger.info("%s: %s", path.name, note)
        notes.append(note)
        frame = frame.loc[~short].reset_index(drop=True)
    if frame.empty:
        raise DataError(f"{path}: no bus route with at least two located stops; check the file.")
    frame["run"] = frame["run"].astype(int)
    frame["seq"] = frame["seq"].astype(int)
    frame["kind"] = frame["route"].map(bus_route_kind)
    logger.info("%s: %d route-stops on %d routes", path.name, len(frame), frame["route"].nunique())
    return BusRoutes(frame, tuple(notes))


def _bus_rows(path: Path) -> pd.DataFrame:
    """The bus-sequences file's rows (route, run, sequence, stop, easting, northing, virtual), its header checked."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        header = next(csv.reader(fh), [])
    missing = [c for c in BUS_SEQUENCE_COLUMNS if c not in header]
    if missing:
        raise DataError(
            f"{path}: not a TfL bus-sequences file: the header lacks {missing} (first line read: "
            f"{','.join(header)[:80]!r}). Use TfL's bus-sequences.csv with its header row, "
            "or run `planner data fetch` for the published copy."
        )
    raw = pd.read_csv(path, encoding="utf-8-sig", dtype=str, usecols=list(BUS_SEQUENCE_COLUMNS), keep_default_na=False)
    route = raw["Route"].str.strip()
    eof = route.isin(["\x1a", ""]) & (raw["Run"].str.strip() == "")
    if eof.any():
        logger.info("%s: dropped %d end-of-file line(s)", path.name, int(eof.sum()))
    raw = raw.loc[~eof]
    return pd.DataFrame(
        {
            "route": raw["Route"].str.strip(),
            "run": pd.to_numeric(raw["Run"], errors="coerce"),
            "seq": pd.to_numeric(raw["Sequence"], errors="coerce"),
            "stop": raw["Stop_Code_LBSL"].str.strip(),
            "x": pd.to_numeric(raw["Location_Easting"], errors="coerce"),
            "y": pd.to_numeric(raw["Location_Northing"], errors="coerce"),
            "virtual": raw["Virtual_Bus_Stop"].str.strip() == "1",
        }
    )


def _say(path: Path, notes: list[str], note: str) -> None:
    """A visible, counted note on the bus file: a warning, a log line and one of the routes' notes."""
    warnings.warn(f"{path.name}: {note}", PlannerWarning, stacklevel=3)
    logger.warning("%s: %s", path.name, note)
    notes.append(note)


#: A route-stop is taken as misplaced when going through it is this much longer than going past it.
MOVED_DETOUR_M = 5_000.0
#: The first or last stop of a run is misplaced when this far from its neighbour (TfL's longest hop is 13.6 km).
MOVED_END_M = 20_000.0


def drop_moved_stops(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """Drop route-stops whose coordinates put them far off their route, and say which (file lines).

    A stop in the middle of a run is off its route when the hops into and out of it are more than
    :data:`MOVED_DETOUR_M` longer than the hop past it (the longest such detour in TfL's 2016 file is 2.4 km);
    a run's first or last stop when its one hop exceeds :data:`MOVED_END_M`.
    """
    if frame.empty:
        return frame, ""
    middle = _far(frame, "middle")
    ends = _far(frame.loc[~middle], "ends")  # after the middle ones go, so a moved stop's neighbour is not blamed
    bad = middle.copy()
    bad.loc[ends.index] = ends
    if not bad.any():
        return frame, ""
    rows = frame.loc[bad]
    listed = ", ".join(
        f"route {r.route} run {r.run} stop {r.stop} (line {i + 2})"
        for i, r in zip(rows.index[:5], rows.itertuples(), strict=False)
    )
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    note = (
        f"{len(rows)} route-stop(s) lie far off their route (misplaced coordinates) and were dropped, the rides on "
        f"either side joined: {listed}{more}; correct their Location_Easting/Location_Northing"
    )
    return frame.loc[~bad], note


def _far(frame: pd.DataFrame, which: str) -> pd.Series:
    """Route-stops off their route: in the middle of a run (a detour) or at its ends (a long first or last hop)."""
    key = (frame["route"] + "\x00" + frame["run"].astype(str)).to_numpy()
    x, y = frame["x"].to_numpy(float), frame["y"].to_numpy(float)
    prev_same = np.r_[False, key[1:] == key[:-1]]
    next_same = np.r_[key[:-1] == key[1:], False]
    px, py = np.r_[x[:1], x[:-1]], np.r_[y[:1], y[:-1]]
    nx, ny = np.r_[x[1:], x[-1:]], np.r_[y[1:], y[-1:]]
    into, out = np.hypot(x - px, y - py), np.hypot(nx - x, ny - y)
    if which == "middle":
        flags = prev_same & next_same & (into + out - np.hypot(nx - px, ny - py) > MOVED_DETOUR_M)
    else:
        flags = (~prev_same & next_same & (out > MOVED_END_M)) | (prev_same & ~next_same & (into > MOVED_END_M))
    return pd.Series(flags, index=frame.index)


@dataclass(frozen=True)
class TransitData:
    """Bus stops, bus routes and the rail graph the engines use.

    Attributes
    ----------
    bus_stops
        ``(n, 2)`` stop coordinates in EPSG:27700 (``bus_stops.csv``; read for
        the ``transit-simple`` engine only, else empty).
    stations
        Station names and ``x``, ``y`` (EPSG:27700), indexed by name.
    links
        Rail links: ``a``, ``b``, ``line``, ``length_m``, ``minutes`` (NaN
        where the timetable data has no time for that pair).
    routes
        Bus route sequences, or ``None`` when not loaded.
    files
        The files read, for manifests and cache keys.
    notes
        Fallbacks and repairs made while reading, in plain words.
    rail
        National Rail stopping patterns (:func:`~planner.travel.cif.read_cif`), or ``None``.
    trams
        Tramlink patterns (:func:`~planner.travel.tram.read_tramlink`), or ``None``.
    """

    bus_stops: np.ndarray
    stations: pd.DataFrame
    links: pd.DataFrame
    routes: BusRoutes | None = None
    files: tuple[Path, ...] = ()
    notes: tuple[str, ...] = ()
    rail: ServicePatterns | None = None
    trams: ServicePatterns | None = None
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    def sources(self) -> dict[str, str]:
        """Which timetabled data each mode came from, for manifests and summaries."""
        return {
            "national_rail": self.rail.source if self.rail is not None else "not used",
            "trams": self.trams.source if self.trams is not None else "not used",
        }


def bus_patterns(routes: BusRoutes, *, night: bool = False, school: bool = False) -> ServicePatterns:
    """TfL's bus route sequences as stopping patterns (one per route and run), without times.

    Parameters
    ----------
    routes
        From :func:`load_bus_routes`.
    night, school
        Keep night (``N*``) and school (``6xx``) routes; rail-replacement routes (``UL*``) are never kept.

    Returns
    -------
    ServicePatterns
        Mode ``"bus"``: ``ride_m`` between consecutive route-stops, ``run_min`` NaN (the engine's bus speed
        sets it), ``board`` false at timing points (virtual stops, whose ``stop`` is -1), no headway (one
        wait for every route).
    """
    rs = routes.stops
    allowed = {"day"} | ({"night"} if night else set()) | ({"school"} if school else set())
    rs = rs.loc[rs["kind"].isin(allowed)].reset_index(drop=True)
    if rs.empty:
        raise DataError("no bus route left after excluding rail-replacement, night and school routes")
    run_key = (rs["route"] + "\x00" + rs["run"].astype(str)).to_numpy()
    new_run = np.r_[True, run_key[1:] != run_key[:-1]]
    pattern = np.cumsum(new_run) - 1
    xy = rs[["x", "y"]].to_numpy(float)
    ride_m = np.r_[np.nan, np.hypot(*(xy[1:] - xy[:-1]).T)]
    ride_m[new_run] = np.nan
    calls = rs.loc[~rs["virtual"]]
    stop_codes = pd.Index(sorted(calls["stop"].unique()))
    first_xy = calls.groupby("stop")[["x", "y"]].first().loc[stop_codes].to_numpy(float)
    stop = np.full(len(rs), -1, dtype=np.int64)
    stop[calls.index.to_numpy()] = stop_codes.get_indexer(calls["stop"])
    firsts = rs.loc[new_run]
    return ServicePatterns(
        "bus",
        pd.DataFrame({"stop_id": stop_codes, "name": "", "x": first_xy[:, 0], "y": first_xy[:, 1], "change_min": 0.0}),
        pd.DataFrame(
            {
                "pattern": pattern,
                "stop": stop,
                "board": ~rs["virtual"].to_numpy(),
                "ride_m": ride_m,
                "run_min": np.nan,
                "dwell_min": 0.0,
            }
        ),
        pd.DataFrame(
            {
                "name": (firsts["route"] + " run " + firsts["run"].astype(str)).to_numpy(),
                "operator": "TfL",
                "service_class": "bus",
                "headway_min": np.nan,
                "headway_source": "",
            }
        ),
        source="bus_sequences_2016.csv",
    )


def load_transit(
    data: DataPaths, *, bus_routes: bool = True, national_rail: bool = False, trams: bool = False
) -> TransitData:
    """Read the bus data, the rail graph and tube link times.

    Parameters
    ----------
    data
        The data directory's paths.
    bus_routes
        Read the bus route sequences (``transit/bus_sequences_2016.csv``, for
        the route-following ``transit`` engine); with ``False``, the bus stop
        list (``transit/bus_stops.csv``, for ``transit-simple``) instead.  Only
        the file the engine uses is read, hashed and recorded.
    national_rail
        Read the National Rail timetable (``transit/national_rail/*.zip``, ATOC CIF).
    trams
        Read the Tramlink stops and links (``transit/tramlink/``).

    Returns
    -------
    TransitData
        Bus routes or stops (virtual stops and 0/0 rows dropped), stations and
        links.  When the tube timetable files are missing, rail link times
        fall back to length / speed: a :class:`~planner.errors.PlannerWarning`
        says so and :attr:`TransitData.notes` records it.
    """
    files: list[Path] = [data.rail_graph]
    notes: list[str] = []
    routes = None
    stops = np.empty((0, 2))
    if bus_routes:
        routes = load_bus_routes(data.bus_sequences)
        files.append(data.bus_sequences)
        notes += [f"bus_sequences_2016.csv: {n}" for n in routes.notes]
    else:
        files.append(data.bus_stops)
        stops = _bus_stops(data.bus_stops)
    graph = nx.read_graphml(data.rail_graph)
    rows = []
    for name, attrs in graph.nodes(data=True):
        x, y = (float(v) for v in attrs["coords"].strip("()").split(","))
        rows.append((name, x, y))
    stations = pd.DataFrame(rows, columns=["name", "x", "y"]).set_index("name")
    links = pd.DataFrame(
        [(a, b, d.get("line_name", "rail"), float(d["length"])) for a, b, d in graph.edges(data=True)],
        columns=["a", "b", "line", "length_m"],
    )
    check_link_lengths(data.rail_graph, stations, links)
    minutes, tube_files, tube_notes = _tube_times(data, links)
    links["minutes"] = minutes
    rail = tram = None
    if national_rail:
        path = _timetabled(data, "rail_timetable", "national_rail")
        rail, said = _read_cif_once(str(path.resolve()), *_stamp(path))
        for message in said:  # the reader's warnings, every time the timetable is used
            warnings.warn(message, PlannerWarning, stacklevel=2)
        files.append(path)
        notes += [f"{path.name}: {n}" for n in rail.notes]
        gaps = _unserved_in_london(data, rail)
        if gaps:
            warnings.warn(f"{path.name}: {gaps}", PlannerWarning, stacklevel=2)
            logger.warning("%s: %s", path.name, gaps)
            notes.append(f"{path.name}: {gaps}")
    if trams:
        stops_csv, links_csv = _timetabled(data, "tramlink", "trams")
        tram = read_tramlink(stops_csv.parent)
        files += [stops_csv, links_csv]
        notes += [f"tramlink: {n}" for n in tram.notes]
    return TransitData(
        stops, stations, links, routes, (*files, *tube_files), (*notes, *tube_notes), rail=rail, trams=tram
    )


def _stamp(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


@functools.lru_cache(maxsize=4)
def _read_cif_once(path: str, size: int, mtime_ns: int) -> tuple[ServicePatterns, tuple[str, ...]]:
    """:func:`read_cif` once per process for a file of this size and time (engines share the result,
    which nobody changes), with the warnings it gave."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        patterns = read_cif(path)
    return patterns, tuple(str(w.message) for w in caught if issubclass(w.category, PlannerWarning))


def _unserved_in_london(data: DataPaths, rail: ServicePatterns) -> str:
    """The Greater London stations of the timetable's station list that no train calls at, in words."""
    if rail.unserved.empty:
        return ""
    london = load_boroughs(data.boroughs).union_all()
    points = gpd.GeoDataFrame(
        rail.unserved, geometry=gpd.points_from_xy(rail.unserved["x"], rail.unserved["y"]), crs=BNG
    )
    inside = points.loc[points.within(london)]
    if inside.empty:
        return ""
    names = ", ".join(f"{n} ({c})" for n, c in zip(inside["name"], inside["stop_id"], strict=True))
    return (
        f"{len(inside)} Greater London station(s) have no train in this timetable and are not served by the "
        f"engine's National Rail: {names}"
    )


def _timetabled(data: DataPaths, attribute: str, switch: str):
    """A timetabled mode's file(s), or a refusal that says how to get them or turn the mode off."""
    try:
        return getattr(data, attribute)
    except DataDirError as exc:
        raise DataDirError(f"{exc} Or turn the mode off: {switch} = false in the scenario's [engine.params].") from exc


def _bus_stops(path: Path) -> np.ndarray:
    """Stop coordinates of ``bus_stops.csv``, without virtual stops and rows at 0/0."""
    stops = pd.read_csv(path, usecols=["Location_Easting", "Location_Northing", "Virtual_Bus_Stop"])
    bad = (stops["Location_Easting"] <= 0) | (stops["Location_Northing"] <= 0)
    virtual = stops["Virtual_Bus_Stop"].astype(str) == "1"
    logger.info("bus stops: dropped %d with 0 coordinates and %d virtual stops", bad.sum(), (virtual & ~bad).sum())
    return stops.loc[~bad & ~virtual, ["Location_Easting", "Location_Northing"]].to_numpy(float)


def station_key(name: str) -> str:
    """A station name as a match key: no platform letter ('(B)'), punctuation or case; '&' is 'and'.

    Parameters
    ----------
    name
        A station name.
    """
    name = re.sub(r"\s*\([A-Z]\)$", "", name)
    return re.sub(r"[^a-z0-9]", "", name.lower().replace("&", "and"))


def check_link_lengths(path: Path, stations: pd.DataFrame, links: pd.DataFrame) -> None:
    """Refuse rail link lengths that are not metres: the median length over the straight line between the
    stations is about 1.03 in the real graph (the second hostile pass divided every length by 1000)."""
    a = stations.loc[links["a"], ["x", "y"]].to_numpy()
    b = stations.loc[links["b"], ["x", "y"]].to_numpy()
    straight = np.maximum(np.hypot(*(a - b).T), 1.0)
    ratio = float(np.median(links["length_m"].to_numpy(float) / straight))
    if not 0.9 <= ratio <= 3.0:
        raise DataError(
            f"{path}: the rail links' lengths are {ratio:.3g} times the straight line between their stations "
            "(median; about 1 in the published graph): they are not metres; restore the file (`planner data fetch`)"
        )


#: The tube's typical speed between stations (km/h) must lie in this range, or the times are not in minutes.
TUBE_MEDIAN_KMH = (10.0, 120.0)


def check_tube_times(path: Path, stations: pd.DataFrame, conn: pd.DataFrame) -> None:
    """Refuse link times that are not minutes: the median speed they imply, station to station, is implausible."""
    minutes = pd.to_numeric(conn["time"], errors="coerce")
    bad = minutes.isna() | ~(minutes > 0)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{path}: line {row + 2}: time is {str(conn['time'].iloc[row])!r}, not a number of minutes above 0"
        )
    xy = stations.set_index("id")[["latitude", "longitude"]].astype(float)
    known = conn["station1"].isin(xy.index) & conn["station2"].isin(xy.index)
    if not known.any():
        return
    a = np.radians(xy.loc[conn.loc[known, "station1"]].to_numpy())
    b = np.radians(xy.loc[conn.loc[known, "station2"]].to_numpy())
    h = np.sin((b[:, 0] - a[:, 0]) / 2) ** 2 + np.cos(a[:, 0]) * np.cos(b[:, 0]) * np.sin((b[:, 1] - a[:, 1]) / 2) ** 2
    km = 2 * 6371.0 * np.arcsin(np.sqrt(h))
    speed = float(np.median(km / (minutes[known].to_numpy() / 60.0)))
    low, high = TUBE_MEDIAN_KMH
    if not low <= speed <= high:
        unit = "seconds" if speed < low else "hours"
        raise DataError(
            f"{path}: the link times imply a median speed of {speed:.1f} km/h between stations (the tube's is about "
            f"30); they look like {unit}, not minutes: restore the file (`planner data fetch`)"
        )


def _tube_times(data: DataPaths, links: pd.DataFrame) -> tuple[np.ndarray, list[Path], list[str]]:
    """Timetable link minutes where both stations match the tube data by name."""
    root = data.root / "transit"
    paths = [root / "tube_stations.csv", root / "tube_connections.csv"]
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        note = (
            f"tube timetable file(s) {missing} missing from {root}: every rail link time comes from "
            "length / rail_speed_kmh instead (run `planner data fetch` to restore them)"
        )
        warnings.warn(note, PlannerWarning, stacklevel=3)
        logger.warning(note)
        return np.full(len(links), np.nan), [], [note]
    st = pd.read_csv(paths[0])
    conn = pd.read_csv(paths[1])
    check_tube_times(paths[1], st, conn)
    name = dict(zip(st["id"], st["name"].map(station_key), strict=True))
    times: dict[frozenset[str], float] = {}
    for a, b, t in zip(conn["station1"], conn["station2"], conn["time"], strict=True):
        key = frozenset((name.get(a, ""), name.get(b, "")))
        times[key] = min(float(t), times.get(key, np.inf))
    out = np.array(
        [
            times.get(frozenset((station_key(a), station_key(b))), np.nan)
            for a, b in zip(links["a"], links["b"], strict=True)
        ]
    )
    logger.info("rail links with a timetable time: %d of %d", np.isfinite(out).sum(), len(out))
    return out, paths, []
