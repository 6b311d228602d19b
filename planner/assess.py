"""The 45-minute test: who is beyond a travel-time threshold, where."""

from __future__ import annotations

import itertools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.config import require_bng
from planner.demand import Demand
from planner.errors import EngineError, OptionError
from planner.io import write_csv, write_gpkg
from planner.stats import FIGURES, access_figures, beyond, check_threshold, weighted_quantile
from planner.travel.base import NearestResult, TravelEngine, require_coverage

__all__ = ["AccessResult", "assess", "summarise", "weighted_quantile"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AccessResult:
    """Results of :func:`assess`.

    Attributes
    ----------
    points
        Per demand point: ``point_id``, ``ward_code``, ``borough_code``,
        ``population``, ``pop_65_plus``, ``minutes``, ``station_id``,
        ``reachable``, ``status``, ``beyond`` (True when minutes > threshold
        or unreachable).
    wards
        Per ward: names, ``population``, ``mean_minutes`` (population
        weighted over reachable residents), ``beyond`` (residents),
        ``share_beyond``, ``beyond_65_plus``, ``nearest_station`` (the
        counter nearest most of the ward's residents), ``unreachable``.
    boroughs
        Per borough: ``population``, ``beyond``, ``pct_within``,
        ``mean_minutes``, ``median_minutes``, ``p95_minutes``,
        ``beyond_65_plus``, ``unreachable``.
    london
        The same figures for the whole study area, as a one-row frame.
    threshold
        Minutes.
    engine
        The engine's description.
    """

    points: pd.DataFrame
    wards: pd.DataFrame
    boroughs: pd.DataFrame
    london: pd.DataFrame
    threshold: float
    engine: dict

    def write(self, out_dir: str | os.PathLike[str], wards: gpd.GeoDataFrame | None = None) -> list[Path]:
        """Write ward and borough results as GeoPackage and CSV, and points and London as CSV.

        Parameters
        ----------
        out_dir
            Folder to write into (created if needed).
        wards
            Ward polygons for the GeoPackage layer (not needed for a result made with
            ``assess(..., wards=...)``).

        Returns
        -------
        list of Path
            The files written.
        """
        out = Path(out_dir)
        if (out / "manifest.json").is_file():
            raise OptionError(
                f"{out} is a run folder written by `planner run`: the access tables would overwrite its own, "
                "which its manifest and summary describe; write them into another folder"
            )
        (out / "access.gpkg").unlink(missing_ok=True)
        ward_geo = self.ward_frame(wards)
        borough_geo = self.borough_frame(wards)
        return [
            write_gpkg(ward_geo, out / "access.gpkg", "wards"),
            write_gpkg(borough_geo, out / "access.gpkg", "boroughs"),
            write_csv(self.wards, out / "access_wards.csv"),
            write_csv(self.boroughs, out / "access_boroughs.csv"),
            write_csv(self.london, out / "access_london.csv"),
            write_csv(self.points, out / "access_points.csv"),
        ]

    @property
    def is_geo(self) -> bool:
        """Whether the ward and borough tables carry their polygons (``assess(..., wards=...)``)."""
        return isinstance(self.wards, gpd.GeoDataFrame)

    def ward_frame(self, wards: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
        """Ward results as a GeoDataFrame in EPSG:27700 (for ``.explore()``, ``.plot()`` or a GeoPackage).

        Parameters
        ----------
        wards
            Ward polygons with ``ward_code``; not needed when the result was made with
            ``assess(..., wards=...)``.

        Returns
        -------
        geopandas.GeoDataFrame
            One row per ward the result covers, with the figures of :attr:`wards`.

        Raises
        ------
        OptionError
            No ward polygons: the result has none and ``wards`` is not given.
        """
        if wards is None:
            if not self.is_geo:
                raise OptionError(
                    "this access result has no ward polygons: pass wards (e.g. london.study_wards), or make it "
                    "with assess(..., wards=london.study_wards)"
                )
            return self.wards  # type: ignore[return-value]
        require_bng(wards, "wards")
        cols = [c for c in self.wards.columns if c not in ("ward_name", "borough_code", "borough_name", "geometry")]
        return wards.merge(pd.DataFrame(self.wards[cols]), on="ward_code", how="inner")

    def borough_frame(self, wards: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
        """Borough results as a GeoDataFrame in EPSG:27700, each borough dissolved from its wards.

        Parameters
        ----------
        wards
            As for :meth:`ward_frame`.

        Returns
        -------
        geopandas.GeoDataFrame
            One row per borough, with the figures of :attr:`boroughs`.
        """
        if wards is None and isinstance(self.boroughs, gpd.GeoDataFrame):
            return self.boroughs
        shapes = self.ward_frame(wards)[["borough_code", "geometry"]].dissolve(by="borough_code", as_index=False)
        return shapes.merge(pd.DataFrame(self.boroughs).drop(columns="geometry", errors="ignore"), on="borough_code")


def summarise(points: pd.DataFrame, by: list[str] | None, *, threshold: float) -> pd.DataFrame:
    """Population-weighted figures for groups of demand points (see :func:`planner.stats.access_figures`).

    Parameters
    ----------
    points
        Point results with ``population``, ``pop_65_plus``, ``minutes`` and
        ``reachable``.
    by
        Grouping columns, or None for one row over all points.
    threshold
        Minutes; a resident exactly at the threshold is within it.
    """

    minutes = points["minutes"].to_numpy(float)
    population = points["population"].to_numpy(float)
    old = points["pop_65_plus"].to_numpy(float)
    reachable = points["reachable"].to_numpy(bool)

    def one(rows: np.ndarray | slice) -> dict:
        return access_figures(
            minutes[rows], population[rows], threshold=threshold, pop_65_plus=old[rows], reachable=reachable[rows]
        )

    if by is None:
        return _integers(pd.DataFrame([one(slice(None))]))
    # one group at a time in numpy: pandas' groupby-apply costs more than the figures themselves
    groups = points.groupby(by, sort=True)
    code = groups.ngroup().to_numpy()
    keep = np.flatnonzero(code >= 0)  # rows with a missing key belong to no group, as in groupby
    order = keep[np.argsort(code[keep], kind="stable")]
    bounds = np.searchsorted(code[order], np.arange(groups.ngroups + 1))
    figures = [one(order[a:b]) for a, b in itertools.pairwise(bounds)]
    keys = groups.size().index
    table = pd.DataFrame(figures, index=keys, columns=list(FIGURES)).reset_index()
    return _integers(table)


def _integers(table: pd.DataFrame) -> pd.DataFrame:
    counts = ["population", "beyond", "beyond_65_plus", "unreachable"]
    table[counts] = table[counts].astype(np.int64)
    return table


def _check_nearest(table: pd.DataFrame, points: pd.DataFrame, counters: gpd.GeoDataFrame) -> None:
    """A nearest-counter result for these points and these counters (not another plan's)."""
    if not np.array_equal(table["point_id"].to_numpy(), points["point_id"].to_numpy()):
        raise EngineError("nearest-counter result does not match the demand points")
    other = sorted(set(table["station_id"].dropna().astype(str)) - set(counters["station_id"].astype(str)))
    if other:
        raise EngineError(
            f"`nearest` names {len(other)} counter(s) that `counters` does not open ({other[:5]}): it was computed "
            "for another plan; compute it for these counters, or leave `nearest` out"
        )


#: A counter further than this from every resident's area is in the wrong place or in the wrong units.
FAR_M = 50_000.0


def _check_counters(counters: gpd.GeoDataFrame, points: gpd.GeoDataFrame) -> None:
    """Counters with an id and a point near the residents (a shifted or kilometre-scaled table is refused)."""
    if "station_id" not in counters.columns or counters["station_id"].isna().any():
        raise OptionError("`counters` needs a station_id for every counter (some are missing)")
    missing = counters.geometry.isna() | counters.geometry.is_empty
    if missing.any():
        raise OptionError(f"`counters` {counters.loc[missing, 'station_id'].tolist()[:5]} have no point")
    x0, y0, x1, y1 = points.total_bounds
    xs, ys = counters.geometry.x.to_numpy(), counters.geometry.y.to_numpy()
    dx = np.maximum(np.maximum(x0 - xs, xs - x1), 0)
    dy = np.maximum(np.maximum(y0 - ys, ys - y1), 0)
    far = np.hypot(dx, dy) > FAR_M
    if far.any():
        shown = ", ".join(
            f"{i} ({x:.0f}, {y:.0f})" for i, x, y in zip(counters["station_id"][far], xs[far], ys[far], strict=True)
        )
        raise OptionError(
            f"`counters` {shown[:300]} lie more than {FAR_M / 1000:g} km from every resident (whose points span "
            f"{x0:.0f}-{x1:.0f} E, {y0:.0f}-{y1:.0f} N in EPSG:27700): shifted, or in other units; give British "
            "National Grid metres"
        )


def assess(
    demand: Demand,
    counters: gpd.GeoDataFrame,
    engine: TravelEngine,
    *,
    threshold: float = 45.0,
    nearest: NearestResult | None = None,
    wards: gpd.GeoDataFrame | None = None,
) -> AccessResult:
    """Run the 45-minute test (or any threshold).

    Parameters
    ----------
    demand
        Demand points and ward table (usually the Met study area).
    counters
        Open counters with ``station_id`` and point geometry.
    engine
        Any :class:`~planner.travel.base.TravelEngine`.
    threshold
        Minutes; a resident exactly at the threshold is within it.
    nearest
        Precomputed nearest-counter result for these points, to skip the
        engine (used by cached sweeps).
    wards
        Ward polygons (EPSG:27700, e.g. ``london.study_wards``): the result's
        points, wards and boroughs are then GeoDataFrames, so
        ``result.wards.explore(column="mean_minutes")`` works.

    Returns
    -------
    AccessResult
        Per point, ward, borough and London-wide figures.

    Raises
    ------
    EngineError
        No open counters, or a result that does not match the points.
    CRSError
        ``counters`` or ``wards`` not in EPSG:27700.
    """
    threshold = check_threshold(threshold)
    if counters.empty:
        raise EngineError("no open counters: every resident would be unreachable")
    require_bng(counters, "counters")
    pts = demand.points
    _check_counters(counters, pts)
    result = nearest if nearest is not None else engine.nearest(pts, counters)
    table = result.table
    _check_nearest(table, pts, counters)
    points = pd.DataFrame(
        {
            "point_id": pts["point_id"].to_numpy(),
            "ward_code": pts["ward_code"].to_numpy(),
            "borough_code": pts["borough_code"].to_numpy(),
            "borough_name": pts["borough_name"].to_numpy(),
            "population": pts["population"].to_numpy(),
            "pop_65_plus": pts["pop_65_plus"].to_numpy(),
            "minutes": table["minutes"].to_numpy(),
            "station_id": table["station_id"].to_numpy(),
            "reachable": table["reachable"].to_numpy(),
            "status": table["status"].to_numpy(),
        }
    )
    points["beyond"] = beyond(points["minutes"].to_numpy(float), threshold, points["reachable"].to_numpy(bool))
    require_coverage(points["population"].to_numpy(), points["minutes"].to_numpy(), engine=engine.name)
    if result.unreachable:
        logger.warning(
            "%d demand point(s) reach no open counter (%s residents)",
            result.unreachable,
            f"{points.loc[~points['reachable'], 'population'].sum():,}",
        )
    ward_table = _wards(points, demand.wards, threshold)
    boroughs = summarise(points, ["borough_code", "borough_name"], threshold=threshold)
    london = summarise(points, None, threshold=threshold)
    result = AccessResult(points, ward_table, boroughs, london, float(threshold), engine.describe())
    if wards is None:
        return result
    require_bng(wards, "wards")
    lacking = sorted(set(ward_table["ward_code"]) - set(wards["ward_code"]))
    if lacking:
        raise OptionError(
            f"`wards` lacks {len(lacking)} of the demand's {len(ward_table)} wards (e.g. {lacking[:3]}): the ward and "
            "borough tables would leave them out; pass the polygons of every ward (e.g. london.study_wards)"
        )
    geo_points = gpd.GeoDataFrame(points, geometry=np.asarray(pts.geometry), crs=pts.crs)
    geo_wards = result.ward_frame(wards)
    return AccessResult(geo_points, geo_wards, result.borough_frame(wards), london, result.threshold, result.engine)


def _wards(points: pd.DataFrame, ward_table: pd.DataFrame, threshold: float) -> pd.DataFrame:
    stats = summarise(points, ["ward_code"], threshold=threshold).set_index("ward_code")
    stats["share_beyond"] = stats["beyond"] / stats["population"].where(stats["population"] > 0)
    weight = points.loc[points["reachable"]].groupby(["ward_code", "station_id"])["population"].sum()
    top = weight.reset_index().sort_values(["ward_code", "population", "station_id"], ascending=[True, False, True])
    stats["nearest_station"] = top.drop_duplicates("ward_code").set_index("ward_code")["station_id"]
    base = ward_table[["ward_code", "ward_name", "borough_code", "borough_name"]].set_index("ward_code")
    out = base.join(
        stats[
            [
                "population",
                "mean_minutes",
                "median_minutes",
                "p95_minutes",
                "beyond",
                "share_beyond",
                "beyond_65_plus",
                "unreachable",
                "nearest_station",
            ]
        ],
        how="left",
    )
    empty = out["population"].isna()
    out[["population", "beyond", "beyond_65_plus", "unreachable"]] = (
        out[["population", "beyond", "beyond_65_plus", "unreachable"]].fillna(0).astype(np.int64)
    )
    if empty.any():
        logger.info("%d ward(s) have no demand point and no travel time", int(empty.sum()))
    return out.reset_index()
