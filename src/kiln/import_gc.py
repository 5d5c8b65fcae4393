"""Python's cyclic garbage collector paused while a command imports its libraries.

Importing torch, Lightning, torchmetrics, scikit-learn and pandas makes ~470k objects; the
collector keeps walking that growing heap while they load (about 1.2 s of a ~5.5 s import on
the 2-core machine) and walks it again several times at interpreter exit (about 0.8 s).
``kiln.cli.main`` calls ``pause()`` first; ``kiln.cli.run_task`` calls ``resume()`` once the
task's module is imported, which freezes what the imports made (``gc.freeze``: never scanned
again, never freed) and turns the collector back on for the task itself, so training,
data and every later object are collected as before. docs/benchmarks.md, "Whole-command
fixed cost".
"""

from __future__ import annotations

import gc

_paused = False


def pause() -> None:
    """Collector off, if it was on; ``resume`` turns it back on."""
    global _paused
    if gc.isenabled():
        gc.disable()
        _paused = True


def resume() -> None:
    """Freeze the objects made so far and turn the collector back on (once; later calls and
    calls without ``pause`` do nothing)."""
    global _paused
    if _paused:
        _paused = False
        gc.freeze()
        gc.enable()
