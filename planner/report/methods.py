"""The report's methods and appendix: sources, engine parameters, calibration, borough and ward tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.datasets import load_manifest
from planner.errors import PlannerError
from planner.report.figures import _n
from planner.runfolder import RunOutputs
from planner.travel import REGISTRY


def _sources_table(runs: list[RunOutputs]) -> list[dict]:
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
    info = REGISTRY.get(engine.get("engine", ""))
    reasons = info.reasons() if info is not None else {}
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
