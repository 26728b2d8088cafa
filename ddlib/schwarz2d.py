r"""One- and two-level overlapping Schwarz preconditioners for the 2D 5-point Laplacian, and their condition numbers.

The 2D counterpart of :mod:`ddlib.schwarz`, on a :class:`ddlib.decomposition2d.Decomposition2D`:

.. math::

    M^{-1} \;=\; \Phi A_0^{-1} \Phi^T \;+\; \sum_{i=1}^{N^2} R_i^T W_i^{L} A_i^{-1} W_i^{R} R_i,
    \qquad A_i = R_i A R_i^T, \quad A_0 = \Phi^T A \Phi \ \text{(Galerkin)},

with the weightings of 1D (``weighting``, :data:`ddlib.decomposition.WEIGHTINGS`, one vocabulary across the package):
:math:`(W^L_i, W^R_i) = (I, I)` (``"none"``, additive Schwarz, ASM), :math:`(D_i, I)` (``"left"``, restricted additive
Schwarz, RAS, not symmetric) or :math:`(D_i^{1/2}, D_i^{1/2})` (``"sqrt"``, the paper's symmetric weighted form). One
level: ``coarse="none"``.

**Implementation.** As in PETSc's ``PCASM`` the local problems are independent; here all :math:`N^2` of them are
factorized **once**, as one sparse LU (SuperLU, minimum-degree ordering of :math:`A + A^T`) of the block-diagonal
matrix :math:`\mathrm{blockdiag}(A_1, \dots, A_{N^2})` of order :math:`\sum_i n_i`. The weighted restriction
:math:`[W^R_1R_1; \dots]` and prolongation :math:`[R_1^TW^L_1, \dots]` are two sparse matrices, so one application is
two sparse products and one pair of triangular solves, with no Python loop over subdomains, for one vector or a block
of columns. The coarse matrix is sparse and factorized once as well. Any symmetric positive definite ``A`` with the
sparsity of the grid works (the local matrices are its principal submatrices).

**Theory** (:cite:t:`toselli2005domain`, ch. 3). With the generous overlap :math:`\delta_g` (:func:`overlap_width_2d`),
one level: :math:`\kappa \le C(1 + 1/(H\delta_g))`, which at fixed :math:`H/\delta_g` grows like :math:`1/H^2`; two
levels with the Q1 coarse space: :math:`\kappa \le C(1 + H/\delta_g)`, bounded in ``n`` at fixed :math:`H/h` and
:math:`H/\delta`. Additive Schwarz has :math:`\lambda_{\max} \le N_c` (one level) or :math:`N_c + 1` (two levels)
with the :math:`N_c` colours of :attr:`Decomposition2D.n_colors`.

Examples
--------
>>> import numpy as np
>>> from ddlib.decomposition2d import Decomposition2D
>>> from ddlib.problem2d import laplacian_2d
>>> dec = Decomposition2D(m=31, N=4, delta=2)
>>> M = schwarz_preconditioner_2d(dec, weighting="none", coarse="hat")
>>> from ddlib.krylov import pcg
>>> res = pcg(laplacian_2d(31), np.ones(dec.n), M, rtol=1e-10)
>>> res.converged, res.iterations < 30
(True, True)
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from ._validate import check_choice, check_int
from .decomposition import WEIGHTINGS
from .decomposition2d import COARSE_SPACES_2D, PARTITIONS_OF_UNITY, Decomposition2D
from .krylov import pcg_spectrum
from .problem2d import laplacian_2d
from .schwarz import _Operator, scaling_study  # the 1D operators' LinearOperator plumbing and study loop

__all__ = [
    "OverlappingOperator2D",
    "CoarseOperator2D",
    "SchwarzPreconditioner2D",
    "schwarz_preconditioner_2d",
    "to_dense",
    "overlap_width_2d",
    "theory_shape_2d",
    "measure_2d",
    "SERIES_2D",
    "default_studies_2d",
    "kappa_study_2d",
    "fit_constants_2d",
    "STUDY_AXIS_2D",
    "kappa_trends_2d",
]

def _check_dec(dec) -> Decomposition2D:
    if not isinstance(dec, Decomposition2D):
        raise ValueError(f"dec must be a ddlib.decomposition2d.Decomposition2D; got {type(dec).__name__}")
    return dec


def _check_matrix(A, n: int) -> sp.csr_matrix:
    """``A`` (default: the 5-point Laplacian) as CSR float64, checked to be ``n x n`` and symmetric."""
    if A is None:
        return laplacian_2d(int(round(np.sqrt(n))))
    A = sp.csr_matrix(A, dtype=np.float64)
    if A.shape != (n, n):
        raise ValueError(f"A must have shape ({n}, {n}) to match the decomposition; got {A.shape}")
    if abs(A - A.T).max() > 1e-12 * abs(A).max():
        raise ValueError("A must be symmetric")
    return A


class OverlappingOperator2D(_Operator):
    r"""The overlapping part :math:`\sum_i R_i^TW^L_iA_i^{-1}W^R_iR_i`, all local LUs in one factorization.

    Parameters
    ----------
    dec : Decomposition2D
    A : sparse matrix, optional
        Symmetric positive definite ``n x n``; default :func:`ddlib.problem2d.laplacian_2d`.
    weighting : {"none", "left", "sqrt"}
        :math:`(W^L, W^R) = (I, I)`, :math:`(D_i, I)` or :math:`(D_i^{1/2}, D_i^{1/2})`
        (:data:`ddlib.decomposition.WEIGHTINGS`).
    partition : {"multiplicity", "ramp", "boolean"}
        :math:`D_i` for ``"left"`` and ``"sqrt"`` (ignored by ``"none"``).
    """

    def __init__(self, dec: Decomposition2D, A=None, weighting: str = "none", partition: str = "multiplicity"):
        self.dec = _check_dec(dec)
        self.weighting = check_choice("weighting", weighting, WEIGHTINGS)
        self.partition = check_choice("partition", partition, PARTITIONS_OF_UNITY)
        A = _check_matrix(A, dec.n)
        mask = dec.mask
        wl, wr = dec.padded_weights(partition, weighting)
        cols = dec.padded_indices[mask]                         # box by box, each box ascending
        rows = np.arange(cols.size)
        self.restrict = sp.csr_matrix((wr[mask], (rows, cols)), shape=(cols.size, dec.n))
        self.prolong = sp.csr_matrix((wl[mask], (cols, rows)), shape=(dec.n, cols.size))
        blocks = sp.block_diag([A[idx][:, idx] for idx in dec.indices], format="csc")
        self._lu = splu(blocks, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                        options=dict(SymmetricMode=True))
        self.symmetric = weighting != "left"
        super().__init__(dtype=np.float64, shape=(dec.n, dec.n))

    def _apply(self, x):
        return self.prolong @ self._lu.solve(np.asarray(self.restrict @ x))

    def _apply_transpose(self, x):
        return self.restrict.T @ self._lu.solve(np.asarray(self.prolong.T @ x), trans="T")

    @property
    def nbytes(self) -> int:
        """Bytes held by the LU factors and the two transfer matrices."""
        mats = (self._lu.L, self._lu.U, self.restrict, self.prolong)
        return sum(M.data.nbytes + M.indices.nbytes + M.indptr.nbytes for M in mats)


class CoarseOperator2D(_Operator):
    r"""The coarse part :math:`\Phi A_0^{-1}\Phi^T`, :math:`A_0 = \Phi^TA\Phi` factorized once (sparse LU).

    ``coarse``, ``partition`` and ``per_box`` select :math:`\Phi` (:meth:`Decomposition2D.coarse_space`);
    ``"none"`` gives the zero operator.
    """

    def __init__(self, dec: Decomposition2D, A=None, coarse: str = "hat", partition: str = "multiplicity",
                 per_box: int = 1):
        self.dec = _check_dec(dec)
        self.coarse = check_choice("coarse", coarse, COARSE_SPACES_2D)
        self.partition = check_choice("partition", partition, PARTITIONS_OF_UNITY)
        A = _check_matrix(A, dec.n)
        self.Phi = dec.coarse_space(coarse, partition, per_box).tocsr()
        self.n_coarse = self.Phi.shape[1]
        self._lu = None
        if self.n_coarse:
            try:
                self._lu = splu((self.Phi.T @ (A @ self.Phi)).tocsc())
                pivots = np.abs(self._lu.U.diagonal())
                if pivots.min() <= 1e-12 * pivots.max():
                    raise RuntimeError("numerically singular")
            except RuntimeError:
                raise ValueError(f"the coarse space {coarse!r} (per_box = {per_box}) is linearly dependent on {dec!r}: "
                                 "A_0 is singular; use fewer functions per box") from None
        super().__init__(dtype=np.float64, shape=(dec.n, dec.n))

    def _apply(self, x):
        if self._lu is None:
            return np.zeros_like(x)
        return self.Phi @ self._lu.solve(np.ascontiguousarray(self.Phi.T @ x))

    _apply_transpose = _apply


class SchwarzPreconditioner2D(_Operator):
    r"""The sum :math:`M^{-1} = \Phi A_0^{-1}\Phi^T + \sum_iR_i^TW^L_iA_i^{-1}W^R_iR_i` of its two parts.

    ``levels`` is 1 without a coarse part and 2 with one; ``symmetric`` unless the weighting is ``"left"``.
    """

    def __init__(self, overlapping: OverlappingOperator2D, coarse: CoarseOperator2D):
        self.overlapping, self.coarse = overlapping, coarse
        self.levels = 2 if coarse.n_coarse else 1
        self.symmetric = overlapping.symmetric
        super().__init__(dtype=np.float64, shape=overlapping.shape)

    def _apply(self, x):
        return self.overlapping._apply(x) + self.coarse._apply(x)

    def _apply_transpose(self, x):
        return self.overlapping._apply_transpose(x) + self.coarse._apply(x)

    def __repr__(self) -> str:
        o = self.overlapping
        return (f"SchwarzPreconditioner2D({o.dec!r}, weighting={o.weighting!r}, partition={o.partition!r}, "
                f"coarse={self.coarse.coarse!r})")


def schwarz_preconditioner_2d(dec: Decomposition2D, A=None, *, weighting: str = "none", coarse: str = "hat",
                              partition: str = "multiplicity", per_box: int = 1) -> SchwarzPreconditioner2D:
    r"""One- or two-level Schwarz preconditioner :math:`M^{-1}` on the 2D decomposition ``dec``.

    Parameters
    ----------
    dec : Decomposition2D
    A : sparse matrix, optional
        Symmetric positive definite; default the 5-point Laplacian.
    weighting : {"none", "left", "sqrt"}
        The weighting of the overlapping part (module docstring).
    coarse : {"hat", "nicolaides", "spectral", "none"}
        The coarse space (Q1 hats by default); ``"none"`` gives a one-level method.
    partition : {"multiplicity", "ramp", "boolean"}
        :math:`D_i` of the ``"left"`` and ``"sqrt"`` weightings and of the Nicolaides / spectral coarse spaces.
    per_box : int
        Coarse functions per box of the ``"spectral"`` space.

    Returns
    -------
    SchwarzPreconditioner2D
        A :class:`scipy.sparse.linalg.LinearOperator`, usable as ``M=`` in PCG (weightings ``"none"`` and ``"sqrt"``)
        or GMRES.
    """
    return SchwarzPreconditioner2D(OverlappingOperator2D(dec, A, weighting, partition),
                                   CoarseOperator2D(dec, A, coarse, partition, per_box))


def to_dense(op) -> np.ndarray:
    """The dense matrix of a LinearOperator (applied to the identity in one block); small ``n`` only."""
    n = check_int("op.shape[1]", op.shape[1], low=1, high=8192)
    return np.asarray(op @ np.eye(n))


# ------------------------------------------------------------------------------------------------ theory and studies
def overlap_width_2d(dec: Decomposition2D) -> float:
    r"""The geometric overlap :math:`\delta_g = (\delta + \tfrac12)h` per side, as in 1D
    (:func:`ddlib.schwarz.overlap_width`): neighbouring boxes share a strip of width :math:`(2\delta+1)h`."""
    return (dec.delta + 0.5) * dec.h


def theory_shape_2d(dec: Decomposition2D, levels: int) -> float:
    r"""The growth factor of the classical bounds without the constant: one level :math:`1 + 1/(H\delta_g)`, two
    levels :math:`1 + H/\delta_g`."""
    levels = check_int("levels", levels, low=1, high=2)
    dg = overlap_width_2d(dec)
    return 1.0 + (1.0 / (dec.H * dg) if levels == 1 else dec.H / dg)


def measure_2d(m: int, N: int, delta: int, *, weighting: str = "none", coarse: str = "hat",
               partition: str = "multiplicity", per_box: int = 1, seed: int = 0, rtol: float = 1e-8,
               kappa_rtol: float = 1e-10, dense_max: int = 256) -> dict:
    r"""Condition number of :math:`M^{-1}A` and PCG iterations for one 2D configuration.

    :math:`\kappa` is the ratio of the extreme eigenvalues: the dense spectrum when :math:`n \le` ``dense_max``
    (``method = "dense"``), else the Ritz values of the same PCG run continued to ``kappa_rtol`` (``method =
    "lanczos"``, a lower estimate that converges from inside; :mod:`ddlib.krylov`). ``pcg_iterations`` counts steps to
    :math:`\|r\|_2 \le \mathrm{rtol}\,\|b\|_2`, ``b`` standard normal from ``numpy.random.default_rng(seed)``, zero
    start. Symmetric weightings only (``"none"``, ``"sqrt"``).

    Returns
    -------
    dict
        ``m, n, N, delta, levels, coarse, kappa, pcg_iterations`` (the manifest rows ``kappa2d``) and ``weighting,
        partition, per_box, lambda_min, lambda_max, method, H_over_h, H_over_delta`` (:math:`H/\delta_g`),
        ``shape`` (:func:`theory_shape_2d`) and ``n_colors``.
    """
    if check_choice("weighting", weighting, WEIGHTINGS) == "left":
        raise ValueError("weighting must be 'none' or 'sqrt' (symmetric) for PCG; got 'left'")
    dec = Decomposition2D(m, N, delta)
    A = laplacian_2d(dec.m)
    M = schwarz_preconditioner_2d(dec, A, weighting=weighting, coarse=coarse, partition=partition, per_box=per_box)
    b = np.random.default_rng(check_int("seed", seed, low=0)).standard_normal(dec.n)
    sp_ = pcg_spectrum(A, M, b, rtol=rtol, kappa_rtol=kappa_rtol, dense_max=dense_max)
    return dict(m=dec.m, n=dec.n, N=dec.N, delta=dec.delta, levels=M.levels, coarse=coarse,
                kappa=sp_["kappa"], pcg_iterations=sp_["iterations"], weighting=weighting, partition=partition,
                per_box=per_box if coarse == "spectral" else None, lambda_min=sp_["lambda_min"],
                lambda_max=sp_["lambda_max"], method=sp_["method"], H_over_h=dec.box,
                H_over_delta=dec.H / overlap_width_2d(dec), shape=theory_shape_2d(dec, M.levels),
                n_colors=dec.n_colors)


#: The preconditioners of the 2D κ study (keyword arguments of :func:`measure_2d`).
SERIES_2D = {
    "one-level ASM": dict(weighting="none", coarse="none", partition="multiplicity"),
    "two-level ASM, Q1": dict(weighting="none", coarse="hat", partition="multiplicity"),
    "two-level ASM, Nicolaides": dict(weighting="none", coarse="nicolaides", partition="ramp"),
    "two-level weighted, multiplicity": dict(weighting="sqrt", coarse="hat", partition="multiplicity"),
    "two-level weighted, ramp": dict(weighting="sqrt", coarse="hat", partition="ramp"),
}


def default_studies_2d(quick: bool = False) -> dict:
    r"""The three sweeps of the 2D κ study as ``{study: [(m, N, delta), ...]}``.

    ``"N"``: ``N = 2, 4, 8, 16`` at fixed :math:`H/h = 8`, :math:`\delta = 1` (so ``m = 8N - 1``, up to 127);
    ``"n"``: fixed ``N = 4`` and fixed :math:`H/\delta`: ``(m, delta) = (15, 1), (31, 2), (63, 4), (127, 8)``;
    ``"delta"``: ``m = 63``, ``N = 4`` (:math:`H/h = 16`), ``delta = 0, 1, 2, 4, 8``. ``quick`` drops the largest
    grid of each sweep.
    """
    studies = {"N": [(8 * N - 1, N, 1) for N in (2, 4, 8, 16)],
               "n": [(15, 4, 1), (31, 4, 2), (63, 4, 4), (127, 4, 8)],
               "delta": [(63, 4, d) for d in (0, 1, 2, 4, 8)]}
    if quick:
        studies = {"N": studies["N"][:3], "n": studies["n"][:3], "delta": [(31, 4, d) for d in (0, 1, 2, 4)]}
    return studies


def kappa_study_2d(studies: dict | None = None, series: dict | None = None, **measure_kw) -> list[dict]:
    """:func:`measure_2d` for every configuration of every study and series; rows get ``study`` and ``series``.

    ``studies`` defaults to :func:`default_studies_2d`, ``series`` to :data:`SERIES_2D`; ``measure_kw`` goes to
    every call (``seed``, ``rtol``, ``dense_max``, ...).
    """
    studies = default_studies_2d() if studies is None else studies
    return scaling_study(studies, SERIES_2D if series is None else series, measure_fn=measure_2d, **measure_kw)


def fit_constants_2d(rows: list[dict]) -> dict:
    r"""Per series, the smallest :math:`C` with :math:`\kappa \le C\cdot` ``shape`` on all its rows; sets
    ``row["bound"] = C * shape``. The curve shows the predicted *shape* of the classical bound, not an independent
    bound (the constants of the 2D theory are not explicit)."""
    if not rows:
        raise ValueError("rows must hold at least one measurement")
    constants: dict = {}
    for r in rows:
        constants[r["series"]] = max(constants.get(r["series"], 0.0), r["kappa"] / r["shape"])
    for r in rows:
        r["bound"] = constants[r["series"]] * r["shape"]
    return constants


#: The quantity each study of :func:`default_studies_2d` varies (a key of the :func:`measure_2d` rows).
STUDY_AXIS_2D = {"N": "N", "n": "n", "delta": "H_over_delta"}


def kappa_trends_2d(rows: list[dict]) -> list[dict]:
    r"""Per study and series of :func:`kappa_study_2d` rows: how :math:`\kappa` and the PCG iterations move along the
    study's axis :math:`x` (:data:`STUDY_AXIS_2D`: ``N``, ``n`` or :math:`H/\delta_g`).

    Returns one record per ``(study, series)`` with ``x_first``, ``x_last``, ``kappa_first``, ``kappa_last``,
    ``kappa_max``, ``iterations_first``, ``iterations_last``, ``growth`` :math:`= \kappa_{last}/\kappa_{first}`,
    ``exponent``, the least-squares slope :math:`p` of :math:`\log\kappa = \log c + p\log x`, and
    ``last_exponent``, the slope between the last two points (the trend at the largest ``x``); NaN with fewer than two
    distinct ``x``. Theory (:func:`theory_shape_2d`) at fixed :math:`H/\delta_g`: one level
    :math:`\kappa \sim N^2` (``p = 2`` against ``N``), two levels bounded (``p = 0``); against ``n = m^2`` a growth
    like :math:`1/h` is ``p = 1/2``.
    """
    if not rows:
        raise ValueError("rows must hold at least one measurement")
    groups: dict = {}
    for r in rows:
        groups.setdefault((check_choice("study", r["study"], tuple(STUDY_AXIS_2D)), r["series"]), []).append(r)
    out = []
    for (study, series), sel in groups.items():
        key = STUDY_AXIS_2D[study]
        sel = sorted(sel, key=lambda r: r[key])
        x = np.array([r[key] for r in sel], dtype=np.float64)
        k = np.array([r["kappa"] for r in sel], dtype=np.float64)
        p = float(np.polyfit(np.log(x), np.log(k), 1)[0]) if np.unique(x).size >= 2 else float("nan")
        last = float(np.log(k[-1] / k[-2]) / np.log(x[-1] / x[-2])) if x.size >= 2 and x[-1] > x[-2] else float("nan")
        out.append(dict(study=study, series=series, x_first=float(x[0]), x_last=float(x[-1]),
                        kappa_first=float(k[0]), kappa_last=float(k[-1]), kappa_max=float(k.max()),
                        iterations_first=int(sel[0]["pcg_iterations"]), iterations_last=int(sel[-1]["pcg_iterations"]),
                        growth=float(k[-1] / k[0]), exponent=p, last_exponent=last))
    return out
