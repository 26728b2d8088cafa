"""Symmetric PSD attention, its training, and the learned preconditioner in PCG."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from ddlib.attention import DDAttention, GlobalAttention
from ddlib.decomposition import Decomposition
from ddlib.krylov import dense_spectrum
from ddlib.preconditioning import band_oracle_kappa, learned_preconditioner, pcg_row, pcg_study
from ddlib.problem import eigenvalues, eigenvectors, grid, inverse, laplacian_1d


def SymmetricDDAttention(dec, r, **kw):
    return DDAttention(dec, r, symmetric=True, **kw)

FAST = settings(max_examples=30, deadline=None)


@st.composite
def symmetric_models(draw):
    N = draw(st.integers(1, 6))
    m = draw(st.integers(2, 8))
    dec = Decomposition(N * m - 1, N, draw(st.integers(0, m - 1)))
    coarse = draw(st.sampled_from(["hat", "nicolaides", "none"]))
    use_local = draw(st.booleans()) or coarse == "none" or (coarse == "hat" and N == 1)
    shared = N >= 3 and draw(st.booleans())
    return SymmetricDDAttention(dec, draw(st.integers(1, dec.n_max)), weighting=draw(st.sampled_from(["sqrt", "none"])),
                                partition=draw(st.sampled_from(["multiplicity", "ramp", "boolean"])), coarse=coarse,
                                use_local=use_local, shared=shared, seed=draw(st.integers(0, 2**16)),
                                init_scale=draw(st.floats(0.01, 3.0)))


@FAST
@given(model=symmetric_models())
def test_symmetric_dd_is_spsd_for_random_parameters(model):
    M = model.dense().numpy()
    scale = np.abs(M).max()
    assert np.abs(M - M.T).max() <= 1e-13 * scale
    assert np.linalg.eigvalsh(M).min() >= -1e-12 * scale
    assert model.num_parameters() == model.parameter_formula()
    assert all(name.startswith("K") for name, _ in model.named_parameters())  # only the tied factors train


@FAST
@given(n=st.integers(2, 60), data=st.data())
def test_symmetric_global_is_spsd(n, data):
    model = GlobalAttention(n, data.draw(st.integers(1, n)), symmetric=True, seed=data.draw(st.integers(0, 999)),
                            init_scale=1.0)
    M = model.dense().numpy()
    assert np.abs(M - M.T).max() <= 1e-13 * np.abs(M).max()
    assert np.linalg.eigvalsh(M).min() >= -1e-12 * np.abs(M).max()
    assert model.num_parameters() == n * model.rank
    f = torch.randn(3, n, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(model(f), (model.dense() @ f.T).T, atol=1e-14)


def test_tied_schwarz_init_matches_untied_and_reproduces_inverse():
    dec = Decomposition(63, 8, 1)
    tied = SymmetricDDAttention(dec, dec.n_max, init="schwarz")
    untied = DDAttention(dec, dec.n_max, init="schwarz")
    assert torch.allclose(tied.dense(), untied.dense(), atol=1e-13)
    assert np.abs(tied.dense().numpy() - inverse(63)).max() < 1e-14


def test_preconditioner_of_exact_inverse_has_closed_form_spectrum():
    # M^{-1} = A^{-1} + c I with c = omega h^2 / 2, so M^{-1} A = I + c A has eigenvalues 1 + c lambda_k exactly.
    n, omega = 63, 0.7
    model = SymmetricDDAttention(Decomposition(n, 8, 1), 7, init="schwarz")
    ev = dense_spectrum(laplacian_1d(n), learned_preconditioner(model, omega))
    h, _ = grid(n)
    assert np.allclose(ev, np.sort(1 + omega * h**2 / 2 * eigenvalues(n)), rtol=1e-11)


def test_band_oracle_kappa_matches_dense_computation():
    n, K, omega = 127, 9, 0.5
    V = eigenvectors(n, np.arange(1, K + 1), normalized=True)
    h, _ = grid(n)
    Mt = V @ np.diag(1 / eigenvalues(n, np.arange(1, K + 1))) @ V.T + omega * h**2 / 2 * np.eye(n)
    ev = dense_spectrum(laplacian_1d(n), Mt)
    assert band_oracle_kappa(n, omega, K) == pytest.approx(ev[-1] / ev[0], rel=1e-10)


def test_pcg_row_without_preconditioner_has_the_kappa_of_A():
    n = 63
    A = laplacian_1d(n)
    row = pcg_row(A, None, np.random.default_rng(0).standard_normal(n), n=n, preconditioner="none")
    lam = eigenvalues(n)
    assert row["kappa"] == pytest.approx(lam[-1] / lam[0], rel=1e-10)
    assert 0 < row["iterations"] <= n + 5 and row["converged"]


def test_bad_input_raises():
    dec = Decomposition(31, 4, 1)
    with pytest.raises(ValueError, match="weighting"):
        SymmetricDDAttention(dec, 2, weighting="left")
    with pytest.raises(ValueError, match="tied factors"):
        learned_preconditioner(DDAttention(dec, 2))
    with pytest.raises(ValueError, match="omega"):
        learned_preconditioner(SymmetricDDAttention(dec, 2), omega=0.0)
    with pytest.raises(ValueError, match="n"):
        pcg_study([100], m=32)


@pytest.mark.slow
def test_pcg_study_classical_rows_follow_theory(tmp_path, monkeypatch):
    monkeypatch.setenv("DDLIB_CACHE", str(tmp_path))
    out = pcg_study([63, 127, 255], m=16, epochs=100)
    rows = {(r["n"], r["preconditioner"]): r for r in out["rows"]}
    it2 = [rows[(n, "as2")]["iterations"] for n in (63, 127, 255)]
    it1 = [rows[(n, "as1")]["iterations"] for n in (63, 127, 255)]
    assert max(it2) - min(it2) <= 2          # two levels: bounded at fixed H/h
    assert it1[2] > 1.5 * it1[0]             # one level: grows with N
    for n in (63, 127, 255):
        assert rows[(n, "as2")]["kappa"] <= 1 + Decomposition(n, (n + 1) // 16, 1).n_colors + 1e-8
        assert rows[(n, "learned_dd")]["converged"] and rows[(n, "learned_global")]["converged"]
