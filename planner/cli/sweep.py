"""``planner sweep``: closure and sensitivity sweeps on Dask."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from planner.cli.common import SWEEP_FLAGS, DataOpt, OutOpt, _out, _steps, app, console, fail, pd_isna, show
from planner.errors import PlannerError

if TYPE_CHECKING:
    from planner.sweep import SweepResult


def _dask_address(client: object) -> str:
    """Where to watch the sweep: the Dask dashboard's address (its pages need bokeh)."""
    import importlib.util

    link = getattr(client, "dashboard_link", None) or getattr(getattr(client, "scheduler", None), "address", "")
    note = "" if importlib.util.find_spec("bokeh") else " (install bokeh to see its pages)"
    return f"Dask dashboard: {link}{note}"


def _GridOpt(text: str) -> object:
    """A grid sweep's list of values: NAME=V1,V2 for one parameter."""
    return Annotated[str | None, typer.Option(help=text)]


@app.command("sweep")
def sweep_cmd(
    scenario: Annotated[Path, typer.Argument(help="The plan to sweep.")],
    kind: Annotated[str, typer.Option(help="marginal, pairs, triples or grid.")] = "marginal",
    data: DataOpt = None,
    plans: Annotated[
        list[Path] | None, typer.Option("--plan", help="Grid: also evaluate this plan (repeatable).")
    ] = None,
    bus_speed: _GridOpt("Grid: bus speeds, km/h, e.g. 12,15,18.") = None,
    walk_speed: _GridOpt("Grid: walking speeds, km/h.") = None,
    bus_wait: _GridOpt("Grid: bus waits, minutes.") = None,
    rail_wait: _GridOpt("Grid: rail waits, minutes.") = None,
    thresholds: _GridOpt("Grid: thresholds, minutes.") = None,
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
        raise fail(ValueError(f"unknown sweep kind {kind!r}; choose {', '.join(KINDS)}"))
    _out(out, outside_runs=True)
    values = {"bus_speed_kmh": bus_speed, "walk_speed_kmh": walk_speed, "bus_wait_min": bus_wait}
    try:
        grid = grid_from_options(values | {"rail_wait_min": rail_wait, "threshold": thresholds})
    except PlannerError as exc:
        raise fail(exc, SWEEP_FLAGS) from exc
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
            raise fail(exc, SWEEP_FLAGS) from exc
    kept = f", {len(result.results):,} kept in results" if len(result.results) != result.scenarios else ""
    console.print(
        f"{result.scenarios:,} scenarios in {result.seconds:.1f}s ({result.computed} chunks computed, "
        f"{result.reused} reused{kept}) → {result.folder}"
    )
    if kind == "grid":
        show(_grid_table(result))
        return
    _print_closures(result, kind, top)


def _grid_table(result: SweepResult) -> Table:
    """A grid sweep's results: each parameter setting and plan, its residents beyond and the optimiser's."""
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
    return table


def _print_closures(result: SweepResult, kind: str, top: int | None) -> None:
    """A closure sweep's most critical counters, worst closures and most fragile wards."""
    table = Table(title="Most critical counters")
    table.add_column("counter")
    table.add_column("residents losing 45-min access if it alone closes", justify="right")
    for r in result.critical.head(10).itertuples():
        table.add_row(str(r.name), f"{r.residents_losing_access:,}")
    show(table)
    if kind != "marginal" and len(result.critical):
        show(worst_closures(result, top or 3))
    wt = Table(
        "ward",
        "borough",
        "closure scenarios that leave residents beyond",
        "most residents lost",
        title="Most fragile wards",
    )
    for r in result.fragile.head(10).itertuples():
        wt.add_row(r.ward_name, r.borough_name, f"{r.scenarios_losing:,}", f"{r.max_residents_lost:,.0f}")
    show(wt)


def worst_closures(result: SweepResult, top: int) -> Table:
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
