"""Hub planning: the full-London plan against its 1 s target, and a p-median race against spopt.

Run: python -m benchmarks.hubs [--skip-spopt] [--repeat N] [--spopt-highs]

1. Plans London's hubs (4-5 contiguous wards per hub, within boroughs, as
   close to 150 hubs as possible), timing model build + solve (costs,
   adjacency, rule checks, the exact enumeration solve and the count
   choice) ``--repeat`` times.  The target, proven optimal in <= 1 s, is
   judged on the slowest run.  The reference in the same process is the
   compact MIP with contiguity cuts (CBC), which must give the same plan.
2. Solves the same unconstrained p-median instance (all 629 wards as clients
   and candidate sites, the same p as the plan) with planner's solver and
   with ``spopt.locate.PMedian``, both with CBC (the default solver), checks
   that the objectives are equal and prints the speed ratio against its
   target (>= 50x).  ``--spopt-highs`` also races HiGHS (informational).
3. Prints the peak memory of the process before the spopt runs (target
   <= 2 GB) and after them (the spopt reference is exempt).

Run it once on a quiet machine and once with ``python -m pytest -n 1 -q``
running alongside, to check that the targets hold with headroom.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import pandas as pd
import pulp

from benchmarks._common import data_dir, peak_memory_mb, quiet
from planner.hubs import HubOptions, adjacency_from_wards, plan_hubs, ward_costs, ward_sites
from planner.london import load_london
from planner.pmedian import solve_pmedian
from planner.travel import CrowFly

PLAN_TARGET_S = 1.0
PMEDIAN_TARGET = 50.0
MEMORY_TARGET_MB = 2048.0


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skip-spopt", action="store_true", help="skip the (slow: minutes) spopt runs")
    parser.add_argument("--spopt-highs", action="store_true", help="also race spopt with HiGHS")
    parser.add_argument("--repeat", type=int, default=5, help="timed London plans (default 5)")
    args = parser.parse_args()
    quiet()
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start")
    london = load_london(data_dir())
    wards, demand = london.study_wards, london.study_demand
    adjacency_from_wards(wards)  # warm the imports, outside the timings
    print(f"London hub plan: {len(wards)} wards, {wards['borough_code'].nunique()} boroughs")
    times, cpu = [], []
    for _ in range(max(1, args.repeat)):
        start, start_cpu = time.perf_counter(), time.process_time()
        plan = plan_hubs(wards, demand)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    methods = ",".join(sorted(set(plan.boroughs["method"])))
    statuses = ",".join(sorted(set(plan.boroughs["status"])))
    print(
        f"  planner ({methods}): {plan.n_hubs} hubs, objective {plan.objective:,.2f} person-minutes, "
        f"status {statuses}, gap {plan.gap:.1e}"
    )
    print(
        f"  model build + solve over {len(times)} runs: median {statistics.median(times):.3f} s, "
        f"slowest {max(times):.3f} s (CPU {statistics.median(cpu):.3f} s)"
    )
    start = time.perf_counter()
    reference = plan_hubs(wards, demand, options=HubOptions(method="mip", solver="cbc"))
    ref_seconds = time.perf_counter() - start
    same = reference.assignment.equals(plan.assignment) and np.allclose(
        reference.boroughs["objective"], plan.boroughs["objective"], rtol=1e-12
    )
    print(
        f"  reference, compact MIP with contiguity cuts (CBC): {ref_seconds:.2f} s, objective "
        f"{reference.objective:,.2f}; same plan and borough objectives: {same}; "
        f"planner is {ref_seconds / statistics.median(times):.0f}x faster"
    )
    if not same:
        raise SystemExit("the enumeration and the MIP disagree")
    print(
        f"  target: London plan proven optimal in <= {PLAN_TARGET_S:.0f} s (slowest run): "
        f"{_met(max(times) <= PLAN_TARGET_S)}"
    )

    sites = ward_sites(demand, wards)
    costs = ward_costs(demand, sites, CrowFly()).reindex(index=sites["site_id"]).fillna(0.0)
    p = plan.n_hubs
    print(f"Unconstrained p-median: {len(costs)} clients x {costs.shape[1]} candidates, p = {p}")
    ours: dict[str, tuple[float, float]] = {}
    for solver in ("cbc", "highs"):
        start = time.perf_counter()
        result = solve_pmedian(costs, p, solver=solver)
        ours[solver] = (time.perf_counter() - start, result.objective)
        print(
            f"  planner ({solver}): {ours[solver][0]:.2f} s, objective {result.objective:,.2f}, "
            f"{result.rounds} round(s)"
        )
    before = peak_memory_mb()
    print(f"peak memory before spopt: {before:,.0f} MB (target <= {MEMORY_TARGET_MB:,.0f} MB: {_met(before <= 2048)})")
    if args.skip_spopt:
        print("  spopt skipped (--skip-spopt): p-median target not measured")
        return
    races = [("cbc", pulp.PULP_CBC_CMD(msg=False))]
    if args.spopt_highs:
        races.append(("highs", pulp.HiGHS(msg=False)))
    for solver, pulp_solver in races:
        seconds, objective = _spopt(costs, p, pulp_solver)
        equal = bool(np.isclose(objective, ours[solver][1], rtol=1e-9))
        ratio = seconds / ours[solver][0]
        target = (
            f" (target >= {PMEDIAN_TARGET:.0f}x with CBC: {_met(ratio >= PMEDIAN_TARGET)})" if solver == "cbc" else ""
        )
        print(
            f"  spopt PMedian ({solver}): {seconds:.2f} s, objective {objective:,.2f}; equal objectives: {equal}; "
            f"planner is {ratio:.1f}x faster{target}"
        )
        if not equal:
            raise SystemExit("objectives differ")
    print(f"peak memory after spopt (reference exempt): {peak_memory_mb():,.0f} MB")


def _spopt(costs: pd.DataFrame, p: int, pulp_solver: pulp.LpSolver) -> tuple[float, float]:
    from spopt.locate import PMedian

    start = time.perf_counter()
    model = PMedian.from_cost_matrix(costs.to_numpy(), np.ones(len(costs)), p_facilities=p)
    model = model.solve(pulp_solver)
    return time.perf_counter() - start, float(model.problem.objective.value())


if __name__ == "__main__":
    main()
