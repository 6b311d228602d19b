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
_RECORD = 80
_PASSENGER_STATUS = frozenset("P1")
_PASSENGER_CATEGORY = re.compile(rb"^(O[OLUSW]|X[CDIRUXZ])$")
_NOT_RAIL_NAME = re.compile(r"\b(BUS|BUSES|CIV)\b", re.IGNORECASE)


def _not_rail(station: pd.DataFrame) -> pd.Series:
    """Station-list entries that are no National Rail station: the ``Z..`` codes the MSN gives Underground,
    DLR and tram stops (for its fixed links), bus stops (``BUS`` in the name or TIPLOC) and Eurostar's civil
    codes (``CIV``)."""
    by_code = pd.Series(station.index.str.startswith("Z"), index=station.index)
    return by_code | station["name"].str.contains(_NOT_RAIL_NAME) | station["tiploc"].str.contains("BUS")


_WEEKDAYS = {
    **{
        name: (i,)
        for i, name in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
    },
    "weekday": (0, 1, 2, 3, 4),
    "all": (0, 1, 2, 3, 4, 5, 6),
}
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


def _uniform(raw: bytes) -> np.ndarray | None:
    """The records as a ``(n, 80)`` array when every line is 80 characters (LF or CRLF) and the last is ZZ."""
    stride = raw.find(b"\n") + 1
    if stride not in (_RECORD + 1, _RECORD + 2) or len(raw) % stride:
        return None
    arr = np.frombuffer(raw, dtype=np.uint8).reshape(-1, stride)
    ends_ok = (arr[:, -1] == ord("\n")).all() and (stride == _RECORD + 1 or (arr[:, -2] == ord("\r")).all())
    if not ends_ok or bytes(arr[-1, :2]) != b"ZZ":
        return None
    return arr[:, :_RECORD]


def _records(raw: bytes, source: str) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The file's 80-character records as a ``(n, 80)`` byte array, their line numbers, and notes.

    A record of another length is dropped with the schedule it belongs to (counted); a file that ends
    without its ``ZZ`` trailer, or inside a schedule, is refused as truncated.
    """
    uniform = _uniform(raw)
    if uniform is not None:  # every record 80 characters: the common case, read without a loop
        return uniform, np.arange(1, len(uniform) + 1), []
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    lines = [ln[:-1] if ln.endswith(b"\r") else ln for ln in lines]
    if not lines or not lines[-1].startswith(b"ZZ"):
        last = lines[-1][:20].decode("latin-1") if lines else ""
        raise DataError(
            f"{source}: truncated: the schedule file ends at line {len(lines)} ({last!r}) without its ZZ trailer "
            "record. The download is incomplete: download the timetable again."
        )
    length = np.fromiter((len(ln) for ln in lines), dtype=np.int64, count=len(lines))
    bad = np.flatnonzero(length != _RECORD)
    notes: list[str] = []
    keep = np.ones(len(lines), dtype=bool)
    if len(bad):
        starts = np.array([i for i, ln in enumerate(lines) if ln.startswith(b"BS")], dtype=np.int64)
        owner = np.searchsorted(starts, bad, side="right") - 1
        for o, b in zip(owner, bad, strict=True):
            if o < 0:
                keep[b] = False
                continue
            end = starts[o + 1] if o + 1 < len(starts) else len(lines) - 1
            keep[starts[o] : end] = False
        note = (
            f"{len(bad)} record(s) not {_RECORD} characters long (the first at line {int(bad[0]) + 1}); "
            f"the {len(set(owner.tolist()) - {-1})} schedule(s) holding them skipped"
        )
        warnings.warn(f"{source}: {note}", PlannerWarning, stacklevel=3)
        logger.warning("%s: %s", source, note)
        notes.append(note)
    good = [ln for ln, k in zip(lines, keep, strict=True) if k]
    arr = np.frombuffer(b"".join(good), dtype=np.uint8).reshape(len(good), _RECORD)
    return arr, np.flatnonzero(keep) + 1, notes


def _text(arr: np.ndarray, rows: np.ndarray, a: int, b: int) -> np.ndarray:
    block = np.ascontiguousarray(arr[rows, a:b])
    return np.char.strip(block.view(f"S{b - a}").ravel().astype(str))


def _hhmm(arr: np.ndarray, rows: np.ndarray, a: int) -> np.ndarray:
    """Minutes after midnight of the ``HHMM`` field at column ``a`` (NaN where blank)."""
    d = arr[rows, a : a + 4].astype(np.int64) - 48
    ok = ((d >= 0) & (d <= 9)).all(axis=1)
    minutes = (d[:, 0] * 10 + d[:, 1]) * 60 + d[:, 2] * 10 + d[:, 3]
    return np.where(ok, minutes, np.nan)


def _yymmdd(arr: np.ndarray, rows: np.ndarray, a: int) -> np.ndarray:
    """The ``YYMMDD`` date at column ``a`` as the number YYMMDD (-1 where it is not six digits)."""
    d = arr[rows, a : a + 6].astype(np.int64) - 48
    ok = ((d >= 0) & (d <= 9)).all(axis=1)
    return np.where(ok, d @ (10 ** np.arange(5, -1, -1)), -1)


def _days(arr: np.ndarray, bs: np.ndarray, day: dt.date | str) -> list[dt.date]:
    """The dates read: ``day`` itself, or every date of the named weekday(s) that the schedules cover."""
    if isinstance(day, dt.date):
        return [day]
    name = str(day).strip().lower()
    if name not in _WEEKDAYS:
        raise DataError(f"day={day!r}: give a date, a weekday name (monday ... sunday) or 'weekday' (Monday-Friday)")
    start = _yymmdd(arr, bs, 9)
    end = _yymmdd(arr, bs, 15)
    ok = (start > 0) & (end > 0)
    if not ok.any():
        return []
    first = dt.datetime.strptime(f"{start[ok].min():06d}", "%y%m%d").date()
    last = dt.datetime.strptime(f"{end[ok].max():06d}", "%y%m%d").date()
    days = (first + dt.timedelta(days=i) for i in range((last - first).days + 1))
    return [d for d in days if d.weekday() in _WEEKDAYS[name]]


def _running(arr: np.ndarray, bs: np.ndarray, days: list[dt.date]) -> dict[dt.date, np.ndarray]:
    """Per date, the positions (into ``bs``) of the passenger schedules that run, short-term plans applied."""
    uid = _text(arr, bs, 3, 9)
    start = _yymmdd(arr, bs, 9)
    end = _yymmdd(arr, bs, 15)
    stp = arr[bs, 79]
    category = _text(arr, bs, 30, 32)
    passenger = np.isin(arr[bs, 29], [ord(c) for c in _PASSENGER_STATUS]) & np.array(
        [bool(_PASSENGER_CATEGORY.match(c.encode())) for c in category], dtype=bool
    )
    # short-term plans (C, N, O) replace the permanent schedule (P) of the same train on a day
    order = np.lexsort((np.arange(len(bs)), np.where(stp == ord("P"), 1, 0), uid))
    uid_sorted = uid[order]
    out: dict[dt.date, np.ndarray] = {}
    for day in days:
        ymd = int(day.strftime("%y%m%d"))
        valid = (start <= ymd) & (ymd <= end) & (arr[bs, 21 + day.weekday()] == ord("1"))
        v = order[valid[order]]
        _, first = np.unique(uid_sorted[valid[order]], return_index=True)
        chosen = v[first]
        out[day] = np.sort(chosen[passenger[chosen] & (stp[chosen] != ord("C"))])
    return out


def _calls(arr: np.ndarray, line_no: np.ndarray, source: str) -> pd.DataFrame:
    """Every public call of every schedule: ``sched`` (BS position), ``tiploc``, ``arr``, ``dep`` minutes."""
    kind = arr[:, 0].astype(np.int64) * 256 + arr[:, 1]
    code = {k: ord(k[0]) * 256 + ord(k[1]) for k in ("BS", "LO", "LI", "LT")}
    is_bs = kind == code["BS"]
    sched = np.cumsum(is_bs) - 1
    lo, li, lt = (np.flatnonzero(kind == code[k]) for k in ("LO", "LI", "LT"))
    n_bs = int(is_bs.sum())
    n_lo = np.bincount(sched[lo], minlength=n_bs) if len(lo) else np.zeros(n_bs, int)
    n_lt = np.bincount(sched[lt], minlength=n_bs) if len(lt) else np.zeros(n_bs, int)
    unfinished = np.flatnonzero(n_lo != n_lt)
    if len(unfinished):
        first = int(line_no[np.flatnonzero(is_bs)[unfinished[0]]])
        raise DataError(
            f"{source}: {len(unfinished)} schedule(s) have an origin (LO) without a terminus (LT) record or the "
            f"other way round, the first at line {first}. The file is truncated or damaged: download it again."
        )
    parts = []
    # origin: public departure (cols 16-19); terminus: public arrival (16-19)
    for rows, is_origin in ((lo, True), (lt, False)):
        t = _hhmm(arr, rows, 15)
        # a public time of 0000 is no public call, unless the train is timed at midnight
        t = np.where((t == 0) & (_hhmm(arr, rows, 10) != 0), np.nan, t)
        parts.append(
            pd.DataFrame(
                {
                    "row": rows,
                    "tiploc": _text(arr, rows, 2, 9),
                    "arr": np.nan if is_origin else t,
                    "dep": t if is_origin else np.nan,
                }
            )
        )
    # intermediate: a call when it has no passing time and a public arrival or departure (not both 0000)
    pa, pd_ = _hhmm(arr, li, 25), _hhmm(arr, li, 29)
    passing = arr[li, 20] != ord(" ")
    public = (np.nan_to_num(pa, nan=0) + np.nan_to_num(pd_, nan=0)) > 0
    keep = ~passing & public
    stop = li[keep]
    parts.append(
        pd.DataFrame(
            {
                "row": stop,
                "tiploc": _text(arr, stop, 2, 9),
                "arr": np.where(pa[keep] > 0, pa[keep], pd_[keep]),
                "dep": np.where(pd_[keep] > 0, pd_[keep], pa[keep]),
            }
        )
    )
    calls = pd.concat(parts, ignore_index=True).sort_values("row", kind="stable")
    calls = calls.loc[calls[["arr", "dep"]].notna().any(axis=1)]
    calls["sched"] = sched[calls["row"].to_numpy()]
    calls["arr"] = calls["arr"].fillna(calls["dep"])
    calls["dep"] = calls["dep"].fillna(calls["arr"])
    return calls.reset_index(drop=True)


def _operators(arr: np.ndarray) -> pd.Series:
    kind = arr[:, 0].astype(np.int64) * 256 + arr[:, 1]
    is_bs = kind == ord("B") * 256 + ord("S")
    sched = np.cumsum(is_bs) - 1
    bx = np.flatnonzero(kind == ord("B") * 256 + ord("X"))
    return pd.Series(_text(arr, bx, 11, 13), index=sched[bx])


def _unwrap(times: np.ndarray, sched: np.ndarray) -> np.ndarray:
    """Times made non-decreasing within each schedule across midnight."""
    out = times.astype(float).copy()
    step = np.diff(out)
    same = sched[1:] == sched[:-1]
    wrap = np.zeros(len(out))
    wrap[1:] = np.where(same & (step < -720), 1440.0, 0.0)
    # accumulate the wraps within each schedule
    group_start = np.r_[True, ~same]
    cum = np.cumsum(wrap)
    base = np.maximum.accumulate(np.where(group_start, cum, 0))
    return out + cum - base


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
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{path}: not a readable zip ({exc}); download the CIF timetable again") from exc
    with archive:
        members = _members(archive, path)
        msn_text = archive.read(members[".msn"]).decode("latin-1")
        flf_text = archive.read(members[".flf"]).decode("latin-1") if ".flf" in members else ""
        raw = archive.read(members[".mca"])
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
    chosen = calls.loc[np.isin(sched, running)]
    stand_in = np.empty(0, np.int64)
    if other_days:
        departs, arrives = _ends(chosen)
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
            warnings.warn(f"{source}: {note}", PlannerWarning, stacklevel=2)
            logger.warning("%s: %s", source, note)
            notes.append(note)
    calls = calls.loc[np.isin(sched, np.r_[running, stand_in])].reset_index(drop=True)
    size = calls.groupby("sched")["crs"].transform("size")
    calls = calls.loc[size >= 2].reset_index(drop=True)
    return _patterns(
        calls, station, _operators(arr), flf_text, source, what, by_day, set(stand_in.tolist()), notes, bounds
    )


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
    # one pattern per distinct sequence of called stations
    keys = calls.groupby("sched", sort=True)["crs"].agg(" ".join)
    first_dep = calls.groupby("sched", sort=True)["dep"].first()
    trains = pd.DataFrame({"key": keys, "first_dep": first_dep, "operator": operators.reindex(keys.index).fillna("")})
    pattern_keys = sorted(trains["key"].unique())
    pid = pd.Series(np.arange(len(pattern_keys)), index=pattern_keys)
    trains["pattern"] = pid.loc[trains["key"]].to_numpy()
    trains["stand_in"] = trains.index.isin(list(stand_in))
    calls["pattern"] = trains["pattern"].reindex(calls["sched"]).to_numpy()
    calls["order"] = calls.groupby("sched").cumcount()
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
