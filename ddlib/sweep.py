r"""The sweep runner: many training runs through one executor, cached, resumable, the same result on any executor.

:func:`run_sweep` takes a list of :class:`ddlib.training.TrainConfig` and returns one :class:`Outcome` per config, in
the same order:

1. every config already in the cache is loaded on the calling side (the *client*);
2. the others are grouped into batches of compatible runs (:func:`ddlib.batched.plan_batches`: the same model,
   problem, data sizes, epochs and batch size, differing in learning rate, initial scale, schedule, seed or
   optimizer), a function of the pending configs alone; a batch of several trains as one batched model
   (:func:`ddlib.batched.train_batch`), a batch of one (or an L-BFGS run, or one with a ``max_seconds`` budget) by
   :func:`ddlib.training.train`. The batches are sent, as plain JSON dicts, to an executor: in-process (``workers=1``), local worker processes
   (:class:`concurrent.futures.ProcessPoolExecutor`, the default; no server to start), or a **dask.distributed**
   cluster when a scheduler address is given (``scheduler="tcp://host:port"``, or ``$DDLIB_SCHEDULER``, which ``make
   book SCHEDULER=...`` and ``tools/build_book.py --scheduler`` set). A :class:`distributed.Client` is used through
   its :class:`concurrent.futures.Executor` interface, so both paths share one loop;
3. a worker trains with the cache off and returns the histories and the parameters; the client writes each run's
   cache entry under its own key as each batch arrives, so an interrupted sweep keeps every finished run and resumes
   where it stopped, and workers on other machines need no shared disk.

Every run uses one torch thread and seeded generators (see :mod:`ddlib.training`), and the batches depend on the
configs alone, so the histories are identical whatever the executor and the number of workers (only the measured
``seconds`` differ). A batched run agrees with the same run trained alone to rounding (its last bits depend on the
batch it was trained in), and its ``seconds`` are its share of the batch's time, flagged by
:attr:`ddlib.training.TrainResult.timing`: not a solo timing. A run that diverges is an
outcome like any other (``diverged=True``; the selection rule of :mod:`ddlib.experiments` counts it as infinitely
bad). A run that raises reports its config and the worker's traceback; the other runs finish and are cached first,
then :func:`run_sweep` raises :class:`SweepError` listing the failures (``errors="return"`` returns them instead).

**Lost clusters and Ctrl-C.** A dask sweep that cannot reach its scheduler, loses the connection to it, or has no
worker connected for ``cluster_timeout`` seconds (default ``$DDLIB_CLUSTER_TIMEOUT``, else
:data:`CLUSTER_TIMEOUT`) raises :class:`ClusterError`, whose message names the scheduler's address and what to check;
it never waits forever. Ctrl-C (``KeyboardInterrupt``) cancels the runs not yet finished and stops the local worker
processes, then propagates. In both cases the runs that finished before are in the cache, so a rerun resumes.

Scaling out (the Reproduce page has the commands): start ``dask scheduler`` on one machine and ``dask worker
tcp://host:8786 --nthreads 1`` on each worker machine (with this package installed), then ``make book
SCHEDULER=tcp://host:8786``. On a SLURM cluster ``dask_jobqueue.SLURMCluster(cores=1, processes=1, ...)`` starts the
workers as batch jobs; pass its ``scheduler_address``.
"""
from __future__ import annotations

import atexit
import ctypes
import multiprocessing
import os
import signal
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np
import torch

from ._validate import check_int, check_positive, env_int, env_positive
from .batched import plan_batches, train_batch
from .training import TrainConfig, TrainingDiverged, TrainResult, load_cached, run_key, store, train

__all__ = ["Outcome", "SweepError", "ClusterError", "CLUSTER_TIMEOUT", "run_sweep", "scheduler_address",
           "default_workers"]

#: Seconds a dask sweep waits to connect to its scheduler, or with no worker connected, before it fails.
CLUSTER_TIMEOUT = 120.0


@dataclass
class Outcome:
    """One run of a sweep: its ``config`` and either a ``result``, or ``diverged`` (with ``error`` the message), or
    an ``error`` (the traceback)."""

    config: TrainConfig
    result: TrainResult | None = None
    error: str | None = None
    diverged: bool = False

    @property
    def ok(self) -> bool:
        return self.result is not None


class SweepError(RuntimeError):
    """Some runs of a sweep raised (other than diverging); the message lists their configs and tracebacks."""

    def __init__(self, failed: list[Outcome]):
        self.failed = failed
        parts = [f"{len(failed)} run(s) of the sweep failed:"]
        for o in failed:
            parts.append(f"--- {o.config.label} (seed {o.config.seed}, lr {o.config.lr:g}):\n{o.error}")
        super().__init__("\n".join(parts))


#: Address schemes of dask.distributed's communication layers.
SCHEMES = ("tcp", "tls", "inproc", "ucx", "ws", "wss")


class ClusterError(RuntimeError):
    """The dask cluster of a sweep is unreachable or was lost; the message names the scheduler's address and what to
    check. ``outcomes`` holds what had finished (in the order of the configs; None for the runs that had not)."""

    def __init__(self, message: str, outcomes: list | None = None):
        super().__init__(message)
        self.outcomes = outcomes or []


def scheduler_address(scheduler: str | None = None) -> str | None:
    """The dask scheduler to use: ``scheduler`` if given, else ``$DDLIB_SCHEDULER`` (empty means none).

    An address is ``scheme://host[:port]`` with a scheme of :data:`SCHEMES`; anything else is a ValueError naming
    the argument or the environment variable it came from."""
    source = "scheduler" if scheduler is not None else "environment variable DDLIB_SCHEDULER"
    value = (scheduler if scheduler is not None else os.environ.get("DDLIB_SCHEDULER", "")).strip()
    if not value:
        return None
    scheme, sep, rest = value.partition("://")
    try:
        parts = urlsplit(value)
        ok = bool(sep) and scheme in SCHEMES and bool(rest) and (scheme == "inproc" or bool(parts.hostname))
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number in 0..65535)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{source} must be an address like 'tcp://host:8786' (schemes: {', '.join(SCHEMES)}); "
                         f"got {value!r}")
    return value


def default_workers() -> int:
    """``$DDLIB_WORKERS`` if set (an integer >= 1), else the number of CPU cores."""
    workers = env_int("DDLIB_WORKERS", low=1)
    return workers if workers is not None else (os.cpu_count() or 1)


def _cluster_timeout(timeout: float | None = None) -> float:
    """``timeout`` if given, else ``$DDLIB_CLUSTER_TIMEOUT`` (a positive number of seconds), else
    :data:`CLUSTER_TIMEOUT`."""
    if timeout is not None:
        return check_positive("cluster_timeout", timeout)
    value = env_positive("DDLIB_CLUSTER_TIMEOUT")
    return CLUSTER_TIMEOUT if value is None else value


def _run_remote(payload: dict) -> list[dict]:
    """Worker side: train one batch of configs (cache off; :func:`ddlib.batched.train_batch`, or
    :func:`ddlib.training.train` for a batch of one) and return one reply of plain data per config, never raising.
    A batch that raises is retried one config at a time, so that the error is reported for the run that raised and
    the others finish."""
    dtype = getattr(torch, payload["dtype"].removeprefix("torch."))
    device = payload["device"]
    if len(payload["configs"]) > 1:
        try:
            configs = [TrainConfig.from_dict(d) for d in payload["configs"]]
            return [_reply(r) for r in train_batch(configs, device=device, dtype=dtype, progress=False)]
        except Exception:  # noqa: BLE001  (one of the runs raises: find it by running them alone)
            pass
    return [_run_alone(d, device, dtype) for d in payload["configs"]]


def _run_alone(config: dict, device, dtype) -> dict:
    try:
        res = train(TrainConfig.from_dict(config), cache_results=False, progress=False, device=device, dtype=dtype)
        return _reply(res)
    except TrainingDiverged as exc:
        return _reply(exc)
    except Exception:  # noqa: BLE001  (reported to the client with the traceback)
        return {"error": traceback.format_exc()}


def _reply(res: TrainResult | TrainingDiverged) -> dict:
    if isinstance(res, TrainingDiverged):
        return {"diverged": str(res)}
    state = {k: v.detach().cpu().numpy() for k, v in res.model.state_dict().items()}
    return {"history": res.history, "state": state, "num_parameters": res.num_parameters, "timing": res.timing}


def _init_worker() -> None:
    """Local workers: one thread each; Ctrl-C (sent to the whole process group) is the parent's to handle; a worker
    ends with its parent (:func:`_end_with_parent`)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _end_with_parent(os.getppid())
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)


def _end_with_parent(parent: int) -> None:
    """Ask Linux to send this process SIGTERM when its parent dies (``prctl(PR_SET_PDEATHSIG)``): a killed notebook
    kernel or build would otherwise leave its workers training until their batch ends. Elsewhere nothing happens (the
    workers then notice the closed pipe after their batch)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM))  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # no libc to ask
        return
    if os.getppid() != parent:  # the parent died before the request: end now
        os.kill(os.getpid(), signal.SIGTERM)


def _receive(config: TrainConfig, reply: dict, key: str, device, dtype, cache_results: bool) -> Outcome:
    """Client side: turn a worker's reply into an outcome (and a cache entry)."""
    if "diverged" in reply:
        return Outcome(config, error=reply["diverged"], diverged=True)
    if "error" in reply:
        return Outcome(config, error=reply["error"])
    model = config.build_model(dtype, device)
    model.load_state_dict({k: torch.as_tensor(np.asarray(v), device=device) for k, v in reply["state"].items()})
    result = TrainResult(config, reply["history"], model, reply["num_parameters"], key=key, timing=reply["timing"])
    if cache_results:
        store(result)
    return Outcome(config, result=result)


def _executor(scheduler: str | None, workers: int, timeout: float) -> tuple[Executor | None, object]:
    """The executor for the pending runs and what to close afterwards (a dask client, or nothing)."""
    if scheduler:
        try:
            from distributed import Client  # import here: only a dask sweep needs it (the import costs a second)
            client = Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the dask scheduler at {scheduler} within {timeout:g} s "
                               f"({type(exc).__name__}: {exc}). Check that `dask scheduler` runs there and that "
                               "this machine can reach its address and port (firewall, VPN), or unset "
                               "DDLIB_SCHEDULER to run on local processes.") from None
        return client.get_executor(pure=False), client
    if workers <= 1:
        return None, None
    return _local_pool(workers), None


class _ClusterWatch:
    """Tells, while runs are pending, whether the dask cluster behind ``client`` is lost: the connection to the
    scheduler gone, or no worker connected, for ``timeout`` seconds without a break."""

    def __init__(self, client, address: str, timeout: float, cached: bool):
        self.client, self.address, self.timeout, self.cached = client, address, timeout, cached
        self.since: float | None = None  # since when the cluster has been seen in trouble

    def problem(self) -> str | None:
        """``"scheduler"``, ``"workers"`` or None (all well) as seen now."""
        if self.client.status != "running":
            return "scheduler"
        info = self.client.scheduler_info(n_workers=0)
        return None if info.get("n_workers", len(info.get("workers", {}))) else "workers"

    def check(self, outcomes: list) -> None:
        """Raise :class:`ClusterError` once the same trouble has lasted ``timeout`` seconds."""
        problem, now = self.problem(), time.monotonic()
        if problem is None:
            self.since = None
        elif self.since is None:
            self.since = now
        elif now - self.since >= self.timeout:
            raise self.error(problem, outcomes)

    def error(self, problem: str, outcomes: list) -> ClusterError:
        done = sum(o is not None for o in outcomes)
        state = (f"{done} of {len(outcomes)} runs had finished" + (" (they are in the cache, so a rerun resumes)"
                 if self.cached else "") + "; the others were cancelled.")
        if problem == "scheduler":
            what = (f"lost the connection to the dask scheduler at {self.address}. Check that `dask scheduler` is "
                    "still running there (it may have been stopped or run out of memory) and that this machine "
                    "can reach it.")
        else:
            what = (f"no dask worker has been connected to the scheduler at {self.address} for {self.timeout:g} s "
                    "(DDLIB_CLUSTER_TIMEOUT). Check that the workers run (`dask worker "
                    f"{self.address} --nthreads 1`), that they can reach the scheduler, and that they have this "
                    "package installed; their logs say why they stopped.")
        return ClusterError(f"{what} {state}", outcomes)


_POOL: dict = {}


def _local_pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` local processes, started once and kept for later sweeps of this process (starting a
    worker imports torch: seconds); a broken pool is replaced."""
    pool = _POOL.get(workers)
    if pool is None or getattr(pool, "_broken", False):
        pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker)
        _POOL[workers] = pool
    return pool


def _abandon(executor) -> None:
    """Stop the work of an interrupted sweep on a local pool: its processes are terminated (a running run cannot be
    cancelled otherwise) and the pool is dropped, so the next sweep starts a fresh one."""
    if not isinstance(executor, ProcessPoolExecutor):
        return
    for workers, pool in list(_POOL.items()):
        if pool is executor:
            del _POOL[workers]
    processes = list((getattr(executor, "_processes", None) or {}).values())
    for proc in processes:
        proc.terminate()
    executor.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()


@atexit.register
def _close_pools() -> None:
    for pool in _POOL.values():
        pool.shutdown(cancel_futures=True)
    _POOL.clear()


def run_sweep(configs, *, scheduler: str | None = None, workers: int | None = None, errors: str = "raise",
              cache_results: bool = True, progress: bool | None = None, device="cpu", dtype=torch.float64,
              cluster_timeout: float | None = None) -> list[Outcome]:
    """Run every config (see the module docstring); one :class:`Outcome` per config, in order.

    Parameters
    ----------
    configs : iterable of TrainConfig
    scheduler : str, optional
        Address of a dask scheduler; default ``$DDLIB_SCHEDULER``; none: local processes.
    workers : int, optional
        Local worker processes (``1``: run in this process); default :func:`default_workers`, capped at the number
        of pending runs.
    errors : {"raise", "return"}
        After every run has finished: raise :class:`SweepError` if some raised, or return their outcomes.
    cache_results, progress, device, dtype
        As in :func:`ddlib.training.train`.
    cluster_timeout : float, optional
        Seconds to wait for the scheduler's connection, or with no worker connected, before a dask sweep fails;
        default ``$DDLIB_CLUSTER_TIMEOUT``, else :data:`CLUSTER_TIMEOUT`.

    Raises
    ------
    ClusterError
        A dask sweep's scheduler is unreachable or lost, or no worker was connected for ``cluster_timeout`` seconds.
    KeyboardInterrupt
        After Ctrl-C has cancelled the pending runs and stopped the local worker processes.
    """
    configs = list(configs)
    for i, c in enumerate(configs):
        if not isinstance(c, TrainConfig):
            raise ValueError(f"configs[{i}] must be a TrainConfig; got {type(c).__name__}")
    if errors not in ("raise", "return"):
        raise ValueError(f"errors must be 'raise' or 'return'; got {errors!r}")
    address, timeout = scheduler_address(scheduler), _cluster_timeout(cluster_timeout)
    keys = [run_key(c, dtype, device) for c in configs]
    outcomes: list[Outcome | None] = [None] * len(configs)
    for i, (c, k) in enumerate(zip(configs, keys)):
        hit = load_cached(c, k, device, dtype) if cache_results else None
        if hit is not None:
            outcomes[i] = Outcome(c, result=hit)
    pending = [i for i, o in enumerate(outcomes) if o is None]
    batches = [[pending[j] for j in b] for b in plan_batches([configs[i] for i in pending])]
    workers = min(default_workers() if workers is None else check_int("workers", workers, low=1), len(batches))
    receive = _Receiver(configs, keys, outcomes, _Bar(len(configs), len(configs) - len(pending), progress),
                        device, dtype, cache_results)
    executor, client = _executor(address, workers, timeout) if pending else (None, None)
    try:
        if executor is None:  # in this process, one batch after the other
            for batch in batches:
                receive(batch, _run_remote(receive.payload(batch)))
        else:
            watch = _ClusterWatch(client, address, timeout, cache_results) if client is not None else None
            _dispatch(executor, batches, receive, watch)
    except BaseException as exc:
        _abandon(executor)
        if isinstance(exc, KeyboardInterrupt):
            done = sum(o is not None for o in outcomes)
            exc.add_note(f"run_sweep: interrupted with {done} of {len(outcomes)} runs finished"
                         + (" (they are in the cache: a rerun resumes)" if cache_results else "")
                         + "; the others were cancelled and the local worker processes stopped")
        raise
    finally:
        receive.bar.close()
        if client is not None:
            client.close(timeout=min(timeout, 10.0))
    failed = [o for o in outcomes if o.error is not None and not o.diverged]
    if failed and errors == "raise":
        raise SweepError(failed)
    return outcomes


class _Receiver:
    """Client side: ``receive(batch, replies)`` turns the worker's replies for the configs of ``batch`` (indices)
    into their outcomes (and cache entries, each under its own config's key) and advances the progress bar;
    ``payload(batch)`` is what a worker gets."""

    def __init__(self, configs, keys, outcomes, bar, device, dtype, cache_results):
        self.configs, self.keys, self.outcomes, self.bar = configs, keys, outcomes, bar
        self.device, self.dtype, self.cache_results = device, dtype, cache_results

    def payload(self, batch: list[int]) -> dict:
        return {"configs": [self.configs[i].to_dict() for i in batch], "dtype": str(self.dtype),
                "device": str(self.device)}

    def __call__(self, batch: list[int], replies: list[dict]) -> None:
        for i, reply in zip(batch, replies):
            self.outcomes[i] = _receive(self.configs[i], reply, self.keys[i], self.device, self.dtype,
                                        self.cache_results)
            self.bar.advance(self.outcomes[i])


def _dispatch(executor: Executor, batches: list[list[int]], receive: _Receiver,
              watch: _ClusterWatch | None) -> None:
    """Submit every batch and receive the replies as they come; a lost cluster raises (``watch``), and on any
    exception the batches not yet finished are cancelled."""
    futures: dict[Future, list[int]] = {executor.submit(_run_remote, receive.payload(b)): b for b in batches}
    waiting = set(futures)
    poll = 1.0 if watch is None else min(1.0, watch.timeout / 4)
    try:
        while waiting:
            done, waiting = wait(waiting, timeout=poll, return_when=FIRST_COMPLETED)
            lost = False
            for fut in done:
                if fut.cancelled():  # dask cancels every pending future when the scheduler's connection is lost
                    lost = True
                    continue
                try:
                    replies = fut.result()
                except Exception as exc:  # noqa: BLE001  (a worker died: report its runs, keep the others)
                    replies = [{"error": f"the worker failed: {type(exc).__name__}: {exc}"}] * len(futures[fut])
                receive(futures[fut], replies)
            if lost and watch is not None:
                raise watch.error("scheduler", receive.outcomes)
            if watch is not None and not done:
                watch.check(receive.outcomes)
    finally:
        for fut in waiting:
            fut.cancel()


class _Bar:
    """``runs done/total`` on stderr in an interactive terminal; silent under papermill and CI."""

    def __init__(self, total: int, done: int, enabled: bool | None):
        if enabled is None:
            enabled = sys.stderr.isatty() and not os.environ.get("CI")
        self.enabled, self.total, self.done, self.failed = enabled and total > done, total, done, 0

    def advance(self, outcome: Outcome) -> None:
        self.done += 1
        self.failed += outcome.error is not None and not outcome.diverged
        if self.enabled:
            tail = f", {self.failed} failed" if self.failed else ""
            sys.stderr.write(f"\rsweep: {self.done}/{self.total} runs{tail}")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()
