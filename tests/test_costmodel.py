"""The cost model against explicit matrices: FLOPs as two per nonzero of every factor, the rows of the equal-FLOP
bmm, the bytes of the window layout against the sizes of its actual operands, and the matched-accuracy rank (a closed
form) against dense SVDs."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings, strategies as st

from ddlib.attention import DDAttention, Structure, truncated_factors
from ddlib.costmodel import (best_relative_error_global, bmm_traffic, dd_factor_nnz, dd_flops, dd_traffic,
                             equal_flop_rows, global_flops, matched_accuracy_rank, matched_parameter_rank,
                             traffic_ratio)
from ddlib.decomposition import Decomposition
from ddlib.problem import Problem


def _dd_factor_matrices(s: Structure, r, r0):
    """The DD operator's factors as explicit sparse/dense matrices (padded local blocks), for counting nonzeros."""
    dec = s.decomposition
    rng = np.random.default_rng(1)
    K = sp.block_diag([rng.standard_normal((dec.n_max, r)).T for _ in range(dec.n_sub)])
    Q = sp.block_diag([rng.standard_normal((dec.n_max, r)) for _ in range(dec.n_sub)])
    mats = [K, Q]
    if r0:
        mats += [s.Phi.T, rng.standard_normal((s.N0, r0)).T, rng.standard_normal((s.N0, r0)), s.Phi]
    return mats


@given(d=st.integers(1, 3), N=st.integers(1, 4), box=st.integers(2, 5), r=st.integers(1, 4), r0=st.integers(0, 6),
       coarse=st.sampled_from(["hat", "nicolaides"]), batch=st.integers(1, 5), data=st.data())
@settings(max_examples=30, deadline=None)
def test_dd_flops_count_two_flops_per_nonzero_of_every_factor(d, N, box, r, r0, coarse, batch, data):
    if d == 3:
        N, box = min(N, 2), min(box, 3)
    dec = Decomposition(Problem((N * box - 1,) * d), N, data.draw(st.integers(0, box - 2)) if N > 1 else 0)
    s = Structure(dec, coarse=coarse)
    r0 = min(r0, s.N0)
    nnz = sum(int(np.count_nonzero(M.toarray() if hasattr(M, "toarray") else M))
              for M in _dd_factor_matrices(s, r, r0))
    assert dd_flops(s, r, r0, batch) == 2 * batch * nnz
    # unpadded count: sum of the true subdomain sizes
    assert dd_factor_nnz(s, r, r0, padded=False)["Q_local"] == r * int(dec.sizes.sum())


@given(flops=st.integers(1, 10**7), batch=st.integers(1, 16), groups=st.integers(1, 32), inner=st.integers(1, 80))
@settings(max_examples=60, deadline=None)
def test_equal_flop_rows_give_the_requested_flops_up_to_one_row(flops, batch, groups, inner):
    k = equal_flop_rows(flops, groups, inner, batch)
    assert flops <= 2 * groups * inner * batch * k < flops + 2 * groups * inner * batch


@pytest.mark.parametrize("name", ["flops", "groups", "inner", "batch"])
def test_equal_flop_rows_rejects_counts_below_one(name):
    kw = dict(flops=100, groups=2, inner=3, batch=4) | {name: 0}
    with pytest.raises(ValueError, match=name):
        equal_flop_rows(**kw)


def test_dd_traffic_golden_numbers_by_hand():
    """n = 63, N = 4 (b = 16), delta = 2, r = 2, r0 = 1, B = 3: L = 20, k = 2 hat columns, c = 4, N0 = 3, in numbers:
    restrict 3*4*20 + 4*20*4 + 4*4*3 = 608; coarse 4*4*2*3 + 2*4*3 + 2*3*1 + 2*4*4*3 = 96 + 24 + 6 + 96 = 222;
    prolong 4*16*4 + 4*4*3 + 4*16*3 = 496; overlap 2*4*2*4 + 2*4*4*3 + 8*4*2*3 = 64 + 96 + 192 = 352;
    total 1678 numbers, 13424 bytes in float64."""
    s = Structure(Decomposition(Problem(63), 4, 2))
    t = dd_traffic(s, 2, 1, 3)
    assert {k: v // 8 for k, v in t.items()} == {"restrict": 608, "coarse": 222, "prolong": 496, "overlap": 352,
                                                "total": 1678}
    no_coarse = dd_traffic(s, 2, 0, 3, itemsize=4)  # c = r: 3*4*20 + 4*20*2 + 4*2*3 = 424
    assert no_coarse["coarse"] == 0 and no_coarse["restrict"] == 4 * 424
    assert bmm_traffic(4, 5, 20, 3) == 8 * 4 * (5 * 20 + 20 * 3 + 5 * 3)
    with pytest.raises(ValueError, match="k"):
        bmm_traffic(4, 0, 20, 3)
    with pytest.raises(ValueError, match="N >= 3"):  # the model is the window layout of three or more subdomains
        dd_traffic(Structure(Decomposition(Problem(63), 2, 2)), 2, 1, 3)
    with pytest.raises(ValueError, match="structure"):
        dd_traffic(Decomposition(Problem(63), 4, 2), 2, 1, 3)


@pytest.mark.parametrize("n,N,delta,r,r0", [(63, 4, 2, 2, 1), (255, 8, 3, 4, 7), (127, 4, 0, 3, 2)])
def test_dd_traffic_counts_the_operands_the_window_layout_actually_uses(n, N, delta, r, r0):
    """The factor terms of the traffic model are the sizes of the operands of DDAttention's window layout."""
    s = Structure(Decomposition(Problem(n), N, delta))
    dd = DDAttention(s, r, r0)
    b, L, c = (n + 1) // N, (n + 1) // N + 2 * delta, r + 2
    with torch.no_grad():
        Kw, Qw, _ = dd._operands()
    assert Kw.shape == Qw.shape == (N, L, c)
    B = 5
    t = {k: v // 8 for k, v in dd_traffic(s, r, r0, B).items()}
    assert t["restrict"] == B * N * L + Kw.numel() + N * c * B
    assert t["prolong"] == Qw[:, :b].numel() + N * c * B + N * b * B
    if delta:
        assert t["overlap"] == Qw[:, :2 * delta].numel() + 2 * N * c * B + 8 * N * delta * B
    # linear in n for a fixed subdomain size, up to the coarse factors' 2 N0 r0 (N0 = N - 1 grows to 2N - 1)
    t2 = dd_traffic(Structure(Decomposition(Problem(2 * n + 1), 2 * N, delta)), r, r0, B)
    assert t2["total"] - 2 * t["total"] * 8 == 8 * 2 * r0 * ((2 * N - 1) - 2 * (N - 1))


def test_traffic_ratio_at_the_benchmark_size_and_its_large_batch_limit():
    """n = 2^16 - 1, N = 1024 (b = 64), delta = 4, r = r0 = 8: the equal-FLOP bmm has k = 20 rows at any batch.
    Per right-hand side and window DD moves L + 6c + 4k + b + 8 delta = 72 + 60 + 8 + 64 + 32 = 236 numbers (and
    2 (N0 + 1)/N = 2 for the coarse vectors), the bmm L + k = 92; the factors (read once per call) make up the rest
    at a finite batch."""
    n, N = 2**16 - 1, 1024
    s = Structure(Decomposition(Problem(n), N, 4))
    at32 = dd_traffic(s, 8, 8, 32)["total"] / bmm_traffic(N, 20, 72, 32)
    assert traffic_ratio(s, 8, 8, 32) == pytest.approx(at32, rel=1e-15)
    assert traffic_ratio(s, 8, 8, 2**20) == pytest.approx(238 / 92, rel=1e-4)
    ratios = [traffic_ratio(s, 8, 8, B) for B in (1, 8, 32, 128)]
    assert ratios == sorted(ratios)  # more right-hand sides per call: the factors' share shrinks


def test_global_flops_and_matched_parameter_rank():
    assert global_flops(1023, 9, 32) == 4 * 32 * 1023 * 9
    assert matched_parameter_rank(2 * 1023 * 9, 1023) == 9
    assert matched_parameter_rank(1, 1023) == 1
    with pytest.raises(ValueError, match="parameters"):
        matched_parameter_rank(0, 10)


@pytest.mark.parametrize("n,N,r", [(63, 4, 2), (127, 8, 1), (255, 8, 3), (255, 16, 2)])
def test_matched_accuracy_rank_equals_the_best_dd_error(n, N, r):
    """Best global rank-r_g error (Eckart-Young, dense SVD) equals the error of the exact decomposition with every
    element inverse truncated to rank r, computed densely: the closed form r_g = (r + 1) N - 1 to rounding."""
    P = Problem(n)
    Ainv, A = P.inverse(), P.matrix().toarray()
    rg = matched_accuracy_rank(N, r)
    s = np.linalg.svd(Ainv, compute_uv=False)
    global_err = s[rg] / s[0]
    M = Ainv.copy()  # exact operator minus the truncated-away part of each element block
    for nodes in Decomposition(P, N, 1).elements():
        AE = np.linalg.inv(A[np.ix_(nodes, nodes)])
        Q, K = truncated_factors(AE, r)
        M[np.ix_(nodes, nodes)] -= AE - Q @ K.T
    dd_err = np.linalg.norm(M - Ainv, 2) / s[0]
    assert dd_err == pytest.approx(global_err, rel=1e-9)
    assert best_relative_error_global(P, rg) == pytest.approx(global_err, rel=1e-9)
    assert global_err < s[rg - 1] / s[0]  # one rank less is strictly worse: r_g is the smallest match


@pytest.mark.parametrize("shape", [100, (10, 10), (4, 4, 4)])
def test_best_relative_error_global_closed_form(shape):
    P = Problem(shape)
    lam = np.linalg.eigvalsh(P.matrix().toarray())
    assert best_relative_error_global(P, 4) == pytest.approx(lam[0] / lam[4], rel=1e-12)
    assert best_relative_error_global(P, P.n) == 0.0
    with pytest.raises(ValueError, match="problem"):
        best_relative_error_global(100, 4)
