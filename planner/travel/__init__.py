"""Travel-time engines behind one interface.

The engines are declared in :mod:`planner.travel.registry`; :func:`make_engine` builds one by name.
Names are imported on first use, so reading the registry does not load the engines."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

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


if TYPE_CHECKING:  # the lazy names: read by type checkers and the API reference, imported on first use
    from planner.travel.base import NearestResult, TravelEngine, TravelMatrix
    from planner.travel.builders import make_engine
    from planner.travel.crowfly import CrowFly
    from planner.travel.network import StreetNetwork, graph_from_osm
    from planner.travel.transit import TransitTimes
    from planner.travel.transit_data import TransitData, load_transit
    from planner.travel.transit_params import TransitParams
    from planner.travel.transit_simple import SimpleTransitParams, SimpleTransitTimes


__getattr__, __dir__ = lazy_names(globals())
