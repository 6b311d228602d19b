"""The street-network engine inside the sweep and the optimiser (issue 15.5), on the real Camden extract.

The Camden extract covers Camden and its edges only, so planner is pointed at a Camden study area: the
London it loads is cut to Camden's wards and residents and the nine counters within 1.5 km of Camden.
Every figure is checked against numpy on the engine's own matrix (closures), or against every possible
choice of counters scored by numpy (the optimiser).
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pytest

from planner.errors import PlannerWarning
from planner.london import London
from planner.travel import StreetNetwork, make_engine

pytestmark = pytest.mark.data

OPEN = ["charing-cross", "holborn", "islington", "kentish-town"]
THRESHOLD = 30.0  # walking minutes


@pytest.fixture(scope="module")
def camden(london):
    wards = london.wards.loc[london.wards["borough_name"].eq("Camden")].reset_index(drop=True)
    near = london.stations.intersects(wards.union_all().buffer(1500))
    stations = london.stations.loc[near].reset_index(drop=True)
    return London(
        london.paths, london.ward_year, wards, stations, london.demand.in_boroughs(["Camden"]), london.include_city
    )


@pytest.fixture(scope="module")
def street_engine(data_dir):
    """The walk engine on the Camden extract, built once through make_engine as a scenario builds it."""
    from planner.config import DataPaths

    return make_engine("network", data=DataPaths(data_dir), params={"mode": "walk"}, osm="camden.osm.pbf")


@pytest.fixture
def camden_planner(monkeypatch, camden, street_engine):
    """Wherever planner loads London or builds the street engine, it gets the Camden study area and the engine.

    The engine is read from the extract once; a run asking for another walking speed gets the same graph
    timed at that speed.  Returns the engine parameters each request asked for.
    """
    asked = []

    def engine(name, *, data=None, params=None, osm=None):
        assert (name, osm) == ("network", "camden.osm.pbf")
        params = dict(params or {})
        assert params.pop("mode") == "walk"
        asked.append(params)
        return StreetNetwork(street_engine.graph, **params) if params else street_engine

    monkeypatch.setattr("planner.context.load_london", lambda *args, **kwargs: camden)
    monkeypatch.setattr("planner.context.make_engine", engine)
    return asked


def scenario_file(folder):
    opened = ", ".join(f'"{c}"' for c in OPEN)
    path = folder / "camden-streets.toml"
    path.write_text(
        f'name = "camden-streets"\nthresholds = [{THRESHOLD}]\n\n[counters]\nopen = {{ ids = [{opened}] }}\n\n'
        '[engine]\nname = "network"\nosm = "camden.osm.pbf"\nparams = { mode = "walk" }\n'
    )
    return path


def beyond(minutes, population, columns, threshold=THRESHOLD):
    """Residents whose nearest counter among ``columns`` is beyond the threshold (or unreachable), by numpy."""
    best = minutes[:, columns].min(axis=1) if len(columns) else np.full(len(minutes), np.inf)
    return int(population[~(best <= threshold)].sum())


@pytest.fixture(scope="module")
def direct(camden, street_engine):
    """The engine's matrix computed directly (not through a run context or a cache) and the residents."""
    points = camden.study_demand.points
    matrix = street_engine.matrix(points, camden.stations)
    return matrix, points["population"].to_numpy()


def test_pairs_sweep_with_the_street_engine(camden_planner, direct, data_dir, tmp_path):
    from planner.sweep import run_sweep

    matrix, pop = direct
    assert np.isfinite(matrix.minutes).any(axis=1).all()  # every Camden resident reaches a counter
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        result = run_sweep(scenario_file(tmp_path), kind="pairs", out=tmp_path / "out", data=data_dir, serial=True)
    assert camden_planner  # the sweep asked for the street engine
    ids = list(matrix.destination_ids)
    closures = [c for size in (1, 2) for c in itertools.combinations(OPEN, size)]
    assert len(result.results) == len(closures) == 10
    table = result.results.set_index("closed")
    for closed in closures:
        still_open = [ids.index(c) for c in OPEN if c not in closed]
        assert table.loc[";".join(closed), "beyond"] == beyond(matrix.minutes, pop, still_open), closed
    # the critical counters: residents who lose access when one counter alone closes
    base = beyond(matrix.minutes, pop, [ids.index(c) for c in OPEN])
    critical = result.critical.set_index("station_id")["residents_losing_access"]
    for c in OPEN:
        alone = beyond(matrix.minutes, pop, [ids.index(o) for o in OPEN if o != c])
        assert critical[c] == alone - base
    assert critical.max() > 0  # the case is not trivial: some closure leaves residents beyond 30 minutes


def test_grid_sweep_over_walking_speed_with_the_street_engine(camden_planner, direct, data_dir, tmp_path):
    """The grid sweep re-times the street network at a slower walk and runs the optimiser at each point."""
    from planner.sweep import run_sweep

    matrix, pop = direct
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        result = run_sweep(
            scenario_file(tmp_path),
            kind="grid",
            grid={"walk_speed_kmh": [3.6, 4.8]},
            out=tmp_path / "out",
            data=data_dir,
            serial=True,
        )
    assert {"walk_speed_kmh": 3.6} in camden_planner
    ids = list(matrix.destination_ids)
    rows = result.results.set_index("param_walk_speed_kmh")
    assert len(rows) == 2
    for speed in (3.6, 4.8):
        minutes = matrix.minutes * 4.8 / speed  # every leg is walked, so minutes scale with the pace
        assert rows.loc[speed, "beyond"] == beyond(minutes, pop, [ids.index(c) for c in OPEN])
        # the optimum with as many counters: every choice of 4 of the 9 that keeps a Camden counter, by numpy
        best = min(
            beyond(minutes, pop, list(cols))
            for cols in itertools.combinations(range(len(ids)), len(OPEN))
            if {"holborn", "kentish-town"} & {ids[i] for i in cols}
        )
        assert rows.loc[speed, "optimum_beyond"] == best
        chosen = str(rows.loc[speed, "optimum_open"]).split(";")
        assert beyond(minutes, pop, [ids.index(c) for c in chosen]) == best
    assert rows.loc[3.6, "beyond"] > rows.loc[4.8, "beyond"]


def test_optimiser_with_the_street_engine(camden_planner, direct, data_dir, tmp_path):
    from planner.context import RunContext
    from planner.proposals import propose

    matrix, pop = direct
    ids = list(matrix.destination_ids)
    camden_ids = {"holborn", "kentish-town"}  # the rule: Camden keeps a counter
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PlannerWarning)
        result = propose(
            scenario_file(tmp_path), out=tmp_path / "opt", context=RunContext(data_dir), mode="max-coverage", k=2
        )
    assert camden_planner
    total = int(pop.sum())
    best = max(
        total - beyond(matrix.minutes, pop, list(cols))
        for cols in itertools.combinations(range(len(ids)), 2)
        if camden_ids & {ids[i] for i in cols}
    )
    choice = result.choice
    assert choice is not None and len(choice.open) == 2 and camden_ids & set(choice.open)
    assert choice.covered == best == total - beyond(matrix.minutes, pop, [ids.index(c) for c in choice.open])
    assert result.current["covered"] == total - beyond(matrix.minutes, pop, [ids.index(c) for c in OPEN])
    assert result.scenario_file is not None and result.scenario_file.is_file()
