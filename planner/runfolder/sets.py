"""Whether several runs may be set side by side: the same inputs, ward set, demand year and engine.

:func:`check_run_set` lists what differs between runs and refuses them unless mixing is allowed;
:func:`check_planned_set` does so before a scenario file is run into a set; :func:`check_run_folders`
reads the manifests of folders given on the command line.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from planner.errors import DataError
from planner.scenario import Scenario

__all__ = [
    "RunIdentity",
    "check_planned_set",
    "check_run_folders",
    "check_run_set",
    "run_differences",
]


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
