"""PCG, Lanczos condition estimates from the CG coefficients, dense spectra, GMRES iteration counts."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from ddlib.decomposition import Decomposition
from ddlib.krylov import (condition_estimate, dense_condition_number, dense_spectrum, gmres_iterations,
                          lanczos_tridiagonal, pcg, ritz_values)
from ddlib.problem import Problem
from ddlib.schwarz import schwarz_preconditioner, to_dense


def test_pcg_solves_and_counts():
    A = Problem(127).matrix()
    b = np.random.default_rng(0).standard_normal(127)
    res = pcg(A, b, rtol=1e-10)
    assert res.converged and res.iterations <= 127 + 5
    assert np.linalg.norm(A @ res.x - b) <= 1e-10 * np.linalg.norm(b)
    assert res.residuals.size == res.iterations + 1 and res.residuals[-1] <= 1e-10 < res.residuals[-2]
    assert res.alpha.size == res.iterations and res.beta.size == res.iterations - 1


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 8), st.integers(0, 2**31 - 1))
def test_cg_terminates_in_as_many_steps_as_distinct_eigenvalues(k, seed):
    """Exact-arithmetic CG on a matrix with k distinct eigenvalues stops after k steps (to rounding, at small k)."""
    rng = np.random.default_rng(seed)
    values = np.sort(rng.uniform(1, 10, size=k))
    while k > 1 and np.min(np.diff(values)) < 0.5:  # well separated values keep the rounding harmless
        values = np.sort(rng.uniform(1, 10, size=k))
    A = sp.diags(np.repeat(values, 5))
    res = pcg(A, rng.standard_normal(5 * k), rtol=1e-9)
    assert res.converged and res.iterations <= k
    # and the Ritz values of the full Lanczos matrix are those k eigenvalues
    if res.iterations == k:
        assert np.allclose(ritz_values(res.alpha, res.beta), values, rtol=1e-6)


def test_cg_error_follows_the_chebyshev_bound():
    r"""||e_k||_A <= 2 ((sqrt(kappa) - 1)/(sqrt(kappa) + 1))^k ||e_0||_A, with kappa of M^{-1}A (one-level Schwarz)."""
    dec = Decomposition(Problem(255), 8, 2)
    A = dec.problem.matrix()
    M = schwarz_preconditioner(dec, coarse="none")
    kappa = dense_condition_number(A, M)
    b = np.random.default_rng(5).standard_normal(dec.n)
    x = np.linalg.solve(A.toarray(), b)
    q = (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)
    e0 = np.sqrt(x @ (A @ x))
    for k in range(1, 25):
        e = pcg(A, b, M, rtol=1e-300, maxiter=k).x - x
        assert np.sqrt(e @ (A @ e)) <= 2 * q**k * e0 * (1 + 1e-8)


def test_lanczos_matrix_is_the_projected_operator():
    """T_k from the CG coefficients equals Q^T M^{-1/2}-free form: here (M = I) the Lanczos matrix V^T A V, V the
    normalised residuals."""
    A = Problem(31).matrix()
    b = np.random.default_rng(7).standard_normal(31)
    k = 6
    res = pcg(A, b, rtol=1e-300, maxiter=k)
    # the residuals r_0..r_{k-1} are orthogonal; normalised, they are the Lanczos vectors
    V, r, x, p = [], b.copy(), np.zeros(31), b.copy()
    for j in range(k):
        V.append(r / np.linalg.norm(r))
        q = A @ p
        a = (r @ r) / (p @ q)
        r_new = r - a * q
        p = r_new + (r_new @ r_new) / (r @ r) * p
        r = r_new
    V = np.array(V).T
    d, e = lanczos_tridiagonal(res.alpha, res.beta)
    T = np.diag(d) + np.diag(e, 1) + np.diag(e, -1)
    assert np.allclose(np.abs(V.T @ (A @ V)), np.abs(T), rtol=1e-9)


@pytest.mark.parametrize("kw", [dict(coarse="none"), dict(coarse="hat"), dict(coarse="nicolaides", partition="ramp"),
                                dict(weighting="sqrt", coarse="hat", partition="multiplicity")])
def test_condition_estimate_approaches_dense_from_below(kw):
    dec = Decomposition(Problem(255), 8, 2)
    A = dec.problem.matrix()
    M = schwarz_preconditioner(dec, **kw)
    ev = dense_spectrum(A, M)
    est = condition_estimate(A, M, seed=1)
    assert ev[0] * (1 - 1e-10) <= est["lambda_min"] and est["lambda_max"] <= ev[-1] * (1 + 1e-10)
    assert est["kappa"] == pytest.approx(ev[-1] / ev[0], rel=0.02)
    assert est["converged"]


def test_dense_spectrum_without_preconditioner_is_the_closed_form():
    n = 63
    assert np.allclose(dense_spectrum(Problem(n).matrix()), Problem(n).eigenvalues(), rtol=1e-12)
    lam = Problem(n).eigenvalues()
    assert dense_condition_number(Problem(n).matrix()) == pytest.approx(lam[-1] / lam[0],
                                                                    rel=1e-10)


def test_dense_spectrum_is_that_of_the_product():
    dec = Decomposition(Problem(63), 4, 2)
    A = dec.problem.matrix()
    M = schwarz_preconditioner(dec, coarse="hat")
    direct = np.sort(np.linalg.eigvals(to_dense(M) @ A.toarray()).real)
    assert np.allclose(dense_spectrum(A, M), direct, rtol=1e-9)


def test_restricted_schwarz_with_gmres():
    """RAS converges under GMRES; with Boolean weights and a coarse space, in fewer steps than one-level."""
    dec = Decomposition(Problem(1023), 16, 4)
    A = dec.problem.matrix()
    b = np.random.default_rng(0).standard_normal(dec.n)
    one = gmres_iterations(A, b, schwarz_preconditioner(dec, weighting="left", coarse="none",
                                                         partition="boolean"), rtol=1e-8)
    two = gmres_iterations(A, b, schwarz_preconditioner(dec, weighting="left", coarse="hat",
                                                         partition="boolean"), rtol=1e-8)
    assert one["converged"] and two["converged"]
    assert two["iterations"] < one["iterations"]
    assert two["residual"] < 1e-6


@pytest.mark.parametrize("call,match", [
    (lambda: pcg(Problem(7).matrix(), np.ones(6)), "b must have length n = 7"),
    (lambda: pcg(Problem(7).matrix(), np.ones(7), rtol=0), "rtol must be a finite positive number"),
    (lambda: pcg(Problem(7).matrix(), np.ones(7), maxiter=0), "maxiter must be an integer >= 1"),
    (lambda: pcg(Problem(7).matrix(), np.full(7, np.nan)), "b must be finite"),
    (lambda: pcg(-Problem(7).matrix(), np.ones(7)), "must be symmetric positive definite"),
    (lambda: lanczos_tridiagonal([1.0, 2.0], []), "beta must hold at least"),
    (lambda: dense_spectrum(Problem(7).matrix(), -sp.eye(7)), "M must be symmetric positive definite"),
    (lambda: condition_estimate(Problem(7).matrix(), b=np.zeros(7)), "b must not be solved"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_zero_right_hand_side():
    res = pcg(Problem(7).matrix(), np.zeros(7))
    assert res.converged and res.iterations == 0 and np.all(res.x == 0)


@settings(max_examples=60, deadline=None)
@given(kappa=st.floats(1.0, 1e8), rtol=st.floats(1e-14, 0.5))
def test_chebyshev_iterations_is_the_smallest_step_count_of_the_bound(kappa, rtol):
    from ddlib.krylov import chebyshev_iterations

    k = chebyshev_iterations(kappa, rtol)
    q = (np.sqrt(kappa) - 1) / (np.sqrt(kappa) + 1)
    assert 2 * q**k <= rtol
    assert k == 1 or 2 * q ** (k - 1) > rtol


def test_chebyshev_iterations_grows_like_sqrt_kappa():
    """k ~ (1/2) sqrt(kappa) ln(2/rtol) for large kappa."""
    from ddlib.krylov import chebyshev_iterations

    for kappa in (1e4, 1e6):
        expected = 0.5 * np.sqrt(kappa) * np.log(2 / 1e-8)
        assert chebyshev_iterations(kappa, 1e-8) == pytest.approx(expected, rel=0.01)
    with pytest.raises(ValueError, match="kappa must be"):
        chebyshev_iterations(0.5)
    with pytest.raises(ValueError, match="rtol must be"):
        chebyshev_iterations(10.0, 1.5)


def test_pcg_spectrum_reads_iterations_and_both_spectra_from_one_run():
    from ddlib.krylov import pcg, pcg_spectrum

    n = 127
    A = Problem(n).matrix()
    M = schwarz_preconditioner(Decomposition(Problem(n), 8, 1), A, coarse="hat")
    b = np.random.default_rng(3).standard_normal(n)
    dense = pcg_spectrum(A, M, b, rtol=1e-8, kappa_rtol=1e-12, dense_max=n)
    ritz = pcg_spectrum(A, M, b, rtol=1e-8, kappa_rtol=1e-12, dense_max=n - 1)
    ev = dense_spectrum(A, M)
    assert dense["method"] == "dense" and dense["kappa"] == pytest.approx(ev[-1] / ev[0], rel=1e-12)
    assert ritz["method"] == "lanczos" and ritz["kappa"] == pytest.approx(dense["kappa"], rel=1e-6)
    res = pcg(A, b, M, rtol=1e-8)
    assert dense["iterations"] == ritz["iterations"] == res.iterations and dense["converged"]
