"""Hub planning: the full-London solve, and a p-median race against spopt.

Run: python -m benchmarks.hubs [--skip-spopt]

1. Solves the London hub plan (4-5 contiguous wards per hub, within boroughs,
   as close to 150 hubs as possible) with CBC and HiGHS and prints the time,
   status and gap of each.
2. Solves the same unconstrained p-median instance (all 629 wards as clients
   and candidate sites, the same p as the plan) with spopt.locate.PMedian and
   with planner's solver, checks that the objectives are equal and prints the
   time ratio.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pulp

from benchmarks._common import data_dir, peak_memory_mb, quiet, timer
from planner.hubs import _ward_costs, adjacency_from_wards, plan_hubs, ward_sites
from planner.london import load_london
from planner.pmedian import solve_pmedian
from planner.travel import CrowFly


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-spopt", action="store_true", help="skip the (slow) spopt run")
    args = parser.parse_args()
    quiet()
    london = load_london(data_dir())
    wards, demand = london.study_wards, london.study_demand
    adjacency_from_wards(wards)  # import libpysal once, outside the timings
    print(f"London hub plan: {len(wards)} wards, {wards['borough_code'].nunique()} boroughs")
    for solver in ("cbc", "highs"):
        t: dict[str, float] = {}
        with timer(t, "total"):
            plan = plan_hubs(wards, demand, solver=solver)
        statuses = ",".join(sorted(set(plan.boroughs["status"])))
        print(
            f"  {solver:5s}: {plan.n_hubs} hubs in {t['total']:.2f} s (model build + solves; "
            f"solver time {plan.boroughs['seconds'].sum():.2f} s), status {statuses}, gap {plan.gap:.1e}, "
            f"objective {plan.objective:,.0f} person-minutes, "
            f"{int(plan.boroughs['cuts'].sum())} contiguity cuts"
        )
    print(f"  target: proven optimal in <= 5 s: {'met' if t['total'] <= 5 else 'NOT met'} (HiGHS)")

    sites = ward_sites(demand, wards)
    person, _ = _ward_costs(demand, sites, CrowFly())
    costs = person.reindex(index=sites["site_id"]).fillna(0.0)
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
    if args.skip_spopt:
        print(f"peak memory of this process: {peak_memory_mb():,.0f} MB")
        return
    from spopt.locate import PMedian

    for solver, pulp_solver in (("cbc", pulp.PULP_CBC_CMD(msg=False)), ("highs", pulp.HiGHS(msg=False))):
        start = time.perf_counter()
        model = PMedian.from_cost_matrix(costs.to_numpy(), np.ones(len(costs)), p_facilities=p)
        model = model.solve(pulp_solver)
        seconds = time.perf_counter() - start
        objective = float(model.problem.objective.value())
        equal = bool(np.isclose(objective, ours[solver][1], rtol=1e-9))
        ratio = seconds / ours[solver][0]
        print(
            f"  spopt PMedian ({solver}): {seconds:.2f} s, objective {objective:,.2f}; equal objectives: {equal}; "
            f"planner is {ratio:.1f}x faster (target >= 10x: {'met' if ratio >= 10 else 'NOT met'})"
        )
        if not equal:
            raise SystemExit("objectives differ")

    print(f"peak memory of this process: {peak_memory_mb():,.0f} MB")


if __name__ == "__main__":
    main()
