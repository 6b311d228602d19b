"""planner: where can the public reach the police?

Load London's wards, counters and residents; compute travel times to the
nearest open front counter; design ward hubs; run, compare and optimise
closure scenarios; and draw maps for analysts and residents.
"""

from __future__ import annotations

from planner.clock import check_source_date_epoch

check_source_date_epoch()  # before numpy reads it on import (it fails with a bare ValueError)

from planner.assess import AccessResult, assess
from planner.boundaries import load_boroughs, load_wards, met_wards
from planner.compare import Comparison, compare_runs
from planner.config import BNG, DataPaths, resolve_data_dir
from planner.context import RunContext, planner_version
from planner.datasets import fetch, load_manifest
from planner.demand import Demand, load_demand
from planner.errors import (
    CRSError,
    DataDirError,
    DataError,
    EngineError,
    FetchError,
    InfeasibleError,
    OptionError,
    PlannerError,
    PlannerWarning,
    ReportError,
    ScenarioError,
    SchedulerError,
    SolverError,
)
from planner.hubs import HubOptions, HubPlan, HubProblem, HubTarget, plan_hubs, solve_hubs, write_hubs
from planner.london import London, data_summary, load_london
from planner.maps import write_change_map, write_maps
from planner.optimise import choose_counters, plan_sessions, tradeoff
from planner.pmedian import solve_pmedian
from planner.proposals import propose, sessions
from planner.report import Report, write_report
from planner.run import run_scenario
from planner.runfolder import ScenarioRun, load_run
from planner.scenario import Scenario, load_scenario
from planner.stations import load_stations, open_counters, select_counters
from planner.stats import access_figures, check_threshold, weighted_quantile
from planner.sweep import Evaluator, cached_matrix, run_sweep
from planner.travel import CrowFly, StreetNetwork, TransitParams, TransitTimes, TravelEngine, make_engine

__version__ = planner_version()

__all__ = [
    "BNG",
    "AccessResult",
    "CRSError",
    "Comparison",
    "CrowFly",
    "DataDirError",
    "DataError",
    "DataPaths",
    "Demand",
    "EngineError",
    "Evaluator",
    "FetchError",
    "HubOptions",
    "HubPlan",
    "HubProblem",
    "HubTarget",
    "InfeasibleError",
    "London",
    "OptionError",
    "PlannerError",
    "PlannerWarning",
    "Report",
    "ReportError",
    "RunContext",
    "Scenario",
    "ScenarioError",
    "ScenarioRun",
    "SchedulerError",
    "SolverError",
    "StreetNetwork",
    "TransitParams",
    "TransitTimes",
    "TravelEngine",
    "__version__",
    "access_figures",
    "assess",
    "cached_matrix",
    "check_threshold",
    "choose_counters",
    "compare_runs",
    "data_summary",
    "fetch",
    "load_boroughs",
    "load_demand",
    "load_london",
    "load_manifest",
    "load_run",
    "load_scenario",
    "load_stations",
    "load_wards",
    "make_engine",
    "met_wards",
    "open_counters",
    "plan_hubs",
    "plan_sessions",
    "propose",
    "resolve_data_dir",
    "run_scenario",
    "run_sweep",
    "select_counters",
    "sessions",
    "solve_hubs",
    "solve_pmedian",
    "tradeoff",
    "weighted_quantile",
    "write_change_map",
    "write_hubs",
    "write_maps",
    "write_report",
]
