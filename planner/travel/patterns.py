"""One model of timetabled service: stopping patterns, for buses, trains and trams alike.

A *pattern* is a sequence of calls that vehicles run in one direction, with a
run time (or a distance, where the source has no times) between consecutive
calls and a headway.  TfL's bus sequences, the National Rail timetable (ATOC
CIF) and the Tramlink service pattern are each read into a
:class:`ServicePatterns`; the public-transport engine
(:mod:`planner.travel.transit`) turns any of them into the same arcs of its
one sparse search graph (board, ride, alight, change), so that another
source, for example a GTFS feed, needs only a reader.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from planner.errors import DataError

__all__ = ["Mode", "ServicePatterns", "combined_waits"]

logger = logging.getLogger(__name__)

Mode = Literal["bus", "rail", "tram"]


@dataclass(frozen=True)
class ServicePatterns:
    """Stopping patterns of one mode.

    Attributes
    ----------
    mode
        ``"bus"``, ``"rail"`` or ``"tram"``.
    stops
        One row per stop or station, indexed ``0 .. n - 1``: ``stop_id``,
        ``name``, ``x``, ``y`` (EPSG:27700) and ``change_min`` (minutes to
        change between two patterns there; 0 for bus stops, where a change
        is the next wait alone).
    calls
        One row per call, ordered by ``pattern`` then call order:
        ``pattern`` (position in :attr:`patterns`), ``stop`` (position in
        :attr:`stops`), ``board`` (riders may board and alight here; ``False``
        for a timing point), ``ride_m`` (straight metres from the pattern's
        previous call, NaN at its first) and ``run_min`` (timetabled minutes
        from the previous call; NaN where the source has no times, and at the
        first call).
    patterns
        One row per pattern: ``name``, ``operator``, ``headway_min`` (NaN
        where the source gives none: the engine's wait for the mode applies)
        and ``headway_source`` (``"timetable"``, ``"default"`` or ``""``).
    links
        Fixed links between stops of this mode (for example CIF walk links
        between stations): ``a``, ``b`` (stop positions), ``minutes``.
    notes
        What was dropped, repaired or assumed while reading, in plain words.
    source
        What was read (file name and date), for manifests and summaries.
    unserved
        Stations the source lists inside the area read but no pattern calls at (``stop_id``, ``name``,
        ``x``, ``y``): gaps of the data to report.
    interchanges
        The source's own walks from a stop (``stop``, a position) to a stop of another network (its
        ``name`` and ``x``, ``y``), with their ``minutes``: the CIF's walk links to the Underground.
    """

    mode: Mode
    stops: pd.DataFrame
    calls: pd.DataFrame
    patterns: pd.DataFrame
    links: pd.DataFrame = field(default_factory=lambda: pd.DataFrame({"a": [], "b": [], "minutes": []}))
    notes: tuple[str, ...] = ()
    source: str = ""
    unserved: pd.DataFrame = field(default_factory=lambda: pd.DataFrame({"stop_id": [], "name": [], "x": [], "y": []}))
    interchanges: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"stop": [], "name": [], "x": [], "y": [], "minutes": []})
    )

    def __post_init__(self) -> None:
        calls = self.calls
        if len(calls) and (calls["stop"].max() >= len(self.stops) or calls["pattern"].max() >= len(self.patterns)):
            raise DataError(f"{self.mode} patterns: a call names a stop or pattern that is not listed")
        order = calls["pattern"].to_numpy()
        if len(order) > 1 and (np.diff(order) < 0).any():
            raise DataError(f"{self.mode} patterns: calls must be ordered by pattern")

    @property
    def rides(self) -> tuple[np.ndarray, np.ndarray]:
        """Positions ``(from, to)`` in :attr:`calls` of every ride between consecutive calls of a pattern."""
        p = self.calls["pattern"].to_numpy()
        same = np.flatnonzero(p[1:] == p[:-1])
        return same, same + 1

    def summary(self) -> dict[str, object]:
        """Counts for manifests and logs: stops, patterns, calls, and how headways were set."""
        src = self.patterns["headway_source"].value_counts().to_dict() if len(self.patterns) else {}
        return {
            "mode": self.mode,
            "source": self.source,
            "stops": int(self.calls["stop"].nunique()) if len(self.calls) else 0,
            "patterns": len(self.patterns),
            "calls": len(self.calls),
            "headways": {str(k): int(v) for k, v in sorted(src.items()) if k},
        }


def combined_waits(
    patterns: ServicePatterns, *, headway_min: np.ndarray | None = None, wait_share: float = 0.5
) -> np.ndarray:
    """The wait at each call for a vehicle of any pattern that runs on to the same next stop.

    A rider at a station does not wait for one pattern: any train that calls
    next where they are going will do.  The wait at a call is ``wait_share``
    of the combined headway of every pattern that calls at the same stop and
    then at the same next stop (frequencies add: two patterns every 30
    minutes make a 15-minute headway).  A pattern's last call, where nobody
    boards, gets NaN, as does every call of a pattern without a headway.

    Parameters
    ----------
    patterns
        The patterns.
    headway_min
        One headway per pattern; default the patterns' own ``headway_min`` column.
    wait_share
        Share of the combined headway a rider waits on average (0.5 for
        trains that keep time, arriving at random).

    Returns
    -------
    numpy.ndarray
        Minutes, one per row of :attr:`ServicePatterns.calls`.
    """
    calls = patterns.calls
    n = len(calls)
    out = np.full(n, np.nan)
    a, b = patterns.rides
    if not len(a):
        return out
    per_pattern = patterns.patterns["headway_min"].to_numpy(float) if headway_min is None else headway_min
    headway = np.asarray(per_pattern, dtype=float)[calls["pattern"].to_numpy()[a]]
    stop = calls["stop"].to_numpy()
    pair = pd.Series(stop[a].astype(np.int64) * (int(stop.max()) + 1) + stop[b].astype(np.int64))
    per_hour = pd.Series(np.where(headway > 0, 1.0 / headway, np.nan))
    total = per_hour.groupby(pair.to_numpy()).transform("sum").to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out[a] = np.where(np.isfinite(headway) & (total > 0), wait_share / total, np.nan)
    return out
