"""From GeoDataFrames to the hub model's labelled inputs: adjacency, sites, costs and site flags."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from planner.config import require_bng
from planner.demand import Demand
from planner.errors import DataError
from planner.travel.base import TravelEngine

__all__ = ["adjacency_from_wards", "site_flags", "ward_costs", "ward_sites"]

logger = logging.getLogger(__name__)

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no", ""})


def adjacency_from_wards(wards: gpd.GeoDataFrame) -> dict[str, set[str]]:
    """Rook contiguity (a shared boundary edge, not just a corner) between wards.

    Two wards are neighbours when their boundaries share an edge, i.e. the
    same two consecutive vertices (in either direction), which is the rule of
    ``libpysal.weights.Rook``.  The edges of all rings are hashed at once with
    numpy, so London's 629 wards take a few hundredths of a second.

    Parameters
    ----------
    wards
        Ward polygons with ``ward_code``.

    Returns
    -------
    dict
        ``ward_code`` → set of neighbouring ward codes.
    """
    require_bng(wards, "wards")
    codes = wards["ward_code"].astype(str).tolist()
    parts, owner = shapely.get_parts(wards.geometry.values, return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    xy = xy + 0.0  # -0.0 becomes 0.0, as in tuple equality
    who_vertex = owner[ring_part[ring]]
    # an edge joins vertex v and v + 1 of one ring; hash it by its ends' coordinate bits, in either order
    start = np.flatnonzero(ring[:-1] == ring[1:])
    bits = xy.view(np.uint64)
    vertex = bits[:, 0] * np.uint64(0x9E3779B97F4A7C15) ^ bits[:, 1] * np.uint64(0xC2B2AE3D27D4EB4F)
    vertex = (vertex ^ (vertex >> np.uint64(29))) * np.uint64(0xBF58476D1CE4E5B9)
    digest = vertex[start] + vertex[start + 1]
    order = np.argsort(digest, kind="stable")
    start, digest = start[order], digest[order]
    equal = digest[1:] == digest[:-1]
    at = np.flatnonzero(equal)
    p, q = start[at], start[at + 1]
    x, y = xy[:, 0], xy[:, 1]
    forward = (x[p] == x[q]) & (y[p] == y[q]) & (x[p + 1] == x[q + 1]) & (y[p + 1] == y[q + 1])
    backward = (x[p] == x[q + 1]) & (y[p] == y[q + 1]) & (x[p + 1] == x[q]) & (y[p + 1] == y[q])
    exact = np.zeros(len(equal), dtype=bool)
    exact[at] = forward | backward
    n = len(codes)
    i, k = who_vertex[p[exact[at]]], who_vertex[q[exact[at]]]
    keys = np.unique(np.minimum(i, k).astype(np.int64) * n + np.maximum(i, k))
    neighbours: dict[str, set[str]] = {c: set() for c in codes}
    for key in keys.tolist():
        i, k = divmod(key, n)
        if i != k:
            neighbours[codes[i]].add(codes[k])
            neighbours[codes[k]].add(codes[i])
    # rare cases compared exactly in Python: three or more rings on one edge, or a hash shared by different edges
    clash = equal & ~exact
    odd = np.flatnonzero((equal[1:] & equal[:-1]) | clash[:-1] | clash[1:])
    for value in np.unique(digest[odd]).tolist():
        groups: dict[frozenset, set[int]] = {}
        for at in start[digest == value].tolist():
            edge = frozenset((tuple(xy[at].tolist()), tuple(xy[at + 1].tolist())))
            groups.setdefault(edge, set()).add(int(who_vertex[at]))
        for members in groups.values():
            for i in members:
                neighbours[codes[i]].update(codes[k] for k in members if k != i)
    return neighbours


def ward_sites(demand: Demand, wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Each ward's population-weighted centre, as candidate hub sites.

    Wards without a demand point use a point inside the polygon.

    Parameters
    ----------
    demand
        Demand points with ``ward_code`` and ``population``.
    wards
        Ward polygons (EPSG:27700).
    """
    pts = demand.points
    w = pts["population"].to_numpy(float)
    frame = pd.DataFrame({"ward_code": pts["ward_code"], "wx": pts.geometry.x * w, "wy": pts.geometry.y * w, "w": w})
    sums = frame.groupby("ward_code")[["wx", "wy", "w"]].sum()
    sums = sums[sums["w"] > 0]
    inner = wards.set_index("ward_code").geometry.representative_point()
    x = (sums["wx"] / sums["w"]).reindex(inner.index).fillna(inner.x)
    y = (sums["wy"] / sums["w"]).reindex(inner.index).fillna(inner.y)
    sites = gpd.GeoDataFrame(
        {
            "site_id": inner.index,
            "station_id": inner.index,
            "ward_code": inner.index,
            "borough_code": wards.set_index("ward_code")["borough_code"].reindex(inner.index).to_numpy(),
        },
        geometry=gpd.points_from_xy(x, y),
        crs=wards.crs,
    )
    return sites.reset_index(drop=True)


def ward_costs(demand: Demand, sites: gpd.GeoDataFrame, engine: TravelEngine) -> pd.DataFrame:
    """Person-minutes from each ward's demand points to each site.

    A resident who cannot reach a site (an infinite or missing time from the
    engine, or a point the engine flags, e.g. ``off-network``) makes
    the whole ward's cost to that site NaN, so the model may not send the
    ward there: unreachable residents never cost nothing.  Points with no
    residents cost nothing whatever their time.

    Parameters
    ----------
    demand
        Demand points with ``ward_code`` and ``population``.
    sites
        Candidate sites with ``site_id`` (EPSG:27700).
    engine
        Travel-time engine for residents' trips to the sites.

    Returns
    -------
    pandas.DataFrame
        Index ``ward_code`` (the wards that have demand points), one column
        per site id.
    """
    pts = demand.points
    sites = sites.assign(station_id=sites["site_id"].astype(str))
    matrix = engine.matrix(pts, sites)
    pop = pts["population"].to_numpy(float)
    minutes = np.asarray(matrix.minutes, dtype=float)
    flagged = np.asarray(matrix.origin_flags) != ""  # e.g. off the street network: unreachable, as in assess
    if flagged.any():
        minutes = np.where(flagged[:, None], np.inf, minutes)
    person = minutes * pop[:, None]
    reach = np.isfinite(person)
    if not reach.all():
        person = np.where(pop[:, None] == 0, 0.0, np.where(reach, person, np.inf))
    frame = pd.DataFrame(person, columns=pd.Index(matrix.destination_ids), copy=False)
    sums = frame.groupby(pts["ward_code"].to_numpy(), sort=True).sum()
    sums.index.name = "ward_code"
    unreachable = ~np.isfinite(sums.to_numpy())
    if unreachable.any():
        logger.info(
            "%d ward-site pairs are excluded because some residents cannot reach the site", int(unreachable.sum())
        )
        sums = sums.where(~unreachable)
    return sums


def site_flags(sites: pd.DataFrame, column: str) -> set[str]:
    """The site ids whose ``column`` (``must_use`` or ``must_not_use``) is set.

    Booleans and 0/1 numbers are read as such; text must be ``true``,
    ``false``, ``yes``, ``no``, ``1`` or ``0`` (any case, surrounding spaces
    ignored); an empty cell means not set.

    Parameters
    ----------
    sites
        Candidate sites with ``site_id``.
    column
        ``must_use`` or ``must_not_use`` (a missing column means no site is flagged).

    Raises
    ------
    DataError
        On any other value, naming the file (when known), the line, the
        site id and the value.
    """
    if column not in sites:
        return set()
    values = sites[column]
    ids = sites["site_id"].astype(str).to_numpy()
    source = sites.attrs.get("source")
    rejected = sites.attrs.get("rejected")
    # a file's line is the position + 2 (header is line 1) when no row was dropped on loading
    shift = 2 if source and (rejected is None or len(rejected) == 0) else None
    chosen: set[str] = set()
    bad = []
    for pos, (sid, value) in enumerate(zip(ids, values.tolist(), strict=True)):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        if isinstance(value, bool | np.bool_ | int | np.integer | float | np.floating) and value in (0, 1):
            flag = bool(value)
        elif isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            flag = value.strip().lower() in _TRUE
        else:
            where = f"line {pos + shift}" if shift is not None else f"row {pos + 1}"
            bad.append(f"{where} (site {sid}): {value!r}")
            continue
        if flag:
            chosen.add(sid)
    if bad:
        where = f"{source}: " if source else "candidate sites: "
        raise DataError(
            f"{where}{column} must be true/false, yes/no or 1/0 (or empty for false); refused "
            + "; ".join(bad[:10])
            + (f" and {len(bad) - 10} more" if len(bad) > 10 else "")
            + "."
        )
    return chosen
