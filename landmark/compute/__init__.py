"""Where the heavy stage work runs: this process or Dask distributed (docs/scale.md)."""
