"""Figure F12: cost and parameters against n, DD against global attention, with the bmm and banded-solve anchors
(chapter 7)."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..benchmarks import column
from ..timing import fit_exponent
from .style import COLORS

_SERIES = (  # key, label, colour, marker, line style
    ("dd", "DD attention (ddlib.attention)", COLORS["dd"], "o", "-"),
    ("gather", "DD attention, general gather path", COLORS["local"], "^", "--"),
    ("columns", "DD attention, apply_columns (training path)", COLORS["classical"], "P", "-."),
    ("dd_grad", "DD attention, grad enabled (factors folded per call)", COLORS["local"], "v", ":"),
    ("global", "global, matched parameters", COLORS["global"], "s", "-"),
    ("global_accuracy", "global, matched best accuracy", COLORS["coarse"], "D", ":"),
)


def _plot(ax, n, t, label, color, marker, ls):
    ok = np.isfinite(t) & (t > 0)
    if ok.any():
        ax.loglog(n[ok], t[ok], marker=marker, ls=ls, color=color, ms=4, lw=1.2, label=label)


def performance_figure(rows: list[dict], fit_range=(10, 16), race: dict | None = None, status: dict | None = None):
    """Panels: (a) forward time per batch against n with the bmm ceiling, the banded solve and the fitted slope of DD;
    (b) forward+backward time; (c) trainable parameters; (d) peak memory; (e) the training race (test error against
    wall-clock seconds), if ``race`` is given; (f) per-notebook book build times, if ``status`` holds a build
    (the dict of ``tools/build_status.py``)."""
    n = column(rows, "n")
    p = column(rows, "p")
    has_status = status is not None and any(status.values())
    extra = (race is not None) + has_status
    fig, axes = plt.subplots(2 + (extra > 0), 2, figsize=(10, 7.4 + 3.4 * (extra > 0)))
    axes = axes.ravel()
    _forward_panel(axes[0], rows, n, p, fit_range)
    _fwd_bwd_panel(axes[1], rows, n)
    _parameters_panel(axes[2], rows, n)
    _memory_panel(axes[3], rows, n)
    k = 4
    if race is not None:
        _race_panel(axes[k], race)
        k += 1
    if has_status:
        _build_panel(axes[k], status)
        k += 1
    for ax in axes[:4]:  # sizes are 2^p - 1: label the ticks by p
        ax.set_xticks(n, [f"$2^{{{int(q)}}}$" for q in p], minor=False)
        ax.set_xticks([], minor=True)
    for ax in axes[k:]:
        ax.set_visible(False)
    return fig


def _forward_panel(ax, rows, n, p, fit_range):
    for key, label, color, marker, ls in _SERIES:
        _plot(ax, n, column(rows, f"{key}_forward"), label, color, marker, ls)
    _plot(ax, n, column(rows, "bmm_forward"), "one torch.bmm, same FLOPs", COLORS["other"], "x", "-")
    _plot(ax, n, column(rows, "bmm_forward") * column(rows, "dd_bytes") / column(rows, "bmm_bytes"),
          "bmm time x DD/bmm bytes moved (traffic model)", COLORS["other"], "", ":")
    _plot(ax, n, column(rows, "banded_solve"), "banded solve of A u = f (scipy)", COLORS["exact"], "v", "-.")
    t = column(rows, "dd_forward")
    sel = (p >= fit_range[0]) & (p <= fit_range[1]) & np.isfinite(t)
    if sel.sum() >= 2:
        fit = fit_exponent(n[sel], t[sel])
        ax.loglog(n[sel], fit(n[sel]) * 0.5, color=COLORS["dd"], lw=0.8, alpha=0.7,
                  label=f"fit to DD: slope {fit.exponent:.2f} (shifted down)")
    ax.set(title="(a) forward pass, one batch", xlabel="$n$", ylabel="seconds (median)")
    ax.legend(fontsize=6.5)


def _fwd_bwd_panel(ax, rows, n):
    for key, label, color, marker, ls in _SERIES:
        _plot(ax, n, column(rows, f"{key}_fwd_bwd"), label, color, marker, ls)
    ax.set(title="(b) forward + backward pass, one batch", xlabel="$n$", ylabel="seconds (median)")
    ax.legend(fontsize=6.5)


def _parameters_panel(ax, rows, n):
    ax.loglog(n, column(rows, "dd_params"), "o-", color=COLORS["dd"], ms=4, label="DD attention")
    ax.loglog(n, column(rows, "global_params_params"), "s-", color=COLORS["global"], ms=4,
              label="global, matched parameters")
    ax.loglog(n, column(rows, "global_accuracy_params"), "D:", color=COLORS["coarse"], ms=4,
              label="global, matched best accuracy")
    ax.set(title="(c) trainable parameters", xlabel="$n$", ylabel="parameters")
    ax.legend(fontsize=6.5)


def _memory_panel(ax, rows, n):
    for key, label, color, marker in (("dd", "DD attention", COLORS["dd"], "o"),
                                      ("global", "global, matched parameters", COLORS["global"], "s")):
        mb = column(rows, f"{key}_peak_bytes") / 2**20
        _plot(ax, n, mb, label, color, marker, "-")
    ax.set(title="(d) peak memory of one pass (RSS rise)", xlabel="$n$", ylabel="MiB")
    ax.legend(fontsize=6.5)


def _race_panel(ax, race):
    for name, res in race["results"].items():
        color = COLORS["dd" if name == "dd" else "global"]
        s = np.asarray(res["history_seconds"], float)
        e = np.asarray(res["history_error"], float)
        ok = s > 0
        ax.loglog(s[ok], e[ok], "o-", ms=3, color=color, label=f"{name} ({res['parameters']} parameters)")
    ax.axhline(race["target"], color=COLORS["exact"], lw=0.8, ls="--", label=f"target {race['target']}")
    ax.set(title="(e) training race: in-band test error against wall-clock", xlabel="training seconds",
           ylabel="relative error")
    ax.legend(fontsize=6.5)


def _build_panel(ax, status):
    names = sorted({r["notebook"] for s in status.values() if s for r in s["notebooks"]})
    y = np.arange(len(names))
    for j, (kind, color) in enumerate((("full", COLORS["dd"]), ("quick", COLORS["global"]))):
        if status.get(kind):
            sec = {r["notebook"]: r["seconds"] for r in status[kind]["notebooks"]}
            ax.barh(y + 0.2 - 0.4 * j, [sec.get(nm, 0.0) for nm in names], height=0.4, color=color,
                    label=f"make book{' QUICK=1' if kind == 'quick' else ''} ({status[kind]['seconds']:.0f} s)")
    ax.set_yticks(y, [nm.split("/")[-1].replace(".ipynb", "") for nm in names], fontsize=7)
    ax.set(title="(f) book build: seconds per notebook", xlabel="seconds")
    ax.legend(fontsize=6.5)
