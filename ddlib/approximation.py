r"""What each attention class can represent at best, in any dimension: the global Eckart-Young frontier, the
truncated Schwarz oracle of the DD class, and the **structural floor** of the DD structure.

All errors are relative to :math:`A^{-1}`: :math:`\|M - A^{-1}\|_2/\|A^{-1}\|_2 = \lambda_1\|M - A^{-1}\|_2` and, for
the floor, also :math:`\|M - A^{-1}\|_F/\|A^{-1}\|_F` with :math:`\|A^{-1}\|_F^2 = \sum_k\lambda_k^{-2}`.

**Global rank r** (Eckart-Young :cite:p:`eckart1936approximation`). :math:`A^{-1}` is symmetric with eigenvalues
:math:`1/\lambda_k`, so the best rank-``r`` approximation is the truncated eigendecomposition,
:math:`e_{\mathrm{glob}}(r) = \lambda_1/\lambda_{r+1}` with :math:`2nr` parameters. Weyl's law on the unit cube,
:math:`\#\{\lambda_k \le \lambda\} \approx \omega_d\lambda^{d/2}/(2\pi)^d` (:math:`\omega_d` the volume of the unit
ball), gives :math:`\lambda_k \approx \pi^2k^2` in 1D (the rate :math:`1/(r+1)^2`, fact 3), :math:`4\pi k` in 2D
(only :math:`1/r`, fact 8) and :math:`(6\pi^2k)^{2/3}` in 3D (:math:`r^{-2/3}`): :func:`weyl_rate`.

**DD, Schwarz oracle.** :func:`ddlib.attention.schwarz_init` at local rank ``r``: the coarse block
:math:`A_0^{-1}` and the element blocks :math:`A_E^{-1}` truncated to rank ``r``. In 1D with the hat space the exact
decomposition :math:`A^{-1} = \Phi A_0^{-1}\Phi^T + \sum_E R_E^TA_E^{-1}R_E` (fact 4) makes its error the largest
neglected eigenvalue of any :math:`A_E^{-1}`, in closed form (:func:`dd_best_error`):

.. math::  e_{\mathrm{DD}}(r) = \lambda_1\,\frac{h^2}{4\sin^2\!\big(\frac{(r+1)\pi}{2b}\big)}
           \approx \frac{H^2}{(r+1)^2}, \qquad b = H/h,

a factor :math:`H^2` below the global error at equal rank. In 2D and 3D no splitting is exact and the measured oracle
(:func:`dd_oracle_error`) does not reach zero.

**Structural floor** (:func:`floor`). With full-rank local blocks the local level is any matrix :math:`X` supported
on :math:`S = \bigcup_i\{(p,q): (D_i)_p(D_i)_q > 0\}` (:meth:`ddlib.decomposition.Decomposition.local_support`), so
the best DD operator is :math:`\min_{C,X}\|A^{-1} - \Phi C\Phi^T - X\|`. In the Frobenius norm the optimal ``X``
copies :math:`A^{-1} - \Phi C\Phi^T` on ``S`` and what remains is the linear least-squares problem
:math:`\min_C\|P_{S^c}(A^{-1} - \Phi C\Phi^T)\|_F`, solved exactly through its normal equations
(:func:`structural_floor`). The 2-norm of that residual is an **upper bound** on the 2-norm floor. A **lower
bound** no :math:`(C, X)` beats: for a node set ``U`` and the nodes ``V`` sharing no box with ``U``
(:math:`U\times V\subset S^c`), unit ``u`` on ``U`` with :math:`\Phi^Tu = 0` and unit ``v`` on ``V``,
:math:`u^T(A^{-1} - \Phi C\Phi^T - X)v = u^TA^{-1}v`, so :math:`\|E\|_2 \ge \|N_U^TA^{-1}[U,V]\|_2`. In 1D the floor
is zero.

**Where an operator's error lives** (:func:`band_error_split`): in the orthonormal sine basis the error splits into
four blocks by input and output mode, inside the training band or outside it; band data probe only two of them.

Examples
--------
>>> from ddlib.problem import Problem
>>> P = Problem(255)
>>> float(global_best_error(P, [16])[0]) == float(P.eigenvalues()[0] / P.eigenvalues()[16])
True
>>> bool(abs(dd_oracle_error(P, 8, 1, 4) / dd_best_error(255, 8, [4])[0] - 1) < 1e-8)   # fact 4, measured
True
"""
from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh

from ._validate import check_finite, check_int
from .attention import DDAttention, Structure, operator_error, schwarz_init
from .decomposition import Decomposition
from .memory import check_dense
from .problem import Problem

__all__ = ["spectrum", "global_best_error", "weyl_rate", "global_frontier", "global_rank_for_error",
           "dd_best_error", "dd_oracle_error", "dd_frontier", "band_error_split", "structural_floor",
           "structural_floor_residual", "floor", "floor_study", "MAX_COARSE"]

#: Largest coarse dimension :math:`N_0` the exact floor accepts (its normal equations have
#: :math:`N_0(N_0+1)/2` unknowns, solved densely).
MAX_COARSE = 64


def _ranks(name, ranks, high):
    r = np.atleast_1d(np.asarray(ranks))
    if r.size == 0 or not np.issubdtype(r.dtype, np.integer) or r.min() < 0 or r.max() > high:
        raise ValueError(f"{name} must be integers in [0, {high}]; got {ranks!r}")
    return r.astype(int)


def spectrum(problem: Problem) -> np.ndarray:
    r"""All eigenvalues of :math:`A`, ascending: the closed form for a constant coefficient, else a dense symmetric
    eigensolver (small ``n``; refused above the dense-memory limit)."""
    if problem.constant:
        return problem.eigenvalues()
    check_dense((problem.n, problem.n), "the dense spectrum of A", "a sparse eigensolver (scipy eigsh)")
    return scipy.linalg.eigvalsh(problem.matrix().toarray())


def global_best_error(problem: Problem, ranks) -> np.ndarray:
    r"""Best relative error of a global rank-``r`` operator: :math:`\lambda_1/\lambda_{r+1}` (0 at ``r = n``)."""
    lam = spectrum(problem)
    r = _ranks("ranks", ranks, lam.size)
    out = np.zeros(r.shape)
    ok = r < lam.size
    out[ok] = lam[0] / lam[r[ok]]
    return out


def weyl_rate(ranks, dim: int = 1, perimeter: bool = False) -> np.ndarray:
    r"""Weyl's law for :func:`global_best_error` on the unit cube: :math:`d\pi^2/\lambda^W_{r+1}` with
    :math:`\lambda^W_k` solving :math:`\omega_d\lambda^{d/2}/(2\pi)^d = k` (1D :math:`\pi^2k^2`, 2D :math:`4\pi k`,
    3D :math:`(6\pi^2k)^{2/3}`); ``perimeter=True`` adds the Dirichlet boundary term
    :math:`-\omega_{d-1}|\partial\Omega|\lambda^{(d-1)/2}/(4(2\pi)^{d-1})`, :math:`|\partial\Omega| = 2d` (in 2D
    :math:`\lambda^W_k = (2 + 2\sqrt{1+\pi k})^2`).

    >>> bool(abs(weyl_rate([15], 1)[0] - 1 / 16**2) < 1e-12), bool(abs(weyl_rate([15], 2)[0] - np.pi / 32) < 1e-12)
    (True, True)
    """
    d = check_int("dim", dim, low=1, high=3)
    k = np.asarray(ranks, dtype=float) + 1.0
    ball = {0: 1.0, 1: 2.0, 2: np.pi, 3: 4.0 * np.pi / 3.0}
    a = ball[d] / (2 * np.pi) ** d
    c = ball[d - 1] * 2 * d / (4 * (2 * np.pi) ** (d - 1)) if perimeter else 0.0
    s = (k / a) ** (1.0 / d)                              # sqrt(lambda) without the boundary term
    for _ in range(60):                                   # Newton on a s^d - c s^(d-1) = k (monotone for s large)
        g = a * s**d - c * s ** (d - 1) - k
        s = s - g / (d * a * s ** (d - 1) - (d - 1) * c * s ** max(d - 2, 0))
    return d * np.pi**2 / s**2


def global_frontier(problem: Problem, ranks) -> dict:
    """Arrays ``rank``, ``params`` (:math:`2nr`), ``error`` (Eckart-Young), ``rate`` (Weyl, area term) and
    ``rate_perimeter`` (with the boundary term) of the global class."""
    r = _ranks("ranks", ranks, problem.n)
    return {"rank": r, "params": 2 * problem.n * r, "error": global_best_error(problem, r),
            "rate": weyl_rate(r, problem.dim), "rate_perimeter": weyl_rate(r, problem.dim, perimeter=True)}


def global_rank_for_error(problem: Problem, error: float) -> int:
    r"""The smallest rank whose best global error :math:`\lambda_1/\lambda_{r+1}` is at most ``error``: the number of
    eigenvalues below :math:`\lambda_1/\text{error}` (``n`` if ``error`` is below every nonzero value)."""
    lam = spectrum(problem)
    error = float(error)
    if not np.isfinite(error) or error <= 0:
        raise ValueError(f"error must be a finite positive number; got {error!r}")
    return int(np.searchsorted(lam, lam[0] / error * (1 - 1e-12), side="left"))


def dd_best_error(n: int, N: int, local_ranks) -> np.ndarray:
    r"""The closed-form error of the 1D Schwarz oracle (fact 4): :math:`\lambda_1h^2/(4\sin^2((r+1)\pi/(2b)))`,
    :math:`b = (n+1)/N`, and 0 for :math:`r \ge b - 1` (every element block at full rank)."""
    P = Problem(check_int("n", n, low=1))
    b = Decomposition(P, N, 0).box
    r = _ranks("local_ranks", local_ranks, max(b - 1, 0))
    out = np.zeros(r.shape)
    ok = r < b - 1
    out[ok] = P.eigenvalues([1])[0] * P.h**2 / (4.0 * np.sin((r[ok] + 1) * np.pi / (2 * b)) ** 2)
    return out


def dd_oracle_error(problem: Problem, N: int, delta: int, local_rank: int, coarse_rank: int | None = None, *,
                    local_inverse: str = "element", **structure) -> float:
    r"""Relative 2-norm error of the truncated Schwarz oracle (:func:`ddlib.attention.schwarz_init`) at
    ``local_rank``; ``structure`` goes to :class:`ddlib.attention.Structure` (``partition``, ``weighting``,
    ``coarse``, ...). ``local_rank = 0`` is the coarse level alone."""
    s = Structure(Decomposition(problem, N, delta), **structure)
    model = schwarz_init(DDAttention(s, local_rank, coarse_rank), local_inverse)
    return operator_error(model)


def dd_frontier(problem: Problem, N: int, delta: int, local_ranks=None, **oracle) -> dict:
    """Arrays ``rank``, ``params`` (full coarse rank), ``error`` (:func:`dd_oracle_error`, measured) of the
    truncated Schwarz oracle and ``rate``, :math:`H^2/(r+1)^2` (the continuum rate of the 1D element oracle, fact 4;
    a reference line only in 1D), plus ``N`` and ``delta``; default ranks ``1 .. H/h - 1``."""
    dec = Decomposition(problem, N, delta)
    r = (np.arange(1, (dec.box or dec.axis.sizes.min()))) if local_ranks is None else \
        _ranks("local_ranks", local_ranks, dec.n_max)
    keys = ("partition", "weighting", "coarse", "local_inverse")
    errors = [dd_oracle_error(problem, N, delta, int(k), **{k2: oracle[k2] for k2 in oracle if k2 in keys})
              for k in r]
    s = Structure(dec, **{k2: oracle[k2] for k2 in oracle if k2 in keys[:3]})
    params = [DDAttention(s, int(k)).parameter_formula() for k in r]
    return {"rank": r, "params": np.array(params), "error": np.array(errors),
            "rate": 1.0 / (N * (r + 1.0)) ** 2, "N": N, "delta": delta}


def band_error_split(M, problem: Problem, K: int) -> dict:
    r"""Split the relative operator error of a dense ``n x n`` operator ``M`` by Fourier band (constant
    coefficient).

    With the orthonormal sine basis :math:`V` (eigenvectors of :math:`A`, ordered by eigenvalue) and
    :math:`E = V^T (M - A^{-1}) V` (row: output mode, column: input mode), ``B`` the band :math:`\max_j k_j \le K` and
    ``O`` the rest, returns relative spectral norms :math:`\|\cdot\|_2\,\lambda_1`: ``total`` (the operator error),
    ``band_to_band`` :math:`E_{BB}`, ``band_to_off`` :math:`E_{OB}` (the two blocks band data see),
    ``off_to_band`` :math:`E_{BO}`, ``off_to_off`` :math:`E_{OO}` (invisible to such data) and ``floor``,
    :math:`\lambda_1/\min_{k\in O}\lambda_k`, the error on ``O`` of an operator that is zero outside the band.
    """
    M = np.asarray(M.detach().cpu().numpy() if hasattr(M, "detach") else M, dtype=np.float64)
    n = problem.n
    if M.shape != (n, n) or n < 2:
        raise ValueError(f"M must be a square n x n array with n = {n} >= 2; got shape {M.shape}")
    M = check_finite("M", M)
    K = check_int("K", K, low=1, high=problem.m - 1)
    modes = np.indices(problem.shape).reshape(problem.dim, -1).T + 1
    lam = problem.eigenvalues(modes)
    order = np.argsort(lam, kind="stable")
    modes, lam = modes[order], lam[order]
    V = problem.eigenvectors(modes, normalized=True)
    E = V.T @ (M - problem.inverse()) @ V
    B, O = np.flatnonzero(modes.max(axis=1) <= K), np.flatnonzero(modes.max(axis=1) > K)

    def rel(X):
        return float(np.linalg.norm(X, 2) * lam[0])

    return {"total": rel(E), "band_to_band": rel(E[np.ix_(B, B)]), "band_to_off": rel(E[np.ix_(O, B)]),
            "off_to_band": rel(E[np.ix_(B, O)]), "off_to_off": rel(E[np.ix_(O, O)]), "floor": float(lam[0] / lam[O[0]])}


# ------------------------------------------------------------------------------------------------- the floor
def _row_kron(Phi: sp.csr_matrix) -> sp.csr_matrix:
    r"""The row-wise Kronecker product :math:`Z_{p,(a,c)} = \Phi_{pa}\Phi_{pc}` (``n x N_0^2``, sparse)."""
    P = sp.csr_matrix(Phi)
    n, N0 = P.shape
    counts = np.diff(P.indptr)
    rows = np.repeat(np.arange(n), counts**2)
    starts = np.repeat(P.indptr[:-1], counts**2)
    k = np.repeat(counts, counts**2)
    local = np.arange(rows.size) - np.repeat(np.cumsum(counts**2) - counts**2, counts**2)
    s, t = starts + local // np.maximum(k, 1), starts + local % np.maximum(k, 1)
    return sp.csr_matrix((P.data[s] * P.data[t], (rows, P.indices[s] * N0 + P.indices[t])), shape=(n, N0 * N0))


def _support_classes(S: sp.csr_matrix):
    r"""Write the symmetric 0/1 support as :math:`S = \Xi K\Xi^T`: nodes with equal rows of ``S`` form a class
    (``cls``), :math:`\Xi` is the class indicator and ``K`` the 0/1 support between classes (for box supports at most
    :math:`(2N-1)^d` classes). Rows are grouped by two random projections; the factorization is checked on a third
    one and ``None`` is returned if it fails."""
    rng = np.random.default_rng(0)
    R = rng.standard_normal((S.shape[0], 3))
    keys = np.round(S @ R[:, :2], 8)
    _, first, cls = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    cls = cls.ravel()
    K = S[first][:, first].toarray() > 0
    sums = np.bincount(cls, weights=R[:, 2], minlength=first.size)
    if not np.allclose(S @ R[:, 2], (K.astype(np.float64) @ sums)[cls], rtol=1e-10, atol=1e-10):
        return None
    return cls, K


def _inside_mask(S: sp.csr_matrix, classes) -> np.ndarray:
    """The dense Boolean ``n x n`` mask of ``S`` (from the classes when available: one gather)."""
    if classes is None:
        return S.toarray() > 0
    cls, K = classes
    return K[cls[:, None], cls[None, :]]


def _normal_equations(G_out: np.ndarray, Phi: sp.csr_matrix, S: sp.csr_matrix, classes):
    r"""Normal equations of :math:`\min_C\|W\circ(G - \Phi C\Phi^T)\|_F`, :math:`W = 1 - S`, over symmetric ``C``:
    :math:`\mathcal N_{(ab),(cd)} = (Z^TWZ)_{(ac),(bd)}` with the row-wise Kronecker product ``Z`` and
    :math:`Z^TWZ = (Z^T\mathbf 1)(Z^T\mathbf 1)^T - Z^TSZ` (:math:`Z^TSZ = Y^TKY`, :math:`Y = \Xi^TZ`, when the support
    factors through node classes); right-hand side :math:`\Phi^T(W\circ G)\Phi`. Symmetric ``C`` is parametrised by
    its upper triangle (a symmetric optimum exists: the objective is convex and invariant under :math:`C\to C^T`)."""
    N0 = Phi.shape[1]
    Z = _row_kron(Phi).tocsc()
    cols = np.flatnonzero(np.diff(Z.indptr))                   # the pairs (a, c) with overlapping supports
    Zc = Z[:, cols].tocsr()
    ones = np.asarray(Zc.sum(axis=0)).ravel()
    if classes is None:
        NM = np.outer(ones, ones) - (Zc.T @ (S @ Zc)).toarray()
    else:
        cls, K = classes
        Xi = sp.csr_matrix((np.ones(cls.size), (cls, np.arange(cls.size))), shape=(K.shape[0], cls.size))
        Y = (Xi @ Zc).toarray()
        NM = np.outer(ones, ones) - Y.T @ (K.astype(np.float64) @ Y)
    a, c = np.divmod(cols, N0)
    full = np.zeros((N0 * N0, N0 * N0))
    full[(a[:, None] * N0 + a[None, :]), (c[:, None] * N0 + c[None, :])] = NM    # (a,b),(c,d) <- (a,c),(b,d)
    rhs = np.asarray(Phi.T @ (Phi.T @ G_out).T).ravel()        # Phi^T (W o G) Phi (symmetric)
    iu, ju = np.triu_indices(N0)
    one, two = iu * N0 + ju, ju * N0 + iu
    off = (iu != ju).astype(np.float64)
    Nm = (full[np.ix_(one, one)] + full[np.ix_(one, two)] * off[None, :] + full[np.ix_(two, one)] * off[:, None]
          + full[np.ix_(two, two)] * np.outer(off, off))
    return Nm, rhs[one] + rhs[two] * off, (iu, ju)


def structural_floor(G, Phi, support, *, rcond: float = 1e-12) -> dict:
    r"""Solve :math:`\min_C\|P_{S^c}(G - \Phi C\Phi^T)\|_F` exactly and measure the optimal residual.

    Parameters
    ----------
    G : (n, n) ndarray
        The symmetric target (:math:`A^{-1}`).
    Phi : (n, N_0) sparse or dense
        The coarse basis, :math:`1 \le N_0 \le` :data:`MAX_COARSE`.
    support : (n, n) sparse or dense bool
        The symmetric support :math:`S` the local level can fill.
    rcond : float
        Pivots (or eigenvalues) of the normal matrix below ``rcond`` times the largest are treated as zero (the
        minimum-norm solution).

    Returns
    -------
    dict
        ``C`` (symmetric ``N_0 x N_0``), ``residual`` (:math:`E^\star`), ``fro`` (:math:`\|E^\star\|_F`, the exact
        Frobenius floor) and ``two_norm`` (:math:`\|E^\star\|_2`, an upper bound on the 2-norm floor).
    """
    G = np.asarray(G, dtype=np.float64)
    n = G.shape[0]
    if G.ndim != 2 or G.shape != (n, n):
        raise ValueError(f"G must be a square n x n array; got shape {G.shape}")
    Phi = sp.csr_matrix(Phi, dtype=np.float64)
    S = sp.csr_matrix(support, dtype=np.float64)
    if Phi.shape[0] != n or S.shape != (n, n):
        raise ValueError(f"Phi must have n = {n} rows and support shape ({n}, {n}); got {Phi.shape}, {S.shape}")
    N0 = check_int("N0 (columns of Phi)", Phi.shape[1], low=1, high=MAX_COARSE)
    S.data[:] = 1.0
    classes = _support_classes(S)
    inside = _inside_mask(S, classes)
    Nm, b, (iu, ju) = _normal_equations(np.where(inside, 0.0, G), Phi, S, classes)
    c = _solve_psd(Nm, b, rcond)
    C = np.zeros((N0, N0))
    C[iu, ju] = c
    C[ju, iu] = c
    E = G - Phi @ (Phi @ C).T                                    # G - Phi C Phi^T (C symmetric)
    E[inside] = 0.0
    fro = float(np.linalg.norm(E))
    return {"C": C, "residual": E, "fro": fro, "two_norm": _two_norm_symmetric(E) if fro > 0 else 0.0}


def _solve_psd(Nm: np.ndarray, b: np.ndarray, rcond: float) -> np.ndarray:
    """Minimum-norm solution of the positive semi-definite system: unknowns with a zero diagonal are zero, the rest by
    Cholesky when its pivots stay above ``rcond`` times the largest diagonal entry, else by the eigendecomposition."""
    d = np.diag(Nm)
    c = np.zeros(b.size)
    act = np.flatnonzero(d > rcond * max(d.max(initial=0.0), 0.0))
    if act.size == 0:
        return c
    K, r = Nm[np.ix_(act, act)], b[act]
    try:
        f, low = scipy.linalg.cho_factor(K)
        if np.abs(np.diag(f)).min() ** 2 > rcond * d.max():
            c[act] = scipy.linalg.cho_solve((f, low), r)
            return c
    except np.linalg.LinAlgError:
        pass
    w, V = scipy.linalg.eigh(K)
    keep = w > rcond * max(w.max(), 0.0)
    c[act] = V[:, keep] @ ((V[:, keep].T @ r) / w[keep])
    return c


def _lower_bound(G: np.ndarray, Phi: sp.csr_matrix, S: sp.csr_matrix, dec: Decomposition) -> float:
    r""":math:`\max_U\|N_U^TG[U, V]\|_2` over the boxes (module docstring): ``U`` the nodes held by box ``i`` alone,
    ``V`` the nodes sharing no box with ``U``, :math:`N_U` an orthonormal basis of :math:`\ker\Phi[U,:]^T`."""
    best, mult, Pd = 0.0, dec.multiplicity, Phi.toarray()
    for idx in dec.indices:                                      # N^d small dense problems
        U = idx[mult[idx] == 1]
        V = np.flatnonzero(np.asarray(S[U].sum(axis=0)).ravel() == 0) if U.size else U
        NU = scipy.linalg.null_space(Pd[U].T) if V.size else np.zeros((U.size, 0))
        if NU.shape[1] == 0:
            continue
        B = NU.T @ G[np.ix_(U, V)]
        gram = B @ B.T if B.shape[0] <= B.shape[1] else B.T @ B
        best = max(best, float(np.sqrt(max(scipy.linalg.eigvalsh(gram)[-1], 0.0))))
    return best


def structural_floor_residual(G, Phi, support, C) -> dict:
    r"""``fro`` and ``two_norm`` of :math:`P_{S^c}(G - \Phi C\Phi^T)` for a given coarse block ``C`` (e.g. the
    Galerkin :math:`A_0^{-1}`; its symmetric part is used)."""
    Phi = sp.csr_matrix(Phi)
    S = sp.csr_matrix(support, dtype=np.float64)
    S.data[:] = 1.0
    C = np.asarray(C, dtype=np.float64)
    E = np.asarray(G, dtype=np.float64) - Phi @ (Phi @ (0.5 * (C + C.T))).T
    E[_inside_mask(S, _support_classes(S))] = 0.0
    fro = float(np.linalg.norm(E))
    return {"fro": fro, "two_norm": _two_norm_symmetric(E) if fro > 0 else 0.0}


def _two_norm_symmetric(E: np.ndarray, seed: int = 0) -> float:
    r""":math:`\|E\|_2 = \max|\lambda(E)|` of a symmetric matrix by Lanczos (ARPACK), seeded start vector."""
    if E.shape[0] <= 2:
        return float(np.abs(np.linalg.eigvalsh(E)).max())
    v0 = np.random.default_rng(seed).standard_normal(E.shape[0])
    return float(abs(eigsh(E, k=1, which="LM", tol=1e-10, v0=v0, return_eigenvectors=False)[0]))


def floor(problem: Problem, N: int, delta: int, *, coarse: str = "hat", partition: str = "multiplicity",
          lower_bound: bool = True, G=None, **coarse_options) -> dict:
    r"""The structural floor of the DD structure for one configuration (module docstring), as a manifest row.

    ``G`` (the dense :math:`A^{-1}`, :meth:`ddlib.problem.Problem.inverse`) may be passed to reuse it; the coarse
    space needs :math:`1 \le N_0 \le` :data:`MAX_COARSE`. Returns ``dim, m, n, N, delta, coarse, partition, N0,
    floor_two_norm`` (relative 2-norm of the Frobenius-optimal operator: an upper bound on the 2-norm floor),
    ``floor_fro`` (the exact relative Frobenius floor), ``floor_two_norm_lower`` (the lower bound, relative; NaN when
    not computed), ``galerkin_two_norm`` and ``galerkin_fro`` (the same residual with :math:`C = A_0^{-1}`), the
    coarse options, and ``params`` (parameters of the full-rank DD model with a learned full-rank coarse block).
    """
    dec = Decomposition(problem, N, delta)
    s = Structure(dec, partition=partition, weighting="sqrt", coarse=coarse, **coarse_options)
    if s.N0 == 0:
        raise ValueError(f"the coarse space must not be empty: N must be >= 2 for coarse='hat'; got N = {N}")
    G = problem.inverse() if G is None else np.asarray(G, dtype=np.float64)
    S = dec.local_support(partition)
    res = structural_floor(G, s.Phi, S)
    lam = spectrum(problem)
    norm_fro = float(np.sqrt(np.sum(lam ** -2.0)))
    gal = structural_floor_residual(G, s.Phi, S, np.linalg.inv(s.galerkin().toarray()))
    lower = _lower_bound(G, s.Phi, S, dec) * lam[0] if lower_bound else float("nan")
    return dict(dim=problem.dim, m=problem.m, n=problem.n, N=N, delta=delta, coarse=coarse, partition=partition,
                N0=int(s.N0), floor_two_norm=res["two_norm"] * lam[0], floor_fro=res["fro"] / norm_fro,
                floor_two_norm_lower=lower, galerkin_two_norm=gal["two_norm"] * lam[0],
                galerkin_fro=gal["fro"] / norm_fro, params=DDAttention(s, dec.n_max).parameter_formula(),
                **coarse_options)


def floor_study(problem: Problem, Ns, deltas, coarses=(("hat", {}),), *, lower_bound: bool = True) -> list[dict]:
    """:func:`floor` over ``N`` in ``Ns``, ``delta`` in ``deltas`` and the coarse spaces ``coarses`` (pairs
    ``(coarse, options)``, e.g. ``("spectral", {"per_box": 3, "partition": "ramp"})`` or ``("hat", {"refine":
    2})``); configurations that are invalid or whose coarse space is empty or larger than :data:`MAX_COARSE` are
    skipped. One dense :math:`A^{-1}` serves all rows."""
    G = problem.inverse()
    rows = []
    for coarse, kw in coarses:
        for N in Ns:
            for delta in deltas:
                try:
                    s = Structure(Decomposition(problem, N, delta), coarse=coarse, **kw)
                except ValueError:
                    continue
                if 1 <= s.N0 <= MAX_COARSE:
                    rows.append(floor(problem, N, delta, coarse=coarse, G=G, lower_bound=lower_bound, **kw))
    return rows
