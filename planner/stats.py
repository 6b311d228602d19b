"""Population-weighted access figures: the one place they are computed.

Every part of planner that reports how many residents are beyond a
threshold (the assessment, the comparison of runs, the sweeps) calls
:func:`access_figures`, so they count residents the same way:

- a resident is *reachable* when their time is finite and the engine did not
  mark them unreachable (for example ``off-network``);
- a resident is *beyond* the threshold when unreachable or when their time is
  strictly greater than the threshold (exactly at it is within);
- the mean is over reachable residents only;
- the median and 95th percentile are over every resident, unreachable ones
  counting as an infinite time (so a p95 of ``inf`` means more than 5 % of
  residents reach no counter), with the ``inverted_cdf`` rule: the smallest
  time with at least that share of residents at or below it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from planner.errors import OptionError

__all__ = ["FIGURES", "access_figures", "beyond", "check_threshold", "weighted_quantile"]

#: The figures :func:`access_figures` returns, in order.
FIGURES = (
    "population",
    "beyond",
    "pct_within",
    "mean_minutes",
    "median_minutes",
    "p95_minutes",
    "beyond_65_plus",
    "unreachable",
)


#: The longest threshold: no planned journey to a counter takes longer (a larger figure is seconds or hours).
MAX_THRESHOLD_MIN = 240.0
#: The shortest threshold: one minute (a figure below is hours typed for minutes, 0.75 for 45).
MIN_THRESHOLD_MIN = 1.0


def check_threshold(value: object, *, what: str = "threshold") -> float:
    """A travel-time threshold as a float, refused unless finite and positive.

    Parameters
    ----------
    value
        Minutes.
    what
        How to name the value in the error message (an option or a field).

    Returns
    -------
    float
        The threshold.

    Raises
    ------
    OptionError
        If the value is not a number, not finite (``nan``, ``inf``), not
        greater than zero or above :data:`MAX_THRESHOLD_MIN`.
    """
    if isinstance(value, bool):
        raise OptionError(f"{what} must be a number of minutes, not {value!r}")
    try:
        minutes = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise OptionError(f"{what} must be a number of minutes (got {value!r})") from exc
    if not math.isfinite(minutes) or minutes <= 0:
        raise OptionError(f"{what} must be a positive, finite number of minutes, e.g. 45 (got {value!r})")
    if minutes < MIN_THRESHOLD_MIN:
        raise OptionError(
            f"{what} {value!r} minutes is {minutes * 60:g} seconds, less than any walk to a counter (hours? "
            f"{value!r} h is {minutes * 60:g} minutes); give minutes, e.g. 45"
        )
    if minutes > MAX_THRESHOLD_MIN:
        raise OptionError(
            f"{what} {value!r} minutes is {minutes / 60:g} hours, more than the {MAX_THRESHOLD_MIN:g} minutes any "
            f"journey to a counter takes (seconds? {value!r} s is {minutes / 60:g} minutes); give minutes, e.g. 45"
        )
    return minutes


def beyond(minutes: np.ndarray, threshold: float, reachable: np.ndarray | None = None) -> np.ndarray:
    """Which residents are beyond the threshold: unreachable, or strictly more than ``threshold`` minutes away.

    Parameters
    ----------
    minutes
        Minutes per point (or per plan and point); ``inf`` or NaN where unreachable.
    threshold
        Minutes.
    reachable
        Points the engine could place on its network (default: all).
    """
    t = np.asarray(minutes, dtype=float)
    ok = np.isfinite(t)
    if reachable is not None:
        ok &= np.asarray(reachable, dtype=bool)
    return ~ok | (t > threshold)


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float | np.ndarray):
    """Population-weighted quantile: the smallest value with at least ``q`` of the weight at or below it.

    This is :func:`numpy.quantile` with ``method="inverted_cdf"`` and weights.  For 2-D values
    (one row per plan, as in the sweeps) the same arithmetic is done for all rows at once, because
    NumPy loops over rows in Python there; a test checks that both give the same values.

    Parameters
    ----------
    values
        Values; NaN counts as ``inf`` (sorted last).  1-D over points, or 2-D with one row per
        plan and one column per point.
    weights
        Non-negative weights, one per point.
    q
        Quantile(s) in [0, 1].

    Returns
    -------
    float or numpy.ndarray
        Shaped like :func:`numpy.quantile`'s result (quantiles first, then rows); NaN when the
        weights sum to zero.
    """
    values = np.asarray(values, dtype=float)
    weights = np.asarray(weights, dtype=float)
    if np.isnan(values).any():
        values = np.where(np.isnan(values), np.inf, values)
    if weights.size == 0 or weights.sum() <= 0:
        out = np.full(np.shape(q) + values.shape[:-1], np.nan)
        return float(out) if out.ndim == 0 else out
    if values.ndim == 1:
        result = np.quantile(values, q, weights=weights, method="inverted_cdf")
        return float(result) if np.ndim(result) == 0 else result
    if values.ndim != 2:
        raise ValueError(f"values must be 1-D or 2-D (plans x points), not {values.ndim}-D")
    # numpy's weighted inverted_cdf, vectorised over rows: sort, normalised cumulative weights,
    # then the first position whose share reaches q (leading zero-weight positions never count)
    order = np.argsort(values, axis=1)  # ties share a value, so their order cannot change the result
    ordered = np.take_along_axis(values, order, axis=1)
    cdf = np.cumsum(weights[order], axis=1, dtype=np.float64)
    cdf /= cdf[:, -1:]
    cdf[cdf == 0] = -1
    qs = np.atleast_1d(np.asarray(q, dtype=np.float64))
    rows = np.arange(values.shape[0])
    result = np.stack(
        [ordered[rows, np.minimum((cdf < x).sum(axis=1), values.shape[1] - 1)] for x in qs.ravel()]
    ).reshape(qs.shape + values.shape[:1])
    return result if np.ndim(q) else result[0]


def access_figures(
    minutes: np.ndarray,
    population: np.ndarray,
    *,
    threshold: float,
    pop_65_plus: np.ndarray | None = None,
    reachable: np.ndarray | None = None,
    median: bool = True,
    groups: Mapping[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Population-weighted figures for residents' minutes to the nearest open counter.

    Parameters
    ----------
    minutes
        Minutes per point (1-D), or per plan and point (2-D, plans in rows).
        ``inf`` or NaN where no counter is reachable.
    population
        Residents per point.
    threshold
        Minutes; a resident exactly at the threshold is within it.
    pop_65_plus
        Residents aged 65 and over per point (default: none).
    reachable
        Points the engine could place on its network, per point (default:
        all); a point marked False is unreachable whatever its time.
    median
        Also compute the median (the sweeps, which report only the 95th
        percentile, skip it for speed).
    groups
        Residents of each resident group per point (1-D minutes only; see
        :mod:`planner.equality`): adds ``groups``, group -> ``residents`` and
        ``beyond`` (floats: groups from Census shares are estimates).

    Returns
    -------
    dict
        The figures named in :data:`FIGURES`: ``population``, ``beyond``,
        ``beyond_65_plus`` and ``unreachable`` (residents, integers),
        ``pct_within`` (%), ``mean_minutes`` (over reachable residents),
        ``median_minutes`` and ``p95_minutes``.  Scalars for 1-D minutes,
        arrays with one value per plan for 2-D minutes.
    """
    threshold = check_threshold(threshold)
    t = np.asarray(minutes, dtype=float)
    pop = np.asarray(population, dtype=float)
    old = np.zeros_like(pop) if pop_65_plus is None else np.asarray(pop_65_plus, dtype=float)
    ok = np.isfinite(t)
    if reachable is not None:
        ok &= np.asarray(reachable, dtype=bool)
    everyone = bool(ok.all())
    if not everyone:
        t = np.where(ok, t, np.inf)  # unreachable: inf, whatever time the engine gave
    out_of_reach = t > threshold  # inf > threshold: the same rule as beyond()
    total = float(pop.sum())
    beyond_pop = out_of_reach @ pop
    reach_pop = ok @ pop
    with np.errstate(invalid="ignore", divide="ignore"):
        weighted = (t if everyone else np.where(ok, t, 0.0)) @ pop
        mean = np.where(reach_pop > 0, weighted / np.where(reach_pop > 0, reach_pop, 1), np.nan)
        pct = 100.0 * (1.0 - beyond_pop / total) if total > 0 else np.full(np.shape(beyond_pop), np.nan)
    qs = [0.5, 0.95] if median else [0.95]
    quantiles = weighted_quantile(t, pop, np.array(qs))
    out: dict[str, np.ndarray | float | int] = {
        "population": np.full(np.shape(beyond_pop), round(total), dtype=np.int64),
        "beyond": np.rint(beyond_pop).astype(np.int64),
        "pct_within": pct,
        "mean_minutes": mean,
        "median_minutes": quantiles[0],
        "p95_minutes": quantiles[-1],
        "beyond_65_plus": np.rint(out_of_reach @ old).astype(np.int64),
        "unreachable": np.rint(~ok @ pop).astype(np.int64),
    }
    if not median:
        del out["median_minutes"]
    if groups is not None and t.ndim != 1:
        raise ValueError("group figures are computed for one plan at a time (1-D minutes)")
    if t.ndim == 1:
        scalars: dict[str, Any] = {
            k: (int(v) if np.issubdtype(np.asarray(v).dtype, np.integer) else float(v)) for k, v in out.items()
        }
        if groups is not None:
            scalars["groups"] = {
                key: {"residents": float(np.sum(g)), "beyond": float(out_of_reach @ np.asarray(g, dtype=float))}
                for key, g in groups.items()
            }
        return scalars
    return out
