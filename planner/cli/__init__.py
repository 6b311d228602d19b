"""The ``planner`` command line.  Thin: it parses options and calls the library.

One module per command group, each registering its commands on :data:`app`:
:mod:`~planner.cli.data` (``data check``, ``data fetch``), :mod:`~planner.cli.access`,
:mod:`~planner.cli.hubs`, :mod:`~planner.cli.scenarios` (``run``, ``compare``, ``report``, ``maps``,
``demo``), :mod:`~planner.cli.optimise` (``optimise``, ``sessions``), :mod:`~planner.cli.calibrate` and
:mod:`~planner.cli.sweep`; :mod:`~planner.cli.common` holds what they share (the app, the consoles,
option types, the flag of each library argument, and :func:`~planner.cli.common.fail`, which shows a
library error in the command line's words).

The commands import the library inside their bodies, so ``planner --help`` starts without loading
geopandas, numpy or the engines.
"""

from planner.cli import access, calibrate, data, hubs, optimise, scenarios, sweep  # each registers its commands
from planner.cli.common import app, entry

__all__ = ["access", "app", "calibrate", "data", "entry", "hubs", "optimise", "scenarios", "sweep"]
