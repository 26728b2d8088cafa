r"""The learned operator as a preconditioner: symmetric positive semi-definite attention, its training, and PCG.

**Symmetric variants.** Tying the query and key factors, :math:`Q_i = K_i` and :math:`Q_0 = K_0`
(``DDAttention(symmetric=True)``, :class:`ddlib.models.DDSpec` ``symmetric=True``), turns the DD attention into

.. math::  M_\theta^{-1} = h\Big(\Phi K_0 K_0^T \Phi^T + \sum_{i=1}^{N} R_i^T W_i K_i K_i^T W_i R_i\Big),
           \qquad W_i = D_i^{1/2}\ (\text{or } I),

a sum of Gram matrices :math:`h\,(W_iR_i)^T K_iK_i^T (W_iR_i)`, so :math:`x^T M_\theta^{-1} x = h\big(\|K_0^T\Phi^Tx\|^2
+ \sum_i \|K_i^T W_i R_i x\|^2\big) \ge 0` for *every* parameter value. The global baseline becomes :math:`h\,KK^T`
(``GlobalSpec(symmetric=True)``). Half the parameters of the untied operators.

**Why a completion is needed.** A low-rank PSD operator is singular: :math:`M_\theta^{-1}` has rank at most
:math:`\sum_i r + r_0 < n`, and CG preconditioned by a singular operator stalls on its null space. The learned
preconditioner (:func:`learned_preconditioner`) therefore adds the cheapest symmetric positive definite term, a damped
Jacobi step,

.. math::  M^{-1} = M_\theta^{-1} + \omega\, \mathrm{diag}(A)^{-1} = M_\theta^{-1} + \omega\,\frac{h^2}{2} I,

which is SPD for any :math:`\omega > 0` and handles the oscillatory modes the low-rank part cannot hold. On a sine
mode :math:`v_k` where :math:`M_\theta^{-1} v_k = v_k/\lambda_k` exactly, :math:`M^{-1}A v_k = (1 + \omega h^2\lambda_k/2)v_k`;
where :math:`M_\theta^{-1} v_k = 0`, it is :math:`\omega h^2 \lambda_k / 2 = 2\omega\sin^2(k\pi h/2)`, so the
smallest eigenvalue, and with it :math:`\kappa`, is decided by how far up the spectrum the learned part is accurate.

**Training** is :func:`ddlib.training.train`, the trainer of every other chapter (Adam on the mean relative squared
error, full batch, cosine schedule, seeded initialisation, cached).

**The study** (:func:`pcg_study`) keeps the subdomain size :math:`H/h = m` fixed and lets ``n = N m - 1`` grow. A learned
operator is tied to its grid, so one is trained **per n**, on the data of that grid: the Fourier band
:math:`K = k_N N` (a fixed number of modes per subdomain, :math:`k_N = 2` gives the headline :math:`K = 16` at
:math:`n = 255, N = 8`), with ``samples_per_mode`` samples per mode. Its training cost is part of the comparison.
"""
from __future__ import annotations

import time

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator

from ._validate import check_choice, check_int, check_positive
from .decomposition import Decomposition
from .krylov import condition_estimate, dense_spectrum, pcg
from .models import DDSpec, GlobalSpec
from .problem import eigenvalues, grid, laplacian_1d
from .schwarz import schwarz_preconditioner
from .training import TrainConfig, train

__all__ = [
    "learned_preconditioner",
    "PRECONDITIONERS",
    "pcg_row",
    "pcg_study",
    "band_oracle_kappa",
    "growth",
]

#: The preconditioners compared by :func:`pcg_study`, in the order of the F11 rows.
PRECONDITIONERS = ("none", "as1", "as2", "learned_dd", "learned_global")
_FIT_VERSION = 1


# ------------------------------------------------------------------------------------------------ preconditioner
def learned_preconditioner(model: torch.nn.Module, omega: float = 0.5) -> LinearOperator:
    r"""The SPD preconditioner :math:`M^{-1} = M_\theta^{-1} + \omega\,h^2/2\,I` as a LinearOperator (module docstring).

    ``model`` must be symmetric positive semi-definite by construction (tied factors: a ``DDAttention`` or
    ``GlobalAttention`` with ``symmetric=True``); ``omega > 0`` is the weight of the Jacobi term
    :math:`\omega\,\mathrm{diag}(A)^{-1}`.
    """
    if not getattr(model, "symmetric", False):
        raise ValueError(f"model must have tied factors (symmetric=True); got {type(model).__name__} "
                         f"with symmetric={getattr(model, 'symmetric', None)}")
    omega = check_positive("omega", omega)
    n = model.n
    c = omega * model.h**2 / 2.0

    def apply(X):
        X = np.asarray(X, dtype=np.float64).reshape(n, -1)
        with torch.no_grad():
            Y = model.apply_columns(torch.from_numpy(np.ascontiguousarray(X))).numpy()
        return Y + c * X

    return LinearOperator((n, n), matvec=lambda x: apply(x)[:, 0], matmat=apply, rmatvec=lambda x: apply(x)[:, 0],
                          dtype=np.float64)


def pcg_row(A, M, b, *, n: int, preconditioner: str, rtol: float = 1e-8, kappa_rtol: float = 1e-10,
            dense_max: int = 511) -> dict:
    r"""PCG iterations to ``rtol`` and :math:`\kappa(M^{-1}A)` for one preconditioner (``M=None``: none).

    One PCG run to ``kappa_rtol`` from zero; ``iterations`` is the first step with
    :math:`\|r\|_2\le\mathrm{rtol}\|b\|_2` (-1 if never). :math:`\kappa` is the dense spectrum's ratio when
    ``n <= dense_max`` (``method="dense"``), else the Ritz values' ratio of the same run (``"lanczos"``, a lower
    estimate, :func:`ddlib.krylov.condition_estimate`).
    """
    res = pcg(A, b, M, rtol=min(rtol, kappa_rtol), maxiter=20 * n)
    below = np.flatnonzero(res.residuals <= rtol)
    iterations = int(below[0]) if below.size else -1
    if n <= dense_max:
        ev, method = dense_spectrum(A, M), "dense"
        kappa = float(ev[-1] / ev[0])
    else:
        kappa, method = condition_estimate(A, M, b=b, rtol=kappa_rtol, maxiter=20 * n)["kappa"], "lanczos"
    return {"n": int(n), "preconditioner": preconditioner, "kappa": float(kappa), "iterations": iterations,
            "method": method, "converged": bool(res.converged)}


def pcg_study(ns, *, m: int = 32, delta: int = 1, local_rank: int = 4, modes_per_subdomain: int = 2,
              samples_per_mode: int = 1, epochs: int = 300, lr: float = 1e-2, init_scale: float = 0.01,
              omega: float = 0.5, seed: int = 0,
              rtol: float = 1e-8, dense_max: int = 511, cache: bool = True) -> dict:
    r"""PCG for :math:`Au = b` at fixed :math:`H/h = m` with the five :data:`PRECONDITIONERS`, per ``n`` in ``ns``.

    For each ``n`` (``m`` must divide ``n + 1``; ``N = (n+1)/m``):

    ``none``
        plain CG;
    ``as1``, ``as2``
        classical additive Schwarz (:func:`ddlib.schwarz.schwarz_preconditioner`, ``weighting="none"``), one level
        and two levels with the hat coarse space;
    ``learned_dd``
        :func:`learned_preconditioner` of a tied DD attention (``DDSpec(N, delta, local_rank, symmetric=True)``: full
        coarse rank, :math:`D_i^{1/2}` weights with multiplicity scaling), trained by :func:`ddlib.training.train` on
        the Fourier band ``K = modes_per_subdomain * N`` with ``samples_per_mode * K`` samples;
    ``learned_global``
        the same for a tied global attention whose rank gives about the DD parameter count,
        :math:`r_g = \max(1, \mathrm{round}(P_{DD}/n))`.

    Both learned operators start from :math:`\mathcal N(0, s^2)` factors, ``s = init_scale``. Whatever the band data
    never touch keeps its initial value, so ``s`` sets the size of the untrained high-frequency part of
    :math:`M_\theta^{-1}`, and with it :math:`\lambda_{\max}(M^{-1}A)`; the default is smaller than the
    training default 0.1 for that reason (the book measures both).

    The right-hand side ``b`` is standard normal from ``numpy.random.default_rng(seed)`` (the same for all five).

    Returns
    -------
    dict
        ``rows`` (dicts of :func:`pcg_row` plus ``params``, ``N``, ``K`` and ``train_seconds``: the training seconds of
        a learned operator, the measured set-up seconds (factorisations) of ``as1``/``as2``, 0 for ``none``),
        ``models`` (``n -> {"learned_dd": TrainResult, "learned_global": TrainResult}``) and ``settings``.
    """
    ns = [check_int("ns[i]", v, low=3) for v in ns]
    m = check_int("m", m, low=2)
    for v in ns:
        if (v + 1) % m:
            raise ValueError(f"every n must satisfy (n + 1) % m == 0 for m = {m}; got n = {v}")
    modes_per_subdomain = check_int("modes_per_subdomain", modes_per_subdomain, low=1)
    samples_per_mode = check_int("samples_per_mode", samples_per_mode, low=1)
    b_rng = check_int("seed", seed, low=0)
    train_kw = dict(delta=delta, local_rank=local_rank, modes_per_subdomain=modes_per_subdomain,
                    samples_per_mode=samples_per_mode, epochs=epochs, lr=lr, init_scale=init_scale, seed=seed,
                    cache=cache)
    rows, models = [], {}
    for n in ns:
        A = laplacian_1d(n)
        b = np.random.default_rng(b_rng).standard_normal(n)
        N = (n + 1) // m
        precs, models[n], K, rank_g = _study_preconditioners(n, N, A, omega=omega, **train_kw)
        for name in PRECONDITIONERS:
            M, params, secs = precs[name]
            row = pcg_row(A, M, b, n=n, preconditioner=name, rtol=rtol, dense_max=dense_max)
            row.update(params=int(params), train_seconds=float(secs), N=N, K=K)
            if name == "learned_global":
                row["rank"] = rank_g
            rows.append(row)
    settings = dict(m=m, delta=delta, local_rank=local_rank, modes_per_subdomain=modes_per_subdomain,
                    samples_per_mode=samples_per_mode, epochs=epochs, lr=lr, init_scale=init_scale, omega=omega,
                    seed=seed, rtol=rtol, dense_max=dense_max)
    return {"rows": rows, "models": models, "settings": settings}


def _study_preconditioners(n: int, N: int, A, *, delta: int, local_rank: int, modes_per_subdomain: int,
                           samples_per_mode: int, epochs: int, lr: float, init_scale: float, omega: float,
                           seed: int, cache: bool) -> tuple[dict, dict, int, int]:
    """The five preconditioners of :func:`pcg_study` at one ``n``: name -> ``(M, parameters, set-up seconds)``, the
    two training results (name -> TrainResult), the band ``K`` and the rank of the global operator."""
    dec = Decomposition(n, N, delta)
    K = min(modes_per_subdomain * N, n // 2)
    base = TrainConfig(model=DDSpec(N, delta, local_rank, symmetric=True), n=n, K=K,
                       samples=samples_per_mode * K, epochs=epochs, lr=lr, init_scale=init_scale, seed=seed,
                       eval_points=2)
    fit_dd = train(base, cache_results=cache)
    dd = fit_dd.model
    rank_g = int(min(n, max(1, round(dd.num_parameters() / n))))
    fit_gl = train(base.replace(model=GlobalSpec(rank_g, symmetric=True)), cache_results=cache)
    gl = fit_gl.model
    precs = {"none": (None, 0, 0.0)}
    for name, coarse in (("as1", "none"), ("as2", "hat")):
        t0 = time.perf_counter()
        precs[name] = (schwarz_preconditioner(dec, A, weighting="none", coarse=coarse), 0, time.perf_counter() - t0)
    precs["learned_dd"] = (learned_preconditioner(dd, omega), dd.num_parameters(), fit_dd.final["seconds"])
    precs["learned_global"] = (learned_preconditioner(gl, omega), gl.num_parameters(), fit_gl.final["seconds"])
    return precs, {"learned_dd": fit_dd, "learned_global": fit_gl}, K, rank_g


def band_oracle_kappa(n: int, omega: float, K: int) -> float:
    r"""Reference :math:`\kappa` of :func:`learned_preconditioner` if the learned part were exactly :math:`A^{-1}` on modes
    ``1..K`` and 0 on the others (closed form).

    Eigenvalues :math:`1 + \omega h^2\lambda_k/2` for ``k <= K`` and :math:`\omega h^2\lambda_k/2` above.
    """
    n, K = check_int("n", n, low=1), check_int("K", K, low=0, high=n)
    omega = check_positive("omega", omega)
    h, _ = grid(n)
    lam = eigenvalues(n)
    c = omega * h**2 / 2
    mu = np.where(np.arange(1, n + 1) <= K, 1 + c * lam, c * lam)
    return float(mu.max() / mu.min())


def growth(rows: list[dict], preconditioner: str, key: str = "iterations") -> dict:
    r"""How ``key`` grows with ``n`` for one preconditioner in the rows of :func:`pcg_study`.

    Returns ``n`` and ``values`` (sorted by ``n``), ``ratio`` (last over first value) and ``exponent``, the
    least-squares slope :math:`p` of :math:`\log v = p\log n + c` (:math:`p \approx 0`: bounded; :math:`p = 1`: linear).
    """
    check_choice("preconditioner", preconditioner, PRECONDITIONERS)
    rr = sorted((r for r in rows if r["preconditioner"] == preconditioner), key=lambda r: r["n"])
    if len(rr) < 2:
        raise ValueError(f"rows must hold at least two n for {preconditioner!r}; got {len(rr)}")
    n = np.array([r["n"] for r in rr], dtype=float)
    v = np.array([r[key] for r in rr], dtype=float)
    if np.any(v <= 0):
        raise ValueError(f"{key} must be positive to fit a power law; got {v}")
    p = np.polyfit(np.log(n), np.log(v), 1)[0]
    return {"n": n.astype(int), "values": v, "ratio": float(v[-1] / v[0]), "exponent": float(p)}
