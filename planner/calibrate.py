"""Calibration of a travel-time engine against DfT's Journey Time Statistics.

The Department for Transport publishes, for every local authority, the mean
minimum public-transport time from homes to the nearest hospital and the
share of users within 15/30/45/60 minutes (table JTS04, ``HospPTt``,
``HospPT30pct`` ...), computed from real timetables.  Hospitals are about as
sparse as police front counters, so the same figures computed by a planner
engine, from LSOA population-weighted centroids to the NHS hospital sites of
the same year, show how far its minutes are from the timetable.

:func:`calibrate` computes the borough figures and the fit;
:func:`calibration_grid` searches engine parameters; :func:`plot_calibration`
draws model against DfT, one point per borough, with the 1:1 line.
"""

from __future__ import annotations

import csv
import itertools
import logging
import os
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import Transformer

from planner.config import BNG, CITY_OF_LONDON_CODE, DataPaths, where_to_get
from planner.errors import DataError, EngineError, PlannerWarning
from planner.io import write_csv
from planner.travel.base import TravelEngine
from planner.travel.cif import LONDON_BOUNDS

__all__ = [
    "CV_GRID",
    "CV_TARGET",
    "DEFAULT_SETS",
    "HEADLINE_SET",
    "HOSPITAL_SETS",
    "LONDON_AUTHORITIES",
    "MEASURES",
    "NHS2014_RULE",
    "NHS2014_SET",
    "TARGETS",
    "CalibrationResult",
    "CrossValidation",
    "best_settings",
    "calibrate",
    "calibration_grid",
    "cross_validate",
    "load_hospitals",
    "load_hospitals_2014",
    "load_jts04",
    "plot_calibration",
]

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
#: DfT caps journey times at 120 minutes; the model's times are capped the same way.
CAP_MIN = 120.0
#: The 33 London local authorities, GSS code to name: the 32 boroughs and the City of London.  JTS04 has a
#: row for each; the calibration compares the 32 boroughs (the City is policed by the City of London Police).
LONDON_AUTHORITIES: dict[str, str] = {
    "E09000001": "City of London",
    "E09000002": "Barking and Dagenham",
    "E09000003": "Barnet",
    "E09000004": "Bexley",
    "E09000005": "Brent",
    "E09000006": "Bromley",
    "E09000007": "Camden",
    "E09000008": "Croydon",
    "E09000009": "Ealing",
    "E09000010": "Enfield",
    "E09000011": "Greenwich",
    "E09000012": "Hackney",
    "E09000013": "Hammersmith and Fulham",
    "E09000014": "Haringey",
    "E09000015": "Harrow",
    "E09000016": "Havering",
    "E09000017": "Hillingdon",
    "E09000018": "Hounslow",
    "E09000019": "Islington",
    "E09000020": "Kensington and Chelsea",
    "E09000021": "Kingston upon Thames",
    "E09000022": "Lambeth",
    "E09000023": "Lewisham",
    "E09000024": "Merton",
    "E09000025": "Newham",
    "E09000026": "Redbridge",
    "E09000027": "Richmond upon Thames",
    "E09000028": "Southwark",
    "E09000029": "Sutton",
    "E09000030": "Tower Hamlets",
    "E09000031": "Waltham Forest",
    "E09000032": "Wandsworth",
    "E09000033": "Westminster",
}
#: The JTS04 columns the calibration reads: column -> (name in :func:`load_jts04`'s table, what a value must
#: be, lowest, highest).
_JTS04_COLUMNS: dict[str, tuple[str, str, float, float]] = {
    "Hosp_pop": ("users", "a number of households, at least 1", 1.0, np.inf),
    "HospPTt": ("mean_min", "a number of minutes from 0 to 120 (DfT caps journeys at 120)", 0.0, CAP_MIN),
    "HospPT30pct": ("within_30", "a percentage from 0 to 100", 0.0, 100.0),
    "HospPT45pct": ("within_45", "a percentage from 0 to 100", 0.0, 100.0),
    "HospPT60pct": ("within_60", "a percentage from 0 to 100", 0.0, 100.0),
}
#: What the default transit engine is held to on the headline set (:data:`HEADLINE_SET`):
#: measure -> (comparison, bound).  ``cv_mae_min`` is the cross-validated MAE (:func:`cross_validate`).
TARGETS: dict[str, tuple[str, float]] = {
    "mae_min": ("<=", 2.0),
    "abs_bias_min": ("<=", 1.0),
    "corr": (">=", 0.90),
    "max_abs_diff_min": ("<=", 5.0),
    "share30_mae_pts": ("<=", 6.0),
    "abs_london_within_45_diff_pts": ("<=", 1.0),
}
CV_TARGET = ("cv_mae_min", "<=", 2.5)
#: The parameters re-fitted in the cross-validation, and the values tried: the waits, which carry the
#: frequencies the data lacks.
CV_GRID: dict[str, list[float]] = {"bus_wait_min": [9.0, 11.0, 13.0], "nr_headway_min": [20.0, 30.0, 40.0]}
#: Fit measures, and whether lower (``"min"``) or higher (``"max"``) is better.
MEASURES = {
    "mae_min": "min",
    "abs_bias_min": "min",
    "rmse_min": "min",
    "corr": "max",
    "share30_mae_pts": "min",
    "abs_london_within_45_diff_pts": "min",
    "max_abs_diff_min": "min",
}


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


def load_jts04(paths: DataPaths, *, year: int = 2016) -> pd.DataFrame:
    """DfT's hospital figures for the London boroughs, indexed by borough code.

    The table is checked before it is used: each of the 32 boroughs the calibration compares must have
    exactly one row, every London row must carry a number in each column read (``Hosp_pop``, ``HospPTt``,
    ``HospPT30pct``, ``HospPT45pct``, ``HospPT60pct``) within its range, and no ``E09`` code may be outside
    :data:`LONDON_AUTHORITIES`.  The City of London's row may be missing: the calibration leaves the City
    out (it is policed by the City of London Police).  DfT's 2014-2016 tables suppress no London value, so
    a blank or ``..`` is refused like any other text.  Title rows above the header are skipped; line
    numbers in messages count them (the header of the mirror's files is line 1).

    Parameters
    ----------
    paths
        The data directory.
    year
        The JTS04 year (2015 or 2016; the 2014 table has no ``Hosp_pop``).

    Returns
    -------
    pandas.DataFrame
        ``name``, ``users`` (``Hosp_pop``: households), ``mean_min``
        (``HospPTt``), ``within_30``, ``within_45``, ``within_60`` (percent).

    Raises
    ------
    DataError
        If the file is not a JTS04 table, lacks ``Hosp_pop``, misses or repeats a borough, or has a
        value that is not a number in its range in a London row.
    """
    path = paths.jts04(year)
    header = _jts04_header_line(path)
    try:
        table = pd.read_csv(path, skiprows=header - 1, dtype=str, keep_default_na=False, skip_blank_lines=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read it as a CSV table ({exc}); {_jts04_fix(paths, path)}") from exc
    table.columns = [str(c).strip() for c in table.columns]
    missing = sorted((set(_JTS04_COLUMNS) | {"LA_Code", "LA_Name"}) - set(table.columns))
    if missing == ["Hosp_pop"]:
        raise DataError(
            f"{path}: this JTS04 table has no Hosp_pop (users per authority), which the London-wide figures are "
            "weighted by; use the 2015 or 2016 table"
        )
    if missing:
        raise DataError(f"{path}: not a JTS04 table, missing column(s) {missing}")
    london = table.loc[table["LA_Code"].str.strip().str.startswith("E09")].copy()
    london["LA_Code"] = london["LA_Code"].str.strip()
    london["LA_Name"] = london["LA_Name"].str.strip()
    london["line"] = london.index + header + 1
    fix = _jts04_fix(paths, path)
    _check_jts04_boroughs(london, path, fix)
    out = _jts04_numbers(london, path, fix)
    out.index = pd.Index(london["LA_Code"].to_numpy(), name="LA_Code")
    out.insert(0, "name", london["LA_Name"].to_numpy())
    return out.sort_index()


def _jts04_header_line(path: Path) -> int:
    """The line (from 1) of a JTS04 file's header: the first row with an ``LA_Code`` cell (else 1)."""
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as fh:
            reader = csv.reader(fh)
            for row in itertools.islice(reader, 50):
                if "LA_Code" in (cell.strip() for cell in row):
                    return reader.line_num
    except csv.Error:
        pass
    return 1


def _jts04_fix(paths: DataPaths, path: Path) -> str:
    """How to replace a damaged JTS04 table: the ``planner data fetch`` source that writes it."""
    try:
        rel = path.relative_to(paths.root).as_posix()
    except ValueError:
        rel = f"calibration/{path.name}"
    return f"download the table again: {where_to_get(rel, paths.root)}"


def _named(codes: Sequence[str], limit: int = 8) -> str:
    """``E09000007 (Camden), ...``: the first ``limit`` codes with their names, then how many more."""
    text = ", ".join(f"{c} ({LONDON_AUTHORITIES.get(c, '?')})" for c in codes[:limit])
    return text + (f" and {len(codes) - limit} more" if len(codes) > limit else "")


def _check_jts04_boroughs(london: pd.DataFrame, path: Path, fix: str) -> None:
    """Refuse London rows with an unknown code, a borough given twice, or a borough missing."""
    unknown = london.loc[~london["LA_Code"].isin(LONDON_AUTHORITIES)]
    if len(unknown):
        row = unknown.iloc[0]
        raise DataError(
            f"{path}, line {row['line']}: LA_Code {row['LA_Code']!r} ({row['LA_Name']}) is not one of the 33 London "
            f"local authorities (E09000001 to E09000033); correct the code, or {fix}"
        )
    repeated = london.loc[london["LA_Code"].duplicated(keep=False)]
    if len(repeated):
        where = "; ".join(
            f"{code} ({LONDON_AUTHORITIES[code]}) on lines {_and(group['line'].astype(str).tolist())}"
            for code, group in repeated.groupby("LA_Code", sort=True)
        )
        raise DataError(
            f"{path}: London row(s) repeated: {where}; DfT's table has one row per "
            f"local authority. Delete the extra row(s), or {fix}"
        )
    need = sorted(set(LONDON_AUTHORITIES) - {CITY_OF_LONDON_CODE})
    absent = [code for code in need if code not in set(london["LA_Code"])]
    if absent:
        raise DataError(
            f"{path}: {len(absent)} of the 32 London boroughs the calibration compares "
            f"{'has' if len(absent) == 1 else 'have'} no row: "
            f"{_named(absent)}; the fit would cover only {len(need) - len(absent)} boroughs. The table is "
            f"damaged or incomplete; {fix}"
        )


def _and(items: Sequence[str]) -> str:
    """``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _jts04_numbers(london: pd.DataFrame, path: Path, fix: str) -> pd.DataFrame:
    """The columns the calibration reads, as numbers; refuse a London value that is not a number in its range."""
    out = pd.DataFrame(index=london.index)
    bad: list[tuple[int, int, str, str]] = []  # line, column order, column, value
    for order, (column, (name, _, low, high)) in enumerate(_JTS04_COLUMNS.items()):
        raw = london[column].str.strip()
        values = pd.to_numeric(raw, errors="coerce")
        wrong = ~(values.between(low, high) & np.isfinite(values.astype(float)))
        bad += [(int(n), order, column, v) for n, v in zip(london["line"][wrong], raw[wrong], strict=True)]
        out[name] = values
    if not bad:
        return out
    line, _, column, value = min(bad)
    code = london.loc[london["line"] == line, "LA_Code"].iloc[0]
    if value == "":
        got = "is empty"
    elif pd.isna(pd.to_numeric(value, errors="coerce")):
        got = f"is {value!r}, not a number"
    else:
        got = f"is {value}"
    more = f" ({len(bad) - 1} more bad value(s) in London rows)" if len(bad) > 1 else ""
    raise DataError(
        f"{path}, line {line}: {column} of {code} ({LONDON_AUTHORITIES[code]}) {got}; it must be "
        f"{_JTS04_COLUMNS[column][1]}{more}. Correct the value, or {fix}"
    )


@dataclass(frozen=True)
class CalibrationResult:
    """Model against DfT, per borough, and the fit.

    Attributes
    ----------
    boroughs
        One row per borough (City excluded): ``borough_code``, ``borough_name``,
        ``model_mean_min``, ``dft_mean_min``, ``diff_min``, and
        ``model_within_T`` / ``dft_within_T`` for T in 30, 45, 60 (percent).
    metrics
        ``bias_min`` (mean of model − DfT), ``mae_min``, ``rmse_min``,
        ``corr`` (Pearson, across boroughs), ``share30_mae_pts`` (mean absolute
        difference of the share within 30 minutes, percentage points),
        ``london_within_45_model`` and ``london_within_45_dft`` (percent; DfT's
        weighted by its users), ``london_mean_model`` and ``london_mean_dft``.
    hospital_set
        The destination set used.
    engine
        The engine's description (name and parameters).
    """

    boroughs: pd.DataFrame
    metrics: dict[str, float]
    hospital_set: str
    engine: dict[str, Any]

    def targets(self) -> pd.DataFrame:
        """Each target of :data:`TARGETS`: ``measure``, ``value``, ``target`` (text) and ``met``."""
        rows = []
        for measure, (op, bound) in TARGETS.items():
            value = self.metrics[measure]
            met = value <= bound if op == "<=" else value >= bound
            rows.append({"measure": measure, "value": value, "target": f"{op} {bound:g}", "met": bool(met)})
        return pd.DataFrame(rows)

    def worst(self, n: int = 5) -> pd.DataFrame:
        """The ``n`` boroughs furthest from DfT's mean time."""
        order = self.boroughs["diff_min"].abs().sort_values(ascending=False, kind="stable").index
        return self.boroughs.loc[order[:n]]

    def write(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``calibration_<set>.csv`` (boroughs and a London row) into ``folder``."""
        folder = Path(folder)
        m = self.metrics
        london = {
            "borough_code": "London",
            "borough_name": "London (32 boroughs)",
            "model_mean_min": m["london_mean_model"],
            "dft_mean_min": m["london_mean_dft"],
            "diff_min": m["london_mean_model"] - m["london_mean_dft"],
            "model_within_45": m["london_within_45_model"],
            "dft_within_45": m["london_within_45_dft"],
        }
        table = pd.concat([self.boroughs, pd.DataFrame([london])], ignore_index=True)
        return write_csv(table, folder / f"calibration_{self.hospital_set}.csv")


def _model_minutes(demand: gpd.GeoDataFrame, hospitals: gpd.GeoDataFrame, engine: TravelEngine) -> np.ndarray:
    minutes = engine.nearest(demand, hospitals).table["minutes"].to_numpy(float)
    return np.minimum(np.where(np.isfinite(minutes), minutes, CAP_MIN), CAP_MIN)


def _fit(demand: gpd.GeoDataFrame, minutes: np.ndarray, dft: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, float]]:
    pop = demand["population"].to_numpy(float)
    frame = pd.DataFrame({"borough_code": demand["borough_code"].to_numpy(), "pop": pop, "min": minutes})
    frame["pm"] = frame["pop"] * frame["min"]
    for t in (30, 45, 60):
        frame[f"w{t}"] = frame["pop"] * (frame["min"] <= t)
    sums = frame.groupby("borough_code")[["pop", "pm", "w30", "w45", "w60"]].sum()
    codes = sorted(set(sums.index) & set(dft.index) - {CITY_OF_LONDON_CODE})
    if not codes:
        raise DataError("no London borough is in both the demand points and the JTS04 table")
    s, d = sums.loc[codes], dft.loc[codes]
    table = pd.DataFrame(
        {
            "borough_code": codes,
            "borough_name": d["name"].to_numpy(),
            "model_mean_min": (s["pm"] / s["pop"]).to_numpy(),
            "dft_mean_min": d["mean_min"].to_numpy(float),
        }
    )
    table["diff_min"] = table["model_mean_min"] - table["dft_mean_min"]
    for t in (30, 45, 60):
        table[f"model_within_{t}"] = (100 * s[f"w{t}"] / s["pop"]).to_numpy()
        table[f"dft_within_{t}"] = d[f"within_{t}"].to_numpy(float)
    diff = table["diff_min"].to_numpy()
    users = d["users"].to_numpy(float)
    metrics = {
        "boroughs": float(len(codes)),
        "bias_min": float(diff.mean()),
        "abs_bias_min": float(abs(diff.mean())),
        "mae_min": float(np.abs(diff).mean()),
        "max_abs_diff_min": float(np.abs(diff).max()),
        "rmse_min": float(np.sqrt((diff**2).mean())),
        "corr": float(np.corrcoef(table["model_mean_min"], table["dft_mean_min"])[0, 1]),
        "share30_mae_pts": float((table["model_within_30"] - table["dft_within_30"]).abs().mean()),
        "london_mean_model": float(s["pm"].sum() / s["pop"].sum()),
        "london_mean_dft": float((users * d["mean_min"]).sum() / users.sum()),
        "london_within_45_model": float(100 * s["w45"].sum() / s["pop"].sum()),
        "london_within_45_dft": float((users * d["within_45"]).sum() / users.sum()),
    }
    metrics["london_within_45_diff_pts"] = metrics["london_within_45_model"] - metrics["london_within_45_dft"]
    metrics["abs_london_within_45_diff_pts"] = abs(metrics["london_within_45_diff_pts"])
    return table, metrics


def calibrate(
    demand: gpd.GeoDataFrame,
    paths: DataPaths,
    engine: TravelEngine,
    *,
    hospital_set: str = HEADLINE_SET,
    year: int = 2016,
) -> CalibrationResult:
    """Compare an engine's minutes to the nearest hospital with DfT's, borough by borough.

    Parameters
    ----------
    demand
        Demand points (``point_id``, ``population``, ``borough_code``; BNG points),
        normally the LSOA population-weighted centroids of the Met area.
    paths
        The data directory (hospitals and the JTS04 table).
    engine
        The travel-time engine to check.
    hospital_set
        The destination set (:data:`HOSPITAL_SETS`).
    year
        The JTS04 year (2014, 2015 or 2016; the hospitals file is of 2016).

    Returns
    -------
    CalibrationResult
        Per-borough figures and the fit.
    """
    hospitals = load_hospitals(paths, hospital_set=hospital_set)
    dft = load_jts04(paths, year=year)
    minutes = _model_minutes(demand, hospitals, engine)
    table, metrics = _fit(demand, minutes, dft)
    return CalibrationResult(table, metrics, hospital_set, engine.describe())


def calibration_grid(
    demand: gpd.GeoDataFrame,
    paths: DataPaths,
    make: Callable[..., TravelEngine],
    grid: Mapping[str, Sequence[Any]],
    *,
    hospital_set: str = HEADLINE_SET,
    year: int = 2016,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Fit measures for every combination of engine parameters.

    Parameters
    ----------
    demand, paths, hospital_set, year
        As for :func:`calibrate`.
    make
        Builds an engine from keyword parameters (for example
        ``engine.with_params``).
    grid
        Parameter name to the values to try.
    progress
        Called with ``(done, total)`` after each setting.

    Returns
    -------
    pandas.DataFrame
        One row per setting: the parameters, then the measures of
        :class:`CalibrationResult`, in grid order.
    """
    fits = _grid_fits(demand, paths, make, grid, hospital_set=hospital_set, year=year, progress=progress)
    return pd.DataFrame([{**params, **metrics} for params, _, metrics in fits])


def _grid_fits(
    demand: gpd.GeoDataFrame,
    paths: DataPaths,
    make: Callable[..., TravelEngine],
    grid: Mapping[str, Sequence[Any]],
    *,
    hospital_set: str,
    year: int,
    progress: Callable[[int, int], None] | None = None,
) -> list[tuple[dict[str, Any], pd.DataFrame, dict[str, float]]]:
    """``(parameters, borough table, metrics)`` for every setting of the grid, in grid order."""
    if not grid:
        raise EngineError("the calibration grid is empty; give NAME=V1,V2 ...")
    hospitals = load_hospitals(paths, hospital_set=hospital_set)
    dft = load_jts04(paths, year=year)
    names = list(grid)
    combos = list(itertools.product(*(grid[n] for n in names)))
    out = []
    for done, values in enumerate(combos, start=1):
        params = dict(zip(names, values, strict=True))
        table, metrics = _fit(demand, _model_minutes(demand, hospitals, make(**params)), dft)
        out.append((params, table, metrics))
        if progress is not None:
            progress(done, len(combos))
    return out


@dataclass(frozen=True)
class CrossValidation:
    """A leave-one-borough-out check of a parameter fit.

    For each borough in turn, the setting of the grid with the lowest MAE on the *other* boroughs is
    chosen, and its error on the held-out borough scored.

    Attributes
    ----------
    boroughs
        One row per borough: ``borough_code``, ``borough_name``, ``held_out_diff_min`` and the chosen
        setting's parameters.
    mae_min
        Mean absolute held-out difference (minutes): the out-of-sample MAE.
    in_sample_mae_min
        The best MAE of any single setting on all boroughs (in-sample).
    grid
        The parameters and values tried.
    """

    boroughs: pd.DataFrame
    mae_min: float
    in_sample_mae_min: float
    grid: dict[str, list[float]]

    def met(self) -> bool:
        """Whether :data:`CV_TARGET` is met."""
        return self.mae_min <= CV_TARGET[2]


def cross_validate(
    demand: gpd.GeoDataFrame,
    paths: DataPaths,
    make: Callable[..., TravelEngine],
    *,
    grid: Mapping[str, Sequence[float]] | None = None,
    hospital_set: str = HEADLINE_SET,
    year: int = 2016,
) -> CrossValidation:
    """Leave-one-borough-out cross-validation of the engine's fitted parameters.

    Parameters
    ----------
    demand, paths, hospital_set, year
        As for :func:`calibrate`.
    make
        Builds an engine from keyword parameters (``engine.with_params``).
    grid
        Parameter name to the values tried; default :data:`CV_GRID`.

    Returns
    -------
    CrossValidation
        The out-of-sample MAE and each borough's held-out error.
    """
    grid = dict(grid or CV_GRID)
    fits = _grid_fits(demand, paths, make, grid, hospital_set=hospital_set, year=year)
    table = fits[0][1]
    diff = np.vstack([t["diff_min"].to_numpy() for _, t, _ in fits])  # settings x boroughs
    err = np.abs(diff)
    rows = []
    for b in range(err.shape[1]):
        best = int(np.argmin(np.delete(err, b, axis=1).mean(axis=1)))
        rows.append(
            {
                "borough_code": table["borough_code"].iloc[b],
                "borough_name": table["borough_name"].iloc[b],
                "held_out_diff_min": float(diff[best, b]),
                **fits[best][0],
            }
        )
    frame = pd.DataFrame(rows)
    return CrossValidation(frame, float(frame["held_out_diff_min"].abs().mean()), float(err.mean(axis=1).min()), grid)


def best_settings(grid: pd.DataFrame, params: Sequence[str]) -> pd.DataFrame:
    """The best row of a calibration grid for each measure of :data:`MEASURES`.

    Parameters
    ----------
    grid
        One row per parameter setting, with the measures of :data:`MEASURES`.
    params
        The grid's parameter columns.
    """
    rows = []
    for measure, sense in MEASURES.items():
        pos = grid[measure].idxmin() if sense == "min" else grid[measure].idxmax()
        rows.append({"measure": measure, "value": grid.loc[pos, measure], **grid.loc[pos, list(params)].to_dict()})
    return pd.DataFrame(rows)


def plot_calibration(result: CalibrationResult, path: str | os.PathLike[str]) -> Path:
    """Scatter of model against DfT mean minutes, one point per borough, with the 1:1 line (PNG).

    Parameters
    ----------
    result
        A calibration of one hospital set.
    path
        The PNG file to write.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    b = result.boroughs
    m = result.metrics
    fig, ax = plt.subplots(figsize=(6.5, 6.0), dpi=110)
    lo = float(min(b["model_mean_min"].min(), b["dft_mean_min"].min())) - 2
    hi = float(max(b["model_mean_min"].max(), b["dft_mean_min"].max())) + 2
    ax.plot([lo, hi], [lo, hi], color="0.5", lw=1, ls="--", label="1:1")
    ax.scatter(b["dft_mean_min"], b["model_mean_min"], s=22, color="#1f4e79", zorder=3)
    for row in b.itertuples(index=False):
        ax.annotate(
            row.borough_name,
            (row.dft_mean_min, row.model_mean_min),
            fontsize=6,
            xytext=(3, 2),
            textcoords="offset points",
            color="0.25",
        )
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("DfT JTS04: mean minutes to the nearest hospital (timetable)")
    ax.set_ylabel(f"planner ({result.engine.get('engine', '?')}): mean minutes")
    ax.set_title(
        f"{result.hospital_set}: bias {m['bias_min']:+.1f} min, MAE {m['mae_min']:.1f} min, r = {m['corr']:.2f}",
        fontsize=10,
    )
    ax.legend(loc="upper left", fontsize=8)
    fig.text(0.01, 0.005, "Source: DfT Journey Time Statistics (OGL v3.0); NHS Choices (OGL).", fontsize=6)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path
