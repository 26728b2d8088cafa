"""Ablation switches change exactly the part they name; the banded-plus-low-rank baseline."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from ddlib.ablations import ablation_specs, banded_lowrank_for_budget, operator_parts, run_ablations
from ddlib.attention import BandedLowRank, DDAttention, banded_lowrank_parameter_count
from ddlib.decomposition import Decomposition
from ddlib.models import BandedSpec, DDSpec, GlobalSpec
from ddlib.training import TrainConfig


def copy_shared_factors(src, dst):
    """Copy every parameter of ``src`` into the parameter of ``dst`` with the same name and shape."""
    mine = dict(dst.named_parameters())
    with torch.no_grad():
        for name, p in src.named_parameters():
            if name in mine and mine[name].shape == p.shape:
                mine[name].copy_(p)

FAST = settings(max_examples=25, deadline=None)


@st.composite
def configs(draw):
    N = draw(st.integers(2, 6))
    m = draw(st.integers(3, 8))
    delta = draw(st.integers(1, m - 1))
    return dict(dec=Decomposition(N * m - 1, N, delta), r=draw(st.integers(1, m)), seed=draw(st.integers(0, 9999)))


def _pair(cfg, dec=None, **switch):
    base = DDAttention(cfg["dec"], min(cfg["r"], cfg["dec"].n_max), seed=cfg["seed"], init_scale=0.7)
    dec = dec or cfg["dec"]
    other = DDAttention(dec, min(cfg["r"], dec.n_max), seed=cfg["seed"] + 1, init_scale=0.7, **switch)
    copy_shared_factors(base, other)
    return operator_parts(base), operator_parts(other), other


def _support(dec):
    S = np.zeros((dec.n, dec.n), dtype=bool)
    for idx in dec.indices:
        S[np.ix_(idx, idx)] = True
    return S


@FAST
@given(cfg=configs())
def test_no_coarse_and_coarse_only_remove_exactly_one_level(cfg):
    b, o, model = _pair(cfg, use_coarse=False)
    assert np.array_equal(o["local"], b["local"]) and not o["coarse"].any()
    assert np.allclose(model.dense().numpy(), b["local"] + b["coarse"] - b["coarse"], atol=1e-14)
    b, o, model = _pair(cfg, use_local=False)
    assert np.array_equal(o["coarse"], b["coarse"]) and not o["local"].any()
    assert np.allclose(model.dense().numpy(), b["coarse"], atol=1e-14)


@FAST
@given(cfg=configs())
def test_weighting_and_boolean_change_only_the_local_part_where_weights_differ(cfg):
    dec = cfg["dec"]
    S = _support(dec)
    b, o, _ = _pair(cfg, weighting="left")
    assert np.array_equal(o["coarse"], b["coarse"])
    assert not (o["local"] - b["local"])[~S].any()
    assert np.abs(o["local"] - b["local"]).max() > 0
    b, o, _ = _pair(cfg, partition="boolean")
    assert np.array_equal(o["coarse"], b["coarse"])
    single = dec.multiplicity == 1          # both partitions weigh these nodes by 1
    diff = o["local"] - b["local"]
    assert np.abs(diff[np.ix_(single, single)]).max() < 1e-14
    assert np.abs(diff).max() > 0           # delta >= 1: the overlap nodes are weighted differently


@FAST
@given(cfg=configs())
def test_no_overlap_gives_block_diagonal_local_part_and_same_coarse(cfg):
    dec0 = Decomposition(cfg["dec"].n, cfg["dec"].N, 0)
    b, o, _ = _pair(cfg, dec=dec0)
    assert np.array_equal(o["coarse"], b["coarse"])
    blocks = np.zeros((dec0.n, dec0.n), dtype=bool)
    for lo, hi in dec0.block_bounds:
        blocks[lo:hi, lo:hi] = True
    assert not o["local"][~blocks].any()
    assert b["local"][~blocks].any()         # the overlapping baseline couples across interfaces


@FAST
@given(cfg=configs())
def test_nicolaides_changes_only_the_coarse_part(cfg):
    b, o, model = _pair(cfg, coarse="nicolaides")
    assert np.array_equal(o["local"], b["local"])
    P = cfg["dec"].coarse_space("nicolaides").toarray()
    proj = P @ np.linalg.pinv(P)
    assert np.allclose(proj @ o["coarse"] @ proj, o["coarse"], atol=1e-12)   # range in span of weighted constants


@FAST
@given(n=st.integers(2, 60), data=st.data())
def test_banded_lowrank_structure_and_count(n, data):
    b = data.draw(st.integers(0, n - 1))
    r = data.draw(st.integers(0, n))
    model = BandedLowRank(n, b, r, seed=data.draw(st.integers(0, 999)), init_scale=1.0)
    D = model.dense().numpy() / model.h
    low = model.U.detach().numpy() @ model.V.detach().numpy().T
    i, j = np.indices((n, n))
    assert np.abs((D - low)[np.abs(i - j) > b]).max(initial=0) < 1e-12
    assert model.num_parameters() == model.parameter_formula() == banded_lowrank_parameter_count(n, b, r)
    f = torch.randn(4, n, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(model(f), (model.dense() @ f.T).T, atol=1e-12)


def test_specs_differ_from_baseline_in_one_respect_and_fmm_matches_budget():
    specs = ablation_specs(255, 8, 2, 4)
    base = specs["baseline"]
    for label, spec in specs.items():
        if label in ("baseline", "banded + low rank"):
            continue
        a, b = spec.to_dict(), base.to_dict()
        changed = {k for k in a if a[k] != b[k]}
        assert len(changed) == 1, (label, changed)
    fmm = specs["banded + low rank"]
    assert isinstance(fmm, BandedSpec)
    target = base.build(255).num_parameters()
    got = fmm.build(255).num_parameters()
    assert abs(got - target) <= 2 * 255  # one more band diagonal would change the count by about 2n
    assert banded_lowrank_for_budget(100, banded_lowrank_parameter_count(100, 3, 2), 2) == 3
    with pytest.raises(ValueError, match="bandwidth"):
        BandedLowRank(10, 10, 1)


def test_run_ablations_small():
    base = TrainConfig(model=GlobalSpec(1), n=31, K=4, samples=8, test_samples=8, validation_samples=8, epochs=5,
                       eval_points=2)
    specs = {k: v for k, v in ablation_specs(31, 4, 1, 2, deltas=(), Ns=()).items()
             if k in ("baseline", "no coarse", "banded + low rank")}
    rows = run_ablations(specs, base, {"lr": [1e-2], "init_scale": [0.1]}, seeds=(0, 1), workers=1)
    assert [r["label"] for r in rows] == list(specs)
    for r in rows:
        assert r["operator_error_min"] <= r["operator_error_mean"] <= r["operator_error_max"]
        assert np.isfinite(r["error_noise_mean"]) and r["seeds"] == 2 and r["spec"] == specs[r["label"]]
