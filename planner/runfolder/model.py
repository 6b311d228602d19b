"""One scenario's results in memory, as :func:`planner.run.run_scenario` returns them and
:func:`~planner.runfolder.load_run` reads them back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from planner.assess import AccessResult
from planner.hubs import HubPlan
from planner.scenario import Scenario
from planner.travel import TravelEngine

__all__ = [
    "ScenarioRun",
    "engine_label",
]


@dataclass
class ScenarioRun:
    """A scenario's results, in memory or read back from its output folder.

    Attributes
    ----------
    scenario
        The scenario.
    counters
        Open counters, every column of the stations file, plus ``open_24_7``
        and ``borough_code``.
    points
        Per demand point: ``point_id``, ``ward_code``, ``borough_code``,
        ``borough_name``, ``population``, ``pop_65_plus``, ``minutes``,
        ``station_id``, ``reachable``.
    wards
        Ward names and codes with ``population``.
    boroughs
        Met borough codes and names.
    access
        Threshold → :class:`~planner.assess.AccessResult` (in-memory runs only).
    hubs
        The hub plan (in-memory runs only).
    hub_engine
        The engine that timed residents' trips to the hub sites (in-memory runs only).
    beyond_24_7
        Threshold (``"45"``) → residents and residents aged 65+ beyond it
        from the nearest *24/7* counter (in-memory runs only; also in
        ``summary.json``).
    out_dir
        Where it was written.
    equality
        ``summary.json``'s ``equality`` entry: per threshold label, each resident group's residents,
        residents beyond and disproportion ratio in London, with the groups omitted and the sources.
    equality_tables
        Threshold label -> :func:`planner.equality.equality_table` (London and boroughs; in-memory runs).
    equality_wards
        Threshold label -> :func:`planner.equality.ward_table` (each group's residents beyond, by ward).
    """

    scenario: Scenario
    counters: pd.DataFrame
    points: pd.DataFrame
    wards: pd.DataFrame
    boroughs: pd.DataFrame
    access: dict[float, AccessResult] = field(default_factory=dict)
    hubs: HubPlan | None = None
    out_dir: Path | None = None
    hub_table: pd.DataFrame | None = None
    hub_engine: TravelEngine | None = None
    engine: dict = field(default_factory=dict)
    beyond_24_7: dict[str, dict] = field(default_factory=dict)
    equality: dict = field(default_factory=dict)
    equality_tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    equality_wards: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def engine_label(self) -> str:
        """The engine that produced the minutes and its parameter set, in one line."""
        return engine_label(self.engine, self.scenario.engine.params)


def engine_label(description: dict, overrides: dict | None = None) -> str:
    """``"transit (default parameters)"`` or ``"transit (bus_speed_kmh=12)"``.

    Parameters
    ----------
    description
        An engine's :meth:`~planner.travel.TravelEngine.describe` output.
    overrides
        The parameters the scenario set (the rest are the engine's defaults).
    """
    name = description.get("engine", "unknown engine")
    if not overrides:
        return f"{name} (default parameters)"
    return (
        f"{name} ("
        + ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in sorted(overrides.items()))
        + ")"
    )
