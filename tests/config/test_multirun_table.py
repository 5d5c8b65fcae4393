"""`kiln train -m ...` ends with one table of every job's final metrics."""

import json

from tests.helpers import cli


def test_multirun_prints_each_jobs_final_metrics(runs):
    proc = cli(
        "train",
        "-m",
        "experiment=wine_mlp",
        "debug=fast",
        "print_config=false",
        "optimizer.lr=0.001,0.01",
        runs=runs,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = proc.stdout[proc.stdout.index("multirun ") :]
    (sweep,) = (runs / "train-multirun").iterdir()
    for job, lr in (("0", "0.001"), ("1", "0.01")):
        metrics = json.loads((sweep / job / "metrics.json").read_text())
        (row,) = [ln for ln in table.splitlines() if f"optimizer.lr={lr} " in ln]
        assert row.split()[1] == job
        for name in ("test/f1", "val/f1_best"):
            assert f"{metrics[name]:.6f}" in row, name
