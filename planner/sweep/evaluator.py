"""Scoring many closure plans at once from one travel-time matrix (numpy), as :func:`planner.assess.assess` would."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from planner.closures import NearestOpen
from planner.errors import ScenarioError
from planner.stats import access_figures
from planner.travel.base import TravelMatrix

logger = logging.getLogger(__name__)


@dataclass
class Evaluator:
    """Evaluates closure plans against one travel matrix, vectorised.

    Parameters
    ----------
    minutes
        ``(points, counters)`` minutes, ``inf`` where unreachable.
    population, pop_65_plus
        Residents per point.
    counter_ids
        Column labels.
    ward_codes
        Ward of each point (for fragile-ward counts).
    """

    minutes: np.ndarray
    population: np.ndarray
    pop_65_plus: np.ndarray
    counter_ids: np.ndarray
    ward_codes: np.ndarray
    _order: np.ndarray = field(init=False, repr=False)
    _sorted: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._order = np.argsort(self.minutes, axis=1, kind="stable")
        self._sorted = np.take_along_axis(self.minutes, self._order, axis=1)
        self._pop = self.population.astype(float)
        self._total = float(self._pop.sum())

    @classmethod
    def from_demand(cls, matrix: TravelMatrix, points: pd.DataFrame) -> Evaluator:
        """An evaluator for a travel matrix whose rows are these demand points.

        Points the engine flagged (e.g. ``off-network``) are unreachable, as in :func:`planner.assess.assess`.
        """
        if not np.array_equal(matrix.origin_ids, points["point_id"].to_numpy()):
            raise ScenarioError("the travel matrix rows are not these demand points")
        return cls(
            matrix.minutes,
            points["population"].to_numpy(),
            points["pop_65_plus"].to_numpy(),
            matrix.destination_ids,
            points["ward_code"].to_numpy(),
        )

    def mask(self, open_ids: list[str] | set[str]) -> np.ndarray:
        """Boolean column mask of a set of open counters."""
        unknown = set(open_ids) - set(self.counter_ids)
        if unknown:
            raise ScenarioError(f"counters {sorted(unknown)} are not in the travel matrix")
        return np.isin(self.counter_ids, list(open_ids))

    def times(self, masks: np.ndarray) -> np.ndarray:
        """Minutes to the nearest open counter for each plan (rows of ``masks``) and point."""
        masks = np.atleast_2d(masks)
        open_sorted = masks[:, self._order]  # (plans, points, counters) in each point's order
        first = open_sorted.argmax(axis=2)
        any_open = open_sorted.any(axis=2)
        rows = np.arange(self.minutes.shape[0])
        t = self._sorted[rows[None, :], first]
        return np.where(any_open, t, np.inf)

    def figures(self, masks: np.ndarray, threshold: float) -> pd.DataFrame:
        """London-wide figures per plan (rows of ``masks``): the same as :func:`planner.assess.assess` gives."""
        return self.figures_from_times(self.times(masks), threshold)

    def nearest_open(self, plan: np.ndarray, *, closed: int) -> NearestOpen:
        """Each point's nearest open counters of ``plan``, to score closures of up to ``closed`` counters."""
        return NearestOpen.build(
            self.minutes,
            plan,
            k=closed + 1,
            population=self.population,
            pop_65_plus=self.pop_65_plus,
            ward_codes=self.ward_codes,
        )

    def closure_times(self, plan: np.ndarray, closed: np.ndarray) -> np.ndarray:
        """Minutes per point when the counters ``closed`` (rows of column indices, -1 = none) close in ``plan``.

        The reference for :class:`~planner.closures.NearestOpen`: only each point's ``k + 1`` nearest
        open counters of the plan can matter when at most ``k`` close.
        """
        closed = np.atleast_2d(closed)
        k = closed.shape[1] + 1
        open_in_order = plan[self._order]  # points x counters
        first = np.argsort(~open_in_order, axis=1, kind="stable")[:, :k]  # positions of the first k open
        top_ids = np.take_along_axis(self._order, first, axis=1)
        top_t = np.take_along_axis(self._sorted, first, axis=1)
        top_t = np.where(np.take_along_axis(open_in_order, first, axis=1), top_t, np.inf)
        t = np.full((closed.shape[0], top_ids.shape[0]), np.inf)
        for j in reversed(range(k)):  # the nearest candidate that stays open wins
            shut = np.zeros(t.shape, dtype=bool)
            for c in range(closed.shape[1]):
                shut |= top_ids[None, :, j] == closed[:, c : c + 1]
            t = np.where(shut, t, top_t[None, :, j])
        return t

    def figures_from_times(self, t: np.ndarray, threshold: float) -> pd.DataFrame:
        """London-wide figures from per-plan, per-point minutes (:func:`planner.stats.access_figures`)."""
        fig = access_figures(
            np.atleast_2d(t), self._pop, threshold=threshold, pop_65_plus=self.pop_65_plus, median=False
        )
        names = ("beyond", "pct_within", "mean_minutes", "p95_minutes", "beyond_65_plus", "unreachable")
        return pd.DataFrame({k: fig[k] for k in names})

    def ward_losses(self, t: np.ndarray, plan: np.ndarray, threshold: float) -> pd.DataFrame:
        """Per ward: in how many plans (rows of ``t``) residents lose access against ``plan``, and the most lost."""
        base = self.times(plan[None, :])[0] > threshold
        lost = ((t > threshold) & ~base[None, :]) * self._pop
        frame = pd.DataFrame(lost.T)
        frame["ward_code"] = self.ward_codes
        per_ward = frame.groupby("ward_code").sum()
        return pd.DataFrame(
            {"scenarios_losing": (per_ward > 0).sum(axis=1), "max_residents_lost": per_ward.max(axis=1)}
        ).reset_index()


def closure_index(evaluator: Evaluator, closures: list[tuple[str, ...]]) -> np.ndarray:
    """Closures as rows of column indices, padded with -1.

    Parameters
    ----------
    evaluator
        The evaluator whose counter columns the indices point at.
    closures
        Each closure's counter ids.

    Returns
    -------
    numpy.ndarray
        One row per closure (int64), ``-1`` past its last counter.
    """
    pos = {c: i for i, c in enumerate(evaluator.counter_ids)}
    width = max((len(c) for c in closures), default=1)
    out = np.full((len(closures), width), -1, dtype=np.int64)
    for row, closed in enumerate(closures):
        out[row, : len(closed)] = [pos[c] for c in closed]
    return out
