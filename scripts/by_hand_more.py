"""Hand-written cross-checks of issue 9's figures: no gilbench code at all, only the standard library.

    .venv/bin/python scripts/by_hand_more.py [--rounds 5] [--part c-work|convoy|crossover]

- c-work: sha256 over 1 MiB, zlib.compress of 256 KiB of text, a json round trip and re.findall, each
  8 tasks run sequentially and on 2 threading.Thread workers, in a fresh interpreter per timing, rounds
  interleaved: the median speedup of 2 threads.
- convoy: a loopback echo server in its own process; one thread times 300 round trips while 0 or 2
  threads spin pure-Python arithmetic beside it (CPython's default 5 ms switch interval): p50 and p99.
- crossover: 0.4 s of pure-Python work cut into tasks of 10 us .. 100 ms, on a warm ThreadPoolExecutor
  and a warm ProcessPoolExecutor of 2 workers, chunksize 1: where processes start to win. The loop body
  matters: with `% 1000003` instead of `& 0xFFFF` the thread pool took 0.68 s instead of 0.46 s for 4000
  tasks of 100 us here (sequentially both 0.41 s), which moved the crossover from ~240 us to ~90 us.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

C_WORK = r"""
import hashlib, json, re, sys, threading, time, zlib
kind, mode = sys.argv[1], sys.argv[2]
data = bytes(range(256)) * 4096                              # 1 MiB
text = (" ".join(f"word{i % 97} value={i * 7919 % 10007}" for i in range(20000))).encode()[:262144]
doc = {"items": [{"id": i, "name": f"n{i}", "tags": ["a", "b", str(i)], "v": i / 7} for i in range(2000)]}
corpus = " ".join(f"user{i}@host{i % 13}.example.org said {i * 31 % 977}" for i in range(40000))
pattern = re.compile(r"(\w+)@(\w+)\.example\.org said (\d+)")
work = {
    "sha256": lambda: [hashlib.sha256(data).digest() for _ in range(40)],
    "zlib": lambda: [zlib.compress(text, 6) for _ in range(8)],
    "json": lambda: [json.loads(json.dumps(doc)) for _ in range(8)],
    "re": lambda: [len(pattern.findall(corpus)) for _ in range(2)],
}[kind]
tasks = 8
t0 = time.perf_counter()
if mode == "seq":
    for _ in range(tasks):
        work()
else:
    ws = [threading.Thread(target=lambda: [work() for _ in range(tasks // 2)]) for _ in range(2)]
    for w in ws: w.start()
    for w in ws: w.join()
print(time.perf_counter() - t0)
"""

ECHO = r"""
import socket, sys, threading
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(8)
print(srv.getsockname()[1], flush=True)
def serve(c):
    while (d := c.recv(65536)):
        c.sendall(d)
threading.Thread(target=lambda: sys.stdin.read() or srv.close(), daemon=True).start()
while True:
    try:
        c, _ = srv.accept()
    except OSError:
        break
    c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"""

CONVOY = r"""
import socket, statistics, sys, threading, time
port, k = int(sys.argv[1]), int(sys.argv[2])
stop = False
def spin():
    x = 0
    while not stop:
        for i in range(1000):
            x = (x * 31 + i) % 1000003
spinners = [threading.Thread(target=spin) for _ in range(k)]
for s in spinners: s.start()
time.sleep(0.05)
c = socket.create_connection(("127.0.0.1", port)); c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
lat = []
for _ in range(300):
    t = time.perf_counter(); c.sendall(b"x" * 64); got = 0
    while got < 64:
        got += len(c.recv(64 - got))
    lat.append(time.perf_counter() - t)
stop = True
for s in spinners: s.join()
lat.sort()
print(lat[len(lat) // 2] * 1e3, lat[int(len(lat) * 0.99) - 1] * 1e3)
"""

CROSSOVER = r"""
import concurrent.futures as cf, statistics, sys, time
def spin(n):  # the same loop body as experiments/crossover.py: the crossover moves with the body
    x = 0
    for i in range(n):
        x = (x * 31 + i) & 0xFFFF
    return x
if __name__ == "__main__":
    t = time.perf_counter(); spin(200000); per_us = 200000 / ((time.perf_counter() - t) * 1e6)
    total_us = 400000
    with cf.ThreadPoolExecutor(2) as tp, cf.ProcessPoolExecutor(2) as pp:
        list(pp.map(spin, [1] * 4)); list(tp.map(spin, [1] * 4))
        for task_us in (10, 100, 1000, 10000, 100000):
            n, iters = total_us // task_us, max(1, round(task_us * per_us))
            row = []
            for pool in (tp, pp):
                times = []
                for _ in range(3):
                    t = time.perf_counter(); list(pool.map(spin, [iters] * n, chunksize=1))
                    times.append(time.perf_counter() - t)
                row.append(statistics.median(times))
            print(f"task {task_us:>6} us x {n:>5}: threads {row[0]:.3f} s, processes {row[1]:.3f} s, "
                  f"threads/processes {row[0] / row[1]:.2f}")
"""


def run(code: str, *args: str) -> str:
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, check=True).stdout


def c_work(rounds: int) -> None:
    for kind in ("sha256", "zlib", "json", "re"):
        seq, thr = [], []
        for _ in range(rounds):
            seq.append(float(run(C_WORK, kind, "seq")))
            thr.append(float(run(C_WORK, kind, "threads")))
        print(f"{kind}: 8 tasks, sequential {statistics.median(seq) * 1e3:.0f} ms, "
              f"2 threads {statistics.median(seq) / statistics.median(thr):.2f}x  (medians of {rounds} rounds)")


def convoy(rounds: int) -> None:
    server = subprocess.Popen([sys.executable, "-c", ECHO], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = server.stdout.readline().strip()  # type: ignore[union-attr]
        for k in (0, 2):
            p50s, p99s = [], []
            for _ in range(rounds):
                p50, p99 = map(float, run(CONVOY, port, str(k)).split())
                p50s.append(p50)
                p99s.append(p99)
            print(f"convoy: {k} CPU threads beside the I/O thread: p50 {statistics.median(p50s):.3f} ms, "
                  f"p99 {statistics.median(p99s):.3f} ms  (300 round trips, medians of {rounds} processes)")
    finally:
        server.stdin.close()  # type: ignore[union-attr]
        server.kill()
        server.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--part", choices=("c-work", "convoy", "crossover"), action="append")
    args = parser.parse_args()
    parts = args.part or ["c-work", "convoy", "crossover"]
    if "c-work" in parts:
        c_work(args.rounds)
    if "convoy" in parts:
        convoy(args.rounds)
    if "crossover" in parts:
        print(run(CROSSOVER), end="")


if __name__ == "__main__":
    main()
