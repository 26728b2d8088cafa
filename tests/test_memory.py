"""Peak memory sees known allocations, also after earlier calls freed larger blocks into the heap."""
import numpy as np
import torch

from ddlib.memory import _trim_heap, peak_memory


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

