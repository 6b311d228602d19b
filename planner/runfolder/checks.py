"""What a run folder's tables must hold when read back.

Everything that reads a run folder back (``compare``, ``report``, ``maps``) checks its figures here, so
a hand-edited, truncated or mixed-up folder is refused with the file, the row and the field instead of
giving a plausible wrong figure:

* :func:`check_summary`: every figure of ``summary.json`` is a finite number; counts are 0 or more and
  percentages between 0 and 100;
* :func:`check_points`: ``access_points.csv`` has one row per demand point, numeric minutes and counts,
  and its residents add up to the summary;
* :func:`check_tables`: the counters, borough and equality tables agree with the summary.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from planner.errors import DataError, EngineError
from planner.travel import ENGINES
from planner.travel.bounds import check_bounds

__all__ = [
    "check_points",
    "check_summary",
    "check_tables",
    "rerun_hint",
]

#: Figures of ``summary.json`` that count residents (0 or more).
_COUNTS = ("beyond", "beyond_65_plus", "population", "unreachable")
#: Residents may differ from the summary by this much (rounding of fractional estimates).
_SUM_TOLERANCE = 0.5


def rerun_hint(folder: Path) -> str:
    """The end of every message about a changed run folder: what to do.

    Parameters
    ----------
    folder
        The run folder.
    """
    return f"the run folder {folder} was changed or damaged after it was written: run its scenario again"


def check_summary(summary: dict, *, path: Path, labels: Sequence[str]) -> None:
    """Refuse a ``summary.json`` whose figures are not numbers, are negative or are impossible.

    Parameters
    ----------
    summary
        The parsed file.
    path
        The file, for the message.
    labels
        Threshold labels (``"45"``) the manifest lists.

    Raises
    ------
    DataError
        Naming the key and the value.
    """
    problems = []
    for key in ("london", "london_24_7"):
        block = summary.get(key)
        if not isinstance(block, dict):
            raise DataError(f"{path}: {key!r} is not a table of figures; {rerun_hint(path.parent)}")
        for label in labels:
            figures = block.get(label)
            if not isinstance(figures, dict):
                problems.append(f"{key}.{label} is missing")
                continue
            problems += [f"{key}.{label}.{name} is {value!r}" + why for name, value, why in _bad_figures(figures)]
    for name in ("counters_open", "counters_24_7"):
        value = summary.get(name)
        if value is not None and not (_is_number(value) and value >= 0 and float(value).is_integer()):
            problems.append(f"{name} is {value!r}, not a count")
    if problems:
        raise DataError(f"{path}: {'; '.join(problems[:8])}; {rerun_hint(path.parent)}")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _bad_figures(figures: dict) -> list[tuple[str, object, str]]:
    bad = []
    for name, value in figures.items():
        if not _is_number(value):
            if not (name.endswith("minutes") and value is None):  # no resident reaches a counter: no mean
                bad.append((name, value, ", not a finite number"))
        elif name in _COUNTS and value < 0:
            bad.append((name, value, ", a negative count of residents"))
        elif name == "pct_within" and not 0 <= value <= 100:
            bad.append((name, value, ", not a percentage"))
        elif name.endswith("minutes") and value < 0:
            bad.append((name, value, ", negative minutes"))
    beyond, population = figures.get("beyond"), figures.get("population")
    if _is_number(beyond) and _is_number(population) and beyond > population + _SUM_TOLERANCE:
        bad.append(("beyond", figures["beyond"], f", more than the {figures['population']:g} residents"))
    return bad


def check_points(points: pd.DataFrame, *, path: Path, summary: dict, labels: Sequence[str]) -> pd.DataFrame:
    """Check ``access_points.csv`` against itself and ``summary.json``, and return it with proper types.

    Parameters
    ----------
    points
        The table as read.
    path
        The file, for the message.
    summary
        The run's ``summary.json`` (already checked by :func:`check_summary`).
    labels
        Threshold labels; ``beyond_<label>`` columns are checked when present.

    Returns
    -------
    pandas.DataFrame
        The table with numeric ``minutes``, ``population`` and ``pop_65_plus`` and a boolean ``reachable``.

    Raises
    ------
    DataError
        On a duplicated or missing point, a value that is not a number or a
        count, or residents that do not add up to the summary.
    """
    points = points.copy()
    problems = []
    if "point_id" in points.columns:
        dup = points.loc[points["point_id"].duplicated(keep=False), "point_id"]
        if len(dup):
            line = int(np.flatnonzero(points["point_id"].duplicated().to_numpy())[0]) + 2
            problems.append(f"demand point(s) {sorted(set(dup))[:5]} appear more than once (again at line {line})")
    for col, count in (("population", True), ("pop_65_plus", True), ("minutes", False)):
        if col not in points.columns:
            continue
        values = pd.to_numeric(points[col], errors="coerce")
        bad = (values.isna() & points[col].notna()) | (values < 0)
        if count:
            bad |= values.isna()
        for i in np.flatnonzero(bad.to_numpy())[:3]:
            problems.append(f"line {i + 2}, {col} is {_shown(points[col].iat[i])}")
        points[col] = values
    if "reachable" in points.columns:
        text = points["reachable"].astype(str).str.strip().str.lower()
        odd = ~text.isin(["true", "false", "1", "0"])
        for i in np.flatnonzero(odd.to_numpy())[:3]:
            problems.append(f"line {i + 2}, reachable is {points['reachable'].iat[i]!r} (true or false)")
        points["reachable"] = text.isin(["true", "1"])
    if problems:
        raise DataError(f"{path}: {'; '.join(problems[:8])}; {rerun_hint(path.parent)}")
    _check_sums(points, path=path, summary=summary, labels=labels)
    return points


def _shown(value: object) -> str:
    if isinstance(value, str):
        return repr(value)
    return "empty" if pd.isna(value) else f"{value:g}"  # type: ignore[arg-type]


def _check_sums(points: pd.DataFrame, *, path: Path, summary: dict, labels: Sequence[str]) -> None:
    london = summary.get("london", {})
    if not labels or "population" not in points.columns:
        return
    expected = london.get(labels[0], {}).get("population")
    total = float(points["population"].sum())
    if _is_number(expected) and abs(total - expected) > _SUM_TOLERANCE:
        raise DataError(
            f"{path}: its {len(points):,} demand points hold {total:,.0f} residents but "
            f"{path.parent / 'summary.json'} says {expected:,.0f}: a row was deleted, duplicated or changed; "
            f"{rerun_hint(path.parent)}"
        )
    for label in labels:
        col, figure = f"beyond_{label}", london.get(label, {}).get("beyond")
        if col not in points.columns or not _is_number(figure):
            continue
        flags = points[col].astype(str).str.strip().str.lower().isin(["true", "1"])
        beyond = float(points.loc[flags, "population"].sum())
        if abs(beyond - figure) > _SUM_TOLERANCE:
            raise DataError(
                f"{path}: {beyond:,.0f} residents are marked {col} but {path.parent / 'summary.json'} says "
                f"{figure:,.0f}; {rerun_hint(path.parent)}"
            )
    if {"minutes", "reachable"} <= set(points.columns):
        _check_recomputed(points, path=path, london=london, labels=labels)


def _check_recomputed(points: pd.DataFrame, *, path: Path, london: dict, labels: Sequence[str]) -> None:
    """The summary's residents beyond each threshold and mean minutes, recomputed from the points' minutes."""
    pop = points["population"].to_numpy(float)
    minutes = points["minutes"].to_numpy(float)
    ok = points["reachable"].to_numpy(bool) & np.isfinite(minutes)
    for label in labels:
        figures = london.get(label, {})
        beyond = float(pop[~ok | (np.where(ok, minutes, np.inf) > float(label))].sum())
        if _is_number(figures.get("beyond")) and abs(beyond - figures["beyond"]) > _SUM_TOLERANCE:
            raise DataError(
                f"{path}: its minutes put {beyond:,.0f} residents beyond {label} minutes but "
                f"{path.parent / 'summary.json'} says {figures['beyond']:,.0f}: the minutes or the summary were "
                f"changed; {rerun_hint(path.parent)}"
            )
    mean = figures.get("mean_minutes") if labels and (figures := london.get(labels[0], {})) else None
    if _is_number(mean) and pop[ok].sum() > 0:
        got = float(minutes[ok] @ pop[ok] / pop[ok].sum())
        if abs(got - mean) > 0.01:
            raise DataError(
                f"{path}: its minutes give a mean of {got:.2f} but {path.parent / 'summary.json'} says {mean:.2f}; "
                f"{rerun_hint(path.parent)}"
            )


def check_tables(
    folder: Path,
    *,
    summary: dict,
    counters: pd.DataFrame,
    points: pd.DataFrame,
    boroughs: dict[str, pd.DataFrame] | None = None,
    engine: dict | None = None,
) -> None:
    """Check a run folder's tables against each other and its summary (after :func:`check_points`).

    ``counters.csv`` must list the counters the summary counts and every counter the points name;
    the borough tables must add up to London; the 24/7 figures cannot be better than any counter's;
    the engine must be one planner has, with parameters in their plausible ranges.

    Parameters
    ----------
    folder
        The run folder (for messages).
    summary
        Its ``summary.json``.
    counters
        Its ``counters.csv``.
    points
        Its ``access_points.csv``, checked by :func:`check_points`.
    boroughs
        Its ``access_boroughs_<T>.csv`` tables by threshold label.
    engine
        Its manifest's ``engine`` entry.

    Raises
    ------
    DataError
        Naming the file and what disagrees.
    """
    problems = []
    ids = set(counters["station_id"].astype(str)) if "station_id" in counters.columns else set()
    if _is_number(summary.get("counters_open")) and len(counters) != summary["counters_open"]:
        problems.append(f"counters.csv lists {len(counters)} counters, summary.json says {summary['counters_open']}")
    if "open_24_7" in counters.columns and _is_number(summary.get("counters_24_7")):
        all_day = int(counters["open_24_7"].astype(str).str.lower().isin(["true", "1"]).sum())
        if all_day != summary["counters_24_7"]:
            problems.append(
                f"counters.csv has {all_day} counters open 24/7, summary.json says {summary['counters_24_7']}"
            )
    named = set(points["station_id"].dropna().astype(str)) if "station_id" in points.columns else set()
    if ids and named - ids:
        problems.append(f"access_points.csv names counters {sorted(named - ids)[:5]} that counters.csv lacks")
    for label, any_counter in (summary.get("london") or {}).items():
        all_day_fig = (summary.get("london_24_7") or {}).get(label, {})
        if _is_number(all_day_fig.get("beyond")) and all_day_fig["beyond"] + _SUM_TOLERANCE < any_counter.get(
            "beyond", 0
        ):
            problems.append(
                f"summary.json: {all_day_fig['beyond']:,} beyond {label} min from a 24/7 counter is fewer than the "
                f"{any_counter['beyond']:,} beyond from any counter"
            )
        table = (boroughs or {}).get(label)
        if table is not None and _is_number(any_counter.get("beyond")):
            total = float(pd.to_numeric(table["beyond"], errors="coerce").sum())
            if abs(total - any_counter["beyond"]) > _SUM_TOLERANCE:
                problems.append(
                    f"access_boroughs_{label}.csv adds up to {total:,.0f} beyond, summary.json says "
                    f"{any_counter['beyond']:,.0f}"
                )
    problems += _engine_problems(engine)
    if problems:
        raise DataError(f"{folder}: {'; '.join(problems[:6])}; {rerun_hint(folder)}")


def _engine_problems(engine: dict | None) -> list[str]:
    if engine is None:
        return []
    name = engine.get("engine")
    if name not in ENGINES:
        return [f"manifest.json names the engine {name!r}, which planner does not have ({', '.join(ENGINES)})"]
    try:
        check_bounds(str(name), engine)
    except EngineError as exc:
        return [f"manifest.json: {exc}"]
    return []
