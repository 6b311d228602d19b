"""Hub plan outputs: the hubs table, the ward → hub layer, hub polygons, and the files."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd

from planner.demand import Demand
from planner.hubs.inputs import ward_sites
from planner.hubs.model import HubPlan
from planner.io import write_csv, write_gpkg
from planner.travel.base import TravelEngine
from planner.travel.crowfly import CrowFly

__all__ = ["hub_colours", "hub_outputs", "write_hubs"]


def hub_outputs(
    plan: HubPlan,
    wards: gpd.GeoDataFrame,
    demand: Demand,
    sites: gpd.GeoDataFrame | None = None,
    *,
    engine: TravelEngine | None = None,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Hubs table, ward → hub GeoDataFrame and dissolved hub polygons.

    Parameters
    ----------
    plan
        The solved hub plan.
    wards
        Study-area ward polygons (EPSG:27700).
    demand
        The demand points the plan was made for.
    sites
        The candidate sites (default: each ward's population-weighted centre).
    engine
        Travel-time engine for residents' trips to their hub site (default: crow-fly).

    Returns
    -------
    hubs
        ``hub_id``, ``borough_code``, ``borough_name``, ``site_id``,
        ``site_ward_name``, ``site_x``, ``site_y``, ``wards`` (codes joined
        with ``;``), ``n_wards``, ``population``, ``mean_minutes``,
        ``max_minutes``.
    ward_hubs
        Ward polygons with ``hub_id`` and ``site_id``.
    hub_polygons
        One polygon per hub, dissolved from its wards, with the hubs table's columns.
    """
    engine = engine or CrowFly()
    if sites is None:
        sites = ward_sites(demand, wards)
    site_xy = sites.set_index("site_id").geometry
    ward_hubs = wards.merge(plan.assignment[["ward_code", "hub_id", "site_id"]], on="ward_code", how="inner")
    pts = demand.points.merge(plan.assignment[["ward_code", "hub_id", "site_id"]], on="ward_code", how="inner")
    dest = gpd.GeoDataFrame({"station_id": site_xy.index.astype(str)}, geometry=site_xy.values, crs=wards.crs)
    used = dest[dest["station_id"].isin(set(plan.assignment["site_id"]))].reset_index(drop=True)
    matrix = engine.matrix(gpd.GeoDataFrame(pts, geometry="geometry", crs=wards.crs), used)
    col = pd.Index(matrix.destination_ids).get_indexer(pts["site_id"].astype(str))
    pts["minutes"] = matrix.minutes[np.arange(len(pts)), col]
    pts["pm"] = pts["minutes"] * pts["population"]
    agg = pts.groupby("hub_id").agg(population=("population", "sum"), pm=("pm", "sum"), max_minutes=("minutes", "max"))
    agg["mean_minutes"] = agg["pm"] / agg["population"].where(agg["population"] > 0)
    members = plan.assignment.groupby("hub_id").agg(
        borough_code=("borough_code", "first"),
        site_id=("site_id", "first"),
        wards=("ward_code", lambda s: ";".join(sorted(s))),
        n_wards=("ward_code", "size"),
    )
    hubs = members.join(agg[["population", "mean_minutes", "max_minutes"]]).reset_index()
    names = wards.set_index("ward_code")
    borough_names = dict(zip(wards["borough_code"], wards["borough_name"], strict=False))
    borough_names.update(dict(zip(plan.boroughs["borough_code"], plan.boroughs["borough_name"], strict=True)))
    hubs["borough_name"] = hubs["borough_code"].map(borough_names)
    hubs["site_ward_name"] = hubs["site_id"].map(names["ward_name"]).fillna(hubs["site_id"])
    hubs["site_x"] = hubs["site_id"].map(site_xy.x).round(1)
    hubs["site_y"] = hubs["site_id"].map(site_xy.y).round(1)
    hubs["population"] = hubs["population"].fillna(0).astype(np.int64)
    hubs = (
        hubs[
            [
                "hub_id",
                "borough_code",
                "borough_name",
                "site_id",
                "site_ward_name",
                "site_x",
                "site_y",
                "wards",
                "n_wards",
                "population",
                "mean_minutes",
                "max_minutes",
            ]
        ]
        .sort_values("hub_id")
        .reset_index(drop=True)
    )
    polygons = ward_hubs[["hub_id", "geometry"]].dissolve(by="hub_id", as_index=False).merge(hubs, on="hub_id")
    return hubs, ward_hubs.sort_values("ward_code").reset_index(drop=True), polygons


def write_hubs(
    plan: HubPlan,
    wards: gpd.GeoDataFrame,
    demand: Demand,
    out_dir: str | os.PathLike[str],
    *,
    sites: gpd.GeoDataFrame | None = None,
    engine: TravelEngine | None = None,
) -> list[Path]:
    """Write the hubs table, ward → hub layer and hub polygons as GeoPackage and CSV.

    Parameters
    ----------
    plan
        The solved hub plan.
    wards
        Study-area ward polygons (EPSG:27700).
    demand
        The demand points the plan was made for.
    out_dir
        Folder to write into (created if needed).
    sites
        The candidate sites the plan chose among (default: each ward's population-weighted centre).
    engine
        Travel-time engine for residents' trips to their hub site (default: crow-fly).

    Returns
    -------
    list of Path
        Files written: ``hubs.gpkg`` (layers ``hubs``, ``ward_hubs``,
        ``hub_sites``), ``hubs.csv``, ``ward_hubs.csv``, ``hub_boroughs.csv``.
    """
    out = Path(out_dir)
    hubs, ward_hubs, polygons = hub_outputs(plan, wards, demand, sites, engine=engine)
    site_points = gpd.GeoDataFrame(hubs, geometry=gpd.points_from_xy(hubs["site_x"], hubs["site_y"]), crs=wards.crs)
    gpkg = out / "hubs.gpkg"
    gpkg.unlink(missing_ok=True)
    write_gpkg(polygons, gpkg, "hubs")
    write_gpkg(ward_hubs, gpkg, "ward_hubs")
    write_gpkg(site_points, gpkg, "hub_sites")
    return [
        gpkg,
        write_csv(hubs, out / "hubs.csv"),
        write_csv(ward_hubs, out / "ward_hubs.csv"),
        write_csv(plan.boroughs.drop(columns="seconds"), out / "hub_boroughs.csv"),
    ]


def hub_colours(hubs: gpd.GeoDataFrame, palette: Sequence[str]) -> list[str]:
    """A colour per hub, so that hubs that meet (share a border or a corner) differ.

    The one colouring rule of the interactive maps and the report's static map: a greedy colouring
    (largest first) of the graph of hubs whose polygons intersect.

    Parameters
    ----------
    hubs
        Hub polygons with ``hub_id``, in one CRS.
    palette
        The colours to use, cycled when the graph needs more.

    Returns
    -------
    list of str
        One colour per row of ``hubs``.
    """
    meeting = gpd.sjoin(hubs[["hub_id", "geometry"]], hubs[["hub_id", "geometry"]], predicate="intersects")
    graph = nx.Graph()
    graph.add_nodes_from(hubs["hub_id"])
    graph.add_edges_from((a, b) for a, b in zip(meeting["hub_id_left"], meeting["hub_id_right"], strict=True) if a != b)
    colours = nx.coloring.greedy_color(graph, strategy="largest_first")
    return [palette[colours[h] % len(palette)] for h in hubs["hub_id"]]
