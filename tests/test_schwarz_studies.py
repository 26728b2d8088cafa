"""The chapter-2 studies (ddlib.schwarz_studies) and the phrases of ddlib.tables: partitions of unity to rounding,
unpreconditioned CG against the closed-form condition number, the rank-one count of eigenvalues off 1 at zero overlap,
the exact 1D decomposition, the scaling report against kappa_trends, and phrases that never tell "from X to X"."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ddlib import schwarz, schwarz_studies as studies
from ddlib.decomposition import Decomposition
from ddlib.problem import Problem
from ddlib.tables import change_cell, change_text, format_number, range_text, trend_text

from test_decomposition import configs


@settings(max_examples=60, deadline=None)
@given(configs())
def test_partitions_of_unity_sum_to_one_in_every_dimension(dec):
    assert studies.partition_error(dec) < 1e-13


def test_headline_rows_against_the_closed_form_and_the_theorem():
    n, N, delta = 63, 4, 2
    rows = studies.headline_rows(n, N, delta, seed=3)
    by = {r["preconditioner"]: r for r in rows}
    # 1D Laplacian: eigenvalues 4 sin^2(k pi h / 2) / h^2, k = 1..n, h = 1/(n+1)
    theta = np.pi / (2 * (n + 1))
    assert by["none"]["kappa"] == pytest.approx(np.sin(n * theta) ** 2 / np.sin(theta) ** 2, rel=1e-10)
    assert set(by) == {"none", *schwarz.SERIES, "1-level RAS (Boolean)", "2-level RAS (Boolean)"}
    hat = by["two-level ASM, hat"]
    assert hat["lambda_min"] >= 1 - 1e-10 and hat["kappa"] <= 3 + 1e-10           # the 1D theorem
    ref = schwarz.measure(n, N, delta, seed=3, **schwarz.SERIES["two-level ASM, hat"])
    assert (hat["kappa"], hat["iterations"]) == (ref["kappa"], ref["pcg_iterations"])
    rep = studies.report_headline(rows)
    assert rep["kappa_change"] == change_text(by["one-level ASM"]["kappa"], hat["kappa"])
    assert rep["kappa_change"].startswith("falls from")
    with pytest.raises(ValueError, match="n must"):
        studies.headline_rows(1, 2, 0)


@pytest.mark.parametrize("n, N", [(63, 4), (127, 8), (255, 16)])
def test_zero_overlap_leaves_at_most_one_eigenvalue_off_one_per_interface(n, N):
    """At delta = 0 each local space is an element space plus one interface node, so P_ad = I + (N - 1) rank-one
    terms (the exact decomposition): at most N - 1 eigenvalues differ from 1, and more overlap moves more."""
    off = studies.eigenvalues_off_one(n, N, 0)
    assert 1 <= off <= N - 1
    assert studies.eigenvalues_off_one(n, N, 3) > off


@pytest.mark.parametrize("n, N", [(15, 2), (63, 4), (255, 16)])
def test_the_exact_decomposition_holds_to_rounding_and_the_weighted_form_does_not(n, N):
    assert studies.exact_remainder(n, N) < 1e-13
    assert studies.weighted_gap(Decomposition(Problem(n), N, 2)) > 1e-3


@pytest.fixture(scope="module")
def scaling():
    configs_ = {"N": [(127, k, 1) for k in (2, 4, 8)], "n": [(2**k - 1, 2**k // 16, 1) for k in (6, 7, 8)],
                "delta": [(127, 4, d) for d in (0, 1, 3)]}
    rows = schwarz.scaling_study(configs_, seed=0, dense_max=255)
    constants = {s: c for (s, _), c in schwarz.add_bounds(rows).items()}
    return rows, constants


def test_the_scaling_report_reads_the_rows(scaling):
    rows, constants = scaling
    rep = studies.report_scaling(rows, constants)
    trends = {(t["study"], t["series"]): t for t in schwarz.kappa_trends(rows)}
    assert rep["per_doubling_N"] == pytest.approx(2 ** trends["N", "one-level ASM"]["exponent"])
    hat = [r for r in rows if r["series"] == "two-level ASM, hat"]
    assert rep["k_hat_max"] == max(r["kappa"] for r in hat) and rep["k_hat_verdict"] == "never exceeds 3"
    assert rep["lmin_hat"] >= 1 - 1e-10 and rep["n_rows"] == len(rows) and rep["nic_spread"] >= 1
    wm = sorted((r for r in rows if r["study"] == "delta" and r["series"] == "two-level weighted, multiplicity"),
                key=lambda r: r["delta"])
    assert rep["wm_change"] == change_text(wm[0]["kappa"], wm[-1]["kappa"])
    assert (rep["delta_first"], rep["delta_last"]) == (0, 3)
    summary = studies.scaling_summary(rows, constants)
    assert len(summary) == 14 and all(set(r) == {"preconditioner", "quantity", "measured", "theory"} for r in summary)
    assert summary[1]["measured"] == f"{rep['k_hat_max']:.4f}"
    with pytest.raises(ValueError, match="at least one"):
        studies.report_scaling([], constants)


def test_cost_record_solves_with_the_preconditioner_it_times():
    dec = Decomposition(Problem(1023), 16, 2)
    rec = studies.cost_record(dec, seed=1, repeats=1)
    assert (rec["n"], rec["N"], rec["delta"]) == (1023, 16, 2)
    assert rec["build_ms"] > 0 and rec["apply_ms"] > 0 and rec["bytes_per_node"] > 0
    assert rec["iterations"] == schwarz.measure(1023, 16, 2, seed=1, dense_max=0)["pcg_iterations"]


finite = st.floats(-1e9, 1e9, allow_nan=False).filter(lambda x: x == 0 or abs(x) > 1e-300)


@settings(max_examples=200, deadline=None)
@given(finite, finite)
def test_change_phrases_never_tell_a_number_that_did_not_change(a, b):
    text, cell = change_text(a, b), change_cell(a, b)
    fa, fb = format_number(a), format_number(b)
    if fa == fb:
        assert text == f"stays at {fa}" and cell == f"{fa} (unchanged)" and range_text(a, b) == f"at {fa}"
    else:
        assert text == f"{'grows' if b > a else 'falls'} from {fa} to {fb}" and cell == f"{fa} → {fb}"


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-5, 5), min_size=1, max_size=8))
def test_trend_text_matches_the_differences(values):
    d = np.diff(values)
    expected = ("does not change" if not np.any(d) else "never falls" if np.all(d >= 0) else
                "never rises" if np.all(d <= 0) else "rises and falls")
    assert trend_text(values) == expected
