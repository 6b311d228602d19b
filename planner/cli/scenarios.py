"""``planner run``, ``compare``, ``report``, ``maps`` and ``demo``: scenarios end to end, and their outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from planner.cli.common import DataOpt, MixedOpt, OutOpt, _folder, _out, _steps, app, console, err, fail, pd_isna, show
from planner.errors import PlannerError


def _print_comparison(comparison) -> None:
    t0 = comparison.thresholds[0]
    table = Table(title="Scenario comparison (London, Met area)")
    table.add_column("")
    for name in comparison.london["scenario"]:
        table.add_column(name, justify="right")
    spec = [
        ("travel times by", "engine", "{}"),
        ("counters open", "counters_open", "{:,}"),
        ("24/7 counters open", "counters_24_7", "{:,}"),
        ("boroughs without a 24/7 counter", "boroughs_without_24_7", "{:,}"),
    ]
    for t in comparison.thresholds:
        spec += [
            (f"residents beyond {t:g} min", f"beyond_{t:g}", "{:,}"),
            (f"% within {t:g} min", f"pct_within_{t:g}", "{:.2f}"),
        ]
    spec += [
        ("mean minutes", "mean_minutes", "{:.1f}"),
        ("95th percentile minutes", "p95_minutes", "{:.1f}"),
        (f"aged 65+ beyond {t0:g} min", f"beyond_65_plus_{t0:g}", "{:,}"),
        ("counters closed vs first", "counters_closed", "{:,}"),
        ("crime reports/day at closed (known)", "crimes_per_day_at_closed", "{:.1f}"),
        ("net annual savings", "annual_savings", "{:,.0f}"),
    ]
    for label, col, fmt in spec:
        values = comparison.london[col]
        table.add_row(label, *("unknown" if pd_isna(v) else fmt.format(v) for v in values))
    show(table)
    for r in comparison.london.itertuples():
        if r.counters_closed:
            saved = f"; net annual savings unknown ({r.savings_unknown_why})" if pd_isna(r.annual_savings) else ""
            console.print(
                f"{r.scenario}: crime reports known for {r.crimes_known} of {r.counters_closed} closed counters{saved}"
            )
    names = list(comparison.london["scenario"])
    if len(names) > 1:  # the last plan against the first, as in the report (baseline → final)
        wards = comparison.wards
        worst = wards.loc[wards["scenario"] == names[-1]].head(10) if len(wards) else wards
        if not len(worst):
            console.print(f"No ward's mean time worsens from {names[0]} to {names[-1]}.")
            return
        wt = Table(title=f"Wards whose time worsens most ({worst['reference'].iloc[0]} → {worst['scenario'].iloc[0]})")
        for col in ("ward", "borough", "before", "after", "change"):
            wt.add_column(col, justify="left" if col in ("ward", "borough") else "right")
        for r in worst.itertuples():
            wt.add_row(
                r.ward_name, r.borough_name, f"{r.minutes_before:.1f}", f"{r.minutes_after:.1f}", f"+{r.change:.1f}"
            )
        show(wt)


def _print_equality(comparison) -> None:
    """Residents beyond the first threshold by group, with the disproportion ratio."""
    table = comparison.equality
    if table.empty:
        return
    label = f"{comparison.thresholds[0]:g}"
    first = table.loc[table["threshold"] == label]
    names = list(dict.fromkeys(first["scenario"]))
    out = Table(title=f"Who is beyond {label} minutes: residents (disproportion ratio)")
    out.add_column("group")
    for name in names:
        out.add_column(name, justify="right")
    for _group, rows in first.groupby("group", sort=False):
        cells = []
        for name in names:
            r = rows.loc[rows["scenario"] == name].iloc[0]
            ratio = r.ratio_note if pd_isna(r.ratio) else f"{r.ratio:.2f}"
            cells.append(f"{r.beyond:,.0f} ({ratio})")
        out.add_row(rows["label"].iloc[0] + (" *" if bool(rows["estimate"].iloc[0]) else ""), *cells)
    show(out)
    console.print(
        "* estimated from Census 2011 shares. A ratio above 1: the group's share beyond is larger than "
        "everyone's (the plan falls harder on it)."
    )


def _run_many(scenarios: list[Path], data: Path | None, out: Path, maps: bool, online: bool, allow_mixed: bool = False):
    from planner.context import RunContext
    from planner.run import run_scenario
    from planner.runfolder import check_planned_set
    from planner.scenario import check_distinct_names, load_scenario

    specs = [load_scenario(path) for path in scenarios]  # every file is checked before the first run starts
    check_distinct_names(specs, [str(p) for p in scenarios])
    if maps and len(specs) > 1:  # their change map would refuse a mixed set: refused before anything is written
        check_planned_set([(str(p), s) for p, s in zip(scenarios, specs, strict=True)], [], allow_mixed=allow_mixed)
    runs = []
    with _steps() as progress:
        task = progress.add_task("starting", total=len(scenarios))
        context = RunContext(data)
        for path in scenarios:
            runs.append(
                run_scenario(
                    path,
                    out=out,
                    context=context,
                    maps=maps,
                    offline_maps=not online,
                    reference=runs[0].out_dir if runs else None,
                    progress=lambda msg: progress.update(task, description=msg),
                )
            )
            progress.update(task, advance=1)
        if maps and len(runs) > 1:
            from planner.io import locked_folder
            from planner.maps import write_change_map

            progress.update(task, description="change map")
            with locked_folder(out):  # another run into this folder may be writing its change map
                change = write_change_map(
                    [r.out_dir for r in runs], out / "maps" / "change.html", offline=not online, allow_mixed=allow_mixed
                )
            console.print(f"Change map ({runs[0].name} → {runs[-1].name}): {change}")
    return runs


@app.command("run")
def run_cmd(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario TOML files.")],
    data: DataOpt = None,
    out: OutOpt = Path("out"),
    maps: Annotated[bool, typer.Option(help="Write the interactive maps.")] = True,
    online: Annotated[bool, typer.Option(help="Load map scripts from CDNs instead of embedding them.")] = False,
    allow_mixed: MixedOpt = False,
) -> None:
    """Run scenarios end to end: 45-minute test, hub plan, maps, manifest."""
    _out(out)
    try:
        runs = _run_many(scenarios, data, out, maps, online, allow_mixed)
    except PlannerError as exc:
        raise fail(exc) from exc
    for run in runs:
        lon = run.access[run.scenario.threshold].london.iloc[0]
        console.print(
            f"[bold]{run.name}[/]: {len(run.counters)} counters, {int(lon.beyond):,} residents beyond "
            f"{run.scenario.threshold:g} min ({lon.pct_within:.2f}% within), mean {lon.mean_minutes:.1f} min"
            f"{f', {run.hubs.n_hubs} hubs' if run.hubs else ''} → {run.out_dir}"
        )


@app.command("compare")
def compare_cmd(
    items: Annotated[
        list[Path], typer.Argument(help="Run folders or scenario files (run first); the first is the reference.")
    ],
    data: DataOpt = None,
    out: OutOpt = Path("out"),
    allow_mixed: MixedOpt = False,
) -> None:
    """Compare scenarios side by side (CSV and Markdown under OUT/compare)."""
    from planner.compare import compare_runs
    from planner.runfolder import load_run

    _out(out)
    _out(out / "compare", outside_runs=True)
    try:
        files = [p for p in items if p.is_file()]
        if files:  # a set that would be refused once run is refused before any run folder is written
            from planner.runfolder import check_planned_set
            from planner.scenario import load_scenario

            planned = [(str(p), load_scenario(p)) for p in files]
            check_planned_set(planned, [p for p in items if not p.is_file()], allow_mixed=allow_mixed)
        fresh = {p: r for p, r in zip(files, _run_many(files, data, out, True, False), strict=True)} if files else {}
        runs = [fresh[p] if p in fresh else load_run(p) for p in items]
        comparison = compare_runs(runs, allow_mixed=allow_mixed)
        written = comparison.write(out / "compare")
    except PlannerError as exc:
        raise fail(exc) from exc
    for line in comparison.differences:
        err.print(f"[bold yellow]mixed runs:[/] {line}", highlight=False)
    _print_comparison(comparison)
    _print_equality(comparison)
    console.print(f"Wrote {', '.join(str(f) for f in written)}")


@app.command("report")
def report_cmd(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run folders; the first is the reference.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for report.html and report.pdf.", parser=_folder)] = Path(
        "report"
    ),
    sweep: Annotated[
        list[Path] | None,
        typer.Option("--sweep", help="A sweep folder (marginal, or grid over --bus-speed) to include; repeatable."),
    ] = None,
    pdf: Annotated[bool, typer.Option(help="Also print report.pdf with headless Chromium.")] = True,
    title: Annotated[str | None, typer.Option(help="Title on the first page.")] = None,
    allow_mixed: MixedOpt = False,
) -> None:
    """A report for a board: summary, charts, static maps, methods and tables (HTML and A4 PDF)."""
    from planner.report import write_report

    try:
        with _steps() as progress:
            progress.add_task("writing the report", total=None)
            report = write_report(run_dirs, out=out, sweeps=sweep or [], pdf=pdf, title=title, allow_mixed=allow_mixed)
    except PlannerError as exc:
        raise fail(exc, {"pdf": "--no-pdf"}) from exc
    console.print(f"Report ({report.pages} pages): {report.html}" + (f", {report.pdf}" if report.pdf else ""))


@app.command("demo")
def demo_cmd(
    data: DataOpt = None,
    out: OutOpt = Path("out"),
    scenarios_dir: Annotated[Path, typer.Option(help="Folder with the 2017 scenario files.")] = Path("scenarios"),
) -> None:
    """Run the three 2017 scenarios, compare them and write their report (the README's main job)."""
    names = ["baseline-2017", "mopac-draft-2017", "mopac-final-2017"]
    paths = [scenarios_dir / f"{n}.toml" for n in names]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise fail(
            FileNotFoundError(
                f"scenario files not found: {missing}; run from the repository root or pass --scenarios-dir"
            )
        )
    compare_cmd(paths, data=data, out=out)
    from planner.report import chromium_path

    try:
        chromium_path()
        pdf = True
    except PlannerError as exc:
        console.print(f"[yellow]{exc}: writing report.html only.")
        pdf = False
    report_cmd([out / n for n in names], out=out / "report", sweep=None, pdf=pdf, title=None)


@app.command("maps")
def maps_cmd(
    run_dirs: Annotated[list[Path], typer.Argument(help="Run folders; with several, the first is the reference.")],
    online: Annotated[bool, typer.Option(help="Load map scripts from CDNs instead of embedding them.")] = False,
    out: Annotated[
        Path | None, typer.Option(help="Folder for the change map (default: beside the runs).", parser=_folder)
    ] = None,
    marginal: Annotated[
        Path | None, typer.Option(help="critical_counters.csv of a marginal sweep of the last run's plan.")
    ] = None,
    group: Annotated[
        str | None,
        typer.Option(
            help="Equality group whose residents beyond the threshold the access map offers as a layer "
            "(default: the one with the largest disproportion ratio)."
        ),
    ] = None,
    allow_mixed: MixedOpt = False,
) -> None:
    """Write the access, hub and resident maps of runs, and a change map for several."""
    from planner.maps import write_change_map, write_maps
    from planner.runfolder import check_run_folders

    _out(out, outside_runs=True)  # the change map would become a file the run never wrote
    try:
        if len(run_dirs) > 1:  # before any map is rewritten
            check_run_folders(run_dirs, allow_mixed=allow_mixed)
        written = []
        for i, folder in enumerate(run_dirs):
            reference = run_dirs[0] if i > 0 else None
            layer = marginal if i == len(run_dirs) - 1 else None
            written += write_maps(folder, reference_dir=reference, offline=not online, marginal=layer, group=group)
        if len(run_dirs) > 1:
            target = (out or run_dirs[-1].parent / "maps") / "change.html"
            written.append(write_change_map(run_dirs, target, offline=not online, allow_mixed=allow_mixed))
    except PlannerError as exc:
        raise fail(exc, {"group": "--group"}) from exc
    for path in written:
        console.print(f"{path} ({path.stat().st_size / 1e6:.1f} MB)", soft_wrap=True)  # a path is never broken
