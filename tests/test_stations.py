import geopandas as gpd
import pandas as pd
import pytest

from planner.errors import DataError, PlannerWarning
from planner.stations import load_stations, select_counters


def _csv(tmp_path, text):
    path = tmp_path / "stations.csv"
    path.write_text(text)
    return path


def test_easting_northing_keeps_every_column(tmp_path):
    path = _csv(tmp_path, "id,name,easting,northing,hours\na,A,530000,180000,24/7\nb,B,531000,181000,limited\n")
    st = load_stations(path)
    assert st["station_id"].tolist() == ["a", "b"]
    assert {"name", "hours", "easting"} <= set(st.columns)
    assert st.geometry.iloc[1].x == 531000


def test_lat_lon(tmp_path):
    st = load_stations(_csv(tmp_path, "id,lat,lon\na,51.5074,-0.1278\n"))
    assert st.geometry.iloc[0].x == pytest.approx(530000, abs=500)


def test_non_numeric_coordinate_names_line_and_id(tmp_path):
    path = _csv(tmp_path, "id,easting,northing\na,530000,180000\nb,53O000,180000\n")
    with pytest.raises(DataError, match=r"line 3 \(b\): easting is not a number \('53O000'\)"):
        load_stations(path)


def test_missing_coordinate(tmp_path):
    with pytest.raises(DataError, match=r"line 2 \(a\): northing is missing"):
        load_stations(_csv(tmp_path, "id,easting,northing\na,530000,\n"))


def test_swapped_lat_lon_geojson(tmp_path):
    frame = gpd.GeoDataFrame({"id": ["x"]}, geometry=gpd.points_from_xy([51.5], [-0.12]), crs=4326)
    path = tmp_path / "s.geojson"
    frame.to_file(path)
    with pytest.raises(DataError, match="look swapped"):
        load_stations(path)


def test_swapped_easting_northing(tmp_path):
    with pytest.raises(DataError, match="easting and northing look swapped"):
        load_stations(_csv(tmp_path, "id,easting,northing\na,180000,530000\n"))


def test_outside_area_reported_not_silently_dropped(tmp_path):
    path = _csv(tmp_path, "id,easting,northing\na,530000,180000\nfar,400000,300000\n")
    with pytest.raises(DataError, match=r"far.*outside the study area"):
        load_stations(path)
    with pytest.warns(PlannerWarning, match="dropped 1"):
        st = load_stations(path, on_invalid="report")
    assert st["station_id"].tolist() == ["a"]
    assert st.attrs["rejected"].to_dict("records") == [
        {"line": 3, "station_id": "far", "reason": "point (400000, 300000) lies outside the study area"}
    ]


def test_duplicate_ids(tmp_path):
    with pytest.raises(DataError, match=r"duplicate station ids \['a'\]"):
        load_stations(_csv(tmp_path, "id,easting,northing\na,530000,180000\na,531000,180000\n"))


def test_empty_csv(tmp_path):
    with pytest.raises(DataError, match="empty"):
        load_stations(_csv(tmp_path, ""))
    with pytest.raises(DataError, match="no rows"):
        load_stations(_csv(tmp_path, "id,easting,northing\n"))


def test_select_counters(tmp_path):
    st = load_stations(_csv(tmp_path, "id,easting,northing,s\na,530000,180000,retain\nb,531000,180000,close\n"))
    assert select_counters(st, "s=retain")["station_id"].tolist() == ["a"]
    assert select_counters(st, "ids=b")["station_id"].tolist() == ["b"]
    with pytest.raises(DataError, match=r"counter selection 'ids=zz': unknown station id\(s\) \['zz'\]"):
        select_counters(st, "ids=zz")
    with pytest.raises(DataError, match="values present"):
        select_counters(st, "s=open")


@pytest.mark.data
def test_real_stations_every_row_accounted(data_dir):
    path = data_dir / "stations" / "front_counters_2017.csv"
    st = load_stations(path)
    raw = pd.read_csv(path)
    assert len(st) + len(st.attrs["rejected"]) == len(raw) == 76
    assert len(st.attrs["rejected"]) == 0
    assert (st["in_73_baseline"] == "yes").sum() == 73
    assert (st["status_final_nov2017"] == "close").sum() == 38
    # the file's lat/lon and easting/northing are the same points
    ll = gpd.GeoSeries(gpd.points_from_xy(raw["lon"], raw["lat"]), crs=4326).to_crs(27700)
    assert ll.distance(st.geometry.set_crs(27700, allow_override=True)).max() < 1.0


@pytest.mark.data
def test_a_borough_column_against_the_coordinates_is_said(london):
    """The hostile pass: Bromley's counter labelled Croydon left Bromley without a 24/7 counter, silently."""
    from planner.context import counter_boroughs
    from planner.errors import PlannerWarning

    stations = london.stations.copy()
    assert counter_boroughs(stations, london.wards).notna().all()  # the real file: border cases within accuracy
    stations.loc[stations["station_id"] == "bromley", "borough"] = "Croydon"
    with pytest.warns(PlannerWarning, match=r"bromley \(borough 'Croydon', lies in Bromley\); the column is used"):
        counter_boroughs(stations, london.wards)
    stations.loc[stations["station_id"] == "bromley", "borough"] = "Bromly"
    with pytest.warns(PlannerWarning, match=r"bromley \('Bromly'\): no borough of the ward file has that name"):
        codes = counter_boroughs(stations, london.wards)
    assert codes[stations["station_id"] == "bromley"].iat[0] == "E09000006"  # from where it lies
    assert codes[stations["station_id"] == "worcester-park"].iat[0] == "E09000029"  # the others keep their column
