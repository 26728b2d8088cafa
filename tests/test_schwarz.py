"""Schwarz preconditioners in every dimension: the batched operator against the formula, symmetry and definiteness,
colour bounds, the exact 1D decomposition and the 1D two-level bound, the measured scaling against the theory in
1D, 2D and 3D, variable coefficients, scipy interoperability, memory, and input errors."""
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.sparse.linalg import cg, gmres

from ddlib.coefficients import channels
from ddlib.decomposition import PARTITIONS_OF_UNITY, WEIGHTINGS, Decomposition
from ddlib.krylov import dense_spectrum
from ddlib.problem import Problem
from ddlib.schwarz import (SERIES, STUDY_AXIS, CoarseOperator, OverlappingOperator, add_bounds, exact_decomposition,
                           fit_constant, hat_two_level_bound, kappa_trends, scaling_study, schwarz_preconditioner,
                           theory_shape, to_dense)
from ddlib.schwarz import measure as _measure

from test_decomposition import configs

COARSE = ["hat", "nicolaides", "spectral", "none"]


def measure(*args, dense_max=255, **kw):
    """Dense spectra up to n = 255, Lanczos estimates above (their agreement is tested below): keeps the suite fast."""
    return _measure(*args, dense_max=dense_max, **kw)


def loop_reference(dec, weighting, coarse, partition, **options):
    """M^{-1} written as the formula: a loop over boxes with sparse R_i, dense A_i^{-1}, diagonal D_i."""
    A = dec.problem.matrix().toarray()
    M = np.zeros((dec.n, dec.n))
    for R, d in zip(dec.restrictions(), dec.partition_of_unity(partition)):
        R = R.toarray()
        wl, wr = {"none": (1.0, 1.0), "left": (d, 1.0), "sqrt": (np.sqrt(d), np.sqrt(d))}[weighting]
        M += R.T @ (np.linalg.inv(R @ A @ R.T) * np.reshape(wr, (1, -1)) * np.reshape(wl, (-1, 1))) @ R
    if coarse in ("nicolaides", "spectral"):
        options["partition"] = partition
    Phi = dec.coarse_space(coarse, **options).toarray()
    if Phi.shape[1]:
        M += Phi @ np.linalg.solve(Phi.T @ A @ Phi, Phi.T)
    return M


@settings(max_examples=40, deadline=None)
@given(configs(), st.sampled_from(WEIGHTINGS), st.sampled_from(COARSE), st.sampled_from(PARTITIONS_OF_UNITY),
       st.booleans(), st.integers(0, 2**16))
def test_batched_operator_equals_the_formula(dec, weighting, coarse, partition, variable, seed):
    if coarse == "spectral" and partition == "boolean":
        partition = "ramp"
    options = {"per_box": min(3, int(dec.sizes.min()))} if coarse == "spectral" else {}
    if coarse == "spectral":
        P = dec.coarse_space("spectral", partition=partition, **options).toarray()
        assume(np.linalg.matrix_rank(P) == P.shape[1])  # tiny grids: k N^d functions can exceed what the boxes hold
    if variable:  # the same code on a rough coefficient field
        a = np.exp(np.random.default_rng(seed).uniform(-3, 3, (dec.m + 1,) * dec.dim))
        dec = Decomposition(Problem(dec.problem.shape, a), dec.N, dec.delta)
    M = schwarz_preconditioner(dec, weighting=weighting, coarse=coarse, partition=partition, **options)
    ref = loop_reference(dec, weighting, coarse, partition, **options)
    dense = to_dense(M)
    scale = np.abs(ref).max()
    assert np.max(np.abs(dense - ref)) < 1e-10 * scale
    x = np.random.default_rng(0).standard_normal(dec.n)
    assert np.allclose(M @ x, dense @ x, atol=1e-12 * scale * np.abs(x).sum())
    assert np.allclose(M.rmatvec(x), dense.T @ x, atol=1e-11 * scale * np.abs(x).sum())
    assert M.symmetric == (weighting != "left") and M.levels == (2 if M.coarse.n_coarse else 1)
    if M.symmetric:
        assert np.allclose(dense, dense.T, atol=1e-12 * scale) and np.linalg.eigvalsh(dense)[0] > 0


@settings(max_examples=25, deadline=None)
@given(configs(), st.sampled_from(["hat", "none"]))
def test_additive_spectrum_within_colour_bounds(dec, coarse):
    """lambda_max(M^{-1} A) <= N_c (+1 with a coarse level); lambda_min > 0."""
    M = schwarz_preconditioner(dec, weighting="none", coarse=coarse)
    ev = dense_spectrum(dec.problem.matrix(), M)
    assert ev[0] > 0 and ev[-1] <= dec.n_colors + M.levels - 1 + 1e-10


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 10), st.integers(2, 16))
def test_exact_decomposition_in_1d(N, b):
    """A^{-1} = Phi A_0^{-1} Phi^T + sum_E R_E^T A_E^{-1} R_E to rounding (fact 4), the local part block diagonal."""
    P = Problem(N * b - 1)
    coarse, local = exact_decomposition(P, N)
    Ainv = P.inverse()
    assert np.max(np.abs(coarse + local - Ainv)) <= 1e-12 * np.max(np.abs(Ainv))
    nodes = np.arange(1, N) * b - 1
    assert np.all(local[nodes] == 0) and np.all(local[:, nodes] == 0)


def test_no_exact_decomposition_in_2d():
    P = Problem((15, 15))
    coarse, local = exact_decomposition(P, 4)
    assert np.max(np.abs(coarse + local - P.inverse())) > 0.01 * np.max(np.abs(P.inverse()))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.integers(2, 16), st.data())
def test_1d_two_level_hat_bound(N, b, data):
    """1D theorem (hat_two_level_bound): 1 <= lambda(M^{-1}A) <= 1 + N_c, so kappa < 3 when 2 delta + 1 <= H/h."""
    dec = Decomposition(Problem(N * b - 1), N, data.draw(st.integers(0, b - 1)))
    ev = dense_spectrum(dec.problem.matrix(), schwarz_preconditioner(dec, coarse="hat"))
    assert ev[0] >= 1 - 1e-9 and ev[-1] <= hat_two_level_bound(dec) + 1e-9
    if 2 * dec.delta + 1 <= dec.box:
        assert ev[-1] / ev[0] < 3 + 1e-9


def test_1d_two_level_does_not_grow_with_n_at_fixed_H_over_h():
    """H/h = 32, delta = 2: kappa stays below 4 and does not grow from n = 127 to n = 4095 (N = 4..128)."""
    kappa = np.array([measure(32 * N - 1, N, 2, coarse="hat")["kappa"] for N in (4, 8, 16, 32, 64, 128)])
    assert np.all(kappa < 4) and kappa.max() / kappa.min() < 1.03 and abs(kappa[-1] - kappa[-2]) < 5e-3
    # the one-level method, by contrast, grows like 1/(H delta) ~ n^2 at fixed H/h and delta/h
    one = np.array([measure(32 * N - 1, N, 2, coarse="none")["kappa"] for N in (4, 8, 16, 32)])
    assert np.all(np.diff(np.log2(one)) > 1.8)


def test_1d_one_level_doubles_when_N_doubles():
    kappa = np.array([measure(1023, N, 2, coarse="none")["kappa"] for N in (4, 8, 16, 32, 64)])
    ratios = kappa[1:] / kappa[:-1]
    assert np.all((ratios > 1.7) & (ratios < 2.3)), ratios
    shape = np.array([theory_shape(Decomposition(Problem(1023), N, 2), 1) for N in (4, 8, 16, 32, 64)])
    assert np.allclose(ratios, shape[1:] / shape[:-1], rtol=0.1)


def test_1d_nicolaides_needs_the_smooth_ramp():
    """n = 255, N = 8: from delta = 1 to 8 the ramp-weighted Nicolaides kappa falls like H/delta (more than 3x), the
    multiplicity-weighted one, whose functions jump by 1/2 within one mesh interval, by less than 2x."""
    def kappa(d, partition):
        return measure(255, 8, d, coarse="nicolaides", partition=partition)["kappa"]

    assert kappa(1, "ramp") / kappa(8, "ramp") > 3 and kappa(1, "multiplicity") / kappa(8, "multiplicity") < 2
    rows = [measure(n, N, d, coarse="nicolaides", partition="ramp")
            for n, N, d in [(255, 8, 1), (255, 8, 4), (511, 8, 2), (511, 16, 2), (1023, 16, 8)]]
    ratio = np.array([r["kappa"] / r["shape"] for r in rows])
    assert ratio.max() / ratio.min() < 2 and fit_constant(rows) == pytest.approx(ratio.max())


@pytest.mark.parametrize("d,box", [(2, 8), (3, 4)])
def test_two_level_bounded_and_one_level_grows_at_fixed_box(d, box):
    """At fixed H/h and delta = 1: the two-level kappa stays flat in N, the one-level kappa grows like N^2."""
    Ns = (2, 4, 8)
    one = [measure((box * N - 1,) * d, N, 1, coarse="none", dense_max=0)["kappa"] for N in Ns]
    rows = [measure((box * N - 1,) * d, N, 1, coarse="hat", dense_max=0) for N in Ns]
    two = [r["kappa"] for r in rows]
    assert max(two) < 1.3 * min(two)
    assert all(r["lambda_max"] <= r["n_colors"] + 1 + 1e-8 for r in rows)
    # per doubling of N the one-level kappa grows by more than 2, the last doubling by more than 3 (toward N^2 = 4)
    assert one[1] / one[0] > 2 and one[2] / one[1] > 3


def test_more_overlap_lowers_kappa_in_2d():
    rows = [measure((31, 31), 2, d, coarse=c, dense_max=0) for c in ("hat", "none") for d in (0, 1, 3)]
    two, one = [r["kappa"] for r in rows[:3]], [r["kappa"] for r in rows[3:]]
    assert two[0] > two[1] > two[2] * 0.99 and one[0] > one[1] > one[2]


def test_channels_break_the_hat_coarse_space():
    """On the reference channel field (m = 31, N = 4, delta = 1) the Q1 two-level kappa grows with the contrast."""
    k = [measure(Problem((31, 31), channels(31, 2, c)), 4, 1, coarse="hat", split="round", dense_max=0)["kappa"]
         for c in (1.0, 1e2, 1e4)]
    assert k[2] > 10 * k[0] and k[1] > k[0]


@pytest.mark.parametrize("shape", [255, (31, 31)])
def test_lanczos_estimate_is_a_close_lower_estimate(shape):
    for kw in (dict(coarse="none"), dict(coarse="hat"), dict(weighting="sqrt", partition="ramp")):
        dense = measure(shape, 4, 1, dense_max=1024, **kw)
        lz = measure(shape, 4, 1, dense_max=0, **kw)
        assert dense["method"] == "dense" and lz["method"] == "lanczos"
        assert dense["kappa"] * 0.98 <= lz["kappa"] <= dense["kappa"] * (1 + 1e-8)
        assert lz["pcg_iterations"] == dense["pcg_iterations"]


def test_study_rows_bounds_and_trends():
    studies = {"N": [(15, 2, 1), (31, 4, 1)], "delta": [((15, 15), 2, 0), ((15, 15), 2, 1)]}
    rows = scaling_study(studies, {k: SERIES[k] for k in ("one-level ASM", "two-level ASM, hat")}, dense_max=0)
    assert len(rows) == 8
    for r in rows:
        assert {"dim", "m", "n", "N", "delta", "levels", "coarse", "kappa", "pcg_iterations"} <= set(r)
        assert r["n"] == r["m"] ** r["dim"] and r["pcg_iterations"] > 0
    C = add_bounds(rows)
    for r in rows:
        if r["bound_kind"] == "theorem":          # 1D, hat: 1 + N_c
            assert r["dim"] == 1 and r["bound"] == 1 + r["n_colors"] and r["kappa"] <= r["bound"] + 1e-9
        else:
            assert r["kappa"] <= r["bound"] * (1 + 1e-12)
    assert set(C) == {("one-level ASM", 1), ("one-level ASM", 2), ("two-level ASM, hat", 2)}


@given(p=st.floats(-1.0, 3.0), c=st.floats(0.5, 10.0))
@settings(max_examples=20, deadline=None)
def test_kappa_trends_recover_a_power_law_along_each_study_axis(p, c):
    rows = [{"study": study, "series": "s", key: x, "kappa": c * x**p, "pcg_iterations": int(x)}
            for study, key in STUDY_AXIS.items() for x in (2.0, 4.0, 8.0, 16.0)]
    out = kappa_trends(rows[::-1])                                       # the order of the rows does not matter
    assert len(out) == 3
    for r in out:
        assert r["exponent"] == pytest.approx(p, abs=1e-9) and r["last_exponent"] == pytest.approx(p, abs=1e-9)
        assert (r["x_first"], r["x_last"], r["iterations_first"], r["iterations_last"]) == (2.0, 16.0, 2, 16)
        assert r["growth"] == pytest.approx(8.0**p)


@pytest.mark.parametrize("weighting,solver", [("none", cg), ("sqrt", cg), ("left", gmres)])
def test_usable_in_scipy_krylov(weighting, solver):
    dec = Decomposition(Problem(1023), 16, 4)
    A = dec.problem.matrix()
    b = np.random.default_rng(3).standard_normal(dec.n)
    M = schwarz_preconditioner(dec, weighting=weighting, coarse="hat", partition="ramp")
    x, info = solver(A, b, M=M, rtol=1e-10, maxiter=200)
    assert info == 0 and np.linalg.norm(A @ x - b) <= 1e-8 * np.linalg.norm(b)


def test_restricted_is_not_symmetric_and_parts_are_additive():
    dec = Decomposition(Problem(127), 4, 2)
    Md = to_dense(schwarz_preconditioner(dec, weighting="left", partition="boolean"))
    assert np.max(np.abs(Md - Md.T)) > 1e-6 * np.abs(Md).max()
    M = schwarz_preconditioner(dec, coarse="hat")
    x = np.random.default_rng(4).standard_normal(dec.n)
    assert np.allclose(M @ x, M.overlapping @ x + M.coarse @ x)
    assert np.array_equal(CoarseOperator(dec, coarse="none") @ x, np.zeros(dec.n))
    X = np.random.default_rng(2).standard_normal((dec.n, 5))
    assert np.allclose(M @ X, np.column_stack([M @ X[:, k] for k in range(5)]), rtol=1e-13, atol=1e-15)


def test_a_given_coarse_matrix_is_the_named_one():
    dec = Decomposition(Problem((15, 15)), 4, 1)
    x = np.random.default_rng(0).standard_normal(dec.n)
    named = schwarz_preconditioner(dec, coarse="hat")
    given_ = schwarz_preconditioner(dec, coarse=dec.coarse_space("hat"))
    assert np.allclose(named @ x, given_ @ x, rtol=1e-13) and given_.coarse.coarse == "given"


def test_memory_is_linear_in_n():
    """Stored bytes per node stay constant when n doubles at fixed H/h (the O(n) memory claim)."""
    per_node = [schwarz_preconditioner(Decomposition(Problem(64 * N - 1), N, 4)).nbytes / (64 * N)
                for N in (64, 128, 256)]
    assert max(per_node) / min(per_node) < 1.05 and max(per_node) < 200


@pytest.mark.parametrize("call,match", [
    (lambda d: schwarz_preconditioner(d, weighting="multiplicative"), "weighting must be one of"),
    (lambda d: schwarz_preconditioner(d, coarse="gdsw"), "coarse must be one of"),
    (lambda d: schwarz_preconditioner(d, partition="smooth"), "partition must be one of"),
    (lambda d: OverlappingOperator(d, A=Problem(31).matrix()), "A must have shape \\(63, 63\\)"),
    (lambda d: OverlappingOperator(d, A=sp.eye(63) + sp.eye(63, k=1)), "A must be symmetric"),
    (lambda d: OverlappingOperator(d, A=-Problem(63).matrix()), "A must be positive definite"),
    (lambda d: OverlappingOperator("not a decomposition"), "dec must be"),
    (lambda d: CoarseOperator(d, coarse=sp.eye(10)), "n x N_0 matrix with n = 63"),
    (lambda d: _measure(63, 4, 1, weighting="left"), "weighting must be 'none' or 'sqrt'"),
    (lambda d: theory_shape(d, 3), "levels must be an integer in \\[1, 2\\]"),
    (lambda d: fit_constant([]), "rows must hold"),
    (lambda d: scaling_study({"H": [(15, 2, 1)]}), "study must be one of"),
    (lambda d: hat_two_level_bound(Decomposition(Problem((7, 7)), 2, 1)), "1D theorem"),
    (lambda d: schwarz_preconditioner(Decomposition(Problem((3, 3)), 2, 1), coarse="spectral", per_box=3),
     "linearly dependent"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call(Decomposition(Problem(63), 4, 1))


@pytest.mark.slow
def test_two_level_at_n_2_to_the_20():
    """n = 2^20 - 1, N = 1024, delta = 8: O(n) storage (under 100 bytes per node) and PCG to 1e-8 in few steps."""
    from ddlib.krylov import pcg

    dec = Decomposition(Problem(2**20 - 1), 1024, 8)
    A = dec.problem.matrix()
    M = schwarz_preconditioner(dec, A)
    assert M.nbytes / dec.n < 100
    b = np.random.default_rng(0).standard_normal(dec.n)
    res = pcg(A, b, M, rtol=1e-8, maxiter=50)
    assert res.converged and res.iterations <= 20
