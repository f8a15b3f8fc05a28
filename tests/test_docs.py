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


def test_the_architecture_names_every_module_of_the_parts() -> None:
    """docs/architecture.md stays true to the code: a module added to a part is named there too."""
    words = set(re.findall(r"\w+", (ROOT / "docs" / "architecture.md").read_text()))
    unnamed = [path.relative_to(ROOT).as_posix()
               for part in ("bench", "workloads", "reports", "experiments")
               for path in sorted((ROOT / part).rglob("*.py"))
               if "__pycache__" not in path.parts and not path.stem.startswith("__") and path.stem not in words]
    assert unnamed == []
