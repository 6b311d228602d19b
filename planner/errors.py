"""Exceptions raised by planner.

Every error derives from :class:`PlannerError` and also from the built-in
exception that best describes it, so callers can catch either.  Messages say
what was wrong, where (file, row, ward code, borough) and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "CRSError",
    "DataDirError",
    "DataError",
    "EngineError",
    "FetchError",
    "InfeasibleError",
    "OptionError",
    "PlannerError",
    "PlannerWarning",
    "ReportError",
    "ScenarioError",
    "SchedulerError",
    "SolverError",
]


class PlannerError(Exception):
    """Base class of every error raised by planner."""


class PlannerWarning(UserWarning):
    """A problem in the data that planner repaired or worked around visibly."""


class DataError(PlannerError, ValueError):
    """An input file or table is malformed or inconsistent."""


class CRSError(DataError):
    """A coordinate reference system is missing or does not match."""


class DataDirError(PlannerError, FileNotFoundError):
    """The data directory is not set or lacks a required file."""


class FetchError(PlannerError, RuntimeError):
    """A download failed or produced a file with the wrong checksum."""


class EngineError(PlannerError, ValueError):
    """A travel-time engine was misconfigured or cannot run on its inputs."""


class OptionError(PlannerError, ValueError):
    """An option or setting has a value the tool cannot use (a threshold that is not a positive number, a bad
    output folder, a hub count that is not a number); the message names it and the allowed forms."""


class InfeasibleError(PlannerError, ValueError):
    """A model has no solution; the message explains why and suggests a fix."""


class SolverError(PlannerError, RuntimeError):
    """A solver failed or stopped without a solution proven within the gap."""


class ScenarioError(PlannerError, ValueError):
    """A scenario file is invalid."""


class ReportError(PlannerError, RuntimeError):
    """A report could not be rendered or printed (e.g. no Chromium to print the PDF)."""


class SchedulerError(PlannerError, ConnectionError):
    """A Dask scheduler could not be reached."""
