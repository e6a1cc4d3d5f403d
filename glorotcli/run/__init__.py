"""Orchestration, above the networks (``nn``) and the instruments (``stats``): the training loop
(``train``), sweeps of training runs (grid, recipes, learning-rate selection) and where they
execute (a local process pool or Dask distributed)."""
