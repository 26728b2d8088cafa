"""Regimes in 2D and the verdict records: the same keys as in 1D, the claims computed from the runs, not typed."""
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ddlib.approximation2d import dd_oracle_error_2d, global_best_error_2d
from ddlib.attention2d import DDAttention2D
from ddlib.decomposition2d import Decomposition2D
from ddlib.experiments import Selection, class_best, summary_table
from ddlib.models import DD2DSpec, DDSpec, GlobalSpec
from ddlib.problem2d import eigenvalues_2d, inverse_2d
from ddlib.regimes import (CLAIMS, LEARNED_FRACTION, REGIME_KEYS, VERDICT_KEYS, Regime, RegimeResult, budget_rows,
                           cheapest_match, claim_verdicts, in_distribution_metric, mechanism, oracle_error,
                           regime_axes, regime_specs, run_regime, span_split, speed_row, tally_verdicts)
from ddlib.training import HISTORY_KEYS, TrainConfig, TrainResult, time_to_target


def test_a_2d_regime_checks_its_grid_and_keeps_the_1d_record_keys():
    r = Regime(31 * 31, 4, 4, 16, "noise", dim=2)
    assert r.side == 31 and r.m == 8 and tuple(r.record()) == REGIME_KEYS
    cfg = r.config(TrainConfig(model=GlobalSpec(1), n=31, K=4))
    assert (cfg.n, cfg.dim, cfg.K, cfg.samples, cfg.data) == (961, 2, 4, 16, "noise")
    specs = regime_specs(r, [4, 2000], [1, 100, 101], 4, partition="multiplicity")
    dd = [s for s in specs if isinstance(s, DD2DSpec)]
    assert [s.rank for s in specs if isinstance(s, GlobalSpec)] == [4]                    # rank 2000 > n dropped
    assert [s.local_rank for s in dd if s.use_local and s.use_coarse] == [1, 100]        # n_max = (8 + 2)^2 = 100
    assert {s.partition for s in dd} == {"multiplicity"} and sum(not s.use_local for s in dd) == 1
    assert regime_specs(r, [4], [1], None) == [GlobalSpec(4), DD2DSpec(4, 1, 1)]
    axes = regime_axes(r, n_values=[63 * 63], H_over_h=8)
    assert [(a.axis, a.N) for a in axes[1:]] == [("n_fixed_N", 4), ("n_fixed_H", 8)]


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=960), "n must be a perfect square"), (dict(N=5), "N must divide m \\+ 1 = 32"),
    (dict(K=16), "K must be an integer in \\[1, 15\\]"), (dict(delta=8), "delta must be an integer in \\[0, 7\\]"),
])
def test_bad_2d_regimes(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Regime(**{"n": 961, "N": 4, "K": 4, "dim": 2, **kwargs})


def test_oracles_and_span_split_in_2d():
    m = 15
    assert oracle_error(GlobalSpec(10), m * m, dim=2) == pytest.approx(global_best_error_2d(m, [10])[0])
    assert oracle_error(DD2DSpec(4, 1, 3), m * m, dim=2) == pytest.approx(
        dd_oracle_error_2d(m, 4, 1, 3, partition="ramp"), rel=1e-8)
    assert np.isnan(oracle_error(DD2DSpec(4, 1, 3, use_coarse=False), m * m, dim=2))
    # the span split against the dense error matrix E = M - A^{-1}
    model = DDAttention2D(Decomposition2D(m, 4, 1), 3, seed=2, init_scale=0.3)
    f = np.random.default_rng(1).standard_normal((20, m * m))
    split = span_split(model, f, dim=2)
    E = model.dense().numpy() - inverse_2d(m)
    V = np.linalg.svd(f.T, full_matrices=False)[0]
    lam1 = eigenvalues_2d(m, 1, 1)
    assert split["dim"] == 20
    assert split["on_span"] == pytest.approx(np.linalg.norm(E @ V, 2) * lam1, rel=1e-10)
    assert split["off_span"] == pytest.approx(np.linalg.norm(E - E @ V @ V.T, 2) * lam1, rel=1e-6)


# ------------------------------------------------------------------------------------------- verdicts, synthetic
def _run(errors, seconds_per_epoch, params):
    epochs = list(range(len(errors)))
    hist = {k: list(errors) for k in HISTORY_KEYS}
    hist.update(epoch=epochs, seconds=[e * seconds_per_epoch for e in epochs])
    cfg = TrainConfig(model=GlobalSpec(1), n=31, K=4)
    return TrainResult(config=cfg, history=hist, model=None, num_parameters=params)


@st.composite
def results(draw):
    """Selections whose seeds decay geometrically at drawn rates, with drawn parameter counts."""
    sels = []
    specs = [GlobalSpec(r) for r in range(1, draw(st.integers(1, 3)) + 1)]
    specs += [DD2DSpec(4, 1, r) for r in range(1, draw(st.integers(1, 3)) + 1)]
    specs.append(DD2DSpec(4, 1, 1, use_local=False))          # an ablation: never part of a verdict
    for spec in specs:
        P = draw(st.integers(10, 10_000))
        runs = []
        for _ in range(2):
            rate = draw(st.floats(0.3, 0.95))
            floor = draw(st.floats(1e-4, 1e-1))
            runs.append(_run([max(rate**k, floor) for k in range(30)], draw(st.floats(0.5, 2.0)), P))
        sels.append(Selection(spec, {"lr": 0.1, "init_scale": 0.1}, [], runs))
    table = _table(sels)
    return RegimeResult(Regime(961, 4, 4, 16, "fourier", dim=2), sels, table)


def _table(sels):
    rows = []
    for s in sels:
        v = np.array([r.history["error_in_band"][-1] for r in s.runs])
        row = {"label": s.label, "family": s.family, "params": s.runs[0].num_parameters, "seeds": len(s.runs)}
        for m in ("error_in_band", "operator_error", "error_noise"):
            row.update({f"{m}_mean": v.mean(), f"{m}_min": v.min(), f"{m}_max": v.max()})
        rows.append(row)
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


@settings(max_examples=40, deadline=None)
@given(res=results())
def test_speed_row_uses_a_target_both_classes_reach_and_the_fastest_model_of_each(res):
    row = speed_row(res)
    assert row["metric"] == "error_in_band" == in_distribution_metric("fourier")
    full = [s for s in res.selections if getattr(s.spec, "use_local", True)]
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
    if np.isfinite(row["global_epochs"]) and row["dd_epochs"] > 0:
        assert row["epochs_ratio"] == pytest.approx(row["global_epochs"] / row["dd_epochs"])


@settings(max_examples=40, deadline=None)
@given(res=results())
def test_claim_verdicts_follow_the_records_they_summarise(res):
    rows = claim_verdicts(res, metrics=("operator_error",))
    assert all(tuple(r) == (*REGIME_KEYS, *VERDICT_KEYS) for r in rows)
    assert [r["claim"] for r in rows] == [CLAIMS[0], CLAIMS[1]] + [CLAIMS[2]] * 2 + [CLAIMS[3]] * 2
    sp = speed_row(res)
    assert rows[0]["holds"] == (sp["dd_epochs"] < sp["global_epochs"])
    full = {k: v[:-1] for k, v in res.table.items()}                  # without the ablation (last)
    for r in rows[2:4]:
        g, d = class_best(full, "global", f"{r['metric']}_mean"), class_best(full, "dd", f"{r['metric']}_mean")
        assert r["holds"] == (d["value"] < g["value"]) and r["dd_value"] == d["value"]
        (b,) = budget_rows(res, [1e9], [r["metric"]])
        assert r["separated"] == b["separated"]
    for r in rows[4:]:
        c = cheapest_match(res, r["metric"])
        assert r["holds"] == bool(c["dd_label"]) and r["dd_label"] == c["dd_label"]
        if r["holds"]:
            assert r["dd_params"] < r["global_params"] and r["dd_value"] <= r["global_value"]


# ------------------------------------------------------------------------------------------- a small real regime
def test_a_small_real_2d_regime_end_to_end():
    regime = Regime(15 * 15, 4, 3, 12, "noise", dim=2)
    base = TrainConfig(model=GlobalSpec(1), n=15, K=3, validation_samples=6, test_samples=6, epochs=30, eval_points=4)
    specs = regime_specs(regime, [2, 8], [1, 2], 2)
    res = run_regime(regime, base, specs, {"lr": [1e-2, 1e-1], "init_scale": [0.1]}, [0, 1], workers=1)
    assert all(s.runs[0].config.dim == 2 for s in res.selections)
    rows = budget_rows(res, [1000, 10_000], ["operator_error", "error_noise"])
    assert len(rows) == 4 and all(tuple(r)[:len(REGIME_KEYS)] == REGIME_KEYS for r in rows)
    verdicts = claim_verdicts(res)
    assert {v["metric"] for v in verdicts[2:]} == {"error_noise", "operator_error"}
    mech = mechanism(res, base)
    assert mech["data_dim"] == 12 and mech["global_limit"] in ("expressiveness", "data", "optimisation")
    assert mech["dd_error"] == min(res.table["operator_error_mean"][i] for i, s in enumerate(res.selections)
                                   if s.family == "dd" and s.spec.use_local and s.spec.use_coarse)
    assert replace(regime, axis="samples").record()["axis"] == "samples"
    assert not any(isinstance(s.spec, DDSpec) for s in res.selections)
    assert set(summary_table(res.selections)["family"]) == {"global", "dd"}


def test_tally_counts_each_claim_over_the_regimes():
    rec = lambda claim, holds, sep, K: {**Regime(961, 4, K, 16, "noise", dim=2).record(), "claim": claim,  # noqa
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
