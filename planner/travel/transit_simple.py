"""The first public-transport approximation (engine ``transit-simple``).

Kept unchanged for comparison with the route-following ``transit`` engine
(:mod:`planner.travel.transit`), which replaced it as the default because this
one came out about 5 minutes too fast against DfT's journey time statistics.

No timetable feed is available, so a journey is the quickest combination of:

* **walking** legs: crow-fly distance × ``walk_circuity`` / ``walk_speed_kmh``;
* **bus** legs: walk to the nearest stop, wait ``bus_wait_min``, ride the
  crow-fly distance × ``bus_circuity`` at ``bus_speed_kmh``, walk from the
  nearest stop at the far end.  Allowed only where both ends have a stop
  within ``bus_stop_max_m``;
* **rail** legs over the tube / Overground / DLR / TfL Rail graph: link times
  from the tube timetable data where the two stations match by name,
  otherwise length / ``rail_speed_kmh``; ``rail_wait_min`` to board and
  ``interchange_min`` to change lines.  Stations are reached and left on foot
  or by bus.

The best combination is a shortest path over a graph of demand points,
station entrances, station-line platforms and counters, solved with
:mod:`scipy.sparse.csgraph`.

Limits: no timetables, so waits are averages and night-time or weekend
service is not modelled; bus routes are not followed (any two stops are
assumed linked); National Rail, trams and the Elizabeth line beyond TfL Rail
are missing, so outer areas served mainly by National Rail look slower than
they are; the rail graph holds one line per station pair.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.spatial import cKDTree

from planner.errors import EngineError
from planner.travel.base import GraphSearchEngine
from planner.travel.bounds import check_bounds
from planner.travel.transit_data import TransitData

__all__ = ["SimpleTransitParams", "SimpleTransitTimes"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SimpleTransitParams:
    """Parameters of the public-transport approximation.

    Each default has a one-line reason in its ``metadata``; print them with
    :meth:`reasons`.
    """

    walk_speed_kmh: float = field(default=4.8, metadata={"why": "typical adult walking pace (TfL uses 4.8 km/h)"})
    walk_circuity: float = field(
        default=1.3, metadata={"why": "London street routes are ~30% longer than the crow flies"}
    )
    max_walk_m: float = field(default=4000.0, metadata={"why": "longest all-walk trip considered (~65 min)"})
    bus_speed_kmh: float = field(default=15.0, metadata={"why": "London bus average including stops (~9-10 mph)"})
    bus_circuity: float = field(default=1.4, metadata={"why": "bus routes wind more than walking routes"})
    bus_wait_min: float = field(default=6.0, metadata={"why": "half the 12-minute headway of London's frequent routes"})
    bus_stop_max_m: float = field(default=1200.0, metadata={"why": "longest walk to a bus stop (its time is counted)"})
    max_bus_m: float = field(default=15000.0, metadata={"why": "longest single bus ride considered, crow-fly"})
    rail_speed_kmh: float = field(default=33.0, metadata={"why": "tube average speed including station dwell"})
    rail_wait_min: float = field(default=4.0, metadata={"why": "half a typical 8-minute rail headway"})
    interchange_min: float = field(default=5.0, metadata={"why": "walk between platforms plus a wait"})
    station_walk_max_m: float = field(default=1500.0, metadata={"why": "longest walk to or from a station"})
    station_bus_max_m: float = field(default=6000.0, metadata={"why": "longest bus feeder to or from a station"})

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not np.isfinite(value) or value < 0 or (value == 0 and f.name.endswith("speed_kmh")):
                raise EngineError(f"transit parameter {f.name} must be positive (got {value})")
        if self.walk_circuity < 1 or self.bus_circuity < 1:
            raise EngineError("circuity factors must be at least 1")
        check_bounds("transit-simple", {f.name: getattr(self, f.name) for f in fields(self)})

    @classmethod
    def reasons(cls) -> dict[str, tuple[float, str]]:
        """Every parameter's default and the reason for it."""
        return {f.name: (f.default, f.metadata["why"]) for f in fields(cls)}  # type: ignore[misc]

    def with_overrides(self, **overrides: float) -> SimpleTransitParams:
        """A copy with some parameters changed (unknown names raise)."""
        known = {f.name for f in fields(self)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise EngineError(f"unknown transit parameter(s) {unknown}; known: {sorted(known)}")
        return replace(self, **overrides)


@dataclass
class SimpleTransitTimes(GraphSearchEngine):
    """Public-transport travel times (walk, bus and rail), offline.

    Parameters
    ----------
    data
        Bus stops and rail graph from :func:`~planner.travel.transit_data.load_transit`.
    params
        Speeds, waits and limits; see :class:`TransitParams`.
    """

    data: TransitData
    params: SimpleTransitParams = field(default_factory=SimpleTransitParams)
    name = "transit-simple"

    def __post_init__(self) -> None:
        self._stop_tree = cKDTree(self.data.bus_stops)

    def with_params(self, **overrides: float) -> SimpleTransitTimes:
        """A copy of the engine with some parameters overridden."""
        return SimpleTransitTimes(self.data, self.params.with_overrides(**overrides))

    # -- legs -------------------------------------------------------------
    def _stop_walk(self, xy: np.ndarray) -> np.ndarray:
        """Walk minutes to the nearest bus stop, ``inf`` beyond ``bus_stop_max_m``."""
        dist, _ = self._stop_tree.query(xy, distance_upper_bound=self.params.bus_stop_max_m)
        return self._walk(dist)

    def _walk(self, metres: np.ndarray) -> np.ndarray:
        p = self.params
        return metres * p.walk_circuity / (p.walk_speed_kmh * 1000 / 60)

    def _legs(
        self,
        a_xy: np.ndarray,
        b_xy: np.ndarray,
        walk_max: float,
        bus_max: float,
        a_stop: np.ndarray,
        b_stop: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Best walk-or-bus minutes for every pair within ``max(walk_max, bus_max)``."""
        p = self.params
        reach = max(walk_max, bus_max)
        pairs = cKDTree(a_xy).sparse_distance_matrix(cKDTree(b_xy), reach, output_type="ndarray")
        i, j, d = pairs["i"], pairs["j"], pairs["v"]
        walk = np.where(d <= walk_max, self._walk(d), np.inf)
        ride = d * p.bus_circuity / (p.bus_speed_kmh * 1000 / 60)
        bus = np.where(d <= bus_max, a_stop[i] + p.bus_wait_min + ride + b_stop[j], np.inf)
        best = np.minimum(walk, bus)
        ok = np.isfinite(best)
        return i[ok], j[ok], best[ok]

    # -- graph ------------------------------------------------------------
    def _graph(self, origins: np.ndarray, counters: np.ndarray) -> tuple[sp.csr_array, int, int]:
        """Graph with nodes [origins | station entrances | platforms | counters]."""
        p = self.params
        st = self.data.stations
        links = self.data.links
        n_o, n_s, n_c = len(origins), len(st), len(counters)
        s_pos = pd.Series(np.arange(n_s), index=st.index)
        platforms = pd.Index(
            sorted({(s, line) for a, b, line in links[["a", "b", "line"]].itertuples(index=False) for s in (a, b)})
        )
        plat_pos = pd.Series(np.arange(len(platforms)), index=platforms)
        base_p, base_c = n_o + n_s, n_o + n_s + len(platforms)
        rows, cols, vals = [], [], []

        def add(r: np.ndarray, c: np.ndarray, w: np.ndarray) -> None:
            rows.append(np.asarray(r, dtype=np.int64))
            cols.append(np.asarray(c, dtype=np.int64))
            vals.append(np.maximum(np.asarray(w, dtype=float), 1e-9))

        s_xy = st[["x", "y"]].to_numpy()
        o_stop, s_stop, c_stop = self._stop_walk(origins), self._stop_walk(s_xy), self._stop_walk(counters)
        # origin -> counter directly, on foot or by bus
        i, j, w = self._legs(origins, counters, p.max_walk_m, p.max_bus_m, o_stop, c_stop)
        add(i, base_c + j, w)
        # origin -> station entrance, and station entrance -> counter
        i, j, w = self._legs(origins, s_xy, p.station_walk_max_m, p.station_bus_max_m, o_stop, s_stop)
        add(i, n_o + j, w)
        i, j, w = self._legs(s_xy, counters, p.station_walk_max_m, p.station_bus_max_m, s_stop, c_stop)
        add(n_o + i, base_c + j, w)
        # entrance <-> platform: board (wait) and alight (free)
        plat_station = s_pos[[s for s, _ in platforms]].to_numpy()
        plat_idx = base_p + np.arange(len(platforms))
        add(n_o + plat_station, plat_idx, np.full(len(platforms), p.rail_wait_min))
        add(plat_idx, n_o + plat_station, np.zeros(len(platforms)))
        # interchange between platforms of one station
        by_station = pd.Series(plat_idx).groupby(plat_station)
        for _, group in by_station:
            g = group.to_numpy()
            if len(g) > 1:
                a, b = np.meshgrid(g, g)
                keep = a != b
                add(a[keep], b[keep], np.full(keep.sum(), p.interchange_min))
        # rail links, both directions
        minutes = links["minutes"].to_numpy(copy=True)
        by_speed = links["length_m"].to_numpy() / (p.rail_speed_kmh * 1000 / 60)
        minutes = np.where(np.isfinite(minutes), minutes, by_speed)
        pa = base_p + plat_pos[list(zip(links["a"], links["line"], strict=True))].to_numpy()
        pb = base_p + plat_pos[list(zip(links["b"], links["line"], strict=True))].to_numpy()
        add(pa, pb, minutes)
        add(pb, pa, minutes)
        size = base_c + n_c
        graph = sp.coo_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(size, size))
        # keep the quickest of parallel edges (coo would sum them)
        frame = pd.DataFrame({"r": graph.row, "c": graph.col, "w": graph.data}).groupby(["r", "c"])["w"].min()
        r, c = frame.index.get_level_values(0), frame.index.get_level_values(1)
        return sp.csr_array((frame.to_numpy(), (r, c)), shape=(size, size)), n_o, base_c

    def _reversed_graph(self, origins: np.ndarray, destinations: np.ndarray) -> tuple[sp.csr_array, int, int]:
        graph, n_o, base_c = self._graph(origins, destinations)
        return graph.T.tocsr(), n_o, base_c

    def input_files(self) -> tuple[Path, ...]:
        return self.data.files

    def describe(self) -> dict:
        return {"engine": self.name, **asdict(self.params), "data_notes": list(self.data.notes)}
