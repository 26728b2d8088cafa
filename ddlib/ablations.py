r"""Ablations of DD attention at matched budgets, and a banded-plus-low-rank (FMMformer-like) baseline.

**What is switched** (:func:`ablation_specs`; every entry is a :class:`ddlib.models.DDSpec` that
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
``banded + low rank``     :class:`ddlib.models.BandedSpec`, sized to the baseline's parameter count
========================  ==================================================================================

**Matched budgets.** Every configuration goes through the tuned protocol of
:func:`ddlib.experiments.tuned_comparison`: the same training data (per seed), the same number of full-batch Adam
epochs, the same search over learning rate and initial scale chosen on validation data, and the same seeds;
parameter counts are reported beside the errors, and the banded-plus-low-rank baseline is sized to the baseline's
count (:func:`banded_lowrank_for_budget`).

**The banded-plus-low-rank operator** :cite:p:`nguyen2021fmmformer` (:class:`ddlib.attention.BandedLowRank`) is

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

from ._validate import check_int
from .attention import DDAttention
from .experiments import Selection, summarize, tuned_comparison
from .memory import check_dense
from .models import BandedSpec, DDSpec
from .training import TrainConfig

__all__ = [
    "banded_lowrank_for_budget",
    "ablation_specs",
    "operator_parts",
    "run_ablations",
]


def banded_lowrank_for_budget(n: int, params: int, rank: int) -> int:
    r"""The bandwidth ``b >= 0`` whose :func:`ddlib.attention.banded_lowrank_parameter_count` with ``rank`` is closest to
    ``params``."""
    n = check_int("n", n, low=1)
    params = check_int("params", params, low=1)
    rank = check_int("rank", rank, low=0, high=n)
    b = np.arange(0, n)
    counts = n * (2 * b + 1) - b * (b + 1) + 2 * n * rank
    return int(b[np.argmin(np.abs(counts - params))])


def ablation_specs(n: int = 255, N: int = 8, delta: int = 2, local_rank: int = 4, *, deltas=(0, 1, 4), Ns=(4, 16),
                   fmm_rank: int = 2) -> dict:
    r"""The ablation set as ``label -> spec`` (see the module docstring), the baseline first.

    DD entries are :class:`ddlib.models.DDSpec`; the banded-plus-low-rank entry is a :class:`ddlib.models.BandedSpec`
    of rank ``fmm_rank`` whose bandwidth (:func:`banded_lowrank_for_budget`) matches the baseline's parameter count.
    ``deltas`` and ``Ns`` add overlap and subdomain-count variants (values equal to the baseline's, and
    ``delta = 0`` which is ``"no overlap"``, are skipped).
    """
    base = DDSpec(N, delta, local_rank)
    specs = {"baseline": base,
             "no coarse": base.replace(use_coarse=False),
             "coarse only": base.replace(use_local=False),
             "no overlap": base.replace(delta=0),
             "D one side": base.replace(weighting="left"),
             "Boolean": base.replace(partition="boolean"),
             "Nicolaides": base.replace(coarse="nicolaides")}
    for d in deltas:
        if d not in (0, delta):
            specs[f"δ = {d}"] = base.replace(delta=int(d))
    for k in Ns:
        if k != N:
            specs[f"N = {k}"] = base.replace(N=int(k))
    b = banded_lowrank_for_budget(n, base.parameter_count(n), fmm_rank)
    specs["banded + low rank"] = BandedSpec(bandwidth=b, rank=int(fmm_rank))
    return specs


def operator_parts(model: DDAttention) -> dict:
    r"""Dense ``coarse`` (:math:`h\,\Phi Q_0K_0^T\Phi^T`) and ``local`` (:math:`h\sum_i R_i^TW^L_iQ_iK_i^TW^R_iR_i`) parts."""
    if not isinstance(model, DDAttention):
        raise ValueError(f"model must be a DDAttention; got {type(model).__name__}")
    check_dense((3, model.n, model.n), "operator_parts (the identity, the coarse and the local part, dense)",
                "apply model.coarse_part and model.local_part to the few columns you need", dtype=model.dtype)
    eye = torch.eye(model.n, dtype=model.dtype)
    with torch.no_grad():
        coarse = model.coarse_part(eye) * model.h
        local = model.local_part(eye) * model.h
    return {"coarse": coarse.numpy(), "local": local.numpy()}


def run_ablations(specs: dict, base: TrainConfig, grid: dict, seeds, *, scheduler: str | None = None,
                  workers: int | None = None) -> list[dict]:
    r"""Train every configuration of ``specs`` (``label -> spec``) under the tuned protocol of
    :func:`ddlib.experiments.tuned_comparison` with the budget of ``base``, the knob ``grid`` and ``seeds``.

    Returns one row per configuration: ``label``, ``spec``, and the :func:`ddlib.experiments.summarize` statistics
    (``params``, the chosen knobs, each metric's seed ``_mean``, ``_min``, ``_max``).
    """
    selections: list[Selection] = tuned_comparison(list(specs.values()), base, grid, seeds, scheduler=scheduler,
                                                   workers=workers)
    return [{**summarize(sel), "label": label, "spec": sel.spec} for label, sel in zip(specs, selections)]
