"""The cache under hostile or unlucky conditions: a cache that cannot be written costs the entry, never the result;
damaged entries are moved aside without racing concurrent readers. (The hostile-input table of reproduce.md lists
these tests; the damaged-entry kinds are in test_training.py.)"""
import errno
import json
import os
import threading
import warnings

import pytest
import torch

from ddlib import cache
from ddlib.models import GlobalSpec
from ddlib.sweep import run_sweep
from ddlib.training import TrainConfig, run_key, train

SMALL = dict(n=31, K=4, samples=8, validation_samples=4, test_samples=4, epochs=10, eval_points=3)
CONFIGS = [TrainConfig(model=GlobalSpec(2), seed=s, **SMALL) for s in range(3)]


def _cache_warnings(record):
    return [w for w in record if issubclass(w.category, cache.CacheWarning)]


def test_a_cache_that_cannot_be_created_returns_every_result_with_one_warning(tmp_path, monkeypatch):
    (tmp_path / "a_file").write_text("")
    folder = tmp_path / "a_file" / "cache"  # below a file: mkdir fails (also for root)
    monkeypatch.setenv("DDLIB_CACHE", str(folder))
    reference = [train(c, cache_results=False) for c in CONFIGS]
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        results = [train(c) for c in CONFIGS]
    (w,) = _cache_warnings(record)
    assert str(folder) in str(w.message) and "not cached" in str(w.message)
    for r, ref in zip(results, reference):
        assert not r.cached and r.history["loss"] == ref.history["loss"]


def _full_disk(monkeypatch):
    def no_space(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    monkeypatch.setattr(cache, "atomic_write", no_space)


def test_a_full_cache_does_not_abort_a_sweep_and_warns_once_per_outage(cache_in_tmp, monkeypatch):
    _full_disk(monkeypatch)
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        out = run_sweep(CONFIGS, workers=1)
    assert all(o.ok for o in out)
    (w,) = _cache_warnings(record)
    assert "No space left on device" in str(w.message) and str(cache_in_tmp) in str(w.message)
    assert not list(cache_in_tmp.glob("*.json"))
    monkeypatch.undo()  # space again: the next write succeeds, and a later outage is reported again
    monkeypatch.setenv("DDLIB_CACHE", str(cache_in_tmp))
    assert not train(CONFIGS[0]).cached and train(CONFIGS[0]).cached
    _full_disk(monkeypatch)
    with pytest.warns(cache.CacheWarning, match="cannot write to the cache folder"):
        train(CONFIGS[1])


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_cache_returns_the_result_with_a_warning(cache_in_tmp):
    cache_in_tmp.mkdir()
    cache_in_tmp.chmod(0o555)
    try:
        with pytest.warns(cache.CacheWarning, match="Permission denied"):
            assert not train(CONFIGS[0]).cached
    finally:
        cache_in_tmp.chmod(0o755)


def test_the_cache_variable_naming_a_file_is_an_error_naming_it(tmp_path, monkeypatch):
    (tmp_path / "f").write_text("")
    monkeypatch.setenv("DDLIB_CACHE", str(tmp_path / "f"))
    with pytest.raises(ValueError, match="environment variable DDLIB_CACHE must name a folder"):
        train(CONFIGS[0])


@pytest.mark.filterwarnings("ignore::ddlib.cache.CacheWarning")
def test_concurrent_readers_of_a_damaged_entry_never_raise(cache_in_tmp):
    """Eight threads read the same damaged entry at once, 100 times over: each read returns None (the run is
    recomputed), none raises, and the damaged record is moved aside exactly once a round, onto a name of its own."""
    train(CONFIGS[0])
    key = run_key(CONFIGS[0])
    js, pt = cache_in_tmp / f"{key}.json", cache_in_tmp / f"{key}.pt"
    good_pt = pt.read_bytes()
    rounds, readers = 100, 8
    errors, results = [], []

    def read(barrier):
        barrier.wait()
        try:
            results.append(cache.load_entry(key, lambda record, state: None))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    for _ in range(rounds):
        js.write_text("{not json")
        pt.write_bytes(good_pt)
        barrier = threading.Barrier(readers)
        threads = [threading.Thread(target=read, args=(barrier,)) for _ in range(readers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == [] and results == [None] * (rounds * readers)
    assert len(list(cache_in_tmp.glob(f"{key}.json.*.bad"))) == rounds
    assert pt.read_bytes() == good_pt  # never read (the record was damaged), so never moved: a stray .pt is absent


def test_a_reader_does_not_move_aside_an_entry_a_writer_replaced_meanwhile(cache_in_tmp, monkeypatch):
    """Reader R reads a damaged entry; before R moves it aside, writer W stores the good entry. R must leave W's
    files alone (they are not what it read), so the good entry survives."""
    good = train(CONFIGS[0])
    key = run_key(CONFIGS[0])
    js, pt = cache_in_tmp / f"{key}.json", cache_in_tmp / f"{key}.pt"
    good_json, good_pt = js.read_bytes(), pt.read_bytes()
    js.write_text(json.dumps({"damaged": True}))

    def check(record, state):
        cache.atomic_write(pt, good_pt)  # W stores (as store_entry: .pt, then .json) between R's read and R's check
        cache.atomic_write(js, good_json)
        raise cache.CacheEntryError("damaged")
    with pytest.warns(cache.CacheWarning, match="already moved aside or replaced"):
        assert cache.load_entry(key, check) is None
    hit = train(CONFIGS[0])
    assert hit.cached and hit.history["loss"] == good.history["loss"]
    assert torch.equal(next(hit.model.parameters()), next(good.model.parameters()))


def test_an_unreadable_entry_is_recomputed_with_a_warning(cache_in_tmp, monkeypatch):
    """A record that exists but cannot be read (permissions, an I/O error; simulated, as root reads anything)."""
    first = train(CONFIGS[0])

    def denied(path):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
    monkeypatch.setattr(cache, "_read", denied)
    with pytest.warns(cache.CacheWarning, match="cannot read cache entry .*Permission denied"):
        again = train(CONFIGS[0])
    assert not again.cached and again.history["loss"] == first.history["loss"]
