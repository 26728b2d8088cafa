r"""Generalisation of learned operators: the error on every sine mode, and on the held-out test sets.

**Per-mode error.** The sine modes :math:`v_{\mathbf k}(x) = \prod_j\sin(k_j\pi x_j)` are the eigenvectors of
:math:`A` (constant coefficient, any dimension), so the exact answer to :math:`f = v_{\mathbf k}` is
:math:`u = v_{\mathbf k}/\lambda_{\mathbf k}`, and the relative error of an operator :math:`M` on mode
:math:`\mathbf k` is

.. math::  e_{\mathbf k}(M) = \frac{\|M v_{\mathbf k} - v_{\mathbf k}/\lambda_{\mathbf k}\|_2}
           {\|v_{\mathbf k}/\lambda_{\mathbf k}\|_2}
           = \frac{\|\lambda_{\mathbf k} M v_{\mathbf k} - v_{\mathbf k}\|_2}{\|v_{\mathbf k}\|_2},
           \qquad \mathbf k \in \{1, \dots, m\}^d,

zero for :math:`M = A^{-1}` (to rounding) and 1 for :math:`M = 0`. It separates what an operator learned on the
training band :math:`\max_j k_j \le K` from what it does elsewhere (the *data trap*: a rank-:math:`K^d` operator
fitted to the band has :math:`e_{\mathbf k} = 1` for every mode outside it). Since the modes are orthogonal, the
error of a Fourier right-hand side with coefficients :math:`a_{\mathbf k}` is a weighted mix of the
:math:`e_{\mathbf k}` and their cross terms.

:func:`generalisation_study` collects both for trained operators, for example one model trained on the Fourier band
and on white noise (``TrainConfig(data="noise")``), evaluated on the same held-out sets.

Examples
--------
>>> from ddlib.problem import Problem
>>> P = Problem((7, 7))
>>> bool(mode_errors(P.inverse(), P).max() < 1e-12)
True
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from .data import TEST_SETS, Dataset, band_modes, make_datasets, relative_l2_error
from .memory import check_dense
from .problem import Problem
from .training import TrainConfig

__all__ = [
    "all_modes",
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


def all_modes(problem: Problem) -> np.ndarray:
    r"""Every mode :math:`\mathbf k \in \{1..m\}^d` of ``problem``, shape ``(n, d)``, ordered by the shell
    :math:`\max_j k_j` and within a shell lexicographically (:func:`ddlib.data.band_modes`; in 1D simply
    ``1..n``), so the band ``1..K`` of :mod:`ddlib.data` is the first :math:`K^d` rows."""
    k = band_modes(1, problem.m, problem.dim)
    return k[np.argsort(k.max(axis=1), kind="stable")]


def mode_errors(op, problem: Problem | None = None, modes=None) -> np.ndarray:
    r"""Relative error :math:`e_{\mathbf k} = \|\lambda_{\mathbf k} M v_{\mathbf k} - v_{\mathbf k}\|_2/
    \|v_{\mathbf k}\|_2` of ``op`` on each sine mode (module docstring).

    Parameters
    ----------
    op
        The operator (see :func:`apply_operator`).
    problem : Problem, optional
        The problem (constant coefficient: the modes are its eigenvectors); read from ``op.problem`` when omitted.
    modes : array of int, optional
        Mode numbers ``(count, d)`` in ``1..m`` (in 1D also a list of ``k``); default :func:`all_modes`. All modes are
        applied in one batched call.
    """
    problem = getattr(op, "problem", None) if problem is None else problem
    if not isinstance(problem, Problem):
        raise ValueError("problem must be given (a ddlib.problem.Problem) when op has no .problem")
    k = all_modes(problem) if modes is None else problem.mode_numbers(modes)
    if k.shape[0] == 0:
        raise ValueError("modes must hold at least one mode")
    check_dense((2, problem.n, k.shape[0]), "mode_errors (the modes and their images, dense)",
                "pass modes=..., a few mode numbers, instead of all n")
    V = problem.eigenvectors(k)
    MV = apply_operator(op, V)
    if MV.shape != V.shape:
        raise ValueError(f"op must map R^{problem.n} to R^{problem.n}; it returned shape {MV.shape} for input "
                         f"{V.shape}")
    lam = problem.eigenvalues(k)
    return np.linalg.norm(MV * lam[None, :] - V, axis=0) / np.linalg.norm(V, axis=0)


def set_errors(op, sets: dict, names=TEST_SETS) -> dict:
    r"""Mean per-sample relative error :math:`\|Mf - u\|_2/\|u\|_2` of ``op`` on each named
    :class:`~ddlib.data.Dataset`."""
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
    trained operator; ``base`` gives the problem (:attr:`ddlib.training.TrainConfig.problem`), ``K`` and the
    held-out sets (those of ``base.seed``).

    Returns
    -------
    dict
        ``modes`` (:func:`all_modes`, ``(n, d)``), ``level`` (their shell :math:`\max_j k_j`; in 1D the mode number),
        ``exact`` (per-mode errors of :math:`A^{-1}`, zero to rounding), ``K``, and ``runs``: a list of dicts
        ``label``, ``training``, ``params``, ``mode_errors`` (array of length ``n``, in the order of ``modes``),
        ``sets`` (:func:`set_errors` on the held-out sets), ``in_band_mode_error`` and ``out_band_mode_error`` (the
        mean of :math:`e_{\mathbf k}` over the band :math:`\max_j k_j \le K` and over the shell
        :math:`K < \max_j k_j \le 2K`).
    """
    problem, K = base.problem, base.K
    sets = make_datasets(problem, base.samples, K, base.seed, base.decay, test_samples=base.test_samples)
    modes = all_modes(problem)
    level = modes.max(axis=1)
    band, shell = level <= K, (level > K) & (level <= 2 * K)
    runs = []
    for label, training, model in trained:
        e = mode_errors(model, problem, modes)
        runs.append(dict(label=label, training=training, params=int(model.num_parameters()), mode_errors=e,
                         sets=set_errors(model, sets), in_band_mode_error=float(e[band].mean()),
                         out_band_mode_error=float(e[shell].mean())))
    return {"modes": modes, "level": level, "exact": mode_errors(problem.inverse(), problem, modes), "K": K,
            "runs": runs}
