"""The one trainer in every dimension: seeded and reproducible, clear errors, a checked atomic cache, time to target; the
dimension is a field of the run, and every operator of a run (data, energy loss, solver steps, operator error) comes
from the run's problem."""
import json
import os
import signal
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

from ddlib import cache
from ddlib.attention import operator_error
from ddlib.coefficients import field
from ddlib.data import make_datasets
from ddlib.decomposition import Decomposition
from ddlib.models import DDSpec, GlobalSpec, spec_from_dict
from ddlib.problem import Problem
from ddlib.training import (HISTORY_KEYS, TrainConfig, TrainResult, TrainingDiverged, eval_epochs, run_key,
                            time_to_target, train)

SMALL = dict(n=31, K=4, samples=16, validation_samples=8, test_samples=8, epochs=40, eval_points=6)
#: Per dimension: a small run (1D n = 31; 2D a 7 x 7 grid, N = 2 boxes of H/h = 4) and a DD spec that fits it.
RUN = {1: (SMALL, DDSpec(4, 1, 2)),
       2: (dict(n=49, dim=2, K=2, samples=8, validation_samples=4, test_samples=4, epochs=25, eval_points=5),
           DDSpec(2, 1, 3))}


def _strip_seconds(hist):
    return {k: v for k, v in hist.items() if k != "seconds"}


@pytest.mark.parametrize("dim, spec", [(1, GlobalSpec(4)), (1, DDSpec(4, 1, 2)),
                                       (1, DDSpec(4, 1, 2, symmetric=True, shared=True)), (2, GlobalSpec(3)),
                                       (2, DDSpec(2, 1, 3)), (2, DDSpec(2, 1, 3, partition="ramp"))])
def test_same_seed_same_history_different_seed_differs(dim, spec):
    cfg = TrainConfig(model=spec, lr=1e-2, batch_size=4, **RUN[dim][0])
    a = train(cfg, cache_results=False)
    b = train(cfg, cache_results=False)
    c = train(cfg.replace(seed=1), cache_results=False)
    assert _strip_seconds(a.history) == _strip_seconds(b.history)
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(p, q)
    assert a.history["loss"] != c.history["loss"]


@pytest.mark.parametrize("dim, spec, epochs, drop", [(1, DDSpec(4, 1, 3), 150, 0.05), (2, DDSpec(2, 1, 3), 150, 0.2),
                                                     (2, GlobalSpec(3), 150, 0.5)])
def test_history_layout_loss_decreases_and_errors_are_those_of_the_final_model(dim, spec, epochs, drop):
    cfg = TrainConfig(model=spec, lr=3e-2, **{**RUN[dim][0], "epochs": epochs, "eval_points": 6})
    r = train(cfg, cache_results=False)
    h = r.history
    assert h["epoch"] == eval_epochs(epochs, 6).tolist()
    assert len(h["loss"]) == epochs
    for k in HISTORY_KEYS:
        assert len(h[k]) == len(h["epoch"]), k
    assert np.all(np.diff(h["seconds"]) >= 0)
    assert h["train_loss"][-1] < drop * h["train_loss"][0]
    # the recorded errors are the mean per-sample relative errors of the final model on independent draws
    sets = make_datasets(cfg.problem, cfg.samples, cfg.K, 0, test_samples=cfg.test_samples,
                         validation_samples=cfg.validation_samples)
    assert not np.allclose(sets["validation"].f, sets["train"].f[:cfg.validation_samples])
    for name in ("in_band", "out_of_band", "validation"):
        with torch.no_grad():
            u = r.model(torch.as_tensor(sets[name].f)).numpy()
        err = np.mean(np.linalg.norm(u - sets[name].u, axis=1) / np.linalg.norm(sets[name].u, axis=1))
        assert h[f"error_{name}"][-1] == pytest.approx(err, rel=1e-12)
    assert h["operator_error"][-1] == pytest.approx(operator_error(r.model.dense(), cfg.problem), rel=1e-10)
    assert r.num_parameters == cfg.model.parameter_count(cfg.problem)


@pytest.mark.parametrize("dim", [1, 2])
@pytest.mark.parametrize("data", ["noise", "smooth"])
def test_other_training_distributions_train_and_validate_on_their_own_draws(dim, data):
    kw = RUN[dim][0]
    r = train(TrainConfig(model=GlobalSpec(4), data=data, **kw), cache_results=False)
    P = Problem.from_size(kw["n"], dim)
    sets = make_datasets(P, kw["samples"], kw["K"], 0, test_samples=kw["test_samples"],
                         validation_samples=kw["validation_samples"], training=data)
    assert sets["train"].params["training"] == data
    assert not np.allclose(sets["train"].f, make_datasets(P, kw["samples"], kw["K"], 0)["train"].f)
    assert np.isfinite(r.final["error_validation"])


@pytest.mark.parametrize("shape", [(9,), (9, 9)])
@pytest.mark.parametrize("training", ["fourier", "noise", "smooth"])
def test_training_and_validation_sets_are_independent_draws_of_the_training_distribution(shape, training):
    P, K = Problem(shape), 2
    sets = make_datasets(P, 6, K, seed=4, training=training, validation_samples=3, test_samples=5)
    assert sets["train"].f.shape == (6, P.n) and sets["validation"].f.shape == (3, P.n)
    assert sets["in_band"].f.shape == (5, P.n)
    assert not np.allclose(sets["train"].f[:3], sets["validation"].f)
    assert sets["train"].params["training"] == training
    G = P.inverse()                                            # u = A^{-1} f to rounding for every set
    for d in sets.values():
        assert np.allclose(d.u, d.f @ G, rtol=1e-10, atol=1e-13 * np.abs(d.u).max())
    # the modes of the training distribution: the band, all modes, or white noise (no modes)
    expected = {"fourier": (1, K), "smooth": (1, P.m), "noise": None}[training]
    assert sets["train"].modes == sets["validation"].modes == expected
    if training == "noise":
        assert not np.allclose(sets["train"].f[:5], sets["noise"].f)     # not the noise test set


def test_training_leaves_global_random_state_alone():
    torch.manual_seed(123)
    np.random.seed(7)
    before_t, before_np = torch.get_rng_state().clone(), np.random.get_state()[1].copy()
    train(TrainConfig(model=DDSpec(4, 1, 2), batch_size=4, **SMALL), cache_results=False)
    assert torch.equal(torch.get_rng_state(), before_t)
    assert np.array_equal(np.random.get_state()[1], before_np)


def test_diverging_learning_rate_is_a_clear_error():
    with pytest.raises(TrainingDiverged, match="lr = 1e\\+06"):
        train(TrainConfig(model=GlobalSpec(4), lr=1e6, **SMALL), cache_results=False)


@pytest.mark.parametrize("dim", [1, 2])
def test_cache_roundtrip_is_atomic_exact_and_follows_the_umask(cache_in_tmp, dim):
    cfg = TrainConfig(model=RUN[dim][1], **RUN[dim][0])
    old = os.umask(0o022)
    try:
        a = train(cfg)
    finally:
        os.umask(old)
    key = run_key(cfg)
    files = sorted(p.name for p in cache_in_tmp.iterdir())
    assert files == sorted([f"{key}.json", f"{key}.pt"])  # no temporary files left behind
    for p in cache_in_tmp.iterdir():
        assert p.stat().st_mode & 0o777 == 0o644
    b = train(cfg)
    assert not a.cached and b.cached
    assert b.history == json.loads(json.dumps(a.history))
    assert torch.equal(a.model.dense(), b.model.dense())
    assert key != run_key(cfg.replace(lr=2e-3))


def _damage(kind, js, pt, cfg):
    if kind == "truncated":
        pt.write_bytes(pt.read_bytes()[:50])
    elif kind == "garbage":
        js.write_text("{not json")
    elif kind == "wrong structure":
        js.write_text(json.dumps({"config": cfg.to_dict(), "history": [1, 2, 3]}))
    elif kind == "wrong shapes":
        state = torch.load(pt, weights_only=True)
        state["K"] = torch.zeros(3, 3, dtype=torch.float64)
        torch.save(state, pt)
    elif kind == "nan weights":
        state = torch.load(pt, weights_only=True)
        state["K"][0, 0, 0] = float("nan")
        torch.save(state, pt)
    elif kind == "missing weights":
        pt.unlink()
    elif kind == "non-numeric history":  # valid JSON of the right layout that crashed every rerun
        record = json.loads(js.read_text())
        record["history"]["error_validation"][1] = "0.1"
        js.write_text(json.dumps(record))
    elif kind == "boolean parameter count":
        record = json.loads(js.read_text())
        record["num_parameters"] = True
        js.write_text(json.dumps(record))


@pytest.mark.parametrize("kind", ["truncated", "garbage", "wrong structure", "wrong shapes", "nan weights",
                                  "missing weights", "non-numeric history", "boolean parameter count"])
def test_damaged_entry_is_reported_moved_aside_and_recomputed(cache_in_tmp, kind):
    cfg = TrainConfig(model=DDSpec(4, 1, 2), **SMALL)
    a = train(cfg)
    key = run_key(cfg)
    js, pt = cache_in_tmp / f"{key}.json", cache_in_tmp / f"{key}.pt"
    _damage(kind, js, pt, cfg)
    with pytest.warns(cache.CacheWarning, match=str(js)):
        b = train(cfg)
    assert not b.cached and _strip_seconds(b.history) == _strip_seconds(a.history)
    assert len(list(cache_in_tmp.glob(f"{key}.json.*.bad"))) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert train(cfg).cached  # the recomputed entry is good


def test_float32_and_float64_runs_do_not_share_an_entry(cache_in_tmp):
    cfg = TrainConfig(model=GlobalSpec(2), **SMALL)
    a = train(cfg, dtype=torch.float64)
    b = train(cfg, dtype=torch.float32)
    assert not b.cached and next(b.model.parameters()).dtype == torch.float32
    assert run_key(cfg, torch.float32) != run_key(cfg, torch.float64)
    assert train(cfg, dtype=torch.float32).cached and train(cfg).cached
    assert a.key != b.key


def test_numpy_integers_and_integral_floats_are_normalised():
    assert run_key(TrainConfig(model=GlobalSpec(2), **{**SMALL, "n": 31.0})) == run_key(
        TrainConfig(model=GlobalSpec(2), **SMALL))
    a = TrainConfig(model=DDSpec(np.int64(4), np.int32(1), np.int64(2)), n=np.int64(31), K=4.0,
                    samples=np.int64(16), validation_samples=8, test_samples=8, epochs=np.int64(40),
                    eval_points=6)
    b = TrainConfig(model=DDSpec(4, 1, 2), **SMALL)
    assert a == b and run_key(a) == run_key(b) and type(a.n) is int and type(a.model.N) is int
    r = train(a)                       # trains and caches (the record is plain JSON)
    assert train(b).cached and r.num_parameters == b.model.parameter_count(Problem(31))


def test_a_2d_config_round_trips_and_is_another_run_than_the_1d_one():
    kw, spec = RUN[2]
    a = TrainConfig(model=DDSpec(np.int64(2), np.int32(1), np.int64(3)), **{**kw, "n": np.int64(49),
                                                                             "dim": np.int64(2), "K": 2.0})
    b = TrainConfig(model=spec, **kw)
    assert a == b and run_key(a) == run_key(b) and type(a.dim) is int and type(a.model.N) is int
    assert TrainConfig.from_dict(a.to_dict()) == a and a.to_dict()["dim"] == 2 and a.side == 7
    assert a.problem.shape == (7, 7)
    assert run_key(TrainConfig(model=GlobalSpec(3), **kw)) != run_key(
        TrainConfig(model=GlobalSpec(3), **{**kw, "dim": 1}))     # n = 49 in 1D is another problem


def test_kill_9_mid_run_leaves_no_entry(cache_in_tmp, tmp_path):
    cfg = TrainConfig(model=GlobalSpec(4), **{**SMALL, "epochs": 10**6, "eval_points": 2})
    script = tmp_path / "run.py"
    script.write_text("import sys, json\nfrom ddlib.training import TrainConfig, train\n"
                      "train(TrainConfig.from_dict(json.loads(sys.argv[1])))\n")
    proc = subprocess.Popen([sys.executable, str(script), json.dumps(cfg.to_dict())],
                            env={**os.environ, "DDLIB_CACHE": str(cache_in_tmp)})
    time.sleep(4.0)
    assert proc.poll() is None, "the run should still be training"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    key = run_key(cfg)
    assert not (cache_in_tmp / f"{key}.json").exists() and not (cache_in_tmp / f"{key}.pt").exists()


def test_wall_clock_budget_stops_early():
    r = train(TrainConfig(model=GlobalSpec(4), max_seconds=1e-9, **{**SMALL, "epochs": 10_000}), cache_results=False)
    assert r.history["epoch"][-1] == 1 and len(r.history["loss"]) == 1
    assert np.isfinite(r.history["operator_error"][-1])


@pytest.mark.parametrize("n, dim", [(1023, 1), (32 * 32, 2)])
def test_operator_error_is_recorded_at_the_end_only_above_the_dense_limit(n, dim):
    r = train(TrainConfig(model=GlobalSpec(2), n=n, dim=dim, K=4, samples=8, validation_samples=4, test_samples=4,
                          epochs=3, eval_points=3), cache_results=False)
    op = r.curve("operator_error")
    assert np.isnan(op[:-1]).all() and np.isfinite(op[-1])


def test_progress_bar_silent_when_not_a_terminal(capsys):
    train(TrainConfig(model=GlobalSpec(2), **SMALL), cache_results=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("kwargs, match", [
    (dict(lr=0.0), "lr"), (dict(epochs=0), "epochs"), (dict(batch_size=99), "batch_size"),
    (dict(model={"kind": "mlp"}), "kind"), (dict(K=40), "K"), (dict(eval_points=1), "eval_points"),
    (dict(n=63.5), "n must be an integer"), (dict(data="images"), "data must be one of"),
    (dict(init_scale=-1), "init_scale"), (dict(schedule="linear"), "schedule"), (dict(decay=float("nan")), "decay"),
    (dict(model=DDSpec(5, 1, 2)), "N must divide"), (dict(model="global"), "model must be"),
    (dict(n=50, dim=2), "n must be m\\*\\*2"), (dict(n=49, dim=2, K=4), "K must be an integer in \\[1, 3\\]"),
    (dict(n=49, dim=2, K=2, model=DDSpec(3, 1, 2)), "N must divide the m \\+ 1 = 8"),
    (dict(n=49, dim=2, K=2, model=DDSpec(2, 4, 2)), "delta must be an integer in \\[0, 3\\]"),
    (dict(dim=4), "dim must be one of 1, 2, 3"), (dict(n=49, dim=2, K=2, model=GlobalSpec(50)), "rank must be an integer in"),
    (dict(optimizer="sgd"), "optimizer must be one of"), (dict(optimizer="lbfgs", batch_size=4), "batch_size must be None"),
    (dict(loss="h1"), "loss must be one of"), (dict(solver="gmres"), "solver must be one of"),
    (dict(n=49, dim=2, coefficient={"kind": "marble"}), "kind must be one of"),
])
def test_bad_config_raises_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{"model": GlobalSpec(2), **SMALL, **kwargs})


def _fake(errors, epochs, seconds):
    cfg = TrainConfig(model=GlobalSpec(1), **SMALL)
    hist = {"epoch": epochs, "seconds": seconds, "error_in_band": errors}
    return TrainResult(config=cfg, history=hist, model=None, num_parameters=0)


def test_time_to_target_interpolates_log_linearly():
    # error 1 at epoch 0 and 1e-2 at epoch 100: log-linear, so 1e-1 is reached at epoch 50 (second 5)
    r = _fake([1.0, 1e-2, 1e-3], [0, 100, 200], [0.0, 10.0, 20.0])
    assert time_to_target(r, 1e-1) == pytest.approx((50.0, 5.0))
    assert time_to_target(r, 1e-3) == pytest.approx((200.0, 20.0))
    assert time_to_target(r, 2.0) == (0.0, 0.0)
    assert np.isnan(time_to_target(r, 1e-4)[0])
    with pytest.raises(ValueError, match="target"):
        time_to_target(r, 0.0)


def test_eval_epochs_with_two_points_ends_at_the_last_epoch():
    assert eval_epochs(300, 2).tolist() == [0, 300] and eval_epochs(1, 2).tolist() == [0, 1]


# ------------------------------------------------------------------------------------------------ specs, any dim
@settings(max_examples=30, deadline=None)
@given(dim=st.sampled_from([1, 2, 3]), N=st.sampled_from([1, 2, 4]), b=st.integers(3, 4), data=st.data(),
       coarse=st.sampled_from(["hat", "nicolaides", "spectral", "none"]),
       partition=st.sampled_from(["multiplicity", "ramp"]), use_coarse=st.booleans())
def test_dd_spec_counts_what_it_builds(dim, N, b, data, coarse, partition, use_coarse):
    N = min(N, 2) if dim == 3 else N                       # keep the 3D grids small
    m = N * b - 1                                          # N - 1 blocks of b nodes and one of b - 1 per axis
    P = Problem((m,) * dim)
    delta = data.draw(st.integers(0, b - 2))
    dec = Decomposition(P, N, delta)
    r = data.draw(st.integers(1, dec.n_max))
    per_box = data.draw(st.integers(1, min(2, int(dec.sizes.min())))) if coarse == "spectral" else 1
    N0 = {"hat": (N - 1) ** dim, "nicolaides": N**dim, "spectral": per_box * N**dim, "none": 0}[coarse]
    r0 = data.draw(st.one_of(st.none(), st.integers(1, max(N0, 1))))
    spec = DDSpec(N, delta, r, None if N0 == 0 else r0, partition=partition, coarse=coarse, per_box=per_box,
                  use_coarse=use_coarse)
    N0_used = N0 if use_coarse else 0
    r0_used = 0 if N0_used == 0 else (N0 if r0 is None else r0)
    # 2 r sum_i n_i + 2 N0 r0; per axis the boxes hold m + 2 delta (N - 1) nodes, and the boxes are their products
    expected = 2 * r * (m + 2 * delta * (N - 1)) ** dim + 2 * N0_used * r0_used
    assert spec.parameter_count(P) == expected
    model = spec.build(P, seed=3)
    assert model.num_parameters() == expected
    assert spec_from_dict(spec.to_dict()) == spec and spec.family == "dd"


@pytest.mark.parametrize("shape", [(9,), (9, 9), (5, 5, 5)])
def test_global_spec_carries_the_quadrature_weight_h_to_the_dim(shape):
    P = Problem(shape)
    model = GlobalSpec(5).build(P, seed=1)
    Q, K = model.factors()
    F = torch.randn(P.n, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    # u = h^d Q K^T f with h = 1/(m+1): the volume of a node, not 1/(n+1)
    assert torch.allclose(model.apply_columns(F), Q @ (K.T @ F) / (shape[0] + 1) ** len(shape), rtol=1e-14, atol=0)
    assert GlobalSpec(5).parameter_count(P) == model.num_parameters() == 2 * P.n * 5


@pytest.mark.parametrize("call, match", [
    (lambda: DDSpec(4, 1, 999).parameter_count(Problem((31, 31))), "local_rank must be an integer in \\[1, 100\\]"),
    (lambda: DDSpec(4, 1, 2, coarse_rank=10).parameter_count(Problem((31, 31))), "coarse_rank must be an integer in"),
    (lambda: DDSpec(4, 1, 2, partition="boolean", coarse="spectral").parameter_count(Problem((31, 31))),
     "partition must be 'multiplicity' or"),
    (lambda: DDSpec(1, 1, 2, use_local=False).parameter_count(Problem((7, 7))), "coarse must give a non-empty"),
    (lambda: DDSpec(4, 1, 2, coarse="gdsw"), "coarse must be one of"),
    (lambda: GlobalSpec(2).parameter_count(49), "problem must be a ddlib.problem.Problem"),
])
def test_bad_specs_raise_value_errors_naming_the_parameter(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ------------------------------------------------------------------------------------------------ issue 19
def _reference_prediction(M, A, F, steps, solver):
    """The solver_steps-th iterate for A X = F with the dense operator M as preconditioner, from x_0 = 0, in NumPy
    with the assembled sparse A (ddlib.training.predict's recurrences, written out independently)."""
    if solver == "richardson":
        X = M @ F
        for _ in range(steps - 1):
            X = X + M @ (F - A @ X)
        return X
    X, R = np.zeros_like(F), F.copy()
    Z = M @ R
    Pd, rz = Z, (R * Z).sum(0)
    for j in range(steps):
        AP = A @ Pd
        alpha = rz / (Pd * AP).sum(0)
        X = X + alpha * Pd
        if j + 1 < steps:
            R = R - alpha * AP
            Z = M @ R
            rz_new = (R * Z).sum(0)
            Pd, rz = (Z + (rz_new / rz) * Pd if solver == "pcg" else Z), rz_new
    return X


def _reference_loss(config, model, A):
    """The loss of the run's first step with A in place of the run's matrix: mean over the training samples of
    ||x_k - u||^2 / ||u||^2 in the norm of the loss (energy: e^T A e)."""
    d = make_datasets(config.problem, config.samples, config.K, config.seed, config.decay,
                      test_samples=config.test_samples, validation_samples=config.validation_samples)["train"]
    F, U = d.f.T, d.u.T
    E = _reference_prediction(model.dense().numpy(), A, F, config.solver_steps, config.solver) - U
    sq = (lambda R: (R * (A @ R)).sum(0)) if config.loss == "energy" else (lambda R: (R**2).sum(0))  # noqa: E731
    return float(np.mean(sq(E) / sq(U)))


@pytest.mark.parametrize("shape", [(7, 7), (7, 7, 7)], ids=["2D", "3D"])
@pytest.mark.parametrize("loss, steps, solver", [("energy", 1, "richardson"), ("l2", 3, "richardson"),
                                                 ("energy", 3, "richardson"), ("energy", 2, "pcg"),
                                                 ("l2", 2, "steepest_descent")])
def test_energy_loss_and_solver_steps_use_the_matrix_of_the_runs_problem(shape, loss, steps, solver):
    """Issue 19: 2D training with loss="energy" or solver_steps > 1 applied the 1D stencil. The first training loss
    (the loss of the trainer's step, and the evaluator's) must equal the loss computed with the assembled sparse
    matrix of the run's problem, here with a variable coefficient, and differ from the loss with any other matrix."""
    cfg = TrainConfig(model=DDSpec(2, 1, 3), n=int(np.prod(shape)), dim=len(shape), K=2, samples=6,
                      validation_samples=3, test_samples=3, epochs=1, eval_points=2, loss=loss, solver_steps=steps,
                      solver=solver, init_scale=1.0, coefficient={"kind": "lognormal", "sigma": 1.0})
    P = cfg.problem
    assert not P.constant and P.shape == shape
    r = train(cfg, cache_results=False)
    model = cfg.build_model()                                  # the initial model of the run
    A = P.matrix()
    X = np.random.default_rng(0).standard_normal((P.n, 4))    # the stencil the trainer applies is this matrix
    assert np.allclose(P.stencil(X), A @ X, rtol=1e-12, atol=1e-12 * abs(A).max())
    expected = _reference_loss(cfg, model, A)
    assert r.history["loss"][0] == pytest.approx(expected, rel=1e-9)            # the training step's loss
    assert r.history["train_loss"][0] == pytest.approx(expected, rel=1e-9)      # the evaluator's
    m = shape[0]
    wrong = {"constant coefficient": Problem(shape).matrix(),
             "the 1D stencil": Problem(P.n).matrix() * ((P.n + 1) / (m + 1)) ** 2,     # the same h, 1D neighbours
             "the 2D/3D stencil of the wrong field": Problem(shape, field(m, len(shape), {"kind": "channels",
                                                                                         "contrast": 100.0})).matrix()}
    for name, B in wrong.items():
        assert abs(_reference_loss(cfg, model, B) - expected) > 1e-4 * expected, name   # 1e5 x the tolerance
