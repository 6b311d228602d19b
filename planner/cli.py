"""The ``planner`` command line.  Thin: it parses options and calls the library."""

from __future__ import annotations

import json
import logging
import math
import re
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.cells import cell_len
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from planner.errors import PlannerError, PlannerWarning

if TYPE_CHECKING:
    from planner.sweep import SweepResult

app = typer.Typer(help="Plan where the public can reach the police.", no_args_is_help=True)
data_app = typer.Typer(help="Check or download the data directory.", no_args_is_help=True)
app.add_typer(data_app, name="data")

console = Console()
err = Console(stderr=True)


_FIGURE = re.compile(r"[-+−]?[\d,]*\.?\d+(e[-+]\d+)?%?")


def _fit(table: Table, width: int) -> int:
    """Fix the table's column widths for a terminal ``width`` columns wide; return the table's width.

    No column is narrower than its longest figure or word (header included), so numbers are never cut
    with "…" and text wraps only between words.  Room left over goes to the columns that would
    otherwise wrap, most to the one that needs most.  When even the narrowest layout is wider than
    the terminal, the table keeps that layout and its lines run on.
    """
    texts = [[c for c in (col.header, *col.cells) if isinstance(c, str)] for col in table.columns]
    for column in table.columns:  # figures line up on the right
        cells = [c.strip() for c in column.cells if isinstance(c, str) and c.strip()]
        if cells and all(_FIGURE.fullmatch(c) for c in cells):
            column.justify = "right"
    least = [max((cell_len(w) for t in cells for w in t.split()), default=1) for cells in texts]
    most = [max((cell_len(line) for t in cells for line in t.splitlines()), default=1) for cells in texts]
    overhead = 3 * len(table.columns) + 1  # a rule between and around the columns, one space of padding each side
    sizes = list(most)
    if sum(most) + overhead > width:
        sizes, spare = list(least), width - sum(least) - overhead
        while spare > 0 and any(s < m for s, m in zip(sizes, most, strict=True)):
            short = max(range(len(sizes)), key=lambda i: (most[i] - sizes[i], -i))
            sizes[short] += 1
            spare -= 1
    for column, size in zip(table.columns, sizes, strict=True):
        column.width = size
    return sum(sizes) + overhead


def _show(table: Table, *, to: Console | None = None) -> None:
    """Print a table within the terminal's width when it fits there with every figure and word whole;
    when it cannot, print it at the narrowest width it needs (its lines run on) rather than cut anything."""
    to = to or console
    terminal = to.width
    needed = _fit(table, terminal)
    if needed <= terminal:
        to.print(table)
        return
    to.width = needed  # rich never draws wider than its console
    try:
        to.print(table, crop=False)
    finally:
        to.width = terminal


DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="Data directory (default: $PLANNER_DATA).", show_default=False),
]


@app.callback()
def main(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More log output.")] = 0,
) -> None:
    """Plan where the public can reach the police."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(message)s", handlers=[RichHandler(console=err, show_path=False)])
    logging.getLogger("distributed").setLevel(max(level, logging.WARNING))
    # Data warnings are logged by the library; don't print them twice.
    warnings.simplefilter("ignore", PlannerWarning)


def _verbose(arg: str) -> bool:
    return arg == "--verbose" or (len(arg) > 1 and arg[0] == "-" and set(arg[1:]) == {"v"})


def entry(argv: list[str] | None = None) -> None:
    """The ``planner`` command: ``-v`` (``-vv``, ...) may also come after the sub-command (``planner run -v ...``)."""
    from planner.clock import check_source_date_epoch

    try:  # numpy reads it on import and fails with a traceback: check it first
        check_source_date_epoch()
    except PlannerError as exc:
        raise SystemExit(_fail(exc).exit_code) from exc
    args = list(sys.argv[1:] if argv is None else argv)
    cut = args.index("--") if "--" in args else len(args)
    _refuse_repeated(args[:cut])
    flags = [a for a in args[:cut] if _verbose(a)]
    app(args=flags + [a for i, a in enumerate(args) if i >= cut or not _verbose(a)], prog_name="planner")


def _refuse_repeated(args: list[str]) -> None:
    """An option that takes one value, given twice, would silently keep the last: refuse it (exit 2)."""
    if not isinstance(app, typer.Typer):  # replaced (tests of the argument order)
        return
    command = typer.main.get_command(app)
    words = [a for a in args if not a.startswith("-")]
    for word in words[:2]:  # "run", or a group and its command ("data check")
        sub = getattr(command, "get_command", lambda _ctx, _name: None)(None, word)
        if sub is None:
            break
        command = sub
    for param in getattr(command, "params", []):
        if param.param_type_name != "option" or param.multiple or param.count or param.is_flag:
            continue
        given = [a for a in args for flag in param.opts if a == flag or a.startswith(flag + "=")]
        if len(given) > 1:
            err.print(
                f"[bold red]error:[/] {escape(param.opts[0])} given {len(given)} times; it takes one value (the last "
                "would silently win): give it once",
                highlight=False,
            )
            raise SystemExit(2)


#: Python arguments any library message may name -> the flag of the same meaning (every command that has them).
COMMON_FLAGS = {"data": "--data", "osm": "--osm", "out": "--out", "allow_mixed": "--allow-mixed"}
#: ``planner hubs``: :class:`planner.hubs.HubOptions` fields -> flags.
HUB_FLAGS = {
    "size": "--wards-per-hub",
    "join": "--join-boroughs",
    "hubs": "--hubs",
    "population_bounds": "--population-per-hub",
}
#: ``planner sweep``: :func:`planner.sweep.run_sweep` arguments -> flags.
SWEEP_FLAGS = {
    "top": "--top",
    "scheduler": "--scheduler",
    "bus_speed_kmh": "--bus-speed",
    "walk_speed_kmh": "--walk-speed",
    "bus_wait_min": "--bus-wait",
    "rail_wait_min": "--rail-wait",
    "threshold": "--thresholds",
}
#: ``planner data fetch``: :func:`planner.datasets.fetch` arguments -> flags.
FETCH_FLAGS = {"base_url": "--base-url", "retries": "--retries", "verify": "--no-verify"}


def _with_flags(text: str, flags: dict[str, str] | None = None) -> str:
    """A library text with the flag after each Python argument it names (``flags``: argument -> flag).

    Library messages name arguments in backticks (`` `base_url` ``); each becomes `` `base_url` (--base-url) ``.
    An argument with an underscore may also be named bare (``max_disproportion``): its first mention gets the flag.
    """
    for name, flag in {**COMMON_FLAGS, **(flags or {})}.items():
        quoted = f"`{name}`"
        if quoted in text:
            text = text.replace(quoted, f"{quoted} ({flag})")
        elif "_" in name:
            text = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", f"{name} ({flag})", text, count=1)
    return text


def _fail(exc: Exception, flags: dict[str, str] | None = None) -> typer.Exit:
    """Print a library error in the CLI's words (see :func:`_with_flags`) and exit with status 2."""
    text = _with_flags(str(exc), flags)
    err.print(f"[bold red]error:[/] {escape(text)}", highlight=False)
    return typer.Exit(code=2)


#: Python arguments of :func:`planner.proposals.propose` a message may name -> ``planner optimise``'s flags.
OPTIMISE_FLAGS = {"max_disproportion": "--max-disproportion", "groups": "--group", "target_pct": "--target"}


def _threshold(value: float | None) -> float | None:
    """Refuse a threshold that is not a positive, finite number of minutes."""
    from planner.stats import check_threshold

    if value is None:
        return None
    try:
        return check_threshold(value, what="the threshold")
    except PlannerError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _hub_count(value: str | None) -> str | None:
    from planner.scenario import check_hub_count

    try:
        return check_hub_count(value)  # type: ignore[return-value]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc


def _folder(text: str) -> Path:
    """An output folder as typed: an empty one would silently mean the current folder, so it is refused."""
    if not str(text).strip():
        raise typer.BadParameter("is empty; give a folder (it is created if needed), or . for the current one")
    return Path(text)


def _out(path: Path | None, option: str = "--out") -> None:
    """Refuse an output folder that cannot be written, before any work starts."""
    from planner.io import check_out_dir

    if path is None:
        return
    try:
        check_out_dir(path, option=option)
    except PlannerError as exc:
        raise _fail(exc) from exc


@data_app.command("check")
def data_check(
    data: DataOpt = None,
    year: Annotated[int, typer.Option(help="Population year (2019 or 2020).")] = 2019,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Validate a data directory and print a summary."""
    from planner.london import data_summary

    try:
        summary = data_summary(data, demand_year=year)
    except PlannerError as exc:
        raise _fail(exc) from exc
    if as_json:
        console.print_json(json.dumps(summary))
        return
    table = Table(title=f"Data directory {summary['data_dir']}", show_header=False)
    for key, value in summary["ward_sets"].items():
        table.add_row(f"wards {key}", f"{value:,}")
    table.add_row("boroughs (incl. City)", str(summary["boroughs"]))
    table.add_row("Met wards (2014, City excluded)", f"{summary['met_wards']:,}")
    table.add_row("wards without a population centroid", str(summary["wards_without_centroid"]))
    table.add_row("stations", f"{summary['stations']} ({summary['stations_rejected']} rejected)")
    for col, counts in summary["stations_by_status"].items():
        table.add_row(f"  {col}", ", ".join(f"{k} {v}" for k, v in counts.items()))
    table.add_row(f"population mid-{summary['population_year']}", f"{summary['population']:,}")
    table.add_row("  of which Met area", f"{summary['population_met']:,}")
    _show(table)


@data_app.command("fetch")
def data_fetch(
    dest: Annotated[Path, typer.Option(help="Data directory to fill.", parser=_folder)] = Path("data"),
    name: Annotated[list[str] | None, typer.Option("--name", help="Only this dataset (repeatable).")] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            help="Fetch every file from this http(s) mirror of the reference data (DEST's layout) instead of the "
            "publishers; the only route for datasets without a public download."
        ),
    ] = None,
    no_verify: Annotated[
        bool,
        typer.Option(
            "--no-verify", help="Accept files whose sha256 differs from the manifest (a file already in DEST is kept)."
        ),
    ] = False,
    retries: Annotated[int, typer.Option(help="Attempts per file.")] = 4,
) -> None:
    """Download the public datasets (with pooch), checking each file's sha256 against the manifest.

    A file already in DEST with the right sha256 is not downloaded again.
    A download is written only once its hash matches.
    """
    from planner.datasets import fetch

    _out(dest, "--dest")
    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn(), console=err
    ) as progress:
        tasks: dict[str, int] = {}

        def report(src: str, done: int, total: int) -> None:
            if src not in tasks:
                tasks[src] = progress.add_task(src, total=total)
            progress.update(tasks[src], completed=done, total=total)

        try:
            results = fetch(dest, names=name, base_url=base_url, verify=not no_verify, retries=retries, progress=report)
        except PlannerError as exc:
            failed = exc
            results = getattr(exc, "done", [])
        else:
            failed = None
    if results:
        table = Table("dataset", "status", "file / detail", title="Fetched before the error" if failed else None)
        for r in results:
            table.add_row(r.name, r.status, str(r.path) if r.path else _with_flags(r.detail or "", FETCH_FLAGS))
        _show(table)
    if failed is not None:
        raise _fail(failed, FETCH_FLAGS) from failed


def _steps(unit: str = "", *, transient: bool = True) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}" + (f" {unit}" if unit else "")),
        TimeElapsedColumn(),
        console=err,
        transient=transient,
    )


def _parse_params(items: list[str] | None) -> dict[str, object]:
    out: dict[str, object] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"expected NAME=VALUE, got {item!r}", param_hint="--param")
        if key.strip() in out:
            raise typer.BadParameter(f"{key.strip()} is given twice; give each parameter once", param_hint="--param")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            out[key.strip()] = value.strip()
    return out


def _print_access(result, limit: int | None = None, total: str = "London (Met area)") -> None:
    t = result.threshold
    table = Table(title=f"Residents beyond {t:g} minutes ({result.engine['engine']})")
    for col in ("borough", "population", f"beyond {t:g}", "% within", "mean", "median", "p95", "65+ beyond"):
        table.add_column(col, justify="left" if col == "borough" else "right")
    rows = result.boroughs.sort_values("beyond", ascending=False)
    for r in rows.head(limit).itertuples() if limit else rows.itertuples():
        table.add_row(
            r.borough_name,
            f"{r.population:,}",
            f"{r.beyond:,}",
            f"{r.pct_within:.1f}",
            f"{r.mean_minutes:.1f}",
            f"{r.median_minutes:.1f}",
            _minutes(r.p95_minutes),
            f"{r.beyond_65_plus:,}",
        )
    lon = result.london.iloc[0]
    table.add_row(
        f"[bold]{total}",
        f"{int(lon.population):,}",
        f"{int(lon.beyond):,}",
        f"{lon.pct_within:.1f}",
        f"{lon.mean_minutes:.1f}",
        f"{lon.median_minutes:.1f}",
        _minutes(lon.p95_minutes),
        f"{int(lon.beyond_65_plus):,}",
    )
    _show(table)
    if int(lon.unreachable):
        console.print(f"[yellow]{int(lon.unreachable):,} residents reach no open counter.")


@app.command("access")
def access_cmd(
    data: DataOpt = None,
    open_: Annotated[
        str, typer.Option("--open", help="Open counters: STATUS_COLUMN=VALUE[,VALUE] or ids=ID[,ID].")
    ] = "status_final_nov2017=retain,new",
    stations: Annotated[Path | None, typer.Option(help="Stations file (default: the data directory's).")] = None,
    engine: Annotated[str, typer.Option(help="transit, transit-simple (superseded), network or crowfly.")] = "transit",
    threshold: Annotated[float, typer.Option(help="Minutes.", callback=_threshold)] = 45.0,
    osm: Annotated[Path | None, typer.Option(help="OSM file for the network engine.")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="Engine parameter NAME=VALUE.")] = None,
    year: Annotated[int, typer.Option(help="Population year.")] = 2019,
    borough: Annotated[
        list[str] | None,
        typer.Option(help="Only residents of this borough (repeatable), e.g. with a borough OSM extract."),
    ] = None,
    out: Annotated[Path, typer.Option(help="Output folder.", parser=_folder)] = Path("out/access"),
    postcode: Annotated[
        list[str] | None,
        typer.Option(help="Also answer for this postcode's own point (repeatable); writes access_postcodes.csv."),
    ] = None,
) -> None:
    """Travel time to the nearest open counter and the 45-minute test."""
    from planner.assess import assess
    from planner.io import check_out_beside_data, locked_folder
    from planner.london import load_london
    from planner.stations import load_stations, select_counters
    from planner.travel import make_engine

    _out(out)
    try:
        with _steps() as progress:
            task = progress.add_task("loading data", total=4)
            london = load_london(data, demand_year=year)
            check_out_beside_data(out, london.paths.root, option="--out")
            pool = load_stations(stations) if stations else london.stations
            counters = select_counters(pool, open_)
            progress.update(task, advance=1, description=f"building {engine} engine")
            eng = make_engine(engine, data=london.paths, params=_parse_params(param), osm=osm)
            progress.update(task, advance=1, description="travel times")
            demand = london.study_demand.in_boroughs(borough) if borough else london.study_demand
            result = assess(demand, counters, eng, threshold=threshold)
            progress.update(task, advance=1, description="writing")
            wards = london.study_wards
            if postcode:
                from planner.postcodes import find_postcodes, postcode_access

                answers = postcode_access(find_postcodes(postcode, london.paths.root), counters, eng)
            with locked_folder(out):  # another command writing into the same folder waits its turn
                files = result.write(out, wards.loc[wards["ward_code"].isin(demand.wards["ward_code"])])
                if postcode:
                    answers.to_csv(out / "access_postcodes.csv", index=False)
                    files = [*files, out / "access_postcodes.csv"]
            progress.update(task, advance=1)
    except PlannerError as exc:
        raise _fail(exc, {"Demand.in_boroughs": "--borough"}) from exc
    console.print(f"{len(counters)} open counters ({open_})")
    _print_access(result, total="Total (selected boroughs)" if borough else "London (Met area)")
    for r in answers.itertuples() if postcode else ():
        console.print(f"{r.postcode}: {r.station_id}, {r.minutes:.1f} min")
    console.print(f"Wrote {len(files)} files to {out}")


def _range(text: str, what: str) -> tuple[int, int]:
    lo, sep, hi = text.partition("-")
    try:
        return (int(lo), int(hi)) if sep else (int(lo), int(lo))
    except ValueError as exc:
        raise typer.BadParameter(f"expected LOW-HIGH, got {text!r}", param_hint=what) from exc


def _print_hubs(plan) -> None:
    table = Table(title=f"Ward hubs: {plan.n_hubs} hubs ({plan.target.describe()})")
    for col in ("borough", "hubs", "feasible", "objective (person-min)", "bound", "gap", "status", "cuts"):
        table.add_column(col, justify="left" if col == "borough" else "right")
    for r in plan.boroughs.itertuples():
        table.add_row(
            r.borough_name,
            str(r.hubs),
            r.feasible_hubs,
            f"{r.objective:,.0f}",
            f"{r.bound:,.0f}",
            f"{r.gap:.1e}",
            r.status,
            str(r.cuts),
        )
    table.add_row(
        "[bold]London",
        str(plan.n_hubs),
        f"{plan.feasible_range[0]}-{plan.feasible_range[1]}",
        f"{plan.objective:,.0f}",
        f"{plan.bound:,.0f}",
        f"{plan.gap:.1e}",
        "optimal",
        "",
    )
    _show(table)
    for note in plan.notes:
        console.print(f"• {note}")
    console.print(f"Solved in {plan.seconds:.2f}s")


@app.command("hubs")
def hubs_cmd(
    data: DataOpt = None,
    wards_per_hub: Annotated[str, typer.Option(help="Smallest-largest wards per hub.")] = "4-5",
    hubs: Annotated[
        str | None,
        typer.Option(
            help="Total hubs: N, LOW-HIGH, LOW-, near:N or 'free' (default: as close to 150 as possible).",
            callback=_hub_count,
        ),
    ] = None,
    sites: Annotated[
        Path | None, typer.Option(help="Candidate sites file (id, coordinates, must_use, must_not_use).")
    ] = None,
    solver: Annotated[str, typer.Option(help="cbc or highs.")] = "cbc",
    engine: Annotated[str, typer.Option(help="Travel engine for residents' trips to hub sites.")] = "crowfly",
    gap: Annotated[float, typer.Option(help="Relative optimality gap accepted.")] = 0.0,
    population_per_hub: Annotated[
        str | None, typer.Option(help="Workload balance: LOW-HIGH residents per hub.")
    ] = None,
    join_boroughs: Annotated[
        list[str] | None,
        typer.Option(help="Plan these boroughs as one (CODE,CODE), so hubs may cross their line; repeatable."),
    ] = None,
    year: Annotated[int, typer.Option(help="Population year.")] = 2019,
    out: Annotated[Path, typer.Option(help="Output folder.", parser=_folder)] = Path("out/hubs"),
) -> None:
    """Group each borough's wards into contiguous hubs of 4-5 wards, solved exactly."""
    from planner.hubs import HubOptions, HubTarget, plan_hubs, site_flags, write_hubs
    from planner.io import locked_folder
    from planner.london import load_london
    from planner.stations import load_stations
    from planner.travel import make_engine

    if engine not in ("crowfly", "transit", "transit-simple"):
        raise _fail(
            ValueError(
                f"--engine {engine!r}: residents' trips to hub sites use crowfly (the default), transit or "
                "transit-simple"
            )
        )
    _out(out)
    size = _range(wards_per_hub, "--wards-per-hub")
    bounds = _range(population_per_hub, "--population-per-hub") if population_per_hub else None
    join = [[c.strip() for c in group.split(",") if c.strip()] for group in join_boroughs or []]
    try:
        options = HubOptions(
            size=size, hubs=HubTarget.parse(hubs), population_bounds=bounds, solver=solver, gap=gap, join=join or None
        )
        site_frame = None
        if sites is not None:
            site_frame = load_stations(sites).rename(columns={"station_id": "site_id"})
            for flag in ("must_use", "must_not_use"):
                site_flags(site_frame, flag)  # refuse unclear flags before any work
        london = load_london(data, demand_year=year)
        eng = make_engine(engine, data=london.paths)
        n_boroughs = london.study_wards["borough_code"].nunique()
        with _steps() as progress:
            task = progress.add_task("solving", total=n_boroughs)
            plan = plan_hubs(
                london.study_wards,
                london.study_demand,
                engine=eng,
                sites=site_frame,
                options=options,
                progress=lambda name: progress.update(task, advance=1, description=name),
            )
        with locked_folder(out):  # another command writing into the same folder waits its turn
            files = write_hubs(plan, london.study_wards, london.study_demand, out, sites=site_frame, engine=eng)
    except PlannerError as exc:
        raise _fail(exc, HUB_FLAGS) from exc
    _print_hubs(plan)
    console.print(f"Wrote {len(files)} files to {out}")


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
    _show(table)
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
        _show(wt)


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
    _show(out)
    console.print(
        "* estimated from Census 2011 shares. A ratio above 1: the group's share beyond is larger than "
        "everyone's (the plan falls harder on it)."
    )


def pd_isna(value: object) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


OutOpt = Annotated[Path, typer.Option("--out", help="Output folder (one subfolder per scenario).", parser=_folder)]
MixedOpt = Annotated[
    bool,
    typer.Option(
        "--allow-mixed",
        help="Set side by side runs made from different data, demand years or engines (the differences are stated).",
    ),
]


def _run_many(scenarios: list[Path], data: Path | None, out: Path, maps: bool, online: bool):
    from planner.context import RunContext
    from planner.run import run_scenario
    from planner.scenario import check_distinct_names, load_scenario

    specs = [load_scenario(path) for path in scenarios]  # every file is checked before the first run starts
    check_distinct_names(specs, [str(p) for p in scenarios])
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
                change = write_change_map([r.out_dir for r in runs], out / "maps" / "change.html", offline=not online)
            console.print(f"Change map ({runs[0].name} → {runs[-1].name}): {change}")
    return runs


@app.command("run")
def run_cmd(
    scenarios: Annotated[list[Path], typer.Argument(help="Scenario TOML files.")],
    data: DataOpt = None,
    out: OutOpt = Path("out"),
    maps: Annotated[bool, typer.Option(help="Write the interactive maps.")] = True,
    online: Annotated[bool, typer.Option(help="Load map scripts from CDNs instead of embedding them.")] = False,
) -> None:
    """Run scenarios end to end: 45-minute test, hub plan, maps, manifest."""
    _out(out)
    try:
        runs = _run_many(scenarios, data, out, maps, online)
    except PlannerError as exc:
        raise _fail(exc) from exc
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
    _out(out / "compare")
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
        raise _fail(exc) from exc
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
        raise _fail(exc, {"pdf": "--no-pdf"}) from exc
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
        raise _fail(
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


@app.command("optimise")
def optimise_cmd(
    scenario: Annotated[Path, typer.Argument(help="Scenario whose settings (and plan, for comparison) to use.")],
    data: DataOpt = None,
    mode: Annotated[str, typer.Option(help="min-counters, max-coverage or tradeoff.")] = "max-coverage",
    k: Annotated[
        int | None, typer.Option(help="Counters to keep (max-coverage; default: as many as the plan).")
    ] = None,
    target: Annotated[float | None, typer.Option(help="% of residents within the threshold (min-counters).")] = None,
    threshold: Annotated[
        float | None, typer.Option(help="Minutes (default: the scenario's first).", callback=_threshold)
    ] = None,
    candidates: Annotated[Path | None, typer.Option(help="Extra candidate sites (stations-style file).")] = None,
    required: Annotated[list[str] | None, typer.Option("--required", help="Counter id to keep (repeatable).")] = None,
    forbidden: Annotated[list[str] | None, typer.Option("--forbidden", help="Counter id to drop (repeatable).")] = None,
    max_disproportion: Annotated[
        float | None,
        typer.Option(
            help="Keep every equality group's disproportion ratio (its share beyond the threshold over "
            "everyone's) at or below this, e.g. 1.2."
        ),
    ] = None,
    group: Annotated[
        list[str] | None,
        typer.Option("--group", help="Group the --max-disproportion bound holds for (repeatable; default: all)."),
    ] = None,
    solver: Annotated[
        str | None, typer.Option(help="cbc or highs (default: cbc; highs with --max-disproportion).")
    ] = None,
    out: OutOpt = Path("out/optimise"),
) -> None:
    """Propose which counters to keep (exact MIP) and write the plan as a scenario file."""
    from planner.context import RunContext
    from planner.proposals import propose

    if mode not in ("min-counters", "max-coverage", "tradeoff"):
        raise _fail(ValueError(f"unknown mode {mode!r}; choose min-counters, max-coverage or tradeoff"))
    _out(out)
    try:
        with _steps() as progress:
            progress.add_task("optimising", total=None)
            result = propose(
                scenario,
                out=out,
                context=RunContext(data),
                mode=mode,
                k=k,  # type: ignore[arg-type]
                target_pct=target,
                threshold=threshold,
                candidates=candidates,
                required=required,
                forbidden=forbidden,
                solver=solver,
                max_disproportion=max_disproportion,
                groups=group,
            )
    except PlannerError as exc:
        raise _fail(exc, OPTIMISE_FLAGS) from exc
    cur, same = result.current, result.same_count
    console.print(
        f"{cur['scenario']}: {cur['counters']} counters, {cur['pct_covered']:.2f}% of residents within "
        f"{same.threshold:g} min ({cur['covered']:,})."
    )
    fair = "" if max_disproportion is None else f" and no group's ratio above {max_disproportion:g}"
    console.print(
        f"Optimum with the same {len(same.open)} counters{fair}: {same.pct_covered:.2f}% ({same.covered:,}; "
        f"+{same.covered - cur['covered']:,} residents), status {same.report.status}, gap "
        f"{same.report.gap:.1e}."
    )
    if result.curve is not None:
        table = Table("k", "residents within", "% within", title="Trade-off: counters against coverage")
        for r in result.curve.itertuples():
            table.add_row(str(r.k), f"{r.covered:,}", f"{r.pct_covered:.3f}")
        _show(table)
    if result.choice is not None:
        c = result.choice
        console.print(
            f"Proposal ({c.mode}): {len(c.open)} counters, {c.pct_covered:.2f}% within {c.threshold:g} min, "
            f"status {c.report.status}, gap {c.report.gap:.1e}, bound {c.report.bound:,.0f}."
        )
        if c.ratios:
            _print_ratios(cur.get("ratios", {}), c.ratios, max_disproportion)
        console.print(f"Wrote {result.scenario_file} (run it with `planner run {result.scenario_file}`)")


def _print_ratios(current: dict, proposal: dict, bound: float | None) -> None:
    from planner.equality import GROUPS

    labels = {g.key: g.label for g in GROUPS}
    table = Table(
        "group", "plan", "proposal", title=f"Disproportion ratio (share beyond over everyone's; bound {bound:g})"
    )
    for name, ratio in proposal.items():
        now = current.get(name)
        table.add_row(
            labels.get(name, name), "-" if now is None else f"{now:.2f}", "-" if ratio is None else f"{ratio:.2f}"
        )
    _show(table)


@app.command("calibrate", context_settings={"allow_extra_args": True, "ignore_unknown_options": False})
def calibrate_cmd(
    ctx: typer.Context,
    data: DataOpt = None,
    hospital_set: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="Hospital set(s): set_nhs2014 (the headline, by a stated rule), or set_primary, set_acute, "
            "set_broad, set_labelled of nhs_hospitals_2016.csv (default: set_nhs2014, set_primary, set_acute).",
        ),
    ] = None,
    engine: Annotated[str, typer.Option(help="Engine to check: transit, transit-simple or crowfly.")] = "transit",
    param: Annotated[list[str] | None, typer.Option("--param", help="Engine parameter NAME=VALUE.")] = None,
    grid: Annotated[
        list[str] | None,
        typer.Option(help="Search parameters: NAME=V1,V2 [NAME=V1,V2 ...]; reports the best setting per measure."),
    ] = None,
    year: Annotated[int, typer.Option(help="JTS04 year (2015 or 2016; the 2014 table lacks Hosp_pop).")] = 2016,
    out: Annotated[Path, typer.Option(help="Output folder.", parser=_folder)] = Path("out/calibration"),
) -> None:
    """Check the travel times against DfT's journey time statistics (JTS04, nearest hospital)."""
    from planner.calibrate import (
        DEFAULT_SETS,
        HEADLINE_SET,
        best_settings,
        calibrate,
        calibration_grid,
        cross_validate,
        plot_calibration,
    )
    from planner.errors import EngineError
    from planner.io import write_csv
    from planner.london import load_london
    from planner.travel import make_engine

    extra = list(ctx.args)
    if extra and not grid:
        raise typer.BadParameter(f"unexpected argument(s) {extra}; grid values go after --grid", param_hint="--grid")
    grid_values = _parse_grid([*(grid or []), *extra]) if grid else None
    params = _parse_params(param)
    both = sorted(set(params) & set(grid_values or {}))
    if both:
        raise typer.BadParameter(
            f"{both} given both as --param and in --grid; give each parameter once", param_hint="--grid"
        )
    if engine not in ("transit", "transit-simple", "crowfly"):
        raise _fail(ValueError(f"--engine {engine!r}: calibrate checks transit, transit-simple or crowfly"))
    sets = hospital_set or list(DEFAULT_SETS)
    try:
        london = load_london(data)
        eng = make_engine(engine, data=london.paths, params=params)
        demand = london.study_demand.points
        if grid_values is not None:
            if not hasattr(eng, "with_params"):
                raise EngineError(f"--grid needs the transit or transit-simple engine, not {engine}")
            for name in sets:
                with _steps("settings") as progress:
                    task = progress.add_task(f"calibration grid ({name})", total=None)
                    table = calibration_grid(
                        demand,
                        london.paths,
                        eng.with_params,
                        grid_values,
                        hospital_set=name,
                        year=year,
                        progress=lambda done, total, t=task, p=progress: p.update(t, completed=done, total=total),
                    )
                path = write_csv(table, out / f"calibration_grid_{name}.csv")
                best = best_settings(table, list(grid_values))
                _print_frame(best, f"Best setting per measure ({name}, {len(table)} settings; all in {path})")
            return
        for name in sets:
            result = calibrate(demand, london.paths, eng, hospital_set=name, year=year)
            csv_path = result.write(out)
            png = plot_calibration(result, out / f"calibration_{name}.png")
            headline = name == HEADLINE_SET and engine == "transit"
            _print_calibration(result, primary=headline)
            if headline:
                with console.status("cross-validating (leave one borough out)"):
                    cv = cross_validate(demand, london.paths, eng.with_params, hospital_set=name, year=year)
                grid_text = ", ".join(f"{k} in {v}" for k, v in cv.grid.items())
                state = "[green]met[/]" if cv.met() else "[red]NOT met[/]"
                console.print(
                    f"  cross-validated (leave one borough out; refit over {grid_text}): MAE {cv.mae_min:.2f} min "
                    f"out of sample, {cv.in_sample_mae_min:.2f} in sample; target <= 2.5: {state}"
                )
                write_csv(cv.boroughs, out / f"calibration_cv_{name}.csv")
            console.print(f"Wrote {csv_path} and {png}")
    except PlannerError as exc:
        raise _fail(exc) from exc


def _parse_grid(items: list[str]) -> dict[str, list[float]]:
    grid: dict[str, list[float]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not values.strip():
            raise typer.BadParameter(f"expected NAME=V1,V2,..., got {item!r}", param_hint="--grid")
        try:
            parsed = [float(v) for v in values.split(",")]
        except ValueError:
            raise typer.BadParameter(
                f"{item!r}: grid values must be numbers, with no empty ones (on/off switches such as night_buses "
                "cannot be searched: compare two --param runs instead)",
                param_hint="--grid",
            ) from None
        if key.strip() in grid:
            raise typer.BadParameter(
                f"{key.strip()} given twice; give all its values once (NAME=V1,V2)", param_hint="--grid"
            )
        if len(set(parsed)) < len(parsed):
            raise typer.BadParameter(f"{item!r} repeats a value; each setting is evaluated once", param_hint="--grid")
        grid[key.strip()] = parsed
    return grid


def _print_frame(frame, title: str) -> None:
    table = Table(title=title)
    for col in frame.columns:
        table.add_column(str(col), justify="left" if frame[col].dtype == object else "right")
    for row in frame.itertuples(index=False):
        table.add_row(*(f"{v:.3g}" if isinstance(v, float) else str(v) for v in row))
    _show(table)


def _print_calibration(result, *, primary: bool) -> None:
    m = result.metrics
    console.print(
        f"[bold]{result.engine.get('engine')} vs DfT JTS04, nearest hospital ({result.hospital_set}), "
        f"{int(m['boroughs'])} boroughs[/]"
    )
    console.print(
        f"  bias {m['bias_min']:+.2f} min, MAE {m['mae_min']:.2f} min, RMSE {m['rmse_min']:.2f} min, "
        f"correlation {m['corr']:.3f}; share within 30 min off by {m['share30_mae_pts']:.1f} points on average"
    )
    console.print(
        f"  London: mean {m['london_mean_model']:.1f} min (DfT {m['london_mean_dft']:.1f}); within 45 min "
        f"{m['london_within_45_model']:.2f} % (DfT {m['london_within_45_dft']:.2f} %)"
    )
    if primary:
        targets = result.targets()
        for row in targets.itertuples(index=False):
            state = "[green]met[/]" if row.met else "[red]NOT met[/]"
            console.print(f"  target {row.measure} {row.target}: {row.value:.3g} {state}")
    worst = result.worst(5)
    console.print(
        "  worst boroughs: "
        + "; ".join(f"{r.borough_name} {r.diff_min:+.1f} min" for r in worst.itertuples(index=False))
    )


@app.command("sessions")
def sessions_cmd(
    scenario: Annotated[Path, typer.Argument(help="The plan.")],
    data: DataOpt = None,
    threshold: Annotated[
        float | None, typer.Option(help="Minutes (default: the scenario's first).", callback=_threshold)
    ] = None,
    sites: Annotated[Path | None, typer.Option(help="Candidate buildings (default: ward centres).")] = None,
    out: OutOpt = Path("out/sessions"),
) -> None:
    """Where to hold community contact sessions for residents beyond the threshold."""
    from planner.context import RunContext
    from planner.proposals import sessions

    _out(out)
    try:
        plan = sessions(scenario, out=out, context=RunContext(data), threshold=threshold, sites=sites)
    except PlannerError as exc:
        raise _fail(exc) from exc
    console.print(
        f"{plan.uncovered:,} residents are beyond the threshold; {plan.sessions_needed} session site(s) "
        f"bring {plan.uncovered - plan.not_coverable:,} of them within it"
        + (f"; {plan.not_coverable:,} cannot be reached from any candidate site." if plan.not_coverable else ".")
    )
    table = Table("site", "residents newly within reach", title="Community contact sessions")
    for r in plan.sites.itertuples():
        table.add_row(str(r.name), f"{r.residents:,}")
    _show(table)


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

    _out(out)
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
        raise _fail(exc, {"group": "--group"}) from exc
    for path in written:
        console.print(f"{path} ({path.stat().st_size / 1e6:.1f} MB)", soft_wrap=True)  # a path is never broken


def _dask_address(client: object) -> str:
    """Where to watch the sweep: the Dask dashboard's address (its pages need bokeh)."""
    import importlib.util

    link = getattr(client, "dashboard_link", None) or getattr(getattr(client, "scheduler", None), "address", "")
    note = "" if importlib.util.find_spec("bokeh") else " (install bokeh to see its pages)"
    return f"Dask dashboard: {link}{note}"


def _minutes(value: float) -> str:
    """Minutes to one decimal, or "unreachable" when there is no finite time."""
    return f"{value:.1f}" if math.isfinite(value) else "unreachable"


@app.command("sweep")
def sweep_cmd(
    scenario: Annotated[Path, typer.Argument(help="The plan to sweep.")],
    kind: Annotated[str, typer.Option(help="marginal, pairs, triples or grid.")] = "marginal",
    data: DataOpt = None,
    plans: Annotated[
        list[Path] | None, typer.Option("--plan", help="Grid: also evaluate this plan (repeatable).")
    ] = None,
    bus_speed: Annotated[str | None, typer.Option(help="Grid: bus speeds, km/h, e.g. 12,15,18.")] = None,
    walk_speed: Annotated[str | None, typer.Option(help="Grid: walking speeds, km/h.")] = None,
    bus_wait: Annotated[str | None, typer.Option(help="Grid: bus waits, minutes.")] = None,
    rail_wait: Annotated[str | None, typer.Option(help="Grid: rail waits, minutes.")] = None,
    thresholds: Annotated[str | None, typer.Option("--thresholds", help="Grid: thresholds, minutes.")] = None,
    scheduler: Annotated[str | None, typer.Option(help="tcp://HOST:PORT of an existing Dask scheduler.")] = None,
    workers: Annotated[int | None, typer.Option(help="Local Dask workers (default: one per core).", min=1)] = None,
    chunk_size: Annotated[int, typer.Option(help="Scenarios per chunk.", min=1)] = 4000,
    top: Annotated[
        int | None,
        typer.Option(help="Closure sweeps: keep the N worst closures of each size in results.parquet.", min=1),
    ] = None,
    out: OutOpt = Path("out/sweeps"),
) -> None:
    """Closure and sensitivity sweeps on Dask; resumes an interrupted sweep."""
    from planner.sweep import KINDS, grid_from_options, run_sweep

    if kind not in KINDS:
        raise _fail(ValueError(f"unknown sweep kind {kind!r}; choose {', '.join(KINDS)}"))
    _out(out)
    try:
        grid = grid_from_options(
            {
                "bus_speed_kmh": bus_speed,
                "walk_speed_kmh": walk_speed,
                "bus_wait_min": bus_wait,
                "rail_wait_min": rail_wait,
                "threshold": thresholds,
            }
        )
    except PlannerError as exc:
        raise _fail(exc, SWEEP_FLAGS) from exc
    with _steps("chunks", transient=False) as progress:
        task = progress.add_task(f"sweep ({kind})", total=None)
        try:
            result = run_sweep(
                scenario,
                kind=kind,
                out=out,
                data=data,
                grid=grid,
                plans=plans,  # type: ignore[arg-type]
                scheduler=scheduler,
                workers=workers,
                chunk_size=chunk_size,
                top=top,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
                on_cluster=lambda client: progress.console.print(_dask_address(client)),
            )
        except PlannerError as exc:
            raise _fail(exc, SWEEP_FLAGS) from exc
    kept = f", {len(result.results):,} kept in results" if len(result.results) != result.scenarios else ""
    console.print(
        f"{result.scenarios:,} scenarios in {result.seconds:.1f}s ({result.computed} chunks computed, "
        f"{result.reused} reused{kept}) → {result.folder}"
    )
    if kind == "grid":
        cols = [c for c in result.results.columns if c.startswith("param_")] + ["threshold"]
        table = Table(
            *[c.removeprefix("param_") for c in cols],
            "plan",
            "beyond",
            "% within",
            "optimum beyond (same count)",
            "optimiser's choice: counters changed",
            title="Sensitivity",
        )
        for r in result.results.itertuples(index=False):
            d = r._asdict()
            changed = "" if pd_isna(d["optimum_changes"]) else str(int(d["optimum_changes"]))
            table.add_row(
                *[f"{d[c]:g}" for c in cols],
                d["plan"],
                f"{int(d['beyond']):,}",
                f"{d['pct_within']:.2f}",
                f"{int(d['optimum_beyond']):,}",
                changed,
            )
        _show(table)
        return
    table = Table(title="Most critical counters")
    table.add_column("counter")
    table.add_column("residents losing 45-min access if it alone closes", justify="right")
    for r in result.critical.head(10).itertuples():
        table.add_row(str(r.name), f"{r.residents_losing_access:,}")
    _show(table)
    if kind != "marginal" and len(result.critical):
        _show(_worst_closures(result, top or 3))
    wt = Table(
        "ward",
        "borough",
        "closure scenarios that leave residents beyond",
        "most residents lost",
        title="Most fragile wards",
    )
    for r in result.fragile.head(10).itertuples():
        wt.add_row(r.ward_name, r.borough_name, f"{r.scenarios_losing:,}", f"{r.max_residents_lost:,.0f}")
    _show(wt)


def _worst_closures(result: SweepResult, top: int) -> Table:
    """The ``top`` closures of each size (two or more counters) that leave most residents beyond."""
    names = result.critical.set_index("station_id")["name"].astype(str)
    first = result.critical.iloc[0]
    base = int(first["beyond"] - first["residents_losing_access"])
    table = Table(title="Worst closures by size")
    table.add_column("closed together")
    table.add_column("residents beyond", justify="right")
    table.add_column("more than with the plan's counters", justify="right")
    several = result.results.loc[result.results["n_closed"] > 1]
    worst = several.sort_values(["n_closed", "beyond", "closed"], ascending=[True, False, True])
    for r in worst.groupby("n_closed", sort=True).head(top).itertuples():
        closed = " + ".join(names.get(c, c) for c in str(r.closed).split(";"))
        table.add_row(closed, f"{int(r.beyond):,}", f"{int(r.beyond) - base:,}")
    return table
