#!/usr/bin/env python
"""AMG against two-level Schwarz and a sparse direct solve on the high-contrast channel field (``make bench``).

    .venv/bin/python benchmarks/bench_amg.py                  # m = 255, 511, 1023 (n up to 1,046,529)
    .venv/bin/python benchmarks/bench_amg.py --ms 63 127      # a small run

For each size it solves the channel field of contrast ``--contrast`` with every solver of :mod:`ddlib.amg`, one at a
time (setup and solve seconds apart, CG iterations to 1e-8, the load average before and after each), and writes the
rows to ``_build/bench_amg.json``, which the chapter "High-contrast coefficients" reads (it runs a small version when
the file is absent). All measurement code is in :func:`ddlib.amg.solver_comparison`; this script chooses the sizes.
Run it alone: the timings of a shared machine move with its load.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ddlib import amg  # noqa: E402
from ddlib._io import atomic_write  # noqa: E402
from ddlib.figures import to_jsonable  # noqa: E402
from ddlib.provenance import provenance  # noqa: E402
from ddlib.timing import cpu_times, steal_fraction  # noqa: E402

OUT = ROOT / "_build" / "bench_amg.json"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ms", type=int, nargs="+", default=[255, 511, 1023], help="nodes per side (n = m^2)")
    ap.add_argument("--contrast", type=float, default=1e4, help="contrast of the channel field")
    ap.add_argument("--h-over-h", type=int, default=16, help="H/h of the Schwarz boxes (N = (m + 1) / (H/h))")
    ap.add_argument("--geneo-max-n", type=int, default=300_000, help="largest n for Schwarz with GenEO")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    load0, cpu0, t0 = os.getloadavg(), cpu_times(), time.perf_counter()
    print(f"AMG benchmark: m = {args.ms}, contrast {args.contrast:g}, load average {load0[0]:.2f}", flush=True)
    rows = []
    for m in args.ms:
        for r in amg.solver_comparison([m], args.contrast, H_over_h=args.h_over_h, geneo_max_n=args.geneo_max_n):
            rows.append(r)
            print(f"  n = {r['n']:9d} {r['method']:14s} its {r['iterations']:4d}{'' if r['converged'] else '+'}"
                  f"  setup {r['setup_s']:8.2f} s  solve {r['solve_s']:8.2f} s  load {r['load_before']:.1f}",
                  flush=True)
    result = {"rows": rows, "setup": {"ms": args.ms, "contrast": args.contrast, "H_over_h": args.h_over_h,
                                      "load_average_before": load0, "load_average_after": os.getloadavg(),
                                      "steal_fraction": steal_fraction(cpu0, cpu_times()),
                                      "seconds": time.perf_counter() - t0, "command": " ".join(sys.argv)},
              "provenance": provenance(ROOT)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(args.out, json.dumps(to_jsonable(result), indent=1))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
