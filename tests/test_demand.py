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
