"""The scenario explorer: one offline page per run that re-scores any choice of open counters as it is made.

``explorer.html`` carries the run's travel-time matrix (minutes from every
resident's LSOA point to every counter of the stations file, ``travel_matrix.csv``
in the run folder) and re-scores a plan in the browser the way ``planner run``
does: each point's minutes are the minimum over the open counters' columns,
and the London figures are population-weighted exactly as in
:func:`planner.stats.access_figures` (residents no counter can be reached from
count as beyond and are left out of the mean; the 95th percentile is numpy's
weighted ``inverted_cdf``).  The minutes travel as little-endian float32, so a
figure can differ from the command line's only where a resident's minutes lie
within float32 rounding (about 3 millionths of a minute) of the threshold.

A choice is downloaded as a scenario file that ``planner run`` accepts
unchanged: the run's own scenario with the counters opened and closed against
it written as ``counters.open.add`` and ``counters.open.remove`` (and the
closed 24/7 counters as ``counters.twenty_four_seven.remove``), so the file
says what was changed.  The page keeps the scenario's rules: counters in
``counters.required`` cannot be closed and those in ``counters.forbidden``
cannot be opened.

Every text from a data file travels in the one JSON block (``<`` escaped) and
is set with ``textContent`` or as an attribute, never as HTML.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path

import jinja2
import numpy as np

from planner.context import counter_boroughs
from planner.credits import ATTRIBUTION
from planner.errors import DataError
from planner.maps.layers import _ward_geo
from planner.maps.page import (
    _LEAFLET_CSS,
    _LEAFLET_JS,
    BANDS,
    TILES,
    _asset,
    _json,
    _text,
    leaflet_inline,
)
from planner.runfolder import RunOutputs, read_run_outputs
from planner.scenario import _select, scenario_to_toml
from planner.travel import engine_words

__all__ = ["EXPLORER_FILE", "explorer_data", "write_explorer"]

logger = logging.getLogger(__name__)

#: The page's file name, in the run folder's ``maps/``.
EXPLORER_FILE = "explorer.html"
#: Placeholders of the scenario template that the page fills in (each a TOML string, or an array holding one).
PLACEHOLDERS = {
    "name": "@@NAME@@",
    "description": "@@DESCRIPTION@@",
    "add": "@@OPEN_ADD@@",
    "remove": "@@OPEN_REMOVE@@",
    "remove_24_7": "@@TWENTY_FOUR_SEVEN_REMOVE@@",
}


def _open_ids(run: RunOutputs) -> list[str]:
    return run.stations.loc[run.stations["open"].astype(bool), "station_id"].astype(str).tolist()


def _eligible_24_7(run: RunOutputs) -> set[str]:
    """Stations the scenario's ``counters.twenty_four_seven`` selects, open or not (24/7 when open)."""
    selection = run.scenario.counters.twenty_four_seven
    if selection is None:
        return set()
    return set(_select(run.stations, selection, f"{run.folder}: counters.twenty_four_seven"))


def _stations(run: RunOutputs, reference: RunOutputs | None) -> list[dict]:
    st = run.stations.copy()
    st["borough_code"] = counter_boroughs(st, run.ward_layer).to_numpy()
    names = dict(zip(run.ward_layer["borough_code"], run.ward_layer["borough_name"], strict=False))
    wgs = st.to_crs(4326)
    plan_open = set(_open_ids(run))
    ref_open = set(_open_ids(reference)) if reference is not None else plan_open
    eligible = _eligible_24_7(run)
    spec = run.scenario.counters
    rows = []
    for r, geom in zip(st.itertuples(), wgs.geometry, strict=True):
        sid = str(r.station_id)
        rows.append(
            {
                "id": sid,
                "name": str(r.name),
                "lat": round(geom.y, 6),
                "lon": round(geom.x, 6),
                "borough_code": str(r.borough_code) if isinstance(r.borough_code, str) else "",
                "borough": names.get(r.borough_code, _text(getattr(r, "borough", ""))),
                "all_day": sid in eligible,
                "plan": sid in plan_open,
                "reference": sid in ref_open,
                "required": sid in set(spec.required),
                "forbidden": sid in set(spec.forbidden),
            }
        )
    return rows


def _engine(run: RunOutputs) -> dict:
    """The engine's name, label and parameters as the page states them; timetables as one line each."""
    summary = json.loads((run.folder / "summary.json").read_text(encoding="utf-8"))
    name = str(run.engine.get("engine", ""))
    scalars, timetables = {}, []
    for key, value in sorted(run.engine.items()):
        if key in ("engine", "calibration", "data_notes"):
            continue
        if isinstance(value, dict):
            for mode, info in sorted(value.items()):
                if isinstance(info, dict) and "source" in info:
                    mode_name = mode.replace("_", " ")
                    timetables.append(f"{mode_name}: {info['source']}, {info.get('patterns', '?')} patterns")
        elif isinstance(value, bool | int | float | str):
            scalars[key] = value
    return {
        "name": name,
        "label": str((summary.get("engine") or {}).get("label") or name),
        "words": engine_words(run.engine),
        "parameters": scalars,
        "timetables": timetables,
    }


def _template(run: RunOutputs) -> str:
    """The run's scenario as TOML, with placeholders for the name, description and the changed counters."""
    spec = run.scenario
    counters = spec.counters
    open_sel = counters.open.model_copy(update={"add": [PLACEHOLDERS["add"]], "remove": [PLACEHOLDERS["remove"]]})
    update: dict = {"open": open_sel}
    if counters.twenty_four_seven is not None:
        update["twenty_four_seven"] = counters.twenty_four_seven.model_copy(
            update={"remove": [PLACEHOLDERS["remove_24_7"]]}
        )
    scenario = spec.model_copy(
        update={
            "name": PLACEHOLDERS["name"],
            "description": PLACEHOLDERS["description"],
            "counters": counters.model_copy(update=update),
        }
    )
    header = (
        f"A plan made in the scenario explorer of run {spec.name}: its scenario, with the counters opened and\n"
        "closed there listed in counters.open.add and counters.open.remove. Run it with: planner run FILE"
    )
    text = scenario_to_toml(scenario, header=header)
    for key, token in PLACEHOLDERS.items():
        wanted = 0 if key == "remove_24_7" and counters.twenty_four_seven is None else 1
        if text.count(f'"{token}"') != wanted:
            raise DataError(f"scenario template: placeholder {token} not written {wanted} time(s)")
    return text


def _reference(run: RunOutputs, reference: RunOutputs | None) -> RunOutputs | None:
    if reference is None:
        return None
    ours = run.stations["station_id"].astype(str).tolist()
    theirs = set(reference.stations["station_id"].astype(str))
    missing = sorted(set(_open_ids(reference)) - set(ours))
    if missing or theirs - set(ours):
        raise DataError(
            f"{reference.folder}: its stations file lists counters {sorted(theirs - set(ours))[:5]} that "
            f"{run.folder} does not, so the explorer cannot score it as the reference; use runs made from the "
            "same stations file"
        )
    return reference


def explorer_data(run_dir: str | os.PathLike[str], *, reference_dir: str | os.PathLike[str] | None = None) -> dict:
    """What the explorer page holds: counters, residents, the travel-time matrix, wards and the scenario template.

    Parameters
    ----------
    run_dir
        A run folder written by ``planner run`` (with its ``travel_matrix.csv``).
    reference_dir
        Another run from the same stations file (e.g. the baseline): the page shows each counter's status
        there and every figure's change against it (default: the run's own plan).

    Returns
    -------
    dict
        The page's JSON block.

    Raises
    ------
    DataError
        The run folder has no ``travel_matrix.csv``, or it does not match the run; the reference was made
        from another stations file.
    """
    run = read_run_outputs(run_dir, matrix=True)  # checked, with every file's hash
    return _data(run, read_run_outputs(reference_dir) if reference_dir is not None else None)


def _data(run: RunOutputs, reference: RunOutputs | None) -> dict:
    """:func:`explorer_data` of runs already read (``write_maps`` has read and checked them)."""
    reference = _reference(run, reference)
    points = run.points
    matrix = run.matrix if run.matrix is not None else read_run_outputs(run.folder, matrix=True).matrix
    assert matrix is not None
    minutes = np.where(np.isnan(matrix.minutes), np.inf, matrix.minutes).astype("<f4")
    wards, boroughs = _ward_geo(run)
    ward_pos = {f["properties"]["ward_code"]: i for i, f in enumerate(wards["features"])}
    unknown = sorted(set(points["ward_code"]) - set(ward_pos))
    if unknown:
        raise DataError(f"{run.folder / 'access_points.csv'}: ward code(s) {unknown[:5]} are not wards of the run")
    study = run.ward_layer[["borough_code", "borough_name"]].drop_duplicates().sort_values("borough_code")
    engine = _engine(run)
    return {
        "kind": "explorer",
        "title": f"Scenario explorer: {run.scenario.name}",
        "plan": run.scenario.name,
        "reference": reference.scenario.name if reference is not None else None,
        "thresholds": [float(t) for t in run.scenario.thresholds],
        "threshold": float(run.threshold),
        "engine": engine,
        "stations": _stations(run, reference),
        "boroughs": [{"code": str(c), "name": str(n)} for c, n in study.itertuples(index=False)],
        "points": {
            "population": points["population"].astype(np.int64).tolist(),
            "old": points["pop_65_plus"].astype(np.int64).tolist(),
            "ward": [ward_pos[w] for w in points["ward_code"]],
        },
        "minutes": base64.b64encode(np.ascontiguousarray(minutes).tobytes()).decode("ascii"),
        "wards": wards,
        "borough_lines": boroughs,
        "bands": [{"upto": u, "color": c, "label": label} for u, c, label in BANDS],
        "toml": _template(run),
        # the scenario's own lists, which the downloaded plan extends
        "selection": {
            "add": list(run.scenario.counters.open.add),
            "remove": list(run.scenario.counters.open.remove),
            "remove_24_7": list(getattr(run.scenario.counters.twenty_four_seven, "remove", []) or []),
            "has_24_7": run.scenario.counters.twenty_four_seven is not None,
        },
        "placeholders": PLACEHOLDERS,
        "name_pattern": r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
        "tiles": TILES,
        "attribution": list(ATTRIBUTION),
    }


def write_explorer(
    run_dir: str | os.PathLike[str],
    *,
    reference_dir: str | os.PathLike[str] | None = None,
    out: str | os.PathLike[str] | None = None,
    offline: bool = True,
) -> Path:
    """Write a run's scenario explorer, ``maps/explorer.html``.

    Parameters
    ----------
    run_dir
        A run folder written by ``planner run``.
    reference_dir
        The run to compare with (see :func:`explorer_data`).
    out
        Folder for the page (default ``run_dir/maps``).
    offline
        Embed Leaflet, so the page opens with no network at all.

    Returns
    -------
    Path
        The page written.
    """
    data = explorer_data(run_dir, reference_dir=reference_dir)
    return _write_page(data, Path(out) if out else Path(run_dir) / "maps", offline)


def write_explorer_of(run: RunOutputs, reference: RunOutputs | None, *, out: Path, offline: bool) -> Path:
    """:func:`write_explorer` for runs ``write_maps`` has already read and checked (nothing is read twice)."""
    return _write_page(_data(run, reference), out, offline)


def _write_page(data: dict, folder: Path, offline: bool) -> Path:
    js, css = leaflet_inline() if offline else ("", "")
    env = jinja2.Environment(autoescape=True, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)
    page = env.from_string(_asset("explorer.html")).render(
        title=data["title"],
        offline=offline,
        leaflet_js=js,
        leaflet_css=css,
        leaflet_js_url=_LEAFLET_JS,
        leaflet_css_url=_LEAFLET_CSS,
        css=_asset("map.css") + _asset("explorer.css"),
        js=_asset("explorer.js"),
        data=_json(data),
    )
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / EXPLORER_FILE
    path.write_text(page, encoding="utf-8")
    logger.info("wrote %s (%.1f MB)", path, path.stat().st_size / 1e6)
    return path
