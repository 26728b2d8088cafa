"""The data sets: determinism, the spectral content of each set, and clear errors."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ddlib import data, problem


def test_same_seed_same_data_and_different_seed_differs():
    a = data.make_datasets(63, samples=8, K=5, seed=3)
    b = data.make_datasets(63, samples=8, K=5, seed=3)
    c = data.make_datasets(63, samples=8, K=5, seed=4)
    for name in data.DATASETS:
        assert np.array_equal(a[name].f, b[name].f) and np.array_equal(a[name].u, b[name].u)
        assert not np.array_equal(a[name].f, c[name].f)
    # the sets of one seed are independent draws: the in-band test set is not the training set
    assert not np.array_equal(a["train"].f, a["in_band"].f)


@given(n=st.integers(8, 120), K=st.integers(1, 4), seed=st.integers(0, 2**31))
@settings(max_examples=25, deadline=None)
def test_bands_live_in_their_sine_modes(n, K, seed):
    K = min(K, n // 2)
    sets = data.make_datasets(n, samples=6, K=K, seed=seed)
    V = problem.eigenvectors(n, normalized=True)
    for name, (lo, hi) in (("train", (1, K)), ("in_band", (1, K)), ("out_of_band", (K + 1, 2 * K))):
        c = sets[name].f @ V  # sine coefficients
        inside = np.zeros(n, bool)
        inside[lo - 1:hi] = True
        assert np.max(np.abs(c[:, ~inside])) < 1e-9 * np.max(np.abs(c))
        # u = A^{-1} f divides each mode by its eigenvalue
        cu = sets[name].u @ V
        assert np.allclose(cu[:, inside], c[:, inside] / problem.eigenvalues(n)[inside], rtol=1e-8, atol=1e-14)


def test_point_loads_give_green_function_columns():
    d = data.make_dataset("point_loads", 31, samples=5, K=3, seed=1)
    h, x = problem.grid(31)
    j = np.argmax(d.f, axis=1)
    assert np.allclose(d.f.sum(axis=1), 1 / h)
    assert np.allclose(d.u, problem.green_function(x[None, :], x[j][:, None]), atol=1e-12)


def test_decay_scales_coefficients():
    d0 = data.make_dataset("train", 127, samples=4000, K=8, seed=0, decay=0.0)
    d2 = data.make_dataset("train", 127, samples=4000, K=8, seed=0, decay=2.0)
    V = problem.eigenvectors(127, normalized=True)
    s0, s2 = np.std(d0.f @ V, axis=0)[:8], np.std(d2.f @ V, axis=0)[:8]
    k = np.arange(1, 9)
    # same normal draws, coefficient k scaled by k^-2
    assert np.allclose(s2 / s0, k ** -2.0, rtol=1e-12)


def test_relative_error():
    u = np.array([[3.0, 4.0]])
    assert data.relative_l2_error(u * 1.1, u)[0] == pytest.approx(0.1)


@pytest.mark.parametrize("kwargs, match", [
    (dict(name="fourier"), "name must be one of"),
    (dict(n=0), "n must be an integer"),
    (dict(samples=2.5), "samples must be an integer"),
    (dict(K=0), "K must be an integer"),
    (dict(K=40), r"K must be an integer in \[1, 31\]"),
    (dict(seed=-1), "seed must be an integer >= 0"),
    (dict(decay=float("nan")), "decay must be a finite number"),
])
def test_bad_input_names_the_parameter(kwargs, match):
    args = dict(name="train", n=63, samples=4, K=4, seed=0) | kwargs
    with pytest.raises(ValueError, match=match):
        data.make_dataset(**args)
