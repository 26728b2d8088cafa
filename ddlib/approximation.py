r"""The best error each attention class can reach at a given parameter count (figure F5), in closed form.

All errors are relative operator errors :math:`\|M - A^{-1}\|_2 / \|A^{-1}\|_2`, with :math:`\|A^{-1}\|_2 = 1/\lambda_1`.

**Global rank r** (Eckart-Young :cite:p:`eckart1936approximation`). :math:`A^{-1}` is symmetric with eigenvalues
:math:`1/\lambda_k`, so the best rank-``r`` approximation is the truncated eigendecomposition and

.. math::  e_{\mathrm{glob}}(r) = \frac{\lambda_1}{\lambda_{r+1}}
           = \frac{\sin^2(\pi h/2)}{\sin^2((r+1)\pi h/2)} \approx \frac{1}{(r+1)^2},
           \qquad P_{\mathrm{glob}} = 2nr.

**DD, Schwarz oracle.** With the hat coarse space the exact decomposition
:math:`A^{-1} = \Phi A_0^{-1}\Phi^T + \sum_E R_E^TA_E^{-1}R_E` holds; keep the coarse part exact and truncate every
element block to rank ``r``. The blocks act on disjoint node sets, so the error is the largest neglected eigenvalue of
any :math:`A_E^{-1}`. Every element holds :math:`m-1` nodes (``m = (n+1)/N``) and :math:`A_E` is the same
tridiagonal matrix, with eigenvalues :math:`\frac{4}{h^2}\sin^2\frac{k\pi}{2m}`, so

.. math::  e_{\mathrm{DD}}(r) = \lambda_1\,\frac{h^2}{4\sin^2\!\big(\frac{(r+1)\pi}{2m}\big)}
           \approx \frac{H^2}{(r+1)^2} \quad (H = 1/N),\qquad
           P_{\mathrm{DD}} = 2r\,(n + 2\delta(N-1)) + 2(N-1)^2,

and :math:`e_{\mathrm{DD}}(r) = 0` for :math:`r \ge m-1`. At equal local rank the DD error is a factor :math:`H^2`
below the global one. This oracle is realised by ``DDAttention(..., init="schwarz")``; it is an *upper bound* on the
best error of the DD class at that parameter count (the overlap is not used), not necessarily the optimum.

**Where an operator's error lives** (:func:`band_error_split`). In the orthonormal sine basis :math:`V` (the
eigenvectors of :math:`A`) the error :math:`E = V^T(M - A^{-1})V` splits into four blocks by input and output mode:
inside the band ``1..K`` or outside it. Data made of modes ``1..K`` only ever probe the two blocks with input in the
band; the other two are invisible to the training loss.
"""
from __future__ import annotations

import numpy as np

from ._validate import check_finite, check_int
from .attention import DDAttention, GlobalAttention, dd_parameter_count, operator_error
from .decomposition import Decomposition
from .problem import eigenvalues, eigenvectors, grid, inverse

__all__ = [
    "global_best_error",
    "global_rate",
    "dd_best_error",
    "dd_rate",
    "global_oracle_error",
    "dd_oracle_error",
    "global_frontier",
    "dd_frontier",
    "band_error_split",
]


def _ranks(name, ranks, high):
    r = np.atleast_1d(np.asarray(ranks))
    if r.size == 0 or not np.issubdtype(r.dtype, np.integer) or r.min() < 0 or r.max() > high:
        raise ValueError(f"{name} must be integers in [0, {high}]; got {ranks!r}")
    return r.astype(int)


def global_best_error(n: int, ranks) -> np.ndarray:
    r"""Closed-form best relative error of a global rank-``r`` operator: :math:`\lambda_1/\lambda_{r+1}` (0 at ``r = n``)."""
    n = check_int("n", n, low=1)
    r = _ranks("ranks", ranks, n)
    lam = eigenvalues(n)
    out = np.zeros(r.shape)
    ok = r < n
    out[ok] = lam[0] / lam[r[ok]]
    return out


def global_rate(ranks) -> np.ndarray:
    r"""The continuum rate :math:`1/(r+1)^2` of :func:`global_best_error`."""
    return 1.0 / (np.asarray(ranks, dtype=float) + 1.0) ** 2


def dd_best_error(n: int, N: int, local_ranks) -> np.ndarray:
    r"""Closed-form error of the Schwarz oracle: :math:`\lambda_1 h^2 / (4\sin^2((r+1)\pi/(2m)))`, 0 for ``r >= m-1``."""
    dec = Decomposition(n, N, 0)
    r = _ranks("local_ranks", local_ranks, max(dec.m - 1, 0))
    h, _ = grid(n)
    lam1 = eigenvalues(n, [1])[0]
    out = np.zeros(r.shape)
    ok = r < dec.m - 1
    out[ok] = lam1 * h**2 / (4.0 * np.sin((r[ok] + 1) * np.pi / (2 * dec.m)) ** 2)
    return out


def dd_rate(N: int, local_ranks) -> np.ndarray:
    r"""The continuum rate :math:`H^2/(r+1)^2` with :math:`H = 1/N` of :func:`dd_best_error`."""
    N = check_int("N", N, low=1)
    return 1.0 / (N * (np.asarray(local_ranks, dtype=float) + 1.0)) ** 2


def global_oracle_error(n: int, rank: int) -> float:
    """The same error measured: :func:`ddlib.attention.operator_error` of ``GlobalAttention(init="svd")``."""
    return operator_error(GlobalAttention(n, rank, init="svd").dense(), n)


def dd_oracle_error(n: int, N: int, delta: int, local_rank: int, **kwargs) -> float:
    """The same error measured: :func:`ddlib.attention.operator_error` of ``DDAttention(init="schwarz")``."""
    model = DDAttention(Decomposition(n, N, delta), local_rank, init="schwarz", **kwargs)
    return operator_error(model.dense(), n)


def global_frontier(n: int, ranks) -> dict:
    """Arrays ``rank``, ``params`` (:math:`2nr`), ``error`` (closed form) and ``rate`` for the global class."""
    r = _ranks("ranks", ranks, n)
    return {"rank": r, "params": 2 * n * r, "error": global_best_error(n, r), "rate": global_rate(r)}


def dd_frontier(n: int, N: int, delta: int, local_ranks=None) -> dict:
    """Arrays ``rank``, ``params``, ``error`` and ``rate`` of the Schwarz oracle (default ranks ``1..m-1``)."""
    dec = Decomposition(n, N, delta)
    r = np.arange(1, dec.m) if local_ranks is None else _ranks("local_ranks", local_ranks, dec.m - 1)
    params = np.array([dd_parameter_count(n, N, delta, int(k)) for k in r])
    return {"rank": r, "params": params, "error": dd_best_error(n, N, r), "rate": dd_rate(N, r), "N": N,
            "delta": delta}


def band_error_split(M, K: int) -> dict:
    r"""Split the relative operator error of a dense ``n x n`` operator ``M`` by Fourier band.

    With the orthonormal sine basis :math:`V` and :math:`E = V^T (M - A^{-1}) V` (row: output mode, column: input
    mode), ``B = {1..K}`` and ``O = {K+1..n}``, returns relative spectral norms :math:`\|\cdot\|_2\,\lambda_1`:

    * ``total``: :math:`\|E\|_2\lambda_1`, the operator error of :func:`ddlib.attention.operator_error`;
    * ``band_to_band`` :math:`E_{BB}`, ``band_to_off`` :math:`E_{OB}` (the two blocks the band's data see),
      ``off_to_band`` :math:`E_{BO}` and ``off_to_off`` :math:`E_{OO}` (invisible to such data);
    * ``floor``: :math:`\lambda_1/\lambda_{K+1}`, the error of :math:`A^{-1}` itself on ``O``, i.e. the
      ``off_to_off`` block of an operator that is zero outside the band.

    Each block norm is at most ``total``, and ``total`` is at most the norm of the 2 x 2 matrix of block norms.
    """
    M = np.asarray(M.detach().cpu().numpy() if hasattr(M, "detach") else M, dtype=np.float64)
    if M.ndim != 2 or M.shape[0] != M.shape[1] or M.shape[0] < 2:
        raise ValueError(f"M must be a square n x n array with n >= 2; got shape {M.shape}")
    M = check_finite("M", M)
    n = M.shape[0]
    K = check_int("K", K, low=1, high=n - 1)
    V = eigenvectors(n, normalized=True)
    E = V.T @ (M - inverse(n)) @ V
    lam = eigenvalues(n)
    B, O = slice(0, K), slice(K, n)

    def rel(X):
        return float(np.linalg.norm(X, 2) * lam[0])

    return {"total": rel(E), "band_to_band": rel(E[B, B]), "band_to_off": rel(E[O, B]),
            "off_to_band": rel(E[B, O]), "off_to_off": rel(E[O, O]), "floor": float(lam[0] / lam[K])}
