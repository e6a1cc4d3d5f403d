"""The errors the core raises. The CLI turns them into one-line messages and exit statuses."""


class GlorotError(Exception):
    """Something the user can fix (bad flag, bad file): exit status 2, a one-line message."""

    exit_code = 2


class RunFailed(GlorotError):
    """A run that started but could not finish (for example divergence): exit status 1."""

    exit_code = 1


class WriteFailed(GlorotError):
    """The HDF5 library failed to write a file (disk full despite the reserve, I/O error).
    Its in-memory state for that file is then unsafe: closing it can crash the process (h5py
    issue #914), so the CLI exits at once after printing the message (``hard_exit``)."""

    hard_exit = True
