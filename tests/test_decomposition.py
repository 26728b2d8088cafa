"""Decomposition: index sets, partitions of unity, coarse spaces, the Galerkin coarse matrix, and input errors."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from ddlib.decomposition import COARSE_SPACES, PARTITIONS_OF_UNITY, Decomposition, element_decomposition
from ddlib.problem import laplacian_1d


@st.composite
def configs(draw, max_N=12, max_m=20):
    """A random valid (n, N, delta): N blocks of m >= 2 mesh intervals, n = N m - 1, 0 <= delta <= m - 1."""
    N = draw(st.integers(1, max_N))
    m = draw(st.integers(2, max_m))
    delta = draw(st.integers(0, m - 1))
    return N * m - 1, N, delta


def pou_sum(dec, weights):
    """sum_i R_i^T diag(w_i) R_i, assembled from the sparse restrictions, as a dense matrix."""
    return sum((R.T @ sp.diags(w) @ R).toarray() for R, w in zip(dec.restrictions(), weights))


@settings(max_examples=60, deadline=None)
@given(configs(), st.sampled_from(PARTITIONS_OF_UNITY))
def test_partition_of_unity_sums_to_identity(cfg, kind):
    dec = Decomposition(*cfg)
    D = dec.partition_of_unity(kind)
    assert all(np.all(d >= 0) for d in D)
    assert np.allclose(pou_sum(dec, D), np.eye(dec.n), atol=1e-14)
    # the paper's square-root weights on both sides give the identity too
    assert np.allclose(pou_sum(dec, [np.sqrt(d) * np.sqrt(d) for d in D]), np.eye(dec.n), atol=1e-14)
    # the padded form holds the same numbers, zero on padding slots
    P = dec.padded_partition_of_unity(kind)
    assert np.all(P[~dec.mask] == 0)
    assert all(np.array_equal(P[i, : dec.sizes[i]], D[i]) for i in range(dec.N))


@settings(max_examples=60, deadline=None)
@given(configs())
def test_index_sets(cfg):
    n, N, delta = cfg
    dec = Decomposition(n, N, delta)
    m = (n + 1) // N
    # blocks partition the nodes; the interface node i m (1-based) is the last node of block i - 1
    blocks = [np.arange(a, b) for a, b in dec.block_bounds]
    assert np.array_equal(np.concatenate(blocks), np.arange(n))
    assert all(blk[-1] + 1 == k * m for k, blk in enumerate(blocks[:-1], start=1))
    # subdomains extend blocks by delta on each side; neighbours share exactly 2 delta nodes
    for i in range(N - 1):
        assert np.intersect1d(dec.indices[i], dec.indices[i + 1]).size == 2 * delta
    assert np.array_equal(dec.sizes, [idx.size for idx in dec.indices])
    assert dec.n_max == max(dec.sizes)
    J, mask = dec.padded_indices, dec.mask
    assert all(np.array_equal(J[i, mask[i]], dec.indices[i]) for i in range(N))
    assert np.array_equal(dec.multiplicity, np.bincount(np.concatenate(dec.indices), minlength=n))


@settings(max_examples=60, deadline=None)
@given(configs())
def test_colours_separate_subdomains(cfg):
    """Subdomains i and i + N_c are separated by at least one node; N_c is the smallest such number."""
    dec = Decomposition(*cfg)
    c = dec.n_colors
    for i in range(dec.N - c):
        assert dec.indices[i][-1] + 1 < dec.indices[i + c][0]
    if c >= 2 and dec.N > c - 1:
        assert any(dec.indices[i][-1] + 1 >= dec.indices[i + c - 1][0] for i in range(dec.N - c + 1))


@settings(max_examples=40, deadline=None)
@given(configs())
def test_hat_coarse_space(cfg):
    """Hats interpolate at the coarse nodes, are discrete-harmonic between them, and A_0 = tridiag(-1,2,-1)/(hH)."""
    dec = Decomposition(*cfg)
    Phi = dec.coarse_space("hat").toarray()
    assert Phi.shape == (dec.n, dec.N - 1)
    assert np.allclose(Phi[dec.coarse_nodes], np.eye(dec.N - 1), atol=1e-15)
    A = laplacian_1d(dec.n)
    APhi = A @ Phi
    others = np.setdiff1d(np.arange(dec.n), dec.coarse_nodes)
    assert np.max(np.abs(APhi[others]), initial=0.0) <= 1e-9 * np.abs(A).max()
    k = dec.N - 1
    expected = (2 * np.eye(k) - np.eye(k, k=1) - np.eye(k, k=-1)) / (dec.h * dec.H)
    assert np.allclose(dec.coarse_matrix("hat"), expected, rtol=1e-12, atol=1e-9 * np.abs(expected).max(initial=1))
    assert np.allclose(dec.coarse_matrix("hat", sparse=True).toarray(), dec.coarse_matrix("hat"))


@settings(max_examples=40, deadline=None)
@given(configs(), st.sampled_from(PARTITIONS_OF_UNITY))
def test_nicolaides_coarse_space(cfg, kind):
    """The Nicolaides functions are D_i-weighted constants and sum to the constant function."""
    dec = Decomposition(*cfg)
    Phi = dec.coarse_space("nicolaides", partition=kind).toarray()
    assert Phi.shape == (dec.n, dec.N)
    assert np.allclose(Phi.sum(axis=1), 1.0)
    D = dec.partition_of_unity(kind)
    for i in range(dec.N):
        assert np.allclose(Phi[dec.indices[i], i], D[i])


def test_no_coarse_space():
    dec = Decomposition(63, 4, 2)
    assert dec.coarse_space("none").shape == (63, 0)


def test_ramp_is_boolean_without_overlap_and_smooth_with_it():
    dec = Decomposition(63, 4, 0)
    for r, b in zip(dec.partition_of_unity("ramp"), dec.partition_of_unity("boolean")):
        assert np.array_equal(r, b)
    dec = Decomposition(63, 4, 3)
    D = dec.padded_partition_of_unity("ramp")
    full = np.zeros((dec.N, dec.n))
    for i in range(dec.N):
        full[i, dec.indices[i]] = D[i, : dec.sizes[i]]
    # across an overlap of 2 delta nodes the weight steps by 1 / (2 delta + 1): a linear ramp, no jump
    assert np.max(np.abs(np.diff(full, axis=1))) == pytest.approx(1.0 / (2 * dec.delta + 1))


@pytest.mark.parametrize("n,N", [(15, 2), (63, 4), (255, 8), (255, 16)])
def test_element_decomposition(n, N):
    els = element_decomposition(n, N)
    m = (n + 1) // N
    assert len(els) == N and all(e.size == m - 1 for e in els)
    coarse = Decomposition(n, N, 0).coarse_nodes
    assert np.array_equal(np.sort(np.concatenate([*els, coarse])), np.arange(n))


def test_hat_coarse_space_is_sparse_at_scale():
    """O(n) entries: 2m - 1 per hat (the dense construction would need n (N - 1) numbers)."""
    dec = Decomposition(2**16 - 1, 256, 4)
    Phi = dec.coarse_space("hat")
    assert Phi.nnz == (dec.N - 1) * (2 * dec.m - 1)


@pytest.mark.parametrize("kwargs,match", [
    (dict(n=63, N=0, delta=1), "N must be an integer in"),
    (dict(n=63, N=64, delta=1), "N must be an integer in"),
    (dict(n=64, N=4, delta=1), "N must divide"),
    (dict(n=63, N=4, delta=16), "delta must be an integer in \\[0, 15\\]"),
    (dict(n=63, N=4, delta=-1), "delta must be an integer"),
    (dict(n=0, N=1, delta=0), "n must be an integer"),
    (dict(n=63, N=2.5, delta=1), "N must be an integer"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Decomposition(**kwargs)


@pytest.mark.parametrize("call,match", [
    (lambda d: d.partition_of_unity("smooth"), "kind must be one of"),
    (lambda d: d.padded_partition_of_unity("owner"), "kind must be one of"),
    (lambda d: d.coarse_space("gdsw"), "kind must be one of"),
    (lambda d: d.coarse_space("nicolaides", partition="x"), "partition must be one of"),
    (lambda d: d.restriction(4), "i must be an integer in \\[0, 3\\]"),
])
def test_bad_choices(call, match):
    with pytest.raises(ValueError, match=match):
        call(Decomposition(63, 4, 1))


def test_names():
    assert set(PARTITIONS_OF_UNITY) == {"multiplicity", "ramp", "boolean"}
    assert set(COARSE_SPACES) == {"hat", "nicolaides", "none"}
