r"""The 2D model problem: :math:`-\Delta u = f` on the unit square with :math:`u = 0` on the boundary, by the 5-point
finite-difference stencil.

With ``m`` interior nodes per direction, :math:`h = 1/(m+1)`, :math:`x_a = ah` and :math:`y_b = bh` (``a, b = 1..m``),
the unknowns are ordered lexicographically with the **y-index running fastest**: node :math:`(x_a, y_b)` is unknown
``p = (a-1) m + (b-1)`` (0-based), so ``u.reshape(m, m)[a-1, b-1]`` is :math:`u(x_a, y_b)`. Then

.. math::  A = h^{-2}\,(T \otimes I + I \otimes T) \in \mathbb{R}^{n\times n}, \qquad n = m^2,
           \qquad T = \mathrm{tridiag}(-1, 2, -1) \in \mathbb{R}^{m\times m},

symmetric positive definite with the closed-form eigenpairs (fact 8 of the project's paper page)

.. math::  \lambda_{jk} = \frac{4}{h^2}\Big(\sin^2\frac{j\pi h}{2} + \sin^2\frac{k\pi h}{2}\Big), \qquad
           v_{jk}(x_a, y_b) = \sin(j\pi x_a)\,\sin(k\pi y_b), \qquad j, k = 1..m .

**Fast solve.** The orthonormal DST-I matrix :math:`S_{ab} = \sqrt{2h}\,\sin(ab\pi h)` is symmetric, orthogonal and
diagonalises :math:`T` (:math:`S T S = \mathrm{diag}(4\sin^2(j\pi h/2))`), so
:math:`A^{-1} = (S\otimes S)\,\mathrm{diag}(1/\lambda_{jk})\,(S\otimes S)`: two 2D DST-I
(:func:`scipy.fft.dstn`, ``type=1, norm="ortho"``) and a division, :math:`O(n\log n)` per right-hand side, vectorised over
samples (rows, as in :mod:`ddlib.data`).

**Size of the inverse.** In 2D, :math:`(A^{-1})_{pq} \approx h^2\,G(x_p, x_q)` with the Green's function
:math:`G(x, y) \sim -\frac{1}{2\pi}\log|x - y|` near the diagonal: :math:`A^{-1}/h^2` has :math:`O(1)` entries off the
diagonal and diagonal entries that grow like :math:`\frac{1}{2\pi}\log(1/h)` (:func:`green_diagonal_growth`).

Examples
--------
>>> import numpy as np
>>> from ddlib.problem2d import laplacian_2d, eigenvalues_2d, inverse_2d
>>> A = laplacian_2d(5)
>>> bool(np.allclose(np.linalg.eigvalsh(A.toarray()), eigenvalues_2d(5)))
True
>>> bool(np.allclose(np.linalg.inv(A.toarray()), inverse_2d(5)))
True
"""
from __future__ import annotations

import numpy as np
import scipy.fft
import scipy.sparse as sp

from ._validate import check_finite, check_int

__all__ = [
    "grid_2d",
    "laplacian_2d",
    "laplacian_2d_box",
    "eigenvalues_1d_factor",
    "eigenvalues_2d",
    "mode_eigenvalues_2d",
    "eigenvectors_2d",
    "box_eigenpairs",
    "solve_2d",
    "inverse_2d",
    "green_diagonal_growth",
    "DENSE_MAX_M",
]

#: Largest ``m`` for which :func:`inverse_2d` builds the dense ``m^2 x m^2`` inverse (n = 4096, 134 MB).
DENSE_MAX_M = 64


def grid_2d(m: int) -> tuple[float, np.ndarray]:
    r"""Mesh width and the interior coordinates of one direction: :math:`h = 1/(m+1)`, :math:`x_a = ah`, ``a = 1..m``."""
    m = check_int("m", m, low=1)
    h = 1.0 / (m + 1)
    return h, h * np.arange(1, m + 1, dtype=np.float64)


def _tridiag(k: int) -> sp.csr_matrix:
    return sp.diags([-np.ones(k - 1), 2.0 * np.ones(k), -np.ones(k - 1)], [-1, 0, 1], format="csr")


def laplacian_2d(m: int) -> sp.csr_matrix:
    r"""The sparse 5-point matrix :math:`A = h^{-2}(T\otimes I + I\otimes T)`, ``n = m^2`` (CSR, float64)."""
    h, _ = grid_2d(m)
    return laplacian_2d_box(m, m, h)


def laplacian_2d_box(mx: int, my: int, h: float) -> sp.csr_matrix:
    r"""The 5-point Dirichlet matrix :math:`h^{-2}(T_{m_x}\otimes I_{m_y} + I_{m_x}\otimes T_{m_y})` of an
    ``mx x my`` box of nodes with mesh width ``h`` (y fastest). A subdomain box's :math:`A_i = R_iAR_i^T` is this."""
    mx, my = check_int("mx", mx, low=1), check_int("my", my, low=1)
    A = sp.kron(_tridiag(mx), sp.identity(my)) + sp.kron(sp.identity(mx), _tridiag(my))
    return (A / float(h) ** 2).tocsr()


def eigenvalues_1d_factor(m: int) -> np.ndarray:
    r"""The eigenvalues :math:`\mu_j = 4\sin^2(j\pi/(2(m+1)))` of :math:`T = \mathrm{tridiag}(-1,2,-1)`, ``j = 1..m``."""
    m = check_int("m", m, low=1)
    return 4.0 * np.sin(np.arange(1, m + 1) * np.pi / (2.0 * (m + 1))) ** 2


def mode_eigenvalues_2d(m: int) -> np.ndarray:
    r"""The ``m x m`` array :math:`\Lambda_{jk} = \lambda_{j+1,k+1}` (unsorted, indexed by the mode numbers - 1)."""
    h, _ = grid_2d(m)
    mu = eigenvalues_1d_factor(m)
    return (mu[:, None] + mu[None, :]) / h**2


def eigenvalues_2d(m: int, j=None, k=None) -> np.ndarray:
    r"""Eigenvalues :math:`\lambda_{jk} = \frac{4}{h^2}(\sin^2\frac{j\pi h}{2} + \sin^2\frac{k\pi h}{2})`.

    Without ``j, k``: all ``n = m^2`` of them **sorted ascending** (the order Eckart-Young needs); with ``j, k``
    (broadcast arrays of mode numbers in ``1..m``): those eigenvalues, elementwise.
    """
    h, _ = grid_2d(m)
    if j is None and k is None:
        return np.sort(mode_eigenvalues_2d(m).ravel())
    if j is None or k is None:
        raise ValueError("j and k must be given together (or neither)")
    j, k = np.broadcast_arrays(np.asarray(j), np.asarray(k))
    if j.size and (j.min() < 1 or k.min() < 1 or j.max() > m or k.max() > m):
        raise ValueError(f"j and k must be mode numbers in [1, {m}]")
    return 4.0 / h**2 * (np.sin(j * np.pi * h / 2) ** 2 + np.sin(k * np.pi * h / 2) ** 2)


def eigenvectors_2d(m: int, j, k, *, normalized: bool = False) -> np.ndarray:
    r"""Eigenvectors :math:`v_{jk}(x_a, y_b) = \sin(j\pi x_a)\sin(k\pi y_b)` as the columns of an ``n x len(j)`` array.

    ``j`` and ``k`` are equal-length sequences of mode numbers in ``1..m``. With ``normalized=True`` each column is
    scaled by :math:`2h`, which makes the full set orthonormal.
    """
    h, x = grid_2d(m)
    j, k = np.atleast_1d(np.asarray(j)), np.atleast_1d(np.asarray(k))
    if j.shape != k.shape or j.ndim != 1:
        raise ValueError(f"j and k must be 1D sequences of equal length; got shapes {j.shape} and {k.shape}")
    if j.size and (j.min() < 1 or k.min() < 1 or j.max() > m or k.max() > m):
        raise ValueError(f"j and k must be mode numbers in [1, {m}]")
    Sx, Sy = np.sin(np.pi * np.outer(x, j)), np.sin(np.pi * np.outer(x, k))     # (m, modes) each
    V = (Sx[:, None, :] * Sy[None, :, :]).reshape(m * m, j.size)
    return V * (2.0 * h) if normalized else V


def box_eigenpairs(mx: int, my: int, h: float) -> tuple[np.ndarray, np.ndarray]:
    r"""All eigenpairs of :func:`laplacian_2d_box`, eigenvalues ascending, orthonormal eigenvectors as columns.

    :math:`\lambda_{jk} = h^{-2}\big(4\sin^2\frac{j\pi}{2(m_x+1)} + 4\sin^2\frac{k\pi}{2(m_y+1)}\big)` with
    eigenvector :math:`s^{(m_x)}_j \otimes s^{(m_y)}_k`, :math:`s^{(\ell)}_j(t) = \sqrt{2/(\ell+1)}\sin(jt\pi/(\ell+1))`.
    Ties (``mx == my``) are ordered by ``(j, k)``; the stable sort makes the order deterministic.
    """
    mx, my = check_int("mx", mx, low=1), check_int("my", my, low=1)
    lam = (eigenvalues_1d_factor(mx)[:, None] + eigenvalues_1d_factor(my)[None, :]).ravel() / float(h) ** 2
    order = np.argsort(lam, kind="stable")
    Sx = np.sqrt(2.0 / (mx + 1)) * np.sin(np.pi * np.outer(np.arange(1, mx + 1), np.arange(1, mx + 1)) / (mx + 1))
    Sy = np.sqrt(2.0 / (my + 1)) * np.sin(np.pi * np.outer(np.arange(1, my + 1), np.arange(1, my + 1)) / (my + 1))
    V = (Sx[:, None, :, None] * Sy[None, :, None, :]).reshape(mx * my, mx * my)
    return lam[order], V[:, order]


def _as_grids(f: np.ndarray) -> tuple[np.ndarray, int, bool]:
    """Rows ``(samples, n)`` or ``(n,)`` as an array ``(samples, m, m)``; returns it, ``m`` and whether it was 1D."""
    if f.ndim not in (1, 2):
        raise ValueError(f"f must have shape (n,) or (samples, n) with n = m^2; got shape {f.shape}")
    n = f.shape[-1]
    m = int(round(np.sqrt(n)))
    if n < 1 or m * m != n:
        raise ValueError(f"f must have n = m^2 >= 1 entries per sample (a square grid); got n = {n}")
    return f.reshape(-1, m, m), m, f.ndim == 1


def solve_2d(f) -> np.ndarray:
    r"""Solve :math:`Au = f` for one right-hand side ``(n,)`` or a batch ``(samples, n)`` (rows), ``n = m^2``.

    :math:`u = (S\otimes S)\,\big[(S\otimes S) f \,/\, \lambda\big]` with the orthonormal DST-I (module docstring):
    two :func:`scipy.fft.dstn` calls over all samples at once, :math:`O(n\log n)` per sample.
    """
    f = check_finite("f", f)
    F, m, single = _as_grids(f)
    lam = mode_eigenvalues_2d(m)
    U = scipy.fft.dstn(scipy.fft.dstn(F, type=1, axes=(1, 2), norm="ortho") / lam, type=1, axes=(1, 2),
                       norm="ortho")
    return U.reshape(m * m) if single else U.reshape(-1, m * m)


def inverse_2d(m: int) -> np.ndarray:
    r"""The dense inverse :math:`A^{-1} = (S\otimes S)\,\mathrm{diag}(1/\lambda_{jk})\,(S\otimes S)` (symmetric).

    Built by :func:`solve_2d` on the identity; ``m <= DENSE_MAX_M`` (``n <= 4096``).
    """
    m = check_int("m", m, low=1, high=DENSE_MAX_M)
    G = solve_2d(np.eye(m * m))
    return 0.5 * (G + G.T)


def green_diagonal_growth(ms) -> dict:
    r"""The size of the scaled inverse :math:`A^{-1}/h^2` (the quadrature-weighted Green's function) against ``m``.

    Returns arrays ``m``, ``h``, ``max_diagonal`` (:math:`\max_p (A^{-1})_{pp}/h^2`, the discrete Green's function at
    coincident points, which grows like :math:`\frac{1}{2\pi}\log(1/h)`), ``log_rate``
    (:math:`\frac{1}{2\pi}\log(1/h)`) and ``max_offdiagonal_far`` (the largest entry between nodes at least
    :math:`1/4` apart, which stays :math:`O(1)`). Uses one column per node only for the diagonal via the DST basis:
    :math:`(A^{-1})_{pp} = \sum_{jk} (S\otimes S)_{pjk}^2/\lambda_{jk}`.
    """
    ms = [check_int("ms[i]", m, low=2, high=1023) for m in ms]
    out = {"m": [], "h": [], "max_diagonal": [], "log_rate": [], "max_offdiagonal_far": []}
    for m in ms:
        h, x = grid_2d(m)
        S2 = (2.0 * h) * np.sin(np.pi * np.outer(x, np.arange(1, m + 1))) ** 2     # S_{aj}^2, (m, m)
        diag = np.einsum("aj,bk,jk->ab", S2, S2, 1.0 / mode_eigenvalues_2d(m))
        # one column of A^{-1} at the centre node, restricted to nodes at distance >= 1/4
        c = (m // 2) * m + m // 2
        e = np.zeros(m * m)
        e[c] = 1.0
        col = solve_2d(e).reshape(m, m)
        X, Y = np.meshgrid(x, x, indexing="ij")
        far = np.hypot(X - x[m // 2], Y - x[m // 2]) >= 0.25
        out["m"].append(m)
        out["h"].append(h)
        out["max_diagonal"].append(float(diag.max() / h**2))
        out["log_rate"].append(float(np.log(1.0 / h) / (2 * np.pi)))
        out["max_offdiagonal_far"].append(float(np.abs(col[far]).max() / h**2))
    return {k: np.asarray(v) for k, v in out.items()}
