"""Postcodes: parsing, the nearest counter from each postcode point, and the Code-Point Open file."""

import geopandas as gpd
import numpy as np
import pytest
import shapely

from planner.errors import DataError, PlannerError
from planner.postcodes import find_postcodes, load_postcodes, normalise_postcode, postcode_access, postcode_file
from planner.travel import CrowFly
from tests.conftest import make_wards


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("HA9 0WS", "HA9 0WS"),
        ("ha90ws", "HA9 0WS"),
        ("  sw1a 1aa ", "SW1A 1AA"),
        ("SW1A1AA", "SW1A 1AA"),
        ("n1-9gu", "N1 9GU"),
        ("TN16 3AA", "TN16 3AA"),
        ("HA9", None),
        ("HA9 0", None),
        ("Brixton Hill", None),
        ("", None),
    ],
)
def test_normalise_postcode(text, expected):
    assert normalise_postcode(text) == expected


def _points(rows):
    return gpd.GeoDataFrame(
        {"postcode": [r[0] for r in rows]}, geometry=[shapely.Point(r[1], r[2]) for r in rows], crs=27700
    )


def test_postcode_access_by_hand():
    """Crow-fly at 6 km/h (100 m a minute), circuity 1: minutes are metres / 100, worked out by hand."""
    wards = make_wards(3)  # 1-km squares W0, W1, W2 from x = 530,000 to 533,000, y = 180,000 to 181,000
    postcodes = _points(
        [
            ("AA1 1AA", 530500, 180500),  # in W0; 500 m from counter a
            ("AA1 1AB", 532900, 180500),  # in W2; 400 m from counter b
            ("AA1 1AD", 531500, 181100),  # 100 m north of W1: the nearest ward within 200 m
            ("AA1 1AE", 531500, 185000),  # 4 km north: in no ward
        ]
    )
    counters = gpd.GeoDataFrame(
        {"station_id": ["a", "b"]}, geometry=[shapely.Point(530000, 180500), shapely.Point(533300, 180500)], crs=27700
    )
    table = postcode_access(postcodes, counters, CrowFly(speed_kmh=6, circuity=1.0), wards=wards)
    assert table["station_id"].tolist() == ["a", "b", "a", "a"]
    expected = [5.0, 4.0, np.hypot(1500, 600) / 100, np.hypot(1500, 4500) / 100]
    np.testing.assert_allclose(table["minutes"], expected)
    assert table["ward_code"].tolist() == ["W0", "W2", "W1", ""]
    assert table["easting"].tolist() == [530500, 532900, 531500, 531500]


@pytest.mark.data
def test_code_point_open(data_dir):
    table = load_postcodes(postcode_file(data_dir))
    assert len(table) == 180_792
    assert table["postcode"].is_unique and table["postcode"].is_monotonic_increasing
    assert table.crs.to_epsg() == 27700
    assert table["lad"].str.startswith("E09").all()
    found = find_postcodes(["ha90ws", "TN16 3AA"], data_dir)
    assert found["postcode"].tolist() == ["HA9 0WS", "TN16 3AA"]
    assert found["lad"].tolist() == ["E09000005", "E09000006"]  # Brent; Biggin Hill is in Bromley
    with pytest.raises(DataError, match="KT22 7AA"):
        find_postcodes(["KT22 7AA"], data_dir)  # Leatherhead, Surrey
    with pytest.raises(PlannerError, match="not a full postcode"):
        find_postcodes(["HA9"], data_dir)


@pytest.mark.data
def test_postcode_minutes_by_an_independent_route(data_dir, london, transit_engine):
    """The one multi-source search over all postcodes equals the full matrix's row minimum (one search per counter)."""
    from planner.stations import select_counters

    counters = select_counters(london.stations, "status_final_nov2017=retain,new")
    some = find_postcodes(["HA9 0WS", "W2 1NH", "TN16 3AA", "UB9 6JA", "SE1 7PB", "E1 6AN"], data_dir)
    table = postcode_access(some, counters, transit_engine)
    origins = gpd.GeoDataFrame({"point_id": some["postcode"]}, geometry=some.geometry.values, crs=27700)
    matrix = transit_engine.matrix(origins, counters[["station_id", "geometry"]])
    np.testing.assert_allclose(table["minutes"], matrix.minutes.min(axis=1), atol=1e-9)
    assert table["station_id"].tolist() == list(matrix.destination_ids[matrix.minutes.argmin(axis=1)])


def test_city_postcodes_are_the_city_not_a_neighbouring_met_ward():
    """A point in a City ward, or next to one, gets no Met ward, even when a Met ward lies within 200 m;
    and a postcode Code-Point places in the City (lad E09000001) is the City wherever its point falls."""
    wards = make_wards(3)  # W0, W1, W2 side by side
    wards["in_met"] = [True, False, True]  # W1 stands for the City
    postcodes = _points(
        [
            ("AA1 1AA", 530500, 180500),  # in W0 (Met)
            ("AA1 1AB", 531020, 180500),  # in W1 (City), 20 m from W0
            ("AA1 1AD", 531500, 181100),  # 100 m north of W1, 510 m from W0 and W2: nearest is the City
            ("AA1 1AE", 532500, 180500),  # in W2 but Code-Point says the City
        ]
    )
    postcodes["lad"] = ["E09000002", "E09000001", "E09000001", "E09000001"]
    counters = gpd.GeoDataFrame({"station_id": ["a"]}, geometry=[shapely.Point(530000, 180500)], crs=27700)
    table = postcode_access(postcodes, counters, CrowFly(speed_kmh=6, circuity=1.0), wards=wards)
    assert table["ward_code"].tolist() == ["W0", "", "", ""]


def test_city_of_london_postcodes_get_no_met_ward(data_dir, london):
    """The issue's cases: EC4R 1AG (Vintry) was told Cathedrals ward, Southwark; E1 7AA and E1 6AN Spitalfields."""
    points = find_postcodes(["EC4R 1AG", "E1 7AA", "E1 6AN", "SE1 9GF"], data_dir)
    counters = london.stations.iloc[:3]
    table = postcode_access(points, counters, CrowFly(), wards=london.wards)
    city = london.wards.loc[~london.wards["in_met"]]
    inside = gpd.sjoin(gpd.GeoDataFrame(geometry=points.geometry), city, predicate="within")
    assert len(inside) >= 1  # at least one of them lies inside a City ward polygon
    assert table["ward_code"].tolist()[:3] == ["", "", ""]
    assert table["ward_code"].iloc[3].startswith("E05")  # a Southwark postcode keeps its Met ward
    every = load_postcodes(postcode_file(data_dir))
    in_city = gpd.sjoin(every, city[["geometry"]], predicate="within").index.unique()
    answers = postcode_access(every.loc[in_city], counters, CrowFly(), wards=london.wards)
    assert len(answers) > 1000 and (answers["ward_code"] == "").all()
