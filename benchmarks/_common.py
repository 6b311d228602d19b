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


def mirror_dir() -> Path | None:
    """The real data mirror: ``PLANNER_DATA`` (made absolute: the README's line names it relative to the
    checkout), else ``../shared/data/london`` beside the checkout; ``None`` when it holds no ``boundaries/``.

    The one definition of the fallback, for the tests (``tests/conftest.py``) and the benchmarks.
    """
    env = os.environ.get("PLANNER_DATA")
    path = Path(env).resolve() if env else REPO.parent / "shared" / "data" / "london"
    return path if (path / "boundaries").is_dir() else None


def data_dir() -> Path:
    """The data mirror (see :func:`mirror_dir`), or exit naming where it was looked for."""
    path = mirror_dir()
    if path is None:
        sys.exit(
            f"data directory not found ({os.environ.get('PLANNER_DATA') or '../shared/data/london'}): set PLANNER_DATA"
        )
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
