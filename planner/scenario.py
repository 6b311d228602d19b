"""Closure scenarios as TOML files, validated with pydantic.

A scenario names the open counters (by id or by a status column of the
stations file) and which of them are open 24/7, the travel-time engine and
its parameters, the thresholds, the demand year, the hub settings and,
optionally, costs.  See ``scenarios/*.toml`` for commented examples.
"""

from __future__ import annotations

import logging
import math
import os
import tomllib
import warnings
from pathlib import Path
from typing import Annotated, Any, Literal

import geopandas as gpd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from planner.errors import DataError, OptionError, PlannerWarning, ScenarioError
from planner.hubs.model import HubOptions, HubTarget
from planner.stations import selected_ids
from planner.stats import check_threshold
from planner.travel import ENGINES, check_engine_params, engine_info

logger = logging.getLogger(__name__)

__all__ = [
    "CostSpec",
    "CounterSpec",
    "EngineSpec",
    "HubSpec",
    "Scenario",
    "Selection",
    "check_distinct_names",
    "check_hub_count",
    "closure_savings",
    "load_scenario",
    "resolve_counters",
    "scenario_to_toml",
]


#: An engine name: one of the registry's (:data:`planner.travel.registry.REGISTRY`).
EngineName = Literal[ENGINES]  # type: ignore[valid-type]

#: The longest scenario name: it names a folder, with room for a temporary suffix within any file system's limit.
NAME_MAX = 80
#: Names of folders planner writes beside the run folders in ``--out``; no scenario may take one.
RESERVED_NAMES = ("maps", "compare", "report", "cache")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Selection(_Model):
    """Stations chosen by a status column, by ids, or both.

    ``column``/``values`` select rows whose column takes one of the values;
    ``ids`` lists station ids; ``add`` and ``remove`` adjust either.
    """

    column: str | None = None
    values: list[str] = Field(default_factory=list)
    ids: list[str] = Field(default_factory=list)
    add: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_way(self) -> Selection:
        if self.column is None and not self.ids and not self.add:
            raise ValueError("give column and values, or ids")
        if self.column is not None and not self.values:
            raise ValueError(f"column {self.column!r} needs a non-empty values list")
        for name in ("ids", "add", "remove"):
            items = getattr(self, name)
            dup = sorted({i for i in items if items.count(i) > 1})
            if dup:
                raise ValueError(f"duplicate station ids in {name}: {dup}")
        for name in ("ids", "add"):
            both = sorted(set(getattr(self, name)) & set(self.remove))
            if both:  # remove would win without a word: the file contradicts itself
                raise ValueError(
                    f"station ids {both} are in both {name} and remove; keep each id in one list "
                    f"({name} opens it, remove closes it)"
                )
        return self


class CounterSpec(_Model):
    """Which counters are open, which are 24/7, and optimiser constraints."""

    stations: str | None = Field(default=None, description="stations file, relative to the data directory")
    open: Selection
    twenty_four_seven: Selection | None = None
    required: list[str] = Field(default_factory=list, description="counters the optimiser must keep")
    forbidden: list[str] = Field(default_factory=list, description="counters the optimiser may not keep")

    @model_validator(mode="after")
    def _no_conflict(self) -> CounterSpec:
        both = sorted(set(self.required) & set(self.forbidden))
        if both:
            raise ValueError(f"counters {both} are both required and forbidden")
        return self


class EngineSpec(_Model):
    """Travel-time engine and its parameters."""

    name: EngineName = "transit"
    osm: str | None = None
    params: dict[str, bool | float | str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_params(self) -> EngineSpec:
        check_engine_params(self.name, self.params)
        return self


def check_hub_count(value: int | str | None) -> int | str | None:
    """Check a total number of hubs: ``N``, ``"LOW-HIGH"``, ``"LOW-"``, ``"near:N"`` or ``"free"``.

    The hub model's own parser (:meth:`planner.hubs.HubTarget.parse`) decides, so the command line, scenario
    files and the library accept and refuse the same things.

    Parameters
    ----------
    value
        As written by the user (an int from a scenario file, or text).

    Returns
    -------
    int, str or None
        The value, unchanged.

    Raises
    ------
    OptionError
        (a ``ValueError``) with the allowed forms, for anything else.
    """
    if isinstance(value, bool) or not isinstance(value, int | str | None):
        raise OptionError(f"hubs must be a number or text (got {value!r}); write N, LOW-HIGH, LOW-, near:N or free")
    HubTarget.parse(value)
    return value


class HubSpec(_Model):
    """Ward-hub settings."""

    enabled: bool = True
    wards_per_hub: tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]] = (4, 5)
    hubs: int | str | None = None
    engine: EngineName = "crowfly"
    solver: Literal["cbc", "highs"] = "cbc"

    @field_validator("hubs")
    @classmethod
    def _count(cls, v: int | str | None) -> int | str | None:
        return check_hub_count(v)

    @field_validator("engine")
    @classmethod
    def _hub_engine(cls, v: str) -> str:
        if not engine_info(v).hubs:
            raise ValueError(
                f"the {v} engine cannot be used for residents' trips to hub sites (no OSM file can be given "
                "for them); use crowfly (the default) or transit"
            )
        return v

    def options(self) -> HubOptions:
        """The hub model's options these settings give (the one conversion from the scenario file)."""
        return HubOptions(size=self.wards_per_hub, hubs=self.hubs, solver=self.solver)

    @field_validator("wards_per_hub")
    @classmethod
    def _ordered(cls, v: tuple[int, int]) -> tuple[int, int]:
        if v[0] > v[1]:
            raise ValueError(f"smallest hub size {v[0]} is larger than the largest {v[1]}")
        return v


#: The dearest plausible annual running cost of one counter (building, staff): the Met's 2017 estimates are
#: about £0.25 million a counter; ten million a year is a typing slip (an extra zero, or pence).
MAX_COUNTER_COST = 10_000_000.0


class CostSpec(_Model):
    """Annual running costs of counters, where known."""

    currency: str = "GBP"
    annual_cost_per_counter: float | None = Field(default=None, ge=0, le=MAX_COUNTER_COST, allow_inf_nan=False)
    by_station: dict[str, Annotated[float, Field(ge=0, le=MAX_COUNTER_COST, allow_inf_nan=False)]] = Field(
        default_factory=dict
    )

    def cost(self, station_id: str) -> float | None:
        return self.by_station.get(station_id, self.annual_cost_per_counter)


def closure_savings(
    closed: list[str],
    costs: CostSpec | None,
    *,
    opened: list[str] | tuple[str, ...] = (),
    reference: CostSpec | None = None,
) -> tuple[float, str]:
    """The net annual saving of a plan: the cost of the counters it closes less that of those it opens.

    Parameters
    ----------
    closed
        Station ids open in the reference plan and closed in this one.
    costs
        The scenario's ``[costs]`` (or the reference scenario's), if any.
    opened
        Station ids closed in the reference plan and open in this one: their running cost is
        deducted, so a plan that swaps counters is not credited with the gross saving.
    reference
        The reference scenario's ``[costs]``: when both files give costs in different currencies the
        savings are unknown (no figure adds pounds to euros).

    Returns
    -------
    tuple
        ``(savings, why)``: 0 when nothing closes or opens; NaN with the reason when
        any closed or opened counter's cost is unknown (a partial sum would misstate
        the savings); ``why`` is empty when the savings are known. Negative when the
        plan costs more than the reference.
    """
    if not closed and not opened:
        return 0.0, ""
    if costs is None:
        return math.nan, "no costs in the scenario files"
    if reference is not None and reference.currency != costs.currency:
        return math.nan, f"the scenario files give costs in {reference.currency} and {costs.currency}"
    changed = [*closed, *opened]
    known = [costs.cost(s) for s in changed]
    missing = [s for s, k in zip(changed, known, strict=True) if k is None]
    if missing:
        return math.nan, f"no cost for {', '.join(missing)}"
    saved = sum(k for k in known[: len(closed)])  # type: ignore[misc]
    spent = sum(k for k in known[len(closed) :])  # type: ignore[misc]
    return float(saved - spent), ""


class Scenario(_Model):
    """One closure scenario."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=NAME_MAX)
    description: str = ""
    counters: CounterSpec
    engine: EngineSpec = Field(default_factory=EngineSpec)
    thresholds: list[Annotated[float, Field(gt=0, allow_inf_nan=False)]] = Field(
        default_factory=lambda: [45.0, 60.0], min_length=1
    )
    demand_year: Literal[2019, 2020] = 2019
    ward_year: Literal[2014, 2018] = 2014
    imd_year: Literal[2015, 2019] = 2015
    include_city: bool = False
    hubs: HubSpec = Field(default_factory=HubSpec)
    costs: CostSpec | None = None
    notes: str = ""

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, v: str) -> str:
        if v.casefold() in RESERVED_NAMES:
            raise ValueError(
                f"{v!r} is the name of a folder planner writes beside the run folders ({', '.join(RESERVED_NAMES)}); "
                "choose another name"
            )
        return v

    @field_validator("thresholds")
    @classmethod
    def _distinct(cls, v: list[float]) -> list[float]:
        for t in v:
            check_threshold(t, what="thresholds:")
        labels = [f"{t:g}" for t in v]
        for i, label in enumerate(labels):
            if label in labels[:i]:
                first = v[labels.index(label)]
                raise ValueError(
                    f"thresholds {first!r} and {v[i]!r} are the same threshold (both labelled {label} minutes "
                    "in every table); list each threshold once"
                )
        return v

    @property
    def threshold(self) -> float:
        """The primary threshold (the first listed)."""
        return self.thresholds[0]


def check_distinct_names(scenarios: list[Scenario], sources: list[str]) -> None:
    """Refuse scenarios that share a ``name``: each writes the run folder of that name, so the last would win.

    Parameters
    ----------
    scenarios
        The scenarios of one run.
    sources
        Their files (or labels), in the same order, for the message.

    Raises
    ------
    ScenarioError
        Naming the files that share a name.
    """
    seen: dict[str, str] = {}
    for spec, source in zip(scenarios, sources, strict=True):
        key = spec.name.casefold()  # a case-insensitive file system would merge 'Plan' and 'plan' too
        if key in seen:
            raise ScenarioError(
                f"{seen[key]} and {source} both have name = {spec.name!r}: each scenario writes the run folder "
                "of its name, so one would overwrite the other; give each scenario its own name"
            )
        seen[key] = source


def _format_errors(path: Path, exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        got = err.get("input")
        shown = "" if isinstance(got, dict) or err["type"] == "missing" else f" (got {got!r})"
        lines.append(f"  {loc}: {msg}{shown}")
    return f"{path}: invalid scenario\n" + "\n".join(lines)


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    """Read and validate a scenario file.

    Parameters
    ----------
    path
        A TOML scenario file.

    Returns
    -------
    Scenario
        The validated scenario.

    Raises
    ------
    ScenarioError
        Naming the file, the field and what is allowed.
    """
    path = Path(path)
    if not path.is_file():
        raise ScenarioError(f"scenario file {path} does not exist")
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc})") from exc
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(_format_errors(path, exc)) from exc


def _select(stations: gpd.GeoDataFrame, sel: Selection, where: str) -> list[str]:
    try:
        ids = set(selected_ids(stations, column=sel.column, values=sel.values, ids=sel.ids, where=where))
        for field in ("add", "remove"):
            selected_ids(stations, ids=getattr(sel, field), where=f"{where}.{field}", fields=False)
    except DataError as exc:
        raise ScenarioError(str(exc)) from exc
    return sorted((ids | set(sel.add)) - set(sel.remove))


def _say(message: str) -> None:
    warnings.warn(message, PlannerWarning, stacklevel=3)
    logger.warning(message)


def _say_broken_rules(spec: CounterSpec, open_ids: list[str], source: str) -> None:
    """A plan that closes a counter its own ``required`` keeps, or opens one its ``forbidden`` drops."""
    closed = sorted(set(spec.required) - set(open_ids))
    opened = sorted(set(spec.forbidden) & set(open_ids))
    if closed or opened:
        parts = [
            f"counters.required {closed} are closed by counters.open" if closed else "",
            f"counters.forbidden {opened} are opened by counters.open" if opened else "",
        ]
        _say(
            f"{source}: the plan breaks its own rules: {'; '.join(p for p in parts if p)} (the optimiser "
            "keeps these rules; the plan itself is run as written): correct counters.open or the rules"
        )


def resolve_counters(
    scenario: Scenario, stations: gpd.GeoDataFrame, *, source: str = "scenario"
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The scenario's open counters and the ids of those open 24/7.

    Parameters
    ----------
    scenario
        A validated scenario.
    stations
        Every station of the stations file.
    source
        Names the scenario in error messages (usually its file).

    Returns
    -------
    counters, twenty_four_seven
        The open counters (sorted by id) and the 24/7 subset's ids.
    """
    spec = scenario.counters
    open_ids = _select(stations, spec.open, f"{source}: counters.open")
    if not open_ids:
        raise ScenarioError(f"{source}: counters.open selects no station")
    known = set(stations["station_id"])
    for field in ("required", "forbidden"):
        unknown = sorted(set(getattr(spec, field)) - known)
        if unknown:
            raise ScenarioError(f"{source}: counters.{field}: unknown station id(s) {unknown}")
    if scenario.costs is not None:
        unknown = sorted(set(scenario.costs.by_station) - known)
        if unknown:
            raise ScenarioError(f"{source}: costs.by_station: unknown station id(s) {unknown}; see the stations file")
    _say_broken_rules(spec, open_ids, source)
    all_day: list[str] = []
    if spec.twenty_four_seven is None:
        _say(
            f"{source}: no counters.twenty_four_seven, so no counter counts as open 24/7 and every figure "
            "'from a 24/7 counter' counts every resident as beyond; name the 24/7 counters (e.g. "
            'twenty_four_seven = { column = "hours_2017", values = ["24/7"] }) if the plan keeps any'
        )
    else:
        all_day = _select(stations, spec.twenty_four_seven, f"{source}: counters.twenty_four_seven")
        closed = sorted(set(all_day) - set(open_ids))
        if closed:
            message = (
                f"{source}: counters.twenty_four_seven names {len(closed)} counter(s) that counters.open does not "
                f"open, so they are not counted as open 24/7: {closed}"
            )
            warnings.warn(message, PlannerWarning, stacklevel=2)
            logger.warning(message)
        all_day = [s for s in all_day if s in set(open_ids)]
    counters = stations.loc[stations["station_id"].isin(open_ids)].sort_values("station_id").reset_index(drop=True)
    counters["open_24_7"] = counters["station_id"].isin(all_day)
    return counters, all_day


def scenario_to_toml(scenario: Scenario, *, header: str = "") -> str:
    """Write a scenario as TOML text (for optimiser proposals) that :func:`load_scenario` reads back.

    Parameters
    ----------
    scenario
        The scenario.
    header
        Text written first as ``#`` comment lines (control characters other than tab shown as ``\\xNN``).
    """
    import tomli_w

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v is not None and not (isinstance(v, list) and not v)}
        return value

    def comment(line: str) -> str:
        # TOML comments may hold no control character but tab: write the others as \xNN
        shown = "".join(f"\\x{ord(c):02x}" if (ord(c) < 0x20 and c != "\t") or c == "\x7f" else c for c in line)
        return f"# {shown}".rstrip()

    lines = [comment(line) for line in header.splitlines()] if header else []
    body = tomli_w.dumps(clean(scenario.model_dump(mode="json")))
    return "\n".join([*lines, ""]) + body if lines else body
