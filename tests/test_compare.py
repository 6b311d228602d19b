"""Costs and savings in the comparison of runs (planner.compare), on a toy solved by hand."""

import numpy as np
import pandas as pd
import pytest

from planner.compare import compare_runs
from planner.runfolder import ScenarioRun
from planner.scenario import Scenario

# Two boroughs: X with counters a (24/7) and b, Y with c (24/7) and d.  Two demand points: P1 in ward W1 (X)
# with 100 residents (10 aged 65+), P2 in ward W2 (Y) with 50.
COUNTERS = pd.DataFrame(
    {
        "station_id": ["a", "b", "c", "d"],
        "borough_code": ["BX", "BX", "BY", "BY"],
        "open_24_7": [True, False, True, False],
        "daily_crimes_reported_2017": [4.0, 2.5, 1.0, np.nan],
    }
)
WARDS = pd.DataFrame(
    {"ward_code": ["W1", "W2"], "ward_name": ["One", "Two"], "borough_name": ["Ex", "Why"], "population": [100, 50]}
)
BOROUGHS = pd.DataFrame({"borough_code": ["BX", "BY"], "borough_name": ["Ex", "Why"]})


def toy_run(name: str, open_ids: list[str], minutes: tuple[float, float], costs: dict | None = None) -> ScenarioRun:
    scenario = Scenario.model_validate({"name": name, "counters": {"open": {"ids": open_ids}}, "costs": costs})
    points = pd.DataFrame(
        {
            "point_id": ["P1", "P2"],
            "ward_code": ["W1", "W2"],
            "borough_code": ["BX", "BY"],
            "borough_name": ["Ex", "Why"],
            "population": [100, 50],
            "pop_65_plus": [10, 0],
            "minutes": list(minutes),
            "station_id": [open_ids[0], open_ids[-1]],
            "reachable": True,
        }
    )
    counters = COUNTERS.loc[COUNTERS["station_id"].isin(open_ids)].reset_index(drop=True)
    return ScenarioRun(scenario, counters, points, WARDS, BOROUGHS)


def test_savings_are_the_known_costs_of_the_counters_closed_against_the_reference():
    everyone = toy_run("all", ["a", "b", "c", "d"], (10.0, 20.0))
    # b costs 250 (its own figure), d the default 100: closing both saves 350
    priced = toy_run("priced", ["a", "c"], (50.0, 20.0), {"annual_cost_per_counter": 100, "by_station": {"b": 250}})
    # no costs in its own file: the reference's costs are used (a default of 80 for each closed counter)
    borrowed = toy_run("borrowed", ["a", "c"], (50.0, 20.0))
    # d has no cost (no default, not listed): the savings are unknown, not the 250 of b alone
    partial = toy_run("partial", ["a", "c"], (50.0, 20.0), {"by_station": {"b": 250}})
    one = toy_run("one", ["a", "c", "d"], (50.0, 20.0), {"annual_cost_per_counter": 100, "by_station": {"b": 250}})
    reference = Scenario.model_validate(
        {"name": "all", "counters": {"open": {"ids": ["a", "b", "c", "d"]}}, "costs": {"annual_cost_per_counter": 80}}
    )
    everyone = ScenarioRun(reference, everyone.counters, everyone.points, WARDS, BOROUGHS)
    table = compare_runs([everyone, priced, borrowed, partial, one]).london.set_index("scenario")
    assert table.loc["priced", "annual_savings"] == 350
    assert table.loc["borrowed", "annual_savings"] == 160
    assert np.isnan(table.loc["partial", "annual_savings"])
    assert table.loc["one", "annual_savings"] == 250
    assert table["counters_closed"].to_dict() == {"all": 0, "priced": 2, "borrowed": 2, "partial": 2, "one": 1}
    assert table.loc["priced", "counters_closed_ids"] == "b;d"
    # crime reports at the closed counters: b's 2.5 is known, d's is not
    assert table.loc["priced", "crimes_per_day_at_closed"] == 2.5 and table.loc["priced", "crimes_known"] == 1
    assert table.loc["one", "crimes_known"] == 1  # b only
    # the access figures of the same toy: P1 (100 residents, 10 aged 65+) is beyond 45 minutes once b and d close
    assert table.loc["all", "beyond_45"] == 0 and table.loc["priced", "beyond_45"] == 100
    assert table.loc["priced", "pct_within_45"] == pytest.approx(100 * 50 / 150)
    assert table.loc["priced", "beyond_65_plus_45"] == 10
    assert table.loc["priced", "mean_minutes"] == pytest.approx((100 * 50 + 50 * 20) / 150)
    assert table["boroughs_without_24_7"].eq(0).all()


def test_without_any_costs_the_savings_are_unknown_in_the_table_and_the_report():
    runs = [toy_run("all", ["a", "b", "c", "d"], (10.0, 20.0)), toy_run("cut", ["a", "c"], (50.0, 20.0))]
    comparison = compare_runs(runs)
    assert np.isnan(comparison.london.loc[1, "annual_savings"])
    assert "annual savings unknown (no costs in the scenario files)" in comparison.markdown()


def test_a_plan_that_closes_nothing_saves_nothing_and_loses_no_crime_reports():
    """The reference against itself: 0 saved and 0 crime reports at closed counters, not "unknown"."""
    runs = [toy_run("all", ["a", "b", "c", "d"], (10.0, 20.0)), toy_run("cut", ["a", "c"], (50.0, 20.0))]
    table = compare_runs(runs).london.set_index("scenario")
    assert table.loc["all", "annual_savings"] == 0 and table.loc["all", "crimes_per_day_at_closed"] == 0


def test_savings_name_the_counter_whose_cost_is_missing():
    partial = {"by_station": {"b": 250}}
    runs = [toy_run("all", ["a", "b", "c", "d"], (10.0, 20.0)), toy_run("cut", ["a", "c"], (50.0, 20.0), partial)]
    assert "annual savings unknown (no cost for d)" in compare_runs(runs).markdown()


def test_only_wards_that_worsen_are_listed_largest_rise_first():
    from planner.compare import worsening_wards

    labels = pd.DataFrame(
        {"ward_name": ["A", "B", "C", "D"], "borough_name": ["X"] * 4},
        index=pd.Index(["w1", "w2", "w3", "w4"], name="ward_code"),
    )
    before = pd.Series({"w1": 10.0, "w2": 20.0, "w3": 30.0, "w4": 40.0})
    after = pd.Series({"w1": 15.0, "w2": 20.0, "w3": 25.0, "w4": 47.0})  # w2 unchanged, w3 better
    table = worsening_wards(labels, before, after, top=10)
    assert table["ward_code"].tolist() == ["w4", "w1"] and table["change"].tolist() == [7.0, 5.0]
    assert worsening_wards(labels, before, before, top=10).empty


def test_savings_are_net_of_the_counters_a_plan_opens():
    """Closing b (250) and opening d (100) saves 150 a year, not the gross 250; opening alone costs money."""
    costs = {"annual_cost_per_counter": 100, "by_station": {"b": 250}}
    runs = [
        toy_run("ref", ["a", "b", "c"], (10.0, 20.0), costs),
        toy_run("swap", ["a", "c", "d"], (50.0, 20.0), costs),
        toy_run("more", ["a", "b", "c", "d"], (10.0, 20.0), costs),
        toy_run("unpriced", ["a", "c", "d"], (50.0, 20.0), {"by_station": {"b": 250}}),
    ]
    comparison = compare_runs(runs)
    table = comparison.london.set_index("scenario")
    assert table.loc["swap", "annual_savings"] == 150
    assert table.loc["more", "annual_savings"] == -100
    assert np.isnan(table.loc["unpriced", "annual_savings"])
    assert "net annual savings unknown (no cost for d)" in comparison.markdown()


def test_costs_in_two_currencies_give_no_saving():
    """A reference priced in pounds and a plan priced in euros: no figure adds them, so the saving is unknown."""
    runs = [
        toy_run("ref", ["a", "b", "c"], (10.0, 20.0), {"currency": "GBP", "annual_cost_per_counter": 250_000}),
        toy_run("cut", ["a", "c"], (50.0, 20.0), {"currency": "EUR", "annual_cost_per_counter": 2_500}),
    ]
    comparison = compare_runs(runs)
    assert np.isnan(comparison.london.set_index("scenario").loc["cut", "annual_savings"])
    assert "unknown (the scenario files give costs in GBP and EUR)" in comparison.markdown()


def test_runs_are_compared_at_their_own_thresholds_and_mixed_thresholds_are_refused():
    """Hostile pass 7: two runs at 30 minutes were compared at 45 and 60, with an empty equality table."""
    from planner.errors import DataError

    def at(name: str, thresholds: list[float], minutes: tuple[float, float]) -> ScenarioRun:
        run = toy_run(name, ["a", "c"], minutes)
        spec = Scenario.model_validate(
            {"name": name, "counters": {"open": {"ids": ["a", "c"]}}, "thresholds": thresholds}
        )
        return ScenarioRun(spec, run.counters, run.points, WARDS, BOROUGHS)

    table = compare_runs([at("p", [30], (10.0, 20.0)), at("q", [30], (50.0, 20.0))]).london.set_index("scenario")
    assert table.loc["q", "beyond_30"] == 100 and "beyond_45" not in table.columns
    with pytest.raises(DataError, match=r"runs have different thresholds: p has \['30'\] minutes, q has \['45'\]"):
        compare_runs([at("p", [30], (10.0, 20.0)), at("q", [45], (50.0, 20.0))])
    assert "beyond_45" in compare_runs([at("p", [30], (10.0, 20.0))], thresholds=(45,)).london.columns
