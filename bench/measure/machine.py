"""What the machine and the interpreter are: the context every figure needs to be read in."""

from __future__ import annotations

import importlib.metadata
import multiprocessing
import os
import platform
import socket
import sys
import sysconfig
from typing import Any

import psutil

from .gil import gil_enabled  # noqa: F401  (part of the machine description's API)
from ..data.topology import read_topology

PACKAGES = ("pyperf", "psutil", "pandas", "matplotlib", "jinja2")


def python_build() -> str:
    """"free-threading" for a free-threaded (PEP 703) build, "gil" otherwise."""
    return "free-threading" if sysconfig.get_config_var("Py_GIL_DISABLED") else "gil"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def interpreter() -> dict[str, Any]:
    """The running interpreter: version, implementation, build, GIL state, default start method."""
    return {
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "python_executable": sys.executable,
        "python_build": python_build(),
        "gil_enabled": gil_enabled(),
        "default_start_method": multiprocessing.get_start_method(),
    }


def describe() -> dict[str, Any]:
    """A plain-data description of this machine and interpreter, for a run folder's machine.json."""
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    freq = psutil.cpu_freq()
    return {
        "hostname": socket.gethostname(),
        "cpu_model": cpu_model(),
        "logical_cpus": psutil.cpu_count(logical=True),
        "physical_cores": psutil.cpu_count(logical=False),
        "affinity": affinity,
        "topology": read_topology().to_dict(),  # which logical CPUs share a physical core
        "cpu_freq_mhz": round(freq.max or freq.current) if freq else None,
        "memory_total_bytes": psutil.virtual_memory().total,
        "os": platform.platform(),
        "load_avg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        **interpreter(),
        "packages": package_versions(),
    }
