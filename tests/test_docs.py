"""The README and docs/ hold true: every gilbench command they show parses, every make target exists,
every link between them lands, the README stays a front door, and the gate's rule has one statement."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from gilbench.bench.cli import build_parser

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _code_lines(page: Path) -> list[str]:
    """The lines of the page's fenced code blocks (shell, not TOML or YAML), continuations joined."""
    lines, block, kind = [], False, ""
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            block, kind = not block, line[3:].strip()
            continue
        if block and kind in ("", "sh", "shell", "bash"):
            if lines and lines[-1].endswith("\\"):
                lines[-1] = lines[-1][:-1] + " " + line.strip()
            else:
                lines.append(line.strip())
    return lines


def _commands(prefix: str) -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        for line in _code_lines(page):
            command = line.split(" #", 1)[0].strip()
            if command.startswith(prefix):
                found.append((page.relative_to(ROOT).as_posix(), command))
    return found


GILBENCH = [(page, c) for page, c in _commands("") if re.match(r"(\.venv/bin/)?gilbench ", c)]
MAKE = _commands("make ")


def test_the_pages_show_commands() -> None:
    assert len(GILBENCH) > 15 and len(MAKE) > 5
    assert {page for page, _ in GILBENCH} >= {"README.md", "docs/gate.md", "docs/your-project.md"}


@pytest.mark.parametrize("page, command", GILBENCH)
def test_every_gilbench_command_shown_parses(page: str, command: str) -> None:
    words = shlex.split(command.replace("[", "").replace("]", ""))[1:]  # [optional] parts are shown as options
    if "--help" in words:
        with pytest.raises(SystemExit) as exit_:
            build_parser().parse_args(words)
        assert exit_.value.code == 0
        return
    args = build_parser().parse_args(words)
    assert args.command == words[0]


@pytest.mark.parametrize("page, command", MAKE)
def test_every_make_target_shown_exists(page: str, command: str) -> None:
    makefile = (ROOT / "Makefile").read_text()
    target = command.split()[1]
    assert re.search(rf"^{re.escape(target)}:", makefile, re.M), f"{page}: {command}"
    phony = re.search(r"^\.PHONY:(.*)$", makefile, re.M)
    assert phony and target in phony.group(1).split()
    for variable in re.findall(r"\b([A-Z]+)=", command):
        assert re.search(rf"^{variable} \?=", makefile, re.M) or f"$({variable})" in makefile, variable


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_link_between_the_pages_lands(page: Path) -> None:
    for target, anchor in re.findall(r"\]\(([^)#:]+\.md)(?:#([^)]+))?\)", page.read_text()):
        linked = (page.parent / target).resolve()
        assert linked.is_file(), f"{page.name} links to {target}"
        if anchor:
            headings = [_anchor(h) for h in re.findall(r"^#+ (.+)$", linked.read_text(), re.M)]
            assert anchor in headings, f"{page.name} links to {target}#{anchor}"
    for target in re.findall(r"\]\((?!https?:)([^)#]+)\)", page.read_text()):
        assert (page.parent / target).exists(), f"{page.name} links to {target}"


def test_the_readme_is_a_front_door() -> None:
    readme = (ROOT / "README.md").read_text().splitlines()
    assert len(readme) < 200
    first = "\n".join(readme[:8])
    for command in ("make bench", "make test", "make check"):
        assert command in first
    for heading in ("## What it answers", "## Install", "## Your own project", "## Exit codes"):
        assert heading in readme


def test_the_gates_rule_is_stated_once_in_bench_judge_compare() -> None:
    """The docstring of bench/judge/compare.py is the rule; the pages point to it and do not restate it."""
    from gilbench.bench.judge import compare

    rule = compare.__doc__ or ""
    for clause in ("L > M, or U < T", "Error budgets", "t(1 - level, K - 1)"):
        assert clause in rule
        assert not [p.name for p in PAGES if clause in p.read_text()], clause
    assert "docstring of `bench/judge/compare.py`" in (ROOT / "docs" / "gate.md").read_text()


PARTS = ("gilbench", "bench", "workloads", "reports", "experiments")
ENTRY = re.compile(r"^( *)([A-Za-z_]\w*(?:\.py|/))(?:\s|$)")


def listed_modules(text: str) -> set[str]:
    """The paths the module tree of docs/architecture.md lists: each line whose first word is a module
    (``name.py``) or a folder (``name/``), under the folders above it by indentation."""
    block = next(b for b in re.findall(r"```\n(.*?)```", text, re.S) if b.startswith("gilbench/\n"))
    stack: list[tuple[int, str]] = []
    found = set()
    for line in block.splitlines():
        entry = ENTRY.match(line)
        if not entry:
            continue
        indent, name = len(entry.group(1)), entry.group(2)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if stack and not stack[-1][1].endswith("/"):
            continue
        path = "".join(n for _, n in stack) + name
        if name.endswith("/"):
            stack.append((indent, name))
        found.add(path.rstrip("/"))
    return {p for p in found if p.split("/")[0] in PARTS}


def _tree() -> set[str]:
    on_disk = set()
    for part in PARTS:
        for path in (ROOT / part).rglob("*.py"):
            if "__pycache__" not in path.parts and "templates" not in path.parts:
                on_disk.add(path.relative_to(ROOT).as_posix())
    return on_disk


def test_the_architecture_lists_every_module_of_the_parts_at_its_path() -> None:
    """docs/architecture.md's module list is the tree: a module missing from it, or a listed path that is not
    there, fails (``__init__`` and ``__main__`` may go unlisted)."""
    listed = listed_modules((ROOT / "docs" / "architecture.md").read_text())
    files = {p for p in listed if p.endswith(".py")}
    folders = listed - files
    assert not [p for p in files if not (ROOT / p).is_file()], "listed, not there"
    assert not [p for p in folders if not (ROOT / p).is_dir()], "listed folders that are not there"
    missing = sorted(p for p in _tree() - files if not Path(p).stem.startswith("__"))
    assert missing == [], "modules missing from docs/architecture.md"


def test_the_module_list_check_fails_on_a_wrong_path() -> None:
    text = (ROOT / "docs" / "architecture.md").read_text()
    moved = text.replace("\n    cells.py ", "\n    model.py ", 1)  # an old name
    assert "bench/data/model.py" in listed_modules(moved) and "bench/data/cells.py" not in listed_modules(moved)
    assert "bench/measure/cell.py" in listed_modules(text) and "bench/measure/run.py" in listed_modules(text)


#: a path or dotted name of gilbench's parts as the pages write it: bench/data/cells.py, `bench.data.cells`
PATH_NAME = re.compile(r"(?<![\w/.-])((?:bench|reports|workloads|experiments)/[\w/]+\.py)\b")
DOTTED = re.compile(r"`(?:gilbench\.)?((?:bench|reports|workloads|experiments)(?:\.\w+)+)")


def _resolves(dotted: str) -> bool:
    """A module or package at its path, or a name in one (``bench.measure.schedule.execute``)."""
    parts = dotted.split(".")
    for n in range(len(parts), 0, -1):
        base = ROOT.joinpath(*parts[:n])
        source = base.with_suffix(".py") if base.with_suffix(".py").is_file() else base / "__init__.py"
        if source.is_file():
            return n == len(parts) or (n == len(parts) - 1 and re.search(
                rf"^(?:def |class |async def )?{parts[-1]}\b|import .*\b{parts[-1]}\b", source.read_text(), re.M)
                is not None)
    return False


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_a_page_names_a_module_only_at_its_real_path(page: Path) -> None:
    text = page.read_text()
    wrong = [p for p in PATH_NAME.findall(text) if not (ROOT / p).is_file()]
    wrong += [d for d in DOTTED.findall(text) if not _resolves(d)]
    assert wrong == [], f"{page.name} names modules that are not where it says"


def test_the_path_check_fails_on_a_module_that_moved() -> None:
    assert not (ROOT / "bench/runner.py").exists() and PATH_NAME.findall("see bench/runner.py") == ["bench/runner.py"]
    assert not _resolves("bench.runner.execute") and _resolves("bench.measure.schedule.execute")
    assert _resolves("bench.plan.interpreters") and not _resolves("bench.model")
