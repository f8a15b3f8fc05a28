"""A loopback TCP echo server in a process of its own, bounded in connections and lifetime.

Real I/O needs a peer. Running it in the measured process would make its work compete for the GIL
with what is measured, so it is a separate process: ``python -m gilbench.workloads._echo`` binds
127.0.0.1 only (never another interface), prints its port, echoes every byte back, and exits after
``--lifetime`` seconds, ``--max-connections`` accepted connections, or when its standard input
closes (its parent died). ``EchoServer`` starts and stops one; ``round_trip`` is one exchange.
"""

from __future__ import annotations

import argparse
import os
import selectors
import socket
import subprocess
import sys
import threading
import time
from typing import Any

HOST = "127.0.0.1"
#: the variable through which a started server's port reaches the tasks (and their children)
PORT_VARIABLE = "GILBENCH_ECHO_PORT"
DEFAULT_LIFETIME_S = 600.0
DEFAULT_MAX_CONNECTIONS = 100_000


def serve(lifetime_s: float = DEFAULT_LIFETIME_S, max_connections: int = DEFAULT_MAX_CONNECTIONS,
          out: Any = None) -> int:
    """Echo on 127.0.0.1 until the lifetime or the connection budget is spent; return connections served."""
    out = out or sys.stdout
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((HOST, 0))
    listener.listen(256)
    listener.setblocking(False)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, None)
    print(listener.getsockname()[1], file=out, flush=True)

    stop = threading.Event()

    def watch_stdin() -> None:  # our parent holds the other end: EOF means it is gone
        try:
            while sys.stdin.buffer.read(1):
                pass
        except (OSError, ValueError):
            pass
        stop.set()

    if not sys.stdin.isatty():
        threading.Thread(target=watch_stdin, daemon=True).start()
    accepted = 0
    deadline = time.monotonic() + lifetime_s
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.2):
                if key.data is None:  # the listener
                    try:
                        conn, _addr = listener.accept()
                    except BlockingIOError:
                        continue
                    conn.setblocking(False)
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    selector.register(conn, selectors.EVENT_READ, b"")
                    accepted += 1
                    if accepted >= max_connections:
                        selector.unregister(listener)
                        listener.close()
                    continue
                conn = key.fileobj
                try:
                    data = conn.recv(65536)  # type: ignore[union-attr]
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:
                    data = b""
                if not data:
                    selector.unregister(conn)
                    conn.close()  # type: ignore[union-attr]
                    continue
                conn.setblocking(True)  # type: ignore[union-attr]
                try:
                    conn.sendall(data)  # type: ignore[union-attr]
                except OSError:
                    selector.unregister(conn)
                    conn.close()  # type: ignore[union-attr]
                    continue
                conn.setblocking(False)  # type: ignore[union-attr]
            if accepted >= max_connections and len(selector.get_map()) == 0:
                break
    finally:
        for key in list(selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        selector.close()
    return accepted


class EchoServer:
    """Start ``python -m gilbench.workloads._echo`` and stop it on exit; ``port`` is where it listens."""

    def __init__(self, lifetime_s: float = DEFAULT_LIFETIME_S, max_connections: int = DEFAULT_MAX_CONNECTIONS,
                 python: str | None = None, env: dict[str, str] | None = None) -> None:
        self.lifetime_s = lifetime_s
        self.max_connections = max_connections
        self.python = python or sys.executable
        self.env = env
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def __enter__(self) -> "EchoServer":
        self.proc = subprocess.Popen(
            [self.python, "-m", "gilbench.workloads._echo", "--lifetime", str(self.lifetime_s),
             "--max-connections", str(self.max_connections)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=self.env)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.isdigit():
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
            self.stop()
            raise RuntimeError(f"the echo server did not start: {err.strip().splitlines()[-1:] or line!r}")
        self.port = int(line)
        return self

    @property
    def address(self) -> tuple[str, int]:
        return HOST, self.port

    def environment(self) -> dict[str, str]:
        """What a task needs to find this server: ``GILBENCH_ECHO_PORT``."""
        return {PORT_VARIABLE: str(self.port)}

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.stdin:
            try:
                self.proc.stdin.close()  # the server sees EOF and exits
            except OSError:
                pass
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream:
                stream.close()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def port_from_environment() -> int:
    """The port of the server gilbench started for this cell; a clear error when there is none."""
    value = os.environ.get(PORT_VARIABLE, "")
    if not value.isdigit():
        raise RuntimeError(f"no echo server: {PORT_VARIABLE} is not set (gilbench starts one for the cells that "
                           f"need it; by hand: python -m gilbench.workloads._echo, then set {PORT_VARIABLE})")
    return int(value)


def connect(port: int) -> socket.socket:
    """A connection to the echo server on 127.0.0.1, with Nagle's delay off."""
    sock = socket.create_connection((HOST, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def round_trip(sock: socket.socket, payload: bytes) -> None:
    """Send ``payload`` and read the same number of bytes back."""
    sock.sendall(payload)
    remaining = len(payload)
    while remaining:
        chunk = sock.recv(min(remaining, 65536))
        if not chunk:
            raise ConnectionError("the echo server closed the connection")
        remaining -= len(chunk)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gilbench.workloads._echo", description=__doc__.splitlines()[0])
    parser.add_argument("--lifetime", type=float, default=DEFAULT_LIFETIME_S, help="seconds before it exits")
    parser.add_argument("--max-connections", type=int, default=DEFAULT_MAX_CONNECTIONS,
                        help="connections it accepts before it stops listening")
    args = parser.parse_args(argv)
    serve(args.lifetime, args.max_connections)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
