"""Symmetric PSD attention with its Jacobi term, its training, the learned preconditioner in PCG, the bounds of the
class and the chapter's report."""
import re
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings, strategies as st
from scipy.sparse.linalg import LinearOperator, splu

import ddlib.preconditioning as pre
from ddlib.attention import DDAttention, GlobalAttention, Structure, schwarz_init
from ddlib.data import make_dataset
from ddlib.decomposition import Decomposition
from ddlib.experiments import tuned_comparison
from ddlib.krylov import chebyshev_iterations, dense_spectrum, pcg
from ddlib.preconditioning import (SHARED_PRECONDITIONERS, WithJacobi, band_oracle_kappa, compare_losses,
                                   corrected_omega, growth, kappa_for_iterations, kappa_lower_bound,
                                   kappa_upper_bound, learned_preconditioner, member_comparison,
                                   outlier_sensitivity, pcg_row, pcg_study, preconditioner_config, probe_error,
                                   rank_study, rank_theory, shared_spec, shared_study, stored_numbers,
                                   truncated_oracle)
from ddlib.problem import Problem
from ddlib.schwarz import schwarz_preconditioner
from ddlib.training import TrainConfig, predict, squared_norms, train

ROOT = Path(__file__).resolve().parents[1]
FAST = settings(max_examples=30, deadline=None)


def grid(n, N, delta=1, dim=1):
    """The decomposition of the ``n``-node-per-side grid in ``dim`` dimensions."""
    return Decomposition(Problem((n,) * dim), N, delta)


# ------------------------------------------------------------------------------------------------ the operators
@st.composite
def preconditioner_models(draw):
    """Random members of the learned preconditioner's class and its neighbours, in 1D and 2D: tied factors, a fixed
    or learned coarse block, shared or not, a fixed or learned Jacobi weight."""
    dim = draw(st.sampled_from([1, 1, 2]))
    N = draw(st.integers(1, 5 if dim == 1 else 3))
    box = draw(st.integers(2, 8 if dim == 1 else 4))
    dec = grid(N * box - 1, N, draw(st.integers(0, max(0, box - 2))), dim)
    shared = N >= 3 and 2 * dec.delta < box and draw(st.booleans())
    structure = Structure(dec, draw(st.sampled_from(["multiplicity", "ramp"])), draw(st.sampled_from(["sqrt", "none"])))
    model = DDAttention(structure, draw(st.integers(1, dec.n_max)), symmetric=True, shared=shared,
                        learned_coarse=draw(st.booleans()), seed=draw(st.integers(0, 2**16)),
                        init_scale=draw(st.floats(0.01, 3.0)))
    return WithJacobi(model, draw(st.floats(1e-3, 10.0)), learned=draw(st.booleans()))


@FAST
@given(op=preconditioner_models())
def test_learned_preconditioner_is_spd_with_the_jacobi_floor(op):
    """M = M_theta + omega diag(A)^{-1} with M_theta a sum of Gram matrices: symmetric, and every eigenvalue at least
    omega min_p diag(A)^{-1}_p > 0 (so positive definite) for any parameters, in 1D and 2D."""
    M = op.dense().numpy()
    scale = np.abs(M).max()
    floor = op.omega_value() / op.problem.matrix().diagonal().max()
    assert np.abs(M - M.T).max() <= 1e-13 * scale
    assert np.linalg.eigvalsh(0.5 * (M + M.T)).min() >= floor - 1e-12 * scale > 0
    assert op.num_parameters() == op.parameter_formula()
    P = learned_preconditioner(op)  # carries its own Jacobi term: used as it is
    X = np.random.default_rng(0).standard_normal((op.n, 2))
    assert np.allclose(P.matmat(X), M @ X, rtol=0, atol=1e-12 * scale * np.abs(X).max() * op.n)


@FAST
@given(n=st.integers(2, 60), data=st.data())
def test_symmetric_global_is_spsd(n, data):
    model = GlobalAttention(Problem(n), data.draw(st.integers(1, n)), symmetric=True,
                            seed=data.draw(st.integers(0, 999)), init_scale=1.0)
    M = model.dense().numpy()
    assert np.abs(M - M.T).max() <= 1e-13 * np.abs(M).max()
    assert np.linalg.eigvalsh(M).min() >= -1e-12 * np.abs(M).max()
    assert model.num_parameters() == n * model.rank


def test_jacobi_term_gradients_pass_gradcheck():
    """Gradients with respect to the input, the learned weight theta and the shared factors, through the 1D window
    path, the fixed exact coarse solve (a sparse LU in forward and backward) and the Jacobi term, agree with finite
    differences."""
    model = DDAttention(Structure(grid(23, 4)), 2, symmetric=True, shared=True, learned_coarse=False, seed=3)
    op = WithJacobi(model, 0.3, learned=True)
    f = torch.randn(2, 23, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    theta, K = (p.detach().clone().requires_grad_() for p in (op.log_omega, model.K))

    def apply(f, theta, K):
        return torch.func.functional_call(op, {"log_omega": theta, "model.K": K}, (f,))

    assert torch.autograd.gradcheck(apply, (f, theta, K))


@pytest.mark.parametrize("dim, side, N", [(1, 47, 6), (1, 23, 3), (2, 15, 4)])
def test_fixed_coarse_block_is_the_galerkin_solve(dim, side, N):
    """learned_coarse=False at full coarse rank is Phi A_0^{-1} Phi^T, A_0 = Phi^T A Phi, by exact sparse solves; the
    Jacobi-plus-coarse preconditioner of the studies adds omega diag(A)^{-1}."""
    dec = grid(side, N, 1, dim)
    op = WithJacobi(DDAttention(Structure(dec), 0, symmetric=True, learned_coarse=False), 0.5)
    Phi = dec.coarse_space("hat").toarray()
    A = dec.problem.matrix().toarray()
    want = Phi @ np.linalg.solve(Phi.T @ A @ Phi, Phi.T) + 0.5 * np.diag(1 / np.diag(A))
    assert np.abs(op.dense().numpy() - want).max() <= 1e-12 * np.abs(want).max()
    assert op.num_parameters() == 0
    lu = splu(sp.csc_matrix(Phi.T @ A @ Phi))
    assert stored_numbers(op) == lu.L.nnz + lu.U.nnz + 1  # the LU factors of A_0 and omega


def test_preconditioner_of_exact_inverse_has_closed_form_spectrum():
    """M^{-1} = A^{-1} + c I with c = omega h^2 / 2, so M^{-1} A = I + c A has eigenvalues 1 + c lambda_k exactly."""
    P = Problem(63)
    model = schwarz_init(DDAttention(Structure(Decomposition(P, 8, 1)), 7, symmetric=True))
    ev = dense_spectrum(P.matrix(), learned_preconditioner(model, 0.7))
    assert np.allclose(ev, 1 + 0.7 * P.h**2 / 2 * P.eigenvalues(), rtol=1e-11)


@pytest.mark.parametrize("shape, K", [(127, 9), ((15, 15), 3)])
def test_band_oracle_kappa_matches_dense_computation(shape, K):
    """The closed form equals the dense spectrum of A^{-1} on the band max_j k_j <= K plus omega diag(A)^{-1}."""
    P, omega = Problem(shape), 0.5
    modes = np.indices(P.shape).reshape(P.dim, -1).T + 1
    band = modes[modes.max(axis=1) <= K]
    V = P.eigenvectors(band, normalized=True)
    Mt = V @ np.diag(1 / P.eigenvalues(band)) @ V.T + omega * P.h**2 / (2 * P.dim) * np.eye(P.n)
    ev = dense_spectrum(P.matrix(), Mt)
    assert band_oracle_kappa(P, omega, K) == pytest.approx(ev[-1] / ev[0], rel=1e-10)
    # golden number of the chapter's cautionary case, n = 255, K = 16, omega = 1/2: c lambda_k = sin^2(k pi/512), so
    # the spectrum runs from sin^2(17 pi/512) (first mode above the band) to 1 + sin^2(16 pi/512) (top of the band)
    s = lambda k: np.sin(k * np.pi / 512) ** 2  # noqa: E731
    assert band_oracle_kappa(Problem(255), 0.5, 16) == pytest.approx((1 + s(16)) / s(17), rel=1e-12)


def test_pcg_row_without_preconditioner_has_the_kappa_of_A():
    P = Problem(63)
    row = pcg_row(P.matrix(), None, np.random.default_rng(0).standard_normal(63), n=63, preconditioner="none")
    lam = P.eigenvalues()
    assert row["kappa"] == pytest.approx(lam[-1] / lam[0], rel=1e-10)
    assert 0 < row["iterations"] <= 63 + 5 and row["converged"]


def test_bad_input_raises():
    dec = grid(31, 4)
    with pytest.raises(ValueError, match="tied factors"):
        learned_preconditioner(DDAttention(Structure(dec), 2))
    with pytest.raises(ValueError, match="omega"):
        learned_preconditioner(DDAttention(Structure(dec), 2, symmetric=True), omega=0.0)
    with pytest.raises(ValueError, match="omega must be None"):
        learned_preconditioner(shared_spec(8, 1, 4).build(Problem(255)), omega=0.5)
    with pytest.raises(ValueError, match="every n"):
        pcg_study([100], m=32)
    with pytest.raises(ValueError, match="n_train"):
        preconditioner_config(32, 1, 4, n_train=100)
    with pytest.raises(ValueError, match="every n"):
        shared_study(None, [255, 100], m=32, local_rank=4)
    with pytest.raises(ValueError, match="constant-coefficient"):
        truncated_oracle(Decomposition(Problem(31, np.ones(32) * 2), 4, 1), 2)
    with pytest.raises(ValueError, match="WithJacobi"):
        outlier_sensitivity(DDAttention(Structure(dec), 2, symmetric=True), preconditioner_config(8, n_train=31))
    with pytest.raises(ValueError, match="iterations"):
        kappa_for_iterations(0)


def test_pcg_study_trains_through_one_sweep(monkeypatch):
    """pcg_study hands every training run to ddlib.sweep.run_sweep at once (two per n), and its Schwarz rows follow
    the theory: lambda_max(M^{-1}A) <= N_c + 1 for two levels."""
    calls = []
    real = pre.run_sweep

    def spy(configs, **kw):
        calls.append(list(configs))
        return real(configs, **kw)

    monkeypatch.setattr(pre, "run_sweep", spy)
    out = pcg_study([31, 63], m=8, epochs=3, workers=1)
    assert len(calls) == 1 and [(c.n, c.model.kind) for c in calls[0]] == [(31, "dd"), (31, "global"), (63, "dd"),
                                                                           (63, "global")]
    rows = {(r["n"], r["preconditioner"]): r for r in out["rows"]}
    assert [r["preconditioner"] for r in out["rows"][:5]] == list(pre.PRECONDITIONERS)
    for n in (31, 63):
        dec = grid(n, (n + 1) // 8)
        assert rows[(n, "as2")]["lambda_max"] <= dec.n_colors + 1 + 1e-8
        assert rows[(n, "learned_dd")]["params"] == out["models"][n]["learned_dd"].num_parameters
        assert rows[(n, "learned_global")]["rank"] == max(1, round(rows[(n, "learned_dd")]["params"] / n))
        assert rows[(n, "learned_dd")]["K"] == min(2 * dec.N, n // 2)


@pytest.mark.slow
def test_pcg_study_classical_rows_follow_theory():
    out = pcg_study([63, 127, 255], m=16, epochs=100, workers=1)
    rows = {(r["n"], r["preconditioner"]): r for r in out["rows"]}
    it2 = [rows[(n, "as2")]["iterations"] for n in (63, 127, 255)]
    it1 = [rows[(n, "as1")]["iterations"] for n in (63, 127, 255)]
    assert max(it2) - min(it2) <= 2          # two levels: bounded at fixed H/h
    assert it1[2] > 1.5 * it1[0]             # one level: grows with N
    for n in (63, 127, 255):
        assert rows[(n, "learned_dd")]["converged"] and rows[(n, "learned_global")]["converged"]


# --------------------------------------------------------------------------- the preconditioning-trained operator
def test_shared_weights_give_identical_interior_blocks_before_and_after_training():
    spec = shared_spec(6, 1, 3)
    P = Problem(47)
    model = spec.build(P, seed=1, init_scale=0.3)
    assert tuple(model.K.shape) == (3, 8 + 2, 3)  # first, interior, last box; n_max = H/h + 2 delta slots
    trained = train(TrainConfig(model=spec, n=47, data="energy_probes", loss="energy", K=4, samples=8,
                                validation_samples=8, test_samples=4, epochs=20, lr=1e-2, eval_points=2),
                    cache_results=False).model
    for blocks in (model.local_blocks(), trained.local_blocks()):
        assert len(blocks) == 6
        for b in blocks[2:-1]:
            assert np.array_equal(b, blocks[1])
        assert not np.array_equal(blocks[0][:-1, :-1], blocks[1][1:-1, 1:-1])  # the end boxes have their own
    assert spec.parameter_count(P) == shared_spec(4096, 1, 3).parameter_count(Problem(8 * 4096 - 1)) \
        == (3 * 8 + 4 - 1) * 3 + 1


def test_trained_operator_applies_unchanged_at_a_larger_n():
    """Train at n = 63 (m = 16), transfer to n = 255 and 1023: the same parameters, local blocks and weight, an SPD
    operator whose condition number settles as n grows, and PCG converging in about the same number of steps."""
    cfg = preconditioner_config(16, 1, 3, n_train=63, samples=16, validation_samples=8, epochs=60, steps=4)
    model = train(cfg).model

    def unit_blocks(mod):  # blocks w s W K K^T W in units of h^2 H/h, which do not depend on n
        b = mod.local_blocks()
        return [x / (16 * mod.problem.h**2) for x in (b[0], b[1], b[-2], b[-1])]

    blocks = unit_blocks(model)
    kappas, its = [], []
    for n in (63, 255, 1023):
        other = model.transfer_to(Structure(grid(n, (n + 1) // 16)))
        assert all(np.allclose(a, b, rtol=1e-13, atol=0) for a, b in zip(unit_blocks(other), blocks))
        assert all(torch.equal(p, q) for p, q in zip(other.parameters(), model.parameters()))
        assert other.omega_value() == model.omega_value()
        b = np.random.default_rng(0).standard_normal(n)
        row = pcg_row(other.problem.matrix(), learned_preconditioner(other), b, n=n,
                      preconditioner="learned_dd_shared", dense_max=1023)
        assert row["converged"]
        kappas.append(row["kappa"])
        its.append(row["iterations"])
    # translation invariance: kappa settles as N grows (the boundary boxes weigh less), it does not grow with n
    assert abs(kappas[2] / kappas[1] - 1) <= 0.02 and abs(kappas[1] / kappas[0] - 1) <= 0.1
    assert all(k <= chebyshev_iterations(kap) for k, kap in zip(its, kappas)) and its[2] <= 1.15 * its[1]


def test_probe_data_and_losses_are_the_stated_norms():
    """Energy probes: f = A u with u = A^{-1/2} w. The energy loss of one Richardson step is ||(I - A^{1/2} M A^{1/2})
    w||^2 / ||w||^2 sample by sample, whose expectation is sum_i (1 - mu_i)^2 / n (Hutchinson), and the trainer
    records exactly that mean."""
    P = Problem(31)
    A = P.matrix().toarray()
    lam, V = np.linalg.eigh(A)
    Ahalf = V @ np.diag(np.sqrt(lam)) @ V.T
    d = make_dataset("train", P, 6, 3, 3, training="energy_probes")  # the training set of the run below (seed 3)
    assert np.abs(d.u @ A - d.f).max() <= 1e-12 * np.abs(d.f).max()
    w = d.u @ Ahalf
    model = shared_spec(4, 1, 2).build(P, seed=3, init_scale=0.5)
    S = np.eye(31) - Ahalf @ model.dense().numpy() @ Ahalf
    with torch.no_grad():
        err = predict(model, torch.as_tensor(d.f.T.copy())).numpy() - d.u.T     # (M A - I) u, as columns
    energy = lambda X: squared_norms(torch.as_tensor(np.ascontiguousarray(X)), "energy", P).numpy()  # noqa: E731
    want = np.sum((w @ S.T) ** 2, axis=1) / np.sum(w**2, axis=1)
    assert np.allclose(energy(err) / energy(d.u.T), want, rtol=1e-10)
    big = make_dataset("train", P, 20000, 3, 1, training="energy_probes")  # Hutchinson, statistical tolerance
    assert np.mean(np.sum((big.u @ Ahalf @ S.T) ** 2, axis=1)) == pytest.approx(np.sum(S**2), rel=0.05)
    cfg = TrainConfig(model=shared_spec(4, 1, 2), n=31, data="energy_probes", loss="energy", K=3, samples=6,
                      validation_samples=6, test_samples=2, epochs=1, lr=1e-9, init_scale=0.5, seed=3, eval_points=2)
    assert train(cfg, cache_results=False).history["train_loss"][0] == pytest.approx(float(np.mean(want)), rel=1e-10)


def test_iterates_of_predict_are_richardson_steepest_descent_and_pcg():
    P = Problem(47)
    A = P.matrix().toarray()
    model = shared_spec(3, 1, 2).build(P, seed=0, init_scale=0.4)
    M = model.dense().numpy()
    F = torch.randn(47, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    U = np.linalg.solve(A, F.numpy())
    with torch.no_grad():
        x3, sd, cg = (predict(model, F, 3, s).numpy() for s in ("richardson", "steepest_descent", "pcg"))
    assert np.allclose(x3 - U, -np.linalg.matrix_power(np.eye(47) - M @ A, 3) @ U, atol=1e-10 * np.abs(U).max())
    for j in range(2):
        ref = pcg(A, F[:, j].numpy(), LinearOperator((47, 47), matvec=lambda v: M @ v), rtol=1e-300, maxiter=3)
        assert np.allclose(cg[:, j], ref.x, atol=1e-10 * np.abs(ref.x).max())
        x, r = np.zeros(47), F[:, j].numpy().copy()
        for _ in range(3):   # steepest descent with exact line search in the A-norm
            z = M @ r
            a = (r @ z) / (z @ A @ z)
            x, r = x + a * z, r - a * (A @ z)
        assert np.allclose(sd[:, j], x, atol=1e-10 * np.abs(x).max())
        e = lambda y: (y - U[:, j]) @ A @ (y - U[:, j])  # noqa: E731
        assert e(cg[:, j]) <= e(sd[:, j]) * (1 + 1e-10) <= e(np.zeros(47))  # CG is optimal over the Krylov space


# ------------------------------------------------------------------------------------------------- the theory
#: kappa(M_r A) of the truncated oracle at H/h = 32, omega = 1/2, n = 255 (N = 8), the chapter's theory table: the
#: dense spectrum of the element formula Phi A_0^{-1} Phi^T + sum_E R_E^T [A_E^{-1}]_r R_E + (h^2/4) I (test below),
#: as the book computed it before the dimension-generic core (commit ec12743).
ORACLE_KAPPA_32 = {2: 55.591782888966335, 4: 21.655412176762745, 8: 7.783647885313977, 16: 3.0848826900526896,
                   32: 1.999887057010947}


def test_theory_table_golden_numbers():
    """The chapter's table at H/h = 32: the lower bound cot^2 theta_r and the upper bound (1 + 2w)/min(1, 2w sin^2
    theta_r) in closed form, lambda_min(M_r A) = 2 w sin^2 theta_r (attained), and the oracle's kappa as before the
    port, to rounding; the CG bound of each."""
    rows = rank_theory(32, list(ORACLE_KAPPA_32), omega=0.5)
    for row in rows:
        r = row["local_rank"]
        theta = (r + 1) * np.pi / 64
        assert row["kappa_lower"] == (max(1.0, 1 / np.tan(theta) ** 2) if theta < np.pi / 2 else 1.0)
        assert row["kappa_upper"] == pytest.approx(2 / min(1.0, np.sin(min(theta, np.pi / 2)) ** 2), rel=1e-15)
        assert row["kappa_oracle"] == pytest.approx(ORACLE_KAPPA_32[r], rel=1e-12)
        if theta < np.pi / 2:
            assert row["lambda_min_oracle"] == pytest.approx(np.sin(theta) ** 2, rel=1e-9)
        assert row["iterations_predicted"] == chebyshev_iterations(ORACLE_KAPPA_32[r])
    assert [r["iterations_predicted"] for r in rows] == [71, 44, 26, 15, 11]
    assert [r["iterations_lower"] for r in rows] == [64, 38, 19, 1, 1]


@pytest.mark.parametrize("m, r", [(16, 1), (16, 3), (32, 4), (32, 8)])
def test_theory_bounds_and_the_oracle_against_dense_spectra(m, r):
    """kappa_lower_bound holds for the oracle and for random members of the class (P PSD of rank N(r+1) - 1 plus
    c I); the oracle attains lambda_min = 2 omega sin^2 theta_r (< 1 here) and respects kappa_upper_bound; its
    kappa does not depend on N."""
    omega = 0.5
    rows = {N: rank_theory(m, [r], N=N, omega=omega)[0] for N in (4, 8)}
    theta = (r + 1) * np.pi / (2 * m)
    for row in rows.values():
        assert kappa_lower_bound(m, r) <= row["kappa_oracle"] <= kappa_upper_bound(m, r, omega)
        assert row["lambda_min_oracle"] == pytest.approx(2 * omega * np.sin(theta) ** 2, rel=1e-9)
    assert rows[8]["kappa_oracle"] == pytest.approx(rows[4]["kappa_oracle"], rel=0.01)
    n = 4 * m - 1
    A = Problem(n).matrix().toarray()
    rng = np.random.default_rng(r)
    for _ in range(3):  # any PSD P of that rank plus c I obeys the same lower bound
        B = rng.standard_normal((n, 4 * (r + 1) - 1))
        ev = dense_spectrum(A, B @ B.T * rng.uniform(1e-6, 1e-2) + rng.uniform(1e-6, 1e-3) * np.eye(n))
        assert ev[-1] / ev[0] >= kappa_lower_bound(m, r) * (1 - 1e-9)


@pytest.mark.parametrize("dim, m, N", [(1, 8, 4), (1, 8, 6), (2, 4, 5)])
def test_oracle_in_the_model_class_is_the_element_formula(dim, m, N):
    """truncated_oracle is Phi A_0^{-1} Phi^T + sum_E R_E^T [A_E^{-1}]_r R_E + omega diag(A)^{-1}, at any N and in 2D
    too (where the elements lie inside their boxes but do not decouple the levels)."""
    r, omega = 3, 0.7
    dec = grid(N * m - 1, N, 1, dim)
    A = dec.problem.matrix().toarray()
    Phi = dec.coarse_space("hat").toarray()
    want = Phi @ np.linalg.solve(Phi.T @ A @ Phi, Phi.T) + omega * np.diag(1 / np.diag(A))
    for E in dec.elements():
        lam, V = np.linalg.eigh(A[np.ix_(E, E)])
        want[np.ix_(E, E)] += V[:, :r] @ np.diag(1 / lam[:r]) @ V[:, :r].T
    got = truncated_oracle(dec, r, omega).dense().numpy()
    assert np.abs(got - want).max() <= 1e-12 * np.abs(want).max()


def test_corrected_oracle_takes_the_jacobi_term_off_its_kept_modes():
    """corrected=True: the element blocks are V_r (Lambda_r^{-1} - c) V_r^T, so at full element rank M is A^{-1}
    plus c on the coarse nodes only, and its validation error is far below the plain oracle's; with the weight of
    corrected_omega the chapter's corrected member (H/h = 32, n = 255) has kappa 1.5012... and needs 2 iterations."""
    m, omega = 8, 0.5
    dec = grid(4 * m - 1, 4)
    c = omega * dec.h**2 / 2
    want = dec.problem.inverse()
    coarse_nodes = np.arange(m - 1, dec.n, m)
    want[coarse_nodes, coarse_nodes] += c
    got = truncated_oracle(dec, m - 1, omega, corrected=True).dense().numpy()
    assert np.abs(got - want).max() <= 1e-12 * np.abs(want).max()
    cfg = preconditioner_config(m, 1, m - 1, n_train=dec.n, samples=4, validation_samples=8)
    plain, corr = (probe_error(truncated_oracle(dec, m - 1, omega, corrected=k), cfg) for k in (False, True))
    assert corr < 1e-2 * plain
    big = grid(255, 8)
    row = pcg_row(big.problem.matrix(), learned_preconditioner(truncated_oracle(big, 32, corrected_omega(32),
                                                                                corrected=True)),
                  np.random.default_rng(0).standard_normal(255), n=255, preconditioner="corrected")
    assert row["kappa"] == pytest.approx(1.5012067236847686, rel=1e-10) and row["iterations"] == 2
    assert row["lambda_min"] == pytest.approx(1.0, rel=1e-11)  # the corrected kept modes are exact


@given(k=st.integers(1, 500), rtol=st.sampled_from([1e-4, 1e-8, 1e-12]))
@settings(max_examples=50, deadline=None)
def test_kappa_for_iterations_inverts_the_cg_bound(k, rtol):
    kappa = kappa_for_iterations(k, rtol)
    below = max(1.0, kappa * (1 - 1e-9))  # kappa is 1 + 4e-12 at k = 1, rtol = 1e-12
    assert chebyshev_iterations(below, rtol) <= k < chebyshev_iterations(kappa * (1 + 1e-9), rtol)


# --------------------------------------------------------------------------------------------------- the studies
def test_stored_numbers_count_the_factors():
    """Schwarz: the stacked local factors (solver.nbytes / 8) plus the coarse LU nonzeros, in 1D (LDL^T, 2 N n_max
    - 1 numbers) and 2D (SuperLU); a DD attention: its parameters plus the LU of its fixed coarse block."""
    for dec in (grid(63, 4), grid(15, 4, 1, 2)):
        S = schwarz_preconditioner(dec, coarse="hat")
        A0 = dec.coarse_matrix("hat", sparse=True)
        lu = splu(A0.tocsc())
        assert stored_numbers(S) == S.overlapping.solver.nbytes // 8 + S.coarse._lu.L.nnz + S.coarse._lu.U.nnz
        assert S.coarse._lu.L.nnz + S.coarse._lu.U.nnz == lu.L.nnz + lu.U.nnz
    assert stored_numbers(schwarz_preconditioner(grid(63, 4), coarse="none")) == 2 * 4 * 18 - 1
    model = shared_spec(4, 1, 2).build(Problem(63))
    assert stored_numbers(model) == model.num_parameters() + model.model._lu.L.nnz + model.model._lu.U.nnz
    with pytest.raises(ValueError, match="op must be"):
        stored_numbers(np.eye(3))


def test_shared_study_rows_and_storage():
    model = train(preconditioner_config(16, 1, 2, n_train=63, samples=8, validation_samples=8, epochs=5, steps=2),
                  cache_results=False).model
    rows = shared_study(model, [63, 127], m=16, dense_max=100)
    assert [(r["n"], r["preconditioner"]) for r in rows] == [(n, p) for n in (63, 127) for p in SHARED_PRECONDITIONERS]
    for r in rows:
        assert r["converged"] and r["kappa"] >= 1 and r["apply_seconds"] > 0
        assert r["method"] == ("dense" if r["n"] <= 100 else "lanczos")
    by = {(r["n"], r["preconditioner"]): r for r in rows}
    for n in (63, 127):  # learned numbers whatever n, plus the LU factors of the fixed coarse matrix
        lu = splu(grid(n, (n + 1) // 16).coarse_matrix("hat", sparse=True).tocsc())
        assert by[(n, "learned_dd_shared")]["stored"] == model.num_parameters() + lu.L.nnz + lu.U.nnz
        assert by[(n, "jacobi_coarse")]["stored"] == lu.L.nnz + lu.U.nnz + 1
    assert by[(127, "as2")]["stored"] > 2 * 127  # two factor numbers per stacked subdomain node, plus the coarse LU
    assert by[(63, "jacobi_coarse")]["local_rank"] == 0 and by[(63, "as1")]["local_rank"] == 16 + 2


@pytest.mark.slow
def test_trained_shared_preconditioner_keeps_iterations_bounded():
    """End to end on modest sizes: one operator trained at n = 127 (m = 16, r = 3) by the preconditioning loss,
    applied unchanged up to n = 4095: PCG iterations grow with exponent at most 0.1 in n, and at the largest n stay
    within 1.5 times the CG bound of the truncated oracle of the same rank; two-level Schwarz stays flat."""
    m, r, ns = 16, 3, [127, 511, 2047, 4095]
    model = train(preconditioner_config(m, 1, r, n_train=127, samples=32, epochs=300)).model
    rows = shared_study(model, ns, m=m, names=("as2", "oracle", "learned_dd_shared"))
    g = growth(rows, "learned_dd_shared")
    assert g["endpoint_exponent"] <= 0.1 and g["exponent"] <= 0.1
    assert growth(rows, "as2")["endpoint_exponent"] <= 0.05
    last = next(x for x in rows if x["n"] == ns[-1] and x["preconditioner"] == "learned_dd_shared")
    assert last["iterations"] <= 1.5 * rank_theory(m, [r])[0]["iterations_predicted"]
    assert last["kappa"] >= kappa_lower_bound(m, r) * (1 - 1e-6)  # no member of the class beats the bound


def test_outliers_move_the_steepest_descent_loss_more_than_the_pcg_loss():
    cfg = preconditioner_config(16, 1, 4, n_train=63, samples=4, validation_samples=16)
    s = outlier_sensitivity(truncated_oracle(grid(63, 4), 4), cfg, count=2, weight=100.0)
    assert s["kappa_outliers"] > 10 * s["kappa"]
    assert s["steepest_descent_outliers"] / s["steepest_descent"] > 2 * s["pcg_outliers"] / s["pcg"] > 1


def test_rank_study_member_comparison_and_compare_losses_rows():
    base = preconditioner_config(16, 1, 2, n_train=63, samples=8, validation_samples=8, epochs=5, steps=2)
    run = train(base)
    rows = rank_study({2: run.model}, 127, m=16)
    assert [(r["preconditioner"], r["local_rank"]) for r in rows] == [("as2", 18), ("oracle", 2),
                                                                      ("learned_dd_shared", 2)]
    members = member_comparison(run)
    # the validation error of the trained operator is the one the trainer recorded, to rounding
    assert members["learned"]["validation"] == pytest.approx(run.final["error_validation"], rel=1e-12)
    assert members["corrected"]["lambda_min"] >= members["oracle"]["lambda_min"]
    out = compare_losses(base, {"lr": [1e-2], "init_scale": [0.03]}, ns=[63], m=16, workers=1,
                         names=("frobenius_l2", "pcg"))
    assert [o["name"] for o in out] == ["frobenius_l2", "pcg"]
    for o in out:
        assert o["chosen"] == {"init_scale": 0.03, "lr": 1e-2} and o["diverged"] == 0
        assert o["kappa_63"] >= 1 and o["iterations_63"] > 0
    assert out[0]["selection"].runs[0].config.data == "probes" and out[1]["selection"].runs[0].config.solver == "pcg"


# ------------------------------------------------------------------------------------------------- the report
CHAPTER = ROOT / "chapters" / "src" / "06_preconditioning.py"


@pytest.fixture(scope="module")
def chapter_records(tmp_path_factory):
    """The chapter's pipeline at toy sizes (H/h = 8, training at n = 31, ranks 2 and 3), in a cache of its own."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DDLIB_CACHE", str(tmp_path_factory.mktemp("cache")))
        m, n_train, ranks, rank, ns = 8, 31, [2, 3], 2, [31, 63]
        old = pcg_study([15, 31], m=m, local_rank=rank, epochs=4, workers=1)
        theory = rank_theory(m, ranks)
        base = preconditioner_config(m, 1, rank, n_train=n_train, samples=8, validation_samples=8, epochs=8, steps=2)
        grid = {"lr": [1e-2], "init_scale": [0.1]}
        specs = [shared_spec(4, 1, r) for r in ranks] + [shared_spec(4, 1, rank, coarse_inverse="learned")]
        *sels, learned_coarse = tuned_comparison(specs, base, grid, [0], workers=1)
        by_rank = dict(zip(ranks, sels))
        model = by_rank[rank].runs[0].model
        records = dict(
            old=old, theory=theory, rank=rank, selections=by_rank, learned_coarse=learned_coarse,
            ablation={k: shared_study(s.runs[0].model, [n_train], m=m, names=["learned_dd_shared"])[0]
                      for k, s in (("galerkin", by_rank[rank]), ("learned", learned_coarse))},
            rows=shared_study(model, ns, m=m), rank_rows=rank_study({r: s.runs[0].model for r, s in by_rank.items()},
                                                                     max(ns), m=m),
            members={r: member_comparison(by_rank[r].runs[0]) for r in (min(ranks), max(ranks))},
            variants=compare_losses(base, grid, [0], ns=[max(ns)], m=m, workers=1),
            sensitivity=outlier_sensitivity(model, base, count=2), grid=grid,
            seconds={"train": 1.0, "variants": 2.0, "total": 3.0},
            checks=pre.optimizer_check(by_rank[max(ranks)].runs[0], longer=2, gd_lrs=(1e-2,), workers=1))
        return records, pre.report_preconditioning(**records)


def test_report_holds_every_number_the_chapter_glues(chapter_records):
    """Every {glue:text} key of the chapter's source comes from the report (the chapter glues nothing else), and
    every value is a plain int, float or str."""
    _, report = chapter_records
    used = set(re.findall(r"\{glue:text\}`([A-Za-z_0-9]+)", CHAPTER.read_text()))
    assert used and used <= set(report), sorted(used - set(report))
    assert all(type(v) in (int, float, str) for v in report.values()), {k: type(v) for k, v in report.items()}

def test_chapter_cells_write_no_english_by_if_else():
    """No code cell of the chapter chooses text by a condition (the verdict words come from the report); the only
    condition is the QUICK switch of the parameters."""
    cells = re.split(r"^# %%", CHAPTER.read_text(), flags=re.M)
    code = [c for c in cells if not c.startswith(" [markdown]")]
    branch = re.compile(r"^\s*(el)?if\b|\bif\b.*\belse\b")     # an if statement or a conditional expression
    branches = [line for c in code for line in c.splitlines() if branch.search(line) and line.strip() != "if QUICK:"]
    assert not branches, branches
    assert "glue(" not in CHAPTER.read_text()  # glued values come from glue_numbers of the report and the settings


def test_report_numbers_are_the_records(chapter_records):
    """The report's numbers are read from the records (identities), and its settings are the runs' own."""
    rec, rep = chapter_records
    th = {t["local_rank"]: t for t in rec["theory"]}
    assert (rep["th_lower"], rep["th_oracle"], rep["th_its"]) == (th[2]["kappa_lower"], th[2]["kappa_oracle"],
                                                                   th[2]["iterations_predicted"])
    assert rep["th_lower_rmin"] == kappa_lower_bound(8, 2) and rep["th_n"] == 8 * 8 - 1
    old = {(r["n"], r["preconditioner"]): r for r in rec["old"]["rows"]}
    assert rep["band_lo"] == band_oracle_kappa(Problem(15), 0.5, old[(15, "learned_dd")]["K"])
    assert rep["old_over_band_hi"] == pytest.approx(old[(31, "learned_dd")]["kappa"] / rep["band_hi"], rel=1e-15)
    rows = {(r["n"], r["preconditioner"]): r for r in rec["rows"]}
    its = rows[(63, "learned_dd_shared")]["iterations"]
    assert rep["learned_dd_shared_it_hi"] == its and rep["ld_over_theory"] == its / th[2]["iterations_predicted"]
    assert rep["ld_stored_hi"] == rows[(63, "learned_dd_shared")]["stored"]
    top = rec["selections"][3].runs[0]
    assert rep["val_top_learned"] == pytest.approx(top.final["error_validation"], rel=1e-12)
    assert rep["head_params"] == rec["selections"][2].params == shared_spec(4, 1, 2).parameter_count(Problem(31))
    assert (rep["m"], rep["n_train"], rep["steps"], rep["n_lo"], rep["n_hi"], rep["r_max"]) == (8, 31, 2, 31, 63, 3)
    as2 = next(r for r in rec["rank_rows"] if r["preconditioner"] == "as2")
    k = rep["kappa_needed"]
    assert chebyshev_iterations(k * (1 - 1e-9)) <= int(1.5 * as2["iterations"]) < chebyshev_iterations(k * (1 + 1e-9))
    assert rep["sens_count"] == 2 and rep["sens_sd_ratio"] == pytest.approx(
        rep["sens_steepest_descent_outliers"] / rep["sens_steepest_descent"], rel=1e-15)
    assert {f"loss_{name}_its" for name in pre.LOSS_VARIANTS} <= set(rep)
    checks = {c["variant"]: c for c in rec["checks"]}
    assert [c["variant"] for c in rec["checks"]] == list(pre.OPTIMIZER_VARIANTS)
    assert checks["chosen"]["validation"] == top.final["error_validation"] and checks["longer"]["epochs"] == 16
    assert all(rep[f"opt_{k}_val"] == c["validation"] for k, c in checks.items())
    assert pre._grid_text([{"optimizer": ["adam"], "lr": [0.01]}, {"optimizer": ["gd"], "lr": [0.1, 1]}]) == (
        "Adam: learning rate ∈ {0.01}; heavy-ball gradient descent: learning rate ∈ {0.1, 1}")


def test_verdict_words_follow_the_numbers(chapter_records):
    """Each verdict word is the one its check gives, for both outcomes (the records are bent to flip each)."""
    rec, rep = chapter_records
    th = {t["local_rank"]: t for t in rec["theory"]}
    exponent = growth(rec["rows"], "learned_dd_shared")["endpoint_exponent"]
    assert rep["bounded_text"] == ("stay bounded" if exponent <= pre.BOUNDED_EXPONENT else "do not stay bounded")
    predicted = th[2]["iterations_predicted"]
    for counts, words in (({31: predicted, 63: predicted}, ("stay bounded", "within", "at most")),  # flat, at the bound
                          ({31: predicted, 63: 4 * predicted}, ("do not stay bounded", "not within", "more than"))):
        rows = [dict(r, iterations=counts[r["n"]]) if r["preconditioner"] == "learned_dd_shared" else r
                for r in rec["rows"]]
        got = pre._report_study(rows, th[2])
        assert (got["bounded_text"], got["within_text"], got["within_intro"]) == words
    as2 = next(r for r in rec["rank_rows"] if r["preconditioner"] == "as2")["iterations"]
    for its, word in ((as2, "comes"), (10 * as2 + 10, "does not come")):
        rank_rows = [dict(r, iterations=its) if r["preconditioner"] == "learned_dd_shared" and r["local_rank"] == 3
                     else r for r in rec["rank_rows"]]
        assert pre._report_rank(rank_rows, rec["theory"], rec["members"])["top_verdict"] == word
    members = rec["members"]
    for scale, end in ((10.0, "top"), (0.01, "bottom")):
        learned = dict(members[3]["learned"], lambda_max=members[3]["corrected"]["lambda_max"] * scale ** 0.5,
                       lambda_min=members[3]["corrected"]["lambda_min"] * scale)
        bent = {**members, 3: {**members[3], "learned": learned}}
        got = pre._report_rank(rec["rank_rows"], rec["theory"], bent)
        assert got["worse_end"] == end and got["top_off"] == pytest.approx(scale ** 0.5)
    assert rep["corr_within"] == ("within" if members[3]["corrected"]["iterations"] <= 1.5 * as2 else "not within")


def test_a_bare_shared_model_gets_the_jacobi_weight_of_the_study():
    """shared_study and rank_study complete a bare shared DD attention with omega diag(A)^{-1} at the study's omega
    (not a default): its row equals that of the WithJacobi it becomes."""
    bare = schwarz_init(DDAttention(Structure(grid(63, 4)), 3, symmetric=True, shared=True, learned_coarse=False))
    got = shared_study(bare, [127], m=16, omega=0.7, names=["learned_dd_shared"])[0]
    want = shared_study(WithJacobi(bare, 0.7), [127], m=16, names=["learned_dd_shared"])[0]
    assert got["kappa"] == pytest.approx(want["kappa"], rel=1e-12) and got["stored"] == want["stored"]
    other = shared_study(WithJacobi(bare, 0.5), [127], m=16, names=["learned_dd_shared"])[0]
    assert abs(other["kappa"] / got["kappa"] - 1) > 1e-3
    ranked = rank_study({3: bare}, 127, m=16, omega=0.7)[-1]
    assert ranked["kappa"] == pytest.approx(want["kappa"], rel=1e-12)


def test_a_warm_start_at_the_oracle_starts_from_the_oracles_operator():
    """oracle_start: the first history row of a warm-started run is the oracle's validation error (probe_error), to
    rounding, and the start enters the cache key; a start at the model's own initialisation changes nothing."""
    from ddlib.training import run_key
    cfg = pre.preconditioner_config(16, 1, 2, n_train=63, samples=8, epochs=2)
    start = pre.oracle_start(cfg, omega=0.5)
    warm = train(cfg, start=start, cache_results=False, progress=False)
    oracle = pre.truncated_oracle(Decomposition(Problem(63), 4, 1), 2, 0.5)
    assert warm.history["error_validation"][0] == pytest.approx(pre.probe_error(oracle, cfg), rel=1e-12)
    cold = train(cfg, cache_results=False, progress=False)
    same = train(cfg, start=cfg.build_model().state_dict(), cache_results=False, progress=False)
    assert same.history["train_loss"] == cold.history["train_loss"]
    assert len({run_key(cfg), run_key(cfg, start=start), warm.key}) == 2 and warm.key == run_key(cfg, start=start)
    with pytest.raises(ValueError, match="shared_spec"):
        pre.oracle_start(cfg.replace(model=cfg.model.replace(coarse_inverse="learned")))


def test_the_optimizer_verdict_and_the_rank_list_follow_the_numbers():
    rows = lambda vals: [{"variant": k, "validation": v, "lr": 0.1, "epochs": 10, "iterations": 5}  # noqa: E731
                         for k, v in zip(pre.OPTIMIZER_VARIANTS, vals)]
    corrected = {"validation": 1e-3}
    assert pre._report_optimizers(rows([1e-1, 1.2e-3, 5e-2, 5e-2, 5e-2]), corrected)["gap_verdict"] == "closes"
    out = pre._report_optimizers(rows([1e-1, 5e-2, 6e-2, 0.2, 0.3]), corrected)
    assert out["gap_verdict"] == "narrows" and out["opt_best"] == "the longer run" and out["opt_best_val"] == 5e-2
    assert pre._report_optimizers(rows([1e-1, 9e-2, 0.2, 0.1, 0.1]), corrected)["gap_verdict"] == "does not narrow"
    assert [pre._ranks_text(r) for r in ([], [8], [8, 4], [2, 4, 8])] == [
        "no rank", "r = 8", "r = 4 and 8", "r = 2, 4 and 8"]
