"""What runs: plain functions plus a declaration of their kind and parameters.

Nothing in this package knows how it is measured; ``bench`` imports it, never the reverse.
"""

from .functions import Declaration, workload
from .registry import all_workloads, get, load_function, load_module, source
from .workload import KINDS, Workload

__all__ = ["KINDS", "Declaration", "Workload", "all_workloads", "get", "load_function", "load_module", "source",
           "workload"]
