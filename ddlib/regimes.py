r"""The regime map: where the paper's claims hold, where they fail, and why.

A :class:`Regime` is one setting of the problem and the data: grid size ``n``, subdomains ``N`` (overlap ``delta``),
band ``K``, training samples, and the training distribution. :func:`regime_axes` varies one axis at a time around a
base regime (``n`` at fixed ``N`` and at fixed :math:`H/h`, the sample count, ``K``, the data kind, ``N``) and adds a
two-dimensional slice (samples :math:`\times` data kind). In every regime the same models are trained under the tuned
protocol of :func:`ddlib.experiments.tuned_comparison` (:func:`run_regime`): global attention of a few ranks, DD
attention of a few local ranks, and two mechanism ablations, *coarse only* and *local only*.

**Verdicts as data.** Everything a sentence of the book says about a regime is a record; the verdict rules are those
of :mod:`ddlib.claims`, the one verdict module, applied to the regime's global and full DD models (the mechanism
ablations are left out) and tagged with the regime's keys (:data:`REGIME_KEYS`):

* :func:`budget_rows`: at each parameter budget :math:`P`, the best model of each class with at most :math:`P`
  parameters, per metric, with its seed range (:func:`ddlib.claims.compare`);
* :func:`cheapest_match`: the claim "fewer parameters" (:func:`ddlib.claims.fewer_parameters`);
* :func:`speed_row`: the claim "trains faster" at a common target of the in-distribution error
  (:func:`in_distribution_metric`, :func:`ddlib.claims.speed`);
* :func:`claim_verdicts`: the paper's three claims in one regime (:func:`ddlib.claims.verdicts`);
* :func:`mechanism`: which DD component does the work (coarse only and local only against the full model) and
  which limit binds each class (:func:`binding_limit`).

**Any dimension.** A regime lives on the problem of ``n`` unknowns in ``dim`` dimensions
(:meth:`ddlib.problem.Problem.from_size`), ``N`` boxes per direction, the band :math:`\max_j k_j \le K`; its DD class
is :class:`ddlib.models.DDSpec`, its oracles :func:`ddlib.experiments.oracle_error` (Eckart-Young, and the truncated
Schwarz oracle of the spec's own structure). Its records have the same keys in every dimension.

**Which limit binds** (:func:`binding_limit`). With :math:`E = M_\theta^{-1} - A^{-1}` and :math:`V` an orthonormal
basis of the span of the training right-hand sides (dimension :math:`s \le \min(S, n)`;
:math:`s = \min(S, K^d)` for the band of :math:`K^d` modes in :math:`d` dimensions), :func:`span_split` measures the
error on the data's span, :math:`\|EV\|_2`, and off it, :math:`\|E(I - VV^T)\|_2` (both relative to
:math:`\|A^{-1}\|_2`). A trained model is limited by

* **expressiveness** when its operator error is within :data:`ORACLE_FACTOR` of its class's best (the
  Eckart-Young error of its rank, or the Schwarz oracle of its DD configuration);
* **the data** when it is not, and its error off the span is at least :data:`ORACLE_FACTOR` times its error on the
  span (the data determine the operator only on their span; the rest is what the structure and the initialisation
  put there);
* **optimisation** otherwise: even where the data look, training is far from what the class can do.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from scipy.sparse.linalg import LinearOperator, svds

from . import claims
from ._validate import check_choice, check_int, check_positive
from .ablations import ablation_key, compare_to_baseline
from .approximation import dd_oracle_error
from .bias import bias_measures
from .data import in_distribution_set, make_dataset
from .decomposition import Decomposition
from .experiments import (ORDERED_KNOBS, Selection, class_best, grid_points, oracle_error, step_time,
                          summary_table, tuned_comparison)
from .models import DDSpec, GlobalSpec, ModelSpec
from .problem import Problem
from .training import OPTIMIZER_NAMES as _NAMES, OPTIMIZERS, TrainConfig

__all__ = ["Regime", "RegimeResult", "AXES", "ORACLE_FACTOR", "COMPONENT_FACTOR", "regime_axes", "regime_specs",
           "run_regime", "budget_rows", "cheapest_match", "span_split", "binding_limit", "mechanism", "claim_map",
           "REGIME_KEYS", "REGIME_DATA", "in_distribution_metric", "speed_row", "claim_verdicts", "is_ablation",
           "tally_verdicts", "majority_text", "report_beyond", "optimizer_grids", "step_seconds", "on_edge",
           "edge_rows", "rival_rows", "COUNT_KEYS", "RegimeMap", "run_map",
           "verdict_table", "OPTIMIZER_NAMES", "glue_prefixes"]

#: The axes of :func:`regime_axes`.
AXES = ("base", "n_fixed_N", "n_fixed_H", "samples", "K", "data", "N", "slice")
#: A trained model within this factor of its class's oracle error is limited by expressiveness.
ORACLE_FACTOR = 2.0
#: An ablation within this factor of the full DD model's error does the work on its own.
COMPONENT_FACTOR = 1.5
#: Keys that identify a regime in every record.
REGIME_KEYS = ("n", "N", "delta", "K", "samples", "data", "axis")
#: The test set drawn from each training distribution (the "in-distribution" error of :func:`speed_row`).
#: The training distributions a regime can have (those with an error on the training distribution).
REGIME_DATA = ("fourier", "noise", "smooth")


@dataclass(frozen=True)
class Regime:
    """One setting: ``n`` unknowns in ``dim`` dimensions (``n = m**dim``), ``N`` boxes per direction with overlap
    ``delta``, band ``K`` (``K <= m // 2``), ``samples`` training samples of the distribution ``data``; ``axis``
    names the axis of :func:`regime_axes` it belongs to."""

    n: int = 255
    N: int = 8
    K: int = 16
    samples: int = 64
    data: str = "fourier"
    delta: int = 1
    axis: str = "base"
    dim: int = 1

    def __post_init__(self):
        for name, low in (("n", 3), ("N", 1), ("K", 1), ("samples", 1), ("delta", 0), ("dim", 1)):
            object.__setattr__(self, name, check_int(name, getattr(self, name), low=low))
        check_choice("data", self.data, REGIME_DATA)
        check_choice("axis", self.axis, AXES)
        Decomposition(self.problem, self.N, self.delta)  # N and delta fit the grid
        check_int("K", self.K, low=1, high=self.side // 2)

    @property
    def problem(self) -> Problem:
        """The grid of the regime (:meth:`ddlib.problem.Problem.from_size`; the coefficient is the run's)."""
        return Problem.from_size(self.n, self.dim)

    @property
    def side(self) -> int:
        """Nodes per side ``m`` (``n = m**dim``; :attr:`ddlib.problem.Problem.m`)."""
        return self.problem.m

    @property
    def box(self) -> int:
        """Nodes per box and direction, :math:`H/h = (m + 1)/N` (:attr:`ddlib.decomposition.Decomposition.box`)."""
        return (self.side + 1) // self.N

    def record(self) -> dict:
        return {k: getattr(self, k) for k in REGIME_KEYS}

    def label(self) -> str:
        return f"n={self.n} N={self.N} K={self.K} S={self.samples} {self.data}"

    def short(self) -> str:
        """What sets this regime apart from the base, for a sentence: ``"n = 4095 (N = 8)"``, ``"S = 16"``, ..."""
        return {"base": "the base regime", "n_fixed_N": f"n = {self.n} (N = {self.N})",
                "n_fixed_H": f"n = {self.n} (H/h = {self.box}, N = {self.N})", "samples": f"S = {self.samples}",
                "K": f"K = {self.K}", "data": f"{self.data} data", "N": f"N = {self.N}",
                "slice": f"{self.data} data with S = {self.samples}"}[self.axis]

    def config(self, base: TrainConfig) -> TrainConfig:
        """``base`` with this regime's grid, dimension, band, samples and data (the model is set per spec)."""
        return base.replace(n=self.n, dim=self.dim, K=self.K, samples=self.samples, data=self.data,
                            model=GlobalSpec(1))


def regime_axes(base: Regime, *, n_values=(), H_over_h: int | None = None, samples_values=(), K_values=(),
                data_values=(), N_values=(), slice_samples=(), slice_data=()) -> list[Regime]:
    """The base regime, one-axis variations around it, and the slice ``slice_samples x slice_data``; a regime that
    equals an earlier one (apart from its axis label) is listed once."""
    out = [base]
    for n in n_values:
        out.append(replace(base, n=n, axis="n_fixed_N"))
        if H_over_h is not None:
            N = (Problem.from_size(n, base.dim).m + 1) // check_int("H_over_h", H_over_h, low=2)
            out.append(replace(base, n=n, N=N, axis="n_fixed_H"))
    out += [replace(base, samples=s, axis="samples") for s in samples_values]
    out += [replace(base, K=k, axis="K") for k in K_values]
    out += [replace(base, data=d, axis="data") for d in data_values]
    out += [replace(base, N=N, axis="N") for N in N_values]
    out += [replace(base, samples=s, data=d, axis="slice") for d in slice_data for s in slice_samples]
    seen, unique = set(), []
    for r in out:
        key = replace(r, axis="base")
        if key not in seen:
            seen.add(key)
            unique.append(r)
    return unique


def regime_specs(regime: Regime, global_ranks, local_ranks, mechanism_rank: int | None,
                 **dd_options) -> list[ModelSpec]:
    r"""The models of a regime: global ranks (at most ``n``), DD local ranks (at most the largest box,
    :math:`(H/h + 2\delta)^{\mathrm{dim}}` nodes), and the two mechanism ablations at local rank ``mechanism_rank``
    (None: none): coarse only and local only. ``dd_options`` go to every :class:`~ddlib.models.DDSpec`."""
    L = Decomposition(regime.problem, regime.N, regime.delta).n_max
    specs = [GlobalSpec(r) for r in sorted(set(global_ranks)) if r <= regime.n]
    specs += [DDSpec(regime.N, regime.delta, r, **dd_options) for r in sorted(set(local_ranks)) if r <= L]
    if mechanism_rank is None:
        return specs
    r = min(check_int("mechanism_rank", mechanism_rank, low=1), L)
    if regime.N > 1:
        specs.append(DDSpec(regime.N, regime.delta, r, use_local=False, **dd_options))
    specs.append(DDSpec(regime.N, regime.delta, r, use_coarse=False, **dd_options))
    return specs


@dataclass
class RegimeResult:
    """A regime after training: its selections, :func:`ddlib.experiments.summary_table` and the ``optimizer`` whose
    grid was searched (:data:`ddlib.training.OPTIMIZERS`, or ``"tuned"`` when the grid searched several: the
    optimizer was a knob)."""

    regime: Regime
    selections: list[Selection]
    table: dict
    optimizer: str = "adam"

    def record(self) -> dict:
        """The regime's keys (:data:`REGIME_KEYS`) and ``optimizer``: what identifies every record of this result."""
        return {**self.regime.record(), "optimizer": self.optimizer}


def _grid_optimizer(base: TrainConfig, grid) -> str:
    """The one optimizer a grid searches (the base config's if the grid has no optimizer knob), or ``"tuned"``."""
    names = {p.get("optimizer", base.optimizer) for p in grid_points(grid)}
    return names.pop() if len(names) == 1 else "tuned"


def optimizer_grids(grids: dict) -> dict:
    """``{optimizer: {knob: values}}`` (one learning-rate range per optimizer) -> the grids of a regime: each
    optimizer alone, and, with two or more, ``"tuned"``: their union, where the optimizer is a knob like the others.

    >>> optimizer_grids({"adam": {"lr": [0.1]}, "gd": {"lr": [1.0]}})["tuned"]
    [{'lr': [0.1], 'optimizer': ['adam']}, {'lr': [1.0], 'optimizer': ['gd']}]
    """
    for name in grids:
        check_choice("grids key", name, OPTIMIZERS)
    out = {name: {**g, "optimizer": [name]} for name, g in grids.items()}
    if len(out) > 1:
        out["tuned"] = list(out.values())
    return out


def run_regime(regime: Regime, base: TrainConfig, specs, grid, seeds, *, scheduler=None,
               workers=None) -> RegimeResult:
    """Train every spec in the regime under the tuned protocol (cached; local processes or a dask cluster); the
    result's ``optimizer`` is the one the grid searches (``"tuned"`` for several)."""
    sels = tuned_comparison(specs, regime.config(base), grid, seeds, scheduler=scheduler, workers=workers)
    return RegimeResult(regime, sels, summary_table(sels), _grid_optimizer(base, grid))


def step_seconds(results: list[RegimeResult], *, steps: int = 10, repeats: int = 3) -> dict:
    """Seconds per optimizer step of every full model (global, DD, banded; ablations left out) at its chosen knobs,
    keyed by ``(label, optimizer)``: :func:`ddlib.experiments.step_time` in this process, one call per optimizer
    with its models interleaved (never the clock of a sweep, where runs compete for the cores)."""
    configs: dict = {}
    for res in results:
        for s in res.selections:
            if not is_ablation(s.spec):
                c = s.runs[0].config
                configs.setdefault(c.optimizer, {}).setdefault(s.label, c)
    out = {}
    for opt, by_label in configs.items():
        out.update({(lab, opt): t for lab, t in step_time(list(by_label.values()), steps=steps,
                                                          repeats=repeats).items()})
    return out


def _seconds_of(result: RegimeResult, steps: dict) -> dict:
    """``{label: seconds per step}`` of a result's models from :func:`step_seconds`."""
    return {s.label: steps[(s.label, s.runs[0].config.optimizer)] for s in result.selections
            if not is_ablation(s.spec)}


def _is_full(spec) -> bool:
    return isinstance(spec, DDSpec) and not spec.is_ablation


def is_ablation(spec) -> bool:
    """True for a DD mechanism ablation (coarse only or local only), which no class verdict counts
    (:attr:`ddlib.models.DDSpec.is_ablation`)."""
    return spec.is_ablation


def _full_table(result: RegimeResult) -> dict:
    """The table without the mechanism ablations (the classes compared are global and full DD)."""
    keep = np.array([not is_ablation(s.spec) for s in result.selections])
    return {k: np.asarray(v)[keep] for k, v in result.table.items()}


def _groups(result: RegimeResult) -> dict:
    """The selections of each class, ablations left out."""
    return {fam: [s for s in result.selections if s.family == fam and not is_ablation(s.spec)]
            for fam in claims.CLASSES}


def budget_rows(result: RegimeResult, budgets, metrics) -> list[dict]:
    """One record per budget and metric: :data:`REGIME_KEYS`, ``params_budget`` and :func:`ddlib.claims.compare`
    of the global and full DD models within the budget (``metric``, ``seeds``, ``best_global``,
    ``best_global_label``, ``best_global_params``, ``best_global_min/_max``, the same for ``best_dd``, ``winner``,
    ``separated``)."""
    table = _full_table(result)
    return [{**result.record(), "params_budget": int(check_positive("budgets[i]", P)),
             **claims.compare(table, metric, P)} for P in budgets for metric in metrics]


def cheapest_match(result: RegimeResult, metric: str) -> dict:
    """The claim "fewer parameters" in one regime (:func:`ddlib.claims.fewer_parameters` on the global and full DD
    models), with the regime's keys."""
    return {**result.record(), **claims.fewer_parameters(_full_table(result), metric)}


def span_split(model, f_train: np.ndarray) -> dict:
    r"""Relative operator error on and off the span of the training right-hand sides ``f_train`` (rows).

    Returns ``dim`` (the numerical rank of ``f_train``, tolerance :math:`10^{-10}` relative), ``on_span``
    :math:`= \|EV\|_2/\|A^{-1}\|_2` and ``off_span`` :math:`= \|E(I-VV^T)\|_2/\|A^{-1}\|_2` (zero when the span is
    everything), with :math:`E = M - A^{-1}` applied through ``apply_columns`` and the solve of the model's problem
    (:meth:`ddlib.problem.Problem.solve`): :math:`O(n)` memory per vector, no dense :math:`n\times n` matrix.
    """
    problem = model.problem
    f = np.asarray(f_train, dtype=np.float64)
    n = problem.n
    if f.ndim != 2 or f.shape[1] != n:
        raise ValueError(f"f_train must have shape (samples, n) with n = {n}; got {f.shape}")
    U, s, _ = np.linalg.svd(f.T, full_matrices=False)
    V = U[:, s > 1e-10 * s[0]]
    kw = dict(dtype=model.dtype, device=model.device)

    def M(X):
        with torch.no_grad():
            return model.apply_columns(torch.as_tensor(np.ascontiguousarray(X), **kw)).double().cpu().numpy()

    def MT(X):
        Z = torch.zeros(n, X.shape[1], requires_grad=True, **kw)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(model.apply_columns(Z), Z, grad_outputs=torch.as_tensor(X, **kw))
        return g.double().cpu().numpy()

    E = lambda X: M(X) - problem.solve(X.T).T  # noqa: E731
    ET = lambda X: MT(X) - problem.solve(X.T).T  # noqa: E731
    scale = 1.0 / problem.norm_inverse()
    on = float(np.linalg.norm(E(V), 2)) * scale
    if V.shape[1] == n:
        return {"dim": n, "on_span": on, "off_span": 0.0}
    P = lambda X: X - V @ (V.T @ X)  # noqa: E731
    return {"dim": int(V.shape[1]), "on_span": on, "off_span": _norm2(n, E, ET, P) * scale}


def _norm2(n: int, apply, apply_t, project=lambda X: X) -> float:
    r""":math:`\|B P\|_2` of the ``n x n`` operator ``B`` given by ``apply`` and its transpose ``apply_t`` (on
    columns), with the symmetric projector ``project``: the largest singular value by ``svds``."""
    op = LinearOperator((n, n), matvec=lambda x: apply(project(x.reshape(n, 1)))[:, 0],
                        rmatvec=lambda y: project(apply_t(y.reshape(n, 1)))[:, 0],
                        matmat=lambda X: apply(project(X)), rmatmat=lambda Y: project(apply_t(Y)), dtype=np.float64)
    return float(svds(op, k=1, return_singular_vectors=False, tol=1e-8, v0=np.ones(n), random_state=0)[0])


def binding_limit(operator_error: float, oracle: float, on_span: float, off_span: float) -> str:
    """``"expressiveness"`` if the operator error is within :data:`ORACLE_FACTOR` of the oracle; else ``"data"`` if
    the error off the data's span is at least :data:`ORACLE_FACTOR` times the error on it; else ``"optimisation"``."""
    if np.isfinite(oracle) and operator_error <= ORACLE_FACTOR * oracle:
        return "expressiveness"
    if off_span >= ORACLE_FACTOR * on_span:
        return "data"
    return "optimisation"


def _component(coarse_only: float, local_only: float, full: float) -> str:
    """Which DD level does the work (:func:`mechanism`)."""
    if coarse_only <= COMPONENT_FACTOR * full:
        return "coarse level"
    return "local blocks" if local_only <= COMPONENT_FACTOR * full else "both levels"


def mechanism(result: RegimeResult, base: TrainConfig, splits: dict | None = None) -> dict:
    """Which DD component does the work and which limit binds each class, by operator error (seed means).

    Returns the regime keys plus ``dd_label``, ``dd_error`` (the best full DD model), ``coarse_only_error``,
    ``local_only_error``, ``component`` (``"coarse level"`` if coarse only is within :data:`COMPONENT_FACTOR` of the
    full model, else ``"local blocks"`` if local only is, else ``"both levels"``), and per class (``dd`` and
    ``global``, each its best model): ``<cls>_oracle`` (:func:`ddlib.experiments.oracle_error`), ``<cls>_on_span``,
    ``<cls>_off_span``, ``<cls>_off_fraction`` and ``<cls>_k_drift`` (:func:`ddlib.bias.bias_measures`),
    ``<cls>_limit``; ``data_dim`` is the dimension of the training data's span (first seed), ``dd_coarse_dim`` the
    dimension :math:`N_0` of the best DD model's coarse space. ``splits`` (run key ->
    :func:`span_split`) is read and filled, so results that share a run measure it once.
    """
    t, col = result.table, "operator_error_mean"
    by_label = {s.label: s for s in result.selections}
    full = _full_table(result)
    out = result.record()
    config = result.selections[0].runs[0].config
    problem = config.problem
    f_train = make_dataset("train", problem, config.samples, config.K, config.seed, base.decay, config.data).f
    for cls in ("dd", "global"):
        b = class_best(full, cls, col)
        sel = by_label[b["label"]]
        key = sel.runs[0].key or id(sel.runs[0])
        split = splits[key] if splits is not None and key in splits else span_split(sel.runs[0].model, f_train)
        if splits is not None:
            splits[key] = split
        oracle = oracle_error(sel.spec, problem)
        bias = bias_measures(sel.runs[0])
        out.update({f"{cls}_label": b["label"], f"{cls}_error": b["value"], f"{cls}_params": b["params"],
                    f"{cls}_optimizer": sel.runs[0].config.optimizer,
                    f"{cls}_oracle": oracle, f"{cls}_on_span": split["on_span"], f"{cls}_off_span": split["off_span"],
                    f"{cls}_off_fraction": bias["off_span_fraction"], f"{cls}_k_drift": bias["span_drift"],
                    f"{cls}_limit": binding_limit(sel.runs[0].final["operator_error"], oracle, split["on_span"],
                                                  split["off_span"])})
        out["data_dim"] = split["dim"]
    ablations = {"coarse": np.nan, "local": np.nan}
    for i, s in enumerate(result.selections):
        if is_ablation(s.spec):
            ablations["coarse" if not s.spec.use_local else "local"] = float(t[col][i])
    out["dd_coarse_dim"] = int(by_label[out["dd_label"]].spec.structure(problem).N0)
    out["coarse_only_error"], out["local_only_error"] = ablations["coarse"], ablations["local"]
    out["component"] = _component(ablations["coarse"], ablations["local"], out["dd_error"])
    return out


def claim_map(records: list[dict], regimes: list[Regime]) -> dict:
    """Where each claim holds, per optimizer, as lists of :meth:`Regime.short` texts, from :func:`claim_verdicts`
    records.

    ``out[optimizer]["faster"][unit]`` (``"epochs"``, ``"seconds"``) and ``out[optimizer]["fewer"][metric]`` map
    ``"holds"`` and ``"fails"`` to regimes; ``out[optimizer]["accurate"][metric]`` maps ``"holds"`` (DD more
    accurate, seed ranges disjoint), ``"fails"`` (global more accurate, disjoint) and ``"unclear"`` (the seed ranges
    overlap); every group lists under ``"excluded"`` the regimes that leave the count (a class does not learn, the
    record's ``counted``)."""
    short = {tuple(r.record()[k] for k in REGIME_KEYS): r.short() for r in regimes}
    out: dict = {}
    for rec in records:
        name = short[tuple(rec[k] for k in REGIME_KEYS)]
        mine = out.setdefault(rec["optimizer"], {"faster": {}, "accurate": {}, "fewer": {}})
        if rec["claim"].startswith("trains faster"):
            group, key = mine["faster"], rec["claim"][len("trains faster ("):-1]
            verdict = "holds" if rec["holds"] else "fails"
        elif rec["claim"] == "more accurate":
            group, key = mine["accurate"], rec["metric"]
            verdict = "unclear" if not rec["separated"] else ("holds" if rec["holds"] else "fails")
        else:
            group, key = mine["fewer"], rec["metric"]
            verdict = "holds" if rec["holds"] else "fails"
        verdict = verdict if rec.get("counted", True) else "excluded"
        group.setdefault(key, {"holds": [], "fails": [], "unclear": [], "excluded": []})[verdict].append(name)
    return out


def in_distribution_metric(data: str) -> str:
    """The history key of the test error on the training distribution ``data``: ``error_`` and the set of
    :func:`ddlib.data.in_distribution_set` (the in-band set for Fourier data, the white-noise set for noise data, the
    validation set for the smooth field, which has no test set of its own)."""
    return f"error_{in_distribution_set(check_choice('data', data, REGIME_DATA))}"


def speed_row(result: RegimeResult, step_seconds: dict, metric: str | None = None,
              target: float | None = None) -> dict:
    """The claim "trains faster" in one regime: the result's keys and :func:`ddlib.claims.speed` of its global and
    full DD models (``step_seconds`` from :func:`step_seconds`); ``metric`` defaults to the in-distribution error
    (:func:`in_distribution_metric`)."""
    metric = in_distribution_metric(result.regime.data) if metric is None else metric
    return {**result.record(), **claims.speed(_groups(result), metric, _seconds_of(result, step_seconds), target)}


def on_edge(sel: Selection) -> bool:
    """Whether a chosen learning rate or initial scale is still the smallest or largest value tried on its axis,
    after the protocol's extension (:attr:`ddlib.experiments.Selection.on_edge`)."""
    return any(sel.on_edge.get(k, False) for k in ORDERED_KNOBS)


def edge_rows(result: RegimeResult) -> list[dict]:
    """The chosen knobs of every model of a result: its keys, ``label``, ``optimizer`` (of the chosen point),
    ``lr``, ``init_scale``, ``on_edge`` (:func:`on_edge`), ``on_edge_lr``, ``on_edge_init_scale`` and ``extended``
    (the axes the protocol extended, comma-separated)."""
    return [{**result.record(), "label": s.label, "chosen_optimizer": s.runs[0].config.optimizer,
             "lr": s.runs[0].config.lr, "init_scale": s.runs[0].config.init_scale, "on_edge": on_edge(s),
             **{f"on_edge_{k}": bool(s.on_edge.get(k, False)) for k in ORDERED_KNOBS},
             "extended": ", ".join(s.extended)} for s in result.selections]


#: Keys a :func:`claim_verdicts` record adds to :data:`REGIME_KEYS` + ``optimizer`` + the verdict's keys.
COUNT_KEYS = ("counted", "not_learned", "reason", "on_edge")


def claim_verdicts(result: RegimeResult, step_seconds: dict, metrics=("operator_error",),
                   speed_metric: str | None = None) -> list[dict]:
    """The paper's three claims in one regime (:func:`ddlib.claims.verdicts` on its global and full DD models), as
    records with the keys :data:`REGIME_KEYS`, ``optimizer``, :data:`ddlib.claims.VERDICT_KEYS` and
    :data:`COUNT_KEYS`: ``counted`` (both classes learn the in-distribution error, :func:`ddlib.claims.learning`;
    otherwise the regime leaves every count), ``not_learned`` (the classes that do not), ``reason`` (why, in words)
    and ``on_edge`` (the labels
    of the two compared models whose choice still rests on a grid edge, :func:`on_edge`). The speed claims and the
    in-distribution metric use ``speed_metric`` (default :func:`in_distribution_metric`), seconds from
    ``step_seconds`` (:func:`step_seconds`)."""
    speed_metric = in_distribution_metric(result.regime.data) if speed_metric is None else speed_metric
    groups = _groups(result)
    learned = claims.learning(groups, speed_metric)
    edges = {s.label for s in result.selections if on_edge(s)}
    out = []
    for v in claims.verdicts(groups, _full_table(result), metrics, speed_metric, _seconds_of(result, step_seconds)):
        edge = [lab for lab in (v["global_label"], v["dd_label"]) if lab in edges]
        out.append({**result.record(), **v, **{k: learned[k] for k in ("counted", "not_learned", "reason")},
                    "on_edge": ", ".join(edge)})
    return out


def rival_rows(result: RegimeResult, metrics, rival: str = "banded") -> list[dict]:
    """The best DD model against the best model of the ``rival`` family (the structured non-DD baseline), per
    metric: the result's keys and :func:`ddlib.claims.compare` with ``classes=(rival, "dd")``; none if the regime
    trained no model of that family."""
    table = _full_table(result)
    if rival not in set(np.asarray(table["family"]).tolist()):
        return []
    return [{**result.record(), **claims.compare(table, m, classes=(rival, "dd"))} for m in metrics]


def tally_verdicts(records: list[dict], pool: bool = True) -> list[dict]:
    """Count the :func:`claim_verdicts` records of many regimes per ``(optimizer, claim, metric)``, in order of
    appearance; a record that is not ``counted`` leaves the count and is listed under ``excluded``.

    With ``pool`` the in-distribution error of each regime (:func:`in_distribution_metric` of its ``data``) is
    counted under the metric name ``"in_distribution"``, so regimes with different training data share one count
    (the speed claims, measured on that error, always are). Returns one dict per
    triple: ``optimizer``, ``claim``, ``metric``, ``holds`` (counted regimes where the claim holds), ``regimes``
    (counted regimes), ``separated`` (how many of the holding ones have disjoint seed ranges; "more accurate" only,
    else 0), ``failing`` (the :data:`REGIME_KEYS` records of the counted regimes where it fails) and ``excluded``
    (those records of the regimes left out, each with ``not_learned``).
    """
    if not records:
        raise ValueError("records must hold at least one claim_verdicts record")
    out: dict = {}
    for r in records:
        own = r["metric"] == in_distribution_metric(r["data"]) and (pool or r["claim"].startswith("trains faster"))
        metric = "in_distribution" if own else r["metric"]
        t = out.setdefault((r["optimizer"], r["claim"], metric), {
            "optimizer": r["optimizer"], "claim": r["claim"], "metric": metric, "holds": 0, "regimes": 0,
            "separated": 0, "failing": [], "excluded": []})
        keys = {k: r[k] for k in REGIME_KEYS}
        if not r["counted"]:
            t["excluded"].append({**keys, "not_learned": r["not_learned"], "reason": r["reason"]})
            continue
        t["regimes"] += 1
        if r["holds"]:
            t["holds"] += 1
            t["separated"] += bool(r["separated"])
        else:
            t["failing"].append(keys)
    return list(out.values())


# ------------------------------------------------------------------------------------------------ a map
@dataclass
class RegimeMap:
    """Every record of a map of regimes (:func:`run_map`): ``results`` (per regime, one :class:`RegimeResult` per
    grid of :func:`optimizer_grids`), ``rows`` (:func:`budget_rows`), ``verdicts`` (:func:`claim_verdicts`),
    ``mechanisms`` (:func:`mechanism`, one per result), ``edges`` (:func:`edge_rows`), ``rivals``
    (:func:`rival_rows`) and ``steps`` (per regime its keys and ``steps``: :func:`step_seconds` as
    ``{"label|optimizer": seconds}``)."""

    regimes: list[Regime]
    results: list[list[RegimeResult]]
    rows: list[dict]
    verdicts: list[dict]
    mechanisms: list[dict]
    edges: list[dict]
    rivals: list[dict]
    steps: list[dict]

    def of(self, optimizer: str, records: str) -> list[dict]:
        """The records of one kind (an attribute name) for one optimizer."""
        return [r for r in getattr(self, records) if r["optimizer"] == optimizer]


def run_map(regimes, base: TrainConfig, specs_of, grids: dict, seeds, *, budgets, metrics,
            verdict_metrics=("operator_error",), rival: str | None = None, mechanisms: bool = True,
            scheduler=None, workers=None) -> RegimeMap:
    """Train every regime under every grid of :func:`optimizer_grids` (``grids``: ``{optimizer: {knob: values}}``)
    and read all records of the map.

    ``specs_of(regime)`` gives a regime's models, ``budgets(regime)`` its parameter budgets (:func:`budget_rows`
    with ``metrics``); the verdicts are :func:`claim_verdicts` with ``verdict_metrics`` and the step times of
    :func:`step_seconds` (one set per regime, measured after its training); ``rival`` names a family compared with
    DD by :func:`rival_rows`; ``mechanisms=False`` skips :func:`mechanism` (and its span splits)."""
    out = RegimeMap(list(regimes), [], [], [], [], [], [], [])
    splits: dict = {}
    for reg in out.regimes:
        specs = specs_of(reg)
        results = [run_regime(reg, base, specs, g, seeds, scheduler=scheduler, workers=workers)
                   for g in optimizer_grids(grids).values()]
        steps = step_seconds(results)
        out.results.append(results)
        out.steps.append({**reg.record(), "steps": {f"{lab}|{opt}": t for (lab, opt), t in steps.items()}})
        for res in results:
            out.rows += budget_rows(res, budgets(reg), metrics)
            out.verdicts += claim_verdicts(res, steps, verdict_metrics)
            out.edges += edge_rows(res)
            out.rivals += rival_rows(res, metrics, rival) if rival else []
            if mechanisms:
                out.mechanisms.append(mechanism(res, base, splits))
    return out


# ------------------------------------------------------------------------------------------------ chapter 5
def majority_text(count: int, total: int, most: str, few: str, half: str) -> str:
    """``most`` if ``count`` is more than half of ``total``, ``half`` if exactly half, else ``few``."""
    if total < 1 or not 0 <= count <= total:
        raise ValueError(f"count must be in [0, total] with total >= 1; got {count} of {total}")
    return most if 2 * count > total else (half if 2 * count == total else few)


def _generalisation_glue(study: dict, labels, noise_errors: dict, eckart_young: float) -> dict:
    """Per-mode and per-set errors of the global (``g``) and DD (``d``) model for each training distribution, and the
    noise-sample study against the Eckart-Young operator."""
    tag = {labels[0]: "g", labels[1]: "d"}
    out = {"exact_mode_err": float(study["exact"].max()), "ey_noise": float(eckart_young)}
    for r in study["runs"]:
        values = {"modes_in": r["in_band_mode_error"], "modes_out": r["out_band_mode_error"], **r["sets"]}
        out.update({f"{tag[r['label']]}_{r['training']}_{k}": float(v) for k, v in values.items()})
    out["d_out_verdict"] = claims.error_level(out["d_fourier_modes_out"])
    lo, hi = min(noise_errors), max(noise_errors)
    out.update(noise_s_lo=int(lo), noise_s_hi=int(hi), noise_err_lo=float(noise_errors[lo]),
               noise_err_hi=float(noise_errors[hi]), noise_gap_lo=float(noise_errors[lo] - eckart_young),
               noise_gap_hi=float(noise_errors[hi] - eckart_young))
    return out


def _ablation_glue(rows: list[dict], problem: Problem, baseline: DDSpec) -> dict:
    """Each variant against the baseline (:func:`ddlib.ablations.compare_to_baseline`) and both against their
    oracles: the baseline's Schwarz oracle and the coarse level alone (local rank 0)."""
    cmp = compare_to_baseline(rows)
    by_label = {r["label"]: r for r in rows}
    out = {"abl_factor": cmp["factor"], "abl_worse": claims.list_text(cmp["worse"]),
           "abl_better": claims.list_text(cmp["better"])}
    for r in rows:
        key = ablation_key(r["label"])
        out.update({f"abl_{key}_operator_error": r["operator_error_mean"], f"abl_{key}_params": int(r["params"]),
                    f"abl_{key}_ratio": cmp["ratio"][key]})
    oracle_base = oracle_error(baseline, problem)
    oracle_coarse = dd_oracle_error(problem, baseline.N, baseline.delta, 0, partition=baseline.partition,
                                    weighting=baseline.weighting, coarse=baseline.coarse)
    out.update(oracle_base=oracle_base, oracle_coarse=oracle_coarse,
               base_over_oracle=by_label["baseline"]["operator_error_mean"] / oracle_base,
               coarse_over_ceiling=by_label["coarse only"]["operator_error_mean"] / oracle_coarse)
    return out


#: The column order of :func:`verdict_table` and the names of its columns.
OPTIMIZER_NAMES = {**_NAMES, "tuned": "optimizer tuned"}


def verdict_table(records: list[dict]) -> list[dict]:
    """The verdict counts of a map per claim and measure (rows) and optimizer (columns named by
    :data:`OPTIMIZER_NAMES`): ``claim``, ``measure`` and per optimizer ``"h of k"`` (the claim holds in ``h`` of the
    ``k`` counted regimes; for "more accurate" with the number of disjoint seed ranges; each measure over every
    regime, the speed claims on the in-distribution error), then a row ``left out`` with the number of regimes where
    a class does not learn (:func:`tally_verdicts` without pooling)."""
    rows: dict = {}
    left: dict = {}
    for t in tally_verdicts(records, pool=False):
        measure = "in-distribution test error" if t["metric"] == "in_distribution" else \
            claims.METRIC_NAMES.get(t["metric"], t["metric"])
        row = rows.setdefault((t["claim"], t["metric"]), {"claim": t["claim"], "measure": measure})
        cell = f"{t['holds']} of {t['regimes']}"
        name = OPTIMIZER_NAMES[t["optimizer"]]
        row[name] = cell + (f" ({t['separated']} disjoint)" if t["claim"] == "more accurate" else "")
        left[name] = str(len(t["excluded"]))
    return [*rows.values(), {"claim": "left out", "measure": "a class does not learn", **left}]


def glue_prefixes(optimizers) -> dict:
    """Glue prefixes: ``"<optimizer>_"`` for each, and ``""`` for the main one (``"tuned"`` when present)."""
    optimizers = list(optimizers)
    main = "tuned" if "tuned" in optimizers else optimizers[0]
    return {opt: [f"{opt}_"] + ([""] if opt == main else []) for opt in optimizers}


def _claims_glue(regimes: list[Regime], verdicts: list[dict]) -> dict:
    """Where each claim holds, per optimizer (:func:`claim_map`), the regimes left out and why, and the verdicts
    that rest on a grid edge."""
    cmap = claim_map(verdicts, regimes)
    short = {tuple(r.record()[k] for k in REGIME_KEYS): r.short() for r in regimes}
    out = {}
    for opt, prefixes in glue_prefixes(cmap).items():
        mine = [v for v in verdicts if v["optimizer"] == opt]
        left = [f"{short[tuple(v[k] for k in REGIME_KEYS)]} ({v['reason']})" for v in mine
                if v["claim"] == claims.CLAIMS[0] and not v["counted"]]
        ratios = [v["ratio"] for v in mine if v["claim"] == "fewer parameters" and v["metric"] == "operator_error"
                  and v["holds"] and v["counted"]]
        values = {"excluded": claims.list_text(left, "no regime", "; "), "excluded_n": len(left),
                  "n_edge_verdicts": sum(bool(v["on_edge"]) and v["counted"] for v in mine),
                  "fewer_ratio_min": min(ratios) if ratios else np.nan,
                  "fewer_ratio_max": max(ratios) if ratios else np.nan}
        for group, key in (("accurate", "acc"), ("fewer", "fewer"), ("faster", "faster")):
            for metric, where in cmap[opt][group].items():
                for verdict, names in where.items():
                    values[f"{key}_{metric}_{verdict}"] = claims.list_text(names, "no regime", "; ")
                    values[f"{key}_{metric}_{verdict}_n"] = len(names)
        out.update({p + k: v for p in prefixes for k, v in values.items()})
    return out


def _edge_glue(regimes: list[Regime], edges: list[dict]) -> dict:
    """How many chosen settings still rest on an edge of their axis after the extension, and which."""
    short = {tuple(r.record()[k] for k in REGIME_KEYS): r.short() for r in regimes}
    on = [e for e in edges if e["on_edge"]]
    where = [f"{e['label']} in {short[tuple(e[k] for k in REGIME_KEYS)]} ({OPTIMIZER_NAMES[e['optimizer']]}; "
             + ", ".join(k for k in ORDERED_KNOBS if e[f"on_edge_{k}"]) + ")" for e in on]
    return {"n_choices": len(edges), "n_on_edge": len(on), "edge_list": claims.list_text(where, "none", "; "),
            "n_extended": sum(bool(e["extended"]) for e in edges)}


def _mechanism_glue(regimes: list[Regime], mechanisms: list[dict], verdicts: list[dict]) -> dict:
    """Per optimizer: which component does the work, which limit binds, the data trap, why DD loses, and the
    base regime's errors on and off the data's span."""
    out = {"component_factor": COMPONENT_FACTOR}
    by_opt: dict = {}
    for m in mechanisms:
        by_opt.setdefault(m["optimizer"], []).append(m)
    cmap = claim_map(verdicts, regimes)
    for opt, prefixes in glue_prefixes(by_opt).items():
        mechs = by_opt[opt]
        names = {tuple(r.record()[k] for k in REGIME_KEYS): r.short() for r in regimes}
        name = [names[tuple(m[k] for k in REGIME_KEYS)] for m in mechs]
        coarse = [m["component"] == "coarse level" for m in mechs]
        values = {"n_coarse_does_it": sum(coarse),
                  "coarse_does_it_not": claims.list_text([n for n, c in zip(name, coarse) if not c], "no regime", "; "),
                  "coarse_verdict": majority_text(
                      sum(coarse), len(coarse), "in most regimes the advantage in the operator norm is the coarse "
                      "level's, not the local blocks'", "in most regimes the local blocks add to it",
                      "in half of the regimes the coarse level carries the advantage alone")}
        for cls in ("dd", "global"):
            for lim in ("expressiveness", "data", "optimisation"):
                values[f"{cls}_limit_{lim}"] = sum(m[f"{cls}_limit"] == lim for m in mechs)
            base = next((m for m in mechs if m["axis"] == "base"), mechs[0])
            values.update({f"base_{cls}_{k}": base[f"{cls}_{k}"] for k in ("on_span", "off_span", "error", "label")})
        trap = [n for n, m in zip(name, mechs) if m["dd_coarse_dim"] > m["data_dim"] and m["dd_limit"] == "data"]
        values["dd_trap_regimes"] = claims.list_text(trap, "no regime", "; ")
        lost = set(cmap.get(opt, {}).get("accurate", {}).get("operator_error", {}).get("fails", []))
        values["lost_why"] = claims.list_text([f"{n}: the best DD model is limited by {m['dd_limit']}, the best "
                                               f"global one by {m['global_limit']}" for n, m in zip(name, mechs)
                                               if n in lost], "no regime", "; ")
        out.update({p + k: v for p in prefixes for k, v in values.items()})
    return out


def _map_glue(regimes: list[Regime], mechanisms: list[dict], verdicts: list[dict], edges: list[dict]) -> dict:
    """Everything chapter 5 says about its map: :func:`_claims_glue`, :func:`_edge_glue`, :func:`_mechanism_glue`."""
    return {"n_regimes": len(regimes), **_claims_glue(regimes, verdicts), **_edge_glue(regimes, edges),
            **_mechanism_glue(regimes, mechanisms, verdicts)}


def report_beyond(*, study: dict, labels, noise_errors: dict, eckart_young: float, ablation_rows: list[dict],
                  baseline: DDSpec, problem: Problem, regimes: list[Regime], mechanisms: list[dict],
                  verdicts: list[dict], edges: list[dict]) -> dict:
    r"""Everything chapter 5 says, as plain glue values (name -> number or text) in three parts,
    ``generalisation`` (also F9's manifest numbers), ``ablations`` (F10's) and ``map``.

    Parameters
    ----------
    study : dict
        :func:`ddlib.generalisation.generalisation_study` of one global and one DD model (``labels``, in that order),
        each trained on the Fourier band and on white noise.
    noise_errors : dict
        Sample count -> white-noise test error of the global model trained on that many noise samples;
        ``eckart_young`` is the white-noise error of the best operator of its rank.
    ablation_rows : list of dict
        :func:`ddlib.ablations.run_ablations` of :func:`ddlib.ablations.ablation_specs` around ``baseline`` on
        ``problem``.
    regimes, mechanisms, verdicts, edges
        The regime map (:class:`RegimeMap`): the regimes, their :func:`mechanism`, :func:`claim_verdicts` and
        :func:`edge_rows` records, for every optimizer.

    Returns
    -------
    dict
        ``generalisation``: ``<g|d>_<training>_<modes_in|modes_out|set>``, ``d_out_verdict`` the DD model's
        out-of-band modes in words (:func:`ddlib.claims.error_level`), the noise-sample gaps to Eckart-Young;
        ``ablations``: per variant ``abl_<key>_operator_error``, ``_params``, ``_ratio``; ``abl_worse``,
        ``abl_better``, the oracle ratios; ``map``: per optimizer (prefix ``adam_``, ``gd_``, ``tuned_``; the
        tuned protocol's also without a prefix) the regimes where each claim holds, fails, is unclear or is
        ``excluded`` (a class does not learn: which, and why) and their counts, the verdicts resting on a grid edge,
        the components and limits, ``coarse_verdict``, ``dd_trap_regimes`` (regimes whose best DD model is limited by
        the data with a coarse space larger than the data's span), ``lost_why`` and the base regime's span split
        (``base_<cls>_on_span``, ``_off_span``); the edges: ``n_choices``, ``n_on_edge``, ``edge_list``.
    """
    return {"generalisation": _generalisation_glue(study, labels, noise_errors, eckart_young),
            "ablations": _ablation_glue(ablation_rows, problem, baseline),
            "map": _map_glue(regimes, mechanisms, verdicts, edges)}
