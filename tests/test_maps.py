"""Maps: static checks, and the four maps opened in headless Chromium with every network request blocked."""

import os
import re
import shutil
import time
from pathlib import Path

import pandas as pd
import pytest

from planner.maps import write_change_map
from planner.run import RunContext, run_scenario
from tests.conftest import REPO

EVIL = "<img src=x onerror=alert(1)>"
CHROMIUM = os.environ.get("PLANNER_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def mapped(data_dir, tmp_path_factory):
    """Baseline and final 2017 runs with maps, with Brixton's counter renamed to an HTML payload."""
    root = tmp_path_factory.mktemp("maps")
    stations = pd.read_csv(data_dir / "stations" / "front_counters_2017.csv", dtype=str, keep_default_na=False)
    stations.loc[stations["id"] == "brixton", "name"] = EVIL
    evil_csv = root / "stations.csv"
    stations.to_csv(evil_csv, index=False)
    runs = []
    context = RunContext(data_dir)
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


KINDS = ["access", "residents", "hubs", "change"]


@pytest.mark.data
@pytest.mark.parametrize("kind", KINDS)
def test_offline_light_and_escaped(mapped, kind):
    path, _ = mapped[kind]
    page = path.read_text(encoding="utf-8")
    assert path.stat().st_size <= 5_000_000
    assert not re.findall(r'<(?:script[^>]*\ssrc|link[^>]*\shref)="https?://', page)
    assert "L.map(" in page  # Leaflet is embedded and used
    assert EVIL not in page  # the payload never appears as markup
    assert "<img src=x" not in page


@pytest.fixture(scope="module")
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


def _open(browser, path, tmp_path):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_offline(True)
    requests = []

    def block(route):
        requests.append(route.request.url)
        route.abort()

    context.route(re.compile(r"^(https?|wss?)://"), block)
    page = context.new_page()
    errors, dialogs = [], []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    start = time.perf_counter()
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    page.wait_for_selector(".planner-legend")
    seconds = time.perf_counter() - start
    return context, page, errors, dialogs, requests, seconds


def _count(page, selector):
    return page.evaluate(f"document.querySelectorAll({selector!r}).length")


@pytest.mark.data
@pytest.mark.browser
@pytest.mark.parametrize("kind", KINDS)
def test_map_in_browser(browser, mapped, kind, tmp_path, record_property):
    path, expected = mapped[kind]
    context, page, errors, dialogs, requests, seconds = _open(browser, path, tmp_path)
    try:
        record_property("map_load_seconds", f"{kind}: {seconds:.2f}s")
        shot = tmp_path / f"{kind}.png"
        page.screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
        assert errors == []
        assert requests == []
        assert _count(page, ".planner-legend") == 1
        if "wards" in expected:
            assert _count(page, ".leaflet-wards-pane path") == expected["wards"]
        if "counters" in expected:
            assert _count(page, ".leaflet-counters-pane .counter") == expected["counters"]
        if "hubs" in expected:
            assert _count(page, ".leaflet-hubs-pane path") == expected["hubs"]
        if "change" in expected:
            assert _count(page, ".leaflet-hubs-pane path") == expected["change"]
        if "counters" in expected:
            # the renamed station shows its name as text and runs nothing
            page.locator(f'.leaflet-marker-icon[title="{EVIL}"]').first.click()
            page.wait_for_selector(".leaflet-popup-content .counter-name")
            assert page.inner_text(".leaflet-popup-content .counter-name") == EVIL
        assert dialogs == []
    finally:
        context.close()


@pytest.mark.data
@pytest.mark.browser
def test_resident_search_and_summary(browser, mapped, tmp_path):
    path, _ = mapped["residents"]
    context, page, errors, dialogs, requests, _ = _open(browser, path, tmp_path)
    try:
        page.fill("#planner-search-input", "brixton hill")
        page.click("#planner-search-results button")
        summary = page.locator("#planner-summary")
        summary.wait_for(state="visible")
        text = summary.inner_text()
        assert text.startswith("Brixton Hill, Lambeth")
        assert "Today your nearest front counter is" in text
        assert "Your ward officers are based at the" in text
        assert EVIL in text  # Brixton Hill's nearest counter is the renamed Brixton station, shown as text
        page.screenshot(path=str(tmp_path / "resident-summary.png"))
        # clicking a ward on the map shows its summary too
        page.fill("#planner-search-input", "")
        page.mouse.click(640, 300)
        assert summary.is_visible()
        assert errors == [] and dialogs == [] and requests == []
    finally:
        context.close()


@pytest.mark.data
def test_maps_cli_rewrites_maps(mapped, tmp_path):
    from typer.testing import CliRunner

    from planner.cli import app

    run_dir = mapped["access"][0].parent.parent
    copy = tmp_path / run_dir.name
    shutil.copytree(run_dir, copy)
    shutil.rmtree(copy / "maps")
    result = CliRunner().invoke(app, ["maps", str(copy)])
    assert result.exit_code == 0, result.output
    assert {p.name for p in (copy / "maps").iterdir()} == {"access.html", "residents.html", "hubs.html"}


@pytest.mark.data
@pytest.mark.browser
def test_marginal_value_layer(browser, mapped, data_dir, tmp_path):
    from planner.maps import write_maps
    from planner.sweep import run_sweep

    root, _ = mapped["root"]
    sweep = run_sweep(root / "mopac-final-2017.toml", kind="marginal", out=tmp_path, data=data_dir, serial=True)
    final_dir = mapped["access"][0].parent.parent
    [access, *_] = write_maps(
        final_dir,
        reference_dir=root / "out" / "baseline-2017",
        out=tmp_path / "maps",
        marginal=sweep.folder / "critical_counters.csv",
    )
    context, page, errors, dialogs, requests, _ = _open(browser, access, tmp_path)
    try:
        assert _count(page, ".leaflet-marginal-pane path") == len(sweep.critical) == 34
        assert errors == [] and dialogs == [] and requests == []
        assert "Marginal value" in page.inner_text(".planner-legend")
    finally:
        context.close()
