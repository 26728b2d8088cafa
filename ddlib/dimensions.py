r"""What changes from one dimension to the next: the records behind the chapter "Two and three dimensions".

Every function returns plain records (dicts of numbers and short strings) that the chapter glues or tabulates; none
writes a sentence.

* :func:`default_studies`: the three sweeps of the Schwarz study in 2D (against ``N`` at fixed :math:`H/h`, against
  ``n`` at fixed :math:`H/\delta`, against :math:`H/\delta_g`), the rows of :func:`ddlib.schwarz.scaling_study`;
* :func:`kappa_table`: one- and two-level (Q1) additive Schwarz on a grid of sizes, box counts and overlaps, in any
  dimension: the 3D table; :func:`bounded_in_n` reads the bounded-in-``n`` check at fixed :math:`H/h` from it;
* :func:`weyl_rows`: the Eckart-Young error of the global class against Weyl's law, per dimension;
* :func:`approximation_report`: the 2D approximation study (frontiers, structural floors, richer coarse spaces);
* :func:`floor_against_global`: the structural floor of the DD structure next to the global class at equal
  parameters, in any dimension (the 3D row).

Examples
--------
>>> rows = kappa_table([7], [2], [1], dim=3)
>>> [(r["coarse"], r["m"], r["N"], r["delta"]) for r in rows]
[('none', 7, 2, 1), ('q1', 7, 2, 1)]
"""
from __future__ import annotations

import numpy as np

from . import approximation as apx
from ._validate import check_int
from .decomposition import Decomposition
from .problem import Problem
from .schwarz import measure

__all__ = ["default_studies", "kappa_table", "bounded_in_n", "weyl_rows", "approximation_report",
           "floor_against_global", "COARSE_NAMES"]

#: The manifest's names of the coarse spaces of :func:`kappa_table`.
COARSE_NAMES = {"none": "none", "hat": "q1"}


def default_studies(quick: bool = False) -> dict:
    r"""The sweeps of the 2D study as ``{study: [(shape, N, delta), ...]}``: ``"N"``: ``N = 2, 4, 8, 16`` at
    :math:`H/h = 8`, :math:`\delta = 1`; ``"n"``: ``N = 4`` at fixed :math:`H/\delta`,
    ``(m, delta) = (15, 1), (31, 2), (63, 4), (127, 8)``; ``"delta"``: ``m = 63``, ``N = 4``, ``delta = 0, 1, 2, 4,
    8``. ``quick`` drops the largest grid of each sweep."""
    sq = lambda m: (m, m)  # noqa: E731
    studies = {"N": [(sq(8 * N - 1), N, 1) for N in (2, 4, 8, 16)],
               "n": [(sq(15), 4, 1), (sq(31), 4, 2), (sq(63), 4, 4), (sq(127), 4, 8)],
               "delta": [(sq(63), 4, d) for d in (0, 1, 2, 4, 8)]}
    if quick:
        studies = {"N": studies["N"][:3], "n": studies["n"][:3], "delta": [(sq(31), 4, d) for d in (0, 1, 2, 4)]}
    return studies


def kappa_table(ms, Ns, deltas, *, dim: int = 3, dense_max: int = 0, seed: int = 0) -> list[dict]:
    r"""One-level and two-level (hat, Q1 in 2D) additive Schwarz on the grids of ``m`` nodes per side in ``dim``
    dimensions, for every valid ``(m, N, delta)`` (:func:`ddlib.schwarz.measure`; :math:`\kappa` from the PCG run's
    Ritz values above ``dense_max`` unknowns). Rows: ``m, n, N, delta, coarse`` (``"none"`` or ``"q1"``), ``kappa,
    iterations, method, H_over_h, H_over_delta``."""
    rows = []
    for m in ms:
        for N in Ns:
            for delta in deltas:
                if (m + 1) % N or delta > (m + 1) // N - 1:
                    continue
                for coarse in ("none", "hat"):
                    r = measure((check_int("m", m, low=1),) * dim, N, delta, coarse=coarse, dense_max=dense_max,
                                seed=seed)
                    rows.append(dict(m=r["m"], n=r["n"], N=r["N"], delta=r["delta"], coarse=COARSE_NAMES[coarse],
                                     kappa=r["kappa"], iterations=r["pcg_iterations"], method=r["method"],
                                     H_over_h=r["H_over_h"], H_over_delta=r["H_over_delta"]))
    return rows


def bounded_in_n(rows: list[dict]) -> list[dict]:
    r"""From :func:`kappa_table` rows: per coarse space and overlap, the rows with the same :math:`H/h` at the
    smallest and the largest ``n``, with ``growth`` :math:`=\kappa_{large}/\kappa_{small}` and ``N_ratio`` (theory at
    fixed :math:`H/h` and :math:`\delta`: two levels bounded, one level growing like :math:`N^2`)."""
    out, groups = [], {}
    for r in rows:
        groups.setdefault((r["coarse"], r["delta"], r["H_over_h"]), []).append(r)
    for (coarse, delta, Hh), sel in sorted(groups.items()):
        if len(sel) < 2:
            continue
        small, large = min(sel, key=lambda r: r["n"]), max(sel, key=lambda r: r["n"])
        out.append(dict(coarse=coarse, delta=delta, H_over_h=Hh, n_small=small["n"], n_large=large["n"],
                        kappa_small=small["kappa"], kappa_large=large["kappa"],
                        growth=large["kappa"] / small["kappa"], N_ratio=large["N"] / small["N"],
                        iterations_small=small["iterations"], iterations_large=large["iterations"]))
    return out


def weyl_rows(problems, ranks) -> list[dict]:
    r"""Per problem and rank ``r`` (those below ``n``): ``dim, m, rank, eckart_young`` (:math:`\lambda_1/\lambda_{r+1}`)
    and ``weyl`` (:func:`ddlib.approximation.weyl_rate`, the area term: :math:`1/r^2`, :math:`1/r`, :math:`r^{-2/3}`
    in 1D, 2D, 3D)."""
    out = []
    for P in problems:
        r = np.array([k for k in ranks if k < P.n])
        for k, e, w in zip(r, apx.global_best_error(P, r), apx.weyl_rate(r, P.dim)):
            out.append(dict(dim=P.dim, m=P.m, rank=int(k), eckart_young=float(e), weyl=float(w)))
    return out


def floor_against_global(problem: Problem, N: int, delta: int, *, lower_bound: bool = True, G=None) -> dict:
    r"""The structural floor of the DD structure (:func:`ddlib.approximation.floor`, hat coarse space) next to the
    global class: ``params`` of the full-rank DD model, ``global_rank_equal_params`` :math:`= \min(n,
    \lfloor P/(2n)\rfloor)` and its Eckart-Young error ``global_error_equal_params``, and ``global_rank_for_floor``, the
    smallest global rank whose best error is at most the floor, with its parameters ``global_params_for_floor``."""
    row = apx.floor(problem, N, delta, lower_bound=lower_bound, G=G)
    r_eq = int(min(problem.n, row["params"] // (2 * problem.n)))
    r_floor = apx.global_rank_for_error(problem, row["floor_two_norm"])
    return row | dict(global_rank_equal_params=r_eq,
                      global_error_equal_params=float(apx.global_best_error(problem, [r_eq])[0]),
                      global_rank_for_floor=r_floor, global_params_for_floor=2 * problem.n * r_floor)


def approximation_report(problem: Problem, *, floor_Ns, floor_deltas, richer_N: int, oracle_Ns, oracle_delta: int,
                         oracle_ranks, front_ranks, richer=(("hat", {"refine": 2}),
                                                            ("spectral", {"per_box": 1, "partition": "ramp"}),
                                                            ("spectral", {"per_box": 3, "partition": "ramp"}))) -> dict:
    r"""The approximation study on ``problem``: ``floors`` (:func:`ddlib.approximation.floor_study` over
    ``floor_Ns`` x ``floor_deltas``), ``richer`` (richer coarse spaces at ``(richer_N, oracle_delta)``),
    ``global_front`` (:func:`ddlib.approximation.global_frontier`), ``oracle_fronts`` (the truncated Schwarz oracle
    with subdomain blocks and the ramp, per ``N`` in ``oracle_Ns``), ``front_floors`` (the floors of those
    configurations), and ``summary``: the records the chapter quotes (the oracle at the largest ``N`` against its
    floor and against the global class)."""
    G = problem.inverse()
    floors = apx.floor_study(problem, floor_Ns, floor_deltas)
    richer_rows = apx.floor_study(problem, [richer_N], [oracle_delta], richer)
    front = apx.global_frontier(problem, [r for r in front_ranks if r < problem.n])
    fronts = []
    for N in oracle_Ns:
        n_max = Decomposition(problem, N, oracle_delta).n_max
        fronts.append(apx.dd_frontier(problem, N, oracle_delta, [r for r in oracle_ranks if r <= n_max],
                                      partition="ramp", local_inverse="subdomain"))
    hat = {(r["N"], r["delta"]): r for r in floors if r["coarse"] == "hat"}
    top = fronts[-1]
    floor_top = hat[(top["N"], oracle_delta)]
    r_match = apx.global_rank_for_error(problem, float(top["error"][0]))
    summary = dict(oracle_N=top["N"], oracle_r1=float(top["error"][0]), oracle_r1_params=int(top["params"][0]),
                   oracle_best_over_floor=float(top["error"].min() / floor_top["floor_two_norm"]),
                   oracle_global_rank=r_match, oracle_global_params=2 * problem.n * r_match,
                   richer_base=hat[(richer_N, oracle_delta)]["floor_two_norm"],
                   galerkin_over_floor=hat[(richer_N, oracle_delta)]["galerkin_two_norm"]
                   / hat[(richer_N, oracle_delta)]["floor_two_norm"])
    summary |= {k: v for k, v in floor_against_global(problem, top["N"], oracle_delta, lower_bound=False,
                                                       G=G).items() if k.startswith("global_")}
    front_floors = [hat[(N, oracle_delta)] for N in oracle_Ns if (N, oracle_delta) in hat]
    return dict(floors=floors, richer=richer_rows, global_front=front, oracle_fronts=fronts,
                front_floors=front_floors, summary=summary)
