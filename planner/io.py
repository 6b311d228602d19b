"""Deterministic writers: the same inputs give byte-identical files."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

__all__ = ["sha256_file", "write_csv", "write_gpkg", "write_json"]

#: GeoPackages record a "last change" time; planner pins it while it writes so reruns are identical.
_FIXED_DATE = "2000-01-01T00:00:00.000Z"


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a table as CSV with a fixed float format (geometry dropped)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(frame).drop(columns=["geometry"], errors="ignore")
    table.to_csv(path, index=False, float_format="%.6g", lineterminator="\n")
    return path


def write_gpkg(frame: gpd.GeoDataFrame, path: str | os.PathLike[str], layer: str) -> Path:
    """Write (or replace) one layer of a GeoPackage."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = frame.copy()
    for col in frame.columns:
        if col != frame.geometry.name and frame[col].dtype == object:
            frame[col] = frame[col].astype("string")
    previous = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _FIXED_DATE})
    try:
        pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": previous})
    return path


def write_json(data: object, path: str | os.PathLike[str]) -> Path:
    """Write JSON with sorted keys."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    return path


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()
