"""Which counters to keep: exact coverage models, and community contact sessions.

All models start from a labelled travel matrix (demand point × candidate
counter).  A resident is *covered* when some open counter is within the
threshold.  The borough rule keeps at least one open counter, to be run 24/7,
in every borough of the study area.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pulp

from planner.errors import InfeasibleError, OptionError, SolverError
from planner.solvers import SolveReport, make_solver, solve
from planner.stats import check_threshold
from planner.travel.base import TravelMatrix

__all__ = [
    "CounterChoice",
    "SessionPlan",
    "check_choice",
    "choose_counters",
    "group_ratios",
    "plan_sessions",
    "tradeoff",
]

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
    ratios
        Group -> disproportion ratio of the plan (share beyond over everyone's; None when nobody is
        beyond), for the groups the model was given.
    """

    open: list[str]
    covered: int
    population: int
    threshold: float
    report: SolveReport
    mode: str
    ratios: dict[str, float | None] = field(default_factory=dict)

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


def check_choice(
    *, k: int | None = None, target_pct: float | None = None, max_disproportion: float | None = None
) -> None:
    """Refuse a number of counters below 1, a coverage target outside (0, 100] % or a ratio bound below 1.

    Parameters
    ----------
    k
        The number of counters to keep.
    target_pct
        The share of residents to cover (%).
    max_disproportion
        The largest disproportion ratio allowed for any group.

    Raises
    ------
    OptionError
        Saying what is allowed.
    """
    if target_pct is not None:
        if isinstance(target_pct, bool) or not isinstance(target_pct, int | float):
            raise OptionError(f"`target_pct` must be a percentage, e.g. 99 (got {target_pct!r})")
        if not (np.isfinite(target_pct) and 0 < target_pct <= 100):
            raise OptionError(
                f"the coverage target must be a percentage above 0 and at most 100, e.g. 99 (got {target_pct})"
            )
        if target_pct <= 1:
            raise OptionError(
                f"`target_pct` {target_pct:g} is a percentage, so {target_pct:g}% of residents; a share typed as a "
                f"fraction? give {target_pct * 100:g} for {target_pct * 100:g}%"
            )
    if k is not None:
        if isinstance(k, bool) or not isinstance(k, int | np.integer):
            raise OptionError(f"`k`, the number of counters to keep, must be a whole number (got {k!r})")
        if k < 1:
            raise OptionError(f"the number of counters to keep must be at least 1 (got {k})")
    if max_disproportion is not None and not (np.isfinite(max_disproportion) and max_disproportion >= 1):
        raise OptionError(
            f"max_disproportion must be a ratio of at least 1, e.g. 1.2: a group's share beyond the "
            f"threshold over everyone's cannot be held below 1 for every group (got {max_disproportion})"
        )


def _fair_groups(
    groups: pd.DataFrame | None, max_disproportion: float | None, points: pd.DataFrame
) -> tuple[np.ndarray, list[str]] | None:
    """Check the fairness rule's inputs: residents per point (the matrix's rows) per group."""
    if max_disproportion is None:
        if groups is not None:
            raise OptionError("`groups` are only used with `max_disproportion`; give both or neither")
        return None
    check_choice(max_disproportion=max_disproportion)
    if groups is None or groups.shape[1] == 0:
        raise OptionError("max_disproportion needs groups: residents per demand point of each group")
    if len(groups) != len(points):
        raise OptionError(f"`groups` has {len(groups)} rows but there are {len(points)} demand points")
    values = groups.drop(columns=[c for c in groups.columns if c == "all"]).to_numpy(float)
    pop = points["population"].to_numpy(float)
    if not np.isfinite(values).all() or (values < 0).any() or (values > pop[:, None] + 1e-6).any():
        raise OptionError("`groups` must hold residents between 0 and each point's population")
    names = [c for c in groups.columns if c != "all"]
    keep = values.sum(axis=0) > 0  # a group without residents has no ratio to hold down
    return values[:, keep], [n for n, k in zip(names, keep, strict=True) if k]


def group_ratios(covered: np.ndarray, pop: np.ndarray, groups: np.ndarray, names: list[str]) -> dict[str, float | None]:
    """Each group's share of residents beyond over everyone's share.

    Parameters
    ----------
    covered
        Per demand point: is it within the threshold of an open counter.
    pop, groups
        Residents per point, and per point and group (one column per name).
    names
        The groups' keys.

    Returns
    -------
    dict
        Group -> ratio; None when nobody is beyond, or for a group without residents.
    """
    beyond = ~np.asarray(covered, dtype=bool)
    share_all = pop[beyond].sum() / pop.sum()
    out: dict[str, float | None] = {}
    for g, name in enumerate(names):
        residents = groups[:, g].sum()
        out[name] = None if share_all <= 0 or residents <= 0 else float(groups[beyond, g].sum() / residents / share_all)
    return out


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
    groups: pd.DataFrame | None = None,
    max_disproportion: float | None = None,
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
        Default: CBC, or HiGHS with ``max_disproportion`` (CBC takes minutes
        on that model where HiGHS takes seconds).
    groups
        Residents of each equality group per demand point (the matrix's row
        order; one column per group, e.g. :attr:`GroupResidents.table
        <planner.equality.GroupResidents.table>`; a column ``all`` is ignored).
    max_disproportion
        Keep every group's disproportion ratio (its share of residents
        beyond the threshold over everyone's) at or below this, e.g. 1.2.
        Needs ``groups``.  Groups without residents are not bound.

    Returns
    -------
    CounterChoice
        The optimal choice (with each group's ratio when ``groups`` is given).

    Raises
    ------
    InfeasibleError
        Explaining which rule or which residents make the target impossible.
    """
    if (k is None) == (target_pct is None):
        raise InfeasibleError("give either k (max-coverage mode) or target_pct (min-counters mode)")
    check_choice(k=k, target_pct=target_pct)
    fair = _fair_groups(groups, max_disproportion, points)
    model = _model(matrix, points, counter_borough, threshold, boroughs, required, forbidden, solver, gap, fair)
    model = dataclasses.replace(model, fair=None if fair is None else (*fair, float(max_disproportion)))  # type: ignore[arg-type]
    total = float(model.pop.sum())
    if k is not None and k > int(model.allowed.sum()):
        raise OptionError(
            f"k = {k} counters is more than the {int(model.allowed.sum())} candidates that may open "
            f"({len(model.ids)} candidates, {len(model.ids) - int(model.allowed.sum())} forbidden); give k of "
            f"at most {int(model.allowed.sum())}, or add candidates to the stations file"
        )
    if target_pct is not None:
        _check_reachable(model, points, target_pct)
        k = len(_solve(model, k=None, target=target_pct / 100 * total).open)
    # the fewest counters the rules allow: every required one, plus one in each borough without a required one
    minimum = len(set(required)) + len(set(model.need) - {model.borough_of.get(r) for r in required})
    if k < minimum:
        raise InfeasibleError(
            f"k = {k} counters cannot satisfy the rules: {len(model.need)} boroughs each need a 24/7 counter"
            + (f" and {len(set(required))} counters are required" if required else "")
            + f"; use k >= {minimum}."
        )
    choice = _solve(model, k=k, target=None)
    mask = np.isin(model.ids, choice.open)
    ratios = {} if fair is None else group_ratios(model.cover[:, mask].any(axis=1), model.pop, *fair)
    mode = "min-counters" if target_pct is not None else "max-coverage"
    return CounterChoice(choice.open, choice.covered, int(total), threshold, choice.report, mode, ratios)


@dataclass(frozen=True)
class _Model:
    """The inputs of one counter-choice model, checked."""

    cover: np.ndarray
    pop: np.ndarray
    ids: list[str]
    allowed: np.ndarray
    borough_of: pd.Series
    need: list[str]
    required: tuple[str, ...]
    solver: pulp.LpSolver
    gap: float
    threshold: float
    fair: tuple[np.ndarray, list[str], float] | None = None


def _model(matrix, points, counter_borough, threshold, boroughs, required, forbidden, solver, gap, fair) -> _Model:
    cover, pop = _setup(matrix, points["population"].to_numpy(), threshold)
    ids = list(matrix.destination_ids)
    unknown = sorted((set(required) | set(forbidden)) - set(ids))
    if unknown:
        raise InfeasibleError(f"required/forbidden counters {unknown} are not candidates")
    both = sorted(set(required) & set(forbidden))
    if both:
        raise InfeasibleError(f"counters {both} are both required and forbidden; keep one flag")
    allowed = np.array([i not in set(forbidden) for i in ids])
    borough_of = counter_borough.reindex(ids)
    need = sorted(set(boroughs if boroughs is not None else borough_of.dropna()))
    no_candidate = [b for b in need if not ((borough_of == b).to_numpy() & allowed).any()]
    if no_candidate:
        raise InfeasibleError(
            f"borough(s) {no_candidate} have no allowed candidate counter, so the rule 'every "
            "borough keeps a 24/7 counter' cannot hold; add a candidate or lift a forbidden flag."
        )
    solver_ = make_solver(solver if solver is not None or fair is None else "highs", gap=gap)
    return _Model(cover, pop, ids, allowed, borough_of, need, tuple(required), solver_, gap, check_threshold(threshold))


def _check_reachable(model: _Model, points: pd.DataFrame, target_pct: float) -> None:
    total = float(model.pop.sum())
    best_possible = float(model.pop[model.cover[:, model.allowed].any(axis=1)].sum())
    if 100 * best_possible / total < target_pct - 1e-9:
        raise InfeasibleError(
            f"{target_pct:g}% of residents within {model.threshold:g} minutes is out of reach: even with all "
            f"{int(model.allowed.sum())} allowed candidates open only {100 * best_possible / total:.2f}% are."
            + _explain_unreachable(model.cover, model.allowed, points, model.threshold)
        )


@dataclass(frozen=True)
class _Raw:
    open: list[str]
    covered: int
    report: SolveReport


def _covered_terms(
    prob: pulp.LpProblem, model: _Model, y: dict, *, binary: bool
) -> list[tuple[pulp.LpVariable, np.ndarray]]:
    """One covered-residents variable per demand point, or per distinct set of covering candidates.

    Without the fairness rule, ``u <= sum(y)`` is enough: the objective pushes ``u`` up.  The rule
    can gain from a covered resident counted as beyond, so there ``u >= y`` too makes ``u`` exactly
    "covered"; points covered by the same candidates then share one variable.
    """
    cover, pop = model.cover, model.pop
    rows = np.flatnonzero(cover[:, model.allowed].any(axis=1) & (pop > 0))
    members: dict[object, list[int]] = {}
    for i in rows:
        members.setdefault(cover[i].tobytes() if model.fair is not None else i, []).append(int(i))
    terms = []
    for group in members.values():
        first = group[0]
        u = pulp.LpVariable(f"u_{first}", lowBound=0, upBound=1, cat=pulp.LpBinary if binary else pulp.LpContinuous)
        covering = [y[model.ids[j]] for j in np.flatnonzero(cover[first]) if model.ids[j] in y]
        prob += u <= pulp.lpSum(covering)
        if model.fair is not None:
            for v in covering:
                prob += u >= v
        terms.append((u, np.array(group)))
    return terms


def _fairness(prob: pulp.LpProblem, model: _Model, terms: list[tuple[pulp.LpVariable, np.ndarray]]) -> None:
    """Each group's share beyond at most ``ratio`` times everyone's, as one linear row per group.

    With C and C_g the residents covered (all, and the group's), P and G their totals and R the ratio:
    (G - C_g) / G <= R (P - C) / P, times P: R C - (P / G) C_g <= (R - 1) P.
    """
    groups, names, ratio = model.fair  # type: ignore[misc]
    total = float(model.pop.sum())
    for g, name in enumerate(names):
        scale = total / float(groups[:, g].sum())
        prob += (
            pulp.lpSum(float(ratio * model.pop[m].sum() - scale * groups[m, g].sum()) * u for u, m in terms)
            <= (ratio - 1) * total,
            f"fair_{name}",
        )


def _solve(model: _Model, *, k: int | None, target: float | None) -> _Raw:
    prob = pulp.LpProblem("counters", pulp.LpMaximize if k is not None else pulp.LpMinimize)
    ids, pop, cover = model.ids, model.pop, model.cover
    y = {j: pulp.LpVariable(f"y_{n}", cat="Binary") for n, j in enumerate(ids) if model.allowed[n]}
    # with a count objective, u must be integral to count whole residents (unless u >= y fixes it)
    terms = _covered_terms(prob, model, y, binary=k is None and model.fair is None)
    covered = pulp.lpSum(float(pop[m].sum()) * u for u, m in terms)
    if k is not None:
        prob += covered
        prob += pulp.lpSum(y.values()) <= k
        # a plan keeps a counter: with none, everyone is beyond and every ratio is 1, which would "meet" any bound
        prob += pulp.lpSum(y.values()) >= 1
    else:
        prob += pulp.lpSum(y.values())
        prob += covered >= target - 1e-6
    for b in model.need:
        prob += pulp.lpSum(v for j, v in y.items() if model.borough_of.get(j) == b) >= 1
    for r in model.required:
        prob += y[r] == 1
    if model.fair is not None:
        _fairness(prob, model, terms)
    what = f"counter choice ({'k=' + str(k) if k is not None else 'coverage target'}, {model.threshold:g} min)"
    report = solve(prob, model.solver, gap=model.gap, what=what)
    if report.status == "infeasible":
        raise InfeasibleError(_why_infeasible(model, what, k))
    chosen = sorted(j for j, v in y.items() if v.value() > 0.5)
    mask = np.isin(ids, chosen)
    if model.fair is not None:
        _check_fair(model, mask, what)
    got = int(pop[cover[:, mask].any(axis=1)].sum())
    return _Raw(chosen, got, report)


def _why_infeasible(model: _Model, what: str, k: int | None) -> str:
    if model.fair is None:
        return f"{what}: no choice satisfies the borough rule, the required counters and k together"
    groups, names, ratio = model.fair
    everything = group_ratios(model.cover[:, model.allowed].any(axis=1), model.pop, groups, names)
    worst = ", ".join(f"{n} {r:.2f}" for n, r in everything.items() if r is not None and r > ratio)
    count = f"{k} counters" if k is not None else "the coverage target"
    return (
        f"{what}: no plan with {count} keeps every group's disproportion ratio at or below "
        f"max_disproportion = {ratio:g} (with the borough rule and the required counters)"
        + (f"; even with every allowed candidate open the ratios are {worst}" if worst else "")
        + "; allow more counters or a higher max_disproportion"
    )


def _check_fair(model: _Model, mask: np.ndarray, what: str) -> None:
    """Recompute the ratios of the solver's plan with numpy: the model must not have been fooled."""
    groups, names, ratio = model.fair  # type: ignore[misc]
    got = group_ratios(model.cover[:, mask].any(axis=1), model.pop, groups, names)
    over = {n: r for n, r in got.items() if r is not None and r > ratio + 1e-9}
    if over:
        raise SolverError(f"{what}: the solver's plan breaks max_disproportion = {ratio:g}: {over}")


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

    Parameters
    ----------
    matrix
        Minutes from every demand point to every candidate counter.
    points
        The demand points (``point_id``, ``population``, ``pop_65_plus``), in the matrix's row order.
    counter_borough
        Borough code of each candidate counter, indexed by station id.
    threshold
        Minutes; a resident exactly at the threshold is covered.
    k_values
        The numbers of counters to solve for (default: 1 to the number of candidates).
    **options
        As for :func:`choose_counters` (``required``, ``forbidden``, ``solver``, ``groups``, ``max_disproportion`` ...).

    Returns
    -------
    pandas.DataFrame
        ``k``, ``covered``, ``pct_covered``, ``open`` (ids joined with ``;``).  With
        ``max_disproportion`` a ``k`` that no plan meets has empty figures and says so in ``open``.
    """
    need = len(set(counter_borough.dropna()) if options.get("boroughs") is None else options["boroughs"])  # type: ignore[arg-type]
    ks = k_values or list(range(need, matrix.minutes.shape[1] + 1))
    rows = []
    for k in ks:
        try:
            c = choose_counters(matrix, points, counter_borough, threshold=threshold, k=k, **options)  # type: ignore[arg-type]
        except InfeasibleError:
            if options.get("max_disproportion") is None:
                raise
            # with the fairness rule a small k can have no plan at all, and a larger one can
            rows.append({"k": k, "covered": None, "pct_covered": None, "open": "no plan meets max_disproportion"})
            continue
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
