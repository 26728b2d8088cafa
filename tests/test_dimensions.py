"""The records of the chapter on two and three dimensions: the 3D Schwarz table and its bounded-in-n reading, Weyl
rows, the floor against the global class, the approximation report."""
import numpy as np
import pytest

from ddlib import approximation as apx
from ddlib.dimensions import WEIGHTED_SERIES, approximation_report, bounded_in_n, default_studies, \
    floor_against_global, grid_regimes, growth_in_h, kappa_table, model_rows, training_report, weyl_rows
from ddlib.models import BandedSpec, DDSpec, GlobalSpec
from ddlib.problem import Problem
from ddlib.regimes import run_map
from ddlib.schwarz import SERIES, measure
from ddlib.training import TrainConfig


def test_kappa_table_rows_are_the_measurements():
    rows = kappa_table([7, 15], [2, 4], [1, 3], dim=3)
    # (7, 4, *) has boxes of 2 nodes: delta <= 1 only; (7, 2, 3) is valid (box 4)
    assert {(r["m"], r["N"], r["delta"]) for r in rows} == {(7, 2, 1), (7, 2, 3), (7, 4, 1), (15, 2, 1), (15, 2, 3),
                                                            (15, 4, 1), (15, 4, 3)}
    r = next(r for r in rows if (r["m"], r["N"], r["delta"], r["coarse"]) == (15, 4, 1, "q1"))
    ref = measure((15, 15, 15), 4, 1, coarse="hat", dense_max=0)
    assert r["kappa"] == ref["kappa"] and r["iterations"] == ref["pcg_iterations"] and r["n"] == 3375
    assert {"m", "N", "delta", "coarse", "kappa", "iterations"} <= set(r)


def test_bounded_in_n_reads_pairs_at_fixed_H_over_h():
    rows = kappa_table([7, 15], [2, 4], [1], dim=3)
    out = {(b["coarse"], b["H_over_h"]): b for b in bounded_in_n(rows)}
    b = out[("q1", 4.0)]                                   # (7, 2) and (15, 4): H/h = 4
    assert (b["n_small"], b["n_large"], b["N_ratio"]) == (343, 3375, 2.0)
    k = {(r["m"], r["N"], r["coarse"]): r["kappa"] for r in rows if r["delta"] == 1}
    assert b["growth"] == pytest.approx(k[(15, 4, "q1")] / k[(7, 2, "q1")])
    # the one-level method grows faster than the two-level one at fixed H/h
    assert out[("none", 4.0)]["growth"] > b["growth"]


def test_weyl_rows_follow_eckart_young_and_the_rate():
    rows = weyl_rows([Problem(127), Problem((15, 15)), Problem((7, 7, 7))], [1, 4, 16, 400])
    assert {r["dim"] for r in rows} == {1, 2, 3} and not any(r["dim"] == 2 and r["rank"] == 400 for r in rows)
    for r in rows:
        P = Problem((r["m"],) * r["dim"])
        assert r["eckart_young"] == pytest.approx(apx.global_best_error(P, [r["rank"]])[0])
        assert r["weyl"] == pytest.approx(apx.weyl_rate([r["rank"]], r["dim"])[0])


def test_floor_against_global_in_3d():
    P = Problem((7, 7, 7))
    row = floor_against_global(P, 2, 1)
    assert row["floor_two_norm"] > 0 and row["dim"] == 3
    assert row["global_rank_equal_params"] == min(P.n, row["params"] // (2 * P.n))
    r = row["global_rank_for_floor"]
    assert apx.global_best_error(P, [r])[0] <= row["floor_two_norm"] * (1 + 1e-9)
    assert r == 0 or apx.global_best_error(P, [r - 1])[0] > row["floor_two_norm"]


def test_approximation_report_summary():
    P = Problem((15, 15))
    rep = approximation_report(P, floor_Ns=[2, 4], floor_deltas=[0, 1], richer_N=2, oracle_Ns=[2, 4], oracle_delta=1,
                               oracle_ranks=[1, 4], front_ranks=[1, 4, 16])
    s = rep["summary"]
    top = rep["oracle_fronts"][-1]
    assert s["oracle_N"] == 4 and s["oracle_r1"] == top["error"][0]
    assert s["oracle_best_over_floor"] >= 1 - 1e-9          # no DD operator beats the floor
    assert apx.global_best_error(P, [s["oracle_global_rank"]])[0] <= s["oracle_r1"] * (1 + 1e-9)
    assert len(rep["front_floors"]) == 2 and len(rep["richer"]) == 3


def test_default_studies_keep_their_ratios():
    s = default_studies()
    assert len({(shape[0] + 1) // N for shape, N, _ in s["N"]}) == 1          # fixed H/h against N
    assert len({(shape[0] + 1) // N // d for shape, N, d in s["n"]}) == 1     # fixed H/delta against n
    assert all(len(shape) == 2 for rows in default_studies(True).values() for shape, _, _ in rows)


# ------------------------------------------------------------------------------------------- growth in h, training
def test_growth_in_h_is_the_n_study_at_fixed_H_over_delta():
    """Each row is the measured kappa of its series on its grid (ddlib.schwarz.measure), delta = (H/h)/q, and the
    h exponent is d times the exponent against n (n = h^-d)."""
    out = growth_in_h(2, [7, 15], 2, 2)
    assert [(r["m"], r["delta"]) for r in out["rows"] if r["series"] == WEIGHTED_SERIES[0]] == [(7, 2), (15, 4)]
    row = out["rows"][-1]
    again = measure(Problem((row["m"],) * 2), 2, row["delta"], **SERIES[row["series"]])
    assert row["kappa"] == pytest.approx(again["kappa"], rel=1e-10)
    for t in out["trends"].values():
        assert t["h_exponent"] == pytest.approx(2 * t["exponent"])
    with pytest.raises(ValueError, match="ms must hold grids"):
        growth_in_h(1, [16], 4, 2)


def test_growth_in_h_in_1d_multiplicity_grows_and_ramp_does_not():
    """The 1D weighted forms at N = 4, H/delta = 4 (issue 23: kappa of the multiplicity form grows with n in 1D)."""
    t = growth_in_h(1, [31, 63, 127, 255], 4, 4)["trends"]
    mult, ramp = t["two-level weighted, multiplicity"], t["two-level weighted, ramp"]
    assert mult["kappa_last"] > 1.3 * mult["kappa_first"]
    assert ramp["kappa_last"] < mult["kappa_last"]


def test_training_report_and_model_rows_of_a_tiny_2d_map():
    """A 2D map of one regime under both optimizers: one table row per regime and optimizer, counts 'h of k' over
    the counted regimes, the banded baseline's count, and one manifest row per model with what selection read."""
    regs = grid_regimes([(7, "fourier", 8), (7, "noise", 8)], 2, 2, 1)
    base = TrainConfig(model=GlobalSpec(1), n=49, dim=2, K=2, validation_samples=6, test_samples=6, epochs=15,
                       eval_points=4)
    specs = lambda r: [GlobalSpec(4), DDSpec(r.N, r.delta, 1, partition="ramp"), BandedSpec(1, 1)]  # noqa: E731
    grids = {"adam": {"lr": [0.1], "init_scale": [0.1]}, "gd": {"lr": [0.3], "init_scale": [0.1]}}
    m = run_map(regs, base, specs, grids, [0, 1], budgets=lambda r: [1000], metrics=("operator_error",),
                verdict_metrics=("operator_error", "error_in_band", "error_noise"), rival="banded", workers=1)
    rep = training_report(m)
    assert [(r["regime"], r["optimizer"]) for r in rep["table"]] == [
        (f"m = 7, {d}, S = 8", o) for d in ("fourier", "noise") for o in ("Adam", "heavy-ball GD", "optimizer tuned")]
    g = rep["glue"]
    counted = sum(v["counted"] for v in m.verdicts if v["optimizer"] == "tuned" and v["claim"] == "more accurate"
                  and v["metric"] == "operator_error")
    assert g["tally_acc_operator_error"].endswith(f"of {counted}") and g["excluded_n"] == 2 - counted
    assert g["banded_op"].endswith("of 2") and g["adam_banded_op"].endswith("of 2")
    assert 0 <= g["gd_few_global_off_fraction"] <= 1 and 0 <= g["adam_few_global_off_fraction"] <= 1
    rows = model_rows(m)
    assert len(rows) == 2 * 3 * 3
    for r in rows:
        assert {"regime", "model", "optimizer", "lr", "init_scale", "validation_mean", "on_edge", "operator_error",
                "error_in_band"} <= set(r)
        assert r["chosen_optimizer"] in (("adam", "gd") if r["optimizer"] == "tuned" else (r["optimizer"],))
