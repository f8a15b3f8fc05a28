"""sha256: CPU work in C that releases the GIL, the case where threads can scale on a GIL build.

``hashlib`` releases the GIL while it hashes more than 2047 bytes at once, so threads hashing large
buffers run in parallel even with the GIL; only the few Python steps between the calls hold it.

Sizing (CPython 3.11, one core of a 2020s x86-64 Xeon with SHA extensions, ``time.perf_counter``):
one 1 MiB round takes ~0.7 ms, so the default 100 rounds take ~70 ms. A CPU without SHA extensions
hashes 3-4 times slower; the sequential baseline measures what it is on each machine.
"""

from __future__ import annotations

import hashlib
import random

from .workload import Workload

#: the buffer each round hashes: 1 MiB of seeded pseudo-random bytes (64 KiB repeated; SHA-256's
#: speed does not depend on the content), made once per process when the module is imported
BUFFER = random.Random(256).randbytes(1 << 16) * 16


def sha256_rounds(n: int, rounds: int = 100) -> str:
    """Hash the 1 MiB buffer ``rounds`` times, each round chained on the previous digest; the first
    16 hex digits of the last digest (the same for every task index)."""
    digest = b""
    for _ in range(rounds):
        h = hashlib.sha256(digest)
        h.update(BUFFER)  # > 2047 bytes: hashed with the GIL released
        digest = h.digest()
    return digest.hex()[:16]


SHA256 = Workload(
    name="sha256",
    kind="cpu-bound",
    func=sha256_rounds,
    params={"rounds": 100},
    size_param="rounds",
    description="rounds x hashlib.sha256 of a 1 MiB buffer: C code that releases the GIL (expected to scale "
    "in threads)",
)
