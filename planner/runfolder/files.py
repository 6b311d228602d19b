"""The names of a run folder's files: one list, read by the writer, the reader and the checks.

A run folder ``OUT/<scenario>/`` written by ``planner run`` holds:

=============================  =====================================================================
``manifest.json``              the scenario, engine, input files' sha256, and every output's sha256
``summary.json``               headline figures per threshold, from any counter and from a 24/7 one
``counters.csv``               the open counters, with ``open_24_7`` and ``borough_code``
``stations.gpkg``              every counter of the table, with ``open`` and ``open_24_7``
``access_points.csv``          minutes, nearest counter and residents per demand point
``access_wards_<T>.csv``       per ward, at threshold ``T`` (and ``access_boroughs_<T>.csv``)
``access_london.csv``          London's figures, a row per threshold
``access.gpkg``                the ward layers (``wards_<T>``) the maps draw
``equality_<T>.csv``           each resident group's figures (and ``equality_wards_<T>.csv``)
``travel_matrix.csv``          minutes from every point to every counter (the scenario explorer's)
``postcodes.parquet``          each postcode's nearest counter (the resident map's search)
``hubs/``                      the hub plan, when the run planned hubs
``maps/``                      the pages, rewritten by ``planner maps``
=============================  =====================================================================
"""

from __future__ import annotations

__all__ = [
    "ACCESS_GPKG",
    "COUNTERS_FILE",
    "HUBS_DIR",
    "LONDON_FILE",
    "MANIFEST_FILE",
    "MAPS_DIR",
    "MATRIX_FILE",
    "MATRIX_MAX_STATIONS",
    "POINTS_FILE",
    "POSTCODES_FILE",
    "STATIONS_GPKG",
    "SUMMARY_FILE",
    "boroughs_file",
    "equality_file",
    "equality_wards_file",
    "wards_file",
]

MANIFEST_FILE = "manifest.json"
SUMMARY_FILE = "summary.json"
COUNTERS_FILE = "counters.csv"
STATIONS_GPKG = "stations.gpkg"
POINTS_FILE = "access_points.csv"
LONDON_FILE = "access_london.csv"
ACCESS_GPKG = "access.gpkg"
MATRIX_FILE = "travel_matrix.csv"
#: A stations file with more rows than this is not turned into a points x stations matrix: each run searches
#: from its own open counters instead (``planner access``'s multi-source search), which costs the same whatever
#: the file's size.
MATRIX_MAX_STATIONS = 300
POSTCODES_FILE = "postcodes.parquet"
HUBS_DIR = "hubs"
MAPS_DIR = "maps"


def _label(threshold: float | str) -> str:
    return threshold if isinstance(threshold, str) else f"{threshold:g}"


def wards_file(threshold: float | str) -> str:
    """``access_wards_<T>.csv`` for a threshold (``45.0`` or its label ``"45"``).

    Parameters
    ----------
    threshold
        Minutes (``45.0``) or the label of a threshold (``"45"``).
    """
    return f"access_wards_{_label(threshold)}.csv"


def boroughs_file(threshold: float | str) -> str:
    """``access_boroughs_<T>.csv`` for a threshold.

    Parameters
    ----------
    threshold
        Minutes (``45.0``) or the label of a threshold (``"45"``).
    """
    return f"access_boroughs_{_label(threshold)}.csv"


def equality_file(threshold: float | str) -> str:
    """``equality_<T>.csv``: each resident group's figures in London and each borough.

    Parameters
    ----------
    threshold
        Minutes (``45.0``) or the label of a threshold (``"45"``).
    """
    return f"equality_{_label(threshold)}.csv"


def equality_wards_file(threshold: float | str) -> str:
    """``equality_wards_<T>.csv``: each group's residents beyond, by ward.

    Parameters
    ----------
    threshold
        Minutes (``45.0``) or the label of a threshold (``"45"``).
    """
    return f"equality_wards_{_label(threshold)}.csv"
