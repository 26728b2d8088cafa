"""The records of the chapter on two and three dimensions: the 3D Schwarz table and its bounded-in-n reading, Weyl
rows, the floor against the global class, the approximation report."""
import numpy as np
import pytest

from ddlib import approximation as apx
from ddlib.dimensions import approximation_report, bounded_in_n, default_studies, floor_against_global, kappa_table, \
    weyl_rows
from ddlib.problem import Problem
from ddlib.schwarz import measure


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
