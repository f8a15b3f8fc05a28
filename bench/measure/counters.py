"""Instructions per task: a figure that does not care how busy the machine is.

Wall time and CPU time move with everything else on the machine (other guests, a CPU quota, the
clock); the number of instructions a task executes does not. This module finds the instruction
counters this machine has and counts one cell's instructions per task with them; ``gilbench ab``
stores each count as a process's ``ProcessRecord.instructions``, the ``instructions`` gate metric
(``--fail-on instructions:PCT%``) compares them.

Counters, in the order they are tried (``GILBENCH_COUNTER=perf`` or ``=valgrind`` picks one):

- **hardware** (``perf stat -e instructions:u``): native speed, user-mode instructions of the
  whole process tree (perf follows forks and threads). It is detected, never assumed: a virtual
  machine often has ``perf`` but no counters (``<not supported>``), a container no permission.
- **Valgrind**: counts every instruction of the guest exactly, on any x86-64 or ARM Linux.
  ``--tool=cachegrind --cache-sim=no`` counts only ``Ir`` and is the cheapest Valgrind tool that
  counts (about 25x slower than native here; lackey is far slower). ``--trace-children=yes`` follows
  exec'd workers (spawn, the forkserver); a fork is followed anyway, and each process writes its own
  out file (``%p``), whose ``summary:`` totals are summed. But a forked child starts with a copy of
  its parent's counts, so a model that starts processes would count its parent's work once per
  child: its cells run under ``--tool=callgrind --zero-before=PyOS_AfterFork_Child`` instead, which
  zeroes a child's counts where CPython's ``os.fork`` enters the child (about 4x dearer than
  cachegrind: callgrind follows every call). Both count the same ``Ir``. Valgrind runs one thread
  at a time: under it a threads cell's count is the work its tasks do, not the GIL's waiting.

What is not the task is subtracted: a count runs the cell's own entry point (``python -m
gilbench.bench.measure.cell --count``: the workload, backend and ``prepare`` of a measured worker) twice,
with no batch and with ``COUNT_BATCHES``, and takes the difference over ``COUNT_BATCHES x tasks``:
interpreter start, imports, the pool's making and ending cancel, and what is left is the cell's first
batch per task, including the model's own cost per batch (threads or processes started and joined),
as time measures it, and the batch's one-time costs (the adaptive interpreter specializing the task's
code, first-call caches, and whatever the task does only on its first call, such as an import inside
it): measured here at +0.56 % per task for a gate-size hello-cpu ``sequential`` task, near nothing for
``threads`` and ``processes`` x2. Both sides of a gate share it, so a change of the task's work shows
diluted by that share; a workload whose task does much once (imports, loads data) should do it in its
``prepare``, which both processes run and the difference cancels.
Counting a steady batch instead (two processes of one and two batches) costs three batches under the
counter instead of one.

What would make equal counts differ is fixed: ``PYTHONHASHSEED=0`` (set iteration, dict layout),
the measured processes' filtered environment grown to ``ENVIRONMENT_BYTES`` together with the
arguments (the stack's start, and with it the alignment glibc's string functions branch on), address
space randomization off (``setarch -R``, where it is allowed), bytecode caches of the count's own
(``PYTHONPYCACHEPREFIX``, filled by one uncounted native run, then only read), and a GIL switch
interval and dead-worker polls far above any batch (``bench.measure.cell.count``): a forced switch comes
every 5 ms of wall time, a poll every 50 ms, which a counter that runs 25-100x slower would turn
into instructions.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from .child import INHERITED, PAD_VARIABLE, run_limited
from ..data.cells import Cell

INSTALL_HINT = "apt-get install valgrind"
#: the oldest Valgrind used: cachegrind's --cache-sim=no and %p out files, and CPUs of the last years
MIN_VALGRIND = (3, 13)
#: the batches the second process of a count runs (the first runs none): what a count is made of
COUNT_BATCHES = 1
#: rounds of counts per cell and side in ``gilbench ab``: equal counts differ by parts per million (often not
#: at all), so two pairs decide a 1 % row (``bench.judge.tests.counted_test``: t on 1 degree of freedom, which
#: still holds its level on Cauchy and skewed pairs); a third round would add a third of the counts' time,
#: most of a gate's under a counter
COUNT_ROUNDS = 2
#: the size, in bytes, the counted process's environment and arguments are grown to together
ENVIRONMENT_BYTES = 32768
#: how many times a measured process's time limit a counted process may take, per counter (``tool``):
#: measured here, cachegrind ran a batch about 25x slower than native and callgrind about 100x
SLOWDOWN = {"perf": 3.0, "cachegrind": 60.0, "callgrind": 250.0}
#: what a batch took under each counter against native time, and a count's no-batch process (interpreter start,
#: gilbench's imports, the model's prepare and close) in seconds, on the development machine (2026-12-07:
#: 2.7 s under cachegrind, 4.1 s for processes x2 under callgrind): for the estimate only
TYPICAL_SLOWDOWN = {"perf": 1.0, "cachegrind": 25.0, "callgrind": 100.0}
START_S = {"perf": 0.1, "cachegrind": 2.7, "callgrind": 4.1}
#: the environment variable that keeps one counter only ("perf" or "valgrind")
SELECT_VARIABLE = "GILBENCH_COUNTER"


@dataclass(frozen=True)
class CounterInfo:
    """The instruction counter this machine offers: ``backend`` "perf" (hardware) or "valgrind", or None."""

    backend: str | None
    #: what was found, for each counter: e.g. "valgrind-3.19.0", "perf stat: instructions <not supported>"
    hardware: str = ""
    valgrind: str = ""
    #: whether ``setarch -R`` (address space randomization off) works here
    aslr_off: bool = False
    #: what to do where there is none: the one-line install
    hint: str = INSTALL_HINT

    def describe(self) -> str:
        """One line: the counter used, and what was found of each."""
        used = {"perf": "counting with hardware counters (perf stat)",
                "valgrind": "counting with Valgrind (cachegrind; callgrind for models that start processes)",
                }.get(self.backend or "", "no instruction counter")
        aslr = "; ASLR off (setarch -R)" if self.aslr_off else "; ASLR left on (setarch -R refused)"
        return (f"{used}; hardware counters: {self.hardware}; valgrind: {self.valgrind}"
                + (aslr if self.backend else ""))

    def missing(self) -> str:
        """Why instructions cannot be counted, with the install line (one line)."""
        return (f"no instruction counter on this machine (hardware: {self.hardware}; valgrind: {self.valgrind}): "
                f"{self.hint}")


def _output(cmd: Sequence[str], timeout: float = 20.0) -> tuple[int, str]:
    """(exit status, stdout and stderr) of ``cmd``; (127, why) when it cannot run."""
    try:
        done = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, str(exc)
    return done.returncode, done.stdout + done.stderr


def _perf_value(text: str, event: str = "instructions") -> int | None:
    """The count of ``event`` in ``perf stat -x,`` output (CSV: value, unit, event, ...); None when it has
    none (``<not supported>``, ``<not counted>``, an error)."""
    for line in text.splitlines():
        fields = line.split(",")
        if len(fields) >= 3 and fields[2].split(":")[0] == event:
            return int(fields[0]) if fields[0].strip().isdigit() else None
    return None


def hardware_counters() -> tuple[bool, str]:
    """(usable, what was found): whether ``perf stat`` counts user-mode instructions here, on ``true``."""
    perf = shutil.which("perf")
    if perf is None:
        return False, "no perf on PATH"
    code, text = _output([perf, "stat", "-x,", "-e", "instructions:u", "--", "true"])
    value = _perf_value(text)
    if code == 0 and value:
        return True, f"perf stat counts instructions ({value:,} for `true`)"
    marker = re.search(r"^(<[^>]+>),[^,\n]*,instructions", text, re.M)  # <not supported>, <not counted>
    if marker:
        return False, f"perf stat: instructions {marker.group(1)}"
    return False, f"perf stat: {(text.strip().splitlines() or ['no output'])[-1][:80]}"


def valgrind_version() -> tuple[bool, str]:
    """(usable, what was found): Valgrind on PATH, at least MIN_VALGRIND."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return False, "not found"
    code, text = _output([valgrind, "--version"])
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    if code != 0 or not match:
        return False, f"`valgrind --version` failed: {(text.strip().splitlines() or ['no output'])[-1][:80]}"
    found = text.strip()
    if (int(match.group(1)), int(match.group(2))) < MIN_VALGRIND:
        return False, f"{found} is older than {'.'.join(map(str, MIN_VALGRIND))}"
    return True, found


def _setarch_works() -> bool:
    setarch = shutil.which("setarch")
    return setarch is not None and _output([setarch, "-R", "true"])[0] == 0


def available() -> CounterInfo:
    """The counter this machine has: hardware counters when ``perf stat`` counts instructions, else Valgrind,
    else none (``CounterInfo.missing`` says what to install). ``GILBENCH_COUNTER`` = perf or valgrind keeps
    only that one."""
    wanted = os.environ.get(SELECT_VARIABLE, "")
    hardware, hardware_found = hardware_counters() if wanted != "valgrind" else (False, "not asked")
    valgrind, valgrind_found = valgrind_version() if wanted != "perf" else (False, "not asked")
    backend = "perf" if hardware else "valgrind" if valgrind else None
    return CounterInfo(backend, hardware_found, valgrind_found, _setarch_works() if backend else False)


# --- one count ----------------------------------------------------------------------------------

class CountFailed(RuntimeError):
    """A count that gave no figure: its process failed, timed out, or wrote no count; the message says which."""


@dataclass(frozen=True)
class Count:
    """One count of one cell: instructions per task, and the two processes' totals it comes from."""

    per_task: float
    start: int  # instructions of the process that ran no batch (all its processes)
    full: int  # of the one that ran COUNT_BATCHES
    processes: int  # processes counted in the full run (the measured one and the workers it started)
    seconds: float  # wall seconds of both
    tool: str = ""  # what counted (``tool``): perf, cachegrind or callgrind


def fixed_environment(base: Mapping[str, str], argv: Sequence[str], extra: Mapping[str, str] | None = None,
                      size: int = ENVIRONMENT_BYTES) -> dict[str, str]:
    """The counted process's environment: the measured processes' inherited variables of ``base``, ``extra``,
    ``PYTHONHASHSEED=0``, and the layout pad grown until environment and ``argv`` take ``size`` bytes (as
    the kernel lays them on the stack), whatever the checkout's paths are."""
    env = {k: base[k] for k in INHERITED if k in base}
    env.update(extra or {})
    env["PYTHONHASHSEED"] = "0"
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # neither process writes a cache the other would read
    env[PAD_VARIABLE] = ""
    used = sum(len(f"{k}={v}".encode()) + 1 for k, v in env.items()) + sum(len(a.encode()) + 1 for a in argv)
    env[PAD_VARIABLE] = "x" * max(0, size - used)
    return env


def forks(cell: Cell) -> bool:
    """Whether the cell's model starts processes (forked ones inherit their parent's Valgrind counts)."""
    from ..backends import get_backend

    return bool(get_backend(cell.backend).uses_processes)


def tool(info: CounterInfo, cell: Cell) -> str:
    """What counts ``cell``: "perf", "cachegrind", or "callgrind" (Valgrind, a model that starts processes)."""
    if info.backend != "valgrind":
        return str(info.backend)
    return "callgrind" if forks(cell) else "cachegrind"


def _wrapped(how: str, out: Path, client: list[str], aslr_off: bool) -> list[str]:
    """``client`` under the counter ``how`` (``tool``), writing into ``out``."""
    prefix = [shutil.which("setarch") or "setarch", "-R"] if aslr_off else []
    if how == "perf":
        return [*prefix, shutil.which("perf") or "perf", "stat", "-x,", "-e", "instructions:u",
                "-o", str(out / "perf.csv"), "--", *client]
    # callgrind: --separate-recs=1 (no separate contexts for the eval loop's recursion) counts the same, 10 % sooner
    options = (["--cache-sim=no"] if how == "cachegrind"
               else ["--zero-before=PyOS_AfterFork_Child", "--separate-recs=1"])
    return [*prefix, shutil.which("valgrind") or "valgrind", f"--tool={how}", *options, "--trace-children=yes",
            "-q", f"--{how}-out-file={out / 'valgrind.out.%p'}", *client]


def _total(how: str, out: Path) -> tuple[int, int]:
    """(instructions, processes) the counter wrote into ``out``: perf's one total, or every Valgrind out file's
    ``summary:`` line (its Ir total since the start, or since the zeroing in a forked child) summed."""
    if how == "perf":
        path = out / "perf.csv"
        value = _perf_value(path.read_text(encoding="utf-8", errors="replace")) if path.is_file() else None
        if value is None:
            raise CountFailed("perf stat wrote no instruction count")
        return value, 1
    total, files = 0, 0
    for path in sorted(out.glob("valgrind.out.*")):
        match = re.search(r"^summary:\s*(\d+)", path.read_text(encoding="utf-8", errors="replace"), re.M)
        if match is None:
            raise CountFailed(f"{path.name}: no summary line (the process ended before {how} wrote it)")
        total, files = total + int(match.group(1)), files + 1
    if not files:
        raise CountFailed(f"{how} wrote no output file")
    return total, files


def count_process(cell: Cell, batches: int, info: CounterInfo, python: str, timeout: float, *,
                  cwd: Path | None = None, env: Mapping[str, str] | None = None,
                  extra_env: Mapping[str, str] | None = None) -> tuple[int, int]:
    """(instructions, processes) of one ``python -m gilbench.bench.measure.cell --count batches`` of ``cell`` under
    the counter, its whole process tree. CountFailed when it gives none."""
    client = [python, "-m", "gilbench.bench.measure.cell", "--count", str(batches), "--cell", cell.to_json()]
    environment = fixed_environment(env if env is not None else os.environ, client, extra_env)
    with tempfile.TemporaryDirectory(prefix="gilbench-count-") as folder:
        out = Path(folder)
        log = out / "log"
        ended = run_limited(_wrapped(tool(info, cell), out, client, info.aslr_off), timeout, log=log, cwd=cwd,
                            env=environment)
        if ended.timed_out:
            raise CountFailed(f"no count within {timeout:.0f} s")
        if ended.returncode != 0:
            tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-3:]
            raise CountFailed(f"the counted process exited with code {ended.returncode}: {' | '.join(tail)[-300:]}")
        return _total(tool(info, cell), out)


def _fill_caches(cell: Cell, python: str, timeout: float, cwd: Path | None, env: Mapping[str, str]) -> None:
    """The cell's counted process run once natively, uncounted, writing its bytecode caches into the
    ``PYTHONPYCACHEPREFIX`` of ``env``: both counted processes then read the same caches, whatever anything
    else writes into the checkout's own meanwhile (a cache written between them was measured to move a
    count by 0.6 %: one module's compilation spread over 4 tasks)."""
    client = [python, "-m", "gilbench.bench.measure.cell", "--count", str(COUNT_BATCHES), "--cell",
              cell.to_json()]
    writing = {k: v for k, v in env.items() if k != "PYTHONDONTWRITEBYTECODE"}
    ended = run_limited(client, timeout, capture=True, cwd=cwd, env=writing)
    if ended.returncode != 0:
        last = (ended.stderr.strip().splitlines() or [f"no result within {timeout:.0f} s"])[-1]
        raise CountFailed(f"the cell does not run uncounted either: {last[-300:]}")


def count_cell(cell: Cell, info: CounterInfo, python: str, timeout: float, *, cwd: Path | None = None,
               env: Mapping[str, str] | None = None, extra_env: Mapping[str, str] | None = None) -> Count:
    """One count of ``cell``'s instructions per task (the module's docstring: two processes, the difference),
    with bytecode caches of its own (``_fill_caches``). ``timeout`` is each process's limit. CountFailed when
    either process gives no figure."""
    if info.backend is None:
        raise CountFailed(info.missing())
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="gilbench-pycache-") as caches:
        extra = {**(extra_env or {}), "PYTHONPYCACHEPREFIX": caches}
        base = env if env is not None else os.environ
        _fill_caches(cell, python, timeout, cwd, fixed_environment(base, [], extra))
        start, _ = count_process(cell, 0, info, python, timeout, cwd=cwd, env=base, extra_env=extra)
        full, processes = count_process(cell, COUNT_BATCHES, info, python, timeout, cwd=cwd, env=base,
                                        extra_env=extra)
    if full <= start:
        raise CountFailed(f"{COUNT_BATCHES} batch(es) counted no more instructions than none ({start:,} and "
                          f"{full:,})")
    return Count((full - start) / (COUNT_BATCHES * cell.tasks), start, full, processes, time.monotonic() - t0,
                 tool(info, cell))


def estimate_seconds(info: CounterInfo, cell: Cell, batch_s: float) -> float:
    """About how long one count of ``cell`` takes, from its batch's native wall seconds: two interpreter
    starts and COUNT_BATCHES batches under the counter."""
    how = tool(info, cell)
    return 2 * START_S[how] + COUNT_BATCHES * batch_s * TYPICAL_SLOWDOWN[how]
