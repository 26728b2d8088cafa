#!/usr/bin/env python
"""The benchmark suite (``make bench``): scaling of DD and global attention in 1D, the bmm ceiling, the direct-solve
anchor, the scaling of DD attention's default path in 2D and 3D, time to a target test error, and the book's build
times. Writes ``_build/bench.json`` and prints the headline numbers.

    .venv/bin/python benchmarks/run.py                 # full suite: n = 2^8 .. 2^20 (backward and global to 2^16),
                                                       # 2D to n = 511^2, 3D to n = 63^3
    .venv/bin/python benchmarks/run.py --quick         # n up to 2^12, a short training race (a smoke test)
    .venv/bin/python benchmarks/run.py --time-book     # also time `make book` and `make book QUICK=1` end to end

All measurement code is in the library: the suites in :mod:`ddlib.benchmarks`, built on :mod:`ddlib.timing`,
:mod:`ddlib.memory` and :mod:`ddlib.costmodel`; the book's build records are read by ``tools/build_status.py``. This
script only chooses the sizes and writes the results.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from build_status import read_build_status  # noqa: E402

from ddlib import benchmarks as bm  # noqa: E402
from ddlib.attention import configure_threads  # noqa: E402
from ddlib.figures import to_jsonable  # noqa: E402
from ddlib.provenance import provenance  # noqa: E402
from ddlib.timing import cpu_times, steal_fraction  # noqa: E402
from ddlib.training import TrainConfig  # noqa: E402


def thread_study(p: int, threads: list[int], repeats: int) -> list[dict]:
    """DD forward and the bmm ceiling at n = 2^p - 1 with each thread count (the choice of torch.set_num_threads)."""
    out = []
    before = torch.get_num_threads()
    for t in threads:
        torch.set_num_threads(t)
        row = bm.scaling_benchmark([p], direct=False, gather=False, memory=False, global_max_p=0, repeats=repeats)[0]
        out.append({"threads": t, "dd_forward": row["dd_forward"], "dd_forward_best": row["dd_forward_best"],
                    "columns_forward": row["columns_forward"], "bmm_forward": row["bmm_forward"],
                    "dd_vs_bmm": row["dd_vs_bmm"], "dd_fwd_bwd": row["dd_fwd_bwd"]})
    torch.set_num_threads(before)
    return out


#: The 2D and 3D scaling of the default path: dimension -> (box nodes a side, overlap, boxes a side N).
DIMENSIONS = {2: (16, 2, [2, 4, 8, 16, 32]), 3: (8, 1, [2, 3, 4, 6, 8])}
QUICK_DIMENSIONS = {2: (8, 2, [2, 4]), 3: (4, 1, [2, 3])}  # a smoke test


def dimension_study(quick: bool, repeats: int) -> dict:
    """DD attention's default path (the generic gather path) in 2D and 3D: rows and their summary per dimension
    (fitted over ddlib.benchmarks.dimension_fit)."""
    out = {}
    for dim, (box, delta, Ns) in (QUICK_DIMENSIONS if quick else DIMENSIONS).items():
        rows = bm.dimension_scaling(dim, Ns, box=box, delta=delta, repeats=repeats)
        for r in rows:
            print(f"  {dim}D n = {r['n']:7d} (N = {r['N']:2d})  DD fwd {r['dd_forward'] * 1e3:9.2f} ms  grad mode "
                  f"{r['dd_grad_forward'] * 1e3:9.2f} ms  fwd+bwd {r['dd_fwd_bwd'] * 1e3:9.2f} ms  paired ratio to "
                  f"bmm {r['dd_vs_bmm']:.2f}", flush=True)
        fit = bm.dimension_fit(rows)
        out[str(dim)] = {"box": box, "delta": delta, "rows": rows,
                         "summary": bm.summarize_scaling(rows, fit=fit, ratio_at=fit[1])}
    return out


def training_race(quick: bool) -> dict:
    """DD against global attention trained in the same run: wall-clock seconds to a target in-band test error."""
    base = dict(n=255, K=16, samples=64, test_samples=64, lr=1e-2, epochs=300 if quick else 2000, seed=0)
    configs = {"dd": TrainConfig(model={"kind": "dd", "N": 8, "delta": 2, "local_rank": 4}, **base),
               "global": TrainConfig(model={"kind": "global", "rank": 16}, **base)}
    target = 0.05
    res = bm.race(configs, target, "error_in_band")
    return {"target": target, "metric": "error_in_band", "configs": {k: v.to_dict() for k, v in configs.items()},
            "results": res}


def time_book(quick: bool) -> tuple[float, int]:
    """Wall-clock seconds of ``make book`` (or ``make book QUICK=1``), end to end, HTML included, and its exit code."""
    t0 = time.perf_counter()
    proc = subprocess.run(["make", "book", f"QUICK={int(quick)}"], cwd=ROOT)
    if proc.returncode:
        print(f"warning: make book QUICK={int(quick)} failed with exit code {proc.returncode}", file=sys.stderr)
    return time.perf_counter() - t0, proc.returncode


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="n up to 2^12 and a short training race")
    ap.add_argument("--max-p", type=int, default=None, help="largest p (n = 2^p - 1) of the forward scaling (default 20)")
    ap.add_argument("--repeats", type=int, default=7, help="timed repeats per measurement (the median is reported)")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default 1; the thread table compares 1 with all CPUs)")
    ap.add_argument("--no-train", action="store_true", help="skip the training race")
    ap.add_argument("--time-book", action="store_true", help="run and time make book and make book QUICK=1")
    ap.add_argument("--out", type=Path, default=ROOT / "_build" / "bench.json")
    args = ap.parse_args(argv)

    cpus = len(os.sched_getaffinity(0))
    threads = configure_threads(args.threads or 1)  # one thread: stable on a shared 2-core machine (see threads table)
    max_p = args.max_p or (12 if args.quick else 20)
    big = min(12 if args.quick else 16, max_p)
    load0 = os.getloadavg()
    cpu0 = cpu_times()
    t0 = time.perf_counter()
    print(f"benchmark: torch threads {threads} of {cpus} CPUs, load average {load0[0]:.2f}", flush=True)

    rows = bm.scaling_benchmark(range(8, max_p + 1), backward_max_p=big, global_max_p=max_p, repeats=args.repeats)
    for r in rows:
        print(f"  n = 2^{r['p']:2d} - 1  DD fwd {r['dd_forward'] * 1e3:9.2f} ms  columns {r['columns_forward'] * 1e3:9.2f}"
              f" ms  grad mode {r['dd_grad_forward'] * 1e3:9.2f} ms  columns grad {r['columns_grad_forward'] * 1e3:9.2f}"
              f" ms  gather {r.get('gather_forward', np.nan) * 1e3:9.2f} ms  bmm {r['bmm_forward'] * 1e3:8.2f} ms"
              f"  global(P) {r.get('global_forward', np.nan) * 1e3:9.2f} ms  global(acc) "
              f"{r['global_accuracy_forward'] * 1e3:9.2f} ms  direct {r['direct_solve'] * 1e3:8.2f} ms", flush=True)
    fit = (2**(10 if max_p >= 12 else 8) - 1, 2**big - 1)
    summary = bm.summarize_scaling(rows, fit=fit, ratio_at=2**big - 1)
    summary_best = bm.summarize_scaling(rows, fit=fit, ratio_at=2**big - 1, statistic="best")
    dims = dimension_study(args.quick, args.repeats)
    threads_tab = thread_study(big, sorted({1, cpus}), args.repeats)
    race = None if args.no_train else training_race(args.quick)

    status = read_build_status(ROOT / "_build")
    book = {"status": status}
    if args.time_book:
        book["make_book_seconds"], book["make_book_returncode"] = time_book(False)
        book["make_book_quick_seconds"], book["make_book_quick_returncode"] = time_book(True)
        status = book["status"] = read_build_status(ROOT / "_build")
    book_seconds = book.get("make_book_seconds", status["full"]["seconds"] if status["full"] else None)
    book_quick_seconds = book.get("make_book_quick_seconds", status["quick"]["seconds"] if status["quick"] else None)

    result = {
        "dd_time_exponent": summary["dd_time_exponent"],
        "dd_vs_bmm_ratio": summary["dd_vs_bmm_ratio"],
        "dd_vs_bmm_ratio_definition": "median over alternating DD/bmm timing blocks of the per-pair time ratio "
                                      "(ddlib.timing.time_paired), for each of the paths of ddlib.benchmarks.PATHS "
                                      "(summary.<path>_vs_bmm_ratio with quartiles); summary.dd_vs_bmm_ratio_of_medians "
                                      "is the ratio of the two medians over the same blocks; the gather ratio is "
                                      "timed separately from the bmm",
        "time_exponent_2d": dims["2"]["summary"]["dd_time_exponent"],
        "time_exponent_3d": dims["3"]["summary"]["dd_time_exponent"],
        "book_seconds": book_seconds,
        "book_quick_seconds": book_quick_seconds,
        "book_seconds_source": "make book wall-clock" if args.time_book else "notebook execution from _build/status-*.json",
        "summary": summary,
        "summary_best": summary_best,
        "scaling": rows,
        "dimensions": dims,
        "threads": threads_tab,
        "training_race": race,
        "book": book,
        "setup": {"threads": threads, "cpus": cpus, "repeats": args.repeats, "max_p": max_p, "quick": args.quick,
                  "load_average_before": load0, "load_average_after": os.getloadavg(),
                  "steal_fraction": steal_fraction(cpu0, cpu_times()),
                  "seconds": time.perf_counter() - t0, "command": " ".join(sys.argv)},
        "provenance": provenance(ROOT),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(to_jsonable(result), indent=1))

    s, sb = summary, summary_best
    print(f"\nDD attention forward time exponent (n = {fit[0]}..{fit[1]}): {s['dd_time_exponent']:.3f}"
          f" +- {s['dd_time_exponent_stderr']:.3f} (fastest repeats: {sb['dd_time_exponent']:.3f}); "
          f"apply_columns {s['columns_time_exponent']:.3f}, grad mode {s['dd_grad_time_exponent']:.3f}, "
          f"gather path {s['gather_time_exponent']:.3f}")
    for dim, d in dims.items():
        ds = d["summary"]
        print(f"{dim}D default path, forward time exponent (n = {ds['fit_range_n'][0]}..{ds['fit_range_n'][1]}): "
              f"{ds['dd_time_exponent']:.3f} +- {ds['dd_time_exponent_stderr']:.3f}; grad mode "
              f"{ds['dd_grad_time_exponent']:.3f}; paired ratio to the equal-FLOP bmm at n = {ds['ratio_at_n']}: "
              f"{ds['dd_vs_bmm_ratio']:.2f}")
    for path, label in (("dd", "forward dd(f) on rows"), ("columns", "apply_columns"),
                        ("dd_grad", "grad mode dd(f) on rows"), ("columns_grad", "grad mode apply_columns")):
        print(f"DD forward / equal-FLOP torch.bmm at n = {s['ratio_at_n']}, {label}: {s[f'{path}_vs_bmm_ratio']:.2f} "
              f"paired median (quartiles {s[f'{path}_vs_bmm_ratio_q1']:.2f} .. {s[f'{path}_vs_bmm_ratio_q3']:.2f})")
    print(f"  ratio of the two medians {s['dd_vs_bmm_ratio_of_medians']:.2f}, of fastest repeats "
          f"{sb['dd_vs_bmm_ratio']:.2f}; gather path {s['gather_vs_bmm_ratio']:.2f}")
    print(f"memory-traffic model (ddlib.costmodel.dd_traffic / bmm_traffic): DD moves "
          f"{s['dd_vs_bmm_bytes_ratio']:.2f} times the bytes of the bmm")
    print(f"global attention at matched accuracy: time exponent {s['global_accuracy_time_exponent']:.3f}")
    for t in threads_tab:
        print(f"threads {t['threads']}: DD forward {t['dd_forward'] * 1e3:.2f} ms, bmm {t['bmm_forward'] * 1e3:.2f} ms,"
              f" paired ratio {t['dd_vs_bmm']:.2f}")
    if race:
        for k, v in race["results"].items():
            print(f"training race, {k}: target {race['target']} reached after {v['seconds']:.2f} s (epoch {v['epoch']}),"
                  f" final error {v['final_error']:.4f}, {v['parameters']} parameters")
    for kind, sec in (("make book", book_seconds), ("make book QUICK=1", book_quick_seconds)):
        print(f"{kind}: " + (f"{sec:.1f} s" if sec is not None else "no complete build recorded yet (run it first)"))
    print(f"load average before/after: {load0[0]:.2f} / {os.getloadavg()[0]:.2f}; CPU time stolen by the hypervisor"
          f" during the run: {100 * result['setup']['steal_fraction']:.1f}%; wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
