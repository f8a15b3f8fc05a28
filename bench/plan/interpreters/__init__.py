"""The interpreters under test: found from a spec, described by themselves, prepared once.

A spec is what ``--python`` takes: a path (``/opt/py/bin/python3.14t``), a version (``3.12``,
``3.14t`` for the free-threaded build, ``3.12.1``), or a command name (``python3.12``), optionally
followed by environment settings for the cells (``3.14t:PYTHON_GIL=0``, ``3.13:A=1,B=2``). The
interpreter gilbench itself runs on has the label ``""``.

- :func:`find` resolves a spec (an existing path; then ``python3.X[t]`` on PATH, pyenv's versions,
  uv's managed pythons) and describes the interpreter by running a small script in it
  (:func:`describe`): version, build (``Py_GIL_DISABLED``), whether the GIL is on with the settings
  applied, start methods, subinterpreters. It refuses ``PYTHON_GIL=0`` on a GIL build and checks that
  a requested ``PYTHON_GIL`` is what the interpreter reports.
- :func:`prepare` gives an interpreter what a cell needs: pyperf and psutil (the interpreter itself
  when it has them, else a virtual environment made once per interpreter identity under
  ``~/.cache/gilbench/envs`` and reused) and ``PYTHONPATH`` at this checkout, so that it runs
  gilbench's measuring side (``bench.measure.cell``, ``bench.backends``, ``workloads``) from here and never
  needs the report stack. Where that cannot be done the reason is returned and the caller skips the
  interpreter's cells.

Its modules: ``spec`` (what ``--python`` takes), ``description`` (an interpreter describes itself),
``discovery`` (``find``, ``available``), ``environments`` (``prepare``). Standard library only (it runs where the harness runs).
"""

from __future__ import annotations

from .description import current, describe, identity
from .discovery import available, find
from .environments import MARKER, MINIMUM, Prepared, cell_env, prepare
from .spec import GIL_VARIABLE, Interpreter, InterpreterError, normalize, parse_settings, parse_spec

__all__ = ["GIL_VARIABLE", "MARKER", "MINIMUM", "Interpreter", "InterpreterError", "Prepared", "available", "cell_env",
           "current", "describe", "find", "identity", "normalize", "parse_settings", "parse_spec", "prepare"]
