"""tcp-echo: real network I/O on loopback, round trips against an echo server in a process of its own.

Each task opens one connection to the echo server (``_echo``), sends ``payload`` bytes and reads them
back ``round_trips`` times, and closes it. While a thread waits in ``recv`` it releases the GIL, so
the tasks overlap in threads (and in asyncio, whose variant uses ``asyncio.open_connection``); the
Python steps between the system calls hold it. The server is the workload's ``fixture``: the harness
starts it once per cell, outside every measured process (its work must not compete for the GIL with
what is measured), and the tasks find its port in ``GILBENCH_ECHO_PORT``, never in their params.

Sizing (CPython 3.11, a 2-core x86-64 VM, ``time.perf_counter``): a round trip of 64 bytes takes
~60-90 us when the server runs on another core than the task (a wake-up across cores; ~10 us on the
same core), so the default 750 round trips take ~45-65 ms, the task's thread on the CPU for about
40 % of it. The async variant takes ~25 % longer (the event loop's own steps).
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from ._echo import HOST, EchoServer, connect, port_from_environment, round_trip
from .workload import Workload

#: the server outlives any cell (a cell's processes take seconds to a few minutes) but not a lost run
LIFETIME_S = 900.0
#: one connection per task: far more than a cell's batches open, few enough to stop a runaway client
MAX_CONNECTIONS = 100_000


def _message(n: int, payload: int) -> bytes:
    """``payload`` bytes, deterministic for the task index."""
    pattern = f"gilbench task {n} ".encode("ascii")
    return (pattern * (payload // len(pattern) + 1))[:payload]


def tcp_echo(n: int, round_trips: int = 750, payload: int = 64) -> int:
    """``round_trips`` exchanges of ``payload`` bytes on one connection; the bytes echoed back in all."""
    message = _message(n, payload)
    with contextlib.closing(connect(port_from_environment())) as sock:
        for _ in range(round_trips):
            round_trip(sock, message)
    return round_trips * payload


async def tcp_echo_async(n: int, round_trips: int = 750, payload: int = 64) -> int:
    """tcp_echo with asyncio streams: other tasks run while this one awaits the echo."""
    import asyncio  # here, not at the top: a spawned child importing this module should not pay for it

    message = _message(n, payload)
    reader, writer = await asyncio.open_connection(HOST, port_from_environment())
    try:
        for _ in range(round_trips):
            writer.write(message)
            await writer.drain()
            if await reader.readexactly(payload) != message:
                raise ValueError("the echo server sent back other bytes")
    finally:
        writer.close()
        await writer.wait_closed()
    return round_trips * payload


@contextlib.contextmanager
def echo_server() -> Iterator[dict[str, str]]:
    """Start a bounded echo server for a cell; yield the variables that tell its tasks where it is."""
    with EchoServer(lifetime_s=LIFETIME_S, max_connections=MAX_CONNECTIONS) as server:
        yield server.environment()


TCP_ECHO = Workload(
    name="tcp-echo",
    kind="io-bound",
    func=tcp_echo,
    params={"round_trips": 750, "payload": 64},
    size_param="round_trips",
    description="round_trips x a payload-byte exchange with a loopback echo server (another process) on one "
    "connection: waiting in recv releases the GIL (expected to overlap in threads and asyncio)",
    async_func=tcp_echo_async,
    fixture=echo_server,
)
