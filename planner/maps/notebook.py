"""folium maps for analysts: a run or an in-memory result as a :class:`folium.Map` to extend, show or save.

The consultation pages (:mod:`planner.maps`) are finished, offline, byte-identical
files.  An analyst in a notebook wants something else: a map object that shows
inline, takes further layers (crime hot spots, a proposed site) and saves with
``.save()``.  :func:`explore` builds one on folium's public API only
(``GeoJson`` with style functions and ``GeoJsonTooltip``, ``LayerControl``,
circle markers and a branca ``StepColormap`` in the bands of the consultation
maps).

folium loads Leaflet from CDNs, so these maps need a network to open; use the
consultation maps for a page that works offline.  folium puts tooltip values
into the page as HTML, so every text from a data file is HTML-escaped here
first: a name such as ``<img src=x onerror=alert(1)>`` is shown as text.
"""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from planner.assess import AccessResult
from planner.config import require_bng
from planner.errors import OptionError
from planner.hubs import HubPlan, hub_colours
from planner.maps.page import _PALETTE, BANDS, CHANGE_BANDS, _simplified
from planner.runfolder import read_run_outputs

__all__ = ["LAYERS", "explore"]

#: The layers :func:`explore` draws.
LAYERS = ("access", "change", "hubs")
_WGS84 = 4326
_NO_DATA = "#bdbdbd"
_OPEN, _CLOSING = "#1f4e9c", "#c0392b"


def _escaped(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    out = frame.copy()
    for col in columns:
        out[col] = out[col].map(lambda v: html.escape(str(v)) if isinstance(v, str) else v)
    return out


def _band_colour(value: float | None, bands: list[tuple[float, str, str]]) -> str:
    if value is None or not np.isfinite(value):
        return _NO_DATA
    for upto, colour, _label in bands:
        if value <= upto:
            return colour
    return bands[-1][1]


def _colormap(bands: list[tuple[float, str, str]], caption: str, low: float, high: float):
    import branca.colormap as cm

    edges = [low] + [b[0] for b in bands[:-1]] + [high]
    return cm.StepColormap([b[1] for b in bands], index=edges, vmin=low, vmax=high, caption=caption)


def _base_map(frame: gpd.GeoDataFrame, tiles: str | None) -> folium.Map:
    west, south, east, north = frame.to_crs(_WGS84).total_bounds
    m = folium.Map(location=[(south + north) / 2, (west + east) / 2], zoom_start=10, tiles=tiles, control_scale=True)
    m.fit_bounds([[south, west], [north, east]])
    return m


def _ward_layer(
    wards: gpd.GeoDataFrame, value: str, bands: list[tuple[float, str, str]], name: str, fields: dict[str, str]
):
    shown = _escaped(_simplified(wards), ["ward_name", "borough_name"])
    shown[value] = shown[value].astype(float).round(2)
    for col in fields:
        if col != value and pd.api.types.is_float_dtype(shown[col]):
            shown[col] = shown[col].round(2)
    colours = {code: _band_colour(v, bands) for code, v in zip(shown["ward_code"], shown[value], strict=True)}
    data = shown[["ward_code", *fields, "geometry"]].to_crs(_WGS84)
    data = data.loc[:, ~data.columns.duplicated()]
    return folium.GeoJson(
        data.to_json(drop_id=True, na="null"),
        name=name,
        style_function=lambda f: {
            "fillColor": colours.get(f["properties"]["ward_code"], _NO_DATA),
            "color": "#555",
            "weight": 0.5,
            "fillOpacity": 0.7,
            "className": "planner-ward",
        },
        highlight_function=lambda _f: {"weight": 2, "color": "#000"},
        tooltip=folium.GeoJsonTooltip(fields=list(fields), aliases=list(fields.values()), localize=True),
    )


def _counter_layer(counters: gpd.GeoDataFrame, closing: set[str]):
    require_bng(counters, "counters")
    frame = counters[["station_id", "name", "geometry"]].copy()
    frame["name"] = frame["name"].astype(str)
    frame["status"] = np.where(frame["station_id"].isin(closing), "closing", "open")
    frame = _escaped(frame, ["name", "station_id"]).to_crs(_WGS84)
    return folium.GeoJson(
        frame.to_json(drop_id=True),
        name="Counters",
        marker=folium.CircleMarker(radius=6, weight=2, fill=True, fill_opacity=1),
        style_function=lambda f: {
            "color": "#fff" if f["properties"]["status"] == "open" else _CLOSING,
            "fillColor": _OPEN if f["properties"]["status"] == "open" else "#fff",
            "className": f"planner-counter planner-counter-{f['properties']['status']}",
        },
        tooltip=folium.GeoJsonTooltip(fields=["name", "status"], aliases=["Counter", "Under this plan"]),
    )


def _hub_layer(hubs: gpd.GeoDataFrame):
    frame = hubs.copy()
    colours = dict(zip(frame["hub_id"].astype(str), hub_colours(frame, _PALETTE), strict=True))  # hubs that meet differ
    frame["hub_id"] = frame["hub_id"].astype(str)
    cols = [c for c in ("hub_id", "borough_name", "site_ward_name", "n_wards", "population") if c in frame.columns]
    frame = _escaped(frame[[*cols, "geometry"]], [c for c in cols if frame[c].dtype == object]).to_crs(_WGS84)
    return folium.GeoJson(
        frame.to_json(drop_id=True, na="null"),
        name="Ward hubs",
        style_function=lambda f: {
            "fillColor": colours.get(html.unescape(f["properties"]["hub_id"]), _NO_DATA),
            "color": "#222",
            "weight": 1,
            "fillOpacity": 0.6,
            "className": "planner-hub",
        },
        tooltip=folium.GeoJsonTooltip(fields=cols, aliases=[c.replace("_", " ") for c in cols], localize=True),
    )


@dataclass
class _Inputs:
    wards: gpd.GeoDataFrame
    counters: gpd.GeoDataFrame | None = None
    closing: set[str] = field(default_factory=set)
    before: pd.Series | None = None  # the reference's ward mean minutes
    hubs: gpd.GeoDataFrame | None = None


def _reference_wards(reference: object) -> tuple[pd.Series, gpd.GeoDataFrame | None]:
    if isinstance(reference, AccessResult):
        return pd.DataFrame(reference.wards).set_index("ward_code")["mean_minutes"], None
    ref = read_run_outputs(reference)  # type: ignore[arg-type]
    return ref.ward_layer.set_index("ward_code")["mean_minutes"], ref.stations.loc[ref.stations["open"].astype(bool)]


def _from_folder(folder: Path, layer: str, counters: gpd.GeoDataFrame | None, reference: object) -> _Inputs:
    if counters is not None:
        raise OptionError(
            "`counters` is for in-memory results: a run folder draws its own open (and, with a reference, closing) "
            "counters; leave counters out, or explore the AccessResult"
        )
    run = read_run_outputs(folder)  # checked, with every file's hash
    if layer == "hubs" and run.hubs is None:
        raise OptionError(f"{folder}: the run has no hub plan (hubs/hubs.gpkg); run it with hubs enabled")
    out = _Inputs(run.ward_layer, counters, hubs=run.hubs)
    if out.counters is None:
        out.counters = run.stations.loc[run.stations["open"].astype(bool)].copy()
    if reference is not None:
        out.before, ref_open = _reference_wards(reference)
        if ref_open is not None:
            out.closing = set(ref_open["station_id"]) - set(out.counters["station_id"])
            gone = ref_open.loc[ref_open["station_id"].isin(out.closing)]
            out.counters = gpd.GeoDataFrame(pd.concat([out.counters, gone], ignore_index=True), crs=ref_open.crs)
    return out


def _from_result(source: AccessResult, layer: str, wards, counters, reference) -> _Inputs:
    if layer == "hubs":
        raise OptionError("an AccessResult has no hubs: explore a HubPlan or a run folder with layer='hubs'")
    if layer == "change" and not isinstance(reference, AccessResult):
        raise OptionError("with an AccessResult, reference must be another AccessResult")
    if counters is not None:
        nearest = set(pd.Series(source.points["station_id"]).dropna().astype(str))
        absent = sorted(nearest - set(counters["station_id"].astype(str)))
        if absent:
            raise OptionError(
                f"`counters` lacks {len(absent)} counter(s) the result's residents reach first ({absent[:5]}): "
                "pass the counters the result was assessed with"
            )
    before = _reference_wards(reference)[0] if reference is not None else None
    return _Inputs(source.ward_frame(wards), counters, before=before)


def _inputs(source: object, layer: str, wards: gpd.GeoDataFrame | None, counters, reference) -> _Inputs:
    if layer not in LAYERS:
        raise OptionError(f"layer must be one of {list(LAYERS)}, not {layer!r}")
    if layer == "change" and reference is None:
        raise OptionError("layer='change' needs reference: the run folder or access result to compare with")
    if isinstance(source, HubPlan):
        if layer != "hubs":
            raise OptionError(f"a HubPlan draws layer='hubs', not {layer!r}")
        if wards is None:
            raise OptionError("a HubPlan has no polygons: pass wards (e.g. london.study_wards)")
        return _Inputs(wards, counters, hubs=source.hub_frame(wards))
    if isinstance(source, AccessResult):
        return _from_result(source, layer, wards, counters, reference)
    if not isinstance(source, str | os.PathLike):
        raise OptionError(f"source must be a run folder, an AccessResult or a HubPlan, not {type(source).__name__}")
    return _from_folder(Path(source), layer, counters, reference)


def explore(
    source: str | os.PathLike[str] | AccessResult | HubPlan,
    *,
    layer: Literal["access", "change", "hubs"] = "access",
    wards: gpd.GeoDataFrame | None = None,
    counters: gpd.GeoDataFrame | None = None,
    reference: str | os.PathLike[str] | AccessResult | None = None,
    tiles: str | None = "OpenStreetMap",
) -> folium.Map:
    """An access, change or hub map as a :class:`folium.Map` that an analyst can extend, show inline or save.

    Parameters
    ----------
    source
        A run folder written by ``planner run``, an :class:`~planner.assess.AccessResult` or a
        :class:`~planner.hubs.HubPlan`.
    layer
        ``"access"``: wards coloured by mean minutes to the nearest open counter, in the bands of the
        consultation maps; ``"change"``: the change in mean minutes from ``reference``; ``"hubs"``:
        the ward hubs.
    wards
        Ward polygons (EPSG:27700, e.g. ``london.study_wards``) for an in-memory result that has none
        (not needed for a run folder, or for ``assess(..., wards=...)``).
    counters
        Open counters (EPSG:27700, ``station_id``, ``name``) to draw with an in-memory result; a run
        folder draws its own.
    reference
        For ``layer="change"``: the run folder or access result to compare with (e.g. the baseline);
        with a run folder, counters open there and not here are drawn as closing.
    tiles
        folium's ``tiles`` (``None`` for a plain background).

    Returns
    -------
    folium.Map
        With a :class:`folium.LayerControl`; add layers with ``.add_to(m)``, show it as the last
        expression of a notebook cell, or write it with ``m.save("map.html")``.

    Raises
    ------
    OptionError
        An unknown ``layer``; a change map without ``reference``; a hub map of a run without hubs;
        an in-memory result without ward polygons.

    Examples
    --------
    >>> m = explore("out/mopac-final-2017")                      # doctest: +SKIP
    >>> folium.Marker([51.5, -0.12], tooltip="Proposed site").add_to(m)   # doctest: +SKIP
    >>> m.save("final.html")                                     # doctest: +SKIP
    """
    got = _inputs(source, layer, wards, counters, reference)
    ward_frame = got.wards
    m = _base_map(ward_frame, tiles)
    if layer == "access":
        fields = {"ward_name": "Ward", "borough_name": "Borough", "mean_minutes": "Mean minutes"}
        if "share_beyond" in ward_frame.columns:
            fields["share_beyond"] = "Share beyond the threshold"
        _ward_layer(ward_frame, "mean_minutes", BANDS, "Wards: mean minutes", fields).add_to(m)
        _colormap(BANDS, "Mean minutes to the nearest open counter", 0, 90).add_to(m)
    elif layer == "change":
        frame = ward_frame.copy()
        frame["change"] = frame["mean_minutes"] - frame["ward_code"].map(got.before)
        fields = {"ward_name": "Ward", "borough_name": "Borough", "change": "Change in mean minutes"}
        _ward_layer(frame, "change", CHANGE_BANDS, "Wards: change in mean minutes", fields).add_to(m)
        _colormap(CHANGE_BANDS, "Change in mean minutes", -15, 30).add_to(m)
    else:
        _hub_layer(got.hubs).add_to(m)
    if got.counters is not None and len(got.counters):
        _counter_layer(got.counters, got.closing).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m
