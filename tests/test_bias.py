"""The implicit bias of the optimizer (ddlib.bias): the span property of gradient descent to rounding, the off-span
fraction proportional to the initial scale under gradient descent and not under Adam (over random spans), the
minimum-norm references with their closed forms, and the report of the chapter on a small study."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from ddlib import bias
from ddlib.bias import (ROW_KEYS, init_scale_study, min_norm_operator, off_span_fraction, optimizer_grid,
                        optimizer_rows, optimizer_study, references, report_optimizers, span_basis, span_drift,
                        training_inputs)
from ddlib.claims import METRIC_NAMES
from ddlib.models import DDSpec, GlobalSpec
from ddlib.problem import Problem
from ddlib.training import TrainConfig, TrainingDiverged, train

FEW = settings(max_examples=5, deadline=None)


@st.composite
def spans(draw):
    """A small run whose training inputs span a random subspace: ``n`` nodes, ``S`` samples (at most a third of
    ``n``, so the span is never everything) of white noise or of a random band of ``K`` sine modes, rank ``r``."""
    n = draw(st.sampled_from([15, 31]))
    K = draw(st.integers(1, (n + 1) // 4))
    return dict(n=n, K=K, samples=draw(st.integers(2, n // 3)), data=draw(st.sampled_from(["noise", "fourier"])),
                seed=draw(st.integers(0, 10_000)), model=GlobalSpec(draw(st.integers(1, 3))),
                validation_samples=2, test_samples=2, eval_points=2)


def _run(fields, optimizer, lr, init_scale, epochs):
    """A run with the first of ``lr``, ``lr/4``, ``lr/16`` that does not diverge (a few noise samples with a small
    ``||u||`` make the relative loss steep)."""
    for attempt in range(3):
        cfg = TrainConfig(**fields, optimizer=optimizer, lr=lr / 4**attempt, init_scale=init_scale, epochs=epochs)
        try:
            return train(cfg, cache_results=False)
        except TrainingDiverged:
            continue
    raise AssertionError(f"{optimizer} diverged at lr = {lr} and below")


# ------------------------------------------------------------------------------------------------ references
@pytest.mark.parametrize("K, r", [(4, 4), (8, 3), (12, 12)])
def test_min_norm_operator_on_a_sine_band_is_the_inverse_on_the_band(K, r):
    """For the band of the first K modes (eigenvectors of A), U = A^{-1}F and the minimum-norm fit is A^{-1}VV^T:
    its error is lambda_1/lambda_{K+1}; of rank r <= K it is the best rank-r operator on the band,
    error lambda_1/lambda_{r+1} (Eckart-Young)."""
    P = Problem(63)
    G, lam = P.inverse(), P.eigenvalues()
    F = P.eigenvectors(list(range(1, K + 1)))
    V = P.eigenvectors(list(range(1, K + 1)), normalized=True)
    M = min_norm_operator(F, G @ F)
    assert np.allclose(M, G @ V @ V.T, atol=1e-12 * np.abs(G).max())
    norm = np.linalg.norm(G, 2)
    assert np.linalg.norm(M - G, 2) / norm == pytest.approx(lam[0] / lam[K], rel=1e-9)
    assert off_span_fraction(G, F) == pytest.approx(lam[0] / lam[K], rel=1e-9)   # what the data leave open
    assert off_span_fraction(M, F) < 1e-13
    Mr = min_norm_operator(F, G @ F, rank=r)
    assert np.linalg.matrix_rank(Mr, tol=1e-10 * norm) == r
    assert np.linalg.norm(Mr - G, 2) / norm == pytest.approx(lam[0] / lam[r], rel=1e-9)


@settings(max_examples=25, deadline=None)
@given(n=st.integers(5, 40), data=st.data())
def test_min_norm_operator_fits_the_data_with_least_norm(n, data):
    S = data.draw(st.integers(1, n - 1))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    F, U = rng.standard_normal((n, S)), rng.standard_normal((n, S))
    M = min_norm_operator(F, U)
    assert np.allclose(M @ F, U, atol=1e-9 * (1 + np.abs(U).max()))                 # fits (F has full column rank)
    V = span_basis(F)
    assert V.shape == (n, S) and np.allclose(V.T @ V, np.eye(S), atol=1e-12)
    assert np.allclose(M - (M @ V) @ V.T, 0, atol=1e-9 * (1 + np.abs(M).max()))     # zero off the span
    Z = rng.standard_normal((n, n))
    other = M + Z - (Z @ V) @ V.T                                                   # another exact fit
    assert np.allclose(other @ F, U, atol=1e-8 * (1 + np.abs(U).max()))
    assert np.linalg.norm(other) >= np.linalg.norm(M)
    r = data.draw(st.integers(1, S))
    Mr = min_norm_operator(F, U, rank=r)
    assert np.linalg.matrix_rank(Mr) <= r
    assert np.allclose(Mr - (Mr @ V) @ V.T, 0, atol=1e-9 * (1 + np.abs(M).max()))


def test_references_of_each_class():
    cfg = TrainConfig(model=GlobalSpec(4), n=31, K=4, samples=8)
    lam = cfg.problem.eigenvalues()
    g = references(GlobalSpec(4), cfg)
    assert g["min_norm"] == pytest.approx(lam[0] / lam[4], rel=1e-8) == pytest.approx(g["oracle"], rel=1e-8)
    assert g["undetermined"] == pytest.approx(lam[0] / lam[4], rel=1e-8)    # 8 samples of 4 modes span the band
    d = references(DDSpec(4, 1, 1), cfg.replace(data="noise"))
    assert 0 < d["oracle"] < 1 and 0.5 < d["min_norm"] < 1                  # 8 noise samples leave mode 1 open
    assert d["min_norm"] == pytest.approx(d["undetermined"], rel=1e-8)
    F, U = training_inputs(cfg)
    assert F.shape == U.shape == (31, 8) and np.allclose(cfg.problem.solve(F.T).T, U)


# ------------------------------------------------------------------------------------------------ the span property
@FEW
@given(fields=spans())
def test_gradient_descent_and_lbfgs_move_the_key_only_inside_the_span_and_adam_does_not(fields):
    """P_perp K_t = P_perp K_0 to rounding under heavy-ball GD and L-BFGS (their updates are combinations of
    gradients, whose columns lie in span(F)); Adam's per-coordinate scaling leaves the span."""
    for opt, lr in (("gd", 0.05), ("lbfgs", 0.5), ("adam", 0.01)):
        run = _run(fields, opt, lr, 0.1, 40)
        F, _ = training_inputs(run.config)
        K0 = run.config.build_model().K.detach().numpy()
        drift = span_drift(K0, run.model.K.detach().numpy(), F)
        assert drift == pytest.approx(bias.bias_measures(run)["span_drift"])
        if opt == "adam":
            assert drift > 1e-3
        else:
            assert drift < 1e-10, opt
            V = span_basis(F)
            Kt = run.model.K.detach().numpy()
            assert np.allclose(Kt - V @ (V.T @ Kt), K0 - V @ (V.T @ K0), atol=1e-12)


@FEW
@given(fields=spans())
def test_off_span_fraction_is_proportional_to_the_initial_scale_under_gd_and_not_under_adam(fields):
    """A tenth of the initial scale gives about a tenth of the off-span fraction under GD (M_t P_perp = w Q_t K_0^T
    P_perp exactly, K_0 proportional to the scale); under Adam the fraction hardly moves."""
    ratio = {}
    for opt, lr in (("gd", 0.05), ("adam", 0.01)):
        fractions = []
        for s in (1e-2, 1e-3):
            run = _run(fields, opt, lr, s, 250)
            F, _ = training_inputs(run.config)
            fractions.append(off_span_fraction(run.model, F))
            if opt == "gd":
                V = span_basis(F)
                Perp = np.eye(F.shape[0]) - V @ V.T
                Q, K0 = run.model.Q.detach().numpy(), run.config.build_model().K.detach().numpy()
                M = run.model.dense().numpy()
                assert np.allclose(M @ Perp, run.model.weight * Q @ K0.T @ Perp, atol=1e-12 * np.abs(M).max())
        ratio[opt] = fractions[0] / fractions[1]
    assert 5 < ratio["gd"] < 20, ratio
    assert ratio["adam"] < 2.5, ratio


# ------------------------------------------------------------------------------------------------ hostile input
def test_bad_input_is_named():
    with pytest.raises(ValueError, match="F must be a matrix"):
        span_basis(np.ones(4))
    with pytest.raises(ValueError, match="M must be a square matrix"):
        off_span_fraction(np.eye(3), np.ones((4, 2)))
    with pytest.raises(ValueError, match="K and K0"):
        span_drift(np.ones((3, 1)), np.ones((3, 1)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="same shape"):
        min_norm_operator(np.ones((4, 2)), np.ones((4, 3)))
    with pytest.raises(ValueError, match="rank"):
        min_norm_operator(np.ones((4, 2)), np.ones((4, 2)), rank=5)
    with pytest.raises(ValueError, match="config must be"):
        training_inputs("base")
    with pytest.raises(ValueError, match="optimizer"):
        optimizer_grid("sgd", {"lr": [0.1]})
    with pytest.raises(ValueError, match="without 'optimizer'"):
        optimizer_grid("gd", {"lr": [0.1], "optimizer": ["adam"]})
    with pytest.raises(ValueError, match="at least two"):
        init_scale_study(GlobalSpec(2), TrainConfig(model=GlobalSpec(2), n=15, K=2), {"gd": {}}, [0.1])
    assert np.isnan(off_span_fraction(np.zeros((3, 3)), np.ones((3, 1))))
    assert off_span_fraction(np.eye(3), np.eye(3)) == 0.0                          # the span is everything


# ------------------------------------------------------------------------------------------------ the report
@pytest.fixture(scope="module")
def small_study(tmp_path_factory):
    """Global r = 2 and DD N = 4 on n = 31, band and white noise, Adam and GD, two seeds, one grid point each."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DDLIB_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield _small_study()


def _small_study():
    base = TrainConfig(model=GlobalSpec(2), n=31, K=4, samples=8, validation_samples=8, test_samples=8, epochs=60,
                       eval_points=3)
    grids = {"adam": {"lr": [0.03], "init_scale": [0.01]}, "gd": {"lr": [0.05], "init_scale": [0.01]}}
    study = optimizer_study([GlobalSpec(2), DDSpec(4, 1, 1)], base, {"band": {}, "noise": {"data": "noise"}}, grids,
                            [0, 1], workers=1)
    scale = init_scale_study(GlobalSpec(2), base, {"gd": {"lr": 0.05}, "adam": {"lr": 0.03}}, [1e-3, 1e-2, 1e-1],
                             workers=1)
    return study, scale


def test_rows_and_report_say_what_the_study_measured(small_study):
    study, scale = small_study
    rows = optimizer_rows(study, {"band": "band K = 4"})
    assert len(rows) == 8 and all(tuple(r) == ROW_KEYS for r in rows)
    for r in rows:
        sel = next(s for s in study[r["regime"]][r["optimizer"]] if s.label == r["model"])
        assert r["optimizer"] == sel.chosen["optimizer"] and r["seeds"] == 2 and r["on_edge"] == sel.on_edge
        assert r["operator_error"] == pytest.approx(np.mean(sel.final("operator_error")))
        assert r["validation_mean"] == pytest.approx(np.mean(sel.final("error_validation")))
        if r["family"] == "global":
            assert r["eckart_young"] == pytest.approx(r["oracle"])
            assert (r["span_drift"] < 1e-10) == (r["optimizer"] == "gd")
    assert rows[0]["regime_label"] == "band K = 4" and rows[-1]["regime_label"] == "noise"
    rep = report_optimizers(study, rows, scale, {"band": "band K = 4", "noise": "white noise"})
    glue = rep["glue"]
    assert all(isinstance(v, (str, int, float)) for v in glue.values())
    by = {(r["regime"], r["optimizer"], r["family"]): r for r in rows}
    for reg in ("band", "noise"):
        for opt in ("adam", "gd"):
            g, d = by[reg, opt, "global"], by[reg, opt, "dd"]
            assert glue[f"{reg}_{opt}_op_gap"] == pytest.approx(g["operator_error"] / d["operator_error"])
            assert glue[f"{reg}_{opt}_g_ey"] == pytest.approx(g["operator_error"] / g["eckart_young"])
            assert glue[f"{reg}_{opt}_d_structure"] == pytest.approx(d["min_norm"] / d["operator_error"])
    assert glue["drift_max_gd"] < 1e-10 < 1e-3 < glue["drift_max_adam"]
    assert glue["slope_gd"] == scale["gd"]["slope"] and glue["slope_adam"] == scale["adam"]["slope"]
    clauses = [c for key in ("class_verdicts", "optimizer_verdicts") for c in glue[key].split("; ") if c != "none"]
    assert len(clauses) == 2 * len(bias.VERDICT_METRICS)                     # every regime and metric, once
    for reg, label in (("band", "band K = 4"), ("noise", "white noise")):
        for m in bias.VERDICT_METRICS:
            recs = [rep["records"][reg, o, m] for o in ("adam", "gd")]
            clause = next(c for c in clauses if c.startswith(f"{label}, {METRIC_NAMES[m]}"))
            same = len({r["winner"] for r in recs}) == 1
            assert (clause in glue["class_verdicts"]) == same
        dd_everywhere = all(rep["records"][reg, o, "operator_error"]["winner"] == "dd" for o in ("adam", "gd"))
        assert (label in glue["structural_regimes"]) == dd_everywhere


def test_verdict_rows_and_the_race(small_study):
    study, scale = small_study
    rows = optimizer_rows(study)
    rep = report_optimizers(study, rows, scale)
    kinds = [v["kind"] for v in rep["verdicts"]]
    assert len(kinds) == rep["glue"]["n_verdicts"] == 2 * len(bias.VERDICT_METRICS)
    assert kinds.count("function class") == rep["glue"]["n_class_verdicts"]
    for v in rep["verdicts"]:
        winners = {v[name].split(",")[0] for name in ("Adam", "heavy-ball GD")}
        assert (len(winners) == 1) == (v["kind"] == "function class")
    race = bias.optimizer_race(study, "band", 3, steps=2)
    assert set(race) == {"adam", "gd"}
    for opt, r in race.items():
        assert r["n_targets"] == 3 and r["target_hi"] > r["target_lo"] > 0
        assert r["step_ms_global"] > 0 and r["step_ms_dd"] > 0
        for x in ("epochs", "seconds"):
            assert 0 <= r[f"dd_first_{x}"] + r[f"global_first_{x}"] <= 3
    glue = report_optimizers(study, rows, scale, race=race)["glue"]
    assert glue["race_gd_dd_first_epochs"] == race["gd"]["dd_first_epochs"]
    with pytest.raises(ValueError, match="regime"):
        bias.optimizer_race(study, "nowhere")


def test_scale_study_slopes(small_study):
    _, scale = small_study
    for opt, s in scale.items():
        assert len(s["off_span_fraction"]) == 3 and s["scales"] == [1e-3, 1e-2, 1e-1]
        fit = np.polyfit(np.log(s["scales"]), np.log(s["off_span_fraction"]), 1)[0]
        assert s["slope"] == pytest.approx(fit)
    assert max(scale["gd"]["span_drift"]) < 1e-10


def test_off_span_fraction_of_a_model_equals_that_of_its_matrix():
    P = Problem(31)
    model = GlobalSpec(3).build(P, seed=1, init_scale=0.3)
    F = np.random.default_rng(0).standard_normal((31, 5))
    assert off_span_fraction(model, F) == pytest.approx(off_span_fraction(model.dense().numpy(), F))
    assert off_span_fraction(model, F) == pytest.approx(off_span_fraction(torch.as_tensor(model.dense()), F))
