"""Scenario-level optimisation: propose a better plan, and community contact sessions.

These functions take a scenario, run the exact models of
:mod:`planner.optimise` on its travel matrix and write the results,
including the proposed plan as a new scenario file that ``planner run``
accepts.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.context import ResolvedScenario, RunContext, counter_boroughs
from planner.errors import OptionError, ScenarioError
from planner.hubs import ward_sites
from planner.io import write_csv, write_json
from planner.optimise import (
    CounterChoice,
    SessionPlan,
    check_choice,
    choose_counters,
    group_ratios,
    plan_sessions,
    tradeoff,
)
from planner.scenario import CounterSpec, Scenario, Selection, load_scenario, scenario_to_toml
from planner.stations import load_stations
from planner.stats import beyond as beyond_threshold
from planner.stats import check_threshold
from planner.travel.base import TravelMatrix

__all__ = ["Proposal", "propose", "sessions"]

logger = logging.getLogger(__name__)

Mode = Literal["min-counters", "max-coverage", "tradeoff"]


@dataclass(frozen=True)
class Proposal:
    """What :func:`propose` found and wrote.

    Attributes
    ----------
    choice
        The optimal counters (None in trade-off mode).
    curve
        Trade-off table (trade-off mode).
    current
        The scenario's own plan: ``counters``, ``covered``, ``pct_covered``.
    same_count
        The optimum keeping as many counters as the scenario's plan.
    scenario_file
        The proposed plan as a scenario file.
    """

    choice: CounterChoice | None
    curve: pd.DataFrame | None
    current: dict
    same_count: CounterChoice
    scenario_file: Path | None
    files: list[Path]


def _candidates(
    ctx: RunContext, resolved: ResolvedScenario, extra: str | os.PathLike[str] | None
) -> tuple[gpd.GeoDataFrame, TravelMatrix]:
    stations = resolved.stations
    matrix = ctx.matrix(resolved)
    if extra is None:
        return stations, matrix
    new = load_stations(extra)
    clash = sorted(set(new["station_id"]) & set(stations["station_id"]))
    if clash:
        raise ScenarioError(f"{extra}: candidate ids {clash} already exist in the stations file; rename them")
    more = resolved.engine.matrix(resolved.points, new)
    plain = [frame.copy() for frame in (stations, new)]
    for frame in plain:
        frame.attrs = {}  # load_stations' attrs hold tables, which pandas cannot compare when it merges attrs
    combined = pd.concat(plain, ignore_index=True)
    merged = TravelMatrix(
        np.hstack([matrix.minutes, more.minutes]),
        matrix.origin_ids,
        np.concatenate([matrix.destination_ids, more.destination_ids]),
        matrix.origin_flags,
    )
    return gpd.GeoDataFrame(combined, geometry="geometry", crs=stations.crs), merged


def propose(
    scenario: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str],
    context: RunContext | None = None,
    data: str | os.PathLike[str] | None = None,
    mode: Mode = "max-coverage",
    k: int | None = None,
    target_pct: float | None = None,
    threshold: float | None = None,
    candidates: str | os.PathLike[str] | None = None,
    required: list[str] | None = None,
    forbidden: list[str] | None = None,
    solver: str | None = None,
    max_disproportion: float | None = None,
    groups: list[str] | None = None,
) -> Proposal:
    """Propose the counters to keep, starting from a scenario's settings.

    Parameters
    ----------
    scenario
        Scenario file: its engine, demand, thresholds and counters.required /
        counters.forbidden are used; its own plan is the point of comparison.
    out
        Folder for the proposal (scenario file, tables, report).
    context
        Shared caches (data, engines, matrices) of the invocation.
    data
        The data directory, when no ``context`` is given (default ``$PLANNER_DATA``).
    mode
        ``"min-counters"`` (a): the fewest counters with ``target_pct`` %
        within the threshold; ``"max-coverage"`` (b): the most residents
        within the threshold with ``k`` counters (default: as many as the
        scenario keeps); ``"tradeoff"`` (c): the curve of k against coverage.
    k, target_pct
        As above.
    threshold
        Minutes (default: the scenario's first threshold).
    candidates
        Extra candidate sites (a stations-style file) besides every station.
    required, forbidden
        Counters that must, or may not, be kept, added to the scenario's
        ``counters.required`` and ``counters.forbidden``.
    solver
        ``"cbc"`` or ``"highs"`` (default: CBC, or HiGHS with ``max_disproportion``).
    max_disproportion
        Every model keeps each equality group's disproportion ratio (its share beyond the threshold
        over everyone's) at or below this, e.g. 1.2.
    groups
        The groups the bound holds for (keys of :data:`planner.equality.GROUPS`; default: every
        group the data directory reports).

    Returns
    -------
    Proposal
        Results and files written.
    """
    _check_options(mode, k, target_pct, max_disproportion, groups, threshold)
    spec = load_scenario(scenario)
    ctx = context or RunContext(data)
    resolved = ctx.resolve(spec, source=str(scenario))
    london = resolved.london
    stations, matrix = _candidates(ctx, resolved, candidates)
    t = check_threshold(threshold if threshold is not None else spec.threshold)
    current = resolved.counters
    borough = pd.Series(counter_boroughs(stations, london.wards).to_numpy(), index=stations["station_id"].to_numpy())
    points = london.study_demand.points
    options = {
        "boroughs": sorted(london.study_wards["borough_code"].unique()),
        "required": sorted(set(spec.counters.required) | set(required or [])),
        "forbidden": sorted(set(spec.counters.forbidden) | set(forbidden or [])),
        "solver": solver,
    }
    current_info, covered = _current(matrix, current, points, t, spec.name)
    if max_disproportion is not None:
        table = _group_table(ctx, resolved, points, groups)
        options.update(groups=table, max_disproportion=max_disproportion)
        pop = points["population"].to_numpy(float)
        current_info["ratios"] = group_ratios(covered, pop, table.to_numpy(float), list(table.columns))
    same = choose_counters(matrix, points, borough, threshold=t, k=current_info["counters"], **options)
    own = (same, current_info["counters"])
    choice, curve = _solve((matrix, points, borough), mode, t, k=k, target_pct=target_pct, same=own, options=options)
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)  # only once every model is solved: a refusal writes nothing
    files: list[Path] = []
    proposal_file = None
    if curve is not None:
        files.append(write_csv(curve, folder / f"{spec.name}-tradeoff-{t:g}min.csv"))
    else:
        proposal_file = _write_proposal(
            spec, choice, current, stations, borough, matrix, folder, candidates, max_disproportion
        )
        files.append(proposal_file)
    report = {"scenario": spec.name, "mode": mode, "threshold": t, "current_plan": current_info}
    report |= {"optimum_same_count": _choice_entry(same), "max_disproportion": max_disproportion}
    report["proposal"] = None if choice is None else {**_choice_entry(choice), "file": str(proposal_file)}
    files.append(write_json(report, folder / f"{spec.name}-{mode}-report.json"))
    return Proposal(choice, curve, current_info, same, proposal_file, files)


def _check_options(
    mode: str,
    k: int | None,
    target_pct: float | None,
    max_disproportion: float | None,
    groups: list[str] | None,
    threshold: float | None,
) -> None:
    """Refuse options that cannot be met or make no sense together, before any data is read."""
    if mode not in get_args(Mode):
        raise OptionError(f"`mode` {mode!r} is not one of {', '.join(get_args(Mode))}")
    check_choice(k=k, target_pct=target_pct, max_disproportion=max_disproportion)
    if groups and max_disproportion is None:
        raise OptionError("`groups` names the groups that `max_disproportion` bounds; give `max_disproportion` too")
    if threshold is not None:
        check_threshold(threshold)


def _current(
    matrix: TravelMatrix, current: pd.DataFrame, points: pd.DataFrame, t: float, name: str
) -> tuple[dict, np.ndarray]:
    """The scenario's own plan: its counters and the residents within ``t`` minutes of one (and who they are)."""
    pop = points["population"].to_numpy(float)
    mask = np.isin(matrix.destination_ids, current["station_id"])
    covered = (matrix.minutes[:, mask] <= t).any(axis=1)
    count = int(pop[covered].sum())
    return {"scenario": name, "counters": int(mask.sum()), "covered": count, "pct_covered": 100 * count / pop.sum()}, (
        covered
    )


def _solve(
    models: tuple,
    mode: str,
    t: float,
    *,
    k: int | None,
    target_pct: float | None,
    same: tuple[CounterChoice, int],
    options: dict,
) -> tuple[CounterChoice | None, pd.DataFrame | None]:
    """The proposal of ``mode``: a choice of counters, or the trade-off curve."""
    matrix, points, borough = models
    if mode == "tradeoff":
        return None, tradeoff(matrix, points, borough, threshold=t, **options)
    if mode == "min-counters":
        if target_pct is None:
            raise ScenarioError("min-counters mode needs a target: `target_pct` (e.g. 99)")
        return choose_counters(matrix, points, borough, threshold=t, target_pct=target_pct, **options), None
    solved, own = same
    count = k or own
    if count == own:  # the plan's own count: the same-count model solved already
        return solved, None
    return choose_counters(matrix, points, borough, threshold=t, k=count, **options), None


def _choice_entry(choice: CounterChoice) -> dict:
    """A solved choice in the report: its counters, coverage, solve status and group ratios."""
    return {
        "counters": len(choice.open),
        "covered": choice.covered,
        "pct_covered": choice.pct_covered,
        "open": choice.open,
        "status": choice.report.status,
        "gap": choice.report.gap,
        "bound": choice.report.bound,
        "ratios": choice.ratios,
    }


def _group_table(
    ctx: RunContext, resolved: ResolvedScenario, points: pd.DataFrame, groups: list[str] | None
) -> pd.DataFrame:
    """Residents per demand point (in the points' order) of the groups a fairness bound holds for."""
    resident = ctx.groups(resolved)
    table = resident.table.drop(columns=["all"], errors="ignore")
    if groups:
        unknown = [g for g in groups if g not in table.columns]
        if unknown:
            why = "; ".join(f"{g}: {resident.omitted[g]}" for g in unknown if g in resident.omitted)
            raise OptionError(
                f"`groups` {unknown} are not reported; choose from {', '.join(table.columns)}"
                + (f" ({why})" if why else "")
            )
        table = table[list(dict.fromkeys(groups))]
    if resident.omitted:
        logger.warning(
            "max_disproportion does not bound the groups whose file is missing: %s", ", ".join(resident.omitted)
        )
    return table.reindex(points["point_id"].astype(str).to_numpy()).reset_index(drop=True)


def _write_proposal(
    spec: Scenario,
    choice: CounterChoice,
    current: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame,
    borough: pd.Series,
    matrix: TravelMatrix,
    folder: Path,
    candidates: str | os.PathLike[str] | None,
    max_disproportion: float | None = None,
) -> Path:
    # one 24/7 counter per borough: prefer one that is 24/7 today, else the one nearest the most residents
    chosen = matrix.subset(choice.open)
    nearest = chosen.nearest().table["station_id"].value_counts()
    was_24_7 = set(current.loc[current["open_24_7"], "station_id"])
    all_day = []
    for _b, ids in pd.Series(choice.open).groupby(borough.reindex(choice.open).to_numpy()):
        ranked = sorted(ids, key=lambda j: (j not in was_24_7, -int(nearest.get(j, 0)), j))
        all_day.append(ranked[0])
    name = f"{spec.name}-{choice.mode}-{len(choice.open)}"
    if max_disproportion is not None:
        name += f"-fair{max_disproportion:g}"
    fair = "" if max_disproportion is None else f", every group's disproportion ratio at most {max_disproportion:g}"
    stations_ref = spec.counters.stations
    if candidates is not None:
        combined = folder / f"{name}-stations.csv"
        frame = pd.DataFrame(stations.drop(columns="geometry"))
        frame["easting"], frame["northing"] = stations.geometry.x.round(1), stations.geometry.y.round(1)
        write_csv(frame.drop(columns=["lat", "lon"], errors="ignore"), combined)
        stations_ref = str(combined.resolve())
    proposal = spec.model_copy(
        update={
            "name": name,
            "description": (
                f"Proposed by planner optimise ({choice.mode}) from {spec.name}: {len(choice.open)} counters, "
                f"{choice.pct_covered:.2f}% of residents within {choice.threshold:g} minutes{fair}"
            ),
            "counters": CounterSpec(
                stations=stations_ref,
                open=Selection(ids=choice.open),
                twenty_four_seven=Selection(ids=sorted(all_day)),
                required=spec.counters.required,
                forbidden=spec.counters.forbidden,
            ),
            # the threshold the proposal was made for first: its run reports that figure first
            "thresholds": [choice.threshold, *(t for t in spec.thresholds if f"{t:g}" != f"{choice.threshold:g}")],
        }
    )
    header = (
        f"Proposed by `planner optimise --mode {choice.mode}` from scenario {spec.name}{fair}.\n"
        f"Exact MIP: status {choice.report.status}, gap {choice.report.gap:.1e}. The 24/7 counter of each "
        "borough is the one already 24/7, else the one nearest most residents."
    )
    path = folder / f"{name}.toml"
    path.write_text(scenario_to_toml(Scenario.model_validate(proposal.model_dump()), header=header))
    return path


def sessions(
    scenario: str | os.PathLike[str],
    *,
    out: str | os.PathLike[str] | None = None,
    context: RunContext | None = None,
    data: str | os.PathLike[str] | None = None,
    threshold: float | None = None,
    sites: str | os.PathLike[str] | None = None,
    max_km: float = 12.0,
    solver: str | None = None,
) -> SessionPlan:
    """Where to hold community contact sessions for residents beyond the threshold under a plan.

    Parameters
    ----------
    scenario
        The plan.
    out
        Folder for ``<name>-sessions.csv`` (optional).
    context
        Shared caches (data, engines, matrices) of the invocation.
    data
        The data directory, when no ``context`` is given (default ``$PLANNER_DATA``).
    threshold
        Minutes (default: the scenario's first threshold).
    sites
        Candidate buildings (stations-style file); default every ward's
        population-weighted centre.
    max_km
        Only sites within this distance of an uncovered resident are considered.
    solver
        ``"cbc"`` or ``"highs"``.
    """
    source = str(scenario)
    if threshold is not None:
        check_threshold(threshold)
    if isinstance(max_km, bool) or not isinstance(max_km, int | float) or not 0 < max_km < math.inf:
        raise OptionError(f"`max_km` must be a distance in km above 0, e.g. 12 (got {max_km!r})")
    spec = load_scenario(scenario)
    ctx = context or RunContext(data)
    resolved = ctx.resolve(spec, source=source)
    london, counters = resolved.london, resolved.counters
    t = check_threshold(threshold if threshold is not None else spec.threshold)
    nearest = ctx.matrix(resolved).subset(counters["station_id"].tolist()).nearest().table
    beyond = beyond_threshold(nearest["minutes"].to_numpy(float), t, nearest["reachable"].to_numpy(bool))
    points = london.study_demand.points.loc[beyond].reset_index(drop=True)
    if sites is None:
        cand = ward_sites(london.study_demand, london.study_wards)
        label = london.study_wards.set_index("ward_code")
        names = (label["ward_name"] + " (" + label["borough_name"] + ")").rename(None)
    else:
        cand = load_stations(sites).rename(columns={"station_id": "site_id"})
        cand["station_id"] = cand["site_id"]
        names = cand.set_index("site_id")["name"] if "name" in cand else pd.Series(dtype=str)
    if len(points):
        near = cand.geometry.apply(lambda g: points.distance(g).min() <= max_km * 1000)
        cand = cand.loc[near].reset_index(drop=True)
    matrix = resolved.engine.matrix(points, cand.assign(station_id=cand["site_id"]))
    plan = plan_sessions(matrix, points.set_index("point_id")["population"], names, threshold=t, solver=solver)
    if out is not None:
        write_csv(plan.sites, Path(out) / f"{spec.name}-sessions-{t:g}min.csv")
    return plan
