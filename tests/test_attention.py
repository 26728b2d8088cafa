"""Attention operators in d = 1, 2, 3: the batched operator equals the paper's loop over subdomains and its own dense
matrix; the 1D window path equals the generic gather path (values and gradients, many random configurations); the
exact decomposition, classical Schwarz, parameter counts, gradients, the inference cache and clear errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from ddlib._window import GatherPlan, WindowPlan, core_columns
from ddlib.attention import (DDAttention, GlobalAttention, Structure, configure_threads, dd_parameter_count,
                             eckart_young_init, global_parameter_count, operator_error, schwarz_init,
                             truncated_factors)
from ddlib.banded import BandedLowRank
from ddlib.decomposition import Decomposition
from ddlib.models import BandedSpec, DDSpec, GlobalSpec
from ddlib.problem import Problem

FAST = settings(max_examples=15, deadline=None)
MANY = settings(max_examples=60, deadline=None)
SIZES = {1: (6, 8), 2: (3, 4), 3: (2, 3)}  # largest N and box per dimension (small grids)


@st.composite
def decompositions(draw, dims=(1, 2, 3), min_N=1):
    d = draw(st.sampled_from(dims))
    N = draw(st.integers(min_N, max(min_N, SIZES[d][0])))
    box = draw(st.integers(2, SIZES[d][1]))
    delta = draw(st.integers(0, box - 2)) if N > 1 else draw(st.integers(0, 3))
    return Decomposition(Problem((N * box - 1,) * d), N, delta)


@st.composite
def models(draw, decs=decompositions()):
    """A DDAttention with every option drawn: partition, weighting, coarse space, ranks, tied, shared, fixed coarse."""
    dec = draw(decs)
    weighting = draw(st.sampled_from(["sqrt", "left", "none"]))
    coarse = draw(st.sampled_from(["hat", "nicolaides", "none", "spectral"]))
    partition = draw(st.sampled_from(["multiplicity", "ramp"] + ([] if coarse == "spectral" else ["boolean"])))
    structure = Structure(dec, partition, weighting, coarse)
    shared = dec.N >= 3 and 2 * dec.delta < dec.box and draw(st.booleans())
    r0 = draw(st.integers(0, structure.N0))
    r = draw(st.integers(0 if r0 else 1, dec.n_max))
    return DDAttention(structure, r, r0, symmetric=weighting != "left" and draw(st.booleans()), shared=shared,
                       learned_coarse=draw(st.booleans()), seed=draw(st.integers(0, 2**16)), init_scale=0.7)


def loop_reference(model: DDAttention, F: np.ndarray) -> np.ndarray:
    """The operator as the paper writes it: a loop over subdomains with sparse R_i and diagonal weights, plus the
    coarse level Phi B Phi^T with the dense coarse block."""
    s = model.structure
    dec = s.decomposition
    U = np.zeros_like(F)
    if model.local_rank:
        Q, K = (t.detach().numpy() for t in model.local_factors())
        D = dec.partition_of_unity(s.partition)
        for i, R in enumerate(dec.restrictions()):
            real = dec.mask[i]
            WL, WR = {"sqrt": (np.sqrt(D[i]), np.sqrt(D[i])), "left": (D[i], np.ones_like(D[i])),
                      "none": (np.ones_like(D[i]), np.ones_like(D[i]))}[s.weighting]
            Mi = model.local_scale * (WL[:, None] * (Q[i, real] @ K[i, real].T) * WR[None, :])
            U += R.T @ (Mi @ (R @ F))
    if model.coarse_rank:
        if model._lu is not None:
            B = np.linalg.inv(s.galerkin().toarray()) / model.weight
        else:
            Q0, K0 = (t.detach().numpy() for t in model.coarse_factors())
            B = Q0 @ K0.T
        U += s.Phi @ (B @ (s.Phi.T @ F))
    return model.weight * U


@MANY
@given(model=models(), seed=st.integers(0, 2**16))
def test_batched_operator_equals_the_loop_over_subdomains_and_its_dense_matrix(model, seed):
    n = model.n
    F = np.random.default_rng(seed).standard_normal((n, 3))
    ref = loop_reference(model, F)
    tol = 1e-13 * (np.abs(ref).max() + 1e-300)
    with torch.no_grad():
        for U in (model.apply_columns(torch.as_tensor(F)), model.gather_apply(torch.as_tensor(F)),
                  model(torch.as_tensor(F.T)).T, model.dense() @ torch.as_tensor(F)):
            assert np.abs(U.numpy() - ref).max() <= tol
        assert np.abs(model(torch.as_tensor(F[:, 0])).numpy() - ref[:, 0]).max() <= tol   # one vector
        if model.local_rank and model.coarse_rank:  # the parts on their own (as ddlib.ablations reads them) add up
            parts = (model.local_part(torch.as_tensor(F)) + model.coarse_part(torch.as_tensor(F))) * model.weight
            assert np.abs(parts.numpy() - ref).max() <= tol


@MANY
@given(model=models(decs=decompositions(dims=(1,), min_N=3)), seed=st.integers(0, 2**16), rows=st.booleans())
def test_window_path_equals_gather_path_values_and_gradients(model, seed, rows):
    """The 1D window fast path (strided views, hand-written backward) and the generic gather path: the same outputs,
    parameter and input gradients to rounding, for right-hand sides as contiguous columns or as rows (f.T)."""
    windows = model.structure.windows
    assert windows is not None
    g = torch.Generator().manual_seed(seed)
    f = torch.randn(4, model.n, generator=g, dtype=torch.float64)
    F = (f.T if rows else f.T.contiguous()).requires_grad_()
    W = torch.randn(model.n, 4, generator=g, dtype=torch.float64)  # a random linear functional of the output
    u, v = model._passes(F, windows), model.gather_apply(F)
    tol = 1e-13 * float(v.detach().abs().max() + 1e-300)
    assert torch.allclose(u, v, rtol=0, atol=tol)
    inputs = [p for p in model.parameters()] + [F]
    for a, b in zip(torch.autograd.grad((u * W).sum(), inputs), torch.autograd.grad((v * W).sum(), inputs)):
        assert torch.allclose(a, b, rtol=0, atol=1e-12 * float(b.abs().max() + 1e-300))


@pytest.mark.parametrize("N,box,delta", [(3, 2, 0), (4, 6, 2), (5, 5, 3)])
def test_window_passes_equal_the_gather_passes_are_adjoint_and_pass_gradcheck(N, box, delta):
    """The two kernels of the window layout on their own, with factors that vanish on padding slots: equal to the
    gather layout, prolong the adjoint of restrict, and their hand-written backwards against finite differences."""
    dec = Decomposition(Problem(N * box - 1), N, delta)
    window, gather = WindowPlan(N, box, delta, dec.n), GatherPlan(dec.padded_indices, dec.n)
    g = torch.Generator().manual_seed(N + box + delta)
    mask = torch.as_tensor(dec.mask, dtype=torch.float64)[:, :, None]
    K, Q = (torch.randn(N, dec.n_max, 3, generator=g, dtype=torch.float64) * mask for _ in range(2))
    F, G = (torch.randn(dec.n, 2, generator=g, dtype=torch.float64) for _ in range(2))
    T = torch.randn(N, 3, 2, generator=g, dtype=torch.float64)
    with torch.no_grad():
        assert torch.allclose(window.restrict(F, K), gather.restrict(F, K), rtol=0, atol=1e-14)
        assert torch.allclose(window.prolong(Q, T), gather.prolong(Q, T), rtol=0, atol=1e-14)
        assert float((window.prolong(Q, T) * G).sum()) == pytest.approx(float((T * window.restrict(G, Q)).sum()),
                                                                         rel=1e-13)
    for call, args in ((window.restrict, (F, K)), (window.prolong, (Q, T))):
        assert torch.autograd.gradcheck(call, tuple(a.clone().requires_grad_() for a in args))


@FAST
@given(dec=decompositions(), coarse=st.sampled_from(["hat", "nicolaides", "spectral", "none"]),
       seed=st.integers(0, 999))
def test_core_columns_carry_the_coarse_basis(dec, coarse, seed):
    """Phi^T F is the scatter of the core columns' sums, and Phi C the core columns times the gathered C: the cores
    partition the nodes."""
    Phi = dec.coarse_space(coarse)
    index, values = core_columns(dec, Phi)
    rng = np.random.default_rng(seed)
    F, C = rng.standard_normal((dec.n, 2)), rng.standard_normal((Phi.shape[1] + 1, 2))
    C[-1] = 0.0
    X = F[dec.padded_indices]                                                # (n_sub, n_max, 2)
    S = np.zeros((Phi.shape[1] + 1, 2))
    np.add.at(S, index, np.einsum("isk,isb->ikb", values, X))
    assert np.allclose(S[:-1], Phi.T @ F, rtol=0, atol=1e-13)
    U = np.zeros((dec.n, 2))
    np.add.at(U, dec.padded_indices, np.einsum("isk,ikb->isb", values, C[index]))
    assert np.allclose(U, Phi @ C[:-1], rtol=0, atol=1e-13)


@FAST
@given(dec=decompositions(dims=(1,)), partition=st.sampled_from(["multiplicity", "ramp", "boolean"]),
       weighting=st.sampled_from(["sqrt", "left", "none"]))
def test_schwarz_init_full_rank_reproduces_the_inverse_in_1d(dec, partition, weighting):
    """Exact 1D decomposition: A^{-1} = Phi A0^{-1} Phi^T + sum_E R_E^T A_E^{-1} R_E, carried by the DD ansatz."""
    model = schwarz_init(DDAttention(Structure(dec, partition, weighting), dec.n_max))
    Ainv = dec.problem.inverse()
    assert np.abs(model.dense().numpy() - Ainv).max() <= 1e-12 * np.abs(Ainv).max()


@FAST
@given(dec=decompositions(), partition=st.sampled_from(["multiplicity", "ramp"]),
       weighting=st.sampled_from(["sqrt", "none"]), coarse=st.sampled_from(["hat", "nicolaides"]))
def test_schwarz_init_subdomain_blocks_is_two_level_additive_schwarz(dec, partition, weighting, coarse):
    """With A_i^{-1} blocks and A_0^{-1}: Phi A0^{-1} Phi^T + sum_i R_i^T W_i A_i^{-1} W_i R_i (symmetric)."""
    A = dec.problem.matrix()
    model = schwarz_init(DDAttention(Structure(dec, partition, weighting, coarse), dec.n_max), "subdomain")
    P = dec.coarse_space(coarse, **({"partition": partition} if coarse == "nicolaides" else {}))
    M = np.zeros((dec.n, dec.n))
    if P.shape[1]:
        M = M + P @ np.linalg.inv((P.T @ A @ P).toarray()) @ P.T
    for R, d in zip(dec.restrictions(), dec.partition_of_unity(partition)):
        w = np.sqrt(d) if weighting == "sqrt" else np.ones_like(d)
        M = M + R.T @ (np.diag(w) @ np.linalg.inv((R @ A @ R.T).toarray()) @ np.diag(w)) @ R
    Md = model.dense().numpy()
    assert np.abs(Md - M).max() <= 1e-12 * np.abs(M).max()
    assert np.abs(Md - Md.T).max() <= 1e-12 * np.abs(M).max()


@pytest.mark.parametrize("n, N", [(255, 8), (511, 16)])
def test_two_level_schwarz_condition_number_bounded_at_fixed_H_over_h(n, N):
    """Classical two-level additive Schwarz (full-rank A_i^{-1} blocks): kappa(M A) stays small as n grows at fixed
    H/h = 32 and delta = 2 (theory: kappa <= C (1 + H/delta)); the one-level operator grows with N."""
    dec = Decomposition(Problem(n), N, 2)
    A = dec.problem.matrix().toarray()
    kappas = []
    for coarse in ("hat", "none"):
        M = schwarz_init(DDAttention(Structure(dec, weighting="none", coarse=coarse), dec.n_max), "subdomain")
        L = np.linalg.cholesky(M.dense().numpy())  # M is SPD
        ev = np.linalg.eigvalsh(L.T @ A @ L)
        kappas.append(ev[-1] / ev[0])
    two, one = kappas
    assert two < 4.0
    assert one > N**2 / 10  # one-level: no global information exchange, kappa grows like N^2 (1/(H delta h))


@FAST
@given(dec=decompositions(), data=st.data())
def test_parameter_counts_equal_formulas(dec, data):
    s = Structure(dec)
    r = data.draw(st.integers(1, int(dec.sizes.min())))
    r0 = data.draw(st.integers(0, s.N0))
    model = DDAttention(s, r, r0)
    formula = 2 * (r * int(dec.sizes.sum()) + s.N0 * r0)
    assert model.num_parameters() == formula == model.parameter_formula()
    assert formula == dd_parameter_count(int(dec.sizes.sum()), r, s.N0, r0)
    real = 2 * r * int(dec.mask.sum()) + (2 * model.Q0.numel() if r0 else 0)  # the non-padding entries
    assert real == formula
    g = GlobalAttention(dec.problem, min(r, dec.n))
    assert g.num_parameters() == 2 * dec.n * min(r, dec.n) == global_parameter_count(dec.n, min(r, dec.n))


def test_inference_cache_follows_parameter_updates():
    """Without grad the folded factors are cached; an optimizer step, a load_state_dict, an in-place change or a
    replaced parameter must invalidate them."""
    s = Structure(Decomposition(Problem(127), 8, 3))
    model, ref = DDAttention(s, 4, seed=1), DDAttention(s, 4, seed=2)
    f = torch.randn(5, 127, dtype=torch.float64)
    with torch.inference_mode():
        first = model(f)
        assert torch.equal(model(f), first)              # served from the cache
    model(f).square().sum().backward()
    with torch.no_grad():
        for p in model.parameters():                      # a gradient step, in place as optimizers do it
            p.sub_(0.1 * p.grad)
    ref.load_state_dict(model.state_dict())
    with torch.no_grad():
        after = model(f)
        tol = 1e-13 * float(after.abs().max())
        assert not torch.allclose(after, first)
        assert torch.allclose(after, ref.gather_apply(f.T).T, rtol=0, atol=tol)
        model.K0.mul_(2.0)
        ref.K0.mul_(2.0)
        assert torch.allclose(model(f), ref.gather_apply(f.T).T, rtol=0, atol=tol)
        model.K = torch.nn.Parameter(2.0 * model.K)      # a replaced parameter (new object, version 0)
        ref.K = torch.nn.Parameter(2.0 * ref.K)
        assert torch.allclose(model(f), ref.gather_apply(f.T).T, rtol=0, atol=tol)


def _functional(model, method="forward"):
    """``model.<method>`` with its parameters replaced by the given tensors (for gradcheck)."""
    names = [k for k, _ in model.named_parameters()]

    def call(*args):
        params = dict(zip(names, args[:-1]))
        return torch.func.functional_call(model, params, (args[-1],)) if method == "forward" else \
            torch.func.functional_call(_Method(model, method), {f"m.{k}": v for k, v in params.items()}, (args[-1],))

    return call, [p for _, p in model.named_parameters()]


class _Method(torch.nn.Module):
    def __init__(self, model, method):
        super().__init__()
        self.m, self.method = model, method

    def forward(self, x):
        if self.method == "windows":  # the window layout, whatever the size of x
            return self.m._passes(x.T.contiguous(), self.m.structure.windows).T
        return getattr(self.m, self.method)(x.T.contiguous()).T


@pytest.mark.parametrize("shape,N,delta,kw", [
    ((23,), 4, 2, {}), ((23,), 4, 0, {}), ((23,), 4, 2, dict(coarse="none")), ((23,), 4, 2, dict(local_rank=0)),
    ((31,), 8, 1, dict(weighting="left", partition="ramp")), ((23,), 4, 4, dict(partition="ramp")),
    ((11,), 3, 1, dict(symmetric=True, shared=True)), ((11,), 3, 1, dict(symmetric=True, learned_coarse=False)),
    ((11,), 3, 1, dict(coarse="nicolaides", weighting="none")), ((11,), 2, 2, {}),
    ((7, 7), 2, 1, {}), ((8, 8), 3, 1, dict(shared=True, coarse="nicolaides")), ((3, 3, 3), 2, 0, {})])
def test_gradcheck_every_path(shape, N, delta, kw):
    """Finite differences against the backward of the window layout (its hand-written backward, 1D with N >= 3), of
    the gather layout, of apply_columns and of forward on rows, for the parameters and the input (``fast_mode``: the
    Jacobian against random projections on both sides)."""
    kw = dict(kw)
    structure = Structure(Decomposition(Problem(shape), N, delta), **{k: kw.pop(k) for k in ("partition", "weighting",
                                                                                          "coarse") if k in kw})
    dd = DDAttention(structure, kw.pop("local_rank", 2), 2 if structure.N0 >= 2 else None, seed=3, init_scale=0.5,
                     **kw)
    f = torch.randn(2, dd.n, dtype=torch.float64, generator=torch.Generator().manual_seed(4), requires_grad=True)
    for method in ("forward", "apply_columns", "gather_apply") + (("windows",) if structure.windows else ()):
        call, params = _functional(dd, method)
        assert torch.autograd.gradcheck(call, (*params, f), fast_mode=True)
    assert torch.autograd.gradcheck(_functional(dd)[0], (*_functional(dd)[1], f[:1]), fast_mode=True)  # one rhs


def test_apply_columns_takes_the_window_layout_for_large_right_hand_sides(monkeypatch):
    """The window layout from WINDOW_MIN_ENTRIES entries of F on (where it is the faster one), the gather layout
    below; both give the operator (the equality tests above)."""
    from ddlib import _window

    dd = DDAttention(Structure(Decomposition(Problem(63), 4, 2)), 2, seed=3)
    used = []
    for name, plan in (("windows", dd.structure.windows), ("gather", dd.structure.gather)):
        monkeypatch.setattr(plan, "restrict", lambda *a, _f=plan.restrict, _n=name: used.append(_n) or _f(*a))
    monkeypatch.setattr(_window, "WINDOW_MIN_ENTRIES", 63 * 4)
    monkeypatch.setattr("ddlib.attention.WINDOW_MIN_ENTRIES", 63 * 4)
    with torch.no_grad():
        dd.apply_columns(torch.zeros(63, 3, dtype=torch.float64))
        dd.apply_columns(torch.zeros(63, 4, dtype=torch.float64))
        dd(torch.zeros(5, 63, dtype=torch.float64))
    assert used == ["gather", "windows", "windows"]


def test_the_window_backward_is_once_differentiable():
    dd = DDAttention(Structure(Decomposition(Problem(23), 4, 2)), 2, seed=3)
    f = torch.randn(3, 23, dtype=torch.float64)
    windows = dd.structure.windows
    g, = torch.autograd.grad(dd._passes(f.T, windows).square().sum(), next(dd.parameters()), create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable"):  # no silent wrong second derivatives
        g.sum().backward()


@pytest.mark.parametrize("shape,N,delta", [((31,), 4, 2), ((11, 11), 3, 2), ((5, 5, 5), 2, 1)])
def test_padding_slots_get_no_gradient(shape, N, delta):
    dec = Decomposition(Problem(shape), N, delta)  # the end subdomains are shorter: padded
    model = DDAttention(Structure(dec), 3, seed=0)
    f = torch.randn(5, dec.n, dtype=torch.float64)
    model(f).pow(2).sum().backward()
    pad = ~torch.as_tensor(dec.mask)
    assert pad.any()
    assert torch.all(model.Q.grad[pad] == 0) and torch.all(model.K.grad[pad] == 0)
    assert torch.all(model.Q[pad] == 0)


@FAST
@given(shape=st.sampled_from([(20,), (41,), (6, 6), (3, 3, 3)]), data=st.data())
def test_eckart_young_init_is_the_best_rank_r_operator(shape, data):
    P = Problem(shape)
    r = data.draw(st.integers(1, P.n - 1))
    lam = np.sort(np.linalg.eigvalsh(P.matrix().toarray()))
    err = operator_error(eckart_young_init(GlobalAttention(P, r)))
    assert err == pytest.approx(lam[0] / lam[r], rel=1e-9, abs=1e-13)


def test_truncated_factors_nonsymmetric_and_padding():
    B = np.random.default_rng(3).standard_normal((6, 4))
    Q, K = truncated_factors(B, 6)
    assert Q.shape == (6, 6) and K.shape == (4, 6)
    assert np.allclose(Q @ K.T, B, atol=1e-13)
    Q2, K2 = truncated_factors(B, 2)
    s = np.linalg.svd(B, compute_uv=False)
    assert np.linalg.norm(Q2 @ K2.T - B, 2) == pytest.approx(s[2], rel=1e-12)


@pytest.mark.parametrize("shape,N", [((63,), 8), ((15, 15), 4)])
def test_float32_and_row_column_paths_agree(shape, N):
    s = Structure(Decomposition(Problem(shape), N, 1))
    m64 = DDAttention(s, 3, seed=4)
    m32 = DDAttention(s, 3, seed=4).to(torch.float32)
    f = torch.randn(4, m64.n, dtype=torch.float64)
    u = m64(f)
    assert torch.allclose(m64.apply_columns(f.T.contiguous()).T, u, rtol=0, atol=1e-15)
    assert m32(f).dtype == torch.float32
    assert torch.allclose(m32(f).double(), u, rtol=1e-4, atol=1e-6 * u.abs().max().item())


def test_local_and_coarse_blocks_of_exact_init():
    dec = Decomposition(Problem(63), 4, 1)
    model = schwarz_init(DDAttention(Structure(dec), dec.box - 1))
    assert np.allclose(model.coarse_block(), np.linalg.inv(dec.coarse_matrix("hat")), rtol=1e-12, atol=0)
    A = dec.problem.matrix()
    nodes = np.arange(dec.box, 2 * dec.box - 1)                     # element 1: its nodes inside block 1
    loc = np.searchsorted(dec.indices[1], nodes)
    AE_inv = np.linalg.inv(A[nodes][:, nodes].toarray())
    assert np.allclose(model.local_blocks()[1][np.ix_(loc, loc)], AE_inv, rtol=1e-12, atol=1e-16)


S31 = Structure(Decomposition(Problem(31), 4, 1))


@pytest.mark.parametrize("make, match", [
    (lambda: GlobalAttention(Problem(10), 0), "rank"),
    (lambda: GlobalAttention(Problem(10), 11), "rank"),
    (lambda: GlobalAttention(10, 2), "problem"),
    (lambda: DDAttention(S31, 40), "local_rank"),
    (lambda: DDAttention(S31, 2, coarse_rank=9), "coarse_rank"),
    (lambda: Structure(S31.decomposition, weighting="square"), "weighting"),
    (lambda: DDAttention(Structure(S31.decomposition, coarse="none"), 0), "local_rank and coarse_rank"),
    (lambda: DDAttention("not a structure", 2), "structure"),
    (lambda: DDAttention(Structure(S31.decomposition, weighting="left"), 2, symmetric=True), "weighting"),
    (lambda: DDAttention(Structure(Decomposition(Problem(31), 2, 1)), 2, shared=True), "shared"),
    (lambda: DDAttention(Structure(Decomposition(Problem(47), 6, 5)), 2, shared=True), "delta < H/"),
    (lambda: DDAttention(S31, 2)(torch.full((2, 31), float("nan"))), "finite"),
    (lambda: DDAttention(S31, 2)(torch.full((2, 31), float("inf"))), "finite"),
    (lambda: DDAttention(S31, 2).apply_columns(torch.zeros(30, 2)), r"shape \(n, batch\)"),
    (lambda: DDAttention(S31, 2).apply_columns(np.zeros((31, 2))), "tensor"),
    (lambda: DDAttention(S31, 2, shared=True).transfer_to(Structure(Decomposition(Problem(63), 8, 1))),
     "learned_coarse"),
    (lambda: DDAttention(S31, 2, shared=True, learned_coarse=False).transfer_to(
        Structure(Decomposition(Problem(63), 4, 1))), "H/h"),
    (lambda: GlobalAttention(Problem(10), 2)(torch.zeros(3, 9)), "shape"),
    (lambda: operator_error(np.zeros((3, 4)), Problem(3)), "square"),
])
def test_bad_input_raises_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_huge_finite_input_is_not_refused():
    """The cheap finiteness check (one sum) overflows for huge finite entries; the full check then lets them pass."""
    f = torch.full((2, 31), 1e308, dtype=torch.float64)
    assert DDAttention(S31, 2)(f).shape == (2, 31)


def test_configure_threads_honours_environment(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("DDLIB_TORCH_THREADS", "1")
        assert configure_threads() == 1 and torch.get_num_threads() == 1
        for bad in ("0", "abc", "1.5"):
            monkeypatch.setenv("DDLIB_TORCH_THREADS", bad)
            with pytest.raises(ValueError, match="DDLIB_TORCH_THREADS"):
                configure_threads()
    finally:
        torch.set_num_threads(before)


@FAST
@given(dec=decompositions(), data=st.data())
def test_tied_factors_are_symmetric_psd_and_shared_factors_repeat_one_block(dec, data):
    """symmetric=True: every block a Gram matrix, so M = M^T >= 0 for any parameters; shared=True: boxes of one
    position class hold the same local block, and the local parameters do not depend on N."""
    shared = dec.N >= 3 and 2 * dec.delta < dec.box and data.draw(st.booleans())
    s = Structure(dec, weighting=data.draw(st.sampled_from(["sqrt", "none"])))
    model = DDAttention(s, data.draw(st.integers(1, dec.n_max)), symmetric=True, shared=shared,
                        seed=data.draw(st.integers(0, 999)), init_scale=1.0)
    M = model.dense().numpy()
    scale = np.abs(M).max()
    assert np.abs(M - M.T).max() <= 1e-13 * scale and np.linalg.eigvalsh(M).min() >= -1e-12 * scale
    if shared:
        blocks = model.local_blocks()
        for c in np.unique(s.box_class):
            boxes = np.flatnonzero(s.box_class == c)
            for i in boxes[1:]:
                assert np.array_equal(blocks[i], blocks[boxes[0]])
        bigger = DDAttention(Structure(Decomposition(Problem((2 * dec.N * dec.box - 1,) * dec.dim), 2 * dec.N,
                                                     dec.delta)), model.local_rank, symmetric=True, shared=True)
        assert {k: v.shape for k, v in bigger.named_parameters() if k != "K0"} == \
            {k: v.shape for k, v in model.named_parameters() if k != "K0"}


def test_shared_model_transfers_to_a_larger_grid_unchanged():
    """A shared model with the Galerkin coarse level is one operator for every n at fixed H/h: the exact element
    initialisation reproduces A^{-1} at n = 63 and, transferred without retraining, at n = 255 and 1023."""
    model = schwarz_init(DDAttention(Structure(Decomposition(Problem(63), 8, 1)), 7, symmetric=True, shared=True,
                                     learned_coarse=False))
    for n, N in ((63, 8), (255, 32), (1023, 128)):
        other = model.transfer_to(Structure(Decomposition(Problem(n), N, 1)))
        for name, p in model.named_parameters():
            assert torch.equal(dict(other.named_parameters())[name], p)
        Ainv = other.problem.inverse()
        assert np.abs(other.dense().numpy() - Ainv).max() <= 1e-12 * np.abs(Ainv).max()


def test_operator_error_lanczos_agrees_with_dense():
    from ddlib.attention import _operator_error_lanczos

    P = Problem(255)
    for model in (DDAttention(Structure(Decomposition(P, 8, 2)), 3, seed=0), GlobalAttention(P, 5, seed=1),
                  DDAttention(Structure(Decomposition(P, 16, 1)), 2, symmetric=True, shared=True, seed=2),
                  DDAttention(Structure(Decomposition(Problem((15, 15)), 4, 1)), 3, seed=3)):
        assert _operator_error_lanczos(model) == pytest.approx(operator_error(model.dense(), model.problem),
                                                               rel=1e-9)


def _graph_names(t: torch.Tensor) -> list[str]:
    """Names of the autograd nodes that produced ``t``."""
    seen, todo, names = set(), [t.grad_fn], []
    while todo:
        node = todo.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.append(type(node).__name__)
        todo.extend(n for n, _ in node.next_functions)
    return names


def test_gather_chunks_keep_the_backward_linear(monkeypatch):
    """A chunk of boxes at a time, the factors are split, never sliced per chunk: the backward of a slice is a
    full-size copy, so slices would make the backward grow like n times the number of chunks (quadratic)."""
    from ddlib import _window

    dd = DDAttention(Structure(Decomposition(Problem((15, 15)), 4, 1)), 3, seed=0)
    f = torch.randn(2, dd.n, dtype=torch.float64)
    counts = {}
    for chunk in (2**30, 1):   # one chunk; one box per chunk
        monkeypatch.setattr(_window, "CHUNK_BYTES", chunk)
        names = _graph_names(dd.gather_apply(f.T))
        counts[chunk] = (names.count("SliceBackward0"), names.count("BmmBackward0"))
    assert counts[1][1] == 16 * counts[2**30][1]                  # 16 boxes: one product pair per box
    assert counts[1][0] == counts[2**30][0]                        # and no slice per chunk


def test_spec_counts_equal_built_models():
    for shape in (255, (31, 31), (15, 15, 15)):
        P = Problem(shape)
        for spec in (GlobalSpec(4), GlobalSpec(4, symmetric=True), DDSpec(4, 1, 3), DDSpec(4, 1, 3, use_local=False),
                     DDSpec(4, 1, 2, symmetric=True, shared=True, coarse_inverse="galerkin", diagonal="learned"),
                     DDSpec(4, 1, 2, coarse="spectral", per_box=2, partition="ramp"), BandedSpec(2, 3)):
            assert spec.build(P).num_parameters() == spec.parameter_count(P), (shape, spec)
    assert global_parameter_count(255, 16) == 2 * 255 * 16


def test_a_rank_the_boxes_cannot_hold_is_refused_not_clipped():
    with pytest.raises(ValueError, match="local_rank must be an integer in \\[1, 18\\]"):
        DDSpec(N=8, delta=1, local_rank=1000).parameter_count(Problem(127))


@pytest.mark.parametrize("shape", [31, (7, 7), (4, 4, 4)])
def test_banded_low_rank_equals_its_dense_definition(shape):
    P = Problem(shape)
    model = BandedLowRank(P, 2, 3, seed=1, init_scale=1.0)
    idx = np.indices(P.shape).reshape(P.dim, -1).T
    B = np.zeros((P.n, P.n))
    band = (model.band * model.band_mask).detach().numpy()
    for k, o in enumerate(model.offsets):
        for p in range(P.n):
            q = idx[p] + np.array(o)
            if np.all((q >= 0) & (q < P.m)):
                B[p, np.ravel_multi_index(tuple(q), P.shape)] = band[k, p]
    M = P.weight * (B + model.U.detach().numpy() @ model.V.detach().numpy().T)
    assert np.allclose(model.dense().numpy(), M, rtol=1e-13, atol=1e-15)
    assert model.num_parameters() == model.parameter_formula() == int(np.count_nonzero(B)) + 2 * P.n * 3


def test_dense_is_refused_up_front(monkeypatch):
    monkeypatch.setenv("DDLIB_DENSE_LIMIT", "100kB")
    with pytest.raises(MemoryError, match="apply_columns"):
        GlobalAttention(Problem(40000), 1).dense()
