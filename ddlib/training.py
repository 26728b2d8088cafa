r"""Training attention operators on the Fourier data: seeded Adam, a history of test errors, and an on-disk cache.

The loss is the mean relative squared error over a (mini-)batch,

.. math::  L(\theta) = \frac{1}{|B|}\sum_{s\in B} \frac{\|M_\theta^{-1} f_s - u_s\|_2^2}{\|u_s\|_2^2},

minimised by Adam :cite:p:`kingma2015adam` with learning rate ``lr`` (``schedule="cosine"``, the default: epoch ``e``
of ``E`` uses :math:`\mathrm{lr}\,\tfrac12(1 + \cos(\pi (e-1)/E))`, so the last epochs take small steps and the
final error is not caught in an oscillation; ``"constant"``: always ``lr``). At ``eval_points`` epochs (roughly geometric, always including 0 and the
last) the history records

``epoch``, ``seconds``
    the epoch and the cumulative wall-clock seconds spent in training steps (evaluation time excluded);
``train_loss``
    the mean relative squared error over the whole training set;
``error_<set>``
    the per-sample relative error :math:`\|M_\theta^{-1}f - u\|_2/\|u\|_2` averaged over each held-out set
    (``in_band``, ``out_of_band``, ``noise``, ``point_loads``; see :mod:`ddlib.data`);
``operator_error``
    :math:`\|M_\theta^{-1} - A^{-1}\|_2/\|A^{-1}\|_2`.

``loss`` holds the training loss of every epoch (the mean of its batch losses).

Every random draw derives from ``TrainConfig.seed``: the data sets (:func:`ddlib.data.make_datasets` with that seed),
the initialisation and the batch order. Same configuration, same history (up to ``seconds``).

Finished runs are cached as ``<key>.json`` (configuration, history) and ``<key>.pt`` (the trained parameters) in
``$DDLIB_CACHE`` (else ``_build/cache`` in the project root), ``key`` being a SHA-256 hash of the configuration; both
files are written to a temporary name and renamed, so an interrupted sweep leaves no half-written entry and resumes
where it stopped. Cached histories keep the ``seconds`` of the run that made them.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ._validate import check_choice, check_finite, check_int, check_positive
from .attention import DDAttention, GlobalAttention, operator_error
from .data import make_datasets
from .decomposition import Decomposition

__all__ = [
    "TrainConfig",
    "TrainResult",
    "TrainingDiverged",
    "TEST_SETS",
    "build_model",
    "train",
    "cache_dir",
    "cache_key",
    "eval_epochs",
    "first_reaching",
    "SCHEDULES",
]

#: Held-out sets evaluated during training (history keys ``error_<name>``).
TEST_SETS = ("in_band", "out_of_band", "noise", "point_loads")
#: Bump when a change of the code changes results, so old cache entries are not reused.
CACHE_VERSION = 2
_MODEL_KINDS = ("global", "dd")
#: Learning-rate schedules: constant, or cosine decay from ``lr`` to 0 over the epoch budget.
SCHEDULES = ("constant", "cosine")


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite, or grew past ``divergence_factor`` times its initial value."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (and its cache key).

    ``model`` is a plain dict: ``{"kind": "global", "rank": r}`` or ``{"kind": "dd", "N": N, "delta": d,
    "local_rank": r}`` plus optional :class:`ddlib.attention.DDAttention` keywords (``coarse_rank``, ``partition``,
    ``coarse``, ``weighting``, ``use_coarse``, ``use_local``). ``batch_size = None`` means full batch;
    ``max_seconds = None`` means no wall-clock budget (a budget makes the run depend on the machine).
    """

    model: dict
    n: int = 255
    K: int = 16
    samples: int = 64
    test_samples: int = 64
    decay: float = 0.0
    seed: int = 0
    lr: float = 1e-2
    schedule: str = "cosine"
    epochs: int = 1000
    batch_size: int | None = None
    max_seconds: float | None = None
    eval_points: int = 20
    init_scale: float = 0.1
    divergence_factor: float = 1e4

    def __post_init__(self):
        check_int("n", self.n, low=3)
        check_int("K", self.K, low=1, high=max(1, self.n // 2))
        check_int("samples", self.samples, low=1)
        check_int("test_samples", self.test_samples, low=1)
        check_int("seed", self.seed, low=0)
        check_positive("lr", self.lr)
        check_choice("schedule", self.schedule, SCHEDULES)
        check_int("epochs", self.epochs, low=1)
        if self.batch_size is not None:
            check_int("batch_size", self.batch_size, low=1, high=self.samples)
        if self.max_seconds is not None:
            check_positive("max_seconds", self.max_seconds)
        check_int("eval_points", self.eval_points, low=2)
        check_positive("init_scale", self.init_scale)
        check_positive("divergence_factor", self.divergence_factor)
        if not isinstance(self.model, dict) or "kind" not in self.model:
            raise ValueError(f"model must be a dict with a 'kind' in {_MODEL_KINDS}; got {self.model!r}")
        check_choice("model['kind']", self.model["kind"], _MODEL_KINDS)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> "TrainConfig":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)


@dataclass
class TrainResult:
    """A finished run: its configuration, history (lists, see the module docstring) and trained model."""

    config: TrainConfig
    history: dict
    model: torch.nn.Module
    num_parameters: int
    cached: bool = False
    key: str = ""
    final: dict = field(default_factory=dict)

    def curve(self, name: str) -> np.ndarray:
        """One history column as a float array."""
        return np.asarray(self.history[name], dtype=np.float64)


def build_model(spec: dict, n: int, *, seed: int = 0, init_scale: float = 0.1, device="cpu",
                dtype=torch.float64) -> torch.nn.Module:
    """Build :class:`GlobalAttention` or :class:`DDAttention` from a model dict (see :class:`TrainConfig`)."""
    spec = dict(spec)
    kind = check_choice("model['kind']", spec.pop("kind", None), _MODEL_KINDS)
    common = dict(seed=seed, init_scale=init_scale, device=device, dtype=dtype)
    if kind == "global":
        if set(spec) - {"rank", "init"}:
            raise ValueError(f"a global model takes the keys 'rank' and 'init'; got {sorted(spec)}")
        return GlobalAttention(n, spec["rank"], init=spec.get("init", "random"), **common)
    dec = Decomposition(n, spec.pop("N"), spec.pop("delta", 1))
    return DDAttention(dec, spec.pop("local_rank"), **spec, **common)


def cache_dir() -> Path:
    """``$DDLIB_CACHE`` if set, else ``_build/cache`` in the project root (created if missing)."""
    if os.environ.get("DDLIB_CACHE"):
        d = Path(os.environ["DDLIB_CACHE"])
    else:
        from .figures import project_root

        try:
            d = project_root() / "_build" / "cache"
        except FileNotFoundError:
            d = Path.cwd() / "_build" / "cache"
    d.mkdir(parents=True, exist_ok=True)
    return d


def cache_key(config: TrainConfig) -> str:
    """SHA-256 (first 20 hex digits) of the configuration and :data:`CACHE_VERSION`, as canonical JSON."""
    payload = json.dumps({"version": CACHE_VERSION, **config.to_dict()}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


def eval_epochs(epochs: int, points: int) -> np.ndarray:
    """About ``points`` distinct epochs in ``0..epochs``, geometrically spaced, always holding 0 and ``epochs``."""
    epochs, points = check_int("epochs", epochs, low=1), check_int("points", points, low=2)
    e = np.unique(np.round(np.geomspace(1, epochs, points - 1)).astype(int))
    return np.concatenate([[0], e])


def first_reaching(result: TrainResult, target: float, metric: str = "error_in_band") -> tuple[float, float]:
    """The first recorded ``(epoch, seconds)`` with ``metric <= target``, or ``(nan, nan)`` if never reached."""
    v = result.curve(metric)
    hit = np.flatnonzero(v <= target)
    if hit.size == 0:
        return float("nan"), float("nan")
    i = int(hit[0])
    return float(result.history["epoch"][i]), float(result.history["seconds"][i])


class _Progress:
    """A one-line progress bar on stderr, shown only in an interactive terminal (never under papermill or CI)."""

    def __init__(self, total: int, label: str, enabled: bool | None):
        if enabled is None:
            enabled = sys.stderr.isatty() and not os.environ.get("CI")
        self.enabled, self.total, self.label, self.last = enabled, total, label, -1

    def update(self, epoch: int, loss: float):
        if not self.enabled:
            return
        pct = int(100 * epoch / self.total)
        if pct != self.last:
            self.last = pct
            bar = "#" * (pct // 4) + "." * (25 - pct // 4)
            sys.stderr.write(f"\r{self.label} [{bar}] {pct:3d}% epoch {epoch}/{self.total} loss {loss:.3e}")
            sys.stderr.flush()

    def close(self):
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _columns(a: np.ndarray, dtype, device) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(a.T), dtype=dtype, device=device)


def train(config: TrainConfig, *, data: dict | None = None, cache: bool = True, progress: bool | None = None,
          device="cpu", dtype=torch.float64) -> TrainResult:
    """Train the model of ``config`` (or load the cached run); see the module docstring.

    Parameters
    ----------
    config : TrainConfig
        The run.
    data : dict, optional
        Data sets ``name -> Dataset`` (``"train"`` and the :data:`TEST_SETS`) instead of the seeded Fourier sets;
        runs with custom data are never cached. NaN or infinite entries raise a ValueError.
    cache : bool
        Read and write the on-disk cache.
    progress : bool, optional
        Show a progress bar; default: only when stderr is a terminal and ``$CI`` is unset.

    Raises
    ------
    TrainingDiverged
        When the loss becomes non-finite or exceeds ``divergence_factor`` times its initial value.
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig; got {type(config).__name__}")
    custom = data is not None
    key = cache_key(config)
    use_cache = cache and not custom
    if use_cache:
        hit = _load(config, key, device, dtype)
        if hit is not None:
            return hit

    sets = data if custom else make_datasets(config.n, config.samples, config.K, config.seed, config.decay,
                                             test_samples=config.test_samples)
    missing = [s for s in ("train", *TEST_SETS) if s not in sets]
    if missing:
        raise ValueError(f"data must hold the sets 'train' and {TEST_SETS}; missing {missing}")
    for name in ("train", *TEST_SETS):
        check_finite(f"data['{name}'].f", sets[name].f)
        check_finite(f"data['{name}'].u", sets[name].u)
        if sets[name].f.shape[-1] != config.n:
            raise ValueError(f"data['{name}'] must have n = {config.n} columns; got {sets[name].f.shape}")

    torch.manual_seed(config.seed)  # nothing should draw from the global generator; this makes sure of it
    model = build_model(config.model, config.n, seed=config.seed, init_scale=config.init_scale, device=device,
                        dtype=dtype)
    F = _columns(sets["train"].f, dtype, device)
    U = _columns(sets["train"].u, dtype, device)
    w = 1.0 / (U**2).sum(0)  # 1 / ||u_s||^2
    tests = {s: (_columns(sets[s].f, dtype, device), _columns(sets[s].u, dtype, device)) for s in TEST_SETS}
    test_norms = {s: torch.linalg.vector_norm(u, dim=0) for s, (_, u) in tests.items()}
    m = F.shape[1]
    bs = m if config.batch_size is None else config.batch_size
    gen = torch.Generator(device="cpu").manual_seed(config.seed)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr)
    marks = set(eval_epochs(config.epochs, config.eval_points).tolist())
    hist = {k: [] for k in ("epoch", "seconds", "train_loss", *(f"error_{s}" for s in TEST_SETS), "operator_error")}
    hist["loss"] = []

    def evaluate(epoch, seconds):
        with torch.inference_mode():
            r = model.apply_columns(F) - U
            hist["epoch"].append(int(epoch))
            hist["seconds"].append(float(seconds))
            hist["train_loss"].append(float(((r**2).sum(0) * w).mean()))
            for s, (Ft, Ut) in tests.items():
                err = torch.linalg.vector_norm(model.apply_columns(Ft) - Ut, dim=0) / test_norms[s]
                hist[f"error_{s}"].append(float(err.mean()))
            hist["operator_error"].append(operator_error(model.dense(), config.n))

    evaluate(0, 0.0)
    initial = hist["train_loss"][0]
    limit = config.divergence_factor * max(initial, 1.0)
    bar = _Progress(config.epochs, f"{config.model.get('kind')} lr={config.lr:g} seed={config.seed}", progress)
    seconds, epoch = 0.0, 0
    try:
        for epoch in range(1, config.epochs + 1):
            t0 = time.perf_counter()
            if config.schedule == "cosine":
                for group in opt.param_groups:
                    group["lr"] = config.lr * 0.5 * (1.0 + math.cos(math.pi * (epoch - 1) / config.epochs))
            order = torch.randperm(m, generator=gen) if bs < m else None
            total = 0.0
            for start in range(0, m, bs):
                if order is None:
                    Fb, Ub, wb = F, U, w
                else:
                    j = order[start:start + bs]
                    Fb, Ub, wb = F[:, j], U[:, j], w[j]
                opt.zero_grad(set_to_none=True)
                loss = (((model.apply_columns(Fb) - Ub) ** 2).sum(0) * wb).mean()
                loss.backward()
                opt.step()
                total += loss.item() * Fb.shape[1]
            seconds += time.perf_counter() - t0
            epoch_loss = total / m
            hist["loss"].append(epoch_loss)
            if not math.isfinite(epoch_loss) or epoch_loss > limit:
                raise TrainingDiverged(
                    f"training diverged at epoch {epoch}: loss {epoch_loss:.3e} (initial {initial:.3e}, limit "
                    f"{limit:.3e}) with lr = {config.lr:g} for model {config.model}; lower the learning rate")
            out_of_time = config.max_seconds is not None and seconds >= config.max_seconds
            if epoch in marks or out_of_time:
                evaluate(epoch, seconds)
            bar.update(epoch, epoch_loss)
            if out_of_time:
                break
    finally:
        bar.close()

    result = TrainResult(config=config, history=hist, model=model, num_parameters=model.num_parameters(), key=key)
    result.final = _final(hist)
    if use_cache:
        _store(result)
    return result


def _final(hist: dict) -> dict:
    keys = ("epoch", "seconds", "train_loss", *(f"error_{s}" for s in TEST_SETS), "operator_error")
    return {k: hist[k][-1] for k in keys}


def _atomic_write(path: Path, write) -> None:
    with tempfile.NamedTemporaryFile("wb", dir=path.parent, delete=False, suffix=".tmp") as tmp:
        write(tmp)
    os.replace(tmp.name, path)


def _store(result: TrainResult) -> None:
    d = cache_dir()
    state = {k: v.detach().cpu() for k, v in result.model.state_dict().items()}
    _atomic_write(d / f"{result.key}.pt", lambda fh: torch.save(state, fh))
    record = {"config": result.config.to_dict(), "history": result.history, "num_parameters": result.num_parameters,
              "cache_version": CACHE_VERSION}
    _atomic_write(d / f"{result.key}.json", lambda fh: fh.write(json.dumps(record).encode()))


def _load(config: TrainConfig, key: str, device, dtype) -> TrainResult | None:
    d = cache_dir()
    js, pt = d / f"{key}.json", d / f"{key}.pt"
    if not (js.is_file() and pt.is_file()):
        return None
    try:
        record = json.loads(js.read_text())
        state = torch.load(pt, map_location=device, weights_only=True)
    except Exception:  # noqa: BLE001  (any unreadable entry: train again and overwrite it)
        return None  # unreadable entry: train again and overwrite it
    if record.get("config") != json.loads(json.dumps(config.to_dict())):
        return None
    model = build_model(config.model, config.n, seed=config.seed, init_scale=config.init_scale, device=device,
                        dtype=dtype)
    model.load_state_dict(state)
    hist = record["history"]
    return TrainResult(config=config, history=hist, model=model, num_parameters=record["num_parameters"],
                       cached=True, key=key, final=_final(hist))
