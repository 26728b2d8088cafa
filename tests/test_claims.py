"""The one verdict module: the race rule, the intervals, the accuracy and parameter claims, the grid edges, the phrases,
and chapter 4's report, on synthetic runs whose verdicts are known."""
import json
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from ddlib.claims import (ACCURATE_LEVEL, CLAIMS, VERDICT_KEYS, ZERO_LEVEL, accuracy, compare, error_level, faster,
                          fewer_parameters, grid_edges, holds_text, interval_text, intervals, list_text,
                          report_dd_attention, speed, speed_ratio, speed_verdicts, verdicts)
from ddlib.experiments import Selection, class_best, summary_table
from ddlib.models import DDSpec, GlobalSpec
from ddlib.training import HISTORY_KEYS, TrainConfig, TrainResult

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
    recs = verdicts(groups, table, ["operator_error"], "error_in_band")
    assert [r["claim"] for r in recs] == [CLAIMS[0], CLAIMS[1], CLAIMS[2], CLAIMS[2], CLAIMS[3], CLAIMS[3]]
    assert all(tuple(r) == VERDICT_KEYS for r in recs)
    sp = speed(groups, "error_in_band")
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
