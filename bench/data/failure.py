"""Why a cell, a process or an experiment did not finish, as every part records and reads it.

Why a leaf: cells, the run manifest, experiment results and the runner all name a Failure; below them all,
it imports nothing of gilbench, so none of them has to import another to name one.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any, Mapping


@dataclass(frozen=True)
class Failure:
    """Why a cell, a process or an experiment did not finish: what its writer knew of the error.

    ``how``: raised (a task raised ``error_type``), exited (non-zero exit code), signal (killed),
    timeout, fixture (the workload's fixture did not start), unreadable (a result that could not be read).
    ``traceback`` is where a task raised, ``log_tail`` the last lines of the process's log.
    """

    how: str = ""
    message: str = ""
    error_type: str = ""  # the exception's type name; experiment results before this record wrote "type"
    traceback: str = ""
    log_tail: str = ""
    exitcode: int | None = None
    worker: int | None = None
    limit_s: float | None = None  # timeout: the time limit the process ran past

    @property
    def head(self) -> str:
        """One line: "ValueError: bad input", "timeout: no result within ..."."""
        return ": ".join(str(x) for x in (self.error_type or self.how, self.message) if x)

    @property
    def detail(self) -> str:
        """What a reader looks at next: the traceback, else the log's tail."""
        return self.traceback or self.log_tail

    def with_log(self, log_tail: str) -> "Failure":
        return replace(self, log_tail=log_tail)

    def to_dict(self) -> dict[str, Any]:
        """The fields that say something (an empty text or an unknown number is left out)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) not in ("", None)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "Failure":
        data = dict(data or {})
        if not data.get("error_type") and data.get("type"):  # experiment results before one spelling
            data["error_type"] = data["type"]
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names and v is not None})

    @classmethod
    def of(cls, error: "Failure | Mapping[str, Any] | None") -> "Failure | None":
        """``error`` as a Failure: a Failure as it is, a dict read, nothing (or an empty dict) None."""
        if error is None or isinstance(error, Failure):
            return error
        return cls.from_dict(error) if error else None
