"""The tuned protocol: every model searched the same way, chosen on validation data only."""
import numpy as np
import pytest

import ddlib.training as training
from ddlib.data import TEST_SETS, Dataset
from ddlib.experiments import (EXTEND_STEPS, edge_steps, grid_points, headline, seed_band, select, summarize,
                               summary_table, time_to_target_curve, tuned_comparison)
from ddlib.models import DDSpec, GlobalSpec
from ddlib.training import TrainConfig, train

SMALL = dict(n=31, K=4, samples=16, validation_samples=8, test_samples=8, epochs=30, eval_points=5)
GRID = {"lr": [3e-3, 3e-2, 1e6], "init_scale": [0.01, 0.3]}


def test_every_model_gets_the_same_search_and_the_seed_mean_best_finalist():
    base = TrainConfig(model=GlobalSpec(1), **SMALL)
    out = tuned_comparison([GlobalSpec(4), DDSpec(4, 1, 2)], base, GRID, seeds=[0, 1, 2], workers=1, extend=False)
    for sel in out:
        assert [{k: r[k] for k in GRID} for r in sel.grid] == grid_points(GRID)
        assert all(r["diverged"] for r in sel.grid if r["lr"] == 1e6)
        # the finalists are the three best points of the first seed, each trained on every seed
        first = sorted((r for r in sel.grid if not r["diverged"]), key=lambda r: r["error_validation"])[:3]
        assert [{k: f[k] for k in GRID} for f in sel.finalists] == [{k: r[k] for k in GRID} for r in first]
        assert all(f["seeds"] == 3 for f in sel.finalists)
        # the chosen one has the smallest mean validation error over the seeds, and its runs are that mean
        best = min(sel.finalists, key=lambda f: f["validation_mean"])
        assert sel.chosen == {k: best[k] for k in GRID}
        assert np.mean([r.final["error_validation"] for r in sel.runs]) == pytest.approx(best["validation_mean"])
        assert [r.config.seed for r in sel.runs] == [0, 1, 2]
        assert all((r.config.lr, r.config.init_scale) == (sel.chosen["lr"], sel.chosen["init_scale"])
                   for r in sel.runs)
        s = summarize(sel, target=0.5)
        assert s["error_in_band_min"] <= s["error_in_band_mean"] <= s["error_in_band_max"]
        assert s["lr"] == sel.chosen["lr"] and s["init_scale"] == sel.chosen["init_scale"]
        assert s["optimizer"] == "adam"
        grid, mean, lo, hi = seed_band(sel, x="seconds")
        assert np.all(lo <= mean * (1 + 1e-12)) and np.all(mean <= hi * (1 + 1e-12))
    table = summary_table(out)
    assert list(table["family"]) == ["global", "dd"]
    h = headline(out[0], out[1], target=0.5)
    assert h["params_global"] == 2 * 31 * 4 and h["seeds"] == 3


def test_selection_uses_every_seed_of_the_finalists(monkeypatch):
    """A point that wins on the first seed but loses on the mean is not chosen: fake validation errors make the
    first-seed ranking and the seed means disagree."""
    import ddlib.experiments as ex

    real = ex.run_sweep

    def rigged(configs, **kw):
        out = real(configs, **kw)
        for o in out:
            if o.ok:   # lr 3e-3 wins seed 0 by a little and loses seeds 1, 2 by a lot
                bonus = {0: -1.0, 1: 5.0, 2: 5.0}[o.config.seed] if o.config.lr == 3e-3 else 0.0
                o.result.history["error_validation"][-1] = 1.0 + bonus * 0.01 + o.config.init_scale
        return out

    monkeypatch.setattr(ex, "run_sweep", rigged)
    base = TrainConfig(model=GlobalSpec(1), **SMALL)
    sel = tuned_comparison([GlobalSpec(2)], base, {"lr": [3e-3, 3e-2]}, seeds=[0, 1, 2], workers=1,
                           extend=False)[0]
    first = min(sel.grid, key=lambda r: r["error_validation"])
    assert first["lr"] == 3e-3 and sel.chosen["lr"] == 3e-2


def test_a_choice_on_an_edge_extends_its_axis_step_by_step():
    base = TrainConfig(model=GlobalSpec(1), **SMALL)
    sel = tuned_comparison([GlobalSpec(4)], base, {"lr": [1e-4, 3e-4], "init_scale": [0.1]}, seeds=[0, 1],
                           workers=1)[0]
    # training for 30 epochs at these tiny rates: the larger rate wins, on the grid's edge; each step beyond (x3) wins
    # again, so the axis grows EXTEND_STEPS times: 9e-4, 2.7e-3, ...
    steps = [3e-4 * 3**k for k in range(1, EXTEND_STEPS + 1)]
    assert sel.extended == ["lr"]
    for lr in steps:
        assert any(f["lr"] == pytest.approx(lr) and f["seeds"] == 2 for f in sel.finalists)
    assert sel.chosen["lr"] == pytest.approx(steps[-1]) and sel.on_edge["lr"]   # still the largest value tried
    assert sel.on_edge["init_scale"] is False                                    # a single value has no edge


def test_an_extension_that_loses_ends_the_extension(monkeypatch):
    """The choice leaves the edge once the step beyond it is worse: one round, and the choice is interior."""
    import ddlib.experiments as ex
    real = ex.run_sweep

    def rigged(configs, **kw):  # validation error grows with the learning rate beyond 3e-4
        out = real(configs, **kw)
        for c, o in zip(configs, out):
            o.result.history["error_validation"][-1] = 1.0 + (c.lr > 3.1e-4) - c.lr
        return out

    monkeypatch.setattr(ex, "run_sweep", rigged)
    base = TrainConfig(model=GlobalSpec(1), **SMALL)
    sel = tuned_comparison([GlobalSpec(4)], base, {"lr": [1e-4, 3e-4]}, seeds=[0, 1], workers=1)[0]
    assert sel.chosen["lr"] == 3e-4 and not sel.on_edge["lr"]
    assert sorted(f["lr"] for f in sel.finalists) == pytest.approx([1e-4, 3e-4, 9e-4])


def test_a_model_whose_every_point_diverges_retries_at_lower_rates(monkeypatch):
    """Every point of the grid diverges for the model: the protocol trains the grid again at lower learning rates
    (the grid extended downwards) instead of failing the chapter."""
    import ddlib.experiments as ex
    monkeypatch.setattr(ex, "DIVERGED_STEP", 1e-7)
    base = TrainConfig(model=GlobalSpec(1), **SMALL)
    sel = tuned_comparison([GlobalSpec(2)], base, {"lr": [1e5, 1e6]}, seeds=[0, 1], workers=1)[0]
    first = [r for r in sel.grid if r["lr"] >= 1e5]
    assert len(first) == 2 and all(r["diverged"] for r in first)
    assert sorted(r["lr"] for r in sel.grid if r["lr"] < 1e5) == pytest.approx([1e-2, 1e-1])
    assert sel.chosen["lr"] < 1e5 and len(sel.runs) == 2 and all(np.isfinite(sel.final("error_validation")))


def test_edge_steps():
    tried = [{"lr": a, "init_scale": b} for a in (1e-3, 1e-2, 1e-1) for b in (0.01, 0.1)]
    assert edge_steps({"lr": 1e-1, "init_scale": 0.01}, tried) == {"lr": pytest.approx(1.0),
                                                                    "init_scale": pytest.approx(1e-3)}
    assert edge_steps({"lr": 1e-2, "init_scale": 0.1}, tried) == {"init_scale": pytest.approx(1.0)}
    assert edge_steps({"lr": 1e-2, "optimizer": "gd"}, [{"lr": 1e-2, "optimizer": "gd"},
                                                        {"lr": 1e-3, "optimizer": "adam"}]) == {}


def test_the_optimizer_is_a_knob_with_its_own_learning_rates():
    points = grid_points([{"optimizer": ["adam"], "lr": [1e-2, 1e-1]}, {"optimizer": ["gd"], "lr": [1.0]}])
    assert points == [{"lr": 1e-2, "optimizer": "adam"}, {"lr": 1e-1, "optimizer": "adam"},
                      {"lr": 1.0, "optimizer": "gd"}]
    base = TrainConfig(model=GlobalSpec(1), **SMALL)
    sel = tuned_comparison([GlobalSpec(2)], base, [{"optimizer": ["adam"], "lr": [3e-2]},
                                                   {"optimizer": ["gd"], "lr": [1e-1]}], seeds=[0], workers=1)[0]
    assert {r["optimizer"] for r in sel.grid} == {"adam", "gd"}
    assert sel.runs[0].config.optimizer == sel.chosen["optimizer"]


def test_selection_reads_no_test_data(monkeypatch):
    base = TrainConfig(model=GlobalSpec(1), **SMALL)
    specs = [GlobalSpec(2), DDSpec(4, 1, 1)]
    clean = tuned_comparison(specs, base, GRID, seeds=[0], workers=1)
    real = training.make_datasets

    def garbage_tests(*args, **kwargs):
        sets = real(*args, **kwargs)
        rng = np.random.default_rng(99)
        for name in TEST_SETS:
            d = sets[name]
            sets[name] = Dataset(name, rng.standard_normal(d.f.shape) * 1e3, rng.standard_normal(d.u.shape), None)
        return sets

    monkeypatch.setattr(training, "make_datasets", garbage_tests)
    dirty = tuned_comparison(specs, base.replace(epochs=31), GRID, seeds=[0], workers=1)   # a new cache key
    for a, b in zip(clean, dirty):
        assert a.chosen == b.chosen
        assert a.runs[0].final["error_in_band"] != b.runs[0].final["error_in_band"]   # the tests did change


def test_select_rule_and_its_errors():
    rows = [{"lr": 0.1, "init_scale": 0.1, "error_validation": 0.2, "diverged": False},
            {"lr": 0.01, "init_scale": 0.1, "error_validation": 0.2, "diverged": False},
            {"lr": 1.0, "init_scale": 0.1, "error_validation": 0.0, "diverged": True}]
    assert select(rows) == 1    # a tie goes to the smaller learning rate; a diverged run never wins
    with pytest.raises(ValueError, match="every grid point diverged"):
        select([rows[2]])
    with pytest.raises(ValueError, match="grid knobs"):
        grid_points({"momentum": [0.9]})


def test_a_grid_of_finalists_trains_every_seed_in_one_sweep(monkeypatch):
    """With no more points than finalists every point is a finalist: the first sweep trains all seeds and the
    finalist stage finds every run in the cache; the selection is the one the two-stage protocol makes."""
    import ddlib.experiments as ex
    calls = []
    real = ex.run_sweep

    def counting(configs, **kw):
        configs = list(configs)
        calls.append(configs)
        return real(configs, **kw)

    monkeypatch.setattr(ex, "run_sweep", counting)
    base = TrainConfig(model=GlobalSpec(1), **SMALL)
    sel = tuned_comparison([GlobalSpec(2)], base, {"lr": [1e-2, 3e-2]}, seeds=[0, 1], workers=1, extend=False)[0]
    assert sorted((c.lr, c.seed) for c in calls[0]) == [(1e-2, 0), (1e-2, 1), (3e-2, 0), (3e-2, 1)]
    assert [f["seeds"] for f in sel.finalists] == [2, 2]
    means = {f["lr"]: f["validation_mean"] for f in sel.finalists}
    assert sel.chosen["lr"] == min(means, key=means.get)
    for f in sel.finalists:                                       # the finalists' means are of both seeds' runs
        runs = [train(base.replace(model=GlobalSpec(2), lr=f["lr"], seed=s)) for s in (0, 1)]
        assert f["validation_mean"] == pytest.approx(np.mean([r.final["error_validation"] for r in runs]), rel=1e-9)


def test_time_to_target_curve_uses_the_timed_step():
    base = TrainConfig(model=GlobalSpec(1), **SMALL)
    sel = tuned_comparison([GlobalSpec(2)], base, {"lr": [3e-2]}, seeds=[0, 1], workers=1)[0]
    floor = max(r.curve("error_in_band").min() for r in sel.runs)
    curve = time_to_target_curve(sel, [floor * 2], step_seconds=0.25)
    assert curve["seconds_mean"][0] == pytest.approx(curve["epochs_mean"][0] * 0.25)
    with pytest.raises(ValueError, match="step_seconds"):
        time_to_target_curve(sel, [floor * 2], step_seconds=-1.0)


def test_time_to_target_curve_is_nan_where_a_seed_misses():
    base = TrainConfig(model=GlobalSpec(1), **SMALL)
    sel = tuned_comparison([DDSpec(4, 1, 2)], base, {"lr": [3e-2]}, seeds=[0, 1], workers=1)[0]
    floor = max(r.curve("error_in_band").min() for r in sel.runs)
    curve = time_to_target_curve(sel, [floor * 2, floor / 10])
    assert np.isfinite(curve["epochs_mean"][0]) and np.isnan(curve["epochs_mean"][1])
    assert curve["epochs_min"][0] <= curve["epochs_mean"][0] <= curve["epochs_max"][0]
