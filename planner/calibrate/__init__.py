"""Calibration of a travel-time engine against DfT's Journey Time Statistics.

The Department for Transport publishes, for every local authority, the mean
minimum public-transport time from homes to the nearest hospital and the
share of users within 15/30/45/60 minutes (table JTS04, ``HospPTt``,
``HospPT30pct`` ...), computed from real timetables.  Hospitals are about as
sparse as police front counters, so the same figures computed by a planner
engine, from LSOA population-weighted centroids to the NHS hospital sites of
the same year, show how far its minutes are from the timetable.

Modules: :mod:`~planner.calibrate.hospitals` (the destinations), :mod:`~planner.calibrate.dft` (JTS04)
and :mod:`~planner.calibrate.fit`. :func:`calibrate` computes the borough figures and the fit;
:func:`calibration_grid` searches engine parameters; :func:`plot_calibration`
draws model against DfT, one point per borough, with the 1:1 line.
"""

from planner.calibrate.dft import CAP_MIN, LONDON_AUTHORITIES, load_jts04
from planner.calibrate.fit import (
    CV_GRID,
    CV_TARGET,
    MEASURES,
    TARGETS,
    CalibrationResult,
    CrossValidation,
    best_settings,
    calibrate,
    calibration_grid,
    cross_validate,
    plot_calibration,
)
from planner.calibrate.hospitals import (
    DEFAULT_SETS,
    HEADLINE_SET,
    HOSPITAL_SETS,
    NHS2014_RULE,
    NHS2014_SET,
    load_hospitals,
    load_hospitals_2014,
)

__all__ = [
    "CAP_MIN",
    "CV_GRID",
    "CV_TARGET",
    "DEFAULT_SETS",
    "HEADLINE_SET",
    "HOSPITAL_SETS",
    "LONDON_AUTHORITIES",
    "MEASURES",
    "NHS2014_RULE",
    "NHS2014_SET",
    "TARGETS",
    "CalibrationResult",
    "CrossValidation",
    "best_settings",
    "calibrate",
    "calibration_grid",
    "cross_validate",
    "load_hospitals",
    "load_hospitals_2014",
    "load_jts04",
    "plot_calibration",
]
