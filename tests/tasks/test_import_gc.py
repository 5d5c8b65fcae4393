"""The CLI pauses Python's collector while it imports and turns it back on for the task.

Each check runs in a fresh interpreter: freezing pytest's own heap would leak into other tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")


def run_python(code: str) -> dict:
    env = {**os.environ, "PYTHONPATH": SRC}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_the_task_runs_with_the_collector_on_and_the_imports_frozen():
    seen = run_python(
        """
        import gc, importlib, json, types
        from kiln import cli
        import kiln.config.checks as checks

        seen = {}
        def run(cfg):
            seen["enabled"] = gc.isenabled()
            seen["frozen"] = gc.get_freeze_count()
            return {}
        task = types.SimpleNamespace(run=run)
        real = importlib.import_module
        def fake_import(name, *a):
            if name == "kiln.tasks.train":
                seen["enabled_while_importing"] = gc.isenabled()
                return task
            return real(name, *a)
        importlib.import_module = fake_import
        checks.check_values = lambda cfg: None
        from kiln import import_gc
        import_gc.pause()
        cli.run_task("train", None)
        print(json.dumps(seen))
        """
    )
    assert seen["enabled_while_importing"] is False
    assert seen["enabled"] is True
    assert seen["frozen"] > 0


def test_main_leaves_the_collector_on_after_an_early_error():
    seen = run_python(
        """
        import gc, json
        from kiln.cli import main
        try:
            main(["train", "no_such_group=1"])
        except SystemExit as err:
            code = err.code
        print(json.dumps({"code": code, "enabled": gc.isenabled(),
                          "frozen": gc.get_freeze_count()}))
        """
    )
    assert seen["code"] == 2
    assert seen["enabled"] is True
    assert seen["frozen"] > 0  # main paused the collector, and resumed it on the way out


def test_a_collector_turned_off_by_the_caller_stays_off():
    seen = run_python(
        """
        import gc, json
        from kiln import import_gc
        gc.disable()
        import_gc.pause()
        import_gc.resume()
        print(json.dumps({"enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}))
        """
    )
    assert seen == {"enabled": False, "frozen": 0}


def test_train_imports_no_serving_export_or_sweep_library():
    """`kiln train` pays for what it runs: not the server, ONNX, Optuna (each 0.1-1 s to import)."""
    seen = run_python(
        """
        import json, sys
        import kiln.tasks.train
        names = ("fastapi", "uvicorn", "starlette", "onnx", "onnxruntime", "onnxscript", "optuna")
        print(json.dumps({"imported": sorted(n for n in names if n in sys.modules)}))
        """
    )
    assert seen == {"imported": []}
