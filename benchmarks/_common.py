"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

from planner.errors import PlannerWarning

REPO = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """PLANNER_DATA, or the mirror beside the checkout."""
    env = os.environ.get("PLANNER_DATA")
    path = Path(env) if env else REPO.parent / "shared" / "data" / "london"
    if not path.is_dir():
        sys.exit(f"data directory {path} not found: set PLANNER_DATA")
    return path


def quiet() -> None:
    warnings.simplefilter("ignore", PlannerWarning)
    warnings.simplefilter("ignore", DeprecationWarning)
    logging.basicConfig(level=logging.ERROR)


@contextmanager
def timer(result: dict, key: str):
    start = time.perf_counter()
    yield
    result[key] = time.perf_counter() - start


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
