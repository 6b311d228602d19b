"""``planner access``: the 45-minute test for one set of open counters (and postcodes)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from planner.cli.common import (
    DataOpt,
    YearOpt,
    _folder,
    _out,
    _parse_params,
    _steps,
    _threshold,
    app,
    console,
    engine_help,
    fail,
    minutes_text,
    show,
)
from planner.errors import PlannerError


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
            minutes_text(r.p95_minutes),
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
        minutes_text(lon.p95_minutes),
        f"{int(lon.beyond_65_plus):,}",
    )
    show(table)
    if int(lon.unreachable):
        console.print(f"[yellow]{int(lon.unreachable):,} residents reach no open counter.")


@app.command("access")
def access_cmd(
    data: DataOpt = None,
    open_: Annotated[
        str, typer.Option("--open", help="Open counters: STATUS_COLUMN=VALUE[,VALUE] or ids=ID[,ID].")
    ] = "status_final_nov2017=retain,new",
    stations: Annotated[Path | None, typer.Option(help="Stations file (default: the data directory's).")] = None,
    engine: Annotated[str, typer.Option(help=engine_help(purpose="Travel engine"))] = "transit",
    threshold: Annotated[float, typer.Option(help="Minutes.", callback=_threshold)] = 45.0,
    osm: Annotated[Path | None, typer.Option(help="OSM file for the network engine.")] = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="Engine parameter NAME=VALUE.")] = None,
    year: YearOpt = 2019,
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
    from planner.context import RunContext
    from planner.io import check_out_beside_data, locked_folder
    from planner.stations import load_stations, select_counters

    _out(out)
    try:
        with _steps() as progress:
            task = progress.add_task("loading data", total=4)
            london = (ctx := RunContext(data)).london(demand_year=year)
            check_out_beside_data(out, london.paths.root, option="--out")
            pool = load_stations(stations) if stations else london.stations
            counters = select_counters(pool, open_)
            progress.update(task, advance=1, description=f"building {engine} engine")
            eng = ctx.engine(engine, params=_parse_params(param), osm=osm)
            progress.update(task, advance=1, description="travel times")
            demand = london.study_demand.in_boroughs(borough) if borough else london.study_demand
            result = assess(demand, counters, eng, threshold=threshold)
            progress.update(task, advance=1, description="writing")
            wards = london.study_wards
            if postcode:
                from planner.postcodes import find_postcodes, postcode_access

                found = find_postcodes(postcode, london.paths.root)
                answers = postcode_access(found, counters, eng, wards=london.wards)
            with locked_folder(out):  # another command writing into the same folder waits its turn
                files = result.write(out, wards.loc[wards["ward_code"].isin(demand.wards["ward_code"])])
                if postcode:
                    answers.to_csv(out / "access_postcodes.csv", index=False)
                    files = [*files, out / "access_postcodes.csv"]
            progress.update(task, advance=1)
    except PlannerError as exc:
        raise fail(exc, {"Demand.in_boroughs": "--borough"}) from exc
    console.print(f"{len(counters)} open counters ({open_})")
    _print_access(result, total="Total (selected boroughs)" if borough else "London (Met area)")
    for r in answers.itertuples() if postcode else ():
        city = " (City of London: served by the City of London Police, not the Met)" if not r.ward_code else ""
        console.print(f"{r.postcode}: {r.station_id}, {r.minutes:.1f} min{city}")
    console.print(f"Wrote {len(files)} files to {out}")
