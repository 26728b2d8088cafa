"""The high-contrast studies (ddlib.hetero): the reference field and split exactly as issue 22 words them, the rows
and records the chapter reads, the learning race and the solution-operator rows on small sizes."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ddlib import hetero
from ddlib.coefficients import channels
from ddlib.decomposition import Decomposition
from ddlib.models import DDSpec, SpanSpec
from ddlib.problem import Problem


def _issue_channels(m, c):
    """The issue's words: a = contrast on the cells (p, q), p, q = 0..m, with p = 1 (mod 4) and 3 <= q <= m - 3."""
    a = np.ones((m + 1, m + 1))
    for p in range(m + 1):
        for q in range(m + 1):
            if p % 4 == 1 and 3 <= q <= m - 3:
                a[p, q] = c
    return a


@pytest.mark.parametrize("m", [15, 31])
def test_the_reference_field_and_split_are_the_issues(m):
    c = 1e4
    assert np.array_equal(channels(m, 2, c), _issue_channels(m, c))
    P = Problem((m, m), channels(m, 2, c))
    h = 1 / (m + 1)
    assert np.allclose(P.nodes()[m + 2], [2 * h, 3 * h])                  # node (i, j) at ((i+1)h, (j+1)h)
    # the edge between nodes (i, j) and (i+1, j) is shared by cells (i+1, j) and (i+1, j+1): their mean
    A = P.matrix().toarray() * h**2
    a = _issue_channels(m, c)
    for i, j in [(0, 0), (0, 3), (4, 7), (m - 2, m - 4)]:
        assert -A[i * m + j, (i + 1) * m + j] == pytest.approx(0.5 * (a[i + 1, j] + a[i + 1, j + 1]))
    # N x N boxes of nodes split at round(k m / N), extended by delta node layers
    N, delta = 4, 1
    dec = Decomposition(P, N, delta, split="round")
    ends = [round(k * m / N) for k in range(N + 1)]
    lo, hi = max(ends[1] - delta, 0), min(ends[2] + delta, m)
    box = dec.indices[1 * N + 1]
    assert set(box) == {i * m + j for i in range(lo, hi) for j in range(lo, hi)}
    # Q1 hats on the interior nodes of the coarse grid of spacing 1/N: value 1 at the coarse node, 0 at the next
    Phi = dec.coarse_space("hat").toarray()
    assert Phi.shape[1] == (N - 1) ** 2


def test_a_equal_1_is_the_constant_coefficient_problem():
    for shape in [(31, 31), (7, 7, 7)]:
        m, d = shape[0], len(shape)
        assert abs(Problem(shape, channels(m, d, 1.0)).matrix() - Problem(shape).matrix()).max() < 1e-9


def test_contrast_rows_and_the_report():
    rows = hetero.contrast_rows(15, 2, 1, {"channels": [1.0, 1e2, 1e4]}, dense_max=256)
    keys = {"m", "N", "delta", "field", "contrast", "coarse", "kappa", "iterations", "coarse_dim"}
    assert all(keys <= set(r) for r in rows) and len(rows) == 3 * len(hetero.COARSES)
    rep = hetero.report_hetero(rows)
    at = {(r["contrast"], r["coarse"]): r for r in rows}
    assert rep["growth_q1"] == pytest.approx(at[1e4, "q1"]["kappa"] / at[1.0, "q1"]["kappa"])
    assert rep["kappa_geneo_max"] == max(at[c, "geneo"]["kappa"] for c in (1.0, 1e2, 1e4))
    assert rep["geneo_bound_ratio"] == rep["kappa_geneo_max"] / rep["geneo_bound"]
    assert rep["geneo_bound_ratio"] <= 1 and rep["growth_q1"] > 100 and rep["geneo_dim_high"] > rep["geneo_dim_low"]
    table = hetero.pivot(rows)
    assert [t["contrast"] for t in table] == [1.0, 1e2, 1e4] and table[2]["geneo_dim"] == at[1e4, "geneo"]["coarse_dim"]
    with pytest.raises(ValueError, match="channel-field rows"):
        hetero.report_hetero([])


def test_field_specs_and_other_fields():
    assert hetero.field_spec("lognormal", 2.0) == {"kind": "lognormal", "sigma": 2.0, "seed": 0, "length": 0.1}
    rows = hetero.contrast_rows(15, 2, 1, {"lognormal": [2.0], "inclusions": [1e3]}, coarses=("q1",))
    assert rows[0]["contrast"] > 10 and rows[1]["contrast"] == 1e3
    with pytest.raises(ValueError, match="field must be one of"):
        hetero.field_spec("stripes", 1.0)


def test_the_geneo_member_of_the_learned_class_is_geneo_and_beats_a_random_span():
    base = hetero.learning_config(15, 2, 1, 1e4, per_box=2, samples=8, epochs=1)
    model = hetero.geneo_span_model(base)
    G = hetero.geneo_space(model.decomposition, per_box=2)[0]
    assert np.allclose(hetero.principal_angles(model.coarse_space(), G), 0.0, atol=1e-6)
    assert hetero.validation_error(model, base) < hetero.validation_error(base.build_model(), base)


def test_a_small_learning_race_and_its_rows():
    base = hetero.learning_config(15, 2, 1, 1e4, per_box=1, samples=4, epochs=2, solver="steepest_descent", steps=3)
    specs = [SpanSpec(2, 1, 1), DDSpec(2, 1, 2, symmetric=True, diagonal="learned")]
    sels = hetero.learning_race(specs, base, {"lr": [1e-2]}, workers=1)
    rows = hetero.learned_rows(sels)
    assert [r["coarse"] for r in rows] == ["learned", "learned"] and rows[0]["coarse_dim"] == 4
    assert rows[1]["coarse_dim"] == 1 and all(np.isfinite(r["kappa"]) for r in rows)
    dense = sels[1].runs[0].model.dense().numpy()
    assert np.allclose(hetero.as_operator(sels[1].runs[0].model) @ np.eye(225), dense)
    angles = hetero.span_angles(sels[0].runs[0].model)
    assert angles.shape == (4,) and np.all((angles >= 0) & (angles <= 90))
    P, dec = base.problem, sels[0].runs[0].model.decomposition
    classical = [hetero.kappa_row(P, 2, 1, c, split="interface", per_box=None) for c in ("q1", "geneo")]
    classical.append(hetero.kappa_row(P, 2, 1, hetero.geneo_space(dec, per_box=1)[0], split="interface",
                                      name="geneo", per_box=1))
    rep = hetero.report_learning(classical, rows, angles, 0.1)
    assert rep["kappa_span"] == rows[0]["kappa"] and rep["kappa_dd"] == rows[1]["kappa"] and rep["angles"] == 4
    assert rep["kappa_geneo_same"] == classical[2]["kappa"] and rep["dim_geneo_tau"] == classical[1]["coarse_dim"]
    assert rep["angles_aligned"] == int(np.sum(angles < hetero.ALIGNED_DEGREES))


def test_operator_rows_floors_and_eckart_young():
    rows = hetero.operator_rows(15, 2, 1, [1.0, 1e4])
    lo, hi = rows
    assert hi["floor_q1"] > lo["floor_q1"]                  # the channels raise the Q1 floor ...
    assert hi["floor_geneo"] < hi["floor_q1"]               # ... and GenEO's span lowers it again
    assert lo["params"] == DDSpec(2, 1, 8).parameter_count(Problem((15, 15)))
    assert lo["eckart_young"] > 0 and lo["global_rank"] == lo["params"] // (2 * 225)


def test_report_sizes():
    rows = hetero.size_rows([15, 31], 8, 1e3, coarses=("q1", "geneo"), dense_max=0)
    rep = hetero.report_sizes(rows)
    assert (rep["n_first"], rep["n_last"]) == (225, 961)
    assert rep["its_q1_last"] == next(r["iterations"] for r in rows if r["n"] == 961 and r["coarse"] == "q1")
    assert rep["dim_geneo_last"] == rows[-1]["coarse_dim"] and {r["N"] for r in rows} == {2, 4}
