"""The model problem in every dimension: closed forms to rounding, the edge-weighted matrix against its definition,
the matrix-free stencil and energy against the matrix, second-order convergence, clear errors."""
import itertools

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings, strategies as st

from ddlib.problem import MANUFACTURED, Problem, convergence_study, green_function

SIDES = {1: 40, 2: 9, 3: 5}


def _tridiag(m):
    return sp.diags([-np.ones(m - 1), 2 * np.ones(m), -np.ones(m - 1)], [-1, 0, 1])


def _kronecker_sum(m, d):
    """The constant-coefficient matrix as the textbook Kronecker sum h^-2 (T x I x ... + ... + I x ... x T)."""
    T, I = _tridiag(m), sp.identity(m)
    total = 0
    for k in range(d):
        factors = [T if j == k else I for j in range(d)]
        term = factors[0]
        for f in factors[1:]:
            term = sp.kron(term, f)
        total = total + term
    return (total * (m + 1) ** 2).tocsr()


def _by_definition(a: np.ndarray) -> np.ndarray:
    """The matrix from the issue's words, one edge at a time: an edge between neighbouring nodes is weighted by the
    arithmetic mean of the cells that share it; a Dirichlet neighbour adds its weight to the diagonal."""
    d = a.ndim
    m = a.shape[0] - 1
    h = 1.0 / (m + 1)
    n = m**d
    A = np.zeros((n, n))
    index = lambda i: int(np.ravel_multi_index(i, (m,) * d))  # noqa: E731
    for node in itertools.product(range(m), repeat=d):
        for k in range(d):
            nb = list(node)
            nb[k] += 1                                       # the edge from node to node + e_k
            # cells sharing the edge between node i and i + e_k: p_k = i_k + 1, p_j in {i_j, i_j + 1} (j != k)
            choices = [[node[j] + 1] if j == k else [node[j], node[j] + 1] for j in range(d)]
            w = np.mean([a[c] for c in itertools.product(*choices)])
            p = index(node)
            if node[k] + 1 < m:
                q = index(tuple(nb))
                A[p, p] += w
                A[q, q] += w
                A[p, q] -= w
                A[q, p] -= w
            else:                                            # the neighbour is on the boundary
                A[p, p] += w
        for k in range(d):                                   # the edge to the boundary before node 0 along axis k
            if node[k] == 0:
                choices = [[0] if j == k else [node[j], node[j] + 1] for j in range(d)]
                A[index(node), index(node)] += np.mean([a[c] for c in itertools.product(*choices)])
    return A / h**2


@pytest.mark.parametrize("d", [1, 2, 3])
def test_constant_coefficient_is_todays_matrix(d):
    m = SIDES[d]
    assert abs(Problem((m,) * d).matrix() - _kronecker_sum(m, d)).max() < 1e-9 * (m + 1) ** 2


@given(d=st.integers(1, 3), m=st.integers(1, 5), seed=st.integers(0, 2**16))
@settings(max_examples=25, deadline=None)
def test_edge_weights_follow_the_definition(d, m, seed):
    a = np.exp(np.random.default_rng(seed).uniform(-3, 3, size=(m + 1,) * d))
    A = Problem((m,) * d, a).matrix().toarray()
    assert np.allclose(A, _by_definition(a), rtol=1e-12, atol=0)
    assert np.array_equal(A, A.T) and np.linalg.eigvalsh(A)[0] > 0


def test_the_reference_channel_edge_weights_by_hand():
    # 2D, m = 3, contrast c on cell (1, 1) only: the edge between nodes (0, 0) and (1, 0) (x direction) is shared by
    # cells (1, 0) and (1, 1): weight (1 + c)/2; the edge between (0, 0) and (0, 1) by cells (0, 1) and (1, 1)
    c = 100.0
    a = np.ones((4, 4))
    a[1, 1] = c
    A = Problem((3, 3), a).matrix().toarray() / 16  # times h^2
    assert A[0, 3] == pytest.approx(-(1 + c) / 2) and A[0, 1] == pytest.approx(-(1 + c) / 2)
    # node (0, 0): two interior edges of weight (1 + c)/2 and two Dirichlet edges of weight 1
    assert A[0, 0] == pytest.approx(1 + c + 2)


@given(d=st.integers(1, 3), seed=st.integers(0, 2**16), variable=st.booleans())
@settings(max_examples=20, deadline=None)
def test_stencil_and_energy_equal_the_matrix(d, seed, variable):
    rng = np.random.default_rng(seed)
    m = SIDES[d] // 2 + 1
    a = np.exp(rng.uniform(-2, 2, size=(m + 1,) * d)) if variable else None
    P = Problem((m,) * d, a)
    A = P.matrix()
    X = rng.standard_normal((P.n, 3))
    assert np.allclose(P.stencil(X), A @ X, rtol=1e-12, atol=1e-12 * abs(A).max())
    assert np.allclose(P.energy(X), np.einsum("ij,ij->j", X, A @ X), rtol=1e-11)
    Xt = torch.tensor(X, requires_grad=True)
    assert np.allclose(P.stencil(Xt).detach().numpy(), A @ X, rtol=1e-12, atol=1e-12 * abs(A).max())
    P.energy(Xt).sum().backward()                       # d/dX x^T A x = 2 A x
    assert np.allclose(Xt.grad.numpy(), 2 * (A @ X), rtol=1e-10, atol=1e-10 * abs(A).max())


@given(d=st.integers(1, 3), m=st.integers(1, 6))
@settings(max_examples=20, deadline=None)
def test_eigenpairs_closed_form(d, m):
    P = Problem((m,) * d)
    modes = np.indices(P.shape).reshape(d, -1).T + 1
    lam = P.eigenvalues(modes)
    V = P.eigenvectors(modes)
    assert np.max(np.abs(P.matrix() @ V - V * lam) / lam) < 1e-11
    assert np.allclose(np.linalg.eigvalsh(P.matrix().toarray()), P.eigenvalues(), rtol=1e-10, atol=0)
    Vn = P.eigenvectors(modes, normalized=True)
    assert np.allclose(Vn.T @ Vn, np.eye(P.n), atol=1e-12)


def test_ordering_is_last_index_fastest():
    P = Problem((6, 6))
    x = P.nodes()
    assert np.allclose(x[1] - x[0], [0, P.h]) and np.allclose(x[6] - x[0], [P.h, 0])
    V = P.eigenvectors([[1, 3]]).reshape(6, 6)          # sin(pi x) sin(3 pi y), varying with j along axis 0
    s = P.h * np.arange(1, 7)
    assert np.allclose(V, np.outer(np.sin(np.pi * s), np.sin(3 * np.pi * s)))


@given(n=st.integers(1, 150))
@settings(max_examples=30, deadline=None)
def test_1d_inverse_is_h_times_green_function(n):
    P = Problem(n)
    x = P.nodes()[:, 0]
    assert np.allclose(P.inverse(), P.h * green_function(x[:, None], x[None, :]), rtol=1e-11, atol=1e-15)


def test_green_function_values():
    # G(x, y) = min(x, y)(1 - max(x, y)): G(1/4, 1/2) = 1/8, symmetric, zero on the boundary
    assert green_function(0.25, 0.5) == pytest.approx(0.125) and green_function(0.5, 0.25) == pytest.approx(0.125)
    assert green_function(0.0, 0.3) == 0.0 and green_function(1.0, 0.3) == 0.0


def test_smallest_eigenvalue_tends_to_d_pi_squared():
    # lambda_1 = d 4/h^2 sin^2(pi h / 2) = d pi^2 (1 - pi^2 h^2 / 12 + O(h^4)), and ||A^-1|| = 1/lambda_1
    for d, m in ((1, 255), (2, 63), (3, 15)):
        P = Problem((m,) * d)
        assert P.eigenvalues()[0] == pytest.approx(d * np.pi**2 * (1 - np.pi**2 * P.h**2 / 12), rel=5 * P.h**4 * 10)
        assert P.norm_inverse() == pytest.approx(1 / P.eigenvalues()[0], rel=1e-14)


@given(d=st.integers(1, 3), seed=st.integers(0, 2**16), variable=st.booleans())
@settings(max_examples=20, deadline=None)
def test_solve_to_rounding(d, seed, variable):
    rng = np.random.default_rng(seed)
    m = SIDES[d]
    P = Problem((m,) * d, np.exp(rng.uniform(-4, 4, (m + 1,) * d)) if variable else None)
    F = rng.standard_normal((3, P.n))
    U = P.solve(F)
    A = P.matrix()
    assert np.max(np.abs((A @ U.T).T - F)) < 1e-10 * abs(A).max() * np.abs(U).max()
    assert np.allclose(P.solve(F[0]), U[0], rtol=1e-12, atol=1e-15)


def test_variable_norm_inverse_by_lanczos():
    rng = np.random.default_rng(1)
    P = Problem((7, 7), np.exp(rng.uniform(-2, 2, (8, 8))))
    assert P.norm_inverse() == pytest.approx(1 / np.linalg.eigvalsh(P.matrix().toarray())[0], rel=1e-8)


@pytest.mark.parametrize("d,ms", [(1, [15, 31, 63, 127, 255]), (2, [15, 31, 63]), (3, [7, 15, 31])])
def test_second_order_convergence(d, ms):
    study = convergence_study(ms, dim=d)
    assert np.all(np.abs(study["order"][2:] - 2.0) < 0.02)
    x = np.array([[0.3, 0.6, 0.9][:d]])
    g = MANUFACTURED.g
    assert MANUFACTURED.u(x)[0] == pytest.approx(np.prod(g(x[0])))


def test_from_size():
    assert Problem.from_size(225, 2).shape == (15, 15) and Problem.from_size(343, 3).m == 7
    with pytest.raises(ValueError, match="n must be m\\*\\*2"):
        Problem.from_size(200, 2)


@pytest.mark.parametrize("call,match", [
    (lambda: Problem(0), "shape\\[0\\] must be an integer >= 1"),
    (lambda: Problem(2.5), "shape\\[0\\] must be an integer"),
    (lambda: Problem((3, 4)), "equal sides"),
    (lambda: Problem((3, 3, 3, 3)), "1, 2 or 3 entries"),
    (lambda: Problem((3, 3), np.ones((3, 3))), "one value per cell, shape \\(4, 4\\)"),
    (lambda: Problem((3, 3), -np.ones((4, 4))), "positive"),
    (lambda: Problem((3, 3), np.full((4, 4), np.nan)), "coefficient must be finite"),
    (lambda: Problem(10).solve(np.full(10, np.nan)), "f must be finite"),
    (lambda: Problem(10).solve(np.ones(9)), "n = 10"),
    (lambda: Problem((4, 4)).eigenvalues([[5, 1]]), "mode numbers in \\[1, 4\\]"),
    (lambda: Problem((4, 4), np.ones((5, 5))).eigenvalues(), "constant coefficient"),
    (lambda: Problem(4).stencil(np.ones((5, 2))), "n = 4"),
])
def test_bad_input_names_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_dense_inverse_is_refused_up_front(monkeypatch):
    monkeypatch.setenv("DDLIB_DENSE_LIMIT", "1MB")
    with pytest.raises(MemoryError, match="Problem.solve"):
        Problem(40000).inverse()
