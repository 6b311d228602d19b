"""The layers of the analysts' maps: counters, wards, hubs, a resident group, marginal values."""

from __future__ import annotations

import copy
import hashlib
import json
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from planner.equality import GROUPS
from planner.errors import DataError, PlannerWarning
from planner.hubs import hub_colours
from planner.maps.page import _PALETTE, _bands, _clean, _geojson, _simplified, _text
from planner.runfolder import RunOutputs, sweep_differences

logger = logging.getLogger(__name__)


def _counters(run: RunOutputs, reference: RunOutputs | None) -> list[dict]:
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


def _ward_geo(run: RunOutputs) -> tuple[dict, dict]:
    columns = ["ward_code", "ward_name", "borough_code", "borough_name", "population"]
    digest = hashlib.sha256(pd.util.hash_pandas_object(run.ward_layer[columns], index=False).to_numpy().tobytes())
    for geometry in shapely.to_wkb(run.ward_layer.geometry.values):
        digest.update(geometry)
    digest.update(str(run.ward_layer.crs).encode())
    key = digest.hexdigest()
    if key not in _WARD_GEO:
        simple = _simplified(run.ward_layer)
        wards = _geojson(simple, ["ward_code", "ward_name", "borough_name", "population"])
        boroughs = simple[["borough_code", "geometry"]].dissolve(by="borough_code", as_index=False)
        _WARD_GEO.clear()
        _WARD_GEO[key] = (wards, _geojson(boroughs, ["borough_code"]))
    wards, boroughs = _WARD_GEO[key]
    return copy.deepcopy(wards), copy.deepcopy(boroughs)


def _hubs_of(run: RunOutputs) -> dict[str, dict]:
    """Per ward code: the hub site's ward name and the other wards the hub serves."""
    hub_of: dict[str, dict] = {}
    if run.hubs is None or run.ward_hubs is None:
        return hub_of
    ward_name = dict(zip(run.ward_layer["ward_code"], run.ward_layer["ward_name"], strict=True))
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


def count_bands(counts: np.ndarray) -> list[dict]:
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


def _group_layer(run: RunOutputs, group: str | None) -> dict | None:
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
        "bands": count_bands(beyond),
    }


def _marginal(run: RunOutputs, path: str | os.PathLike[str]) -> list[dict]:
    """Marginal value per open counter, from a marginal sweep's ``critical_counters.csv`` (or its folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / "critical_counters.csv"
    if not path.is_file():
        raise DataError(f"{path} does not exist; give a marginal sweep's critical_counters.csv or its folder")
    table = pd.read_csv(path, dtype={"station_id": str})
    definition = path.parent / "definition.json"
    differs = sweep_differences(json.loads(definition.read_text()), run) if definition.is_file() else []
    if differs:
        raise DataError(
            f"{path.parent}: the sweep was made with {'; '.join(differs)}, so its figures are not those of "
            f"{run.folder}; sweep {run.scenario.name} itself (`planner sweep SCENARIO --kind marginal`)"
        )
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


def _hub_data(run: RunOutputs, boroughs: dict) -> dict:
    simple = _simplified(run.ward_layer).merge(run.ward_hubs[["ward_code", "hub_id"]], on="ward_code")
    hubs = simple[["hub_id", "geometry"]].dissolve(by="hub_id", as_index=False)
    info = run.hubs.drop(columns="geometry").set_index("hub_id")
    ward_name = dict(zip(run.ward_layer["ward_code"], run.ward_layer["ward_name"], strict=True))
    hubs = hubs.join(info, on="hub_id")
    hubs["ward_names"] = hubs["wards"].map(lambda s: ", ".join(ward_name.get(w, w) for w in str(s).split(";")))
    hubs["colour"] = hub_colours(hubs, _PALETTE)  # hubs that meet differ
    for col in ("population", "mean_minutes", "max_minutes"):
        hubs[col] = hubs[col].map(_clean)
    sites = run.hub_sites.to_crs(4326)
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


#: The last ward and borough GeoJSON, by a digest of the wards they came from (the runs of one set share them).
_WARD_GEO: dict[str, tuple[dict, dict]] = {}
