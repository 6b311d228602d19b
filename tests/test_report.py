"""The board report: figures from the runs, offline HTML, the PDF, determinism and bad inputs."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner import run_scenario
from planner.errors import DataError, PlannerError
from planner.report import render_html, write_report
from planner.run import beyond_24_7
from planner.runfolder import read_run_outputs
from planner.travel.base import TravelMatrix
from tests.conftest import REPO

# one worker runs the whole module, so its expensive module fixtures are built once (--dist loadgroup)
pytestmark = pytest.mark.xdist_group("report")

CHROMIUM = os.environ.get("PLANNER_CHROMIUM", "/usr/bin/chromium")
NAMES = ["baseline-2017", "mopac-draft-2017", "mopac-final-2017"]
EPOCH = "1795910400"  # 2026-11-29: pins the report's date
#: one page each: summary, 3 scenarios, 2 of charts, equality impact, change map, hub map, 2 of methods,
#: 2 of sources, 2 appendices
PAGES_2017 = 15


def _need_chromium() -> None:
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM}: install the Debian package chromium"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


def _need_poppler() -> None:
    if shutil.which("pdftoppm") is None or shutil.which("pdfinfo") is None:
        message = "pdftoppm/pdfinfo not found: install the Debian package poppler-utils"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


# --------------------------------------------------------------------------- 24/7 figures, by hand


def test_beyond_24_7_hand_solved():
    """Three areas, a 24/7 counter X and a daytime counter Y; C reaches nothing."""
    matrix = TravelMatrix(
        np.array([[10.0, 50.0], [50.0, 30.0], [np.inf, 5.0]]),
        np.array(["A", "B", "C"], dtype=object),
        np.array(["X", "Y"], dtype=object),
    )
    counters = pd.DataFrame({"station_id": ["X", "Y"], "open_24_7": [True, False]})
    points = pd.DataFrame({"point_id": ["A", "B", "C"], "population": [100, 200, 300], "pop_65_plus": [10, 20, 30]})
    got = beyond_24_7(lambda ids: matrix.subset(ids).nearest(), counters, points, [45.0, 60.0])
    # from X only: A 10 min, B 50 min, C unreachable
    assert got["45"]["beyond"] == 500 and got["45"]["beyond_65_plus"] == 50
    assert got["60"]["beyond"] == 300 and got["60"]["beyond_65_plus"] == 30
    assert got["45"]["pct_within"] == pytest.approx(100 / 6)
    # a threshold exactly at a resident's time keeps them within
    assert beyond_24_7(lambda ids: matrix.subset(ids).nearest(), counters, points, [50.0])["50"]["beyond"] == 300
    # no 24/7 counter at all: everyone is beyond
    none = counters.assign(open_24_7=False)
    assert beyond_24_7(lambda ids: matrix.subset(ids).nearest(), none, points, [45.0])["45"]["beyond"] == 600


# --------------------------------------------------------------------------- the 2017 runs


def _run_all(context, out: Path) -> list[Path]:
    return [run_scenario(REPO / "scenarios" / f"{n}.toml", out=out, context=context, maps=False).out_dir for n in NAMES]


@pytest.fixture(scope="module")
def runs(context, tmp_path_factory):
    return _run_all(context, tmp_path_factory.mktemp("runs"))


@pytest.fixture(scope="module")
def report(runs, tmp_path_factory):
    _need_chromium()
    old = os.environ.get("SOURCE_DATE_EPOCH")
    os.environ["SOURCE_DATE_EPOCH"] = EPOCH
    try:
        return write_report(runs, out=tmp_path_factory.mktemp("report"))
    finally:
        if old is None:
            del os.environ["SOURCE_DATE_EPOCH"]
        else:
            os.environ["SOURCE_DATE_EPOCH"] = old


@pytest.mark.data
def test_24_7_figures_against_the_matrix(context, runs):
    """summary.json's 24/7 figures, recomputed with pandas from the travel matrix and counters.csv."""
    from planner.scenario import load_scenario

    folder = runs[0]  # baseline: 11 of 73 counters are 24/7, so the two figures differ
    spec = load_scenario(REPO / "scenarios" / "baseline-2017.toml")
    summary = json.loads((folder / "summary.json").read_text())
    counters = pd.read_csv(folder / "counters.csv", dtype={"station_id": str})
    points = pd.read_csv(folder / "access_points.csv")
    frame = context.matrix(context.resolve(spec)).to_frame()
    all_day = counters.loc[counters["open_24_7"], "station_id"]
    best = frame[list(all_day)].min(axis=1).reindex(points["point_id"]).to_numpy()
    for t in (45, 60):
        beyond = ~(best <= t)
        assert summary["london_24_7"][str(t)]["beyond"] == int(points.loc[beyond, "population"].sum())
        assert summary["london_24_7"][str(t)]["beyond_65_plus"] == int(points.loc[beyond, "pop_65_plus"].sum())
        # fewer counters can only leave more residents beyond
        assert summary["london_24_7"][str(t)]["beyond"] >= summary["london"][str(t)]["beyond"]
    assert len(all_day) == summary["counters_24_7"] == 11


@pytest.mark.data
def test_summary_numbers_equal_summary_json(report, runs):
    html = report.html.read_text(encoding="utf-8")
    cells = re.findall(r'data-scenario="([^"]+)" data-key="([^"]+)" data-value="([^"]+)"', html)
    assert len(cells) == 3 * 11
    for name, key, value in cells:
        summary = json.loads((runs[NAMES.index(name)] / "summary.json").read_text())
        if key.startswith("beyond_24_7_65_plus_"):
            expected = summary["london_24_7"][key.rsplit("_", 1)[1]]["beyond_65_plus"]
        elif key.startswith("beyond_24_7_"):
            expected = summary["london_24_7"][key.rsplit("_", 1)[1]]["beyond"]
        elif key.startswith("beyond_65_plus_"):
            expected = summary["london"][key.rsplit("_", 1)[1]]["beyond_65_plus"]
        elif key.startswith("beyond_"):
            expected = summary["london"][key.rsplit("_", 1)[1]]["beyond"]
        elif key == "boroughs_without_24_7":
            expected = len(summary["boroughs_without_24_7"])
        else:
            expected = summary[key]
        assert float(value) == expected, (name, key)
    # and the text shows the same figure
    final = json.loads((runs[2] / "summary.json").read_text())
    assert f"{int(final['london']['45']['beyond']):,} residents" in html
    assert "unknown (no costs in the scenario files)" in html  # the 2017 files give no costs


@pytest.mark.data
def test_report_contents(report, runs):
    html = report.html.read_text(encoding="utf-8")
    assert report.pages == PAGES_2017
    assert html.count("data:image/png;base64,") == 5  # 3 scenario maps, change map, hub map
    assert html.count("data:image/svg+xml;base64,") == 4  # cumulative share, boroughs, worsening wards, equality
    # the equality page: the largest disproportion in words, from summary.json's equality figures
    assert 'id="equality"' in html
    assert "the plan falls hardest on residents aged 65 and over: 2.34% of them" in html
    assert "against 1.42% of all residents (disproportion ratio 1.65)" in html
    manifest = json.loads((runs[2] / "manifest.json").read_text())
    for sha in manifest["inputs"].values():
        assert sha in html
    for line in ("Powered by TfL Open Data", "© OpenStreetMap contributors", "Royal Mail copyright"):
        assert line in html
    if "calibration" in manifest["engine"]:
        assert '<table class="params calibration">' in html
    else:
        assert "<strong>Calibration:</strong> none recorded" in html
    # wards by change band under the change map, against pandas on the two runs' ward tables
    counts = re.search(r'<table class="data counts">(.*?)</table>', html, re.S).group(1)
    shown = {label: int(n) for label, n in re.findall(r"<td>([^<]+)</td><td class=\"num\">(\d+)</td>", counts)}
    before = pd.read_csv(runs[0] / "access_wards_45.csv").set_index("ward_code")["mean_minutes"]
    after = pd.read_csv(runs[2] / "access_wards_45.csv").set_index("ward_code")["mean_minutes"]
    change = (after - before.reindex(after.index)).dropna()
    assert sum(shown.values()) == len(change) == 629
    assert shown["Slower by more than 15 minutes"] == int((change > 15).sum())
    assert shown["No change"] == int(((change > -0.5) & (change <= 0.5)).sum())
    assert "@import" not in html and "fonts.googleapis" not in html
    assert not re.findall(r'<(?:script|img|link)[^>]*\s(?:src|href)="https?://', html)


@pytest.mark.data
@pytest.mark.browser
def test_html_offline_in_browser(report, tmp_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context(viewport={"width": 1100, "height": 1400})
            context.set_offline(True)
            requests: list[str] = []
            context.route(re.compile(r"^(https?|wss?)://"), lambda r: (requests.append(r.request.url), r.abort()))
            page = context.new_page()
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("requestfailed", lambda r: errors.append(f"failed: {r.url[:80]}"))
            page.goto(report.html.as_uri(), wait_until="load")
            assert page.evaluate("document.fonts.check('10pt \"Report Sans\"')")
            images = page.evaluate("[...document.images].map(i => [i.complete, i.naturalWidth])")
            assert len(images) == 9 and all(done and width > 100 for done, width in images)
            assert page.evaluate("document.querySelectorAll('section.page').length") == PAGES_2017
            page.screenshot(path=str(tmp_path / "first.png"))
            assert errors == [] and requests == []
        finally:
            browser.close()


def _pdf_pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


@pytest.mark.data
@pytest.mark.browser
def test_pdf_pages_and_first_page_not_blank(report, tmp_path):
    from PIL import Image

    _need_poppler()
    assert report.pdf is not None and report.pdf.stat().st_size > 100_000
    assert _pdf_pages(report.pdf) == report.pages == PAGES_2017  # every page fits on one A4 sheet
    subprocess.run(
        ["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "1", str(report.pdf), str(tmp_path / "p")], check=True
    )
    [png] = tmp_path.glob("p-*.png")
    grey = np.asarray(Image.open(png).convert("L"), dtype=float)
    assert grey.shape[0] > grey.shape[1]  # portrait A4
    assert (grey < 200).mean() > 0.03 and grey.std() > 20  # text and a table, not a blank page
    # the README shows this page: keep the committed picture current
    docs = REPO / "docs" / "report-first-page.png"
    first = ["-f", "1", "-l", "1", "-singlefile"]
    subprocess.run(["pdftoppm", "-r", "72", "-png", *first, str(report.pdf), str(docs.with_suffix(""))], check=True)
    assert docs.stat().st_size > 20_000


@pytest.mark.data
@pytest.mark.browser
def test_same_inputs_same_report(context, report, tmp_path, monkeypatch):
    """Two runs of the same inputs: byte-identical HTML and PDF (Chromium's print time replaced by the output time)."""
    _need_poppler()
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    again = write_report(_run_all(context, tmp_path / "runs"), out=tmp_path / "report")
    assert again.html.read_bytes() == report.html.read_bytes()
    text = [
        subprocess.run(["pdftotext", str(r.pdf), "-"], capture_output=True, check=True).stdout for r in (report, again)
    ]
    assert text[0] == text[1] and b"baseline-2017" in text[0]
    assert _pdf_pages(again.pdf) == _pdf_pages(report.pdf)
    assert again.pdf.read_bytes() == report.pdf.read_bytes()
    stamp = dt.datetime.fromtimestamp(int(EPOCH), dt.UTC).strftime("D:%Y%m%d%H%M%S+00'00'").encode()
    assert b"/CreationDate (" + stamp + b")" in again.pdf.read_bytes()


# --------------------------------------------------------------------------- bad inputs


def _as_run(folder: Path, manifest: dict) -> None:
    """Write an edited manifest as a run with those settings would have: its body's digest renewed."""
    from planner.runfolder import MANIFEST_BODY, manifest_digest

    manifest["outputs"][MANIFEST_BODY] = manifest_digest(manifest)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _copy(folder: Path, tmp_path: Path, name: str | None = None) -> Path:
    target = tmp_path / (name or folder.name)
    shutil.copytree(folder, target)
    return target


@pytest.mark.data
def test_run_from_an_older_version(runs, tmp_path):
    old = _copy(runs[0], tmp_path)
    summary = json.loads((old / "summary.json").read_text())
    del summary["london_24_7"]
    (old / "summary.json").write_text(json.dumps(summary))
    with pytest.raises(DataError, match=r"summary\.json: written by an older planner") as info:
        read_run_outputs(old)
    assert str(old) in str(info.value) and "planner run scenarios/baseline-2017.toml" not in str(info.value)
    assert "re-run it with `planner run" in str(info.value)


@pytest.mark.data
@pytest.mark.parametrize("name", ["access_points.csv", "summary.json", "access_wards_60.csv", "manifest.json"])
def test_missing_file_names_folder_and_file(runs, tmp_path, name):
    broken = _copy(runs[1], tmp_path)
    (broken / name).unlink()
    with pytest.raises(DataError) as info:
        read_run_outputs(broken)
    assert str(broken) in str(info.value) and name in str(info.value)


@pytest.mark.data
def test_different_thresholds(runs, tmp_path):
    other = _copy(runs[1], tmp_path)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["parameters"]["thresholds"] = [45.0]
    _as_run(other, manifest)
    with pytest.raises(DataError, match="different thresholds") as info:
        render_html([runs[0], other])
    assert f"{runs[0] / 'manifest.json'}" in str(info.value) and f"{other / 'manifest.json'}" in str(info.value)


@pytest.mark.data
def test_cli_exits_2_with_the_message(runs, tmp_path):
    from typer.testing import CliRunner

    from planner.cli import app

    broken = _copy(runs[2], tmp_path)
    (broken / "counters.csv").unlink()
    result = CliRunner().invoke(app, ["report", str(runs[0]), str(broken), "--out", str(tmp_path / "r"), "--no-pdf"])
    assert result.exit_code == 2
    flat = " ".join(result.output.split())
    assert "counters.csv" in flat and broken.name in flat
    assert not (tmp_path / "r" / "report.html").exists()


@pytest.mark.data
def test_cli_writes_the_report(runs, tmp_path):
    from typer.testing import CliRunner

    from planner.cli import app

    out = tmp_path / "r"
    result = CliRunner().invoke(app, ["report", *map(str, runs), "--out", str(out), "--no-pdf", "--title", "Board"])
    assert result.exit_code == 0, result.output
    assert f"Report ({PAGES_2017} pages)" in result.output
    assert "<h1>Board</h1>" in (out / "report.html").read_text(encoding="utf-8")
    assert not (out / "report.pdf").exists()


@pytest.mark.data
def test_calibration_shown_when_the_manifest_has_it(runs, tmp_path):
    folder = _copy(runs[2], tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["engine"]["calibration"] = {"source": "DfT JTS04 2016", "median_ratio": 1.0734, "r2": 0.8123}
    _as_run(folder, manifest)
    html = render_html([folder])
    assert '<table class="params calibration">' in html
    assert "DfT JTS04 2016" in html and "1.07" in html and "0.812" in html
    assert "none recorded" not in html


@pytest.mark.data
def test_no_chromium_is_a_clear_error(runs, tmp_path, monkeypatch):
    from planner.errors import ReportError

    monkeypatch.setenv("PLANNER_CHROMIUM", str(tmp_path / "no-chromium"))
    with pytest.raises(ReportError, match=r"Chromium not found at .*no-chromium.*`pdf` off"):
        write_report(runs[:1], out=tmp_path / "r")
    assert not (tmp_path / "r").exists()
    assert write_report(runs[:1], out=tmp_path / "r", pdf=False).pdf is None


def test_not_a_run_folder(tmp_path):
    with pytest.raises(PlannerError, match="no such run folder"):
        read_run_outputs(tmp_path / "nothing")


# --------------------------------------------------------------------------- sweeps


@pytest.mark.data
def test_report_with_sweeps(runs, context, tmp_path):
    from planner.sweep import run_sweep

    final = REPO / "scenarios" / "mopac-final-2017.toml"
    marginal = run_sweep(final, kind="marginal", out=tmp_path, context=context, serial=True)
    grid = run_sweep(
        final, kind="grid", out=tmp_path, context=context, serial=True, grid={"bus_speed_kmh": [12.0, 15.0]}
    )
    html = render_html(runs, sweeps=[marginal.folder, grid.folder])
    assert html.count('<section class="page') == PAGES_2017 + 1
    assert "How the plan holds up" in html and html.count("data:image/svg+xml;base64,") == 6
    assert "The most critical counters of mopac-final-2017" in html
    with pytest.raises(DataError, match=r"definition\.json"):
        render_html(runs, sweeps=[tmp_path])
    # the hostile pass: the final plan's sweep in a report of the baseline alone is refused, not titled as if it fit
    with pytest.raises(DataError, match=r"a marginal sweep of mopac-final-2017 \(34 counters\), whose counters"):
        render_html(runs[:1], sweeps=[marginal.folder])
