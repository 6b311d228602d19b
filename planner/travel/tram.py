"""Croydon Tramlink as stopping patterns: the 39 stops, their links and the documented service pattern.

The stop and link tables (``transit/tramlink/``) have no timetable, so the
routes and their frequencies are stated here, from TfL's daytime service
pattern (from 2018):

* New Addington - West Croydon (round the town-centre loop), 8 trams an hour;
* Beckenham Junction - Wimbledon, 6 an hour;
* Elmers End - Wimbledon, 6 an hour.

The **Croydon town-centre loop is one-way** in service: trams towards East
Croydon call at Centrale, West Croydon and Wellesley Road (passing Reeves
Corner without a stop); trams from East Croydon towards Wimbledon call at
George Street, Church Street and Reeves Corner; the New Addington trams go
round it, from George Street and Church Street to Centrale, West Croydon and
Wellesley Road.

A link's length is the longest of its copies' track lengths and its straight
line: three segments are parallel copies of Wandle Park - Reeves Corner, and
some track lengths are shorter than the straight line between the stops
(geometry artefacts), which no tram can be.  Run times come from the length,
the engine's ``tram_speed_kmh`` and ``tram_dwell_min``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer

from planner.errors import DataError
from planner.travel.patterns import ServicePatterns

__all__ = ["TRAM_ROUTES", "read_tramlink"]

logger = logging.getLogger(__name__)

_WIMBLEDON_WANDLE = [
    "Wimbledon (Tram)",
    "Dundonald Road",
    "Merton Park",
    "Morden Road",
    "Phipps Bridge",
    "Belgrave Walk",
    "Mitcham",
    "Mitcham Junction",
    "Beddington Lane",
    "Therapia Lane",
    "Ampere Way",
    "Waddon Marsh",
    "Wandle Park",
]
#: Towards East Croydon round the loop; a name in brackets is passed without a stop.
_LOOP_EAST = ["[Reeves Corner]", "Centrale", "West Croydon (Tram)", "Wellesley Road", "East Croydon"]
_LOOP_WEST = ["East Croydon", "George Street", "Church Street", "Reeves Corner"]
_EAST_CROYDON_SANDILANDS = ["East Croydon", "Lebanon Road", "Sandilands"]
_BECKENHAM = ["Sandilands", "Addiscombe", "Blackhorse Lane", "Woodside", "Arena", "Harrington Road", "Birkbeck"]
_BECKENHAM += ["Avenue Road", "Beckenham Road", "Beckenham Junction"]
_ELMERS = ["Sandilands", "Addiscombe", "Blackhorse Lane", "Woodside", "Arena", "Elmers End"]
_NEW_ADDINGTON = ["Sandilands", "Lloyd Park", "Coombe Lane", "Gravel Hill", "Addington Village", "Fieldway"]
_NEW_ADDINGTON += ["King Henry's Drive", "New Addington"]


def _east(branch: list[str]) -> list[str]:
    return [*_WIMBLEDON_WANDLE, *_LOOP_EAST, *_EAST_CROYDON_SANDILANDS[1:], *branch[1:]]


def _west(branch: list[str]) -> list[str]:
    return [*branch[::-1], *_EAST_CROYDON_SANDILANDS[::-1][1:], *_LOOP_WEST[1:], *_WIMBLEDON_WANDLE[::-1]]


#: Route name -> (stops in order, trams an hour).  Brackets: passed without a stop.
TRAM_ROUTES: dict[str, tuple[list[str], float]] = {
    "Wimbledon - Beckenham Junction": (_east(_BECKENHAM), 6.0),
    "Beckenham Junction - Wimbledon": (_west(_BECKENHAM), 6.0),
    "Wimbledon - Elmers End": (_east(_ELMERS), 6.0),
    "Elmers End - Wimbledon": (_west(_ELMERS), 6.0),
    "New Addington - West Croydon": (
        [
            *_NEW_ADDINGTON[::-1],
            "Lebanon Road",
            "East Croydon",
            "George Street",
            "Church Street",
            "Centrale",
            "West Croydon (Tram)",
        ],
        8.0,
    ),
    "West Croydon - New Addington": (
        ["West Croydon (Tram)", "Wellesley Road", *_EAST_CROYDON_SANDILANDS, *_NEW_ADDINGTON[1:]],
        8.0,
    ),
}


def _read(path: Path, columns: list[str]) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(f"{path} is missing; run `planner data fetch` or turn trams off (trams = false)")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = sorted(set(columns) - set(table.columns))
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; expected {columns}")
    return table


def track_lengths(stops: pd.DataFrame, links: pd.DataFrame) -> tuple[dict[frozenset[str], float], list[str]]:
    """Each stop pair's length (km): the longest of its copies' track lengths and the straight line."""
    track = pd.to_numeric(links["track_km"], errors="coerce")
    straight = pd.to_numeric(links["straight_km"], errors="coerce")
    too_long = track > 3 * straight + 0.5  # a tram does not run three times the straight line between stops
    if too_long.any():
        row = int(np.flatnonzero(too_long.to_numpy())[0])
        raise DataError(
            f"tram_links.csv: {int(too_long.sum())} link(s) have a track length over three times the straight "
            f"line, the first {links['segment_id'].iloc[row]} ({track.iloc[row]:g} km against "
            f"{straight.iloc[row]:g} km): track_km looks like metres; give kilometres"
        )
    km = np.fmax(track, straight).to_numpy()
    short = int((track < straight).sum())
    name_of = dict(zip(stops["id"], stops["name"], strict=True))
    length: dict[frozenset[str], float] = {}
    for a, b, k in zip(links["from_id"], links["to_id"], km, strict=True):
        key = frozenset((name_of[a], name_of[b]))
        length[key] = max(length.get(key, 0.0), float(k))
    notes = []
    if short:
        notes.append(
            f"{short} tram link(s) with a track length shorter than the straight line between their stops: "
            "the straight line is used"
        )
    return length, notes


def read_tramlink(folder: str | Path, *, routes: dict[str, tuple[list[str], float]] | None = None) -> ServicePatterns:
    """Read ``tram_stops.csv`` and ``tram_links.csv`` into tram patterns.

    Parameters
    ----------
    folder
        The ``transit/tramlink`` folder.
    routes
        Route name to (stop names in order, trams an hour); default :data:`TRAM_ROUTES`.

    Returns
    -------
    ServicePatterns
        Mode ``"tram"``: ``ride_m`` is the link length, ``run_min`` NaN (the engine's tram speed sets it),
        ``headway_min`` from the service pattern.

    Raises
    ------
    DataError
        For a link to a stop the stop table lacks, a stop without coordinates, or a route step with no link.
    """
    folder = Path(folder)
    stops = _read(folder / "tram_stops.csv", ["id", "name", "lat", "lon"])
    links = _read(folder / "tram_links.csv", ["segment_id", "from_id", "to_id", "track_km", "straight_km"])
    lat = pd.to_numeric(stops["lat"], errors="coerce")
    lon = pd.to_numeric(stops["lon"], errors="coerce")
    bad = lat.isna() | lon.isna() | ~lat.between(51.0, 52.0) | ~lon.between(-1.0, 1.0)
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{folder / 'tram_stops.csv'}, line {row + 2}: stop {stops['id'].iloc[row]} has no usable lat/lon "
            f"({stops['lat'].iloc[row]!r}, {stops['lon'].iloc[row]!r}); give WGS84 degrees"
        )
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(lon.to_numpy(), lat.to_numpy())
    known = set(stops["id"])
    for col in ("from_id", "to_id"):
        unknown = ~links[col].isin(known)
        if unknown.any():
            row = int(np.flatnonzero(unknown.to_numpy())[0])
            raise DataError(
                f"{folder / 'tram_links.csv'}, line {row + 2}, {col}: link {links['segment_id'].iloc[row]} names "
                f"stop {links[col].iloc[row]!r}, which tram_stops.csv does not list; fix the id or add the stop"
            )
    length, notes = track_lengths(stops, links)
    stop_pos = pd.Series(np.arange(len(stops)), index=stops["name"].to_numpy())
    calls, table = [], []
    for number, (name, (sequence, per_hour)) in enumerate(sorted((routes or TRAM_ROUTES).items())):
        names = [s.strip("[]") for s in sequence]
        missing = [s for s in names if s not in stop_pos.index]
        if missing:
            raise DataError(f"tram route {name!r}: stop(s) {missing} are not in {folder / 'tram_stops.csv'}")
        for i, stop in enumerate(names):
            metres = np.nan
            if i:
                key = frozenset((names[i - 1], stop))
                if key not in length:
                    raise DataError(
                        f"tram route {name!r}: no link between {names[i - 1]} and {stop} in {folder / 'tram_links.csv'}"
                    )
                metres = 1000.0 * length[key]
            calls.append((number, int(stop_pos[stop]), not sequence[i].startswith("["), metres))
        table.append((name, "TramLink", "tram", per_hour, 60.0 / per_hour, "service pattern"))
    calls_frame = pd.DataFrame(calls, columns=["pattern", "stop", "board", "ride_m"])
    calls_frame["run_min"] = np.nan
    calls_frame["dwell_min"] = 0.0
    patterns = pd.DataFrame(
        table, columns=["name", "operator", "service_class", "trams_per_hour", "headway_min", "headway_source"]
    )
    stops_out = pd.DataFrame({"stop_id": stops["id"], "name": stops["name"], "x": x, "y": y, "change_min": 0.0})
    logger.info("tramlink: %d stops, %d routes", len(stops_out), len(patterns))
    return ServicePatterns("tram", stops_out, calls_frame, patterns, notes=tuple(notes), source=str(folder.name))
