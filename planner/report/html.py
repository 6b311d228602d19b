"""The report's HTML page: every section rendered from the run folders into one self-contained file."""

from __future__ import annotations

import base64
import io
import json
import logging
import os
import re
from collections.abc import Sequence
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import jinja2

from planner.clock import output_time
from planner.credits import report_attribution
from planner.errors import ReportError
from planner.report.charts import (
    _chart_boroughs,
    _chart_bus_speed,
    _chart_critical,
    _chart_cumulative,
    _chart_worsening,
    _equality,
    _worsening,
)
from planner.report.figures import _n, _scenario_figures, _shared_words, _summary_table, _years
from planner.report.methods import (
    _borough_appendix,
    _calibration,
    _engine_rows,
    _flatten,
    _slowest_wards,
    _sources_table,
    _timetabled,
)
from planner.report.static_maps import _change_counts, _Geo, _map_change, _map_hubs, _map_scenario
from planner.report.style import COLOURS, _mpl
from planner.runfolder import RunOutputs, SweepOutputs, check_run_outputs, check_sweeps, read_run_outputs, read_sweep
from planner.travel import engine_words


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
    if runs is None:
        runs = [read_run_outputs(d) for d in run_dirs or []]
    differences = check_run_outputs(runs, allow_mixed=allow_mixed)
    sweep_data = [read_sweep(s) for s in sweeps]
    check_sweeps(sweep_data, runs)
    first, last = runs[0], runs[-1]
    geo = _Geo()
    figures = [_scenario_figures(r, first) for r in runs]
    worsening = _worsening(first, last) if len(runs) > 1 else None
    borough_chart, n_boroughs = _chart_boroughs(runs)
    critical = [s for s in sweep_data if s.critical is not None]
    grids = [s for s in sweep_data if s.grid is not None]
    hub_run = next((r for r in reversed(runs) if r.hubs is not None), None)
    engines = _engines(runs)
    context = {
        **_page(title),
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
        "critical": [_critical_entry(s, first) for s in critical],
        "grids": [{"folder": s.folder.name, "chart": _chart_bus_speed(s, runs), "plan": s.plan} for s in grids],
        "engines": engines,
        "sources": _sources_table(runs),
        "attribution": report_attribution(),
        "boroughs": _borough_appendix(runs),
        "slowest": _slowest_wards(runs),
        "equality": _equality(runs),
        "versions": sorted({str(r.manifest.get("planner_version")) for r in runs}),
        "n": _n,
    }
    return _render(context)


def _page(title: str | None) -> dict:
    """The cover title and date, the embedded fonts and the stylesheet."""
    return {
        "title": title or "Police front counters: scenario report",
        "date": _report_date(),
        "fonts": _font_faces(),
        "css": files("planner._report").joinpath("report.css").read_text(encoding="utf-8"),
    }


def _engines(runs: list[RunOutputs]) -> list[dict]:
    """One methods entry per distinct engine setting, naming the runs that used it."""
    engines: list[dict] = []
    for run in runs:
        key = json.dumps({k: v for k, v in run.engine.items() if k != "calibration"}, sort_keys=True)
        same = next((e for e in engines if e["key"] == key), None)
        if same is not None:
            same["runs"].append(run.name)
            continue
        cal = _calibration(run)
        engines.append(
            {
                "key": key,
                "name": run.engine.get("engine", "unknown"),
                "words": engine_words(run.engine),
                "rows": _engine_rows(run.engine),
                "calibration": _flatten(cal) if cal else None,
                "timetabled": _timetabled(run.engine),
                "runs": [run.name],
            }
        )
    return engines


def _critical_entry(sweep: SweepOutputs, first: RunOutputs) -> dict:
    """A closure sweep's section: its chart of the counters whose closure costs most."""
    return {
        "folder": sweep.folder.name,
        "chart": _chart_critical(sweep),
        "kind": sweep.kind,
        "plan": sweep.plan,
        "threshold": f"{sweep.threshold:g}" if sweep.threshold else first.labels[0],
    }


def _render(context: dict) -> str:
    """The page from ``_report/report.html.j2``, refused if it would load anything from outside itself."""
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
