import pytest

from tests.conftest import gilbench, gilbench_here


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--workload", "nope"], "unknown workload 'nope' (accepted: "),  # the list grows with workloads/
        (["run", "--backend", "fibers"], "unknown backend 'fibers'"),
        (["run", "--workers", "0"], "--workers must be whole numbers of at least 1"),
        (["run", "--workers", "two"], "--workers must be comma-separated whole numbers"),
        (["run", "--cores", "999"], "cores must be between 1 and"),
        (["run", "--scale", "-1"], "--scale must be above 0"),
        (["run", "--profile", "huge"], "invalid choice: 'huge'"),
        (["report", "/nonexistent/run"], "no such run folder"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_2(args, message, tmp_path):
    """In this process (``bench.cli.main``): an exception would fail the test, not hide in a traceback."""
    done = gilbench_here(*args, "--output", str(tmp_path / "r")) if args[0] == "run" else gilbench_here(*args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_unwritable_output_is_a_usage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = gilbench_here("run", "--profile", "smoke", "--output", str(blocker / "results"))
    assert done.returncode == 2
    assert "cannot write there" in done.stderr


def test_run_help_documents_every_option():
    done = gilbench_here("run", "--help")
    assert done.returncode == 0
    for option in ("--profile", "--workload", "--backend", "--workers", "--cores", "--output", "--scale", "--timeout"):
        assert option in done.stdout


def test_list_shows_workloads_backends_profiles():
    out = gilbench_here("list").stdout
    for word in ("hello-cpu", "cpu-bound", "hello-sleep", "io-bound", "threads", "processes", "sequential", "quick"):
        assert word in out


def _run_folder_with(tmp_path, manifest_text):
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(manifest_text)
    return run


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"cells": [ {"id": ', "not readable JSON"),
        ("\x00\x01 binary", "not readable JSON"),
        ('{"benchmarks": [], "version": "1.0"}', "not a gilbench manifest"),
    ],
)
def test_report_of_a_bad_run_folder_is_a_clear_error(tmp_path, content, message):
    done = gilbench_here("report", str(_run_folder_with(tmp_path, content)))
    assert done.returncode == 2 and message in done.stderr and "Traceback" not in done.stderr


def test_report_given_a_file_says_so(tmp_path):
    file = tmp_path / "suite.json"
    file.write_text("{}")
    done = gilbench_here("report", str(file))
    assert done.returncode == 2 and "a file, not a run folder" in done.stderr


@pytest.mark.slow
def test_report_with_a_corrupt_pyperf_suite_is_a_clear_error(smoke_run, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(smoke_run, copy)
    (copy / "suite.json").write_text('{"version": "1.0", "benchmarks": [{"runs": "nonsense"}]}')
    done = gilbench_here("report", str(copy))
    assert done.returncode == 2 and "not a readable pyperf suite" in done.stderr and "Traceback" not in done.stderr


def test_workload_module_errors_are_usage_errors(tmp_path):
    empty = tmp_path / "empty_mod.py"
    empty.write_text("X = 1\n")
    done = gilbench_here("run", "--workload-module", str(empty), "--output", str(tmp_path / "r"))
    assert done.returncode == 2 and "declares no Workload" in done.stderr
    done = gilbench_here("run", "--workload-module", str(tmp_path / "missing.py"), "--output", str(tmp_path / "r"))
    assert done.returncode == 2 and "no such file" in done.stderr


def test_a_usage_error_from_the_command_itself_is_one_line_exit_2_and_no_traceback(tmp_path):
    """The tests above call the CLI in this process; this one runs `python -m gilbench` as a user does."""
    done = gilbench("run", "--workload", "nope", "--output", str(tmp_path / "r"))
    assert done.returncode == 2, done.stderr
    assert "unknown workload 'nope' (accepted: " in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())
    done = gilbench("list")
    assert done.returncode == 0 and "hello-cpu" in done.stdout
