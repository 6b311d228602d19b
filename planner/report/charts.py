"""The report's charts (matplotlib SVGs): cumulative coverage, boroughs, groups, wards, sweeps."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd

from planner.compare import equality_comparison, worsening_wards
from planner.report.figures import _n, _signed
from planner.report.static_maps import _transit_default
from planner.report.style import _RC, COLOURS, HATCHES, _figure, _mpl, _style, _svg_uri, _thousands
from planner.runfolder import RunOutputs, SweepOutputs
from planner.travel import engine_words


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
        fig.supxlabel(f"Minutes to the nearest open counter {engine_words(runs[0].engine)}", fontsize=8.5)
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
