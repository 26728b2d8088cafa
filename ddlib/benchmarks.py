r"""Measuring cost: timing, peak memory, FLOP accounting, scaling fits and the book's build times.

The benchmark suite (``make bench``, ``benchmarks/run.py``) and chapter 6 measure what DD attention costs against
global attention, against the same FLOPs done as one plain batched matrix product (:func:`torch.bmm`, the practical
ceiling of any implementation), and against the classical anchor for applying :math:`A^{-1}`: the banded direct solve
(:func:`ddlib.problem.solve`, :math:`O(n)` per right-hand side).

Conventions
-----------
* Times are **medians** over ``repeats`` after ``warmup`` calls (:func:`time_callable`); each repeat times ``number``
  calls so that it lasts at least ``min_repeat_seconds`` (clock resolution and call overhead).
* A ratio of two times is measured **paired** (:func:`time_paired`): alternating blocks of the two calls, the ratio
  per pair, the median over pairs; the drift of a shared machine cancels in each pair.
* Forward passes run under :func:`torch.inference_mode`; forward+backward passes under grad mode with the loss
  :math:`\tfrac{1}{B}\sum_b \|M f_b\|^2` (any scalar loss costs the same backward pass).
* FLOPs count the multiply-adds of the products as executed (2 FLOPs each), padded subdomains included
  (:func:`dd_flops`, :func:`global_flops`).
* Peak memory (:func:`peak_memory`) is the rise of the process's resident-set high-water mark over the call
  (Linux: ``VmHWM`` after handing free heap back with ``malloc_trim`` and resetting the mark through
  ``/proc/self/clear_refs``), which sees PyTorch's and NumPy's allocations alike, plus the ``tracemalloc`` peak
  (NumPy and Python objects only). It is a lower bound: what the allocator keeps cached is not counted.
* Time against size is summarised by the least-squares slope of :math:`\log t` against :math:`\log n`
  (:func:`fit_exponent`): :math:`t \approx c\,n^p`.

Examples
--------
>>> import numpy as np
>>> from ddlib.benchmarks import fit_exponent, matched_accuracy_rank
>>> n = 2.0 ** np.arange(10, 17)
>>> round(fit_exponent(n, 3e-7 * n**1.5).exponent, 12)
1.5
>>> matched_accuracy_rank(N=16, rank=3)      # global rank with the DD ansatz's best error
63
"""
from __future__ import annotations

import json
import os
import statistics
import time
import tracemalloc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ._validate import check_choice, check_finite, check_int, check_positive

__all__ = [
    "Timing",
    "time_callable",
    "Memory",
    "peak_memory",
    "cpu_times",
    "steal_fraction",
    "PowerFit",
    "fit_exponent",
    "dd_flops",
    "global_flops",
    "dd_traffic",
    "bmm_traffic",
    "traffic_ratio",
    "dd_factor_nnz",
    "matched_parameter_rank",
    "matched_accuracy_rank",
    "best_relative_error_global",
    "equal_flop_bmm",
    "time_paired",
    "PairedTiming",
    "time_module",
    "time_bmm",
    "time_banded_solve",
    "read_build_status",
    "scaling_benchmark",
    "summarize_scaling",
    "column",
    "race",
]


# ------------------------------------------------------------------------------------------------------ timing
@dataclass(frozen=True)
class Timing:
    """Seconds per call: the median over repeats, with every repeat's per-call time and the calls per repeat."""

    median: float
    times: tuple[float, ...]
    number: int

    @property
    def best(self) -> float:
        """The fastest repeat: on a shared machine the least disturbed estimate of the intrinsic cost."""
        return min(self.times)

    @property
    def spread(self) -> float:
        """(max - min) / median over the repeats: how noisy the measurement was."""
        return (max(self.times) - min(self.times)) / self.median if self.median > 0 else 0.0


def time_callable(fn: Callable[[], object], *, warmup: int = 1, repeats: int = 5, number: int | None = None,
                  min_repeat_seconds: float = 0.02, clock: Callable[[], float] = time.perf_counter) -> Timing:
    r"""Median wall-clock seconds per call of ``fn()``.

    ``warmup`` untimed calls first (allocator, thread pool and kernel caches). Then ``repeats`` repeats of ``number``
    calls each; the per-call time of a repeat is its duration divided by ``number``, and the result is the median
    over repeats. With ``number=None`` it is chosen like :mod:`timeit`'s autorange: the smallest of 1, 2, 5, 10, 20,
    ... for which one timed repeat lasts at least ``min_repeat_seconds`` (the calibrating calls count as warm-up).

    ``clock`` is injectable for testing.
    """
    warmup = check_int("warmup", warmup, low=0)
    repeats = check_int("repeats", repeats, low=1)
    for _ in range(warmup):
        fn()
    if number is None:
        if min_repeat_seconds < 0:
            raise ValueError(f"min_repeat_seconds must be >= 0; got {min_repeat_seconds!r}")
        for number in _autorange_numbers():
            t0 = clock()
            for _ in range(number):
                fn()
            if clock() - t0 >= min_repeat_seconds:
                break
    number = check_int("number", number, low=1)
    times = []
    for _ in range(repeats):
        t0 = clock()
        for _ in range(number):
            fn()
        times.append((clock() - t0) / number)
    return Timing(median=float(statistics.median(times)), times=tuple(times), number=number)


@dataclass(frozen=True)
class PairedTiming:
    """Two callables timed in alternating blocks: per pair of blocks the ratio ``a / b`` of their per-call times."""

    a: Timing
    b: Timing
    ratios: tuple[float, ...]

    @property
    def ratio(self) -> float:
        """The median of the per-pair ratios: the paired estimate of how much slower ``a`` is than ``b``."""
        return float(statistics.median(self.ratios))

    @property
    def quartiles(self) -> tuple[float, float]:
        """The first and third quartile of the per-pair ratios (their spread over the repeats)."""
        q1, q3 = np.quantile(np.asarray(self.ratios), [0.25, 0.75])
        return float(q1), float(q3)


def time_paired(fn_a: Callable[[], object], fn_b: Callable[[], object], *, warmup: int = 1, repeats: int = 9,
                number: int | None = None, min_repeat_seconds: float = 0.02,
                clock: Callable[[], float] = time.perf_counter) -> PairedTiming:
    r"""Time ``fn_a`` against ``fn_b`` in alternating blocks and report the ratio of each adjacent pair.

    After ``warmup`` calls of each, every repeat times a block of ``number`` calls of ``fn_a`` and then a block of
    ``number`` calls of ``fn_b`` (``number=None``: calibrated like :func:`time_callable`, growing ``number`` until
    the block of the faster call, and so both blocks, lasts at least ``min_repeat_seconds``). The ratio of repeat
    ``k`` is :math:`\rho_k = t_a^{(k)} / t_b^{(k)}`; the estimate is :math:`\mathrm{median}_k\,\rho_k`.

    Why pairs: on a shared machine the speed of memory and cores drifts over seconds (other tenants, frequency
    scaling). Two medians taken at different moments can disagree by tens of percent for the same code, and so can
    their ratio; two blocks a few milliseconds apart see nearly the same machine, so the drift cancels in their
    ratio.
    """
    warmup = check_int("warmup", warmup, low=0)
    repeats = check_int("repeats", repeats, low=1)
    for _ in range(warmup):
        fn_a()
        fn_b()
    if number is None:
        if min_repeat_seconds < 0:
            raise ValueError(f"min_repeat_seconds must be >= 0; got {min_repeat_seconds!r}")
        for number in _autorange_numbers():
            spans = []
            for fn in (fn_a, fn_b):
                t0 = clock()
                for _ in range(number):
                    fn()
                spans.append(clock() - t0)
            if min(spans) >= min_repeat_seconds:
                break
    number = check_int("number", number, low=1)
    ta, tb = [], []
    for _ in range(repeats):
        for fn, times in ((fn_a, ta), (fn_b, tb)):
            t0 = clock()
            for _ in range(number):
                fn()
            times.append((clock() - t0) / number)
    ratios = tuple(a / b if b > 0 else float("inf") for a, b in zip(ta, tb))
    return PairedTiming(a=Timing(float(statistics.median(ta)), tuple(ta), number),
                        b=Timing(float(statistics.median(tb)), tuple(tb), number), ratios=ratios)


def _autorange_numbers():
    k = 1
    while True:
        for f in (1, 2, 5):
            yield f * k
        k *= 10


# ------------------------------------------------------------------------------------------------------ memory
@dataclass(frozen=True)
class Memory:
    """Peak memory of one call in bytes: ``rss`` (rise of the resident-set high-water mark; None where the platform
    cannot reset it) and ``traced`` (``tracemalloc`` peak: NumPy and Python allocations, not PyTorch's)."""

    rss: int | None
    traced: int


def _proc_status_bytes(field: str) -> int | None:
    """A memory field of ``/proc/self/status`` (``VmHWM``, ``VmRSS``; given there in kB) in bytes, None if absent."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def _vm_hwm() -> int | None:
    return _proc_status_bytes("VmHWM")


def _reset_hwm() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _trim_heap() -> bool:
    """Return free heap memory to the operating system (glibc ``malloc_trim(0)``); False where unavailable."""
    try:
        import ctypes

        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):
        return False


def _vm_rss() -> int | None:
    return _proc_status_bytes("VmRSS")


def cpu_times(path: str | os.PathLike = "/proc/stat") -> dict | None:
    r"""The machine's cumulative CPU time counters (Linux ``/proc/stat``, first line, in clock ticks): ``user``,
    ``nice``, ``system``, ``idle``, ``iowait``, ``irq``, ``softirq`` and ``steal``; None where the file is missing.

    ``steal`` is the time the hypervisor ran other guests while this virtual machine wanted the CPU. Between two
    readings, :func:`steal_fraction` says how much of the machine was taken away during a measurement.
    """
    names = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    try:
        with open(path) as fh:
            first = fh.readline().split()
    except OSError:
        return None
    if not first or first[0] != "cpu":
        return None
    values = [int(v) for v in first[1:1 + len(names)]]
    return dict(zip(names, values + [0] * (len(names) - len(values))))


def steal_fraction(before: dict | None, after: dict | None) -> float:
    r"""Share of CPU time stolen by the hypervisor between two :func:`cpu_times` readings:
    :math:`\Delta\text{steal} / \Delta(\text{all counters})`; NaN where a reading is missing or no time passed."""
    if not before or not after:
        return float("nan")
    total = sum(after.values()) - sum(before.values())
    return (after["steal"] - before["steal"]) / total if total > 0 else float("nan")


def peak_memory(fn: Callable[[], object]) -> Memory:
    r"""Peak memory of ``fn()``: :math:`\max_t \mathrm{RSS}(t) - \mathrm{RSS}(t_0)` and the ``tracemalloc`` peak.

    The RSS high-water mark is reset just before the call (``/proc/self/clear_refs``), so the rise is what the call
    itself needed on top of what the process held. Before that, free heap memory is handed back to the operating
    system (glibc's ``malloc_trim``, where available), so that memory freed by earlier, larger calls is not reused
    without showing up; what the allocator still keeps makes the result a lower bound.
    """
    import gc

    gc.collect()
    _trim_heap()
    can_reset = _reset_hwm()
    base = _vm_rss()
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn()
        _, traced = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    hwm = _vm_hwm()
    rss = max(0, hwm - base) if (can_reset and hwm is not None and base is not None) else None
    return Memory(rss=rss, traced=int(traced))


# ------------------------------------------------------------------------------------------------------ fits
@dataclass(frozen=True)
class PowerFit:
    r"""The least-squares fit :math:`\log t = \log c + p \log n`: ``exponent`` :math:`p`, ``coefficient`` :math:`c`,
    and ``stderr``, the standard error of :math:`p` (0 for two points or an exact power law)."""

    exponent: float
    coefficient: float
    stderr: float

    def __call__(self, n):
        r"""The fitted :math:`c\,n^p`."""
        return self.coefficient * np.asarray(n, dtype=np.float64) ** self.exponent


def fit_exponent(n, t) -> PowerFit:
    r"""Fit :math:`t \approx c\,n^p` by least squares on :math:`(\log n, \log t)`.

    .. math::  p = \frac{\sum_k (\ell_k - \bar\ell)(\tau_k - \bar\tau)}{\sum_k (\ell_k - \bar\ell)^2},
               \qquad \ell_k = \log n_k,\ \tau_k = \log t_k,\qquad \log c = \bar\tau - p\,\bar\ell,

    with standard error :math:`\sqrt{\sum_k r_k^2 / ((K-2)\sum_k (\ell_k-\bar\ell)^2)}` from the residuals
    :math:`r_k` (0 when ``K = 2``). Needs at least two distinct sizes and positive values.
    """
    n = check_finite("n", n).ravel()
    t = check_finite("t", t).ravel()
    if n.shape != t.shape:
        raise ValueError(f"n and t must have the same length; got {n.size} and {t.size}")
    if n.size < 2 or np.unique(n).size < 2:
        raise ValueError(f"n must hold at least 2 distinct sizes; got {np.unique(n).size}")
    if np.any(n <= 0) or np.any(t <= 0):
        raise ValueError("n and t must be positive (the fit is in log-log)")
    ell, tau = np.log(n), np.log(t)
    dl = ell - ell.mean()
    sxx = float(dl @ dl)
    p = float(dl @ (tau - tau.mean())) / sxx
    logc = float(tau.mean() - p * ell.mean())
    res = tau - (logc + p * ell)
    stderr = float(np.sqrt(res @ res / ((n.size - 2) * sxx))) if n.size > 2 else 0.0
    return PowerFit(exponent=p, coefficient=float(np.exp(logc)), stderr=stderr)


# ------------------------------------------------------------------------------------------------------ FLOPs
def dd_factor_nnz(n: int, N: int, delta: int, rank: int, coarse_rank: int, *, padded: bool = True) -> dict:
    r"""Nonzeros of the factors of DD attention written as a product chain, per factor.

    The local part applies :math:`K^T D^{1/2} R` then :math:`R^T D^{1/2} Q` with block-diagonal
    :math:`K = \mathrm{diag}(K_i)`, :math:`Q = \mathrm{diag}(Q_i)`, :math:`K_i, Q_i \in \mathbb{R}^{n_i\times r}`
    (``n_i`` = the padded size ``n_max`` with ``padded=True``); the coarse part applies :math:`\Phi^T`, :math:`K_0^T`,
    :math:`Q_0`, :math:`\Phi` with hat functions (:math:`(2m-1)(N-1)` nonzeros, ``m = (n+1)/N``),
    :math:`Q_0, K_0 \in \mathbb{R}^{(N-1)\times r_0}`. Restrictions and the diagonal weights are gathers and scalings,
    not counted (they are :math:`O(\sum n_i)` and the same in every formulation).
    """
    from .decomposition import Decomposition

    dec = Decomposition(n, N, delta)
    rank = check_int("rank", rank, low=1)
    N0 = dec.N - 1
    coarse_rank = check_int("coarse_rank", coarse_rank, low=0, high=max(N0, 0))
    local_rows = dec.N * dec.n_max if padded else int(dec.sizes.sum())
    phi = (2 * dec.m - 1) * N0
    return {"K_local": local_rows * rank, "Q_local": local_rows * rank, "Phi_T": phi if coarse_rank else 0,
            "K0": N0 * coarse_rank, "Q0": N0 * coarse_rank, "Phi": phi if coarse_rank else 0}


def dd_flops(n: int, N: int, delta: int, rank: int, coarse_rank: int, batch: int = 1, *, padded: bool = True) -> int:
    r"""FLOPs of one DD-attention forward pass on ``batch`` right-hand sides: :math:`2B\sum_F \mathrm{nnz}(F)` over the
    factors of :func:`dd_factor_nnz` (a product with a matrix of ``nnz`` nonzeros costs ``nnz`` multiply-adds):

    .. math::  F_{DD} = 2B\big(2 r \textstyle\sum_i n_i + 2 r_0 (N-1) + 2 (2m-1)(N-1)\big).
    """
    batch = check_int("batch", batch, low=1)
    return 2 * batch * sum(dd_factor_nnz(n, N, delta, rank, coarse_rank, padded=padded).values())


def dd_traffic(n: int, N: int, delta: int, rank: int, coarse_rank: int, batch: int = 1, *,
               itemsize: int = 8) -> dict:
    r"""Bytes that one forward pass of :class:`ddlib.attention.DDAttention`'s window layout reads and writes in
    main memory, per step, for a uniform decomposition (``m = (n+1)/N`` intervals, ``N >= 3``).

    With :math:`L = m + 2\delta`, :math:`c = r + 2` (the local factors and the two hat columns; :math:`c = r`
    without coarse level), batch :math:`B` and ``itemsize`` bytes per number:

    ========== ===================================================================================
    restrict   read the windows of :math:`f`, :math:`BNL`; read :math:`\tilde K`, :math:`NLc`;
               write :math:`T`, :math:`NcB`
    coarse     read the two hat rows of :math:`T` and write them back, :math:`4NB`; read
               :math:`Q_0, K_0`, :math:`2(N-1)r_0`
    prolong    read :math:`\tilde Q_{core}`, :math:`Nmc`, and :math:`T`, :math:`NcB`; write the output,
               :math:`NmB`
    overlap    read :math:`Q_{tail}`, :math:`2N\delta r`, and the local rows of :math:`T`,
               :math:`NrB`; write and read the tails, :math:`2\cdot 2N\delta B`; read and write the
               overlap rows of the output, :math:`2\cdot 2N\delta B`
    ========== ===================================================================================

    An estimate for this order of execution, in which every step reads its inputs from memory and writes its
    results back; it is not a bound: caches can spare some of it (the overlapping window rows, the small
    coefficient array ``T``), and a fused kernel would move less. Compare :func:`bmm_traffic`: both operations do
    little arithmetic per byte, so on a CPU their times follow these bytes more than their FLOPs.
    """
    from .decomposition import Decomposition

    dec = Decomposition(n, N, delta)
    if dec.N < 3 or dec.N * dec.m != dec.n + 1:
        raise ValueError(f"dd_traffic models the uniform window layout with N >= 3 subdomains of m = (n+1)/N "
                         f"intervals; got n = {dec.n}, N = {dec.N}")
    rank = check_int("rank", rank, low=1)
    batch = check_int("batch", batch, low=1)
    N, m, d = dec.N, dec.m, dec.delta
    coarse_rank = check_int("coarse_rank", coarse_rank, low=0, high=max(N - 1, 0))
    L, B = m + 2 * d, batch
    c = rank + (2 if coarse_rank else 0)
    words = {"restrict": B * N * L + N * L * c + N * c * B,
             "coarse": 4 * N * B + 2 * (N - 1) * coarse_rank if coarse_rank else 0,
             "prolong": N * m * c + N * c * B + N * m * B,
             "overlap": 2 * N * d * rank + N * rank * B + 8 * N * d * B if d else 0}
    out = {k: v * itemsize for k, v in words.items()}
    out["total"] = sum(out.values())
    return out


def bmm_traffic(groups: int, k: int, inner: int, batch: int, *, itemsize: int = 8) -> int:
    r"""Bytes that :func:`torch.bmm` of a ``(groups, k, inner)`` by a ``(groups, inner, batch)`` tensor must move:
    read both operands and write the ``(groups, k, batch)`` result, :math:`G(k\ell + \ell B + kB)` numbers."""
    groups, k, inner, batch = (check_int(name, v, low=1) for name, v in
                               (("groups", groups), ("k", k), ("inner", inner), ("batch", batch)))
    return itemsize * groups * (k * inner + inner * batch + k * batch)


def traffic_ratio(n: int, N: int, delta: int, rank: int, coarse_rank: int, batch: int = 1) -> float:
    r"""Bytes moved by DD attention's forward pass over those of the equal-FLOP :func:`torch.bmm` of
    :func:`equal_flop_bmm` (``groups = N``, ``inner = m + 2 delta``): :func:`dd_traffic` over :func:`bmm_traffic`.

    The factors are read once per call whatever the batch, the right-hand sides and outputs once per right-hand
    side, so the ratio depends on the batch: for a large batch it tends to
    :math:`(L + 2c + m + 4 + r + 8\delta)/(L + k)` (per right-hand side and subdomain, with :math:`k` the
    ``bmm``'s rows), for a small one it is set by the factors.
    """
    from .decomposition import Decomposition

    dec = Decomposition(n, N, delta)
    flops = dd_flops(n, N, delta, rank, coarse_rank, batch)
    k = -(-flops // (2 * dec.N * dec.n_max * batch))
    return dd_traffic(n, N, delta, rank, coarse_rank, batch)["total"] / bmm_traffic(dec.N, k, dec.n_max, batch)


def global_flops(n: int, rank: int, batch: int = 1) -> int:
    r"""FLOPs of one global attention forward pass :math:`Q(K^T f)`: :math:`F = 2B \cdot 2nr`."""
    n = check_int("n", n, low=1)
    rank = check_int("rank", rank, low=1)
    batch = check_int("batch", batch, low=1)
    return 4 * batch * n * rank


def matched_parameter_rank(parameters: int, n: int) -> int:
    r"""The global rank with about ``parameters`` trainable numbers: :math:`r = \max(1, \mathrm{round}(P / 2n))`."""
    parameters = check_int("parameters", parameters, low=1)
    n = check_int("n", n, low=1)
    return max(1, int(round(parameters / (2 * n))))


def matched_accuracy_rank(N: int, rank: int) -> int:
    r"""The global rank whose best error equals the best error of the DD ansatz with local rank ``rank``.

    In the exact 1D decomposition :math:`A^{-1} = \Phi A_0^{-1}\Phi^T + \sum_E R_E^T A_E^{-1} R_E` (coarse part
    exact), each :math:`A_E` is the Dirichlet matrix on the :math:`m-1` nodes inside a coarse element, with
    eigenvalues :math:`\frac{4}{h^2}\sin^2\frac{j\pi}{2m} = \lambda_{jN}(A)`. Truncating every local inverse to rank
    :math:`r` leaves the block-diagonal error :math:`1/\lambda_{(r+1)N}`; the best global rank-:math:`r_g` error is
    :math:`1/\lambda_{r_g+1}` (Eckart--Young). They are equal for :math:`r_g = (r+1)N - 1`: a global operator needs
    :math:`2n((r+1)N-1) = O(n^2/m)` parameters to match what DD gets with :math:`O(nr)`.
    """
    N = check_int("N", N, low=1)
    rank = check_int("rank", rank, low=0)
    return (rank + 1) * N - 1


def best_relative_error_global(n: int, rank: int) -> float:
    r"""Best relative error of a rank-``rank`` approximation of :math:`A^{-1}`:
    :math:`\|A^{-1} - [A^{-1}]_r\|_2 / \|A^{-1}\|_2 = \lambda_1 / \lambda_{r+1}` (0 for ``rank >= n``)."""
    from .problem import eigenvalues

    n = check_int("n", n, low=1)
    rank = check_int("rank", rank, low=0)
    if rank >= n:
        return 0.0
    lam = eigenvalues(n, [1, rank + 1])
    return float(lam[0] / lam[1])


def equal_flop_bmm(flops: int, batch: int, groups: int, inner: int, *, dtype=None, seed: int = 0):
    r"""Operands ``(W, X)`` of one :func:`torch.bmm` with (about) ``flops`` FLOPs: the practical ceiling.

    ``X`` has shape ``(groups, inner, batch)`` (for DD attention: the gathered subdomain blocks, ``groups = N``,
    ``inner = n_max``) and ``W`` shape ``(groups, k, inner)`` with :math:`k = \lceil F / (2\,G\,\ell\,B) \rceil`, so
    ``torch.bmm(W, X)`` costs :math:`2G\ell B k \ge F` FLOPs, less than :math:`F + 2G\ell B` (at most one row more
    than needed). It is the same data layout as DD attention, but all FLOPs in one dense call without gather,
    scatter or coarse level. Entries are seeded standard normal.
    """
    import torch

    flops = check_int("flops", flops, low=1)
    batch = check_int("batch", batch, low=1)
    groups = check_int("groups", groups, low=1)
    inner = check_int("inner", inner, low=1)
    k = -(-flops // (2 * groups * inner * batch))
    g = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    dtype = dtype or torch.float64
    W = torch.randn(groups, k, inner, generator=g, dtype=dtype)
    X = torch.randn(groups, inner, batch, generator=g, dtype=dtype)
    return W, X


# ------------------------------------------------------------------------------------------------------ timing ops
def time_module(module, f, *, backward: bool = False, memory: bool = False, **timing) -> dict:
    r"""Time ``module(f)`` (``f`` a ``(batch, n)`` tensor): forward under :func:`torch.inference_mode`, or with
    ``backward=True`` forward plus the backward pass of :math:`\tfrac1B\sum_b\|M f_b\|^2` (gradients freed after
    each call). Returns ``{"seconds": median, "spread": ..., "peak_bytes": rss peak or None}``."""
    import torch

    if backward:
        def call():
            out = module(f)
            (out.square().sum() / f.shape[0]).backward()
            for p in module.parameters():
                p.grad = None
    else:
        def call():
            with torch.inference_mode():
                module(f)
    t = time_callable(call, **timing)
    peak = peak_memory(call).rss if memory else None
    return {"seconds": t.median, "best": t.best, "spread": t.spread, "peak_bytes": peak}


def time_bmm(W, X, *, memory: bool = False, **timing) -> dict:
    """Time ``torch.bmm(W, X)`` under :func:`torch.inference_mode` (see :func:`equal_flop_bmm`)."""
    import torch

    def call():
        with torch.inference_mode():
            torch.bmm(W, X)

    t = time_callable(call, **timing)
    peak = peak_memory(call).rss if memory else None
    return {"seconds": t.median, "best": t.best, "spread": t.spread, "peak_bytes": peak}


def time_banded_solve(f: np.ndarray, *, memory: bool = False, **timing) -> dict:
    r"""Time the classical anchor: :func:`ddlib.problem.solve` (banded LAPACK, :math:`O(n)` per right-hand side) on
    the ``(batch, n)`` array ``f``."""
    from .problem import solve

    f = np.ascontiguousarray(check_finite("f", f))
    t = time_callable(lambda: solve(f), **timing)
    peak = peak_memory(lambda: solve(f)).rss if memory else None
    return {"seconds": t.median, "best": t.best, "spread": t.spread, "peak_bytes": peak}


# ------------------------------------------------------------------------------------------------------ book status
def read_build_status(build: str | os.PathLike = "_build") -> dict:
    """The latest complete book builds, read from ``<build>/status-quick.json`` and ``<build>/status-full.json``
    (written by ``tools/build_book.py``).

    Returns ``{"quick": record or None, "full": record or None}``; a record has ``seconds`` (notebook execution,
    wall-clock), ``jobs``, ``ok`` (every notebook succeeded), ``notebooks`` (a list of
    ``{"notebook", "seconds", "ok"}``) and ``path``.
    """
    build = Path(build)
    out = {}
    for kind in ("quick", "full"):
        path = build / f"status-{kind}.json"
        if not path.is_file():
            out[kind] = None
            continue
        raw = json.loads(path.read_text())
        if bool(raw.get("quick")) != (kind == "quick"):
            raise ValueError(f"{path} records quick={raw.get('quick')!r}, expected quick={kind == 'quick'}")
        nbs = [{"notebook": r["notebook"], "seconds": float(r["seconds"]), "ok": bool(r["ok"])}
               for r in raw.get("notebooks", [])]
        out[kind] = {"seconds": float(raw["seconds"]), "jobs": int(raw.get("jobs", 1)),
                     "ok": all(r["ok"] for r in nbs), "notebooks": nbs, "path": str(path)}
    return out


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
        :class:`ddlib.attention.GlobalAttention` at matched parameter count (:func:`matched_parameter_rank`),
        up to ``p <= global_max_p``;
    ``global_accuracy_rank``, ``global_accuracy_forward``, ``global_accuracy_fwd_bwd``
        global attention at matched best accuracy (:func:`matched_accuracy_rank`), where its two factors fit in
        ``accuracy_max_bytes`` (else NaN, with ``global_accuracy_skipped`` true);
    ``bmm_forward``, ``bmm_k``, ``dd_flops``
        one :func:`torch.bmm` with DD's forward FLOPs (:func:`equal_flop_bmm`);
    ``dd_bytes``, ``bmm_bytes``
        the memory traffic of both (:func:`dd_traffic`, :func:`bmm_traffic`; ``N >= 3``);
    ``dd_vs_bmm_paired``, ``dd_vs_bmm_paired_q1``, ``dd_vs_bmm_paired_q3``
        ``dd_forward`` and ``bmm_forward`` are timed together by :func:`time_paired` (alternating blocks,
        ``max(paired_repeats, repeats)`` pairs): the median of the per-pair ratios and its quartiles;
    ``banded_solve``
        :func:`ddlib.problem.solve` on the same right-hand sides (float64 NumPy).

    Times are medians (:func:`time_callable`). Missing measurements are NaN.
    """
    import torch

    from .attention import DDAttention, GlobalAttention
    from .decomposition import Decomposition

    m = check_int("m", m, low=2)
    batch = check_int("batch", batch, low=1)
    timing = dict(repeats=check_int("repeats", repeats, low=1), min_repeat_seconds=min_repeat_seconds)
    paired_repeats = check_int("paired_repeats", paired_repeats, low=1)
    nan = float("nan")
    rows = []
    for p in ps:
        p = check_int("p", p, low=1)
        if 2**p % m or 2**p // m < 2:
            raise ValueError(f"p must satisfy 2^p >= 2 m with m = {m} a power of two dividing 2^p; got p = {p}")
        n, N = 2**p - 1, 2**p // m
        dec = Decomposition(n, N, delta)
        r0 = min(coarse_rank, N - 1)
        g = torch.Generator().manual_seed(seed)
        f = torch.randn(batch, n, generator=g, dtype=torch.float64)
        dd = DDAttention(dec, rank, r0, seed=seed)
        row = {"p": p, "n": n, "N": N, "m": m, "delta": delta, "rank": rank, "coarse_rank": r0, "batch": batch,
               "dd_params": dd.num_parameters()}
        back = p <= backward_max_p
        if memory:
            row["dd_peak_bytes"] = (time_module(dd, f, backward=back, memory=True, repeats=1, number=1, warmup=0)
                                    ["peak_bytes"])
        flops = dd_flops(n, N, delta, rank, r0, batch)
        W, X = equal_flop_bmm(flops, batch, N, dec.n_max, seed=seed)
        row.update(dd_flops=flops, bmm_k=int(W.shape[1]))
        if N >= 3:
            row.update(dd_bytes=dd_traffic(n, N, delta, rank, r0, batch)["total"],
                       bmm_bytes=bmm_traffic(N, int(W.shape[1]), dec.n_max, batch))

        def dd_forward():
            with torch.inference_mode():
                dd(f)

        def bmm_forward():
            with torch.inference_mode():
                torch.bmm(W, X)

        pair = time_paired(dd_forward, bmm_forward, repeats=max(paired_repeats, timing["repeats"]),
                           min_repeat_seconds=min_repeat_seconds)
        _put(row, "dd_forward", pair.a)
        _put(row, "bmm_forward", pair.b)
        row["dd_vs_bmm_paired"] = pair.ratio
        row["dd_vs_bmm_paired_q1"], row["dd_vs_bmm_paired_q3"] = pair.quartiles
        del W, X
        _put(row, "dd_fwd_bwd", time_module(dd, f, backward=True, **timing) if back else None)
        if hasattr(dd, "apply_columns"):  # the column-major path that ddlib.training uses
            Fc = f.T.contiguous()

            def columns():
                with torch.inference_mode():
                    dd.apply_columns(Fc)

            _put(row, "columns_forward", time_callable(columns, **timing))
        _put(row, "dd_grad_forward", time_callable(lambda: dd(f), **timing))
        if gather and back:
            dg = _ReferencePath(dd)
            _put(row, "gather_forward", time_module(dg, f, **timing))
            _put(row, "gather_fwd_bwd", time_module(dg, f, backward=True, **timing) if back else None)
            del dg
        rg = matched_parameter_rank(row["dd_params"], n)
        row.update(global_params_rank=rg, global_params_params=2 * n * rg)
        if p <= global_max_p:
            gl = GlobalAttention(n, rg, seed=seed)
            if memory:
                row["global_peak_bytes"] = time_module(gl, f, backward=back, memory=True, repeats=1, number=1,
                                                       warmup=0)["peak_bytes"]
            _put(row, "global_forward", time_module(gl, f, **timing))
            _put(row, "global_fwd_bwd", time_module(gl, f, backward=True, **timing) if back else None)
            del gl
        ra = min(matched_accuracy_rank(N, rank), n)
        row.update(global_accuracy_rank=ra, global_accuracy_params=2 * n * ra,
                   best_error_dd=best_relative_error_global(n, ra), global_accuracy_skipped=True,
                   global_accuracy_forward=nan, global_accuracy_fwd_bwd=nan)
        if 2 * n * ra * 8 <= accuracy_max_bytes and p <= global_max_p:
            ga = GlobalAttention(n, ra, seed=seed)
            _put(row, "global_accuracy_forward", time_module(ga, f, **timing))
            _put(row, "global_accuracy_fwd_bwd", time_module(ga, f, backward=True, **timing) if back else None)
            row["global_accuracy_skipped"] = False
            del ga
        if banded:
            _put(row, "banded_solve", time_banded_solve(f.numpy(), **timing))
        rows.append(row)
    return rows


def _put(row: dict, key: str, result) -> None:
    """Store a measurement as ``row[key]`` (median seconds) and ``row[key + "_best"]`` (fastest repeat); NaN if None."""
    if result is None:
        row[key] = row[key + "_best"] = float("nan")
    elif isinstance(result, Timing):
        row[key], row[key + "_best"] = result.median, result.best
    else:
        row[key], row[key + "_best"] = result["seconds"], result["best"]


def column(rows: list[dict], key: str) -> np.ndarray:
    """One column of a table of rows (list of dicts) as a float array, NaN where a row lacks the key."""
    return np.array([float(r.get(key, np.nan)) if r.get(key) is not None else np.nan for r in rows])


def summarize_scaling(rows: list[dict], *, fit_from: int = 10, fit_to: int = 16, ratio_at: int = 16,
                      statistic: str = "median") -> dict:
    r"""The headline numbers of a :func:`scaling_benchmark` table.

    ``dd_time_exponent`` (and likewise ``gather_``, ``columns_``, ``dd_grad_``, ``global_``, ``global_accuracy_``,
    ``banded_``, ``bmm_``, ``dd_fwd_bwd_``, ``gather_fwd_bwd_``): :func:`fit_exponent` of the times over
    ``fit_from <= p <= fit_to``, with its standard error (``..._stderr``); ``dd_vs_bmm_ratio`` (and ``gather_``,
    ``columns_``, ``dd_grad_vs_bmm_ratio``): forward time over the equal-FLOP ``torch.bmm`` time at ``p = ratio_at`` (NaN if that
    size is absent). ``statistic`` picks the median times (``"median"``) or the fastest repeats (``"best"``).

    With ``statistic="median"`` and a row that holds the paired measurement (``dd_vs_bmm_paired``, see
    :func:`scaling_benchmark`), ``dd_vs_bmm_ratio`` is that paired median, with its quartiles
    ``dd_vs_bmm_ratio_q1``/``_q3``; the ratio of the two medians (over the same alternating blocks) is kept as
    ``dd_vs_bmm_ratio_of_medians``. ``dd_vs_bmm_bytes_ratio``: :func:`dd_traffic` over :func:`bmm_traffic` at that
    size.
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
    from .training import time_to_target, train

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


class _ReferencePath:
    """A callable module-like wrapper: the same DD operator through :func:`ddlib.attention.reference_apply`."""

    def __init__(self, model):
        self.model = model

    def __call__(self, f):
        from .attention import reference_apply

        return reference_apply(self.model, f.T).T

    def parameters(self):
        return self.model.parameters()
