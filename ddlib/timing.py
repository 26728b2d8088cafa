r"""Measuring time: medians over repeats, paired ratios, the machine's CPU counters, and power-law fits of time
against size.

Conventions
-----------
* Times are **medians** over ``repeats`` after ``warmup`` calls (:func:`time_callable`); each repeat times ``number``
  calls so that it lasts at least ``min_repeat_seconds`` (clock resolution and call overhead).
* A ratio of two times is measured **paired** (:func:`time_paired`): alternating blocks of the two calls, the ratio
  per pair, the median over pairs; the drift of a shared machine cancels in each pair.
* How much of the machine a measurement had is read from the CPU counters of ``/proc/stat`` (:func:`cpu_times`):
  :func:`steal_fraction` is the share the hypervisor gave to other guests in between.
* Time against size is summarised by the least-squares slope of :math:`\log t` against :math:`\log n`
  (:func:`fit_exponent`): :math:`t \approx c\,n^p`.

Examples
--------
>>> import numpy as np
>>> from ddlib.timing import fit_exponent
>>> n = 2.0 ** np.arange(10, 17)
>>> round(fit_exponent(n, 3e-7 * n**1.5).exponent, 12)
1.5
"""
from __future__ import annotations

import os
import statistics
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._validate import check_finite, check_int

__all__ = [
    "Timing",
    "time_callable",
    "PairedTiming",
    "time_paired",
    "cpu_times",
    "steal_fraction",
    "PowerFit",
    "fit_exponent",
]


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

