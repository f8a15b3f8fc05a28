"""bench.plan.request: the config plus one command's options as one typed, checked request."""

from __future__ import annotations

from pathlib import Path

import pytest


def _args(*argv: str):  # noqa: ANN202
    from gilbench.bench.cli import build_parser

    return build_parser().parse_args(list(argv))


def test_a_request_merges_the_config_under_the_options_without_touching_them(tmp_path: Path, monkeypatch) -> None:
    from gilbench.bench.plan.request import AbRequest, RunRequest

    (tmp_path / "gilbench.toml").write_text('profile = "smoke"\nworkers = [2, 1]\nfail_on = ["time:5%"]\n'
                                            'output = "out"\n')
    monkeypatch.chdir(tmp_path)
    args = _args("run", "--workers", "4,2", "--backend", "threads,processes", "--backend", "sequential")
    request = RunRequest.from_args(args)
    assert args.profile is None and args.output is None  # the parsed options are left as parsed
    assert request.matrix.profile == "smoke" and request.matrix.workers == (2, 4)  # the option wins
    assert request.matrix.backends == ("threads", "processes", "sequential")
    assert request.output == tmp_path / "out" and request.config.path == tmp_path / "gilbench.toml"
    ab = AbRequest.from_args(_args("ab", ".", "HEAD", "--rounds", "12", "--cand-scale", "1.5"))
    assert ab.matrix.processes == 12 and ab.matrix.profile == "smoke"
    assert [(s.name, s.spec, s.scale) for s in ab.sides] == [("base", ".", 1.0), ("cand", "HEAD", 1.5)]
    from gilbench.bench.data.thresholds import Threshold

    assert ab.comparison.thresholds.default == (Threshold("time", 5.0),)  # the config's fail_on


@pytest.mark.parametrize("argv, message", [
    (("run", "--force"), "--force replaces the run folder named with --name"),
    (("run", "--resume", "x", "--workers", "2"), "drop --workers"),
    (("run", "--no-experiments", "--experiment", "x"), "exclude each other"),
    (("ab", "--resume", "x", "."), "drop ."),
    (("ab", "."), "give BASE and CAND"),
    (("run", "--workers", "two"), "--workers must be comma-separated whole numbers"),
])
def test_a_request_names_the_first_problem(argv, message, tmp_path: Path, monkeypatch) -> None:
    from gilbench.bench.plan.request import AbRequest, RunRequest

    monkeypatch.chdir(tmp_path)
    kind = RunRequest if argv[0] == "run" else AbRequest
    with pytest.raises(ValueError, match=message):
        kind.from_args(_args(*argv, "--no-config"))
