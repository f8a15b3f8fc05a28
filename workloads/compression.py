"""zlib: compression in C that releases the GIL, on text-like data that compresses as real text does.

``zlib.compress`` releases the GIL while deflate runs, so threads compressing separate buffers can run
in parallel on a GIL build. The data is 256 KiB of the shared made-up-word corpus (``_corpus``):
neither random (incompressible: deflate gives up early) nor a repeated chunk (copied back from the
window: far too easy); it compresses to about 30 %.

Sizing (CPython 3.11, one core of a 2020s x86-64 Xeon, ``time.perf_counter``): one round at level 6
takes ~11 ms, so the default 6 rounds take ~70 ms.
"""

from __future__ import annotations

import functools
import zlib

from . import _corpus
from .workload import Workload

@functools.cache
def data() -> bytes:
    """The bytes each round compresses: the first 256 KiB of the corpus, made once per process (the
    workload's ``prepare``: before the timed batches, never at import)."""
    return _corpus.text(48_000).encode("ascii")[: 256 * 1024]


def compress_rounds(n: int, rounds: int = 6, level: int = 6) -> int:
    """Compress the 256 KiB of text ``rounds`` times at ``level``; the compressed length, after checking
    that the last result decompresses to the original (a wrong compressor fails the task)."""
    compressed, payload = b"", data()
    for _ in range(rounds):
        compressed = zlib.compress(payload, level)  # deflate runs with the GIL released
    if zlib.decompress(compressed) != payload:
        raise ValueError("zlib round trip changed the data")
    return len(compressed)


ZLIB = Workload(
    name="zlib",
    kind="cpu-bound",
    func=compress_rounds,
    params={"rounds": 6, "level": 6},
    size_param="rounds",
    prepare=data,
    description="rounds x zlib.compress of 256 KiB of text-like bytes: C code that releases the GIL "
    "(expected to scale in threads)",
)
