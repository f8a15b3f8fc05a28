"""`gilbench merge`: one report from run folders of different machines, and what it refuses.

The "other machine" is tests/fixtures/run-1cpu: a real smoke run recorded on the development machine with a
1-CPU affinity and renamed to host "fixture-1cpu" (its README says how). It is merged with a smoke run made
in this session (conftest's ``smoke_run``).
"""

from __future__ import annotations

import base64
import json
import re
import shutil
from html import unescape
from pathlib import Path

import pytest

from gilbench.bench.data.results import RunFolderError, write_json_atomic
from gilbench.reports import frame
from gilbench.reports.merge import MergeError, key_numbers, load_runs, merge, run_names
from tests.conftest import gilbench, gilbench_here
from tests.fixtures import make_runs as fx

pytestmark = pytest.mark.xdist_group("merge")  # its fixtures: made once, on one xdist worker

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "run-1cpu"


def page_text(path: Path) -> str:
    return unescape(path.read_text(encoding="utf-8"))


def edit_json(path: Path, **changes) -> None:
    data = json.loads(path.read_text())
    data.update(changes)
    write_json_atomic(path, data)


@pytest.fixture(scope="module")
def merged(smoke_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("merged")
    done = gilbench("merge", str(smoke_run), str(FIXTURE), "--output", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(out / "report.html")
    return out / "report.html"


@pytest.mark.slow
def test_merge_writes_one_self_contained_report_with_both_machines(merged, smoke_run):
    assert sorted(p.name for p in merged.parent.iterdir()) == ["report.html"]
    html = page_text(merged)
    here = frame.load(smoke_run).machine
    here_name = f"{here['hostname']} ({len(here['affinity'])} CPU{'' if len(here['affinity']) == 1 else 's'})"
    for text in (here_name, "fixture-1cpu (1 CPU)", here["cpu_model"], "1: 0", "2026-11-26T14:42:50+00:00"):
        assert text in html, text
    # the figure is inlined as a real PNG, and nothing is fetched from the network
    images = re.findall(r'<img[^>]*src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 1 and base64.b64decode(images[0]).startswith(b"\x89PNG")
    assert not re.search(r'(src|href)="(https?:)?//', html)


@pytest.mark.slow
def test_key_numbers_are_each_machines_best_model_at_its_most_workers(smoke_run):
    runs = load_runs([smoke_run, FIXTURE])
    rows = key_numbers(runs, ["hello-cpu", "hello-sleep"])
    assert [(r["workload"], r["machine"]) for r in rows] == [
        (w, r.name) for w in ("hello-cpu", "hello-sleep") for r in runs]
    for row, r in zip(rows, runs * 2):
        cells = r.run.cells
        at = cells[(cells["workload"] == row["workload"]) & (cells["status"] == "ok") & ~cells["baseline"].astype(bool)]
        at = at[at["cores"] == at["cores"].max()]
        at = at[at["workers"] == at["workers"].max()]
        assert row["speedup"] == pytest.approx(at["speedup"].max())
        assert row["best"] == at.loc[at["speedup"].idxmax(), "backend"]
        assert row["cores"] == int(at["cores"].iloc[0])
    assert {r["cores"] for r in rows if r["machine"] == "fixture-1cpu (1 CPU)"} == {1}


@pytest.mark.slow
def test_machines_with_one_name_get_a_suffix(smoke_run, tmp_path):
    assert run_names([{"hostname": "ci", "affinity": [0, 1]}, {"hostname": "ci", "affinity": [0]},
                      {"hostname": "ci", "affinity": [2, 3]}]) == ["ci (2 CPUs) #1", "ci (1 CPU)", "ci (2 CPUs) #2"]
    other = shutil.copytree(FIXTURE, tmp_path / "other")  # the fixture, claiming to be this machine
    here = frame.load(smoke_run).machine
    edit_json(other / "machine.json", hostname=here["hostname"], affinity=here["affinity"])
    html = page_text(merge([smoke_run, other], tmp_path / "out"))
    base = f"{here['hostname']} ({len(here['affinity'])} CPUs)"
    assert f"{base} #1" in html and f"{base} #2" in html


@pytest.mark.slow
def test_refusals_name_the_problem(smoke_run, tmp_path):
    with pytest.raises(MergeError, match="at least two run folders"):
        load_runs([smoke_run])
    with pytest.raises(RunFolderError, match="no manifest.json"):
        load_runs([smoke_run, tmp_path])
    # the same run twice, however its folder is reached or copied
    with pytest.raises(MergeError, match="are the same run"):
        load_runs([smoke_run, shutil.copytree(smoke_run, tmp_path / "copy")])
    # a run folder of another format
    old = shutil.copytree(FIXTURE, tmp_path / "old")
    edit_json(old / "manifest.json", format=1)
    with pytest.raises(MergeError, match=r"different run folder formats \(.*format 2, .*format 1\)"):
        load_runs([smoke_run, old])
    # no workload in common: the synthetic run has hello-cpu only, this copy of the fixture hello-sleep only
    sleep = shutil.copytree(FIXTURE, tmp_path / "sleep")
    manifest = json.loads((sleep / "manifest.json").read_text())
    write_json_atomic(sleep / "manifest.json",
                      {**manifest, "cells": [c for c in manifest["cells"] if c["workload"] == "hello-sleep"]})
    with pytest.raises(MergeError, match=r"no workload in common \(synthetic \(2 CPUs\): hello-cpu; "
                                         r"fixture-1cpu \(1 CPU\): hello-sleep\)"):
        load_runs([fx.write_run(tmp_path / "synthetic"), sleep])
    with pytest.raises(MergeError, match="a run folder; give the merged report a folder of its own"):
        merge([smoke_run, FIXTURE], sleep)


@pytest.mark.slow
def test_cli_refusal_exits_2_with_the_message_and_writes_nothing(smoke_run, tmp_path):
    done = gilbench_here("merge", str(smoke_run), str(smoke_run), "--output", str(tmp_path / "out"))
    assert done.returncode == 2
    assert "gilbench: error:" in done.stderr and "are the same run" in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_a_run_from_another_machine_merges_with_one_from_this_one(tmp_path):
    """Two real machines: the 16-CPU device run (tests/fixtures/run-16cpu-device) and a run of this one."""
    device = FIXTURE.parent / "run-16cpu-device"
    done = gilbench("merge", str(FIXTURE), str(device), "--output", str(tmp_path))
    assert done.returncode == 0, done.stderr
    html = page_text(tmp_path / "report.html")
    for text in ("vm (16 CPUs)", "fixture-1cpu (1 CPU)", "3.12.3", "3.11.7"):
        assert text in html, text
    assert len(re.findall(r'<img[^>]*src="data:image/png;base64,', html)) >= 1
