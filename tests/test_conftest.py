"""The test run's own reporting: skipped browser tests are counted and explained at the end."""

from types import SimpleNamespace

from tests.conftest import browser_skips


def skipped(reason: str, *markers: str) -> SimpleNamespace:
    return SimpleNamespace(longrepr=("tests/test_x.py", 1, f"Skipped: {reason}"), keywords=dict.fromkeys(markers, 1))


def test_browser_skips_counted_by_reason():
    chromium = "Chromium not found at /usr/bin/chromium: install the Debian package chromium"
    axe = "axe-core not found: npm install --prefix /tmp/planner-axe axe-core (or set PLANNER_AXE)"
    reports = [
        skipped(chromium, "browser", "data"),
        skipped(chromium, "browser", "data"),
        skipped(chromium, "data"),  # a report test that needs Chromium for its PDF, not marked browser
        skipped(axe, "browser"),
        skipped("real data mirror not found: set PLANNER_DATA to the data directory", "browser", "data"),
        skipped("real data mirror not found: set PLANNER_DATA to the data directory", "data"),  # not a browser test
        skipped("pdftoppm/pdfinfo not found: install the Debian package poppler-utils", "data"),
    ]
    assert browser_skips(reports) == {
        chromium: 3,
        axe: 1,
        "pdftoppm/pdfinfo not found: install the Debian package poppler-utils": 1,
        "real data mirror not found: set PLANNER_DATA to the data directory": 1,
    }
    assert browser_skips([skipped("needs the slow marker", "slow")]) == {}
