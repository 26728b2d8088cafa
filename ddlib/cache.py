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
value types, shapes, finite values; :func:`check_columns` and :func:`check_state` are the shared parts). An entry that
cannot be read or fails its check is reported by a :class:`CacheWarning` naming the file and the reason, moved aside
to ``<key>.<suffix>.<random>.bad``, and treated as absent, so the run is recomputed. Readers may race: the move-aside
renames onto a name of its own, leaves alone a file that has vanished (another reader moved it) or that is no longer
the file it read (a writer replaced it since), and never raises.

**Writing** (:func:`store_entry`, with :func:`ddlib._io.atomic_write`) goes to a temporary file in the same folder,
created with mode ``0o666`` minus the umask (like any new file), then :func:`os.replace` renames it into place. A
cache that cannot be written (read-only, full, not creatable) loses nothing but the entry: :func:`store_entry` warns
once (a :class:`CacheWarning` naming the folder and the reason, repeated only after a write there has succeeded
again) and returns None, and the caller keeps its result.

**Folder.** ``$DDLIB_CACHE``, else ``_build/cache`` of the project; ``DDLIB_CACHE`` naming a file is a ValueError
that names the variable.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import uuid
import warnings
from pathlib import Path
from typing import Callable

import torch

from ._io import atomic_write
from ._validate import env_folder
from .figures import project_root

__all__ = ["SCHEMA_VERSION", "CacheWarning", "CacheEntryError", "cache_dir", "entry_key",
           "store_entry", "has_entry", "load_entry", "check_columns", "check_state"]

#: Bump when a change of the code changes results, so that older entries are not reused.
SCHEMA_VERSION = 3


class CacheWarning(UserWarning):
    """A cache entry was damaged (it was moved aside and the run is recomputed), or the cache could not be written
    (the result is returned, not stored)."""


class CacheEntryError(ValueError):
    """Raised by an entry checker: the entry does not describe the requested run."""


def cache_dir() -> Path:
    """``$DDLIB_CACHE`` if set, else ``_build/cache`` in the project root (not created here: :func:`store_entry`
    creates it). Raises ValueError naming ``DDLIB_CACHE`` when that is a file."""
    d = env_folder("DDLIB_CACHE")
    if d is None:
        try:
            d = project_root() / "_build" / "cache"
        except FileNotFoundError:
            d = Path.cwd() / "_build" / "cache"
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


#: Cache folders whose last write failed (warned once; forgotten when a write there succeeds again).
_UNWRITABLE: set[str] = set()


def store_entry(key: str, record: dict, state: dict) -> Path | None:
    """Store ``record`` (plain JSON) and ``state`` (name -> tensor) under ``key``; returns the JSON path, or None
    when the cache cannot be written (see the module docstring: one :class:`CacheWarning`, nothing raised).

    Both are serialised before anything is written, so a record that is not JSON leaves no file behind (and is a
    ValueError: a programming error, not a full disk)."""
    _plain(record, "record")
    text = json.dumps(record, allow_nan=False).encode()
    buf = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in state.items()}, buf)
    d = cache_dir()
    try:
        d.mkdir(parents=True, exist_ok=True)
        atomic_write(d / f"{key}.pt", buf.getvalue())
        atomic_write(d / f"{key}.json", text)
    except OSError as exc:
        if str(d) not in _UNWRITABLE:
            _UNWRITABLE.add(str(d))
            warnings.warn(f"cannot write to the cache folder {d} ({type(exc).__name__}: {exc.strerror or exc}); "
                          "the result is returned but not cached, so a rerun computes it again (further failures "
                          "to write there are not reported until a write succeeds)", CacheWarning, stacklevel=3)
        return None
    _UNWRITABLE.discard(str(d))
    return d / f"{key}.json"


def has_entry(key: str) -> bool:
    """Whether a complete entry (its JSON record) exists under ``key`` (not yet checked)."""
    return (cache_dir() / f"{key}.json").is_file()


def _read(path: Path) -> tuple[bytes, tuple[int, int]]:
    """The bytes of ``path`` and the identity (device, inode) of the file they were read from."""
    with open(path, "rb") as fh:
        st = os.fstat(fh.fileno())
        return fh.read(), (st.st_dev, st.st_ino)


def load_entry(key: str, check: Callable[[dict, dict], None]) -> tuple[dict, dict] | None:
    """``(record, state)`` of the entry ``key``, or None if there is none or it is damaged (see the module docstring).

    ``check(record, state)`` raises :class:`CacheEntryError` (or any ValueError, KeyError, TypeError) when the entry
    does not describe the requested run."""
    d = cache_dir()
    js, pt = d / f"{key}.json", d / f"{key}.pt"
    read: dict[Path, tuple[int, int] | None] = {js: None, pt: None}
    try:
        text, read[js] = _read(js)
    except FileNotFoundError:  # no entry, or a concurrent reader has just moved it aside
        return None
    except OSError as exc:  # unreadable (permissions, I/O error): recompute, leave the file to its owner
        warnings.warn(f"cannot read cache entry {js} ({type(exc).__name__}: {exc.strerror or exc}); recomputed",
                      CacheWarning, stacklevel=3)
        return None
    try:
        record = json.loads(text)
        if not isinstance(record, dict):
            raise CacheEntryError(f"the record is a {type(record).__name__}, not a JSON object")
        try:
            blob, read[pt] = _read(pt)
        except FileNotFoundError:
            if not _same_file(js, read[js]):  # the whole entry went (moved aside or replaced) while we read
                return None
            raise CacheEntryError(f"its parameter file {pt.name} is missing") from None
        state = torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)
        if not isinstance(state, dict):
            raise CacheEntryError(f"the parameter file holds a {type(state).__name__}, not a state dict")
        check(record, state)
    except Exception as exc:  # noqa: BLE001  (any unreadable or inconsistent entry: report it, recompute)
        _move_aside(read, f"{type(exc).__name__}: {exc}")
        return None
    return record, state


def check_columns(history, required, equal=()) -> None:
    """Raise :class:`CacheEntryError` unless ``history`` is a dict of columns, each a list of numbers (``int`` or
    ``float``, not ``bool``) or ``None`` (a non-finite value stored as JSON ``null``), holding every name of
    ``required``, with the columns named in ``equal`` non-empty and of one length.

    Examples
    --------
    >>> check_columns({"epoch": [0, 1], "loss": [0.5, None]}, ("epoch", "loss"), equal=("epoch", "loss"))
    >>> check_columns({"epoch": [0, "1"]}, ("epoch",))
    Traceback (most recent call last):
    ...
    ddlib.cache.CacheEntryError: history column 'epoch' holds '1' (a str) at index 1, not a number
    """
    if not isinstance(history, dict):
        raise CacheEntryError(f"the history is a {type(history).__name__}, not a JSON object")
    missing = [k for k in required if k not in history]
    if missing:
        raise CacheEntryError(f"the history lacks the columns {missing}")
    for name, col in history.items():
        if not isinstance(col, list):
            raise CacheEntryError(f"history column {name!r} is a {type(col).__name__}, not a list")
        for i, v in enumerate(col):
            if not (v is None or type(v) in (int, float)):
                raise CacheEntryError(f"history column {name!r} holds {v!r} (a {type(v).__name__}) at index {i}, "
                                      "not a number")
    lengths = {len(history[k]) for k in equal}
    if len(lengths) > 1 or 0 in lengths:
        raise CacheEntryError(f"the history columns {list(equal)} are empty or of different lengths")


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


def _same_file(path: Path, ident: tuple[int, int] | None) -> bool:
    """Whether ``path`` is still the file identified by ``ident`` (device, inode)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    return ident is not None and (st.st_dev, st.st_ino) == ident


def _move_aside(read: dict[Path, tuple[int, int] | None], reason: str) -> None:
    """Rename each file of ``read`` that is still the one read onto ``<name>.<random>.bad``, then warn once.

    A file that vanished (a concurrent reader moved it aside) or was replaced (a writer stored a new entry) since it
    was read is left alone; a rename that fails (read-only cache) is reported in the warning, never raised."""
    moved, kept = [], []
    for path, ident in read.items():
        if not _same_file(path, ident):
            continue
        bad = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.bad")
        try:
            os.rename(path, bad)
            moved.append(bad.name)
        except FileNotFoundError:
            continue
        except OSError as exc:
            kept.append(f"{path.name} ({exc.strerror or exc})")
    where = (f"moved aside as {', '.join(moved)}" if moved else "already moved aside or replaced") + (
        f"; could not move {', '.join(kept)}" if kept else "")
    warnings.warn(f"damaged cache entry {next(iter(read))} ({reason}); {where}; recomputed", CacheWarning,
                  stacklevel=3)
