"""Best achievable errors in every dimension: Eckart-Young and Weyl, the 1D closed form against the measured Schwarz
oracle, the data trap, the band split, and the structural floor (exact least squares, zero in 1D, positive in 2D and
3D with a certified lower bound, monotone in the coarse space and the overlap)."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings, strategies as st

from ddlib.approximation import (MAX_COARSE, band_error_split, dd_best_error, dd_frontier, dd_oracle_error, floor,
                                 floor_study, global_best_error, global_frontier, global_rank_for_error, spectrum,
                                 structural_floor, structural_floor_residual, weyl_rate)
from ddlib.attention import DDAttention, GlobalAttention, Structure, eckart_young_init, operator_error
from ddlib.coefficients import channels
from ddlib.data import make_dataset, relative_l2_error
from ddlib.decomposition import Decomposition
from ddlib.problem import Problem
from ddlib.schwarz import schwarz_preconditioner, to_dense


@settings(max_examples=20, deadline=None)
@given(d=st.integers(1, 3), data=st.data())
def test_global_best_error_is_the_truncated_svd(d, data):
    P = Problem((data.draw(st.integers(2, {1: 60, 2: 7, 3: 4}[d])),) * d)
    r = data.draw(st.integers(1, P.n - 1))
    s = np.linalg.svd(P.inverse(), compute_uv=False)
    assert global_best_error(P, [r])[0] == pytest.approx(s[r] / s[0], rel=1e-10)
    assert global_best_error(P, [P.n])[0] == 0.0


def test_variable_coefficient_spectrum_is_dense():
    P = Problem((7, 7), channels(7, 2, 100.0))
    assert np.allclose(spectrum(P), np.linalg.eigvalsh(P.matrix().toarray()))
    s = np.linalg.svd(P.inverse(), compute_uv=False)
    assert global_best_error(P, [5])[0] == pytest.approx(s[5] / s[0], rel=1e-10)


def test_weyl_law_in_each_dimension():
    r = np.array([0, 9, 99])
    assert np.allclose(weyl_rate(r, 1), 1 / (r + 1) ** 2)
    assert np.allclose(weyl_rate(r, 2), np.pi / (2 * (r + 1)))
    assert np.allclose(weyl_rate(r, 3), 3 * np.pi**2 / (6 * np.pi**2 * (r + 1)) ** (2 / 3))
    lam_w = 2 * np.pi**2 / weyl_rate(r, 2, perimeter=True)        # the two-term 2D law in closed form
    assert np.allclose(lam_w, (2 + 2 * np.sqrt(1 + np.pi * (r + 1))) ** 2)
    # the two-term law follows the discrete spectrum within 15 % over the resolved range in 2D
    ranks = np.array([10, 30, 100, 300])
    e = global_best_error(Problem((63, 63)), ranks)
    assert np.all(np.abs(e / weyl_rate(ranks, 2, perimeter=True) - 1) < 0.15)


@settings(max_examples=20, deadline=None)
@given(N=st.integers(1, 6), b=st.integers(2, 10), data=st.data())
def test_1d_closed_form_equals_measured_schwarz_oracle(N, b, data):
    P = Problem(N * b - 1)
    r = data.draw(st.integers(1, b - 1))
    measured = dd_oracle_error(P, N, data.draw(st.integers(0, b - 1)), r,
                               partition=data.draw(st.sampled_from(["multiplicity", "ramp", "boolean"])),
                               weighting=data.draw(st.sampled_from(["sqrt", "left", "none"])))
    assert measured == pytest.approx(dd_best_error(P.n, N, [r])[0], rel=1e-9, abs=1e-13)


def test_1d_oracle_is_exact_at_full_rank_and_gains_H_squared():
    assert dd_best_error(255, 16, [15])[0] == 0.0 and dd_oracle_error(Problem(255), 16, 2, 15) < 1e-13
    for N in (4, 8, 16):   # at equal rank the DD error is a factor H^2 = 1/N^2 below the global one
        ratio = dd_best_error(4095, N, [3])[0] / global_best_error(Problem(4095), [3])[0]
        assert ratio == pytest.approx(1.0 / N**2, rel=0.02)


@pytest.mark.parametrize("r", [1, 3, 7])
def test_rates_are_the_continuum_limits(r):
    """e_glob(r) (r+1)^2 -> 1 with an O(h^2) correction."""
    g = [global_best_error(Problem(2**p - 1), [r])[0] / weyl_rate([r])[0] - 1 for p in (8, 10, 12)]
    assert abs(g[-1]) < 1e-5 and abs(g[0]) / abs(g[1]) == pytest.approx(16, rel=0.05)


def test_2d_oracle_at_full_rank_is_the_schwarz_preconditioner():
    P = Problem((15, 15))
    dec = Decomposition(P, 4, 1)
    full = dd_oracle_error(P, 4, 1, dec.n_max, local_inverse="subdomain")
    M = to_dense(schwarz_preconditioner(dec, weighting="sqrt"))
    assert full == pytest.approx(operator_error(M, P), rel=1e-8)
    f = dd_frontier(P, 4, 1, [1, 4, dec.n_max], local_inverse="subdomain")
    assert f["error"][-1] == pytest.approx(full, rel=1e-8) and f["params"][0] < f["params"][1]


def test_frontiers_count_parameters_like_the_models():
    P = Problem(63)
    assert global_frontier(P, [1, 4, 8])["params"].tolist() == [126, 504, 1008]
    df = dd_frontier(P, 8, 2)
    assert df["rank"].tolist() == list(range(1, 8)) and np.all(np.diff(df["error"]) <= 0)
    for r, p in zip(df["rank"], df["params"]):
        assert DDAttention(Structure(Decomposition(P, 8, 2)), int(r)).num_parameters() == p


@pytest.mark.parametrize("n, K", [(63, 8), (255, 16)])
def test_data_trap_eckart_young_rank_K_is_exact_in_band_and_entirely_wrong_out_of_band(n, K):
    """Fact 5: the best rank-K operator equals A^{-1} on modes 1..K and is zero on modes K+1..2K."""
    P = Problem(n)
    model = eckart_young_init(GlobalAttention(P, K))
    for name, expected in (("in_band", 0.0), ("out_of_band", 1.0)):
        d = make_dataset(name, P, 16, K, seed=3)
        err = relative_l2_error(model(torch.as_tensor(d.f)).detach().numpy(), d.u)
        assert np.allclose(err, expected, atol=1e-10)


@pytest.mark.parametrize("shape,K", [(63, 5), ((9, 9), 2)])
def test_band_error_split_of_exact_and_band_only_operators(shape, K):
    """A^{-1} has no error; A^{-1} restricted to the band errs only off the band, by exactly the floor."""
    P = Problem(shape)
    assert band_error_split(P.inverse(), P, K)["total"] < 1e-12
    modes = np.indices(P.shape).reshape(P.dim, -1).T + 1
    band = modes[modes.max(axis=1) <= K]
    V = P.eigenvectors(band, normalized=True)
    split = band_error_split((V / P.eigenvalues(band)) @ V.T, P, K)
    assert split["off_to_off"] == pytest.approx(split["floor"], rel=1e-10)
    assert split["total"] == pytest.approx(split["floor"], rel=1e-10)
    for key in ("band_to_band", "band_to_off", "off_to_band"):
        assert split[key] < 1e-12


@settings(max_examples=20, deadline=None)
@given(n=st.integers(3, 40), data=st.data())
def test_band_error_split_bounds_the_total(n, data):
    """max block <= ||E|| <= ||matrix of block norms||_2 for any operator and band."""
    K = data.draw(st.integers(1, n - 1))
    M = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1))).standard_normal((n, n)) / n**2
    s = band_error_split(M, Problem(n), K)
    blocks = np.array([[s["band_to_band"], s["off_to_band"]], [s["band_to_off"], s["off_to_off"]]])
    assert blocks.max() <= s["total"] * (1 + 1e-12) and s["total"] <= np.linalg.norm(blocks, 2) * (1 + 1e-12)


# ------------------------------------------------------------------------------------------------------ the floor
def brute_force_floor(G, Phi, S):
    """min_C ||(G - Phi C Phi^T) outside S||_F by lstsq on the masked entries (columns: all N0^2 entries of C)."""
    Phi = np.asarray(sp.csr_matrix(Phi).toarray())
    r, q = np.nonzero(~np.asarray(sp.csr_matrix(S).toarray(), dtype=bool))
    design = (Phi[r][:, :, None] * Phi[q][:, None, :]).reshape(r.size, -1)
    c, *_ = np.linalg.lstsq(design, G[r, q], rcond=None)
    return float(np.linalg.norm(G[r, q] - design @ c))


@pytest.mark.parametrize("shape,N,delta,coarse,kw", [
    ((11, 11), 3, 1, "hat", {}), ((11, 11), 3, 0, "nicolaides", {"partition": "ramp"}),
    ((11, 11), 2, 1, "spectral", {"partition": "multiplicity", "per_box": 3}), ((11, 11), 2, 2, "hat", {"refine": 2}),
    ((11, 11), 3, 1, "nicolaides", {"partition": "boolean"}), ((5, 5, 5), 2, 1, "hat", {}),
])
def test_floor_is_the_exact_least_squares_optimum(shape, N, delta, coarse, kw):
    P = Problem(shape)
    dec = Decomposition(P, N, delta)
    G = P.inverse()
    partition = kw.pop("partition", "multiplicity")
    s = Structure(dec, partition, coarse=coarse, **kw)
    S = dec.local_support(partition)
    res = structural_floor(G, s.Phi, S)
    assert res["fro"] == pytest.approx(brute_force_floor(G, s.Phi, S), rel=1e-9)
    # the optimum: C symmetric, the residual vanishes on S and is orthogonal to every direction Phi dC Phi^T
    C, E = res["C"], res["residual"]
    assert np.allclose(C, C.T) and np.all(E[S.toarray()] == 0)
    Pd = s.Phi.toarray()
    assert np.max(np.abs(Pd.T @ E @ Pd)) < 1e-10 * np.abs(G).max() * np.abs(Pd).sum(0).max() ** 2
    assert res["two_norm"] == pytest.approx(np.linalg.norm(E, 2), rel=1e-8)
    rng = np.random.default_rng(0)
    for _ in range(3):
        dC = rng.standard_normal(C.shape) * 1e-3 * np.abs(C).max()
        assert structural_floor_residual(G, s.Phi, S, C + dC)["fro"] >= res["fro"]


@pytest.mark.parametrize("n,N,delta,partition", [(31, 4, 0, "multiplicity"), (63, 8, 2, "ramp"),
                                                 (47, 3, 5, "boolean"), (63, 4, 15, "multiplicity")])
def test_floor_vanishes_in_1d(n, N, delta, partition):
    """With hat functions and the subdomain blocks A^{-1} is reached exactly in 1D (the exact decomposition)."""
    row = floor(Problem(n), N, delta, partition=partition, lower_bound=False)
    assert row["floor_fro"] < 1e-13 and row["floor_two_norm"] < 1e-13


@pytest.mark.parametrize("shape,N", [((15, 15), 4), ((7, 7, 7), 2)])
def test_floor_is_positive_in_2d_and_3d_with_a_certified_lower_bound(shape, N):
    row = floor(Problem(shape), N, 1)
    assert {"dim", "m", "N", "delta", "coarse", "floor_two_norm", "floor_fro", "params"} <= set(row)
    # the lower bound holds for every (C, X): it is below both the optimal and the Galerkin residual
    assert 0 < row["floor_two_norm_lower"] <= row["floor_two_norm"] * (1 + 1e-9)
    assert row["floor_two_norm_lower"] <= row["galerkin_two_norm"] * (1 + 1e-9)
    assert row["floor_fro"] <= row["galerkin_fro"] * (1 + 1e-12)
    dec = Decomposition(Problem(shape), N, 1)
    N0 = (N - 1) ** len(shape)
    assert row["params"] == 2 * dec.n_max * int(dec.sizes.sum()) + 2 * N0 * N0


def test_floor_is_monotone_in_the_coarse_space_and_the_overlap():
    """Nested coarse spaces (hats on the box grid inside hats on the refined grid; Nicolaides inside the spectral
    space) and nested supports (more overlap) can only lower the exact Frobenius floor."""
    P = Problem((15, 15))
    G = P.inverse()
    coarse = floor(P, 2, 1, G=G, lower_bound=False)
    fine = floor(P, 2, 1, refine=2, G=G, lower_bound=False)
    assert fine["floor_fro"] <= coarse["floor_fro"] * (1 + 1e-10) and fine["N0"] == 9
    nic = floor(P, 2, 1, coarse="nicolaides", partition="ramp", G=G, lower_bound=False)
    spec = floor(P, 2, 1, coarse="spectral", partition="ramp", per_box=4, G=G, lower_bound=False)
    assert spec["floor_fro"] <= nic["floor_fro"] * (1 + 1e-10)
    rows = floor_study(P, [4], [0, 1, 2, 3], lower_bound=False)
    fro = [r["floor_fro"] for r in rows]
    assert [r["delta"] for r in rows] == [0, 1, 2, 3] and all(a >= b * (1 - 1e-10) for a, b in zip(fro, fro[1:]))


def test_floor_study_skips_what_does_not_fit():
    rows = floor_study(Problem((15, 15)), [2, 4, 8], [0, 3, 5], [("hat", {}), ("hat", {"refine": 4})],
                       lower_bound=False)
    assert all(r["delta"] <= 16 // r["N"] - 1 for r in rows) and all(r["N0"] <= MAX_COARSE for r in rows)
    assert {(r["N"], r.get("refine", 1)) for r in rows} == {(2, 1), (4, 1), (8, 1), (2, 4)}


@pytest.mark.parametrize("call,match", [
    (lambda: global_best_error(Problem((4, 4)), [17]), "ranks must be integers in \\[0, 16\\]"),
    (lambda: floor(Problem((15, 15)), 1, 1), "coarse space must not be empty"),
    (lambda: floor(Problem((31, 31)), 8, 1, coarse="spectral", partition="ramp", per_box=2),
     "N0 .* must be an integer in \\[1, 64\\]"),
    (lambda: floor(Problem((15, 15)), 2, 1, refine=5), "refine must be an integer in \\[1, 4\\]"),
    (lambda: structural_floor(np.eye(4), np.ones((3, 1)), np.eye(4)), "Phi must have n = 4 rows"),
    (lambda: dd_frontier(Problem((15, 15)), 4, 1, [99]), "local_ranks must be integers in \\[0, 36\\]"),
    (lambda: dd_best_error(15, 4, [4]), "local_ranks"),
    (lambda: band_error_split(np.eye(63), Problem(63), 63), "K must be"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@given(m=st.integers(3, 20), e=st.floats(1e-3, 1.0))
@settings(max_examples=30, deadline=None)
def test_global_rank_for_error_is_the_smallest_rank_that_reaches_it(m, e):
    P = Problem((m, m))
    r = global_rank_for_error(P, e)
    assert global_best_error(P, [r])[0] <= e * (1 + 1e-9)
    if r > 0:
        assert global_best_error(P, [r - 1])[0] > e * (1 - 1e-9)
