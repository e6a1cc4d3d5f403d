"""Repairing the HDF5 superblock a killed or truncated writer leaves, and salvaging what a
damaged file still holds.

Why by hand: h5py has no binding for HDF5's superblock repair (``H5Fformat_convert`` does not
touch these flags) and the ``h5clear`` tool is not installed with h5py. The superblock (versions 2
and 3; HDF5 file format specification, "Superblock") is 12 bytes of signature, version, sizes and
flags, then four addresses (base, superblock extension, end of file, root object header) and a
lookup3 checksum: only the flags and the end-of-file address ever change here.
"""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
from pathlib import Path

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def clear_writer_flags(path: str | os.PathLike, *, end_of_file: str = "raise") -> bool:
    """Clear the "open for writing" flags in the superblock of ``path`` (what ``h5clear -s``
    does) and set its end-of-file address: ``"raise"`` raises it to the file's length when a
    writer killed mid-flush wrote past it (as ``h5clear --increment`` would; more would make
    HDF5 call the file truncated); ``"length"`` sets it to the file's length (a truncated file,
    so that what lies before the cut can be read). Returns False, changing nothing, when the
    superblock is not version 2 or 3. Raises OSError if the file cannot be written."""
    with open(path, "r+b") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:8] != HDF5_SIGNATURE or head[8] not in (2, 3):
            return False
        width = head[9]  # size of offsets
        size = 12 + 4 * width  # signature .. root object header address
        fh.seek(0)
        block = bytearray(fh.read(size))
        block[11] = 0  # file consistency flags
        at = 12 + 2 * width
        eoa = int.from_bytes(block[at:at + width], "little")
        length = os.fstat(fh.fileno()).st_size
        new = max(eoa, length) if end_of_file == "raise" else length
        block[at:at + width] = new.to_bytes(width, "little")
        fh.seek(0)
        fh.write(bytes(block) + struct.pack("<I", lookup3(bytes(block))))
    return True


def open_repaired_copy(path: str | os.PathLike):
    """Open, read-only, a repaired copy of ``path`` (writer flags cleared, end of file raised)
    in the temporary folder; the copy's name is removed at once, so it disappears when the
    returned ``h5py.File`` is closed. For a file a killed writer left flagged "open for
    writing" outside SWMR mode, which HDF5 refuses to open at all. Raises OSError."""
    import h5py

    fd, name = tempfile.mkstemp(prefix="glorot-repaired-", suffix=".h5")
    os.close(fd)
    try:
        shutil.copyfile(path, name)
        if not clear_writer_flags(name):
            raise OSError(f"{path}: unexpected HDF5 superblock")
        return h5py.File(name, "r")
    finally:
        os.unlink(name)


def readable_steps(path: str | os.PathLike) -> dict[str, int] | None:
    """For a truncated file: the last step still readable on each step axis of a glorot file
    (``{"log": 300, "layers": 100, "checkpoint": 300}``; groups with a ``step`` dataset, the
    checkpoint slots as one ``checkpoint`` entry), read from a repaired copy in the temporary
    folder (the file itself is never changed). None when nothing can be read; never raises for
    an unreadable file."""
    import h5py

    with tempfile.TemporaryDirectory(prefix="glorot-salvage-") as tmp:
        copy = Path(tmp) / "copy.h5"
        try:
            shutil.copyfile(path, copy)
            if not clear_writer_flags(copy, end_of_file="length"):
                return None
            f = h5py.File(copy, "r")
        except OSError:
            return None
        found: dict[str, int] = {}
        with f:
            try:  # a file cut inside its root group's metadata cannot even list it
                names = sorted(f)
            except (OSError, KeyError, ValueError, RuntimeError):
                return None
            for name in names:
                try:
                    steps = f[name]["step"][()] if isinstance(f[name], h5py.Group) else None
                except (OSError, KeyError, ValueError, RuntimeError):
                    continue
                if steps is None or getattr(steps, "ndim", 1) != (0 if "checkpoint" in name else 1):
                    continue
                last = int(steps) if steps.ndim == 0 else (int(steps[-1]) if len(steps) else -1)
                key = "checkpoint" if name.startswith("checkpoint") else name
                if last >= 0:
                    found[key] = max(found.get(key, -1), last)
        return found or None


def describe_truncated(path: str | os.PathLike) -> str:
    """One clause for an error message: what a truncated file still holds, read from a
    repaired copy (``readable_steps``; steps in updates), or "nothing in it is readable".
    Never raises for an unreadable file."""
    steps = readable_steps(path)
    if not steps:
        return "nothing in it is readable"
    names = {"log": "the log", "layers": "the probes"}
    parts = [f"{names.get(k, k)} to step {v:,}" for k, v in steps.items() if k != "checkpoint"]
    if "checkpoint" in steps:
        parts.append(f"a checkpoint at step {steps['checkpoint']:,}")
    return "a repaired copy still reads " + ", ".join(parts)


def lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 hash (hashlittle) of ``data`` with seed ``initval``: an unsigned
    32-bit int, HDF5's metadata checksum (stored little-endian after the superblock)."""
    m = 0xFFFFFFFF

    def rot(x: int, k: int) -> int:
        return ((x << k) | (x >> (32 - k))) & m

    n = len(data)
    a = b = c = (0xDEADBEEF + n + initval) & m
    i = 0
    while n - i > 12:
        x, y, z = struct.unpack_from("<III", data, i)
        a, b, c = (a + x) & m, (b + y) & m, (c + z) & m
        a = (a - c) & m; a ^= rot(c, 4); c = (c + b) & m  # noqa: E702
        b = (b - a) & m; b ^= rot(a, 6); a = (a + c) & m  # noqa: E702
        c = (c - b) & m; c ^= rot(b, 8); b = (b + a) & m  # noqa: E702
        a = (a - c) & m; a ^= rot(c, 16); c = (c + b) & m  # noqa: E702
        b = (b - a) & m; b ^= rot(a, 19); a = (a + c) & m  # noqa: E702
        c = (c - b) & m; c ^= rot(b, 4); b = (b + a) & m  # noqa: E702
        i += 12
    rest = data[i:]
    if not rest:
        return c
    x, y, z = struct.unpack("<III", rest + bytes(12 - len(rest)))
    a, b, c = (a + x) & m, (b + y) & m, (c + z) & m
    c ^= b; c = (c - rot(b, 14)) & m  # noqa: E702
    a ^= c; a = (a - rot(c, 11)) & m  # noqa: E702
    b ^= a; b = (b - rot(a, 25)) & m  # noqa: E702
    c ^= b; c = (c - rot(b, 16)) & m  # noqa: E702
    a ^= c; a = (a - rot(c, 4)) & m  # noqa: E702
    b ^= a; b = (b - rot(a, 14)) & m  # noqa: E702
    c ^= b; c = (c - rot(b, 24)) & m  # noqa: E702
    return c
