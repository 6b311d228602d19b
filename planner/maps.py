"""Interactive maps (folium + Leaflet): access, scenario change, hubs and a resident view.

Maps are built from a run folder's files, so ``planner maps RUN_DIR`` and
``planner run`` give the same maps.  With ``offline=True`` (the default) every
script and stylesheet is embedded (Leaflet from the XStatic-Leaflet package),
so a map opens with no network at all; street tiles are added only when the
browser reports it is online.  Every text from a data file is escaped: the
data travels as JSON and the page sets it with ``textContent``.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import ClassVar

import folium
import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import shapely

from planner.errors import DataError
from planner.scenario import Scenario

__all__ = ["BANDS", "write_change_map", "write_maps", "write_run_maps"]

logger = logging.getLogger(__name__)

LEAFLET_VERSION = "1.9.3"
_LEAFLET_JS = f"https://cdn.jsdelivr.net/npm/leaflet@{LEAFLET_VERSION}/dist/leaflet.js"
_LEAFLET_CSS = f"https://cdn.jsdelivr.net/npm/leaflet@{LEAFLET_VERSION}/dist/leaflet.css"
TILES = {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "&copy; OpenStreetMap contributors"}
ATTRIBUTION = (
    "Contains National Statistics and OS data &copy; Crown copyright and database right 2014-2022 (OGL v3); "
    "Powered by TfL Open Data; planner"
)

#: Travel-time bands (upper bound in minutes, colour, plain label); include the 45 and 60 minute thresholds.
BANDS = [
    (15, "#1a9850", "Up to 15 minutes"),
    (30, "#91cf60", "15 to 30 minutes"),
    (45, "#fee08b", "30 to 45 minutes"),
    (60, "#fc8d59", "45 to 60 minutes"),
    (1e9, "#d73027", "Over 60 minutes"),
]
CHANGE_BANDS = [
    (-5, "#1a9850", "Quicker by 5 minutes or more"),
    (-0.5, "#a6d96a", "Quicker by up to 5 minutes"),
    (0.5, "#f7f7f7", "No change"),
    (5, "#fdae61", "Slower by up to 5 minutes"),
    (15, "#f46d43", "Slower by 5 to 15 minutes"),
    (1e9, "#a50026", "Slower by over 15 minutes"),
]
_PALETTE = [
    "#4e79a7",
    "#f28e2b",
    "#e15759",
    "#76b7b2",
    "#59a14f",
    "#edc948",
    "#b07aa1",
    "#ff9da7",
    "#9c755f",
    "#bab0ac",
]
#: Simplification tolerance (m) for display; shared edges are simplified once, so no slivers or gaps.
SIMPLIFY_M = 20.0


class _LeafletMap(folium.Map):
    """A folium map that loads Leaflet only (no jQuery, Bootstrap or icon fonts)."""

    default_js: ClassVar[list[tuple[str, str]]] = [("leaflet", _LEAFLET_JS)]
    default_css: ClassVar[list[tuple[str, str]]] = [("leaflet_css", _LEAFLET_CSS)]


def _asset(name: str) -> str:
    return files("planner._map").joinpath(name).read_text(encoding="utf-8")


def _leaflet_inline() -> tuple[str, str]:
    """Leaflet's script and stylesheet (images as data URIs) from XStatic-Leaflet."""
    import xstatic.pkg.leaflet as xl

    base = Path(xl.BASE_DIR)
    js = (base / "leaflet.js").read_text(encoding="utf-8")
    css = (base / "leaflet.css").read_text(encoding="utf-8")

    def inline(match: re.Match[str]) -> str:
        data = base64.b64encode((base / match.group(1)).read_bytes()).decode()
        return f"url(data:image/png;base64,{data})"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", inline, css)
    js = js.replace("//# sourceMappingURL=leaflet.js.map", "")
    return js, css


def _json(data: object) -> str:
    # escape "<" so no text can close the script element
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False).replace("<", "\\u003c")


def _html(data: dict, *, offline: bool) -> str:
    m = _LeafletMap(location=[51.49, -0.11], zoom_start=10, tiles=None, control_scale=True)
    m._id = "planner"  # folium ids are random; a fixed one keeps the file byte-identical across runs
    data = {**data, "mapName": m.get_name(), "tiles": TILES, "attribution": ATTRIBUTION}
    page = m.get_root().render()
    if offline:
        js, css = _leaflet_inline()
        page = page.replace(f'<script src="{_LEAFLET_JS}"></script>', f"<script>{js}</script>")
        page = page.replace(f'<link rel="stylesheet" href="{_LEAFLET_CSS}"/>', f"<style>{css}</style>")
        leftover = re.findall(r'<(?:script[^>]*\ssrc|link[^>]*\shref)="(https?://[^"]+)"', page)
        if leftover:
            raise DataError(f"offline map still links to {leftover}")
    page = page.replace("</head>", f"<style>{_asset('map.css')}</style>\n</head>", 1)
    tail = (
        f'<script type="application/json" id="planner-data">{_json(data)}</script>\n'
        f"<script>\n{_asset('map.js')}\n</script>\n"
    )
    return page.replace("</html>", tail + "</html>")


def _simplified(wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    geoms = shapely.coverage_simplify(wards.geometry.values, SIMPLIFY_M)
    return gpd.GeoDataFrame(wards.drop(columns="geometry"), geometry=geoms, crs=wards.crs)


def _geojson(frame: gpd.GeoDataFrame, columns: list[str]) -> dict:
    wgs = frame[[*columns, "geometry"]].to_crs(4326)
    doc = json.loads(wgs.to_json(drop_id=True))
    for feature in doc["features"]:
        feature["geometry"] = _round(feature["geometry"])
    return doc


def _round(geometry: dict) -> dict:
    def walk(c: object) -> object:
        if isinstance(c, list) and c and isinstance(c[0], int | float):
            return [round(c[0], 5), round(c[1], 5)]
        return [walk(x) for x in c] if isinstance(c, list) else c

    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}


def _clean(value: object) -> object:
    if value is None:
        return None
    if isinstance(value, float | np.floating):
        return None if not np.isfinite(value) else round(float(value), 3)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


_MODE = {
    "transit": "by public transport",
    "transit-simple": "by public transport (first approximation)",
    "crowfly": "(straight-line estimate)",
}


def _engine_words(engine: dict) -> str:
    if engine.get("engine") == "network":
        return {"walk": "on foot", "bike": "by bike", "drive": "by car"}.get(engine.get("mode", "walk"), "")
    return _MODE.get(engine.get("engine", ""), "")


@dataclass
class _Run:
    """What the maps need from a run folder."""

    folder: Path
    scenario: Scenario
    engine: dict
    wards: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    hubs: gpd.GeoDataFrame | None
    ward_hubs: pd.DataFrame | None
    sites: gpd.GeoDataFrame | None

    @property
    def threshold(self) -> float:
        return self.scenario.threshold

    def values(self) -> dict[str, dict]:
        names = dict(zip(self.stations["station_id"], self.stations["name"].astype(str), strict=True))
        out = {}
        for r in self.wards.itertuples():
            out[r.ward_code] = {
                "minutes": _clean(r.mean_minutes),
                "share": _clean(r.share_beyond),
                "nearest": names.get(r.nearest_station) if isinstance(r.nearest_station, str) else None,
            }
        return out


def _read_run(folder: str | os.PathLike[str]) -> _Run:
    from planner.run import read_manifest

    folder = Path(folder)
    scenario, meta = read_manifest(folder)
    wards = pyogrio.read_dataframe(folder / "access.gpkg", layer=f"wards_{scenario.threshold:g}")
    stations = pyogrio.read_dataframe(folder / "stations.gpkg", layer="stations")
    hub_file = folder / "hubs" / "hubs.gpkg"
    hubs = ward_hubs = sites = None
    if hub_file.is_file():
        hubs = pyogrio.read_dataframe(hub_file, layer="hubs")
        ward_hubs = pyogrio.read_dataframe(hub_file, layer="ward_hubs", read_geometry=False)
        sites = pyogrio.read_dataframe(hub_file, layer="hub_sites")
    return _Run(folder, scenario, meta["engine"], wards, stations, hubs, ward_hubs, sites)


def _counters(run: _Run, reference: _Run | None) -> list[dict]:
    st = run.stations.to_crs(4326)
    ref_open = set(reference.stations.loc[reference.stations["open"].astype(bool), "station_id"]) if reference else None
    rows = []
    for r in st.itertuples():
        is_open = bool(r.open)
        if is_open:
            status = "new" if ref_open is not None and r.station_id not in ref_open else "open"
        elif ref_open is not None and r.station_id in ref_open:
            status = "closing"
        else:
            continue
        all_day = bool(r.open_24_7) if is_open else False
        hours = getattr(r, "hours_2017", "") or "unknown"
        rows.append(
            {
                "id": r.station_id,
                "name": str(r.name),
                "lat": round(r.geometry.y, 6),
                "lon": round(r.geometry.x, 6),
                "borough": str(getattr(r, "borough", "") or ""),
                "status": status,
                "all_day": all_day,
                "status_label": {"open": "Open", "new": "Open (new counter)", "closing": "Closing under this plan"}[
                    status
                ],
                "hours_label": "24 hours, 7 days" if all_day else f"{hours} (2017)",
                "accuracy": _clean(pd.to_numeric(getattr(r, "coord_accuracy_m", None), errors="coerce")),
            }
        )
    return rows


def _bands() -> list[dict]:
    return [{"upto": u, "color": c, "label": label} for u, c, label in BANDS]


def _ward_geo(run: _Run) -> tuple[dict, dict]:
    simple = _simplified(run.wards)
    wards = _geojson(simple, ["ward_code", "ward_name", "borough_name", "population"])
    boroughs = simple[["borough_code", "geometry"]].dissolve(by="borough_code", as_index=False)
    return wards, _geojson(boroughs, ["borough_code"])


def _summaries(run: _Run, reference: _Run | None) -> dict[str, dict]:
    words = _engine_words(run.engine)
    now = run.values()
    before = reference.values() if reference else None
    hub_of: dict[str, dict] = {}
    if run.hubs is not None and run.ward_hubs is not None:
        ward_name = dict(zip(run.wards["ward_code"], run.wards["ward_name"], strict=True))
        info = run.hubs.set_index("hub_id")
        for r in run.ward_hubs.itertuples():
            h = info.loc[r.hub_id]
            members = [ward_name.get(w, w) for w in str(h["wards"]).split(";")]
            hub_of[r.ward_code] = {"id": r.hub_id, "site": h["site_ward_name"], "wards": members}
    out = {}
    for r in run.wards.itertuples():
        v = now[r.ward_code]
        lines = []
        if v["minutes"] is None or v["nearest"] is None:
            lines.append("We have no travel-time estimate for this ward.")
        else:
            mins = max(1, round(v["minutes"]))
            if before is not None and before.get(r.ward_code, {}).get("nearest"):
                b = before[r.ward_code]
                lines.append(
                    f"Today your nearest front counter is {b['nearest']}, about "
                    f"{max(1, round(b['minutes']))} minutes {words}.".replace("  ", " ")
                )
                same = b["nearest"] == v["nearest"]
                lines.append(
                    f"Under the proposal it would {'still be' if same else 'be'} {v['nearest']}, about {mins} minutes."
                )
            else:
                lines.append(
                    f"Your nearest front counter is {v['nearest']}, about {mins} minutes {words}.".replace("  ", " ")
                )
            if v["minutes"] > run.threshold:
                lines.append(f"That is more than {run.threshold:g} minutes away.")
        hub = hub_of.get(r.ward_code)
        if hub:
            others = [w for w in hub["wards"] if w != r.ward_name]
            lines.append(
                f"Your ward officers are based at the {hub['site']} hub, which also serves "
                f"{', '.join(others[:-1]) + ' and ' + others[-1] if len(others) > 1 else others[0]}."
                if others
                else f"Your ward officers are based at the {hub['site']} hub."
            )
        out[r.ward_code] = {"heading": f"{r.ward_name}, {r.borough_name}", "lines": lines}
    return out


def write_maps(
    run_dir: str | os.PathLike[str],
    *,
    reference_dir: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    offline: bool = True,
    marginal: str | os.PathLike[str] | None = None,
) -> list[Path]:
    """Write the access, hub and resident maps of a run.

    Parameters
    ----------
    run_dir
        A run folder written by ``planner run``.
    reference_dir
        Another run (e.g. the baseline): counters open there and not here
        are drawn as closing, and the resident view says what changes.
    out
        Folder for the maps (default ``run_dir/maps``).
    offline
        Embed every script and stylesheet.
    marginal
        ``critical_counters.csv`` of a marginal sweep (``planner sweep
        --kind marginal``): the access map gets a layer of each counter's
        marginal value.

    Returns
    -------
    list of Path
        ``access.html``, ``residents.html`` and, when the run has a hub plan,
        ``hubs.html``.
    """
    run = _read_run(run_dir)
    reference = _read_run(reference_dir) if reference_dir else None
    folder = Path(out) if out else run.folder / "maps"
    folder.mkdir(parents=True, exist_ok=True)
    wards, boroughs = _ward_geo(run)
    words = _engine_words(run.engine) or run.engine.get("engine", "")
    common = {
        "wards": wards,
        "boroughs": boroughs,
        "bands": _bands(),
        "threshold": run.threshold,
        "engine": words,
        "counters": _counters(run, reference),
        "values": run.values(),
    }
    written = []
    access = {
        **common,
        "kind": "access",
        "title": f"{run.scenario.name}: travel time to the nearest open front counter ({words})",
    }
    if marginal is not None:
        access["marginal"] = _marginal(run, marginal)
    written.append(_write(folder / "access.html", access, offline))
    residents = {
        **common,
        "kind": "residents",
        "summaries": _summaries(run, reference),
        "title": "How far is your nearest police front counter?",
    }
    written.append(_write(folder / "residents.html", residents, offline))
    if run.hubs is not None:
        written.append(_write(folder / "hubs.html", _hub_data(run, boroughs), offline))
    return written


def _marginal(run: _Run, path: str | os.PathLike[str]) -> list[dict]:
    """Marginal value per open counter, from a marginal sweep's ``critical_counters.csv``."""
    table = pd.read_csv(path, dtype={"station_id": str})
    missing = {"station_id", "residents_losing_access"} - set(table.columns)
    if missing:
        raise DataError(f"{path}: not a marginal sweep table (missing {sorted(missing)})")
    st = run.stations.to_crs(4326).set_index("station_id")
    unknown = sorted(set(table["station_id"]) - set(st.index))
    if unknown:
        raise DataError(f"{path}: counters {unknown} are not in this run's stations; sweep the same plan")
    return [
        {
            "name": str(st.at[r.station_id, "name"]),
            "lat": round(st.at[r.station_id, "geometry"].y, 6),
            "lon": round(st.at[r.station_id, "geometry"].x, 6),
            "lost": int(r.residents_losing_access),
        }
        for r in table.itertuples()
    ]


def _hub_data(run: _Run, boroughs: dict) -> dict:
    simple = _simplified(run.wards).merge(run.ward_hubs[["ward_code", "hub_id"]], on="ward_code")
    hubs = simple[["hub_id", "geometry"]].dissolve(by="hub_id", as_index=False)
    info = run.hubs.drop(columns="geometry").set_index("hub_id")
    ward_name = dict(zip(run.wards["ward_code"], run.wards["ward_name"], strict=True))
    hubs = hubs.join(info, on="hub_id")
    hubs["ward_names"] = hubs["wards"].map(lambda s: ", ".join(ward_name.get(w, w) for w in str(s).split(";")))
    # colour hubs so that neighbours differ
    touching = gpd.sjoin(hubs[["hub_id", "geometry"]], hubs[["hub_id", "geometry"]], predicate="touches")
    graph = nx.Graph()
    graph.add_nodes_from(hubs["hub_id"])
    graph.add_edges_from(zip(touching["hub_id_left"], touching["hub_id_right"], strict=True))
    colours = nx.coloring.greedy_color(graph, strategy="largest_first")
    hubs["colour"] = hubs["hub_id"].map(lambda h: _PALETTE[colours[h] % len(_PALETTE)])
    for col in ("population", "mean_minutes", "max_minutes"):
        hubs[col] = hubs[col].map(_clean)
    sites = run.sites.to_crs(4326)
    return {
        "kind": "hubs",
        "title": f"{run.scenario.name}: {len(hubs)} ward hubs",
        "hub_count": len(hubs),
        "hubs": _geojson(
            hubs,
            [
                "hub_id",
                "borough_name",
                "site_ward_name",
                "ward_names",
                "population",
                "mean_minutes",
                "max_minutes",
                "colour",
            ],
        ),
        "boroughs": boroughs,
        "bands": _bands(),
        "threshold": run.threshold,
        "sites": [
            {
                "hub_id": r.hub_id,
                "name": str(r.site_ward_name),
                "lat": round(r.geometry.y, 6),
                "lon": round(r.geometry.x, 6),
            }
            for r in sites.itertuples()
        ],
    }


def write_change_map(
    run_dirs: list[str | os.PathLike[str]], out: str | os.PathLike[str], *, offline: bool = True
) -> Path:
    """A map with each scenario as a layer and the change from the first to the last.

    Parameters
    ----------
    run_dirs
        Run folders; the first is the reference.
    out
        The HTML file to write.
    offline
        Embed every script and stylesheet.
    """
    runs = [_read_run(d) for d in run_dirs]
    if len(runs) < 2:
        raise DataError("a change map needs at least two runs")
    first, last = runs[0], runs[-1]
    wards, boroughs = _ward_geo(last)
    before, after = first.values(), last.values()
    change = {}
    for code, v in after.items():
        b = before.get(code, {}).get("minutes")
        a = v["minutes"]
        change[code] = {"before": b, "after": a, "change": None if a is None or b is None else round(a - b, 3)}
    data = {
        "kind": "change",
        "title": f"Change in travel time: {first.scenario.name} \u2192 {last.scenario.name}",
        "wards": wards,
        "boroughs": boroughs,
        "bands": _bands(),
        "threshold": last.threshold,
        "scenarios": [{"name": r.scenario.name, "values": r.values()} for r in runs],
        "change": change,
        "reference": first.scenario.name,
        "proposal": last.scenario.name,
        "change_bands": [{"upto": u, "color": c, "label": label} for u, c, label in CHANGE_BANDS],
        "counters": _counters(last, first),
        "engine": _engine_words(last.engine),
    }
    return _write(Path(out), data, offline)


def _write(path: Path, data: dict, offline: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_html(data, offline=offline), encoding="utf-8")
    logger.info("wrote %s (%.1f MB)", path, path.stat().st_size / 1e6)
    return path


def write_run_maps(
    run: object, folder: Path, *, reference: str | os.PathLike[str] | None = None, offline: bool = True, **_: object
) -> list[Path]:
    """Maps for a run folder being written by :func:`planner.run.run_scenario`."""
    return write_maps(folder, reference_dir=reference, offline=offline)
