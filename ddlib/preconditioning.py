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
from .attention import DDAttention
from .data import make_dataset
from .decomposition import Decomposition, element_decomposition
from .experiments import grid_points, tuned_comparison
from .memory import check_dense
from .krylov import chebyshev_iterations, dense_spectrum, pcg_spectrum
from .models import DDSpec, GlobalSpec
from .problem import eigenvalues, grid, laplacian_1d
from .schwarz import SchwarzPreconditioner, schwarz_preconditioner
from .training import TrainConfig, predict, squared_norms, train

__all__ = [
    "learned_preconditioner",
    "PRECONDITIONERS",
    "pcg_row",
    "pcg_study",
    "band_oracle_kappa",
    "growth",
    "SHARED_PRECONDITIONERS",
    "shared_spec",
    "preconditioner_config",
    "truncated_oracle",
    "kappa_lower_bound",
    "kappa_upper_bound",
    "rank_theory",
    "stored_numbers",
    "apply_seconds",
    "shared_study",
    "rank_study",
    "LOSS_VARIANTS",
    "compare_losses",
    "probe_error",
    "outlier_sensitivity",
]

#: The preconditioners compared by :func:`pcg_study`, in the order of the F11 rows.
PRECONDITIONERS = ("none", "as1", "as2", "learned_dd", "learned_global")
_FIT_VERSION = 1


# ------------------------------------------------------------------------------------------------ preconditioner
def learned_preconditioner(model: torch.nn.Module, omega: float | None = None) -> LinearOperator:
    r"""The SPD preconditioner :math:`M^{-1} = M_\theta^{-1} + \omega\,h^2/2\,I` as a LinearOperator (module docstring).

    ``model`` must be symmetric positive semi-definite by construction (tied factors: a ``DDAttention`` or
    ``GlobalAttention`` with ``symmetric=True``); ``omega > 0`` is the weight of the Jacobi term
    :math:`\omega\,\mathrm{diag}(A)^{-1}` (default 0.5). A ``DDAttention`` that carries its own diagonal term
    (``diagonal="jacobi"`` or ``"learned"``) is already SPD and is used as it is; ``omega`` must then be None.
    One application is one call of the model's ``apply_columns`` (:math:`O(n)` for ``DDAttention``).
    """
    if not getattr(model, "symmetric", False):
        raise ValueError(f"model must have tied factors (symmetric=True); got {type(model).__name__} "
                         f"with symmetric={getattr(model, 'symmetric', None)}")
    own = getattr(model, "diagonal", "none") != "none"
    if own and omega is not None:
        raise ValueError(f"omega must be None for a model with its own diagonal term (diagonal="
                         f"{model.diagonal!r}); got {omega!r}")
    omega = 0.0 if own else check_positive("omega", 0.5 if omega is None else omega)
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
    estimate; :func:`ddlib.krylov.pcg_spectrum`).
    """
    sp_ = pcg_spectrum(A, M, b, rtol=rtol, kappa_rtol=kappa_rtol, dense_max=dense_max, maxiter=20 * n)
    return {"n": int(n), "preconditioner": preconditioner, "kappa": sp_["kappa"], "iterations": sp_["iterations"],
            "method": sp_["method"], "converged": sp_["converged"]}


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
    r"""How ``key`` grows with ``n`` for one preconditioner in the rows of :func:`pcg_study` or :func:`shared_study`.

    Returns ``n`` and ``values`` (sorted by ``n``), ``ratio`` (last over first value), ``exponent``, the
    least-squares slope :math:`p` of :math:`\log v = p\log n + c` (:math:`p \approx 0`: bounded; :math:`p = 1`:
    linear), and ``endpoint_exponent``, :math:`\log(v_{last}/v_{first})/\log(n_{last}/n_{first})`, the growth
    between the smallest and the largest ``n``.
    """
    names = sorted({r["preconditioner"] for r in rows})
    check_choice("preconditioner", preconditioner, names)
    rr = sorted((r for r in rows if r["preconditioner"] == preconditioner), key=lambda r: r["n"])
    if len(rr) < 2:
        raise ValueError(f"rows must hold at least two n for {preconditioner!r}; got {len(rr)}")
    n = np.array([r["n"] for r in rr], dtype=float)
    v = np.array([r[key] for r in rr], dtype=float)
    if np.any(v <= 0):
        raise ValueError(f"{key} must be positive to fit a power law; got {v}")
    p = np.polyfit(np.log(n), np.log(v), 1)[0]
    return {"n": n.astype(int), "values": v, "ratio": float(v[-1] / v[0]), "exponent": float(p),
            "endpoint_exponent": float(np.log(v[-1] / v[0]) / np.log(n[-1] / n[0]))}


# ------------------------------------------------------------------- the preconditioning-trained shared operator
#: The preconditioners of :func:`shared_study` (F11 rows), in order: one- and two-level additive Schwarz, Jacobi plus
#: the coarse level, the truncated-element oracle of the theory, and the trained shared operator.
SHARED_PRECONDITIONERS = ("as1", "as2", "jacobi_coarse", "oracle", "learned_dd_shared")


def shared_spec(N: int, delta: int, local_rank: int, *, coarse_inverse: str = "galerkin",
                omega: float = 0.5) -> DDSpec:
    r"""The learned preconditioner's class: tied (``symmetric``), ``shared`` local factors, the Galerkin coarse level
    (``coarse_inverse="galerkin"``; ``"learned"`` is the ablation) and a learned Jacobi weight
    :math:`\omega = e^\theta` (initial value ``omega``):

    .. math::  M_\theta = \Phi A_0^{-1}\Phi^T + hH\sum_i R_i^TD_i^{1/2}K_{c(i)}K_{c(i)}^TD_i^{1/2}R_i
               + e^\theta\,\tfrac{h^2}{2}\,I,

    :math:`c(i)` the first, an interior or the last subdomain. Symmetric positive definite for every parameter value;
    :math:`(3m + 4\delta - 1)\,r + 1` parameters whatever ``N``.
    """
    return DDSpec(N, delta, local_rank, symmetric=True, shared=True, coarse_inverse=coarse_inverse,
                  diagonal="learned", omega=omega)


def preconditioner_config(m: int = 32, delta: int = 1, local_rank: int = 4, *, n_train: int = 255,
                          samples: int = 32, validation_samples: int = 64, epochs: int = 400, lr: float = 1e-2,
                          init_scale: float = 0.1, seed: int = 0, steps: int = 8, solver: str = "steepest_descent",
                          coarse_inverse: str = "galerkin", eval_points: int = 6) -> TrainConfig:
    r"""The training run of a learned preconditioner: :func:`shared_spec` at ``n_train`` (``m`` must divide
    ``n_train + 1``), trained by :func:`ddlib.training.train` on ``"energy_probes"``
    (:math:`u\sim\mathcal N(0, A^{-1})`, :math:`f = Au`) with the energy-norm loss of the ``steps``-th iterate of
    ``solver`` preconditioned by :math:`M_\theta` (:func:`ddlib.training.predict`).

    With the default, preconditioned steepest descent (exact line search, scale invariant), the error contracts by at
    most :math:`(\kappa - 1)/(\kappa + 1)` per step in the energy norm (Kantorovich), so the loss, the mean of
    :math:`\|e_k\|_A^2/\|u\|_A^2` over the probes, is small only when :math:`\kappa(M_\theta A)` is: the training
    target is the condition number, not the regression error.
    """
    m, delta = check_int("m", m, low=2), check_int("delta", delta, low=0)
    if (check_int("n_train", n_train, low=3) + 1) % m or (n_train + 1) // m < 3:
        raise ValueError(f"n_train + 1 must be a multiple of m = {m} with at least 3 subdomains; "
                         f"got n_train = {n_train}")
    spec = shared_spec((n_train + 1) // m, delta, local_rank, coarse_inverse=coarse_inverse)
    return TrainConfig(model=spec, n=n_train, data="energy_probes", loss="energy", solver=solver, solver_steps=steps,
                       K=min(16, n_train // 2), samples=samples, validation_samples=validation_samples,
                       test_samples=16, epochs=epochs, lr=lr, init_scale=init_scale, seed=seed,
                       eval_points=eval_points)


def truncated_oracle(dec: Decomposition, local_rank: int, omega: float = 0.5, *,
                     corrected: bool = False) -> DDAttention:
    r"""The theory's member of the class at rank ``r``: the exact coarse level, the best rank-``r`` part of every
    element inverse and a fixed Jacobi term,

    .. math::  M_r = \Phi A_0^{-1}\Phi^T + \sum_E R_E^T\,V_r(\Lambda_r^{-1} - s\,c\,I)V_r^T\,R_E + c\,I,
               \qquad c = \omega\,\tfrac{h^2}{2},

    :math:`V_r, \Lambda_r` the eigenvectors and eigenvalues of the ``r`` smallest eigenvalues of :math:`A_E` (the
    element's Dirichlet matrix, :math:`m - 1` nodes), :math:`s = 0` (:math:`[A_E^{-1}]_r`), or :math:`s = 1` with
    ``corrected`` (the Jacobi term taken off the kept modes, so that :math:`M_rA` is the identity on them when the
    levels decouple; entries :math:`\lambda^{-1} - c` clipped at 0). It is a shared, tied DD attention (every element
    lies inside its subdomain) built at ``N = 4`` and transferred to ``dec`` (:meth:`DDAttention.transfer_to`), so it
    costs :math:`O(n)` at any ``n``.
    """
    if not isinstance(dec, Decomposition):
        raise ValueError(f"dec must be a ddlib.decomposition.Decomposition; got {type(dec).__name__}")
    small = Decomposition(4 * dec.m - 1, 4, dec.delta)
    r = check_int("local_rank", local_rank, low=1, high=small.n_max)
    model = DDAttention(small, r, symmetric=True, shared=True, coarse_inverse="galerkin", init="schwarz",
                        local_inverse="element", diagonal="jacobi", omega=check_positive("omega", omega))
    if corrected:
        _correct_oracle(model)
    return model.transfer_to(dec) if dec.N != small.N else model


def _correct_oracle(model: DDAttention) -> None:
    r"""Set the factors of a shared element oracle (``N = 4``) to :math:`V_r(\Lambda_r^{-1} - c)_+^{1/2}`, weighted
    and scaled as :meth:`DDAttention._schwarz_local` does (subdomains 0, 1 and 3 hold the three distinct blocks)."""
    dec, r = model.decomposition, model.local_rank
    A = laplacian_1d(dec.n).toarray()
    c = model.omega * model.h**2 / 2
    wl, _ = dec.padded_weights(model.partition, model.weighting)
    blocks = {}
    for i, nodes in zip((0, 1, dec.N - 1), (element_decomposition(dec.n, dec.N)[j] for j in (0, 1, dec.N - 1))):
        lam, V = np.linalg.eigh(A[np.ix_(nodes, nodes)])
        k = min(r, lam.size)
        K = np.zeros((dec.n_max, r))
        loc = nodes - dec.bounds[i, 0]
        K[loc, :k] = V[:, :k] * np.sqrt(np.maximum(1 / lam[:k] - c, 0) / (model.h * model.local_scale))
        K[loc] /= wl[i, loc, None]
        blocks[i] = torch.as_tensor(K, dtype=model.dtype)
    with torch.no_grad():
        model.K.copy_(blocks[1])
        model.K_edge.copy_(torch.stack([blocks[0], blocks[dec.N - 1]]))


def kappa_lower_bound(m: int, local_rank: int) -> float:
    r"""A lower bound on :math:`\kappa(MA)` for *every* preconditioner of the form
    :math:`M = P + c\,I` with :math:`P` symmetric positive semi-definite of rank at most :math:`N(r + 1) - 1` and
    :math:`c > 0` (any member of the learned class at local rank ``r``, whatever its parameters):

    .. math::  \kappa(MA) \ge \cot^2\theta_r, \qquad \theta_r = \frac{(r+1)\pi}{2m},

    independent of ``n`` (1 when :math:`\theta_r \ge \pi/4`). Proof: on the null space :math:`X` of :math:`P`
    (dimension at least :math:`n - k`, :math:`k = N(r+1) - 1`) the Rayleigh quotient of :math:`MA`,
    :math:`x^TMx/x^TA^{-1}x`, is :math:`c\,x^Tx/x^TA^{-1}x`. By Courant-Fischer
    :math:`\max_X x^TA^{-1}x/x^Tx \ge 1/\lambda_{k+1}(A)` and :math:`\min_X x^TA^{-1}x/x^Tx \le 1/\lambda_{n-k}(A)`,
    so :math:`\lambda_{\min}(MA) \le c\lambda_{k+1}(A)` and :math:`\lambda_{\max}(MA) \ge c\lambda_{n-k}(A)`. With
    :math:`(k+1)h = N(r+1)h = (r+1)/m`: :math:`\lambda_{k+1} = \frac{4}{h^2}\sin^2\theta_r`,
    :math:`\lambda_{n-k} = \frac{4}{h^2}\cos^2\theta_r`.
    """
    m = check_int("m", m, low=2)
    theta = (check_int("local_rank", local_rank, low=0) + 1) * np.pi / (2 * m)
    return float(max(1.0, 1.0 / np.tan(theta) ** 2)) if theta < np.pi / 2 else 1.0


def kappa_upper_bound(m: int, local_rank: int, omega: float = 0.5) -> float:
    r"""An upper bound on :math:`\kappa` of the truncated oracle (:func:`truncated_oracle`), independent of ``n``:

    .. math::  \kappa(M_rA) \le \frac{1 + 2\omega}{\min(1,\ 2\omega\sin^2\theta_r)}.

    Proof: :math:`x^TA^{-1}x = x^T\Phi A_0^{-1}\Phi^Tx + \sum_E\sum_k (v_k^Tx_E)^2/\lambda^E_k` (the exact 1D
    decomposition, :math:`v_k, \lambda^E_k` the eigenpairs of :math:`A_E`); :math:`M_r` keeps the terms
    :math:`k \le r` and adds :math:`c|x|^2 \ge c\sum_E\sum_{k>r}(v_k^Tx_E)^2 \ge c\lambda^E_{r+1}\sum_E
    \sum_{k>r}(v_k^Tx_E)^2/\lambda^E_k`, with :math:`c\lambda^E_{r+1} = 2\omega\sin^2\theta_r`; and
    :math:`x^TM_rx \le x^TA^{-1}x + c|x|^2 \le (1 + c\lambda_{\max}(A))\,x^TA^{-1}x`, :math:`c\lambda_{\max} < 2\omega`.
    """
    m, omega = check_int("m", m, low=2), check_positive("omega", omega)
    theta = (check_int("local_rank", local_rank, low=0) + 1) * np.pi / (2 * m)
    return float((1 + 2 * omega) / min(1.0, 2 * omega * np.sin(min(theta, np.pi / 2)) ** 2))


def rank_theory(m: int, ranks, *, delta: int = 1, omega: float = 0.5, N: int = 8, rtol: float = 1e-8) -> list[dict]:
    r"""What a rank-``r`` local block plus Jacobi plus the exact coarse level can reach on subdomains of ``m`` nodes.

    One dict per ``r`` in ``ranks``: ``theta`` (:math:`\theta_r`), ``kappa_lower`` (:func:`kappa_lower_bound`, any
    member of the class), ``kappa_upper`` (:func:`kappa_upper_bound`, the oracle), ``kappa_oracle`` (the oracle's
    :math:`\kappa` from the dense spectrum at :math:`n = Nm - 1`; it does not depend on ``n`` beyond the boundary
    subdomains, which the tests and the book check), and the iterations the CG bound implies,
    ``iterations_predicted`` = :func:`ddlib.krylov.chebyshev_iterations` of ``kappa_oracle`` and
    ``iterations_lower`` of ``kappa_lower`` (:math:`\approx\frac12\sqrt\kappa\ln(2/\mathrm{rtol})`).
    """
    m, N = check_int("m", m, low=2), check_int("N", N, low=4)
    dec = Decomposition(N * m - 1, N, delta)
    A = laplacian_1d(dec.n)
    out = []
    for r in ranks:
        r = check_int("ranks[i]", r, low=1, high=dec.n_max)
        ev = dense_spectrum(A, learned_preconditioner(truncated_oracle(dec, r, omega)))
        kappa = float(ev[-1] / ev[0])
        lower = kappa_lower_bound(m, r)
        out.append({"local_rank": r, "theta": (r + 1) * np.pi / (2 * m), "kappa_lower": lower,
                    "kappa_upper": kappa_upper_bound(m, r, omega), "kappa_oracle": kappa,
                    "lambda_min_oracle": float(ev[0]), "lambda_max_oracle": float(ev[-1]),
                    "iterations_predicted": chebyshev_iterations(kappa, rtol),
                    "iterations_lower": chebyshev_iterations(lower, rtol)})
    return out


def stored_numbers(op) -> int:
    r"""Numbers a preconditioner keeps beyond the grid and :math:`A` (its memory in float64 words).

    Classical Schwarz (:class:`ddlib.schwarz.SchwarzPreconditioner`): the :math:`LDL^T` factors of all subdomain
    matrices (two numbers per subdomain node) plus the nonzeros of the coarse LU factors. A ``DDAttention``: its
    parameters and, for a fixed Jacobi term, the weight :math:`\omega`; the learned factors are shared, so this does
    not grow with ``n``, and the closed-form Galerkin coarse solve (:meth:`DDAttention.galerkin_solve`) stores nothing.
    """
    if isinstance(op, SchwarzPreconditioner):
        local = int(op.overlapping.solver._d.size + op.overlapping.solver._e.size)
        lu = op.coarse._lu
        return local + (int(lu.L.nnz + lu.U.nnz) if lu is not None else 0)
    if isinstance(op, DDAttention):
        return int(op.num_parameters()) + int(op.diagonal == "jacobi")
    raise ValueError(f"op must be a SchwarzPreconditioner or a DDAttention; got {type(op).__name__}")


def apply_seconds(M, n: int, *, repeats: int = 7, seed: int = 0) -> float:
    """Median wall-clock seconds of one application of ``M`` (a LinearOperator) to a standard normal vector."""
    x = np.random.default_rng(check_int("seed", seed, low=0)).standard_normal(check_int("n", n, low=1))
    M.matvec(x)  # warm-up (caches, first-call allocations)
    times = []
    for _ in range(check_int("repeats", repeats, low=1)):
        t0 = time.perf_counter()
        M.matvec(x)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _shared_operators(dec: Decomposition, A, model: DDAttention | None, local_rank: int, omega: float) -> dict:
    """name -> (LinearOperator, stored numbers, local rank) for :data:`SHARED_PRECONDITIONERS` at one grid."""
    ops = {}
    for name, coarse in (("as1", "none"), ("as2", "hat")):
        S = schwarz_preconditioner(dec, A, weighting="none", coarse=coarse)
        ops[name] = (S, stored_numbers(S), int(dec.n_max))
    jc = DDAttention(dec, 1, use_local=False, symmetric=True, coarse_inverse="galerkin", diagonal="jacobi",
                     omega=omega)
    ops["jacobi_coarse"] = (learned_preconditioner(jc), stored_numbers(jc), 0)
    orc = truncated_oracle(dec, local_rank, omega)
    ops["oracle"] = (learned_preconditioner(orc), stored_numbers(orc), int(local_rank))
    if model is not None:
        mod = model.transfer_to(dec) if model.decomposition.n != dec.n else model
        ops["learned_dd_shared"] = (learned_preconditioner(mod), stored_numbers(mod), int(mod.local_rank))
    return ops


def shared_study(model: DDAttention | None, ns, *, m: int = 32, delta: int = 1, local_rank: int | None = None,
                 omega: float = 0.5, seed: int = 0, rtol: float = 1e-8, dense_max: int = 511,
                 names=SHARED_PRECONDITIONERS) -> list[dict]:
    r"""PCG for :math:`Au = b` at fixed :math:`H/h = m` for the :data:`SHARED_PRECONDITIONERS`, per ``n`` in ``ns``.

    ``model`` is one trained shared operator (:func:`shared_spec`), applied unchanged at every ``n`` by
    :meth:`DDAttention.transfer_to`; ``oracle`` is :func:`truncated_oracle` at its rank (or ``local_rank``),
    ``jacobi_coarse`` the same without local blocks, ``as1``/``as2`` classical additive Schwarz with exact local
    solves (``weighting="none"``). Every operator applies in :math:`O(n)`; no dense matrix is formed above
    ``dense_max``.

    Returns one row per ``(n, preconditioner)``: the keys of :func:`pcg_row` (``kappa`` dense up to ``dense_max``,
    else the Lanczos estimate of the PCG run) plus ``local_rank`` (``m + 2 delta``, the full subdomain, for exact
    local solves), ``stored`` and ``stored_per_node`` (:func:`stored_numbers`), ``apply_seconds``
    (:func:`apply_seconds`) and ``N``.
    """
    ns = [check_int("ns[i]", v, low=3) for v in ns]
    m = check_int("m", m, low=2)
    for v in ns:
        if (v + 1) % m or (v + 1) // m < 4:
            raise ValueError(f"every n must satisfy (n + 1) % m == 0 with at least 4 subdomains for m = {m}; "
                             f"got n = {v}")
    if model is not None and (not isinstance(model, DDAttention) or not model.shared):
        raise ValueError("model must be a shared DDAttention (shared_spec) or None")
    r = local_rank if local_rank is not None else (model.local_rank if model is not None else None)
    r = check_int("local_rank", r, low=1)
    names = [check_choice("names[i]", v, SHARED_PRECONDITIONERS) for v in names]
    rows = []
    for n in ns:
        dec = Decomposition(n, (n + 1) // m, delta)
        A = laplacian_1d(n)
        b = np.random.default_rng(check_int("seed", seed, low=0)).standard_normal(n)
        ops = _shared_operators(dec, A, model, r, omega)
        for name in names:
            if name not in ops:
                continue
            M, stored, rank = ops[name]
            row = pcg_row(A, M, b, n=n, preconditioner=name, rtol=rtol, dense_max=dense_max)
            row.update(local_rank=rank, stored=int(stored), stored_per_node=stored / n,
                       apply_seconds=apply_seconds(M, n), N=dec.N)
            rows.append(row)
    return rows


def rank_study(models: dict, n: int, *, m: int = 32, delta: int = 1, omega: float = 0.5, seed: int = 0,
               rtol: float = 1e-8, dense_max: int = 511) -> list[dict]:
    r"""PCG at one grid size ``n`` against the local rank: for every ``r -> model`` in ``models`` (trained shared
    operators) the row of the trained operator and of :func:`truncated_oracle` at rank ``r``, and one row of two-level
    additive Schwarz; the row keys of :func:`shared_study`."""
    n, m = check_int("n", n, low=3), check_int("m", m, low=2)
    if (n + 1) % m or (n + 1) // m < 4:
        raise ValueError(f"n must satisfy (n + 1) % m == 0 with at least 4 subdomains for m = {m}; got n = {n}")
    dec = Decomposition(n, (n + 1) // m, delta)
    A = laplacian_1d(n)
    b = np.random.default_rng(check_int("seed", seed, low=0)).standard_normal(n)
    rows = []

    def add(name, M, stored, rank):
        row = pcg_row(A, M, b, n=n, preconditioner=name, rtol=rtol, dense_max=dense_max)
        row.update(local_rank=int(rank), stored=int(stored), stored_per_node=stored / n,
                   apply_seconds=apply_seconds(M, n), N=dec.N)
        rows.append(row)

    S = schwarz_preconditioner(dec, A, weighting="none", coarse="hat")
    add("as2", S, stored_numbers(S), dec.n_max)
    for r, model in sorted(models.items()):
        orc = truncated_oracle(dec, r, omega)
        add("oracle", learned_preconditioner(orc), stored_numbers(orc), r)
        mod = model.transfer_to(dec) if model.decomposition.n != n else model
        add("learned_dd_shared", learned_preconditioner(mod), stored_numbers(mod), mod.local_rank)
    return rows


#: The training targets :func:`compare_losses` measures: ``(data, loss, solver, steps)``, ``None`` steps meaning the
#: ``solver_steps`` of the base configuration.
LOSS_VARIANTS = {
    "frobenius_l2": ("probes", "l2", "richardson", 1),
    "frobenius_energy": ("energy_probes", "energy", "richardson", 1),
    "richardson": ("energy_probes", "energy", "richardson", None),
    "pcg": ("energy_probes", "energy", "pcg", None),
    "steepest_descent": ("energy_probes", "energy", "steepest_descent", None),
}


def compare_losses(base: TrainConfig, grid: dict, seeds=(0,), *, ns=(), names=tuple(LOSS_VARIANTS), m: int = 32,
                   workers: int | None = None) -> list[dict]:
    r"""Train the model of ``base`` for each training target of :data:`LOSS_VARIANTS` by the tuned protocol
    (:func:`ddlib.experiments.tuned_comparison`: the same ``grid`` and seeds, knobs chosen on each target's own
    validation error) and measure the trained operators as preconditioners.

    ``"frobenius_l2"`` (white probes, Euclidean loss) estimates :math:`\|I - M_\theta A\|_F^2/n`,
    ``"frobenius_energy"`` :math:`\frac1n\sum_i(1-\mu_i)^2`, ``"richardson"`` :math:`\frac1n\sum_i(1-\mu_i)^{2k}`, and
    ``"pcg"``/``"steepest_descent"`` the energy error after ``k`` steps of those methods.

    Returns one dict per target: ``name``, ``chosen`` knobs (None if every grid point diverged), ``diverged`` (grid
    points that diverged), ``selection`` (the :class:`ddlib.experiments.Selection` or None), and for each ``n`` in
    ``ns`` (the training ``n`` first) ``kappa_<n>``, ``iterations_<n>`` (NaN when nothing trained).
    """
    out = []
    for name in names:
        data, loss, solver, steps = LOSS_VARIANTS[check_choice("names[i]", name, tuple(LOSS_VARIANTS))]
        cfg = base.replace(data=data, loss=loss, solver=solver, solver_steps=steps or base.solver_steps)
        row = {"name": name, "chosen": None, "selection": None}
        try:
            sel = tuned_comparison([cfg.model], cfg, grid, seeds, workers=workers)[0]
        except ValueError:  # every grid point diverged
            sel = None
        row["diverged"] = len(grid_points(grid)) if sel is None else int(sum(g["diverged"] for g in sel.grid))
        if sel is not None:
            row.update(chosen=sel.chosen, selection=sel)
        for n in ns:
            key = (f"kappa_{n}", f"iterations_{n}")
            if sel is None:
                row.update(dict.fromkeys(key, float("nan")))
                continue
            r = shared_study(sel.runs[0].model, [n], m=m, delta=sel.runs[0].model.decomposition.delta,
                             names=("learned_dd_shared",))[0]
            row.update({key[0]: r["kappa"], key[1]: r["iterations"]})
        out.append(row)
    return out



def probe_error(model: torch.nn.Module, config: TrainConfig) -> float:
    r"""The validation error of ``config`` for any ``model`` at ``config.n``: the mean over the validation probes of
    :math:`\|x_k - u\|/\|u\|` in the norm of the loss, :math:`x_k` the prediction of
    :func:`ddlib.training.predict` (``config.solver_steps`` steps of ``config.solver``). For a trained model it is the
    ``error_validation`` the tuned protocol selects on; for an oracle it says how far the training got from it."""
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig; got {type(config).__name__}")
    d = make_dataset("validation", config.n, config.validation_samples, config.K, config.seed, config.decay,
                     training=config.data)
    F, U = (torch.as_tensor(np.ascontiguousarray(a.T)) for a in (d.f, d.u))
    with torch.no_grad():
        R = predict(model, F, config.solver_steps, config.solver) - U
        return float((squared_norms(R, config.loss) / squared_norms(U, config.loss)).sqrt().mean())


class _WithOutliers(torch.nn.Module):
    r""":math:`M + V\,\mathrm{diag}(s)\,V^T`: a model with a few added symmetric positive directions."""

    def __init__(self, model: torch.nn.Module, V: torch.Tensor, s: torch.Tensor):
        super().__init__()
        self.model, self.V, self.s = model, V, s
        self.n = model.n

    def apply_columns(self, F: torch.Tensor) -> torch.Tensor:
        return self.model.apply_columns(F) + self.V @ (self.s[:, None] * (self.V.T @ F))


def outlier_sensitivity(model: DDAttention, config: TrainConfig, *, count: int = 3, weight: float = 100.0,
                        seed: int = 0) -> dict:
    r"""What the steepest-descent and the PCG training targets see of a few outlying eigenvalues.

    Adds ``count`` random orthonormal directions :math:`V` (seeded) with weight ``weight`` times the Jacobi scale,
    :math:`M' = M + w\,\omega\tfrac{h^2}{2}VV^T` (still SPD), and returns ``kappa`` and ``kappa_outliers`` (dense, at
    ``config.n``) and, for ``solver`` in ``("steepest_descent", "pcg")``, ``<solver>`` and ``<solver>_outliers``:
    :func:`probe_error` with ``config.solver_steps`` steps of that solver. CG removes a few outlying eigenvalues in
    a few steps, so its error hardly moves while :math:`\kappa` grows; steepest descent's rate is set by
    :math:`\kappa`.
    """
    n = model.n
    count, weight = check_int("count", count, low=1, high=n), check_positive("weight", weight)
    g = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    V, _ = torch.linalg.qr(torch.randn(n, count, generator=g, dtype=torch.float64))
    s = torch.full((count,), weight * model.omega_value() * model.h**2 / 2, dtype=torch.float64)
    bent = _WithOutliers(model, V, s)
    check_dense((6, n, n), "outlier_sensitivity (the identity, M, M' and the four arrays of dense_spectrum)",
                "compare the preconditioners by pcg_row (matrix-free PCG, Lanczos estimates of kappa)")
    A = laplacian_1d(n)
    out = {}
    for tag, op in (("", model), ("_outliers", bent)):
        with torch.no_grad():
            Md = op.apply_columns(torch.eye(n, dtype=torch.float64)).numpy()
        ev = dense_spectrum(A, 0.5 * (Md + Md.T))
        out[f"kappa{tag}"] = float(ev[-1] / ev[0])
        for solver in ("steepest_descent", "pcg"):
            out[f"{solver}{tag}"] = probe_error(op, config.replace(solver=solver))
    return out
