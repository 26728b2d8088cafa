"""2D approximation theory: Eckart-Young and Weyl, the truncated Schwarz oracle, and the structural floor (exact
least squares, zero in the 1D analogue, positive in 2D, monotone in the coarse space and the overlap)."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings, strategies as st

from ddlib.approximation2d import (MAX_COARSE, dd_frontier_2d, dd_oracle_error_2d, floor_2d, floor_study_2d,
                                   global_best_error_2d, global_frontier_2d, global_rank_for_error_2d, structural_floor,
                                   structural_floor_residual, weyl_rate_2d)
from ddlib.attention2d import operator_error_2d
from ddlib.decomposition import Decomposition
from ddlib.decomposition2d import Decomposition2D
from ddlib.problem import inverse
from ddlib.problem2d import inverse_2d
from ddlib.schwarz2d import schwarz_preconditioner_2d


def test_global_frontier_is_eckart_young():
    m = 6
    G = inverse_2d(m)
    s = np.linalg.svd(G, compute_uv=False)
    U, _, Vt = np.linalg.svd(G)
    for r in (0, 1, 4, 10, 35):
        best = U[:, :r] @ np.diag(s[:r]) @ Vt[:r]
        assert operator_error_2d(best, m) == pytest.approx(global_best_error_2d(m, r)[0], rel=1e-10)
    assert global_best_error_2d(m, m * m)[0] == 0.0
    f = global_frontier_2d(m, [1, 2, 3])
    assert np.array_equal(f["params"], 2 * 36 * np.array([1, 2, 3]))


def test_weyl_law():
    r = np.array([0, 9, 99])
    assert np.allclose(weyl_rate_2d(r, perimeter=False), np.pi / (2 * (r + 1)))
    # the two-term law follows the discrete spectrum within 15 % over the resolved range; the pure 1/r law does
    # only asymptotically (the perimeter term lowers the count, so the 1/r law lies above)
    m = 63
    ranks = np.array([10, 30, 100, 300])
    e = global_best_error_2d(m, ranks)
    assert np.all(np.abs(e / weyl_rate_2d(ranks) - 1) < 0.15)
    assert np.all(e[:3] < weyl_rate_2d(ranks[:3], perimeter=False))  # at r = 300, m = 63 the grid lowers lambda


def test_oracle_at_full_rank_is_the_schwarz_preconditioner():
    m, N, delta = 15, 4, 1
    dec = Decomposition2D(m, N, delta)
    full = dd_oracle_error_2d(m, N, delta, dec.n_max)
    assert full == pytest.approx(operator_error_2d(schwarz_preconditioner_2d(dec, weighting="sqrt"), m), rel=1e-8)
    f = dd_frontier_2d(m, N, delta, [1, 4, dec.n_max])
    assert f["error"][-1] == pytest.approx(full, rel=1e-8) and f["params"][0] < f["params"][1]


def brute_force_floor(G, Phi, S):
    """min_C ||(G - Phi C Phi^T) outside S||_F by lstsq on the masked entries (columns: all N0^2 entries of C)."""
    Phi = np.asarray(sp.csr_matrix(Phi).toarray())
    r, q = np.nonzero(~np.asarray(sp.csr_matrix(S).toarray(), dtype=bool))
    design = (Phi[r][:, :, None] * Phi[q][:, None, :]).reshape(r.size, -1)
    c, *_ = np.linalg.lstsq(design, G[r, q], rcond=None)
    return float(np.linalg.norm(G[r, q] - design @ c))


@pytest.mark.parametrize("m,N,delta,coarse,kw", [
    (11, 3, 1, "hat", {}), (11, 3, 0, "nicolaides", {"partition": "ramp"}), (7, 2, 1, "hat", {}),
    (11, 2, 1, "spectral", {"partition": "multiplicity", "per_box": 3}), (11, 2, 2, "hat", {"refine": 2}),
    (11, 3, 1, "nicolaides", {"partition": "boolean"}),
])
def test_floor_is_the_exact_least_squares_optimum(m, N, delta, coarse, kw):
    dec = Decomposition2D(m, N, delta)
    G = inverse_2d(m)
    Phi = dec.coarse_space(coarse, kw.get("partition", "multiplicity"), kw.get("per_box", 1), kw.get("refine", 1))
    S = dec.local_support(kw.get("partition", "multiplicity"))
    res = structural_floor(G, Phi, S)
    assert res["fro"] == pytest.approx(brute_force_floor(G, Phi, S), rel=1e-9)
    # the optimum: C symmetric, the residual vanishes on S and is orthogonal to every direction Phi dC Phi^T
    C, E = res["C"], res["residual"]
    assert np.allclose(C, C.T) and np.all(E[S.toarray()] == 0)
    P = Phi.toarray()
    assert np.max(np.abs(P.T @ E @ P)) < 1e-10 * np.abs(G).max() * np.abs(P).sum(0).max() ** 2
    assert res["two_norm"] == pytest.approx(np.linalg.norm(E, 2), rel=1e-8)
    rng = np.random.default_rng(0)
    for _ in range(3):
        dC = rng.standard_normal(C.shape) * 1e-3 * np.abs(C).max()
        assert structural_floor_residual(G, Phi, S, C + dC)["fro"] >= res["fro"]


@pytest.mark.parametrize("n,N,delta,partition", [(31, 4, 0, "multiplicity"), (63, 8, 2, "ramp"),
                                                 (47, 3, 5, "boolean"), (63, 4, 15, "multiplicity")])
def test_floor_vanishes_in_1d(n, N, delta, partition):
    """1D analogue: with hat functions and the subdomain blocks, A^{-1} is reached exactly (the exact decomposition)."""
    dec = Decomposition(n, N, delta)
    W = dec.padded_partition_of_unity(partition)
    keep = dec.mask & (W > 0)
    rows = dec.padded_indices[keep]
    cols = np.broadcast_to(np.arange(N)[:, None], keep.shape)[keep]
    B = sp.csr_matrix((np.ones(rows.size), (rows, cols)), shape=(n, N))
    G = inverse(n)
    res = structural_floor(G, dec.coarse_space("hat"), B @ B.T > 0)
    assert res["fro"] < 1e-13 * np.linalg.norm(G) and res["two_norm"] < 1e-13 * np.linalg.norm(G, 2)


def test_floor_is_positive_in_2d_with_a_certified_lower_bound():
    row = floor_2d(15, 4, 1)
    assert {"m", "N", "delta", "coarse", "floor_two_norm", "floor_fro", "params"} <= set(row)
    # the lower bound holds for every (C, X): it is below both the optimal and the Galerkin residual
    assert 0 < row["floor_two_norm_lower"] <= row["floor_two_norm"] * (1 + 1e-9)
    assert row["floor_two_norm_lower"] <= row["galerkin_two_norm"] * (1 + 1e-9)
    assert row["floor_fro"] <= row["galerkin_fro"] * (1 + 1e-12)
    dec = Decomposition2D(15, 4, 1)
    assert row["params"] == 2 * dec.n_max * int(dec.sizes.sum()) + 2 * 9 * 9


def test_floor_is_monotone_in_the_coarse_space_and_the_overlap():
    """Nested coarse spaces (Q1 on the box grid inside Q1 on the refined grid; Nicolaides inside the spectral space)
    and nested supports (more overlap) can only lower the exact Frobenius floor."""
    m = 15
    G = inverse_2d(m)
    coarse = floor_2d(m, 2, 1, G=G, lower_bound=False)
    fine = floor_2d(m, 2, 1, refine=2, G=G, lower_bound=False)
    assert fine["floor_fro"] <= coarse["floor_fro"] * (1 + 1e-10) and fine["N0"] == 9
    nic = floor_2d(m, 2, 1, coarse="nicolaides", partition="ramp", G=G, lower_bound=False)
    spec = floor_2d(m, 2, 1, coarse="spectral", partition="ramp", per_box=4, G=G, lower_bound=False)
    assert spec["floor_fro"] <= nic["floor_fro"] * (1 + 1e-10)
    rows = floor_study_2d(m, [4], [0, 1, 2, 3], lower_bound=False)
    fro = [r["floor_fro"] for r in rows]
    assert [r["delta"] for r in rows] == [0, 1, 2, 3]
    assert all(a >= b * (1 - 1e-10) for a, b in zip(fro, fro[1:]))


def test_floor_study_skips_what_does_not_fit():
    rows = floor_study_2d(15, [2, 4, 8], [0, 3, 5], [("hat", {}), ("hat", {"refine": 4})], lower_bound=False)
    assert all(r["delta"] <= 16 // r["N"] - 1 for r in rows)
    assert all(r["N0"] <= MAX_COARSE for r in rows)
    assert {(r["N"], r["refine"]) for r in rows} == {(2, 1), (4, 1), (8, 1), (2, 4)}


@pytest.mark.parametrize("call,match", [
    (lambda: global_best_error_2d(4, [17]), "ranks must be integers in \\[0, 16\\]"),
    (lambda: floor_2d(65, 2, 1), "m must be an integer in \\[1, 64\\]"),
    (lambda: floor_2d(15, 1, 1), "coarse space must not be empty"),
    (lambda: floor_2d(15, 2, 1, coarse="none"), "coarse must be one of"),
    (lambda: floor_2d(31, 8, 1, coarse="spectral", partition="ramp", per_box=2),
     "N0 .* must be an integer in \\[1, 64\\]"),
    (lambda: floor_2d(15, 2, 1, refine=3), "refine must make refine N divide"),
    (lambda: structural_floor(np.eye(4), np.ones((3, 1)), np.eye(4)), "Phi must have n = 4 rows"),
    (lambda: dd_frontier_2d(15, 4, 1, [0]), "local_ranks must be integers in \\[1, 36\\]"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@given(m=st.integers(3, 20), e=st.floats(1e-3, 1.0))
@settings(max_examples=30, deadline=None)
def test_global_rank_for_error_is_the_smallest_rank_that_reaches_it(m, e):
    r = global_rank_for_error_2d(m, e)
    assert global_best_error_2d(m, [r])[0] <= e * (1 + 1e-9)
    if r > 0:
        assert global_best_error_2d(m, [r - 1])[0] > e * (1 - 1e-9)
