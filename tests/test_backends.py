import functools
import multiprocessing
import os
import signal
import time

import pytest

from gilbench.bench.backends import TaskFailed, all_backends, assignments, get_backend
from gilbench.workloads.hello import hello_sleep

BACKENDS = ["sequential", "threads", "processes"]


def square(i):
    return i * i


def fail_on_three(i):
    if i == 3:
        raise ZeroDivisionError(f"task {i} divided by zero")
    return i


def kill_self_on_one(i):
    if i == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return i


def exit_on_two(i):
    if i == 2:
        os._exit(3)
    return i


def test_registry_and_unknown_backend():
    assert set(BACKENDS) <= set(all_backends())
    with pytest.raises(ValueError, match="accepted: .*threads"):
        get_backend("fibers")


def test_a_backend_looked_up_by_name_is_the_one_discovery_finds():
    for name, cls in all_backends().items():
        assert get_backend(name) is cls


def test_assignments_split_every_task_once():
    split = assignments(8, 3)
    assert split == [[0, 3, 6], [1, 4, 7], [2, 5]]
    assert sorted(i for part in split for i in part) == list(range(8))


@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("workers", [1, 3])
def test_results_come_back_in_task_order(name, workers):
    backend = get_backend(name)()
    assert backend.run_batch(square, 7, workers) == [i * i for i in range(7)]


@pytest.mark.parametrize("name", BACKENDS)
def test_a_raising_task_fails_the_batch_with_its_error(name):
    with pytest.raises(TaskFailed) as info:
        get_backend(name)().run_batch(fail_on_three, 6, 2)
    failure = info.value
    assert failure.how == "raised" and failure.error_type == "ZeroDivisionError"
    assert "task 3 divided by zero" in failure.message
    assert "fail_on_three" in failure.tb


def test_a_child_killed_by_a_signal_fails_the_batch():
    with pytest.raises(TaskFailed) as info:
        get_backend("processes")().run_batch(kill_self_on_one, 4, 2)
    assert info.value.how == "signal" and info.value.exitcode == -signal.SIGKILL


def test_a_child_that_exits_early_fails_the_batch():
    with pytest.raises(TaskFailed) as info:
        get_backend("processes")().run_batch(exit_on_two, 4, 2)
    assert info.value.how == "exited" and info.value.exitcode == 3


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_processes_honour_the_start_method(method):
    backend = get_backend("processes")(method)
    assert backend.run_batch(square, 4, 2) == [0, 1, 4, 9]


@pytest.mark.serial
@pytest.mark.parametrize("name", ["threads", "processes"])
def test_sleeping_workers_overlap(name):
    # physical fact with a wide margin: 4 workers sleeping 0.2 s each take well under 0.8 s together
    task = lambda i: hello_sleep(i, 0.2)  # noqa: E731 - fork start method: lambdas are fine
    backend = get_backend(name)("fork")
    t0 = time.perf_counter()
    backend.run_batch(task, 4, 4)
    assert time.perf_counter() - t0 < 0.6



def burn(i, loops=12_000_000):
    """Pure-Python CPU work, a fixed amount per task (about 0.25 s here)."""
    x = 0
    for _ in range(loops):
        x += 1
    return i


@pytest.mark.parametrize("method", multiprocessing.get_all_start_methods())
def test_processes_report_their_children_cpu_under_every_start_method(method):
    c0 = time.process_time()
    burn(0)
    one = time.process_time() - c0
    backend = get_backend("processes")(method)
    assert backend.children_cpu == 0.0
    assert backend.run_batch(burn, 2, 2) == [0, 1]
    work = backend.children_cpu
    # each child reports its whole process (start-up included, an interpreter under spawn) and one
    # task: wide margins, as start-up is part of it and CPU clocks are coarse
    assert 0.5 * 2 * one < work < 3 * 2 * one, (work, one)
    # reset per batch, not summed across batches: a trivial batch reports only start-up
    assert backend.run_batch(square, 2, 2) == [0, 1]
    assert 0 < backend.children_cpu < work


@pytest.mark.parametrize("name", ["sequential", "threads"])
def test_in_process_backends_report_no_children_cpu(name):
    backend = get_backend(name)()
    backend.run_batch(functools.partial(burn, loops=100_000), 2, 2)
    assert backend.children_cpu == 0.0
