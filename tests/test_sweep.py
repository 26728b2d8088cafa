"""The sweep runner: the same histories in process, in local worker processes and on a dask cluster; failures are
reported while the other runs finish; finished runs are cached by the client."""
import numpy as np
import pytest
from distributed import LocalCluster

from ddlib.models import DDSpec, GlobalSpec
from ddlib.sweep import SweepError, default_workers, run_sweep, scheduler_address
from ddlib.training import TrainConfig, run_key

SMALL = dict(n=31, K=4, samples=8, validation_samples=4, test_samples=4, epochs=20, eval_points=4)


def _configs():
    good = [TrainConfig(model=s, seed=seed, lr=lr, batch_size=4, **SMALL)
            for s in (GlobalSpec(3), DDSpec(4, 1, 2)) for seed in (0, 1) for lr in (1e-2, 1e6)]
    bad = TrainConfig(model=DDSpec(4, 1, 2), **SMALL)
    object.__setattr__(bad, "n", 30)  # passes here, fails in the worker: N = 4 does not divide n + 1 = 31
    return good + [bad]


def _same(a, b):
    assert [o.ok for o in a] == [o.ok for o in b] and [o.diverged for o in a] == [o.diverged for o in b]
    for x, y in zip(a, b):
        if x.ok:
            for k in x.result.history:
                if k != "seconds":
                    assert np.array_equal(np.asarray(x.result.history[k], float),
                                          np.asarray(y.result.history[k], float), equal_nan=True), k


def test_serial_processes_and_dask_give_identical_histories_and_report_failures():
    configs = _configs()
    serial = run_sweep(configs, workers=1, errors="return", cache_results=False)
    procs = run_sweep(configs, workers=2, errors="return", cache_results=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        dask = run_sweep(configs, scheduler=cluster.scheduler_address, errors="return", cache_results=False)
    for out in (serial, procs, dask):
        assert [o.ok for o in out[:-1]] == [True, False] * 4          # lr = 1e6 diverges, everything else trains
        assert all(o.diverged for o in out[1:-1:2])
        failed = out[-1]
        assert not failed.ok and not failed.diverged and "N must divide" in failed.error
    _same(serial, procs)
    _same(serial, dask)


def test_failures_raise_after_the_others_finished_and_were_cached(cache_in_tmp):
    configs = _configs()
    with pytest.raises(SweepError, match="N must divide") as info:
        run_sweep(configs, workers=2)
    assert len(info.value.failed) == 1
    for c in configs[:-1:2]:
        assert (cache_in_tmp / f"{run_key(c)}.json").is_file()
    again = run_sweep(configs[:-1:2], workers=2)   # resumes from the cache
    assert all(o.result.cached for o in again)


def test_scheduler_and_worker_settings_are_checked(monkeypatch):
    monkeypatch.setenv("DDLIB_SCHEDULER", "")
    assert scheduler_address() is None
    assert scheduler_address("tcp://10.0.0.1:8786") == "tcp://10.0.0.1:8786"
    with pytest.raises(ValueError, match="scheduler must be an address"):
        scheduler_address("localhost")
    monkeypatch.setenv("DDLIB_WORKERS", "two")
    with pytest.raises(ValueError, match="DDLIB_WORKERS must be an integer >= 1; got 'two'"):
        default_workers()
    monkeypatch.setenv("DDLIB_WORKERS", "3")
    assert default_workers() == 3
    with pytest.raises(ValueError, match="configs\\[0\\] must be a TrainConfig"):
        run_sweep([{"model": "global"}])


def test_sweeps_run_configs_of_every_dimension_unchanged():
    small = dict(K=2, samples=8, validation_samples=4, test_samples=4, epochs=10, eval_points=3)
    configs = [TrainConfig(model=s, lr=lr, n=m**d, dim=d, **small)
               for d, m in ((2, 7), (3, 7)) for s in (GlobalSpec(2), DDSpec(2, 1, 2)) for lr in (1e-2, 1e6)]
    serial = run_sweep(configs, workers=1, errors="return", cache_results=False)
    procs = run_sweep(configs, workers=2, errors="return")
    assert [o.ok for o in serial] == [o.ok for o in procs] == [True, False] * 4
    _same(serial, procs)
    again = run_sweep(configs[::2], workers=2)
    assert all(o.result.cached and o.result.config.problem.dim == o.config.dim for o in again)
