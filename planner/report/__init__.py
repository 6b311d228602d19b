"""A scenario report to put in front of a board: one self-contained HTML file and its A4 PDF.

Every figure is read from the run folders written by :func:`planner.run.run_scenario`
(``summary.json``, ``manifest.json``, the access tables and layers, the hub plan) through
:func:`planner.runfolder.read_run_outputs`, never recomputed here.  Charts are matplotlib SVGs and
static maps are matplotlib PNGs, embedded as data URIs; the text font (DejaVu Sans, shipped with
matplotlib) is embedded too, so the page needs no network and looks the same everywhere.  The PDF is
printed by headless Chromium (Playwright).

The same run folders give a byte-identical ``report.html``; the date on the cover is
``SOURCE_DATE_EPOCH`` when set, else today's date.

Modules: :mod:`~planner.report.figures` (the figures and sentences), :mod:`~planner.report.charts`,
:mod:`~planner.report.static_maps`, :mod:`~planner.report.methods` (sources, parameters, appendix),
:mod:`~planner.report.html` (the page), :mod:`~planner.report.pdf` (printing) and
:mod:`~planner.report.build` (:func:`write_report`); :mod:`~planner.report.style` holds the look.
"""

from planner.report.build import Report, write_report
from planner.report.html import render_html
from planner.report.pdf import chromium_path, print_pdf

__all__ = ["Report", "chromium_path", "print_pdf", "render_html", "write_report"]
