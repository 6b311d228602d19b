"""Sensitivity and closure sweeps on Dask.

The origin × counter travel matrix is computed once per engine setting and cached on disk (``.npz``,
keyed by a hash of every input it depends on: :mod:`~planner.sweep.cache`).  A closure plan is then
scored from each point's nearest open counters (:class:`planner.closures.NearestOpen`,
:class:`~planner.sweep.evaluator.Evaluator`), which gives the same figures as
:func:`planner.assess.assess`.

A sweep is planned (its scenarios, split into chunks, and the folder named by a hash of its definition
and inputs: :mod:`~planner.sweep.run`), executed (chunks on Dask: a local cluster on this machine's
cores by default, or an existing cluster with ``scheduler=``; each finished chunk is written to Parquet
at once, so an interrupted sweep resumes without recomputing finished chunks:
:mod:`~planner.sweep.cluster`), and collected into tables.
"""

from planner.sweep.cache import cached_matrix
from planner.sweep.cluster import close_client, connect
from planner.sweep.evaluator import Evaluator, closure_index
from planner.sweep.options import GRID_PARAMS, KINDS, grid_from_options
from planner.sweep.run import SweepResult, run_sweep

__all__ = [
    "GRID_PARAMS",
    "KINDS",
    "Evaluator",
    "SweepResult",
    "cached_matrix",
    "close_client",
    "closure_index",
    "connect",
    "grid_from_options",
    "run_sweep",
]
