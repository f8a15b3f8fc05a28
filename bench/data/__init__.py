"""The data room: the vocabulary and records that planning, measuring, judging and reports/ all read.

Why a room of its own: a word that both a command's options (planning) and the gate (judging) use, such as a
``--fail-on`` threshold, must live below both, or planning would import the judge to parse an option; and
reports/ read run folders through it alone. Modules here import only the standard library and pyperf (numpy and
scipy inside the statistics' functions; tests/test_layering.py holds it), so anything may import them.
"""
