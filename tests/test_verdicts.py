import math

import pandas as pd
import pytest

from gilbench.reports.verdicts import BASELINE, OWN_SCALING, SERIAL, ModelResult, describe_gap, explain, verdicts

GIL = "the GIL serializes threads; processes run in parallel"


def _models(threads: float, processes: float, ideal: float, thread_scaling: float = math.nan) -> list[ModelResult]:
    """threads (in-process) and processes (worker processes), fastest first, as verdicts() builds them."""
    found = [ModelResult("threads", "threads", True, threads, ideal, scaling=thread_scaling),
             ModelResult("processes", "processes", False, processes, ideal)]
    return sorted(found, key=lambda m: -m.speedup)


def test_explain_names_the_gil_when_threads_stay_serial():
    assert explain("cpu-bound", _models(0.95, 1.9, 2), 2).startswith(GIL)
    assert explain("cpu-bound", _models(0.95, 1.9, 2), 2).endswith("fastest: processes, 2.00x the next (threads)")
    off = explain("cpu-bound", _models(0.95, 1.9, 2), 2, gil=False)
    assert off.startswith("threads do not scale although the GIL is off: look for contention")
    assert "serializes" not in off


def test_explain_other_outcomes():
    assert explain("io-bound", _models(7.9, 7.0, 8, 7.9), 8).startswith("both scale: waiting releases the GIL")
    assert explain("cpu-bound", _models(1.9, 1.9, 2, 1.9), 2).startswith("both scale: the work releases the GIL")
    assert explain("cpu-bound", _models(1.9, 1.9, 2, 1.9), 2, gil=False).startswith("both scale: the GIL is off")
    assert "fastest: threads" in explain("io-bound", _models(7.9, 3.0, 8, 7.9), 8)
    assert explain("cpu-bound", _models(1.0, 1.0, 1), 1).startswith("nothing to run in parallel")
    assert explain("cpu-bound", _models(1.2, 1.3, 2, 1.2), 2) == (
        "no clear winner between processes and threads (within 1.25x of each other)")


def test_explain_judges_serialization_on_the_threads_own_scaling():
    # the main thread 15 % slower: threads reach 1.16x the baseline while not scaling at all (1.01x their x1)
    baseline_only = explain("cpu-bound", _models(1.16, 1.9, 2), 2)
    assert "serializes" not in baseline_only and "fastest: processes" in baseline_only  # the old rule misses it
    assert explain("cpu-bound", _models(1.16, 1.9, 2, 1.01), 2).startswith(GIL)
    # the main thread 15 % faster: threads below the baseline, still serialized on their own scaling
    assert explain("cpu-bound", _models(0.86, 1.9, 2, 1.01), 2).startswith(GIL)
    # threads that scale on their own (GIL released) are not called serialized whatever the baseline says
    assert explain("cpu-bound", _models(1.65, 1.9, 2, 1.94), 2).startswith("both scale: the work releases the GIL")
    assert explain("cpu-bound", _models(1.0, 1.9, 2, math.nan), 2).startswith(GIL)  # nan: the baseline fallback


def test_only_in_process_models_are_called_serialized():
    # a model with worker processes that does not scale is slow, not serialized by the GIL
    slow = [ModelResult("threads", "threads", True, 1.9, 2, scaling=1.9),
            ModelResult("processes", "processes", False, 1.0, 2)]
    reason = explain("cpu-bound", slow, 2)
    assert "serializes" not in reason and reason.startswith("threads run in parallel")


def _cells(cores, workers, gap=1.0, threads_x1=True, thread_time=1.0):
    """Synthetic cells: sequential baseline with time ``gap`` (the main thread), threads at ``thread_time``
    whatever the workers (serialized), processes at 0.95 x the ideal against the baseline."""
    rows = [{"id": f"hello-cpu/sequential/w1/c{cores}", "status": "ok", "backend": "sequential", "baseline": True,
             "family": "baseline", "in_process": True, "workload": "hello-cpu", "kind": "cpu-bound", "cores": cores,
             "workers": 1, "time": gap, "speedup": 1.0, "ideal": 1.0}]
    for w in workers:
        ideal = float(min(w, cores))
        for backend, time in (("threads", thread_time), ("processes", gap / (ideal * 0.95))):
            if backend == "threads" and w == 1 and not threads_x1:
                continue
            rows.append({"id": f"hello-cpu/{backend}/w{w}/c{cores}", "status": "ok", "backend": backend,
                         "baseline": False, "family": backend, "in_process": backend == "threads",
                         "workload": "hello-cpu", "kind": "cpu-bound", "cores": cores,
                         "workers": w, "time": time, "speedup": gap / time, "ideal": ideal})
    return pd.DataFrame(rows)


def test_verdicts_at_workers_equal_cores_and_at_the_most_workers_never_at_one_worker():
    two = verdicts(_cells(2, [1, 2, 4, 8]))
    assert [(v.cores, v.workers) for v in two] == [(2, 2), (2, 8)]
    one = verdicts(_cells(1, [1, 2, 4, 8]))
    assert [(v.cores, v.workers) for v in one] == [(1, 8)]
    assert two[0].sentence.startswith(
        "CPU-bound hello-cpu, 2 cores, 2 workers: processes 1.90x, threads 1.00x (1.00x its 1-worker time) "
        "(against the baseline; ideal 2x): " + GIL)
    assert [m.backend for m in two[0].models] == ["processes", "threads"]  # fastest first, the baseline not a model
    assert two[0].best.backend == "processes" and two[0].serialized == ["threads"]


@pytest.mark.parametrize("gap", [1.15, 0.85, 1.0])
def test_hello_cpu_on_two_cores_is_serialized_whatever_the_main_thread_gap(gap):
    found = verdicts(_cells(2, [1, 2, 4], gap=gap))
    assert [(v.workers, v.reason.startswith(GIL)) for v in found] == [(2, True), (4, True)]
    t = found[0].model("threads")
    assert t.basis == OWN_SCALING and t.scaling == pytest.approx(1.0)
    assert t.speedup == pytest.approx(gap) and t.gap == pytest.approx(gap)
    assert "The baseline: sequential, every task in the process's main thread" in found[0].sentence
    assert f"threads: main-thread gap {gap:.2f}x" in found[0].sentence


def test_the_old_rule_failed_at_a_gap_of_1_15():
    v = verdicts(_cells(2, [1, 2], gap=1.15))[0]
    t = v.model("threads")
    assert t.speedup >= SERIAL  # against the main-thread baseline the threads looked 1.15x faster
    as_if_baseline = ModelResult(t.backend, t.family, t.in_process, t.speedup, t.ideal)  # no own scaling
    assert not explain(v.kind, [v.model("processes"), as_if_baseline], v.ideal).startswith(GIL)
    assert v.reason.startswith(GIL)  # on their own scaling: serialized
    assert "the main thread took 15 % longer than one fresh thread" in v.sentence


def test_without_a_threads_x1_cell_the_baseline_is_used_and_said():
    v = verdicts(_cells(2, [1, 2], gap=1.05, threads_x1=False))[0]
    t = v.model("threads")
    assert t.basis == BASELINE and math.isnan(t.scaling) and math.isnan(t.gap)
    assert v.reason.startswith(GIL)  # 1.05x the baseline, below SERIAL
    assert "no threads x1 cell: judged against the baseline" in v.sentence
    assert "no main-thread gap measured (no threads x1 cell)" in v.sentence
    # and the fallback inherits the bias: a 15 % slower main thread hides the serialization
    assert "serializes" not in verdicts(_cells(2, [1, 2], gap=1.15, threads_x1=False))[0].reason


def test_gap_range_comes_from_the_gaps_frame():
    gaps = pd.DataFrame([{"python": "", "workload": "hello-cpu", "cores": 2, "baseline_id": "hello-cpu/sequential/w1/c2",
                          "thread_id": "hello-cpu/threads/w1/c2", "backend": "threads", "gap": 1.15,
                          "gap_low": 1.08, "gap_high": 1.27, "layouts": 5, "per_layout": [], "note": ""}])
    t = verdicts(_cells(2, [1, 2], gap=1.15), gaps=gaps)[0].model("threads")
    assert (t.gap_low, t.gap_high, t.layouts) == (1.08, 1.27, 5)
    assert t.gap_text == ("threads: main-thread gap 1.15x (the main thread took 15 % longer than one fresh thread; "
                          "1.08x to 1.27x over 5 layouts)")


def test_describe_gap_either_way():
    assert describe_gap(0.9) == "main-thread gap 0.90x (the main thread took 10 % less time than one fresh thread)"
    assert describe_gap(math.nan).startswith("no main-thread gap measured")


def test_verdicts_without_time_column_use_the_speedup_ratio():
    cells = _cells(2, [1, 2], gap=1.15).drop(columns="time")
    v = verdicts(cells)[0]
    assert v.model("threads").scaling == pytest.approx(1.0) and v.reason.startswith(GIL)


def test_verdicts_per_interpreter_with_its_gil_state():
    on, off = _cells(2, [1, 2]).assign(python="3.14"), _cells(2, [1, 2]).assign(python="3.14t")
    off["id"] = off["id"] + "@3.14t"
    found = verdicts(pd.concat([on, off], ignore_index=True), gil={"3.14": True, "3.14t": False},
                     interpreters={"3.14": "3.14", "3.14t": "3.14t (GIL off)"})
    assert [(v.python, v.workers) for v in found] == [("3.14", 2), ("3.14t", 2)]
    assert found[0].sentence.startswith("CPU-bound hello-cpu on 3.14, 2 cores, 2 workers: processes 1.90x")
    assert found[0].reason.startswith(GIL)
    assert found[1].sentence.startswith("CPU-bound hello-cpu on 3.14t (GIL off), 2 cores")
    assert found[1].reason.startswith("threads do not scale although the GIL is off: look for contention")
