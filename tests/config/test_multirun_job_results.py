"""The multirun table of jobs that ran in other processes (SLURM jobs), read from their dirs."""

import json

from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf

from kiln.config.multirun import MultirunTable


def test_jobs_run_elsewhere_are_read_from_their_directories(tmp_path, capsys):
    for num, lr in ((0, 0.001), (1, 0.01)):
        (tmp_path / str(num) / ".hydra").mkdir(parents=True)
        overrides = ["debug=fast", f"optimizer.lr={lr}"]
        OmegaConf.save(OmegaConf.create(overrides), tmp_path / str(num) / ".hydra/overrides.yaml")
    (tmp_path / "0" / "metrics.json").write_text(json.dumps({"test/f1": 0.5, "epochs": 1}))
    (tmp_path / ".submitit").mkdir()  # submitit's folder is not a job
    config = OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}})
    table = MultirunTable()
    table.on_multirun_end(config)
    header, rows = table.rows()
    assert header == ["job", "overrides", "test/f1"]
    assert rows == [["0", "optimizer.lr=0.001", "0.500000"], ["1", "optimizer.lr=0.01", "failed"]]
    assert "multirun" in capsys.readouterr().out


def test_jobs_seen_in_this_process_are_not_read_again(tmp_path):
    table = MultirunTable()
    job = JobReturn(overrides=["a=1"], status=JobStatus.COMPLETED, _return_value={"test/f1": 1.0})
    table.on_job_end(OmegaConf.create({"hydra": {"job": {"num": 0}}}), job)
    table.on_multirun_end(OmegaConf.create({"hydra": {"sweep": {"dir": str(tmp_path)}}}))
    assert table.rows()[1] == [["0", "a=1", "1.000000"]]
