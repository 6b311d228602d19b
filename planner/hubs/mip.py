"""The compact hub MIP of one borough, with contiguity cuts added until none is violated.

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

This was the only model before :mod:`planner.hubs.enumeration`; it stays as
the fallback for boroughs the enumeration cannot handle and as the
cross-check in the tests.
"""

from __future__ import annotations

import math

import networkx as nx
import pulp

from planner.hubs.model import BoroughSolution, HubProblem
from planner.solvers import SolveReport, solve

__all__ = ["solve_borough_mip"]


def solve_borough_mip(
    problem: HubProblem,
    b: str,
    h: int | None,
    size: tuple[int, int],
    population_bounds: tuple[float, float] | None,
    solver: pulp.LpSolver,
    gap: float,
) -> BoroughSolution | None:
    """Optimal contiguous hubs of one borough with ``h`` hubs (None: free); None if infeasible.

    Parameters
    ----------
    problem
        The hub problem.
    b
        The borough code (or joined group) to solve.
    h
        The number of hubs, or None to let the model choose.
    size
        The smallest and largest number of wards in a hub.
    population_bounds
        The smallest and largest population of a hub, or None.
    solver
        The PuLP solver to use.
    gap
        The relative MIP gap accepted (0 for proven optimal).
    """
    wards = sorted(problem.borough.index[problem.borough == b])
    ward_set = set(wards)
    sites = sorted(s for s in problem.site_borough.index[problem.site_borough == b] if s not in problem.must_not_use)
    graph = nx.Graph()
    graph.add_nodes_from(wards)
    graph.add_edges_from((i, k) for i in wards for k in problem.adjacency.get(i, ()) if k in ward_set)
    built = _model(problem, b, wards, sites, graph, size, population_bounds)
    if built is None:
        return None
    prob, x, y = built
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
        added = _add_cuts(prob, x, graph, assignment, sites, problem.root)
        cuts += added
        if not added:
            report = SolveReport(report.status, report.objective, report.bound, report.gap, total_seconds)
            return BoroughSolution(b, len(set(assignment.values())), assignment, report, cuts, rounds)


_X = dict[tuple[str, str], pulp.LpVariable]


def _model(
    problem: HubProblem,
    b: str,
    wards: list[str],
    sites: list[str],
    graph: nx.Graph,
    size: tuple[int, int],
    population_bounds: tuple[float, float] | None,
) -> tuple[pulp.LpProblem, _X, dict[str, pulp.LpVariable]] | None:
    """The MIP without the hub count or separator cuts; None if some ward has no site within reach."""
    lo_size, hi_size = size
    reach: dict[str, set[str]] = {}
    for s in sites:
        r = problem.root.get(s)
        reach[s] = set(nx.single_source_shortest_path_length(graph, r, cutoff=hi_size - 1)) if r else set(wards)
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
    if any(not by_ward[i] for i in wards):
        return None
    prob += pulp.lpSum(cost[key] * v for key, v in x.items())
    for i in wards:
        prob += pulp.lpSum(by_ward[i]) == 1
    for s in sites:
        _site_constraints(prob, x, y[s], s, by_site[s], problem, graph, lo_size, hi_size)
        if population_bounds is not None and problem.population is not None:
            lo_pop, hi_pop = population_bounds
            load = pulp.lpSum(float(problem.population[i]) * x[i, s] for i in by_site[s])
            prob += load <= hi_pop * y[s]
            prob += load >= lo_pop * y[s]
    return prob, x, y


def _site_constraints(
    prob: pulp.LpProblem,
    x: _X,
    y_s: pulp.LpVariable,
    s: str,
    members: list[str],
    problem: HubProblem,
    graph: nx.Graph,
    lo_size: int,
    hi_size: int,
) -> None:
    """Size bounds, the root ward, linking and the one-ward contiguity cuts of site ``s``."""
    prob += pulp.lpSum(x[i, s] for i in members) <= hi_size * y_s
    prob += pulp.lpSum(x[i, s] for i in members) >= lo_size * y_s
    r = problem.root.get(s)
    if r is not None:
        prob += (y_s == 0) if (r, s) not in x else (x[r, s] == y_s)
    for i in members:
        if i != r:
            prob += x[i, s] <= y_s
            if r is not None or lo_size > 1:
                prob += x[i, s] <= pulp.lpSum(x[k, s] for k in graph.neighbors(i) if (k, s) in x)
    if s in problem.must_use:
        prob += y_s == 1


def _add_cuts(
    prob: pulp.LpProblem, x: _X, graph: nx.Graph, assignment: dict[str, str], sites: list[str], root: dict
) -> int:
    """Add a separator cut for every split hub in ``assignment``; return how many were added."""
    added = 0
    for s in sites:
        members = [i for i, t in assignment.items() if t == s]
        if len(members) < 2:
            continue
        comps = sorted((sorted(c) for c in nx.connected_components(graph.subgraph(members))), key=lambda c: c[0])
        if len(comps) == 1:
            continue
        r = root.get(s)
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
    return added
