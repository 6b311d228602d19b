"""Printing the report's A4 PDF with headless Chromium (Playwright), with its dates pinned."""

from __future__ import annotations

import os
import queue
import re
import threading
from pathlib import Path

from planner.clock import output_time
from planner.errors import ReportError


def chromium_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The Chromium that prints the PDF: ``path``, else ``$PLANNER_CHROMIUM``, else ``/usr/bin/chromium``.

    Parameters
    ----------
    path
        A Chromium executable, if given.
    """
    found = Path(path or os.environ.get("PLANNER_CHROMIUM") or "/usr/bin/chromium")
    if not found.is_file():
        raise ReportError(
            f"Chromium not found at {found}: install the Debian package chromium, set PLANNER_CHROMIUM, "
            "or write the HTML only (`pdf` off)"
        )
    return found


_FOOTER = (
    '<div style="font-size:7px;width:100%;text-align:center;color:#666;font-family:sans-serif">'
    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
)


class _Printer:
    """Headless Chromium in a thread of its own, so that it starts while the report is being drawn.

    Every Playwright call happens in that thread; :meth:`print` hands it a job and waits.
    """

    def __init__(self, exe: Path) -> None:
        self.exe = exe
        self._jobs: queue.Queue = queue.Queue()
        self._done: queue.Queue = queue.Queue()
        self._thread = threading.Thread(target=self._serve, name="planner-report-pdf", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=str(self.exe),
                    args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
                )
                try:
                    while (job := self._jobs.get()) is not None:
                        try:
                            self._print(browser, *job)
                            self._done.put(None)
                        except Exception as exc:  # handed to the caller's thread
                            self._done.put(exc)
                finally:
                    browser.close()
        except Exception as exc:  # launch failed: answer every job with the error
            self._done.put(exc)
            while self._jobs.get() is not None:
                self._done.put(exc)

    @staticmethod
    def _print(browser: object, html: Path, pdf: Path) -> None:
        context = browser.new_context()  # type: ignore[attr-defined]
        try:
            context.set_offline(True)
            context.route(re.compile(r"^(https?|wss?)://"), lambda route: route.abort())
            page = context.new_page()
            page.goto(html.as_uri(), wait_until="load")
            page.evaluate("document.fonts.ready")
            tmp = pdf.with_name(f".{pdf.name}.tmp")
            page.pdf(
                path=str(tmp),
                format="A4",
                print_background=True,
                prefer_css_page_size=True,
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=_FOOTER,
                margin={"top": "14mm", "bottom": "14mm", "left": "14mm", "right": "14mm"},
            )
            _pin_pdf_dates(tmp)
            os.replace(tmp, pdf)
        finally:
            context.close()

    def print(self, html: Path, pdf: Path) -> Path:
        self._jobs.put((Path(html).resolve(), Path(pdf)))
        exc = self._done.get()
        if exc is not None:
            raise ReportError(f"Chromium ({self.exe}) could not print {html}: {exc}") from exc
        return Path(pdf)

    def close(self) -> None:
        self._jobs.put(None)
        self._thread.join(timeout=60)


_PDF_DATE = re.compile(rb"/(CreationDate|ModDate) \(D:\d{14}[+-]\d{2}'\d{2}'\)")


def _pin_pdf_dates(path: Path) -> None:
    """Chromium stamps the PDF with the time it printed: put the output time there instead (``SOURCE_DATE_EPOCH``
    when set), so the same inputs give a byte-identical PDF.  The stamps keep their length, so no offset moves."""
    stamp = output_time().strftime("D:%Y%m%d%H%M%S+00'00'").encode()
    data = path.read_bytes()
    pinned = _PDF_DATE.sub(lambda m: b"/" + m.group(1) + b" (" + stamp + b")", data)
    if len(pinned) != len(data):
        raise ReportError(f"{path}: the PDF's date stamps are not in the expected form; nothing was changed")
    path.write_bytes(pinned)


def print_pdf(
    html: str | os.PathLike[str], pdf: str | os.PathLike[str], *, chromium: str | os.PathLike[str] | None = None
) -> Path:
    """Print an HTML file to an A4 PDF with headless Chromium, with every network request blocked.

    Parameters
    ----------
    html
        The HTML file.
    pdf
        The PDF file to write.
    chromium
        The Chromium executable (see :func:`chromium_path`).

    Returns
    -------
    Path
        The PDF.
    """
    printer = _Printer(chromium_path(chromium))
    try:
        return printer.print(Path(html), Path(pdf))
    finally:
        printer.close()
