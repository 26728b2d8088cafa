"""The one trainer in 2D: the dimension is a field of the run; specs build for it; data, errors, cache and sweeps are
the same code as in 1D."""
import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from ddlib.attention2d import DDAttention2D, operator_error_2d
from ddlib.data2d import TRAINING_KINDS_2D, make_datasets_2d
from ddlib.decomposition2d import Decomposition2D
from ddlib.models import DD2DSpec, DDSpec, GlobalSpec, grid_side, spec_from_dict
from ddlib.problem2d import eigenvectors_2d, inverse_2d
from ddlib.sweep import run_sweep
from ddlib.training import TrainConfig, run_key, train

M = 7                                   # 7 x 7 grid, n = 49: N = 2 boxes of H/h = 4
SMALL = dict(n=M * M, dim=2, K=2, samples=8, validation_samples=4, test_samples=4, epochs=25, eval_points=5)


def _strip_seconds(hist):
    return {k: v for k, v in hist.items() if k != "seconds"}


# ------------------------------------------------------------------------------------------------------- specs
@settings(max_examples=30, deadline=None)
@given(N=st.sampled_from([1, 2, 4]), b=st.integers(2, 4), data=st.data(),
       coarse=st.sampled_from(["hat", "nicolaides", "spectral", "none"]),
       partition=st.sampled_from(["multiplicity", "ramp"]), use_coarse=st.booleans())
def test_dd2d_spec_counts_what_it_builds(N, b, data, coarse, partition, use_coarse):
    m = N * b - 1
    delta = data.draw(st.integers(0, b - 1))
    dec = Decomposition2D(m, N, delta)
    r = data.draw(st.integers(1, dec.n_max))
    per_box = data.draw(st.integers(1, min(2, int(dec.sizes.min())))) if coarse == "spectral" else 1
    N0 = {"hat": (N - 1) ** 2, "nicolaides": N * N, "spectral": per_box * N * N, "none": 0}[coarse]
    r0 = data.draw(st.one_of(st.none(), st.integers(1, max(N0, 1))))
    spec = DD2DSpec(N, delta, r, None if N0 == 0 else r0, partition=partition, coarse=coarse, per_box=per_box,
                    use_coarse=use_coarse)
    N0_used = N0 if use_coarse else 0                       # 2 r sum_i n_i + 2 N0 r0, sum_i n_i = (m + 2 delta (N-1))^2
    r0_used = 0 if N0_used == 0 else (N0 if r0 is None else r0)
    expected = 2 * r * (m + 2 * delta * (N - 1)) ** 2 + 2 * N0_used * r0_used
    assert spec.parameter_count(m * m, dim=2) == expected
    model = spec.build(m * m, dim=2, seed=3)
    assert isinstance(model, DDAttention2D) and model.num_parameters() == expected
    assert spec_from_dict(spec.to_dict()) == spec and spec.family == "dd"


def test_global_spec_in_2d_uses_the_area_weight_h_squared():
    m = 9
    model = GlobalSpec(5).build(m * m, dim=2, seed=1)
    Q, K = model.factors()
    F = torch.randn(m * m, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    # u = h^2 Q K^T f with h = 1/(m+1): the 2D quadrature weight, not 1/(n+1)
    assert torch.allclose(model.apply_columns(F), Q @ (K.T @ F) / (m + 1) ** 2, rtol=1e-14, atol=0)
    one_d = GlobalSpec(5).build(m * m, seed=1)
    assert torch.allclose(one_d.apply_columns(F), Q @ (K.T @ F) / (m * m + 1), rtol=1e-14, atol=0)
    assert GlobalSpec(5).parameter_count(m * m, dim=2) == model.num_parameters() == 2 * m * m * 5


@pytest.mark.parametrize("call, match", [
    (lambda: GlobalSpec(2).build(50, dim=2), "n must be a perfect square"),
    (lambda: DDSpec(4, 1, 2).build(31 * 31, dim=2), "dim must be one of \\(1,\\).*DD2DSpec"),
    (lambda: DD2DSpec(4, 1, 2).parameter_count(31 * 31, dim=1), "dim must be one of \\(2,\\)"),
    (lambda: GlobalSpec(2).parameter_count(49, dim=3), "dim must be one of"),
    (lambda: DD2DSpec(4, 1, 999).parameter_count(31 * 31), "local_rank must be an integer in \\[1, 100\\]"),
    (lambda: DD2DSpec(4, 1, 2, coarse_rank=10).parameter_count(31 * 31), "coarse_rank must be an integer in"),
    (lambda: DD2DSpec(4, 1, 2, partition="boolean", coarse="spectral"), "partition must be 'multiplicity' or"),
    (lambda: DD2DSpec(1, 1, 2, use_local=False).parameter_count(49), "coarse must give a non-empty"),
    (lambda: DD2DSpec(4, 1, 2, coarse="gdsw"), "coarse must be one of"),
    (lambda: grid_side(10, 2), "n must be a perfect square"),
])
def test_bad_specs_raise_value_errors_naming_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------------------------------------------- data
@pytest.mark.parametrize("training", TRAINING_KINDS_2D)
def test_2d_training_and_validation_sets_are_independent_draws_of_the_training_distribution(training):
    m, K = 9, 2
    sets = make_datasets_2d(m, 6, K, seed=4, training=training, validation_samples=3, test_samples=5)
    assert sets["train"].f.shape == (6, m * m) and sets["validation"].f.shape == (3, m * m)
    assert sets["in_band"].f.shape == (5, m * m)
    assert not np.allclose(sets["train"].f[:3], sets["validation"].f)
    assert sets["train"].params["training"] == training
    # u = A^{-1} f to rounding for every set
    G = inverse_2d(m)
    for d in sets.values():
        assert np.allclose(d.u, d.f @ G, rtol=1e-10, atol=1e-13 * np.abs(d.u).max())
    # the modes of the training distribution: the square band, all modes, or white noise (no modes)
    expected = {"fourier": (1, K), "smooth": (1, m), "noise": None}[training]
    assert sets["train"].modes == sets["validation"].modes == expected
    if training == "noise":
        assert not np.allclose(sets["train"].f[:5], sets["noise"].f)     # not the noise test set


def test_smooth_2d_coefficients_decay_like_the_mode_length_squared():
    from ddlib.data import DATASETS, SMOOTH_DECAY
    from ddlib.data2d import band_modes, make_dataset_2d
    m = 8
    d = make_dataset_2d("train", m, 3, 2, seed=5, training="smooth")
    j, k = band_modes(1, m)
    a = np.random.default_rng([5, DATASETS.index("train")]).standard_normal((3, j.size))
    coeff = a * np.hypot(j, k) ** -SMOOTH_DECAY
    assert np.allclose(d.f, coeff @ eigenvectors_2d(m, j, k).T, atol=1e-12)


# ------------------------------------------------------------------------------------------------------- training
@pytest.mark.parametrize("spec", [GlobalSpec(3), DD2DSpec(2, 1, 3), DD2DSpec(2, 1, 3, partition="multiplicity")])
def test_2d_training_is_reproducible_and_cached(spec):
    cfg = TrainConfig(model=spec, lr=3e-2, **SMALL)
    a = train(cfg)
    b = train(cfg)
    c = train(cfg.replace(seed=1), cache_results=False)
    assert not a.cached and b.cached and a.key == b.key == run_key(cfg)
    assert _strip_seconds(train(cfg, cache_results=False).history) == _strip_seconds(a.history)
    assert a.history["loss"] != c.history["loss"]
    assert torch.equal(a.model.dense(), b.model.dense())
    assert a.num_parameters == spec.parameter_count(M * M, dim=2)
    assert a.history["loss"][-1] < a.history["loss"][0]
    # the recorded errors are those of the final model: per-sample relative errors and the 2D operator error
    sets = make_datasets_2d(M, 8, 2, 0, test_samples=4, validation_samples=4)
    with torch.no_grad():
        u = a.model(torch.as_tensor(sets["out_of_band"].f)).numpy()
    err = np.mean(np.linalg.norm(u - sets["out_of_band"].u, axis=1) / np.linalg.norm(sets["out_of_band"].u, axis=1))
    assert a.final["error_out_of_band"] == pytest.approx(err, rel=1e-12)
    assert a.final["operator_error"] == pytest.approx(operator_error_2d(a.model.dense(), M), rel=1e-10)


def test_2d_config_round_trips_and_normalises_numpy_integers():
    a = TrainConfig(model=DD2DSpec(np.int64(2), np.int32(1), np.int64(3)), n=np.int64(49), dim=np.int64(2),
                    K=2.0, samples=np.int64(8), validation_samples=4, test_samples=4, epochs=25, eval_points=5)
    b = TrainConfig(model=DD2DSpec(2, 1, 3), **SMALL)
    assert a == b and run_key(a) == run_key(b) and type(a.dim) is int and type(a.model.N) is int
    assert TrainConfig.from_dict(a.to_dict()) == a and a.to_dict()["dim"] == 2 and a.side == 7
    assert run_key(TrainConfig(model=GlobalSpec(3), **SMALL)) != run_key(
        TrainConfig(model=GlobalSpec(3), **{**SMALL, "dim": 1}))     # n = 49 in 1D is another problem


def test_sweeps_run_2d_configs_unchanged():
    configs = [TrainConfig(model=s, lr=lr, **SMALL) for s in (GlobalSpec(2), DD2DSpec(2, 1, 2)) for lr in (1e-2, 1e6)]
    serial = run_sweep(configs, workers=1, errors="return", cache_results=False)
    procs = run_sweep(configs, workers=2, errors="return")
    assert [o.ok for o in serial] == [o.ok for o in procs] == [True, False, True, False]
    for x, y in zip(serial, procs):
        if x.ok:
            assert _strip_seconds(x.result.history) == _strip_seconds(y.result.history)
    again = run_sweep(configs[::2], workers=2)
    assert all(o.result.cached for o in again)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=50), "n must be a perfect square"),
    (dict(K=4), "K must be an integer in \\[1, 3\\]"),
    (dict(model=DD2DSpec(3, 1, 2)), "N must divide m \\+ 1 = 8"),
    (dict(model=DD2DSpec(2, 4, 2)), "delta must be an integer in \\[0, 3\\]"),
    (dict(model=DDSpec(2, 1, 2)), "dim must be one of \\(1,\\)"),
    (dict(dim=3), "dim must be"),
    (dict(model=DD2DSpec(2, 1, 2), dim=1), "dim must be one of \\(2,\\)"),
    (dict(model=GlobalSpec(50)), "rank must be an integer in \\[1, 49\\]"),
])
def test_bad_2d_configs_raise_value_errors_naming_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{"model": GlobalSpec(2), **SMALL, **kwargs})
