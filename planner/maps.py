"""Interactive maps (Leaflet from a Jinja2 page template): access, scenario change, hubs and a resident view.

Maps are built from a run folder's files, so ``planner maps RUN_DIR`` and
``planner run`` give the same maps.  With ``offline=True`` (the default) every
script and stylesheet is embedded (Leaflet from the XStatic-Leaflet package),
so a map opens with no network at all; street tiles are added only when a
probe tile actually loads within a few seconds, otherwise the map keeps a
plain background.  Every text from a data file is escaped: the data travels as
one JSON block (with ``<`` escaped, so no text can close the script element)
and the page sets it with ``textContent``.  The same inputs give a
byte-identical page.

Why a plain Jinja2 template and not folium: every layer, legend, search box
and popup is built by our own script (``_map/map.js``) from one JSON block, so
that all data-file text is rendered as text and the resident view can share
data between its parts.  folium was only an empty page shell; using it meant
setting its private ``_id`` (its element ids are random, which breaks
byte-identical output) and rewriting its rendered ``<script>`` tags to inline
Leaflet, both of which break on a folium upgrade.  Rebuilding the layers with
folium's public API (``GeoJson``, ``LayerControl``, branca legends) would
split the page into many generated scripts, each with its own escaping, and
still not give us the search and answer panel.  A ~40-line template
(``_map/page.html``, rendered by Jinja2 with autoescaping) says exactly what
the page contains: ``lang``, ``<title>``, a viewport that allows zoom, an
``<h1>``, a ``<main>`` landmark, the inlined Leaflet and our script.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import logging
import os
import re
import warnings
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import geopandas as gpd
import jinja2
import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import shapely

from planner.equality import GROUPS
from planner.errors import DataError, PlannerWarning
from planner.runfolder import RunIdentity, check_outputs, check_run_set
from planner.scenario import Scenario

__all__ = [
    "BANDS",
    "GROUP_COLOURS",
    "default_group",
    "explore",
    "write_change_map",
    "write_maps",
]

logger = logging.getLogger(__name__)

LEAFLET_VERSION = "1.9.3"
_LEAFLET_JS = f"https://cdn.jsdelivr.net/npm/leaflet@{LEAFLET_VERSION}/dist/leaflet.js"
_LEAFLET_CSS = f"https://cdn.jsdelivr.net/npm/leaflet@{LEAFLET_VERSION}/dist/leaflet.css"
TILES = {
    "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    "probe": "https://tile.openstreetmap.org/10/511/340.png",
    "timeout_ms": 4000,
}
#: The attribution lines the README ("Data, licences and attribution") requires on every map.
ATTRIBUTION = [
    "Contains National Statistics data \u00a9 Crown copyright and database right 2014/2018/2022; "
    "Contains OS data \u00a9 Crown copyright and database right (Open Government Licence v3.0).",
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0.",
    "Powered by TfL Open Data. Contains OS data \u00a9 Crown copyright and database rights.",
    "Metropolitan Police Service, via London Datastore (OGL).",
    "\u00a9 OpenStreetMap contributors (ODbL 1.0).",
    "Counter coordinates also contain Royal Mail data \u00a9 Royal Mail copyright and database right.",
    "Contains Rail Delivery Group timetable data.",
    "Tramlink stops: Oliver O'Brien (CC BY-NC), from TfL and OpenStreetMap data.",
]
POSTCODE_ATTRIBUTION = (
    "Postcodes: Contains OS data \u00a9 Crown copyright and database right 2025; Contains Royal Mail data "
    "\u00a9 Royal Mail copyright and database right 2025; Contains National Statistics data \u00a9 Crown "
    "copyright and database right 2025 (Code-Point Open)."
)

#: Travel-time bands (upper bound in minutes, colour, plain label); include the 45 and 60 minute thresholds.
BANDS = [
    (15, "#1a9850", "15 minutes or less"),
    (30, "#91cf60", "15 to 30 minutes"),
    (45, "#fee08b", "30 to 45 minutes"),
    (60, "#fc8d59", "45 to 60 minutes"),
    (1e9, "#d73027", "More than 60 minutes"),
]
CHANGE_BANDS = [
    (-5, "#1a9850", "Quicker by 5 minutes or more"),
    (-0.5, "#a6d96a", "Quicker by up to 5 minutes"),
    (0.5, "#f7f7f7", "No change"),
    (5, "#fdae61", "Slower by up to 5 minutes"),
    (15, "#f46d43", "Slower by 5 to 15 minutes"),
    (1e9, "#a50026", "Slower by more than 15 minutes"),
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
#: Characters of the packed postcode table: printable ASCII that JSON and HTML leave alone (no ``"``, ``\\``, ``<``).
_DIGITS = "".join(c for c in map(chr, range(0x23, 0x7F)) if c not in "\\<")
_GRID_M = 10


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
    env = jinja2.Environment(autoescape=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    template = env.from_string(_asset("page.html"))
    js, css = _leaflet_inline() if offline else ("", "")
    ours = _asset("map.js")
    for name, text in (("leaflet.js", js), ("leaflet.css", css), ("map.js", ours), ("map.css", _asset("map.css"))):
        if re.search(r"</(script|style)", text, re.IGNORECASE):
            raise DataError(f"{name} contains a closing script or style tag and cannot be inlined")
    data = {**data, "tiles": TILES, "attribution": ATTRIBUTION}
    example = data.get("postcodes", {}).get("example", "Brixton Hill")
    return template.render(
        title=data["title"],
        kind=data["kind"],
        example=example,
        has_postcodes="postcodes" in data,
        offline=offline,
        leaflet_js=js,
        leaflet_css=css,
        leaflet_js_url=_LEAFLET_JS,
        leaflet_css_url=_LEAFLET_CSS,
        css=_asset("map.css"),
        js=ours,
        data=_json(data),
    )


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
            return [round(c[0], 4), round(c[1], 4)]  # ~10 m: finer than the 20 m simplification
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
    group_wards: pd.DataFrame | None = None
    equality: dict | None = None
    manifest: dict | None = None

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
    group_file = folder / f"equality_wards_{scenario.threshold:g}.csv"
    group_wards = pd.read_csv(group_file, dtype={"ward_code": str, "group": str}) if group_file.is_file() else None
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    equality = summary.get("equality") or None
    return _Run(folder, scenario, meta["engine"], wards, stations, hubs, ward_hubs, sites, group_wards, equality, meta)


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    return str(value).strip()


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
        hours = _text(getattr(r, "hours_2017", ""))
        # 2017's hours come from the data alone; the plan's 24/7 flag is said as the plan's, not as 2017's
        if hours.lower() in ("24/7", "24 hours"):
            hours_label = "24 hours, 7 days (2017)"
        elif hours and hours.lower() != "unknown":
            hours_label = f"{hours} (2017)"
        elif all_day:
            hours_label = "24 hours, 7 days under this plan (2017 hours not known)"
        else:
            hours_label = "hours not known"
        address = ", ".join(x for x in (_text(getattr(r, "address", "")), _text(getattr(r, "postcode", ""))) if x)
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
                "hours_label": hours_label,
                "address": address or "address not known",
                "accuracy": _clean(pd.to_numeric(getattr(r, "coord_accuracy_m", None), errors="coerce")),
            }
        )
    return rows


def _bands() -> list[dict]:
    return [{"upto": u, "color": c, "label": label} for u, c, label in BANDS]


#: The last ward and borough GeoJSON, by a digest of the wards they came from (the runs of one set share them).
_WARD_GEO: dict[str, tuple[dict, dict]] = {}


def _ward_geo(run: _Run) -> tuple[dict, dict]:
    columns = ["ward_code", "ward_name", "borough_code", "borough_name", "population"]
    digest = hashlib.sha256(pd.util.hash_pandas_object(run.wards[columns], index=False).to_numpy().tobytes())
    for geometry in shapely.to_wkb(run.wards.geometry.values):
        digest.update(geometry)
    digest.update(str(run.wards.crs).encode())
    key = digest.hexdigest()
    if key not in _WARD_GEO:
        simple = _simplified(run.wards)
        wards = _geojson(simple, ["ward_code", "ward_name", "borough_name", "population"])
        boroughs = simple[["borough_code", "geometry"]].dissolve(by="borough_code", as_index=False)
        _WARD_GEO.clear()
        _WARD_GEO[key] = (wards, _geojson(boroughs, ["borough_code"]))
    wards, boroughs = _WARD_GEO[key]
    return copy.deepcopy(wards), copy.deepcopy(boroughs)


def _minutes_words(minutes: float, threshold: float) -> str:
    """ "about 12 minutes", never a rounded figure that contradicts the threshold sentence."""
    shown = max(1, round(minutes))
    if minutes > threshold and shown <= threshold:
        return f"just over {threshold:g} minutes"
    return f"about {shown} minute{'' if shown == 1 else 's'}"


def _threshold_words(minutes: float, threshold: float) -> str:
    if minutes > threshold:
        return f"That is more than {threshold:g} minutes."
    return f"That is {threshold:g} minutes or less."


def _hubs_of(run: _Run) -> dict[str, dict]:
    """Per ward code: the hub site's ward name and the other wards the hub serves."""
    hub_of: dict[str, dict] = {}
    if run.hubs is None or run.ward_hubs is None:
        return hub_of
    ward_name = dict(zip(run.wards["ward_code"], run.wards["ward_name"], strict=True))
    info = run.hubs.set_index("hub_id")
    for r in run.ward_hubs.itertuples():
        h = info.loc[r.hub_id]
        others = [ward_name.get(w, w) for w in str(h["wards"]).split(";") if w != r.ward_code]
        if others:
            wards = f"{len(others)} other ward{'s' if len(others) > 1 else ''}: {', '.join(others)}"
            line = f"Your ward officers are based at the {h['site_ward_name']} hub, which also serves {wards}."
        else:
            line = f"Your ward officers are based at the {h['site_ward_name']} hub."
        hub_of[r.ward_code] = {"site": str(h["site_ward_name"]), "line": line}
    return hub_of


def _summaries(run: _Run, reference: _Run | None, counters: list[dict]) -> dict[str, dict]:
    words = _engine_words(run.engine)
    now = run.values()
    before = reference.values() if reference else None
    by_name = {c["name"]: c for c in counters if c["status"] != "closing"}
    t = run.threshold
    out = {}
    for r in run.wards.itertuples():
        v = now[r.ward_code]
        lines = []
        if v["minutes"] is None or v["nearest"] is None:
            lines.append("We have no travel-time estimate for this ward.")
        else:
            if before is not None and before.get(r.ward_code, {}).get("nearest"):
                b = before[r.ward_code]
                lines.append(
                    f"Today the nearest front counter for residents of this ward is {b['nearest']}, "
                    f"{_minutes_words(b['minutes'], t)} {words} on average.".replace("  ", " ")
                )
                same = b["nearest"] == v["nearest"]
                lines.append(
                    f"Under the proposal it would {'still be' if same else 'be'} {v['nearest']}, "
                    f"{_minutes_words(v['minutes'], t)}. {_threshold_words(v['minutes'], t)}"
                )
            else:
                lines.append(
                    f"The nearest front counter for residents of this ward is {v['nearest']}, "
                    f"{_minutes_words(v['minutes'], t)} {words} on average. "
                    f"{_threshold_words(v['minutes'], t)}".replace("  ", " ")
                )
            c = by_name.get(v["nearest"])
            if c:
                lines.append(f"{c['name']}: {c['address']}. Opening hours: {c['hours_label']}.")
        lines.append("For the answer at your own address, type your postcode.")
        out[r.ward_code] = {"heading": f"{r.ward_name}, {r.borough_name}", "lines": lines}
    return out


def _base90(values: np.ndarray, width: int) -> np.ndarray:
    """Fixed-width base-90 strings of non-negative integers (the largest value means "none")."""
    values = values.astype(np.int64)
    if (values < 0).any() or (values >= len(_DIGITS) ** width).any():
        raise DataError(f"postcode table: a value does not fit in {width} packed characters")
    digits = np.array(list(_DIGITS))
    out = np.full(len(values), "", dtype=object)
    for k in reversed(range(width)):
        out = out + digits[(values // len(_DIGITS) ** k) % len(_DIGITS)].astype(object)
    return out


def _postcode_block(run: _Run, reference: _Run | None, counters: list[dict]) -> dict | None:
    """The postcode table of the resident map, packed: one string of fixed-width records per postcode sector.

    A record is the unit letters (2), easting and northing on a 10 m grid (2 + 2),
    ward (2), then per answer ("plan", and "today" with a reference run) the
    counter (1 or 2) and the minutes in tenths (2); "today" is one marker
    character when it equals the plan.  About 13 bytes a postcode, so London's
    180,000 postcodes add about 2.4 MB; the page decodes only the sector typed.
    """
    path = run.folder / "postcodes.parquet"
    if not path.is_file():
        message = (
            f"{run.folder} has no postcodes.parquet (it was run without maps, or without Code-Point Open in its "
            "data directory): the resident map will search wards and boroughs only, not postcodes; run the "
            "scenario again with maps, with the postcode file in the data directory, to add the postcode search"
        )
        warnings.warn(message, PlannerWarning, stacklevel=2)
        logger.warning(message)
        return None
    table = pd.read_parquet(path)
    answers = [("plan", table)]
    if reference is not None:
        ref_path = reference.folder / "postcodes.parquet"
        ref = pd.read_parquet(ref_path) if ref_path.is_file() else None
        if ref is None or not ref["postcode"].equals(table["postcode"]):
            logger.warning(
                "%s: %s; postcode answers give the plan only (re-run the reference with maps to add today's)",
                ref_path,
                "missing" if ref is None else f"lists other postcodes than {path}",
            )
        else:
            answers.append(("today", ref))
    base = len(_DIGITS)
    index = {c["id"]: i for i, c in enumerate(counters)}
    wide = 1 if len(counters) < base else 2
    ward_codes = sorted(set(run.wards["ward_code"]))
    ward_pos = {w: i for i, w in enumerate(ward_codes)}
    none2 = base**2 - 1
    e0, n0 = int(table["easting"].min()) // _GRID_M, int(table["northing"].min()) // _GRID_M
    parts = [
        table["postcode"].str[-2:].to_numpy(dtype=object),
        _base90(np.round(table["easting"].to_numpy() / _GRID_M) - e0, 2),
        _base90(np.round(table["northing"].to_numpy() / _GRID_M) - n0, 2),
        _base90(table["ward_code"].map(ward_pos).fillna(none2).to_numpy(), 2),
    ]
    fields = [["unit", 2], ["e", 2], ["n", 2], ["ward", 2]]
    plan_minutes = None
    for name, frame in answers:
        station = frame["station_id"].map(index)
        if frame["station_id"].notna().any() and station[frame["station_id"].notna()].isna().any():
            raise DataError(f"{name}: a postcode's nearest counter is not on the map")
        minutes = np.round(frame["minutes"].to_numpy(dtype=float) * 10)
        ok = np.isfinite(minutes) & station.notna().to_numpy()
        codes = np.where(ok, station.fillna(0).to_numpy(), base**wide - 1)
        minutes = _base90(np.where(ok, np.minimum(minutes, none2 - 1), none2), 2)
        if plan_minutes is None:
            plan_codes, plan_minutes = codes, minutes
        else:
            # "today" is often the plan's counter at the same minutes: one marker character instead of three
            same = (codes == plan_codes) & (minutes == plan_minutes)
            codes = np.where(same, base**wide - 2, codes)
            minutes = np.where(same, "", minutes)
        parts += [_base90(codes, wide), minutes]
        fields += [[name, wide], [name + "Min", 2]]
    records = parts[0]
    for p in parts[1:]:
        records = records + p
    sector = table["postcode"].str[:-2].to_numpy()
    packed: dict[str, str] = {}
    for key, group in pd.Series(records).groupby(sector, sort=True):
        packed[str(key)] = "".join(group.tolist())
    return {
        "digits": _DIGITS,
        "grid": _GRID_M,
        "origin": [e0, n0],
        "fields": fields,
        "wards": ward_codes,
        "sectors": packed,
        "count": len(table),
        "example": str(table["postcode"].iloc[len(table) // 2]),
        "attribution": POSTCODE_ATTRIBUTION,
    }


def write_maps(
    run_dir: str | os.PathLike[str],
    *,
    reference_dir: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    offline: bool = True,
    marginal: str | os.PathLike[str] | None = None,
    group: str | None = None,
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
    group
        The equality group (a key of :data:`planner.equality.GROUPS`) whose residents beyond the
        threshold, by ward, the access map offers as a layer to switch on (default: the group with
        the largest disproportion ratio, see :func:`default_group`).

    Returns
    -------
    list of Path
        ``access.html``, ``residents.html``, ``hubs.html`` when the run has a hub plan, and the scenario
        explorer ``explorer.html`` (see :mod:`planner.explorer`).
    """
    run = _read_run(run_dir)
    reference = _read_run(reference_dir) if reference_dir else None
    for one in (run, reference):
        if one is not None:
            check_outputs(one.folder, one.manifest)
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
    layer = _group_layer(run, group)
    if layer is not None:
        access["group_layer"] = layer
    written.append(_write(folder / "access.html", access, offline))
    residents = {
        **common,
        "kind": "residents",
        "summaries": _summaries(run, reference, common["counters"]),
        "hub_lines": {k: v["line"] for k, v in _hubs_of(run).items()},
        "title": "How far is your nearest police front counter?",
        "threshold_words": {"within": f"{run.threshold:g} minutes or less", "beyond": f"more than {run.threshold:g}"},
        "has_today": reference is not None,  # ward answers; postcode answers say in their fields
    }
    block = _postcode_block(run, reference, common["counters"])
    if block is not None:
        residents["postcodes"] = block
    written.append(_write(folder / "residents.html", residents, offline))
    if run.hubs is not None:
        written.append(_write(folder / "hubs.html", _hub_data(run, boroughs), offline))
    written += _explorer(run, reference, folder, offline)
    return written


def _explorer(run: _Run, reference: _Run | None, folder: Path, offline: bool) -> list[Path]:
    """The scenario explorer, unless the run searched without a matrix (a stations file of many rows)."""
    from planner.explorer import write_explorer_of
    from planner.run import MATRIX_MAX_STATIONS

    if len(run.stations) > MATRIX_MAX_STATIONS:
        message = (
            f"{run.folder}: no scenario explorer: the stations file has {len(run.stations)} rows (more than "
            f"{MATRIX_MAX_STATIONS}), so the run searched from its open counters and wrote no travel-time matrix"
        )
        warnings.warn(message, PlannerWarning, stacklevel=3)
        logger.warning(message)
        return []
    return [write_explorer_of(run, reference, out=folder, offline=offline)]


#: Colours of the group layer: nobody beyond, then four classes of more residents beyond (ColorBrewer Purples).
GROUP_COLOURS = ("#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f")


def default_group(equality: dict | None, threshold: float) -> str | None:
    """The group a plan falls hardest on: the largest disproportion ratio in London at ``threshold``.

    Ties go to the group listed first in :data:`planner.equality.GROUPS`; None when no group has a ratio.

    Parameters
    ----------
    equality
        ``summary.json``'s ``equality`` entry of a run.
    threshold
        Minutes.
    """
    block = ((equality or {}).get("thresholds") or {}).get(f"{threshold:g}") or {}
    order = [g.key for g in GROUPS if g.key in block] + sorted(set(block) - {g.key for g in GROUPS})
    ratios = [(block[k]["ratio"], k) for k in order if k != "all" and block[k].get("ratio") is not None]
    if not ratios:
        return None
    best = max(r for r, _ in ratios)
    return next(k for r, k in ratios if r == best)


def _nice(value: float) -> int:
    """Round up to one or two significant figures (1, 2, 5, 10, 15, 20, 25, 50 ...)."""
    if value <= 1:
        return 1
    power = 10 ** int(np.floor(np.log10(value)))
    return int(next(m * power for m in (1, 1.5, 2, 2.5, 5, 10) if m * power >= value))


def _count_bands(counts: np.ndarray) -> list[dict]:
    """Legend bands for residents beyond: nobody, then up to four classes at rounded quartiles."""
    bands = [{"upto": 0, "color": GROUP_COLOURS[0], "label": "Nobody beyond"}]
    positive = np.sort(counts[counts > 0])
    if len(positive) == 0:
        return bands
    cuts = sorted({_nice(float(np.quantile(positive, q, method="inverted_cdf"))) for q in (0.25, 0.5, 0.75)})
    low = 1
    for colour, cut in zip(GROUP_COLOURS[1:], cuts, strict=False):
        bands.append({"upto": cut, "color": colour, "label": f"{low:,} to {cut:,}" if cut > low else f"{cut:,}"})
        low = cut + 1
    bands.append({"upto": 1e12, "color": GROUP_COLOURS[len(bands)], "label": f"{low:,} or more"})
    return bands


def _group_layer(run: _Run, group: str | None) -> dict | None:
    """One group's residents beyond the threshold, by ward, for the access map's toggle layer."""
    if run.group_wards is None:
        if group is not None:
            raise DataError(
                f"{run.folder}: no equality_wards_{run.threshold:g}.csv, so there is no group layer for "
                f"{group!r}; run the scenario again with this version of planner"
            )
        warnings.warn(
            f"{run.folder}: no equality_wards_{run.threshold:g}.csv (a run by an older planner): the access "
            "map has no group layer",
            PlannerWarning,
            stacklevel=3,
        )
        return None
    block = ((run.equality or {}).get("thresholds") or {}).get(f"{run.threshold:g}") or {}
    available = [k for k in block if k != "all" and k in set(run.group_wards["group"])]
    chosen = group if group is not None else default_group(run.equality, run.threshold)
    if chosen is None:
        chosen = available[0] if available else None
    if chosen is None:
        return None
    if chosen not in available:
        raise DataError(f"group {chosen!r} is not in {run.folder}; choose from {', '.join(available)}")
    rows = run.group_wards.loc[run.group_wards["group"] == chosen]
    beyond = rows["beyond"].to_numpy(float).round()
    info = block[chosen]
    return {
        "key": chosen,
        "label": str(info["label"]),
        "estimate": bool(info.get("estimate")),
        "ratio": info.get("ratio"),
        "values": {
            w: {"beyond": int(b), "residents": round(float(r))}
            for w, b, r in zip(rows["ward_code"], beyond, rows["residents"].to_numpy(float), strict=True)
        },
        "bands": _count_bands(beyond),
    }


def _marginal(run: _Run, path: str | os.PathLike[str]) -> list[dict]:
    """Marginal value per open counter, from a marginal sweep's ``critical_counters.csv`` (or its folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / "critical_counters.csv"
    if not path.is_file():
        raise DataError(f"{path} does not exist; give a marginal sweep's critical_counters.csv or its folder")
    table = pd.read_csv(path, dtype={"station_id": str})
    missing = {"station_id", "residents_losing_access"} - set(table.columns)
    if missing:
        raise DataError(f"{path}: not a marginal sweep table (missing {sorted(missing)})")
    st = run.stations.to_crs(4326).set_index("station_id")
    unknown = sorted(set(table["station_id"]) - set(st.index))
    if unknown:
        raise DataError(f"{path}: counters {unknown} are not in this run's stations; sweep the same plan")
    open_ids = set(st.index[st["open"].astype(bool)])
    if set(table["station_id"]) != open_ids:
        odd = len(set(table["station_id"]) ^ open_ids)
        raise DataError(
            f"{path}: a sweep of another plan ({len(table)} counters, {odd} of them not matching the "
            f"{len(open_ids)} open in {run.folder.name}); the layer shows what closing each of this plan's counters "
            f"costs: sweep {run.scenario.name} itself (`planner sweep SCENARIO --kind marginal`)"
        )
    lost = pd.to_numeric(table["residents_losing_access"], errors="coerce")
    if lost.isna().any() or (lost < 0).any():
        row = int(np.flatnonzero(lost.isna() | (lost < 0))[0])
        value = table.iloc[row]["residents_losing_access"]
        raise DataError(f"{path}: row {row + 2}: residents_losing_access is {value!r}, not a count of 0 or more")
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
    names = dict(zip(hubs["hub_id"], hubs["ward_names"], strict=True))
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
                "wards": names.get(r.hub_id, ""),
                "name": str(r.site_ward_name),
                "lat": round(r.geometry.y, 6),
                "lon": round(r.geometry.x, 6),
            }
            for r in sites.itertuples()
        ],
    }


def write_change_map(
    run_dirs: list[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    *,
    offline: bool = True,
    allow_mixed: bool = False,
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
    allow_mixed
        Map runs made from different data, demand years or engines (the title says so) instead of refusing
        them (see :func:`planner.runfolder.check_run_set`).
    """
    runs = [_read_run(d) for d in run_dirs]
    for one in runs:
        check_outputs(one.folder, one.manifest or {})
    if len(runs) < 2:
        raise DataError("a change map needs at least two runs")
    from planner.run import read_manifest

    identities = [RunIdentity.from_manifest(r.folder, read_manifest(r.folder)[1]) for r in runs]
    differences = check_run_set(identities, allow_mixed=allow_mixed)
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
        "title": f"Change in travel time: {first.scenario.name} \u2192 {last.scenario.name}"
        + (" (runs made from different data or engines)" if differences else ""),
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


from planner.explore import explore  # noqa: E402  (folium maps for analysts; planner.explore reads this module lazily)
