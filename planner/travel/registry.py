"""The engine registry: every travel-time engine's name, parameters, inputs and abilities, declared once.

The scenario model, the command line, the run folder's checks, the maps, the report and the docs all read
:data:`REGISTRY`; nothing else lists the engine names.  The module is light (the builders in
:mod:`planner.travel.builders` are imported when an engine is first made), so ``planner --help`` reads it
without loading the engines.  Each entry says

- its ``name`` (as written in ``engine.name`` of a scenario and ``--engine``) and a one-line ``summary``;
- ``words``: how pages and the report say the trips were timed ("by public transport");
- :meth:`~EngineInfo.check`: its parameter model, checked once, before any data is read;
- :meth:`~EngineInfo.build`: how it is made from the data directory, its parameters and an OSM file; the
  built engine's :meth:`~planner.travel.TravelEngine.input_files` is the single list of files it read,
  which manifests and cache keys both use;
- what it supports: timing residents' trips to hub sites (``hubs``), calibration against DfT's statistics
  (``calibrates``) and parameter grids (``grids``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

from planner.errors import EngineError

if TYPE_CHECKING:
    from planner.config import DataPaths
    from planner.travel.base import TravelEngine

__all__ = ["ENGINES", "REGISTRY", "EngineInfo", "check_engine_params", "engine_info", "engine_words"]

logger = logging.getLogger(__name__)


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
    key
        Its functions' suffix in :mod:`planner.travel.builders` (``build_<key>``, ``check_<key>`` and,
        where it documents its defaults, ``reasons_<key>``).
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
    key: str
    hubs: bool = False
    calibrates: bool = False
    grids: bool = False

    def build(self, data: DataPaths | None, params: dict[str, Any], osm: str | os.PathLike[str] | None) -> TravelEngine:
        """The configured engine (``data``: the data directory; ``osm``: an OSM file for ``network``)."""
        return getattr(_builders(), f"build_{self.key}")(data, params, osm)

    def check(self, params: dict[str, Any]) -> None:
        """Refuse parameters the engine does not have, or values outside their plausible range."""
        getattr(_builders(), f"check_{self.key}")(params)

    def reasons(self) -> dict[str, tuple[float, str]]:
        """Each parameter's default and why (empty for an engine without documented defaults)."""
        found = getattr(_builders(), f"reasons_{self.key}", None)
        return found() if found else {}


def _builders() -> Any:
    """:mod:`planner.travel.builders`, imported when an engine is first made or checked."""
    return import_module("planner.travel.builders")


#: Every engine, by name, in the order help texts list them (the first is the default for residents).
REGISTRY: dict[str, EngineInfo] = {
    info.name: info
    for info in (
        EngineInfo(
            "transit",
            "walking, buses along their routes, tube, National Rail and trams (the default)",
            "by public transport",
            "transit",
            hubs=True,
            calibrates=True,
            grids=True,
        ),
        EngineInfo(
            "transit-simple",
            "the superseded first approximation (buses at a network speed), kept for comparison",
            "by public transport (first approximation)",
            "transit_simple",
            hubs=True,
            calibrates=True,
            grids=True,
        ),
        EngineInfo(
            "network",
            "walking, cycling or driving on an OpenStreetMap street network (needs an OSM file)",
            "by street network",
            "network",
        ),
        EngineInfo(
            "crowfly",
            "the straight line at a fixed speed and circuity (a quick estimate)",
            "as a straight-line estimate",
            "crowfly",
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
