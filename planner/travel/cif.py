"""National Rail timetables in their publisher's format: ATOC CIF, read into stopping patterns.

The Rail Delivery Group publishes the whole timetable weekly as a zip of
fixed-width CIF files (the Network Rail CIF end-user specification describes
every field).  :func:`read_cif` takes from it:

* **stations** from the master station names file (``.msn``): name, TIPLOC,
  CRS code, grid reference (to 100 m) and minimum change minutes;
* **fixed walk links** between stations (``.flf``, mode ``WALK``);
* **stopping patterns** from the schedule file (``.mca``): the schedules that
  run on the chosen day, after the short-term plans (overlays, new schedules
  and cancellations) have replaced the permanent ones; passenger trains only
  (no buses, freight or empty stock); **public calls only** (a pass, or a stop
  with no public time, is not a call); run times between calls from the
  public times, as the median over the trains of each pattern.

A pattern is one sequence of called stations inside ``bounds``.  Its headway
comes from the timetable when the file holds its **full day** of service (at
least :data:`FULL_DAY_MIN_TRAINS` trains, from 07:00 or earlier to 19:00 or
later: then 180 minutes over its departures from 07:00 to 10:00, DfT's
morning window); otherwise it is left to the engine's default for the
pattern's service class (``"metro"`` for London Overground and TfL Rail,
``"national"`` for the rest).  A slice of the national file, such as the data
mirror's sample, holds few full days: its frequencies are not reliable.

Every skip is counted, logged and kept in :attr:`ServicePatterns.notes`.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import warnings
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from planner.errors import DataError, PlannerWarning
from planner.travel.cif_records import _RECORD, _calls, _days, _operators, _records, _running, _unwrap
from planner.travel.patterns import ServicePatterns

__all__ = [
    "DEFAULT_DAY",
    "FULL_DAY_MIN_TRAINS",
    "LONDON_BOUNDS",
    "METRO_OPERATORS",
    "read_cif",
    "read_msn",
]

logger = logging.getLogger(__name__)

#: The trains read by default: every schedule that runs on a Monday to Friday the file covers (short-term
#: plans applied date by date).  A date (``datetime.date``) or a weekday name reads that day alone.
DEFAULT_DAY = "weekday"
#: Greater London with a 15 km margin (EPSG:27700 ``xmin, ymin, xmax, ymax``): calls outside are dropped,
#: the time between the calls on either side kept.
LONDON_BOUNDS = (488_000.0, 140_000.0, 577_000.0, 216_000.0)
#: Operators (ATOC codes) whose patterns are of the ``"metro"`` service class.
METRO_OPERATORS = frozenset({"LO", "XR"})
#: A pattern with at least this many trains on the day, from 07:00 or earlier to 19:00 or later, has its
#: headway taken from the timetable.
FULL_DAY_MIN_TRAINS = 8
_NOT_RAIL_NAME = re.compile(r"\b(BUS|BUSES|CIV)\b", re.IGNORECASE)


def _not_rail(station: pd.DataFrame) -> pd.Series:
    """Station-list entries that are no National Rail station: the ``Z..`` codes the MSN gives Underground,
    DLR and tram stops (for its fixed links), bus stops (``BUS`` in the name or TIPLOC) and Eurostar's civil
    codes (``CIV``)."""
    by_code = pd.Series(station.index.str.startswith("Z"), index=station.index)
    return by_code | station["name"].str.contains(_NOT_RAIL_NAME) | station["tiploc"].str.contains("BUS")


_FLF = re.compile(r"ADDITIONAL LINK:\s*(\w+) BETWEEN (\w{3}) AND (\w{3}) IN\s+(\d+) MINUTES")


def _members(archive: zipfile.ZipFile, path: Path) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in archive.namelist():
        ext = Path(name).suffix.lower()
        if ext in (".mca", ".msn", ".flf"):
            if ext in found:
                raise DataError(f"{path}: more than one {ext} file inside ({found[ext]}, {name}); keep one timetable")
            found[ext] = name
    for ext, what in ((".msn", "master station names"), (".mca", "schedules")):
        if ext not in found:
            raise DataError(
                f"{path}: the zip holds no {ext} file ({what}); a CIF timetable download from the Rail Delivery "
                "Group holds .MCA, .MSN and .FLF files. Download the full file again."
            )
    return found


def read_msn(text: str, *, source: str = "MSN") -> tuple[pd.DataFrame, list[str]]:
    """Stations of a CIF master station names file.

    Parameters
    ----------
    text
        The ``.msn`` file's text.
    source
        Its name, for messages.

    Returns
    -------
    (pandas.DataFrame, list of str)
        One row per TIPLOC: ``tiploc``, ``crs``, ``name``, ``x``, ``y`` (EPSG:27700; NaN without a grid
        reference) and ``change_min``; and notes on what was skipped.
    """
    rows = []
    for line in text.splitlines():
        if not line.startswith("A    ") or "FILE-SPEC" in line[:60]:
            continue
        line = line.ljust(_RECORD)
        east, north, change = line[52:57].strip(), line[58:63].strip(), line[63:65].strip()
        ok = east.isdigit() and north.isdigit() and int(east) > 10000 and int(north) > 60000
        rows.append(
            (
                line[36:43].strip(),
                line[49:52].strip(),
                " ".join(line[5:35].split()).title(),
                (int(east) - 10000) * 100.0 if ok else np.nan,
                (int(north) - 60000) * 100.0 if ok else np.nan,
                float(change) if change.isdigit() else np.nan,
            )
        )
    if not rows:
        raise DataError(f"{source}: no station (A) records; it is not a CIF master station names file")
    table = pd.DataFrame(rows, columns=["tiploc", "crs", "name", "x", "y", "change_min"])
    notes = []
    no_xy = table["x"].isna()
    if no_xy.any():
        names = ", ".join(table.loc[no_xy, "name"].head(5))
        notes.append(f"{int(no_xy.sum())} station(s) without a grid reference in the MSN skipped ({names} ...)")
    no_change = table["change_min"].isna() & ~no_xy
    if no_change.any():
        notes.append(f"{int(no_change.sum())} station(s) without a minimum change time: 5 minutes assumed")
        table.loc[no_change, "change_min"] = 5.0
    return table, notes


def _walk_links(text: str) -> pd.DataFrame:
    """The ``WALK`` links of a CIF fixed-link file: ``a``, ``b`` (codes) and ``minutes``."""
    rows = [(a, b, float(t)) for mode, a, b, t in _FLF.findall(text) if mode == "WALK"]
    return pd.DataFrame(rows, columns=["a", "b", "minutes"]).drop_duplicates()


def _interchanges(walks: pd.DataFrame, station: pd.DataFrame, served: pd.Series) -> pd.DataFrame:
    """Walk links between a served station and an entry of another network (the MSN's ``Z..`` codes of
    Underground, DLR and tram stops): ``stop`` (position), the entry's ``name``, ``x``, ``y`` and ``minutes``."""
    other = station.loc[_not_rail(station) & station.index.str.startswith("Z")]
    rows = []
    for a, b, minutes in walks.itertuples(index=False):
        for mine, theirs in ((a, b), (b, a)):
            if mine in served.index and theirs in other.index:
                e = other.loc[theirs]
                rows.append((int(served[mine]), e["name"], float(e["x"]), float(e["y"]), minutes))
    frame = pd.DataFrame(rows, columns=["stop", "name", "x", "y", "minutes"])
    return frame.sort_values(["stop", "name", "minutes"]).drop_duplicates(["stop", "name"]).reset_index(drop=True)


def read_cif(
    path: str | Path,
    *,
    day: dt.date | str = DEFAULT_DAY,
    bounds: Sequence[float] = LONDON_BOUNDS,
    other_days: bool = True,
) -> ServicePatterns:
    """Read an ATOC CIF timetable zip into rail stopping patterns.

    Parameters
    ----------
    path
        The zip (``.mca`` schedules, ``.msn`` stations, optional ``.flf`` fixed links).
    day
        A date, a weekday name (``"wednesday"``) for every such date the file covers, or ``"weekday"``
        (the default) for every Monday to Friday; short-term plans are applied date by date.
    bounds
        ``(xmin, ymin, xmax, ymax)`` in EPSG:27700: calls outside are dropped.
    other_days
        Where a station inside ``bounds`` has no call on ``day`` (a slice of the national file leaves
        such gaps), let the trains that call there on other days stand in for its service: same tracks,
        stops and run times assumed, the default headway.  Each is counted in the notes.  With ``False``
        only ``day``'s trains are read.

    Returns
    -------
    ServicePatterns
        Mode ``"rail"``: stations by CRS code (``change_min`` from the MSN), patterns with their
        ``operator``, ``service_class`` (``"metro"`` or ``"national"``), ``trains`` on the busiest date
        and, where the file holds their full day, a timetable ``headway_min``; walk links from the ``.flf``.

    Raises
    ------
    DataError
        For a zip without schedules or stations, a truncated schedule file, or no train on ``day``.
    """
    path = Path(path)
    members, msn_text, flf_text, raw = _archive(path)
    source = f"{path.name}!{members['.mca']}"
    msn, notes = read_msn(msn_text, source=f"{path.name}!{members['.msn']}")
    arr, line_no, record_notes = _records(raw, source)
    notes = [*record_notes, *notes]
    if ".flf" not in members:  # the second hostile pass: without it changes between stations are dearer, silently
        notes.append(
            f"{path.name} holds no .flf file: the fixed walk links between stations (FLF) are not used, so changes "
            "between nearby stations cost more; a full download holds .MCA, .MSN and .FLF files"
        )
    calls = _calls(arr, line_no, source)
    bs = np.flatnonzero((arr[:, 0] == ord("B")) & (arr[:, 1] == ord("S")))
    chosen_days = _days(arr, bs, day)
    every = _running(arr, bs, sorted(set(_days(arr, bs, "all")) | set(chosen_days)))
    by_day = {d: every[d] for d in chosen_days}
    running = np.unique(np.concatenate([np.empty(0, np.int64), *by_day.values()]))
    what = f"{day:%A %d %B %Y}" if isinstance(day, dt.date) else f"{str(day).lower()}s"
    if not len(running):
        raise DataError(f"{source}: no passenger train runs on {what}; choose a day the file covers")
    all_days = np.unique(np.concatenate([np.empty(0, np.int64), *every.values()]))
    short = calls.groupby("sched").size()
    one = np.setdiff1d(all_days, short.index[short >= 2].to_numpy())
    if len(one):
        note = f"{len(one)} passenger train(s) with fewer than two public calls skipped"
        warnings.warn(f"{source}: {note}", PlannerWarning, stacklevel=2)
        logger.warning("%s: %s", source, note)
        notes.append(note)
    calls, station = _located(calls, msn, bounds, source, notes)
    sched = calls["sched"].to_numpy()
    stand_in = _stand_ins(calls, running, all_days, station, what, source, notes) if other_days else np.empty(0, int)
    calls = calls.loc[np.isin(sched, np.r_[running, stand_in])].reset_index(drop=True)
    size = calls.groupby("sched")["crs"].transform("size")
    calls = calls.loc[size >= 2].reset_index(drop=True)
    return _patterns(
        calls, station, _operators(arr), flf_text, source, what, by_day, set(stand_in.tolist()), notes, bounds
    )


def _archive(path: Path) -> tuple[dict[str, str], str, str, bytes]:
    """The zip's members by extension, its MSN and FLF texts and its MCA bytes."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{path}: not a readable zip ({exc}); download the CIF timetable again") from exc
    with archive:
        members = _members(archive, path)
        msn_text = archive.read(members[".msn"]).decode("latin-1")
        flf_text = archive.read(members[".flf"]).decode("latin-1") if ".flf" in members else ""
        raw = archive.read(members[".mca"])
    return members, msn_text, flf_text, raw


def _stand_ins(
    calls: pd.DataFrame,
    running: np.ndarray,
    all_days: np.ndarray,
    station: pd.DataFrame,
    what: str,
    source: str,
    notes: list[str],
) -> np.ndarray:
    """Trains of other days standing in at stations with no departure or no arrival on the chosen day."""
    sched = calls["sched"].to_numpy()
    departs, arrives = _ends(calls.loc[np.isin(sched, running)])
    others = calls.loc[np.isin(sched, all_days) & ~np.isin(sched, running)]
    o_dep, o_arr = _ends(others, sets=False)
    gap = (o_dep & ~others["crs"].isin(departs)) | (o_arr & ~others["crs"].isin(arrives))
    stand_in = np.unique(others.loc[gap, "sched"].to_numpy())
    if len(stand_in):
        lacking = sorted(set(others.loc[gap, "crs"]))
        note = (
            f"{len(lacking)} station(s) in the area have no departure or no arrival on {what} in this file "
            f"({', '.join(station.loc[lacking[:8], 'name'])}{' ...' if len(lacking) > 8 else ''}): "
            f"{len(stand_in)} train(s) of other days stand in for their service (same stops and run times "
            "assumed, default headway)"
        )
        warnings.warn(f"{source}: {note}", PlannerWarning, stacklevel=3)
        logger.warning("%s: %s", source, note)
        notes.append(note)
    return stand_in


def _ends(calls: pd.DataFrame, *, sets: bool = True):
    """Calls a train departs from (all but its last) and arrives at (all but its first): as sets of CRS
    codes, or (``sets=False``) as two boolean masks over ``calls``."""
    sched = calls["sched"].to_numpy()
    change = sched[1:] != sched[:-1]
    first = np.r_[True, change][: len(sched)]
    last = np.r_[change, True][: len(sched)]
    if not sets:
        return pd.Series(~last, index=calls.index), pd.Series(~first, index=calls.index)
    crs = calls["crs"].to_numpy()
    return set(crs[~last]), set(crs[~first])


def _located(
    calls: pd.DataFrame, msn: pd.DataFrame, bounds: Sequence[float], source: str, notes: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Calls at located MSN stations inside ``bounds``, times unwrapped across midnight; stations by CRS."""
    located = msn.dropna(subset=["x"]).drop_duplicates("tiploc")
    crs_of = located.set_index("tiploc")["crs"]
    calls = calls.assign(crs=calls["tiploc"].map(crs_of))
    unknown = calls["crs"].isna()
    if unknown.any():
        names = ", ".join(sorted(calls.loc[unknown, "tiploc"].unique())[:5])
        note = f"{int(unknown.sum())} public call(s) at TIPLOCs with no located MSN station skipped ({names} ...)"
        logger.info("%s: %s", source, note)
        notes.append(note)
    calls = calls.loc[~unknown]
    station = located.sort_values(["crs", "tiploc"]).drop_duplicates("crs").set_index("crs")
    station["change_min"] = located.groupby("crs")["change_min"].max()
    xy = station.loc[calls["crs"], ["x", "y"]].to_numpy()
    x0, y0, x1, y1 = bounds
    inside = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
    calls = calls.loc[inside].reset_index(drop=True)
    sched = calls["sched"].to_numpy()
    calls["arr"] = _unwrap(calls["arr"].to_numpy(), sched)
    calls["dep"] = _unwrap(calls["dep"].to_numpy(), sched)
    return calls, station


def _patterns(
    calls: pd.DataFrame,
    station: pd.DataFrame,
    operators: pd.Series,
    flf_text: str,
    source: str,
    what: str,
    by_day: dict[dt.date, np.ndarray],
    stand_in: set[int],
    notes: list[str],
    bounds: Sequence[float],
) -> ServicePatterns:
    trains, pattern_keys = _trains(calls, operators, stand_in)
    stops, stop_pos, out_calls = _pattern_calls(calls, station)
    patterns = _headways(trains, pattern_keys, by_day)
    walks = _walk_links(flf_text)
    between = walks.loc[walks["a"].isin(stop_pos.index) & walks["b"].isin(stop_pos.index)]
    links = pd.DataFrame(
        {
            "a": stop_pos.loc[between["a"]].to_numpy(),
            "b": stop_pos.loc[between["b"]].to_numpy(),
            "minutes": between["minutes"].to_numpy(),
        }
    )
    interchanges = _interchanges(walks, station, stop_pos)
    timetable = int((patterns["headway_source"] == "timetable").sum())
    others = int((patterns["headway_source"] == "other day").sum())
    note = (
        f"{len(patterns)} stopping patterns at {len(stops)} stations from {len(trains)} trains ({what}); "
        f"{timetable} with a headway from the timetable (their full day is in the file), "
        f"{len(patterns) - timetable - others} with the default headway of their service class, "
        f"{others} from other days standing in"
    )
    logger.info("%s: %s", source, note)
    notes.append(note)
    stops_out = pd.DataFrame(
        {
            "stop_id": stops["crs"].to_numpy(),
            "name": stops["name"].to_numpy(),
            "x": stops["x"].to_numpy(float),
            "y": stops["y"].to_numpy(float),
            "change_min": stops["change_min"].to_numpy(float),
        }
    )
    x0, y0, x1, y1 = bounds
    inside = station["x"].between(x0, x1) & station["y"].between(y0, y1) & ~station.index.isin(stops["crs"])
    inside &= ~_not_rail(station)
    unserved = station.loc[inside, ["name", "x", "y"]].rename_axis("stop_id").reset_index()
    return ServicePatterns(
        "rail", stops_out, out_calls, patterns, links, tuple(notes), f"{source} ({what})", unserved, interchanges
    )


def _trains(calls: pd.DataFrame, operators: pd.Series, stand_in: set[int]) -> tuple[pd.DataFrame, list[str]]:
    """One row per train with its pattern (one per distinct sequence of called stations); ``calls`` gains
    each call's ``pattern`` and ``order``."""
    keys = calls.groupby("sched", sort=True)["crs"].agg(" ".join)
    first_dep = calls.groupby("sched", sort=True)["dep"].first()
    trains = pd.DataFrame({"key": keys, "first_dep": first_dep, "operator": operators.reindex(keys.index).fillna("")})
    pattern_keys = sorted(trains["key"].unique())
    pid = pd.Series(np.arange(len(pattern_keys)), index=pattern_keys)
    trains["pattern"] = pid.loc[trains["key"]].to_numpy()
    trains["stand_in"] = trains.index.isin(list(stand_in))
    calls["pattern"] = trains["pattern"].reindex(calls["sched"]).to_numpy()
    calls["order"] = calls.groupby("sched").cumcount()
    return trains, pattern_keys


def _pattern_calls(calls: pd.DataFrame, station: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Each pattern's calls with median run and dwell minutes and the straight-line ride; the stations called."""
    first = calls["order"].to_numpy() == 0
    # a ride runs from one call's departure to the next call's arrival; the dwell from arrival to departure
    run = calls["arr"].to_numpy() - np.r_[np.nan, calls["dep"].to_numpy()[:-1]]
    calls["run"] = np.where(first, np.nan, np.maximum(run, 0.5))
    calls["dwell"] = np.where(first, 0.0, np.maximum(calls["dep"] - calls["arr"], 0.0))
    per_call = calls.groupby(["pattern", "order"], sort=True).agg(
        crs=("crs", "first"), run_min=("run", "median"), dwell_min=("dwell", "median")
    )
    per_call = per_call.reset_index()
    last = np.r_[per_call["pattern"].to_numpy()[1:] != per_call["pattern"].to_numpy()[:-1], True]
    per_call.loc[last, "dwell_min"] = 0.0
    stops = station.loc[sorted(per_call["crs"].unique())].reset_index()
    stop_pos = pd.Series(np.arange(len(stops)), index=stops["crs"])
    call_xy = stops.loc[stop_pos.loc[per_call["crs"]].to_numpy(), ["x", "y"]].to_numpy()
    ride_m = np.r_[np.nan, np.hypot(*np.diff(call_xy, axis=0).T)]
    ride_m[per_call["order"].to_numpy() == 0] = np.nan
    out_calls = pd.DataFrame(
        {
            "pattern": per_call["pattern"].to_numpy(),
            "stop": stop_pos.loc[per_call["crs"]].to_numpy(),
            "board": True,
            "ride_m": ride_m,
            "run_min": per_call["run_min"].to_numpy(),
            "dwell_min": per_call["dwell_min"].to_numpy(),
        }
    )
    return stops, stop_pos, out_calls


def _headways(trains: pd.DataFrame, pattern_keys: list[str], by_day: dict[dt.date, np.ndarray]) -> pd.DataFrame:
    """Per pattern: operator, service class, trains a day, and a timetable headway where a day is full.

    Trains are counted date by date; a pattern's busiest date decides.  A pattern whose trains all stand
    in from other days gets the default headway (``headway_source`` ``"other day"``).
    """
    days = [(np.asarray(s, dtype=np.int64), i) for i, s in enumerate(by_day.values())]
    sched = np.concatenate([np.empty(0, np.int64), *(s for s, _ in days)])
    day = np.concatenate([np.empty(0, np.int64), *(np.full(len(s), i) for s, i in days)])
    on = np.isin(sched, trains.index.to_numpy())
    runs = trains.loc[sched[on], ["pattern", "first_dep"]].assign(day=day[on])
    runs["morning"] = runs["first_dep"].between(420, 600, inclusive="left")
    per_day = runs.groupby(["pattern", "day"]).agg(
        n=("first_dep", "size"), first=("first_dep", "min"), last=("first_dep", "max"), morning=("morning", "sum")
    )
    best = per_day.reset_index().sort_values(["pattern", "n", "day"], ascending=[True, False, True], kind="stable")
    best = best.drop_duplicates("pattern").set_index("pattern").reindex(range(len(pattern_keys)))
    full = (best["n"] >= FULL_DAY_MIN_TRAINS) & (best["first"] <= 420) & (best["last"] >= 1140) & (best["morning"] >= 1)
    full = full.fillna(False).astype(bool).to_numpy()
    # the operator running most of a pattern's trains (ties: the first code)
    counts = trains.groupby(["pattern", "operator"]).size().rename("k").reset_index()
    counts = counts.sort_values(["pattern", "k", "operator"], ascending=[True, False, True], kind="stable")
    operator = counts.drop_duplicates("pattern").set_index("pattern")["operator"].reindex(range(len(pattern_keys)))
    only_other = trains.groupby("pattern", sort=True)["stand_in"].all().to_numpy()
    ends = pd.Series(pattern_keys).str.split(" ")
    return pd.DataFrame(
        {
            "name": (ends.str[0] + "-" + ends.str[-1]).to_numpy(),
            "operator": operator.fillna("").to_numpy(),
            "service_class": np.where(operator.isin(METRO_OPERATORS), "metro", "national"),
            "trains": best["n"].fillna(0).astype(int).to_numpy(),
            "headway_min": np.where(full, 180.0 / best["morning"].clip(lower=1).fillna(1).to_numpy(), np.nan),
            "headway_source": np.where(full, "timetable", np.where(only_other, "other day", "default")),
        }
    )
