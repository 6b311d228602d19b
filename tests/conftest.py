"""Shared fixtures.  Tests that need the real data read the mirror named by
PLANNER_DATA (or ../shared/data/london beside the checkout).  Under CI=true a
missing mirror fails those tests instead of skipping them."""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from benchmarks._common import mirror_dir
from planner.errors import PlannerWarning

REPO = Path(__file__).resolve().parents[1]

# The README's test line names the mirror relative to the checkout (PLANNER_DATA=../shared/data/london).
# Tests link to it from temporary folders and start subprocesses in other folders: make it absolute once,
# for this process and every process it starts.
if os.environ.get("PLANNER_DATA"):
    os.environ["PLANNER_DATA"] = str(Path(os.environ["PLANNER_DATA"]).resolve())


def _data_dir() -> Path | None:
    # a relative PLANNER_DATA (the README's ../shared/data/london) is taken from where pytest was started,
    # made absolute once, so tests that link to it from a temporary folder reach the same files
    return mirror_dir()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = _data_dir()
    if path is None:
        message = "real data mirror not found: set PLANNER_DATA to the data directory"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory) -> Path:
    """The invented six-ward data directory of tests/synthetic.py: needs no mirror, so it always runs."""
    from tests.synthetic import write_synthetic_data

    return write_synthetic_data(tmp_path_factory.mktemp("synthetic") / "london")


@pytest.fixture(scope="session")
def osm_dir(data_dir: Path) -> Path:
    path = data_dir.parent / "osm"
    if not path.is_dir():
        pytest.fail(f"OSM extracts not found beside the data directory ({path})")
    return path


@pytest.fixture(scope="session")
def london(data_dir: Path):
    from planner.london import load_london

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        return load_london(data_dir)


@pytest.fixture(scope="session")
def context(data_dir: Path):
    """One RunContext for the real data per worker: its caches are keyed by every input, so modules share it."""
    from planner.context import RunContext

    return RunContext(data_dir)


@pytest.fixture
def cli_context(monkeypatch, context, data_dir: Path):
    """Commands run by these tests get the session's RunContext for the real data (their parsing, messages and
    files are what the tests check; the data and engines they would load are the ones it already holds)."""
    import planner.context

    real = planner.context.RunContext

    def shared(data=None, *args, **kwargs):
        if data is not None and Path(data).resolve() == data_dir.resolve() and not args and not kwargs:
            return context
        return real(data, *args, **kwargs)

    monkeypatch.setattr(planner.context, "RunContext", shared)
    return context


@pytest.fixture(scope="session")
def transit_engine(london):
    from planner.travel import make_engine

    return make_engine("transit", data=london.paths)


def square(x: float, y: float, size: float = 1000.0) -> shapely.Polygon:
    return shapely.box(x, y, x + size, y + size)


def make_wards(n: int = 3, *, borough: str = "E09000002", x0: float = 530000, y0: float = 180000) -> gpd.GeoDataFrame:
    """A row of ``n`` 1-km square wards in one borough."""
    return gpd.GeoDataFrame(
        {
            "ward_code": [f"W{i}" for i in range(n)],
            "ward_name": [f"Ward {i}" for i in range(n)],
            "borough_code": borough,
            "borough_name": "Testham",
            "in_met": True,
        },
        geometry=[square(x0 + 1000 * i, y0) for i in range(n)],
        crs="EPSG:27700",
    )


#: How to get what the browser tests need (what .ci/run does).
BROWSER_SETUP = (
    "apt-get install chromium poppler-utils npm && npm install --prefix /tmp/planner-axe axe-core "
    "(or point PLANNER_CHROMIUM at a Chromium and PLANNER_AXE at axe.min.js)"
)
_BROWSER_REASON = re.compile(r"chromium|axe-core|pdftoppm|pdfinfo|poppler", re.IGNORECASE)


def _skip_reason(report) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return text.removeprefix("Skipped: ")


def browser_skips(skipped) -> dict[str, int]:
    """Skipped browser tests, counted by reason.

    A browser test is one marked ``browser``, or one skipped for want of Chromium, axe-core or poppler
    (the report tests that print a PDF).
    """
    counts: dict[str, int] = {}
    for report in skipped:
        reason = _skip_reason(report)
        if "browser" in getattr(report, "keywords", {}) or _BROWSER_REASON.search(reason):
            counts[reason] = counts.get(reason, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter):
    """Say loudly when browser tests were skipped, and show the maps' load times measured in them.

    A wrapper run first, so its lines come after pytest's own short summary (``-ra``), last before the counts.
    """
    yield
    skips = browser_skips(terminalreporter.stats.get("skipped", []))
    if skips:
        total = sum(skips.values())
        terminalreporter.write_sep("=", f"{total} browser test(s) SKIPPED", yellow=True, bold=True)
        for reason, count in skips.items():
            terminalreporter.write_line(f"  {count} x {reason}", yellow=True)
        steps = []
        if any("mirror" in r for r in skips):
            steps.append("set PLANNER_DATA to the data mirror")
        if any(_BROWSER_REASON.search(r) for r in skips):
            steps.append(f"install {BROWSER_SETUP}")
        terminalreporter.write_line(f"  To run them, {' and '.join(steps)}.", yellow=True, bold=True)
        terminalreporter.write_line("  Under CI=true they fail instead of skipping.")
    times = [
        value
        for report in terminalreporter.stats.get("passed", [])
        for name, value in getattr(report, "user_properties", [])
        if name == "map_load_seconds"
    ]
    if times:
        terminalreporter.write_sep("-", "map load times (headless Chromium, offline)")
        for line in sorted(times):
            terminalreporter.write_line(line)


#: Modules run on one worker each (``xdist_group``), longest first: started first, they end with the rest.
_HEAVY_GROUPS = ("maps", "report")


def pytest_collection_modifyitems(items):
    """Put the one-worker groups first so that two workers finish together (the longest job goes first)."""

    def rank(item) -> int:
        marker = item.get_closest_marker("xdist_group")
        name = marker.args[0] if marker and marker.args else None
        return _HEAVY_GROUPS.index(name) if name in _HEAVY_GROUPS else len(_HEAVY_GROUPS)

    items.sort(key=rank)  # stable: the order within each group and of the rest is kept


EVIL = "<img src=x onerror=alert(1)>"
CHROMIUM = os.environ.get("PLANNER_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def mapped(data_dir, context, tmp_path_factory):
    """Baseline and final 2017 runs with maps, with Brixton's counter renamed to an HTML payload.

    Session-wide: the map and explorer tests share it (one xdist group, so one worker builds it once).
    """
    import pandas as pd

    from planner.maps import write_change_map
    from planner.run import run_scenario

    root = tmp_path_factory.mktemp("maps")
    stations = pd.read_csv(data_dir / "stations" / "front_counters_2017.csv", dtype=str, keep_default_na=False)
    stations.loc[stations["id"] == "brixton", "name"] = EVIL
    evil_csv = root / "stations.csv"
    stations.to_csv(evil_csv, index=False)
    runs = []
    for name in ("baseline-2017", "mopac-final-2017"):
        text = (REPO / "scenarios" / f"{name}.toml").read_text()
        text = text.replace("[counters]\n", f'[counters]\nstations = "{evil_csv}"\n')
        path = root / f"{name}.toml"
        path.write_text(text)
        runs.append(run_scenario(path, out=root / "out", context=context, reference=runs[0].out_dir if runs else None))
    change = write_change_map([r.out_dir for r in runs], root / "out" / "maps" / "change.html")
    base, final = runs
    folder = final.out_dir / "maps"
    open_ref = set(base.counters["station_id"])
    open_now = set(final.counters["station_id"])
    counters = len(open_now) + len(open_ref - open_now)
    return {
        "root": (root, {}),
        "access": (folder / "access.html", {"wards": 629, "counters": counters}),
        "residents": (folder / "residents.html", {"wards": 629, "counters": counters}),
        "hubs": (folder / "hubs.html", {"hubs": final.hubs.n_hubs}),
        "change": (change, {"wards": 629, "counters": counters, "change": 629}),
    }


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM}: install the Debian package chromium"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield b
        b.close()


class OfflinePage:
    """A page opened in its own browser context with every network request blocked (or served by ``serve``).

    Attributes: ``context``, ``page``, ``errors`` (console errors and page errors), ``dialogs`` and ``requests``
    (the URLs the page asked for).
    """

    def __init__(self, browser, url: str, *, viewport: dict, serve=None, online: bool = False) -> None:
        self.context = browser.new_context(viewport=viewport, accept_downloads=True)
        if not online:
            self.context.set_offline(True)
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []

        def route(r):
            self.requests.append(r.request.url)
            serve(r) if serve else r.abort()

        self.context.route(re.compile(r"^(https?|wss?)://"), route)
        self.page = self.context.new_page()
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.goto(url)


def axe_script() -> Path:
    """axe-core's script for the accessibility checks: ``$PLANNER_AXE`` or /tmp/planner-axe (as ``.ci/run``
    installs it); missing, the test is skipped, or fails under CI=true."""
    for candidate in (os.environ.get("PLANNER_AXE", ""), "/tmp/planner-axe/node_modules/axe-core/axe.min.js"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    message = "axe-core not found: npm install --prefix /tmp/planner-axe axe-core (or set PLANNER_AXE)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)
