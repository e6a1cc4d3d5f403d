"""Above the networks and the instruments: sweeps of training runs (grid, recipes, learning-rate
selection) and where they execute (a local process pool or Dask distributed)."""
