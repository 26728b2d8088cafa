r"""Overlapping Schwarz preconditioners in any dimension, composed from an overlapping (local) and a coarse operator.

As in PETSc's ``PCASM`` and FROSch, a preconditioner is a sum of independent parts, each a
:class:`scipy.sparse.linalg.LinearOperator`:

.. math::

    M^{-1} \;=\; \underbrace{\Phi A_0^{-1} \Phi^T}_{\text{coarse part}}
    \;+\; \underbrace{\sum_{i} R_i^T W_i^{L} A_i^{-1} W_i^{R} R_i}_{\text{overlapping part}},
    \qquad A_i = R_i A R_i^T, \quad A_0 = \Phi^T A \Phi .

The overlapping part comes in three weightings (``weighting``, :data:`ddlib.decomposition.WEIGHTINGS`, the same names
as in :class:`ddlib.attention.DDAttention`), with :math:`D_i` a partition of unity:

``"none"``   (additive Schwarz, ASM; :cite:t:`dryja1987additive`)
    :math:`W_i^L = W_i^R = I`; symmetric.
``"left"``   (restricted additive Schwarz, RAS; :cite:t:`cai1999restricted`)
    :math:`W_i^L = D_i`, :math:`W_i^R = I`; not symmetric (use GMRES).
``"sqrt"``   (the paper's symmetric form)
    :math:`W_i^L = W_i^R = D_i^{1/2}`; symmetric, and positive definite because :math:`\sum_i R_i^T D_i R_i = I`.

One level means no coarse part (``coarse="none"``); two levels add :math:`\Phi A_0^{-1}\Phi^T` with any coarse space
of :mod:`ddlib.decomposition` (hat/Q1, Nicolaides, spectral, GenEO) or a given sparse :math:`\Phi`.

**Implementation.** All local problems are factorized **once**, together: the block-diagonal matrix
:math:`\mathrm{blockdiag}(A_1, \dots)` of order :math:`\sum_i n_i` by one sparse LU (SuperLU, minimum-degree ordering),
or, when :math:`A` is tridiagonal (the 1D grid), the blocks padded to equal length by one LAPACK ``dpttrf``
(:math:`LDL^T` in :math:`O(\sum_i n_i)`). The weighted restriction and prolongation are two sparse matrices, so one
application is two sparse products and one pair of triangular solves, with no Python loop over subdomains, for one
vector or a block of columns. Any symmetric positive definite ``A`` on the grid works (variable coefficients too).

**Theory** (:cite:t:`toselli2005domain`, ch. 3). With the generous overlap :math:`\delta_g` (:func:`overlap_width`),
one level: :math:`\kappa \le C(1 + 1/(H\delta_g))`; two levels with the hat (Q1) coarse space:
:math:`\kappa \le C(1 + H/\delta_g)`, bounded in ``n`` at fixed :math:`H/h` and :math:`H/\delta`. Additive Schwarz has
:math:`\lambda_{\max} \le N_c` (one level) or :math:`N_c + 1` (two levels) with the :math:`N_c` colours of
:attr:`ddlib.decomposition.Decomposition.n_colors`; in 1D with the hat space also :math:`\lambda_{\min} \ge 1`
(:func:`hat_two_level_bound`).

Examples
--------
>>> import numpy as np
>>> from ddlib.problem import Problem
>>> from ddlib.decomposition import Decomposition
>>> from ddlib.krylov import pcg
>>> for shape in (255, (31, 31), (15, 15, 15)):
...     dec = Decomposition(Problem(shape), N=4, delta=2)
...     res = pcg(dec.problem.matrix(), np.ones(dec.n), schwarz_preconditioner(dec, coarse="hat"), rtol=1e-10)
...     print(dec.dim, res.converged, res.iterations)
1 True 7
2 True 22
3 True 33
"""
from __future__ import annotations

import inspect

import numpy as np
import scipy.sparse as sp
from scipy.linalg.lapack import dpttrf, dpttrs
from scipy.sparse.linalg import LinearOperator, splu

from ._validate import check_choice, check_int
from .decomposition import COARSE_SPACES, PARTITIONS_OF_UNITY, WEIGHTINGS, Decomposition
from .krylov import pcg_spectrum
from .memory import check_dense
from .problem import Problem

__all__ = [
    "LocalSolver",
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
    "STUDY_AXIS",
    "scaling_study",
    "add_bounds",
    "kappa_trends",
]


def _check_matrix(A, dec: Decomposition) -> sp.csr_matrix:
    """``A`` (default: the decomposition's problem) as a CSR float64 matrix, checked to be n x n and symmetric."""
    if A is None:
        return dec.problem.matrix()
    A = sp.csr_matrix(A, dtype=np.float64)
    if A.shape != (dec.n, dec.n):
        raise ValueError(f"A must have shape ({dec.n}, {dec.n}) to match the decomposition; got {A.shape}")
    if abs(A - A.T).max() > 1e-12 * abs(A).max():
        raise ValueError("A must be symmetric")
    return A


def _check_dec(dec) -> Decomposition:
    if not isinstance(dec, Decomposition):
        raise ValueError(f"dec must be a ddlib.decomposition.Decomposition; got {type(dec).__name__}")
    return dec


class LocalSolver:
    r"""All local solves :math:`A_i^{-1}` of a decomposition, factorized once as one block-diagonal matrix.

    The right-hand side and solution are stacked in the padded layout of the decomposition (``N^d * n_max`` rows,
    padding slots decoupled with identity rows). Tridiagonal ``A`` takes LAPACK's ``dpttrf``/``dpttrs``
    (:math:`LDL^T` of the stacked tridiagonal matrix, :math:`O(N n_{max})`), any other ``A`` one SuperLU
    factorization of :math:`\mathrm{blockdiag}(A_i)` with a minimum-degree ordering of :math:`A + A^T`.
    """

    def __init__(self, A: sp.csr_matrix, padded_indices: np.ndarray, mask: np.ndarray):
        A = sp.csr_matrix(A)
        J, mask = np.asarray(padded_indices), np.asarray(mask, dtype=bool)
        coo = A.tocoo()
        self.tridiagonal = bool(np.all(np.abs(coo.row - coo.col) <= 1))
        self.size = J.size
        if self.tridiagonal:
            self._factor_tridiagonal(A, J, mask)
        else:
            keep = np.flatnonzero(mask.ravel())
            blocks = sp.block_diag([A[J[i, mask[i]]][:, J[i, mask[i]]] for i in range(J.shape[0])], format="csc")
            self._keep = keep
            self._lu = splu(blocks, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                            options=dict(SymmetricMode=True))

    def _factor_tridiagonal(self, A, J, mask) -> None:
        both = mask[:, :-1] & mask[:, 1:]
        if np.any(both & (J[:, 1:] != J[:, :-1] + 1)):
            raise ValueError("padded_indices must hold contiguous, increasing node indices on the masked slots")
        diag = np.where(mask, A.diagonal()[J], 1.0)
        sup = np.append(A.diagonal(1), 0.0)  # A_{j,j+1}; the appended 0 is never read on a real pair of slots
        off = np.zeros(J.shape)
        off[:, :-1] = np.where(both, sup[J[:, :-1]], 0.0)
        if diag.size == 1:  # LAPACK's f2py wrapper rejects order 1
            d, e, info = diag.ravel().copy(), np.zeros(0), 0 if diag.item() > 0 else 1
        else:
            d, e, info = dpttrf(diag.ravel(), off.ravel()[:-1])
        if info != 0:
            raise ValueError(f"A must be positive definite: the local factorization failed at stacked row {info}")
        self._d, self._e = d, e

    @property
    def nbytes(self) -> int:
        """Bytes held by the factors."""
        if self.tridiagonal:
            return self._d.nbytes + self._e.nbytes
        return sum(M.data.nbytes + M.indices.nbytes + M.indptr.nbytes for M in (self._lu.L, self._lu.U))

    def solve(self, b: np.ndarray) -> np.ndarray:
        """Solve with the stacked block-diagonal matrix for ``b`` of shape ``(N^d n_max,)`` or ``(N^d n_max, k)``."""
        b = np.asarray(b, dtype=np.float64)
        if self.tridiagonal:
            if self._d.size == 1:
                return b / self._d[0]
            return dpttrs(self._d, self._e, b)[0]
        x = np.zeros_like(b)
        x[self._keep] = self._lu.solve(np.ascontiguousarray(b[self._keep]))
        return x


class _Operator(LinearOperator):
    """A LinearOperator with vector and matrix application and a ``symmetric`` flag."""

    symmetric: bool = True

    def _matmat(self, X):
        return self._apply(np.asarray(X, dtype=np.float64))

    def _matvec(self, x):
        return self._apply(np.asarray(x, dtype=np.float64).reshape(-1))

    def _rmatvec(self, x):
        x = np.asarray(x, dtype=np.float64).reshape(-1)
        return self._apply(x) if self.symmetric else self._apply_transpose(x)

    def _rmatmat(self, X):
        X = np.asarray(X, dtype=np.float64)
        return self._apply(X) if self.symmetric else self._apply_transpose(X)

    def _apply_transpose(self, x):
        return self._apply(x)


class OverlappingOperator(_Operator):
    r"""The overlapping part :math:`\sum_i R_i^T W_i^L A_i^{-1} W_i^R R_i` (see the module docstring).

    Parameters
    ----------
    dec : Decomposition
    A : sparse matrix, optional
        Symmetric positive definite ``n x n``; default the decomposition's problem.
    weighting : {"none", "left", "sqrt"}
        :math:`(W^L, W^R) = (I, I)`, :math:`(D_i, I)` or :math:`(D_i^{1/2}, D_i^{1/2})`.
    partition : {"multiplicity", "ramp", "boolean"}
        :math:`D_i` for ``"left"`` and ``"sqrt"`` (ignored by ``"none"``).
    """

    def __init__(self, dec: Decomposition, A=None, weighting: str = "none", partition: str = "multiplicity"):
        self.dec = _check_dec(dec)
        self.weighting = check_choice("weighting", weighting, WEIGHTINGS)
        self.partition = check_choice("partition", partition, PARTITIONS_OF_UNITY)
        A = _check_matrix(A, dec)
        mask, J = dec.mask, dec.padded_indices
        w_left, w_right = dec.padded_weights(partition, weighting)
        rows = np.flatnonzero(mask.ravel())
        cols = J.ravel()[rows]
        #: weighted restriction W^R R (stacked, padded) and weighted prolongation R^T W^L
        self.restrict = sp.csr_matrix((w_right.ravel()[rows], (rows, cols)), shape=(J.size, dec.n))
        self.prolong = sp.csr_matrix((w_left.ravel()[rows], (cols, rows)), shape=(dec.n, J.size))
        self.solver = LocalSolver(A, J, mask)
        self.symmetric = weighting != "left"
        super().__init__(dtype=np.float64, shape=(dec.n, dec.n))

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
        Default the decomposition's problem.
    coarse : str or sparse matrix
        A coarse space of :data:`ddlib.decomposition.COARSE_SPACES` by name (built with ``options``), or
        :math:`\Phi` itself (``n x N_0``; a learned or externally built space). ``"none"`` gives the zero operator.
    **options
        Options of the named coarse space (``partition``, ``refine``, ``per_box``, ``tau``, ...).
    """

    def __init__(self, dec: Decomposition, A=None, coarse="hat", **options):
        self.dec = _check_dec(dec)
        A = _check_matrix(A, dec)
        if isinstance(coarse, str):
            self.coarse, Phi = coarse, dec.coarse_space(coarse, **options)
        else:
            self.coarse, Phi = "given", sp.csr_matrix(coarse, dtype=np.float64)
            if Phi.shape[0] != dec.n:
                raise ValueError(f"coarse must be a name or an n x N_0 matrix with n = {dec.n}; got {Phi.shape}")
        self.Phi = Phi
        self.n_coarse = Phi.shape[1]
        self._lu = None
        if self.n_coarse:
            try:
                self._lu = splu((Phi.T @ (A @ Phi)).tocsc())
                pivots = np.abs(self._lu.U.diagonal())
                singular = pivots.min() <= 1e-12 * pivots.max()
            except RuntimeError:  # SuperLU: "Factor is exactly singular"
                singular = True
            if singular:
                raise ValueError(f"the coarse space {self.coarse!r} is linearly dependent on this grid (its "
                                 f"{self.n_coarse} functions span less): A_0 = Phi^T A Phi is singular")
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
        return sum(M.data.nbytes + M.indices.nbytes + M.indptr.nbytes for M in (self.Phi, self._lu.L, self._lu.U))


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
        return self.overlapping._apply_transpose(x) + self.coarse._apply(x)

    @property
    def nbytes(self) -> int:
        """Bytes held by both parts (factors, transfer matrices, coarse basis)."""
        return self.overlapping.nbytes + self.coarse.nbytes

    def __repr__(self) -> str:
        o = self.overlapping
        return (f"SchwarzPreconditioner({o.dec!r}, weighting={o.weighting!r}, partition={o.partition!r}, "
                f"coarse={self.coarse.coarse!r})")


def schwarz_preconditioner(dec: Decomposition, A=None, *, weighting: str = "none", coarse="hat",
                           partition: str = "multiplicity", **coarse_options) -> SchwarzPreconditioner:
    r"""One- or two-level Schwarz preconditioner :math:`M^{-1}` on the decomposition ``dec``.

    Parameters
    ----------
    dec : Decomposition
    A : sparse matrix, optional
        Symmetric positive definite matrix on the grid; default the decomposition's problem.
    weighting : {"none", "left", "sqrt"}
        The overlapping part: additive, restricted or weighted Schwarz (see the module docstring).
    coarse : str or sparse matrix
        The coarse space (a name of :data:`ddlib.decomposition.COARSE_SPACES` or :math:`\Phi`); ``"none"`` gives a
        one-level method.
    partition : {"multiplicity", "ramp", "boolean"}
        The partition of unity :math:`D_i`: the weights of ``"left"`` and ``"sqrt"``, and of the Nicolaides and
        spectral coarse spaces.
    **coarse_options
        Further options of the named coarse space.

    Returns
    -------
    SchwarzPreconditioner
        A :class:`scipy.sparse.linalg.LinearOperator` applying :math:`M^{-1}`, usable as ``M=`` in
        :func:`scipy.sparse.linalg.cg` (symmetric weightings) or :func:`scipy.sparse.linalg.gmres`.
    """
    if isinstance(coarse, str) and "partition" in inspect.signature(COARSE_SPACES.get(coarse, _no_options)).parameters:
        coarse_options.setdefault("partition", partition)
    return SchwarzPreconditioner(OverlappingOperator(dec, A, weighting, partition),
                                 CoarseOperator(dec, A, coarse, **coarse_options))


def _no_options(dec):  # the signature of an unknown coarse-space name (coarse_space then names the valid ones)
    return None


def to_dense(op) -> np.ndarray:
    """The dense matrix of a LinearOperator (applied to the identity in one block); small ``n`` only."""
    n = check_int("op.shape[1]", op.shape[1], low=1)
    check_dense((n, n), "the dense matrix of the operator", "the operator itself (op @ x)")
    return np.asarray(op @ np.eye(n))


def exact_decomposition(problem: Problem, N: int) -> tuple[np.ndarray, np.ndarray]:
    r"""The coarse and the element part of :math:`\Phi A_0^{-1}\Phi^T + \sum_E R_E^T A_E^{-1} R_E` (dense; small ``n``).

    :math:`\Phi` holds the hat functions, ``E`` runs over the coarse elements, :math:`R_E` restricts to the nodes
    strictly inside ``E`` and :math:`A_E = R_E A R_E^T`. **In 1D the sum is** :math:`A^{-1}` (fact 4): the hat
    functions are discrete :math:`A`-harmonic between coarse nodes, so :math:`\mathbb R^n = \operatorname{range}\Phi
    \oplus \bigoplus_E \operatorname{range} R_E^T` is an :math:`A`-orthogonal direct sum and the sum of the
    :math:`A`-orthogonal projections onto its parts is the identity. In 2D and 3D the interfaces are lines and
    planes that neither part reaches, and the sum is not :math:`A^{-1}`.

    Returns
    -------
    coarse, local : (n, n) ndarrays
    """
    dec = Decomposition(problem, N, 0)
    A = problem.matrix()
    coarse = to_dense(CoarseOperator(dec, A, "hat"))
    local = np.zeros((dec.n, dec.n))
    for E in dec.elements():  # a dense analysis helper: a loop over the elements is fine here
        if E.size:
            local[np.ix_(E, E)] = np.linalg.inv(A[E][:, E].toarray())
    return coarse, local


# ------------------------------------------------------------------------------------------------ theory and studies
def overlap_width(dec: Decomposition) -> float:
    r"""The geometric overlap :math:`\delta_g = (\delta + \tfrac12) h` per side.

    Subdomain ``i`` holds its block and ``delta`` more node layers on each side; with Dirichlet conditions at the
    first node outside, neighbours share a strip of width :math:`(2\delta + 1)h = 2\delta_g`. So ``delta = 0``
    still overlaps by one mesh interval, and :math:`H/\delta_g = (H/h)/(\delta+\frac12)`.
    """
    return (dec.delta + 0.5) * dec.h


def theory_shape(dec: Decomposition, levels: int) -> float:
    r"""The :math:`\kappa` growth factor of the classical bounds :cite:p:`toselli2005domain`, without the constant:
    one level :math:`1 + 1/(H\delta_g)`, two levels :math:`1 + H/\delta_g` (:func:`overlap_width`)."""
    levels = check_int("levels", levels, low=1, high=2)
    dg = overlap_width(dec)
    return 1.0 + (1.0 / (dec.H * dg) if levels == 1 else dec.H / dg)


def hat_two_level_bound(dec: Decomposition) -> float:
    r"""The bound :math:`\kappa \le 1 + N_c` of two-level additive Schwarz with the hat coarse space **in 1D**.

    Lower end: every coarse element's interior lies in one subdomain, so each local space contains an element space
    of the exact decomposition (:func:`exact_decomposition`); additive Schwarz operators are sums of
    :math:`A`-orthogonal projections, and a projection onto a larger space is larger, so
    :math:`P_{ad} \ge P_0 + \sum_E P_E = I`, i.e. :math:`\lambda_{\min} \ge 1`. Upper end: :math:`P_0 \le I` and the
    :math:`N_c` colours give :math:`\sum_i P_i \le N_c I`. In 2D and 3D the lower end fails (no exact splitting).
    """
    if dec.dim != 1:
        raise ValueError(f"the bound 1 + N_c is a 1D theorem (it rests on the exact decomposition); got dim = "
                         f"{dec.dim}")
    return 1.0 + dec.n_colors


def measure(problem, N: int, delta: int, *, weighting: str = "none", coarse: str = "hat",
            partition: str = "multiplicity", split: str = "interface", seed: int = 0, rtol: float = 1e-8,
            kappa_rtol: float = 1e-10, dense_max: int = 511, **coarse_options) -> dict:
    r"""Condition number of :math:`M^{-1}A` and PCG iterations for one configuration.

    ``problem`` is a :class:`ddlib.problem.Problem` or its shape (``255``, ``(31, 31)``). :math:`\kappa` comes from
    the dense spectrum when :math:`n \le` ``dense_max`` (``method = "dense"``), else from the Ritz values of the same
    PCG run continued to ``kappa_rtol`` (``method = "lanczos"``, a lower estimate that converges from inside;
    :func:`ddlib.krylov.pcg_spectrum`). ``pcg_iterations`` counts steps to :math:`\|r\|_2 \le \mathrm{rtol}\|b\|_2`,
    ``b`` standard normal from ``numpy.random.default_rng(seed)``, zero start. Symmetric weightings only.

    Returns
    -------
    dict
        ``dim, m, n, N, delta, levels, weighting, coarse, partition, coarse_dim, kappa, lambda_min, lambda_max,
        method, pcg_iterations, H_over_h, H_over_delta`` (:math:`H/\delta_g`), ``shape`` (:func:`theory_shape`) and
        ``n_colors``.
    """
    if check_choice("weighting", weighting, WEIGHTINGS) == "left":
        raise ValueError("weighting must be 'none' or 'sqrt' (symmetric) for PCG; got 'left'")
    problem = problem if isinstance(problem, Problem) else Problem(problem)
    dec = Decomposition(problem, N, delta, split)
    A = problem.matrix()
    M = schwarz_preconditioner(dec, A, weighting=weighting, coarse=coarse, partition=partition, **coarse_options)
    b = np.random.default_rng(check_int("seed", seed, low=0)).standard_normal(dec.n)
    s = pcg_spectrum(A, M, b, rtol=rtol, kappa_rtol=kappa_rtol, dense_max=dense_max)
    return dict(dim=dec.dim, m=dec.m, n=dec.n, N=dec.N, delta=dec.delta, levels=M.levels, weighting=weighting,
                coarse=coarse, partition=partition, coarse_dim=M.coarse.n_coarse, kappa=s["kappa"],
                lambda_min=s["lambda_min"], lambda_max=s["lambda_max"], method=s["method"],
                pcg_iterations=s["iterations"], H_over_h=dec.H / dec.h, H_over_delta=dec.H / overlap_width(dec),
                shape=theory_shape(dec, M.levels), n_colors=dec.n_colors)


def fit_constant(rows: list[dict]) -> float:
    r"""The smallest :math:`C` with :math:`\kappa \le C \cdot` ``shape`` on every row (rows from :func:`measure`)."""
    if not rows:
        raise ValueError("rows must hold at least one measurement")
    return float(max(r["kappa"] / r["shape"] for r in rows))


#: The preconditioners of the scaling studies (keyword arguments of :func:`measure`); the hat space is Q1 in 2D.
SERIES = {
    "one-level ASM": dict(weighting="none", coarse="none", partition="multiplicity"),
    "two-level ASM, hat": dict(weighting="none", coarse="hat", partition="multiplicity"),
    "two-level ASM, Nicolaides": dict(weighting="none", coarse="nicolaides", partition="ramp"),
    "two-level weighted, multiplicity": dict(weighting="sqrt", coarse="hat", partition="multiplicity"),
    "two-level weighted, ramp": dict(weighting="sqrt", coarse="hat", partition="ramp"),
}
#: The quantity each study varies (a key of the :func:`measure` rows).
STUDY_AXIS = {"N": "N", "n": "n", "delta": "H_over_delta"}


def scaling_study(studies: dict, series: dict | None = None, **measure_kw) -> list[dict]:
    """:func:`measure` for every configuration of every study and every series.

    Parameters
    ----------
    studies : dict
        Study name (``"N"``, ``"n"`` or ``"delta"``, the varied quantity) -> list of ``(shape, N, delta)``.
    series : dict, optional
        Series name -> keyword arguments of :func:`measure`; default :data:`SERIES`.
    **measure_kw
        Passed to every call (``seed``, ``rtol``, ``dense_max``, ...).

    Returns
    -------
    list of dict
        The rows of :func:`measure`, each with ``study`` and ``series`` added.
    """
    series = SERIES if series is None else series
    rows = []
    for study, configs in studies.items():
        check_choice("study", study, tuple(STUDY_AXIS))
        for shape, N, delta in configs:
            for name, kw in series.items():
                rows.append(dict(study=study, series=name, **measure(shape, N, delta, **kw, **measure_kw)))
    return rows


def add_bounds(rows: list[dict]) -> dict:
    r"""Attach the theoretical bound to each row (key ``bound``, kind ``bound_kind``) and return the constants.

    * two-level additive Schwarz with the hat space in 1D: :math:`1 + N_c`, a theorem (:func:`hat_two_level_bound`);
    * other additive rows: :math:`C\,(1 + 1/(H\delta_g))` (one level) or :math:`C\,(1 + H/\delta_g)` (two levels),
      with :math:`C` the smallest constant bounding every row of that series and dimension (:func:`fit_constant`):
      the curve shows the predicted *shape*, not an independent bound;
    * the weighted variants: no bound (``None``); the classical theory does not cover them.

    Returns
    -------
    dict
        ``(series, dim)`` -> fitted :math:`C` (only the fitted series).
    """
    constants, groups = {}, {}
    for r in rows:
        groups.setdefault((r["series"], r["dim"]), []).append(r)
    for key, sel in groups.items():
        if sel[0]["weighting"] != "none":
            kind, bounds = None, [None] * len(sel)
        elif sel[0]["coarse"] == "hat" and sel[0]["dim"] == 1:  # the theorem of hat_two_level_bound
            kind, bounds = "theorem", [1.0 + r["n_colors"] for r in sel]
        else:
            constants[key] = C = fit_constant(sel)
            kind, bounds = "fitted", [C * r["shape"] for r in sel]
        for r, b in zip(sel, bounds):
            r["bound"], r["bound_kind"] = b, kind
    return constants


def kappa_trends(rows: list[dict]) -> list[dict]:
    r"""Per study and series of :func:`scaling_study` rows: how :math:`\kappa` and the PCG iterations move along the
    study's axis :math:`x` (:data:`STUDY_AXIS`: ``N``, ``n`` or :math:`H/\delta_g`).

    Returns one record per ``(study, series)`` with ``x_first``, ``x_last``, ``kappa_first``, ``kappa_last``,
    ``kappa_max``, ``iterations_first``, ``iterations_last``, ``growth`` :math:`= \kappa_{last}/\kappa_{first}`,
    ``exponent``, the least-squares slope :math:`p` of :math:`\log\kappa = \log c + p\log x`, and ``last_exponent``,
    the slope between the last two points; NaN with fewer than two distinct ``x``. Theory at fixed
    :math:`H/\delta_g`: one level :math:`\kappa \sim N^2` (``p = 2`` against ``N``), two levels bounded (``p = 0``).
    """
    if not rows:
        raise ValueError("rows must hold at least one measurement")
    groups: dict = {}
    for r in rows:
        groups.setdefault((check_choice("study", r["study"], tuple(STUDY_AXIS)), r["series"]), []).append(r)
    out = []
    for (study, series), sel in groups.items():
        key = STUDY_AXIS[study]
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
