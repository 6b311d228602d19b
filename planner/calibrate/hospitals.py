"""The destinations of the calibration: NHS hospital sites of 2014 (by a stated rule) and 2016 (by set)."""

from __future__ import annotations

import logging
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer

from planner.config import BNG, DataPaths
from planner.errors import DataError, PlannerWarning
from planner.travel.cif import LONDON_BOUNDS

logger = logging.getLogger(__name__)


#: The destination set taken by :data:`NHS2014_RULE` from ``nhs_choices_hospital_2014.csv``: the headline.
NHS2014_SET = "set_nhs2014"


#: Destination sets: the rule-based 2014 set, then those of ``nhs_hospitals_2016.csv`` (see the data README).
HOSPITAL_SETS = (NHS2014_SET, "set_primary", "set_acute", "set_broad", "set_labelled")


#: The headline set, and the sets ``planner calibrate`` reports by default.
HEADLINE_SET = NHS2014_SET


DEFAULT_SETS = (NHS2014_SET, "set_primary", "set_acute")


#: Which sites of the NHS Choices 2014 export count as a hospital for a resident's trip.  Stated before the
#: fit was looked at; classified by parent organisation, because the export's sector labels are unreliable.
NHS2014_RULE = (
    "a site counts when (1) its parent organisation code (ParentODSCode) starts with R or T, an NHS trust; "
    "(2) its SubType is 'Hospital' (not 'Mental Health Hospital' or 'UNKNOWN'); (3) neither its parent's name "
    "nor its own name marks a mental-health or specialist service ("
    + ", ".join(
        (
            "mental health",
            "partnership",
            "psychiatr",
            "tavistock",
            "orthopaedic",
            "eye",
            "marsden",
            "great ormond",
            "brompton",
            "moorfields",
            "cancer",
            "children",
            "women",
            "dental",
            "hospice",
            "rehabilitation",
            "neuro",
            "heart",
            "chest",
        )
    )
    + "); (4) it lies within Greater London's box with a 15 km margin; one site per location (rows repeating "
    "a site under two codes are merged)"
)


_LONDON_POSTCODE_AREAS = frozenset(
    {"E", "EC", "N", "NW", "SE", "SW", "W", "WC", "BR", "CR", "DA", "EN", "HA", "IG", "KT", "RM", "SM", "TW"}
    | {"UB", "WD"}
)


_NOT_GENERAL = (
    r"mental health|partnership|psychiatr|tavistock|orthopaedic|\beye\b|marsden|great ormond|brompton|"
    r"moorfields|cancer|children|women|dental|hospice|rehabilitation|neuro|heart|chest"
)


def load_hospitals(paths: DataPaths, *, hospital_set: str = HEADLINE_SET) -> gpd.GeoDataFrame:
    """NHS hospital sites of one destination set, as points with a ``station_id``.

    Parameters
    ----------
    paths
        The data directory.
    hospital_set
        One of :data:`HOSPITAL_SETS`.
    """
    if hospital_set not in HOSPITAL_SETS:
        raise DataError(f"unknown hospital set {hospital_set!r}; choose one of {', '.join(HOSPITAL_SETS)}")
    if hospital_set == NHS2014_SET:
        return load_hospitals_2014(paths)
    path = paths.hospitals
    table = pd.read_csv(path)
    need = {"id", "name", "easting", "northing", hospital_set}
    missing = sorted(need - set(table.columns))
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}")
    flag = table[hospital_set].astype(str).str.strip().str.lower()
    bad = ~flag.isin(["true", "false"])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise DataError(
            f"{path}, line {row}: {hospital_set} must be True or False (got {table[hospital_set].iloc[row - 2]!r})"
        )
    table = table.loc[flag == "true"].copy()
    for col in ("easting", "northing"):
        table[col] = pd.to_numeric(table[col], errors="coerce")
    xy_ok = table[["easting", "northing"]].gt(0).all(axis=1)
    if not xy_ok.all():
        raise DataError(
            f"{path}: hospital(s) {table.loc[~xy_ok, 'id'].tolist()} have no coordinates (easting and northing "
            "must be numbers of metres); correct them or download the list again"
        )
    x0, y0, x1, y1 = HOSPITAL_BOUNDS
    inside = table["easting"].between(x0, x1) & table["northing"].between(y0, y1)
    if not inside.all():
        far = table.loc[~inside]
        swapped = far["northing"].between(x0, x1) & far["easting"].between(y0, y1)
        shown = ", ".join(
            f"{i} ({e:.0f}, {n:.0f}{', swapped?' if s else ''})"
            for i, e, n, s in zip(far["id"], far["easting"], far["northing"], swapped, strict=True)
        )
        raise DataError(
            f"{path}: hospital(s) outside London and its edge (British National Grid {x0:,.0f}-{x1:,.0f} east, "
            f"{y0:,.0f}-{y1:,.0f} north): {shown}; correct their easting/northing or download the list again"
        )
    return gpd.GeoDataFrame(
        {"station_id": table["id"].astype(str).to_numpy(), "name": table["name"].to_numpy()},
        geometry=gpd.points_from_xy(table["easting"], table["northing"]),
        crs=BNG,
    )


#: Hospitals a Londoner's nearest may be: Greater London and 10 km around it (British National Grid metres).
HOSPITAL_BOUNDS = (490_000.0, 145_000.0, 575_000.0, 210_000.0)


def load_hospitals_2014(paths: DataPaths) -> gpd.GeoDataFrame:
    """The hospitals of ``nhs_choices_hospital_2014.csv`` that :data:`NHS2014_RULE` keeps.

    Parameters
    ----------
    paths
        The data directory.

    Returns
    -------
    geopandas.GeoDataFrame
        ``station_id`` (organisation code), ``name``, points in EPSG:27700.

    Raises
    ------
    DataError
        If the file is not the NHS Choices export (columns), or a kept site has no coordinates.
    """
    path = paths.hospitals_2014
    try:
        table = pd.read_csv(path, sep="\u00ac", encoding="latin-1", engine="python", dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read it as the NHS Choices export (separator ¬, Latin-1): {exc}") from exc
    need = ["OrganisationCode", "OrganisationName", "SubType", "ParentODSCode", "ParentName", "Latitude", "Longitude"]
    missing = [c for c in need if c not in table.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; is it the NHS Choices Hospital export (¬-separated)?")
    trust = table["ParentODSCode"].str.strip().str.upper().str[:1].isin(["R", "T"])
    general = table["SubType"].str.strip() == "Hospital"
    text = (table["ParentName"] + " | " + table["OrganisationName"]).str.lower()
    special = text.str.contains(_NOT_GENERAL, regex=True)
    kept = table.loc[trust & general & ~special].copy()
    lat = pd.to_numeric(kept["Latitude"], errors="coerce")
    lon = pd.to_numeric(kept["Longitude"], errors="coerce")
    bad = lat.isna() | lon.isna()
    area = kept.get("Postcode", pd.Series("", index=kept.index)).str.upper().str.extract(r"^([A-Z]+)")[0]
    london_area = bad & area.isin(_LONDON_POSTCODE_AREAS)
    if london_area.any():
        codes = kept.loc[london_area, "OrganisationCode"].tolist()[:5]
        raise DataError(
            f"{path}: kept hospital(s) {codes} in a London postcode area have no Latitude/Longitude; "
            "give their coordinates"
        )
    if bad.any():
        note = (
            f"{int(bad.sum())} kept site(s) outside the London postcode areas have no coordinates and are "
            f"skipped ({', '.join(kept.loc[bad, 'OrganisationCode'].tolist()[:5])})"
        )
        warnings.warn(f"{path.name}: {note}", PlannerWarning, stacklevel=2)
        logger.warning("%s: %s", path.name, note)
        kept, lat, lon = kept.loc[~bad].copy(), lat[~bad], lon[~bad]
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(lon.to_numpy(), lat.to_numpy())
    kept["x"], kept["y"] = np.round(x, 1), np.round(y, 1)
    x0, y0, x1, y1 = LONDON_BOUNDS
    kept = kept.loc[kept["x"].between(x0, x1) & kept["y"].between(y0, y1)]
    kept = kept.sort_values("OrganisationCode", kind="stable").drop_duplicates(["x", "y"])
    logger.info("%s: %d hospital sites by the stated rule", path.name, len(kept))
    return gpd.GeoDataFrame(
        {"station_id": kept["OrganisationCode"].to_numpy(), "name": kept["OrganisationName"].to_numpy()},
        geometry=gpd.points_from_xy(kept["x"], kept["y"]),
        crs=BNG,
    )
