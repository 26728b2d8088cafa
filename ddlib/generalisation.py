r"""Generalisation of learned operators: the error on every sine mode, and on the held-out test sets.

**Per-mode error.** The sine modes :math:`v_k(x_j) = \sin(k\pi x_j)` are the eigenvectors of :math:`A`, so the exact
answer to :math:`f = v_k` is :math:`u = v_k/\lambda_k`, and the relative error of an operator :math:`M` on mode ``k`` is

.. math::  e_k(M) = \frac{\|M v_k - v_k/\lambda_k\|_2}{\|v_k/\lambda_k\|_2} = \frac{\|\lambda_k M v_k - v_k\|_2}{\|v_k\|_2},
           \qquad k = 1, \dots, n,

zero for :math:`M = A^{-1}` (to rounding) and 1 for :math:`M = 0`. It separates what an operator learned on the
training band ``1..K`` from what it does elsewhere (the *data trap*: a rank-``K`` operator fitted to modes ``1..K``
has :math:`e_k = 1` for every ``k > K``). Since the modes are orthogonal, the error of a Fourier right-hand side with
coefficients :math:`a_k` is a weighted mix of the :math:`e_k` and their cross terms.

:func:`generalisation_study` collects both for trained operators, for example one model trained on the Fourier band
and on white noise (``TrainConfig(data="noise")``), evaluated on the same held-out sets.

Examples
--------
>>> import numpy as np
>>> from ddlib.problem import inverse
>>> e = mode_errors(inverse(31))
>>> bool(e.max() < 1e-12)
True
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ._validate import check_int
from .data import TEST_SETS, Dataset, make_datasets, relative_l2_error
from .memory import check_dense
from .problem import eigenvalues, eigenvectors, inverse
from .training import TrainConfig

__all__ = [
    "apply_operator",
    "mode_errors",
    "set_errors",
    "generalisation_study",
]

def apply_operator(op, F: np.ndarray) -> np.ndarray:
    r"""Apply an operator to the columns of ``F`` (shape ``(n, batch)``).

    ``op`` is a dense array or sparse matrix (``op @ F``), a :mod:`ddlib.attention` module (``apply_columns``, no
    gradient), a :class:`scipy.sparse.linalg.LinearOperator` (``matmat``) or a callable on columns.
    """
    F = np.asarray(F, dtype=np.float64)
    if isinstance(op, np.ndarray) or sp.issparse(op):
        return np.asarray(op @ F)
    if hasattr(op, "apply_columns"):
        with torch.no_grad():
            dtype = next(op.parameters()).dtype
            return op.apply_columns(torch.as_tensor(F, dtype=dtype)).cpu().numpy().astype(np.float64)
    if hasattr(op, "matmat"):
        return np.asarray(op.matmat(F))
    if callable(op):
        return np.asarray(op(F))
    raise ValueError(f"op must be an array, a sparse matrix, an attention module, a LinearOperator or a callable; "
                     f"got {type(op).__name__}")


def mode_errors(op, n: int | None = None, modes=None) -> np.ndarray:
    r"""Relative error :math:`e_k = \|\lambda_k M v_k - v_k\|_2/\|v_k\|_2` of ``op`` on each sine mode (module docstring).

    Parameters
    ----------
    op
        The operator (see :func:`apply_operator`).
    n : int, optional
        Grid size; read from ``op`` (``.n`` or ``.shape``) when omitted.
    modes : array of int, optional
        Mode numbers in ``1..n``; default all. All modes are applied in one batched call.
    """
    if n is None:
        n = getattr(op, "n", None) or (op.shape[1] if hasattr(op, "shape") else None)
        if n is None:
            raise ValueError("n must be given when op has neither .n nor .shape")
    n = check_int("n", n, low=1)
    k = np.arange(1, n + 1) if modes is None else np.atleast_1d(np.asarray(modes))
    if k.size == 0 or not np.issubdtype(k.dtype, np.integer) or k.min() < 1 or k.max() > n:
        raise ValueError(f"modes must be integers in [1, {n}]; got {modes!r}")
    check_dense((2, n, k.size), "mode_errors (the modes and their images, dense)",
                "pass modes=..., a few mode numbers, instead of all n")
    V = eigenvectors(n, k)
    MV = apply_operator(op, V)
    if MV.shape != V.shape:
        raise ValueError(f"op must map R^{n} to R^{n}; it returned shape {MV.shape} for input {V.shape}")
    lam = eigenvalues(n, k)
    return np.linalg.norm(MV * lam[None, :] - V, axis=0) / np.linalg.norm(V, axis=0)


def set_errors(op, sets: dict, names=TEST_SETS) -> dict:
    r"""Mean per-sample relative error :math:`\|Mf - u\|_2/\|u\|_2` of ``op`` on each named :class:`~ddlib.data.Dataset`."""
    out = {}
    for name in names:
        d = sets[name]
        if not isinstance(d, Dataset):
            raise ValueError(f"sets['{name}'] must be a ddlib.data.Dataset; got {type(d).__name__}")
        out[name] = float(relative_l2_error(apply_operator(op, d.f.T).T, d.u).mean())
    return out


def generalisation_study(trained, base: TrainConfig) -> dict:
    r"""Per-mode and per-set errors of trained operators.

    ``trained`` is a list of ``(label, training, model)``: a label, the name of the training distribution and the
    trained operator; ``base`` gives ``n``, ``K`` and the held-out sets (those of ``base.seed``).

    Returns
    -------
    dict
        ``modes`` (``1..n``), ``exact`` (per-mode errors of :math:`A^{-1}`, zero to rounding), ``K``, and ``runs``: a
        list of dicts ``label``, ``training``, ``params``, ``mode_errors`` (array of length ``n``), ``sets``
        (:func:`set_errors` on the held-out sets), ``in_band_mode_error`` and ``out_band_mode_error`` (the mean of
        :math:`e_k` over ``1..K`` and over ``K+1..2K``).
    """
    n, K = base.n, base.K
    sets = make_datasets(n, base.samples, K, base.seed, base.decay, test_samples=base.test_samples)
    runs = []
    for label, training, model in trained:
        e = mode_errors(model, n)
        runs.append(dict(label=label, training=training, params=int(model.num_parameters()), mode_errors=e,
                         sets=set_errors(model, sets), in_band_mode_error=float(e[:K].mean()),
                         out_band_mode_error=float(e[K:2 * K].mean())))
    return {"modes": np.arange(1, n + 1), "exact": mode_errors(inverse(n)), "K": K, "runs": runs}
