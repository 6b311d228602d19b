import zipfile

import geopandas as gpd
import pytest
import shapely

from planner.boundaries import load_boroughs, load_wards, met_wards
from planner.errors import CRSError, DataError, PlannerWarning
from tests.conftest import make_wards, square


def _publisher_frame(n=3):
    wards = make_wards(n)
    return wards.rename(
        columns={
            "ward_code": "GSS_CODE",
            "ward_name": "NAME",
            "borough_code": "LB_GSS_CD",
            "borough_name": "BOROUGH",
        }
    ).drop(columns="in_met")


def test_maps_publisher_columns(tmp_path):
    path = tmp_path / "wards.gpkg"
    _publisher_frame().to_file(path)
    wards = load_wards(path)
    assert list(wards.columns) == [
        "ward_code",
        "ward_name",
        "borough_code",
        "borough_name",
        "in_met",
        "geometry",
    ]
    assert wards["ward_code"].tolist() == ["W0", "W1", "W2"]
    assert wards.crs.to_epsg() == 27700


def test_reprojects_declared_crs(tmp_path):
    path = tmp_path / "wards.geojson"
    _publisher_frame().to_crs(4326).to_file(path)
    wards = load_wards(path)
    assert wards.crs.to_epsg() == 27700
    assert wards.geometry.iloc[0].area == pytest.approx(1e6, rel=1e-3)


def test_shapefile_without_prj_is_refused(tmp_path):
    path = tmp_path / "wards.shp"
    _publisher_frame().to_file(path)
    path.with_suffix(".prj").unlink()
    with pytest.raises(CRSError, match=r"no \.prj"):
        load_wards(path)


def test_zip_without_prj_is_refused(tmp_path):
    shp = tmp_path / "w" / "London_Ward.shp"
    shp.parent.mkdir()
    _publisher_frame().to_file(shp)
    archive = tmp_path / "wards.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in shp.parent.iterdir():
            if f.suffix != ".prj":
                zf.write(f, f"w/{f.name}")
    with pytest.raises(CRSError, match="no CRS"):
        load_wards(archive)


def test_duplicate_codes_named(tmp_path):
    frame = _publisher_frame()
    frame.loc[2, "GSS_CODE"] = "W1"
    path = tmp_path / "dup.gpkg"
    frame.to_file(path)
    with pytest.raises(DataError, match=r"duplicate ward codes \['W1'\]"):
        load_wards(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.geojson"
    path.write_text("")
    with pytest.raises(DataError, match="empty"):
        load_wards(path)


def test_corrupt_zip(tmp_path):
    path = tmp_path / "wards.zip"
    path.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(DataError, match="not a valid zip"):
        load_wards(path)


def test_invalid_polygon_repaired_with_warning(tmp_path):
    frame = _publisher_frame()
    bowtie = shapely.Polygon([(530000, 180000), (531000, 181000), (531000, 180000), (530000, 181000)])
    frame.loc[1, "geometry"] = bowtie
    path = tmp_path / "bad.gpkg"
    frame.to_file(path)
    with pytest.warns(PlannerWarning, match=r"W1 \(Ward 1\)"):
        wards = load_wards(path)
    assert wards.is_valid.all()
    with pytest.raises(DataError, match="invalid polygons"):
        load_wards(path, repair=False)


def test_empty_geometry_named(tmp_path):
    frame = _publisher_frame()
    frame.loc[0, "geometry"] = shapely.Polygon()
    path = tmp_path / "e.gpkg"
    frame.to_file(path)
    with pytest.raises(DataError, match=r"empty geometry for wards \['W0'\]"):
        load_wards(path)


def test_unknown_columns(tmp_path):
    frame = gpd.GeoDataFrame({"a": [1]}, geometry=[square(530000, 180000)], crs=27700)
    path = tmp_path / "x.gpkg"
    frame.to_file(path)
    with pytest.raises(DataError, match="rename them in the file"):
        load_wards(path)


def test_met_excludes_city_by_default():
    wards = make_wards(3)
    wards.loc[0, ["borough_code", "in_met"]] = ["E09000001", False]
    assert len(met_wards(wards)) == 2
    assert len(met_wards(wards, include_city=True)) == 3


@pytest.mark.data
def test_real_ward_sets(data_dir):
    with pytest.warns(PlannerWarning, match="E05009392 .Colville.*E05009400 .Pembridge"):
        w14 = load_wards(data_dir / "boundaries" / "London-wards-2014.zip")
    assert len(w14) == 654
    assert w14["borough_code"].nunique() == 33
    assert len(met_wards(w14)) == 629
    assert w14.is_valid.all()
    with pytest.warns(PlannerWarning):
        merged = load_wards(data_dir / "boundaries" / "London-wards-2014.zip", layer="London_Ward_CityMerged")
    assert len(merged) == 630
    w18 = load_wards(data_dir / "boundaries" / "London-wards-2018.zip")
    assert len(w18) == 657
    assert (w18.loc[~w18["in_met"], "borough_name"] == "City of London").all()


@pytest.mark.data
def test_real_boroughs(data_dir):
    boroughs = load_boroughs(data_dir / "boundaries" / "boroughs.gpkg")
    assert len(boroughs) == 33
