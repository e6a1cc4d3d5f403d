"""The run file: one HDF5 file per training run, written live and readable while it grows.

Layout: see the "Run file" section of ``docs/formats.md`` (the contract with the reports). The
package has one module per concern, each importing only those before it:

- ``layout``: names, statuses, checkpoint slots, chunking, the writer's identity;
- ``recovery``: taking over a file whose writer died (lock, superblock repair);
- ``reader``: ``read_run``, ``run_info``, ``read_checkpoint`` (SWMR reads of whole rows);
- ``writer``: ``RunWriter`` (SWMR appends, checkpoints, disk-space reserve).

What the rest of glorot uses is re-exported here.
"""

from glorotcli.stats import QUANTITIES, STATS
from glorotcli.stats.runlog.layout import (
    CHECKPOINT_SLOTS,
    FORMAT,
    FORMAT_VERSION,
    LOG_SERIES,
    RATIOS,
    RESERVE_BYTES,
    STATUSES,
    Checkpoint,
    active_checkpoint,
    chunk_rows,
)
from glorotcli.stats.runlog.reader import (
    RunData,
    read_checkpoint,
    read_initial_weights,
    read_run,
    run_info,
)
from glorotcli.stats.runlog.recovery import live_writer_pid
from glorotcli.stats.runlog.writer import DiskFull, RunWriter, free_bytes

__all__ = [
    "CHECKPOINT_SLOTS", "FORMAT", "FORMAT_VERSION", "LOG_SERIES", "QUANTITIES", "RATIOS",
    "RESERVE_BYTES", "STATS", "STATUSES", "Checkpoint", "DiskFull", "RunData", "RunWriter",
    "active_checkpoint", "chunk_rows", "free_bytes", "live_writer_pid", "read_checkpoint",
    "read_initial_weights", "read_run", "run_info",
]
