"""Symmetric PSD attention, its training, and the learned preconditioner in PCG."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from scipy.sparse.linalg import LinearOperator

from ddlib.attention import DDAttention, GlobalAttention, reference_apply
from ddlib.data import make_dataset
from ddlib.decomposition import Decomposition
from ddlib.krylov import chebyshev_iterations, dense_spectrum, pcg
from ddlib.models import DDSpec, spec_from_dict
from ddlib.preconditioning import (SHARED_PRECONDITIONERS, band_oracle_kappa, compare_losses, growth,
                                   kappa_lower_bound, kappa_upper_bound, learned_preconditioner,
                                   outlier_sensitivity, pcg_row, pcg_study, preconditioner_config, probe_error,
                                   rank_study, rank_theory, shared_spec, shared_study, truncated_oracle)
from ddlib.problem import eigenvalues, eigenvectors, grid, inverse, laplacian_1d
from ddlib.training import TrainConfig, predict, run_key, squared_norms, train


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
    shared = N >= 3 and 2 * dec.delta < m and draw(st.booleans())
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
def test_pcg_study_classical_rows_follow_theory():
    out = pcg_study([63, 127, 255], m=16, epochs=100)
    rows = {(r["n"], r["preconditioner"]): r for r in out["rows"]}
    it2 = [rows[(n, "as2")]["iterations"] for n in (63, 127, 255)]
    it1 = [rows[(n, "as1")]["iterations"] for n in (63, 127, 255)]
    assert max(it2) - min(it2) <= 2          # two levels: bounded at fixed H/h
    assert it1[2] > 1.5 * it1[0]             # one level: grows with N
    for n in (63, 127, 255):
        assert rows[(n, "as2")]["kappa"] <= 1 + Decomposition(n, (n + 1) // 16, 1).n_colors + 1e-8
        assert rows[(n, "learned_dd")]["converged"] and rows[(n, "learned_global")]["converged"]


# --------------------------------------------------------------------------- the preconditioning-trained operator
@st.composite
def preconditioner_models(draw):
    """Random members of the learned preconditioner's class (and of its neighbours): tied factors, any coarse
    inverse, shared or not, a fixed or learned diagonal term with a random weight."""
    N = draw(st.integers(3, 6))
    m = draw(st.integers(2, 8))
    dec = Decomposition(N * m - 1, N, draw(st.integers(0, (m - 1) // 2)))
    return DDAttention(dec, draw(st.integers(1, dec.n_max)), symmetric=True, shared=draw(st.booleans()),
                       coarse_inverse=draw(st.sampled_from(["galerkin", "learned"])),
                       weighting=draw(st.sampled_from(["sqrt", "none"])),
                       diagonal=draw(st.sampled_from(["jacobi", "learned"])),
                       omega=draw(st.floats(1e-3, 10.0)), seed=draw(st.integers(0, 2**16)),
                       init_scale=draw(st.floats(0.01, 3.0)))


@FAST
@given(model=preconditioner_models())
def test_learned_preconditioner_is_spd_with_the_jacobi_floor(model):
    """M = M_theta + omega h^2/2 I with M_theta a sum of Gram matrices: symmetric, and every eigenvalue at least
    omega h^2 / 2 > 0 (so positive definite) for any parameters."""
    M = model.dense().numpy()
    scale = np.abs(M).max()
    floor = model.omega_value() * model.h**2 / 2
    assert np.abs(M - M.T).max() <= 1e-13 * scale
    assert np.linalg.eigvalsh(0.5 * (M + M.T)).min() >= floor - 1e-12 * scale > 0
    assert model.num_parameters() == model.parameter_formula()
    P = learned_preconditioner(model)  # carries its own diagonal: used as it is
    x = np.random.default_rng(0).standard_normal(model.n)
    assert np.allclose(P.matvec(x), M @ x, rtol=0, atol=1e-12 * scale * np.abs(x).max() * model.n)


@FAST
@given(model=preconditioner_models(), data=st.data())
def test_diagonal_and_closed_galerkin_paths_equal_reference_with_gradients(model, data):
    """The window layout with the closed-form Galerkin solve and the diagonal term equals the gather reference
    (dense Galerkin factors), in values and in parameter and input gradients."""
    f = torch.randn(3, model.n, dtype=torch.float64, generator=torch.Generator().manual_seed(data.draw(
        st.integers(0, 99))), requires_grad=True)
    u, v = model(f), reference_apply(model, f.T).T
    tol = 1e-13 * float(v.detach().abs().max())
    assert torch.allclose(u, v, rtol=0, atol=tol)
    params = list(model.parameters())
    for a, b in zip(torch.autograd.grad(u.square().sum(), params + [f]),
                    torch.autograd.grad(v.square().sum(), params + [f])):
        assert torch.allclose(a, b, rtol=0, atol=1e-12 * float(b.abs().max() + 1e-300))


@pytest.mark.parametrize("N", [2, 3, 4, 9, 40])
def test_galerkin_solve_is_the_inverse_coarse_matrix(N):
    """(A_0^{-1} S / h) by two cumulative sums equals the dense inverse of A_0 = Phi^T A Phi (hat functions)."""
    dec = Decomposition(N * 6 - 1, N, 1)
    model = DDAttention(dec, 2, symmetric=True, coarse_inverse="galerkin")
    S = torch.randn(N - 1, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(N))
    dense = np.linalg.inv(dec.coarse_matrix("hat")) / dec.h @ S.numpy()
    assert np.allclose(model.galerkin_solve(S).numpy(), dense, rtol=0, atol=1e-12 * np.abs(dense).max())
    assert not hasattr(model, "Q0_fixed")  # no dense N_0 x N_0 buffer in the closed form


def test_shared_weights_give_identical_interior_blocks_before_and_after_training():
    spec = shared_spec(6, 1, 3)
    model = spec.build(47, seed=1, init_scale=0.3)
    for blocks in (model.local_blocks(), train(TrainConfig(model=spec, n=47, data="energy_probes", loss="energy",
                                                            K=4, samples=8, validation_samples=8, test_samples=4,
                                                            epochs=20, lr=1e-2, eval_points=2),
                                               cache_results=False).model.local_blocks()):
        assert len(blocks) == 6
        for b in blocks[2:-1]:
            assert np.array_equal(b, blocks[1])
        assert not np.array_equal(blocks[0], blocks[1])  # the boundary subdomains have their own factors
    big = shared_spec(4096, 1, 3)  # m = 8 at n = 32767: the same parameters
    assert spec.parameter_count(47) == big.parameter_count(8 * 4096 - 1) == (3 * 8 + 4 - 1) * 3 + 1


def test_trained_operator_applies_unchanged_at_a_larger_n():
    """Train at n = 63 (m = 16), transfer to n = 255 and 1023: the same factors, local blocks and weight, an SPD
    operator whose condition number settles as n grows, and PCG converging in about the same number of steps."""
    cfg = preconditioner_config(16, 1, 3, n_train=63, samples=16, validation_samples=8, epochs=60, steps=4)
    model = train(cfg).model
    def unit_blocks(mod):  # W K K^T W: the blocks h H W K K^T W in units of h H = m h^2, which do not depend on n
        b = mod.local_blocks()
        return [x / (16 * mod.h**2) for x in (b[0], b[1], b[-2], b[-1])]

    blocks = unit_blocks(model)
    kappas, its = [], []
    for n in (63, 255, 1023):
        other = model.transfer_to(Decomposition(n, (n + 1) // 16, 1))
        assert all(np.allclose(a, b, rtol=1e-13, atol=0) for a, b in zip(unit_blocks(other), blocks))
        assert all(torch.equal(p, q) for p, q in zip(other.parameters(), model.parameters()))
        assert other.omega_value() == model.omega_value()
        A, P = laplacian_1d(n), learned_preconditioner(other)
        row = pcg_row(A, P, np.random.default_rng(0).standard_normal(n), n=n, preconditioner="learned_dd_shared",
                      dense_max=1023)
        assert row["converged"]
        kappas.append(row["kappa"])
        its.append(row["iterations"])
    # translation invariance: kappa settles as N grows (the boundary subdomains weigh less), it does not grow with n
    assert abs(kappas[2] / kappas[1] - 1) <= 0.02 and abs(kappas[1] / kappas[0] - 1) <= 0.1
    # PCG within the Chebyshev bound of its kappa at every n; from n = 255 on the count settles too (at n = 63 the
    # spectrum has only 63 eigenvalues, and CG profits from so few)
    assert all(k <= chebyshev_iterations(kap) for k, kap in zip(its, kappas)) and its[2] <= 1.15 * its[1]


def test_probe_data_and_losses_are_the_stated_norms():
    """probes: f = A u with u ~ N(0, I); energy probes: f = A u with u = A^{-1/2} w. The energy loss of one
    Richardson step on energy probes is ||(I - A^{1/2} M A^{1/2}) w||^2 / ||w||^2 sample by sample, whose
    expectation is sum_i (1 - mu_i)^2 / n (Hutchinson), and the trainer records exactly that mean."""
    n = 31
    A = laplacian_1d(n).toarray()
    lam, V = np.linalg.eigh(A)
    Ahalf = V @ np.diag(np.sqrt(lam)) @ V.T
    for kind in ("probes", "energy_probes"):
        d = make_dataset("train", n, 6, 3, 0, training=kind)
        assert np.abs(d.u @ A - d.f).max() <= 1e-12 * np.abs(d.f).max()
    d = make_dataset("train", n, 6, 3, 3, training="energy_probes")  # the training set of the run below (seed 3)
    w = d.u @ Ahalf
    model = shared_spec(4, 1, 2).build(n, seed=3, init_scale=0.5)
    M = model.dense().numpy()
    S = np.eye(n) - Ahalf @ M @ Ahalf
    with torch.no_grad():
        err = predict(model, torch.as_tensor(d.f.T.copy())).numpy() - d.u.T     # (M A - I) u, as columns
    energy = lambda X: squared_norms(torch.as_tensor(np.ascontiguousarray(X)), "energy").numpy()  # noqa: E731
    got = energy(err) / energy(d.u.T)
    want = np.sum((w @ S.T) ** 2, axis=1) / np.sum(w**2, axis=1)
    assert np.allclose(got, want, rtol=1e-10)
    assert np.allclose(energy(err), np.einsum("ij,ik,kj->j", err, A, err), rtol=1e-11)
    # Hutchinson: E ||S w||^2 = ||S||_F^2, checked on 20000 draws against the exact trace (statistical tolerance)
    big = make_dataset("train", n, 20000, 3, 1, training="energy_probes")
    wb = big.u @ Ahalf
    mc = np.mean(np.sum((wb @ S.T) ** 2, axis=1))
    assert mc == pytest.approx(np.sum(S**2), rel=0.05)
    cfg = TrainConfig(model=shared_spec(4, 1, 2), n=n, data="energy_probes", loss="energy", K=3, samples=6,
                      validation_samples=6, test_samples=2, epochs=1, lr=1e-9, init_scale=0.5, seed=3, eval_points=2)
    res = train(cfg, cache_results=False)
    assert res.history["train_loss"][0] == pytest.approx(float(np.mean(want)), rel=1e-10)


def test_iterates_of_predict_are_richardson_steepest_descent_and_pcg():
    n = 47
    A = laplacian_1d(n).toarray()
    model = shared_spec(3, 1, 2).build(n, seed=0, init_scale=0.4)
    M = model.dense().numpy()
    F = torch.randn(n, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    U = np.linalg.solve(A, F.numpy())
    with torch.no_grad():
        x3 = predict(model, F, 3).numpy()
        sd = predict(model, F, 3, "steepest_descent").numpy()
        cg = predict(model, F, 3, "pcg").numpy()
    E = np.eye(n) - M @ A
    assert np.allclose(x3 - U, -np.linalg.matrix_power(E, 3) @ U, atol=1e-10 * np.abs(U).max())
    for j in range(2):
        ref = pcg(A, F[:, j].numpy(), LinearOperator((n, n), matvec=lambda v: M @ v), rtol=1e-300, maxiter=3)
        assert np.allclose(cg[:, j], ref.x, atol=1e-10 * np.abs(ref.x).max())
        x, r = np.zeros(n), F[:, j].numpy().copy()
        for _ in range(3):   # steepest descent with exact line search in the A-norm
            z = M @ r
            a = (r @ z) / (z @ A @ z)
            x, r = x + a * z, r - a * (A @ z)
        assert np.allclose(sd[:, j], x, atol=1e-10 * np.abs(x).max())
        e = lambda y: (y - U[:, j]) @ A @ (y - U[:, j])  # noqa: E731
        assert e(cg[:, j]) <= e(sd[:, j]) * (1 + 1e-10) <= e(np.zeros(n))  # CG is optimal over the Krylov space


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
    N = 4
    n = N * m - 1
    A = laplacian_1d(n).toarray()
    rng = np.random.default_rng(r)
    for _ in range(3):  # any PSD P of that rank plus c I obeys the same lower bound
        B = rng.standard_normal((n, N * (r + 1) - 1))
        Mr = B @ B.T * rng.uniform(1e-6, 1e-2) + rng.uniform(1e-6, 1e-3) * np.eye(n)
        ev = dense_spectrum(A, Mr)
        assert ev[-1] / ev[0] >= kappa_lower_bound(m, r) * (1 - 1e-9)


def test_oracle_in_the_model_class_is_the_element_formula():
    """truncated_oracle is Phi A_0^{-1} Phi^T + sum_E R_E^T [A_E^{-1}]_r R_E + omega h^2/2 I, at any N."""
    m, r, omega = 8, 3, 0.7
    for N in (4, 6):
        dec = Decomposition(N * m - 1, N, 1)
        A = laplacian_1d(dec.n).toarray()
        Phi = dec.coarse_space("hat").toarray()
        want = Phi @ np.linalg.solve(Phi.T @ A @ Phi, Phi.T) + omega * dec.h**2 / 2 * np.eye(dec.n)
        for i in range(N):
            E = np.arange(i * m, min((i + 1) * m - 1, dec.n))
            lam, V = np.linalg.eigh(A[np.ix_(E, E)])
            want[np.ix_(E, E)] += V[:, :r] @ np.diag(1 / lam[:r]) @ V[:, :r].T
        got = truncated_oracle(dec, r, omega).dense().numpy()
        assert np.abs(got - want).max() <= 1e-12 * np.abs(want).max()


def test_shared_study_rows_and_storage():
    model = train(preconditioner_config(16, 1, 2, n_train=63, samples=8, validation_samples=8, epochs=5, steps=2),
                  cache_results=False).model
    rows = shared_study(model, [63, 127], m=16, dense_max=100)
    assert [(r["n"], r["preconditioner"]) for r in rows] == [(n, p) for n in (63, 127) for p in SHARED_PRECONDITIONERS]
    for r in rows:
        assert {"n", "preconditioner", "kappa", "iterations", "local_rank", "stored_per_node"} <= set(r)
        assert r["converged"] and r["kappa"] >= 1 and r["apply_seconds"] > 0
        assert r["method"] == ("dense" if r["n"] <= 100 else "lanczos")
    by = {(r["n"], r["preconditioner"]): r for r in rows}
    params = model.num_parameters()
    assert by[(127, "learned_dd_shared")]["stored"] == params == by[(63, "learned_dd_shared")]["stored"]
    assert by[(127, "as2")]["stored"] > 2 * 127  # two factor numbers per subdomain node, plus the coarse LU
    assert by[(63, "jacobi_coarse")]["local_rank"] == 0 and by[(63, "as1")]["local_rank"] == 16 + 2


def test_new_options_are_in_the_cache_key_and_validate():
    spec = DDSpec(8, 1, 4)
    assert spec.to_dict()["diagonal"] == "none" and spec_from_dict(spec.to_dict()) == spec
    cfg = TrainConfig(model=spec)
    assert {"loss", "solver", "solver_steps", "dim"} <= set(cfg.to_dict())
    new = cfg.replace(loss="energy", solver="pcg", solver_steps=3, model=spec.replace(diagonal="learned"))
    assert TrainConfig.from_dict(new.to_dict()) == new and run_key(new) != run_key(cfg)
    for bad, match in ((dict(loss="h1"), "loss"), (dict(solver="gmres"), "solver"), (dict(solver_steps=0),
                                                                                        "solver_steps")):
        with pytest.raises(ValueError, match=match):
            cfg.replace(**bad)
    with pytest.raises(ValueError, match="omega"):
        DDSpec(8, 1, 4, omega=0.0)
    with pytest.raises(ValueError, match="diagonal"):
        DDSpec(8, 1, 4, diagonal="exact")
    with pytest.raises(ValueError, match="omega must be None"):
        learned_preconditioner(shared_spec(8, 1, 4).build(255), omega=0.5)
    with pytest.raises(ValueError, match="n_train"):
        preconditioner_config(32, 1, 4, n_train=100)
    with pytest.raises(ValueError, match="every n"):
        shared_study(None, [255, 100], m=32, local_rank=4)


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
    predicted = rank_theory(m, [r])[0]["iterations_predicted"]
    last = next(x for x in rows if x["n"] == ns[-1] and x["preconditioner"] == "learned_dd_shared")
    assert last["iterations"] <= 1.5 * predicted
    assert last["kappa"] >= kappa_lower_bound(m, r) * (1 - 1e-6)  # no member of the class beats the bound


def test_corrected_oracle_takes_the_jacobi_term_off_its_kept_modes():
    """corrected=True: the element blocks are V_r (Lambda_r^{-1} - c) V_r^T, so at full element rank M is A^{-1}
    plus c on the coarse nodes only, and PCG needs at most a few steps; its validation error is far below the plain
    oracle's."""
    m, omega = 8, 0.5
    dec = Decomposition(4 * m - 1, 4, 1)
    A = laplacian_1d(dec.n).toarray()
    c = omega * dec.h**2 / 2
    coarse_nodes = np.arange(m - 1, dec.n, m)
    want = np.linalg.inv(A)
    want[coarse_nodes, coarse_nodes] += c
    got = truncated_oracle(dec, m - 1, omega, corrected=True).dense().numpy()
    assert np.abs(got - want).max() <= 1e-12 * np.abs(want).max()
    cfg = preconditioner_config(m, 1, m - 1, n_train=dec.n, samples=4, validation_samples=8)
    plain, corr = (probe_error(truncated_oracle(dec, m - 1, omega, corrected=k), cfg) for k in (False, True))
    assert corr < 1e-2 * plain


def test_outliers_move_the_steepest_descent_loss_more_than_the_pcg_loss():
    dec = Decomposition(63, 4, 1)
    cfg = preconditioner_config(16, 1, 4, n_train=63, samples=4, validation_samples=16)
    s = outlier_sensitivity(truncated_oracle(dec, 4), cfg, count=2, weight=100.0)
    assert s["kappa_outliers"] > 10 * s["kappa"]
    assert s["steepest_descent_outliers"] / s["steepest_descent"] > 2 * s["pcg_outliers"] / s["pcg"] > 1


def test_rank_study_and_compare_losses_rows():
    base = preconditioner_config(16, 1, 2, n_train=63, samples=8, validation_samples=8, epochs=5, steps=2)
    model = train(base).model
    rows = rank_study({2: model}, 127, m=16)
    assert [(r["preconditioner"], r["local_rank"]) for r in rows] == [("as2", 18), ("oracle", 2),
                                                                      ("learned_dd_shared", 2)]
    out = compare_losses(base, {"lr": [1e-2], "init_scale": [0.03]}, ns=[63], m=16, workers=1,
                         names=("frobenius_l2", "pcg"))
    assert [o["name"] for o in out] == ["frobenius_l2", "pcg"]
    for o in out:
        assert o["chosen"] == {"lr": 1e-2, "init_scale": 0.03} and o["diverged"] == 0
        assert o["kappa_63"] >= 1 and o["iterations_63"] > 0
    assert out[0]["selection"].runs[0].config.data == "probes" and out[1]["selection"].runs[0].config.solver == "pcg"
