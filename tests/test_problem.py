"""The model problem: closed forms to rounding, second-order convergence, clear errors."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings, strategies as st

from ddlib import problem


@given(n=st.integers(1, 200))
@settings(max_examples=40, deadline=None)
def test_eigenpairs_closed_form(n):
    A = problem.laplacian_1d(n)
    lam = problem.eigenvalues(n)
    V = problem.eigenvectors(n)
    # A v_k = lambda_k v_k, column by column, relative to lambda_k
    assert np.max(np.abs(A @ V - V * lam) / lam) < 1e-11
    assert np.allclose(np.linalg.eigvalsh(A.toarray()), lam, rtol=1e-10, atol=0)
    Vn = problem.eigenvectors(n, normalized=True)
    assert np.allclose(Vn.T @ Vn, np.eye(n), atol=1e-12)


@given(n=st.integers(1, 150))
@settings(max_examples=40, deadline=None)
def test_inverse_is_h_times_green_function(n):
    Ainv = problem.inverse(n)
    A = problem.laplacian_1d(n)
    assert np.max(np.abs(A @ Ainv - np.eye(n))) < 1e-9
    h, x = problem.grid(n)
    i, j = n // 3, (2 * n) // 3
    assert Ainv[i, j] == pytest.approx(h * min(x[i], x[j]) * (1 - max(x[i], x[j])), rel=1e-14)


def test_green_function_values():
    # G(x, y) = min(x, y)(1 - max(x, y)): G(1/4, 1/2) = 1/4 * 1/2 = 1/8, symmetric, zero on the boundary
    assert problem.green_function(0.25, 0.5) == pytest.approx(0.125)
    assert problem.green_function(0.5, 0.25) == pytest.approx(0.125)
    assert problem.green_function(0.0, 0.3) == 0.0 and problem.green_function(1.0, 0.3) == 0.0


def test_matrix_is_sparse_tridiagonal_and_scaled():
    A = problem.laplacian_1d(9)
    assert sp.issparse(A) and A.nnz == 3 * 9 - 2 and A.dtype == np.float64
    h = 0.1
    assert A[0, 0] == pytest.approx(2 / h**2) and A[0, 1] == pytest.approx(-1 / h**2)


def test_smallest_eigenvalue_tends_to_pi_squared():
    # lambda_1 = 4/h^2 sin^2(pi h / 2) = pi^2 (1 - pi^2 h^2 / 12 + O(h^4))
    for n in (63, 255, 1023):
        h = 1 / (n + 1)
        assert problem.eigenvalues(n)[0] == pytest.approx(np.pi**2 * (1 - np.pi**2 * h**2 / 12), rel=1e-6 * h**2 * 1e3)


def test_solve_matches_inverse_for_batches():
    rng = np.random.default_rng(0)
    F = rng.standard_normal((5, 40))
    assert np.allclose(problem.solve(F), F @ problem.inverse(40).T, rtol=1e-10, atol=1e-14)
    assert np.allclose(problem.solve(F[0]), problem.inverse(40) @ F[0])


def test_second_order_convergence():
    study = problem.convergence_study([15, 31, 63, 127, 255, 511])
    assert np.all(np.abs(study["order"][1:] - 2.0) < 0.01)
    # the error constant: max |e| ~ C h^2 with the truncation term h^2/12 u''''; the ratio settles
    ratio = study["error"] / study["h"] ** 2
    assert abs(ratio[-1] / ratio[-2] - 1) < 1e-3


@pytest.mark.parametrize("bad", [0, -3, 2.5, "10", None, True])
def test_bad_n_names_the_parameter(bad):
    with pytest.raises(ValueError, match="n must be an integer"):
        problem.laplacian_1d(bad)


def test_nan_rhs_is_rejected():
    f = np.ones(10)
    f[3] = np.nan
    with pytest.raises(ValueError, match="f must be finite"):
        problem.solve(f)
