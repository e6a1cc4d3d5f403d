"""Taking over a run file whose writer died: who holds it (host and process id recorded in the
file), waiting out a reader's brief file lock, and repairing what a killed SWMR writer leaves
(the superblock's "file open for writing" flag and end-of-file address)."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import h5py

from glorotcli.errors import GlorotError
from glorotcli.fileio import hdf5_locked, open_hdf5_read, pid_alive
from glorotcli.stats.runlog.layout import FORMAT, _bytes_str, _local_pid
from glorotcli.superblock import clear_writer_flags


def writer_alive(status: str, writer: str) -> bool:
    """Status ``running`` and its ``host:pid`` writer is another live process on this host (a
    writer on another host cannot be checked: False)."""
    pid = _local_pid(writer)
    return status == "running" and pid is not None and pid != os.getpid() and pid_alive(pid)


def live_writer_pid(path: Path, fmt: str = FORMAT) -> int | None:
    """The pid (an int) of a live process on this host, other than this one, that is writing
    the glorot file ``path`` of format ``fmt`` (a run file by default; status ``running``,
    ``/writer`` naming this host), else None: also for files of another format, files that
    cannot be read, or whose writer runs on another host. Never raises for an unreadable
    file."""
    try:
        with h5py.File(path, "r", libver="latest", swmr=True) as f:
            if _bytes_str(f.attrs.get("format", b"")) != fmt or "writer" not in f:
                return None
            status = _bytes_str(f["status"][()]).strip("\x00")
            who = _bytes_str(f["writer"][()]).strip("\x00")
    except (OSError, KeyError, ValueError, RuntimeError):
        return None
    return _local_pid(who) if writer_alive(status, who) else None


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
    a dead one; the ``host:pid`` in ``/writer`` can (on the same host). The repair itself, and
    why it is done by hand, is in ``glorotcli.superblock``.
    """
    with open_hdf5_read(path) as f:
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
    if not clear_writer_flags(path):
        raise GlorotError(f"{path}: unexpected HDF5 superblock; run `h5clear -s {path}` and "
                          f"resume again")
