"""A grid sweep's parameters: which engine parameters it may vary, and how its results are read."""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np
import pandas as pd

from planner.errors import OptionError
from planner.scenario import Scenario
from planner.stats import check_threshold
from planner.travel import TransitParams

logger = logging.getLogger(__name__)


GRID_PARAMS = ("bus_speed_kmh", "walk_speed_kmh", "bus_wait_min", "rail_wait_min", "threshold")


def _param_cols(results: pd.DataFrame) -> list[str]:
    return [c for c in results.columns if c.startswith("param_")] + ["threshold"]


def _choice_changes(results: pd.DataFrame, spec: Scenario) -> pd.DataFrame:
    """How many counters of the optimiser's choice differ from its choice at the scenario's own parameters."""
    defaults = {f.name: f.default for f in TransitParams.__dataclass_fields__.values()}
    own = {**defaults, **spec.engine.params, "threshold": spec.threshold}
    results = results.copy()
    results["optimum_changes"] = pd.NA
    for _plan, group in results.groupby("plan"):
        at_own = group
        for col in _param_cols(results):
            name = col.removeprefix("param_")
            at_own = at_own.loc[np.isclose(at_own[col].astype(float), float(own.get(name, np.nan)))]
        if at_own.empty:
            continue
        ref = set(str(at_own["optimum_open"].iloc[0]).split(";"))
        results.loc[group.index, "optimum_changes"] = [
            len(ref ^ set(str(o).split(";"))) // 2 for o in group["optimum_open"]
        ]
    return results


def grid_from_options(options: dict[str, str | None]) -> dict[str, list[float]]:
    """Parse ``{"bus_speed_kmh": "12,15,18"}`` into lists of floats.

    Parameters
    ----------
    options
        Grid parameter (a name of :data:`GRID_PARAMS`) to its comma-separated values; empty values are
        left out.

    Returns
    -------
    dict
        Parameter to its values.

    Raises
    ------
    OptionError
        For a value that is not a number, a threshold or speed that is not
        finite and positive, or a negative or infinite wait.
    """
    grid = {}
    for name, text in options.items():
        if text:
            option = f"`{name}`"  # the CLI adds its flag
            values = []
            for v in (v.strip() for v in text.split(",")):
                if not v:
                    continue
                if name == "threshold":
                    values.append(check_threshold(v, what=option))
                    continue
                try:
                    x = float(v)
                except ValueError as exc:
                    raise OptionError(
                        f"{option}: {v!r} is not a number; give a comma-separated list, e.g. 12,15,18"
                    ) from exc
                if not np.isfinite(x) or x < 0 or (x == 0 and "speed" in name):
                    need = "greater than 0" if "speed" in name else "0 or more"
                    raise OptionError(f"{option}: {v!r} must be a finite number {need}")
                values.append(x)
            twice = sorted({f"{v:g}" for v in values if values.count(v) > 1})
            if twice:
                raise OptionError(f"{option}: {', '.join(twice)} given more than once; give each value once")
            grid[name] = values
    return grid


Kind = Literal["marginal", "pairs", "triples", "grid"]


KINDS = ("marginal", "pairs", "triples", "grid")


_CLOSED = {"marginal": 1, "pairs": 2, "triples": 3}
