"""Exact hubs of one borough by enumeration: connected ward sets, their best sites, and an exact partition.

Every London borough has at most 24 wards, and a hub is a connected set of
4–5 of them, so the candidate hubs can be listed outright (a few hundred to a
few thousand per borough):

1. **Connected sets.**  Wards are bits of a 64-bit mask.  Sets of ``k + 1``
   wards are the sets of ``k`` wards plus one neighbour, deduplicated; every
   connected set is reached this way because a connected set always has a
   ward whose removal leaves it connected (a leaf of a spanning tree).
2. **Columns.**  Each set within the size and workload bounds is costed
   with every allowed site at once (a matrix product).  A ward-centre site
   must be one of the set's wards (its *root* ward is then in its own hub),
   so two disjoint sets never share one, and only the set's cheapest such
   site is kept: swapping in a cheaper site changes nothing else.  If the set
   holds the root of a required site, that site is its only choice (the
   required site must host the hub that holds its root).  A building site
   (no root) can host any set of its borough but only one hub, so each
   (set, building) pair is a column and carries a bit of its own.
3. **Partition.**  A dynamic programme over partial partitions, one level
   per hub: a state is the mask of wards (and building sites) used so far,
   and the lowest unused ward is always covered next, so each partition is
   built in exactly one order and only the cheapest state per mask is kept.
   Wards are numbered in reverse Cuthill–McKee order, which keeps the wards
   of a hub close in number and the set of states small.  States that can no
   longer end with a wanted hub count are dropped, and so are states whose
   cost plus a lower bound on the rest exceeds the cost of a plan already
   found by a quick beam search of the same levels (the bound gives each
   uncovered ward its cheapest share, cost / wards, of any column holding
   it, and an exact cover costs at least the sum of those shares).  The
   result is the proven optimum for every wanted hub count.

The enumeration gives up (and :func:`solve_borough_enumeration` returns
None, so the caller falls back to :mod:`planner.hubs.mip`) when a borough's
wards and building sites do not fit in 62 bits, or its connected sets,
partial partitions or the extensions of one level exceed fixed limits
(:data:`MAX_SETS`, :data:`MAX_STATES`, :data:`MAX_PAIRS`).  London's boroughs
stay far inside them; two joined boroughs (about 40 wards) or very large hubs
do not, and go to the MIP, which is then faster.
"""

from __future__ import annotations

import logging
import time

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import reverse_cuthill_mckee

from planner.hubs.model import BoroughData, BoroughSolution, HubProblem
from planner.solvers import SolveReport

__all__ = ["connected_sets", "partition", "solve_borough_enumeration"]

logger = logging.getLogger(__name__)

#: Limits beyond which the enumeration hands the borough to the MIP.
MAX_BITS = 62
MAX_SETS = 100_000
MAX_STATES = 300_000
MAX_PAIRS = 3_000_000

_ONE = np.uint64(1)


def _bits(n: int) -> np.ndarray:
    return np.left_shift(_ONE, np.arange(n, dtype=np.uint64))


def _lowest_bit_index(masks: np.ndarray) -> np.ndarray:
    """Index of each mask's lowest set bit (masks must be non-zero)."""
    low = masks & (~masks + _ONE)
    return np.log2(low.astype(np.float64)).astype(np.int64)


def connected_sets(adjacency: np.ndarray, lo: int, hi: int, *, limit: int = MAX_SETS) -> np.ndarray | None:
    """Masks of all connected vertex sets of ``lo`` to ``hi`` vertices.

    Parameters
    ----------
    adjacency
        ``adjacency[i]`` is the mask of vertex ``i``'s neighbours (uint64).
    lo, hi
        Smallest and largest set size.
    limit
        Give up (return None) when one size has more sets than this.

    Returns
    -------
    numpy.ndarray or None
        Sorted uint64 masks.
    """
    n = len(adjacency)
    bits = _bits(n)
    sets, border = bits.copy(), adjacency.copy()
    found = [sets] if lo <= 1 else []
    for size in range(2, hi + 1):
        if len(sets) == 0:
            break
        grow = (border & ~sets)[:, None] & bits[None, :]
        which, ward = np.nonzero(grow)
        new = sets[which] | bits[ward]
        new, first = np.unique(new, return_index=True)
        if len(new) > limit:
            return None
        border = border[which[first]] | adjacency[ward[first]]
        sets = new
        if size >= lo:
            found.append(sets)
    return np.sort(np.concatenate(found)) if found else np.zeros(0, dtype=np.uint64)


def partition(
    masks: np.ndarray,
    costs: np.ndarray,
    n_wards: int,
    required: np.uint64,
    counts: tuple[int, int],
    sizes: tuple[int, int],
    *,
    limit: int = MAX_STATES,
    beam: int | None = 16,
) -> dict[int, tuple[float, list[int]]] | None:
    """Cheapest exact cover of the wards by columns, for every number of columns.

    Parameters
    ----------
    masks
        Column masks (uint64): bits ``0 .. n_wards - 1`` are wards, higher
        bits are building sites.
    costs
        Column costs.
    n_wards
        Wards to cover (bits ``0 .. n_wards - 1``).
    required
        Site bits every cover must use.
    counts
        Fewest and most columns in a cover: partial covers that cannot end
        in that range are dropped.
    sizes
        Fewest and most wards in a column (for that test).
    limit
        Give up (return None) when more states than this have been built.

    Returns
    -------
    dict or None
        Number of columns → (cost, column indices) for every count with a
        cover.
    """
    if n_wards == 0:
        return {0: (0.0, [])}
    if len(masks) == 0:
        return {}
    wards = np.uint64((1 << n_wards) - 1)
    # columns grouped by their lowest ward: those of ward j are by_start[ptr[j]:ptr[j + 1]]
    starts = _lowest_bit_index(masks & wards) if len(masks) else np.zeros(0, dtype=np.int64)
    by_start = np.argsort(starts, kind="stable")
    ptr = np.searchsorted(starts[by_start], np.arange(n_wards + 1))
    # a lower bound on covering any set of wards: each ward's cheapest share of a column's cost
    member = ((masks[:, None] >> np.arange(n_wards, dtype=np.uint64)[None, :]) & _ONE).astype(bool)
    share = costs / np.maximum(member.sum(axis=1), 1)
    per_ward = np.where(member, share[:, None], np.inf).min(axis=0)
    if not np.isfinite(per_ward).all():
        return {}  # some ward is in no column
    tables = _byte_tables(per_ward)
    bound = np.inf
    if beam:
        # a quick incumbent: the same search keeping only the most promising states of each level
        quick = _search(masks, costs, n_wards, required, counts, sizes, by_start, ptr, tables, np.inf, beam)
        if quick is not None and all(h in quick[0] for h in range(counts[0], counts[1] + 1)):
            bound = max(quick[0][h][0] for h in range(counts[0], counts[1] + 1)) * (1 + 1e-9) + 1e-9
    found = _search(masks, costs, n_wards, required, counts, sizes, by_start, ptr, tables, bound, None, limit=limit)
    if found is None:
        return None
    finals, parents, columns = found
    result: dict[int, tuple[float, list[int]]] = {}
    if not finals:
        return result
    all_parents = np.concatenate(parents)
    all_columns = np.concatenate(columns)
    for h, (total, parent, col) in sorted(finals.items()):
        chosen = [col]
        at = parent
        while all_columns[at] >= 0:
            chosen.append(int(all_columns[at]))
            at = int(all_parents[at])
        result[h] = (total, sorted(chosen))
    return result


def _byte_tables(per_ward: np.ndarray) -> list[np.ndarray]:
    """Lookup tables: ``tables[k][byte]`` sums ``per_ward`` over the bits of ``byte`` at byte ``k`` of a mask."""
    tables = []
    byte_bits = ((np.arange(256)[:, None] >> np.arange(8)[None, :]) & 1).astype(float)
    for k in range(0, len(per_ward), 8):
        chunk = np.zeros(8)
        part = per_ward[k : k + 8]
        chunk[: len(part)] = part
        tables.append((byte_bits * chunk[None, :]).sum(axis=1))
    return tables


def _lower_bound(uncovered: np.ndarray, tables: list[np.ndarray]) -> np.ndarray:
    total = np.zeros(len(uncovered))
    for k, table in enumerate(tables):
        total += table[((uncovered >> np.uint64(8 * k)) & np.uint64(255)).astype(np.intp)]
    return total


def _search(masks, costs, n_wards, required, counts, sizes, by_start, ptr, tables, bound, beam, *, limit=MAX_STATES):
    """The levels of :func:`partition`; states whose cost plus lower bound exceeds ``bound`` are dropped, and with
    ``beam`` only that many of the most promising states per level are kept (no longer exact)."""
    wards = np.uint64((1 << n_wards) - 1)
    # one level per hub count: a state (mask, cost) with its parent state and last column
    mask, cost = np.zeros(1, np.uint64), np.zeros(1)
    parents, columns = [np.full(1, -1)], [np.full(1, -1)]
    base, stored = 0, 1  # global id of the level's first state; states stored so far
    finals: dict[int, tuple[float, int, int]] = {}
    for hubs in range(1, counts[1] + 1):
        if len(mask) == 0:
            break
        # the lowest uncovered ward of each state must be covered next, by a column that starts there
        j = _lowest_bit_index(~mask & wards)
        first, many = ptr[j], ptr[j + 1] - ptr[j]
        if int(many.sum()) > MAX_PAIRS:
            return None
        state = np.repeat(np.arange(len(mask)), many)
        pick = by_start[np.arange(len(state)) - np.repeat(np.cumsum(many) - many - first, many)]
        ok = (mask[state] & masks[pick]) == 0
        state, pick = state[ok], pick[ok]
        new_mask = mask[state] | masks[pick]
        new_cost = cost[state] + costs[pick]
        covered = new_mask & wards
        left = n_wards - np.bitwise_count(covered).astype(np.int64)
        done = left == 0
        full = np.flatnonzero(done & ((new_mask & required) == required))
        if len(full) and hubs >= counts[0]:
            best = full[np.argmin(new_cost[full])]
            finals[hubs] = (float(new_cost[best]), base + int(state[best]), int(pick[best]))
        # keep partial covers that can still end with an allowed number of hubs; the cheapest per mask
        fits = (~done) & (hubs + -(-left // sizes[1]) <= counts[1]) & (hubs + left // sizes[0] >= counts[0])
        keep = np.flatnonzero(fits)
        promise = new_cost[keep] + _lower_bound(~covered[keep] & wards, tables)
        if np.isfinite(bound):
            good = promise <= bound
            keep, promise = keep[good], promise[good]
        order = keep[np.lexsort((new_cost[keep], new_mask[keep]))]
        sorted_mask = new_mask[order]
        unique = np.ones(len(order), dtype=bool)
        unique[1:] = sorted_mask[1:] != sorted_mask[:-1]
        order = order[unique]
        if beam is not None and len(order) > beam:
            rank = promise[np.searchsorted(keep, order)]
            order = order[np.argsort(rank, kind="stable")[:beam]]
        parents.append(base + state[order])
        columns.append(pick[order])
        base, stored = stored, stored + len(order)
        if stored > limit:
            return None
        mask, cost = new_mask[order], new_cost[order]
    return finals, parents, columns


def solve_borough_enumeration(
    problem: HubProblem,
    b: str,
    data: BoroughData,
    size: tuple[int, int],
    population_bounds: tuple[float, float] | None,
    counts: tuple[int, int],
) -> dict[int, BoroughSolution] | None:
    """Optimal contiguous hubs of one borough for every feasible hub count in a range.

    Parameters
    ----------
    problem
        The whole problem (adjacency, roots, required sites).
    b
        The borough (or joined group) code.
    data
        The borough's wards, allowed sites and costs (:func:`~planner.hubs.model.borough_data`).
    size, population_bounds
        Hub size and workload bounds.
    counts
        Fewest and most hubs wanted.

    Returns
    -------
    dict or None
        Hub count → solution (empty if no partition exists); None if the
        enumeration gave up and the MIP must be used.
    """
    start = time.perf_counter()
    wards, sites = data.wards, data.sites
    n = len(wards)
    index = {w: k for k, w in enumerate(wards)}
    loose = [k for k, s in enumerate(sites) if s not in problem.root]
    if n + len(loose) > MAX_BITS:
        return None
    rank, adjacency = _number_wards(problem, wards, index)
    sets = connected_sets(adjacency, size[0], size[1])
    if sets is None:
        return None
    # member[c, i]: ward i (original order) is in set c; slots[c, :]: its wards, padded with n (a row of zeros).
    # Sums are gathers, not matrix products, which would wake BLAS threads that stall on a busy machine.
    member = ((sets[:, None] >> rank.astype(np.uint64)[None, :]) & _ONE).astype(bool)
    slots = np.sort(np.where(member, np.arange(n)[None, :], n), axis=1)[:, : size[1]]
    if population_bounds is not None and data.population is not None:
        load = np.append(data.population, 0.0)[slots].sum(axis=1)
        fits = (load >= population_bounds[0]) & (load <= population_bounds[1])
        sets, member, slots = sets[fits], member[fits], slots[fits]
    masks, costs, site_of, required = _columns(problem, data, index, loose, sets, member, slots)
    covers = partition(masks, costs, n, required, counts, size)
    if covers is None:
        return None
    seconds = time.perf_counter() - start
    order = np.argsort(rank)
    solutions = {}
    for h, (objective, chosen) in covers.items():
        assignment = {}
        for c in chosen:
            site = sites[int(site_of[c])]
            for k in np.flatnonzero(member_row(masks[c], n)).tolist():
                assignment[wards[order[k]]] = site
        report = SolveReport("optimal", objective, objective, 0.0, seconds)
        solutions[h] = BoroughSolution(b, h, dict(sorted(assignment.items())), report, 0, 0, "enumeration")
    logger.debug("%s: %d connected sets, %d columns, counts %s", b, len(sets), len(masks), sorted(solutions))
    return solutions


def _number_wards(problem: HubProblem, wards: list[str], index: dict[str, int]) -> tuple[np.ndarray, np.ndarray]:
    """Bit rank of each ward (neighbours get close numbers) and each rank's neighbour mask."""
    n = len(wards)
    pairs = [(index[i], index[k]) for i in wards for k in problem.adjacency.get(i, ()) if k in index]
    rows, cols = (list(t) for t in zip(*pairs, strict=True)) if pairs else ([], [])
    graph = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    order = reverse_cuthill_mckee(graph, symmetric_mode=True) if n else np.zeros(0, dtype=np.int64)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    bits = _bits(n)
    adjacency = np.zeros(n, dtype=np.uint64)
    for i, k in pairs:
        adjacency[rank[i]] |= bits[rank[k]]
    return rank, adjacency


def _columns(
    problem: HubProblem,
    data: BoroughData,
    index: dict[str, int],
    loose: list[int],
    sets: np.ndarray,
    member: np.ndarray,
    slots: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.uint64]:
    """Candidate hubs (ward mask plus site bit), their costs and sites, and the mask of required sites.

    A ward-centre ("rooted") site can only serve a set holding its own ward; a set holding a required
    site's ward must use that site.  A "loose" site gets a bit of its own so that it is used at most once.
    """
    sites, n = data.sites, len(data.wards)
    missing = np.isnan(data.costs)
    padded = np.vstack([np.where(missing, 0.0, data.costs), np.zeros((1, len(sites)))])
    totals = padded[slots].sum(axis=1)
    usable = ~np.vstack([missing, np.zeros((1, len(sites)), dtype=bool)])[slots].any(axis=1)
    must = np.array([s in problem.must_use for s in sites], dtype=bool)
    rooted = [k for k, s in enumerate(sites) if problem.root.get(s) in index]
    must_roots = np.zeros(n + 1)
    for k in rooted:
        if must[k]:
            must_roots[index[problem.root[sites[k]]]] += 1.0
    holds_required = must_roots[slots].sum(axis=1)
    col_masks, col_costs, col_site = [], [], []
    if rooted:
        r_cols = np.array(rooted)
        r_root = np.array([index[problem.root[sites[k]]] for k in rooted])
        allowed = usable[:, r_cols] & member[:, r_root]
        allowed &= (holds_required[:, None] == 0) | ((holds_required[:, None] == 1) & must[r_cols][None, :])
        cost = np.where(allowed, totals[:, r_cols], np.inf)
        best = cost.argmin(axis=1)
        ok = np.isfinite(cost[np.arange(len(sets)), best])
        col_masks.append(sets[ok])
        col_costs.append(cost[np.flatnonzero(ok), best[ok]])
        col_site.append(r_cols[best[ok]])
    required = np.uint64(0)
    for u, k in enumerate(loose):
        bit = np.uint64(1 << (n + u))
        if must[k]:
            required |= bit
        ok = usable[:, k] & (holds_required == 0)
        col_masks.append(sets[ok] | bit)
        col_costs.append(totals[ok, k])
        col_site.append(np.full(int(ok.sum()), k))
    masks = np.concatenate(col_masks) if col_masks else np.zeros(0, dtype=np.uint64)
    costs = np.concatenate(col_costs) if col_costs else np.zeros(0)
    site_of = np.concatenate(col_site) if col_site else np.zeros(0, dtype=np.int64)
    return masks, costs, site_of, required


def member_row(mask: np.uint64, n: int) -> np.ndarray:
    """The wards (bits ``0 .. n - 1``) of one mask, as booleans."""
    return ((mask >> np.arange(n, dtype=np.uint64)) & _ONE).astype(bool)
