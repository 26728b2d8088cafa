r"""Seeded data sets of right-hand sides ``f`` and exact solutions ``u = A^{-1} f``.

The training data are synthetic Fourier right-hand sides

.. math::  f(x_j) = \sum_{k=k_0}^{k_1} a_k \sin(k\pi x_j), \qquad a_k \sim \mathcal{N}(0, k^{-2s}),

which are combinations of exact eigenvectors of :math:`A` (so :math:`u = \sum_k a_k/\lambda_k \sin(k\pi x_j)`).
Samples are rows: ``f`` and ``u`` have shape ``(samples, n)``.

The training distribution is one of :data:`TRAINING_KINDS`:

``"fourier"``
    the band above, modes ``1..K`` (coefficients decaying like :math:`k^{-s}` with ``decay = s``);
``"noise"``
    white noise :math:`f_j \sim \mathcal{N}(0, 1)`: every mode equally;
``"smooth"``
    a smooth Gaussian random field, all modes ``1..n`` with :math:`a_k \sim \mathcal N(0, k^{-2\cdot 2})`
    (:data:`SMOOTH_DECAY` = 2, the covariance :math:`(-\Delta)^{-2}` up to scaling): samples are once
    differentiable, dominated by the low modes but with no band edge;
``"probes"``
    random probe vectors for training a *preconditioner*: the solution is drawn, :math:`u = z \sim \mathcal N(0, I)`,
    and :math:`f = Az` (computed exactly, :math:`O(n)`). For any operator :math:`M`,
    :math:`\mathbb E\,\|Mf - u\|_2^2 = \mathbb E\,\|(MA - I)z\|_2^2 = \|I - MA\|_F^2` (Hutchinson's identity
    :math:`\mathbb E\,z^TBz = \mathrm{tr}\,B`), so the squared-error loss on probes weighs every direction alike;
``"energy_probes"``
    :math:`u = z \sim \mathcal N(0, A^{-1})` (:math:`z = A^{-1/2}w`, :math:`w \sim \mathcal N(0, I)`, by the
    orthonormal sine transform) and :math:`f = Az = A^{1/2}w`. In the energy norm
    :math:`\|e\|_A^2 = e^TAe`, :math:`\mathbb E\,\|(MA - I)z\|_A^2 = \|I - A^{1/2}MA^{1/2}\|_F^2 =
    \sum_i (1 - \mu_i)^2` with :math:`\mu_i` the eigenvalues of :math:`MA` (for symmetric :math:`M`): the
    energy-norm loss on these probes is a function of the preconditioned spectrum alone
    (:class:`ddlib.training.TrainConfig` ``loss="energy"``).

The named sets (:data:`DATASETS`) are

``"train"``, ``"validation"``
    independent draws from the training distribution (the validation set chooses hyper-parameters; it is never a
    test set);
``"in_band"``
    modes ``1..K`` (an independent draw: the in-band test set is not the training set);
``"out_of_band"``
    modes ``K+1..2K``;
``"noise"``
    white noise :math:`f_j \sim \mathcal{N}(0, 1)`;
``"point_loads"``
    discrete unit point loads :math:`f = e_j / h` at uniformly drawn nodes ``j``
    (so :math:`u_i = G(x_i, x_j)`, the Green's function).

Every set is a deterministic function of ``(name, n, samples, K, seed, decay, training)``: the random stream is
``numpy.random.default_rng([seed, index of name])``, so the sets of one seed are independent of each other (a noise
training set is not the noise test set).

Examples
--------
>>> from ddlib.data import make_dataset
>>> d = make_dataset("train", n=31, samples=4, K=3, seed=0)
>>> d.f.shape, d.u.shape, d.modes
((4, 31), (4, 31), (1, 3))
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.fft

from ._validate import check_choice, check_int
from .problem import eigenvalues, eigenvectors, grid, laplacian_1d, solve

__all__ = ["DATASETS", "TEST_SETS", "TRAINING_KINDS", "SMOOTH_DECAY", "Dataset", "fourier_coefficients",
           "make_dataset", "make_datasets", "relative_l2_error"]

#: The data-set names accepted by :func:`make_dataset`, in the order used to derive their random streams.
DATASETS = ("train", "in_band", "out_of_band", "noise", "point_loads", "validation")
#: The held-out test sets (never used to choose anything).
TEST_SETS = ("in_band", "out_of_band", "noise", "point_loads")
#: Training distributions (the ``"train"`` and ``"validation"`` sets).
TRAINING_KINDS = ("fourier", "noise", "smooth", "probes", "energy_probes")
#: Decay exponent ``s`` of the ``"smooth"`` family, :math:`a_k \sim \mathcal N(0, k^{-2s})` over all modes.
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


def fourier_coefficients(rng: np.random.Generator, samples: int, modes, decay: float = 0.0) -> np.ndarray:
    r"""Coefficients :math:`a_k \sim \mathcal{N}(0, k^{-2s})` for ``k`` in ``modes``, shape ``(samples, len(modes))``."""
    k = np.asarray(modes, dtype=np.float64)
    return rng.standard_normal((samples, k.size)) * k ** (-float(decay))


def make_dataset(name: str, n: int, samples: int, K: int, seed: int, decay: float = 0.0,
                 training: str = "fourier") -> Dataset:
    """Build the named data set (see the module docstring). ``K`` is the band ``1..K``; ``training`` is the
    distribution of ``"train"`` and ``"validation"`` (:data:`TRAINING_KINDS`)."""
    check_choice("name", name, DATASETS)
    check_choice("training", training, TRAINING_KINDS)
    n = check_int("n", n, low=1)
    samples = check_int("samples", samples, low=1)
    K = check_int("K", K, low=1, high=max(1, n // 2))
    seed = check_int("seed", seed, low=0)
    decay = float(decay)
    if not np.isfinite(decay) or decay < 0:
        raise ValueError(f"decay must be a finite number >= 0; got {decay!r}")
    rng = np.random.default_rng([seed, DATASETS.index(name)])
    h, _ = grid(n)
    modes = None
    kind = training if name in ("train", "validation") else name
    if kind in ("fourier", "in_band", "out_of_band", "smooth"):
        lo, hi = {"out_of_band": (K + 1, 2 * K), "smooth": (1, n)}.get(kind, (1, K))
        k = np.arange(lo, hi + 1)
        a = fourier_coefficients(rng, samples, k, SMOOTH_DECAY if kind == "smooth" else decay)
        f = a @ eigenvectors(n, k).T
        modes = (lo, hi)
    elif kind in ("probes", "energy_probes"):
        f, u = _probes(rng, n, samples, energy=kind == "energy_probes")
    elif kind == "noise":
        f = rng.standard_normal((samples, n))
    else:  # point_loads
        j = rng.integers(0, n, size=samples)
        f = np.zeros((samples, n))
        f[np.arange(samples), j] = 1.0 / h
    if kind not in ("probes", "energy_probes"):
        u = solve(f)
    params = dict(n=n, samples=samples, K=K, seed=seed, decay=decay, training=training)
    return Dataset(name=name, f=f, u=u, modes=modes, params=params)


def make_datasets(n: int, samples: int, K: int, seed: int, decay: float = 0.0, test_samples: int | None = None,
                  validation_samples: int | None = None, training: str = "fourier") -> dict:
    """Every named set (:data:`DATASETS`) as a dict name -> :class:`Dataset`; ``test_samples`` and
    ``validation_samples`` default to ``samples``."""
    sizes = {"train": samples, "validation": samples if validation_samples is None else validation_samples}
    test_samples = samples if test_samples is None else test_samples
    return {name: make_dataset(name, n, sizes.get(name, test_samples), K, seed, decay, training)
            for name in DATASETS}


def _probes(rng: np.random.Generator, n: int, samples: int, energy: bool) -> tuple[np.ndarray, np.ndarray]:
    r"""Probe pairs ``(f, u)`` (rows): :math:`u \sim \mathcal N(0, I)` and :math:`f = Au`, or with ``energy``
    :math:`u = S\Lambda^{-1/2}w \sim \mathcal N(0, A^{-1})` and :math:`f = S\Lambda^{1/2}w`, where :math:`S` is the
    orthonormal sine transform (DST-I, the normalised eigenvectors of :math:`A`, :math:`S = S^T = S^{-1}`) and
    :math:`\Lambda` the eigenvalues: :math:`O(n\log n)` per sample."""
    w = rng.standard_normal((samples, n))
    if not energy:
        return (laplacian_1d(n) @ w.T).T, w
    lam = eigenvalues(n)
    dst = lambda a: scipy.fft.dst(a, type=1, norm="ortho", axis=-1)  # noqa: E731
    return dst(w * np.sqrt(lam)), dst(w / np.sqrt(lam))


def relative_l2_error(u_pred, u_true) -> np.ndarray:
    r"""Per-sample relative error :math:`\|u_{pred} - u\|_2 / \|u\|_2` (rows are samples)."""
    u_pred, u_true = np.asarray(u_pred), np.asarray(u_true)
    return np.linalg.norm(u_pred - u_true, axis=-1) / np.linalg.norm(u_true, axis=-1)
