"""The sha256 of every file of a run folder, kept in its manifest and checked on every read.

A table edited after the run (a halved minute, a deleted row) is refused with the file named, instead of
giving a plausible wrong figure.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from planner.errors import DataError
from planner.io import sha256_file
from planner.runfolder.checks import rerun_hint

__all__ = [
    "MANIFEST_BODY",
    "check_outputs",
    "manifest_digest",
    "output_hashes",
]


#: Files of a run folder that are not hashed into its manifest: the manifest itself, and the maps, which
#: ``planner maps`` may rewrite.
_UNHASHED = ("manifest.json", "maps")


def output_hashes(folder: str | os.PathLike[str]) -> dict[str, str]:
    """sha256 of every file a run wrote into its folder (but the manifest and ``maps/``), by relative path.

    Parameters
    ----------
    folder
        The run folder being written, before its manifest.

    Returns
    -------
    dict
        Relative path (``/``-separated) -> sha256, sorted.
    """
    root = Path(folder)
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if path.is_file() and rel.parts[0] not in _UNHASHED and not rel.name.startswith("."):
            out[rel.as_posix()] = sha256_file(path)
    return out


#: The key of ``outputs`` that holds :func:`manifest_digest`: the manifest cannot hold its own file's hash.
MANIFEST_BODY = "manifest.json#body"


def manifest_digest(manifest: dict) -> str:
    """sha256 of a manifest without its ``outputs``: its parameters, engine, inputs and times.

    Parameters
    ----------
    manifest
        A run's manifest.

    Returns
    -------
    str
        The hex digest of its canonical JSON (sorted keys).
    """
    body = {k: v for k, v in manifest.items() if k != "outputs"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def check_outputs(folder: str | os.PathLike[str], manifest: dict) -> None:
    """Refuse a run folder whose files were changed, deleted or added after the run wrote them.

    A manifest without ``outputs`` (a run of an older planner, or one whose hashes were deleted) is refused:
    nothing would then show what was changed.

    Parameters
    ----------
    folder
        The run folder.
    manifest
        Its ``manifest.json``.

    Raises
    ------
    DataError
        Naming the files that differ from the manifest's ``outputs``.
    """
    listed = manifest.get("outputs")
    if not isinstance(listed, dict) or MANIFEST_BODY not in listed:
        raise DataError(
            f"{Path(folder) / 'manifest.json'}: no hashes of the run's files ('outputs'): written by an older "
            f"planner, or edited, so nothing shows whether its figures were changed; {rerun_hint(Path(folder))}"
        )
    listed = dict(listed)
    body = listed.pop(MANIFEST_BODY)
    if body != manifest_digest(manifest):
        raise DataError(
            f"{Path(folder) / 'manifest.json'}: its parameters, engine or inputs were changed after the run (they "
            "no longer match the digest it was written with), so they no longer describe its figures; "
            f"{rerun_hint(Path(folder))}"
        )
    now = output_hashes(folder)
    changed = sorted(k for k in listed if k in now and now[k] != listed[k])
    missing = sorted(set(listed) - set(now))
    added = sorted(set(now) - set(listed))
    if changed or missing or added:
        parts = [
            f"changed: {changed[:5]}" if changed else "",
            f"missing: {missing[:5]}" if missing else "",
            f"added: {added[:5]}" if added else "",
        ]
        raise DataError(
            f"{folder}: files differ from those the run wrote ({'; '.join(p for p in parts if p)}), so its figures "
            f"cannot be trusted; {rerun_hint(Path(folder))}"
        )
