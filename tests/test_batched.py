"""The batched trainer: a batch of runs gives each run the history and the final model that training it alone gives
(to rounding), for global and DD models in 1D and 2D, the preconditioner's class, mini-batches and both batched
optimizers; a diverging member leaves the others undisturbed and is reported as train reports it; a sweep stores
every run of a batch under its own key, forms its batches from the configs alone and gives the same numbers on any
number of workers; the stacked optimizer is torch's Adam and heavy-ball SGD, slice by slice."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from ddlib import cache
from ddlib.batched import BATCH_MEMBERS, StackedOptimizer, batch_key, plan_batches, train_batch
from ddlib.models import BandedSpec, DDSpec, GlobalSpec
from ddlib.preconditioning import preconditioner_config
from ddlib.sweep import run_sweep
from ddlib.training import MOMENTUM, HISTORY_KEYS, TrainConfig, TrainingDiverged, load_cached, run_key, train

SMALL = dict(n=63, K=8, samples=16, validation_samples=8, test_samples=8, epochs=25, eval_points=5)
SMALL_2D = dict(SMALL, n=15 * 15, dim=2, K=4)
#: Relative agreement of a batched run with the same run alone: rounding, grown over a few dozen steps.
RTOL = 1e-10


def _knobs(base, diverging=False):
    """Members that differ in every batched knob: optimizer, learning rate, schedule, initial scale and seed."""
    out = [base.replace(optimizer=o, lr=lr, schedule=sc, init_scale=i, seed=s)
           for (o, lr, sc), i, s in zip([("adam", 1e-2, "cosine"), ("gd", 3e-2, "constant"), ("adam", 3e-3, "constant"),
                                         ("gd", 1e-2, "cosine")], (0.1, 0.03, 0.1, 0.01), (0, 1, 1, 0))]
    return out + [base.replace(lr=1e6, seed=2)] if diverging else out


def _close(a, b, rtol=RTOL):
    """Histories (all columns but seconds) and final parameters agree to ``rtol``, relative to each column's scale."""
    assert set(a.history) == set(b.history)
    for k in a.history:
        if k == "seconds":
            continue
        x, y = np.asarray(a.history[k], float), np.asarray(b.history[k], float)
        assert x.shape == y.shape and np.array_equal(np.isnan(x), np.isnan(y)), k
        scale = np.nanmax(np.abs(y)) if np.isfinite(y).any() else 1.0
        assert np.nanmax(np.abs(x - y), initial=0.0) <= rtol * scale, k
    sa, sb = a.model.state_dict(), b.model.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.allclose(sa[k], sb[k], rtol=0, atol=rtol * float(sb[k].abs().max())), k


CASES = {
    "global 1D": TrainConfig(model=GlobalSpec(4), **SMALL),
    "DD 1D": TrainConfig(model=DDSpec(8, 1, 2), **SMALL),
    "DD 1D mini-batch": TrainConfig(model=DDSpec(8, 1, 2), batch_size=6, **SMALL),
    "global 2D": TrainConfig(model=GlobalSpec(3), **SMALL_2D),
    "DD 2D": TrainConfig(model=DDSpec(4, 1, 2, partition="ramp"), **SMALL_2D),
    "banded 1D": TrainConfig(model=BandedSpec(2, 2), **SMALL),
    "preconditioner": preconditioner_config(16, 1, 2, n_train=63, samples=8, epochs=15),
}


@pytest.mark.parametrize("name", list(CASES))
def test_a_batch_gives_every_run_its_history_and_model_alone(name):
    configs = _knobs(CASES[name], diverging=name != "preconditioner")  # its loss is bounded: it cannot diverge
    batched = train_batch(configs)
    for config, got in zip(configs, batched):
        try:
            alone = train(config, cache_results=False)
        except TrainingDiverged as exc:
            assert isinstance(got, TrainingDiverged) and str(got) == str(exc)
            continue
        assert got.timing == {"mode": "batched", "members": len(configs)} and alone.timing == {"mode": "solo"}
        assert got.key == run_key(config) and got.num_parameters == alone.num_parameters
        _close(got, alone)
        sec = np.asarray(got.history["seconds"])
        assert sec[0] == 0 and np.all(np.diff(sec) >= 0)


def test_a_diverging_member_leaves_the_others_undisturbed():
    """The same members with and without one that diverges at once: equal histories and models, to rounding; the
    diverged member is the TrainingDiverged that train raises, message and all."""
    base = CASES["DD 1D"]
    calm = _knobs(base)
    storm = calm[:2] + [base.replace(lr=1e8, seed=2)] + calm[2:]
    with_it, without = train_batch(storm), train_batch(calm)
    assert isinstance(with_it[2], TrainingDiverged)
    with pytest.raises(TrainingDiverged) as info:
        train(storm[2], cache_results=False)
    assert str(with_it[2]) == str(info.value)
    for a, b in zip(with_it[:2] + with_it[3:], without):
        _close(a, b)


def test_members_must_be_compatible():
    base = CASES["global 1D"]
    with pytest.raises(ValueError, match="compatible"):
        train_batch([base, base.replace(epochs=10)])
    with pytest.raises(ValueError, match="compatible"):
        train_batch([base.replace(optimizer="lbfgs")])
    assert batch_key(base.replace(lr=1.0, seed=3, optimizer="gd")) == batch_key(base)
    assert batch_key(base.replace(max_seconds=1.0)) is None


def test_batches_are_a_function_of_the_configs_alone():
    """Compatible runs in order of first appearance, split evenly: 12 runs at most 8 a batch are two batches of 6;
    L-BFGS alone; nothing else (executor, workers) enters."""
    base, other = CASES["global 1D"], CASES["DD 1D"]
    configs = ([base.replace(seed=s) for s in range(11)] + [base.replace(optimizer="lbfgs")]
               + [other.replace(lr=lr) for lr in (1e-2, 1e-1)] + [base.replace(seed=99)])
    assert plan_batches(configs, members=8) == [list(range(6)), [6, 7, 8, 9, 10, 14], [11], [12, 13]]
    assert plan_batches(configs, members=BATCH_MEMBERS) == [[*range(11), 14], [11], [12, 13]]


def test_a_sweep_caches_each_run_of_a_batch_under_its_own_key(cache_in_tmp):
    configs = _knobs(CASES["global 1D"], diverging=True)
    out = run_sweep(configs, workers=1)
    assert [o.diverged for o in out] == [False] * 4 + [True]
    for c, o in zip(configs[:4], out):
        key = run_key(c)
        assert o.result.key == key and cache.has_entry(key)
        hit = load_cached(c, key)
        assert hit.timing == {"mode": "batched", "members": 5}
        for k in HISTORY_KEYS:
            assert np.array_equal(np.asarray(hit.history[k], float), np.asarray(o.result.history[k], float),
                                  equal_nan=True)
    again = run_sweep(configs, workers=1)
    assert all(o.result.cached for o in again[:4])


def test_a_sweep_gives_the_same_numbers_on_any_number_of_workers():
    configs = [CASES["DD 1D"].replace(seed=s, lr=lr) for s in (0, 1) for lr in (1e-2, 3e-2)] + \
        [CASES["global 2D"].replace(seed=s) for s in (0, 1)] + [CASES["global 1D"].replace(optimizer="lbfgs", lr=0.5)]
    one, two = (run_sweep(configs, workers=w, cache_results=False) for w in (1, 2))
    for a, b in zip(one, two):
        assert a.result.timing == b.result.timing
        for k in a.result.history:
            if k != "seconds":
                assert np.array_equal(np.asarray(a.result.history[k], float), np.asarray(b.result.history[k], float),
                                      equal_nan=True), k


@settings(max_examples=15, deadline=None)
@given(kinds=st.lists(st.sampled_from(["adam", "gd"]), min_size=1, max_size=4),
       lrs=st.lists(st.floats(1e-4, 1.0), min_size=4, max_size=4), steps=st.integers(1, 6),
       seed=st.integers(0, 2**16))
def test_the_stacked_optimizer_is_torchs_adam_and_heavy_ball_slice_by_slice(kinds, lrs, steps, seed):
    """Random gradients, one optimizer and learning rate per member: every slice follows what torch.optim.Adam or
    torch.optim.SGD(momentum=MOMENTUM) does to that member alone."""
    g = torch.Generator().manual_seed(seed)
    S = len(kinds)
    stacked = {"a": torch.randn(S, 5, 3, generator=g, dtype=torch.float64),
               "b": torch.randn(S, generator=g, dtype=torch.float64)}
    alone = [{k: torch.nn.Parameter(v[j].clone()) for k, v in stacked.items()} for j in range(S)]
    opts = [torch.optim.Adam(p.values(), lr=lrs[j]) if kinds[j] == "adam" else
            torch.optim.SGD(p.values(), lr=lrs[j], momentum=MOMENTUM) for j, p in enumerate(alone)]
    opt = StackedOptimizer(kinds, stacked)
    for _ in range(steps):
        grads = {k: torch.randn(v.shape, generator=g, dtype=torch.float64) for k, v in stacked.items()}
        opt.step(stacked, grads, lrs[:S])
        for j, (p, o) in enumerate(zip(alone, opts)):
            for k in p:
                p[k].grad = grads[k][j].clone()
            o.step()
    for j, p in enumerate(alone):
        for k in p:
            assert torch.allclose(stacked[k][j], p[k].detach(), rtol=1e-14, atol=1e-15)


def test_a_batch_that_raises_is_rerun_one_run_at_a_time_so_the_others_finish():
    base = CASES["global 1D"]
    good, bad = base, base.replace(seed=1)
    object.__setattr__(bad, "seed", -1)  # passes here, fails in the worker (a negative seed), batched with `good`
    assert plan_batches([good, bad]) == [[0, 1]]
    ok, failed = run_sweep([good, bad], workers=1, errors="return", cache_results=False)
    assert ok.ok and ok.result.timing == {"mode": "solo"}
    assert not failed.ok and not failed.diverged and "seed" in failed.error
