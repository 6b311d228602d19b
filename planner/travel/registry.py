"""The engine registry: every travel-time engine's name, parameters, inputs and abilities, declared once.

The scenario model, the command line, the run folder's checks, the maps, the report and the docs all read
:data:`REGISTRY`; nothing else lists the engine names.  Each entry says

- its ``name`` (as written in ``engine.name`` of a scenario and ``--engine``) and a one-line ``summary``;
- ``words``: how pages and the report say the trips were timed ("by public transport");
- ``check``: its parameter model, checked once, before any data is read;
- ``build``: how it is made from the data directory, its parameters and an OSM file; the built engine's
  :meth:`~planner.travel.TravelEngine.input_files` is the single list of files it read, which manifests
  and cache keys both use;
- what it supports: timing residents' trips to hub sites (``hubs``), calibration against DfT's statistics
  (``calibrates``) and parameter grids (``grids``).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, get_args
from xml.etree.ElementTree import ParseError

from planner.config import DataPaths
from planner.errors import EngineError
from planner.travel.base import TravelEngine
from planner.travel.bounds import check_bounds
from planner.travel.crowfly import CrowFly
from planner.travel.network import Mode, StreetNetwork
from planner.travel.transit import TransitParams, TransitTimes
from planner.travel.transit_data import load_transit
from planner.travel.transit_simple import SimpleTransitParams, SimpleTransitTimes

__all__ = ["ENGINES", "REGISTRY", "EngineInfo", "engine_info", "engine_words"]

logger = logging.getLogger(__name__)

Builder = Callable[[DataPaths | None, dict[str, Any], "str | os.PathLike[str] | None"], TravelEngine]

#: How a street-network run's trips are said, by travel mode.
_NETWORK_WORDS = {"walk": "on foot", "bike": "by bike", "drive": "by car"}


@dataclass(frozen=True)
class EngineInfo:
    """One engine's declaration.

    Parameters
    ----------
    name
        The engine's name in scenarios (``engine.name``) and on the command line.
    summary
        One line for help texts and the docs.
    words
        How maps and the report say the trips were timed.
    build
        ``build(data, params, osm)`` returns the configured engine.
    check
        ``check(params)`` refuses unknown parameters and values out of range.
    reasons
        ``reasons()`` gives each parameter's default and why (for the report's methods); ``None`` when
        the engine has no documented defaults.
    hubs
        Whether it can time residents' trips to hub sites (no OSM file can be given for them).
    calibrates
        Whether ``planner calibrate`` scores it against DfT's journey-time statistics.
    grids
        Whether ``planner calibrate --grid`` can fit its parameters.
    """

    name: str
    summary: str
    words: str
    build: Builder
    check: Callable[[dict[str, Any]], None]
    reasons: Callable[[], dict[str, tuple[float, str]]] | None = None
    hubs: bool = False
    calibrates: bool = False
    grids: bool = False


def _params_of(cls: type) -> Callable[[dict[str, Any]], None]:
    def check(params: dict[str, Any]) -> None:
        cls().with_overrides(**params)

    return check


def _street_check(name: str) -> Callable[[dict[str, Any]], None]:
    """The crow-fly and street engines' options: known names, positive numbers, a known travel mode."""
    cls = CrowFly if name == "crowfly" else StreetNetwork

    def check(params: dict[str, Any]) -> None:
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

    return check


def _transit(data: DataPaths | None, params: dict[str, Any], osm: object) -> TravelEngine:
    if data is None:
        raise EngineError("the transit engine needs the data directory (`data`: bus routes, rail graph)")
    chosen = TransitParams().with_overrides(**params)
    loaded = load_transit(data, national_rail=chosen.national_rail, trams=chosen.trams)
    return TransitTimes(loaded, chosen)


def _transit_simple(data: DataPaths | None, params: dict[str, Any], osm: object) -> TravelEngine:
    if data is None:
        raise EngineError("the transit-simple engine needs the data directory (`data`: bus stops, rail graph)")
    logger.warning(
        "transit-simple is the superseded first approximation (about 5 minutes too fast against DfT's "
        "journey time statistics); use it only to compare with the default transit engine"
    )
    return SimpleTransitTimes(load_transit(data, bus_routes=False), SimpleTransitParams().with_overrides(**params))


def _crowfly(data: DataPaths | None, params: dict[str, Any], osm: object) -> TravelEngine:
    return CrowFly(**params)


def _network(data: DataPaths | None, params: dict[str, Any], osm: str | os.PathLike[str] | None) -> TravelEngine:
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


#: Every engine, by name, in the order help texts list them (the first is the default for residents).
REGISTRY: dict[str, EngineInfo] = {
    info.name: info
    for info in (
        EngineInfo(
            "transit",
            "walking, buses along their routes, tube, National Rail and trams (the default)",
            "by public transport",
            _transit,
            _params_of(TransitParams),
            reasons=TransitParams.reasons,
            hubs=True,
            calibrates=True,
            grids=True,
        ),
        EngineInfo(
            "transit-simple",
            "the superseded first approximation (buses at a network speed), kept for comparison",
            "by public transport (first approximation)",
            _transit_simple,
            _params_of(SimpleTransitParams),
            reasons=SimpleTransitParams.reasons,
            hubs=True,
            calibrates=True,
            grids=True,
        ),
        EngineInfo(
            "network",
            "walking, cycling or driving on an OpenStreetMap street network (needs an OSM file)",
            "by street network",
            _network,
            _street_check("network"),
        ),
        EngineInfo(
            "crowfly",
            "the straight line at a fixed speed and circuity (a quick estimate)",
            "as a straight-line estimate",
            _crowfly,
            _street_check("crowfly"),
            hubs=True,
            calibrates=True,
        ),
    )
}

#: The engine names, in the registry's order.
ENGINES: tuple[str, ...] = tuple(REGISTRY)


def engine_info(name: str) -> EngineInfo:
    """The registry's entry for ``name``.

    Parameters
    ----------
    name
        An engine name.

    Returns
    -------
    EngineInfo
        Its declaration.

    Raises
    ------
    EngineError
        For a name the registry lacks, listing the known ones.
    """
    info = REGISTRY.get(name) if isinstance(name, str) else None
    if info is None:
        raise EngineError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
    return info


def engine_words(engine: dict[str, Any]) -> str:
    """How a run's trips are said on maps and in the report, from its manifest's ``engine`` description.

    Parameters
    ----------
    engine
        :meth:`~planner.travel.TravelEngine.describe` of the run's engine (``engine`` names it; a network
        run also gives ``mode``).

    Returns
    -------
    str
        For example ``"by public transport"`` or ``"on foot"``; an engine the registry lacks is named in
        brackets.
    """
    name = engine.get("engine", "")
    if name == "network":
        return _NETWORK_WORDS.get(engine.get("mode", "walk"), REGISTRY["network"].words)
    info = REGISTRY.get(name)
    return info.words if info else f"({name or 'unknown engine'})"
