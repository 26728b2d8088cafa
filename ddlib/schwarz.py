r"""Overlapping Schwarz preconditioners, composed from an overlapping (local) operator and a coarse operator.

As in PETSc's ``PCASM`` and FROSch, a preconditioner is a sum of independent parts, each a
:class:`scipy.sparse.linalg.LinearOperator`:

.. math::

    M^{-1} \;=\; \underbrace{\Phi A_0^{-1} \Phi^T}_{\text{coarse part}}
    \;+\; \underbrace{\sum_{i=1}^{N} R_i^T W_i^{L} A_i^{-1} W_i^{R} R_i}_{\text{overlapping part}},
    \qquad A_i = R_i A R_i^T, \quad A_0 = \Phi^T A \Phi .

The overlapping part comes in three weightings (``weighting``, :data:`ddlib.decomposition.WEIGHTINGS`, the same names
as in :class:`ddlib.attention.DDAttention`), with :math:`D_i` a partition of unity
(:meth:`ddlib.decomposition.Decomposition.partition_of_unity`):

``"none"``   (additive Schwarz, ASM; :cite:t:`dryja1987additive`)
    :math:`W_i^L = W_i^R = I`; symmetric.
``"left"``   (restricted additive Schwarz, RAS; :cite:t:`cai1999restricted`)
    :math:`W_i^L = D_i`, :math:`W_i^R = I`; not symmetric (use GMRES). With Boolean :math:`D_i` this is PETSc's
    ``PC_ASM_RESTRICT``.
``"sqrt"``   (the paper's symmetric form, "weighted" Schwarz)
    :math:`W_i^L = W_i^R = D_i^{1/2}`; symmetric, and positive definite because :math:`\sum_i R_i^T D_i R_i = I`.

One level means no coarse part (``coarse="none"``); two levels add :math:`\Phi A_0^{-1}\Phi^T` with the hat or the
Nicolaides coarse space.

Implementation. The ``N`` local matrices are the principal tridiagonal blocks of the (tridiagonal) :math:`A`. They
are stacked, padded to ``n_max`` rows each with identity rows, into one block-diagonal tridiagonal matrix of order
``N n_max`` that is factorized **once** by LAPACK ``dpttrf`` (:math:`LDL^T`, all subdomains in one call). The
restriction, weighting and prolongation are two sparse matrices, so one application costs
:math:`O(N n_{\max}) = O(n + 2\delta N)` operations and memory, with no Python loop over subdomains. The coarse matrix
is sparse and factorized once by SuperLU.

Examples
--------
>>> import numpy as np
>>> from scipy.sparse.linalg import cg
>>> from ddlib.decomposition import Decomposition
>>> from ddlib.problem import laplacian_1d
>>> dec = Decomposition(n=255, N=8, delta=2)
>>> M = schwarz_preconditioner(dec, weighting="none", coarse="hat")
>>> A = laplacian_1d(255)
>>> x, info = cg(A, np.ones(255), M=M, rtol=1e-10)
>>> info, bool(np.linalg.norm(A @ x - 1) < 1e-8 * np.sqrt(255))
(0, True)
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.linalg.lapack import dpttrf, dpttrs
from scipy.sparse.linalg import LinearOperator, splu

from ._validate import check_choice, check_int
from .decomposition import COARSE_SPACES, PARTITIONS_OF_UNITY, WEIGHTINGS, Decomposition, element_decomposition
from .krylov import pcg_spectrum
from .problem import laplacian_1d

__all__ = [
    "PaddedTridiagonalSolver",
    "OverlappingOperator",
    "CoarseOperator",
    "SchwarzPreconditioner",
    "schwarz_preconditioner",
    "to_dense",
    "exact_decomposition",
    "overlap_width",
    "theory_shape",
    "hat_two_level_bound",
    "measure",
    "fit_constant",
    "SERIES",
    "scaling_study",
    "add_bounds",
]

def _check_matrix(A, n: int) -> sp.csr_matrix:
    """``A`` (default: the model problem) as a CSR float64 matrix, checked to be n x n, symmetric and tridiagonal."""
    if A is None:
        return laplacian_1d(n)
    A = sp.csr_matrix(A, dtype=np.float64)
    if A.shape != (n, n):
        raise ValueError(f"A must have shape ({n}, {n}) to match the decomposition; got {A.shape}")
    coo = A.tocoo()
    if np.any(np.abs(coo.row - coo.col) > 1):
        raise ValueError("A must be tridiagonal (the batched local solvers factor tridiagonal blocks)")
    if abs(A - A.T).max() > 1e-12 * abs(A).max():
        raise ValueError("A must be symmetric")
    return A


class PaddedTridiagonalSolver:
    r"""All local solves :math:`A_i^{-1}` of contiguous index sets, factorized once as one stacked tridiagonal matrix.

    Parameters
    ----------
    A : sparse matrix
        Symmetric positive definite tridiagonal ``n x n`` matrix.
    padded_indices : (N, n_max) int array
        Row ``i`` holds the contiguous node indices of block ``i`` in its first ``mask[i].sum()`` slots.
    mask : (N, n_max) bool array
        True on real slots. Padding slots get identity rows, decoupled from the real ones.

    Notes
    -----
    The stacked matrix :math:`B = \operatorname{blockdiag}(A_1, \dots, A_N)` (each :math:`A_i = R_i A R_i^T`
    padded with an identity block) has diagonal :math:`A_{jj}` on real slots, 1 on padding, and off-diagonal
    :math:`A_{j,j+1}` between consecutive real slots of one block, 0 elsewhere. ``dpttrf`` computes
    :math:`B = LDL^T` in :math:`O(N n_{\max})` operations; :meth:`solve` applies :math:`B^{-1}` by ``dpttrs``.
    """

    def __init__(self, A, padded_indices: np.ndarray, mask: np.ndarray):
        A = sp.csr_matrix(A)
        J = np.asarray(padded_indices)
        mask = np.asarray(mask, dtype=bool)
        self.shape = J.shape
        diag = np.where(mask, A.diagonal()[J], 1.0)
        both = mask[:, :-1] & mask[:, 1:]
        if np.any(both & (J[:, 1:] != J[:, :-1] + 1)):
            raise ValueError("padded_indices must hold contiguous, increasing node indices on the masked slots")
        sup = np.append(A.diagonal(1), 0.0)  # A_{j,j+1}; the appended 0 is never read on a real pair of slots
        off = np.zeros(J.shape)
        off[:, :-1] = np.where(both, sup[J[:, :-1]], 0.0)
        if diag.size == 1:  # LAPACK's f2py wrapper rejects order 1; factor the 1 x 1 matrix by hand
            d, e, info = diag.ravel().copy(), np.zeros(0), 0 if diag.item() > 0 else 1
        else:
            d, e, info = dpttrf(diag.ravel(), off.ravel()[:-1])
        if info != 0:
            raise ValueError(f"A must be positive definite: the local factorization failed at stacked row {info}")
        self._d, self._e = d, e

    @property
    def nbytes(self) -> int:
        """Bytes held by the factors."""
        return self._d.nbytes + self._e.nbytes

    def solve(self, b: np.ndarray) -> np.ndarray:
        """Solve :math:`B x = b` for ``b`` of shape ``(N * n_max,)`` or ``(N * n_max, k)``."""
        if self._d.size == 1:
            return np.asarray(b, dtype=np.float64) / self._d[0]
        x, info = dpttrs(self._d, self._e, b)
        if info != 0:  # pragma: no cover - only on malformed input shapes
            raise ValueError(f"b must have {self._d.size} rows; dpttrs returned info = {info}")
        return x


class _Operator(LinearOperator):
    """A LinearOperator with vector and matrix application and a ``symmetric`` flag."""

    symmetric: bool = True

    def _matmat(self, X):
        return self._apply(np.asarray(X, dtype=np.float64))

    def _matvec(self, x):
        return self._apply(np.asarray(x, dtype=np.float64).reshape(-1))

    def _rmatvec(self, x):
        if not self.symmetric:
            return self._apply_transpose(np.asarray(x, dtype=np.float64).reshape(-1))
        return self._matvec(x)

    def _rmatmat(self, X):
        X = np.asarray(X, dtype=np.float64)
        return self._apply_transpose(X) if not self.symmetric else self._apply(X)


class OverlappingOperator(_Operator):
    r"""The overlapping part :math:`\sum_i R_i^T W_i^L A_i^{-1} W_i^R R_i` (see the module docstring).

    Parameters
    ----------
    dec : Decomposition
        Subdomains (``N``, ``delta``).
    A : sparse matrix, optional
        Symmetric positive definite tridiagonal matrix; default :func:`ddlib.problem.laplacian_1d`.
    weighting : {"none", "left", "sqrt"}
        :math:`(W^L, W^R) = (I, I)`, :math:`(D_i, I)` or :math:`(D_i^{1/2}, D_i^{1/2})`.
    partition : {"multiplicity", "ramp", "boolean"}
        The partition of unity :math:`D_i` used by ``"left"`` and ``"sqrt"`` (ignored by ``"none"``).
    """

    def __init__(self, dec: Decomposition, A=None, weighting: str = "none", partition: str = "multiplicity"):
        if not isinstance(dec, Decomposition):
            raise ValueError(f"dec must be a ddlib.decomposition.Decomposition; got {type(dec).__name__}")
        self.weighting = check_choice("weighting", weighting, WEIGHTINGS)
        self.partition = check_choice("partition", partition, PARTITIONS_OF_UNITY)
        self.dec = dec
        n, mask, J = dec.n, dec.mask, dec.padded_indices
        A = _check_matrix(A, n)
        w_left, w_right = dec.padded_weights(partition, weighting)
        rows = np.flatnonzero(mask.ravel())
        cols = J.ravel()[rows]
        size = J.size
        #: weighted restriction W^R R (stacked, N n_max x n) and weighted prolongation R^T W^L (n x N n_max)
        self.restrict = sp.csr_matrix((w_right.ravel()[rows], (rows, cols)), shape=(size, n))
        self.prolong = sp.csr_matrix((w_left.ravel()[rows], (cols, rows)), shape=(n, size))
        self.solver = PaddedTridiagonalSolver(A, J, mask)
        self.symmetric = weighting != "left"
        super().__init__(dtype=np.float64, shape=(n, n))

    def _apply(self, x):
        return self.prolong @ self.solver.solve(self.restrict @ x)

    def _apply_transpose(self, x):
        return self.restrict.T @ self.solver.solve(self.prolong.T @ x)

    @property
    def nbytes(self) -> int:
        """Bytes held by the factors and the two sparse transfer matrices."""
        return self.solver.nbytes + sum(M.data.nbytes + M.indices.nbytes + M.indptr.nbytes
                                        for M in (self.restrict, self.prolong))


class CoarseOperator(_Operator):
    r"""The coarse part :math:`\Phi A_0^{-1} \Phi^T` with :math:`A_0 = \Phi^T A \Phi` factorized once (sparse LU).

    Parameters
    ----------
    dec : Decomposition
    A : sparse matrix, optional
        Default :func:`ddlib.problem.laplacian_1d`.
    coarse : {"hat", "nicolaides", "none"}
        The coarse space :math:`\Phi` (:meth:`ddlib.decomposition.Decomposition.coarse_space`); ``"none"`` gives the
        zero operator.
    partition : {"multiplicity", "ramp", "boolean"}
        The partition of unity that weights the Nicolaides constants (ignored by the other coarse spaces).
    """

    def __init__(self, dec: Decomposition, A=None, coarse: str = "hat", partition: str = "multiplicity"):
        if not isinstance(dec, Decomposition):
            raise ValueError(f"dec must be a ddlib.decomposition.Decomposition; got {type(dec).__name__}")
        self.coarse = check_choice("coarse", coarse, COARSE_SPACES)
        self.dec = dec
        A = _check_matrix(A, dec.n)
        self.partition = check_choice("partition", partition, PARTITIONS_OF_UNITY)
        self.Phi = dec.coarse_space(coarse, partition).tocsr()
        self.n_coarse = self.Phi.shape[1]
        self._lu = None
        if self.n_coarse:
            self._lu = splu(dec.coarse_matrix(coarse, A, sparse=True, partition=partition))
        super().__init__(dtype=np.float64, shape=(dec.n, dec.n))

    def _apply(self, x):
        if self._lu is None:
            return np.zeros_like(x)
        return self.Phi @ self._lu.solve(np.ascontiguousarray(self.Phi.T @ x))

    @property
    def nbytes(self) -> int:
        """Bytes held by :math:`\\Phi` and the LU factors."""
        if self._lu is None:
            return 0
        mats = (self.Phi, self._lu.L, self._lu.U)
        return sum(M.data.nbytes + M.indices.nbytes + M.indptr.nbytes for M in mats)


class SchwarzPreconditioner(_Operator):
    r"""The sum :math:`M^{-1} = \Phi A_0^{-1}\Phi^T + \sum_i R_i^T W_i^L A_i^{-1} W_i^R R_i` of its ``parts``.

    Build it with :func:`schwarz_preconditioner`. ``levels`` is 1 without a coarse part, 2 with one; ``symmetric``
    is True when every part is.
    """

    def __init__(self, overlapping: OverlappingOperator, coarse: CoarseOperator):
        self.overlapping, self.coarse = overlapping, coarse
        self.levels = 2 if coarse.n_coarse else 1
        self.symmetric = overlapping.symmetric and coarse.symmetric
        super().__init__(dtype=np.float64, shape=overlapping.shape)

    @property
    def parts(self) -> tuple:
        """The overlapping and the coarse operator."""
        return (self.overlapping, self.coarse)

    def _apply(self, x):
        return self.overlapping._apply(x) + self.coarse._apply(x)

    def _apply_transpose(self, x):
        return self.overlapping._rmatvec(x) + self.coarse._apply(x)

    def _rmatvec(self, x):
        return self._apply_transpose(np.asarray(x, dtype=np.float64).reshape(-1))

    @property
    def nbytes(self) -> int:
        """Bytes held by both parts (factors, transfer matrices, coarse basis)."""
        return self.overlapping.nbytes + self.coarse.nbytes

    def __repr__(self) -> str:
        o = self.overlapping
        return (f"SchwarzPreconditioner({o.dec!r}, weighting={o.weighting!r}, partition={o.partition!r}, "
                f"coarse={self.coarse.coarse!r})")


def schwarz_preconditioner(dec: Decomposition, A=None, *, weighting: str = "none", coarse: str = "hat",
                           partition: str = "multiplicity") -> SchwarzPreconditioner:
    r"""One- or two-level Schwarz preconditioner :math:`M^{-1}` on the decomposition ``dec``.

    Parameters
    ----------
    dec : Decomposition
    A : sparse matrix, optional
        Symmetric positive definite tridiagonal matrix; default the model problem.
    weighting : {"none", "left", "sqrt"}
        The overlapping part: additive, restricted or weighted Schwarz (see the module docstring).
    coarse : {"hat", "nicolaides", "none"}
        The coarse space; ``"none"`` gives a one-level method.
    partition : {"multiplicity", "ramp", "boolean"}
        The partition of unity :math:`D_i`: the weights of the ``"left"`` and ``"sqrt"`` weightings and of
        the Nicolaides coarse space.

    Returns
    -------
    SchwarzPreconditioner
        A :class:`scipy.sparse.linalg.LinearOperator` applying :math:`M^{-1}`, usable as ``M=`` in
        :func:`scipy.sparse.linalg.cg` (symmetric weightings) or :func:`scipy.sparse.linalg.gmres`.
    """
    return SchwarzPreconditioner(OverlappingOperator(dec, A, weighting, partition),
                                 CoarseOperator(dec, A, coarse, partition))


def to_dense(op) -> np.ndarray:
    """The dense matrix of a LinearOperator (apply it to the identity); for small ``n`` only."""
    n = op.shape[1]
    check_int("op.shape[1]", n, low=1, high=8192)
    return np.asarray(op @ np.eye(n))


def exact_decomposition(n: int, N: int, A=None) -> tuple[np.ndarray, np.ndarray]:
    r"""The two parts of the exact 1D decomposition :math:`A^{-1} = \Phi A_0^{-1}\Phi^T + \sum_E R_E^T A_E^{-1} R_E`.

    :math:`\Phi` holds the hat functions on the ``N - 1`` interior coarse nodes, ``E`` runs over the ``N`` coarse
    elements, :math:`R_E` restricts to the ``m - 1`` nodes strictly inside ``E`` and :math:`A_E = R_E A R_E^T`.
    The identity holds because the hat functions are discrete :math:`A`-harmonic between coarse nodes (the second
    difference of a linear function vanishes), so :math:`\mathbb R^n = \operatorname{range}\Phi \oplus \bigoplus_E
    \operatorname{range} R_E^T` is an :math:`A`-orthogonal direct sum, and the sum of the :math:`A`-orthogonal
    projections onto its parts is the identity.

    Returns
    -------
    coarse, local : (n, n) ndarrays
        :math:`\Phi A_0^{-1}\Phi^T` and the block-diagonal :math:`\sum_E R_E^T A_E^{-1} R_E` (dense; small ``n``).
    """
    dec = Decomposition(n, N, 0)
    A = _check_matrix(A, dec.n)
    coarse = to_dense(CoarseOperator(dec, A, "hat"))
    J = np.stack(element_decomposition(dec.n, dec.N))  # all elements have m - 1 nodes
    solver = PaddedTridiagonalSolver(A, J, np.ones(J.shape, dtype=bool))
    S = sp.csr_matrix((np.ones(J.size), (np.arange(J.size), J.ravel())), shape=(J.size, dec.n))
    local = np.asarray(S.T @ solver.solve(S.toarray()))
    return coarse, local


# ------------------------------------------------------------------------------------------------ theory and studies
def overlap_width(dec: Decomposition) -> float:
    r"""The geometric overlap :math:`\delta_g = (\delta + \tfrac12) h` per side.

    Subdomain ``i`` holds the nodes of block ``i`` and ``delta`` more on each side; with Dirichlet conditions at the
    first node outside, neighbours share an interval of length :math:`(2\delta + 1)h = 2\delta_g`. So
    ``delta = 0`` (no shared node) still overlaps by one mesh interval, and :math:`H/\delta_g = m/(\delta+\frac12)`.
    """
    return (dec.delta + 0.5) * dec.h


def theory_shape(dec: Decomposition, levels: int) -> float:
    r"""The :math:`\kappa` growth factor of the classical bounds :cite:p:`toselli2005domain`, without the constant.

    One level: :math:`1 + 1/(H\delta_g)`; two levels: :math:`1 + H/\delta_g` (:func:`overlap_width`).
    """
    levels = check_int("levels", levels, low=1, high=2)
    dg = overlap_width(dec)
    return 1.0 + (1.0 / (dec.H * dg) if levels == 1 else dec.H / dg)


def hat_two_level_bound(dec: Decomposition) -> float:
    r"""The bound :math:`\kappa \le 1 + N_c` of two-level additive Schwarz with hat coarse space in 1D.

    Lower end: every coarse element's interior lies in one subdomain, so each local space contains an element space
    of the exact decomposition (:func:`exact_decomposition`); additive Schwarz operators are sums of
    :math:`A`-orthogonal projections, and a projection onto a larger space is larger, so
    :math:`P_{ad} \ge P_0 + \sum_E P_E = I`, i.e. :math:`\lambda_{\min} \ge 1`. Upper end: :math:`P_0 \le I` and
    the :math:`N_c` colours (:attr:`Decomposition.n_colors`) give :math:`\sum_i P_i \le N_c I`.
    """
    return 1.0 + dec.n_colors


def measure(n: int, N: int, delta: int, *, weighting: str = "none", coarse: str = "hat",
            partition: str = "multiplicity", seed: int = 0, rtol: float = 1e-8, kappa_rtol: float = 1e-10,
            dense_max: int = 511) -> dict:
    r"""Condition number of :math:`M^{-1}A` and PCG iterations for one configuration of the model problem.

    :math:`\kappa` comes from the dense spectrum when ``n <= dense_max`` (``method = "dense"``), else from the
    Ritz values of PCG run to ``kappa_rtol`` (``method = "lanczos"``, :func:`ddlib.krylov.pcg_spectrum`).
    ``pcg_iterations`` is the number of PCG steps until :math:`\|r\|_2 \le \mathrm{rtol}\|b\|_2` for the standard
    normal right-hand side ``b`` drawn from ``numpy.random.default_rng(seed)``, zero start (read off the same run).
    The preconditioner must be symmetric (weightings ``"none"`` and ``"sqrt"``).

    Returns
    -------
    dict
        ``n, N, delta, levels, weighting, coarse, partition, kappa, lambda_min, lambda_max, method, pcg_iterations,
        H_over_delta`` (:math:`H/\delta_g`) and ``shape`` (:func:`theory_shape`).
    """
    if weighting == "left":
        raise ValueError("weighting must be 'none' or 'sqrt' (symmetric) for PCG; got 'left'")
    dec = Decomposition(n, N, delta)
    A = laplacian_1d(dec.n)
    M = schwarz_preconditioner(dec, A, weighting=weighting, coarse=coarse, partition=partition)
    b = np.random.default_rng(check_int("seed", seed, low=0)).standard_normal(dec.n)
    sp_ = pcg_spectrum(A, M, b, rtol=rtol, kappa_rtol=kappa_rtol, dense_max=dense_max)
    return dict(n=dec.n, N=dec.N, delta=dec.delta, levels=M.levels, weighting=weighting, coarse=coarse,
                partition=partition, kappa=sp_["kappa"], lambda_min=sp_["lambda_min"], lambda_max=sp_["lambda_max"],
                method=sp_["method"], pcg_iterations=sp_["iterations"], H_over_delta=dec.H / overlap_width(dec),
                shape=theory_shape(dec, M.levels))


def fit_constant(rows: list[dict]) -> float:
    r"""The smallest :math:`C` with :math:`\kappa \le C \cdot` ``shape`` on every row (rows from :func:`measure`)."""
    if not rows:
        raise ValueError("rows must hold at least one measurement")
    return float(max(r["kappa"] / r["shape"] for r in rows))


#: The preconditioners compared in chapter 2's scaling study (keyword arguments of :func:`measure`).
SERIES = {
    "one-level ASM": dict(weighting="none", coarse="none", partition="multiplicity"),
    "two-level ASM, hat": dict(weighting="none", coarse="hat", partition="multiplicity"),
    "two-level ASM, Nicolaides": dict(weighting="none", coarse="nicolaides", partition="ramp"),
    "two-level weighted, multiplicity": dict(weighting="sqrt", coarse="hat", partition="multiplicity"),
    "two-level weighted, ramp": dict(weighting="sqrt", coarse="hat", partition="ramp"),
}


def scaling_study(studies: dict, series: dict | None = None, *, measure_fn=None, **measure_kw) -> list[dict]:
    """Run :func:`measure` (or ``measure_fn``, e.g. :func:`ddlib.schwarz2d.measure_2d`) for every configuration of
    every study and every series.

    Parameters
    ----------
    studies : dict
        Study name (``"N"``, ``"n"`` or ``"delta"``, the varied quantity) -> list of ``(n, N, delta)``.
    series : dict, optional
        Series name -> keyword arguments of :func:`measure`; default :data:`SERIES`.
    **measure_kw
        Passed to every :func:`measure` call (``seed``, ``rtol``, ``dense_max``, ...).

    Returns
    -------
    list of dict
        The rows of :func:`measure`, each with ``study`` and ``series`` added.
    """
    series = SERIES if series is None else series
    measure_fn = measure if measure_fn is None else measure_fn
    rows = []
    for study, configs in studies.items():
        check_choice("study", study, ("N", "n", "delta"))
        for size, N, delta in configs:
            for name, kw in series.items():
                rows.append(dict(study=study, series=name, **measure_fn(size, N, delta, **kw, **measure_kw)))
    return rows


def add_bounds(rows: list[dict]) -> dict:
    r"""Attach the theoretical bound to each row (key ``bound``, kind ``bound_kind``) and return the constants.

    * two-level additive Schwarz with the hat space: :math:`1 + N_c`, a theorem in 1D (:func:`hat_two_level_bound`),
      no constant;
    * other additive rows: :math:`C\,(1 + 1/(H\delta_g))` (one level) or :math:`C\,(1 + H/\delta_g)` (two levels),
      with :math:`C` the smallest constant bounding every row of that series (:func:`fit_constant`): the curve shows
      the predicted *shape*, not an independent bound;
    * the weighted variants: no bound (``None``); the classical theory does not cover them.

    Returns
    -------
    dict
        Series name -> fitted :math:`C` (only the fitted series).
    """
    constants = {}
    by_series: dict[str, list] = {}
    for r in rows:
        by_series.setdefault(r["series"], []).append(r)
    for name, sel in by_series.items():
        r0 = sel[0]
        if r0["weighting"] != "none":
            for r in sel:
                r["bound"], r["bound_kind"] = None, None
        elif r0["coarse"] == "hat":
            for r in sel:
                r["bound"] = hat_two_level_bound(Decomposition(r["n"], r["N"], r["delta"]))
                r["bound_kind"] = "theorem"
        else:
            C = fit_constant(sel)
            constants[name] = C
            for r in sel:
                r["bound"], r["bound_kind"] = C * r["shape"], "fitted"
    return constants
