# %% [markdown]
# (ch-performance)=
# # 7. Performance: cost against n
#
# The paper's claims are about accuracy and parameters; the cost of applying the operator matters as much once $n$
# grows. This chapter measures, on the machine that builds the book, what one forward and one forward+backward pass
# of DD attention costs for $n$ up to {glue:text}`n_last` in one dimension and beyond $6\cdot 10^4$ unknowns in two
# and three, against global attention at matched parameter count and at matched best accuracy, against the same FLOPs
# done as one dense batched matrix product (the practical ceiling), and against the classical way to apply $A^{-1}$:
# a fast direct solve. It also races DD against global attention to a target test error in wall-clock time, and
# reports how long this book takes to build. The full benchmark suite, with $n$ up to $2^{20}$, is `make bench`
# (`benchmarks/run.py`), which writes `_build/bench.json`; this chapter runs a reduced version of it.

# %% tags=["parameters", "remove-cell"]
QUICK = False  # small fast run, set by CI and by make book QUICK 1
BOX = 64       # nodes per box in 1D (fixed, so the cost should grow like n)
DELTA = 4      # overlap in nodes
RANK = 8       # local rank of DD attention
RANK0 = 8      # coarse rank of DD attention
BATCH = 32     # right-hand sides per batch
SEED = 0       # seed of every random draw in this chapter
BOX_2D = 16    # nodes per box side in 2D
DELTA_2D = 2   # overlap in 2D
BOX_3D = 8     # nodes per box side in 3D
DELTA_3D = 1   # overlap in 3D
RACE_N = 255   # grid size of the training race
RACE_K = 16    # training band of the race, also the global rank
RACE_SUBDOMAINS = 8  # subdomains of DD attention in the race
RACE_DELTA = 2 # overlap of DD attention in the race
RACE_RANK = 4  # local rank of DD attention in the race
RACE_LRS = [1e-2, 3e-2, 1e-1]  # learning rates of Adam in the race (chosen per model on validation data)
RACE_GD_LRS = [0.03, 0.1, 0.3]  # learning rates of heavy-ball gradient descent in the race
RACE_INITS = [1e-3, 1e-1]  # initial-scale grid of the race
RACE_SEEDS = [0, 1, 2]  # seeds of the race's protocol: the finalists' seed means choose
RACE_TARGET = 0.05  # target in-band test error
TARGET_EXPONENT = 1.1  # largest acceptable fitted time exponent of DD attention
TARGET_RATIO = 2.0     # largest acceptable ratio of DD forward time to the equal-FLOP bmm
TARGET_N = 65535       # the size at which the targets are judged
SMALL_BATCH = 8        # a small batch for the byte ratio of the traffic model

# %% tags=["remove-cell"]
import sys

import matplotlib.pyplot as plt
from IPython.display import display

from ddlib import benchmarks as bm
from ddlib.attention import WINDOW_MIN_ENTRIES, configure_threads
from ddlib.experiments import tuned_comparison
from ddlib.figures import FigureRecorder, glue_numbers, project_root
from ddlib.models import DDSpec, GlobalSpec
from ddlib.plotting import use_style
from ddlib.plotting.performance import performance_figure, race_figure
from ddlib.tables import table, write_csv
from ddlib.timing import cpu_times, steal_fraction
from ddlib.training import TrainConfig

sys.path.insert(0, str(project_root() / "tools"))  # the build records are read by the build's own tools
from build_status import read_build_status

use_style()
THREADS = configure_threads(1)
P_MAX = 11 if QUICK else 16
FIT = (2**9 - 1, 2**11 - 1) if QUICK else (2**10 - 1, 2**16 - 1)
SIDES = {2: [2, 4, 8] if QUICK else [2, 4, 8, 12, 17], 3: [2, 3, 4] if QUICK else [2, 3, 4, 6]}
BOXES = {2: (BOX_2D, DELTA_2D), 3: (BOX_3D, DELTA_3D)}
REPEATS = 3
PAIRED = 3 if QUICK else 5  # alternating pairs of each ratio to the bmm
MIN_REPEAT = 0.005 if QUICK else 0.02  # seconds each timed repeat lasts at least
EPOCHS = 150 if QUICK else 1000
if QUICK:
    RACE_LRS, RACE_GD_LRS, RACE_INITS, RACE_SEEDS = [3e-2, 1e-1], [0.1], [1e-3], [0, 1]
ACCURACY_MAX_BYTES = 2**28  # the matched-accuracy global model is timed while its factors fit in this many bytes
fig_rec = FigureRecorder("chapters/07_performance.ipynb", dict(QUICK=QUICK, BOX=BOX, DELTA=DELTA, RANK=RANK,
                                                                RANK0=RANK0, BATCH=BATCH, SEED=SEED))
glue_numbers(dict(threads=THREADS, window_min=WINDOW_MIN_ENTRIES, accuracy_max_mib=ACCURACY_MAX_BYTES // 2**20,
                  box=BOX, delta=DELTA, rank=RANK, rank0=RANK0, batch=BATCH, box_2d=BOX_2D, delta_2d=DELTA_2D,
                  box_3d=BOX_3D, delta_3d=DELTA_3D, race_target=RACE_TARGET, race_N=RACE_SUBDOMAINS,
                  race_delta=RACE_DELTA, race_rank=RACE_RANK, race_grank=RACE_K, race_K=RACE_K, race_n=RACE_N,
                  race_lrs=", ".join(f"{v:g}" for v in RACE_LRS), race_inits=", ".join(f"{v:g}" for v in RACE_INITS),
                  race_gd_lrs=", ".join(f"{v:g}" for v in RACE_GD_LRS), race_seeds=len(RACE_SEEDS)))

# %% [markdown]
# ## Setup
#
# In one dimension we take $n = 2^p - 1$ and $N = (n+1)/b$ boxes of $b =$ {glue:text}`box` nodes each, overlap
# $\delta =$ {glue:text}`delta`, local rank $r =$ {glue:text}`rank` and coarse rank $r_0 =$ {glue:text}`rank0`
# (hat coarse space), with seeded random factors (the cost does not depend on their values), and a batch of
# {glue:text}`batch` right-hand sides in float64. In two and three dimensions the boxes have
# {glue:text}`box_2d` and {glue:text}`box_3d` nodes a side (overlap {glue:text}`delta_2d` and
# {glue:text}`delta_3d`) and the coarse space is the tensor-product (Q1) hats. The box size is fixed, so the number
# of boxes grows with $n$ and every part of the operator should cost $O(n)$. Times are medians over repeats after a
# warm-up (`ddlib.timing.time_callable`). Every ratio to the equal-FLOP `torch.bmm` is measured *paired*: the two
# alternate in blocks of calls, and we report the median of the per-pair ratios with its quartiles
# (`ddlib.timing.time_paired`). On a shared machine the speed of memory drifts by tens of percent over seconds, and
# two medians taken at different moments drift apart with it; two blocks a few milliseconds apart see the same
# machine. PyTorch uses {glue:text}`threads` thread(s): the book runs two notebooks at once on two cores
# (`make bench` also times all cores, its `threads` table).
#
# What is timed:
#
# * **DD attention, four ways in**: `model(f)` on right-hand sides stored as rows `(batch, n)`, as the data arrive,
#   and `apply_columns` on columns `(n, batch)`, as training uses it; each under `torch.inference_mode` and with
#   grad enabled (the forward pass of training, which builds the autograd graph and folds the weights into the
#   factors on every call).
# * **How `DDAttention` runs.** Every layout computes two passes on the padded boxes: *restrict*
#   $T_i = \tilde K_i^T R_i f$ and *prolong* $u = \sum_i R_i^T\tilde Q_iT_i$, with the weights folded into the factors
#   and the coarse basis restricted to each box's core carried as a few extra columns of both, so that $\Phi^Tf$ is
#   a scatter of small sums and the coarse correction rides in the prolongation (`ddlib._window`). The *generic*
#   layout, every dimension, gathers the boxes (`index_select`), multiplies in one `torch.bmm` each and scatter-adds
#   back (`index_add`), a chunk of boxes at a time so that each gathered block stays in cache. In 1D with $N \ge 3$
#   the *window* layout takes over once $n$ times the batch reaches {glue:text}`window_min` entries (below, the
#   gather layout is faster: it does less work per call in Python): every box is a strided view of $f$, rows or
#   columns alike, so restrict reads $f$ in place, and prolong writes each box's core straight into the output and
#   adds the overlap rows as slices. The two passes are adjoint, so each one's backward is the other one (a
#   hand-written backward, checked against finite differences and against the gather path in the tests).
# * **Global attention** at matched parameters (rank $r_g = \mathrm{round}(P_{DD}/2n)$) and at matched best
#   accuracy: the exact 1D decomposition (chapter 4) truncated to local rank $r$ has best error
#   $1/\lambda_{(r+1)N}$, so by Eckart-Young a global operator needs rank $r_g = (r+1)N - 1$, which grows like
#   $n$: its parameters and cost grow like $n^2$ (`ddlib.costmodel.matched_accuracy_rank`, checked against dense
#   SVDs in the tests). We time it while its factors fit in {glue:text}`accuracy_max_mib` MiB.
# * **The equal-FLOP `torch.bmm`**: one batched product with the layout of the padded boxes and the multiply-adds of
#   the operator's product chain (two FLOPs per nonzero of each factor, `ddlib.costmodel.dd_flops`). No
#   implementation can beat it by much; the ratio to it measures what the operator's structure costs beyond its
#   arithmetic: extra passes over memory, the coarse level and per-call overheads.
# * **The direct solve**: `Problem.solve`, two orthonormal sine transforms, the classical exact way to apply
#   $A^{-1}$ here, $O(n\log n)$.

# %% tags=["remove-cell"]
cpu_before = cpu_times()
timing = dict(repeats=REPEATS, paired_repeats=PAIRED, min_repeat_seconds=MIN_REPEAT,
              batch=BATCH, rank=RANK, coarse_rank=RANK0, seed=SEED)

# %%
rows = bm.scaling_benchmark(range(8, P_MAX + 1), box=BOX, delta=DELTA,
                            backward_max_p=P_MAX, global_max_p=P_MAX,
                            accuracy_max_bytes=ACCURACY_MAX_BYTES, **timing)
dims = {d: bm.dimension_scaling(d, SIDES[d], box=BOXES[d][0], delta=BOXES[d][1],
                                **timing)
        for d in SIDES}

# %% tags=["remove-cell"]
steal = steal_fraction(cpu_before, cpu_times())

# %% [markdown]
# The race trains DD attention ($N =$ {glue:text}`race_N`, $\delta =$ {glue:text}`race_delta`, local rank
# {glue:text}`race_rank`) and global attention (rank {glue:text}`race_grank`, the smallest rank that can fit the
# {glue:text}`race_K`-mode band) one after the other in the same run on the Fourier data of chapter 1 at $n =$
# {glue:text}`race_n`, each with the optimizer, learning rate and initial scale the tuned protocol of
# {ref}`ch-dd-attention` chooses for it (Adam with {glue:text}`race_lrs` or heavy-ball gradient descent with
# {glue:text}`race_gd_lrs`, initial scales {glue:text}`race_inits`; the best seed mean of the finalists over
# {glue:text}`race_seeds` seeds on validation data), and records when each
# first reaches an in-band test error of {glue:text}`race_target:.2f` (`ddlib.benchmarks.race`; evaluation time is
# not counted).

# %%
race_base = TrainConfig(model=GlobalSpec(RACE_K), n=RACE_N, K=RACE_K, samples=64,
                        test_samples=64, epochs=EPOCHS, seed=SEED)
race_specs = {"dd": DDSpec(RACE_SUBDOMAINS, RACE_DELTA, RACE_RANK),
              "global": GlobalSpec(RACE_K)}
RACE_GRID = [{"optimizer": ["adam"], "lr": RACE_LRS, "init_scale": RACE_INITS},
             {"optimizer": ["gd"], "lr": RACE_GD_LRS, "init_scale": RACE_INITS}]
tuned = tuned_comparison(list(race_specs.values()), race_base, RACE_GRID, RACE_SEEDS)
chosen = {name: sel.chosen for name, sel in zip(race_specs, tuned)}
race_cfg = {name: race_base.replace(model=spec, **chosen[name])
            for name, spec in race_specs.items()}
race = {"target": RACE_TARGET, "chosen": chosen,
        "results": bm.race(race_cfg, RACE_TARGET)}

# %% tags=["remove-cell"]
status = read_build_status(project_root() / "_build")
report = bm.report_performance(rows, dims, race, status, fit=FIT, target_n=TARGET_N, target_exponent=TARGET_EXPONENT,
                               target_ratio=TARGET_RATIO, small_batch=SMALL_BATCH, epochs=EPOCHS, steal=steal)
glue_numbers(report["numbers"])
TIMES = {"dd_forward": "model(f)", "columns_forward": "apply_columns", "dd_grad_forward": "model(f), grad",
         "columns_grad_forward": "apply_columns, grad", "gather_forward": "gather path", "bmm_forward": "bmm",
         "global_forward": "global, matched P", "global_accuracy_forward": "global, matched accuracy",
         "direct_solve": "direct solve"}
write_csv([{"n": r["n"], **{k: 1e3 * r[k] for k in TIMES}} for r in rows], "forward_times_1d",
          columns={"n": "n", **TIMES}, units=dict.fromkeys(TIMES, "ms"))

# %% tags=["remove-input"]
display(table(rows, columns={"n": "n", "dd_params": "DD attention", "global_params_params": "global, matched P",
                             "global_accuracy_rank": "global rank at matched accuracy",
                             "global_accuracy_params": "global, matched accuracy"}, caption="Trainable parameters"))
display(table(report["exponents"], columns=["operation", "fitted exponent p"], formats={"fitted exponent p": ".2f"},
              caption=f"Time ∝ n^p, fitted between n = {FIT[0]} and {FIT[1]}"))
display(table(report["at_last"], columns={"operation": "operation", "ms": "ms", "ratio": "ratio to the bmm",
                                          "q1": "lower quartile", "q3": "upper quartile"},
              formats={"ms": ".3f", "ratio": ".2f", "q1": ".2f", "q3": ".2f"},
              caption=f"At n = {rows[-1]['n']}, a batch of {BATCH}; paired ratios with the quartiles of the pairs"))
display(table(report["dimensions"], columns={"dim": "dimension", "box": "box side", "delta": "overlap",
                                             "n_lo": "fit from n", "n_hi": "fit to n", "exponent": "exponent p",
                                             "stderr": "standard error", "grad_exponent": "p with grad",
                                             "ratio_at_top": "ratio to the bmm at the largest n"},
              formats={"exponent": ".2f", "stderr": ".2f", "grad_exponent": ".2f", "ratio_at_top": ".2f"},
              caption="DD attention's default path (the gather layout) in two and three dimensions"))
display(table(report["traffic"], columns=["memory-traffic model", "value"], formats={"value": ".3g"},
              caption=f"At n = {rows[-1]['n']}"))

# %% tags=["remove-cell"]
numbers = {k: v for k, v in report["numbers"].items() if isinstance(v, (int, float))}
fig = performance_figure(rows, FIT, dims)
fig_rec.save(fig, "F12", "performance", numbers=numbers)
plt.close(fig)

# %% [markdown]
# ```{figure} ../figures/F12_performance.png
# :name: fig-F12
# :width: 100%
#
# **Cost against $n$.** (a) 1D forward time per batch of {glue:text}`batch` right-hand sides: DD attention in blue
# (its four ways in, and the gather path) with its fitted power law (slope {glue:text}`dd_exponent:.2f`, shifted
# down), global attention in vermillion (matched parameters, matched accuracy); the grey line is one `torch.bmm` with
# DD's FLOPs, the dotted grey line that time multiplied by the ratio of bytes moved (the traffic model), the black
# one the direct solve. (b) Forward time per unknown of DD attention's default path in one, two and three
# dimensions. (c) Forward+backward time. (d) Trainable parameters. (e) Peak memory of one pass (rise of the resident
# set; a lower bound where the allocator reuses memory).
# ```

# %% [markdown]
# ## What the measurements say
#
# Every forward time drawn in {numref}`fig-F12` (a), per size and path, is in
# {download}`forward_times_1d.csv <../figures/tables/forward_times_1d.csv>`.
#
# **Linear growth.** Between $n =$ {glue:text}`fit_lo` and $n =$ {glue:text}`fit_hi` the forward time of DD attention
# in 1D grows like $n^{p}$ with fitted $p =$ {glue:text}`dd_exponent:.2f` (standard error
# {glue:text}`dd_exponent_se:.2f`; {numref}`fig-F12` (a)); the second table gathers the exponents of every
# operation. Our target was an
# exponent of at most {glue:text}`target_exponent:.1f`: it is {glue:text}`exponent_verdict`. In two and three
# dimensions (fourth table), where `DDAttention` runs its generic gather layout, the fitted exponents are
# {glue:text}`exponent_2d:.2f` and {glue:text}`exponent_3d:.2f`: against the same target,
# {glue:text}`exponent_2d_verdict` in 2D and {glue:text}`exponent_3d_verdict` in 3D. Panel (b) of
# {numref}`fig-F12` shows the time per unknown, flat where the cost is linear.
#
# An exponent below one means that fixed per-call costs (the Python calls and the small products of the coarse level)
# still weigh inside the fit range. Exponents above one can have a cause that is not in the algorithm: as $n$ grows
# the working set leaves the processor's caches, and every memory-bound step slows down per entry. The equal-FLOP
# `torch.bmm`, whose work is exactly linear in $n$, shows it too: its fitted exponent is
# {glue:text}`bmm_exponent:.2f`. Global attention at matched accuracy is the one that grows like $n^2$: at the largest
# size it would need {glue:text}`acc_params_last` parameters to match DD attention's best error, against
# {glue:text}`dd_params_last` for DD attention (first table). Single sizes can be disturbed by other processes on a
# shared machine; on a virtual machine the hypervisor can also run other guests on our cores: the share of CPU time
# it took during these measurements (the *steal* counter of `/proc/stat`, `ddlib.timing.steal_fraction`)
# {glue:text}`steal_text`.
#
# **Distance to the ceiling.** Measured in pairs at $n =$ {glue:text}`n_last`, `model(f)` takes
# {glue:text}`dd_vs_bmm:.2f` times as long as the equal-FLOP `torch.bmm`, `apply_columns`
# {glue:text}`columns_vs_bmm:.2f` times; with grad enabled {glue:text}`dd_grad_vs_bmm:.2f` and
# {glue:text}`columns_grad_vs_bmm:.2f` times (the third table has the times and the quartiles of the per-pair
# ratios). Our target was a ratio of at most {glue:text}`target_ratio:.0f` for each: for `model(f)` it is
# {glue:text}`dd_verdict`; for `apply_columns` {glue:text}`columns_verdict`; with grad {glue:text}`dd_grad_verdict`
# and {glue:text}`columns_grad_verdict`. We report the ratios as measured rather than tune the comparison.
#
# *Why not closer?* Neither operation does enough arithmetic per byte to be limited by the processor: each entry of
# $f$ meets about {glue:text}`macs_per_entry:.0f` multiply-adds ($2r$ per node in the local level, more where boxes
# overlap, and {glue:text}`coarse_macs_per_entry:.1f` in the coarse basis). What decides is how many bytes cross the
# memory bus, and those we can count (`ddlib.costmodel.dd_traffic`, `bmm_traffic`; last table). DD attention reads
# $f$ through its windows and the factors, writes the box coefficients and reads them back, writes an output as
# large as $f$, and adds the overlap rows; the `bmm` reads its two operands and writes only
# {glue:text}`bmm_k` numbers per box and right-hand side. When every step goes to memory (an estimate, not a bound:
# caches spare some of it) DD attention moves {glue:text}`bytes_ratio:.2f` times the bytes of the `bmm`; that it
# runs closer than this is the caches' doing. With two products and a full-size output between them the ceiling
# cannot be reached; narrowing the gap further would take one fused kernel that reads $f$ once and writes the output
# once. The byte ratio depends on the batch, because the factors are read once per call and $f$ once per right-hand
# side ({glue:text}`bytes_ratio_small:.2f` at a batch of {glue:text}`small_batch`, {glue:text}`bytes_ratio_inf:.2f`
# for very many). With grad enabled the weights are folded into the factors on every call, a pass over memory as
# large as the factors.
#
# The generic gather layout, which copies every box out of $f$ and scatters the result back with `index_add`, takes
# {glue:text}`gather_over_dd:.1f` times as long as the window layout in 1D; it is what runs in two and three
# dimensions, where a box is no longer a strided view that a batched product can read.
#
# **Against the classical solve.** The direct solve applies $A^{-1}$ *exactly*; at $n =$ {glue:text}`n_last` DD
# attention's forward pass is {glue:text}`direct_cmp`. Both cost about $n$ per right-hand side, but only the direct
# solve is exact, and it needs no training: for this model problem the learned operator buys its speed (where it has
# any) with an approximation error. Its interest lies where no such solver exists; the measurement puts a number on
# what it costs relative to one.
#
# ## Time to a target error
#
# Fewer epochs are not the same as less time. {glue:text}`race_seconds_cmp` (the table). One epoch cost
# {glue:text}`race_dd_per_epoch_ms:.2f` ms for DD and {glue:text}`race_global_per_epoch_ms:.2f` ms for global
# attention: {glue:text}`epoch_cmp`, so an advantage in epochs need not carry over to seconds. The readings are at
# the recorded evaluation epochs (geometrically spaced, `ddlib.training.eval_epochs`), so they locate the crossing
# only to the nearest recorded epoch.

# %% tags=["remove-input"]
table(report["race"], columns={"model": "model", "parameters": "P", "optimizer": "optimizer", "lr": "lr", "init": "init",
                               "epoch": "epochs to target", "seconds": "seconds to target",
                               "final": f"error after {EPOCHS} epochs", "per_epoch": "ms per epoch"},
      formats={"lr": "g", "init": "g", "epoch": ".0f", "seconds": ".2f", "final": ".4f", "per_epoch": ".2f"},
      caption=f"The race to an in-band test error of {RACE_TARGET} (– : not reached)")

# %% [markdown]
# ## How long this book takes to build
#
# `tools/build_book.py` writes the per-notebook execution times of the latest complete build of each kind to
# `_build/status-full.json` and `_build/status-quick.json`. This chapter runs inside a build, so it can only read
# the builds before it; the status page ({doc}`../status`) records the build you are reading. Before this build,
# {glue:text}`book_full_text`; and {glue:text}`book_quick_text`. The targets are twenty minutes for `make book` and
# two minutes for `make book QUICK=1` on two cores. These are notebook execution times; the HTML build adds a fixed
# amount on top (`make bench` with `--time-book` measures both commands end to end). {numref}`fig-F12-race` draws
# the race and the build times.

# %% tags=["remove-cell"]
fig = race_figure(race, status)
fig_rec.save(fig, "F12", "race", numbers=numbers)
plt.close(fig)

# %% [markdown]
# ```{figure} ../figures/F12_race.png
# :name: fig-F12-race
# :width: 100%
#
# **The training race and the book's build.** (a) In-band test error against training seconds for DD attention
# (blue) and global attention (vermillion), each with its tuned knobs, and the target (grey, dashed). (b) Seconds
# per chapter of the latest complete builds recorded before this one (dark: `make book`, light:
# `make book QUICK=1`), where there are any.
# ```

# %% [markdown]
# ## What is left to do
#
# At $n =$ {glue:text}`n_last` forward+backward takes {glue:text}`fb_over_fwd:.1f` times as long as the inference
# forward pass (third table): the backward does twice the forward's products, the weights are folded into the
# factors and back on every call, and the timed loss $\tfrac1B\sum_b\|M f_b\|^2$ passes over full-size arrays too.
# What the forward pass would need to come closer to the `bmm` is said above: a fused kernel. In two and three
# dimensions the gather and the `index_add` scatter are the price of boxes that are not strided views. A second
# coarse level would be needed to keep an *exact* coarse solve ($r_0 = N_0$) linear in $n$: with a fixed coarse rank,
# as here, the coarse level is cheap but approximate.
