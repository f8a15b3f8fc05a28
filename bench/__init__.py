"""How workloads run and are measured. Produces data only; ``reports`` shows it."""

__version__ = "0.1.0"
