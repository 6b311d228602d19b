"""The exact p-median solver (planner.pmedian): a toy solved by hand, brute force, and refused inputs."""

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.errors import InfeasibleError
from planner.pmedian import solve_pmedian

# Four clients on a line at 0, 1, 10 and 11 km with 3, 1, 1 and 2 residents; a candidate site at each client.
# A client's cost to a site is residents x distance.
POSITIONS = {"a": 0, "b": 1, "c": 10, "d": 11}
WEIGHTS = {"a": 3, "b": 1, "c": 1, "d": 2}
SITES = {"s0": 0, "s1": 1, "s10": 10, "s11": 11}


def line_costs() -> pd.DataFrame:
    return pd.DataFrame(
        {s: [WEIGHTS[c] * abs(x - POSITIONS[c]) for c in POSITIONS] for s, x in SITES.items()},
        index=list(POSITIONS),
        dtype=float,
    )


@pytest.mark.parametrize(
    ("p", "chosen", "objective", "assignment"),
    [
        # one site: s0 costs 1 + 10 + 22 = 33, s1 costs 3 + 9 + 20 = 32, s10 costs 30 + 9 + 2 = 41, s11 44
        (1, ["s1"], 32, {"a": "s1", "b": "s1", "c": "s1", "d": "s1"}),
        # two sites: one per pair; s0 (b pays 1, not a 3) and s11 (c pays 1, not d 2)
        (2, ["s0", "s11"], 2, {"a": "s0", "b": "s0", "c": "s11", "d": "s11"}),
        # three sites: the cheapest client left without its own site is b or c (1 each); ties go to either
        (3, None, 1, None),
        (4, ["s0", "s1", "s10", "s11"], 0, {"a": "s0", "b": "s1", "c": "s10", "d": "s11"}),
    ],
)
@pytest.mark.parametrize("k", [1, 12])
def test_line_solved_by_hand(p, chosen, objective, assignment, k):
    # k = 1 starts from each client's nearest site only, so the solver must widen and solve again.  HiGHS runs in
    # the process, CBC (the default) as a program per solve, which is slow on a loaded machine: CBC is used once below
    result = solve_pmedian(line_costs(), p, k=k, solver="highs")
    assert result.objective == objective
    assert len(result.open) == p and result.open == sorted(result.open)
    if chosen is not None:
        assert result.open == chosen
        assert result.assignment.to_dict() == assignment
    assert set(result.assignment) <= set(result.open)
    assert result.bound <= result.objective + 1e-9
    assert result.rounds >= 1


def test_first_round_too_shallow_takes_another_round():
    # with k = 1 every client sees only its own site; for p = 1 three clients must look further
    assert solve_pmedian(line_costs(), 1, k=1, solver="highs").rounds > 1


def test_default_solver_cbc():
    result = solve_pmedian(line_costs(), 2)
    assert (result.open, result.objective) == (["s0", "s11"], 2)


@pytest.mark.parametrize("p", [0, -1, 5])
def test_impossible_p_is_refused(p):
    with pytest.raises(InfeasibleError, match=rf"p = {p} facilities cannot be chosen from 4 candidates"):
        solve_pmedian(line_costs(), p)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_missing_or_infinite_costs_are_refused(bad):
    costs = line_costs()
    costs.loc["c", "s0"] = bad
    with pytest.raises(InfeasibleError, match="missing or infinite entries"):
        solve_pmedian(costs, 2)


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(1, 7),
    m=st.integers(1, 5),
    data=st.data(),
)
def test_equals_brute_force(seed, n, m, data):
    """The optimum over every choice of p sites, by enumeration."""
    p = data.draw(st.integers(1, m))
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 50, size=(n, m)).astype(float)
    costs = pd.DataFrame(values, index=[f"c{i}" for i in range(n)], columns=[f"s{j}" for j in range(m)])
    best = min(values[:, list(combo)].min(axis=1).sum() for combo in itertools.combinations(range(m), p))
    result = solve_pmedian(costs, p, k=data.draw(st.integers(1, 3)), solver="highs")
    assert result.objective == best
    # the reported assignment is each client's nearest open site and adds up to the objective
    cols = [costs.columns.get_loc(s) for s in result.assignment]
    assert values[np.arange(n), cols].sum() == best
    assert (values[np.arange(n), cols] == costs[result.open].to_numpy().min(axis=1)).all()
