r"""The on-disk cache of finished runs: one key per run, checked entries, atomic writes.

An entry is two files in :func:`cache_dir`: ``<key>.pt`` (the trained parameters, a ``torch.save`` state dict) and
``<key>.json`` (the record: configuration, history, parameter count, schema). The JSON file is written last, so it
marks a complete entry: a run killed at any moment leaves either a complete entry or none (at most a stray
``*.tmp`` or a ``.pt`` without its ``.json``, which count as absent and are overwritten).

**Key.** :func:`entry_key` is the SHA-256 (first 24 hex digits) of the canonical JSON of everything that decides a
run's result: the caller passes the configuration, the data type and the device, and :data:`SCHEMA_VERSION` is added
(bump it when a change of the code changes results). The payload must be plain JSON (no NumPy scalars: a ValueError
says which value is not), so equal configurations always give equal keys.

**Loading** (:func:`load_entry`) reads both files and hands them to a checker supplied by the caller (structure,
shapes, finite values). An entry that cannot be read or fails its check is reported by a :class:`CacheWarning` naming
the file and the reason, moved aside to ``<key>.<suffix>.bad``, and treated as absent, so the run is recomputed.

**Writing** (:func:`store_entry`, with :func:`ddlib._io.atomic_write`) goes to a temporary file in the same folder,
created with mode ``0o666`` minus the umask (like any new file), then :func:`os.replace` renames it into place.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from pathlib import Path
from typing import Callable

import torch

from ._io import atomic_write
from .figures import project_root

__all__ = ["SCHEMA_VERSION", "CacheWarning", "CacheEntryError", "cache_dir", "entry_key",
           "store_entry", "has_entry", "load_entry", "check_state"]

#: Bump when a change of the code changes results, so that older entries are not reused.
SCHEMA_VERSION = 3


class CacheWarning(UserWarning):
    """A cache entry was damaged; it was moved aside and the run is recomputed."""


class CacheEntryError(ValueError):
    """Raised by an entry checker: the entry does not describe the requested run."""


def cache_dir() -> Path:
    """``$DDLIB_CACHE`` if set, else ``_build/cache`` in the project root (created if missing)."""
    if os.environ.get("DDLIB_CACHE"):
        d = Path(os.environ["DDLIB_CACHE"])
    else:
        try:
            d = project_root() / "_build" / "cache"
        except FileNotFoundError:
            d = Path.cwd() / "_build" / "cache"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _plain(value, where="payload"):
    """Check that ``value`` is plain JSON (dict with str keys, list, str, int, float, bool, None)."""
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ValueError(f"{where} must have string keys; got {k!r}")
            _plain(v, f"{where}[{k!r}]")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _plain(v, f"{where}[{i}]")
    elif not (value is None or type(value) in (str, int, float, bool)):
        raise ValueError(f"{where} must be plain JSON (str, int, float, bool, None, list, dict); got "
                         f"{type(value).__name__} {value!r}")


def entry_key(payload: dict) -> str:
    """SHA-256 (24 hex digits) of ``payload`` plus :data:`SCHEMA_VERSION` as canonical JSON (sorted keys)."""
    _plain(payload)
    text = json.dumps({"schema": SCHEMA_VERSION, **payload}, sort_keys=True, allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def store_entry(key: str, record: dict, state: dict) -> Path:
    """Store ``record`` (plain JSON) and ``state`` (name -> tensor) under ``key``; returns the JSON path.

    Both are serialised before anything is written, so a record that is not JSON leaves no file behind."""
    _plain(record, "record")
    text = json.dumps(record, allow_nan=False).encode()
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in state.items()}, buf)
    d = cache_dir()
    atomic_write(d / f"{key}.pt", buf.getvalue())
    atomic_write(d / f"{key}.json", text)
    return d / f"{key}.json"


def has_entry(key: str) -> bool:
    """Whether a complete entry (its JSON record) exists under ``key`` (not yet checked)."""
    return (cache_dir() / f"{key}.json").is_file()


def load_entry(key: str, check: Callable[[dict, dict], None]) -> tuple[dict, dict] | None:
    """``(record, state)`` of the entry ``key``, or None if there is none or it is damaged (see the module docstring).

    ``check(record, state)`` raises :class:`CacheEntryError` (or any ValueError, KeyError, TypeError) when the entry
    does not describe the requested run."""
    d = cache_dir()
    js, pt = d / f"{key}.json", d / f"{key}.pt"
    if not js.is_file():
        return None
    try:
        record = json.loads(js.read_text())
        if not isinstance(record, dict):
            raise CacheEntryError(f"the record is a {type(record).__name__}, not a JSON object")
        if not pt.is_file():
            raise CacheEntryError(f"its parameter file {pt.name} is missing")
        state = torch.load(pt, map_location="cpu", weights_only=True)
        if not isinstance(state, dict):
            raise CacheEntryError(f"the parameter file holds a {type(state).__name__}, not a state dict")
        check(record, state)
    except Exception as exc:  # noqa: BLE001  (any unreadable or inconsistent entry: report it, recompute)
        _move_aside(js, pt, f"{type(exc).__name__}: {exc}")
        return None
    return record, state


def check_state(state: dict, expected: dict) -> None:
    """Raise :class:`CacheEntryError` unless ``state`` has exactly the names and shapes of ``expected`` (name ->
    tensor) and only finite values."""
    if set(state) != set(expected):
        raise CacheEntryError(f"parameter names {sorted(state)} differ from the model's {sorted(expected)}")
    for name, t in state.items():
        if not isinstance(t, torch.Tensor) or tuple(t.shape) != tuple(expected[name].shape):
            shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise CacheEntryError(f"parameter {name!r} has shape {shape}, the model needs "
                                  f"{tuple(expected[name].shape)}")
        if not bool(torch.isfinite(t).all()):
            raise CacheEntryError(f"parameter {name!r} holds NaN or infinite values")


def _move_aside(js: Path, pt: Path, reason: str) -> None:
    moved = []
    for p in (js, pt):
        if p.exists():
            bad = p.with_name(p.name + ".bad")
            os.replace(p, bad)
            moved.append(bad.name)
    warnings.warn(f"damaged cache entry {js} ({reason}); moved aside as {', '.join(moved)} and recomputed",
                  CacheWarning, stacklevel=3)
