"""The one trainer: seeded and reproducible, clear errors, a checked atomic cache, time to target."""
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

from ddlib import cache
from ddlib.data import make_datasets
from ddlib.models import DDSpec, GlobalSpec
from ddlib.training import (HISTORY_KEYS, TrainConfig, TrainResult, TrainingDiverged, eval_epochs, run_key,
                            time_to_target, train)

SMALL = dict(n=31, K=4, samples=16, validation_samples=8, test_samples=8, epochs=40, eval_points=6)


def _strip_seconds(hist):
    return {k: v for k, v in hist.items() if k != "seconds"}


@pytest.mark.parametrize("spec", [GlobalSpec(4), DDSpec(4, 1, 2), DDSpec(4, 1, 2, symmetric=True, shared=True)])
def test_same_seed_same_history_different_seed_differs(spec):
    cfg = TrainConfig(model=spec, lr=1e-2, batch_size=8, **SMALL)
    a = train(cfg, cache_results=False)
    b = train(cfg, cache_results=False)
    c = train(cfg.replace(seed=1), cache_results=False)
    assert _strip_seconds(a.history) == _strip_seconds(b.history)
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(p, q)
    assert a.history["loss"] != c.history["loss"]


def test_history_layout_and_loss_decreases():
    cfg = TrainConfig(model=DDSpec(4, 1, 3), lr=3e-2, **{**SMALL, "epochs": 150})
    r = train(cfg, cache_results=False)
    h = r.history
    assert h["epoch"] == eval_epochs(150, 6).tolist()
    assert len(h["loss"]) == 150
    for k in HISTORY_KEYS:
        assert len(h[k]) == len(h["epoch"]), k
    assert np.all(np.diff(h["seconds"]) >= 0)
    assert h["train_loss"][-1] < 0.05 * h["train_loss"][0]
    # the recorded errors are the mean per-sample relative errors of the final model on independent draws
    sets = make_datasets(31, 16, 4, 0, test_samples=8, validation_samples=8)
    assert not np.allclose(sets["validation"].f, sets["train"].f[:8])
    for name in ("in_band", "validation"):
        u = r.model(torch.as_tensor(sets[name].f)).detach().numpy()
        err = np.mean(np.linalg.norm(u - sets[name].u, axis=1) / np.linalg.norm(sets[name].u, axis=1))
        assert h[f"error_{name}"][-1] == pytest.approx(err, rel=1e-12)
    assert r.num_parameters == cfg.model.parameter_count(31)


@pytest.mark.parametrize("data", ["noise", "smooth"])
def test_other_training_distributions_train_and_validate_on_their_own_draws(data):
    r = train(TrainConfig(model=GlobalSpec(4), data=data, **SMALL), cache_results=False)
    sets = make_datasets(31, 16, 4, 0, test_samples=8, validation_samples=8, training=data)
    assert sets["train"].params["training"] == data
    assert not np.allclose(sets["train"].f, make_datasets(31, 16, 4, 0, test_samples=8)["train"].f)
    assert np.isfinite(r.final["error_validation"])


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


def test_cache_roundtrip_is_atomic_exact_and_follows_the_umask(cache_in_tmp):
    cfg = TrainConfig(model=DDSpec(4, 1, 2), **SMALL)
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
    assert train(b).cached and r.num_parameters == b.model.parameter_count(31)


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


def test_operator_error_is_recorded_at_the_end_only_above_the_dense_limit():
    r = train(TrainConfig(model=GlobalSpec(2), n=1023, K=4, samples=8, validation_samples=4, test_samples=4,
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
