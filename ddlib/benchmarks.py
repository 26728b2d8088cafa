r"""Benchmark suites: what DD attention costs against global attention, against the same FLOPs done as one plain
batched matrix product (:func:`torch.bmm`, the practical ceiling of any implementation), and against the classical
anchor for applying :math:`A^{-1}`: the fast direct solve (:meth:`ddlib.problem.Problem.solve`, sine transforms,
:math:`O(n\log n)` per right-hand side).

The suite (``make bench``, ``benchmarks/run.py``) and chapter 7 run :func:`scaling_benchmark` (1D, against every
anchor) and :func:`dimension_scaling` (the generic path in 2D and 3D), summarise them with :func:`summarize_scaling`
and race the two operators in training with :func:`race`; :func:`report_performance` turns it all into the plain
records chapter 7 glues. The building blocks live in their own modules: :mod:`ddlib.timing` (medians, paired
ratios, CPU counters, power-law fits), :mod:`ddlib.memory` (peak resident memory) and :mod:`ddlib.costmodel` (FLOPs,
bytes moved, matched ranks).

Conventions
-----------
* Four ways into DD attention are timed, each **paired** with the equal-FLOP ``torch.bmm``
  (:func:`ddlib.timing.time_paired`): ``dd`` (the default ``model(f)`` on rows ``(batch, n)``), ``columns``
  (``apply_columns`` on contiguous columns ``(n, batch)``), each under :func:`torch.inference_mode` and with grad
  enabled (``dd_grad``, ``columns_grad``: the forward pass of training, which builds the autograd graph).
* Forward+backward passes run under grad mode with the loss :math:`\tfrac{1}{B}\sum_b \|M f_b\|^2` (any scalar loss
  costs the same backward pass).
* :func:`time_module`, :func:`time_bmm` and :func:`time_direct_solve` return ``{"seconds": median, "best": fastest
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
from .attention import DDAttention, GlobalAttention, Structure
from .costmodel import (best_relative_error_global, bmm_traffic, dd_factor_nnz, dd_flops, dd_traffic, equal_flop_rows,
                        matched_accuracy_rank, matched_parameter_rank, traffic_ratio)
from .decomposition import Decomposition
from .memory import peak_memory
from .problem import Problem
from .timing import Timing, fit_exponent, time_callable, time_paired
from .training import OPTIMIZER_NAMES, time_to_target, train

__all__ = [
    "equal_flop_bmm",
    "time_module",
    "time_bmm",
    "time_direct_solve",
    "scaling_benchmark",
    "dimension_scaling",
    "summarize_scaling",
    "column",
    "race",
    "report_performance",
    "target_verdict",
    "dimension_fit",
    "PATHS",
]

#: The four timed ways into DD attention (module docstring): key -> (input layout, grad enabled).
PATHS = {"dd": ("rows", False), "columns": ("columns", False), "dd_grad": ("rows", True),
         "columns_grad": ("columns", True)}


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


def time_direct_solve(problem: Problem, f: np.ndarray, *, memory: bool = False, **timing) -> dict:
    r"""Time the classical anchor: :meth:`ddlib.problem.Problem.solve` (orthonormal sine transforms, exact,
    :math:`O(n\log n)` per right-hand side) on the ``(batch, n)`` array ``f``."""
    f = np.ascontiguousarray(check_finite("f", f))
    return _measure(lambda: problem.solve(f), memory, **timing)


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


def _path_call(model: DDAttention, f: torch.Tensor, path: str) -> Callable[[], None]:
    """One forward pass of :data:`PATHS` ``path`` on the rows ``f`` (``columns``: on their contiguous copy, made
    once here, outside the timing)."""
    layout, grad = PATHS[path]
    x, apply = (f, model) if layout == "rows" else (f.T.contiguous(), model.apply_columns)
    if grad:
        return lambda: apply(x)
    return _forward_call(apply, x)


class _GatherPath:
    """A :class:`ddlib.attention.DDAttention` applied through its generic path, :meth:`DDAttention.gather_apply`,
    with the two things :func:`time_module` uses of a module: a call on right-hand sides stored as rows,
    ``(batch, n)``, and ``parameters()``."""

    def __init__(self, model: DDAttention):
        self.model = model

    def __call__(self, f: torch.Tensor) -> torch.Tensor:
        return self.model.gather_apply(f.T).T

    def parameters(self):
        return self.model.parameters()


# ------------------------------------------------------------------------------------------------------ suites
def scaling_benchmark(ps, *, box: int = 64, delta: int = 4, rank: int = 8, coarse_rank: int = 8, batch: int = 32,
                      backward_max_p: int = 16, global_max_p: int = 16, accuracy_max_bytes: float = 2**30,
                      direct: bool = True, gather: bool = True, memory: bool = True, repeats: int = 5,
                      seed: int = 0, min_repeat_seconds: float = 0.02, paired_repeats: int = 9) -> list[dict]:
    r"""Time DD attention, global attention and the anchors in 1D at :math:`n = 2^p - 1` for ``p`` in ``ps``.

    DD attention uses ``N = 2^p / box`` subdomains of ``box`` intervals (fixed size, so its cost should be
    :math:`O(n)`), overlap ``delta``, local rank ``rank`` and coarse rank ``min(coarse_rank, N - 1)``, random seeded
    factors. Per size one row (a dict) with, for a batch of ``batch`` right-hand sides, the columns of
    :func:`dimension_scaling` (the four paths of :data:`PATHS` paired with the equal-FLOP ``bmm``, forward+backward,
    the gather path, peak memory, FLOPs) and:

    ``dd_bytes``, ``bmm_bytes``
        the memory traffic of both (:func:`ddlib.costmodel.dd_traffic`, :func:`ddlib.costmodel.bmm_traffic`);
    ``global_params_rank``, ``global_forward``, ``global_fwd_bwd``, ``global_peak_bytes``
        :class:`ddlib.attention.GlobalAttention` at matched parameter count
        (:func:`ddlib.costmodel.matched_parameter_rank`), up to ``p <= global_max_p``;
    ``global_accuracy_rank``, ``global_accuracy_forward``, ``global_accuracy_fwd_bwd``
        global attention at matched best accuracy (:func:`ddlib.costmodel.matched_accuracy_rank`), where its two
        factors fit in ``accuracy_max_bytes`` (else NaN, with ``global_accuracy_skipped`` true);
    ``direct_solve``
        :meth:`ddlib.problem.Problem.solve` on the same right-hand sides (float64 NumPy).

    Times are medians (:func:`ddlib.timing.time_callable`). Missing measurements are NaN.
    """
    box = check_int("box", box, low=2)
    ps = [_check_p(p, box) for p in ps]
    rows = []
    for p in ps:
        n, N = 2**p - 1, 2**p // box
        back = p <= backward_max_p
        s = Structure(Decomposition(Problem(n), N, delta))
        row = {"p": p, **_dd_row(s, rank, coarse_rank, batch=batch, seed=seed, backward=back, gather=gather and back,
                                 memory=memory, repeats=repeats, min_repeat_seconds=min_repeat_seconds,
                                 paired_repeats=paired_repeats)}
        f = _rows(n, batch, seed)
        timing = dict(repeats=repeats, min_repeat_seconds=min_repeat_seconds)
        row |= {"dd_bytes": dd_traffic(s, rank, row["coarse_rank"], batch)["total"],
                "bmm_bytes": bmm_traffic(N, row["bmm_k"], s.decomposition.n_max, batch)}
        timed = p <= global_max_p
        row |= _global_matched_parameters(row, f, timed=timed, backward=back, memory=memory, seed=seed, timing=timing)
        row |= _global_matched_accuracy(row, f, timed=timed, backward=back, max_bytes=accuracy_max_bytes, seed=seed,
                                        timing=timing)
        if direct:
            row |= _timed("direct_solve", time_direct_solve(Problem(n), f.numpy(), **timing))
        rows.append(row)
    return rows


def dimension_scaling(dim: int, Ns, *, box: int, delta: int, rank: int = 8, coarse_rank: int = 8, batch: int = 32,
                      backward: bool = True, memory: bool = False, repeats: int = 5, seed: int = 0,
                      min_repeat_seconds: float = 0.02, paired_repeats: int = 9) -> list[dict]:
    r"""Time DD attention on the ``dim``-dimensional grid of ``m = N box - 1`` nodes a side for ``N`` in ``Ns``
    (fixed box ``box`` nodes a side, overlap ``delta``, local rank ``rank``, coarse rank
    ``min(coarse_rank, N_0)`` with the hat (Q1) coarse space): the path ``DDAttention`` takes by default (in 2D and
    3D the generic gather path), so that its time exponent in :math:`n = m^d` can be fitted.

    One row per size with ``dim``, ``m``, ``n``, ``N``, ``box``, ``delta``, ``rank``, ``coarse_rank``, ``batch``,
    ``n_sub``, ``n_max``, ``dd_params``; per path of :data:`PATHS` the median ``<path>_forward`` and fastest
    ``<path>_forward_best`` seconds, paired with the equal-FLOP ``bmm`` (``dd_flops``, ``bmm_k``, ``groups =
    N^d`` boxes of ``inner = n_max`` slots): ``<path>_vs_bmm`` (median of the per-pair ratios) with
    ``<path>_vs_bmm_q1``/``_q3``, and ``bmm_forward`` (from the ``dd`` pairs); ``dd_fwd_bwd`` (forward+backward, with
    ``backward``) and ``dd_peak_bytes`` (with ``memory``).
    """
    dim = check_int("dim", dim, low=1, high=3)
    box = check_int("box", box, low=2)
    rows = []
    for N in Ns:
        N = check_int("N", N, low=1)
        dec = Decomposition(Problem((N * box - 1,) * dim), N, delta)
        rows.append(_dd_row(Structure(dec), rank, coarse_rank, batch=batch, seed=seed, backward=backward,
                            gather=False, memory=memory, repeats=repeats, min_repeat_seconds=min_repeat_seconds,
                            paired_repeats=paired_repeats))
    return rows


def _check_p(p, box: int) -> int:
    p = check_int("p", p, low=1)
    if 2**p % box or 2**p // box < 2:
        raise ValueError(f"p must satisfy 2^p >= 2 box with box = {box} a power of two dividing 2^p; got p = {p}")
    return p


def _rows(n: int, batch: int, seed: int) -> torch.Tensor:
    return torch.randn(check_int("batch", batch, low=1), n, generator=torch.Generator().manual_seed(seed),
                       dtype=torch.float64)


def _dd_row(s: Structure, rank: int, coarse_rank: int, *, batch: int, seed: int, backward: bool, gather: bool,
            memory: bool, repeats: int, min_repeat_seconds: float, paired_repeats: int) -> dict:
    """The DD columns of one size (:func:`dimension_scaling`)."""
    dec = s.decomposition
    r0 = min(check_int("coarse_rank", coarse_rank, low=0), s.N0)
    dd = DDAttention(s, rank, r0, seed=seed)
    f = _rows(dec.n, batch, seed)
    timing = dict(repeats=check_int("repeats", repeats, low=1), min_repeat_seconds=min_repeat_seconds)
    paired = dict(repeats=max(check_int("paired_repeats", paired_repeats, low=1), timing["repeats"]),
                  min_repeat_seconds=min_repeat_seconds)
    row = {"dim": dec.dim, "m": dec.m, "n": dec.n, "N": dec.N, "box": dec.box, "delta": dec.delta, "rank": rank,
           "coarse_rank": r0, "batch": batch, "n_sub": dec.n_sub, "n_max": dec.n_max, "dd_params": dd.num_parameters()}
    if memory:
        row["dd_peak_bytes"] = _peak_bytes(dd, f, backward)
    row |= _paths_against_bmm(row, dd, f, seed=seed, **paired)
    row |= _timed("dd_fwd_bwd", time_module(dd, f, backward=True, **timing) if backward else None)
    if gather:
        row |= _forward_and_backward("gather", _GatherPath(dd), f, backward=True, timing=timing)
    return row


def _peak_bytes(module, f, backward: bool) -> int | None:
    """RSS peak of one forward (+ backward) pass, measured after one timed call that warms the pass up."""
    return time_module(module, f, backward=backward, memory=True, repeats=1, number=1, warmup=0)["peak_bytes"]


def _paths_against_bmm(row: dict, dd: DDAttention, f, *, seed: int, **paired) -> dict:
    """Each path of :data:`PATHS` and the equal-FLOP ``torch.bmm``, timed in alternating pairs, with their FLOPs."""
    flops = dd_flops(dd.structure, row["rank"], row["coarse_rank"], row["batch"])
    W, X = equal_flop_bmm(flops, row["batch"], row["n_sub"], row["n_max"], seed=seed)
    out = {"dd_flops": flops, "bmm_k": int(W.shape[1])}
    for path in PATHS:
        pair = time_paired(_path_call(dd, f, path), _bmm_call(W, X), **paired)
        q1, q3 = pair.quartiles
        out |= _timed(f"{path}_forward", pair.a) | {f"{path}_vs_bmm": pair.ratio, f"{path}_vs_bmm_q1": q1,
                                                     f"{path}_vs_bmm_q3": q3}
        if path == "dd":
            out |= _timed("bmm_forward", pair.b)
    return out


def _global_matched_parameters(row: dict, f, *, timed: bool, backward: bool, memory: bool, seed: int,
                               timing: dict) -> dict:
    """Global attention with about DD's parameter count (:func:`ddlib.costmodel.matched_parameter_rank`)."""
    n = row["n"]
    rank = matched_parameter_rank(row["dd_params"], n)
    out = {"global_params_rank": rank, "global_params_params": 2 * n * rank}
    if timed:
        gl = GlobalAttention(Problem(n), rank, seed=seed)
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
           "best_error_dd": best_relative_error_global(Problem(n), rank)}
    if timed and 2 * n * rank * 8 <= max_bytes:
        ga = GlobalAttention(Problem(n), rank, seed=seed)
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


#: Timed columns whose exponent :func:`summarize_scaling` fits: summary key -> row column.
EXPONENTS = {"dd": "dd_forward", "columns": "columns_forward", "dd_grad": "dd_grad_forward",
             "columns_grad": "columns_grad_forward", "gather": "gather_forward", "global": "global_forward",
             "global_accuracy": "global_accuracy_forward", "direct": "direct_solve", "bmm": "bmm_forward",
             "dd_fwd_bwd": "dd_fwd_bwd", "gather_fwd_bwd": "gather_fwd_bwd", "global_fwd_bwd": "global_fwd_bwd"}


def summarize_scaling(rows: list[dict], *, fit=(1023, 65535), ratio_at: int = 65535, statistic: str = "median") -> dict:
    r"""The headline numbers of a :func:`scaling_benchmark` or :func:`dimension_scaling` table.

    ``<key>_time_exponent`` for every key of :data:`EXPONENTS`: :func:`ddlib.timing.fit_exponent` of the times over
    the sizes ``fit[0] <= n <= fit[1]``, with its standard error (``..._stderr``); NaN where fewer than two sizes
    hold the column. At ``n = ratio_at`` (NaN where that size is absent): per path of :data:`PATHS`
    ``<path>_vs_bmm_ratio``, the median of the per-pair ratios to the equal-FLOP ``bmm`` with its quartiles
    ``..._q1``/``..._q3`` (``statistic="best"``: the ratio of the fastest repeats instead, no quartiles);
    ``dd_vs_bmm_ratio_of_medians`` (the ratio of the two medians over the same blocks); ``gather_vs_bmm_ratio``
    (timed separately from the ``bmm``); ``dd_vs_bmm_bytes_ratio`` (:func:`ddlib.costmodel.dd_traffic` over
    :func:`ddlib.costmodel.bmm_traffic`, 1D).
    """
    check_choice("statistic", statistic, ("median", "best"))
    suffix = "" if statistic == "median" else "_best"
    n = column(rows, "n")
    sel = (n >= fit[0]) & (n <= fit[1])
    out = {"statistic": statistic, "fit_range_n": [int(fit[0]), int(fit[1])], "ratio_at_n": int(ratio_at)}
    for key, col in EXPONENTS.items():
        t = column(rows, col + suffix)
        ok = sel & np.isfinite(t)
        fit_ = fit_exponent(n[ok], t[ok]) if np.unique(n[ok]).size >= 2 else None
        out[f"{key}_time_exponent"] = fit_.exponent if fit_ else float("nan")
        out[f"{key}_time_exponent_stderr"] = fit_.stderr if fit_ else float("nan")
    at = np.flatnonzero(n == ratio_at)
    value = lambda key: float(column(rows, key)[at[0]]) if at.size else float("nan")  # noqa: E731
    bmm = value("bmm_forward" + suffix)
    for path in (*PATHS, "gather"):
        if statistic == "median" and path != "gather":
            out[f"{path}_vs_bmm_ratio"] = value(f"{path}_vs_bmm")
            out[f"{path}_vs_bmm_ratio_q1"], out[f"{path}_vs_bmm_ratio_q3"] = (value(f"{path}_vs_bmm_q1"),
                                                                              value(f"{path}_vs_bmm_q3"))
        else:
            out[f"{path}_vs_bmm_ratio"] = value(f"{path}_forward{suffix}") / bmm
    out["dd_vs_bmm_ratio_of_medians"] = value("dd_forward") / value("bmm_forward")
    out["dd_vs_bmm_bytes_ratio"] = value("dd_bytes") / value("bmm_bytes")
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


# ------------------------------------------------------------------------------------------------------ report
#: The rows of the exponent table of :func:`report_performance`: label, key of its ``numbers``.
EXPONENT_LABELS = (("DD attention, model(f)", "dd_exponent"), ("DD attention, forward+backward", "dd_fb_exponent"),
                   ("DD attention, apply_columns", "columns_exponent"),
                   ("DD attention, model(f) with grad", "grad_exponent"), ("gather path", "gather_exponent"),
                   ("equal-FLOP bmm", "bmm_exponent"), ("direct solve", "direct_exponent"),
                   ("global attention, matched parameters", "global_exponent"),
                   ("global attention, matched accuracy", "global_acc_exponent"))
#: What each path is called in the book's tables.
PATH_LABELS = {"dd": "DD attention, model(f) on rows", "columns": "DD attention, apply_columns",
               "dd_grad": "DD attention, model(f), grad enabled",
               "columns_grad": "DD attention, apply_columns, grad enabled"}


def target_verdict(value: float, target: float, q1: float | None = None, q3: float | None = None) -> str:
    """Whether ``value <= target`` held in this run, and whether the quartiles ``q1``/``q3`` of a paired measurement
    straddle the target (a verdict a shared machine could flip)."""
    if not np.isfinite(value):
        return "not measured in this run"
    if value <= target:
        return "met in this run" + (", but only just: the upper quartile of the per-pair ratios lies above it"
                                    if q3 is not None and q3 > target else "")
    return "not met in this run" + (", though the lower quartile of the per-pair ratios lies below it"
                                    if q1 is not None and q1 <= target else "")


def report_performance(rows: list[dict], dimensions: dict, race: dict, status: dict, *, fit, target_n: int,
                       target_exponent: float, target_ratio: float, small_batch: int, epochs: int,
                       steal: float) -> dict:
    r"""Everything chapter 7 states, as plain records (numbers, verdict phrases and table rows).

    Parameters
    ----------
    rows : list of dict
        :func:`scaling_benchmark` rows (1D); the last is the size of the tables.
    dimensions : dict
        ``{dim: dimension_scaling rows}`` (2D, 3D), fitted over :func:`dimension_fit`.
    race : dict
        ``{"target", "results": race(...), "chosen": {name: {"lr", "init_scale"[, "optimizer"]}}}`` (no
        ``optimizer``: Adam).
    status : dict
        The build records of ``tools/build_status.py`` (``{"full": record or None, "quick": ...}``).
    fit : (int, int)
        The 1D fit range in ``n``.
    target_n, target_exponent, target_ratio
        The size at which the targets are judged (a run that stops short is *not assessed*), the largest acceptable
        time exponent and paired ratio to the equal-FLOP ``bmm``.
    small_batch : int
        A smaller batch for the byte ratio of the traffic model.
    epochs : int
        Epochs of the race (for the time per epoch).
    steal : float
        :func:`ddlib.timing.steal_fraction` over the measurements (NaN where unreadable).

    Returns
    -------
    dict
        ``numbers`` (scalars and phrases to glue), ``exponents``, ``at_last``, ``traffic``, ``dimensions`` and
        ``race`` (table rows).
    """
    last = rows[-1]
    n = last["n"]
    s = summarize_scaling(rows, fit=fit, ratio_at=n)
    assessed = n >= target_n
    short = (f"not assessed by this quick run, which stops at n = {n} (the targets are set at n = {target_n}, where "
             "fixed per-call overheads no longer dominate)")
    structure = Structure(Decomposition(Problem(n), last["N"], last["delta"]))
    nnz = dd_factor_nnz(structure, last["rank"], last["coarse_rank"])
    numbers = {f"{k}_exponent": s[f"{v}_time_exponent"] for k, v in
               (("dd", "dd"), ("dd_fb", "dd_fwd_bwd"), ("columns", "columns"), ("grad", "dd_grad"),
                ("gather", "gather"), ("bmm", "bmm"), ("direct", "direct"), ("global", "global"),
                ("global_acc", "global_accuracy"))}
    numbers |= {"dd_exponent_se": s["dd_time_exponent_stderr"], "fit_lo": int(fit[0]), "fit_hi": int(fit[1]),
                "n_last": n, "bmm_k": last["bmm_k"], "dd_params_last": last["dd_params"],
                "acc_rank_last": last["global_accuracy_rank"], "acc_params_last": last["global_accuracy_params"],
                "best_error_last": last["best_error_dd"], "small_batch": small_batch,
                "macs_per_entry": last["dd_flops"] / (2 * n * last["batch"]),
                "coarse_macs_per_entry": (nnz["Phi"] + nnz["Phi_T"]) / n,
                "dd_mb": last["dd_bytes"] / 1e6, "bmm_mb": last["bmm_bytes"] / 1e6,
                "bytes_ratio": s["dd_vs_bmm_bytes_ratio"],
                "bytes_ratio_small": traffic_ratio(structure, last["rank"], last["coarse_rank"], small_batch),
                "bytes_ratio_inf": traffic_ratio(structure, last["rank"], last["coarse_rank"], 2**20),
                "fb_over_fwd": last["dd_fwd_bwd"] / last["dd_forward"],
                "gather_over_dd": last["gather_forward"] / last["dd_forward"],
                "dd_over_direct": last["dd_forward"] / last["direct_solve"],
                "target_exponent": target_exponent, "target_ratio": target_ratio}
    numbers |= _report_paths(s, last, target_ratio, None if assessed else short)
    numbers["exponent_verdict"] = target_verdict(s["dd_time_exponent"], target_exponent) if assessed else short
    speed = numbers["dd_over_direct"]
    numbers["direct_cmp"] = (f"{speed:.1f} times slower than the direct solve" if speed > 1 else
                             f"{1 / speed:.1f} times faster than the direct solve")
    numbers["steal_text"] = ("could not be read on this machine" if not np.isfinite(steal) else
                             f"was {100 * steal:.1f}%")
    dims = _report_dimensions(dimensions, target_n, target_exponent)
    numbers |= {f"exponent_{d['dim']}d": d["exponent"] for d in dims}
    numbers |= {f"exponent_{d['dim']}d_verdict": d["verdict"] for d in dims}
    race_rows, race_numbers = _report_race(race, epochs)
    numbers |= race_numbers | _report_builds(status)
    return {"numbers": numbers, "summary": s, "dimensions": dims, "race": race_rows,
            "exponents": [(label, numbers[key]) for label, key in EXPONENT_LABELS],
            "at_last": _report_at_last(last, numbers), "traffic": _report_traffic(last, numbers, small_batch)}


def _report_paths(s: dict, last: dict, target_ratio: float, short: str | None) -> dict:
    """Per path of :data:`PATHS` (and the gather path): time at the last size, paired ratio to the ``bmm`` with its
    quartiles, and the verdict against ``target_ratio`` (``short`` instead where the run is too small to judge)."""
    numbers = {}
    for path in (*PATHS, "gather"):
        numbers[f"{path}_ms"] = 1e3 * last[f"{path}_forward"]
        numbers[f"{path}_vs_bmm"] = s[f"{path}_vs_bmm_ratio"]
    for path in PATHS:
        q1, q3 = s[f"{path}_vs_bmm_ratio_q1"], s[f"{path}_vs_bmm_ratio_q3"]
        numbers[f"{path}_vs_bmm_q1"], numbers[f"{path}_vs_bmm_q3"] = q1, q3
        numbers[f"{path}_verdict"] = (target_verdict(s[f"{path}_vs_bmm_ratio"], target_ratio, q1, q3)
                                      if short is None else short)
    return numbers


def _report_traffic(last: dict, numbers: dict, small_batch: int) -> list[tuple]:
    """The rows of chapter 7's traffic-model table."""
    return [("multiply-adds per entry of f", numbers["macs_per_entry"]),
            ("  of which in the coarse basis", numbers["coarse_macs_per_entry"]),
            ("MB moved by one DD forward pass (every step to memory)", numbers["dd_mb"]),
            ("MB moved by the bmm", numbers["bmm_mb"]),
            ("numbers the bmm writes per subdomain and right-hand side", numbers["bmm_k"]),
            (f"byte ratio DD / bmm at a batch of {last['batch']}", numbers["bytes_ratio"]),
            (f"byte ratio at a batch of {small_batch}", numbers["bytes_ratio_small"]),
            ("byte ratio for very many right-hand sides", numbers["bytes_ratio_inf"])]


def dimension_fit(rows: list[dict]) -> tuple[int, int]:
    """The fit range of a :func:`dimension_scaling` table: from its second size (the smallest one is dominated by
    per-call costs) to its largest."""
    n = sorted(r["n"] for r in rows)
    return n[min(1, len(n) - 1)], n[-1]


def _report_at_last(last: dict, numbers: dict) -> list[dict]:
    """The table at the largest size: milliseconds and the ratio to the equal-FLOP bmm (paired, with quartiles, for
    the four paths; the gather path timed on its own)."""
    out = [{"operation": PATH_LABELS[p], "ms": numbers[f"{p}_ms"], "ratio": numbers[f"{p}_vs_bmm"],
            "q1": numbers[f"{p}_vs_bmm_q1"], "q3": numbers[f"{p}_vs_bmm_q3"]} for p in PATHS]
    others = (("gather path", "gather_forward", numbers["gather_vs_bmm"]), ("equal-FLOP bmm", "bmm_forward", 1.0),
              ("direct solve (exact)", "direct_solve", None), ("DD attention, forward+backward", "dd_fwd_bwd", None))
    return out + [{"operation": label, "ms": 1e3 * last[key], "ratio": ratio, "q1": None, "q3": None}
                  for label, key, ratio in others]


def _report_dimensions(dimensions: dict, target_n: int, target_exponent: float) -> list[dict]:
    """One record per dimension: sizes, fitted exponent of the default forward (and with grad) and the verdict."""
    out = []
    for dim, rows in sorted(dimensions.items()):
        lo, hi = dimension_fit(rows)
        s = summarize_scaling(rows, fit=(lo, hi), ratio_at=hi)
        top = rows[-1]["n"]
        out.append({"dim": int(dim), "box": rows[-1]["box"], "delta": rows[-1]["delta"], "n_lo": int(lo),
                    "n_hi": int(hi), "exponent": s["dd_time_exponent"], "stderr": s["dd_time_exponent_stderr"],
                    "grad_exponent": s["dd_grad_time_exponent"], "ratio_at_top": s["dd_vs_bmm_ratio"],
                    "n_top": int(top), "verdict": target_verdict(s["dd_time_exponent"], target_exponent)
                    if top >= target_n else f"not assessed by this quick run, which stops at n = {top}"})
    return out


def _report_race(race: dict, epochs: int) -> tuple[list[dict], dict]:
    """Table rows of the race and the phrases that compare the two models in seconds and per epoch."""
    names = {"dd": "DD attention", "global": "global attention"}
    res = race["results"]
    rows = [{"model": names.get(k, k), "parameters": r["parameters"],
             "optimizer": OPTIMIZER_NAMES[race["chosen"][k].get("optimizer", "adam")].split()[-1],  # Adam, GD
             "lr": race["chosen"][k]["lr"], "init": race["chosen"][k]["init_scale"],
             "epoch": r["epoch"] if np.isfinite(r["seconds"]) else None,
             "seconds": r["seconds"] if np.isfinite(r["seconds"]) else None, "final": r["final_error"],
             "per_epoch": 1e3 * r["total_seconds"] / epochs} for k, r in res.items()]
    seconds = {k: r["seconds"] if np.isfinite(r["seconds"]) else np.inf for k, r in res.items()}
    first = min(seconds, key=seconds.get)
    tie = len({v for v in seconds.values()}) == 1
    sentence = ("Neither model reached the target" if all(v == np.inf for v in seconds.values()) else
                "In this run both reached the target after the same time" if tie else
                f"In this run {names.get(first, first)} reached the target first in seconds")
    per_epoch = {k: 1e3 * r["total_seconds"] / epochs for k, r in res.items()}
    epoch_cmp = ("at this small size the DD operator's many small steps (windows, coarse level, overlaps) cost more "
                 "per epoch than its smaller products save" if per_epoch["dd"] > per_epoch["global"] else
                 "the DD operator's smaller products pay for its extra steps (windows, coarse level, overlaps)")
    numbers = {"race_seconds_cmp": sentence, "epoch_cmp": epoch_cmp}
    numbers |= {f"race_{k}_per_epoch_ms": v for k, v in per_epoch.items()}
    return rows, numbers


def _report_builds(status: dict) -> dict:
    """A phrase per kind of book build: its notebook time and slowest notebooks, or that none was recorded."""
    out = {}
    for kind, command in (("full", "make book"), ("quick", "make book QUICK=1")):
        rec = status.get(kind)
        out[f"book_{kind}_text"] = (
            f"no complete {command} has been recorded on this machine yet" if rec is None else
            f"the latest complete {command} executed its notebooks in {rec['seconds']:.0f} s ({rec['jobs']} at a "
            "time; slowest: " + ", ".join(f"{r['notebook'].split('/')[-1]} {r['seconds']:.0f} s" for r in
                                          sorted(rec["notebooks"], key=lambda r: -r["seconds"])[:3]) + ")")
    return out
