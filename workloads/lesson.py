"""The classic lesson's demonstrations, re-run as checks instead of told as facts.

1. Workers that are not joined print after the main program's "Done!"; joined ones print before it.
2. A global list appended to by 10 threads holds 10 entries; by 10 processes, 0 in the parent
   (each process appends to its own copy of memory).
3. A ``multiprocessing.Queue`` brings the 10 children's process ids back to the parent.

Each check returns a plain dict (name, claim, expected, observed, passed) so that a harness can
store and show it. ``python -m workloads.lesson`` prints them.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
from typing import Any, Callable

WORKERS = 10
#: how long each printing worker waits before it prints: long enough that "Done!" wins the race
#: unless the main program waits for it
PRINT_DELAY_S = 0.2

SHARED: list[int] = []


def _spawn(kind: str, target: Callable[..., Any], args: tuple = ()) -> Any:
    if kind == "threads":
        return threading.Thread(target=target, args=args)
    if kind == "processes":
        return multiprocessing.Process(target=target, args=args)
    raise ValueError(f"unknown kind {kind!r} (accepted: threads, processes)")


def _greet_later(n: int) -> None:
    import time

    time.sleep(PRINT_DELAY_S)
    sys.stdout.write(f"Hello from {n}\n")  # one write: print() writes text and newline apart
    sys.stdout.flush()


def _print_order_main(kind: str, joined: bool, workers: int = 3) -> None:
    """What the lesson's script does; run in a child interpreter so that its real stdout is read."""
    started = [_spawn(kind, _greet_later, (n,)) for n in range(workers)]
    for worker in started:
        worker.start()
    if joined:
        for worker in started:
            worker.join()
    print("Done!", flush=True)
    for worker in started:  # the lesson's unjoined workers still finish; never leave them behind
        worker.join()


def _start_print_order(kind: str, joined: bool) -> subprocess.Popen:
    code = f"from gilbench.workloads.lesson import _print_order_main as m; m({kind!r}, {joined!r})"
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _read_print_order(kind: str, joined: bool, child: subprocess.Popen) -> dict[str, Any]:
    try:
        stdout, stderr = child.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, child.args, stdout, stderr)
    out = stdout.splitlines()
    done_at = out.index("Done!") if "Done!" in out else -1
    greetings = sum(1 for line in out if line.startswith("Hello from"))
    if joined:
        expected, passed = "after every greeting", done_at == len(out) - 1 and greetings == 3
    else:
        expected, passed = "before every greeting", done_at == 0 and greetings == 3
    state = "joined" if joined else "unjoined"
    return {
        "name": f"print order, {state} {kind}",
        "claim": f"{state.capitalize()} {kind} print {'before' if joined else 'after'} the main program's \"Done!\"",
        "expected": f'"Done!" {expected}',
        "observed": " | ".join(out),
        "passed": passed,
    }


def print_orders(cases: list[tuple[str, bool]]) -> list[dict[str, Any]]:
    """Where "Done!" lands among the workers' greetings, read from real children's stdout, one child per
    (kind, joined) case, all at once: each waits PRINT_DELAY_S on its own, so together they take one delay."""
    children = [(kind, joined, _start_print_order(kind, joined)) for kind, joined in cases]
    try:
        return [_read_print_order(kind, joined, child) for kind, joined, child in children]
    finally:
        for _, _, child in children:
            if child.poll() is None:
                child.kill()
                child.wait()


def print_order(kind: str, joined: bool) -> dict[str, Any]:
    """One case of :func:`print_orders`."""
    return print_orders([(kind, joined)])[0]


def _append(n: int) -> None:
    SHARED.append(n)


def shared_list(kind: str) -> dict[str, Any]:
    """How many entries a global list holds in the parent after 10 workers each appended one."""
    SHARED.clear()
    workers = [_spawn(kind, _append, (n,)) for n in range(WORKERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    observed = len(SHARED)
    expected = WORKERS if kind == "threads" else 0
    SHARED.clear()
    return {
        "name": f"shared list, {kind}",
        "claim": f"{WORKERS} {kind} append to one global list: "
        + ("they share memory" if kind == "threads" else "each process appends to its own copy"),
        "expected": f"{expected} entries in the parent",
        "observed": f"{observed} entries in the parent",
        "passed": observed == expected,
    }


def _report_pid(queue: Any) -> None:
    queue.put(os.getpid())


def queue_pids() -> dict[str, Any]:
    """A multiprocessing.Queue brings each child's process id back to the parent."""
    queue = multiprocessing.Queue()
    workers = [multiprocessing.Process(target=_report_pid, args=(queue,)) for _ in range(WORKERS)]
    for worker in workers:
        worker.start()
    pids = [queue.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join()
    queue.close()
    queue.join_thread()
    children = {w.pid for w in workers}
    passed = len(set(pids)) == WORKERS and set(pids) == children and os.getpid() not in pids
    return {
        "name": "queue brings pids back",
        "claim": f"A multiprocessing.Queue carries results from {WORKERS} processes back to the parent",
        "expected": f"{WORKERS} distinct child pids, none the parent's ({os.getpid()})",
        "observed": f"{len(set(pids))} distinct pids: {', '.join(map(str, sorted(pids)))}",
        "passed": passed,
    }


def run_all() -> list[dict[str, Any]]:
    """Every demonstration, in the lesson's order, each with the start method it used."""
    method = multiprocessing.get_start_method()
    results = [
        *print_orders([("threads", False), ("threads", True), ("processes", False), ("processes", True)]),
        shared_list("threads"),
        shared_list("processes"),
        queue_pids(),
    ]
    for result in results:
        result["start_method"] = method
    return results


if __name__ == "__main__":
    demos = run_all()
    if "--json" in sys.argv:
        print(json.dumps(demos, indent=2))
    else:
        for demo in demos:
            print(f"[{'ok' if demo['passed'] else 'FAILED'}] {demo['name']}: {demo['observed']}")
    sys.exit(0 if all(d["passed"] for d in demos) else 1)
