"""The manifest of public sources and ``planner data fetch``.

Each ``data/<folder>/sources.toml`` in the repository lists datasets with
their publisher download URL, the expected sha256, licence and attribution.
:func:`fetch` downloads them with checksum verification, atomic writes and
resumable retries (HTTP ``Range``).
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from planner.errors import DataError, FetchError

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


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch(
    dest: str | os.PathLike[str],
    *,
    names: list[str] | None = None,
    base_url: str | None = None,
    verify: bool = True,
    retries: int = 4,
    backoff: float = 1.0,
    timeout: float = 60.0,
    sources: list[Source] | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> list[FetchResult]:
    """Download public datasets into a data directory.

    Parameters
    ----------
    dest
        Data directory to fill; files go to ``dest/<source.dest>``.
    names
        Only these sources (default: all).
    base_url
        Fetch ``base_url/<source.dest>`` instead of the publisher URL, for a
        mirror of the reference data.  Sources without a publisher URL can
        only be fetched this way.
    verify
        Check each file's sha256 against the manifest.  With False the hash
        is logged as a warning instead.
    retries
        Attempts per file; an interrupted transfer resumes from the bytes
        already written.
    backoff
        Seconds before the first retry; doubled each time.
    timeout
        Socket timeout in seconds.
    sources
        Manifest to use instead of :func:`load_manifest`.
    progress
        Called as ``progress(name, done_bytes, total_bytes)``.

    Returns
    -------
    list of FetchResult
        One per selected source.

    Raises
    ------
    FetchError
        If a file cannot be downloaded after all retries or has the wrong sha256.
    """
    catalogue = sources if sources is not None else load_manifest()
    known = {s.name for s in catalogue}
    if names:
        unknown = sorted(set(names) - known)
        if unknown:
            raise DataError(f"Unknown dataset(s) {unknown}; known: {sorted(known)}.")
    results = []
    for src in catalogue:
        if names and src.name not in names:
            continue
        target = Path(dest) / src.dest
        url = f"{base_url.rstrip('/')}/{urllib.request.pathname2url(src.dest)}" if base_url else src.url
        if not url:
            results.append(FetchResult(src.name, None, "skipped", None, f"no publisher download; see {src.page}"))
            continue
        if target.is_file() and verify and _sha256(target) == src.sha256:
            results.append(FetchResult(src.name, target, "present", src.sha256))
            continue
        digest = _download(url, target, src, verify, retries, backoff, timeout, progress)
        results.append(FetchResult(src.name, target, "downloaded", digest))
    return results


def _download(
    url: str,
    target: Path,
    src: Source,
    verify: bool,
    retries: int,
    backoff: float,
    timeout: float,
    progress: Callable[[str, int, int], None] | None,
) -> str:
    target.parent.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.name + ".part")
    last_error: Exception | None = None
    for attempt in range(1, retries + 1):
        try:
            _transfer(url, part, src, timeout, progress)
            last_error = None
            break
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            if isinstance(exc, urllib.error.HTTPError) and exc.code in (403, 404, 410):
                raise FetchError(
                    f"{src.name}: {url} answered HTTP {exc.code}; the file has moved. "
                    f"Find it on {src.page} and pass its location."
                ) from exc
            last_error = exc
            wait = backoff * 2 ** (attempt - 1)
            logger.warning("%s: attempt %d/%d failed (%s); retrying in %.1fs", src.name, attempt, retries, exc, wait)
            time.sleep(wait)
    if last_error is not None:
        raise FetchError(
            f"{src.name}: could not download {url} after {retries} attempts ({last_error}); "
            f"partial data kept in {part} and resumed next time."
        )
    digest = _sha256(part)
    if verify and digest != src.sha256:
        part.unlink()
        raise FetchError(
            f"{src.name}: {url} gave a file with sha256 {digest}, expected {src.sha256}. The download "
            "was corrupt or the publisher changed the file; nothing was written. Try again, or use "
            "--no-verify if you have checked the new file."
        )
    if not verify:
        logger.warning("%s: not verified; sha256 of the downloaded file is %s", src.name, digest)
    os.replace(part, target)
    return digest


def _transfer(
    url: str, part: Path, src: Source, timeout: float, progress: Callable[[str, int, int], None] | None
) -> None:
    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "planner"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        resumed = have and response.status == 206
        mode = "ab" if resumed else "wb"
        done = have if resumed else 0
        length = response.headers.get("Content-Length")
        total = done + int(length) if length else src.bytes
        with part.open(mode) as fh:
            while block := response.read(_CHUNK):
                fh.write(block)
                done += len(block)
                if progress:
                    progress(src.name, done, total)
        if length is not None and done < total:
            raise ConnectionError(f"transfer ended after {done} of {total} bytes")
