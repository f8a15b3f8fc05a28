import pytest

from gilbench.bench.plan.matrix import PROFILES, expand, parse_int_list, powers_of_two_upto
from gilbench.bench.data.cells import Cell


def test_powers_of_two_include_the_limit():
    assert powers_of_two_upto(1) == [1]
    assert powers_of_two_upto(2) == [1, 2]
    assert powers_of_two_upto(12) == [1, 2, 4, 8, 12]


def test_default_profile_covers_the_machine_and_every_model():
    from gilbench.bench.backends import all_backends

    plan = expand(PROFILES["default"], cpus=[0, 1])
    scaled = [c for c in plan.cells if c.workload in PROFILES["default"].focus]
    full = [c for c in scaled if c.backend in PROFILES["default"].full_backends]
    # the full matrix: 2 core counts x 2 workloads x (1 sequential + 4 thread + 4 process cells)
    assert len(full) == 2 * 2 * 9
    assert {c.cores for c in full} == {1, 2}
    assert {c.workers for c in full if c.backend == "threads"} == {1, 2, 4, 8}
    assert all(c.workers == 1 for c in full if c.backend == "sequential")
    assert all(c.tasks == 8 for c in scaled)
    # every other model: workers = cores on all cores, each workload
    others = [c for c in scaled if c.backend not in PROFILES["default"].full_backends]
    models = set(all_backends()) - set(PROFILES["default"].full_backends)
    assert {c.backend for c in others} == models and all((c.workers, c.cores) == (2, 2) for c in others)
    assert len(others) == 2 * len(models)
    # a start-cost cell per model: one task on one worker, all cores
    noop = [c for c in plan.cells if c.workload == "noop"]
    assert {c.backend for c in noop} == set(all_backends())
    assert all((c.tasks, c.workers, c.cores) == (1, 1, 2) for c in noop)
    # what cannot run here is planned as skipped, with the reason, never run
    if sys_has_subinterpreters():  # planned to run, not skipped (a lookup in skipped would be a KeyError)
        assert "hello-cpu/subinterpreters/w2/c2" not in plan.skipped
        assert "hello-cpu/subinterpreters/w2/c2" in {c.id for c in plan.cells}
    else:
        assert "need Python 3.14" in plan.skipped["hello-cpu/subinterpreters/w2/c2"]
    assert "no async variant" in plan.skipped["hello-cpu/asyncio/w2/c2"]
    assert "hello-sleep/asyncio/w2/c2" not in plan.skipped


def sys_has_subinterpreters() -> bool:
    import sys

    return sys.version_info >= (3, 14)


def test_default_profile_keeps_the_batch_size_on_a_big_machine():
    plan = expand(PROFILES["default"], cpus=list(range(16)))
    cpu = next(c for c in plan.cells if c.workload == "hello-cpu")
    assert cpu.tasks == 16 and cpu.params == {"units": 50}  # 16 x 50 units = 4 x 200 units
    assert {c.cores for c in plan.cells} == {1, 2, 4, 8, 16}
    assert plan.cells[-1].cpus == tuple(range(16))


def test_default_profile_gives_other_workloads_a_compact_matrix():
    from gilbench import workloads

    from dataclasses import replace

    profile = replace(PROFILES["default"], focus=("hello-cpu",))  # hello-sleep then stands for the others
    for cpus, counts in (([0, 1], {1, 2}), (list(range(16)), {1, 2, 16})):
        plan = expand(profile, cpus=cpus)
        others = {w for w, d in workloads.all_workloads().items() if w not in profile.focus and not d.start_cost}
        assert "hello-sleep" in others and others <= {c.workload for c in plan.cells}  # every workload runs
        compact = [c for c in plan.cells if c.workload in others]
        assert {c.backend for c in compact} == set(profile.compact_backends)
        assert all(c.cores == len(cpus) for c in compact)
        assert {c.workers for c in compact if c.backend != "sequential"} == counts
        assert all(c.tasks == max(counts) for c in compact)
    hello = workloads.get("hello-cpu")
    (cell,) = [c for c in expand(profile, workload_names=["hello-cpu"], cpus=[0, 1]).cells
               if c.backend == "threads" and c.workers == 2 and c.cores == 2]
    assert cell.params == {"units": hello.params["units"] * 4 // 8}  # the focus keeps the full matrix


def test_overrides_and_process_start_method_recorded():
    plan = expand(PROFILES["quick"], workload_names=["hello-sleep"], backend_names=["processes"],
                  workers=[3], cores=[1], scale=2.0, start_method="spawn", cpus=[0, 1])
    (cell,) = plan.cells
    assert (cell.workload, cell.backend, cell.workers, cell.cores, cell.cpus) == ("hello-sleep", "processes", 3, 1, (0,))
    assert cell.start_method == "spawn" and cell.params == {"seconds": 0.2}


def test_threads_have_no_start_method():
    plan = expand(PROFILES["smoke"], backend_names=["threads"], cpus=[0])
    assert all(c.start_method is None for c in plan.cells)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"workload_names": ["nope"]}, "unknown workload 'nope'.*hello-cpu"),
        ({"backend_names": ["fibers"]}, "unknown backend 'fibers'.*threads"),
        ({"workers": [0]}, "at least 1"),
        ({"cores": [3]}, "between 1 and 2"),
        ({"scale": 0}, "positive"),
    ],
)
def test_bad_matrix_input_names_the_problem(kwargs, message):
    with pytest.raises(ValueError, match=message):
        expand(PROFILES["smoke"], cpus=[0, 1], **kwargs)


def test_parse_int_list():
    assert parse_int_list("4,1,2,2", "--workers") == (1, 2, 4)
    for bad in ("a", "0", "1,-2", ""):
        with pytest.raises(ValueError, match="--workers"):
            parse_int_list(bad, "--workers")


def test_cell_json_round_trip():
    cell = expand(PROFILES["smoke"], cpus=[0, 1]).cells[-1]
    again = Cell.from_dict(__import__("json").loads(cell.to_json()))
    assert again == cell and again.id == cell.id
    assert "/" not in cell.slug


def test_the_interpreter_is_a_dimension_of_the_matrix():
    from gilbench.bench.plan.interpreters import Interpreter

    a = Interpreter(label="", executable="/x/python3.11", version="3.11.7", default_start_method="fork",
                    start_methods=["fork", "spawn", "forkserver"])
    b = Interpreter(label="3.14", executable="/y/python3.14", version="3.14.0", default_start_method="forkserver",
                    start_methods=["fork", "spawn", "forkserver"], subinterpreters=True)
    plan = expand(PROFILES["smoke"], backend_names=["processes", "subinterpreters"], workload_names=["hello-cpu"],
                  workers=[2], cpus=[0, 1], interpreters=[a, b])
    by_id = {c.id: c for c in plan.cells}
    # each interpreter's own default start method, not the harness's
    assert by_id["hello-cpu/processes/w2/c2"].start_method == "fork"
    assert by_id["hello-cpu/processes/w2/c2@3.14"].start_method == "forkserver"
    assert by_id["hello-cpu/subinterpreters/w2/c2@3.14"].python == "3.14"
    assert "hello-cpu/subinterpreters/w2/c2@3.14" not in plan.skipped
    assert "3.14" in plan.skipped["hello-cpu/subinterpreters/w2/c2"]
    assert set(plan.interpreters) == {"", "3.14"}
