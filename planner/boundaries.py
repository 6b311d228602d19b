"""Ward and borough boundaries.

Schema of :func:`load_wards`
----------------------------
``ward_code``  GSS ward code (str, unique)
``ward_name``  ward name
``borough_code``  GSS code of the borough (``E09000001`` for the City)
``borough_name``  borough name
``in_met``  True for wards the Metropolitan Police polices (all but the City)
``geometry``  polygon in EPSG:27700
"""

from __future__ import annotations

import logging
import os
import warnings
import zipfile
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely

from planner.config import BNG, CITY_OF_LONDON_CODE
from planner.errors import CRSError, DataError, PlannerWarning

__all__ = ["load_boroughs", "load_wards", "met_wards"]

logger = logging.getLogger(__name__)

#: Publisher column names mapped to planner's ward schema, per known layout.
_WARD_COLUMNS: tuple[dict[str, str], ...] = (
    # London Datastore 2014
    {"GSS_CODE": "ward_code", "NAME": "ward_name", "LB_GSS_CD": "borough_code", "BOROUGH": "borough_name"},
    # London Datastore 2018
    {"GSS_CODE": "ward_code", "NAME": "ward_name", "LAGSSCODE": "borough_code", "DISTRICT": "borough_name"},
    # ONS-style names
    {"WD18CD": "ward_code", "WD18NM": "ward_name", "LAD18CD": "borough_code", "LAD18NM": "borough_name"},
)
_WARD_SCHEMA = ["ward_code", "ward_name", "borough_code", "borough_name"]
#: The ward set each publisher layout belongs to (the London Datastore changed its columns in 2018).
_EDITIONS = {
    tuple(sorted(_WARD_COLUMNS[0])): "2014",
    tuple(sorted(_WARD_COLUMNS[1])): "2018",
    tuple(sorted(_WARD_COLUMNS[2])): "2018",
}
#: The 2018 files call the City "City and County of the City of London".
_BOROUGH_NAME_FIXES = {"City and County of the City of London": "City of London", "City of Westminster": "Westminster"}


#: Vector files read from a zip that holds no shapefile.
_OTHER_VECTORS = (".geojson", ".json", ".gpkg")
#: British National Grid's extent over Great Britain, padded: projected wards must lie inside it.
_GB_BNG = (-100_000.0, -100_000.0, 800_000.0, 1_400_000.0)


def _check_crs_fits(path: Path, frame: gpd.GeoDataFrame) -> None:
    """Refuse coordinates that cannot be in the CRS the file declares (metres under a degrees .prj, and so on)."""
    minx, miny, maxx, maxy = frame.total_bounds
    name = frame.crs.name
    if frame.crs.is_geographic and not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
        raise CRSError(
            f"{path}: its CRS is {name} (degrees) but its coordinates run from ({minx:.0f}, {miny:.0f}) to "
            f"({maxx:.0f}, {maxy:.0f}), which are not degrees: they look like metres (British National Grid?). "
            "Replace its .prj with the right one (EPSG:27700 for London Datastore files) or re-export the file."
        )
    bng = frame.to_crs(BNG).total_bounds
    inside = _GB_BNG[0] <= bng[0] and _GB_BNG[1] <= bng[1] and bng[2] <= _GB_BNG[2] and bng[3] <= _GB_BNG[3]
    if not (np.isfinite(bng).all() and inside):
        raise CRSError(
            f"{path}: read in its CRS {name}, the wards lie outside Great Britain "
            f"(British National Grid ({bng[0]:.0f}, {bng[1]:.0f}) to ({bng[2]:.0f}, {bng[3]:.0f})): its CRS is "
            "wrong. Replace its .prj with the right one (EPSG:27700 for London Datastore files) or re-export it."
        )


def _source_uri(path: Path, layer: str | None) -> tuple[str, str | None]:
    """Return a GDAL path for ``path``, descending into zip archives."""
    if path.suffix.lower() != ".zip":
        return str(path), layer
    try:
        names = zipfile.ZipFile(path).namelist()
    except zipfile.BadZipFile as exc:
        raise DataError(f"{path} is not a valid zip archive ({exc}); download it again.") from exc
    shps = sorted(n for n in names if n.lower().endswith(".shp"))
    if not shps:
        others = sorted(n for n in names if n.lower().endswith(_OTHER_VECTORS))
        named = [n for n in others if Path(n).stem == layer] or ([] if layer else others)
        if named:  # a zipped GeoJSON or GeoPackage: read it as it is
            logger.info("%s holds no shapefile; reading %s", path, named[0])
            return f"/vsizip/{path}/{named[0]}", None
        shown = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
        raise DataError(
            f"{path} holds no shapefile (.shp) and no GeoJSON or GeoPackage (entries: {shown or 'none'}); "
            "zip the ward layer as a shapefile with its .shx, .dbf and .prj (or as one .geojson or .gpkg), "
            "or download the London Datastore file again."
        )
    if layer is None:
        wanted = [s for s in shps if Path(s).stem == "London_Ward"] or shps
        inner = wanted[0]
    else:
        matches = [s for s in shps if Path(s).stem == layer or s == layer]
        if not matches:
            stems = ", ".join(sorted({Path(s).stem for s in shps}))
            raise DataError(f"{path} has no layer {layer!r}; available: {stems}.")
        inner = matches[0]
    return f"/vsizip/{path}/{inner}", None


def _read(path: Path, layer: str | None) -> gpd.GeoDataFrame:
    if not path.exists():
        raise DataError(f"{path} does not exist.")
    if path.is_file() and path.stat().st_size == 0:
        raise DataError(f"{path} is empty (0 bytes); download or export it again.")
    uri, layer = _source_uri(path, layer)
    if uri.lower().endswith(".shp") and not (uri.startswith("/vsizip/") or path.with_suffix(".prj").exists()):
        raise CRSError(
            f"{path} has no .prj file, so its CRS is unknown; add the .prj beside it "
            "(British National Grid for London Datastore files)."
        )
    try:
        frame = pyogrio.read_dataframe(uri, layer=layer)
    except pyogrio.errors.DataSourceError as exc:
        raise DataError(f"Cannot read {path}: {exc}") from exc
    except (pyogrio.errors.DataLayerError, shapely.errors.GEOSException, ValueError) as exc:
        raise DataError(
            f"Cannot read {path}: the file is damaged ({type(exc).__name__}: {exc}); download or export it again."
        ) from exc
    if frame.crs is None:
        raise CRSError(
            f"{path} has no CRS (a shapefile without .prj, or a file without a CRS); "
            "add the .prj or re-export the file with its CRS."
        )
    if len(frame) == 0:
        raise DataError(f"{path} has no features.")
    return frame


def load_wards(
    source: str | os.PathLike[str],
    *,
    layer: str | None = None,
    columns: dict[str, str] | None = None,
    repair: bool = True,
) -> gpd.GeoDataFrame:
    """Load ward boundaries from any OGR source into planner's ward schema.

    Parameters
    ----------
    source
        A file GDAL can read, or a zip archive holding a shapefile (such as
        the London Datastore's ``London-wards-2014.zip``).
    layer
        Shapefile stem or layer name; by default ``London_Ward`` inside a zip
        (the full set, with the 25 City wards), else the first layer.
    columns
        Mapping from the file's column names to ``ward_code``, ``ward_name``,
        ``borough_code`` and ``borough_name``.  Detected for the London
        Datastore 2014 and 2018 layouts.
    repair
        Repair invalid polygons with :func:`shapely.make_valid` and warn with
        the ward codes.  When False, invalid polygons raise.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per ward in EPSG:27700, with the columns listed in the module
        docstring.

    Raises
    ------
    DataError
        On an unreadable, empty or corrupt file, unknown columns, duplicate
        ward codes or empty geometries.
    CRSError
        If the file has no CRS.
    """
    path = Path(source)
    raw = _read(path, layer)
    mapping = columns or next(
        (m for m in _WARD_COLUMNS if set(m) <= set(raw.columns)),
        {c: c for c in _WARD_SCHEMA} if set(_WARD_SCHEMA) <= set(raw.columns) else None,
    )
    if mapping is None:
        raise DataError(
            f"{path}: cannot tell which columns hold the ward code, ward name, borough code and "
            f"borough name (columns: {', '.join(map(str, raw.columns))}); rename them in the file to "
            "ward_code, ward_name, borough_code, borough_name (or the London Datastore's GSS_CODE, NAME, "
            "LB_GSS_CD, BOROUGH)."
        )
    missing = [c for c in mapping if c not in raw.columns]
    if missing:
        raise DataError(f"{path}: columns {missing} not found; available: {list(raw.columns)}.")
    wards = raw.rename(columns=mapping)[[*_WARD_SCHEMA, "geometry"]].copy()
    wards = gpd.GeoDataFrame(wards, geometry="geometry", crs=raw.crs)
    for col in _WARD_SCHEMA:
        wards[col] = wards[col].astype(str).str.strip()
    wards["borough_name"] = wards["borough_name"].replace(_BOROUGH_NAME_FIXES)

    dup = wards.loc[wards["ward_code"].duplicated(keep=False), "ward_code"]
    if len(dup):
        raise DataError(
            f"{path}: duplicate ward codes {sorted(set(dup))}; each ward must appear once "
            "(dissolve multi-part wards before loading)."
        )
    empty = wards.geometry.isna() | wards.geometry.is_empty
    if empty.any():
        raise DataError(
            f"{path}: empty geometry for wards {sorted(wards.loc[empty, 'ward_code'])}; "
            "fix or remove them in the source file."
        )
    _check_crs_fits(path, wards)
    if wards.crs.to_epsg() != 27700:
        logger.info("Projecting %s from %s to %s", path, wards.crs.to_string(), BNG)
        wards = wards.to_crs(BNG)

    wards = _repaired(path, wards, repair=repair)
    wards["in_met"] = wards["borough_code"] != CITY_OF_LONDON_CODE
    wards = wards[["ward_code", "ward_name", "borough_code", "borough_name", "in_met", "geometry"]]
    wards = wards.reset_index(drop=True)
    wards.attrs["source"] = str(path)
    wards.attrs["edition"] = _EDITIONS.get(tuple(sorted(mapping)), "")
    return wards


def _repaired(path: Path, wards: gpd.GeoDataFrame, *, repair: bool) -> gpd.GeoDataFrame:
    """Invalid ward polygons made valid, with a warning naming them (or refused when ``repair`` is False)."""
    invalid = ~wards.geometry.is_valid
    if invalid.any():
        bad = wards.loc[invalid, ["ward_code", "ward_name"]].itertuples(index=False)
        listing = ", ".join(f"{c} ({n})" for c, n in bad)
        if not repair:
            raise DataError(f"{path}: invalid polygons for {listing}; load with repair=True.")
        fixed = shapely.make_valid(wards.geometry.values[invalid.values])
        wards.loc[invalid, "geometry"] = [_polygonal(g) for g in fixed]
        message = f"{path}: repaired {int(invalid.sum())} invalid ward polygon(s): {listing}"
        warnings.warn(message, PlannerWarning, stacklevel=3)
        logger.warning(message)
    return wards


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """Keep the polygonal part of a repaired geometry."""
    if isinstance(geom, shapely.GeometryCollection) and not isinstance(geom, shapely.MultiPolygon):
        parts = [g for g in geom.geoms if isinstance(g, shapely.Polygon | shapely.MultiPolygon)]
        return shapely.union_all(parts)
    return geom


def met_wards(wards: gpd.GeoDataFrame, *, include_city: bool = False) -> gpd.GeoDataFrame:
    """Return the wards of the Metropolitan Police area.

    Parameters
    ----------
    wards
        Output of :func:`load_wards`.
    include_city
        Keep the City of London wards.  False by default, because the City of
        London Police, not the Met, polices the City.

    Returns
    -------
    geopandas.GeoDataFrame
        The selected wards.
    """
    if include_city:
        return wards
    out = wards.loc[wards["in_met"]].reset_index(drop=True)
    dropped = len(wards) - len(out)
    if dropped:
        logger.info("Excluded %d City of London ward(s) (City of London Police area)", dropped)
    return out


def load_boroughs(source: str | os.PathLike[str], *, expected: Iterable[str] | None = None) -> gpd.GeoDataFrame:
    """Load borough boundaries as ``borough_code``, ``borough_name``, ``geometry``.

    Parameters
    ----------
    source
        An OGR source with ``LAD22CD``/``LAD22NM`` (or ``borough_code``/``borough_name``).
    expected
        Borough codes that must be present (e.g. the ward file's).

    Raises
    ------
    DataError
        No code/name columns, a borough code given twice, or an ``expected`` borough missing.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per borough in EPSG:27700.
    """
    path = Path(source)
    raw = _read(path, None)
    _check_crs_fits(path, raw)
    for code, name in (("LAD22CD", "LAD22NM"), ("LAD21CD", "LAD21NM"), ("borough_code", "borough_name")):
        if code in raw.columns and name in raw.columns:
            out = raw.rename(columns={code: "borough_code", name: "borough_name"})
            out = out[["borough_code", "borough_name", "geometry"]].to_crs(BNG)
            _check_borough_set(path, out, code, expected)
            return out.sort_values("borough_code").reset_index(drop=True)
    raise DataError(f"{path}: no borough code/name columns (looked for LAD22CD/LAD22NM).")


def _check_borough_set(path: Path, boroughs: gpd.GeoDataFrame, column: str, expected: object) -> None:
    """One row per borough, and every borough the wards name."""
    codes = boroughs["borough_code"].astype(str)
    twice = sorted(codes[codes.duplicated()].unique())
    if twice:
        raise DataError(f"{path}: {column} {twice} appear more than once; each borough is one row (dissolve them)")
    if expected is not None:
        missing = sorted(set(map(str, expected)) - set(codes))  # type: ignore[call-overload]
        if missing:
            raise DataError(
                f"{path}: {len(missing)} borough(s) of the ward file are missing ({', '.join(missing[:5])}"
                f"{' ...' if len(missing) > 5 else ''}); their union is London's boundary for the rail and tram "
                "data and the maps, so a missing borough drops its area: restore the file (planner data fetch)"
            )
