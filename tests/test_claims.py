"""The one verdict module: the race rule, the intervals, the accuracy and parameter claims, the grid edges, the phrases,
and chapter 4's report, on synthetic runs whose verdicts are known."""
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ddlib.claims import (ACCURATE_LEVEL, CLAIMS, LEARNED_FRACTION, VERDICT_KEYS, ZERO_LEVEL, accuracy, compare,
                          error_level, faster, fewer_parameters, grid_edges, holds_text, interval_text, intervals,
                          learning, list_text, report_dd_attention, speed, speed_ratio, speed_verdicts,
                          steps_per_epoch, verdicts)
from ddlib.experiments import Selection, class_best, summary_table
from ddlib.models import BandedSpec, DDSpec, GlobalSpec
from ddlib.training import HISTORY_KEYS, TrainConfig, TrainResult, time_to_target

FAST = settings(max_examples=40, deadline=None)
times = st.one_of(st.just(float("nan")), st.floats(0.0, 1e4))


@FAST
@given(g=st.lists(times, min_size=1, max_size=8), data=st.data())
def test_speed_ratio_is_the_race_rule(g, data):
    d = data.draw(st.lists(times, min_size=len(g), max_size=len(g)))
    r = speed_ratio(g, d)
    for gi, di, ri in zip(g, d, r):
        if math.isnan(gi) and math.isnan(di):
            assert math.isnan(ri)                           # nobody reaches the target
        elif math.isnan(di):
            assert ri == 0.0                                # only global reaches it: DD is never faster
        elif math.isnan(gi):
            assert ri == math.inf                           # only DD reaches it
        elif di == 0:
            assert ri == math.inf if gi > 0 else math.isnan(ri)
        else:
            assert ri == pytest.approx(gi / di)
        assert (ri > 1) == (not math.isnan(di) and (math.isnan(gi) or di < gi))   # "DD first" in both readings


def test_faster_intervals_and_texts():
    assert intervals([1, 2, 3, 4, 5], [True, True, False, True, False]) == [(1.0, 2.0), (4.0, 4.0)]
    assert intervals([1, 2], [False, False]) == []
    t = np.array([1e-1, 1e-2, 1e-3, 1e-4])
    g = {"targets": t, "epochs_mean": np.array([10.0, 100.0, 400.0, np.nan])}
    d = {"targets": t, "epochs_mean": np.array([20.0, 50.0, np.nan, np.nan])}
    f = faster(g, d)
    assert list(f["ratio"][:3]) == [0.5, 2.0, 0.0] and np.isnan(f["ratio"][3])
    assert f["holds"] == [(1e-2, 1e-2)] and f["fails"] == [(1e-1, 1e-1), (1e-3, 1e-3)]
    assert interval_text(f["fails"]) == "1.0e-01 and 1.0e-03" and interval_text([]) == "none"
    d2 = {"targets": t, "epochs_mean": np.array([5.0, 50.0, 100.0, 300.0])}
    assert faster(g, d2)["holds"] == [(1e-1, 1e-4)]            # only DD reaches 1e-4: it is faster there
    assert interval_text(faster(g, d2)["holds"]) == "1.0e-01 to 1.0e-04"
    with pytest.raises(ValueError, match="share"):
        faster(g, {"targets": t[:2], "epochs_mean": np.ones(2)})


def test_phrases_follow_their_numbers():
    assert [holds_text(k, 4) for k in (4, 2, 0)] == ["holds", "holds for part of the targets", "does not hold"]
    with pytest.raises(ValueError, match="holds must be in"):
        holds_text(5, 4)
    assert error_level(ZERO_LEVEL) == "worse than returning zero" and error_level(ACCURATE_LEVEL / 2) == "accurate"
    assert error_level(0.5 * (ZERO_LEVEL + ACCURATE_LEVEL)).startswith("better than returning zero")
    assert list_text([]) == "none" and list_text(["a", "b"]) == "a, b" and list_text([], "no regime") == "no regime"


def test_grid_edges_report_only_a_still_improving_edge():
    class S:
        chosen = {"lr": 0.1, "init_scale": 0.01, "schedule": "cosine"}
        grid = [{"lr": lr, "init_scale": s, "schedule": "cosine", "error_validation": e}
                for lr, s, e in ((0.01, 0.001, 9.0), (0.01, 0.01, 5.0), (0.01, 0.1, 9.0),
                                 (0.1, 0.001, 1.1), (0.1, 0.01, 1.0), (0.1, 0.1, 1.05))]
    grid = {"lr": [0.01, 0.1], "init_scale": [0.001, 0.01, 0.1], "schedule": ["cosine"]}
    assert grid_edges(S(), grid) == ["lr=max"]        # 0.01 is five times worse: the error still falls towards 0.1
    S.grid[1]["error_validation"] = 1.1
    assert grid_edges(S(), grid) == []                # a flat direction at the edge is not reported
    S.chosen = {"lr": 0.1, "init_scale": 1.0, "schedule": "cosine"}   # the protocol extended the scale axis
    assert grid_edges(S(), grid) == []                # no grid row shares the extended scale: nothing to compare
    S.chosen = {"lr": 0.1, "init_scale": 0.01, "schedule": "cosine", "optimizer": "gd"}
    union = [{**grid, "optimizer": ["adam"], "lr": [0.3, 1.0]}, {**grid, "optimizer": ["gd"]}]
    for r in S.grid:
        r["optimizer"] = "gd"
    S.grid[1]["error_validation"] = 5.0
    assert grid_edges(S(), union) == ["lr=max"]       # the edge of the chosen optimizer's own learning rates


# ------------------------------------------------------------------------------------------------ synthetic runs
def _run(errors, seconds_per_epoch, params, seed=0):
    epochs = list(range(len(errors)))
    hist = {k: list(errors) for k in HISTORY_KEYS}
    hist.update(epoch=epochs, seconds=[e * seconds_per_epoch for e in epochs])
    cfg = TrainConfig(model=GlobalSpec(1), n=31, K=4, seed=seed)
    return TrainResult(config=cfg, history=hist, model=None, num_parameters=params)


GRID = {"lr": [0.01, 0.1], "init_scale": [0.01, 0.1]}


@st.composite
def selections(draw):
    """Global ranks 1..a and DD local ranks 1..b whose seeds decay geometrically at drawn rates to drawn floors, with
    drawn parameter counts and validation errors over GRID."""
    specs = [GlobalSpec(r) for r in range(1, draw(st.integers(1, 3)) + 1)]
    specs += [DDSpec(4, 1, r) for r in range(1, draw(st.integers(1, 3)) + 1)]
    out = []
    for spec in specs:
        P = draw(st.integers(10, 10_000))
        runs = [_run([max(draw(st.floats(0.3, 0.95)) ** k, draw(st.floats(1e-4, 1e-1))) for k in range(30)],
                     draw(st.floats(0.5, 2.0)), P, seed) for seed in range(2)]
        grid = [{"lr": lr, "init_scale": s, "error_validation": draw(st.floats(1e-3, 1.0)), "diverged": False}
                for lr in GRID["lr"] for s in GRID["init_scale"]]
        best = min(grid, key=lambda r: r["error_validation"])
        out.append(Selection(spec, {"lr": best["lr"], "init_scale": best["init_scale"]}, grid, runs))
    return out


@FAST
@given(sels=selections())
def test_verdicts_are_the_rules_applied_to_the_table(sels):
    table = summary_table(sels)
    groups = {fam: [s for s in sels if s.family == fam] for fam in ("global", "dd")}
    steps = {s.label: 1e-3 * (i + 1) for i, s in enumerate(sels)}
    recs = verdicts(groups, table, ["operator_error"], "error_in_band", steps)
    assert [r["claim"] for r in recs] == [CLAIMS[0], CLAIMS[1], CLAIMS[2], CLAIMS[2], CLAIMS[3], CLAIMS[3]]
    assert all(tuple(r) == VERDICT_KEYS for r in recs)
    sp = speed(groups, "error_in_band", steps)
    assert recs[:2] == speed_verdicts(sp, {s.label: s.params for s in sels})
    for r in recs[:2]:
        assert r["holds"] == (r["ratio"] > 1) and r["winner"] == ("dd" if r["holds"] else "global")
    for r, m in zip(recs[2:4], ("error_in_band", "operator_error")):
        g, d = class_best(table, "global", f"{m}_mean"), class_best(table, "dd", f"{m}_mean")
        assert r["holds"] == (d["value"] < g["value"]) and (r["global_label"], r["dd_label"]) == (g["label"], d["label"])
        assert r == accuracy(table, [m])[0] and r["winner"] == compare(table, m)["winner"]
    for r, m in zip(recs[4:], ("error_in_band", "operator_error")):
        assert r == fewer_parameters(table, m)
        if r["holds"]:
            assert r["dd_params"] < r["global_params"] and r["dd_value"] <= r["global_value"]
            assert r["ratio"] == pytest.approx(r["global_params"] / r["dd_params"])


@FAST
@given(sels=selections(), n_targets=st.integers(2, 8))
def test_report_of_chapter_4_glues_what_its_records_say(sels, n_targets):
    heads = (sels[0], next(s for s in sels if s.family == "dd"))
    steps = {s.label: 1e-3 * (i + 1) for i, s in enumerate(sels)}
    rep = report_dd_attention(sels, GRID, heads, steps, n_targets)
    glue = rep["glue"]
    json.dumps(glue)                                              # plain values only
    assert all(isinstance(v, (str, int, float)) for v in glue.values())
    t = rep["targets"]
    assert len(t) == n_targets == glue["n_targets"] and np.all(np.diff(t) < 0)
    for x in ("epochs", "seconds"):
        c = rep["claim1"][x]
        assert glue[f"claim1_{x}"] == holds_text(c["n_dd_faster"], n_targets)
        assert glue[f"claim1_{x}_holds"] == interval_text(c["holds"])
    names = [r["measure"] for r in rep["accuracy"]]
    won = [w.strip() for key in ("wins_dd", "wins_g") for w in glue[key].split(",") if glue[key] != "none"]
    assert sorted(won) == sorted(names)                           # every measure is won by exactly one class
    table = summary_table(sels)
    for m, tag in (("operator_error", "c3_operator_error"), ("error_in_band", "c3_error_in_band")):
        r = fewer_parameters(table, m)
        assert glue[f"{tag}_verdict"] == holds_text(int(r["holds"]), 1)
        assert (r["dd_label"] in glue[f"{tag}_dd"] and f"{r['ratio']:.1f} times fewer" in glue[f"{tag}_dd"]
                if r["holds"] else glue[f"{tag}_dd"].startswith("no DD model"))
    assert error_level(glue["min_oob"]) in glue["oob_verdict"]
    assert glue["step_ratio"] == pytest.approx(steps[heads[1].label] / steps[heads[0].label])
    assert glue["n_on_edge"] == sum(bool(grid_edges(s, GRID)) for s in sels) == sum(bool(r["grid_edges"])
                                                                                       for r in rep["tuning"])
    assert rep["headline"]["params_global"] == heads[0].params and set(rep["curves"]) == set(rep["shown"])
    for label, c in rep["curves"].items():                        # seconds: epochs times the step timed alone
        np.testing.assert_allclose(c["seconds_mean"], c["epochs_mean"] * steps[label], rtol=1e-12)


@FAST
@given(sels=selections())
def test_learning_counts_a_comparison_only_where_both_classes_learn(sels):
    groups = {fam: [s for s in sels if s.family == fam] for fam in ("global", "dd")}
    rec = learning(groups, "error_in_band")
    e0 = min(r.curve("error_in_band")[0] for s in sels for r in s.runs)
    for fam, group in groups.items():
        level = min(s.final("error_in_band").max() for s in group)        # reached on every seed by some model
        assert rec[f"{fam}_level"] == level and rec[f"{fam}_learned"] == (level <= LEARNED_FRACTION * e0)
    assert rec["counted"] == (rec["global_learned"] and rec["dd_learned"])
    assert (rec["reason"] == "") == rec["counted"] == (rec["not_learned"] == "")
    for fam in rec["not_learned"].split(", ") if rec["not_learned"] else []:
        assert {"global": "the global model", "dd": "the DD model"}[fam] in rec["reason"]


def _flat(spec, errors, loss, seed=0):
    hist = {k: list(errors) for k in HISTORY_KEYS}
    hist.update(epoch=list(range(len(errors))), train_loss=list(loss))
    cfg = TrainConfig(model=spec, n=31, K=4, seed=seed)
    return Selection(spec, {}, [], [TrainResult(cfg, hist, None, 100)])


def test_a_class_that_fits_its_samples_but_does_not_learn_is_left_out_with_the_reason():
    g = _flat(GlobalSpec(4), [1.0, 0.95, 0.9], [1.0, 1e-3, 1e-6])       # fits the samples, not the distribution
    d = _flat(DDSpec(4, 1, 1), [1.0, 0.2, 0.01], [1.0, 0.1, 0.01])
    rec = learning({"global": [g], "dd": [d]}, "error_in_band")
    assert not rec["counted"] and rec["not_learned"] == "global"
    assert "0.90 of the initial error" in rec["reason"] and "does not generalise" in rec["reason"]
    stuck = _flat(GlobalSpec(4), [1.0, 0.95, 0.9], [1.0, 0.9, 0.8])      # does not even fit the samples
    assert "only to 0.8" in learning({"global": [stuck], "dd": [d]}, "error_in_band")["reason"]
    sp = speed({"global": [g], "dd": [d]}, "error_in_band", {g.label: 1.0, d.label: 1.0})
    assert sp["target_kind"] == "better" and np.isnan(sp["global_epochs"])


@FAST
@given(sels=selections(), data=st.data())
def test_seconds_are_epochs_times_the_measured_step_never_the_runs_clock(sels, data):
    groups = {fam: [s for s in sels if s.family == fam] for fam in ("global", "dd")}
    steps = {s.label: data.draw(st.floats(1e-4, 1e-1)) for s in sels}
    sp = speed(groups, "error_in_band", steps)
    for fam, group in groups.items():
        seconds = []
        for s in group:
            tt = [time_to_target(r, sp["target"])[0] for r in s.runs]
            seconds.append(np.mean(tt) * steps_per_epoch(s) * steps[s.label] if np.isfinite(tt).all() else np.nan)
        if np.isfinite(seconds).any():
            assert sp[f"{fam}_seconds"] == pytest.approx(np.nanmin(seconds))
        else:
            assert np.isnan(sp[f"{fam}_seconds"])
    with pytest.raises(ValueError, match="step_seconds must hold"):
        speed(groups, "error_in_band", {})


def test_steps_per_epoch_follow_the_batch():
    spec = GlobalSpec(2)
    run = lambda bs: Selection(spec, {}, [], [TrainResult(TrainConfig(model=spec, n=31, K=4, samples=10,  # noqa: E731
                                                                      batch_size=bs), {}, None, 1)])
    assert [steps_per_epoch(run(b)) for b in (None, 10, 4, 3)] == [1, 1, 3, 4]


def test_compare_takes_any_two_classes():
    specs = [GlobalSpec(4), BandedSpec(1, 2), BandedSpec(2, 2), DDSpec(4, 1, 1)]
    mean = np.array([0.5, 0.2, 0.1, 0.3])
    table = {"label": np.array([s.label for s in specs]), "family": np.array([s.family for s in specs]),
             "params": np.array([100, 300, 500, 200]), "seeds": np.array([2, 2, 2, 2]),
             "err_mean": mean, "err_min": 0.9 * mean, "err_max": 1.1 * mean}
    row = compare(table, "err", classes=("banded", "dd"))
    assert row["best_banded_label"] == "banded b=2 + r=2" and row["winner"] == "banded" and row["separated"]
    assert compare(table, "err", 400, classes=("banded", "dd"))["best_banded"] == 0.2
    assert compare(table, "err")["winner"] == "dd"                     # global against DD, as before
