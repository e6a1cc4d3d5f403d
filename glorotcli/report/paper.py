"""The paper's own numbers that the reports put beside the measured ones.

Sources: Glorot & Bengio (2010), Table 1 and the text of §3-§4; readings marked "plot" were
read off the paper's figures and are approximate (docs/choices.md lists the claims they serve).
"""

from __future__ import annotations

from glorotcli.config import UPDATES_PER_EPOCH_ONLINE as PAPER_EPOCH_UPDATES

# PAPER_EPOCH_UPDATES: what the paper's time axis calls an "epoch" (Figs. 2, 3, 9, 10: "Epochs
# of 20k mini-batch updates"), defined once in config. The reports count training time in
# updates and quote the paper's word only when converting.

STEPS_LABEL = "mini-batch updates"
PAPER_TIME_AXIS = (f"the paper's axis: \"epochs\" of {PAPER_EPOCH_UPDATES // 1000}k "
                   f"updates")
"""How the paper's Figs. 2, 3, 9, 10 count time, for the reports' axis labels."""
EXAMPLES_LABEL = "examples seen"

DATASET_LABELS = {
    "shapeset": "Shapeset-3x2",
    "mnist": "MNIST",
    "cifar10": "CIFAR-10",
    "small-imagenet": "Small-ImageNet",
}

PRETRAINING_LABEL = "Pre-training"
"""Fig. 11's name of the curve of the nets pre-trained by denoising auto-encoders (glorot
train --init-from a glorot pretrain file)."""

TABLE1_DEPTH = 5
"""Table 1's caption: 5 hidden layers for every entry."""

TABLE1_ROWS = (("softsign", "standard"), ("softsign", "normalized"), ("tanh", "standard"),
               ("tanh", "normalized"), ("sigmoid", "standard"))
"""Table 1 rows in the paper's order, as (activation, init)."""

TABLE1 = {
    ("softsign", "standard"): {"shapeset": 16.27, "mnist": 1.64, "cifar10": 55.78,
                               "small-imagenet": 69.14},
    ("softsign", "normalized"): {"shapeset": 16.06, "mnist": 1.72, "cifar10": 53.8,
                                 "small-imagenet": 68.13},
    ("tanh", "standard"): {"shapeset": 27.15, "mnist": 1.76, "cifar10": 55.9,
                           "small-imagenet": 70.58},
    ("tanh", "normalized"): {"shapeset": 15.60, "mnist": 1.64, "cifar10": 52.92,
                             "small-imagenet": 68.57},
    ("sigmoid", "standard"): {"shapeset": 82.61, "mnist": 2.21, "cifar10": 57.28,
                              "small-imagenet": 70.66},
}
"""Table 1: test error (%) of depth-5 nets, per (activation, init) and data set."""

JACOBIAN_SV_MEAN = {"standard": 0.5, "normalized": 0.8}
"""§4.2.2: mean singular value of the layer-to-layer Jacobians, tanh at initialization."""

FIG3_FINAL_STD = {
    "tanh": (0.62, 0.62, 0.5, 0.36, 0.22),
    "softsign": (0.57, 0.57, 0.48, 0.48, 0.27),
}
"""Fig. 3 (plot): activation std per layer at the end of training (≈ epoch 95)."""

FIG6_STD_INIT = {
    "standard": (0.31, 0.16, 0.093, 0.052, 0.029),
    "normalized": (0.29, 0.29, 0.29, 0.29, 0.29),
}
"""Fig. 6 (plot, derived as 0.4 / peak): tanh activation std per layer at initialization."""

FIG9_L1_OVER_L5 = {"standard": 3.3, "normalized": 1.7}
"""Fig. 9 (plot): weight-gradient std of layer 1 over layer 5, tanh, read at ``FIG9_AT``."""
FIG9_AT = 30 * PAPER_EPOCH_UPDATES
"""Where Fig. 9 is read: after ≈ 30 of the paper's "epochs" (600,000 updates)."""

MAJORITY_ERROR_SHAPESET = 5 / 6
"""Shapeset-3x2's majority-class error: half of the images hold one shape of three kinds, so the
three one-shape classes are the most frequent, 1/6 each (docs/shapeset.md); answering one of
them is wrong 5/6 of the time (83.3 %; the paper's depth-5 sigmoid sits near it: Fig. 11,
Table 1's 82.61 %)."""


def row_label(activation: str, init: str) -> str:
    """The paper's name of a configuration: "Tanh", "Tanh N", "Softsign N", "Sigmoid"; other
    inits keep their name ("Tanh (he)")."""
    name = str(activation).capitalize()
    if init == "standard":
        return name
    if init == "normalized":
        return f"{name} N"
    return f"{name} ({init})"


def paper_test_error(activation: str, init: str, kind: str) -> float | None:
    """Table 1's test error (%) for a configuration and data-set kind, or None."""
    return TABLE1.get((activation, init), {}).get(kind)
