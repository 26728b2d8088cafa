r"""The sweeps behind chapters 3 and 4: a fair comparison of global and DD attention, and its summaries.

**Fairness protocol** (:func:`fair_comparison`). Every model sees the same data (per seed), the same optimizer (Adam),
the same epoch budget and batch size. Each model configuration gets its own learning rate from the same small grid:
it is trained with every rate of the grid on the first seed, the rate with the lowest final *training* loss is kept
(diverged runs count as infinite loss; no test set is used to choose), and the remaining seeds are trained with that
rate. Results are means and ranges over all seeds.

**Time to a target** (:func:`time_to_target`). The history is recorded at a few (geometric) epochs; the first epoch
and second at which the in-band test error falls to ``target`` are interpolated linearly in
:math:`\log(\mathrm{error})` between the two recorded points around the crossing.

All runs go through :func:`ddlib.training.train` and are cached on disk, so a notebook rerun reuses them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import time

import torch

from ._validate import check_int, check_positive
from .approximation import dd_best_error, global_best_error
from .attention import dd_parameter_count, global_parameter_count
from .training import TEST_SETS, TrainConfig, TrainingDiverged, TrainResult, build_model, train

__all__ = [
    "global_spec",
    "dd_spec",
    "model_label",
    "model_parameters",
    "ModelRuns",
    "select_learning_rate",
    "fair_comparison",
    "time_to_target",
    "summarize",
    "summary_table",
    "seed_band",
    "headline",
    "cheapest_dd_beating_global",
    "step_time",
    "class_best",
    "cheapest_dd_within",
    "cheaper_dd_matches",
    "METRICS",
]

#: The final metrics summarised per model (history keys).
METRICS = ("train_loss", *(f"error_{s}" for s in TEST_SETS), "operator_error")


def global_spec(rank: int) -> dict:
    """The model dict of a global rank-``rank`` attention."""
    return {"kind": "global", "rank": check_int("rank", rank, low=1)}


def dd_spec(N: int, delta: int, local_rank: int, **options) -> dict:
    """The model dict of a DD attention (``options``: further :class:`ddlib.attention.DDAttention` keywords)."""
    return {"kind": "dd", "N": check_int("N", N, low=1), "delta": check_int("delta", delta, low=0),
            "local_rank": check_int("local_rank", local_rank, low=1), **options}


def model_label(spec: dict) -> str:
    """A short label: ``"global r=16"`` or ``"DD N=8 δ=1 r=4"`` (plus non-default options)."""
    if spec["kind"] == "global":
        return f"global r={spec['rank']}"
    extra = "".join(f" {k}={v}" for k, v in spec.items() if k not in ("kind", "N", "delta", "local_rank"))
    return f"DD N={spec['N']} δ={spec['delta']} r={spec['local_rank']}{extra}"


def model_parameters(spec: dict, n: int) -> int:
    """Parameter count of a model dict at grid size ``n`` (closed form, :mod:`ddlib.attention`)."""
    if spec["kind"] == "global":
        return global_parameter_count(n, spec["rank"])
    if set(spec) - {"kind", "N", "delta", "local_rank", "coarse_rank"}:
        from .training import build_model

        return build_model(spec, n).num_parameters()
    return dd_parameter_count(n, spec["N"], spec["delta"], spec["local_rank"], spec.get("coarse_rank"))


@dataclass
class ModelRuns:
    """One model configuration after learning-rate selection: its runs over all seeds at the chosen rate."""

    spec: dict
    lr: float
    lr_losses: dict
    runs: list[TrainResult] = field(default_factory=list)

    @property
    def label(self) -> str:
        return model_label(self.spec)

    @property
    def params(self) -> int:
        return self.runs[0].num_parameters

    def final(self, metric: str) -> np.ndarray:
        """The final value of ``metric`` for every seed."""
        return np.array([r.final[metric] for r in self.runs])

    def seconds_per_epoch(self) -> np.ndarray:
        """Measured training seconds per epoch of every seed (evaluation excluded)."""
        return np.array([r.final["seconds"] / max(r.final["epoch"], 1) for r in self.runs])


def select_learning_rate(spec: dict, base: TrainConfig, lrs, seed: int, *, progress=None) -> tuple[float, dict, dict]:
    """Train ``spec`` with every rate in ``lrs`` on ``seed``; return the best rate, all final losses, and the runs."""
    lrs = [check_positive("lrs[i]", lr) for lr in lrs]
    if not lrs:
        raise ValueError("lrs must hold at least one learning rate")
    losses, runs = {}, {}
    for lr in lrs:
        try:
            res = train(base.replace(model=spec, lr=lr, seed=seed), progress=progress)
        except TrainingDiverged:
            losses[lr] = float("inf")
            continue
        losses[lr] = float(res.final["train_loss"]) if np.isfinite(res.final["train_loss"]) else float("inf")
        runs[lr] = res
    if not runs:
        raise TrainingDiverged(f"every learning rate in {lrs} diverged for {model_label(spec)}")
    best = min(runs, key=lambda lr: (losses[lr], lr))
    return best, losses, runs


def fair_comparison(specs, base: TrainConfig, lrs, seeds, *, progress=None) -> list[ModelRuns]:
    """The protocol of the module docstring for every model dict in ``specs``; returns one :class:`ModelRuns` each."""
    seeds = [check_int("seeds[i]", s, low=0) for s in seeds]
    if len(seeds) < 1:
        raise ValueError("seeds must hold at least one seed")
    out = []
    for spec in specs:
        lr, losses, lr_runs = select_learning_rate(spec, base, lrs, seeds[0], progress=progress)
        runs = [lr_runs[lr]] + [train(base.replace(model=spec, lr=lr, seed=s), progress=progress) for s in seeds[1:]]
        out.append(ModelRuns(spec=spec, lr=lr, lr_losses=losses, runs=runs))
    return out


def time_to_target(result: TrainResult, target: float, metric: str = "error_in_band") -> tuple[float, float]:
    """Epoch and seconds at which ``metric`` first reaches ``target`` (log-linear interpolation), else ``(nan, nan)``."""
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


def summarize(mr: ModelRuns, target: float | None = None) -> dict:
    """Seed statistics of one model: ``params``, ``lr``, ``<metric>_mean/_min/_max``, ``seconds_per_epoch``, and
    with ``target`` the mean ``epochs_to_target``/``seconds_to_target`` (NaN unless every seed reaches it)."""
    out = {"label": mr.label, "params": mr.params, "lr": mr.lr, "seeds": len(mr.runs),
           "seconds_per_epoch": float(mr.seconds_per_epoch().mean())}
    for m in METRICS:
        v = mr.final(m)
        out[f"{m}_mean"], out[f"{m}_min"], out[f"{m}_max"] = float(v.mean()), float(v.min()), float(v.max())
    if target is not None:
        tt = np.array([time_to_target(r, target) for r in mr.runs])
        out["epochs_to_target"] = float(tt[:, 0].mean())
        out["seconds_to_target"] = float(tt[:, 1].mean())
    return out


def summary_table(results: list[ModelRuns], target: float | None = None) -> dict:
    """:func:`summarize` of every model, as a dict of arrays (one entry per model, plus ``kind``)."""
    rows = [summarize(mr, target) for mr in results]
    table = {k: np.array([r[k] for r in rows]) for k in rows[0]}
    table["kind"] = np.array([mr.spec["kind"] for mr in results])
    return table


def seed_band(mr: ModelRuns, metric: str = "error_in_band", x: str = "epoch", points: int = 60):
    """Mean, min and max of ``metric`` over the seeds against ``x`` (``"epoch"`` or ``"seconds"``).

    Seeds share their evaluation epochs; against seconds each seed's curve is interpolated (log-log) onto a common grid
    of ``points`` times up to the shortest run. Returns ``(grid, mean, lo, hi)``; the mean is geometric.
    """
    if x == "epoch":
        grid = mr.runs[0].curve("epoch")
        Y = np.array([r.curve(metric) for r in mr.runs])
    elif x == "seconds":
        t_end = min(r.curve("seconds")[-1] for r in mr.runs)
        t_start = min(r.curve("seconds")[1] for r in mr.runs)
        grid = np.geomspace(t_start, t_end, points)
        Y = np.array([np.exp(np.interp(np.log(grid), np.log(np.maximum(r.curve("seconds")[1:], 1e-12)),
                                       np.log(r.curve(metric)[1:]))) for r in mr.runs])
    else:
        raise ValueError(f"x must be 'epoch' or 'seconds'; got {x!r}")
    return grid, np.exp(np.log(Y).mean(0)), Y.min(0), Y.max(0)


def headline(global_runs: ModelRuns, dd_runs: ModelRuns, target: float) -> dict:
    """The F7 headline numbers for one global and one DD configuration (in-band errors are seed means)."""
    g, d = summarize(global_runs, target), summarize(dd_runs, target)
    return {
        "params_global": int(g["params"]), "params_dd": int(d["params"]),
        "error_global": g["error_in_band_mean"], "error_dd": d["error_in_band_mean"],
        "operator_error_global": g["operator_error_mean"], "operator_error_dd": d["operator_error_mean"],
        "epochs_to_target_global": g["epochs_to_target"], "epochs_to_target_dd": d["epochs_to_target"],
        "seconds_to_target_global": g["seconds_to_target"], "seconds_to_target_dd": d["seconds_to_target"],
        "target": float(target), "seeds": int(min(g["seeds"], d["seeds"])),
    }


def cheapest_dd_beating_global(n: int, global_rank: int, dd_specs) -> dict:
    """The DD model dict with the fewest parameters whose *oracle* error (:func:`ddlib.approximation.dd_best_error`)
    is at most the best error of a global rank-``global_rank`` operator: a choice made from theory, before training."""
    bound = global_best_error(n, [global_rank])[0]
    ok = [s for s in dd_specs if s["kind"] == "dd" and dd_best_error(n, s["N"], [min(s["local_rank"],
                                                                                    (n + 1) // s["N"] - 1)])[0] <= bound]
    if not ok:
        raise ValueError(f"no DD configuration in dd_specs reaches the global rank-{global_rank} oracle error {bound:.3e}")
    return min(ok, key=lambda s: (model_parameters(s, n), s["N"], s["delta"]))


def step_time(specs, n: int, batch: int, *, steps: int = 30, repeats: int = 5, seed: int = 0) -> dict:
    """Median wall-clock seconds of one Adam step (forward, loss, backward, update) per model dict, on random data.

    The models are timed in turn, ``repeats`` rounds of ``steps`` steps each (interleaved, so a change of machine
    load hits all of them alike); returns ``{label: median seconds per step}``.
    """
    steps, repeats = check_int("steps", steps, low=1), check_int("repeats", repeats, low=1)
    g = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    F = torch.randn(n, check_int("batch", batch, low=1), generator=g, dtype=torch.float64)
    U = torch.randn(n, batch, generator=g, dtype=torch.float64)
    w = 1.0 / (U**2).sum(0)
    models = [(model_label(s), build_model(s, n, seed=seed)) for s in specs]
    opts = [torch.optim.Adam(m.parameters(), lr=1e-3) for _, m in models]
    times = {label: [] for label, _ in models}
    for rep in range(repeats + 1):  # round 0 warms up
        for (label, m), opt in zip(models, opts):
            t0 = time.perf_counter()
            for _ in range(steps):
                opt.zero_grad(set_to_none=True)
                loss = (((m.apply_columns(F) - U) ** 2).sum(0) * w).mean()
                loss.backward()
                opt.step()
            if rep:
                times[label].append((time.perf_counter() - t0) / steps)
    return {label: float(np.median(t)) for label, t in times.items()}


def class_best(table: dict, kind: str, column: str) -> dict:
    r"""The model of class ``kind`` (``"global"`` or ``"dd"``) with the smallest ``table[column]``.

    ``table`` is :func:`summary_table`; returns ``index``, ``value``, ``label`` and ``params`` of
    :math:`\arg\min_{j:\ \mathrm{kind}_j = \mathrm{kind}} \mathrm{table}[\mathrm{column}]_j`.
    """
    sel = np.flatnonzero(np.asarray(table["kind"]) == kind)
    if sel.size == 0:
        raise ValueError(f"kind must name a class present in the table ({sorted(set(table['kind']))}); got {kind!r}")
    i = int(sel[np.argmin(np.asarray(table[column])[sel])])
    return {"index": i, "value": float(table[column][i]), "label": str(table["label"][i]),
            "params": int(table["params"][i])}


def cheapest_dd_within(table: dict, column: str, bound: float, max_params: float = np.inf) -> int | None:
    r"""Index of the DD model with the fewest parameters among those with ``table[column] <= bound`` and fewer than
    ``max_params`` parameters, :math:`\arg\min \{P_j : \mathrm{kind}_j = \mathrm{dd},\ v_j \le b,\ P_j < P_{\max}\}`;
    None if there is none."""
    ok = (np.asarray(table["kind"]) == "dd") & (np.asarray(table[column]) <= bound) & \
        (np.asarray(table["params"]) < max_params)
    if not ok.any():
        return None
    idx = np.flatnonzero(ok)
    return int(idx[np.argmin(np.asarray(table["params"])[idx])])


def cheaper_dd_matches(table: dict, column: str = "error_in_band_mean") -> list[dict]:
    r"""For every global model ``j``, the cheapest DD model at least as accurate in ``column`` with fewer parameters
    (:func:`cheapest_dd_within` with ``bound = v_j``, ``max_params = P_j``).

    Returns one dict per global model: ``global`` (index), ``dd`` (index or None) and ``ratio`` :math:`P_j / P_{dd}`
    (> 1, NaN without a match).
    """
    out = []
    for j in np.flatnonzero(np.asarray(table["kind"]) == "global"):
        d = cheapest_dd_within(table, column, float(table[column][j]), float(table["params"][j]))
        out.append({"global": int(j), "dd": d,
                    "ratio": float(table["params"][j] / table["params"][d]) if d is not None else float("nan")})
    return out
