"""Deterministic writers (the same inputs give byte-identical files), and output-folder checks and locks."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import json
import logging
import os
import re
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from planner.errors import DataError, OptionError, PlannerWarning

__all__ = [
    "check_out_dir",
    "locked_folder",
    "read_csv",
    "remove_leftovers",
    "replaceable",
    "sha256_file",
    "staging_folder",
    "write_csv",
    "write_gpkg",
    "write_json",
]

logger = logging.getLogger(__name__)

#: The lock file that serialises writes into one output folder.
LOCK_NAME = ".planner.lock"
#: Hidden folders a run assembles its output in before renaming it into place (``.NAME-XXXXXXXX``).
_PARTIAL = re.compile(r"^\.[A-Za-z0-9][A-Za-z0-9_.-]*-[a-z0-9_]{8}$")

#: GeoPackages record a "last change" time; planner pins it while it writes so reruns are identical.
_FIXED_DATE = "2000-01-01T00:00:00.000Z"


#: Separators a CSV file written by a spreadsheet may use instead of commas.
_SEPARATORS = (";", "\t", "|")


def read_csv(path: str | os.PathLike[str], **options: object) -> pd.DataFrame:
    """Read a CSV file whatever its encoding and separator, saying so when it is not UTF-8 with commas.

    UTF-8 (with or without a byte-order mark) is read as it is.  A file that
    is not UTF-8 is read as Windows-1252 (a superset of Latin-1, what Excel
    writes on Windows) with a warning naming the first line that is not
    UTF-8.  A header with no comma but semicolons, tabs or bars is split on
    that separator, with a warning.

    Parameters
    ----------
    path
        The file.
    **options
        Passed to :func:`pandas.read_csv` (``dtype``, ``usecols``, ...).

    Returns
    -------
    pandas.DataFrame
        The table.

    Raises
    ------
    DataError
        When the rows cannot be split into the header's columns, naming the file and pandas' reason.
    """
    path = Path(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        text = data.decode("cp1252", errors="replace")
        _warn(
            f"{path} is not UTF-8 (line {line} holds byte 0x{data[exc.start]:02x}); it was read as Windows-1252 "
            "(Latin-1). Check its accented names, and save it as CSV UTF-8 to silence this"
        )
    header = text.split("\n", 1)[0]
    sep = ","
    if "," not in header:
        sep = max(_SEPARATORS, key=header.count)
        if header.count(sep) == 0:
            sep = ","
        else:
            _warn(f"{path} separates its columns with {sep!r}, not commas; it was read so")
    try:
        return pd.read_csv(io.StringIO(text), sep=sep, **options)  # type: ignore[arg-type]
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataError(
            f"{path}: cannot be read as a table ({exc}); every row must have the header's columns, "
            "separated by commas: export it again as CSV"
        ) from exc


def _warn(message: str) -> None:
    warnings.warn(message, PlannerWarning, stacklevel=3)
    logger.warning(message)


def write_csv(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a table as CSV with a fixed float format (geometry dropped).

    Parameters
    ----------
    frame
        The table (a ``geometry`` column is dropped).
    path
        The CSV file (its folder is created if needed).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(frame).drop(columns=["geometry"], errors="ignore")
    table.to_csv(path, index=False, float_format="%.6g", lineterminator="\n")
    return path


def write_gpkg(frame: gpd.GeoDataFrame, path: str | os.PathLike[str], layer: str) -> Path:
    """Write (or replace) one layer of a GeoPackage.

    Parameters
    ----------
    frame
        The layer's features.
    path
        The GeoPackage (created if needed).
    layer
        The layer's name.
    """
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
    """Write JSON with sorted keys.

    Parameters
    ----------
    data
        Anything :func:`json.dumps` takes.
    path
        The JSON file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    return path


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file.

    Parameters
    ----------
    path
        The file.
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def check_out_dir(path: str | os.PathLike[str], *, option: str = "`out`", outside_runs: bool = False) -> Path:
    """Refuse an output folder that cannot be created or written, before any work starts.

    Nothing is created: the nearest existing folder on the path is checked by
    creating and removing a temporary file in it.

    Parameters
    ----------
    path
        The output folder (it need not exist yet).
    option
        How to name the folder in the message.
    outside_runs
        Also refuse a run folder written by ``planner run``, or a folder inside one: files written there would
        change the run, whose manifest lists and hashes every file (the next read would refuse it).

    Returns
    -------
    Path
        The folder.

    Raises
    ------
    OptionError
        If the path is an existing file, lies under a file, or its nearest
        existing folder cannot be written (read-only, immutable, ``/proc``).
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OptionError(f"{option} {path} is an existing file, not a folder; choose a folder (created if needed)")
    run = next((p for p in (path, *path.parents) if (p / "manifest.json").is_file()), None) if outside_runs else None
    if run is not None:
        raise OptionError(
            f"{option} {path} is {'' if run == path else 'inside '}the run folder {run} written by `planner run`: "
            "files written there would change the run (its manifest hashes every file); choose the folder that "
            "holds the run folders, or another one"
        )
    probe = path
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise OptionError(f"{option} {path}: {probe} is a file, so no folder can be made under it; choose another path")
    try:
        fd, test = tempfile.mkstemp(prefix=".planner-write-test-", dir=probe)
        os.close(fd)
        os.unlink(test)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
            reason += " (read-only, immutable or not yours)"
        raise OptionError(
            f"{option} {path}: cannot write in {probe}: {reason}; choose a folder you can write to"
        ) from exc
    return path


@contextlib.contextmanager
def locked_folder(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Hold the output folder's lock (``.planner.lock``) while writing into it.

    A second planner process writing into the same folder waits until the
    first has finished, so concurrent runs neither fail nor mix their files.
    The lock is released when the process ends, even if it is killed.

    Parameters
    ----------
    folder
        The output folder (created if needed).
    """
    import fcntl

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / LOCK_NAME, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            logger.warning("another planner run is writing into %s; waiting for it to finish", folder)
            fcntl.flock(fh, fcntl.LOCK_EX)
        except OSError as exc:  # a file system without locks: go on unlocked
            logger.warning("cannot lock %s (%s); do not run planner into it twice at once", folder, exc)
        try:
            yield folder
        finally:
            with contextlib.suppress(OSError):
                fcntl.flock(fh, fcntl.LOCK_UN)


#: The file that marks a folder as a run being assembled (only such folders are ever removed as leftovers).
PARTIAL_MARK = ".planner-partial"


def staging_folder(parent: str | os.PathLike[str], name: str) -> Path:
    """A new hidden folder ``parent/.NAME-XXXXXXXX`` to assemble an output in, marked as planner's own.

    Rename it into place with :func:`finish_staging`; an interrupted run leaves it for
    :func:`remove_leftovers`, which removes only folders carrying the mark.

    Parameters
    ----------
    parent
        The folder the output will be renamed into.
    name
        The output's final name.
    """
    folder = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=parent))
    os.chmod(folder, 0o755)
    (folder / PARTIAL_MARK).write_text("a planner output being written; removed by the next run if left here\n")
    return folder


def finish_staging(folder: Path, final: Path) -> None:
    """Move a staged output into place, replacing the previous output of the same name (see :func:`replaceable`)."""
    (folder / PARTIAL_MARK).unlink(missing_ok=True)
    if final.exists():
        shutil.rmtree(final)
    os.replace(folder, final)


def replaceable(path: str | os.PathLike[str], *, what: str = "run folder", marker: str = "manifest.json") -> None:
    """Refuse to replace ``path`` unless it is missing or an output of planner (it holds ``marker``).

    Parameters
    ----------
    path
        The folder about to be replaced.
    what
        What the folder is, for the message.
    marker
        The file planner writes into every such folder.

    Raises
    ------
    OptionError
        Naming the folder: a folder planner did not write is never deleted.
    """
    path = Path(path)
    if path.is_symlink() or (path.exists() and not (path.is_dir() and (path / marker).is_file())):
        raise OptionError(
            f"{path} exists and is not a {what} written by planner (it has no {marker}); planner would replace "
            "it, so it stops here: choose another output folder or name, or move that one away"
        )


def check_out_beside_data(out: str | os.PathLike[str], data: str | os.PathLike[str], *, option: str = "out") -> None:
    """Refuse an output folder inside the data directory: outputs would mix with (or replace) the inputs.

    Raises
    ------
    OptionError
        Naming both folders.
    """
    target, root = Path(os.path.abspath(out)), Path(os.path.realpath(data))
    if Path(os.path.realpath(target)).is_relative_to(root) or target.is_relative_to(Path(os.path.abspath(data))):
        raise OptionError(
            f"{option} {out} lies inside the data directory {data}: outputs would mix with the input files and "
            "could replace them; write the outputs elsewhere"
        )


def remove_leftovers(folder: str | os.PathLike[str]) -> list[Path]:
    """Remove the hidden ``.NAME-XXXXXXXX`` folders, marked as planner's, that runs killed while writing left behind.

    Call it only while holding :func:`locked_folder`: then no live run is
    writing into such a folder.  Each removal is logged as a warning.

    Parameters
    ----------
    folder
        The output folder whose hidden leftovers to remove.

    Returns
    -------
    list of Path
        The folders removed.
    """
    removed = []
    for child in sorted(Path(folder).iterdir()):
        ours = child.is_dir() and not child.is_symlink() and (child / PARTIAL_MARK).is_file()
        if _PARTIAL.match(child.name) and ours:
            shutil.rmtree(child, ignore_errors=True)
            removed.append(child)
    if removed:
        logger.warning(
            "removed %d unfinished output folder(s) left in %s by an interrupted run: %s",
            len(removed),
            folder,
            ", ".join(p.name for p in removed),
        )
    return removed
