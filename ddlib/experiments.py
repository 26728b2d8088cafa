r"""The tuned comparison protocol and its summaries: the one way models are compared in the book.

**Protocol** (:func:`tuned_comparison`). Every model sees the same data (per seed), the same epoch budget and batch
size, and the **same search** over every knob that can decide a race (:data:`KNOBS`): learning rate, initial scale,
schedule **and optimizer** (:data:`ddlib.training.OPTIMIZERS`: Adam, heavy-ball gradient descent, L-BFGS). A grid is
``{knob: [values]}`` or a list of such grids (their union: e.g. one learning-rate range per optimizer).

1. **Rank** every grid point on the first seed by its final **validation** error (an independent draw from the
   training distribution; no test set is read; a diverged run counts as infinitely bad).
2. **Finalists**: the best ``finalists`` points (at least 3, or the whole grid if smaller, which then trains on
   every seed in step 1 already) are trained on every seed; :func:`select` keeps the one with the lowest **mean**
   validation error over the seeds (a point that diverges on any seed is out; ties go to the smaller learning rate,
   then the smaller scale). A model whose every point diverged first trains the grid again at a tenth of its
   learning rates (:data:`DIVERGED_STEP`, at most :data:`DIVERGED_ROUNDS` times).
3. **Edges**: a chosen learning rate or initial scale that is the smallest or largest value of its axis (among the
   points that share the other knobs) extends that axis by one step beyond it (the ratio of the two values next to
   the edge), trained on every seed, and the extension is kept if its seed mean is better; while the choice moves
   to the new edge this repeats, at most :data:`EXTEND_STEPS` times. Each chosen value is recorded with its
   ``on_edge`` flag (after the extension), so a verdict that still rests on an edge says so.

Every run goes through :func:`ddlib.sweep.run_sweep` (cached; local processes or a dask cluster).

**Summaries.** :func:`summary_table` holds one row per model: parameters, the chosen knobs, and for each metric the
seed mean, min and max. :func:`class_best`, :func:`best_within_budget`, :func:`cheapest_dd_within` and
:func:`cheaper_dd_matches` read it; :func:`time_to_target_curve` gives epochs and seconds to a range of targets.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from ._validate import check_int, check_positive
from .approximation import global_best_error
from .attention import DDAttention, Structure, operator_error, schwarz_init
from .decomposition import Decomposition
from .data import make_dataset
from .models import DDSpec, GlobalSpec, ModelSpec
from .problem import Problem
from .schwarz import schwarz_preconditioner, to_dense
from .sweep import run_sweep
from .training import (EVAL_SETS, TrainConfig, TrainResult, make_optimizer, one_torch_thread, squared_norms,
                       time_to_target, training_step)

__all__ = [
    "METRICS",
    "KNOBS",
    "Selection",
    "grid_points",
    "select",
    "tuned_comparison",
    "summarize",
    "summary_table",
    "seed_band",
    "headline",
    "class_best",
    "best_within_budget",
    "cheapest_dd_within",
    "cheaper_dd_matches",
    "steps_per_epoch",
    "time_to_target_curve",
    "oracle_error",
    "cheapest_dd_beating_global",
    "multiply_adds",
    "step_time",
    "representation_checks",
    "training_bands",
    "learned_operators",
]

#: The final metrics summarised per model (history keys).
METRICS = ("train_loss", *(f"error_{s}" for s in EVAL_SETS), "operator_error")
#: The knobs a grid may search (fields of :class:`ddlib.training.TrainConfig`).
KNOBS = ("lr", "init_scale", "schedule", "optimizer")
#: The numeric knobs, whose grid has edges (:func:`edge_steps`).
ORDERED_KNOBS = ("lr", "init_scale")
#: Finalists per model trained on every seed (:func:`tuned_comparison`).
FINALISTS = 3
#: A model whose every grid point diverged trains them again with the learning rates times this, at most
#: ``DIVERGED_ROUNDS`` times (:func:`tuned_comparison`).
DIVERGED_STEP, DIVERGED_ROUNDS = 0.1, 3
#: Most extension rounds of an axis whose chosen value keeps moving to its edge (:func:`tuned_comparison`): one
#: step beyond the grid, so an axis that keeps improving outwards stays flagged ``on_edge`` and the book says so.
EXTEND_STEPS = 1


@dataclass
class Selection:
    """One model after the protocol: the ``grid`` of stage 1 (one row per point: the knobs, ``error_validation``,
    ``train_loss``, ``diverged`` on the first seed), the ``finalists`` (rows with ``validation_mean`` over every seed
    and ``seeds``; extensions included), the ``chosen`` knobs, ``on_edge`` (numeric knob -> whether the chosen value
    is still the smallest or largest tried), ``extended`` (the knobs whose axis was extended) and the ``runs`` at the
    chosen knobs (one per seed, the first seed first)."""

    spec: ModelSpec
    chosen: dict
    grid: list[dict]
    runs: list[TrainResult] = field(default_factory=list)
    finalists: list[dict] = field(default_factory=list)
    on_edge: dict = field(default_factory=dict)
    extended: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def family(self) -> str:
        return self.spec.family

    @property
    def params(self) -> int:
        return int(self.runs[0].num_parameters)

    def final(self, metric: str) -> np.ndarray:
        """The final value of ``metric`` for every seed."""
        return np.array([r.final[metric] for r in self.runs], dtype=np.float64)

    def seconds_per_epoch(self) -> np.ndarray:
        """Recorded training seconds per epoch of every seed (evaluation excluded): a run's share of its batch's
        time when it trained in a batch (``runs[j].timing["mode"] == "batched"``, :mod:`ddlib.batched`), and never a
        solo timing inside a parallel sweep; races in seconds time their models alone."""
        return np.array([r.final["seconds"] / max(r.final["epoch"], 1) for r in self.runs])


def grid_points(grid) -> list[dict]:
    """The points of a grid ``{knob: [values]}`` (knobs from :data:`KNOBS`), or of a list of grids (their union,
    duplicates dropped), in a fixed order."""
    grids = [grid] if isinstance(grid, dict) else list(grid)
    if not grids or not all(isinstance(g, dict) and g for g in grids):
        raise ValueError(f"grid must be a dict naming at least one of the knobs {KNOBS}, or a list of such dicts")
    points = []
    for g in grids:
        for k, values in g.items():
            if k not in KNOBS:
                raise ValueError(f"grid knobs must be among {KNOBS}; got {k!r}")
            if not list(values):
                raise ValueError(f"grid[{k!r}] must hold at least one value")
        names = sorted(g)
        for combo in itertools.product(*(list(g[k]) for k in names)):
            point = dict(zip(names, combo))
            if point not in points:
                points.append(point)
    return points


def _score(row: dict, key: str) -> tuple:
    v = row.get(key)
    bad = row.get("diverged") or v is None or not np.isfinite(v)
    return (float("inf") if bad else float(v), row.get("lr", 0.0), row.get("init_scale", 0.0))


def select(rows: list[dict], key: str = "error_validation") -> int:
    r"""Index of the chosen row: :math:`\arg\min` of ``key`` (``error_validation`` on one seed, or
    ``validation_mean`` over the seeds; diverged = :math:`\infty`), ties broken by the smaller ``lr``, then the
    smaller ``init_scale``. Reads nothing else."""
    if not rows:
        raise ValueError("rows must hold at least one grid point")
    best = min(range(len(rows)), key=lambda i: _score(rows[i], key))
    if not np.isfinite(_score(rows[best], key)[0]):
        raise ValueError("every grid point diverged; widen the grid towards smaller learning rates")
    return best


def ranked(rows: list[dict], count: int) -> list[int]:
    """Indices of the ``count`` best rows by first-seed validation error (finite ones only, best first)."""
    order = sorted(range(len(rows)), key=lambda i: _score(rows[i], "error_validation"))
    return [i for i in order if np.isfinite(_score(rows[i], "error_validation")[0])][:count]


def edge_steps(point: dict, tried: list[dict]) -> dict:
    """For each numeric knob (:data:`ORDERED_KNOBS`) of ``point`` whose value is the smallest or largest among the
    ``tried`` points that agree with it on every other knob (at least two values on that axis): the value one step
    beyond the edge, ``edge * (edge / neighbour)``. ``{}`` when the point sits inside the grid on every axis."""
    out = {}
    for k in ORDERED_KNOBS:
        if k not in point:
            continue
        axis = sorted({q[k] for q in tried if all(q.get(j) == v for j, v in point.items() if j != k)})
        if len(axis) < 2 or point[k] not in (axis[0], axis[-1]):
            continue
        edge, neighbour = (axis[0], axis[1]) if point[k] == axis[0] else (axis[-1], axis[-2])
        out[k] = edge * (edge / neighbour)
    return out


def _on_all_seeds(specs_points, base, seeds, scheduler, workers) -> list[list]:
    """Train each ``(spec, point)`` on every seed (one sweep); per pair the outcomes, in seed order."""
    configs = [base.replace(model=s, seed=seed, **p) for s, p in specs_points for seed in seeds]
    out = run_sweep(configs, scheduler=scheduler, workers=workers) if configs else []
    return [out[i * len(seeds):(i + 1) * len(seeds)] for i in range(len(specs_points))]


def _finalist_row(point: dict, outcomes: list) -> dict:
    ok = all(o.ok for o in outcomes)
    vals = [o.result.final["error_validation"] for o in outcomes] if ok else []
    return {**point, "diverged": not ok, "seeds": len(outcomes),
            "validation_mean": float(np.mean(vals)) if ok else float("inf"), "outcomes": outcomes}


def tuned_comparison(specs, base: TrainConfig, grid, seeds, *, finalists: int = FINALISTS, extend: bool = True,
                     scheduler: str | None = None, workers: int | None = None) -> list[Selection]:
    """The protocol of the module docstring for every spec; returns one :class:`Selection` each, in order."""
    specs = list(specs)
    seeds = [check_int("seeds[i]", s, low=0) for s in seeds]
    finalists = check_int("finalists", finalists, low=1)
    if not seeds or not specs:
        raise ValueError("specs and seeds must each hold at least one entry")
    points = grid_points(grid)
    # every point a finalist: it trains on every seed in this one sweep (stage 2 then finds them all in the cache)
    first = seeds if len(points) <= finalists else seeds[:1]
    out1 = run_sweep([base.replace(model=s, seed=seed, **p) for s in specs for p in points for seed in first],
                     scheduler=scheduler, workers=workers)[::len(first)]
    grids = [_grid_rows(points, out1[j * len(points):(j + 1) * len(points)]) for j in range(len(specs))]
    _lower_diverged(grids, specs, base, seeds[0], scheduler, workers)
    # stage 2: the finalists of every model on every seed (the first seed's runs are cached)
    per_model = [[{k: grids[j][i][k] for k in KNOBS if k in grids[j][i]} for i in ranked(grids[j], finalists)]
                 for j in range(len(specs))]
    results = iter(_on_all_seeds([(specs[j], p) for j, ps in enumerate(per_model) for p in ps], base, seeds,
                                 scheduler, workers))
    finals = [[_finalist_row(p, next(results)) for p in ps] for ps in per_model]
    selections = [_choose(spec, grids[j], finals[j]) for j, spec in enumerate(specs)]
    for _ in range(EXTEND_STEPS if extend else 0):
        if not _extend(selections, base, seeds, scheduler, workers):
            break
    for sel in selections:
        sel.grid = [{k: v for k, v in r.items() if k != "outcome"} for r in sel.grid]
    return selections


def _grid_rows(points: list[dict], outcomes: list) -> list[dict]:
    """Stage-1 rows: the knobs, ``diverged``, the final validation error and training loss, the outcome."""
    return [{**p, "diverged": not o.ok, "error_validation": o.result.final["error_validation"] if o.ok else float("inf"),
             "train_loss": o.result.final["train_loss"] if o.ok else float("inf"), "outcome": o}
            for p, o in zip(points, outcomes)]


def _lower_diverged(grids: list[list[dict]], specs, base, seed: int, scheduler, workers) -> None:
    """A model whose every grid point diverged trains its last points again with every learning rate times
    :data:`DIVERGED_STEP`, at most :data:`DIVERGED_ROUNDS` times (the grid's edge extended downwards; if all still
    diverge, :func:`select` says so)."""
    size = len(grids[0]) if grids else 0
    for _ in range(DIVERGED_ROUNDS):
        todo = [j for j, rows in enumerate(grids) if all(r["diverged"] for r in rows)]
        if not todo:
            return
        new = {j: [{**{k: r[k] for k in KNOBS if k in r}, "lr": r.get("lr", base.lr) * DIVERGED_STEP}
                  for r in grids[j][-size:]]
               for j in todo}
        out = iter(run_sweep([base.replace(model=specs[j], seed=seed, **p) for j in todo for p in new[j]],
                             scheduler=scheduler, workers=workers))
        for j in todo:
            grids[j] += _grid_rows(new[j], [next(out) for _ in new[j]])


def _choose(spec: ModelSpec, grid: list[dict], finals: list[dict]) -> Selection:
    """The finalist with the best seed mean (:func:`select` on ``validation_mean``)."""
    if not finals:
        select(grid)  # raises: every grid point diverged
    best = finals[select(finals, "validation_mean")]
    chosen = {k: v for k, v in best.items() if k in KNOBS}
    sel = Selection(spec, chosen, grid, [o.result for o in best["outcomes"]],
                    [{k: v for k, v in f.items() if k != "outcomes"} for f in finals])
    sel.on_edge = {k: k in edge_steps(chosen, [*grid, *sel.finalists]) for k in ORDERED_KNOBS if k in chosen}
    return sel


def _extend(selections: list[Selection], base, seeds, scheduler, workers) -> bool:
    """One step beyond every edge the chosen point sits on, on every seed; the better seed mean wins. Returns whether
    there was an edge to extend."""
    todo = [(sel, k, {**sel.chosen, k: v}) for sel in selections for k, v in edge_steps(
        sel.chosen, [*sel.grid, *sel.finalists]).items()]
    results = _on_all_seeds([(sel.spec, p) for sel, _, p in todo], base, seeds, scheduler, workers)
    for (sel, k, point), outcomes in zip(todo, results):
        row = _finalist_row(point, outcomes)
        sel.extended += [k] if k not in sel.extended else []
        sel.finalists.append({key: v for key, v in row.items() if key != "outcomes"})
        if _score(row, "validation_mean") < _score({**sel.chosen, "validation_mean": _mean_of(sel)},
                                                   "validation_mean"):
            sel.chosen, sel.runs = dict(point), [o.result for o in outcomes]
    for sel in selections:
        sel.on_edge = {k: k in edge_steps(sel.chosen, [*sel.grid, *sel.finalists]) for k in ORDERED_KNOBS
                       if k in sel.chosen}
    return bool(todo)


def _mean_of(sel: Selection) -> float:
    return float(np.mean([r.final["error_validation"] for r in sel.runs]))


def summarize(sel: Selection, target: float | None = None) -> dict:
    """Seed statistics of one model: ``label``, ``family``, ``params``, the chosen knobs, ``seeds``,
    ``<metric>_mean/_min/_max`` for :data:`METRICS`, ``seconds_per_epoch``, and with ``target`` the mean
    ``epochs_to_target``/``seconds_to_target`` of the in-band error (NaN unless every seed reaches it)."""
    out = {"label": sel.label, "family": sel.family, "params": sel.params, "seeds": len(sel.runs),
           "seconds_per_epoch": float(sel.seconds_per_epoch().mean())}
    out.update({k: sel.chosen.get(k, getattr(sel.runs[0].config, k)) for k in KNOBS})
    for m in METRICS:
        v = sel.final(m)
        out[f"{m}_mean"], out[f"{m}_min"], out[f"{m}_max"] = float(v.mean()), float(v.min()), float(v.max())
    if target is not None:
        tt = np.array([time_to_target(r, target) for r in sel.runs])
        out["epochs_to_target"] = float(tt[:, 0].mean())
        out["seconds_to_target"] = float(tt[:, 1].mean())
    return out


def summary_table(selections: list[Selection], target: float | None = None) -> dict:
    """:func:`summarize` of every model as a dict of arrays (one entry per model)."""
    rows = [summarize(s, target) for s in selections]
    return {k: np.array([r[k] for r in rows]) for k in rows[0]}


def seed_band(sel: Selection, metric: str = "error_in_band", x: str = "epoch", points: int = 60,
              step_seconds: float | None = None):
    """Geometric mean, min and max of ``metric`` over the seeds against ``x`` (``"epoch"`` or ``"seconds"``).

    Seeds share their evaluation epochs; against seconds each seed's curve is interpolated (log-log) onto a common grid
    of ``points`` times up to the shortest run, or, given ``step_seconds`` (as in :func:`time_to_target_curve`), the
    epochs are scaled by :func:`steps_per_epoch` times ``step_seconds``. Returns ``(grid, mean, lo, hi)``.
    """
    if x == "seconds" and step_seconds is not None:
        grid, *band = seed_band(sel, metric, "epoch")
        return (grid * steps_per_epoch(sel) * check_positive("step_seconds", step_seconds), *band)
    if x == "epoch":
        grid = sel.runs[0].curve("epoch")
        Y = np.array([r.curve(metric) for r in sel.runs])
    elif x == "seconds":
        t_end = min(r.curve("seconds")[-1] for r in sel.runs)
        t_start = min(r.curve("seconds")[1] for r in sel.runs)
        grid = np.geomspace(t_start, t_end, points)
        Y = np.array([np.exp(np.interp(np.log(grid), np.log(np.maximum(r.curve("seconds")[1:], 1e-12)),
                                       np.log(r.curve(metric)[1:]))) for r in sel.runs])
    else:
        raise ValueError(f"x must be 'epoch' or 'seconds'; got {x!r}")
    return grid, np.exp(np.log(Y).mean(0)), Y.min(0), Y.max(0)


def headline(global_sel: Selection, dd_sel: Selection, target: float, step_seconds: dict | None = None) -> dict:
    """The F7 headline numbers for one global and one DD model (in-band errors are seed means); seconds from the
    timed steps ``step_seconds[label]`` where given (:func:`time_to_target_curve`)."""
    g, d = summarize(global_sel, target), summarize(dd_sel, target)
    for row, sel in ((g, global_sel), (d, dd_sel)):
        if step_seconds and sel.label in step_seconds:
            row["seconds_to_target"] = float(time_to_target_curve(sel, [target], step_seconds=step_seconds[
                sel.label])["seconds_mean"][0])
    return {
        "params_global": int(g["params"]), "params_dd": int(d["params"]),
        "error_global": g["error_in_band_mean"], "error_dd": d["error_in_band_mean"],
        "operator_error_global": g["operator_error_mean"], "operator_error_dd": d["operator_error_mean"],
        "epochs_to_target_global": g["epochs_to_target"], "epochs_to_target_dd": d["epochs_to_target"],
        "seconds_to_target_global": g["seconds_to_target"], "seconds_to_target_dd": d["seconds_to_target"],
        "target": float(target), "seeds": int(min(g["seeds"], d["seeds"])),
    }


def class_best(table: dict, family: str, column: str) -> dict:
    r"""The model of ``family`` (``"global"``, ``"dd"``, ...) with the smallest ``table[column]``: ``index``,
    ``value``, ``label`` and ``params`` of :math:`\arg\min_{j:\ \mathrm{family}_j = f} \mathrm{table}[\mathrm{column}]_j`."""
    sel = np.flatnonzero(np.asarray(table["family"]) == family)
    if sel.size == 0:
        raise ValueError(f"family must name a class present in the table ({sorted(set(table['family']))}); "
                         f"got {family!r}")
    i = int(sel[np.argmin(np.asarray(table[column])[sel])])
    return {"index": i, "value": float(table[column][i]), "label": str(table["label"][i]),
            "params": int(table["params"][i])}


def best_within_budget(table: dict, family: str, column: str, budget: float) -> dict | None:
    r"""The best model of ``family`` with at most ``budget`` parameters (:func:`class_best` restricted to
    :math:`P_j \le` ``budget``), or None if the family has no model that small."""
    ok = (np.asarray(table["family"]) == family) & (np.asarray(table["params"]) <= budget)
    if not ok.any():
        return None
    sub = {k: np.asarray(v)[ok] for k, v in table.items()}
    best = class_best(sub, family, column)
    best["index"] = int(np.flatnonzero(ok)[best["index"]])
    return best


def cheapest_dd_within(table: dict, column: str, bound: float, max_params: float = np.inf) -> int | None:
    r"""Index of the DD model with the fewest parameters among those with ``table[column] <= bound`` and fewer than
    ``max_params`` parameters, :math:`\arg\min \{P_j : \mathrm{family}_j = \mathrm{dd},\ v_j \le b,\ P_j < P_{\max}\}`;
    None if there is none."""
    ok = (np.asarray(table["family"]) == "dd") & (np.asarray(table[column]) <= bound) & \
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
    for j in np.flatnonzero(np.asarray(table["family"]) == "global"):
        d = cheapest_dd_within(table, column, float(table[column][j]), float(table["params"][j]))
        out.append({"global": int(j), "dd": d,
                    "ratio": float(table["params"][j] / table["params"][d]) if d is not None else float("nan")})
    return out


def steps_per_epoch(sel: Selection) -> int:
    r"""Optimizer steps per epoch of the selection's runs: :math:`\lceil S/B\rceil` (1 for a full batch)."""
    c = sel.runs[0].config
    return 1 if c.batch_size is None else -(-c.samples // c.batch_size)


def time_to_target_curve(sel: Selection, targets, metric: str = "error_in_band",
                         step_seconds: float | None = None) -> dict:
    """Epochs and seconds to each target (:func:`ddlib.training.time_to_target`) over the seeds: ``targets``,
    ``epochs_mean/_min/_max`` and ``seconds_mean/_min/_max``, NaN at a target that some seed never reaches.

    Seconds are the runs' recorded clocks, or, given ``step_seconds`` (one step timed alone, :func:`step_time`), the
    epochs times :func:`steps_per_epoch` times ``step_seconds``: a sweep's clock shares its batch and its cores, so a
    race in seconds uses the timed step."""
    targets = np.asarray([check_positive("targets[i]", t) for t in targets])
    tt = np.array([[time_to_target(r, t, metric) for t in targets] for r in sel.runs])  # (seeds, targets, 2)
    if step_seconds is not None:
        tt[:, :, 1] = tt[:, :, 0] * steps_per_epoch(sel) * check_positive("step_seconds", step_seconds)
    out = {"targets": targets}
    for j, name in enumerate(("epochs", "seconds")):
        v = tt[:, :, j]
        reached = np.isfinite(v).all(0)
        out[f"{name}_mean"] = np.where(reached, v.mean(0), np.nan)
        out[f"{name}_min"] = np.where(reached, v.min(0), np.nan)
        out[f"{name}_max"] = np.where(reached, v.max(0), np.nan)
    return out


def training_bands(sel: Selection, step_seconds: float | None = None) -> dict:
    """The training curves of one model for a figure: ``kind`` (its family), and :func:`seed_band` of the in-band
    test error against ``epoch`` and ``seconds`` (timed steps with ``step_seconds``) and of the ``operator`` error
    against epochs."""
    return {"kind": sel.family, "epoch": seed_band(sel, "error_in_band", "epoch"),
            "seconds": seed_band(sel, "error_in_band", "seconds", step_seconds=step_seconds),
            "operator": seed_band(sel, "operator_error", "epoch")}


def oracle_error(spec: ModelSpec, problem: Problem) -> float:
    r"""The best relative operator error of the spec's class and size on ``problem``: Eckart-Young for a global rank
    (:func:`ddlib.approximation.global_best_error`), the truncated Schwarz oracle for a full DD model (its own
    structure and ranks, :func:`ddlib.attention.schwarz_init`, measured by :func:`ddlib.attention.operator_error`;
    in 1D with the hat space the closed form :func:`ddlib.approximation.dd_best_error`, elsewhere an upper bound on
    the class's best at that rank); NaN for the DD ablations (one level only) and other families.

    Examples
    --------
    >>> from ddlib.approximation import dd_best_error
    >>> P = Problem(255)
    >>> bool(abs(oracle_error(DDSpec(8, 1, 4), P) / dd_best_error(255, 8, [4])[0] - 1) < 1e-8)
    True
    """
    if isinstance(spec, GlobalSpec):
        return float(global_best_error(problem, [spec.rank])[0])
    if isinstance(spec, DDSpec) and spec.use_local and spec.use_coarse and spec.diagonal == "none":
        return operator_error(schwarz_init(spec.build(problem)))
    return float("nan")


def cheapest_dd_beating_global(problem: Problem, global_rank: int, dd_specs) -> DDSpec:
    """The DD spec with the fewest parameters whose *oracle* error (:func:`oracle_error`) is at most the best error
    of a global rank-``global_rank`` operator on ``problem``: a choice made from theory, before training."""
    bound = global_best_error(problem, [global_rank])[0]
    ok = [s for s in dd_specs if isinstance(s, DDSpec) and oracle_error(s, problem) <= bound]
    if not ok:
        raise ValueError(f"no DD spec in dd_specs reaches the global rank-{global_rank} oracle error {bound:.3e}")
    return min(ok, key=lambda s: (s.parameter_count(problem), s.N, s.delta))


def multiply_adds(spec: ModelSpec, problem: Problem) -> int:
    r"""Multiply-adds of one application of the spec's operator to one right-hand side on ``problem``: one per
    factor entry (the parameter count: :math:`2nr` global, :math:`2r\sum_in_i + 2N_0r_0` DD), plus for a DD model
    with a coarse level the restriction and prolongation :math:`\Phi^Tf` and :math:`\Phi c`,
    :math:`2\,\mathrm{nnz}(\Phi)`."""
    count = spec.parameter_count(problem)
    if isinstance(spec, DDSpec) and spec.use_coarse:
        count += 2 * spec.structure(problem).Phi.nnz
    return int(count)


def step_time(configs, *, steps: int = 30, repeats: int = 5) -> dict:
    """Median wall-clock seconds of one training step (forward, loss, backward, update) of each run in ``configs``.

    Each step is :func:`ddlib.training.training_step` with the run's optimizer (:func:`ddlib.training.make_optimizer`)
    on the first batch of the run's own training set, one torch thread: the step :func:`ddlib.training.train` takes.
    The models are timed in turn, ``repeats`` rounds of ``steps`` steps each after one warm-up round (interleaved, so
    a change of machine load hits all of them alike). Returns ``{label: median seconds per step}``.
    """
    configs = list(configs)
    if not configs or not all(isinstance(c, TrainConfig) for c in configs):
        raise ValueError("configs must be a non-empty list of ddlib.training.TrainConfig")
    steps, repeats = check_int("steps", steps, low=1), check_int("repeats", repeats, low=1)
    runs = []
    for c in configs:
        d = make_dataset("train", c.problem, c.samples, c.K, c.seed, c.decay, c.data)
        bs = c.samples if c.batch_size is None else c.batch_size
        F, U = (torch.as_tensor(np.ascontiguousarray(a[:bs].T)) for a in (d.f, d.u))
        model = c.build_model()
        runs.append((c, model, make_optimizer(c, model.parameters()), F, U, 1.0 / squared_norms(U, c.loss, c.problem)))
    times = {c.label: [] for c in configs}
    with one_torch_thread():
        for rep in range(repeats + 1):  # round 0 warms up
            for c, model, opt, F, U, w in runs:
                t0 = time.perf_counter()
                for _ in range(steps):
                    training_step(c, model, opt, F, U, w)
                if rep:
                    times[c.label].append((time.perf_counter() - t0) / steps)
    return {label: float(np.median(t)) for label, t in times.items()}


def _largest_relative(M, R) -> float:
    return float(np.abs(M - R).max() / np.abs(R).max())


def representation_checks(problem: Problem, Ns, delta: int) -> dict:
    r"""What DD attention contains, measured for each number of subdomains in ``Ns`` (overlap ``delta``, default
    structure): ``exact``, the largest relative entry of :math:`M - A^{-1}` for the element initialisation of
    :func:`ddlib.attention.schwarz_init` at local rank :math:`H/h - 1`, and ``classical``, that of the subdomain
    initialisation against the weighted two-level Schwarz preconditioner :func:`ddlib.schwarz.schwarz_preconditioner`
    (hat coarse space), each the largest over ``Ns``. Both are rounding.

    Examples
    --------
    >>> c = representation_checks(Problem(63), [4, 8], 1)
    >>> bool(c["exact"] < 1e-10 and c["classical"] < 1e-10)
    True
    """
    G = problem.inverse()
    exact, classical = [], []
    for N in Ns:
        dec = Decomposition(problem, N, delta)
        exact.append(_largest_relative(schwarz_init(DDAttention(Structure(dec), dec.box - 1)).dense().numpy(), G))
        model = schwarz_init(DDAttention(Structure(dec), dec.n_max), "subdomain")
        reference = to_dense(schwarz_preconditioner(dec, weighting="sqrt", coarse="hat"))
        classical.append(_largest_relative(model.dense().numpy(), reference))
    return {"exact": max(exact), "classical": max(classical)}


def learned_operators(dd_sel: Selection, global_sel: Selection) -> dict:
    r"""The learned operators of the first seed, for a figure: ``inverse`` (:math:`A^{-1}`), ``dd`` and ``global``
    (dense matrices), their ``operator_error_dd`` and ``operator_error_global``, the interior local block
    ``block`` (index ``block_index`` = :math:`N/2`, :math:`h\,D_i^{1/2}Q_iK_i^TD_i^{1/2}`) beside ``exact_block``,
    its classical counterpart :math:`D_i^{1/2}A_i^{-1}D_i^{1/2}` in the same units (the subdomain initialisation of
    :func:`ddlib.attention.schwarz_init`), and ``block_err``, their relative 2-norm difference."""
    dd_model, g_model = dd_sel.runs[0].model, global_sel.runs[0].model
    problem = dd_model.problem
    i = dd_model.decomposition.N // 2
    block = dd_model.local_blocks()[i]
    classical = schwarz_init(DDAttention(dd_sel.spec.structure(problem), dd_model.decomposition.n_max), "subdomain")
    exact_block = classical.local_blocks()[i]
    M_dd, M_g = dd_model.dense().numpy(), g_model.dense().numpy()
    return {"inverse": problem.inverse(), "dd": M_dd, "global": M_g, "block": block, "exact_block": exact_block,
            "block_index": int(i), "operator_error_dd": operator_error(M_dd, problem),
            "operator_error_global": operator_error(M_g, problem),
            "block_err": float(np.linalg.norm(block - exact_block, 2) / np.linalg.norm(exact_block, 2))}
