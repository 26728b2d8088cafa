r"""Measuring memory: the peak resident memory one call needs.

:func:`peak_memory` reports the rise of the process's resident-set high-water mark over the call (Linux: ``VmHWM``
of ``/proc/self/status`` after handing free heap back with ``malloc_trim`` and resetting the mark through
``/proc/self/clear_refs``), which sees PyTorch's and NumPy's allocations alike, plus the ``tracemalloc`` peak
(NumPy and Python objects only). It is a lower bound: what the allocator keeps cached is not counted.

Examples
--------
>>> import numpy as np
>>> from ddlib.memory import peak_memory
>>> peak_memory(lambda: np.ones(2**20)).traced >= 8 * 2**20     # one MiB of float64 numbers, traced by NumPy
True
"""
from __future__ import annotations

import ctypes
import gc
import os
import tracemalloc
from dataclasses import dataclass
from typing import Callable

__all__ = ["Memory", "peak_memory"]


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
    """Reset the resident-set high-water mark ``VmHWM`` to the current RSS (``5`` into ``/proc/self/clear_refs``)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _trim_heap() -> bool:
    """Return free heap memory to the operating system (glibc ``malloc_trim(0)``); False where unavailable."""
    try:
        return bool(ctypes.CDLL("libc.so.6").malloc_trim(0))
    except (OSError, AttributeError):
        return False


def _vm_rss() -> int | None:
    return _proc_status_bytes("VmRSS")


def peak_memory(fn: Callable[[], object]) -> Memory:
    r"""Peak memory of ``fn()``: :math:`\max_t \mathrm{RSS}(t) - \mathrm{RSS}(t_0)` and the ``tracemalloc`` peak.

    The RSS high-water mark is reset just before the call (``/proc/self/clear_refs``), so the rise is what the call
    itself needed on top of what the process held. Before that, free heap memory is handed back to the operating
    system (glibc's ``malloc_trim``, where available), so that memory freed by earlier, larger calls is not reused
    without showing up; what the allocator still keeps makes the result a lower bound.
    """
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



def check_dense(shape, what: str, alternative: str, itemsize: int = 8) -> None:
    """Refuse a dense allocation of ``shape`` above the dense-memory limit, naming its size and the sparse alternative.

    The limit is ``$DDLIB_DENSE_LIMIT_GB`` gigabytes if set, else a quarter of the machine's memory.
    (Placeholder of the core branch; the hostile-input branch provides the full version.)
    """
    need = itemsize
    for s in shape:
        need *= int(s)
    limit = float(os.environ.get("DDLIB_DENSE_LIMIT_GB", "0") or 0) * 2**30
    if limit <= 0:
        limit = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 4
    if need > limit:
        raise MemoryError(f"{what} would need {need / 2**30:.1f} GiB dense (limit {limit / 2**30:.1f} GiB, "
                          f"DDLIB_DENSE_LIMIT_GB); use {alternative}")
