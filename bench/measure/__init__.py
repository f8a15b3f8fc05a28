"""The measuring room: a plan's cells and experiments run into a run folder.

One lifecycle (folder, estimate, signals, disk errors, resume), the schedules inside it, each measured
process started, limited and watched, and what runs inside those processes (``cell``, ``canary``). Imports
the data and planning rooms; light at import, because the measured processes import parts of it.
"""
