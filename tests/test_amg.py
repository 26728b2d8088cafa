"""pyamg against our PCG (ddlib.amg): every solver reaches the direct solution on a high-contrast field, the tuned
AMG candidates do less work than pyamg's defaults there, and tuning on the reference problem picks the recorded
candidates (slow)."""
from __future__ import annotations

import numpy as np
import pytest

from ddlib import amg
from ddlib.coefficients import channels
from ddlib.problem import Problem


def test_pyamg_and_our_pcg_agree_on_the_solution():
    P = Problem((31, 31), channels(31, 2, 1e4))
    rows = amg.time_solvers(P, amg.METHODS, N=4, rtol=1e-10)
    assert [r["method"] for r in rows] == list(amg.METHODS)             # the direct solve runs first
    for r in rows:
        assert r["converged"] and r["residual"] <= 1e-10 * (10 if r["method"] == "direct" else 1.0001), r
        # the energy-norm distance to the direct solution: at most kappa(A)^(1/2) times the relative residual
        assert r["error_vs_direct"] < 1e-6, r
        assert r["setup_s"] >= 0 and r["solve_s"] >= 0 and r["load_before"] >= 0
    by = {r["method"]: r for r in rows}
    assert by["direct"]["iterations"] == 0 and by["schwarz_geneo"]["coarse_dim"] > by["schwarz_q1"]["coarse_dim"]
    assert by["schwarz_geneo"]["iterations"] < by["schwarz_q1"]["iterations"]


def test_the_tuned_candidates_do_less_work_than_the_defaults_at_high_contrast():
    P = Problem((63, 63), channels(63, 2, 1e4))
    b = np.random.default_rng(0).standard_normal(P.n)
    for family in ("sa", "rs"):
        work = {r["candidate"]: r["work"] for r in amg.tune_amg(P.matrix(), b, family)["rows"]}
        assert work[amg.TUNED[family]] < work["default"], (family, work)


@pytest.mark.slow
def test_tuning_on_the_reference_problem_picks_the_recorded_candidates():
    P = Problem((255, 255), channels(255, 2, 1e4))
    b = np.random.default_rng(0).standard_normal(P.n)
    for family in ("sa", "rs"):
        assert amg.tune_amg(P.matrix(), b, family)["choice"] == amg.TUNED[family]


def test_solver_comparison_rows_and_bad_input():
    rows = amg.solver_comparison([15, 31], 1e2, H_over_h=8, methods=["direct", "sa", "schwarz_geneo"],
                                 geneo_max_n=500)
    assert [(r["m"], r["method"]) for r in rows] == [(15, "direct"), (15, "sa"), (15, "schwarz_geneo"),
                                                     (31, "direct"), (31, "sa")]
    assert {r["N"] for r in rows} == {2, 4} and all(r["contrast"] == 100.0 for r in rows)
    with pytest.raises(ValueError, match="methods\\[i\\] must be one of"):
        amg.time_solvers(Problem((7, 7)), ["multigrid"])
    with pytest.raises(ValueError, match="candidate must be one of"):
        amg.amg_hierarchy(Problem((7, 7)).matrix(), "sa", "fastest")


def test_report_amg_reads_each_method_at_its_largest_size():
    rows = amg.solver_comparison([15, 31], 1e3, H_over_h=8, methods=["direct", "rs_default", "schwarz_geneo"],
                                 geneo_max_n=500)
    rep = amg.report_amg(rows)
    last = {r["method"]: r for r in rows}                      # rows are in increasing n
    assert rep["n_max"] == 961 and rep["n_schwarz_geneo"] == 225 and rep["n_rs_default"] == 961
    assert rep["its_schwarz_geneo"] == last["schwarz_geneo"]["iterations"]
    top = [r for r in rows if r["n"] == 961]
    fastest = min(top, key=lambda r: r["setup_s"] + r["solve_s"])
    assert rep["fastest"] == amg.METHOD_LABELS[fastest["method"]]
    assert rep["direct_over_fastest"] == pytest.approx(rep["total_direct"] / rep["fastest_total"])
    assert rep["load_max"] >= max(r["load_before"] for r in rows)
    with pytest.raises(ValueError, match="at least one timing"):
        amg.report_amg([])


def test_benchmark_rows_read_the_file_or_run_a_small_version(tmp_path):
    rows, source = amg.benchmark_rows(tmp_path, fallback_ms=[7], contrast=10.0, H_over_h=4)
    assert source == "small run" and {r["n"] for r in rows} == {49}
    (tmp_path / "_build").mkdir()
    (tmp_path / amg.BENCHMARK_FILE).write_text(__import__("json").dumps({"rows": rows[:2]}))
    again, source = amg.benchmark_rows(tmp_path)
    assert source == "benchmark" and [r["method"] for r in again] == [r["method"] for r in rows[:2]]
