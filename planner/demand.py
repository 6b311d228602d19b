"""Resident demand: population-weighted LSOA centroids with age bands.

Demand points (``Demand.points``)
---------------------------------
``point_id``  LSOA 2011 code
``lsoa_name``, ``ward_code``, ``ward_name``, ``borough_code``, ``borough_name``, ``in_met``
``population``  all ages, for the chosen year
``pop_0_15``, ``pop_16_29``, ``pop_30_44``, ``pop_45_64``, ``pop_65_plus``
``geometry``  point in EPSG:27700

Ward table (``Demand.wards``)
-----------------------------
``ward_code``, ``ward_name``, ``borough_code``, ``borough_name``, ``in_met``,
``population``, ``pop_65_plus``, ``n_points`` (centroids in the ward).  Wards
with no centroid (20 of the 25 City wards) keep a row with zero population
and ``n_points`` = 0: their residents are counted in the neighbouring ward
that holds their LSOA's centroid.
"""

from __future__ import annotations

import logging
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.config import BNG, DataPaths, require_bng
from planner.errors import DataError, PlannerWarning
from planner.io import read_csv, sha256_file

__all__ = ["AGE_BANDS", "DEMAND_YEARS", "Demand", "load_demand"]

logger = logging.getLogger(__name__)

DEMAND_YEARS = (2019, 2020)
#: A centroid in no ward polygon (on the river, at the edge) takes the nearest ward within this distance.
NEAREST_WARD_M = 500.0
AGE_BANDS = {
    "Persons_0-15": "pop_0_15",
    "Persons_16-29": "pop_16_29",
    "Persons_30-44": "pop_30_44",
    "Persons_45-64": "pop_45_64",
    "Persons_65+": "pop_65_plus",
}


@dataclass(frozen=True)
class Demand:
    """Demand points and the ward population table built from them."""

    points: gpd.GeoDataFrame
    wards: pd.DataFrame
    year: int

    @property
    def total(self) -> int:
        """Residents over all demand points."""
        return int(self.points["population"].sum())

    def in_boroughs(self, boroughs: list[str]) -> Demand:
        """The part of the demand in these boroughs (names or GSS codes)."""
        wanted = set(boroughs)
        city = {"City of London", "E09000001"} & wanted
        if city and not (self.wards["borough_code"] == "E09000001").any():
            raise DataError(
                f"{sorted(city)[0]}: the City of London has its own police force (City of London Police), so its "
                "residents are not in the Met's study area; choose Met boroughs, or include the City in the study "
                "area (include_city = true in a scenario)"
            )
        keep = self.wards["borough_name"].isin(wanted) | self.wards["borough_code"].isin(wanted)
        if not keep.any():
            known = sorted(self.wards["borough_name"].unique())
            raise DataError(f"no borough called {sorted(wanted)}; boroughs are: {', '.join(known)}")
        found = set(self.wards.loc[keep, "borough_name"]) | set(self.wards.loc[keep, "borough_code"])
        missing = sorted(wanted - found)
        if missing:
            raise DataError(f"unknown borough(s) {missing}; check the spelling (e.g. 'Kingston upon Thames')")
        codes = set(self.wards.loc[keep, "ward_code"])
        return Demand(
            self.points.loc[self.points["ward_code"].isin(codes)].reset_index(drop=True),
            self.wards.loc[keep].reset_index(drop=True),
            self.year,
        )

    def met(self) -> Demand:
        """The part of the demand inside the Metropolitan Police area."""
        return Demand(
            self.points.loc[self.points["in_met"]].reset_index(drop=True),
            self.wards.loc[self.wards["in_met"]].reset_index(drop=True),
            self.year,
        )


def _check_other_years(paths: DataPaths, year: int) -> None:
    """Say when the population file is byte for byte another year's: one of them is a copy of the other, so the
    figures for either year are the other's (the second hostile pass copied mid-2019 over mid-2020)."""
    mine = paths.population(year)
    for other in (2019, 2020):
        theirs = paths.root / "population" / f"lsoa11_mid{other}_population.csv"
        if other != year and mine.is_file() and theirs.is_file() and sha256_file(mine) == sha256_file(theirs):
            message = (
                f"{mine.name} is byte for byte {theirs.name}: one is a copy of the other, so the mid-{year} "
                f"figures are the mid-{other} ones; restore the files (`planner data fetch`) if that is not meant"
            )
            warnings.warn(message, PlannerWarning, stacklevel=3)
            logger.warning(message)


def load_demand(
    data: str | os.PathLike[str] | DataPaths,
    *,
    wards: gpd.GeoDataFrame,
    year: int = 2019,
) -> Demand:
    """Load LSOA population-weighted centroids and their population.

    Parameters
    ----------
    data
        Data directory (or its :class:`~planner.config.DataPaths`).
    wards
        Wards from :func:`planner.boundaries.load_wards`; each centroid is
        assigned to the ward that contains it.
    year
        Mid-year population estimate: 2019 or 2020.

    Returns
    -------
    Demand
        Points and ward table, described in the module docstring.

    Raises
    ------
    DataError
        For an unsupported year or centroids and population tables that do
        not match.
    """
    if year not in DEMAND_YEARS:
        raise DataError(f"Demand year {year} is not available; choose one of {DEMAND_YEARS}.")
    require_bng(wards, "wards")
    paths = data if isinstance(data, DataPaths) else DataPaths(Path(data))
    cen = read_csv(paths.centroids, dtype={"lsoa11cd": str})
    _check_other_years(paths, year)
    pop = read_csv(paths.population(year), dtype={"LSOA11CD": str})
    _check_columns(paths.centroids, cen, ["lsoa11cd", "X", "Y"])
    _check_columns(paths.population(year), pop, ["LSOA11CD", "Persons_All-Ages", *AGE_BANDS])
    pop = _check_counts(paths.population(year), pop, ["Persons_All-Ages", *AGE_BANDS])
    _check_bands(paths.population(year), pop)
    cen = _check_coordinates(paths.centroids, cen)
    missing = set(pop["LSOA11CD"]) - set(cen["lsoa11cd"])
    if missing:
        raise DataError(
            f"{paths.population(year)}: {len(missing)} LSOAs have no centroid in {paths.centroids}, "
            f"e.g. {sorted(missing)[:5]}; use matching 2011 LSOA files."
        )
    _reconcile(cen, pop, paths.centroids, paths.population(year))
    table = pop.merge(cen, left_on="LSOA11CD", right_on="lsoa11cd", how="inner")
    table = table.rename(columns={"LSOA11CD": "point_id", "LSOA11NM": "lsoa_name", "Persons_All-Ages": "population"})
    table = table.rename(columns=AGE_BANDS)
    points = gpd.GeoDataFrame(
        table[["point_id", "lsoa_name", "population", *AGE_BANDS.values()]],
        geometry=gpd.points_from_xy(table["X"], table["Y"]),
        crs="EPSG:4326",
    ).to_crs(BNG)
    points = _assign_wards(points, wards)
    if "LAD11CD" in pop.columns:
        _check_boroughs(paths.centroids, points, pop)
    points = points.sort_values("point_id").reset_index(drop=True)
    ward_pop = _ward_table(points, wards)
    logger.info("Loaded %d demand points, %d residents (mid-%d)", len(points), points["population"].sum(), year)
    return Demand(points, ward_pop, year)


def _reconcile(cen: pd.DataFrame, pop: pd.DataFrame, cen_path: Path, pop_path: Path) -> None:
    """Name the LSOAs with a centroid but no population row: refuse a whole borough, warn about the rest.

    The borough of an LSOA is its 2011 name without the last word (``"Camden 001A"`` -> ``"Camden"``).
    """
    lost = cen.loc[~cen["lsoa11cd"].isin(set(pop["LSOA11CD"]))]
    if lost.empty:
        return
    names = cen.get("lsoa11nm", cen["lsoa11cd"]).astype(str)
    borough = names.str.replace(r"\s+\S+$", "", regex=True)
    total = borough.value_counts()
    missing = borough.loc[lost.index].value_counts()
    whole = sorted(b for b, n in missing.items() if n == total[b])
    if whole:
        raise DataError(
            f"{pop_path} has no population row for any LSOA of {', '.join(whole)} "
            f"({int(missing[whole].sum())} LSOAs with a centroid in {cen_path}): every figure would leave "
            "those residents out. Use the complete ONS file (download it again, see data/README.md)."
        )
    listed = ", ".join(f"{c} ({n})" for c, n in zip(lost["lsoa11cd"][:5], names.loc[lost.index][:5], strict=True))
    more = f" and {len(lost) - 5} more" if len(lost) > 5 else ""
    message = (
        f"{pop_path}: {len(lost)} LSOA(s) with a centroid in {cen_path.name} have no population row, so their "
        f"residents are left out of every figure: {listed}{more}; by borough {missing.sort_index().to_dict()}. "
        "Use the complete ONS file to count them."
    )
    warnings.warn(message, PlannerWarning, stacklevel=3)
    logger.warning(message)


def _check_columns(path: Path, table: pd.DataFrame, needed: list[str]) -> None:
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; columns are {list(table.columns)}.")
    code = needed[0]
    dup = table.loc[table[code].duplicated(keep=False), code]
    if len(dup):
        raise DataError(
            f"{path}: LSOA codes {sorted(set(dup))[:5]} appear more than once; each LSOA must have one row."
        )


def _check_counts(path: Path, table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """Refuse missing, non-numeric, infinite or negative resident counts, naming the LSOA and the value."""
    problems = []
    for col in columns:
        values = pd.to_numeric(table[col], errors="coerce")
        bad = values.isna() | ~np.isfinite(values.fillna(0)) | (values < 0)
        for i in np.flatnonzero(bad.to_numpy()):
            raw, number = table[col].iat[i], values.iat[i]
            if pd.isna(raw) or str(raw).strip() == "":
                got = "missing"
            elif pd.isna(number):
                got = f"{str(raw)!r}, not a number"
            else:
                got = f"{number:g}" + (", negative" if number < 0 else "")
            problems.append(f"line {i + 2}, LSOA {table['LSOA11CD'].iat[i]}: {col} is {got}")
        if not bad.any() and (values % 1 == 0).all():
            values = values.astype(np.int64)
        table[col] = values
    if problems:
        listing = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise DataError(
            f"{path}: {len(problems)} population value(s) are not a count of residents (a number, 0 or more): "
            f"{listing}. Fix the file (download it again, see data/README.md)."
        )
    return table


#: The most residents an LSOA can hold: ONS designs them for 1,000 to 3,000 and London's largest, grown by
#: new building, holds about 17,000 (mid-2020); a count far above is a multiplied or shifted figure.
MAX_LSOA_RESIDENTS = 50_000


def _check_bands(path: Path, table: pd.DataFrame) -> None:
    """Whole residents, and age bands that add up to all ages (ONS's own tables do, row by row)."""
    counts = table[["Persons_All-Ages", *AGE_BANDS]].to_numpy(float)
    huge = np.flatnonzero(counts[:, 0] > MAX_LSOA_RESIDENTS)
    if len(huge):
        i = int(huge[0])
        raise DataError(
            f"{path}, line {i + 2}, LSOA {table['LSOA11CD'].iat[i]}: {counts[i, 0]:,.0f} residents, more than "
            f"the {MAX_LSOA_RESIDENTS:,} any LSOA holds (they are built for 1,000 to 3,000; {len(huge)} such "
            "row(s)); use ONS's estimates as published (see data/README.md)."
        )
    fractional = np.flatnonzero((counts % 1 != 0).any(axis=1))
    if len(fractional):
        i = int(fractional[0])
        raise DataError(
            f"{path}, line {i + 2}, LSOA {table['LSOA11CD'].iat[i]}: a resident count is not a whole number "
            f"({len(fractional)} such row(s)); use ONS's estimates as published (see data/README.md)."
        )
    off = np.flatnonzero(counts[:, 1:].sum(axis=1) != counts[:, 0])
    if len(off):
        i = int(off[0])
        raise DataError(
            f"{path}, line {i + 2}, LSOA {table['LSOA11CD'].iat[i]}: the age bands {list(AGE_BANDS)} add up to "
            f"{counts[i, 1:].sum():,.0f}, not Persons_All-Ages {counts[i, 0]:,.0f} ({len(off)} such row(s)): a "
            "value or a column header is wrong; use ONS's estimates as published (see data/README.md)."
        )


def _check_coordinates(path: Path, table: pd.DataFrame) -> pd.DataFrame:
    problems = []
    for col in ("X", "Y"):
        values = pd.to_numeric(table[col], errors="coerce")
        for i in np.flatnonzero((values.isna() | ~np.isfinite(values.fillna(0))).to_numpy()):
            problems.append(f"line {i + 2}, LSOA {table['lsoa11cd'].iat[i]}: {col} is {table[col].iat[i]!r}")
        table[col] = values
    if problems:
        raise DataError(f"{path}: centroid coordinates are not numbers: {'; '.join(problems[:10])}.")
    lon, lat = table["X"].to_numpy(float), table["Y"].to_numpy(float)
    off = np.flatnonzero(~((lon >= -8.5) & (lon <= 2.0) & (lat >= 49.0) & (lat <= 61.0)))
    if len(off):
        i = int(off[0])
        swapped = -8.5 <= lat[i] <= 2.0 and 49.0 <= lon[i] <= 61.0
        why = (
            "X and Y look swapped (X is the longitude, about -0.1)"
            if swapped
            else "not a longitude/latitude in Great Britain"
        )
        if not swapped and abs(lon[i]) > 1000:
            why += " (metres? the file gives WGS84 degrees)"
        raise DataError(
            f"{path}, line {i + 2}, LSOA {table['lsoa11cd'].iat[i]}: X/Y ({lon[i]}, {lat[i]}): {why}; "
            f"{len(off)} such row(s). Use ONS's population-weighted centroids as published (see data/README.md)."
        )
    return table


def _check_boroughs(path: Path, points: gpd.GeoDataFrame, pop: pd.DataFrame) -> None:
    """Each LSOA's centroid must lie in the borough its population row names (``LAD11CD``): a moved centroid
    would count its residents in another borough's ward (the second hostile pass)."""
    lad = dict(zip(pop["LSOA11CD"], pop["LAD11CD"].astype(str), strict=False))
    stated = points["point_id"].map(lad)
    wrong = stated.notna() & points["borough_code"].notna() & (points["borough_code"] != stated)
    wrong &= stated.str.startswith("E09")
    if wrong.any():
        rows = points.loc[wrong]
        shown = ", ".join(
            f"{r.point_id} (in {r.borough_code}, its borough is {lad[r.point_id]})" for r in rows.head(5).itertuples()
        )
        raise DataError(
            f"{path}: {len(rows)} centroid(s) lie outside the borough of their LSOA: {shown}; the coordinates are "
            "wrong (swapped, edited or another edition's): restore the file (`planner data fetch`)"
        )


def _assign_wards(points: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    cols = ["ward_code", "ward_name", "borough_code", "borough_name", "in_met"]
    joined = gpd.sjoin(points, wards[[*cols, "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")].drop(columns="index_right")
    lost = joined["ward_code"].isna()
    if lost.any():
        near = gpd.sjoin_nearest(points.loc[lost], wards[[*cols, "geometry"]], how="left", max_distance=NEAREST_WARD_M)
        near = near[~near.index.duplicated(keep="first")]
        far = near["ward_code"].isna()
        if far.any():
            codes = sorted(near.loc[far, "point_id"])
            raise DataError(
                f"{len(codes)} LSOA centroid(s) lie more than {NEAREST_WARD_M:g} m from every ward, e.g. {codes[:5]}: "
                "the centroids and the wards describe different places; check the centroid file's coordinates"
            )
        joined.loc[lost, cols] = near[cols]
        message = (
            f"{int(lost.sum())} demand point(s) fall in no ward polygon and were given the nearest "
            f"ward: {sorted(joined.loc[lost, 'point_id'])}"
        )
        warnings.warn(message, PlannerWarning, stacklevel=3)
        logger.warning(message)
    joined["in_met"] = joined["in_met"].astype(bool)
    return gpd.GeoDataFrame(joined, geometry="geometry", crs=BNG)


def _ward_table(points: gpd.GeoDataFrame, wards: gpd.GeoDataFrame) -> pd.DataFrame:
    sums = points.groupby("ward_code").agg(
        population=("population", "sum"), pop_65_plus=("pop_65_plus", "sum"), n_points=("point_id", "size")
    )
    table = pd.DataFrame(wards.drop(columns="geometry")).set_index("ward_code").join(sums)
    table[["population", "pop_65_plus", "n_points"]] = (
        table[["population", "pop_65_plus", "n_points"]].fillna(0).astype(np.int64)
    )
    empty = table.index[table["n_points"] == 0]
    if len(empty):
        by_borough = table.loc[empty, "borough_name"].value_counts().to_dict()
        message = (
            f"{len(empty)} ward(s) contain no population-weighted centroid and get zero population "
            f"(their residents count in the ward holding their LSOA centroid): {by_borough}"
        )
        warnings.warn(message, PlannerWarning, stacklevel=3)
        logger.warning(message)
    table.attrs["empty_wards"] = list(empty)
    return table.reset_index()
