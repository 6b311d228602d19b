"""Which counters to keep: exact coverage models, and community contact sessions.

All models start from a labelled travel matrix (demand point × candidate
counter).  A resident is *covered* when some open counter is within the
threshold.  The borough rule keeps at least one open counter, to be run 24/7,
in every borough of the study area.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pulp

from planner.errors import InfeasibleError, OptionError
from planner.solvers import SolveReport, make_solver, solve
from planner.stats import check_threshold
from planner.travel.base import TravelMatrix

__all__ = ["CounterChoice", "SessionPlan", "check_choice", "choose_counters", "plan_sessions", "tradeoff"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CounterChoice:
    """An optimal set of counters.

    Attributes
    ----------
    open
        Chosen station ids, sorted.
    covered
        Residents within the threshold.
    population
        Residents in total.
    report
        Solver status, objective, bound and gap of the final solve.
    mode
        ``"min-counters"`` or ``"max-coverage"``.
    """

    open: list[str]
    covered: int
    population: int
    threshold: float
    report: SolveReport
    mode: str

    @property
    def pct_covered(self) -> float:
        return 100.0 * self.covered / self.population if self.population else float("nan")


def _setup(matrix: TravelMatrix, population: np.ndarray, threshold: float):
    threshold = check_threshold(threshold)
    cover = np.isfinite(matrix.minutes) & (matrix.minutes <= threshold)
    return cover, np.asarray(population, dtype=float)


def _explain_unreachable(cover: np.ndarray, allowed: np.ndarray, points: pd.DataFrame, threshold: float) -> str:
    lost = ~cover[:, allowed].any(axis=1)
    if not lost.any():
        return ""
    table = points.loc[lost].groupby(["ward_name", "borough_name"])["population"].sum().sort_values(ascending=False)
    top = "; ".join(f"{w} ({b}) {p:,}" for (w, b), p in table.head(10).items())
    return (
        f" {int(points.loc[lost, 'population'].sum()):,} residents in {len(table)} ward(s) cannot reach any "
        f"candidate within {threshold:g} minutes, e.g. {top}."
    )


def check_choice(*, k: int | None = None, target_pct: float | None = None) -> None:
    """Refuse a number of counters below 1 or a coverage target outside (0, 100] %.

    Raises
    ------
    OptionError
        Saying what is allowed.
    """
    if target_pct is not None and not (np.isfinite(target_pct) and 0 < target_pct <= 100):
        raise OptionError(
            f"the coverage target must be a percentage above 0 and at most 100, e.g. 99 (got {target_pct})"
        )
    if k is not None and k < 1:
        raise OptionError(f"the number of counters to keep must be at least 1 (got {k})")


def choose_counters(
    matrix: TravelMatrix,
    points: pd.DataFrame,
    counter_borough: pd.Series,
    *,
    threshold: float = 45.0,
    k: int | None = None,
    target_pct: float | None = None,
    boroughs: list[str] | None = None,
    required: list[str] | tuple[str, ...] = (),
    forbidden: list[str] | tuple[str, ...] = (),
    solver: str | pulp.LpSolver | None = None,
    gap: float = 0.0,
) -> CounterChoice:
    """Choose counters exactly: (a) the fewest reaching a coverage target, or (b) the most coverage with ``k``.

    Parameters
    ----------
    matrix
        Minutes from each demand point (rows, ``point_id``) to each candidate
        (columns, ``station_id``).
    points
        Demand points in the matrix's row order with ``population``,
        ``ward_name`` and ``borough_name``.
    counter_borough
        ``station_id`` → borough code of every candidate.
    threshold
        Minutes.
    k
        Mode (b): at most this many counters; maximise residents covered.
    target_pct
        Mode (a): at least this % of residents covered; minimise counters
        (then, among the fewest, cover the most residents).
    boroughs
        Borough codes that must each keep a counter (default: every borough
        of the candidates).
    required, forbidden
        Station ids that must, or may not, be kept.
    solver, gap
        Solver (``"cbc"``, ``"highs"`` or PuLP) and accepted relative gap.

    Returns
    -------
    CounterChoice
        The optimal choice.

    Raises
    ------
    InfeasibleError
        Explaining which rule or which residents make the target impossible.
    """
    if (k is None) == (target_pct is None):
        raise InfeasibleError("give either k (max-coverage mode) or target_pct (min-counters mode)")
    check_choice(k=k, target_pct=target_pct)
    cover, pop = _setup(matrix, points["population"].to_numpy(), threshold)
    ids = list(matrix.destination_ids)
    unknown = sorted((set(required) | set(forbidden)) - set(ids))
    if unknown:
        raise InfeasibleError(f"required/forbidden counters {unknown} are not candidates")
    both = sorted(set(required) & set(forbidden))
    if both:
        raise InfeasibleError(f"counters {both} are both required and forbidden; keep one flag")
    allowed = np.array([i not in set(forbidden) for i in ids])
    if k is not None and k > int(allowed.sum()):
        raise OptionError(
            f"k = {k} counters is more than the {int(allowed.sum())} candidates that may open "
            f"({len(ids)} candidates, {len(ids) - int(allowed.sum())} forbidden); give k of at most "
            f"{int(allowed.sum())}, or add candidates to the stations file"
        )
    borough_of = counter_borough.reindex(ids)
    need = sorted(set(boroughs if boroughs is not None else borough_of.dropna()))
    no_candidate = [b for b in need if not ((borough_of == b).to_numpy() & allowed).any()]
    if no_candidate:
        raise InfeasibleError(
            f"borough(s) {no_candidate} have no allowed candidate counter, so the rule 'every "
            "borough keeps a 24/7 counter' cannot hold; add a candidate or lift a forbidden flag."
        )
    solver_ = make_solver(solver, gap=gap)
    total = float(pop.sum())
    if target_pct is not None:
        best_possible = float(pop[cover[:, allowed].any(axis=1)].sum())
        if 100 * best_possible / total < target_pct - 1e-9:
            raise InfeasibleError(
                f"{target_pct:g}% of residents within {threshold:g} minutes is out of reach: even with all "
                f"{int(allowed.sum())} allowed candidates open only {100 * best_possible / total:.2f}% are."
                + _explain_unreachable(cover, allowed, points, threshold)
            )
        fewest = _solve(
            cover,
            pop,
            ids,
            allowed,
            borough_of,
            need,
            required,
            solver_,
            gap,
            threshold,
            k=None,
            target=target_pct / 100 * total,
        )
        k = len(fewest.open)
    # the fewest counters the rules allow: every required one, plus one in each borough without a required one
    minimum = len(set(required)) + len(set(need) - {borough_of.get(r) for r in required})
    if k < minimum:
        raise InfeasibleError(
            f"k = {k} counters cannot satisfy the rules: {len(need)} boroughs each need a 24/7 counter"
            + (f" and {len(set(required))} counters are required" if required else "")
            + f"; use k >= {minimum}."
        )
    choice = _solve(cover, pop, ids, allowed, borough_of, need, required, solver_, gap, threshold, k=k, target=None)
    return CounterChoice(
        choice.open,
        choice.covered,
        int(total),
        threshold,
        choice.report,
        "min-counters" if target_pct is not None else "max-coverage",
    )


@dataclass(frozen=True)
class _Raw:
    open: list[str]
    covered: int
    report: SolveReport


def _solve(cover, pop, ids, allowed, borough_of, need, required, solver_, gap, threshold, *, k, target) -> _Raw:
    prob = pulp.LpProblem("counters", pulp.LpMaximize if k is not None else pulp.LpMinimize)
    y = {j: pulp.LpVariable(f"y_{n}", cat="Binary") for n, j in enumerate(ids) if allowed[n]}
    rows = np.flatnonzero(cover[:, allowed].any(axis=1) & (pop > 0))
    u = {i: pulp.LpVariable(f"u_{i}", lowBound=0, upBound=1) for i in rows}
    for i in rows:
        prob += u[i] <= pulp.lpSum(y[ids[j]] for j in np.flatnonzero(cover[i]) if ids[j] in y)
    covered = pulp.lpSum(float(pop[i]) * u[i] for i in rows)
    if k is not None:
        prob += covered
        prob += pulp.lpSum(y.values()) <= k
    else:
        prob += pulp.lpSum(y.values())
        prob += covered >= target - 1e-6
        for i in rows:  # with a count objective, u must be integral to count whole residents
            u[i].cat = pulp.LpBinary
    for b in need:
        prob += pulp.lpSum(v for j, v in y.items() if borough_of.get(j) == b) >= 1
    for r in required:
        prob += y[r] == 1
    what = f"counter choice ({'k=' + str(k) if k is not None else 'coverage target'}, {threshold:g} min)"
    report = solve(prob, solver_, gap=gap, what=what)
    if report.status == "infeasible":
        raise InfeasibleError(f"{what}: no choice satisfies the borough rule, the required counters and k together")
    chosen = sorted(j for j, v in y.items() if v.value() > 0.5)
    mask = np.isin(ids, chosen)
    got = int(pop[cover[:, mask].any(axis=1)].sum())
    return _Raw(chosen, got, report)


def tradeoff(
    matrix: TravelMatrix,
    points: pd.DataFrame,
    counter_borough: pd.Series,
    *,
    threshold: float = 45.0,
    k_values: list[int] | None = None,
    **options: object,
) -> pd.DataFrame:
    """Mode (c): the most residents covered for each number of counters ``k``.

    Returns
    -------
    pandas.DataFrame
        ``k``, ``covered``, ``pct_covered``, ``open`` (ids joined with ``;``).
    """
    need = len(set(counter_borough.dropna()) if options.get("boroughs") is None else options["boroughs"])  # type: ignore[arg-type]
    ks = k_values or list(range(need, matrix.minutes.shape[1] + 1))
    rows = []
    for k in ks:
        c = choose_counters(matrix, points, counter_borough, threshold=threshold, k=k, **options)  # type: ignore[arg-type]
        rows.append({"k": k, "covered": c.covered, "pct_covered": c.pct_covered, "open": ";".join(c.open)})
        if c.covered == c.population:
            break
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class SessionPlan:
    """Community contact sessions for residents beyond the threshold.

    Attributes
    ----------
    sites
        Chosen sites: ``site_id``, ``name``, ``residents`` newly covered
        (each resident counted at the first site that covers them, sites
        ordered by that count), ``points``.
    sessions_needed
        How many sites it takes to cover every coverable resident.
    uncovered
        Residents beyond the threshold before sessions.
    not_coverable
        Residents no candidate site reaches within the threshold.
    """

    sites: pd.DataFrame
    sessions_needed: int
    uncovered: int
    not_coverable: int
    report: SolveReport | None


def plan_sessions(
    matrix: TravelMatrix,
    population: pd.Series,
    names: pd.Series,
    *,
    threshold: float = 45.0,
    solver: str | pulp.LpSolver | None = None,
) -> SessionPlan:
    """The fewest session sites that bring every coverable resident within the threshold.

    Parameters
    ----------
    matrix
        Minutes from each uncovered demand point to each candidate site.
    population
        Residents per point (indexed by ``point_id``).
    names
        Display name per site id.
    threshold
        Minutes.
    solver
        As for :func:`choose_counters`.
    """
    pop = population.reindex(matrix.origin_ids).to_numpy(float)
    threshold = check_threshold(threshold)
    cover = np.isfinite(matrix.minutes) & (matrix.minutes <= threshold)
    reach = cover.any(axis=1)
    uncovered = int(pop.sum())
    not_coverable = int(pop[~reach].sum())
    rows = np.flatnonzero(reach)
    if len(rows) == 0:
        empty = pd.DataFrame(columns=["site_id", "name", "residents", "points"])
        return SessionPlan(empty, 0, uncovered, not_coverable, None)
    prob = pulp.LpProblem("sessions", pulp.LpMinimize)
    ids = list(matrix.destination_ids)
    z = {j: pulp.LpVariable(f"z_{n}", cat="Binary") for n, j in enumerate(ids) if cover[rows, n].any()}
    prob += pulp.lpSum(z.values())
    for i in rows:
        prob += pulp.lpSum(z[ids[j]] for j in np.flatnonzero(cover[i])) >= 1
    report = solve(prob, make_solver(solver), gap=0.0, what="contact-session sites")
    chosen = [j for j in ids if j in z and z[j].value() > 0.5]
    left = set(rows.tolist())
    out = []
    while left:
        gains = {j: sum(pop[i] for i in left if cover[i, ids.index(j)]) for j in chosen if j not in {o[0] for o in out}}
        best = max(sorted(gains), key=lambda j: gains[j])
        got = {i for i in left if cover[i, ids.index(best)]}
        out.append((best, names.get(best, best), int(sum(pop[i] for i in got)), len(got)))
        left -= got
    sites = pd.DataFrame(out, columns=["site_id", "name", "residents", "points"])
    return SessionPlan(sites, len(chosen), uncovered, not_coverable, report)
