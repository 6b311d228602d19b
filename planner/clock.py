"""The time stamped on outputs: ``SOURCE_DATE_EPOCH`` (for byte-identical reruns) when set, else now.

This module imports nothing heavy, so the package can check the variable before numpy reads it (numpy
fails with a bare ``ValueError`` on a value that is not a number).
"""

from __future__ import annotations

import datetime as dt
import os

from planner.errors import OptionError

__all__ = ["check_source_date_epoch", "output_time"]

#: The latest time SOURCE_DATE_EPOCH may give (the end of year 9999), in seconds since 1970.
_LAST_EPOCH = 253_402_300_799


def check_source_date_epoch() -> None:
    """Refuse a ``SOURCE_DATE_EPOCH`` that is set but is not seconds since 1970.

    Raises
    ------
    OptionError
        When it is not a whole number of seconds from 0 to the end of year 9999.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and not (epoch.strip().isdigit() and int(epoch) <= _LAST_EPOCH):
        raise OptionError(
            f"SOURCE_DATE_EPOCH is {epoch[:40]!r}: it must be a whole number of seconds since 1 January 1970 "
            "(e.g. `date +%s`, or `git log -1 --format=%ct`); unset it to stamp outputs with the current time"
        )


def output_time() -> dt.datetime:
    """``SOURCE_DATE_EPOCH`` as a UTC time when set (checked), else the current time."""
    check_source_date_epoch()
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC) if epoch else dt.datetime.now(dt.UTC)
