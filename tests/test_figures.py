"""The headline figures, each recomputed by a route independent of the code that reports it.

The pinned figures elsewhere (test_transit, test_sweep, test_hubs, test_cli_commands, test_scenarios) are the
code's own output.  Here each is derived again from first principles on the same inputs:

- residents beyond 45 minutes (README, `planner access`, the report): numpy on the full travel matrix (every
  LSOA × every counter of the file), nearest open counter per LSOA, weighted by population; the runs report
  them from :func:`planner.assess.assess`, one multi-source search from the open counters (the same figures
  are pinned on the runs in test_scenarios.py);
- the most critical counters (`planner sweep --kind marginal`, README): numpy on the same matrix with each
  open counter's column removed in turn, instead of the sweep's nearest-open-counter bookkeeping;
- residents beyond 45 minutes with buses at 24 km/h (`planner sweep --kind grid`, README): numpy on a matrix
  from an engine built with that speed, instead of the sweep's cached matrices;
- the optimum with the plan's 34 counters (`planner optimise`, README): the maximal-coverage model written
  again here from its definition and solved with SciPy's HiGHS (``scipy.optimize.milp``), instead of
  planner's PuLP model solved with CBC;
- the feasible hub range 141-149 and the 149 hubs (`planner hubs`, README): arithmetic on each borough's ward
  count, and plans at both ends whose hubs are checked to be contiguous by libpysal's rook rule.

Already independent elsewhere, so not repeated here: the November 2017 plan's 290,037 against the full matrix
(test_transit.py::test_headline_figure_by_an_independent_route) and the London hub objective in numpy
(test_hubs_enumeration.py::test_london_plan_identical_to_the_mip).
"""

import math

import numpy as np
import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.data

SCENARIOS = REPO / "scenarios"
BEYOND_45 = {"baseline-2017": 32_970, "mopac-draft-2017": 174_428, "mopac-final-2017": 126_920}


@pytest.fixture(scope="module")
def full_matrix(london, transit_engine):
    """Minutes from every study-area LSOA to every counter of the file, and the population weights."""
    points = london.study_demand.points
    matrix = transit_engine.matrix(points, london.stations)
    assert list(matrix.origin_ids) == list(points["point_id"])
    return matrix, points["population"].to_numpy(np.int64)


def _open_mask(london, name):
    from planner.scenario import load_scenario, resolve_counters

    counters, _ = resolve_counters(load_scenario(SCENARIOS / f"{name}.toml"), london.stations)
    return np.isin(london.stations["station_id"].to_numpy(), counters["station_id"].to_numpy()), counters


def _beyond(minutes, population, mask, threshold=45.0):
    """Residents whose nearest open counter is more than ``threshold`` minutes away (or unreachable)."""
    nearest = minutes[:, mask].min(axis=1)
    return int(population[~(nearest <= threshold)].sum())


@pytest.mark.parametrize("name", sorted(BEYOND_45))
def test_residents_beyond_45_minutes_in_numpy(name, london, full_matrix):
    """The figures the runs report (pinned in test_scenarios.py::test_three_scenarios_run_on_the_mirror)."""
    matrix, population = full_matrix
    mask, _ = _open_mask(london, name)
    assert _beyond(matrix.minutes, population, mask) == BEYOND_45[name]


def test_most_critical_counters_in_numpy(london, full_matrix):
    """Close each open counter of the November 2017 plan alone: the residents newly beyond 45 minutes."""
    matrix, population = full_matrix
    mask, _ = _open_mask(london, "mopac-final-2017")
    base = _beyond(matrix.minutes, population, mask)
    ids = london.stations["station_id"].to_numpy()
    losing = {}
    for j in np.flatnonzero(mask):
        without = mask.copy()
        without[j] = False
        losing[ids[j]] = _beyond(matrix.minutes, population, without) - base
    top = sorted(losing.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    assert top == [("bromley", 169_681), ("kentish-town", 109_475), ("hayes", 103_511)]
    assert base + losing["bromley"] == 296_601  # the README's "296,601 in all"
    assert min(losing.values()) >= 0 and len(losing) == 34


def test_slower_buses_in_numpy(london):
    """README: with buses at 24 km/h instead of 30 the plan leaves 214,835 beyond 45 minutes (pinned on the grid
    sweep in test_sweep.py::test_grid_sweep_bus_speed)."""
    from planner.travel import make_engine

    engine = make_engine("transit", data=london.paths, params={"bus_speed_kmh": 24.0})
    _, counters = _open_mask(london, "mopac-final-2017")
    points = london.study_demand.points
    minutes = engine.matrix(points, counters).minutes
    population = points["population"].to_numpy(np.int64)
    assert _beyond(minutes, population, np.ones(minutes.shape[1], dtype=bool)) == 214_835


def _max_coverage(cover, population, borough_of, need, k, forbidden=()):
    """The most residents within reach with at most ``k`` counters, every borough keeping one: SciPy HiGHS.

    Variables: y_j (counter j kept, binary) then u_i (LSOA i covered, 0..1).  Maximise sum pop_i u_i subject to
    u_i <= sum of y_j over the counters reaching i, sum y_j <= k, and sum of y_j over each borough >= 1.
    """
    from scipy import sparse
    from scipy.optimize import Bounds, LinearConstraint, milp

    n, m = cover.shape
    reach = sparse.csr_matrix(cover.astype(float))
    zeros = sparse.csr_matrix
    in_borough = np.array([[borough_of[j] == b for j in range(m)] for b in need], dtype=float)
    constraints = [
        LinearConstraint(sparse.hstack([-reach, sparse.eye(n)]), -np.inf, 0),
        LinearConstraint(sparse.hstack([zeros(np.ones((1, m))), zeros((1, n))]), -np.inf, k),
        LinearConstraint(sparse.hstack([zeros(in_borough), zeros((len(need), n))]), 1, np.inf),
    ]
    upper = np.ones(m + n)
    upper[list(forbidden)] = 0
    result = milp(
        np.concatenate([np.zeros(m), -population.astype(float)]),
        constraints=constraints,
        integrality=np.concatenate([np.ones(m), np.zeros(n)]),
        bounds=Bounds(0, upper),
    )
    assert result.status == 0, result.message
    kept = result.x[:m] > 0.5
    return kept, int(population[cover[:, kept].any(axis=1)].sum())


def test_optimum_with_34_counters_by_scipy_highs(london, full_matrix):
    """`planner optimise`'s 99.73 % (and 99.63 % without Addington), solved again outside PuLP and CBC."""
    from planner.context import counter_boroughs
    from planner.optimise import choose_counters

    matrix, population = full_matrix
    stations = london.stations
    borough = counter_boroughs(stations, london.wards)
    borough.index = stations["station_id"].to_numpy()
    need = sorted(london.study_wards["borough_code"].unique())
    cover = matrix.minutes <= 45
    ids = list(stations["station_id"])
    kept, covered = _max_coverage(cover, population, borough.to_numpy(), need, 34)
    total = int(population.sum())
    assert int(kept.sum()) == 34 and set(borough[kept]) == set(need)
    assert f"{100 * covered / total:.2f}" == "99.73"
    # the plan itself, and every counter open (an upper bound no choice of 34 can pass)
    plan, _ = _open_mask(london, "mopac-final-2017")
    assert f"{100 * (total - _beyond(matrix.minutes, population, plan)) / total:.2f}" == "98.58"
    assert covered <= int(population[cover.any(axis=1)].sum())
    # planner's own model (PuLP, CBC) reaches the same optimum
    points = london.study_demand.points
    assert choose_counters(matrix, points, borough, threshold=45, k=34, boroughs=need).covered == covered
    _, without_addington = _max_coverage(
        cover, population, borough.to_numpy(), need, 34, forbidden=[ids.index("addington")]
    )
    assert f"{100 * without_addington / total:.2f}" == "99.63"


def test_feasible_hub_range_from_ward_counts(london):
    """141-149 hubs: a borough of n wards in hubs of 4-5 takes between ceil(n/5) and floor(n/4) hubs.

    Those are the counting bounds; contiguity can only narrow them (a borough whose wards cannot be cut into
    connected groups at some count).  Plans at both ends whose hubs are each rook-connected (libpysal) show it
    does not narrow them in London, so 141-149 is the feasible range and 150 is out of reach.
    """
    from planner.hubs import hub_problem, solve_hubs

    wards = london.study_wards
    counts = wards.groupby("borough_code").size()
    assert len(counts) == 32 and counts.sum() == 629
    low = {b: math.ceil(n / 5) for b, n in counts.items()}
    high = {b: n // 4 for b, n in counts.items()}
    assert all(low[b] <= high[b] for b in counts.index)  # every borough's ward count is a sum of 4s and 5s
    assert (sum(low.values()), sum(high.values())) == (141, 149)
    import networkx as nx
    from libpysal.weights import Rook

    # contiguity by libpysal's rook rule (a shared edge; a shared corner is not enough), not planner's adjacency
    rook = Rook.from_dataframe(wards, ids=wards["ward_code"].tolist(), use_index=False, silence_warnings=True)
    touching = nx.Graph((a, b) for a, near in rook.neighbors.items() for b in near)
    problem = hub_problem(wards, london.study_demand)  # as plan_hubs builds it
    for target in ("141", "149"):
        plan = solve_hubs(problem, hubs=target)
        assert plan.n_hubs == int(target) and plan.feasible_range == (141, 149)
        per_borough = plan.assignment.groupby("borough_code")["hub_id"].nunique()
        assert per_borough.to_dict() == (low if target == "141" else high)
        for hub_id, members in plan.assignment.groupby("hub_id")["ward_code"]:
            assert 4 <= len(members) <= 5, hub_id
            assert nx.is_connected(touching.subgraph(members.tolist())), hub_id
