"""Ward hubs: partition each borough's wards into contiguous hubs of 4–5 wards, proven optimal.

The package, in the order data flows through it:

- :mod:`~planner.hubs.model`: the hub target, the options, the labelled
  problem (a cost matrix of ward codes × site ids) and the solved plan;
- :mod:`~planner.hubs.inputs`: adjacency, ward-centre sites, person-minute
  costs and site flags, from GeoDataFrames;
- :mod:`~planner.hubs.rules`: joined boroughs, and the rule checks that
  explain an infeasible request before anything is solved;
- :mod:`~planner.hubs.enumeration`: the default exact solve of a borough,
  by enumerating connected ward sets and partitioning them by dynamic
  programming;
- :mod:`~planner.hubs.mip`: the compact MIP with contiguity cuts, the
  fallback for boroughs too large to enumerate and the tests' cross-check;
- :mod:`~planner.hubs.plan`: :func:`plan_hubs` and :func:`solve_hubs`, which
  solve every borough and choose the hub count across boroughs;
- :mod:`~planner.hubs.io`: the hubs table, polygons and files.
"""

from planner.hubs.inputs import adjacency_from_wards, site_flags, ward_costs, ward_sites
from planner.hubs.io import hub_colours, hub_outputs, write_hubs
from planner.hubs.model import HubOptions, HubPlan, HubProblem, HubTarget
from planner.hubs.plan import hub_problem, plan_hubs, solve_hubs

__all__ = [
    "HubOptions",
    "HubPlan",
    "HubProblem",
    "HubTarget",
    "adjacency_from_wards",
    "hub_colours",
    "hub_outputs",
    "hub_problem",
    "plan_hubs",
    "site_flags",
    "solve_hubs",
    "ward_costs",
    "ward_sites",
    "write_hubs",
]
