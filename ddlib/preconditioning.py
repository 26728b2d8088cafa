r"""The learned operator as a preconditioner: symmetric positive semi-definite attention, its training, and PCG.

**Symmetric variants.** Tying the query and key factors, :math:`Q_i = K_i` and :math:`Q_0 = K_0`, turns the DD attention
of :mod:`ddlib.attention` into

.. math::  M_\theta^{-1} = h\Big(\Phi K_0 K_0^T \Phi^T + \sum_{i=1}^{N} R_i^T W_i K_i K_i^T W_i R_i\Big),
           \qquad W_i = D_i^{1/2}\ (\text{or } I),

a sum of Gram matrices :math:`h\,(W_iR_i)^T K_iK_i^T (W_iR_i)`, so :math:`x^T M_\theta^{-1} x = h\big(\|K_0^T\Phi^Tx\|^2
+ \sum_i \|K_i^T W_i R_i x\|^2\big) \ge 0` for *every* parameter value (:class:`SymmetricDDAttention`). The global
baseline becomes :math:`h\,KK^T` (:class:`SymmetricGlobalAttention`). Half the parameters of the untied operators.

**Why a completion is needed.** A low-rank PSD operator is singular: :math:`M_\theta^{-1}` has rank at most
:math:`\sum_i r + r_0 < n`, and CG preconditioned by a singular operator stalls on its null space. The learned
preconditioner (:func:`learned_preconditioner`) therefore adds the cheapest symmetric positive definite term, a damped
Jacobi step,

.. math::  M^{-1} = M_\theta^{-1} + \omega\, \mathrm{diag}(A)^{-1} = M_\theta^{-1} + \omega\,\frac{h^2}{2} I,

which is SPD for any :math:`\omega > 0` and handles the oscillatory modes the low-rank part cannot hold. On a sine
mode :math:`v_k` where :math:`M_\theta^{-1} v_k = v_k/\lambda_k` exactly, :math:`M^{-1}A v_k = (1 + \omega h^2\lambda_k/2)v_k`;
where :math:`M_\theta^{-1} v_k = 0`, it is :math:`\omega h^2 \lambda_k / 2 = 2\omega\sin^2(k\pi h/2)`, so the
smallest eigenvalue, and with it :math:`\kappa`, is decided by how far up the spectrum the learned part is accurate.

**Training** (:func:`fit_operator`) is the loss and optimizer of :func:`ddlib.training.train` (Adam on the mean relative
squared error, full batch, seeded initialisation) for any module with ``apply_columns``, on any data; finished runs are
cached in :func:`ddlib.training.cache_dir` under a hash of the module's configuration, the data and the settings.

**The study** (:func:`pcg_study`) keeps the subdomain size :math:`H/h = m` fixed and lets ``n = N m - 1`` grow. A learned
operator is tied to its grid, so one is trained **per n**, on the data of that grid: the Fourier band
:math:`K = k_N N` (a fixed number of modes per subdomain, :math:`k_N = 2` gives the headline :math:`K = 16` at
:math:`n = 255, N = 8`), with ``samples_per_mode`` samples per mode. Its training cost is part of the comparison.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator

from ._validate import check_choice, check_finite, check_int, check_positive
from .attention import DDAttention, GlobalAttention
from .data import make_dataset
from .decomposition import Decomposition
from .krylov import condition_estimate, dense_spectrum, pcg
from .problem import eigenvalues, grid, laplacian_1d
from .schwarz import schwarz_preconditioner
from .training import cache_dir

__all__ = [
    "SymmetricDDAttention",
    "SymmetricGlobalAttention",
    "FitResult",
    "fit_operator",
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


class SymmetricDDAttention(DDAttention):
    r"""DD attention with tied factors :math:`Q_i = K_i`, :math:`Q_0 = K_0`: symmetric PSD for every parameter value.

    Takes the arguments of :class:`ddlib.attention.DDAttention`; ``weighting`` must be ``"sqrt"`` (the paper's
    :math:`D_i^{1/2}` on both sides) or ``"none"``, the two choices with equal left and right weights. The trainable
    factors are ``K`` (padded ``(N, n_max, r)``) and ``K0`` (``(N_0, r_0)``); ``init="schwarz"`` gives the symmetric
    truncated eigendecompositions of the classical blocks (which have :math:`Q = K` already, all blocks being SPD).
    """

    def __init__(self, decomposition: Decomposition, local_rank: int, coarse_rank: int | None = None, *,
                 weighting: str = "sqrt", **kwargs):
        check_choice("weighting", weighting, ("sqrt", "none"))
        super().__init__(decomposition, local_rank, coarse_rank, weighting=weighting, **kwargs)
        self.Q = None   # tied to K
        self.Q0 = None  # tied to K0

    def local_part(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`\sum_i R_i^T W_i K_iK_i^T W_i R_i F` (gather, two batched products, scatter-add; no ``h``)."""
        X = F[self.idx] * self.wr[:, :, None]
        Y = torch.bmm(self.K, torch.bmm(self.K.transpose(1, 2), X)) * self.wl[:, :, None]
        return F.new_zeros(F.shape).index_add(0, self.idx.reshape(-1), Y.reshape(-1, F.shape[1]))

    def coarse_part(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`\Phi K_0K_0^T\Phi^T F` (dense :math:`\Phi` or gather/scatter on its supports; no ``h``)."""
        if self.Phi_dense is not None:
            return self.Phi_dense @ (self.K0 @ (self.K0.T @ (self.Phi_dense.T @ F)))
        C = (F[self.cidx] * self.cval[:, :, None]).sum(1)
        C = self.K0 @ (self.K0.T @ C)
        Y = (self.cval[:, :, None] * C[:, None, :]).reshape(-1, F.shape[1])
        return F.new_zeros(F.shape).index_add(0, self.cidx.reshape(-1), Y)

    def local_blocks(self) -> list[np.ndarray]:
        r"""The learned local matrices :math:`h\,W_iK_iK_i^TW_i` (``n_i x n_i`` each)."""
        if not self.use_local:
            return []
        with torch.no_grad():
            K = (self.K * self.wl[:, :, None]).cpu().numpy()
        s = self.decomposition.sizes
        return [self.h * K[i, : s[i]] @ K[i, : s[i]].T for i in range(self.decomposition.N)]

    def coarse_block(self) -> np.ndarray:
        r"""The learned coarse matrix :math:`h\,K_0K_0^T`."""
        if not self.use_coarse:
            return np.zeros((0, 0))
        with torch.no_grad():
            return self.h * (self.K0 @ self.K0.T).cpu().numpy()

    def num_parameters(self) -> int:
        local = self.local_rank * int(self.decomposition.sizes.sum()) if self.use_local else 0
        return local + (int(self.K0.numel()) if self.use_coarse else 0)

    def parameter_formula(self) -> int:
        r""":math:`r\,(n + 2\delta(N-1)) + N_0 r_0`, half of the untied count."""
        d = self.decomposition
        local = self.local_rank * (d.n + 2 * d.delta * (d.N - 1)) if self.use_local else 0
        return local + self.N0 * self.coarse_rank


class SymmetricGlobalAttention(GlobalAttention):
    r"""Global attention with tied factors, :math:`u = h\,KK^Tf`: symmetric PSD, :math:`nr` parameters.

    Takes the arguments of :class:`ddlib.attention.GlobalAttention`.
    """

    def __init__(self, n: int, rank: int, **kwargs):
        super().__init__(n, rank, **kwargs)
        self.Q = None

    def apply_columns(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`h\,KK^TF` for right-hand sides in the columns of ``F``."""
        return self.K @ (self.K.T @ F) * self.h

    def forward(self, f) -> torch.Tensor:
        r"""Apply :math:`h\,KK^Tf` to each row of ``f``."""
        f, single = self._prepare(f)
        u = (f @ self.K) @ self.K.T * self.h
        return u[0] if single else u

    def num_parameters(self) -> int:
        return int(self.K.numel())

    def parameter_formula(self) -> int:
        return self.n * self.rank


# ----------------------------------------------------------------------------------------------------- training
class FitResult(dict):
    """The outcome of :func:`fit_operator`: ``model``, ``seconds`` (training), ``epochs``, ``loss`` (final training
    loss), ``initial_loss``, ``lr``, ``cached`` (whether it was read from the cache)."""


def _digest(*arrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(np.asarray(a, dtype=np.float64))
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def fit_operator(model: torch.nn.Module, f, u, *, lr: float = 1e-2, epochs: int = 500, seed: int = 0,
                 cache: bool = True, tag: str = "") -> FitResult:
    r"""Train ``model`` in place on rows ``f -> u`` by Adam on :math:`\frac1m\sum_s\|M_\theta^{-1}f_s - u_s\|^2/\|u_s\|^2`.

    The loss, optimizer and full-batch schedule of :func:`ddlib.training.train`, for modules it cannot build (the
    symmetric and banded-plus-low-rank operators) or data it does not make (white noise). ``seed`` seeds torch's global
    generator (nothing should draw from it; the initialisation is seeded by the model's own ``seed``).

    Parameters
    ----------
    model : torch.nn.Module
        Any operator with ``apply_columns(F)`` (``F`` of shape ``(n, batch)``), float64.
    f, u : (samples, n) arrays
        Training right-hand sides and solutions (finite; no zero solution).
    lr, epochs, seed
        Adam step size, number of full-batch steps, seed.
    cache : bool
        Read and write ``fit-<key>.pt`` in :func:`ddlib.training.cache_dir`; ``key`` hashes ``tag``, the model's class,
        its ``extra_repr`` and initial parameters, the data and the settings.
    tag : str
        Extra text for the cache key.

    Raises
    ------
    RuntimeError
        When the loss becomes NaN or infinite.
    """
    f = check_finite("f", f)
    u = check_finite("u", u)
    if f.ndim != 2 or f.shape != u.shape or f.shape[1] != getattr(model, "n", f.shape[1]):
        raise ValueError(f"f and u must both have shape (samples, n) with n = {getattr(model, 'n', '?')}; "
                         f"got {f.shape} and {u.shape}")
    lr = check_positive("lr", lr)
    epochs = check_int("epochs", epochs, low=1)
    seed = check_int("seed", seed, low=0)
    init = [p.detach().cpu().numpy() for p in model.parameters()]
    key = hashlib.sha256(json.dumps({
        "v": _FIT_VERSION, "tag": tag, "cls": type(model).__name__, "repr": model.extra_repr(),
        "init": _digest(*init), "data": _digest(f, u), "lr": lr, "epochs": epochs, "seed": seed,
    }, sort_keys=True).encode()).hexdigest()[:20]
    path = cache_dir() / f"fit-{key}.pt"
    if cache and path.is_file():
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(saved["state"])
            return FitResult(model=model, seconds=float(saved["seconds"]), epochs=epochs, loss=float(saved["loss"]),
                             initial_loss=float(saved["initial_loss"]), lr=lr, cached=True)
        except (OSError, RuntimeError, KeyError, ValueError):
            pass  # unreadable entry: train again and overwrite it
    torch.manual_seed(seed)
    dtype = next(model.parameters()).dtype
    F = torch.as_tensor(np.ascontiguousarray(f.T), dtype=dtype)
    U = torch.as_tensor(np.ascontiguousarray(u.T), dtype=dtype)
    w = 1.0 / (U**2).sum(0)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    seconds, loss_value, initial = 0.0, float("nan"), float("nan")
    for epoch in range(epochs):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = (((model.apply_columns(F) - U) ** 2).sum(0) * w).mean()
        loss.backward()
        opt.step()
        seconds += time.perf_counter() - t0
        loss_value = loss.item()
        if epoch == 0:
            initial = loss_value
        if not np.isfinite(loss_value):
            raise RuntimeError(f"training diverged at epoch {epoch + 1} with lr = {lr:g}; lower the learning rate")
    with torch.no_grad():
        loss_value = float((((model.apply_columns(F) - U) ** 2).sum(0) * w).mean())
    if cache:
        state = {"state": {k: v.detach().cpu() for k, v in model.state_dict().items()}, "seconds": seconds,
                 "loss": loss_value, "initial_loss": initial}
        with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False, suffix=".tmp") as tmp:
            torch.save(state, tmp)
        os.replace(tmp.name, path)
    return FitResult(model=model, seconds=seconds, epochs=epochs, loss=loss_value, initial_loss=initial, lr=lr,
                     cached=False)


# ------------------------------------------------------------------------------------------------ preconditioner
def learned_preconditioner(model: torch.nn.Module, omega: float = 0.5) -> LinearOperator:
    r"""The SPD preconditioner :math:`M^{-1} = M_\theta^{-1} + \omega\,h^2/2\,I` as a LinearOperator (module docstring).

    ``model`` must be symmetric positive semi-definite (:class:`SymmetricDDAttention`,
    :class:`SymmetricGlobalAttention`); ``omega > 0`` is the weight of the Jacobi term :math:`\omega\,\mathrm{diag}(A)^{-1}`.
    """
    if not isinstance(model, (SymmetricDDAttention, SymmetricGlobalAttention)):
        raise ValueError(f"model must be a SymmetricDDAttention or SymmetricGlobalAttention; got {type(model).__name__}")
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
        classical additive Schwarz (:func:`ddlib.schwarz.schwarz_preconditioner`, ``variant="additive"``), one level
        and two levels with the hat coarse space;
    ``learned_dd``
        :func:`learned_preconditioner` of a :class:`SymmetricDDAttention` (``N``, ``delta``, ``local_rank``, full coarse
        rank, :math:`D_i^{1/2}` weights with multiplicity scaling), trained by :func:`fit_operator` on the Fourier band
        ``K = modes_per_subdomain * N`` with ``samples_per_mode * K`` samples (:func:`ddlib.data.make_dataset`);
    ``learned_global``
        the same for a :class:`SymmetricGlobalAttention` whose rank gives about the DD parameter count,
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
        ``models`` (``n -> {"learned_dd": FitResult, "learned_global": FitResult}``) and ``settings``.
    """
    ns = [check_int("ns[i]", v, low=3) for v in ns]
    m = check_int("m", m, low=2)
    for v in ns:
        if (v + 1) % m:
            raise ValueError(f"every n must satisfy (n + 1) % m == 0 for m = {m}; got n = {v}")
    modes_per_subdomain = check_int("modes_per_subdomain", modes_per_subdomain, low=1)
    samples_per_mode = check_int("samples_per_mode", samples_per_mode, low=1)
    b_rng = check_int("seed", seed, low=0)
    rows, models = [], {}
    for n in ns:
        N = (n + 1) // m
        dec = Decomposition(n, N, delta)
        A = laplacian_1d(n)
        b = np.random.default_rng(b_rng).standard_normal(n)
        K = min(modes_per_subdomain * N, n // 2)
        data = make_dataset("train", n, samples_per_mode * K, K, seed)
        dd = SymmetricDDAttention(dec, local_rank, seed=seed, init_scale=init_scale, coarse_storage="gather")
        fit_dd = fit_operator(dd, data.f, data.u, lr=lr, epochs=epochs, seed=seed, cache=cache, tag="pcg_study")
        rank_g = int(min(n, max(1, round(dd.num_parameters() / n))))
        gl = SymmetricGlobalAttention(n, rank_g, seed=seed, init_scale=init_scale)
        fit_gl = fit_operator(gl, data.f, data.u, lr=lr, epochs=epochs, seed=seed, cache=cache, tag="pcg_study")
        models[n] = {"learned_dd": fit_dd, "learned_global": fit_gl}
        setup = {}
        for name, coarse in (("as1", "none"), ("as2", "hat")):
            t0 = time.perf_counter()
            setup[name] = (schwarz_preconditioner(dec, A, variant="additive", coarse=coarse), 0,
                           time.perf_counter() - t0)
        precs = {
            "none": (None, 0, 0.0),
            "as1": setup["as1"],
            "as2": setup["as2"],
            "learned_dd": (learned_preconditioner(dd, omega), dd.num_parameters(), fit_dd["seconds"]),
            "learned_global": (learned_preconditioner(gl, omega), gl.num_parameters(), fit_gl["seconds"]),
        }
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
