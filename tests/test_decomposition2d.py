"""2D decomposition: index sets, partitions of unity, Q1 / Nicolaides / spectral coarse spaces, clear errors."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from ddlib.decomposition2d import COARSE_SPACES_2D, PARTITIONS_OF_UNITY, Decomposition2D, padded_support
from ddlib.problem2d import laplacian_2d, laplacian_2d_box

FAST = settings(max_examples=25, deadline=None)


@st.composite
def configs(draw, max_N=5, max_box=6):
    """A random valid (m, N, delta): N boxes of b >= 2 mesh intervals per side, m = N b - 1, 0 <= delta <= b - 1."""
    N = draw(st.integers(1, max_N))
    b = draw(st.integers(2, max_box))
    return N * b - 1, N, draw(st.integers(0, b - 1))


def pou_sum(dec, weights):
    """sum_i R_i^T diag(w_i) R_i from the sparse restrictions (the paper's formula, one subdomain at a time)."""
    return sum((R.T @ sp.diags(w) @ R) for R, w in zip(dec.restrictions(), weights)).toarray()


@FAST
@given(configs(), st.sampled_from(PARTITIONS_OF_UNITY))
def test_partition_of_unity_sums_to_identity(cfg, kind):
    dec = Decomposition2D(*cfg)
    D = dec.partition_of_unity(kind)
    assert all(np.all(d >= 0) for d in D)
    assert np.allclose(pou_sum(dec, D), np.eye(dec.n), atol=1e-14)
    P = dec.padded_partition_of_unity(kind)
    assert np.all(P[~dec.mask] == 0)
    if kind == "multiplicity":
        assert all(np.allclose(D[i], 1 / dec.multiplicity[dec.indices[i]]) for i in range(dec.n_sub))


@FAST
@given(configs())
def test_index_sets_are_boxes(cfg):
    m, N, delta = cfg
    dec = Decomposition2D(m, N, delta)
    b = (m + 1) // N
    assert dec.box == b and dec.n_sub == N * N
    # the non-overlapping blocks partition the grid
    owners = np.zeros(dec.n, int)
    for (xa, xb), (ya, yb) in dec.block_bounds:
        owners[(np.arange(xa, xb)[:, None] * m + np.arange(ya, yb)[None, :]).ravel()] += 1
    assert np.all(owners == 1)
    for i, ((xa, xb), (ya, yb)) in enumerate(dec.bounds):
        box = (np.arange(xa, xb)[:, None] * m + np.arange(ya, yb)[None, :]).ravel()
        assert np.array_equal(dec.indices[i], box)
        assert np.array_equal(dec.padded_indices[i, dec.mask[i]], box)
        # extension by delta in each direction, clipped at the boundary
        (bxa, bxb), (bya, byb) = dec.block_bounds[i]
        assert (xa, xb, ya, yb) == (max(bxa - delta, 0), min(bxb + delta, m), max(bya - delta, 0), min(byb + delta, m))
    assert dec.sizes.sum() == (m + 2 * delta * (N - 1)) ** 2
    assert dec.n_max == dec.sizes.max() and dec.mask.sum() == dec.sizes.sum()
    assert np.array_equal(dec.multiplicity, np.bincount(np.concatenate(dec.indices), minlength=dec.n))


@FAST
@given(configs())
def test_local_matrices_are_box_laplacians_and_colours_separate(cfg):
    dec = Decomposition2D(*cfg)
    for i, Ai in enumerate(dec.local_matrices()):
        assert abs(Ai - laplacian_2d_box(*dec.shapes[i], dec.h)).max() <= 1e-10 / dec.h**2
    # boxes whose 1D colours agree in both directions neither share a node nor couple through the stencil
    A = laplacian_2d(dec.m)
    c1 = dec.dec1.n_colors
    colour = [(I % c1, J % c1) for I in range(dec.N) for J in range(dec.N)]
    for i in range(dec.n_sub):
        for j in range(i + 1, dec.n_sub):
            if colour[i] == colour[j]:
                assert np.intersect1d(dec.indices[i], dec.indices[j]).size == 0
                assert A[dec.indices[i]][:, dec.indices[j]].nnz == 0


@FAST
@given(configs())
def test_hat_coarse_space_is_q1(cfg):
    """Q1 hats: 1 at their cross point, 0 at the others, bilinear (so discrete-harmonic along grid lines inside each
    coarse element), tensor products of the 1D hats, and sum to 1 away from the boundary strip."""
    dec = Decomposition2D(*cfg)
    Phi = dec.coarse_space("hat").toarray()
    N0 = (dec.N - 1) ** 2
    assert Phi.shape == (dec.n, N0)
    assert np.allclose(Phi[dec.coarse_nodes], np.eye(N0), atol=1e-15)
    P1 = dec.dec1.coarse_space("hat").toarray()
    assert np.allclose(Phi, np.kron(P1, P1))
    if dec.N > 1:
        X = Phi.reshape(dec.m, dec.m, N0)
        # bilinear on each coarse element: second differences vanish off the coarse grid lines in each direction
        d2 = X[2:] - 2 * X[1:-1] + X[:-2]
        on_line = np.isin(np.arange(1, dec.m - 1), dec.dec1.coarse_nodes)
        assert np.max(np.abs(d2[~on_line]), initial=0) < 1e-12
        inner = slice(dec.box - 1, dec.m - dec.box + 1)
        assert np.allclose(X[inner, inner].sum(-1), 1.0)
    A0 = dec.coarse_matrix("hat")
    assert np.allclose(A0, A0.T) and np.allclose(dec.coarse_matrix("hat", sparse=True).toarray(), A0)


@FAST
@given(configs(), st.sampled_from(PARTITIONS_OF_UNITY))
def test_nicolaides_and_spectral_coarse_spaces(cfg, kind):
    dec = Decomposition2D(*cfg)
    Phi = dec.coarse_space("nicolaides", partition=kind)
    assert Phi.shape == (dec.n, dec.n_sub)
    assert np.allclose(np.asarray(Phi.sum(axis=1)).ravel(), 1.0)
    D = dec.partition_of_unity(kind)
    P = Phi.toarray()
    assert all(np.allclose(P[dec.indices[i], i], D[i]) for i in range(dec.n_sub))
    # the spectral space with one function per box is the Nicolaides space; with k it holds k D_i-weighted
    # eigenvectors of each box's Neumann matrix (the graph Laplacian of the box)
    if kind == "boolean":
        return
    assert abs(dec.coarse_space("spectral", kind, per_box=1) - Phi).max() < 1e-14
    k = min(3, int(dec.sizes.min()))
    S = dec.coarse_space("spectral", kind, per_box=k).toarray()
    assert S.shape == (dec.n, k * dec.n_sub)
    for i in range(dec.n_sub):
        idx, nx, ny = dec.indices[i], *dec.shapes[i]
        L = sp.kron(_path_laplacian(nx), sp.identity(ny)) + sp.kron(sp.identity(nx), _path_laplacian(ny))
        V = S[idx, i * k:(i + 1) * k] / np.where(D[i] > 0, D[i], 1.0)[:, None]
        ok = D[i] > 0
        if ok.all():
            lam = np.sum(V * (L @ V), 0) / np.sum(V * V, 0)
            assert np.allclose((L @ V), V * lam, atol=1e-12)
            assert np.allclose(lam, np.sort(np.linalg.eigvalsh(L.toarray()))[:k], atol=1e-12)


def _path_laplacian(k):
    L = sp.diags([-np.ones(k - 1), 2 * np.ones(k), -np.ones(k - 1)], [-1, 0, 1]).tolil()
    L[0, 0] = L[k - 1, k - 1] = 1.0 if k > 1 else 0.0
    return L.tocsr()


def test_refined_hat_space_contains_the_box_hat_space():
    dec = Decomposition2D(15, 2, 1)
    coarse, fine = dec.coarse_space("hat").toarray(), dec.coarse_space("hat", refine=4).toarray()
    assert fine.shape == (225, 49)
    X, *_ = np.linalg.lstsq(fine, coarse, rcond=None)
    assert np.allclose(fine @ X, coarse, atol=1e-13)
    assert np.allclose(fine[Decomposition2D(15, 8, 0).coarse_nodes], np.eye(49))


def test_local_support_is_the_union_of_box_pairs():
    dec = Decomposition2D(11, 3, 1)
    S = dec.local_support("multiplicity").toarray()
    ref = np.zeros((dec.n, dec.n), bool)
    for idx in dec.indices:
        ref[np.ix_(idx, idx)] = True
    assert np.array_equal(S, ref)
    # the Boolean partition reaches only the non-overlapping blocks
    Sb = dec.local_support("boolean").toarray()
    ref = np.zeros((dec.n, dec.n), bool)
    for (xa, xb), (ya, yb) in dec.block_bounds:
        blk = (np.arange(xa, xb)[:, None] * dec.m + np.arange(ya, yb)[None, :]).ravel()
        ref[np.ix_(blk, blk)] = True
    assert np.array_equal(Sb, ref)


def test_padded_support_reproduces_phi():
    dec = Decomposition2D(15, 4, 1)
    for kind in ("hat", "nicolaides", "spectral"):
        Phi = dec.coarse_space(kind, per_box=3)
        idx, val = padded_support(Phi)
        F = np.random.default_rng(0).standard_normal((dec.n, 2))
        assert np.allclose((F[idx] * val[..., None]).sum(1), Phi.T @ F)


@pytest.mark.parametrize("kwargs,match", [
    (dict(m=15, N=0, delta=1), "N must be an integer in \\[1, 8\\]"),
    (dict(m=15, N=16, delta=1), "N must be an integer in \\[1, 8\\]"),
    (dict(m=14, N=4, delta=1), "N must divide m \\+ 1 = 15"),
    (dict(m=15, N=4, delta=4), "delta must be an integer in \\[0, 3\\]"),
    (dict(m=15, N=4, delta=-1), "delta must be an integer >= 0"),
    (dict(m=0, N=1, delta=0), "m must be an integer >= 1"),
    (dict(m=15, N=2.5, delta=1), "N must be an integer"),
])
def test_bad_configurations(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Decomposition2D(**kwargs)


@pytest.mark.parametrize("call,match", [
    (lambda d: d.partition_of_unity("smooth"), "kind must be one of"),
    (lambda d: d.coarse_space("gdsw"), "kind must be one of"),
    (lambda d: d.coarse_space("nicolaides", partition="x"), "partition must be one of"),
    (lambda d: d.coarse_space("spectral", per_box=0), "per_box must be an integer in \\[1, 9\\]"),
    (lambda d: d.restriction(16), "i must be an integer in \\[0, 15\\]"),
    (lambda d: d.coarse_space("hat", refine=3), "refine must be an integer in \\[1, 2\\]"),
    (lambda d: d.coarse_space("spectral", "boolean", per_box=2), "partition must be 'multiplicity' or 'ramp'"),
])
def test_bad_choices(call, match):
    with pytest.raises(ValueError, match=match):
        call(Decomposition2D(15, 4, 0))


def test_names():
    assert set(COARSE_SPACES_2D) == {"hat", "nicolaides", "spectral", "none"}
    assert Decomposition2D(15, 4, 1).coarse_space("none").shape == (225, 0)


@settings(max_examples=20, deadline=None)
@given(N=st.integers(1, 4), b=st.integers(2, 5), data=st.data(),
       partition=st.sampled_from(PARTITIONS_OF_UNITY))
def test_coarse_factor_is_the_tensor_factor_of_the_product_spaces(N, b, data, partition):
    dec = Decomposition2D(N * b - 1, N, data.draw(st.integers(0, b - 1)))
    for kind in ("hat", "nicolaides"):
        P = dec.coarse_factor(kind, partition)
        Phi = dec.coarse_space(kind, partition)
        assert P.shape[0] == dec.m and (sp.kron(P, P) - Phi).count_nonzero() == 0
        # Phi^T f = P^T F P on the grid values F (y fastest)
        f = np.random.default_rng(0).standard_normal(dec.n)
        F = f.reshape(dec.m, dec.m)
        assert np.allclose((P.T @ (P.T @ F).T).T.ravel(), Phi.T @ f, atol=1e-12)
    assert dec.coarse_factor("spectral") is None and dec.coarse_factor("none") is None
