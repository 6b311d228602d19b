"""DfT's Journey Time Statistics table JTS04 (nearest hospital by public transport), read and checked."""

from __future__ import annotations

import csv
import itertools
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from planner.config import CITY_OF_LONDON_CODE, DataPaths, where_to_get
from planner.errors import DataError

logger = logging.getLogger(__name__)


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


#: DfT caps journey times at 120 minutes; the model's times are capped the same way.
CAP_MIN = 120.0


#: The JTS04 columns the calibration reads: column -> (name in :func:`load_jts04`'s table, what a value must
#: be, lowest, highest).
_JTS04_COLUMNS: dict[str, tuple[str, str, float, float]] = {
    "Hosp_pop": ("users", "a number of households, at least 1", 1.0, np.inf),
    "HospPTt": ("mean_min", "a number of minutes from 0 to 120 (DfT caps journeys at 120)", 0.0, CAP_MIN),
    "HospPT30pct": ("within_30", "a percentage from 0 to 100", 0.0, 100.0),
    "HospPT45pct": ("within_45", "a percentage from 0 to 100", 0.0, 100.0),
    "HospPT60pct": ("within_60", "a percentage from 0 to 100", 0.0, 100.0),
}
