import pandas as pd

from reports.verdicts import explain, verdicts


def test_explain_names_the_gil_when_threads_stay_serial():
    assert explain("cpu-bound", 0.95, 1.9, 2) == "the GIL serializes the threads; processes run in parallel"
    assert "GIL is off" in explain("cpu-bound", 0.95, 1.9, 2, gil=False)


def test_explain_other_outcomes():
    assert explain("io-bound", 7.9, 7.0, 8) == "both scale: waiting releases the GIL"
    assert explain("cpu-bound", 1.9, 1.9, 2) == "both scale: the work releases the GIL"
    assert explain("io-bound", 7.9, 3.0, 8).startswith("threads win")
    assert explain("cpu-bound", 1.0, 1.0, 1).startswith("nothing to run in parallel")
    assert explain("cpu-bound", 1.2, 1.3, 2) == "no clear winner (within the thresholds)"


def _cells(cores, workers):
    rows = []
    for w in workers:
        for backend, speedup in (("threads", 1.0), ("processes", min(w, cores) * 0.95)):
            rows.append({"status": "ok", "backend": backend, "workload": "hello-cpu", "kind": "cpu-bound",
                         "cores": cores, "workers": w, "speedup": speedup, "ideal": float(min(w, cores))})
    return pd.DataFrame(rows)


def test_verdicts_at_workers_equal_cores_and_at_the_most_workers_never_at_one_worker():
    two = verdicts(_cells(2, [1, 2, 4, 8]))
    assert [(v.cores, v.workers) for v in two] == [(2, 2), (2, 8)]
    one = verdicts(_cells(1, [1, 2, 4, 8]))
    assert [(v.cores, v.workers) for v in one] == [(1, 8)]
    assert two[0].sentence.startswith("CPU-bound hello-cpu, 2 cores, 2 workers: threads 1.0x, processes 1.9x")
