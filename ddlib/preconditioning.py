r"""The learned operator as a preconditioner: symmetric positive semi-definite attention, its training, PCG, and what
a rank-``r`` local block can reach.

**Symmetric variants.** Tying the query and key factors, :math:`Q_i = K_i` and :math:`Q_0 = K_0`
(``DDAttention(symmetric=True)``, :class:`ddlib.models.DDSpec` ``symmetric=True``), turns the DD attention into

.. math::  M_\theta^{-1} = w\Big(\Phi K_0 K_0^T \Phi^T + \sum_{i} R_i^T W_i K_i K_i^T W_i R_i\Big),
           \qquad W_i = D_i^{1/2}\ (\text{or } I),

a sum of Gram matrices, so :math:`x^T M_\theta^{-1} x = w\big(\|K_0^T\Phi^Tx\|^2 + \sum_i \|K_i^T W_i R_i x\|^2\big)
\ge 0` for *every* parameter value (:math:`w = h^d` the quadrature weight; :math:`h` in 1D). The global baseline
becomes :math:`w\,KK^T` (``GlobalSpec(symmetric=True)``).

**Why a completion is needed.** A low-rank PSD operator is singular, and CG preconditioned by a singular operator
stalls on its null space. The learned preconditioner therefore adds the cheapest symmetric positive definite term, a
damped Jacobi step (:class:`WithJacobi`),

.. math::  M^{-1} = M_\theta^{-1} + \omega\, \mathrm{diag}(A)^{-1}
           \;\overset{\text{1D}}{=}\; M_\theta^{-1} + \omega\,\frac{h^2}{2} I,

which is SPD for any :math:`\omega > 0`. In 1D, on a sine mode :math:`v_k` where :math:`M_\theta^{-1} v_k =
v_k/\lambda_k` exactly, :math:`M^{-1}A v_k = (1 + \omega h^2\lambda_k/2)v_k`; where :math:`M_\theta^{-1} v_k = 0` it
is :math:`\omega h^2 \lambda_k / 2 = 2\omega\sin^2(k\pi h/2)`, so the smallest eigenvalue, and with it
:math:`\kappa`, is decided by how far up the spectrum the learned part is accurate.

**The studies** of the book's chapter 6 are one-dimensional: subdomains of fixed size :math:`H/h = m` and
``n = N m - 1`` growing. :func:`pcg_study` trains one operator per ``n`` on the Fourier band (the cautionary case);
:func:`shared_study` applies one operator with shared factors (:func:`shared_spec`), trained once by the
preconditioning loss (:func:`preconditioner_config`), at every ``n``; :func:`rank_theory` gives the bounds of the
class at local rank ``r`` (:func:`kappa_lower_bound`, :func:`kappa_upper_bound`) and its member that nearly attains
them (:func:`truncated_oracle`). :func:`report_preconditioning` turns the measured records into the chapter's numbers
and verdict words. The operators themselves (:class:`WithJacobi`, :func:`learned_preconditioner`,
:func:`stored_numbers`, :func:`probe_error`) work on a problem of any dimension.

Examples
--------
>>> import numpy as np
>>> from ddlib.problem import Problem
>>> from ddlib.decomposition import Decomposition
>>> from ddlib.krylov import dense_spectrum
>>> dec = Decomposition(Problem(63), N=4, delta=1)                      # m = H/h = 16
>>> ev = dense_spectrum(dec.problem.matrix(), learned_preconditioner(truncated_oracle(dec, 3, omega=0.5)))
>>> theta = 4 * np.pi / 32                                              # theta_r = (r + 1) pi / (2m)
>>> bool(np.isclose(ev[0], 2 * 0.5 * np.sin(theta) ** 2, rtol=1e-9))     # lambda_min = 2 omega sin^2 theta_r
True
>>> bool(kappa_lower_bound(16, 3) <= ev[-1] / ev[0] <= kappa_upper_bound(16, 3, 0.5))
True
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator

from ._validate import check_choice, check_int, check_positive
from .attention import DDAttention, Structure, _Operator, schwarz_init
from .data import make_dataset
from .decomposition import Decomposition
from .experiments import grid_points, tuned_comparison
from .memory import check_dense
from .krylov import chebyshev_iterations, dense_spectrum, pcg_spectrum
from .models import DDSpec, GlobalSpec
from .problem import Problem
from .schwarz import SchwarzPreconditioner, schwarz_preconditioner
from .sweep import run_sweep
from .training import TrainConfig, TrainResult, predict, squared_norms, train

__all__ = [
    "WithJacobi",
    "learned_preconditioner",
    "PRECONDITIONERS",
    "pcg_row",
    "pcg_study",
    "band_oracle_kappa",
    "growth",
    "pivot",
    "SHARED_PRECONDITIONERS",
    "shared_spec",
    "preconditioner_config",
    "truncated_oracle",
    "corrected_omega",
    "kappa_lower_bound",
    "kappa_upper_bound",
    "kappa_for_iterations",
    "rank_theory",
    "stored_numbers",
    "apply_seconds",
    "shared_study",
    "rank_study",
    "member_comparison",
    "OPTIMIZER_VARIANTS",
    "OPTIMIZER_VARIANT_LABELS",
    "optimizer_check",
    "oracle_start",
    "THEORY_COLUMNS",
    "THEORY_FORMATS",
    "CHECK_COLUMNS",
    "CHECK_FORMATS",
    "loss_table",
    "SELECTION_COLUMNS",
    "selection_rows",
    "LOSS_VARIANTS",
    "compare_losses",
    "probe_error",
    "outlier_sensitivity",
    "BOUNDED_EXPONENT",
    "WITHIN",
    "figure_numbers",
    "report_preconditioning",
]

#: The preconditioners compared by :func:`pcg_study`, in the order of its rows.
PRECONDITIONERS = ("none", "as1", "as2", "learned_dd", "learned_global")
#: Iteration counts "stay bounded" in ``n`` when their growth exponent between the smallest and the largest ``n``
#: (:func:`growth`, ``endpoint_exponent``) is at most this.
BOUNDED_EXPONENT = 0.1
#: A count is "within" a reference count when it is at most this factor times it.
WITHIN = 1.5


# ------------------------------------------------------------------------------------------------ preconditioner
class WithJacobi(_Operator):
    r"""A model plus a damped Jacobi term, :math:`M_\theta^{-1} + \omega\,\mathrm{diag}(A)^{-1}` (module docstring).

    Parameters
    ----------
    model : torch.nn.Module
        An operator of :mod:`ddlib.attention` (``apply_columns`` and ``problem``).
    omega : float
        The weight :math:`\omega > 0` (fixed), or its initial value when ``learned``.
    learned : bool
        Learn :math:`\omega = e^\theta` (one trainable scalar, positive for every parameter value).

    With a tied (symmetric positive semi-definite) model the sum is symmetric positive *definite* for every parameter
    value, with every eigenvalue at least :math:`\omega\min_p(\mathrm{diag}A)_p^{-1}`. In 1D with a constant
    coefficient :math:`\mathrm{diag}(A)^{-1} = \tfrac{h^2}{2}I`.

    Examples
    --------
    >>> import torch
    >>> from ddlib.problem import Problem
    >>> from ddlib.attention import GlobalAttention
    >>> op = WithJacobi(GlobalAttention(Problem(7), 2, symmetric=True), omega=0.5)
    >>> x = torch.zeros(7, 1, dtype=torch.float64); x[3] = 1.0
    >>> with torch.no_grad():
    ...     float(op.apply_columns(x)[3, 0] - op.model.apply_columns(x)[3, 0])   # omega h^2 / 2, h = 1/8
    0.00390625
    """

    def __init__(self, model: torch.nn.Module, omega: float = 0.5, learned: bool = False):
        super().__init__()
        self._setup(model.problem)
        self.model, self.learned = model, bool(learned)
        self.symmetric = bool(getattr(model, "symmetric", False))
        omega = check_positive("omega", omega)
        self.omega = omega
        self.log_omega = torch.nn.Parameter(torch.tensor(math.log(omega), dtype=torch.float64)) if learned else None
        self.register_buffer("dinv", torch.as_tensor(1.0 / model.problem.matrix().diagonal())[:, None],
                             persistent=False)

    def omega_value(self) -> float:
        r"""The current :math:`\omega` (no gradient)."""
        return float(torch.exp(self.log_omega.detach())) if self.learned else self.omega

    def apply_columns(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`M_\theta^{-1}F + \omega\,\mathrm{diag}(A)^{-1}F` (out of place)."""
        self._check_columns(F)
        omega = torch.exp(self.log_omega) if self.learned else self.omega
        return self.model.apply_columns(F) + (omega * self.dinv) * F

    def num_parameters(self) -> int:
        return self.model.num_parameters() + int(self.learned)

    def parameter_formula(self) -> int:
        return self.model.parameter_formula() + int(self.learned)

    def transfer_to(self, structure) -> "WithJacobi":
        r"""The same operator on another grid (:meth:`ddlib.attention.DDAttention.transfer_to`), :math:`\omega` (or
        its parameter :math:`\theta`) copied exactly."""
        other = WithJacobi(self.model.transfer_to(structure), self.omega, self.learned).to(self.dtype)
        if self.learned:
            with torch.no_grad():
                other.log_omega.copy_(self.log_omega)
        return other

    def __getattr__(self, name):
        try:
            return super().__getattr__(name)
        except AttributeError:  # the wrapped model's attributes (decomposition, local_rank, shared, ...)
            return getattr(super().__getattr__("model"), name)


def learned_preconditioner(model: torch.nn.Module, omega: float | None = None) -> LinearOperator:
    r"""The SPD preconditioner :math:`M^{-1} = M_\theta^{-1} + \omega\,\mathrm{diag}(A)^{-1}` as a LinearOperator.

    Parameters
    ----------
    model : torch.nn.Module
        Symmetric positive semi-definite by construction (tied factors: ``symmetric=True``), on a problem of any
        dimension; or a :class:`WithJacobi` around one, which is already SPD and is used as it is.
    omega : float, optional
        The weight :math:`\omega > 0` of the Jacobi term added to a bare model (default 0.5); must be None for a
        :class:`WithJacobi`.

    Returns
    -------
    scipy.sparse.linalg.LinearOperator
        One application is one call of ``apply_columns`` (:math:`O(n)` for a ``DDAttention``), for a vector or a
        block of columns.

    Examples
    --------
    >>> import numpy as np
    >>> from ddlib.problem import Problem
    >>> from ddlib.decomposition import Decomposition
    >>> from ddlib.attention import DDAttention, Structure, schwarz_init
    >>> P = Problem(63)
    >>> exact = schwarz_init(DDAttention(Structure(Decomposition(P, 8, 1)), 7, symmetric=True))   # A^{-1}
    >>> ev = np.linalg.eigvals(learned_preconditioner(exact, 0.7) @ P.matrix().toarray())
    >>> lam = P.eigenvalues()                                  # M^{-1}A = I + 0.7 h^2/2 A, exactly
    >>> bool(np.allclose(np.sort(ev.real), 1 + 0.7 * P.h**2 / 2 * lam, rtol=1e-10))
    True
    """
    if not getattr(model, "symmetric", False):
        raise ValueError(f"model must have tied factors (symmetric=True); got {type(model).__name__} "
                         f"with symmetric={getattr(model, 'symmetric', None)}")
    if isinstance(model, WithJacobi):
        if omega is not None:
            raise ValueError(f"omega must be None for a model with its own Jacobi term (WithJacobi, omega = "
                             f"{model.omega_value():g}); got {omega!r}")
        op = model
    else:
        op = WithJacobi(model, 0.5 if omega is None else omega)
    n = op.n

    def apply(X):
        X = np.ascontiguousarray(np.asarray(X, dtype=np.float64).reshape(n, -1))
        with torch.no_grad():
            return op.apply_columns(torch.from_numpy(X).to(op.dtype)).double().numpy()

    return LinearOperator((n, n), matvec=lambda x: apply(x)[:, 0], matmat=apply, rmatvec=lambda x: apply(x)[:, 0],
                          dtype=np.float64)


def pcg_row(A, M, b, *, n: int, preconditioner: str, rtol: float = 1e-8, kappa_rtol: float = 1e-10,
            dense_max: int = 511) -> dict:
    r"""PCG iterations to ``rtol`` and :math:`\kappa(M^{-1}A)` for one preconditioner (``M=None``: none).

    One PCG run to ``kappa_rtol`` from zero; ``iterations`` is the first step with
    :math:`\|r\|_2\le\mathrm{rtol}\|b\|_2` (-1 if never). :math:`\kappa` is the dense spectrum's ratio when
    ``n <= dense_max`` (``method="dense"``), else the Ritz values' ratio of the same run (``"lanczos"``, a lower
    estimate; :func:`ddlib.krylov.pcg_spectrum`). The row also carries ``lambda_min`` and ``lambda_max``.
    """
    sp_ = pcg_spectrum(A, M, b, rtol=rtol, kappa_rtol=kappa_rtol, dense_max=dense_max, maxiter=20 * n)
    return {"n": int(n), "preconditioner": preconditioner, "kappa": sp_["kappa"], "iterations": sp_["iterations"],
            "lambda_min": sp_["lambda_min"], "lambda_max": sp_["lambda_max"], "method": sp_["method"],
            "converged": sp_["converged"]}


def _check_sizes(ns, m: int, least: int = 1) -> list[int]:
    """``ns`` as ints, each ``n = N m - 1`` with ``N >= least`` (1D sizes at fixed :math:`H/h = m`)."""
    ns = [check_int("ns[i]", v, low=3) for v in np.atleast_1d(ns)]
    for v in ns:
        if (v + 1) % m or (v + 1) // m < least:
            raise ValueError(f"every n must satisfy (n + 1) % m == 0 with at least {least} subdomains for m = {m}; "
                             f"got n = {v}")
    return ns


def pcg_study(ns, *, m: int = 32, delta: int = 1, local_rank: int = 4, modes_per_subdomain: int = 2,
              samples_per_mode: int = 1, epochs: int = 300, lr: float = 1e-2, init_scale: float = 0.01,
              omega: float = 0.5, seed: int = 0, rtol: float = 1e-8, dense_max: int = 511,
              workers: int | None = None) -> dict:
    r"""PCG for :math:`Au = b` (1D) at fixed :math:`H/h = m` with the five :data:`PRECONDITIONERS`, per ``n``.

    For each ``n`` in ``ns`` (``m`` must divide ``n + 1``; ``N = (n+1)/m``):

    ``none``
        plain CG;
    ``as1``, ``as2``
        classical additive Schwarz (:func:`ddlib.schwarz.schwarz_preconditioner`, ``weighting="none"``), one level
        and two levels with the hat coarse space;
    ``learned_dd``
        :func:`learned_preconditioner` of a tied DD attention (``DDSpec(N, delta, local_rank, symmetric=True)``:
        a learned coarse block of full rank, :math:`D_i^{1/2}` weights with multiplicity scaling), trained on the
        Fourier band ``K = modes_per_subdomain * N`` with ``samples_per_mode * K`` samples;
    ``learned_global``
        the same for a tied global attention whose rank gives about the DD parameter count,
        :math:`r_g = \max(1, \mathrm{round}(P_{DD}/n))`.

    Both learned operators start from :math:`\mathcal N(0, s^2)` factors, ``s = init_scale``; whatever the band data
    never touch keeps its initial value, so ``s`` sets the size of the untrained high-frequency part of
    :math:`M_\theta^{-1}`. All ``2 len(ns)`` runs go through one :func:`ddlib.sweep.run_sweep` (cached, on
    ``workers`` local processes or the scheduler of ``$DDLIB_SCHEDULER``). The right-hand side ``b`` is standard
    normal from ``numpy.random.default_rng(seed)`` (the same for all five).

    Returns
    -------
    dict
        ``rows`` (dicts of :func:`pcg_row` plus ``params``, ``N``, ``K`` and ``train_seconds``: the training seconds of
        a learned operator, the measured set-up seconds (factorisations) of ``as1``/``as2``, 0 for ``none``; and
        ``rank`` for ``learned_global``), ``models`` (``n -> {"learned_dd": TrainResult, "learned_global":
        TrainResult}``) and ``settings``.
    """
    m = check_int("m", m, low=2)
    ns = _check_sizes(ns, m)
    check_int("modes_per_subdomain", modes_per_subdomain, low=1)
    check_int("samples_per_mode", samples_per_mode, low=1)
    seed = check_int("seed", seed, low=0)
    settings = dict(m=m, delta=delta, local_rank=local_rank, modes_per_subdomain=modes_per_subdomain,
                    samples_per_mode=samples_per_mode, epochs=epochs, lr=lr, init_scale=init_scale, omega=omega,
                    seed=seed, rtol=rtol, dense_max=dense_max)
    configs = [_band_configs(n, m, settings) for n in ns]
    outcomes = run_sweep([c for pair in configs for c in pair[:2]], workers=workers)
    for o in outcomes:
        if not o.ok:
            raise RuntimeError(f"{o.config.label} at n = {o.config.n} did not train: {o.error}")
    rows, models = [], {}
    for j, n in enumerate(ns):
        fits = {"learned_dd": outcomes[2 * j].result, "learned_global": outcomes[2 * j + 1].result}
        models[n] = fits
        rows += _band_rows(n, m, fits, configs[j][2], settings)
    return {"rows": rows, "models": models, "settings": settings}


def _band_configs(n: int, m: int, s: dict) -> tuple[TrainConfig, TrainConfig, int]:
    """The two training runs of :func:`pcg_study` at one ``n`` and the rank of the global operator."""
    N, problem = (n + 1) // m, Problem(n)
    K = min(s["modes_per_subdomain"] * N, n // 2)
    dd = DDSpec(N, s["delta"], s["local_rank"], symmetric=True)
    base = TrainConfig(model=dd, n=n, K=K, samples=s["samples_per_mode"] * K, epochs=s["epochs"], lr=s["lr"],
                       init_scale=s["init_scale"], seed=s["seed"], eval_points=2)
    rank_g = int(min(n, max(1, round(dd.parameter_count(problem) / n))))
    return base, base.replace(model=GlobalSpec(rank_g, symmetric=True)), rank_g


def _band_rows(n: int, m: int, fits: dict, rank_g: int, s: dict) -> list[dict]:
    """The five rows of :func:`pcg_study` at one ``n`` from its two trained operators."""
    problem = fits["learned_dd"].config.problem
    A, dec = problem.matrix(), Decomposition(problem, (n + 1) // m, s["delta"])
    b = np.random.default_rng(s["seed"]).standard_normal(n)
    precs = {"none": (None, 0, 0.0)}
    for name, coarse in (("as1", "none"), ("as2", "hat")):
        t0 = time.perf_counter()
        precs[name] = (schwarz_preconditioner(dec, A, weighting="none", coarse=coarse), 0, time.perf_counter() - t0)
    for name, fit in fits.items():
        precs[name] = (learned_preconditioner(fit.model, s["omega"]), fit.model.num_parameters(),
                       fit.final["seconds"])
    rows = []
    for name in PRECONDITIONERS:
        M, params, secs = precs[name]
        row = pcg_row(A, M, b, n=n, preconditioner=name, rtol=s["rtol"], dense_max=s["dense_max"])
        row.update(params=int(params), train_seconds=float(secs), N=dec.N, K=fits["learned_dd"].config.K)
        if name == "learned_global":
            row["rank"] = rank_g
        rows.append(row)
    return rows


def band_oracle_kappa(problem: Problem, omega: float, K: int) -> float:
    r"""Reference :math:`\kappa` of :func:`learned_preconditioner` if the learned part were exactly :math:`A^{-1}` on
    the band :math:`\max_j k_j \le K` and 0 on the other modes (closed form, constant coefficient, any dimension).

    With the constant diagonal :math:`\mathrm{diag}(A) = 2d/h^2` the eigenvalues of :math:`M^{-1}A` are
    :math:`1 + c\lambda_{\mathbf k}` on the band and :math:`c\lambda_{\mathbf k}` above, :math:`c = \omega h^2/(2d)`.

    Examples
    --------
    >>> from ddlib.problem import Problem
    >>> round(band_oracle_kappa(Problem(255), 0.5, 16), 6)   # (1 + 2 w sin^2(16 pi h/2)) / (2 w sin^2(17 pi h/2))
    93.125916
    """
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a ddlib.problem.Problem; got {type(problem).__name__}")
    problem._require_constant("band_oracle_kappa")
    K = check_int("K", K, low=0, high=problem.m)
    omega = check_positive("omega", omega)
    modes = np.indices(problem.shape).reshape(problem.dim, -1).T + 1
    lam = problem.eigenvalues(modes)
    c = omega * problem.h**2 / (2 * problem.dim)
    mu = np.where(modes.max(axis=1) <= K, 1 + c * lam, c * lam)
    return float(mu.max() / mu.min())


def growth(rows: list[dict], preconditioner: str, key: str = "iterations") -> dict:
    r"""How ``key`` grows with ``n`` for one preconditioner in the rows of :func:`pcg_study` or :func:`shared_study`.

    Returns ``n`` and ``values`` (sorted by ``n``), ``ratio`` (last over first value), ``exponent``, the
    least-squares slope :math:`p` of :math:`\log v = p\log n + c` (:math:`p \approx 0`: bounded; :math:`p = 1`:
    linear), and ``endpoint_exponent``, :math:`\log(v_{last}/v_{first})/\log(n_{last}/n_{first})`, the growth
    between the smallest and the largest ``n``.

    Examples
    --------
    >>> rows = [{"n": n, "preconditioner": "x", "iterations": n // 8} for n in (64, 256, 1024)]
    >>> growth(rows, "x")["endpoint_exponent"]
    1.0
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


def pivot(rows: list[dict], key: str = "iterations") -> list[dict]:
    """The rows of a study as one row per ``n``: ``{"n": n, preconditioner: value of key, ...}`` (for a table).

    Examples
    --------
    >>> pivot([{"n": 7, "preconditioner": "as2", "iterations": 9}, {"n": 7, "preconditioner": "as1", "iterations": 12}])
    [{'n': 7, 'as2': 9, 'as1': 12}]
    """
    out: dict = {}
    for r in rows:
        out.setdefault(r["n"], {"n": r["n"]})[r["preconditioner"]] = r[key]
    return [out[n] for n in sorted(out)]


# ------------------------------------------------------------------- the preconditioning-trained shared operator
#: The preconditioners of :func:`shared_study` (F11 rows), in order: one- and two-level additive Schwarz, Jacobi plus
#: the coarse level, the truncated-element oracle of the theory, and the trained shared operator.
SHARED_PRECONDITIONERS = ("as1", "as2", "jacobi_coarse", "oracle", "learned_dd_shared")


def shared_spec(N: int, delta: int, local_rank: int, *, coarse_inverse: str = "galerkin",
                omega: float = 0.5) -> DDSpec:
    r"""The learned preconditioner's class: tied (``symmetric``), ``shared`` local factors, the Galerkin coarse level
    (``coarse_inverse="galerkin"``: a fixed block, applied as exact sparse solves with :math:`A_0`; ``"learned"`` is
    the ablation) and a learned Jacobi weight :math:`\omega = e^\theta` (initial value ``omega``, :class:`WithJacobi`):

    .. math::  M_\theta = \Phi A_0^{-1}\Phi^T + w\,s\sum_i R_i^TD_i^{1/2}K_{c(i)}K_{c(i)}^TD_i^{1/2}R_i
               + e^\theta\,\mathrm{diag}(A)^{-1},

    :math:`c(i)` the position class of box ``i`` (1D: first, interior or last), :math:`s = (H/h)\,h^2/w` the scale
    that makes the local blocks independent of ``n`` at fixed :math:`H/h`. Symmetric positive definite for every
    parameter value; in 1D :math:`(3m + 4\delta - 1)\,r + 1` parameters whatever ``N``.

    Examples
    --------
    >>> from ddlib.problem import Problem
    >>> shared_spec(8, 1, 4).parameter_count(Problem(255)), (3 * 32 + 4 - 1) * 4 + 1
    (397, 397)
    """
    return DDSpec(N, delta, local_rank, symmetric=True, shared=True, coarse_inverse=coarse_inverse,
                  diagonal="learned", omega=omega)


def preconditioner_config(m: int = 32, delta: int = 1, local_rank: int = 4, *, n_train: int = 255,
                          samples: int = 32, validation_samples: int = 64, epochs: int = 400, lr: float = 1e-2,
                          init_scale: float = 0.1, seed: int = 0, steps: int = 8, solver: str = "steepest_descent",
                          coarse_inverse: str = "galerkin", eval_points: int = 6) -> TrainConfig:
    r"""The training run of a learned preconditioner (1D): :func:`shared_spec` at ``n_train`` (``m`` must divide
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
                     corrected: bool = False) -> WithJacobi:
    r"""The theory's member of the class at rank ``r``: the exact coarse level, the best rank-``r`` part of every
    element inverse and a fixed Jacobi term,

    .. math::  M_r = \Phi A_0^{-1}\Phi^T + \sum_E R_E^T\,V_r(\Lambda_r^{-1} - s\,c\,I)V_r^T\,R_E
               + \omega\,\mathrm{diag}(A)^{-1}, \qquad c = \omega\,\tfrac{h^2}{2d},

    :math:`V_r, \Lambda_r` the eigenvectors and eigenvalues of the ``r`` smallest eigenvalues of :math:`A_E` (the
    Dirichlet matrix of the nodes strictly inside coarse element ``E``), :math:`s = 0` (:math:`[A_E^{-1}]_r`), or
    :math:`s = 1` with ``corrected`` (the Jacobi term taken off the kept modes, so that :math:`M_rA` is the identity on
    them when the levels decouple; entries :math:`\lambda^{-1} - c` clipped at 0). In 1D the levels do decouple
    (:math:`A^{-1} = \Phi A_0^{-1}\Phi^T + \sum_E R_E^TA_E^{-1}R_E`), which the bounds of :func:`kappa_upper_bound`
    use. It is a shared, tied DD attention (:func:`ddlib.attention.schwarz_init` with ``"element"``; every element
    lies inside its box) built at ``N = 4`` boxes per direction and transferred to ``dec``
    (:meth:`ddlib.attention.DDAttention.transfer_to`), so it costs :math:`O(n)` at any ``n``. Constant coefficient,
    the interface split and ``delta < H/(2h)`` (the shared factors need them).

    Examples
    --------
    >>> import numpy as np
    >>> from ddlib.problem import Problem
    >>> dec = Decomposition(Problem(31), N=4, delta=1)
    >>> full = truncated_oracle(dec, 7, omega=0.5).dense().numpy()        # r = m - 1: every element mode kept
    >>> bool(np.allclose(full, dec.problem.inverse() + 0.5 * dec.h**2 / 2 * np.eye(31), atol=1e-14))
    True
    """
    if not isinstance(dec, Decomposition):
        raise ValueError(f"dec must be a ddlib.decomposition.Decomposition; got {type(dec).__name__}")
    if not dec.problem.constant or dec.box is None:
        raise ValueError("dec must split a constant-coefficient problem by the interface rule (shared factors)")
    small = Decomposition(Problem((4 * dec.box - 1,) * dec.dim), 4, dec.delta)
    r = check_int("local_rank", local_rank, low=1, high=small.n_max)
    omega = check_positive("omega", omega)
    model = schwarz_init(DDAttention(Structure(small), r, symmetric=True, shared=True, learned_coarse=False))
    if corrected:
        _correct_oracle(model, omega)
    op = WithJacobi(model, omega)
    return op.transfer_to(Structure(dec)) if dec.N != small.N else op


def _correct_oracle(model: DDAttention, omega: float) -> None:
    r"""Set the shared factors of an element oracle to :math:`V_r(\Lambda_r^{-1} - c)_+^{1/2}`, weighted and scaled
    as :func:`ddlib.attention.schwarz_init` does (one representative box per position class)."""
    dec, s, r = model.decomposition, model.structure, model.local_rank
    A = dec.problem.matrix()
    c = omega / float(A.diagonal()[0])                     # omega diag(A)^{-1}, constant for a constant coefficient
    scale = model.weight * model.local_scale
    classes, elements = model.cls.numpy(), dec.elements()
    K = np.zeros(tuple(model.K.shape))
    for k in range(K.shape[0]):
        i = int(np.flatnonzero(classes == k)[0])
        nodes = elements[i]
        lam, V = np.linalg.eigh(A[nodes][:, nodes].toarray())
        j = min(r, lam.size)
        real = np.flatnonzero(dec.mask[i])
        slots = real[np.searchsorted(dec.padded_indices[i, real], nodes)]
        K[k, slots, :j] = V[:, :j] * np.sqrt(np.maximum(1 / lam[:j] - c, 0) / scale) / s.wr[i, slots, None]
    with torch.no_grad():
        model.K.copy_(torch.as_tensor(K))


def corrected_omega(m: int) -> float:
    r"""The Jacobi weight at which the Jacobi term alone inverts the top element mode: :math:`c\,\lambda^E_{m-1} = 1`
    with :math:`c = \omega h^2/2` and :math:`\lambda^E_{m-1} = \frac{4}{h^2}\cos^2\frac{\pi}{2m}` (1D), so
    :math:`\omega = 1/(2\cos^2\frac{\pi}{2m})`. The corrected oracle (:func:`truncated_oracle`) with this weight and
    full element rank keeps :math:`(\lambda^{-1} - c)_+ \ge 0` on every element mode.

    Examples
    --------
    >>> round(corrected_omega(32), 6), round(corrected_omega(2), 12)    # cos^2(pi/4) = 1/2
    (0.501207, 1.0)
    """
    return float(1.0 / (2 * np.cos(np.pi / (2 * check_int("m", m, low=2))) ** 2))


def _theta(m: int, local_rank: int) -> float:
    return (check_int("local_rank", local_rank, low=0) + 1) * np.pi / (2 * check_int("m", m, low=2))


def kappa_lower_bound(m: int, local_rank: int) -> float:
    r"""A lower bound on :math:`\kappa(MA)` for *every* preconditioner of the form :math:`M = P + c\,I` with :math:`P`
    symmetric positive semi-definite of rank at most :math:`N(r + 1) - 1` and :math:`c > 0` (in 1D, any member of the
    learned class at local rank ``r``, whatever its parameters):

    .. math::  \kappa(MA) \ge \cot^2\theta_r, \qquad \theta_r = \frac{(r+1)\pi}{2m},

    independent of ``n`` (1 when :math:`\theta_r \ge \pi/4`). Proof: on the null space :math:`X` of :math:`P`
    (dimension at least :math:`n - k`, :math:`k = N(r+1) - 1`) the Rayleigh quotient of :math:`MA`,
    :math:`x^TMx/x^TA^{-1}x`, is :math:`c\,x^Tx/x^TA^{-1}x`. By Courant-Fischer
    :math:`\max_X x^TA^{-1}x/x^Tx \ge 1/\lambda_{k+1}(A)` and :math:`\min_X x^TA^{-1}x/x^Tx \le 1/\lambda_{n-k}(A)`,
    so :math:`\lambda_{\min}(MA) \le c\lambda_{k+1}(A)` and :math:`\lambda_{\max}(MA) \ge c\lambda_{n-k}(A)`. With
    :math:`(k+1)h = N(r+1)h = (r+1)/m`: :math:`\lambda_{k+1} = \frac{4}{h^2}\sin^2\theta_r`,
    :math:`\lambda_{n-k} = \frac{4}{h^2}\cos^2\theta_r`.

    Examples
    --------
    >>> import numpy as np
    >>> bool(np.isclose(kappa_lower_bound(32, 4), 1 / np.tan(5 * np.pi / 64) ** 2)), kappa_lower_bound(32, 16)
    (True, 1.0)
    """
    theta = _theta(m, local_rank)
    return float(max(1.0, 1.0 / np.tan(theta) ** 2)) if theta < np.pi / 2 else 1.0


def kappa_upper_bound(m: int, local_rank: int, omega: float = 0.5) -> float:
    r"""An upper bound on :math:`\kappa` of the truncated oracle (:func:`truncated_oracle`, 1D), independent of ``n``:

    .. math::  \kappa(M_rA) \le \frac{1 + 2\omega}{\min(1,\ 2\omega\sin^2\theta_r)}.

    Proof: :math:`x^TA^{-1}x = x^T\Phi A_0^{-1}\Phi^Tx + \sum_E\sum_k (v_k^Tx_E)^2/\lambda^E_k` (the exact 1D
    decomposition, :math:`v_k, \lambda^E_k` the eigenpairs of :math:`A_E`); :math:`M_r` keeps the terms
    :math:`k \le r` and adds :math:`c|x|^2 \ge c\sum_E\sum_{k>r}(v_k^Tx_E)^2 \ge c\lambda^E_{r+1}\sum_E
    \sum_{k>r}(v_k^Tx_E)^2/\lambda^E_k`, with :math:`c\lambda^E_{r+1} = 2\omega\sin^2\theta_r`; and
    :math:`x^TM_rx \le x^TA^{-1}x + c|x|^2 \le (1 + c\lambda_{\max}(A))\,x^TA^{-1}x`, :math:`c\lambda_{\max} < 2\omega`.

    Examples
    --------
    >>> import numpy as np
    >>> bool(np.isclose(kappa_upper_bound(32, 4, 0.5), 2 / np.sin(5 * np.pi / 64) ** 2)), kappa_upper_bound(8, 7)
    (True, 2.0)
    """
    omega = check_positive("omega", omega)
    theta = _theta(m, local_rank)
    return float((1 + 2 * omega) / min(1.0, 2 * omega * np.sin(min(theta, np.pi / 2)) ** 2))


def kappa_for_iterations(iterations: int, rtol: float = 1e-8) -> float:
    r"""The largest :math:`\kappa` whose CG bound (:func:`ddlib.krylov.chebyshev_iterations`) asks for at most
    ``iterations`` steps: :math:`2q^k \le \mathrm{rtol}` with :math:`q = (\sqrt\kappa - 1)/(\sqrt\kappa + 1)` gives
    :math:`q^* = (\mathrm{rtol}/2)^{1/k}` and :math:`\kappa^* = \big((1 + q^*)/(1 - q^*)\big)^2`.

    Examples
    --------
    >>> from ddlib.krylov import chebyshev_iterations
    >>> k = kappa_for_iterations(15)
    >>> chebyshev_iterations(k * (1 - 1e-9)) <= 15 < chebyshev_iterations(k * (1 + 1e-9))
    True
    """
    k = check_int("iterations", iterations, low=1)
    rtol = check_positive("rtol", rtol)
    if rtol >= 1:
        raise ValueError(f"rtol must be in (0, 1); got {rtol!r}")
    q = (rtol / 2) ** (1.0 / k)
    return float(((1 + q) / (1 - q)) ** 2)


def rank_theory(m: int, ranks, *, delta: int = 1, omega: float = 0.5, N: int = 8, rtol: float = 1e-8) -> list[dict]:
    r"""What a rank-``r`` local block plus Jacobi plus the exact coarse level can reach on subdomains of ``m`` nodes
    (1D).

    One dict per ``r`` in ``ranks``: ``n`` (:math:`Nm - 1`), ``theta`` (:math:`\theta_r`), ``kappa_lower``
    (:func:`kappa_lower_bound`, any member of the class), ``kappa_upper`` (:func:`kappa_upper_bound`, the oracle),
    ``kappa_oracle`` with ``lambda_min_oracle`` and ``lambda_max_oracle`` (the oracle's dense spectrum at ``n``; it
    does not depend on ``n`` beyond the boundary subdomains, which the tests check), and the iterations the CG bound
    implies, ``iterations_predicted`` = :func:`ddlib.krylov.chebyshev_iterations` of ``kappa_oracle`` and
    ``iterations_lower`` of ``kappa_lower`` (:math:`\approx\frac12\sqrt\kappa\ln(2/\mathrm{rtol})`).
    """
    m, N = check_int("m", m, low=2), check_int("N", N, low=4)
    dec = Decomposition(Problem(N * m - 1), N, delta)
    A = dec.problem.matrix()
    out = []
    for r in ranks:
        r = check_int("ranks[i]", r, low=1, high=dec.n_max)
        ev = dense_spectrum(A, learned_preconditioner(truncated_oracle(dec, r, omega)))
        kappa = float(ev[-1] / ev[0])
        lower = kappa_lower_bound(m, r)
        out.append({"local_rank": r, "n": dec.n, "theta": _theta(m, r), "kappa_lower": lower,
                    "kappa_upper": kappa_upper_bound(m, r, omega), "kappa_oracle": kappa,
                    "lambda_min_oracle": float(ev[0]), "lambda_max_oracle": float(ev[-1]),
                    "iterations_predicted": chebyshev_iterations(kappa, rtol),
                    "iterations_lower": chebyshev_iterations(lower, rtol)})
    return out


def stored_numbers(op) -> int:
    r"""Numbers a preconditioner keeps beyond the grid and :math:`A` (its memory in float64 words).

    * Classical Schwarz (:class:`ddlib.schwarz.SchwarzPreconditioner`): the factors of all local matrices
      (``solver.nbytes // 8``: for a tridiagonal :math:`A` the :math:`LDL^T` factors of the stacked padded blocks,
      :math:`2N^dn_{max} - 1` numbers)
      plus the nonzeros of the coarse LU factors.
    * A :class:`ddlib.attention.DDAttention`: its parameters (shared factors do not grow with ``n``) plus what its
      fixed coarse block holds: the nonzeros of the LU factors of :math:`A_0` for the exact solve (in 1D
      :math:`A_0` is tridiagonal, about :math:`4N` numbers), or the fixed truncated factors.
    * A :class:`WithJacobi`: its model's numbers plus one, :math:`\omega`.

    Examples
    --------
    >>> from ddlib.problem import Problem
    >>> from ddlib.decomposition import Decomposition
    >>> from ddlib.schwarz import schwarz_preconditioner
    >>> dec = Decomposition(Problem(63), N=4, delta=1)
    >>> stored_numbers(schwarz_preconditioner(dec, coarse="none")), 2 * 4 * dec.n_max - 1   # d, e of the stacked LDL^T
    (143, 143)
    """
    if isinstance(op, SchwarzPreconditioner):
        lu = op.coarse._lu
        return op.overlapping.solver.nbytes // 8 + (int(lu.L.nnz + lu.U.nnz) if lu is not None else 0)
    if isinstance(op, WithJacobi):
        return stored_numbers(op.model) + 1
    if isinstance(op, DDAttention):
        fixed = 0
        if op._lu is not None:
            fixed = int(op._lu.L.nnz + op._lu.U.nnz)
        elif op.coarse_rank and not op.learned_coarse:
            fixed = int(op.Q0_fixed.numel() + op.K0_fixed.numel())
        return int(op.num_parameters()) + fixed
    raise ValueError(f"op must be a SchwarzPreconditioner, a DDAttention or a WithJacobi; got {type(op).__name__}")


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


# ------------------------------------------------------------------------------------------------------ studies
def _base(model):
    """The DD attention inside a :class:`WithJacobi` (or the model itself)."""
    return model.model if isinstance(model, WithJacobi) else model


def _moved(model, dec: Decomposition, omega: float) -> WithJacobi:
    """``model`` on the grid of ``dec`` with its Jacobi term: itself on its own grid, else transferred with its own
    weights and coarse space (:meth:`ddlib.attention.DDAttention.transfer_to`); a bare model gets the weight
    ``omega``."""
    if model.decomposition.problem.shape != dec.problem.shape:
        s = model.structure
        model = model.transfer_to(Structure(dec, s.partition, s.weighting, s.coarse))
    return model if isinstance(model, WithJacobi) else WithJacobi(model, omega)


def _shared_operators(dec: Decomposition, model, local_rank: int, omega: float) -> dict:
    """name -> (LinearOperator, stored numbers, local rank) for :data:`SHARED_PRECONDITIONERS` at one grid."""
    A, ops = dec.problem.matrix(), {}
    for name, coarse in (("as1", "none"), ("as2", "hat")):
        S = schwarz_preconditioner(dec, A, weighting="none", coarse=coarse)
        ops[name] = (S, stored_numbers(S), int(dec.n_max))
    jc = WithJacobi(DDAttention(Structure(dec), 0, symmetric=True, learned_coarse=False), omega)
    ops["jacobi_coarse"] = (learned_preconditioner(jc), stored_numbers(jc), 0)
    orc = truncated_oracle(dec, local_rank, omega)
    ops["oracle"] = (learned_preconditioner(orc), stored_numbers(orc), int(local_rank))
    if model is not None:
        mod = _moved(model, dec, omega)
        ops["learned_dd_shared"] = (learned_preconditioner(mod), stored_numbers(mod), int(mod.local_rank))
    return ops


def _measured(A, b, dec: Decomposition, name: str, op: tuple, rtol: float, dense_max: int) -> dict:
    """One row of :func:`shared_study` and :func:`rank_study`."""
    M, stored, rank = op
    row = pcg_row(A, M, b, n=dec.n, preconditioner=name, rtol=rtol, dense_max=dense_max)
    row.update(local_rank=int(rank), stored=int(stored), stored_per_node=stored / dec.n,
               apply_seconds=apply_seconds(M, dec.n), N=dec.N)
    return row


def _shared_grid(n: int, m: int, delta: int, seed: int) -> tuple[Decomposition, object, np.ndarray]:
    """The 1D decomposition at ``n`` with ``H/h = m``, its matrix and the right-hand side of the studies."""
    dec = Decomposition(Problem(n), (n + 1) // m, delta)
    return dec, dec.problem.matrix(), np.random.default_rng(check_int("seed", seed, low=0)).standard_normal(n)


def shared_study(model, ns, *, m: int = 32, delta: int = 1, local_rank: int | None = None, omega: float = 0.5,
                 seed: int = 0, rtol: float = 1e-8, dense_max: int = 511, names=SHARED_PRECONDITIONERS) -> list[dict]:
    r"""PCG for :math:`Au = b` (1D) at fixed :math:`H/h = m` for the :data:`SHARED_PRECONDITIONERS`, per ``n``.

    ``model`` is one trained shared operator (:func:`shared_spec`; a :class:`WithJacobi` around a shared
    ``DDAttention``, or a bare one, which gets the Jacobi weight ``omega``), applied unchanged at every ``n`` by
    :meth:`ddlib.attention.DDAttention.transfer_to`; ``oracle`` is :func:`truncated_oracle` at its rank (or
    ``local_rank``), ``jacobi_coarse`` the same without local blocks, ``as1``/``as2`` classical additive Schwarz with
    exact local solves (``weighting="none"``). Every operator applies in :math:`O(n)`; no dense matrix is formed
    above ``dense_max``.

    Returns one row per ``(n, preconditioner)``: the keys of :func:`pcg_row` (``kappa`` dense up to ``dense_max``,
    else the Lanczos estimate of the PCG run) plus ``local_rank`` (``m + 2 delta``, the full subdomain, for exact
    local solves), ``stored`` and ``stored_per_node`` (:func:`stored_numbers`), ``apply_seconds``
    (:func:`apply_seconds`) and ``N``.
    """
    m = check_int("m", m, low=2)
    ns = _check_sizes(ns, m, least=4)
    if model is not None and not (isinstance(_base(model), DDAttention) and _base(model).shared):
        raise ValueError("model must be a shared DDAttention (shared_spec), or a WithJacobi around one, or None")
    r = local_rank if local_rank is not None else (model.local_rank if model is not None else None)
    r = check_int("local_rank", r, low=1)
    names = [check_choice("names[i]", v, SHARED_PRECONDITIONERS) for v in names]
    rows = []
    for n in ns:
        dec, A, b = _shared_grid(n, m, delta, seed)
        ops = _shared_operators(dec, model, r, omega)
        rows += [_measured(A, b, dec, name, ops[name], rtol, dense_max) for name in names if name in ops]
    return rows


def rank_study(models: dict, n: int, *, m: int = 32, delta: int = 1, omega: float = 0.5, seed: int = 0,
               rtol: float = 1e-8, dense_max: int = 511) -> list[dict]:
    r"""PCG at one grid size ``n`` (1D) against the local rank: for every ``r -> model`` in ``models`` (trained shared
    operators) the row of :func:`truncated_oracle` at rank ``r`` and of the trained operator, after one row of
    two-level additive Schwarz; the row keys of :func:`shared_study`."""
    m = check_int("m", m, low=2)
    (n,) = _check_sizes([n], m, least=4)
    dec, A, b = _shared_grid(n, m, delta, seed)
    S = schwarz_preconditioner(dec, A, weighting="none", coarse="hat")
    rows = [_measured(A, b, dec, "as2", (S, stored_numbers(S), dec.n_max), rtol, dense_max)]
    for r, model in sorted(models.items()):
        orc, mod = truncated_oracle(dec, r, omega), _moved(model, dec, omega)
        rows.append(_measured(A, b, dec, "oracle", (learned_preconditioner(orc), stored_numbers(orc), r), rtol,
                              dense_max))
        rows.append(_measured(A, b, dec, "learned_dd_shared", (learned_preconditioner(mod), stored_numbers(mod),
                                                                mod.local_rank), rtol, dense_max))
    return rows


def member_comparison(run: TrainResult, *, omega: float = 0.5, seed: int = 0) -> dict:
    r"""A trained shared operator beside two members of its class at its rank, on its training grid (1D).

    ``run`` is a finished training run of :func:`preconditioner_config`. Returns ``local_rank`` and, for ``learned``
    (the trained operator), ``oracle`` (:func:`truncated_oracle` with weight ``omega``) and ``corrected`` (the same
    with ``corrected=True`` and the weight :func:`corrected_omega`), a dict each: the keys of :func:`pcg_row`
    (dense spectrum: ``kappa``, ``lambda_min``, ``lambda_max``, ``iterations``) and ``validation``, the validation
    error of the run's loss (:func:`probe_error`, which for the trained operator is its recorded
    ``error_validation``).
    """
    if not isinstance(run, TrainResult):
        raise ValueError(f"run must be a ddlib.training.TrainResult; got {type(run).__name__}")
    model, cfg = run.model, run.config
    dec, r = model.decomposition, int(model.local_rank)
    A, b = cfg.problem.matrix(), np.random.default_rng(check_int("seed", seed, low=0)).standard_normal(cfg.n)
    members = {"learned": model, "oracle": truncated_oracle(dec, r, omega),
               "corrected": truncated_oracle(dec, r, corrected_omega(dec.box), corrected=True)}
    out = {"local_rank": r}
    for name, op in members.items():
        row = pcg_row(A, learned_preconditioner(op), b, n=cfg.n, preconditioner=name, dense_max=cfg.n)
        out[name] = {**row, "validation": probe_error(op, cfg)}
    return out


#: Columns of :func:`selection_rows` and their headings.
SELECTION_COLUMNS = {"r": "r", "params": "parameters", "optimizer": "optimizer", "lr": "learning rate",
                     "init_scale": "initial scale", "val": "validation loss, seed mean", "omega": "learned ω",
                     "edge": "on the grid's edge"}


def selection_rows(selections) -> list[dict]:
    r"""One table row per tuned shared operator (:func:`ddlib.experiments.tuned_comparison`): rank, parameters, the
    chosen knobs, the mean validation loss over the seeds, the first seed's learned :math:`\omega` and the knobs
    whose chosen value is still on the edge of the extended grid ("–" for none)."""
    rows = []
    for sel in selections:
        run = sel.runs[0]
        rows.append({"r": run.model.local_rank, "params": sel.params,
                     "optimizer": _OPTIMIZER_NAMES[sel.chosen.get("optimizer", run.config.optimizer)],
                     "lr": sel.chosen.get("lr", run.config.lr),
                     "init_scale": sel.chosen.get("init_scale", run.config.init_scale),
                     "val": float(sel.final("error_validation").mean()), "omega": run.model.omega_value(),
                     "edge": ", ".join(_KNOB_NAMES[k] for k, v in sel.on_edge.items() if v) or "–"})
    return rows


#: Columns and formats of the table of :func:`rank_theory`.
THEORY_COLUMNS = {"local_rank": "r", "kappa_lower": "κ lower bound", "kappa_oracle": "κ of the oracle",
                  "kappa_upper": "κ upper bound", "iterations_predicted": "CG bound, iterations"}
THEORY_FORMATS = {k: ".2f" for k in ("kappa_lower", "kappa_oracle", "kappa_upper")}
#: Columns and formats of the table of :func:`optimizer_check`.
CHECK_COLUMNS = {"variant": "run", "epochs": "epochs", "validation": "validation loss", "kappa": "κ(MA)",
                 "iterations": "PCG iterations"}
CHECK_FORMATS = {"variant": lambda v: OPTIMIZER_VARIANT_LABELS[v], "validation": ".3e", "kappa": ".3g"}


def loss_table(n: int, labels: dict) -> tuple[dict, dict]:
    """Columns and formats of the table of :func:`compare_losses` measured at ``n``, the targets named by
    ``labels``."""
    return ({"name": "training target", "diverged": "grid points diverged", f"kappa_{n}": "κ(MA)",
             f"iterations_{n}": "PCG iterations"},
            {"name": lambda v: labels[v], f"kappa_{n}": ".3g", f"iterations_{n}": ".0f"})


#: The optimizer variants of :func:`optimizer_check`, in the order of its rows.
OPTIMIZER_VARIANTS = ("chosen", "longer", "gd", "lbfgs", "warm")


def oracle_start(config: TrainConfig, omega: float = 0.5) -> dict:
    r"""A warm start for :func:`ddlib.training.train` (``start=``): the parameters of ``config``'s shared model
    (:func:`shared_spec`, learned Jacobi weight) set to :func:`truncated_oracle` at its rank, :math:`\omega` =
    ``omega``; the operator it starts from is the oracle's."""
    model = config.build_model()
    if not (isinstance(model, WithJacobi) and model.learned and isinstance(model.model, DDAttention)
            and model.model.shared and not model.model.learned_coarse):
        raise ValueError("config.model must be a shared_spec with the Galerkin coarse level (shared factors, learned "
                         "Jacobi weight)")
    oracle = truncated_oracle(model.decomposition, int(model.local_rank), check_positive("omega", omega))
    return {**model.state_dict(), "model.K": oracle.model.K.detach().clone(),
            "log_omega": torch.tensor(math.log(omega), dtype=torch.float64)}


def optimizer_check(run: TrainResult, *, longer: int = 4, gd_lrs=(1e-2, 1e-1, 1.0), lbfgs_lr: float = 1.0,
                    omega: float = 0.5, seed: int = 0, workers: int | None = None) -> list[dict]:
    r"""Does more optimisation close the gap between a trained shared operator and the best member of its class?

    ``run`` is the tuned run (:func:`preconditioner_config`); the other rows train the same model on the same data
    (:data:`OPTIMIZER_VARIANTS`): ``longer`` times the epochs at the chosen knobs (``"longer"``); heavy-ball gradient
    descent, best of ``gd_lrs`` on the validation error (``"gd"``); L-BFGS at ``lbfgs_lr`` (``"lbfgs"``); and the
    chosen knobs from a warm start at :func:`truncated_oracle` (its factors, :math:`\omega` its Jacobi weight:
    ``"warm"``). Each row: ``variant``, ``optimizer``, ``lr``, ``epochs``, ``validation`` (the run's final
    ``error_validation``; infinite when every run of the variant diverged) and the :func:`pcg_row` keys at the
    training size with a dense spectrum (``kappa``, ``iterations``, ...).
    """
    if not isinstance(run, TrainResult):
        raise ValueError(f"run must be a ddlib.training.TrainResult; got {type(run).__name__}")
    cfg, longer = run.config, check_int("longer", longer, low=2)
    gd = [cfg.replace(optimizer="gd", lr=check_positive("gd_lrs[i]", lr)) for lr in gd_lrs]
    lbfgs = cfg.replace(optimizer="lbfgs", lr=check_positive("lbfgs_lr", lbfgs_lr))
    out = run_sweep([cfg.replace(epochs=longer * cfg.epochs), *gd, lbfgs], workers=workers)
    warm = train(cfg, start=oracle_start(cfg, omega), progress=False)
    best_gd = min(out[1:1 + len(gd)], key=lambda o: o.result.final["error_validation"] if o.ok else math.inf)
    results = {"chosen": run, "longer": out[0].result if out[0].ok else None,
               "gd": best_gd.result if best_gd.ok else None, "lbfgs": out[-1].result if out[-1].ok else None,
               "warm": warm}
    A, b = cfg.problem.matrix(), np.random.default_rng(check_int("seed", seed, low=0)).standard_normal(cfg.n)
    rows = []
    for name in OPTIMIZER_VARIANTS:
        res = results[name]
        c = res.config if res is not None else {"longer": out[0].config, "gd": gd[0], "lbfgs": lbfgs}[name]
        row = {"variant": name, "optimizer": c.optimizer, "lr": c.lr, "epochs": c.epochs,
               "validation": res.final["error_validation"] if res is not None else math.inf}
        if res is not None:
            row.update(pcg_row(A, learned_preconditioner(res.model), b, n=cfg.n, preconditioner=name,
                               dense_max=cfg.n))
        rows.append(row)
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
    validation error) and measure the trained operators as preconditioners (1D, :func:`shared_study`).

    ``"frobenius_l2"`` (white probes, Euclidean loss) estimates :math:`\|I - M_\theta A\|_F^2/n`,
    ``"frobenius_energy"`` :math:`\frac1n\sum_i(1-\mu_i)^2`, ``"richardson"`` :math:`\frac1n\sum_i(1-\mu_i)^{2k}`, and
    ``"pcg"``/``"steepest_descent"`` the energy error after ``k`` steps of those methods. A target whose
    configuration is ``base`` itself (``"steepest_descent"`` for :func:`preconditioner_config`) reads its runs from
    the cache.

    Returns one dict per target: ``name``, ``chosen`` knobs (None if every grid point diverged), ``diverged`` (grid
    points that diverged), ``selection`` (the :class:`ddlib.experiments.Selection` or None), and for each ``n`` in
    ``ns`` ``kappa_<n>``, ``iterations_<n>`` (NaN when nothing trained).
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
            model = sel.runs[0].model
            r = shared_study(model, [n], m=m, delta=model.decomposition.delta, names=("learned_dd_shared",))[0]
            row.update({key[0]: r["kappa"], key[1]: r["iterations"]})
        out.append(row)
    return out


def probe_error(model: torch.nn.Module, config: TrainConfig) -> float:
    r"""The validation error of ``config`` for any ``model`` on ``config.problem``: the mean over the validation
    probes of :math:`\|x_k - u\|/\|u\|` in the norm of the loss, :math:`x_k` the prediction of
    :func:`ddlib.training.predict` (``config.solver_steps`` steps of ``config.solver``). For a trained model it is the
    ``error_validation`` the tuned protocol selects on; for an oracle it says how far the training got from it."""
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig; got {type(config).__name__}")
    P = config.problem
    d = make_dataset("validation", P, config.validation_samples, config.K, config.seed, config.decay,
                     training=config.data)
    F, U = (torch.as_tensor(np.ascontiguousarray(a.T)) for a in (d.f, d.u))
    with torch.no_grad():
        R = predict(model, F, config.solver_steps, config.solver, P) - U
        return float((squared_norms(R, config.loss, P) / squared_norms(U, config.loss, P)).sqrt().mean())


class _WithOutliers(_Operator):
    r""":math:`M + V\,\mathrm{diag}(s)\,V^T`: a model with a few added symmetric positive directions."""

    def __init__(self, model: torch.nn.Module, V: torch.Tensor, s: torch.Tensor):
        super().__init__()
        self._setup(model.problem)
        self.model, self.V, self.s = model, V, s

    def apply_columns(self, F: torch.Tensor) -> torch.Tensor:
        return self.model.apply_columns(F) + self.V @ (self.s[:, None] * (self.V.T @ F))


def outlier_sensitivity(model: WithJacobi, config: TrainConfig, *, count: int = 3, weight: float = 100.0,
                        seed: int = 0) -> dict:
    r"""What the steepest-descent and the PCG training targets see of a few outlying eigenvalues.

    Adds ``count`` random orthonormal directions :math:`V` (seeded) with weight ``weight`` times the Jacobi scale
    :math:`J = \omega\max_p(\mathrm{diag}A)^{-1}_p` (:math:`\omega h^2/2` in 1D), :math:`M' = M + w\,J\,VV^T` (still
    SPD), and returns ``count``, ``weight``, ``kappa`` and ``kappa_outliers`` (dense) and, for ``solver`` in
    ``("steepest_descent", "pcg")``, ``<solver>`` and ``<solver>_outliers``: :func:`probe_error` with
    ``config.solver_steps`` steps of that solver. CG removes a few outlying eigenvalues in a few steps, so its error
    hardly moves while :math:`\kappa` grows; steepest descent's rate is set by :math:`\kappa`.
    """
    if not isinstance(model, WithJacobi):
        raise ValueError(f"model must be a WithJacobi (a preconditioner with its Jacobi term); got "
                         f"{type(model).__name__}")
    n = model.n
    count, weight = check_int("count", count, low=1, high=n), check_positive("weight", weight)
    g = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    V, _ = torch.linalg.qr(torch.randn(n, count, generator=g, dtype=torch.float64))
    jacobi = model.omega_value() * float(model.dinv.max())
    bent = _WithOutliers(model, V, torch.full((count,), weight * jacobi, dtype=torch.float64))
    check_dense((6, n, n), "outlier_sensitivity (the identity, M, M' and the four arrays of dense_spectrum)",
                "compare the preconditioners by pcg_row (matrix-free PCG, Lanczos estimates of kappa)")
    A = model.problem.matrix()
    out = {"count": count, "weight": weight}
    for tag, op in (("", model), ("_outliers", bent)):
        Md = op.dense().numpy()
        ev = dense_spectrum(A, 0.5 * (Md + Md.T))
        out[f"kappa{tag}"] = float(ev[-1] / ev[0])
        for solver in ("steepest_descent", "pcg"):
            out[f"{solver}{tag}"] = probe_error(op, config.replace(solver=solver))
    return out


# ------------------------------------------------------------------------------------------ the chapter's records
def _word(ok: bool, yes: str, no: str) -> str:
    """The verdict word of a check: ``yes`` when it holds, else ``no``."""
    return yes if bool(ok) else no


def _by(rows: list[dict], key: str = "preconditioner") -> dict:
    return {(r["n"], r[key]): r for r in rows}


def figure_numbers(rows: list[dict], old_rows: list[dict], rank_rows: list[dict], theory: list[dict], *, rank: int,
                   omega_learned: float) -> dict:
    r"""The numbers of figure F11 for the manifest: ``pcg`` (the rows of :func:`shared_study` and the per-``n``
    band-trained rows of :func:`pcg_study`, whose ``stored_per_node`` is their parameter count per node),
    ``pcg_rank`` (:func:`rank_study`), ``theory`` (:func:`rank_theory`), the headline ``rank`` and the learned
    :math:`\omega`. Plain values only."""
    keys = ("n", "preconditioner", "kappa", "iterations", "local_rank", "stored_per_node")
    pcg = [{k: r[k] for k in keys} for r in rows]
    for r in old_rows:  # the per-n band-trained operators (their Schwarz rows repeat the ones above)
        if r["preconditioner"] in ("learned_dd", "learned_global"):
            pcg.append({"n": r["n"], "preconditioner": r["preconditioner"], "kappa": r["kappa"],
                        "iterations": r["iterations"], "local_rank": r.get("rank", rank),
                        "stored_per_node": r["params"] / r["n"]})
    g = growth(rows, "learned_dd_shared")
    return {"pcg": pcg, "pcg_rank": [{k: r[k] for k in keys} for r in rank_rows],
            "theory": [{k: t[k] for k in ("local_rank", "kappa_lower", "kappa_oracle", "kappa_upper",
                                          "iterations_predicted")} for t in theory],
            "rank": int(rank), "omega_learned": float(omega_learned), "growth_exponent_learned": g["endpoint_exponent"]}


def _report_old(old: dict) -> dict:
    """The cautionary case: the per-``n`` band-trained operator of :func:`pcg_study` against two-level Schwarz and
    the band oracle (:func:`band_oracle_kappa`)."""
    rows, omega = old["rows"], old["settings"]["omega"]
    by = _by(rows)
    ns = sorted({r["n"] for r in rows})
    lo, hi = by[(ns[0], "learned_dd")], by[(ns[-1], "learned_dd")]
    band = {n: band_oracle_kappa(Problem(n), omega, by[(n, "learned_dd")]["K"]) for n in (ns[0], ns[-1])}
    exponent = growth(rows, "learned_dd")["endpoint_exponent"]
    return {"old_lo": ns[0], "old_hi": ns[-1], "old_it_lo": lo["iterations"], "old_it_hi": hi["iterations"],
            "old_as2_lo": by[(ns[0], "as2")]["iterations"], "old_as2_hi": by[(ns[-1], "as2")]["iterations"],
            "old_p_lo": lo["params"], "old_p_hi": hi["params"], "old_K_lo": lo["K"], "old_K_hi": hi["K"],
            "old_ka_lo": lo["kappa"], "old_ka_hi": hi["kappa"], "band_lo": band[ns[0]], "band_hi": band[ns[-1]],
            "old_over_band_lo": lo["kappa"] / band[ns[0]], "old_over_band_hi": hi["kappa"] / band[ns[-1]],
            "old_train_hi": hi["train_seconds"],
            "old_it_exp": round(exponent, 2) + 0.0,
            "old_bounded_text": _word(exponent <= BOUNDED_EXPONENT, "stay bounded", "grow")}


def _report_theory(theory: list[dict], rank: int) -> dict:
    """The bounds and the oracle at the headline rank, the smallest and the largest rank (:func:`rank_theory`)."""
    th = {t["local_rank"]: t for t in theory}
    head, lo, hi = th[rank], th[min(th)], th[max(th)]
    return {"th_lower": head["kappa_lower"], "th_oracle": head["kappa_oracle"], "th_upper": head["kappa_upper"],
            "th_its": head["iterations_predicted"], "th_lmin": head["lambda_min_oracle"],
            "th_lmax": head["lambda_max_oracle"], "th_oracle_rmax": hi["kappa_oracle"],
            "th_its_rmax": hi["iterations_predicted"], "th_lmin_rmax": hi["lambda_min_oracle"],
            "th_lmax_rmax": hi["lambda_max_oracle"], "th_lower_rmax": hi["kappa_lower"],
            "th_lower_rmin": lo["kappa_lower"],
            "th_oracle_rmin": lo["kappa_oracle"]}


def _report_study(rows: list[dict], theory_head: dict) -> dict:
    """The study against ``n`` (:func:`shared_study`): the counts at the ends, growth exponents, storage, application
    times, the trained operator against the theory and the other preconditioners, and the verdict words."""
    by = _by(rows)
    n_hi = max(r["n"] for r in rows)
    out = {}
    for name in sorted({r["preconditioner"] for r in rows}):
        g, gk = growth(rows, name), growth(rows, name, "kappa")
        out.update({f"{name}_it_lo": g["values"][0], f"{name}_it_hi": g["values"][-1],
                    f"{name}_ka_lo": gk["values"][0], f"{name}_ka_hi": gk["values"][-1],
                    f"{name}_it_exp": round(g["endpoint_exponent"], 2) + 0.0,
                    f"{name}_stored_hi": by[(n_hi, name)]["stored_per_node"],
                    f"{name}_apply_hi": 1e6 * by[(n_hi, name)]["apply_seconds"]})
    ld = by[(n_hi, "learned_dd_shared")]
    its = ld["iterations"]
    exponent = growth(rows, "learned_dd_shared")["endpoint_exponent"]
    within = its <= WITHIN * theory_head["iterations_predicted"]
    out.update(ld_over_theory=its / theory_head["iterations_predicted"],
               ld_over_oracle=its / by[(n_hi, "oracle")]["iterations"],
               ld_over_as2=its / by[(n_hi, "as2")]["iterations"],
               ld_over_jc=by[(n_hi, "jacobi_coarse")]["iterations"] / its,
               ld_over_as1=by[(n_hi, "as1")]["iterations"] / its,
               ld_ka_over_lower=ld["kappa"] / theory_head["kappa_lower"], ld_stored_hi=ld["stored"],
               as2_stored_total_hi=by[(n_hi, "as2")]["stored"],
               bounded_text=_word(exponent <= BOUNDED_EXPONENT, "stay bounded", "do not stay bounded"),
               within_text=_word(within, "within", "not within"), within_intro=_word(within, "at most", "more than"))
    return out


def _report_rank(rank_rows: list[dict], theory: list[dict], members: dict) -> dict:
    """Against the local rank (:func:`rank_study`) and the members of the class at the smallest and the largest rank
    (:func:`member_comparison`)."""
    th = {t["local_rank"]: t for t in theory}
    r_min, r_max = min(members), max(members)
    learned = {x["local_rank"]: x for x in rank_rows if x["preconditioner"] == "learned_dd_shared"}
    oracle = {x["local_rank"]: x for x in rank_rows if x["preconditioner"] == "oracle"}
    as2 = next(x for x in rank_rows if x["preconditioner"] == "as2")
    ratios = {r: learned[r]["iterations"] / th[r]["iterations_predicted"] for r in sorted(learned)}
    top, low = members[r_max], members[r_min]
    t, c = top["learned"], top["corrected"]
    top_off, bottom_off = t["lambda_max"] / c["lambda_max"], c["lambda_min"] / t["lambda_min"]
    close = [r for r in ratios if ratios[r] <= WITHIN]
    return {"rank_ratio_min": min(ratios.values()), "rank_ratio_max": max(ratios.values()),
            "ranks_within": _ranks_text(close), "ranks_within_count": len(close), "ranks_count": len(ratios),
            "rank_ratio_argmax": max(ratios, key=ratios.get),
            "top_learned_its": learned[r_max]["iterations"], "top_learned_ka": learned[r_max]["kappa"],
            "top_oracle_its": oracle[r_max]["iterations"], "top_as2_its": as2["iterations"],
            "top_as2_ka": as2["kappa"], "top_over_as2": learned[r_max]["iterations"] / as2["iterations"],
            "kappa_needed": kappa_for_iterations(int(WITHIN * as2["iterations"])),
            "top_verdict": _word(learned[r_max]["iterations"] <= WITHIN * as2["iterations"], "comes",
                                 "does not come"),
            "corr_its": c["iterations"], "corr_ka": c["kappa"],
            "corr_within": _word(c["iterations"] <= WITHIN * as2["iterations"], "within", "not within"),
            "val_top_learned": t["validation"], "val_top_oracle": top["oracle"]["validation"],
            "val_top_corr": c["validation"], "val_ratio": t["validation"] / top["oracle"]["validation"],
            "top_lmin": t["lambda_min"], "top_lmax": t["lambda_max"], "corr_lmin": c["lambda_min"],
            "corr_lmax": c["lambda_max"], "top_off": top_off, "bottom_off": bottom_off,
            "worse_end": _word(top_off >= bottom_off, "top", "bottom"),
            "val_rmin_learned": low["learned"]["validation"], "val_rmin_oracle": low["oracle"]["validation"],
            "ka_rmin_learned": learned[r_min]["kappa"],
            "ka_rmin_over_oracle": learned[r_min]["kappa"] / th[r_min]["kappa_oracle"]}


def _ranks_text(ranks: list[int]) -> str:
    """``"r = 4 and 8"``, ``"r = 2, 4 and 8"``, ``"no rank"``: the ranks of a finding, for the text."""
    if not ranks:
        return "no rank"
    words = [str(r) for r in sorted(ranks)]
    return "r = " + (words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1])


def _report_optimizers(checks: list[dict], corrected: dict) -> dict:
    """More optimisation at the largest rank (:func:`optimizer_check`) against the corrected member of the class:
    each variant's validation error and PCG count, the best variant, and ``gap_verdict``: "closes" when the best
    variant's validation error is within :data:`WITHIN` times the corrected member's, "narrows" when it is at least
    :data:`WITHIN` times below the tuned run's, else "does not narrow"."""
    by = {c["variant"]: c for c in checks}
    out = {f"opt_{k}_val": c["validation"] for k, c in by.items()}
    out |= {f"opt_{k}_its": c.get("iterations", math.nan) for k, c in by.items()}
    out |= {"opt_gd_lr": by["gd"]["lr"], "opt_longer_epochs": by["longer"]["epochs"]}
    best = min((k for k in by if k != "chosen"), key=lambda k: by[k]["validation"])
    val, chosen = by[best]["validation"], by["chosen"]["validation"]
    verdict = "closes" if val <= WITHIN * corrected["validation"] else (
        "narrows" if val * WITHIN <= chosen else "does not narrow")
    return out | {"opt_best": _OPT_NAMES[best], "opt_best_val": val, "gap_verdict": verdict}


#: How the text names the variants of :func:`optimizer_check` (and, capitalised, its table).
_OPT_NAMES = {"chosen": "the tuned run", "longer": "the longer run", "gd": "heavy-ball gradient descent",
              "lbfgs": "L-BFGS", "warm": "the warm start at the oracle"}
#: Headings of the rows of :func:`optimizer_check`.
OPTIMIZER_VARIANT_LABELS = {k: v.removeprefix("the ").capitalize() if k != "lbfgs" else v
                            for k, v in _OPT_NAMES.items()}


def _report_losses(variants: list[dict], sensitivity: dict, n: int) -> dict:
    """The training targets at ``n`` (:func:`compare_losses`) and the outlier test (:func:`outlier_sensitivity`)."""
    out = {}
    for v in variants:
        name = v["name"]
        out.update({f"loss_{name}_ka": float(v[f"kappa_{n}"]), f"loss_{name}_its": float(v[f"iterations_{n}"]),
                    f"loss_{name}_div": int(v["diverged"])})
    out.update({f"sens_{k}": v for k, v in sensitivity.items()})
    out.update(sens_sd_ratio=sensitivity["steepest_descent_outliers"] / sensitivity["steepest_descent"],
               sens_pcg_ratio=sensitivity["pcg_outliers"] / sensitivity["pcg"])
    return out


#: How :func:`report_preconditioning` names the knobs of the grid in the text.
_KNOB_NAMES = {"lr": "learning rate", "init_scale": "initial scale", "schedule": "schedule"}


def _edge_text(ranks: list[int]) -> str:
    """The sentence on choices left on the edge of the extended grid."""
    if not ranks:
        return "No operator's choice lies on the edge of the extended grid."
    return (f"The choice at {_ranks_text(ranks)} still lies on the edge of the extended grid (last column): "
            "a better value may lie beyond it.")


def _grid_text(grid) -> str:
    """The knob grid (a dict, or a list of them: their union) in words, one clause per grid, led by its optimizer."""
    def clause(g):
        opt = g.get("optimizer", ["adam"])
        knobs = " × ".join(f"{_KNOB_NAMES.get(k, k)} ∈ {{{', '.join(f'{x:g}' for x in v)}}}"
                           for k, v in g.items() if k != "optimizer")
        return f"{' or '.join(_OPTIMIZER_NAMES[o] for o in opt)}: {knobs}"
    return "; ".join(clause(g) for g in ([grid] if isinstance(grid, dict) else grid))


#: How the text names the optimizers of :data:`ddlib.training.OPTIMIZERS`.
_OPTIMIZER_NAMES = {"adam": "Adam", "gd": "heavy-ball gradient descent", "lbfgs": "L-BFGS"}


def _plain(value):
    """A glue-able Python value: NumPy scalars become Python ones, a negative zero becomes zero."""
    value = value.item() if isinstance(value, np.generic) else value
    return value + 0.0 if isinstance(value, float) else value


def report_preconditioning(*, old: dict, theory: list[dict], rank: int, selections: dict, learned_coarse,
                           ablation: dict, rows: list[dict], rank_rows: list[dict], members: dict,
                           variants: list[dict], sensitivity: dict, grid, seconds: dict,
                           checks: list[dict]) -> dict:
    r"""The numbers and verdict words of the chapter "A learned preconditioner", as one flat record of plain values
    (``name -> int | float | str``, the chapter glues each).

    Parameters
    ----------
    old : dict
        :func:`pcg_study` (the cautionary case).
    theory : list of dict
        :func:`rank_theory` at the ranks of the study (holding ``rank``).
    rank : int
        The headline local rank.
    selections : dict
        ``r -> Selection`` of the trained shared operators (:func:`ddlib.experiments.tuned_comparison`).
    learned_coarse : Selection
        The headline operator's twin with a learned coarse block.
    ablation : dict
        ``"galerkin"`` and ``"learned"`` -> the :func:`shared_study` row of the headline operator and of its twin at
        the training ``n``.
    rows, rank_rows : list of dict
        :func:`shared_study` against ``n`` and :func:`rank_study` at the largest ``n``.
    members : dict
        ``r -> member_comparison`` at the smallest and the largest rank.
    variants, sensitivity : list of dict, dict
        :func:`compare_losses` (measured at the largest ``n``) and :func:`outlier_sensitivity`.
    grid : dict or list of dict
        The knob grid of the tuned protocol (a union of grids: one learning-rate range per optimizer).
    seconds : dict
        Measured wall-clock seconds ``train``, ``variants`` and ``total``, passed through.
    checks : list of dict
        :func:`optimizer_check` of the largest rank's tuned run.

    The settings the text quotes (``m``, ``delta``, ``omega``, ``rank``, ``n_train``, ...) are read from these
    records, so every glued value comes from here.

    Returns
    -------
    dict
        The keys the chapter glues (``_report_*`` helpers by section). Verdict words: ``bounded_text`` ("stay
        bounded" when the growth exponent of the trained operator's counts is at most :data:`BOUNDED_EXPONENT`, else
        "do not stay bounded"; ``old_bounded_text`` the same for the per-``n`` band-trained operator, "stay bounded"
        or "grow"), ``within_text`` (its count at the largest ``n`` at most :data:`WITHIN` times the CG bound of the
        oracle: "within", else "not within"; ``within_intro`` "at most" or "more than"), ``top_verdict``
        ("comes"/"does not come" within :data:`WITHIN` times two-level Schwarz at the largest rank), ``corr_within``
        (the same for the corrected oracle: "within"/"not within") and ``worse_end`` ("top" or "bottom": the end of
        the trained spectrum further, as a ratio, from the corrected oracle's).
    """
    head = selections[rank]
    model, cfg = head.runs[0].model, head.runs[0].config
    th = {t["local_rank"]: t for t in theory}
    ns, s = [r["n"] for r in rows], old["settings"]
    out = {"m": s["m"], "delta": s["delta"], "omega": s["omega"], "old_epochs": s["epochs"], "old_lr": s["lr"],
           "old_init": s["init_scale"], "rank": rank, "r_min": min(th), "r_max": max(th), "th_n": theory[0]["n"],
           "n_lo": min(ns), "n_hi": max(ns),
           "n_train": cfg.n, "samples": cfg.samples, "epochs": cfg.epochs, "steps": cfg.solver_steps,
           "bounded_exponent": BOUNDED_EXPONENT, "within_factor": WITHIN, "grid_points": len(grid_points(grid)),
           "grid_text": _grid_text(grid), "seeds": len(head.runs),
           "head_optimizer": _OPTIMIZER_NAMES[head.chosen.get("optimizer", cfg.optimizer)],
           "edge_text": _edge_text([r for r, sel in selections.items() if any(sel.on_edge.values())]),
           "head_params": model.num_parameters(), "head_lr": head.chosen["lr"],
           "head_init": head.chosen["init_scale"], "head_omega": model.omega_value(),
           "head_seconds": head.runs[0].final["seconds"],
           "train_seconds": seconds["train"], "variants_seconds": seconds["variants"],
           "total_seconds": seconds["total"]}
    for tag, row in (("gal", ablation["galerkin"]), ("lc", ablation["learned"])):
        out.update({f"abl_{tag}_ka": row["kappa"], f"abl_{tag}_its": row["iterations"]})
    out["abl_lc_params"] = learned_coarse.params
    out.update(_report_old(old))
    out.update(_report_theory(theory, rank))
    out.update(_report_study(rows, th[rank]))
    out.update(_report_rank(rank_rows, theory, members))
    out.update(_report_losses(variants, sensitivity, max(r["n"] for r in rows)))
    out.update(_report_optimizers(checks, members[max(members)]["corrected"]))
    return {k: _plain(v) for k, v in out.items()}
