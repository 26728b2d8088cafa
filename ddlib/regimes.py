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
  which limit binds each class (:func:`binding_limit`).

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
from .data import TRAINING_KINDS, make_dataset
from .claims import fewer_parameters
from .experiments import Selection, best_within_budget, class_best, summary_table, tuned_comparison
from .models import DDSpec, GlobalSpec, ModelSpec
from .problem import eigenvalues, inverse, solve
from .training import TrainConfig

__all__ = ["Regime", "RegimeResult", "AXES", "ORACLE_FACTOR", "COMPONENT_FACTOR", "regime_axes", "regime_specs",
           "run_regime", "budget_rows", "cheapest_match", "span_split", "oracle_error", "binding_limit",
           "mechanism", "claim_map", "REGIME_KEYS"]

#: The axes of :func:`regime_axes`.
AXES = ("base", "n_fixed_N", "n_fixed_H", "samples", "K", "data", "N", "slice")
#: A trained model within this factor of its class's oracle error is limited by expressiveness.
ORACLE_FACTOR = 2.0
#: An ablation within this factor of the full DD model's error does the work on its own.
COMPONENT_FACTOR = 1.5
#: Keys that identify a regime in every record.
REGIME_KEYS = ("n", "N", "delta", "K", "samples", "data", "axis")


@dataclass(frozen=True)
class Regime:
    """One setting: grid ``n``, ``N`` subdomains with overlap ``delta``, band ``K``, ``samples`` training samples of
    the distribution ``data``; ``axis`` names the axis of :func:`regime_axes` it belongs to."""

    n: int = 255
    N: int = 8
    K: int = 16
    samples: int = 64
    data: str = "fourier"
    delta: int = 1
    axis: str = "base"

    def __post_init__(self):
        for name, low in (("n", 3), ("N", 1), ("K", 1), ("samples", 1), ("delta", 0)):
            object.__setattr__(self, name, check_int(name, getattr(self, name), low=low))
        check_choice("data", self.data, TRAINING_KINDS)
        check_choice("axis", self.axis, AXES)
        if (self.n + 1) % self.N:
            raise ValueError(f"N must divide n + 1 = {self.n + 1}; got N = {self.N}")
        check_int("K", self.K, high=self.n // 2)

    @property
    def m(self) -> int:
        """Nodes per subdomain block, :math:`H/h`."""
        return (self.n + 1) // self.N

    def record(self) -> dict:
        return {k: getattr(self, k) for k in REGIME_KEYS}

    def label(self) -> str:
        return f"n={self.n} N={self.N} K={self.K} S={self.samples} {self.data}"

    def short(self) -> str:
        """What sets this regime apart from the base, for a sentence: ``"n = 4095 (N = 8)"``, ``"S = 16"``, ..."""
        return {"base": "the base regime", "n_fixed_N": f"n = {self.n} (N = {self.N})",
                "n_fixed_H": f"n = {self.n} (H/h = {self.m}, N = {self.N})", "samples": f"S = {self.samples}",
                "K": f"K = {self.K}", "data": f"{self.data} data", "N": f"N = {self.N}",
                "slice": f"{self.data} data with S = {self.samples}"}[self.axis]

    def config(self, base: TrainConfig) -> TrainConfig:
        """``base`` with this regime's grid, band, samples and data (the model is set per spec)."""
        return base.replace(n=self.n, K=self.K, samples=self.samples, data=self.data,
                            model=GlobalSpec(1))


def regime_axes(base: Regime, *, n_values=(), H_over_h: int | None = None, samples_values=(), K_values=(),
                data_values=(), N_values=(), slice_samples=(), slice_data=()) -> list[Regime]:
    """The base regime, one-axis variations around it, and the slice ``slice_samples x slice_data``; a regime that
    equals an earlier one (apart from its axis label) is listed once."""
    out = [base]
    for n in n_values:
        out.append(replace(base, n=n, axis="n_fixed_N"))
        if H_over_h is not None:
            out.append(replace(base, n=n, N=(n + 1) // check_int("H_over_h", H_over_h, low=2), axis="n_fixed_H"))
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


def regime_specs(regime: Regime, global_ranks, local_ranks, mechanism_rank: int) -> list[ModelSpec]:
    """The models of a regime: global ranks (at most ``n``), DD local ranks (at most ``m + 2 delta``), and the two
    mechanism ablations at local rank ``mechanism_rank``: coarse only and local only."""
    L = regime.m + 2 * regime.delta
    specs = [GlobalSpec(r) for r in sorted(set(global_ranks)) if r <= regime.n]
    specs += [DDSpec(regime.N, regime.delta, r) for r in sorted(set(local_ranks)) if r <= L]
    r = min(check_int("mechanism_rank", mechanism_rank, low=1), L)
    if regime.N > 1:
        specs.append(DDSpec(regime.N, regime.delta, r, use_local=False))
    specs.append(DDSpec(regime.N, regime.delta, r, use_coarse=False))
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
    return isinstance(spec, DDSpec) and spec.use_local and spec.use_coarse


def _full_table(result: RegimeResult) -> dict:
    """The table without the mechanism ablations (the classes compared are global and full DD)."""
    keep = np.array([not isinstance(s.spec, DDSpec) or _is_full(s.spec) for s in result.selections])
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


def oracle_error(spec: ModelSpec, n: int) -> float:
    """The best relative operator error of the spec's class and size: Eckart-Young for a global rank, the Schwarz
    oracle (:func:`ddlib.approximation.dd_best_error`) for a full DD model; NaN for the ablations."""
    if isinstance(spec, GlobalSpec):
        return float(global_best_error(n, [spec.rank])[0])
    if _is_full(spec):
        m = (n + 1) // spec.N
        return float(dd_best_error(n, spec.N, [min(spec.local_rank, m - 1)])[0])
    return float("nan")


def span_split(model, f_train: np.ndarray) -> dict:
    r"""Relative operator error on and off the span of the training right-hand sides ``f_train`` (rows).

    Returns ``dim`` (the numerical rank of ``f_train``, tolerance :math:`10^{-10}` relative), ``on_span``
    :math:`= \|EV\|_2\,\lambda_1` and ``off_span`` :math:`= \|E(I-VV^T)\|_2\,\lambda_1` (zero when the span is
    everything), with :math:`E = M - A^{-1}` applied through ``apply_columns`` and the banded solve: :math:`O(n)`
    memory per vector, no dense :math:`n\times n` matrix.
    """
    f = np.asarray(f_train, dtype=np.float64)
    n = f.shape[1]
    U, s, _ = np.linalg.svd(f.T, full_matrices=False)
    V = U[:, s > 1e-10 * s[0]]
    kw = dict(dtype=model.dtype, device=model.device)

    def E(X):
        with torch.no_grad():
            Y = model.apply_columns(torch.as_tensor(np.ascontiguousarray(X), **kw)).double().cpu().numpy()
        return Y - solve(X.T).T

    def ET(X):
        Z = torch.zeros(n, X.shape[1], requires_grad=True, **kw)
        with torch.enable_grad():
            (g,) = torch.autograd.grad(model.apply_columns(Z), Z, grad_outputs=torch.as_tensor(X, **kw))
        return g.double().cpu().numpy() - solve(X.T).T

    lam1 = float(eigenvalues(n, [1])[0])
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
    f_train = make_dataset("train", result.regime.n, result.regime.samples, result.regime.K,
                           result.selections[0].runs[0].config.seed, base.decay, result.regime.data).f
    for cls in ("dd", "global"):
        b = class_best(full, cls, col)
        sel = by_label[b["label"]]
        split = span_split(sel.runs[0].model, f_train)
        oracle = oracle_error(sel.spec, result.regime.n)
        out.update({f"{cls}_label": b["label"], f"{cls}_error": b["value"], f"{cls}_params": b["params"],
                    f"{cls}_oracle": oracle, f"{cls}_on_span": split["on_span"], f"{cls}_off_span": split["off_span"],
                    f"{cls}_limit": binding_limit(sel.runs[0].final["operator_error"], oracle, split["on_span"],
                                                  split["off_span"])})
        out["data_dim"] = split["dim"]
    ablations = {"coarse": None, "local": None}
    for i, s in enumerate(result.selections):
        if isinstance(s.spec, DDSpec) and not _is_full(s.spec):
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


def claim_map(rows: list[dict], matches: list[dict], regimes: list[Regime]) -> dict:
    """Where each claim holds: ``accurate[metric]`` and ``fewer[metric]`` map ``"holds"``, ``"fails"`` and
    ``"unclear"`` to lists of :meth:`Regime.short` texts.

    ``rows`` are :func:`budget_rows` records; claim 2 ("more accurate") is read at the largest budget of each regime
    (the best model of each class): it holds where DD wins with disjoint seed ranges, fails where global does, and is
    unclear where the ranges overlap. ``matches`` are :func:`cheapest_match` records (claim 3)."""
    short = {tuple(r.record()[k] for k in REGIME_KEYS): r.short() for r in regimes}
    key = lambda rec: tuple(rec[k] for k in REGIME_KEYS)  # noqa: E731
    top = {}
    for r in rows:
        k = (key(r), r["metric"])
        if k not in top or r["params_budget"] > top[k]["params_budget"]:
            top[k] = r
    accurate: dict = {}
    for (k, metric), r in top.items():
        verdict = "unclear" if not r["separated"] else ("holds" if r["winner"] == "dd" else "fails")
        accurate.setdefault(metric, {"holds": [], "fails": [], "unclear": []})[verdict].append(short[k])
    fewer: dict = {}
    for m in matches:
        fewer.setdefault(m["metric"], {"holds": [], "fails": []})["holds" if m["holds"] else "fails"].append(
            short[key(m)])
    return {"accurate": accurate, "fewer": fewer}
