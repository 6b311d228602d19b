"""Police stations and front counters.

:func:`load_stations` keeps every column of the file (hours, status under
each plan, daily crimes, coordinate source and accuracy) and adds:

``station_id``  the id column as a string (unique)
``geometry``  point in EPSG:27700
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import Transformer

from planner.categories import canonical, match_values, tidy_column
from planner.config import BNG
from planner.errors import CRSError, DataError, PlannerWarning
from planner.io import read_csv

__all__ = ["LONDON_BOUNDS", "load_stations", "open_counters", "select_counters"]

logger = logging.getLogger(__name__)

#: Greater London's extent in British National Grid metres, padded by 2 km.
LONDON_BOUNDS = (501_500.0, 153_800.0, 564_000.0, 203_000.0)
#: A WGS84 window around Great Britain used to spot swapped coordinates.
_LAT = (49.0, 61.0)
_LON = (-8.5, 2.0)

#: A row's lat/lon and easting/northing may disagree by this many metres (rounding of either) before it is refused.
AGREE_M = 100.0
_TO_BNG = Transformer.from_crs("EPSG:4326", BNG, always_xy=True)

_EASTING = ("easting", "x", "east", "bng_x")
_NORTHING = ("northing", "y", "north", "bng_y")
_LATS = ("lat", "latitude")
_LONS = ("lon", "lng", "long", "longitude")


#: Columns whose values plans select counters by (``status_final_nov2017``, ``hours_2017``): read in one
#: canonical form, with near-miss spellings said.
CATEGORY_COLUMNS = ("status", "hours")


def _pick(columns: pd.Index, names: tuple[str, ...]) -> str | None:
    lower = {str(c).lower(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def load_stations(
    source: str | os.PathLike[str],
    *,
    id_column: str = "id",
    study_area: shapely.Geometry | None = None,
    on_invalid: Literal["raise", "report"] = "raise",
) -> gpd.GeoDataFrame:
    """Load stations from CSV (lat/lon or easting/northing) or GeoJSON.

    Parameters
    ----------
    source
        CSV or any OGR vector file.
    id_column
        Column with each station's unique id.
    study_area
        Polygon in EPSG:27700 that every station must lie in; defaults to
        :data:`LONDON_BOUNDS`.
    on_invalid
        ``"raise"`` refuses the file if any row has a missing, non-numeric,
        swapped or out-of-area coordinate; ``"report"`` drops those rows with
        a warning per row and keeps them in ``attrs["rejected"]``.

    Returns
    -------
    geopandas.GeoDataFrame
        Every column of the file plus ``station_id`` and a point geometry in
        EPSG:27700.  ``attrs["rejected"]`` lists dropped rows (line, id,
        reason).

    Raises
    ------
    DataError
        On an empty file, a missing id column, duplicate ids or bad rows
        (with ``on_invalid="raise"``).
    CRSError
        On a vector file without a CRS.
    """
    path = Path(source)
    if path.is_dir():
        raise DataError(f"{path} is a folder, not a stations file; give the CSV, GeoPackage or GeoJSON file itself.")
    if not path.is_file():
        raise DataError(f"{path} does not exist.")
    if path.stat().st_size == 0:
        raise DataError(f"{path} is empty (0 bytes).")
    reader = _read_csv if path.suffix.lower() in {".csv", ".txt"} else _read_vector
    frame, ids, xy, problems = reader(path, id_column)
    padded = ids != ids.str.strip()
    if padded.any():
        shown = ", ".join(f"line {i + 2} {v!r}" for i, v in zip(np.flatnonzero(padded), ids[padded], strict=True))
        message = f"{path}: station id(s) with spaces around them were read without: {shown}; correct the file"
        warnings.warn(message, PlannerWarning, stacklevel=2)
        logger.warning(message)
        ids = ids.str.strip()
    dup = ids[ids.duplicated(keep=False)]
    if len(dup):
        raise DataError(f"{path}: duplicate station ids {sorted(set(dup))}; ids must be unique.")
    area = study_area if study_area is not None else shapely.box(*LONDON_BOUNDS)
    problems = sorted(problems + _outside(area, xy, ids, skip={p[0] for p in problems}))
    lines = np.arange(len(frame)) + 2  # header is line 1
    report = pd.DataFrame(
        [(int(lines[i]), sid, why) for i, sid, why in problems], columns=["line", "station_id", "reason"]
    )
    if len(report):
        listing = "; ".join(f"line {r.line} ({r.station_id}): {r.reason}" for r in report.itertuples())
        if on_invalid == "raise":
            raise DataError(
                f"{path}: {len(report)} station row(s) refused: {listing}. Fix the coordinates in the file, "
                "or delete those rows from it."
            )
        message = f"{path}: dropped {len(report)} station row(s): {listing}"
        warnings.warn(message, PlannerWarning, stacklevel=2)
        logger.warning(message)
    keep = np.ones(len(frame), dtype=bool)
    keep[[p[0] for p in problems]] = False
    _check_numbers(path, frame, ids)
    for col in [c for c in frame.columns if str(c).startswith(CATEGORY_COLUMNS)]:  # what selections read
        frame[col] = tidy_column(frame[col].fillna("").astype(str), column=str(col), source=str(path))
    out = frame.loc[keep].copy()
    out.insert(0, "station_id", ids[keep].to_numpy())
    stations = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(xy[keep, 0], xy[keep, 1]), crs=BNG).reset_index(
        drop=True
    )
    stations.attrs["rejected"] = report
    stations.attrs["source"] = str(path)
    _warn_shared_points(path, stations)
    logger.info("Loaded %d stations from %s (%d rejected)", len(stations), path, len(report))
    return stations


_Rows = tuple[pd.DataFrame, pd.Series, np.ndarray, list[tuple[int, str, str]]]


def _warn_shared_points(path: Path, stations: gpd.GeoDataFrame) -> None:
    """Say which stations stand within a metre of each other: often one counter listed twice."""
    if stations.empty:
        return
    at = pd.DataFrame(
        {"id": stations["station_id"], "x": stations.geometry.x.round(0), "y": stations.geometry.y.round(0)}
    )
    shared = [g for _, g in at.groupby(["x", "y"], sort=True) if len(g) > 1]
    if not shared:
        return
    listing = "; ".join(
        f"{', '.join(map(str, g['id']))} at ({g['x'].iloc[0]:.0f}, {g['y'].iloc[0]:.0f})" for g in shared
    )
    message = (
        f"{path}: {len(shared)} point(s) hold more than one station: {listing}. If a counter is listed twice, "
        "delete the extra row; otherwise check their coordinates (each is kept as given)."
    )
    warnings.warn(message, PlannerWarning, stacklevel=3)
    logger.warning(message)


def _read_csv(path: Path, id_column: str) -> _Rows:
    table = read_csv(path, dtype=str, keep_default_na=False)
    if len(table) == 0:
        raise DataError(f"{path} has a header but no rows.")
    if id_column not in table.columns:
        raise DataError(f"{path}: no id column {id_column!r}; columns are {list(table.columns)}.")
    ids = table[id_column].astype(str)
    xy, problems = _csv_points(path, table, ids)
    return table, ids, xy, problems


def _read_vector(path: Path, id_column: str) -> _Rows:
    try:
        frame = pyogrio.read_dataframe(path)
    except (RuntimeError, shapely.errors.GEOSException, ValueError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
        raise DataError(f"Cannot read {path} ({reason}); give a CSV or a valid vector file.") from exc
    if frame.crs is None:
        raise CRSError(f"{path} has no CRS; re-export it with one (GeoJSON is WGS84 by default).")
    if len(frame) == 0:
        raise DataError(f"{path} has no features.")
    if id_column not in frame.columns:
        raise DataError(f"{path}: no id column {id_column!r}; columns are {list(frame.columns)}.")
    ids = frame[id_column].astype(str)
    xy, problems = _vector_points(frame, ids)
    return pd.DataFrame(frame.drop(columns="geometry")), ids, xy, problems


#: Optional numeric columns of a stations file: (lowest, highest, what the value is).
NUMERIC_COLUMNS = {
    "daily_crimes_reported_2017": (0.0, 500.0, "crime reports a day at one counter (London's busiest took ~7)"),
    "coord_accuracy_m": (0.0, 20_000.0, "metres of uncertainty in the counter's position"),
}


def _check_numbers(path: Path, frame: pd.DataFrame, ids: pd.Series) -> None:
    """Refuse a value of a known numeric column that is not a number in its plausible range (blank is unknown)."""
    for col, (low, high, what) in NUMERIC_COLUMNS.items():
        if col not in frame.columns:
            continue
        raw = frame[col].astype(str).str.strip()
        values = pd.to_numeric(raw.replace({"": None, "nan": None}), errors="coerce")
        bad = (values.isna() & ~raw.isin(["", "nan"])) | (values < low) | (values > high)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"{path}: line {i + 2} ({ids.iat[i]}): {col} is {raw.iat[i]!r}, not a number from {low:g} to "
                f"{high:g} ({what}; {int(bad.sum())} such row(s)); correct it or leave it blank for unknown."
            )


def _outside(area: shapely.Geometry, xy: np.ndarray, ids: pd.Series, *, skip: set[int]) -> list[tuple[int, str, str]]:
    """Rows whose point lies outside ``area``, saying when easting and northing look swapped."""
    problems = []
    for i in range(len(xy)):
        if i in skip or shapely.contains_xy(area, xy[i, 0], xy[i, 1]):
            continue
        where = f"point ({xy[i, 0]:.0f}, {xy[i, 1]:.0f})"
        if shapely.contains_xy(area, xy[i, 1], xy[i, 0]):
            problems.append((i, ids.iat[i], f"{where}: easting and northing look swapped"))
        else:
            problems.append((i, ids.iat[i], f"{where} lies outside the study area"))
    return problems


def _numeric(table: pd.DataFrame, col: str, ids: pd.Series, problems: list) -> np.ndarray:
    raw = table[col].astype(str).str.strip()
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    for i in np.flatnonzero(np.isnan(values)):
        what = "missing" if raw.iat[i] == "" else f"not a number ({raw.iat[i]!r})"
        problems.append((int(i), ids.iat[i], f"{col} is {what}"))
    return values


def _csv_points(path: Path, table: pd.DataFrame, ids: pd.Series) -> tuple[np.ndarray, list]:
    problems: list[tuple[int, str, str]] = []
    e_col, n_col = _pick(table.columns, _EASTING), _pick(table.columns, _NORTHING)
    lat_col, lon_col = _pick(table.columns, _LATS), _pick(table.columns, _LONS)
    if e_col and n_col:
        x = _numeric(table, e_col, ids, problems)
        y = _numeric(table, n_col, ids, problems)
        if lat_col and lon_col:
            _cross_check(table, np.column_stack([x, y]), (lat_col, lon_col, e_col, n_col), ids, problems)
        return np.column_stack([x, y]), problems
    if lat_col and lon_col:
        lat = _numeric(table, lat_col, ids, problems)
        lon = _numeric(table, lon_col, ids, problems)
        xy = _from_lonlat(lon, lat, ids, problems, f"{lat_col}/{lon_col}")
        return xy, problems
    raise DataError(f"{path}: no coordinate columns; expected easting/northing (EPSG:27700) or lat/lon (WGS84).")


def _cross_check(table: pd.DataFrame, xy: np.ndarray, cols: tuple[str, ...], ids: pd.Series, problems: list) -> None:
    """Rows whose lat/lon and easting/northing, both in the file, are more than :data:`AGREE_M` apart."""
    lat_col, lon_col, e_col, n_col = cols
    lat = pd.to_numeric(table[lat_col].astype(str).str.strip(), errors="coerce").to_numpy(dtype=float)
    lon = pd.to_numeric(table[lon_col].astype(str).str.strip(), errors="coerce").to_numpy(dtype=float)
    known = {p[0] for p in problems}
    both = ~np.isnan(lat) & ~np.isnan(lon) & ~np.isnan(xy).any(axis=1)
    if not both.any():
        return
    x, y = _TO_BNG.transform(np.where(both, lon, 0.0), np.where(both, lat, 0.0))
    apart = np.hypot(x - xy[:, 0], y - xy[:, 1])
    for i in np.flatnonzero(both & (apart > AGREE_M)):
        if int(i) not in known:
            problems.append(
                (
                    int(i),
                    ids.iat[i],
                    f"{lat_col}/{lon_col} ({lat[i]}, {lon[i]}) and {e_col}/{n_col} ({xy[i, 0]:.0f}, {xy[i, 1]:.0f}) "
                    f"are {apart[i] / 1000:.1f} km apart; correct whichever is wrong",
                )
            )


def _from_lonlat(lon: np.ndarray, lat: np.ndarray, ids: pd.Series, problems: list, label: str) -> np.ndarray:
    known = {p[0] for p in problems}
    for i in range(len(lon)):
        if i in known:
            continue
        in_lat, in_lon = _LAT[0] <= lat[i] <= _LAT[1], _LON[0] <= lon[i] <= _LON[1]
        if not (in_lat and in_lon):
            if _LAT[0] <= lon[i] <= _LAT[1] and _LON[0] <= lat[i] <= _LON[1]:
                why = f"{label} look swapped (lat {lat[i]}, lon {lon[i]}); latitude should be ~51.5"
            else:
                why = f"{label} ({lat[i]}, {lon[i]}) are not in Great Britain"
            problems.append((i, ids.iat[i], why))
    pts = gpd.GeoSeries(gpd.points_from_xy(np.nan_to_num(lon), np.nan_to_num(lat)), crs="EPSG:4326")
    bng = pts.to_crs(BNG)
    return np.column_stack([bng.x.to_numpy(), bng.y.to_numpy()])


def _vector_points(frame: gpd.GeoDataFrame, ids: pd.Series) -> tuple[np.ndarray, list]:
    problems: list[tuple[int, str, str]] = []
    geom = frame.geometry
    for i in np.flatnonzero((geom.isna() | geom.is_empty).to_numpy()):
        problems.append((int(i), ids.iat[i], "geometry is missing"))
    if frame.crs.to_epsg() == 4326:
        x = np.where(geom.isna() | geom.is_empty, np.nan, geom.x)
        y = np.where(geom.isna() | geom.is_empty, np.nan, geom.y)
        return _from_lonlat(x, y, ids, problems, "lon/lat"), problems
    bng = geom.to_crs(BNG)
    return np.column_stack([bng.x.to_numpy(), bng.y.to_numpy()]), problems


def selected_ids(
    stations: gpd.GeoDataFrame,
    *,
    column: str | None = None,
    values: Sequence[str] = (),
    ids: Sequence[str] = (),
    where: str = "counters",
    fields: bool = True,
) -> list[str]:
    """The one rule that selects counters: rows whose ``column`` takes one of ``values``, and the ``ids``.

    Values are compared in one canonical form (:func:`planner.categories.canonical`: case, spaces, invisible
    characters), and a value the column never takes is refused with the nearest one it does; an id the
    table lacks is refused.  Scenario files (``counters.open``, ``twenty_four_seven``) and ``--open``
    both select through this.

    Parameters
    ----------
    stations
        Output of :func:`load_stations`.
    column, values
        A category column (``status_final_nov2017``) and the values that select a row.
    ids
        Station ids.
    where
        How to name the selection in messages (a scenario field such as ``counters.open``).
    fields
        Name the part at fault after ``where`` (``.column``, ``.values``, ``.ids``), as scenario fields are.

    Returns
    -------
    list of str
        The selected station ids, sorted.

    Raises
    ------
    DataError
        For a column the table lacks, a value it never takes, or an unknown id.
    """
    chosen: set[str] = set()
    part = (lambda name: f"{where}.{name}") if fields else (lambda name: where)
    if column is not None:
        if column not in stations.columns:
            cols = [c for c in stations.columns if c not in ("geometry", "station_id")]
            raise DataError(f"{part('column')}: the stations file has no column {column!r}; columns: {cols}")
        present = stations[column].astype(str)
        wanted = match_values(values, present.unique(), where=part("values"), column=column)
        chosen |= set(stations.loc[present.map(canonical).isin({canonical(v) for v in wanted}), "station_id"])
    unknown = sorted(set(ids) - set(stations["station_id"]))
    if unknown:
        raise DataError(f"{part('ids')}: unknown station id(s) {unknown}; see the stations file's id column")
    return sorted(chosen | set(ids))


def open_counters(stations: gpd.GeoDataFrame, *, column: str, values: list[str]) -> gpd.GeoDataFrame:
    """Select stations whose ``column`` takes one of ``values`` (see :func:`selected_ids`).

    Parameters
    ----------
    stations
        Output of :func:`load_stations`.
    column
        Status column, e.g. ``status_final_nov2017``.
    values
        Values that mean "open", e.g. ``["retain", "new"]``.

    Returns
    -------
    geopandas.GeoDataFrame
        The open counters.
    """
    where = f"counters with {column} in {values}"
    chosen = selected_ids(stations, column=column, values=values, where=where, fields=False)
    return stations.loc[stations["station_id"].isin(chosen)].reset_index(drop=True)


def select_counters(stations: gpd.GeoDataFrame, spec: str) -> gpd.GeoDataFrame:
    """Select counters from a ``COLUMN=VALUE[,VALUE]`` or ``ids=ID[,ID]`` string.

    Parameters
    ----------
    stations
        Output of :func:`load_stations`.
    spec
        For example ``status_final_nov2017=retain,new`` or ``ids=acton,brixton``.

    Returns
    -------
    geopandas.GeoDataFrame
        The selected counters.
    """
    column, sep, raw = spec.partition("=")
    if not sep or not raw:
        raise DataError(f"Cannot read counter selection {spec!r}; write COLUMN=VALUE[,VALUE] or ids=ID[,ID].")
    values = [v.strip() for v in raw.split(",") if v.strip()]
    twice = sorted({v for v in values if values.count(v) > 1})
    if twice:
        raise DataError(f"Counter selection {spec!r} names {twice} more than once; name each once.")
    where = f"counter selection {spec!r}"
    if column.strip() == "ids":
        chosen = selected_ids(stations, ids=values, where=where, fields=False)
    else:
        chosen = selected_ids(stations, column=column.strip(), values=values, where=where, fields=False)
    return stations.loc[stations["station_id"].isin(chosen)].reset_index(drop=True)
