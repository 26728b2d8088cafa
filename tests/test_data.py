"""The data sets in every dimension: determinism, the spectral content of each set, the probes, clear errors."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ddlib import data
from ddlib.coefficients import channels
from ddlib.problem import Problem, green_function

SIDES = {1: 63, 2: 15, 3: 7}


@pytest.mark.parametrize("d", [1, 2, 3])
def test_same_seed_same_data_and_different_seed_differs(d):
    P = Problem((SIDES[d],) * d)
    a, b, c = (data.make_datasets(P, samples=8, K=3, seed=s) for s in (3, 3, 4))
    for name in data.DATASETS:
        assert np.array_equal(a[name].f, b[name].f) and np.array_equal(a[name].u, b[name].u)
        assert not np.array_equal(a[name].f, c[name].f)
    # the sets of one seed are independent draws: the in-band test set is not the training set
    assert not np.array_equal(a["train"].f, a["in_band"].f)


def _coefficients(P, f):
    """Sine coefficients of rows f in the orthonormal eigenbasis, indexed by the mode table (samples, m, ..., m)."""
    modes = np.indices(P.shape).reshape(P.dim, -1).T + 1
    return (f @ P.eigenvectors(modes, normalized=True)).reshape(-1, *P.shape), modes


@given(d=st.integers(1, 3), K=st.integers(1, 3), seed=st.integers(0, 2**31))
@settings(max_examples=20, deadline=None)
def test_bands_live_in_their_shells(d, K, seed):
    P = Problem((SIDES[d],) * d)
    K = min(K, P.m // 2)
    sets = data.make_datasets(P, samples=5, K=K, seed=seed)
    lam = P.eigenvalues(np.indices(P.shape).reshape(d, -1).T + 1).reshape(P.shape)
    top = np.indices(P.shape).max(axis=0) + 1                     # max_j k_j of each mode
    for name, (lo, hi) in (("train", (1, K)), ("in_band", (1, K)), ("out_of_band", (K + 1, 2 * K))):
        assert sets[name].modes == (lo, hi)
        c, _ = _coefficients(P, sets[name].f)
        inside = (top >= lo) & (top <= hi)
        assert np.max(np.abs(c[:, ~inside]), initial=0) < 1e-10 * np.max(np.abs(c))
        cu, _ = _coefficients(P, sets[name].u)                   # u = A^{-1} f divides each mode by its eigenvalue
        assert np.allclose(cu[:, inside], c[:, inside] / lam[inside], rtol=1e-8, atol=1e-14)


@pytest.mark.parametrize("d", [1, 2, 3])
def test_synthesis_equals_the_eigenvector_sum(d):
    P = Problem((SIDES[d],) * d)
    modes = data.band_modes(2, 3, d)
    assert modes.shape == (3**d - 1, d) and np.all(modes.max(axis=1) >= 2)
    c = np.random.default_rng(5).standard_normal((3, modes.shape[0]))
    assert np.allclose(data.sine_synthesis(P, modes, c), c @ P.eigenvectors(modes).T, atol=1e-12)


def test_point_loads_give_green_function_columns():
    P = Problem(31)
    d = data.make_dataset("point_loads", P, samples=5, K=3, seed=1)
    x = P.nodes()[:, 0]
    j = np.argmax(d.f, axis=1)
    assert np.allclose(d.f.sum(axis=1), 1 / P.h)
    assert np.allclose(d.u, green_function(x[None, :], x[j][:, None]), atol=1e-12)
    Q = Problem((11, 11))
    e = data.make_dataset("point_loads", Q, samples=6, K=2, seed=1)
    assert np.allclose(Q.weight * e.f.sum(axis=1), 1.0) and np.all((e.f > 0).sum(axis=1) == 1)
    assert np.allclose(e.u, Q.inverse()[:, np.argmax(e.f, axis=1)].T / Q.weight)


def test_decay_scales_coefficients():
    P = Problem((15, 15))
    flat = data.make_dataset("train", P, samples=4, K=3, seed=2, decay=0.0)
    decayed = data.make_dataset("train", P, samples=4, K=3, seed=2, decay=1.5)
    c0, _ = _coefficients(P, flat.f)
    c1, _ = _coefficients(P, decayed.f)
    k = data.band_modes(1, 3, 2)
    ratio = c1[:, k[:, 0] - 1, k[:, 1] - 1] / c0[:, k[:, 0] - 1, k[:, 1] - 1]
    assert np.allclose(ratio, np.linalg.norm(k, axis=1) ** -1.5)


def test_noise_and_variable_coefficient_solutions():
    P = Problem((15, 15), channels(15, 2, 1e3))
    d = data.make_dataset("noise", P, samples=200, K=2, seed=1)
    assert abs(d.f.std() - 1) < 0.02 and d.modes is None
    assert np.allclose((P.matrix() @ d.u.T).T, d.f, atol=1e-9 * np.abs(d.f).max())


@given(d=st.integers(1, 3), seed=st.integers(0, 2**16))
@settings(max_examples=10, deadline=None)
def test_probes_satisfy_f_equals_A_u(d, seed):
    P = Problem((SIDES[d],) * d)
    for kind in ("probes", "energy_probes"):
        s = data.make_dataset("train", P, samples=4, K=2, seed=seed, training=kind)
        assert np.allclose((P.matrix() @ s.u.T).T, s.f, rtol=1e-9, atol=1e-9 * np.abs(s.f).max())


def test_energy_probes_have_covariance_A_inverse():
    # u = A^{-1/2} w: E[u u^T] = A^{-1}, checked on the quadratic form of the first eigenvector
    P = Problem(31)
    s = data.make_dataset("train", P, samples=20000, K=2, seed=0, training="energy_probes")
    v = P.eigenvectors([1], normalized=True)[:, 0]
    assert np.mean((s.u @ v) ** 2) == pytest.approx(1 / P.eigenvalues([1])[0], rel=0.03)


def test_relative_error():
    u = np.array([[3.0, 4.0]])
    assert data.relative_l2_error(u * 1.1, u)[0] == pytest.approx(0.1)


@pytest.mark.parametrize("kwargs, match", [
    (dict(name="fourier"), "name must be one of"),
    (dict(problem=63), "problem must be a ddlib.problem.Problem"),
    (dict(samples=2.5), "samples must be an integer"),
    (dict(K=0), "K must be an integer"),
    (dict(K=40), r"K must be an integer in \[1, 31\]"),
    (dict(seed=-1), "seed must be an integer >= 0"),
    (dict(decay=float("nan")), "decay must be a finite number"),
    (dict(training="bands"), "training must be one of"),
])
def test_bad_input_names_the_parameter(kwargs, match):
    args = dict(name="train", problem=Problem(63), samples=4, K=4, seed=0) | kwargs
    with pytest.raises(ValueError, match=match):
        data.make_dataset(**args)


@pytest.mark.parametrize("shape", [15, (7, 7), (4, 4, 4)])
def test_gradient_factor_squares_to_A_for_a_variable_coefficient(shape):
    P = Problem(shape)
    P = Problem(shape, channels(P.m, P.dim, 1e3) * (1 + np.arange((P.m + 1) ** P.dim).reshape((P.m + 1,) * P.dim)
                                                   % 3))
    B = data.gradient_factor(P)
    assert abs(B @ B.T - P.matrix()).max() <= 1e-12 * abs(P.matrix()).max()


def test_energy_probes_with_a_variable_coefficient_have_covariance_A_inverse():
    # f = B w with B B^T = A, u = A^{-1} f: E[u u^T] = A^{-1}; checked on the quadratic forms of two vectors
    P = Problem((7, 7), channels(7, 2, 10.0))
    s = data.make_dataset("train", P, samples=20000, K=2, seed=0, training="energy_probes")
    assert np.allclose((P.matrix() @ s.u.T).T, s.f, atol=1e-9 * np.abs(s.f).max())
    G = P.inverse()
    for v in (np.ones(P.n), np.random.default_rng(1).standard_normal(P.n)):
        assert np.mean((s.u @ v) ** 2) == pytest.approx(v @ G @ v, rel=0.04)
    with pytest.raises(ValueError, match="hi must be >= lo"):
        data.band_modes(3, 2)
