r"""Ablations of DD attention at matched budgets, and a banded-plus-low-rank (FMMformer-like) baseline.

**What is switched** (:func:`ablation_specs`; every entry is a :class:`ddlib.attention.DDAttention` configuration that
differs from the baseline ``N, delta, local_rank`` with hat coarse space, :math:`D_i^{1/2}` weights and multiplicity
scaling in one named respect):

========================  ==================================================================================
``no coarse``             ``use_coarse=False``: :math:`\sum_i R_i^T D_i^{1/2}Q_iK_i^TD_i^{1/2}R_i` only
``coarse only``           ``use_local=False``: :math:`\Phi Q_0K_0^T\Phi^T` only
``no overlap``            ``delta=0``: the local part is block diagonal on the non-overlapping blocks
``D one side``            ``weighting="left"``: :math:`R_i^T D_i Q_iK_i^T R_i` (restricted-Schwarz weighting)
``Boolean``               ``partition="boolean"``: :math:`D_i^{1/2} = D_i` is 1 on block ``i``, 0 on its overlap
``δ = d``                 other overlaps
``N = k``                 other numbers of subdomains (the local rank kept)
``Nicolaides``            ``coarse="nicolaides"``: :math:`D_i`-weighted constants instead of hat functions
``banded + low rank``     :class:`BandedLowRank`, sized to the baseline's parameter count
========================  ==================================================================================

**Matched budgets.** Every configuration sees the same training data (per seed), the same number of full-batch Adam
epochs, the same learning-rate grid with the selection rule of :func:`ddlib.experiments.fair_comparison` (lowest final
training loss on the first seed), and the same seeds; parameter counts are reported beside the errors, and the
banded-plus-low-rank baseline is sized to the baseline's count (:func:`banded_lowrank_for_budget`).

**The banded-plus-low-rank operator** :cite:p:`nguyen2021fmmformer` is

.. math::  u = h\,(B + UV^T) f, \qquad B_{jk} = 0 \text{ for } |j-k| > b, \quad U, V \in \mathbb{R}^{n\times r},

with :math:`n(2b+1) - b(b+1)` band entries and :math:`2nr` low-rank entries: near-field by the band, far-field by the
low-rank term, the FMMformer's split of an attention matrix. :math:`A^{-1}` is not of this form exactly (its
off-diagonal blocks have rank one each, but the whole far field has full rank), which is what the comparison tests.

:func:`operator_parts` returns the dense coarse and local parts of a DD operator; the tests use it to check that each
switch changes exactly the part it names.
"""
from __future__ import annotations

import numpy as np
import torch

from ._validate import check_int, check_positive
from .attention import DDAttention, operator_error
from .data import make_datasets
from .experiments import dd_spec, fair_comparison
from .generalisation import set_errors
from .training import TrainConfig, build_model

__all__ = [
    "BandedLowRank",
    "banded_lowrank_parameter_count",
    "banded_lowrank_for_budget",
    "ablation_specs",
    "build_ablation_model",
    "operator_parts",
    "copy_shared_factors",
    "run_ablations",
]


def banded_lowrank_parameter_count(n: int, bandwidth: int, rank: int) -> int:
    r"""Parameters of :class:`BandedLowRank`: :math:`n(2b+1) - b(b+1) + 2nr`."""
    n = check_int("n", n, low=1)
    b = check_int("bandwidth", bandwidth, low=0, high=n - 1)
    r = check_int("rank", rank, low=0, high=n)
    return n * (2 * b + 1) - b * (b + 1) + 2 * n * r


def banded_lowrank_for_budget(n: int, params: int, rank: int) -> int:
    r"""The bandwidth ``b >= 0`` whose :func:`banded_lowrank_parameter_count` with ``rank`` is closest to ``params``."""
    n = check_int("n", n, low=1)
    params = check_int("params", params, low=1)
    rank = check_int("rank", rank, low=0, high=n)
    b = np.arange(0, n)
    counts = n * (2 * b + 1) - b * (b + 1) + 2 * n * rank
    return int(b[np.argmin(np.abs(counts - params))])


class BandedLowRank(torch.nn.Module):
    r"""Banded-plus-low-rank operator :math:`u = h\,(B + UV^T)f` (module docstring).

    Parameters
    ----------
    n : int
        Grid size.
    bandwidth : int
        ``0 <= b <= n - 1``; the band is stored as ``(2b + 1, n)`` diagonals, ``band[b + o, j] = B[j, j + o]``
        (entries outside the matrix are masked to zero).
    rank : int
        ``0 <= r <= n``; ``0`` leaves only the band.
    init_scale : float
        Entries are drawn from :math:`\mathcal N(0, s^2)` with a generator seeded by ``seed``.
    """

    def __init__(self, n: int, bandwidth: int, rank: int, *, init_scale: float = 0.1, seed: int = 0,
                 dtype=torch.float64):
        super().__init__()
        self.n = check_int("n", n, low=1)
        self.bandwidth = check_int("bandwidth", bandwidth, low=0, high=self.n - 1)
        self.rank = check_int("rank", rank, low=0, high=self.n)
        self.init_scale = check_positive("init_scale", init_scale)
        self.h = 1.0 / (self.n + 1)
        b = self.bandwidth
        offsets = np.arange(-b, b + 1)
        j = np.arange(self.n)
        mask = ((j[None, :] + offsets[:, None]) >= 0) & ((j[None, :] + offsets[:, None]) < self.n)
        self.register_buffer("band_mask", torch.as_tensor(mask, dtype=dtype), persistent=False)
        self.offsets = offsets.tolist()
        g = torch.Generator(device="cpu").manual_seed(check_int("seed", seed, low=0))
        s = self.init_scale
        self.band = torch.nn.Parameter((torch.randn(2 * b + 1, self.n, generator=g, dtype=torch.float64) * s
                                        * self.band_mask.to(torch.float64)).to(dtype))
        self.U = torch.nn.Parameter((torch.randn(self.n, self.rank, generator=g, dtype=torch.float64) * s).to(dtype))
        self.V = torch.nn.Parameter((torch.randn(self.n, self.rank, generator=g, dtype=torch.float64) * s).to(dtype))

    def extra_repr(self) -> str:
        return f"n={self.n}, bandwidth={self.bandwidth}, rank={self.rank}, parameters={self.num_parameters()}"

    def band_part(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`BF` for columns ``F`` (shape ``(n, batch)``): one shifted product per diagonal (``2b + 1`` of them)."""
        W = self.band * self.band_mask
        out = torch.zeros_like(F)
        n = self.n
        for d, o in enumerate(self.offsets):  # loop over the 2b+1 diagonals, not over rows or subdomains
            lo, hi = max(0, -o), min(n, n - o)
            out[lo:hi] = out[lo:hi] + W[d, lo:hi, None] * F[lo + o:hi + o]
        return out

    def apply_columns(self, F: torch.Tensor) -> torch.Tensor:
        r""":math:`h\,(BF + U(V^TF))` for right-hand sides in the columns of ``F``."""
        out = self.band_part(F)
        if self.rank:
            out = out + self.U @ (self.V.T @ F)
        return out * self.h

    def forward(self, f) -> torch.Tensor:
        """Apply the operator to each row of ``f`` (shape ``(batch, n)`` or ``(n,)``)."""
        f = torch.as_tensor(f, dtype=self.band.dtype)
        single = f.ndim == 1
        F = f[:, None] if single else f.T
        if F.shape[0] != self.n:
            raise ValueError(f"f must have shape (batch, n) or (n,) with n = {self.n}; got {tuple(f.shape)}")
        u = self.apply_columns(F)
        return u[:, 0] if single else u.T

    def dense(self) -> torch.Tensor:
        r"""The ``n x n`` matrix :math:`h\,(B + UV^T)`."""
        with torch.no_grad():
            return self.apply_columns(torch.eye(self.n, dtype=self.band.dtype))

    def num_parameters(self) -> int:
        """Trainable scalars (masked band slots excluded)."""
        return int(self.band_mask.sum().item()) + int(self.U.numel() + self.V.numel())

    def parameter_formula(self) -> int:
        return banded_lowrank_parameter_count(self.n, self.bandwidth, self.rank)


def ablation_specs(n: int = 255, N: int = 8, delta: int = 2, local_rank: int = 4, *, deltas=(0, 1, 4), Ns=(4, 16),
                   fmm_rank: int = 2) -> dict:
    r"""The ablation set as ``label -> model dict`` (see the module docstring), the baseline first.

    DD entries are :func:`ddlib.experiments.dd_spec` dicts; the banded-plus-low-rank entry is
    ``{"kind": "banded_lowrank", "bandwidth": b, "rank": fmm_rank}`` with ``b`` from :func:`banded_lowrank_for_budget`
    for the baseline's parameter count. ``deltas`` and ``Ns`` add overlap and subdomain-count variants (values equal to
    the baseline's, and ``delta = 0`` which is ``"no overlap"``, are skipped).
    """
    from .experiments import model_parameters

    base = dd_spec(N, delta, local_rank)
    specs = {"baseline": base,
             "no coarse": {**base, "use_coarse": False},
             "coarse only": {**base, "use_local": False},
             "no overlap": {**base, "delta": 0},
             "D one side": {**base, "weighting": "left"},
             "Boolean": {**base, "partition": "boolean"},
             "Nicolaides": {**base, "coarse": "nicolaides"}}
    for d in deltas:
        if d not in (0, delta):
            specs[f"δ = {d}"] = {**base, "delta": int(d)}
    for k in Ns:
        if k != N:
            specs[f"N = {k}"] = {**base, "N": int(k)}
    budget = model_parameters(base, n)
    specs["banded + low rank"] = {"kind": "banded_lowrank", "rank": int(fmm_rank),
                                  "bandwidth": banded_lowrank_for_budget(n, budget, fmm_rank)}
    return specs


def build_ablation_model(spec: dict, n: int, *, seed: int = 0, init_scale: float = 0.1) -> torch.nn.Module:
    """Build a model dict of :func:`ablation_specs` (DD/global through :func:`ddlib.training.build_model`)."""
    if spec.get("kind") == "banded_lowrank":
        return BandedLowRank(n, spec["bandwidth"], spec["rank"], init_scale=init_scale, seed=seed)
    return build_model(spec, n, seed=seed, init_scale=init_scale)


def operator_parts(model: DDAttention) -> dict:
    r"""Dense ``coarse`` (:math:`h\,\Phi Q_0K_0^T\Phi^T`) and ``local`` (:math:`h\sum_i R_i^TW^L_iQ_iK_i^TW^R_iR_i`) parts."""
    if not isinstance(model, DDAttention):
        raise ValueError(f"model must be a DDAttention; got {type(model).__name__}")
    eye = torch.eye(model.n, dtype=model.dtype)
    with torch.no_grad():
        coarse = model.coarse_part(eye) * model.h if model.use_coarse else torch.zeros_like(eye)
        local = model.local_part(eye) * model.h if model.use_local else torch.zeros_like(eye)
    return {"coarse": coarse.numpy(), "local": local.numpy()}


def copy_shared_factors(src: torch.nn.Module, dst: torch.nn.Module) -> list[str]:
    """Copy every parameter of ``src`` into the parameter of ``dst`` with the same name and shape; return the names."""
    mine = dict(dst.named_parameters())
    copied = []
    with torch.no_grad():
        for name, p in src.named_parameters():
            if name in mine and mine[name].shape == p.shape:
                mine[name].copy_(p)
                copied.append(name)
    return copied


def _metrics(model, sets, n) -> dict:
    out = {f"error_{k}": v for k, v in set_errors(model, sets).items()}
    out["operator_error"] = operator_error(model.dense(), n)
    return out


def run_ablations(specs: dict, base: TrainConfig, lrs, seeds) -> list[dict]:
    r"""Train every configuration of ``specs`` at the matched budget of ``base`` (epochs, data, ``lrs``, ``seeds``).

    DD entries go through :func:`ddlib.experiments.fair_comparison` (cached runs); the banded-plus-low-rank entry is
    trained by :func:`ddlib.preconditioning.fit_operator` with the same data, epochs, rate grid and selection rule.
    Every model is then evaluated the same way: :func:`ddlib.generalisation.set_errors` on the held-out sets of its
    seed and :func:`ddlib.attention.operator_error`.

    Returns
    -------
    list of dict
        Per configuration: ``label``, ``spec``, ``params``, ``lr``, and for each metric (``error_<set>``,
        ``operator_error``) the seed ``_mean``, ``_min``, ``_max``.
    """
    from .preconditioning import fit_operator

    seeds = [check_int("seeds[i]", s, low=0) for s in seeds]
    lrs = [check_positive("lrs[i]", lr) for lr in lrs]
    if not seeds or not lrs:
        raise ValueError("seeds and lrs must each hold at least one value")
    data = {s: make_datasets(base.n, base.samples, base.K, s, base.decay, test_samples=base.test_samples)
            for s in seeds}
    rows = []
    for label, spec in specs.items():
        if spec.get("kind") == "banded_lowrank":
            def fit(lr, s):
                model = build_ablation_model(spec, base.n, seed=s, init_scale=base.init_scale)
                try:
                    res = fit_operator(model, data[s]["train"].f, data[s]["train"].u, lr=lr, epochs=base.epochs,
                                       seed=s, tag="ablation")
                except RuntimeError:
                    return None, float("inf")
                return model, res["loss"] if np.isfinite(res["loss"]) else float("inf")

            trials = {lr: fit(lr, seeds[0]) for lr in lrs}
            lr = min((lr for lr in lrs if trials[lr][0] is not None), key=lambda v: (trials[v][1], v))
            models = [trials[lr][0]] + [fit(lr, s)[0] for s in seeds[1:]]
        else:
            mr = fair_comparison([spec], base, lrs, seeds)[0]
            lr, models = mr.lr, [r.model for r in mr.runs]
        per_seed = [_metrics(m, data[s], base.n) for m, s in zip(models, seeds)]
        row = {"label": label, "spec": spec, "params": int(models[0].num_parameters()), "lr": float(lr)}
        for key in per_seed[0]:
            v = np.array([p[key] for p in per_seed])
            row[f"{key}_mean"], row[f"{key}_min"], row[f"{key}_max"] = float(v.mean()), float(v.min()), float(v.max())
        rows.append(row)
    return rows
