"""The run folder's travel-time matrix (``travel_matrix.csv``), which the scenario explorer re-scores.

One row per demand point (``point_id``), one column per station id of the stations file, minutes written
exactly (shortest round-trip form), ``inf`` where no counter is reachable.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from planner.errors import DataError
from planner.runfolder.checks import rerun_hint
from planner.runfolder.files import MATRIX_FILE
from planner.travel.base import TravelMatrix

__all__ = [
    "read_travel_matrix",
    "write_travel_matrix",
]


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
        raise DataError(f"{path}: not a travel-time table ({exc}); {rerun_hint(folder)}") from exc
    if frame.index.name != "point_id" or list(frame.columns) != [str(s) for s in station_ids]:
        raise DataError(
            f"{path}: the columns are not point_id and the station ids of stations.gpkg in order; {rerun_hint(folder)}"
        )
    ids = points["point_id"].astype(str).to_numpy()
    if len(frame) != len(ids) or not np.array_equal(frame.index.astype(str).to_numpy(), ids):
        raise DataError(f"{path}: its rows are not the demand points of access_points.csv; {rerun_hint(folder)}")
    minutes = frame.apply(pd.to_numeric, errors="coerce").to_numpy(float)
    bad = np.isnan(minutes) | (minutes < 0)
    if bad.any():
        row, col = (int(x[0]) for x in np.nonzero(bad))
        raise DataError(
            f"{path}: row {row + 2} ({ids[row]}), column {frame.columns[col]}: "
            f"{frame.iat[row, col]!r} is not a number of minutes (0 or more, or inf); {rerun_hint(folder)}"
        )
    matrix = TravelMatrix(minutes, ids.astype(object), np.asarray([str(s) for s in station_ids], dtype=object))
    _check_matrix_minutes(matrix, points, open_ids, path=path)
    return matrix


def _check_matrix_minutes(matrix: TravelMatrix, points: pd.DataFrame, open_ids: Sequence[str], *, path: Path) -> None:
    """The minimum over the run's open counters must be the run's own minutes (access_points.csv, 6 digits)."""
    folder = path.parent
    pos = pd.Index(matrix.destination_ids).get_indexer([str(s) for s in open_ids])
    if len(pos) == 0 or (pos < 0).any():
        raise DataError(f"{path}: the run's open counters are not all columns of the table; {rerun_hint(folder)}")
    best = matrix.minutes[:, pos].min(axis=1)
    given = pd.to_numeric(points["minutes"], errors="coerce").to_numpy(float)
    wrong = np.isfinite(given) != np.isfinite(best)
    both = np.isfinite(given) & np.isfinite(best)
    wrong[both] |= ~np.isclose(best[both], given[both], rtol=1e-5, atol=1e-4)
    if wrong.any():
        row = int(np.flatnonzero(wrong)[0])
        raise DataError(
            f"{path}: point {matrix.origin_ids[row]} (row {row + 2}) has {best[row]:g} minutes to the run's "
            f"open counters, but access_points.csv says {given[row]:g}; {rerun_hint(folder)}"
        )
