"""The equality view: resident groups per LSOA, a plan's figures for each group, and the disproportion ratio."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from planner.equality import GROUPS, SOURCES, GroupResidents, disproportion, equality_table, group_residents
from planner.errors import DataError, PlannerWarning


# --------------------------------------------------------------------------- a four-LSOA example, solved by hand
def _four():
    """Four LSOAs of 100, 200, 300 and 400 residents; B and D are beyond 45 minutes (D unreachable).

    Group "no_car": 50, 100, 0, 0 residents; group "black": none at all.
    """
    points = pd.DataFrame(
        {
            "point_id": ["A", "B", "C", "D"],
            "borough_name": ["X", "X", "Y", "Y"],
            "minutes": [10.0, 50.0, 30.0, np.inf],
            "population": [100, 200, 300, 400],
            "reachable": [True, True, True, False],
        }
    )
    table = pd.DataFrame(
        {"all": [100.0, 200, 300, 400], "no_car": [50.0, 100, 0, 0], "black": [0.0, 0, 0, 0]},
        index=pd.Index(["A", "B", "C", "D"], name="point_id"),
    )
    return points, GroupResidents(table, estimates=("no_car", "black"))


def test_disproportion_by_hand():
    """London: 600 of 1,000 beyond (60 %); no car: 100 of 150 beyond (66.7 %): ratio 10/9."""
    points, groups = _four()
    table = equality_table(points, groups, threshold=45)
    london = table.loc[table["area"] == "London"].set_index("group")
    assert london.loc["all", "beyond"] == 600 and london.loc["all", "ratio"] == pytest.approx(1.0)
    assert london.loc["no_car", "beyond"] == 100 and london.loc["no_car", "residents"] == 150
    assert london.loc["no_car", "share_beyond"] == pytest.approx(100 * 100 / 150)
    assert london.loc["no_car", "ratio"] == pytest.approx((100 / 150) / (600 / 1000))
    assert np.isnan(london.loc["black", "ratio"]) and london.loc["black", "ratio_note"] == "no residents"
    assert np.isnan(london.loc["black", "share_beyond"])
    # borough X: 200 of 300 beyond; no car 100 of 150: ratio exactly 1
    x = table.loc[table["area"] == "X"].set_index("group")
    assert x.loc["no_car", "ratio"] == pytest.approx(1.0)
    # borough Y: 400 of 700 beyond, nobody without a car: "no residents"
    y = table.loc[table["area"] == "Y"].set_index("group")
    assert y.loc["no_car", "ratio_note"] == "no residents"


def test_nobody_beyond_is_said_not_divided():
    assert disproportion(0, 100, 0, 1000) == (None, "nobody beyond")
    assert disproportion(5, 0, 10, 1000) == (None, "no residents")
    assert disproportion(10, 100, 100, 1000) == (pytest.approx(1.0), "")


def test_groups_are_one_entry_each():
    keys = [g.key for g in GROUPS]
    assert len(keys) == len(set(keys)) and keys[:2] == ["all", "age_65_plus"]
    assert {g.source for g in GROUPS} - {None, "imd"} <= set(SOURCES)


# --------------------------------------------------------------------------- the real files
@pytest.fixture(scope="module")
def real_groups(data_dir, london):
    return group_residents(data_dir, london.study_demand.points, population_codes=london.demand.points["point_id"])


def test_the_real_files_give_every_group(real_groups, london):
    assert not real_groups.omitted
    assert list(real_groups.table.columns) == [g.key for g in GROUPS]
    pop = london.study_demand.points["population"].sum()
    totals = real_groups.table.sum()
    assert totals["all"] == pop
    # published Census 2011 shares for London (README of the mirror): 14.2 % disabled; 41.6 % of households
    # without a car (of residents, by the household share, a little less); shares applied to mid-2019
    assert 13.5 < 100 * totals["disability"] / pop < 14.5
    assert 36 < 100 * totals["no_car"] / pop < 42
    # Black 13.3 %, Asian 18.5 %, Mixed 5.0 %, Other 3.4 % of Londoners in 2011 (ONS, KS201EW)
    assert 100 * totals["black"] / pop == pytest.approx(13.3, abs=0.4)
    assert 100 * totals["asian"] / pop == pytest.approx(18.5, abs=0.4)


def _spoiled(data_dir: Path, tmp_path: Path, name: str, edit) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    for sub in Path(data_dir).iterdir():
        if sub.name != "equality":
            (root / sub.name).symlink_to(sub.resolve())
    (root / "equality").mkdir()
    for f in (Path(data_dir) / "equality").iterdir():
        if f.name != name:
            (root / "equality" / f.name).symlink_to(f.resolve())
    if edit is not None:
        lines = (Path(data_dir) / "equality" / name).read_text().splitlines(keepends=True)
        (root / "equality" / name).write_text("".join(edit(lines)))
    return root


def _set(lines, code, column, value):
    head = lines[0].rstrip("\n").split(",")
    out = list(lines)
    for i, line in enumerate(lines):
        if line.startswith(code + ","):
            cells = line.rstrip("\n").split(",")
            cells[head.index(column)] = value
            out[i] = ",".join(cells) + "\n"
    return out


DISABILITY = "census2011_ks301ew_lsoa11_illness_disability_ew.csv"


def test_a_missing_file_omits_its_groups_with_a_warning(data_dir, london, tmp_path):
    root = _spoiled(data_dir, tmp_path, DISABILITY, None)
    with pytest.warns(PlannerWarning, match=r"equality groups \['disability'\] are left out: .*ks301ew.* is missing"):
        groups = group_residents(root, london.study_demand.points, population_codes=london.demand.points["point_id"])
    assert "disability" not in groups.table.columns and "disability" in groups.omitted


def test_a_share_outside_0_1_is_refused(data_dir, london, tmp_path):
    root = _spoiled(data_dir, tmp_path, DISABILITY, lambda lines: _set(lines, "E01000720", "illness_disability", "1.7"))
    with pytest.raises(DataError, match=r"LSOA E01000720: illness_disability is '?1.7'?, not a share from 0 to 1"):
        group_residents(root, london.study_demand.points, population_codes=london.demand.points["point_id"])


def test_a_duplicate_lsoa_is_refused(data_dir, london, tmp_path):
    def twice(lines):
        row = next(line for line in lines if line.startswith("E01000720,"))
        return [*lines, row]

    root = _spoiled(data_dir, tmp_path, DISABILITY, twice)
    with pytest.raises(DataError, match=r"listed more than once: E01000720 \(lines \d+, \d+\)"):
        group_residents(root, london.study_demand.points, population_codes=london.demand.points["point_id"])


def test_a_london_code_the_population_lacks_is_refused(data_dir, london, tmp_path):
    points = london.demand.points
    points = points.loc[points["point_id"] != "E01000720"]
    with pytest.raises(DataError, match="London LSOA E01000720 is not in the population file"):
        group_residents(data_dir, points)


def test_a_demand_lsoa_the_file_lacks_is_refused(data_dir, london, tmp_path):
    root = _spoiled(
        data_dir, tmp_path, DISABILITY, lambda lines: [ln for ln in lines if not ln.startswith("E01000720,")]
    )
    with pytest.raises(DataError, match=r"has no row for 1 LSOA\(s\) of the population file, e.g. \['E01000720'\]"):
        group_residents(root, london.study_demand.points, population_codes=london.demand.points["point_id"])


def test_a_decile_that_contradicts_its_rank_is_refused(data_dir, london, tmp_path):
    """The hostile pass: decile 3 made 1 moved 4,515 residents into the "10% most deprived" group silently."""
    imd = "imd2015_lsoa11_england.csv"
    root = _spoiled(data_dir, tmp_path, imd, lambda lines: _set(lines, "E01002532", "IMD_decile", "1"))
    with pytest.raises(DataError, match=r"IMD_decile 1 contradicts IMD_rank 8832 \(decile 3 of 32844 ranks"):
        group_residents(root, london.study_demand.points, population_codes=london.demand.points["point_id"])


def test_ethnic_groups_above_persons_are_refused(data_dir, london, tmp_path):
    ethnic = "census2011_ethnic_group_lsoa11_ew.csv"
    root = _spoiled(data_dir, tmp_path, ethnic, lambda lines: _set(lines, "E01002532", "Persons", "1144"))
    with pytest.raises(DataError, match=r"the ethnic groups add up to 2,283, more than Persons \(1,144"):
        group_residents(root, london.study_demand.points, population_codes=london.demand.points["point_id"])


def test_the_2019_indices_can_be_chosen(data_dir, london):
    groups = group_residents(
        data_dir, london.study_demand.points, imd_year=2019, population_codes=london.demand.points["point_id"]
    )
    assert groups.sources.get("imd2019") and groups.imd_year == 2019
    with pytest.raises(DataError, match="imd_year 2017 is not available"):
        group_residents(
            data_dir, london.study_demand.points, imd_year=2017, population_codes=london.demand.points["point_id"]
        )


def test_persons_ten_times_the_ethnic_groups_are_refused(data_dir, london, tmp_path):
    """Hostile pass 7: Persons multiplied by 10 left the groups a tenth of the residents (Black 119,478 in London)."""
    ethnic = "census2011_ethnic_group_lsoa11_ew.csv"
    root = _spoiled(data_dir, tmp_path, ethnic, lambda lines: _set(lines, "E01002532", "Persons", "22880"))
    with pytest.raises(DataError, match=r"the ethnic groups add up to 2,283, less than 50% of Persons \(22,880\)"):
        group_residents(root, london.study_demand.points, population_codes=london.demand.points["point_id"])
