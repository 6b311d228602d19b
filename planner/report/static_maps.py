"""The report's static maps (matplotlib PNGs): travel-time bands, change, hubs, with scale and north."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

from planner.credits import MAP_CREDIT
from planner.hubs import hub_colours
from planner.maps import BANDS, CHANGE_BANDS
from planner.report.style import _HATCH, _HUB_PALETTE, _MAP_SIMPLIFY_M, _OVER_45, _RC, _figure, _mpl, _png_uri
from planner.runfolder import RunOutputs
from planner.travel import REGISTRY


def _paths(geometries: np.ndarray) -> list:
    """One matplotlib path per (multi)polygon, holes included, for a fast PathCollection."""
    from matplotlib.path import Path as MplPath

    out = []
    for geom in geometries:
        verts, codes = [], []
        for poly in getattr(geom, "geoms", [geom]):
            for ring in [poly.exterior, *poly.interiors]:
                xy = np.asarray(ring.coords)
                verts.append(xy)
                ring_codes = np.full(len(xy), MplPath.LINETO, dtype=np.uint8)
                ring_codes[0], ring_codes[-1] = MplPath.MOVETO, MplPath.CLOSEPOLY
                codes.append(ring_codes)
        out.append(MplPath(np.concatenate(verts), np.concatenate(codes)) if verts else MplPath(np.empty((0, 2))))
    return out


@dataclass
class _Shapes:
    """Simplified shapes of one ward set, as matplotlib paths."""

    wards: list
    boroughs: list
    bounds: tuple[float, float, float, float]


def _transit_default(name: str) -> float | None:
    return REGISTRY["transit"].reasons().get(name, (None, ""))[0]


class _Geo:
    """Simplified ward shapes and borough outlines, computed once per ward set."""

    def __init__(self) -> None:
        self._cache: dict[tuple, _Shapes] = {}

    def get(self, layer: gpd.GeoDataFrame) -> _Shapes:
        key = tuple(layer["ward_code"])
        if key not in self._cache:
            geoms = shapely.coverage_simplify(layer.geometry.values, _MAP_SIMPLIFY_M)
            frame = gpd.GeoDataFrame(layer[["borough_code"]], geometry=geoms, crs=layer.crs)
            boroughs = frame.dissolve(by="borough_code", as_index=False)
            self._cache[key] = _Shapes(_paths(geoms), _paths(boroughs.geometry.values), tuple(frame.total_bounds))
        return self._cache[key]


def _draw(ax, paths: list, *, face: object = "none", edge: str = "white", width: float = 0.12, z: float = 1):
    from matplotlib.collections import PathCollection

    ax.add_collection(
        PathCollection(paths, facecolors=face, edgecolors=edge, linewidths=width, zorder=z), autolim=False
    )


def _extent(ax, shapes: _Shapes) -> None:
    x0, y0, x1, y1 = shapes.bounds
    pad = 0.02 * (x1 - x0)
    ax.set_xlim(x0 - pad, x1 + pad)
    ax.set_ylim(y0 - pad, y1 + pad)


def _band_index(values: np.ndarray, bands: list) -> np.ndarray:
    uppers = np.array([u for u, _, _ in bands], dtype=float)
    out = np.searchsorted(uppers, values, side="left")
    return np.where(np.isnan(values), -1, out)


def _map_frame(width: float = 7.0, height: float = 5.6):
    fig = _figure(width, height)
    ax = fig.add_axes((0.0, 0.045, 1.0, 0.955))
    ax.set_axis_off()
    ax.set_aspect("equal")
    fig.text(0.01, 0.008, MAP_CREDIT, fontsize=5.2, color="#444444", va="bottom", linespacing=1.3)
    return fig, ax


def _scale_and_north(ax) -> None:
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    bx, by = x1 - (x1 - x0) * 0.04 - 10_000, y0 + (y1 - y0) * 0.04
    ax.plot([bx, bx + 10_000], [by, by], color="#222222", linewidth=2.2, solid_capstyle="butt")
    ax.plot([bx, bx + 5_000], [by, by], color="white", linewidth=1.0, solid_capstyle="butt")
    ax.text(bx + 5_000, by + (y1 - y0) * 0.012, "10 km", ha="center", va="bottom", fontsize=7)
    nx_, ny = x1 - (x1 - x0) * 0.05, y1 - (y1 - y0) * 0.14
    ax.annotate(
        "N",
        xy=(nx_, ny + (y1 - y0) * 0.08),
        xytext=(nx_, ny),
        ha="center",
        va="top",
        fontsize=9,
        fontweight="bold",
        arrowprops={"arrowstyle": "-|>", "color": "#222222", "linewidth": 1.2},
    )


def _choropleth(ax, shapes: _Shapes, index: np.ndarray, bands: list, hatches: dict[int, str] | None = None) -> list:
    """Wards in colour bands; ``hatches`` (band → pattern) keeps key bands apart when printed in grey."""
    from matplotlib.collections import PathCollection
    from matplotlib.patches import Patch

    hatches = hatches or {}
    colours = np.array([c for _, c, _ in bands] + ["#d9d9d9"], dtype=object)
    _draw(ax, shapes.wards, face=list(colours[index]))
    for band, pattern in sorted(hatches.items()):
        chosen = [path for path, i in zip(shapes.wards, index, strict=True) if i == band]
        if chosen:
            ax.add_collection(
                PathCollection(chosen, facecolors="none", edgecolors=_HATCH, linewidths=0, hatch=pattern, zorder=1.5),
                autolim=False,
            )
    _draw(ax, shapes.boroughs, edge="#333333", width=0.45, z=2)
    _extent(ax, shapes)
    handles = [
        Patch(facecolor=c, edgecolor="#999999", linewidth=0.4, hatch=hatches.get(i, ""), label=label)
        for i, (_, c, label) in enumerate(bands)
    ]
    if (index == -1).any():
        handles.append(Patch(facecolor="#d9d9d9", edgecolor="#999999", linewidth=0.4, label="No estimate"))
    return handles


def _counter_layer(ax, run: RunOutputs, first: RunOutputs | None) -> list:
    from matplotlib.lines import Line2D

    st = run.stations
    is_open = st["open"].astype(bool)
    all_day = st["open_24_7"].astype(bool) & is_open
    handles = []
    ref_open = set(first.counters["station_id"]) if first is not None and first is not run else None
    new = is_open & st["station_id"].isin(ref_open) if ref_open is not None else is_open & False
    new = is_open & ~new if ref_open is not None else new
    closing = ~is_open & st["station_id"].isin(ref_open) if ref_open is not None else is_open & False
    layers = [
        (is_open & ~all_day & ~new, "o", "white", 16, f"Open counter ({int((is_open & ~all_day).sum())})"),
        (all_day & ~new, "s", "#111111", 18, f"Open 24/7 ({int(all_day.sum())})"),
        (new, "^", "#ffffff", 30, f"New against {first.name if first else ''} ({int(new.sum())})"),
        (closing, "X", "#111111", 34, f"Closing against {first.name if first else ''} ({int(closing.sum())})"),
    ]
    for mask, marker, face, size, label in layers:
        if not mask.any():
            continue
        pts = st.loc[mask]
        ax.scatter(
            pts.geometry.x,
            pts.geometry.y,
            marker=marker,
            s=size,
            facecolor=face,
            edgecolor="#111111" if marker != "X" else "white",
            linewidth=0.7 if marker != "X" else 0.4,
            zorder=5,
        )
        handles.append(
            Line2D(
                [],
                [],
                marker=marker,
                linestyle="",
                markerfacecolor=face,
                markeredgecolor="#111111" if marker != "X" else "white",
                markersize=np.sqrt(size),
                label=label,
            )
        )
    return handles


def _legend(ax, handles: list, title: str, loc: str, anchor: tuple[float, float]) -> None:
    leg = ax.legend(
        handles=handles,
        title=title,
        loc=loc,
        bbox_to_anchor=anchor,
        fontsize=6.8,
        title_fontsize=7.2,
        frameon=True,
        framealpha=0.92,
        edgecolor="#cccccc",
        alignment="left",
    )
    ax.add_artist(leg)


def _map_scenario(run: RunOutputs, first: RunOutputs, geo: _Geo) -> str:
    shapes = geo.get(run.ward_layer)
    with _mpl().rc_context(_RC):
        fig, ax = _map_frame()
        values = run.ward_layer["mean_minutes"].to_numpy(float)
        bands = _choropleth(ax, shapes, _band_index(values, BANDS), BANDS, _OVER_45)
        counters = _counter_layer(ax, run, first)
        _scale_and_north(ax)
        _legend(ax, bands, "Mean minutes to the nearest open counter", "lower left", (0.0, 0.0))
        _legend(ax, counters, "Counters", "upper left", (0.0, 1.0))
        return _png_uri(fig)


def _change_counts(first: RunOutputs, last: RunOutputs) -> tuple[np.ndarray, list[dict]]:
    """Each ward's change in mean minutes (first → last) and the number of wards in each change band."""
    before = first.ward_layer.set_index("ward_code")["mean_minutes"]
    change = last.ward_layer["mean_minutes"].to_numpy(float) - last.ward_layer["ward_code"].map(before).to_numpy(float)
    index = _band_index(change, CHANGE_BANDS)
    counts = [
        {"label": label, "wards": int((index == i).sum())}
        for i, (_, _, label) in enumerate(CHANGE_BANDS)
        if (index == i).any()
    ]
    return change, counts


def _map_change(first: RunOutputs, last: RunOutputs, geo: _Geo) -> str:
    shapes = geo.get(last.ward_layer)
    change, _ = _change_counts(first, last)
    with _mpl().rc_context(_RC):
        fig, ax = _map_frame()
        worst = len(CHANGE_BANDS) - 1
        bands = _choropleth(ax, shapes, _band_index(change, CHANGE_BANDS), CHANGE_BANDS, {worst: "////"})
        counters = _counter_layer(ax, last, first)
        _scale_and_north(ax)
        _legend(ax, bands, f"Change in mean minutes, {first.name} → {last.name}", "lower left", (0.0, 0.0))
        _legend(ax, counters, f"Counters under {last.name}", "upper left", (0.0, 1.0))
        return _png_uri(fig)


def _map_hubs(run: RunOutputs, geo: _Geo) -> str:
    from matplotlib.lines import Line2D

    shapes = geo.get(run.ward_layer)
    hubs = run.hubs.copy()
    hubs["geometry"] = shapely.coverage_simplify(hubs.geometry.values, _MAP_SIMPLIFY_M)
    fill = hub_colours(hubs, _HUB_PALETTE)
    with _mpl().rc_context(_RC):
        fig, ax = _map_frame()
        _draw(ax, _paths(hubs.geometry.values), face=fill, edge="white", width=0.5)
        _draw(ax, shapes.boroughs, edge="#333333", width=0.6, z=2)
        _extent(ax, shapes)
        handles = []
        if run.hub_sites is not None:
            s = run.hub_sites
            ax.scatter(s.geometry.x, s.geometry.y, s=5, color="#111111", zorder=5)
            handles.append(
                Line2D([], [], marker="o", linestyle="", color="#111111", markersize=2.5, label="Hub site (ward)")
            )
        handles.append(Line2D([], [], color="#333333", linewidth=0.8, label="Borough boundary"))
        _scale_and_north(ax)
        _legend(ax, handles, f"{len(hubs)} ward hubs (colours only separate neighbours)", "lower left", (0.0, 0.0))
        return _png_uri(fig)
