"""How workloads run and are measured. Produces data only; ``reports`` shows it."""

from .. import __version__  # noqa: F401  (one version, the package's)
