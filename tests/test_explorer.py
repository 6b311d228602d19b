"""The scenario explorer: its figures against the library's for random plans, the plan file it downloads run
with ``planner run``, the scenario's rules, links, bad inputs, keyboard, phone size and axe, offline."""

import json
import os
import re
import shutil
import tomllib
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest

from planner.errors import DataError, PlannerWarning
from planner.maps import EXPLORER_FILE, write_explorer
from planner.run import run_scenario
from planner.runfolder import MANIFEST_BODY, MATRIX_FILE, manifest_digest, output_hashes, read_travel_matrix
from planner.scenario import load_scenario, resolve_counters
from planner.stats import access_figures
from tests.conftest import EVIL, REPO, OfflinePage, axe_script

pytestmark = [pytest.mark.xdist_group("maps"), pytest.mark.data]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
ARTEFACTS = Path(os.environ.get("PLANNER_TEST_ARTEFACTS", REPO / "test-artefacts"))


@pytest.fixture(scope="module")
def runs(mapped):
    root, _ = mapped["root"]
    return root / "out" / "baseline-2017", root / "out" / "mopac-final-2017"


@pytest.fixture(scope="module")
def model(runs):
    """The final plan's matrix (float64, as planner run uses it), points and stations, read independently."""
    _, final = runs
    points = pd.read_csv(final / "access_points.csv", dtype={"point_id": str, "station_id": str})
    stations = pyogrio.read_dataframe(final / "stations.gpkg", read_geometry=False)
    ids = stations["station_id"].tolist()
    matrix = read_travel_matrix(
        final, points=points, station_ids=ids, open_ids=stations.loc[stations["open"], "station_id"].tolist()
    )
    return {
        "matrix": matrix,
        "points": points,
        "stations": stations,
        "plan": set(stations.loc[stations["open"], "station_id"]),
    }


def _rehash(folder: Path) -> None:
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["outputs"] = output_hashes(folder)
    manifest["outputs"][MANIFEST_BODY] = manifest_digest(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _as_if_run(folder: Path, points: pd.DataFrame) -> None:
    """Write edited points back with the beyond flags, borough tables and summary figures a run would give."""
    summary = json.loads((folder / "summary.json").read_text())
    ok = points["reachable"].astype(bool).to_numpy()
    minutes, pop = points["minutes"].to_numpy(float), points["population"].to_numpy()
    for label, figures in summary["london"].items():
        fig = access_figures(
            minutes, pop, threshold=float(label), pop_65_plus=points["pop_65_plus"].to_numpy(), reachable=ok
        )
        figures |= {k: type(figures[k])(fig[k]) for k in figures if k in fig}
        points[f"beyond_{label}"] = ~ok | (np.where(ok, minutes, np.inf) > float(label))
        all_day = summary["london_24_7"][label]
        all_day["beyond"] = max(all_day["beyond"], figures["beyond"])
        boroughs = pd.read_csv(folder / f"access_boroughs_{label}.csv")
        by = points.loc[points[f"beyond_{label}"]].groupby("borough_code")["population"].sum()
        boroughs["beyond"] = boroughs["borough_code"].map(by).fillna(0).astype(int)
        boroughs.to_csv(folder / f"access_boroughs_{label}.csv", index=False)
    points.to_csv(folder / "access_points.csv", index=False)
    (folder / "summary.json").write_text(json.dumps(summary))


def _open(browser, path, viewport=DESKTOP, fragment=""):
    opened = OfflinePage(browser, path.as_uri() + fragment, viewport=viewport)
    opened.page.wait_for_selector("body[data-ready=true]")
    return opened.context, opened.page, opened.errors, opened.dialogs, opened.requests


def _figures(page) -> dict[str, float]:
    rows = page.eval_on_selector_all(
        "#explorer-figures tbody tr", "rs => rs.map(r => [r.dataset.figure, r.children[1].dataset.value])"
    )
    return {k: float(v) for k, v in rows}


def _expected(model, open_ids, thresholds=(45, 60)) -> dict[str, float]:
    """What planner run computes for these open counters: nearest over their columns, access_figures."""
    nearest = model["matrix"].subset(sorted(open_ids)).nearest().table
    pts = model["points"]
    out = {}
    for t in thresholds:
        fig = access_figures(
            nearest["minutes"].to_numpy(float),
            pts["population"].to_numpy(),
            threshold=t,
            pop_65_plus=pts["pop_65_plus"].to_numpy(),
            reachable=nearest["reachable"].to_numpy(bool),
        )
        out[f"beyond_{t:g}"] = fig["beyond"]
        out[f"beyond_65_plus_{t:g}"] = fig["beyond_65_plus"]
        out[f"pct_within_{t:g}"] = fig["pct_within"]
        out["mean_minutes"] = fig["mean_minutes"]
        out["p95_minutes"] = fig["p95_minutes"]
    return out


def _fragment(model, open_ids) -> str:
    opened = sorted(set(open_ids) - model["plan"])
    closed = sorted(model["plan"] - set(open_ids))
    parts = [f"open={','.join(opened)}"] if opened else []
    parts += [f"close={','.join(closed)}"] if closed else []
    return "#" + "&".join(parts)


def _same(page_figures, expected, where):
    for key, value in expected.items():
        if key.startswith("beyond"):
            assert page_figures[key] == value, (where, key)
        elif key.startswith("pct"):
            assert abs(page_figures[key] - value) < 0.01, (where, key)
        else:
            assert abs(page_figures[key] - value) < 0.1, (where, key)


def test_page_is_offline_small_escaped_and_deterministic(runs, tmp_path):
    base, final = runs
    page = final / "maps" / EXPLORER_FILE
    text = page.read_text(encoding="utf-8")
    assert page.stat().st_size <= 5_000_000
    assert not re.findall(r'<(?:script[^>]*\ssrc|link[^>]*\shref)="https?://', text)
    assert EVIL not in text and "<img src=x" not in text
    again = write_explorer(final, reference_dir=base, out=tmp_path)
    assert again.read_bytes() == page.read_bytes()


def test_matrix_file_gives_the_run_figures(runs, model):
    """numpy on the run folder's matrix, independently of the page and of assess(): the summary's figures."""
    _, final = runs
    summary = json.loads((final / "summary.json").read_text())
    m = model["matrix"]
    cols = [list(m.destination_ids).index(s) for s in sorted(model["plan"])]
    best = m.minutes[:, cols].min(axis=1)
    pop = model["points"]["population"].to_numpy(float)
    for t in ("45", "60"):
        assert round(pop[best > float(t)].sum()) == summary["london"][t]["beyond"]
    assert abs((best * pop).sum() / pop.sum() - summary["london"]["45"]["mean_minutes"]) < 1e-9


def test_missing_or_tampered_matrix_is_refused(runs, tmp_path):
    _, final = runs
    copy = tmp_path / "mopac-final-2017"
    shutil.copytree(final, copy, ignore=shutil.ignore_patterns("maps"))
    (copy / MATRIX_FILE).unlink()
    with pytest.raises(DataError, match=rf"{re.escape(str(copy))}: no {MATRIX_FILE}.*run the scenario again"):
        write_explorer(copy)
    shutil.copy(final / MATRIX_FILE, copy / MATRIX_FILE)
    lines = (copy / MATRIX_FILE).read_text().splitlines()
    header = lines[0].split(",")
    row = lines[1].split(",")
    points = pd.read_csv(copy / "access_points.csv", dtype=str)
    col = header.index(points.loc[0, "station_id"])
    row[col] = str(float(row[col]) + 5)
    lines[1] = ",".join(row)
    (copy / MATRIX_FILE).write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=rf"point {points.loc[0, 'point_id']} \(row 2\) has .* access_points.csv says"):
        write_explorer(copy)


@pytest.mark.browser
def test_fifty_random_plans_match_the_library_and_their_plan_files(browser, runs, model, context, tmp_path):
    """For 50 random choices: the page's figures equal planner run's arithmetic on the float64 matrix; the plan
    file the page writes opens exactly the chosen counters (24/7: the retained ones among them) with no warning;
    and three of those files, run end to end by planner run, give the page's figures."""
    _, final = runs
    stations = model["stations"]
    ids = stations["station_id"].tolist()
    retained = set(stations.loc[stations["status_final_nov2017"] == "retain", "station_id"])
    rng = np.random.default_rng(2017)
    page_ctx, page, errors, dialogs, requests = _open(browser, final / "maps" / EXPLORER_FILE)
    shown_of, files = [], []
    try:
        assert _figures(page)["beyond_45"] == json.loads((final / "summary.json").read_text())["london"]["45"]["beyond"]
        for i in range(50):
            k = int(rng.integers(1, len(ids) + 1))
            chosen = sorted(rng.choice(ids, size=k, replace=False).tolist())
            page.evaluate("h => { location.hash = h; }", _fragment(model, chosen))
            page.wait_for_function(
                "n => document.getElementById('explorer-caption').textContent.startsWith(n + ' counter')", arg=k
            )
            shown = _figures(page)
            _same(shown, _expected(model, chosen), f"choice {i}: {chosen}")
            page.fill("#explorer-name", f"choice-{i}")
            path = tmp_path / f"choice-{i}.toml"
            path.write_text(page.evaluate("() => window.plannerExplorer.planToml()"))
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                counters, all_day = resolve_counters(load_scenario(path), stations)
            assert [w for w in caught if issubclass(w.category, PlannerWarning)] == [], i
            assert counters["station_id"].tolist() == chosen
            assert sorted(all_day) == sorted(retained & set(chosen))
            shown_of.append(shown)
            files.append(path)
        assert errors == [] and dialogs == [] and requests == []
    finally:
        page_ctx.close()
    for shown, path in list(zip(shown_of, files, strict=True))[:3]:
        run = run_scenario(path, out=tmp_path / "out", context=context, maps=False, hubs=False)
        summary = json.loads((run.out_dir / "summary.json").read_text())
        _same(shown, _summary_figures(summary), path.name)


def _summary_figures(summary: dict) -> dict[str, float]:
    kinds = ("beyond", "beyond_65_plus", "pct_within")
    out = {f"{k}_{t}": summary["london"][t][k] for t in ("45", "60") for k in kinds}
    return out | {k: summary["london"]["45"][k] for k in ("mean_minutes", "p95_minutes")}


@pytest.mark.browser
def test_downloaded_plan_runs_with_the_same_figures(browser, runs, model, context, tmp_path):
    """Toggle on the page, download the plan, run it: planner run gives the page's figures."""
    _, final = runs
    page_ctx, page, errors, _, _ = _open(browser, final / "maps" / EXPLORER_FILE)
    try:
        # keep Chiswick open, close Charing Cross (a 24/7 counter: Westminster keeps its other)
        page.click('#explorer-counters button[data-id="chiswick"]')
        page.click('#explorer-counters button[data-id="charing-cross"]')
        assert page.evaluate("location.hash") == "#open=chiswick&close=charing-cross"
        shown = _figures(page)
        no247 = int(page.get_attribute("#explorer-no247", "data-count"))
        page.fill("#explorer-name", "keep-chiswick")
        with page.expect_download() as info:
            page.click("#explorer-save")
        toml_path = tmp_path / "keep-chiswick.toml"
        info.value.save_as(toml_path)
        assert errors == []
    finally:
        page_ctx.close()
    spec = tomllib.loads(toml_path.read_text())
    assert spec["name"] == "keep-chiswick"
    assert spec["counters"]["open"]["add"] == ["chiswick"]
    assert spec["counters"]["open"]["remove"] == ["charing-cross"]
    assert "charing-cross" in spec["counters"]["twenty_four_seven"]["remove"]
    run = run_scenario(toml_path, out=tmp_path / "out", context=context, maps=False, hubs=False)
    summary = json.loads((run.out_dir / "summary.json").read_text())
    _same(shown, _summary_figures(summary), "downloaded plan")
    assert len(summary["boroughs_without_24_7"]) == no247
    assert set(run.counters["station_id"]) == (model["plan"] | {"chiswick"}) - {"charing-cross"}


@pytest.fixture(scope="module")
def ruled(runs, tmp_path_factory):
    """The final run with counters.required and counters.forbidden added to its scenario."""
    _, final = runs
    copy = tmp_path_factory.mktemp("ruled") / "mopac-final-2017"
    shutil.copytree(final, copy, ignore=shutil.ignore_patterns("maps"))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["parameters"]["counters"]["required"] = ["charing-cross"]
    manifest["parameters"]["counters"]["forbidden"] = ["pinner"]
    manifest["outputs"][MANIFEST_BODY] = manifest_digest(manifest)  # as if the run had been made so
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return write_explorer(copy)


@pytest.mark.browser
def test_rules_undo_reset_and_refused_links(browser, ruled, runs):
    _, final = runs
    beyond = json.loads((final / "summary.json").read_text())["london"]["45"]["beyond"]
    context, page, errors, _, _ = _open(browser, ruled)
    try:
        page.click('#explorer-counters button[data-id="charing-cross"]')
        assert "required by the scenario (counters.required)" in page.inner_text("#explorer-message")
        assert page.get_attribute('#explorer-counters button[data-id="charing-cross"]', "aria-pressed") == "true"
        page.click('#explorer-counters button[data-id="pinner"]')
        assert "forbidden by the scenario (counters.forbidden)" in page.inner_text("#explorer-message")
        page.click('#explorer-counters button[data-id="barnet"]')
        assert _figures(page)["beyond_45"] < beyond
        page.click("#explorer-undo")
        assert _figures(page)["beyond_45"] == beyond
        page.click('#explorer-counters button[data-id="barnet"]')
        page.click('#explorer-counters button[data-id="hornsey"]')
        page.click("#explorer-reset")
        assert _figures(page)["beyond_45"] == beyond and page.evaluate("location.hash") == ""
        page.fill("#explorer-threshold", "50")
        page.dispatch_event("#explorer-threshold", "change")
        assert "beyond_50" in _figures(page) and page.evaluate("location.hash") == "#t=50"
        assert errors == []
    finally:
        context.close()
    for fragment, words in [
        ("#open=nowhere", "names a counter this page does not have: nowhere"),
        ("#open=__proto__", "names a counter this page does not have: __proto__"),  # hostile pass 8: a crash
        ("#close=constructor", "names a counter this page does not have: constructor"),
        ("#close=charing-cross", "required, cannot be closed"),
        ("#open=pinner", "forbidden, cannot be opened"),
        ("#t=-3", "not a number of minutes above 0"),
        ("#colour=red", "a part this page does not know: colour"),
        ("#open=barnet&close=barnet", "both opens and closes barnet"),
        ("#open=chiswick&open=holborn", "The link gives its open part twice"),
        ("#t=0x32", "threshold t=0x32 is not a number of minutes"),
        ("#t=45,60", "threshold t=45,60 is not a number of minutes"),
    ]:
        context, page, errors, _, _ = _open(browser, ruled, fragment=fragment)
        try:
            assert words in page.inner_text("#explorer-message"), fragment
            assert "The plan is shown." in page.inner_text("#explorer-message")
            assert _figures(page)["beyond_45"] == beyond, fragment
            assert errors == []
        finally:
            context.close()


@pytest.mark.browser
def test_plan_file_back_in(browser, runs, tmp_path):
    _, final = runs
    context, page, errors, _, _ = _open(browser, final / "maps" / EXPLORER_FILE)
    try:
        page.click('#explorer-counters button[data-id="hornsey"]')
        text = page.evaluate("() => window.plannerExplorer.planToml()")
        page.click("#explorer-reset")
        good = tmp_path / "good.toml"
        good.write_text(text)
        page.set_input_files("#explorer-load", str(good))
        page.wait_for_function("() => location.hash === '#open=hornsey'")
        bad = tmp_path / "bad.toml"
        bad.write_text(text.replace('"hornsey"', '"nowhere"'))
        page.set_input_files("#explorer-load", str(bad))
        page.wait_for_function("() => document.getElementById('explorer-message').textContent.includes('nowhere')")
        assert "Nothing was changed" in page.inner_text("#explorer-message")
        assert page.evaluate("location.hash") == "#open=hornsey"  # the refused file changed nothing
        edited = tmp_path / "edited.toml"  # the hostile pass: a selection and an engine parameter changed too
        edited.write_text(text.replace('"new",\n', "").replace('name = "transit"', 'name = "transit"\nosm = "x"'))
        page.set_input_files("#explorer-load", str(edited))
        page.wait_for_function("() => document.getElementById('explorer-message').textContent.includes('more than')")
        assert page.evaluate("location.hash") == "#open=hornsey"
        other = tmp_path / "other.toml"
        other.write_text((REPO / "scenarios" / "baseline-2017.toml").read_text())
        page.set_input_files("#explorer-load", str(other))
        page.wait_for_function(
            "() => document.getElementById('explorer-message').textContent.includes('not downloaded')"
        )
        assert errors == []
    finally:
        context.close()


@pytest.mark.browser
def test_keyboard_alone(browser, runs):
    """Tab reaches the controls and the counters; Enter on a counter in the list or on the map toggles it."""
    _, final = runs
    context, page, errors, _, _ = _open(browser, final / "maps" / EXPLORER_FILE)
    try:
        page.keyboard.press("Tab")  # the skip link jumps past the map's markers to the panel
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "explorer-body"
        page.reload()
        page.wait_for_selector("body[data-ready=true]")
        reached = set()
        for _ in range(250):
            page.keyboard.press("Tab")
            what = page.evaluate(
                "() => { const e = document.activeElement;"
                " return e.id || e.getAttribute('data-id') || String(e.getAttribute('class')); }"
            )
            reached.add(what)
            if what == "barnet":
                break
        assert {"explorer-threshold", "explorer-undo", "explorer-reset", "explorer-save", "barnet"} <= reached
        before = _figures(page)["beyond_45"]
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.getAttribute('aria-pressed')") == "true"
        assert _figures(page)["beyond_45"] < before
        marker = page.locator('.leaflet-marker-icon[title="Hornsey"]')
        marker.focus()
        marker.press("Enter")
        assert page.get_attribute('#explorer-counters button[data-id="hornsey"]', "aria-pressed") == "true"
        assert errors == []
    finally:
        context.close()


@pytest.mark.browser
def test_hostile_name_is_text(browser, runs):
    _, final = runs
    context, page, errors, dialogs, _ = _open(browser, final / "maps" / EXPLORER_FILE)
    try:
        button = page.locator('#explorer-counters button[data-id="brixton"] .explorer-counter-name')
        assert button.inner_text() == EVIL
        page.click('#explorer-counters button[data-id="brixton"]')
        page.locator(f'.leaflet-marker-icon[title="{EVIL}"]').click()
        assert page.locator("img[src=x]").count() == 0
        assert dialogs == [] and errors == []
    finally:
        context.close()


def _boxes(page, selectors):
    out = {}
    for sel in selectors:
        boxes = page.evaluate(
            "s => Array.from(document.querySelectorAll(s)).filter(e => e.offsetParent !== null)"
            ".map(e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })",
            sel,
        )
        for i, box in enumerate(boxes):
            out[f"{sel}#{i}"] = box
    return out


def _overlaps(boxes):
    names = sorted(boxes)
    return [
        (a, b)
        for i, a in enumerate(names)
        for b in names[i + 1 :]
        if min(boxes[a][2], boxes[b][2]) - max(boxes[a][0], boxes[b][0]) > 1
        and min(boxes[a][3], boxes[b][3]) - max(boxes[a][1], boxes[b][1]) > 1
    ]


CONTROLS = [
    ".planner-header",
    ".leaflet-control-zoom",
    ".planner-legend",
    ".planner-credits",
    ".leaflet-control-scale",
    "#explorer-panel",
]


@pytest.mark.browser
@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_layout(browser, runs, size):
    """Nothing overlaps; on a phone the panel starts collapsed and opens below the map."""
    _, final = runs
    context, page, errors, _, _ = _open(browser, final / "maps" / EXPLORER_FILE, PHONE if size == "phone" else DESKTOP)
    try:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        assert page.locator("#explorer-panel").evaluate("e => e.open") == (size == "desktop")
        assert _overlaps(_boxes(page, CONTROLS)) == []
        page.screenshot(path=str(ARTEFACTS / f"explorer-{size}.png"))
        if size == "phone":
            page.click("#explorer-panel > summary")
            assert page.locator("#explorer-panel").evaluate("e => e.open")
            assert _overlaps(_boxes(page, CONTROLS)) == []
            page.screenshot(path=str(ARTEFACTS / "explorer-phone-open.png"))
        assert errors == []
    finally:
        context.close()


@pytest.mark.browser
def test_axe_no_serious_or_critical(browser, runs):
    axe = axe_script()
    _, final = runs
    for viewport in (DESKTOP, PHONE):
        context, page, _, _, _ = _open(browser, final / "maps" / EXPLORER_FILE, viewport, "#open=chiswick")
        try:
            page.add_script_tag(path=str(axe))
            result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
            bad = [(v["id"], v["impact"]) for v in result["violations"] if v["impact"] in ("serious", "critical")]
            assert bad == [], bad
        finally:
            context.close()


@pytest.mark.browser
def test_readme_screenshot(browser, runs):
    """The README's picture of the explorer (Chiswick kept open) is made here."""
    _, final = runs
    context, page, errors, _, _ = _open(browser, final / "maps" / EXPLORER_FILE, {"width": 1200, "height": 760})
    try:
        page.click('#explorer-counters button[data-id="chiswick"]')
        page.evaluate("document.getElementById('explorer-panel').scrollTop = 0")
        page.wait_for_timeout(300)
        page.screenshot(path=str(REPO / "docs" / "explorer.png"))
        assert errors == []
    finally:
        context.close()


@pytest.mark.browser
def test_unreachable_residents_count_as_beyond(browser, runs, tmp_path):
    """Three LSOAs that reach no counter (off the network): beyond every threshold, out of the mean, as in
    access_figures; the rest of the page's figures move accordingly."""
    _, final = runs
    copy = tmp_path / "mopac-final-2017"
    shutil.copytree(final, copy, ignore=shutil.ignore_patterns("maps"))
    matrix = pd.read_csv(copy / MATRIX_FILE, index_col=0)
    points = pd.read_csv(copy / "access_points.csv", dtype={"point_id": str, "station_id": str})
    cut = points["point_id"].iloc[[10, 2000, 4000]].tolist()
    matrix.loc[cut, :] = np.inf
    matrix.to_csv(copy / MATRIX_FILE, lineterminator="\n")
    points.loc[points["point_id"].isin(cut), ["minutes", "station_id"]] = np.nan
    points.loc[points["point_id"].isin(cut), "reachable"] = False
    _as_if_run(copy, points)
    _rehash(copy)  # as if a run had written these files
    page_path = write_explorer(copy)
    pop = points["population"].to_numpy()
    minutes = points["minutes"].to_numpy(float)
    fig = access_figures(minutes, pop, threshold=45, pop_65_plus=points["pop_65_plus"].to_numpy())
    assert fig["unreachable"] == points.loc[points["point_id"].isin(cut), "population"].sum() > 0
    context, page, errors, _, _ = _open(browser, page_path)
    try:
        shown = _figures(page)
        assert shown["beyond_45"] == fig["beyond"]
        assert shown["beyond_65_plus_45"] == fig["beyond_65_plus"]
        assert abs(shown["mean_minutes"] - fig["mean_minutes"]) < 1e-3
        assert abs(shown["p95_minutes"] - fig["p95_minutes"]) < 1e-3
        assert errors == []
    finally:
        context.close()


@pytest.mark.browser
def test_typed_threshold_keeps_its_own_label(browser, runs, model):
    """44.996 minutes is not 45: its rows say 44.996, and its figure is the library's at 44.996."""
    _, final = runs
    context, page, errors, _, _ = _open(browser, final / "maps" / EXPLORER_FILE, fragment="#t=44.996")
    try:
        labels = page.eval_on_selector_all("#explorer-figures tbody th", "hs => hs.map(h => h.textContent)")
        assert "Residents beyond 44.996 minutes" in labels and "Residents beyond 45 minutes" in labels
        shown = _figures(page)
        expected = _expected(model, sorted(model["plan"]), thresholds=(44.996,))
        assert shown["beyond_44.996"] == expected["beyond_44.996"] != shown["beyond_45"]
        page.evaluate("() => { location.hash = '#t=Infinity'; }")
        page.wait_for_function("() => document.getElementById('explorer-message').textContent.includes('Infinity')")
        assert page.input_value("#explorer-threshold") == "45"  # the refused link leaves no stale threshold
        page.evaluate("() => { location.hash = '#t=50'; }")
        page.wait_for_function("() => document.getElementById('explorer-message').textContent === ''")
        assert errors == []
    finally:
        context.close()
