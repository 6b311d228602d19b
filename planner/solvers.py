"""Injectable MIP solvers (PuLP) with strict status checks.

CBC is the default; ``"highs"`` selects HiGHS through highspy.  Any PuLP
solver instance can be passed instead.  :func:`solve` raises unless the
solver proves optimality within the requested relative gap.
"""

from __future__ import annotations

import functools
import logging
import math
import os
import sys
import time
from dataclasses import dataclass

import pulp

from planner.errors import SolverError

__all__ = ["SOLVERS", "SolveReport", "make_solver", "solve"]

logger = logging.getLogger(__name__)

SOLVERS = ("cbc", "highs")


@dataclass(frozen=True)
class SolveReport:
    """How one solve ended.

    Attributes
    ----------
    status
        ``"optimal"`` (within ``gap``) or ``"infeasible"``.
    objective
        Objective value of the solution found.
    bound
        A proven bound on the optimum: lower when minimising, upper when
        maximising (HiGHS reports its dual bound; for CBC, which PuLP does
        not ask for its bound, ``objective × (1 ∓ gap)``, which its stopping
        rule guarantees).
    gap
        ``|objective - bound| / |objective|``.
    seconds
        Wall-clock solve time.
    """

    status: str
    objective: float
    bound: float
    gap: float
    seconds: float


def make_solver(
    solver: str | pulp.LpSolver | None = None,
    *,
    gap: float = 0.0,
    time_limit: float | None = None,
    threads: int = 1,
    cbc_options: tuple[str, ...] = (),
) -> pulp.LpSolver:
    """Return a PuLP solver.

    Parameters
    ----------
    solver
        ``"cbc"`` (default), ``"highs"`` or a configured PuLP solver.
    gap
        Relative optimality gap at which the solver may stop.
    time_limit
        Seconds per solve, or None.
    threads
        Solver threads; 1 keeps results reproducible.
    cbc_options
        Extra CBC command-line options (e.g. ``("heur off",)``), for CBC only.
    """
    if isinstance(solver, pulp.LpSolver):
        return solver
    name = (solver or "cbc").lower()
    if name == "cbc":
        return pulp.PULP_CBC_CMD(
            msg=False, gapRel=gap, timeLimit=time_limit, threads=threads, options=list(cbc_options)
        )
    if name == "highs":
        if not pulp.HiGHS().available():
            raise SolverError("HiGHS is not available: install highspy (`pip install highspy`).")
        _absorb_highs_banner()
        return pulp.HiGHS(msg=False, gapRel=gap, timeLimit=time_limit, threads=threads)
    raise SolverError(f"unknown solver {solver!r}; choose one of {', '.join(SOLVERS)} or pass a PuLP solver")


@functools.cache
def _absorb_highs_banner() -> None:
    """HiGHS prints a banner to standard output once per process, whatever ``msg`` says; take it here."""
    import highspy

    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def solve(problem: pulp.LpProblem, solver: pulp.LpSolver, *, gap: float, what: str) -> SolveReport:
    """Solve and check the status.

    Parameters
    ----------
    problem
        The model.
    solver
        From :func:`make_solver`.
    gap
        The relative gap that counts as optimal.
    what
        Names the model in messages, e.g. ``"hubs for Camden (h=4)"``.

    Returns
    -------
    SolveReport
        With status ``"infeasible"`` if the model has no solution; the caller
        explains why.

    Raises
    ------
    SolverError
        If the solver stopped without a solution proven within ``gap``.
    """
    start = time.perf_counter()
    try:
        problem.solve(solver)
    except pulp.PulpSolverError as exc:
        raise SolverError(f"{what}: the solver failed ({exc})") from exc
    seconds = time.perf_counter() - start
    status = pulp.LpStatus[problem.status]
    if status == "Infeasible":
        return SolveReport("infeasible", math.nan, math.nan, math.nan, seconds)
    if status != "Optimal" or problem.sol_status != pulp.LpSolutionOptimal:
        raise SolverError(
            f"{what}: solver stopped with status {status!r} (solution status "
            f"{pulp.LpSolution.get(problem.sol_status, problem.sol_status)}), not a proven optimum within "
            f"gap {gap:g}. Raise the time limit or the allowed gap."
        )
    objective = float(pulp.value(problem.objective) or 0.0)
    maximise = problem.sense == pulp.LpMaximize
    bound = objective * (1 + gap if maximise else 1 - gap)
    model = getattr(problem, "solverModel", None)
    if model is not None and hasattr(model, "getInfo"):
        dual = float(getattr(model.getInfo(), "mip_dual_bound", math.nan))
        # PuLP hands HiGHS a maximisation negated and without the objective's constant term
        dual = (-dual if maximise else dual) + float(problem.objective.constant or 0.0)
        if math.isfinite(dual):
            bound = max(objective, dual) if maximise else min(objective, dual)
    achieved = abs(objective - bound) / abs(objective) if objective else 0.0
    if achieved > gap + 1e-9:
        raise SolverError(f"{what}: gap {achieved:.3g} exceeds the allowed {gap:g}")
    return SolveReport("optimal", objective, bound, max(achieved, 0.0), seconds)
