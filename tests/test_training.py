"""Training: seeded and reproducible, clear errors, atomic cache, fair learning-rate selection, time to target."""
import json

import numpy as np
import pytest
import torch

from ddlib.data import make_datasets
from ddlib.experiments import (ModelRuns, dd_spec, fair_comparison, global_spec, headline, model_parameters,
                               seed_band, summarize, time_to_target)
from ddlib.training import (TrainConfig, TrainResult, TrainingDiverged, build_model, cache_key, eval_epochs,
                            train)

SMALL = dict(n=31, K=4, samples=16, test_samples=8, epochs=40, eval_points=6)


@pytest.fixture(autouse=True)
def cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("DDLIB_CACHE", str(tmp_path / "cache"))
    yield tmp_path / "cache"


def _strip_seconds(hist):
    return {k: v for k, v in hist.items() if k != "seconds"}


@pytest.mark.parametrize("spec", [global_spec(4), dd_spec(4, 1, 2)])
def test_same_seed_same_history_different_seed_differs(spec):
    cfg = TrainConfig(model=spec, lr=1e-2, batch_size=8, **SMALL)
    a = train(cfg, cache=False)
    b = train(cfg, cache=False)
    c = train(cfg.replace(seed=1), cache=False)
    assert _strip_seconds(a.history) == _strip_seconds(b.history)
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(p, q)
    assert a.history["loss"] != c.history["loss"]


def test_history_layout_and_loss_decreases():
    cfg = TrainConfig(model=dd_spec(4, 1, 3), lr=3e-2, **{**SMALL, "epochs": 150})
    r = train(cfg, cache=False)
    h = r.history
    assert h["epoch"] == eval_epochs(150, 6).tolist()
    assert len(h["loss"]) == 150
    for k in ("seconds", "train_loss", "error_in_band", "error_out_of_band", "error_noise", "error_point_loads",
              "operator_error"):
        assert len(h[k]) == len(h["epoch"])
    assert np.all(np.diff(h["seconds"]) >= 0)
    assert h["train_loss"][-1] < 0.05 * h["train_loss"][0]
    # the recorded in-band error is the mean per-sample relative error of the final model
    sets = make_datasets(31, 16, 4, 0, test_samples=8)
    u = r.model(torch.as_tensor(sets["in_band"].f)).detach().numpy()
    err = np.mean(np.linalg.norm(u - sets["in_band"].u, axis=1) / np.linalg.norm(sets["in_band"].u, axis=1))
    assert h["error_in_band"][-1] == pytest.approx(err, rel=1e-12)
    assert r.num_parameters == model_parameters(cfg.model, 31)


def test_nan_in_data_is_a_clear_error():
    sets = make_datasets(31, 16, 4, 0, test_samples=8)
    f = sets["train"].f.copy()
    f[3, 5] = np.nan
    sets["train"] = type(sets["train"])(name="train", f=f, u=sets["train"].u, modes=(1, 4))
    with pytest.raises(ValueError, match=r"data\['train'\].f must be finite"):
        train(TrainConfig(model=global_spec(2), **SMALL), data=sets)


def test_diverging_learning_rate_is_a_clear_error():
    with pytest.raises(TrainingDiverged, match="lr = 1e\\+06"):
        train(TrainConfig(model=global_spec(4), lr=1e6, **SMALL), cache=False)


def test_cache_roundtrip_is_atomic_and_exact(cache_in_tmp):
    cfg = TrainConfig(model=dd_spec(4, 1, 2), **SMALL)
    a = train(cfg)
    files = sorted(p.name for p in cache_in_tmp.iterdir())
    assert files == sorted([f"{cache_key(cfg)}.json", f"{cache_key(cfg)}.pt"])  # no temporary files left behind
    b = train(cfg)
    assert not a.cached and b.cached
    assert b.history == json.loads(json.dumps(a.history))
    assert torch.equal(a.model.dense(), b.model.dense())
    assert cache_key(cfg) != cache_key(cfg.replace(lr=2e-3))
    # a broken entry is retrained, not trusted
    (cache_in_tmp / f"{cache_key(cfg)}.pt").write_bytes(b"garbage")
    assert not train(cfg).cached


def test_wall_clock_budget_stops_early():
    r = train(TrainConfig(model=global_spec(4), max_seconds=1e-9, **{**SMALL, "epochs": 10_000}), cache=False)
    assert r.history["epoch"][-1] == 1 and len(r.history["loss"]) == 1


def test_progress_bar_silent_when_not_a_terminal(capsys):
    train(TrainConfig(model=global_spec(2), **SMALL), cache=False)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("kwargs, match", [
    (dict(lr=0.0), "lr"), (dict(epochs=0), "epochs"), (dict(batch_size=99), "batch_size"),
    (dict(model={"kind": "mlp"}), "kind"), (dict(K=40), "K"), (dict(eval_points=1), "eval_points"),
])
def test_bad_config_raises_value_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{"model": global_spec(2), **SMALL, **kwargs})


def test_build_model_rejects_unknown_keys():
    with pytest.raises(ValueError, match="rank"):
        build_model({"kind": "global", "rank": 2, "N": 4}, 31)


def _fake(errors, epochs, seconds):
    cfg = TrainConfig(model=global_spec(1), **SMALL)
    hist = {"epoch": epochs, "seconds": seconds, "error_in_band": errors}
    return TrainResult(config=cfg, history=hist, model=None, num_parameters=0)


def test_time_to_target_interpolates_log_linearly():
    # error 1 at epoch 0 and 1e-2 at epoch 100: log-linear, so 1e-1 is reached at epoch 50 (second 5)
    r = _fake([1.0, 1e-2, 1e-3], [0, 100, 200], [0.0, 10.0, 20.0])
    assert time_to_target(r, 1e-1) == pytest.approx((50.0, 5.0))
    assert time_to_target(r, 1e-3) == pytest.approx((200.0, 20.0))
    assert np.isnan(time_to_target(r, 1e-4)[0])


def test_fair_comparison_picks_lowest_training_loss_and_survives_divergence():
    base = TrainConfig(model=global_spec(1), **SMALL)
    out = fair_comparison([global_spec(4), dd_spec(4, 1, 2)], base, lrs=[1e-3, 3e-2, 1e6], seeds=[0, 1, 2])
    for mr in out:
        assert isinstance(mr, ModelRuns) and len(mr.runs) == 3
        assert mr.lr_losses[1e6] == float("inf")
        assert mr.lr == min(mr.lr_losses, key=mr.lr_losses.get)
        assert [r.config.seed for r in mr.runs] == [0, 1, 2]
        assert all(r.config.lr == mr.lr for r in mr.runs)
        s = summarize(mr, target=0.5)
        assert s["error_in_band_min"] <= s["error_in_band_mean"] <= s["error_in_band_max"]
        grid, mean, lo, hi = seed_band(mr, x="seconds")
        assert np.all(lo <= mean * (1 + 1e-12)) and np.all(mean <= hi * (1 + 1e-12))
    h = headline(out[0], out[1], target=0.5)
    assert set(h) == {"params_global", "params_dd", "error_global", "error_dd", "operator_error_global",
                      "operator_error_dd", "epochs_to_target_global", "epochs_to_target_dd",
                      "seconds_to_target_global", "seconds_to_target_dd", "target", "seeds"}
    assert h["params_global"] == 2 * 31 * 4 and h["seeds"] == 3
