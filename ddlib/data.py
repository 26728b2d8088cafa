r"""Seeded data sets of right-hand sides ``f`` and exact solutions ``u = A^{-1} f`` on a :class:`ddlib.problem.Problem`
of any dimension.

The training data are synthetic Fourier right-hand sides on the **band** of modes :math:`\max_j k_j \le K`,

.. math::  f(x) = \sum_{\max_j k_j \le K} a_{\mathbf k} \prod_{j=1}^d \sin(k_j\pi x_j), \qquad
           a_{\mathbf k} \sim \mathcal N\big(0, |\mathbf k|^{-2s}\big),

``K^d`` modes: in 1D the paper's band ``1..K``, in 2D and 3D its tensor product (the square and the cube). Why
:math:`\max_j k_j` and not :math:`|\mathbf k| \le K`: the band is then the product of 1D bands (every 1D statement,
e.g. the data trap of fact 5, carries over with :math:`K \to K^d` modes), it is exactly what a ``K``-point sine
transform per axis resolves, and the out-of-band shell :math:`K < \max_j k_j \le 2K` is again a difference of two
cubes, disjoint from the band. The price is anisotropy: the corner mode has frequency :math:`\sqrt d\,K`. With a
constant coefficient the modes are eigenvectors of :math:`A` (fact 1); with a variable coefficient they are simply
smooth right-hand sides and ``u`` comes from the sparse solve. Samples are rows: ``f`` and ``u`` have shape
``(samples, n)``.

The training distribution is one of :data:`TRAINING_KINDS`:

``"fourier"``
    the band above (coefficients decaying like :math:`|\mathbf k|^{-s}` with ``decay = s``);
``"noise"``
    white noise :math:`f_p \sim \mathcal{N}(0, 1)`: every mode equally;
``"smooth"``
    a smooth Gaussian random field, every mode :math:`\max_j k_j \le m` with :math:`a_{\mathbf k} \sim
    \mathcal N(0, |\mathbf k|^{-2\cdot 2})` (:data:`SMOOTH_DECAY` = 2, the covariance :math:`(-\Delta)^{-2}` up to
    scaling);
``"probes"``
    random probe vectors for training a *preconditioner*: :math:`u = z \sim \mathcal N(0, I)` and :math:`f = Az`
    (the stencil, :math:`O(n)`). For any operator :math:`M`, :math:`\mathbb E\,\|Mf - u\|_2^2 = \|I - MA\|_F^2`
    (Hutchinson's identity), so the squared-error loss on probes weighs every direction alike;
``"energy_probes"``
    :math:`u = z \sim \mathcal N(0, A^{-1})` (:math:`z = A^{-1/2}w`, :math:`w \sim \mathcal N(0, I)`, by the
    orthonormal sine transform; constant coefficient) and :math:`f = A^{1/2}w`. In the energy norm,
    :math:`\mathbb E\,\|(MA - I)z\|_A^2 = \sum_i (1 - \mu_i)^2` with :math:`\mu_i` the eigenvalues of :math:`MA`
    (symmetric :math:`M`): a function of the preconditioned spectrum alone (``loss="energy"`` of
    :class:`ddlib.training.TrainConfig`). With a variable coefficient the sine transform no longer diagonalises
    :math:`A`; then :math:`f = Bw` with :math:`BB^T = A` (:func:`gradient_factor`, ``w`` one normal draw per edge)
    and :math:`u = A^{-1}f`, again :math:`u \sim \mathcal N(0, A^{-1})`.

The named sets (:data:`DATASETS`) are ``"train"`` and ``"validation"`` (independent draws from the training
distribution; the validation set chooses hyper-parameters, it is never a test set), and the held-out test sets
(:data:`TEST_SETS`) ``"in_band"`` (an independent draw of the band), ``"out_of_band"`` (the shell
:math:`K < \max_j k_j \le 2K`), ``"noise"`` (white noise) and ``"point_loads"`` (unit point loads
:math:`f = e_p/h^d` at uniformly drawn nodes ``p``: unit mass for the quadrature weight, so :math:`u \approx
G(\cdot, x_p)`, the Green's function).

Every set is a deterministic function of ``(name, problem, samples, K, seed, decay, training)``: the random stream is
``numpy.random.default_rng([seed, index of name])``, so the sets of one seed are independent of each other (a noise
training set is not the noise test set).

Examples
--------
>>> from ddlib.problem import Problem
>>> from ddlib.data import make_dataset
>>> d = make_dataset("train", Problem(31), samples=4, K=3, seed=0)
>>> d.f.shape, d.u.shape, d.modes
((4, 31), (4, 31), (1, 3))
>>> make_dataset("out_of_band", Problem((15, 15)), samples=4, K=3, seed=0).f.shape
(4, 225)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.fft
import scipy.sparse as sp

from ._validate import check_choice, check_int
from .problem import Problem

__all__ = ["DATASETS", "TEST_SETS", "TRAINING_KINDS", "SMOOTH_DECAY", "IN_DISTRIBUTION", "Dataset", "band_modes",
           "sine_synthesis", "make_dataset", "make_datasets", "in_distribution_set", "relative_l2_error",
           "gradient_factor"]

#: The data-set names accepted by :func:`make_dataset`, in the order used to derive their random streams.
DATASETS = ("train", "in_band", "out_of_band", "noise", "point_loads", "validation")
#: The held-out test sets (never used to choose anything).
TEST_SETS = ("in_band", "out_of_band", "noise", "point_loads")
#: Training distributions (the ``"train"`` and ``"validation"`` sets).
TRAINING_KINDS = ("fourier", "noise", "smooth", "probes", "energy_probes")
#: The set that measures the error on the training distribution ``training`` (:func:`in_distribution_set`).
IN_DISTRIBUTION = {"fourier": "in_band", "noise": "noise", "smooth": "validation", "probes": "validation",
                   "energy_probes": "validation"}
#: Decay exponent ``s`` of the ``"smooth"`` family, :math:`a_{\mathbf k} \sim \mathcal N(0, |\mathbf k|^{-2s})`.
SMOOTH_DECAY = 2.0


@dataclass(frozen=True)
class Dataset:
    """A set of right-hand sides ``f`` and solutions ``u`` (rows are samples) with how it was made."""

    name: str
    f: np.ndarray
    u: np.ndarray
    modes: tuple[int, int] | None
    params: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return self.f.shape[0]


def band_modes(lo: int, hi: int, dim: int = 1) -> np.ndarray:
    r"""Mode numbers of the shell :math:`lo \le \max_j k_j \le hi`, shape ``(count, dim)``, ordered
    lexicographically (last index fastest).

    >>> band_modes(2, 2, dim=2).tolist()
    [[1, 2], [2, 1], [2, 2]]
    """
    lo, hi = check_int("lo", lo, low=1), check_int("hi", hi, low=1)
    if hi < lo:
        raise ValueError(f"hi must be >= lo = {lo}; got {hi}")
    k = np.indices((hi,) * check_int("dim", dim, low=1)).reshape(dim, -1).T + 1
    return k[k.max(axis=1) >= lo]


def sine_synthesis(problem: Problem, modes: np.ndarray, coefficients) -> np.ndarray:
    r"""Grid values :math:`f_s(x) = \sum_\ell c_{s\ell}\prod_j\sin(k_{\ell j}\pi x_j)`, rows ``(samples, n)``.

    The coefficients are placed in an ``m^d`` spectrum and transformed by one unnormalised DST-I per axis
    (:math:`\mathrm{DST}(c)_a = 2\sum_j c_j\sin(ja\pi h)`, hence the factor :math:`2^{-d}`): :math:`O(n\log n)`.
    """
    k = problem.mode_numbers(modes)
    c = np.atleast_2d(np.asarray(coefficients, dtype=np.float64))
    if c.shape[1] != k.shape[0]:
        raise ValueError(f"coefficients must have shape (samples, {k.shape[0]}) to match modes; got {c.shape}")
    C = np.zeros((c.shape[0], *problem.shape))
    C[(slice(None), *(k - 1).T)] = c
    axes = tuple(range(1, problem.dim + 1))
    return scipy.fft.dstn(C, type=1, axes=axes).reshape(c.shape[0], problem.n) / 2.0**problem.dim


def make_dataset(name: str, problem: Problem, samples: int, K: int, seed: int, decay: float = 0.0,
                 training: str = "fourier") -> Dataset:
    """Build the named data set (see the module docstring) on ``problem``.

    ``1 <= K <= m // 2`` so that the out-of-band shell is resolved on the grid; ``training`` is the distribution of
    ``"train"`` and ``"validation"`` (:data:`TRAINING_KINDS`). ``modes`` holds ``(lo, hi)`` of the shell
    :math:`lo \\le \\max_j k_j \\le hi` (None for noise, point loads and probes).
    """
    check_choice("name", name, DATASETS)
    check_choice("training", training, TRAINING_KINDS)
    if not isinstance(problem, Problem):
        raise ValueError(f"problem must be a ddlib.problem.Problem; got {type(problem).__name__}")
    samples = check_int("samples", samples, low=1)
    K = check_int("K", K, low=1, high=max(1, problem.m // 2))
    seed = check_int("seed", seed, low=0)
    decay = float(decay)
    if not np.isfinite(decay) or decay < 0:
        raise ValueError(f"decay must be a finite number >= 0; got {decay!r}")
    rng = np.random.default_rng([seed, DATASETS.index(name)])
    modes, u = None, None
    kind = training if name in ("train", "validation") else name
    if kind in ("fourier", "in_band", "out_of_band", "smooth"):
        lo, hi = {"out_of_band": (K + 1, 2 * K), "smooth": (1, problem.m)}.get(kind, (1, K))
        k = band_modes(lo, hi, problem.dim)
        s = SMOOTH_DECAY if kind == "smooth" else decay
        a = rng.standard_normal((samples, k.shape[0])) * np.linalg.norm(k, axis=1) ** (-s)
        f = sine_synthesis(problem, k, a)
        modes = (lo, hi)
    elif kind in ("probes", "energy_probes"):
        f, u = _probes(rng, problem, samples, energy=kind == "energy_probes")
    elif kind == "noise":
        f = rng.standard_normal((samples, problem.n))
    else:  # point_loads
        p = rng.integers(0, problem.n, size=samples)
        f = np.zeros((samples, problem.n))
        f[np.arange(samples), p] = 1.0 / problem.weight
    if u is None:
        u = problem.solve(f)
    params = dict(shape=problem.shape, n=problem.n, samples=samples, K=K, seed=seed, decay=decay,
                  training=training)
    return Dataset(name=name, f=f, u=u, modes=modes, params=params)


def make_datasets(problem: Problem, samples: int, K: int, seed: int, decay: float = 0.0,
                  test_samples: int | None = None, validation_samples: int | None = None,
                  training: str = "fourier") -> dict:
    """Every named set (:data:`DATASETS`) as a dict name -> :class:`Dataset`; ``test_samples`` and
    ``validation_samples`` default to ``samples``."""
    sizes = {"train": samples, "validation": samples if validation_samples is None else validation_samples}
    test_samples = samples if test_samples is None else test_samples
    return {name: make_dataset(name, problem, sizes.get(name, test_samples), K, seed, decay, training)
            for name in DATASETS}


def _probes(rng: np.random.Generator, problem: Problem, samples: int, energy: bool) -> tuple[np.ndarray, np.ndarray]:
    r"""Probe pairs ``(f, u)`` (rows): :math:`u \sim \mathcal N(0, I)` and :math:`f = Au`, or with ``energy``
    :math:`u = S\Lambda^{-1/2}w \sim \mathcal N(0, A^{-1})` and :math:`f = S\Lambda^{1/2}w`, where :math:`S` is the
    orthonormal DST-I (the normalised eigenvectors of the constant-coefficient :math:`A`) and :math:`\Lambda` the
    eigenvalues: :math:`O(n\log n)` per sample."""
    if energy and not problem.constant:
        return _energy_probes_variable(rng, problem, samples)
    w = rng.standard_normal((samples, problem.n))
    if not energy:
        return problem.stencil(w.T).T, w
    lam = problem.eigenvalues(np.indices(problem.shape).reshape(problem.dim, -1).T + 1)
    axes = tuple(range(1, problem.dim + 1))
    dst = lambda a: scipy.fft.dstn(a.reshape(samples, *problem.shape), type=1, norm="ortho",  # noqa: E731
                                   axes=axes).reshape(samples, problem.n)
    return dst(w * np.sqrt(lam)), dst(w / np.sqrt(lam))


def in_distribution_set(training: str) -> str:
    """The named set whose error is the error on the training distribution ``training``: the in-band test set for
    Fourier data, the white-noise test set for noise data, the validation set otherwise (no test set of its own)."""
    return IN_DISTRIBUTION[check_choice("training", training, TRAINING_KINDS)]


def gradient_factor(problem: Problem) -> sp.csr_matrix:
    r"""The factor :math:`B = h^{-1}\,[\,G_1^TW_1^{1/2}\ \cdots\ G_d^TW_d^{1/2}\,]` (``n x edges``, sparse) with
    :math:`BB^T = A` (:mod:`ddlib.problem`: :math:`A = h^{-2}\sum_kG_k^TW_kG_k`), for any coefficient."""
    return sp.hstack([problem.gradient(k).T @ sp.diags(np.sqrt(w.ravel()))
                      for k, w in enumerate(problem.edge_weights())], format="csr") / problem.h


def _energy_probes_variable(rng: np.random.Generator, problem: Problem, samples: int):
    r"""Energy probes for a variable coefficient: :math:`f = Bw`, :math:`w \sim \mathcal N(0, I)` over the edges, and
    :math:`u = A^{-1}f`, with :math:`BB^T = A` (:func:`gradient_factor`): :math:`\mathrm{Cov}(u) =
    A^{-1}BB^TA^{-1} = A^{-1}`, as with the sine transform, at the price of one sparse solve per sample."""
    B = gradient_factor(problem)
    f = (B @ rng.standard_normal((B.shape[1], samples))).T
    return f, problem.solve(f)


def relative_l2_error(u_pred, u_true) -> np.ndarray:
    r"""Per-sample relative error :math:`\|u_{pred} - u\|_2 / \|u\|_2` (rows are samples)."""
    u_pred, u_true = np.asarray(u_pred), np.asarray(u_true)
    return np.linalg.norm(u_pred - u_true, axis=-1) / np.linalg.norm(u_true, axis=-1)
