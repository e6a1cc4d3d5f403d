"""glorot: reproduce Glorot & Bengio (2010), *Understanding the difficulty of training deep
feedforward neural networks*, from data to figures."""

__version__ = "0.1.0"


def prepare_environment() -> dict:
    """Check the environment and set glorot's OpenMP wait policy (what the ``glorot`` command
    does first); call it before training in a notebook, before anything starts Numba's thread
    pool. See ``glorotcli.environment``."""
    from glorotcli.environment import prepare

    return prepare(warn=lambda message: print(f"glorot: warning: {message}"))
