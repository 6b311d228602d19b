"""``planner hubs``: ward hubs of 4–5 contiguous wards per borough, solved exactly."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from planner.cli.common import (
    HUB_FLAGS,
    DataOpt,
    YearOpt,
    _folder,
    _hub_count,
    _out,
    _range,
    _steps,
    app,
    check_engine,
    console,
    engine_help,
    fail,
    show,
)
from planner.errors import PlannerError


def _sites(path: Path | None):
    """The candidate sites file, its must_use/must_not_use flags checked before any work (None: ward centres)."""
    from planner.hubs import site_flags
    from planner.stations import load_stations

    if path is None:
        return None
    frame = load_stations(path).rename(columns={"station_id": "site_id"})
    for flag in ("must_use", "must_not_use"):
        site_flags(frame, flag)
    return frame


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
    show(table)
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
        Path | None, typer.Option(help="Candidate sites (id, coordinates, must_use, must_not_use).")
    ] = None,
    solver: Annotated[str, typer.Option(help="cbc or highs.")] = "cbc",
    engine: Annotated[
        str, typer.Option(help=engine_help(purpose="Travel engine for residents' trips to hub sites", ability="hubs"))
    ] = "crowfly",
    gap: Annotated[float, typer.Option(help="Relative optimality gap accepted.")] = 0.0,
    population_per_hub: Annotated[
        str | None, typer.Option(help="Workload balance: LOW-HIGH residents per hub.")
    ] = None,
    join_boroughs: Annotated[
        list[str] | None,
        typer.Option(help="Plan these boroughs as one (CODE,CODE), so hubs may cross their line; repeatable."),
    ] = None,
    year: YearOpt = 2019,
    out: Annotated[Path, typer.Option(help="Output folder.", parser=_folder)] = Path("out/hubs"),
) -> None:
    """Group each borough's wards into contiguous hubs of 4-5 wards, solved exactly."""
    from planner.context import RunContext
    from planner.hubs import HubOptions, HubTarget, plan_hubs, write_hubs
    from planner.io import locked_folder

    check_engine(engine, ability="hubs", why="residents' trips to hub sites (no OSM file can be given for them):")
    _out(out)
    size = _range(wards_per_hub, "--wards-per-hub")
    bounds = _range(population_per_hub, "--population-per-hub") if population_per_hub else None
    join = [[c.strip() for c in group.split(",") if c.strip()] for group in join_boroughs or []] or None
    try:
        options = HubOptions(size, HubTarget.parse(hubs), population_bounds=bounds, solver=solver, gap=gap, join=join)
        site_frame = _sites(sites)
        ctx = RunContext(data)
        london, eng = ctx.london(demand_year=year), ctx.engine(engine)
        with _steps() as progress:
            task = progress.add_task("solving", total=london.study_wards["borough_code"].nunique())
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
        raise fail(exc, HUB_FLAGS) from exc
    _print_hubs(plan)
    console.print(f"Wrote {len(files)} files to {out}")
