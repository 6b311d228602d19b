"""A scenario report to put in front of a board: one self-contained HTML file and its A4 PDF.

Every figure is read from the run folders written by :func:`planner.run.run_scenario`
(``summary.json``, ``manifest.json``, the access tables and layers, the hub plan),
never recomputed here.  Charts are matplotlib SVGs and static maps are matplotlib
PNGs, embedded as data URIs; the text font (DejaVu Sans, shipped with matplotlib)
is embedded too, so the page needs no network and looks the same everywhere.  The
PDF is printed by headless Chromium (Playwright).

The same run folders give a byte-identical ``report.html``; the date on the cover is
``SOURCE_DATE_EPOCH`` when set, else today's date.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import queue
import re
import textwrap
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from planner.clock import output_time
from planner.compare import equality_comparison, worsening_wards
from planner.errors import DataError, PlannerError, ReportError
from planner.maps import BANDS, CHANGE_BANDS
from planner.runfolder import RunIdentity, check_outputs, check_points, check_run_set, check_summary, check_tables
from planner.scenario import Scenario, closure_savings

__all__ = [
    "ATTRIBUTION",
    "Report",
    "RunOutputs",
    "SweepOutputs",
    "chromium_path",
    "print_pdf",
    "read_run_outputs",
    "read_sweep",
    "render_html",
    "write_report",
]

logger = logging.getLogger(__name__)

#: The attribution lines that every report shows (the README's "Data, licences and attribution").
ATTRIBUTION = [
    "Contains National Statistics data © Crown copyright and database right 2014/2018/2022; "
    "Contains OS data © Crown copyright and database right (Open Government Licence v3.0).",
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0.",
    "Powered by TfL Open Data. Contains OS data © Crown copyright and database rights.",
    "Metropolitan Police Service, via London Datastore (OGL).",
    "© OpenStreetMap contributors (ODbL 1.0).",
    "Counter coordinates also contain Royal Mail data © Royal Mail copyright and database right.",
    "Contains Rail Delivery Group timetable data.",
    "Tramlink stops: Oliver O'Brien (CC BY-NC), from TfL and OpenStreetMap data.",
    "Postcodes: Contains OS data © Crown copyright and database right 2025; Contains Royal Mail data © Royal Mail "
    "copyright and database right 2025; Contains National Statistics data © Crown copyright and database right 2025.",
    "Calibration: Source: Department for Transport, Journey Time Statistics (OGL v3.0); "
    "contains NHS Choices data (OGL).",
]
#: The short credit printed on every static map.
MAP_CREDIT = (
    "Contains National Statistics and OS data © Crown copyright and database right 2014-2022 (OGL v3). "
    "Powered by TfL Open Data.\n"
    "Counter locations contain Royal Mail data © Royal Mail copyright and database right. © OpenStreetMap contributors."
)

#: Scenario colours (Okabe-Ito, ordered so that neighbours differ in lightness) with a line style
#: and a hatch each, so charts stay readable when printed in greyscale.
COLOURS = ["#0b3d91", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#000000", "#f0e442"]
LINES = ["-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 2)), (0, (8, 2)), (0, (3, 1, 1, 1, 1, 1))]
HATCHES = ["", "////", "....", "xxxx", "\\\\\\\\", "++++", "oo", "--"]
_HUB_PALETTE = ["#a6cee3", "#b2df8a", "#fdbf6f", "#cab2d6", "#fb9a99", "#ffff99", "#d9d9d9", "#ccebc5"]
_MAP_SIMPLIFY_M = 20.0
#: Hatches on the travel-time bands beyond 45 minutes (45-60 dotted, over 60 striped), for greyscale prints.
_OVER_45 = {i: "...." if i == len(BANDS) - 2 else "////" for i in range(1, len(BANDS)) if BANDS[i - 1][0] >= 45}
_HATCH = "#5a1a00"
_ENGINE_WORDS = {"transit": "by public transport", "crowfly": "as a straight-line estimate"}
_NETWORK_WORDS = {"walk": "on foot", "bike": "by bike", "drive": "by car"}


# --------------------------------------------------------------------------- reading run folders


@dataclass
class RunOutputs:
    """What the report reads from one run folder.

    Attributes
    ----------
    folder
        The run folder.
    scenario
        The scenario, from ``manifest.json``.
    manifest
        ``manifest.json``.
    summary
        ``summary.json``.
    counters
        ``counters.csv``: the open counters.
    points
        ``access_points.csv``: minutes and residents per demand point.
    wards
        Threshold label (``"45"``) → ``access_wards_<T>.csv``.
    boroughs
        Threshold label → ``access_boroughs_<T>.csv``.
    ward_layer
        The primary threshold's ward layer of ``access.gpkg``.
    stations
        ``stations.gpkg`` with ``open`` and ``open_24_7``.
    hubs, hub_sites
        The hub plan's polygons and sites (``hubs/hubs.gpkg``), when the run has one.
    """

    folder: Path
    scenario: Scenario
    manifest: dict
    summary: dict
    counters: pd.DataFrame
    points: pd.DataFrame
    wards: dict[str, pd.DataFrame]
    boroughs: dict[str, pd.DataFrame]
    ward_layer: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    hubs: gpd.GeoDataFrame | None = None
    hub_sites: gpd.GeoDataFrame | None = None

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def labels(self) -> list[str]:
        """Threshold labels, the primary first (``["45", "60"]``)."""
        return [f"{t:g}" for t in self.scenario.thresholds]

    @property
    def engine(self) -> dict:
        return self.manifest["engine"]

    @property
    def equality(self) -> dict:
        """``summary.json``'s ``equality`` entry (empty for a run made before the equality view)."""
        return self.summary.get("equality") or {}


def _rerun(meta: dict | None) -> str:
    source = (meta or {}).get("scenario_file") or {}
    return f"re-run it with `planner run {source.get('path', 'SCENARIO.toml')} --out ...`"


def _read_json(path: Path, meta: dict | None = None) -> dict:
    if not path.is_file():
        raise DataError(f"{path.parent}: the run folder has no {path.name}; it is incomplete: {_rerun(meta)}")
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON ({exc}); {_rerun(meta)}") from exc
    if not isinstance(doc, dict):
        raise DataError(f"{path}: expected a JSON object; {_rerun(meta)}")
    return doc


def _need(folder: Path, name: str, meta: dict) -> Path:
    path = folder / name
    if not path.is_file():
        raise DataError(f"{folder}: the run folder has no {name}; it is incomplete: {_rerun(meta)}")
    return path


def read_run_outputs(folder: str | os.PathLike[str]) -> RunOutputs:
    """Read and check one run folder for the report.

    Parameters
    ----------
    folder
        ``OUT/<scenario>`` written by ``planner run``.

    Returns
    -------
    RunOutputs
        The files the report uses.

    Raises
    ------
    DataError
        The folder is missing, incomplete, or was written by an older planner;
        the message names the folder and the file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such run folder; write one with `planner run SCENARIO.toml --out ...`")
    meta = _read_json(folder / "manifest.json")
    missing = [k for k in ("parameters", "engine", "inputs", "planner_version") if k not in meta]
    if missing:
        raise DataError(f"{folder / 'manifest.json'}: no {missing}: not a run manifest of this planner; {_rerun(meta)}")
    try:
        scenario = Scenario.model_validate(meta["parameters"])
    except ValueError as exc:
        raise DataError(
            f"{folder / 'manifest.json'}: written by another version of planner "
            f"({meta.get('planner_version')}): its scenario does not validate ({exc}); {_rerun(meta)}"
        ) from exc
    summary = _read_json(folder / "summary.json", meta)
    labels = [f"{t:g}" for t in scenario.thresholds]
    if "london_24_7" not in summary:
        raise DataError(
            f"{folder / 'summary.json'}: written by an older planner (version {meta.get('planner_version')}) "
            f"without the residents beyond each threshold from a 24/7 counter ('london_24_7'); {_rerun(meta)}"
        )
    for key in ("london", "london_24_7"):
        lost = [t for t in labels if t not in summary[key]]
        if lost:
            raise DataError(
                f"{folder / 'summary.json'}: '{key}' has no figures for threshold(s) {lost} of the manifest; "
                f"{_rerun(meta)}"
            )
    check_summary(summary, path=folder / "summary.json", labels=labels)
    paths = {
        name: _need(folder, name, meta)
        for name in (
            "counters.csv",
            "access_points.csv",
            "access.gpkg",
            "stations.gpkg",
            *[f"access_wards_{t}.csv" for t in labels],
            *[f"access_boroughs_{t}.csv" for t in labels],
        )
    }
    try:
        counters = pd.read_csv(paths["counters.csv"], dtype={"station_id": str})
        points = pd.read_csv(paths["access_points.csv"], dtype={"station_id": str, "ward_code": str})
        wards = {t: pd.read_csv(paths[f"access_wards_{t}.csv"], dtype={"ward_code": str}) for t in labels}
        boroughs = {t: pd.read_csv(paths[f"access_boroughs_{t}.csv"]) for t in labels}
        layer = pyogrio.read_dataframe(paths["access.gpkg"], layer=f"wards_{labels[0]}")
        stations = pyogrio.read_dataframe(paths["stations.gpkg"], layer="stations")
    except (OSError, ValueError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise DataError(f"{folder}: a run file cannot be read ({exc}); {_rerun(meta)}") from exc
    _columns(paths["access_points.csv"], points, {"minutes", "population", "reachable", "ward_code"}, meta)
    points = check_points(points, path=paths["access_points.csv"], summary=summary, labels=labels)
    check_tables(folder, summary=summary, counters=counters, points=points, boroughs=boroughs, engine=meta["engine"])
    _columns(paths["counters.csv"], counters, {"station_id", "name", "open_24_7"}, meta)
    _columns(paths["stations.gpkg"], stations, {"station_id", "open", "open_24_7"}, meta)
    _columns(paths["access.gpkg"], layer, {"ward_code", "borough_code", "mean_minutes"}, meta)
    for t in labels:
        _columns(paths[f"access_boroughs_{t}.csv"], boroughs[t], {"borough_name", "beyond", "population"}, meta)
        _columns(paths[f"access_wards_{t}.csv"], wards[t], {"ward_code", "ward_name", "mean_minutes"}, meta)
    hubs = sites = None
    hub_file = folder / "hubs" / "hubs.gpkg"
    if hub_file.is_file():
        hubs = pyogrio.read_dataframe(hub_file, layer="hubs")
        sites = pyogrio.read_dataframe(hub_file, layer="hub_sites")
    check_outputs(folder, meta)  # after the checks above, which name what is wrong in a file they read
    return RunOutputs(folder, scenario, meta, summary, counters, points, wards, boroughs, layer, stations, hubs, sites)


def _columns(path: Path, frame: pd.DataFrame, needed: set[str], meta: dict) -> None:
    lost = sorted(needed - set(frame.columns))
    if lost:
        raise DataError(f"{path}: no column(s) {lost}: written by another version of planner; {_rerun(meta)}")


def _check_runs(runs: list[RunOutputs], *, allow_mixed: bool = False) -> list[str]:
    if not runs:
        raise DataError("no run folders given: pass one or more folders written by `planner run`")
    first = runs[0]
    for run in runs[1:]:
        if run.scenario.thresholds != first.scenario.thresholds:
            raise DataError(
                f"runs have different thresholds: {first.folder / 'manifest.json'} has "
                f"{first.labels} minutes, {run.folder / 'manifest.json'} has {run.labels}; "
                "a report compares runs at the same thresholds: re-run them with the same `thresholds`"
            )
    return check_run_set([RunIdentity.from_manifest(r.folder, r.manifest) for r in runs], allow_mixed=allow_mixed)


@dataclass
class SweepOutputs:
    """A sweep folder: its kind, and its critical counters or its parameter grid."""

    folder: Path
    kind: str
    critical: pd.DataFrame | None = None
    grid: pd.DataFrame | None = None
    plan: str = ""
    threshold: float | None = None


def _check_sweeps(sweeps: Sequence[SweepOutputs], runs: Sequence[RunOutputs]) -> None:
    """A marginal sweep shows what closing each counter of one plan costs: that plan must be one of the report's."""
    plans = {r.scenario.name: set(r.counters["station_id"].astype(str)) for r in runs}
    for sweep in sweeps:
        if sweep.kind != "marginal" or sweep.critical is None or "station_id" not in sweep.critical.columns:
            continue
        ids = set(sweep.critical["station_id"].astype(str))
        if not any(ids == opened for opened in plans.values()):
            raise DataError(
                f"{sweep.folder}: a marginal sweep of {sweep.plan or 'a plan'} ({len(ids)} counters), whose counters "
                f"are those of none of the report's runs ({', '.join(plans)}); sweep one of them"
            )


def read_sweep(folder: str | os.PathLike[str]) -> SweepOutputs:
    """Read a sweep folder written by ``planner sweep`` (marginal, pairs or grid).

    Parameters
    ----------
    folder
        The sweep's output folder.

    Raises
    ------
    DataError
        The folder or one of its files is missing; the message names them.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such sweep folder; write one with `planner sweep SCENARIO --kind ...`")
    definition = _read_json(folder / "definition.json")
    kind = definition.get("kind")
    plan = str((definition.get("scenario") or {}).get("name", ""))
    threshold = definition.get("threshold")
    hint = "run `planner sweep` again to finish it"
    if kind == "grid":
        path = folder / "results.parquet"
        if not path.is_file():
            raise DataError(f"{folder}: the sweep folder has no results.parquet; {hint}")
        grid = pd.read_parquet(path)
        if "param_bus_speed_kmh" not in grid.columns:
            raise DataError(
                f"{path}: the grid does not vary the bus speed "
                "(sweep it with `planner sweep SCENARIO --kind grid --bus-speed 12,15,18`)"
            )
        return SweepOutputs(folder, kind, grid=grid, plan=plan)
    if kind in ("marginal", "pairs"):
        path = folder / "critical_counters.csv"
        if not path.is_file():
            raise DataError(f"{folder}: the sweep folder has no critical_counters.csv; {hint}")
        critical = pd.read_csv(path, dtype={"station_id": str})
        return SweepOutputs(folder, kind, critical=critical, plan=plan, threshold=threshold)
    raise DataError(f"{folder / 'definition.json'}: unknown sweep kind {kind!r}")


# --------------------------------------------------------------------------- figures (from summary.json)


def _engine_words(engine: dict) -> str:
    if engine.get("engine") == "network":
        return _NETWORK_WORDS.get(engine.get("mode", "walk"), "by street network")
    return _ENGINE_WORDS.get(engine.get("engine", ""), f"({engine.get('engine', 'unknown engine')})")


def _shared_words(runs: list[RunOutputs]) -> str:
    """How the first page says the minutes were found: one engine's words, or a pointer to each scenario's."""
    words = {_engine_words(r.engine) for r in runs}
    return words.pop() if len(words) == 1 else "(travel times from a different engine per scenario, see Methods)"


def _years(runs: list[RunOutputs]) -> str:
    years = {r.scenario.demand_year for r in runs}
    if len(years) == 1:
        return f"mid-{years.pop()}"
    return "; ".join(f"mid-{r.scenario.demand_year} for {r.name}" for r in runs)


def _n(value: float) -> str:
    return f"{round(value):,}"


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.2f}%" if whole else "n/a"


def _signed(value: float) -> str:
    return f"+{_n(value)}" if value > 0 else ("no change" if value == 0 else f"−{_n(-value)}")


def _savings(run: RunOutputs, first: RunOutputs) -> tuple[int, float | None, str]:
    """Counters closed against the first run, and their known annual cost (None when unknown)."""
    closed = sorted(set(first.counters["station_id"]) - set(run.counters["station_id"]))
    opened = sorted(set(run.counters["station_id"]) - set(first.counters["station_id"]))
    costs = run.scenario.costs or first.scenario.costs
    total, why = closure_savings(closed, costs, opened=opened)
    if not closed and not opened:
        return 0, 0.0, "none (no counter closes)"
    if why:
        return len(closed), None, f"unknown ({why})"
    net = f" net of the {len(opened)} counter(s) it opens" if opened else ""
    amount = f"{costs.currency} {total:,.0f}" if total >= 0 else f"−{costs.currency} {-total:,.0f}"  # type: ignore[union-attr]
    return len(closed), total, f"{amount} a year{net}"


def _scenario_figures(run: RunOutputs, first: RunOutputs) -> dict:
    """The summary figures of one run, straight from its summary.json, with plain-word sentences."""
    s, s0 = run.summary, first.summary
    t0 = run.labels[0]
    lon, lon24 = s["london"], s["london_24_7"]
    pop = lon[t0]["population"]
    closed, saving, saving_text = _savings(run, first)
    opened = sorted(set(run.counters["station_id"]) - set(first.counters["station_id"]))
    words = _engine_words(run.engine)
    without = list(s["boroughs_without_24_7"])
    rows = {
        "counters_open": s["counters_open"],
        "counters_24_7": s["counters_24_7"],
        "boroughs_without_24_7": len(without),
    }
    for t in run.labels:
        rows[f"beyond_{t}"] = lon[t]["beyond"]
        rows[f"beyond_65_plus_{t}"] = lon[t]["beyond_65_plus"]
        rows[f"beyond_24_7_{t}"] = lon24[t]["beyond"]
        rows[f"beyond_24_7_65_plus_{t}"] = lon24[t]["beyond_65_plus"]
    sentences = [
        f"{s['counters_open']} front counters open, {s['counters_24_7']} of them 24 hours a day, 7 days a week.",
        f"{_n(lon[t0]['beyond'])} residents ({_pct(lon[t0]['beyond'], pop)} of {_n(pop)}) live more than "
        f"{t0} minutes {words} from the nearest open counter; {_n(lon[t0]['beyond_65_plus'])} of them are aged 65 "
        "or over.",
    ]
    for t in run.labels[1:]:
        sentences.append(
            f"{_n(lon[t]['beyond'])} live more than {t} minutes away ({_n(lon[t]['beyond_65_plus'])} aged 65+)."
        )
    t24 = " and ".join(
        f"{_n(lon24[t]['beyond'])} beyond {t} minutes ({_n(lon24[t]['beyond_65_plus'])} aged 65+)" for t in run.labels
    )
    sentences.append(f"Counting only the 24/7 counters, which are open at night: {t24}.")
    sentences.append(
        "Every borough keeps a 24/7 counter."
        if not without
        else f"{len(without)} borough{'s' if len(without) > 1 else ''} left without a 24/7 counter: "
        f"{', '.join(without)}."
    )
    if run is not first:
        d = lon[t0]["beyond"] - s0["london"][t0]["beyond"]
        change = (
            f"Against {first.name}: {closed} counter{'s' if closed != 1 else ''} close"
            + (f" and {len(opened)} new {'ones open' if len(opened) > 1 else 'one opens'}" if opened else "")
            + f"; residents beyond {t0} minutes {'rise' if d > 0 else 'fall' if d < 0 else 'do not change'}"
            + (f" by {_n(abs(d))}, from {_n(s0['london'][t0]['beyond'])} to {_n(lon[t0]['beyond'])}." if d else ".")
        )
        sentences.append(change)
        sentences.append(f"Net annual savings: {saving_text}.")
    changes = {}
    if run is not first:
        for key in rows:
            changes[key] = rows[key] - _scenario_rows(first)[key]
    headline = (
        f"{s['counters_open']} counters ({s['counters_24_7']} open 24/7). {_n(lon[t0]['beyond'])} residents "
        f"({_pct(lon[t0]['beyond'], pop)}) live more than {t0} minutes from an open counter, "
        f"{_n(lon24[t0]['beyond'])} from a 24/7 counter. "
        + (
            f"{len(without)} borough{'s' if len(without) > 1 else ''} without a 24/7 counter"
            + (f" ({', '.join(without)})." if len(without) <= 6 else ".")
            if without
            else "Every borough keeps a 24/7 counter."
        )
    )
    if run is not first:
        headline += " " + sentences[-2]
    return {
        "headline": headline,
        "name": run.name,
        "description": run.scenario.description,
        "notes": run.scenario.notes,
        "rows": rows,
        "changes": changes,
        "without": without,
        "closed": closed,
        "opened": len(opened),
        "saving": saving,
        "saving_text": saving_text,
        "hubs": s.get("hubs"),
        "sentences": sentences,
        "words": words,
        "population": pop,
    }


def _scenario_rows(run: RunOutputs) -> dict:
    s = run.summary
    rows = {
        "counters_open": s["counters_open"],
        "counters_24_7": s["counters_24_7"],
        "boroughs_without_24_7": len(s["boroughs_without_24_7"]),
    }
    for t in run.labels:
        rows[f"beyond_{t}"] = s["london"][t]["beyond"]
        rows[f"beyond_65_plus_{t}"] = s["london"][t]["beyond_65_plus"]
        rows[f"beyond_24_7_{t}"] = s["london_24_7"][t]["beyond"]
        rows[f"beyond_24_7_65_plus_{t}"] = s["london_24_7"][t]["beyond_65_plus"]
    return rows


def _summary_table(runs: list[RunOutputs]) -> list[dict]:
    """Rows of the first page's table: label, key and a value per scenario."""
    labels = runs[0].labels
    spec = [
        ("Counters open", "counters_open"),
        ("  of which open 24/7", "counters_24_7"),
        ("Boroughs without a 24/7 counter", "boroughs_without_24_7"),
    ]
    for t in labels:
        spec += [
            (f"Residents more than {t} min from any open counter", f"beyond_{t}"),
            ("  of them aged 65+", f"beyond_65_plus_{t}"),
        ]
    for t in labels:
        spec += [
            (f"Residents more than {t} min from a 24/7 counter", f"beyond_24_7_{t}"),
            ("  of them aged 65+", f"beyond_24_7_65_plus_{t}"),
        ]
    table = []
    for label, key in spec:
        cells = []
        for run in runs:
            value = _scenario_rows(run)[key]
            change = value - _scenario_rows(runs[0])[key] if run is not runs[0] else None
            cells.append({"value": value, "text": _n(value), "change": None if change is None else _signed(change)})
        table.append({"label": label.strip(), "indent": label.startswith("  "), "key": key, "cells": cells})
    return table


# --------------------------------------------------------------------------- charts and maps


def _mpl():
    import matplotlib

    matplotlib.use("Agg", force=False)
    return matplotlib


_RC = {
    "svg.hashsalt": "planner-report",
    "svg.fonttype": "path",
    "font.family": "DejaVu Sans",
    "font.size": 8.5,
    "axes.titlesize": 9.5,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.edgecolor": "#444444",
    "axes.labelcolor": "#222222",
    "xtick.color": "#333333",
    "ytick.color": "#333333",
    "legend.frameon": False,
    "hatch.linewidth": 0.6,
    "path.simplify": True,
}


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout=None)


def _svg_uri(fig) -> str:
    mpl = _mpl()
    buf = io.BytesIO()
    with mpl.rc_context(_RC):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches=None)
    return "data:image/svg+xml;base64," + base64.b64encode(buf.getvalue()).decode()


def _png_uri(fig, dpi: int = 170) -> str:
    """The figure as a palette PNG (maps have few colours; this keeps the page light and prints fast)."""
    from PIL import Image

    raw = io.BytesIO()
    fig.savefig(raw, format="rgba", dpi=dpi, facecolor="white")
    width, height = (round(v * dpi) for v in fig.get_size_inches())
    image = Image.frombytes("RGBA", (width, height), raw.getvalue()).convert("RGB")
    image = image.quantize(colors=128, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    image.save(buf, format="PNG", dpi=(dpi, dpi))
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _style(i: int) -> dict:
    return {"color": COLOURS[i % len(COLOURS)], "linestyle": LINES[i % len(LINES)]}


def _chart_cumulative(runs: list[RunOutputs]) -> str:
    """Cumulative share of residents by minutes to the nearest open counter, one line per scenario."""
    with _mpl().rc_context(_RC):
        fig = _figure(7.0, 3.3)
        axes = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.25, 1]})
        thresholds = [float(t) for t in runs[0].labels]
        for i, run in enumerate(runs):
            p = run.points
            ok = p["reachable"].astype(bool).to_numpy()
            mins = np.where(ok, p["minutes"].to_numpy(float), np.inf)
            # residents by minute, to a tenth of a minute (a few hundred steps instead of every small area)
            tenths = np.where(np.isfinite(mins), np.ceil(mins * 10 - 1e-9), np.inf)
            steps, where = np.unique(tenths, return_inverse=True)
            share = 100 * np.cumsum(np.bincount(where, weights=p["population"].to_numpy(float))) / p["population"].sum()
            finite = np.isfinite(steps)
            x, y = np.concatenate([[0.0], steps[finite] / 10]), np.concatenate([[0.0], share[finite]])
            for ax in axes:
                ax.step(x, y, where="post", label=run.name, linewidth=1.6, **_style(i))
        top = max(90.0, thresholds[-1] + 15)
        for ax, (ylo, title) in zip(axes, [(0, "All residents"), (95, "Close-up: the last 5%")], strict=True):
            ax.set_xlim(0, top)
            ax.set_ylim(ylo, 100.2)
            ax.set_xticks(np.arange(0, top + 1, 15))
            ax.grid(axis="y", color="#dddddd", linewidth=0.6)
            for t in thresholds:
                ax.axvline(t, color="#222222", linewidth=0.8, linestyle=(0, (2, 2)))
                ax.text(t + 0.8, ylo + (100 - ylo) * 0.03, f"{t:g} min", fontsize=7.5, color="#222222")
            ax.set_title(title, loc="left")
        fig.supxlabel(f"Minutes to the nearest open counter {_engine_words(runs[0].engine)}", fontsize=8.5)
        axes[0].set_ylabel("Residents who reach a counter in that time (%)")
        axes[0].legend(loc="center right", fontsize=7.5, handlelength=3)
        fig.subplots_adjust(left=0.08, right=0.99, bottom=0.16, top=0.9, wspace=0.2)
        return _svg_uri(fig)


def _borough_table(runs: list[RunOutputs], label: str) -> pd.DataFrame:
    wide = pd.concat(
        [r.boroughs[label].set_index("borough_name")["beyond"].rename(r.name) for r in runs], axis=1
    ).fillna(0)
    return wide.astype(np.int64)


def _chart_boroughs(runs: list[RunOutputs]) -> tuple[str, int]:
    """Residents beyond the primary threshold by borough, grouped bars (boroughs with any)."""
    label = runs[0].labels[0]
    wide = _borough_table(runs, label)
    wide = wide.loc[wide.max(axis=1) > 0]
    wide = wide.sort_values([runs[-1].name, *[r.name for r in runs[:-1]]], ascending=True, kind="stable")
    n = len(wide)
    with _mpl().rc_context(_RC):
        fig = _figure(7.0, min(9.6, 1.1 + n * (0.1 + 0.09 * len(runs))))
        ax = fig.add_axes((0.25, 0.055 if n > 10 else 0.12, 0.72, 0.9 if n > 10 else 0.8))
        k = len(runs)
        height = 0.8 / k
        y = np.arange(n)
        for i, run in enumerate(runs):
            offset = (k - 1 - i) * height - 0.4 + height / 2
            values = wide[run.name].to_numpy()
            ax.barh(
                y + offset,
                values,
                height=height,
                color=COLOURS[i % len(COLOURS)],
                hatch=HATCHES[i % len(HATCHES)],
                edgecolor="white" if i else "none",
                linewidth=0.3,
                label=run.name,
            )
            for yy, v in zip(y + offset, values, strict=True):
                if v:
                    ax.text(v, yy, f" {v:,}", va="center", fontsize=5.8, color="#222222")
        ax.set_yticks(y, wide.index)
        ax.set_ylim(-0.6, n - 0.4)
        ax.xaxis.set_major_formatter(_thousands())
        ax.set_xlabel(f"Residents more than {label} minutes from the nearest open counter")
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.margins(x=0.12)
        handles, names = ax.get_legend_handles_labels()
        ax.legend(handles, names, loc="lower right", fontsize=7.5)
        return _svg_uri(fig), n


def _equality(runs: list[RunOutputs]) -> dict | None:
    """The equality page: groups x scenarios (beyond, change, ratio), a chart and the plain-words headline."""
    table = equality_comparison(runs)  # type: ignore[arg-type]
    if table.empty:
        return None
    t0 = runs[0].labels[0]
    first = table.loc[table["threshold"] == t0]
    rows = []
    for _key, group in first.groupby("group", sort=False):
        cells = []
        for run in runs:
            r = group.loc[group["scenario"] == run.name]
            if r.empty:
                cells.append({"beyond": "", "change": "", "ratio": "not in this run"})
                continue
            r = r.iloc[0]
            cells.append(
                {
                    "beyond": _n(r.beyond),
                    "change": "" if run is runs[0] else _signed(r.change_beyond),
                    "ratio": r.ratio_note if pd.isna(r.ratio) else f"{r.ratio:.2f}",
                }
            )
        rows.append({"label": group["label"].iloc[0], "estimate": bool(group["estimate"].iloc[0]), "cells": cells})
    meta = runs[-1].equality
    return {
        "rows": rows,
        "chart": _chart_equality(first, runs),
        "headline": _equality_headline(first, runs[-1].name, t0),
        "note": meta.get("note", ""),
        "omitted": sorted(set((meta.get("omitted") or {}).values())),
        "omitted_groups": sorted(meta.get("omitted") or {}),
        "sources": sorted((meta.get("sources") or {}).values()),
    }


def _equality_headline(first: pd.DataFrame, name: str, t0: str) -> str:
    """One sentence on the group the last plan falls hardest on (or that it falls harder on none)."""
    last = first.loc[first["scenario"] == name].set_index("group")
    everyone = last.loc["all"]
    if not everyone["beyond"]:
        return f"Under {name} no resident lives more than {t0} minutes from an open counter."
    groups = last.drop(index="all").dropna(subset=["ratio"])
    if groups.empty or groups["ratio"].max() <= 1:
        return (
            f"Under {name} no group's share beyond {t0} minutes is larger than everyone's "
            f"({everyone['share_beyond']:.2f}%)."
        )
    top = groups.sort_values("ratio", ascending=False, kind="stable").iloc[0]
    return (
        f"Under {name} the plan falls hardest on residents {top['label'][0].lower() + top['label'][1:]}: "
        f"{top['share_beyond']:.2f}% of them live more than {t0} minutes from an open counter, against "
        f"{everyone['share_beyond']:.2f}% of all residents (disproportion ratio {top['ratio']:.2f})."
    )


def _chart_equality(first: pd.DataFrame, runs: list[RunOutputs]) -> str:
    """Each group's disproportion ratio per scenario, grouped bars, with 1 (no disproportion) marked."""
    labels = list(dict.fromkeys(first.loc[first["group"] != "all", "label"]))
    n, k = len(labels), len(runs)
    with _mpl().rc_context(_RC):
        fig = _figure(7.0, 1.0 + n * (0.12 + 0.1 * k))
        ax = fig.add_axes((0.38, 0.12, 0.58, 0.84))
        height = 0.8 / k
        y = np.arange(n)[::-1]
        for i, run in enumerate(runs):
            rows = first.loc[first["scenario"] == run.name].set_index("label")
            values = rows["ratio"].reindex(labels).to_numpy(float)
            offset = (k - 1 - i) * height - 0.4 + height / 2
            ax.barh(
                y + offset,
                np.nan_to_num(values),
                height=height,
                color=COLOURS[i % len(COLOURS)],
                hatch=HATCHES[i % len(HATCHES)],
                edgecolor="white" if i else "none",
                linewidth=0.3,
                label=run.name,
            )
        ax.axvline(1.0, color="#222222", linewidth=0.8, linestyle="--")
        ax.set_yticks(y, [textwrap.fill(label, 34) for label in labels], fontsize=7)
        ax.set_xlabel("Disproportion ratio: the group's share beyond / everyone's (1 = even)")
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
        ax.set_axisbelow(True)
        handles, names = ax.get_legend_handles_labels()
        ax.legend(handles, names, loc="lower right", fontsize=7.5)
        return _svg_uri(fig)


def _thousands():
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda v, _pos: f"{v:,.0f}")


def _worsening(first: RunOutputs, last: RunOutputs, top: int = 15) -> pd.DataFrame:
    label = first.labels[0]
    before = first.wards[label].set_index("ward_code")["mean_minutes"]
    table = last.wards[label].set_index("ward_code")
    labels = table[["ward_name", "borough_name", "population"]]
    return worsening_wards(labels, before, table["mean_minutes"], top=top)


def _chart_worsening(first: RunOutputs, last: RunOutputs, table: pd.DataFrame, after_colour: str) -> str:
    """The wards whose mean time worsens most, before and after (dumbbells)."""
    n = len(table)
    thresholds = [float(t) for t in first.labels]
    with _mpl().rc_context(_RC):
        h = 1.0 + 0.21 * max(n, 1)
        fig = _figure(7.0, h)
        ax = fig.add_axes((0.33, 0.45 / h, 0.64, 1 - 0.8 / h))
        y = np.arange(n)[::-1]
        ax.hlines(y, table["before"], table["after"], color="#888888", linewidth=1.2)
        ax.scatter(table["before"], y, s=26, color=COLOURS[0], marker="o", label=first.name, zorder=3)
        ax.scatter(
            table["after"], y, s=30, color=after_colour, marker="D", edgecolor="#222222", label=last.name, zorder=3
        )
        for t in thresholds:
            ax.axvline(t, color="#222222", linewidth=0.8, linestyle=(0, (2, 2)))
        ax.set_yticks(y, [f"{r.ward_name} ({r.borough_name})" for r in table.itertuples()])
        ax.set_xlim(0, max(thresholds[-1] + 10, float(table["after"].max()) + 5 if n else 0))
        ax.set_ylim(-0.7, n - 0.3)
        ax.set_xlabel("Population-weighted mean minutes to the nearest open counter")
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
        ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), fontsize=7.5, ncols=2)
        return _svg_uri(fig)


def _chart_critical(sweep: SweepOutputs, top: int = 15) -> str:
    table = sweep.critical.head(top)
    n = len(table)
    with _mpl().rc_context(_RC):
        fig = _figure(7.0, 0.8 + 0.2 * max(n, 1))
        h = 0.8 + 0.2 * max(n, 1)
        ax = fig.add_axes((0.22, 0.55 / h, 0.72, 1 - 0.7 / h))
        y = np.arange(n)[::-1]
        values = table["residents_losing_access"].to_numpy()
        ax.barh(y, values, color=COLOURS[0], height=0.65)
        for yy, v in zip(y, values, strict=True):
            ax.text(v, yy, f" {v:,}", va="center", fontsize=6.5)
        ax.set_yticks(y, table["name"].astype(str))
        ax.xaxis.set_major_formatter(_thousands())
        ax.margins(x=0.12)
        ax.set_xlabel("Residents who would lose access within the threshold if this counter alone closed")
        ax.grid(axis="x", color="#e5e5e5", linewidth=0.6)
        ax.set_axisbelow(True)
        return _svg_uri(fig)


def _chart_bus_speed(sweep: SweepOutputs, runs: list[RunOutputs]) -> str:
    grid = sweep.grid
    threshold = float(runs[0].labels[0])
    if "threshold" in grid.columns and (grid["threshold"] == threshold).any():
        grid = grid.loc[grid["threshold"] == threshold]
    names = [r.name for r in runs]
    plans = sorted(grid["plan"].unique(), key=lambda p: (names.index(p) if p in names else len(names), p))
    with _mpl().rc_context(_RC):
        fig = _figure(7.0, 3.0)
        ax = fig.add_axes((0.1, 0.17, 0.6, 0.75))
        for j, plan in enumerate(plans):
            i = names.index(plan) if plan in names else len(names) + j
            g = grid.loc[grid["plan"] == plan].groupby("param_bus_speed_kmh")["pct_within"].mean().sort_index()
            ax.plot(g.index, g.to_numpy(), marker="os^Dv<>p"[i % 8], label=plan, linewidth=1.6, **_style(i))
        default = _transit_default("bus_speed_kmh")
        if default is not None:
            ax.axvline(default, color="#888888", linewidth=0.8, linestyle=(0, (2, 2)))
            ax.text(default, ax.get_ylim()[1], " model default", fontsize=7, color="#555555", va="top")
        ax.set_xlabel("Average bus speed (km/h)")
        ax.set_ylabel(f"Residents within {threshold:g} min (%)")
        ax.grid(color="#e5e5e5", linewidth=0.6)
        ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=7.5)
        return _svg_uri(fig)


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
    from planner.travel import TransitParams

    return TransitParams.reasons().get(name, (None, ""))[0]


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
    import networkx as nx
    from matplotlib.lines import Line2D

    shapes = geo.get(run.ward_layer)
    hubs = run.hubs.copy()
    hubs["geometry"] = shapely.coverage_simplify(hubs.geometry.values, _MAP_SIMPLIFY_M)
    touching = gpd.sjoin(hubs[["hub_id", "geometry"]], hubs[["hub_id", "geometry"]], predicate="intersects")
    graph = nx.Graph()
    graph.add_nodes_from(hubs["hub_id"])
    graph.add_edges_from(
        (a, b) for a, b in zip(touching["hub_id_left"], touching["hub_id_right"], strict=True) if a != b
    )
    colours = nx.coloring.greedy_color(graph, strategy="largest_first")
    fill = [_HUB_PALETTE[colours[h] % len(_HUB_PALETTE)] for h in hubs["hub_id"]]
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


# --------------------------------------------------------------------------- methods, sources and tables


def _sources_table(runs: list[RunOutputs]) -> list[dict]:
    from planner.datasets import load_manifest

    try:
        known = {s.dest: s for s in load_manifest()}
    except PlannerError:
        known = {}
    rows: dict[str, dict] = {}
    for run in runs:
        for rel, sha in sorted(run.manifest["inputs"].items()):
            row = rows.setdefault(
                f"{rel}|{sha}",
                {"file": rel, "sha256": sha, "runs": []},
            )
            row["runs"].append(run.name)
            src = known.get(rel) or _sibling_source(rel, known)
            row.update(
                {
                    "name": src.name if src else "",
                    "date": getattr(src, "date", "") if src else "",
                    "licence": src.licence if src else "not in the source manifest",
                    "attribution": src.attribution if src else "",
                    "page": src.page if src else "",
                }
            )
    every = {r.name for r in runs}
    out = []
    for row in rows.values():
        row["used_by"] = "all" if set(row["runs"]) == every else ", ".join(row["runs"])
        out.append(row)
    return out


def _sibling_source(rel: str, known: dict) -> object | None:
    """A source of the same folder and file family (``tube_connections.csv`` → ``tube_stations.csv``)."""
    folder, _, name = rel.rpartition("/")
    family = name.split("_")[0]
    for dest, src in sorted(known.items()):
        d_folder, _, d_name = dest.rpartition("/")
        if d_folder == folder and d_name.split("_")[0] == family and len(family) > 2:
            return src
    return None


def _engine_rows(engine: dict) -> list[dict]:
    reasons: dict[str, tuple[float, str]] = {}
    if engine.get("engine") == "transit":
        from planner.travel import TransitParams

        reasons = TransitParams.reasons()
    elif engine.get("engine") == "transit-simple":
        from planner.travel import SimpleTransitParams

        reasons = SimpleTransitParams.reasons()
    rows = []
    for key, value in engine.items():
        if key in ("engine", "calibration") or isinstance(value, dict | list):
            continue
        default, why = reasons.get(key, (None, ""))
        changed = default is not None and value != default
        text = f"{value:g}" if isinstance(value, float | int) and not isinstance(value, bool) else str(value)
        default_text = (
            f"{default:g}" if isinstance(default, float | int) and not isinstance(default, bool) else str(default)
        )
        rows.append(
            {
                "name": key,
                "value": text,
                "why": why,
                "changed": changed,
                "default": default,
                "default_text": default_text,
            }
        )
    return rows


def _timetabled(engine: dict) -> dict[str, str]:
    """Per timetabled mode of a transit run, what was read (its source), or "" when it was off or missing."""
    data = engine.get("timetabled_data")
    data = data if isinstance(data, dict) else {}
    return {
        mode: str(value.get("source", "")) if isinstance(value, dict) else ""
        for mode, value in ((m, data.get(m)) for m in ("national_rail", "trams"))
    }


def _calibration(run: RunOutputs) -> dict | None:
    cal = run.engine.get("calibration")
    engine = run.summary.get("engine")
    if cal is None and isinstance(engine, dict):
        cal = engine.get("calibration")
    return cal if isinstance(cal, dict) and cal else None


def _flatten(data: dict, prefix: str = "") -> list[tuple[str, str]]:
    out = []
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out += _flatten(value, f"{name} · ")
        elif isinstance(value, float):
            out.append((name, f"{value:,.3g}" if abs(value) < 1000 else f"{value:,.0f}"))
        elif isinstance(value, list):
            out.append((name, ", ".join(map(str, value))))
        else:
            out.append((name, str(value)))
    return out


def _borough_appendix(runs: list[RunOutputs]) -> dict:
    labels = runs[0].labels
    names = sorted(set().union(*[set(r.boroughs[labels[0]]["borough_name"]) for r in runs]))
    rows = []
    for b in names:
        cells = []
        for run in runs:
            for t in labels:
                table = run.boroughs[t].set_index("borough_name")
                value = table.at[b, "beyond"] if b in table.index else None
                cells.append({"text": "" if value is None else _n(value), "zero": value == 0})
        first = runs[-1].boroughs[labels[0]].set_index("borough_name")
        pop = first.at[b, "population"] if b in first.index else 0
        mean = first.at[b, "mean_minutes"] if b in first.index else np.nan
        all_day = b not in set(runs[-1].summary["boroughs_without_24_7"])
        rows.append({"name": b, "population": _n(pop), "cells": cells, "mean": f"{mean:.1f}", "all_day": all_day})
    totals = []
    for run in runs:
        for t in labels:
            totals.append(_n(run.summary["london"][t]["beyond"]))
    return {"labels": labels, "rows": rows, "totals": totals, "flagged": any(not r["all_day"] for r in rows)}


def _slowest_wards(runs: list[RunOutputs], top: int = 25) -> list[dict]:
    label = runs[0].labels[0]
    last = runs[-1].wards[label]
    table = last.dropna(subset=["mean_minutes"]).sort_values(["mean_minutes", "ward_code"], ascending=[False, True])
    firsts = runs[0].wards[label].set_index("ward_code")["mean_minutes"]
    rows = []
    for r in table.head(top).itertuples():
        before = firsts.get(r.ward_code, np.nan)
        rows.append(
            {
                "ward": r.ward_name,
                "borough": r.borough_name,
                "population": _n(r.population),
                "before": "" if pd.isna(before) else f"{before:.1f}",
                "after": f"{r.mean_minutes:.1f}",
                "beyond": _n(r.beyond),
                "nearest": str(r.nearest_station) if isinstance(r.nearest_station, str) else "",
            }
        )
    return rows


# --------------------------------------------------------------------------- HTML and PDF


@lru_cache(maxsize=1)
def _font_faces() -> str:
    """DejaVu Sans (from matplotlib) subset to the characters a report uses, as @font-face data URIs."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)

    base = Path(_mpl().get_data_path()) / "fonts" / "ttf"
    chars = "".join(chr(c) for c in range(0x20, 0x7F)) + "£€©®°±·–—‘’“”…→←↑↓−×≤≥≈•½¼¾²³µ%‰éèêëáàâäóòôöúùûüíìîïçñ'’ "
    css = []
    for weight, name in (("400", "DejaVuSans.ttf"), ("700", "DejaVuSans-Bold.ttf")):
        font = TTFont(base / name, lazy=True)
        options = subset.Options()
        options.name_IDs = ["*"]
        options.notdef_outline = True
        options.glyph_names = False
        options.recalc_timestamp = False
        options.hinting = False
        options.layout_features = []
        options.drop_tables += ["FFTM", "GPOS", "GSUB", "GDEF", "kern"]
        sub = subset.Subsetter(options)
        sub.populate(text=chars)
        sub.subset(font)
        buf = io.BytesIO()
        font.save(buf)
        data = base64.b64encode(buf.getvalue()).decode()
        css.append(
            "@font-face{font-family:'Report Sans';font-style:normal;font-weight:"
            f"{weight};src:url(data:font/ttf;base64,{data}) format('truetype');}}"
        )
    return "\n".join(css)


def _report_date() -> str:
    day = output_time()
    return f"{day.day} {day:%B %Y}"


def render_html(
    run_dirs: Sequence[str | os.PathLike[str]] | None = None,
    *,
    runs: list[RunOutputs] | None = None,
    sweeps: Sequence[str | os.PathLike[str]] = (),
    title: str | None = None,
    allow_mixed: bool = False,
) -> str:
    """The report as one self-contained HTML page.

    Parameters
    ----------
    run_dirs
        Run folders; the first is the reference for every change.
    runs
        Already read runs (instead of ``run_dirs``).
    sweeps
        Sweep folders (``planner sweep``): a marginal or pairs sweep adds the
        critical counters, a grid over ``--bus-speed`` adds coverage against bus speed.
    title
        The cover title.
    allow_mixed
        Report runs made from different data, demand years or engines, stating the differences on the first
        page, instead of refusing them (see :func:`planner.runfolder.check_run_set`).

    Returns
    -------
    str
        The HTML text; the same inputs give the same text.
    """
    import jinja2

    if runs is None:
        runs = [read_run_outputs(d) for d in run_dirs or []]
    differences = _check_runs(runs, allow_mixed=allow_mixed)
    sweep_data = [read_sweep(s) for s in sweeps]
    _check_sweeps(sweep_data, runs)
    first, last = runs[0], runs[-1]
    geo = _Geo()
    figures = [_scenario_figures(r, first) for r in runs]
    worsening = _worsening(first, last) if len(runs) > 1 else None
    borough_chart, n_boroughs = _chart_boroughs(runs)
    critical = [s for s in sweep_data if s.critical is not None]
    grids = [s for s in sweep_data if s.grid is not None]
    hub_run = next((r for r in reversed(runs) if r.hubs is not None), None)
    engines = []
    seen = set()
    for run in runs:
        key = json.dumps({k: v for k, v in run.engine.items() if k != "calibration"}, sort_keys=True)
        if key in seen:
            for e in engines:
                if e["key"] == key:
                    e["runs"].append(run.name)
            continue
        seen.add(key)
        cal = _calibration(run)
        engines.append(
            {
                "key": key,
                "name": run.engine.get("engine", "unknown"),
                "words": _engine_words(run.engine),
                "rows": _engine_rows(run.engine),
                "calibration": _flatten(cal) if cal else None,
                "timetabled": _timetabled(run.engine),
                "runs": [run.name],
            }
        )
    context = {
        "title": title or "Police front counters: scenario report",
        "date": _report_date(),
        "fonts": _font_faces(),
        "css": files("planner._report").joinpath("report.css").read_text(encoding="utf-8"),
        "runs": runs,
        "first": first,
        "last": last,
        "labels": first.labels,
        "t0": first.labels[0],
        "figures": figures,
        "summary_table": _summary_table(runs),
        "colours": [COLOURS[i % len(COLOURS)] for i in range(len(runs))],
        "words": _shared_words(runs),
        "years": _years(runs),
        "differences": differences,
        "chart_cumulative": _chart_cumulative(runs),
        "chart_boroughs": borough_chart,
        "n_boroughs": n_boroughs,
        "worsening": worsening,
        "chart_worsening": _chart_worsening(first, last, worsening, COLOURS[(len(runs) - 1) % len(COLOURS)])
        if worsening is not None
        else None,
        "maps": [_map_scenario(r, first, geo) for r in runs],
        "map_change": _map_change(first, last, geo) if len(runs) > 1 else None,
        "change_counts": _change_counts(first, last)[1] if len(runs) > 1 else [],
        "hub_run": hub_run,
        "map_hubs": _map_hubs(hub_run, geo) if hub_run is not None else None,
        "critical": [
            {
                "folder": s.folder.name,
                "chart": _chart_critical(s),
                "kind": s.kind,
                "plan": s.plan,
                "threshold": f"{s.threshold:g}" if s.threshold else first.labels[0],
            }
            for s in critical
        ],
        "grids": [{"folder": s.folder.name, "chart": _chart_bus_speed(s, runs), "plan": s.plan} for s in grids],
        "engines": engines,
        "sources": _sources_table(runs),
        "attribution": ATTRIBUTION,
        "boroughs": _borough_appendix(runs),
        "slowest": _slowest_wards(runs),
        "equality": _equality(runs),
        "versions": sorted({str(r.manifest.get("planner_version")) for r in runs}),
        "n": _n,
    }
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("planner", "_report"),
        autoescape=jinja2.select_autoescape(["html", "j2"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    html = env.get_template("report.html.j2").render(**context)
    leftover = re.findall(r'<(?:script|img|link|iframe)[^>]*\s(?:src|href)="(?!data:)[^"#]+"', html)
    if leftover:
        raise ReportError(f"the report would load {leftover[:3]} from outside the page")
    return html


def chromium_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The Chromium that prints the PDF: ``path``, else ``$PLANNER_CHROMIUM``, else ``/usr/bin/chromium``.

    Parameters
    ----------
    path
        A Chromium executable, if given.
    """
    found = Path(path or os.environ.get("PLANNER_CHROMIUM") or "/usr/bin/chromium")
    if not found.is_file():
        raise ReportError(
            f"Chromium not found at {found}: install the Debian package chromium, set PLANNER_CHROMIUM, "
            "or write the HTML only (`pdf` off)"
        )
    return found


_FOOTER = (
    '<div style="font-size:7px;width:100%;text-align:center;color:#666;font-family:sans-serif">'
    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
)


class _Printer:
    """Headless Chromium in a thread of its own, so that it starts while the report is being drawn.

    Every Playwright call happens in that thread; :meth:`print` hands it a job and waits.
    """

    def __init__(self, exe: Path) -> None:
        self.exe = exe
        self._jobs: queue.Queue = queue.Queue()
        self._done: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._serve, name="planner-report-pdf", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=str(self.exe),
                    args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
                )
                try:
                    while (job := self._jobs.get()) is not None:
                        try:
                            self._print(browser, *job)
                            self._done.put(None)
                        except Exception as exc:  # handed to the caller's thread
                            self._done.put(exc)
                finally:
                    browser.close()
        except Exception as exc:  # launch failed: answer every job with the error
            self._done.put(exc)
            while self._jobs.get() is not None:
                self._done.put(exc)

    @staticmethod
    def _print(browser: object, html: Path, pdf: Path) -> None:
        context = browser.new_context()  # type: ignore[attr-defined]
        try:
            context.set_offline(True)
            context.route(re.compile(r"^(https?|wss?)://"), lambda route: route.abort())
            page = context.new_page()
            page.goto(html.as_uri(), wait_until="load")
            page.evaluate("document.fonts.ready")
            tmp = pdf.with_name(f".{pdf.name}.tmp")
            page.pdf(
                path=str(tmp),
                format="A4",
                print_background=True,
                prefer_css_page_size=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=_FOOTER,
                margin={"top": "14mm", "bottom": "14mm", "left": "14mm", "right": "14mm"},
            )
            _pin_pdf_dates(tmp)
            os.replace(tmp, pdf)
        finally:
            context.close()

    def print(self, html: Path, pdf: Path) -> Path:
        self._jobs.put((Path(html).resolve(), Path(pdf)))
        exc = self._done.get()
        if exc is not None:
            raise ReportError(f"Chromium ({self.exe}) could not print {html}: {exc}") from exc
        return Path(pdf)

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=60)


_PDF_DATE = re.compile(rb"/(CreationDate|ModDate) \(D:\d{14}[+-]\d{2}'\d{2}'\)")


def _pin_pdf_dates(path: Path) -> None:
    """Chromium stamps the PDF with the time it printed: put the output time there instead (``SOURCE_DATE_EPOCH``
    when set), so the same inputs give a byte-identical PDF.  The stamps keep their length, so no offset moves."""
    stamp = output_time().strftime("D:%Y%m%d%H%M%S+00'00'").encode()
    data = path.read_bytes()
    pinned = _PDF_DATE.sub(lambda m: b"/" + m.group(1) + b" (" + stamp + b")", data)
    if len(pinned) != len(data):
        raise ReportError(f"{path}: the PDF's date stamps are not in the expected form; nothing was changed")
    path.write_bytes(pinned)


def print_pdf(
    html: str | os.PathLike[str], pdf: str | os.PathLike[str], *, chromium: str | os.PathLike[str] | None = None
) -> Path:
    """Print an HTML file to an A4 PDF with headless Chromium, with every network request blocked.

    Parameters
    ----------
    html
        The HTML file.
    pdf
        The PDF file to write.
    chromium
        The Chromium executable (see :func:`chromium_path`).

    Returns
    -------
    Path
        The PDF.
    """
    printer = _Printer(chromium_path(chromium))
    try:
        return printer.print(Path(html), Path(pdf))
    finally:
        printer.close()


@dataclass(frozen=True)
class Report:
    """What :func:`write_report` wrote.

    Attributes
    ----------
    html
        ``report.html``.
    pdf
        ``report.pdf`` (None with ``pdf=False``).
    pages
        The pages the HTML lays out (one per ``section.page``); the PDF has as many.
    """

    html: Path
    pdf: Path | None
    pages: int


def write_report(
    run_dirs: Sequence[str | os.PathLike[str]],
    *,
    out: str | os.PathLike[str],
    sweeps: Sequence[str | os.PathLike[str]] = (),
    pdf: bool = True,
    chromium: str | os.PathLike[str] | None = None,
    title: str | None = None,
    allow_mixed: bool = False,
) -> Report:
    """Write ``report.html`` and ``report.pdf`` for run folders.

    Parameters
    ----------
    run_dirs
        Run folders written by ``planner run``; the first is the reference.
    out
        The folder to write to.
    sweeps
        Sweep folders to include (critical counters; coverage against bus speed).
    pdf
        Also print the PDF with headless Chromium.
    chromium
        Chromium executable (default ``$PLANNER_CHROMIUM`` or ``/usr/bin/chromium``).
    title
        The cover title.
    allow_mixed
        Report runs that differ in data, demand year or engine, stating how (see :func:`render_html`).

    Returns
    -------
    Report
        The files written.
    """
    runs = [read_run_outputs(d) for d in run_dirs]
    _check_runs(runs, allow_mixed=allow_mixed)  # before Chromium starts
    printer = _Printer(chromium_path(chromium)) if pdf else None  # starts while the report is drawn
    try:
        html = render_html(runs=runs, sweeps=sweeps, title=title, allow_mixed=allow_mixed)
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "report.html"
        tmp = folder / ".report.html.tmp"
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, target)
        written = printer.print(target, folder / "report.pdf") if printer else None
    finally:
        if printer is not None:
            printer.close()
    logger.info("wrote %s (%.1f MB)", target, target.stat().st_size / 1e6)
    return Report(target, written, html.count('<section class="page'))
