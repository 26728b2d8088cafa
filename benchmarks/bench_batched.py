#!/usr/bin/env python
"""The batched trainer against one run after another, paired, on the base regime of issue 23.

    .venv/bin/python benchmarks/bench_batched.py                    # 300 epochs, 3 alternating pairs
    .venv/bin/python benchmarks/bench_batched.py --epochs 50 --repeats 1

The grid of a tuned comparison: n = 255, 64 band samples (K = 16), learning rate {1e-3, 1e-2, 1e-1} x initial scale
{1e-4, 1e-3, 1e-1} x seeds {0, 1, 2} (27 runs) of global attention r = 16 and of DD attention (N = 16, delta = 2,
local rank 1, hat coarse space). Every pair trains the 27 runs once one at a time and once as one batch, in this
process, cache off, evaluation included (:func:`ddlib.benchmarks.batched_speedup`); writes
``_build/bench_batched.json``. Run it alone: the seconds of a shared machine move with its load (the paired ratio
less so).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ddlib._io import atomic_write  # noqa: E402
from ddlib.attention import configure_threads  # noqa: E402
from ddlib.benchmarks import batched_speedup  # noqa: E402
from ddlib.figures import to_jsonable  # noqa: E402
from ddlib.models import DDSpec, GlobalSpec  # noqa: E402
from ddlib.provenance import provenance  # noqa: E402
from ddlib.training import TrainConfig  # noqa: E402

MODELS = {"global r = 16": GlobalSpec(16), "DD N = 16": DDSpec(16, 2, 1)}
GRID = {"lr": (1e-3, 1e-2, 1e-1), "init_scale": (1e-4, 1e-3, 1e-1), "seed": (0, 1, 2)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epochs", type=int, default=300, help="epochs of every run (default 300)")
    ap.add_argument("--repeats", type=int, default=3, help="alternating pairs (default 3)")
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "bench_batched.json")
    args = ap.parse_args(argv)
    configure_threads(1)
    out = {"setup": {"epochs": args.epochs, "repeats": args.repeats, "load_average_before": os.getloadavg()}}
    for name, spec in MODELS.items():
        base = TrainConfig(model=spec, n=255, K=16, samples=64, epochs=args.epochs)
        configs = [base.replace(lr=lr, init_scale=s, seed=seed) for lr in GRID["lr"] for s in GRID["init_scale"]
                   for seed in GRID["seed"]]
        out[name] = r = batched_speedup(configs, repeats=args.repeats)
        print(f"{name}: {r['runs']} runs x {r['epochs']} epochs: one at a time {r['sequential_seconds']:.1f} s, "
              f"batched {r['batched_seconds']:.1f} s, paired speed-up {r['speedup']:.2f} "
              f"(quartiles {r['speedup_q1']:.2f}..{r['speedup_q3']:.2f}); largest relative deviation of a final "
              f"validation error {r['max_relative_deviation']:.1e}", flush=True)
    out["setup"]["load_average_after"] = os.getloadavg()
    out["provenance"] = provenance(ROOT)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(args.out, json.dumps(to_jsonable(out), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
