import pickle

import pytest

from gilbench import workloads
from gilbench.workloads import lesson
from gilbench.workloads.hello import hello_cpu, hello_sleep


def test_registry_lists_both_hello_variants_with_their_kinds():
    found = workloads.all_workloads()
    assert found["hello-sleep"].kind == "io-bound"
    assert found["hello-cpu"].kind == "cpu-bound"


def test_unknown_workload_names_the_accepted_ones():
    with pytest.raises(ValueError, match="hello-cpu"):
        workloads.get("nope")


def test_resolve_applies_overrides_then_scale_to_the_size_parameter():
    cpu = workloads.get("hello-cpu")
    assert cpu.resolve() == {"units": 200}
    assert cpu.resolve({"units": 10}, scale=1.5) == {"units": 15}
    assert workloads.get("hello-sleep").resolve(scale=0.5) == {"seconds": 0.05}
    with pytest.raises(ValueError, match="no parameter"):
        cpu.resolve({"seconds": 1})


def test_tasks_are_picklable_for_spawned_children():
    task = workloads.get("hello-cpu").task({"units": 1})
    assert pickle.loads(pickle.dumps(task))(3) == task(3)


def test_hello_variants_greet():
    assert hello_sleep(4, seconds=0.0) == "Hello from 4"
    assert hello_cpu(4, units=1).startswith("Hello from 4")


def test_kind_is_validated():
    with pytest.raises(ValueError, match="kind"):
        workloads.Workload("x", "gpu-bound", hello_sleep)


def test_shared_list_threads_10_processes_0():
    assert lesson.shared_list("threads")["observed"] == "10 entries in the parent"
    assert lesson.shared_list("processes")["observed"] == "0 entries in the parent"


def test_queue_brings_back_ten_distinct_child_pids():
    result = lesson.queue_pids()
    assert result["passed"], result
    assert result["observed"].startswith("10 distinct pids")


@pytest.mark.parametrize("kind", ["threads", "processes"])
def test_unjoined_print_after_done_joined_before(kind):
    unjoined = lesson.print_order(kind, joined=False)
    joined = lesson.print_order(kind, joined=True)
    assert unjoined["observed"].split(" | ")[0] == "Done!", unjoined
    assert joined["observed"].split(" | ")[-1] == "Done!", joined
    assert unjoined["passed"] and joined["passed"]
