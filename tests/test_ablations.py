"""Ablation switches change exactly the part they name, in 1D and 2D; the banded-plus-low-rank baseline."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from ddlib.ablations import (ablation_key, ablation_specs, banded_lowrank_for_budget, compare_to_baseline,
                             operator_parts, run_ablations)
from ddlib.banded import BandedLowRank, banded_lowrank_parameter_count
from ddlib.decomposition import Decomposition
from ddlib.models import BandedSpec, DDSpec, GlobalSpec
from ddlib.problem import Problem
from ddlib.training import TrainConfig

FAST = settings(max_examples=25, deadline=None)


def copy_shared_factors(src, dst):
    """Copy every parameter of ``src`` into the parameter of ``dst`` with the same name and shape."""
    mine = dict(dst.named_parameters())
    with torch.no_grad():
        for name, p in src.named_parameters():
            if name in mine and mine[name].shape == p.shape:
                mine[name].copy_(p)


@st.composite
def configs(draw):
    """A grid of N boxes of b nodes per direction (the last one b - 1), overlap 1..b-2, in 1D or 2D."""
    dim = draw(st.sampled_from([1, 2]))
    N = draw(st.integers(2, 5 if dim == 1 else 3))
    b = draw(st.integers(3, 8 if dim == 1 else 4))
    problem = Problem((N * b - 1,) * dim)
    spec = DDSpec(N, draw(st.integers(1, b - 2)), draw(st.integers(1, b)))
    return dict(problem=problem, spec=spec, seed=draw(st.integers(0, 9999)))


def _pair(cfg, **switch):
    """The parts of the baseline and of the switched model, which shares every factor it can with the baseline."""
    P, spec = cfg["problem"], cfg["spec"]
    base = spec.build(P, seed=cfg["seed"], init_scale=0.7)
    other = spec.replace(**switch).build(P, seed=cfg["seed"] + 1, init_scale=0.7)
    copy_shared_factors(base, other)
    return operator_parts(base), operator_parts(other), other


def _support(dec):
    S = np.zeros((dec.n, dec.n), dtype=bool)
    for idx in dec.indices:
        S[np.ix_(idx, idx)] = True
    return S



def _same(a, b):
    """Equal to rounding: the coarse part is summed box by box, so its rounding depends on the boxes."""
    return np.allclose(a, b, rtol=0, atol=1e-13 * np.abs(b).max())

@FAST
@given(cfg=configs())
def test_no_coarse_and_coarse_only_remove_exactly_one_level(cfg):
    b, o, model = _pair(cfg, use_coarse=False)
    assert np.array_equal(o["local"], b["local"]) and not o["coarse"].any()
    assert np.allclose(model.dense().numpy(), b["local"], atol=1e-14)
    b, o, model = _pair(cfg, use_local=False)
    assert _same(o["coarse"], b["coarse"]) and not o["local"].any()
    assert np.allclose(model.dense().numpy(), b["coarse"], atol=1e-14)


@FAST
@given(cfg=configs())
def test_weighting_and_boolean_change_only_the_local_part_where_weights_differ(cfg):
    dec = Decomposition(cfg["problem"], cfg["spec"].N, cfg["spec"].delta)
    S = _support(dec)
    b, o, _ = _pair(cfg, weighting="left")
    assert _same(o["coarse"], b["coarse"])
    assert not (o["local"] - b["local"])[~S].any()
    assert np.abs(o["local"] - b["local"]).max() > 0
    b, o, _ = _pair(cfg, partition="boolean")
    assert _same(o["coarse"], b["coarse"])
    single = dec.multiplicity == 1          # both partitions weigh these nodes by 1
    diff = o["local"] - b["local"]
    assert np.abs(diff[np.ix_(single, single)]).max() < 1e-14
    assert np.abs(diff).max() > 0           # delta >= 1: the overlap nodes are weighted differently


@FAST
@given(cfg=configs())
def test_no_overlap_gives_block_diagonal_local_part_and_same_coarse(cfg):
    b, o, _ = _pair(cfg, delta=0)
    assert _same(o["coarse"], b["coarse"])
    blocks = _support(Decomposition(cfg["problem"], cfg["spec"].N, 0))
    assert not o["local"][~blocks].any()
    assert b["local"][~blocks].any()         # the overlapping baseline couples across interfaces


@FAST
@given(cfg=configs())
def test_nicolaides_changes_only_the_coarse_part(cfg):
    b, o, model = _pair(cfg, coarse="nicolaides")
    assert np.array_equal(o["local"], b["local"])
    P = model.structure.Phi.toarray()
    proj = P @ np.linalg.pinv(P)
    assert np.allclose(proj @ o["coarse"] @ proj, o["coarse"], atol=1e-12)   # range in span of weighted constants


@FAST
@given(dim=st.sampled_from([1, 2]), m=st.integers(2, 12), data=st.data())
def test_banded_lowrank_structure_and_count(dim, m, data):
    P = Problem((m,) * dim)
    b = data.draw(st.integers(0, m - 1))
    r = data.draw(st.integers(0, min(P.n, 6)))
    model = BandedLowRank(P, b, r, seed=data.draw(st.integers(0, 999)), init_scale=1.0)
    D = model.dense().numpy() / model.weight
    low = model.U.detach().numpy() @ model.V.detach().numpy().T
    x = np.indices(P.shape).reshape(dim, -1).T
    far = np.abs(x[:, None, :] - x[None, :, :]).max(axis=2) > b      # max_k |p_k - q_k| > b
    assert np.abs((D - low)[far]).max(initial=0) < 1e-12
    assert model.num_parameters() == model.parameter_formula() == banded_lowrank_parameter_count(m, dim, b, r)
    f = torch.randn(4, P.n, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(model(f), (model.dense() @ f.T).T, atol=1e-12)


@pytest.mark.parametrize("problem, N", [(Problem(255), 8), (Problem((31, 31)), 4)])
def test_specs_differ_from_baseline_in_one_respect_and_fmm_matches_budget(problem, N):
    specs = ablation_specs(problem, N, 2, 4, Ns=(2,))
    base = specs["baseline"]
    for label, spec in specs.items():
        if label in ("baseline", "banded + low rank"):
            continue
        a, b = spec.to_dict(), base.to_dict()
        changed = {k for k in a if a[k] != b[k]}
        assert len(changed) == 1, (label, changed)
        spec.parameter_count(problem)                        # every variant fits the grid
    fmm = specs["banded + low rank"]
    assert isinstance(fmm, BandedSpec)
    target = base.build(problem).num_parameters()
    count = lambda bw: banded_lowrank_parameter_count(problem.m, problem.dim, bw, 2)  # noqa: E731
    got = fmm.build(problem).num_parameters()
    assert got == count(fmm.bandwidth)
    for neighbour in (fmm.bandwidth - 1, fmm.bandwidth + 1):     # no other half-width comes closer
        if 0 <= neighbour < problem.m:
            assert abs(got - target) <= abs(count(neighbour) - target)
    # 1D: n(2b+1) - b(b+1) + 2nr, so the count of b = 3, r = 2 on n = 100 gives back b = 3
    assert banded_lowrank_for_budget(Problem(100), 100 * 7 - 12 + 400, 2) == 3
    with pytest.raises(ValueError, match="bandwidth"):
        BandedLowRank(Problem(10), 10, 1)


@pytest.mark.parametrize("dim, m, N, K", [(1, 31, 4, 4), (2, 7, 2, 2)])
def test_run_ablations_small(dim, m, N, K):
    P = Problem((m,) * dim)
    base = TrainConfig(model=GlobalSpec(1), n=P.n, dim=dim, K=K, samples=8, test_samples=8, validation_samples=8,
                       epochs=5, eval_points=2)
    specs = {k: v for k, v in ablation_specs(P, N, 1, 2, deltas=(), Ns=()).items()
             if k in ("baseline", "no coarse", "banded + low rank")}
    rows = run_ablations(specs, base, {"lr": [1e-2], "init_scale": [0.1]}, seeds=(0, 1), workers=1)
    assert [r["label"] for r in rows] == list(specs)
    for r in rows:
        assert r["operator_error_min"] <= r["operator_error_mean"] <= r["operator_error_max"]
        assert np.isfinite(r["error_noise_mean"]) and r["seeds"] == 2 and r["spec"] == specs[r["label"]]
        assert r["params"] == specs[r["label"]].parameter_count(P)


def test_compare_to_baseline_sorts_the_variants_by_their_ratio():
    rows = [{"label": lab, "operator_error_mean": v} for lab, v in
            (("baseline", 0.1), ("no coarse", 0.16), ("coarse only", 0.05), ("δ = 4", 0.12), ("N = 16", 0.07))]
    c = compare_to_baseline(rows, factor=1.5)
    assert c["ratio"] == pytest.approx({"base": 1.0, "nocoarse": 1.6, "coarseonly": 0.5, "delta4": 1.2, "N16": 0.7})
    assert c["worse"] == ["no coarse"] and c["better"] == ["coarse only"]      # 0.7 > 1/1.5: not better
    assert ablation_key("banded + low rank") == "fmm"
    with pytest.raises(ValueError, match="baseline"):
        compare_to_baseline(rows[1:])
