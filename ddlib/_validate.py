"""Input checks shared by every module: each raises a ValueError that names the parameter and its valid range."""
from __future__ import annotations

import numbers
import os
from pathlib import Path

import numpy as np


def check_int(name: str, value, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an ``int`` or raise a ValueError naming ``name`` and the range ``[low, high]``."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be an integer{_range_text(low, high)}; got {value!r}")
    if not isinstance(value, numbers.Integral):
        if isinstance(value, numbers.Real) and float(value).is_integer():
            value = int(value)
        else:
            raise ValueError(f"{name} must be an integer{_range_text(low, high)}; got {value!r}")
    value = int(value)
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{name} must be an integer{_range_text(low, high)}; got {value}")
    return value


def check_positive(name: str, value) -> float:
    """Return ``value`` as a finite positive ``float`` or raise a ValueError naming ``name``."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite positive number; got {value!r}") from None
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite positive number; got {value!r}")
    return v


def check_finite(name: str, array) -> np.ndarray:
    """Return ``array`` as a float64 array, or raise a ValueError if it holds NaN or infinity."""
    a = np.asarray(array, dtype=np.float64)
    if not np.all(np.isfinite(a)):
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        raise ValueError(f"{name} must be finite; it holds {bad} NaN or infinite entries")
    return a


def check_choice(name: str, value, choices) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a ValueError listing them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def _range_text(low, high) -> str:
    if low is not None and high is not None:
        return f" in [{low}, {high}]"
    if low is not None:
        return f" >= {low}"
    if high is not None:
        return f" <= {high}"
    return ""


# --------------------------------------------------------------------------------------------------------------------
# environment variables: each error names the variable, what it must be and what it holds


def env_int(name: str, *, low: int | None = None, high: int | None = None) -> int | None:
    """``$name`` as an integer in ``[low, high]``, or None when unset or empty; anything else is a ValueError that
    names the variable.

    Examples
    --------
    >>> os.environ["DDLIB_EXAMPLE"] = "abc"
    >>> env_int("DDLIB_EXAMPLE", low=1)
    Traceback (most recent call last):
    ...
    ValueError: environment variable DDLIB_EXAMPLE must be an integer >= 1; got 'abc'
    >>> del os.environ["DDLIB_EXAMPLE"]
    """
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"environment variable {name} must be an integer{_range_text(low, high)}; got {text!r}")
    return value


def env_positive(name: str) -> float | None:
    """``$name`` as a finite positive number, or None when unset or empty; else a ValueError naming the variable."""
    text = os.environ.get(name, "").strip()
    if not text:
        return None
    try:
        return check_positive(name, float(text))
    except ValueError:
        raise ValueError(f"environment variable {name} must be a finite positive number; got {text!r}") from None


def env_folder(name: str):
    """``$name`` as a folder path (a :class:`pathlib.Path`, not created here), or None when unset or empty.

    A path that exists but is not a folder is a ValueError naming the variable; whether the folder can be created
    or written is the caller's to handle (the cache, for one, still returns its runs when it cannot store them).

    Examples
    --------
    >>> os.environ["DDLIB_EXAMPLE"] = __file__
    >>> env_folder("DDLIB_EXAMPLE")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: environment variable DDLIB_EXAMPLE must name a folder; '..._validate.py' is a file
    >>> del os.environ["DDLIB_EXAMPLE"]
    """
    text = os.environ.get(name, "")
    if not text.strip():
        return None
    path = Path(text).expanduser()
    if path.exists() and not path.is_dir():
        raise ValueError(f"environment variable {name} must name a folder; {str(path)!r} is a file")
    return path
