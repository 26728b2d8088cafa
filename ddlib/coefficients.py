r"""Cell coefficient fields :math:`a` for :math:`-\nabla\cdot(a\nabla u) = f` (:class:`ddlib.problem.Problem`), in any
dimension: the high-contrast channels of the reference setup, a log-normal random field, and inclusions.

A field is an array of shape ``(m+1,)*d``: cell :math:`(p_1, \dots, p_d)`, :math:`p_k = 0..m`, covers
:math:`\prod_k[p_kh, (p_k+1)h]`. Every field is 1 in the background and has its **contrast** :math:`\max a/\min a`
reported by :func:`contrast`; :func:`field` builds one from a plain dict (the form a training configuration stores).

``"channels"`` (the reference field of the high-contrast chapter)
    :math:`a = \text{contrast}` on the cells with :math:`p_1 \equiv 1 \pmod 4` and :math:`3 \le p_k \le m-3` for
    every other axis, 1 elsewhere: one-cell-wide channels along the last axes that cross subdomain boundaries and stop
    short of the Dirichlet boundary. In 2D exactly: :math:`p \equiv 1 \pmod 4`, :math:`3 \le q \le m-3`.
``"lognormal"``
    :math:`a = \exp(\sigma g)` with :math:`g` a smooth Gaussian field of unit variance (white noise on the cells,
    seeded, smoothed by a Gaussian kernel of correlation length ``length`` and normalised): :math:`\sigma` sets the
    contrast, roughly :math:`e^{2\cdot 3\sigma}` between the extreme cells.
``"inclusions"``
    ``count`` cubes of ``size`` cells per side with :math:`a = \text{contrast}`, at seeded positions at least two
    cells from the boundary (they may touch each other).

Examples
--------
>>> a = channels(15, dim=2, contrast=1e4)
>>> a.shape, float(contrast(a)), int((a > 1).sum())        # channels at p = 1, 5, 9, 13; q = 3..12
((16, 16), 10000.0, 40)
>>> float(field(15, 2, {"kind": "channels", "contrast": 100.0}).max())
100.0
"""
from __future__ import annotations

import numpy as np
import scipy.ndimage

from ._validate import check_choice, check_int, check_positive

__all__ = ["FIELDS", "channels", "lognormal", "inclusions", "field", "contrast", "describe"]

#: Field kinds accepted by :func:`field`.
FIELDS = ("constant", "channels", "lognormal", "inclusions")


def _cells(m: int, dim: int) -> tuple[int, ...]:
    return (check_int("m", m, low=1) + 1,) * check_int("dim", dim, low=1, high=3)


def channels(m: int, dim: int = 2, contrast: float = 1e4) -> np.ndarray:
    r"""The channel field of the reference setup (module docstring), shape ``(m+1,)*dim``."""
    a = np.ones(_cells(m, dim))
    p = np.indices(a.shape)
    inside = p[0] % 4 == 1
    for k in range(1, dim):
        inside &= (p[k] >= 3) & (p[k] <= m - 3)
    a[inside] = check_positive("contrast", contrast)
    return a


def lognormal(m: int, dim: int = 2, sigma: float = 1.0, length: float = 0.1, seed: int = 0) -> np.ndarray:
    r""":math:`\exp(\sigma g)`, ``g`` a seeded smooth Gaussian field of unit variance and correlation length
    ``length`` (in units of the domain), shape ``(m+1,)*dim``."""
    sigma, length = check_positive("sigma", sigma), check_positive("length", length)
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    g = scipy.ndimage.gaussian_filter(rng.standard_normal(_cells(m, dim)), sigma=length * (m + 1), mode="wrap")
    g = (g - g.mean()) / g.std()
    return np.exp(sigma * g)


def inclusions(m: int, dim: int = 2, contrast: float = 1e4, count: int = 4, size: int = 3, seed: int = 0) -> np.ndarray:
    r"""``count`` cubic inclusions of ``size`` cells per side with :math:`a = \text{contrast}` in a background of 1,
    at seeded positions at least two cells from the boundary; shape ``(m+1,)*dim``."""
    a = np.ones(_cells(m, dim))
    size = check_int("size", size, low=1, high=max(1, m - 4))
    rng = np.random.default_rng(check_int("seed", seed, low=0))
    value = check_positive("contrast", contrast)
    for corner in rng.integers(2, max(3, m - 1 - size), size=(check_int("count", count, low=1), dim)):
        a[tuple(slice(c, c + size) for c in corner)] = value
    return a


def field(m: int, dim: int, spec: dict | None) -> np.ndarray | None:
    """The field described by ``spec`` (``{"kind": ..., options}``; None or kind ``"constant"``: no field, a = 1)."""
    if spec is None:
        return None
    if not isinstance(spec, dict) or "kind" not in spec:
        raise ValueError(f"a coefficient spec must be a dict with a 'kind' in {FIELDS}; got {spec!r}")
    kind = check_choice("kind", spec["kind"], FIELDS)
    options = {k: v for k, v in spec.items() if k != "kind"}
    if kind == "constant":
        if options:
            raise ValueError(f"the constant field takes no options; got {sorted(options)}")
        return None
    build = {"channels": channels, "lognormal": lognormal, "inclusions": inclusions}[kind]
    try:
        return build(m, dim, **options)
    except TypeError as err:
        raise ValueError(f"coefficient field {kind!r} does not take the options {sorted(options)}: {err}") from None


def contrast(a) -> float:
    r"""The contrast :math:`\max a/\min a` of a field (1 for None)."""
    if a is None:
        return 1.0
    a = np.asarray(a, dtype=np.float64)
    return float(a.max() / a.min())


def describe(spec: dict | None) -> str:
    """A short human label of a field spec (``"constant"``, ``"channels 1e+04"``, ...)."""
    if spec is None or spec.get("kind") == "constant":
        return "constant"
    value = spec.get("contrast", spec.get("sigma"))
    return spec["kind"] + ("" if value is None else f" {value:g}")
