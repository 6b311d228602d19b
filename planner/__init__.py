"""planner: where can the public reach the police?

Load London's wards, counters and residents; compute travel times to the
nearest open front counter; design ward hubs; run, compare and optimise
closure scenarios; and draw maps for analysts and residents.
"""

from __future__ import annotations

import sys
import types
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

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
from planner.lazy import lazy_names

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


def _version() -> str:
    try:
        return version("planner")
    except PackageNotFoundError:  # pragma: no cover - a source tree without install
        return "unknown"


__version__ = _version()

if TYPE_CHECKING:  # the lazy names: read by type checkers and the API reference, imported on first use
    from planner.assess import AccessResult, assess
    from planner.boundaries import load_boroughs, load_wards, met_wards
    from planner.compare import Comparison, compare_runs
    from planner.config import BNG, DataPaths, resolve_data_dir
    from planner.context import RunContext
    from planner.datasets import fetch, load_manifest
    from planner.demand import Demand, load_demand
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


__getattr__, __dir__ = lazy_names(globals())


class _Package(types.ModuleType):
    """``planner.assess`` is both a module and the function most analysts call: importing the module binds
    its name on the package, which would hide the function; the function keeps the name (the module stays
    importable as ``planner.assess`` through ``sys.modules``, so ``from planner.assess import ...`` works)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in __all__ and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
