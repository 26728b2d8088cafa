"""Per-mode errors in 1D, 2D and 3D: zero for the exact inverse, the data trap of a truncated operator, consistency of
the operator forms, and the study of trained models."""
import numpy as np
import pytest
import scipy.sparse.linalg as spla
from hypothesis import assume, given, settings, strategies as st

from ddlib.attention import GlobalAttention, eckart_young_init
from ddlib.data import band_modes, make_datasets
from ddlib.generalisation import all_modes, apply_operator, generalisation_study, mode_errors, set_errors
from ddlib.models import DDSpec, GlobalSpec
from ddlib.problem import Problem
from ddlib.training import TrainConfig, train

FAST = settings(max_examples=25, deadline=None)
problems = st.one_of(st.integers(1, 120).map(Problem), st.integers(2, 9).map(lambda m: Problem((m, m))),
                     st.integers(2, 5).map(lambda m: Problem((m, m, m))))


def _rounding(P):
    """e_k rounds like eps ||A^{-1}|| ||v_k|| lambda_k = eps ||v_k|| lambda_k / lambda_1, for every mode."""
    lam = P.eigenvalues(all_modes(P))
    return 10 * P.n * np.finfo(float).eps * lam / lam.min()


@FAST
@given(P=problems)
def test_exact_inverse_has_zero_error_on_every_mode(P):
    assert np.all(mode_errors(P.inverse(), P) <= _rounding(P))


@FAST
@given(P=problems, alpha=st.floats(-3, 3))
def test_scaled_inverse_has_error_abs_alpha_minus_one(P, alpha):
    # M = alpha A^{-1}: lambda_k M v_k - v_k = (alpha - 1) v_k on every mode
    assert np.all(np.abs(mode_errors(alpha * P.inverse(), P) - abs(alpha - 1)) <= _rounding(P))


@pytest.mark.parametrize("P", [Problem(31), Problem((9, 9)), Problem((5, 5, 5))], ids=["1D", "2D", "3D"])
def test_all_modes_start_with_the_band(P):
    k = all_modes(P)
    assert k.shape == (P.n, P.dim) and len({tuple(r) for r in k}) == P.n
    assert np.all(np.diff(k.max(axis=1)) >= 0)
    for K in (1, 2):
        assert np.array_equal(np.sort(k[:K**P.dim], axis=0), np.sort(band_modes(1, K, P.dim), axis=0))


@settings(max_examples=10, deadline=None)
@given(P=st.one_of(st.integers(8, 100).map(Problem), st.integers(3, 8).map(lambda m: Problem((m, m)))),
       data=st.data())
def test_rank_r_truncation_is_exact_on_its_modes_and_fully_wrong_elsewhere(P, data):
    r = data.draw(st.integers(1, P.n // 2))
    lam = P.eigenvalues()
    assume(lam[r] > lam[r - 1] * (1 + 1e-9))              # r must not split a multiple eigenvalue
    e = mode_errors(eckart_young_init(GlobalAttention(P, r)))   # Q K^T = [A^{-1}/w]_r: the data trap
    kept = P.eigenvalues(all_modes(P)) <= lam[r - 1] * (1 + 1e-9)
    assert kept.sum() == r
    assert e[kept].max() < 1e-10 and np.allclose(e[~kept], 1.0, atol=1e-10)


@pytest.mark.parametrize("P, N", [(Problem(63), 8), (Problem((11, 11)), 4)], ids=["1D", "2D"])
def test_operator_forms_agree(P, N):
    model = DDSpec(N, 1, 3).build(P, seed=5, init_scale=0.5)
    M = model.dense().numpy()
    lin = spla.LinearOperator((P.n, P.n), matvec=lambda x: M @ x, matmat=lambda X: M @ X)
    ref = mode_errors(M, P)
    for op in (model, lin, lambda F: M @ F):
        assert np.allclose(mode_errors(op, P), ref, rtol=1e-12, atol=1e-14)
    sets = make_datasets(P, 6, 2, 0)
    assert all(v < 1e-12 for v in set_errors(P.inverse(), sets).values())
    assert set_errors(M, sets)["noise"] == pytest.approx(
        float(np.mean(np.linalg.norm(sets["noise"].f @ M.T - sets["noise"].u, axis=1)
                      / np.linalg.norm(sets["noise"].u, axis=1))), rel=1e-12)


def test_mode_subset_and_bad_input():
    P = Problem(31)
    e = mode_errors(P.inverse() * 1.5, P, modes=[1, 5, 31])
    assert e.shape == (3,) and np.allclose(e, 0.5)
    Q = Problem((5, 5))
    assert np.allclose(mode_errors(Q.inverse() * 0.5, Q, modes=[[1, 2], [5, 5]]), 0.5)
    with pytest.raises(ValueError, match="modes"):
        mode_errors(P.inverse(), P, modes=[0, 3])
    with pytest.raises(ValueError, match="modes"):
        mode_errors(P.inverse(), P, modes=[32])
    with pytest.raises(ValueError, match="problem must be given"):
        mode_errors(P.inverse())
    with pytest.raises(ValueError, match="op"):
        apply_operator("not an operator", np.eye(3))


@pytest.mark.parametrize("dim, n, K", [(1, 31, 4), (2, 49, 2)])
def test_study_of_models_trained_on_noise_and_fourier(dim, n, K):
    base = TrainConfig(model=GlobalSpec(4), n=n, dim=dim, K=K, samples=8, test_samples=8, epochs=10, eval_points=2)
    trained = [("global r=4", data, train(base.replace(data=data)).model) for data in ("fourier", "noise")]
    study = generalisation_study(trained, base)
    assert [r["training"] for r in study["runs"]] == ["fourier", "noise"]
    assert study["exact"].max() < 1e-12 and np.array_equal(study["level"], study["modes"].max(axis=1))
    fourier, noise = (r["mode_errors"] for r in study["runs"])
    assert not np.allclose(fourier, noise)   # different training data, different operators
    for r in study["runs"]:
        e = r["mode_errors"]
        assert r["in_band_mode_error"] == pytest.approx(e[:K**dim].mean())           # the band comes first
        assert r["out_band_mode_error"] == pytest.approx(e[K**dim:(2 * K) ** dim].mean())


def test_the_figure_draws_the_mean_error_of_each_shell():
    import matplotlib
    matplotlib.use("Agg")
    from ddlib.plotting.generalisation import generalisation_figure

    P = Problem((6, 6))
    e = np.arange(P.n, dtype=float) + 1.0
    study = {"modes": all_modes(P), "level": all_modes(P).max(axis=1), "exact": np.full(P.n, 1e-15), "K": 2,
             "runs": [dict(label="global r=4", training=t, params=8, mode_errors=e,
                           sets={s: 0.5 for s in ("in_band", "out_of_band", "noise", "point_loads")})
                      for t in ("fourier", "noise")]}
    fig = generalisation_figure(study)
    line = next(x for x in fig.axes[0].get_lines() if "global" in x.get_label())
    # shell l holds the modes l^2 - (l-1)^2 = 2l - 1 modes numbered (l-1)^2 + 1 .. l^2: their mean is (l-1)^2 + l
    assert list(line.get_xdata()) == [1, 2, 3, 4, 5, 6]
    assert np.allclose(line.get_ydata(), [(k - 1) ** 2 + k for k in range(1, 7)])
