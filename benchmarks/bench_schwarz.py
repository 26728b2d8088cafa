#!/usr/bin/env python
"""Build and apply time and memory of the two-level Schwarz preconditioner at n = 2^20 (a benchmark, not a test).

Usage: ``python benchmarks/bench_schwarz.py [--log2n 20] [--box 1024] [--delta 8] [--repeat 10]``.

For each variant it prints the time to build :math:`M^{-1}` (local LDL^T factorization of all subdomains in one
LAPACK call, sparse transfer matrices, sparse LU of :math:`A_0`), the mean time of one application, the bytes the
operator stores (``nbytes``), the peak of Python-visible allocations during the build (``tracemalloc``; NumPy
arrays are included, SuperLU's own workspace is not), and the PCG iterations to 1e-8 for a seeded standard normal
right-hand side (at most 200 steps). Timings depend on the machine and its load; run with
``OPENBLAS_NUM_THREADS=1`` on shared cores.
"""
from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from ddlib.decomposition import Decomposition
from ddlib.krylov import pcg
from ddlib.problem import Problem
from ddlib.schwarz import schwarz_preconditioner


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log2n", type=int, default=20, help="n = 2^log2n - 1 grid nodes")
    ap.add_argument("--box", type=int, default=1024, help="nodes per block, H/h (N = 2^log2n / box)")
    ap.add_argument("--delta", type=int, default=8, help="overlap in nodes per side")
    ap.add_argument("--repeat", type=int, default=10, help="applications timed")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    n = 2**args.log2n - 1
    N = (n + 1) // args.box
    dec = Decomposition(Problem(n), N, args.delta)
    A = dec.problem.matrix()
    x = np.random.default_rng(args.seed).standard_normal(n)
    print(f"n = {n}, N = {N}, H/h = {args.box}, delta = {args.delta}")
    print(f"{'weighting, coarse':28s} {'build s':>8s} {'apply ms':>9s} {'stored MB':>10s} {'B/node':>7s} {'peak MB':>8s} "
          f"{'PCG its':>7s} {'PCG s':>6s}")
    for weighting, coarse, partition in [("none", "none", "multiplicity"), ("none", "hat", "multiplicity"),
                                       ("sqrt", "hat", "ramp"), ("none", "nicolaides", "ramp")]:
        tracemalloc.start()
        t0 = time.perf_counter()
        M = schwarz_preconditioner(dec, A, weighting=weighting, coarse=coarse, partition=partition)
        build = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        t0 = time.perf_counter()
        for _ in range(args.repeat):
            M @ x
        apply = (time.perf_counter() - t0) / args.repeat
        t0 = time.perf_counter()
        res = pcg(A, x, M, rtol=1e-8, maxiter=200)  # one level needs thousands of steps here: capped
        solve = time.perf_counter() - t0
        its = f"{res.iterations}" if res.converged else f">{res.iterations}"
        print(f"{weighting + ', ' + coarse:28s} {build:8.3f} {1e3 * apply:9.1f} {M.nbytes / 1e6:10.1f} "
              f"{M.nbytes / n:7.1f} {peak / 1e6:8.1f} {its:>7s} {solve:6.2f}")


if __name__ == "__main__":
    main()
