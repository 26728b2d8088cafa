"""Schwarz preconditioners: the exact 1D decomposition, symmetry and definiteness, agreement with a naive reference,
the 1D two-level bound, the measured scaling against the theory, scipy interoperability, memory, and input errors."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.linalg import cg, gmres

from ddlib.decomposition import COARSE_SPACES, PARTITIONS_OF_UNITY, WEIGHTINGS, Decomposition
from ddlib.krylov import condition_estimate, dense_spectrum
from ddlib.problem import inverse, laplacian_1d
from ddlib.schwarz import (CoarseOperator, OverlappingOperator, exact_decomposition, fit_constant,
                           hat_two_level_bound, schwarz_preconditioner, theory_shape, to_dense)
from ddlib.schwarz import measure as _measure

from test_decomposition import configs


def measure(*args, dense_max=255, **kw):
    """Dense spectra up to n = 255, Lanczos estimates above (their agreement is tested below): keeps the suite fast."""
    return _measure(*args, dense_max=dense_max, **kw)


def reference(dec, weighting, coarse, partition):
    """M^{-1} from the definitions, with dense local inverses and the sparse R_i (an independent implementation)."""
    A = laplacian_1d(dec.n).toarray()
    D = dec.partition_of_unity(partition)
    M = np.zeros((dec.n, dec.n))
    for R, d in zip(dec.restrictions(), D):
        R = R.toarray()
        Ai_inv = np.linalg.inv(R @ A @ R.T)
        wl, wr = {"none": (1.0, 1.0), "left": (d, 1.0), "sqrt": (np.sqrt(d), np.sqrt(d))}[weighting]
        M += R.T @ (np.multiply(wl, Ai_inv.T).T * wr) @ R
    Phi = dec.coarse_space(coarse, partition).toarray()
    if Phi.shape[1]:
        M += Phi @ np.linalg.solve(Phi.T @ A @ Phi, Phi.T)
    return M


@pytest.mark.parametrize("n,N", [(15, 2), (63, 4), (63, 8), (255, 8), (255, 16), (511, 32)])
def test_exact_decomposition(n, N):
    """A^{-1} = Phi A_0^{-1} Phi^T + sum_E R_E^T A_E^{-1} R_E, to rounding."""
    coarse, local = exact_decomposition(n, N)
    Ainv = inverse(n)
    assert np.max(np.abs(coarse + local - Ainv)) <= 1e-13 * np.max(np.abs(Ainv))
    # the local part is block diagonal: no coupling between different elements or with the coarse nodes
    coarse_nodes = Decomposition(n, N, 0).coarse_nodes
    assert np.all(local[coarse_nodes] == 0) and np.all(local[:, coarse_nodes] == 0)


@settings(max_examples=30, deadline=None)
@given(configs(max_N=10, max_m=16))
def test_exact_decomposition_random(cfg):
    n, N, _ = cfg
    coarse, local = exact_decomposition(n, N)
    Ainv = inverse(n)
    assert np.max(np.abs(coarse + local - Ainv)) <= 1e-12 * np.max(np.abs(Ainv))


@settings(max_examples=40, deadline=None)
@given(configs(max_N=8, max_m=12), st.sampled_from(WEIGHTINGS), st.sampled_from(COARSE_SPACES),
       st.sampled_from(PARTITIONS_OF_UNITY))
def test_matches_reference(cfg, weighting, coarse, partition):
    dec = Decomposition(*cfg)
    M = schwarz_preconditioner(dec, weighting=weighting, coarse=coarse, partition=partition)
    Md = to_dense(M)
    ref = reference(dec, weighting, coarse, partition)
    assert np.allclose(Md, ref, rtol=1e-10, atol=1e-12 * np.abs(ref).max())
    # rmatvec is the transpose (matters for the nonsymmetric restricted variant)
    x = np.random.default_rng(1).standard_normal(dec.n)
    assert np.allclose(M.rmatvec(x), ref.T @ x, atol=1e-12 * np.abs(ref).max() * np.abs(x).sum())
    assert M.levels == (2 if dec.coarse_space(coarse).shape[1] else 1)


@settings(max_examples=40, deadline=None)
@given(configs(max_N=8, max_m=12), st.sampled_from(["none", "sqrt"]), st.sampled_from(COARSE_SPACES),
       st.sampled_from(PARTITIONS_OF_UNITY))
def test_symmetric_preconditioners_are_spd(cfg, weighting, coarse, partition):
    dec = Decomposition(*cfg)
    M = schwarz_preconditioner(dec, weighting=weighting, coarse=coarse, partition=partition)
    assert M.symmetric
    Md = to_dense(M)
    scale = np.abs(Md).max()
    assert np.max(np.abs(Md - Md.T)) <= 1e-13 * scale
    assert np.linalg.eigvalsh(Md)[0] > 0
    # and so is the preconditioned operator's spectrum
    assert dense_spectrum(laplacian_1d(dec.n), M)[0] > 0


def test_restricted_is_not_symmetric():
    M = schwarz_preconditioner(Decomposition(63, 4, 2), weighting="left", partition="boolean")
    Md = to_dense(M)
    assert not M.symmetric and np.max(np.abs(Md - Md.T)) > 1e-6 * np.abs(Md).max()


@settings(max_examples=50, deadline=None)
@given(configs(max_N=12, max_m=16))
def test_two_level_hat_bound(cfg):
    """1D theorem (see hat_two_level_bound): 1 <= lambda(M^{-1}A) <= 1 + N_c, so kappa < 4 when 2 delta + 1 <= m."""
    dec = Decomposition(*cfg)
    ev = dense_spectrum(laplacian_1d(dec.n), schwarz_preconditioner(dec, coarse="hat"))
    assert ev[0] >= 1 - 1e-9
    assert ev[-1] <= hat_two_level_bound(dec) + 1e-9
    if 2 * dec.delta + 1 <= dec.m:
        assert ev[-1] / ev[0] < 3 + 1e-9
    # one level: lambda_max <= N_c (colouring)
    ev1 = dense_spectrum(laplacian_1d(dec.n), schwarz_preconditioner(dec, coarse="none"))
    assert ev1[-1] <= dec.n_colors + 1e-9


def test_two_level_does_not_grow_with_n_at_fixed_H_over_h():
    """m = H/h = 32, delta = 2: kappa stays below 4 and does not grow from n = 127 to n = 4095 (N = 4..128)."""
    rows = [measure(32 * N - 1, N, 2, coarse="hat") for N in (4, 8, 16, 32, 64, 128)]
    kappa = np.array([r["kappa"] for r in rows])
    assert np.all(kappa < 4)
    # it saturates: within 3 % over a 32-fold refinement, and the last doubling changes it by less than 0.005
    assert kappa.max() / kappa.min() < 1.03, kappa
    assert abs(kappa[-1] - kappa[-2]) < 5e-3, kappa
    # the one-level method, by contrast, grows like 1/(H delta) ~ n^2 at fixed H/h and delta/h
    one = np.array([measure(32 * N - 1, N, 2, coarse="none")["kappa"] for N in (4, 8, 16, 32)])
    assert np.all(np.diff(np.log2(one)) > 1.8)


def test_one_level_doubles_when_N_doubles():
    """n = 1023, delta = 2: kappa(2N)/kappa(N) is about 2, as 1 + 1/(H delta) predicts when 1/(H delta) dominates."""
    kappa = np.array([measure(1023, N, 2, coarse="none")["kappa"] for N in (4, 8, 16, 32, 64)])
    ratios = kappa[1:] / kappa[:-1]
    assert np.all((ratios > 1.7) & (ratios < 2.3)), ratios
    shape = np.array([theory_shape(Decomposition(1023, N, 2), 1) for N in (4, 8, 16, 32, 64)])
    assert np.allclose(ratios, shape[1:] / shape[:-1], rtol=0.1)


def test_one_level_falls_when_delta_grows():
    kappa = np.array([measure(255, 8, d, coarse="none")["kappa"] for d in (0, 1, 2, 4, 8, 16)])
    assert np.all(np.diff(kappa) < 0), kappa


def test_nicolaides_ramp_follows_one_plus_H_over_delta():
    """Two levels with the (ramp-weighted) Nicolaides space: kappa / (1 + H/delta_g) stays within a factor 2."""
    rows = [measure(n, N, d, coarse="nicolaides", partition="ramp")
            for n, N, d in [(255, 8, 1), (255, 8, 4), (511, 8, 2), (511, 16, 2), (1023, 16, 8), (1023, 64, 0)]]
    ratio = np.array([r["kappa"] / r["shape"] for r in rows])
    assert ratio.max() / ratio.min() < 2, ratio
    assert fit_constant(rows) == pytest.approx(ratio.max())


def test_nicolaides_needs_the_smooth_ramp():
    """n = 255, N = 8 (m = 32): from delta = 1 to 8 the ramp-weighted Nicolaides kappa falls like H/delta (more than
    3x), the multiplicity-weighted one, whose functions jump by 1/2 within one mesh interval, by less than 2x."""
    def kappa(d, partition):
        return measure(255, 8, d, coarse="nicolaides", partition=partition)["kappa"]

    assert kappa(1, "ramp") / kappa(8, "ramp") > 3
    assert kappa(1, "multiplicity") / kappa(8, "multiplicity") < 2
    assert kappa(8, "ramp") < kappa(8, "multiplicity") / 2


def test_lanczos_estimate_agrees_with_dense():
    for kw in (dict(coarse="none"), dict(coarse="hat"), dict(weighting="sqrt", partition="ramp")):
        dense = measure(255, 16, 2, dense_max=255, **kw)
        lz = measure(255, 16, 2, dense_max=0, **kw)
        assert dense["method"] == "dense" and lz["method"] == "lanczos"
        assert lz["kappa"] <= dense["kappa"] * (1 + 1e-8)
        assert lz["kappa"] == pytest.approx(dense["kappa"], rel=0.02)
        assert lz["pcg_iterations"] == dense["pcg_iterations"]


@pytest.mark.parametrize("weighting,solver", [("none", cg), ("sqrt", cg), ("left", gmres)])
def test_usable_in_scipy_krylov(weighting, solver):
    dec = Decomposition(1023, 16, 4)
    A = laplacian_1d(dec.n)
    b = np.random.default_rng(3).standard_normal(dec.n)
    M = schwarz_preconditioner(dec, weighting=weighting, coarse="hat", partition="ramp")
    x, info = solver(A, b, M=M, rtol=1e-10, maxiter=200)
    assert info == 0
    assert np.linalg.norm(A @ x - b) <= 1e-8 * np.linalg.norm(b)


def test_matmat_equals_matvec():
    dec = Decomposition(255, 8, 3)
    M = schwarz_preconditioner(dec, weighting="sqrt", coarse="nicolaides", partition="ramp")
    X = np.random.default_rng(2).standard_normal((dec.n, 5))
    Y = M @ X
    assert np.allclose(Y, np.column_stack([M @ X[:, k] for k in range(5)]), rtol=1e-13, atol=1e-15)


def test_memory_is_linear_in_n():
    """Stored bytes per node stay constant when n doubles at fixed H/h (the O(n) memory claim)."""
    per_node = [schwarz_preconditioner(Decomposition(64 * N - 1, N, 4)).nbytes / (64 * N) for N in (64, 128, 256)]
    assert max(per_node) / min(per_node) < 1.05
    assert max(per_node) < 200  # bytes per node


def test_parts_are_additive():
    dec = Decomposition(127, 4, 2)
    M = schwarz_preconditioner(dec, coarse="hat")
    x = np.random.default_rng(4).standard_normal(dec.n)
    assert np.allclose(M @ x, M.overlapping @ x + M.coarse @ x)
    assert np.array_equal(CoarseOperator(dec, coarse="none") @ x, np.zeros(dec.n))


@pytest.mark.parametrize("call,match", [
    (lambda d: schwarz_preconditioner(d, weighting="multiplicative"), "weighting must be one of"),
    (lambda d: schwarz_preconditioner(d, coarse="gdsw"), "coarse must be one of"),
    (lambda d: schwarz_preconditioner(d, partition="smooth"), "partition must be one of"),
    (lambda d: OverlappingOperator(d, A=laplacian_1d(31)), "A must have shape \\(63, 63\\)"),
    (lambda d: OverlappingOperator(d, A=sp.eye(63) + sp.eye(63, k=2)), "A must be tridiagonal"),
    (lambda d: OverlappingOperator(d, A=sp.eye(63) + sp.eye(63, k=1)), "A must be symmetric"),
    (lambda d: OverlappingOperator(d, A=-laplacian_1d(63)), "A must be positive definite"),
    (lambda d: OverlappingOperator("not a decomposition"), "dec must be"),
    (lambda d: measure(63, 4, 1, weighting="left"), "weighting must be 'none' or 'sqrt'"),
    (lambda d: theory_shape(d, 3), "levels must be an integer in \\[1, 2\\]"),
    (lambda d: fit_constant([]), "rows must hold"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call(Decomposition(63, 4, 1))


@pytest.mark.slow
def test_two_level_at_n_2_to_the_20():
    """n = 2^20 - 1, N = 1024, delta = 8: O(n) storage (under 100 bytes per node) and PCG to 1e-8 in few steps."""
    from ddlib.krylov import pcg

    dec = Decomposition(2**20 - 1, 1024, 8)
    A = laplacian_1d(dec.n)
    M = schwarz_preconditioner(dec, A)
    assert M.nbytes / dec.n < 100
    b = np.random.default_rng(0).standard_normal(dec.n)
    res = pcg(A, b, M, rtol=1e-8, maxiter=50)
    assert res.converged and res.iterations <= 20
    # the true residual is limited by rounding in A x, about eps ||A|| ||x|| (kappa(A) ~ 4e11 here), not by PCG
    true = np.linalg.norm(A @ res.x - b)
    assert true <= 1e-8 * np.linalg.norm(b) + 64 * np.finfo(float).eps * abs(A).max() * 2 * np.linalg.norm(res.x)
