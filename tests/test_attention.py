"""Attention operators in every dimension: the gather path and the 1D window fast path equal the paper's formula
(values and gradients), the exact 1D decomposition, classical Schwarz, parameter counts, tied and shared factors,
Eckart-Young, the banded baseline, clear errors."""
import numpy as np
import pytest
import scipy.sparse as sp
import torch
from hypothesis import given, settings, strategies as st

from ddlib.banded import BandedLowRank
from ddlib.attention import (DDAttention, GlobalAttention, Structure, configure_threads,
                             eckart_young_init, global_parameter_count, operator_error, schwarz_init,
                             truncated_factors)
from ddlib.decomposition import Decomposition
from ddlib.krylov import dense_spectrum
from ddlib.models import BandedSpec, DDSpec, GlobalSpec
from ddlib.problem import Problem
from ddlib.schwarz import schwarz_preconditioner, to_dense

FAST = settings(max_examples=20, deadline=None)


@st.composite
def decompositions(draw):
    d = draw(st.integers(1, 3))
    N = draw(st.integers(1, {1: 6, 2: 3, 3: 2}[d]))
    b = draw(st.integers(2, {1: 8, 2: 4, 3: 3}[d]))
    return Decomposition(Problem((N * b - 1,) * d), N, draw(st.integers(0, b - 1)))


@st.composite
def models(draw, dec=None):
    """A random valid DDAttention (every option) on a random decomposition, with O(1) random factors."""
    dec = draw(decompositions()) if dec is None else dec
    weighting = draw(st.sampled_from(["sqrt", "left", "none"]))
    coarse = draw(st.sampled_from(["hat", "nicolaides", "none"]))
    s = Structure(dec, draw(st.sampled_from(["multiplicity", "ramp", "boolean"])), weighting, coarse)
    symmetric = weighting != "left" and draw(st.booleans())
    shared = dec.N >= 3 and 2 * dec.delta < dec.box and draw(st.booleans())
    local = draw(st.integers(0 if s.N0 else 1, dec.n_max))
    coarse_rank = draw(st.integers(0 if local else 1, s.N0)) if s.N0 else 0
    learned = draw(st.booleans()) or shared
    if shared and coarse_rank:
        learned = draw(st.booleans())
    return DDAttention(s, local, coarse_rank, symmetric=symmetric, shared=shared, learned_coarse=learned,
                       init_scale=0.7, seed=draw(st.integers(0, 2**16)))


def formula(model: DDAttention, f: np.ndarray) -> np.ndarray:
    """The operator as the paper writes it: a loop over subdomains with sparse R_i and diagonal D_i, and Phi."""
    dec, s = model.decomposition, model.structure
    u = np.zeros_like(f)
    if model.local_rank:
        Q, K = (t.detach().numpy() for t in model.local_factors())
        for i, (R, d) in enumerate(zip(dec.restrictions(), dec.partition_of_unity(s.partition))):
            slots = dec.mask[i]
            Qi, Ki = Q[i, slots] * model.local_scale, K[i, slots]
            WL, WR = {"sqrt": (np.sqrt(d), np.sqrt(d)), "left": (d, np.ones_like(d)),
                      "none": (np.ones_like(d), np.ones_like(d))}[s.weighting]
            u += (R.T @ (sp.diags(WL) @ (Qi @ Ki.T) @ sp.diags(WR) @ (R @ f.T))).T
    if model.coarse_rank:
        P = s.Phi.toarray()
        Q0, K0 = (t.detach().numpy() for t in model.coarse_factors())
        u += (P @ (Q0 @ K0.T) @ P.T @ f.T).T
    return model.weight * u


@FAST
@given(model=models(), seed=st.integers(0, 2**16))
def test_every_path_equals_the_formula(model, seed):
    f = np.random.default_rng(seed).standard_normal((3, model.n))
    ref = formula(model, f)
    scale = np.abs(ref).max() + 1e-300
    u = model(torch.as_tensor(f)).detach().numpy()
    assert np.abs(u - ref).max() <= 1e-12 * scale
    assert np.abs(model.gather_apply(torch.as_tensor(f.T.copy())).detach().numpy().T - ref).max() <= 1e-12 * scale
    assert np.abs(f @ model.dense().numpy().T - u).max() <= 1e-12 * scale
    assert np.abs(model(torch.as_tensor(f[0])).detach().numpy() - u[0]).max() <= 1e-12 * scale  # one vector
    if model.local_rank and model.coarse_rank:  # the parts on their own (as ddlib.ablations reads them) add up
        F = torch.as_tensor(f.T.copy())
        with torch.no_grad():
            parts = (model.local_part(F) + model.coarse_part(F)) * model.weight
        assert np.abs(parts.numpy().T - ref).max() <= 1e-12 * scale


@st.composite
def window_models(draw):
    N, b = draw(st.integers(3, 7)), draw(st.integers(2, 9))
    return draw(models(Decomposition(Problem(N * b - 1), N, draw(st.integers(0, b - 1)))))


@FAST
@given(model=window_models(), seed=st.integers(0, 2**16))
def test_the_1d_window_path_equals_the_gather_path_with_gradients(model, seed):
    """The fast window layout (strided views, closed-form hats, hand-written backward) and the generic gather path
    give the same outputs and the same parameter and input gradients."""
    assert model.structure.windows is not None
    f = torch.randn(model.n, 4, generator=torch.Generator().manual_seed(seed), dtype=torch.float64,
                    requires_grad=True)
    u, v = model.apply_columns(f), model.gather_apply(f)
    assert torch.allclose(u, v, rtol=0, atol=1e-13 * float(v.detach().abs().max() + 1e-300))
    params = list(model.parameters())
    for a, b in zip(torch.autograd.grad(u.square().sum(), params + [f]),
                    torch.autograd.grad(v.square().sum(), params + [f])):
        assert torch.allclose(a, b, rtol=0, atol=1e-12 * float(b.abs().max() + 1e-300))


@pytest.mark.parametrize("shape,N,delta,kw", [(23, 4, 2, {}), (23, 4, 0, {}), (23, 4, 2, dict(coarse_rank=0)),
                                              (23, 4, 2, dict(local_rank=0)), (23, 4, 5, {}),
                                              (23, 4, 2, dict(learned_coarse=False)),
                                              ((11, 11), 3, 1, {}), ((5, 5, 5), 2, 1, dict(coarse_rank=1))])
def test_gradcheck(shape, N, delta, kw):
    """Finite differences against autograd for parameters and input, on the window path (1D, hand-written backward)
    and the gather path (2D, 3D); the hand-written backward refuses a second derivative instead of a wrong one."""
    kw = {"local_rank": 2, "coarse_rank": 2} | kw
    dd = DDAttention(Structure(Decomposition(Problem(shape), N, delta)), kw.pop("local_rank"), kw.pop("coarse_rank"),
                     seed=3, init_scale=0.5, **kw)
    names, values = zip(*dd.named_parameters())
    f = torch.randn(2, dd.n, dtype=torch.float64, generator=torch.Generator().manual_seed(4), requires_grad=True)

    def rows(*args):
        return torch.func.functional_call(dd, dict(zip(names, args[:-1])), (args[-1],))

    assert torch.autograd.gradcheck(rows, (*values, f))
    if dd.structure.windows is not None and dd.local_rank:
        g, = torch.autograd.grad(dd(f).square().sum(), values[0], create_graph=True)
        with pytest.raises(RuntimeError, match="once_differentiable"):
            g.sum().backward()


def test_global_gradcheck():
    g = GlobalAttention(Problem((3, 3)), 3, seed=1)
    f = torch.randn(2, 9, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda Q, K, x: torch.func.functional_call(g, {"Q": Q, "K": K}, (x,)),
                                    (g.Q, g.K, f))


@FAST
@given(N=st.integers(1, 6), b=st.integers(2, 10), data=st.data())
def test_1d_element_init_at_full_rank_is_the_inverse(N, b, data):
    """Fact 4: A^{-1} = Phi A0^{-1} Phi^T + sum_E R_E^T A_E^{-1} R_E, carried by the DD ansatz for every weighting."""
    dec = Decomposition(Problem(N * b - 1), N, data.draw(st.integers(0, b - 1)))
    s = Structure(dec, data.draw(st.sampled_from(["multiplicity", "ramp", "boolean"])),
                  data.draw(st.sampled_from(["sqrt", "left", "none"])))
    model = schwarz_init(DDAttention(s, b - 1, learned_coarse=data.draw(st.booleans())))
    Ainv = dec.problem.inverse()
    assert np.abs(model.dense().numpy() - Ainv).max() <= 1e-12 * np.abs(Ainv).max()


@FAST
@given(dec=decompositions(), partition=st.sampled_from(["multiplicity", "ramp"]),
       weighting=st.sampled_from(["sqrt", "none"]))
def test_subdomain_init_is_two_level_additive_schwarz_in_every_dimension(dec, partition, weighting):
    model = schwarz_init(DDAttention(Structure(dec, partition, weighting), dec.n_max), "subdomain")
    M = to_dense(schwarz_preconditioner(dec, weighting=weighting, coarse="hat", partition=partition))
    Md = model.dense().numpy()
    assert np.abs(Md - M).max() <= 1e-12 * np.abs(M).max() and np.abs(Md - Md.T).max() <= 1e-12 * np.abs(M).max()


@pytest.mark.parametrize("shape,N", [(255, 8), ((31, 31), 4), ((7, 7, 7), 2)])
def test_classical_two_level_kappa_is_small_and_one_level_larger(shape, N):
    dec = Decomposition(Problem(shape), N, 1)
    A = dec.problem.matrix()
    kappa = {}
    for coarse in ("hat", "none"):
        M = schwarz_init(DDAttention(Structure(dec, weighting="none", coarse=coarse), dec.n_max), "subdomain")
        ev = dense_spectrum(A, M.dense().numpy())
        kappa[coarse] = ev[-1] / ev[0]
    assert kappa["hat"] < min(12.0, kappa["none"])


@FAST
@given(model=models())
def test_parameter_counts_equal_formulas(model):
    """num_parameters counts exactly the trainable entries that are not padding, and equals the closed form."""
    mask = torch.as_tensor(model.decomposition.mask)
    real = 0
    if model.local_rank:
        boxes = mask[[int(np.flatnonzero(model.cls.numpy() == c)[0]) for c in range(model.K.shape[0])]] \
            if model.shared else mask
        real += (1 if model.symmetric else 2) * model.local_rank * int(boxes.sum())
    real += sum(int(p.numel()) for name, p in model.named_parameters() if name in ("Q0", "K0"))
    assert model.num_parameters() == real == model.parameter_formula()


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


@FAST
@given(model=models())
def test_padding_slots_stay_zero_and_get_no_gradient(model):
    if not model.local_rank:
        return
    f = torch.randn(3, model.n, dtype=torch.float64)
    model(f).pow(2).sum().backward()
    mask = torch.as_tensor(model.decomposition.mask)
    if model.shared:
        mask = mask[[int(np.flatnonzero(model.cls.numpy() == c)[0]) for c in range(model.K.shape[0])]]
    for p in (model.K, model.Q):
        if p is not None:
            assert torch.all(p.grad[~mask] == 0) and torch.all(p[~mask] == 0)


@FAST
@given(model=models())
def test_tied_factors_are_symmetric_positive_semidefinite(model):
    if not model.symmetric or model.structure.weighting == "left":
        return
    M = model.dense().numpy()
    scale = np.abs(M).max() + 1e-300
    assert np.abs(M - M.T).max() <= 1e-13 * scale and np.linalg.eigvalsh(M).min() >= -1e-12 * scale


def test_shared_factors_repeat_one_block_per_position_class():
    dec = Decomposition(Problem((23, 23)), 4, 1)
    model = DDAttention(Structure(dec), 3, shared=True, seed=2)
    blocks = model.local_blocks()
    inner = [i for i in range(dec.n_sub) if model.structure.box_class[i] == 4]   # interior along both axes
    assert len(inner) == 4 and all(np.array_equal(blocks[i], blocks[inner[0]]) for i in inner)
    assert model.K.shape[0] == 9


def test_shared_model_transfers_to_a_larger_grid_unchanged():
    """A shared model with the Galerkin coarse level is one operator for every n at fixed H/h: the exact element
    initialisation reproduces A^{-1} at n = 63 and, transferred without retraining, at n = 255 and 1023."""
    s = Structure(Decomposition(Problem(63), 8, 1))
    model = schwarz_init(DDAttention(s, 7, symmetric=True, shared=True, learned_coarse=False))
    for n, N in ((63, 8), (255, 32), (1023, 128)):
        other = model.transfer_to(Structure(Decomposition(Problem(n), N, 1)))
        for name, p in model.named_parameters():
            assert torch.equal(dict(other.named_parameters())[name], p)
        Ainv = other.problem.inverse()
        assert np.abs(other.dense().numpy() - Ainv).max() <= 1e-12 * np.abs(Ainv).max()


def test_inference_cache_follows_parameter_updates():
    """Without grad the folded window factors are cached; an optimizer step or a replaced parameter invalidates."""
    s = Structure(Decomposition(Problem(127), 8, 3))
    model = DDAttention(s, 4, seed=1)
    f = torch.randn(5, 127, dtype=torch.float64)
    with torch.inference_mode():
        first = model(f)
        assert torch.equal(model(f), first)
    model(f).square().sum().backward()
    with torch.no_grad():
        for p in model.parameters():
            p.sub_(0.1 * p.grad)
        after = model(f)
        assert not torch.allclose(after, first)
        assert torch.allclose(after, model.gather_apply(f.T).T, rtol=0, atol=1e-13 * float(after.abs().max()))
        model.K = torch.nn.Parameter(2.0 * model.K)
        assert torch.allclose(model(f), model.gather_apply(f.T).T, rtol=0, atol=1e-13 * float(after.abs().max()))


@FAST
@given(d=st.integers(1, 3), data=st.data())
def test_eckart_young_init(d, data):
    P = Problem(({1: 40, 2: 7, 3: 4}[d],) * d)
    r = data.draw(st.integers(1, P.n - 1))
    g = eckart_young_init(GlobalAttention(P, r, symmetric=data.draw(st.booleans())))
    lam = P.eigenvalues()
    assert operator_error(g) == pytest.approx(lam[0] / lam[r], rel=1e-9, abs=1e-12)


def test_operator_error_lanczos_agrees_with_dense():
    from ddlib.attention import _operator_error_lanczos

    for model in (DDAttention(Structure(Decomposition(Problem(255), 8, 2)), 3, seed=0),
                  GlobalAttention(Problem((15, 15)), 5, seed=1),
                  DDAttention(Structure(Decomposition(Problem(255), 16, 1)), 2, symmetric=True, shared=True)):
        assert _operator_error_lanczos(model) == pytest.approx(operator_error(model.dense(), model.problem),
                                                               rel=1e-9)


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


def test_truncated_factors_nonsymmetric_and_padding():
    B = np.random.default_rng(3).standard_normal((6, 4))
    Q, K = truncated_factors(B, 6)
    assert Q.shape == (6, 6) and K.shape == (4, 6) and np.allclose(Q @ K.T, B, atol=1e-13)
    Q2, K2 = truncated_factors(B, 2)
    assert np.linalg.norm(Q2 @ K2.T - B, 2) == pytest.approx(np.linalg.svd(B, compute_uv=False)[2], rel=1e-12)


def test_float32_works_on_both_paths():
    for shape, N in ((63, 8), ((15, 15), 4)):
        m64 = DDAttention(Structure(Decomposition(Problem(shape), N, 1)), 3, seed=4)
        m32 = DDAttention(Structure(Decomposition(Problem(shape), N, 1)), 3, seed=4).to(torch.float32)
        f = torch.randn(4, m64.n, dtype=torch.float64)
        u = m64(f)
        assert m32(f).dtype == torch.float32
        assert torch.allclose(m32(f).double(), u, rtol=1e-4, atol=1e-5 * u.abs().max().item())


def test_local_and_coarse_blocks_of_exact_init():
    dec = Decomposition(Problem(63), 4, 1)
    model = schwarz_init(DDAttention(Structure(dec), dec.box - 1))
    assert np.allclose(model.coarse_block(), np.linalg.inv(dec.coarse_matrix("hat")), rtol=1e-12, atol=0)
    A = dec.problem.matrix()
    nodes = dec.elements()[1]
    loc = np.searchsorted(dec.indices[1], nodes)
    assert np.allclose(model.local_blocks()[1][np.ix_(loc, loc)], np.linalg.inv(A[nodes][:, nodes].toarray()),
                       rtol=1e-12, atol=1e-16)


S31 = Structure(Decomposition(Problem(31), 4, 1))


@pytest.mark.parametrize("make, match", [
    (lambda: GlobalAttention(Problem(10), 0), "rank"),
    (lambda: GlobalAttention(Problem(10), 11), "rank"),
    (lambda: GlobalAttention(10, 2), "problem must be a ddlib.problem.Problem"),
    (lambda: DDAttention(S31, 40), "local_rank"),
    (lambda: DDAttention(S31, 2, coarse_rank=9), "coarse_rank"),
    (lambda: Structure(S31.decomposition, weighting="square"), "weighting"),
    (lambda: DDAttention(S31, 0, 0), "must not both be 0"),
    (lambda: DDAttention("not a structure", 2), "structure"),
    (lambda: Structure("not a decomposition"), "decomposition"),
    (lambda: DDAttention(Structure(S31.decomposition, weighting="left"), 2, symmetric=True), "weighting"),
    (lambda: DDAttention(Structure(Decomposition(Problem(31), 2, 1)), 2, shared=True), "shared"),
    (lambda: DDAttention(Structure(Decomposition(Problem(47), 6, 5)), 2, shared=True), "delta < H/\\(2h\\)"),
    (lambda: DDAttention(S31, 2)(torch.full((2, 31), float("nan"))), "finite"),
    (lambda: DDAttention(Structure(Decomposition(Problem((7, 7)), 2, 1)), 2)(torch.full((2, 49), float("inf"))),
     "finite"),
    (lambda: DDAttention(S31, 2).apply_columns(torch.zeros(30, 2)), r"shape \(n, batch\)"),
    (lambda: DDAttention(S31, 2).apply_columns(np.zeros((31, 2))), "tensor"),
    (lambda: DDAttention(S31, 2, shared=True).transfer_to(Structure(Decomposition(Problem(63), 8, 1))), "learned"),
    (lambda: DDAttention(S31, 2, shared=True, learned_coarse=False).transfer_to(
        Structure(Decomposition(Problem(63), 4, 1))), "H/h = 8"),
    (lambda: GlobalAttention(Problem(10), 2)(torch.zeros(3, 9)), "shape"),
    (lambda: operator_error(np.zeros((3, 4)), Problem(3)), "square"),
    (lambda: BandedLowRank(Problem(10), 10, 1), "bandwidth"),
])
def test_bad_input_raises_value_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_configure_threads_honours_and_checks_the_environment(monkeypatch):
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


def test_dense_is_refused_up_front(monkeypatch):
    monkeypatch.setenv("DDLIB_DENSE_LIMIT", "100kB")
    with pytest.raises(MemoryError, match="apply_columns"):
        GlobalAttention(Problem(40000), 1).dense()
