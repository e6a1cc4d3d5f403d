"""Taking over a run file whose writer died: who holds it (host and process id recorded in the
file), waiting out a reader's brief file lock, and repairing what a killed SWMR writer leaves
(the superblock's "file open for writing" flag and end-of-file address)."""

from __future__ import annotations

import os
import socket
import struct
import time
from pathlib import Path

import h5py

from glorotcli.errors import GlorotError
from glorotcli.fileio import (
    HDF5_SIGNATURE,
    hdf5_locked,
    pid_alive,
)
from glorotcli.stats.runlog.layout import FORMAT, _bytes_str, _local_pid


def live_writer_pid(path: Path) -> int | None:
    """The pid of a live process on this host that is writing the run file ``path`` (status
    ``running``), else None (also for files that are not run files)."""
    try:
        with h5py.File(path, "r", libver="latest", swmr=True) as f:
            if f.attrs.get("format") != FORMAT or "writer" not in f or "status" not in f:
                return None
            status = _bytes_str(f["status"][()])
            who = _bytes_str(f["writer"][()])
    except (OSError, KeyError, ValueError):
        return None
    pid = _local_pid(who)
    if status != "running" or pid is None:
        return None
    return pid if pid != os.getpid() and pid_alive(pid) else None


def _open_for_update(path: Path, tries: int = 15) -> h5py.File:
    """``h5py.File(path, "r+")``, retried for about 3 s while another process holds HDF5's file
    lock: a reader (``inspect``, ``report --follow``) opening the file at the same instant holds
    it for milliseconds; a program that keeps the file open still fails after the retries."""
    for attempt in range(tries):
        try:
            return h5py.File(path, "r+", libver="latest")
        except OSError as exc:
            if not hdf5_locked(exc) or attempt == tries - 1:
                raise
            time.sleep(0.2)
    raise AssertionError("unreachable")


def _clear_dead_writer(path: Path, take_over: bool = False) -> None:
    """Clear the "open for writing" flags a killed writer left in the superblock and raise its
    end-of-file address to the file's length (what ``h5clear -s`` does, with the end of file
    raised as ``h5clear --increment`` would), after checking that the writer recorded in
    ``/writer`` is gone.

    An HDF5 writer in SWMR mode drops its file lock, so the lock cannot tell a live writer from
    a dead one; the ``host:pid`` in ``/writer`` can (on the same host). Why by hand: h5py has
    no binding for HDF5's H5Fstart_swmr_write/H5Fformat_convert-style repair, and the
    ``h5clear`` tool is not installed with h5py. The superblock (versions 2 and 3) is 12 bytes
    of signature, version, sizes and flags, four addresses (base, extension, end of file, root
    object header) and a lookup3 checksum; only the flags and the end-of-file address change.
    """
    with h5py.File(path, "r", libver="latest", swmr=True) as f:
        who = _bytes_str(f["writer"][()]) if "writer" in f else ""
    host, _, pid = who.rpartition(":")
    if not pid.isdigit():
        raise GlorotError(f"{path}: is marked as open by a writer, and the file does not say "
                          f"which; if no glorot train is writing it, run `h5clear -s {path}`")
    if host != socket.gethostname() and not take_over:
        raise GlorotError(f"{path}: is being written on host {host} (process {pid}); if that "
                          f"run is dead, run `h5clear -s {path}` and resume again")
    if host == socket.gethostname() and int(pid) != os.getpid() and pid_alive(int(pid)):
        raise GlorotError(f"{path}: is still being written by process {pid}; stop it first "
                          f"(Ctrl-C checkpoints it)")
    with open(path, "r+b") as fh:
        head = fh.read(12)
        if head[:8] != HDF5_SIGNATURE or head[8] not in (2, 3):
            raise GlorotError(f"{path}: unexpected HDF5 superblock (version {head[8]}); run "
                              f"`h5clear -s {path}` and resume again")
        width = head[9]  # size of offsets
        size = 12 + 4 * width  # signature .. root object header address
        fh.seek(0)
        block = bytearray(fh.read(size))
        block[11] = 0  # file consistency flags
        # a writer killed mid-flush may have written past the recorded end of file: raise it
        # to the file's length (more would make HDF5 call the file truncated)
        at = 12 + 2 * width
        eoa = int.from_bytes(block[at:at + width], "little")
        length = os.fstat(fh.fileno()).st_size
        block[at:at + width] = max(eoa, length).to_bytes(width, "little")
        fh.seek(0)
        fh.write(bytes(block) + struct.pack("<I", _lookup3(bytes(block))))


def _lookup3(data: bytes, initval: int = 0) -> int:
    """Bob Jenkins' lookup3 hash (hashlittle), HDF5's metadata checksum."""
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
