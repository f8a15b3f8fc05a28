"""The CI recipe for someone else's repository (examples/github-actions-project.yml), run on a toy project.

gilbench is installed the way a user installs it: a fresh venv and a (non-editable) ``pip install`` of
this checkout, so the wheel itself is what runs. The toy project is a git repository whose second
commit makes its function slower, with a ``bench`` package of its own (the name of gilbench's
repository folder); from its folder the test runs the recipe's steps: ``gilbench ab HEAD~1 HEAD``
with its [tool.gilbench], then ``gilbench run --name main`` and ``gilbench merge``, and checks what the
recipe publishes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from tests.conftest import made_once, shared_folder

pytestmark = pytest.mark.xdist_group("project_ci")  # its fixtures: made once, on one xdist worker

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / "examples" / "github-actions-project.yml"
#: gilbench's repository folders: in a wheel they are inside the gilbench package, never top-level
PARTS = ("bench", "workloads", "reports", "experiments")
#: the recipe's gate step, with the toy repository's refs for origin/<base branch> and the pull request
AB = ["ab", "HEAD~1", "HEAD", "--output", "results", "--html", "compare.html", "--markdown", "compare.md"]

WORK = '''
import os

import bench  # the project's own package: gilbench must never shadow it

REPEAT = {repeat}


def crunch(index, n=160000, log=""):
    """Sums of squares, REPEAT times."""
    total = 0
    for _ in range(REPEAT):
        total += sum(i * i for i in range(n))
    if log:
        with open(log, "a") as out:
            out.write(f"{{os.getpid()}}|{{bench.MARKER}}|{{bench.__file__}}|{{REPEAT}}\\n")
    return total
'''

PYPROJECT = '''
[project]
name = "toy"
version = "0.1.0"

[tool.gilbench]
profile = "gate"
workloads = ["toy.work:crunch"]
backends = ["sequential", "processes"]
workers = [2]
processes = 10
fail_on = ["time:10%"]

[tool.gilbench.workload."toy.work:crunch"]
kind = "cpu-bound"
size = "n"
params = {{ log = {log} }}
'''


def _install(where: Path) -> dict[str, str]:
    """A venv in ``where`` with gilbench's wheel built from a copy of this checkout ({"venv": path}), or why
    it cannot be made here ({"skip": reason})."""
    source = where / "gilbench"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".venv", ".git", "results", "build", "*.egg-info", "__pycache__", ".pytest_cache", "tests"))
    venv = where / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    python = str(venv / "bin" / "python")
    errors = []
    for how in ([], ["--no-build-isolation"]):  # the second: where no index or cache has setuptools
        done = subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", *how, str(source)],
                              capture_output=True, text=True, timeout=300)
        if done.returncode == 0:
            break
        errors.append(f"pip install {' '.join(how)}: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    else:
        return {"skip": f"cannot build and install gilbench's wheel here (no network, no cache): {'; '.join(errors)}"}
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    lent = sorted({sysconfig.get_paths()[k] for k in ("purelib", "platlib")})
    (Path(site) / "_gilbench_test_dependencies.pth").write_text("\n".join(lent) + "\n")
    return {"venv": str(venv)}


@pytest.fixture(scope="session")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with gilbench installed from a copy of this checkout as a wheel, as a user would; made
    once for every pytest process of one `make test` (tests.conftest.made_once), the install being the
    slow part.

    The build needs setuptools (from the index pip is configured with, or its cache); gilbench's
    dependencies are not downloaded: a .pth line lends them from the interpreter running the tests,
    added after the install so that pip never sees this checkout's editable install.
    """
    made = made_once(shared_folder(tmp_path_factory) / "installed", _install)
    if "skip" in made:
        pytest.skip(made["skip"])
    return Path(made["venv"])


def user_env(venv: Path, tmp: Path) -> dict[str, str]:
    """A user's shell with the venv on PATH: nothing of this checkout on any path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join([str(venv / "bin"), env.get("PATH", "")])
    env["XDG_CACHE_HOME"] = str(tmp / "cache")  # gilbench's shim for the workers' PYTHONPATH
    return env


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", "-c", "user.name=toy", "-c", "user.email=toy@localhost", *args], cwd=cwd,
                          capture_output=True, text=True, check=True).stdout


def toy_project(root: Path, log: Path) -> Path:
    """Two commits of a project whose second makes ``crunch`` 50 % slower (3 sums, not 2)."""
    (root / "bench").mkdir(parents=True)
    (root / "bench" / "__init__.py").write_text('MARKER = "user"\n')
    (root / "toy").mkdir()
    (root / "toy" / "__init__.py").write_text("")
    (root / "pyproject.toml").write_text(PYPROJECT.format(log=json.dumps(str(log))))
    git("init", "-q", cwd=root)
    for repeat in (2, 3):
        (root / "toy" / "work.py").write_text(WORK.format(repeat=repeat))
        git("add", "-A", cwd=root)
        git("commit", "-qm", f"crunch: {repeat} sums", cwd=root)
    return root


@pytest.mark.slow
def test_the_wheel_has_one_top_level_package(venv: Path, tmp_path: Path) -> None:
    code = ("import gilbench, gilbench.bench.cli, sysconfig; from pathlib import Path; "
            "print(Path(gilbench.__file__).parent); print(sysconfig.get_paths()['purelib'])")
    done = subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env=user_env(venv, tmp_path))
    assert done.returncode == 0, done.stderr
    package, site = map(Path, done.stdout.split())
    assert package == site / "gilbench" and (package / "bench" / "cli.py").is_file()
    assert [p for p in PARTS if (site / p).exists()] == []
    done = subprocess.run([str(venv / "bin" / "python"), "-c", "import bench"], capture_output=True, text=True,
                          cwd=tmp_path, env=user_env(venv, tmp_path))
    assert "No module named 'bench'" in done.stderr


@pytest.mark.slow
@pytest.mark.serial
def test_the_recipe_gates_a_slower_commit_of_a_users_project(venv: Path, tmp_path: Path) -> None:
    log = tmp_path / "calls.log"
    project = toy_project(tmp_path / "toy", log)
    env = user_env(venv, tmp_path)

    done = subprocess.run(["gilbench", *AB], cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr  # a regression beyond fail_on
    assert f"config {(project / 'pyproject.toml').resolve()}" in done.stderr
    summary = (project / "compare.md").read_text()  # the job summary
    assert "toy.work:crunch/sequential" in summary and "slower" in summary
    assert (project / "compare.html").read_text().lstrip().lower().startswith("<!doctype html")
    (ab,) = [p for p in (project / "results").iterdir() if (p / "ab.json").is_file()]
    manifests = {side: json.loads((ab / side / "manifest.json").read_text()) for side in ("base", "cand")}
    for side, manifest in manifests.items():
        assert [(c["backend"], c["status"]) for c in manifest["cells"]] == [("sequential", "ok"), ("processes", "ok")]
        assert len(manifest["cells"][0]["processes"]) == 10  # the config's processes: ab's rounds
        # each side imports the project from its own worktree (gone now)
        path = Path(json.loads(manifest["cells"][0]["module"])["path"])
        assert path.name.startswith(f"gilbench-{side}-") and not path.exists()
    # the plan as recorded once: the project's own folder
    saved = json.loads((ab / "ab.json").read_text())["plan"]["cells"][0]
    assert Path(json.loads(saved["module"])["path"]) == project.resolve()
    assert git("worktree", "list", cwd=project).count("\n") == 1

    # what the recipe uploads, and what it hands to Bencher
    step = next(s for s in yaml.safe_load(RECIPE.read_text())["jobs"]["gate"]["steps"]
                if "upload-artifact" in s.get("uses", ""))
    for pattern in step["with"]["path"].split():
        assert list(project.glob(pattern)), pattern
    bencher = json.loads((ab / "cand" / "bencher.json").read_text())
    cells = manifests["cand"]["cells"]
    assert set(bencher) == {f"{c['workload']}/{c['backend']}/w{c['workers']}/c{c['cores']}" for c in cells}
    assert all(m["latency"]["value"] > 0 for m in bencher.values())

    # every call, in the measured processes and their child processes, ran the user's code of its side
    calls = [line.split("|") for line in log.read_text().splitlines()]
    assert {marker for _, marker, _, _ in calls} == {"user"}
    sides = {repeat: {Path(path).parent.parent.name.split("-")[1] for _, _, path, r in calls if r == repeat}
             for repeat in ("2", "3")}
    assert sides == {"2": {"base"}, "3": {"cand"}}
    assert len({pid for pid, _, _, r in calls if r == "3"}) > 10  # workers and their children


@pytest.mark.slow  # not serial: nothing here is judged, so other tests beside it change nothing
def test_the_recipes_machines_job_runs_the_project_and_merges_the_machines_runs(venv: Path, tmp_path: Path) -> None:
    project = toy_project(tmp_path / "toy", tmp_path / "calls.log")
    env = user_env(venv, tmp_path)
    # one named run per machine (the second stands for another machine's), then one report of them
    for name, *more in (("main",), ("other", "--no-report")):
        done = subprocess.run(["gilbench", "run", "--name", name, "--processes", "2", "--no-experiments", *more],
                              cwd=project, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
    assert (project / "results" / "main" / "report.html").is_file()
    done = subprocess.run(["gilbench", "merge", "results/main", "results/other", "--output", "merged"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "toy.work:crunch" in (project / "merged" / "report.html").read_text()


@pytest.mark.slow
def test_the_recipe_calls_real_commands_with_options_gilbench_takes(venv: Path, tmp_path: Path) -> None:
    recipe = yaml.safe_load(RECIPE.read_text())
    gate, machines, merge = (recipe["jobs"][name] for name in ("gate", "machines", "merge"))
    assert gate["steps"][0]["with"]["fetch-depth"] == 0
    run = {name: " ".join(s.get("run", "") for s in job["steps"]) for name, job in recipe["jobs"].items()}
    assert all("pip install \"gilbench @ git+https://" in text for text in run.values())
    assert " ".join(["gilbench", *AB]).replace("HEAD~1", "origin/${{ github.base_ref }}") in " ".join(run["gate"].split())
    assert "GITHUB_STEP_SUMMARY" in run["gate"] and "--adapter json --file results/*/cand/bencher.json" in run["gate"]
    assert len(machines["strategy"]["matrix"]["runner"]) > 1 and machines["runs-on"] == "${{ matrix.runner }}"
    assert "gilbench run --name ${{ matrix.runner }}" in run["machines"] and "gilbench merge" in run["merge"]
    assert merge["needs"] == "machines"
    # every gilbench option the recipe uses is one the installed gilbench takes
    steps = [s["run"].split() for job in recipe["jobs"].values() for s in job["steps"]
             if s.get("run", "").startswith("gilbench ")]
    assert sorted({words[1] for words in steps}) == ["ab", "merge", "run"]
    for words in steps:
        text = subprocess.run(["gilbench", words[1], "--help"], env=user_env(venv, tmp_path), capture_output=True,
                              text=True).stdout
        assert all(w in text for w in words if w.startswith("--")), words


def test_each_side_takes_the_users_code_from_its_own_checkout(tmp_path: Path, monkeypatch) -> None:
    """A function's folder and a module file are re-pointed into the side; a dotted module name is the
    workers' (whose working directory is the side's counterpart of the current one); the rest stays."""
    from gilbench.bench.measure.sides import Side, side_plan
    from gilbench.bench.data.cells import Cell, Timing
    from gilbench.bench.plan.matrix import Plan

    home, side_root, elsewhere = tmp_path / "repo", tmp_path / "gilbench-cand-x", tmp_path / "other"
    for folder in (home / "sub", side_root / "sub", elsewhere):
        folder.mkdir(parents=True)
    monkeypatch.chdir(home / "sub")
    source = json.dumps({"function": "toy.work:crunch", "path": str(home / "sub"), "kind": "cpu-bound"})
    modules = [source, str(home / "bench_workloads.py"), "toy.benchmarks", str(elsewhere / "w.py"), None]
    cell = Cell("w", "sequential", 1, 1, (0,), 1)
    plan = Plan("gate", Timing(2, 1, 0), tuple(replace(cell, workload=f"w{i}", module=m)
                                              for i, m in enumerate(modules)))
    side = Side("cand", "HEAD", side_root, sys.executable, tmp_path, home=home, project=True)
    moved = [c.module for c in side_plan(plan, side).cells]
    assert json.loads(moved[0]) == {**json.loads(source), "path": str(side_root / "sub")}
    assert moved[1:] == [str(side_root / "bench_workloads.py"), "toy.benchmarks", str(elsewhere / "w.py"), None]
    assert side.cwd == side_root / "sub"
    assert [c.module for c in plan.cells] == modules  # the plan as recorded in ab.json is left alone
