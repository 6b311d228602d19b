"""Rule checks before any solve: joined boroughs, and each borough's feasible hub counts.

Infeasible rules are explained here (borough, wards, reason, suggested fix)
before any model is built.
"""

from __future__ import annotations

import math
from dataclasses import replace

import networkx as nx
import numpy as np

from planner.errors import InfeasibleError
from planner.hubs.model import BoroughData, HubProblem, borough_data

__all__ = ["check_rules", "join_boroughs"]


def _refuse_apart(problem: HubProblem, group: list[str]) -> None:
    """Refuse a group whose boroughs do not all meet: no hub could cross the line between them."""
    ward_borough = problem.borough.to_dict()
    graph = nx.Graph()
    graph.add_nodes_from(group)
    for ward, neighbours in problem.adjacency.items():
        a = ward_borough.get(ward)
        for other in neighbours:
            b = ward_borough.get(other)
            if a != b and a in group and b in group:
                graph.add_edge(a, b)
    parts = list(nx.connected_components(graph))
    if len(parts) > 1:
        shown = " and ".join(" + ".join(problem.borough_names.get(c, c) for c in sorted(p)) for p in parts)
        raise InfeasibleError(
            f"`join` group {list(group)}: {shown} share no border, so no hub could cross between them and the "
            "group would be planned as if apart; join boroughs that meet"
        )


def join_boroughs(problem: HubProblem, join: list[list[str]] | None) -> HubProblem:
    """Plan each group of boroughs as one, so that its hubs may cross the borough lines inside it.

    Parameters
    ----------
    problem
        The hub problem.
    join
        Groups of borough codes to plan together (None: none).
    """
    if not join:
        return problem
    known = set(problem.borough)
    mapping: dict[str, str] = {}
    names = dict(problem.borough_names)
    for group in join:
        twice = sorted({c for c in group if list(group).count(c) > 1})
        if twice:
            raise InfeasibleError(
                f"`join` group {list(group)} names {twice} more than once; a group joins two or more different boroughs"
            )
        if len(group) < 2:
            raise InfeasibleError(f"`join` group {list(group)} holds one borough; a group joins two or more")
        unknown = sorted(set(group) - known)
        if unknown:
            city = (
                " (E09000001 is the City of London, which has its own police force)" if "E09000001" in unknown else ""
            )
            raise InfeasibleError(
                f"`join` names borough code(s) {unknown} that are not boroughs of the study area{city}; use the "
                f"GSS codes of its boroughs, such as E09000007 (Camden)"
            )
        _refuse_apart(problem, group)
        key = "+".join(sorted(group))
        for code in group:
            if code in mapping:
                raise InfeasibleError(
                    f"`join`: borough {code} ({problem.borough_names.get(code, code)}) is in more than one group; "
                    "merge the groups into one"
                )
            mapping[code] = key
        names[key] = " + ".join(problem.borough_names.get(c, c) for c in sorted(group))
    return replace(
        problem,
        borough=problem.borough.map(lambda b: mapping.get(b, b)),
        site_borough=problem.site_borough.map(lambda b: mapping.get(b, b)),
        borough_names=names,
    )


def check_rules(
    problem: HubProblem, size: tuple[int, int], data: dict[str, BoroughData] | None = None
) -> dict[str, tuple[int, int]]:
    """Explain infeasible boroughs before solving; return each borough's feasible hub counts.

    ``data`` is :func:`~planner.hubs.model.borough_data` of the problem, if already computed.

    Parameters
    ----------
    problem
        The hub problem.
    size
        The smallest and largest number of wards in a hub.
    data
        Each borough's :class:`~planner.hubs.model.BoroughData`, if already computed.
    """
    data = data if data is not None else borough_data(problem)
    lo_size, hi_size = size
    if not 1 <= lo_size <= hi_size:
        raise InfeasibleError(f"hub size bounds {lo_size}-{hi_size} are not a valid range; use e.g. 4-5.")
    ranges: dict[str, tuple[int, int]] = {}
    problems: list[str] = []
    for b, group in problem.borough.groupby(problem.borough):
        found, isolated = _split_problems(problem, str(b), set(group.index), size)
        problems += found
        if isolated:  # nothing else about this borough is worth saying until that ward can join a hub
            continue
        n = len(group)
        lo, hi = count_range(n, size)
        part = data[str(b)]
        site_problems, required = _site_problems(problem, str(b), part, n, lo, hi)
        problems += site_problems
        ranges[str(b)] = (max(lo, len(required)), min(hi, len(part.sites)))
    bad_required = sorted(problem.must_use & problem.must_not_use)
    if bad_required:
        problems.append(f"sites {bad_required} are marked both must_use and must_not_use; keep one flag.")
    unknown = sorted(problem.must_use - set(problem.site_borough.index))
    if unknown:
        problems.append(f"required sites {unknown} are not candidate sites; check the site ids.")
    if problems:
        raise InfeasibleError("No hub plan satisfies the rules:\n- " + "\n- ".join(problems))
    return ranges


def _widened(n: int, size: tuple[int, int]) -> str:
    """The nearest size bounds that do split ``n`` wards: the smallest lowered, or the largest raised."""
    lo_size, hi_size = size
    options = []
    lower = next((lo for lo in range(lo_size - 1, 0, -1) if _splits(n, (lo, hi_size))), None)
    if lower is not None:
        options.append(f"({lower}, {hi_size})")
    higher = next((hi for hi in range(hi_size + 1, n + 1) if _splits(n, (lo_size, hi))), None)
    if higher is not None:
        options.append(f"({lo_size}, {higher})")
    return " or ".join(options) if options else f"(1, {hi_size})"


def _splits(n: int, size: tuple[int, int]) -> bool:
    lo, hi = count_range(n, size)
    return lo <= hi


def check_workload(problem: HubProblem, size: tuple[int, int], bounds: tuple[float, float] | None) -> None:
    """Refuse workload bounds no hub of the allowed size can meet, naming the borough and its wards' residents.

    Parameters
    ----------
    problem
        The hub problem (``population`` per ward).
    size
        The smallest and largest number of wards in a hub.
    bounds
        The fewest and most residents a hub may serve (``population_bounds``), or None.

    Raises
    ------
    InfeasibleError
        Listing every borough where even the least (most) populated wards break the bounds, or where its
        residents cannot be shared among a possible number of hubs within them.
    """
    if bounds is None:
        return
    low, high = bounds
    if not 0 <= low <= high:
        raise InfeasibleError(f"`population_bounds` ({low:,.0f}, {high:,.0f}) are not a range of residents")
    lo_size, hi_size = size
    problems = []
    for b, group in problem.borough.groupby(problem.borough):
        pop = np.sort(problem.population.reindex(group.index).fillna(0).to_numpy(float))
        label = problem.label(str(b))
        fewest, most = count_range(len(pop), size)
        if pop[:lo_size].sum() > high:
            problems.append(
                f"{label}: its {lo_size} least populated wards alone hold {pop[:lo_size].sum():,.0f} residents, "
                f"more than a hub may serve ({high:,.0f}), so no hub of {lo_size}+ wards fits"
            )
        elif pop[-hi_size:].sum() < low:
            problems.append(
                f"{label}: its {hi_size} most populated wards together hold {pop[-hi_size:].sum():,.0f} residents, "
                f"fewer than a hub must serve ({low:,.0f})"
            )
        elif fewest <= most and not any(h * low <= pop.sum() <= h * high for h in range(fewest, most + 1)):
            problems.append(
                f"{label}: its {pop.sum():,.0f} residents cannot be shared among {fewest}-{most} hubs of "
                f"{low:,.0f}-{high:,.0f} residents each"
            )
    if problems:
        raise InfeasibleError(
            "No hub plan meets the workload bounds (`population_bounds`):\n- "
            + "\n- ".join(problems)
            + "\nWiden them, or the hub sizes (`size`)."
        )


def count_range(n: int, size: tuple[int, int]) -> tuple[int, int]:
    """Fewest and most hubs of ``size[0]``-``size[1]`` wards that ``n`` wards make, contiguity aside
    (empty when the fewest is above the most)."""
    return math.ceil(n / size[1]), n // size[0]


def _split_problems(problem: HubProblem, b: str, wards: set[str], size: tuple[int, int]) -> tuple[list[str], bool]:
    """Why a borough's wards cannot be cut into contiguous hubs of ``size``, and whether a ward is isolated."""
    lo_size, hi_size = size
    label = problem.label(b)
    graph = nx.Graph()
    graph.add_nodes_from(wards)
    graph.add_edges_from((i, k) for i in wards for k in problem.adjacency.get(i, ()) if k in wards)
    alone = sorted(w for w in wards if graph.degree(w) == 0)
    n = len(wards)
    lo, hi = count_range(n, size)
    if lo > hi:  # the borough as a whole first: then neither its isolated wards nor its components are the cause
        why = f"fewer than {lo_size}" if n < lo_size else f"not a sum of {lo_size}s and {hi_size}s"
        return [
            f"{label}: {n} wards cannot be split into hubs of {lo_size}-{hi_size} wards ({n} is {why}). "
            f"Widen the bounds, e.g. `size` {_widened(n, size)} (hubs.wards_per_hub in a scenario), or plan it with "
            "a neighbouring borough (`join`)."
        ], False
    if alone and lo_size > 1:
        message = (
            f"{label}: ward {problem.wards_label(alone)} has no neighbour in its borough, so it cannot join a "
            f"contiguous hub of {lo_size}+ wards. Allow single-ward hubs (`size` (1, {hi_size}); "
            f"hubs.wards_per_hub = [1, {hi_size}] in a scenario) or plan this borough together with a neighbour "
            "(`join`) so hubs may cross the line."
        )
        return [message], True
    problems = []
    for comp in nx.connected_components(graph):
        low, high = count_range(len(comp), size)
        if low > high:
            problems.append(
                f"{label}: the {len(comp)} connected ward(s) {problem.wards_label(list(comp))} cannot be split into "
                f"groups of {lo_size}-{hi_size}. Widen the bounds (e.g. `size` {_widened(len(comp), size)}; "
                "hubs.wards_per_hub in a scenario)."
            )
    return problems, False


def _site_problems(
    problem: HubProblem, b: str, part: BoroughData, n: int, lo: int, hi: int
) -> tuple[list[str], list[str]]:
    """Why a borough's candidate sites cannot host ``lo``-``hi`` hubs; also its required sites."""
    label = problem.label(b)
    sites = part.sites
    required = [s for s in sites if s in problem.must_use]
    problems = []
    if not sites:
        here = sorted(problem.site_borough.index[problem.site_borough == b].astype(str))
        barred = [x for x in here if x in problem.must_not_use]
        if barred:
            problems.append(
                f"{label}: all {len(barred)} of its candidate sites are marked must_not_use "
                f"({', '.join(barred[:5])}{' ...' if len(barred) > 5 else ''}); lift the flag on one or add a site."
            )
        else:
            problems.append(
                f"{label}: the candidate sites (`sites`) hold no site in this borough, and a hub's site must lie in "
                "its own borough; add one, or use the default sites (each ward's population-weighted centre)."
            )
    else:
        served = np.isfinite(part.costs).any(axis=1)
        stranded = [w for w, ok in zip(part.wards, served, strict=True) if not ok]
        if stranded:
            problems.append(
                f"{label}: no allowed candidate site can serve ward(s) {problem.wards_label(stranded)}: "
                "their costs are missing, which means the travel engine found some of their residents unable "
                "to reach any site. Check the engine's coverage (e.g. the street network extract), use "
                "another engine for hub trips, or add a site they can reach."
            )
    if len(required) > hi:
        problems.append(
            f"{label}: {len(required)} sites are required ({', '.join(sorted(required))}) but at most {hi} hubs "
            f"fit its {n} wards. Drop some must_use flags or lower the minimum hub size."
        )
    if sites and len(sites) < lo:
        problems.append(
            f"{label}: its {n} wards need at least {lo} hubs but only {len(sites)} candidate site(s) are allowed "
            f"({', '.join(sites)}); add candidate sites"
            + (
                " or lift must_not_use flags."
                if any(x in problem.must_not_use for x in problem.site_borough.index[problem.site_borough == b])
                else "."
            )
        )
    return problems, required
