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

**The banded-plus-low-rank operator** :cite:p:`nguyen2021fmmformer` (:class:`ddlib.banded.BandedLowRank`) is

.. math::  u = w\,(B + UV^T) f, \qquad B_{pq} = 0 \text{ for } \max_k |p_k-q_k| > b,
           \quad U, V \in \mathbb{R}^{n\times r},

with :math:`(m(2b+1) - b(b+1))^d` stencil entries (:math:`n(2b+1) - b(b+1)` in 1D) and :math:`2nr` low-rank
entries: near-field by the band, far-field by the low-rank term, the FMMformer's split of an attention matrix.
:math:`A^{-1}` is not of this form exactly (its off-diagonal blocks have rank one each in 1D, but the whole far
field has full rank), which is what the comparison tests.

:func:`operator_parts` returns the dense coarse and local parts of a DD operator; the tests use it to check that each
switch changes exactly the part it names.
"""
from __future__ import annotations

import numpy as np
import torch

from ._validate import check_int, check_positive
from .attention import DDAttention
from .banded import banded_lowrank_parameter_count
from .experiments import Selection, summarize, tuned_comparison
from .memory import check_dense
from .models import BandedSpec, DDSpec
from .problem import Problem
from .training import TrainConfig

__all__ = [
    "banded_lowrank_for_budget",
    "ablation_specs",
    "operator_parts",
    "run_ablations",
    "ABLATION_FACTOR",
    "ABLATION_KEYS",
    "ablation_key",
    "compare_to_baseline",
]


def banded_lowrank_for_budget(problem: Problem, params: int, rank: int) -> int:
    r"""The half-width ``b`` in ``0..m-1`` whose :func:`ddlib.banded.banded_lowrank_parameter_count` on
    ``problem`` with ``rank`` is closest to ``params`` (the smaller on a tie)."""
    params = check_int("params", params, low=1)
    rank = check_int("rank", rank, low=0, high=problem.n)
    counts = [banded_lowrank_parameter_count(problem.m, problem.dim, b, rank) for b in range(problem.m)]
    return int(np.argmin(np.abs(np.array(counts) - params)))


def ablation_specs(problem: Problem, N: int = 8, delta: int = 2, local_rank: int = 4, *, deltas=(0, 1, 4), Ns=(4, 16),
                   fmm_rank: int = 2) -> dict:
    r"""The ablation set on ``problem`` as ``label -> spec`` (see the module docstring), the baseline first.

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
    b = banded_lowrank_for_budget(problem, base.parameter_count(problem), fmm_rank)
    specs["banded + low rank"] = BandedSpec(bandwidth=b, rank=int(fmm_rank))
    return specs


def operator_parts(model: DDAttention) -> dict:
    r"""Dense ``coarse`` (:math:`w\,\Phi Q_0K_0^T\Phi^T`) and ``local`` (:math:`w\sum_i R_i^TW^L_iQ_iK_i^TW^R_iR_i`)
    parts, :math:`w = h^d` the quadrature weight."""
    if not isinstance(model, DDAttention):
        raise ValueError(f"model must be a DDAttention; got {type(model).__name__}")
    check_dense((3, model.n, model.n), "operator_parts (the identity, the coarse and the local part, dense)",
                "apply model.coarse_part and model.local_part to the few columns you need", dtype=model.dtype)
    eye = torch.eye(model.n, dtype=model.dtype)
    with torch.no_grad():
        coarse = model.coarse_part(eye) * model.weight
        local = model.local_part(eye) * model.weight
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


#: A variant whose operator error is more than this factor above (below) the baseline's counts as worse (better).
ABLATION_FACTOR = 1.5
#: Short keys of the fixed variants (manifest numbers and glue names); the others are derived by :func:`ablation_key`.
ABLATION_KEYS = {"baseline": "base", "no coarse": "nocoarse", "coarse only": "coarseonly", "no overlap": "nooverlap",
                 "D one side": "left", "Boolean": "boolean", "Nicolaides": "nicolaides", "banded + low rank": "fmm"}


def ablation_key(label: str) -> str:
    """The short key of a variant: :data:`ABLATION_KEYS`, else ``"δ = 4"`` -> ``"delta4"``, ``"N = 16"`` -> ``"N16"``.

    >>> ablation_key("coarse only"), ablation_key("δ = 4"), ablation_key("N = 16")
    ('coarseonly', 'delta4', 'N16')
    """
    return ABLATION_KEYS.get(label, label.replace("δ = ", "delta").replace("N = ", "N").replace(" ", ""))


def compare_to_baseline(rows: list[dict], metric: str = "operator_error", factor: float = ABLATION_FACTOR) -> dict:
    r"""Each variant of :func:`run_ablations` against the ``"baseline"`` row by the seed mean of ``metric``.

    Returns ``ratio`` (``key -> variant / baseline``, keys of :func:`ablation_key`), ``worse`` and ``better`` (the
    labels with a ratio above ``factor``, below ``1/factor``, in the order of ``rows``) and ``factor``.
    """
    base = next((r for r in rows if r["label"] == "baseline"), None)
    if base is None:
        raise ValueError("rows must hold the 'baseline' row of run_ablations")
    factor = check_positive("factor", factor)
    ratio = {ablation_key(r["label"]): r[f"{metric}_mean"] / base[f"{metric}_mean"] for r in rows}
    others = [r for r in rows if r["label"] != "baseline"]
    return {"ratio": ratio, "factor": factor,
            "worse": [r["label"] for r in others if ratio[ablation_key(r["label"])] > factor],
            "better": [r["label"] for r in others if ratio[ablation_key(r["label"])] < 1 / factor]}
