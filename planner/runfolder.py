"""What a run folder's tables must hold when read back, and whether several runs may be set side by side.

``planner run`` writes one folder per scenario.  Everything that reads one
back (``compare``, ``report``, ``maps``) checks its figures here, so a
hand-edited, truncated or mixed-up folder is refused with the file, the row
and the field instead of giving a plausible wrong figure:

* :func:`check_summary`: every figure of ``summary.json`` is a finite
  number; counts are 0 or more and percentages between 0 and 100;
* :func:`check_points`: ``access_points.csv`` has one row per demand point,
  numeric minutes and counts, and its residents add up to the summary;
* :func:`read_travel_matrix`: ``travel_matrix.csv`` (minutes from every
  demand point to every station of the file, which the scenario explorer
  re-scores) matches the points and stations and gives the run's own minutes;
* :func:`check_run_set`: the runs were made from the same input files, ward
  set, demand year and engine, or the differences are listed and the runs
  refused unless mixing is allowed.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
import pandas as pd

from planner.errors import DataError, EngineError
from planner.travel import ENGINES
from planner.travel.base import TravelMatrix
from planner.travel.bounds import check_bounds

if TYPE_CHECKING:
    from planner.scenario import Scenario

__all__ = [
    "MANIFEST_BODY",
    "MATRIX_FILE",
    "RunIdentity",
    "check_outputs",
    "check_planned_set",
    "check_points",
    "check_run_folders",
    "check_run_set",
    "check_summary",
    "check_tables",
    "manifest_digest",
    "output_hashes",
    "read_travel_matrix",
    "run_differences",
    "write_travel_matrix",
]

#: Figures of ``summary.json`` that count residents (0 or more).
_COUNTS = ("beyond", "beyond_65_plus", "population", "unreachable")
#: Residents may differ from the summary by this much (rounding of fractional estimates).
_SUM_TOLERANCE = 0.5


def _rerun(folder: Path) -> str:
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
            raise DataError(f"{path}: {key!r} is not a table of figures; {_rerun(path.parent)}")
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
        raise DataError(f"{path}: {'; '.join(problems[:8])}; {_rerun(path.parent)}")


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
        raise DataError(f"{path}: {'; '.join(problems[:8])}; {_rerun(path.parent)}")
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
            f"{_rerun(path.parent)}"
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
                f"{figure:,.0f}; {_rerun(path.parent)}"
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
                f"changed; {_rerun(path.parent)}"
            )
    mean = figures.get("mean_minutes") if labels and (figures := london.get(labels[0], {})) else None
    if _is_number(mean) and pop[ok].sum() > 0:
        got = float(minutes[ok] @ pop[ok] / pop[ok].sum())
        if abs(got - mean) > 0.01:
            raise DataError(
                f"{path}: its minutes give a mean of {got:.2f} but {path.parent / 'summary.json'} says {mean:.2f}; "
                f"{_rerun(path.parent)}"
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
        raise DataError(f"{folder}: {'; '.join(problems[:6])}; {_rerun(folder)}")


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


@dataclass(frozen=True)
class RunIdentity:
    """What makes two runs' figures comparable: where they were made from and how.

    Attributes
    ----------
    folder
        The run folder.
    name
        The scenario's name.
    inputs
        Input file (relative to the data directory) → sha256, from ``manifest.json``.
    demand_year, ward_year
        The population estimates and ward set used.
    engine
        The engine's name and its parameters, as one line.
    """

    folder: Path
    name: str
    inputs: dict[str, str]
    demand_year: int
    ward_year: int
    engine: str
    include_city: bool = False

    @classmethod
    def from_manifest(cls, folder: Path, manifest: dict) -> RunIdentity:
        """Read it from a run's ``manifest.json``."""
        params = manifest.get("parameters") or {}
        engine = manifest.get("engine") or {}
        shown = {k: v for k, v in engine.items() if k not in ("engine", "calibration", "data_notes", "timetabled_data")}
        settings = ", ".join(f"{k}={shown[k]}" for k in sorted(shown) if not isinstance(shown[k], dict | list))
        return cls(
            folder=Path(folder),
            name=str(params.get("name", Path(folder).name)),
            inputs=dict(manifest.get("inputs") or {}),
            demand_year=int(params.get("demand_year", 2019)),
            ward_year=int(params.get("ward_year", 2014)),
            engine=f"{engine.get('engine', 'unknown engine')} ({settings})" if settings else str(engine.get("engine")),
            include_city=bool(params.get("include_city", False)),
        )


#: Folders of the data directory that every run of one engine and demand year reads alike (the counters and
#: postcodes a run reads depend on its scenario and maps, so they are left out).
_SHARED_DIRS = ("boundaries/", "population/", "transit/", "osm/", "equality/")


def run_differences(runs: Sequence[RunIdentity]) -> list[str]:
    """What differs between the first run and each other one, in words (empty when nothing does).

    Input files are compared where both runs list the same file; a file only
    one run read (another engine's data) shows through the engine line, unless both
    runs used the same engine and years: then the data files they share must be listed by both.

    Parameters
    ----------
    runs
        The runs; the first is the reference.
    """
    if not runs:
        return []
    first, out = runs[0], []
    for run in runs[1:]:
        pair = f"{first.name} ({first.folder}) and {run.name} ({run.folder})"
        changed = sorted(f for f in set(first.inputs) & set(run.inputs) if first.inputs[f] != run.inputs[f])
        if changed:
            out.append(f"{pair} were made from different copies of {', '.join(changed)}")
        same_kind = (first.engine, first.demand_year, first.ward_year) == (run.engine, run.demand_year, run.ward_year)
        if first.inputs and run.inputs and same_kind:
            # the same engine and years read the same data files: one listed by one run only means a lost entry
            lone = sorted(f for f in set(first.inputs) ^ set(run.inputs) if f.startswith(_SHARED_DIRS))
            if lone:
                out.append(f"{pair} list different input files (only one lists {', '.join(lone[:5])})")
        for what, a, b in (
            ("demand year", f"mid-{first.demand_year}", f"mid-{run.demand_year}"),
            ("ward set", first.ward_year, run.ward_year),
            ("study area", _area(first), _area(run)),
            ("engine", first.engine, run.engine),
        ):
            if a != b:
                out.append(f"{pair} differ in {what}: {a} against {b}")
    return out


def _area(run: RunIdentity) -> str:
    return "the Met area and the City" if run.include_city else "the Met area"


def check_run_set(runs: Sequence[RunIdentity], *, allow_mixed: bool = False) -> list[str]:
    """Refuse runs that cannot be set side by side, unless mixing is allowed.

    Parameters
    ----------
    runs
        The runs, the reference first.
    allow_mixed
        Return the differences (to be stated with the figures) instead of refusing.

    Returns
    -------
    list of str
        The differences (empty when the runs match).

    Raises
    ------
    DataError
        When two runs share a name, or (without ``allow_mixed``) differ in
        input files, demand year, ward set or engine.
    """
    names = [r.name for r in runs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        folders = [str(r.folder) for r in runs if r.name in dupes]
        raise DataError(
            f"scenario(s) {dupes} given more than once ({', '.join(folders)}): each run must be a different "
            "scenario; give each folder once"
        )
    differences = run_differences(runs)
    if differences and not allow_mixed:
        raise DataError(
            "these runs cannot be compared as plans: "
            + "; ".join(differences)
            + ". A difference in figures would mix the plan's effect with the data's or the engine's: run the "
            "scenarios again with the same data and engine, or allow mixed runs (`allow_mixed`) to set them side "
            "by side anyway (the differences are then stated with the figures)"
        )
    return differences


#: Files of a run folder that are not hashed into its manifest: the manifest itself, and the maps, which
#: ``planner maps`` may rewrite.
_UNHASHED = ("manifest.json", "maps")


def output_hashes(folder: str | os.PathLike[str]) -> dict[str, str]:
    """sha256 of every file a run wrote into its folder (but the manifest and ``maps/``), by relative path.

    Parameters
    ----------
    folder
        The run folder being written, before its manifest.

    Returns
    -------
    dict
        Relative path (``/``-separated) -> sha256, sorted.
    """
    from planner.io import sha256_file

    root = Path(folder)
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and rel.parts[0] not in _UNHASHED and not rel.name.startswith("."):
            out[rel.as_posix()] = sha256_file(path)
    return out


#: The key of ``outputs`` that holds :func:`manifest_digest`: the manifest cannot hold its own file's hash.
MANIFEST_BODY = "manifest.json#body"


def manifest_digest(manifest: dict) -> str:
    """sha256 of a manifest without its ``outputs``: its parameters, engine, inputs and times.

    Parameters
    ----------
    manifest
        A run's manifest.

    Returns
    -------
    str
        The hex digest of its canonical JSON (sorted keys).
    """
    import hashlib

    body = {k: v for k, v in manifest.items() if k != "outputs"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def check_outputs(folder: str | os.PathLike[str], manifest: dict) -> None:
    """Refuse a run folder whose files were changed, deleted or added after the run wrote them.

    Runs made before the manifest listed its outputs are not checked.

    Parameters
    ----------
    folder
        The run folder.
    manifest
        Its ``manifest.json``.

    Raises
    ------
    DataError
        Naming the files that differ from the manifest's ``outputs``.
    """
    listed = manifest.get("outputs")
    if not isinstance(listed, dict):
        return
    listed = dict(listed)
    body = listed.pop(MANIFEST_BODY, None)
    if body is not None and body != manifest_digest(manifest):
        raise DataError(
            f"{Path(folder) / 'manifest.json'}: its parameters, engine or inputs were changed after the run (they "
            "no longer match the digest it was written with), so they no longer describe its figures; "
            f"{_rerun(Path(folder))}"
        )
    now = output_hashes(folder)
    changed = sorted(k for k in listed if k in now and now[k] != listed[k])
    missing = sorted(set(listed) - set(now))
    added = sorted(set(now) - set(listed))
    if changed or missing or added:
        parts = [
            f"changed: {changed[:5]}" if changed else "",
            f"missing: {missing[:5]}" if missing else "",
            f"added: {added[:5]}" if added else "",
        ]
        raise DataError(
            f"{folder}: files differ from those the run wrote ({'; '.join(p for p in parts if p)}), so its figures "
            f"cannot be trusted; {_rerun(Path(folder))}"
        )


def check_planned_set(
    scenarios: Sequence[tuple[str, object]], folders: Sequence[str | os.PathLike[str]], *, allow_mixed: bool = False
) -> list[str]:
    """Before scenario files are run to join run folders: refuse a set that would be refused once run.

    Only what a scenario file says is compared (demand year, ward set, study area, engine name); input
    files and engine parameters are compared after the runs, as for any run set.  So a mixed set is
    refused before a run folder is written.

    Parameters
    ----------
    scenarios
        ``(source, Scenario)`` pairs of the files to run.
    folders
        The run folders they will be compared with.
    allow_mixed
        Return the differences instead of refusing them.

    Returns
    -------
    list of str
        The differences (empty when the set matches).
    """
    planned = []
    for folder in folders:
        run = _manifest_identity(Path(folder))
        engine = run.engine.split(" (")[0]
        planned.append(RunIdentity(run.folder, run.name, {}, run.demand_year, run.ward_year, engine, run.include_city))
    for source, spec in scenarios:
        s = cast("Scenario", spec)
        planned.append(RunIdentity(Path(source), s.name, {}, s.demand_year, s.ward_year, s.engine.name, s.include_city))
    return check_run_set(planned, allow_mixed=allow_mixed)


def check_run_folders(folders: Sequence[str | os.PathLike[str]], *, allow_mixed: bool = False) -> list[str]:
    """:func:`check_run_set` for run folders, from their ``manifest.json`` alone (nothing else is read).

    Parameters
    ----------
    folders
        Run folders.
    allow_mixed
        Return the differences instead of refusing them.

    Raises
    ------
    DataError
        When a folder has no readable manifest, or as :func:`check_run_set`.
    """
    return check_run_set([_manifest_identity(Path(f)) for f in folders], allow_mixed=allow_mixed)


def _manifest_identity(folder: Path) -> RunIdentity:
    manifest = folder / "manifest.json"
    try:
        meta = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DataError(
            f"{folder} is not a run folder ({manifest} cannot be read: {exc}); give folders written by `planner run`"
        ) from exc
    if not isinstance(meta, dict):
        raise DataError(f"{manifest}: not a run manifest; run the scenario again")
    return RunIdentity.from_manifest(folder, meta)


#: The run folder's travel-time matrix: one row per demand point (``point_id``), one column per station id of
#: the stations file, minutes written exactly (shortest round-trip form), ``inf`` where no counter is reachable.
MATRIX_FILE = "travel_matrix.csv"


def write_travel_matrix(matrix: TravelMatrix, folder: str | os.PathLike[str]) -> Path:
    """Write :data:`MATRIX_FILE` into a run folder (the explorer's input; see :func:`read_travel_matrix`).

    Parameters
    ----------
    matrix
        Minutes from every demand point to every station of the stations file.
    folder
        The run folder being written.

    Returns
    -------
    Path
        The file written.
    """
    path = Path(folder) / MATRIX_FILE
    frame = matrix.to_frame()
    frame.columns = frame.columns.astype(str)
    # no float_format: every value round-trips exactly, so re-scoring a plan gives the run's own figures
    frame.to_csv(path, lineterminator="\n")
    return path


def read_travel_matrix(
    folder: str | os.PathLike[str], *, points: pd.DataFrame, station_ids: Sequence[str], open_ids: Sequence[str]
) -> TravelMatrix:
    """Read and check a run folder's :data:`MATRIX_FILE`.

    Parameters
    ----------
    folder
        A run folder written by ``planner run``.
    points
        The folder's ``access_points.csv`` (``point_id``, ``minutes``, ``station_id``): the matrix must have
        one row per point in the same order.
    station_ids
        Every station id of the folder's ``stations.gpkg``, in order: the matrix's columns.
    open_ids
        The run's open counters: the minimum over their columns must give the points' minutes.

    Returns
    -------
    TravelMatrix
        The matrix, with ``inf`` where unreachable.

    Raises
    ------
    DataError
        The file is missing, or does not match the points, the stations or the run's minutes.
    """
    folder = Path(folder)
    path = folder / MATRIX_FILE
    if not path.is_file():
        raise DataError(
            f"{folder}: no {MATRIX_FILE} (minutes from every resident to every counter, which the scenario "
            f"explorer needs); run the scenario again with this version of planner to write it"
        )
    try:
        frame = pd.read_csv(path, index_col=0, dtype={0: str})
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path}: not a travel-time table ({exc}); {_rerun(folder)}") from exc
    if frame.index.name != "point_id" or list(frame.columns) != [str(s) for s in station_ids]:
        raise DataError(
            f"{path}: the columns are not point_id and the station ids of stations.gpkg in order; {_rerun(folder)}"
        )
    ids = points["point_id"].astype(str).to_numpy()
    if len(frame) != len(ids) or not np.array_equal(frame.index.astype(str).to_numpy(), ids):
        raise DataError(f"{path}: its rows are not the demand points of access_points.csv; {_rerun(folder)}")
    minutes = frame.apply(pd.to_numeric, errors="coerce").to_numpy(float)
    bad = np.isnan(minutes) | (minutes < 0)
    if bad.any():
        row, col = (int(x[0]) for x in np.nonzero(bad))
        raise DataError(
            f"{path}: row {row + 2} ({ids[row]}), column {frame.columns[col]}: "
            f"{frame.iat[row, col]!r} is not a number of minutes (0 or more, or inf); {_rerun(folder)}"
        )
    matrix = TravelMatrix(minutes, ids.astype(object), np.asarray([str(s) for s in station_ids], dtype=object))
    _check_matrix_minutes(matrix, points, open_ids, path=path)
    return matrix


def _check_matrix_minutes(matrix: TravelMatrix, points: pd.DataFrame, open_ids: Sequence[str], *, path: Path) -> None:
    """The minimum over the run's open counters must be the run's own minutes (access_points.csv, 6 digits)."""
    folder = path.parent
    pos = pd.Index(matrix.destination_ids).get_indexer([str(s) for s in open_ids])
    if len(pos) == 0 or (pos < 0).any():
        raise DataError(f"{path}: the run's open counters are not all columns of the table; {_rerun(folder)}")
    best = matrix.minutes[:, pos].min(axis=1)
    given = pd.to_numeric(points["minutes"], errors="coerce").to_numpy(float)
    wrong = np.isfinite(given) != np.isfinite(best)
    both = np.isfinite(given) & np.isfinite(best)
    wrong[both] |= ~np.isclose(best[both], given[both], rtol=1e-5, atol=1e-4)
    if wrong.any():
        row = int(np.flatnonzero(wrong)[0])
        raise DataError(
            f"{path}: point {matrix.origin_ids[row]} (row {row + 2}) has {best[row]:g} minutes to the run's "
            f"open counters, but access_points.csv says {given[row]:g}; {_rerun(folder)}"
        )
