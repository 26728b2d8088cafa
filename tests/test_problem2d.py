"""The 2D model problem and its data sets: closed-form eigenpairs, the DST solve and the dense inverse to rounding,
the spectral content and seeding of each data set, clear errors."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings, strategies as st

from ddlib import data2d, problem2d
from ddlib.data import DATASETS


def all_modes(m):
    j, k = np.meshgrid(np.arange(1, m + 1), np.arange(1, m + 1), indexing="ij")
    return j.ravel(), k.ravel()


@given(m=st.integers(1, 14))
@settings(max_examples=15, deadline=None)
def test_eigenpairs_closed_form(m):
    A = problem2d.laplacian_2d(m)
    j, k = all_modes(m)
    lam = problem2d.eigenvalues_2d(m, j, k)
    V = problem2d.eigenvectors_2d(m, j, k)
    assert np.max(np.abs(A @ V - V * lam) / lam) < 1e-11
    assert np.allclose(np.linalg.eigvalsh(A.toarray()), problem2d.eigenvalues_2d(m), rtol=1e-10, atol=0)
    Vn = problem2d.eigenvectors_2d(m, j, k, normalized=True)
    assert np.allclose(Vn.T @ Vn, np.eye(m * m), atol=1e-12)
    # the sorted list is the sorted closed form, and mode (j, k) sits at [j - 1, k - 1] of the mode table
    assert np.allclose(problem2d.eigenvalues_2d(m), np.sort(lam), rtol=1e-14, atol=0)
    assert np.allclose(problem2d.mode_eigenvalues_2d(m).ravel(), lam, rtol=1e-14)


def test_matrix_is_the_kronecker_sum_in_lexicographic_order():
    m, h = 6, 1 / 7
    A = problem2d.laplacian_2d(m)
    assert sp.issparse(A) and A.nnz == 5 * m * m - 4 * m and A.dtype == np.float64
    # node (x_a, y_b) is unknown a m + b (0-based): its y-neighbour is the next unknown, its x-neighbour m further
    p = 2 * m + 3
    assert A[p, p] == pytest.approx(4 / h**2)
    assert A[p, p + 1] == pytest.approx(-1 / h**2) and A[p, p + m] == pytest.approx(-1 / h**2)
    assert A[m - 1, m] == 0.0  # no coupling across the end of a grid line
    # an eigenvector sin(j pi x) sin(k pi y) reshaped (m, m) varies with j along axis 0
    V = problem2d.eigenvectors_2d(m, [1], [3]).reshape(m, m)
    _, x = problem2d.grid_2d(m)
    assert np.allclose(V, np.outer(np.sin(np.pi * x), np.sin(3 * np.pi * x)))


@given(m=st.integers(1, 20), samples=st.integers(1, 4), seed=st.integers(0, 2**16))
@settings(max_examples=20, deadline=None)
def test_fast_solve_and_inverse_to_rounding(m, samples, seed):
    A = problem2d.laplacian_2d(m)
    F = np.random.default_rng(seed).standard_normal((samples, m * m))
    U = problem2d.solve_2d(F)
    assert U.shape == F.shape
    assert np.max(np.abs((A @ U.T).T - F)) < 1e-11 * np.abs(A).max() * np.abs(U).max() + 1e-12
    G = problem2d.inverse_2d(m)
    assert np.array_equal(G, G.T)
    assert np.max(np.abs(A @ G - np.eye(m * m))) < 1e-10
    assert np.allclose(problem2d.solve_2d(F[0]), G @ F[0], rtol=1e-10, atol=1e-15)


def test_box_eigenpairs_diagonalise_the_box_matrix():
    for mx, my in ((1, 1), (3, 5), (4, 4), (6, 2)):
        lam, V = problem2d.box_eigenpairs(mx, my, 0.1)
        B = problem2d.laplacian_2d_box(mx, my, 0.1).toarray()
        assert np.all(np.diff(lam) >= 0)
        assert np.allclose(V.T @ V, np.eye(mx * my), atol=1e-13)
        assert np.allclose(B @ V, V * lam, rtol=0, atol=1e-11 * lam.max())
    # the full grid is the box of m x m nodes with h = 1/(m+1)
    assert abs(problem2d.laplacian_2d_box(5, 5, 1 / 6) - problem2d.laplacian_2d(5)).max() < 1e-9


def test_green_diagonal_grows_like_log_and_far_field_stays_bounded():
    g = problem2d.green_diagonal_growth([15, 31, 63])
    # doubling m adds log(2)/(2 pi) to the diagonal of A^{-1}/h^2 (to O(h^2))
    steps = np.diff(g["max_diagonal"])
    assert np.allclose(steps, np.log(2) / (2 * np.pi), rtol=0.02)
    assert np.allclose(g["max_offdiagonal_far"], g["max_offdiagonal_far"][-1], rtol=0.05)


# ------------------------------------------------------------------------------------------------------- data sets
def spectrum(f, m):
    """Sine coefficients c_{jk} of rows f (orthonormal basis), as (samples, m, m) indexed [j - 1, k - 1]."""
    j, k = all_modes(m)
    return (f @ problem2d.eigenvectors_2d(m, j, k, normalized=True)).reshape(-1, m, m)


@given(m=st.integers(4, 16), K=st.integers(1, 4), seed=st.integers(0, 2**31))
@settings(max_examples=15, deadline=None)
def test_bands_live_in_their_square_shells(m, K, seed):
    K = min(K, m // 2)
    sets = data2d.make_datasets_2d(m, samples=5, K=K, seed=seed)
    j, k = np.meshgrid(np.arange(1, m + 1), np.arange(1, m + 1), indexing="ij")
    lam = problem2d.mode_eigenvalues_2d(m)
    for name, (lo, hi) in (("train", (1, K)), ("in_band", (1, K)), ("out_of_band", (K + 1, 2 * K))):
        assert sets[name].modes == (lo, hi)
        c = spectrum(sets[name].f, m)
        inside = (np.maximum(j, k) >= lo) & (np.maximum(j, k) <= hi)
        assert np.max(np.abs(c[:, ~inside]), initial=0) < 1e-10 * np.max(np.abs(c))
        cu = spectrum(sets[name].u, m)
        assert np.allclose(cu[:, inside], c[:, inside] / lam[inside], rtol=1e-8, atol=1e-14)


def test_synthesis_equals_the_eigenvector_sum():
    m = 9
    j, k = data2d.band_modes(2, 4)
    assert j.size == 4**2 - 1**2 and np.all(np.maximum(j, k) >= 2)
    c = np.random.default_rng(5).standard_normal((3, j.size))
    assert np.allclose(data2d.sine_synthesis(m, j, k, c), c @ problem2d.eigenvectors_2d(m, j, k).T, atol=1e-13)


def test_seeding_and_decay():
    a = data2d.make_datasets_2d(15, samples=4, K=3, seed=2)
    b = data2d.make_datasets_2d(15, samples=4, K=3, seed=2)
    c = data2d.make_datasets_2d(15, samples=4, K=3, seed=3)
    for name in DATASETS:
        assert np.array_equal(a[name].f, b[name].f) and not np.array_equal(a[name].f, c[name].f)
    assert not np.array_equal(a["train"].f, a["in_band"].f)
    # the random stream is default_rng([seed, index]); decay s scales mode (j, k) by |(j, k)|^-s
    flat = data2d.make_dataset_2d("train", 15, samples=4, K=3, seed=2, decay=0.0)
    decayed = data2d.make_dataset_2d("train", 15, samples=4, K=3, seed=2, decay=1.5)
    j, k = data2d.band_modes(1, 3)
    ratio = spectrum(decayed.f, 15)[:, j - 1, k - 1] / spectrum(flat.f, 15)[:, j - 1, k - 1]
    assert np.allclose(ratio, np.hypot(j, k) ** -1.5)


def test_noise_and_point_loads():
    m = 11
    h = 1 / 12
    d = data2d.make_dataset_2d("point_loads", m, samples=6, K=2, seed=1)
    assert np.allclose(h**2 * d.f.sum(axis=1), 1.0) and np.all((d.f > 0).sum(axis=1) == 1)
    p = np.argmax(d.f, axis=1)
    assert np.allclose(d.u, problem2d.inverse_2d(m)[:, p].T / h**2)
    noise = data2d.make_dataset_2d("noise", m, samples=200, K=2, seed=1)
    assert abs(noise.f.std() - 1) < 0.02 and noise.modes is None


@pytest.mark.parametrize("call,match", [
    (lambda: problem2d.laplacian_2d(0), "m must be an integer >= 1"),
    (lambda: problem2d.inverse_2d(65), "m must be an integer in \\[1, 64\\]"),
    (lambda: problem2d.solve_2d(np.ones(10)), "n = m\\^2"),
    (lambda: problem2d.solve_2d(np.full(9, np.nan)), "f must be finite"),
    (lambda: problem2d.eigenvalues_2d(4, [5], [1]), "mode numbers in \\[1, 4\\]"),
    (lambda: problem2d.eigenvectors_2d(4, [1, 2], [1]), "equal length"),
    (lambda: data2d.make_dataset_2d("train", 9, 3, K=5, seed=0), "K must be an integer in \\[1, 4\\]"),
    (lambda: data2d.make_dataset_2d("train", 9, 3, K=2, seed=-1), "seed must be an integer >= 0"),
    (lambda: data2d.make_dataset_2d("bands", 9, 3, K=2, seed=0), "name must be one of"),
    (lambda: data2d.make_dataset_2d("train", 9, 3, K=2, seed=0, decay=-1), "decay must be"),
    (lambda: data2d.band_modes(3, 2), "hi must be >= lo"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
