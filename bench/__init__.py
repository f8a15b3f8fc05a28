"""How workloads run and are measured. Produces data only; ``reports`` shows it."""

from gilbench import __version__  # noqa: F401  (one version, the package's)
