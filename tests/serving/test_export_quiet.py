"""kiln export prints its own line, not the ONNX exporter's progress (onnxscript's passes at
INFO, torch's notes on torchvision ops)."""

import logging

import torch
from torch import nn

from kiln.serving import export as ex


class Net(nn.Module):  # the export names the graph input after forward's argument, x
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))

    def forward(self, x):
        return self.body(x)


def test_the_exporters_progress_lines_are_not_shown(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    net = Net().eval()
    ex.write_onnx(net, [torch.randn(2, 3)], tmp_path / "model.onnx")
    assert (tmp_path / "model.onnx").stat().st_size > 0
    chatty = [r for r in caplog.records if r.name.startswith(ex.EXPORTER_LOGGERS)]
    assert chatty == [], [r.getMessage() for r in chatty[:3]]
    assert all(logging.getLogger(n).level == logging.NOTSET for n in ex.EXPORTER_LOGGERS)
