"""An exact p-median solver from a labelled cost matrix.

It uses Elloumi's (2010) formulation over each client's sorted costs,
truncated to the client's ``K`` nearest candidates:

``min sum_i [ d_i1 + sum_{k<K} (d_i,k+1 - d_ik) z_ik ]``
``s.t. z_ik + sum_{j in first k of i} y_j >= 1,  sum_j y_j = p,  y binary,  z >= 0``.

Truncation only drops terms, so the truncated optimum is a lower bound on the
true optimum.  If every client has an open candidate among its ``K``
nearest, the truncated objective equals the true cost of that solution, which
is therefore optimal.  Otherwise ``K`` doubles for the clients without one and
the model is solved again.  Elloumi's formulation has the same LP bound as the
classic ``x_ij <= y_j`` model with far fewer rows.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pulp

from planner.errors import InfeasibleError
from planner.solvers import make_solver, solve

__all__ = ["PMedianResult", "solve_pmedian"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PMedianResult:
    """Open candidates, each client's assignment and the objective."""

    open: list[str]
    assignment: pd.Series  # client -> candidate
    objective: float
    bound: float
    seconds: float
    rounds: int


def _model(
    ranked: np.ndarray, order: np.ndarray, steps: np.ndarray, depth: np.ndarray, p: int
) -> tuple[pulp.LpProblem, list[pulp.LpVariable]]:
    """The p-median MIP over each client's ``depth`` nearest candidates (cost steps ``steps`` of ``ranked``)."""
    n, m = ranked.shape
    prob = pulp.LpProblem("pmedian", pulp.LpMinimize)
    y = [pulp.LpVariable(f"y{j}", cat="Binary") for j in range(m)]
    terms = []
    for i in range(n):
        for kk in range(1, min(depth[i], m - 1) + 1):
            step = float(steps[i, kk - 1])
            if step <= 0:
                continue
            z = pulp.LpVariable(f"z{i}_{kk}", lowBound=0)
            terms.append((z, step))
            cover = pulp.LpAffineExpression([(z, 1.0), *((y[j], 1.0) for j in order[i, :kk].tolist())])
            prob.addConstraint(pulp.LpConstraint(cover, pulp.LpConstraintGE, rhs=1.0))
    prob.setObjective(pulp.LpAffineExpression(terms, constant=float(ranked[:, 0].sum())))
    prob.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression((v, 1.0) for v in y), pulp.LpConstraintEQ, rhs=p))
    return prob, y


def solve_pmedian(
    costs: pd.DataFrame,
    p: int,
    *,
    solver: str | pulp.LpSolver | None = None,
    gap: float = 0.0,
    k: int = 12,
) -> PMedianResult:
    """Choose ``p`` candidates minimising the sum of each client's cost to its nearest open one.

    Parameters
    ----------
    costs
        Clients (index) × candidates (columns); already weighted by demand.
    p
        Candidates to open.
    solver
        ``"cbc"`` (default), ``"highs"`` or a PuLP solver.
    gap
        Relative optimality gap accepted.
    k
        Nearest candidates per client in the first round.

    Returns
    -------
    PMedianResult
        The optimal choice.
    """
    values = costs.to_numpy(dtype=float)
    n, m = values.shape
    if not 1 <= p <= m:
        raise InfeasibleError(f"p = {p} facilities cannot be chosen from {m} candidates")
    if not np.isfinite(values).all():
        raise InfeasibleError("the p-median cost matrix has missing or infinite entries")
    order = np.argsort(values, axis=1, kind="stable")
    ranked = np.take_along_axis(values, order, axis=1)
    depth = np.full(n, min(k, m))
    # CBC's primal heuristics (feasibility pump, rounding) cost far more than they save on this model, whose
    # LP relaxation is nearly integral: the search finds the optimum at once without them
    lp_solver = make_solver(solver, gap=gap, cbc_options=("heur off",))
    start = time.perf_counter()
    rounds = 0
    steps = np.diff(ranked, axis=1)
    while True:
        rounds += 1
        prob, y = _model(ranked, order, steps, depth, p)
        report = solve(prob, lp_solver, gap=gap, what=f"p-median (p={p})")
        if report.status == "infeasible":
            raise InfeasibleError(f"p-median with p={p} is infeasible")
        chosen = np.array([v.value() > 0.5 for v in y])
        covered = chosen[order]  # open flags in each client's rank order
        first_open = covered.argmax(axis=1)
        short = first_open >= depth
        if not short.any() or (depth[short] >= m).all():
            break
        depth[short] = np.minimum(depth[short] * 2, m)
        logger.debug("p-median round %d: %d clients need more candidates", rounds, short.sum())
    best = np.where(chosen, values, np.inf).argmin(axis=1)
    objective = float(values[np.arange(n), best].sum())
    ids = np.asarray(costs.columns)
    return PMedianResult(
        open=sorted(ids[chosen].tolist()),
        assignment=pd.Series(ids[best], index=costs.index),
        objective=objective,
        bound=min(report.bound, objective),
        seconds=time.perf_counter() - start,
        rounds=rounds,
    )
