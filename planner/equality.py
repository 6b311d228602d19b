"""Who loses access: resident groups per LSOA, and the figures of a plan for each group.

Groups are data: each entry of :data:`GROUPS` names its source file and one
rule, so a new group is one entry.  A group's residents in an LSOA are

* ``all``: the demand year's residents;
* ``age``: the demand year's residents aged 65 and over;
* ``decile_at_most``: all of them when the LSOA's national deprivation decile
  is at most N (decile 1 is the most deprived 10 % of England), else none;
* ``share``: a Census 2011 share (0-1) times the demand year's residents;
* ``count_share``: Census 2011 counts over the Census total, times the
  demand year's residents.

Census shares are of 2011 residents (households for cars) applied to a later
population: an **estimate**, flagged so in every output.  The figures are
computed by :func:`planner.stats.access_figures`, the one place that makes
population-weighted figures; :func:`disproportion` is a group's share beyond
a threshold over everyone's.

Files (``equality/`` of the data directory, see ``data/equality/sources.toml``)
are checked on reading: a duplicate LSOA, a share outside 0-1, a London LSOA
code the population file lacks, or a demand LSOA the file lacks is refused
with the file, the line and the code.  A missing file is a warning, and its
groups are listed as omitted in the outputs.
"""

from __future__ import annotations

import logging
import math
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from planner.errors import DataError, PlannerWarning
from planner.io import read_csv
from planner.stats import access_figures, beyond

__all__ = [
    "GROUPS",
    "IMD_YEARS",
    "SOURCES",
    "Group",
    "GroupResidents",
    "disproportion",
    "equality_files",
    "equality_table",
    "group_residents",
    "ward_table",
]

logger = logging.getLogger(__name__)

#: The English Indices of Deprivation a scenario may use (``imd_year``).
IMD_YEARS = (2015, 2019)


@dataclass(frozen=True)
class Source:
    """An equality file: where it is, its LSOA code column, and how its values are checked."""

    path: str
    code: str
    values: tuple[str, ...]
    kind: str  # "share" (0-1), "count" (0 or more) or "decile" (1-10)
    year: str


#: Every equality file, by the key the groups name (``imd`` takes the scenario's ``imd_year``).
#: Ethnic-group columns of the Census 2011 table that the groups read (the White groups are only checked).
_ETHNIC_MINORITY = (
    "Mixed",
    "Indian",
    "Pakistani",
    "Bangladeshi",
    "Chinese",
    "OtherAsian",
    "BlkAfrican",
    "BlkCaribbean",
    "OtherBlk",
    "Arab",
    "Other",
)
#: Every ethnic-group column: with the groups left out (e.g. Gypsy or Irish Traveller) they sum to at most
#: ``Persons``.
_ETHNIC = ("WhiteBrit", "Irish", "OtherWhite", *_ETHNIC_MINORITY)


SOURCES: dict[str, Source] = {
    "imd2015": Source("equality/imd2015_lsoa11_england.csv", "lsoa11_code", ("IMD_decile",), "decile", "IMD 2015"),
    "imd2019": Source("equality/imd2019_lsoa11_england.csv", "lsoa_code", ("IMD_decile",), "decile", "IMD 2019"),
    "disability": Source(
        "equality/census2011_ks301ew_lsoa11_illness_disability_ew.csv",
        "lsoa_code",
        ("illness_disability",),
        "share",
        "Census 2011 (KS301EW)",
    ),
    "no_car": Source(
        "equality/census2011_ks404ew_lsoa11_no_car_england.csv",
        "lsoa_code",
        ("proportion_no_cars",),
        "share",
        "Census 2011 (KS404EW, share of households)",
    ),
    "ethnicity": Source(
        "equality/census2011_ethnic_group_lsoa11_ew.csv",
        "LSOA",
        ("Persons", *_ETHNIC_MINORITY),
        "count",
        "Census 2011 (KS201EW)",
    ),
}


@dataclass(frozen=True)
class Group:
    """One resident group.

    Attributes
    ----------
    key
        Short name used in files (``no_car``).
    label
        Plain words for tables and the report.
    source
        A key of :data:`SOURCES`, ``"imd"`` for the scenario's deprivation year, or ``None`` (the demand).
    rule
        ``("all",)``, ``("age",)``, ``("decile_at_most", column, n)``, ``("share", column)`` or
        ``("count_share", (columns...), total_column)``.
    """

    key: str
    label: str
    source: str | None
    rule: tuple


#: The groups every run reports, in this order.
GROUPS: tuple[Group, ...] = (
    Group("all", "All residents", None, ("all",)),
    Group("age_65_plus", "Aged 65 and over", None, ("age",)),
    Group("imd_10", "Living in the 10% most deprived areas of England", "imd", ("decile_at_most", "IMD_decile", 1)),
    Group("imd_20", "Living in the 20% most deprived areas of England", "imd", ("decile_at_most", "IMD_decile", 2)),
    Group(
        "disability", "With a limiting long-term illness or disability", "disability", ("share", "illness_disability")
    ),
    Group("no_car", "In households without a car or van", "no_car", ("share", "proportion_no_cars")),
    Group("black", "Black", "ethnicity", ("count_share", ("BlkAfrican", "BlkCaribbean", "OtherBlk"), "Persons")),
    Group(
        "asian",
        "Asian",
        "ethnicity",
        ("count_share", ("Indian", "Pakistani", "Bangladeshi", "Chinese", "OtherAsian"), "Persons"),
    ),
    Group("mixed", "Mixed", "ethnicity", ("count_share", ("Mixed",), "Persons")),
    Group(
        "other_ethnic",
        "Other ethnic group (Arab and other)",
        "ethnicity",
        ("count_share", ("Arab", "Other"), "Persons"),
    ),
)

#: LSOA 2011 codes E01000001 to E01004765 are London's (the rest of London's are scattered higher up).
_LONDON_BLOCK = (1, 4765)
_CODE = r"^[EW]01\d{6}$"


@dataclass(frozen=True)
class GroupResidents:
    """Residents of each group per demand point.

    Attributes
    ----------
    table
        One row per demand point (the demand's order, indexed by ``point_id``), one column per group
        reported; values are residents (estimates for Census shares).
    omitted
        Group key -> why it is not reported (its file is missing).
    sources
        Source key -> the file read, relative to the data directory.
    estimates
        Keys of the groups estimated from 2011 shares.
    imd_year
        The deprivation indices used.
    """

    table: pd.DataFrame
    omitted: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    estimates: tuple[str, ...] = ()
    imd_year: int = 2015

    def labels(self) -> dict[str, str]:
        """Group key -> label, for the groups reported."""
        by_key = {g.key: g.label for g in GROUPS}
        return {k: by_key[k] for k in self.table.columns}

    def files(self, root: str | os.PathLike[str]) -> list[Path]:
        """The files read, as paths under ``root`` (for manifests and cache keys)."""
        return [Path(root) / rel for rel in self.sources.values()]

    def note(self) -> str:
        """How the figures are made, in one sentence for the outputs."""
        return (
            "Groups from Census 2011 shares are estimates: the 2011 share of residents (of households, for "
            "cars) applied to the demand year's LSOA population; deprivation from the English Indices of "
            f"Deprivation {self.imd_year} (national deciles)."
        )


def group_residents(
    root: str | os.PathLike[str],
    points: pd.DataFrame,
    *,
    imd_year: int = 2015,
    population_codes: Iterable[str] | None = None,
) -> GroupResidents:
    """Residents of each group of :data:`GROUPS` per demand point.

    Parameters
    ----------
    root
        The data directory (its ``equality/`` folder).
    points
        Demand points: ``point_id`` (LSOA 2011 code), ``population`` and ``pop_65_plus``.
    imd_year
        2015 (the default, closest to the 2017 plans) or 2019.
    population_codes
        Every LSOA of the population file (default: the points'): a London code in an equality file
        and not among them is refused.  Give them when ``points`` is part of London (the Met area).

    Returns
    -------
    GroupResidents
        The residents per point and group, with the groups whose file is missing omitted (and a warning).

    Raises
    ------
    DataError
        On a duplicate LSOA, a value out of range, a London code the demand lacks, or a demand LSOA the
        file lacks, naming the file, the line and the code.
    """
    if imd_year not in IMD_YEARS:
        raise DataError(f"imd_year {imd_year} is not available; choose one of {IMD_YEARS}")
    root = Path(root)
    codes = points["point_id"].astype(str)
    known = set(codes) if population_codes is None else set(map(str, population_codes))
    population = points["population"].to_numpy(float)
    columns: dict[str, np.ndarray] = {}
    omitted: dict[str, str] = {}
    sources: dict[str, str] = {}
    tables: dict[str, pd.DataFrame | None] = {}
    for group in GROUPS:
        key = f"imd{imd_year}" if group.source == "imd" else group.source
        if key is None:
            columns[group.key] = population if group.rule[0] == "all" else points["pop_65_plus"].to_numpy(float)
            continue
        if key not in tables:
            tables[key] = _read_source(root, SOURCES[key], codes, known)
        table = tables[key]
        if table is None:
            omitted[group.key] = f"{SOURCES[key].path} is missing"
            continue
        sources[key] = SOURCES[key].path
        columns[group.key] = population * _share(group.rule, table)
    if omitted:
        message = (
            f"equality groups {sorted(omitted)} are left out: {'; '.join(sorted(set(omitted.values())))} in {root} "
            "(run `planner data fetch` or copy the file from the data mirror to report them)"
        )
        warnings.warn(message, PlannerWarning, stacklevel=2)
        logger.warning(message)
    frame = pd.DataFrame(columns, index=pd.Index(codes.to_numpy(), name="point_id"))
    estimates = tuple(g.key for g in GROUPS if g.key in frame.columns and g.rule[0] in ("share", "count_share"))
    return GroupResidents(frame, omitted, sources, estimates, imd_year)


def equality_files(root: str | os.PathLike[str], *, imd_year: int = 2015) -> list[Path]:
    """The equality files the groups read that exist under ``root`` (for manifests and cache keys).

    Parameters
    ----------
    root
        The data directory.
    imd_year
        The deprivation release (2015 or 2019).
    """
    keys = dict.fromkeys(f"imd{imd_year}" if g.source == "imd" else g.source for g in GROUPS if g.source)
    return [Path(root) / SOURCES[k].path for k in keys if (Path(root) / SOURCES[k].path).is_file()]


def _share(rule: tuple, table: pd.DataFrame) -> np.ndarray:
    kind = rule[0]
    if kind == "decile_at_most":
        return (table[rule[1]].to_numpy(float) <= rule[2]).astype(float)
    if kind == "share":
        return table[rule[1]].to_numpy(float)
    if kind == "count_share":
        total = table[rule[2]].to_numpy(float)
        part = table[list(rule[1])].to_numpy(float).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(total > 0, part / np.where(total > 0, total, 1), 0.0)
    raise DataError(f"unknown group rule {kind!r}")


def _read_source(root: Path, source: Source, codes: pd.Series, known: set[str]) -> pd.DataFrame | None:
    """The file's values for the demand's LSOAs, in the demand's order; ``None`` when the file is missing."""
    path = root / source.path
    if not path.is_file():
        return None
    table = read_csv(path, dtype={source.code: str})
    missing = [c for c in (source.code, *source.values) if c not in table.columns]
    if missing:
        raise DataError(f"{path}: no column(s) {missing}; columns are {list(table.columns)}. Download it again.")
    code = table[source.code].astype(str).str.strip()
    lines = pd.Series(np.arange(len(table)) + 2, index=table.index)
    bad = ~code.str.match(_CODE)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(f"{path}, line {lines.iat[i]}: {code.iat[i]!r} is not an LSOA 2011 code (E01......)")
    dup = code[code.duplicated(keep=False)]
    if len(dup):
        first = sorted(set(dup))[:5]
        where = ", ".join(f"{c} (lines {', '.join(map(str, lines[code == c].tolist()))})" for c in first)
        raise DataError(f"{path}: LSOA(s) listed more than once: {where}; each LSOA must have one row.")
    number = code.str[3:].astype(int)
    london = code.str.startswith("E01") & number.between(*_LONDON_BLOCK)
    stray = code[london & ~code.isin(known)]
    if len(stray):
        raise DataError(
            f"{path}, line {lines[stray.index[0]]}: London LSOA {stray.iat[0]} is not in the population file "
            f"({len(stray)} such code(s)); the files describe different areas: use the 2011 LSOA editions of both."
        )
    _check_consistency(path, table, lines)
    table = table.set_index(code)
    lack = codes[~codes.isin(table.index)]
    if len(lack):
        raise DataError(
            f"{path} has no row for {len(lack)} LSOA(s) of the population file, e.g. {sorted(lack)[:5]}; "
            "download it again (it covers every LSOA of England)."
        )
    values = table.loc[codes.to_numpy(), list(source.values)]
    for col in source.values:
        _check_values(path, values[col], lines.set_axis(code.to_numpy()).loc[codes.to_numpy()], col, source.kind)
    return values.apply(pd.to_numeric).reset_index(drop=True)


#: The least share of ``Persons`` the 14 ethnic-group columns hold in an LSOA (0.72 in London's file).
MIN_GROUPED_SHARE = 0.5


def _check_consistency(path: Path, table: pd.DataFrame, lines: pd.Series) -> None:
    """Columns that must agree with each other: an IMD decile with its rank, ethnic groups with ``Persons``."""
    if {"IMD_rank", "IMD_decile"} <= set(table.columns):
        rank = pd.to_numeric(table["IMD_rank"], errors="coerce")
        decile = pd.to_numeric(table["IMD_decile"], errors="coerce")
        expected = np.ceil(rank * 10 / rank.max())
        wrong = rank.notna() & decile.notna() & (decile != expected)
        if wrong.any():
            i = int(np.flatnonzero(wrong.to_numpy())[0])
            raise DataError(
                f"{path}, line {int(lines.iat[i])}: IMD_decile {decile.iat[i]:g} contradicts IMD_rank "
                f"{rank.iat[i]:g} (decile {expected.iat[i]:g} of {rank.max():g} ranks; {int(wrong.sum())} such "
                "row(s)); correct the file or download it again."
            )
    if "Persons" in table.columns and set(_ETHNIC) <= set(table.columns):
        groups = table[list(_ETHNIC)].apply(pd.to_numeric, errors="coerce").sum(axis=1)
        persons = pd.to_numeric(table["Persons"], errors="coerce")
        over = groups > persons
        # Persons less the 14 groups is Gypsy or Irish Traveller: 0.1% of London, at most 28% of an LSOA
        short = groups < MIN_GROUPED_SHARE * persons
        if short.any():
            i = int(np.flatnonzero(short.to_numpy())[0])
            raise DataError(
                f"{path}, line {int(lines.iat[i])}: the ethnic groups add up to {groups.iat[i]:,.0f}, less than "
                f"{MIN_GROUPED_SHARE:.0%} of Persons ({persons.iat[i]:,.0f}), so the rest (Gypsy or Irish Traveller, "
                f"not a column) would be most residents ({int(short.sum())} such row(s)); correct the file or "
                "download it again."
            )
        if over.any():
            i = int(np.flatnonzero(over.to_numpy())[0])
            raise DataError(
                f"{path}, line {int(lines.iat[i])}: the ethnic groups add up to {groups.iat[i]:,.0f}, more than "
                f"Persons ({persons.iat[i]:,.0f}; {int(over.sum())} such row(s)); correct the file or download it "
                "again."
            )


def _check_values(path: Path, raw: pd.Series, lines: pd.Series, column: str, kind: str) -> None:
    value = pd.to_numeric(raw, errors="coerce")
    low, high = {"share": (0.0, 1.0), "decile": (1.0, 10.0), "count": (0.0, math.inf)}[kind]
    bad = value.isna() | (value < low) | (value > high)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        what = {"share": "a share from 0 to 1", "decile": "a decile from 1 to 10", "count": "a count of 0 or more"}
        raise DataError(
            f"{path}, line {int(lines.iat[i])}, LSOA {raw.index[i]}: {column} is {str(raw.iat[i])!r}, not {what[kind]} "
            f"({int(bad.sum())} such value(s)); correct the file or download it again."
        )


def disproportion(beyond: float, residents: float, beyond_all: float, residents_all: float) -> tuple[float | None, str]:
    """A group's share beyond a threshold divided by everyone's: above 1 the plan falls harder on the group.

    Parameters
    ----------
    beyond
        The group's residents beyond the threshold.
    residents
        The group's residents.
    beyond_all
        Everyone beyond the threshold.
    residents_all
        Everyone.

    Returns
    -------
    tuple
        ``(ratio, note)``: the ratio with an empty note, or ``None`` with "no residents" (the group has
        none) or "nobody beyond" (no resident at all is beyond, so there is nothing to fall harder).
    """
    if residents <= 0:
        return None, "no residents"
    if residents_all <= 0 or beyond_all <= 0:
        return None, "nobody beyond"
    return (beyond / residents) / (beyond_all / residents_all), ""


def equality_table(
    points: pd.DataFrame,
    groups: GroupResidents,
    *,
    threshold: float,
) -> pd.DataFrame:
    """Residents beyond ``threshold`` for each group, in London and in each borough.

    Parameters
    ----------
    points
        Demand points with ``point_id``, ``borough_name``, ``minutes``, ``population`` and ``reachable``
        (an :class:`~planner.assess.AccessResult`'s points).
    groups
        From :func:`group_residents` for the same points.
    threshold
        Minutes.

    Returns
    -------
    pandas.DataFrame
        ``area`` ("London" or the borough), ``group``, ``label``, ``estimate``, ``residents``, ``beyond``,
        ``share_beyond`` (%; NaN without residents), ``ratio`` (see :func:`disproportion`) and ``ratio_note``.
    """
    table = groups.table.reindex(points["point_id"].astype(str).to_numpy())
    if table.isna().any().any():
        raise DataError("the equality groups were computed for other demand points; compute them again")
    rows = []
    areas = [("London", np.ones(len(points), dtype=bool))]
    areas += [(b, (points["borough_name"] == b).to_numpy()) for b in sorted(points["borough_name"].unique())]
    labels = groups.labels()
    for area, mask in areas:
        fig = access_figures(
            points["minutes"].to_numpy(float)[mask],
            points["population"].to_numpy(float)[mask],
            threshold=threshold,
            reachable=points["reachable"].to_numpy(bool)[mask],
            groups={k: table[k].to_numpy(float)[mask] for k in table.columns},
            median=False,
        )
        everyone = fig["groups"]["all"]
        for key, values in fig["groups"].items():
            ratio, note = disproportion(
                values["beyond"], values["residents"], everyone["beyond"], everyone["residents"]
            )
            share = 100 * values["beyond"] / values["residents"] if values["residents"] > 0 else np.nan
            rows.append(
                {
                    "area": area,
                    "group": key,
                    "label": labels[key],
                    "estimate": key in groups.estimates,
                    "residents": values["residents"],
                    "beyond": values["beyond"],
                    "share_beyond": share,
                    "ratio": np.nan if ratio is None else ratio,
                    "ratio_note": note,
                }
            )
    return pd.DataFrame(rows)


def ward_table(points: pd.DataFrame, groups: GroupResidents, *, threshold: float) -> pd.DataFrame:
    """Residents of each group beyond ``threshold`` in each ward (the access map's group layer).

    Parameters
    ----------
    points, groups, threshold
        As for :func:`equality_table`; ``points`` also need ``ward_code``.

    Returns
    -------
    pandas.DataFrame
        ``ward_code``, ``group``, ``residents``, ``beyond``: one row per ward and group, wards sorted.
        A resident is beyond under the rule of :func:`planner.stats.beyond`, as everywhere.
    """
    table = groups.table.reindex(points["point_id"].astype(str).to_numpy())
    if table.isna().any().any():
        raise DataError("the equality groups were computed for other demand points; compute them again")
    out = beyond(points["minutes"].to_numpy(float), threshold, points["reachable"].to_numpy(bool))
    wards = points["ward_code"].to_numpy()
    residents = table.groupby(wards, sort=True).sum()
    away = table.mul(out, axis=0).groupby(wards, sort=True).sum()
    frame = pd.concat({"residents": residents.stack(), "beyond": away.stack()}, axis=1)
    frame.index.names = ["ward_code", "group"]
    return frame.reset_index()


def london_block(table: pd.DataFrame, groups: GroupResidents) -> dict:
    """The London rows of :func:`equality_table` as ``summary.json``'s ``equality`` entry for one threshold."""
    london = table.loc[table["area"] == "London"]
    return {
        r.group: {
            "label": r.label,
            "estimate": bool(r.estimate),
            "residents": round(float(r.residents)),
            "beyond": round(float(r.beyond)),
            "share_beyond": None if pd.isna(r.share_beyond) else float(r.share_beyond),
            "ratio": None if pd.isna(r.ratio) else float(r.ratio),
            "ratio_note": r.ratio_note,
        }
        for r in london.itertuples()
    }


def summary_entry(tables: Mapping[str, pd.DataFrame], groups: GroupResidents) -> dict:
    """``summary.json``'s ``equality``: per threshold label the London figures, plus what was omitted and how."""
    return {
        "thresholds": {label: london_block(t, groups) for label, t in tables.items()},
        "omitted": dict(groups.omitted),
        "sources": dict(groups.sources),
        "imd_year": groups.imd_year,
        "note": groups.note(),
    }
