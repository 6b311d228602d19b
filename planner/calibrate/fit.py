"""Fitting an engine to DfT's statistics: borough figures, the fit, parameter grids and cross-validation."""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from planner.calibrate.dft import CAP_MIN, load_jts04
from planner.calibrate.hospitals import HEADLINE_SET, load_hospitals
from planner.config import CITY_OF_LONDON_CODE, DataPaths
from planner.errors import DataError, EngineError
from planner.io import write_csv
from planner.travel.base import TravelEngine

__all__ = [
    "CV_GRID",
    "CV_TARGET",
    "MEASURES",
    "TARGETS",
    "CalibrationResult",
    "CrossValidation",
    "best_settings",
    "calibrate",
    "calibration_grid",
    "cross_validate",
    "plot_calibration",
]

logger = logging.getLogger(__name__)

#: What the default transit engine is held to on the headline set (:data:`HEADLINE_SET`):
#: measure -> (comparison, bound).  ``cv_mae_min`` is the cross-validated MAE (:func:`cross_validate`).
TARGETS: dict[str, tuple[str, float]] = {
    "mae_min": ("<=", 2.0),
    "abs_bias_min": ("<=", 1.0),
    "corr": (">=", 0.90),
    "max_abs_diff_min": ("<=", 5.0),
    "share30_mae_pts": ("<=", 6.0),
    "abs_london_within_45_diff_pts": ("<=", 1.0),
}
CV_TARGET = ("cv_mae_min", "<=", 2.5)
#: The parameters re-fitted in the cross-validation, and the values tried: the waits, which carry the
#: frequencies the data lacks.
CV_GRID: dict[str, list[float]] = {"bus_wait_min": [9.0, 11.0, 13.0], "nr_headway_min": [20.0, 30.0, 40.0]}
#: Fit measures, and whether lower (``"min"``) or higher (``"max"``) is better.
MEASURES = {
    "mae_min": "min",
    "abs_bias_min": "min",
    "rmse_min": "min",
    "corr": "max",
    "share30_mae_pts": "min",
    "abs_london_within_45_diff_pts": "min",
    "max_abs_diff_min": "min",
}


@dataclass(frozen=True)
class CalibrationResult:
    """Model against DfT, per borough, and the fit.

    Attributes
    ----------
    boroughs
        One row per borough (City excluded): ``borough_code``, ``borough_name``,
        ``model_mean_min``, ``dft_mean_min``, ``diff_min``, and
        ``model_within_T`` / ``dft_within_T`` for T in 30, 45, 60 (percent).
    metrics
        ``bias_min`` (mean of model − DfT), ``mae_min``, ``rmse_min``,
        ``corr`` (Pearson, across boroughs), ``share30_mae_pts`` (mean absolute
        difference of the share within 30 minutes, percentage points),
        ``london_within_45_model`` and ``london_within_45_dft`` (percent; DfT's
        weighted by its users), ``london_mean_model`` and ``london_mean_dft``.
    hospital_set
        The destination set used.
    engine
        The engine's description (name and parameters).
    """

    boroughs: pd.DataFrame
    metrics: dict[str, float]
    hospital_set: str
    engine: dict[str, Any]

    def targets(self) -> pd.DataFrame:
        """Each target of :data:`TARGETS`: ``measure``, ``value``, ``target`` (text) and ``met``."""
        rows = []
        for measure, (op, bound) in TARGETS.items():
            value = self.metrics[measure]
            met = value <= bound if op == "<=" else value >= bound
            rows.append({"measure": measure, "value": value, "target": f"{op} {bound:g}", "met": bool(met)})
        return pd.DataFrame(rows)

    def worst(self, n: int = 5) -> pd.DataFrame:
        """The ``n`` boroughs furthest from DfT's mean time."""
        order = self.boroughs["diff_min"].abs().sort_values(ascending=False, kind="stable").index
        return self.boroughs.loc[order[:n]]

    def write(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``calibration_<set>.csv`` (boroughs and a London row) into ``folder``."""
        folder = Path(folder)
        m = self.metrics
        london = {
            "borough_code": "London",
            "borough_name": "London (32 boroughs)",
            "model_mean_min": m["london_mean_model"],
            "dft_mean_min": m["london_mean_dft"],
            "diff_min": m["london_mean_model"] - m["london_mean_dft"],
            "model_within_45": m["london_within_45_model"],
            "dft_within_45": m["london_within_45_dft"],
        }
        table = pd.concat([self.boroughs, pd.DataFrame([london])], ignore_index=True)
        return write_csv(table, folder / f"calibration_{self.hospital_set}.csv")


def model_minutes(demand: gpd.GeoDataFrame, hospitals: gpd.GeoDataFrame, engine: TravelEngine) -> np.ndarray:
    minutes = engine.nearest(demand, hospitals).table["minutes"].to_numpy(float)
    return np.minimum(np.where(np.isfinite(minutes), minutes, CAP_MIN), CAP_MIN)


def fit_boroughs(
    demand: gpd.GeoDataFrame, minutes: np.ndarray, dft: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, float]]:
    pop = demand["population"].to_numpy(float)
    frame = pd.DataFrame({"borough_code": demand["borough_code"].to_numpy(), "pop": pop, "min": minutes})
    frame["pm"] = frame["pop"] * frame["min"]
    for t in (30, 45, 60):
        frame[f"w{t}"] = frame["pop"] * (frame["min"] <= t)
    sums = frame.groupby("borough_code")[["pop", "pm", "w30", "w45", "w60"]].sum()
    codes = sorted(set(sums.index) & set(dft.index) - {CITY_OF_LONDON_CODE})
    if not codes:
        raise DataError("no London borough is in both the demand points and the JTS04 table")
    s, d = sums.loc[codes], dft.loc[codes]
    table = pd.DataFrame(
        {
            "borough_code": codes,
            "borough_name": d["name"].to_numpy(),
            "model_mean_min": (s["pm"] / s["pop"]).to_numpy(),
            "dft_mean_min": d["mean_min"].to_numpy(float),
        }
    )
    table["diff_min"] = table["model_mean_min"] - table["dft_mean_min"]
    for t in (30, 45, 60):
        table[f"model_within_{t}"] = (100 * s[f"w{t}"] / s["pop"]).to_numpy()
        table[f"dft_within_{t}"] = d[f"within_{t}"].to_numpy(float)
    diff = table["diff_min"].to_numpy()
    users = d["users"].to_numpy(float)
    metrics = {
        "boroughs": float(len(codes)),
        "bias_min": float(diff.mean()),
        "abs_bias_min": float(abs(diff.mean())),
        "mae_min": float(np.abs(diff).mean()),
        "max_abs_diff_min": float(np.abs(diff).max()),
        "rmse_min": float(np.sqrt((diff**2).mean())),
        "corr": float(np.corrcoef(table["model_mean_min"], table["dft_mean_min"])[0, 1]),
        "share30_mae_pts": float((table["model_within_30"] - table["dft_within_30"]).abs().mean()),
        "london_mean_model": float(s["pm"].sum() / s["pop"].sum()),
        "london_mean_dft": float((users * d["mean_min"]).sum() / users.sum()),
        "london_within_45_model": float(100 * s["w45"].sum() / s["pop"].sum()),
        "london_within_45_dft": float((users * d["within_45"]).sum() / users.sum()),
    }
    metrics["london_within_45_diff_pts"] = metrics["london_within_45_model"] - metrics["london_within_45_dft"]
    metrics["abs_london_within_45_diff_pts"] = abs(metrics["london_within_45_diff_pts"])
    return table, metrics


def calibrate(
    demand: gpd.GeoDataFrame,
    paths: DataPaths,
    engine: TravelEngine,
    *,
    hospital_set: str = HEADLINE_SET,
    year: int = 2016,
) -> CalibrationResult:
    """Compare an engine's minutes to the nearest hospital with DfT's, borough by borough.

    Parameters
    ----------
    demand
        Demand points (``point_id``, ``population``, ``borough_code``; BNG points),
        normally the LSOA population-weighted centroids of the Met area.
    paths
        The data directory (hospitals and the JTS04 table).
    engine
        The travel-time engine to check.
    hospital_set
        The destination set (:data:`HOSPITAL_SETS`).
    year
        The JTS04 year (2014, 2015 or 2016; the hospitals file is of 2016).

    Returns
    -------
    CalibrationResult
        Per-borough figures and the fit.
    """
    hospitals = load_hospitals(paths, hospital_set=hospital_set)
    dft = load_jts04(paths, year=year)
    minutes = model_minutes(demand, hospitals, engine)
    table, metrics = fit_boroughs(demand, minutes, dft)
    return CalibrationResult(table, metrics, hospital_set, engine.describe())


def calibration_grid(
    demand: gpd.GeoDataFrame,
    paths: DataPaths,
    make: Callable[..., TravelEngine],
    grid: Mapping[str, Sequence[Any]],
    *,
    hospital_set: str = HEADLINE_SET,
    year: int = 2016,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Fit measures for every combination of engine parameters.

    Parameters
    ----------
    demand, paths, hospital_set, year
        As for :func:`calibrate`.
    make
        Builds an engine from keyword parameters (for example
        ``engine.with_params``).
    grid
        Parameter name to the values to try.
    progress
        Called with ``(done, total)`` after each setting.

    Returns
    -------
    pandas.DataFrame
        One row per setting: the parameters, then the measures of
        :class:`CalibrationResult`, in grid order.
    """
    fits = _grid_fits(demand, paths, make, grid, hospital_set=hospital_set, year=year, progress=progress)
    return pd.DataFrame([{**params, **metrics} for params, _, metrics in fits])


def _grid_fits(
    demand: gpd.GeoDataFrame,
    paths: DataPaths,
    make: Callable[..., TravelEngine],
    grid: Mapping[str, Sequence[Any]],
    *,
    hospital_set: str,
    year: int,
    progress: Callable[[int, int], None] | None = None,
) -> list[tuple[dict[str, Any], pd.DataFrame, dict[str, float]]]:
    """``(parameters, borough table, metrics)`` for every setting of the grid, in grid order."""
    if not grid:
        raise EngineError("the calibration grid is empty; give NAME=V1,V2 ...")
    hospitals = load_hospitals(paths, hospital_set=hospital_set)
    dft = load_jts04(paths, year=year)
    names = list(grid)
    combos = list(itertools.product(*(grid[n] for n in names)))
    out = []
    for done, values in enumerate(combos, start=1):
        params = dict(zip(names, values, strict=True))
        table, metrics = fit_boroughs(demand, model_minutes(demand, hospitals, make(**params)), dft)
        out.append((params, table, metrics))
        if progress is not None:
            progress(done, len(combos))
    return out


@dataclass(frozen=True)
class CrossValidation:
    """A leave-one-borough-out check of a parameter fit.

    For each borough in turn, the setting of the grid with the lowest MAE on the *other* boroughs is
    chosen, and its error on the held-out borough scored.

    Attributes
    ----------
    boroughs
        One row per borough: ``borough_code``, ``borough_name``, ``held_out_diff_min`` and the chosen
        setting's parameters.
    mae_min
        Mean absolute held-out difference (minutes): the out-of-sample MAE.
    in_sample_mae_min
        The best MAE of any single setting on all boroughs (in-sample).
    grid
        The parameters and values tried.
    """

    boroughs: pd.DataFrame
    mae_min: float
    in_sample_mae_min: float
    grid: dict[str, list[float]]

    def met(self) -> bool:
        """Whether :data:`CV_TARGET` is met."""
        return self.mae_min <= CV_TARGET[2]


def cross_validate(
    demand: gpd.GeoDataFrame,
    paths: DataPaths,
    make: Callable[..., TravelEngine],
    *,
    grid: Mapping[str, Sequence[float]] | None = None,
    hospital_set: str = HEADLINE_SET,
    year: int = 2016,
) -> CrossValidation:
    """Leave-one-borough-out cross-validation of the engine's fitted parameters.

    Parameters
    ----------
    demand, paths, hospital_set, year
        As for :func:`calibrate`.
    make
        Builds an engine from keyword parameters (``engine.with_params``).
    grid
        Parameter name to the values tried; default :data:`CV_GRID`.

    Returns
    -------
    CrossValidation
        The out-of-sample MAE and each borough's held-out error.
    """
    grid = dict(grid or CV_GRID)
    fits = _grid_fits(demand, paths, make, grid, hospital_set=hospital_set, year=year)
    table = fits[0][1]
    diff = np.vstack([t["diff_min"].to_numpy() for _, t, _ in fits])  # settings x boroughs
    err = np.abs(diff)
    rows = []
    for b in range(err.shape[1]):
        best = int(np.argmin(np.delete(err, b, axis=1).mean(axis=1)))
        rows.append(
            {
                "borough_code": table["borough_code"].iloc[b],
                "borough_name": table["borough_name"].iloc[b],
                "held_out_diff_min": float(diff[best, b]),
                **fits[best][0],
            }
        )
    frame = pd.DataFrame(rows)
    return CrossValidation(frame, float(frame["held_out_diff_min"].abs().mean()), float(err.mean(axis=1).min()), grid)


def best_settings(grid: pd.DataFrame, params: Sequence[str]) -> pd.DataFrame:
    """The best row of a calibration grid for each measure of :data:`MEASURES`.

    Parameters
    ----------
    grid
        One row per parameter setting, with the measures of :data:`MEASURES`.
    params
        The grid's parameter columns.
    """
    rows = []
    for measure, sense in MEASURES.items():
        pos = grid[measure].idxmin() if sense == "min" else grid[measure].idxmax()
        rows.append({"measure": measure, "value": grid.loc[pos, measure], **grid.loc[pos, list(params)].to_dict()})
    return pd.DataFrame(rows)


def plot_calibration(result: CalibrationResult, path: str | os.PathLike[str]) -> Path:
    """Scatter of model against DfT mean minutes, one point per borough, with the 1:1 line (PNG).

    Parameters
    ----------
    result
        A calibration of one hospital set.
    path
        The PNG file to write.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    b = result.boroughs
    m = result.metrics
    fig, ax = plt.subplots(figsize=(6.5, 6.0), dpi=110)
    lo = float(min(b["model_mean_min"].min(), b["dft_mean_min"].min())) - 2
    hi = float(max(b["model_mean_min"].max(), b["dft_mean_min"].max())) + 2
    ax.plot([lo, hi], [lo, hi], color="0.5", lw=1, ls="--", label="1:1")
    ax.scatter(b["dft_mean_min"], b["model_mean_min"], s=22, color="#1f4e79", zorder=3)
    for row in b.itertuples(index=False):
        ax.annotate(
            row.borough_name,
            (row.dft_mean_min, row.model_mean_min),
            fontsize=6,
            xytext=(3, 2),
            textcoords="offset points",
            color="0.25",
        )
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("DfT JTS04: mean minutes to the nearest hospital (timetable)")
    ax.set_ylabel(f"planner ({result.engine.get('engine', '?')}): mean minutes")
    ax.set_title(
        f"{result.hospital_set}: bias {m['bias_min']:+.1f} min, MAE {m['mae_min']:.1f} min, r = {m['corr']:.2f}",
        fontsize=10,
    )
    ax.legend(loc="upper left", fontsize=8)
    fig.text(0.01, 0.005, "Source: DfT Journey Time Statistics (OGL v3.0); NHS Choices (OGL).", fontsize=6)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    return path
