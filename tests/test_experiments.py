"""Table bookkeeping of ddlib.experiments behind the chapter 4 claims: properties over random tables."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ddlib.experiments import best_within_budget, cheaper_dd_matches, cheapest_dd_within, class_best

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
