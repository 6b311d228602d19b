"""The travel-time engine interface and its labelled results."""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra

from planner.config import require_bng
from planner.errors import EngineError

__all__ = [
    "MAX_UNREACHED_SHARE",
    "GraphSearchEngine",
    "NearestResult",
    "TravelEngine",
    "TravelMatrix",
    "points_xy",
    "require_coverage",
]

#: Largest share of the study area's residents that may be unreachable or off-network in a
#: street-network result.  Beyond it the OSM extract does not cover the study area, and the
#: figures would be about the extract, not the residents.
MAX_UNREACHED_SHARE = 0.05


@dataclass(frozen=True)
class TravelMatrix:
    """Minutes from every origin to every destination, labelled.

    Attributes
    ----------
    minutes
        ``(n_origins, n_destinations)`` array; ``inf`` where unreachable.
    origin_ids
        Origin labels (LSOA codes).
    destination_ids
        Destination labels (station ids).
    origin_flags
        Per origin, why it is unreachable regardless of destination
        (``""`` when it is fine), e.g. ``"off-network"``.  A flagged origin's
        minutes are ``inf``: every caller (assessment, sweeps, optimiser,
        proposals) counts it as unreachable.
    origin_snap_m
        Per origin, metres to the network node it was snapped to (network
        engines only).
    """

    minutes: np.ndarray
    origin_ids: np.ndarray
    destination_ids: np.ndarray
    origin_flags: np.ndarray = field(default=None)  # type: ignore[assignment]
    origin_snap_m: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.minutes.shape != (len(self.origin_ids), len(self.destination_ids)):
            raise EngineError("travel matrix shape does not match its labels")
        if self.origin_flags is None:
            object.__setattr__(self, "origin_flags", np.full(len(self.origin_ids), "", dtype=object))
        flagged = np.asarray(self.origin_flags != "", dtype=bool)
        if flagged.any() and np.isfinite(self.minutes[flagged]).any():
            minutes = np.array(self.minutes, dtype=float)
            minutes[flagged] = np.inf
            object.__setattr__(self, "minutes", minutes)

    def to_frame(self) -> pd.DataFrame:
        """The matrix as a DataFrame indexed by origin id, one column per destination."""
        return pd.DataFrame(
            self.minutes,
            index=pd.Index(self.origin_ids, name="point_id"),
            columns=pd.Index(self.destination_ids, name="station_id"),
        )

    def subset(self, destination_ids: list[str] | np.ndarray) -> TravelMatrix:
        """The columns of the given destinations, in that order."""
        pos = pd.Index(self.destination_ids).get_indexer(destination_ids)
        if (pos < 0).any():
            missing = [d for d, p in zip(destination_ids, pos, strict=True) if p < 0]
            raise EngineError(f"stations {missing} are not in the travel matrix")
        return TravelMatrix(
            self.minutes[:, pos],
            self.origin_ids,
            np.asarray(destination_ids, dtype=object),
            self.origin_flags,
            self.origin_snap_m,
        )

    def nearest(self, *, k: int = 1) -> NearestResult:
        """Each origin's ``k`` nearest destinations (vectorised)."""
        k = min(k, self.minutes.shape[1])
        if k < 1:
            raise EngineError("no destinations to choose from")
        order = np.argsort(self.minutes, axis=1, kind="stable")[:, :k]
        mins = np.take_along_axis(self.minutes, order, axis=1)
        return NearestResult.build(
            self.origin_ids, mins, self.destination_ids[order], self.origin_flags, self.origin_snap_m
        )


@dataclass(frozen=True)
class NearestResult:
    """Each origin's nearest destination(s).

    Attributes
    ----------
    table
        One row per origin: ``point_id``, ``minutes`` (NaN when unreachable),
        ``station_id``, ``reachable``, ``status`` (``"ok"``,
        ``"unreachable"`` or a flag such as ``"off-network"``), ``snap_m``
        (network engines: metres from the point to the network), and for
        ``k > 1`` the columns ``minutes_2``, ``station_id_2`` ...
    """

    table: pd.DataFrame

    @classmethod
    def build(
        cls,
        origin_ids: np.ndarray,
        minutes: np.ndarray,
        station_ids: np.ndarray,
        flags: np.ndarray,
        snap_m: np.ndarray | None = None,
    ) -> NearestResult:
        minutes = np.atleast_2d(np.asarray(minutes, dtype=float).T).T if minutes.ndim == 1 else minutes
        station_ids = station_ids.reshape(minutes.shape)
        first = minutes[:, 0]
        reachable = np.isfinite(first) & (flags == "")
        status = np.where(flags != "", flags, np.where(np.isfinite(first), "ok", "unreachable"))
        data = {
            "point_id": origin_ids,
            "minutes": np.where(reachable, first, np.nan),
            "station_id": np.where(reachable, station_ids[:, 0], None),
            "reachable": reachable,
            "status": status,
        }
        if snap_m is not None:
            data["snap_m"] = np.round(snap_m, 1)
        for j in range(1, minutes.shape[1]):
            ok = reachable & np.isfinite(minutes[:, j])
            data[f"minutes_{j + 1}"] = np.where(ok, minutes[:, j], np.nan)
            data[f"station_id_{j + 1}"] = np.where(ok, station_ids[:, j], None)
        return cls(pd.DataFrame(data))

    @property
    def unreachable(self) -> int:
        """How many origins reach no destination."""
        return int((~self.table["reachable"]).sum())


def require_coverage(population: np.ndarray, minutes: np.ndarray, *, engine: str, source: object = None) -> None:
    """Refuse a street-network result whose extract leaves too many residents unreached.

    Parameters
    ----------
    population
        Residents per origin (the study area).
    minutes
        ``(origins, destinations)`` minutes (``inf``: unreachable or off-network), or the nearest
        counter's minutes per origin (``NaN`` or ``inf``: unreachable or off-network).
    engine
        The engine's name; only ``"network"`` results are checked.
    source
        The OSM file, for the message.

    Raises
    ------
    EngineError
        If more than :data:`MAX_UNREACHED_SHARE` of the residents reach no counter.
    """
    if engine != "network":
        return
    t = np.asarray(minutes, dtype=float)
    reached = np.isfinite(t) if t.ndim == 1 else np.isfinite(t).any(axis=1)
    pop = np.asarray(population, dtype=float)
    total = float(pop.sum())
    missed = float(pop[~reached].sum())
    if total > 0 and missed / total > MAX_UNREACHED_SHARE:
        where = f" ({source})" if source else ""
        raise EngineError(
            f"{missed / total:.1%} of the study area's residents ({missed:,.0f} of {total:,.0f}) are off the "
            f"street network{where} or reach no counter on it; at most {MAX_UNREACHED_SHARE:.0%} may be. The OSM "
            "extract does not cover the study area: restrict the demand to the extract's boroughs "
            "(`Demand.in_boroughs`), or use a fuller extract."
        )


def points_xy(frame: gpd.GeoDataFrame, what: str) -> np.ndarray:
    """Coordinates of a point frame in British National Grid, as ``(n, 2)``.

    Parameters
    ----------
    frame
        Points in EPSG:27700.
    what
        What the points are, for the message when the CRS is wrong.
    """
    require_bng(frame, what)
    if len(frame) and not (frame.geom_type == "Point").all():
        raise EngineError(f"{what} must be points; found {sorted(frame.geom_type.unique())}")
    return np.column_stack([frame.geometry.x.to_numpy(), frame.geometry.y.to_numpy()])


def among_destinations(destinations: gpd.GeoDataFrame, among: Sequence[str] | None) -> gpd.GeoDataFrame:
    """The destinations whose ``station_id`` is in ``among`` (all of them for None), in their order."""
    if among is None:
        return destinations
    return destinations.loc[destinations["station_id"].astype(str).isin([str(a) for a in among]).to_numpy()]


def _ids(frame: gpd.GeoDataFrame, column: str, what: str) -> np.ndarray:
    if column not in frame.columns:
        raise EngineError(f"{what} need a {column!r} column")
    return frame[column].astype(str).to_numpy(dtype=object)


class TravelEngine(ABC):
    """Computes travel minutes from demand points to counters.

    Subclasses implement :meth:`matrix`; :meth:`nearest` defaults to the
    row minimum of the matrix and may be overridden by a faster search.
    A timetable (GTFS) engine can be added as another subclass without
    changing any caller.
    """

    #: Short name used in scenario files and the CLI.
    name: str = ""

    def matrix(self, origins: gpd.GeoDataFrame, destinations: gpd.GeoDataFrame) -> TravelMatrix:
        """Minutes from every origin (``point_id``) to every destination (``station_id``)."""
        o_ids = _ids(origins, "point_id", "origins")
        d_ids = _ids(destinations, "station_id", "destinations")
        minutes, flags = self._matrix(points_xy(origins, "origins"), points_xy(destinations, "destinations"))
        return TravelMatrix(minutes, o_ids, d_ids, flags)

    def nearest(
        self,
        origins: gpd.GeoDataFrame,
        destinations: gpd.GeoDataFrame,
        *,
        k: int = 1,
        among: Sequence[str] | None = None,
    ) -> NearestResult:
        """Each origin's ``k`` nearest destinations.

        Parameters
        ----------
        origins, destinations
            Points with ``point_id`` and ``station_id``.
        k
            How many destinations per origin.
        among
            Only these ``station_id`` may be chosen (default: all).  Repeated searches from the same
            origins to subsets of the same destinations (one plan after another) can then share work.
        """
        return self.matrix(origins, among_destinations(destinations, among)).nearest(k=k)

    @abstractmethod
    def _matrix(self, origins: np.ndarray, destinations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return ``(minutes, origin_flags)`` for coordinate arrays."""

    def describe(self) -> dict:
        """Engine name and parameters, for manifests and reports."""
        return {"engine": self.name}

    def input_files(self) -> tuple[Path, ...]:
        """Data files the engine read (hashed into manifests and cache keys)."""
        return ()


class GraphSearchEngine(TravelEngine):
    """An engine whose minutes are shortest paths on one sparse graph of origins, network and destinations.

    Subclasses build the graph with its arcs reversed (to -> from), so that one
    Dijkstra search from the destinations reaches every origin: a full matrix is
    one search per destination, the nearest destination one multi-source search.
    """

    @abstractmethod
    def _reversed_graph(self, origins: np.ndarray, destinations: np.ndarray) -> tuple[sp.csr_array, int, int]:
        """Return ``(graph, n_origins, first_destination_node)``; origins are nodes ``0 .. n_origins - 1``."""

    def _kept_graph(self, origins: np.ndarray, destinations: np.ndarray) -> tuple[sp.csr_array, int, int]:
        """:meth:`_reversed_graph`, kept for the next call with the same points (one graph is kept)."""
        key = (
            hashlib.sha256(np.ascontiguousarray(origins, dtype=float).tobytes()).hexdigest(),
            hashlib.sha256(np.ascontiguousarray(destinations, dtype=float).tobytes()).hexdigest(),
        )
        kept = self.__dict__.get("_graph_kept")
        if kept is None or kept[0] != key:
            kept = (key, self._reversed_graph(origins, destinations))
            object.__setattr__(self, "_graph_kept", kept)
        return kept[1]

    def _matrix(self, origins: np.ndarray, destinations: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        graph, n_o, base_d = self._reversed_graph(origins, destinations)
        n_d = len(destinations)
        if n_o < n_d:  # fewer origins: search forwards from each of them (the graph transposed) instead
            dist = dijkstra(graph.T.tocsr(), directed=True, indices=np.arange(n_o))
            minutes = dist[:, base_d : base_d + n_d].copy()
        else:
            dist = dijkstra(graph, directed=True, indices=base_d + np.arange(n_d))
            minutes = dist[:, :n_o].T.copy()
        return minutes, np.full(n_o, "", dtype=object)

    def nearest(
        self,
        origins: gpd.GeoDataFrame,
        destinations: gpd.GeoDataFrame,
        *,
        k: int = 1,
        among: Sequence[str] | None = None,
    ) -> NearestResult:
        """Each origin's nearest destination by one multi-source search (``k > 1``: from the matrix).

        With ``among``, the graph is built for every destination and kept (the last one only), and
        the search starts from the chosen ones: a destination node has no arc into it, so the others
        change nothing.  The next call with the same origins and destinations reuses the graph.
        """
        if k > 1:
            return super().nearest(origins, destinations, k=k, among=among)
        o_ids = _ids(origins, "point_id", "origins")
        d_ids = _ids(destinations, "station_id", "destinations")
        chosen = np.arange(len(d_ids)) if among is None else np.flatnonzero(np.isin(d_ids, list(among)))
        if len(chosen) == 0:
            raise EngineError("no destinations to choose from")
        o_xy, d_xy = points_xy(origins, "origins"), points_xy(destinations, "destinations")
        if among is None:
            graph, n_o, base_d = self._reversed_graph(o_xy, d_xy)
        else:
            graph, n_o, base_d = self._kept_graph(o_xy, d_xy)
        dist, _, src = dijkstra(graph, directed=True, indices=base_d + chosen, min_only=True, return_predecessors=True)
        minutes, which = dist[:n_o], src[:n_o]
        station = np.where(which >= 0, d_ids[np.clip(which - base_d, 0, len(d_ids) - 1)], None)
        return NearestResult.build(o_ids, minutes[:, None], station[:, None], np.full(n_o, "", dtype=object))
