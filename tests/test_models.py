"""Every execution model: results in order, failures as TaskFailed (never a hang), warm and cold pools,
CPU accounting, asyncio's concurrency, and the hooks that let the harness skip what cannot run."""

from __future__ import annotations

import faulthandler
import functools
import importlib.util
import json
import multiprocessing
import os
import platform
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest

from gilbench import workloads
from gilbench.bench.backends import Backend, TaskFailed, all_backends, get_backend

ROOT = Path(__file__).resolve().parent.parent
#: the longest any one test here may take before it fails (and, at twice that, the session is ended
#: with every thread's traceback rather than left hanging)
BOUND_S = 60


def this_interpreter() -> dict:
    """This interpreter's description, with the keys ``Backend.unavailable`` reads."""
    gil = getattr(sys, "_is_gil_enabled", None)
    return {
        "version": platform.python_version(),
        "build": "gil",
        "gil_enabled": bool(gil()) if gil else True,
        "default_start_method": multiprocessing.get_start_method(),
        "start_methods": multiprocessing.get_all_start_methods(),
        "subinterpreters": importlib.util.find_spec("concurrent.interpreters") is not None,
    }


HERE = this_interpreter()
AVAILABLE = [name for name, cls in all_backends().items() if not cls.unavailable(HERE)]
NEW = ["processes-fork", "processes-spawn", "processes-forkserver", "thread-pool", "thread-pool-cold",
       "process-pool", "process-pool-cold", "mp-pool", "mp-pool-cold", "asyncio", "subinterpreters"]
WARM = [n for n in AVAILABLE if getattr(get_backend(n), "warm", False)]
COLD_POOLS = [n for n in AVAILABLE if get_backend(n).family == "pool" and not get_backend(n).warm]
OUT_OF_PROCESS = [n for n in AVAILABLE if not get_backend(n).in_process]
PROCESS_POOLS = [n for n in AVAILABLE if get_backend(n).family == "pool" and not get_backend(n).in_process]


@pytest.fixture(autouse=True)
def bounded():
    """Each test ends within BOUND_S: SIGALRM fails it; if even that cannot get through, the session
    is ended at 2 x BOUND_S with every thread's traceback (a hang is a failure, never a wait)."""
    def expired(signum, frame):
        raise TimeoutError(f"test did not end within {BOUND_S} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.alarm(BOUND_S)
    faulthandler.dump_traceback_later(2 * BOUND_S, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def make():
    """make(name, start_method=None) -> a backend, closed at the end of the test."""
    made: list[Backend] = []

    def factory(name: str, start_method: str | None = None) -> Backend:
        made.append(get_backend(name)(start_method))
        return made[-1]

    yield factory
    for backend in made:
        backend.close()


# --- tasks (module level: spawned and forkserver children import them) ---------------------------
def cube(i):
    x = 0
    for k in range(2_000):  # a little CPU work
        x += k % 7
    return i * i * i


def raise_on_two(i):
    if i == 2:
        raise ValueError(f"task {i} refused on purpose")
    return i


def kill_self_on_one(i):
    if i == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(0.05)
    return i


def exit_on_one(i):
    if i == 1:
        os._exit(3)
    time.sleep(0.05)
    return i


def whoami(i):
    """Which worker ran this: (pid, thread ident); held briefly so that every worker gets a task."""
    time.sleep(0.05)
    return os.getpid(), threading.get_ident()


def burn(i, loops=3_000_000):
    x = 0
    for _ in range(loops):
        x += 1
    return i


async def nap(i, seconds=0.05):
    import asyncio

    await asyncio.sleep(seconds)
    return i


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def pool_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith(("gilbench-pool", "gilbench-interp"))]


# --- the hooks ---------------------------------------------------------------------------------------
def test_every_model_is_registered_with_its_family_and_placement():
    found = all_backends()
    assert set(NEW) <= set(found)
    expected = {
        "sequential": ("baseline", True), "threads": ("threads", True), "processes": ("processes", False),
        "processes-fork": ("processes", False), "processes-spawn": ("processes", False),
        "processes-forkserver": ("processes", False), "thread-pool": ("pool", True),
        "thread-pool-cold": ("pool", True), "process-pool": ("pool", False), "process-pool-cold": ("pool", False),
        "mp-pool": ("pool", False), "mp-pool-cold": ("pool", False), "asyncio": ("asyncio", True),
        "subinterpreters": ("subinterpreters", True),
    }
    for name, (family, in_process) in expected.items():
        cls = found[name]
        assert (cls.family, cls.in_process) == (family, in_process), name
        assert cls.description and cls.uses_processes == (not in_process), name
    assert found["sequential"].fixed_workers == 1


def test_start_method_models_keep_their_method():
    for method in ("fork", "spawn", "forkserver"):
        backend = get_backend(f"processes-{method}")("spawn" if method != "spawn" else "fork")
        assert backend.start_method == method
    assert get_backend("processes")("spawn").start_method == "spawn"
    assert get_backend("process-pool")().start_method is None  # the interpreter's default


def test_unavailable_subinterpreters_before_314_and_a_missing_start_method():
    old = {**HERE, "version": "3.11.7", "subinterpreters": False}
    reason = get_backend("subinterpreters").unavailable(old)
    assert "3.14" in reason and "concurrent.interpreters" in reason and "3.11.7" in reason
    assert get_backend("subinterpreters").unavailable({**HERE, "version": "3.14.0", "subinterpreters": True}) == ""
    windows = {**HERE, "start_methods": ["spawn"]}
    reason = get_backend("processes-fork").unavailable(windows)
    assert "'fork'" in reason and "spawn" in reason
    assert get_backend("processes-spawn").unavailable(windows) == ""
    for name in ("sequential", "threads", "processes", "thread-pool", "process-pool", "mp-pool", "asyncio"):
        assert get_backend(name).unavailable(old) == "", name


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="this interpreter has subinterpreters")
def test_subinterpreters_are_unavailable_here_and_say_so_if_run_anyway():
    assert "subinterpreters" not in AVAILABLE
    with pytest.raises(RuntimeError, match="3.14"):
        get_backend("subinterpreters")().run_batch(cube, 2, 2)


def test_asyncio_runs_only_workloads_with_an_async_variant():
    cls = get_backend("asyncio")
    reason = cls.cannot_run(workloads.get("hello-cpu"))
    assert reason.startswith("hello-cpu has no async variant") and "block the loop" in reason
    assert cls.cannot_run(workloads.get("hello-sleep")) == ""
    assert cls.cannot_run(workloads.get("noop")) == ""
    for name in AVAILABLE:
        if name != "asyncio":
            assert get_backend(name).cannot_run(workloads.get("hello-cpu")) == "", name
    task = cls.task_for(workloads.get("hello-sleep"), {"seconds": 0.0})
    assert cls().run_batch(task, 3, 2) == ["Hello from 0", "Hello from 1", "Hello from 2"]
    assert get_backend("threads").task_for(workloads.get("hello-sleep"), {"seconds": 0.0})(4) == "Hello from 4"


def test_noop_workload_has_no_size_and_runs_under_every_model_with_one_task_one_worker(make):
    noop = workloads.get("noop")
    assert noop.kind == "cpu-bound" and noop.size_param == "" and noop.resolve(scale=4.0) == {}
    for name in AVAILABLE:
        cls = get_backend(name)
        task = cls.task_for(noop, noop.resolve())
        backend = make(name)
        backend.prepare(1, task)
        assert backend.run_batch(task, 1, 1) == [0], name
        backend.close()


# --- every available model ------------------------------------------------------------------------
@pytest.mark.parametrize("name", AVAILABLE)
def test_results_in_task_order(name, make):
    backend = make(name)
    backend.prepare(2, cube)
    assert backend.run_batch(cube, 4, 2) == [0, 1, 8, 27]
    assert backend.run_batch(cube, 4, 3) == [0, 1, 8, 27]  # another worker count: a new warm pool


@pytest.mark.parametrize("name", AVAILABLE)
def test_a_raising_task_fails_the_batch_with_its_message(name, make):
    backend = make(name)
    with pytest.raises(TaskFailed) as info:
        backend.run_batch(raise_on_two, 4, 2)
    failure = info.value
    assert failure.how == "raised" and failure.error_type == "ValueError", failure
    assert "task 2 refused on purpose" in failure.message
    assert "raise_on_two" in failure.tb
    if getattr(backend, "warm", False):  # the pool survives a task that raised
        assert backend.run_batch(cube, 4, 2) == [0, 1, 8, 27]


@pytest.mark.parametrize("name", OUT_OF_PROCESS)
def test_a_worker_killed_by_a_signal_fails_the_batch_without_hanging(name, make):
    backend = make(name)
    t0 = time.monotonic()
    with pytest.raises(TaskFailed) as info:
        backend.run_batch(kill_self_on_one, 4, 2)
    assert time.monotonic() - t0 < 20
    assert info.value.how == "signal" and info.value.exitcode == -signal.SIGKILL, info.value
    assert f"killed by signal {int(signal.SIGKILL)}" in str(info.value)
    # the broken pool is gone; the next batch gets a working one
    assert backend.run_batch(cube, 4, 2) == [0, 1, 8, 27]


@pytest.mark.parametrize("name", PROCESS_POOLS)
def test_a_worker_that_exits_fails_the_batch_with_its_code(name, make):
    with pytest.raises(TaskFailed) as info:
        make(name).run_batch(exit_on_one, 4, 2)
    assert info.value.how == "exited" and info.value.exitcode == 3, info.value


@pytest.mark.parametrize("name", PROCESS_POOLS)
@pytest.mark.parametrize("method", sorted(set(multiprocessing.get_all_start_methods()) - {"fork"}))
def test_process_pools_under_the_other_start_methods(name, method, make):
    backend = make(name, method)
    backend.prepare(2, cube)
    assert backend.run_batch(cube, 4, 2) == [0, 1, 8, 27]
    with pytest.raises(TaskFailed) as info:
        backend.run_batch(kill_self_on_one, 4, 2)
    assert info.value.how == "signal" and info.value.exitcode == -signal.SIGKILL, info.value


# --- warm and cold ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", WARM)
def test_warm_pools_reuse_their_workers_and_close_ends_them(name, make):
    backend = make(name)
    backend.prepare(2, whoami)
    first = set(backend.run_batch(whoami, 4, 2))
    second = set(backend.run_batch(whoami, 4, 2))
    assert first == second and len(first) == 2, (first, second)
    pids = {pid for pid, _ in first}
    if backend.in_process:
        assert pids == {os.getpid()} and len(pool_threads()) == 2
    else:
        assert os.getpid() not in pids and all(alive(pid) for pid in pids)
    backend.close()
    if backend.in_process:
        assert pool_threads() == []
    else:
        assert not any(alive(pid) for pid in pids)
        assert multiprocessing.active_children() == []


@pytest.mark.parametrize("name", COLD_POOLS)
def test_cold_pools_leave_nothing_running_after_the_batch(name, make):
    backend = make(name)
    backend.prepare(2, whoami)
    first = set(backend.run_batch(whoami, 4, 2))
    if backend.in_process:
        assert pool_threads() == []
    else:
        assert not any(alive(pid) for pid, _ in first)
        assert multiprocessing.active_children() == []
        second = set(backend.run_batch(whoami, 4, 2))
        assert not first & second  # new workers each batch


@pytest.mark.parametrize("name", PROCESS_POOLS)
def test_process_pools_report_their_workers_cpu(name, make):
    c0 = time.process_time()
    burn(0)
    one = time.process_time() - c0
    backend = make(name)
    backend.prepare(2, burn)
    assert backend.run_batch(burn, 2, 2) == [0, 1]
    work = backend.children_cpu
    # warm: the work since the warm-up; cold: the work plus the workers' start-up (a fork is cheap)
    assert 0.5 * 2 * one < work < 4 * 2 * one + 0.5, (work, one)
    assert backend.run_batch(functools.partial(burn, loops=1), 2, 2) == [0, 1]
    assert 0 <= backend.children_cpu < work  # per batch, not summed over batches


@pytest.mark.parametrize("name", [n for n in AVAILABLE if get_backend(n).in_process])
def test_in_process_models_report_no_children_cpu(name, make):
    backend = make(name)
    backend.run_batch(functools.partial(burn, loops=10_000), 2, 2)
    assert backend.children_cpu == 0.0


# --- asyncio ----------------------------------------------------------------------------------------
@pytest.mark.serial
def test_asyncio_overlaps_its_coroutines_up_to_the_worker_limit(make):
    backend = make("asyncio")
    backend.prepare(8, nap)
    t0 = time.perf_counter()
    assert backend.run_batch(nap, 8, 8) == list(range(8))
    together = time.perf_counter() - t0
    assert together < 4 * 0.05, together  # 8 naps at once: about one nap, far from eight
    t0 = time.perf_counter()
    backend.run_batch(nap, 8, 2)
    assert time.perf_counter() - t0 >= 4 * 0.05 * 0.95  # 2 at a time: four rounds


def test_asyncio_fails_the_batch_for_a_raising_coroutine(make):
    async def refuse(i):
        if i == 1:
            raise KeyError("no such thing")
        return i

    with pytest.raises(TaskFailed) as info:
        make("asyncio").run_batch(refuse, 3, 3)
    assert info.value.error_type == "KeyError" and "no such thing" in info.value.message


# --- under bench.measure.cell, as a pyperf worker -----------------------------------------------------------
@pytest.mark.parametrize("name, method, workload", [
    ("process-pool", "spawn", "hello-cpu"), ("mp-pool-cold", "forkserver", "hello-cpu"),
    ("thread-pool", None, "hello-sleep"), ("asyncio", None, "hello-sleep"),
])
def test_models_run_as_a_pyperf_worker(name, method, workload, tmp_path):
    from gilbench.bench.data.cells import Cell

    params = {"units": 2} if workload == "hello-cpu" else {"seconds": 0.01}
    cell = Cell(workload, name, 2, 2, tuple(sorted(os.sched_getaffinity(0)))[:2], 4, params=params,
                start_method=method)
    accounting = tmp_path / "acct.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "gilbench.bench.measure.cell", "--worker", "--worker-task=0", "--quiet", "--values", "2",
         "--warmups", "0", "--loops", "1", "--cell", cell.to_json(), "--accounting", str(accounting),
         "--output", str(tmp_path / "out.json")],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    record = json.loads(accounting.read_text().splitlines()[-1])
    assert len(record["readings"]) == 2 and all(wall > 0 and cpu >= 0 for wall, cpu in record["readings"])


# --- subinterpreters, live on 3.14 -------------------------------------------------------------------
def python314() -> str | None:
    """A CPython 3.14 (or newer) with concurrent.interpreters, if this machine has one."""
    candidates = [os.environ.get("GILBENCH_PYTHON314", ""), shutil.which("python3.14") or "",
                  "/opt/gilbench-python/3.14/usr/bin/python3.14"]
    for path in filter(None, candidates):
        if os.access(path, os.X_OK):
            ok = subprocess.run([path, "-c", "import concurrent.interpreters"], capture_output=True, timeout=30)
            if ok.returncode == 0:
                return path
    return None


#: tasks for the live test, in a module of their own: a worker interpreter imports it by name (a
#: function of the parent's __main__ would not be found there) and it needs nothing but the stdlib
LIVE_TASKS = textwrap.dedent("""
    import os, threading, time

    def raise_on_two(i):
        if i == 2:
            raise ValueError(f"task {i} refused on purpose")
        return i

    def whoami(i):
        time.sleep(0.05)
        return os.getpid(), threading.get_ident()
""")

LIVE = textwrap.dedent("""
    import functools, json, os, sys
    sys.path.insert(0, sys.argv[1])  # not on PYTHONPATH: the worker interpreters get it from the backend
    import livetasks
    from gilbench.bench.backends import TaskFailed, get_backend
    from gilbench.workloads.hello import hello_cpu

    backend = get_backend("subinterpreters")()
    task = functools.partial(hello_cpu, units=2)
    backend.prepare(2, task)
    results = backend.run_batch(task, 4, 2)
    again = backend.run_batch(task, 4, 2)
    failure = None
    try:
        backend.run_batch(livetasks.raise_on_two, 4, 2)
    except TaskFailed as exc:
        failure = exc.as_dict()
    idents = backend.run_batch(livetasks.whoami, 4, 2)
    cpu = backend.children_cpu
    backend.close()
    print(json.dumps(dict(results=results, again=again, failure=failure, idents=idents, children_cpu=cpu,
                          pid=os.getpid())))
""")


def test_subinterpreters_live_on_python_314(tmp_path):
    python = python314()
    if python is None:
        pytest.skip("no CPython 3.14 with concurrent.interpreters here (python3.14 on PATH, "
                    "/opt/gilbench-python/3.14, or GILBENCH_PYTHON314): subinterpreters cannot run on "
                    f"Python {platform.python_version()}")
    (tmp_path / "livetasks.py").write_text(LIVE_TASKS)
    done = subprocess.run([python, "-c", LIVE, str(tmp_path)], capture_output=True, text=True, timeout=120,
                          cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["results"] == out["again"]
    assert [r.split(" (")[0] for r in out["results"]] == [f"Hello from {i}" for i in range(4)]
    failure = out["failure"]
    assert failure["how"] == "raised" and failure["error_type"] == "ValueError", failure
    assert "task 2 refused on purpose" in failure["message"] and "raise_on_two" in failure["traceback"]
    pids = {pid for pid, _ in out["idents"]}
    assert pids == {out["pid"]} and len({ident for _, ident in out["idents"]}) == 2  # 2 worker threads, 1 process
    assert out["children_cpu"] == 0.0


def test_subinterpreter_errors_the_executor_raises_are_named_as_they_were():
    from types import SimpleNamespace

    from gilbench.bench.backends.subinterpreters import failure_of

    class ExecutionFailed(Exception):  # the shape of concurrent.interpreters.ExecutionFailed
        def __init__(self, excinfo):
            super().__init__(excinfo.formatted)
            self.excinfo = excinfo

    info = SimpleNamespace(type=SimpleNamespace(__name__="ModuleNotFoundError"), msg="No module named 'mine'",
                           formatted="Traceback ...\nModuleNotFoundError: No module named 'mine'")
    failure = failure_of(ExecutionFailed(info))
    assert (failure.how, failure.error_type, failure.message) == ("raised", "ModuleNotFoundError", "No module named 'mine'")
    assert "Traceback" in failure.tb
    try:  # the original came back, with ExecutionFailed as its cause: the original is what counts
        raise ValueError("bad value") from ExecutionFailed(info)
    except ValueError as exc:
        assert (failure_of(exc).error_type, failure_of(exc).message) == ("ValueError", "bad value")
    try:  # a wrapper error caused by a plain one: both named
        raise TypeError("args not shareable") from RuntimeError("cannot be rebuilt here")
    except TypeError as exc:
        assert failure_of(exc).message == "args not shareable (RuntimeError: cannot be rebuilt here)"


def test_a_pool_terminate_that_hangs_is_bounded_and_its_workers_killed():
    import threading

    from gilbench.bench.backends.mp_pool import terminate

    worker = multiprocessing.get_context("fork").Process(target=time.sleep, args=(60,))
    worker.start()
    stuck = threading.Event()

    class HangingPool:
        _pool = [worker]

        def terminate(self) -> None:
            stuck.wait()  # a handler thread that never ends

    t0 = time.monotonic()
    terminate(HangingPool(), limit=0.5)
    assert time.monotonic() - t0 < 10 and worker.exitcode == -signal.SIGKILL
    stuck.set()
