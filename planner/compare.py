"""Side-by-side comparison of scenario runs."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from planner.equality import GROUPS
from planner.errors import DataError, OptionError
from planner.io import write_csv
from planner.runfolder import RunIdentity, ScenarioRun, check_run_set, read_manifest
from planner.scenario import closure_savings
from planner.stats import access_figures, check_threshold

__all__ = ["Comparison", "compare_runs", "equality_comparison", "worsening_wards"]


@dataclass(frozen=True)
class Comparison:
    """A comparison of runs, the first being the reference.

    Attributes
    ----------
    london
        One row per scenario: counters open and 24/7, boroughs without a
        24/7 counter, residents beyond each threshold and % within, mean and
        95th-percentile minutes, residents aged 65+ beyond the first
        threshold, counters closed against the reference with their known
        daily crime reports and annual savings.
    boroughs
        The same per borough and scenario.
    wards
        For each scenario after the first: the wards whose population-weighted
        time worsens most against the reference.
    differences
        How the runs differ in data, demand year or engine (with ``allow_mixed``).
    equality
        One row per scenario, threshold and resident group (London): ``residents``,
        ``beyond``, ``share_beyond`` (%), ``change_beyond`` (against the reference),
        ``ratio`` (the group's share beyond over everyone's; see
        :func:`planner.equality.disproportion`) and ``ratio_note``.
    """

    london: pd.DataFrame
    boroughs: pd.DataFrame
    wards: pd.DataFrame
    thresholds: tuple[float, ...]
    differences: tuple[str, ...] = ()
    equality: pd.DataFrame = field(default_factory=pd.DataFrame)

    def write(self, out_dir: str | os.PathLike[str]) -> list[Path]:
        """Write CSV tables and a Markdown report."""
        out = Path(out_dir)
        files = [
            write_csv(self.london, out / "compare.csv"),
            write_csv(self.boroughs, out / "compare_boroughs.csv"),
            write_csv(self.wards, out / "compare_wards.csv"),
            write_csv(self.equality, out / "compare_equality.csv"),
        ]
        md = out / "compare.md"
        md.write_text(self.markdown())
        return [*files, md]

    def markdown(self) -> str:
        """The comparison as a Markdown report."""
        t0 = self.thresholds[0]
        lines = ["# Scenario comparison", "", f"Reference: **{self.london['scenario'].iloc[0]}**.", ""]
        if self.differences:
            lines += ["**These runs differ in more than the plan:**", "", *[f"- {d}" for d in self.differences], ""]
        cols = ["scenario", "engine", "counters_open", "counters_24_7", "boroughs_without_24_7"]
        for t in self.thresholds:
            cols += [f"beyond_{t:g}", f"pct_within_{t:g}"]
        cols += [
            "mean_minutes",
            "p95_minutes",
            f"beyond_65_plus_{t0:g}",
            "counters_closed",
            "crimes_per_day_at_closed",
            "annual_savings",
        ]
        lines += _md_table(self.london[cols])
        for r in self.london.itertuples():
            if r.boroughs_without_24_7_names:
                lines.append(f"- {r.scenario}: boroughs without a 24/7 counter: {r.boroughs_without_24_7_names}")
            if r.counters_closed:
                why = r.savings_unknown_why
                saved = f"unknown ({why})" if pd.isna(r.annual_savings) else f"{r.annual_savings:,.0f}"
                lines.append(
                    f"- {r.scenario}: crime reports per day known for {r.crimes_known} of "
                    f"{r.counters_closed} closed counters; net annual savings {saved}."
                )
        lines += ["", "## By borough", ""]
        wide = self.boroughs.pivot(index="borough_name", columns="scenario", values=f"beyond_{t0:g}")
        wide = wide[list(self.london["scenario"])].reset_index()
        lines += [f"Residents beyond {t0:g} minutes:", "", *_md_table(wide)]
        lines += _equality_md(self.equality, t0)
        lines += ["", "## Wards whose time worsens most", ""]
        lines += _md_table(self.wards.head(60)) if len(self.wards) else ["(no change)"]
        return "\n".join(lines) + "\n"


def _equality_md(table: pd.DataFrame, t0: float) -> list[str]:
    """Residents beyond the first threshold by group, with the disproportion ratio, per scenario."""
    if table.empty:
        return []
    first = table.loc[table["threshold"] == f"{t0:g}"]
    cells = first.assign(
        cell=[
            f"{b:,.0f} ({r:.2f})" if not pd.isna(r) else f"{b:,.0f} ({n})"
            for b, r, n in zip(first["beyond"], first["ratio"], first["ratio_note"], strict=True)
        ]
    )
    wide = cells.pivot(index="label", columns="scenario", values="cell")
    order = list(dict.fromkeys(first["label"]))
    wide = wide.loc[order, list(dict.fromkeys(first["scenario"]))].reset_index().rename(columns={"label": "group"})
    estimates = sorted(set(first.loc[first["estimate"].astype(bool), "label"]))
    return [
        "",
        f"## Who is beyond {t0:g} minutes",
        "",
        "Residents beyond, and in brackets the disproportion ratio: the group's share beyond divided by "
        "everyone's (above 1, the plan falls harder on the group).",
        "",
        *_md_table(wide),
        f"Estimated from Census 2011 shares applied to the demand year's population: {', '.join(estimates)}."
        if estimates
        else "",
    ]


def _md_table(frame: pd.DataFrame) -> list[str]:
    def fmt(v: object) -> str:
        if isinstance(v, float | np.floating):
            return "" if np.isnan(v) else f"{v:,.1f}"
        if isinstance(v, int | np.integer):
            return f"{v:,}"
        return str(v)

    head = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = ["| " + " | ".join(fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return [head, rule, *rows, ""]


def run_figures(points: pd.DataFrame, thresholds: tuple[float, ...]) -> dict[str, float]:
    args = {
        "minutes": points["minutes"].to_numpy(float),
        "population": points["population"].to_numpy(float),
        "pop_65_plus": points["pop_65_plus"].to_numpy(float),
        "reachable": points["reachable"].to_numpy(bool),
    }
    first = access_figures(**args, threshold=thresholds[0])
    out: dict[str, float] = {"population": first["population"]}
    for t in thresholds:
        fig = first if t == thresholds[0] else access_figures(**args, threshold=t)
        out[f"beyond_{t:g}"] = fig["beyond"]
        out[f"pct_within_{t:g}"] = fig["pct_within"]
    out["mean_minutes"] = first["mean_minutes"]
    out["p95_minutes"] = first["p95_minutes"]
    out[f"beyond_65_plus_{thresholds[0]:g}"] = first["beyond_65_plus"]
    return out


def _check_arguments(runs: list[ScenarioRun], top: int) -> None:
    if not runs:
        raise DataError("nothing to compare: give at least one run")
    if not all(isinstance(r, ScenarioRun) for r in runs):
        raise OptionError("`runs` must be ScenarioRun objects: read run folders with `planner.load_run(folder)` first")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise OptionError(f"`top` must be a whole number of wards, at least 1 (got {top!r})")


def _thresholds(runs: list[ScenarioRun], thresholds: tuple[float, ...] | None) -> tuple[float, ...]:
    """The minutes to compare at: those given, else the runs' own (which must then be the same)."""
    if thresholds is not None and (isinstance(thresholds, str) or not hasattr(thresholds, "__iter__")):
        raise OptionError(f"`thresholds` must be a list of minutes, e.g. (45, 60) (got {thresholds!r})")
    if thresholds is not None and not len(thresholds):
        raise OptionError("`thresholds` is empty: give at least one, e.g. (45,)")
    if thresholds is None:
        thresholds = tuple(runs[0].scenario.thresholds)
        other = next((r for r in runs[1:] if tuple(r.scenario.thresholds) != thresholds), None)
        if other is not None:
            raise DataError(
                f"runs have different thresholds: {runs[0].name} has {[f'{t:g}' for t in thresholds]} minutes, "
                f"{other.name} has {[f'{t:g}' for t in other.scenario.thresholds]}; compare runs made at the same "
                "`thresholds`, or pass `thresholds` to compare them at the same minutes"
            )
    return tuple(check_threshold(t, what="`thresholds`") for t in thresholds)


def compare_runs(
    runs: list[ScenarioRun],
    *,
    thresholds: tuple[float, ...] | None = None,
    top: int = 20,
    allow_mixed: bool = False,
) -> Comparison:
    """Compare runs side by side; the first is the reference.

    Parameters
    ----------
    runs
        Scenario runs (in memory or from :func:`planner.run.load_run`).
    thresholds
        Minutes; figures are given for each (default: the runs' own thresholds, which must then be the same).
    top
        Wards listed per scenario in the worsening table.
    allow_mixed
        Compare runs made from different input files, demand years or
        engines, stating the differences in :attr:`Comparison.differences`,
        instead of refusing them (see :func:`planner.runfolder.check_run_set`).

    Returns
    -------
    Comparison
        London, borough and ward tables.
    """
    _check_arguments(runs, top)
    thresholds = _thresholds(runs, thresholds)
    differences = check_run_set([_identity(r) for r in runs], allow_mixed=allow_mixed)
    ref = runs[0]
    ref_ids = set(ref.counters["station_id"])
    boroughs = ref.boroughs
    rows, brows, wrows = [], [], []
    for run in runs:
        c = run.counters
        all_day = c.loc[c["open_24_7"].astype(bool)]
        without = sorted(set(boroughs["borough_code"]) - set(all_day["borough_code"]))
        names = dict(zip(boroughs["borough_code"], boroughs["borough_name"], strict=True))
        closed = sorted(ref_ids - set(c["station_id"]))
        closed_rows = ref.counters.loc[ref.counters["station_id"].isin(closed)]
        known = "daily_crimes_reported_2017" in closed_rows.columns  # a stations file of its own may lack it
        crimes = pd.to_numeric(closed_rows["daily_crimes_reported_2017"], errors="coerce") if known else None
        opened = sorted(set(c["station_id"]) - ref_ids)
        costs = run.scenario.costs or ref.scenario.costs
        savings, unknown = closure_savings(closed, costs, opened=opened, reference=ref.scenario.costs)
        row = {
            "scenario": run.name,
            "engine": run.engine_label,
            "counters_open": len(c),
            "counters_24_7": len(all_day),
            "boroughs_without_24_7": len(without),
            "boroughs_without_24_7_names": "; ".join(names[b] for b in without),
            **run_figures(run.points, thresholds),
            "counters_closed": len(closed),
            "counters_closed_ids": ";".join(closed),
            "crimes_per_day_at_closed": _crimes(crimes, closed),
            "crimes_known": int(crimes.notna().sum()) if crimes is not None else 0,
            "annual_savings": savings,
            "savings_unknown_why": unknown,
        }
        rows.append(row)
        for (code, name), group in run.points.groupby(["borough_code", "borough_name"]):
            bc = c.loc[c["borough_code"] == code]
            brows.append(
                {
                    "scenario": run.name,
                    "borough_code": code,
                    "borough_name": name,
                    "counters_open": len(bc),
                    "counters_24_7": int(bc["open_24_7"].astype(bool).sum()),
                    **run_figures(group, thresholds),
                }
            )
        if run is not ref:
            wrows.append(_worsening(ref, run, top))
    wards = pd.concat(wrows, ignore_index=True) if wrows else pd.DataFrame()
    equality = equality_comparison(runs)
    return Comparison(pd.DataFrame(rows), pd.DataFrame(brows), wards, tuple(thresholds), tuple(differences), equality)


_GROUP_ORDER = {g.key: i for i, g in enumerate(GROUPS)}


def equality_comparison(runs: list[ScenarioRun]) -> pd.DataFrame:
    """Each run's London equality figures (``summary.json``'s ``equality``), with the change against the first.

    Parameters
    ----------
    runs
        The runs, the reference first; runs written before the equality view give no rows.

    Returns
    -------
    pandas.DataFrame
        See :attr:`Comparison.equality`.
    """
    rows = []
    for run in runs:
        for label, groups in (run.equality.get("thresholds") or {}).items():
            for key, fig in sorted(groups.items(), key=lambda item: _GROUP_ORDER.get(item[0], len(_GROUP_ORDER))):
                rows.append(
                    {
                        "scenario": run.name,
                        "threshold": label,
                        "group": key,
                        "label": fig["label"],
                        "estimate": fig["estimate"],
                        "residents": fig["residents"],
                        "beyond": fig["beyond"],
                        "share_beyond": np.nan if fig["share_beyond"] is None else fig["share_beyond"],
                        "ratio": np.nan if fig["ratio"] is None else fig["ratio"],
                        "ratio_note": fig["ratio_note"],
                    }
                )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    ref = table.loc[table["scenario"] == runs[0].name].set_index(["threshold", "group"])["beyond"]
    keys = pd.MultiIndex.from_frame(table[["threshold", "group"]])
    table.insert(7, "change_beyond", table["beyond"].to_numpy() - ref.reindex(keys).to_numpy())
    return table


def _identity(run: ScenarioRun) -> RunIdentity:
    """Where a run's figures come from: its manifest once written, else its scenario and engine."""
    if run.out_dir is not None and (run.out_dir / "manifest.json").is_file():
        return RunIdentity.from_manifest(run.out_dir, read_manifest(run.out_dir)[1])
    meta = {"parameters": run.scenario.model_dump(mode="json"), "engine": run.engine, "inputs": {}}
    return RunIdentity.from_manifest(Path(run.name), meta)


def _ward_minutes(run: ScenarioRun) -> pd.Series:
    p = run.points.loc[run.points["reachable"].astype(bool)]
    pm = (p["minutes"] * p["population"]).groupby(p["ward_code"]).sum()
    return pm / p.groupby("ward_code")["population"].sum().replace(0, np.nan)


def _worsening(ref: ScenarioRun, run: ScenarioRun, top: int) -> pd.DataFrame:
    labels = run.wards.set_index("ward_code")[["ward_name", "borough_name", "population"]]
    table = worsening_wards(labels, _ward_minutes(ref), _ward_minutes(run), top=top)
    table = table.rename(columns={"before": "minutes_before", "after": "minutes_after"})
    table.insert(1, "scenario", run.name)
    table.insert(2, "reference", ref.name)
    return table


def worsening_wards(wards: pd.DataFrame, before: pd.Series, after: pd.Series, *, top: int) -> pd.DataFrame:
    """The wards whose mean minutes rise most between two plans; wards that do not worsen are left out.

    Parameters
    ----------
    wards
        Ward labels (``ward_name``, ``borough_name``, ...) indexed by ``ward_code``.
    before, after
        Population-weighted mean minutes per ward code.
    top
        At most this many wards, the largest rise first (ties by ward code).

    Returns
    -------
    pandas.DataFrame
        ``ward_code``, the label columns, ``before``, ``after`` and ``change`` (> 0).
    """
    table = wards.copy()
    table["before"] = before
    table["after"] = after
    table["change"] = table["after"] - table["before"]
    table = table.loc[table["change"] > 0].rename_axis("ward_code").reset_index()
    return table.sort_values(["change", "ward_code"], ascending=[False, True]).head(top).reset_index(drop=True)


def _crimes(crimes: pd.Series | None, closed: list[str]) -> float:
    """Crime reports a day at the closed counters: 0 when none closes, NaN when none of theirs is known."""
    if not closed:
        return 0.0
    return float(crimes.sum()) if crimes is not None and crimes.notna().any() else np.nan
