"""``planner optimise`` and ``planner sessions``: proposals of counters to keep, and contact sessions."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from planner.cli.common import OPTIMISE_FLAGS, DataOpt, OutOpt, _out, _steps, _threshold, app, console, fail, show
from planner.errors import PlannerError


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
        raise fail(ValueError(f"unknown mode {mode!r}; choose min-counters, max-coverage or tradeoff"))
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
        raise fail(exc, OPTIMISE_FLAGS) from exc
    _print_proposal(result, max_disproportion)


def _print_proposal(result, max_disproportion: float | None) -> None:
    """The plan's coverage, the optimum with as many counters, and the proposal (or the trade-off curve)."""
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
        show(table)
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
    show(table)


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
        raise fail(exc) from exc
    console.print(
        f"{plan.uncovered:,} residents are beyond the threshold; {plan.sessions_needed} session site(s) "
        f"bring {plan.uncovered - plan.not_coverable:,} of them within it"
        + (f"; {plan.not_coverable:,} cannot be reached from any candidate site." if plan.not_coverable else ".")
    )
    table = Table("site", "residents newly within reach", title="Community contact sessions")
    for r in plan.sites.itertuples():
        table.add_row(str(r.name), f"{r.residents:,}")
    show(table)
