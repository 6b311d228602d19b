"""Writing the report: read and check the run folders, render the page, print the PDF."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from planner.io import check_out_dir
from planner.report.html import render_html
from planner.report.pdf import _Printer, chromium_path
from planner.runfolder import check_run_outputs, read_run_outputs

__all__ = ["Report", "write_report"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Report:
    """What :func:`write_report` wrote.

    Attributes
    ----------
    html
        ``report.html``.
    pdf
        ``report.pdf`` (None with ``pdf=False``).
    pages
        The pages the HTML lays out (one per ``section.page``); the PDF has as many.
    """

    html: Path
    pdf: Path | None
    pages: int


def write_report(
    run_dirs: Sequence[str | os.PathLike[str]],
    *,
    out: str | os.PathLike[str],
    sweeps: Sequence[str | os.PathLike[str]] = (),
    pdf: bool = True,
    chromium: str | os.PathLike[str] | None = None,
    title: str | None = None,
    allow_mixed: bool = False,
) -> Report:
    """Write ``report.html`` and ``report.pdf`` for run folders.

    Parameters
    ----------
    run_dirs
        Run folders written by ``planner run``; the first is the reference.
    out
        The folder to write to.
    sweeps
        Sweep folders to include (critical counters; coverage against bus speed).
    pdf
        Also print the PDF with headless Chromium.
    chromium
        Chromium executable (default ``$PLANNER_CHROMIUM`` or ``/usr/bin/chromium``).
    title
        The cover title.
    allow_mixed
        Report runs that differ in data, demand year or engine, stating how (see :func:`render_html`).

    Returns
    -------
    Report
        The files written.
    """
    check_out_dir(out, outside_runs=True)
    runs = [read_run_outputs(d) for d in run_dirs]
    check_run_outputs(runs, allow_mixed=allow_mixed)  # before Chromium starts
    printer = _Printer(chromium_path(chromium)) if pdf else None  # starts while the report is drawn
    try:
        html = render_html(runs=runs, sweeps=sweeps, title=title, allow_mixed=allow_mixed)
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / "report.html"
        tmp = folder / ".report.html.tmp"
        tmp.write_text(html, encoding="utf-8")
        os.replace(tmp, target)
        written = printer.print(target, folder / "report.pdf") if printer else None
    finally:
        if printer is not None:
            printer.close()
    logger.info("wrote %s (%.1f MB)", target, target.stat().st_size / 1e6)
    return Report(target, written, html.count('<section class="page'))
