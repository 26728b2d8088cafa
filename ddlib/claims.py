r"""The paper's three claims as verdict records: the one module that turns measured records into verdicts.

Chapter 4 (one operating point, :func:`report_dd_attention`) and every regime of the map (:mod:`ddlib.regimes`,
chapters 5 and 8) read their verdicts from here; no notebook and no other module decides a claim.

**A verdict record** (:data:`VERDICT_KEYS`) says for one claim and one metric whether it ``holds``, which class
``winner`` it favours (``"dd"``, ``"global"``, or ``"none"`` when neither class has a model), whether the seed ranges
are ``separated`` (``"more accurate"`` only; None otherwise), the model, parameter count and value of each side, their
``ratio`` (global over DD: above 1 favours DD) and the ``target`` of a speed claim (NaN otherwise).

* **Trains faster** (:data:`CLAIMS` 0, 1). Who reaches a target first is :func:`speed_ratio`, the one rule:
  :math:`t_{global}/t_{DD}`, infinite when only DD reaches the target, 0 when only global does, NaN when neither.
  :func:`faster` applies it to a range of targets (the intervals where DD is first), :func:`speed` to one target
  that both classes can be compared at (the fastest model per class), :func:`speed_verdicts` turns that into records.
  Seconds are epochs to the target times the seconds of one step timed in one process (never a sweep's clock).
* **Does a comparison count?** (:func:`learning`): a class whose best model never gets below
  :data:`LEARNED_FRACTION` of the initial error on the compared metric has not learned it; a regime where a class
  does not learn leaves the counts of a map, with that record as the reason (:func:`ddlib.regimes.tally_verdicts`).
* **Can be more accurate** (:data:`CLAIMS` 2, :func:`accuracy`): the best model of each class per metric (seed
  means, within a parameter budget if one is given, :func:`compare`); ``holds`` when the DD value is smaller.
* **Significantly fewer parameters** (:data:`CLAIMS` 3, :func:`fewer_parameters`): the cheapest DD model at least as
  accurate as the most accurate global model, with fewer parameters; ``ratio`` is the parameter ratio.

:func:`grid_edges` says whether a chosen knob sits on the edge of its search grid with the error still falling
towards it (then the grid, not the model, may have decided). The short phrases the book glues into sentences that
must name an outcome (:func:`holds_text`, :func:`error_level`, :func:`list_text`, :func:`interval_text`) are made
here, from the records, and tested.

Examples
--------
>>> import numpy as np
>>> speed_ratio(np.array([10.0, np.nan, 5.0, np.nan]), np.array([5.0, 3.0, np.nan, np.nan])).tolist()
[2.0, inf, 0.0, nan]
>>> holds_text(3, 12), error_level(0.5)
('holds for part of the targets', 'better than returning zero, without being accurate')
"""
from __future__ import annotations

import numpy as np

from ._validate import check_choice, check_positive
from .experiments import (Selection, best_within_budget, cheapest_dd_within, class_best, grid_points, headline,
                          multiply_adds, oracle_error, steps_per_epoch, summary_table, time_to_target_curve)
from .training import time_to_target

__all__ = ["CLAIMS", "VERDICT_KEYS", "CLASSES", "EDGE_FACTOR", "LEARNED_FRACTION", "ZERO_LEVEL", "ACCURATE_LEVEL",
           "speed_ratio", "intervals", "faster", "learning", "steps_per_epoch", "speed", "speed_verdicts", "compare",
           "accuracy", "fewer_parameters",
           "verdicts", "grid_edges", "holds_text", "error_level", "list_text", "interval_text",
           "METRIC_NAMES", "target_grid", "report_dd_attention"]

#: The claims, in the paper's order.
CLAIMS = ("trains faster (epochs)", "trains faster (seconds)", "more accurate", "fewer parameters")
#: Keys of every verdict record.
VERDICT_KEYS = ("claim", "metric", "holds", "winner", "separated", "global_label", "global_params", "global_value",
                "dd_label", "dd_params", "dd_value", "ratio", "target")
#: The classes a verdict compares (model families of :mod:`ddlib.models`).
CLASSES = ("global", "dd")
EDGE_FACTOR = 1.2
"""A chosen knob on the grid's edge is reported when its neighbour's validation error is more than this factor above."""
#: A class whose error never falls below this fraction of the initial error has not trained (:func:`speed`).
LEARNED_FRACTION = 0.5
#: A relative error of 1 is what the zero operator achieves; :func:`error_level` compares against it ...
ZERO_LEVEL = 1.0
#: ... and calls an error below this accurate.
ACCURATE_LEVEL = 0.1


# ------------------------------------------------------------------------------------------------ trains faster
def speed_ratio(t_global, t_dd) -> np.ndarray:
    r"""The one rule of a race: :math:`t_{global}/t_{DD}` for times to a target (NaN: never reached), ``inf`` when
    only DD reaches it, 0 when only global does, NaN when neither; a DD time of 0 (reached before training) against
    a positive global time is ``inf``. Above 1 DD is faster."""
    g, d = np.asarray(t_global, dtype=float), np.asarray(t_dd, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(np.isfinite(g) & np.isfinite(d), g / d, np.nan)
    ratio = np.where(np.isfinite(g) & np.isfinite(d) & (d == 0), np.where(g > 0, np.inf, np.nan), ratio)
    ratio = np.where(np.isnan(g) & np.isfinite(d), np.inf, ratio)
    return np.where(np.isfinite(g) & np.isnan(d), 0.0, ratio)


def intervals(values, mask) -> list[tuple[float, float]]:
    """The maximal runs of consecutive ``True`` in ``mask`` as ``(values[first], values[last])`` pairs."""
    values, mask = np.asarray(values), np.asarray(mask, dtype=bool)
    if values.shape != mask.shape:
        raise ValueError(f"values and mask must have the same shape; got {values.shape} and {mask.shape}")
    out, start = [], None
    for i, m in enumerate(mask):
        if m and start is None:
            start = i
        if start is not None and (not m or i == len(mask) - 1):
            end = i if m else i - 1
            out.append((float(values[start]), float(values[end])))
            start = None
    return out


def faster(curve_global: dict, curve_dd: dict, x: str = "epochs") -> dict:
    r"""Who reaches each target first, from two :func:`ddlib.experiments.time_to_target_curve` records (same targets).

    Returns ``targets``; ``ratio`` (:func:`speed_ratio` of the seed means); ``dd_faster`` (bool per target, ratio
    above 1); ``both_reach``; ``holds``: the intervals of targets where DD is faster (:func:`intervals`), ``fails``:
    where global is faster; and the counts ``n_targets``, ``n_dd_faster``, ``n_global_faster``.
    """
    check_choice("x", x, ("epochs", "seconds"))
    t = np.asarray(curve_global["targets"])
    if not np.array_equal(t, np.asarray(curve_dd["targets"])):
        raise ValueError("curve_global and curve_dd must share their targets")
    g, d = np.asarray(curve_global[f"{x}_mean"]), np.asarray(curve_dd[f"{x}_mean"])
    ratio = speed_ratio(g, d)
    dd_faster, global_faster = ratio > 1, ratio < 1
    return {"targets": t, "ratio": ratio, "dd_faster": dd_faster, "both_reach": np.isfinite(g) & np.isfinite(d),
            "holds": intervals(t, dd_faster), "fails": intervals(t, global_faster),
            "n_targets": int(t.size), "n_dd_faster": int(dd_faster.sum()), "n_global_faster": int(global_faster.sum())}


def _mean_epochs(sel: Selection, target: float, metric: str) -> float:
    """Seed mean of the epochs to ``target`` (:func:`ddlib.training.time_to_target`); NaN if a seed misses it."""
    tt = np.array([time_to_target(r, target, metric)[0] for r in sel.runs])
    return float(tt.mean()) if np.isfinite(tt).all() else np.nan


def learning(groups: dict, metric: str) -> dict:
    r"""Whether each class learns ``metric`` at all: the record that decides whether a comparison counts.

    With :math:`e_0` the smallest initial error over the classes' models and seeds and
    :math:`	au_c = \min_{j\in c}\max_s e_{js}` the final error class :math:`c` reaches on every seed, class
    :math:`c` **learns** when :math:`	au_c \le` :data:`LEARNED_FRACTION` :math:`e_0`. Returns ``metric``, ``e0``,
    per class ``<c>_level`` (:math:`	au_c`), ``<c>_label`` (the model reaching it), ``<c>_learned``, ``<c>_fit``
    (that model's final training loss over its initial one, worst seed: small means it fits its training data, so a
    class that fits and does not learn ``metric`` does not generalise), ``counted`` (every class learns) and
    ``not_learned`` (the classes that do not, comma-separated; ``""`` if none).

    Examples
    --------
    A class whose errors never fall below half of the initial error is not counted:

    >>> import numpy as np
    >>> from ddlib.experiments import Selection
    >>> from ddlib.models import DDSpec, GlobalSpec
    >>> from ddlib.training import HISTORY_KEYS, TrainConfig, TrainResult
    >>> def sel(spec, errors):
    ...     h = {k: list(errors) for k in HISTORY_KEYS}
    ...     return Selection(spec, {}, [], [TrainResult(TrainConfig(model=spec, n=31, K=4), h, None, 1)])
    >>> rec = learning({"global": [sel(GlobalSpec(2), [1.0, 0.9, 0.8])], "dd": [sel(DDSpec(4, 1, 1), [1.0, 0.1])]},
    ...                "error_noise")
    >>> rec["global_learned"], rec["dd_learned"], rec["counted"], rec["not_learned"]
    (False, True, False, 'global')
    """
    if any(not groups.get(c) for c in CLASSES):
        raise ValueError("groups must hold at least one global and one full DD model")
    e0 = min(float(r.curve(metric)[0]) for c in CLASSES for s in groups[c] for r in s.runs)
    out = {"metric": metric, "e0": e0}
    for c in CLASSES:
        levels = [float(s.final(metric).max()) for s in groups[c]]
        best = groups[c][int(np.argmin(levels))]
        fit = max(float(r.curve("train_loss")[-1] / r.curve("train_loss")[0]) for r in best.runs)
        out.update({f"{c}_level": min(levels), f"{c}_label": best.label,
                    f"{c}_learned": bool(min(levels) <= LEARNED_FRACTION * e0), f"{c}_fit": fit})
    missing = [c for c in CLASSES if not out[f"{c}_learned"]]
    out["counted"], out["not_learned"] = not missing, ", ".join(missing)
    out["reason"] = "; ".join(_not_learned_text(c, out[f"{c}_level"] / e0, out[f"{c}_fit"]) for c in missing)
    return out


def _not_learned_text(cls: str, level: float, fit: float) -> str:
    """Why a class does not count, in words: how far its error falls, and whether it fits its training data."""
    name = {"global": "the global model", "dd": "the DD model"}.get(cls, f"the {cls} model")
    data = (f"while its training loss falls to {fit:.0e} of the initial: it fits the samples and does not "
            f"generalise" if fit <= LEARNED_FRACTION**2 else f"and its training loss only to {fit:.2g} of the initial")
    return f"{name} ends at {level:.2f} of the initial error, {data}"


def speed(groups: dict, metric: str, step_seconds: dict, target: float | None = None) -> dict:
    r"""The claim "trains faster" at one target: epochs and seconds each class needs to reach it.

    ``groups`` maps ``"global"`` and ``"dd"`` to lists of :class:`ddlib.experiments.Selection` (the models of the
    class). With the class levels :math:`	au_c` of :func:`learning`, the default ``target`` is the **common** level
    :math:`	au = \max_c	au_c`, which at least one model of each class reaches on every seed, when every class
    learns; otherwise the **better** class's level :math:`\min_c	au_c`, which the other class never reaches
    (``target_kind`` says which rule applied; ``"given"`` for a given target). Per class the fastest model counts
    (:math:`\min_j` of the seed-mean epochs to :math:`	au`; NaN: never reached on some seed).

    **Seconds are never read from the runs** (a sweep's runs compete for the cores): the seconds to the target are
    the epochs times the optimizer steps per epoch (:func:`steps_per_epoch`) times ``step_seconds[label]``, the
    seconds of one step measured in one process with the models interleaved
    (:func:`ddlib.experiments.step_time`); the fastest model in seconds may differ from the fastest in epochs.
    Returns ``metric``, ``target``, ``target_kind``, per class ``c``: ``<c>_epochs``, ``<c>_epochs_label``,
    ``<c>_seconds``, ``<c>_seconds_label``, and ``epochs_ratio``, ``seconds_ratio`` (:func:`speed_ratio`).
    """
    groups = {c: groups.get(c) for c in CLASSES}
    kind = "given"
    if target is None:
        rec = learning(groups, metric)
        kind = "common" if rec["counted"] else "better"
        levels = [rec[f"{c}_level"] for c in CLASSES]
        target = max(levels) if rec["counted"] else min(levels)
    elif any(not g for g in groups.values()):
        raise ValueError("groups must hold at least one global and one full DD model")
    target = check_positive("target", target)
    missing = {s.label for g in groups.values() for s in g} - set(step_seconds)
    if missing:
        raise ValueError(f"step_seconds must hold the seconds per step of every model; missing {sorted(missing)}")
    out = {"metric": metric, "target": target, "target_kind": kind}
    for fam, group in groups.items():
        epochs = np.array([_mean_epochs(s, target, metric) for s in group])
        seconds = epochs * np.array([steps_per_epoch(s) * step_seconds[s.label] for s in group])
        for unit, values in (("epochs", epochs), ("seconds", seconds)):
            ok = np.flatnonzero(np.isfinite(values))
            best = int(ok[np.argmin(values[ok])]) if ok.size else None
            out[f"{fam}_{unit}"] = np.nan if best is None else float(values[best])
            out[f"{fam}_{unit}_label"] = "" if best is None else group[best].label
    for unit in ("epochs", "seconds"):
        out[f"{unit}_ratio"] = float(speed_ratio(out[f"global_{unit}"], out[f"dd_{unit}"]))
    return out


def _record(claim: str, metric: str, holds: bool, winner: str, separated, g: tuple, d: tuple, ratio: float,
            target: float = np.nan) -> dict:
    return {"claim": claim, "metric": metric, "holds": bool(holds), "winner": winner, "separated": separated,
            "global_label": g[0], "global_params": int(g[1]), "global_value": float(g[2]),
            "dd_label": d[0], "dd_params": int(d[1]), "dd_value": float(d[2]), "ratio": float(ratio),
            "target": float(target)}


def speed_verdicts(sp: dict, params: dict) -> list[dict]:
    """The two "trains faster" records (epochs, seconds) of a :func:`speed` record; ``params`` maps model labels to
    parameter counts. The claim holds when the ratio exceeds 1 (DD reaches the target first, or only DD does)."""
    out = []
    for unit in ("epochs", "seconds"):
        ratio = sp[f"{unit}_ratio"]
        gl, dl = sp[f"global_{unit}_label"], sp[f"dd_{unit}_label"]
        out.append(_record(f"trains faster ({unit})", sp["metric"], ratio > 1, "dd" if ratio > 1 else "global", None,
                           (gl, params.get(gl, 0), sp[f"global_{unit}"]), (dl, params.get(dl, 0), sp[f"dd_{unit}"]),
                           ratio, sp["target"]))
    return out


# ------------------------------------------------------------------------------------------------ more accurate
def compare(table: dict, metric: str, budget: float = np.inf, classes=CLASSES) -> dict:
    r"""The best model of each of the two ``classes`` (default global and DD; e.g. ``("banded", "dd")`` for the
    structured baseline) with at most ``budget`` parameters by the seed mean of ``metric``
    (:func:`ddlib.experiments.best_within_budget` on a :func:`ddlib.experiments.summary_table`).

    Returns ``metric``, ``seeds`` (fewest seeds of any model), per class ``c``: ``best_<c>`` (seed mean; NaN if the
    class has no model that small), ``best_<c>_label``, ``best_<c>_params``, ``best_<c>_min``, ``best_<c>_max``; and
    ``winner`` (the class with the smaller mean; the only class with a model; ``"none"``) and ``separated`` (both
    classes present and their seed ranges disjoint).
    """
    first, second = classes
    row = {"metric": metric, "seeds": int(np.min(table["seeds"]))}
    for fam in classes:
        b = best_within_budget(table, fam, f"{metric}_mean", budget)
        i = None if b is None else b["index"]
        row[f"best_{fam}"] = np.nan if i is None else float(table[f"{metric}_mean"][i])
        row[f"best_{fam}_label"] = "" if i is None else str(table["label"][i])
        row[f"best_{fam}_params"] = 0 if i is None else int(table["params"][i])
        row[f"best_{fam}_min"] = np.nan if i is None else float(table[f"{metric}_min"][i])
        row[f"best_{fam}_max"] = np.nan if i is None else float(table[f"{metric}_max"][i])
    g, d = row[f"best_{first}"], row[f"best_{second}"]
    if np.isnan(g) or np.isnan(d):
        row["winner"] = first if not np.isnan(g) else (second if not np.isnan(d) else "none")
        row["separated"] = False
    else:
        row["winner"] = second if d < g else first
        row["separated"] = bool(row[f"best_{second}_max"] < row[f"best_{first}_min"] or
                                row[f"best_{first}_max"] < row[f"best_{second}_min"])
    return row


def accuracy(table: dict, metrics) -> list[dict]:
    """The "more accurate" verdict per metric: :func:`compare` without a budget; ``holds`` when DD wins, ``ratio`` =
    best global / best DD (``inf`` for a DD value of 0)."""
    out = []
    for m in metrics:
        c = compare(table, m)
        g, d = c["best_global"], c["best_dd"]
        out.append(_record("more accurate", m, c["winner"] == "dd", c["winner"], c["separated"],
                           (c["best_global_label"], c["best_global_params"], g),
                           (c["best_dd_label"], c["best_dd_params"], d), g / d if d > 0 else np.inf))
    return out


def fewer_parameters(table: dict, metric: str) -> dict:
    """The "fewer parameters" verdict: the best global model by ``metric`` against the cheapest DD model at least as
    accurate with fewer parameters (``dd_label`` empty, ``dd_value`` and ``ratio`` NaN if there is none); ``ratio`` =
    global parameters / DD parameters."""
    g = class_best(table, "global", f"{metric}_mean")
    j = cheapest_dd_within(table, f"{metric}_mean", g["value"], max_params=g["params"])
    d = ("", 0, np.nan) if j is None else (str(table["label"][j]), int(table["params"][j]),
                                          float(table[f"{metric}_mean"][j]))
    return _record("fewer parameters", metric, j is not None, "global" if j is None else "dd", None,
                   (g["label"], g["params"], g["value"]), d, np.nan if j is None else g["params"] / d[1])


def verdicts(groups: dict, table: dict, metrics, speed_metric: str, step_seconds: dict) -> list[dict]:
    r"""Every claim on one comparison, in the order of :data:`CLAIMS`: the two speed records (:func:`speed` on
    ``speed_metric`` at its default target, seconds from ``step_seconds``), then "more accurate" and then "fewer
    parameters" for ``speed_metric`` and each of ``metrics`` (once each). ``groups`` are the selections of each
    class, ``table`` their :func:`ddlib.experiments.summary_table` (both without ablations)."""
    params = {str(lab): int(P) for lab, P in zip(table["label"], table["params"])}
    every = list(dict.fromkeys([speed_metric, *metrics]))
    return (speed_verdicts(speed(groups, speed_metric, step_seconds), params) + accuracy(table, every)
            + [fewer_parameters(table, m) for m in every])


# ------------------------------------------------------------------------------------------------ the protocol
def grid_edges(sel: Selection, grid: dict, factor: float = EDGE_FACTOR) -> list[str]:
    """The knobs of ``grid`` whose chosen value is the smallest or the largest of the grid **and** still improving
    there: the neighbouring grid value (all other knobs as chosen) has a validation error more than ``factor`` times
    the chosen one, so a wider grid might choose further out (``"lr=max"``, ``"init_scale=min"``, ...). A choice on
    the edge of a flat direction is not reported, nor a categorical knob (``schedule``)."""
    factor = check_positive("factor", factor)
    out = []
    for k, values in _own_grid(sel, grid).items():
        if len(values) < 2 or any(isinstance(v, str) for v in values):  # categorical knobs have no edge
            continue
        values = sorted(values)
        v = sel.chosen[k]
        if v not in (values[0], values[-1]):
            continue
        neighbour = values[1] if v == values[0] else values[-2]
        other = {kk: vv for kk, vv in sel.chosen.items() if kk != k}
        rows = {r[k]: r["error_validation"] for r in sel.grid if all(r.get(kk) == vv for kk, vv in other.items())}
        if v not in rows:  # chosen by the protocol's extension of another axis: no grid row to compare with
            continue
        if rows.get(neighbour, np.inf) > factor * rows[v]:
            out.append(f"{k}={'min' if v == values[0] else 'max'}")
    return out


def _own_grid(sel: Selection, grid) -> dict:
    """The grid a selection's chosen point was searched in: ``grid`` itself, or for a union of grids (a list, e.g.
    one learning-rate range per optimizer) the union of the values of those grids that contain the chosen
    optimizer (all of them when the grids name no optimizer)."""
    if isinstance(grid, dict):
        return grid
    mine = [g for g in grid if sel.chosen.get("optimizer") in g.get("optimizer", [sel.chosen.get("optimizer")])]
    out: dict = {}
    for g in mine:
        for k, values in g.items():
            out[k] = list(dict.fromkeys([*out.get(k, []), *values]))
    return out


# ------------------------------------------------------------------------------------------------ phrases
def holds_text(holds: int, total: int) -> str:
    """``"holds"`` (every case), ``"holds for part of the targets"`` (some) or ``"does not hold"`` (none)."""
    if total <= 0 or holds < 0 or holds > total:
        raise ValueError(f"holds must be in [0, total] with total >= 1; got {holds} of {total}")
    return "holds" if holds == total else ("holds for part of the targets" if holds else "does not hold")


def error_level(error: float) -> str:
    """A relative error in words: at least :data:`ZERO_LEVEL` is no better than returning zero; below
    :data:`ACCURATE_LEVEL` is accurate; in between better than zero without being accurate."""
    if error >= ZERO_LEVEL:
        return "worse than returning zero"
    return "accurate" if error < ACCURATE_LEVEL else "better than returning zero, without being accurate"


def list_text(items, empty: str = "none", sep: str = ", ") -> str:
    """``items`` joined by ``sep``, or ``empty`` when there are none."""
    items = [str(i) for i in items]
    return sep.join(items) if items else empty


def interval_text(iv: list[tuple[float, float]]) -> str:
    """Intervals of :func:`intervals` as ``"1.0e-01 to 1.0e-02 and 3.0e-03"``, or ``"none"``."""
    return list_text([f"{a:.1e} to {b:.1e}" if a != b else f"{a:.1e}" for a, b in iv], sep=" and ")


# ------------------------------------------------------------------------------------------------ chapter 4
#: Human names of the metrics, for sentences and tables.
METRIC_NAMES = {"error_in_band": "in-band test error", "error_out_of_band": "out-of-band test error",
                "error_noise": "white-noise test error", "error_point_loads": "point-load test error",
                "error_validation": "validation error", "operator_error": "operator error"}
#: The metrics of chapter 4's "more accurate" table, and those of its "fewer parameters" sentences.
ACCURACY_METRICS = ("error_in_band", "error_out_of_band", "error_noise", "error_point_loads", "operator_error")
FEWER_METRICS = ("error_in_band", "operator_error")


def _shown(selections: list[Selection], heads) -> tuple[dict, list[Selection]]:
    """The most accurate model of each class by validation error, and the models F13 and F14 show (the headline
    pair and those two, each once)."""
    by_label = {s.label: s for s in selections}
    table = summary_table(selections)
    best = {fam: by_label[class_best(table, fam, "error_validation_mean")["label"]] for fam in CLASSES}
    shown = list({s.label: s for s in (heads[0], best["global"], heads[1], best["dd"])}.values())
    return best, shown


def target_grid(heads, shown, count: int, metric: str = "error_in_band") -> np.ndarray:
    r"""``count`` log-spaced targets from half the largest initial error of ``shown`` down to just above
    (:math:`	imes 1.05`) the lower of the two ``heads``' error floors, each the worst seed's."""
    floor = min(max(r.curve(metric).min() for r in sel.runs) for sel in heads)
    top = max(sel.runs[0].curve(metric)[0] for sel in shown)
    return np.geomspace(top / 2, floor * 1.05, count)


def _tuning_glue(selections: list[Selection], grid: dict, heads) -> tuple[dict, list[dict]]:
    """The chosen knobs: per model (for the manifest) and what the text says about them."""
    edges = {s.label: grid_edges(s, grid) for s in selections}
    on_edge = [lab for lab, e in edges.items() if e]
    rows = [{"label": s.label, **s.chosen, "grid_edges": edges[s.label]} for s in selections]
    spread = {}
    for s in selections:  # decades between the best and the worst finite validation error over the grid
        v = np.array([r["error_validation"] for r in s.grid], dtype=float)
        v = v[np.isfinite(v)]
        spread[s.label] = float(np.log10(v.max() / v.min()))
    out = {"n_models": len(selections), "n_on_edge": len(on_edge), "edge_percent": 100 * (EDGE_FACTOR - 1),
           "edge_list": list_text(f"{lab} ({', '.join(edges[lab])})" for lab in on_edge), "decades": spread,
           "init_min": float(min(p["init_scale"] for p in grid_points(grid)))}
    for fam in CLASSES:
        chosen = [s.chosen.get("schedule", s.runs[0].config.schedule) for s in selections if s.family == fam]
        out[f"n_constant_{fam}"], out[f"n_{fam}"] = chosen.count("constant"), len(chosen)
    schedules = sorted({p.get("schedule", selections[0].runs[0].config.schedule) for p in grid_points(grid)})
    out["schedule_grid"] = " or ".join(schedules)
    out["schedule_sentence"] = (
        f"It chose the constant schedule for {out['n_constant_dd']} of the {out['n_dd']} DD models and "
        f"{out['n_constant_global']} of the {out['n_global']} global ones." if len(schedules) > 1 else
        f"Every run used the {schedules[0]} schedule.")
    for tag, s in zip(("g_head", "d_head"), heads):
        out.update({f"{tag}_label": s.label, f"decades_{tag}": spread[s.label], f"{tag}_init": s.chosen["init_scale"],
                    f"{tag}_lr": s.chosen["lr"]})
    out["dd_head_label"] = out.pop("d_head_label")
    return out, rows


def _speed_glue(heads, best: dict, curves: dict, step_seconds: dict) -> tuple[dict, dict]:
    """Claim 1 over the targets (headline pair in epochs and seconds, the most accurate pair in epochs) and the
    measured step times against the multiply-adds."""
    g, d = heads
    claim1 = {x: faster(curves[g.label], curves[d.label], x) for x in ("epochs", "seconds")}
    claim1["best"] = faster(curves[best["global"].label], curves[best["dd"].label], "epochs")
    t = curves[g.label]["targets"]
    out = {"n_targets": int(t.size), "target_hi": float(t[0]), "target_lo": float(t[-1]),
           "g_best_label": best["global"].label, "d_best_label": best["dd"].label}
    for x in ("epochs", "seconds"):
        c = claim1[x]
        out.update({f"claim1_{x}": holds_text(c["n_dd_faster"], c["n_targets"]),
                    f"claim1_{x}_holds": interval_text(c["holds"]), f"claim1_{x}_fails": interval_text(c["fails"]),
                    f"claim1_{x}_n": c["n_dd_faster"]})
    out["claim1_best_holds"] = interval_text(claim1["best"]["holds"])
    out["claim1_best_fails"] = interval_text(claim1["best"]["fails"])
    problem = g.runs[0].config.problem
    t_g, t_d = step_seconds[g.label], step_seconds[d.label]
    out.update(step_ms_global=1e3 * t_g, step_ms_dd=1e3 * t_d, step_ratio=t_d / t_g,
               flop_ratio=multiply_adds(d.spec, problem) / multiply_adds(g.spec, problem))
    return out, claim1


def _accuracy_glue(table: dict, heads, head: dict) -> tuple[dict, list[dict]]:
    """Claims 2 and 3 on the summary table: what the sentences glue, and the rows of the accuracy table."""
    claim2 = accuracy(table, ACCURACY_METRICS)
    out = {f"c2_{r['metric']}_ratio": r["ratio"] for r in claim2}
    for fam, tag in (("dd", "wins_dd"), ("global", "wins_g")):
        out[tag] = list_text(METRIC_NAMES[r["metric"]] for r in claim2 if r["winner"] == fam)
    for m in FEWER_METRICS:
        r = fewer_parameters(table, m)
        out[f"c3_{m}_verdict"] = holds_text(int(r["holds"]), 1)
        out[f"c3_{m}_global"] = f"{r['global_label']} ({r['global_value']:.2g} with {r['global_params']} parameters)"
        out[f"c3_{m}_dd"] = (f"the cheapest DD model at least as accurate, {r['dd_label']} ({r['dd_value']:.2g} with "
                             f"{r['dd_params']} parameters), has {r['ratio']:.1f} times fewer parameters" if r["holds"]
                             else "no DD model of the sweep with fewer parameters is at least as accurate")
    min_oob = float(np.min(table["error_out_of_band_mean"]))
    out["min_oob"] = min_oob
    out["oob_verdict"] = f"The trained model best on the out-of-band modes is {error_level(min_oob)} there"
    problem = heads[0].runs[0].config.problem
    out["head_dd_oracle_ratio"] = head["operator_error_dd"] / oracle_error(heads[1].spec, problem)
    out["head_g_oracle_ratio"] = head["operator_error_global"] / oracle_error(heads[0].spec, problem)
    rows = [{**r, "measure": METRIC_NAMES[r["metric"]], "more_accurate": {"dd": "DD", "global": "global"}[r["winner"]],
             "ranges": "disjoint" if r["separated"] else "overlap"} for r in claim2]
    return out, rows


def report_dd_attention(selections: list[Selection], grid: dict, heads, step_seconds: dict, n_targets: int) -> dict:
    r"""Everything chapter 4 says about its tuned comparison, as plain records.

    Parameters
    ----------
    selections : list of Selection
        The outcome of :func:`ddlib.experiments.tuned_comparison` (global and DD models).
    grid : dict
        Its knob grid.
    heads : (Selection, Selection)
        The headline pair, global and DD, fixed before training.
    step_seconds : dict
        :func:`ddlib.experiments.step_time` by label, of (at least) the headline pair and the most accurate model of
        each class: every second of the race is epochs times a step timed alone, never a sweep's shared clock.
    n_targets : int
        Number of in-band targets of the time-to-target study (:func:`target_grid`).

    Returns
    -------
    dict
        ``glue`` (name -> number or text, every value the chapter's sentences glue), ``tuning`` (per model the chosen
        knobs and :func:`grid_edges`), ``shown`` (labels of the models F13 and F14 show), ``targets``, ``curves``
        (:func:`ddlib.experiments.time_to_target_curve` per shown label), ``claim1`` (:func:`faster` of the headline
        pair in ``epochs`` and ``seconds``, of the most accurate pair as ``best``), ``headline``
        (:func:`ddlib.experiments.headline` at the middle target) and ``accuracy`` (the :func:`accuracy` records with
        the table's text columns ``measure``, ``more_accurate``, ``ranges``).
    """
    table = summary_table(selections)
    best, shown = _shown(selections, heads)
    targets = target_grid(heads, shown, n_targets)
    missing = [s.label for s in shown if s.label not in step_seconds]
    if missing:
        raise ValueError(f"step_seconds must time every model the figures show; missing: {', '.join(missing)}")
    curves = {s.label: time_to_target_curve(s, targets, step_seconds=step_seconds[s.label]) for s in shown}
    mid = float(targets[len(targets) // 2])
    head = headline(heads[0], heads[1], mid, step_seconds)
    tuning, rows = _tuning_glue(selections, grid, heads)
    speed_out, claim1 = _speed_glue(heads, best, curves, step_seconds)
    acc, acc_rows = _accuracy_glue(table, heads, head)
    glue = {**{k: v for k, v in tuning.items() if k != "decades"}, **speed_out, **acc, "mid_target": mid}
    return {"glue": glue, "tuning": rows, "decades": tuning["decades"], "shown": [s.label for s in shown],
            "targets": targets, "curves": curves, "claim1": claim1, "headline": head, "accuracy": acc_rows}
