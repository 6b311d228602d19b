"""What one chunk of a sweep computes (a worker's task): closure figures, or one grid point's figures."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from planner.closures import NearestOpen
from planner.context import RunContext, counter_boroughs
from planner.errors import ScenarioError
from planner.optimise import choose_counters
from planner.scenario import Scenario
from planner.sweep.cache import cached_matrix
from planner.sweep.evaluator import Evaluator
from planner.sweep.options import _CLOSED, KINDS

logger = logging.getLogger(__name__)


#: The context of the sweep running in this process, by data directory: chunks run here (serially) share its
#: data and engines; a Dask worker in another process builds its own for each chunk.  Never kept after the
#: sweep, so a later sweep reads the data directory as it is then.
ACTIVE: dict[str, RunContext] = {}


def worker_context(data_dir: str) -> RunContext:
    """The running sweep's context when the chunk runs in its process, else a fresh one."""
    return ACTIVE.get(data_dir) or RunContext(Path(data_dir))


def eval_chunk(
    nearest: NearestOpen, closed: np.ndarray, labels: list[str], threshold: float, chunk: int
) -> tuple[int, pd.DataFrame, pd.DataFrame]:
    figures, wards = nearest.figures(closed, threshold)
    assert wards is not None
    figures.insert(0, "closed", labels)
    figures.insert(1, "n_closed", (closed >= 0).sum(axis=1))
    wards.insert(0, "chunk", chunk)
    return chunk, figures, wards


def _grid_chunk(
    data_dir: str, scenario_json: str, plans_json: str, params: dict, cache_dir: str, chunk: int
) -> tuple[int, pd.DataFrame, pd.DataFrame]:
    scenario = Scenario.model_validate_json(scenario_json)
    plans = json.loads(plans_json)
    ctx = worker_context(data_dir)
    threshold = float(params.pop("threshold", scenario.threshold))
    resolved = ctx.resolve(scenario, source="sweep", params=params)
    matrix = cached_matrix(ctx, resolved, cache_dir=cache_dir)
    london = resolved.london
    pts = resolved.points
    ev = Evaluator.from_demand(matrix, pts)
    stations = resolved.stations
    borough = counter_boroughs(stations, london.wards)
    borough.index = stations["station_id"].to_numpy()
    rows = []
    for name, open_ids in plans.items():
        fig = ev.figures(ev.mask(open_ids)[None, :], threshold).iloc[0].to_dict()
        best = choose_counters(
            matrix,
            pts,
            borough,
            threshold=threshold,
            k=len(open_ids),
            boroughs=sorted(london.study_wards["borough_code"].unique()),
        )
        rows.append(
            {
                **{f"param_{k}": v for k, v in params.items()},
                "threshold": threshold,
                "plan": name,
                **fig,
                "optimum_beyond": best.population - best.covered,
                "optimum_open": ";".join(best.open),
            }
        )
    return chunk, pd.DataFrame(rows), pd.DataFrame()


def _closures(kind: str, open_ids: list[str]) -> list[tuple[str, ...]]:
    if kind not in _CLOSED:
        raise ScenarioError(f"unknown sweep kind {kind!r}; choose {', '.join(KINDS)}")
    return [c for size in range(1, _CLOSED[kind] + 1) for c in itertools.combinations(open_ids, size)]


def _chunks(items: list, size: int) -> Iterator[tuple[int, list]]:
    for start in range(0, len(items), size):
        yield start // size, items[start : start + size]
