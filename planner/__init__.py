"""planner: where can the public reach the police?

Load London's wards, counters and residents; compute travel times to the
nearest open front counter; design ward hubs; run, compare and optimise
closure scenarios; and draw maps for analysts and residents.
"""

from __future__ import annotations

import sys
import types
from importlib.metadata import PackageNotFoundError, version

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

#: Public name -> (module, attribute), imported on first use.
_LAZY: dict[str, tuple[str, str]] = {
    "AccessResult": ("planner.assess", "AccessResult"),
    "BNG": ("planner.config", "BNG"),
    "Comparison": ("planner.compare", "Comparison"),
    "CrowFly": ("planner.travel", "CrowFly"),
    "DataPaths": ("planner.config", "DataPaths"),
    "Demand": ("planner.demand", "Demand"),
    "Evaluator": ("planner.sweep", "Evaluator"),
    "HubOptions": ("planner.hubs", "HubOptions"),
    "HubPlan": ("planner.hubs", "HubPlan"),
    "HubProblem": ("planner.hubs", "HubProblem"),
    "HubTarget": ("planner.hubs", "HubTarget"),
    "London": ("planner.london", "London"),
    "Report": ("planner.report", "Report"),
    "RunContext": ("planner.context", "RunContext"),
    "Scenario": ("planner.scenario", "Scenario"),
    "ScenarioRun": ("planner.runfolder", "ScenarioRun"),
    "StreetNetwork": ("planner.travel", "StreetNetwork"),
    "TransitParams": ("planner.travel", "TransitParams"),
    "TransitTimes": ("planner.travel", "TransitTimes"),
    "TravelEngine": ("planner.travel", "TravelEngine"),
    "access_figures": ("planner.stats", "access_figures"),
    "assess": ("planner.assess", "assess"),
    "cached_matrix": ("planner.sweep", "cached_matrix"),
    "check_threshold": ("planner.stats", "check_threshold"),
    "choose_counters": ("planner.optimise", "choose_counters"),
    "compare_runs": ("planner.compare", "compare_runs"),
    "data_summary": ("planner.london", "data_summary"),
    "fetch": ("planner.datasets", "fetch"),
    "load_boroughs": ("planner.boundaries", "load_boroughs"),
    "load_demand": ("planner.demand", "load_demand"),
    "load_london": ("planner.london", "load_london"),
    "load_manifest": ("planner.datasets", "load_manifest"),
    "load_run": ("planner.runfolder", "load_run"),
    "load_scenario": ("planner.scenario", "load_scenario"),
    "load_stations": ("planner.stations", "load_stations"),
    "load_wards": ("planner.boundaries", "load_wards"),
    "make_engine": ("planner.travel", "make_engine"),
    "met_wards": ("planner.boundaries", "met_wards"),
    "open_counters": ("planner.stations", "open_counters"),
    "plan_hubs": ("planner.hubs", "plan_hubs"),
    "plan_sessions": ("planner.optimise", "plan_sessions"),
    "planner_version": ("planner.context", "planner_version"),
    "propose": ("planner.proposals", "propose"),
    "resolve_data_dir": ("planner.config", "resolve_data_dir"),
    "run_scenario": ("planner.run", "run_scenario"),
    "run_sweep": ("planner.sweep", "run_sweep"),
    "select_counters": ("planner.stations", "select_counters"),
    "sessions": ("planner.proposals", "sessions"),
    "solve_hubs": ("planner.hubs", "solve_hubs"),
    "solve_pmedian": ("planner.pmedian", "solve_pmedian"),
    "tradeoff": ("planner.optimise", "tradeoff"),
    "weighted_quantile": ("planner.stats", "weighted_quantile"),
    "write_change_map": ("planner.maps", "write_change_map"),
    "write_hubs": ("planner.hubs", "write_hubs"),
    "write_maps": ("planner.maps", "write_maps"),
    "write_report": ("planner.report", "write_report"),
}


__getattr__, __dir__ = lazy_names(globals(), _LAZY)


class _Package(types.ModuleType):
    """``planner.assess`` is both a module and the function most analysts call: importing the module binds
    its name on the package, which would hide the function; the function keeps the name (the module stays
    importable as ``planner.assess`` through ``sys.modules``, so ``from planner.assess import ...`` works)."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
