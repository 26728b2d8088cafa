r"""The sweep runner: many training runs through one executor, cached, resumable, the same result on any executor.

:func:`run_sweep` takes a list of :class:`ddlib.training.TrainConfig` and returns one :class:`Outcome` per config, in
the same order:

1. every config already in the cache is loaded on the calling side (the *client*);
2. the others are sent, as plain JSON dicts, to an executor: in-process (``workers=1``), local worker processes
   (:class:`concurrent.futures.ProcessPoolExecutor`, the default; no server to start), or a **dask.distributed**
   cluster when a scheduler address is given (``scheduler="tcp://host:port"``, or ``$DDLIB_SCHEDULER``, which ``make
   book SCHEDULER=...`` and ``tools/build_book.py --scheduler`` set). A :class:`distributed.Client` is used through
   its :class:`concurrent.futures.Executor` interface, so both paths share one loop;
3. a worker trains with the cache off and returns the history and the parameters; the client writes the cache entry
   as each result arrives, so an interrupted sweep keeps every finished run and resumes where it stopped, and workers
   on other machines need no shared disk.

Every run uses one torch thread and seeded generators (see :mod:`ddlib.training`), so the histories are identical
whatever the executor and the number of workers (only the measured ``seconds`` differ). A run that diverges is an
outcome like any other (``diverged=True``; the selection rule of :mod:`ddlib.experiments` counts it as infinitely
bad). A run that raises reports its config and the worker's traceback; the other runs finish and are cached first,
then :func:`run_sweep` raises :class:`SweepError` listing the failures (``errors="return"`` returns them instead).

Scaling out (the Reproduce page has the commands): start ``dask scheduler`` on one machine and ``dask worker
tcp://host:8786 --nthreads 1`` on each worker machine (with this package installed), then ``make book
SCHEDULER=tcp://host:8786``. On a SLURM cluster ``dask_jobqueue.SLURMCluster(cores=1, processes=1, ...)`` starts the
workers as batch jobs; pass its ``scheduler_address``.
"""
from __future__ import annotations

import atexit
import multiprocessing
import os
import signal
import sys
import traceback
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass

import numpy as np
import torch
from distributed import Client

from ._validate import check_int
from .training import TrainConfig, TrainingDiverged, TrainResult, load_cached, run_key, store, train

__all__ = ["Outcome", "SweepError", "run_sweep", "scheduler_address", "default_workers"]


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


def scheduler_address(scheduler: str | None = None) -> str | None:
    """The dask scheduler to use: ``scheduler`` if given, else ``$DDLIB_SCHEDULER`` (empty means none)."""
    value = scheduler if scheduler is not None else os.environ.get("DDLIB_SCHEDULER", "")
    value = value.strip()
    if value and "://" not in value:
        raise ValueError(f"scheduler must be an address like 'tcp://host:8786'; got {value!r}")
    return value or None


def default_workers() -> int:
    """``$DDLIB_WORKERS`` if set (an integer >= 1), else the number of CPU cores."""
    value = os.environ.get("DDLIB_WORKERS", "").strip()
    if not value:
        return os.cpu_count() or 1
    try:
        return check_int("DDLIB_WORKERS", int(value), low=1)
    except ValueError:
        raise ValueError(f"DDLIB_WORKERS must be an integer >= 1; got {value!r}") from None


def _run_remote(payload: dict) -> dict:
    """Worker side: train one config (cache off) and return plain data, never raising."""
    try:
        config = TrainConfig.from_dict(payload["config"])
        dtype = getattr(torch, payload["dtype"].removeprefix("torch."))
        res = train(config, cache_results=False, progress=False, device=payload["device"], dtype=dtype)
        state = {k: v.detach().cpu().numpy() for k, v in res.model.state_dict().items()}
        return {"history": res.history, "state": state, "num_parameters": res.num_parameters}
    except TrainingDiverged as exc:
        return {"diverged": str(exc)}
    except Exception:  # noqa: BLE001  (reported to the client with the traceback)
        return {"error": traceback.format_exc()}


def _init_worker() -> None:
    """Local workers: one thread each; Ctrl-C (sent to the whole process group) is the parent's to handle."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    torch.set_num_threads(1)


def _receive(config: TrainConfig, reply: dict, key: str, device, dtype, cache_results: bool) -> Outcome:
    """Client side: turn a worker's reply into an outcome (and a cache entry)."""
    if "diverged" in reply:
        return Outcome(config, error=reply["diverged"], diverged=True)
    if "error" in reply:
        return Outcome(config, error=reply["error"])
    model = config.build_model(dtype, device)
    model.load_state_dict({k: torch.as_tensor(np.asarray(v), device=device) for k, v in reply["state"].items()})
    result = TrainResult(config, reply["history"], model, reply["num_parameters"], key=key)
    if cache_results:
        store(result)
    return Outcome(config, result=result)


def _executor(scheduler: str | None, workers: int) -> tuple[Executor | None, object]:
    """The executor for the pending runs and what to close afterwards (a dask client, or the executor itself)."""
    if scheduler:
        client = Client(scheduler)
        return client.get_executor(pure=False), client
    if workers <= 1:
        return None, None
    return _local_pool(workers), None


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


@atexit.register
def _close_pools() -> None:
    for pool in _POOL.values():
        pool.shutdown(cancel_futures=True)
    _POOL.clear()


def run_sweep(configs, *, scheduler: str | None = None, workers: int | None = None, errors: str = "raise",
              cache_results: bool = True, progress: bool | None = None, device="cpu",
              dtype=torch.float64) -> list[Outcome]:
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
    """
    configs = list(configs)
    for i, c in enumerate(configs):
        if not isinstance(c, TrainConfig):
            raise ValueError(f"configs[{i}] must be a TrainConfig; got {type(c).__name__}")
    if errors not in ("raise", "return"):
        raise ValueError(f"errors must be 'raise' or 'return'; got {errors!r}")
    keys = [run_key(c, dtype, device) for c in configs]
    outcomes: list[Outcome | None] = [None] * len(configs)
    for i, (c, k) in enumerate(zip(configs, keys)):
        hit = load_cached(c, k, device, dtype) if cache_results else None
        if hit is not None:
            outcomes[i] = Outcome(c, result=hit)
    pending = [i for i, o in enumerate(outcomes) if o is None]
    workers = min(default_workers() if workers is None else check_int("workers", workers, low=1), len(pending))
    bar = _Bar(len(configs), len(configs) - len(pending), progress)
    executor, closer = _executor(scheduler_address(scheduler), workers) if pending else (None, None)
    try:
        _dispatch(executor, pending, configs, keys, outcomes, bar, device, dtype, cache_results)
    finally:
        bar.close()
        if closer is not None:
            (closer.close if hasattr(closer, "close") else closer.shutdown)()
    failed = [o for o in outcomes if o.error is not None and not o.diverged]
    if failed and errors == "raise":
        raise SweepError(failed)
    return outcomes


def _dispatch(executor, pending, configs, keys, outcomes, bar, device, dtype, cache_results) -> None:
    payload = lambda i: {"config": configs[i].to_dict(), "dtype": str(dtype), "device": str(device)}  # noqa: E731
    if executor is None:  # in this process, one after the other
        for i in pending:
            outcomes[i] = _receive(configs[i], _run_remote(payload(i)), keys[i], device, dtype, cache_results)
            bar.advance(outcomes[i])
        return
    futures: dict[Future, int] = {executor.submit(_run_remote, payload(i)): i for i in pending}
    for fut in as_completed(futures):
        i = futures[fut]
        try:
            reply = fut.result()
        except Exception as exc:  # noqa: BLE001  (a worker died: report the run, keep the others)
            reply = {"error": f"the worker failed: {type(exc).__name__}: {exc}"}
        outcomes[i] = _receive(configs[i], reply, keys[i], device, dtype, cache_results)
        bar.advance(outcomes[i])


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
