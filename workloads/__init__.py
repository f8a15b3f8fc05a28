"""What runs: plain functions plus a declaration of their kind and parameters.

Nothing in this package knows how it is measured; ``bench`` imports it, never the reverse.
"""

from gilbench.workloads.registry import KINDS, Workload, all_workloads, get, load_module, source

__all__ = ["KINDS", "Workload", "all_workloads", "get", "load_module", "source"]
