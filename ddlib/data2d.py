r"""Seeded 2D data sets: right-hand sides ``f`` on the ``m x m`` grid and exact solutions ``u = A^{-1} f``.

The 2D counterpart of :mod:`ddlib.data` (same :class:`ddlib.data.Dataset`, same names, same seeding). Rows are
samples: ``f`` and ``u`` have shape ``(samples, n)``, ``n = m^2``, in the ordering of :mod:`ddlib.problem2d`.

**The band.** The training data are Fourier right-hand sides on the *square band*

.. math::  f(x_a, y_b) = \sum_{\max(j,k) \le K} a_{jk}\,\sin(j\pi x_a)\sin(k\pi y_b), \qquad
           a_{jk} \sim \mathcal N\big(0, (j^2 + k^2)^{-s}\big),

``K^2`` modes. Why the square :math:`\max(j,k)\le K` and not the disc :math:`j^2+k^2\le K^2`: it is the tensor
product of the 1D band ``1..K`` (so every 1D statement, e.g. the data trap of fact 5, carries over with
:math:`K \to K^2` modes, and the 1D data are its restriction to one direction); it is exactly the set of modes a
``K x K`` sine transform resolves; and its out-of-band shell :math:`K < \max(j,k) \le 2K` is again a difference of two
squares, so in-band and out-of-band sets are disjoint and together fill the square band of ``2K``. The price is
anisotropy: the corner mode :math:`(K, K)` has frequency :math:`\sqrt2 K`, so the band's eigenvalues reach
:math:`\lambda_{KK} \approx 2\pi^2K^2`, twice those on the axes. With ``decay = s`` the coefficient of mode
:math:`(j,k)` has standard deviation :math:`|(j,k)|^{-s}`, the 1D rule :math:`k^{-s}` with :math:`k \to |(j,k)|`.

The training distribution is one of :data:`TRAINING_KINDS_2D`, as in 1D:

``"fourier"``
    the square band above;
``"noise"``
    white noise :math:`f_p \sim \mathcal N(0, 1)`: every mode equally;
``"smooth"``
    every mode :math:`\max(j,k) \le m` with :math:`a_{jk}\sim\mathcal N(0, |(j,k)|^{-2s})`,
    :math:`s =` :data:`ddlib.data.SMOOTH_DECAY` (the 1D rule :math:`k^{-s}` with :math:`k \to |(j,k)|`).

The named sets (:data:`ddlib.data.DATASETS`) are

``"train"``, ``"validation"``
    independent draws from the training distribution (the validation set chooses hyper-parameters; it is never a
    test set);
``"in_band"``
    the square band :math:`\max(j,k) \le K` (an independent draw: the in-band test set is not the training set);
``"out_of_band"``
    the next shell :math:`K < \max(j,k) \le 2K` (``3K^2`` modes);
``"noise"``
    white noise :math:`f_p \sim \mathcal N(0, 1)`;
``"point_loads"``
    discrete unit point loads :math:`f = e_p / h^2` at uniformly drawn nodes ``p`` (unit mass for the quadrature
    weight :math:`h^2`, so :math:`u \approx G(\cdot, x_p)`, the Green's function).

Every set is a deterministic function of ``(name, m, samples, K, seed, decay, training)``: the random stream is
``numpy.random.default_rng([seed, index of name in DATASETS])``, as in 1D (a noise training set is not the noise test
set).

Examples
--------
>>> from ddlib.data2d import make_dataset_2d
>>> d = make_dataset_2d("out_of_band", m=15, samples=4, K=3, seed=0)
>>> d.f.shape, d.modes, d.params["band"]
((4, 225), (4, 6), 'square')
"""
from __future__ import annotations

import numpy as np
import scipy.fft

from ._validate import check_choice, check_int
from .data import DATASETS, SMOOTH_DECAY, TRAINING_KINDS, Dataset
from .problem2d import grid_2d, solve_2d

__all__ = ["TRAINING_KINDS_2D", "band_modes", "make_dataset_2d", "make_datasets_2d", "sine_synthesis"]

#: The training distributions in 2D: those of :data:`ddlib.data.TRAINING_KINDS` that are defined on the square (the
#: preconditioning probes are a 1D study).
TRAINING_KINDS_2D = tuple(k for k in TRAINING_KINDS if k in ("fourier", "noise", "smooth"))


def band_modes(lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Mode numbers ``(j, k)`` of the square shell :math:`lo \le \max(j,k) \le hi`, ordered by ``(j, k)``."""
    lo, hi = check_int("lo", lo, low=1), check_int("hi", hi, low=1)
    if hi < lo:
        raise ValueError(f"hi must be >= lo = {lo}; got {hi}")
    j, k = np.meshgrid(np.arange(1, hi + 1), np.arange(1, hi + 1), indexing="ij")
    keep = np.maximum(j, k) >= lo
    return j[keep], k[keep]


def sine_synthesis(m: int, j, k, coefficients) -> np.ndarray:
    r"""Grid values :math:`f_s(x_a, y_b) = \sum_\ell c_{s\ell}\sin(j_\ell\pi x_a)\sin(k_\ell\pi y_b)`, rows ``(samples, n)``.

    The coefficients are placed in an ``m x m`` spectrum and transformed by one unnormalised 2D DST-I
    (:math:`\mathrm{DST}(c)_a = 2\sum_j c_j\sin(ja\pi h)` per axis, hence the factor 1/4): :math:`O(n\log n)`.
    """
    m = check_int("m", m, low=1)
    j, k = np.asarray(j), np.asarray(k)
    c = np.atleast_2d(np.asarray(coefficients, dtype=np.float64))
    if c.shape[1] != j.size or j.shape != k.shape:
        raise ValueError(f"coefficients must have shape (samples, {j.size}) to match j and k; got {c.shape}")
    C = np.zeros((c.shape[0], m, m))
    C[:, j - 1, k - 1] = c
    return scipy.fft.dstn(C, type=1, axes=(1, 2)).reshape(c.shape[0], m * m) / 4.0


def make_dataset_2d(name: str, m: int, samples: int, K: int, seed: int, decay: float = 0.0,
                    training: str = "fourier") -> Dataset:
    """Build the named 2D data set (see the module docstring). ``K`` is the square band :math:`\\max(j,k) \\le K`;
    ``training`` is the distribution of ``"train"`` and ``"validation"`` (:data:`ddlib.data.TRAINING_KINDS`).

    ``1 <= K <= m // 2`` so that the out-of-band shell ``K < max(j, k) <= 2K`` is resolved on the grid.
    ``modes`` holds ``(lo, hi)`` of the shell :math:`lo \\le \\max(j,k) \\le hi` (None for noise and point loads);
    ``params["band"] = "square"``.
    """
    check_choice("name", name, DATASETS)
    check_choice("training", training, TRAINING_KINDS_2D)
    m = check_int("m", m, low=2)
    samples = check_int("samples", samples, low=1)
    K = check_int("K", K, low=1, high=m // 2)
    seed = check_int("seed", seed, low=0)
    decay = float(decay)
    if not np.isfinite(decay) or decay < 0:
        raise ValueError(f"decay must be a finite number >= 0; got {decay!r}")
    rng = np.random.default_rng([seed, DATASETS.index(name)])
    h, _ = grid_2d(m)
    n = m * m
    modes = None
    kind = training if name in ("train", "validation") else name
    if kind in ("fourier", "in_band", "out_of_band", "smooth"):
        lo, hi = {"out_of_band": (K + 1, 2 * K), "smooth": (1, m)}.get(kind, (1, K))
        j, k = band_modes(lo, hi)
        s = SMOOTH_DECAY if kind == "smooth" else decay
        f = sine_synthesis(m, j, k, rng.standard_normal((samples, j.size)) * np.hypot(j, k) ** (-s))
        modes = (lo, hi)
    elif kind == "noise":
        f = rng.standard_normal((samples, n))
    else:  # point_loads
        p = rng.integers(0, n, size=samples)
        f = np.zeros((samples, n))
        f[np.arange(samples), p] = 1.0 / h**2
    u = solve_2d(f)
    params = dict(m=m, n=n, samples=samples, K=K, seed=seed, decay=decay, band="square", training=training)
    return Dataset(name=name, f=f, u=u, modes=modes, params=params)


def make_datasets_2d(m: int, samples: int, K: int, seed: int, decay: float = 0.0, test_samples: int | None = None,
                     validation_samples: int | None = None, training: str = "fourier") -> dict:
    """Every named set (:data:`ddlib.data.DATASETS`) as a dict name -> :class:`ddlib.data.Dataset`, as
    :func:`ddlib.data.make_datasets` in 1D; ``test_samples`` and ``validation_samples`` default to ``samples``."""
    sizes = {"train": samples, "validation": samples if validation_samples is None else validation_samples}
    test_samples = samples if test_samples is None else test_samples
    return {name: make_dataset_2d(name, m, sizes.get(name, test_samples), K, seed, decay, training)
            for name in DATASETS}
