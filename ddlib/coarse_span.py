r"""A learnable coarse *span*: two-level additive Schwarz with exact local solves and the coarse space
:math:`\Phi = \sum_i R_i^TD_iV_i` learned (torch, float64).

The DD attention of :mod:`ddlib.attention` learns the coarse *block* on a fixed span :math:`\Phi` (hats, Nicolaides,
GenEO); the span itself is a design choice. Here the span is the parameter:

.. math::  M_V^{-1} = \sum_i R_i^TA_i^{-1}R_i \;+\; \Phi\,(\Phi^TA\Phi)^{-1}\Phi^T, \qquad
           \Phi = \sum_i R_i^TD_iV_i,\quad V_i \in \mathbb R^{n_i\times k},

the local solves exact and fixed (the inverses :math:`A_i^{-1}` as one padded batch of dense blocks, applied by one
batched product), the coarse solve the Galerkin one on whatever :math:`V` spans. Every GenEO, Nicolaides
(``k = 1``, :math:`V_i = \mathbf 1`) or spectral space of :mod:`ddlib.decomposition` with ``k`` functions per box is
one value of :math:`V`, so training searches the class in which GenEO is the theory's choice. :math:`M_V^{-1}` is
symmetric positive definite for every :math:`V` with :math:`\Phi` of full column rank (a sum of a positive definite
and an :math:`A`-orthogonal-projection part), and invariant under :math:`V_i \to V_iG_i` for invertible
:math:`G_i`: only the span is learned.

**Cost.** The local level stores :math:`N^d n_{max}^2` numbers and costs one batched product; :math:`\Phi` is formed
densely (``n x N_0``, one scatter), :math:`A\Phi` by the matrix-free stencil (:meth:`ddlib.problem.Problem.stencil`),
:math:`A_0` by one product and its Cholesky factor by LAPACK: :math:`O(N^dn_{max}^2 + nN_0 + N_0^3)` per application,
meant for the moderate ``n`` of a study on a fixed field (:class:`ddlib.schwarz.SchwarzPreconditioner` is the
scalable form of the same operator for a fixed span). Gradients flow through all of it.

Examples
--------
>>> import numpy as np, torch
>>> from ddlib.coefficients import channels
>>> from ddlib.decomposition import Decomposition
>>> from ddlib.problem import Problem
>>> dec = Decomposition(Problem((15, 15), channels(15, 2, 1e4)), N=4, delta=1)
>>> model = SpanSchwarz(dec, per_box=2, seed=0)
>>> model.num_parameters(), model.coarse_dim
(882, 32)
>>> M = model.dense().numpy()
>>> bool(np.allclose(M, M.T, atol=1e-12 * abs(M).max())), bool(np.linalg.eigvalsh(M).min() > 0)
(True, True)
"""
from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import torch

from ._validate import check_choice, check_int, check_positive
from .attention import _generator, _Operator
from .decomposition import PARTITIONS_OF_UNITY, Decomposition
from .memory import check_dense

__all__ = ["SpanSchwarz", "principal_angles", "span_parameter_count"]


def span_parameter_count(dec: Decomposition, per_box: int) -> int:
    r"""Parameters of :class:`SpanSchwarz`: :math:`k\sum_in_i`."""
    return check_int("per_box", per_box, low=1) * int(dec.sizes.sum())


class SpanSchwarz(_Operator):
    r"""Two-level additive Schwarz with a learned coarse span (module docstring).

    Parameters
    ----------
    dec : Decomposition
        Boxes and problem (the coefficient enters through the local matrices and the stencil).
    per_box : int
        Coarse functions per box ``k``, :math:`1 \le k \le \min_i n_i`; :math:`N_0 = kN^d`.
    partition : {"multiplicity", "ramp"}
        :math:`D_i` of :math:`\Phi = \sum_iR_i^TD_iV_i` (positive on the box).
    init_scale, seed : float, int
        :math:`V_i` entries :math:`\mathcal N(0, s^2)` from a seeded generator (the span does not depend on
        ``init_scale``; :meth:`set_span` sets given local vectors instead).
    """

    symmetric = True

    def __init__(self, dec: Decomposition, per_box: int, *, partition: str = "multiplicity", init_scale: float = 0.1,
                 seed: int = 0):
        super().__init__()
        if not isinstance(dec, Decomposition):
            raise ValueError(f"dec must be a ddlib.decomposition.Decomposition; got {type(dec).__name__}")
        if check_choice("partition", partition, PARTITIONS_OF_UNITY) == "boolean":
            raise ValueError("partition must be 'multiplicity' or 'ramp' (positive on the box); got 'boolean'")
        self._setup(dec.problem)
        self.decomposition, self.partition = dec, partition
        self.per_box = check_int("per_box", per_box, low=1, high=int(dec.sizes.min()))
        self.coarse_dim = self.per_box * dec.n_sub
        mask = dec.mask
        self.register_buffer("local_inverse", torch.as_tensor(_local_inverses(dec)), persistent=False)
        self.register_buffer("idx", torch.as_tensor(dec.padded_indices), persistent=False)
        D = dec.padded_partition_of_unity(partition)
        k = self.per_box
        self.register_buffer("rows", torch.as_tensor(np.repeat(dec.padded_indices[mask], k)), persistent=False)
        cols = (np.arange(dec.n_sub)[:, None, None] * k + np.arange(k)[None, None, :]) * np.ones((1, dec.n_max, 1),
                                                                                                   np.int64)
        self.register_buffer("cols", torch.as_tensor(cols[mask].ravel()), persistent=False)
        self.register_buffer("weights", torch.as_tensor(D[mask]), persistent=False)
        self.register_buffer("mask", torch.as_tensor(mask), persistent=False)
        g = _generator(seed)
        V = torch.randn(dec.n_sub, dec.n_max, k, generator=g, dtype=torch.float64) * check_positive("init_scale",
                                                                                                    init_scale)
        self.V = torch.nn.Parameter(V * self.mask[:, :, None])

    def extra_repr(self) -> str:
        return (f"{self.decomposition!r}, per_box={self.per_box}, partition={self.partition!r}, "
                f"parameters={self.num_parameters()}")

    def basis(self) -> torch.Tensor:
        r"""The coarse basis :math:`\Phi = \sum_iR_i^TD_iV_i` as a dense ``n x N_0`` tensor (differentiable)."""
        vals = self.V[self.mask].reshape(-1) * self.weights.repeat_interleave(self.per_box)
        Phi = torch.zeros(self.n, self.coarse_dim, dtype=self.V.dtype, device=self.V.device)
        return Phi.index_put((self.rows, self.cols), vals)

    def set_span(self, vectors) -> "SpanSchwarz":
        r"""Set :math:`V_i` to the given local vectors (one ``n_i x k`` array per box, in the order of
        ``dec.indices``), e.g. GenEO's eigenvectors, so that :math:`\Phi` is that space (in place; returns self)."""
        dec = self.decomposition
        if len(vectors) != dec.n_sub:
            raise ValueError(f"vectors must hold one n_i x {self.per_box} array per box ({dec.n_sub}); got "
                             f"{len(vectors)}")
        V = np.zeros((dec.n_sub, dec.n_max, self.per_box))
        for i, v in enumerate(vectors):
            v = np.asarray(v, dtype=np.float64)
            if v.shape != (dec.sizes[i], self.per_box):
                raise ValueError(f"vectors[{i}] must have shape ({dec.sizes[i]}, {self.per_box}); got {v.shape}")
            V[i, dec.mask[i]] = v
        with torch.no_grad():
            self.V.copy_(torch.as_tensor(V))
        return self

    def galerkin(self) -> tuple[torch.Tensor, torch.Tensor]:
        r""":math:`\Phi` and the Cholesky factor of :math:`A_0 = \Phi^TA\Phi` (a rank-deficient :math:`\Phi` is a
        ValueError). Kept while :math:`V` is unchanged (its version counter), grad mode is the same and no backward
        pass has run through them: the iterations of one prediction share one graph through them."""
        key = (self.V._version, self.V.data_ptr(), torch.is_grad_enabled())
        if self.__dict__.get("_galerkin_key") != key:
            Phi = self.basis()
            A0 = Phi.T @ self.problem.stencil(Phi)
            L, info = torch.linalg.cholesky_ex(0.5 * (A0 + A0.T))
            if int(info):
                raise ValueError("the learned coarse space is rank deficient: Phi^T A Phi is not positive definite")
            if Phi.requires_grad:  # a backward pass through Phi frees its graph: build it anew next time
                Phi.register_hook(self._forget_galerkin)
            self.__dict__["_galerkin_key"], self.__dict__["_galerkin"] = key, (Phi, L)
        return self.__dict__["_galerkin"]

    def _forget_galerkin(self, grad):
        self.__dict__.pop("_galerkin_key", None)
        return grad

    def coarse_part(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`\Phi(\Phi^TA\Phi)^{-1}\Phi^TF` (:meth:`galerkin`)."""
        Phi, L = self.galerkin()
        return Phi @ torch.cholesky_solve(Phi.T @ F, L)

    def local_part(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`\sum_iR_i^TA_i^{-1}R_iF`: gather, one batched product with the padded inverses, scatter-add."""
        flat = self.idx.reshape(-1)
        X = F.index_select(0, flat).view(*self.idx.shape, F.shape[1]) * self.mask[:, :, None]
        Y = torch.bmm(self.local_inverse, X)
        return F.new_zeros(F.shape).index_add(0, flat, Y.reshape(-1, F.shape[1]))

    def apply_columns(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`M_V^{-1}F` for right-hand sides as the columns of ``F`` (shape ``(n, batch)``)."""
        self._check_columns(F)
        return self.local_part(F) + self.coarse_part(F)

    def coarse_space(self) -> sp.csr_matrix:
        r"""The current :math:`\Phi` as a sparse matrix (for :func:`ddlib.schwarz.schwarz_preconditioner`)."""
        with torch.no_grad():
            P = sp.csr_matrix(self.basis().cpu().numpy())
        P.eliminate_zeros()
        return P

    def parameter_formula(self) -> int:
        return span_parameter_count(self.decomposition, self.per_box)

    def num_parameters(self) -> int:
        """Trainable scalars: the entries of :math:`V_i` on the box nodes (padding excluded)."""
        return self.parameter_formula()


def _local_inverses(dec: Decomposition) -> np.ndarray:
    """The dense :math:`A_i^{-1}` of every box, padded to ``(N^d, n_max, n_max)`` with zeros."""
    check_dense((dec.n_sub * dec.n_max, dec.n_max), "the padded local inverses", "ddlib.schwarz.OverlappingOperator")
    out = np.zeros((dec.n_sub, dec.n_max, dec.n_max))
    for i, Ai in enumerate(dec.local_matrices()):  # one small dense inverse per box, once
        real = np.flatnonzero(dec.mask[i])
        out[i][np.ix_(real, real)] = np.linalg.inv(Ai.toarray())
    return out


def principal_angles(X, Y, A=None) -> np.ndarray:
    r"""Principal angles (radians, ascending) between the column spans of ``X`` and ``Y`` in the inner product
    :math:`\langle x, y\rangle_A = x^TAy` (Euclidean without ``A``): with :math:`A`-orthonormal bases
    :math:`Q_X, Q_Y`, the angles are :math:`\arccos` of the singular values of :math:`Q_X^TAQ_Y`
    (:cite:t:`bjorck1973numerical`); ``min(rank X, rank Y)`` of them.

    >>> X = np.eye(3)[:, :2]; Y = np.eye(3)[:, 1:]
    >>> np.round(np.degrees(principal_angles(X, Y)), 6).tolist()
    [0.0, 90.0]
    """
    X, Y = (np.asarray(Z.toarray() if sp.issparse(Z) else Z, dtype=np.float64) for Z in (X, Y))
    if X.ndim != 2 or Y.ndim != 2 or X.shape[0] != Y.shape[0]:
        raise ValueError(f"X and Y must be matrices with the same number of rows; got {X.shape} and {Y.shape}")
    if A is None:
        return np.sort(scipy.linalg.subspace_angles(X, Y))
    Qx, Qy = _a_orthonormal(X, A), _a_orthonormal(Y, A)
    s = np.clip(scipy.linalg.svdvals(Qx.T @ (A @ Qy)), -1.0, 1.0)
    return np.sort(np.arccos(s))


def _a_orthonormal(X: np.ndarray, A) -> np.ndarray:
    """An :math:`A`-orthonormal basis of the span of ``X`` (eigenvectors of the Gram matrix, tiny ones dropped)."""
    lam, U = np.linalg.eigh(X.T @ (A @ X))
    keep = lam > 1e-12 * lam.max()
    return X @ (U[:, keep] / np.sqrt(lam[keep]))
