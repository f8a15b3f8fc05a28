"""The workloads of issue 9: their semantics on tiny sizes, the tcp-echo fixture, and one physical fact."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import threading
import time
import uuid
import zlib
from pathlib import Path

import psutil
import pytest

from gilbench import workloads
from gilbench.bench.measure.fixtures import cell_fixture
from gilbench.bench.measure.probe import probe
from gilbench.workloads import _corpus, compression, fileio, hashing, jsonwork, mixed, regex
from gilbench.workloads._echo import PORT_VARIABLE, EchoServer
from gilbench.workloads.hello import hello_cpu

from tests.conftest import gilbench

NEW = ("sha256", "zlib", "json", "re", "tcp-echo", "file-io", "mixed-0", "mixed-25", "mixed-50", "mixed-75", "mixed-100")
ECHO_MODULE = "gilbench.workloads._echo"


def test_every_new_workload_is_declared_with_a_size_parameter_and_a_gil_expectation():
    found = workloads.all_workloads()
    for name in NEW:
        w = found[name]
        assert w.size_param and w.size_param in w.params, name
        assert "GIL" in w.description, name
    assert {found[n].kind for n in ("sha256", "zlib", "json", "re")} == {"cpu-bound"}
    assert found["tcp-echo"].kind == found["file-io"].kind == found["mixed-0"].kind == "io-bound"
    for percent in (0, 25, 50, 75, 100):
        w = found[f"mixed-{percent}"]
        assert w.params["cpu_fraction"] == percent / 100 and w.size_param == "ms"
        assert w.kind == ("io-bound" if percent == 0 else "cpu-bound")
    assert found["tcp-echo"].fixture is not None and found["tcp-echo"].async_func is not None
    assert all(found[n].fixture is None for n in NEW if n != "tcp-echo")


def test_sha256_chains_its_rounds_over_the_buffer_and_is_deterministic():
    digest = b""
    for _ in range(3):
        digest = hashlib.sha256(digest + hashing.BUFFER).digest()
    assert hashing.sha256_rounds(0, rounds=3) == hashing.sha256_rounds(7, rounds=3) == digest.hex()[:16]
    assert hashing.sha256_rounds(0, rounds=2) != digest.hex()[:16]
    assert len(hashing.BUFFER) == 1 << 20


def test_zlib_compresses_text_like_data_and_checks_its_round_trip(monkeypatch):
    length = compression.compress_rounds(0, rounds=1)
    assert length == compression.compress_rounds(5, rounds=2) == len(zlib.compress(compression.data(), 6))
    assert len(compression.data()) == 256 * 1024
    # text-like: compresses well, but not as a repeated chunk would (which shrinks to almost nothing)
    assert 0.1 < length / len(compression.data()) < 0.5
    monkeypatch.setattr(compression.zlib, "decompress", lambda data: b"other bytes")
    with pytest.raises(ValueError, match="round trip"):
        compression.compress_rounds(0, rounds=1)


def test_json_round_trip_gives_back_an_equal_document():
    assert jsonwork.make_document() == jsonwork.document()  # deterministic, built the same way every process
    assert json.loads(json.dumps(jsonwork.document())) == jsonwork.document()
    assert jsonwork.json_round_trips(0, rounds=2) == len(json.dumps(jsonwork.document()))
    users = jsonwork.document()["users"]
    assert len(users) == 1000 and isinstance(users[0]["address"]["geo"][0], float)


def test_regex_counts_exactly_the_numbers_and_addresses_the_corpus_holds():
    tokens = _corpus.tokens(regex.TOKENS)
    expected = sum(1 for t in tokens if _corpus.is_number(t) or _corpus.is_address(t))
    assert regex.count_matches(0, rounds=1) == regex.count_matches(3, rounds=2) == expected
    assert sum(map(_corpus.is_number, tokens)) > 100 and sum(map(_corpus.is_address, tokens)) > 100
    assert _corpus.text(regex.TOKENS) == regex.text() == " ".join(tokens)


def _leftovers(root: Path) -> list[Path]:
    return sorted(root.glob(f"{fileio.PREFIX}*"))


def test_file_io_writes_reads_back_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(fileio.tempfile, "tempdir", str(tmp_path))
    assert fileio.file_io(0, files=3, kib=2) == 3 * 2 * 1024
    assert fileio.file_io(1, files=2, kib=1, fsync=0) == 2 * 1024
    assert _leftovers(tmp_path) == []


def test_file_io_removes_its_folder_when_writing_fails(tmp_path, monkeypatch):
    monkeypatch.setattr(fileio.tempfile, "tempdir", str(tmp_path))
    made = []
    real_mkdtemp = fileio.tempfile.mkdtemp

    def mkdtemp(**kwargs):
        made.append(real_mkdtemp(**kwargs))
        return made[-1]

    def fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.tempfile, "mkdtemp", mkdtemp)
    monkeypatch.setattr(fileio.os, "fsync", fsync)
    with pytest.raises(OSError, match="No space"):
        fileio.file_io(0, files=3, kib=1)
    assert len(made) == 1 and Path(made[0]).parent == tmp_path and not Path(made[0]).exists()
    assert _leftovers(tmp_path) == []


def test_file_io_catches_bytes_that_come_back_different(tmp_path, monkeypatch):
    monkeypatch.setattr(fileio.tempfile, "tempdir", str(tmp_path))
    real_content = fileio._content
    calls = []

    def content(n, i, kib):  # what is written, then something else when it is checked
        calls.append(i)
        return real_content(n, i, kib) if len(calls) <= 2 else real_content(n + 1, i, kib)

    monkeypatch.setattr(fileio, "_content", content)
    with pytest.raises(ValueError, match="other bytes"):
        fileio.file_io(0, files=2, kib=1)
    assert _leftovers(tmp_path) == []


def _others_share(f) -> float:
    """Run ``f``; the share of all CPUs that other processes kept busy meanwhile (as the runner measures it)."""
    me = psutil.Process()
    busy0, own0, wall0 = psutil.cpu_times(), me.cpu_times(), time.monotonic()
    f()
    busy1, own1, wall = psutil.cpu_times(), me.cpu_times(), time.monotonic() - wall0

    def busy(t):
        return sum(t) - t.idle - getattr(t, "iowait", 0.0)

    others = (busy(busy1) - busy(busy0)) - ((own1.user + own1.system) - (own0.user + own0.system))
    return max(0.0, others) / (wall * (psutil.cpu_count() or 1))


def _mixed_50(ms: float) -> tuple[float, float]:
    """(thread CPU seconds, wall seconds) of one mixed-50 task of ``ms``."""
    wall0, cpu0 = time.perf_counter(), time.thread_time()
    assert mixed.mixed(3, cpu_fraction=0.5, ms=ms).startswith("mixed 3")
    return time.thread_time() - cpu0, time.perf_counter() - wall0


def test_mixed_50_computes_for_exactly_half_its_nominal_time_whatever_the_load():
    cpu, wall = _mixed_50(100.0)
    assert 0.05 <= cpu < 0.065, cpu  # overshoot: at most one check interval and the sleep call
    assert wall >= 0.1  # the CPU part, then the sleep: at least the nominal duration


@pytest.mark.serial
def test_mixed_50_spends_about_half_its_time_on_the_cpu():
    """Other processes stretch the CPU part's wall time (it waits for a core): an attempt during which
    they kept more than a quarter of the CPUs busy does not count; with no quiet attempt, a skip."""
    shares, ratios = [], []
    for _ in range(3):
        measured = []
        shares.append(_others_share(lambda: measured.append(_mixed_50(100.0))))
        cpu, wall = measured[0]
        ratios.append(cpu / wall)
        if shares[-1] < 0.25:
            assert 0.3 < ratios[-1] < 0.7, (cpu, wall)
            return
    pytest.skip(f"other processes kept the CPUs busy ({', '.join(f'{s:.0%}' for s in shares)}); "
                f"CPU/wall {', '.join(f'{r:.2f}' for r in ratios)}")


def test_mixed_counts_its_own_thread_cpu_so_contention_does_not_shorten_the_work():
    """A spin for 60 ms of CPU next to a thread that competes for the GIL still uses 60 ms of CPU."""
    stop = threading.Event()

    def compete():
        while not stop.is_set():
            hello_cpu(0, units=1)

    rival = threading.Thread(target=compete)
    rival.start()
    try:
        cpu0 = time.thread_time()
        mixed.spin(0.06)
        used = time.thread_time() - cpu0
    finally:
        stop.set()
        rival.join()
    assert 0.06 <= used < 0.12


def test_mixed_extremes_and_the_async_variant():
    cpu0 = time.thread_time()
    mixed.mixed(0, cpu_fraction=0.0, ms=30.0)
    assert time.thread_time() - cpu0 < 0.015
    cpu0 = time.thread_time()
    asyncio.run(mixed.mixed_async(0, cpu_fraction=1.0, ms=30.0))
    assert time.thread_time() - cpu0 >= 0.03
    with pytest.raises(ValueError, match="cpu_fraction"):
        mixed.mixed(0, cpu_fraction=1.5, ms=1.0)


def _echo_servers(marker: str | None = None) -> list[psutil.Process]:
    """Running echo servers (those whose environment holds ``marker``, if given)."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if ECHO_MODULE in " ".join(proc.info["cmdline"] or ()) and proc.status() != psutil.STATUS_ZOMBIE:
                if marker is None or proc.environ().get("GILBENCH_TEST_MARK") == marker:
                    found.append(proc)
        except psutil.Error:
            continue
    return found


def test_tcp_echo_fixture_serves_the_tasks_on_loopback_only_and_ends(monkeypatch):
    w = workloads.get("tcp-echo")
    with cell_fixture(w) as fixture:
        assert not fixture.error and set(fixture.environment) == {PORT_VARIABLE}
        port = int(fixture.environment[PORT_VARIABLE])
        assert len(fixture.processes) == 1
        server = fixture.processes[0]
        assert ECHO_MODULE in " ".join(server.cmdline())
        listening = [c for c in server.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
        assert [(c.laddr.ip, c.laddr.port) for c in listening] == [("127.0.0.1", port)]
        monkeypatch.setenv(PORT_VARIABLE, str(port))
        params = w.resolve({"round_trips": 20, "payload": 100})
        assert w.task(params)(2) == 20 * 100
        assert asyncio.run(w.async_task(params)(3)) == 20 * 100
        assert fixture.cpu_seconds() > 0  # the server's CPU time so far (its start-up at least): the cell's own
        assert str(port) not in json.dumps(params)
    assert not server.is_running() or server.status() == psutil.STATUS_ZOMBIE
    assert fixture.cpu_seconds() > 0  # the last reading outlives the process


def test_tcp_echo_says_clearly_when_no_server_was_started(monkeypatch):
    monkeypatch.delenv(PORT_VARIABLE, raising=False)
    with pytest.raises(RuntimeError, match="no echo server"):
        workloads.get("tcp-echo").task({"round_trips": 1, "payload": 8})(0)


def test_echo_server_exits_by_itself_when_its_stdin_closes():
    server = EchoServer(lifetime_s=60)
    with server:
        assert server.proc is not None and server.proc.stdin is not None
        server.proc.stdin.close()  # what the runner's death looks like to the server
        assert server.proc.wait(timeout=10) == 0


def test_a_fixture_that_fails_to_start_becomes_the_cells_error():
    def broken():
        raise RuntimeError("no port free")

    w = workloads.Workload("broken", "io-bound", hello_cpu, fixture=broken)
    with cell_fixture(w) as fixture:
        assert "no port free" in fixture.error and fixture.environment == {}
    with cell_fixture(workloads.get("sha256")) as fixture:  # no fixture: nothing to add
        assert fixture.environment == {} and fixture.processes == [] and fixture.cpu_seconds() == 0.0


def test_probe_times_a_workload_with_a_fixture_inside_its_fixture():
    found = probe({"tcp-echo": {"params": {"round_trips": 5, "payload": 8}, "module": None}}, limit=30)
    assert 0 < found["tcp-echo"] < 5


def _thread_speedup(task, tries: int = 3) -> float:
    """Two tasks one after the other over the same two tasks on two threads: the best time of each,
    tried in turn so that both see the same conditions."""
    def threaded():
        threads = [threading.Thread(target=task, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    best = {"sequential": float("inf"), "threaded": float("inf")}
    for _ in range(tries):
        for name, run in (("sequential", lambda: (task(0), task(1))), ("threaded", threaded)):
            t0 = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best["sequential"] / best["threaded"]


@pytest.mark.slow
@pytest.mark.serial
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) < 2,
                    reason="needs two CPUs")
@pytest.mark.skipif(not getattr(sys, "_is_gil_enabled", lambda: True)(), reason="a fact of GIL builds")
def test_threads_scale_sha256_but_not_pure_python_with_the_gil():
    """hashlib releases the GIL while it hashes; a pure-Python loop never does.

    Two threads need two free CPUs to show it: an attempt during which other processes kept more
    than a quarter of the CPUs busy does not count, and when no attempt was quiet the test is skipped.
    """
    hashing.sha256_rounds(0, rounds=1)
    measured = {}

    def attempt():
        measured["sha"] = _thread_speedup(lambda i: hashing.sha256_rounds(i, rounds=25))
        measured["pure"] = _thread_speedup(lambda i: hello_cpu(i, units=30))

    shares = []
    for _ in range(3):
        shares.append(_others_share(attempt))
        if shares[-1] < 0.25:
            break
    else:
        pytest.skip(f"other processes kept the CPUs busy ({', '.join(f'{s:.0%}' for s in shares)})")
    assert measured["sha"] > 1.3, measured
    assert measured["pure"] < 1.3, measured


@pytest.mark.slow
def test_tcp_echo_runs_end_to_end_through_the_harness_and_leaves_no_server(tmp_path, monkeypatch):
    marker = uuid.uuid4().hex  # the run's echo servers inherit it: other runs' servers are not ours
    monkeypatch.setenv("GILBENCH_TEST_MARK", marker)
    done = gilbench("run", "--profile", "smoke", "--no-experiments", "--no-report", "--workload", "tcp-echo", "--output",
                    str(tmp_path), timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    manifest = json.loads((tmp_path / "latest" / "manifest.json").read_text(encoding="utf-8"))
    cells = manifest["cells"]
    assert cells and all(c["workload"] == "tcp-echo" and c["status"] == "ok" for c in cells), cells
    assert all(set(c["params"]) == {"round_trips", "payload"} for c in cells)  # no port among the params
    deadline = time.monotonic() + 5
    while _echo_servers(marker) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _echo_servers(marker) == []


BROKEN_FIXTURE = '''
import contextlib
from gilbench.workloads import Workload

@contextlib.contextmanager
def no_server():
    raise RuntimeError("no port free")
    yield {}

def task(n):
    return n

BROKEN = Workload("needs-server", "io-bound", task, fixture=no_server)
'''


@pytest.mark.slow
def test_a_cell_whose_fixture_fails_is_failed_with_the_reason_and_the_run_goes_on(tmp_path):
    module = tmp_path / "broken_fixture.py"
    module.write_text(BROKEN_FIXTURE, encoding="utf-8")
    done = gilbench("run", "--profile", "smoke", "--no-experiments", "--workload-module", str(module), "--workload",
                    "needs-server,noop",
                    "--backend", "sequential", "--output", str(tmp_path / "r"), timeout=120)
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    cells = json.loads((tmp_path / "r" / "latest" / "manifest.json").read_text(encoding="utf-8"))["cells"]
    by_workload = {c["workload"]: c for c in cells}
    assert by_workload["needs-server"]["status"] == "failed"
    assert "no port free" in by_workload["needs-server"]["error"]["message"]
    assert by_workload["noop"]["status"] == "ok"
