"""The hub model's data: targets, options, the labelled problem and the solved plan."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypedDict

import geopandas as gpd
import numpy as np
import pandas as pd
import pulp

from planner.config import require_bng
from planner.errors import OptionError
from planner.solvers import SolveReport

__all__ = ["BoroughData", "BoroughSolution", "HubOptionFields", "HubOptions", "HubPlan", "HubProblem", "HubTarget"]

_FORMS = "N, LOW-HIGH, LOW- (at least LOW), near:N or free"


def _count(text: str, whole: str) -> int:
    value = int(text)
    if value < 1:
        raise OptionError(f"hub target {whole!r}: {value} is not a positive hub count; write {_FORMS}.")
    return value


@dataclass(frozen=True)
class HubTarget:
    """How many hubs in total.

    Parameters
    ----------
    exact
        Exactly this many hubs.
    low, high
        A range of totals (either end may be None).
    near
        With neither ``exact`` nor a range: as close to this as the rules
        allow (ties go to the cheaper plan).  None means free: each borough
        takes its cheapest count.
    """

    exact: int | None = None
    low: int | None = None
    high: int | None = None
    near: int | None = 150

    def __post_init__(self) -> None:
        for name in ("exact", "low", "high", "near"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise OptionError(f"hub target: {name} = {value!r} is not a positive whole number of hubs")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise OptionError(f"hub target {self.low}-{self.high}: the low end is above the high end")

    @classmethod
    def parse(cls, text: str | int | None) -> HubTarget:
        """Read ``"150"``, ``"140-160"``, ``"140-"`` (at least 140), ``"free"`` or ``"near:150"``.

        Raises
        ------
        OptionError
            On anything else, e.g. ``"abc"``, ``"-5"`` or ``"0"``.
        """
        if text is None:
            return cls()
        if isinstance(text, int) and not isinstance(text, bool):
            return cls(exact=_count(str(text), str(text)), near=None)
        raw = str(text)
        text = raw.strip().lower()
        if text == "":
            return cls()
        if text == "free":
            return cls(near=None)
        if match := re.fullmatch(r"near:\s*(\d+)", text):
            return cls(near=_count(match[1], raw))
        if re.fullmatch(r"\d+", text):
            return cls(exact=_count(text, raw), near=None)
        if match := re.fullmatch(r"(\d+)\s*-\s*(\d*)", text):
            low = _count(match[1], raw)
            high = _count(match[2], raw) if match[2] else None
            if high is not None and low > high:
                raise OptionError(f"hub target {raw!r}: the low end {low} is above the high end {high}.")
            return cls(low=low, high=high, near=None)
        raise OptionError(f"hub target {raw!r} is not a hub count: write {_FORMS}.{_hint(text)}")

    def describe(self) -> str:
        if self.exact is not None:
            return f"exactly {self.exact}"
        if self.low is not None or self.high is not None:
            return f"{self.low or 'any'}-{self.high or 'any'}"
        return f"as close to {self.near} as possible" if self.near is not None else "free"

    @property
    def free(self) -> bool:
        """True when every borough simply takes its cheapest count."""
        return self.exact is None and self.low is None and self.high is None and self.near is None


def _hint(text: str) -> str:
    """How to write a one-sided target given as ``-150``, ``<=150`` or ``>=140``."""
    if match := re.fullmatch(r"(?:-|<=?)\s*(\d+)", text):
        return f" A range needs its low end: for at most {match[1]} hubs write 1-{match[1]}."
    if match := re.fullmatch(r">=?\s*(\d+)", text):
        return f" For at least {match[1]} hubs write {match[1]}-."
    return ""


Method = Literal["auto", "enumeration", "mip"]


class HubOptionFields(TypedDict, total=False):
    """The fields of :class:`HubOptions`, for keyword overrides (``solve_hubs(problem, size=(4, 5))``).

    Typing only: it must list the same fields as :class:`HubOptions` (``tests/test_hubs_inputs.py`` checks).
    """

    size: tuple[int, int]
    hubs: HubTarget | str | int | None
    population_bounds: tuple[float, float] | None
    solver: str | pulp.LpSolver | None
    gap: float
    time_limit: float | None
    progress: Callable[[str], None] | None
    join: Sequence[Sequence[str]] | None
    method: Method


@dataclass(frozen=True)
class HubOptions:
    """How to plan hubs: the rules, the target and how to solve.

    Parameters
    ----------
    size
        Smallest and largest number of wards in a hub.
    hubs
        Total hub count (a :class:`HubTarget` or its text form); default as
        close to 150 as the rules allow.
    population_bounds
        Optional lowest and highest residents per hub (workload balance).
    solver
        ``"cbc"`` (default), ``"highs"`` or a PuLP solver, for boroughs solved
        by the MIP (see ``method``).
    gap
        Relative optimality gap accepted by the MIP (0 = proven optimal).
    time_limit
        Seconds per MIP solve.
    progress
        Called with each borough's name as it is solved.
    join
        Groups of borough codes planned as one, so that their hubs may cross
        the borough lines between them (e.g. where a borough alone cannot be
        split into hubs of the allowed size).
    method
        ``"enumeration"``: every connected ward set of an allowed size is
        enumerated and the exact partition found by dynamic programming
        (:mod:`planner.hubs.enumeration`); ``"mip"``: the compact MIP with
        contiguity cuts (:mod:`planner.hubs.mip`); ``"auto"`` (default):
        enumeration wherever it can express the borough (it always can for
        ward-centre and building sites, sizes and workload bounds, required
        and forbidden sites; it gives up when a borough has too many
        connected sets or partial partitions, e.g. very large hubs or large
        joined areas), the MIP elsewhere.
    """

    size: tuple[int, int] = (4, 5)
    hubs: HubTarget | str | int | None = None
    population_bounds: tuple[float, float] | None = None
    solver: str | pulp.LpSolver | None = None
    gap: float = 0.0
    time_limit: float | None = None
    progress: Callable[[str], None] | None = None
    join: Sequence[Sequence[str]] | None = None
    method: Method = "auto"

    def __post_init__(self) -> None:
        if self.method not in ("auto", "enumeration", "mip"):
            raise OptionError(f"hub method {self.method!r}: choose auto, enumeration or mip")
        if not (isinstance(self.gap, int | float) and math.isfinite(self.gap) and 0 <= self.gap < 1):
            raise OptionError(f"optimality gap {self.gap!r} must be a number in [0, 1)")
        if self.population_bounds is not None:
            lo, hi = self.population_bounds
            if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo <= hi):
                raise OptionError(
                    f"workload bounds {lo}-{hi} residents per hub are not a valid range; use e.g. 20000-80000"
                )

    @property
    def target(self) -> HubTarget:
        """``hubs`` as a :class:`HubTarget`."""
        return self.hubs if isinstance(self.hubs, HubTarget) else HubTarget.parse(self.hubs)

    @property
    def join_groups(self) -> list[list[str]] | None:
        return [list(g) for g in self.join] if self.join else None


@dataclass
class HubProblem:
    """The labelled data of a hub model.

    Attributes
    ----------
    costs
        Person-minutes, index ``ward_code``, columns ``site_id``; NaN where a
        site may not serve a ward (another borough, or residents who cannot
        reach it).
    borough
        ``ward_code`` → borough code.
    adjacency
        ``ward_code`` → neighbouring ward codes (rook contiguity).
    site_borough
        ``site_id`` → borough code.
    root
        ``site_id`` → ward code for sites that are a ward's centre.
    population
        ``ward_code`` → residents (for workload bounds and reports).
    must_use, must_not_use
        Site ids that must, or may not, host a hub.
    borough_names
        Borough code → name, for messages.
    ward_names
        Ward code → name, for messages.
    unreachable_pairs
        How many ward-site pairs of the same borough have no cost because
        some of the ward's residents cannot reach the site (for reports).
    """

    costs: pd.DataFrame
    borough: pd.Series
    adjacency: dict[str, set[str]]
    site_borough: pd.Series
    root: dict[str, str] = field(default_factory=dict)
    population: pd.Series | None = None
    must_use: frozenset[str] = frozenset()
    must_not_use: frozenset[str] = frozenset()
    borough_names: dict[str, str] = field(default_factory=dict)
    ward_names: dict[str, str] = field(default_factory=dict)
    unreachable_pairs: int = 0

    def label(self, borough: str) -> str:
        name = self.borough_names.get(borough)
        return f"{name} ({borough})" if name else borough

    def wards_label(self, wards: list[str]) -> str:
        return ", ".join(f"{w} ({self.ward_names[w]})" if w in self.ward_names else w for w in sorted(wards))


@dataclass
class BoroughSolution:
    """The optimal hubs of one borough for one hub count.

    ``method`` is ``"enumeration"`` or ``"mip"``; ``cuts`` and ``rounds`` count
    the MIP's contiguity cuts and solve rounds (0 for enumeration).
    """

    borough: str
    hubs: int
    assignment: dict[str, str]  # ward -> site
    report: SolveReport
    cuts: int
    rounds: int
    method: str = "mip"


@dataclass
class HubPlan:
    """A solved hub plan.

    Attributes
    ----------
    assignment
        ``ward_code``, ``borough_code``, ``hub_id``, ``site_id``.
    boroughs
        Per borough: ``hubs``, ``objective``, ``bound``, ``gap``,
        ``seconds``, ``status``, ``cuts``, ``rounds``, ``feasible_hubs``,
        ``method``.
    objective, bound, gap
        Totals over boroughs (person-minutes).
    seconds
        Total solve time.
    feasible_range
        The lowest and highest total hub counts the rules allow.
    notes
        Plain-language remarks, e.g. that the target is out of reach.
    """

    assignment: pd.DataFrame
    boroughs: pd.DataFrame
    objective: float
    bound: float
    gap: float
    seconds: float
    feasible_range: tuple[int, int]
    target: HubTarget
    notes: list[str]

    @property
    def n_hubs(self) -> int:
        """The number of hubs."""
        return int(self.assignment["hub_id"].nunique())

    def ward_frame(self, wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """Each ward's polygon with its ``hub_id`` and ``site_id`` (EPSG:27700).

        Parameters
        ----------
        wards
            Ward polygons with ``ward_code`` (e.g. ``london.study_wards``).

        Returns
        -------
        geopandas.GeoDataFrame
            The wards the plan assigns, sorted by ward code.
        """
        require_bng(wards, "wards")
        cols = ["ward_code", "hub_id", "site_id"]
        return wards.merge(self.assignment[cols], on="ward_code", how="inner").sort_values("ward_code")

    def hub_frame(self, wards: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
        """One polygon per hub, dissolved from its wards (EPSG:27700).

        Parameters
        ----------
        wards
            Ward polygons with ``ward_code``, ``ward_name`` and ``borough_name``.

        Returns
        -------
        geopandas.GeoDataFrame
            ``hub_id``, ``borough_code``, ``borough_name``, ``site_id``, ``site_ward_name``, ``n_wards``
            and ``wards`` (codes joined with ``;``).
        """
        joined = self.ward_frame(wards)
        names = dict(zip(wards["ward_code"], wards["ward_name"], strict=False))
        shapes = joined[["hub_id", "geometry"]].dissolve(by="hub_id", as_index=False)
        info = joined.groupby("hub_id", as_index=False).agg(
            borough_code=("borough_code", "first"),
            borough_name=("borough_name", "first"),
            site_id=("site_id", "first"),
            n_wards=("ward_code", "size"),
            wards=("ward_code", lambda c: ";".join(sorted(c))),
        )
        info["site_ward_name"] = info["site_id"].map(names).fillna(info["site_id"])
        return shapes.merge(info, on="hub_id")


@dataclass
class BoroughData:
    """One borough's slice of a :class:`HubProblem`, as arrays.

    Attributes
    ----------
    wards
        Ward codes, sorted.
    sites
        Allowed site ids (not ``must_not_use``), sorted.
    costs
        ``len(wards) × len(sites)`` person-minutes, NaN where a site may not
        serve a ward.
    population
        Residents per ward, or None.
    """

    wards: list[str]
    sites: list[str]
    costs: np.ndarray
    population: np.ndarray | None


def borough_data(problem: HubProblem) -> dict[str, BoroughData]:
    """Every borough's :class:`BoroughData`, sliced from the problem in one pass."""
    values = problem.costs.to_numpy(dtype=float)
    values = np.pad(values, ((0, 1), (0, 1)), constant_values=np.nan)  # row/column -1: not in the matrix
    ward_codes = np.asarray(problem.borough.index.astype(str), dtype=object)
    ward_rows = problem.costs.index.get_indexer(problem.borough.index)
    site_codes = np.asarray(problem.site_borough.index.astype(str), dtype=object)
    site_cols = problem.costs.columns.get_indexer(problem.site_borough.index)
    ward_b = problem.borough.astype(str).to_numpy(dtype=object)
    site_b = problem.site_borough.astype(str).to_numpy(dtype=object)
    pop = None
    if problem.population is not None:
        pop = problem.population.reindex(problem.borough.index).fillna(0).to_numpy(dtype=float)
    out = {}
    for b in sorted(set(ward_b)):
        at = np.flatnonzero(ward_b == b)
        at = at[np.argsort(ward_codes[at], kind="stable")]
        here = np.flatnonzero(site_b == b)
        here = here[np.argsort(site_codes[here], kind="stable")]
        here = np.array([k for k in here if site_codes[k] not in problem.must_not_use], dtype=np.int64)
        out[b] = BoroughData(
            ward_codes[at].tolist(),
            site_codes[here].tolist(),
            values[np.ix_(ward_rows[at], site_cols[here])],
            pop[at] if pop is not None else None,
        )
    return out
