r"""Memory: the peak resident memory one call needs, and a guard that refuses dense arrays too large for the machine.

:func:`peak_memory` reports the rise of the process's resident-set high-water mark over the call (Linux: ``VmHWM``
of ``/proc/self/status`` after handing free heap back with ``malloc_trim`` and resetting the mark through
``/proc/self/clear_refs``), which sees PyTorch's and NumPy's allocations alike, plus the ``tracemalloc`` peak
(NumPy and Python objects only). It is a lower bound: what the allocator keeps cached is not counted.

:func:`check_dense` is called before every dense :math:`n\times n` allocation of the package: above
:func:`dense_limit` (``$DDLIB_DENSE_LIMIT``, else :data:`DENSE_FRACTION` of the machine's physical memory) it raises
:class:`DenseLimitError` at once, with the size the array would need and the sparse or matrix-free way to get the
same result, instead of swapping or being killed minutes later.

Examples
--------
>>> import numpy as np
>>> from ddlib.memory import check_dense, peak_memory
>>> peak_memory(lambda: np.ones(2**20)).traced >= 8 * 2**20     # one MiB of float64 numbers, traced by NumPy
True
>>> check_dense((1000, 1000), "a test matrix", "use a sparse one")   # 8 MB: allowed; returns the bytes
8000000
"""
from __future__ import annotations

import ctypes
import gc
import math
import os
import re
import tracemalloc
from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["Memory", "peak_memory", "DENSE_FRACTION", "DenseLimitError", "dense_limit", "check_dense",
           "format_bytes"]

#: Share of the machine's physical memory one dense array may take by default (``$DDLIB_DENSE_LIMIT`` overrides):
#: a dense solve or eigensolver needs a few arrays of that size at once.
DENSE_FRACTION = 0.25
#: The limit where the physical memory cannot be read (not Linux/macOS).
DENSE_FALLBACK = 4 * 2**30
_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9, "gb": 10**9,
          "t": 10**12, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


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



class DenseLimitError(ValueError, MemoryError):
    """A dense array would exceed :func:`dense_limit`; raised before anything is allocated. It is a ValueError (the
    size asked for is out of range) and a MemoryError (what it protects against)."""


def format_bytes(size: float) -> str:
    """``12.8e9`` -> ``'11.9 GiB'`` (binary units, three significant digits).

    Examples
    --------
    >>> format_bytes(40000**2 * 8)
    '11.9 GiB'
    """
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{int(size)} B"


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def dense_limit() -> tuple[int, str]:
    """The bytes one dense array may take and where that limit comes from.

    ``$DDLIB_DENSE_LIMIT`` if set: a number of bytes, optionally with a unit (``B``, ``kB``/``MB``/``GB``/``TB``
    in powers of 1000, ``KiB``/``MiB``/``GiB``/``TiB`` in powers of 1024; ``2.5GiB``, ``800MB``, ``1e9``). Else
    :data:`DENSE_FRACTION` of the physical memory, or :data:`DENSE_FALLBACK` where that is unknown. A value that is
    not a positive size is a ValueError naming the variable.

    Examples
    --------
    >>> os.environ["DDLIB_DENSE_LIMIT"] = "2GiB"
    >>> dense_limit()
    (2147483648, 'DDLIB_DENSE_LIMIT=2GiB')
    >>> del os.environ["DDLIB_DENSE_LIMIT"]
    """
    text = os.environ.get("DDLIB_DENSE_LIMIT", "").strip()
    if text:
        m = re.fullmatch(r"([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([a-zA-Z]*)", text)
        unit = _UNITS.get(m.group(2).lower()) if m else None
        value = float(m.group(1)) * unit if unit else math.nan
        if not (math.isfinite(value) and value >= 1):
            raise ValueError("environment variable DDLIB_DENSE_LIMIT must be a size in bytes, optionally with a unit "
                             f"(B, kB, MB, GB, TB, KiB, MiB, GiB, TiB), of at least 1 byte; got {text!r}")
        return int(value), f"DDLIB_DENSE_LIMIT={text}"
    total = _physical_memory()
    if total is None:
        return DENSE_FALLBACK, f"the default {format_bytes(DENSE_FALLBACK)}; set DDLIB_DENSE_LIMIT to change it"
    return int(DENSE_FRACTION * total), (f"{DENSE_FRACTION:g} of this machine's {format_bytes(total)}; set "
                                         "DDLIB_DENSE_LIMIT to change it")


def check_dense(shape, what: str, alternative: str, dtype=np.float64) -> int:
    r"""Refuse, before allocating, dense arrays of ``shape`` (and ``dtype``) larger than :func:`dense_limit`.

    ``shape`` is the shape of what will be held at once: ``(n, n)`` for one matrix, ``(3, n, n)`` for three. Returns
    the bytes it needs, :math:`8\prod_i s_i` for float64.

    Parameters
    ----------
    shape : tuple of int
        The dense array(s) about to be allocated.
    what : str
        What is being built, for the message (``"the dense inverse of A"``).
    alternative : str
        How to get the result without the dense array (``"use ddlib.problem.solve (sparse, O(n))"``).
    dtype : NumPy or torch dtype, optional
        The element type (default float64).

    Raises
    ------
    DenseLimitError
        Naming ``what``, the size it would need, the limit and where it comes from, and ``alternative``.

    Examples
    --------
    >>> os.environ["DDLIB_DENSE_LIMIT"] = "1GiB"
    >>> check_dense((40000, 40000), "the dense inverse of A", "use ddlib.problem.solve (sparse, O(n))")
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ddlib.memory.DenseLimitError: the dense inverse of A would need a dense 40000 x 40000 float64 array of 11.9 GiB, ...
    >>> del os.environ["DDLIB_DENSE_LIMIT"]
    """
    dims = tuple(int(s) for s in shape)
    if any(s < 0 for s in dims):
        raise ValueError(f"shape must hold sizes >= 0; got {shape!r}")
    try:
        itemsize, name = np.dtype(dtype).itemsize, np.dtype(dtype).name
    except TypeError:  # a torch.dtype
        itemsize, name = dtype.itemsize, str(dtype).removeprefix("torch.")
    size = math.prod(dims) * itemsize
    limit, source = dense_limit()
    if size > limit:
        raise DenseLimitError(f"{what} would need a dense {' x '.join(map(str, dims))} {name} array of "
                              f"{format_bytes(size)}, above the limit of {format_bytes(limit)} ({source}). "
                              f"Instead: {alternative}.")
    return size
