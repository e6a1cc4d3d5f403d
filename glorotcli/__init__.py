"""glorot: reproduce Glorot & Bengio (2010), *Understanding the difficulty of training deep
feedforward neural networks*, from data to figures."""

__version__ = "0.1.0"

from glorotcli.api import (  # noqa: E402  (the API modules import __version__ lazily)
    SHAPESET_SPLITS,
    generate_shapeset,
    import_cifar10,
    import_mnist,
    init_lab,
    open_run,
    pretrain,
    resume,
    train,
    write_figures,
)


def prepare_environment() -> dict:
    """Check the environment and set glorot's OpenMP wait policy (what the ``glorot`` command
    does first); call it before training in a notebook, before anything starts Numba's thread
    pool. See ``glorotcli.environment``."""
    from glorotcli.environment import prepare

    return prepare(warn=lambda message: print(f"glorot: warning: {message}"))


__all__ = ["SHAPESET_SPLITS", "__version__", "generate_shapeset", "import_cifar10", "import_mnist",
           "init_lab", "open_run", "prepare_environment", "pretrain", "resume", "train",
           "write_figures"]
