"""The planning room: what a run covers, before anything is measured.

Profiles, options and the config file become a typed request, a request a plan of cells fitted to the
machine and a budget; the interpreters under test are found and prepared. Imports the data room, the
backends' catalogue, workloads/ and experiments/ (their names and estimates), never the measuring room.
"""
