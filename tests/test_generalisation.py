"""Per-mode errors: zero for the exact inverse, the data trap of a rank-K operator, consistency of the operator forms."""
import numpy as np
import pytest
import scipy.sparse.linalg as spla
from hypothesis import given, settings, strategies as st

from ddlib.attention import DDAttention, GlobalAttention
from ddlib.data import make_datasets
from ddlib.decomposition import Decomposition
from ddlib.generalisation import apply_operator, generalisation_study, mode_errors, set_errors
from ddlib.models import GlobalSpec
from ddlib.problem import eigenvalues, inverse
from ddlib.training import TrainConfig

FAST = settings(max_examples=25, deadline=None)


@FAST
@given(n=st.integers(1, 200))
def test_exact_inverse_has_zero_error_on_every_mode(n):
    # rounding in M v_k is about eps ||A^{-1}|| ||v_k|| = eps ||v_k|| / lambda_1, and e_k multiplies it by lambda_k
    lam = eigenvalues(n)
    assert np.all(mode_errors(inverse(n)) <= 10 * n * np.finfo(float).eps * lam / lam[0])


@FAST
@given(n=st.integers(2, 120), alpha=st.floats(-3, 3))
def test_scaled_inverse_has_error_abs_alpha_minus_one(n, alpha):
    # M = alpha A^{-1}: lambda_k M v_k - v_k = (alpha - 1) v_k on every mode
    lam = eigenvalues(n)
    assert np.all(np.abs(mode_errors(alpha * inverse(n)) - abs(alpha - 1)) <= 10 * n * np.finfo(float).eps * lam / lam[0])


@settings(max_examples=10, deadline=None)
@given(n=st.integers(8, 100), data=st.data())
def test_rank_K_truncation_is_exact_in_band_and_fully_wrong_outside(n, data):
    K = data.draw(st.integers(1, n // 2))
    e = mode_errors(GlobalAttention(n, K, init="svd"))   # Q K^T = [A^{-1}/h]_K: the data trap
    assert e[:K].max() < 1e-10  # e_k = 0 up to the rounding of the eigensolver
    assert np.allclose(e[K:], 1.0, atol=1e-10)


def test_operator_forms_agree():
    n = 63
    model = DDAttention(Decomposition(n, 8, 2), 3, seed=5, init_scale=0.5)
    M = model.dense().numpy()
    lin = spla.LinearOperator((n, n), matvec=lambda x: M @ x, matmat=lambda X: M @ X)
    ref = mode_errors(M)
    for op in (model, lin, lambda F: M @ F):
        assert np.allclose(mode_errors(op, n), ref, rtol=1e-12, atol=1e-14)
    sets = make_datasets(n, 6, 4, 0)
    assert all(v < 1e-12 for v in set_errors(inverse(n), sets).values())
    assert set_errors(M, sets)["noise"] == pytest.approx(
        float(np.mean(np.linalg.norm(sets["noise"].f @ M.T - sets["noise"].u, axis=1)
                      / np.linalg.norm(sets["noise"].u, axis=1))), rel=1e-12)


def test_mode_subset_and_bad_input():
    e = mode_errors(inverse(31) * 1.5, modes=[1, 5, 31])
    assert e.shape == (3,) and np.allclose(e, 0.5)
    with pytest.raises(ValueError, match="modes"):
        mode_errors(inverse(31), modes=[0, 3])
    with pytest.raises(ValueError, match="modes"):
        mode_errors(inverse(31), modes=[32])
    with pytest.raises(ValueError, match="op"):
        apply_operator("not an operator", np.eye(3))


def test_study_of_models_trained_on_noise_and_fourier():
    from ddlib.training import train

    base = TrainConfig(model=GlobalSpec(4), n=31, K=4, samples=8, test_samples=8, epochs=10, eval_points=2)
    trained = [("global r=4", data, train(base.replace(data=data)).model) for data in ("fourier", "noise")]
    study = generalisation_study(trained, base)
    assert [r["training"] for r in study["runs"]] == ["fourier", "noise"]
    assert study["exact"].max() < 1e-12
    fourier, noise = (r["mode_errors"] for r in study["runs"])
    assert not np.allclose(fourier, noise)   # different training data, different operators
