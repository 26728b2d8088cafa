r"""Preconditioned conjugate gradients, iteration counts, and condition numbers of :math:`M^{-1}A`.

:func:`pcg` is the textbook preconditioned CG method :cite:p:`saad2003iterative`: with :math:`r_0 = b - Ax_0`,
:math:`z_0 = M^{-1}r_0`, :math:`p_0 = z_0`,

.. math::

    \alpha_j = \frac{r_j^T z_j}{p_j^T A p_j}, \quad x_{j+1} = x_j + \alpha_j p_j, \quad r_{j+1} = r_j - \alpha_j A p_j,
    \quad z_{j+1} = M^{-1} r_{j+1}, \quad \beta_j = \frac{r_{j+1}^T z_{j+1}}{r_j^T z_j}, \quad
    p_{j+1} = z_{j+1} + \beta_j p_j,

stopped when :math:`\|r_j\|_2 \le \mathrm{rtol}\,\|b\|_2`. It keeps the coefficients, from which
:func:`lanczos_tridiagonal` builds the Lanczos matrix of :math:`M^{-1}A`,

.. math::

    T_{11} = \frac{1}{\alpha_0}, \quad T_{j+1,j+1} = \frac{1}{\alpha_j} + \frac{\beta_{j-1}}{\alpha_{j-1}}, \quad
    T_{j,j+1} = T_{j+1,j} = \frac{\sqrt{\beta_{j-1}}}{\alpha_{j-1}},

whose extreme eigenvalues (Ritz values) approach :math:`\lambda_{\min}` and :math:`\lambda_{\max}` of :math:`M^{-1}A`
from inside: :func:`condition_estimate` returns their ratio, a lower estimate of :math:`\kappa(M^{-1}A)` that costs
nothing beyond the solve. For small ``n``, :func:`dense_spectrum` computes the whole spectrum: with a symmetric
positive definite :math:`M^{-1} = LL^T` (Cholesky), :math:`M^{-1}A` is similar to :math:`L^T A L`.

Examples
--------
>>> import numpy as np
>>> from ddlib.problem import Problem
>>> A = Problem(63).matrix()
>>> res = pcg(A, np.ones(63), rtol=1e-12)
>>> bool(res.converged), bool(np.allclose(A @ res.x, 1.0))
(True, True)
>>> kappa_exact = Problem(63).eigenvalues()[-1] / Problem(63).eigenvalues()[0]
>>> bool(abs(dense_condition_number(A) / kappa_exact - 1) < 1e-10)
True
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.linalg
from scipy.sparse.linalg import aslinearoperator, gmres

from ._validate import check_finite, check_int, check_positive
from .memory import check_dense

__all__ = [
    "PCGResult",
    "pcg",
    "lanczos_tridiagonal",
    "ritz_values",
    "condition_estimate",
    "pcg_spectrum",
    "dense_spectrum",
    "dense_condition_number",
    "gmres_iterations",
    "chebyshev_iterations",
]


@dataclass(frozen=True)
class PCGResult:
    """Outcome of :func:`pcg`.

    Attributes
    ----------
    x : ndarray
        The last iterate.
    iterations : int
        Number of CG steps taken (matrix-vector products with ``A``).
    converged : bool
        Whether :math:`\\|r\\|_2 \\le \\mathrm{rtol}\\,\\|b\\|_2` was reached within ``maxiter`` steps.
    residuals : ndarray
        Relative residual norms :math:`\\|r_j\\|_2 / \\|b\\|_2`, ``j = 0..iterations``.
    alpha, beta : ndarray
        The CG coefficients :math:`\\alpha_j` (``iterations`` of them) and :math:`\\beta_j` (``iterations - 1``).
    """

    x: np.ndarray
    iterations: int
    converged: bool
    residuals: np.ndarray
    alpha: np.ndarray
    beta: np.ndarray


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product without BLAS: threaded ``ddot`` stalls when the cores are shared (measured 10x on 2 cores)."""
    return float(np.einsum("i,i->", a, b))


def _norm(a: np.ndarray) -> float:
    return float(np.sqrt(_dot(a, a)))


def pcg(A, b, M=None, *, x0=None, rtol: float = 1e-8, maxiter: int | None = None) -> PCGResult:
    r"""Solve :math:`Ax = b` by preconditioned CG and keep the coefficients (see the module docstring).

    Parameters
    ----------
    A : sparse matrix, ndarray or LinearOperator
        Symmetric positive definite, ``n x n``.
    b : (n,) array
    M : LinearOperator, optional
        Applies the symmetric positive definite preconditioner :math:`M^{-1}`; default the identity.
    x0 : (n,) array, optional
        Initial guess, default zero.
    rtol : float
        Stop when :math:`\|r_j\|_2 \le \mathrm{rtol}\,\|b\|_2`.
    maxiter : int, optional
        At most this many steps; default ``10 n``.
    """
    A = aslinearoperator(A)
    n = A.shape[0]
    b = check_finite("b", b).reshape(-1)
    if b.size != n:
        raise ValueError(f"b must have length n = {n}; got {b.size}")
    rtol = check_positive("rtol", rtol)
    maxiter = check_int("maxiter", 10 * n if maxiter is None else maxiter, low=1)
    apply_M = (lambda r: r) if M is None else aslinearoperator(M).matvec
    x = np.zeros(n) if x0 is None else check_finite("x0", x0).reshape(-1).copy()
    r = b - A.matvec(x)
    bnorm = _norm(b)
    if bnorm == 0.0:
        return PCGResult(np.zeros(n), 0, True, np.zeros(1), np.zeros(0), np.zeros(0))
    res = [_norm(r) / bnorm]
    alphas, betas = [], []
    z = apply_M(r)
    rz = _dot(r, z)
    p = z.copy()
    converged = res[0] <= rtol
    while not converged and len(alphas) < maxiter:
        q = A.matvec(p)
        pq = _dot(p, q)
        if pq <= 0.0 or rz <= 0.0:
            raise ValueError("A and M must be symmetric positive definite (CG found p^T A p <= 0 or r^T M^-1 r <= 0)")
        alpha = rz / pq
        x += alpha * p
        r -= alpha * q
        alphas.append(alpha)
        res.append(_norm(r) / bnorm)
        converged = res[-1] <= rtol
        if converged:
            break
        z = apply_M(r)
        rz_new = _dot(r, z)
        beta = rz_new / rz
        betas.append(beta)
        rz = rz_new
        p = z + beta * p
    return PCGResult(x, len(alphas), bool(converged), np.array(res), np.array(alphas), np.array(betas))


def lanczos_tridiagonal(alpha, beta) -> tuple[np.ndarray, np.ndarray]:
    r"""Diagonal and off-diagonal of the Lanczos matrix :math:`T_k` from ``k`` CG coefficients (module docstring).

    ``alpha`` has ``k`` entries, ``beta`` at least ``k - 1`` (extra ones are ignored).
    """
    alpha = np.asarray(alpha, dtype=np.float64)
    k = alpha.size
    beta = np.asarray(beta, dtype=np.float64)[: max(k - 1, 0)]
    if k == 0 or beta.size != k - 1:
        raise ValueError(f"alpha must be non-empty and beta must hold at least len(alpha) - 1 = {k - 1} entries")
    diag = 1.0 / alpha
    diag[1:] += beta / alpha[:-1]
    off = np.sqrt(beta) / alpha[:-1]
    return diag, off


def ritz_values(alpha, beta) -> np.ndarray:
    """Eigenvalues of the Lanczos matrix :math:`T_k` (ascending): Ritz values of :math:`M^{-1}A`."""
    d, e = lanczos_tridiagonal(alpha, beta)
    return scipy.linalg.eigvalsh_tridiagonal(d, e) if d.size > 1 else d.copy()


def condition_estimate(A, M=None, *, seed: int = 0, rtol: float = 1e-10, maxiter: int | None = None,
                       b=None) -> dict:
    r"""Estimate :math:`\kappa(M^{-1}A)` from the Ritz values of one PCG solve.

    The right-hand side is ``b`` or, by default, a standard normal vector drawn with
    ``numpy.random.default_rng(seed)`` (it has components along every eigenvector, almost surely); the start is zero.

    Returns
    -------
    dict
        ``kappa`` (:math:`\theta_{\max}/\theta_{\min}`, a lower estimate), ``lambda_min``, ``lambda_max``,
        ``iterations`` (PCG steps to ``rtol``), ``converged``.
    """
    n = aslinearoperator(A).shape[0]
    seed = check_int("seed", seed, low=0)
    if b is None:
        b = np.random.default_rng(seed).standard_normal(n)
    res = pcg(A, b, M, rtol=rtol, maxiter=maxiter)
    if res.iterations == 0:
        raise ValueError("b must not be solved by the initial guess: no CG step, no Ritz values")
    theta = ritz_values(res.alpha, res.beta)
    return {"kappa": float(theta[-1] / theta[0]), "lambda_min": float(theta[0]), "lambda_max": float(theta[-1]),
            "iterations": res.iterations, "converged": res.converged}


def pcg_spectrum(A, M, b, *, rtol: float = 1e-8, kappa_rtol: float = 1e-10, dense_max: int = 511,
                 maxiter: int | None = None) -> dict:
    r"""PCG iterations to ``rtol`` and the spectrum ends of :math:`M^{-1}A`, from one PCG run (``M=None``: CG).

    The run goes from zero to ``min(rtol, kappa_rtol)``; ``iterations`` is its first step with
    :math:`\|r\|_2 \le \mathrm{rtol}\,\|b\|_2` (-1 if never). The spectrum is dense for ``n <= dense_max``
    (``method = "dense"``), else the Ritz values of the same run (``"lanczos"``, a lower estimate of
    :math:`\kappa`). Returns ``iterations``, ``converged``, ``lambda_min``, ``lambda_max``, ``kappa``, ``method``.
    """
    n = aslinearoperator(A).shape[0]
    res = pcg(A, b, M, rtol=min(rtol, kappa_rtol), maxiter=maxiter)
    below = np.flatnonzero(res.residuals <= rtol)
    if n <= dense_max:
        ev, method = dense_spectrum(A, M), "dense"
    else:
        ev, method = ritz_values(res.alpha, res.beta), "lanczos"
    return {"iterations": int(below[0]) if below.size else -1, "converged": bool(res.converged),
            "lambda_min": float(ev[0]), "lambda_max": float(ev[-1]), "kappa": float(ev[-1] / ev[0]),
            "method": method}


def dense_spectrum(A, M=None, *, symmetric: bool = True) -> np.ndarray:
    r"""All eigenvalues of :math:`M^{-1}A`, ascending (dense; small ``n`` only).

    With ``symmetric=True`` (``M`` symmetric positive definite) they are the eigenvalues of :math:`L^T A L`,
    :math:`M^{-1} = LL^T`; otherwise those of the dense product, sorted by real part (may be complex). It holds four
    dense :math:`n\times n` arrays at once; above :func:`ddlib.memory.dense_limit` it refuses up front
    (:class:`ddlib.memory.DenseLimitError`).
    """
    A = aslinearoperator(A)
    n = check_int("n", A.shape[0], low=1)
    check_dense((4, n, n), "dense_spectrum (A, M, the Cholesky factor and the product, dense)",
                "pcg_spectrum gives the extreme eigenvalues from the Ritz values of one PCG run, matrix-free")
    Ad = np.asarray(A @ np.eye(n))
    if M is None:
        return np.linalg.eigvalsh(0.5 * (Ad + Ad.T))
    Md = np.asarray(aslinearoperator(M) @ np.eye(n))
    if not symmetric:
        ev = np.linalg.eigvals(Md @ Ad)
        ev = ev[np.argsort(ev.real)]
        return ev.real if np.allclose(ev.imag, 0.0, atol=1e-10 * np.abs(ev).max()) else ev
    try:
        L = np.linalg.cholesky(0.5 * (Md + Md.T))
    except np.linalg.LinAlgError:
        raise ValueError("M must be symmetric positive definite for symmetric=True") from None
    B = L.T @ Ad @ L
    return np.linalg.eigvalsh(0.5 * (B + B.T))


def dense_condition_number(A, M=None) -> float:
    r""":math:`\kappa(M^{-1}A) = \lambda_{\max}/\lambda_{\min}` from :func:`dense_spectrum` (SPD ``M``)."""
    ev = dense_spectrum(A, M)
    return float(ev[-1] / ev[0])


def gmres_iterations(A, b, M=None, *, rtol: float = 1e-8, restart: int = 200, maxiter: int = 20) -> dict:
    r"""Iterations of right-hand-side GMRES (:func:`scipy.sparse.linalg.gmres`) for nonsymmetric preconditioners.

    Counts inner iterations until the preconditioned residual drops by ``rtol`` (scipy's criterion); returns a dict
    with ``iterations``, ``converged`` and the relative true residual :math:`\|b - Ax\|_2/\|b\|_2`.
    """
    b = check_finite("b", b).reshape(-1)
    count = [0]

    def cb(_):
        count[0] += 1

    x, info = gmres(A, b, M=M, rtol=check_positive("rtol", rtol), restart=check_int("restart", restart, low=1),
                    maxiter=check_int("maxiter", maxiter, low=1), callback=cb, callback_type="pr_norm")
    rel = float(np.linalg.norm(b - aslinearoperator(A).matvec(x)) / np.linalg.norm(b))
    return {"iterations": count[0], "converged": info == 0, "residual": rel}


def chebyshev_iterations(kappa: float, rtol: float = 1e-8) -> int:
    r"""Steps the classical CG bound needs: the smallest :math:`k \ge 1` with :math:`2q^k \le \mathrm{rtol}`.

    Here :math:`q = (\sqrt\kappa - 1)/(\sqrt\kappa + 1)`, and :math:`\|e_k\|_A \le 2q^k\|e_0\|_A`
    :cite:p:`saad2003iterative`, so :math:`k = \lceil \ln(2/\mathrm{rtol}) / \ln(1/q) \rceil
    \approx \tfrac12\sqrt\kappa\,\ln(2/\mathrm{rtol})`. It uses :math:`\kappa` alone; CG often needs far fewer
    steps when the spectrum is clustered.
    """
    kappa = float(kappa)
    if not np.isfinite(kappa) or kappa < 1:
        raise ValueError(f"kappa must be a finite number >= 1; got {kappa!r}")
    rtol = check_positive("rtol", rtol)
    if rtol >= 1:
        raise ValueError(f"rtol must be in (0, 1); got {rtol!r}")
    q = (np.sqrt(kappa) - 1.0) / (np.sqrt(kappa) + 1.0)
    if q == 0.0:
        return 1
    k = max(1, int(np.ceil(np.log(2.0 / rtol) / np.log(1.0 / q))))
    while k > 1 and 2.0 * q ** (k - 1) <= rtol:  # guard the rounding of the logarithms
        k -= 1
    while 2.0 * q**k > rtol:
        k += 1
    return k
