r"""Classical Schwarz: the studies of the chapter "Two-level overlapping Schwarz", as plain rows and records.

The preconditioners and their theory are :mod:`ddlib.schwarz`; this module measures them the way the chapter tells
them and turns the measurements into the records the chapter glues and tabulates:

* :func:`partition_error`: how far the partitions of unity (and the squares of their roots) miss
  :math:`\sum_i R_i^T D_i R_i = I`;
* :func:`headline_rows` and :func:`report_headline`: every preconditioner on one configuration (unpreconditioned
  CG, the :data:`ddlib.schwarz.SERIES` under PCG, restricted additive Schwarz under GMRES);
* :func:`report_scaling` and :func:`scaling_summary`: what the three scaling studies of
  :func:`ddlib.schwarz.scaling_study` show, beside what theory predicts;
* :func:`lanczos_gap` and :func:`eigenvalues_off_one`: the Lanczos estimates against dense spectra, and how many
  eigenvalues of :math:`M^{-1}A` a local solve leaves away from 1;
* :func:`exact_remainder` and :func:`weighted_gap`: the exact 1D decomposition to rounding, and how far the paper's
  weighted form with exact blocks is from :math:`A^{-1}`;
* :func:`cost_record`: building and applying the two-level preconditioner at scale.

Every sentence the chapter builds from these reads right for any outcome: its varying words are phrases made here
or by :func:`ddlib.tables.change_text` and :func:`ddlib.tables.trend_text`.

Examples
--------
>>> rows = headline_rows(63, 4, 2)
>>> [r["preconditioner"] for r in rows][:3]
['none', 'one-level ASM', 'two-level ASM, hat']
>>> report_headline(rows)["lmin_hat"] >= 1 - 1e-12   # the 1D theorem: lambda_min >= 1
True
"""
from __future__ import annotations

import numpy as np

from ._validate import check_int, check_positive
from .decomposition import Decomposition
from .krylov import dense_condition_number, dense_spectrum, gmres_iterations, pcg
from .problem import Problem
from .schwarz import SERIES, exact_decomposition, kappa_trends, measure, schwarz_preconditioner, to_dense
from .tables import change_cell, change_text, trend_text
from .timing import time_callable

__all__ = ["PARTITIONS", "partition_error", "headline_rows", "report_headline", "report_scaling", "scaling_summary",
           "lanczos_gap", "eigenvalues_off_one", "exact_remainder", "weighted_gap", "cost_record"]

#: The partitions of unity the chapter draws.
PARTITIONS = ("multiplicity", "ramp", "boolean")
#: Names of the series the reports read (keys of :data:`ddlib.schwarz.SERIES`).
_ONE, _HAT, _NIC = "one-level ASM", "two-level ASM, hat", "two-level ASM, Nicolaides"
_WM, _WR = "two-level weighted, multiplicity", "two-level weighted, ramp"
#: The verbs of :func:`ddlib.tables.change_text` for a plural subject ("the iterations fall from 16 to 8").
_PLURAL = dict(up="rise", down="fall", same="stay at")
#: How the chapter names each study's varied quantity.
_STUDY_NAMES = {"N": "the number of subdomains", "n": "the grid size", "delta": "the overlap"}


def partition_error(dec: Decomposition, kinds=PARTITIONS) -> float:
    r"""The largest :math:`\|\sum_i R_i^T D_i R_i\mathbf 1 - \mathbf 1\|_\infty` over the partitions ``kinds`` and
    over :math:`D_i` and :math:`(D_i^{1/2})^2` (the paper's symmetric weights).

    Examples
    --------
    >>> partition_error(Decomposition(Problem(63), 4, 3)) < 1e-14
    True
    """
    err = 0.0
    idx = dec.padded_indices[dec.mask]
    for kind in kinds:
        w = dec.padded_partition_of_unity(kind)
        for v in (w, np.sqrt(w) ** 2):
            total = np.bincount(idx, weights=v[dec.mask], minlength=dec.n)
            err = max(err, float(np.max(np.abs(total - 1.0))))
    return err


def headline_rows(n: int, N: int, delta: int, *, seed: int = 0, rtol: float = 1e-8) -> list[dict]:
    r"""Every preconditioner on the 1D problem with ``n`` nodes, ``N`` subdomains and overlap ``delta``.

    Rows ``preconditioner, method, kappa, lambda_min, lambda_max, iterations``: unpreconditioned CG (dense
    :math:`\kappa(A)`), each series of :data:`ddlib.schwarz.SERIES` under PCG (:func:`ddlib.schwarz.measure`), and
    one- and two-level restricted additive Schwarz with Boolean :math:`D_i` under GMRES (iterations only: RAS is not
    symmetric). All solve for one standard normal ``b`` from ``default_rng(seed)`` to relative residual ``rtol``.
    """
    problem = Problem(check_int("n", n, low=3))
    A = problem.matrix()
    b = np.random.default_rng(check_int("seed", seed, low=0)).standard_normal(problem.n)
    rows = [dict(preconditioner="none", method="CG", kappa=dense_condition_number(A),
                 iterations=pcg(A, b, rtol=rtol).iterations)]
    for name, kw in SERIES.items():
        r = measure(problem, N, delta, seed=seed, rtol=rtol, **kw)
        rows.append(dict(preconditioner=name, method="PCG", kappa=r["kappa"], lambda_min=r["lambda_min"],
                         lambda_max=r["lambda_max"], iterations=r["pcg_iterations"]))
    dec = Decomposition(problem, N, delta)
    for levels, coarse in ((1, "none"), (2, "hat")):
        M = schwarz_preconditioner(dec, A, weighting="left", coarse=coarse, partition="boolean")
        rows.append(dict(preconditioner=f"{levels}-level RAS (Boolean)", method="GMRES",
                         iterations=gmres_iterations(A, b, M, rtol=rtol)["iterations"]))
    return rows


def report_headline(rows: list[dict]) -> dict:
    r"""What the coarse level does on the :func:`headline_rows`: ``kappa_one``, ``kappa_hat``, ``lmin_hat`` and the
    phrases ``kappa_change`` (one level to two-level ASM with hats), ``its_change`` (their PCG iterations) and
    ``ras_change`` (RAS one to two levels, GMRES iterations), each from :func:`ddlib.tables.change_text`."""
    by = {r["preconditioner"]: r for r in rows}
    one, hat = by[_ONE], by[_HAT]
    ras1, ras2 = by["1-level RAS (Boolean)"], by["2-level RAS (Boolean)"]
    return dict(kappa_one=float(one["kappa"]), kappa_hat=float(hat["kappa"]), lmin_hat=float(hat["lambda_min"]),
                kappa_change=change_text(one["kappa"], hat["kappa"]),
                its_change=change_text(int(one["iterations"]), int(hat["iterations"]), **_PLURAL),
                ras_change=change_text(int(ras1["iterations"]), int(ras2["iterations"]), **_PLURAL))


def _pick(rows: list[dict], study: str, series: str, key: str) -> np.ndarray:
    """One column of one series in one study, ordered by the varied quantity."""
    sel = sorted((r for r in rows if r["study"] == study and r["series"] == series), key=lambda r: r[study])
    return np.array([r[key] for r in sel])


def report_scaling(rows: list[dict], constants: dict) -> dict:
    r"""The numbers and phrases the chapter quotes from :func:`ddlib.schwarz.scaling_study` rows (with the bounds of
    :func:`ddlib.schwarz.add_bounds`, whose fitted constants ``constants`` maps series name -> :math:`C`).

    Two-level ASM with hats: ``lmin_hat`` (smallest eigenvalue, every study), ``k_hat_max`` and ``k_hat_verdict``
    (whether :math:`\kappa \le 3`, the 1D theorem), ``its_hat_delta`` (:func:`ddlib.tables.trend_text` of its PCG
    iterations against the overlap). One level: ``per_doubling_N`` and ``per_doubling_n``, :math:`2^p` with
    :math:`p` the fitted exponent of :math:`\kappa` against :math:`N` and :math:`n`
    (:func:`ddlib.schwarz.kappa_trends`; theory 2 and 4), ``its_one_delta0`` and ``kappa_one_delta0`` at the smallest
    overlap. Nicolaides: ``nic_spread``, how much :math:`\kappa/(1 + H/\delta_g)` varies (largest over smallest),
    ``nic_hd_spread``, how much :math:`H/\delta_g` varies, and ``nic_low``, where the smallest ratio sits. The
    weighted form: ``k_wr_max`` (ramp, largest :math:`\kappa` of the overlap study) and ``wm_change``
    (multiplicity, :math:`\kappa` from the smallest to the largest overlap). Also ``delta_first``, ``delta_last``
    and ``n_rows``.
    """
    if not rows:
        raise ValueError("rows must hold at least one measurement")
    trends = {(t["study"], t["series"]): t for t in kappa_trends(rows)}
    hat = [r for r in rows if r["series"] == _HAT]
    nic = [r for r in rows if r["series"] == _NIC]
    ratios = np.array([r["kappa"] / r["shape"] for r in nic])
    low = nic[int(np.argmin(ratios))]
    boundary = ", where both subdomains touch the Dirichlet boundary" if low["N"] == 2 else ""
    deltas = _pick(rows, "delta", _WM, "delta")
    k_wm = _pick(rows, "delta", _WM, "kappa")
    k_hat_max = max(r["kappa"] for r in hat)
    return dict(
        n_rows=len(rows), lmin_hat=float(min(r["lambda_min"] for r in hat)), k_hat_max=float(k_hat_max),
        k_hat_verdict="never exceeds 3" if k_hat_max <= 3 * (1 + 1e-12) else "exceeds 3",
        its_hat_delta=trend_text(_pick(rows, "delta", _HAT, "pcg_iterations")),
        per_doubling_N=float(2 ** trends["N", _ONE]["exponent"]),
        per_doubling_n=float(2 ** trends["n", _ONE]["exponent"]),
        its_one_delta0=int(_pick(rows, "delta", _ONE, "pcg_iterations")[0]),
        kappa_one_delta0=float(_pick(rows, "delta", _ONE, "kappa")[0]),
        nic_spread=float(ratios.max() / ratios.min()),
        nic_hd_spread=float(max(r["H_over_delta"] for r in nic) / min(r["H_over_delta"] for r in nic)),
        nic_low=(f"N = {low['N']:,} in the study against {_STUDY_NAMES[low['study']]} (n = {low['n']:,}, "
                 f"δ = {low['delta']}){boundary}"),
        k_wr_max=float(_pick(rows, "delta", _WR, "kappa").max()),
        wm_change=change_text(k_wm[0], k_wm[-1]), delta_first=int(deltas[0]), delta_last=int(deltas[-1]),
        C_one=float(constants[_ONE]), C_nic=float(constants[_NIC]))


def scaling_summary(rows: list[dict], constants: dict) -> list[dict]:
    r"""The chapter's table of what the scaling studies show: records ``preconditioner, quantity, measured,
    theory`` (the measured value as text, formatted as the table shows numbers, and the theory's prediction)."""
    rep = report_scaling(rows, constants)
    ns = _pick(rows, "n", _HAT, "n")
    m = int(round(_pick(rows, "n", _HAT, "H_over_h")[0]))
    n_N = int(_pick(rows, "N", _ONE, "n")[0])
    k_hat_n, k_one_d = _pick(rows, "n", _HAT, "kappa"), _pick(rows, "delta", _ONE, "kappa")
    nic = np.array([r["kappa"] / r["shape"] for r in rows if r["series"] == _NIC])
    hd = [r["H_over_delta"] for r in rows if r["series"] == _NIC]
    d0, d1 = rep["delta_first"], rep["delta_last"]
    wm_max, wm_min = _pick(rows, "delta", _WM, "lambda_max")[-1], _pick(rows, "delta", _WM, "lambda_min")[-1]
    out = [
        (_HAT, "smallest eigenvalue, all three studies", f"{rep['lmin_hat']:.6f}", "≥ 1"),
        (_HAT, "largest κ, all three studies", f"{rep['k_hat_max']:.4f}", "≤ 3"),
        (_HAT, f"κ, n = {ns[0]:,} → {ns[-1]:,} at H/h = {m}", change_cell(k_hat_n[0], k_hat_n[-1], 4), "bounded"),
        (_HAT, "most PCG iterations at any n (H/h fixed)", f"{_pick(rows, 'n', _HAT, 'pcg_iterations').max()}", ""),
        (_ONE, f"κ growth per doubling of N (n = {n_N:,})", f"{rep['per_doubling_N']:.2f}", "2"),
        (_ONE, "κ growth per doubling of n (H/h, δ fixed)", f"{rep['per_doubling_n']:.2f}", "4"),
        (_ONE, f"PCG iterations at n = {ns[-1]:,}", f"{_pick(rows, 'n', _ONE, 'pcg_iterations')[-1]}", ""),
        (_ONE, f"κ, δ = {d0} → {d1}", change_cell(k_one_d[0], k_one_d[-1], 4), "falls"),
        (_ONE, "fitted constant C", f"{rep['C_one']:.3f}", ""),
        (_NIC, "κ / (1 + H/δ_g), smallest → largest", change_cell(nic.min(), nic.max(), 4), "constant"),
        (_NIC, "H/δ_g, smallest → largest", change_cell(min(hd), max(hd), 4), ""),
        (_WR, "largest κ, overlap study", f"{rep['k_wr_max']:.4f}", "no theory"),
        (_WM, f"κ, δ = {d0} → {d1}", change_cell(*_pick(rows, "delta", _WM, "kappa")[[0, -1]], 4), "no theory"),
        (_WM, f"λ_max and λ_min at δ = {d1}", f"{wm_max:.4f} and {wm_min:.4f}", ""),
    ]
    return [dict(zip(("preconditioner", "quantity", "measured", "theory"), r)) for r in out]


def lanczos_gap(n: int, N: int, delta: int, *, seed: int = 0) -> float:
    r"""The largest relative difference between the Lanczos and the dense :math:`\kappa` over the
    :data:`ddlib.schwarz.SERIES` on one configuration (:func:`ddlib.schwarz.measure` with ``dense_max`` = ``n``
    and 0)."""
    gaps = [abs(measure(n, N, delta, seed=seed, dense_max=0, **kw)["kappa"]
                / measure(n, N, delta, seed=seed, dense_max=n, **kw)["kappa"] - 1) for kw in SERIES.values()]
    return float(max(gaps))


def eigenvalues_off_one(n: int, N: int, delta: int, *, tol: float = 1e-6) -> int:
    r"""How many eigenvalues of :math:`M^{-1}A` (two-level ASM with hats, 1D) lie farther than ``tol`` from 1.

    Every vector supported inside one subdomain and away from its boundary is reproduced by the local solve, so with
    little overlap most eigenvalues are exactly 1.
    """
    dec = Decomposition(Problem(n), N, delta)
    lam = dense_spectrum(dec.problem.matrix(), schwarz_preconditioner(dec, coarse="hat"))
    return int(np.sum(np.abs(lam - 1.0) > check_positive("tol", tol)))


def exact_remainder(n: int, N: int) -> float:
    r""":math:`\max|A^{-1} - \Phi A_0^{-1}\Phi^T - \sum_E R_E^T A_E^{-1} R_E| / \max|A^{-1}|` in 1D
    (:func:`ddlib.schwarz.exact_decomposition`): rounding, since the identity is exact.

    Examples
    --------
    >>> exact_remainder(63, 4) < 1e-13
    True
    """
    problem = Problem(check_int("n", n, low=3))
    coarse, local = exact_decomposition(problem, N)
    G = problem.inverse()
    return float(np.max(np.abs(G - coarse - local)) / np.max(np.abs(G)))


def weighted_gap(dec: Decomposition) -> float:
    r""":math:`\|A^{-1} - M_w^{-1}\|_2/\|A^{-1}\|_2` for the paper's weighted form :math:`M_w^{-1}` (exact
    :math:`A_i^{-1}`, multiplicity :math:`D_i^{1/2}` on both sides, hat coarse space) on ``dec``."""
    G = dec.problem.inverse()
    W = to_dense(schwarz_preconditioner(dec, weighting="sqrt", coarse="hat", partition="multiplicity"))
    return float(np.linalg.norm(G - W, 2) / np.linalg.norm(G, 2))


def cost_record(dec: Decomposition, *, seed: int = 0, rtol: float = 1e-8, repeats: int = 5) -> dict:
    r"""Build and apply two-level ASM with hats on ``dec`` and solve with PCG: ``n``, ``N``, ``delta``,
    ``build_ms`` and ``apply_ms`` (median wall-clock milliseconds, :func:`ddlib.timing.time_callable`),
    ``bytes_per_node`` (what the preconditioner stores) and ``iterations`` (PCG to ``rtol`` for a standard normal
    right-hand side from ``default_rng(seed)``)."""
    A = dec.problem.matrix()
    f = np.random.default_rng(check_int("seed", seed, low=0)).standard_normal(dec.n)
    M = schwarz_preconditioner(dec, A)
    build = time_callable(lambda: schwarz_preconditioner(dec, A), warmup=0, repeats=repeats, number=1)
    apply = time_callable(lambda: M @ f, repeats=repeats)
    return dict(n=dec.n, N=dec.N, delta=dec.delta, build_ms=1e3 * build.median, apply_ms=1e3 * apply.median,
                bytes_per_node=M.nbytes / dec.n, iterations=int(pcg(A, f, M, rtol=rtol).iterations))
