"""Writing outputs safely: nothing appears under its final name until it is complete.

``atomic_output`` checks the destination up front (exists without ``force``, folder missing or
not writable), hands out a temporary name in the same folder, and renames it into place only when
the block finishes without an exception. On any exception, including KeyboardInterrupt, the
temporary file is removed and the destination is left untouched.

Reading side: ``read_input`` reads an input file whole (gunzipping it when it is gzipped) and
gives the digests the importers compare with published ones; ``glorot_file_format`` tells a
glorot dataset file from a run file.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import os
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from glorotcli.errors import GlorotError
from glorotcli.progress import Progress
from glorotcli.superblock import HDF5_SIGNATURE, describe_truncated, open_repaired_copy


def check_output_path(path: str | os.PathLike, force: bool) -> Path:
    """``Path(path)``, after checking that it can be written (or overwritten with ``force``).
    Raises GlorotError when ``path`` is a folder, exists without ``force``, or its folder is
    missing or not writable. Creates nothing."""
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


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _temp_prefix(path: Path, pid: int | None = None) -> str:
    """``.NAME.HOST-PID.``: temporary files say who made them, so stale ones can be told."""
    import socket

    host = socket.gethostname().replace(".", "_").replace("-", "_")
    return f".{path.name}.{host}-{os.getpid() if pid is None else pid}."


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Delete temporary files next to ``path`` left by a glorot process on this host that no
    longer exists (killed while writing ``path``; named ``.NAME.HOST-PID.*.tmp``). Returns the
    paths removed; files that cannot be removed are skipped silently."""
    mine = _temp_prefix(path)
    head = mine[:mine.rindex("-") + 1]  # ".NAME.HOST-"
    removed = []
    for p in (path.parent or Path(".")).glob(f"{head}*.tmp"):
        pid = p.name[len(head):].split(".", 1)[0]
        if not pid.isdigit() or pid_alive(int(pid)):
            continue
        with contextlib.suppress(OSError):
            p.unlink()
            removed.append(p)
    return removed


def pid_alive(pid: int) -> bool:
    """Whether a process with id ``pid`` is running on this host (also one of another user,
    which ``os.kill(pid, 0)`` refuses with PermissionError). A zombie, a process that has exited
    but was not reaped yet (an orphan in a container whose first process reaps nothing), is not
    running: it writes nothing any more."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Linux: the process state in /proc/PID/stat is Z (elsewhere: False)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rpartition(b")")[2].split()[:1] == [b"Z"]
    except OSError:
        return False


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; rename it to ``path`` on success (with the
    umask's usual mode). Temporary files a killed glorot process left for the same ``path`` are
    removed first. On any exception in the block (KeyboardInterrupt too) the temporary file is
    removed and the exception propagates. Raises GlorotError as ``check_output_path``, or when
    the temporary file cannot be created."""
    path = check_output_path(path, force)
    remove_stale_temporaries(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp",
                                   dir=path.parent or ".")
    except OSError as exc:
        raise GlorotError(f"{path.parent}: cannot create a file there "
                          f"({exc.strerror or exc})") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


@contextlib.contextmanager
def hdf5_in_memory(path: str | os.PathLike, force: bool = False) -> Iterator:
    """Yield an ``h5py.File`` built in memory; on success write its image to ``path``
    atomically with ordinary file I/O.

    Why not let HDF5 write the file: when the disk fills up, HDF5 fails a write, and closing
    that file later crashes the interpreter with a segmentation fault (h5py issue #914, a bug in
    the HDF5 library). Building the file in memory and writing its bytes ourselves turns a full
    disk into an ordinary ``OSError`` (raised as GlorotError naming ``path``), and nothing is
    left behind. Costs the file's size in memory (a 100k-image Shapeset file: ~40 MB).

    Raises GlorotError as ``check_output_path`` (before the block runs) and when the write
    fails; KeyboardInterrupt for a Ctrl-C or SIGTERM during the write (nothing is left).
    """
    import io

    import h5py

    buf = io.BytesIO()
    check_output_path(path, force)
    with h5py.File(buf, "w") as f:
        yield f
    data = buf.getbuffer()
    try:
        with deferred_interrupt() as check, atomic_output(path, force=force) as tmp:
            with open(tmp, "wb") as fh:
                fh.write(data)
            check()  # Ctrl-C or SIGTERM during the write: the temporary file is removed
    except OSError as exc:  # the temporary file is already removed
        raise GlorotError(f"{path}: could not be written ({exc.strerror or exc})") from None


@contextlib.contextmanager
def deferred_interrupt() -> Iterator[Callable[[], None]]:
    """Hold Ctrl-C (SIGINT) and SIGTERM as a flag during the block; yield ``check()``, which
    raises KeyboardInterrupt once one has arrived. Call it between pieces of work.

    Needed around h5py writes: a SIGINT that lands inside HDF5's C code is otherwise raised in
    a weakref callback of h5py's object registry, where Python prints "Exception ignored" and
    drops it, so the command would go on and finish as if never interrupted; and SIGTERM would
    kill the process with its temporary file left behind. Outside the main thread (no signal
    handlers there) ``check`` does nothing. A signal still pending when the block ends raises
    there.
    """
    import signal
    import threading

    hits: list[int] = []

    def check() -> None:
        if hits:
            hits.clear()
            raise KeyboardInterrupt

    if threading.current_thread() is not threading.main_thread():
        yield check
        return
    old = {sig: signal.signal(sig, lambda signum, frame: hits.append(signum))
           for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield check
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
    check()


# ---------------------------------------------------------------- reading input files ----

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class InputFile:
    """One input file read whole: ``raw`` as stored on disk, ``data`` after gunzip (if gzipped).

    Whether the file is gzipped is decided by its first two bytes, not by its name.
    """

    path: Path
    raw: bytes
    data: bytes
    gzipped: bool

    @property
    def sha256(self) -> str:
        """sha256 of the file as stored (the ``.gz`` itself for a gzipped file)."""
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def content_sha256(self) -> str:
        """sha256 of the decompressed content (equal to ``sha256`` for a plain file)."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def git_blob_sha1(self) -> str:
        """The id git gives the decompressed content: sha1 of ``b"blob <len>\\0" + content``."""
        h = hashlib.sha1(b"blob %d\0" % len(self.data))
        h.update(self.data)
        return h.hexdigest()


@dataclass(frozen=True)
class Checksum:
    """The outcome of comparing one input file with a published digest.

    ``algorithm`` names what was hashed ("sha256", "sha256 of the decompressed content",
    "git blob sha1"); ``expected`` is None when no digest is known for the file.
    """

    file: str
    algorithm: str
    actual: str
    expected: str | None

    @property
    def ok(self) -> bool:
        """The digests are equal (False when no digest is known)."""
        return self.expected is not None and self.actual == self.expected

    def mismatch(self, release: str) -> str:
        """One line saying that this file does not match ``release`` (what was compared),
        with the first 12 hex digits of each digest."""
        expected = f"expected {self.expected[:12]}..." if self.expected else "no digest known"
        return (f"{self.file}: {self.algorithm} {self.actual[:12]}... does not match "
                f"{release} ({expected})")


def read_input(path: str | os.PathLike, progress: Progress | None = None,
               chunk: int = 1 << 20) -> InputFile:
    """Read ``path`` whole (reporting bytes read as task "read NAME" in blocks of ``chunk``
    bytes), gunzip it if gzipped (decided by its first two bytes); an ``InputFile``.

    Raises GlorotError naming the file when it is missing, unreadable or a broken gzip stream.
    """
    path = Path(path)
    if not path.is_file():
        raise GlorotError(f"{path}: no such file")
    try:
        total = path.stat().st_size
        parts: list[bytes] = []
        done = 0
        with open(path, "rb") as f:
            while True:
                block = f.read(chunk)
                if not block:
                    break
                parts.append(block)
                done += len(block)
                if progress is not None:
                    progress(f"read {path.name}", done, total)
    except OSError as exc:
        raise GlorotError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    raw = b"".join(parts)
    if raw[:2] != GZIP_MAGIC:
        return InputFile(path, raw, raw, gzipped=False)
    try:
        data = gzip.decompress(raw)
    except EOFError:
        raise GlorotError(f"{path}: truncated gzip stream (the file ends early)") from None
    except (OSError, zlib.error) as exc:
        raise GlorotError(f"{path}: not a valid gzip file ({exc})") from None
    return InputFile(path, raw, data, gzipped=True)


def nested_folder(folder: Path, names: list[str]) -> None:
    """Raise GlorotError when ``folder/NAME`` is a folder holding the expected file ``NAME``
    (some unpacking tools make one folder per file); otherwise return."""
    for n in names:
        inner = folder / n
        if inner.is_dir():
            held = [m for m in names if (inner / m).is_file()]
            if held:
                raise GlorotError(f"{inner}: is a folder holding {held[0]}; move that file up "
                                  f"into {folder} in place of the folder")


def looks_like(data: bytes) -> str | None:
    """What a file that should hold raw data seems to be instead, with what to do, or None.
    Recognises the usual accidents with downloaded data sets: an HTML error page saved under
    the data's name, a file compressed twice, a tar archive, a Python pickle, an HDF5 or PNG
    file. Never parses the content (pickles in particular are never loaded)."""
    head = data[:512].lstrip()
    low = head[:64].lower()
    if low.startswith((b"<!doctype html", b"<html", b"<?xml", b"<head", b"<!--")):
        return ("an HTML page, not data (a failed or redirected download?): download the "
                "file again")
    if data[:2] == GZIP_MAGIC:
        return "gzip-compressed a second time: decompress it once (gunzip) and try again"
    if len(data) > 262 and data[257:262] == b"ustar":
        return "a tar archive: unpack it first (tar xf FILE) and give what it contains"
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return ("a Python pickle (the data set's 'python version'?): glorot reads the binary "
                "version and never unpickles files")
    if data[:8] == HDF5_SIGNATURE:
        return "an HDF5 file (a glorot dataset? it needs no import)"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "a PNG image"
    return None


def hdf5_locked(exc: BaseException) -> bool:
    """Whether an h5py error (its message) says another process holds HDF5's lock on the
    file."""
    return "unable to lock file" in str(exc)


def open_hdf5_read(path: str | os.PathLike):
    """Open an HDF5 file for reading: plainly when no writer has it open, in SWMR mode when one
    has (a run file that is growing, or whose writer was killed).

    Plain first, because only a plain open checks the file's length against what HDF5
    recorded: a truncated file opened in SWMR mode makes HDF5 retry its reads for minutes. A
    file left flagged "open for writing" by a writer killed outside SWMR mode, which HDF5
    refuses in both modes, is read from a repaired copy. Returns an open ``h5py.File`` (the
    caller closes it). Raises OSError from h5py (not a GlorotError: callers word it).
    """
    import h5py

    try:
        return h5py.File(path, "r")
    except OSError as exc:
        text = str(exc)
        if "already open for write" not in text and not hdf5_locked(exc):
            raise
    try:
        return h5py.File(path, "r", libver="latest", swmr=True)
    except OSError as exc:
        if "not already open for SWMR writing" not in str(exc):
            raise
    # A writer outside SWMR mode (a resume reopening the file) was killed and left the file
    # flagged "open for writing": read a repaired copy; the file itself stays as it is.
    return open_repaired_copy(path)


def glorot_file_format(path: str | os.PathLike) -> str:
    """The root ``format`` attribute of a glorot HDF5 file ("glorot-dataset", "glorot-run",
    "glorot-surface", "glorot-pretrain").

    Raises GlorotError "PATH: not a glorot file (...)" for anything else.
    """

    path = Path(path)
    if not path.exists():
        raise GlorotError(f"{path}: no such file")
    if path.is_dir():
        raise GlorotError(f"{path}: is a folder, expected a glorot file")
    if not _has_hdf5_signature(path):
        raise GlorotError(f"{path}: not a glorot file (not an HDF5 file)")
    try:
        f = open_hdf5_read(path)
    except OSError as exc:
        if hdf5_locked(exc):
            raise GlorotError(f"{path}: is being created by a writer right now; try again in a "
                              "moment") from None
        if "truncated file" in str(exc):
            raise GlorotError(f"{path}: damaged file: it is shorter than HDF5 recorded "
                              f"(truncated by a copy or a crash); "
                              f"{describe_truncated(path)}") from None
        raise GlorotError(f"{path}: HDF5 file cannot be read ({exc})") from None
    with f:
        fmt = f.attrs.get("format")
    if fmt is None:
        raise GlorotError(f"{path}: not a glorot file (HDF5 without a 'format' attribute)")
    if isinstance(fmt, bytes):
        fmt = fmt.decode(errors="replace")
    if fmt not in ("glorot-dataset", "glorot-run", "glorot-surface", "glorot-pretrain"):
        raise GlorotError(f"{path}: not a glorot file (format is {str(fmt)!r})")
    return str(fmt)


def _has_hdf5_signature(path: Path) -> bool:
    """True if the HDF5 signature sits at offset 0, 512, 1024, 2048, ... (user-block sizes)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            offset = 0
            while offset + 8 <= size:
                fh.seek(offset)
                if fh.read(8) == HDF5_SIGNATURE:
                    return True
                offset = 512 if offset == 0 else offset * 2
    except OSError as exc:
        raise GlorotError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return False
