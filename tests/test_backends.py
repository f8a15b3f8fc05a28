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
