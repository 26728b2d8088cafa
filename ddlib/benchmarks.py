r"""Benchmark suites: what DD attention costs against global attention, against the same FLOPs done as one plain
batched matrix product (:func:`torch.bmm`, the practical ceiling of any implementation), and against the classical
anchor for applying :math:`A^{-1}`: the banded direct solve (:func:`ddlib.problem.solve`, :math:`O(n)` per
right-hand side).

The suite (``make bench``, ``benchmarks/run.py``) and chapter 7 run :func:`scaling_benchmark`, summarise it with
:func:`summarize_scaling` and race the two operators in training with :func:`race`. The building blocks live in
their own modules: :mod:`ddlib.timing` (medians, paired ratios, CPU counters, power-law fits), :mod:`ddlib.memory`
(peak resident memory) and :mod:`ddlib.costmodel` (FLOPs, bytes moved, matched ranks).

Conventions
-----------
* Forward passes run under :func:`torch.inference_mode`; forward+backward passes under grad mode with the loss
  :math:`\tfrac{1}{B}\sum_b \|M f_b\|^2` (any scalar loss costs the same backward pass).
* :func:`time_module`, :func:`time_bmm` and :func:`time_banded_solve` return ``{"seconds": median, "best": fastest
  repeat, "spread": (max - min) / median, "peak_bytes": RSS peak or None}`` (:func:`ddlib.timing.time_callable`,
  :func:`ddlib.memory.peak_memory`).

Examples
--------
>>> from ddlib.benchmarks import column
>>> column([{"n": 7}, {"n": 15, "t": 0.5}], "t")
array([nan, 0.5])
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from ._validate import check_choice, check_finite, check_int, check_positive
from .attention import DDAttention, GlobalAttention, reference_apply
from .costmodel import (best_relative_error_global, bmm_traffic, dd_flops, dd_traffic, equal_flop_rows,
                        matched_accuracy_rank, matched_parameter_rank)
from .decomposition import Decomposition
from .memory import peak_memory
from .problem import solve
from .timing import Timing, fit_exponent, time_callable, time_paired
from .training import time_to_target, train

__all__ = [
    "equal_flop_bmm",
    "time_module",
    "time_bmm",
    "time_banded_solve",
    "scaling_benchmark",
    "summarize_scaling",
    "column",
    "race",
]


# ------------------------------------------------------------------------------------------------------ operands
def equal_flop_bmm(flops: int, batch: int, groups: int, inner: int, *, dtype=None, seed: int = 0):
    r"""Operands ``(W, X)`` of one :func:`torch.bmm` with (about) ``flops`` FLOPs: the practical ceiling.

    ``X`` has shape ``(groups, inner, batch)`` (for DD attention: the gathered subdomain blocks, ``groups = N``,
    ``inner = n_max``) and ``W`` shape ``(groups, k, inner)`` with :math:`k = \lceil F / (2\,G\,\ell\,B) \rceil`
    (:func:`ddlib.costmodel.equal_flop_rows`), so ``torch.bmm(W, X)`` costs :math:`2G\ell B k \ge F` FLOPs, less
    than :math:`F + 2G\ell B` (at most one row more than needed). It is the same data layout as DD attention, but all
    FLOPs in one dense call without gather, scatter or coarse level. Entries are seeded standard normal.
    """
    k = equal_flop_rows(flops, groups, inner, batch)  # checks that all four are integers >= 1
    groups, inner, batch = int(groups), int(inner), int(batch)
    g = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    dtype = dtype or torch.float64
    W = torch.randn(groups, k, inner, generator=g, dtype=dtype)
    X = torch.randn(groups, inner, batch, generator=g, dtype=dtype)
    return W, X


# ------------------------------------------------------------------------------------------------------ timing ops
def time_module(module, f, *, backward: bool = False, memory: bool = False, **timing) -> dict:
    r"""Time ``module(f)`` (``f`` a ``(batch, n)`` tensor): forward under :func:`torch.inference_mode`, or with
    ``backward=True`` forward plus the backward pass of :math:`\tfrac1B\sum_b\|M f_b\|^2` (gradients freed after
    each call). ``timing`` goes to :func:`ddlib.timing.time_callable`; ``memory=True`` adds the RSS peak of one more
    call. Returns the dict of the module docstring."""
    call = _fwd_bwd_call(module, f) if backward else _forward_call(module, f)
    return _measure(call, memory, **timing)


def time_bmm(W, X, *, memory: bool = False, **timing) -> dict:
    """Time ``torch.bmm(W, X)`` under :func:`torch.inference_mode` (see :func:`equal_flop_bmm`)."""
    return _measure(_bmm_call(W, X), memory, **timing)


def time_banded_solve(f: np.ndarray, *, memory: bool = False, **timing) -> dict:
    r"""Time the classical anchor: :func:`ddlib.problem.solve` (banded LAPACK, :math:`O(n)` per right-hand side) on
    the ``(batch, n)`` array ``f``."""
    f = np.ascontiguousarray(check_finite("f", f))
    return _measure(lambda: solve(f), memory, **timing)


def _measure(call: Callable[[], object], memory: bool, **timing) -> dict:
    t = time_callable(call, **timing)
    peak = peak_memory(call).rss if memory else None
    return {"seconds": t.median, "best": t.best, "spread": t.spread, "peak_bytes": peak}


def _forward_call(module, f) -> Callable[[], None]:
    """``module(f)`` under :func:`torch.inference_mode`, as a call without arguments."""
    def call():
        with torch.inference_mode():
            module(f)

    return call


def _fwd_bwd_call(module, f) -> Callable[[], None]:
    r"""Forward and backward pass of :math:`\tfrac1B\sum_b\|M f_b\|^2`, gradients freed afterwards."""
    def call():
        out = module(f)
        (out.square().sum() / f.shape[0]).backward()
        for p in module.parameters():
            p.grad = None

    return call


def _bmm_call(W, X) -> Callable[[], None]:
    def call():
        with torch.inference_mode():
            torch.bmm(W, X)

    return call


class _ReferencePath:
    """A :class:`ddlib.attention.DDAttention` applied through :func:`ddlib.attention.reference_apply` (index gathers
    and ``index_add``), with the two things :func:`time_module` uses of a module: a call on right-hand sides stored
    as rows, ``(batch, n)``, and ``parameters()``."""

    def __init__(self, model: DDAttention):
        self.model = model

    def __call__(self, f: torch.Tensor) -> torch.Tensor:
        return reference_apply(self.model, f.T).T  # reference_apply takes right-hand sides as columns, (n, batch)

    def parameters(self):
        return self.model.parameters()


# ------------------------------------------------------------------------------------------------------ suites
def scaling_benchmark(ps, *, m: int = 64, delta: int = 4, rank: int = 8, coarse_rank: int = 8, batch: int = 32,
                      backward_max_p: int = 16, global_max_p: int = 16, accuracy_max_bytes: float = 2**30,
                      banded: bool = True, gather: bool = True, memory: bool = True, repeats: int = 5,
                      seed: int = 0, min_repeat_seconds: float = 0.02, paired_repeats: int = 9) -> list[dict]:
    r"""Time DD attention, global attention and the anchors at :math:`n = 2^p - 1` for ``p`` in ``ps``.

    DD attention uses ``N = 2^p / m`` subdomains of ``m`` intervals (fixed size, so its cost should be
    :math:`O(n)`), overlap ``delta``, local rank ``rank`` and coarse rank ``min(coarse_rank, N - 1)``, random seeded
    factors. Per size one row (a dict) with, for a batch of ``batch`` right-hand sides:

    ``dd_forward``, ``dd_fwd_bwd``, ``dd_peak_bytes``
        :class:`ddlib.attention.DDAttention` forward (inference mode), forward+backward (``p <= backward_max_p``),
        and the RSS peak of one forward+backward (forward alone above ``backward_max_p``);
    ``columns_forward``
        ``DDAttention.apply_columns`` on the right-hand sides stored as contiguous columns (the training path);
    ``dd_grad_forward``
        the forward pass with grad enabled (no backward): the factors are re-laid and the weights folded in every
        call, which inference mode caches;
    ``gather_forward``, ``gather_fwd_bwd``
        the same operator through the reference path, :func:`ddlib.attention.reference_apply` (index gathers
        and ``index_add``; the implementation before the window layout), with ``gather=True`` and
        ``p <= backward_max_p``;
    ``global_params_rank``, ``global_forward``, ``global_fwd_bwd``, ``global_peak_bytes``
        :class:`ddlib.attention.GlobalAttention` at matched parameter count
        (:func:`ddlib.costmodel.matched_parameter_rank`), up to ``p <= global_max_p``;
    ``global_accuracy_rank``, ``global_accuracy_forward``, ``global_accuracy_fwd_bwd``
        global attention at matched best accuracy (:func:`ddlib.costmodel.matched_accuracy_rank`), where its two
        factors fit in ``accuracy_max_bytes`` (else NaN, with ``global_accuracy_skipped`` true);
    ``bmm_forward``, ``bmm_k``, ``dd_flops``
        one :func:`torch.bmm` with DD's forward FLOPs (:func:`equal_flop_bmm`);
    ``dd_bytes``, ``bmm_bytes``
        the memory traffic of both (:func:`ddlib.costmodel.dd_traffic`, :func:`ddlib.costmodel.bmm_traffic`;
        ``N >= 3``);
    ``dd_vs_bmm_paired``, ``dd_vs_bmm_paired_q1``, ``dd_vs_bmm_paired_q3``
        ``dd_forward`` and ``bmm_forward`` are timed together by :func:`ddlib.timing.time_paired` (alternating blocks,
        ``max(paired_repeats, repeats)`` pairs): the median of the per-pair ratios and its quartiles;
    ``banded_solve``
        :func:`ddlib.problem.solve` on the same right-hand sides (float64 NumPy).

    Times are medians (:func:`ddlib.timing.time_callable`). Missing measurements are NaN.
    """
    m = check_int("m", m, low=2)
    batch = check_int("batch", batch, low=1)
    ps = [_check_p(p, m) for p in ps]
    timing = dict(repeats=check_int("repeats", repeats, low=1), min_repeat_seconds=min_repeat_seconds)
    paired = dict(repeats=max(check_int("paired_repeats", paired_repeats, low=1), timing["repeats"]),
                  min_repeat_seconds=min_repeat_seconds)
    rows = []
    for p in ps:
        n, N = 2**p - 1, 2**p // m
        dd = DDAttention(Decomposition(n, N, delta), rank, min(coarse_rank, N - 1), seed=seed)
        f = torch.randn(batch, n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        back = p <= backward_max_p
        row = {"p": p, "n": n, "N": N, "m": m, "delta": delta, "rank": rank, "coarse_rank": min(coarse_rank, N - 1),
               "batch": batch, "dd_params": dd.num_parameters()}
        if memory:
            row["dd_peak_bytes"] = _peak_bytes(dd, f, back)
        row |= _dd_against_bmm(row, dd, f, seed=seed, **paired)
        row |= _dd_paths(dd, f, backward=back, gather=gather, timing=timing)
        timed = p <= global_max_p
        row |= _global_matched_parameters(row, f, timed=timed, backward=back, memory=memory, seed=seed, timing=timing)
        row |= _global_matched_accuracy(row, f, timed=timed, backward=back, max_bytes=accuracy_max_bytes, seed=seed,
                                        timing=timing)
        if banded:
            row |= _timed("banded_solve", time_banded_solve(f.numpy(), **timing))
        rows.append(row)
    return rows


def _check_p(p, m: int) -> int:
    p = check_int("p", p, low=1)
    if 2**p % m or 2**p // m < 2:
        raise ValueError(f"p must satisfy 2^p >= 2 m with m = {m} a power of two dividing 2^p; got p = {p}")
    return p


def _peak_bytes(module, f, backward: bool) -> int | None:
    """RSS peak of one forward (+ backward) pass, measured after one timed call that warms the pass up."""
    return time_module(module, f, backward=backward, memory=True, repeats=1, number=1, warmup=0)["peak_bytes"]


def _dd_against_bmm(row: dict, dd: DDAttention, f, *, seed: int, **paired) -> dict:
    """DD's forward pass and the equal-FLOP ``torch.bmm``, timed in alternating pairs, with their FLOPs and bytes."""
    n, N, delta, rank, r0, batch = (row[k] for k in ("n", "N", "delta", "rank", "coarse_rank", "batch"))
    n_max = dd.decomposition.n_max
    flops = dd_flops(n, N, delta, rank, r0, batch)
    W, X = equal_flop_bmm(flops, batch, N, n_max, seed=seed)
    out = {"dd_flops": flops, "bmm_k": int(W.shape[1])}
    if N >= 3:
        out |= {"dd_bytes": dd_traffic(n, N, delta, rank, r0, batch)["total"],
                "bmm_bytes": bmm_traffic(N, int(W.shape[1]), n_max, batch)}
    pair = time_paired(_forward_call(dd, f), _bmm_call(W, X), **paired)
    q1, q3 = pair.quartiles
    return (out | _timed("dd_forward", pair.a) | _timed("bmm_forward", pair.b)
            | {"dd_vs_bmm_paired": pair.ratio, "dd_vs_bmm_paired_q1": q1, "dd_vs_bmm_paired_q3": q3})


def _dd_paths(dd: DDAttention, f, *, backward: bool, gather: bool, timing: dict) -> dict:
    """DD's other ways in: forward+backward, ``apply_columns`` on contiguous columns (the training path), the forward
    pass with grad enabled, and the reference path (forward and backward, only where ``backward`` and ``gather``)."""
    out = _timed("dd_fwd_bwd", time_module(dd, f, backward=True, **timing) if backward else None)
    out |= _timed("columns_forward", time_callable(_forward_call(dd.apply_columns, f.T.contiguous()), **timing))
    out |= _timed("dd_grad_forward", time_callable(lambda: dd(f), **timing))
    if gather and backward:
        out |= _forward_and_backward("gather", _ReferencePath(dd), f, backward=True, timing=timing)
    return out


def _global_matched_parameters(row: dict, f, *, timed: bool, backward: bool, memory: bool, seed: int,
                               timing: dict) -> dict:
    """Global attention with about DD's parameter count (:func:`ddlib.costmodel.matched_parameter_rank`)."""
    n = row["n"]
    rank = matched_parameter_rank(row["dd_params"], n)
    out = {"global_params_rank": rank, "global_params_params": 2 * n * rank}
    if timed:
        gl = GlobalAttention(n, rank, seed=seed)
        if memory:
            out["global_peak_bytes"] = _peak_bytes(gl, f, backward)
        out |= _forward_and_backward("global", gl, f, backward=backward, timing=timing)
    return out


def _global_matched_accuracy(row: dict, f, *, timed: bool, backward: bool, max_bytes: float, seed: int,
                             timing: dict) -> dict:
    """Global attention with DD's best error (:func:`ddlib.costmodel.matched_accuracy_rank`), timed where ``timed``
    and its two factors fit in ``max_bytes``; NaN times and ``global_accuracy_skipped`` true otherwise."""
    n = row["n"]
    rank = min(matched_accuracy_rank(row["N"], row["rank"]), n)
    out = {"global_accuracy_rank": rank, "global_accuracy_params": 2 * n * rank,
           "best_error_dd": best_relative_error_global(n, rank)}
    if timed and 2 * n * rank * 8 <= max_bytes:
        ga = GlobalAttention(n, rank, seed=seed)
        return out | {"global_accuracy_skipped": False} | _forward_and_backward("global_accuracy", ga, f,
                                                                               backward=backward, timing=timing)
    return (out | {"global_accuracy_skipped": True} | _timed("global_accuracy_forward", None)
            | _timed("global_accuracy_fwd_bwd", None))


def _forward_and_backward(prefix: str, module, f, *, backward: bool, timing: dict) -> dict:
    """``<prefix>_forward`` and ``<prefix>_fwd_bwd`` (NaN unless ``backward``) of :func:`time_module`."""
    return (_timed(f"{prefix}_forward", time_module(module, f, **timing))
            | _timed(f"{prefix}_fwd_bwd", time_module(module, f, backward=True, **timing) if backward else None))


def _timed(key: str, result) -> dict:
    """A measurement as ``{key: median seconds, key + "_best": fastest repeat}``; NaN for both if ``result`` is None."""
    if result is None:
        return {key: float("nan"), key + "_best": float("nan")}
    if isinstance(result, Timing):
        return {key: result.median, key + "_best": result.best}
    return {key: result["seconds"], key + "_best": result["best"]}


def column(rows: list[dict], key: str) -> np.ndarray:
    """One column of a table of rows (list of dicts) as a float array, NaN where a row lacks the key."""
    return np.array([float(r.get(key, np.nan)) if r.get(key) is not None else np.nan for r in rows])


def summarize_scaling(rows: list[dict], *, fit_from: int = 10, fit_to: int = 16, ratio_at: int = 16,
                      statistic: str = "median") -> dict:
    r"""The headline numbers of a :func:`scaling_benchmark` table.

    ``dd_time_exponent`` (and likewise ``gather_``, ``columns_``, ``dd_grad_``, ``global_``, ``global_accuracy_``,
    ``banded_``, ``bmm_``, ``dd_fwd_bwd_``, ``gather_fwd_bwd_``): :func:`ddlib.timing.fit_exponent` of the times over
    ``fit_from <= p <= fit_to``, with its standard error (``..._stderr``); ``dd_vs_bmm_ratio`` (and ``gather_``,
    ``columns_``, ``dd_grad_vs_bmm_ratio``): forward time over the equal-FLOP ``torch.bmm`` time at ``p = ratio_at``
    (NaN if that size is absent). ``statistic`` picks the median times (``"median"``) or the fastest repeats (``"best"``).

    With ``statistic="median"`` and a row that holds the paired measurement (``dd_vs_bmm_paired``, see
    :func:`scaling_benchmark`), ``dd_vs_bmm_ratio`` is that paired median, with its quartiles
    ``dd_vs_bmm_ratio_q1``/``_q3``; the ratio of the two medians (over the same alternating blocks) is kept as
    ``dd_vs_bmm_ratio_of_medians``. ``dd_vs_bmm_bytes_ratio``: :func:`ddlib.costmodel.dd_traffic` over
    :func:`ddlib.costmodel.bmm_traffic` at that size.
    """
    check_choice("statistic", statistic, ("median", "best"))
    suffix = "" if statistic == "median" else "_best"
    p = column(rows, "p")
    n = column(rows, "n")
    sel = (p >= fit_from) & (p <= fit_to)
    out = {"statistic": statistic, "fit_range_p": [int(fit_from), int(fit_to)], "ratio_at_n": int(2**ratio_at - 1)}
    for key, col in (("dd", "dd_forward"), ("gather", "gather_forward"), ("columns", "columns_forward"),
                     ("dd_grad", "dd_grad_forward"), ("global", "global_forward"),
                     ("global_accuracy", "global_accuracy_forward"), ("banded", "banded_solve"),
                     ("bmm", "bmm_forward"), ("dd_fwd_bwd", "dd_fwd_bwd"), ("gather_fwd_bwd", "gather_fwd_bwd"),
                     ("global_fwd_bwd", "global_fwd_bwd")):
        t = column(rows, col + suffix)
        ok = sel & np.isfinite(t)
        fit = fit_exponent(n[ok], t[ok]) if np.unique(n[ok]).size >= 2 else None
        out[f"{key}_time_exponent"] = fit.exponent if fit else float("nan")
        out[f"{key}_time_exponent_stderr"] = fit.stderr if fit else float("nan")
    at = p == ratio_at
    bmm = column(rows, "bmm_forward" + suffix)[at]
    for key in ("dd", "gather", "columns", "dd_grad"):
        t = column(rows, f"{key}_forward{suffix}")[at]
        out[f"{key}_vs_bmm_ratio"] = float(t[0] / bmm[0]) if t.size else float("nan")
    out["dd_vs_bmm_ratio_of_medians"] = out["dd_vs_bmm_ratio"]
    dd_b, bmm_b = column(rows, "dd_bytes")[at], column(rows, "bmm_bytes")[at]
    out["dd_vs_bmm_bytes_ratio"] = float(dd_b[0] / bmm_b[0]) if dd_b.size else float("nan")
    paired = column(rows, "dd_vs_bmm_paired")[at]
    if statistic == "median" and paired.size and np.isfinite(paired[0]):
        out["dd_vs_bmm_ratio"] = float(paired[0])
        out["dd_vs_bmm_ratio_q1"] = float(column(rows, "dd_vs_bmm_paired_q1")[at][0])
        out["dd_vs_bmm_ratio_q3"] = float(column(rows, "dd_vs_bmm_paired_q3")[at][0])
    return out


def race(configs: dict, target: float, metric: str = "error_in_band") -> dict:
    r"""Train each configuration (name -> :class:`ddlib.training.TrainConfig`) one after another, without the cache
    (so the seconds are measured in this run, on this machine), and report when each first reaches ``metric <= target``.

    Returns name -> ``{"epoch", "seconds", "final_error", "total_seconds", "parameters", "history_seconds",
    "history_epoch", "history_error"}``; ``epoch`` and ``seconds`` are NaN if the target was never reached (read by
    :func:`ddlib.training.time_to_target` between the recorded evaluation epochs).
    """
    check_positive("target", target)
    out = {}
    for name, cfg in configs.items():
        res = train(cfg, cache_results=False, progress=False)
        epoch, seconds = time_to_target(res, target, metric)
        out[name] = {"epoch": epoch, "seconds": seconds, "final_error": float(res.curve(metric)[-1]),
                     "total_seconds": float(res.curve("seconds")[-1]), "parameters": int(res.num_parameters),
                     "history_seconds": res.curve("seconds").tolist(), "history_epoch": res.curve("epoch").tolist(),
                     "history_error": res.curve(metric).tolist()}
    return out
