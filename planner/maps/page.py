"""What every page shares: Leaflet (inlined offline), tiles, colour bands, GeoJSON and the page template."""

from __future__ import annotations

import base64
import json
import logging
import re
from importlib.resources import files
from pathlib import Path

import geopandas as gpd
import jinja2
import numpy as np
import shapely

from planner.credits import ATTRIBUTION
from planner.errors import DataError
from planner.runfolder import RunOutputs

logger = logging.getLogger(__name__)

LEAFLET_VERSION = "1.9.3"


_LEAFLET_JS = f"https://cdn.jsdelivr.net/npm/leaflet@{LEAFLET_VERSION}/dist/leaflet.js"


_LEAFLET_CSS = f"https://cdn.jsdelivr.net/npm/leaflet@{LEAFLET_VERSION}/dist/leaflet.css"


TILES = {
    "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    "probe": "https://tile.openstreetmap.org/10/511/340.png",
    "timeout_ms": 4000,
}


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


def leaflet_inline() -> tuple[str, str]:
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
    js, css = leaflet_inline() if offline else ("", "")
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


def _values(run: RunOutputs) -> dict[str, dict]:
    """Each ward's mean minutes, share beyond the threshold and nearest counter's name, for the pages."""
    names = dict(zip(run.stations["station_id"], run.stations["name"].astype(str), strict=True))
    out = {}
    for r in run.ward_layer.itertuples():
        out[r.ward_code] = {
            "minutes": _clean(r.mean_minutes),
            "share": _clean(r.share_beyond),
            "nearest": names.get(r.nearest_station) if isinstance(r.nearest_station, str) else None,
        }
    return out


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return ""
    return str(value).strip()


def _bands() -> list[dict]:
    return [{"upto": u, "color": c, "label": label} for u, c, label in BANDS]


def minutes_words(minutes: float, threshold: float) -> str:
    """ "about 12 minutes", never a rounded figure that contradicts the threshold sentence."""
    shown = max(1, round(minutes))
    if minutes > threshold and shown <= threshold:
        return f"just over {threshold:g} minutes"
    return f"about {shown} minute{'' if shown == 1 else 's'}"


def threshold_words(minutes: float, threshold: float) -> str:
    if minutes > threshold:
        return f"That is more than {threshold:g} minutes."
    return f"That is {threshold:g} minutes or less."


def _write(path: Path, data: dict, offline: bool) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_html(data, offline=offline), encoding="utf-8")
    logger.info("wrote %s (%.1f MB)", path, path.stat().st_size / 1e6)
    return path
