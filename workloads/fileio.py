"""file-io: real file I/O, written through to the disk with ``os.fsync``, read back and checked.

Each task makes its own folder (``tempfile.mkdtemp``, prefix ``gilbench-fileio-``, under the default
temporary folder: TMPDIR), writes ``files`` files of ``kib`` KiB each (opened, written, flushed and
``os.fsync``'d), reads them back, compares the bytes, and removes the folder in a ``finally``:
nothing is left behind even when a write fails. ``write``, ``read`` and ``fsync`` release the GIL
while the kernel works, so the tasks overlap in threads.

Sizing (CPython 3.11, a 2-core x86-64 VM on ext4 over a virtual disk, ``time.perf_counter``): an
fsync of a 64 KiB file takes ~0.6 ms, so the default 80 files take ~50 ms, with the task's thread on
the CPU about a quarter of that (the rest is waiting for the disk); single tasks vary up to about
twice the median when the disk is busy. Without fsync (``fsync=0``) the same task is ~4 ms and almost
all CPU (the page cache is memory), which is not I/O-bound work; so ``fsync`` defaults to 1.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile

from .workload import Workload

PREFIX = "gilbench-fileio-"


def _content(n: int, i: int, kib: int) -> bytes:
    """File ``i`` of task ``n``: ``kib`` KiB of bytes that differ per file (a misplaced file is caught)."""
    block = hashlib.sha256(f"{n}/{i}".encode("ascii")).digest() * 32  # 1 KiB
    return block * kib


def file_io(n: int, files: int = 80, kib: int = 64, fsync: int = 1) -> int:
    """Write ``files`` files of ``kib`` KiB to a new temporary folder (each fsync'd unless ``fsync`` is
    0), read them back and check them, remove the folder; the bytes read back."""
    folder = tempfile.mkdtemp(prefix=PREFIX)
    try:
        paths = [os.path.join(folder, f"{i}.bin") for i in range(files)]
        for i, path in enumerate(paths):
            with open(path, "wb") as out:
                out.write(_content(n, i, kib))
                out.flush()
                if fsync:
                    os.fsync(out.fileno())
        total = 0
        for i, path in enumerate(paths):
            with open(path, "rb") as back:
                data = back.read()
            if data != _content(n, i, kib):
                raise ValueError(f"{path}: read back other bytes than were written")
            total += len(data)
        return total
    finally:
        shutil.rmtree(folder, ignore_errors=True)


FILE_IO = Workload(
    name="file-io",
    kind="io-bound",
    func=file_io,
    params={"files": 80, "kib": 64, "fsync": 1},
    size_param="files",
    description="files x (write kib KiB, fsync) to a new temporary folder, then read back and check: "
    "waiting for the disk releases the GIL (expected to overlap in threads)",
)
