"""The instruments: per-layer statistics measured on probe examples (``probes``) and the run file
that records them (``runlog``).

The two share this vocabulary, defined once here:
"""

QUANTITIES = ("act", "bgrad", "wgrad")
"""Per-layer quantities: activations z, back-propagated gradients dC/ds, weight gradients dC/dW
(the paper's Section 3 and 4.2)."""
STATS = ("mean", "std", "p2", "p50", "p98", "sat")
"""Statistics of each quantity, pooled over probe examples and units of a layer: mean, standard
deviation, 2nd/50th/98th percentiles, saturated fraction."""
