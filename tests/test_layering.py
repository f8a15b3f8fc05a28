"""The layering the architecture promises, held by reading the source (and one child interpreter).

workloads/ (what runs) knows nothing of bench/ or reports/; a measured process never loads the
reports' stack; reports/ only reads data and never starts a process; inside gilbench's parts every
import of another part is relative and resolves by path, so an editor can follow it without running
anything; pyproject lists every package folder.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("bench", "workloads", "reports", "experiments")


def _modules(part: str) -> list[Path]:
    return sorted(p for p in (ROOT / part).rglob("*.py") if "__pycache__" not in p.parts)


def _imports(path: Path) -> list[tuple[ast.ImportFrom | ast.Import, str]]:
    """Every import in a file with the absolute dotted name it means (relative ones resolved by path)."""
    rel = path.relative_to(ROOT).with_suffix("").parts
    package = ["gilbench", *rel[:-1]]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node, name))
            found += [(node, f"{name}.{alias.name}") for alias in node.names]  # `from .. import bench`
    return found


def test_parts_import_each_other_relatively_and_every_relative_import_resolves_by_path() -> None:
    absolute, unresolved = [], []
    for part in PARTS:
        for path in _modules(part):
            for node, name in _imports(path):
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                if isinstance(node, ast.ImportFrom) and node.level == 0 and name.startswith("gilbench."):
                    absolute.append(f"{where} {name}")
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.level:
                    folder = path.parent
                    for _ in range(node.level - 1):
                        folder = folder.parent
                    target = folder.joinpath(*(node.module or "").split(".")) if node.module else folder
                    ok = target.with_suffix(".py").is_file() or (target / "__init__.py").is_file()
                    if folder == ROOT and not node.module:  # `from .. import workloads`: each name a part
                        ok = all((ROOT / a.name / "__init__.py").is_file() or a.name == "__version__"
                                 for a in node.names)
                    if not ok:
                        unresolved.append(f"{path.relative_to(ROOT)}:{node.lineno} level {node.level} "
                                          f"{node.module}")
    assert not absolute, "absolute gilbench imports inside the parts (make them relative):\n" + "\n".join(absolute)
    assert not unresolved, "relative imports that do not resolve by path:\n" + "\n".join(unresolved)


def test_workloads_import_nothing_of_the_rest_of_gilbench() -> None:
    bad = [f"{p.relative_to(ROOT)}:{node.lineno} {name}" for p in _modules("workloads")
           for node, name in _imports(p)
           if any(name == f"gilbench.{other}" or name.startswith(f"gilbench.{other}.")
                  for other in ("bench", "reports", "experiments"))]
    assert not bad, "workloads/ must know nothing of bench/, reports/ or experiments/:\n" + "\n".join(bad)


STARTS_PROCESSES = {"subprocess", "multiprocessing", "concurrent.futures", "pty"}
OS_STARTERS = {"system", "popen", "fork", "forkpty", "posix_spawn", "posix_spawnp", "spawnv", "spawnl",
               "execv", "execvp", "execve", "startfile"}


def test_reports_never_start_a_process() -> None:
    bad = []
    for path in _modules("reports"):
        tree = ast.parse(path.read_text())
        for node, name in _imports(path):
            if name.split(".")[0] in {m.split(".")[0] for m in STARTS_PROCESSES} or name in STARTS_PROCESSES:
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}")
            for part in ("bench.runner", "bench.ab", "bench.cell", "bench.experiment_runner", "bench.probe",
                         "bench.overhead", "bench.sampler", "bench.lifeline"):
                if name == f"gilbench.{part}" or name.startswith(f"gilbench.{part}."):
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {name}, which starts processes")
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"
                    and (node.attr in OS_STARTERS or node.attr.startswith(("spawn", "exec")))):
                bad.append(f"{path.relative_to(ROOT)}:{node.lineno} calls os.{node.attr}")
    assert not bad, "reports/ only reads run data:\n" + "\n".join(bad)


def test_a_measured_process_never_loads_the_reports_stack() -> None:
    """What a pyperf worker imports (the cell, every backend, every workload, the canary) stays light."""
    code = (
        "import sys\n"
        "import gilbench.bench.cell, gilbench.bench.canary, gilbench.bench.gil\n"
        "from gilbench.bench.backends import all_backends\n"
        "from gilbench.workloads import registry\n"
        "all_backends(); registry.all_workloads()\n"
        "import pkgutil, importlib, gilbench.workloads as w\n"
        "[importlib.import_module(f'gilbench.workloads.{m.name}') for m in pkgutil.iter_modules(w.__path__)]\n"
        "heavy = sorted(m for m in ('pandas', 'matplotlib', 'scipy', 'jinja2', 'gilbench.reports') if m in sys.modules)\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"a measured process loaded {done.stdout.strip()}"


def test_pyproject_lists_every_package_folder() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = {"gilbench"}
    for part in PARTS:
        for init in (ROOT / part).rglob("__init__.py"):
            if "__pycache__" in init.parts:
                continue
            on_disk.add(".".join(["gilbench", *init.parent.relative_to(ROOT).parts]))
    assert on_disk == listed, f"pyproject.toml's packages differ from the folders: {on_disk ^ listed}"
    assert {f"gilbench.{p}": p for p in PARTS} == config["package-dir"]


def test_a_checkout_exposes_only_gilbenchs_parts() -> None:
    """`gilbench.tests` or `gilbench.scripts` must not import from a checkout."""
    code = ("import importlib.util as u\n"
            "print(u.find_spec('gilbench.bench') is not None, u.find_spec('gilbench.tests'),"
            " u.find_spec('gilbench.scripts'))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.stdout.split() == ["True", "None", "None"], done.stdout + done.stderr


if sys.version_info < (3, 11):  # tomllib
    pytestmark = pytest.mark.skip("tomllib needs Python 3.11")


def test_another_checkout_on_pythonpath_imports_its_own_parts(tmp_path) -> None:
    """ab's sides and --dirs copies put a checkout first on PYTHONPATH; an editable install of this one
    must not hand out this checkout's parts instead."""
    import os
    import shutil

    copy = tmp_path / "checkout"
    for part in ("gilbench", *PARTS):
        shutil.copytree(ROOT / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    code = "import gilbench.bench.gil as g, gilbench.workloads as w; print(g.__file__); print(w.__file__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(copy)})
    assert done.returncode == 0, done.stderr
    assert all(line.startswith(str(copy)) for line in done.stdout.split()), done.stdout
