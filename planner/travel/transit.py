"""Public-transport travel times for London: walking, buses, National Rail, trams and tube (engine ``transit``).

A journey is the quickest combination of:

* **walking** legs: crow-fly distance × ``walk_circuity`` / ``walk_speed_kmh``
  from home to a stop within ``stop_walk_max_m`` (a home or counter with no
  stop that close walks to its two nearest stops, up to ``max_walk_m``), to a
  station (up to ``station_walk_max_m``) or to the counter, and between stops at a change;
* **bus** legs along TfL's route stop sequences: walk to a stop, wait
  ``bus_wait_min`` for a route that calls there, ride along the route's stop
  sequence (each stop-to-stop distance × ``bus_road_factor`` at
  ``bus_speed_kmh``, plus ``bus_dwell_min`` at every stop served, so that
  closely spaced central stops make a slower ride), and get off at any later stop of the same run.
  Rail-replacement routes (``UL*``) are never used; night (``N*``) and school
  (``6xx``) routes only with ``night_buses`` / ``school_buses``;
* **National Rail** legs (``national_rail``) on the stopping patterns of the
  ATOC CIF timetable (:mod:`planner.travel.cif`): wait, ride at the
  timetabled run times (dwell included), get off at any later call;
* **tram** legs (``trams``) on Tramlink's documented routes
  (:mod:`planner.travel.tram`) at ``tram_speed_kmh`` plus ``tram_dwell_min``;
* **tube** legs over the tube / Overground / DLR / TfL Rail graph: link times
  from the tube timetable data where the two stations match by name,
  otherwise length / ``rail_speed_kmh``; ``rail_wait_min`` to board.

Buses, trains and trams are one model (:class:`~planner.travel.patterns.ServicePatterns`).
A train or tram wait is ``headway_wait_share`` of the combined headway of the
patterns that call at the stop and next at the same stop
(:func:`~planner.travel.patterns.combined_waits`); a National Rail pattern
without a timetable headway has ``nr_headway_min`` (``nr_metro_headway_min``
for London Overground and TfL Rail).

Every change pays for itself: bus to bus is a walk between the stops (up to
``transfer_walk_max_m``; none when it is the same stop) plus a new
``bus_wait_min``; tube line to line inside a station costs ``interchange_min``;
train to train the station's minimum change time and the next wait; between
the tube, National Rail and trams at one station (within
``transfer_walk_max_m``, or :data:`SAME_NAME_M` under the same name) the walk,
at least ``station_link_min``, and the next wait (and, where the CIF publishes
a walk from a National Rail station to an Underground entry, that walk's
minutes); bus to rail and back the walk and the next mode's wait.

The best combination is one shortest-path problem on a sparse directed graph
(:mod:`scipy.sparse.csgraph`) whose nodes are demand points, bus stops,
route-stops (one per route, direction and call), station entrances and exits,
tube platforms, train and tram calls (an arrival and a departure node each)
and counters.  Boarding is an arc from a stop (or a station entrance) to a
call (the wait), riding an arc to the next call, and alighting an arc back to
the stop or the station exit (free).

The default parameters were fitted to the Department for Transport's Journey
Time Statistics (JTS04, 2016): see :data:`CALIBRATION` and
``planner calibrate``.

Limits: bus waits are averages (route frequencies are not in the data) and
night-time or weekend service is not modelled; the mirror's National Rail
timetable is a slice of the March 2020 file, so most train headways are
assumed and trains of other days stand in where a station has no weekday
train; the Elizabeth line beyond TfL Rail is missing; the tube graph holds one
line per station pair.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.spatial import cKDTree

from planner.errors import DataError, EngineError
from planner.travel.base import GraphSearchEngine
from planner.travel.patterns import ServicePatterns, combined_waits
from planner.travel.transit_data import TransitData, bus_patterns, station_key
from planner.travel.transit_params import CALIBRATION, TransitParams

__all__ = ["TransitTimes"]

logger = logging.getLogger(__name__)


def _bus_network(data: TransitData, *, night: bool, school: bool) -> ServicePatterns:
    key = ("bus", night, school)
    if key in data._cache:
        return data._cache[key]
    if data.routes is None:
        raise EngineError(
            "the transit engine needs the bus route sequences (transit/bus_sequences_2016.csv); "
            "run `planner data fetch`, or use the `transit-simple` engine"
        )
    try:
        net = bus_patterns(data.routes, night=night, school=school)
    except DataError as exc:
        raise EngineError(str(exc)) from exc
    logger.info(
        "bus network: %d route runs, %d stops, %d route-stops", len(net.patterns), len(net.stops), len(net.calls)
    )
    data._cache[key] = net
    return net


#: Two stations of different networks with the same name are one station up to this far apart (metres).
SAME_NAME_M = 800.0


def _station_name(name: str) -> str:
    """A station name for matching across networks: the tube data's match key (:func:`station_key`), without
    a leading 'London' or any bracketed words ('(Tram)', '(Kent)')."""
    return station_key(re.sub(r"^london\s+", "", re.sub(r"\(.*?\)", "", str(name)).strip(), flags=re.IGNORECASE))


def _block_size(mode: ServicePatterns) -> int:
    return 2 * len(mode.stops) + 2 * len(mode.calls)


class Arcs:
    """Collects arcs of the reversed graph (stored as to -> from)."""

    def __init__(self) -> None:
        self.rows: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []

    def add(self, a: np.ndarray, b: np.ndarray, minutes: np.ndarray | float) -> None:
        a = np.asarray(a, dtype=np.int64)
        b = np.asarray(b, dtype=np.int64)
        self.rows.append(b)
        self.cols.append(a)
        # csgraph treats a stored 0 as "no arc" in some paths: keep free arcs a hair above 0
        self.vals.append(np.maximum(np.broadcast_to(np.asarray(minutes, dtype=float), a.shape), 1e-9))

    def reversed_csr(self, size: int) -> sp.csr_array:
        """The arcs as a CSR matrix, keeping the quickest of parallel arcs (scipy would sum them)."""
        key = np.concatenate(self.rows) * size + np.concatenate(self.cols)  # row-major arc number
        w = np.concatenate(self.vals)
        order = np.argsort(key, kind="stable")
        key, w = key[order], w[order]
        first = np.ones(len(key), dtype=bool)
        first[1:] = key[1:] != key[:-1]
        starts = np.flatnonzero(first)
        quickest = np.minimum.reduceat(w, starts) if len(starts) else w
        key = key[starts]
        rows, cols = np.divmod(key, size)
        indptr = np.searchsorted(rows, np.arange(size + 1), side="left")
        graph = sp.csr_array((quickest, cols, indptr), shape=(size, size))
        graph.has_sorted_indices = True
        return graph


def _pairs(a_xy: np.ndarray, b_xy: np.ndarray, reach: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Index pairs (and metres) of points of ``a`` and ``b`` within ``reach``."""
    if len(a_xy) == 0 or len(b_xy) == 0 or reach <= 0:
        empty = np.array([], dtype=np.int64)
        return empty, empty, np.array([], dtype=float)
    out = cKDTree(a_xy).sparse_distance_matrix(cKDTree(b_xy), reach, output_type="ndarray")
    return out["i"].astype(np.int64), out["j"].astype(np.int64), out["v"]


def _nearest(a_xy: np.ndarray, b_xy: np.ndarray, reach: float, k: int = 2) -> tuple[np.ndarray, ...]:
    """Each point of ``a``'s ``k`` nearest points of ``b`` within ``reach``: (a index, b index, metres)."""
    if len(a_xy) == 0 or len(b_xy) == 0:
        empty = np.array([], dtype=np.int64)
        return empty, empty, np.array([], dtype=float)
    k = min(k, len(b_xy))
    dist, idx = cKDTree(b_xy).query(a_xy, k=k, distance_upper_bound=reach)
    dist, idx = dist.reshape(len(a_xy), k), idx.reshape(len(a_xy), k)
    ok = np.isfinite(dist)
    return np.nonzero(ok)[0].astype(np.int64), idx[ok].astype(np.int64), dist[ok]


@dataclass
class TransitTimes(GraphSearchEngine):
    """Public-transport travel times (walk, route-following bus and rail), offline.

    Parameters
    ----------
    data
        Bus routes, stops and rail graph from
        :func:`~planner.travel.transit_data.load_transit`.
    params
        Speeds, waits and limits; see :class:`TransitParams`.
    """

    data: TransitData
    params: TransitParams = field(default_factory=TransitParams)
    name = "transit"

    def __post_init__(self) -> None:
        self._bus = _bus_network(self.data, night=self.params.night_buses, school=self.params.school_buses)

    def with_params(self, **overrides: Any) -> TransitTimes:
        """A copy of the engine with some parameters overridden (the data is shared).

        Raises
        ------
        EngineError
            If an override turns on ``national_rail`` or ``trams`` whose data this engine did not load
            (build the engine with the mode on instead).
        """
        params = self.params.with_overrides(**overrides)
        for switch, loaded in (("national_rail", self.data.rail), ("trams", self.data.trams)):
            if getattr(params, switch) and not getattr(self.params, switch) and loaded is None:
                raise EngineError(
                    f"{switch}=True: this engine was built without its data; build it with "
                    f"make_engine('transit', params={{'{switch}': True}}) instead"
                )
        return TransitTimes(self.data, params)

    def _walk(self, metres: np.ndarray) -> np.ndarray:
        p = self.params
        return metres * p.walk_circuity / (p.walk_speed_kmh * 1000 / 60)

    def _reversed_graph(self, origins: np.ndarray, dests: np.ndarray) -> tuple[sp.csr_array, int, int]:
        """The reversed journey graph and the positions of origins (0..) and destinations (base_d..).

        Node layout: origins | bus stops | bus route-stops | station entrances | station exits |
        platforms | for each timetabled mode (National Rail, trams): station entrances, exits, call
        arrivals, call departures | destinations.
        """
        p, bus, st, links = self.params, self._bus, self.data.stations, self.data.links
        n_o, n_p, n_r, n_s = len(origins), len(bus.stops), len(bus.calls), len(st)
        platforms = pd.Index(
            sorted({(s, line) for a, b, line in links[["a", "b", "line"]].itertuples(index=False) for s in (a, b)})
        )
        base_p = n_o
        base_r = base_p + n_p
        base_in = base_r + n_r
        base_out = base_in + n_s
        base_pl = base_out + n_s
        base_t = base_pl + len(platforms)
        timed = self._timed_blocks(base_t)
        base_d = timed[-1][1] + _block_size(timed[-1][0]) if timed else base_t
        size = base_d + len(dests)
        s_xy = st[["x", "y"]].to_numpy(float)
        p_xy = bus.stops[["x", "y"]].to_numpy(float)
        arcs = Arcs()

        stations = [(s_xy, st.index.to_numpy(dtype=str), base_in, base_out)]
        for mode, base in timed:
            m_xy = mode.stops[["x", "y"]].to_numpy(float)
            stations.append((m_xy, mode.stops["name"].to_numpy(dtype=str), base, base + len(mode.stops)))
        self._walking_arcs(arcs, origins, dests, p_xy, base_p, base_d, stations)
        self._station_links(arcs, stations)
        for k, (mode, _) in enumerate(timed, start=1):
            self._published_interchanges(arcs, mode, stations[k], [s for i, s in enumerate(stations) if i != k])

        self._bus_arcs(arcs, base_p, base_r)
        # rail: entrance -> platform (wait), platform -> exit (free), platform <-> platform (interchange)
        s_pos = pd.Series(np.arange(n_s), index=st.index)
        plat_station = s_pos[[s for s, _ in platforms]].to_numpy()
        plat = base_pl + np.arange(len(platforms))
        arcs.add(base_in + plat_station, plat, p.rail_wait_min)
        arcs.add(plat, base_out + plat_station, 0.0)
        order = np.argsort(plat_station, kind="stable")
        for group in np.split(plat[order], np.flatnonzero(np.diff(plat_station[order])) + 1):
            if len(group) > 1:
                a, b = np.meshgrid(group, group)
                keep = a != b
                arcs.add(a[keep], b[keep], p.interchange_min)
        minutes = links["minutes"].to_numpy(copy=True)
        by_speed = links["length_m"].to_numpy() / (p.rail_speed_kmh * 1000 / 60)
        minutes = np.where(np.isfinite(minutes), minutes, by_speed)
        pa = base_pl + platforms.get_indexer(list(zip(links["a"], links["line"], strict=True)))
        pb = base_pl + platforms.get_indexer(list(zip(links["b"], links["line"], strict=True)))
        arcs.add(pa, pb, minutes)
        arcs.add(pb, pa, minutes)
        for mode, base in timed:
            self._timetabled_arcs(arcs, mode, base)
        return arcs.reversed_csr(size), n_o, base_d

    def _bus_arcs(self, arcs: Arcs, base_p: int, base_r: int) -> None:
        """Buses: board at a stop (the wait), ride along the run, alight (free)."""
        p, bus = self.params, self._bus
        board = bus.calls["board"].to_numpy()
        stop = bus.calls["stop"].to_numpy()
        rs = np.flatnonzero(board)
        arcs.add(base_p + stop[rs], base_r + rs, p.bus_wait_min)
        arcs.add(base_r + rs, base_p + stop[rs], 0.0)
        ra, rb = bus.rides
        ride_m = bus.calls["ride_m"].to_numpy()[rb]
        ride = ride_m * p.bus_road_factor / (p.bus_speed_kmh * 1000 / 60) + p.bus_dwell_min * board[rb]
        arcs.add(base_r + ra, base_r + rb, ride)

    def _walking_arcs(
        self,
        arcs: Arcs,
        origins: np.ndarray,
        dests: np.ndarray,
        p_xy: np.ndarray,
        base_p: int,
        base_d: int,
        stations: list[tuple[np.ndarray, np.ndarray, int, int]],
    ) -> None:
        """Walks: home -> counter, home -> stop, stop -> counter, stop <-> stop, home -> station, station ->
        counter, and between bus stops and stations (a change: the walk, then the next mode's wait)."""
        p = self.params
        i, j, d = _pairs(origins, dests, p.max_walk_m)
        arcs.add(i, base_d + j, self._walk(d))
        i, j, d = _pairs(origins, p_xy, p.stop_walk_max_m)
        arcs.add(i, base_p + j, self._walk(d))
        i, j, d = _nearest(origins, p_xy, p.max_walk_m)  # homes far from every stop still reach one
        far = d > p.stop_walk_max_m
        arcs.add(i[far], base_p + j[far], self._walk(d[far]))
        i, j, d = _pairs(p_xy, dests, p.stop_walk_max_m)
        arcs.add(base_p + i, base_d + j, self._walk(d))
        j, i, d = _nearest(dests, p_xy, p.max_walk_m)
        far = d > p.stop_walk_max_m
        arcs.add(base_p + i[far], base_d + j[far], self._walk(d[far]))
        i, j, d = _pairs(p_xy, p_xy, p.transfer_walk_max_m)
        keep = i != j
        arcs.add(base_p + i[keep], base_p + j[keep], self._walk(d[keep]))
        for xy, _, b_in, b_out in stations:
            i, j, d = _pairs(origins, xy, p.station_walk_max_m)
            arcs.add(i, b_in + j, self._walk(d))
            i, j, d = _pairs(xy, dests, p.station_walk_max_m)
            arcs.add(b_out + i, base_d + j, self._walk(d))
            i, j, d = _pairs(p_xy, xy, p.transfer_walk_max_m)
            arcs.add(base_p + i, b_in + j, self._walk(d))
            arcs.add(b_out + j, base_p + i, self._walk(d))

    def _timed_blocks(self, base: int) -> list[tuple[ServicePatterns, int]]:
        """The timetabled modes switched on, each with the first node of its block."""
        out = []
        for on, mode in ((self.params.national_rail, self.data.rail), (self.params.trams, self.data.trams)):
            if on and mode is not None:
                out.append((mode, base))
                base += _block_size(mode)
        return out

    def _run_minutes(self, mode: ServicePatterns) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Minutes from each call's departure to the next call's arrival (given, or from the distance)."""
        p = self.params
        a, b = mode.rides
        given = mode.calls["run_min"].to_numpy()[b]
        if mode.mode == "tram":
            board = mode.calls["board"].to_numpy()[b]
            by_speed = mode.calls["ride_m"].to_numpy()[b] / (p.tram_speed_kmh * 1000 / 60) + p.tram_dwell_min * board
            given = np.where(np.isfinite(given), given, by_speed)
        if not np.isfinite(given).all():
            raise EngineError(f"{mode.source}: {int((~np.isfinite(given)).sum())} {mode.mode} ride(s) have no run time")
        return a, b, given

    def _waits(self, mode: ServicePatterns) -> np.ndarray:
        p = self.params
        headway = mode.patterns["headway_min"].to_numpy(float).copy()
        if mode.mode == "rail":
            cls = mode.patterns["service_class"].to_numpy()
            default = np.where(cls == "metro", p.nr_metro_headway_min, p.nr_headway_min)
            headway = np.where(np.isfinite(headway), headway, default)
        return combined_waits(mode, headway_min=headway, wait_share=p.headway_wait_share)

    def _timetabled_arcs(self, arcs: Arcs, mode: ServicePatterns, base: int) -> None:
        """Board (the wait), ride, dwell, alight, change (the station's change time) and fixed links."""
        n_s, n_c = len(mode.stops), len(mode.calls)
        b_in, b_out, b_arr, b_dep = base, base + n_s, base + 2 * n_s, base + 2 * n_s + n_c
        stop = mode.calls["stop"].to_numpy()
        board = mode.calls["board"].to_numpy()
        a, b, run = self._run_minutes(mode)
        wait = self._waits(mode)
        first = np.ones(n_c, dtype=bool)
        first[b] = False
        boardable = np.flatnonzero(board & np.isfinite(wait))
        arcs.add(b_in + stop[boardable], b_dep + boardable, wait[boardable])
        alight = np.flatnonzero(board & ~first)
        arcs.add(b_arr + alight, b_out + stop[alight], 0.0)
        arcs.add(b_dep + a, b_arr + b, run)
        dwell = mode.calls["dwell_min"].to_numpy()[b]
        arcs.add(b_arr + b, b_dep + b, np.nan_to_num(dwell))
        change = mode.stops["change_min"].to_numpy(float)
        everywhere = np.arange(n_s)
        arcs.add(b_out + everywhere, b_in + everywhere, change)
        if len(mode.links):
            la = mode.links["a"].to_numpy(np.int64)
            lb = mode.links["b"].to_numpy(np.int64)
            lm = mode.links["minutes"].to_numpy(float)
            arcs.add(b_out + la, b_in + lb, lm)
            arcs.add(b_out + lb, b_in + la, lm)

    def _published_interchanges(
        self,
        arcs: Arcs,
        mode: ServicePatterns,
        own: tuple[np.ndarray, np.ndarray, int, int],
        others: list[tuple[np.ndarray, np.ndarray, int, int]],
    ) -> None:
        """The timetable's own walks to another network (the CIF's walk links to Underground, DLR and tram
        entries), in their published minutes, to the nearest station of that network within
        ``transfer_walk_max_m`` of the entry; both ways, then the next wait."""
        links = mode.interchanges
        if links.empty:
            return
        _, _, in_a, out_a = own
        stop = links["stop"].to_numpy(np.int64)
        minutes = links["minutes"].to_numpy(float)
        entry = links[["x", "y"]].to_numpy(float)
        for xy, _, in_b, out_b in others:
            i, j, _ = _nearest(entry, xy, self.params.transfer_walk_max_m, k=1)
            arcs.add(out_a + stop[i], in_b + j, minutes[i])
            arcs.add(out_b + j, in_a + stop[i], minutes[i])

    def _station_links(self, arcs: Arcs, stations: list[tuple[np.ndarray, np.ndarray, int, int]]) -> None:
        """Changes between the tube graph, National Rail and trams at one station.

        Two stations of different networks are one station when they stand within ``transfer_walk_max_m``
        of each other, or within :data:`SAME_NAME_M` under the same name (``London Victoria`` and
        ``Victoria``; ``Wimbledon (Tram)`` and ``Wimbledon``).  A change between them is the walk (crow-fly x
        ``walk_circuity``), at least ``station_link_min``, then the next mode's wait.
        """
        p = self.params
        for k, (xy_a, names_a, _, out_a) in enumerate(stations):
            for xy_b, names_b, in_b, _ in stations[k + 1 :] + stations[:k]:
                i, j, d = _pairs(xy_a, xy_b, max(SAME_NAME_M, p.transfer_walk_max_m))
                same_name = np.array(
                    [_station_name(names_a[x]) == _station_name(names_b[y]) for x, y in zip(i, j, strict=True)],
                    dtype=bool,
                )
                keep = (d <= p.transfer_walk_max_m) | same_name
                arcs.add(out_a + i[keep], in_b + j[keep], np.maximum(self._walk(d[keep]), p.station_link_min))

    def input_files(self) -> tuple[Path, ...]:
        return self.data.files

    def describe(self) -> dict:
        return {
            "engine": self.name,
            **asdict(self.params),
            "calibration": dict(CALIBRATION)
            if self.params == TransitParams()
            else {
                "note": "these parameters differ from the calibrated defaults: the documented fit does not apply; "
                "check them with `planner calibrate --param NAME=VALUE`"
            },
            "data_notes": list(self.data.notes),
            "timetabled_data": {
                name: mode.summary() if on and mode is not None else ("off" if not on else "not loaded")
                for name, on, mode in (
                    ("national_rail", self.params.national_rail, self.data.rail),
                    ("trams", self.params.trams, self.data.trams),
                )
            },
        }
