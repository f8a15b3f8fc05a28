"""One experiment on this interpreter: ``python -m gilbench.experiments NAME --params JSON --out FILE``.

The runner starts this in a process group of its own with a time limit; it writes one
``ExperimentResult`` as JSON to ``--out`` (ok, or failed with the error and its traceback) and exits
0 when the experiment measured, 1 when it failed. Nothing else runs in this process while it
measures: no sampler, no progress output.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from pathlib import Path

from . import get
from ..bench.measure.gil import gil_enabled, mismatch
from ..bench.data.failure import Failure
from ..bench.data.results import write_json_atomic
from ..bench.data.experiment import ExperimentResult
from .base import measure_context


def check_gil() -> None:
    """Refuse to measure when the GIL is not in the state PYTHON_GIL asked for (an extension module can
    turn it back on in a free-threaded build): the numbers would be labelled with the wrong state."""
    wrong = mismatch()
    if wrong:
        raise RuntimeError(wrong)


def run(name: str, params: dict, label: str = "") -> ExperimentResult:
    """Measure ``name`` with ``params`` here and now; any exception becomes a failed result."""
    result = ExperimentResult(name=name, python=label, params=params, context=measure_context(),
                              started=time.time(), pid=os.getpid())
    t0 = time.monotonic()
    experiment = None
    try:
        check_gil()
        experiment = get(name)()
        result.rows = experiment.measure(params)
        result.context["gil_enabled_after"] = gil_enabled()
        check_gil()
        result.status = "ok"
    except Exception as exc:  # noqa: BLE001  the runner records it; the run goes on
        result.status = "failed"
        result.error = Failure("raised", str(exc), error_type=type(exc).__name__,
                               traceback=traceback.format_exc()).to_dict()
    result.details = dict(experiment.details) if experiment else {}
    result.duration = time.monotonic() - t0
    result.ended = time.time()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gilbench.experiments", description=__doc__.splitlines()[0])
    parser.add_argument("name", help="the experiment")
    parser.add_argument("--params", default="{}", help="its parameters, as a JSON object")
    parser.add_argument("--out", type=Path, required=True, help="where the result JSON goes")
    parser.add_argument("--label", default="", help="the interpreter's label in the run")
    args = parser.parse_args(argv)
    result = run(args.name, json.loads(args.params), args.label)
    write_json_atomic(args.out, result.to_dict())
    if not result.ok:
        print(result.error["traceback"] if result.error else result.status, file=sys.stderr)
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
