"""What every command shares: the app, the consoles, the options, the flags and how library errors are shown."""

from __future__ import annotations

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
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from planner.errors import PlannerError, PlannerWarning
from planner.travel.registry import REGISTRY

if TYPE_CHECKING:
    pass

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


def show(table: Table, *, to: Console | None = None) -> None:
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


def engine_help(*, purpose: str, ability: str | None = None) -> str:
    """The ``--engine`` help: the registry's engines (those with ``ability``, an :class:`EngineInfo` flag)."""
    names = [n for n, info in REGISTRY.items() if ability is None or getattr(info, ability)]
    return f"{purpose}: {', '.join(names[:-1])} or {names[-1]}."


def check_engine(engine: str, *, ability: str, why: str) -> None:
    """Refuse an engine the registry lacks, or one without ``ability`` (exit 2, naming the ones that have it)."""
    info = REGISTRY.get(engine)
    if info is None or not getattr(info, ability):
        names = [n for n, i in REGISTRY.items() if getattr(i, ability)]
        raise fail(ValueError(f"--engine {engine!r}: {why} use {', '.join(names[:-1])} or {names[-1]}"))


YearOpt = Annotated[int, typer.Option(help="Population year.")]
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
    """The ``planner`` command: ``-v`` (``-vv``, ...) may also come after the sub-command (``planner run -v ...``).

    Parameters
    ----------
    argv
        The arguments after ``planner`` (default: the command line's).
    """
    from planner.clock import check_source_date_epoch

    try:  # before any work: the run folders and the report would carry its date
        check_source_date_epoch()
    except PlannerError as exc:
        raise SystemExit(fail(exc).exit_code) from exc
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


def with_flags(text: str, flags: dict[str, str] | None = None) -> str:
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


def fail(exc: Exception, flags: dict[str, str] | None = None) -> typer.Exit:
    """Print a library error in the CLI's words (see :func:`with_flags`) and exit with status 2."""
    text = with_flags(str(exc), flags)
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


def _out(path: Path | None, option: str = "--out", *, outside_runs: bool = False) -> None:
    """Refuse an output folder that cannot be written (or a run folder), before any work starts."""
    from planner.io import check_out_dir

    if path is None:
        return
    try:
        check_out_dir(path, option=option, outside_runs=outside_runs)
    except PlannerError as exc:
        raise fail(exc) from exc


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


def _range(text: str, what: str) -> tuple[int, int]:
    lo, sep, hi = text.partition("-")
    try:
        return (int(lo), int(hi)) if sep else (int(lo), int(lo))
    except ValueError as exc:
        raise typer.BadParameter(f"expected LOW-HIGH, got {text!r}", param_hint=what) from exc


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


def minutes_text(value: float) -> str:
    """Minutes to one decimal, or "unreachable" when there is no finite time."""
    return f"{value:.1f}" if math.isfinite(value) else "unreachable"
