"""Fault injection: a run with raising, hanging and killed workloads, then an interrupted run and
its resume; checks the results, the report and the process table, and prints what it found.

    .venv/bin/python scripts/fault_injection.py [--keep DIR]

Exits 1 if any check fails. Takes about a minute on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

FAULTS = str(Path(__file__).resolve().parent.parent / "tests" / "fault_workloads.py")
checks: list[tuple[str, bool, str]] = []


def check(what: str, ok: bool, observed: object) -> None:
    checks.append((what, bool(ok), str(observed)))


def gilbench(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gilbench", *args], capture_output=True, text=True, **kw)


def survivors(marker: str) -> list[str]:
    """Processes that mention the run folder, and zombies anywhere, with their parents."""
    found = []
    for proc in psutil.process_iter(["pid", "ppid", "name", "cmdline", "status"]):
        try:
            if marker in " ".join(proc.info["cmdline"] or []) or proc.info["status"] == psutil.STATUS_ZOMBIE:
                found.append(f"pid {proc.info['pid']} ({proc.info['name']}, {proc.info['status']}, "
                             f"parent {proc.info['ppid']})")
        except psutil.Error:
            pass
    return found


def faulty_matrix(root: Path) -> None:
    t0 = time.monotonic()
    done = gilbench("run", "--profile", "smoke", "--workload-module", FAULTS,
                    "--workload", "fault-raise,fault-hang,fault-kill,hello-sleep", "--workers", "2",
                    "--timeout", "5", "--output", str(root / "faults"), timeout=600)
    run = (root / "faults" / "latest").resolve()
    cells = json.loads((run / "manifest.json").read_text())["cells"]
    by = {}
    for c in cells:
        by.setdefault(c["workload"], []).append(c)
    check("faulty run exits 1", done.returncode == 1, f"exit {done.returncode}, {time.monotonic() - t0:.0f} s")
    check("its last line summarizes", "failed" in done.stderr.splitlines()[-1], done.stderr.splitlines()[-1])
    raised = [c["error"].get("error_type") + ": " + c["error"]["message"] for c in by["fault-raise"]]
    check("raising workload: every backend's cell failed with the error",
          all(c["status"] == "failed" for c in by["fault-raise"]) and all("RuntimeError: task 1" in r for r in raised),
          "; ".join(f"{c['backend']}: {c['status']}" for c in by["fault-raise"]))
    check("hanging workload: every cell timed out", all(c["status"] == "timeout" for c in by["fault-hang"]),
          "; ".join(f"{c['backend']}: {c['status']}" for c in by["fault-hang"]))
    check("killed workload: recorded with signal 9",
          all(c["status"] == "failed" and c["error"].get("how") == "signal" for c in by["fault-kill"]),
          "; ".join(f"{c['backend']}: {c['error'].get('message', '')[:50]}" for c in by["fault-kill"]))
    check("healthy workload in the same run: all ok", all(c["status"] == "ok" for c in by["hello-sleep"]),
          "; ".join(f"{c['id']}: {c['status']}" for c in by["hello-sleep"]))
    html = (run / "report.html").read_text()
    check("report lists the failed cells", f"{len(cells) - len(by['hello-sleep'])} cells did not produce a timing" in html,
          "banner present" if "did not produce a timing" in html else "no banner")
    check("no process left after the faulty run", not survivors(str(run)), survivors(str(run)) or "none")


def interrupted(root: Path) -> None:
    out = root / "interrupt"
    proc = subprocess.Popen([sys.executable, "-m", "gilbench", "run", "--profile", "smoke", "--workload", "hello-cpu",
                             "--workers", "1,2,3,4", "--scale", "10", "--output", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    manifest = None
    for _ in range(600):
        found = list(out.glob("2*/manifest.json")) if out.exists() else []
        if found:
            manifest = found[0]
            if any(c["status"] == "ok" for c in json.loads(manifest.read_text())["cells"]):
                break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    state = json.loads(manifest.read_text())
    done_before = {c["id"]: c["started"] for c in state["cells"] if c["status"] == "ok"}
    check("Ctrl-C exits 130", proc.returncode == 130, f"exit {proc.returncode}")
    check("finished cells on disk, run marked interrupted", state["status"] == "interrupted" and done_before,
          f"{state['status']}, {len(done_before)} of {len(state['cells'])} cells ok")
    check("report of the finished part has the incomplete banner",
          "Incomplete run" in (manifest.parent / "report.html").read_text(), "banner present")
    check("no process left after the interrupt", not survivors(str(manifest.parent)), survivors(str(manifest.parent)) or "none")
    again = gilbench("run", "--resume", str(manifest.parent), timeout=600)
    state = json.loads(manifest.read_text())
    kept = all(c["started"] == done_before[c["id"]] for c in state["cells"] if c["id"] in done_before)
    check("--resume finishes without repeating finished cells",
          again.returncode == 0 and state["status"] == "complete" and kept,
          f"exit {again.returncode}, {state['status']}, finished cells kept: {kept}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="keep the run folders here instead of a temporary folder")
    args = parser.parse_args()
    root = Path(args.keep or tempfile.mkdtemp(prefix="gilbench-faults-"))
    try:
        faulty_matrix(root)
        interrupted(root)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    width = max(len(c[0]) for c in checks)
    for what, ok, observed in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {what:<{width}}  {observed}")
    failed = sum(1 for c in checks if not c[1])
    print(f"{len(checks) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
