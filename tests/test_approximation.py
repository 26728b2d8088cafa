"""Best achievable errors: closed forms against the measured oracles, and their asymptotic rates."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ddlib.approximation import (dd_best_error, dd_frontier, dd_oracle_error, dd_rate, global_best_error,
                                 global_frontier, global_oracle_error, global_rate)
from ddlib.attention import DDAttention
from ddlib.decomposition import Decomposition
from ddlib.problem import inverse


@settings(max_examples=20, deadline=None)
@given(n=st.integers(2, 90), data=st.data())
def test_global_closed_form_equals_truncated_svd(n, data):
    r = data.draw(st.integers(1, n - 1))
    s = np.linalg.svd(inverse(n), compute_uv=False)
    assert global_best_error(n, [r])[0] == pytest.approx(s[r] / s[0], rel=1e-10)
    assert global_oracle_error(n, r) == pytest.approx(s[r] / s[0], rel=1e-9)


@settings(max_examples=20, deadline=None)
@given(N=st.integers(1, 6), m=st.integers(2, 10), data=st.data())
def test_dd_closed_form_equals_measured_schwarz_oracle(N, m, data):
    n = N * m - 1
    delta = data.draw(st.integers(0, m - 1))
    r = data.draw(st.integers(1, m - 1))
    partition = data.draw(st.sampled_from(["multiplicity", "ramp", "boolean"]))
    weighting = data.draw(st.sampled_from(["sqrt", "left", "none"]))
    measured = dd_oracle_error(n, N, delta, r, partition=partition, weighting=weighting)
    assert measured == pytest.approx(dd_best_error(n, N, [r])[0], rel=1e-9, abs=1e-13)


def test_dd_oracle_is_exact_at_full_rank_and_zero_error():
    assert dd_best_error(255, 16, [15])[0] == 0.0
    assert dd_oracle_error(255, 16, 2, 15) < 1e-13


@pytest.mark.parametrize("r", [1, 3, 7])
def test_rates_are_the_continuum_limits(r):
    """e_glob(r) (r+1)^2 -> 1 as h -> 0 and e_DD(r) N^2 (r+1)^2 -> 1 as H/h -> infinity, with O(h^2) corrections."""
    ns = [2**p - 1 for p in (8, 10, 12)]
    g = [global_best_error(n, [r])[0] / global_rate([r])[0] - 1 for n in ns]
    assert abs(g[-1]) < 1e-5 and abs(g[0]) / abs(g[1]) == pytest.approx(16, rel=0.05)  # error ~ h^2
    N = 4
    d = [dd_best_error(n, N, [r])[0] / dd_rate(N, [r])[0] - 1 for n in ns]
    # the element blocks are discrete: relative correction ~ (r+1)^2 pi^2 / (12 m^2) -> 0 like (h/H)^2
    assert abs(d[-1]) < abs(d[1]) < abs(d[0])
    assert abs(d[0]) / abs(d[1]) == pytest.approx(16, rel=0.05)


def test_dd_gains_factor_H_squared_over_global_at_equal_rank():
    n, r = 4095, 3
    for N in (4, 8, 16):
        ratio = dd_best_error(n, N, [r])[0] / global_best_error(n, [r])[0]
        assert ratio == pytest.approx(1.0 / N**2, rel=0.02)


def test_frontiers_count_parameters_like_the_models():
    gf = global_frontier(63, [1, 4, 8])
    assert gf["params"].tolist() == [126, 504, 1008]
    df = dd_frontier(63, 8, 2)
    assert df["rank"].tolist() == list(range(1, 8))
    for r, p in zip(df["rank"], df["params"]):
        assert DDAttention(Decomposition(63, 8, 2), int(r)).num_parameters() == p
    assert np.all(np.diff(df["error"]) <= 0)


def test_bad_ranks_raise_value_error():
    with pytest.raises(ValueError, match="ranks"):
        global_best_error(15, [16])
    with pytest.raises(ValueError, match="local_ranks"):
        dd_best_error(15, 4, [4])


@pytest.mark.parametrize("n, K", [(63, 8), (255, 16)])
def test_data_trap_eckart_young_rank_K_is_exact_in_band_and_entirely_wrong_out_of_band(n, K):
    """Fact 5: the best rank-K operator equals A^{-1} on modes 1..K and is zero on modes K+1..2K."""
    import torch

    from ddlib.attention import GlobalAttention
    from ddlib.data import make_dataset, relative_l2_error

    model = GlobalAttention(n, K, init="svd")
    for name, expected in (("in_band", 0.0), ("out_of_band", 1.0)):
        d = make_dataset(name, n, 16, K, seed=3)
        err = relative_l2_error(model(torch.as_tensor(d.f)).detach().numpy(), d.u)
        assert np.allclose(err, expected, atol=1e-10)


def test_band_error_split_of_exact_and_eckart_young_operators():
    """A^{-1} has no error; the rank-K truncation errs only off the band, by exactly lambda_1/lambda_{K+1}."""
    from ddlib.approximation import band_error_split
    from ddlib.problem import eigenvalues, eigenvectors

    n, K = 63, 5
    assert band_error_split(inverse(n), K)["total"] < 1e-12
    V = eigenvectors(n, np.arange(1, K + 1), normalized=True)
    lam = eigenvalues(n)
    split = band_error_split((V / lam[:K]) @ V.T, K)
    floor = lam[0] / lam[K]
    assert split["floor"] == pytest.approx(floor, rel=1e-12)
    assert split["off_to_off"] == pytest.approx(floor, rel=1e-10)
    assert split["total"] == pytest.approx(floor, rel=1e-10)
    for key in ("band_to_band", "band_to_off", "off_to_band"):
        assert split[key] < 1e-12


@settings(max_examples=25, deadline=None)
@given(n=st.integers(3, 40), data=st.data())
def test_band_error_split_bounds_the_total(n, data):
    """max block <= ||E|| <= ||matrix of block norms||_2 for any operator and band."""
    from ddlib.approximation import band_error_split

    K = data.draw(st.integers(1, n - 1))
    seed = data.draw(st.integers(0, 2**31 - 1))
    M = np.random.default_rng(seed).standard_normal((n, n)) / n**2
    s = band_error_split(M, K)
    blocks = np.array([[s["band_to_band"], s["off_to_band"]], [s["band_to_off"], s["off_to_off"]]])
    assert blocks.max() <= s["total"] * (1 + 1e-12)
    assert s["total"] <= np.linalg.norm(blocks, 2) * (1 + 1e-12)


@pytest.mark.parametrize("K", [0, 63])
def test_band_error_split_rejects_bad_band(K):
    from ddlib.approximation import band_error_split

    with pytest.raises(ValueError, match="K must be"):
        band_error_split(inverse(63), K)
