"""2D DD attention: the batched operator equals a loop over subdomains and its own dense matrix, the Schwarz
initialisation is the classical preconditioner, gradients, parameter counts, the operator error, clear errors."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ddlib.attention2d import DDAttention2D, dd2d_parameter_count, operator_error_2d
from ddlib.decomposition2d import Decomposition2D
from ddlib.problem2d import eigenvalues_2d, eigenvectors_2d, inverse_2d, laplacian_2d
from ddlib.schwarz2d import schwarz_preconditioner_2d, to_dense

FAST = settings(max_examples=15, deadline=None)


@st.composite
def decompositions(draw, max_N=4, max_box=5):
    N = draw(st.integers(1, max_N))
    b = draw(st.integers(2, max_box))
    return Decomposition2D(N * b - 1, N, draw(st.integers(0, b - 1)))


def loop_reference(model: DDAttention2D, F: np.ndarray) -> np.ndarray:
    """The paper's formula with one subdomain at a time: sparse R_i, diagonal D_i^{1/2}, factors cut to the box."""
    dec = model.decomposition
    D = dec.partition_of_unity(model.partition)
    U = np.zeros_like(F)
    if model.use_local:
        for i, R in enumerate(dec.restrictions()):
            keep = dec.mask[i]
            Qi, Ki = model.Q[i, keep].detach().numpy(), model.K[i, keep].detach().numpy()
            W = sp.diags(np.sqrt(D[i]))
            U += R.T @ (W @ (Qi @ (Ki.T @ (W @ (R @ F)))))
    if model.use_coarse:
        P = dec.coarse_space(model.coarse, model.partition, 3 if model.coarse == "spectral" else 1)
        U += P @ (model.Q0.detach().numpy() @ (model.K0.detach().numpy().T @ (P.T @ F)))
    return model.h**2 * U


@FAST
@given(dec=decompositions(), data=st.data())
def test_batched_operator_equals_loop_and_dense(dec, data):
    partition = data.draw(st.sampled_from(["multiplicity", "ramp", "boolean"]))
    coarse = data.draw(st.sampled_from(["hat", "nicolaides", "spectral", "none"]))
    if coarse == "spectral" and (partition == "boolean" or dec.sizes.min() < 3):
        coarse = "nicolaides"
    use_local = data.draw(st.booleans()) or (coarse == "none" or (coarse == "hat" and dec.N == 1))
    r = data.draw(st.integers(1, dec.n_max))
    model = DDAttention2D(dec, r, partition=partition, coarse=coarse, per_box=3, use_local=use_local,
                          seed=data.draw(st.integers(0, 2**16)))
    F = np.random.default_rng(1).standard_normal((dec.n, 3))
    U = model.apply_columns(torch.from_numpy(F)).detach().numpy()
    ref = loop_reference(model, F)
    assert np.allclose(U, ref, rtol=1e-12, atol=1e-14 * np.abs(ref).max())
    Md = model.dense().numpy()
    assert np.allclose(Md @ F, U, rtol=1e-12, atol=1e-14 * np.abs(U).max())
    # rows in, rows out; a single vector too
    rows = model(torch.from_numpy(F.T)).detach().numpy()
    assert np.allclose(rows, U.T, atol=1e-15 * np.abs(U).max())
    assert np.allclose(model(torch.from_numpy(F[:, 0])).detach().numpy(), U[:, 0], atol=1e-15 * np.abs(U).max())
    assert model.num_parameters() == model.parameter_formula()
    assert model.num_parameters() == sum(p.numel() for p in model.parameters()) - (
        2 * model.local_rank * int((~dec.mask).sum()) if use_local else 0)


@FAST
@given(dec=decompositions(), partition=st.sampled_from(["multiplicity", "ramp", "boolean"]),
       coarse=st.sampled_from(["hat", "nicolaides", "none"]))
def test_schwarz_init_is_the_classical_two_level_preconditioner(dec, partition, coarse):
    """Full local rank: h^2 (Phi Q0 K0^T Phi^T + sum R^T D^1/2 Q K^T D^1/2 R)
    = Phi A0^-1 Phi^T + sum R^T D^1/2 A_i^-1 D^1/2 R."""
    model = DDAttention2D(dec, dec.n_max, partition=partition, coarse=coarse, init="schwarz")
    M = to_dense(schwarz_preconditioner_2d(dec, weighting="sqrt", coarse=coarse, partition=partition))
    assert np.max(np.abs(model.dense().numpy() - M)) < 1e-12 * np.abs(M).max()
    # and the learned blocks are the inverses of the box Laplacians, weighted
    A = laplacian_2d(dec.m)
    D = dec.partition_of_unity(partition)
    for i, block in enumerate(model.local_blocks()):
        idx = dec.indices[i]
        Ai_inv = np.linalg.inv(A[idx][:, idx].toarray())
        assert np.allclose(block, np.sqrt(D[i])[:, None] * Ai_inv * np.sqrt(D[i])[None, :], atol=1e-14)


def test_truncated_schwarz_oracle_truncates_every_block():
    """At rank r each block is the best rank-r approximation of A_i^{-1}: its error is the (r+1)-th eigenvalue."""
    dec = Decomposition2D(15, 2, 1)
    r = 5
    model = DDAttention2D(dec, r, partition="multiplicity", use_coarse=False, init="schwarz")
    A = laplacian_2d(dec.m)
    D = dec.partition_of_unity("multiplicity")
    for i, block in enumerate(model.local_blocks()):
        idx = dec.indices[i]
        Ai_inv = np.linalg.inv(A[idx][:, idx].toarray())
        B = block / np.sqrt(D[i])[:, None] / np.sqrt(D[i])[None, :]
        assert np.linalg.matrix_rank(B, tol=1e-12 * np.abs(B).max()) == r
        ev = np.sort(np.linalg.eigvalsh(Ai_inv))[::-1]
        assert np.linalg.norm(Ai_inv - B, 2) == pytest.approx(ev[r], rel=1e-9)


def test_scaled_factors_are_order_one():
    """The h^2 scaling: A_i^{-1}/h^2 entries stay O(1) as the grid is refined at a fixed geometry."""
    sizes = []
    for m in (15, 31, 63):
        model = DDAttention2D(Decomposition2D(m, 4, (m + 1) // 16), 4, init="schwarz")
        Q = model.Q.detach()
        sizes.append(float((Q @ Q.transpose(1, 2)).abs().max()))
    assert max(sizes) < 2.0 and max(sizes) / min(sizes) < 2.0


def test_gradcheck_tiny():
    dec = Decomposition2D(5, 2, 1)
    model = DDAttention2D(dec, 2, partition="ramp", coarse="hat", seed=3)
    F = torch.randn(dec.n, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)

    args = (F,) + tuple(p.detach().clone().requires_grad_(True) for p in (model.Q, model.K, model.Q0, model.K0))
    assert torch.autograd.gradcheck(lambda *a: _functional(model, *a), args)


def _functional(model, F, Q, K, Q0, K0):
    """apply_columns with the factors passed in (so gradcheck can perturb them)."""
    saved = model.Q, model.K, model.Q0, model.K0
    for name, t in zip(("Q", "K", "Q0", "K0"), (Q, K, Q0, K0)):
        del model._parameters[name]
        setattr(model, name, t)
    try:
        return model.apply_columns(F)
    finally:
        for name, t in zip(("Q", "K", "Q0", "K0"), saved):
            delattr(model, name)
            model.register_parameter(name, t)


def test_random_init_is_seeded_and_leaves_the_global_generator_alone():
    dec = Decomposition2D(11, 3, 1)
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = DDAttention2D(dec, 3, seed=7, init_scale=0.5)
    assert torch.equal(torch.rand(1), before)
    b = DDAttention2D(dec, 3, seed=7, init_scale=0.5)
    c = DDAttention2D(dec, 3, seed=8, init_scale=0.5)
    assert torch.equal(a.Q, b.Q) and torch.equal(a.K0, b.K0) and not torch.equal(a.Q, c.Q)
    assert torch.all(a.Q[~torch.as_tensor(dec.mask)] == 0)
    real = a.Q.detach()[torch.as_tensor(dec.mask)]
    assert abs(float(real.std()) - 0.5) < 0.05


def test_parameter_count_closed_form():
    assert dd2d_parameter_count(15, 4, 1, 3) == 2 * 3 * (15 + 2 * 3) ** 2 + 2 * 9 * 9
    assert dd2d_parameter_count(15, 4, 1, 3, coarse_rank=0) == 2 * 3 * 21**2
    m = DDAttention2D(Decomposition2D(15, 4, 2), 2, 5, coarse="nicolaides")
    assert m.num_parameters() == 2 * 2 * (15 + 12) ** 2 + 2 * 16 * 5 == m.parameter_formula()
    m = DDAttention2D(Decomposition2D(15, 4, 2), 2, use_local=False)
    assert m.num_parameters() == 2 * 9 * 9 == m.parameter_formula()


def test_operator_error_closed_forms_and_paths():
    m = 9
    n = m * m
    lam = eigenvalues_2d(m)
    assert operator_error_2d(np.zeros((n, n)), m) == pytest.approx(1.0, rel=1e-12)
    # the best rank-r approximation (truncated eigendecomposition) has error lambda_1 / lambda_{r+1}
    j, k = np.meshgrid(np.arange(1, m + 1), np.arange(1, m + 1), indexing="ij")
    order = np.argsort(eigenvalues_2d(m, j.ravel(), k.ravel()), kind="stable")
    r = 7
    V = eigenvectors_2d(m, j.ravel()[order[:r]], k.ravel()[order[:r]], normalized=True)
    Mr = V @ np.diag(1 / lam[:r]) @ V.T
    assert operator_error_2d(Mr, m) == pytest.approx(lam[0] / lam[r], rel=1e-10)
    assert operator_error_2d(Mr, m, dense_max=0) == pytest.approx(lam[0] / lam[r], rel=1e-8)
    # a model, a LinearOperator and the dense matrix agree (the model's transpose comes from autograd)
    dec = Decomposition2D(m, 2, 1)
    model = DDAttention2D(dec, 3, seed=1)
    e = operator_error_2d(model.dense(), m)
    assert operator_error_2d(model, m) == pytest.approx(e, rel=1e-8)
    op = schwarz_preconditioner_2d(dec, weighting="left", coarse="hat")
    assert operator_error_2d(op, m) == pytest.approx(operator_error_2d(to_dense(op), m), rel=1e-8)
    assert operator_error_2d(inverse_2d(m), m) < 1e-12


@pytest.mark.parametrize("call,match", [
    (lambda: DDAttention2D("dec", 2), "decomposition2d must be a ddlib.decomposition2d.Decomposition2D"),
    (lambda: DDAttention2D(Decomposition2D(15, 4, 1), 0), "local_rank must be an integer in \\[1, 36\\]"),
    (lambda: DDAttention2D(Decomposition2D(15, 4, 1), 37), "local_rank must be an integer in \\[1, 36\\]"),
    (lambda: DDAttention2D(Decomposition2D(15, 4, 1), 2, 10), "coarse_rank must be an integer in \\[1, 9\\]"),
    (lambda: DDAttention2D(Decomposition2D(15, 4, 1), 2, coarse="gdsw"), "coarse must be one of"),
    (lambda: DDAttention2D(Decomposition2D(15, 4, 1), 2, partition="x"), "partition must be one of"),
    (lambda: DDAttention2D(Decomposition2D(15, 4, 1), 2, init="svd"), "init must be one of"),
    (lambda: DDAttention2D(Decomposition2D(15, 4, 1), 2, init_scale=0), "init_scale must be"),
    (lambda: DDAttention2D(Decomposition2D(15, 4, 1), 2, seed=-1), "seed must be an integer >= 0"),
    (lambda: DDAttention2D(Decomposition2D(15, 4, 1), 2, dtype=torch.int64), "dtype must be"),
    (lambda: DDAttention2D(Decomposition2D(15, 4, 1), 2, use_local=False, coarse="none"), "must not both be off"),
    (lambda: DDAttention2D(Decomposition2D(15, 4, 1), 2)(torch.zeros(2, 224)), "f must have shape"),
    (lambda: operator_error_2d(np.zeros((10, 10)), 3), "M must be n x n with n = m\\^2 = 9"),
    (lambda: operator_error_2d("M", 3), "M must be a dense n x n array"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
