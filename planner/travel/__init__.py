"""Travel-time engines behind one interface."""

from __future__ import annotations

import logging
import os
from typing import Any

from planner.config import DataPaths, resolve_data_dir
from planner.errors import EngineError
from planner.travel.base import NearestResult, TravelEngine, TravelMatrix
from planner.travel.crowfly import CrowFly
from planner.travel.network import StreetNetwork, graph_from_osm
from planner.travel.registry import ENGINES, REGISTRY, EngineInfo, engine_info, engine_words
from planner.travel.transit import TransitParams, TransitTimes
from planner.travel.transit_data import TransitData, load_transit
from planner.travel.transit_simple import SimpleTransitParams, SimpleTransitTimes

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


def make_engine(
    name: str,
    *,
    data: DataPaths | str | os.PathLike[str] | None = None,
    params: dict[str, Any] | None = None,
    osm: str | os.PathLike[str] | None = None,
) -> TravelEngine:
    """Build an engine by name.

    Parameters
    ----------
    name
        A name in :data:`~planner.travel.registry.REGISTRY`: ``"transit"`` (the default for the
        45-minute test), ``"transit-simple"`` (the first approximation, kept for comparison),
        ``"network"`` or ``"crowfly"``.
    data
        The data directory (its :class:`~planner.config.DataPaths`, or the folder itself); needed by
        ``transit``; ``network`` looks up a bare OSM file name in its ``osm/`` folder.
    params
        Engine parameters: :class:`TransitParams` (or :class:`SimpleTransitParams`) fields, ``StreetNetwork``
        options (``mode``, ``walk_speed_kmh``, ``bike_speed_kmh``,
        ``max_snap_m``) or ``CrowFly`` options (``speed_kmh``, ``circuity``).
    osm
        OSM file for the ``network`` engine.

    Returns
    -------
    TravelEngine
        The configured engine.
    """
    if data is not None and not isinstance(data, DataPaths):  # a folder, as load_london takes it
        data = DataPaths(resolve_data_dir(data))
    info = engine_info(name)
    check_engine_params(name, params)  # before any data is read
    try:
        return info.build(data, dict(params or {}), osm)
    except TypeError as exc:
        raise EngineError(f"bad parameters for the {name} engine: {exc}") from exc


def check_engine_params(name: str, params: dict[str, Any] | None = None) -> None:
    """Refuse parameters an engine does not have, or values it cannot take, before any data is loaded.

    Parameters
    ----------
    name
        An engine name (see :data:`~planner.travel.registry.REGISTRY`).
    params
        Its parameters, as in a scenario's ``[engine.params]``.

    Raises
    ------
    EngineError
        Naming the unknown parameter or the bad value, and the parameters the engine knows.
    """
    info = engine_info(name)
    try:
        info.check(dict(params or {}))
    except TypeError as exc:
        raise EngineError(f"bad parameters for the {name} engine: {exc}") from exc
