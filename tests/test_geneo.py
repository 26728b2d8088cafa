"""GenEO (ddlib.geneo): the Neumann matrices, the generalised eigenproblems, the coarse space, and the theory's
contrast-independent bound on the reference channel field."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
from hypothesis import given, settings
from hypothesis import strategies as st

from ddlib import geneo
from ddlib.coefficients import channels, lognormal
from ddlib.decomposition import Decomposition
from ddlib.problem import Problem
from ddlib.schwarz import measure

SIDES = {1: 31, 2: 15, 3: 7}


def _dec(d, seed=0, sigma=1.5, N=2, delta=1, split="round"):
    m = SIDES[d]
    a = None if sigma == 0 else lognormal(m, d, sigma=sigma, length=0.2, seed=seed)
    return Decomposition(Problem((m,) * d, a), N, delta, split)


def _assembled(dec):
    """sum_i R_i^T A_i^Neu R_i (dense)."""
    S = np.zeros((dec.n, dec.n))
    for idx, Nm in zip(dec.indices, geneo.neumann_matrices(dec)):
        S[np.ix_(idx, idx)] += Nm.toarray()
    return S


@given(d=st.integers(1, 3), seed=st.integers(0, 2**16), delta=st.integers(1, 2))
@settings(max_examples=12, deadline=None)
def test_neumann_matrices_split_the_energy(d, seed, delta):
    # every edge lies in at least one box (overlap >= 1) and in at most k0 of them, so A <= sum_i R_i^T A_i^Neu R_i
    # <= k0 A; and each A_i^Neu <= A_i (a subset of the edges of A_i)
    dec = _dec(d, seed, delta=delta)
    A = dec.problem.matrix().toarray()
    L = np.linalg.cholesky(A)
    S = np.linalg.solve(L, np.linalg.solve(L, _assembled(dec)).T)   # L^-1 S L^-T
    ev = np.linalg.eigvalsh(0.5 * (S + S.T))
    assert ev[0] >= 1 - 1e-9 and ev[-1] <= geneo.max_multiplicity(dec) + 1e-9
    for Nm, Ai in zip(geneo.neumann_matrices(dec), dec.local_matrices()):
        Nd = Nm.toarray()
        assert np.allclose(Nd, Nd.T) and np.linalg.eigvalsh(Ai.toarray() - Nd)[0] >= -1e-9 * abs(Ai).max()


def test_neumann_matrix_of_an_interior_box_with_a_equal_1_is_the_neumann_laplacian():
    # a floating box of 4 + 2 nodes per side: eigenvalues h^-2 (4 sin^2(p pi / 12) + 4 sin^2(q pi / 12)), p, q = 0..5
    dec = Decomposition(Problem((15, 15)), 4, 1)
    i = 5                                                    # box (1, 1): nodes 3..8 in both directions
    assert dec.indices[i].size == 36
    Nm = geneo.neumann_matrices(dec)[i].toarray()
    mu = 4 * np.sin(np.arange(6) * np.pi / 12) ** 2
    expected = np.sort(np.add.outer(mu, mu).ravel()) / dec.h**2
    assert np.allclose(np.linalg.eigvalsh(Nm), expected, atol=1e-9 * expected.max())
    assert np.allclose(Nm @ np.ones(36), 0.0, atol=1e-9 * expected.max())  # the constants float


@pytest.mark.parametrize("d", [1, 2, 3])
def test_local_eigenpairs_solve_the_generalised_problem(d):
    dec = _dec(d, seed=3)
    Nms = geneo.neumann_matrices(dec)
    for i in range(dec.n_sub):
        Nm, Bm = geneo.local_eigenproblem(dec, i, neumann=Nms[i])
        lam, V = geneo.local_eigenpairs(Nm, Bm, count=3)
        assert np.all(lam >= -1e-10) and np.all(np.diff(lam) >= 0)
        assert np.allclose(V.T @ (Bm @ V), np.eye(3), atol=1e-9)                       # B-orthonormal
        assert np.allclose(Nm @ V, (Bm @ V) * lam, atol=1e-8 * abs(Nm).max())
        full = scipy.linalg.eigh(Nm.toarray(), Bm.toarray(), eigvals_only=True)
        kept = geneo.local_eigenpairs(Nm, Bm, tau=0.3)[0]
        assert kept.size == int(np.sum(full < 0.3)) and np.allclose(kept, full[:kept.size])


def test_lanczos_path_equals_the_dense_path(monkeypatch):
    dec = _dec(2, seed=1, sigma=2.0)
    Nm, Bm = geneo.local_eigenproblem(dec, 0)
    dense = geneo.local_eigenpairs(Nm, Bm, tau=0.5)
    monkeypatch.setattr(geneo, "DENSE_BOX_MAX", 10)
    for window in (dict(tau=0.5), dict(count=dense[0].size)):
        lam, V = geneo.local_eigenpairs(Nm, Bm, **window)
        assert np.allclose(lam, dense[0], rtol=1e-8, atol=1e-12)
        assert np.allclose(np.abs(V.T @ (Bm @ dense[1])), np.eye(lam.size), atol=1e-6)   # same vectors up to sign


def test_floating_boxes_give_the_constants_and_channels_give_more():
    # a = 1: only the floating (interior) boxes have lambda = 0 < tau, with the constant vector: Phi's columns are
    # then Nicolaides' functions D_i 1 on those boxes; channels add one small eigenvalue per channel crossing
    dec = Decomposition(Problem((31, 31)), 4, 1, split="round")
    Phi, kept = geneo.geneo_space(dec, tau=0.15)
    interior = [i for i in range(dec.n_sub) if 0 < i // 4 < 3 and 0 < i % 4 < 3]
    assert [i for i, k in enumerate(kept) if k.size] == interior
    nic = dec.coarse_space("nicolaides").toarray()[:, interior]
    for j, col in enumerate(Phi.toarray().T):
        assert np.allclose(col / col[np.argmax(np.abs(col))], nic[:, j] / nic[:, j].max())
    sizes = [dec.coarse_space("geneo").shape[1]]
    for c in (1e2, 1e4):
        d = Decomposition(Problem((31, 31), channels(31, 2, c)), 4, 1, split="round")
        sizes.append(d.coarse_space("geneo").shape[1])
    assert sizes[0] == 4 and sizes[1] > 4 * sizes[0] and sizes[2] >= sizes[1]


def test_per_box_gives_a_fixed_dimension():
    dec = _dec(2, seed=2, N=3)
    assert dec.coarse_space("geneo", per_box=3).shape == (dec.n, 27)


def test_geneo_kappa_stays_below_the_contrast_independent_bound_on_the_channel_field():
    """The theory: kappa <= (1 + k0)(2 + k0 (2 k0 + 1)(1 + 1/tau)) whatever the contrast. Q1 exceeds that bound at
    high contrast, so the check can tell the two apart. From 1e4 to 1e6 GenEO's kappa no longer moves (the channel
    functions are in the coarse space), while Q1's grows with the contrast."""
    tau = 0.15
    kg, kq = [], []
    for c in (1.0, 1e2, 1e4, 1e6):
        P = Problem((23, 23), channels(23, 2, c))
        kg.append(measure(P, 3, 1, coarse="geneo", tau=tau, split="round", dense_max=1024)["kappa"])
        kq.append(measure(P, 3, 1, coarse="hat", split="round", dense_max=1024)["kappa"])
    k0 = geneo.max_multiplicity(Decomposition(Problem((23, 23)), 3, 1, split="round"))
    bound = geneo.spillane_bound(k0, tau)
    assert max(kg) <= bound < kq[-1]
    assert abs(kg[3] / kg[2] - 1) < 0.01 and kq[3] > 50 * kq[2] and kq[2] > 100 * kq[0]


@pytest.mark.parametrize("kwargs, match", [
    (dict(partition="boolean"), "partition must be 'multiplicity' or 'ramp'"),
    (dict(tau=-1.0), "tau must be"),
    (dict(per_box=0, tau=None), "count must be an integer"),
])
def test_bad_input_names_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        _dec(2).coarse_space("geneo", **kwargs)


def test_exactly_one_window():
    Nm, Bm = geneo.local_eigenproblem(_dec(1), 0)
    with pytest.raises(ValueError, match="exactly one of tau"):
        geneo.local_eigenpairs(Nm, Bm)
