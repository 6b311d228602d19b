"""``planner data check`` and ``planner data fetch``: the data directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from planner.cli.common import FETCH_FLAGS, DataOpt, _folder, _out, console, data_app, err, fail, show, with_flags
from planner.errors import PlannerError


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
        raise fail(exc) from exc
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
    show(table)


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
            table.add_row(r.name, r.status, str(r.path) if r.path else with_flags(r.detail or "", FETCH_FLAGS))
        show(table)
    if failed is not None:
        raise fail(failed, FETCH_FLAGS) from failed
