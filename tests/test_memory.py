"""Peak memory sees known allocations, also after earlier calls freed larger blocks into the heap; the dense guard
refuses arrays above its limit before allocating them."""
import os

import numpy as np
import pytest
import torch

from ddlib.memory import DENSE_FRACTION, DenseLimitError, _trim_heap, check_dense, dense_limit, peak_memory


def test_peak_memory_sees_a_known_allocation():
    size = 64 * 2**20
    mem = peak_memory(lambda: np.ones(size // 8))
    assert mem.traced >= size
    if mem.rss is not None:  # Linux with a resettable high-water mark
        assert mem.rss >= 0.9 * size


def test_peak_memory_is_not_hidden_by_memory_that_earlier_calls_freed():
    """glibc keeps a freed 24 MiB block in the heap once its mmap threshold has risen; a later 16 MiB tensor would
    reuse it without raising RSS (a rise of 0 without the trim). peak_memory hands free heap back first."""
    for _ in range(3):
        x = torch.ones(24 * 2**20 // 8, dtype=torch.float64)
        del x
    mem = peak_memory(lambda: torch.ones(16 * 2**20 // 8, dtype=torch.float64))
    if mem.rss is not None and _trim_heap():  # Linux with glibc
        assert mem.rss >= 0.9 * 16 * 2**20



# --------------------------------------------------------------------------------------------------------------------
# the dense-allocation guard


def test_check_dense_refuses_up_front_with_the_size_the_limit_and_the_alternative(monkeypatch):
    monkeypatch.setenv("DDLIB_DENSE_LIMIT", "4GiB")
    assert dense_limit() == (4 * 2**30, "DDLIB_DENSE_LIMIT=4GiB")
    assert check_dense((2**15, 2**14), "x", "y") == 2**32  # exactly at the limit: allowed
    with pytest.raises(DenseLimitError) as info:
        check_dense((40000, 40000), "the dense inverse", "solve with the sparse factorisation")
    msg = str(info.value)
    assert "40000 x 40000 float64 array of 11.9 GiB" in msg and "limit of 4 GiB (DDLIB_DENSE_LIMIT=4GiB)" in msg
    assert "Instead: solve with the sparse factorisation" in msg
    assert isinstance(info.value, ValueError) and isinstance(info.value, MemoryError)
    assert check_dense((3, 100, 100), "x", "y", dtype=np.float32) == 3 * 100 * 100 * 4


def test_the_default_limit_is_a_fraction_of_the_physical_memory(monkeypatch):
    monkeypatch.delenv("DDLIB_DENSE_LIMIT", raising=False)
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    limit, source = dense_limit()
    assert limit == int(DENSE_FRACTION * total) and "DDLIB_DENSE_LIMIT" in source
    n = int(np.sqrt(limit / 8)) + 1  # the smallest square float64 matrix above the limit
    with pytest.raises(DenseLimitError, match=f"{n} x {n} float64"):
        check_dense((n, n), "x", "y")


@pytest.mark.parametrize("text, limit", [("1e9", 10**9), ("800MB", 8 * 10**8), ("2.5 GiB", int(2.5 * 2**30)),
                                         ("512kib", 2**19), ("12", 12)])
def test_dense_limit_reads_sizes_with_units(monkeypatch, text, limit):
    monkeypatch.setenv("DDLIB_DENSE_LIMIT", text)
    assert dense_limit()[0] == limit


@pytest.mark.parametrize("text", ["lots", "0", "-5GB", "5 parsecs", "nan", "0.5"])
def test_a_bad_dense_limit_is_an_error_naming_the_variable(monkeypatch, text):
    monkeypatch.setenv("DDLIB_DENSE_LIMIT", text)
    with pytest.raises(ValueError, match="environment variable DDLIB_DENSE_LIMIT must be a size"):
        check_dense((2, 2), "x", "y")


def test_dense_users_refuse_before_allocating(monkeypatch):
    """Each function that builds dense n x n arrays refuses above the limit before it allocates anything (the traced
    peak stays far below one of the arrays it would have built)."""
    from ddlib.ablations import operator_parts
    from ddlib.attention import DDAttention, Structure
    from ddlib.decomposition import Decomposition
    from ddlib.generalisation import mode_errors
    from ddlib.krylov import dense_spectrum
    from ddlib.problem import Problem

    n = 1023
    monkeypatch.setenv("DDLIB_DENSE_LIMIT", "1MiB")  # one 1023 x 1023 float64 array takes 8 MB
    P = Problem(n)
    A = P.matrix()
    model = DDAttention(Structure(Decomposition(P, 8, 1)), 2)
    calls = {"dense_spectrum": lambda: dense_spectrum(A, A),
             "operator_parts": lambda: operator_parts(model),
             "mode_errors": lambda: mode_errors(A, P),
             "inverse": P.inverse, "dense operator matrix": model.dense}
    for name, call in calls.items():
        def attempt():
            with pytest.raises(DenseLimitError, match=name):
                call()
        assert peak_memory(attempt).traced < 10**6, name
