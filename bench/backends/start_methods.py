"""``processes`` with each multiprocessing start method fixed: fork, spawn, forkserver.

The same model as ``processes`` (one Process per worker, started per batch, results through a
Queue); only how a child comes to exist differs, and that is what a batch's time then shows:
fork copies the parent, spawn starts a fresh interpreter that imports the task's module, forkserver
asks a server process (started once, in ``prepare``) to fork a clean child. ``processes`` itself
keeps the interpreter's default method. A method the platform lacks makes the model unavailable
there (``Backend.unavailable``), and its cells are skipped with that reason.
"""

from __future__ import annotations

from .processes import Processes


class ProcessesFork(Processes):
    name = "processes-fork"
    description = "processes with the fork start method: each child a copy of the parent, started per batch"
    fixed_start_method = "fork"


class ProcessesSpawn(Processes):
    name = "processes-spawn"
    description = "processes with the spawn start method: each child a fresh interpreter, started per batch"
    fixed_start_method = "spawn"


class ProcessesForkserver(Processes):
    name = "processes-forkserver"
    description = "processes with the forkserver start method: each child forked by a clean server, started per batch"
    fixed_start_method = "forkserver"
