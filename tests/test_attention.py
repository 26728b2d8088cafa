"""Attention operators: vectorized DD equals a loop over subdomains, exact decomposition, classical Schwarz,
parameter counts, gradients."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings, strategies as st

from ddlib.attention import (DDAttention, GlobalAttention, configure_threads, dd_parameter_count,
                             global_parameter_count, operator_error, reference_apply, truncated_factors)
from ddlib.decomposition import Decomposition
from ddlib.problem import eigenvalues, inverse, laplacian_1d

FAST = settings(max_examples=15, deadline=None)


@st.composite
def decompositions(draw, max_m=8, max_N=6):
    N = draw(st.integers(1, max_N))
    m = draw(st.integers(2, max_m))
    delta = draw(st.integers(0, m - 1))
    return Decomposition(N * m - 1, N, delta)


def loop_reference(model: DDAttention, f: np.ndarray) -> np.ndarray:
    """The operator written as the paper writes it: a plain loop over subdomains with sparse R_i and diagonal D_i."""
    dec = model.decomposition
    D = dec.partition_of_unity(model.partition)
    u = np.zeros_like(f)
    if model.use_local:
        Q, K = (t.detach().numpy() * np.sqrt(model.local_scale) for t in model.local_factors())
        for i, R in enumerate(dec.restrictions()):
            ni = R.shape[0]
            Qi, Ki = Q[i, :ni], K[i, :ni]
            WL, WR = {"sqrt": (np.sqrt(D[i]), np.sqrt(D[i])), "left": (D[i], np.ones(ni)),
                      "none": (np.ones(ni), np.ones(ni))}[model.weighting]
            Mi = sp.diags(WL) @ (Qi @ Ki.T) @ sp.diags(WR)
            u += (R.T @ (Mi @ (R @ f.T))).T
    if model.use_coarse:
        P = dec.coarse_space(model.coarse).toarray()
        Q0, K0 = model.coarse_factors()
        B = Q0.detach().numpy() @ K0.detach().numpy().T
        u += (P @ B @ P.T @ f.T).T
    return model.h * u


@FAST
@given(dec=decompositions(), data=st.data())
def test_vectorized_dd_equals_loop_and_dense(dec, data):
    partition = data.draw(st.sampled_from(["multiplicity", "ramp", "boolean"]))
    coarse = data.draw(st.sampled_from(["hat", "nicolaides", "none"]))
    weighting = data.draw(st.sampled_from(["sqrt", "left", "none"]))
    use_local = data.draw(st.booleans())
    symmetric = weighting != "left" and data.draw(st.booleans())
    shared = dec.N >= 3 and 2 * dec.delta < dec.m and data.draw(st.booleans())
    coarse_inverse = data.draw(st.sampled_from(["learned", "galerkin"]))
    has_coarse = coarse == "nicolaides" or (coarse == "hat" and dec.N > 1)
    if not use_local and not has_coarse:
        use_local = True
    r = data.draw(st.integers(1, dec.n_max))
    seed = data.draw(st.integers(0, 2**16))
    model = DDAttention(dec, r, partition=partition, coarse=coarse, weighting=weighting, use_local=use_local,
                        symmetric=symmetric, shared=shared, coarse_inverse=coarse_inverse, seed=seed, init_scale=0.7)
    f = np.random.default_rng(seed).standard_normal((3, dec.n))
    u = model(torch.as_tensor(f)).detach().numpy()
    ref = loop_reference(model, f)
    scale = np.abs(ref).max() + 1e-300
    assert np.abs(u - ref).max() <= 1e-13 * scale
    M = model.dense().numpy()
    assert np.abs(f @ M.T - u).max() <= 1e-13 * scale
    assert np.abs(model(torch.as_tensor(f[0])).detach().numpy() - u[0]).max() <= 1e-13 * scale  # one vector


@FAST
@given(dec=decompositions(max_m=10), partition=st.sampled_from(["multiplicity", "ramp", "boolean"]),
       weighting=st.sampled_from(["sqrt", "left", "none"]))
def test_schwarz_init_full_rank_reproduces_inverse(dec, partition, weighting):
    """Exact 1D decomposition: A^{-1} = Phi A0^{-1} Phi^T + sum_E R_E^T A_E^{-1} R_E, carried by the DD ansatz."""
    model = DDAttention(dec, dec.m - 1, partition=partition, weighting=weighting, init="schwarz")
    Ainv = inverse(dec.n)
    assert np.abs(model.dense().numpy() - Ainv).max() <= 1e-12 * np.abs(Ainv).max()


@FAST
@given(dec=decompositions(), partition=st.sampled_from(["multiplicity", "ramp"]),
       weighting=st.sampled_from(["sqrt", "none"]))
def test_schwarz_init_subdomain_blocks_is_two_level_additive_schwarz(dec, partition, weighting):
    """With A_i^{-1} blocks and A_0^{-1}: Phi A0^{-1} Phi^T + sum_i R_i^T W_i A_i^{-1} W_i R_i (symmetric)."""
    A = laplacian_1d(dec.n)
    model = DDAttention(dec, dec.n_max, partition=partition, weighting=weighting, init="schwarz",
                        local_inverse="subdomain")
    M = np.zeros((dec.n, dec.n))
    if dec.N > 1:
        P = dec.coarse_space("hat")
        M = M + P @ np.linalg.inv((P.T @ A @ P).toarray()) @ P.T
    for R, d in zip(dec.restrictions(), dec.partition_of_unity(partition)):
        w = np.sqrt(d) if weighting == "sqrt" else np.ones_like(d)
        M = M + R.T @ (np.diag(w) @ np.linalg.inv((R @ A @ R.T).toarray()) @ np.diag(w)) @ R
    Md = model.dense().numpy()
    assert np.abs(Md - M).max() <= 1e-12 * np.abs(M).max()
    assert np.abs(Md - Md.T).max() <= 1e-12 * np.abs(M).max()


@pytest.mark.parametrize("n, N", [(255, 8), (511, 16), pytest.param(1023, 32, marks=pytest.mark.slow)])
def test_two_level_schwarz_condition_number_bounded_at_fixed_H_over_h(n, N):
    """Classical two-level additive Schwarz (full-rank A_i^{-1} blocks): kappa(M A) stays small as n grows at fixed
    H/h = 32 and delta = 2 (theory: kappa <= C (1 + H/delta)); the one-level operator grows with N."""
    dec = Decomposition(n, N, 2)
    A = laplacian_1d(n).toarray()
    kappas = []
    for use_coarse in (True, False):
        M = DDAttention(dec, dec.n_max, init="schwarz", local_inverse="subdomain", weighting="none",
                        use_coarse=use_coarse).dense().numpy()
        L = np.linalg.cholesky(M)  # M is SPD
        ev = np.linalg.eigvalsh(L.T @ A @ L)
        kappas.append(ev[-1] / ev[0])
    two, one = kappas
    assert two < 4.0
    assert one > N**2 / 10  # one-level: no global information exchange, kappa grows like N^2 (1/(H delta h))


@FAST
@given(dec=decompositions(), data=st.data())
def test_parameter_counts_equal_formulas(dec, data):
    r = data.draw(st.integers(1, int(dec.sizes.min())))
    coarse_rank = data.draw(st.integers(1, dec.N - 1)) if dec.N > 1 else None
    model = DDAttention(dec, r, coarse_rank)
    formula = 2 * r * (dec.n + 2 * dec.delta * (dec.N - 1)) + 2 * (dec.N - 1) * (coarse_rank or 0)
    assert model.num_parameters() == formula == model.parameter_formula()
    assert formula == dd_parameter_count(dec.n, dec.N, dec.delta, r, coarse_rank or 0)
    # the trainable entries that are not padding: count the nonzero pattern of the padded factors
    real = 2 * r * int(dec.mask.sum()) + (2 * model.Q0.numel() if model.use_coarse else 0)
    assert real == formula
    g = GlobalAttention(dec.n, min(r, dec.n))
    assert g.num_parameters() == 2 * dec.n * min(r, dec.n) == global_parameter_count(dec.n, min(r, dec.n))


@FAST
@given(dec=decompositions(max_m=9, max_N=7), data=st.data())
def test_window_layout_equals_reference_path_with_gradients(dec, data):
    """The fast window layout (strided views, closed-form hat space, weights folded into the factors) and the
    reference gather/index_add path give the same outputs, parameter and input gradients, rows and columns alike."""
    weighting = data.draw(st.sampled_from(["sqrt", "left", "none"]))
    kw = dict(partition=data.draw(st.sampled_from(["multiplicity", "ramp", "boolean"])), weighting=weighting,
              coarse=data.draw(st.sampled_from(["hat", "nicolaides", "none"])),
              symmetric=weighting != "left" and data.draw(st.booleans()),
              shared=dec.N >= 3 and 2 * dec.delta < dec.m and data.draw(st.booleans()),
              seed=data.draw(st.integers(0, 2**16)), init_scale=0.5)
    r = data.draw(st.integers(1, dec.n_max))
    model = DDAttention(dec, r, **kw)
    f = torch.randn(4, dec.n, generator=torch.Generator().manual_seed(kw["seed"]), dtype=torch.float64,
                    requires_grad=True)
    u, v = model(f), reference_apply(model, f.T).T
    tol = 1e-13 * float(v.detach().abs().max() + 1e-300)
    assert torch.allclose(u, v, rtol=0, atol=tol)
    assert torch.allclose(model.apply_columns(f.T.contiguous()).T, v, rtol=0, atol=tol)
    params = list(model.parameters())
    for a, b in zip(torch.autograd.grad(u.square().sum(), params + [f]),
                    torch.autograd.grad(v.square().sum(), params + [f])):
        assert torch.allclose(a, b, rtol=0, atol=1e-12 * float(b.abs().max() + 1e-300))
    if model.use_local and model.use_coarse:  # the parts on their own (as ddlib.ablations reads them) add up
        eye = torch.eye(dec.n, dtype=torch.float64)
        with torch.no_grad():
            parts = (model.local_part(eye) + model.coarse_part(eye)) * model.h
            assert torch.allclose(parts, model.dense(), rtol=0, atol=1e-13 * float(parts.abs().max()))


def test_inference_cache_follows_parameter_updates():
    """Without grad the folded factors are cached; an optimizer step or a load_state_dict must invalidate them."""
    dec = Decomposition(127, 8, 3)
    model, ref = DDAttention(dec, 4, seed=1), DDAttention(dec, 4, seed=2)
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
        assert not torch.allclose(after, first)
        assert torch.allclose(after, reference_apply(ref, f.T).T, rtol=0, atol=1e-13 * float(after.abs().max()))
        model.K0.mul_(2.0)
        ref.K0.mul_(2.0)
        assert torch.allclose(model(f), reference_apply(ref, f.T).T, rtol=0, atol=1e-13 * float(after.abs().max()))
        model.K = torch.nn.Parameter(2.0 * model.K)      # a replaced parameter (new object, version 0)
        ref.K = torch.nn.Parameter(2.0 * ref.K)
        assert torch.allclose(model(f), reference_apply(ref, f.T).T, rtol=0, atol=1e-13 * float(after.abs().max()))


def test_gradcheck_both_operators():
    torch.manual_seed(0)
    f = torch.randn(1, 11, dtype=torch.float64, requires_grad=True)
    g = GlobalAttention(11, 3, seed=1)
    assert torch.autograd.gradcheck(lambda Q, K, x: _with(g, Q=Q, K=K)(x), (g.Q, g.K, f))
    for dec, kw in ((Decomposition(11, 3, 1), dict()), (Decomposition(11, 2, 2), dict(partition="ramp")),
                    (Decomposition(11, 3, 1), dict(weighting="left", partition="ramp")),
                    (Decomposition(11, 3, 1), dict(coarse="nicolaides", weighting="none")),
                    (Decomposition(11, 3, 1), dict(symmetric=True, shared=True)),
                    (Decomposition(11, 3, 1), dict(symmetric=True, coarse_inverse="galerkin"))):
        dd = DDAttention(dec, 2, seed=2, **kw)
        names, values = zip(*dd.named_parameters())
        assert torch.autograd.gradcheck(lambda *a: _with(dd, **dict(zip(names, a[:-1])))(a[-1]), (*values, f))
        ref = _Reference(dd)
        assert torch.autograd.gradcheck(lambda *a: _with(ref, **{f"dd.{k}": v for k, v in zip(names, a[:-1])})(a[-1]),
                                        (*values, f))


@pytest.mark.parametrize("dec,kw", [(Decomposition(23, 4, 2), {}), (Decomposition(23, 4, 0), {}),
                                    (Decomposition(23, 4, 2), dict(use_coarse=False)),
                                    (Decomposition(23, 4, 2), dict(use_local=False)),
                                    (Decomposition(31, 8, 1), dict(weighting="left", partition="ramp")),
                                    (Decomposition(23, 4, 5), dict(partition="ramp"))])  # delta = m - 1
def test_hand_written_backward_of_the_window_layout_passes_gradcheck(dec, kw):
    """With grad, the window layout runs as one autograd.Function with a hand-written backward: check it against
    finite differences for the parameters and the input, on rows (forward) and on columns (apply_columns)."""
    dd = DDAttention(dec, 2, 2, seed=3, init_scale=0.5, **kw)
    assert dd._native
    names, values = zip(*dd.named_parameters())
    f = torch.randn(3, dec.n, dtype=torch.float64, generator=torch.Generator().manual_seed(4), requires_grad=True)

    def rows(*args):
        return torch.func.functional_call(dd, dict(zip(names, args[:-1])), (args[-1],))

    class Columns(torch.nn.Module):  # the column entry point as a module's forward, for functional_call
        def __init__(self):
            super().__init__()
            self.dd = dd

        def forward(self, x):
            return self.dd.apply_columns(x.T.contiguous())

    wrapper = Columns()

    def columns(*args):
        return torch.func.functional_call(wrapper, {f"dd.{k}": v for k, v in zip(names, args[:-1])}, (args[-1],))

    assert torch.autograd.gradcheck(rows, (*values, f))
    assert torch.autograd.gradcheck(columns, (*values, f))
    assert torch.autograd.gradcheck(rows, (*values, f[:1]))     # a single right-hand side
    g, = torch.autograd.grad(dd(f).square().sum(), next(dd.parameters()), create_graph=True)
    with pytest.raises(RuntimeError, match="once_differentiable"):  # no silent wrong second derivatives
        g.sum().backward()


class _Reference(torch.nn.Module):
    """``reference_apply`` as a module's forward on rows, so functional_call can swap the DD model's parameters."""

    def __init__(self, dd):
        super().__init__()
        self.dd = dd

    def forward(self, x):
        return reference_apply(self.dd, x.T).T


def _with(model, **params):
    """The model with its parameters replaced by the given tensors (for gradcheck)."""
    def apply(x):
        return torch.func.functional_call(model, params, (x,))
    return apply


def test_padding_slots_get_no_gradient():
    dec = Decomposition(31, 4, 2)  # the end subdomains are shorter: padded
    model = DDAttention(dec, 3, seed=0)
    f = torch.randn(5, 31, dtype=torch.float64)
    model(f).pow(2).sum().backward()
    pad = ~torch.as_tensor(dec.mask)
    assert torch.all(model.Q.grad[pad] == 0) and torch.all(model.K.grad[pad] == 0)
    assert torch.all(model.Q[pad] == 0)


@FAST
@given(n=st.integers(3, 80), data=st.data())
def test_global_svd_init_is_eckart_young(n, data):
    r = data.draw(st.integers(1, n - 1))
    err = operator_error(GlobalAttention(n, r, init="svd").dense(), n)
    lam = eigenvalues(n)
    assert err == pytest.approx(lam[0] / lam[r], rel=1e-9, abs=1e-13)


def test_truncated_factors_nonsymmetric_and_padding():
    B = np.random.default_rng(3).standard_normal((6, 4))
    Q, K = truncated_factors(B, 6)
    assert Q.shape == (6, 6) and K.shape == (4, 6)
    assert np.allclose(Q @ K.T, B, atol=1e-13)
    Q2, K2 = truncated_factors(B, 2)
    s = np.linalg.svd(B, compute_uv=False)
    assert np.linalg.norm(Q2 @ K2.T - B, 2) == pytest.approx(s[2], rel=1e-12)


def test_float32_and_row_column_paths_agree():
    dec = Decomposition(63, 8, 1)
    m64 = DDAttention(dec, 3, seed=4)
    m32 = DDAttention(dec, 3, seed=4, dtype=torch.float32)
    f = torch.randn(4, 63, dtype=torch.float64)
    u = m64(f)
    assert torch.allclose(m64.apply_columns(f.T.contiguous()).T, u, rtol=0, atol=1e-15)
    assert m32(f).dtype == torch.float32
    assert torch.allclose(m32(f).double(), u, rtol=1e-4, atol=1e-6 * u.abs().max().item())


def test_local_and_coarse_blocks_of_exact_init():
    dec = Decomposition(63, 4, 1)
    model = DDAttention(dec, dec.m - 1, init="schwarz")
    A0 = dec.coarse_matrix("hat")
    assert np.allclose(model.coarse_block(), np.linalg.inv(A0), rtol=1e-12, atol=0)
    blocks = model.local_blocks()
    # block 1 holds A_E^{-1} of element 1 on the element nodes (subdomain-local positions)
    A = laplacian_1d(63)
    nodes = np.arange(dec.m, 2 * dec.m - 1)
    loc = nodes - dec.bounds[1, 0]
    AE_inv = np.linalg.inv(A[nodes][:, nodes].toarray())
    assert np.allclose(blocks[1][np.ix_(loc, loc)], AE_inv, rtol=1e-12, atol=1e-16)


@pytest.mark.parametrize("make, match", [
    (lambda: GlobalAttention(10, 0), "rank"),
    (lambda: GlobalAttention(10, 11), "rank"),
    (lambda: GlobalAttention(10, 2, init="bogus"), "init"),
    (lambda: DDAttention(Decomposition(31, 4, 1), 40), "local_rank"),
    (lambda: DDAttention(Decomposition(31, 4, 1), 2, coarse_rank=9), "coarse_rank"),
    (lambda: DDAttention(Decomposition(31, 4, 1), 2, weighting="square"), "weighting"),
    (lambda: DDAttention(Decomposition(31, 4, 1), 2, use_local=False, use_coarse=False), "use_local"),
    (lambda: DDAttention("not a decomposition", 2), "decomposition"),
    (lambda: DDAttention(Decomposition(31, 4, 1), 2, symmetric=True, weighting="left"), "weighting"),
    (lambda: DDAttention(Decomposition(31, 2, 1), 2, shared=True), "shared"),
    (lambda: DDAttention(Decomposition(47, 6, 5), 2, shared=True), "delta < m / 2"),
    (lambda: DDAttention(Decomposition(31, 4, 1), 2, coarse_inverse="exact"), "coarse_inverse"),
    (lambda: DDAttention(Decomposition(31, 4, 1), 2)(torch.full((2, 31), float("nan"))), "finite"),
    (lambda: DDAttention(Decomposition(31, 4, 1), 2).apply_columns(torch.zeros(30, 2)), r"shape \(n, batch\)"),
    (lambda: DDAttention(Decomposition(31, 4, 1), 2).apply_columns(np.zeros((31, 2))), "tensor"),
    (lambda: DDAttention(Decomposition(31, 4, 1), 2, shared=True, coarse_inverse="learned").transfer_to(
        Decomposition(63, 8, 1)), "galerkin"),
    (lambda: DDAttention(Decomposition(31, 4, 1), 2, shared=True, coarse_inverse="galerkin").transfer_to(
        Decomposition(63, 4, 1)), "m = 8"),
    (lambda: GlobalAttention(10, 2)(torch.zeros(3, 9)), "shape"),
    (lambda: GlobalAttention(10, 2, dtype=torch.int64), "dtype"),
    (lambda: operator_error(np.zeros((3, 4))), "square"),
])
def test_bad_input_raises_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_configure_threads_honours_environment(monkeypatch):
    before = torch.get_num_threads()
    try:
        monkeypatch.setenv("DDLIB_TORCH_THREADS", "1")
        assert configure_threads() == 1 and torch.get_num_threads() == 1
        monkeypatch.setenv("DDLIB_TORCH_THREADS", "0")
        with pytest.raises(ValueError, match="DDLIB_TORCH_THREADS"):
            configure_threads()
    finally:
        torch.set_num_threads(before)


@FAST
@given(dec=decompositions(max_m=8, max_N=6), data=st.data())
def test_tied_factors_are_symmetric_psd_and_shared_factors_repeat_one_block(dec, data):
    """symmetric=True: every block a Gram matrix, so M = M^T >= 0 for any parameters; shared=True: every interior
    subdomain holds the same local block, and the local parameters do not depend on N."""
    shared = dec.N >= 3 and 2 * dec.delta < dec.m and data.draw(st.booleans())
    model = DDAttention(dec, data.draw(st.integers(1, dec.n_max)), symmetric=True, shared=shared,
                        weighting=data.draw(st.sampled_from(["sqrt", "none"])), seed=data.draw(st.integers(0, 999)),
                        init_scale=1.0)
    M = model.dense().numpy()
    scale = np.abs(M).max()
    assert np.abs(M - M.T).max() <= 1e-13 * scale and np.linalg.eigvalsh(M).min() >= -1e-12 * scale
    if shared:
        blocks = model.local_blocks()
        for b in blocks[2:-1]:
            assert np.array_equal(b, blocks[1])
        bigger = DDAttention(Decomposition(2 * dec.N * dec.m - 1, 2 * dec.N, dec.delta), model.local_rank,
                             symmetric=True, shared=True)
        assert {k: v.shape for k, v in bigger.named_parameters() if k != "K0"} == \
            {k: v.shape for k, v in model.named_parameters() if k != "K0"}


def test_shared_model_transfers_to_a_larger_grid_unchanged():
    """A shared model with the Galerkin coarse level is one operator for every n at fixed H/h: the exact element
    initialisation reproduces A^{-1} at n = 63 and, transferred without retraining, at n = 255 and 1023."""
    model = DDAttention(Decomposition(63, 8, 1), 7, symmetric=True, shared=True, coarse_inverse="galerkin",
                        init="schwarz")
    for n, N in ((63, 8), (255, 32), (1023, 128)):
        other = model.transfer_to(Decomposition(n, N, 1))
        for name, p in model.named_parameters():
            assert torch.equal(dict(other.named_parameters())[name], p)
        Ainv = inverse(n)
        assert np.abs(other.dense().numpy() - Ainv).max() <= 1e-12 * np.abs(Ainv).max()


def test_operator_error_lanczos_agrees_with_dense():
    from ddlib.attention import _operator_error_lanczos

    for model in (DDAttention(Decomposition(255, 8, 2), 3, seed=0), GlobalAttention(255, 5, seed=1),
                  DDAttention(Decomposition(255, 16, 1), 2, symmetric=True, shared=True, seed=2)):
        assert _operator_error_lanczos(model) == pytest.approx(operator_error(model.dense(), 255), rel=1e-9)
