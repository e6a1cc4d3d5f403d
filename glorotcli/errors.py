"""The errors the core raises. The CLI turns them into one-line messages and exit statuses."""


class GlorotError(Exception):
    """Something the user can fix (bad flag, bad file): exit status 2, a one-line message."""

    exit_code = 2


class RunFailed(GlorotError):
    """A run that started but could not finish (for example divergence): exit status 1."""

    exit_code = 1
