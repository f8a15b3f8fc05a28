import math

import pandas as pd
import pytest

from reports.verdicts import BASELINE, OWN_SCALING, SERIAL, describe_gap, explain, verdicts

GIL = "the GIL serializes the threads; processes run in parallel and win"


def test_explain_names_the_gil_when_threads_stay_serial():
    assert explain("cpu-bound", 0.95, 1.9, 2) == GIL
    assert "GIL is off" in explain("cpu-bound", 0.95, 1.9, 2, gil=False)


def test_explain_other_outcomes():
    assert explain("io-bound", 7.9, 7.0, 8) == "both scale: waiting releases the GIL"
    assert explain("cpu-bound", 1.9, 1.9, 2) == "both scale: the work releases the GIL"
    assert explain("io-bound", 7.9, 3.0, 8).startswith("threads win")
    assert explain("cpu-bound", 1.0, 1.0, 1).startswith("nothing to run in parallel")
    assert explain("cpu-bound", 1.2, 1.3, 2) == "no clear winner (within the thresholds)"


def test_explain_judges_serialization_on_the_threads_own_scaling():
    # the main thread 15 % slower: threads reach 1.16x the baseline while not scaling at all (1.01x their x1)
    assert explain("cpu-bound", 1.16, 1.9, 2) == "processes win"  # the old, baseline-relative rule misses it
    assert explain("cpu-bound", 1.16, 1.9, 2, thread_scaling=1.01) == GIL
    # the main thread 15 % faster: threads below the baseline, still serialized on their own scaling
    assert explain("cpu-bound", 0.86, 1.9, 2, thread_scaling=1.01) == GIL
    # threads that scale on their own (GIL released) are not called serialized whatever the baseline says
    assert explain("cpu-bound", 1.65, 1.9, 2, thread_scaling=1.94) == "both scale: the work releases the GIL"
    assert explain("cpu-bound", 1.0, 1.9, 2, thread_scaling=math.nan) == GIL  # nan: the baseline-relative fallback


def _cells(cores, workers, gap=1.0, threads_x1=True, thread_time=1.0):
    """Synthetic cells: sequential baseline with time ``gap`` (the main thread), threads at ``thread_time``
    whatever the workers (serialized), processes at 0.95 x the ideal against the baseline."""
    rows = [{"id": f"hello-cpu/sequential/w1/c{cores}", "status": "ok", "backend": "sequential", "baseline": True,
             "workload": "hello-cpu", "kind": "cpu-bound", "cores": cores, "workers": 1, "time": gap,
             "speedup": 1.0, "ideal": 1.0}]
    for w in workers:
        ideal = float(min(w, cores))
        for backend, time in (("threads", thread_time), ("processes", gap / (ideal * 0.95))):
            if backend == "threads" and w == 1 and not threads_x1:
                continue
            rows.append({"id": f"hello-cpu/{backend}/w{w}/c{cores}", "status": "ok", "backend": backend,
                         "baseline": False, "workload": "hello-cpu", "kind": "cpu-bound", "cores": cores,
                         "workers": w, "time": time, "speedup": gap / time, "ideal": ideal})
    return pd.DataFrame(rows)


def test_verdicts_at_workers_equal_cores_and_at_the_most_workers_never_at_one_worker():
    two = verdicts(_cells(2, [1, 2, 4, 8]))
    assert [(v.cores, v.workers) for v in two] == [(2, 2), (2, 8)]
    one = verdicts(_cells(1, [1, 2, 4, 8]))
    assert [(v.cores, v.workers) for v in one] == [(1, 8)]
    assert two[0].sentence.startswith(
        "CPU-bound hello-cpu, 2 cores, 2 workers: threads 1.00x their 1-worker time (1.00x the baseline), "
        "processes 1.90x the baseline (ideal 2x): " + GIL)


@pytest.mark.parametrize("gap", [1.15, 0.85, 1.0])
def test_hello_cpu_on_two_cores_is_serialized_whatever_the_main_thread_gap(gap):
    found = verdicts(_cells(2, [1, 2, 4], gap=gap))
    assert [(v.workers, v.reason) for v in found] == [(2, GIL), (4, GIL)]
    v = found[0]
    assert v.basis == OWN_SCALING and v.thread_scaling == pytest.approx(1.0)
    assert v.threads == pytest.approx(gap) and v.gap == pytest.approx(gap)
    assert "The baseline: sequential, every task in the process's main thread" in v.sentence
    assert f"main-thread gap {gap:.2f}x" in v.sentence


def test_the_old_rule_failed_at_a_gap_of_1_15():
    v = verdicts(_cells(2, [1, 2], gap=1.15))[0]
    assert v.threads >= SERIAL  # against the main-thread baseline the threads looked 1.15x faster
    assert explain(v.kind, v.threads, v.processes, v.ideal) != GIL  # the baseline-relative rule: no GIL verdict
    assert v.reason == GIL  # on their own scaling: serialized
    assert "the main thread took 15 % longer than one fresh thread" in v.sentence


def test_without_a_threads_x1_cell_the_baseline_is_used_and_said():
    v = verdicts(_cells(2, [1, 2], gap=1.05, threads_x1=False))[0]
    assert v.basis == BASELINE and math.isnan(v.thread_scaling) and math.isnan(v.gap)
    assert v.reason == GIL  # 1.05x the baseline, below SERIAL
    assert "no threads x1 cell: judged against the baseline" in v.sentence
    assert "no main-thread gap measured (no threads x1 cell)" in v.sentence
    # and the fallback inherits the bias: a 15 % slower main thread hides the serialization
    assert verdicts(_cells(2, [1, 2], gap=1.15, threads_x1=False))[0].reason == "processes win"


def test_gap_range_comes_from_the_gaps_frame():
    gaps = pd.DataFrame([{"workload": "hello-cpu", "cores": 2, "baseline_id": "hello-cpu/sequential/w1/c2",
                          "thread_id": "hello-cpu/threads/w1/c2", "backend": "threads", "gap": 1.15,
                          "gap_low": 1.08, "gap_high": 1.27, "layouts": 5, "per_layout": [], "note": ""}])
    v = verdicts(_cells(2, [1, 2], gap=1.15), gaps=gaps)[0]
    assert (v.gap_low, v.gap_high, v.layouts) == (1.08, 1.27, 5)
    assert v.gap_text == ("main-thread gap 1.15x (the main thread took 15 % longer than one fresh thread; "
                          "1.08x to 1.27x over 5 layouts)")


def test_describe_gap_either_way():
    assert describe_gap(0.9) == "main-thread gap 0.90x (the main thread took 10 % less time than one fresh thread)"
    assert describe_gap(math.nan).startswith("no main-thread gap measured")


def test_verdicts_without_time_column_use_the_speedup_ratio():
    cells = _cells(2, [1, 2], gap=1.15).drop(columns="time")
    v = verdicts(cells)[0]
    assert v.thread_scaling == pytest.approx(1.0) and v.reason == GIL
