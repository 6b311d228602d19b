"""Ward hubs: partition each borough's wards into contiguous hubs of 4–5 wards.

The model is built from a labelled cost matrix (:class:`HubProblem`): rows are
ward codes, columns are candidate site ids, and each entry is the residents'
total travel (person-minutes) from the ward's demand points to the site.
:func:`plan_hubs` builds that matrix from GeoDataFrames and hands off to
:func:`solve_hubs`.

Formulation (per borough, per hub count ``h``)
----------------------------------------------
``x[i, s]`` = 1 when ward ``i`` belongs to the hub at site ``s``; ``y[s]`` = 1
when site ``s`` is used.  Minimise ``sum c[i, s] x[i, s]`` subject to every ward
in exactly one hub, ``x[i, s] <= y[s]``, ``min_size y[s] <= sum_i x[i, s] <=
max_size y[s]``, ``sum_s y[s] = h``, optional workload bounds, and contiguity.

A site is either a ward's population-weighted centre (the default; that ward,
the site's *root*, then belongs to its own hub) or a candidate building.

Pruning that keeps optimality: when a site has a root ward, ``x[i, s]`` is
created only for wards within ``max_size - 1`` steps of the root in the
borough's adjacency graph.  A contiguous hub of at most ``max_size`` wards
that contains both ``i`` and the root holds a path between them of at most
``max_size - 1`` steps, and that path is also a path in the borough graph, so
no feasible (contiguous) assignment is removed.

Contiguity is enforced with separator cuts added until none is violated: if
the wards of a hub fall into several components, for a component ``C`` not
holding the root (or, without a root, for wards ``i`` in ``C`` and ``l`` in
another component), every path from ``C`` to the rest of the hub passes
through ``N(C)``, the wards adjacent to ``C`` outside it, so
``x[i, s] <= sum_{k in N(C)} x[k, s]`` (``x[i, s] + x[l, s] - 1 <= ...``).
The one-ward version, ``x[i, s] <= sum_{k in N(i)} x[k, s]``, is added up front.

The hub count is chosen across boroughs by dynamic programming over each
borough's optimal cost per feasible ``h``, which is exact because the
boroughs share nothing but the total.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pulp

from planner.config import require_bng
from planner.demand import Demand
from planner.errors import InfeasibleError
from planner.io import write_csv, write_gpkg
from planner.solvers import SolveReport, make_solver, solve
from planner.travel.base import TravelEngine
from planner.travel.crowfly import CrowFly

__all__ = [
    "HubPlan",
    "HubProblem",
    "HubTarget",
    "adjacency_from_wards",
    "hub_outputs",
    "plan_hubs",
    "solve_hubs",
    "ward_sites",
    "write_hubs",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HubTarget:
    """How many hubs in total.

    Parameters
    ----------
    exact
        Exactly this many hubs.
    low, high
        A range of totals (either end may be None).
    near
        With neither ``exact`` nor a range: as close to this as the rules
        allow (ties go to the cheaper plan).  None means free: each borough
        takes its cheapest count.
    """

    exact: int | None = None
    low: int | None = None
    high: int | None = None
    near: int | None = 150

    @classmethod
    def parse(cls, text: str | None) -> HubTarget:
        """Read ``"150"``, ``"140-160"``, ``"free"`` or ``"near:150"``."""
        if text is None or text == "":
            return cls()
        text = text.strip().lower()
        if text == "free":
            return cls(near=None)
        if text.startswith("near:"):
            return cls(near=int(text[5:]))
        if "-" in text:
            lo, hi = text.split("-", 1)
            return cls(low=int(lo) if lo else None, high=int(hi) if hi else None, near=None)
        return cls(exact=int(text), near=None)

    def describe(self) -> str:
        if self.exact is not None:
            return f"exactly {self.exact}"
        if self.low is not None or self.high is not None:
            return f"{self.low or 'any'}-{self.high or 'any'}"
        return f"as close to {self.near} as possible" if self.near is not None else "free"


@dataclass
class HubProblem:
    """The labelled data of a hub model.

    Attributes
    ----------
    costs
        Person-minutes, index ``ward_code``, columns ``site_id``; NaN where a
        site may not serve a ward.
    borough
        ``ward_code`` → borough code.
    adjacency
        ``ward_code`` → neighbouring ward codes (rook contiguity).
    site_borough
        ``site_id`` → borough code.
    root
        ``site_id`` → ward code for sites that are a ward's centre.
    population
        ``ward_code`` → residents (for workload bounds and reports).
    must_use, must_not_use
        Site ids that must, or may not, host a hub.
    borough_names
        Borough code → name, for messages.
    ward_names
        Ward code → name, for messages.
    """

    costs: pd.DataFrame
    borough: pd.Series
    adjacency: dict[str, set[str]]
    site_borough: pd.Series
    root: dict[str, str] = field(default_factory=dict)
    population: pd.Series | None = None
    must_use: frozenset[str] = frozenset()
    must_not_use: frozenset[str] = frozenset()
    borough_names: dict[str, str] = field(default_factory=dict)
    ward_names: dict[str, str] = field(default_factory=dict)

    def label(self, borough: str) -> str:
        name = self.borough_names.get(borough)
        return f"{name} ({borough})" if name else borough

    def wards_label(self, wards: list[str]) -> str:
        return ", ".join(f"{w} ({self.ward_names[w]})" if w in self.ward_names else w for w in sorted(wards))


@dataclass
class BoroughSolution:
    """The optimal hubs of one borough for one hub count."""

    borough: str
    hubs: int
    assignment: dict[str, str]  # ward -> site
    report: SolveReport
    cuts: int
    rounds: int


@dataclass
class HubPlan:
    """A solved hub plan.

    Attributes
    ----------
    assignment
        ``ward_code``, ``borough_code``, ``hub_id``, ``site_id``.
    boroughs
        Per borough: ``hubs``, ``objective``, ``bound``, ``gap``,
        ``seconds``, ``status``, ``cuts``, ``rounds``, ``feasible_hubs``.
    objective, bound, gap
        Totals over boroughs (person-minutes).
    seconds
        Total solve time.
    feasible_range
        The lowest and highest total hub counts the rules allow.
    notes
        Plain-language remarks, e.g. that the target is out of reach.
    """

    assignment: pd.DataFrame
    boroughs: pd.DataFrame
    objective: float
    bound: float
    gap: float
    seconds: float
    feasible_range: tuple[int, int]
    target: HubTarget
    notes: list[str]

    @property
    def n_hubs(self) -> int:
        return int(self.assignment["hub_id"].nunique())


def adjacency_from_wards(wards: gpd.GeoDataFrame) -> dict[str, set[str]]:
    """Rook contiguity (shared boundary, not just a corner) between wards.

    Parameters
    ----------
    wards
        Ward polygons with ``ward_code``.

    Returns
    -------
    dict
        ``ward_code`` → set of neighbouring ward codes.
    """
    from libpysal.weights import Rook

    require_bng(wards, "wards")
    codes = wards["ward_code"].tolist()
    w = Rook.from_dataframe(wards.reset_index(drop=True), ids=codes, use_index=False, silence_warnings=True)
    return {c: set(map(str, w.neighbors[c])) for c in codes}


def ward_sites(demand: Demand, wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Each ward's population-weighted centre, as candidate hub sites.

    Wards without a demand point use a point inside the polygon.
    """
    pts = demand.points
    w = pts["population"].to_numpy(float)
    frame = pd.DataFrame({"ward_code": pts["ward_code"], "wx": pts.geometry.x * w, "wy": pts.geometry.y * w, "w": w})
    sums = frame.groupby("ward_code")[["wx", "wy", "w"]].sum()
    sums = sums[sums["w"] > 0]
    inner = wards.set_index("ward_code").geometry.representative_point()
    x = (sums["wx"] / sums["w"]).reindex(inner.index).fillna(inner.x)
    y = (sums["wy"] / sums["w"]).reindex(inner.index).fillna(inner.y)
    sites = gpd.GeoDataFrame(
        {
            "site_id": inner.index,
            "station_id": inner.index,
            "ward_code": inner.index,
            "borough_code": wards.set_index("ward_code")["borough_code"].reindex(inner.index).to_numpy(),
        },
        geometry=gpd.points_from_xy(x, y),
        crs=wards.crs,
    )
    return sites.reset_index(drop=True)


def _ward_costs(demand: Demand, sites: gpd.GeoDataFrame, engine: TravelEngine) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Person-minutes and worst minutes from each ward's points to each site."""
    pts = demand.points
    sites = sites.assign(station_id=sites["site_id"].astype(str))
    matrix = engine.matrix(pts, sites)
    minutes = np.where(np.isfinite(matrix.minutes), matrix.minutes, np.nan)
    pop = pts["population"].to_numpy(float)[:, None]
    person = pd.DataFrame(minutes * pop, columns=matrix.destination_ids)
    person["ward_code"] = pts["ward_code"].to_numpy()
    worst = pd.DataFrame(minutes, columns=matrix.destination_ids)
    worst["ward_code"] = person["ward_code"]
    return person.groupby("ward_code").sum(min_count=1), worst.groupby("ward_code").max()


def plan_hubs(
    wards: gpd.GeoDataFrame,
    demand: Demand,
    *,
    engine: TravelEngine | None = None,
    sites: gpd.GeoDataFrame | None = None,
    size: tuple[int, int] = (4, 5),
    hubs: HubTarget | str | None = None,
    population_bounds: tuple[float, float] | None = None,
    solver: str | pulp.LpSolver | None = None,
    gap: float = 0.0,
    time_limit: float | None = None,
    progress: Callable[[str], None] | None = None,
    join: list[list[str]] | None = None,
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
        walking by default.
    sites
        Candidate buildings with ``site_id`` and optional boolean columns
        ``must_use`` and ``must_not_use``; by default every ward's
        population-weighted centre.
    size
        Smallest and largest number of wards in a hub.
    hubs
        Total hub count (see :class:`HubTarget`); default as close to 150
        as the rules allow.
    population_bounds
        Optional lowest and highest residents per hub (workload balance).
    solver
        ``"cbc"`` (default), ``"highs"`` or a PuLP solver.
    gap
        Relative optimality gap accepted (0 = proven optimal).
    time_limit
        Seconds per borough solve.
    progress
        Called with each borough's name as it is solved.
    join
        Groups of borough codes planned as one, so that their hubs may cross
        the borough lines between them (e.g. where a borough alone cannot be
        split into hubs of the allowed size).

    Returns
    -------
    HubPlan
        The plan; see :func:`hub_outputs` for tables and polygons.
    """
    require_bng(wards, "wards")
    engine = engine or CrowFly()
    wards = wards.sort_values("ward_code").reset_index(drop=True)
    known = set(wards["ward_code"])
    demand = Demand(
        demand.points.loc[demand.points["ward_code"].isin(known)].reset_index(drop=True),
        demand.wards.loc[demand.wards["ward_code"].isin(known)].reset_index(drop=True),
        demand.year,
    )
    if sites is None:
        site_frame = ward_sites(demand, wards)
        root = dict(zip(site_frame["site_id"], site_frame["ward_code"], strict=True))
    else:
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
        root = {}
    person, _ = _ward_costs(demand, site_frame, engine)
    person = person.reindex(index=wards["ward_code"]).fillna(0.0)
    site_borough = pd.Series(site_frame["borough_code"].to_numpy(), index=site_frame["site_id"].to_numpy())
    borough = pd.Series(wards["borough_code"].to_numpy(), index=wards["ward_code"].to_numpy())
    # a site only serves wards of its own borough
    same = borough.to_numpy()[:, None] == site_borough.reindex(person.columns).to_numpy()[None, :]
    costs = person.where(same)
    pop = demand.wards.set_index("ward_code")["population"].reindex(wards["ward_code"]).fillna(0)

    def flag(column: str) -> set[str]:
        return set(site_frame.loc[site_frame[column].astype(bool), "site_id"]) if column in site_frame else set()

    problem = HubProblem(
        costs=costs,
        borough=borough,
        adjacency=adjacency_from_wards(wards),
        site_borough=site_borough,
        root=root,
        population=pop,
        must_use=frozenset(flag("must_use")),
        must_not_use=frozenset(flag("must_not_use")),
        borough_names=dict(zip(wards["borough_code"], wards["borough_name"], strict=False)),
        ward_names=dict(zip(wards["ward_code"], wards["ward_name"], strict=True)),
    )
    return solve_hubs(
        problem,
        size=size,
        hubs=hubs,
        population_bounds=population_bounds,
        solver=solver,
        gap=gap,
        time_limit=time_limit,
        progress=progress,
        join=join,
    )


def _join_boroughs(problem: HubProblem, join: list[list[str]] | None) -> HubProblem:
    """Plan each group of boroughs as one, so that its hubs may cross the borough lines inside it."""
    if not join:
        return problem
    known = set(problem.borough)
    mapping: dict[str, str] = {}
    names = dict(problem.borough_names)
    for group in join:
        unknown = sorted(set(group) - known)
        if unknown:
            raise InfeasibleError(f"cannot join unknown borough code(s) {unknown}; use GSS codes such as E09000007")
        key = "+".join(sorted(group))
        for code in group:
            if code in mapping:
                raise InfeasibleError(f"borough {code} is in more than one joined group")
            mapping[code] = key
        names[key] = " + ".join(problem.borough_names.get(c, c) for c in sorted(group))
    return replace(
        problem,
        borough=problem.borough.map(lambda b: mapping.get(b, b)),
        site_borough=problem.site_borough.map(lambda b: mapping.get(b, b)),
        borough_names=names,
    )


def _check_rules(problem: HubProblem, size: tuple[int, int]) -> dict[str, tuple[int, int]]:
    """Explain infeasible boroughs before solving; return each borough's feasible hub counts."""
    lo_size, hi_size = size
    if not 1 <= lo_size <= hi_size:
        raise InfeasibleError(f"hub size bounds {lo_size}-{hi_size} are not a valid range; use e.g. 4-5.")
    ranges: dict[str, tuple[int, int]] = {}
    problems = []
    for b, group in problem.borough.groupby(problem.borough):
        wards = set(group.index)
        n = len(wards)
        label = problem.label(str(b))
        graph = nx.Graph()
        graph.add_nodes_from(wards)
        graph.add_edges_from((i, k) for i in wards for k in problem.adjacency.get(i, ()) if k in wards)
        alone = sorted(w for w in wards if graph.degree(w) == 0)
        if alone and lo_size > 1:
            problems.append(
                f"{label}: ward {problem.wards_label(alone)} has no neighbour in its borough, so it cannot join a "
                f"contiguous hub of {lo_size}+ wards. Allow single-ward hubs (--wards-per-hub 1-{hi_size}) or let "
                "plan this borough together with a neighbour (--join-boroughs CODE,CODE) so hubs may cross the line."
            )
            continue
        lo, hi = math.ceil(n / hi_size), n // lo_size
        for comp in nx.connected_components(graph):
            s = len(comp)
            if math.ceil(s / hi_size) > s // lo_size:
                problems.append(
                    f"{label}: the {s} connected ward(s) {problem.wards_label(list(comp))} cannot be split into "
                    f"groups of {lo_size}-{hi_size}. Widen the bounds (e.g. --wards-per-hub "
                    f"{min(lo_size, s)}-{max(hi_size, s)})."
                )
        if lo > hi:
            problems.append(
                f"{label}: {n} wards cannot be split into hubs of {lo_size}-{hi_size} wards "
                f"({n} is not a sum of {lo_size}s and {hi_size}s). Widen the bounds, e.g. --wards-per-hub "
                f"{lo_size - 1}-{hi_size} or {lo_size}-{hi_size + 1}, or plan it with a neighbouring borough "
                "(--join-boroughs CODE,CODE)."
            )
        sites = [s for s in problem.site_borough.index[problem.site_borough == b] if s not in problem.must_not_use]
        required = [s for s in sites if s in problem.must_use]
        if not sites:
            problems.append(f"{label}: no allowed candidate site; add a site in the borough or lift must_not_use.")
        if len(required) > hi:
            problems.append(
                f"{label}: {len(required)} sites are required ({', '.join(sorted(required))}) but at most {hi} hubs "
                f"fit its {n} wards. Drop some must_use flags or lower the minimum hub size."
            )
        if sites and len(sites) < lo:
            problems.append(
                f"{label}: its {n} wards need at least {lo} hubs but only {len(sites)} candidate site(s) are allowed "
                f"({', '.join(sites)}); add candidate sites or lift must_not_use flags."
            )
        lo = max(lo, len(required))
        ranges[str(b)] = (lo, min(hi, len(sites)))
    bad_required = sorted(problem.must_use & problem.must_not_use)
    if bad_required:
        problems.append(f"sites {bad_required} are marked both must_use and must_not_use; keep one flag.")
    unknown = sorted(problem.must_use - set(problem.site_borough.index))
    if unknown:
        problems.append(f"required sites {unknown} are not candidate sites; check the site ids.")
    if problems:
        raise InfeasibleError("No hub plan satisfies the rules:\n- " + "\n- ".join(problems))
    return ranges


def _solve_borough(
    problem: HubProblem,
    b: str,
    h: int | None,
    size: tuple[int, int],
    population_bounds: tuple[float, float] | None,
    solver: pulp.LpSolver,
    gap: float,
) -> BoroughSolution | None:
    """Optimal contiguous hubs of one borough with ``h`` hubs (None: free); None if infeasible."""
    wards = sorted(problem.borough.index[problem.borough == b])
    ward_set = set(wards)
    sites = sorted(s for s in problem.site_borough.index[problem.site_borough == b] if s not in problem.must_not_use)
    graph = nx.Graph()
    graph.add_nodes_from(wards)
    graph.add_edges_from((i, k) for i in wards for k in problem.adjacency.get(i, ()) if k in ward_set)
    lo_size, hi_size = size
    reach: dict[str, set[str]] = {}
    for s in sites:
        r = problem.root.get(s)
        reach[s] = set(nx.single_source_shortest_path_length(graph, r, cutoff=hi_size - 1)) if r else ward_set
    sub = problem.costs.loc[wards, sites].to_numpy(dtype=float)
    row, col = {w: k for k, w in enumerate(wards)}, {s: k for k, s in enumerate(sites)}
    cost = {(i, s): sub[row[i], col[s]] for s in sites for i in sorted(reach[s]) if not math.isnan(sub[row[i], col[s]])}
    prob = pulp.LpProblem(f"hubs_{b}", pulp.LpMinimize)
    x = {key: pulp.LpVariable(f"x_{key[0]}_{key[1]}", cat="Binary") for key in cost}
    y = {s: pulp.LpVariable(f"y_{s}", cat="Binary") for s in sites}
    by_ward: dict[str, list] = {i: [] for i in wards}
    by_site: dict[str, list[str]] = {s: [] for s in sites}
    for i, s in x:
        by_ward[i].append(x[i, s])
        by_site[s].append(i)
    missing = [i for i in wards if not by_ward[i]]
    if missing:
        return None
    prob += pulp.lpSum(cost[key] * v for key, v in x.items())
    for i in wards:
        prob += pulp.lpSum(by_ward[i]) == 1
    pop = problem.population
    for s in sites:
        members = [x[i, s] for i in by_site[s]]
        prob += pulp.lpSum(members) <= hi_size * y[s]
        prob += pulp.lpSum(members) >= lo_size * y[s]
        r = problem.root.get(s)
        if r is not None:
            if (r, s) not in x:
                prob += y[s] == 0
            else:
                prob += x[r, s] == y[s]
        for i in by_site[s]:
            if i != r:
                prob += x[i, s] <= y[s]
                neighbours = [x[k, s] for k in graph.neighbors(i) if (k, s) in x]
                if r is not None or lo_size > 1:
                    prob += x[i, s] <= pulp.lpSum(neighbours)
        if s in problem.must_use:
            prob += y[s] == 1
        if population_bounds is not None and pop is not None:
            lo_pop, hi_pop = population_bounds
            load = pulp.lpSum(float(pop[i]) * x[i, s] for i in by_site[s])
            prob += load <= hi_pop * y[s]
            prob += load >= lo_pop * y[s]
    if h is not None:
        prob += pulp.lpSum(y.values()) == h
    cuts = rounds = 0
    total_seconds = 0.0
    what = f"hubs for {problem.label(b)}" + (f" with {h} hubs" if h is not None else "")
    while True:
        rounds += 1
        report = solve(prob, solver, gap=gap, what=what)
        total_seconds += report.seconds
        if report.status == "infeasible":
            return None
        assignment = {i: s for (i, s), v in x.items() if v.value() is not None and v.value() > 0.5}
        added = 0
        for s in sites:
            members = [i for i, t in assignment.items() if t == s]
            if len(members) < 2:
                continue
            sub = graph.subgraph(members)
            comps = sorted((sorted(c) for c in nx.connected_components(sub)), key=lambda c: c[0])
            if len(comps) == 1:
                continue
            r = problem.root.get(s)
            for comp in comps:
                if r is not None and r in comp:
                    continue
                border = {k for i in comp for k in graph.neighbors(i)} - set(comp)
                rhs = pulp.lpSum(x[k, s] for k in sorted(border) if (k, s) in x)
                if r is not None:
                    for i in comp:
                        prob += x[i, s] <= rhs
                        added += 1
                else:
                    others = [i for c in comps if c is not comp for i in c]
                    for i in comp:
                        for other in others:
                            prob += x[i, s] + x[other, s] - 1 <= rhs
                            added += 1
        cuts += added
        if not added:
            report = SolveReport(report.status, report.objective, report.bound, report.gap, total_seconds)
            return BoroughSolution(b, len(set(assignment.values())), assignment, report, cuts, rounds)


def solve_hubs(
    problem: HubProblem,
    *,
    size: tuple[int, int] = (4, 5),
    hubs: HubTarget | str | None = None,
    population_bounds: tuple[float, float] | None = None,
    solver: str | pulp.LpSolver | None = None,
    gap: float = 0.0,
    time_limit: float | None = None,
    progress: Callable[[str], None] | None = None,
    join: list[list[str]] | None = None,
) -> HubPlan:
    """Solve the hub model, borough by borough, and pick the total hub count.

    Parameters
    ----------
    problem
        The labelled cost matrix and adjacency.
    size, hubs, population_bounds, solver, gap, time_limit, progress, join
        As for :func:`plan_hubs`.

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
    target = hubs if isinstance(hubs, HubTarget) else HubTarget.parse(hubs)
    problem = _join_boroughs(problem, join)
    ranges = _check_rules(problem, size)
    lp_solver = make_solver(solver, gap=gap, time_limit=time_limit)
    start = time.perf_counter()
    per_borough: dict[str, dict[int, BoroughSolution]] = {}
    free = target.exact is None and target.low is None and target.high is None and target.near is None
    # When the wanted total is at or beyond the rules' maximum (minimum), every borough takes its largest
    # (smallest) contiguous-feasible count, so only those need solving: try the extreme, step inward on failure.
    wanted = target.exact if target.exact is not None else target.near
    if target.low is not None and target.high is None:
        wanted = target.low
    elif target.high is not None and target.low is None:
        wanted = target.high
    top = sum(hi for _, hi in ranges.values())
    bottom = sum(lo for lo, _ in ranges.values())
    extreme = None if free or wanted is None else "high" if wanted >= top else "low" if wanted <= bottom else None
    for b in sorted(ranges):
        if progress:
            progress(problem.borough_names.get(b, b))
        lo, hi = ranges[b]
        options = [None] if free else list(range(lo, hi + 1))
        if extreme == "high":
            options.reverse()
        found = {}
        for h in options:
            sol = _solve_borough(problem, b, h, size, population_bounds, lp_solver, gap)
            if sol is not None:
                found[sol.hubs] = sol
                if extreme is not None:
                    break
        if not found:
            raise InfeasibleError(
                f"{problem.label(b)}: no split of its {int((problem.borough == b).sum())} wards into contiguous hubs "
                f"of {size[0]}-{size[1]} wards exists{' within the workload bounds' if population_bounds else ''} "
                "(the wards' shape does not allow it). Widen the size bounds or the workload bounds."
            )
        per_borough[b] = found
    # the rules' range by ward counts, narrowed where solves showed a count to be impossible
    lowest = bottom if extreme == "high" else sum(min(f) for f in per_borough.values())
    highest = top if extreme == "low" else sum(max(f) for f in per_borough.values())
    notes = [f"With {size[0]}-{size[1]} wards per hub inside each borough, {lowest}-{highest} hubs are feasible."]
    chosen = _choose_counts(per_borough, target, (lowest, highest), problem, size, notes)
    solutions = [per_borough[b][chosen[b]] for b in sorted(chosen)]
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
            }
        )
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
        n = len(problem.borough)
        raise InfeasibleError(
            f"{target.describe()} hubs is out of reach: with {size[0]}-{size[1]} wards per hub and hubs kept inside "
            f"boroughs, only {lowest}-{highest} hubs are possible (without borough lines, {math.ceil(n / size[1])}-"
            f"{n // size[0]}). Ask for a total in {lowest}-{highest}, widen --wards-per-hub, or let "
            "neighbouring boroughs share hubs (--join-boroughs CODE,CODE)."
        )
    pick = min(wanted, key=lambda t: (best[t][0], t))
    if target.near is not None and pick != target.near:
        n = len(problem.borough)
        notes.append(
            f"{target.near} hubs is out of reach because hubs may not cross borough lines (without that rule "
            f"{math.ceil(n / size[1])}-{n // size[0]} would be possible); the closest feasible total, {pick}, is used."
        )
    return best[pick][1]


def hub_outputs(
    plan: HubPlan,
    wards: gpd.GeoDataFrame,
    demand: Demand,
    sites: gpd.GeoDataFrame | None = None,
    *,
    engine: TravelEngine | None = None,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Hubs table, ward → hub GeoDataFrame and dissolved hub polygons.

    Returns
    -------
    hubs
        ``hub_id``, ``borough_code``, ``borough_name``, ``site_id``,
        ``site_ward_name``, ``site_x``, ``site_y``, ``wards`` (codes joined
        with ``;``), ``n_wards``, ``population``, ``mean_minutes``,
        ``max_minutes``.
    ward_hubs
        Ward polygons with ``hub_id`` and ``site_id``.
    hub_polygons
        One polygon per hub, dissolved from its wards, with the hubs table's columns.
    """
    engine = engine or CrowFly()
    if sites is None:
        sites = ward_sites(demand, wards)
    site_xy = sites.set_index("site_id").geometry
    ward_hubs = wards.merge(plan.assignment[["ward_code", "hub_id", "site_id"]], on="ward_code", how="inner")
    pts = demand.points.merge(plan.assignment[["ward_code", "hub_id", "site_id"]], on="ward_code", how="inner")
    dest = gpd.GeoDataFrame({"station_id": site_xy.index.astype(str)}, geometry=site_xy.values, crs=wards.crs)
    used = dest[dest["station_id"].isin(set(plan.assignment["site_id"]))].reset_index(drop=True)
    matrix = engine.matrix(gpd.GeoDataFrame(pts, geometry="geometry", crs=wards.crs), used)
    col = pd.Index(matrix.destination_ids).get_indexer(pts["site_id"].astype(str))
    pts["minutes"] = matrix.minutes[np.arange(len(pts)), col]
    pts["pm"] = pts["minutes"] * pts["population"]
    agg = pts.groupby("hub_id").agg(population=("population", "sum"), pm=("pm", "sum"), max_minutes=("minutes", "max"))
    agg["mean_minutes"] = agg["pm"] / agg["population"].where(agg["population"] > 0)
    members = plan.assignment.groupby("hub_id").agg(
        borough_code=("borough_code", "first"),
        site_id=("site_id", "first"),
        wards=("ward_code", lambda s: ";".join(sorted(s))),
        n_wards=("ward_code", "size"),
    )
    hubs = members.join(agg[["population", "mean_minutes", "max_minutes"]]).reset_index()
    names = wards.set_index("ward_code")
    borough_names = dict(zip(wards["borough_code"], wards["borough_name"], strict=False))
    borough_names.update(dict(zip(plan.boroughs["borough_code"], plan.boroughs["borough_name"], strict=True)))
    hubs["borough_name"] = hubs["borough_code"].map(borough_names)
    hubs["site_ward_name"] = hubs["site_id"].map(names["ward_name"]).fillna(hubs["site_id"])
    hubs["site_x"] = hubs["site_id"].map(site_xy.x).round(1)
    hubs["site_y"] = hubs["site_id"].map(site_xy.y).round(1)
    hubs["population"] = hubs["population"].fillna(0).astype(np.int64)
    hubs = (
        hubs[
            [
                "hub_id",
                "borough_code",
                "borough_name",
                "site_id",
                "site_ward_name",
                "site_x",
                "site_y",
                "wards",
                "n_wards",
                "population",
                "mean_minutes",
                "max_minutes",
            ]
        ]
        .sort_values("hub_id")
        .reset_index(drop=True)
    )
    polygons = ward_hubs[["hub_id", "geometry"]].dissolve(by="hub_id", as_index=False).merge(hubs, on="hub_id")
    return hubs, ward_hubs.sort_values("ward_code").reset_index(drop=True), polygons


def write_hubs(
    plan: HubPlan,
    wards: gpd.GeoDataFrame,
    demand: Demand,
    out_dir: str | os.PathLike[str],
    *,
    sites: gpd.GeoDataFrame | None = None,
    engine: TravelEngine | None = None,
) -> list[Path]:
    """Write the hubs table, ward → hub layer and hub polygons as GeoPackage and CSV.

    Returns
    -------
    list of Path
        Files written: ``hubs.gpkg`` (layers ``hubs``, ``ward_hubs``,
        ``hub_sites``), ``hubs.csv``, ``ward_hubs.csv``, ``hub_boroughs.csv``.
    """
    out = Path(out_dir)
    hubs, ward_hubs, polygons = hub_outputs(plan, wards, demand, sites, engine=engine)
    site_points = gpd.GeoDataFrame(hubs, geometry=gpd.points_from_xy(hubs["site_x"], hubs["site_y"]), crs=wards.crs)
    gpkg = out / "hubs.gpkg"
    gpkg.unlink(missing_ok=True)
    write_gpkg(polygons, gpkg, "hubs")
    write_gpkg(ward_hubs, gpkg, "ward_hubs")
    write_gpkg(site_points, gpkg, "hub_sites")
    return [
        gpkg,
        write_csv(hubs, out / "hubs.csv"),
        write_csv(ward_hubs, out / "ward_hubs.csv"),
        write_csv(plan.boroughs.drop(columns="seconds"), out / "hub_boroughs.csv"),
    ]
