"""glorot: reproduce Glorot & Bengio (2010), *Understanding the difficulty of training deep
feedforward neural networks*, from data to figures."""

__version__ = "0.1.0"
