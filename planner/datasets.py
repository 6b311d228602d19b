"""The manifest of public sources and ``planner data fetch``.

Each ``data/<folder>/sources.toml`` in the repository lists datasets with
their publisher download URL, the expected sha256, licence and attribution.
:func:`fetch` hands the downloading to :mod:`pooch` (sha256 check, retries,
a temporary file moved into place only once its hash matches); this module
only maps the manifest onto a pooch registry and pooch's errors onto
:class:`~planner.errors.FetchError` messages that say how to fix them.
Every file is at most a few MB, so an interrupted transfer simply starts again.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tomllib
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pooch
import requests

from planner.errors import DataError, FetchError, OptionError

__all__ = ["FetchResult", "Source", "fetch", "load_manifest"]

logger = logging.getLogger(__name__)

_CHUNK = 1 << 16


@dataclass(frozen=True)
class Source:
    """One dataset in the manifest."""

    name: str
    dest: str
    url: str
    page: str
    sha256: str
    bytes: int
    licence: str
    attribution: str
    note: str = ""
    date: str = ""  # the period the data describes, in words (e.g. "mid-2019")


@dataclass(frozen=True)
class FetchResult:
    """What :func:`fetch` did for one source."""

    name: str
    path: Path | None
    status: str  # "downloaded", "present", "skipped"
    sha256: str | None
    detail: str = ""


def _manifest_dirs() -> list[Path]:
    here = Path(__file__).resolve().parent
    return [here.parent / "data", here / "_sources"]


def load_manifest(folder: str | os.PathLike[str] | None = None) -> list[Source]:
    """Read every ``*/sources.toml`` below the manifest folder.

    Parameters
    ----------
    folder
        Folder to read; defaults to the repository's ``data/`` (or the copy
        packaged with planner).

    Returns
    -------
    list of Source
        Sorted by name.
    """
    roots = [Path(folder)] if folder is not None else _manifest_dirs()
    for root in roots:
        files = sorted(root.glob("*/sources.toml")) + sorted(root.glob("*.toml"))
        if files:
            break
    else:
        raise DataError(f"No sources.toml manifests found in {', '.join(map(str, roots))}.")
    sources: list[Source] = []
    for file in files:
        with file.open("rb") as fh:
            try:
                doc = tomllib.load(fh)
            except tomllib.TOMLDecodeError as exc:
                raise DataError(f"{file}: invalid TOML ({exc}).") from exc
        for i, entry in enumerate(doc.get("source", []), start=1):
            try:
                sources.append(Source(**entry))
            except TypeError as exc:
                raise DataError(f"{file}: source #{i} is malformed ({exc}).") from exc
    return sorted(sources, key=lambda s: s.name)


def fetch(
    dest: str | os.PathLike[str],
    *,
    names: list[str] | None = None,
    base_url: str | None = None,
    verify: bool = True,
    retries: int = 4,
    timeout: float = 60.0,
    sources: list[Source] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[FetchResult]:
    """Download public datasets into a data directory.

    Parameters
    ----------
    dest
        Data directory to fill; files go to ``dest/<source.dest>``.  Nothing is
        written anywhere else (no cache folder).
    names
        Only these sources (default: all).
    base_url
        Fetch ``base_url/<source.dest>`` instead of the publisher URL, for a
        mirror of the reference data (``http://`` or ``https://``).  Sources
        without a publisher URL can only be fetched this way.
    verify
        Check each file's sha256 against the manifest; a file already in
        ``dest`` with that hash is not downloaded again.  With False, a file
        already in ``dest`` is kept whatever its hash, and a downloaded or kept
        file whose hash differs from the manifest is logged as a warning.
    retries
        Attempts per file (pooch waits 1 s, 2 s, ... between them).
    timeout
        Socket timeout in seconds.
    sources
        Manifest to use instead of :func:`load_manifest`.
    progress
        Called as ``progress(name, done_bytes, total_bytes)`` while a file downloads.

    Returns
    -------
    list of FetchResult
        One per selected source: ``"downloaded"``, ``"present"`` (already in
        ``dest``) or ``"skipped"`` (no publisher download and no ``base_url``).

    Raises
    ------
    FetchError
        If a file cannot be downloaded after all attempts or has the wrong sha256; its ``done``
        attribute lists the :class:`FetchResult` of the files fetched before it.
    DataError
        If ``names`` holds a dataset the manifest does not list.
    OptionError
        If ``retries`` is below 1 or ``base_url`` is not an http(s) address.
    """
    if retries < 1:
        raise OptionError(f"`retries` must be at least 1 (got {retries}): it is the number of attempts per file.")
    if base_url and urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
        raise OptionError(f"`base_url` must be an http:// or https:// address (got {base_url!r}).")
    catalogue = sources if sources is not None else load_manifest()
    known = {s.name for s in catalogue}
    if names:
        unknown = sorted(set(names) - known)
        if unknown:
            raise DataError(f"Unknown dataset(s) {unknown}; known: {sorted(known)}.")
    chosen = [s for s in catalogue if not names or s.name in names]
    urls = {s.dest: _url(s, base_url) for s in chosen}
    registry = pooch.create(
        path=os.fspath(dest),
        base_url="",
        registry={s.dest: f"sha256:{s.sha256}" if verify else None for s in chosen if urls[s.dest]},
        urls={rel: url for rel, url in urls.items() if url},
        retry_if_failed=retries - 1,
    )
    results = []
    with _pooch_logs_here():
        for src in chosen:
            url = urls[src.dest]
            if not url:
                detail = (
                    f"no publisher download matches the reference copy: get it from {src.page}, "
                    "or from a mirror of the reference data (`base_url`)"
                )
                results.append(FetchResult(src.name, None, "skipped", None, detail))
                continue
            try:
                results.append(_fetch_one(registry, src, url, verify, retries, timeout, progress))
            except FetchError as exc:
                exc.done = list(results)  # what did arrive, for the caller to show
                raise
    return results


def _url(src: Source, base_url: str | None) -> str:
    if base_url:
        return f"{base_url.rstrip('/')}/{urllib.request.pathname2url(src.dest)}"
    return src.url


def _fetch_one(
    registry: pooch.Pooch,
    src: Source,
    url: str,
    verify: bool,
    retries: int,
    timeout: float,
    progress: Callable[[str, int, int], None] | None,
) -> FetchResult:
    actions: list[str] = []

    def record(path: str, action: str, _pup: pooch.Pooch) -> str:
        actions.append(action)
        return path

    downloader = pooch.HTTPDownloader(
        progressbar=_Progress(src, progress) if progress else False,
        chunk_size=_CHUNK,
        timeout=timeout,
        headers={"User-Agent": "planner"},
    )
    target = Path(registry.abspath) / src.dest
    missing = [d for d in (target.parent, *target.parent.parents) if not d.exists()]
    try:
        path = _fetch_file(registry, src, url, retries, target, record, downloader)
    finally:
        for folder in missing:  # folders made for a file that did not arrive: leave nothing behind
            with contextlib.suppress(OSError):
                folder.rmdir()
    if actions == ["download"] or actions == ["update"]:
        _follow_umask(path)
    if actions == ["update"]:
        logger.warning("%s: replaced %s, whose sha256 did not match the manifest", src.name, path)
    status = "present" if actions == ["fetch"] else "downloaded"
    if verify:
        return FetchResult(src.name, path, status, src.sha256)
    digest = pooch.file_hash(str(path))
    if digest != src.sha256:
        kept = "kept the file already there (delete it to download again)" if status == "present" else "downloaded"
        logger.warning("%s: not verified; %s %s, sha256 %s (manifest: %s)", src.name, kept, path, digest, src.sha256)
    return FetchResult(src.name, path, status, digest)


def _fetch_file(
    registry: pooch.Pooch,
    src: Source,
    url: str,
    retries: int,
    target: Path,
    record: Callable[[str, str, pooch.Pooch], str],
    downloader: pooch.HTTPDownloader,
) -> Path:
    """One file through pooch, its errors turned into :class:`FetchError` messages that say how to fix them."""
    mirror = url != src.url
    try:
        return Path(registry.fetch(src.dest, processor=record, downloader=downloader))
    except requests.HTTPError as exc:
        raise FetchError(
            f"{src.name}: {url} answered HTTP {exc.response.status_code}, so {target} was not written. "
            + (
                f"Check the `base_url` address: the mirror should hold {src.dest}."
                if mirror
                else f"The publisher may have moved the file: find it on {src.page}, or fetch from a mirror "
                "(`base_url`)."
            )
        ) from exc
    except requests.RequestException as exc:
        raise FetchError(
            f"{src.name}: could not download {url} after {retries} attempt(s) ({exc}), so {target} was not "
            "written. Check the network (and the `base_url` address, if you gave one) and run the command again."
        ) from exc
    except ValueError as exc:  # pooch's hash check: the downloaded file was deleted, the old one left alone
        found = re.search(r"but got ([0-9a-fA-F]{64})", str(exc))
        got = f"sha256 {found[1]}" if found else "another sha256"
        advice = (
            "The mirror's copy is not the reference file: check the mirror"
            if mirror
            else "The download was corrupt or the publisher changed the file: try again, or fetch the reference "
            "copy from a mirror (`base_url`)"
        )
        raise FetchError(
            f"{src.name}: the file from {url} has {got}, not the manifest's {src.sha256}, so nothing was written "
            f"to {target}. {advice}; once you have checked the file, fetching with `verify` off accepts it."
        ) from exc
    except OSError as exc:
        raise FetchError(f"{src.name}: could not write {target} ({exc}); check that the folder is writable.") from exc


def _follow_umask(path: Path) -> None:
    """Give a downloaded file the permissions of any new file (pooch's temporary file is private to its owner)."""
    mask = os.umask(0)
    os.umask(mask)
    path.chmod(0o666 & ~mask)


class _Progress:
    """The progress-bar object pooch's downloader drives (``total``, ``update``, ``reset``, ``close``),
    reported to a ``progress(name, done, total)`` callback."""

    def __init__(self, src: Source, callback: Callable[[str, int, int], None]) -> None:
        self.src, self.callback, self.total, self.done = src, callback, 0, 0

    def update(self, n: int) -> None:
        total = self.total or self.src.bytes  # pooch sets the Content-Length, or 0 when the server gives none
        self.done = min(self.done + n, total)
        self.callback(self.src.name, self.done, total)

    def reset(self) -> None:
        self.done = 0

    def close(self) -> None:
        """Nothing to close: the CLI owns the display."""


class _Forward(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        retrying = message.startswith("Failed to download")  # a failed attempt: say so, not wait in silence
        logger.log(max(record.levelno, logging.WARNING) if retrying else record.levelno, "pooch: %s", message)


@contextmanager
def _pooch_logs_here() -> Iterator[None]:
    """Send pooch's log records (download and retry notices) to this module's logger instead of pooch's own
    stderr handler, so that only the CLI's handlers print anything; pooch's handlers are restored afterwards."""
    log = pooch.get_logger()
    saved, log.handlers = log.handlers, [_Forward()]
    try:
        yield
    finally:
        log.handlers = saved
