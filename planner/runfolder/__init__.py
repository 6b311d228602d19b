"""The run folder: one owner for its file names, its writer, its one strict reader and its checks.

``planner run`` writes one folder per scenario (:func:`write_run`, staged then renamed by
:func:`planner.run.run_scenario`); ``compare``, ``report``, ``maps`` and the explorer read it back only
through :func:`read_run_outputs` (or :func:`load_run`, the same checks giving a
:class:`ScenarioRun`), which refuses a folder that is incomplete, edited after the run or part of a
mixed set, naming the file.

Modules: :mod:`~planner.runfolder.files` (the file names), :mod:`~planner.runfolder.write`,
:mod:`~planner.runfolder.read`, :mod:`~planner.runfolder.checks` (the tables' figures),
:mod:`~planner.runfolder.hashes` (every file's sha256), :mod:`~planner.runfolder.matrix` (the
explorer's travel-time matrix) and :mod:`~planner.runfolder.sets` (which runs may be set side by side).
"""

from planner.runfolder.checks import check_points, check_summary, check_tables, rerun_hint
from planner.runfolder.files import (
    ACCESS_GPKG,
    COUNTERS_FILE,
    HUBS_DIR,
    LONDON_FILE,
    MANIFEST_FILE,
    MAPS_DIR,
    MATRIX_FILE,
    MATRIX_MAX_STATIONS,
    POINTS_FILE,
    POSTCODES_FILE,
    STATIONS_GPKG,
    SUMMARY_FILE,
    boroughs_file,
    equality_file,
    equality_wards_file,
    wards_file,
)
from planner.runfolder.hashes import MANIFEST_BODY, check_outputs, manifest_digest, output_hashes
from planner.runfolder.matrix import read_travel_matrix, write_travel_matrix
from planner.runfolder.model import ScenarioRun, engine_label
from planner.runfolder.read import (
    RunOutputs,
    SweepOutputs,
    check_run_outputs,
    check_sweeps,
    load_run,
    read_manifest,
    read_run_outputs,
    read_sweep,
    sweep_differences,
)
from planner.runfolder.sets import RunIdentity, check_planned_set, check_run_folders, check_run_set, run_differences
from planner.runfolder.write import run_manifest, run_summary, write_run

__all__ = [
    "ACCESS_GPKG",
    "COUNTERS_FILE",
    "HUBS_DIR",
    "LONDON_FILE",
    "MANIFEST_BODY",
    "MANIFEST_FILE",
    "MAPS_DIR",
    "MATRIX_FILE",
    "MATRIX_MAX_STATIONS",
    "POINTS_FILE",
    "POSTCODES_FILE",
    "STATIONS_GPKG",
    "SUMMARY_FILE",
    "RunIdentity",
    "RunOutputs",
    "ScenarioRun",
    "SweepOutputs",
    "boroughs_file",
    "check_outputs",
    "check_planned_set",
    "check_points",
    "check_run_folders",
    "check_run_outputs",
    "check_run_set",
    "check_summary",
    "check_sweeps",
    "check_tables",
    "engine_label",
    "equality_file",
    "equality_wards_file",
    "load_run",
    "manifest_digest",
    "output_hashes",
    "read_manifest",
    "read_run_outputs",
    "read_sweep",
    "read_travel_matrix",
    "rerun_hint",
    "run_differences",
    "run_manifest",
    "run_summary",
    "sweep_differences",
    "wards_file",
    "write_run",
    "write_travel_matrix",
]
