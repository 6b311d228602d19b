"""``planner calibrate``: travel times against DfT's journey-time statistics (and a parameter grid)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from planner.cli.common import (
    DataOpt,
    _folder,
    _out,
    _parse_params,
    _steps,
    app,
    check_engine,
    console,
    engine_help,
    fail,
    show,
)
from planner.errors import PlannerError


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
    engine: Annotated[str, typer.Option(help=engine_help(purpose="Engine to check", ability="calibrates"))] = "transit",
    param: Annotated[list[str] | None, typer.Option("--param", help="Engine parameter NAME=VALUE.")] = None,
    grid: Annotated[
        list[str] | None,
        typer.Option(help="Search parameters: NAME=V1,V2 [NAME=V1,V2 ...]; reports the best setting per measure."),
    ] = None,
    year: Annotated[int, typer.Option(help="JTS04 year (2015 or 2016; the 2014 table lacks Hosp_pop).")] = 2016,
    out: Annotated[Path, typer.Option(help="Output folder.", parser=_folder)] = Path("out/calibration"),
) -> None:
    """Check the travel times against DfT's journey time statistics (JTS04, nearest hospital)."""
    from planner.calibrate import DEFAULT_SETS
    from planner.context import RunContext

    grid_values, params = _grid_and_params(list(ctx.args), grid, param)
    check_engine(engine, ability="calibrates", why="calibrate checks the engines it can score:")
    if grid_values is not None:
        check_engine(engine, ability="grids", why="--grid fits the parameters of")
    _out(out)  # before the calibration runs, not after it
    sets = hospital_set or list(DEFAULT_SETS)
    try:
        ctx = RunContext(data)
        london, eng = ctx.london(), ctx.engine(engine, params=params)
        if grid_values is not None:
            _fit_grid(london, eng, grid_values, sets=sets, year=year, out=out)
        else:
            _score(london, eng, engine, sets=sets, year=year, out=out)
    except PlannerError as exc:
        raise fail(exc) from exc


def _grid_and_params(
    extra: list[str], grid: list[str] | None, param: list[str] | None
) -> tuple[dict[str, list[float]] | None, dict[str, object]]:
    """``--grid`` values (which may run on past the option) and ``--param`` values, each parameter once."""
    if extra and not grid:
        raise typer.BadParameter(f"unexpected argument(s) {extra}; grid values go after --grid", param_hint="--grid")
    grid_values = parse_grid([*(grid or []), *extra]) if grid else None
    params = _parse_params(param)
    both = sorted(set(params) & set(grid_values or {}))
    if both:
        raise typer.BadParameter(
            f"{both} given both as --param and in --grid; give each parameter once", param_hint="--grid"
        )
    return grid_values, params


def _fit_grid(london, eng, grid_values: dict[str, list[float]], *, sets: list[str], year: int, out: Path) -> None:
    """Every setting of the grid, per hospital set; prints the best setting per measure."""
    from planner.calibrate import best_settings, calibration_grid
    from planner.io import write_csv

    demand = london.study_demand.points
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


def _score(london, eng, engine: str, *, sets: list[str], year: int, out: Path) -> None:
    """Each hospital set's fit; for the headline set, the leave-one-borough-out cross-validation."""
    from planner.calibrate import HEADLINE_SET, calibrate, cross_validate, plot_calibration
    from planner.io import write_csv

    demand = london.study_demand.points
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


def parse_grid(items: list[str]) -> dict[str, list[float]]:
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
    show(table)


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
