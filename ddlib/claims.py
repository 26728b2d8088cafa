r"""The paper's three claims as records: what the book says about each claim is computed here, not in a notebook.

* **Trains faster** (:func:`faster`): epochs (or seconds) to reach each of a range of targets, global against DD
  (:func:`ddlib.experiments.time_to_target_curve`); the claim holds at a target when the DD model gets there first,
  and it is stated as the intervals of targets where it holds.
* **Can be more accurate** (:func:`accuracy`): the best model of each class per metric (seed means), the winner, and
  whether the two seed ranges are disjoint.
* **Significantly fewer parameters** (:func:`fewer_parameters`): the cheapest DD model at least as accurate as the
  best global model, and the parameter ratio.

:func:`grid_edges` says whether a chosen knob sits on the edge of its search grid with the error still falling
towards it (then the grid, not the model, may have decided).
"""
from __future__ import annotations

import numpy as np

from ._validate import check_choice, check_positive
from .experiments import Selection, cheapest_dd_within, class_best

__all__ = ["faster", "intervals", "accuracy", "fewer_parameters", "grid_edges", "EDGE_FACTOR"]

EDGE_FACTOR = 1.2
"""A chosen knob on the grid's edge is reported when its neighbour's validation error is more than this factor above."""


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

    Returns ``targets``; ``ratio`` :math:`t_{global}/t_{DD}` (> 1: DD faster; ``inf`` if only DD reaches the target,
    0 if only global does, NaN if neither); ``dd_faster`` (bool per target); ``both_reach``; ``holds``: the intervals
    of targets where DD is faster (:func:`intervals`), ``fails``: where global is faster; and the counts.
    """
    check_choice("x", x, ("epochs", "seconds"))
    t = np.asarray(curve_global["targets"])
    if not np.array_equal(t, np.asarray(curve_dd["targets"])):
        raise ValueError("curve_global and curve_dd must share their targets")
    g, d = np.asarray(curve_global[f"{x}_mean"]), np.asarray(curve_dd[f"{x}_mean"])
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(np.isfinite(g) & np.isfinite(d), g / np.maximum(d, 1e-300), np.nan)
    ratio = np.where(np.isnan(g) & np.isfinite(d), np.inf, ratio)
    ratio = np.where(np.isfinite(g) & np.isnan(d), 0.0, ratio)
    dd_faster = ratio > 1
    global_faster = ratio < 1
    return {"targets": t, "ratio": ratio, "dd_faster": dd_faster, "both_reach": np.isfinite(g) & np.isfinite(d),
            "holds": intervals(t, dd_faster), "fails": intervals(t, global_faster),
            "n_targets": int(t.size), "n_dd_faster": int(dd_faster.sum()), "n_global_faster": int(global_faster.sum())}


def accuracy(table: dict, metrics) -> list[dict]:
    """Per metric: the best global and the best DD model (seed means), ``winner`` and ``separated`` (disjoint seed
    ranges), ``ratio`` = best global / best DD (> 1: DD more accurate)."""
    rows = []
    for m in metrics:
        g, d = class_best(table, "global", f"{m}_mean"), class_best(table, "dd", f"{m}_mean")
        gi, di = g["index"], d["index"]
        separated = bool(table[f"{m}_max"][di] < table[f"{m}_min"][gi] or table[f"{m}_max"][gi] < table[f"{m}_min"][di])
        rows.append({"metric": m, "global": g["value"], "global_label": g["label"], "global_params": g["params"],
                     "dd": d["value"], "dd_label": d["label"], "dd_params": d["params"],
                     "winner": "dd" if d["value"] < g["value"] else "global", "separated": separated,
                     "ratio": g["value"] / d["value"] if d["value"] > 0 else np.inf})
    return rows


def fewer_parameters(table: dict, metric: str) -> dict:
    """The best global model by ``metric`` and the cheapest DD model at least as accurate with fewer parameters
    (``dd_label`` empty and ``ratio`` NaN if there is none); ``ratio`` = global parameters / DD parameters."""
    g = class_best(table, "global", f"{metric}_mean")
    j = cheapest_dd_within(table, f"{metric}_mean", g["value"], max_params=g["params"])
    out = {"metric": metric, "global_label": g["label"], "global_params": g["params"], "global_value": g["value"],
           "dd_label": "", "dd_params": 0, "dd_value": np.nan, "ratio": np.nan, "holds": j is not None}
    if j is not None:
        out.update(dd_label=str(table["label"][j]), dd_params=int(table["params"][j]),
                   dd_value=float(table[f"{metric}_mean"][j]), ratio=g["params"] / float(table["params"][j]))
    return out


def grid_edges(sel: Selection, grid: dict, factor: float = EDGE_FACTOR) -> list[str]:
    """The knobs of ``grid`` whose chosen value is the smallest or the largest of the grid **and** still improving
    there: the neighbouring grid value (all other knobs as chosen) has a validation error more than ``factor`` times
    the chosen one, so a wider grid might choose further out (``"lr=max"``, ``"init_scale=min"``, ...). A choice on
    the edge of a flat direction is not reported."""
    factor = check_positive("factor", factor)
    out = []
    for k, values in grid.items():
        values = sorted(values)
        if len(values) < 2 or k == "schedule":
            continue
        v = sel.chosen[k]
        if v not in (values[0], values[-1]):
            continue
        neighbour = values[1] if v == values[0] else values[-2]
        other = {kk: vv for kk, vv in sel.chosen.items() if kk != k}
        rows = {r[k]: r["error_validation"] for r in sel.grid if all(r.get(kk) == vv for kk, vv in other.items())}
        if rows.get(neighbour, np.inf) > factor * rows[v]:
            out.append(f"{k}={'min' if v == values[0] else 'max'}")
    return out
