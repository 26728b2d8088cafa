"""The regime map's bookkeeping: axes, budgets, the cheapest match, the span split and the binding limit."""
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ddlib.attention import GlobalAttention, DDAttention
from ddlib.data import make_dataset
from ddlib.decomposition import Decomposition
from ddlib.models import DDSpec, GlobalSpec
from ddlib.problem import eigenvalues, eigenvectors, inverse
from ddlib.regimes import (REGIME_KEYS, Regime, RegimeResult, binding_limit, budget_rows, cheapest_match,
                           mechanism, oracle_error, regime_axes, regime_specs, run_regime, span_split)
from ddlib.training import TrainConfig

FAST = settings(max_examples=40, deadline=None)


def test_axes_vary_one_thing_at_a_time_and_list_each_regime_once():
    base = Regime(255, 8, 16, 64, "fourier")
    regs = regime_axes(base, n_values=[255, 1023], H_over_h=32, samples_values=[16, 64, 256], K_values=[32],
                       data_values=["noise"], N_values=[16], slice_samples=[16, 256], slice_data=["noise"])
    assert regs[0] == base
    keys = [replace(r, axis="base") for r in regs]
    assert len(keys) == len(set(keys))                                   # no regime twice
    for r in regs[1:]:
        changed = {k for k in ("n", "N", "K", "samples", "data") if getattr(r, k) != getattr(base, k)}
        expected = {"n_fixed_N": {"n"}, "n_fixed_H": {"n", "N"}, "samples": {"samples"}, "K": {"K"},
                    "data": {"data"}, "N": {"N"}, "slice": {"samples", "data"}}[r.axis]
        assert changed == expected or (r.axis == "slice" and changed <= expected and changed), (r, changed)
    fixed_H = [r for r in regs if r.axis == "n_fixed_H"]
    assert [r.m for r in fixed_H] == [32]                                # n = 1023, N = 32
    with pytest.raises(ValueError, match="N must divide"):
        Regime(255, 7)
    with pytest.raises(ValueError, match="data"):
        Regime(data="images")


def test_regime_specs_hold_both_classes_and_the_two_ablations():
    specs = regime_specs(Regime(63, 4, 8, 16), global_ranks=[2, 8, 100], local_ranks=[1, 4, 40], mechanism_rank=2)
    assert [s.rank for s in specs if isinstance(s, GlobalSpec)] == [2, 8]            # rank 100 > n dropped
    dd = [s for s in specs if isinstance(s, DDSpec)]
    assert [s.local_rank for s in dd if s.use_local and s.use_coarse] == [1, 4]     # 40 > m + 2 delta dropped
    assert sum(not s.use_local for s in dd) == 1 and sum(not s.use_coarse for s in dd) == 1


class _Sel:
    def __init__(self, spec):
        self.spec, self.label = spec, spec.label


def _result(rows):
    """A RegimeResult from rows (spec, params, mean, min, max) of one metric 'err'."""
    specs = [r[0] for r in rows]
    table = {"label": np.array([s.label for s in specs]), "family": np.array([s.family for s in specs]),
             "params": np.array([r[1] for r in rows]), "seeds": np.full(len(rows), 3),
             "err_mean": np.array([r[2] for r in rows]), "err_min": np.array([r[3] for r in rows]),
             "err_max": np.array([r[4] for r in rows])}
    return RegimeResult(Regime(), [_Sel(s) for s in specs], table)


@st.composite
def results(draw):
    k = draw(st.integers(1, 5))
    rows = []
    for i in range(k):
        e = draw(st.floats(1e-4, 1.0))
        rows.append((GlobalSpec(i + 1), draw(st.integers(10, 5000)), e, e * 0.9, e * 1.1))
    for i in range(draw(st.integers(1, 5))):
        e = draw(st.floats(1e-4, 1.0))
        rows.append((DDSpec(8, 1, i + 1), draw(st.integers(10, 5000)), e, e * draw(st.floats(0.5, 1.0)),
                     e * draw(st.floats(1.0, 2.0))))
    rows.append((DDSpec(8, 1, 1, use_local=False), 5, 1e-9, 1e-9, 1e-9))   # an ablation: never a class's best
    return _result(rows)


@FAST
@given(res=results(), budget=st.integers(5, 6000))
def test_budget_rows_pick_the_best_affordable_model_of_each_class(res, budget):
    (row,) = budget_rows(res, [budget], ["err"])
    assert {k: row[k] for k in REGIME_KEYS} == res.regime.record()
    t = res.table
    for fam in ("global", "dd"):
        ok = (t["family"] == fam) & (t["params"] <= budget) & (t["label"] != "DD N=8 δ=1 r=1 use_local=False")
        if ok.any():
            assert row[f"best_{fam}"] == t["err_mean"][ok].min() and row[f"best_{fam}_params"] <= budget
        else:
            assert np.isnan(row[f"best_{fam}"]) and row[f"best_{fam}_label"] == ""
    if not (np.isnan(row["best_global"]) or np.isnan(row["best_dd"])):
        assert row["winner"] == ("dd" if row["best_dd"] < row["best_global"] else "global")
        disjoint = row["best_dd_max"] < row["best_global_min"] or row["best_global_max"] < row["best_dd_min"]
        assert row["separated"] == disjoint


def test_cheapest_match_example():
    res = _result([(GlobalSpec(4), 1000, 0.1, 0.1, 0.1), (GlobalSpec(8), 2000, 0.05, 0.05, 0.05),
                   (DDSpec(8, 1, 1), 300, 0.04, 0.04, 0.04), (DDSpec(8, 1, 2), 600, 0.01, 0.01, 0.01),
                   (DDSpec(8, 1, 1, use_coarse=False), 100, 0.0, 0.0, 0.0)])
    m = cheapest_match(res, "err")
    assert m["global_label"] == "global r=8" and m["dd_label"] == "DD N=8 δ=1 r=1" and m["ratio"] == 2000 / 300
    res = _result([(GlobalSpec(4), 1000, 0.001, 0.001, 0.001), (DDSpec(8, 1, 1), 300, 0.04, 0.04, 0.04)])
    m = cheapest_match(res, "err")
    assert m["dd_label"] == "" and np.isnan(m["ratio"])


def test_span_split_of_the_eckart_young_operator_on_its_band():
    """The rank-K truncated SVD of A^{-1} is exact on span(v_1..v_K) and misses 1/lambda_{K+1} off it."""
    n, K = 63, 6
    model = GlobalAttention(n, K, init="svd")
    f = make_dataset("train", n, 20, K, 0).f
    split = span_split(model, f)
    lam = eigenvalues(n)
    assert split["dim"] == K
    assert split["on_span"] < 1e-12
    assert split["off_span"] == pytest.approx(lam[0] / lam[K], rel=1e-6)


@pytest.mark.parametrize("samples", [5, 40, 80])
def test_span_split_matches_a_dense_computation(samples):
    n = 31
    model = DDAttention(Decomposition(n, 4, 1), 2, seed=1, init_scale=0.5)
    f = np.random.default_rng(samples).standard_normal((samples, n))
    split = span_split(model, f)
    E = model.dense().numpy() - inverse(n)
    U, s, _ = np.linalg.svd(f.T, full_matrices=False)
    V = U[:, : min(samples, n)]
    lam1 = eigenvalues(n, [1])[0]
    assert split["dim"] == min(samples, n)
    assert split["on_span"] == pytest.approx(np.linalg.norm(E @ V, 2) * lam1, rel=1e-10)
    off = np.linalg.norm(E - (E @ V) @ V.T, 2) * lam1 if samples < n else 0.0
    assert split["off_span"] == pytest.approx(off, rel=1e-6, abs=1e-12)


def test_binding_limit_and_oracles():
    assert binding_limit(0.011, 0.01, 0.01, 0.0) == "expressiveness"
    assert binding_limit(0.5, 0.01, 0.01, 0.5) == "data"
    assert binding_limit(0.5, 0.01, 0.4, 0.5) == "optimisation"
    assert binding_limit(0.5, float("nan"), 0.4, 0.5) == "optimisation"
    lam = eigenvalues(255)
    assert oracle_error(GlobalSpec(16), 255) == pytest.approx(lam[0] / lam[16])
    assert np.isnan(oracle_error(DDSpec(8, 1, 2, use_local=False), 255))
    assert oracle_error(DDSpec(8, 1, 31), 255) < 1e-12          # full local rank m - 1: the exact decomposition


def test_mechanism_and_budget_rows_on_a_small_real_regime():
    regime = Regime(31, 4, 4, 16, "fourier")
    base = TrainConfig(model=GlobalSpec(1), n=31, K=4, validation_samples=8, test_samples=8, epochs=30, eval_points=3)
    specs = regime_specs(regime, [2, 4], [1, 2], 2)
    res = run_regime(regime, base, specs, {"lr": [1e-2, 3e-2], "init_scale": [0.01]}, [0, 1], workers=1)
    mech = mechanism(res, base)
    assert mech["component"] in ("coarse level", "local blocks", "both levels")
    assert mech["data_dim"] == 4 and mech["dd_limit"] in ("expressiveness", "data", "optimisation")
    assert mech["dd_error"] == min(res.table["operator_error_mean"][i] for i, s in enumerate(res.selections)
                                   if isinstance(s.spec, DDSpec) and s.spec.use_local and s.spec.use_coarse)
    rows = budget_rows(res, [100, 1000], ["operator_error", "error_in_band"])
    assert len(rows) == 4 and all(r["seeds"] == 2 for r in rows)


def test_claims_faster_intervals_and_edges():
    from ddlib.claims import faster, grid_edges, intervals

    assert intervals([1, 2, 3, 4, 5], [True, True, False, True, False]) == [(1.0, 2.0), (4.0, 4.0)]
    assert intervals([1, 2], [False, False]) == []
    t = np.array([1e-1, 1e-2, 1e-3, 1e-4])
    g = {"targets": t, "epochs_mean": np.array([10.0, 100.0, 400.0, np.nan])}
    d = {"targets": t, "epochs_mean": np.array([20.0, 50.0, np.nan, np.nan])}
    f = faster(g, d)
    assert list(f["ratio"][:3]) == [0.5, 2.0, 0.0] and np.isnan(f["ratio"][3])
    assert f["holds"] == [(1e-2, 1e-2)] and f["fails"] == [(1e-1, 1e-1), (1e-3, 1e-3)]
    d2 = {"targets": t, "epochs_mean": np.array([5.0, 50.0, 100.0, 300.0])}
    assert faster(g, d2)["holds"] == [(1e-1, 1e-4)]            # only DD reaches 1e-4: it is faster there
    with pytest.raises(ValueError, match="share"):
        faster(g, {"targets": t[:2], "epochs_mean": np.ones(2)})

    class S:
        chosen = {"lr": 0.1, "init_scale": 0.01, "schedule": "cosine"}
        grid = [{"lr": lr, "init_scale": s, "schedule": "cosine", "error_validation": e}
                for lr, s, e in ((0.01, 0.001, 9.0), (0.01, 0.01, 5.0), (0.01, 0.1, 9.0),
                                 (0.1, 0.001, 1.1), (0.1, 0.01, 1.0), (0.1, 0.1, 1.05))]
    grid = {"lr": [0.01, 0.1], "init_scale": [0.001, 0.01, 0.1], "schedule": ["cosine"]}
    assert grid_edges(S(), grid) == ["lr=max"]        # 0.01 is five times worse: the error still falls towards 0.1
    S.grid[1]["error_validation"] = 1.1
    assert grid_edges(S(), grid) == []                # a flat direction at the edge is not reported


def test_claim_map_sorts_verdict_records_by_claim():
    from ddlib.regimes import claim_map

    regs = [Regime(), Regime(samples=16, axis="samples")]

    def rec(reg, claim, metric, holds, separated=None):
        return {**reg.record(), "claim": claim, "metric": metric, "holds": holds, "separated": separated}

    records = [rec(regs[0], "trains faster (epochs)", "error_in_band", True),
               rec(regs[1], "trains faster (epochs)", "error_in_band", False),
               rec(regs[0], "more accurate", "operator_error", True, True),
               rec(regs[1], "more accurate", "operator_error", True, False),
               rec(regs[0], "fewer parameters", "operator_error", True),
               rec(regs[1], "fewer parameters", "operator_error", False)]
    cm = claim_map(records, regs)
    assert cm["faster"]["epochs"] == {"holds": ["the base regime"], "fails": ["S = 16"], "unclear": []}
    assert cm["accurate"]["operator_error"] == {"holds": ["the base regime"], "fails": [], "unclear": ["S = 16"]}
    assert cm["fewer"]["operator_error"] == {"holds": ["the base regime"], "fails": ["S = 16"], "unclear": []}


def test_regime_map_and_slice_figures_plot_the_rows():
    import matplotlib
    matplotlib.use("Agg")
    from ddlib.plotting.generalisation import regime_map_figure, slice_figure

    base = Regime()
    regs = [base, Regime(n=1023, axis="n_fixed_N"), Regime(samples=16, axis="slice", data="noise"),
            Regime(samples=64, axis="data", data="noise")]
    rows = []
    for k, reg in enumerate(regs):
        for f in (8, 128):
            for metric in ("error_in_band", "operator_error"):
                g, d = 0.1 * (k + 1) * f, 0.01 * (k + 1) * f
                rows.append({**reg.record(), "params_budget": f * reg.n, "metric": metric, "best_global": g,
                             "best_global_min": g, "best_global_max": g, "best_dd": d, "best_dd_min": d,
                             "best_dd_max": d})
    fig = regime_map_figure(rows, "error_in_band", base.record())
    ax = fig.axes[0]                                      # n axis (fixed N), first budget: global then DD
    ys = [list(line.get_ydata()) for line in ax.get_lines() if len(line.get_ydata())]
    assert [0.8, 1.6] in ys and [0.08, 0.16] in ys       # base (k = 0) and n = 1023 (k = 1) at budget 8n
    xs = [list(line.get_xdata()) for line in ax.get_lines() if len(line.get_xdata())]
    assert [base.n, 1023] in xs                           # a numeric axis at its values (log scale)
    data_panel = fig.axes[1]                              # the data kind: categorical, points only
    assert [t.get_text() for t in data_panel.get_xticklabels()] == ["fourier", "noise"]
    assert all(line.get_linestyle() == "None" for line in data_panel.get_lines() if len(line.get_xdata()) > 1)
    fig2 = slice_figure(rows, ("operator_error",))
    Z = fig2.axes[0].get_images()[0].get_array()
    assert np.isclose(np.nanmax(Z), 1.0)                  # log10(global / DD) = log10(10)
