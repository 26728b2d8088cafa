r"""Many runs as one: the runs of a grid trained as one batched model (the sweeps' fast path).

The runs of a tuned comparison (:mod:`ddlib.experiments`) differ only in their knobs and seeds, and each is a tiny
model whose training step costs mostly per-operation overhead. :func:`train_batch` trains ``k`` such runs at once:

* **Compatible runs** (:func:`batch_key`) agree on everything but :data:`BATCH_KNOBS` (learning rate, initial scale,
  schedule, seed, optimizer), and their optimizer is one of :data:`BATCHED_OPTIMIZERS`. L-BFGS (its line search
  evaluates each run's loss a varying number of times) and a wall-clock budget (``max_seconds``) are per run: such
  runs train alone (:func:`ddlib.training.train`).
* **Stacked parameters.** Every member's model is built from its own configuration (its seed and initial scale) and
  the parameters of all members are stacked on a leading axis. One step evaluates every member's loss and gradient at
  once: :func:`torch.func.vmap` of :func:`ddlib.training.batch_loss`, run by :func:`torch.func.functional_call` on
  one template module, so the math is the model's own code (DD attention on its gather layout at every size: the
  fold of its factors and its fixed coarse solve have batching rules, the 1D window layout's hand-written kernels
  have none and are not used; the two layouts agree to rounding), and one backward pass of the sum of the members' losses (they share no parameter, so each
  member's slice of the gradient is its own). The data of each member are its own, drawn from its seed.
* **Per-member optimizers** (:class:`StackedOptimizer`): the formulas of :class:`torch.optim.Adam` (defaults
  :data:`ADAM_BETAS`, :data:`ADAM_EPS`) and of heavy-ball :class:`torch.optim.SGD` (momentum
  :data:`ddlib.training.MOMENTUM`) applied to each member's slices with its own learning rate and schedule.
* **Divergence, per member.** After each epoch every member's loss is checked as :func:`~ddlib.training.train`
  checks it; a member that diverges leaves the batch (its slices are dropped, so it stops updating and the others do
  not notice) and is returned as the :class:`~ddlib.training.TrainingDiverged` that ``train`` would raise.
* **The same history** as :func:`~ddlib.training.train`, to rounding: the same evaluation points and columns
  (:func:`ddlib.training.evaluation_metrics`; the operator error by :func:`ddlib.attention.dense_operator_errors`,
  or per member by Lanczos at the last point above :data:`ddlib.attention.DENSE_OPERATOR_MAX`). A member's numbers
  do not depend on the other members (no quantity mixes them).
* **Seconds.** The wall-clock seconds of each epoch's training steps (evaluation excluded) are shared equally among
  the members that trained in it: a member's ``seconds`` are its *share of the batch's time*, not the time it would
  take alone, and its :attr:`~ddlib.training.TrainResult.timing` says so (``{"mode": "batched", "members": k}``
  instead of ``{"mode": "solo"}``). A race in seconds times its models alone (one process on the machine), never
  from these histories.

:func:`plan_batches` groups a sweep's configurations into batches from the configurations alone (compatible ones in
order of first appearance, split evenly into chunks of at most :data:`BATCH_MEMBERS` members and
:data:`BATCH_BYTES` of data), so a sweep forms the same batches on any executor and any number of workers;
:func:`ddlib.sweep.run_sweep` sends each batch to one worker.

Examples
--------
>>> from ddlib.models import GlobalSpec
>>> from ddlib.training import TrainConfig
>>> base = TrainConfig(model=GlobalSpec(2), n=15, K=4, samples=8, validation_samples=4, test_samples=4, epochs=5)
>>> runs = train_batch([base.replace(lr=lr, seed=s) for lr in (1e-2, 1e6) for s in (0, 1)])
>>> [type(r).__name__ for r in runs]
['TrainResult', 'TrainResult', 'TrainingDiverged', 'TrainingDiverged']
>>> runs[0].timing
{'mode': 'batched', 'members': 4}
"""
from __future__ import annotations

import copy
import json
import math
import time

import numpy as np
import torch
from torch.func import functional_call, vmap

from ._validate import check_int
from .attention import DENSE_OPERATOR_MAX, dense_operator_errors
from .data import TEST_SETS
from .training import (MOMENTUM, TrainConfig, TrainingDiverged, TrainResult, _datasets, _Evaluator, _Progress,
                       _rate, batch_loss, eval_epochs, evaluation_metrics, one_torch_thread, run_key, squared_norms)

__all__ = ["BATCH_KNOBS", "BATCHED_OPTIMIZERS", "BATCH_MEMBERS", "BATCH_BYTES", "ADAM_BETAS", "ADAM_EPS",
           "batch_key", "plan_batches", "train_batch", "StackedOptimizer"]

#: The fields in which the members of a batch may differ.
BATCH_KNOBS = ("lr", "init_scale", "schedule", "seed", "optimizer")
#: Optimizers a batch can run (L-BFGS trains alone).
BATCHED_OPTIMIZERS = ("adam", "gd")
#: Most members in one batch.
BATCH_MEMBERS = 16
#: Most bytes of data sets (float64) one batch holds; a larger group is split into more batches.
BATCH_BYTES = 256 * 2**20
#: :class:`torch.optim.Adam`'s defaults, which :func:`ddlib.training.make_optimizer` uses.
ADAM_BETAS, ADAM_EPS = (0.9, 0.999), 1e-8
#: Most bytes of dense operators formed at once for the operator error.
_DENSE_BYTES = 64 * 2**20


def batch_key(config: TrainConfig) -> str | None:
    """What the members of a batch share: the configuration without :data:`BATCH_KNOBS`, as canonical JSON; None for
    a run that trains alone (an optimizer outside :data:`BATCHED_OPTIMIZERS`, or a ``max_seconds`` budget)."""
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a TrainConfig; got {type(config).__name__}")
    if config.optimizer not in BATCHED_OPTIMIZERS or config.max_seconds is not None:
        return None
    shared = {k: v for k, v in config.to_dict().items() if k not in BATCH_KNOBS}
    return json.dumps(shared, sort_keys=True)


def _member_bytes(config: TrainConfig) -> int:
    """Bytes of one member's data: inputs and solutions of the training, validation and test sets."""
    columns = config.samples + config.validation_samples + len(TEST_SETS) * config.test_samples
    return 2 * 8 * config.n * columns


def plan_batches(configs, members: int = BATCH_MEMBERS) -> list[list[int]]:
    """Indices of ``configs`` grouped into batches: compatible configurations (:func:`batch_key`) in order of first
    appearance, each group split into the fewest chunks of at most ``members`` members (and :data:`BATCH_BYTES`),
    of sizes differing by at most one; a configuration that trains alone is a batch of one. A function of the
    configurations alone (never of the executor or the number of workers).

    >>> from ddlib.models import GlobalSpec
    >>> c = TrainConfig(model=GlobalSpec(2), n=15, K=4)
    >>> plan_batches([c.replace(seed=s) for s in range(5)] + [c.replace(optimizer="lbfgs")], members=2)
    [[0, 1], [2, 3], [4], [5]]
    """
    configs = list(configs)
    members = check_int("members", members, low=1)
    groups: dict[str, list[int]] = {}
    alone: list[list[int]] = []
    order: list = []
    for i, c in enumerate(configs):
        key = batch_key(c)
        if key is None:
            alone.append([i])
            order.append(alone[-1])
        elif key in groups:
            groups[key].append(i)
        else:
            groups[key] = [i]
            order.append(key)
    out = []
    for item in order:
        if isinstance(item, list):
            out.append(item)
            continue
        idx = groups[item]
        cap = max(1, min(members, BATCH_BYTES // _member_bytes(configs[idx[0]])))
        chunks = -(-len(idx) // cap)
        out.extend(a.tolist() for a in np.array_split(np.array(idx), chunks))
    return out


class StackedOptimizer:
    r"""Adam and heavy-ball gradient descent on stacked parameters, one optimizer and learning rate per member.

    ``kinds[j]`` is member ``j``'s optimizer (:data:`BATCHED_OPTIMIZERS`). :meth:`step` applies, on member ``j``'s
    slice of every parameter with gradient :math:`g` and learning rate :math:`\eta_j`, at step :math:`t`:

    * Adam: :math:`m \leftarrow \beta_1 m + (1-\beta_1)g`, :math:`v \leftarrow \beta_2 v + (1-\beta_2)g^2`,
      :math:`\theta \leftarrow \theta - \frac{\eta_j}{1-\beta_1^t}\,m/(\sqrt{v}/\sqrt{1-\beta_2^t} + \epsilon)`;
    * heavy ball: :math:`b \leftarrow \mu b + g` (:math:`b = g` at the first step), :math:`\theta \leftarrow \theta -
      \eta_j b`, :math:`\mu` = :data:`ddlib.training.MOMENTUM`,

    the operations of :class:`torch.optim.Adam` and :class:`torch.optim.SGD` in their order. :meth:`keep` drops the
    members not kept (their state with them).
    """

    def __init__(self, kinds, params: dict):
        self.kinds = [k if k in BATCHED_OPTIMIZERS else _bad_kind(k) for k in kinds]
        self.t = 0
        self.state = {name: {"m": torch.zeros_like(p), "v": torch.zeros_like(p), "b": None}
                      for name, p in params.items()}

    def keep(self, positions: list[int]) -> None:
        idx = torch.as_tensor(positions, dtype=torch.long)
        self.kinds = [self.kinds[j] for j in positions]
        for st in self.state.values():
            for k, v in st.items():
                st[k] = None if v is None else v.index_select(0, idx)

    @torch.no_grad()
    def step(self, params: dict, grads: dict, lrs) -> None:
        """One update of every parameter (in place) with the stacked gradients ``grads`` and the members' learning
        rates ``lrs``."""
        self.t += 1
        lrs = list(lrs)
        for kind in BATCHED_OPTIMIZERS:
            members = [j for j, k in enumerate(self.kinds) if k == kind]
            if not members:
                continue
            every = len(members) == len(self.kinds)
            idx = torch.as_tensor(members, dtype=torch.long)
            for name, p in params.items():
                update = self._adam if kind == "adam" else self._heavy_ball
                if every:
                    update(p, grads[name], self.state[name], slice(None), [lrs[j] for j in members])
                else:
                    sub = p.index_select(0, idx)
                    update(sub, grads[name].index_select(0, idx), self.state[name], idx, [lrs[j] for j in members])
                    p.index_copy_(0, idx, sub)

    def _adam(self, p, g, st, rows, lrs) -> None:
        (b1, b2), t = ADAM_BETAS, float(self.t)
        m, v = (st[k] if isinstance(rows, slice) else st[k].index_select(0, rows) for k in ("m", "v"))
        m.lerp_(g, 1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        step = torch.tensor([-(lr / (1 - b1**t)) for lr in lrs], dtype=p.dtype, device=p.device)
        denom = (v.sqrt() / (1 - b2**t) ** 0.5).add_(ADAM_EPS)
        p.addcdiv_(m * step.view(-1, *[1] * (p.ndim - 1)), denom)
        if not isinstance(rows, slice):
            st["m"].index_copy_(0, rows, m)
            st["v"].index_copy_(0, rows, v)

    def _heavy_ball(self, p, g, st, rows, lrs) -> None:
        if st["b"] is None:
            st["b"] = torch.zeros_like(st["m"])
        if isinstance(rows, slice):
            b = st["b"].copy_(g) if self.t == 1 else st["b"].mul_(MOMENTUM).add_(g)
        else:
            b = g.clone() if self.t == 1 else st["b"].index_select(0, rows).mul_(MOMENTUM).add_(g)
            st["b"].index_copy_(0, rows, b)
        rate = torch.tensor([-lr for lr in lrs], dtype=p.dtype, device=p.device)
        p.add_(b * rate.view(-1, *[1] * (p.ndim - 1)))


def _bad_kind(kind):
    raise ValueError(f"kinds must be among {BATCHED_OPTIMIZERS}; got {kind!r}")


def _gather_only(model: torch.nn.Module) -> torch.nn.Module:
    """``model`` with its DD passes on the gather layout at every batch size (its structure's copy without the 1D
    window layout, whose hand-written kernels :func:`torch.func.vmap` cannot map); the numbers agree to rounding
    (:mod:`ddlib._window`)."""
    inner = getattr(model, "model", model)  # a wrapper (WithJacobi) holds the operator as .model
    if getattr(inner, "structure", None) is not None and inner.structure.windows is not None:
        inner.structure = copy.copy(inner.structure)
        inner.structure.windows = None
    return model


class _Apply(torch.nn.Module):
    """``forward(*args) = fn(model, *args)``: lets :func:`torch.func.functional_call` run any function of the model
    with other parameters."""

    def __init__(self, model: torch.nn.Module, fn):
        super().__init__()
        self.model, self.fn = model, fn

    def forward(self, *args):
        return self.fn(self.model, *args)


def train_batch(configs, *, device="cpu", dtype=torch.float64, progress: bool | None = None) -> list:
    """Train compatible runs as one batch (module docstring); the cache is not touched.

    Returns, per configuration in order, its :class:`~ddlib.training.TrainResult` (``timing`` ``"batched"``) or the
    :class:`~ddlib.training.TrainingDiverged` that :func:`ddlib.training.train` would raise for it.
    """
    configs = list(configs)
    if not configs:
        raise ValueError("configs must hold at least one TrainConfig")
    keys = {batch_key(c) for c in configs}
    if None in keys or len(keys) != 1:
        raise ValueError(f"configs must be compatible (ddlib.batched.batch_key: equal but for {BATCH_KNOBS}, "
                         f"optimizer among {BATCHED_OPTIMIZERS}, no max_seconds)")
    with one_torch_thread():
        return _Batch(configs, device, dtype, progress).run()


class _Batch:
    """The state of one batch: members still training (``live``: their positions among the configs), their stacked
    parameters, data and optimizer state, and a history per member."""

    def __init__(self, configs, device, dtype, progress):
        self.configs, self.device, self.dtype = configs, device, dtype
        c = self.base = configs[0]
        self.models = [cfg.build_model(dtype, device) for cfg in configs]
        self.names = [name for name, _ in self.models[0].named_parameters()]
        self.params = {k: torch.stack([dict(m.named_parameters())[k].detach() for m in self.models]).contiguous()
                       for k in self.names}
        sets = [_datasets(cfg, device, dtype) for cfg in configs]
        self.sets = {s: tuple(torch.stack([d[s][j] for d in sets]) for j in (0, 1)) for s in sets[0]}
        U = self.sets["train"][1]
        self.w = torch.stack([1.0 / squared_norms(u, c.loss, c.problem) for u in U])
        self.gens = [torch.Generator(device="cpu").manual_seed(cfg.seed) for cfg in configs]
        self.live = list(range(len(configs)))
        self.opt = StackedOptimizer([cfg.optimizer for cfg in configs], self.params)
        self.logs = [_Evaluator(cfg, None) for cfg in configs]
        self.seconds = [0.0] * len(configs)
        self.diverged: dict[int, TrainingDiverged] = {}
        self.bar = _Progress(c.epochs, f"{c.label} batch of {len(configs)}", progress)
        template = _gather_only(c.build_model(dtype, device))
        loss = _Apply(template, lambda model, F, U, w: batch_loss(c, model, F, U, w))
        metrics = _Apply(template, lambda model, sets: evaluation_metrics(c, model, sets))
        dense = _Apply(template, lambda model: model.dense())
        self.loss = vmap(lambda p, F, U, w: functional_call(loss, self._named(p), (F, U, w)))
        self.metrics = vmap(lambda p, sets: functional_call(metrics, self._named(p), (sets,)))
        self.dense = vmap(lambda p: functional_call(dense, self._named(p), ()))

    @staticmethod
    def _named(p: dict) -> dict:
        return {"model." + k: v for k, v in p.items()}

    def run(self) -> list:
        c = self.base
        marks = set(eval_epochs(c.epochs, c.eval_points).tolist())
        self.evaluate(0, last=False)
        initial = [log.history["train_loss"][0] for log in self.logs]
        try:
            for epoch in range(1, c.epochs + 1):
                losses = self.epoch(epoch)
                self.check(epoch, losses, initial)
                if not self.live:
                    break
                if epoch in marks:
                    self.evaluate(epoch, last=epoch == c.epochs)
                self.bar.update(epoch)
        finally:
            self.bar.close()
        return [self.diverged.get(j) or self.result(j) for j in range(len(self.configs))]

    def epoch(self, epoch: int) -> torch.Tensor:
        """One epoch of every live member; returns their epoch losses (the mean over the epoch's batches)."""
        c = self.base
        t0 = time.perf_counter()
        lrs = [_rate(self.configs[j], epoch) for j in self.live]
        F, U = self.sets["train"]
        m = F.shape[-1]
        bs = m if c.batch_size is None else c.batch_size
        order = torch.stack([torch.randperm(m, generator=self.gens[j]) for j in self.live]).to(F.device) \
            if bs < m else None
        total = torch.zeros(len(self.live), dtype=F.dtype, device=F.device)
        for start in range(0, m, bs):
            if order is None:
                Fb, Ub, wb = F, U, self.w
            else:
                j = order[:, start:start + bs]
                Fb, Ub = (torch.take_along_dim(X, j[:, None, :], 2) for X in (F, U))
                wb = torch.take_along_dim(self.w, j, 1)
            grads, loss = self.loss_and_grad(Fb, Ub, wb)
            self.opt.step(self.params, grads, lrs)
            total += loss * Fb.shape[-1]
        share = (time.perf_counter() - t0) / len(self.live)
        for j in self.live:
            self.seconds[j] += share
        return total / m

    def loss_and_grad(self, F, U, w) -> tuple[dict, torch.Tensor]:
        """Every live member's loss on its batch ``(F, U, w)`` and its gradient: the members' losses are independent,
        so the gradient of their sum holds each member's gradient in its slice."""
        leaves = {k: v.detach().requires_grad_() for k, v in self.params.items()}
        with torch.enable_grad():
            loss = self.loss(leaves, F, U, w)
            grads = torch.autograd.grad(loss.sum(), list(leaves.values()))
        return dict(zip(leaves, grads)), loss.detach()

    def check(self, epoch: int, losses: torch.Tensor, initial: list[float]) -> None:
        """Record the epoch losses; a member whose loss is not finite or exceeds its limit leaves the batch."""
        keep = []
        for pos, j in enumerate(self.live):
            cfg, loss = self.configs[j], float(losses[pos])
            self.logs[j].history["loss"].append(loss)
            limit = cfg.divergence_factor * max(initial[j], 1.0)
            if math.isfinite(loss) and loss <= limit:
                keep.append(pos)
                continue
            self.diverged[j] = TrainingDiverged(
                f"training diverged at epoch {epoch}: loss {loss:.3e} (initial {initial[j]:.3e}, limit "
                f"{limit:.3e}) with {cfg.optimizer}, lr = {cfg.lr:g}, init_scale = {cfg.init_scale:g} "
                f"for {cfg.label}")
        if len(keep) < len(self.live):
            idx = torch.as_tensor(keep, dtype=torch.long)
            self.params = {k: v.index_select(0, idx) for k, v in self.params.items()}
            self.sets = {s: tuple(X.index_select(0, idx) for X in pair) for s, pair in self.sets.items()}
            self.w = self.w.index_select(0, idx)
            self.opt.keep(keep)
            self.live = [self.live[pos] for pos in keep]

    @torch.no_grad()
    def evaluate(self, epoch: int, last: bool) -> None:
        """One history row for every live member (:func:`ddlib.training.evaluation_metrics` and the operator
        error, as :func:`ddlib.training.train` records them)."""
        c = self.base
        values = self.metrics(self.params, self.sets).tolist()
        errors = [float("nan")] * len(self.live)
        if c.n <= DENSE_OPERATOR_MAX:
            chunk = max(1, _DENSE_BYTES // (3 * 8 * c.n**2))
            errors = []
            for a in range(0, len(self.live), chunk):
                part = {k: v[a:a + chunk] for k, v in self.params.items()}
                errors.extend(dense_operator_errors(self.dense(part), c.problem).tolist())
        if last and c.n > DENSE_OPERATOR_MAX:
            errors = [self.configs[j].operator_error(self.model(j)) for j in self.live]
        for pos, j in enumerate(self.live):
            self.logs[j].append(epoch, self.seconds[j], values[pos], errors[pos])

    def model(self, j: int) -> torch.nn.Module:
        """Member ``j``'s model holding its current parameters."""
        pos = self.live.index(j)
        model = self.models[j]
        with torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(self.params[name][pos])
        return model

    def result(self, j: int) -> TrainResult:
        cfg, model = self.configs[j], self.model(j)
        return TrainResult(cfg, self.logs[j].history, model, int(model.num_parameters()),
                           key=run_key(cfg, self.dtype, self.device),
                           timing={"mode": "batched", "members": len(self.configs)})
