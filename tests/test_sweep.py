"""The sweep runner: the same histories in process, in local worker processes and on a dask cluster; failures are
reported while the other runs finish; finished runs are cached by the client; a lost cluster fails with a message
naming its address instead of waiting forever; Ctrl-C stops the workers and keeps what finished."""
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import numpy as np
import psutil
import pytest
from distributed import LocalCluster

from ddlib import sweep
from ddlib.models import DDSpec, GlobalSpec
from ddlib.sweep import ClusterError, SweepError, default_workers, run_sweep, scheduler_address
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
    for bad in ("http://host:8786", "tcp://", "tcp://host:port", "tcp://host:99999"):
        with pytest.raises(ValueError, match="scheduler must be an address"):
            scheduler_address(bad)
    monkeypatch.setenv("DDLIB_SCHEDULER", "host:8786")
    with pytest.raises(ValueError, match="environment variable DDLIB_SCHEDULER must be an address"):
        scheduler_address()
    monkeypatch.setenv("DDLIB_SCHEDULER", "")
    monkeypatch.setenv("DDLIB_CLUSTER_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="environment variable DDLIB_CLUSTER_TIMEOUT must be a finite positive"):
        run_sweep([])
    monkeypatch.delenv("DDLIB_CLUSTER_TIMEOUT")
    with pytest.raises(ValueError, match="cluster_timeout must be a finite positive number"):
        run_sweep([], cluster_timeout=0)
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


# --------------------------------------------------------------------------------------------------------------------
# hostile and unlucky use: a lost cluster, Ctrl-C (the hostile-input table of reproduce.md lists these tests)

QUICK_RUN = TrainConfig(model=GlobalSpec(3), **SMALL)
LONG_RUNS = [TrainConfig(model=GlobalSpec(3), seed=s, max_seconds=3, **{**SMALL, "epochs": 10**6})
             for s in range(1, 4)]


def _after_first_result(monkeypatch, action):
    """Call ``action()`` when the sweep has received its first result (it is cached by then)."""
    advance = sweep._Bar.advance

    def hooked(self, outcome):
        advance(self, outcome)
        if self.done == 1:
            action()
    monkeypatch.setattr(sweep._Bar, "advance", hooked)


def test_a_scheduler_without_workers_fails_naming_its_address_instead_of_waiting_forever():
    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        with pytest.raises(ClusterError, match="no dask worker has been connected") as info:
            run_sweep([QUICK_RUN], scheduler=address, cluster_timeout=1)
    assert address in str(info.value) and f"dask worker {address}" in str(info.value)


def test_workers_lost_mid_sweep_fail_after_the_timeout_and_keep_the_finished_run(monkeypatch, cache_in_tmp):
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
    try:
        _after_first_result(monkeypatch, lambda: cluster.scale(0))  # every worker gone after the first run
        with pytest.raises(ClusterError, match="no dask worker") as info:
            run_sweep([QUICK_RUN, *LONG_RUNS], scheduler=cluster.scheduler_address, cluster_timeout=1)
    finally:
        cluster.close()
    assert "1 of 4 runs had finished (they are in the cache" in str(info.value)
    assert info.value.outcomes[0].ok and info.value.outcomes[1:] == [None] * 3
    assert (cache_in_tmp / f"{run_key(QUICK_RUN)}.json").is_file()


def test_a_lost_scheduler_fails_naming_its_address_and_keeps_the_finished_run(monkeypatch, cache_in_tmp):
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
    address = cluster.scheduler_address
    _after_first_result(monkeypatch, cluster.close)  # the scheduler (and its worker) gone after the first run
    with pytest.raises(ClusterError, match="lost the connection to the dask scheduler") as info:
        run_sweep([QUICK_RUN, *LONG_RUNS], scheduler=address, cluster_timeout=30)
    assert address in str(info.value) and "CancelledError" not in str(info.value)
    assert (cache_in_tmp / f"{run_key(QUICK_RUN)}.json").is_file()
    assert run_sweep([QUICK_RUN], workers=1)[0].result.cached  # resumes from the cache


def test_an_unreachable_scheduler_fails_naming_its_address():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        address = f"tcp://127.0.0.1:{sock.getsockname()[1]}"
    with pytest.raises(ClusterError, match=f"cannot reach the dask scheduler at {address}"):
        run_sweep([QUICK_RUN], scheduler=address, cluster_timeout=1)


def test_ctrl_c_stops_the_local_workers_and_keeps_the_finished_run(monkeypatch, cache_in_tmp):
    """A real SIGINT to this process once the first run has come back; the other workers are training runs of a
    million epochs, which the pool would otherwise keep running."""
    workers = []

    def interrupt():
        workers.extend(p.pid for p in sweep._POOL[2]._processes.values())
        os.kill(os.getpid(), signal.SIGINT)
    _after_first_result(monkeypatch, interrupt)
    with pytest.raises(KeyboardInterrupt) as info:
        run_sweep([QUICK_RUN, *LONG_RUNS], workers=2)
    assert any("interrupted with 1 of 4 runs finished" in note for note in info.value.__notes__)
    assert len(workers) == 2 and 2 not in sweep._POOL
    deadline = time.monotonic() + 10
    while any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in workers):
        assert time.monotonic() < deadline, "a worker process kept running after Ctrl-C"
        time.sleep(0.1)
    # the run that came back first is cached (on a loaded machine a 3-second run may beat the quick one)
    assert any((cache_in_tmp / f"{run_key(c)}.json").is_file() for c in [QUICK_RUN, *LONG_RUNS])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_local_workers_end_with_a_killed_parent(tmp_path):
    """A notebook kernel killed mid-sweep (SIGKILL: no Ctrl-C handler, no atexit) takes its workers with it instead
    of leaving them training until their batch ends."""
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(f"""
        import os, pathlib, signal, time
        from ddlib import sweep

        def task(i):  # a batch in progress: it says so, then works for ten minutes
            pathlib.Path(r"{tmp_path}", f"started{{i}}").write_text(str(os.getpid()))
            time.sleep(600)

        if __name__ == "__main__":
            pool = sweep._local_pool(2)
            futures = [pool.submit(task, i) for i in range(2)]
            while not all(pathlib.Path(r"{tmp_path}", f"started{{i}}").is_file() for i in range(2)):
                time.sleep(0.05)
            os.kill(os.getpid(), signal.SIGKILL)
    """))
    with open(tmp_path / "stderr.txt", "w") as err:  # a file, not a pipe: a surviving worker would hold a pipe open
        out = subprocess.run([sys.executable, str(script)], stdout=subprocess.DEVNULL, stderr=err, timeout=120)
    assert out.returncode == -signal.SIGKILL, (tmp_path / "stderr.txt").read_text()[-2000:]
    workers = [int((tmp_path / f"started{i}").read_text()) for i in range(2)]
    deadline = time.monotonic() + 20
    while any(psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE for p in workers):
        assert time.monotonic() < deadline, "a worker kept running after its parent was killed"
        time.sleep(0.1)
