r"""What a practitioner would use: algebraic multigrid (pyamg :cite:p:`bell2023pyamg`) as a CG preconditioner, timed
against two-level Schwarz and a sparse direct solve on the same high-contrast problem.

Every iterative method here is the same preconditioned CG (:func:`ddlib.krylov.pcg`, zero start, stopped at
:math:`\|r\|_2 \le 10^{-8}\|b\|_2`), so the iteration counts compare preconditioners and nothing else. A run records
the **setup** seconds (building the hierarchy or the factorizations) and the **solve** seconds (the CG iterations)
apart, and the load average of the machine before and after, since the timings of a shared machine vary with it.

**Solvers** (:data:`METHODS`):

``"direct"``
    the time reference: :func:`scipy.sparse.linalg.splu` of :math:`A` (SuperLU, minimum-degree ordering of
    :math:`A + A^T`, symmetric mode; setup = factorization, solve = the two triangular solves, 0 iterations);
``"sa_default"``, ``"rs_default"``
    pyamg's smoothed aggregation :cite:p:`vanek1996algebraic` and classical Ruge-Stüben AMG
    :cite:p:`ruge1987algebraic` with pyamg's defaults, one V-cycle per CG step;
``"sa"``, ``"rs"``
    the same, tuned as a practitioner would (:func:`tune_amg`): a small grid of strength-of-connection measures,
    thresholds and prolongation smoothers, scored on one problem by the work of a solve, :math:`(\text{CG
    iterations})\times(\text{operator complexity})` (deterministic, machine independent), the best kept;
``"schwarz_q1"``, ``"schwarz_geneo"``
    two-level additive Schwarz of :mod:`ddlib.schwarz` (all local problems factorized at once, exact coarse solve)
    with the Q1 or the GenEO coarse space (:mod:`ddlib.geneo`).

Examples
--------
>>> from ddlib.coefficients import channels
>>> from ddlib.problem import Problem
>>> P = Problem((63, 63), channels(63, 2, 1e4))
>>> rows = time_solvers(P, ["direct", "rs_default"], N=4)
>>> [(r["method"], r["iterations"], r["converged"]) for r in rows]
[('direct', 0, True), ('rs_default', 12, True)]
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pyamg
from scipy.sparse.linalg import LinearOperator, splu

from ._validate import check_choice, check_int, check_positive
from .coefficients import channels
from .decomposition import Decomposition
from .krylov import pcg
from .problem import Problem
from .schwarz import schwarz_preconditioner

__all__ = ["METHODS", "METHOD_LABELS", "METHOD_NAMES", "AMG_FAMILIES", "AMG_CANDIDATES", "TUNED", "BENCHMARK_FILE",
           "amg_hierarchy", "tune_amg", "time_solvers", "solver_comparison", "benchmark_rows", "report_amg",
           "load_average"]

#: The solvers of :func:`time_solvers` (module docstring).
METHODS = ("direct", "sa_default", "sa", "rs_default", "rs", "schwarz_q1", "schwarz_geneo")
#: How the text names each method.
METHOD_LABELS = {"direct": "the sparse direct solve", "sa_default": "smoothed aggregation with pyamg's defaults",
                 "sa": "tuned smoothed aggregation", "rs_default": "Ruge-Stüben with pyamg's defaults",
                 "rs": "tuned Ruge-Stüben", "schwarz_q1": "two-level Schwarz with Q1",
                 "schwarz_geneo": "two-level Schwarz with GenEO"}
#: How tables name each method and AMG family.
METHOD_NAMES = {"direct": "direct (SuperLU)", "sa_default": "SA, defaults", "sa": "SA, tuned",
                "rs_default": "RS, defaults", "rs": "RS, tuned", "schwarz_q1": "Schwarz, Q1",
                "schwarz_geneo": "Schwarz, GenEO", "sa_family": "SA", "rs_family": "RS"}
#: pyamg's builders by family.
AMG_FAMILIES = {"sa": pyamg.smoothed_aggregation_solver, "rs": pyamg.ruge_stuben_solver}
_ENERGY = ("energy", {"krylov": "cg", "maxiter": 3, "degree": 2, "weighting": "local"})
_EVOLUTION = ("evolution", {"k": 2, "proj_type": "l2", "epsilon": 4.0})
#: The tuning grid per family (name -> keyword arguments of the pyamg builder); ``"default"`` is pyamg's defaults.
AMG_CANDIDATES = {
    "sa": {
        "default": {},
        "symmetric 0.1": dict(strength=("symmetric", {"theta": 0.1})),
        "symmetric 0.25": dict(strength=("symmetric", {"theta": 0.25})),
        "symmetric 0.1, energy": dict(strength=("symmetric", {"theta": 0.1}), smooth=_ENERGY),
        "evolution": dict(strength=_EVOLUTION),
        "evolution, energy": dict(strength=_EVOLUTION, smooth=_ENERGY),
    },
    "rs": {
        "default": {},
        "classical 0.5": dict(strength=("classical", {"theta": 0.5})),
        "classical 0.5, second pass": dict(strength=("classical", {"theta": 0.5}),
                                           CF=("RS", {"second_pass": True})),
        "classical 0.25, second pass": dict(CF=("RS", {"second_pass": True})),
    },
}
#: The candidates :func:`tune_amg` chose on the reference tuning problem (the channel field, m = 255, contrast
#: 1e4), recorded so that a benchmark need not tune again; ``tests/test_amg.py`` checks that tuning still picks them.
TUNED = {"sa": "evolution", "rs": "classical 0.25, second pass"}


def load_average() -> float:
    """The 1-minute load average of the machine (how many processes competed for its cores)."""
    return float(os.getloadavg()[0])


def amg_hierarchy(A, family: str, candidate: str = "default"):
    """The pyamg hierarchy of ``family`` (``"sa"`` or ``"rs"``) with the options of ``candidate``
    (:data:`AMG_CANDIDATES`)."""
    family = check_choice("family", family, tuple(AMG_FAMILIES))
    candidate = check_choice("candidate", candidate, tuple(AMG_CANDIDATES[family]))
    return AMG_FAMILIES[family](A.tocsr(), **AMG_CANDIDATES[family][candidate])


def tune_amg(A, b, family: str, *, rtol: float = 1e-8, maxiter: int = 200) -> dict:
    r"""Choose the candidate of ``family`` with the least work :math:`(\text{iterations})\times(\text{operator
    complexity})` for CG with one V-cycle per step on :math:`Ax = b` (a candidate that does not converge in
    ``maxiter`` steps scores :math:`\infty`). Returns ``choice`` and ``rows`` (``candidate, iterations, converged,
    operator_complexity, levels, work``)."""
    rows = []
    for name in AMG_CANDIDATES[check_choice("family", family, tuple(AMG_FAMILIES))]:
        ml = amg_hierarchy(A, family, name)
        res = pcg(A, b, ml.aspreconditioner(cycle="V"), rtol=rtol, maxiter=maxiter)
        opc = float(ml.operator_complexity())
        rows.append(dict(candidate=name, iterations=res.iterations, converged=res.converged, operator_complexity=opc,
                         levels=len(ml.levels), work=res.iterations * opc if res.converged else float("inf")))
    best = min(rows, key=lambda r: (r["work"], r["iterations"]))
    return {"choice": best["candidate"], "rows": rows}


def _direct(A):
    lu = splu(A.tocsc(), permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options=dict(SymmetricMode=True))
    return LinearOperator(A.shape, matvec=lu.solve, dtype=np.float64)


def _builder(method: str, problem: Problem, N: int, delta: int, tau: float):
    """A function A -> preconditioner (a LinearOperator) for ``method``."""
    if method == "direct":
        return _direct
    if method.startswith("schwarz"):
        dec = Decomposition(problem, N, delta, split="round")
        coarse = dict(coarse="hat") if method == "schwarz_q1" else dict(coarse="geneo", tau=tau)
        return lambda A: schwarz_preconditioner(dec, A, **coarse)
    family, _, tuned = method.partition("_")
    candidate = "default" if tuned == "default" else TUNED[family]
    return lambda A: amg_hierarchy(A, family, candidate).aspreconditioner(cycle="V")


def time_solvers(problem: Problem, methods=METHODS, *, N: int = 4, delta: int = 1, tau: float = 0.15,
                 rtol: float = 1e-8, maxiter: int = 500, seed: int = 0) -> list[dict]:
    r"""Solve :math:`Ax = b` (``b`` standard normal, ``numpy.random.default_rng(seed)``) with each method, one at a
    time (module docstring).

    ``N`` and ``delta`` are the boxes per direction and the overlap of the Schwarz methods (``"round"`` split).
    Returns one row per method: ``n, m, method, iterations, converged, setup_s, solve_s, residual``
    (:math:`\|b - Ax\|_2/\|b\|_2`), ``coarse_dim`` (Schwarz; 0 otherwise), ``load_before, load_after``, and the
    solution's relative :math:`A`-norm distance to the direct solution, ``error_vs_direct`` (NaN without
    ``"direct"`` among the methods, which then runs first).
    """
    methods = [check_choice("methods[i]", m, METHODS) for m in methods]
    methods = sorted(methods, key=lambda m: m != "direct")
    rtol, maxiter = check_positive("rtol", rtol), check_int("maxiter", maxiter, low=1)
    A = problem.matrix()
    b = np.random.default_rng(check_int("seed", seed, low=0)).standard_normal(problem.n)
    rows, x_ref = [], None
    for method in methods:
        row, x = _time_one(A, b, method, _builder(method, problem, N, delta, tau), rtol, maxiter)
        if method == "direct":
            x_ref = x
        e = np.nan if x_ref is None else np.sqrt((x - x_ref) @ (A @ (x - x_ref)) / (x_ref @ (A @ x_ref)))
        rows.append(dict(n=problem.n, m=problem.m, **row, error_vs_direct=float(e)))
    return rows


def _time_one(A, b, method, build, rtol, maxiter):
    load_before = load_average()
    t0 = time.perf_counter()
    M = build(A)
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    if method == "direct":
        x, its, ok = M.matvec(b), 0, True
    else:
        res = pcg(A, b, M, rtol=rtol, maxiter=maxiter)
        x, its, ok = res.x, res.iterations, res.converged
    solve = time.perf_counter() - t0
    coarse = int(getattr(getattr(M, "coarse", None), "n_coarse", 0))
    row = dict(method=method, iterations=int(its), converged=bool(ok), setup_s=setup, solve_s=solve,
               residual=float(np.linalg.norm(b - A @ x) / np.linalg.norm(b)), coarse_dim=coarse,
               load_before=load_before, load_after=load_average())
    return row, x


def solver_comparison(ms, contrast: float = 1e4, *, H_over_h: int = 16, methods=METHODS, geneo_max_n: int = 300_000,
                      **kw) -> list[dict]:
    r""":func:`time_solvers` on the channel field (:func:`ddlib.coefficients.channels`) of contrast ``contrast`` for
    each ``m`` in ``ms``, with :math:`N = \mathrm{round}((m+1)/(H/h))` boxes per direction (fixed :math:`H/h`);
    ``"schwarz_geneo"`` only up to ``geneo_max_n`` unknowns (its local eigenproblems are the expensive part).
    Rows carry ``contrast``, ``N`` and ``H_over_h`` too."""
    rows = []
    for m in ms:
        m = check_int("ms[i]", m, low=3)
        N = max(2, int(round((m + 1) / check_int("H_over_h", H_over_h, low=2))))
        P = Problem((m, m), channels(m, 2, contrast))
        chosen = [x for x in methods if x != "schwarz_geneo" or P.n <= geneo_max_n]
        for r in time_solvers(P, chosen, N=N, **kw):
            rows.append(dict(r, contrast=float(contrast), N=N, H_over_h=H_over_h))
    return rows


#: Where ``benchmarks/bench_amg.py`` writes its rows (relative to the project root).
BENCHMARK_FILE = "_build/bench_amg.json"


def benchmark_rows(root, fallback_ms=(63, 127, 255), contrast: float = 1e4,
                   H_over_h: int = 16) -> tuple[list[dict], str]:
    """The rows of the AMG benchmark (``root / BENCHMARK_FILE``, written by ``make bench``) and ``"benchmark"``, or,
    when that file is absent, :func:`solver_comparison` at the sizes ``fallback_ms`` and ``"small run"``."""
    path = Path(root) / BENCHMARK_FILE
    if path.is_file():
        return json.loads(path.read_text())["rows"], "benchmark"
    return solver_comparison(fallback_ms, contrast, H_over_h=H_over_h), "small run"


def report_amg(rows: list[dict]) -> dict:
    r"""The numbers the chapter quotes from the ``numbers.amg`` rows: the largest size ``n_max`` and, per method,
    the row at the largest ``n`` that method ran (``n_<method>``, ``its_<method>``, ``residual_<method>`` (the
    relative residual reached), ``total_<method>`` (setup + solve seconds)); among the methods that ran and
    converged at ``n_max``, the ``fastest`` (its label from ``labels``, default the method name) with
    ``fastest_total`` seconds and ``direct_over_fastest`` (the direct solve's seconds over the fastest's); the
    largest load average seen ``load_max``, the ``contrast`` and the Schwarz box width ``H_over_h``."""
    if not rows:
        raise ValueError("rows must hold at least one timing")
    n_max = max(r["n"] for r in rows)
    out = {"n_max": n_max, "load_max": max(max(r["load_before"], r["load_after"]) for r in rows),
           "contrast": rows[0]["contrast"], "H_over_h": rows[0]["H_over_h"]}
    for r in sorted(rows, key=lambda r: r["n"]):      # the last row of each method is its largest size
        m = r["method"]
        out.update({f"n_{m}": r["n"], f"its_{m}": r["iterations"], f"residual_{m}": r["residual"],
                    f"total_{m}": r["setup_s"] + r["solve_s"]})
    top = [r for r in rows if r["n"] == n_max and r["converged"]]
    fastest = min(top, key=lambda r: r["setup_s"] + r["solve_s"])
    out["fastest"] = METHOD_LABELS[fastest["method"]]
    out["fastest_total"] = fastest["setup_s"] + fastest["solve_s"]
    out["direct_over_fastest"] = out.get("total_direct", float("nan")) / out["fastest_total"]
    return out
