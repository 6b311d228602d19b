"""Analysts' folium maps (planner.maps.explore) and geo-aware results: a map extended with a layer of one's own,
saved and opened in headless Chromium; in-memory results; hostile names stay text; refusals."""

import os
from pathlib import Path

import folium
import geopandas as gpd
import pytest

from planner import HubPlan, assess, select_counters
from planner.errors import OptionError
from planner.maps import explore
from planner.scenario import load_scenario
from tests.conftest import EVIL, REPO, OfflinePage

pytestmark = [pytest.mark.xdist_group("maps"), pytest.mark.data]

D3 = Path(os.environ.get("PLANNER_AXE_PREFIX", "/tmp/planner-axe")) / "node_modules" / "d3" / "d3.min.js"


def _cdn_files() -> dict[str, tuple[bytes, str]]:
    """Local copies of the CDN files folium's page needs to run: Leaflet (XStatic-Leaflet) and d3 (npm)."""
    import xstatic.pkg.leaflet as xl

    base = Path(xl.BASE_DIR)
    files = {
        "leaflet.js": ((base / "leaflet.js").read_bytes(), "application/javascript"),
        "leaflet.css": ((base / "leaflet.css").read_bytes(), "text/css"),
    }
    if not D3.is_file():
        message = f"d3 3.5.5 not found at {D3}: npm install --prefix /tmp/planner-axe d3@3.5.5"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    files["d3.min.js"] = (D3.read_bytes(), "application/javascript")
    return files


def _open_saved(browser, path: Path):
    """Open a saved folium map with its CDN files served locally; every other request gets an empty file."""
    files = _cdn_files()

    def serve(route):
        url = route.request.url
        name = url.rsplit("/", 1)[-1]
        if name in files:
            body, kind = files[name]
        else:  # bootstrap, jquery, fonts, awesome-markers: decoration the map does not need here
            body, kind = b"", "text/css" if url.endswith(".css") else "application/javascript"
        route.fulfill(status=200, body=body, content_type=kind)

    opened = OfflinePage(browser, path.as_uri(), viewport={"width": 1200, "height": 800}, serve=serve, online=True)
    opened.page.wait_for_selector("path.planner-ward")
    served = [u.rsplit("/", 1)[-1] for u in opened.requests]
    return opened.context, opened.page, opened.errors, opened.dialogs, served


@pytest.fixture(scope="module")
def final(mapped):
    root, _ = mapped["root"]
    return root / "out" / "baseline-2017", root / "out" / "mopac-final-2017"


@pytest.mark.browser
def test_run_folder_map_extended_saved_and_opened(browser, final, tmp_path):
    base, run = final
    m = explore(run, reference=base, tiles=None)
    assert isinstance(m, folium.Map)
    folium.CircleMarker([51.515, -0.09], radius=30, color="#6a0dad", class_name="analyst-hot-spot").add_to(m)
    path = tmp_path / "final.html"
    m.save(str(path))
    assert EVIL not in path.read_text()
    context, page, errors, dialogs, served = _open_saved(browser, path)
    try:
        assert page.locator("path.planner-ward").count() == 629
        # 34 open counters (32 kept, 2 new) and the 73 - 32 = 41 the baseline has open and this plan closes
        assert page.locator("path.planner-counter-open").count() == 34
        assert page.locator("path.planner-counter-closing").count() == 41
        assert page.locator("path.analyst-hot-spot").count() == 1
        assert page.locator(".leaflet-control-layers").count() == 1
        assert page.locator("svg .legend, .legend").count() >= 1  # branca's colormap
        assert {"leaflet.js", "d3.min.js"} <= set(served)
        # the counter renamed to an HTML payload: its tooltip shows the text and runs nothing
        _hover_counter(page, run, "brixton")
        page.wait_for_selector(".leaflet-tooltip")
        assert EVIL in page.inner_text(".leaflet-tooltip")
        assert page.locator(".leaflet-tooltip img").count() == 0
        assert errors == [] and dialogs == []
    finally:
        context.close()


def _hover_counter(page, run: Path, station_id: str) -> None:
    """Move the mouse onto a counter's circle: its position projected by the page's own Leaflet map."""
    stations = gpd.read_file(run / "stations.gpkg").to_crs(4326).set_index("station_id")
    point = stations.loc[station_id, "geometry"]
    x, y = page.evaluate(
        """([lat, lon]) => {
            const key = Object.keys(window).find(k => k.startsWith("map_") && window[k] instanceof L.Map);
            const m = window[key];
            m.setView([lat, lon], 14, {animate: false});
            const p = m.latLngToContainerPoint([lat, lon]);
            const box = m.getContainer().getBoundingClientRect();
            return [box.left + p.x, box.top + p.y];
        }""",
        [point.y, point.x],
    )
    page.mouse.move(x, y)


def test_change_and_hub_layers_of_a_run(final):
    base, run = final
    change = explore(run, layer="change", reference=base, tiles=None)
    hubs = explore(run, layer="hubs", tiles=None)
    names = {type(c).__name__ for c in change._children.values()}
    assert "StepColormap" in names and "LayerControl" in names
    assert any(getattr(c, "layer_name", "") == "Ward hubs" for c in hubs._children.values())


def test_in_memory_results_are_geodataframes(london, transit_engine, context, tmp_path):
    counters = select_counters(london.stations, "status_final_nov2017=retain,new")
    result = assess(london.study_demand, counters, transit_engine, wards=london.study_wards)
    assert isinstance(result.wards, gpd.GeoDataFrame) and result.wards.crs.to_epsg() == 27700
    assert isinstance(result.boroughs, gpd.GeoDataFrame) and len(result.boroughs) == 32
    assert isinstance(result.points, gpd.GeoDataFrame) and result.points.crs.to_epsg() == 27700
    assert isinstance(result.wards.explore(column="mean_minutes", tiles=None), folium.Map)
    # the same figures as a result without polygons
    plain = assess(london.study_demand, counters, transit_engine)
    assert plain.london.equals(result.london)
    joined = plain.wards.merge(result.wards[["ward_code", "beyond"]], on="ward_code", suffixes=("", "_geo"))
    assert len(joined) == len(result.wards) == 629 and (joined["beyond"] == joined["beyond_geo"]).all()
    m = explore(result, counters=counters, tiles=None)
    assert isinstance(m, folium.Map)
    with pytest.raises(OptionError, match=r"`wards` lacks 529 of the demand's 629 wards"):  # the hostile pass
        assess(london.study_demand, counters, transit_engine, wards=london.study_wards.iloc[:100])
    with pytest.raises(OptionError, match=r"no ward polygons: pass wards"):
        explore(plain)
    assert isinstance(explore(plain, wards=london.study_wards, tiles=None), folium.Map)
    plan, _ = context.hub_plan(context.resolve(load_scenario(REPO / "scenarios" / "mopac-final-2017.toml")))
    assert isinstance(plan, HubPlan)
    frame = plan.hub_frame(london.study_wards)
    assert len(frame) == plan.n_hubs and frame.crs.to_epsg() == 27700
    assert frame["n_wards"].sum() == len(plan.assignment)
    assert isinstance(explore(plan, layer="hubs", wards=london.study_wards, tiles=None), folium.Map)


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda run: explore(run, layer="roads"), "layer must be one of ['access', 'change', 'hubs'], not 'roads'"),
        (lambda run: explore(run, layer="change"), "layer='change' needs reference"),
        (lambda run: explore(42), "source must be a run folder, an AccessResult or a HubPlan, not int"),
    ],
)
def test_refusals_name_the_argument(final, call, words):
    with pytest.raises(OptionError) as info:
        call(final[1])
    assert words in str(info.value)
