"""The transit engine's parameters: each default with its reason, and the calibration they come from."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from planner.errors import EngineError
from planner.travel.bounds import check_bounds

__all__ = ["CALIBRATION", "TransitParams"]


#: The fit of the default parameters against DfT's JTS04 2016 hospital times
#: (``HospPTt`` and the shares within 30/45/60 minutes), across the 32 London
#: boroughs; reproduce it with ``planner calibrate --data DIR``.
CALIBRATION: dict[str, Any] = {
    "reference": "DfT JTS04 2016, nearest hospital by public transport (HospPTt, HospPT30/45/60pct)",
    "destinations": "nhs_choices_hospital_2014.csv by planner.calibrate.NHS2014_RULE (set_nhs2014, 83 sites)",
    "boroughs": 32,
    "bias_min": -0.56,
    "mae_min": 1.64,
    "rmse_min": 2.37,
    "corr": 0.886,
    "max_abs_diff_min": 7.34,
    "share30_mae_pts": 8.0,
    "london_within_45_model_pct": 98.29,
    "london_within_45_dft_pct": 98.46,
    "cv_mae_min": 1.65,
    "set_primary": {"bias_min": -2.05, "mae_min": 2.71, "corr": 0.817},
    "set_acute": {"bias_min": 0.46, "mae_min": 2.39, "corr": 0.785},
    "command": "planner calibrate --data DIR",
}


@dataclass(frozen=True)
class TransitParams:
    """Parameters of the route-following public-transport model.

    Each default has a reason in its ``metadata``; print them with
    :meth:`reasons`.  ``night_buses`` and ``school_buses`` are switches; every
    other parameter is a non-negative number.
    """

    walk_speed_kmh: float = field(
        default=4.0,
        metadata={
            "why": "fitted to DfT JTS04 (tried 3.8-4.8); with crow-fly x 1.3 it stands for TfL's 4.8 km/h on real "
            "streets plus crossings and getting in and out of buildings"
        },
    )
    walk_circuity: float = field(
        default=1.3, metadata={"why": "London street routes are ~30% longer than the crow flies"}
    )
    max_walk_m: float = field(
        default=4000.0, metadata={"why": "longest all-walk trip considered (~78 min at 4 km/h with the x 1.3 detour)"}
    )
    stop_walk_max_m: float = field(
        default=800.0,
        metadata={"why": "longest walk between home (or the counter) and a bus stop (~16 min with the detour)"},
    )
    transfer_walk_max_m: float = field(
        default=400.0, metadata={"why": "longest walk between two stops (or a stop and a station) at a change"}
    )
    bus_speed_kmh: float = field(
        default=30.0,
        metadata={"why": "fitted to DfT JTS04 (tried 12-34): running speed between stops, dwell apart"},
    )
    bus_dwell_min: float = field(
        default=0.2,
        metadata={
            "why": "fitted to DfT JTS04 (tried 0.1-0.6): time lost at each stop served; with 30 km/h a ride "
            "averages ~20 km/h where stops are 350 m apart, less where they are closer (central London)"
        },
    )
    bus_road_factor: float = field(
        default=1.15,
        metadata={"why": "road distance between consecutive stops / straight line (stops are ~350 m apart)"},
    )
    bus_wait_min: float = field(
        default=9.0,
        metadata={
            "why": "fitted to DfT JTS04 on set_nhs2014 with trains and trams (tried 8-15; 11 before they were "
            "modelled): average wait for a route at each boarding, with slack for irregular service; route "
            "frequencies are not in the data"
        },
    )
    rail_speed_kmh: float = field(default=33.0, metadata={"why": "tube average speed including station dwell"})
    rail_wait_min: float = field(
        default=5.0, metadata={"why": "fitted to DfT JTS04 (tried 3-6): half a 10-minute headway"}
    )
    interchange_min: float = field(
        default=5.0, metadata={"why": "walk between platforms plus the next train's wait, each change"}
    )
    station_walk_max_m: float = field(default=1500.0, metadata={"why": "longest walk to or from a station"})
    night_buses: bool = field(default=False, metadata={"why": "N routes run at night only; the test is daytime"})
    school_buses: bool = field(default=False, metadata={"why": "6xx school routes are not open to everyone"})
    national_rail: bool = field(
        default=True,
        metadata={"why": "National Rail trains from the ATOC CIF timetable (off: the engine of before, without them)"},
    )
    trams: bool = field(default=True, metadata={"why": "Croydon Tramlink with its documented service pattern"})
    nr_headway_min: float = field(
        default=40.0,
        metadata={
            "why": "fitted to DfT JTS04 on set_nhs2014 (tried 15-60): headway of one National Rail stopping "
            "pattern where the file lacks its full day (public timetables: 2 an hour on outer branches); "
            "the patterns calling at a station and next at the same station add up (combined_waits)"
        },
    )
    nr_metro_headway_min: float = field(
        default=15.0, metadata={"why": "London Overground and TfL Rail patterns: 4 trains an hour"}
    )
    headway_wait_share: float = field(
        default=0.5,
        metadata={"why": "share of the combined headway a rider waits for a train or tram (arriving at random)"},
    )
    station_link_min: float = field(
        default=3.0,
        metadata={
            "why": "least time between the National Rail, tube and tram platforms of one station (gates, "
            "stairs), on top of the next wait"
        },
    )
    tram_speed_kmh: float = field(
        default=30.0,
        metadata={
            "why": "tram running speed between stops (assumed, not fitted); with the dwell, Wimbledon - East "
            "Croydon 27.5-29 min (TfL: about 25)"
        },
    )
    tram_dwell_min: float = field(default=0.4, metadata={"why": "time lost at each tram stop served"})

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type in ("bool", bool):
                if not isinstance(value, bool | np.bool_):
                    raise EngineError(f"transit parameter {f.name} must be true or false (got {value!r})")
                continue
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise EngineError(f"transit parameter {f.name} must be a number (got {value!r})")
            if not np.isfinite(value) or value < 0 or (value == 0 and f.name.endswith(("speed_kmh", "headway_min"))):
                raise EngineError(f"transit parameter {f.name} must be a positive number (got {value})")
        if self.walk_circuity < 1 or self.bus_road_factor < 1:
            raise EngineError("walk_circuity and bus_road_factor must be at least 1")
        if self.headway_wait_share > 1:
            raise EngineError(f"headway_wait_share is a share of the headway, 0 to 1 (got {self.headway_wait_share})")
        check_bounds("transit", {f.name: getattr(self, f.name) for f in fields(self)})

    @classmethod
    def reasons(cls) -> dict[str, tuple[Any, str]]:
        """Every parameter's default and the reason for it."""
        return {f.name: (f.default, f.metadata["why"]) for f in fields(cls)}

    def with_overrides(self, **overrides: Any) -> TransitParams:
        """A copy with some parameters changed (unknown names raise).

        Switches accept ``true``/``false``/``yes``/``no``/``1``/``0`` as text
        (from the command line) as well as booleans.
        """
        known = {f.name: f for f in fields(self)}
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise EngineError(f"unknown transit parameter(s) {unknown}; known: {sorted(known)}")
        values = {k: _switch(k, v) if known[k].type in ("bool", bool) else v for k, v in overrides.items()}
        return replace(self, **values)


def _switch(name: str, value: Any) -> bool:
    """Parse an on/off parameter; anything unclear is refused."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "1.0", "on"):
        return True
    if text in ("false", "no", "0", "0.0", "off"):
        return False
    raise EngineError(f"transit parameter {name} must be true or false (got {value!r})")
