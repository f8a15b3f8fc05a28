import pytest

from tests.conftest import gilbench


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--workload", "nope"], "unknown workload 'nope' (accepted: hello-cpu, hello-sleep)"),
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
    done = gilbench(*args, "--output", str(tmp_path / "r")) if args[0] == "run" else gilbench(*args)
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_unwritable_output_is_a_usage_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    done = gilbench("run", "--profile", "smoke", "--output", str(blocker / "results"))
    assert done.returncode == 2
    assert "cannot write there" in done.stderr


def test_run_help_documents_every_option():
    done = gilbench("run", "--help")
    for option in ("--profile", "--workload", "--backend", "--workers", "--cores", "--output", "--scale", "--timeout"):
        assert option in done.stdout


def test_list_shows_workloads_backends_profiles():
    out = gilbench("list").stdout
    for word in ("hello-cpu", "cpu-bound", "hello-sleep", "io-bound", "threads", "processes", "sequential", "quick"):
        assert word in out
