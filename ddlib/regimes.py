r"""The regime map: where the paper's claims hold, where they fail, and why.

A :class:`Regime` is one setting of the problem and the data: grid size ``n``, subdomains ``N`` (overlap ``delta``),
band ``K``, training samples, and the training distribution. :func:`regime_axes` varies one axis at a time around a
base regime (``n`` at fixed ``N`` and at fixed :math:`H/h`, the sample count, ``K``, the data kind, ``N``) and adds a
two-dimensional slice (samples :math:`\times` data kind). In every regime the same models are trained under the tuned
protocol of :func:`ddlib.experiments.tuned_comparison` (:func:`run_regime`): global attention of a few ranks, DD
attention of a few local ranks, and two mechanism ablations, *coarse only* and *local only*.

**Verdicts as data.** Everything a sentence of the book says about a regime is a record computed here:

* :func:`budget_rows`: at each parameter budget :math:`P`, the best model of each class with at most :math:`P`
  parameters (:func:`ddlib.experiments.best_within_budget`), per metric, with its seed range; ``winner`` is the class
  with the smaller seed mean and ``separated`` says whether the two seed ranges are disjoint;
* :func:`cheapest_match`: the claim "fewer parameters" (:func:`ddlib.claims.fewer_parameters`): the cheapest DD
  model at least as accurate as the best global model, and the parameter ratio;
* :func:`mechanism`: which DD component does the work (coarse only and local only against the full model) and
  which limit binds each class (:func:`binding_limit`);
* :func:`speed_row`: the claim "trains faster": epochs and seconds each class needs to reach a common target of the
  in-distribution error (:func:`in_distribution_metric`);
* :func:`claim_verdicts`: the paper's three claims in one regime, one record per claim and metric, each with
  ``holds`` and the numbers behind it.

**Two dimensions.** A regime with ``dim = 2`` is the 2D problem (:mod:`ddlib.problem2d`): ``n = m^2`` unknowns, ``N x
N`` boxes, the square band of ``K``, the DD class :class:`ddlib.models.DD2DSpec`; its oracles are the 2D ones
(:func:`ddlib.approximation2d.global_best_error_2d` and the truncated Schwarz oracle
:func:`ddlib.approximation2d.dd_oracle_error_2d`, an upper bound on the best DD operator of that rank). Its records
have the same keys as in 1D.

**Which limit binds** (:func:`binding_limit`). With :math:`E = M_\theta^{-1} - A^{-1}` and :math:`V` an orthonormal
basis of the span of the training right-hand sides (dimension :math:`d \le \min(S, n)`; :math:`d = \min(S, K)` for a
band of :math:`K` modes), :func:`span_split` measures the error on the data's span, :math:`\|EV\|_2`, and off it,
:math:`\|E(I - VV^T)\|_2` (both relative to :math:`\|A^{-1}\|_2`). A trained model is limited by

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

from ._validate import check_choice, check_int, check_positive
from .approximation import dd_best_error, global_best_error
from .approximation2d import dd_oracle_error_2d, global_best_error_2d
from .data import TRAINING_KINDS, make_dataset
from .claims import fewer_parameters
from .data2d import make_dataset_2d
from .decomposition2d import Decomposition2D
from .experiments import Selection, best_within_budget, class_best, summary_table, tuned_comparison
from .models import DD2DSpec, DDSpec, GlobalSpec, ModelSpec, grid_side
from .problem import eigenvalues, solve
from .problem2d import eigenvalues_2d, solve_2d
from .training import TrainConfig, time_to_target

__all__ = ["Regime", "RegimeResult", "AXES", "ORACLE_FACTOR", "COMPONENT_FACTOR", "regime_axes", "regime_specs",
           "run_regime", "budget_rows", "cheapest_match", "span_split", "oracle_error", "binding_limit",
           "mechanism", "claim_map", "REGIME_KEYS", "IN_DISTRIBUTION", "in_distribution_metric", "speed_row",
           "claim_verdicts", "CLAIMS", "VERDICT_KEYS", "is_ablation", "LEARNED_FRACTION", "tally_verdicts"]

#: The axes of :func:`regime_axes`.
AXES = ("base", "n_fixed_N", "n_fixed_H", "samples", "K", "data", "N", "slice")
#: A trained model within this factor of its class's oracle error is limited by expressiveness.
ORACLE_FACTOR = 2.0
#: An ablation within this factor of the full DD model's error does the work on its own.
COMPONENT_FACTOR = 1.5
#: Keys that identify a regime in every record.
REGIME_KEYS = ("n", "N", "delta", "K", "samples", "data", "axis")
#: The test set drawn from each training distribution (the "in-distribution" error of :func:`speed_row`).
IN_DISTRIBUTION = {"fourier": "error_in_band", "noise": "error_noise", "smooth": "error_validation"}
#: A class whose error never falls below this fraction of the initial error has not trained (:func:`speed_row`).
LEARNED_FRACTION = 0.5
#: The claims of :func:`claim_verdicts`, in the paper's order.
CLAIMS = ("trains faster (epochs)", "trains faster (seconds)", "more accurate", "fewer parameters")
#: Keys of every :func:`claim_verdicts` record (after :data:`REGIME_KEYS`).
VERDICT_KEYS = ("claim", "metric", "holds", "separated", "global_label", "global_params", "global_value",
                "dd_label", "dd_params", "dd_value", "ratio", "target")


@dataclass(frozen=True)
class Regime:
    """One setting: grid ``n``, ``N`` subdomains with overlap ``delta``, band ``K``, ``samples`` training samples of
    the distribution ``data``; ``axis`` names the axis of :func:`regime_axes` it belongs to; ``dim`` the problem
    dimension (2: ``n = m^2`` unknowns on the square, ``N x N`` boxes, ``K <= m // 2``)."""

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
        check_choice("data", self.data, TRAINING_KINDS)
        check_choice("axis", self.axis, AXES)
        side = grid_side(self.n, self.dim)
        if (side + 1) % self.N:
            name = "n" if self.dim == 1 else "m"
            raise ValueError(f"N must divide {name} + 1 = {side + 1}; got N = {self.N}")
        if self.dim == 2:
            Decomposition2D(side, self.N, self.delta)  # N and delta fit the boxes
        check_int("K", self.K, low=1, high=side // 2)

    @property
    def side(self) -> int:
        """Nodes per direction: ``n`` in 1D, ``m`` (``n = m^2``) in 2D."""
        return grid_side(self.n, self.dim)

    @property
    def m(self) -> int:
        """Nodes per subdomain block per direction, :math:`H/h`."""
        return (self.side + 1) // self.N

    def record(self) -> dict:
        return {k: getattr(self, k) for k in REGIME_KEYS}

    def label(self) -> str:
        size = f"n={self.n}" if self.dim == 1 else f"m={self.side}"
        return f"{size} N={self.N} K={self.K} S={self.samples} {self.data}"

    def short(self) -> str:
        """What sets this regime apart from the base, for a sentence: ``"n = 4095 (N = 8)"``, ``"S = 16"``, ..."""
        return {"base": "the base regime", "n_fixed_N": f"n = {self.n} (N = {self.N})",
                "n_fixed_H": f"n = {self.n} (H/h = {self.m}, N = {self.N})", "samples": f"S = {self.samples}",
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
            N = (grid_side(n, base.dim) + 1) // check_int("H_over_h", H_over_h, low=2)
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
    r"""The models of a regime: global ranks (at most ``n``), DD local ranks (at most the largest subdomain,
    ``m + 2 delta`` nodes in 1D, :math:`(m + 2\delta)^2` in 2D), and the two mechanism ablations at local rank
    ``mechanism_rank`` (None: none): coarse only and local only. ``dd_options`` go to every DD spec
    (:class:`~ddlib.models.DDSpec` in 1D, :class:`~ddlib.models.DD2DSpec` in 2D)."""
    if regime.dim == 1:
        cls, L = DDSpec, regime.m + 2 * regime.delta
    else:
        cls, L = DD2DSpec, Decomposition2D(regime.side, regime.N, regime.delta).n_max
    specs = [GlobalSpec(r) for r in sorted(set(global_ranks)) if r <= regime.n]
    specs += [cls(regime.N, regime.delta, r, **dd_options) for r in sorted(set(local_ranks)) if r <= L]
    if mechanism_rank is None:
        return specs
    r = min(check_int("mechanism_rank", mechanism_rank, low=1), L)
    if regime.N > 1:
        specs.append(cls(regime.N, regime.delta, r, use_local=False, **dd_options))
    specs.append(cls(regime.N, regime.delta, r, use_coarse=False, **dd_options))
    return specs


@dataclass
class RegimeResult:
    """A regime after training: its selections and :func:`ddlib.experiments.summary_table`."""

    regime: Regime
    selections: list[Selection]
    table: dict


def run_regime(regime: Regime, base: TrainConfig, specs, grid: dict, seeds, *, scheduler=None,
               workers=None) -> RegimeResult:
    """Train every spec in the regime under the tuned protocol (cached; local processes or a dask cluster)."""
    sels = tuned_comparison(specs, regime.config(base), grid, seeds, scheduler=scheduler, workers=workers)
    return RegimeResult(regime, sels, summary_table(sels))


def _is_full(spec) -> bool:
    return isinstance(spec, (DDSpec, DD2DSpec)) and spec.use_local and spec.use_coarse


def is_ablation(spec) -> bool:
    """True for a DD mechanism ablation (coarse only or local only), which no class verdict counts."""
    return isinstance(spec, (DDSpec, DD2DSpec)) and not _is_full(spec)


def _full_table(result: RegimeResult) -> dict:
    """The table without the mechanism ablations (the classes compared are global and full DD)."""
    keep = np.array([not is_ablation(s.spec) for s in result.selections])
    return {k: np.asarray(v)[keep] for k, v in result.table.items()}


def budget_rows(result: RegimeResult, budgets, metrics) -> list[dict]:
    """One record per budget and metric (see the module docstring), keys :data:`REGIME_KEYS` plus
    ``params_budget``, ``metric``, ``best_global``, ``best_global_label``, ``best_global_params``,
    ``best_global_min/_max``, the same for ``best_dd``, ``seeds``, ``winner`` and ``separated``."""
    table = _full_table(result)
    rows = []
    for P in budgets:
        P = check_positive("budgets[i]", P)
        for metric in metrics:
            row = {**result.regime.record(), "params_budget": int(P), "metric": metric,
                   "seeds": int(np.min(table["seeds"]))}
            for fam in ("global", "dd"):
                b = best_within_budget(table, fam, f"{metric}_mean", P)
                i = None if b is None else b["index"]
                row[f"best_{fam}"] = np.nan if i is None else float(table[f"{metric}_mean"][i])
                row[f"best_{fam}_label"] = "" if i is None else str(table["label"][i])
                row[f"best_{fam}_params"] = 0 if i is None else int(table["params"][i])
                row[f"best_{fam}_min"] = np.nan if i is None else float(table[f"{metric}_min"][i])
                row[f"best_{fam}_max"] = np.nan if i is None else float(table[f"{metric}_max"][i])
            rows.append(_decide(row))
    return rows


def _decide(row: dict) -> dict:
    g, d = row["best_global"], row["best_dd"]
    if np.isnan(g) or np.isnan(d):
        row["winner"] = "dd" if np.isnan(g) and not np.isnan(d) else ("global" if not np.isnan(g) else "none")
        row["separated"] = False
    else:
        row["winner"] = "dd" if d < g else "global"
        row["separated"] = bool(row["best_dd_max"] < row["best_global_min"] or
                                row["best_global_max"] < row["best_dd_min"])
    return row


def cheapest_match(result: RegimeResult, metric: str) -> dict:
    """The claim "fewer parameters" in one regime (:func:`ddlib.claims.fewer_parameters` on the global and full DD
    models), with the regime's keys."""
    return {**result.regime.record(), **fewer_parameters(_full_table(result), metric)}


def oracle_error(spec: ModelSpec, n: int, dim: int = 1) -> float:
    """The best relative operator error of the spec's class and size: Eckart-Young for a global rank, the Schwarz
    oracle (:func:`ddlib.approximation.dd_best_error`) for a full DD model; NaN for the ablations. In 2D
    (``dim = 2``) the Eckart-Young error of the square's Laplacian and the truncated Schwarz oracle of
    :func:`ddlib.approximation2d.dd_oracle_error_2d` (an upper bound on the class's best at that rank)."""
    side = grid_side(n, dim)
    if isinstance(spec, GlobalSpec):
        return float((global_best_error if dim == 1 else global_best_error_2d)(side, [spec.rank])[0])
    if _is_full(spec) and dim == 1:
        m = (n + 1) // spec.N
        return float(dd_best_error(n, spec.N, [min(spec.local_rank, m - 1)])[0])
    if _is_full(spec):
        return dd_oracle_error_2d(side, spec.N, spec.delta, spec.local_rank, spec.coarse_rank, coarse=spec.coarse,
                                  partition=spec.partition, per_box=spec.per_box)
    return float("nan")


def span_split(model, f_train: np.ndarray, dim: int = 1) -> dict:
    r"""Relative operator error on and off the span of the training right-hand sides ``f_train`` (rows).

    Returns ``dim`` (the numerical rank of ``f_train``, tolerance :math:`10^{-10}` relative), ``on_span``
    :math:`= \|EV\|_2\,\lambda_1` and ``off_span`` :math:`= \|E(I-VV^T)\|_2\,\lambda_1` (zero when the span is
    everything), with :math:`E = M - A^{-1}` applied through ``apply_columns`` and the banded solve: :math:`O(n)`
    memory per vector, no dense :math:`n\times n` matrix. In 2D (``dim = 2``) the solve is the DST solve of
    :func:`ddlib.problem2d.solve_2d` and :math:`\lambda_1 = \lambda_{11}`.
    """
    f = np.asarray(f_train, dtype=np.float64)
    n = f.shape[1]
    side = grid_side(n, dim)
    solve_rows = solve if dim == 1 else solve_2d
    U, s, _ = np.linalg.svd(f.T, full_matrices=False)
    V = U[:, s > 1e-10 * s[0]]
    kw = dict(dtype=model.dtype, device=model.device)

    def E(X):
        with torch.no_grad():
            Y = model.apply_columns(torch.as_tensor(np.ascontiguousarray(X), **kw)).double().cpu().numpy()
        return Y - solve_rows(X.T).T

    def ET(X):
        Z = torch.zeros(n, X.shape[1], requires_grad=True, **kw)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(model.apply_columns(Z), Z, grad_outputs=torch.as_tensor(X, **kw))
        return g.double().cpu().numpy() - solve_rows(X.T).T

    lam1 = float(eigenvalues(n, [1])[0]) if dim == 1 else float(eigenvalues_2d(side, 1, 1))
    on = float(np.linalg.norm(E(V), 2)) * lam1
    off = 0.0
    if V.shape[1] < n:
        P = lambda X: X - V @ (V.T @ X)  # noqa: E731
        op = LinearOperator((n, n), matvec=lambda x: E(P(x.reshape(n, 1)))[:, 0],
                            rmatvec=lambda y: P(ET(y.reshape(n, 1)))[:, 0],
                            matmat=lambda X: E(P(X)), rmatmat=lambda Y: P(ET(Y)), dtype=np.float64)
        off = float(svds(op, k=1, return_singular_vectors=False, tol=1e-8, v0=np.ones(n),
                         random_state=0)[0]) * lam1
    return {"dim": int(V.shape[1]), "on_span": on, "off_span": off}


def binding_limit(operator_error: float, oracle: float, on_span: float, off_span: float) -> str:
    """``"expressiveness"`` if the operator error is within :data:`ORACLE_FACTOR` of the oracle; else ``"data"`` if
    the error off the data's span is at least :data:`ORACLE_FACTOR` times the error on it; else ``"optimisation"``."""
    if np.isfinite(oracle) and operator_error <= ORACLE_FACTOR * oracle:
        return "expressiveness"
    if off_span >= ORACLE_FACTOR * on_span:
        return "data"
    return "optimisation"


def mechanism(result: RegimeResult, base: TrainConfig) -> dict:
    """Which DD component does the work and which limit binds each class, by operator error (seed means).

    Returns the regime keys plus ``dd_label``, ``dd_error`` (the best full DD model), ``coarse_only_error``,
    ``local_only_error``, ``component`` (``"coarse level"`` if coarse only is within :data:`COMPONENT_FACTOR` of the
    full model, else ``"local blocks"`` if local only is, else ``"both levels"``), and per class (``dd`` and
    ``global``, each its best model): ``<cls>_oracle``, ``<cls>_on_span``, ``<cls>_off_span``, ``<cls>_limit``;
    ``data_dim`` is the dimension of the training data's span (first seed).
    """
    t = result.table
    col = "operator_error_mean"
    by_label = {s.label: s for s in result.selections}
    full = _full_table(result)
    out = {**result.regime.record()}
    reg = result.regime
    make, size = (make_dataset, reg.n) if reg.dim == 1 else (make_dataset_2d, reg.side)
    f_train = make("train", size, reg.samples, reg.K, result.selections[0].runs[0].config.seed, base.decay,
                   reg.data).f
    for cls in ("dd", "global"):
        b = class_best(full, cls, col)
        sel = by_label[b["label"]]
        split = span_split(sel.runs[0].model, f_train, reg.dim)
        oracle = oracle_error(sel.spec, reg.n, reg.dim)
        out.update({f"{cls}_label": b["label"], f"{cls}_error": b["value"], f"{cls}_params": b["params"],
                    f"{cls}_oracle": oracle, f"{cls}_on_span": split["on_span"], f"{cls}_off_span": split["off_span"],
                    f"{cls}_limit": binding_limit(sel.runs[0].final["operator_error"], oracle, split["on_span"],
                                                  split["off_span"])})
        out["data_dim"] = split["dim"]
    ablations = {"coarse": None, "local": None}
    for i, s in enumerate(result.selections):
        if is_ablation(s.spec):
            ablations["coarse" if not s.spec.use_local else "local"] = float(t[col][i])
    out["coarse_only_error"] = np.nan if ablations["coarse"] is None else ablations["coarse"]
    out["local_only_error"] = np.nan if ablations["local"] is None else ablations["local"]
    full_err = out["dd_error"]
    if out["coarse_only_error"] <= COMPONENT_FACTOR * full_err:
        out["component"] = "coarse level"
    elif out["local_only_error"] <= COMPONENT_FACTOR * full_err:
        out["component"] = "local blocks"
    else:
        out["component"] = "both levels"
    return out


def claim_map(records: list[dict], regimes: list[Regime]) -> dict:
    """Where each claim holds, as lists of :meth:`Regime.short` texts, from :func:`claim_verdicts` records.

    ``faster[unit]`` (``"epochs"``, ``"seconds"``) and ``fewer[metric]`` map ``"holds"`` and ``"fails"`` to regimes;
    ``accurate[metric]`` maps ``"holds"`` (DD more accurate, seed ranges disjoint), ``"fails"`` (global more
    accurate, disjoint) and ``"unclear"`` (the seed ranges overlap)."""
    short = {tuple(r.record()[k] for k in REGIME_KEYS): r.short() for r in regimes}
    out: dict = {"faster": {}, "accurate": {}, "fewer": {}}
    for rec in records:
        name = short[tuple(rec[k] for k in REGIME_KEYS)]
        if rec["claim"].startswith("trains faster"):
            group, key = out["faster"], rec["claim"][len("trains faster ("):-1]
            verdict = "holds" if rec["holds"] else "fails"
        elif rec["claim"] == "more accurate":
            group, key = out["accurate"], rec["metric"]
            verdict = "unclear" if not rec["separated"] else ("holds" if rec["holds"] else "fails")
        else:
            group, key = out["fewer"], rec["metric"]
            verdict = "holds" if rec["holds"] else "fails"
        group.setdefault(key, {"holds": [], "fails": [], "unclear": []})[verdict].append(name)
    return out


def in_distribution_metric(data: str) -> str:
    """The history key of the test error on the training distribution ``data`` (:data:`IN_DISTRIBUTION`): the
    in-band set for Fourier data, the white-noise set for noise data, the validation set for the smooth field (which
    has no test set of its own)."""
    return IN_DISTRIBUTION[check_choice("data", data, TRAINING_KINDS)]


def _mean_time(sel: Selection, target: float, metric: str) -> tuple[float, float]:
    """Seed means of epochs and seconds to ``target`` (:func:`ddlib.training.time_to_target`); NaN if a seed misses."""
    tt = np.array([time_to_target(r, target, metric) for r in sel.runs])
    return (float(tt[:, 0].mean()), float(tt[:, 1].mean())) if np.isfinite(tt).all() else (np.nan, np.nan)


def speed_row(result: RegimeResult, metric: str | None = None, target: float | None = None) -> dict:
    r"""The claim "trains faster" in one regime: epochs and seconds each class needs to reach a target.

    ``metric`` defaults to the in-distribution error (:func:`in_distribution_metric`). With
    :math:`\tau_c = \min_{j\in c}\max_s e_{js}` the accuracy class :math:`c` (global, full DD) reaches on every seed
    (models :math:`j`, seeds :math:`s`, final errors), the default ``target`` is the **common** level
    :math:`\tau = \max_c\tau_c`, which at least one model of each class reaches on every seed. A class that never
    gets below :data:`LEARNED_FRACTION` times the initial error :math:`e_0` (the smallest over models and seeds) has not
    trained on this metric; then the target is the **better** class's level :math:`\min_c\tau_c`, which the other
    class never reaches (``target_kind`` says which rule applied). Per class the fastest model counts
    (:math:`\min_j` of the seed-mean epochs, and separately of the seconds, to :math:`\tau`, log-linear interpolation
    between evaluation points; NaN: never reached on some seed). Returns the regime keys plus ``metric``, ``target``,
    ``target_kind``, and for ``<c>`` in ``global``, ``dd``: ``<c>_epochs``, ``<c>_epochs_label``, ``<c>_seconds``,
    ``<c>_seconds_label``; the ratios ``epochs_ratio`` and ``seconds_ratio`` (global over DD: above 1 means DD is
    faster; infinite when only DD reaches the target).
    """
    metric = in_distribution_metric(result.regime.data) if metric is None else metric
    sels = {fam: [s for s in result.selections if s.family == fam and not is_ablation(s.spec)]
            for fam in ("global", "dd")}
    if not sels["global"] or not sels["dd"]:
        raise ValueError("result must hold at least one global and one full DD model")
    kind = "given"
    if target is None:
        levels = [min(float(s.final(metric).max()) for s in group) for group in sels.values()]
        e0 = min(float(r.curve(metric)[0]) for group in sels.values() for s in group for r in s.runs)
        kind = "common" if max(levels) <= LEARNED_FRACTION * e0 else "better"
        target = max(levels) if kind == "common" else min(levels)
    target = check_positive("target", target)
    out = {**result.regime.record(), "metric": metric, "target": target, "target_kind": kind}
    for fam, group in sels.items():
        times = [_mean_time(s, target, metric) for s in group]
        for j, unit in enumerate(("epochs", "seconds")):
            values = np.array([t[j] for t in times])
            ok = np.flatnonzero(np.isfinite(values))
            best = int(ok[np.argmin(values[ok])]) if ok.size else None
            out[f"{fam}_{unit}"] = np.nan if best is None else float(values[best])
            out[f"{fam}_{unit}_label"] = "" if best is None else group[best].label
    for unit in ("epochs", "seconds"):
        g, d = out[f"global_{unit}"], out[f"dd_{unit}"]
        out[f"{unit}_ratio"] = g / d if d > 0 else (np.nan if g == 0 or np.isnan(g) else np.inf)
    return out


def _verdict(regime: dict, claim: str, metric: str, holds: bool, separated, g: tuple, d: tuple, ratio: float,
             target: float = np.nan) -> dict:
    return {**regime, "claim": claim, "metric": metric, "holds": bool(holds), "separated": separated,
            "global_label": g[0], "global_params": int(g[1]), "global_value": float(g[2]),
            "dd_label": d[0], "dd_params": int(d[1]), "dd_value": float(d[2]), "ratio": float(ratio),
            "target": float(target)}


def claim_verdicts(result: RegimeResult, metrics=("operator_error",), speed_metric: str | None = None) -> list[dict]:
    r"""The paper's three claims in one regime, as records with the keys :data:`REGIME_KEYS` + :data:`VERDICT_KEYS`.

    ``"trains faster (epochs)"``, ``"trains faster (seconds)"``
        :func:`speed_row` (``speed_metric``, default in-distribution): ``holds`` if the fastest DD model reaches the
        common target in fewer epochs (seconds) than the fastest global one; ``*_value`` are those epochs (seconds),
        ``ratio`` global over DD; a class that never reaches the target counts as infinitely slow.
    ``"more accurate"``, per metric in ``metrics`` plus the in-distribution error
        the best model of each class (seed means, :func:`ddlib.experiments.class_best`); ``holds`` if the DD value is
        smaller; ``separated`` if the seed ranges of the two are disjoint; ``ratio`` global over DD.
    ``"fewer parameters"``, per metric
        :func:`cheapest_match`: ``holds`` if some full DD model with fewer parameters than the most accurate global
        model is at least as accurate; ``dd_*`` describe the cheapest such model (empty label and NaN value if none),
        ``ratio`` is the parameter ratio.
    """
    reg = result.regime.record()
    sp = speed_row(result, speed_metric)
    params = {str(lab): int(P) for lab, P in zip(result.table["label"], result.table["params"])}
    out = []
    for unit in ("epochs", "seconds"):
        g, d = sp[f"global_{unit}"], sp[f"dd_{unit}"]
        holds = np.isfinite(d) and (np.isnan(g) or d < g)
        gl, dl = sp[f"global_{unit}_label"], sp[f"dd_{unit}_label"]
        out.append(_verdict(reg, f"trains faster ({unit})", sp["metric"], holds, None, (gl, params.get(gl, 0), g),
                            (dl, params.get(dl, 0), d), sp[f"{unit}_ratio"], sp["target"]))
    table = _full_table(result)
    every = list(dict.fromkeys([in_distribution_metric(result.regime.data), *metrics]))
    for metric in every:
        row = budget_rows(result, [float(np.max(table["params"]))], [metric])[0]
        g = (row["best_global_label"], row["best_global_params"], row["best_global"])
        d = (row["best_dd_label"], row["best_dd_params"], row["best_dd"])
        out.append(_verdict(reg, "more accurate", metric, row["winner"] == "dd", row["separated"], g, d,
                            row["best_global"] / row["best_dd"]))
    for metric in every:
        c = cheapest_match(result, metric)
        out.append(_verdict(reg, "fewer parameters", metric, bool(c["dd_label"]), None,
                            (c["global_label"], c["global_params"], c["global_value"]),
                            (c["dd_label"], c["dd_params"], c["dd_value"]), c["ratio"]))
    return out



def tally_verdicts(records: list[dict]) -> list[dict]:
    """Count the :func:`claim_verdicts` records of many regimes per ``(claim, metric)``, in order of appearance.

    The in-distribution error of each regime (:func:`in_distribution_metric` of its ``data``) is counted under the
    metric name ``"in_distribution"``, so regimes with different training data share one count. Returns one dict per
    pair: ``claim``, ``metric``, ``holds`` (regimes where the claim holds), ``regimes`` (all of them), ``separated``
    (how many of the holding ones have disjoint seed ranges; "more accurate" only, else 0), ``failing`` (the
    :data:`REGIME_KEYS` records of the regimes where it fails).
    """
    if not records:
        raise ValueError("records must hold at least one claim_verdicts record")
    out: dict = {}
    for r in records:
        metric = "in_distribution" if r["metric"] == in_distribution_metric(r["data"]) else r["metric"]
        t = out.setdefault((r["claim"], metric), {"claim": r["claim"], "metric": metric, "holds": 0,
                                                  "regimes": 0, "separated": 0, "failing": []})
        t["regimes"] += 1
        if r["holds"]:
            t["holds"] += 1
            t["separated"] += bool(r["separated"])
        else:
            t["failing"].append({k: r[k] for k in REGIME_KEYS})
    return list(out.values())
