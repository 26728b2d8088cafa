"""Writing files so that a reader never sees half of one: the one atomic writer of the package."""
from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_write", "replacing"]


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


@contextmanager
def replacing(path: str | os.PathLike):
    """Yield a temporary path beside ``path`` for a writer that needs a file name (``savefig``); when the block ends
    without an exception it replaces ``path`` (:func:`os.replace`), otherwise it is removed. A reader sees the old
    ``path`` or the new one, never a half-written one.

    Examples
    --------
    >>> import tempfile
    >>> target = Path(tempfile.mkdtemp()) / "out.txt"
    >>> with replacing(target) as tmp:
    ...     _ = tmp.write_text("done")
    ...     target.exists()
    False
    >>> target.read_text()
    'done'
    """
    path = Path(path)
    tmp = _temporary(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: str | os.PathLike, data: bytes | str) -> None:
    """Write ``data`` to ``path`` atomically: a temporary file in the same folder, then :func:`os.replace`.

    The temporary file is created with mode ``0o666`` minus the umask, like any new file (``tempfile`` would give
    ``0o600``), and removed if the write fails."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode()
    tmp = _temporary(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
