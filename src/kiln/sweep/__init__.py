"""Hyper-parameter sweeps: an Optuna study whose trials are ordinary kiln train runs.

space (search space from Hydra's override grammar) -> study (storage, sampler, pruner, the
trial quota shared by all workers) -> worker (ask, train in-process, tell) -> report (best
parameters, the `kiln train` command line, CSV, plots).
"""
