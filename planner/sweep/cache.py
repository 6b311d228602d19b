"""The sweep's travel-time matrices on disk (``.npz``), keyed by a hash of every input they depend on."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np

from planner.context import ResolvedScenario, RunContext
from planner.travel.base import TravelMatrix, require_coverage

logger = logging.getLogger(__name__)


def _matrix_key(resolved: ResolvedScenario) -> str:
    stations = resolved.stations
    xy = np.column_stack([stations.geometry.x, stations.geometry.y]).round(2).tolist()
    key = {
        "inputs": resolved.input_key(),
        "stations": list(stations["station_id"]),
        "xy": xy,
        "format": 3,  # 3: street graphs measured in planar EPSG:27700 whichever reader built them
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()[:20]


def cached_matrix(ctx: RunContext, resolved: ResolvedScenario, *, cache_dir: str | os.PathLike[str]) -> TravelMatrix:
    """The scenario's points × stations matrix, from ``cache_dir`` or computed and stored there.

    The file name is a hash of every data file the matrix is read from, the engine and its
    parameters, the counters and the package version
    (:meth:`planner.context.ResolvedScenario.input_key`).  Origins the engine flagged
    (``off-network``) keep their flag and are unreachable.

    Parameters
    ----------
    ctx
        Shared data and engines (computes the matrix when the cache has none).
    resolved
        The scenario, resolved with any engine parameters of a grid point.
    cache_dir
        Folder of ``matrix-<hash>.npz`` files.

    Returns
    -------
    TravelMatrix
        Minutes from every demand point to every station of the scenario's table.
    """
    path = Path(cache_dir) / f"matrix-{_matrix_key(resolved)}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as z:
            matrix = TravelMatrix(
                z["minutes"],
                z["origin_ids"].astype(object),
                z["destination_ids"].astype(object),
                z["origin_flags"].astype(object),
            )
    else:
        matrix = ctx.matrix(resolved)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(
            tmp,
            minutes=matrix.minutes,
            origin_ids=matrix.origin_ids.astype(str),
            destination_ids=matrix.destination_ids.astype(str),
            origin_flags=matrix.origin_flags.astype(str),
        )
        os.replace(tmp, path)
    require_coverage(resolved.points["population"].to_numpy(), matrix.minutes, engine=resolved.scenario.engine.name)
    return matrix
