"""Postcodes: OS Code-Point Open points, and the travel time from each to the nearest open counter.

The resident map answers "type your postcode" for the postcode's own point, so
the nearest counter and the minutes to it are computed by the run's travel
engine from every one of London's ~180,000 postcode points (one multi-source
search, a few seconds), and stored in the run folder as ``postcodes.parquet``.

Code-Point Open (OS OpenData licence): "Contains OS data © Crown copyright and
database right 2025; Contains Royal Mail data © Royal Mail copyright and
database right 2025; Contains National Statistics data © Crown copyright and
database right 2025".
"""

from __future__ import annotations

import functools
import logging
import os
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.config import CITY_OF_LONDON_CODE
from planner.errors import DataError
from planner.stations import LONDON_BOUNDS
from planner.travel.base import TravelEngine

__all__ = [
    "POSTCODE_FILE",
    "find_postcodes",
    "load_postcodes",
    "normalise_postcode",
    "postcode_access",
    "postcode_file",
    "write_postcode_access",
]

logger = logging.getLogger(__name__)

#: Where Code-Point Open lives inside the data directory.
POSTCODE_FILE = "postcodes/codepoint_open_2025_london.csv.gz"
_FULL = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")


def postcode_file(root: str | os.PathLike[str]) -> Path | None:
    """The Code-Point Open file of a data directory, or ``None`` when the mirror has none.

    Parameters
    ----------
    root
        The data directory.
    """
    path = Path(root) / POSTCODE_FILE
    return path if path.is_file() else None


def normalise_postcode(text: str) -> str | None:
    """A full postcode in its standard form (``"ha90aa"`` -> ``"HA9 0AA"``), or ``None`` if it is not one.

    Parameters
    ----------
    text
        A postcode as typed.
    """
    value = _normalise_all(pd.Series([text], dtype=object)).iloc[0]
    return None if pd.isna(value) else str(value)


def _normalise_all(texts: pd.Series) -> pd.Series:
    """:func:`normalise_postcode` of a whole column at once (NaN where it gives ``None``)."""
    compact = texts.fillna("").astype(str).str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)
    parts = compact.str.extract(_FULL.pattern)
    return parts[0] + " " + parts[1]


def load_postcodes(path: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    """London's postcodes as points in EPSG:27700.

    Parameters
    ----------
    path
        ``codepoint_open_2025_london.csv.gz`` (columns ``postcode``, ``pq``,
        ``easting``, ``northing``, ``lad`` ...).

    Returns
    -------
    geopandas.GeoDataFrame
        ``postcode`` (standard form, sorted), ``pq``, ``lad`` and point geometry.
    """
    table = pd.read_csv(path, usecols=["postcode", "pq", "easting", "northing", "lad"], dtype={"postcode": str})
    standard = _normalise_all(table["postcode"])
    bad = standard.isna()
    if bad.any():
        example = table["postcode"][bad].iloc[0]
        raise DataError(
            f"{path}: {int(bad.sum())} rows without a valid postcode, e.g. {example!r}; use Code-Point Open"
        )
    table["postcode"] = standard
    if table["postcode"].duplicated().any():
        example = table["postcode"][table["postcode"].duplicated()].iloc[0]
        raise DataError(f"{path}: postcode {example} appears twice; use one row per postcode")
    _check_points(path, table)
    table = table.sort_values("postcode", kind="stable").reset_index(drop=True)
    geometry = gpd.points_from_xy(table["easting"], table["northing"], crs=27700)
    return gpd.GeoDataFrame(table.drop(columns=["easting", "northing"]), geometry=geometry, crs=27700)


def _check_points(path: str | os.PathLike[str], table: pd.DataFrame) -> None:
    """Every postcode at a numeric point inside Greater London (padded by 2 km); else the file is refused."""
    for col in ("easting", "northing"):
        table[col] = pd.to_numeric(table[col], errors="coerce")
    x0, y0, x1, y1 = LONDON_BOUNDS
    x, y = table["easting"].to_numpy(float), table["northing"].to_numpy(float)
    bad = np.flatnonzero(~((x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)))
    if len(bad):
        i = int(bad[0])
        shown = ", ".join(table["postcode"].iloc[bad[:5]])
        raise DataError(
            f"{path}: {len(bad)} postcode(s) without a point in London, e.g. line {i + 2}, {table['postcode'].iat[i]} "
            f"at easting/northing ({table['easting'].iat[i]}, {table['northing'].iat[i]}) ({shown}): easting and "
            "northing must be British National Grid metres in London; use Code-Point Open as published"
        )


def postcode_access(
    postcodes: gpd.GeoDataFrame,
    counters: gpd.GeoDataFrame,
    engine: TravelEngine,
    *,
    wards: gpd.GeoDataFrame | None = None,
    candidates: gpd.GeoDataFrame | None = None,
) -> pd.DataFrame:
    """Nearest open counter and minutes to it from every postcode point.

    Parameters
    ----------
    postcodes
        From :func:`load_postcodes`.
    counters
        Open counters (``station_id``, point geometry in EPSG:27700).
    engine
        The run's travel engine.
    wards
        Ward polygons (``ward_code``, and ``in_met`` when the City's wards are
        among them): each postcode gets the Met ward it lies in (the nearest
        ward within 200 m for points just outside, e.g. on the river).
        ``ward_code`` is empty for the City of London (its own police force):
        postcodes Code-Point places in the City (``lad``), and points in or
        nearest to a City ward. Give every ward, the City's included, so that
        a City postcode is never put in a neighbouring borough's ward.
    candidates
        Every counter of the counter table, ``counters`` among them: the engine then searches among
        them (``among``), so that the plans of one run set share the postcodes' graph.

    Returns
    -------
    pandas.DataFrame
        ``postcode``, ``easting``, ``northing``, ``station_id``, ``minutes``
        (NaN when no counter is reachable) and, with ``wards``, ``ward_code``.
    """
    origins = gpd.GeoDataFrame({"point_id": postcodes["postcode"].to_numpy()}, geometry=postcodes.geometry.values)
    if candidates is None:
        nearest = engine.nearest(origins, counters[["station_id", "geometry"]]).table
    else:
        among = counters["station_id"].astype(str).tolist()
        nearest = engine.nearest(origins, candidates[["station_id", "geometry"]], among=among).table
    out = pd.DataFrame(
        {
            "postcode": postcodes["postcode"].to_numpy(),
            "easting": postcodes.geometry.x.round().astype(int).to_numpy(),
            "northing": postcodes.geometry.y.round().astype(int).to_numpy(),
            "station_id": nearest["station_id"].to_numpy(),
            "minutes": nearest["minutes"].to_numpy(dtype=float),
        }
    )
    if wards is not None:
        codes = _ward_of(origins, wards)
        if "lad" in postcodes.columns:
            codes[postcodes["lad"].astype(str).to_numpy() == CITY_OF_LONDON_CODE] = ""
        out["ward_code"] = codes
    return out


def _ward_of(points: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> np.ndarray:
    """The Met ward of each point: the one it lies in, else the nearest within 200 m; "" in or next to the City."""
    met = wards["in_met"].astype(bool) if "in_met" in wards.columns else pd.Series(True, index=wards.index)
    polys = wards[["ward_code", "geometry"]].to_crs(points.crs)
    polys = polys.assign(ward_code=polys["ward_code"].where(met.to_numpy(), ""))
    inside = gpd.sjoin(points, polys, how="left", predicate="within")
    inside = inside[~inside.index.duplicated()]
    codes = inside["ward_code"].reindex(points.index)
    missing = codes.isna()
    if missing.any():
        near = gpd.sjoin_nearest(points.loc[missing], polys, how="left", max_distance=200)
        near = near[~near.index.duplicated()]
        codes.loc[missing] = near["ward_code"].reindex(codes.index[missing])
    return codes.fillna("").astype(str).to_numpy()


@functools.lru_cache(maxsize=2)
def _cached(path: str, mtime: float) -> gpd.GeoDataFrame:
    return load_postcodes(path)


def write_postcode_access(
    folder: str | os.PathLike[str],
    root: str | os.PathLike[str],
    counters: gpd.GeoDataFrame,
    engine: TravelEngine,
    *,
    wards: gpd.GeoDataFrame,
    candidates: gpd.GeoDataFrame | None = None,
) -> Path | None:
    """Write ``postcodes.parquet`` (see :func:`postcode_access`) into a run folder.

    Returns ``None`` (and writes nothing) when the data directory has no
    Code-Point Open file; the resident map then offers the ward search only.

    Parameters
    ----------
    folder
        The run folder being written.
    root
        The data directory (its Code-Point Open file).
    counters
        The run's open counters (EPSG:27700).
    engine
        The run's travel-time engine.
    wards
        Ward polygons, for each postcode's ward.
    candidates
        Every station of the run set, so that one graph serves several plans (see the ``among``
        argument of :meth:`~planner.travel.base.TravelEngine.nearest`).
    """
    path = postcode_file(root)
    if path is None:
        logger.warning("no %s in %s: the resident map will have no postcode search", POSTCODE_FILE, root)
        return None
    postcodes = _cached(str(path), path.stat().st_mtime)
    table = postcode_access(postcodes, counters, engine, wards=wards, candidates=candidates)
    out = Path(folder) / "postcodes.parquet"
    table.to_parquet(out, index=False)
    return out


def find_postcodes(texts: list[str], root: str | os.PathLike[str]) -> gpd.GeoDataFrame:
    """The points of the given postcodes (any case, with or without the space).

    Parameters
    ----------
    texts
        Postcodes as typed.
    root
        The data directory (its Code-Point Open file).

    Raises
    ------
    DataError
        When the data directory has no Code-Point Open file, or a postcode is
        not a London postcode in it.
    """
    path = postcode_file(root)
    if path is None:
        raise DataError(f"no {POSTCODE_FILE} in {root}: fetch the postcode data to look up postcodes")
    table = _cached(str(path), path.stat().st_mtime)
    wanted = [normalise_postcode(t) for t in texts]
    bad = [t for t, w in zip(texts, wanted, strict=True) if w is None]
    if bad:
        raise DataError(f"not a full postcode: {bad} (write e.g. 'HA9 0WS')")
    repeated = sorted({w for w in wanted if wanted.count(w) > 1})
    if repeated:
        logger.warning("postcode(s) %s given more than once are answered once", ", ".join(repeated))
        wanted = list(dict.fromkeys(wanted))
    pos = pd.Index(table["postcode"]).get_indexer(wanted)
    missing = [w for w, p in zip(wanted, pos, strict=True) if p < 0]
    if missing:
        raise DataError(f"postcodes {missing} are not London postcodes in {path.name}")
    return table.iloc[pos].reset_index(drop=True)
