"""The regime map in 1D and 2D: axes, budgets, the cheapest match, the span split, the binding limit, and the verdict
records (the same keys in every dimension, computed from the runs, not typed)."""
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ddlib.ablations import ABLATION_FACTOR, ablation_specs
from ddlib.attention import GlobalAttention, eckart_young_init
from ddlib.claims import CLAIMS, LEARNED_FRACTION, VERDICT_KEYS, error_level, list_text
from ddlib.decomposition import Decomposition
from ddlib.experiments import Selection, class_best, oracle_error, summary_table
from ddlib.models import DDSpec, GlobalSpec
from ddlib.problem import Problem
from ddlib.regimes import (REGIME_KEYS, Regime, RegimeResult, binding_limit, budget_rows, cheapest_match, claim_map,
                           claim_verdicts, in_distribution_metric, majority_text, mechanism, regime_axes, regime_specs,
                           report_beyond, run_regime, span_split, speed_row, tally_verdicts)
from ddlib.training import HISTORY_KEYS, TrainConfig, TrainResult, time_to_target

FAST = settings(max_examples=40, deadline=None)
DIMS = [1, 2]
#: A small regime per dimension: 1D n = 63, 2D m = 15 (n = 225), N = 4 boxes per direction of H/h = 16 and 4.
SMALL = {1: dict(n=63, N=4, K=8, samples=16), 2: dict(n=15 * 15, N=4, K=3, samples=12)}


# ------------------------------------------------------------------------------------------------ regimes
@pytest.mark.parametrize("dim", DIMS)
def test_axes_vary_one_thing_at_a_time_and_list_each_regime_once(dim):
    m = 63 if dim == 1 else 31
    base = Regime(m**dim, 8, 4, 64, "fourier", dim=dim)
    H = (m + 1) // 8                                                     # the base's H/h: n = m^dim adds nothing
    regs = regime_axes(base, n_values=[m**dim, 127**dim], H_over_h=H, samples_values=[16, 64, 256], K_values=[8],
                       data_values=["noise"], N_values=[4], slice_samples=[16, 256], slice_data=["noise"])
    assert regs[0] == base
    keys = [replace(r, axis="base") for r in regs]
    assert len(keys) == len(set(keys))                                   # no regime twice
    for r in regs[1:]:
        changed = {k for k in ("n", "N", "K", "samples", "data") if getattr(r, k) != getattr(base, k)}
        expected = {"n_fixed_N": {"n"}, "n_fixed_H": {"n", "N"}, "samples": {"samples"}, "K": {"K"},
                    "data": {"data"}, "N": {"N"}, "slice": {"samples", "data"}}[r.axis]
        assert changed == expected or (r.axis == "slice" and changed <= expected and changed), (r, changed)
    fixed_H = [r for r in regs if r.axis == "n_fixed_H"]
    assert [(r.side, r.N, r.box) for r in fixed_H] == [(127, 128 // H, H)]
    assert all(r.dim == dim and tuple(r.record()) == REGIME_KEYS for r in regs)


@pytest.mark.parametrize("dim", DIMS)
def test_a_regime_configures_the_run_of_its_dimension(dim):
    r = Regime(**SMALL[dim], data="noise", dim=dim)
    cfg = r.config(TrainConfig(model=GlobalSpec(1), n=31, K=4))
    assert (cfg.n, cfg.dim, cfg.K, cfg.samples, cfg.data) == (r.n, dim, r.K, r.samples, "noise")
    assert cfg.problem.shape == r.problem.shape == (r.side,) * dim and r.box == (r.side + 1) // r.N


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=960, dim=2), "n must be m\\*\\*2"), (dict(N=5, dim=2), "N must divide the m \\+ 1 = 32"),
    (dict(K=16, dim=2), "K must be an integer in \\[1, 15\\]"),
    (dict(delta=8, dim=2), "delta must be an integer in \\[0, 7\\]"),
    (dict(n=255, N=7), "N must divide the m \\+ 1 = 256"), (dict(data="images"), "data must be one of"),
    (dict(dim=4), "dim must be"),
])
def test_bad_regimes_name_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Regime(**{"n": 961, "N": 4, "K": 4, **kwargs})


@pytest.mark.parametrize("dim", DIMS)
def test_regime_specs_hold_both_classes_and_the_two_ablations(dim):
    r = Regime(**SMALL[dim], dim=dim)
    L = (r.box + 2 * r.delta) ** dim                                    # the largest box: interior, overlap both sides
    assert Decomposition(r.problem, r.N, r.delta).n_max == L
    specs = regime_specs(r, global_ranks=[2, 8, r.n + 1], local_ranks=[1, L, L + 1], mechanism_rank=2,
                         partition="ramp")
    assert [s.rank for s in specs if isinstance(s, GlobalSpec)] == [2, 8]            # rank n + 1 dropped
    dd = [s for s in specs if isinstance(s, DDSpec)]
    assert [s.local_rank for s in dd if s.use_local and s.use_coarse] == [1, L]      # L + 1 dropped
    assert sum(not s.use_local for s in dd) == 1 and sum(not s.use_coarse for s in dd) == 1
    assert {s.partition for s in dd} == {"ramp"}
    assert regime_specs(r, [4], [1], None) == [GlobalSpec(4), DDSpec(r.N, r.delta, 1)]


# ------------------------------------------------------------------------------------------------ budgets, matches
class _Sel:
    def __init__(self, spec):
        self.spec, self.label, self.family = spec, spec.label, spec.family


def _result(rows, regime=None):
    """A RegimeResult from rows (spec, params, mean, min, max) of one metric 'err'."""
    specs = [r[0] for r in rows]
    table = {"label": np.array([s.label for s in specs]), "family": np.array([s.family for s in specs]),
             "params": np.array([r[1] for r in rows]), "seeds": np.full(len(rows), 3),
             "err_mean": np.array([r[2] for r in rows]), "err_min": np.array([r[3] for r in rows]),
             "err_max": np.array([r[4] for r in rows])}
    return RegimeResult(regime or Regime(), [_Sel(s) for s in specs], table)


@st.composite
def tables(draw):
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
@given(res=tables(), budget=st.integers(5, 6000))
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
    assert m["dd_label"] == "" and np.isnan(m["ratio"]) and not m["holds"]


# ------------------------------------------------------------------------------------------------ span, limits
def _lowest_modes(problem, r):
    """The r modes of the smallest eigenvalues (stable order), with the (r+1)-th eigenvalue strictly larger."""
    k = np.indices(problem.shape).reshape(problem.dim, -1).T + 1
    lam = problem.eigenvalues(k)
    order = np.argsort(lam, kind="stable")
    assert lam[order[r]] > lam[order[r - 1]] * (1 + 1e-9)
    return k[order[:r]], lam[order]


@pytest.mark.parametrize("dim", DIMS)
def test_span_split_of_the_eckart_young_operator_on_its_modes(dim):
    """The rank-r truncated eigendecomposition of A^{-1} is exact on the span of its r modes and misses
    lambda_1/lambda_{r+1} off it."""
    P = Problem((31,) if dim == 1 else (9, 9))
    r = 3                                            # 1D: modes 1, 2, 3; 2D: (1,1), (1,2), (2,1), then (2,2)
    modes, lam = _lowest_modes(P, r)
    f = np.random.default_rng(0).standard_normal((20, r)) @ P.eigenvectors(modes).T
    split = span_split(eckart_young_init(GlobalAttention(P, r)), f)
    assert split["dim"] == r
    assert split["on_span"] < 1e-12
    assert split["off_span"] == pytest.approx(lam[0] / lam[r], rel=1e-6)


@pytest.mark.parametrize("dim, samples", [(1, 5), (1, 40), (1, 80), (2, 20), (2, 130)])
def test_span_split_matches_a_dense_computation(dim, samples):
    P = Problem((31,) if dim == 1 else (11, 11))
    model = DDSpec(4, 1, 2).build(P, seed=1, init_scale=0.5)
    f = np.random.default_rng(samples).standard_normal((samples, P.n))
    split = span_split(model, f)
    E = model.dense().numpy() - P.inverse()
    V = np.linalg.svd(f.T, full_matrices=False)[0][:, :min(samples, P.n)]
    lam1 = P.eigenvalues()[0]
    assert split["dim"] == min(samples, P.n)
    assert split["on_span"] == pytest.approx(np.linalg.norm(E @ V, 2) * lam1, rel=1e-10)
    off = np.linalg.norm(E - (E @ V) @ V.T, 2) * lam1 if samples < P.n else 0.0
    assert split["off_span"] == pytest.approx(off, rel=1e-6, abs=1e-12)


def test_binding_limit():
    assert binding_limit(0.011, 0.01, 0.01, 0.0) == "expressiveness"
    assert binding_limit(0.5, 0.01, 0.01, 0.5) == "data"
    assert binding_limit(0.5, 0.01, 0.4, 0.5) == "optimisation"
    assert binding_limit(0.5, float("nan"), 0.4, 0.5) == "optimisation"


@pytest.mark.parametrize("dim", DIMS)
def test_mechanism_and_budget_rows_on_a_small_real_regime(dim):
    regime = Regime(**SMALL[dim], data="noise", dim=dim)
    base = TrainConfig(model=GlobalSpec(1), n=31, K=4, validation_samples=6, test_samples=6, epochs=30, eval_points=4)
    specs = regime_specs(regime, [2, 8], [1, 2], 2)
    res = run_regime(regime, base, specs, {"lr": [1e-2, 1e-1], "init_scale": [0.1]}, [0, 1], workers=1)
    assert all(s.runs[0].config.dim == dim and s.runs[0].config.n == regime.n for s in res.selections)
    rows = budget_rows(res, [1000, 10_000], ["operator_error", "error_noise"])
    assert len(rows) == 4 and all(r["seeds"] == 2 and tuple(r)[:len(REGIME_KEYS)] == REGIME_KEYS for r in rows)
    verdicts = claim_verdicts(res)
    assert {v["metric"] for v in verdicts[2:]} == {"error_noise", "operator_error"}
    mech = mechanism(res, base)
    assert mech["component"] in ("coarse level", "local blocks", "both levels")
    assert mech["data_dim"] == regime.samples and mech["global_limit"] in ("expressiveness", "data", "optimisation")
    assert mech["dd_coarse_dim"] == (regime.N - 1) ** dim                  # the hat space: interior coarse nodes
    assert mech["dd_error"] == min(res.table["operator_error_mean"][i] for i, s in enumerate(res.selections)
                                   if s.family == "dd" and s.spec.use_local and s.spec.use_coarse)
    assert set(summary_table(res.selections)["family"]) == {"global", "dd"}


# ------------------------------------------------------------------------------------------------ verdicts
def _run(errors, seconds_per_epoch, params):
    epochs = list(range(len(errors)))
    hist = {k: list(errors) for k in HISTORY_KEYS}
    hist.update(epoch=epochs, seconds=[e * seconds_per_epoch for e in epochs])
    cfg = TrainConfig(model=GlobalSpec(1), n=31, K=4)
    return TrainResult(config=cfg, history=hist, model=None, num_parameters=params)


def _table(sels):
    rows = []
    for s in sels:
        v = np.array([r.history["error_in_band"][-1] for r in s.runs])
        row = {"label": s.label, "family": s.family, "params": s.runs[0].num_parameters, "seeds": len(s.runs)}
        for m in ("error_in_band", "operator_error", "error_noise"):
            row.update({f"{m}_mean": v.mean(), f"{m}_min": v.min(), f"{m}_max": v.max()})
        rows.append(row)
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


@st.composite
def results(draw):
    """Selections whose seeds decay geometrically at drawn rates, with drawn parameter counts, in a 1D or 2D regime."""
    dim = draw(st.sampled_from(DIMS))
    regime = Regime(**SMALL[dim], dim=dim)
    specs = [GlobalSpec(r) for r in range(1, draw(st.integers(1, 3)) + 1)]
    specs += [DDSpec(4, 1, r) for r in range(1, draw(st.integers(1, 3)) + 1)]
    specs.append(DDSpec(4, 1, 1, use_local=False))          # an ablation: never part of a verdict
    sels = []
    for spec in specs:
        P = draw(st.integers(10, 10_000))
        runs = []
        for _ in range(2):
            rate = draw(st.floats(0.3, 0.95))
            floor = draw(st.floats(1e-4, 1e-1))
            runs.append(_run([max(rate**k, floor) for k in range(30)], draw(st.floats(0.5, 2.0)), P))
        sels.append(Selection(spec, {"lr": 0.1, "init_scale": 0.1}, [], runs))
    return RegimeResult(regime, sels, _table(sels))


@FAST
@given(res=results())
def test_speed_row_uses_a_target_both_classes_reach_and_the_fastest_model_of_each(res):
    row = speed_row(res)
    assert row["metric"] == "error_in_band" == in_distribution_metric("fourier")
    assert {k: row[k] for k in REGIME_KEYS} == res.regime.record()
    full = [s for s in res.selections if s.spec.family == "global" or s.spec.use_local]
    level = {fam: min(max(r.history["error_in_band"][-1] for r in s.runs) for s in full if s.family == fam)
             for fam in ("global", "dd")}
    e0 = min(r.history["error_in_band"][0] for s in full for r in s.runs)
    common = max(level.values()) <= LEARNED_FRACTION * e0
    assert row["target_kind"] == ("common" if common else "better")
    assert row["target"] == (max(level.values()) if common else min(level.values()))
    for fam in ("global", "dd"):
        group = [s for s in full if s.family == fam]
        means = [np.mean([time_to_target(r, row["target"])[0] for r in s.runs]) for s in group]
        if level[fam] <= row["target"]:      # the class reaches the target on every seed with some model ...
            assert row[f"{fam}_epochs"] == pytest.approx(np.nanmin(means))
        else:                                # ... or it never does
            assert np.isnan(row[f"{fam}_epochs"])
    g, d = row["global_epochs"], row["dd_epochs"]
    if np.isfinite(g) and d > 0:
        assert row["epochs_ratio"] == pytest.approx(g / d)
    if np.isnan(d):                          # DD never reaches the target: never "faster"
        assert row["epochs_ratio"] == 0.0
    if np.isnan(g) and np.isfinite(d):
        assert row["epochs_ratio"] == np.inf


@FAST
@given(res=results())
def test_claim_verdicts_follow_the_records_they_summarise(res):
    rows = claim_verdicts(res, metrics=("operator_error",))
    assert all(tuple(r) == (*REGIME_KEYS, *VERDICT_KEYS) for r in rows)
    assert [r["claim"] for r in rows] == [CLAIMS[0], CLAIMS[1]] + [CLAIMS[2]] * 2 + [CLAIMS[3]] * 2
    sp = speed_row(res)
    g, d = sp["global_epochs"], sp["dd_epochs"]
    assert rows[0]["holds"] == (np.isfinite(d) and (np.isnan(g) or d < g))
    full = {k: v[:-1] for k, v in res.table.items()}                  # without the ablation (last)
    for r in rows[2:4]:
        g, d = class_best(full, "global", f"{r['metric']}_mean"), class_best(full, "dd", f"{r['metric']}_mean")
        assert r["holds"] == (d["value"] < g["value"]) and r["dd_value"] == d["value"]
        (b,) = budget_rows(res, [1e9], [r["metric"]])
        assert r["separated"] == b["separated"] and r["winner"] == b["winner"]
    for r in rows[4:]:
        c = cheapest_match(res, r["metric"])
        assert r["holds"] == bool(c["dd_label"]) and r["dd_label"] == c["dd_label"]
        if r["holds"]:
            assert r["dd_params"] < r["global_params"] and r["dd_value"] <= r["global_value"]


def test_claim_map_sorts_verdict_records_by_claim():
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


@pytest.mark.parametrize("dim", DIMS)
def test_tally_counts_each_claim_over_the_regimes(dim):
    reg = lambda K: Regime(**{**SMALL[dim], "K": K}, data="noise", dim=dim)  # noqa: E731
    rec = lambda claim, holds, sep, K: {**reg(K).record(), "claim": claim,  # noqa: E731
                                        "metric": "m", "holds": holds, "separated": sep}
    rows = [rec("a", True, True, 1), rec("a", False, False, 2), rec("b", True, None, 1), rec("a", True, False, 3)]
    rows.append({**rows[0], "data": "fourier", "metric": "error_in_band"})          # in-distribution, like "noise"
    rows.append({**rows[0], "metric": "error_noise"})
    t = tally_verdicts(rows)
    assert [(x["claim"], x["metric"], x["holds"], x["regimes"], x["separated"]) for x in t] == [
        ("a", "m", 2, 3, 1), ("b", "m", 1, 1, 0), ("a", "in_distribution", 2, 2, 2)]
    assert [f["K"] for f in t[0]["failing"]] == [2] and set(t[0]["failing"][0]) == set(REGIME_KEYS)
    with pytest.raises(ValueError, match="records must hold"):
        tally_verdicts([])


# ------------------------------------------------------------------------------------------------ figures
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


# ------------------------------------------------------------------------------------------------ chapter 5's report
def test_majority_text():
    assert [majority_text(k, 4, "most", "few", "half") for k in (3, 2, 1, 0)] == ["most", "half", "few", "few"]
    with pytest.raises(ValueError, match="count must be in"):
        majority_text(5, 4, "a", "b", "c")


LIMITS = ("expressiveness", "data", "optimisation")


@st.composite
def chapter5(draw):
    """Synthetic measurements of chapter 5: a generalisation study, ablation rows and a regime map."""
    labels = ("global r=8", "DD N=8 δ=1 r=4")
    level = st.floats(1e-3, 10.0)
    runs = [dict(label=lab, training=t, params=100, in_band_mode_error=draw(level), out_band_mode_error=draw(level),
                 sets={s: draw(level) for s in ("in_band", "out_of_band", "noise", "point_loads")})
            for lab in labels for t in ("fourier", "noise")]
    study = {"runs": runs, "exact": np.array([1e-15, 3e-15]), "K": 8}
    P = Problem(63)
    specs = ablation_specs(P, 8, 2, 4, deltas=(1,), Ns=(4,))
    rows = [{"label": lab, "operator_error_mean": draw(st.floats(1e-3, 1.0)), "params": s.parameter_count(P)}
            for lab, s in specs.items()]
    regs = [Regime(63, 8, 8, 64), Regime(63, 8, 8, 16, axis="samples"), Regime(63, 4, 8, 64, axis="N"),
            Regime(63, 8, 8, 64, "noise", axis="data")]
    mechs = [{"component": draw(st.sampled_from(["coarse level", "local blocks", "both levels"])),
              "dd_limit": draw(st.sampled_from(LIMITS)), "global_limit": draw(st.sampled_from(LIMITS)),
              "dd_coarse_dim": r.N - 1, "data_dim": draw(st.integers(1, 16))} for r in regs]
    verdicts = [{**r.record(), "claim": c, "metric": "operator_error", "holds": draw(st.booleans()),
                 "separated": draw(st.booleans()), "ratio": draw(st.floats(1.0, 20.0))}
                for r in regs for c in ("trains faster (epochs)", "more accurate", "fewer parameters")]
    noise = {32: draw(st.floats(0.1, 1.0)), 128: draw(st.floats(0.05, 1.0))}
    return dict(study=study, labels=labels, noise_errors=noise, eckart_young=0.04, ablation_rows=rows,
                baseline=specs["baseline"], problem=P, regimes=regs, mechanisms=mechs, verdicts=verdicts)


@settings(max_examples=20, deadline=None)
@given(inputs=chapter5())
def test_report_of_chapter_5_glues_what_its_records_say(inputs):
    rep = report_beyond(**inputs)
    glue = {k: v for part in rep.values() for k, v in part.items()}
    assert all(isinstance(v, (str, int, float)) for v in glue.values())
    runs = {(r["label"][0], r["training"]): r for r in inputs["study"]["runs"]}
    assert glue["d_out_verdict"] == error_level(runs[("D", "fourier")]["out_band_mode_error"])
    assert glue["g_noise_noise"] == runs[("g", "noise")]["sets"]["noise"]
    assert glue["noise_gap_hi"] == pytest.approx(inputs["noise_errors"][128] - 0.04)
    rows = {r["label"]: r["operator_error_mean"] for r in inputs["ablation_rows"]}
    ratio = {lab: v / rows["baseline"] for lab, v in rows.items()}
    assert glue["abl_worse"] == list_text(lab for lab, q in ratio.items() if q > ABLATION_FACTOR)
    assert glue["abl_better"] == list_text(lab for lab, q in ratio.items() if q < 1 / ABLATION_FACTOR)
    assert glue["abl_coarseonly_ratio"] == pytest.approx(ratio["coarse only"])
    assert glue["base_over_oracle"] == pytest.approx(rows["baseline"] / oracle_error(inputs["baseline"],
                                                                                     inputs["problem"]))
    mechs, regs, recs = inputs["mechanisms"], inputs["regimes"], inputs["verdicts"]
    coarse = sum(m["component"] == "coarse level" for m in mechs)
    assert glue["n_coarse_does_it"] == coarse
    assert ("in most regimes the advantage" in glue["coarse_verdict"]) == (2 * coarse > len(mechs))
    trap = [r.short() for r, m in zip(regs, mechs) if m["dd_coarse_dim"] > m["data_dim"] and m["dd_limit"] == "data"]
    assert glue["dd_trap_regimes"] == list_text(trap, "no regime", "; ")
    acc = [v for v in recs if v["claim"] == "more accurate"]
    assert glue["acc_operator_error_holds_n"] == sum(v["holds"] and v["separated"] for v in acc)
    assert glue["acc_operator_error_unclear_n"] == sum(not v["separated"] for v in acc)
    fewer = [v["ratio"] for v in recs if v["claim"] == "fewer parameters" and v["holds"]]
    assert glue["fewer_operator_error_holds_n"] == len(fewer)
    if fewer:
        assert (glue["fewer_ratio_min"], glue["fewer_ratio_max"]) == (min(fewer), max(fewer))
    assert glue["faster_epochs_holds_n"] + glue["faster_epochs_fails_n"] == len(regs)
    for lim in LIMITS:
        assert glue[f"dd_limit_{lim}"] == sum(m["dd_limit"] == lim for m in mechs)
