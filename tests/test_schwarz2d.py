"""2D Schwarz: the batched operator equals the loop over subdomains, colour bounds, and the scaling of kappa."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from ddlib.decomposition2d import Decomposition2D
from ddlib.krylov import dense_spectrum
from ddlib.problem2d import laplacian_2d
from ddlib.schwarz2d import (SERIES_2D, default_studies_2d, fit_constants_2d, kappa_study_2d, measure_2d,
                             schwarz_preconditioner_2d, theory_shape_2d, to_dense)


@st.composite
def decompositions(draw, max_N=4, max_box=5):
    N = draw(st.integers(1, max_N))
    b = draw(st.integers(2, max_box))
    return Decomposition2D(N * b - 1, N, draw(st.integers(0, b - 1)))


def loop_reference(dec, weighting, coarse, partition, per_box=1):
    """M^{-1} written as the formula: a loop over boxes with sparse R_i, dense A_i^{-1}, diagonal D_i."""
    A = laplacian_2d(dec.m)
    D = dec.partition_of_unity(partition)
    M = np.zeros((dec.n, dec.n))
    for R, d in zip(dec.restrictions(), D):
        Ai = (R @ A @ R.T).toarray()
        wl, wr = {"none": (1.0, 1.0), "left": (d, 1.0), "sqrt": (np.sqrt(d), np.sqrt(d))}[weighting]
        Mi = np.linalg.inv(Ai) * np.reshape(wr, (1, -1)) * np.reshape(wl, (-1, 1))
        M += (R.T @ sp.csr_matrix(Mi) @ R).toarray()
    if coarse != "none":
        P = dec.coarse_space(coarse, partition, per_box).toarray()
        if P.shape[1]:
            M += P @ np.linalg.solve(P.T @ (A @ P), P.T)
    return M


@settings(max_examples=20, deadline=None)
@given(dec=decompositions(), weighting=st.sampled_from(["none", "left", "sqrt"]),
       coarse=st.sampled_from(["hat", "nicolaides", "spectral", "none"]),
       partition=st.sampled_from(["multiplicity", "ramp", "boolean"]))
def test_batched_operator_equals_loop_over_subdomains(dec, weighting, coarse, partition):
    per_box = min(3, int(dec.sizes.min()))
    if coarse == "spectral" and partition == "boolean":
        partition = "ramp"
    if coarse == "spectral":
        P = dec.coarse_space(coarse, partition, per_box).toarray()
        assume(np.linalg.matrix_rank(P) == P.shape[1])  # tiny grids: k N^2 functions can exceed what the boxes hold
    M = schwarz_preconditioner_2d(dec, weighting=weighting, coarse=coarse, partition=partition, per_box=per_box)
    ref = loop_reference(dec, weighting, coarse, partition, per_box)
    dense = to_dense(M)
    scale = np.abs(ref).max()
    assert np.max(np.abs(dense - ref)) < 1e-11 * scale
    # vector and block application agree; the transpose is the transpose
    x = np.random.default_rng(0).standard_normal(dec.n)
    assert np.allclose(M @ x, dense @ x, atol=1e-12 * scale)
    assert np.allclose(M.rmatvec(x), dense.T @ x, atol=1e-11 * scale)
    assert M.symmetric == (weighting != "left")
    if M.symmetric:
        assert np.allclose(dense, dense.T, atol=1e-12 * scale)
    assert M.levels == (2 if M.coarse.n_coarse else 1)


@settings(max_examples=15, deadline=None)
@given(dec=decompositions(max_N=4, max_box=4), coarse=st.sampled_from(["hat", "none"]))
def test_additive_spectrum_within_colour_bounds(dec, coarse):
    """lambda_max(M^{-1} A) <= N_c (+1 with a coarse level); lambda_min > 0."""
    A = laplacian_2d(dec.m)
    M = schwarz_preconditioner_2d(dec, weighting="none", coarse=coarse)
    ev = dense_spectrum(A, M)
    assert ev[0] > 0 and ev[-1] <= dec.n_colors + M.levels - 1 + 1e-10


def test_two_level_bounded_and_one_level_grows_at_fixed_box():
    """At fixed H/h = 8 and delta = 1: two-level kappa stays flat in N, one level grows like 1/H^2 = N^2."""
    one = [measure_2d(8 * N - 1, N, 1, coarse="none")["kappa"] for N in (2, 4, 8)]
    rows = [measure_2d(8 * N - 1, N, 1, coarse="hat") for N in (2, 4, 8)]
    two = [r["kappa"] for r in rows]
    assert max(two) < 1.3 * min(two)
    assert all(r["lambda_max"] <= r["n_colors"] + 1 + 1e-8 for r in rows)
    # ratio of one-level kappa per doubling of N approaches 4 (N^2); demand clear growth
    assert one[2] / one[1] > 3 and one[1] / one[0] > 2.5


def test_two_level_kappa_follows_h_over_delta():
    """At fixed m and N, more overlap lowers the two-level kappa and the one-level kappa."""
    rows = [measure_2d(31, 2, d, coarse=c) for c in ("hat", "none") for d in (0, 1, 3)]
    two, one = [r["kappa"] for r in rows[:3]], [r["kappa"] for r in rows[3:]]
    assert two[0] > two[1] > two[2] * 0.99 and one[0] > one[1] > one[2]


def test_lanczos_estimate_is_a_close_lower_estimate():
    dense = measure_2d(31, 4, 1, coarse="none", dense_max=1024)
    lanczos = measure_2d(31, 4, 1, coarse="none", dense_max=0)
    assert dense["method"] == "dense" and lanczos["method"] == "lanczos"
    assert lanczos["kappa"] <= dense["kappa"] * (1 + 1e-10)
    assert lanczos["kappa"] > 0.99 * dense["kappa"]
    assert lanczos["pcg_iterations"] == dense["pcg_iterations"]


def test_study_rows_and_constants():
    studies = {"N": [(15, 2, 1), (31, 4, 1)], "delta": [(15, 2, 0)]}
    rows = kappa_study_2d(studies, {k: SERIES_2D[k] for k in ("one-level ASM", "two-level ASM, Q1")})
    assert len(rows) == 6
    for r in rows:
        assert {"m", "n", "N", "delta", "levels", "coarse", "kappa", "pcg_iterations"} <= set(r)
        assert r["n"] == r["m"] ** 2 and r["pcg_iterations"] > 0
        assert r["shape"] == pytest.approx(theory_shape_2d(Decomposition2D(r["m"], r["N"], r["delta"]), r["levels"]))
    C = fit_constants_2d(rows)
    assert all(r["kappa"] <= r["bound"] * (1 + 1e-12) for r in rows) and set(C) == {r["series"] for r in rows}
    # the default sweeps keep H/h (study N) and H/delta (study n) fixed
    s = default_studies_2d()
    assert len({(m + 1) // N for m, N, _ in s["N"]}) == 1
    assert len({(m + 1) / N / (d + 0.5) for m, N, d in s["n"]}) > 1  # generous overlap: H/delta_g varies slightly
    assert len({(m + 1) // N // d for m, N, d in s["n"]}) == 1


@pytest.mark.parametrize("call,match", [
    (lambda: measure_2d(15, 2, 1, weighting="left"), "weighting must be 'none' or 'sqrt'"),
    (lambda: measure_2d(15, 2, 1, coarse="gdsw"), "coarse must be one of"),
    (lambda: schwarz_preconditioner_2d("dec"), "dec must be a ddlib.decomposition2d.Decomposition2D"),
    (lambda: schwarz_preconditioner_2d(Decomposition2D(15, 2, 1), sp.identity(10)), "A must have shape"),
    (lambda: schwarz_preconditioner_2d(Decomposition2D(15, 2, 1), weighting="ras"), "weighting must be one of"),
    (lambda: measure_2d(15, 2, 1, weighting="weighted"), "weighting must be one of"),
    (lambda: kappa_study_2d({"H": [(15, 2, 1)]}), "study must be one of"),
    (lambda: fit_constants_2d([]), "rows must hold"),
    (lambda: schwarz_preconditioner_2d(Decomposition2D(3, 2, 1), coarse="spectral", per_box=3),
     "linearly dependent"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@given(p=st.floats(-1.0, 3.0), c=st.floats(0.5, 10.0))
@settings(max_examples=20, deadline=None)
def test_kappa_trends_recover_a_power_law_along_each_study_axis(p, c):
    from ddlib.schwarz2d import STUDY_AXIS_2D, kappa_trends_2d
    rows = []
    for study, key in STUDY_AXIS_2D.items():
        for x in (2.0, 4.0, 8.0, 16.0):
            rows.append({"study": study, "series": "s", key: x, "kappa": c * x**p, "pcg_iterations": int(x)})
    out = kappa_trends_2d(rows[::-1])                                       # order of the rows does not matter
    assert len(out) == 3
    for r in out:
        assert r["exponent"] == pytest.approx(p, abs=1e-9) and r["last_exponent"] == pytest.approx(p, abs=1e-9)
        assert (r["x_first"], r["x_last"], r["iterations_first"], r["iterations_last"]) == (2.0, 16.0, 2, 16)
        assert r["growth"] == pytest.approx(8.0**p) and r["kappa_max"] == pytest.approx(max(c * 2**p, c * 16**p))
    with pytest.raises(ValueError, match="rows must hold"):
        kappa_trends_2d([])
