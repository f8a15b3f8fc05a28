"""The config file ([tool.gilbench] / gilbench.toml), its precedence under the command line, and run folders
named with --name that compare and report accept, as well as a results folder meaning its latest run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gilbench.bench.cli import RUN_DEFAULTS, build_parser
from gilbench.bench.plan.config import ConfigError, apply, find_config, load_config, read_config
from gilbench.workloads import Declaration
from tests.conftest import gilbench_here


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gilbench", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd)


# --- finding and reading ------------------------------------------------------------------------

def test_the_nearest_file_counts_up_to_the_git_root(tmp_path: Path) -> None:
    write(tmp_path / "gilbench.toml", 'profile = "quick"\n')
    sub = tmp_path / "repo" / "src" / "deep"
    sub.mkdir(parents=True)
    assert load_config(sub).profile == "quick"  # no git root in between: the file above
    (tmp_path / "repo" / ".git").mkdir()
    assert load_config(sub) is None  # the repository's root ends the search
    write(tmp_path / "repo" / "pyproject.toml", '[project]\nname = "x"\n')
    assert load_config(sub) is None  # a pyproject.toml without [tool.gilbench] is not a config
    write(tmp_path / "repo" / "pyproject.toml", '[project]\nname = "x"\n\n[tool.gilbench]\nprofile = "smoke"\n')
    config = load_config(sub)
    assert config.profile == "smoke" and config.path == (tmp_path / "repo" / "pyproject.toml").resolve()


def test_two_configs_in_one_folder_are_refused(tmp_path: Path) -> None:
    write(tmp_path / "gilbench.toml", 'profile = "quick"\n')
    write(tmp_path / "pyproject.toml", '[tool.gilbench]\nprofile = "smoke"\n')
    with pytest.raises(ConfigError, match="both gilbench.toml and pyproject.toml"):
        find_config(tmp_path)


def test_gilbench_toml_takes_top_level_keys_or_one_tool_table(tmp_path: Path) -> None:
    assert read_config(write(tmp_path / "a" / "gilbench.toml", '[tool.gilbench]\nworkers = [4, 1]\n')).workers == (1, 4)
    with pytest.raises(ConfigError, match=r"keys outside \[tool.gilbench\] \(profile\)"):
        read_config(write(tmp_path / "b" / "gilbench.toml", 'profile = "smoke"\n[tool.gilbench]\nworkers = 2\n'))


def test_every_key_is_read_into_the_config(tmp_path: Path) -> None:
    config = read_config(write(tmp_path / "pyproject.toml", '''
[tool.gilbench]
profile = "quick"
workloads = ["hello-cpu", "mypkg.work:crunch"]
workload_modules = ["mypkg.benchmarks", "extra/more.py"]
backends = ["sequential", "threads"]
workers = [1, 2]
cores = 2
tasks = 4
scale = 0.5
processes = 3
values = 2
interpreters = ["3.12", "3.14t:PYTHON_GIL=0"]
timeout = 90
output = "bench-results"
name = "main"
fail_on = ["time:10%", "speedup:5%"]

[tool.gilbench.workload."mypkg.work:crunch"]
kind = "cpu-bound"
size = "n"
params = { n = 5000, mode = "fast" }
'''))
    home = tmp_path.resolve()
    assert config.arguments() == {
        "profile": "quick", "workload": ["hello-cpu", "mypkg.work:crunch"],
        "declared": {"mypkg.work:crunch": Declaration(kind="cpu-bound", size="n", params={"n": 5000, "mode": "fast"})},
        "workload_module": ["mypkg.benchmarks", str(home / "extra" / "more.py")], "backend": ["sequential", "threads"],
        "workers": "1,2", "cores": "2", "tasks": 4, "scale": 0.5, "processes": 3, "values": 2,
        "python": ["3.12", "3.14t:PYTHON_GIL=0"], "timeout": 90.0, "output": home / "bench-results", "name": "main",
        "fail_on": ["time:10%", "speedup:5%"],
    }


def test_without_a_list_the_declared_tables_are_the_workloads(tmp_path: Path) -> None:
    config = read_config(write(tmp_path / "gilbench.toml", '[workload."m:f"]\nkind = "io-bound"\n'))
    assert config.arguments()["workload"] == ["m:f"]


@pytest.mark.parametrize("text, message", [
    ("worker = 2", "unknown key 'worker' (accepted: backends, cores, fail_on, interpreters, name, output, processes, "
                   "profile, scale, tasks, timeout, values, workers, workload, workload_modules, workloads)"),
    ('workers = "two"', "workers must be a whole number of at least 1 or a list of them, e.g. [1, 2, 4], not 'two'"),
    ("cores = [0]", "cores must be a whole number of at least 1 or a list of them"),
    ('profile = "huge"', "profile must be one of smoke, quick, gate, default, full, not 'huge'"),
    ('backends = ["fibers"]', "backends must be a list of "),
    ('workloads = "hello-cpu"', "workloads must be a list of strings"),
    ('fail_on = ["time:ten"]', "fail_on must be a list of METRIC:PCT%"),
    ("timeout = 0", "timeout must be a number above 0, not 0"),
    ('name = "../up"', "name must be letters, digits"),
    ('[workload."m:f"]\nkind = "fast"', 'workload."m:f": kind must be one of io-bound, cpu-bound'),
    ('[workload."m:f"]\nsizes = "n"', "workload.\"m:f\": unknown key 'sizes' (accepted: kind, size, params, name, "
                                      "description, fail_on)"),
    ('[workload."m:f"]\nparams = { n = [1] }', "params must be a table of numbers, strings or booleans"),
    ('[workload.hello-cpu]\nkind = "cpu-bound"', "a workload table declares a module:function workload"),
    ("profile = ", "not valid TOML"),
])
def test_bad_keys_and_values_name_the_file_the_key_and_what_is_accepted(tmp_path: Path, text: str,
                                                                         message: str) -> None:
    path = write(tmp_path / "pyproject.toml", f"[tool.gilbench]\n{text}\n".replace("[workload.", "[tool.gilbench.workload."))
    with pytest.raises(ConfigError) as refused:
        read_config(path)
    assert str(path) in str(refused.value) and message in str(refused.value)
    if "TOML" not in message:
        assert "[tool.gilbench]" in str(refused.value)


def test_the_command_line_overrides_the_config_and_defaults_fill_the_rest(tmp_path: Path) -> None:
    config = read_config(write(tmp_path / "gilbench.toml", 'profile = "smoke"\nworkers = 2\nfail_on = ["time:5%"]\n'))
    parser = build_parser()
    args = parser.parse_args(["run"])
    apply(config, args, RUN_DEFAULTS)
    assert (args.profile, args.workers, args.scale, args.output) == ("smoke", "2", 1.0, Path("results"))
    args = parser.parse_args(["run", "--profile", "quick", "--workers", "1,4"])
    apply(config, args, RUN_DEFAULTS)
    assert (args.profile, args.workers) == ("quick", "1,4")
    args = parser.parse_args(["compare", "a", "b"])  # compare takes fail_on only
    apply(config, args, only=("fail_on",))
    assert args.fail_on == ["time:5%"] and not hasattr(args, "workers")
    args = parser.parse_args(["compare", "a", "b", "--fail-on", "speedup:20%"])
    apply(config, args, only=("fail_on",))
    assert args.fail_on == ["speedup:20%"]


# --- real runs ----------------------------------------------------------------------------------

SMOKE = ("--profile", "smoke", "--workload", "hello-cpu", "--backend", "sequential", "--no-report", "--no-sampler",
         "--no-experiments")


def manifest(run: Path) -> dict:
    return json.loads((run / "manifest.json").read_text())


@pytest.mark.slow
def test_a_config_drives_a_run_from_a_subfolder_and_the_command_line_overrides_it(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    config = write(project / "pyproject.toml", '''
[tool.gilbench]
profile = "smoke"
workloads = ["hello-cpu"]
backends = ["sequential"]
output = "out"
name = "configured"
''')
    sub = project / "src"
    sub.mkdir()
    done = cli("run", "--no-report", "--no-sampler", "--no-experiments", cwd=sub)
    assert done.returncode == 0, done.stderr
    assert f"config {config}" in done.stderr
    run = manifest(project / "out" / "configured")  # output is relative to the config file's folder
    assert run["config"] == str(config) and run["profile"] == "smoke"
    assert [c["id"] for c in run["cells"]] == [f"hello-cpu/sequential/w1/c{len(os.sched_getaffinity(0))}"]
    done = cli("run", "--no-report", "--no-sampler", "--no-experiments", "--name", "cli", "--backend", "threads",
               "--workers", "1", cwd=sub)
    assert done.returncode == 0, done.stderr
    assert [c["backend"] for c in manifest(project / "out" / "cli")["cells"]] == ["threads"]
    bad = cli("run", "--config", str(write(tmp_path / "other.toml", "worker = 1\n")), cwd=sub)
    assert bad.returncode == 2 and "other.toml: unknown key 'worker'" in bad.stderr and "Traceback" not in bad.stderr


@pytest.mark.slow  # not serial: what is read is which runs are compared, not their verdict (0 or 1)
def test_named_runs_compare_and_a_results_folder_means_its_latest_run(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    for name in ("main", "pr"):
        done = cli("run", *SMOKE, "--name", name, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == str(Path("results") / name)
    assert os.readlink(tmp_path / "results" / "latest") == "pr"
    done = cli("compare", "results/main", "results/pr", cwd=tmp_path)
    assert done.returncode in (0, 1) and "hello-cpu/sequential" in done.stdout, done.stderr
    done = cli("compare", "results/main", "results", "--json", "cmp.json", cwd=tmp_path)
    assert done.returncode in (0, 1), done.stderr
    assert json.loads((tmp_path / "cmp.json").read_text())["cand"] == str((tmp_path / "results" / "pr").resolve())
    done = cli("report", "results", cwd=tmp_path)
    assert done.returncode == 0 and (tmp_path / "results" / "pr" / "report.html").is_file(), done.stderr
    (tmp_path / "empty").mkdir()
    done = cli("compare", "results/main", "empty", cwd=tmp_path)
    assert done.returncode == 2 and "empty: neither a run folder (no manifest.json) nor a results folder" in done.stderr


@pytest.mark.slow
def test_a_name_in_use_needs_force_which_replaces_only_a_run_folder(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    assert cli("run", *SMOKE, "--name", "main", cwd=tmp_path).returncode == 0
    first = manifest(tmp_path / "results" / "main")["created"]
    again = gilbench_here("run", *SMOKE, "--name", "main", cwd=tmp_path)
    assert again.returncode == 2 and "results/main exists; give --force to replace it" in again.stderr
    (tmp_path / "results" / "main" / "keep.txt").write_text("the old run's")
    done = cli("run", *SMOKE, "--name", "main", "--force", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "results" / "main" / "keep.txt").exists()
    assert manifest(tmp_path / "results" / "main")["created"] >= first
    (tmp_path / "results" / "notarun").mkdir()
    for args, message in ((("--name", "notarun", "--force"), "is not a run folder (no manifest.json): not replaced"),
                          (("--name", "../up"), "run name '../up': letters, digits"),
                          (("--force",), "--force replaces the run folder named with --name")):
        done = gilbench_here("run", *SMOKE, *args, cwd=tmp_path)
        assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr, done.stderr
    write(tmp_path / "gilbench.toml", 'name = "main"\n')  # the config's name: --force alone replaces it
    (tmp_path / "results" / "main" / "keep.txt").write_text("the old run's")
    done = cli("run", *SMOKE, "--force", cwd=tmp_path)
    assert done.returncode == 0 and not (tmp_path / "results" / "main" / "keep.txt").exists(), done.stderr
    assert manifest(tmp_path / "results" / "main")["config"] == str((tmp_path / "gilbench.toml").resolve())


def test_a_workloads_own_fail_on_is_read_and_checked(tmp_path):
    from gilbench.bench.plan.config import ConfigError, read_config

    path = tmp_path / "gilbench.toml"
    path.write_text('fail_on = ["time:10%"]\n[workload.hello-cpu]\nfail_on = ["time:5%"]\n'
                    '[workload."m.w:f"]\nkind = "cpu-bound"\nfail_on = ["speedup:20%"]\n')
    config = read_config(path)
    assert config.workload_fail_on == {"hello-cpu": ("time:5%",), "m.w:f": ("speedup:20%",)}
    assert list(config.workload) == ["m.w:f"]  # a table holding only fail_on declares no workload
    path.write_text('[workload.hello-cpu]\nfail_on = ["time:5%"]\nkind = "cpu-bound"\n')
    with pytest.raises(ConfigError, match="holds only fail_on"):
        read_config(path)
    path.write_text('[workload.hello-cpu]\nfail_on = ["speed:5%"]\n')
    with pytest.raises(ConfigError, match="fail_on must be"):
        read_config(path)


def test_a_workloads_own_fail_on_replaces_the_default_for_its_cells():
    import argparse

    from gilbench.bench.cli import _thresholds
    from gilbench.bench.data.thresholds import Threshold

    args = argparse.Namespace(fail_on=["time:10%"], workload_fail_on={"hello-cpu": ("time:5%", "speedup:20%")},
                              declared={})
    thresholds = _thresholds(args)
    assert thresholds.of("hello-cpu") == (Threshold("time", 5.0), Threshold("speedup", 20.0))
    assert thresholds.of("hello-sleep") == (Threshold("time", 10.0),)
