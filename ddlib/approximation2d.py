r"""What the 2D attention classes can reach: the global Eckart-Young frontier, the truncated Schwarz oracle, and the
**structural floor** of the DD class.

All errors are relative to :math:`A^{-1}`: :math:`\|M - A^{-1}\|_2/\|A^{-1}\|_2 = \lambda_{11}\|M - A^{-1}\|_2` and, for
the floor, also :math:`\|M - A^{-1}\|_F/\|A^{-1}\|_F` with :math:`\|A^{-1}\|_F^2 = \sum_{jk}\lambda_{jk}^{-2}`.

**Global rank r** (Eckart-Young). :math:`e_{\mathrm{glob}}(r) = \lambda_1/\lambda_{r+1}` with the eigenvalues sorted
ascending (:func:`ddlib.problem2d.eigenvalues_2d`), :math:`2nr` parameters. Weyl's law for the unit square,
:math:`\#\{\lambda_k \le \lambda\} \approx \frac{\lambda}{4\pi} - \frac{\sqrt\lambda}{\pi}` (area and perimeter
terms), gives :math:`\lambda_k \approx 4\pi k` and so :math:`e_{\mathrm{glob}}(r) \approx \frac{2\pi^2}{4\pi(r+1)}
= \frac{\pi}{2(r+1)}`: only :math:`1/r` (fact 8), against :math:`1/r^2` in 1D. With the perimeter term,
:math:`\lambda_k \approx (2 + 2\sqrt{1 + \pi k})^2` (:func:`weyl_rate_2d`).

**Truncated Schwarz oracle.** ``DDAttention2D(init="schwarz")`` at local rank ``r``: every :math:`A_i^{-1}` and
:math:`A_0^{-1}` replaced by its truncated eigendecomposition. At full rank this is the two-level preconditioner, *not*
:math:`A^{-1}`: in 2D no coarse-plus-local splitting is exact, so its error does not reach zero.

**Structural floor.** With full-rank local blocks the local level is any matrix :math:`X` supported on
:math:`S = \bigcup_i\{(p,q): (D_i)_p(D_i)_q > 0\}` (:meth:`Decomposition2D.local_support`; for the multiplicity and
ramp partitions :math:`S = \bigcup_i s_i\times s_i`): entry :math:`(p,q)\in S` of some box ``i`` is
:math:`(D_i)_p^{1/2}(B_i)_{pq}(D_i)_q^{1/2}` with :math:`B_i = Q_iK_i^T` free. So the best DD operator is
:math:`\min_{C, X}\|A^{-1} - \Phi C\Phi^T - X\|`. In Frobenius norm the optimal :math:`X` copies
:math:`A^{-1} - \Phi C\Phi^T` on :math:`S` and what remains is a linear least-squares problem in the coarse block alone,

.. math::  \min_{C\in\mathbb R^{N_0\times N_0}} \big\| P_{S^c}\big(A^{-1} - \Phi C\Phi^T\big)\big\|_F ,

solved exactly by :func:`structural_floor` through its normal equations. The Frobenius floor is exact. The 2-norm
of the resulting operator :math:`E^\star = P_{S^c}(A^{-1} - \Phi C^\star\Phi^T)` is an **upper bound** on the 2-norm
floor (the Frobenius-optimal :math:`(C, X)` need not be 2-norm optimal). A **lower bound** that no choice of
:math:`(C, X)` can beat: for a node set :math:`U` and the nodes :math:`V` that share no box with any node of
:math:`U` (so :math:`U\times V\subset S^c`) and any unit :math:`u` on :math:`U` with :math:`\Phi^Tu = 0`, unit
:math:`v` on :math:`V`: :math:`u^T(A^{-1} - \Phi C\Phi^T - X)v = u^TA^{-1}v`, hence
:math:`\|E\|_2 \ge \|N_U^TA^{-1}[U, V]\|_2` with :math:`N_U` an orthonormal basis of
:math:`\ker\Phi[U,:]^T`. :func:`floor_2d` takes for :math:`U` the nodes of each box that lie in that box only.

In 1D with the hat space the floor is zero: :math:`A^{-1} = \Phi A_0^{-1}\Phi^T + \sum_E R_E^TA_E^{-1}R_E` and every
element block lies in a subdomain block (:func:`ddlib.schwarz.exact_decomposition`).
"""
from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse as sp
from scipy.sparse.linalg import eigsh

from ._validate import check_choice, check_int
from .attention2d import DDAttention2D, dd2d_parameter_count, operator_error_2d
from .decomposition2d import COARSE_SPACES_2D, PARTITIONS_OF_UNITY, Decomposition2D
from .problem2d import DENSE_MAX_M, eigenvalues_2d, inverse_2d, laplacian_2d

__all__ = [
    "global_best_error_2d",
    "weyl_rate_2d",
    "global_frontier_2d",
    "global_rank_for_error_2d",
    "dd_oracle_error_2d",
    "dd_frontier_2d",
    "structural_floor",
    "floor_2d",
    "floor_study_2d",
    "MAX_COARSE",
]

#: Largest coarse dimension :math:`N_0` the exact floor accepts (its normal equations have
#: :math:`N_0(N_0+1)/2` unknowns, solved densely).
MAX_COARSE = 64


def _ranks(name, ranks, high):
    r = np.atleast_1d(np.asarray(ranks))
    if r.size == 0 or not np.issubdtype(r.dtype, np.integer) or r.min() < 0 or r.max() > high:
        raise ValueError(f"{name} must be integers in [0, {high}]; got {ranks!r}")
    return r.astype(int)


def global_best_error_2d(m: int, ranks) -> np.ndarray:
    r"""Best relative error of a global rank-``r`` operator: :math:`\lambda_1/\lambda_{r+1}` (0 at ``r = n``)."""
    lam = eigenvalues_2d(check_int("m", m, low=1))
    r = _ranks("ranks", ranks, lam.size)
    out = np.zeros(r.shape)
    ok = r < lam.size
    out[ok] = lam[0] / lam[r[ok]]
    return out


def weyl_rate_2d(ranks, perimeter: bool = True) -> np.ndarray:
    r"""Weyl's law for :func:`global_best_error_2d`: :math:`2\pi^2/\lambda^W_{r+1}` with
    :math:`\lambda^W_k = (2 + 2\sqrt{1+\pi k})^2` (area and perimeter terms) or, with ``perimeter=False``,
    :math:`\lambda^W_k = 4\pi k`, i.e. the pure :math:`1/r` law :math:`\pi/(2(r+1))`."""
    k = np.asarray(ranks, dtype=float) + 1.0
    lam = (2.0 + 2.0 * np.sqrt(1.0 + np.pi * k)) ** 2 if perimeter else 4.0 * np.pi * k
    return 2.0 * np.pi**2 / lam


def global_frontier_2d(m: int, ranks) -> dict:
    """Arrays ``rank``, ``params`` (:math:`2nr`), ``error`` (closed form), ``rate`` (Weyl, two terms) and
    ``rate_1_over_r`` (:math:`\\pi/(2(r+1))`) of the global class."""
    m = check_int("m", m, low=1)
    r = _ranks("ranks", ranks, m * m)
    return {"rank": r, "params": 2 * m * m * r, "error": global_best_error_2d(m, r), "rate": weyl_rate_2d(r),
            "rate_1_over_r": weyl_rate_2d(r, perimeter=False)}


def global_rank_for_error_2d(m: int, error: float) -> int:
    r"""The smallest rank ``r`` whose best global error :math:`\lambda_1/\lambda_{r+1}` is at most ``error``
    (:func:`global_best_error_2d`): the number of eigenvalues below :math:`\lambda_1/\text{error}`; ``n`` if
    ``error`` is below every nonzero value."""
    lam = eigenvalues_2d(check_int("m", m, low=1))
    error = float(error)
    if not np.isfinite(error) or error <= 0:
        raise ValueError(f"error must be a finite positive number; got {error!r}")
    return int(np.searchsorted(lam, lam[0] / error * (1 - 1e-12), side="left"))


def dd_oracle_error_2d(m: int, N: int, delta: int, local_rank: int, coarse_rank: int | None = None, *,
                       coarse: str = "hat", partition: str = "multiplicity", per_box: int = 1, **error_kw) -> float:
    """Relative 2-norm error of the truncated Schwarz oracle ``DDAttention2D(init="schwarz")`` at ``local_rank``
    (:func:`ddlib.attention2d.operator_error_2d`; ``error_kw`` goes there)."""
    model = DDAttention2D(Decomposition2D(m, N, delta), local_rank, coarse_rank, coarse=coarse, partition=partition,
                          per_box=per_box, init="schwarz")
    return operator_error_2d(model, m, **error_kw)


def dd_frontier_2d(m: int, N: int, delta: int, local_ranks, **oracle_kw) -> dict:
    """Arrays ``rank``, ``params`` (:func:`ddlib.attention2d.dd2d_parameter_count`, full coarse rank) and
    ``error`` of the truncated Schwarz oracle, plus ``N`` and ``delta``."""
    dec = Decomposition2D(m, N, delta)
    r = _ranks("local_ranks", local_ranks, dec.n_max)
    if r.min() < 1:
        raise ValueError(f"local_ranks must be integers in [1, {dec.n_max}]; got {local_ranks!r}")
    errors, params = [], []
    for k in r:
        model = DDAttention2D(dec, int(k), init="schwarz", **{key: oracle_kw[key] for key in oracle_kw
                                                                if key in ("coarse", "partition", "per_box")})
        errors.append(operator_error_2d(model, m))
        params.append(model.num_parameters())
    return {"rank": r, "params": np.array(params), "error": np.array(errors), "N": N, "delta": delta}


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
    (``cls``, shape ``(n,)``), :math:`\Xi` is the class indicator and ``K`` (classes x classes, 0/1) the support
    between classes. For the box supports there are at most :math:`(2N-1)^2` classes (the set of boxes holding a
    node). Rows are grouped by two random projections; the factorization is checked on a third one
    (:math:`S r = \Xi K \Xi^T r`) and ``None`` is returned if it fails."""
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
    r"""Normal equations of :math:`\min_C\|W\circ(G - \Phi C\Phi^T)\|_F`, :math:`W = 1 - S`, over symmetric ``C``.

    :math:`\mathcal N_{(ab),(cd)} = \sum_{pq}W_{pq}\Phi_{pa}\Phi_{pc}\Phi_{qb}\Phi_{qd} = (Z^TWZ)_{(ac),(bd)}` with the
    row-wise Kronecker product ``Z`` (only its nonzero columns are kept) and :math:`Z^TWZ = (Z^T\mathbf 1)(Z^T\mathbf
    1)^T - Z^TSZ`, and :math:`Z^TSZ = Y^TKY` with :math:`Y = \Xi^TZ` when the support factors through node classes
    (:func:`_support_classes`; else a sparse product); right-hand side :math:`\Phi^T(W\circ G)\Phi`, with
    ``G_out`` :math:`= W\circ G` given. Symmetric
    ``C`` is parametrised by its upper triangle: a symmetric optimum exists (the objective is convex and invariant
    under :math:`C\to C^T`).
    """
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
    rhs = Phi.T @ (Phi.T @ G_out).T                            # Phi^T (W o G) Phi (symmetric)
    # vec(C) = U c for symmetric C: column (a, b) of U has ones at (a, b) and (b, a); U^T F U by indexing
    iu, ju = np.triu_indices(N0)
    one, two = iu * N0 + ju, ju * N0 + iu
    off = (iu != ju).astype(np.float64)
    Nm = (full[np.ix_(one, one)] + full[np.ix_(one, two)] * off[None, :] + full[np.ix_(two, one)] * off[:, None]
          + full[np.ix_(two, two)] * np.outer(off, off))
    rhs = np.asarray(rhs).ravel()
    return Nm, rhs[one] + rhs[two] * off, (iu, ju)


def structural_floor(G, Phi, support, *, rcond: float = 1e-12) -> dict:
    r"""Solve :math:`\min_C\|P_{S^c}(G - \Phi C\Phi^T)\|_F` exactly and measure the optimal residual.

    Parameters
    ----------
    G : (n, n) ndarray
        The symmetric target (:math:`A^{-1}`).
    Phi : (n, N_0) sparse or dense
        The coarse basis, :math:`N_0 \le` :data:`MAX_COARSE`.
    support : (n, n) sparse or dense bool
        The symmetric support :math:`S` the local level can fill (:meth:`Decomposition2D.local_support`).
    rcond : float
        The normal matrix is solved by Cholesky when its pivots stay above ``rcond`` times its largest diagonal
        entry; otherwise eigenvalues below ``rcond`` times the largest are treated as zero (the minimum-norm
        solution; coarse entries that do not affect the residual are set to zero).

    Returns
    -------
    dict
        ``C`` (symmetric ``N_0 x N_0``), ``residual`` (the dense :math:`E^\star = P_{S^c}(G - \Phi C\Phi^T)`),
        ``fro`` (:math:`\|E^\star\|_F`, the exact Frobenius floor), ``two_norm`` (:math:`\|E^\star\|_2`, an upper
        bound on the 2-norm floor; symmetric Lanczos, ARPACK).
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
    two = 0.0
    if fro > 0:
        two = _two_norm_symmetric(E)
    return {"C": C, "residual": E, "fro": fro, "two_norm": two}


def _solve_psd(Nm: np.ndarray, b: np.ndarray, rcond: float) -> np.ndarray:
    """Minimum-norm solution of the positive semi-definite system. Unknowns with a zero diagonal (their column
    vanishes: those coarse entries do not touch the residual) are set to zero; the rest is solved by Cholesky when
    its pivots stay above ``rcond`` times the largest diagonal entry, else by the eigendecomposition with
    eigenvalues below ``rcond`` times the largest dropped."""
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


def _lower_bound(G: np.ndarray, Phi: sp.csr_matrix, S: sp.csr_matrix, dec: Decomposition2D) -> float:
    r""":math:`\max_U\|N_U^TG[U, V]\|_2` over the boxes (module docstring): ``U`` the nodes held by box ``i`` alone,
    ``V`` the nodes sharing no box with ``U``, :math:`N_U` an orthonormal basis of :math:`\ker\Phi[U,:]^T`."""
    best = 0.0
    mult = dec.multiplicity
    Pd = Phi.toarray()
    for idx in dec.indices:                                      # N^2 small dense problems
        U = idx[mult[idx] == 1]
        if U.size == 0:
            continue
        V = np.flatnonzero(np.asarray(S[U].sum(axis=0)).ravel() == 0)
        if V.size == 0:
            continue
        NU = scipy.linalg.null_space(Pd[U].T)
        if NU.shape[1] == 0:
            continue
        B = NU.T @ G[np.ix_(U, V)]
        gram = B @ B.T if B.shape[0] <= B.shape[1] else B.T @ B
        best = max(best, float(np.sqrt(max(scipy.linalg.eigvalsh(gram)[-1], 0.0))))
    return best


def floor_2d(m: int, N: int, delta: int, *, coarse: str = "hat", partition: str = "multiplicity",
             per_box: int = 1, refine: int = 1, lower_bound: bool = True, G=None) -> dict:
    r"""The structural floor of 2D DD attention for one configuration (module docstring), as a manifest row.

    ``m <= DENSE_MAX_M`` (the dense :math:`A^{-1}`; pass ``G`` to reuse it across calls) and :math:`N_0 \le`
    :data:`MAX_COARSE`. Returns a dict with ``m, N, delta, coarse, floor_two_norm`` (relative 2-norm of the
    Frobenius-optimal operator: an upper bound on the 2-norm floor), ``floor_fro`` (the exact relative Frobenius
    floor), ``params`` (parameters of the full-rank DD model, :func:`ddlib.attention2d.dd2d_parameter_count` with
    local rank ``n_max`` and coarse rank :math:`N_0`), and ``partition, per_box, refine`` (the coarse-space options;
    ``refine > 1`` puts the Q1 hats on a finer grid than the boxes), ``N0, floor_two_norm_lower`` (the lower
    bound, relative; NaN when not computed), ``galerkin_two_norm`` and ``galerkin_fro`` (the same residual with the
    Galerkin choice :math:`C = A_0^{-1}` instead of the optimal ``C``).
    """
    check_choice("coarse", coarse, tuple(c for c in COARSE_SPACES_2D if c != "none"))
    check_choice("partition", partition, PARTITIONS_OF_UNITY)
    m = check_int("m", m, low=1, high=DENSE_MAX_M)
    dec = Decomposition2D(m, N, delta)
    Phi = dec.coarse_space(coarse, partition, per_box, refine)
    if Phi.shape[1] == 0:
        raise ValueError(f"the coarse space must not be empty: N must be >= 2 for coarse='hat'; got N = {N}")
    G = inverse_2d(m) if G is None else np.asarray(G, dtype=np.float64)
    S = dec.local_support(partition)
    res = structural_floor(G, Phi, S)
    lam = eigenvalues_2d(m)
    norm_fro = float(np.sqrt(np.sum(lam ** -2.0)))
    A0 = (Phi.T @ (laplacian_2d(m) @ Phi)).toarray()
    gal = structural_floor_residual(G, Phi, S, np.linalg.inv(A0))
    lower = _lower_bound(G, Phi, S, dec) * lam[0] if lower_bound else float("nan")
    return dict(m=m, N=N, delta=delta, coarse=coarse, floor_two_norm=res["two_norm"] * lam[0],
                floor_fro=res["fro"] / norm_fro,
                params=dd2d_parameter_count(m, N, delta, dec.n_max, Phi.shape[1], Phi.shape[1]),
                partition=partition, per_box=per_box if coarse == "spectral" else None,
                refine=refine if coarse == "hat" else None, N0=int(Phi.shape[1]),
                floor_two_norm_lower=lower, galerkin_two_norm=gal["two_norm"] * lam[0],
                galerkin_fro=gal["fro"] / norm_fro)


def structural_floor_residual(G, Phi, support, C) -> dict:
    r"""``fro`` and ``two_norm`` of :math:`P_{S^c}(G - \Phi C\Phi^T)` for a given coarse block ``C`` (e.g. the
    Galerkin :math:`A_0^{-1}`; its symmetric part is used), the full-rank-local residual of that choice."""
    Phi = sp.csr_matrix(Phi)
    S = sp.csr_matrix(support, dtype=np.float64)
    S.data[:] = 1.0
    C = np.asarray(C, dtype=np.float64)
    E = np.asarray(G, dtype=np.float64) - Phi @ (Phi @ (0.5 * (C + C.T))).T   # G is symmetric; so is E
    E[_inside_mask(S, _support_classes(S))] = 0.0
    fro = float(np.linalg.norm(E))
    return {"fro": fro, "two_norm": _two_norm_symmetric(E) if fro > 0 else 0.0}


def _two_norm_symmetric(E: np.ndarray, seed: int = 0) -> float:
    r""":math:`\|E\|_2 = \max|\lambda(E)|` of a symmetric matrix by Lanczos (ARPACK), seeded start vector."""
    if E.shape[0] <= 2:
        return float(np.abs(np.linalg.eigvalsh(E)).max())
    v0 = np.random.default_rng(seed).standard_normal(E.shape[0])
    return float(abs(eigsh(E, k=1, which="LM", tol=1e-10, v0=v0, return_eigenvectors=False)[0]))


def floor_study_2d(m: int, Ns, deltas, coarses=(("hat", {}),), *, lower_bound: bool = True) -> list[dict]:
    """:func:`floor_2d` over ``N`` in ``Ns``, ``delta`` in ``deltas`` (those valid for ``(m, N)``) and the coarse
    spaces ``coarses`` (pairs ``(coarse, keyword dict)``, e.g. ``("spectral", {"per_box": 3, "partition":
    "ramp"})`` or ``("hat", {"refine": 2})``); configurations whose coarse space is empty, invalid for ``(m, N)`` or
    larger than :data:`MAX_COARSE` are skipped. One dense :math:`A^{-1}` serves all rows."""
    G = inverse_2d(check_int("m", m, low=1, high=DENSE_MAX_M))
    rows = []
    for coarse, kw in coarses:
        for N in Ns:
            for delta in deltas:
                if delta > (m + 1) // N - 1:
                    continue
                dec = Decomposition2D(m, N, delta)
                refine = kw.get("refine", 1)
                fits = (m + 1) % (refine * N) == 0 and (refine == 1 or 2 * refine * N <= m + 1)
                if coarse == "hat" and not fits:
                    continue
                N0 = dec.coarse_space(coarse, kw.get("partition", "multiplicity"), kw.get("per_box", 1),
                                      refine).shape[1]
                if 1 <= N0 <= MAX_COARSE:
                    rows.append(floor_2d(m, N, delta, coarse=coarse, G=G, lower_bound=lower_bound, **kw))
    return rows
