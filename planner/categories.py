"""One reading of categorical values (a counter's status, a selection's values), shared by files and options.

A value is compared by its *canonical* form: surrounding and repeated white
space dropped, case folded (``" Retain "`` and ``"retain"`` are one value).
Files are tidied to one spelling per value, with a counted warning naming
the lines written otherwise; a requested value that occurs in no row is
refused with the values present and the nearest spelling.
"""

from __future__ import annotations

import difflib
import logging
import unicodedata
import warnings
from collections.abc import Iterable

import numpy as np
import pandas as pd

from planner.errors import DataError, PlannerWarning

__all__ = ["canonical", "match_values", "tidy_column"]

logger = logging.getLogger(__name__)


def canonical(value: object) -> str:
    """The form two spellings of one value share: Unicode compatibility forms (NFKC), invisible format
    characters (zero-width spaces, marks) dropped, white space collapsed and trimmed, case folded.

    Parameters
    ----------
    value
        A categorical value as read (any type; ``None`` and NaN give ``""``).
    """
    text = unicodedata.normalize("NFKC", str(value))
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    return " ".join(text.split()).casefold()


def _foreign(value: str) -> str:
    """The characters of a value that are not plain ASCII, named (a Cyrillic а looks like a Latin a)."""
    odd = sorted({c for c in value if ord(c) > 127})
    return ", ".join(f"U+{ord(c):04X} {unicodedata.name(c, 'unnamed')}" for c in odd)


def tidy_column(values: pd.Series, *, column: str, source: str, first_line: int = 2) -> pd.Series:
    """One spelling per value of a categorical column, warning about each row written otherwise.

    Parameters
    ----------
    values
        The column as read (strings).
    column
        Its name, for the warning.
    source
        The file, for the warning.
    first_line
        The file line of the first row (2 under a header).

    Returns
    -------
    pandas.Series
        The column with every spelling of a value replaced by its canonical form
        (so ``"retain "`` and ``"Retain"`` read as ``"retain"``).
    """
    raw = values.astype(str)
    tidy = raw.map(canonical)
    odd = raw != tidy
    if odd.any():
        lines = [f"line {i + first_line} {r!r}" for i, r in zip(odd.to_numpy().nonzero()[0], raw[odd], strict=True)]
        shown = ", ".join(lines[:5]) + (f" and {len(lines) - 5} more" if len(lines) > 5 else "")
        message = (
            f"{source}: {column}: {len(lines)} value(s) with extra spaces, capitals or invisible characters were "
            f"read as their plain lower-case form: {shown}; correct them in the file to silence this"
        )
        warnings.warn(message, PlannerWarning, stacklevel=3)
        logger.warning(message)
    foreign = [(i, v) for i, v in enumerate(tidy) if any(ord(c) > 127 for c in v)]
    if foreign:
        shown = "; ".join(f"line {i + first_line} {v!r} ({_foreign(v)})" for i, v in foreign[:5])
        message = (
            f"{source}: {column}: {len(foreign)} value(s) hold characters that are not plain ASCII and may only "
            f"look like the usual letters: {shown}; they match no other value: retype them to silence this"
        )
        warnings.warn(message, PlannerWarning, stacklevel=3)
        logger.warning(message)
    _say_near_misses(tidy, column=column, source=source, first_line=first_line)
    return pd.Series(tidy.to_numpy(), index=values.index, name=values.name)


#: A value on at most this many rows, close in spelling to one on at least :data:`_COMMON` rows, is a likely typo.
_RARE, _COMMON = 2, 5


def _say_near_misses(tidy: pd.Series, *, column: str, source: str, first_line: int) -> None:
    """Say which rare values are spelt almost like a common one (``retained`` beside 31 ``retain``)."""
    counts = tidy[tidy != ""].value_counts()
    common = sorted(counts[counts >= _COMMON].index)
    found = []
    for value in sorted(counts[counts <= _RARE].index):
        near = difflib.get_close_matches(value, common, n=1, cutoff=0.75)
        if near:
            lines = [str(i + first_line) for i in np.flatnonzero(tidy.to_numpy() == value)]
            found.append(f"line {', '.join(lines)} {value!r} (like {near[0]!r} on {counts[near[0]]} rows)")
    if found:
        message = (
            f"{source}: {column}: {len(found)} value(s) are spelt almost like a common one and are read as "
            f"written, so a selection of the common value leaves them out: {'; '.join(found[:5])}; correct them "
            "in the file if they are typos"
        )
        warnings.warn(message, PlannerWarning, stacklevel=4)
        logger.warning(message)


def match_values(requested: Iterable[str], present: Iterable[str], *, where: str, column: str) -> list[str]:
    """The present values that the requested ones name, compared by :func:`canonical` form.

    Parameters
    ----------
    requested
        The values asked for (a scenario's ``values`` or an option's list).
    present
        The values that occur in the column.
    where
        Names what asked (a scenario field, an option), for the message.
    column
        The column, for the message.

    Returns
    -------
    list of str
        The present spellings of the requested values.

    Raises
    ------
    DataError
        If a requested value occurs in no row, naming the values present and the nearest spelling.
    """
    by_form = {canonical(p): p for p in present}
    found, unknown = [], []
    for value in requested:
        form = canonical(value)
        (found if form in by_form else unknown).append(by_form.get(form, value))
    if unknown:
        hints = []
        for value in unknown:
            near = difflib.get_close_matches(canonical(value), sorted(by_form), n=1, cutoff=0.6)
            if near:
                hints.append(f"{value!r}: did you mean {by_form[near[0]]!r}?")
        hint = (" " + " ".join(hints)) if hints else ""
        raise DataError(
            f"{where}: {sorted(unknown)} never occur in column {column!r}; values present: "
            f"{sorted(by_form.values())}.{hint}"
        )
    return found
