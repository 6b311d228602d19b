import pytest

from planner.demand import load_demand
from planner.errors import DataError


@pytest.mark.data
def test_mid_2019_total(london):
    assert london.demand.total == 8_961_989
    assert london.demand.year == 2019
    assert len(london.demand.points) == 4835
    assert (
        london.study_demand.total
        == london.demand.total - london.demand.points.loc[~london.demand.points["in_met"], "population"].sum()
    )


@pytest.mark.data
def test_age_bands_add_up(london):
    pts = london.demand.points
    bands = pts[["pop_0_15", "pop_16_29", "pop_30_44", "pop_45_64", "pop_65_plus"]].sum(axis=1)
    assert (bands == pts["population"]).all()


@pytest.mark.data
def test_wards_without_centroid_are_kept(london):
    wards = london.demand.wards
    assert len(wards) == 654
    empty = wards[wards["n_points"] == 0]
    assert len(empty) == 20
    assert (empty["borough_code"] == "E09000001").all()
    assert (empty["population"] == 0).all()
    assert wards["population"].sum() == 8_961_989


@pytest.mark.data
def test_2020_and_bad_year(data_dir, london):
    d20 = load_demand(data_dir, wards=london.wards, year=2020)
    assert d20.total == 9_002_488
    with pytest.raises(DataError, match=r"choose one of \(2019, 2020\)"):
        load_demand(data_dir, wards=london.wards, year=2018)


def _population_files(root, points):
    """Centroid and mid-2019 population files for ``points``: {LSOA code: (easting, northing, residents)}."""
    from pyproj import Transformer

    to_wgs = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    folder = root / "population"
    folder.mkdir(parents=True)
    rows = ["X,Y,objectid,lsoa11cd,lsoa11nm"]
    for i, (code, (x, y, _)) in enumerate(points.items()):
        lon, lat = to_wgs.transform(x, y)
        rows.append(f"{lon!r},{lat!r},{i + 1},{code},Testham {i:03d}A")
    (folder / "lsoa11_population_weighted_centroids.csv").write_text("\n".join(rows) + "\n")
    ages = "Persons_0-15,Persons_16-29,Persons_30-44,Persons_45-64,Persons_65+"
    rows = [f"LSOA11CD,LSOA11NM,Persons_All-Ages,{ages}"]
    rows += [f"{code},Testham,{n},{','.join([str(n // 5)] * 5)}" for code, (_, _, n) in points.items()]
    (folder / "lsoa11_mid2019_population.csv").write_text("\n".join(rows) + "\n")
    return root


def test_centroid_outside_every_ward_gets_the_nearest_ward_and_says_so(tmp_path, caplog):
    """A centroid in no ward polygon (a coastline or boundary edit) joins the nearest ward, with a warning."""
    import logging

    from planner.errors import PlannerWarning
    from tests.conftest import make_wards

    wards = make_wards(3)  # W0, W1, W2: 1-km squares from (530000, 180000) eastwards
    points = {
        "E01000001": (530500, 180500, 1000),  # inside W0
        "E01000002": (533400, 180500, 2000),  # 400 m east of W2, the last ward
        "E01000003": (531500, 181050, 500),  # 50 m north of W1 (W0 and W2 are farther)
    }
    data = _population_files(tmp_path, points)
    with caplog.at_level(logging.WARNING, logger="planner.demand"), pytest.warns(PlannerWarning) as caught:
        demand = load_demand(data, wards=wards)
    message = "2 demand point(s) fall in no ward polygon and were given the nearest ward: ['E01000002', 'E01000003']"
    assert message in [str(w.message) for w in caught]
    assert message in caplog.text  # logged too, so the CLI shows it
    assigned = demand.points.set_index("point_id")["ward_code"].to_dict()
    assert assigned == {"E01000001": "W0", "E01000002": "W2", "E01000003": "W1"}
    assert demand.points["borough_code"].eq("E09000002").all() and demand.points["in_met"].all()
    assert demand.wards.set_index("ward_code")["population"].to_dict() == {"W0": 1000, "W1": 500, "W2": 2000}
    assert demand.total == 3500


def test_a_population_file_copied_over_another_year_is_said(synthetic_dir, tmp_path):
    """The second hostile pass: the mid-2020 file replaced by the mid-2019 one gave 2019's figures as 2020's."""
    import shutil
    from pathlib import Path

    from planner.errors import PlannerWarning
    from planner.london import load_london

    data = Path(shutil.copytree(synthetic_dir, tmp_path / "data"))
    shutil.copy(
        data / "population" / "lsoa11_mid2019_population.csv", data / "population" / "lsoa11_mid2020_population.csv"
    )
    with pytest.warns(PlannerWarning, match=r"lsoa11_mid2020_population.csv is byte for byte lsoa11_mid2019"):
        load_london(data, demand_year=2020)


@pytest.mark.data
def test_a_centroid_moved_into_another_borough_is_refused(data_dir, tmp_path):
    """The second hostile pass: Barking and Dagenham 018C's centroid moved to Westminster moved its residents."""
    import os
    from pathlib import Path

    from planner.errors import DataError
    from planner.london import load_london

    data = tmp_path / "data"
    data.mkdir()
    for entry in Path(data_dir).iterdir():
        if entry.name != "population":
            os.symlink(entry.resolve(), data / entry.name)
    (data / "population").mkdir()
    for entry in (Path(data_dir) / "population").iterdir():
        os.symlink(entry.resolve(), data / "population" / entry.name)
    centroids = data / "population" / "lsoa11_population_weighted_centroids.csv"
    text = centroids.read_text()
    centroids.unlink()
    line = next(x for x in text.splitlines() if ",E01000056," in x)
    centroids.write_text(text.replace(line, "-0.134,51.513," + line.split(",", 2)[2]))
    with pytest.raises(DataError, match=r"E01000056 \(in E09000033, its borough is E09000002\)"):
        load_london(data)
