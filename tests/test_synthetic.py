"""The engines, hubs, scenarios and maps on the invented six-ward data of tests/synthetic.py.

These tests need no data mirror, so they run for every contributor.  Expected values are solved by hand
from the layout drawn in tests/synthetic.py: 1-km square wards, one LSOA at each ward's centre, counters
at the centres of Ash West, Ash East and Bram Central.
"""

from __future__ import annotations

import base64
import json
import math
import re

import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from planner.cli import app
from planner.config import DataPaths
from planner.hubs import HubOptions, plan_hubs
from planner.london import data_summary, load_london
from planner.maps import write_change_map, write_maps
from planner.travel import make_engine
from tests.synthetic import COUNTERS, LSOAS, centre, write_scenarios

runner = CliRunner()
SQRT2 = math.sqrt(2)
POP = {ward: pop for _lsoa, ward, pop, _old in LSOAS}
OLD = {ward: old for _lsoa, ward, _pop, old in LSOAS}
AW, AC, AE, BW, BC, BE = (f"X0500000{i}" for i in range(1, 7))
#: the transit parameters the hand solutions use (given, so a recalibration of the defaults does not move them)
TRANSIT_PARAMS = {
    "walk_speed_kmh": 4.0,
    "walk_circuity": 1.3,
    "bus_speed_kmh": 30.0,
    "bus_road_factor": 1.15,
    "bus_dwell_min": 0.2,
    "bus_wait_min": 11.0,
    "rail_wait_min": 5.0,
    "rail_speed_kmh": 33.0,
}
#: the scenarios' crow-fly: 2 km/h with circuity 1.2 is 36 minutes per straight-line km
KM = 1.2 * 60 / 2.0


def invoke(*args: object) -> str:
    result = runner.invoke(app, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.output


def _page_data(path) -> dict:
    """The JSON a map page carries for its script."""
    match = re.search(r'<script type="application/json" id="planner-data">(.*?)</script>', path.read_text(), re.S)
    assert match, f"{path} carries no planner-data block"
    return json.loads(match.group(1))


# --------------------------------------------------------------------------- the data directory itself


def test_synthetic_directory_loads_like_the_real_one(synthetic_dir):
    summary = data_summary(synthetic_dir)
    layers = ("London_Ward", "London_Ward_CityMerged")
    assert summary["ward_sets"] == {f"{y} {layer}": 6 for y in (2014, 2018) for layer in layers}
    assert (summary["boroughs"], summary["borough_polygons"], summary["met_wards"]) == (2, 2, 6)
    assert summary["population"] == sum(POP.values()) == 9500
    assert summary["stations_by_status"]["status_final_nov2017"] == {"close": 1, "retain": 2}
    london = load_london(synthetic_dir)
    points = london.demand.points.set_index("point_id")
    # centroids are stored in WGS84: back in British National Grid they sit at the ward centres
    for lsoa, ward, _pop, _old in LSOAS:
        assert points.loc[lsoa, "ward_code"] == ward
        assert points.loc[lsoa].geometry.distance(shapely.Point(centre(ward))) < 0.01
    checked = json.loads(invoke("data", "check", "--data", synthetic_dir, "--json"))
    assert (checked["population"], checked["stations"]) == (9500, 3)


# --------------------------------------------------------------------------- engines


def test_crowfly_engine_by_hand(synthetic_dir):
    london = load_london(synthetic_dir)
    engine = make_engine("crowfly", params={"speed_kmh": 2.0, "circuity": 1.2})
    matrix = engine.matrix(london.demand.points, london.stations)
    got = pd.DataFrame(matrix.minutes, index=matrix.origin_ids, columns=matrix.destination_ids)
    by_ward = dict(zip(london.demand.points["point_id"], london.demand.points["ward_code"], strict=True))
    got.index = got.index.map(by_ward)
    assert got.loc[AE, "bram-central"] == pytest.approx(SQRT2 * KM, abs=1e-3)
    assert got.loc[AW, "ash-east"] == pytest.approx(2 * KM, abs=1e-3)
    assert got.loc[BE, "ash-west"] == pytest.approx(math.sqrt(5) * KM, abs=1e-3)


def test_street_network_engine_follows_the_grid(synthetic_dir):
    """On the street grid a trip is the Manhattan distance between ward centres, at 4.8 km/h."""
    london = load_london(synthetic_dir)
    engine = make_engine("network", data=DataPaths(synthetic_dir), osm="synthetic.osm")
    matrix = engine.matrix(london.demand.points, london.stations)
    wards = london.demand.points["ward_code"]
    station_wards = {sid: ward for sid, _n, _b, ward, *_ in COUNTERS}

    def blocks(w: str, s: str) -> float:
        (xa, ya), (xb, yb) = centre(w), centre(station_wards[s])
        return abs(xa - xb) + abs(ya - yb)

    expected = np.array([[blocks(w, s) for s in matrix.destination_ids] for w in wards]) / (4800 / 60)
    # street lengths are planar EPSG:27700 metres, so the grid's blocks come back exactly (to the .osm
    # file's 7 decimal places of latitude and longitude, about a centimetre)
    np.testing.assert_allclose(matrix.minutes, expected, rtol=1e-5, atol=1e-3)
    assert matrix.minutes[wards.tolist().index(AE), list(matrix.destination_ids).index("bram-central")] == (
        pytest.approx(25.0, rel=1e-5)
    )


def test_transit_engine_by_hand(synthetic_dir):
    """Walk, bus route 7 along the Ashbury row and the rail line along the Bramley Vale row, solved by hand.

    Walking is 1.3 x crow-fly at 4 km/h (19.5 min a km).  A bus ride waits 11 min, then takes
    1000 m x 1.15 at 30 km/h (2.3 min) plus a 0.2-min stop per 1-km leg.  A train waits 5 min; Alpha Road -
    Central Halt has a 2-min timetable time, Central Halt - Beta Junction none, so 1000 m at 33 km/h.
    """
    london = load_london(synthetic_dir)
    engine = make_engine("transit", data=DataPaths(synthetic_dir), params=TRANSIT_PARAMS)
    matrix = engine.matrix(london.demand.points, london.stations)
    got = pd.DataFrame(matrix.minutes, index=london.demand.points["ward_code"], columns=matrix.destination_ids)
    walk_km = 1.3 * 60 / 4.0
    bus_leg = 1.15 * 60 / 30.0 + 0.2
    rail_b = 60 / 33.0  # Central Halt - Beta Junction, no timetable time
    expected = {
        (AW, "ash-west"): 0.0,
        (AW, "ash-east"): 11 + 2 * bus_leg,  # bus beats walking 2 km (39 min)
        (AC, "ash-west"): 11 + bus_leg,  # the return run; walking is 19.5
        (AC, "bram-central"): walk_km,  # walking beats anything else
        (AW, "bram-central"): walk_km + 5 + 2.0,  # walk to Alpha Road, one stop; walking is 27.6
        (BW, "bram-central"): 5 + 2.0,
        (BE, "bram-central"): 5 + rail_b,
        (AE, "bram-central"): walk_km + 5 + rail_b,  # via Beta Junction
        (BE, "ash-west"): 5 + rail_b + 2.0 + walk_km,  # two stops west, then walk 1 km south
    }
    for (ward, station), minutes in expected.items():
        assert got.loc[ward, station] == pytest.approx(minutes, abs=1e-3), (ward, station)
    assert "tube timetable" not in " ".join(engine.describe()["data_notes"])


def test_cli_access_by_transit_by_hand(synthetic_dir, tmp_path):
    """``planner access`` with the default engine, Ash East's counter closed (minutes from the test above):
    Ash Central 13.5 and Ash East 16.0 by bus to Ash West, Bram West 7.0 and Bram East 6.8 by rail."""
    params = [f"--param={k}={v}" for k, v in TRANSIT_PARAMS.items()]
    out = invoke(
        "access", "--data", synthetic_dir, "--open", "status_final_nov2017=retain", "--threshold", 10,
        *params, "--postcode", "zz21aa", "--out", tmp_path,
    )  # fmt: skip
    assert "ZZ2 1AA: bram-central, 2.9 min" in out  # 150 m on foot
    bus_leg, rail_b = 1.15 * 60 / 30.0 + 0.2, 60 / 33.0
    minutes = {AC: 11 + bus_leg, AE: 11 + 2 * bus_leg, BW: 5 + 2.0, BE: 5 + rail_b, AW: 0.0, BC: 0.0}
    london = pd.read_csv(tmp_path / "access_london.csv").iloc[0]
    assert london["mean_minutes"] == pytest.approx(sum(POP[w] * m for w, m in minutes.items()) / 9500, abs=1e-3)
    assert london["beyond"] == POP[AC] + POP[AE]
    wards = pd.read_csv(tmp_path / "access_wards.csv").set_index("ward_code")
    assert wards.loc[AE, "nearest_station"] == "ash-west"
    assert wards.loc[BE, "mean_minutes"] == pytest.approx(minutes[BE], abs=1e-3)


# --------------------------------------------------------------------------- hubs


def test_hubs_by_hand(synthetic_dir):
    """Hub sites are the wards' centres; costs are person-km x 16.25 min/km (crow-fly 4.8 km/h x 1.3).

    With 3 wards a hub, each borough's hub serves its row from the middle ward: Ashbury 1000 + 1500 = 2500
    person-km (the ends cost 5000 and 4000), Bramley Vale 1200 + 800 = 2000 (against 4600 and 5400).
    With 1-2 wards a hub and 4 hubs, Ashbury splits {West, Central} + {East} (1000 person-km; {West} +
    {Central, East} costs 1500), Bramley Vale {West} + {Central, East} (800; the other way costs 1200).
    """
    london = load_london(synthetic_dir)
    per_km = 1.3 * 60 / 4.8
    plan = plan_hubs(london.study_wards, london.study_demand, options=HubOptions(size=(3, 3), hubs=2))
    sites = plan.assignment.groupby("borough_code")["site_id"].unique().map(list).to_dict()
    assert sites == {"X09000001": [AC], "X09000002": [BC]}
    assert plan.objective == pytest.approx((2500 + 2000) * per_km, rel=1e-6)

    plan = plan_hubs(london.study_wards, london.study_demand, options=HubOptions(size=(1, 2), hubs=4))
    groups = sorted(tuple(sorted(g["ward_code"])) for _, g in plan.assignment.groupby("hub_id"))
    assert groups == [(AW, AC), (AE,), (BW,), (BC, BE)]
    site = dict(zip(plan.assignment["ward_code"], plan.assignment["site_id"], strict=True))
    assert (site[AW], site[AE], site[BW], site[BE]) == (AC, AE, BW, BC)
    assert plan.objective == pytest.approx((1000 + 800) * per_km, rel=1e-6)


# --------------------------------------------------------------------------- planner run / compare, then maps


@pytest.fixture(scope="module")
def synthetic_runs(synthetic_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic-runs")
    base, final = write_scenarios(root / "scenarios")
    out = root / "out"
    invoke("run", base, final, "--data", synthetic_dir, "--out", out)
    invoke("compare", out / "syn-base", out / "syn-final", "--data", synthetic_dir, "--out", out)
    return out


def test_cli_run_and_compare_by_hand(synthetic_runs):
    """Every counter open: Ash Central, Bram West and Bram East are 1 km (36 min) from one, the rest 0.
    Ash East's counter closed: Ash East is sqrt(2) km from Bram Central (50.9 min), beyond 45."""
    assert (synthetic_runs / "maps" / "change.html").is_file()  # the command line's change map, first vs last
    table = pd.read_csv(synthetic_runs / "compare" / "compare.csv").set_index("scenario")
    total = sum(POP.values())
    one_km = POP[AC] + POP[BW] + POP[BE]
    base, final = table.loc["syn-base"], table.loc["syn-final"]
    assert (base.counters_open, final.counters_open) == (3, 2)
    assert (base.counters_24_7, final.counters_24_7) == (2, 2)
    assert (base.beyond_45, final.beyond_45) == (0, POP[AE])
    assert (base.beyond_60, final.beyond_60) == (0, 0)
    assert final.pct_within_45 == pytest.approx(100 * (total - POP[AE]) / total, abs=1e-3)
    assert final.beyond_65_plus_45 == OLD[AE]
    assert base.mean_minutes == pytest.approx(one_km * KM / total, abs=1e-3)
    assert final.mean_minutes == pytest.approx((one_km * KM + POP[AE] * SQRT2 * KM) / total, abs=1e-3)
    # 95 % of 9,500 residents is 9,025: past the 8,000 within 36 minutes in the final plan
    assert (base.p95_minutes, final.p95_minutes) == pytest.approx((KM, SQRT2 * KM), abs=1e-3)
    assert (final.counters_closed, final.counters_closed_ids) == (1, "ash-east")
    assert final.crimes_per_day_at_closed == 2.5
    assert final.annual_savings == 250_000
    wards = pd.read_csv(synthetic_runs / "compare" / "compare_wards.csv")
    worst = wards.iloc[0]
    assert (worst.ward_code, worst.minutes_before) == (AE, pytest.approx(0, abs=1e-3))
    assert worst.change == pytest.approx(SQRT2 * KM, abs=1e-3)
    assert (wards["change"].iloc[1:].abs() < 1e-6).all()

    summary = json.loads((synthetic_runs / "syn-final" / "summary.json").read_text())
    # from a 24/7 counter (Ash West, Bram Central) Ash East is beyond 45 in both plans
    assert summary["london_24_7"]["45"] == {
        "beyond": POP[AE],
        "beyond_65_plus": OLD[AE],
        "pct_within": pytest.approx(100 * (total - POP[AE]) / total),
    }
    assert summary["boroughs_without_24_7"] == [] and summary["hubs"] == 2
    hubs = pd.read_csv(synthetic_runs / "syn-final" / "hubs" / "hubs.csv")
    assert sorted(hubs["site_id"]) == [AC, BC]
    postcodes = pd.read_parquet(synthetic_runs / "syn-final" / "postcodes.parquet").set_index("postcode")
    # ZZ1 2AB is 100 m west of Ash East's centre: 900 m west and 1000 m south of Bram Central
    assert postcodes.loc["ZZ1 2AB", "station_id"] == "bram-central"
    assert postcodes.loc["ZZ1 2AB", "minutes"] == pytest.approx(math.hypot(0.9, 1.0) * KM, abs=1e-6)
    manifest = json.loads((synthetic_runs / "syn-final" / "manifest.json").read_text())
    assert "stations/front_counters_2017.csv" in manifest["inputs"]


def test_maps_by_hand(synthetic_runs, tmp_path):
    base, final = synthetic_runs / "syn-base", synthetic_runs / "syn-final"
    written = write_maps(final, reference_dir=base, out=tmp_path)
    assert sorted(p.name for p in written) == ["access.html", "explorer.html", "hubs.html", "residents.html"]
    for path in written:
        page = path.read_text()
        assert not re.findall(r'<(?:script[^>]*\ssrc|link[^>]*\shref)="https?://', page)  # offline
    access = _page_data(tmp_path / "access.html")
    assert set(access["values"]) == {AW, AC, AE, BW, BC, BE}
    assert access["values"][AE]["minutes"] == pytest.approx(SQRT2 * KM, abs=1e-2)
    assert access["values"][AE]["nearest"] == "Bramley Vale Police Station"
    assert access["values"][AC]["minutes"] == pytest.approx(KM, abs=1e-2)
    status = {c["id"]: c["status"] for c in access["counters"]}
    assert status == {"ash-west": "open", "ash-east": "closing", "bram-central": "open"}
    residents = _page_data(tmp_path / "residents.html")
    assert "postcodes" in residents  # the synthetic Code-Point file reaches the resident view
    # the explorer carries every station's minutes from every point, and each counter's status in both plans
    explorer = _page_data(tmp_path / "explorer.html")
    ids = [c["id"] for c in explorer["stations"]]
    assert {c["id"]: (c["plan"], c["reference"]) for c in explorer["stations"]} == {
        "ash-west": (True, True),
        "ash-east": (False, True),
        "bram-central": (True, True),
    }
    minutes = np.frombuffer(base64.b64decode(explorer["minutes"]), "<f4").reshape(-1, len(ids))
    wards = [explorer["wards"]["features"][i]["properties"]["ward_code"] for i in explorer["points"]["ward"]]
    east = wards.index(AE)
    assert minutes[east, ids.index("bram-central")] == pytest.approx(SQRT2 * KM, abs=1e-2)
    assert minutes[east, ids.index("ash-east")] == pytest.approx(0, abs=1e-3)
    assert explorer["points"]["population"][east] == POP[AE] and explorer["points"]["old"][east] == OLD[AE]

    change = _page_data(write_change_map([base, final], tmp_path / "change.html"))
    assert change["change"][AE]["change"] == pytest.approx(SQRT2 * KM, abs=1e-2)
    assert all(abs(v["change"]) < 1e-2 for code, v in change["change"].items() if code != AE)
