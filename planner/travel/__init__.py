"""Travel-time engines behind one interface.

The engines are declared in :mod:`planner.travel.registry`; :func:`make_engine` builds one by name.
Names are imported on first use, so reading the registry does not load the engines."""

from __future__ import annotations

import logging

from planner.lazy import lazy_names
from planner.travel.registry import ENGINES, REGISTRY, EngineInfo, check_engine_params, engine_info, engine_words

__all__ = [
    "ENGINES",
    "REGISTRY",
    "CrowFly",
    "EngineInfo",
    "NearestResult",
    "SimpleTransitParams",
    "SimpleTransitTimes",
    "StreetNetwork",
    "TransitData",
    "TransitParams",
    "TransitTimes",
    "TravelEngine",
    "TravelMatrix",
    "check_engine_params",
    "engine_info",
    "engine_words",
    "graph_from_osm",
    "load_transit",
    "make_engine",
]

logger = logging.getLogger(__name__)


#: Public name -> (module, attribute), imported on first use.
_LAZY: dict[str, tuple[str, str]] = {
    "make_engine": ("planner.travel.builders", "make_engine"),
    "CrowFly": ("planner.travel.crowfly", "CrowFly"),
    "DataPaths": ("planner.config", "DataPaths"),
    "EngineError": ("planner.errors", "EngineError"),
    "NearestResult": ("planner.travel.base", "NearestResult"),
    "SimpleTransitParams": ("planner.travel.transit_simple", "SimpleTransitParams"),
    "SimpleTransitTimes": ("planner.travel.transit_simple", "SimpleTransitTimes"),
    "StreetNetwork": ("planner.travel.network", "StreetNetwork"),
    "TransitData": ("planner.travel.transit_data", "TransitData"),
    "TransitParams": ("planner.travel.transit_params", "TransitParams"),
    "TransitTimes": ("planner.travel.transit", "TransitTimes"),
    "TravelEngine": ("planner.travel.base", "TravelEngine"),
    "TravelMatrix": ("planner.travel.base", "TravelMatrix"),
    "graph_from_osm": ("planner.travel.network", "graph_from_osm"),
    "load_transit": ("planner.travel.transit_data", "load_transit"),
    "resolve_data_dir": ("planner.config", "resolve_data_dir"),
}


__getattr__, __dir__ = lazy_names(globals(), _LAZY)
