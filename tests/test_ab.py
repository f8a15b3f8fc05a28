"""`gilbench ab`: two sides interleaved in one job, and the CI recipe that uses it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import gilbench, gilbench_here

ROOT = Path(__file__).resolve().parent.parent
#: 2 cells x (min, mean) = 4 rows; the mean rows' share of alpha is 0.01 / 6, which the exact one-sided
#: signed-rank test reaches with 10 rounds (2**-10 < 0.00167), not with 9
SMALL = ["--profile", "gate", "--workload", "hello-sleep", "--backend", "sequential,threads", "--rounds", "10"]
#: one cell x (min, mean): the mean row's share is 0.01 / 3, reached with 9 rounds (2**-9 < 0.0033); for the
#: tests of ab's plumbing (a git ref, stop and resume, another interpreter), where a second cell adds only time
ONE_CELL = ["--profile", "gate", "--workload", "hello-sleep", "--backend", "sequential", "--rounds", "9"]


def side_worktrees() -> set[str]:
    """The temporary side checkouts git knows of (another ab running beside the tests has its own)."""
    listed = subprocess.run(["git", "worktree", "list"], cwd=ROOT, capture_output=True, text=True).stdout
    return {line.split()[0] for line in listed.splitlines() if "gilbench-base" in line or "gilbench-cand" in line}


def in_git() -> bool:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True).returncode == 0


@pytest.mark.slow
@pytest.mark.serial  # 9 rounds catch the slower side only if every round sees it: no other test beside it
@pytest.mark.skipif(not in_git(), reason="needs a git checkout with a commit")
def test_ab_against_a_git_ref_catches_a_slower_candidate_and_removes_its_worktree(tmp_path):
    before = side_worktrees()
    done = gilbench("ab", "HEAD", ".", *ONE_CELL, "--cand-scale", "1.3", "--seed", "1",
                    "--output", str(tmp_path / "r"), "--markdown", str(tmp_path / "s.md"), cwd=ROOT)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "slower" in done.stdout and "sides in random order per round" in done.stderr
    (run,) = (tmp_path / "r").glob("2*")
    base, cand = json.loads((run / "base" / "manifest.json").read_text()), json.loads((run / "cand" / "manifest.json").read_text())
    assert base["side"] == "base: HEAD" and cand["side"] == "cand: ."
    assert base["interleaved_with"] == cand["interleaved_with"] == str(run)
    assert all(c["status"] == "ok" for c in base["cells"] + cand["cells"])
    import pyperf

    values = pyperf.BenchmarkSuite.load(str(run / "base" / "suite.json")).get_benchmarks()[0]
    assert values.get_nrun() == 9  # one pyperf process per round and side
    for b_cell, c_cell in zip(base["cells"], cand["cells"]):
        # round k: one process of each side, the same layout pad, back to back in either order
        assert [p["pad"] for p in b_cell["processes"]] == [p["pad"] for p in c_cell["processes"]]
        assert {p["order"] for p in b_cell["processes"]} == {0, 1}  # the order is random, not fixed
        for b, c in zip(b_cell["processes"], c_cell["processes"]):
            assert {b["order"], c["order"]} == {0, 1}
    assert "paired" in done.stdout
    assert (run / "base" / "report.html").exists() and (tmp_path / "s.md").exists()
    assert (run / "compare.html").exists() and (run / "compare.json").exists()  # beside both run folders
    assert side_worktrees() <= before


@pytest.mark.slow  # not serial: each round runs its sides in random order, so load elsewhere falls on both alike
def test_ab_same_code_twice_passes(tmp_path):
    done = gilbench("ab", ".", ".", *ONE_CELL, "--no-report", "--output", str(tmp_path / "r"), cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert not (tmp_path / "r" / "latest").exists()  # `latest` is for single runs, which `report` can read
    (run,) = (tmp_path / "r").glob("2*")  # --no-report: the comparison, not the sides' own reports
    assert (run / "compare.html").exists() and not list(run.glob("*/report.html"))


def test_ab_bad_sides_are_usage_errors(tmp_path):
    done = gilbench_here("ab", str(tmp_path), ".", *SMALL, "--output", str(tmp_path / "r"), cwd=ROOT)
    assert done.returncode == 2 and "no workloads/ package" in done.stderr
    done = gilbench_here("ab", "no-such-ref-xyz", ".", *SMALL, "--output", str(tmp_path / "r"), cwd=ROOT)
    assert done.returncode == 2 and "no-such-ref-xyz" in done.stderr


@pytest.mark.slow
def test_ab_with_an_interpreter_lacking_pyperf_says_what_to_install(tmp_path):
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    done = gilbench_here("ab", ".", ".", *SMALL, "--cand-python", str(bare / "bin" / "python"),
                    "--output", str(tmp_path / "r"), cwd=ROOT)
    assert done.returncode == 2 and "pip install pyperf psutil" in done.stderr


def _other_python() -> str | None:
    pyenv = shutil.which("pyenv")
    if not pyenv:
        return None
    root = subprocess.run([pyenv, "root"], capture_output=True, text=True).stdout.strip()
    mine = f"{sys.version_info.major}.{sys.version_info.minor}"
    for version in sorted(Path(root, "versions").glob("3.1[0-3]*")):
        if not version.name.startswith(mine) and (version / "bin" / "python").exists():
            return str(version / "bin" / "python")
    return None


@pytest.mark.slow
@pytest.mark.skipif(_other_python() is None, reason="no second CPython 3.10-3.13 under pyenv")
def test_ab_across_two_interpreters(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([_other_python(), "-m", "venv", "--without-pip", str(venv)], check=True)
    try:  # filled by this pip: 1.7 s, where its own ensurepip and pip took 4.0 s
        pip = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                              "pyperf", "psutil"], capture_output=True, text=True, timeout=300)
    except subprocess.TimeoutExpired:
        pytest.skip("installing pyperf and psutil for the second interpreter took over 5 minutes")
    if pip.returncode:
        pytest.skip(f"cannot install pyperf and psutil for the second interpreter: {pip.stderr[-200:]}")
    done = gilbench("ab", ".", ".", *ONE_CELL, "--cand-python", str(venv / "bin" / "python"), "--no-report",
                    "--output", str(tmp_path / "r"), cwd=ROOT)
    assert done.returncode in (0, 1), done.stderr
    (run,) = (tmp_path / "r").glob("2*")
    base = json.loads((run / "base" / "machine.json").read_text())
    cand = json.loads((run / "cand" / "machine.json").read_text())
    assert base["python_version"] != cand["python_version"]
    assert "not comparable" not in done.stdout.splitlines()[-1]  # --cand-python allows the difference


def test_the_ci_recipe_is_valid_yaml_calling_real_commands():
    recipe = yaml.safe_load((ROOT / "examples" / "github-actions.yml").read_text())
    steps = recipe["jobs"]["gate"]["steps"]
    commands = " ".join(s.get("run", "") for s in steps)
    assert "gilbench ab" in commands and "--fail-on time:10%" in commands and "GITHUB_STEP_SUMMARY" in commands
    # the rows that do not care how busy the runner is, with the counter they need installed before them
    assert "--fail-on cpu:5%" in commands and "--fail-on instructions:1%" in commands
    installs = [i for i, s in enumerate(steps) if "apt-get install" in s.get("run", "") and "valgrind" in s["run"]]
    gate = next(i for i, s in enumerate(steps) if "gilbench ab" in s.get("run", ""))
    assert installs and installs[0] < gate
    assert ".installed-stamp" in commands and ".installed-stamp:" in (ROOT / "Makefile").read_text().replace(
        "$(STAMP):", ".installed-stamp:")
    # every gilbench option the recipe uses is one `gilbench ab` accepts
    help_text = gilbench_here("ab", "--help").stdout
    for option in ("--profile", "--fail-on", "--output", "--html", "--markdown"):
        assert option in commands and option in help_text
    assert any("upload-artifact" in s.get("uses", "") for s in steps)


def _processes_mentioning(marker: str) -> list:
    import psutil

    return [p for p in psutil.process_iter(["cmdline"]) if marker in " ".join(p.info["cmdline"] or [])
            and p.pid != __import__("os").getpid()]


@pytest.mark.slow
@pytest.mark.skipif(not in_git(), reason="needs a git checkout with a commit")
def test_ab_stopped_by_sigterm_cleans_up_and_resumes_keeping_finished_rounds(tmp_path):
    import signal
    import time

    out = tmp_path / "r"
    before = side_worktrees()
    proc = subprocess.Popen([sys.executable, "-m", "gilbench", "ab", "HEAD", ".", *ONE_CELL, "--no-report",
                             "--output", str(out)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        manifests = list(out.glob("2*/base/manifest.json"))
        if manifests and any(c["processes"] for c in json.loads(manifests[0].read_text())["cells"]):
            break
        time.sleep(0.1)
    else:
        proc.kill()
        pytest.fail("no round finished in time")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    (run,) = out.glob("2*")
    assert f"--resume {run}" in err
    assert side_worktrees() <= before  # the checkout of HEAD is gone
    assert _processes_mentioning(str(run)) == []
    first = json.loads((run / "base" / "manifest.json").read_text())
    assert first["status"] == "interrupted"
    kept = {c["id"]: [p["pid"] for p in c["processes"]] for c in first["cells"] if c["processes"]}
    assert kept

    done = gilbench("ab", "--resume", str(run), "--no-report", cwd=ROOT)
    assert done.returncode in (0, 1), done.stderr  # 1 only if HEAD and the tree really differ
    again = json.loads((run / "base" / "manifest.json").read_text())
    assert again["status"] == "complete" and all(c["status"] == "ok" for c in again["cells"])
    assert all(len(c["processes"]) == 9 for c in again["cells"])
    for c in again["cells"]:  # the rounds that had finished were kept, not run again
        assert [p["pid"] for p in c["processes"]][: len(kept.get(c["id"], []))] == kept.get(c["id"], [])
    assert (run / "compare.json").exists()


def test_ab_resume_refuses_sides_and_matrix_options(tmp_path):
    done = gilbench_here("ab", "--resume", str(tmp_path), ".", cwd=ROOT)
    assert done.returncode == 2 and "drop" in done.stderr
    done = gilbench_here("ab", "--resume", str(tmp_path), cwd=ROOT)
    assert done.returncode == 2 and "ab.json" in done.stderr


@pytest.mark.slow
def test_a_candidate_whose_workload_raises_fails_the_gate_with_its_error(tmp_path):
    """A pull request that breaks a workload must not pass as "not comparable" (exit 0)."""
    broken = tmp_path / "broken"
    for part in ("gilbench", "workloads"):  # a gilbench checkout: its package and its workloads
        shutil.copytree(ROOT / part, broken / part, ignore=shutil.ignore_patterns("__pycache__"))
    hello = broken / "workloads" / "hello.py"
    hello.write_text(hello.read_text().replace('    x = n\n', '    raise RuntimeError("broken by the candidate")\n', 1))
    done = gilbench("ab", ".", str(broken), "--profile", "gate", "--workload", "hello-cpu", "--backend",
                    "sequential", "--rounds", "9", "--no-report", "--output", str(tmp_path / "r"), "--json",
                    str(tmp_path / "c.json"),
                    cwd=ROOT)
    assert done.returncode == 1, done.stdout + done.stderr
    rows = json.loads((tmp_path / "c.json").read_text(), parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))["rows"]
    assert [r["summary"] for r in rows] == ["min", "mean"]
    for row in rows:
        assert row["verdict"] == "failed" and row["regression"] is True
        assert "broken by the candidate" in row["note"]


def test_an_ab_whose_rounds_cannot_reach_the_gates_level_is_refused_with_the_rounds_it_needs(tmp_path):
    """With too few rounds no row can ever be significant: the gate would pass every change forever."""
    done = gilbench_here("ab", ".", ".", *SMALL[:-1], "4", "--output", str(tmp_path / "r"), cwd=ROOT)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "needs at least 10 rounds" in done.stderr and "--rounds 10" in done.stderr
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())  # refused before anything ran


def _ab_in_process(capsys, monkeypatch, fail_from: int, out: Path) -> tuple[int, str]:
    """`gilbench ab . .` of one small cell in this process, the disk full from the ``fail_from``-th manifest
    write on: (exit status, stderr)."""
    import errno

    from gilbench.bench import cli
    from gilbench.bench.data.results import RunFolder

    writes = []
    real = RunFolder.write_manifest

    def full_disk(self, manifest):
        writes.append(self.path)
        if len(writes) >= fail_from:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(self, manifest)

    monkeypatch.setattr(RunFolder, "write_manifest", full_disk)
    monkeypatch.chdir(ROOT)
    try:
        code = cli.main(["ab", ".", ".", "--profile", "gate", "--workload", "hello-sleep", "--backend", "sequential",
                         "--rounds", "9", "--no-report", "--output", str(out)])
    except SystemExit as exc:
        code = exc.code
    return code, capsys.readouterr().err


@pytest.mark.slow  # ~7 s, an ab run: make test runs it, make check (the fast tier) does not
def test_ab_on_a_full_disk_ends_with_a_message_and_exit_1_keeping_what_finished(tmp_path, capsys, monkeypatch):
    code, err = _ab_in_process(capsys, monkeypatch, 3, tmp_path / "r")  # the two first manifests are written
    (run,) = (tmp_path / "r").glob("2*")
    assert code == 1, err
    assert f"gilbench: error: cannot write to {run}: No space left on device" in err
    assert f"`gilbench ab --resume {run}` runs the rest" in err and "Traceback" not in err
    for side in ("base", "cand"):  # each manifest as last written whole: running, every cell pending
        manifest = json.loads((run / side / "manifest.json").read_text())
        assert manifest["status"] == "running" and manifest["cells"][0]["status"] == "pending"
    monkeypatch.undo()  # room again: the command it named finishes the job
    from gilbench.bench import cli

    monkeypatch.chdir(ROOT)
    assert cli.main(["ab", "--resume", str(run), "--no-report"]) in (0, 1)
    again = json.loads((run / "base" / "manifest.json").read_text())
    assert again["status"] == "complete" and again["cells"][0]["status"] == "ok" and len(again["resumed"]) == 1
    assert (run / "compare.json").exists()


def test_ab_on_a_disk_full_from_the_start_is_refused_before_anything_runs(tmp_path, capsys, monkeypatch):
    code, err = _ab_in_process(capsys, monkeypatch, 1, tmp_path / "r")
    assert code == 2, err
    assert "gilbench: error: cannot write to" in err and "No space left on device" in err
    assert "Traceback" not in err and "pyperf processes" not in err  # no estimate: nothing ran
