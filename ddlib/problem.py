r"""The model problem in one, two or three dimensions: :math:`-\nabla\cdot(a\nabla u) = f` on the unit interval,
square or cube with :math:`u = 0` on the boundary, by the :math:`(2d+1)`-point finite-difference stencil.

A :class:`Problem` is a grid **shape** plus a **cell coefficient field**, as in pyamg's
``gallery.poisson(shape)``: the dimension is ``len(shape)``, never a flag. With ``m`` interior nodes per side,
:math:`h = 1/(m+1)`, node :math:`(i_1, \dots, i_d)` (0-based) sits at :math:`((i_1+1)h, \dots, (i_d+1)h)` and the
unknowns are ordered with the **last index fastest** (C order), so ``u.reshape(shape)[i]`` is the value at node ``i``.
The cells :math:`(p_1, \dots, p_d)`, :math:`p_k = 0..m`, cover :math:`\prod_k [p_kh, (p_k+1)h]` and carry the
coefficient :math:`a_p > 0` (default 1).

**The matrix** is the edge-weighted graph Laplacian of the grid. The edge between a node and its neighbour in
direction :math:`k` is weighted by the arithmetic mean :math:`w_e` of the :math:`2^{d-1}` cells that share it (in 1D
the edge *is* a cell); a neighbour on the boundary contributes its edge to the diagonal (Dirichlet). With the
difference operators :math:`G_k` (one row per edge in direction ``k``, boundary edges included)

.. math::  A = h^{-2}\sum_{k=1}^{d} G_k^T W_k G_k, \qquad u^TAu = h^{-2}\sum_k \sum_{e} w_e\,(G_ku)_e^2 ,

symmetric positive definite. With :math:`a = 1` it is :math:`h^{-2}\,\mathrm{tridiag}(-1, 2, -1)` in 1D and the
5-point Laplacian :math:`h^{-2}(T\otimes I + I\otimes T)` in 2D.

**Constant coefficient** (:attr:`Problem.constant`). The eigenpairs are tensor products of the 1D ones (facts 1 and 8
of the project's paper page),

.. math::  \lambda_{\mathbf k} = \frac{4}{h^2}\sum_{j=1}^{d}\sin^2\frac{k_j\pi h}{2}, \qquad
           v_{\mathbf k}(x) = \prod_{j=1}^{d}\sin(k_j\pi x_j), \qquad k_j = 1..m,

so :meth:`Problem.solve` is two orthonormal :math:`d`-dimensional sine transforms (DST-I) and a division,
:math:`O(n\log n)` per right-hand side. With a variable coefficient it is one sparse LU (SuperLU), factorized once.

**Quadrature weight.** A node carries the volume :math:`h^d` (:attr:`Problem.weight`): the attention operators of
:mod:`ddlib.attention` carry it in front, so their learned factors approximate the Green's function itself, with
entries of order one. In 1D :math:`(A^{-1})_{ij} = h\,G(x_i, x_j)` with :math:`G(x, y) = \min(x,y)(1-\max(x,y))`
(:func:`green_function`, fact 2).

References
----------
.. [1] R. J. LeVeque, *Finite Difference Methods for Ordinary and Partial Differential Equations*, SIAM 2007, ch. 2-3.

Examples
--------
>>> import numpy as np
>>> from ddlib.problem import Problem, green_function
>>> P = Problem(7)                                             # 1D, seven interior nodes, h = 1/8
>>> bool(np.allclose(np.linalg.eigvalsh(P.matrix().toarray()), P.eigenvalues()))
True
>>> x = P.nodes()[:, 0]
>>> bool(np.allclose(P.inverse(), P.h * green_function(x[:, None], x[None, :])))
True
>>> Q = Problem((5, 5, 5), coefficient=np.full((6, 6, 6), 2.0))   # 3D, a = 2 everywhere: A doubles
>>> bool(abs(Q.matrix() - 2 * Problem((5, 5, 5)).matrix()).max() < 1e-9)
True
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.fft
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh, splu

from ._validate import check_finite, check_int
from .memory import check_dense

__all__ = ["Problem", "DIMS", "green_function", "ManufacturedSolution", "MANUFACTURED", "convergence_study"]

#: The dimensions a :class:`Problem` lives in.
DIMS = (1, 2, 3)


class Problem:
    r"""The model problem on the grid ``shape`` with the cell coefficient ``coefficient`` (module docstring).

    Parameters
    ----------
    shape : int or tuple of int
        Interior nodes per side: ``m`` (1D) or ``(m,)*d`` with ``d`` in 1..3 and equal sides (the unit cube, one
        mesh width :math:`h = 1/(m+1)`), ``m >= 1``.
    coefficient : array of shape ``(m+1,)*d``, optional
        The cell values :math:`a_p`, finite and positive; default 1 everywhere.

    Examples
    --------
    >>> P = Problem((3, 3))
    >>> P.dim, P.n, P.h, P.weight
    (2, 9, 0.25, 0.0625)
    >>> P.matrix().toarray()[0, :4] * P.h**2                  # the 5-point stencil at a corner node
    array([ 4., -1.,  0., -1.])
    """

    def __init__(self, shape, coefficient=None):
        shape = (shape,) if np.ndim(shape) == 0 else tuple(shape)
        if len(shape) not in DIMS:
            raise ValueError(f"shape must have 1, 2 or 3 entries (the dimension); got {shape!r}")
        m = check_int("shape[0]", shape[0], low=1)
        if any(check_int(f"shape[{k}]", s, low=1) != m for k, s in enumerate(shape)):
            raise ValueError(f"shape must have equal sides (the unit cube with one mesh width); got {shape!r}")
        self.dim, self.m = len(shape), m
        self.shape = (m,) * self.dim
        self.n = m**self.dim
        self.h = 1.0 / (m + 1)
        #: quadrature weight of a node, :math:`h^d`
        self.weight = self.h**self.dim
        self.coefficient = None if coefficient is None else self._check_coefficient(coefficient)

    def _check_coefficient(self, a) -> np.ndarray:
        a = check_finite("coefficient", a)
        cells = (self.m + 1,) * self.dim
        if a.shape != cells:
            raise ValueError(f"coefficient must hold one value per cell, shape {cells}; got shape {a.shape}")
        if a.min() <= 0:
            raise ValueError(f"coefficient must be positive in every cell; its minimum is {a.min():.3g}")
        return a

    @classmethod
    def from_size(cls, n: int, dim: int = 1, coefficient=None) -> "Problem":
        """The problem with ``n = m**dim`` unknowns (ValueError naming ``n`` if ``n`` is not a ``dim``-th power)."""
        n, dim = check_int("n", n, low=1), check_int("dim", dim, low=1, high=max(DIMS))
        m = int(round(n ** (1.0 / dim)))
        m = next((k for k in (m - 1, m, m + 1) if k >= 1 and k**dim == n), None)
        if m is None:
            raise ValueError(f"n must be m**{dim} for a grid of m nodes per side in {dim}D; got n = {n}")
        return cls((m,) * dim, coefficient)

    def __repr__(self) -> str:
        field = "" if self.constant else ", variable coefficient"
        return f"Problem(shape={self.shape}{field})"

    @property
    def constant(self) -> bool:
        """True when the coefficient is the same in every cell (then the closed forms hold, up to that factor)."""
        return self.coefficient is None

    def nodes(self) -> np.ndarray:
        r"""The node coordinates, shape ``(n, d)``, in the unknowns' order."""
        x = self.h * np.arange(1, self.m + 1)
        return np.stack(np.meshgrid(*([x] * self.dim), indexing="ij"), axis=-1).reshape(self.n, self.dim)

    # ------------------------------------------------------------------------------------------------ the matrix
    def edge_weights(self) -> list[np.ndarray]:
        r"""Per direction ``k`` the edge weights :math:`w_e` as an array with ``m + 1`` entries along axis ``k``
        (edge ``j`` joins nodes ``j - 1`` and ``j``; edges 0 and ``m`` touch the boundary) and ``m`` along the
        others: the mean of the :math:`2^{d-1}` cells sharing the edge."""
        if self.coefficient is None:
            return [np.ones(tuple(self.m + (a == k) for a in range(self.dim))) for k in range(self.dim)]
        out = []
        for k in range(self.dim):
            w = self.coefficient
            for a in range(self.dim):
                if a != k:  # the two cells on either side of the edge along axis a
                    w = 0.5 * (np.take(w, range(self.m), axis=a) + np.take(w, range(1, self.m + 1), axis=a))
            out.append(w)
        return out

    def gradient(self, k: int) -> sp.csr_matrix:
        r"""The difference operator :math:`G_k` in direction ``k``: one row per edge, :math:`(G_ku)_e = u_j - u_{j-1}`
        (zero beyond the boundary), shape ``(edges, n)``."""
        k = check_int("k", k, low=0, high=self.dim - 1)
        D = sp.diags([np.ones(self.m), -np.ones(self.m)], [0, -1], shape=(self.m + 1, self.m))
        factors = [D if a == k else sp.identity(self.m) for a in range(self.dim)]
        G = factors[0]
        for F in factors[1:]:
            G = sp.kron(G, F)
        return sp.csr_matrix(G)

    def matrix(self) -> sp.csr_matrix:
        r"""The sparse matrix :math:`A = h^{-2}\sum_k G_k^TW_kG_k` (CSR, float64; built once)."""
        return self._matrix

    @cached_property
    def _matrix(self) -> sp.csr_matrix:
        A = sum(self.gradient(k).T @ sp.diags(w.ravel()) @ self.gradient(k)
                for k, w in enumerate(self.edge_weights()))
        A = sp.csr_matrix(A / self.h**2)
        A.sort_indices()
        return A

    def stencil(self, X):
        r""":math:`AX` for the columns of ``X`` (shape ``(n, batch)``, NumPy or torch), matrix-free: per direction a
        difference, the edge weights, and the transposed difference. Differentiable in torch."""
        return self._stencil_terms(X, energy=False)

    def energy(self, R):
        r"""Squared energy norms :math:`\|r\|_A^2 = h^{-2}\sum_k\sum_e w_e(G_kr)_e^2` of the columns of ``R``
        (shape ``(n, batch)``, NumPy or torch): a sum of squares, exactly non-negative."""
        return self._stencil_terms(R, energy=True)

    def _stencil_terms(self, X, energy: bool):
        xp = _namespace(X)
        if X.ndim != 2 or X.shape[0] != self.n:
            raise ValueError(f"X must have shape (n, batch) with n = {self.n}; got {tuple(X.shape)}")
        B = X.shape[1]
        G = X.reshape(*self.shape, B)
        total = 0.0
        for k, w in enumerate(self._edge_weight_arrays(xp, X)):
            d = _diff_padded(xp, G, k)                                  # (..., m + 1 along k, ..., B)
            wd = d if w is None else d * w[..., None]
            if energy:
                total = total + (d * wd).reshape(-1, B).sum(0)
            else:
                total = total + (_take(xp, wd, k, 0, self.m) - _take(xp, wd, k, 1, self.m + 1))
        if energy:
            return total / self.h**2
        return total.reshape(self.n, B) / self.h**2

    def _edge_weight_arrays(self, xp, like):
        if self.coefficient is None:
            return [None] * self.dim
        if xp is np:
            return self.edge_weights()
        import torch  # import here: torch only for callers that pass tensors (NumPy users need not load it)
        key = (like.dtype, like.device)
        cache = self.__dict__.setdefault("_torch_weights", {})
        if key not in cache:
            cache[key] = [torch.as_tensor(w, dtype=like.dtype, device=like.device) for w in self.edge_weights()]
        return cache[key]

    # --------------------------------------------------------------------------------------------- spectrum
    def _require_constant(self, what: str) -> None:
        if not self.constant:
            raise ValueError(f"{what} is a closed form of the constant coefficient; this problem's coefficient "
                             "varies (use matrix() and a sparse eigensolver)")

    def eigenvalues(self, modes=None) -> np.ndarray:
        r"""Eigenvalues :math:`\lambda_{\mathbf k} = \frac{4}{h^2}\sum_j\sin^2\frac{k_j\pi h}{2}` (constant
        coefficient): all ``n`` of them ascending, or those of ``modes`` (integer array ``(count, d)`` of mode numbers
        in ``1..m``; in 1D also a plain sequence of ``k``), in that order."""
        self._require_constant("eigenvalues")
        mu = 4.0 / self.h**2 * np.sin(np.arange(1, self.m + 1) * np.pi * self.h / 2.0) ** 2
        if modes is None:
            total = mu
            for _ in range(self.dim - 1):
                total = np.add.outer(total, mu).ravel()
            return np.sort(total, kind="stable")
        return mu[self.mode_numbers(modes) - 1].sum(axis=1)

    def mode_numbers(self, modes) -> np.ndarray:
        """``modes`` as an int array ``(count, d)`` of mode numbers in ``1..m`` (ValueError otherwise)."""
        a = np.asarray(modes)
        if self.dim == 1 and a.ndim <= 1:
            a = a.reshape(-1, 1)
        ok = a.dtype.kind in "iu" or (a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a)))
        if not ok or a.ndim != 2 or a.shape[1] != self.dim:
            raise ValueError(f"modes must be integers of shape (count, {self.dim}); got {np.shape(modes)}")
        a = a.astype(np.int64)
        if a.size and (a.min() < 1 or a.max() > self.m):
            raise ValueError(f"modes must hold mode numbers in [1, {self.m}]; got values from {a.min()} to {a.max()}")
        return a

    def eigenvectors(self, modes, *, normalized: bool = False) -> np.ndarray:
        r"""Eigenvectors :math:`v_{\mathbf k}(x) = \prod_j \sin(k_j\pi x_j)` as the columns of an ``n x count`` array
        (constant coefficient); ``normalized=True`` scales them by :math:`(2h)^{d/2}`, which makes them orthonormal."""
        self._require_constant("eigenvectors")
        k = self.mode_numbers(modes)
        x = self.h * np.arange(1, self.m + 1)
        V = np.ones((1, k.shape[0]))
        for j in range(self.dim):  # the tensor product, last axis fastest
            S = np.sin(np.pi * np.outer(x, k[:, j]))
            V = (V[:, None, :] * S[None, :, :]).reshape(-1, k.shape[0])
        return V * (2.0 * self.h) ** (self.dim / 2) if normalized else V

    # ------------------------------------------------------------------------------------------------- solves
    def solve(self, f) -> np.ndarray:
        r"""Solve :math:`Au = f` for one right-hand side ``(n,)`` or a batch ``(samples, n)`` (rows).

        Constant coefficient: :math:`u = S\,\Lambda^{-1}S f` with the orthonormal :math:`d`-dimensional DST-I
        :math:`S` (:func:`scipy.fft.dstn`, all samples at once). Otherwise one sparse LU, factorized on first use.
        """
        f = check_finite("f", f)
        if f.ndim not in (1, 2) or f.shape[-1] != self.n:
            raise ValueError(f"f must have shape (n,) or (samples, n) with n = {self.n}; got shape {f.shape}")
        F = f.reshape(-1, *self.shape)
        if self.constant:
            axes = tuple(range(1, self.dim + 1))
            lam = self.eigenvalues(np.indices(self.shape).reshape(self.dim, -1).T + 1).reshape(self.shape)
            U = scipy.fft.dstn(scipy.fft.dstn(F, type=1, axes=axes, norm="ortho") / lam, type=1, axes=axes,
                               norm="ortho")
            return U.reshape(f.shape)
        U = self._lu.solve(np.ascontiguousarray(F.reshape(-1, self.n).T))
        return U.T.reshape(f.shape)

    @cached_property
    def _lu(self):
        return splu(self.matrix().tocsc())

    def inverse(self) -> np.ndarray:
        r"""The dense inverse :math:`A^{-1}` (symmetrised), for small ``n``: refused up front above the dense-memory
        limit (:func:`ddlib.memory.check_dense`); :meth:`solve` is the sparse alternative."""
        check_dense((self.n, self.n), "the dense inverse A^-1", "Problem.solve (one right-hand side at a time)")
        G = self.solve(np.eye(self.n))
        return 0.5 * (G + G.T)

    def norm_inverse(self) -> float:
        r""":math:`\|A^{-1}\|_2 = 1/\lambda_{\min}`: the closed form for a constant coefficient, else Lanczos."""
        if self.constant:
            return 1.0 / float(self.eigenvalues([[1] * self.dim])[0])
        lam = eigsh(self.matrix().tocsc(), k=1, sigma=0, which="LM", return_eigenvectors=False)[0]
        return 1.0 / float(lam)


def _namespace(X):
    """NumPy or torch, by the type of ``X``."""
    if isinstance(X, np.ndarray):
        return np
    import torch  # import here: torch only for callers that pass tensors (NumPy users need not load it)
    if isinstance(X, torch.Tensor):
        return torch
    raise ValueError(f"X must be a NumPy array or a torch tensor; got {type(X).__name__}")


def _take(xp, a, axis: int, start: int, stop: int):
    """``a[start:stop]`` along ``axis`` (a view in both NumPy and torch)."""
    if xp is np:
        return a[(slice(None),) * axis + (slice(start, stop),)]
    return a.narrow(axis, start, stop - start)


def _diff_padded(xp, G, axis: int):
    """Differences along ``axis`` of ``G`` with a zero on either end: ``m + 1`` edges for ``m`` nodes."""
    m = G.shape[axis]
    if xp is np:
        pad = [(0, 0)] * G.ndim
        pad[axis] = (1, 1)
        return np.diff(np.pad(G, pad), axis=axis)
    import torch  # import here: torch only for callers that pass tensors (NumPy users need not load it)
    z = torch.zeros_like(_take(xp, G, axis, 0, 1))
    P = torch.cat([z, G, z], dim=axis)
    return _take(xp, P, axis, 1, m + 2) - _take(xp, P, axis, 0, m + 1)


def green_function(x, y) -> np.ndarray:
    r"""Green's function of :math:`-u''` on (0, 1) with Dirichlet conditions: :math:`G(x, y) = \min(x,y)\,(1-\max(x,y))`
    (fact 2 of the paper page: :math:`(A^{-1})_{ij} = h\,G(x_i, x_j)` in 1D)."""
    x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
    return np.minimum(x, y) * (1.0 - np.maximum(x, y))


@dataclass(frozen=True)
class ManufacturedSolution:
    r"""A smooth exact solution with its right-hand side :math:`f = -\Delta u`, in any dimension (the product of a
    1D profile ``g`` over the coordinates, :math:`f = \sum_k (-g'')(x_k)\prod_{j\ne k} g(x_j)`)."""

    name: str
    g: callable
    minus_g2: callable

    def u(self, x: np.ndarray) -> np.ndarray:
        """Exact solution at the points ``x`` (shape ``(points, d)``)."""
        return np.prod(self.g(x), axis=1)

    def f(self, x: np.ndarray) -> np.ndarray:
        """Right-hand side :math:`-\\Delta u` at the points ``x`` (shape ``(points, d)``)."""
        g = self.g(x)
        return sum(self.minus_g2(x[:, k]) * np.prod(np.delete(g, k, axis=1), axis=1) for k in range(x.shape[1]))


#: :math:`g(x) = e^{x}\sin(\pi x)`, :math:`-g'' = e^{x}\big((\pi^2 - 1)\sin(\pi x) - 2\pi\cos(\pi x)\big)`.
MANUFACTURED = ManufacturedSolution(
    name="exp(x) sin(pi x)",
    g=lambda x: np.exp(x) * np.sin(np.pi * x),
    minus_g2=lambda x: np.exp(x) * ((np.pi**2 - 1.0) * np.sin(np.pi * x) - 2.0 * np.pi * np.cos(np.pi * x)),
)


def convergence_study(ms, dim: int = 1, solution: ManufacturedSolution = MANUFACTURED) -> dict:
    r"""Max-norm errors :math:`\max_j |u(x_j) - u_j|` over grids of ``m`` nodes per side and the observed orders.

    The observed order between consecutive grids is :math:`p = \log(e_1/e_2) / \log(h_1/h_2)`; the second-order
    scheme gives :math:`p \to 2` in every dimension.

    Returns a dict with arrays ``m``, ``h``, ``error`` and ``order`` (``order[0]`` is NaN).

    Examples
    --------
    >>> study = convergence_study([15, 31, 63])
    >>> bool(abs(study["order"][-1] - 2) < 0.05)
    True
    """
    ms = np.array([check_int("ms[i]", m, low=1) for m in ms])
    if len(ms) < 2:
        raise ValueError(f"ms must hold at least 2 grid sizes; got {len(ms)}")
    hs, errs = [], []
    for m in ms:
        P = Problem((int(m),) * dim)
        x = P.nodes()
        hs.append(P.h)
        errs.append(np.max(np.abs(P.solve(solution.f(x)) - solution.u(x))))
    hs, errs = np.array(hs), np.array(errs)
    order = np.full(len(ms), np.nan)
    order[1:] = np.log(errs[:-1] / errs[1:]) / np.log(hs[:-1] / hs[1:])
    return {"m": ms, "h": hs, "error": errs, "order": order}
