"""Closure scenarios scored incrementally from each point's nearest open counters.

Closing a few counters of a plan only changes the times of the points whose
nearest open counter closes.  :class:`NearestOpen` keeps, for every demand
point, its ``k`` nearest open counters of the plan and their minutes; a
closure of at most ``k - 1`` counters then touches only the points those
counters serve, and each London-wide figure is the plan's figure corrected by
those points.  The weighted 95th percentile is found by a bisection over the
sorted distinct times, evaluated on the few points whose old or new time lies
between the plan's percentile and its upper bound.

Every figure is the one a full recomputation gives (the ``Evaluator`` in
:mod:`planner.sweep` with all points): counts and the percentile exactly, the
mean up to the rounding of a float sum taken in another order.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["QUANTILE", "NearestOpen"]

#: The quantile reported as ``p95_minutes``.
QUANTILE = 0.95

#: Closures that move fewer residents past the plan's percentile than one of these shares of all
#: residents find the new percentile among the points whose time lands within that share above it.
WINDOWS = (0.005, 0.01, 0.02, 0.04, 0.08)


def _set_keys(ids: np.ndarray, base: int) -> np.ndarray:
    """One integer per row for the set of column indices in ``ids`` (any order; -1 anywhere gives -1)."""
    ids = np.sort(ids, axis=1)
    key = np.zeros(len(ids), dtype=np.int64)
    for c in range(ids.shape[1]):
        key = key * base + ids[:, c] + 1
    return np.where((ids < 0).any(axis=1), -1, key)


@dataclass(frozen=True)
class _Table:
    """Per set of counters (sorted keys), sums of some quantities or a list of points."""

    keys: np.ndarray
    values: np.ndarray  # (keys, quantities) sums, or (keys, 2) start and count into ``points``
    points: np.ndarray | None = None

    @classmethod
    def sums(cls, keys: np.ndarray, values: np.ndarray) -> _Table:
        uniq, inverse = np.unique(keys, return_inverse=True)
        out = np.zeros((len(uniq), values.shape[1]))
        for q in range(values.shape[1]):
            out[:, q] = np.bincount(inverse, weights=values[:, q], minlength=len(uniq))
        return cls(uniq, out)

    @classmethod
    def groups(cls, keys: np.ndarray, points: np.ndarray) -> _Table:
        order = np.argsort(keys, kind="stable")
        uniq, start, count = np.unique(keys[order], return_index=True, return_counts=True)
        return cls(uniq, np.column_stack([start, count]).astype(np.int64), points[order].astype(np.int64))

    def find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Position of each key in the table, and whether it is there (the table must not be empty)."""
        pos = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return pos, (keys >= 0) & (self.keys[pos] == keys)


@dataclass(frozen=True)
class NearestOpen:
    """Each point's ``k`` nearest open counters of one plan, ready to score closures of up to ``k - 1``.

    Build it with :meth:`build`.  A point ``p`` with nearest open counters ``o0, o1, ...`` moves to
    ``o1`` when a closure ``C`` holds ``o0``, to ``o2`` when it holds ``o0`` and ``o1``, and so on.  So
    any sum over points of a change in time is a sum over the subsets ``X`` of ``C`` of a table
    indexed by sets of counters, and the points that cross a time or rank are found the same way.

    Attributes
    ----------
    top_ids
        ``(points, k)`` column indices of the nearest open counters, nearest first
        (``-2`` where the plan has fewer than ``k`` open counters).
    top_minutes
        Their minutes (``inf`` where unreachable or missing).
    population, pop_65_plus
        Residents per point (whole numbers).
    ward_index, ward_codes
        Ward of each point as a position in ``ward_codes`` (sorted).
    """

    top_ids: np.ndarray
    top_minutes: np.ndarray
    population: np.ndarray
    pop_65_plus: np.ndarray
    ward_index: np.ndarray
    ward_codes: np.ndarray
    n_counters: int
    _values: np.ndarray
    _rank: np.ndarray
    _cum: np.ndarray
    _base: dict
    _tail: _Table
    _near: list[tuple[int, _Table]]
    _cache: dict

    @classmethod
    def build(
        cls,
        minutes: np.ndarray,
        plan: np.ndarray,
        *,
        k: int,
        population: np.ndarray,
        pop_65_plus: np.ndarray,
        ward_codes: np.ndarray,
    ) -> NearestOpen:
        """Keep the ``k`` nearest open counters of ``plan`` (a column mask of ``minutes``) for each point.

        Parameters
        ----------
        minutes
            ``(points, counters)`` minutes, ``inf`` where unreachable.
        plan
            Open counters (boolean mask over the columns).
        k
            How many nearest open counters to keep: closures of up to ``k - 1`` counters can be scored.
        population, pop_65_plus
            Residents per point (whole numbers).
        ward_codes
            Ward of each point.
        """
        m = minutes.shape[1]
        top_ids, top_t = _k_nearest(minutes, np.asarray(plan, dtype=bool), k)
        values = np.unique(top_t)
        rank = np.searchsorted(values, top_t).astype(np.int64)
        pop = np.asarray(population, dtype=float)
        cum = np.cumsum(np.bincount(rank[:, 0], weights=pop, minlength=len(values)))
        codes, ward_index = np.unique(np.asarray(ward_codes).astype(str), return_inverse=True)
        ok = np.isfinite(top_t[:, 0])
        total = float(pop.sum())
        base = _base(top_t[:, 0], pop, cum, len(values))
        # change in person-minutes (finite times) and in unreachable residents, per set of closed counters
        person = np.where(np.isfinite(top_t), top_t, 0) * pop[:, None]
        lost = np.where(np.isfinite(top_t), 0.0, pop[:, None])
        # and residents whose time passes the plan's 95th percentile (all, and those within it before)
        r0 = base["p95_rank"]
        past = rank > r0
        moved = np.where(past, pop[:, None], 0.0)
        moved[:, 0] = 0.0
        inside = moved * (rank[:, :1] <= r0)
        base["moves"] = np.stack([person, lost, moved, inside], axis=2)  # tabled with the threshold's
        # points whose time can pass the plan's 95th percentile, by the set that must close for it; and
        # those of them whose first time past it is within a narrow window above it
        tail = cls._crossing(top_ids, ok, m, past)
        first_past = np.take_along_axis(rank, np.argmax(past, axis=1)[:, None], axis=1)[:, 0]
        near = []
        for share in sorted(WINDOWS):
            window = int(min(np.searchsorted(cum, base["need"] + share * total, side="left"), len(values) - 1))
            near.append((window, cls._crossing(top_ids, ok & (first_past <= window), m, past)))
        return cls(
            top_ids,
            top_t,
            np.asarray(population),
            np.asarray(pop_65_plus),
            ward_index.astype(np.int64),
            codes.astype(object),
            m,
            values,
            rank,
            cum,
            base,
            tail,
            near,
            {},
        )

    @staticmethod
    def _level_sums(top_ids: np.ndarray, ok: np.ndarray, m: int, g: np.ndarray) -> _Table:
        """Table over sets ``{o0 .. oL}`` of the sums of ``g[p, L + 1] - g[p, L]`` (``g``: points x k x quantities)."""
        k = top_ids.shape[1]
        keys, vals = [], []
        for level in range(k - 1):
            valid = ok & (top_ids[:, : level + 1] >= 0).all(axis=1)
            keys.append(_set_keys(top_ids[valid, : level + 1], m + 1))
            vals.append(g[valid, level + 1] - g[valid, level])
        return _Table.sums(np.concatenate(keys), np.concatenate(vals))

    @staticmethod
    def _crossing(top_ids: np.ndarray, ok: np.ndarray, m: int, past: np.ndarray) -> _Table:
        """Points grouped by the set ``{o0 .. o(L-1)}`` that must close before their time passes a cutoff.

        ``past`` is ``(points, k)``: whether the time to each kept counter is past the cutoff.
        """
        k = top_ids.shape[1]
        first = np.where(past.any(axis=1), np.argmax(past, axis=1), k)
        level = np.maximum(first, 1)  # a point already past needs only its nearest counter to close
        keys = np.full(len(top_ids), -1, dtype=np.int64)
        for lv in range(1, k):
            rows = np.flatnonzero(ok & (level == lv) & (top_ids[:, :lv] >= 0).all(axis=1))
            keys[rows] = _set_keys(top_ids[rows, :lv], m + 1)
        keep = keys >= 0
        return _Table.groups(keys[keep], np.flatnonzero(keep))

    @property
    def k(self) -> int:
        """How many nearest open counters are kept per point."""
        return self.top_ids.shape[1]

    def _subset_keys(self, closed: np.ndarray) -> np.ndarray:
        """``(scenarios, subsets)`` keys of every non-empty subset of each closure."""
        width = closed.shape[1]
        out = [
            _set_keys(closed[:, list(cols)], self.n_counters + 1)
            for size in range(1, width + 1)
            for cols in itertools.combinations(range(width), size)
        ]
        return np.column_stack(out)

    def _expand(self, table: _Table, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(scenario, point) of the points listed under every subset of every closure."""
        if not len(table.keys):
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
        pos, found = table.find(keys.ravel())
        start = np.where(found, table.values[pos, 0], 0)
        count = np.where(found, table.values[pos, 1], 0)
        rep = np.repeat(np.arange(len(count)), count)
        offset = np.arange(len(rep)) - (np.cumsum(count) - count)[rep]
        return rep // keys.shape[1], table.points[start[rep] + offset]

    def _sums(self, table: _Table, keys: np.ndarray) -> np.ndarray:
        if not len(table.keys):
            return np.zeros((keys.shape[0], table.values.shape[1]))
        pos, found = table.find(keys.ravel())
        vals = np.where(found[:, None], table.values[pos], 0.0)
        return vals.reshape(keys.shape[0], keys.shape[1], -1).sum(axis=1)

    def _new_choice(self, closed: np.ndarray, sid: np.ndarray, points: np.ndarray) -> np.ndarray:
        """Which kept counter (1 .. k-1) is each affected point's nearest one left open."""
        m = self.n_counters
        stride = m + 2
        shut = np.zeros(closed.shape[0] * stride, dtype=bool)
        rows = np.arange(closed.shape[0])[:, None] * stride
        shut[(rows + np.where(closed >= 0, closed, m)).ravel()] = True
        shut[np.arange(closed.shape[0]) * stride + m] = False  # the padding of shorter closures
        at = sid * stride
        j = np.ones(len(points), dtype=np.int64)
        still = np.ones(len(points), dtype=bool)
        for c in range(1, closed.shape[1] + 1):
            ids = self.top_ids[points, c]
            still &= shut[at + np.where(ids >= 0, ids, m + 1)]
            j += still
        return j

    def _threshold_tables(self, threshold: float) -> tuple[_Table, _Table]:
        """Per set of closed counters, the changes in every figure (one table), and who can cross ``threshold``."""
        if threshold not in self._cache:
            ok = np.isfinite(self.top_minutes[:, 0])
            beyond = ~(self.top_minutes <= threshold)
            weights = np.stack([self.population, self.pop_65_plus], axis=1).astype(float)
            g = np.concatenate([self._base["moves"], beyond[:, :, None] * weights[:, None, :]], axis=2)
            sums = self._level_sums(self.top_ids, ok, self.n_counters, g)
            crossing = self._crossing(self.top_ids, ok & ~beyond[:, 0], self.n_counters, beyond)
            self._cache[threshold] = (sums, crossing)
        return self._cache[threshold]

    def figures(
        self, closed: np.ndarray, threshold: float, *, wards: bool = True
    ) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """London-wide figures for each closure (rows of column indices, padded with -1).

        Parameters
        ----------
        closed
            ``(scenarios, c)`` column indices of the counters each scenario closes, ``-1`` for none;
            ``c < k``.
        threshold
            Minutes.
        wards
            Also return, per ward, in how many scenarios residents lose access and the most lost.

        Returns
        -------
        figures, ward_losses
            ``beyond``, ``pct_within``, ``mean_minutes``, ``p95_minutes``, ``beyond_65_plus`` and
            ``unreachable`` per scenario; ``ward_code``, ``scenarios_losing``, ``max_residents_lost``
            per ward (``None`` unless ``wards``).
        """
        closed = np.atleast_2d(np.asarray(closed, dtype=np.int64))
        if closed.shape[1] >= self.k:
            raise ValueError(f"closures of {closed.shape[1]} counters need k > {closed.shape[1]} (k = {self.k})")
        n_sc = closed.shape[0]
        base = self._base
        keys = self._subset_keys(closed)
        changes, crossing = self._threshold_tables(threshold)
        person, unreach, moved, inside, more, more_65 = self._sums(changes, keys).T
        base_t = self.top_minutes[:, 0]
        far = ~(base_t <= threshold)
        beyond = float(self.population[far].astype(float).sum()) + more
        beyond_65 = float(self.pop_65_plus[far].astype(float).sum()) + more_65
        unreachable = base["unreachable"] + unreach
        reach = base["total"] - unreachable
        mean = np.where(reach > 0, (base["sum"] + person) / np.maximum(reach, 1), np.nan)
        p95 = self._values[self._quantile_rank(closed, keys, moved, inside)]
        frame = pd.DataFrame(
            {
                "beyond": beyond.astype(np.int64),
                "pct_within": 100 * (1 - beyond / base["total"]),
                "mean_minutes": mean,
                "p95_minutes": p95,
                "beyond_65_plus": beyond_65.astype(np.int64),
                "unreachable": unreachable.astype(np.int64),
            }
        )
        if not wards:
            return frame, None
        sid, points = self._expand(crossing, keys)
        j = self._new_choice(closed, sid, points)
        lost = self.top_minutes[points, j] > threshold
        w = self.population[points[lost]].astype(float)
        return frame, self._ward_losses(sid[lost], points[lost], w, n_sc)

    def _quantile_rank(self, closed: np.ndarray, keys: np.ndarray, moved: np.ndarray, inside: np.ndarray) -> np.ndarray:
        """Rank (in the sorted distinct times) of each scenario's weighted 95th percentile.

        With ``F(r)`` the residents whose time is at most ``values[r]``, the percentile is the smallest
        ``r`` with ``F(r) >= 0.95 * total``.  Closures only lengthen times, so it is at least the plan's
        rank ``r0``, and at most ``hi``, the first rank where the plan's ``cum`` exceeds the target by
        all the residents ``moved`` past ``r0``.  In between, ``F(r)`` is ``cum[r]`` less ``D(r)``, the
        residents whose old time is at most ``r`` and whose new time is beyond it: ``inside`` (old time
        within ``r0``, new time past it) less those whose new time is at most ``r``, plus those whose old
        time is in ``(r0, r]`` and new time beyond ``r``.  ``D`` changes only at those points' ranks, so
        the ranks split into a few pieces of constant ``D``, and in each the first rank reaching the
        target is one ``searchsorted`` of ``cum``; the first piece holding one gives the percentile.
        Only points with a rank in ``(r0, hi]`` matter: they come from the shortest list kept at build
        time whose window holds ``hi``, else from every point that can pass ``r0``.  With
        whole-number populations every comparison is between whole numbers, so the rank is exactly the
        full computation's.
        """
        n_sc = closed.shape[0]
        base = self._base
        cum = self._cum
        size = len(cum)
        hi = np.minimum(np.searchsorted(cum, base["need"] + moved, side="left"), size - 1)
        out = np.empty(n_sc, dtype=np.int64)
        todo = np.ones(n_sc, dtype=bool)
        for window, table in [*self._near, (size, self._tail)]:  # the narrowest window that holds hi
            rows = todo & (hi <= window)
            if rows.any():
                out[rows] = self._pieces(table, closed[rows], keys[rows], hi[rows], inside[rows])
                todo &= ~rows
        return out

    def _pieces(
        self, table: _Table, closed: np.ndarray, keys: np.ndarray, hi: np.ndarray, inside: np.ndarray
    ) -> np.ndarray:
        n_sc = closed.shape[0]
        cum = self._cum
        size = len(cum)
        r0 = self._base["p95_rank"]
        sid, points = self._expand(table, keys)
        j = self._new_choice(closed, sid, points)
        ra = self._rank[points, 0]
        rb = self._rank[points, j]
        w = self.population[points].astype(float)
        hi_e = hi[sid]
        enter = (ra > r0) & (ra <= hi_e)
        leave = (rb > r0) & (rb <= hi_e)
        # most scenarios reach the target before D first changes: settle those without sorting
        out = np.minimum(np.searchsorted(cum, self._base["need"] + inside, side="left"), size - 1)
        first_change = np.full(n_sc, size, dtype=np.int64)
        np.minimum.at(first_change, sid[enter], ra[enter])
        np.minimum.at(first_change, sid[leave], rb[leave])
        rest = out >= first_change
        if not rest.any():
            return out
        remap = np.cumsum(rest) - 1  # scenario -> position among the unsettled
        enter &= rest[sid]
        leave &= rest[sid]
        n_rest = int(rest.sum())
        ev_sid = np.concatenate([np.arange(n_rest), remap[sid[enter]], remap[sid[leave]]])
        ev_rank = np.concatenate([np.full(n_rest, r0), ra[enter], rb[leave]])
        ev_delta = np.concatenate([inside[rest], w[enter], -w[leave]])
        n_sc = n_rest
        key = ev_sid * (size + 1) + ev_rank
        if n_sc * (size + 1) < 2**31:  # a narrower key sorts faster
            key = key.astype(np.int32)
        order = np.argsort(key)  # the order within a rank does not matter
        ev_sid, ev_rank, ev_delta = ev_sid[order], ev_rank[order], ev_delta[order]
        d = np.cumsum(ev_delta)
        first = np.searchsorted(ev_sid, np.arange(n_sc))  # each scenario's opening event (delta = D at r0)
        d -= np.concatenate([[0.0], d[first[1:] - 1]])[ev_sid]  # restart the running sum per scenario
        end = np.append(ev_rank[1:], size)
        end[np.append(ev_sid[1:] != ev_sid[:-1], True)] = size
        cand = np.maximum(np.searchsorted(cum, self._base["need"] + d, side="left"), ev_rank)
        valid = np.flatnonzero(cand < end)
        owner = ev_sid[valid]  # sorted, so each scenario's first valid piece starts its run
        at = np.flatnonzero(np.concatenate([[True], owner[1:] != owner[:-1]])) if len(owner) else owner
        scen = owner[at]
        unsettled = np.full(n_sc, size - 1, dtype=np.int64)
        unsettled[scen] = cand[valid[at]]
        out[rest] = unsettled
        return out

    def _ward_losses(self, sid: np.ndarray, points: np.ndarray, w: np.ndarray, n_sc: int) -> pd.DataFrame:
        n_wards = len(self.ward_codes)
        key = sid * n_wards + self.ward_index[points]
        pairs, inverse = np.unique(key, return_inverse=True)
        per_pair = np.bincount(inverse, weights=w, minlength=len(pairs))
        keep = per_pair > 0
        ward = pairs[keep] % n_wards
        losing = np.bincount(ward, minlength=n_wards)
        most = np.zeros(n_wards)
        np.maximum.at(most, ward, per_pair[keep])
        return pd.DataFrame(
            {"ward_code": self.ward_codes, "scenarios_losing": losing.astype(np.int64), "max_residents_lost": most}
        )


def _k_nearest(minutes: np.ndarray, plan: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each point's ``k`` nearest open counters (column ids, ``-2`` past the open ones) and their minutes."""
    n = minutes.shape[0]
    cols = np.flatnonzero(plan)
    sub = minutes[:, cols]
    kk = min(k, len(cols))
    order = np.argsort(sub, axis=1, kind="stable")[:, :kk]  # the same tie order as a full minimum
    top_ids = np.full((n, k), -2, dtype=np.int64)
    top_t = np.full((n, k), np.inf)
    top_ids[:, :kk] = cols[order]
    top_t[:, :kk] = np.take_along_axis(sub, order, axis=1)
    return top_ids, top_t


def _base(base_t: np.ndarray, pop: np.ndarray, cum: np.ndarray, n_values: int) -> dict:
    """The plan's own figures: residents, person-minutes, unreachable, and the rank of its 95th percentile."""
    ok = np.isfinite(base_t)
    total = float(pop.sum())
    q_total = QUANTILE * total
    return {
        "total": total,
        "q_total": q_total,
        "sum": float(np.where(ok, base_t, 0) @ pop),
        "unreachable": float(pop[~ok].sum()),
        # F(r) >= q_total, with F whole, is F(r) >= ceil(q_total): whole numbers on both sides
        "need": float(np.ceil(q_total)),
        "p95_rank": int(min(np.searchsorted(cum, np.ceil(q_total), side="left"), n_values - 1)),
    }
