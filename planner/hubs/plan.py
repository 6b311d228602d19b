"""Plan ward hubs: build the labelled problem, solve each borough, choose the hub count across boroughs.

Each borough is solved exactly, by enumeration and dynamic programming
(:mod:`planner.hubs.enumeration`) where it can be, else by the MIP
(:mod:`planner.hubs.mip`); see :class:`~planner.hubs.model.HubOptions`'s
``method``.  The hub count is then chosen across boroughs by dynamic
programming over each borough's optimal cost per feasible count, which is
exact because the boroughs share nothing but the total.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Unpack

import geopandas as gpd
import pandas as pd

from planner.config import require_bng
from planner.demand import Demand
from planner.errors import InfeasibleError, SolverError
from planner.hubs.enumeration import solve_borough_enumeration
from planner.hubs.inputs import adjacency_from_wards, site_flags, ward_costs, ward_sites
from planner.hubs.mip import solve_borough_mip
from planner.hubs.model import (
    BoroughData,
    BoroughSolution,
    HubOptionFields,
    HubOptions,
    HubPlan,
    HubProblem,
    HubTarget,
    borough_data,
)
from planner.hubs.rules import check_rules, check_workload, count_range, join_boroughs
from planner.solvers import make_solver
from planner.travel.base import TravelEngine
from planner.travel.crowfly import CrowFly

__all__ = ["hub_problem", "plan_hubs", "solve_hubs"]

logger = logging.getLogger(__name__)


def _options(options: HubOptions | None, overrides: HubOptionFields) -> HubOptions:
    options = options or HubOptions()
    return replace(options, **overrides) if overrides else options


def hub_problem(
    wards: gpd.GeoDataFrame,
    demand: Demand,
    *,
    engine: TravelEngine | None = None,
    sites: gpd.GeoDataFrame | None = None,
    join: list[list[str]] | None = None,
) -> HubProblem:
    """The labelled hub model of wards, their residents and candidate sites.

    Parameters
    ----------
    wards, demand, engine, sites
        As for :func:`plan_hubs`.
    join
        Groups of borough codes that will be planned as one: a site may serve
        any ward of its group.

    Raises
    ------
    InfeasibleError
        If a candidate site lies outside every ward.
    DataError
        If a ``must_use`` / ``must_not_use`` value is not a clear yes or no.
    """
    require_bng(wards, "wards")
    engine = engine or CrowFly()
    if wards.empty:
        raise InfeasibleError("`wards` holds no ward: give the study area's wards")
    wards = wards.sort_values("ward_code").reset_index(drop=True)
    known = set(wards["ward_code"])
    if not demand.points["ward_code"].isin(known).any():
        raise InfeasibleError(
            f"no resident of `demand` lives in the {len(known)} wards of `wards` (another ward year's codes?): "
            "give the demand loaded with the same ward set"
        )
    demand = Demand(
        demand.points.loc[demand.points["ward_code"].isin(known)].reset_index(drop=True),
        demand.wards.loc[demand.wards["ward_code"].isin(known)].reset_index(drop=True),
        demand.year,
    )
    site_frame, root = _sites(demand, wards, sites)
    must_use, must_not_use = site_flags(site_frame, "must_use"), site_flags(site_frame, "must_not_use")
    person = ward_costs(demand, site_frame, engine).reindex(index=wards["ward_code"], fill_value=0.0)
    site_borough = pd.Series(site_frame["borough_code"].to_numpy(), index=site_frame["site_id"].to_numpy())
    borough = pd.Series(wards["borough_code"].to_numpy(), index=wards["ward_code"].to_numpy())
    # a site only serves wards of its own borough (or of its joined group)
    group = {code: "+".join(sorted(g)) for g in join or [] for code in g}
    ward_group = borough.map(lambda b: group.get(b, b)).to_numpy()
    site_group = site_borough.reindex(person.columns).map(lambda b: group.get(b, b)).to_numpy()
    same = ward_group[:, None] == site_group[None, :]
    costs = person.where(same)
    pop = demand.wards.set_index("ward_code")["population"].reindex(wards["ward_code"]).fillna(0)
    return HubProblem(
        costs=costs,
        borough=borough,
        adjacency=adjacency_from_wards(wards),
        site_borough=site_borough,
        root=root,
        population=pop,
        must_use=frozenset(must_use),
        must_not_use=frozenset(must_not_use),
        borough_names=dict(zip(wards["borough_code"], wards["borough_name"], strict=False)),
        ward_names=dict(zip(wards["ward_code"], wards["ward_name"], strict=True)),
        unreachable_pairs=int((person.isna().to_numpy() & same).sum()),
    )


def _sites(
    demand: Demand, wards: gpd.GeoDataFrame, sites: gpd.GeoDataFrame | None
) -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """The candidate sites with their borough (each ward's centre by default), and each centre's own ward."""
    if sites is None:
        site_frame = ward_sites(demand, wards)
        return site_frame, dict(zip(site_frame["site_id"], site_frame["ward_code"], strict=True))
    require_bng(sites, "candidate sites")
    site_frame = sites.copy()
    site_frame["site_id"] = site_frame["site_id"].astype(str)
    located = (
        gpd.sjoin(
            site_frame[["site_id", "geometry"]],
            wards[["ward_code", "borough_code", "geometry"]],
            how="left",
            predicate="within",
        )
        .drop_duplicates("site_id")
        .set_index("site_id")
    )
    outside = located.index[located["borough_code"].isna()].tolist()
    if outside:
        raise InfeasibleError(
            f"candidate site(s) {outside} lie outside every study-area ward, so they cannot serve any hub; "
            "move them or drop them from the sites file."
        )
    site_frame["borough_code"] = located["borough_code"].reindex(site_frame["site_id"]).to_numpy()
    return site_frame, {}


def plan_hubs(
    wards: gpd.GeoDataFrame,
    demand: Demand,
    *,
    engine: TravelEngine | None = None,
    sites: gpd.GeoDataFrame | None = None,
    options: HubOptions | None = None,
    **overrides: Unpack[HubOptionFields],
) -> HubPlan:
    """Design ward hubs from GeoDataFrames.

    Parameters
    ----------
    wards
        Study-area wards (EPSG:27700) with ``ward_code``, ``ward_name``,
        ``borough_code``, ``borough_name``.
    demand
        Demand points assigned to those wards.
    engine
        Travel-time engine for residents' trips to hub sites; crow-fly
        walking by default.  A resident the engine cannot get to a site keeps
        the ward from that site (never a free trip); a ward no allowed site
        can serve is reported before solving.
    sites
        Candidate buildings with ``site_id`` and optional columns
        ``must_use`` and ``must_not_use`` (booleans, 0/1 or
        true/false/yes/no); by default every ward's population-weighted
        centre.
    options
        The rules, target and solver (:class:`HubOptions`).
    **overrides
        Fields of :class:`HubOptions` to set on ``options`` (e.g.
        ``size=(4, 5), hubs="140-160"``).

    Returns
    -------
    HubPlan
        The plan; see :func:`~planner.hubs.io.hub_outputs` for tables and polygons.
    """
    opts = _options(options, overrides)
    problem = hub_problem(wards, demand, engine=engine, sites=sites, join=opts.join_groups)
    plan = solve_hubs(problem, options=opts)
    if problem.unreachable_pairs:
        plan.notes.append(
            f"{problem.unreachable_pairs} ward-site pair(s) were ruled out because some of the ward's residents "
            f"cannot reach the site with the {getattr(engine or CrowFly(), 'name', 'chosen')} engine."
        )
    return plan


def _extreme(target: HubTarget, bottom: int, top: int) -> str | None:
    """``"high"`` (``"low"``) when the target forces every borough to its largest (smallest) count."""
    if target.free:
        return None
    if target.exact is not None or target.near is not None:
        wanted = target.exact if target.exact is not None else target.near
        return "high" if wanted >= top else "low" if wanted <= bottom else None
    if target.low is not None and target.low >= top:
        return "high"
    if target.high is not None and target.high <= bottom:
        return "low"
    return None


def _solve_borough(
    problem: HubProblem,
    b: str,
    counts: list[int | None],
    extreme: str | None,
    options: HubOptions,
    lp_solver,
    data: BoroughData,
    max_hubs: int,
) -> dict[int, BoroughSolution]:
    """The borough's optimal solution for each count in ``counts`` that is feasible.

    With ``extreme`` set, only the first feasible count in ``counts`` is
    kept; with ``counts == [None]`` (free), only the cheapest count.
    """
    if options.method != "mip":
        found = _enumerate(problem, b, counts, extreme, options, data, max_hubs)
        if found is not None:
            return found
        if options.method == "enumeration":
            raise SolverError(
                f"hubs for {problem.label(b)}: too many connected ward sets or partial plans to enumerate; "
                "use method 'auto' or 'mip'."
            )
        logger.info("%s: enumeration too large, solving the MIP", problem.label(b))
    found = {}
    for h in counts:
        sol = solve_borough_mip(problem, b, h, options.size, options.population_bounds, lp_solver, options.gap)
        if sol is not None:
            found[sol.hubs] = sol
            if extreme is not None:
                break
    return found


def _enumerate(
    problem: HubProblem,
    b: str,
    counts: list[int | None],
    extreme: str | None,
    options: HubOptions,
    data: BoroughData,
    max_hubs: int,
) -> dict[int, BoroughSolution] | None:
    """As :func:`_solve_borough` by enumeration; None if the enumeration gives up."""
    size, bounds = options.size, options.population_bounds
    if counts == [None]:
        every = solve_borough_enumeration(problem, b, data, size, bounds, (0, max_hubs))
        if not every:
            return every
        h = min(every, key=lambda k: (every[k].report.objective, k))
        return {h: every[h]}
    wanted = [h for h in counts if h is not None]
    if extreme is None:
        every = solve_borough_enumeration(problem, b, data, size, bounds, (min(wanted), max(wanted)))
        return None if every is None else {h: every[h] for h in wanted if h in every}
    for h in wanted:  # the extreme count first, stepping inward on failure
        one = solve_borough_enumeration(problem, b, data, size, bounds, (h, h))
        if one is None or one:
            return one
    return {}


def solve_hubs(
    problem: HubProblem,
    *,
    options: HubOptions | None = None,
    **overrides: Unpack[HubOptionFields],
) -> HubPlan:
    """Solve the hub model, borough by borough, and pick the total hub count.

    Parameters
    ----------
    problem
        The labelled cost matrix and adjacency.
    options
        The rules, target and solver (:class:`HubOptions`).
    **overrides
        Fields of :class:`HubOptions` to set on ``options``.

    Returns
    -------
    HubPlan
        The optimal plan.

    Raises
    ------
    InfeasibleError
        With the boroughs and wards at fault and a suggested fix.
    SolverError
        If a solve ends without a proven optimum within ``gap``.
    """
    opts = _options(options, overrides)
    size, population_bounds = opts.size, opts.population_bounds
    target = opts.target
    problem = join_boroughs(problem, opts.join_groups)
    data = borough_data(problem)
    ranges = check_rules(problem, size, data)
    check_workload(problem, size, population_bounds)
    lp_solver = make_solver(opts.solver, gap=opts.gap, time_limit=opts.time_limit)
    start = time.perf_counter()
    # When the wanted total is at or beyond the rules' maximum (minimum), every borough takes its largest
    # (smallest) contiguous-feasible count: try the extreme, step inward on failure.
    top = sum(hi for _, hi in ranges.values())
    bottom = sum(lo for lo, _ in ranges.values())
    extreme = _extreme(target, bottom, top)
    per_borough = _solve_boroughs(problem, ranges, extreme, opts, lp_solver, data)
    # the rules' range by ward counts, narrowed where solves showed a count to be impossible
    lowest = bottom if extreme == "high" else sum(min(f) for f in per_borough.values())
    highest = top if extreme == "low" else sum(max(f) for f in per_borough.values())
    notes = [f"With {size[0]}-{size[1]} wards per hub inside each borough, {lowest}-{highest} hubs are feasible."]
    chosen = _choose_counts(per_borough, target, (lowest, highest), problem, size, notes)
    solutions = [per_borough[b][chosen[b]] for b in sorted(chosen)]
    by_mip = [problem.label(s.borough) for s in solutions if s.method == "mip"]
    if by_mip and opts.method == "auto":
        notes.append(f"Solved by the MIP (too large to enumerate): {', '.join(by_mip)}.")
    rows, table = _tables(problem, solutions, per_borough, ranges, extreme)
    assignment = pd.DataFrame(rows, columns=["ward_code", "borough_code", "hub_id", "site_id"])
    boroughs = pd.DataFrame(table)
    objective, bound = float(boroughs["objective"].sum()), float(boroughs["bound"].sum())
    seconds = time.perf_counter() - start
    plan = HubPlan(
        assignment,
        boroughs,
        objective,
        bound,
        (objective - bound) / objective if objective else 0.0,
        seconds,
        (lowest, highest),
        target,
        notes,
    )
    logger.info("hub plan: %d hubs, objective %.0f person-minutes, %.2fs", plan.n_hubs, objective, seconds)
    return plan


def _solve_boroughs(
    problem: HubProblem,
    ranges: dict[str, tuple[int, int]],
    extreme: str | None,
    opts: HubOptions,
    lp_solver: object,
    data: dict,
) -> dict[str, dict[int, BoroughSolution]]:
    """Each borough's solutions by hub count (or its one free solution), refused where none exists."""
    size, population_bounds = opts.size, opts.population_bounds
    per_borough: dict[str, dict[int, BoroughSolution]] = {}
    for b in sorted(ranges):
        if opts.progress:
            opts.progress(problem.borough_names.get(b, b))
        lo, hi = ranges[b]
        counts: list[int | None] = [None] if opts.target.free else list(range(lo, hi + 1))
        if extreme == "high":
            counts.reverse()
        found = _solve_borough(problem, b, counts, extreme, opts, lp_solver, data[b], hi)
        if not found:
            raise InfeasibleError(
                f"{problem.label(b)}: no split of its {int((problem.borough == b).sum())} wards into contiguous hubs "
                f"of {size[0]}-{size[1]} wards exists{' within the workload bounds' if population_bounds else ''} "
                f"(the wards' shape{' and residents' if population_bounds else ''} do not allow it). Widen `size`"
                f"{' or `population_bounds`' if population_bounds else ''}."
            )
        per_borough[b] = found
    return per_borough


def _tables(
    problem: HubProblem,
    solutions: list[BoroughSolution],
    per_borough: dict[str, dict[int, BoroughSolution]],
    ranges: dict[str, tuple[int, int]],
    extreme: str | None,
) -> tuple[list[tuple], list[dict]]:
    """Each ward's hub (ids numbered per borough) and each borough's solve: its count, objective and status."""
    rows, table = [], []
    for sol in solutions:
        order = sorted(set(sol.assignment.values()))
        hub_id = {s: f"{sol.borough}-H{k + 1:02d}" for k, s in enumerate(order)}
        rows += [(w, sol.borough, hub_id[s], s) for w, s in sorted(sol.assignment.items())]
        found = per_borough[sol.borough]
        lo = ranges[sol.borough][0] if extreme == "high" else min(found)
        hi = ranges[sol.borough][1] if extreme == "low" else max(found)
        table.append(
            {
                "borough_code": sol.borough,
                "borough_name": problem.borough_names.get(sol.borough, ""),
                "hubs": sol.hubs,
                "objective": sol.report.objective,
                "bound": sol.report.bound,
                "gap": sol.report.gap,
                "seconds": sol.report.seconds,
                "status": sol.report.status,
                "cuts": sol.cuts,
                "rounds": sol.rounds,
                "feasible_hubs": f"{lo}-{hi}",
                "method": sol.method,
            }
        )
    return rows, table


def _choose_counts(
    per_borough: dict[str, dict[int, BoroughSolution]],
    target: HubTarget,
    feasible: tuple[int, int],
    problem: HubProblem,
    size: tuple[int, int],
    notes: list[str],
) -> dict[str, int]:
    """Exact choice of each borough's hub count (dynamic programming over totals)."""
    best: dict[int, tuple[float, dict[str, int]]] = {0: (0.0, {})}
    for b in sorted(per_borough):
        nxt: dict[int, tuple[float, dict[str, int]]] = {}
        for total, (cost, picks) in best.items():
            for h, sol in sorted(per_borough[b].items()):
                key, value = total + h, cost + sol.report.objective
                if key not in nxt or value < nxt[key][0] - 1e-9:
                    nxt[key] = (value, {**picks, b: h})
        best = nxt
    totals = sorted(best)
    lowest, highest = feasible
    if target.exact is not None:
        wanted = [target.exact]
    elif target.low is not None or target.high is not None:
        wanted = [t for t in totals if (target.low or 0) <= t <= (target.high or 10**9)]
    elif target.near is not None:
        gapmin = min(abs(t - target.near) for t in totals)
        wanted = [t for t in totals if abs(t - target.near) == gapmin]
    else:
        wanted = totals
    wanted = [t for t in wanted if t in best]
    if not wanted:
        free_lo, free_hi = count_range(len(problem.borough), size)
        raise InfeasibleError(
            f"{target.describe()} hubs is out of reach: with {size[0]}-{size[1]} wards per hub and hubs kept inside "
            f"boroughs, only {lowest}-{highest} hubs are possible (without borough lines, {free_lo}-"
            f"{free_hi}). Ask for a total in {lowest}-{highest} (`hubs`), widen `size` (hubs.wards_per_hub in a "
            "scenario), or let neighbouring boroughs share hubs (`join`)."
        )
    pick = min(wanted, key=lambda t: (best[t][0], t))
    if target.near is not None and pick != target.near:
        free_lo, free_hi = count_range(len(problem.borough), size)
        notes.append(
            f"{target.near} hubs is out of reach because hubs may not cross borough lines (without that rule "
            f"{free_lo}-{free_hi} would be possible); the closest feasible total, {pick}, is used."
        )
    return best[pick][1]
