r"""The model problem: :math:`-u'' = f` on (0, 1) with :math:`u(0) = u(1) = 0`, by finite differences.

With ``n`` interior nodes, :math:`h = 1/(n+1)` and :math:`x_j = jh` (``j = 1..n``), the discrete operator is

.. math::  A = h^{-2}\,\mathrm{tridiag}(-1, 2, -1) \in \mathbb{R}^{n \times n},

symmetric positive definite, with closed-form eigenpairs and inverse (the discrete Green's function).

Examples
--------
>>> import numpy as np
>>> from ddlib.problem import laplacian_1d, eigenvalues, inverse
>>> A = laplacian_1d(7)
>>> bool(np.allclose(np.linalg.eigvalsh(A.toarray()), eigenvalues(7)))
True
>>> bool(np.allclose(np.linalg.inv(A.toarray()), inverse(7)))
True
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from ._validate import check_finite, check_int

__all__ = [
    "grid",
    "laplacian_1d",
    "eigenvalues",
    "eigenvectors",
    "green_function",
    "inverse",
    "solve",
    "ManufacturedSolution",
    "MANUFACTURED",
    "convergence_study",
]


def grid(n: int) -> tuple[float, np.ndarray]:
    r"""Mesh width and interior nodes: :math:`h = 1/(n+1)`, :math:`x_j = jh` for ``j = 1..n``."""
    n = check_int("n", n, low=1)
    h = 1.0 / (n + 1)
    return h, h * np.arange(1, n + 1, dtype=np.float64)


def laplacian_1d(n: int) -> sp.csr_matrix:
    r"""The sparse finite-difference matrix :math:`A = h^{-2}\,\mathrm{tridiag}(-1, 2, -1)` (CSR, float64)."""
    n = check_int("n", n, low=1)
    h, _ = grid(n)
    main = np.full(n, 2.0 / h**2)
    off = np.full(n - 1, -1.0 / h**2)
    return sp.diags([off, main, off], [-1, 0, 1], format="csr", dtype=np.float64)


def eigenvalues(n: int, k=None) -> np.ndarray:
    r"""Eigenvalues :math:`\lambda_k = \frac{4}{h^2}\sin^2\!\big(\frac{k\pi h}{2}\big)`, ascending, for ``k = 1..n`` (or the given ``k``)."""
    n = check_int("n", n, low=1)
    h, _ = grid(n)
    k = np.arange(1, n + 1) if k is None else _mode_numbers(k, n)
    return 4.0 / h**2 * np.sin(k * np.pi * h / 2.0) ** 2


def _mode_numbers(k, n: int) -> np.ndarray:
    """``k`` as an integer array of mode numbers in ``1..n`` (ValueError otherwise)."""
    a = np.asarray(k)
    if a.dtype.kind not in "iu" and not (a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.round(a))):
        raise ValueError(f"k must hold integers in [1, {n}]; got {k!r}")
    a = a.astype(np.int64)
    if a.size and (a.min() < 1 or a.max() > n):
        raise ValueError(f"k must hold integers in [1, {n}]; got values from {a.min()} to {a.max()}")
    return a


def eigenvectors(n: int, k=None, *, normalized: bool = False) -> np.ndarray:
    r"""Eigenvectors :math:`v_k(x_j) = \sin(k\pi x_j)` as the columns of an ``n x len(k)`` array.

    With ``normalized=True`` each column is scaled by :math:`\sqrt{2h}`, which makes the full set orthonormal.
    """
    n = check_int("n", n, low=1)
    h, x = grid(n)
    k = np.arange(1, n + 1) if k is None else np.atleast_1d(_mode_numbers(k, n))
    V = np.sin(np.pi * np.outer(x, k))
    return V * np.sqrt(2.0 * h) if normalized else V


def green_function(x, y) -> np.ndarray:
    r"""Green's function of :math:`-u''` with Dirichlet conditions: :math:`G(x, y) = \min(x,y)\,(1-\max(x,y))`."""
    x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
    return np.minimum(x, y) * (1.0 - np.maximum(x, y))


def inverse(n: int) -> np.ndarray:
    r"""The dense inverse, in closed form: :math:`(A^{-1})_{ij} = h\,G(x_i, x_j)`."""
    h, x = grid(n)
    return h * green_function(x[:, None], x[None, :])


def solve(f) -> np.ndarray:
    r"""Solve :math:`A u = f` for one right-hand side (shape ``(n,)``) or a batch (shape ``(m, n)``, one per row).

    Uses the banded (tridiagonal) LAPACK solver: :math:`O(n)` work per right-hand side.
    """
    f = check_finite("f", f)
    if f.ndim not in (1, 2) or f.shape[-1] < 1:
        raise ValueError(f"f must have shape (n,) or (samples, n) with n >= 1; got shape {f.shape}")
    n = f.shape[-1]
    h, _ = grid(n)
    ab = np.empty((3, n))
    ab[0], ab[1], ab[2] = -1.0, 2.0, -1.0
    u = scipy.linalg.solve_banded((1, 1), ab, (h**2 * f).T, check_finite=False)
    return u.T


@dataclass(frozen=True)
class ManufacturedSolution:
    r"""A smooth exact solution ``u`` with its right-hand side ``f = -u''`` for convergence studies."""

    name: str
    u: callable
    f: callable


#: :math:`u(x) = e^{x}\sin(\pi x)`, so :math:`f = -u'' = e^{x}\big((\pi^2 - 1)\sin(\pi x) - 2\pi\cos(\pi x)\big)`.
MANUFACTURED = ManufacturedSolution(
    name="exp(x) sin(pi x)",
    u=lambda x: np.exp(x) * np.sin(np.pi * x),
    f=lambda x: np.exp(x) * ((np.pi**2 - 1.0) * np.sin(np.pi * x) - 2.0 * np.pi * np.cos(np.pi * x)),
)


def convergence_study(ns, solution: ManufacturedSolution = MANUFACTURED) -> dict:
    r"""Max-norm errors :math:`\max_j |u(x_j) - u_j|` over grids ``ns`` and the observed orders.

    The observed order between consecutive grids is :math:`p = \log(e_1/e_2) / \log(h_1/h_2)`; the
    second-order scheme gives :math:`p \to 2`.

    Returns a dict with arrays ``n``, ``h``, ``error`` and ``order`` (``order[0]`` is NaN).
    """
    ns = np.array([check_int("ns[i]", m, low=1) for m in ns])
    if len(ns) < 2:
        raise ValueError(f"ns must hold at least 2 grid sizes; got {len(ns)}")
    hs, errs = [], []
    for m in ns:
        h, x = grid(m)
        u = solve(solution.f(x))
        hs.append(h)
        errs.append(np.max(np.abs(u - solution.u(x))))
    hs, errs = np.array(hs), np.array(errs)
    order = np.full(len(ns), np.nan)
    order[1:] = np.log(errs[:-1] / errs[1:]) / np.log(hs[:-1] / hs[1:])
    return {"n": ns, "h": hs, "error": errs, "order": order}
