r"""The implicit bias of the optimizer: what training leaves off the span of the training inputs.

**The span property.** Let :math:`M = w\,QK^T` (:class:`ddlib.attention.GlobalAttention`) and let the loss depend on
:math:`K` only through the outputs on the training inputs :math:`F = [f_1, \dots, f_S]`,
:math:`L = \ell(w\,QK^TF)` (e.g. :math:`\sum_s c_s\|Mf_s - u_s\|^2`, any weights :math:`c_s`). With
:math:`G = \partial\ell/\partial(MF)`,

.. math::  \nabla_K L = w\,F\,G^TQ,

whose columns lie in :math:`\mathcal F = \operatorname{span}(F)`. An optimizer whose update is a linear combination of
past gradients (gradient descent with any step sizes, heavy-ball momentum, L-BFGS: its direction
:math:`-H_kg_k` is built from :math:`g_k` and past steps and gradient differences, all in :math:`\mathcal F`) keeps
:math:`K_t - K_0 \in \mathcal F^r`, so with :math:`P_\perp` the orthogonal projector off :math:`\mathcal F`,

.. math::  P_\perp K_t = P_\perp K_0, \qquad M_tP_\perp = w\,Q_t K_0^TP_\perp,\qquad
           \|M_tP_\perp\|_2 \le w\,\|Q_t\|_2\,\|P_\perp K_0\|_2 .

Off the span the trained operator is what the *initial* :math:`K` makes it: proportional to the initial scale
:math:`s` (:math:`K_0 \sim \mathcal N(0, s^2)`), whatever :math:`Q_t` the fit needs. Adam divides every coordinate of
the update by its own running gradient size; that map is not a linear combination of gradients (not equivariant
under rotations of the input space), and moves :math:`K` off :math:`\mathcal F` by an amount set by the learning
rate, not by :math:`s`. In-band validation data lie (nearly) in :math:`\mathcal F` and cannot see the difference.

**Measures** (:func:`bias_measures`): the **off-span fraction** :math:`\|MP_\perp\|_2/\|M\|_2` of a trained model
(:func:`off_span_fraction`) and, for the global model, the **span drift**
:math:`\|P_\perp(K_t - K_0)\|_F/\|K_t - K_0\|_F` (:func:`span_drift`): zero to rounding for gradient descent.

**References per class** (:func:`references`): the **minimum-norm operator on the span**
(:func:`min_norm_operator`: :math:`M_+ = UF^+`, zero off :math:`\mathcal F`; for a global rank :math:`r` the
minimum-norm rank-:math:`r` least-squares fit :math:`\Pi_rUF^+`) and the **class's oracle**
(:func:`ddlib.experiments.oracle_error`: Eckart-Young for global attention, the truncated Schwarz oracle for DD). For
exact data :math:`U = A^{-1}F`, so :math:`M_+ = A^{-1}P_{\mathcal F}` and its operator error
:math:`\|A^{-1}P_\perp\|_2/\|A^{-1}\|_2` is what the data leave undetermined: for the band of the first :math:`K`
sine modes it is :math:`\lambda_1/\lambda_{K+1}`, the Eckart-Young error of rank :math:`K`; for :math:`S \ll n`
white-noise samples it is close to 1.

**The study** (:func:`optimizer_study`, :func:`optimizer_rows`, :func:`init_scale_study`) trains each model under each
optimizer with the tuned protocol (:func:`ddlib.experiments.tuned_comparison`, one learning-rate range per optimizer,
the same budget) in each regime; :func:`report_optimizers` turns it into the records and phrases chapter
{ref}`ch-optimizer` glues, with the verdict rules of :mod:`ddlib.claims`.

Examples
--------
>>> import numpy as np
>>> from ddlib.problem import Problem
>>> P = Problem(63)
>>> F = P.eigenvectors([1, 2, 3, 4])                              # n x 4: the band of the first four modes
>>> M = min_norm_operator(F, P.inverse() @ F)                    # A^{-1} on the first four modes, zero off them
>>> lam = P.eigenvalues()
>>> bool(abs(np.linalg.norm(M - P.inverse(), 2) / np.linalg.norm(P.inverse(), 2) - lam[0] / lam[4]) < 1e-10)
True
>>> off_span_fraction(M, F) < 1e-12
True
"""
from __future__ import annotations

import numpy as np
import torch

from . import claims
from ._validate import check_choice, check_int, check_positive
from .approximation import global_best_error
from .attention import operator_error
from .data import make_dataset
from .experiments import (Selection, oracle_error, step_time, summarize, summary_table, time_to_target_curve,
                          tuned_comparison)
from .sweep import run_sweep
from .training import OPTIMIZER_NAMES, OPTIMIZERS, TrainConfig, TrainResult

__all__ = ["SPAN_RTOL", "OPTIMIZER_NAMES", "ROW_KEYS", "span_basis", "off_span_fraction", "span_drift",
           "min_norm_operator", "training_inputs", "bias_measures", "references", "optimizer_grid", "optimizer_study",
           "optimizer_rows", "edge_text", "init_scale_study", "optimizer_race", "report_optimizers", "verdict_rows"]

#: Singular values of ``F`` below this fraction of the largest do not count towards its span.
SPAN_RTOL = 1e-10


def span_basis(F, rtol: float = SPAN_RTOL) -> np.ndarray:
    r"""An orthonormal basis :math:`V` (``n x s``) of the column span of ``F`` (``n x S``): the left singular vectors
    whose singular values exceed ``rtol`` times the largest."""
    F = np.asarray(F, dtype=np.float64)
    if F.ndim != 2 or F.shape[1] < 1:
        raise ValueError(f"F must be a matrix (n, samples) with at least one column; got shape {F.shape}")
    W, s, _ = np.linalg.svd(F, full_matrices=False)
    return W[:, s > rtol * s[0]] if s[0] > 0 else W[:, :0]


def _dense(M) -> np.ndarray:
    if hasattr(M, "dense"):
        M = M.dense()
    return M.detach().cpu().double().numpy() if isinstance(M, torch.Tensor) else np.asarray(M, dtype=np.float64)


def off_span_fraction(M, F) -> float:
    r"""The off-span fraction :math:`\|MP_\perp\|_2/\|M\|_2` of an operator ``M`` (an ``n x n`` matrix or a model
    with ``dense()``), :math:`P_\perp = I - VV^T` with :math:`V` = :func:`span_basis` of the training inputs ``F``
    (columns). 0 when the span is everything, NaN for :math:`M = 0`."""
    M = _dense(M)
    V = span_basis(F)
    if M.ndim != 2 or M.shape[1] != V.shape[0]:
        raise ValueError(f"M must be a square matrix matching F's {V.shape[0]} rows; got shape {M.shape}")
    norm = np.linalg.norm(M, 2)
    if norm == 0:
        return float("nan")
    return float(np.linalg.norm(M - (M @ V) @ V.T, 2) / norm)


def span_drift(K0, K, F) -> float:
    r"""How far training moved a key factor off the span: :math:`\|P_\perp(K - K_0)\|_F/\|K - K_0\|_F` (``K0``,
    ``K``: ``n x r``; ``F``: the training inputs as columns). 0 to rounding for gradient descent, heavy ball and L-BFGS
    (module docstring); NaN when ``K`` did not move."""
    D = np.asarray(K, dtype=np.float64) - np.asarray(K0, dtype=np.float64)
    V = span_basis(F)
    if D.ndim != 2 or D.shape[0] != V.shape[0]:
        raise ValueError(f"K and K0 must have shape (n, r) with n = {V.shape[0]}; got {D.shape}")
    total = np.linalg.norm(D)
    return float(np.linalg.norm(D - V @ (V.T @ D)) / total) if total > 0 else float("nan")


def min_norm_operator(F, U, rank: int | None = None) -> np.ndarray:
    r"""The minimum-norm operator that fits the data: :math:`M_+ = UF^+` (the least-squares fit of :math:`MF = U` of
    least Frobenius norm, zero off the span of ``F``), or with ``rank`` the minimum-norm rank-``rank`` least-squares
    fit :math:`\Pi_r UF^+` (reduced-rank regression), :math:`\Pi_r` the projector onto the first ``rank`` left
    singular vectors of the fitted values :math:`UF^+F`. ``F``, ``U``: ``n x S`` (columns are samples)."""
    F, U = np.asarray(F, dtype=np.float64), np.asarray(U, dtype=np.float64)
    if F.ndim != 2 or F.shape != U.shape:
        raise ValueError(f"F and U must be matrices of the same shape (n, samples); got {F.shape} and {U.shape}")
    M = U @ np.linalg.pinv(F, rcond=SPAN_RTOL)
    if rank is None:
        return M
    rank = check_int("rank", rank, low=1, high=F.shape[0])
    W = np.linalg.svd(M @ F, full_matrices=False)[0][:, :rank]
    return W @ (W.T @ M)


def training_inputs(config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """The training set of a run as columns ``(F, U)`` (``n x samples``): the draw :func:`ddlib.training.train`
    trains on."""
    if not isinstance(config, TrainConfig):
        raise ValueError(f"config must be a ddlib.training.TrainConfig; got {type(config).__name__}")
    d = make_dataset("train", config.problem, config.samples, config.K, config.seed, config.decay, config.data)
    return np.ascontiguousarray(d.f.T), np.ascontiguousarray(d.u.T)


def bias_measures(result: TrainResult) -> dict:
    """``off_span_fraction`` of a trained run's operator on its own training inputs and, for a global model,
    ``span_drift`` of its key factor from the initial one (the run's configuration rebuilds it: same seed, same
    scale); NaN for other models."""
    F, _ = training_inputs(result.config)
    drift = float("nan")
    if result.config.model.family == "global":
        K0 = result.config.build_model().K.detach().numpy()
        drift = span_drift(K0, result.model.K.detach().cpu().double().numpy(), F)
    return {"off_span_fraction": off_span_fraction(result.model, F), "span_drift": drift}


def references(spec, config: TrainConfig) -> dict:
    r"""The references of a model class on a run's training data: ``min_norm`` (operator error of
    :func:`min_norm_operator`, of the spec's rank for a global spec, unconstrained otherwise), ``undetermined``
    (:math:`\|A^{-1}P_\perp\|_2/\|A^{-1}\|_2`, what the data leave open) and ``oracle``
    (:func:`ddlib.experiments.oracle_error` of the spec)."""
    F, U = training_inputs(config)
    problem = config.problem
    rank = getattr(spec, "rank", None) if spec.family == "global" else None
    return {"min_norm": operator_error(min_norm_operator(F, U, rank), problem),
            "undetermined": off_span_fraction(problem.inverse(), F), "oracle": oracle_error(spec, problem)}


# ------------------------------------------------------------------------------------------------ the study
#: The columns of a row of :func:`optimizer_rows` (the manifest's ``numbers.optimizers``).
ROW_KEYS = ("regime", "regime_label", "model", "family", "optimizer", "lr", "init_scale", "schedule",
            "validation_mean", "seeds", "on_edge", "operator_error", "error_in_band", "error_noise",
            "error_out_of_band", "off_span_fraction", "span_drift", "min_norm", "oracle", "undetermined",
            "eckart_young")


def optimizer_grid(optimizer: str, grid: dict) -> dict:
    """``grid`` (``{knob: values}`` without the optimizer) restricted to one optimizer of
    :data:`ddlib.training.OPTIMIZERS`."""
    check_choice("optimizer", optimizer, OPTIMIZERS)
    if not isinstance(grid, dict) or "optimizer" in grid:
        raise ValueError("grid must be a dict of knobs without 'optimizer' (the optimizer is given separately)")
    return {**grid, "optimizer": [optimizer]}


def optimizer_study(specs, base: TrainConfig, regimes: dict, grids: dict, seeds, *, scheduler=None,
                    workers=None) -> dict:
    """Each spec under each optimizer in each regime, tuned by :func:`ddlib.experiments.tuned_comparison` with that
    optimizer's grid: ``regimes`` maps a regime's name to the fields of ``base`` it changes (``{"data": "noise"}``),
    ``grids`` an optimizer to its grid (its own learning-rate range; the same epochs and size for every optimizer
    is the caller's choice). Returns ``{regime: {optimizer: [Selection per spec]}}``."""
    specs = list(specs)
    if not regimes or not grids:
        raise ValueError("regimes and grids must each name at least one entry")
    return {name: {opt: tuned_comparison(specs, base.replace(**changes), optimizer_grid(opt, g), seeds,
                                         scheduler=scheduler, workers=workers) for opt, g in grids.items()}
            for name, changes in regimes.items()}


def _seed_means(sel: Selection) -> dict:
    """Seed means of the bias measures and the references of one selection (the data differ per seed)."""
    measures = [{**bias_measures(r), **references(sel.spec, r.config)} for r in sel.runs]
    return {k: float(np.mean([m[k] for m in measures])) for k in measures[0]}


def optimizer_rows(study: dict, labels: dict | None = None) -> list[dict]:
    """One row (:data:`ROW_KEYS`) per regime, optimizer and model of an :func:`optimizer_study`: the chosen knobs,
    the seed means of the validation, test and operator errors and of :func:`bias_measures`, the references
    (:func:`references`, seed means) and the regime's ``eckart_young`` (the global class's oracle at the rank of the
    study's global model; NaN without one). ``labels`` maps a regime's name to its label (default: the name)."""
    rows = []
    for regime, per_opt in study.items():
        for opt, selections in per_opt.items():
            problem = selections[0].runs[0].config.problem
            ranks = [s.spec.rank for s in selections if s.family == "global"]
            ey = float(global_best_error(problem, ranks[:1])[0]) if ranks else float("nan")
            for sel in selections:
                s = summarize(sel)
                row = {"regime": regime, "regime_label": (labels or {}).get(regime, regime), "model": sel.label,
                       "family": sel.family, "optimizer": opt, "lr": s["lr"], "init_scale": s["init_scale"],
                       "schedule": s["schedule"], "validation_mean": s["error_validation_mean"],
                       "seeds": s["seeds"], "on_edge": dict(sel.on_edge),
                       **{k: s[f"{k}_mean"] for k in ("operator_error", "error_in_band", "error_noise",
                                                      "error_out_of_band")},
                       **_seed_means(sel), "eckart_young": ey}
                rows.append({k: row[k] for k in ROW_KEYS})
    return rows


def edge_text(on_edge: dict) -> str:
    """The knobs whose chosen value is still on its axis's edge (a :class:`ddlib.experiments.Selection`'s
    ``on_edge``), for a table: ``"lr, init_scale"`` or ``"none"``."""
    return claims.list_text([k for k, v in on_edge.items() if v])


def init_scale_study(spec, base: TrainConfig, settings: dict, scales, seed: int = 0, *, scheduler=None,
                     workers=None) -> dict:
    r"""The off-span fraction of ``spec`` trained from each initial scale in ``scales``, per optimizer:
    ``settings`` maps an optimizer to the fields it trains with (``{"gd": {"lr": 1.0, "schedule": "cosine"}}``).
    Returns per optimizer ``scales``, ``off_span_fraction``, ``operator_error``, ``span_drift`` (lists; NaN for a
    run that diverged) and ``slope``, the least-squares slope of :math:`\log(\text{off-span fraction})` against
    :math:`\log s` over the runs that trained (1: the fraction is proportional to the scale; 0: it does not depend on
    it; NaN with fewer than two)."""
    scales = [check_positive("scales[i]", s) for s in scales]
    if len(scales) < 2:
        raise ValueError("scales must hold at least two initial scales")
    configs = [base.replace(model=spec, seed=seed, init_scale=s, optimizer=opt, **fields)
               for opt, fields in settings.items() for s in scales]
    out = iter(run_sweep(configs, scheduler=scheduler, workers=workers))
    nan = {"off_span_fraction": float("nan"), "span_drift": float("nan")}
    study = {}
    for opt in settings:
        runs = [next(out).result for _ in scales]
        m = [nan if r is None else bias_measures(r) for r in runs]
        frac = np.array([x["off_span_fraction"] for x in m])
        ok = np.isfinite(frac) & (frac > 0)
        slope = np.polyfit(np.log(scales)[ok], np.log(frac[ok]), 1)[0] if ok.sum() >= 2 else np.nan
        study[opt] = {"scales": scales, "off_span_fraction": frac.tolist(),
                      "operator_error": [float("nan") if r is None else float(r.final["operator_error"])
                                         for r in runs],
                      "span_drift": [x["span_drift"] for x in m], "slope": float(slope)}
    return study


# ------------------------------------------------------------------------------------------------ the race
def optimizer_race(study: dict, regime: str, n_targets: int = 8, *, steps: int = 20) -> dict:
    r"""Best against best per optimizer in one regime of an :func:`optimizer_study`: the global and the DD model,
    each tuned under that optimizer, race to the same in-band targets.

    The targets are :func:`ddlib.claims.target_grid` of the pair (``n_targets`` log-spaced ones from half the larger
    initial error to just above the lower error floor); epochs to a target are seed means
    (:func:`ddlib.experiments.time_to_target_curve`, a target counts only if every seed reaches it), and seconds are
    those epochs times the median step time of :func:`ddlib.experiments.step_time` (the two models timed in turn in
    one process, one thread), never the seconds of a parallel sweep. Who is first is :func:`ddlib.claims.faster`.

    Returns per optimizer ``n_targets``, ``dd_first_epochs``, ``global_first_epochs``, ``dd_first_seconds``,
    ``global_first_seconds`` (counts of targets), ``step_ms_global``, ``step_ms_dd``, ``target_hi``, ``target_lo``
    and the labels ``global_label``, ``dd_label``.
    """
    n_targets = check_int("n_targets", n_targets, low=2)
    if regime not in study:
        raise ValueError(f"regime must be one of {sorted(study)}; got {regime!r}")
    out = {}
    for opt, sels in study[regime].items():
        g = next(s for s in sels if s.family == "global")
        d = next(s for s in sels if s.family == "dd")
        targets = claims.target_grid((g, d), (g, d), n_targets)
        curves = [time_to_target_curve(s, targets) for s in (g, d)]
        t = step_time([g.runs[0].config, d.runs[0].config], steps=steps)
        for c, s in zip(curves, (g, d)):
            c["seconds_mean"] = c["epochs_mean"] * t[s.label]
        race = {x: claims.faster(*curves, x) for x in ("epochs", "seconds")}
        out[opt] = {"n_targets": n_targets, "target_hi": float(targets[0]), "target_lo": float(targets[-1]),
                    "global_label": g.label, "dd_label": d.label, "step_ms_global": 1e3 * t[g.label],
                    "step_ms_dd": 1e3 * t[d.label],
                    **{f"{who}_first_{x}": race[x][f"n_{who}_faster"] for x in race for who in ("dd", "global")}}
    return out


# ------------------------------------------------------------------------------------------------ the report
#: The metrics whose verdicts :func:`report_optimizers` compares across optimizers.
VERDICT_METRICS = ("operator_error", "error_in_band", "error_noise", "error_out_of_band")


def _verdict_lists(study: dict, labels: dict) -> tuple[list[str], list[str], dict]:
    """Per regime and metric, the "more accurate" verdict (:func:`ddlib.claims.accuracy`) under each optimizer:
    the clauses of those with the same winner under every optimizer, of those whose winner changes, and every
    record by ``(regime, optimizer, metric)``."""
    same, flips, records = [], [], {}
    for regime, per_opt in study.items():
        for opt, sels in per_opt.items():
            for r in claims.accuracy(summary_table(sels), VERDICT_METRICS):
                records[regime, opt, r["metric"]] = r
        for m in VERDICT_METRICS:
            recs = {opt: records[regime, opt, m] for opt in per_opt}
            winners = {r["winner"] for r in recs.values()}
            parts = [f"{_factor(r['ratio']):.3g}× under {OPTIMIZER_NAMES[o]}" for o, r in recs.items()]
            where = f"{labels.get(regime, regime)}, {claims.METRIC_NAMES[m]}"
            if len(winners) == 1:
                same.append(f"{where}: {_CLASS[winners.pop()]} ({', '.join(parts)})")
            else:
                flips.append(f"{where}: " + ", ".join(f"{_CLASS[r['winner']]} under {OPTIMIZER_NAMES[o]} "
                                                      f"({_factor(r['ratio']):.3g}×)" for o, r in recs.items()))
    return same, flips, records


_CLASS = {"dd": "DD", "global": "global", "none": "neither"}


def _factor(ratio: float) -> float:
    """The winner's advantage, :math:`\\max(q, 1/q)` of a ratio global / DD."""
    return float(max(ratio, 1.0 / ratio)) if ratio > 0 else float("inf")


def report_optimizers(study: dict, rows: list[dict], scale_study: dict, labels: dict | None = None,
                      race: dict | None = None) -> dict:
    r"""Everything the chapter on the optimizer says, as plain values.

    Parameters
    ----------
    study : dict
        :func:`optimizer_study` (``{regime: {optimizer: [Selection]}}``, one global and one DD model or more).
    rows : list of dict
        :func:`optimizer_rows` of the study.
    scale_study : dict
        :func:`init_scale_study` of the global model (per optimizer).
    labels : dict, optional
        A label per regime name, for the sentences.
    race : dict, optional
        :func:`optimizer_race` of one regime; glued as ``race_O_<key>`` per optimizer ``O``.

    Returns
    -------
    dict
        ``glue``: per regime ``R`` and optimizer ``O`` (names as in ``study``) ``R_O_g_op``, ``R_O_d_op`` (operator
        errors, seed means), ``R_O_op_gap`` (global over DD), ``R_O_noise_gap`` (the same for the white-noise test
        error), ``R_O_inband_gap`` (DD over global in-band test error), ``R_O_g_ey`` (the global model's operator
        error over the Eckart-Young error), ``R_O_g_off``,
        ``R_O_d_off`` (off-span fractions), ``R_O_d_structure`` (the minimum-norm operator's error over DD's: above 1
        DD knows more than its data determine); per regime ``R_undetermined`` and ``R_eckart_young``, and
        ``R_off_ratio`` (the global off-span fraction under the first optimizer over that under the second);
        ``slope_O`` of the scale study; ``drift_max_O`` (largest span drift of a global model under ``O``);
        ``class_verdicts`` and ``optimizer_verdicts`` (the "more accurate" verdicts that keep or change their winner
        across optimizers, :func:`ddlib.claims.accuracy`); ``structural_regimes`` (the regimes where DD attention
        is more accurate in the operator norm under every optimizer); ``n_class_verdicts`` of ``n_verdicts``
        keep their winner. ``records``: the verdict records by ``(regime, optimizer, metric)``; ``verdicts``: the
        same as table rows (:func:`verdict_rows`).
    """
    labels = labels or {}
    by = {(r["regime"], r["optimizer"], r["family"]): r for r in rows}
    glue = {}
    for regime, per_opt in study.items():
        opts = list(per_opt)
        for opt in opts:
            g, d = by[regime, opt, "global"], by[regime, opt, "dd"]
            glue.update({f"{regime}_{opt}_g_op": g["operator_error"], f"{regime}_{opt}_d_op": d["operator_error"],
                         f"{regime}_{opt}_op_gap": g["operator_error"] / d["operator_error"],
                         f"{regime}_{opt}_noise_gap": g["error_noise"] / d["error_noise"],
                         f"{regime}_{opt}_inband_gap": d["error_in_band"] / g["error_in_band"],
                         f"{regime}_{opt}_g_ey": g["operator_error"] / g["eckart_young"],
                         f"{regime}_{opt}_g_off": g["off_span_fraction"],
                         f"{regime}_{opt}_d_off": d["off_span_fraction"],
                         f"{regime}_{opt}_d_structure": d["min_norm"] / d["operator_error"]})
        first = by[regime, opts[0], "global"]
        glue.update({f"{regime}_undetermined": first["undetermined"], f"{regime}_eckart_young": first["eckart_young"],
                     f"{regime}_off_ratio": first["off_span_fraction"] / by[regime, opts[-1], "global"][
                         "off_span_fraction"]})
    for opt, s in scale_study.items():
        glue[f"slope_{opt}"] = s["slope"]
    for opt, r in (race or {}).items():
        glue.update({f"race_{opt}_{k}": v for k, v in r.items()})
    for opt in {r["optimizer"] for r in rows}:
        glue[f"drift_max_{opt}"] = max(r["span_drift"] for r in rows if r["optimizer"] == opt and
                                       r["family"] == "global")
    same, flips, records = _verdict_lists(study, labels)
    glue["class_verdicts"] = claims.list_text(same, "none", "; ")
    glue["optimizer_verdicts"] = claims.list_text(flips, "none", "; ")
    glue["n_class_verdicts"], glue["n_verdicts"] = len(same), len(same) + len(flips)
    glue["structural_regimes"] = claims.list_text(
        [labels.get(reg, reg) for reg, per_opt in study.items()
         if all(records[reg, opt, "operator_error"]["winner"] == "dd" for opt in per_opt)], "no regime")
    return {"glue": glue, "records": records, "verdicts": verdict_rows(records, labels)}


def verdict_rows(records: dict, labels: dict | None = None) -> list[dict]:
    """The "more accurate" verdicts of :func:`report_optimizers` as table rows: per regime and metric ``regime``,
    ``measure``, one column per optimizer (its :data:`OPTIMIZER_NAMES` name) with the winner and its factor, and
    ``kind``: ``"function class"`` when every optimizer gives the same winner, else ``"optimizer"``."""
    labels = labels or {}
    rows = {}
    for (regime, opt, metric), r in records.items():
        row = rows.setdefault((regime, metric), {"regime": labels.get(regime, regime),
                                                 "measure": claims.METRIC_NAMES[metric], "winners": set()})
        row[OPTIMIZER_NAMES[opt]] = f"{_CLASS[r['winner']]}, {_factor(r['ratio']):.3g}×"
        row["winners"].add(r["winner"])
    return [{**{k: v for k, v in row.items() if k != "winners"},
             "kind": "function class" if len(row["winners"]) == 1 else "optimizer"} for row in rows.values()]
