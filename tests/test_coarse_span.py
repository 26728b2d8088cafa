"""The learnable coarse span (ddlib.coarse_span, ddlib.models.SpanSpec): symmetric positive definite for every span,
equal to the classical two-level Schwarz operator when the span is GenEO's, invariant under a change of local basis,
correct gradients, and principal angles."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ddlib.coarse_span import SpanSchwarz, principal_angles
from ddlib.coefficients import channels, lognormal
from ddlib.decomposition import Decomposition
from ddlib.geneo import geneo_space, local_eigenpairs, local_eigenproblem
from ddlib.models import SpanSpec, spec_from_dict
from ddlib.problem import Problem
from ddlib.schwarz import schwarz_preconditioner, to_dense
from ddlib.training import TrainConfig, predict, train

SIDES = {1: 23, 2: 11, 3: 5}


def _dec(d, seed=0, N=2):
    m = SIDES[d]
    return Decomposition(Problem((m,) * d, lognormal(m, d, sigma=2.0, length=0.2, seed=seed)), N, 1)


@given(d=st.integers(1, 3), seed=st.integers(0, 2**16), k=st.integers(1, 3))
@settings(max_examples=8, deadline=None)
def test_every_span_gives_a_symmetric_positive_definite_operator(d, seed, k):
    model = SpanSchwarz(_dec(d, seed % 7), k, seed=seed)
    M = model.dense().numpy()
    assert np.allclose(M, M.T, atol=1e-12 * np.abs(M).max())
    # M >= sum_i R_i^T A_i^-1 R_i > 0: the coarse part is positive semi-definite
    local = to_dense(schwarz_preconditioner(model.decomposition, coarse="none"))
    assert np.allclose(model.local_part(torch.eye(model.n, dtype=torch.float64)).numpy(), local, atol=1e-12 * abs(local).max())
    assert np.linalg.eigvalsh(M - local).min() >= -1e-10 * np.abs(M).max()
    assert np.linalg.eigvalsh(M).min() > 0


def _geneo_vectors(dec, k):
    return [local_eigenpairs(*local_eigenproblem(dec, i), count=k)[1] for i in range(dec.n_sub)]


@pytest.mark.parametrize("d", [1, 2])
def test_the_geneo_span_reproduces_classical_schwarz_with_geneo(d):
    dec, k = _dec(d, 1), 2
    model = SpanSchwarz(dec, k).set_span(_geneo_vectors(dec, k))
    Phi = geneo_space(dec, per_box=k)[0]
    assert abs(model.coarse_space() - Phi).max() < 1e-12
    classical = to_dense(schwarz_preconditioner(dec, coarse="geneo", per_box=k))
    assert np.allclose(model.dense().numpy(), classical, rtol=1e-9, atol=1e-9 * np.abs(classical).max())


def test_only_the_span_matters():
    dec = _dec(2, 2)
    a = SpanSchwarz(dec, 2, seed=3)
    b = SpanSchwarz(dec, 2, seed=3)
    G = torch.tensor([[2.0, 1.0], [-1.0, 3.0]], dtype=torch.float64)
    with torch.no_grad():
        b.V.copy_(b.V @ G)
    assert torch.allclose(a.dense(), b.dense(), rtol=1e-9, atol=1e-9 * float(a.dense().abs().max()))


def test_gradients_through_pcg_match_finite_differences():
    dec = Decomposition(Problem((7, 7), channels(7, 2, 100.0)), 2, 1)
    model = SpanSchwarz(dec, 1, seed=0)
    F = torch.randn(dec.n, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    V0 = model.V.detach().clone()

    def loss(V):
        with torch.no_grad():
            model.V.copy_(V)
        return predict(model, F, 3, "pcg", dec.problem).pow(2).sum()

    model.V.grad = None
    loss(V0).backward()
    grad = model.V.grad.clone()
    eps = 1e-6
    for idx in [(0, 0, 0), (1, 5, 0), (3, 20, 0)]:
        E = torch.zeros_like(V0)
        E[idx] = eps
        with torch.no_grad():
            fd = (loss(V0 + E) - loss(V0 - E)) / (2 * eps)
        assert float(fd) == pytest.approx(float(grad[idx]), rel=1e-5, abs=1e-9)
    assert float(grad[~torch.as_tensor(dec.mask)].abs().max()) == 0.0   # padding slots get no gradient


def test_spec_round_trip_count_and_a_reproducible_run():
    spec = SpanSpec(2, 1, 2)
    assert spec_from_dict(spec.to_dict()) == spec
    P = Problem((11, 11))
    assert spec.parameter_count(P) == spec.build(P).num_parameters() == 2 * int(Decomposition(P, 2, 1).sizes.sum())
    cfg = TrainConfig(model=spec, n=121, dim=2, coefficient={"kind": "channels", "contrast": 100.0},
                      data="energy_probes", loss="energy", solver="pcg", solver_steps=3, samples=4, K=2, epochs=3,
                      eval_points=2, validation_samples=4, test_samples=2)
    h1, h2 = (train(cfg, cache_results=False).history for _ in range(2))
    assert h1["loss"] == h2["loss"] and h1["train_loss"][-1] < h1["train_loss"][0]


def test_principal_angles():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((20, 3))
    G = rng.standard_normal((3, 3))
    assert np.allclose(principal_angles(X, X @ G), 0.0, atol=1e-6)
    A = Problem(20).matrix()
    Y = rng.standard_normal((20, 2))
    Y -= X @ np.linalg.solve(X.T @ (A @ X), X.T @ (A @ Y))          # A-orthogonal to X
    assert np.allclose(principal_angles(X, Y, A), np.pi / 2)
    assert np.allclose(principal_angles(X, X @ G, A), 0.0, atol=1e-6)
    with pytest.raises(ValueError, match="same number of rows"):
        principal_angles(X, Y[:5])


@pytest.mark.parametrize("kwargs, match", [
    (dict(per_box=0), "per_box must be an integer"),
    (dict(per_box=1, partition="boolean"), "partition must be 'multiplicity' or 'ramp'"),
    (dict(per_box=1000), "per_box must be an integer"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SpanSchwarz(_dec(2), **kwargs)
    with pytest.raises(ValueError, match="one n_i x 1 array per box"):
        SpanSchwarz(_dec(2), 1).set_span([np.ones((3, 1))])


def test_training_steps_and_the_lanczos_operator_error_work_with_the_kept_galerkin_factor(monkeypatch):
    # the Galerkin factor is kept while V is unchanged: an optimizer step must refresh it, and repeated
    # vector-Jacobian products (the Lanczos operator error) must not run through a freed graph
    from ddlib import attention

    dec = Decomposition(Problem((7, 7), channels(7, 2, 100.0)), 2, 1)
    model = SpanSchwarz(dec, 1, seed=0)
    F = torch.randn(dec.n, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    opt = torch.optim.SGD(model.parameters(), lr=1e-2)
    for _ in range(2):
        opt.zero_grad()
        fresh = SpanSchwarz(dec, 1, seed=0)
        with torch.no_grad():
            fresh.V.copy_(model.V)
        loss = predict(model, F, 3, "pcg", dec.problem).pow(2).sum()
        loss.backward()
        predict(fresh, F, 3, "pcg", dec.problem).pow(2).sum().backward()
        assert torch.allclose(model.V.grad, fresh.V.grad, rtol=1e-10, atol=0)
        opt.step()
    for _ in range(2):  # two backward passes without a step in between
        predict(model, F, 3, "pcg", dec.problem).pow(2).sum().backward()
    dense = attention.operator_error(model)
    monkeypatch.setattr(attention, "DENSE_OPERATOR_MAX", 0)
    assert attention.operator_error(model) == pytest.approx(dense, rel=1e-6)
