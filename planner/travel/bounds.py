"""The plausible range of every engine parameter, and why: one table the engines and the options all read.

A value outside its range is refused before any data is loaded: a bus at
1e-9 km/h gives a London mean of 765 million minutes, and one at 1e9 km/h
teleports, and neither is an answer.  The ranges are wide (they hold every
value a calibration or a sensitivity sweep tries); change one here, with
its reason, to allow another value.
"""

from __future__ import annotations

from collections.abc import Mapping

from planner.errors import EngineError

__all__ = ["BOUNDS", "KM_LOOKALIKE_M", "check_bounds"]

#: A distance in metres above 0 and below this is refused as kilometres typed by mistake
#: (``max_walk_m = 2`` for two kilometres): no walk or snap limit of a few metres is meant.
KM_LOOKALIKE_M = 20.0

#: Parameter name -> (lowest, highest, why).  The same name means the same quantity in every engine.
BOUNDS: dict[str, tuple[float, float, str]] = {
    "walk_speed_kmh": (2.0, 8.0, "from a slow walk with a stick to a brisk walk"),
    "bike_speed_kmh": (5.0, 40.0, "from a slow ride to a fast commuter"),
    "speed_kmh": (1.0, 130.0, "from a slow walk to a car on a motorway"),
    "circuity": (1.0, 3.0, "a route is at least the straight line and rarely three times it"),
    "walk_circuity": (1.0, 3.0, "a route is at least the straight line and rarely three times it"),
    "bus_circuity": (1.0, 3.0, "a route is at least the straight line and rarely three times it"),
    "bus_road_factor": (1.0, 3.0, "a road between two stops is at least the straight line"),
    "max_walk_m": (0.0, 20_000.0, "an all-walk trip of up to 20 km (about four hours)"),
    "stop_walk_max_m": (50.0, 5_000.0, "a walk to a stop of 50 m to 5 km"),
    "transfer_walk_max_m": (0.0, 3_000.0, "a walk between stops at a change of up to 3 km"),
    "station_walk_max_m": (50.0, 10_000.0, "a walk to a station of 50 m to 10 km"),
    "bus_stop_max_m": (50.0, 5_000.0, "a walk to a stop of 50 m to 5 km"),
    "max_bus_m": (500.0, 100_000.0, "a single bus ride of 0.5 to 100 km"),
    "station_bus_max_m": (0.0, 50_000.0, "a bus feeder to a station of up to 50 km"),
    "max_snap_m": (1.0, 10_000.0, "a point may be joined to the street network up to 10 km away"),
    "bus_speed_kmh": (5.0, 80.0, "London buses run at 5 (central, peak) to 80 km/h (express, open road)"),
    "rail_speed_kmh": (10.0, 160.0, "metro and suburban trains average 10 to 160 km/h"),
    "tram_speed_kmh": (5.0, 80.0, "trams run at 5 (street) to 80 km/h (Tramlink's top speed)"),
    "bus_dwell_min": (0.0, 5.0, "time lost at a stop: none to 5 minutes"),
    "tram_dwell_min": (0.0, 5.0, "time lost at a stop: none to 5 minutes"),
    "bus_wait_min": (0.0, 60.0, "a wait of up to an hour for a bus"),
    "rail_wait_min": (0.0, 60.0, "a wait of up to an hour for a train"),
    "interchange_min": (0.0, 60.0, "a change of up to an hour"),
    "station_link_min": (0.0, 30.0, "a walk between platforms of up to 30 minutes"),
    "nr_headway_min": (2.0, 240.0, "trains every 2 minutes to every 4 hours"),
    "nr_metro_headway_min": (2.0, 120.0, "trains every 2 minutes to every 2 hours"),
    "headway_wait_share": (0.0, 1.0, "a share of the headway"),
}


def check_bounds(engine: str, values: Mapping[str, object]) -> None:
    """Refuse numeric parameters outside :data:`BOUNDS`.

    Parameters
    ----------
    engine
        The engine's name, for the message.
    values
        Parameter name -> value; names not in the table and non-numbers are left to the engine's own checks.

    Raises
    ------
    EngineError
        Naming the parameter, its value, its range and the reason.
    """
    for name, value in values.items():
        if name not in BOUNDS or isinstance(value, bool) or not isinstance(value, int | float):
            continue
        low, high, why = BOUNDS[name]
        if name.endswith("_m") and 0 < value < KM_LOOKALIKE_M:
            raise EngineError(
                f"{engine} parameter {name} = {value:g} is in metres, so {value:g} m is a few steps; it looks "
                f"like kilometres: give {name} = {value * 1000:g} for {value:g} km (or 0 for none)"
            )
        if not low <= value <= high:
            raise EngineError(
                f"{engine} parameter {name} = {value:g} is outside its plausible range {low:g} to {high:g} "
                f"({why}); give a value in that range"
            )
