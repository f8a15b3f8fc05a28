"""What runs: plain functions plus a declaration of their kind and parameters.

Nothing in this package knows how it is measured; ``bench`` imports it, never the reverse.
"""

from .registry import KINDS, Workload, all_workloads, get, load_module, source
from .functions import Declaration, load_function, workload  # noqa: E402 - after registry

__all__ = ["KINDS", "Declaration", "Workload", "all_workloads", "get", "load_function", "load_module", "source",
           "workload"]
