"""The fixed-width records of an ATOC CIF timetable, decoded with numpy: schedules, calls, running days."""

from __future__ import annotations

import datetime as dt
import logging
import re
import warnings

import numpy as np
import pandas as pd

from planner.errors import DataError, PlannerWarning

logger = logging.getLogger(__name__)

_RECORD = 80


_PASSENGER_STATUS = frozenset("P1")


_PASSENGER_CATEGORY = re.compile(rb"^(O[OLUSW]|X[CDIRUXZ])$")


_WEEKDAYS = {
    **{
        name: (i,)
        for i, name in enumerate(("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))
    },
    "weekday": (0, 1, 2, 3, 4),
    "all": (0, 1, 2, 3, 4, 5, 6),
}


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
