r"""The one trainer: every fit in the book is :func:`train` of a :class:`TrainConfig`.

**Loss.** The mean relative squared error over a (mini-)batch,

.. math::  L(\theta) = \frac{1}{|B|}\sum_{s\in B} \frac{\|M_\theta^{-1} f_s - u_s\|_2^2}{\|u_s\|_2^2},

or, with ``loss="energy"`` (:data:`LOSSES`), the same ratio in the energy norm of the run's problem,
:math:`\|e\|_A^2 = e^TAe = h^{-2}\sum_k\sum_e w_e(G_ke)_e^2` (:meth:`ddlib.problem.Problem.energy`: a sum of squares
of weighted differences, :math:`O(n)`, no matrix),
the norm in which CG measures its error (paired with the ``"energy_probes"`` data, the loss is a function of the
spectrum of :math:`M_\theta A` alone, see :mod:`ddlib.data`). With ``solver_steps = k > 1`` the prediction
:math:`M_\theta^{-1}f` is replaced by the ``k``-th iterate of an iteration for :math:`Au = f` preconditioned by the
model (:func:`predict`: Richardson, steepest descent or CG), so that the loss measures the model as a preconditioner.
The loss is
minimised by the ``optimizer`` (:data:`OPTIMIZERS`): Adam :cite:p:`kingma2015adam`, full-batch heavy-ball gradient
descent (``"gd"``, momentum :data:`MOMENTUM`) or L-BFGS (``"lbfgs"``, one step with a strong-Wolfe line search per
epoch, full batch only), with learning rate ``lr`` and a schedule (:data:`SCHEDULES`):
``"cosine"`` (epoch ``e`` of ``E`` uses :math:`\mathrm{lr}\,\tfrac12(1 + \cos(\pi (e-1)/E))`, so the last epochs take
small steps) or ``"constant"``. A loss that becomes NaN or infinite, or grows past ``divergence_factor`` times its
initial value (at least 1), raises :class:`TrainingDiverged`, the one divergence error of the package.

**Data.** ``data`` names the training distribution (:data:`ddlib.data.TRAINING_KINDS`: the Fourier band ``1..K``,
white noise, or a smooth random field); the training and the validation set are independent draws from it, and the
held-out test sets are those of :mod:`ddlib.data`.

**The problem.** ``n`` unknowns in ``dim`` dimensions (``n = m**dim``, :meth:`ddlib.problem.Problem.from_size`) with
the cell coefficient ``coefficient`` (a :func:`ddlib.coefficients.field` spec; None: constant), the band
:math:`\max_j k_j \le K` with ``K <= m // 2`` (:mod:`ddlib.data`). :attr:`TrainConfig.problem` is the one place the
run's matrix comes from: the data, the model (its quadrature weight), the energy loss, the iterations of
``solver_steps`` and the operator error all read it, never a dimension flag. Every random draw derives from ``seed``: the data, the
initialisation (the model's own generator) and the batch order (a private generator). Torch's and NumPy's global
generators are left untouched, and the run uses one torch thread, so a configuration gives the same history (up to
``seconds``) in any process, on any executor (:mod:`ddlib.sweep`).

**History.** At ``eval_points`` epochs (geometric, always including 0 and the last; :func:`eval_epochs`):

``epoch``, ``seconds``
    the epoch and the cumulative wall-clock seconds of the training steps (evaluation excluded); a run trained in a
    batch (:mod:`ddlib.batched`) records its share of the batch's seconds instead, and says so in
    :attr:`TrainResult.timing`;
``train_loss``
    the loss over the whole training set;
``error_<set>``
    the mean per-sample relative error :math:`\|M_\theta^{-1}f - u\|/\|u\|` on ``validation`` and on each test
    set (:data:`ddlib.data.TEST_SETS`), in the norm of the loss (:math:`\ell_2`, or the energy norm);
``operator_error``
    :math:`\|M_\theta^{-1} - A^{-1}\|_2/\|A^{-1}\|_2` (:func:`ddlib.attention.operator_error`); for
    ``n > DENSE_OPERATOR_MAX`` only at the last point (NaN before), where it is a Lanczos estimate.

``loss`` holds the training loss of every epoch. **Selection reads only** ``train_loss`` **and**
``error_validation`` (:mod:`ddlib.experiments`).

**Cache.** Finished runs are stored by :mod:`ddlib.cache` under a key of the configuration, the data type and the
device; a damaged entry is reported, moved aside and recomputed.

**Time to a target** (:func:`time_to_target`): the first epoch and second at which a metric reaches a target,
interpolated linearly in :math:`\log(\mathrm{error})` between the two recorded points around the crossing.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from . import cache
from ._validate import check_choice, check_finite, check_int, check_positive
from .attention import DENSE_OPERATOR_MAX, operator_error
from .coefficients import field
from .data import TEST_SETS, TRAINING_KINDS, make_datasets
from .models import ModelSpec, spec_from_dict
from .problem import DIMS, Problem

__all__ = ["TrainConfig", "TrainResult", "TrainingDiverged", "EVAL_SETS", "SCHEDULES", "OPTIMIZERS", "MOMENTUM",
           "LOSSES", "SOLVERS", "HISTORY_KEYS", "train", "predict", "batch_loss", "evaluation_metrics",
           "squared_norms", "make_optimizer", "training_step", "run_key", "load_cached", "eval_epochs",
           "time_to_target", "one_torch_thread"]

#: The sets evaluated during training (history keys ``error_<name>``): validation first, then the test sets.
EVAL_SETS = ("validation", *TEST_SETS)
#: Learning-rate schedules.
SCHEDULES = ("cosine", "constant")
#: Optimizers: Adam, full-batch heavy-ball gradient descent, L-BFGS (full batch).
OPTIMIZERS = ("adam", "gd", "lbfgs")
#: The momentum of heavy-ball gradient descent (``optimizer="gd"``).
MOMENTUM = 0.9
#: How the book names the optimizers of :data:`OPTIMIZERS` (tables, legends, sentences).
OPTIMIZER_NAMES = {"adam": "Adam", "gd": "heavy-ball GD", "lbfgs": "L-BFGS"}
#: Norms of the loss: the Euclidean norm, or the energy norm :math:`\|e\|_A` of the model problem.
LOSSES = ("l2", "energy")
#: Iterations whose ``solver_steps``-th iterate is the prediction (:func:`predict`).
SOLVERS = ("richardson", "steepest_descent", "pcg")
#: The columns of a history recorded at every evaluation point.
HISTORY_KEYS = ("epoch", "seconds", "train_loss", *(f"error_{s}" for s in EVAL_SETS), "operator_error")


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite, or grew past ``divergence_factor`` times its initial value."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a training run (and its cache key); validated and normalised when made.

    ``model`` is a :mod:`ddlib.models` spec (a dict of :meth:`ModelSpec.to_dict` form is converted). ``batch_size =
    None`` means full batch; ``max_seconds = None`` means no wall-clock budget (a budget makes the run depend on the
    machine). ``loss`` is the norm of the loss and of the recorded errors (:data:`LOSSES`); ``solver_steps = k``
    makes the prediction the ``k``-th iterate of ``solver`` (:data:`SOLVERS`, :func:`predict`; the default, one
    Richardson step, is the operator itself). ``dim`` and ``coefficient`` define the problem with ``n`` (module
    docstring; ``K <= m // 2``); ``optimizer`` is one of :data:`OPTIMIZERS`. Integral floats and NumPy integers become
    ``int``; anything else out of range is a ValueError naming the field.
    """

    model: ModelSpec
    n: int = 255
    data: str = "fourier"
    K: int = 16
    samples: int = 64
    validation_samples: int = 64
    test_samples: int = 64
    decay: float = 0.0
    seed: int = 0
    lr: float = 1e-2
    init_scale: float = 0.1
    schedule: str = "cosine"
    epochs: int = 1000
    batch_size: int | None = None
    eval_points: int = 20
    divergence_factor: float = 1e4
    max_seconds: float | None = None
    loss: str = "l2"
    solver_steps: int = 1
    solver: str = "richardson"
    dim: int = 1
    coefficient: dict | None = None
    optimizer: str = "adam"

    def __post_init__(self):
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731  (frozen dataclass)
        put("model", spec_from_dict(self.model) if isinstance(self.model, dict) else self.model)
        if not isinstance(self.model, ModelSpec):
            raise ValueError(f"model must be a ddlib.models spec (GlobalSpec, DDSpec, BandedSpec); got {self.model!r}")
        put("dim", check_choice("dim", check_int("dim", self.dim, low=1), DIMS))
        put("n", check_int("n", self.n, low=2**self.dim))
        side = Problem.from_size(self.n, self.dim).m
        if self.coefficient is not None:
            put("coefficient", dict(self.coefficient))
            field(side, self.dim, self.coefficient)  # a bad field spec is refused here
        put("data", check_choice("data", self.data, TRAINING_KINDS))
        put("K", check_int("K", self.K, low=1, high=side // 2))
        for name in ("samples", "validation_samples", "test_samples", "epochs"):
            put(name, check_int(name, getattr(self, name), low=1))
        put("seed", check_int("seed", self.seed, low=0))
        put("eval_points", check_int("eval_points", self.eval_points, low=2))
        for name in ("lr", "init_scale", "divergence_factor"):
            put(name, check_positive(name, getattr(self, name)))
        decay = float(self.decay)
        if not math.isfinite(decay) or decay < 0:
            raise ValueError(f"decay must be a finite number >= 0; got {self.decay!r}")
        put("decay", decay)
        put("schedule", check_choice("schedule", self.schedule, SCHEDULES))
        put("optimizer", check_choice("optimizer", self.optimizer, OPTIMIZERS))
        if self.optimizer == "lbfgs" and self.batch_size is not None and self.batch_size < self.samples:
            raise ValueError(f"batch_size must be None (full batch) for optimizer 'lbfgs'; got {self.batch_size}")
        put("loss", check_choice("loss", self.loss, LOSSES))
        put("solver_steps", check_int("solver_steps", self.solver_steps, low=1))
        put("solver", check_choice("solver", self.solver, SOLVERS))
        if self.batch_size is not None:
            put("batch_size", check_int("batch_size", self.batch_size, low=1, high=self.samples))
        if self.max_seconds is not None:
            put("max_seconds", check_positive("max_seconds", self.max_seconds))
        self.model.parameter_count(self.problem)  # the model must fit the problem (e.g. N divides m + 1)

    def to_dict(self) -> dict:
        """Plain JSON of every field (the model as :meth:`ModelSpec.to_dict`)."""
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["model"] = self.model.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        return cls(**d)

    def replace(self, **changes) -> "TrainConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def label(self) -> str:
        return self.model.label

    @property
    def problem(self) -> Problem:
        """The run's :class:`~ddlib.problem.Problem` (``n``, ``dim``, ``coefficient``; built once per config)."""
        cached = self.__dict__.get("_problem")
        if cached is None:
            m = Problem.from_size(self.n, self.dim).m
            cached = Problem((m,) * self.dim, field(m, self.dim, self.coefficient))
            object.__setattr__(self, "_problem", cached)
        return cached

    @property
    def side(self) -> int:
        """Nodes per direction ``m`` (``n = m**dim``)."""
        return self.problem.m

    def build_model(self, dtype=torch.float64, device="cpu") -> torch.nn.Module:
        """The model of this run, freshly initialised (the spec's :meth:`~ddlib.models.ModelSpec.build` on
        :attr:`problem` with ``seed`` and ``init_scale``), in ``dtype`` on ``device``."""
        model = self.model.build(self.problem, seed=self.seed, init_scale=self.init_scale)
        return model.to(dtype=dtype, device=device)

    def operator_error(self, model) -> float:
        r""":math:`\|M_\theta^{-1} - A^{-1}\|_2/\|A^{-1}\|_2` (:func:`ddlib.attention.operator_error`: dense up to
        :data:`ddlib.attention.DENSE_OPERATOR_MAX` unknowns, Lanczos beyond)."""
        return operator_error(model)


@dataclass
class TrainResult:
    """A finished run: its configuration, history (lists, see the module docstring) and trained model.

    ``timing`` says how its ``seconds`` were measured: ``{"mode": "solo"}`` (the run trained alone in its process,
    :func:`train`) or ``{"mode": "batched", "members": k}`` (its share of a batch of ``k`` runs trained as one,
    :mod:`ddlib.batched`: not the time it takes alone)."""

    config: TrainConfig
    history: dict
    model: torch.nn.Module
    num_parameters: int
    cached: bool = False
    key: str = ""
    timing: dict = dataclasses.field(default_factory=lambda: {"mode": "solo"})

    def curve(self, name: str) -> np.ndarray:
        """One history column as a float array."""
        return np.asarray(self.history[name], dtype=np.float64)

    @property
    def final(self) -> dict:
        """The last recorded value of every history column."""
        return {k: self.history[k][-1] for k in HISTORY_KEYS}


@contextmanager
def one_torch_thread():
    """Run the block with one torch intra-op thread (restored afterwards): small problems run fastest so, and the
    result of a reduction does not depend on the thread count."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def eval_epochs(epochs: int, points: int) -> np.ndarray:
    """About ``points`` distinct epochs in ``0..epochs``, geometrically spaced, always holding 0 and ``epochs``."""
    epochs, points = check_int("epochs", epochs, low=1), check_int("points", points, low=2)
    if points == 2:  # geomspace(1, epochs, 1) is [1]: the last epoch would be missed
        return np.array([0, epochs])
    e = np.unique(np.round(np.geomspace(1, epochs, points - 1)).astype(int))
    return np.concatenate([[0], e])


def run_key(config: TrainConfig, dtype=torch.float64, device="cpu", start: dict | None = None) -> str:
    """The cache key of a run (:func:`ddlib.cache.entry_key` of the configuration, data type and device, and of the
    SHA-256 of a warm start's parameters, :func:`train`'s ``start``)."""
    record = {"config": config.to_dict(), "dtype": str(dtype), "device": str(torch.device(device))}
    if start is not None:
        digest = hashlib.sha256()
        for name in sorted(start):
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(torch.as_tensor(start[name]).detach().cpu().double().numpy()))
        record["start"] = digest.hexdigest()
    return cache.entry_key(record)


def train(config: TrainConfig, *, cache_results: bool = True, progress: bool | None = None, device="cpu",
          dtype=torch.float64, start: dict | None = None) -> TrainResult:
    """Train the model of ``config`` (or load the cached run); see the module docstring.

    Parameters
    ----------
    config : TrainConfig
        The run.
    cache_results : bool
        Read and write the on-disk cache (:mod:`ddlib.cache`).
    progress : bool, optional
        Show a progress bar; default: only when stderr is a terminal and ``$CI`` is unset.
    device, dtype
        Where and in which precision to train (both part of the cache key).
    start : dict, optional
        A warm start: a state dict of the config's model to begin from instead of its seeded initialisation (the
        data and the batch order still come from ``config.seed``; part of the cache key).

    Raises
    ------
    TrainingDiverged
        When the loss becomes non-finite or exceeds ``divergence_factor`` times its initial value.
    """
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig; got {type(config).__name__}")
    key = run_key(config, dtype, device, start)
    if cache_results:
        hit = load_cached(config, key, device, dtype)
        if hit is not None:
            return hit
    with one_torch_thread():
        history, model = _fit(config, device, dtype, progress, start)
    result = TrainResult(config, history, model, int(model.num_parameters()), key=key)
    if cache_results:
        store(result)
    return result


def _datasets(config: TrainConfig, device, dtype) -> dict:
    """The training and evaluation sets as column tensors ``(F, U)`` (shape ``(n, samples)``)."""
    sets = make_datasets(config.problem, config.samples, config.K, config.seed, config.decay,
                         test_samples=config.test_samples, validation_samples=config.validation_samples,
                         training=config.data)
    out = {}
    for name in ("train", *EVAL_SETS):
        f, u = (torch.as_tensor(np.ascontiguousarray(check_finite(name, a).T), dtype=dtype, device=device)
                for a in (sets[name].f, sets[name].u))
        out[name] = (f, u)
    return out


class _Evaluator:
    """Appends one row of the history per call (see the module docstring)."""

    def __init__(self, config: TrainConfig, sets: dict):
        self.config, self.sets = config, sets
        self.history = {k: [] for k in HISTORY_KEYS}
        self.history["loss"] = []

    def __call__(self, model, epoch: int, seconds: float, last: bool) -> None:
        with torch.no_grad():
            values = evaluation_metrics(self.config, model, self.sets)
        every = self.config.n <= DENSE_OPERATOR_MAX
        self.append(epoch, seconds, [float(v) for v in values],
                    self.config.operator_error(model) if (every or last) else float("nan"))

    def append(self, epoch: int, seconds: float, values: list[float], op_error: float) -> None:
        """One row: ``values`` are ``train_loss`` and the errors of :data:`EVAL_SETS`, in order."""
        h = self.history
        h["epoch"].append(int(epoch))
        h["seconds"].append(float(seconds))
        for name, v in zip(("train_loss", *(f"error_{s}" for s in EVAL_SETS)), values):
            h[name].append(float(v))
        h["operator_error"].append(float(op_error))


def evaluation_metrics(config: TrainConfig, model: torch.nn.Module, sets: dict) -> torch.Tensor:
    r"""The evaluated columns of one history row as a tensor: the training loss over the whole training set, then
    the mean relative error :math:`\|\mathrm{predict}(f) - u\|/\|u\|` on each set of :data:`EVAL_SETS`, in the norm
    of ``config.loss``. A pure function of the model's parameters (the batched trainer, :mod:`ddlib.batched`, maps it
    over stacked parameters)."""
    problem = config.problem
    sq = lambda R: squared_norms(R, config.loss, problem)  # noqa: E731
    F, U = sets["train"]
    out = [(sq(predict(model, F, config.solver_steps, config.solver, problem) - U) / sq(U)).mean()]
    for s in EVAL_SETS:
        Ft, Ut = sets[s]
        R = predict(model, Ft, config.solver_steps, config.solver, problem) - Ut
        out.append((_norms(R, config.loss, problem) / _norms(Ut, config.loss, problem)).mean())
    return torch.stack(out)


def _norms(R: torch.Tensor, loss: str, problem: Problem) -> torch.Tensor:
    """Norms of the columns of ``R`` in the norm of ``loss``."""
    return torch.linalg.vector_norm(R, dim=0) if loss == "l2" else squared_norms(R, loss, problem).sqrt()


def _fit(config: TrainConfig, device, dtype, progress, start=None) -> tuple[dict, torch.nn.Module]:
    """The training loop (the only one in the package)."""
    sets = _datasets(config, device, dtype)
    model = config.build_model(dtype, device)
    if start is not None:
        model.load_state_dict({k: torch.as_tensor(v, dtype=dtype, device=device) for k, v in start.items()})
    problem = config.problem
    F, U = sets["train"]
    w = 1.0 / squared_norms(U, config.loss, problem)  # 1 / ||u_s||^2
    m = F.shape[1]
    bs = m if config.batch_size is None else config.batch_size
    gen = torch.Generator(device="cpu").manual_seed(config.seed)
    opt = make_optimizer(config, model.parameters())
    marks = set(eval_epochs(config.epochs, config.eval_points).tolist())
    evaluate = _Evaluator(config, sets)
    evaluate(model, 0, 0.0, False)
    initial = evaluate.history["train_loss"][0]
    limit = config.divergence_factor * max(initial, 1.0)
    bar = _Progress(config.epochs, f"{config.label} lr={config.lr:g} seed={config.seed}", progress)
    seconds = 0.0
    try:
        for epoch in range(1, config.epochs + 1):
            t0 = time.perf_counter()
            for group in opt.param_groups:
                group["lr"] = _rate(config, epoch)
            order = torch.randperm(m, generator=gen).to(device) if bs < m else None
            total = 0.0
            for start in range(0, m, bs):
                j = None if order is None else order[start:start + bs]
                Fb, Ub, wb = (F, U, w) if j is None else (F[:, j], U[:, j], w[j])
                loss = training_step(config, model, opt, Fb, Ub, wb)
                total += float(loss.detach()) * Fb.shape[1]
            seconds += time.perf_counter() - t0
            epoch_loss = total / m
            evaluate.history["loss"].append(epoch_loss)
            if not math.isfinite(epoch_loss) or epoch_loss > limit:
                raise TrainingDiverged(
                    f"training diverged at epoch {epoch}: loss {epoch_loss:.3e} (initial {initial:.3e}, limit "
                    f"{limit:.3e}) with {config.optimizer}, lr = {config.lr:g}, init_scale = {config.init_scale:g} "
                    f"for {config.label}")
            out_of_time = config.max_seconds is not None and seconds >= config.max_seconds
            if epoch in marks or out_of_time:
                evaluate(model, epoch, seconds, epoch == config.epochs or out_of_time)
            bar.update(epoch, epoch_loss)
            if out_of_time:
                break
    finally:
        bar.close()
    return evaluate.history, model


def training_step(config: TrainConfig, model: torch.nn.Module, opt: torch.optim.Optimizer, F: torch.Tensor,
                  U: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    r"""One step of ``opt`` on the batch ``(F, U)`` (columns) with the sample weights ``w`` (:math:`1/\|u_s\|^2`):
    the loss of the module docstring, :math:`\frac1{|B|}\sum_s w_s\|\mathrm{predict}(f_s) - u_s\|^2` in the
    norm of ``config.loss`` on ``config.problem``, as the closure every optimizer takes. Returns the loss (before
    the step). :func:`train` and :func:`ddlib.experiments.step_time` both step through here."""
    def closure():
        opt.zero_grad(set_to_none=True)
        loss = batch_loss(config, model, F, U, w)
        loss.backward()
        return loss

    return opt.step(closure)


def batch_loss(config: TrainConfig, model: torch.nn.Module, F: torch.Tensor, U: torch.Tensor,
               w: torch.Tensor) -> torch.Tensor:
    r"""The loss of the module docstring on the batch ``(F, U)`` with sample weights ``w``,
    :math:`\frac1{|B|}\sum_s w_s\|\mathrm{predict}(f_s) - u_s\|^2`: the one loss of every trainer."""
    R = predict(model, F, config.solver_steps, config.solver, config.problem) - U
    return (squared_norms(R, config.loss, config.problem) * w).mean()


def make_optimizer(config: TrainConfig, params) -> torch.optim.Optimizer:
    """The optimizer of ``config`` (:data:`OPTIMIZERS`) on ``params``; the schedule sets its learning rate per epoch.

    ``"lbfgs"`` takes one L-BFGS iteration per step (history 20, strong-Wolfe line search: a few loss evaluations)."""
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr)
    if config.optimizer == "gd":
        return torch.optim.SGD(params, lr=config.lr, momentum=MOMENTUM)
    return torch.optim.LBFGS(params, lr=config.lr, max_iter=1, history_size=20, line_search_fn="strong_wolfe")


def predict(model: torch.nn.Module, F: torch.Tensor, steps: int = 1, solver: str = "richardson",
            problem: Problem | None = None) -> torch.Tensor:
    r"""The prediction for the right-hand sides in the columns of ``F``: the ``steps``-th iterate of an iteration for
    :math:`Au = f` from :math:`x_0 = 0` with :math:`M_\theta` (the model) as preconditioner; :math:`A` is ``problem``'s
    (default the model's own ``problem``), applied matrix-free by :meth:`ddlib.problem.Problem.stencil`.

    ``"richardson"``
        :math:`x_1 = M_\theta f`, :math:`x_{j+1} = x_j + M_\theta(f - Ax_j)`, so :math:`x_k - u = -(I - M_\theta A)^k
        u`. One step is the operator itself (the paper's setting, the default of :class:`TrainConfig`). On
        ``"energy_probes"`` data the energy-norm loss estimates :math:`\frac1n\sum_i(1-\mu_i)^{2k}`
        (:mod:`ddlib.data`, :math:`\mu_i` the eigenvalues of :math:`M_\theta A`).
    ``"steepest_descent"``, ``"pcg"``
        ``steps`` steps of preconditioned steepest descent (exact line search) or conjugate gradients (the recurrences
        of :func:`ddlib.krylov.pcg`, one column at a time, differentiable). CG minimises the energy norm of the error
        over the Krylov space, so :math:`\|x_k - u\|_A \le \|u\|_A`: the loss is bounded, does not change when
        :math:`M_\theta` is scaled, and is what a PCG solve with :math:`M_\theta` achieves after ``steps`` iterations.

    Each step applies the model once and :math:`A` once (:math:`O(n)`).
    """
    steps = check_int("steps", steps, low=1)
    problem = model.problem if problem is None else problem
    if check_choice("solver", solver, SOLVERS) == "richardson":
        X = model.apply_columns(F)
        for _ in range(steps - 1):
            X = X + model.apply_columns(F - problem.stencil(X))
        return X
    cg = solver == "pcg"
    X, R = torch.zeros_like(F), F
    Z = model.apply_columns(R)
    P, rz = Z, (R * Z).sum(0)
    for j in range(steps):
        AP = problem.stencil(P)
        alpha = rz / (P * AP).sum(0)
        X = X + alpha * P
        if j + 1 < steps:
            R = R - alpha * AP
            Z = model.apply_columns(R)
            rz_new = (R * Z).sum(0)
            P, rz = (Z + (rz_new / rz) * P if cg else Z), rz_new
    return X


def squared_norms(R: torch.Tensor, loss: str = "l2", problem: Problem | None = None) -> torch.Tensor:
    r"""Squared norms of the columns of ``R`` (shape ``(n, batch)``): :math:`\|r\|_2^2`, or for ``loss="energy"``
    :math:`\|r\|_A^2` with ``problem``'s :math:`A` (:meth:`ddlib.problem.Problem.energy`, exactly non-negative)."""
    if check_choice("loss", loss, LOSSES) == "l2":
        return (R**2).sum(0)
    if not isinstance(problem, Problem):
        raise ValueError("problem must be given (a ddlib.problem.Problem) for the energy norm")
    return problem.energy(R)


def _rate(config: TrainConfig, epoch: int) -> float:
    """The learning rate of ``epoch`` (1-based) under the configured schedule."""
    if config.schedule == "cosine":
        return config.lr * 0.5 * (1.0 + math.cos(math.pi * (epoch - 1) / config.epochs))
    return config.lr


def store(result: TrainResult) -> None:
    """Write a finished run to the cache (:func:`ddlib.cache.store_entry`)."""
    history = {k: [None if isinstance(v, float) and not math.isfinite(v) else v for v in col]  # strict JSON
               for k, col in result.history.items()}
    record = {"config": result.config.to_dict(), "history": history, "num_parameters": int(result.num_parameters),
              "timing": dict(result.timing)}
    cache.store_entry(result.key, record, result.model.state_dict())


def load_cached(config: TrainConfig, key: str, device="cpu", dtype=torch.float64) -> TrainResult | None:
    """The cached run of ``config`` under ``key``, or None (absent, or damaged: reported and moved aside)."""
    if not cache.has_entry(key):
        return None
    model = config.build_model(dtype, device)
    expected = model.state_dict()

    def check(record, state):
        if record.get("config") != config.to_dict():
            raise cache.CacheEntryError("its configuration is not the requested one")
        cache.check_columns(record.get("history"), (*HISTORY_KEYS, "loss"), equal=HISTORY_KEYS)
        if type(record.get("num_parameters")) is not int or record["num_parameters"] != model.num_parameters():
            raise cache.CacheEntryError(f"num_parameters {record.get('num_parameters')!r} is not the model's "
                                        f"{model.num_parameters()}")
        cache.check_state(state, expected)

    entry = cache.load_entry(key, check)
    if entry is None:
        return None
    record, state = entry
    model.load_state_dict(state)
    history = {k: [float("nan") if v is None else v for v in col] for k, col in record["history"].items()}
    timing = record.get("timing", {"mode": "solo"})  # entries written before batching were all solo runs
    return TrainResult(config, history, model, record["num_parameters"], cached=True, key=key, timing=timing)


def time_to_target(result: TrainResult, target: float, metric: str = "error_in_band") -> tuple[float, float]:
    """Epoch and seconds at which ``metric`` first reaches ``target`` (log-linear interpolation between the recorded
    points around the crossing; ``(0, 0)`` if the initial value is already below), else ``(nan, nan)``."""
    target = check_positive("target", target)
    v = result.curve(metric)
    ep, sec = result.curve("epoch"), result.curve("seconds")
    hit = np.flatnonzero(v <= target)
    if hit.size == 0:
        return float("nan"), float("nan")
    i = int(hit[0])
    if i == 0:
        return 0.0, 0.0
    a, b = np.log(v[i - 1]), np.log(v[i])
    t = 1.0 if a == b else (a - np.log(target)) / (a - b)
    return float(ep[i - 1] + t * (ep[i] - ep[i - 1])), float(sec[i - 1] + t * (sec[i] - sec[i - 1]))


class _Progress:
    """A one-line progress bar on stderr, shown only in an interactive terminal (never under papermill or CI)."""

    def __init__(self, total: int, label: str, enabled: bool | None):
        if enabled is None:
            enabled = sys.stderr.isatty() and not os.environ.get("CI")
        self.enabled, self.total, self.label, self.last = enabled, total, label, -1

    def update(self, done: int, loss: float | None = None):
        if not self.enabled:
            return
        pct = int(100 * done / self.total)
        if pct != self.last:
            self.last = pct
            bar = "#" * (pct // 4) + "." * (25 - pct // 4)
            tail = f" loss {loss:.3e}" if loss is not None else ""
            sys.stderr.write(f"\r{self.label} [{bar}] {pct:3d}% {done}/{self.total}{tail}")
            sys.stderr.flush()

    def close(self):
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()
