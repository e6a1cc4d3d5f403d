"""Writing outputs safely: nothing appears under its final name until it is complete.

``atomic_output`` checks the destination up front (exists without ``force``, folder missing or
not writable), hands out a temporary name in the same folder, and renames it into place only when
the block finishes without an exception. On any exception, including KeyboardInterrupt, the
temporary file is removed and the destination is left untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from glorotcli.errors import GlorotError


def check_output_path(path: str | os.PathLike, force: bool) -> Path:
    """Raise GlorotError unless ``path`` can be written (or overwritten with ``force``)."""
    path = Path(path)
    if path.is_dir():
        raise GlorotError(f"{path}: is a folder, expected a file name")
    if path.exists() and not force:
        raise GlorotError(f"{path}: already exists (use --force to overwrite)")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise GlorotError(f"{folder}: output folder does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise GlorotError(f"{folder}: output folder is not writable")
    return path


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` on success."""
    path = check_output_path(path, force)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise
