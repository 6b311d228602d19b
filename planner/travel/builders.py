"""How each engine of the registry is built and its parameters checked (imported when an engine is made).

:mod:`planner.travel.registry` names these functions for each engine (``build_<key>``, ``check_<key>``,
``reasons_<key>``), so that reading the registry (the command line's help, scenario validation) does not
load the engines and their libraries.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import fields
from typing import Any, get_args
from xml.etree.ElementTree import ParseError

from planner.config import DataPaths, resolve_data_dir
from planner.errors import EngineError
from planner.travel.base import TravelEngine
from planner.travel.bounds import check_bounds
from planner.travel.crowfly import CrowFly
from planner.travel.network import Mode, StreetNetwork
from planner.travel.registry import check_engine_params, engine_info
from planner.travel.transit import TransitTimes
from planner.travel.transit_data import load_transit
from planner.travel.transit_params import TransitParams
from planner.travel.transit_simple import SimpleTransitParams, SimpleTransitTimes

__all__ = ["make_engine"]

logger = logging.getLogger(__name__)


def _check_street(name: str, params: dict[str, Any]) -> None:
    """The crow-fly and street engines' options: known names, positive numbers, a known travel mode."""
    cls = CrowFly if name == "crowfly" else StreetNetwork
    if True:
        known = {f.name for f in fields(cls) if f.init and f.name not in ("graph", "source")}
        unknown = sorted(set(params) - known)
        if unknown:
            raise EngineError(f"unknown {name} parameter(s) {unknown}; known: {sorted(known)}")
        for key, value in params.items():
            if key == "mode":
                if value not in get_args(Mode):
                    raise EngineError(f"{name} mode must be one of {', '.join(get_args(Mode))} (got {value!r})")
            elif isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
                raise EngineError(f"{name} parameter {key} must be a finite number above 0 (got {value!r})")
        check_bounds(name, params)
        if name == "crowfly":
            CrowFly(**params)  # its own rules too (circuity >= 1)


def build_transit(data: DataPaths | None, params: dict[str, Any], osm: object) -> TravelEngine:
    if data is None:
        raise EngineError("the transit engine needs the data directory (`data`: bus routes, rail graph)")
    chosen = TransitParams().with_overrides(**params)
    loaded = load_transit(data, national_rail=chosen.national_rail, trams=chosen.trams)
    return TransitTimes(loaded, chosen)


def build_transit_simple(data: DataPaths | None, params: dict[str, Any], osm: object) -> TravelEngine:
    if data is None:
        raise EngineError("the transit-simple engine needs the data directory (`data`: bus stops, rail graph)")
    logger.warning(
        "transit-simple is the superseded first approximation (about 5 minutes too fast against DfT's "
        "journey time statistics); use it only to compare with the default transit engine"
    )
    return SimpleTransitTimes(load_transit(data, bus_routes=False), SimpleTransitParams().with_overrides(**params))


def build_crowfly(data: DataPaths | None, params: dict[str, Any], osm: object) -> TravelEngine:
    return CrowFly(**params)


def build_network(data: DataPaths | None, params: dict[str, Any], osm: str | os.PathLike[str] | None) -> TravelEngine:
    if osm is None:
        raise EngineError("the network engine needs an OSM file (`osm`, or engine.osm in a scenario)")
    path = osm
    if data is not None and not os.path.exists(osm):
        path = data.osm(str(osm))
    mode = params.pop("mode", "walk")
    if os.path.isfile(path) and os.path.getsize(path) == 0:
        raise EngineError(f"OSM file {path} is empty (0 bytes); download the extract again.")
    try:
        return StreetNetwork.from_osm(path, mode=mode, **params)
    except (ParseError, RuntimeError) as exc:  # expat on .osm XML, libosmium on .osm.pbf
        raise EngineError(
            f"cannot read OSM file {path}: {exc}. The file is truncated or damaged; download the "
            "extract again (for example from download.geofabrik.de) or export it again."
        ) from exc


def check_transit(params: dict[str, Any]) -> None:
    """Refuse parameters :class:`~planner.travel.TransitParams` lacks, or values out of range."""
    TransitParams().with_overrides(**params)


def check_transit_simple(params: dict[str, Any]) -> None:
    """Refuse parameters :class:`~planner.travel.SimpleTransitParams` lacks, or values out of range."""
    SimpleTransitParams().with_overrides(**params)


def check_network(params: dict[str, Any]) -> None:
    """Refuse options :class:`~planner.travel.StreetNetwork` lacks, or values it cannot take."""
    _check_street("network", params)


def check_crowfly(params: dict[str, Any]) -> None:
    """Refuse options :class:`~planner.travel.CrowFly` lacks, or values it cannot take."""
    _check_street("crowfly", params)


def reasons_transit() -> dict[str, tuple[float, str]]:
    """Each transit parameter's default and why (the report's methods)."""
    return TransitParams.reasons()


def reasons_transit_simple() -> dict[str, tuple[float, str]]:
    """Each transit-simple parameter's default and why."""
    return SimpleTransitParams.reasons()


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
