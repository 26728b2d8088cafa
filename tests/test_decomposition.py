"""The box decomposition in every dimension: index sets, partitions of unity, colours, coarse spaces, clear errors."""
import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from ddlib.decomposition import COARSE_SPACES, PARTITIONS_OF_UNITY, Decomposition, Split, padded_support
from ddlib.problem import Problem

FAST = settings(max_examples=30, deadline=None)


@st.composite
def configs(draw, split="interface"):
    """A random valid decomposition: d in 1..3, N boxes of b >= 2 nodes per side (m = N b - 1), 0 <= delta < b."""
    d = draw(st.integers(1, 3))
    N = draw(st.integers(1, {1: 10, 2: 4, 3: 3}[d]))
    b = draw(st.integers(2, {1: 12, 2: 5, 3: 3}[d]))
    if split == "round":
        m = draw(st.integers(2 * N, N * b + 2))
        smallest = int(np.diff(np.round(np.arange(N + 1) * m / N)).min())
        return Decomposition(Problem((m,) * d), N, draw(st.integers(0, max(0, smallest - 1))), split="round")
    return Decomposition(Problem((N * b - 1,) * d), N, draw(st.integers(0, b - 1)))


def pou_sum(dec, weights):
    """sum_i R_i^T diag(w_i) R_i from the sparse restrictions (the paper's formula, one subdomain at a time)."""
    return sum((R.T @ sp.diags(w) @ R) for R, w in zip(dec.restrictions(), weights)).toarray()


@FAST
@given(st.one_of(configs(), configs("round")), st.sampled_from(PARTITIONS_OF_UNITY))
def test_partition_of_unity_sums_to_identity(dec, kind):
    D = dec.partition_of_unity(kind)
    assert all(np.all(w >= 0) for w in D)
    assert np.allclose(pou_sum(dec, D), np.eye(dec.n), atol=1e-14)
    # the paper's square-root weights on both sides give the identity too
    assert np.allclose(pou_sum(dec, [np.sqrt(w) * np.sqrt(w) for w in D]), np.eye(dec.n), atol=1e-14)
    P = dec.padded_partition_of_unity(kind)
    assert np.all(P[~dec.mask] == 0)
    if kind == "multiplicity":
        assert all(np.allclose(D[i], 1 / dec.multiplicity[dec.indices[i]]) for i in range(dec.n_sub))


@FAST
@given(st.one_of(configs(), configs("round")))
def test_index_sets_are_boxes(dec):
    s, m = dec.axis, dec.m
    assert dec.n_sub == dec.N**dec.dim
    assert np.array_equal(np.concatenate([np.arange(a, b) for a, b in s.block_bounds]), np.arange(m))
    for i, box in enumerate(itertools.product(range(dec.N), repeat=dec.dim)):
        ranges = [np.arange(*s.bounds[k]) for k in box]      # extension by delta per axis, clipped
        nodes = np.ravel_multi_index(np.meshgrid(*ranges, indexing="ij"), (m,) * dec.dim).ravel()
        assert np.array_equal(dec.indices[i], np.sort(nodes))
        assert np.array_equal(dec.padded_indices[i, dec.mask[i]], dec.indices[i])
    assert dec.n_max == dec.sizes.max() and dec.mask.sum() == dec.sizes.sum()
    assert np.array_equal(dec.multiplicity, np.bincount(np.concatenate(dec.indices), minlength=dec.n))
    if dec.split == "interface" and dec.N > 1:                 # the coarse node k H is the last node of block k - 1
        assert np.all(s.block_bounds[:-1, 1] == np.arange(1, dec.N) * dec.box)


@FAST
@given(st.one_of(configs(), configs("round")))
def test_colours_make_boxes_A_orthogonal(dec):
    """Boxes whose per-axis block indices agree modulo N_c share no node and do not couple through the stencil, and
    N_c is the fewest colours with that property along an axis."""
    A = dec.problem.matrix()
    c = dec.axis.n_colors
    boxes = list(itertools.product(range(dec.N), repeat=dec.dim))
    for i, j in itertools.combinations(range(dec.n_sub), 2):
        if all(a % c == b % c for a, b in zip(boxes[i], boxes[j])):
            assert np.intersect1d(dec.indices[i], dec.indices[j]).size == 0
            assert A[dec.indices[i]][:, dec.indices[j]].nnz == 0
    s = dec.axis
    if 2 <= c <= dec.N:   # with one colour fewer, some pair of blocks touches
        assert any(s.bounds[i + c - 1, 0] <= s.bounds[i, 1] for i in range(dec.N - c + 1))
    assert dec.n_colors == c**dec.dim


@FAST
@given(configs())
def test_hat_coarse_space(dec):
    """Hats interpolate at the coarse nodes and sum to the piecewise-(multi)linear interpolant of 1; in 1D they are
    discrete-harmonic between coarse nodes and A_0 = tridiag(-1, 2, -1)/(hH)."""
    Phi = dec.coarse_space("hat").toarray()
    assert Phi.shape == (dec.n, (dec.N - 1) ** dec.dim)
    if dec.N == 1:
        return
    c1 = np.arange(1, dec.N) * dec.box - 1                    # coarse nodes along an axis
    nodes = np.ravel_multi_index(np.meshgrid(*([c1] * dec.dim), indexing="ij"), (dec.m,) * dec.dim).ravel()
    assert np.allclose(Phi[nodes], np.eye(nodes.size), atol=1e-15)
    assert np.allclose(Phi, np.kron(*(2 * [dec.axis.hat().toarray()])) if dec.dim == 2 else Phi)
    if dec.dim == 1:
        A = dec.problem.matrix()
        others = np.setdiff1d(np.arange(dec.n), nodes)
        assert np.max(np.abs((A @ Phi)[others]), initial=0.0) <= 1e-9 * np.abs(A).max()
        k = dec.N - 1
        expected = (2 * np.eye(k) - np.eye(k, k=1) - np.eye(k, k=-1)) / (dec.h * dec.H)
        assert np.allclose(dec.coarse_matrix("hat"), expected, rtol=1e-12, atol=1e-9 * np.abs(expected).max())
        assert np.allclose(dec.coarse_matrix("hat", sparse=True).toarray(), dec.coarse_matrix("hat"))


@FAST
@given(st.one_of(configs(), configs("round")), st.sampled_from(PARTITIONS_OF_UNITY))
def test_nicolaides_coarse_space(dec, kind):
    """The Nicolaides functions are D_i-weighted constants on their box and sum to the constant function."""
    Phi = dec.coarse_space("nicolaides", partition=kind).toarray()
    assert Phi.shape == (dec.n, dec.n_sub)
    assert np.allclose(Phi.sum(axis=1), 1.0)
    D = dec.partition_of_unity(kind)
    for i in range(dec.n_sub):
        assert np.allclose(Phi[dec.indices[i], i], D[i])


@FAST
@given(configs(), st.integers(1, 4))
def test_spectral_space_is_weighted_neumann_eigenvectors(dec, per_box):
    """Column (i, l) is D_i times an eigenvector of the box's Neumann graph Laplacian, in the lowest per_box ones."""
    per_box = min(per_box, int(dec.sizes.min()))
    Phi = dec.coarse_space("spectral", per_box=per_box, partition="ramp").toarray()
    assert Phi.shape == (dec.n, dec.n_sub * per_box)
    D = dec.partition_of_unity("ramp")
    for i in range(dec.n_sub):
        shape = tuple(dec.axis.sizes[k] for k in np.unravel_index(i, (dec.N,) * dec.dim))
        L = sum(sp.kron(sp.kron(sp.identity(int(np.prod(shape[:k]))), _neumann(shape[k])),
                        sp.identity(int(np.prod(shape[k + 1:])))) for k in range(dec.dim)).toarray()
        lam = np.linalg.eigvalsh(L)
        for col in range(i * per_box, (i + 1) * per_box):
            v = Phi[dec.indices[i], col] / D[i]
            mu = v @ L @ v / (v @ v)
            assert np.allclose(L @ v, mu * v, atol=1e-10 * max(1, np.abs(v).max()))
            assert mu <= lam[per_box - 1] + 1e-10


def _neumann(k):
    """The 1D Neumann graph Laplacian of a path of k nodes."""
    main = 2 * np.ones(k)
    main[[0, -1]] = 1
    if k == 1:
        main[:] = 0
    return sp.diags([-np.ones(k - 1), main, -np.ones(k - 1)], [-1, 0, 1])


@pytest.mark.parametrize("n,N", [(15, 2), (63, 4), (255, 8), (255, 16)])
def test_1d_elements_and_coarse_nodes_partition_the_grid(n, N):
    dec = Decomposition(Problem(n), N, 0)
    els = dec.elements()
    assert len(els) == N and all(e.size == dec.box - 1 for e in els)
    coarse = np.arange(1, N) * dec.box - 1
    assert np.array_equal(np.sort(np.concatenate([*els, coarse])), np.arange(n))


def test_elements_are_tensor_products():
    dec = Decomposition(Problem((7, 7)), 2, 1)
    els = dec.elements()
    assert len(els) == 4 and all(e.size == 9 for e in els)     # 3 x 3 nodes strictly inside each coarse cell
    assert np.intersect1d(els[0], els[3]).size == 0


def test_ramp_is_boolean_without_overlap_and_a_linear_ramp_with_it():
    dec = Decomposition(Problem(63), 4, 0)
    for r, b in zip(dec.partition_of_unity("ramp"), dec.partition_of_unity("boolean")):
        assert np.array_equal(r, b)
    dec = Decomposition(Problem(63), 4, 3)
    full = np.zeros((dec.N, dec.n))
    for i, w in enumerate(dec.partition_of_unity("ramp")):
        full[i, dec.indices[i]] = w
    assert np.max(np.abs(np.diff(full, axis=1))) == pytest.approx(1.0 / (2 * dec.delta + 1))


def test_the_reference_round_split():
    # the high-contrast chapter's rule: m = 31, N = 4 splits at round(k 31/4) = 8, 16, 23 (15.5 rounds to even)
    assert Split(31, 4, 1, rule="round").block_bounds.tolist() == [[0, 8], [8, 16], [16, 23], [23, 31]]
    assert Split(31, 4, 1).block_bounds.tolist() == [[0, 8], [8, 16], [16, 24], [24, 31]]


def test_hat_coarse_space_is_sparse_at_scale():
    """O(n) entries: 2 H/h - 1 per hat (the dense construction would need n (N - 1) numbers)."""
    dec = Decomposition(Problem(2**16 - 1), 256, 4)
    assert dec.coarse_space("hat").nnz == (dec.N - 1) * (2 * dec.box - 1)


def test_padded_support_reproduces_the_matrix():
    Phi = Decomposition(Problem((15, 15)), 4, 1).coarse_space("hat")
    idx, val = padded_support(Phi)
    dense = np.zeros(Phi.shape)
    np.add.at(dense, (idx.ravel(), np.repeat(np.arange(Phi.shape[1]), idx.shape[1])), val.ravel())
    assert np.array_equal(dense, Phi.toarray())


@pytest.mark.parametrize("shape,N,delta,split,match", [
    (63, 0, 1, "interface", "N must be an integer in"),
    (63, 64, 1, "interface", "N must be an integer in"),
    (64, 4, 1, "interface", "N must divide"),
    (63, 4, 16, "interface", "delta must be an integer in \\[0, 15\\]"),
    (63, 4, -1, "interface", "delta must be an integer"),
    (63, 2.5, 1, "interface", "N must be an integer"),
    ((15, 15), 4, 4, "interface", "delta must be an integer in \\[0, 3\\]"),
    (31, 4, 1, "halves", "split must be one of"),
])
def test_bad_input(shape, N, delta, split, match):
    with pytest.raises(ValueError, match=match):
        Decomposition(Problem(shape), N, delta, split)


@pytest.mark.parametrize("call,match", [
    (lambda d: d.partition_of_unity("smooth"), "partition must be one of"),
    (lambda d: d.coarse_space("gdsw"), "coarse must be one of"),
    (lambda d: d.coarse_space("nicolaides", partition="x"), "partition must be one of"),
    (lambda d: d.coarse_space("hat", tau=0.1), "does not take the options \\['tau'\\]"),
    (lambda d: d.coarse_space("spectral", partition="boolean"), "multiplicity' or 'ramp"),
    (lambda d: d.restriction(4), "i must be an integer in \\[0, 3\\]"),
])
def test_bad_choices(call, match):
    with pytest.raises(ValueError, match=match):
        call(Decomposition(Problem(63), 4, 1))
    with pytest.raises(ValueError, match="problem must be a ddlib.problem.Problem"):
        Decomposition(63, 4, 1)


def test_names():
    assert set(PARTITIONS_OF_UNITY) == {"multiplicity", "ramp", "boolean"}
    assert {"hat", "nicolaides", "spectral", "none"} <= set(COARSE_SPACES)
