"""ddlib.experiments behind the chapter 4 claims: table bookkeeping (properties over random tables), the oracles of a\nspec, the cost of one application, and step timing through the one trainer."""
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ddlib import experiments
from ddlib.approximation import dd_best_error, floor
from ddlib.experiments import (best_within_budget, cheaper_dd_matches, cheapest_dd_beating_global, cheapest_dd_within,
                               class_best, learned_operators, multiply_adds, oracle_error, representation_checks,
                               Selection, step_time)
from ddlib.attention import DDAttention, operator_error, schwarz_init
from ddlib.models import DDSpec, GlobalSpec
from ddlib.problem import Problem
from ddlib.training import TrainConfig

FAST = settings(max_examples=60, deadline=None)


@st.composite
def tables(draw):
    k = draw(st.integers(2, 12))
    kinds = draw(st.lists(st.sampled_from(["global", "dd"]), min_size=k, max_size=k))
    kinds[0], kinds[1] = "global", "dd"
    params = draw(st.lists(st.integers(10, 10_000), min_size=k, max_size=k))
    err = draw(st.lists(st.floats(1e-6, 10.0), min_size=k, max_size=k))
    return {"family": np.array(kinds), "label": np.array([f"m{i}" for i in range(k)]),
            "params": np.array(params), "err": np.array(err)}


@FAST
@given(t=tables())
def test_class_best_is_the_minimum_of_its_class(t):
    for kind in ("global", "dd"):
        b = class_best(t, kind, "err")
        sel = t["family"] == kind
        assert t["family"][b["index"]] == kind and b["value"] == t["err"][sel].min()
        assert b["label"] == t["label"][b["index"]] and b["params"] == t["params"][b["index"]]


@FAST
@given(t=tables())
def test_cheaper_matches_are_cheaper_as_accurate_and_cheapest(t):
    for m in cheaper_dd_matches(t, "err"):
        j, d = m["global"], m["dd"]
        ok = (t["family"] == "dd") & (t["err"] <= t["err"][j]) & (t["params"] < t["params"][j])
        if d is None:
            assert not ok.any() and np.isnan(m["ratio"])
        else:
            assert ok[d] and t["params"][d] == t["params"][ok].min()
            assert m["ratio"] == pytest.approx(t["params"][j] / t["params"][d]) and m["ratio"] > 1


def test_cheapest_within_small_example_and_bad_kind():
    t = {"family": np.array(["global", "dd", "dd", "dd"]), "label": np.array(list("abcd")),
         "params": np.array([100, 50, 20, 30]), "err": np.array([0.1, 0.05, 0.2, 0.1])}
    assert cheapest_dd_within(t, "err", 0.1) == 3        # c is cheaper but less accurate
    assert cheapest_dd_within(t, "err", 0.01) is None
    assert cheapest_dd_within(t, "err", 0.1, max_params=30) is None
    with pytest.raises(ValueError, match="family"):
        class_best(t, "banded", "err")


@FAST
@given(t=tables(), budget=st.integers(1, 12_000))
def test_best_within_budget_is_the_best_affordable_model_of_its_class(t, budget):
    for fam in ("global", "dd"):
        b = best_within_budget(t, fam, "err", budget)
        ok = (t["family"] == fam) & (t["params"] <= budget)
        if not ok.any():
            assert b is None
        else:
            assert ok[b["index"]] and b["value"] == t["err"][ok].min() and b["params"] <= budget


# ------------------------------------------------------------------------------------------------ oracles, costs
P255 = Problem(255)


def test_oracle_error_is_eckart_young_and_the_closed_form_schwarz_oracle_in_1d():
    lam = P255.eigenvalues()
    assert oracle_error(GlobalSpec(16), P255) == pytest.approx(lam[0] / lam[16], rel=1e-12)
    for r in (1, 2, 4, 16):                                   # fact 4: lambda_1 h^2 / (4 sin^2((r+1) pi / (2 H/h)))
        assert oracle_error(DDSpec(8, 1, r), P255) == pytest.approx(dd_best_error(255, 8, [r])[0], rel=1e-8)
    assert oracle_error(DDSpec(8, 2, 31), P255) < 1e-12      # full local rank H/h - 1: the exact decomposition
    assert np.isnan(oracle_error(DDSpec(8, 1, 2, use_local=False), P255))
    assert np.isnan(oracle_error(DDSpec(8, 1, 2, use_coarse=False), P255))


@pytest.mark.parametrize("shape, N", [((15, 15), 4), ((7, 7, 7), 2)])
def test_oracle_error_in_2d_and_3d_is_a_dd_operator_above_the_structural_lower_bound(shape, N):
    P = Problem(shape)
    bound = floor(P, N, 1)["floor_two_norm_lower"]            # no operator of the DD structure does better
    errors = [oracle_error(DDSpec(N, 1, r), P) for r in (1, 4)]
    assert all(bound * (1 - 1e-9) <= e < 1 for e in errors)


def test_cheapest_dd_beating_global_is_the_cheapest_closed_form_winner():
    P = Problem(63)
    specs = [DDSpec(N, 1, r) for N in (4, 8) for r in range(1, 7)]
    bound = P.eigenvalues()[0] / P.eigenvalues()[8]             # global rank 8
    ok = [s for s in specs if dd_best_error(63, s.N, [s.local_rank])[0] <= bound]
    best = cheapest_dd_beating_global(P, 8, specs)
    assert best in ok and best.parameter_count(P) == min(s.parameter_count(P) for s in ok)
    with pytest.raises(ValueError, match="no DD spec"):
        cheapest_dd_beating_global(P, 60, specs[:1])


def test_multiply_adds_count_factors_and_the_coarse_transfer():
    # 7 hats of N = 8 on n = 255, each on the 2 (H/h) - 1 = 63 nodes strictly inside its two elements: nnz = 441
    assert multiply_adds(DDSpec(8, 1, 4), P255) == DDSpec(8, 1, 4).parameter_count(P255) + 2 * 441
    assert multiply_adds(DDSpec(8, 1, 4, use_coarse=False), P255) == 2 * 4 * (255 + 2 * 7)
    assert multiply_adds(GlobalSpec(4), P255) == 2 * 255 * 4


def test_step_time_steps_through_the_one_trainer(monkeypatch):
    calls = []
    real = experiments.training_step

    def counting(config, *args):
        calls.append(config)
        return real(config, *args)

    monkeypatch.setattr(experiments, "training_step", counting)
    configs = [TrainConfig(model=s, n=49, dim=2, K=2, samples=6, **kw) for s, kw in
               ((GlobalSpec(3), {}), (DDSpec(2, 1, 2), dict(loss="energy", solver_steps=2, optimizer="gd")))]
    t = step_time(configs, steps=3, repeats=2)
    assert set(t) == {c.label for c in configs} and all(0 < v < 10 for v in t.values())
    assert [c.label for c in calls] == [c.label for _ in range(3) for c in configs for _ in range(3)]
    with pytest.raises(ValueError, match="configs must be"):
        step_time([GlobalSpec(3)])


def test_learned_operators_of_the_classical_model_have_the_classical_blocks():
    """learned_operators reads the first seed's models: for a DD model that *is* the subdomain initialisation, the
    local block equals its classical counterpart to rounding and the dense matrices are the models' own."""
    P = Problem(63)
    spec = DDSpec(4, 1, 1)
    dd = schwarz_init(DDAttention(spec.structure(P), spec.structure(P).decomposition.n_max), "subdomain")
    g = GlobalSpec(2).build(P, seed=0)
    sel = lambda s, m: Selection(s, {}, [], [SimpleNamespace(model=m)])  # noqa: E731
    lo = learned_operators(sel(spec, dd), sel(GlobalSpec(2), g))
    assert lo["block_index"] == 2 and lo["block_err"] < 1e-12
    assert np.allclose(lo["dd"], dd.dense().numpy()) and np.allclose(lo["global"], g.dense().numpy())
    assert lo["operator_error_global"] == pytest.approx(operator_error(g.dense().numpy(), P))
    c = representation_checks(P, [2, 4], 2)
    assert c["exact"] < 1e-10 and c["classical"] < 1e-10
