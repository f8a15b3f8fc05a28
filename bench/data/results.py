"""The run folder: everything a run produced, complete in itself, plain data in and out.

    results/<date>-<host>/ (or results/<name>/ with ``gilbench run --name``; results/latest: the newest)
        manifest.json      the plan, each cell's status, timestamps, CPU accounting and errors
        suite.json         every finished cell's pyperf benchmark (pyperf stats / compare_to read it)
        samples.csv        per-core utilization over the whole run (bench.measure.sampler)
        machine.json       the machine and interpreter (bench.measure.machine)
        lesson.json        the lesson's demonstrations (workloads.lesson)
        cells/             each cell's raw pyperf JSON, log and accounting
        experiments/       each experiment's result, <name>[@interpreter].json, and its log (bench.measure.experiment_runner)
        results.csv, report.html   written by reports/

Every file is replaced atomically (written aside, then renamed) after each cell, so a crash or an
interrupt never leaves a half-written file and never loses a finished cell.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import tempfile
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .manifest import FORMAT, RunManifest  # noqa: F401  FORMAT: where readers of run folders have found it

if TYPE_CHECKING:
    import pyperf


class RunFolderError(Exception):
    """A path that is not a readable gilbench run folder; the message says what is wrong."""


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and a rename: readers never see half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=1, sort_keys=True) + "\n")


def read_json(path: Path, what: str) -> Any:
    if not path.exists():
        raise RunFolderError(f"{path}: no {what} (is this a gilbench run folder?)")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunFolderError(f"{path}: the {what} is not readable JSON ({exc})") from None


def new_run_name(now: datetime | None = None, host: str | None = None) -> str:
    """"20261125-134501-myhost": sortable by time, and says where it ran."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    host = re.sub(r"[^A-Za-z0-9.-]+", "_", host or socket.gethostname()) or "host"
    return f"{stamp}-{host}"


#: a run folder's name given with ``gilbench run --name``: one path component, no hidden or special name
RUN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def check_run_name(name: str) -> str:
    """``name`` if it can name a run folder; ValueError saying what is accepted otherwise."""
    if not RUN_NAME.fullmatch(name) or name == "latest":
        raise ValueError(f"run name {name!r}: letters, digits, '.', '_' and '-', starting with a letter or a "
                         "digit, and not 'latest'")
    return name


def _taken(path: Path) -> RunFolderError:
    return RunFolderError(f"{path} exists; give --force to replace it, or another --name")


def clear_run_folder(root: Path, name: str, replace: bool) -> None:
    """Make way for the run folder ``root/name`` named by the user (ValueError for a bad ``name``):
    refuse when it exists, or (``replace``) delete it, but only when it is a run folder (holds a
    manifest.json), so nothing else is lost."""
    path = root / check_run_name(name)
    if not path.exists() and not path.is_symlink():
        return
    if not replace:
        raise _taken(path)
    if path.is_symlink() or not (path / "manifest.json").is_file():
        raise RunFolderError(f"{path} exists and is not a run folder (no manifest.json): not replaced")
    shutil.rmtree(path)


def resolve_run(path: Path) -> Path:
    """A run folder as given, or, for a results folder (``results/``), the newest run: its ``latest``.

    A path that does not exist or is a file is returned as it is (reading it says what is wrong).
    """
    if not path.is_dir() or (path / "manifest.json").exists():
        return path
    latest = path / "latest"
    if (latest / "manifest.json").is_file():
        return latest.resolve()
    raise RunFolderError(f"{path}: neither a run folder (no manifest.json) nor a results folder with a run "
                         "(no 'latest' in it)")


class RunFolder:
    """Paths and plain-data reads and writes of one run folder."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    manifest = property(lambda self: self.path / "manifest.json")
    suite = property(lambda self: self.path / "suite.json")
    samples = property(lambda self: self.path / "samples.csv")
    machine = property(lambda self: self.path / "machine.json")
    lesson = property(lambda self: self.path / "lesson.json")
    cells = property(lambda self: self.path / "cells")
    experiments = property(lambda self: self.path / "experiments")

    @classmethod
    def create(cls, root: Path, name: str | None = None, latest: bool = True, cells: bool = True,
               exact: bool = False) -> "RunFolder":
        """A new, empty run folder under ``root``; ``root/latest`` is pointed at it unless ``latest`` is false.

        Its name is ``name`` (default: ``<date>-<host>``), suffixed when taken; with ``exact`` (a name the
        user gave, ``gilbench run --name``) it is ``name`` or a RunFolderError (``clear_run_folder``).
        ``cells=False`` makes only the folder (``gilbench ab``'s, which holds two run folders).
        """
        root.mkdir(parents=True, exist_ok=True)
        base = name or new_run_name()
        path, n = root / base, 1
        if exact and (path.exists() or path.is_symlink()):
            raise _taken(path)
        while path.exists():
            n += 1
            path = root / f"{base}-{n}"
        (path / "cells" if cells else path).mkdir(parents=True)
        folder = cls(path)
        if latest:
            folder.point_latest()
        return folder

    def point_latest(self) -> None:
        latest = self.path.parent / "latest"
        tmp = self.path.parent / f".latest.{os.getpid()}"
        try:
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(self.path.name)
            os.replace(tmp, latest)
        except OSError:  # a file system without symlinks: the folder names still sort by date
            tmp.unlink(missing_ok=True)

    def cell_file(self, slug: str, suffix: str) -> Path:
        return self.cells / f"{slug}{suffix}"

    # --- writes -------------------------------------------------------------------------------
    def write_manifest(self, manifest: "RunManifest | dict[str, Any]") -> None:
        """Write manifest.json through its record (``bench.data.manifest.RunManifest``): one schema for every writer."""
        if not isinstance(manifest, RunManifest):
            manifest = RunManifest.from_dict(manifest)
        write_json_atomic(self.manifest, {**manifest.to_dict(), "format": FORMAT})

    def write_json(self, path: Path, data: Any) -> None:
        write_json_atomic(path, data)

    def add_to_suite(self, cell_json: Path) -> None:
        """Merge one cell's pyperf benchmark into suite.json, atomically."""
        import pyperf  # here: the rest of this module is also written by experiment children

        added = pyperf.BenchmarkSuite.load(str(cell_json)).get_benchmarks()
        names = {b.get_name() for b in added}
        kept = []
        if self.suite.exists():  # a cell run again (resume) replaces its earlier benchmark
            kept = [b for b in pyperf.BenchmarkSuite.load(str(self.suite)).get_benchmarks() if b.get_name() not in names]
        suite = pyperf.BenchmarkSuite(kept + added)
        fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".suite.", suffix=".json")
        os.close(fd)
        try:
            suite.dump(tmp, replace=True)
            os.chmod(tmp, 0o644)
            os.replace(tmp, self.suite)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def merge_cell(self, slug: str, parts: list[Path]) -> Path:
        """The pyperf runs of one cell's separate processes, as one benchmark file ``cells/<slug>.json``."""
        import pyperf

        merged = pyperf.BenchmarkSuite.load(str(parts[0])).get_benchmarks()[0]
        for part in parts[1:]:
            merged.add_runs(pyperf.BenchmarkSuite.load(str(part)).get_benchmarks()[0])
        out = self.cell_file(slug, ".json")
        out.unlink(missing_ok=True)
        merged.dump(str(out))
        return out

    # --- reads --------------------------------------------------------------------------------
    def read_manifest(self) -> dict[str, Any]:
        if self.path.is_file():
            raise RunFolderError(f"{self.path}: a file, not a run folder (give the folder that holds manifest.json)")
        if not self.path.is_dir():
            raise RunFolderError(f"{self.path}: no such run folder")
        manifest = read_json(self.manifest, "manifest.json")
        if not isinstance(manifest, dict) or "cells" not in manifest or "format" not in manifest:
            raise RunFolderError(f"{self.manifest}: not a gilbench manifest (no 'cells' or 'format')")
        if manifest["format"] > FORMAT:
            raise RunFolderError(f"{self.manifest}: format {manifest['format']} is newer than this gilbench reads")
        if manifest["format"] < FORMAT:
            raise RunFolderError(f"{self.manifest}: format {manifest['format']}, written by an older gilbench that did "
                                 "not keep each pyperf process's values apart; run the benchmark again")
        return manifest

    def load_manifest(self) -> RunManifest:
        """manifest.json as its record; RunFolderError as ``read_manifest``."""
        return RunManifest.from_dict(self.read_manifest())

    def read_optional(self, path: Path, what: str, default: Any) -> Any:
        return read_json(path, what) if path.exists() else default

    def read_experiments(self) -> list[dict[str, Any]]:
        """Every experiment result (``experiments/*.json``) as plain data, by file name."""
        folder = self.experiments
        return [read_json(path, "experiment result") for path in sorted(folder.glob("*.json"))] if folder.is_dir() else []

    def load_suite(self) -> "pyperf.BenchmarkSuite | None":
        import pyperf

        if not self.suite.exists():
            return None
        try:
            return pyperf.BenchmarkSuite.load(str(self.suite))
        except Exception as exc:  # pyperf raises several types for a bad file
            raise RunFolderError(f"{self.suite}: not a readable pyperf suite ({exc})") from None
