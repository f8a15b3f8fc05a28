"""The judging room: two run folders -> per-cell, per-metric verdicts (``gilbench compare`` and ``ab``'s gate).

Why a room: the gate's rule is the project's promise about false alarms and misses, and it must be readable
without the code that plans and measures runs. Its modules import only the data room (``bench.data``), the
standard library and pyperf (tests/test_layering.py holds it); the app and reports/ import the judge, never the
reverse.

The rule itself is the docstring of ``bench.judge.compare``. The modules, in the order a comparison uses them:

- ``sides``: a run folder as the gate reads it (``RunSide``), and a row's per-process log figures;
- ``refusals``: what two runs must share to be judged at all (``Refused``, exit 2);
- ``family``: the rows fixed before any value is read, and their error budgets (``ALPHA``, ``PASS_ERROR``);
- ``sequential``: the looks of ``gilbench ab`` and each look's share of a row's budget;
- ``floor``: the run-to-run spread of separate runs, from earlier runs of the same plan and code;
- ``tests``: the pure tests over oriented log differences (``RowTest``: paired, counted, unpaired);
- ``rule``: a test -> a verdict and whether a look decides;
- ``machine_speed``: the canary, shown and never used;
- ``result``: ``Row`` and ``Comparison``, the plain data reports/ renders;
- ``compare``: the orchestration, ``compare()``, and the rule.
"""
