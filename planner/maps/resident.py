"""The resident view: a plain-words answer per ward and per postcode (the postcode search's data)."""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from planner.credits import POSTCODE_ATTRIBUTION
from planner.errors import DataError, PlannerWarning
from planner.maps.page import _DIGITS, _GRID_M, _values, minutes_words, threshold_words
from planner.runfolder import RunOutputs
from planner.travel import engine_words

logger = logging.getLogger(__name__)


def _summaries(run: RunOutputs, reference: RunOutputs | None, counters: list[dict]) -> dict[str, dict]:
    words = engine_words(run.engine)
    now = _values(run)
    before = _values(reference) if reference else None
    by_name = {c["name"]: c for c in counters if c["status"] != "closing"}
    t = run.threshold
    out = {}
    for r in run.ward_layer.itertuples():
        v = now[r.ward_code]
        lines = []
        if v["minutes"] is None or v["nearest"] is None:
            lines.append("We have no travel-time estimate for this ward.")
        else:
            if before is not None and before.get(r.ward_code, {}).get("nearest"):
                b = before[r.ward_code]
                lines.append(
                    f"Today the nearest front counter for residents of this ward is {b['nearest']}, "
                    f"{minutes_words(b['minutes'], t)} {words} on average.".replace("  ", " ")
                )
                same = b["nearest"] == v["nearest"]
                lines.append(
                    f"Under the proposal it would {'still be' if same else 'be'} {v['nearest']}, "
                    f"{minutes_words(v['minutes'], t)}. {threshold_words(v['minutes'], t)}"
                )
            else:
                lines.append(
                    f"The nearest front counter for residents of this ward is {v['nearest']}, "
                    f"{minutes_words(v['minutes'], t)} {words} on average. "
                    f"{threshold_words(v['minutes'], t)}".replace("  ", " ")
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


def _today(reference: RunOutputs | None, table: pd.DataFrame, path: Path) -> list[tuple[str, pd.DataFrame]]:
    """The reference run's postcode answers ("today"), when it has them for the same postcodes."""
    if reference is None:
        return []
    ref_path = reference.folder / "postcodes.parquet"
    ref = pd.read_parquet(ref_path) if ref_path.is_file() else None
    if ref is None or not ref["postcode"].equals(table["postcode"]):
        logger.warning(
            "%s: %s; postcode answers give the plan only (re-run the reference with maps to add today's)",
            ref_path,
            "missing" if ref is None else f"lists other postcodes than {path}",
        )
        return []
    return [("today", ref)]


def _postcode_block(run: RunOutputs, reference: RunOutputs | None, counters: list[dict]) -> dict | None:
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
    answers = [("plan", table), *_today(reference, table, path)]
    base = len(_DIGITS)
    index = {c["id"]: i for i, c in enumerate(counters)}
    wide = 1 if len(counters) < base else 2
    ward_codes = sorted(set(run.ward_layer["ward_code"]))
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
    packed = _by_sector(parts, table["postcode"])
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


def _by_sector(parts: list[np.ndarray], postcodes: pd.Series) -> dict[str, str]:
    """Each postcode's record (its parts joined), concatenated per postcode sector in postcode order."""
    records = parts[0]
    for p in parts[1:]:
        records = records + p
    sector = postcodes.str[:-2].to_numpy()
    return {str(key): "".join(group.tolist()) for key, group in pd.Series(records).groupby(sector, sort=True)}
